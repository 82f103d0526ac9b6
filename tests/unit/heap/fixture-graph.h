/* fixture-graph: hand-built heaps for the analysis, dominator, path and diff
 * tests.  Objects are given tracked first, then untracked; edges in any
 * order (sorted by source here), with a label text or NULL for "[k]".
 * Header-only: each test program includes it once. */
#ifndef PYLEAK_FIXTURE_GRAPH_H
#define PYLEAK_FIXTURE_GRAPH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "heap-build.h"

enum {
        FX_DICT, FX_NODE, FX_LIST, FX_MODULE, FX_TYPE, FX_FUNCTION, FX_FOO, FX_NODE2,
        FX__NTYPES
};

/* the type object of FX_FOO, so that a test can place the class itself */
#define FX_FOO_ADDR 0x9000ULL

struct fx_obj {
        int gen;
        int64_t refcnt;
        uint64_t size;       /* 0 = 1 */
        uint8_t flags;
        uint32_t type;
        uint64_t addr;       /* 0 = automatic */
};

struct fx_edge {
        uint32_t src, dst;
        const char *label;   /* NULL = "[k]" */
};

static inline struct heap *fx_build(const struct fx_obj *o, uint32_t n, const struct fx_edge *e,
                                    uint32_t ne)
{
        static const char *const names[FX__NTYPES][2] = {
                {"builtins", "dict"}, {"__main__", "Node"},   {"builtins", "list"},
                {"builtins", "module"}, {"builtins", "type"}, {"builtins", "function"},
                {"__main__", "Foo"},  {"__main__", "Node"},
        };
        struct heap *h = heap_new();
        uint32_t *order = malloc(((size_t)ne + 1) * sizeof(*order));
        uint32_t *cnt = calloc((size_t)n + 1, sizeof(*cnt)), t;
        int r = 0;

        if (!h || !order || !cnt) {
                free(order);
                free(cnt);
                heap_free(h);
                return NULL;
        }
        for (uint32_t i = 0; i < FX__NTYPES; i++)
                r |= heap_intern_type(h, i == FX_FOO ? FX_FOO_ADDR : 0x10 * (i + 1), names[i][0],
                                      names[i][1], false, &t);
        for (uint32_t i = 0; i < n; i++) {
                if (o[i].gen == HEAP_GEN_UNTRACKED)
                        heap_mark_tracked_done(h);
                r |= heap_add_object(h, o[i].addr ? o[i].addr : 0x100000 + 16ULL * i, o[i].type,
                                     o[i].gen, o[i].refcnt, o[i].size ? o[i].size : 1, o[i].flags,
                                     NULL);
        }
        heap_mark_tracked_done(h);
        /* counting sort by source keeps each source's edges in given order */
        for (uint32_t k = 0; k < ne; k++)
                cnt[e[k].src]++;
        for (uint32_t i = 1; i < n; i++)
                cnt[i] += cnt[i - 1];
        for (uint32_t k = ne; k-- > 0;)
                order[--cnt[e[k].src]] = k;
        for (uint32_t j = 0; j < ne && !r; j++) {
                const struct fx_edge *x = &e[order[j]];
                uint32_t label = heap_label_index(j);

                if (x->label)
                        r |= heap_intern_label(h, x->label, &label);
                r |= heap_add_edge(h, x->src, x->dst, label);
        }
        r |= heap_finish(h);
        free(order);
        free(cnt);
        if (r) {
                heap_free(h);
                return NULL;
        }
        return h;
}

#define FX_BUILD(objs, edges) \
        fx_build(objs, sizeof(objs) / sizeof(objs[0]), edges, sizeof(edges) / sizeof(edges[0]))

/* An explicit root, as the walker records them. */
static inline int fx_add_root(struct heap *h, uint32_t obj, enum heap_root_kind kind)
{
        struct heap_root *nr = realloc(h->roots, ((size_t)h->nroots + 1) * sizeof(*nr));

        if (!nr)
                return -1;
        h->roots = nr;
        h->roots[h->nroots++] = (struct heap_root){obj, (uint8_t)kind, 0, UINT32_MAX};
        h->cap_roots = h->nroots;
        return 0;
}

/* Frees the analysis results and the roots whether or not heap_free() does
 * (both leave NULL behind). */
static inline void fx_free(struct heap *h)
{
        if (!h)
                return;
        heap_analysis_release(h);
        free(h->roots);
        h->roots = NULL;
        h->nroots = h->cap_roots = 0;
        heap_free(h);
}

#endif
