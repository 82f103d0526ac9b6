/* fuzz-heap: the GC-list walker and every reference decoder on a hostile
 * heap image (libFuzzer).  The input's format is in heapimg.h: a layout
 * table from symbols/tables/, live or not, a fault rate, the GC list links
 * and interpreter roots, and the bytes at HIMG_ADDR.  Whatever the bytes,
 * heap_build() must return (a heap, or an error with a message), and the
 * analyses must run on whatever heap it built; ASan and UBSan judge the
 * rest.  Seeds: tests/fuzz/corpus/heap (tests/fuzz/mkseeds writes them).
 *
 * With FUZZ_SAVE_INPUT=PATH each input is written to PATH before it runs:
 * a jump to a wild address can kill libFuzzer's own crash handler before
 * it saves the input (seen once), and this keeps it anyway. */
#include <stdint.h>
#include <stdio.h>
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
        static const char *save;
        static int save_init;

        if (!save_init) {
                save = getenv("FUZZ_SAVE_INPUT");
                save_init = 1;
        }
        if (save) {
                FILE *f = fopen(save, "wb");

                if (f) {
                        (void)fwrite(data, 1, size, f);
                        fclose(f);
                }
        }

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
