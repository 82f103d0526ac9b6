/* growth.c: see growth.h. */
#include "growth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "diff.h"
#include "paths.h"

#define NONE UINT32_MAX
/* suspects of the newer heap looked at: growth is ranked among them */
#define CANDIDATES 32
/* distinct types named in new_types */
#define NEW_TYPES 4

/* Objects under each owner own[k] in the dominator tree (itself
 * included), and of those the ones marked new.  Only the owners' sums are
 * read, so one pass finds each object's nearest owner above it (memoised
 * walks up the tree) rather than summing every subtree of the heap; an
 * owner inside another adds its sums to the enclosing ones.  Owners
 * listed twice get the same sums. */
static int owner_sums(const struct heap *h, const uint32_t *own, uint32_t nown,
                      const uint8_t *is_new, uint64_t *count, uint64_t *nnew)
{
        const uint32_t unseen = NONE - 1;
        uint32_t n = h->nobjs, *near = NULL, *stack = NULL, *slot = NULL, *par = NULL;
        uint64_t *dc = NULL, *dn = NULL;
        int r = -ENOMEM;

        near = malloc(sizeof(*near) * ((size_t)n + 1));
        stack = malloc(sizeof(*stack) * ((size_t)n + 1));
        slot = malloc(sizeof(*slot) * ((size_t)nown + 1));
        par = malloc(sizeof(*par) * ((size_t)nown + 1));
        dc = calloc((size_t)nown + 1, sizeof(*dc));
        dn = calloc((size_t)nown + 1, sizeof(*dn));
        if (!near || !stack || !slot || !par || !dc || !dn)
                goto out;
        for (uint32_t v = 0; v < n; v++)
                near[v] = unseen;
        /* slot[k]: the first k naming the same object */
        for (uint32_t k = 0; k < nown; k++) {
                slot[k] = NONE;
                if (own[k] >= n)
                        continue;
                if (near[own[k]] == unseen)
                        near[own[k]] = k;
                slot[k] = near[own[k]];
        }
        for (uint32_t v = 0; v < n; v++) {
                uint32_t sp = 0, u = v, at;

                while (u < n && near[u] == unseen && sp < n) {
                        stack[sp++] = u;
                        u = h->idom[u];
                }
                at = u < n && near[u] != unseen ? near[u] : NONE;
                while (sp)
                        near[stack[--sp]] = at;
                if (near[v] < nown) {
                        dc[near[v]]++;
                        dn[near[v]] += is_new ? is_new[v] : 0;
                }
        }
        for (uint32_t k = 0; k < nown; k++) {
                uint32_t up = slot[k] == k ? h->idom[own[k]] : NONE;

                par[k] = up < n && near[up] < nown ? near[up] : NONE;
                count[k] = nnew[k] = 0;
        }
        /* the owners form a tree of their own: at most nown steps up */
        for (uint32_t k = 0; k < nown; k++)
                for (uint32_t p = slot[k] == k ? k : NONE, d = 0; p != NONE && d <= nown;
                     p = par[p], d++) {
                        count[p] += dc[k];
                        nnew[p] += dn[k];
                }
        for (uint32_t k = 0; k < nown; k++)
                if (slot[k] != NONE && slot[k] != k) {
                        count[k] = count[slot[k]];
                        nnew[k] = nnew[slot[k]];
                }
        r = 0;
out:
        free(near);
        free(stack);
        free(slot);
        free(par);
        free(dc);
        free(dn);
        return r;
}

static const char *label_of(const struct heap *h, uint32_t label, char *buf, size_t len)
{
        return heap_label_text(h, label, buf, len);
}

/* The older heap's root entry like cur's root entry r: same kind, same
 * label text (module name, local, ...). */
static uint32_t match_root(const struct heap *old, const struct heap *cur, uint32_t r)
{
        const struct heap_root *cr = &cur->roots[r];
        char a[256], b[256];

        for (uint32_t k = 0; k < old->nroots; k++) {
                const struct heap_root *o = &old->roots[k];

                if (o->kind != cr->kind)
                        continue;
                if (cr->label == HEAP_ROOT_NO_LABEL || o->label == HEAP_ROOT_NO_LABEL) {
                        /* computed roots: the same type stands for it */
                        if (cr->label == o->label &&
                            !strcmp(cur->types[cur->objs[cr->obj].type].fullname,
                                    old->types[old->objs[o->obj].type].fullname))
                                return o->obj;
                        continue;
                }
                if (!strcmp(label_of(cur, cr->label, a, sizeof(a)),
                            label_of(old, o->label, b, sizeof(b))))
                        return o->obj;
        }
        return NONE;
}

static uint32_t follow(const struct heap *h, uint32_t from, const char *label)
{
        char buf[256];

        for (uint64_t e = h->edge_start[from]; e < h->edge_start[from + 1]; e++)
                if (!strcmp(label_of(h, h->edge_label[e], buf, sizeof(buf)), label))
                        return h->edge_dst[e];
        return NONE;
}

uint32_t heap_growth_match(const struct heap *old, const struct heap *cur, uint32_t obj)
{
        struct heap_path p = {0};
        uint32_t root = 0, at;
        char lbl[256];

        if (!old || !cur || obj >= cur->nobjs)
                return NONE;
        /* the path that names the owner */
        if (heap_path_from_root_ranked(cur, obj, heap_owner_root_rank, &p, &root) < 0)
                return NONE;
        at = match_root(old, cur, root);
        for (uint32_t i = 0; i < p.n && at != NONE; i++)
                at = follow(old, at, label_of(cur, p.labels[i], lbl, sizeof(lbl)));
        if (at != NONE && strcmp(cur->types[cur->objs[obj].type].fullname,
                                 old->types[old->objs[at].type].fullname))
                at = NONE;
        heap_path_release(&p);
        return at;
}

static int by_growth(const void *a, const void *b)
{
        const struct heap_owner_growth *x = a, *y = b;

        if (x->dretained != y->dretained)
                return x->dretained > y->dretained ? -1 : 1;
        return x->dobjects > y->dobjects ? -1 : x->dobjects < y->dobjects;
}

struct tcount {
        uint32_t type;
        uint64_t n;
};

/* "200 × dict, 120 × str": the commonest types of the new objects under
 * owner, from its dominated subtree. */
static void describe_new(const struct heap *h, const uint8_t *is_new, uint32_t owner,
                         char *out, size_t len)
{
        struct tcount top[NEW_TYPES] = {{0}};
        size_t used = 0;

        out[0] = 0;
        for (uint32_t v = 0; v < h->nobjs; v++) {
                uint32_t u = v, steps = 0;

                if (!is_new[v])
                        continue;
                while (u != NONE && u != owner && steps++ < 4096)
                        u = h->idom[u];
                if (u != owner)
                        continue;
                for (int k = 0; k < NEW_TYPES; k++) {
                        if (top[k].n && top[k].type != h->objs[v].type)
                                continue;
                        top[k].type = h->objs[v].type;
                        top[k].n++;
                        /* keep the list in order of counts */
                        for (int j = k; j > 0 && top[j].n > top[j - 1].n; j--) {
                                struct tcount t = top[j];

                                top[j] = top[j - 1];
                                top[j - 1] = t;
                        }
                        break;
                }
        }
        for (int k = 0; k < NEW_TYPES && top[k].n && used + 1 < len; k++) {
                int w = snprintf(out + used, len - used, "%s%" PRIu64 " × %s", k ? ", " : "",
                                 top[k].n, h->types[top[k].type].qualname);

                if (w < 0)
                        break;
                used += (size_t)w < len - used ? (size_t)w : len - used - 1;
        }
}

int heap_growth_compute(const struct heap *old, const struct heap *cur, uint32_t max,
                        struct heap_growth *ret)
{
        struct heap_suspects s = {0};
        uint64_t *sums = NULL;
        uint32_t *own = NULL;
        uint8_t *is_new = NULL;
        struct heap_owner_growth *v = NULL;
        uint32_t n = 0, m = 0;
        int r;

        if (!old || !cur || !ret || !old->analysed || !cur->analysed || !old->idom ||
            !cur->idom)
                return -EINVAL;
        *ret = (struct heap_growth){0};
        r = heap_suspects_compute(cur, CANDIDATES, &s);
        is_new = calloc((size_t)cur->nobjs + 1, 1);
        v = calloc(s.n ? s.n : 1, sizeof(*v));
        /* per owner: new and old objects, new ones, (old's new ones) */
        sums = calloc(4 * ((size_t)s.n + 1), sizeof(*sums));
        own = calloc(2 * ((size_t)s.n + 1), sizeof(*own));
        if (r >= 0 && (!is_new || !v || !sums || !own))
                r = -ENOMEM;
        if (r < 0)
                goto out;
        /* the new objects alone: heap_diff would name every cycle too */
        if ((r = heap_diff_new_flags(old, cur, is_new, NULL)) < 0)
                goto out;
        for (uint32_t k = 0; k < s.n; k++) {
                const struct heap_suspect *sp = &s.v[k];

                /* reached only from a root with no name (C code): no path
                 * finds it again in the other snapshot */
                if (sp->name.path[0] == '<')
                        continue;
                v[m] = (struct heap_owner_growth){ .name = sp->name, .owner = sp->owner,
                                                   .old_owner = heap_growth_match(old, cur,
                                                                                  sp->owner) };
                memcpy(v[m].accumulates, sp->accumulates, sizeof(v[m].accumulates));
                own[m] = sp->owner;
                own[s.n + 1 + m] = v[m].old_owner;
                m++;
        }
        if ((r = owner_sums(cur, own, m, is_new, sums, sums + (s.n + 1))) < 0 ||
            (r = owner_sums(old, own + s.n + 1, m, NULL, sums + 2 * (s.n + 1),
                            sums + 3 * (s.n + 1))) < 0)
                goto out;
        for (uint32_t k = 0; k < m; k++) {
                struct heap_owner_growth g = v[k];

                g.new_retained = cur->retained[g.owner];
                g.new_objects = sums[k];
                if (g.old_owner != NONE) {
                        g.old_retained = old->retained[g.old_owner];
                        g.old_objects = sums[2 * (s.n + 1) + k];
                }
                g.dretained = (int64_t)g.new_retained - (int64_t)g.old_retained;
                g.dobjects = (int64_t)g.new_objects - (int64_t)g.old_objects;
                g.new_objs = sums[s.n + 1 + k];
                if (g.dretained <= 0 && g.dobjects <= 0)
                        continue;
                v[n++] = g;
        }
        qsort(v, n, sizeof(*v), by_growth);
        if (n > (max ? max : 10))
                n = max ? max : 10;
        for (uint32_t k = 0; k < n; k++)
                if (v[k].new_objs)
                        describe_new(cur, is_new, v[k].owner, v[k].new_types,
                                     sizeof(v[k].new_types));
        ret->n = n;
        ret->v = v;
        v = NULL;
out:
        heap_suspects_release(&s);
        free(is_new);
        free(sums);
        free(own);
        free(v);
        return r;
}

void heap_growth_release(struct heap_growth *g)
{
        if (!g)
                return;
        free(g->v);
        *g = (struct heap_growth){0};
}
