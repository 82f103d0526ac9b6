/* views.c: the view-models (view.h).  Every screen is a list of rows built
 * once; one column-data function per view serves drawing, searching,
 * sorting and filtering, so what is drawn is always what is searched. */
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis.h"
#include "diff.h"
#include "fmt.h"
#include "heap.h"
#include "keymap.h"
#include "paths.h"
#include "session.h"

/* Rows of the overview's suspect lists. */
#define OVERVIEW_TOP_CYCLES 5
#define OVERVIEW_TOP_OBJECTS 8
#define OVERVIEW_TOP_GARBAGE 5

const char *ui_type_name(const struct heap *h, uint32_t obj)
{
        uint32_t t = h->objs[obj].type;

        if (t >= h->ntypes || !h->types[t].fullname)
                return "?";
        return h->types[t].fullname;
}

static const struct heap_cycles *cycle_set(const struct heap *h, bool local)
{
        return local ? &h->cycles_local : &h->cycles;
}

static uint32_t cycle_size(const struct heap_cycles *c, uint32_t i)
{
        return c->start[i + 1] - c->start[i];
}

static uint64_t cycle_retained(const struct heap_cycles *c, uint32_t i)
{
        return c->retained ? c->retained[i] : c->bytes[i];
}

static uint64_t obj_retained(const struct heap *h, uint32_t i)
{
        return h->retained ? h->retained[i] : h->objs[i].size;
}

static const char *arrow(const struct view *v)
{
        return v->ix->utf8 ? "\u2192" : "->";
}

/* ---- sorting on integer keys -------------------------------------------- */

struct keyrow {
        uint64_t key;
        uint32_t row;
};

/* Stable LSD radix sort by key, 16 bits a pass; passes whose digit is the
 * same in every key are skipped (small numbers cost one or two passes).
 * Linear, where qsort over 250k rows took most of the 50 ms a key may
 * take.  tmp holds n entries, cnt 65536 counters. */
static void radix_sort(struct keyrow *a, struct keyrow *tmp, uint32_t *cnt, uint32_t n)
{
        struct keyrow *src = a, *dst = tmp;

        if (n < 2)
                return;
        for (int shift = 0; shift < 64; shift += 16) {
                uint32_t sum = 0;
                uint16_t d0 = (uint16_t)(src[0].key >> shift);
                bool same = true;

                for (uint32_t i = 1; i < n && same; i++)
                        same = (uint16_t)(src[i].key >> shift) == d0;
                if (same)
                        continue;
                memset(cnt, 0, sizeof(*cnt) * 65536);
                for (uint32_t i = 0; i < n; i++)
                        cnt[(uint16_t)(src[i].key >> shift)]++;
                for (uint32_t d = 0; d < 65536; d++) {
                        uint32_t c = cnt[d];

                        cnt[d] = sum;
                        sum += c;
                }
                for (uint32_t i = 0; i < n; i++)
                        dst[cnt[(uint16_t)(src[i].key >> shift)]++] = src[i];
                src = dst;
                dst = src == a ? tmp : a;
        }
        if (src != a)
                memcpy(a, src, sizeof(*a) * n);
}

/* The index's sorting scratch for n keys: a (n keys), tmp (n), cnt. */
static int ix_scratch(struct ui_index *ix, uint32_t n, struct keyrow **a, struct keyrow **tmp,
                      uint32_t **cnt)
{
        if (!ix->sort_cnt) {
                ix->sort_cnt = malloc(sizeof(uint32_t) * 65536);
                if (!ix->sort_cnt)
                        return -ENOMEM;
        }
        if (n > ix->sort_cap) {
                void *p = malloc(sizeof(struct keyrow) * 2 * (size_t)n);

                if (!p)
                        return -ENOMEM;
                free(ix->sort_buf);
                ix->sort_buf = p;
                ix->sort_cap = n;
        }
        *a = ix->sort_buf;
        *tmp = *a + ix->sort_cap;
        *cnt = ix->sort_cnt;
        return 0;
}

/* A signed key in unsigned order; descending flips it, so one ascending
 * stable sort keeps equal keys in row order either way (as cmp_key does). */
static uint64_t radix_key(int64_t num, bool desc)
{
        uint64_t u = (uint64_t)num ^ (1ULL << 63);

        return desc ? ~u : u;
}

/* ---- per-snapshot index ------------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
        return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* diff entries are sorted by growth; lookups by name need them by name.
 * Each struct starts with its name (heap_diff_type.name,
 * heap_diff_shape.signature), so one sorter serves both. */
static char ***names_by_name(void *arr, size_t n, size_t stride)
{
        char ***p = malloc(sizeof(*p) * (n ? n : 1));

        if (!p)
                return NULL;
        for (size_t i = 0; i < n; i++)
                p[i] = (char **)((char *)arr + i * stride);
        qsort(p, n, sizeof(*p), cmp_str_ptr);
        return p;
}

static void *find_by_name(char ***sorted, size_t n, const char *name)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(*sorted[mid], name);

                if (c == 0)
                        return sorted[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* Ranks of n texts in case-insensitive order, equal texts sharing a rank
 * (so an integer sort by rank breaks ties by row, as the text sort did). */
static int cmp_text_idx(const void *a, const void *b, void *arg)
{
        char *const *t = arg;
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        int c = strcasecmp(t[x] ? t[x] : "", t[y] ? t[y] : "");

        return c ? c : (x < y ? -1 : x > y);
}

static uint32_t *text_ranks(char *const *texts, uint32_t n)
{
        uint32_t *idx = malloc(sizeof(*idx) * ((size_t)n + 1));
        uint32_t *rank = malloc(sizeof(*rank) * ((size_t)n + 1));

        if (!idx || !rank) {
                free(idx);
                free(rank);
                return NULL;
        }
        for (uint32_t i = 0; i < n; i++)
                idx[i] = i;
        qsort_r(idx, n, sizeof(*idx), cmp_text_idx, (void *)texts);
        for (uint32_t k = 0, r = 0; k < n; k++) {
                if (k && strcasecmp(texts[idx[k]] ? texts[idx[k]] : "",
                                    texts[idx[k - 1]] ? texts[idx[k - 1]] : ""))
                        r = k;
                rank[idx[k]] = r;
        }
        free(idx);
        return rank;
}

/* Objects by type: a counting sort, once per snapshot. */
static int ix_by_type(struct ui_index *ix)
{
        const struct heap *h = ix->h;
        struct keyrow *k, *tmp;
        uint32_t *cnt;
        char **names;
        int r;

        if (ix->type_start)
                return 0;
        ix->type_start = calloc((size_t)h->ntypes + 2, sizeof(uint32_t));
        ix->type_objs = malloc(sizeof(uint32_t) * ((size_t)h->nobjs + 1));
        ix->type_garbage = calloc((size_t)h->ntypes + 1, sizeof(uint64_t));
        names = malloc(sizeof(char *) * ((size_t)h->ntypes + 1));
        if (!ix->type_start || !ix->type_objs || !ix->type_garbage || !names) {
                free(names);
                return -ENOMEM;
        }
        for (uint32_t t = 0; t < h->ntypes; t++)
                names[t] = h->types[t].fullname;
        ix->type_rank = text_ranks(names, h->ntypes);
        free(names);
        if (!ix->type_rank)
                return -ENOMEM;
        for (uint32_t i = 0; i < h->nobjs; i++)
                if (h->objs[i].type < h->ntypes)
                        ix->type_start[h->objs[i].type + 2]++;
        for (uint32_t t = 0; t < h->ntypes; t++)
                ix->type_start[t + 2] += ix->type_start[t + 1];
        /* each type's objects biggest retained first (then by index): the
         * order an instance list opens in, so opening one sorts nothing */
        r = ix_scratch(ix, h->nobjs, &k, &tmp, &cnt);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < h->nobjs; i++)
                k[i] = (struct keyrow){radix_key((int64_t)obj_retained(h, i), true), i};
        radix_sort(k, tmp, cnt, h->nobjs);
        for (uint32_t j = 0; j < h->nobjs; j++) {
                uint32_t i = k[j].row, t = h->objs[i].type;

                if (t >= h->ntypes)
                        continue;
                ix->type_objs[ix->type_start[t + 1]++] = i;
                if (h->objs[i].flags & HOBJ_GARBAGE)
                        ix->type_garbage[t]++;
        }
        return 0;
}

/* Interning table of the sets of member types: a cycle's signature depends
 * only on that set, so heap_cycles_signature() (which names and sorts the
 * types) runs once per distinct set, not once per cycle: a snapshot of
 * 260k two-node cycles has a handful of sets. */
struct sigset {
        uint64_t hash;
        uint32_t off, len;       /* into the pool of type ids */
        uint32_t id;
};

struct sigtab {
        struct sigset *slots;
        uint32_t cap, n;
        uint32_t *pool;
        size_t npool, cappool;
};

static uint64_t types_hash(const uint32_t *t, uint32_t n)
{
        uint64_t x = 1469598103934665603ULL;

        for (uint32_t i = 0; i < n; i++) {
                x ^= t[i];
                x *= 1099511628211ULL;
        }
        return x ^ n;
}

static int sigtab_grow(struct sigtab *st)
{
        uint32_t cap = st->cap ? st->cap * 2 : 256;
        struct sigset *s = calloc(cap, sizeof(*s));

        if (!s)
                return -ENOMEM;
        for (uint32_t i = 0; i < st->cap; i++) {
                uint32_t k;

                if (!st->slots[i].id)
                        continue;
                for (k = (uint32_t)st->slots[i].hash & (cap - 1); s[k].id; k = (k + 1) & (cap - 1))
                        ;
                s[k] = st->slots[i];
        }
        free(st->slots);
        st->slots = s;
        st->cap = cap;
        return 0;
}

/* The id (1-based inside the table) of a set of types; *fresh when new. */
static int sigtab_intern(struct sigtab *st, const uint32_t *t, uint32_t n, uint32_t *id,
                         bool *fresh)
{
        uint64_t hash = types_hash(t, n);
        uint32_t k;

        if ((st->n + 1) * 2 > st->cap && sigtab_grow(st) < 0)
                return -ENOMEM;
        for (k = (uint32_t)hash & (st->cap - 1); st->slots[k].id; k = (k + 1) & (st->cap - 1)) {
                struct sigset *e = &st->slots[k];

                if (e->hash == hash && e->len == n &&
                    !memcmp(st->pool + e->off, t, sizeof(*t) * n)) {
                        *id = e->id;
                        *fresh = false;
                        return 0;
                }
        }
        if (st->npool + n > st->cappool) {
                size_t cap = (st->cappool + n) * 2;
                uint32_t *p = realloc(st->pool, sizeof(*p) * cap);

                if (!p)
                        return -ENOMEM;
                st->pool = p;
                st->cappool = cap;
        }
        memcpy(st->pool + st->npool, t, sizeof(*t) * n);
        st->slots[k] = (struct sigset){.hash = hash, .off = (uint32_t)st->npool, .len = n,
                                       .id = ++st->n};
        st->npool += n;
        *id = st->n;
        *fresh = true;
        return 0;
}

static char *cycle_sig_text(const struct heap *h, const struct heap_cycles *c, uint32_t i)
{
        char small[256], *s;
        int n = heap_cycles_signature(h, c, i, small, sizeof(small));

        if (n < 0)
                return strdup("?");
        if ((size_t)n < sizeof(small))
                return strdup(small);
        s = malloc((size_t)n + 1);
        if (s)
                heap_cycles_signature(h, c, i, s, (size_t)n + 1);
        return s;
}

/* Signatures of every cycle of one grouping (interned), their ranks, the
 * growth of each shape, and the default order (retained desc). */
static int ix_sigs(struct ui_index *ix, bool local)
{
        const struct heap *h = ix->h;
        const struct heap_cycles *c = cycle_set(h, local);
        const struct heap_diff *d = ix->diff;
        struct sigtab st = {0};
        uint32_t *stamp = NULL, *types = NULL, captypes = 64, ntexts = 0, captexts = 16;
        struct keyrow *kr, *ktmp;
        uint32_t *kcnt;
        char ***by = NULL;
        int r = -ENOMEM;

        if (ix->sig_id[local])
                return 0;
        ix->sig_id[local] = malloc(sizeof(uint32_t) * ((size_t)c->n + 1));
        ix->sig_text[local] = malloc(sizeof(char *) * captexts);
        stamp = calloc((size_t)h->ntypes + 1, sizeof(*stamp));
        types = malloc(sizeof(*types) * captypes);
        if (!ix->sig_id[local] || !ix->sig_text[local] || !stamp || !types)
                goto out;
        for (uint32_t i = 0; i < c->n; i++) {
                uint32_t nt = 0, id;
                bool fresh, odd = false;

                /* distinct member types: a stamp per type, no sort of the
                 * members (a giant component has most of the heap) */
                for (uint32_t k = c->start[i]; k < c->start[i + 1]; k++) {
                        uint32_t t = h->objs[c->members[k]].type, p;

                        if (t >= h->ntypes) {
                                odd = true;
                                continue;
                        }
                        if (stamp[t] == i + 1)
                                continue;
                        stamp[t] = i + 1;
                        if (nt + 1 >= captypes) {
                                uint32_t *bigger = realloc(types, sizeof(*bigger) * captypes * 2);

                                if (!bigger)
                                        goto out;
                                types = bigger;
                                captypes *= 2;
                        }
                        /* insertion keeps them ascending: sets are small */
                        p = nt++;
                        while (p > 0 && types[p - 1] > t) {
                                types[p] = types[p - 1];
                                p--;
                        }
                        types[p] = t;
                }
                if (odd)
                        types[nt++] = UINT32_MAX;
                if (sigtab_intern(&st, types, nt, &id, &fresh) < 0)
                        goto out;
                id--;
                if (fresh) {
                        if (ntexts == captexts) {
                                char **p = realloc(ix->sig_text[local],
                                                   sizeof(*p) * captexts * 2);

                                if (!p)
                                        goto out;
                                ix->sig_text[local] = p;
                                captexts *= 2;
                        }
                        ix->sig_text[local][ntexts] = cycle_sig_text(h, c, i);
                        if (!ix->sig_text[local][ntexts])
                                goto out;
                        ix->nsig[local] = ++ntexts;
                }
                ix->sig_id[local][i] = id;
        }
        ix->sig_rank[local] = text_ranks(ix->sig_text[local], ntexts);
        ix->sig_dcycles[local] = calloc((size_t)ntexts + 1, sizeof(int64_t));
        if (!ix->sig_rank[local] || !ix->sig_dcycles[local])
                goto out;
        if (d) {
                by = local ? names_by_name(d->shapes_local, d->nshapes_local,
                                           sizeof(*d->shapes_local))
                           : names_by_name(d->shapes, d->nshapes, sizeof(*d->shapes));
                if (!by)
                        goto out;
                for (uint32_t s = 0; s < ntexts; s++) {
                        const struct heap_diff_shape *e =
                                find_by_name(by, local ? d->nshapes_local : d->nshapes,
                                             ix->sig_text[local][s]);

                        ix->sig_dcycles[local][s] = e ? e->dcycles : 0;
                }
        }
        /* the order the Cycles screen opens in */
        ix->cycle_order[local] = malloc(sizeof(uint32_t) * ((size_t)c->n + 1));
        if (!ix->cycle_order[local] || ix_scratch(ix, c->n + 1, &kr, &ktmp, &kcnt) < 0)
                goto out;
        for (uint32_t i = 0; i < c->n; i++)
                kr[i] = (struct keyrow){radix_key((int64_t)cycle_retained(c, i), true), i};
        radix_sort(kr, ktmp, kcnt, c->n);
        for (uint32_t i = 0; i < c->n; i++)
                ix->cycle_order[local][i] = kr[i].row;
        r = 0;
out:
        free(by);
        free(stamp);
        free(types);
        free(st.slots);
        free(st.pool);
        return r;
}

static const char *ix_sig(const struct ui_index *ix, bool local, uint32_t cycle)
{
        return ix->sig_id[local] ? ix->sig_text[local][ix->sig_id[local][cycle]] : "";
}

static int64_t ix_sig_growth(const struct ui_index *ix, bool local, uint32_t cycle)
{
        return ix->sig_id[local] ? ix->sig_dcycles[local][ix->sig_id[local][cycle]] : 0;
}

static int ix_previews(struct ui_index *ix)
{
        const struct heap *h = ix->h;

        if (!h->npreviews || !h->preview_obj || !h->preview_off || !h->preview_pool)
                return 0;
        ix->preview_at = calloc((size_t)h->nobjs + 1, sizeof(uint32_t));
        if (!ix->preview_at)
                return -ENOMEM;
        for (uint32_t k = 0; k < h->npreviews; k++)
                if (h->preview_obj[k] < h->nobjs)
                        ix->preview_at[h->preview_obj[k]] = k + 1;
        return 0;
}

/* The recorded preview of obj (a string owned by the heap), or NULL. */
static const char *ix_preview(const struct ui_index *ix, uint32_t obj)
{
        uint32_t k = ix->preview_at ? ix->preview_at[obj] : 0;

        return k ? ix->h->preview_pool + ix->h->preview_off[k - 1] : NULL;
}

/* The flags column shows four bits as letters; its 16 texts ranked once. */
static const char *flags_text(uint8_t f, char *buf)
{
        int n = 0;

        if (f & HOBJ_GARBAGE)
                buf[n++] = 'G';
        if (f & HOBJ_GC_GARBAGE)
                buf[n++] = 'L';
        if (f & HOBJ_IN_CYCLE)
                buf[n++] = 'C';
        if (f & HOBJ_OPAQUE)
                buf[n++] = 'O';
        buf[n] = 0;
        return buf;
}

static uint8_t flags_bits(unsigned k)
{
        return (uint8_t)((k & 1 ? HOBJ_GARBAGE : 0) | (k & 2 ? HOBJ_GC_GARBAGE : 0) |
                         (k & 4 ? HOBJ_IN_CYCLE : 0) | (k & 8 ? HOBJ_OPAQUE : 0));
}

static unsigned flags_key(uint8_t f)
{
        return (unsigned)!!(f & HOBJ_GARBAGE) | (unsigned)!!(f & HOBJ_GC_GARBAGE) << 1 |
               (unsigned)!!(f & HOBJ_IN_CYCLE) << 2 | (unsigned)!!(f & HOBJ_OPAQUE) << 3;
}

static void ix_flags_rank(struct ui_index *ix)
{
        char a[8], b[8];

        for (unsigned k = 0; k < 16; k++) {
                uint8_t r = 0;

                flags_text(flags_bits(k), a);
                for (unsigned j = 0; j < 16; j++)
                        r += strcasecmp(flags_text(flags_bits(j), b), a) < 0;
                ix->flags_rank[k] = r;
        }
}

int ui_index_new(const struct session *s, bool utf8, struct ui_index **ret)
{
        struct ui_index *ix = calloc(1, sizeof(*ix));
        const struct heap *h = s->heap;
        const struct heap_diff *d = s->diff;
        int r;

        if (!ix)
                return -ENOMEM;
        ix->s = s;
        ix->h = h;
        ix->diff = d;
        ix->utf8 = utf8;
        if (d) {
                char ***by = names_by_name(d->types, d->ntypes, sizeof(*d->types));

                ix->type_dcount = calloc(h->ntypes + 1, sizeof(int64_t));
                ix->type_dbytes = calloc(h->ntypes + 1, sizeof(int64_t));
                ix->newbits = calloc(h->nobjs / 64 + 1, sizeof(uint64_t));
                if (!by || !ix->type_dcount || !ix->type_dbytes || !ix->newbits) {
                        free(by);
                        ui_index_free(ix);
                        return -ENOMEM;
                }
                for (uint32_t t = 0; t < h->ntypes; t++) {
                        const struct heap_diff_type *e;

                        if (!h->types[t].fullname)
                                continue;
                        e = find_by_name(by, d->ntypes, h->types[t].fullname);
                        if (e) {
                                ix->type_dcount[t] = e->dcount;
                                ix->type_dbytes[t] = e->dbytes;
                        }
                }
                free(by);
                for (uint32_t k = 0; k < d->nnew; k++)
                        if (d->new_objs[k] < h->nobjs)
                                ix->newbits[d->new_objs[k] / 64] |= 1ULL << (d->new_objs[k] % 64);
        }
        /* everything a key would otherwise compute on first use */
        ix_flags_rank(ix);
        r = ix_previews(ix);
        if (r >= 0)
                r = ix_by_type(ix);
        if (r >= 0 && h->cycles.start)
                r = ix_sigs(ix, false);
        if (r >= 0 && h->cycles_local.start)
                r = ix_sigs(ix, true);
        if (r < 0) {
                ui_index_free(ix);
                return r;
        }
        /* the scratch grew to every object for ix_by_type: lists need less */
        free(ix->sort_buf);
        ix->sort_buf = NULL;
        ix->sort_cap = 0;
        *ret = ix;
        return 0;
}

void ui_index_free(struct ui_index *ix)
{
        if (!ix)
                return;
        free(ix->type_start);
        free(ix->type_objs);
        free(ix->type_garbage);
        free(ix->type_rank);
        free(ix->type_dcount);
        free(ix->type_dbytes);
        for (int g = 0; g < 2; g++) {
                if (ix->sig_text[g])
                        for (uint32_t i = 0; i < ix->nsig[g]; i++)
                                free(ix->sig_text[g][i]);
                free(ix->sig_text[g]);
                free(ix->sig_id[g]);
                free(ix->sig_rank[g]);
                free(ix->sig_dcycles[g]);
                free(ix->cycle_order[g]);
        }
        free(ix->newbits);
        free(ix->preview_at);
        free(ix->sort_buf);
        free(ix->sort_cnt);
        free(ix->frame_start);
        free(ix->frame_roots);
        free(ix);
}

static bool ix_is_new(const struct ui_index *ix, uint32_t obj)
{
        return ix->newbits && (ix->newbits[obj / 64] >> (obj % 64)) & 1;
}

/* Locals of each frame: the THREAD roots, bucketed by frame. */
static int ix_frames(struct ui_index *ix)
{
        const struct heap *h = ix->h;

        if (ix->frame_start)
                return 0;
        ix->frame_start = calloc((size_t)h->nframes + 2, sizeof(uint32_t));
        ix->frame_roots = malloc(sizeof(uint32_t) * ((size_t)h->nroots + 1));
        if (!ix->frame_start || !ix->frame_roots) {
                free(ix->frame_start);
                free(ix->frame_roots);
                ix->frame_start = ix->frame_roots = NULL;
                return -ENOMEM;
        }
        for (uint32_t k = 0; k < h->nroots; k++)
                if (h->roots[k].kind == HEAP_ROOT_THREAD && h->roots[k].frame < h->nframes)
                        ix->frame_start[h->roots[k].frame + 2]++;
        for (uint32_t f = 0; f < h->nframes; f++)
                ix->frame_start[f + 2] += ix->frame_start[f + 1];
        for (uint32_t k = 0; k < h->nroots; k++)
                if (h->roots[k].kind == HEAP_ROOT_THREAD && h->roots[k].frame < h->nframes)
                        ix->frame_roots[ix->frame_start[h->roots[k].frame + 1]++] = k;
        return 0;
}

/* ---- rows and texts ----------------------------------------------------- */

static int add_row(struct view *v, uint8_t kind, uint8_t style, uint32_t a, uint32_t b)
{
        if (v->nrows == v->caprows) {
                uint32_t cap = v->caprows ? v->caprows * 2 : 64;
                struct row *r = realloc(v->rows, sizeof(*r) * cap);

                if (!r)
                        return -ENOMEM;
                v->rows = r;
                v->caprows = cap;
        }
        v->rows[v->nrows++] = (struct row){.kind = kind, .style = style, .a = a, .b = b};
        return 0;
}

__attribute__((format(printf, 3, 4)))
static int add_text(struct view *v, uint8_t style, const char *fmt, ...)
{
        char *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (v->ntexts == v->captexts) {
                uint32_t cap = v->captexts ? v->captexts * 2 : 16;
                char **t = realloc(v->texts, sizeof(*t) * cap);

                if (!t) {
                        free(s);
                        return -ENOMEM;
                }
                v->texts = t;
                v->captexts = cap;
        }
        v->texts[v->ntexts] = s;
        return add_row(v, style == STYLE_HEADING ? ROW_HEADING : ROW_TEXT, style,
                       v->ntexts++, 0);
}

__attribute__((format(printf, 2, 3)))
static void add_head(struct view *v, const char *fmt, ...)
{
        va_list ap;

        if (v->nhead >= (int)(sizeof(v->head) / sizeof(v->head[0])))
                return;
        va_start(ap, fmt);
        vsnprintf(v->head[v->nhead++], sizeof(v->head[0]), fmt, ap);
        va_end(ap);
}

uint32_t view_row_obj(const struct row *r)
{
        switch (r->kind) {
        case ROW_OBJ: case ROW_REF: case ROW_REFBY: case ROW_STEP: case ROW_LOCAL:
                return r->a;
        default:
                return UI_NONE;
        }
}

static uint8_t obj_style(const struct view *v, uint32_t i)
{
        const struct heap_obj *o = &v->h->objs[i];

        if (o->flags & HOBJ_GC_GARBAGE)
                return STYLE_WARN;
        if (o->flags & HOBJ_GARBAGE)
                return STYLE_GARBAGE;
        if (ix_is_new(v->ix, i))
                return STYLE_NEW;
        return STYLE_NORMAL;
}

static int add_obj(struct view *v, uint8_t kind, uint32_t obj, uint32_t b)
{
        return add_row(v, kind, obj_style(v, obj), obj, b);
}

/* "__main__.Node @ 0x7f..." */
static const char *obj_ref(const struct view *v, uint32_t i, char *buf, size_t len)
{
        snprintf(buf, len, "%s @ 0x%" PRIx64, ui_type_name(v->h, i), v->h->objs[i].addr);
        return buf;
}

static const char *gen_short(uint8_t gen)
{
        switch (gen) {
        case HEAP_GEN_0: return "0";
        case HEAP_GEN_1: return "1";
        case HEAP_GEN_2: return "2";
        case HEAP_GEN_PERMANENT: return "perm";
        default: return "-";
        }
}

static const char *obj_flags(const struct heap *h, uint32_t i, char *buf)
{
        return flags_text(h->objs[i].flags, buf);
}

/* "  <preview>" to end a row with, or "" (the walker recorded nothing). */
static const char *value_of(const struct ui_index *ix, uint32_t obj, char *out, size_t len)
{
        const char *pv = ix_preview(ix, obj);

        if (!pv || !pv[0])
                return "";
        snprintf(out, len, "  %s", pv);
        return out;
}

/* ---- the single-column views: overview, cycle, object, path, threads ---- */

static const struct column line_cols[] = {
        {"", 0, COL_SEARCH | COL_TYPE | COL_NOSORT},
};

static void cell_line(const struct view *v, const struct row *r, int col, char *buf,
                      size_t len, struct cell *out)
{
        const struct heap *h = v->h;
        char t[160], b1[32], b2[32], lbl[256], val[HEAP_PREVIEW_MAX + 3];

        out->stable = false;
        out->num = 0;
        out->text = buf;
        switch (r->kind) {
        case ROW_TEXT:
        case ROW_HEADING:
                out->text = v->texts[r->a];
                out->stable = true;
                return;
        case ROW_OBJ:
                snprintf(buf, len, "  %-10s %s%s%s%s",
                         fmt_bytes(obj_retained(h, r->a), b1, sizeof(b1)),
                         obj_ref(v, r->a, t, sizeof(t)),
                         h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         h->objs[r->a].flags & HOBJ_GC_GARBAGE ? "  in gc.garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_CYCLE: {
                const struct heap_cycles *c = cycle_set(h, r->b);

                snprintf(buf, len, "  %-10s %s cycle #%-4" PRIu32 " %" PRIu32 " objects, %s%s  [%s]",
                         fmt_bytes(cycle_retained(c, r->a), b1, sizeof(b1)),
                         r->b ? "local" : "scc", r->a + 1,
                         cycle_size(c, r->a), fmt_bytes(c->bytes[r->a], b2, sizeof(b2)),
                         c->garbage[r->a] ? ", GARBAGE" : "",
                         ix_sig(v->ix, r->b, r->a));
                return;
        }
        case ROW_TYPE:
                snprintf(buf, len, "  %s", h->types[r->a].fullname);
                return;
        case ROW_REF:
                heap_label_text(h, r->b, lbl, sizeof(lbl));
                snprintf(buf, len, "  %-24s %s %s  %s%s%s", lbl, arrow(v),
                         obj_ref(v, r->a, t, sizeof(t)),
                         fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                         h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_REFBY:
                heap_label_text(h, r->b, lbl, sizeof(lbl));
                snprintf(buf, len, "  %s  %s %s%s%s", obj_ref(v, r->a, t, sizeof(t)), lbl,
                         arrow(v), h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_STEP:
                if (r->b == UI_NONE) {
                        snprintf(buf, len, "  %s  %s%s", obj_ref(v, r->a, t, sizeof(t)),
                                 fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                                 value_of(v->ix, r->a, val, sizeof(val)));
                } else {
                        heap_label_text(h, r->b, lbl, sizeof(lbl));
                        snprintf(buf, len, "      %s %s %s  %s%s", lbl, arrow(v),
                                 obj_ref(v, r->a, t, sizeof(t)),
                                 fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                                 value_of(v->ix, r->a, val, sizeof(val)));
                }
                return;
        case ROW_THREAD: {
                const struct heap_thread *th = &h->threads[r->a];

                snprintf(buf, len, "Thread %" PRIu64 " (native id %" PRId64 "), %" PRIu32
                         " frame%s", th->thread_id, th->native_id, th->nframes,
                         th->nframes == 1 ? "" : "s");
                return;
        }
        case ROW_FRAME: {
                const struct heap_frame *f = &h->frames[r->a];
                const struct heap_thread *th = f->thread < h->nthreads ?
                                               &h->threads[f->thread] : NULL;

                snprintf(buf, len, "  #%-3" PRIu32 " %s  %s:%d",
                         th ? r->a - th->first_frame : 0,
                         f->function ? f->function : "?", f->filename ? f->filename : "?",
                         f->line);
                return;
        }
        case ROW_LOCAL: {
                const struct heap_root *rt = &h->roots[r->b];

                if (rt->label == HEAP_ROOT_NO_LABEL)
                        snprintf(lbl, sizeof(lbl), "?");
                else
                        heap_label_text(h, rt->label, lbl, sizeof(lbl));
                snprintf(buf, len, "        %-20s = %s  %s%s", lbl,
                         obj_ref(v, r->a, t, sizeof(t)),
                         fmt_bytes(obj_retained(h, r->a), b1, sizeof(b1)),
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        }
        }
        buf[0] = 0;
}

static void root_text(const struct view *v, uint32_t k, char *buf, size_t len)
{
        const struct heap *h = v->h;
        const struct heap_root *rt = &h->roots[k];
        char lbl[256] = "";

        if (rt->label != HEAP_ROOT_NO_LABEL)
                heap_label_text(h, rt->label, lbl, sizeof(lbl));
        switch (rt->kind) {
        case HEAP_ROOT_MODULE:
                snprintf(buf, len, "root: module %s (in sys.modules)", lbl);
                break;
        case HEAP_ROOT_THREAD:
                if (rt->frame < h->nframes) {
                        const struct heap_frame *f = &h->frames[rt->frame];

                        snprintf(buf, len, "root: local %s of %s (%s:%d), thread %" PRIu64, lbl,
                                 f->function ? f->function : "?",
                                 f->filename ? f->filename : "?", f->line,
                                 f->thread < h->nthreads ? h->threads[f->thread].thread_id : 0);
                } else {
                        snprintf(buf, len, "root: held by a thread's frame (%s)", lbl);
                }
                break;
        case HEAP_ROOT_INTERP:
                snprintf(buf, len, "root: the interpreter%s%s", lbl[0] ? ": " : "", lbl);
                break;
        case HEAP_ROOT_EXTERNAL:
                snprintf(buf, len, "root: held from outside the graph (refcount %" PRId64
                         " exceeds the known referrers: C code, the C stack, untracked "
                         "containers)", h->objs[rt->obj].refcnt);
                break;
        case HEAP_ROOT_IMMORTAL:
                snprintf(buf, len, "root: immortal object");
                break;
        case HEAP_ROOT_PERMANENT:
                snprintf(buf, len, "root: frozen by gc.freeze() (permanent generation)");
                break;
        default:
                snprintf(buf, len, "root: ?");
        }
}

/* Keeps the k objects with the largest retained size among those `want`
 * accepts, biggest first: one pass, insertion into a tiny array. */
static uint32_t top_objects(const struct heap *h, const uint32_t *from, uint32_t n,
                            bool (*want)(const struct heap *, uint32_t), uint32_t *out,
                            uint32_t k)
{
        uint32_t got = 0;

        for (uint32_t j = 0; j < n; j++) {
                uint32_t i = from ? from[j] : j;
                uint64_t r;
                uint32_t p;

                if (want && !want(h, i))
                        continue;
                r = obj_retained(h, i);
                if (got == k && r <= obj_retained(h, out[k - 1]))
                        continue;
                p = got < k ? got++ : k - 1;
                while (p > 0 && obj_retained(h, out[p - 1]) < r) {
                        out[p] = out[p - 1];
                        p--;
                }
                out[p] = i;
        }
        return got;
}

/* Leak suspects leave out what every program has: type objects, modules and
 * the interpreter's own roots, whose retained size is "everything". */
static bool suspect(const struct heap *h, uint32_t i)
{
        const char *t = ui_type_name(h, i);

        return !(h->objs[i].flags & HOBJ_IS_TYPE) && strcmp(t, "builtins.module") &&
               h->objs[i].gen != HEAP_GEN_UNTRACKED;
}

static int build_overview(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        const struct heap_cycles *lc = &h->cycles_local;
        uint32_t top[OVERVIEW_TOP_OBJECTS], n;
        const uint32_t *order;
        uint64_t ngc = 0, opaque = 0;
        char b1[32], b2[32], b3[32];
        int r;

        snprintf(v->title, sizeof(v->title), "Overview");
        for (uint32_t t = 0; t < h->ntypes; t++)
                opaque += h->types[t].opaque && h->types[t].tracked;
        add_text(v, STYLE_NORMAL, "process      pid %d, CPython %s", m->pid, m->python_version);
        add_text(v, STYLE_NORMAL, "interpreter  %s (layout from %s)", m->interp_path,
                 m->layout_source);
        add_text(v, STYLE_NORMAL, "pause        %.1f ms (%d thread%s stopped in %.1f ms), %s "
                 "copied", m->pause_ms, m->threads, m->threads == 1 ? "" : "s", m->stop_ms,
                 fmt_bytes(m->bytes_copied, b1, sizeof(b1)));
        add_text(v, g->enabled ? STYLE_NORMAL : STYLE_WARN,
                 "gc           %s, thresholds %d/%d/%d, counts %d/%d/%d, frozen %" PRIu64 "%s",
                 g->enabled ? "enabled" : "DISABLED", g->thresholds[0], g->thresholds[1],
                 g->thresholds[2], g->counts[0], g->counts[1], g->counts[2], g->frozen,
                 g->collecting ? ", a collection was running" : "");
        add_text(v, STYLE_NORMAL, "objects      gen0 %" PRIu32 ", gen1 %" PRIu32 ", gen2 %"
                 PRIu32 ", permanent %" PRIu32 "; %" PRIu32 " untracked referents",
                 h->ngen_counts[0], h->ngen_counts[1], h->ngen_counts[2], h->ngen_counts[3],
                 h->ngen_counts[HEAP_GEN_UNTRACKED]);
        add_text(v, STYLE_NORMAL, "decoded      %.1f%% of %" PRIu32 " tracked objects (%" PRIu64
                 " opaque type%s: their references are unknown)",
                 h->ntracked ? 100.0 * h->ndecoded / h->ntracked : 100.0, h->ntracked, opaque,
                 opaque == 1 ? "" : "s");
        if (m->inconsistencies)
                add_text(v, STYLE_WARN, "warning      %" PRIu64 " inconsistencies in target "
                         "memory: the result is partial", m->inconsistencies);
        if (v->ix->diff) {
                const struct heap_diff *d = v->ix->diff;

                add_text(v, STYLE_NEW, "growth       %" PRIu32 " objects (%s) appeared since "
                         "the previous snapshot", d->nnew, fmt_bytes(d->new_bytes, b1, sizeof(b1)));
                for (uint32_t k = 0; k < d->ntypes && k < 3; k++)
                        if (d->types[k].dbytes > 0)
                                add_text(v, STYLE_NEW, "             %s %s objects, %s",
                                         d->types[k].name,
                                         fmt_delta(d->types[k].dcount, b2, sizeof(b2)),
                                         fmt_delta_bytes(d->types[k].dbytes, b3, sizeof(b3)));
        }
        add_text(v, STYLE_NORMAL, "%s", "");
        add_text(v, STYLE_HEADING, "Leak suspects");

        /* cycles: the local grouping, so one instance's own cycle is not lost
         * inside the component every class and module makes */
        r = ix_sigs(v->ix, true);
        if (r < 0)
                return r;
        add_text(v, STYLE_HEADING, " Largest cycles by retained size (%" PRIu32 ", local "
                 "grouping; c lists them all)", lc->n);
        order = v->ix->cycle_order[1];
        for (uint32_t k = 0; k < lc->n && k < OVERVIEW_TOP_CYCLES; k++)
                add_row(v, ROW_CYCLE, lc->garbage[order[k]] ? STYLE_GARBAGE : STYLE_NORMAL,
                        order[k], 1);
        if (!lc->n)
                add_text(v, STYLE_DIM, "  (none)");

        add_text(v, STYLE_HEADING, " Largest objects by retained size");
        n = top_objects(h, NULL, h->nobjs, suspect, top, OVERVIEW_TOP_OBJECTS);
        for (uint32_t k = 0; k < n; k++)
                add_obj(v, ROW_OBJ, top[k], 0);

        for (uint32_t k = 0; k < h->ngarbage; k++)
                ngc += h->objs[h->garbage[k]].size;
        add_text(v, h->ngarbage ? STYLE_GARBAGE : STYLE_HEADING,
                 " Garbage waiting for a collection: %" PRIu32 " objects, %s (g lists them)",
                 h->ngarbage, fmt_bytes(ngc, b1, sizeof(b1)));
        n = top_objects(h, h->garbage, h->ngarbage, NULL, top, OVERVIEW_TOP_GARBAGE);
        for (uint32_t k = 0; k < n; k++)
                add_obj(v, ROW_OBJ, top[k], 0);
        add_text(v, h->ngc_garbage ? STYLE_WARN : STYLE_HEADING,
                 " gc.garbage: %" PRIu32 " object%s", h->ngc_garbage,
                 h->ngc_garbage == 1 ? "" : "s");
        for (uint32_t k = 0; k < h->ngc_garbage && k < OVERVIEW_TOP_GARBAGE; k++)
                add_obj(v, ROW_OBJ, h->gc_garbage[k], 0);
        return 0;
}

/* The shortest cycle through start inside cycle `cycle` of either grouping. */
static int shortest_cycle(const struct heap *h, bool local, uint32_t cycle, uint32_t start,
                          struct heap_path *p)
{
        return heap_cycles_shortest(h, local ? &h->cycles_local : &h->cycles, cycle, start, p);
}

static int build_cycle(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_cycles *c = cycle_set(h, v->local);
        struct heap_path p = {0};
        char b1[32], b2[32], t[160], d[32];
        uint32_t n;
        int r;

        if (v->cycle >= c->n)
                return -ENOENT;
        r = ix_sigs(v->ix, v->local);
        if (r < 0)
                return r;
        n = cycle_size(c, v->cycle);
        if (v->member == UI_NONE)
                v->member = c->members[c->start[v->cycle]];
        snprintf(v->title, sizeof(v->title), "Cycle #%" PRIu32, v->cycle + 1);
        add_head(v, "Cycle #%" PRIu32 " of %" PRIu32 ", %s", v->cycle + 1, c->n,
                 v->local ? "local grouping (references to classes, modules and function "
                            "globals ignored; l toggles)"
                          : "strongly connected component (l: local grouping)");
        add_head(v, "%" PRIu32 " member%s, %s, retained %s, %s%s%s", n, n == 1 ? "" : "s",
                 fmt_bytes(c->bytes[v->cycle], b1, sizeof(b1)),
                 c->retained ? fmt_bytes(c->retained[v->cycle], b2, sizeof(b2)) : "-",
                 c->garbage[v->cycle] ? "GARBAGE: nothing outside keeps it alive" : "alive",
                 v->ix->diff ? ", shape growth " : "",
                 v->ix->diff ? fmt_delta(ix_sig_growth(v->ix, v->local, v->cycle), d, sizeof(d))
                             : "");
        add_head(v, "[%s]", ix_sig(v->ix, v->local, v->cycle));

        r = shortest_cycle(h, v->local, v->cycle, v->member, &p);
        if (r == 0) {
                add_text(v, STYLE_HEADING, "Shortest cycle through %s (%" PRIu32 " step%s; "
                         "m on a member redraws it)", obj_ref(v, v->member, t, sizeof(t)), p.n,
                         p.n == 1 ? "" : "s");
                add_obj(v, ROW_STEP, p.objs[0], UI_NONE);
                for (uint32_t k = 0; k < p.n; k++)
                        add_obj(v, ROW_STEP, p.objs[k + 1], p.labels[k]);
                heap_path_release(&p);
        } else if (r == -ENOMEM) {
                return r;
        } else {
                add_text(v, STYLE_DIM, "(no cycle through %s)", obj_ref(v, v->member, t,
                                                                          sizeof(t)));
        }
        add_text(v, STYLE_HEADING, "Members (%" PRIu32 ")", n);
        for (uint32_t k = c->start[v->cycle]; k < c->start[v->cycle + 1]; k++)
                if ((r = add_obj(v, ROW_OBJ, c->members[k], 0)) < 0)
                        return r;
        return 0;
}

static int build_object(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_obj *o;
        char b1[32], b2[32], fl[256], t[160];
        uint64_t nby;
        uint32_t cyc;
        int r;

        if (v->obj >= h->nobjs)
                return -ENOENT;
        o = &h->objs[v->obj];
        nby = h->pred_start ? h->pred_start[v->obj + 1] - h->pred_start[v->obj] : 0;
        snprintf(v->title, sizeof(v->title), "Object %s", obj_ref(v, v->obj, t, sizeof(t)));
        add_head(v, "%s   id %" PRIu64, obj_ref(v, v->obj, t, sizeof(t)), o->addr);
        add_head(v, "refcount %" PRId64 "%s   size %s   retained %s   generation %s",
                 o->refcnt, o->flags & HOBJ_IMMORTAL ? " (immortal)" : "",
                 fmt_bytes(o->size, b1, sizeof(b1)),
                 h->retained ? fmt_bytes(h->retained[v->obj], b2, sizeof(b2)) : "-",
                 heap_gen_name(o->gen));
        snprintf(fl, sizeof(fl), "%s%s%s%s%s",
                 o->flags & HOBJ_GARBAGE ? ", GARBAGE (a collection frees it)" : "",
                 o->flags & HOBJ_GC_GARBAGE ? ", in gc.garbage" : "",
                 o->flags & HOBJ_OPAQUE ? ", opaque (its references are unknown)" : "",
                 o->flags & HOBJ_PARTIAL ? ", partially decoded" : "",
                 ix_is_new(v->ix, v->obj) ? ", new since the previous snapshot" : "");
        add_head(v, "%" PRIu64 " referent%s, %" PRIu64 " referrer%s%s", heap_nref(h, v->obj),
                 heap_nref(h, v->obj) == 1 ? "" : "s", nby, nby == 1 ? "" : "s", fl);
        if (ix_preview(v->ix, v->obj) && ix_preview(v->ix, v->obj)[0])
                add_head(v, "value %s", ix_preview(v->ix, v->obj));

        r = ix_sigs(v->ix, false);
        if (r == 0 && heap_cycles_find(h, &h->cycles, v->obj, &cyc) == 0)
                add_row(v, ROW_CYCLE, h->cycles.garbage[cyc] ? STYLE_GARBAGE : STYLE_NORMAL,
                        cyc, 0);
        r = ix_sigs(v->ix, true);
        if (r == 0 && heap_cycles_find(h, &h->cycles_local, v->obj, &cyc) == 0)
                add_row(v, ROW_CYCLE, h->cycles_local.garbage[cyc] ? STYLE_GARBAGE :
                        STYLE_NORMAL, cyc, 1);

        add_text(v, STYLE_HEADING, "Referents (%" PRIu64 ")%s", heap_nref(h, v->obj),
                 o->gen == HEAP_GEN_UNTRACKED ? ": not recorded for untracked objects" : "");
        for (uint64_t e = h->edge_start[v->obj]; e < h->edge_start[v->obj + 1]; e++)
                if ((r = add_obj(v, ROW_REF, h->edge_dst[e], h->edge_label[e])) < 0)
                        return r;
        add_text(v, STYLE_HEADING, "Referrers (%" PRIu64 ")", nby);
        /* one referrer entry per edge, ascending: the k-th entry of the same
         * source is its k-th edge to this object, whose label we want */
        for (uint64_t k = nby ? h->pred_start[v->obj] : 0; nby && k < h->pred_start[v->obj + 1];
             k++) {
                uint32_t src = h->pred_src[k], label = UI_NONE, seen = 0, want = 0;

                for (uint64_t j = k; j > h->pred_start[v->obj] && h->pred_src[j - 1] == src; j--)
                        want++;
                for (uint64_t e = h->edge_start[src]; e < h->edge_start[src + 1]; e++)
                        if (h->edge_dst[e] == v->obj && seen++ == want) {
                                label = h->edge_label[e];
                                break;
                        }
                if ((r = add_obj(v, ROW_REFBY, src, label)) < 0)
                        return r;
        }
        return 0;
}

static int build_path(struct view *v)
{
        const struct heap *h = v->h;
        struct heap_path p = {0};
        uint32_t root = UI_NONE;
        char t[160], buf[512];
        int r;

        if (v->obj >= h->nobjs)
                return -ENOENT;
        snprintf(v->title, sizeof(v->title), "Path to %s", obj_ref(v, v->obj, t, sizeof(t)));
        add_head(v, "Why is %s alive: the shortest chain of references from a root",
                 obj_ref(v, v->obj, t, sizeof(t)));
        r = heap_path_from_root(h, v->obj, &p, &root);
        if (r == -ENOENT) {
                add_text(v, STYLE_GARBAGE, "No root reaches it: it is garbage, the next "
                         "collection frees it.");
                add_obj(v, ROW_STEP, v->obj, UI_NONE);
                return 0;
        }
        if (r < 0) {
                add_text(v, STYLE_WARN, "No path: %s.", r == -EINVAL ?
                         "this snapshot has no referrer index or roots" : strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        add_head(v, "%" PRIu32 " step%s", p.n, p.n == 1 ? "" : "s");
        if (root < h->nroots) {
                root_text(v, root, buf, sizeof(buf));
                add_text(v, STYLE_HEADING, "%s", buf);
        }
        add_obj(v, ROW_STEP, p.objs[0], UI_NONE);
        for (uint32_t k = 0; k < p.n; k++)
                add_obj(v, ROW_STEP, p.objs[k + 1], p.labels[k]);
        heap_path_release(&p);
        return 0;
}

static int build_threads(struct view *v)
{
        const struct heap *h = v->h;
        int r;

        snprintf(v->title, sizeof(v->title), "Threads");
        add_head(v, "%" PRIu32 " Python thread%s, %" PRIu32 " frame%s; the objects under a "
                 "frame are the locals it holds", h->nthreads, h->nthreads == 1 ? "" : "s",
                 h->nframes, h->nframes == 1 ? "" : "s");
        if (!h->nthreads) {
                add_text(v, STYLE_DIM, "No thread information was recorded in this snapshot.");
                return 0;
        }
        r = ix_frames(v->ix);
        if (r < 0)
                return r;
        for (uint32_t t = 0; t < h->nthreads; t++) {
                const struct heap_thread *th = &h->threads[t];

                add_row(v, ROW_THREAD, STYLE_HEADING, t, 0);
                for (uint32_t f = th->first_frame;
                     f < th->first_frame + th->nframes && f < h->nframes; f++) {
                        add_row(v, ROW_FRAME, STYLE_NORMAL, f, 0);
                        for (uint32_t k = v->ix->frame_start[f]; k < v->ix->frame_start[f + 1];
                             k++) {
                                uint32_t root = v->ix->frame_roots[k];

                                add_row(v, ROW_LOCAL, obj_style(v, h->roots[root].obj),
                                        h->roots[root].obj, root);
                        }
                }
        }
        return 0;
}

static int build_help(struct view *v)
{
        char keys[64];

        snprintf(v->title, sizeof(v->title), "Help");
        add_head(v, "pyleak-attach: the objects a CPython process keeps, and why");
        for (int g = 0; g < RG__COUNT; g++) {
                add_text(v, STYLE_HEADING, "%s", keymap_group_name(g));
                for (int q = REQ_NONE + 1; q < REQ__COUNT; q++) {
                        const struct ui_request_info *ri = keymap_request(q);

                        if ((int)ri->group != g)
                                continue;
                        add_text(v, STYLE_NORMAL, "  %-18s %s", keymap_keys(q, keys, sizeof(keys)),
                                 ri->help);
                }
        }
        add_text(v, STYLE_HEADING, "Object flags");
        add_text(v, STYLE_NORMAL, "  G garbage (the next collection frees it), L in gc.garbage, "
                 "C in a cycle, O opaque (references unknown)");
        add_text(v, STYLE_HEADING, "Search");
        add_text(v, STYLE_NORMAL, "  / then text: rows whose type, signature, text or value "
                 "(the text in a str) contain it (any case); 0x7f... or a decimal id: that "
                 "object, opened even when the list does not show it");
        return 0;
}

static const struct view_ops overview_ops = {"Overview", line_cols, 1, build_overview, cell_line};
static const struct view_ops cycle_ops = {"Cycle", line_cols, 1, build_cycle, cell_line};
static const struct view_ops object_ops = {"Object", line_cols, 1, build_object, cell_line};
static const struct view_ops path_ops = {"Path", line_cols, 1, build_path, cell_line};
static const struct view_ops threads_ops = {"Threads", line_cols, 1, build_threads, cell_line};
static const struct view_ops help_ops = {"Help", line_cols, 1, build_help, cell_line};

/* ---- cycles ------------------------------------------------------------- */

enum { CC_RANK, CC_MEMBERS, CC_BYTES, CC_RETAINED, CC_STATE, CC_DELTA, CC_SIG };
static const struct column cycles_cols[] = {
        [CC_RANK] = {"#", 6, COL_RIGHT | COL_NUM},
        [CC_MEMBERS] = {"members", 8, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_BYTES] = {"bytes", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_STATE] = {"state", 7, COL_NUM | COL_DESC},
        [CC_DELTA] = {"D", 6, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [CC_SIG] = {"type signature", 0, COL_SEARCH | COL_TYPE | COL_RANK},
};

static void cell_cycles(const struct view *v, const struct row *r, int col, char *buf,
                        size_t len, struct cell *out)
{
        const struct heap_cycles *c = cycle_set(v->h, v->local);
        uint32_t i = r->a;

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case CC_RANK:
                out->num = i + 1;
                if (buf)
                        snprintf(buf, len, "#%" PRIu32, i + 1);
                break;
        case CC_MEMBERS:
                out->num = cycle_size(c, i);
                if (buf)
                        snprintf(buf, len, "%" PRId64, out->num);
                break;
        case CC_BYTES:
                out->num = (int64_t)c->bytes[i];
                if (buf)
                        fmt_bytes(c->bytes[i], buf, len);
                break;
        case CC_RETAINED:
                out->num = (int64_t)cycle_retained(c, i);
                if (!buf)
                        break;
                if (c->retained)
                        fmt_bytes(c->retained[i], buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case CC_STATE:
                out->num = c->garbage[i];
                out->text = c->garbage[i] ? "GARBAGE" : "live";
                out->stable = true;
                break;
        case CC_DELTA:
                out->num = ix_sig_growth(v->ix, v->local, i);
                if (buf)
                        fmt_delta(out->num, buf, len);
                break;
        case CC_SIG:
                out->num = v->ix->sig_rank[v->local][v->ix->sig_id[v->local][i]];
                out->text = ix_sig(v->ix, v->local, i);
                out->stable = true;
                break;
        }
}

static int build_cycles(struct view *v)
{
        const struct heap_cycles *c = cycle_set(v->h, v->local);
        uint32_t ngarb = 0;
        char b1[32];
        uint64_t bytes = 0;
        int r = ix_sigs(v->ix, v->local);

        if (r < 0)
                return r;
        for (uint32_t i = 0; i < c->n; i++) {
                ngarb += c->garbage[i];
                bytes += c->bytes[i];
        }
        snprintf(v->title, sizeof(v->title), "Cycles");
        add_head(v, "%" PRIu32 " cycles (%" PRIu32 " garbage), %s in all; grouping: %s", c->n,
                 ngarb, fmt_bytes(bytes, b1, sizeof(b1)),
                 v->local ? "local (references to classes, modules, globals ignored)"
                          : "strongly connected components");
        add_head(v, "Enter opens a cycle, l toggles the grouping");
        for (uint32_t i = 0; i < c->n; i++)
                if ((r = add_row(v, ROW_CYCLE, c->garbage[i] ? STYLE_GARBAGE :
                                 (ix_sig_growth(v->ix, v->local, i) > 0 ? STYLE_NEW :
                                  STYLE_NORMAL), i, v->local)) < 0)
                        return r;
        v->sort_col = CC_RETAINED;
        v->sort_desc = true;
        /* row i is cycle i: the index's default order is this sort's */
        if (c->n && v->ix->cycle_order[v->local]) {
                v->order[CC_RETAINED][1] = malloc(sizeof(uint32_t) * c->n);
                if (v->order[CC_RETAINED][1])
                        memcpy(v->order[CC_RETAINED][1], v->ix->cycle_order[v->local],
                               sizeof(uint32_t) * c->n);
        }
        return 0;
}

static const struct view_ops cycles_ops = {"Cycles", cycles_cols, 7, build_cycles, cell_cycles};

/* ---- types -------------------------------------------------------------- */

enum { TC_COUNT, TC_BYTES, TC_RETAINED, TC_DCOUNT, TC_DBYTES, TC_NAME };
static const struct column types_cols[] = {
        [TC_COUNT] = {"count", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_BYTES] = {"bytes", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_DCOUNT] = {"Dcount", 8, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [TC_DBYTES] = {"Dbytes", 10, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [TC_NAME] = {"type", 0, COL_SEARCH | COL_TYPE},
};

static void cell_types(const struct view *v, const struct row *r, int col, char *buf,
                       size_t len, struct cell *out)
{
        const struct heap_type *t = &v->h->types[r->a];

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case TC_COUNT:
                out->num = (int64_t)t->count;
                if (buf)
                        snprintf(buf, len, "%" PRIu64, t->count);
                break;
        case TC_BYTES:
                out->num = (int64_t)t->bytes;
                if (buf)
                        fmt_bytes(t->bytes, buf, len);
                break;
        case TC_RETAINED:
                out->num = (int64_t)t->retained;
                if (!buf)
                        break;
                if (v->h->retained)
                        fmt_bytes(t->retained, buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case TC_DCOUNT:
                out->num = v->ix->type_dcount ? v->ix->type_dcount[r->a] : 0;
                if (buf)
                        fmt_delta(out->num, buf, len);
                break;
        case TC_DBYTES:
                out->num = v->ix->type_dbytes ? v->ix->type_dbytes[r->a] : 0;
                if (buf)
                        fmt_delta_bytes(out->num, buf, len);
                break;
        case TC_NAME:
                out->text = t->fullname ? t->fullname : "?";
                out->stable = true;
                if (t->opaque && t->tracked && buf) {
                        snprintf(buf, len, "%s (opaque)", out->text);
                        out->text = buf;
                        out->stable = false;
                }
                break;
        }
}

static int build_types(struct view *v)
{
        const struct heap *h = v->h;
        uint32_t n = 0;
        int r;

        snprintf(v->title, sizeof(v->title), "Types");
        for (uint32_t t = 0; t < h->ntypes; t++) {
                if (!h->types[t].count)
                        continue;
                n++;
                if ((r = add_row(v, ROW_TYPE, v->ix->type_dcount && v->ix->type_dcount[t] > 0 ?
                                 STYLE_NEW : STYLE_NORMAL, t, 0)) < 0)
                        return r;
        }
        add_head(v, "%" PRIu32 " types, %" PRIu32 " objects; Enter lists a type's instances",
                 n, h->nobjs);
        v->sort_col = h->retained ? TC_RETAINED : TC_BYTES;
        v->sort_desc = true;
        return 0;
}

static const struct view_ops types_ops = {"Types", types_cols, 6, build_types, cell_types};

/* ---- object lists: instances of a type, garbage ------------------------- */

enum { OC_ID, OC_SIZE, OC_RETAINED, OC_REFCNT, OC_GEN, OC_FLAGS, OC_NEW, OC_TYPE, OC_VALUE,
       OC__COUNT };
static const struct column objs_cols[] = {
        [OC_ID] = {"id", 14, COL_NUM | COL_SEARCH | COL_HEX},
        [OC_SIZE] = {"size", 9, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_REFCNT] = {"refcnt", 7, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_GEN] = {"gen", 4, COL_NUM},
        [OC_FLAGS] = {"flags", 5, COL_RANK},
        [OC_NEW] = {"new", 3, COL_NUM | COL_DESC | COL_DELTA},
        [OC_TYPE] = {"type", 20, COL_SEARCH | COL_TYPE | COL_RANK},
        /* what the walker recorded of the value: searching "text in a str"
         * finds the str; not sortable (there is no order worth the cost) */
        [OC_VALUE] = {"value", 0, COL_SEARCH | COL_NOSORT},
};

static void cell_objs(const struct view *v, const struct row *r, int col, char *buf,
                      size_t len, struct cell *out)
{
        const struct heap *h = v->h;
        const struct heap_obj *o = &h->objs[r->a];
        char fl[8];

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case OC_ID:
                out->num = (int64_t)o->addr;
                if (buf)
                        snprintf(buf, len, "0x%" PRIx64, o->addr);
                break;
        case OC_SIZE:
                out->num = (int64_t)o->size;
                if (buf)
                        fmt_bytes(o->size, buf, len);
                break;
        case OC_RETAINED:
                out->num = (int64_t)obj_retained(h, r->a);
                if (!buf)
                        break;
                if (h->retained)
                        fmt_bytes(h->retained[r->a], buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case OC_REFCNT:
                out->num = o->refcnt;
                if (!buf)
                        break;
                if (o->flags & HOBJ_IMMORTAL)
                        snprintf(buf, len, "immort");
                else
                        snprintf(buf, len, "%" PRId64, o->refcnt);
                break;
        case OC_GEN:
                out->num = o->gen;
                out->text = gen_short(o->gen);
                out->stable = true;
                break;
        case OC_FLAGS:
                out->num = v->ix->flags_rank[flags_key(o->flags)];
                if (buf)
                        snprintf(buf, len, "%s", obj_flags(h, r->a, fl));
                break;
        case OC_NEW:
                out->num = ix_is_new(v->ix, r->a);
                out->text = out->num ? "+" : "";
                out->stable = true;
                break;
        case OC_TYPE:
                out->num = o->type < h->ntypes && v->ix->type_rank ? v->ix->type_rank[o->type] :
                           0;
                out->text = ui_type_name(h, r->a);
                out->stable = true;
                break;
        case OC_VALUE:
                out->text = ix_preview(v->ix, r->a);
                if (!out->text)
                        out->text = "";
                out->stable = true;
                break;
        }
}

static int build_instances(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_type *t;
        char b1[32], b2[32];
        int r;

        if (v->type >= h->ntypes)
                return -ENOENT;
        t = &h->types[v->type];
        r = ix_by_type(v->ix);
        if (r < 0)
                return r;
        snprintf(v->title, sizeof(v->title), "Instances of %s", t->fullname);
        add_head(v, "%" PRIu64 " instance%s of %s, %s, retained %s", t->count,
                 t->count == 1 ? "" : "s", t->fullname, fmt_bytes(t->bytes, b1, sizeof(b1)),
                 h->retained ? fmt_bytes(t->retained, b2, sizeof(b2)) : "-");
        for (uint32_t k = v->ix->type_start[v->type]; k < v->ix->type_start[v->type + 1]; k++)
                if ((r = add_obj(v, ROW_OBJ, v->ix->type_objs[k], 0)) < 0)
                        return r;
        v->sort_col = OC_RETAINED;
        v->sort_desc = true;
        return 0;
}

static int build_garbage(struct view *v)
{
        const struct heap *h = v->h;
        char b1[32];
        int r;

        snprintf(v->title, sizeof(v->title), "Garbage");
        add_head(v, "A full collection would free %" PRIu32 " object%s, %s", h->ngarbage,
                 h->ngarbage == 1 ? "" : "s",
                 fmt_bytes(heap_garbage_bytes(h), b1, sizeof(b1)));
        add_head(v, "gc.garbage holds %" PRIu32 " object%s (listed first, flag L): found by "
                 "the collector but not freed", h->ngc_garbage, h->ngc_garbage == 1 ? "" : "s");
        for (uint32_t k = 0; k < h->ngc_garbage; k++)
                if ((r = add_obj(v, ROW_OBJ, h->gc_garbage[k], 0)) < 0)
                        return r;
        for (uint32_t k = 0; k < h->ngarbage; k++)
                if ((r = add_obj(v, ROW_OBJ, h->garbage[k], 0)) < 0)
                        return r;
        /* build order: gc.garbage in list order, then garbage ascending */
        v->sort_col = -1;
        return 0;
}

static const struct view_ops instances_ops = {"Instances", objs_cols, OC__COUNT, build_instances,
                                              cell_objs};
static const struct view_ops garbage_ops = {"Garbage", objs_cols, OC__COUNT, build_garbage,
                                            cell_objs};

static const struct view_ops *const all_ops[VIEW__COUNT] = {
        [VIEW_OVERVIEW] = &overview_ops,
        [VIEW_CYCLES] = &cycles_ops,
        [VIEW_CYCLE] = &cycle_ops,
        [VIEW_TYPES] = &types_ops,
        [VIEW_INSTANCES] = &instances_ops,
        [VIEW_OBJECT] = &object_ops,
        [VIEW_PATH] = &path_ops,
        [VIEW_GARBAGE] = &garbage_ops,
        [VIEW_THREADS] = &threads_ops,
        [VIEW_HELP] = &help_ops,
};

/* ---- generic: filter, sort, move, search, format ------------------------ */

bool view_col_visible(const struct view *v, int col)
{
        return !(v->ops->cols[col].flags & COL_DELTA) || v->ix->diff;
}

/* 1 garbage, 0 not, -1 the filter does not apply to this row */
static int row_garbage(const struct view *v, const struct row *r)
{
        uint32_t o = view_row_obj(r);

        if (o != UI_NONE)
                return !!(v->h->objs[o].flags & (HOBJ_GARBAGE | HOBJ_GC_GARBAGE));
        if (r->kind == ROW_CYCLE)
                return cycle_set(v->h, r->b)->garbage[r->a];
        if (r->kind == ROW_TYPE)
                return v->ix->type_garbage && v->ix->type_garbage[r->a] > 0;
        return -1;
}

static bool row_passes(const struct view *v, const struct row *r)
{
        char buf[512];
        struct cell c;

        if (v->filter_garbage && row_garbage(v, r) == 0)
                return false;
        if (!v->filter_type[0] || r->kind == ROW_TEXT || r->kind == ROW_HEADING ||
            r->kind == ROW_THREAD || r->kind == ROW_FRAME)
                return true;
        for (int col = 0; col < v->ops->ncols; col++) {
                if (!(v->ops->cols[col].flags & COL_TYPE))
                        continue;
                v->ops->cell(v, r, col, buf, sizeof(buf), &c);
                if (strcasestr(c.text, v->filter_type))
                        return true;
        }
        return false;
}

struct sortkey {
        int64_t num;
        const char *str;
        uint32_t row;
};

static int cmp_key(const void *a, const void *b, void *arg)
{
        const struct sortkey *x = a, *y = b;
        const bool *desc_num = arg;
        int c;

        if (desc_num[1])
                c = x->num < y->num ? -1 : x->num > y->num;
        else
                c = strcasecmp(x->str, y->str);
        if (desc_num[0])
                c = -c;
        if (c)
                return c;
        return x->row < y->row ? -1 : x->row > y->row;
}

/* Integer keys (COL_NUM, COL_RANK): the column-data function in key-only
 * mode (no text composed) and a radix sort: linear in the rows. */
static int sort_vis_num(struct view *v)
{
        struct keyrow *k, *tmp;
        uint32_t *cnt;
        bool sorted = true;
        int r = ix_scratch(v->ix, v->nvis, &k, &tmp, &cnt);

        if (r < 0)
                return r;
        for (uint32_t i = 0; i < v->nvis; i++) {
                struct cell c;

                v->ops->cell(v, &v->rows[v->vis[i]], v->sort_col, NULL, 0, &c);
                k[i].key = radix_key(c.num, v->sort_desc);
                k[i].row = v->vis[i];
                sorted = sorted && (!i || k[i].key >= k[i - 1].key);
        }
        /* already in order (rank, build order): a stable sort changes nothing */
        if (sorted)
                return 0;
        radix_sort(k, tmp, cnt, v->nvis);
        for (uint32_t i = 0; i < v->nvis; i++)
                v->vis[i] = k[i].row;
        return 0;
}

static int sort_vis(struct view *v)
{
        const struct column *col;
        struct sortkey *k;
        char **copies = NULL;
        char buf[512];
        bool arg[2];

        if (v->sort_col < 0 || v->sort_col >= v->ops->ncols || v->nvis < 2)
                return 0;
        col = &v->ops->cols[v->sort_col];
        if (col->flags & (COL_NUM | COL_RANK))
                return sort_vis_num(v);
        /* text columns without a rank are short lists (type names) */
        k = malloc(sizeof(*k) * v->nvis);
        copies = calloc(v->nvis, sizeof(char *));
        if (!k || !copies) {
                free(k);
                free(copies);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < v->nvis; i++) {
                struct cell c;

                v->ops->cell(v, &v->rows[v->vis[i]], v->sort_col, buf, sizeof(buf), &c);
                k[i].num = c.num;
                k[i].row = v->vis[i];
                if (!c.stable && c.text)
                        c.text = copies[i] = strdup(c.text);
                k[i].str = c.text ? c.text : "";
        }
        arg[0] = v->sort_desc;
        arg[1] = false;
        qsort_r(k, v->nvis, sizeof(*k), cmp_key, arg);
        for (uint32_t i = 0; i < v->nvis; i++)
                v->vis[i] = k[i].row;
        for (uint32_t i = 0; i < v->nvis; i++)
                free(copies[i]);
        free(copies);
        free(k);
        return 0;
}

/* Sorts vis; without a filter vis is every row, so the order is kept per
 * (column, direction) and sorting that way again is a copy. */
static int sort_vis_cached(struct view *v)
{
        bool all = !v->filter_garbage && !v->filter_type[0] && v->nvis == v->nrows;
        int col = v->sort_col, r;
        uint32_t **slot;

        if (col < 0 || col >= v->ops->ncols || col >= VIEW_MAX_COLS || v->nvis < 2)
                return sort_vis(v);
        slot = &v->order[col][v->sort_desc];
        if (all && *slot) {
                memcpy(v->vis, *slot, sizeof(uint32_t) * v->nvis);
                return 0;
        }
        r = sort_vis(v);
        if (r < 0 || !all)
                return r;
        *slot = malloc(sizeof(uint32_t) * v->nvis);
        if (*slot)                       /* only a cache: no memory, no copy */
                memcpy(*slot, v->vis, sizeof(uint32_t) * v->nvis);
        return 0;
}

int view_refresh(struct view *v)
{
        uint32_t keep = v->sel < v->nvis ? v->vis[v->sel] : UI_NONE;
        int r;

        if (!v->vis || v->nrows > 0) {
                uint32_t *vis = realloc(v->vis, sizeof(*vis) * (v->nrows + 1));

                if (!vis)
                        return -ENOMEM;
                v->vis = vis;
        }
        v->nvis = 0;
        for (uint32_t i = 0; i < v->nrows; i++)
                if (row_passes(v, &v->rows[i]))
                        v->vis[v->nvis++] = i;
        r = sort_vis_cached(v);
        if (r < 0)
                return r;
        v->sel = 0;
        if (keep != UI_NONE)
                for (uint32_t i = 0; i < v->nvis; i++)
                        if (v->vis[i] == keep) {
                                v->sel = i;
                                break;
                        }
        if (v->top > v->sel)
                v->top = v->sel;
        view_move(v, 0, v->page > 0 ? v->page : 1);
        return 0;
}

int view_sort_next(struct view *v)
{
        int n = v->ops->ncols;

        for (int k = 1; k <= n; k++) {
                int c = (v->sort_col + k + n) % n;

                if (v->sort_col < 0)
                        c = k - 1;
                if ((v->ops->cols[c].flags & COL_NOSORT) || !view_col_visible(v, c))
                        continue;
                v->sort_col = c;
                v->sort_desc = v->ops->cols[c].flags & COL_DESC;
                return view_refresh(v);
        }
        return -ENOTSUP;
}

int view_sort_reverse(struct view *v)
{
        if (v->sort_col < 0)
                return -ENOTSUP;
        v->sort_desc = !v->sort_desc;
        return view_refresh(v);
}

int view_set_filter(struct view *v, bool garbage_only, const char *type)
{
        int r;

        v->filter_garbage = garbage_only;
        snprintf(v->filter_type, sizeof(v->filter_type), "%s", type ? type : "");
        if (garbage_only && v->kind == VIEW_TYPES && (r = ix_by_type(v->ix)) < 0)
                return r;
        return view_refresh(v);
}

void view_move(struct view *v, int64_t delta, int page)
{
        int64_t s = (int64_t)v->sel + delta;

        if (page < 1)
                page = 1;
        v->page = page;
        if (s >= (int64_t)v->nvis)
                s = (int64_t)v->nvis - 1;
        if (s < 0)
                s = 0;
        v->sel = (uint32_t)s;
        if (v->sel < v->top)
                v->top = v->sel;
        if (v->sel >= v->top + (uint32_t)page)
                v->top = v->sel - (uint32_t)page + 1;
        /* no empty space below the last row when it can be filled */
        if (v->nvis > (uint32_t)page && v->top > v->nvis - (uint32_t)page)
                v->top = v->nvis - (uint32_t)page;
        if (v->nvis <= (uint32_t)page)
                v->top = 0;
}

void view_select(struct view *v, uint32_t vis_idx, int page)
{
        view_move(v, (int64_t)vis_idx - (int64_t)v->sel, page);
        /* a jump (search, back) shows the row a little below the top, like
         * less does, so its context is visible */
        if (v->sel >= v->top + (uint32_t)(page > 4 ? page - 2 : page) || v->sel < v->top) {
                v->top = v->sel > (uint32_t)page / 3 ? v->sel - (uint32_t)page / 3 : 0;
                view_move(v, 0, page);
        }
}

const struct row *view_row(const struct view *v, uint32_t vi)
{
        return vi < v->nvis ? &v->rows[v->vis[vi]] : NULL;
}

static bool parse_id(const char *s, uint64_t *ret)
{
        char *end;
        int base = 10;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                base = 16;
        if (!*s || (base == 10 && (*s < '0' || *s > '9')))
                return false;
        errno = 0;
        *ret = strtoull(s, &end, base);
        return !errno && !*end && end != s;
}

/* Could pattern be a piece of "0x1f..."? */
static bool hexish(const char *p)
{
        for (; *p; p++)
                if (!strchr("0123456789abcdefABCDEFxX", *p))
                        return false;
        return true;
}

int64_t view_search(const struct view *v, const char *pattern, int dir)
{
        uint64_t id = 0;
        bool is_id = parse_id(pattern, &id), hex = hexish(pattern);
        /* per column: the last stable text looked at and whether it
         * matched; lists repeat them row after row (a type name, a gen) */
        const char *memo[VIEW_MAX_COLS] = {0};
        bool memo_hit[VIEW_MAX_COLS] = {0};
        char buf[512];

        if (!v->nvis || !pattern[0])
                return -ENOENT;
        for (uint32_t k = 1; k <= v->nvis; k++) {
                uint32_t vi = (uint32_t)(((int64_t)v->sel + dir * (int64_t)k +
                                          (int64_t)v->nvis) % v->nvis);
                const struct row *r = view_row(v, vi);
                uint32_t o = view_row_obj(r);

                if (is_id && o != UI_NONE && v->h->objs[o].addr == id)
                        return vi;
                for (int col = 0; col < v->ops->ncols; col++) {
                        unsigned fl = v->ops->cols[col].flags;
                        struct cell c;
                        bool hit;

                        if (!(fl & COL_SEARCH) || ((fl & COL_HEX) && !hex))
                                continue;
                        v->ops->cell(v, r, col, buf, sizeof(buf), &c);
                        if (col < VIEW_MAX_COLS && c.stable && c.text == memo[col]) {
                                hit = memo_hit[col];
                        } else {
                                hit = strcasestr(c.text, pattern) != NULL;
                                if (col < VIEW_MAX_COLS && c.stable) {
                                        memo[col] = c.text;
                                        memo_hit[col] = hit;
                                }
                        }
                        if (hit)
                                return vi;
                }
        }
        return -ENOENT;
}

/* Column widths for a line of `width`: fixed ones as declared, the flexible
 * (width 0) one takes the rest. */
static int col_width(const struct view *v, int col, int width)
{
        int used = 1;

        if (v->ops->cols[col].width)
                return v->ops->cols[col].width;
        for (int c = 0; c < v->ops->ncols; c++)
                if (view_col_visible(v, c) && v->ops->cols[c].width)
                        used += v->ops->cols[c].width + 1;
        return width - used > 1 ? width - used : 1;
}

const char *view_format_header(const struct view *v, int width, char *out, size_t len)
{
        size_t pos = 0;
        int used = 0;

        out[0] = 0;
        if (v->ops->ncols == 1 && !v->ops->cols[0].title[0])
                return out;
        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        for (int c = 0; c < v->ops->ncols && used < width; c++) {
                const struct column *col = &v->ops->cols[c];
                char title[64];
                int w = col_width(v, c, width);

                if (!view_col_visible(v, c))
                        continue;
                if ((col->flags & COL_DELTA) && col->title[0] == 'D')
                        snprintf(title, sizeof(title), "%s%s", v->ix->utf8 ? "\u0394" : "+",
                                 col->title + 1);
                else
                        snprintf(title, sizeof(title), "%s", col->title);
                if (c == v->sort_col)
                        snprintf(title + strlen(title), sizeof(title) - strlen(title), "%s",
                                 v->sort_desc ? (v->ix->utf8 ? "\u25bc" : "v")
                                              : (v->ix->utf8 ? "\u25b2" : "^"));
                if (w > width - used)
                        w = width - used;
                used += fmt_fit(out, len, &pos, title, w, col->flags & COL_RIGHT, v->ix->utf8);
                if (used < width)
                        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        }
        if (used < width)
                fmt_fit(out, len, &pos, "", width - used, false, v->ix->utf8);
        return out;
}

const char *view_format_row(const struct view *v, uint32_t vi, int width, char *out,
                            size_t len, int *style)
{
        const struct row *r = view_row(v, vi);
        char buf[1024];
        size_t pos = 0;
        int used = 0;

        out[0] = 0;
        if (!r)
                return out;
        if (style)
                *style = r->style;
        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        for (int c = 0; c < v->ops->ncols && used < width; c++) {
                struct cell cell;
                int w = col_width(v, c, width);

                if (!view_col_visible(v, c))
                        continue;
                v->ops->cell(v, r, c, buf, sizeof(buf), &cell);
                if (w > width - used)
                        w = width - used;
                used += fmt_fit(out, len, &pos, cell.text ? cell.text : "", w,
                                v->ops->cols[c].flags & COL_RIGHT, v->ix->utf8);
                if (used < width)
                        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        }
        return out;
}

/* ---- life cycle ------------------------------------------------------------ */

int view_new(struct ui_index *ix, enum view_kind kind, uint32_t obj, uint32_t cycle,
             uint32_t type, bool local, struct view **ret)
{
        struct view *v;
        int r;

        if (kind >= VIEW__COUNT)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->kind = kind;
        v->ops = all_ops[kind];
        v->ix = ix;
        v->h = ix->h;
        v->obj = obj;
        v->cycle = cycle;
        v->type = type;
        v->local = local;
        v->member = kind == VIEW_CYCLE ? obj : UI_NONE;
        v->sort_col = -1;
        v->page = 1;
        r = v->ops->build(v);
        if (r >= 0)
                r = view_refresh(v);
        if (r < 0) {
                view_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

void view_free(struct view *v)
{
        if (!v)
                return;
        for (uint32_t i = 0; i < v->ntexts; i++)
                free(v->texts[i]);
        free(v->texts);
        free(v->rows);
        free(v->vis);
        for (int c = 0; c < VIEW_MAX_COLS; c++)
                for (int d = 0; d < 2; d++)
                        free(v->order[c][d]);
        free(v);
}
