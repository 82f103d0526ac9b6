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

/* Cycles of one set of member types read alike: each set is named once
 * and becomes one entry (count: its cycles), so that a heap of a million
 * small cycles sorts a few names, not a million.  Two sets may still read
 * the same (a class redefined): merge() adds such entries up. */
struct shapes {
        uint32_t *types;      /* the sets, one after another */
        size_t ntypes, captypes;
        struct shape_slot {
                uint64_t hash;
                size_t off;
                uint32_t len;
                bool full;
                size_t entry;     /* index into the entries; SIZE_MAX: none yet */
        } *slots;
        size_t cap, used;
};

static uint64_t set_hash(const uint32_t *t, uint32_t n)
{
        uint64_t x = 0xcbf29ce484222325ULL;

        for (uint32_t i = 0; i < n; i++)
                x = (x ^ t[i]) * 0x100000001b3ULL;
        return x ^ n;
}

static int shapes_grow(struct shapes *sh)
{
        size_t cap = sh->cap ? sh->cap * 2 : 256;
        struct shape_slot *ns = malloc(cap * sizeof(*ns));

        if (!ns)
                return -ENOMEM;
        for (size_t i = 0; i < cap; i++)
                ns[i].full = false;
        for (size_t i = 0; i < sh->cap; i++) {
                size_t j = sh->slots[i].hash & (cap - 1);

                if (!sh->slots[i].full)
                        continue;
                while (ns[j].full)
                        j = (j + 1) & (cap - 1);
                ns[j] = sh->slots[i];
        }
        free(sh->slots);
        sh->slots = ns;
        sh->cap = cap;
        return 0;
}

/* The slot of the set t[0..n) (sorted, distinct), a new one if unseen
 * (its entry SIZE_MAX, the set copied in); NULL: out of memory. */
static struct shape_slot *shapes_find(struct shapes *sh, const uint32_t *t, uint32_t n)
{
        uint64_t hash = set_hash(t, n);
        size_t j;

        if ((sh->used + 1) * 2 > sh->cap && shapes_grow(sh) < 0)
                return NULL;
        for (j = hash & (sh->cap - 1); sh->slots[j].full; j = (j + 1) & (sh->cap - 1))
                if (sh->slots[j].hash == hash && sh->slots[j].len == n &&
                    !memcmp(sh->types + sh->slots[j].off, t, n * sizeof(*t)))
                        return &sh->slots[j];
        if (sh->ntypes + n > sh->captypes) {
                size_t cap = (sh->ntypes + n) * 2;
                uint32_t *nt = realloc(sh->types, cap * sizeof(*nt));

                if (!nt)
                        return NULL;
                sh->types = nt;
                sh->captypes = cap;
        }
        memcpy(sh->types + sh->ntypes, t, n * sizeof(*t));
        sh->slots[j] = (struct shape_slot){hash, sh->ntypes, n, true, SIZE_MAX};
        sh->ntypes += n;
        sh->used++;
        return &sh->slots[j];
}

static int u32_cmp(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

/* Most cycles have two or three members: no qsort call for those. */
static void sort_types(uint32_t *t, uint32_t n)
{
        if (n > 16) {
                qsort(t, n, sizeof(*t), u32_cmp);
                return;
        }
        for (uint32_t i = 1; i < n; i++)
                for (uint32_t j = i; j > 0 && t[j] < t[j - 1]; j--) {
                        uint32_t x = t[j];

                        t[j] = t[j - 1];
                        t[j - 1] = x;
                }
}

/* Appends one entry per set of member types of c's cycles (signature
 * strings are allocated). */
static int shape_entries(const struct heap *h, const struct heap_cycles *c, bool cur,
                         struct entry *e, size_t *k)
{
        struct shapes sh = {0};
        uint32_t *t = NULL, capt = 0;
        int r = 0;

        for (uint32_t i = 0; i < c->n && r >= 0; i++) {
                uint32_t first = c->start[i], nm = c->start[i + 1] - first, nt = 0;
                struct shape_slot *slot;

                if (nm > capt) {
                        uint32_t *n2 = realloc(t, ((size_t)nm + 1) * sizeof(*t));

                        if (!n2) {
                                r = -ENOMEM;
                                break;
                        }
                        t = n2;
                        capt = nm;
                }
                for (uint32_t m = 0; m < nm; m++)
                        t[m] = h->objs[c->members[first + m]].type;
                sort_types(t, nm);
                for (uint32_t m = 0; m < nm; m++)
                        if (m == 0 || t[m] != t[m - 1])
                                t[nt++] = t[m];
                slot = shapes_find(&sh, t, nt);
                if (!slot) {
                        r = -ENOMEM;
                        break;
                }
                if (slot->entry == SIZE_MAX) {
                        char small[128], *sig;
                        int len = heap_cycles_signature(h, c, i, small, sizeof(small));

                        if (len < 0) {
                                r = len;
                                break;
                        }
                        sig = malloc((size_t)len + 1);
                        if (!sig) {
                                r = -ENOMEM;
                                break;
                        }
                        if ((size_t)len < sizeof(small))
                                memcpy(sig, small, (size_t)len + 1);
                        else
                                heap_cycles_signature(h, c, i, sig, (size_t)len + 1);
                        slot->entry = *k;
                        e[(*k)++] = (struct entry){sig, 0, 0, cur};
                }
                e[slot->entry].count++;
                e[slot->entry].bytes += c->bytes[i];
        }
        free(t);
        free(sh.types);
        free(sh.slots);
        return r;
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
        r = merge(e, k, &t, &nt);
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
 * the same object.  The memo spares most of the lookups and the name
 * comparisons: a million objects compare a few hundred type names. */
struct memo {
        uint32_t *same;   /* per type of cur: the old type last found to be it */
        int64_t next;     /* the old object after the last one found */
};

static bool is_new_object(const struct heap *old, const struct heap *cur, uint32_t v,
                          struct memo *m)
{
        const struct heap_obj *o = &cur->objs[v];
        const struct heap_type *ct = &cur->types[o->type], *ot;
        uint32_t *same = m->same;
        int64_t i;
        uint32_t t;

        /* both heaps list the objects in the order of the collector's
         * lists, which survivors keep: the old object after the last one
         * found is most often the next, and an address is one object */
        if (m->next >= 0 && m->next < old->nobjs && old->objs[m->next].addr == o->addr)
                i = m->next;
        else
                i = heap_find(old, o->addr);
        if (i < 0)
                return true;
        m->next = i + 1;
        t = old->objs[i].type;
        if (same && same[o->type] == t)
                return false;
        ot = &old->types[t];
        if (ot->addr != ct->addr || strcmp(ot->fullname, ct->fullname) != 0)
                return true;
        if (same)
                same[o->type] = t;
        return false;
}

/* Without memory for the memo's types each name is compared: slower,
 * the same answer. */
static struct memo memo_new(const struct heap *cur)
{
        struct memo m = {.same = malloc(((size_t)cur->ntypes + 1) * sizeof(*m.same)),
                         .next = -1};

        if (m.same)
                memset(m.same, 0xff, ((size_t)cur->ntypes + 1) * sizeof(*m.same));
        return m;
}

static int diff_objects(const struct heap *old, const struct heap *cur, struct heap_diff *d)
{
        struct memo m = memo_new(cur);
        uint32_t n = 0;

        d->new_objs = malloc(((size_t)cur->nobjs + 1) * sizeof(*d->new_objs));
        if (!d->new_objs) {
                free(m.same);
                return -ENOMEM;
        }
        for (uint32_t v = 0; v < cur->nobjs; v++) {
                if (!is_new_object(old, cur, v, &m))
                        continue;
                d->new_objs[n++] = v;
                d->new_bytes += cur->objs[v].size;
        }
        d->nnew = n;
        free(m.same);
        return 0;
}

int heap_diff_new_flags(const struct heap *old, const struct heap *cur, uint8_t *is_new,
                        uint32_t *ret_n)
{
        struct memo m;
        uint32_t n = 0;

        if (!old || !cur || !is_new)
                return -EINVAL;
        m = memo_new(cur);
        for (uint32_t v = 0; v < cur->nobjs; v++) {
                is_new[v] = is_new_object(old, cur, v, &m);
                n += is_new[v];
        }
        if (ret_n)
                *ret_n = n;
        free(m.same);
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
