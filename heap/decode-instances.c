/* decode-instances: instances of classes from class statements
 * (subtype_traverse): __slots__, the instance dict in each version's
 * managed-dict model (doc/internals.md §Pre-header, §Instance dicts), the class, then the first C base's
 * decoder.
 */
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Labels ".name" for the entries of a class's cached (shared) keys; the
 * value slots of instances follow this order (doc/internals.md §Instance dicts). */
static int build_ck_labels(struct walker *w, struct tinfo *t)
{
        const struct layout *l = w->l;
        struct pyo_keys k;
        const uint8_t *ents;
        int r;

        if (t->ck_state)
                return t->ck_state > 0 ? 0 : -EBADMSG;
        t->ck_state = -1;
        if (!t->cached_keys || pyo_keys(&w->p, t->cached_keys, &k) < 0 || k.nentries > MAX_SLOTS)
                return -EBADMSG;
        t->ck_label = calloc(k.nentries ? k.nentries : 1, sizeof(*t->ck_label));
        if (!t->ck_label)
                return -ENOMEM;
        for (uint64_t i = 0; i < k.nentries; i++) {
                uint32_t koff = k.kind > 0 ? lo(l, LF_DICTUNIENTRY_KEY) : lo(l, LF_DICTKEYENTRY_KEY);
                uint64_t key;

                ents = pyo_array(&w->p, 2, k.entries, k.nentries * k.entry_size);
                if (!ents)
                        return -EFAULT;
                key = ld64(ents, (uint32_t)(i * k.entry_size + koff));
                t->ck_label[i] = heap_label_index((uint32_t)i);
                if (key && (r = str_label(w, key, LS_ATTR, &t->ck_label[i])) == -ENOMEM)
                        return r;
        }
        t->nck = (uint32_t)k.nentries;
        t->ck_state = 1;
        return 0;
}

static int emit_values(struct walker *w, struct tinfo *t, uint64_t vals, uint64_t n)
{
        const uint8_t *a;
        int r;

        if (n > MAX_SLOTS) {
                partial(w);
                return 0;
        }
        r = build_ck_labels(w, t);
        if (r == -ENOMEM)
                return r;
        for (uint64_t i = 0; i < n; i++) {
                uint32_t lab = i < t->nck ? t->ck_label[i] : heap_label_index((uint32_t)i);

                a = pyo_array(&w->p, 1, vals, n * 8);
                if (!a) {
                        partial(w);
                        return 0;
                }
                r = emit(w, ld64(a, (uint32_t)(i * 8)), lab);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The instance attributes of a class instance, per managed-dict model
 * (doc/internals.md §Pre-header, §Instance dicts). */
int emit_instance_dict(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        const struct layout_facts *f = &l->facts;
        uint64_t word, dict;
        int r;

        if (f->managed_dict != MANAGED_DICT_NONE && (t->flags & TPF_MANAGED_DICT)) {
                switch (f->managed_dict) {
                case MANAGED_DICT_311:
                        if (pyo_u64(&w->p, obj + (uint64_t)(int64_t)f->managed_values_offset, &word) < 0) {
                                partial(w);
                                return 0;
                        }
                        if (word) {
                                r = build_ck_labels(w, t);
                                if (r == -ENOMEM)
                                        return r;
                                r = emit_values(w, t, word, t->nck);
                                if (r < 0)
                                        return r;
                        }
                        if (!t->dict_differs)
                                return 0;
                        if (pyo_u64(&w->p, obj + (uint64_t)(int64_t)f->managed_dict_offset, &dict) < 0) {
                                partial(w);
                                return 0;
                        }
                        return emit(w, dict, w->lab[CL_DICT]);
                case MANAGED_DICT_312:
                        if (pyo_u64(&w->p, obj + (uint64_t)(int64_t)f->managed_dict_offset, &word) < 0) {
                                partial(w);
                                return 0;
                        }
                        if (word & 1) {
                                r = build_ck_labels(w, t);
                                if (r == -ENOMEM)
                                        return r;
                                return emit_values(w, t, word + 1, t->nck);
                        }
                        return emit(w, word, w->lab[CL_DICT]);
                case MANAGED_DICT_313: {
                        uint64_t vals = obj + (uint64_t)t->basicsize, hdr = 0;
                        bool inl = (t->flags & TPF_INLINE_VALUES) && lhas(l, LF_DICTVALUES_VALID) &&
                                lhas(l, LF_DICTVALUES_CAPACITY);
                        unsigned cap = 0, valid = 0;

                        if (pyo_u64(&w->p, obj + (uint64_t)(int64_t)f->managed_dict_offset, &dict) < 0) {
                                partial(w);
                                return 0;
                        }
                        if (inl) {
                                if (pyo_u64(&w->p, vals, &hdr) < 0) {
                                        partial(w);
                                        return 0;
                                }
                                cap = (hdr >> (8 * lo(l, LF_DICTVALUES_CAPACITY))) & 0xff;
                                valid = (hdr >> (8 * lo(l, LF_DICTVALUES_VALID))) & 0xff;
                        }
                        uint64_t va = vals + (lhas(l, LF_DICTVALUES_VALUES) ? lo(l, LF_DICTVALUES_VALUES) : 8);

                        if (f->dict_visits_embedded_values) {
                                if (dict)
                                        return emit(w, dict, w->lab[CL_DICT]);
                                if (inl && valid)
                                        return emit_values(w, t, va, cap);
                                return 0;
                        }
                        if (inl && valid)
                                return emit_values(w, t, va, cap);
                        return emit(w, dict, w->lab[CL_DICT]);
                }
                default:
                        return 0;
                }
        }
        if (!t->dict_differs || !t->dictoffset)
                return 0;
        /* Computed dict pointer; a negative offset counts from the end of
         * the variable part, rounded up to a pointer (var-sized bases). */
        int64_t off = t->dictoffset;
        if (off < 0) {
                uint64_t n;

                if (pyo_u64(&w->p, obj + lo(l, LF_VAROBJECT_SIZE), &n) < 0) {
                        partial(w);
                        return 0;
                }
                int64_t sz = (int64_t)n < 0 ? -(int64_t)n : (int64_t)n;
                if (sz > (int64_t)MAX_ITEMS * 8) {
                        partial(w);
                        return 0;
                }
                sz = t->basicsize + sz * t->itemsize;
                sz = (sz + 7) & ~(int64_t)7;
                off += sz;
        }
        if (pyo_u64(&w->p, obj + (uint64_t)off, &dict) < 0) {
                partial(w);
                return 0;
        }
        return emit(w, dict, w->lab[CL_DICT]);
}

int dec_instance(struct walker *w, uint64_t obj, struct tinfo *t)
{
        int r;

        for (uint32_t i = 0; i < t->nslots; i++) {
                uint64_t p;

                if (pyo_u64(&w->p, obj + (uint64_t)t->slots[i].offset, &p) < 0) {
                        partial(w);
                        continue;
                }
                r = emit(w, p, t->slots[i].label);
                if (r < 0)
                        return r;
        }
        r = emit_instance_dict(w, obj, t);
        if (r < 0)
                return r;
        if (t->visit_type && (t->flags & TPF_HEAPTYPE)) {
                r = emit(w, t->addr, w->lab[CL_CLASS]);
                if (r < 0)
                        return r;
        }
        if (t->base_kind != DK_NONE && t->base_kind != DK_OPAQUE && t->base_kind != DK_INSTANCE)
                return dec_kind(w, (enum dkind)t->base_kind, obj, t);
        /* A C base type without a decoder: its references are unknown, the
         * object's edge list is incomplete (not a memory problem). */
        if (t->base_kind == DK_OPAQUE)
                w->cur_opaque = true;
        return 0;
}
