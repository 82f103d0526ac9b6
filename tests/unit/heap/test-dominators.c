/* test-dominators: computed roots, immediate dominators and retained sizes
 * (heap_roots_compute, heap_dominators) on hand-built graphs, on many random
 * graphs checked against the definition (v dominates w iff removing v cuts
 * w off the virtual root), on a million-deep chain (no recursion), and the
 * timing on a 1M-object, ~3M-edge graph. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture-graph.h"
#include "tap.h"
#include "testutil.h"

#define NONE UINT32_MAX

/* CPU time too: on a shared machine wall time mostly measures the others */
static double cpu_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int root_kind_of(const struct heap *h, uint32_t obj)
{
        for (uint32_t i = 0; i < h->nroots; i++)
                if (h->roots[i].obj == obj)
                        return h->roots[i].kind;
        return -1;
}

static void test_roots(void)
{
        /* 0 external (refcnt 2, one edge in); 1 explained; 2 immortal;
         * 3 permanent; 4 explicit module root that also has an extra ref;
         * 5 untracked, referenced twice, refcnt 3: external; 6 untracked,
         * refcnt 0 (torn): not a root */
        const struct fx_obj o[] = {
                {0, 2, 0, 0, FX_NODE, 0},
                {0, 1, 0, 0, FX_NODE, 0},
                {0, 1, 0, HOBJ_IMMORTAL, FX_NODE, 0},
                {HEAP_GEN_PERMANENT, 0, 0, 0, FX_NODE, 0},
                {1, 5, 0, 0, FX_MODULE, 0},
                {HEAP_GEN_UNTRACKED, 3, 0, 0, FX_LIST, 0},
                {HEAP_GEN_UNTRACKED, 0, 0, 0, FX_LIST, 0},
        };
        const struct fx_edge e[] = {{1, 0, 0}, {0, 1, 0}, {0, 5, 0}, {1, 5, 0}};
        struct heap *h = FX_BUILD(o, e);
        uint32_t n1;

        fx_add_root(h, 4, HEAP_ROOT_MODULE);
        ok(heap_roots_compute(h) == 0, "roots: computed without the referrer index");
        n1 = h->nroots;
        ok(h->roots[0].obj == 4 && h->roots[0].kind == HEAP_ROOT_MODULE,
           "roots: explicit root stays first");
        ok(root_kind_of(h, 0) == HEAP_ROOT_EXTERNAL, "roots: unexplained refcount -> external");
        ok(root_kind_of(h, 1) == -1, "roots: fully explained refcount -> no root");
        ok(root_kind_of(h, 2) == HEAP_ROOT_IMMORTAL, "roots: immortal");
        ok(root_kind_of(h, 3) == HEAP_ROOT_PERMANENT, "roots: permanent generation");
        ok(root_kind_of(h, 5) == HEAP_ROOT_EXTERNAL, "roots: untracked object with extra refs");
        ok(root_kind_of(h, 6) == -1, "roots: refcount 0 is no root");
        ok(n1 == 5, "roots: one entry per object, explicit one not duplicated (%u)", n1);
        ok(h->roots[1].label == HEAP_ROOT_NO_LABEL && h->roots[1].frame == UINT32_MAX,
           "roots: computed roots carry no label, no frame");
        ok(heap_preds_build(h) == 0 && heap_roots_compute(h) == 0 && h->nroots == n1 &&
                   h->roots[0].kind == HEAP_ROOT_MODULE,
           "roots: idempotent (with the referrer index)");
        ok(heap_analyse(h) == 0 && h->nroots == n1, "roots: heap_analyse computes them once");
        heap_analysis_release(h);
        ok(h->nroots == 1 && !h->idom && !h->pred_start && !h->analysed,
           "release: computed roots dropped, results freed");
        ok(heap_analyse(h) == 0 && h->nroots == n1, "re-analysed after release");
        fx_free(h);
}

static void test_diamond(void)
{
        /* 0 root -> 1; 1 -> 2, 3; 2 -> 4; 3 -> 4; 4 -> 5; 0 -> 5 */
        const struct fx_obj o[] = {
                {0, 1, 10, 0, FX_DICT, 0}, {0, 1, 20, 0, FX_NODE, 0}, {0, 1, 30, 0, FX_NODE, 0},
                {0, 1, 40, 0, FX_NODE, 0}, {0, 2, 50, 0, FX_NODE, 0}, {0, 2, 60, 0, FX_LIST, 0},
        };
        const struct fx_edge e[] = {{0, 1, 0}, {1, 2, 0}, {1, 3, 0}, {2, 4, 0},
                                    {3, 4, 0}, {4, 5, 0}, {0, 5, 0}};
        struct heap *h = FX_BUILD(o, e);

        ok(heap_analyse(h) == 0 && h->idom && h->retained, "diamond: analysed");
        ok(h->nroots == 1 && h->roots[0].obj == 0, "diamond: one external root");
        ok(h->idom[0] == NONE && h->idom[1] == 0 && h->idom[2] == 1 && h->idom[3] == 1 &&
                   h->idom[4] == 1 && h->idom[5] == 0,
           "diamond: immediate dominators");
        ok(h->retained[0] == 210 && h->retained[1] == 140 && h->retained[2] == 30 &&
                   h->retained[4] == 50 && h->retained[5] == 60,
           "diamond: retained sizes");
        ok(h->types[FX_NODE].retained == 140 && h->types[FX_DICT].retained == 210 &&
                   h->types[FX_LIST].retained == 60,
           "diamond: type retained counts nested instances once");
        ok(heap_type_retained(h, FX_NODE) == 140, "heap_type_retained");
        fx_free(h);
}

static void test_garbage(void)
{
        /* 0 root (alone). Garbage chain whose head has the highest index:
         * 3 -> 1 -> 2.  Garbage pure cycle 4 <-> 5 -> 6.  Garbage 7 -> 4. */
        const struct fx_obj o[] = {
                {0, 1, 1, 0, FX_NODE, 0},  {0, 1, 10, 0, FX_NODE, 0}, {0, 1, 20, 0, FX_NODE, 0},
                {0, 0, 30, 0, FX_NODE, 0}, {0, 2, 40, 0, FX_NODE, 0}, {0, 1, 50, 0, FX_DICT, 0},
                {0, 1, 60, 0, FX_LIST, 0}, {0, 0, 70, 0, FX_NODE, 0},
        };
        const struct fx_edge e[] = {{3, 1, 0}, {1, 2, 0}, {4, 5, 0}, {5, 4, 0},
                                    {5, 6, 0}, {7, 4, 0}};
        struct heap *h = FX_BUILD(o, e);
        uint32_t c;

        ok(heap_analyse(h) == 0 && h->ngarbage == 7, "garbage: analysed, 7 garbage");
        ok(h->idom[3] == NONE && h->idom[1] == 3 && h->idom[2] == 1,
           "garbage chain: the head dominates it, whatever the index order");
        ok(h->retained[3] == 60, "garbage chain: head retains the chain");
        ok(h->idom[7] == NONE && h->idom[4] == 7 && h->idom[5] == 4 && h->idom[6] == 5,
           "garbage cycle fed by a garbage head: hangs off the head");
        ok(h->retained[7] == 220 && h->retained[4] == 150, "garbage cycle: retained");
        ok(heap_object_cycle(h, 4, &c) == 0 && heap_cycle_retained(h, c) == 150 &&
                   h->cycles.garbage[c],
           "garbage cycle: cycle retained = what the cycle holds");
        fx_free(h);

        {
                /* a pure garbage cycle with no head: lowest index first */
                const struct fx_obj o2[] = {
                        {0, 1, 1, 0, FX_NODE, 0}, {0, 1, 2, 0, FX_NODE, 0},
                        {0, 1, 4, 0, FX_NODE, 0},
                };
                const struct fx_edge e2[] = {{2, 1, 0}, {1, 0, 0}, {0, 2, 0}};

                h = FX_BUILD(o2, e2);
                ok(heap_analyse(h) == 0 && h->idom[0] == NONE && h->idom[2] == 0 &&
                           h->idom[1] == 2 && h->retained[0] == 7,
                   "headless garbage ring: lowest index is the entry");
                fx_free(h);
        }
}

static void test_cycle_retained(void)
{
        /* root 0 -> A(1) <-> B(2); A -> x(3); B -> y(4); A -> w(5), w external;
         * B -> z(6) -> A */
        const struct fx_obj o[] = {
                {0, 1, 1, 0, FX_DICT, 0},  {0, 3, 10, 0, FX_NODE, 0}, {0, 1, 20, 0, FX_NODE, 0},
                {0, 1, 30, 0, FX_LIST, 0}, {0, 1, 40, 0, FX_LIST, 0}, {0, 2, 50, 0, FX_LIST, 0},
                {0, 1, 60, 0, FX_DICT, 0},
        };
        const struct fx_edge e[] = {{0, 1, 0}, {1, 2, 0}, {2, 1, 0}, {1, 3, 0}, {2, 4, 0},
                                    {1, 5, 0}, {2, 6, 0}, {6, 1, 0}};
        struct heap *h = FX_BUILD(o, e);
        uint32_t c;

        ok(heap_analyse(h) == 0 && h->cycles.n == 1 && heap_cycle_size(h, 0) == 3,
           "cycle retained: one cycle A, B, z");
        c = NONE;
        heap_object_cycle(h, 1, &c);
        ok(c == 0 && h->cycles.retained[c] == 10 + 20 + 30 + 40 + 60,
           "cycle retained: members and what only they hold, not the shared object (%llu)",
           (unsigned long long)h->cycles.retained[0]);
        ok(h->idom[5] == NONE, "externally held object hangs off the virtual root");
        ok(h->cycles_local.retained && h->cycles_local.n == 1 &&
                   h->cycles_local.retained[0] == h->cycles.retained[c],
           "local cycles get retained sizes too");
        fx_free(h);
}

/* ---- random graphs against the definition ----------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
        return test_rnd(&rng);
}

/* BFS from the start set in, not entering `cut`; marks reach. */
static void reach_from(const struct heap *h, const uint8_t *start, uint32_t cut, uint8_t *reach,
                       uint32_t *q)
{
        uint32_t qh = 0, qt = 0;

        for (uint32_t v = 0; v < h->nobjs; v++)
                if (start[v] && v != cut && !reach[v]) {
                        reach[v] = 1;
                        q[qt++] = v;
                }
        while (qh < qt) {
                uint32_t v = q[qh++];

                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++) {
                        uint32_t w = h->edge_dst[e];

                        if (w != cut && !reach[w]) {
                                reach[w] = 1;
                                q[qt++] = w;
                        }
                }
        }
}

/* The virtual root's children by the documented rule: roots; then the
 * unreached objects no other unreached object refers to; then, in index
 * order, whatever is still unreached. */
static void ref_root_children(const struct heap *h, uint8_t *child, uint32_t *q)
{
        const uint32_t n = h->nobjs;
        uint8_t *reach = calloc(n, 1), *one = calloc(n, 1);

        for (uint32_t i = 0; i < h->nroots; i++)
                child[h->roots[i].obj] = 1;
        reach_from(h, child, NONE, reach, q);
        {
                uint8_t *head = calloc(n, 1);

                for (uint32_t v = 0; v < n; v++)
                        head[v] = !reach[v];
                for (uint32_t u = 0; u < n; u++)
                        if (!reach[u])
                                for (uint64_t e = h->edge_start[u]; e < h->edge_start[u + 1]; e++)
                                        if (h->edge_dst[e] != u)
                                                head[h->edge_dst[e]] = 0;
                for (uint32_t v = 0; v < n; v++)
                        child[v] |= head[v];
                free(head);
        }
        memset(reach, 0, n);
        reach_from(h, child, NONE, reach, q);
        for (uint32_t v = 0; v < n; v++) {
                if (reach[v])
                        continue;
                child[v] = 1;
                memset(one, 0, n);
                one[v] = 1;
                reach_from(h, one, NONE, reach, q);
        }
        free(reach);
        free(one);
}

/* dom[v * n + w] = 1 iff v dominates w (v != w). */
static uint8_t *ref_dominators(const struct heap *h)
{
        const uint32_t n = h->nobjs;
        uint8_t *child = calloc(n, 1), *reach = calloc(n, 1), *dom = calloc((size_t)n * n, 1);
        uint32_t *q = malloc(n * sizeof(*q));

        ref_root_children(h, child, q);
        for (uint32_t v = 0; v < n; v++) {
                memset(reach, 0, n);
                reach_from(h, child, v, reach, q);
                for (uint32_t w = 0; w < n; w++)
                        dom[(size_t)v * n + w] = w != v && !reach[w];
        }
        free(child);
        free(reach);
        free(q);
        return dom;
}

static int check_random(uint32_t n, uint32_t avgdeg, uint32_t extra_pct, int *ret_nunreached)
{
        struct fx_obj *o = calloc(n, sizeof(*o));
        struct fx_edge *e = malloc((size_t)n * (avgdeg * 2 + 1) * sizeof(*e));
        uint32_t *indeg = calloc(n, sizeof(*indeg)), ne = 0, nt = n - n / 10;
        uint64_t *tret = calloc(FX__NTYPES, sizeof(*tret));
        uint32_t *ndom = malloc(n * sizeof(*ndom));
        uint8_t *dom, *anyinst = malloc(n);
        struct heap *h;
        int bad = 0, unreached = 0;

        for (uint32_t v = 0; v < nt; v++) {
                uint32_t deg = rnd() % (avgdeg * 2 + 1);

                for (uint32_t k = 0; k < deg; k++) {
                        uint32_t w = rnd() % 3 ? (uint32_t)((v + n - 4 + rnd() % 9) % n)
                                               : (uint32_t)(rnd() % n);

                        e[ne++] = (struct fx_edge){v, w, NULL};
                        indeg[w]++;
                }
        }
        for (uint32_t v = 0; v < n; v++) {
                uint64_t r = rnd() % 100;
                int gen = v >= nt ? HEAP_GEN_UNTRACKED : (r == 0 ? HEAP_GEN_PERMANENT : (int)(r % 3));

                o[v] = (struct fx_obj){gen, indeg[v] + (r < extra_pct ? 1 : 0), 1 + rnd() % 1000,
                                       r == 1 ? HOBJ_IMMORTAL : 0, (uint32_t)(rnd() % 3), 0};
        }
        h = fx_build(o, n, e, ne);
        if (!h || heap_analyse(h) < 0) {
                fx_free(h);
                free(o);
                free(e);
                free(indeg);
                free(tret);
                free(ndom);
                free(anyinst);
                return -1;
        }
        dom = ref_dominators(h);
        for (uint32_t v = 0; v < n; v++) {
                ndom[v] = 0;
                for (uint32_t x = 0; x < n; x++)
                        ndom[v] += dom[(size_t)x * n + v];
        }
        for (uint32_t w = 0; w < n; w++) {
                /* idom: the strict dominator dominated by all the others */
                uint32_t want = NONE, best = 0;
                uint64_t ret = 0;

                for (uint32_t v = 0; v < n; v++) {
                        if (!dom[(size_t)v * n + w])
                                continue;
                        if (want == NONE || ndom[v] >= best) {
                                want = v;
                                best = ndom[v];
                        }
                }
                if (h->idom[w] != want)
                        bad++;
                ret = h->objs[w].size;
                for (uint32_t x = 0; x < n; x++)
                        if (dom[(size_t)w * n + x])
                                ret += h->objs[x].size;
                if (h->retained[w] != ret)
                        bad++;
        }
        /* type retained: everything dominated by (or being) an instance */
        for (uint32_t t = 0; t < FX__NTYPES; t++) {
                memset(anyinst, 0, n);
                for (uint32_t v = 0; v < n; v++) {
                        if (h->objs[v].type != t)
                                continue;
                        anyinst[v] = 1;
                        for (uint32_t x = 0; x < n; x++)
                                anyinst[x] |= dom[(size_t)v * n + x];
                }
                for (uint32_t x = 0; x < n; x++)
                        if (anyinst[x])
                                tret[t] += h->objs[x].size;
                if (tret[t] != h->types[t].retained)
                        bad++;
        }
        /* cycle retained: everything dominated by (or being) a member */
        for (int set = 0; set < 2; set++) {
                const struct heap_cycles *c = set ? &h->cycles_local : &h->cycles;

                for (uint32_t i = 0; i < c->n; i++) {
                        uint64_t want = 0;

                        memset(anyinst, 0, n);
                        for (uint32_t m = c->start[i]; m < c->start[i + 1]; m++) {
                                uint32_t v = c->members[m];

                                anyinst[v] = 1;
                                for (uint32_t x = 0; x < n; x++)
                                        anyinst[x] |= dom[(size_t)v * n + x];
                        }
                        for (uint32_t x = 0; x < n; x++)
                                if (anyinst[x])
                                        want += h->objs[x].size;
                        if (want != c->retained[i])
                                bad++;
                }
        }
        for (uint32_t v = 0; v < n; v++)
                unreached += h->idom[v] == NONE && root_kind_of(h, v) < 0;
        *ret_nunreached = unreached;
        free(dom);
        free(ndom);
        free(anyinst);
        free(tret);
        free(o);
        free(e);
        free(indeg);
        fx_free(h);
        return bad;
}

static void test_random(void)
{
        static const uint32_t shapes[][3] = {
                /* n, average out-degree, % of objects with an extra ref */
                {300, 1, 10}, {300, 2, 5}, {300, 3, 2}, {300, 2, 0}, {200, 4, 20}, {60, 1, 3},
        };
        int bad = 0, graphs = 0, unreached = 0;

        for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++) {
                for (int k = 0; k < 25; k++) {
                        int u = 0, b = check_random(shapes[s][0], shapes[s][1], shapes[s][2], &u);

                        if (b)
                                bad++;
                        graphs++;
                        unreached += u;
                }
        }
        ok(bad == 0, "random: idom, retained, type and cycle retained match the definition "
                     "on %d graphs (%d failed)", graphs, bad);
        ok(unreached > 0, "random: the graphs had unreached objects (%d extra entries)", unreached);
}

/* ---- deep and big ------------------------------------------------------ */

static void test_deep_chain(void)
{
        const uint32_t N = 1000000;
        struct fx_obj *o = calloc(N, sizeof(*o));
        struct fx_edge *e = malloc(N * sizeof(*e));
        struct heap *h;
        int bad = 0;

        for (uint32_t i = 0; i < N; i++) {
                /* the chain runs from the highest index down: a head found
                 * only by the "no unreached referrer" rule */
                o[i] = (struct fx_obj){2, 1, 16, 0, FX_NODE, 0};
                if (i)
                        e[i - 1] = (struct fx_edge){i, i - 1, NULL};
        }
        o[N - 1].refcnt = 0;
        h = fx_build(o, N, e, N - 1);
        ok(h && heap_analyse(h) == 0, "1M chain of garbage analysed");
        for (uint32_t i = 0; i + 1 < N; i++)
                bad += h->idom[i] != i + 1;
        ok(bad == 0 && h->idom[N - 1] == NONE && h->retained[N - 1] == 16ULL * N &&
                   h->types[FX_NODE].retained == 16ULL * N,
           "1M chain: each link dominates the next, the head retains it all");
        fx_free(h);
        free(o);
        free(e);
}

static void test_timing(void)
{
        const uint32_t N = 1000000, NT = 900000;
        struct fx_obj *o = calloc(N, sizeof(*o));
        struct fx_edge *e = malloc((size_t)NT * 8 * sizeof(*e));
        uint32_t *indeg = calloc(N, sizeof(*indeg)), ne = 0;
        struct heap *h;
        double t0, tp, tr, td, c0, c1;
        uint64_t total = 0, rootsum = 0;
        int rc;

        for (uint32_t v = 0; v < NT; v++) {
                uint32_t deg = rnd() % 8;

                for (uint32_t k = 0; k < deg; k++) {
                        uint32_t w = rnd() % 4 ? (uint32_t)((v + N - 50 + rnd() % 101) % N)
                                               : (uint32_t)(rnd() % N);

                        e[ne++] = (struct fx_edge){v, w, NULL};
                        indeg[w]++;
                }
        }
        for (uint32_t v = 0; v < N; v++) {
                uint64_t r = rnd() % 100;

                o[v] = (struct fx_obj){v < NT ? (int)(r % 3) : HEAP_GEN_UNTRACKED,
                                       indeg[v] + (r < 3 ? 1 : 0), 16 + r, 0,
                                       (uint32_t)(v % FX__NTYPES), 0};
                total += 16 + r;
        }
        h = fx_build(o, N, e, ne);
        ok(h != NULL, "timing graph: %u objects, %u edges", N, ne);
        c0 = cpu_ms();
        t0 = now_ms();
        ok(heap_preds_build(h) == 0, "timing: referrer index");
        tp = now_ms();
        rc = heap_roots_compute(h);
        ok(rc == 0, "timing: roots (%u)", h->nroots);
        tr = now_ms();
        ok(heap_dominators(h) == 0, "timing: dominators");
        td = now_ms();
        c1 = cpu_ms();
        for (uint32_t v = 0; v < N; v++)
                if (h->idom[v] == NONE)
                        rootsum += h->retained[v];
        ok(rootsum == total, "timing: the virtual root's children retain everything");
        printf("# 1M objects, %u edges: referrer index %.0f ms, roots %.0f ms, dominators "
               "%.0f ms; roots + dominators (incl. index) %.0f ms\n",
               ne, tp - t0, tr - tp, td - tr, td - t0);
        printf("# roots + dominators (incl. index) CPU time %.0f ms; target <= 1500 ms\n",
               c1 - c0);
        fx_free(h);

        h = fx_build(o, N, e, ne);
        t0 = now_ms();
        ok(h && heap_analyse(h) == 0, "timing: full heap_analyse");
        printf("# 1M objects: heap_analyse (cycles x2, garbage, index, roots, dominators) "
               "%.0f ms\n", now_ms() - t0);
        fx_free(h);
        free(o);
        free(e);
        free(indeg);
}

static void test_misuse(void)
{
        struct heap *h = heap_new();

        ok(heap_dominators(h) == -EINVAL && heap_roots_compute(h) == -EINVAL &&
                   heap_preds_build(h) == -EINVAL,
           "unfinished heap rejected");
        ok(heap_dominators(NULL) == -EINVAL, "NULL rejected");
        heap_finish(h);
        ok(heap_analyse(h) == 0 && h->nroots == 0, "empty heap: analysed");
        heap_analysis_release(NULL);
        fx_free(h);
}

int main(void)
{
        test_roots();
        test_diamond();
        test_garbage();
        test_cycle_retained();
        test_random();
        test_deep_chain();
        test_timing();
        test_misuse();
        return tap_done();
}
