/* fuzz-store: the dump loader (heap_store_read, heap_store_info) on hostile
 * files (libFuzzer).  The input is the whole file, written to a file the
 * loader opens by path exactly as `pyleak-attach FILE` does.  Whatever the bytes, the loader must return a
 * heap or an error with a message, and a heap it returns must survive
 * what the screens do with one (analyses, previews, labels).  The file
 * lives in /dev/shm (TMPDIR if that is missing): SQLite resolves links,
 * so a memfd's /proc/self/fd path would not do.  Seeds:
 * tests/fuzz/corpus/store (tests/fuzz/mkseeds writes them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "diag.h"
#include "heap.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[4096];

static void cleanup(void)
{
        unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct diag d = {0};
        struct store_info info;
        struct heap *h = NULL;
        char buf[128];

        if (fd < 0) {
                const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

                snprintf(path, sizeof(path), "%s/fuzz-store-%d.pyleak", dir ? dir : "/tmp", (int)getpid());
                fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        abort();
                atexit(cleanup);
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
                abort();
        (void)heap_store_info(path, &info, &d);
        if (heap_store_read(path, &h, &d) >= 0) {
                if (heap_analyse(h) < 0)
                        abort();
                for (uint32_t i = 0; i < h->nobjs && i < 64; i++) {
                        (void)heap_preview(h, i, buf, sizeof(buf));
                        for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1] && e < h->edge_start[i] + 8; e++)
                                (void)heap_label_text(h, heap_edge_label(h, i, e), buf, sizeof(buf));
                }
                heap_free(h);
        }
        return 0;
}
