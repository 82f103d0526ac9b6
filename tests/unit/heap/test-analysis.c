/* test-analysis: cycles and the full-collection garbage rule on hand-built
 * graphs, deep graphs (no recursion), and a random graph checked against a
 * plain Kosaraju and a plain re-statement of the garbage rule. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "heap-build.h"
#include "suspects.h"
#include "tap.h"
#include "testutil.h"

enum { T_DICT, T_NODE, T_LIST, T_NODE2 };

struct tobj {
        int gen;
        int64_t refcnt;
        uint64_t size;
        uint8_t flags;
        uint32_t type;
};

/* Builds a heap from objects (tracked first, then untracked) and edges given
 * as src,dst pairs sorted by src. */
static struct heap *build(const struct tobj *o, uint32_t n, const uint32_t *edges,
                          uint64_t nedges)
{
        struct heap *h = heap_new();
        int r = 0;
        uint32_t t;

        r |= heap_intern_type(h, 0x10, "builtins", "dict", false, &t);
        r |= heap_intern_type(h, 0x20, "__main__", "Node", false, &t);
        r |= heap_intern_type(h, 0x30, "builtins", "list", false, &t);
        r |= heap_intern_type(h, 0x40, "__main__", "Node", false, &t); /* redefined class */
        for (uint32_t i = 0; i < n; i++) {
                if (o[i].gen == HEAP_GEN_UNTRACKED)
                        heap_mark_tracked_done(h);
                r |= heap_add_object(h, 0x1000 + 16ULL * i, o[i].type, o[i].gen, o[i].refcnt,
                                     o[i].size ? o[i].size : 1, o[i].flags, NULL);
        }
        heap_mark_tracked_done(h);
        for (uint64_t e = 0; e < nedges; e++)
                r |= heap_add_edge(h, edges[2 * e], edges[2 * e + 1], heap_label_index(0));
        r |= heap_finish(h);
        if (r) {
                heap_free(h);
                return NULL;
        }
        return h;
}

/* Frees the analysis results and the roots array (computed roots are
 * appended to it) whether or not heap_free() does. */
static void hfree(struct heap *h)
{
        if (!h)
                return;
        heap_analysis_release(h);
        free(h->roots);
        h->roots = NULL;
        h->nroots = h->cap_roots = 0;
        heap_free(h);
}

#define BUILD(objs, edges) \
        build(objs, sizeof(objs) / sizeof(objs[0]), edges, sizeof(edges) / sizeof(edges[0]) / 2)

static int garbage(const struct heap *h, uint32_t i)
{
        return !!(h->objs[i].flags & HOBJ_GARBAGE);
}

static void test_self_loop(void)
{
        const struct tobj o[] = {{0, 1, 10, 0, T_NODE}, {0, 1, 10, 0, T_NODE}};
        const uint32_t e[] = {0, 0};
        struct heap *h = BUILD(o, e);

        ok(heap_analyse(h) == 0 && h->analysed, "self-loop: analysed");
        ok(h->cycles.n == 1 && heap_cycle_size(h, 0) == 1 && h->cycles.members[0] == 0,
           "self-loop: one cycle of one");
        ok((h->objs[0].flags & HOBJ_IN_CYCLE) && !(h->objs[1].flags & HOBJ_IN_CYCLE),
           "self-loop: only the looping object is IN_CYCLE");
        ok(garbage(h, 0) && h->cycles.garbage[0], "self-loop: refcnt all internal -> garbage");
        ok(!garbage(h, 1), "self-loop: other object has an external ref");
        hfree(h);
}

static void test_two_cycle(void)
{
        struct tobj o[] = {{0, 1, 100, 0, T_NODE}, {1, 1, 200, 0, T_DICT}};
        const uint32_t e[] = {0, 1, 1, 0};
        struct heap *h = BUILD(o, e);
        uint32_t cyc = 9;

        ok(heap_analyse(h) == 0, "2-cycle: analysed");
        ok(h->cycles.n == 1 && heap_cycle_size(h, 0) == 2 && h->cycles.bytes[0] == 300,
           "2-cycle: found, bytes summed");
        ok(garbage(h, 0) && garbage(h, 1) && h->cycles.garbage[0], "2-cycle: both garbage");
        ok(h->ngarbage == 2 && h->garbage[0] == 0 && h->garbage[1] == 1,
           "2-cycle: garbage list ascending");
        ok(heap_garbage_bytes(h) == 300, "2-cycle: garbage bytes");
        ok(heap_object_cycle(h, 1, &cyc) == 0 && cyc == 0, "heap_object_cycle");
        ok(h->meta.inconsistencies == 0, "2-cycle: consistent");
        /* 2 objects, 2 edges, one cycle of 2, 2 garbage: the bytes each
         * step says it keeps are the sizes of its results (heap.h) */
        ok(h->costs_known && h->costs[HEAP_COST_REFERRERS].kept == 4 * 3 + 4 * 2 &&
                   h->costs[HEAP_COST_DOMINATORS].kept == 12 * 3 &&
                   h->costs[HEAP_COST_CYCLES].kept == 4 * 2 + 4 * 2 + 9 &&
                   h->costs[HEAP_COST_GARBAGE].kept == 4 * 2 &&
                   h->costs[HEAP_COST_CYCLE_RETAINED].kept == 8 * 2,
           "2-cycle: costs kept = the sizes of the results");
        ok(strcmp(heap_cost_name(HEAP_COST_LOCAL_CYCLES), "local_cycles") == 0 &&
                   strcmp(heap_cost_name(HEAP_COST__COUNT), "?") == 0,
           "heap_cost_name");
        {
                struct heap_cycles before = h->cycles;
                double ms = h->meta.analyse_ms;

                ok(heap_analyse(h) == 0 && h->cycles.start == before.start &&
                           h->meta.analyse_ms == ms && h->ngarbage == 2,
                   "second heap_analyse is a no-op");
        }
        hfree(h);

        o[0].refcnt = 2;
        h = BUILD(o, e);
        ok(heap_analyse(h) == 0, "2-cycle + external: analysed");
        ok(!garbage(h, 0) && !garbage(h, 1) && !h->cycles.garbage[0] && h->ngarbage == 0,
           "2-cycle + one external ref: alive");
        hfree(h);
}

static void test_hanging_off_root(void)
{
        /* 0 = root (external ref), 0 -> 1, 1 <-> 2; separate 3 <-> 4 garbage */
        const struct tobj o[] = {
                {0, 1, 8, 0, T_DICT}, {2, 2, 8, 0, T_NODE}, {2, 1, 8, 0, T_NODE},
                {0, 1, 8, 0, T_NODE}, {0, 1, 8, 0, T_NODE},
        };
        const uint32_t e[] = {0, 1, 1, 2, 2, 1, 3, 4, 4, 3};
        struct heap *h = BUILD(o, e);
        uint32_t cyc;

        ok(heap_analyse(h) == 0, "root: analysed");
        ok(!garbage(h, 0) && !garbage(h, 1) && !garbage(h, 2),
           "cycle reachable from a live root is alive");
        ok(garbage(h, 3) && garbage(h, 4), "unrelated cycle is garbage");
        ok(h->cycles.n == 2, "root: two cycles");
        ok(heap_object_cycle(h, 0, &cyc) == -ENOENT, "root not in a cycle");
        hfree(h);
}

static void test_permanent(void)
{
        /* 0 = frozen (permanent) object with refcnt fully explained by 2,
         * 0 -> 1 <-> 2; 3 (permanent) <-> 4 */
        const struct tobj o[] = {
                {HEAP_GEN_PERMANENT, 1, 8, 0, T_DICT}, {0, 2, 8, 0, T_NODE},
                {0, 1, 8, 0, T_NODE}, {HEAP_GEN_PERMANENT, 1, 8, 0, T_NODE},
                {2, 1, 8, 0, T_NODE},
        };
        const uint32_t e[] = {0, 1, 1, 2, 2, 1, 3, 4, 4, 3};
        struct heap *h = BUILD(o, e);

        ok(heap_analyse(h) == 0, "permanent: analysed");
        ok(!garbage(h, 0) && !garbage(h, 3), "permanent objects are never garbage");
        ok(!garbage(h, 1) && !garbage(h, 2), "what a permanent object references is alive");
        ok(!garbage(h, 4), "cycle through a permanent object is alive");
        ok(h->ngarbage == 0 && h->cycles.n == 2 && !h->cycles.garbage[0] &&
                   !h->cycles.garbage[1],
           "permanent: no garbage, two live cycles");
        hfree(h);
}

static void test_immortal_and_untracked(void)
{
        /* 0 <-> 1 with 0 immortal; 2 self-loop -> 3 (untracked) */
        const struct tobj o[] = {
                {0, 1, 8, HOBJ_IMMORTAL, T_NODE}, {0, 1, 8, 0, T_NODE}, {0, 1, 8, 0, T_LIST},
                {HEAP_GEN_UNTRACKED, 1, 8, 0, T_DICT},
        };
        const uint32_t e[] = {0, 1, 1, 0, 2, 2, 2, 3};
        struct heap *h = BUILD(o, e);

        ok(heap_analyse(h) == 0, "immortal: analysed");
        ok(!garbage(h, 0) && !garbage(h, 1), "cycle with an immortal member is alive");
        ok(garbage(h, 2), "self-looping list is garbage");
        ok(!garbage(h, 3), "untracked object is never garbage");
        ok(h->ngarbage == 1 && h->garbage[0] == 2, "garbage list holds only tracked objects");
        hfree(h);
}

static void test_inconsistent(void)
{
        /* 1 is referenced twice from inside but claims refcnt 1 */
        const struct tobj o[] = {{0, 1, 8, 0, T_NODE}, {0, 1, 8, 0, T_NODE}};
        const uint32_t e[] = {0, 1, 0, 1, 1, 0};
        struct heap *h = BUILD(o, e);

        ok(heap_analyse(h) == 0, "inconsistent: analysed");
        ok(h->meta.inconsistencies == 1, "refcnt below internal refs is counted");
        ok(garbage(h, 0) && garbage(h, 1), "clamped gc_refs 0: still garbage");
        hfree(h);
}

static void test_sort_and_signature(void)
{
        /* A = {0,1} 100 bytes; B = {2,3,4} 100 bytes; C = {5} self-loop 500;
         * D = {6,7} 100 bytes */
        const struct tobj o[] = {
                {0, 5, 50, 0, T_NODE},  {0, 5, 50, 0, T_DICT},  {0, 5, 40, 0, T_NODE},
                {0, 5, 30, 0, T_NODE2}, {0, 5, 30, 0, T_DICT},  {0, 5, 500, 0, T_LIST},
                {0, 5, 50, 0, T_LIST},  {0, 5, 50, 0, T_LIST},
        };
        const uint32_t e[] = {0, 1, 1, 0, 2, 3, 3, 4, 4, 2, 5, 5, 6, 7, 7, 6};
        struct heap *h = BUILD(o, e);
        char buf[64];
        int n;

        ok(heap_analyse(h) == 0, "sort: analysed");
        ok(h->cycles.n == 4, "sort: four cycles");
        ok(h->cycles.members[h->cycles.start[0]] == 5 && h->cycles.bytes[0] == 500,
           "biggest bytes first");
        ok(heap_cycle_size(h, 1) == 3 && h->cycles.members[h->cycles.start[1]] == 2,
           "equal bytes: more members first");
        ok(h->cycles.members[h->cycles.start[2]] == 0 && h->cycles.members[h->cycles.start[3]] == 6,
           "equal bytes and size: lower first member first");
        ok(h->cycles.bytes[1] == 100 && h->cycles.bytes[2] == 100 && h->cycles.bytes[3] == 100,
           "bytes per cycle");
        ok(h->cycles.members[1] == 2 && h->cycles.members[2] == 3 && h->cycles.members[3] == 4,
           "members ascending within a cycle");

        n = heap_cycle_signature(h, 1, buf, sizeof(buf));
        ok(n == (int)strlen("__main__.Node+dict") && strcmp(buf, "__main__.Node+dict") == 0,
           "signature: distinct names sorted, redefined class once (%s)", buf);
        n = heap_cycle_signature(h, 0, buf, sizeof(buf));
        ok(n == 4 && strcmp(buf, "list") == 0, "signature of a self-loop");
        n = heap_cycle_signature(h, 1, buf, 6);
        ok(n == 18 && strcmp(buf, "__mai") == 0, "signature truncates like snprintf");
        ok(heap_cycle_signature(h, 4, buf, sizeof(buf)) == -EINVAL, "bad cycle index");
        hfree(h);
}

static void test_deep(void)
{
        const uint32_t N = 1000000;
        struct tobj *o = calloc(N, sizeof(*o));
        uint32_t *e = malloc(2ULL * N * sizeof(*e));
        struct heap *h;
        double t0;
        int r;

        for (uint32_t i = 0; i < N; i++) {
                o[i] = (struct tobj){2, 1, 16, 0, T_NODE};
                e[2 * i] = i;
                e[2 * i + 1] = i + 1;
        }
        /* chain 0 -> 1 -> ... -> N-1; 0 has one external ref */
        h = build(o, N, e, N - 1);
        t0 = now_ms();
        r = heap_analyse(h);
        ok(r == 0 && h->cycles.n == 0 && h->ngarbage == 0,
           "1M chain from a root: no cycles, all alive");
        printf("# analyse 1M chain: %.1f ms\n", now_ms() - t0);
        hfree(h);

        o[0].refcnt = 0;
        h = build(o, N, e, N - 1);
        ok(heap_analyse(h) == 0 && h->ngarbage == N, "1M chain without a root: all garbage");
        hfree(h);

        /* one ring of N */
        o[0].refcnt = 1;
        e[2 * (N - 1)] = N - 1;
        e[2 * (N - 1) + 1] = 0;
        h = build(o, N, e, N);
        t0 = now_ms();
        r = heap_analyse(h);
        ok(r == 0 && h->cycles.n == 1 && heap_cycle_size(h, 0) == N &&
                   h->cycles.bytes[0] == 16ULL * N && h->cycles.garbage[0] && h->ngarbage == N,
           "1M-member ring: one garbage cycle");
        printf("# analyse 1M ring: %.1f ms (meta.analyse_ms %.1f)\n", now_ms() - t0,
               h->meta.analyse_ms);
        hfree(h);
        free(o);
        free(e);
}

/* ---- reference implementations for the random graph --------------------- */

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
        return test_rnd(&rng);
}

/* Kosaraju with explicit stacks; comp[] numbered from 0. */
static uint32_t kosaraju(const struct heap *h, uint32_t *comp)
{
        const uint32_t n = h->nobjs;
        uint32_t *order = malloc(n * sizeof(*order)), no = 0;
        uint32_t *stk = malloc(n * sizeof(*stk));
        uint64_t *pos = malloc(n * sizeof(*pos));
        uint8_t *seen = calloc(n, 1);
        uint64_t *rstart = calloc(n + 1, sizeof(*rstart));
        uint32_t *rsrc = malloc((h->nedges + 1) * sizeof(*rsrc));
        uint64_t *fill = malloc((n + 1) * sizeof(*fill));
        uint32_t nc = 0;

        for (uint32_t s = 0; s < n; s++) {
                uint32_t sp = 0;

                if (seen[s])
                        continue;
                seen[s] = 1;
                stk[sp] = s;
                pos[sp++] = h->edge_start[s];
                while (sp) {
                        uint32_t v = stk[sp - 1];

                        if (pos[sp - 1] < h->edge_start[v + 1]) {
                                uint32_t w = h->edge_dst[pos[sp - 1]++];

                                if (!seen[w]) {
                                        seen[w] = 1;
                                        stk[sp] = w;
                                        pos[sp++] = h->edge_start[w];
                                }
                        } else {
                                order[no++] = v;
                                sp--;
                        }
                }
        }
        for (uint64_t e = 0; e < h->nedges; e++)
                rstart[h->edge_dst[e] + 1]++;
        for (uint32_t v = 0; v < n; v++)
                rstart[v + 1] += rstart[v];
        memcpy(fill, rstart, (n + 1) * sizeof(*fill));
        for (uint32_t v = 0; v < n; v++)
                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++)
                        rsrc[fill[h->edge_dst[e]]++] = v;
        for (uint32_t v = 0; v < n; v++)
                comp[v] = UINT32_MAX;
        for (uint32_t i = n; i-- > 0;) {
                uint32_t s = order[i], sp = 0;

                if (comp[s] != UINT32_MAX)
                        continue;
                comp[s] = nc;
                stk[sp++] = s;
                while (sp) {
                        uint32_t v = stk[--sp];

                        for (uint64_t e = rstart[v]; e < rstart[v + 1]; e++) {
                                uint32_t w = rsrc[e];

                                if (comp[w] == UINT32_MAX) {
                                        comp[w] = nc;
                                        stk[sp++] = w;
                                }
                        }
                }
                nc++;
        }
        free(order);
        free(stk);
        free(pos);
        free(seen);
        free(rstart);
        free(rsrc);
        free(fill);
        return nc;
}

/* The garbage rule, restated as plainly as possible: BFS with a queue. */
static uint8_t *ref_garbage(const struct heap *h)
{
        const uint32_t n = h->nobjs;
        int64_t *refs = malloc(n * sizeof(*refs));
        uint8_t *reach = calloc(n, 1), *in = calloc(n, 1);
        uint32_t *q = malloc(n * sizeof(*q)), qh = 0, qt = 0;

        for (uint32_t v = 0; v < n; v++) {
                in[v] = h->objs[v].gen <= HEAP_GEN_2;
                refs[v] = heap_refcnt(&h->objs[v]);
        }
        for (uint32_t v = 0; v < n; v++)
                if (in[v])
                        for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++)
                                if (in[h->edge_dst[e]])
                                        refs[h->edge_dst[e]]--;
        for (uint32_t v = 0; v < n; v++)
                if (in[v] && (refs[v] > 0 || (h->objs[v].flags & HOBJ_IMMORTAL))) {
                        reach[v] = 1;
                        q[qt++] = v;
                }
        while (qh < qt) {
                uint32_t v = q[qh++];

                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++) {
                        uint32_t w = h->edge_dst[e];

                        if (in[w] && !reach[w]) {
                                reach[w] = 1;
                                q[qt++] = w;
                        }
                }
        }
        for (uint32_t v = 0; v < n; v++)
                reach[v] = in[v] && !reach[v];
        free(refs);
        free(in);
        free(q);
        return reach;
}

static int cmp_edge(const void *a, const void *b)
{
        const uint32_t *x = a, *y = b;

        return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : 0;
}

static bool same_cycles(const struct heap_cycles *a, const struct heap_cycles *b)
{
        return a->n == b->n &&
               memcmp(a->start, b->start, ((size_t)a->n + 1) * sizeof(*a->start)) == 0 &&
               memcmp(a->members, b->members, (size_t)a->start[a->n] * sizeof(*a->members)) == 0 &&
               memcmp(a->bytes, b->bytes, (size_t)a->n * sizeof(*a->bytes)) == 0 &&
               memcmp(a->garbage, b->garbage, (size_t)a->n * sizeof(*a->garbage)) == 0 &&
               memcmp(a->retained, b->retained, (size_t)a->n * sizeof(*a->retained)) == 0;
}

/* The same graph built and analysed again with a budget of one byte: every
 * big array of 64 KiB or more (here the objects, edges, edge offsets,
 * referrers, dominator arrays and their scratch) is a mapped spill file,
 * and every result is the same, byte for byte (heap/bigmem.c). */
static void same_when_spilled(const struct heap *h, const struct tobj *o, uint32_t n,
                              const uint32_t *e, uint64_t ne)
{
        char dir[] = "/tmp/pyleak-spill-XXXXXX";
        struct heap_big_stats st;
        struct heap *s;
        bool same;

        if (!mkdtemp(dir)) {
                ok(false, "random, spilled: a spill directory (%s)", strerror(errno));
                return;
        }
        heap_big_budget(1, dir);
        s = build(o, n, e, ne);
        same = s && heap_analyse(s) == 0;
        heap_big_stats(&st);
        ok(same && st.spilled_peak >= (uint64_t)n * sizeof(*s->objs) && !st.why[0] &&
                   st.spilled > 0,
           "random, spilled: built and analysed in spill files (peak %llu of %llu bytes; %s)",
           (unsigned long long)st.spilled_peak, (unsigned long long)st.peak,
           st.why[0] ? st.why : "no failure");
        same = same && s->nobjs == h->nobjs && s->nedges == h->nedges &&
               memcmp(s->objs, h->objs, (size_t)h->nobjs * sizeof(*h->objs)) == 0 &&
               memcmp(s->edge_start, h->edge_start, ((size_t)h->nobjs + 1) * sizeof(*h->edge_start)) == 0 &&
               memcmp(s->edge_dst, h->edge_dst, h->nedges * sizeof(*h->edge_dst)) == 0 &&
               same_cycles(&s->cycles, &h->cycles) &&
               same_cycles(&s->cycles_local, &h->cycles_local) &&
               s->ngarbage == h->ngarbage &&
               memcmp(s->garbage, h->garbage, (size_t)h->ngarbage * sizeof(*h->garbage)) == 0 &&
               memcmp(s->idom, h->idom, (size_t)h->nobjs * sizeof(*h->idom)) == 0 &&
               memcmp(s->retained, h->retained, (size_t)h->nobjs * sizeof(*h->retained)) == 0 &&
               memcmp(s->pred_start, h->pred_start, ((size_t)h->nobjs + 1) * sizeof(*h->pred_start)) == 0 &&
               memcmp(s->pred_src, h->pred_src, h->nedges * sizeof(*h->pred_src)) == 0 &&
               s->nroots == h->nroots &&
               memcmp(s->roots, h->roots, (size_t)h->nroots * sizeof(*h->roots)) == 0;
        ok(same, "random, spilled: objects, edges, cycles, garbage, dominators, referrers and "
           "roots identical to the run in memory");
        /* the suspects' scratch is spilled too, and what they hand back
         * (holder) must be freed as the caller frees it */
        {
                struct heap_suspects a = {0}, b = {0};
                bool sus = heap_suspects_compute(h, 10, &a) == 0 &&
                           heap_suspects_compute(s, 10, &b) == 0 && a.n == b.n;

                for (uint32_t i = 0; sus && i < a.n; i++)
                        sus = a.v[i].owner == b.v[i].owner && a.v[i].retained == b.v[i].retained &&
                              a.v[i].objects == b.v[i].objects && a.v[i].items == b.v[i].items &&
                              strcmp(a.v[i].name.path, b.v[i].name.path) == 0;
                sus = sus && a.holder && b.holder && memcmp(a.holder, b.holder, (size_t)h->nobjs * sizeof(*a.holder)) == 0;
                ok(sus, "random, spilled: the same leak suspects (%u) and holders", a.n);
                heap_suspects_release(&a);
                heap_suspects_release(&b);
        }
        hfree(s);
        heap_big_stats(&st);
        ok(st.spilled == 0, "random, spilled: every spill file unmapped when the heap is freed "
           "(%llu bytes left)", (unsigned long long)st.spilled);
        heap_big_budget(0, NULL);
        rmdir(dir);
}

static void test_random(void)
{
        const uint32_t N = 200000, NT = 190000;
        struct tobj *o = calloc(N, sizeof(*o));
        uint32_t *e = malloc(2ULL * 4 * N * sizeof(*e)), *indeg = calloc(N, sizeof(*indeg));
        uint32_t *kcomp = malloc(N * sizeof(*kcomp)), *ksize, nk, nkcyc = 0;
        uint64_t ne = 0;
        uint8_t *ref;
        struct heap *h;
        int bad = 0;

        for (uint32_t v = 0; v < NT; v++) {
                uint32_t deg = rnd() % 4;

                for (uint32_t k = 0; k < deg; k++) {
                        uint32_t w;

                        /* mostly local edges: many small and medium SCCs
                         * rather than one giant one */
                        if (rnd() % 10 < 8)
                                w = (uint32_t)((v + N - 6 + rnd() % 13) % NT);
                        else
                                w = (uint32_t)(rnd() % N);
                        e[2 * ne] = v;
                        e[2 * ne + 1] = w;
                        ne++;
                        indeg[w]++;
                }
        }
        qsort(e, ne, 2 * sizeof(*e), cmp_edge);
        for (uint32_t v = 0; v < N; v++) {
                uint64_t r = rnd() % 16;
                int gen = v < NT ? (r < 1 ? HEAP_GEN_PERMANENT : (int)(r % 3)) : HEAP_GEN_UNTRACKED;
                /* refcnt: mostly exactly explained (to create garbage),
                 * sometimes one extra, rarely one short */
                int64_t rc = indeg[v] + (r < 3 ? 1 : 0) - (r == 15 && indeg[v] ? 1 : 0);

                o[v] = (struct tobj){gen, rc, 1 + rnd() % 100, (r == 4) ? HOBJ_IMMORTAL : 0,
                                     (uint32_t)(v % 3)};
        }
        h = build(o, N, e, ne);
        ok(h != NULL && heap_analyse(h) == 0, "random: %u nodes, %llu edges analysed", N,
           (unsigned long long)ne);

        nk = kosaraju(h, kcomp);
        ksize = calloc(nk, sizeof(*ksize));
        for (uint32_t v = 0; v < N; v++)
                ksize[kcomp[v]]++;
        for (uint32_t v = 0; v < N; v++) {
                int self = 0;

                for (uint64_t x = h->edge_start[v]; x < h->edge_start[v + 1]; x++)
                        self |= h->edge_dst[x] == v;
                if (ksize[kcomp[v]] > 1 || self) {
                        if (ksize[kcomp[v]] == 1)
                                nkcyc++;
                        if (!(h->objs[v].flags & HOBJ_IN_CYCLE))
                                bad++;
                } else if (h->objs[v].flags & HOBJ_IN_CYCLE) {
                        bad++;
                }
        }
        for (uint32_t k = 0; k < nk; k++)
                if (ksize[k] > 1)
                        nkcyc++;
        ok(bad == 0, "random: IN_CYCLE matches Kosaraju");
        ok(h->cycles.n == nkcyc, "random: %u cycles (Kosaraju %u)", h->cycles.n, nkcyc);
        bad = 0;
        for (uint32_t c = 0; c < h->cycles.n; c++) {
                uint32_t first = h->cycles.members[h->cycles.start[c]];
                uint64_t bytes = 0;

                if (heap_cycle_size(h, c) != ksize[kcomp[first]])
                        bad++;
                for (uint32_t m = h->cycles.start[c]; m < h->cycles.start[c + 1]; m++) {
                        if (kcomp[h->cycles.members[m]] != kcomp[first])
                                bad++;
                        if (m > h->cycles.start[c] &&
                            h->cycles.members[m] <= h->cycles.members[m - 1])
                                bad++;
                        bytes += h->objs[h->cycles.members[m]].size;
                }
                if (bytes != h->cycles.bytes[c])
                        bad++;
                if (c && (h->cycles.bytes[c] > h->cycles.bytes[c - 1]))
                        bad++;
        }
        ok(bad == 0, "random: identical components, bytes, order");
        printf("# random: largest cycle %u members, %u Kosaraju components\n",
               h->cycles.n ? heap_cycle_size(h, 0) : 0, nk);

        ref = ref_garbage(h);
        bad = 0;
        for (uint32_t v = 0; v < N; v++)
                if (ref[v] != garbage(h, v))
                        bad++;
        ok(bad == 0 && h->ngarbage > 0 && h->ngarbage < NT,
           "random: garbage matches the reference (%u garbage)", h->ngarbage);
        ok(h->meta.inconsistencies > 0, "random: inconsistencies counted (%llu)",
           (unsigned long long)h->meta.inconsistencies);
        bad = 0;
        for (uint32_t c = 0; c < h->cycles.n; c++) {
                int all = 1;

                for (uint32_t m = h->cycles.start[c]; m < h->cycles.start[c + 1]; m++)
                        all &= garbage(h, h->cycles.members[m]);
                bad += all != h->cycles.garbage[c];
        }
        ok(bad == 0, "random: cycle garbage flag = all members garbage");
        same_when_spilled(h, o, N, e, ne);
        free(ref);
        free(ksize);
        free(kcomp);
        free(indeg);
        free(o);
        free(e);
        hfree(h);
}

/* The second grouping: a class, its instances and the module globals make
 * one component over all edges; without edges into types and modules and
 * without function globals, each instance's own cycle shows. */
static void test_local_grouping(void)
{
        enum { M, MD, C, CD, F, I1, D1, I2, D2, I3, D3, NOBJ };
        static const char *const lbl[] = {"__dict__", "['Foo']", "['m']", "['a']", "['b']",
                                          "__globals__", "__class__", "['self']"};
        static const uint32_t edges[][3] = {
                /* src, dst, label index */
                {M, MD, 0},  {MD, C, 1},  {MD, I1, 3}, {MD, I2, 4}, {C, CD, 0},
                {CD, F, 2},  {F, MD, 5},  {I1, C, 6},  {I1, D1, 0}, {D1, I1, 7},
                {I2, C, 6},  {I2, D2, 0}, {D2, I2, 7}, {I3, C, 6},  {I3, D3, 0},
                {D3, I3, 7},
        };
        static const int64_t refcnt[NOBJ] = {2, 2, 4, 1, 1, 2, 1, 2, 1, 1, 1};
        struct heap *h = heap_new();
        uint32_t tmod, tdict, ttype, tfunc, tfoo, l[8], c;
        char buf[64];
        int r = 0, bad = 0;

        r |= heap_intern_type(h, 0x10, "builtins", "module", false, &tmod);
        r |= heap_intern_type(h, 0x20, "builtins", "dict", false, &tdict);
        r |= heap_intern_type(h, 0x30, "builtins", "type", false, &ttype);
        r |= heap_intern_type(h, 0x40, "builtins", "function", false, &tfunc);
        r |= heap_intern_type(h, 0x5000, "__main__", "Foo", false, &tfoo);
        for (uint32_t i = 0; i < 8; i++)
                r |= heap_intern_label(h, lbl[i], &l[i]);
        for (uint32_t i = 0; i < NOBJ; i++) {
                uint32_t t = i == M ? tmod : i == C ? ttype : i == F ? tfunc
                           : (i == I1 || i == I2 || i == I3) ? tfoo : tdict;

                r |= heap_add_object(h, i == C ? 0x5000 : 0x1000 + 16 * i, t, HEAP_GEN_2,
                                     refcnt[i], 10 * (i + 1), i == C ? HOBJ_IS_TYPE : 0, NULL);
        }
        heap_mark_tracked_done(h);
        for (size_t k = 0; k < sizeof(edges) / sizeof(*edges); k++)
                r |= heap_add_edge(h, edges[k][0], edges[k][1], l[edges[k][2]]);
        r |= heap_finish(h);
        ok(r == 0 && heap_analyse(h) == 0, "local: class + instances + globals analysed");
        ok(heap_object_cycle(h, MD, &c) == 0 && heap_cycle_size(h, c) == 8,
           "local: over all edges one giant component of 8");
        ok(h->cycles_local.n == 3, "local: three per-instance cycles (%u)", h->cycles_local.n);
        for (uint32_t i = 0; i < h->cycles_local.n; i++) {
                const uint32_t *m = h->cycles_local.members + h->cycles_local.start[i];

                bad += h->cycles_local.start[i + 1] - h->cycles_local.start[i] != 2;
                bad += !((m[0] == I1 && m[1] == D1) || (m[0] == I2 && m[1] == D2) ||
                         (m[0] == I3 && m[1] == D3));
                heap_cycles_signature(h, &h->cycles_local, i, buf, sizeof(buf));
                bad += strcmp(buf, "__main__.Foo+dict") != 0;
        }
        ok(bad == 0, "local: each instance with its __dict__, signature __main__.Foo+dict");
        ok(heap_cycles_find(h, &h->cycles_local, I3, &c) == 0 && h->cycles_local.garbage[c] &&
                   h->cycles_local.retained[c] == 100 + 110,
           "local: the unreferenced instance's cycle is garbage, retained %llu",
           (unsigned long long)h->cycles_local.retained[c]);
        ok(heap_cycles_find(h, &h->cycles_local, I1, &c) == 0 && !h->cycles_local.garbage[c] &&
                   h->cycles_local.retained[c] == 60 + 70,
           "local: a live instance's cycle");
        ok(heap_cycles_find(h, &h->cycles_local, MD, &c) == -ENOENT &&
                   (h->objs[I3].flags & HOBJ_IN_CYCLE) && !(h->objs[M].flags & HOBJ_IN_CYCLE),
           "local: globals dict in no local cycle; IN_CYCLE follows the full grouping");
        hfree(h);
}

/* The local grouping on a random graph: it must equal the full grouping of
 * the same graph rebuilt without the edges the local grouping ignores. */
static struct heap *build_local(uint32_t n, const uint32_t *e, uint64_t ne, bool thin)
{
        static const char *const lbl[] = {"__globals__", "f_builtins", "['x']", ".y"};
        struct heap *h = heap_new();
        uint32_t tdict, tmod, ttype, l[4];
        int r = 0;

        r |= heap_intern_type(h, 0x10, "builtins", "dict", false, &tdict);
        r |= heap_intern_type(h, 0x20, "builtins", "module", false, &tmod);
        r |= heap_intern_type(h, 0x30, "builtins", "type", false, &ttype);
        for (uint32_t i = 0; i < 4; i++)
                r |= heap_intern_label(h, lbl[i], &l[i]);
        /* every 37th object a module, every 41st a type object */
        for (uint32_t i = 0; i < n; i++)
                r |= heap_add_object(h, 0x1000 + 16ULL * i,
                                     i % 37 == 0 ? tmod : i % 41 == 0 ? ttype : tdict,
                                     HEAP_GEN_2, 1, 1 + i % 7,
                                     i % 41 == 0 && i % 37 ? HOBJ_IS_TYPE : 0, NULL);
        heap_mark_tracked_done(h);
        for (uint64_t k = 0; k < ne; k++) {
                uint32_t src = e[3 * k], dst = e[3 * k + 1], lab = e[3 * k + 2];

                if (thin && (lab < 2 || dst % 37 == 0 || (dst % 41 == 0 && dst % 37)))
                        continue;
                r |= heap_add_edge(h, src, dst, lab < 4 ? l[lab] : heap_label_index(lab));
        }
        r |= heap_finish(h);
        if (r) {
                heap_free(h);
                return NULL;
        }
        return h;
}

static void test_local_random(void)
{
        const uint32_t N = 100000;
        uint32_t *e = malloc(3ULL * 4 * N * sizeof(*e));
        uint64_t ne = 0;
        struct heap *a, *b;
        int bad = 0;

        for (uint32_t v = 0; v < N; v++) {
                uint32_t deg = rnd() % 5;

                for (uint32_t k = 0; k < deg; k++) {
                        uint32_t w = rnd() % 10 < 8 ? (uint32_t)((v + N - 6 + rnd() % 13) % N)
                                                    : (uint32_t)(rnd() % N);

                        e[3 * ne] = v;
                        e[3 * ne + 1] = w;
                        e[3 * ne + 2] = (uint32_t)(rnd() % 12);
                        ne++;
                }
        }
        a = build_local(N, e, ne, false);
        b = build_local(N, e, ne, true);
        ok(a && b && heap_analyse(a) == 0 && heap_analyse(b) == 0,
           "local random: %u nodes, %llu edges analysed", N, (unsigned long long)ne);
        if (a && b && a->analysed && b->analysed) {
                bad += a->cycles_local.n != b->cycles.n;
                for (uint32_t c = 0; !bad && c < b->cycles.n; c++) {
                        bad += a->cycles_local.start[c + 1] != b->cycles.start[c + 1];
                        bad += a->cycles_local.bytes[c] != b->cycles.bytes[c];
                }
                for (uint32_t m = 0; !bad && m < b->cycles.start[b->cycles.n]; m++)
                        bad += a->cycles_local.members[m] != b->cycles.members[m];
        }
        ok(bad == 0 && a && b && a->cycles_local.n > 100 && a->cycles_local.n < a->nobjs,
           "local random: %u local cycles = the cycles without the ignored edges (%u over "
           "all edges)", a ? a->cycles_local.n : 0, a ? a->cycles.n : 0);
        hfree(a);
        hfree(b);
        free(e);
}

static void test_misuse(void)
{
        struct heap *h = heap_new();

        ok(heap_analyse(h) == -EINVAL, "analyse before finish rejected");
        ok(heap_analyse(NULL) == -EINVAL, "analyse NULL rejected");
        heap_finish(h);
        ok(heap_analyse(h) == 0 && h->cycles.n == 0 && h->ngarbage == 0, "empty heap analysed");
        hfree(h);
}

int main(void)
{
        test_self_loop();
        test_two_cycle();
        test_hanging_off_root();
        test_permanent();
        test_immortal_and_untracked();
        test_inconsistent();
        test_sort_and_signature();
        test_deep();
        test_random();
        test_local_grouping();
        test_local_random();
        test_misuse();
        return tap_done();
}
