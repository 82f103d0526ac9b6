#include "paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
        const struct heap_cycles *c = &h->cycles;
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
                                found_label = h->edge_label[e];
                                break;
                        }
                        if (pm.seen[s])
                                continue;
                        pm.seen[s] = 1;
                        pm.parent[s] = u;
                        pm.label[s] = h->edge_label[e];
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
