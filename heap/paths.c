#include "paths.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "heap-build.h"

/* A tiny open-addressing map from object index to BFS parent, sized for one
 * component: allocating an nobjs-sized array per call would make printing
 * many small cycles of a huge heap quadratic. */
struct parent_map {
        uint32_t mask;
        uint32_t *key;      /* object index + 1; 0 = empty */
        uint32_t *parent;   /* parent object index */
        uint32_t *label;    /* label of parent -> key */
        uint8_t *member;    /* 1 if key is a member of the component */
        uint8_t *seen;
};

static uint32_t mix(uint32_t x)
{
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return x;
}

static int pm_init(struct parent_map *pm, uint32_t n)
{
        uint32_t cap = 16;

        while (cap < n * 2 + 2)
                cap <<= 1;
        pm->mask = cap - 1;
        pm->key = calloc(cap, sizeof(*pm->key));
        pm->parent = calloc(cap, sizeof(*pm->parent));
        pm->label = calloc(cap, sizeof(*pm->label));
        pm->member = calloc(cap, 1);
        pm->seen = calloc(cap, 1);
        if (!pm->key || !pm->parent || !pm->label || !pm->member || !pm->seen)
                return -ENOMEM;
        return 0;
}

static void pm_release(struct parent_map *pm)
{
        free(pm->key);
        free(pm->parent);
        free(pm->label);
        free(pm->member);
        free(pm->seen);
}

/* Slot of object i, inserting it when insert is set; UINT32_MAX if absent. */
static uint32_t pm_slot(struct parent_map *pm, uint32_t i, int insert)
{
        uint32_t s = mix(i) & pm->mask;

        for (uint32_t probes = 0; probes <= pm->mask; probes++) {
                if (pm->key[s] == i + 1)
                        return s;
                if (pm->key[s] == 0) {
                        if (!insert)
                                return UINT32_MAX;
                        pm->key[s] = i + 1;
                        return s;
                }
                s = (s + 1) & pm->mask;
        }
        return UINT32_MAX;
}

int heap_shortest_cycle(const struct heap *h, uint32_t cycle, uint32_t start,
                        struct heap_path *ret)
{
        return heap_cycles_shortest(h, &h->cycles, cycle, start, ret);
}

int heap_cycles_shortest(const struct heap *h, const struct heap_cycles *c,
                         uint32_t cycle, uint32_t start, struct heap_path *ret)
{
        struct parent_map pm = {0};
        uint32_t *queue = NULL, qhead = 0, qtail = 0, n, found_parent = 0;
        uint32_t found_label = 0;
        int r, found = 0;

        if (cycle >= c->n)
                return -ENOENT;
        n = c->start[cycle + 1] - c->start[cycle];
        r = pm_init(&pm, n);
        if (r < 0)
                goto out;
        for (uint32_t k = c->start[cycle]; k < c->start[cycle + 1]; k++)
                pm.member[pm_slot(&pm, c->members[k], 1)] = 1;
        if (pm_slot(&pm, start, 0) == UINT32_MAX) {
                r = -ENOENT;
                goto out;
        }
        queue = malloc(sizeof(*queue) * (n + 1));
        if (!queue) {
                r = -ENOMEM;
                goto out;
        }
        /* BFS from start; the first edge back to start closes the shortest
         * cycle through it. */
        queue[qtail++] = start;
        pm.seen[pm_slot(&pm, start, 0)] = 1;
        while (qhead < qtail && !found) {
                uint32_t u = queue[qhead++];

                for (uint64_t e = h->edge_start[u]; e < h->edge_start[u + 1]; e++) {
                        uint32_t v = h->edge_dst[e], s = pm_slot(&pm, v, 0);

                        if (s == UINT32_MAX || !pm.member[s])
                                continue;
                        if (v == start) {
                                found = 1;
                                found_parent = u;
                                found_label = heap_edge_label(h, u, e);
                                break;
                        }
                        if (pm.seen[s])
                                continue;
                        pm.seen[s] = 1;
                        pm.parent[s] = u;
                        pm.label[s] = heap_edge_label(h, u, e);
                        queue[qtail++] = v;
                }
        }
        if (!found) {
                r = -ENOENT;
                goto out;
        }
        {
                uint32_t len = 1, v = found_parent;

                while (v != start) {
                        v = pm.parent[pm_slot(&pm, v, 0)];
                        len++;
                }
                ret->n = len;
                ret->objs = malloc(sizeof(uint32_t) * (len + 1));
                ret->labels = malloc(sizeof(uint32_t) * len);
                if (!ret->objs || !ret->labels) {
                        heap_path_release(ret);
                        r = -ENOMEM;
                        goto out;
                }
                ret->objs[len] = start;
                ret->labels[len - 1] = found_label;
                v = found_parent;
                for (uint32_t k = len - 1;; k--) {
                        ret->objs[k] = v;
                        if (k == 0)
                                break;
                        {
                                uint32_t s = pm_slot(&pm, v, 0);

                                ret->labels[k - 1] = pm.label[s];
                                v = pm.parent[s];
                        }
                }
        }
        r = 0;
out:
        free(queue);
        pm_release(&pm);
        return r;
}

static inline bool bit_get(const uint64_t *b, uint32_t i)
{
        return b[i >> 6] & (1ULL << (i & 63));
}

static inline void bit_set(uint64_t *b, uint32_t i)
{
        b[i >> 6] |= 1ULL << (i & 63);
}

/* The label of the first edge src -> dst. */
static uint32_t edge_label_between(const struct heap *h, uint32_t src, uint32_t dst)
{
        for (uint64_t e = h->edge_start[src]; e < h->edge_start[src + 1]; e++)
                if (h->edge_dst[e] == dst)
                        return heap_edge_label(h, src, e);
        return 0;
}

int heap_path_from_root(const struct heap *h, uint32_t obj, struct heap_path *ret,
                        uint32_t *ret_root)
{
        const size_t words = h ? ((size_t)h->nobjs + 63) / 64 + 1 : 0;
        uint64_t *isroot = NULL, *seen = NULL;
        uint32_t *next = NULL, *queue = NULL, qhead = 0, qtail = 0, level_end;
        uint32_t dist = 0, best = UINT32_MAX, from = UINT32_MAX;
        struct heap_path p = {0};
        int r;

        if (!h || !ret || !h->pred_start || obj >= h->nobjs)
                return -EINVAL;
        isroot = calloc(words, sizeof(*isroot));
        seen = calloc(words, sizeof(*seen));
        /* next[v]: the object one step closer to obj.  Left uninitialised:
         * only entries of seen objects are read, and untouched pages of a
         * big malloc cost nothing */
        next = malloc(((size_t)h->nobjs + 1) * sizeof(*next));
        queue = malloc(((size_t)h->nobjs + 1) * sizeof(*queue));
        if (!isroot || !seen || !next || !queue) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t i = 0; i < h->nroots; i++)
                if (h->roots[i].obj < h->nobjs)
                        bit_set(isroot, h->roots[i].obj);

        /* level by level, so that all roots at the smallest distance are
         * seen before one is chosen */
        queue[qtail++] = obj;
        bit_set(seen, obj);
        next[obj] = obj;
        while (qhead < qtail) {
                uint32_t nfound = 0;

                level_end = qtail;
                for (uint32_t q = qhead; q < level_end; q++)
                        if (bit_get(isroot, queue[q]))
                                nfound++;
                if (nfound) {
                        /* the earliest roots entry of an object of this
                         * level; the search is over, so seen is free to
                         * mark "in this level" */
                        memset(seen, 0, words * sizeof(*seen));
                        for (uint32_t q = qhead; q < level_end; q++)
                                bit_set(seen, queue[q]);
                        for (uint32_t i = 0; i < h->nroots; i++) {
                                uint32_t o = h->roots[i].obj;

                                if (o < h->nobjs && bit_get(seen, o)) {
                                        best = i;
                                        from = o;
                                        break;
                                }
                        }
                        break;
                }
                for (; qhead < level_end; qhead++) {
                        uint32_t v = queue[qhead];

                        for (uint64_t e = h->pred_start[v]; e < h->pred_start[v + 1]; e++) {
                                uint32_t u = h->pred_src[e];

                                if (bit_get(seen, u))
                                        continue;
                                bit_set(seen, u);
                                next[u] = v;
                                queue[qtail++] = u;
                        }
                }
                dist++;
        }
        if (best == UINT32_MAX) {
                r = -ENOENT;
                goto out;
        }
        p.n = dist;
        p.objs = malloc(((size_t)dist + 1) * sizeof(*p.objs));
        p.labels = malloc(((size_t)dist + 1) * sizeof(*p.labels));
        if (!p.objs || !p.labels) {
                heap_path_release(&p);
                r = -ENOMEM;
                goto out;
        }
        p.objs[0] = from;
        for (uint32_t k = 0; k < dist; k++) {
                p.objs[k + 1] = next[p.objs[k]];
                p.labels[k] = edge_label_between(h, p.objs[k], p.objs[k + 1]);
        }
        *ret = p;
        if (ret_root)
                *ret_root = best;
        r = 0;
out:
        free(isroot);
        free(seen);
        free(next);
        free(queue);
        return r;
}

/* For every object, the roots entry of the best rank it has (the earliest
 * among equals), or UINT32_MAX. */
static uint32_t *best_root_entries(const struct heap *h, const uint8_t *rank)
{
        /* every entry written: a big block, in huge pages (bigmem.c) */
        uint32_t *first = heap_big_malloc(((size_t)h->nobjs + 1) * sizeof(*first));

        if (!first)
                return NULL;
        memset(first, 0xff, ((size_t)h->nobjs + 1) * sizeof(*first));
        for (uint32_t i = 0; i < h->nroots; i++) {
                const struct heap_root *rt = &h->roots[i];

                if (rt->obj >= h->nobjs || rt->kind >= HEAP_ROOT__COUNT ||
                    rank[rt->kind] == HEAP_ROOT_RANK_NONE)
                        continue;
                if (first[rt->obj] == UINT32_MAX ||
                    rank[rt->kind] < rank[h->roots[first[rt->obj]].kind])
                        first[rt->obj] = i;
        }
        return first;
}

struct heap_path_search {
        const struct heap *h;
        const uint8_t *rank;
        uint32_t *first;         /* best_root_entries() */
        uint32_t *next, *queue;  /* only entries of seen objects are read:
                                    untouched pages cost nothing */
        uint64_t *seen;          /* all clear between searches */
};

int heap_path_search_new(const struct heap *h, const uint8_t *rank,
                         struct heap_path_search **ret)
{
        struct heap_path_search *s;
        size_t words;

        if (!h || !rank || !ret || !h->pred_start)
                return -EINVAL;
        words = ((size_t)h->nobjs + 63) / 64 + 1;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->h = h;
        s->rank = rank;
        s->first = best_root_entries(h, rank);
        s->seen = calloc(words, sizeof(*s->seen));
        s->next = malloc(((size_t)h->nobjs + 1) * sizeof(*s->next));
        s->queue = malloc(((size_t)h->nobjs + 1) * sizeof(*s->queue));
        if (!s->first || !s->seen || !s->next || !s->queue) {
                heap_path_search_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void heap_path_search_free(struct heap_path_search *s)
{
        if (!s)
                return;
        heap_big_free(s->first);
        free(s->seen);
        free(s->next);
        free(s->queue);
        free(s);
}

int heap_path_search_run(struct heap_path_search *s, uint32_t obj, struct heap_path *ret,
                         uint32_t *ret_root)
{
        const struct heap *h = s ? s->h : NULL;
        const uint8_t *rank = s ? s->rank : NULL;
        uint32_t *first, *next, *queue, qhead = 0, qtail = 0;
        uint32_t dist = 0, best = UINT32_MAX, best_dist = 0;
        uint64_t *seen;
        struct heap_path p = {0};
        int r;

        if (!h || !ret || obj >= h->nobjs)
                return -EINVAL;
        first = s->first;
        next = s->next;
        queue = s->queue;
        seen = s->seen;
        queue[qtail++] = obj;
        bit_set(seen, obj);
        next[obj] = obj;
        /* level by level: the first root of a rank met is the nearest of
         * that rank; a better rank further away still wins */
        while (qhead < qtail) {
                uint32_t level_end = qtail;

                for (uint32_t q = qhead; q < level_end; q++) {
                        uint32_t e = first[queue[q]];

                        if (e == UINT32_MAX)
                                continue;
                        if (best == UINT32_MAX ||
                            rank[h->roots[e].kind] < rank[h->roots[best].kind] ||
                            (rank[h->roots[e].kind] == rank[h->roots[best].kind] &&
                             best_dist == dist && e < best)) {
                                best = e;
                                best_dist = dist;
                        }
                }
                if (best != UINT32_MAX && rank[h->roots[best].kind] == 0)
                        break;
                for (; qhead < level_end; qhead++) {
                        uint32_t v = queue[qhead];

                        for (uint64_t k = h->pred_start[v]; k < h->pred_start[v + 1]; k++) {
                                uint32_t u = h->pred_src[k];

                                if (bit_get(seen, u))
                                        continue;
                                bit_set(seen, u);
                                next[u] = v;
                                queue[qtail++] = u;
                        }
                }
                dist++;
        }
        if (best == UINT32_MAX) {
                r = -ENOENT;
                goto out;
        }
        p.n = best_dist;
        p.objs = malloc(((size_t)best_dist + 1) * sizeof(*p.objs));
        p.labels = malloc(((size_t)best_dist + 1) * sizeof(*p.labels));
        if (!p.objs || !p.labels) {
                heap_path_release(&p);
                r = -ENOMEM;
                goto out;
        }
        p.objs[0] = h->roots[best].obj;
        for (uint32_t k = 0; k < best_dist; k++) {
                p.objs[k + 1] = next[p.objs[k]];
                p.labels[k] = edge_label_between(h, p.objs[k], p.objs[k + 1]);
        }
        *ret = p;
        if (ret_root)
                *ret_root = best;
        r = 0;
out:
        /* the next search starts clear, at the cost of this one's */
        for (uint32_t q = 0; q < qtail; q++)
                seen[queue[q] / 64] &= ~((uint64_t)1 << (queue[q] % 64));
        return r;
}

int heap_path_from_root_ranked(const struct heap *h, uint32_t obj, const uint8_t *rank,
                               struct heap_path *ret, uint32_t *ret_root)
{
        struct heap_path_search *s;
        int r;

        if (!h || !ret || !rank || !h->pred_start || obj >= h->nobjs)
                return -EINVAL;
        r = heap_path_search_new(h, rank, &s);
        if (r < 0)
                return r;
        r = heap_path_search_run(s, obj, ret, ret_root);
        heap_path_search_free(s);
        return r;
}

void heap_path_release(struct heap_path *p)
{
        if (!p)
                return;
        free(p->objs);
        free(p->labels);
        p->objs = NULL;
        p->labels = NULL;
        p->n = 0;
}
