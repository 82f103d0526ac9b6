/* diff.c: growth between two snapshots (diff.h).
 *
 * Types and cycle shapes are matched by name: both sides are poured into
 * one array of (name, side, count, bytes), sorted by name and merged, which
 * needs no hash table and handles a name appearing several times on one
 * side (a class defined twice; many cycles of one shape).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "diff.h"

struct entry {
        const char *name;
        uint64_t count;
        uint64_t bytes;
        bool cur;            /* from the newer heap */
};

struct tally {
        const char *name;
        uint64_t old_count, new_count, old_bytes, new_bytes;
        int64_t dcount, dbytes;
};

static int entry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int tally_cmp(const void *a, const void *b)
{
        const struct tally *x = a, *y = b;

        if (x->dbytes != y->dbytes)
                return x->dbytes > y->dbytes ? -1 : 1;
        if (x->dcount != y->dcount)
                return x->dcount > y->dcount ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* Sorts and merges e[0..n) into *ret_t (the changed names, sorted by growth);
 * the names still point into e's strings. */
static int merge(struct entry *e, size_t n, struct tally **ret_t, uint32_t *ret_n)
{
        struct tally *t = malloc((n + 1) * sizeof(*t));
        uint32_t nt = 0;

        if (!t)
                return -ENOMEM;
        qsort(e, n, sizeof(*e), entry_cmp);
        for (size_t i = 0; i < n;) {
                struct tally x = {.name = e[i].name};

                for (; i < n && strcmp(e[i].name, x.name) == 0; i++) {
                        if (e[i].cur) {
                                x.new_count += e[i].count;
                                x.new_bytes += e[i].bytes;
                        } else {
                                x.old_count += e[i].count;
                                x.old_bytes += e[i].bytes;
                        }
                }
                x.dcount = (int64_t)(x.new_count - x.old_count);
                x.dbytes = (int64_t)(x.new_bytes - x.old_bytes);
                if (x.dcount || x.dbytes)
                        t[nt++] = x;
        }
        qsort(t, nt, sizeof(*t), tally_cmp);
        *ret_t = t;
        *ret_n = nt;
        return 0;
}

static int diff_types(const struct heap *old, const struct heap *cur, struct heap_diff *d)
{
        size_t n = (size_t)old->ntypes + cur->ntypes, k = 0;
        struct entry *e = malloc((n + 1) * sizeof(*e));
        struct tally *t = NULL;
        uint32_t nt = 0;
        int r;

        if (!e)
                return -ENOMEM;
        for (uint32_t i = 0; i < old->ntypes; i++)
                e[k++] = (struct entry){old->types[i].fullname, old->types[i].count,
                                        old->types[i].bytes, false};
        for (uint32_t i = 0; i < cur->ntypes; i++)
                e[k++] = (struct entry){cur->types[i].fullname, cur->types[i].count,
                                        cur->types[i].bytes, true};
        r = merge(e, n, &t, &nt);
        if (r < 0)
                goto out;
        d->types = calloc((size_t)nt + 1, sizeof(*d->types));
        if (!d->types) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t i = 0; i < nt; i++) {
                struct heap_diff_type *o = &d->types[i];

                o->name = strdup(t[i].name);
                if (!o->name) {
                        r = -ENOMEM;
                        goto out;
                }
                d->ntypes = i + 1;
                o->old_count = t[i].old_count;
                o->new_count = t[i].new_count;
                o->old_bytes = t[i].old_bytes;
                o->new_bytes = t[i].new_bytes;
                o->dcount = t[i].dcount;
                o->dbytes = t[i].dbytes;
        }
out:
        free(e);
        free(t);
        return r;
}

/* Appends one entry per cycle of c (signature strings are allocated). */
static int shape_entries(const struct heap *h, const struct heap_cycles *c, bool cur,
                         struct entry *e, size_t *k)
{
        for (uint32_t i = 0; i < c->n; i++) {
                char small[128], *s;
                int len = heap_cycles_signature(h, c, i, small, sizeof(small));

                if (len < 0)
                        return len;
                s = malloc((size_t)len + 1);
                if (!s)
                        return -ENOMEM;
                if ((size_t)len < sizeof(small))
                        memcpy(s, small, (size_t)len + 1);
                else
                        heap_cycles_signature(h, c, i, s, (size_t)len + 1);
                e[(*k)++] = (struct entry){s, 1, c->bytes[i], cur};
        }
        return 0;
}

static int diff_shapes(const struct heap *old, const struct heap_cycles *oc,
                       const struct heap *cur, const struct heap_cycles *cc,
                       struct heap_diff_shape **ret, uint32_t *ret_n)
{
        size_t n = (size_t)oc->n + cc->n, k = 0;
        struct entry *e = malloc((n + 1) * sizeof(*e));
        struct heap_diff_shape *s = NULL;
        struct tally *t = NULL;
        uint32_t nt = 0, ns = 0;
        int r;

        if (!e)
                return -ENOMEM;
        r = shape_entries(old, oc, false, e, &k);
        if (r >= 0)
                r = shape_entries(cur, cc, true, e, &k);
        if (r < 0)
                goto out;
        r = merge(e, n, &t, &nt);
        if (r < 0)
                goto out;
        s = calloc((size_t)nt + 1, sizeof(*s));
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        for (; ns < nt; ns++) {
                s[ns] = (struct heap_diff_shape){
                        .signature = strdup(t[ns].name),
                        .old_cycles = t[ns].old_count,
                        .new_cycles = t[ns].new_count,
                        .old_bytes = t[ns].old_bytes,
                        .new_bytes = t[ns].new_bytes,
                        .dcycles = t[ns].dcount,
                        .dbytes = t[ns].dbytes,
                };
                if (!s[ns].signature) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret = s;
        *ret_n = ns;
        s = NULL;
out:
        if (s)
                for (uint32_t i = 0; i < ns; i++)
                        free(s[i].signature);
        free(s);
        for (size_t i = 0; i < k; i++)
                free((char *)e[i].name);
        free(e);
        free(t);
        return r;
}

/* heap_diff's rule: same address and same type (address and name) is
 * the same object. */
static bool is_new_object(const struct heap *old, const struct heap *cur, uint32_t v)
{
        const struct heap_obj *o = &cur->objs[v];
        const struct heap_type *ct = &cur->types[o->type], *ot;
        int64_t i = heap_find(old, o->addr);

        if (i < 0)
                return true;
        ot = &old->types[old->objs[i].type];
        return ot->addr != ct->addr || strcmp(ot->fullname, ct->fullname) != 0;
}

static int diff_objects(const struct heap *old, const struct heap *cur, struct heap_diff *d)
{
        uint32_t n = 0;

        d->new_objs = malloc(((size_t)cur->nobjs + 1) * sizeof(*d->new_objs));
        if (!d->new_objs)
                return -ENOMEM;
        for (uint32_t v = 0; v < cur->nobjs; v++) {
                if (!is_new_object(old, cur, v))
                        continue;
                d->new_objs[n++] = v;
                d->new_bytes += cur->objs[v].size;
        }
        d->nnew = n;
        return 0;
}

int heap_diff_new_flags(const struct heap *old, const struct heap *cur, uint8_t *is_new,
                        uint32_t *ret_n)
{
        uint32_t n = 0;

        if (!old || !cur || !is_new)
                return -EINVAL;
        for (uint32_t v = 0; v < cur->nobjs; v++) {
                is_new[v] = is_new_object(old, cur, v);
                n += is_new[v];
        }
        if (ret_n)
                *ret_n = n;
        return 0;
}

int heap_diff(const struct heap *old, const struct heap *cur, struct heap_diff **ret)
{
        struct heap_diff *d;
        int r;

        if (!old || !cur || !ret || !old->analysed || !cur->analysed)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = diff_types(old, cur, d);
        if (r >= 0)
                r = diff_shapes(old, &old->cycles, cur, &cur->cycles, &d->shapes, &d->nshapes);
        if (r >= 0)
                r = diff_shapes(old, &old->cycles_local, cur, &cur->cycles_local,
                                &d->shapes_local, &d->nshapes_local);
        if (r >= 0)
                r = diff_objects(old, cur, d);
        if (r < 0) {
                heap_diff_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

void heap_diff_free(struct heap_diff *d)
{
        if (!d)
                return;
        for (uint32_t i = 0; i < d->ntypes; i++)
                free(d->types[i].name);
        for (uint32_t i = 0; i < d->nshapes; i++)
                free(d->shapes[i].signature);
        for (uint32_t i = 0; i < d->nshapes_local; i++)
                free(d->shapes_local[i].signature);
        free(d->types);
        free(d->shapes);
        free(d->shapes_local);
        free(d->new_objs);
        free(d);
}
