/* decode: the walker's side of decoding (decode.h): the references of one
 * object through its kind's decoder (decode-table.h), the untracked
 * objects they lead to, edge labels, and the walker's life cycle.
 *
 * Each decoder reproduces what the type's tp_traverse visits, in the same
 * order, for every supported version (doc/internals.md §Traverse, §Dicts); version
 * differences are handled through layout fields that are present or absent
 * and through layout.facts, never through version checks.  The decoders
 * live in families: decode-containers.c, decode-instances.c,
 * decode-functions.c, decode-frames.c, decode-exceptions.c; the type cache
 * in typecache.c, object sizes in objsize.c.
 */
#include "decode-internal.h"
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memsrc.h"

/* ------------------------------------------------------------ labels */

/* Escapes a text for use inside a label: quotes, backslashes and control
 * characters; long texts are cut with "...". */
static void label_escape(char *out, size_t outlen, const char *in, bool full)
{
        size_t o = 0, max = outlen - 4;

        for (const unsigned char *s = (const unsigned char *)in; *s && o + 4 < max; s++) {
                if (*s == '\'' || *s == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char)*s;
                } else if (*s < 0x20 || *s == 0x7f) {
                        o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *s);
                } else {
                        out[o++] = (char)*s;
                }
        }
        out[o] = '\0';
        if (!full || (in[0] && o + 4 >= max))
                snprintf(out + o, outlen - o, "...");
}

/* str_label() when the label is not cached yet. */
int str_label_slow(struct walker *w, uint64_t str, enum lstyle style, uint32_t *ret)
{
        uint64_t key = (str << 2) | (uint64_t)style;
        char raw[96], esc[160], text[192];
        bool full = true;
        int r;

        r = pyo_str(&w->p, str, raw, sizeof(raw), &full);
        if (r < 0)
                return r;
        label_escape(esc, sizeof(esc), raw, full);
        switch (style) {
        case LS_ATTR:
                snprintf(text, sizeof(text), ".%s", esc);
                break;
        case LS_KEYSTR:
                snprintf(text, sizeof(text), "['%s']", esc);
                break;
        default:
                snprintf(text, sizeof(text), "f_locals.%s", esc);
                break;
        }
        r = heap_intern_label(w->h, text, ret);
        if (r < 0)
                return r;
        return u64map_put(&w->lmap, key, *ret);
}

int resolve_object(struct walker *w, uint64_t addr, uint32_t *ret)
{
        struct objhdr oh;
        int64_t i;
        int r;

        i = heap_find(w->h, addr);
        if (i >= 0) {
                *ret = (uint32_t)i;
                return 0;
        }
        if (addr & 7)
                return -EBADMSG;
        r = obj_header(w, addr, &oh);
        if (r < 0 && r != -ENOMEM && w->live) {
                /* the header may come from a block read a while ago:
                 * believe it only once read afresh */
                memsrc_forget(w->p.m, addr, 64);
                r = obj_header(w, addr, &oh);
        }
        if (r < 0)
                return r;
        r = heap_add_object(w->h, addr, oh.type, HEAP_GEN_UNTRACKED, oh.refcnt,
                            oh.size, oh.flags, ret);
        if (r < 0)
                return r;
        /* str and int keys and values are mostly untracked: this is where
         * most previews come from */
        return obj_recorded(w, *ret, addr, &oh);
}

typedef int (*decoder_fn)(struct walker *w, uint64_t obj, struct tinfo *t);

static const decoder_fn decoders[DK__COUNT] = {
#define DECODER_OF(id, dec, ...) [DK_##id] = dec,
        DECODE_KINDS(DECODER_OF)
#undef DECODER_OF
};

int dec_kind(struct walker *w, enum dkind k, uint64_t obj, struct tinfo *t)
{
        if ((unsigned)k < DK__COUNT && decoders[k])
                return decoders[k](w, obj, t);
        return 0;
}

int decode_object(struct walker *w, uint32_t idx, uint64_t addr)
{
        struct heap_obj *o = &w->h->objs[idx];
        struct tinfo *t;
        uint64_t typ;
        int r;

        w->cur_src = idx;
        w->cur_partial = false;
        w->cur_opaque = false;
        w->cur_gap = false;
        if (pyo_type_of(&w->p, addr, &typ) < 0 || tinfo_get(w, typ, &t) < 0) {
                o->flags |= HOBJ_PARTIAL;
                w->inconsistencies++;
                return 0;
        }
        if (t->kind == DK_OPAQUE || t->kind == DK_NONE)
                return 0;
        r = dec_kind(w, (enum dkind)t->kind, addr, t);
        if (r < 0)
                return r;
        /* objs may have moved: untracked referents were appended */
        o = &w->h->objs[idx];
        if (w->cur_opaque)
                o->flags |= HOBJ_OPAQUE;
        if (w->cur_gap)
                w->h->meta.layout_gaps++;
        if (w->cur_partial) {
                o->flags |= HOBJ_PARTIAL;
                check_referent(w, idx);
        }
        w->h->ndecoded++;
        return 0;
}

int local_label(struct walker *w, uint64_t name, uint32_t *ret)
{
        return str_label(w, name, LS_LOCAL, ret);
}

int dict_foreach(struct walker *w, uint64_t dict,
                 int (*fn)(struct walker *w, uint64_t key, uint64_t value, void *arg),
                 void *arg)
{
        const struct layout *l = w->l;
        uint8_t b[64];
        const void *v = view_struct(w, dict, LS_DICT, b, sizeof(b));
        struct pyo_keys k;
        uint64_t values, *copy;
        const uint8_t *ents, *vals = NULL;
        uint32_t koff, voff;
        int r = 0;

        if (!v || pyo_keys(&w->p, ld64(v, lo(l, LF_DICT_KEYS)), &k) < 0)
                return -EFAULT;
        if (!k.nentries)
                return 0;
        if (k.nentries > MAX_ITEMS)
                return -EBADMSG;
        values = ld64(v, lo(l, LF_DICT_VALUES));
        koff = k.kind > 0 ? lo(l, LF_DICTUNIENTRY_KEY) : lo(l, LF_DICTKEYENTRY_KEY);
        voff = k.kind > 0 ? lo(l, LF_DICTUNIENTRY_VALUE) : lo(l, LF_DICTKEYENTRY_VALUE);
        /* read before allocating: a garbage nentries (up to MAX_ITEMS) over
         * unmapped memory costs nothing then, where it cost a 4 GiB
         * allocation per dict */
        ents = pyo_array(&w->p, 0, k.entries, k.nentries * k.entry_size);
        if (values)
                vals = pyo_array(&w->p, 1, values + (lhas(l, LF_DICTVALUES_VALUES) ?
                                 lo(l, LF_DICTVALUES_VALUES) : 0), k.nentries * 8);
        if (!ents || (values && !vals))
                return -EFAULT;
        /* The callback reads target memory too (names, objects), which may
         * reuse the scratch slots: take a private copy of keys and values. */
        copy = malloc(k.nentries * 2 * sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        for (uint64_t i = 0; i < k.nentries; i++) {
                copy[2 * i] = ld64(ents, (uint32_t)(i * k.entry_size + koff));
                copy[2 * i + 1] = vals ? ld64(vals, (uint32_t)(8 * i)) :
                        ld64(ents, (uint32_t)(i * k.entry_size + voff));
        }
        for (uint64_t i = 0; i < k.nentries && !r; i++)
                if (copy[2 * i + 1])
                        r = fn(w, copy[2 * i], copy[2 * i + 1], arg);
        free(copy);
        return r;
}

/* tp_traverse of a static type exported as a symbol, 0 if unreadable. */
static uint64_t static_type_traverse(struct walker *w, enum pysym_id id)
{
        uint64_t trav;

        if (!w->pi->sym[id] || !lhas(w->l, LF_TYPE_TRAVERSE) ||
            pyo_u64(&w->p, w->pi->sym[id] + lo(w->l, LF_TYPE_TRAVERSE), &trav) < 0)
                return 0;
        return trav;
}

/* tp_traverse of the type a PyExc_* pointer variable names, 0 if unknown
 * (or id is NO_EXC). */
static uint64_t exc_type_traverse(struct walker *w, int id)
{
        uint64_t type, trav;

        if (id == NO_EXC || !w->pi->sym[id] || !lhas(w->l, LF_TYPE_TRAVERSE) ||
            pyo_u64(&w->p, w->pi->sym[id], &type) < 0 || !type || (type & 7) ||
            pyo_u64(&w->p, type + lo(w->l, LF_TYPE_TRAVERSE), &trav) < 0)
                return 0;
        return trav;
}

int walker_init(struct walker *w, struct heap *h, struct memsrc *m,
                const struct pyinterp *pi, struct diag *d)
{
        static const char *const texts[CL__COUNT] = {
#define CL_TEXT(id, text) [CL_##id] = text,
                CONST_LABELS(CL_TEXT)
#undef CL_TEXT
        };
        int r;

        memset(w, 0, sizeof(*w));
        w->h = h;
        w->pi = pi;
        w->l = &pi->layout;
        w->d = d;
        pyo_init(&w->p, m, pi);
        for (int i = 0; i < CL__COUNT; i++) {
                r = heap_intern_label(h, texts[i], &w->lab[i]);
                if (r < 0)
                        return r;
        }
        w->subtype_traverse = pi->sym[PYSYM_SUBTYPE_TRAVERSE];
        if (pi->sym[PYSYM_SET_DUMMY])
                (void)pyo_u64(&w->p, pi->sym[PYSYM_SET_DUMMY], &w->set_dummy);
        /* <=3.10: with .symtab, dk_lookup == lookdict says "general table"
         * exactly; the other lookup functions confirm the symbols are real. */
        if (pi->sym[PYSYM_LOOKDICT] && lhas(w->l, LF_DICTKEYS_LOOKUP)) {
                w->lookdict_general = pi->sym[PYSYM_LOOKDICT];
                w->lookdict_known = true;
        }
        w->baseexc_traverse = exc_type_traverse(w, PYSYM_BASEEXC_PTR);
        w->list_traverse = static_type_traverse(w, PYSYM_LIST_TYPE);
        w->tuple_traverse = static_type_traverse(w, PYSYM_TUPLE_TYPE);
        w->dict_traverse = static_type_traverse(w, PYSYM_DICT_TYPE);
        w->type_traverse = static_type_traverse(w, PYSYM_TYPE_TYPE);
        if (w->l->facts.managed_dict != MANAGED_DICT_NONE)
                w->pre_header_flags |= TPF_MANAGED_DICT;
        if (w->l->facts.managed_weakref_offset)
                w->pre_header_flags |= TPF_MANAGED_WEAKREF;
#define EXC_TRAVERSE(id, dec, size, pv, syms, names, exc) \
        w->exc_traverse[DK_##id] = exc_type_traverse(w, exc);
        DECODE_KINDS(EXC_TRAVERSE)
#undef EXC_TRAVERSE
        return 0;
}

void walker_release(struct walker *w)
{
        for (uint32_t i = 0; i < w->ntv; i++)
                tinfo_free(w->tv[i]);
        free(w->tv);
        u64map_release(&w->tmap);
        u64map_release(&w->lmap);
        pyo_release(&w->p);
        native_release(w);
}
