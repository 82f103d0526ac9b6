/* bench-suspects: what the leak suspects add to the analysis of a dump.
 *
 *     bench-suspects DUMP [RUNS]
 *
 * Reads DUMP, then RUNS times (default 5): releases the analysis, runs
 * heap_analyse() and heap_suspects_compute() and prints both times; the
 * last line gives the medians and the ratio.  A figure, not a test. */
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "clock.h"
#include "diag.h"
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
        struct heap *h = NULL;
        double an[32], su[32];
        int runs = argc > 2 ? atoi(argv[2]) : 5;

        if (argc < 2 || runs < 1 || runs > 32) {
                fprintf(stderr, "usage: bench-suspects DUMP [RUNS (1-32)]\n");
                return 2;
        }
        if (heap_store_read(argv[1], &h, &d) < 0) {
                fprintf(stderr, "bench-suspects: cannot read %s: %s\n", argv[1], d.msg);
                return 1;
        }
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
                printf("run %d: %u objects, analysis %.1f ms, suspects %.1f ms (%u)\n", i + 1,
                       h->nobjs, an[i], su[i], s.n);
                heap_suspects_release(&s);
        }
        qsort(an, (size_t)runs, sizeof(an[0]), cmp_double);
        qsort(su, (size_t)runs, sizeof(su[0]), cmp_double);
        printf("median: analysis %.1f ms, suspects %.1f ms: +%.1f%%\n", an[runs / 2],
               su[runs / 2], 100.0 * su[runs / 2] / an[runs / 2]);
        heap_free(h);
        return 0;
}
