/* bench-suspects: what the leak suspects and --baseline add to the
 * analysis of a dump.
 *
 *     bench-suspects DUMP [RUNS [BASELINE]]
 *
 * Reads DUMP, then RUNS times (default 5): releases the analysis, runs
 * heap_analyse(), heap_suspects_compute() (what every report lists), and
 * against BASELINE, an earlier dump of the same process (default: DUMP
 * read a second time, which nothing grew in), the work of --baseline:
 * heap_growth_compute_with() from those suspects, as the reports call it
 * (the owners matched by path, their shares in the older heap, the new
 * objects), heap_growth_compute() alone, which computes its own, and
 * heap_diff() (the browser's --baseline: types, cycle shapes, new
 * objects).  Prints the times and the owner that grew most, as a check that the
 * growth was found; the last lines give the medians and each as a share
 * of the analysis.  A figure, not a test. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "clock.h"
#include "diag.h"
#include "diff.h"
#include "growth.h"
#include "store.h"
#include "suspects.h"

#define RUNS_MAX 32
#define TIMES 5

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
        return v[n / 2];
}

/* One run: the analysis, the suspects, the growth from them, the growth
 * alone, the diff; times into t[0..4]. */
static int run(struct heap *h, const struct heap *old, int i, double *t)
{
        struct heap_suspects s = {0};
        struct heap_growth g = {0}, g2 = {0};
        struct heap_diff *df = NULL;
        double t0;

        heap_analysis_release(h);
        t0 = mono_ms();
        if (heap_analyse(h) < 0)
                return -1;
        t[0] = mono_ms() - t0;
        t0 = mono_ms();
        if (heap_suspects_compute(h, 10, &s) < 0)
                return -1;
        t[1] = mono_ms() - t0;
        t0 = mono_ms();
        if (heap_growth_compute_with(old, h, &s, 10, &g) < 0)
                return -1;
        t[2] = mono_ms() - t0;
        t0 = mono_ms();
        if (heap_growth_compute(old, h, 10, &g2) < 0)
                return -1;
        t[3] = mono_ms() - t0;
        t0 = mono_ms();
        if (heap_diff(old, h, &df) < 0)
                return -1;
        t[4] = mono_ms() - t0;
        printf("run %d: analysis %.1f ms, suspects %.1f ms (%u), growth from them %.1f ms "
               "(%u), growth alone %.1f ms (%u), diff %.1f ms\n", i + 1, t[0], t[1], s.n, t[2],
               g.n, t[3], g2.n, t[4]);
        heap_diff_free(df);
        if (i == 0 && g.n)
                printf("  grew most: %s %+" PRId64 " objects, %+" PRId64 " bytes, %" PRIu64
                       " new (%s)\n", g.v[0].name.owner, g.v[0].dobjects, g.v[0].dretained,
                       g.v[0].new_objs, g.v[0].new_types);
        heap_suspects_release(&s);
        heap_growth_release(&g);
        heap_growth_release(&g2);
        return 0;
}

int main(int argc, char **argv)
{
        struct diag d = {0};
        struct heap *h = NULL, *old = NULL;
        double t[TIMES][RUNS_MAX], m[TIMES];
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        const char *base = argc > 3 ? argv[3] : argv[1];

        if (argc < 2 || argc > 4 || runs < 1 || runs > RUNS_MAX) {
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
                double one[TIMES];

                if (run(h, old, i, one) < 0) {
                        fprintf(stderr, "bench-suspects: out of memory\n");
                        return 1;
                }
                for (int k = 0; k < TIMES; k++)
                        t[k][i] = one[k];
        }
        for (int k = 0; k < TIMES; k++)
                m[k] = median(t[k], runs);
        printf("median of %d: analysis %.1f ms\n", runs, m[0]);
        printf("  suspects                     %6.1f ms  %5.1f%% of the analysis\n", m[1],
               100.0 * m[1] / m[0]);
        printf("  --baseline growth from them  %6.1f ms  %5.1f%%\n", m[2], 100.0 * m[2] / m[0]);
        printf("  growth alone (own suspects)  %6.1f ms  %5.1f%%\n", m[3], 100.0 * m[3] / m[0]);
        printf("  heap_diff (the browser's)    %6.1f ms  %5.1f%%\n", m[4], 100.0 * m[4] / m[0]);
        heap_free(h);
        heap_free(old);
        return 0;
}
