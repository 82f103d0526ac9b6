/* probe: PyTypeObject and PyModuleObject fields settled on the target's
 * objects (see probe.h). */
#include "probe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "memsrc.h"

/* Flags every version sets on these static types (tp_flags fast-subclass
 * bits, object.h). */
#define F_LIST_SUBCLASS  (1ul << 25)
#define F_TUPLE_SUBCLASS (1ul << 26)
#define F_DICT_SUBCLASS  (1ul << 29)
#define F_TYPE_SUBCLASS  (1ul << 31)

/* PyModuleDef is in the stable ABI: m_name follows the 40-byte
 * PyModuleDef_Base in every version; m_size and m_traverse come from the
 * layout (MODULEDEF), the whole def is 13 words. */
#define MODULEDEF_NAME   40u
#define MODULEDEF_WORDS  13u

/* Scan bounds: target memory is hostile. */
#define MAX_DICT_ENTRIES 4096u
#define MAX_MODULE_WORDS 64u
#define MAX_PROBE_MODS   128u
#define MAX_NAME         64u

struct pr {
        struct memsrc *m;
        const struct pyinterp *pi;
        const struct layout *l;
};

static bool rd(const struct pr *p, uint64_t addr, uint64_t *v)
{
        return addr && memsrc_read_u64(p->m, addr, v) == 0;
}

static bool plausible(uint64_t v)
{
        return v >= 4096 && v < (1ull << 47) && !(v & 7);
}

static bool is_a(const struct pr *p, uint64_t obj, enum pysym_id type)
{
        uint64_t t;

        return p->pi->sym[type] && plausible(obj) &&
               rd(p, obj + lo(p->l, LF_OBJECT_TYPE), &t) && t == p->pi->sym[type];
}

/* A NUL-terminated C string of at most MAX_NAME - 1 printable bytes. */
static bool cstr(const struct pr *p, uint64_t addr, char *buf)
{
        /* C strings need no alignment */
        if (addr < 4096 || addr >= (1ull << 47))
                return false;
        for (size_t i = 0; i < MAX_NAME; i += 8) {
                if (memsrc_read(p->m, addr + i, buf + i, 8) < 0)
                        return false;
                for (size_t j = i; j < i + 8; j++) {
                        if (!buf[j])
                                return j > 0;
                        if (buf[j] < 0x20 || buf[j] > 0x7e)
                                return false;
                }
        }
        return false;
}

/* The text of a compact ASCII str (every module name and tp_name seen). */
static bool str_text(const struct pr *p, uint64_t s, char *buf)
{
        const struct layout *l = p->l;
        uint64_t len;
        uint32_t state;

        if (!is_a(p, s, PYSYM_UNICODE_TYPE) || !lhas(l, LF_ASCII_LENGTH) ||
            !lhas(l, LF_ASCII_STATE) || !lsz(l, LS_ASCII) ||
            !rd(p, s + lo(l, LF_ASCII_LENGTH), &len) || len == 0 || len >= MAX_NAME ||
            memsrc_read(p->m, s + lo(l, LF_ASCII_STATE), &state, 4) < 0 ||
            (state & 0x60) != 0x60 ||   /* bit 5 compact, bit 6 ascii */
            memsrc_read(p->m, s + lsz(l, LS_ASCII), buf, len) < 0)
                return false;
        buf[len] = '\0';
        return true;
}

/* The value the combined dict at dict maps the ASCII str key to (read
 * entry by entry, bounded by MAX_DICT_ENTRIES). */
static bool dict_get(const struct pr *p, uint64_t dict, const char *key, uint64_t *ret)
{
        const struct layout *l = p->l;
        uint64_t keys, values, n, start, esize = 24, voff = 16, koff = 8;
        uint8_t kind = 0, log2_index;

        if (!is_a(p, dict, PYSYM_DICT_TYPE) || !lhas(l, LF_DICT_KEYS) ||
            !lhas(l, LF_DICT_VALUES) || !lhas(l, LF_DICTKEYS_NENTRIES) ||
            !lhas(l, LF_DICTKEYS_INDICES) || !rd(p, dict + lo(l, LF_DICT_KEYS), &keys) ||
            !rd(p, dict + lo(l, LF_DICT_VALUES), &values) || values || !plausible(keys) ||
            !rd(p, keys + lo(l, LF_DICTKEYS_NENTRIES), &n) || n > MAX_DICT_ENTRIES)
                return false;
        if (lhas(l, LF_DICTKEYS_LOG2_INDEX_BYTES)) {   /* 3.11+ */
                if (memsrc_read(p->m, keys + lo(l, LF_DICTKEYS_LOG2_INDEX_BYTES), &log2_index,
                                1) < 0 || log2_index > 40 || (lhas(l, LF_DICTKEYS_KIND) &&
                    memsrc_read(p->m, keys + lo(l, LF_DICTKEYS_KIND), &kind, 1) < 0))
                        return false;
                start = keys + lo(l, LF_DICTKEYS_INDICES) + (1ull << log2_index);
                if (kind) {   /* unicode and split entries: {key, value} */
                        esize = 16;
                        voff = 8;
                        koff = 0;
                }
        } else {                                       /* <=3.10: dk_size */
                uint64_t size, width;

                if (!lhas(l, LF_DICTKEYS_SIZE) || !rd(p, keys + lo(l, LF_DICTKEYS_SIZE), &size) ||
                    !size || size > 8 * MAX_DICT_ENTRIES || (size & (size - 1)))
                        return false;
                width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
                start = keys + lo(l, LF_DICTKEYS_INDICES) + size * width;
        }
        for (uint64_t i = 0; i < n; i++) {
                uint64_t k;
                char text[MAX_NAME];

                if (rd(p, start + i * esize + koff, &k) && str_text(p, k, text) &&
                    !strcmp(text, key))
                        return rd(p, start + i * esize + voff, ret);
        }
        return false;
}

/* Whether the str v has the text of the dict's "__name__" (importlib may
 * set the same name as another str object). */
static bool dict_names(const struct pr *p, uint64_t dict, uint64_t v)
{
        char a[MAX_NAME], b[MAX_NAME];
        uint64_t name;

        return str_text(p, v, a) && dict_get(p, dict, "__name__", &name) &&
               (name == v || (str_text(p, name, b) && !strcmp(a, b)));
}

/* --- PyTypeObject --------------------------------------------------------- */

/* The word (or byte-width field) of a static type at off, or false. */
static bool tword(const struct pr *p, enum pysym_id t, uint32_t off, uint64_t *v)
{
        return p->pi->sym[t] && rd(p, p->pi->sym[t] + off, v);
}

static bool tnull(const struct pr *p, enum pysym_id t, uint32_t off)
{
        uint64_t v;

        return tword(p, t, off, &v) && v == 0;
}

/* A tuple of n items, the first want0 (0: any), the last wantn (0: any). */
static bool tuple_is(const struct pr *p, uint64_t tup, uint64_t n, uint64_t want0,
                     uint64_t wantn)
{
        const struct layout *l = p->l;
        uint64_t len, a, b;

        if (!is_a(p, tup, PYSYM_TUPLE_TYPE) || !lhas(l, LF_VAROBJECT_SIZE) ||
            !lhas(l, LF_TUPLE_ITEM) || !rd(p, tup + lo(l, LF_VAROBJECT_SIZE), &len) || len != n)
                return false;
        if (!n)
                return true;
        return rd(p, tup + lo(l, LF_TUPLE_ITEM), &a) &&
               rd(p, tup + lo(l, LF_TUPLE_ITEM) + 8 * (n - 1), &b) &&
               (!want0 || a == want0) && (!wantn || b == wantn);
}

struct type_probe {
        const struct pr *p;
        const uint64_t *heap;
        size_t nheap;
        uint32_t size;
};

/* Whether field f of PyTypeObject at off reads what the interpreter put
 * there on its static types (and its classes, for tp_dict). */
static bool type_field_holds(const struct type_probe *tp, int f, uint32_t off)
{
        const struct pr *p = tp->p;
        const uint64_t *s = p->pi->sym;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        char name[MAX_NAME];

        switch (f) {
        case LF_TYPE_NAME:
                return tword(p, PYSYM_LIST_TYPE, off, &a) && cstr(p, a, name) &&
                       !strcmp(name, "list") && tword(p, PYSYM_DICT_TYPE, off, &b) &&
                       cstr(p, b, name) && !strcmp(name, "dict");
        case LF_TYPE_BASICSIZE:
                return tword(p, PYSYM_LIST_TYPE, off, &a) && a == lsz(p->l, LS_LIST) &&
                       tword(p, PYSYM_DICT_TYPE, off, &b) && b == lsz(p->l, LS_DICT) &&
                       tword(p, PYSYM_FLOAT_TYPE, off, &c) && c == lsz(p->l, LS_FLOAT);
        case LF_TYPE_ITEMSIZE:
                return tword(p, PYSYM_TUPLE_TYPE, off, &a) && a == 8 &&
                       tword(p, PYSYM_BYTES_TYPE, off, &b) && b == 1 &&
                       tnull(p, PYSYM_LIST_TYPE, off) && tnull(p, PYSYM_FLOAT_TYPE, off);
        case LF_TYPE_FLAGS:
                return tword(p, PYSYM_LIST_TYPE, off, &a) && (a & F_LIST_SUBCLASS) &&
                       !(a & F_DICT_SUBCLASS) && tword(p, PYSYM_TUPLE_TYPE, off, &b) &&
                       (b & F_TUPLE_SUBCLASS) && tword(p, PYSYM_DICT_TYPE, off, &c) &&
                       (c & F_DICT_SUBCLASS) && tword(p, PYSYM_TYPE_TYPE, off, &d) &&
                       (d & F_TYPE_SUBCLASS);
        case LF_TYPE_TRAVERSE:
                return tword(p, PYSYM_LIST_TYPE, off, &a) && tword(p, PYSYM_DICT_TYPE, off, &b) &&
                       tword(p, PYSYM_TUPLE_TYPE, off, &c) && a && b && c && a != b &&
                       b != c && a != c && tnull(p, PYSYM_FLOAT_TYPE, off) &&
                       tnull(p, PYSYM_UNICODE_TYPE, off) && tnull(p, PYSYM_LONG_TYPE, off);
        case LF_TYPE_WEAKLISTOFFSET:
        case LF_TYPE_DICTOFFSET:
                /* type's instances (classes) keep both inside the type
                 * struct; lists keep neither */
                return tword(p, PYSYM_TYPE_TYPE, off, &a) && a >= 16 && a < tp->size &&
                       !(a & 7) && tnull(p, PYSYM_LIST_TYPE, off) &&
                       tnull(p, PYSYM_FLOAT_TYPE, off);
        case LF_TYPE_MEMBERS:
                /* type's members begin with a dunder name; list has none */
                return tword(p, PYSYM_TYPE_TYPE, off, &a) && rd(p, a, &b) && cstr(p, b, name) &&
                       !strncmp(name, "__", 2) && tnull(p, PYSYM_LIST_TYPE, off) &&
                       tnull(p, PYSYM_DICT_TYPE, off);
        case LF_TYPE_BASE:
                return s[PYSYM_BOOL_TYPE] && tword(p, PYSYM_BOOL_TYPE, off, &a) &&
                       a == s[PYSYM_LONG_TYPE] && tword(p, PYSYM_LONG_TYPE, off, &b) &&
                       b == s[PYSYM_OBJECT_TYPE] && tnull(p, PYSYM_OBJECT_TYPE, off);
        case LF_TYPE_DICT:
                if (tp->nheap == 0)
                        return false;
                for (size_t i = 0; i < tp->nheap; i++)
                        if (!rd(p, tp->heap[i] + off, &a) || !is_a(p, a, PYSYM_DICT_TYPE))
                                return false;
                return true;
        case LF_TYPE_IS_GC:
                return tword(p, PYSYM_TYPE_TYPE, off, &a) && a && tnull(p, PYSYM_LIST_TYPE, off) &&
                       tnull(p, PYSYM_DICT_TYPE, off) && tnull(p, PYSYM_LONG_TYPE, off);
        case LF_TYPE_BASES:
                return tword(p, PYSYM_BOOL_TYPE, off, &a) &&
                       tuple_is(p, a, 1, s[PYSYM_LONG_TYPE], 0) &&
                       tword(p, PYSYM_OBJECT_TYPE, off, &b) && tuple_is(p, b, 0, 0, 0);
        case LF_TYPE_MRO:
                return tword(p, PYSYM_BOOL_TYPE, off, &a) &&
                       tuple_is(p, a, 3, s[PYSYM_BOOL_TYPE], s[PYSYM_OBJECT_TYPE]) &&
                       tword(p, PYSYM_LIST_TYPE, off, &b) &&
                       tuple_is(p, b, 2, s[PYSYM_LIST_TYPE], s[PYSYM_OBJECT_TYPE]);
        case LF_TYPE_SUBCLASSES:
                /* object has subclasses: a dict of them (<=3.11) or, for
                 * a static builtin type, its small index (3.12+) */
                return tword(p, PYSYM_OBJECT_TYPE, off, &a) && a &&
                       (a < 4096 || is_a(p, a, PYSYM_DICT_TYPE)) &&
                       tword(p, PYSYM_LONG_TYPE, off, &b) && b &&
                       (b < 4096 || is_a(p, b, PYSYM_DICT_TYPE));
        case LF_TYPE_CACHE:
        case LF_TYPE_DEL:
                /* unused by every builtin type */
                return tnull(p, PYSYM_LIST_TYPE, off) && tnull(p, PYSYM_DICT_TYPE, off) &&
                       tnull(p, PYSYM_OBJECT_TYPE, off) && tnull(p, PYSYM_TYPE_TYPE, off) &&
                       tnull(p, PYSYM_GEN_TYPE, off);
        case LF_TYPE_FINALIZE:
                return tword(p, PYSYM_GEN_TYPE, off, &a) && a &&
                       tword(p, PYSYM_CORO_TYPE, off, &b) && b &&
                       tnull(p, PYSYM_LIST_TYPE, off) && tnull(p, PYSYM_DICT_TYPE, off);
        default:
                return false;   /* a field no check reads is not placed */
        }
}

/* nb's TYPE fields, those at or after pivot moved by delta, into out;
 * false when one leaves the struct or disagrees with a field l has. */
static bool type_candidate(const struct layout *l, const struct layout *nb, uint32_t pivot,
                           int delta, uint32_t size, struct layout *out)
{
        for (int f = 0; f < LF__COUNT; f++) {
                struct layout_field_info x = nb->f[f];

                if (layout_field_struct(f) != LS_TYPE) {
                        continue;
                }
                out->f[f].present = false;
                if (!x.present)
                        continue;
                if (x.offset >= pivot)
                        x.offset = (uint32_t)((int64_t)x.offset + delta);
                if (x.offset < 16 || x.offset + (x.size ? x.size : 8) > size)
                        return false;
                if (lhas(l, f) && lo(l, f) != x.offset)
                        return false;
                out->f[f] = x;
        }
        return true;
}

/* -1 when every field of cand holds, else the first that does not. */
static int type_candidate_fails(const struct type_probe *tp, const struct layout *cand)
{
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_TYPE && cand->f[f].present &&
                    !type_field_holds(tp, f, cand->f[f].offset))
                        return f;
        return -1;
}

int probe_type(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
               const struct layout *nb, uint32_t size, const uint64_t *heap, size_t nheap,
               struct layout *out, char *why, size_t len)
{
        const struct pr p = { m, pi, l };
        const struct type_probe tp = { &p, heap, nheap, size };
        int64_t delta = (int64_t)size - lsz(nb, LS_TYPE);
        uint32_t pivots[LF__COUNT + 1], pick_pivot = 0;
        size_t npiv = 0, fits = 0;
        int failed, first_failed = -1;
        struct layout *cand = malloc(2 * sizeof(*cand));

        if (!cand)
                return -ENOMEM;
        if (!lsz(nb, LS_TYPE) || delta < -32 || delta > 32 || (delta & 7)) {
                free(cand);
                return -ENOENT;
        }
        /* where the word(s) went: after every field (appended), or before
         * one of the neighbour's fields */
        pivots[npiv++] = UINT32_MAX;
        for (int f = 0; f < LF__COUNT && delta; f++)
                if (layout_field_struct(f) == LS_TYPE && nb->f[f].present)
                        pivots[npiv++] = nb->f[f].offset;
        for (size_t i = 0; i < npiv; i++) {
                bool dup = false;

                for (size_t j = 0; j < i && !dup; j++)
                        dup = pivots[j] == pivots[i];
                cand[0] = *l;
                if (dup || !type_candidate(l, nb, pivots[i], (int)delta, size, &cand[0]))
                        continue;
                failed = type_candidate_fails(&tp, &cand[0]);
                if (failed >= 0) {
                        if (first_failed < 0)
                                first_failed = failed;
                        continue;
                }
                if (fits && !memcmp(cand[0].f, cand[1].f, sizeof(cand[0].f)))
                        continue;
                cand[1] = cand[0];
                pick_pivot = pivots[i];
                fits++;
        }
        if (fits == 1) {
                for (int f = 0; f < LF__COUNT; f++)
                        if (layout_field_struct(f) == LS_TYPE)
                                out->f[f] = cand[1].f[f];
                out->s[LS_TYPE] = (struct layout_struct_info){ .size = size, .present = true };
                if (pick_pivot == UINT32_MAX)
                        snprintf(why, len, "TYPE fields where the neighbour has them, %u bytes "
                                 "(each read on static types whose value the interpreter "
                                 "fixes: list's tp_name, bool's tp_base and tp_mro, tuple's "
                                 "tp_itemsize, ...; and tp_dict a dict on %zu classes)", size,
                                 nheap);
                else
                        snprintf(why, len, "TYPE fields from the neighbour's, those from +%u "
                                 "moved by %lld, %u bytes (each read on static types whose "
                                 "value the interpreter fixes, and tp_dict a dict on %zu "
                                 "classes)", pick_pivot, (long long)delta, size, nheap);
        }
        else if (fits)
                snprintf(why, len, "TYPE: %zu placements of the neighbour's fields hold", fits);
        else
                snprintf(why, len, "TYPE: no placement of the neighbour's fields holds (%s "
                         "where it has it does not)", first_failed >= 0 ?
                         layout_field_name(first_failed) : "a field outside the struct");
        free(cand);
        return fits == 1 ? 0 : fits ? -EBADMSG : -ENOENT;
}

/* --- PyModuleObject ------------------------------------------------------- */

struct mod_probe {
        const struct pr *p;
        size_t n, nw;                          /* modules, words read of each */
        uint64_t (*w)[MAX_MODULE_WORDS];       /* each module's words */
        uint64_t dict[MAX_PROBE_MODS], def[MAX_PROBE_MODS];
        uint64_t dsize[MAX_PROBE_MODS], dtrav[MAX_PROBE_MODS];
        uint64_t dwords[MAX_PROBE_MODS][MODULEDEF_WORDS];
        char name[MAX_PROBE_MODS][MAX_NAME];
        bool odd[MAX_PROBE_MODS];              /* its def word is no def of it */
        bool used[MAX_MODULE_WORDS];
};

enum mod_role { R_DICT, R_NAME, R_DEF, R_SIZE, R_TRAV, R_STATE };

/* Whether module i's word v fits the role. */
static bool mod_word_fits(const struct mod_probe *mp, size_t i, enum mod_role r, uint64_t v)
{
        const struct pr *p = mp->p;
        const struct mem_region *reg;
        char buf[MAX_NAME];
        uint64_t n;

        switch (r) {
        case R_DICT:
                return is_a(p, v, PYSYM_DICT_TYPE);
        case R_NAME:
                /* a module may rename itself (_collections_abc's
                 * __name__ is "collections.abc"): the dicts of most tell */
                return str_text(p, v, buf);
        case R_DEF:
                /* NULL (a Python module) or a pointer: the def, or (3.15)
                 * a token that is not a def (telling picks the word) */
                (void)n;
                return !v || plausible(v);
        case R_SIZE:
                return mp->odd[i] || v == (mp->def[i] ? mp->dsize[i] : 0);
        case R_TRAV:
                return mp->odd[i] || v == (mp->def[i] ? mp->dtrav[i] : 0);
        case R_STATE:
                if (mp->odd[i] || (mp->def[i] && (int64_t)mp->dsize[i] <= 0))
                        return true;   /* 3.15 gives _imp (m_size 0) a state */
                if (!mp->def[i])
                        return v == 0;
                /* the state is allocated data, not code (md_exec) */
                if (!plausible(v) || !(reg = memsrc_region_of(p->m, v)) || !reg->w || reg->x)
                        return false;
                /* not a copy of one of the def's words (md_state_clear,
                 * md_state_free, md_token 3.15) */
                for (size_t k = 0; k < MODULEDEF_WORDS; k++)
                        if (mp->dwords[i][k] == v)
                                return false;
                return v != mp->def[i];
        }
        return false;
}

/* Whether the role needs at least one module to tell it from a word that
 * is always 0: the size, traverse and state of a def that has them. */
static bool mod_word_telling(const struct mod_probe *mp, size_t i, size_t k, enum mod_role r)
{
        char buf[MAX_NAME];
        uint64_t n;

        switch (r) {
        case R_NAME:
                return dict_names(mp->p, mp->dict[i], mp->w[i][k]);
        case R_DEF:
                return mp->w[i][k] && rd(mp->p, mp->w[i][k] + MODULEDEF_NAME, &n) &&
                       cstr(mp->p, n, buf) && !strcmp(buf, mp->name[i]);
        case R_SIZE:
                return mp->def[i] && mp->dsize[i];
        case R_TRAV:
                return mp->def[i] && mp->dtrav[i];
        case R_STATE:
                return mp->def[i] && (int64_t)mp->dsize[i] > 0;
        default:
                return true;
        }
}

/* The one word index (from 2, after the object header) where every module
 * fits r and (minimum telling) modules tell it apart; -1 none, -2 more
 * than one. */
static int mod_find(struct mod_probe *mp, enum mod_role r, size_t telling)
{
        int pick = -1;

        for (size_t k = 2; k < mp->nw; k++) {
                size_t tells = 0;
                bool all = !mp->used[k];

                for (size_t i = 0; i < mp->n && all; i++) {
                        all = mod_word_fits(mp, i, r, mp->w[i][k]);
                        tells += all && mod_word_telling(mp, i, k, r);
                }
                if (!all || tells < telling)
                        continue;
                if (pick >= 0)
                        return -2;
                pick = (int)k;
        }
        if (pick >= 0)
                mp->used[pick] = true;
        return pick;
}

/* The defs the modules' word k points at: their size and traverse. */
static bool mod_defs(struct mod_probe *mp, int k)
{
        const struct layout *l = mp->p->l;

        if (!lhas(l, LF_MODULEDEF_SIZE) || !lhas(l, LF_MODULEDEF_TRAVERSE))
                return false;
        for (size_t i = 0; i < mp->n; i++) {
                char buf[MAX_NAME];
                uint64_t name;

                mp->def[i] = mp->w[i][k];
                if (!mp->def[i])
                        continue;
                if (!rd(mp->p, mp->def[i] + MODULEDEF_NAME, &name) || !cstr(mp->p, name, buf) ||
                    strcmp(buf, mp->name[i])) {
                        /* a token that is not a def, or a def named
                         * otherwise: this module tells nothing of the
                         * fields copied from a def */
                        mp->odd[i] = true;
                        mp->def[i] = 0;
                        continue;
                }
                if (memsrc_read(mp->p->m, mp->def[i], mp->dwords[i], sizeof(mp->dwords[i])) < 0 ||
                    !rd(mp->p, mp->def[i] + lo(l, LF_MODULEDEF_SIZE), &mp->dsize[i]) ||
                    !rd(mp->p, mp->def[i] + lo(l, LF_MODULEDEF_TRAVERSE), &mp->dtrav[i]))
                        return false;
        }
        return true;
}

static void set8(struct layout *out, enum layout_field_id f, int k)
{
        out->f[f] = (struct layout_field_info){ .offset = (uint32_t)k * 8, .size = 8,
                                                .elem_size = 8, .present = true };
}

static int mod_unsettled(int found, const char *what, size_t n, char *why, size_t len)
{
        snprintf(why, len, "%s word for %s on %zu live modules", found == -2 ? "more than one" :
                 "no", what, n);
        return found == -2 ? -EBADMSG : -ENOENT;
}

static int mod_settle(struct mod_probe *mp, uint32_t size, struct layout *out, char *why,
                      size_t len)
{
        int dict, name, def, msize, trav, state;

        if ((dict = mod_find(mp, R_DICT, 1)) < 0)
                return mod_unsettled(dict, "md_dict (a dict)", mp->n, why, len);
        for (size_t i = 0; i < mp->n; i++)
                mp->dict[i] = mp->w[i][dict];
        if ((name = mod_find(mp, R_NAME, (mp->n + 1) / 2)) < 0)
                return mod_unsettled(name, "md_name (a str its md_dict holds)", mp->n, why, len);
        for (size_t i = 0; i < mp->n; i++)
                if (!str_text(mp->p, mp->w[i][name], mp->name[i]))
                        return -ENOENT;
        if ((def = mod_find(mp, R_DEF, 2)) < 0)
                return mod_unsettled(def, "the module's def (NULL or a PyModuleDef named like "
                                     "it)", mp->n, why, len);
        if (!mod_defs(mp, def))
                return mod_unsettled(-1, "the module's def (a readable PyModuleDef)", mp->n, why,
                                     len);
        msize = mod_find(mp, R_SIZE, 1);
        trav = mod_find(mp, R_TRAV, 1);
        if (msize == -2 || trav == -2 || (msize >= 0) != (trav >= 0))
                /* the def's values copied in part: no telling */
                return mod_unsettled(-2, "md_state_size and md_state_traverse (the def's)",
                                     mp->n, why, len);
        if ((state = mod_find(mp, R_STATE, 1)) < 0)
                return mod_unsettled(state, "md_state (non-NULL where the def asks for a "
                                     "state)", mp->n, why, len);
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_MODULE)
                        out->f[f].present = false;
        set8(out, LF_MODULE_DICT, dict);
        set8(out, LF_MODULE_NAME, name);
        set8(out, LF_MODULE_STATE, state);
        if (msize >= 0) {
                set8(out, LF_MODULE_STATE_SIZE, msize);
                set8(out, LF_MODULE_STATE_TRAVERSE, trav);
        } else {
                set8(out, LF_MODULE_DEF, def);
        }
        out->s[LS_MODULE] = (struct layout_struct_info){ .size = size, .present = true };
        snprintf(why, len, "MODULE %u bytes: md_dict +%d (a dict on all %zu live modules), "
                 "md_name +%d (a str, the __name__ of its md_dict on most), %s +%d (NULL or a "
                 "PyModuleDef named like the module), %s, md_state +%d (writable data where "
                 "the def asks for a state, NULL on Python modules)", size, dict * 8, mp->n,
                 name * 8, msize >= 0 ? "md_token" : "md_def", def * 8,
                 msize >= 0 ? "md_state_size and md_state_traverse the def's m_size and "
                 "m_traverse" : "no copy of the def's m_size and m_traverse", state * 8);
        if (msize >= 0) {
                size_t at = strlen(why);

                snprintf(why + at, len - at, " (md_state_size +%d, md_state_traverse +%d)",
                         msize * 8, trav * 8);
        }
        return 0;
}

int probe_module(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                 const uint64_t *mods, size_t nmod, uint32_t size, struct layout *out,
                 char *why, size_t len)
{
        const struct pr p = { m, pi, l };
        struct mod_probe *mp;
        int rc;

        if (nmod < 3 || size < 24 || size > 8 * MAX_MODULE_WORDS || (size & 7))
                return -ENOENT;
        mp = calloc(1, sizeof(*mp));
        if (!mp)
                return -ENOMEM;
        mp->w = calloc(MAX_PROBE_MODS, sizeof(*mp->w));
        if (!mp->w) {
                free(mp);
                return -ENOMEM;
        }
        mp->p = &p;
        mp->nw = size / 8;
        for (size_t i = 0; i < nmod && mp->n < MAX_PROBE_MODS; i++)
                if (is_a(&p, mods[i], PYSYM_MODULE_TYPE) &&
                    memsrc_read(m, mods[i], mp->w[mp->n], size) == 0)
                        mp->n++;
        rc = mp->n >= 3 ? mod_settle(mp, size, out, why, len) : -ENOENT;
        free(mp->w);
        free(mp);
        return rc;
}

/* --- PyDictKeysObject ----------------------------------------------------- */

int probe_dictkeys(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                   const struct layout *nb, size_t n, const uint64_t *mods, size_t nmod,
                   int *ret_pick, char *why, size_t len)
{
        struct layout *cand = malloc(sizeof(*cand));
        size_t score[4] = { 0, 0, 0, 0 }, tried = 0;
        int pick = -1;

        if (!cand)
                return -ENOMEM;
        if (n > 4 || !lhas(l, LF_MODULE_DICT)) {
                free(cand);
                return -ENOENT;
        }
        for (size_t c = 0; c < n; c++) {
                const struct pr p = { m, pi, cand };

                *cand = *l;
                cand->s[LS_DICTKEYS] = nb[c].s[LS_DICTKEYS];
                for (int f = 0; f < LF__COUNT; f++)
                        if (layout_field_struct(f) == LS_DICTKEYS)
                                cand->f[f] = nb[c].f[f];
                tried = 0;
                for (size_t i = 0; i < nmod && tried < MAX_PROBE_MODS; i++) {
                        uint64_t dict, name;
                        char text[MAX_NAME];

                        if (!is_a(&p, mods[i], PYSYM_MODULE_TYPE) ||
                            !rd(&p, mods[i] + lo(l, LF_MODULE_DICT), &dict))
                                continue;
                        tried++;
                        score[c] += dict_get(&p, dict, "__name__", &name) &&
                                    str_text(&p, name, text);
                }
        }
        free(cand);
        /* nine in ten with one, under one in ten with every other (a
         * wrong layout may hit a str by chance) */
        for (size_t c = 0; c < n; c++) {
                bool others = false;

                for (size_t d = 0; d < n; d++)
                        others |= d != c && 10 * score[d] >= tried;
                if (score[c] >= 3 && 10 * score[c] >= 9 * tried && !others)
                        pick = (int)c;
        }
        if (pick < 0) {
                snprintf(why, len, "DICTKEYS: no one neighbour's reads the live modules' "
                         "__name__ (%zu and %zu of %zu)", score[0], score[1], tried);
                return -ENOENT;
        }
        *ret_pick = pick;
        snprintf(why, len, "the \"__name__\" of %zu of %zu live modules' md_dict is a str "
                 "read with it, of under a tenth with the other neighbour's", score[pick], tried);
        return 0;
}

/* --- private structs, checked on their live instances ---------------------- */

#define MAX_PROBE_INST 64u

enum inst_want { W_LIST, W_ITER, W_FORMAT };

/* Each field a private struct is placed by, and what it must read on
 * every live instance.  A field not listed has no check, and a candidate
 * with it is not taken. */
static const struct {
        enum layout_field_id f;
        enum inst_want want;
        const char *what;
} inst_checks[] = {
        { LF_IT_CYCLE_IT, W_ITER, "it NULL or an object no list, tuple, dict, str or bytes" },
        { LF_IT_CYCLE_SAVED, W_LIST, "saved a list" },
        { LF_STRUCTOBJ_FORMAT, W_FORMAT, "s_format a bytes or str" },
};

static int inst_check_of(int f)
{
        for (size_t i = 0; i < sizeof(inst_checks) / sizeof(inst_checks[0]); i++)
                if ((int)inst_checks[i].f == f)
                        return (int)i;
        return -1;
}

/* Whether v is an object whose type is a type (its type's type is type,
 * or a metaclass whose type is type). */
static bool some_object(const struct pr *p, uint64_t v)
{
        uint64_t t, tt, ttt;
        uint64_t type = p->pi->sym[PYSYM_TYPE_TYPE];

        return type && plausible(v) && rd(p, v + lo(p->l, LF_OBJECT_TYPE), &t) && plausible(t) &&
               rd(p, t + lo(p->l, LF_OBJECT_TYPE), &tt) &&
               (tt == type || (plausible(tt) && rd(p, tt + lo(p->l, LF_OBJECT_TYPE), &ttt) &&
                               ttt == type));
}

static bool inst_word_holds(const struct pr *p, enum inst_want w, uint64_t v)
{
        static const enum pysym_id not_iter[] = {
                PYSYM_LIST_TYPE, PYSYM_TUPLE_TYPE, PYSYM_DICT_TYPE, PYSYM_UNICODE_TYPE,
                PYSYM_BYTES_TYPE,
        };

        switch (w) {
        case W_LIST:
                return is_a(p, v, PYSYM_LIST_TYPE);
        case W_ITER:
                /* cycle drops its iterator once it is exhausted */
                if (!v)
                        return true;
                for (size_t i = 0; i < sizeof(not_iter) / sizeof(not_iter[0]); i++)
                        if (is_a(p, v, not_iter[i]))
                                return false;
                return some_object(p, v);
        case W_FORMAT:
                return is_a(p, v, PYSYM_BYTES_TYPE) || is_a(p, v, PYSYM_UNICODE_TYPE);
        }
        return false;
}

/* Whether nb's struct s holds on every instance; else why not, in why. */
static bool inst_candidate_holds(const struct pr *p, const struct layout *nb, int s,
                                 const uint64_t *objs, size_t nobj,
                                 uint32_t size, char *why, size_t len)
{
        size_t nf = 0;

        if (!nb->s[s].present) {
                snprintf(why, len, "no %s", layout_struct_name(s));
                return false;
        }
        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &nb->f[f];
                int c = inst_check_of(f);

                if ((int)layout_field_struct(f) != s || !x->present)
                        continue;
                nf++;
                if (c < 0) {
                        snprintf(why, len, "%s: no check reads it", layout_field_name(f));
                        return false;
                }
                if (x->offset < 16 || x->size != 8 || x->offset + 8 > size) {
                        snprintf(why, len, "%s at +%u: outside the %u bytes of tp_basicsize",
                                 layout_field_name(f), x->offset, size);
                        return false;
                }
                for (size_t i = 0; i < nobj; i++) {
                        uint64_t v;

                        if (!rd(p, objs[i] + x->offset, &v) ||
                            !inst_word_holds(p, inst_checks[c].want, v)) {
                                snprintf(why, len, "%s at +%u: not %s on 0x%llx",
                                         layout_field_name(f), x->offset, inst_checks[c].what,
                                         (unsigned long long)objs[i]);
                                return false;
                        }
                }
        }
        if (!nf)
                snprintf(why, len, "%s has no fields to check", layout_struct_name(s));
        return nf > 0;
}

int probe_instances(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                    const struct layout *nb, size_t n, int s, uint64_t type, const uint64_t *objs,
                    size_t nobj, uint32_t size, int *ret_pick, char *why, size_t len)
{
        const struct pr p = { m, pi, l };
        const char *name = layout_struct_name(s);
        char first_why[192] = "", cwhy[192];
        int pick = -1;

        if (n > 4 || !nobj || size < 16 || size > 4096 || !lhas(l, LF_OBJECT_TYPE)) {
                snprintf(why, len, "%s: %s", name, !nobj ? "no live instance to check on" :
                         "its type's tp_basicsize is no object size");
                return -ENOENT;
        }
        if (nobj > MAX_PROBE_INST)
                nobj = MAX_PROBE_INST;
        /* the instances must be of the type: a census gone stale, or
         * hostile, is no evidence */
        for (size_t i = 0; i < nobj; i++) {
                uint64_t t;

                if (!plausible(objs[i]) || !rd(&p, objs[i] + lo(l, LF_OBJECT_TYPE), &t) ||
                    t != type) {
                        snprintf(why, len, "%s: 0x%llx is no instance of its type", name,
                                 (unsigned long long)objs[i]);
                        return -ENOENT;
                }
        }
        for (size_t c = 0; c < n; c++) {
                if (!inst_candidate_holds(&p, &nb[c], s, objs, nobj, size, cwhy, sizeof(cwhy))) {
                        if (!first_why[0])
                                snprintf(first_why, sizeof(first_why), "%s", cwhy);
                        continue;
                }
                if (pick < 0) {
                        pick = (int)c;
                        continue;
                }
                for (int f = 0; f < LF__COUNT; f++)
                        if ((int)layout_field_struct(f) == s &&
                            (nb[c].f[f].present != nb[pick].f[f].present ||
                             (nb[c].f[f].present && nb[c].f[f].offset != nb[pick].f[f].offset))) {
                                snprintf(why, len, "%s: two neighbours' placements hold on its "
                                         "%zu live instances (no telling)", name, nobj);
                                return -EBADMSG;
                        }
        }
        if (pick < 0) {
                snprintf(why, len, "%s: no neighbour's fields hold on its %zu live instances "
                         "(%s)", name, nobj, first_why);
                return -ENOENT;
        }
        *ret_pick = pick;
        snprintf(why, len, "%u bytes (its type's tp_basicsize), on %s %zu live instance%s: ",
                 size, nobj == 1 ? "its" : "all", nobj, nobj == 1 ? "" : "s");
        for (int f = 0, k = 0; f < LF__COUNT; f++) {
                size_t at = strlen(why);
                int c = inst_check_of(f);

                if ((int)layout_field_struct(f) != s || !nb[pick].f[f].present || c < 0)
                        continue;
                snprintf(why + at, len - at, "%s%s +%u", k++ ? ", " : "", inst_checks[c].what,
                         nb[pick].f[f].offset);
        }
        return 0;
}

/* --- the <=3.10 frame's stack depth ---------------------------------------- */

static bool null_or_obj(struct memsrc *m, const struct layout *l, uint64_t v)
{
        uint64_t t;

        return !v || (plausible(v) && memsrc_read_u64(m, v + lo(l, LF_OBJECT_TYPE), &t) == 0 &&
                      plausible(t));
}

int probe_stackdepth(struct memsrc *m, const struct layout *l, const struct frame_sample *fs)
{
        int pick = -1;

        if (!lhas(l, LF_FRAMEOBJ_LOCALSPLUS) || !lhas(l, LF_FRAMEOBJ_CODE) ||
            !lhas(l, LF_FRAMEOBJ_VALUESTACK) || !lhas(l, LF_CODE_STACKSIZE) ||
            lo(l, LF_FRAMEOBJ_LOCALSPLUS) > 4096 || fs->n > FRAME_SAMPLE)
                return -ENOENT;

        for (uint32_t o = 16; o + 4 <= lo(l, LF_FRAMEOBJ_LOCALSPLUS); o += 4) {
                bool all = true, taken = false;
                size_t tells = 0;

                for (int f = 0; f < LF__COUNT && !taken; f++)
                        taken = layout_field_struct(f) == LS_FRAMEOBJ && l->f[f].present &&
                                o + 4 > l->f[f].offset &&
                                o < l->f[f].offset + (l->f[f].size ? l->f[f].size : 8);
                for (size_t i = 0; i < fs->n && all && !taken; i++) {
                        uint64_t code, vs, v;
                        int32_t d, max;

                        if (fs->running[i]) {
                                /* 3.10 sets it to -1 while the frame runs */
                                all = memsrc_read(m, fs->f[i] + o, &d, 4) == 0 && d == -1;
                                tells += all;
                                continue;
                        }
                        all = memsrc_read(m, fs->f[i] + o, &d, 4) == 0 && d >= 0 &&
                              memsrc_read_u64(m, fs->f[i] + lo(l, LF_FRAMEOBJ_CODE), &code) == 0 &&
                              memsrc_read(m, code + lo(l, LF_CODE_STACKSIZE), &max, 4) == 0 &&
                              d <= max && d <= 4096 &&
                              memsrc_read_u64(m, fs->f[i] + lo(l, LF_FRAMEOBJ_VALUESTACK),
                                              &vs) == 0;
                        for (int32_t k = 0; k < d && all && fs->suspended[i]; k++)
                                all = memsrc_read_u64(m, vs + 8 * (uint64_t)k, &v) == 0 &&
                                      null_or_obj(m, l, v);
                        tells += all && fs->suspended[i] && d > 0;
                }
                if (taken || !all || !tells)
                        continue;
                if (pick >= 0)
                        return -EBADMSG;
                pick = (int)o;
        }
        return pick >= 0 ? pick : -ENOENT;
}
