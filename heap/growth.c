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

/* Objects under each object in the dominator tree (itself included), and
 * of those the ones marked new: one pass, deepest first. */
static int subtree_sums(const struct heap *h, const uint8_t *is_new, uint64_t *count,
                        uint64_t *nnew)
{
        uint32_t n = h->nobjs, maxd = 0;
        uint32_t *depth = malloc(sizeof(*depth) * ((size_t)n + 1));
        uint32_t *stack = malloc(sizeof(*stack) * ((size_t)n + 1));
        uint32_t *bucket = NULL, *order = NULL;

        if (!depth || !stack)
                goto nomem;
        for (uint32_t v = 0; v < n; v++)
                depth[v] = NONE;
        /* depth by walking up to a known one, then back down */
        for (uint32_t v = 0; v < n; v++) {
                uint32_t sp = 0, u = v, d;

                while (u != NONE && depth[u] == NONE && sp < n) {
                        stack[sp++] = u;
                        u = h->idom[u];
                }
                d = u == NONE ? 0 : depth[u] + 1;
                while (sp) {
                        depth[stack[--sp]] = d++;
                        if (d - 1 > maxd)
                                maxd = d - 1;
                }
        }
        bucket = calloc((size_t)maxd + 2, sizeof(*bucket));
        order = malloc(sizeof(*order) * ((size_t)n + 1));
        if (!bucket || !order)
                goto nomem;
        for (uint32_t v = 0; v < n; v++)
                bucket[depth[v] + 1]++;
        for (uint32_t d = 1; d <= maxd + 1; d++)
                bucket[d] += bucket[d - 1];
        for (uint32_t v = 0; v < n; v++)
                order[bucket[depth[v]]++] = v;
        for (uint32_t v = 0; v < n; v++) {
                count[v] = 1;
                nnew[v] = is_new ? is_new[v] : 0;
        }
        for (uint32_t k = n; k-- > 0;) {
                uint32_t v = order[k], p = h->idom[v];

                if (p != NONE && p < n) {
                        count[p] += count[v];
                        nnew[p] += nnew[v];
                }
        }
        free(depth);
        free(stack);
        free(bucket);
        free(order);
        return 0;
nomem:
        free(depth);
        free(stack);
        free(bucket);
        free(order);
        return -ENOMEM;
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

/* An owner's share as the suspects count it: itself and what its
 * credited items dominate, in both heaps alike (a thread that its own
 * frame holds too still counts under threading._active). */
struct share {
        uint64_t retained, objects, nnew;
};

/* slot[i]: 1 + the index of the share of object i, 0 for none. */
static void credited_shares(const struct heap *h, const uint32_t *holder, const uint32_t *slot,
                            const uint64_t *count, const uint64_t *nnew, struct share *sh)
{
        for (uint32_t x = 0; x < h->nobjs; x++) {
                uint32_t o = holder[x];
                struct share *t;

                if (o >= h->nobjs || !slot[o])
                        continue;
                t = &sh[slot[o] - 1];
                t->retained += h->retained[x];
                t->objects += count[x];
                t->nnew += nnew ? nnew[x] : 0;
        }
}

/* "200 × dict, 120 × str": the commonest types of the new objects under
 * owner: in the dominated subtrees of the items credited to it. */
static void describe_new(const struct heap *h, const uint8_t *is_new, const uint32_t *holder,
                         uint32_t owner, char *out, size_t len)
{
        struct tcount top[NEW_TYPES] = {{0}};
        size_t used = 0;

        out[0] = 0;
        for (uint32_t v = 0; v < h->nobjs; v++) {
                uint32_t u = v, steps = 0;

                if (!is_new[v])
                        continue;
                while (u != NONE && u < h->nobjs && u != owner && holder[u] != owner &&
                       steps++ < 4096)
                        u = h->idom[u];
                if (u == NONE || u >= h->nobjs || (u != owner && holder[u] != owner))
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
        uint64_t *ccount = NULL, *cnew = NULL, *ocount = NULL, *onew = NULL;
        uint8_t *is_new = NULL;
        uint32_t *cholder = NULL, *oholder = NULL, *cslot = NULL, *oslot = NULL;
        struct share *csh = NULL, *osh = NULL;
        struct heap_owner_growth *v = NULL;
        uint32_t n = 0;
        int r;

        if (!old || !cur || !ret || !old->analysed || !cur->analysed || !old->idom ||
            !cur->idom)
                return -EINVAL;
        *ret = (struct heap_growth){0};
        r = heap_suspects_compute(cur, CANDIDATES, &s);
        is_new = calloc((size_t)cur->nobjs + 1, 1);
        ccount = malloc(sizeof(*ccount) * ((size_t)cur->nobjs + 1));
        cnew = malloc(sizeof(*cnew) * ((size_t)cur->nobjs + 1));
        ocount = malloc(sizeof(*ocount) * ((size_t)old->nobjs + 1));
        onew = malloc(sizeof(*onew) * ((size_t)old->nobjs + 1));
        v = calloc(s.n ? s.n : 1, sizeof(*v));
        cslot = calloc((size_t)cur->nobjs + 1, sizeof(*cslot));
        oslot = calloc((size_t)old->nobjs + 1, sizeof(*oslot));
        csh = calloc(s.n ? s.n : 1, sizeof(*csh));
        osh = calloc(s.n ? s.n : 1, sizeof(*osh));
        if (r >= 0 && (!is_new || !ccount || !cnew || !ocount || !onew || !v || !cslot ||
                       !oslot || !csh || !osh))
                r = -ENOMEM;
        /* the suspects' own crediting of cur: computed once */
        if (r >= 0)
                cholder = s.holder;
        if (r >= 0)
                r = heap_suspects_holders(old, &oholder);
        if (r < 0)
                goto out;
        /* the new objects alone: heap_diff would name every cycle too */
        if ((r = heap_diff_new_flags(old, cur, is_new, NULL)) < 0)
                goto out;
        if ((r = subtree_sums(cur, is_new, ccount, cnew)) < 0 ||
            (r = subtree_sums(old, NULL, ocount, onew)) < 0)
                goto out;
        /* the owners, matched in the older heap by their paths */
        for (uint32_t k = 0; k < s.n; k++) {
                uint32_t o;

                v[k].owner = s.v[k].owner;
                v[k].old_owner = NONE;
                if (s.v[k].name.path[0] == '<')
                        continue;
                o = heap_growth_match(old, cur, s.v[k].owner);
                v[k].old_owner = o;
                if (!cslot[s.v[k].owner])
                        cslot[s.v[k].owner] = k + 1;
                if (o != NONE && !oslot[o])
                        oslot[o] = k + 1;
        }
        credited_shares(cur, cholder, cslot, ccount, cnew, csh);
        credited_shares(old, oholder, oslot, ocount, NULL, osh);
        for (uint32_t k = 0; k < s.n; k++) {
                const struct heap_suspect *sp = &s.v[k];
                struct heap_owner_growth *g = &v[n];
                uint32_t o = v[k].old_owner, cs = cslot[sp->owner] - 1;

                /* reached only from a root with no name (C code): no path
                 * finds it again in the other snapshot */
                if (sp->name.path[0] == '<')
                        continue;

                *g = (struct heap_owner_growth){ .name = sp->name, .owner = sp->owner,
                                                 .old_owner = o };
                g->new_retained = cur->objs[sp->owner].size + csh[cs].retained;
                g->new_objects = 1 + csh[cs].objects;
                g->new_objs = (uint64_t)is_new[sp->owner] + csh[cs].nnew;
                if (o != NONE) {
                        g->old_retained = old->objs[o].size + osh[oslot[o] - 1].retained;
                        g->old_objects = 1 + osh[oslot[o] - 1].objects;
                }
                g->dretained = (int64_t)g->new_retained - (int64_t)g->old_retained;
                g->dobjects = (int64_t)g->new_objects - (int64_t)g->old_objects;
                memcpy(g->accumulates, sp->accumulates, sizeof(g->accumulates));
                if (g->dretained <= 0 && g->dobjects <= 0)
                        continue;
                n++;
        }
        qsort(v, n, sizeof(*v), by_growth);
        if (n > (max ? max : 10))
                n = max ? max : 10;
        for (uint32_t k = 0; k < n; k++)
                if (v[k].new_objs)
                        describe_new(cur, is_new, cholder, v[k].owner, v[k].new_types,
                                     sizeof(v[k].new_types));
        ret->n = n;
        ret->v = v;
        v = NULL;
out:
        heap_suspects_release(&s);
        free(is_new);
        free(oholder);
        free(cslot);
        free(oslot);
        free(csh);
        free(osh);
        free(ccount);
        free(cnew);
        free(ocount);
        free(onew);
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
