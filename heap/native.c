/* native: the buffers behind buffer-protocol objects, counted once, on the
 * object that owns them (heap.h: heap.native).
 *
 *   bytearray     ob_alloc bytes at ob_bytes
 *   array.array   allocated * itemsize at ob_item
 *   numpy.ndarray nbytes (prod(shape) * itemsize) of an array that owns its
 *                 data (NPY_ARRAY_OWNDATA); a view follows `base` to the
 *                 owner, which counts the data itself when the graph holds
 *                 it, and otherwise the first view that pins it does (an
 *                 untracked view has no recorded edge to its base, so that
 *                 view stands for the base in retained sizes)
 *
 * bytes keep their data inline (already in the size); a memoryview's
 * buffer is its exporter's, which the managed buffer's edge reaches.
 *
 * numpy's layout comes from its own headers (symbols/numpy-layout.h) and
 * is trusted only once a contiguous array of the target proves it (its
 * innermost stride equals its element size) and every array passes the
 * checks below; until then results wait in a list applied by
 * native_finish().  Everything read here is target memory: counts are
 * capped, pointers must be readable, and an object that fails a check
 * counts nothing rather than a guess.
 */
#include "decode-internal.h"
#include "heap-build.h"
#include "numpy-layout.h"

#include <stdlib.h>
#include <string.h>

enum nkind { NK_UNKNOWN = 0, NK_NONE, NK_BYTEARRAY, NK_ARRAY, NK_NDARRAY };

/* Beyond any real buffer (256 TiB): garbage. */
#define MAX_NATIVE ((uint64_t)1 << 48)
#define MAX_BASE_CHAIN 32
#define NPY_MAX_LAYOUTS 8

struct npend {
        uint32_t obj;
        uint64_t own;        /* its own: shape and strides, and its data
                                when it owns it */
        uint64_t owner;      /* a view: the owner's address (0: none) */
        uint64_t bytes;      /* ... and the owner's data */
};

struct native_state {
        int npy;                     /* proven numpy layout, -1 none yet */
        bool refused[NPY_MAX_LAYOUTS];
        int cand;                    /* candidate in use until proven */
        struct npend *pend;
        size_t npend, cappend;
        /* untracked views and their bases, in object order: the edges
         * native_links() records */
        struct nlink { uint32_t obj; uint64_t base; } *links;
        size_t nlinks, caplinks;
};

static struct native_state *state(struct walker *w)
{
        if (!w->native) {
                w->native = calloc(1, sizeof(*w->native));
                if (w->native) {
                        w->native->npy = -1;
                        w->native->cand = 0;
                }
        }
        return w->native;
}

static bool type_named(struct walker *w, uint64_t type, const char *name, bool prefix)
{
        char buf[64];
        uint64_t p;

        if (!lhas(w->l, LF_TYPE_NAME) || pyo_u64(&w->p, type + lo(w->l, LF_TYPE_NAME), &p) < 0 ||
            pyo_cstr(&w->p, p, buf, sizeof(buf)) < 0)
                return false;
        return prefix ? !strncmp(buf, name, strlen(name)) : !strcmp(buf, name);
}

/* The kind of the first type up the tp_base chain that has a buffer of
 * its own (a subclass keeps its base's struct). */
static enum nkind kind_of_type(struct walker *w, uint64_t type)
{
        for (int depth = 0; type && depth < MAX_CHAIN; depth++) {
                if (is_sym(w, PYSYM_BYTEARRAY_TYPE, type) || type_named(w, type, "bytearray", false))
                        return NK_BYTEARRAY;
                if (type_named(w, type, "array.array", false))
                        return NK_ARRAY;
                if (type_named(w, type, "numpy.ndarray", false))
                        return NK_NDARRAY;
                if (!lhas(w->l, LF_TYPE_BASE) ||
                    pyo_u64(&w->p, type + lo(w->l, LF_TYPE_BASE), &type) < 0)
                        break;
        }
        return NK_NONE;
}

static enum nkind kind_of(struct walker *w, struct tinfo *t)
{
        if (t->native_kind == NK_UNKNOWN)
                t->native_kind = (uint8_t)kind_of_type(w, t->addr);
        return (enum nkind)t->native_kind;
}

static int read_i64(struct walker *w, uint64_t addr, int64_t *ret)
{
        uint64_t v;

        if (pyo_u64(&w->p, addr, &v) < 0)
                return -EFAULT;
        *ret = (int64_t)v;
        return 0;
}

static bool readable(struct walker *w, uint64_t addr)
{
        uint8_t b[1];

        return addr && pyo_view(&w->p, addr, 1, b) != NULL;
}

static int bytearray_bytes(struct walker *w, uint64_t obj, uint64_t *ret)
{
        const struct layout *l = w->l;
        int64_t alloc, size;
        uint64_t buf;

        if (!lhas(l, LF_BYTEARRAY_ALLOC) || !lhas(l, LF_BYTEARRAY_BYTES))
                return -EOPNOTSUPP;
        if (read_i64(w, obj + lo(l, LF_BYTEARRAY_ALLOC), &alloc) < 0 ||
            read_i64(w, obj + lo(l, LF_VAROBJECT_SIZE), &size) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_BYTEARRAY_BYTES), &buf) < 0)
                return -EFAULT;
        if (alloc < 0 || size < 0 || (uint64_t)alloc > MAX_NATIVE || (alloc && size >= alloc) ||
            (alloc && !readable(w, buf)))
                return -EBADMSG;
        *ret = (uint64_t)alloc;
        return 0;
}

static int array_bytes(struct walker *w, uint64_t obj, uint64_t *ret)
{
        const struct layout *l = w->l;
        int64_t alloc, size;
        uint64_t item, descr, isz;

        if (!lhas(l, LF_ARRAYOBJ_ITEM) || !lhas(l, LF_ARRAYOBJ_ALLOCATED) ||
            !lhas(l, LF_ARRAYOBJ_DESCR) || !lhas(l, LF_ARRAYDESCR_ITEMSIZE))
                return -EOPNOTSUPP;
        if (read_i64(w, obj + lo(l, LF_ARRAYOBJ_ALLOCATED), &alloc) < 0 ||
            read_i64(w, obj + lo(l, LF_VAROBJECT_SIZE), &size) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_ARRAYOBJ_ITEM), &item) < 0 ||
            pyo_u64(&w->p, obj + lo(l, LF_ARRAYOBJ_DESCR), &descr) < 0 || !descr ||
            pyo_u64(&w->p, descr + lo(l, LF_ARRAYDESCR_ITEMSIZE), &isz) < 0)
                return -EFAULT;
        isz = (uint32_t)isz;  /* an int */
        if (alloc < 0 || size < 0 || size > alloc || (uint64_t)alloc > MAX_NATIVE ||
            (isz != 1 && isz != 2 && isz != 4 && isz != 8) ||
            (uint64_t)alloc * isz > MAX_NATIVE || (alloc && !readable(w, item)))
                return -EBADMSG;
        *ret = (uint64_t)alloc * isz;
        return 0;
}

struct ndinfo {
        uint64_t base;
        uint64_t nbytes;
        uint64_t ndim;
        uint32_t flags;
        bool proof;          /* a stride showed the element size right */
        bool disproof;       /* ... or wrong */
};

static uint64_t ldw(const uint8_t *v, uint32_t off, uint32_t width)
{
        return width == 8 ? ld64(v, off) : ld32(v, off);
}

static bool is_dtype(struct walker *w, uint64_t descr)
{
        uint64_t typ;

        if (pyo_type_of(&w->p, descr, &typ) < 0)
                return false;
        for (int depth = 0; typ && depth < 4; depth++) {
                if (type_named(w, typ, "numpy.dtype", true))
                        return true;
                if (!lhas(w->l, LF_TYPE_BASE) ||
                    pyo_u64(&w->p, typ + lo(w->l, LF_TYPE_BASE), &typ) < 0)
                        break;
        }
        return false;
}

/* An ndarray's fields under layout L, checked: -EBADMSG when they make no
 * sense for an ndarray. */
static int ndarray_read(struct walker *w, const struct npy_layout *L, uint64_t obj,
                        struct ndinfo *nd)
{
        uint8_t b[256], db[8 * 32], sb[8 * 32], eb[8];
        const uint8_t *v, *dims, *strides, *ev;
        uint64_t n, elsize, descr, p;
        int64_t ndim;
        uint64_t typ;

        if (L->array_size > sizeof(b) || L->maxdims > 32)
                return -EOPNOTSUPP;
        if (pyo_type_of(&w->p, obj, &typ) < 0 ||
            pyo_u64(&w->p, typ + lo(w->l, LF_TYPE_BASICSIZE), &p) < 0)
                return -EFAULT;
        /* the struct must fit the type's instances */
        if (p < L->array_size)
                return -EBADMSG;
        v = pyo_view(&w->p, obj, L->array_size, b);
        if (!v)
                return -EFAULT;
        ndim = (int32_t)ldw(v, L->nd, L->nd_width);
        if (ndim < 0 || (uint64_t)ndim > L->maxdims)
                return -EBADMSG;
        descr = ld64(v, L->descr);
        nd->base = ld64(v, L->base);
        nd->flags = (uint32_t)ldw(v, L->flags, L->flags_width);
        nd->ndim = (uint64_t)ndim;
        nd->proof = nd->disproof = false;
        if (!descr || (descr & 7) || !is_dtype(w, descr))
                return -EBADMSG;
        ev = pyo_view(&w->p, descr + L->descr_elsize, L->descr_elsize_width, eb);
        if (!ev)
                return -EFAULT;
        elsize = ldw(ev, 0, L->descr_elsize_width);
        if (elsize > ((uint64_t)1 << 31))
                return -EBADMSG;
        n = 1;
        if (ndim) {
                dims = pyo_view(&w->p, ld64(v, L->dimensions), 8 * (size_t)ndim, db);
                strides = pyo_view(&w->p, ld64(v, L->strides), 8 * (size_t)ndim, sb);
                if (!dims || !strides)
                        return -EBADMSG;
                for (int64_t i = 0; i < ndim; i++) {
                        int64_t d = (int64_t)ld64(dims, 8 * (uint32_t)i);

                        if (d < 0 || (uint64_t)d > MAX_NATIVE || (d && n > MAX_NATIVE / (uint64_t)d))
                                return -EBADMSG;
                        n *= (uint64_t)d;
                }
                /* a contiguous array's innermost stride (the last
                 * dimension longer than 1 for C order, the first for
                 * Fortran order) is its element size */
                int64_t k = -1;

                if (nd->flags & L->c_contiguous) {
                        for (k = ndim - 1; k >= 0 && ld64(dims, 8 * (uint32_t)k) <= 1; k--)
                                ;
                } else if (nd->flags & L->f_contiguous) {
                        for (k = 0; k < ndim && ld64(dims, 8 * (uint32_t)k) <= 1; k++)
                                ;
                        if (k == ndim)
                                k = -1;
                }
                if (k >= 0 && elsize) {
                        int64_t s = (int64_t)ld64(strides, 8 * (uint32_t)k);

                        if ((uint64_t)s == elsize)
                                nd->proof = true;
                        else
                                nd->disproof = true;
                }
        }
        if (elsize && n > MAX_NATIVE / elsize)
                return -EBADMSG;
        nd->nbytes = n * elsize;
        if (nd->nbytes && !readable(w, ld64(v, L->data)))
                return -EBADMSG;
        return 0;
}

static int pend_add(struct native_state *s, const struct npend *e)
{
        if (s->npend == s->cappend) {
                size_t nc = s->cappend ? 2 * s->cappend : 64;
                struct npend *n = realloc(s->pend, nc * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                s->pend = n;
                s->cappend = nc;
        }
        s->pend[s->npend++] = *e;
        return 0;
}

static int link_add(struct native_state *s, uint32_t obj, uint64_t base)
{
        if (s->nlinks == s->caplinks) {
                size_t nc = s->caplinks ? 2 * s->caplinks : 64;
                struct nlink *n = realloc(s->links, nc * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                s->links = n;
                s->caplinks = nc;
        }
        s->links[s->nlinks++] = (struct nlink){ obj, base };
        return 0;
}

/* Refuses the candidate layout: results made with it are dropped. */
static void refuse(struct native_state *s)
{
        s->refused[s->cand] = true;
        s->npend = 0;
        s->nlinks = 0;
        s->npy = -1;
}

static int ndarray_record(struct walker *w, uint32_t idx, uint64_t obj)
{
        struct native_state *s = state(w);
        const struct npy_layout *ls;
        struct ndinfo nd;
        size_t nl;
        int r;

        if (!s)
                return -ENOMEM;
        ls = npy_layouts(&nl);
        if (nl > NPY_MAX_LAYOUTS)
                nl = NPY_MAX_LAYOUTS;
        for (;;) {
                while ((size_t)s->cand < nl && s->refused[s->cand])
                        s->cand++;
                if ((size_t)s->cand >= nl)
                        return 0;  /* no layout fits this numpy: unknown */
                r = ndarray_read(w, &ls[s->cand], obj, &nd);
                if (r == -EBADMSG || (r == 0 && nd.disproof)) {
                        /* a proven layout stays: this array is odd, not
                         * the layout */
                        if (s->npy >= 0)
                                return 0;
                        refuse(s);
                        continue;
                }
                if (r < 0)
                        return 0;
                break;
        }
        if (nd.proof)
                s->npy = s->cand;
        /* numpy allocates shape and strides apart, one block of 2 * nd
         * npy_intp (its __sizeof__ counts them) */
        uint64_t own = 16 * nd.ndim;

        if (nd.flags & ls[s->cand].owndata)
                return pend_add(s, &(struct npend){ .obj = idx, .own = own + nd.nbytes });

        /* a view: its data is the first owner's up the base chain.  An
         * untracked view's tp_traverse is never called, so nothing records
         * that it keeps its base alive: the edge is ours to add, and then
         * the owner is in the graph and counts its own data. */
        uint64_t b = nd.base, typ, bytes = 0;
        struct tinfo *bt;

        if (b && w->h->objs[idx].gen == HEAP_GEN_UNTRACKED &&
            (r = link_add(s, idx, b)) < 0)
                return r;

        for (int depth = 0; b && depth < MAX_BASE_CHAIN; depth++) {
                struct ndinfo bi;

                if (pyo_type_of(&w->p, b, &typ) < 0 || tinfo_get(w, typ, &bt) < 0) {
                        b = 0;
                        break;
                }
                switch (kind_of(w, bt)) {
                case NK_NDARRAY:
                        if (ndarray_read(w, &ls[s->cand], b, &bi) < 0) {
                                b = 0;
                                break;
                        }
                        if (!(bi.flags & ls[s->cand].owndata)) {
                                b = bi.base;
                                continue;
                        }
                        bytes = bi.nbytes;
                        break;
                case NK_BYTEARRAY:
                        if (bytearray_bytes(w, b, &bytes) < 0)
                                bytes = 0;
                        break;
                case NK_ARRAY:
                        if (array_bytes(w, b, &bytes) < 0)
                                bytes = 0;
                        break;
                default:
                        /* bytes, mmap, a C extension's exporter: not ours
                         * to size */
                        break;
                }
                break;
        }
        return pend_add(s, &(struct npend){ .obj = idx, .own = own, .owner = b,
                                            .bytes = b ? bytes : 0 });
}

int native_record(struct walker *w, uint32_t idx, uint64_t obj, struct tinfo *t)
{
        uint64_t bytes = 0;
        int r;

        if (!t)
                return 0;
        switch (kind_of(w, t)) {
        case NK_BYTEARRAY:
                r = bytearray_bytes(w, obj, &bytes);
                break;
        case NK_ARRAY:
                r = array_bytes(w, obj, &bytes);
                break;
        case NK_NDARRAY:
                return ndarray_record(w, idx, obj);
        default:
                return 0;
        }
        if (r < 0)
                return 0;
        return heap_set_native(w->h, idx, bytes);
}

int native_finish(struct walker *w)
{
        struct native_state *s = w->native;
        struct u64map charged = {0};
        int r = 0;

        if (!s || s->npy < 0)
                return 0;  /* numpy's layout never proven: nothing counted */
        for (size_t i = 0; i < s->npend && r >= 0; i++) {
                const struct npend *e = &s->pend[i];
                uint64_t n = e->own;
                uint32_t dummy;

                /* the owner in the graph counts its data itself; else the
                 * first view that pins it */
                if (e->owner && e->bytes && heap_find(w->h, e->owner) < 0 &&
                    !u64map_get(&charged, e->owner, &dummy)) {
                        r = u64map_put(&charged, e->owner, e->obj);
                        n += e->bytes;
                }
                if (r >= 0)
                        r = heap_set_native(w->h, e->obj, n);
        }
        u64map_release(&charged);
        return r < 0 ? r : 0;
}

int native_links(struct walker *w)
{
        struct native_state *s = w->native;
        uint32_t label, dst;
        int r;

        /* numpy's layout never proven: its base pointers are not trusted */
        if (!s || !s->nlinks || s->npy < 0)
                return 0;
        r = text_label(w, ".base", &label);
        if (r < 0)
                return r;
        /* resolving a base may add a view of its own: s->nlinks grows, in
         * object order still (new objects come last) */
        for (size_t k = 0; k < s->nlinks; k++) {
                r = resolve_object(w, s->links[k].base, &dst);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;  /* an unreadable base: no edge, no guess */
                r = heap_add_edge(w->h, s->links[k].obj, dst, label);
                if (r < 0)
                        return r;
        }
        return 0;
}

void native_release(struct walker *w)
{
        if (w->native) {
                free(w->native->pend);
                free(w->native->links);
        }
        free(w->native);
        w->native = NULL;
}
