/* mkseeds: writes the seed corpora of fuzz-heap and fuzz-store.
 *
 *   mkseeds HEAP_DIR STORE_DIR
 *
 * HEAP_DIR gets one small valid heap image per layout table (heapimg.h),
 * plus a live-mode copy of a few; STORE_DIR gets the dumps of some of
 * those heaps as the walker builds them and heap_store_write writes them,
 * plus a dump of an empty heap.  Deterministic: the dumps' metadata is
 * fixed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "heap-build.h"
#include "heap.h"
#include "heapimg.h"
#include "store.h"
#include "tables.h"

static int spew(const char *dir, const char *name, const void *b, size_t n)
{
        char p[4096];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "wb");
        if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
                fprintf(stderr, "mkseeds: cannot write %s: %s\n", p, strerror(errno));
                return -1;
        }
        return 0;
}

static int dump(const char *dir, const char *name, struct heap *h)
{
        struct store_write_opts o = {
                .force = true, .hostname = "fuzz-seed", .time_iso = "2026-01-01T00:00:00Z",
                .tool_version = "seed",
        };
        struct diag d = {0};
        char p[4096];

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        if (heap_analyse(h) < 0 || heap_store_write(h, p, &o, &d) < 0) {
                fprintf(stderr, "mkseeds: cannot write %s: %s\n", p, d.msg);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static uint8_t buf[1 << 16];
        int bad = 0;

        if (argc != 3) {
                fprintf(stderr, "usage: mkseeds HEAP_DIR STORE_DIR\n");
                return 64;
        }
        for (size_t t = 0; t < layout_tables_count; t++) {
                const char *key = layout_tables[t].key;
                size_t n = himg_seed((unsigned)t, buf, sizeof(buf));
                char name[128];

                if (!n) {
                        fprintf(stderr, "mkseeds: no seed for table %s\n", key);
                        bad = 1;
                        continue;
                }
                snprintf(name, sizeof(name), "%s", key);
                bad |= spew(argv[1], name, buf, n) < 0;

                /* the walk must take the seed whole: a seed the walker
                 * refuses would start the fuzzer nowhere */
                struct heap_build_opts o = { 0 };
                struct diag d = {0};
                struct heap *h = NULL;
                struct himg x;
                int r = himg_load(&x, buf, n, &o.live);

                if (r >= 0)
                        r = heap_build(x.m, &x.pi, &o, &h, &d);
                if (r < 0 || h->meta.inconsistencies) {
                        fprintf(stderr, "mkseeds: seed %s does not walk cleanly: %d %s (%llu inconsistencies)\n",
                                key, r, d.msg,
                                h ? (unsigned long long)h->meta.inconsistencies : 0ULL);
                        bad = 1;
                } else {
                        printf("%s: %zu bytes, %u objects, %u tracked\n", key, n, h->nobjs, h->ntracked);
                        if (t % 4 == 0) {
                                snprintf(name, sizeof(name), "%s.pyleak", key);
                                bad |= dump(argv[2], name, h) < 0;
                                buf[0] |= 0x80;
                                snprintf(name, sizeof(name), "%s-live", key);
                                bad |= spew(argv[1], name, buf, n) < 0;
                        }
                }
                heap_free(h);
                himg_release(&x);
        }
        struct heap *e = heap_new();

        if (!e)
                return 1;
        heap_mark_tracked_done(e);
        if (heap_finish(e) < 0 || dump(argv[2], "empty.pyleak", e) < 0)
                bad = 1;
        heap_free(e);
        return bad;
}
