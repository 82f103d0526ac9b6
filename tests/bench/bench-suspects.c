/* bench-suspects: what the leak suspects add to the analysis of a dump.
 *
 *     bench-suspects DUMP [RUNS [BASELINE]]
 *
 * Reads DUMP, then RUNS times (default 5): releases the analysis, runs
 * heap_analyse(), heap_suspects_compute() and heap_growth_compute()
 * against BASELINE, an earlier dump of the same process (default: DUMP
 * read a second time, which nothing grew in), the work of --baseline:
 * suspects, the new objects, subtree sums, paths followed.  Prints the
 * times and the owner that grew most, as a check that the growth was
 * found; the last line gives the medians and the ratios.  A figure, not
 * a test. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "clock.h"
#include "diag.h"
#include "growth.h"
#include "store.h"
#include "suspects.h"

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        struct diag d = {0};
        struct heap *h = NULL, *old = NULL;
        double an[32], su[32], gr[32];
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        const char *base = argc > 3 ? argv[3] : argv[1];

        if (argc < 2 || argc > 4 || runs < 1 || runs > 32) {
                fprintf(stderr, "usage: bench-suspects DUMP [RUNS (1-32) [BASELINE]]\n");
                return 2;
        }
        if (heap_store_read(argv[1], &h, &d) < 0) {
                fprintf(stderr, "bench-suspects: cannot read %s: %s\n", argv[1], d.msg);
                return 1;
        }
        if (heap_store_read(base, &old, &d) < 0 || (!old->analysed && heap_analyse(old) < 0)) {
                fprintf(stderr, "bench-suspects: cannot read %s: %s\n", base, d.msg);
                return 1;
        }
        printf("baseline %s: %u objects; %s: %u objects\n", base, old->nobjs, argv[1], h->nobjs);
        for (int i = 0; i < runs; i++) {
                struct heap_suspects s = {0};
                double t0;

                heap_analysis_release(h);
                t0 = mono_ms();
                if (heap_analyse(h) < 0)
                        return 1;
                an[i] = mono_ms() - t0;
                t0 = mono_ms();
                if (heap_suspects_compute(h, 10, &s) < 0)
                        return 1;
                su[i] = mono_ms() - t0;
                struct heap_growth g = {0};

                t0 = mono_ms();
                if (heap_growth_compute(old, h, 10, &g) < 0)
                        return 1;
                gr[i] = mono_ms() - t0;
                printf("run %d: %u objects, analysis %.1f ms, suspects %.1f ms (%u), baseline "
                       "growth %.1f ms (%u)\n", i + 1, h->nobjs, an[i], su[i], s.n, gr[i], g.n);
                if (i == 0 && g.n)
                        printf("  grew most: %s %+" PRId64 " objects, %+" PRId64 " bytes, %" PRIu64
                               " new (%s)\n", g.v[0].name.owner, g.v[0].dobjects,
                               g.v[0].dretained, g.v[0].new_objs, g.v[0].new_types);
                heap_suspects_release(&s);
                heap_growth_release(&g);
        }
        qsort(an, (size_t)runs, sizeof(an[0]), cmp_double);
        qsort(su, (size_t)runs, sizeof(su[0]), cmp_double);
        qsort(gr, (size_t)runs, sizeof(gr[0]), cmp_double);
        printf("median: analysis %.1f ms, suspects %.1f ms: +%.1f%%; baseline growth %.1f ms: "
               "+%.1f%%\n", an[runs / 2], su[runs / 2], 100.0 * su[runs / 2] / an[runs / 2],
               gr[runs / 2], 100.0 * gr[runs / 2] / an[runs / 2]);
        heap_free(h);
        heap_free(old);
        return 0;
}
