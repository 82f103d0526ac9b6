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
                if (!strcmp(label_of(h, heap_edge_label(h, from, e), buf, sizeof(buf)), label))
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

/* The matched owners' sizes: the newer heap's as its suspects counted
 * them, the older heap's credited alike for those owners alone
 * (heap_suspects_shares), and the new objects under each. */
static int owner_sizes(const struct heap *old, const struct heap *cur,
                       const struct heap_suspects *s, const uint32_t *holder,
                       const uint8_t *is_new, struct heap_owner_growth *v)
{
        uint32_t cown[CANDIDATES], oown[CANDIDATES], ns = s->n < CANDIDATES ? s->n : CANDIDATES;
        struct heap_owner_share csh[CANDIDATES], osh[CANDIDATES];
        int r;

        for (uint32_t k = 0; k < ns; k++) {
                cown[k] = s->v[k].name.path[0] == '<' ? NONE : s->v[k].owner;
                oown[k] = v[k].old_owner;
        }
        if ((r = heap_suspects_shares(cur, holder, cown, ns, is_new, csh)) < 0 ||
            (r = heap_suspects_shares(old, NULL, oown, ns, NULL, osh)) < 0)
                return r;
        for (uint32_t k = 0; k < ns; k++) {
                const struct heap_suspect *sp = &s->v[k];
                uint32_t o = v[k].old_owner;

                v[k].new_retained = sp->own_retained;
                v[k].new_objects = sp->own_objects;
                v[k].new_objs = (uint64_t)is_new[sp->owner] + csh[k].objects;
                if (o != NONE) {
                        v[k].old_retained = old->objs[o].size + osh[k].retained;
                        v[k].old_objects = 1 + osh[k].objects;
                }
        }
        return 0;
}

int heap_growth_compute_with(const struct heap *old, const struct heap *cur,
                             const struct heap_suspects *given, uint32_t max,
                             struct heap_growth *ret)
{
        struct heap_suspects mine = {0};
        const struct heap_suspects *s = given;
        uint8_t *is_new = NULL;
        struct heap_owner_growth *v = NULL;
        uint32_t n = 0;
        int r = 0;

        if (!old || !cur || !ret || !given || !given->holder || !old->analysed ||
            !cur->analysed || !old->idom || !cur->idom)
                return -EINVAL;
        *ret = (struct heap_growth){0};
        /* growth is ranked among more owners than a report lists */
        if (heap_suspects_max(given) != CANDIDATES) {
                r = heap_suspects_refold(cur, given, CANDIDATES, &mine);
                s = &mine;
        }
        is_new = calloc((size_t)cur->nobjs + 1, 1);
        v = calloc(s->n ? s->n : 1, sizeof(*v));
        if (r >= 0 && (!is_new || !v))
                r = -ENOMEM;
        if (r < 0)
                goto out;
        /* the new objects alone: heap_diff would name every cycle too */
        if ((r = heap_diff_new_flags(old, cur, is_new, NULL)) < 0)
                goto out;
        /* the owners, matched in the older heap by their paths; reached
         * only from a root with no name (C code), no path finds them again
         * in the other snapshot */
        for (uint32_t k = 0; k < s->n; k++) {
                v[k].old_owner = NONE;
                if (s->v[k].name.path[0] != '<')
                        v[k].old_owner = heap_growth_match(old, cur, s->v[k].owner);
        }
        /* a refolded list keeps no holder: the given one's is the same */
        if ((r = owner_sizes(old, cur, s, given->holder, is_new, v)) < 0)
                goto out;
        for (uint32_t k = 0; k < s->n && k < CANDIDATES; k++) {
                const struct heap_suspect *sp = &s->v[k];
                struct heap_owner_growth *g = &v[n];

                if (sp->name.path[0] == '<')
                        continue;
                *g = v[k];
                g->name = sp->name;
                g->owner = sp->owner;
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
                        describe_new(cur, is_new, given->holder, v[k].owner, v[k].new_types,
                                     sizeof(v[k].new_types));
        ret->n = n;
        ret->v = v;
        v = NULL;
out:
        heap_suspects_release(&mine);
        free(is_new);
        free(v);
        return r;
}

int heap_growth_compute(const struct heap *old, const struct heap *cur, uint32_t max,
                        struct heap_growth *ret)
{
        struct heap_suspects s = {0};
        int r;

        if (!old || !cur || !ret || !old->analysed || !cur->analysed || !old->idom ||
            !cur->idom)
                return -EINVAL;
        r = heap_suspects_compute(cur, CANDIDATES, &s);
        if (r >= 0)
                r = heap_growth_compute_with(old, cur, &s, max, ret);
        heap_suspects_release(&s);
        return r;
}

void heap_growth_release(struct heap_growth *g)
{
        if (!g)
                return;
        free(g->v);
        *g = (struct heap_growth){0};
}
