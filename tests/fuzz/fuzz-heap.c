/* fuzz-heap: the GC-list walker and every reference decoder on a hostile
 * heap image (libFuzzer).  The input's format is in heapimg.h: a layout
 * table from symbols/tables/, live or not, a fault rate, the GC list links
 * and interpreter roots, and the bytes at HIMG_ADDR.  Whatever the bytes,
 * heap_build() must return (a heap, or an error with a message), and the
 * analyses must run on whatever heap it built; ASan and UBSan judge the
 * rest.  Seeds: tests/fuzz/corpus/heap (tests/fuzz/mkseeds writes them). */
#include <stdint.h>
#include <stdlib.h>

#include "diag.h"
#include "heap.h"
#include "heapimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct heap_build_opts o = { .max_objects = 100000 };
        struct diag d = {0};
        struct himg x;
        struct heap *h = NULL;
        char buf[64];

        if (himg_load(&x, data, size, &o.live) < 0) {
                himg_release(&x);
                return 0;
        }
        if (heap_build(x.m, &x.pi, &o, &h, &d) >= 0) {
                if (heap_analyse(h) < 0)
                        abort();   /* only -ENOMEM may fail, and cannot here */
                for (uint32_t i = 0; i < h->nobjs && i < 64; i++)
                        (void)heap_preview(h, i, buf, sizeof(buf));
                heap_free(h);
        }
        himg_release(&x);
        return 0;
}
