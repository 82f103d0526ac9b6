/* decode-containers: decoders of objects that hold other objects by
 * position or key (list, tuple, dict and its subclasses, set, deque) and
 * of small fixed-field holders (weakref, slice, memoryview, namespace, ABC
 * data, tuplegetter, GenericAlias, Union).  Rows in decode-table.h.
 */
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Label of a dict key: "['name']" for str, "[42]" for small ints, else
 * the generic "[key]". */
static int key_label(struct walker *w, uint64_t key, uint32_t *ret)
{
        uint64_t kt;
        int64_t n;
        char text[48];

        if (pyo_type_of(&w->p, key, &kt) < 0) {
                *ret = w->lab[CL_GENKEY];
                return 0;
        }
        if (is_sym(w, PYSYM_UNICODE_TYPE, kt)) {
                if (str_label(w, key, LS_KEYSTR, ret) == 0)
                        return 0;
        } else if (is_sym(w, PYSYM_LONG_TYPE, kt) && pyo_long(&w->p, key, &n) == 0) {
                snprintf(text, sizeof(text), "[%lld]", (long long)n);
                return text_label(w, text, ret);
        }
        *ret = w->lab[CL_GENKEY];
        return 0;
}

int dec_list(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint8_t b[64];
        const void *v = view_struct(w, obj, LS_LIST, b, sizeof(b));
        const uint8_t *items;
        uint64_t n, alloc;
        int r;

        (void)t;
        if (!v) {
                partial(w);
                return 0;
        }
        n = ld64(v, lo(l, LF_VAROBJECT_SIZE));
        alloc = ld64(v, lo(l, LF_LIST_ALLOCATED));
        if (n > alloc || n > MAX_ITEMS) {
                partial(w);
                return 0;
        }
        if (!n)
                return 0;
        items = pyo_array(&w->p, 0, ld64(v, lo(l, LF_LIST_ITEM)), n * 8);
        if (!items) {
                partial(w);
                return 0;
        }
        for (uint64_t i = n; i-- > 0;) {
                r = emit(w, ld64(items, (uint32_t)(i * 8)), heap_label_index((uint32_t)i));
                if (r < 0)
                        return r;
        }
        return 0;
}

int dec_tuple(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        const uint8_t *items;
        uint64_t n;
        int r;

        (void)t;
        if (pyo_u64(&w->p, obj + lo(l, LF_VAROBJECT_SIZE), &n) < 0 || n > MAX_ITEMS) {
                partial(w);
                return 0;
        }
        if (!n)
                return 0;
        items = pyo_array(&w->p, 0, obj + lo(l, LF_TUPLE_ITEM), n * 8);
        if (!items) {
                partial(w);
                return 0;
        }
        for (uint64_t i = n; i-- > 0;) {
                r = emit(w, ld64(items, (uint32_t)(i * 8)), heap_label_index((uint32_t)i));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* <=3.10 keeps the key kind in dk_lookup (a static function).  A dict
 * holding a non-str key is certainly general (lookdict); remember that
 * pointer and treat dicts whose keys are all str as unicode otherwise. */
static bool dict_is_general_310(struct walker *w, const struct pyo_keys *k,
                                const uint8_t *ents, uint32_t koff, uint32_t voff)
{
        if (w->lookdict_known)
                return k->lookup == w->lookdict_general;
        if (w->lookdict_general && k->lookup == w->lookdict_general)
                return true;
        for (uint64_t i = 0; i < k->nentries; i++) {
                uint64_t key = ld64(ents, (uint32_t)(i * k->entry_size + koff));
                uint64_t kt;

                if (!key || !ld64(ents, (uint32_t)(i * k->entry_size + voff)))
                        continue;
                if (pyo_type_of(&w->p, key, &kt) < 0 || !is_sym(w, PYSYM_UNICODE_TYPE, kt)) {
                        if (k->lookup)
                                w->lookdict_general = k->lookup;
                        return true;
                }
        }
        return false;
}

int dec_dict(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint8_t b[64];
        const void *v = view_struct(w, obj, LS_DICT, b, sizeof(b));
        struct pyo_keys k;
        const uint8_t *ents, *vals = NULL;
        uint64_t values;
        uint32_t koff, voff;
        bool general, unicode_entries;
        int r;

        (void)t;
        if (!v || pyo_keys(&w->p, ld64(v, lo(l, LF_DICT_KEYS)), &k) < 0) {
                partial(w);
                return 0;
        }
        values = ld64(v, lo(l, LF_DICT_VALUES));
        if (!k.nentries)
                return 0;
        unicode_entries = k.kind > 0;
        koff = unicode_entries ? lo(l, LF_DICTUNIENTRY_KEY) : lo(l, LF_DICTKEYENTRY_KEY);
        voff = unicode_entries ? lo(l, LF_DICTUNIENTRY_VALUE) : lo(l, LF_DICTKEYENTRY_VALUE);
        ents = pyo_array(&w->p, 0, k.entries, k.nentries * k.entry_size);
        if (!ents) {
                partial(w);
                return 0;
        }
        if (k.kind >= 0)
                general = k.kind == 0;
        else
                general = (w->lookdict_known || !values) &&
                          dict_is_general_310(w, &k, ents, koff, voff);
        /* <=3.10 dict_traverse: a lookdict table visits its entries even if
         * ma_values is set (never seen: splitting needs str keys) */
        if (general && k.kind < 0)
                values = 0;
        if (values) {
                uint32_t vo = lhas(l, LF_DICTVALUES_VALUES) ? lo(l, LF_DICTVALUES_VALUES) : 0;

                /* 3.13 before gh-130327: inline values the dict does not own
                 * are visited by the owning object instead. */
                if (lhas(l, LF_DICTVALUES_EMBEDDED) && !l->facts.dict_visits_embedded_values) {
                        uint64_t hdr;

                        if (pyo_u64(&w->p, values, &hdr) < 0) {
                                partial(w);
                                return 0;
                        }
                        if ((hdr >> (8 * lo(l, LF_DICTVALUES_EMBEDDED))) & 0xff)
                                return 0;
                }
                vals = pyo_array(&w->p, 1, values + vo, k.nentries * 8);
                if (!vals) {
                        partial(w);
                        return 0;
                }
                general = false;
        }
        for (uint64_t i = 0; i < k.nentries; i++) {
                uint32_t eo = (uint32_t)(i * k.entry_size);
                uint64_t key = ld64(ents, eo + koff);
                uint64_t val = vals ? ld64(vals, (uint32_t)(i * 8)) : ld64(ents, eo + voff);
                uint32_t lab;

                if (!val)
                        continue;
                if (!key) {
                        lab = w->lab[CL_GENKEY];
                } else if (general || k.kind < 0) {
                        r = key_label(w, key, &lab);
                        if (r < 0)
                                return r;
                } else if (str_label(w, key, LS_KEYSTR, &lab) < 0) {
                        lab = w->lab[CL_GENKEY];
                }
                /* key_label/str_label may have reused scratch slots */
                ents = pyo_array(&w->p, 0, k.entries, k.nentries * k.entry_size);
                if (vals)
                        vals = pyo_array(&w->p, 1, values + (lhas(l, LF_DICTVALUES_VALUES) ?
                                         lo(l, LF_DICTVALUES_VALUES) : 0), k.nentries * 8);
                if (!ents || (values && !vals)) {
                        partial(w);
                        return 0;
                }
                r = emit(w, val, lab);
                if (r < 0)
                        return r;
                if (general) {
                        r = emit(w, key, w->lab[CL_KEY]);
                        if (r < 0)
                                return r;
                }
                ents = pyo_array(&w->p, 0, k.entries, k.nentries * k.entry_size);
                if (vals)
                        vals = pyo_array(&w->p, 1, values + (lhas(l, LF_DICTVALUES_VALUES) ?
                                         lo(l, LF_DICTVALUES_VALUES) : 0), k.nentries * 8);
                if (!ents || (values && !vals)) {
                        partial(w);
                        return 0;
                }
        }
        return 0;
}

int dec_set(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint8_t b[256];
        const void *v = view_struct(w, obj, LS_SET, b, sizeof(b));
        const uint8_t *ents;
        uint64_t mask, table;
        uint32_t esz = lsz(l, LS_SETENTRY), koff = lo(l, LF_SETENTRY_KEY);
        int r;

        (void)t;
        if (!v || !esz) {
                partial(w);
                return 0;
        }
        mask = ld64(v, lo(l, LF_SET_MASK));
        table = ld64(v, lo(l, LF_SET_TABLE));
        if (mask >= MAX_ITEMS || ((mask + 1) & mask)) {
                partial(w);
                return 0;
        }
        ents = pyo_array(&w->p, 0, table, (mask + 1) * esz);
        if (!ents) {
                partial(w);
                return 0;
        }
        for (uint64_t i = 0; i <= mask; i++) {
                uint64_t key = ld64(ents, (uint32_t)(i * esz + koff));

                if (!key || key == w->set_dummy)
                        continue;
                r = emit(w, key, w->lab[CL_ITEM]);
                if (r < 0)
                        return r;
                ents = pyo_array(&w->p, 0, table, (mask + 1) * esz);
                if (!ents) {
                        partial(w);
                        return 0;
                }
        }
        return 0;
}

SIMPLE_DECODER(dec_weakref, LS_WEAKREF, { LF_WEAKREF_CALLBACK, CL_CALLBACK })

SIMPLE_DECODER(dec_slice, LS_SLICE,
               { LF_SLICE_START, CL_START }, { LF_SLICE_STOP, CL_STOP }, { LF_SLICE_STEP, CL_STEP })

SIMPLE_DECODER(dec_memview, LS_MEMVIEW, { LF_MEMVIEW_MBUF, CL_MBUF })

SIMPLE_DECODER(dec_mbuf, LS_MBUF, { LF_MBUF_OBJ, CL_OBJ })

int dec_deque(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint64_t n, blk, idx, blen, typ;
        uint32_t bsz = lsz(l, LS_DEQUEBLOCK);
        int r;

        /* 3.12+: deque is a heap type and its traverse visits the type. */
        if (pyo_type_of(&w->p, obj, &typ) == 0) {
                struct tinfo *ot;

                if (tinfo_get(w, typ, &ot) == 0 &&
                    (ot->kind == DK_DEQUE ? (ot->flags & TPF_HEAPTYPE) : t->base_heap)) {
                        r = emit(w, typ, w->lab[CL_CLASS]);
                        if (r < 0)
                                return r;
                }
        }
        if (!bsz || !lhas(l, LF_DEQUEBLOCK_DATA) || !lhas(l, LF_DEQUEBLOCK_RIGHTLINK) ||
            !lhas(l, LF_DEQUE_LEFTBLOCK) || !lhas(l, LF_DEQUE_LEFTINDEX)) {
                gap(w);
                return 0;
        }
        if (pyo_u64(&w->p, obj + lo(l, LF_VAROBJECT_SIZE), &n) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_DEQUE_LEFTBLOCK), &blk) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_DEQUE_LEFTINDEX), &idx) < 0) {
                partial(w);
                return 0;
        }
        blen = l->f[LF_DEQUEBLOCK_DATA].size / 8;
        if (!blen)
                blen = 64;
        if (n > MAX_ITEMS || idx >= blen) {
                partial(w);
                return 0;
        }
        for (uint64_t i = 0; i < n;) {
                const uint8_t *bv = pyo_array(&w->p, 1, blk, bsz);

                if (!bv) {
                        partial(w);
                        return 0;
                }
                for (; idx < blen && i < n; idx++, i++) {
                        r = emit(w, ld64(bv, lo(l, LF_DEQUEBLOCK_DATA) + (uint32_t)(8 * idx)),
                                 heap_label_index((uint32_t)i));
                        if (r < 0)
                                return r;
                        bv = pyo_array(&w->p, 1, blk, bsz);
                        if (!bv) {
                                partial(w);
                                return 0;
                        }
                }
                idx = 0;
                if (i < n)
                        blk = ld64(bv, lo(l, LF_DEQUEBLOCK_RIGHTLINK));
        }
        return 0;
}

int dec_odict(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint64_t node, used;
        int r;

        if (!lsz(l, LS_ODICT) || !lhas(l, LF_ODICT_FIRST) || !lhas(l, LF_ODICT_INST_DICT) ||
            !lhas(l, LF_ODICTNODE_KEY) || !lhas(l, LF_ODICTNODE_NEXT)) {
                /* the dict part is known, the linked list is not */
                gap(w);
                return dec_dict(w, obj, t);
        }
        r = emit_field(w, NULL, obj, LF_ODICT_INST_DICT, w->lab[CL_DICT]);
        if (r < 0)
                return r;
        if (pyo_u64(&w->p, obj + lo(l, LF_ODICT_FIRST), &node) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_DICT_USED), &used) < 0 || used > MAX_ITEMS) {
                partial(w);
                return dec_dict(w, obj, t);
        }
        for (uint64_t i = 0; node && i <= used; i++) {
                uint64_t key;

                if (pyo_u64(&w->p, node + lo(l, LF_ODICTNODE_KEY), &key) < 0) {
                        partial(w);
                        break;
                }
                r = emit(w, key, w->lab[CL_KEY]);
                if (r < 0)
                        return r;
                if (pyo_u64(&w->p, node + lo(l, LF_ODICTNODE_NEXT), &node) < 0) {
                        partial(w);
                        break;
                }
        }
        return dec_dict(w, obj, t);
}

int dec_defdict(struct walker *w, uint64_t obj, struct tinfo *t)
{
        uint64_t typ;
        int r;

        /* 3.12+: a heap type whose traverse visits the type first. */
        if (pyo_type_of(&w->p, obj, &typ) == 0) {
                struct tinfo *ot;

                if (tinfo_get(w, typ, &ot) == 0 &&
                    (ot->kind == DK_DEFDICT ? (ot->flags & TPF_HEAPTYPE) : t->base_heap)) {
                        r = emit(w, typ, w->lab[CL_CLASS]);
                        if (r < 0)
                                return r;
                }
        }
        if (!lhas(w->l, LF_DEFDICT_FACTORY))
                gap(w);
        r = emit_field(w, NULL, obj, LF_DEFDICT_FACTORY, w->lab[CL_DEFAULT_FACTORY]);
        if (r < 0)
                return r;
        return dec_dict(w, obj, t);
}

SIMPLE_DECODER(dec_namespace, LS_NAMESPACE, { LF_NAMESPACE_DICT, CL_DICT })

int dec_abcdata(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_ABCDATA_REGISTRY, CL_ABC_REGISTRY }, { LF_ABCDATA_CACHE, CL_ABC_CACHE },
                { LF_ABCDATA_NEGCACHE, CL_ABC_NEGCACHE },
        };
        int r;

        /* A heap type (3.10+) whose traverse visits the type first. */
        if (t->flags & TPF_HEAPTYPE) {
                r = emit(w, t->addr, w->lab[CL_CLASS]);
                if (r < 0)
                        return r;
        }
        return emit_fields(w, obj, LS_ABCDATA, fd, sizeof(fd) / sizeof(fd[0]));
}

int dec_tuplegetter(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = { { LF_TUPLEGETTER_DOC, CL_DOCFIELD } };
        int r;

        /* 3.12+: a heap type whose traverse visits the type first. */
        if (t->flags & TPF_HEAPTYPE) {
                r = emit(w, t->addr, w->lab[CL_CLASS]);
                if (r < 0)
                        return r;
        }
        return emit_fields(w, obj, LS_TUPLEGETTER, fd, 1);
}

int dec_genalias(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_GENALIAS_ORIGIN, CL_ORIGIN }, { LF_GENALIAS_ARGS, CL_GA_ARGS },
                { LF_GENALIAS_PARAMETERS, CL_PARAMETERS },
        };

        (void)t;
        if (!lsz(w->l, LS_GENALIAS))
                gap(w);
        return emit_fields(w, obj, LS_GENALIAS, fd, sizeof(fd) / sizeof(fd[0]));
}

int dec_union(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                /* the 3.14+ fields are absent from older layouts */
                { LF_UNION_ARGS, CL_GA_ARGS }, { LF_UNION_HASHABLE_ARGS, CL_HASHABLE_ARGS },
                { LF_UNION_UNHASHABLE_ARGS, CL_UNHASHABLE_ARGS },
                { LF_UNION_PARAMETERS, CL_PARAMETERS },
        };

        (void)t;
        if (!lsz(w->l, LS_UNION))
                gap(w);
        return emit_fields(w, obj, LS_UNION, fd, sizeof(fd) / sizeof(fd[0]));
}
