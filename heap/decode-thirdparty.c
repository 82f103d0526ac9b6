/* decode-thirdparty: C types of third-party packages that web services'
 * heaps hold by the dozen: multidict's MultiDict, CIMultiDict and their
 * proxies (every aiohttp request and response keeps its headers in them),
 * aiohttp's reify (one per cached property of its request classes) and
 * frozenlist's FrozenList (aiosignal's signals, aiohttp's cleanup
 * contexts).
 *
 * Their structs are private to the package's .c file (or its Cython
 * output), and no package ships headers or DWARF, so no layout provider
 * describes them.  Each decoder takes the layout the package's source
 * declares as a candidate and checks it on the instance itself before it
 * emits anything: tp_basicsize, counts within bounds, pointers that land on
 * objects of the kinds the source stores there.  An instance that fails a
 * check stays opaque and counts as a layout gap (gap()), as for a CPython
 * struct no provider describes: its references are unknown, never guessed.
 */
#include "decode-internal.h"

/* multidict 5.x-6.0 (multidict/_multidict.c, _multilib/pair_list.h):
 *
 *   MultiDictObject { PyObject_HEAD; PyObject *weaklist;
 *                     pair_list_t { Py_ssize_t capacity, size; uint64_t version;
 *                                   (calc_identity | bool); pair_t *pairs;
 *                                   pair_t buffer[29]; } }
 *   pair_t { PyObject *identity, *key, *value; Py_hash_t hash; }
 *
 * pairs points at buffer while capacity is 29 (EMBEDDED_CAPACITY), else
 * at a block of its own.  multidict_tp_traverse (pair_list_traverse)
 * visits each pair's key and value, not the identity (an exact str). */
#define MD_BASICSIZE 992
#define MD_CAPACITY 24
#define MD_SIZE 32
#define MD_PAIRS 56
#define MD_BUFFER 64
#define MD_EMBEDDED 29
#define MD_PAIR 32
#define MD_MAX_PAIRS ((uint64_t)1 << 24)

/* The type of the object at p when its type reads; NULL otherwise. */
static struct tinfo *type_at(struct walker *w, uint64_t p)
{
        struct tinfo *t;
        uint64_t typ;

        if (!p || (p & 7) || pyo_type_of(&w->p, p, &typ) < 0 || tinfo_get(w, typ, &t) < 0)
                return NULL;
        return t;
}

/* n pairs at arr: each identity an exact str, each key a str, each value
 * set. */
static bool md_pairs_check(struct walker *w, uint64_t arr, uint64_t n)
{
        for (uint64_t i = 0; i < n; i++) {
                uint64_t pr[3];
                const void *v = pyo_view(&w->p, arr + i * MD_PAIR, sizeof(pr), pr);
                struct tinfo *it, *kt;

                if (!v)
                        return false;
                it = type_at(w, ld64(v, 0));
                kt = type_at(w, ld64(v, 8));
                if (!it || !is_sym(w, PYSYM_UNICODE_TYPE, it->addr) || !kt ||
                    !(kt->flags & TPF_UNICODE_SUBCLASS) || !ld64(v, 16))
                        return false;
        }
        return true;
}

int dec_multidict(struct walker *w, uint64_t obj, struct tinfo *t)
{
        uint8_t b[MD_BUFFER];
        const void *v;
        uint64_t cap, n, pairs;
        int r;

        if (t->kind == DK_MULTIDICT && t->basicsize != MD_BASICSIZE) {
                gap(w);
                return 0;
        }
        v = pyo_view(&w->p, obj, sizeof(b), b);
        if (!v) {
                partial(w);
                return 0;
        }
        cap = ld64(v, MD_CAPACITY);
        n = ld64(v, MD_SIZE);
        pairs = ld64(v, MD_PAIRS);
        if (cap < MD_EMBEDDED || cap > MD_MAX_PAIRS || n > cap ||
            (cap == MD_EMBEDDED) != (pairs == obj + MD_BUFFER) || (pairs & 7) ||
            !md_pairs_check(w, pairs, n)) {
                gap(w);
                return 0;
        }
        for (uint64_t i = 0; i < n; i++) {
                uint64_t pr[3];
                const void *pv = pyo_view(&w->p, pairs + i * MD_PAIR, sizeof(pr), pr);

                if (!pv) {
                        partial(w);
                        return 0;
                }
                r = emit(w, ld64(pv, 8), w->lab[CL_KEY]);
                if (r >= 0)
                        r = emit(w, ld64(pv, 16), w->lab[CL_MD_VALUE]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* MultiDictProxyObject { PyObject_HEAD; PyObject *weaklist;
 * MultiDictObject *md; }: multidict_proxy_tp_traverse visits md, which
 * must be a (CI)MultiDict or an instance of a Python subclass of one. */
#define MDPROXY_BASICSIZE 32
#define MDPROXY_MD 24

int dec_mdproxy(struct walker *w, uint64_t obj, struct tinfo *t)
{
        struct tinfo *mt;
        uint64_t md;

        if ((t->kind == DK_MDPROXY && t->basicsize != MDPROXY_BASICSIZE) ||
            pyo_u64(&w->p, obj + MDPROXY_MD, &md) < 0 || !(mt = type_at(w, md)) ||
            !(mt->kind == DK_MULTIDICT ||
              (mt->kind == DK_INSTANCE && mt->base_kind == DK_MULTIDICT))) {
                gap(w);
                return 0;
        }
        return emit(w, md, w->lab[CL_MD_MULTIDICT]);
}

/* aiohttp/_helpers.pyx: cdef class reify { cdef object wrapped; cdef
 * object name }; Cython's traverse visits both.  name is the attribute's
 * str. */
#define REIFY_BASICSIZE 32
#define REIFY_WRAPPED 16
#define REIFY_NAME 24

int dec_reify(struct walker *w, uint64_t obj, struct tinfo *t)
{
        uint64_t f[2];
        const void *v;
        struct tinfo *nt;
        int r;

        if (t->kind == DK_REIFY && t->basicsize != REIFY_BASICSIZE) {
                gap(w);
                return 0;
        }
        v = pyo_view(&w->p, obj + REIFY_WRAPPED, sizeof(f), f);
        if (!v) {
                partial(w);
                return 0;
        }
        nt = ld64(v, 8) ? type_at(w, ld64(v, 8)) : NULL;
        if ((ld64(v, 8) && (!nt || !(nt->flags & TPF_UNICODE_SUBCLASS))) ||
            (ld64(v, 0) && !type_at(w, ld64(v, 0)))) {
                gap(w);
                return 0;
        }
        r = emit(w, ld64(v, 0), w->lab[CL_WRAPPED]);
        if (r < 0)
                return r;
        return emit(w, ld64(v, 8), w->lab[CL_NAME]);
}

/* frozenlist 1.x (frozenlist/_frozenlist.pyx, Cython): cdef class
 * FrozenList { cdef readonly bint frozen; cdef list _items } has cdef
 * methods, so Cython's vtable pointer comes first: vtab 16, frozen 24 (an
 * int in zeroed memory), _items 32.  Cython's traverse visits _items.
 * aiosignal.Signal and aiohttp's CleanupContext are Python subclasses:
 * the instance decoder hands their C part here. */
#define FL_BASICSIZE 40
#define FL_VTAB 16

int dec_frozenlist(struct walker *w, uint64_t obj, struct tinfo *t)
{
        uint64_t f[3];
        const void *v;
        struct tinfo *lt;
        uint64_t items;

        if (t->kind == DK_FROZENLIST && t->basicsize != FL_BASICSIZE) {
                gap(w);
                return 0;
        }
        v = pyo_view(&w->p, obj + FL_VTAB, sizeof(f), f);
        if (!v) {
                partial(w);
                return 0;
        }
        items = ld64(v, 16);
        if (!ld64(v, 0) || ld64(v, 8) > 1 ||
            (items && (!(lt = type_at(w, items)) || !is_sym(w, PYSYM_LIST_TYPE, lt->addr)))) {
                gap(w);
                return 0;
        }
        return emit(w, items, w->lab[CL_FL_ITEMS]);
}
