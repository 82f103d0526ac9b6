/* objsize: an object's header as the walker records it (decode.h:
 * obj_header): type, refcount, flags and the size sys.getsizeof() would
 * report, by the size rule of its kind (decode-table.h, enum skind).
 */
#include "decode-internal.h"
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dict_sizeof(struct walker *w, uint64_t obj, const struct tinfo *t, uint64_t *ret)
{
        const struct layout *l = w->l;
        uint8_t b[64];
        const void *v = view_struct(w, obj, LS_DICT, b, sizeof(b));
        struct pyo_keys k;
        uint64_t size = (uint64_t)t->basicsize;

        if (!v || pyo_keys(&w->p, ld64(v, lo(l, LF_DICT_KEYS)), &k) < 0)
                return -EFAULT;
        check_dict_used(w, obj, t, v, &k);
        if (ld64(v, lo(l, LF_DICT_VALUES)))
                size += 8 * (k.kind < 0 ? (2 * k.size) / 3 : k.nentries + k.usable);
        if (k.refcnt == 1)
                size += k.bytes;
        *ret = size;
        return 0;
}

static int read_i32_at(struct walker *w, uint64_t addr, int64_t *ret)
{
        uint8_t b[4];
        const uint8_t *v = pyo_view(&w->p, addr, 4, b);

        if (!v)
                return -EFAULT;
        *ret = (int32_t)ld32(v, 0);
        return 0;
}

/* _PyFrame_NumSlotsForCodeObject (3.11+): co_nlocalsplus + co_stacksize */
static int code_nslots_311(struct walker *w, uint64_t code, uint64_t *ret)
{
        const struct layout *l = w->l;
        int64_t nlp, ss;

        if (!lhas(l, LF_CODE_NLOCALSPLUS) || !lhas(l, LF_CODE_STACKSIZE) ||
            read_i32_at(w, code + lo(l, LF_CODE_NLOCALSPLUS), &nlp) < 0 ||
            read_i32_at(w, code + lo(l, LF_CODE_STACKSIZE), &ss) < 0 || nlp < 0 || ss < 0 ||
            (uint64_t)(nlp + ss) > MAX_FRAME_SLOTS)
                return -EBADMSG;
        *ret = (uint64_t)(nlp + ss);
        return 0;
}

/* frame_sizeof: <=3.10 sizeof(PyFrameObject) + one pointer per slot beyond
 * the first (counted from the code, not ob_size, which a recycled frame may
 * overstate); 3.11+ the header up to the frame data's localsplus + slots. */
static int frame_sizeof(struct walker *w, uint64_t obj, const struct tinfo *t, uint64_t *ret)
{
        const struct layout *l = w->l;
        uint64_t code, fr, n;
        int r;

        if (lhas(l, LF_FRAMEOBJ_FRAME)) {
                if (!lhas(l, LF_FRAMEOBJ_FRAME_DATA) || !lhas(l, LF_IFRAME_LOCALSPLUS) ||
                    pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_FRAME), &fr) < 0 || !fr ||
                    pyo_u64(&w->p, fr + lo(l, LF_IFRAME_CODE), &code) < 0 ||
                    !(code = untag_ref(w, code)))
                        return -EBADMSG;
                r = code_nslots_311(w, code, &n);
                if (r < 0)
                        return r;
                *ret = lo(l, LF_FRAMEOBJ_FRAME_DATA) + lo(l, LF_IFRAME_LOCALSPLUS) + 8 * n;
                return 0;
        }
        int64_t nl, ss;
        uint64_t cells = 0, frees = 0, tc, tf;

        if (!lhas(l, LF_FRAMEOBJ_CODE) || !lhas(l, LF_CODE_STACKSIZE) || !lhas(l, LF_CODE_NLOCALS) ||
            !lsz(l, LS_FRAMEOBJ) || pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_CODE), &code) < 0 ||
            read_i32_at(w, code + lo(l, LF_CODE_STACKSIZE), &ss) < 0 ||
            read_i32_at(w, code + lo(l, LF_CODE_NLOCALS), &nl) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_CELLVARS), &tc) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_FREEVARS), &tf) < 0 ||
            (tc && pyo_u64(&w->p, tc + lo(l, LF_VAROBJECT_SIZE), &cells) < 0) ||
            (tf && pyo_u64(&w->p, tf + lo(l, LF_VAROBJECT_SIZE), &frees) < 0))
                return -EBADMSG;
        (void)t;
        n = (uint64_t)(ss + nl) + cells + frees;
        if (ss < 0 || nl < 0 || n > MAX_FRAME_SLOTS || n < 1)
                return -EBADMSG;
        *ret = lsz(l, LS_FRAMEOBJ) + 8 * (n - 1);
        return 0;
}

/* 3.11+ gen_sizeof: up to the embedded frame's localsplus, plus slots */
static int gen_sizeof(struct walker *w, uint64_t obj, uint64_t *ret)
{
        const struct layout *l = w->l;
        uint64_t code = 0, n;
        int r;

        if (!lhas(l, LF_IFRAME_LOCALSPLUS))
                return -EBADMSG;
        /* 3.11 keeps gi_code; 3.12+ only the frame's code */
        if (lhas(l, LF_GEN_CODE))
                r = pyo_u64(&w->p, obj + lo(l, LF_GEN_CODE), &code);
        else
                r = pyo_u64(&w->p, obj + lo(l, LF_GEN_IFRAME) + lo(l, LF_IFRAME_CODE), &code);
        if (r < 0 || !(code = untag_ref(w, code)))
                return -EBADMSG;
        r = code_nslots_311(w, code, &n);
        if (r < 0)
                return r;
        *ret = lo(l, LF_GEN_IFRAME) + lo(l, LF_IFRAME_LOCALSPLUS) + 8 * n;
        return 0;
}

static int obj_sizeof(struct walker *w, uint64_t obj, const void *hv,
                      const struct tinfo *t, uint64_t *ret)
{
        const struct layout *l = w->l;
        uint64_t v;

        switch (t->size_kind) {
        case SK_LIST:
                if (pyo_u64(&w->p, obj + lo(l, LF_LIST_ALLOCATED), &v) < 0 || v > MAX_ITEMS)
                        return -EBADMSG;
                *ret = (uint64_t)t->basicsize + 8 * v;
                return 0;
        case SK_DICT:
                return dict_sizeof(w, obj, t, ret);
        case SK_ODICT: {
                uint64_t fast, used;
                int r = dict_sizeof(w, obj, t, ret);

                if (r < 0)
                        return r;
                if (!lhas(l, LF_ODICT_FAST_NODES_SIZE) ||
                    pyo_u64(&w->p, obj + lo(l, LF_ODICT_FAST_NODES_SIZE), &fast) < 0 ||
                    pyo_u64(&w->p, obj + lo(l, LF_DICT_USED), &used) < 0 ||
                    fast > MAX_ITEMS || used > MAX_ITEMS)
                        return -EBADMSG;
                *ret += 8 * fast + used * lsz(l, LS_ODICTNODE);
                return 0;
        }
        case SK_FRAME:
                return frame_sizeof(w, obj, t, ret);
        case SK_GEN:
                return gen_sizeof(w, obj, ret);
        case SK_SET: {
                uint64_t table, mask;

                if (pyo_u64(&w->p, obj + lo(l, LF_SET_TABLE), &table) < 0 ||
                    pyo_u64(&w->p, obj + lo(l, LF_SET_MASK), &mask) < 0 || mask > MAX_ITEMS)
                        return -EBADMSG;
                *ret = (uint64_t)t->basicsize;
                if (table != obj + lo(l, LF_SET_SMALLTABLE))
                        *ret += (mask + 1) * lsz(l, LS_SETENTRY);
                return 0;
        }
        case SK_STR:
                return check_str_sizeof(w, obj, t, ret);
        case SK_INT:
                /* int.__sizeof__ counts from offsetof(ob_digit), not the
                 * (subclass) basicsize. */
                return pyo_long_sizeof(&w->p, obj, lhas(l, LF_LONG_DIGIT) ?
                                       lo(l, LF_LONG_DIGIT) : (uint64_t)t->basicsize, ret);
        case SK_DEQUE: {
                uint64_t n, li;

                /* without the block layout the size is unknown, not
                 * basicsize */
                if (!lsz(l, LS_DEQUEBLOCK) || !lhas(l, LF_DEQUE_LEFTINDEX))
                        return -EOPNOTSUPP;

                if (pyo_u64(&w->p, obj + lo(l, LF_VAROBJECT_SIZE), &n) < 0 ||
                    pyo_u64(&w->p, obj + lo(l, LF_DEQUE_LEFTINDEX), &li) < 0 ||
                    n > MAX_ITEMS || li > 4096)
                        return -EBADMSG;
                uint64_t bl = lsz(l, LS_DEQUEBLOCK);
                uint64_t blen = l->f[LF_DEQUEBLOCK_DATA].size / 8;

                if (!blen)
                        blen = 64;
                *ret = (uint64_t)t->basicsize + ((li + n + blen - 1) / blen) * bl;
                return 0;
        }
        case SK_TYPE: {
                uint64_t fl, ck;
                struct pyo_keys k;

                if (pyo_u64(&w->p, obj + lo(l, LF_TYPE_FLAGS), &fl) < 0)
                        return -EFAULT;
                if (!(fl & TPF_HEAPTYPE)) {
                        *ret = lsz(l, LS_TYPE);
                        return 0;
                }
                *ret = lsz(l, LS_HEAPTYPE);
                if (lhas(l, LF_HEAPTYPE_CACHED_KEYS) &&
                    pyo_u64(&w->p, obj + lo(l, LF_HEAPTYPE_CACHED_KEYS), &ck) == 0 && ck &&
                    pyo_keys(&w->p, ck, &k) == 0)
                        *ret += k.bytes;
                return 0;
        }
        default:
                break;
        }
        *ret = (uint64_t)t->basicsize;
        if (t->itemsize) {
                int64_t n = (int64_t)ld64(hv, lo(l, LF_VAROBJECT_SIZE));
                /* a negative ob_size is a sign (int); its magnitude taken
                 * unsigned, for garbage can hold INT64_MIN */
                uint64_t m = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

                if (m > MAX_ITEMS * 8)
                        return -EBADMSG;
                *ret += m * (uint64_t)t->itemsize;
        }
        return 0;
}

int obj_header(struct walker *w, uint64_t obj, struct objhdr *oh)
{
        const struct layout *l = w->l;
        uint8_t b[32];
        const void *v;
        uint64_t typ, rc, size = 0;
        struct tinfo *t;
        bool is_type_obj, is_gc;
        uint32_t hsz = lsz(l, LS_VAROBJECT) ? lsz(l, LS_VAROBJECT) : 24;
        int r;

        if (!obj || (obj & 7))
                return -EBADMSG;
        /* 32 bytes when readable: the preview wants the first int digit
         * and set sizes, which follow the var header */
        v = pyo_view(&w->p, obj, sizeof(oh->head), oh->head);
        if (v && hsz <= sizeof(oh->head)) {
                if (v != oh->head)
                        memcpy(oh->head, v, sizeof(oh->head));
                oh->nhead = sizeof(oh->head);
        } else {
                v = pyo_view(&w->p, obj, hsz, b);
                oh->nhead = 0;
        }
        if (!v) {
                /* A non-var object at the very end of a mapping. */
                hsz = lsz(l, LS_OBJECT) ? lsz(l, LS_OBJECT) : 16;
                v = pyo_view(&w->p, obj, hsz, b);
                if (!v)
                        return -EFAULT;
                memset(b + hsz, 0, sizeof(b) - hsz);
                if (v != b) {
                        memcpy(b, v, hsz);
                        v = b;
                }
        }
        if (!oh->nhead) {
                memcpy(oh->head, v, hsz);
                oh->nhead = (uint8_t)hsz;
        }
        typ = ld64(v, lo(l, LF_OBJECT_TYPE));
        r = tinfo_get(w, typ, &t);
        if (r < 0)
                return r;
        rc = ld64(v, lo(l, LF_OBJECT_REFCNT));
        oh->flags = 0;
        switch (l->facts.immortal) {
        case IMMORTAL_314:
                oh->refcnt = (uint32_t)rc;
                if ((int32_t)(uint32_t)rc < 0)
                        oh->flags |= HOBJ_IMMORTAL;
                break;
        case IMMORTAL_312:
                oh->refcnt = (int64_t)rc;
                if ((int32_t)(uint32_t)rc < 0)
                        oh->flags |= HOBJ_IMMORTAL;
                break;
        default:
                oh->refcnt = (int64_t)rc;
                break;
        }
        /* A running target frees and reuses memory under us: a live object
         * holds at least one reference, and no real count comes near 2^48
         * (3.11's static objects start at 10^9).  A snapshot is kept as is:
         * the stopped interpreter's word is the truth. */
        if (w->live && (oh->refcnt <= 0 || oh->refcnt >= ((int64_t)1 << 48)) &&
            !(oh->flags & HOBJ_IMMORTAL))
                return -EBADMSG;
        is_type_obj = t->is_metatype;
        if (is_type_obj)
                oh->flags |= HOBJ_IS_TYPE;
        is_gc = (t->flags & TPF_HAVE_GC) != 0;
        if (is_gc)
                oh->flags |= HOBJ_HAS_GC;
        if (t->kind == DK_OPAQUE || tinfo_base_opaque(t))
                oh->flags |= HOBJ_OPAQUE;

        r = obj_sizeof(w, obj, v, t, &size);
        if (r < 0) {
                size = (uint64_t)t->basicsize;
                oh->flags |= HOBJ_PARTIAL;
        }
        /* sys.getsizeof adds the GC head and pre-header (doc/internals.md §Sizes); type
         * objects are GC objects only when they are heap types. */
        if (is_gc) {
                bool obj_is_gc = true;
                uint64_t fl;

                if (is_type_obj && t->is_gc_fn) {
                        obj_is_gc = pyo_u64(&w->p, obj + lo(l, LF_TYPE_FLAGS), &fl) == 0 &&
                                (fl & TPF_HEAPTYPE);
                }
                uint64_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
                uint64_t pre = (t->flags & w->pre_header_flags) ? l->facts.pre_header_size : 0;

                if (obj_is_gc || l->facts.getsizeof_gc_by_type)
                        size += gch + pre;
        }
        oh->type = t->hidx;
        oh->size = size;
        oh->t = t;
        return 0;
}
