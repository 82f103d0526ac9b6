/* view-index.c: the per-snapshot index (view-index.h).  Everything here
 * runs once per snapshot (or once per grouping), so that moving, sorting
 * and searching a list of 250k rows costs only what the rows themselves
 * cost. */
#include "grow.h"
#include "view-index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis.h"
#include "diff.h"
#include "heap-build.h"
#include "session.h"

const char *ui_type_name(const struct heap *h, uint32_t obj)
{
        uint32_t t = h->objs[obj].type;

        if (t >= h->ntypes || !h->types[t].fullname)
                return "?";
        return h->types[t].fullname;
}

/* ---- sorting on integer keys -------------------------------------------- */

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

int ui_index_keys(struct ui_index *ix, uint32_t n, struct keyrow **ret)
{
        if (!ix->sort_cnt) {
                ix->sort_cnt = malloc(sizeof(uint32_t) * 65536);
                if (!ix->sort_cnt)
                        return -ENOMEM;
        }
        if (n > ix->sort_cap) {
                void *p = heap_big_malloc(sizeof(struct keyrow) * 2 * (size_t)n);

                if (!p)
                        return -ENOMEM;
                heap_big_free(ix->sort_buf);
                ix->sort_buf = p;
                ix->sort_cap = n;
        }
        *ret = ix->sort_buf;
        return 0;
}

/* The second half of the scratch is the sort's other buffer. */
void ui_index_sort(struct ui_index *ix, struct keyrow *k, uint32_t n)
{
        radix_sort(k, (struct keyrow *)ix->sort_buf + ix->sort_cap, ix->sort_cnt, n);
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
int ui_index_by_type(struct ui_index *ix)
{
        const struct heap *h = ix->h;
        struct keyrow *k;
        char **names;
        int r;

        if (ix->type_start)
                return 0;
        ix->type_start = calloc((size_t)h->ntypes + 2, sizeof(uint32_t));
        ix->type_objs = heap_big_malloc(sizeof(uint32_t) * ((size_t)h->nobjs + 1));
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
        r = ui_index_keys(ix, h->nobjs, &k);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < h->nobjs; i++)
                k[i] = (struct keyrow){ui_sort_key((int64_t)ui_obj_retained(h, i), true), i};
        ui_index_sort(ix, k, h->nobjs);
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
        if (GROW(st->pool, st->cappool, st->npool + n, 64) < 0)
                return -ENOMEM;
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

/* The distinct member types of cycle i, ascending, into *types (grown as
 * needed); members of no known type add one UINT32_MAX.  A stamp per type,
 * no sort of the members: a giant component has most of the heap. */
static int member_types(const struct heap *h, const struct heap_cycles *c, uint32_t i,
                        uint32_t *stamp, uint32_t **types, uint32_t *captypes, uint32_t *ret_n)
{
        uint32_t nt = 0;
        bool odd = false;

        for (uint32_t k = c->start[i]; k < c->start[i + 1]; k++) {
                uint32_t t = h->objs[c->members[k]].type, p;

                if (t >= h->ntypes) {
                        odd = true;
                        continue;
                }
                if (stamp[t] == i + 1)
                        continue;
                stamp[t] = i + 1;
                if (nt + 1 >= *captypes) {
                        uint32_t *bigger = realloc(*types, sizeof(*bigger) * *captypes * 2);

                        if (!bigger)
                                return -ENOMEM;
                        *types = bigger;
                        *captypes *= 2;
                }
                /* insertion keeps them ascending: sets are small */
                p = nt++;
                while (p > 0 && (*types)[p - 1] > t) {
                        (*types)[p] = (*types)[p - 1];
                        p--;
                }
                (*types)[p] = t;
        }
        if (odd)
                (*types)[nt++] = UINT32_MAX;
        *ret_n = nt;
        return 0;
}

/* Appends the text of a new signature; takes text (NULL: out of memory). */
static int sig_append(struct ui_index *ix, bool local, uint32_t *captexts, char *text)
{
        uint32_t n = ix->nsig[local];

        if (!text)
                return -ENOMEM;
        if (n == *captexts) {
                char **p = realloc(ix->sig_text[local], sizeof(*p) * *captexts * 2);

                if (!p) {
                        free(text);
                        return -ENOMEM;
                }
                ix->sig_text[local] = p;
                *captexts *= 2;
        }
        ix->sig_text[local][n] = text;
        ix->nsig[local] = n + 1;
        return 0;
}

/* The signature id of every cycle of one grouping, and the texts of the
 * distinct signatures. */
static int sigs_intern(struct ui_index *ix, bool local)
{
        const struct heap *h = ix->h;
        const struct heap_cycles *c = ui_cycle_set(h, local);
        struct sigtab st = {0};
        uint32_t *stamp, *types, captypes = 64, captexts = 16;
        int r = -ENOMEM;

        ix->sig_id[local] = heap_big_malloc(sizeof(uint32_t) * ((size_t)c->n + 1));
        ix->cycle_of[local] = heap_big_calloc((size_t)h->nobjs + 1, sizeof(uint32_t));
        ix->sig_text[local] = malloc(sizeof(char *) * captexts);
        stamp = calloc((size_t)h->ntypes + 1, sizeof(*stamp));
        types = malloc(sizeof(*types) * captypes);
        if (!ix->sig_id[local] || !ix->cycle_of[local] || !ix->sig_text[local] || !stamp ||
            !types)
                goto out;
        for (uint32_t i = 0; i < c->n; i++) {
                uint32_t nt, id;
                bool fresh;

                for (uint32_t k = c->start[i]; k < c->start[i + 1]; k++)
                        if (c->members[k] < h->nobjs)
                                ix->cycle_of[local][c->members[k]] = i + 1;
                if (member_types(h, c, i, stamp, &types, &captypes, &nt) < 0 ||
                    sigtab_intern(&st, types, nt, &id, &fresh) < 0)
                        goto out;
                if (fresh && sig_append(ix, local, &captexts, cycle_sig_text(h, c, i)) < 0)
                        goto out;
                ix->sig_id[local][i] = id - 1;
        }
        r = 0;
out:
        free(stamp);
        free(types);
        free(st.slots);
        free(st.pool);
        return r;
}

/* The growth of each shape since the previous snapshot, by signature. */
static int sigs_growth(struct ui_index *ix, bool local)
{
        const struct heap_diff *d = ix->diff;
        size_t n;
        char ***by;

        if (!d)
                return 0;
        n = local ? d->nshapes_local : d->nshapes;
        by = local ? names_by_name(d->shapes_local, d->nshapes_local, sizeof(*d->shapes_local))
                   : names_by_name(d->shapes, d->nshapes, sizeof(*d->shapes));
        if (!by)
                return -ENOMEM;
        for (uint32_t s = 0; s < ix->nsig[local]; s++) {
                const struct heap_diff_shape *e = find_by_name(by, n, ix->sig_text[local][s]);

                ix->sig_dcycles[local][s] = e ? e->dcycles : 0;
        }
        free(by);
        return 0;
}

/* The order the Cycles screen opens in: retained, biggest first. */
static int cycles_order(struct ui_index *ix, bool local)
{
        const struct heap_cycles *c = ui_cycle_set(ix->h, local);
        struct keyrow *k;

        ix->cycle_order[local] = heap_big_malloc(sizeof(uint32_t) * ((size_t)c->n + 1));
        if (!ix->cycle_order[local] || ui_index_keys(ix, c->n + 1, &k) < 0)
                return -ENOMEM;
        for (uint32_t i = 0; i < c->n; i++)
                k[i] = (struct keyrow){ui_sort_key((int64_t)ui_cycle_retained(c, i), true), i};
        ui_index_sort(ix, k, c->n);
        for (uint32_t i = 0; i < c->n; i++)
                ix->cycle_order[local][i] = k[i].row;
        return 0;
}

/* Signatures of every cycle of one grouping (interned), their ranks, the
 * growth of each shape, and the default order (retained desc). */
int ui_index_sigs(struct ui_index *ix, bool local)
{
        int r;

        if (ix->sig_id[local])
                return 0;
        r = sigs_intern(ix, local);
        if (r < 0)
                return r;
        ix->sig_rank[local] = text_ranks(ix->sig_text[local], ix->nsig[local]);
        ix->sig_dcycles[local] = calloc((size_t)ix->nsig[local] + 1, sizeof(int64_t));
        if (!ix->sig_rank[local] || !ix->sig_dcycles[local])
                return -ENOMEM;
        r = sigs_growth(ix, local);
        if (r >= 0)
                r = cycles_order(ix, local);
        return r;
}

int ui_index_cycle_of(const struct ui_index *ix, bool local, uint32_t obj, uint32_t *ret_cycle)
{
        if (!ix->cycle_of[local])
                return -EINVAL;
        if (obj >= ix->h->nobjs || !ix->cycle_of[local][obj])
                return -ENOENT;
        *ret_cycle = ix->cycle_of[local][obj] - 1;
        return 0;
}

const char *ui_index_sig(const struct ui_index *ix, bool local, uint32_t cycle)
{
        return ix->sig_id[local] ? ix->sig_text[local][ix->sig_id[local][cycle]] : "";
}

int64_t ui_index_sig_growth(const struct ui_index *ix, bool local, uint32_t cycle)
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

const char *ui_index_preview(const struct ui_index *ix, uint32_t obj)
{
        uint32_t k = ix->preview_at ? ix->preview_at[obj] : 0;

        return k ? ix->h->preview_pool + ix->h->preview_off[k - 1] : NULL;
}

/* The flags column shows four bits as letters; its 16 texts ranked once. */
const char *ui_flags_text(uint8_t f, char *buf)
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

                ui_flags_text(flags_bits(k), a);
                for (unsigned j = 0; j < 16; j++)
                        r += strcasecmp(ui_flags_text(flags_bits(j), b), a) < 0;
                ix->flags_rank[k] = r;
        }
}

uint8_t ui_index_flags_rank(const struct ui_index *ix, uint8_t flags)
{
        return ix->flags_rank[flags_key(flags)];
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
                r = ui_index_by_type(ix);
        if (r >= 0 && h->cycles.start)
                r = ui_index_sigs(ix, false);
        if (r >= 0 && h->cycles_local.start)
                r = ui_index_sigs(ix, true);
        if (r < 0) {
                ui_index_free(ix);
                return r;
        }
        /* the scratch grew to every object for ui_index_by_type: lists need less */
        heap_big_free(ix->sort_buf);
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
        heap_big_free(ix->type_objs);
        free(ix->type_garbage);
        free(ix->type_rank);
        free(ix->type_dcount);
        free(ix->type_dbytes);
        for (int g = 0; g < 2; g++) {
                if (ix->sig_text[g])
                        for (uint32_t i = 0; i < ix->nsig[g]; i++)
                                free(ix->sig_text[g][i]);
                free(ix->sig_text[g]);
                heap_big_free(ix->sig_id[g]);
                free(ix->sig_rank[g]);
                free(ix->sig_dcycles[g]);
                heap_big_free(ix->cycle_order[g]);
                heap_big_free(ix->cycle_of[g]);
        }
        free(ix->newbits);
        free(ix->preview_at);
        heap_big_free(ix->sort_buf);
        free(ix->sort_cnt);
        free(ix->frame_start);
        free(ix->frame_roots);
        free(ix);
}

bool ui_index_is_new(const struct ui_index *ix, uint32_t obj)
{
        return ix->newbits && (ix->newbits[obj / 64] >> (obj % 64)) & 1;
}

/* Locals of each frame: the THREAD roots, bucketed by frame. */
int ui_index_frames(struct ui_index *ix)
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
