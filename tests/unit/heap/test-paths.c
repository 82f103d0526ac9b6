/* test-paths: shortest chains from a root (heap_path_from_root) on a
 * hand-built graph (labels, root kind, explicit roots preferred), random
 * graphs checked against a plain multi-source BFS, a million-long chain,
 * and shortest cycles (heap_shortest_cycle). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture-graph.h"
#include "paths.h"
#include "tap.h"
#include "testutil.h"

static int label_is(const struct heap *h, uint32_t label, const char *want)
{
        char buf[64];

        return strcmp(heap_label_text(h, label, buf, sizeof(buf)), want) == 0;
}

static void test_hand(void)
{
        /* 0 module (explicit root) -> 1 dict ('__dict__') -> 2 list ("['items']")
         * -> 3 target ([k]); 4 external root -> 5 -> 6 -> 3 (as long);
         * 7 external root -> 8 -> 9 -> 10 -> 3 (longer); 11 <-> 12 garbage */
        const struct fx_obj o[] = {
                {2, 1, 0, 0, FX_MODULE, 0}, {2, 1, 0, 0, FX_DICT, 0}, {2, 1, 0, 0, FX_LIST, 0},
                {2, 3, 0, 0, FX_NODE, 0},   {2, 1, 0, 0, FX_NODE, 0}, {2, 1, 0, 0, FX_NODE, 0},
                {2, 1, 0, 0, FX_NODE, 0},   {2, 1, 0, 0, FX_NODE, 0}, {2, 1, 0, 0, FX_NODE, 0},
                {2, 1, 0, 0, FX_NODE, 0},   {2, 1, 0, 0, FX_NODE, 0}, {0, 1, 0, 0, FX_NODE, 0},
                {0, 1, 0, 0, FX_NODE, 0},
        };
        const struct fx_edge e[] = {
                {0, 1, "__dict__"}, {1, 2, "['items']"}, {2, 3, NULL},  {4, 5, ".a"},
                {5, 6, ".b"},       {6, 3, ".c"},        {7, 8, ".x"},  {8, 9, ".x"},
                {9, 10, ".x"},      {10, 3, ".x"},       {11, 12, ".n"}, {12, 11, ".n"},
        };
        struct heap *h = FX_BUILD(o, e);
        struct heap_path p = {0};
        uint32_t root = 99;

        ok(heap_path_from_root(h, 3, &p, &root) == -EINVAL, "no referrer index: -EINVAL");
        fx_add_root(h, 0, HEAP_ROOT_MODULE);
        ok(heap_analyse(h) == 0, "hand: analysed");
        /* the module is also held from outside: one explicit entry only */
        ok(h->roots[0].obj == 0 && h->roots[0].kind == HEAP_ROOT_MODULE, "hand: module root first");
        ok(heap_path_from_root(h, 3, &p, &root) == 0, "hand: path found");
        ok(p.n == 3 && p.objs[0] == 0 && p.objs[1] == 1 && p.objs[2] == 2 && p.objs[3] == 3,
           "hand: shortest, and from the explicit root at equal distance");
        ok(root == 0 && h->roots[root].kind == HEAP_ROOT_MODULE, "hand: root entry reported");
        ok(label_is(h, p.labels[0], "__dict__") && label_is(h, p.labels[1], "['items']") &&
                   label_is(h, p.labels[2], "[2]"),
           "hand: labels along the path");
        heap_path_release(&p);

        ok(heap_path_from_root(h, 6, &p, &root) == 0 && p.n == 2 && p.objs[0] == 4 &&
                   h->roots[root].obj == 4 && h->roots[root].kind == HEAP_ROOT_EXTERNAL &&
                   label_is(h, p.labels[0], ".a") && label_is(h, p.labels[1], ".b"),
           "hand: path from an external root");
        heap_path_release(&p);
        ok(heap_path_from_root(h, 4, &p, NULL) == 0 && p.n == 0 && p.objs[0] == 4,
           "hand: a root's own path has no steps");
        heap_path_release(&p);
        root = 77;
        ok(heap_path_from_root(h, 11, &p, &root) == -ENOENT && root == 77 && p.objs == NULL,
           "hand: garbage has no path, outputs untouched");
        ok(heap_path_from_root(h, 13, &p, &root) == -EINVAL, "hand: index out of range");
        fx_free(h);
}

static uint64_t rng = 0x0123456789abcdefULL;

static uint64_t rnd(void)
{
        return test_rnd(&rng);
}

/* distance from the nearest root and from root entry i alone */
static void bfs(const struct heap *h, const uint32_t *src, uint32_t nsrc, uint32_t *dist,
                uint32_t *q)
{
        uint32_t qh = 0, qt = 0;

        for (uint32_t v = 0; v < h->nobjs; v++)
                dist[v] = UINT32_MAX;
        for (uint32_t i = 0; i < nsrc; i++)
                if (dist[src[i]] == UINT32_MAX) {
                        dist[src[i]] = 0;
                        q[qt++] = src[i];
                }
        while (qh < qt) {
                uint32_t v = q[qh++];

                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++)
                        if (dist[h->edge_dst[e]] == UINT32_MAX) {
                                dist[h->edge_dst[e]] = dist[v] + 1;
                                q[qt++] = h->edge_dst[e];
                        }
        }
}

static int check_random(uint32_t n, uint32_t deg, int *ret_paths)
{
        struct fx_obj *o = calloc(n, sizeof(*o));
        struct fx_edge *e = malloc((size_t)n * (2 * deg + 1) * sizeof(*e));
        uint32_t *indeg = calloc(n, sizeof(*indeg)), ne = 0, *src, *dist, *d1, *q;
        struct heap *h;
        int bad = 0;

        for (uint32_t v = 0; v < n; v++) {
                uint32_t k = rnd() % (2 * deg + 1);

                while (k--) {
                        uint32_t w = (uint32_t)(rnd() % n);

                        e[ne++] = (struct fx_edge){v, w, rnd() % 2 ? ".f" : NULL};
                        indeg[w]++;
                }
        }
        for (uint32_t v = 0; v < n; v++)
                o[v] = (struct fx_obj){(int)(v % 3), indeg[v] + (rnd() % 40 == 0), 8, 0, FX_NODE,
                                       0};
        h = fx_build(o, n, e, ne);
        for (uint32_t k = 0; k < 3; k++)
                fx_add_root(h, (uint32_t)(rnd() % n), HEAP_ROOT_THREAD);
        if (heap_analyse(h) < 0) {
                bad = 1000;
                goto out;
        }
        src = malloc((h->nroots + 1) * sizeof(*src));
        dist = malloc(n * sizeof(*dist));
        d1 = malloc(n * sizeof(*d1));
        q = malloc(n * sizeof(*q));
        for (uint32_t i = 0; i < h->nroots; i++)
                src[i] = h->roots[i].obj;
        bfs(h, src, h->nroots, dist, q);
        for (uint32_t t = 0; t < n; t++) {
                struct heap_path p = {0};
                uint32_t root = UINT32_MAX;
                int r = heap_path_from_root(h, t, &p, &root);

                if (dist[t] == UINT32_MAX) {
                        bad += r != -ENOENT;
                        continue;
                }
                if (r < 0 || p.n != dist[t] || p.objs[p.n] != t || root >= h->nroots ||
                    h->roots[root].obj != p.objs[0]) {
                        bad++;
                        heap_path_release(&p);
                        continue;
                }
                (*ret_paths)++;
                for (uint32_t k = 0; k < p.n; k++) {
                        int found = 0;

                        for (uint64_t x = h->edge_start[p.objs[k]];
                             x < h->edge_start[p.objs[k] + 1]; x++)
                                found |= h->edge_dst[x] == p.objs[k + 1] &&
                                         heap_edge_label(h, p.objs[k], x) == p.labels[k];
                        bad += !found;
                }
                /* no earlier root entry is as close */
                for (uint32_t i = 0; i < root; i++) {
                        bfs(h, &src[i], 1, d1, q);
                        bad += d1[t] <= p.n;
                }
                heap_path_release(&p);
        }
        free(src);
        free(dist);
        free(d1);
        free(q);
out:
        fx_free(h);
        free(o);
        free(e);
        free(indeg);
        return bad;
}

static void test_random(void)
{
        int bad = 0, paths = 0;

        for (int k = 0; k < 40; k++)
                bad += check_random(150 + (uint32_t)(rnd() % 150), 1 + (uint32_t)(k % 3), &paths);
        ok(bad == 0, "random: %d paths shortest, real edges, earliest root entry (%d bad)",
           paths, bad);
        ok(paths > 1000, "random: enough paths checked");
}

static void test_deep(void)
{
        const uint32_t N = 1000000;
        struct fx_obj *o = calloc(N, sizeof(*o));
        struct fx_edge *e = malloc(N * sizeof(*e));
        struct heap *h;
        struct heap_path p = {0};
        uint32_t root;
        int bad = 0;

        for (uint32_t i = 0; i < N; i++) {
                o[i] = (struct fx_obj){2, 1, 8, 0, FX_NODE, 0};
                if (i + 1 < N)
                        e[i] = (struct fx_edge){i, i + 1, NULL};
        }
        o[0].refcnt = 2;
        h = fx_build(o, N, e, N - 1);
        ok(h && heap_analyse(h) == 0, "1M chain analysed");
        ok(heap_path_from_root(h, N - 1, &p, &root) == 0 && p.n == N - 1 && p.objs[0] == 0 &&
                   h->roots[root].obj == 0,
           "1M chain: path of 999999 steps");
        for (uint32_t k = 0; k <= p.n; k++)
                bad += p.objs[k] != k;
        ok(bad == 0, "1M chain: every link in order");
        heap_path_release(&p);
        fx_free(h);
        free(o);
        free(e);
}

static void test_shortest_cycle(void)
{
        /* 0 -> 1 -> 2 -> 0 and 0 -> 2 (shortcut): shortest cycle through 0
         * is 0 -> 2 -> 0 */
        const struct fx_obj o[] = {
                {0, 2, 0, 0, FX_NODE, 0}, {0, 1, 0, 0, FX_NODE, 0}, {0, 2, 0, 0, FX_NODE, 0},
        };
        const struct fx_edge e[] = {{0, 1, ".a"}, {1, 2, ".b"}, {2, 0, ".c"}, {0, 2, ".d"}};
        struct heap *h = FX_BUILD(o, e);
        struct heap_path p = {0};

        ok(heap_analyse(h) == 0 && h->cycles.n == 1, "shortest cycle: analysed");
        ok(heap_shortest_cycle(h, 0, 0, &p) == 0 && p.n == 2 && p.objs[1] == 2 &&
                   label_is(h, p.labels[0], ".d") && label_is(h, p.labels[1], ".c"),
           "shortest cycle takes the shortcut");
        heap_path_release(&p);
        fx_free(h);
}

int main(void)
{
        test_hand();
        test_random();
        test_deep();
        test_shortest_cycle();
        return tap_done();
}
