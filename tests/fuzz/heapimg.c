/* heapimg: the fake interpreter fuzz-heap walks (see heapimg.h). */
#include "heapimg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/heap/fakemem.h"
#include "memsrc.h"
#include "tables.h"

#define TPF_HEAPTYPE   (1ULL << 9)
#define TPF_READY      (1ULL << 12)
#define TPF_HAVE_GC    (1ULL << 14)
#define TPF_LONG       (1ULL << 24)
#define TPF_LIST       (1ULL << 25)
#define TPF_TUPLE      (1ULL << 26)
#define TPF_BYTES      (1ULL << 27)
#define TPF_UNICODE    (1ULL << 28)
#define TPF_DICT       (1ULL << 29)
#define TPF_BASE_EXC   (1ULL << 30)
#define TPF_TYPE       (1ULL << 31)

#define INTERP      (HIMG_RUNTIME + 0x100000)
#define FIXED_SZ    0x4000      /* runtime and interpreter blobs */
#define EXC_PTRS    (HIMG_RUNTIME + 0x200000)
#define TRAVERSE(n) (0x7100000ULL + 16 * (uint64_t)(n))

struct tdef {
        const char *name;
        int sym;                  /* enum pysym_id of the type, or -1 */
        int excptr;               /* enum pysym_id of its PyExc_ pointer, or -1 */
        uint64_t flags;
        enum layout_struct_id st; /* basicsize from this struct, if present */
};

#define GC TPF_HAVE_GC
static const struct tdef types[] = {
        /* HT_TYPE .. HT_INT first, in enum order */
        { "type", PYSYM_TYPE_TYPE, -1, TPF_TYPE | GC, LS_HEAPTYPE },
        { "object", PYSYM_OBJECT_TYPE, -1, 0, LS_OBJECT },
        { "list", PYSYM_LIST_TYPE, -1, TPF_LIST | GC, LS_LIST },
        { "tuple", PYSYM_TUPLE_TYPE, -1, TPF_TUPLE | GC, LS_TUPLE },
        { "dict", PYSYM_DICT_TYPE, -1, TPF_DICT | GC, LS_DICT },
        { "str", PYSYM_UNICODE_TYPE, -1, TPF_UNICODE, LS_ASCII },
        { "int", PYSYM_LONG_TYPE, -1, TPF_LONG, LS_LONG },
        { "set", PYSYM_SET_TYPE, -1, GC, LS_SET },
        { "frozenset", PYSYM_FROZENSET_TYPE, -1, GC, LS_SET },
        { "function", PYSYM_FUNCTION_TYPE, -1, GC, LS_FUNC },
        { "cell", PYSYM_CELL_TYPE, -1, GC, LS__COUNT },
        { "method", PYSYM_METHOD_TYPE, -1, GC, LS__COUNT },
        { "classmethod", PYSYM_CLASSMETHOD_TYPE, -1, GC, LS__COUNT },
        { "staticmethod", PYSYM_STATICMETHOD_TYPE, -1, GC, LS__COUNT },
        { "property", PYSYM_PROPERTY_TYPE, -1, GC, LS__COUNT },
        { "module", PYSYM_MODULE_TYPE, -1, GC, LS__COUNT },
        { "frame", PYSYM_FRAME_TYPE, -1, GC, LS__COUNT },
        { "generator", PYSYM_GEN_TYPE, -1, GC, LS__COUNT },
        { "coroutine", PYSYM_CORO_TYPE, -1, GC, LS__COUNT },
        { "async_generator", PYSYM_ASYNCGEN_TYPE, -1, GC, LS__COUNT },
        { "traceback", PYSYM_TRACEBACK_TYPE, -1, GC, LS__COUNT },
        { "collections.OrderedDict", PYSYM_ODICT_TYPE, -1, TPF_DICT | GC, LS__COUNT },
        { "weakref.ReferenceType", PYSYM_WEAKREF_TYPE, -1, GC, LS__COUNT },
        { "weakref.ProxyType", PYSYM_WEAKPROXY_TYPE, -1, GC, LS__COUNT },
        { "weakref.CallableProxyType", PYSYM_WEAKCALLPROXY_TYPE, -1, GC, LS__COUNT },
        { "slice", PYSYM_SLICE_TYPE, -1, GC, LS__COUNT },
        { "memoryview", PYSYM_MEMVIEW_TYPE, -1, GC, LS__COUNT },
        { "managedbuffer", PYSYM_MBUF_TYPE, -1, GC, LS__COUNT },
        { "builtin_function_or_method", PYSYM_CFUNCTION_TYPE, -1, GC, LS__COUNT },
        { "builtin_method", PYSYM_CMETHOD_TYPE, -1, GC, LS__COUNT },
        { "method_descriptor", PYSYM_METHODDESCR_TYPE, -1, GC, LS__COUNT },
        { "classmethod_descriptor", PYSYM_CLASSMETHODDESCR_TYPE, -1, GC, LS__COUNT },
        { "member_descriptor", PYSYM_MEMBERDESCR_TYPE, -1, GC, LS__COUNT },
        { "getset_descriptor", PYSYM_GETSETDESCR_TYPE, -1, GC, LS__COUNT },
        { "wrapper_descriptor", PYSYM_WRAPPERDESCR_TYPE, -1, GC, LS__COUNT },
        { "code", PYSYM_CODE_TYPE, -1, 0, LS__COUNT },
        { "bool", PYSYM_BOOL_TYPE, -1, TPF_LONG, LS_LONG },
        { "bytes", PYSYM_BYTES_TYPE, -1, TPF_BYTES, LS__COUNT },
        { "bytearray", PYSYM_BYTEARRAY_TYPE, -1, 0, LS__COUNT },
        { "float", PYSYM_FLOAT_TYPE, -1, 0, LS__COUNT },
        { "BaseException", -1, PYSYM_BASEEXC_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "OSError", -1, PYSYM_OSERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "SyntaxError", -1, PYSYM_SYNTAXERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "ImportError", -1, PYSYM_IMPORTERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "StopIteration", -1, PYSYM_STOPITER_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "SystemExit", -1, PYSYM_SYSEXIT_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "AttributeError", -1, PYSYM_ATTRERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "NameError", -1, PYSYM_NAMEERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "BaseExceptionGroup", -1, PYSYM_EXCGROUP_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        { "UnicodeEncodeError", -1, PYSYM_UNICODEERR_PTR, TPF_BASE_EXC | GC, LS__COUNT },
        /* recognised by name */
        { "collections.deque", -1, -1, GC, LS__COUNT },
        { "collections.defaultdict", -1, -1, TPF_DICT | GC, LS__COUNT },
        { "types.SimpleNamespace", -1, -1, GC, LS__COUNT },
        { "_abc._abc_data", -1, -1, GC, LS__COUNT },
        { "method-wrapper", -1, -1, GC, LS__COUNT },
        { "collections._tuplegetter", -1, -1, GC, LS__COUNT },
        { "functools.partial", -1, -1, GC, LS__COUNT },
        { "functools._lru_cache_wrapper", -1, -1, GC, LS__COUNT },
        { "types.GenericAlias", -1, -1, GC, LS__COUNT },
        { "types.UnionType", -1, -1, GC, LS__COUNT },
        { "typing.Union", -1, -1, GC, LS__COUNT },
        { "frozendict", -1, -1, GC, LS_DICT },
        /* a GC type nobody decodes: opaque */
        { "_thread.lock", -1, -1, GC, LS__COUNT },
};
#undef GC
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void put64(uint8_t *b, uint64_t off, uint64_t v)
{
        memcpy(b + off, &v, 8);
}

static void put32(uint8_t *b, uint64_t off, uint32_t v)
{
        memcpy(b + off, &v, 4);
}

static int fill_layout(unsigned table, struct pyinterp *pi)
{
        const struct layout_table *t = &layout_tables[table % layout_tables_count];

        memset(pi, 0, sizeof(*pi));
        layout_init(&pi->layout, t->version_hex);
        if (layout_table_fill(t, &pi->layout, NULL) < 0)
                return -EBADMSG;
        layout_derive_facts(&pi->layout);
        pi->version_hex = t->version_hex;
        strncpy(pi->version, t->key, sizeof(pi->version) - 1);
        return 0;
}

static uint32_t off(const struct layout *l, enum layout_field_id f)
{
        return lhas(l, f) ? lo(l, f) : 0;
}

/* Where the walker will look for the GC state and its four list heads
 * (heap/walk.c read_gcstate()); the same arithmetic from the layout. */
static int gc_heads(const struct layout *l, uint64_t gc, uint64_t heads[4], uint64_t *g0)
{
        uint32_t gensz = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24;
        uint32_t headoff = off(l, LF_GCGEN_HEAD);
        uint64_t gen[3];

        *g0 = 0;
        if (lhas(l, LF_GC_GENERATIONS)) {
                uint32_t es = l->f[LF_GC_GENERATIONS].elem_size ? l->f[LF_GC_GENERATIONS].elem_size : gensz;

                for (int i = 0; i < 3; i++)
                        gen[i] = gc + off(l, LF_GC_GENERATIONS) + (uint64_t)i * es;
                if (lhas(l, LF_GC_GENERATION0)) {
                        *g0 = gen[0];
                        for (int i = 0; i < 3; i++)
                                gen[i] = gen[0] + (uint64_t)i * gensz;
                }
        } else if (lhas(l, LF_GC_YOUNG) && lhas(l, LF_GC_OLD)) {
                uint32_t es = l->f[LF_GC_OLD].elem_size ? l->f[LF_GC_OLD].elem_size : gensz;

                gen[0] = gc + off(l, LF_GC_YOUNG);
                gen[1] = gc + off(l, LF_GC_OLD);
                gen[2] = gen[1] + es;
        } else {
                return -EBADMSG;
        }
        for (int i = 0; i < 3; i++)
                heads[i] = gen[i] + headoff;
        if (!lhas(l, LF_GC_PERMANENT))
                return -EBADMSG;
        heads[3] = gc + off(l, LF_GC_PERMANENT) + headoff;
        return 0;
}

static uint64_t gc_addr(const struct layout *l)
{
        if (lhas(l, LF_INTERP_GC))
                return INTERP + off(l, LF_INTERP_GC);
        return HIMG_RUNTIME + off(l, LF_RUNTIME_GC);
}

/* The fixed part of one table: built once, copied into every input's
 * memsrc (a fuzzer runs millions of inputs over a handful of tables). */
struct fixed {
        int rc;                   /* 0 ok, < 0 unusable table, 1 not built */
        struct pyinterp pi;
        uint64_t heads[4];
        uint8_t rt[FIXED_SZ], ip[FIXED_SZ], ex[8 * NTYPES];
        uint8_t ty[HIMG_TYPE_SZ * NTYPES];
};

static int build_fixed(struct fixed *f, unsigned table)
{
        const struct layout *l = &f->pi.layout;
        uint8_t *rt = f->rt, *ip = f->ip;
        uint64_t gc, g0;
        int r;

        r = fill_layout(table, &f->pi);
        if (r < 0)
                return r;
        gc = gc_addr(l);
        r = gc_heads(l, gc, f->heads, &g0);
        if (r < 0)
                return r;
        if (lhas(l, LF_INTERP_GC) ? gc - INTERP + 512 > FIXED_SZ : gc - HIMG_RUNTIME + 512 > FIXED_SZ)
                return -EBADMSG;
        f->pi.runtime_addr = HIMG_RUNTIME;
        f->pi.sym[PYSYM_RUNTIME] = HIMG_RUNTIME;
        f->pi.sym[PYSYM_SUBTYPE_TRAVERSE] = HIMG_SUBTYPE_TRAVERSE;
        put64(rt, off(l, LF_RUNTIME_INTERP_HEAD), INTERP);
        if (lhas(l, LF_RUNTIME_INTERP_MAIN))
                put64(rt, off(l, LF_RUNTIME_INTERP_MAIN), INTERP);

        uint8_t *gcb = lhas(l, LF_INTERP_GC) ? ip + (gc - INTERP) : rt + (gc - HIMG_RUNTIME);

        if (lhas(l, LF_GC_ENABLED))
                put32(gcb, off(l, LF_GC_ENABLED), 1);
        if (g0)
                put64(gcb, off(l, LF_GC_GENERATION0), g0);

        for (size_t n = 0; n < NTYPES; n++) {
                const struct tdef *d = &types[n];
                uint64_t a = HIMG_TYPE(n);
                uint8_t *b = f->ty + n * HIMG_TYPE_SZ;
                uint32_t bs = d->st < LS__COUNT && lsz(l, d->st) ? lsz(l, d->st) : 32;

                if (lsz(l, LS_HEAPTYPE) > HIMG_TYPE_SZ - 64)
                        return -EBADMSG;
                put64(b, off(l, LF_OBJECT_REFCNT), 1000);
                put64(b, off(l, LF_OBJECT_TYPE), HIMG_TYPE(HT_TYPE));
                put64(b, off(l, LF_TYPE_NAME), a + HIMG_TYPE_SZ - 64);
                memcpy(b + HIMG_TYPE_SZ - 64, d->name, strlen(d->name) + 1);
                put64(b, off(l, LF_TYPE_BASICSIZE), bs);
                put64(b, off(l, LF_TYPE_ITEMSIZE),
                      n == HT_TUPLE ? 8 : n == HT_INT ? 4 : n == HT_STR ? 1 : 0);
                put64(b, off(l, LF_TYPE_FLAGS), d->flags | TPF_READY);
                if (d->flags & TPF_HAVE_GC)
                        put64(b, off(l, LF_TYPE_TRAVERSE), TRAVERSE(n));
                if (n != HT_OBJECT)
                        put64(b, off(l, LF_TYPE_BASE), HIMG_TYPE(HT_OBJECT));
                if (d->sym >= 0)
                        f->pi.sym[d->sym] = a;
                if (d->excptr >= 0) {
                        put64(f->ex, 8 * n, a);
                        f->pi.sym[d->excptr] = EXC_PTRS + 8 * n;
                }
        }
        return 0;
}

static uint8_t *add_copy(struct memsrc *m, uint64_t addr, const void *b, size_t n)
{
        uint8_t *p = fakemem_add(m, addr, n);

        if (p)
                memcpy(p, b, n);
        return p;
}

int himg_setup(struct himg *x, unsigned table)
{
        static struct fixed *cache[128];
        struct fixed *f;

        memset(x, 0, sizeof(*x));
        table %= (unsigned)layout_tables_count;
        if (table >= 128)
                return -EINVAL;
        if (!cache[table]) {
                f = calloc(1, sizeof(*f));
                if (!f)
                        return -ENOMEM;
                f->rc = build_fixed(f, table);
                cache[table] = f;
        }
        f = cache[table];
        if (f->rc < 0)
                return f->rc;
        x->pi = f->pi;
        memcpy(x->heads, f->heads, sizeof(x->heads));
        x->m = fakemem_new();
        if (!x->m)
                return -ENOMEM;
        if (!add_copy(x->m, HIMG_RUNTIME, f->rt, FIXED_SZ) ||
            !add_copy(x->m, INTERP, f->ip, FIXED_SZ) ||
            !add_copy(x->m, EXC_PTRS, f->ex, sizeof(f->ex)) ||
            !add_copy(x->m, HIMG_TYPES, f->ty, sizeof(f->ty)))
                return -ENOMEM;
        for (int i = 0; i < 4; i++) {
                /* empty lists until the input says otherwise */
                const struct layout *l = &x->pi.layout;
                uint64_t h = x->heads[i];
                void *pn = (void *)memsrc_ptr(x->m, h + off(l, LF_GCHEAD_NEXT), 8);
                void *pp = (void *)memsrc_ptr(x->m, h + off(l, LF_GCHEAD_PREV), 8);

                if (!pn || !pp)
                        return -EFAULT;
                memcpy(pn, &h, 8);
                memcpy(pp, &h, 8);
        }
        return 0;
}

static int poke64(struct memsrc *m, uint64_t a, uint64_t v)
{
        void *p = (void *)memsrc_ptr(m, a, 8);

        if (!p)
                return -EFAULT;
        memcpy(p, &v, 8);
        return 0;
}

static uint64_t get64(const uint8_t *b)
{
        uint64_t v;

        memcpy(&v, b, 8);
        return v;
}

int himg_load(struct himg *x, const uint8_t *data, size_t size, bool *ret_live)
{
        static const enum layout_field_id roots[4] = {
                LF_INTERP_MODULES, LF_INTERP_SYSDICT, LF_INTERP_BUILTINS, LF_INTERP_THREADS_HEAD,
        };
        const struct layout *l;
        uint8_t *img;
        int r;

        if (size < HIMG_HDR)
                return -EINVAL;
        r = himg_setup(x, data[0] & 0x7f);
        if (r < 0)
                return r;
        l = &x->pi.layout;
        for (int g = 0; g < 4; g++) {
                if (poke64(x->m, x->heads[g] + off(l, LF_GCHEAD_NEXT), get64(data + 2 + 16 * g)) < 0 ||
                    poke64(x->m, x->heads[g] + off(l, LF_GCHEAD_PREV), get64(data + 10 + 16 * g)) < 0)
                        return -EFAULT;
        }
        for (int i = 0; i < 4; i++)
                if (lhas(l, roots[i]) &&
                    poke64(x->m, INTERP + off(l, roots[i]), get64(data + 66 + 8 * i)) < 0)
                        return -EFAULT;
        img = fakemem_add(x->m, HIMG_ADDR, size - HIMG_HDR);
        if (!img)
                return -ENOMEM;
        memcpy(img, data + HIMG_HDR, size - HIMG_HDR);
        if (data[1])
                fakemem_fail_every(x->m, data[1]);
        *ret_live = (data[0] & 0x80) != 0;
        return 0;
}

void himg_release(struct himg *x)
{
        memsrc_free(x->m);
        x->m = NULL;
}

/* ---- seeds ---- */

struct sb {
        const struct layout *l;
        uint8_t *img;
        size_t len, cap;
        bool ok;
        bool v311;                /* 3.11+ dict keys (log2 sizes, kinds) */
        bool v312;                /* 3.12+ int lv_tag */
        uint64_t nodes[4][16];
        int nnodes[4];
};

static uint64_t alloc(struct sb *s, size_t n)
{
        size_t at = (s->len + 15) & ~(size_t)15;

        if (at + n > s->cap) {
                s->ok = false;
                return HIMG_ADDR;
        }
        memset(s->img + at, 0, n);
        s->len = at + n;
        return HIMG_ADDR + at;
}

static void w64(struct sb *s, uint64_t a, uint64_t v)
{
        if (s->ok)
                put64(s->img, a - HIMG_ADDR, v);
}

static void w8(struct sb *s, uint64_t a, uint8_t v)
{
        if (s->ok)
                s->img[a - HIMG_ADDR] = v;
}

static uint32_t slo(const struct sb *s, enum layout_field_id f)
{
        return off(s->l, f);
}

static void hdr(struct sb *s, uint64_t o, unsigned type, uint64_t rc)
{
        w64(s, o + slo(s, LF_OBJECT_REFCNT), rc);
        w64(s, o + slo(s, LF_OBJECT_TYPE), HIMG_TYPE(type));
}

/* [PyGC_Head][object of n bytes], queued for generation gen (-1: none) */
static uint64_t gc_obj(struct sb *s, size_t n, int gen)
{
        uint32_t gh = lsz(s->l, LS_GCHEAD) ? lsz(s->l, LS_GCHEAD) : 16;
        uint64_t a = alloc(s, gh + n) + gh;

        if (gen >= 0 && s->nnodes[gen] < 16)
                s->nodes[gen][s->nnodes[gen]++] = a - gh;
        return a;
}

static uint64_t mk_str(struct sb *s, const char *t)
{
        uint32_t hs = lsz(s->l, LS_ASCII);
        uint64_t a = alloc(s, hs + strlen(t) + 1);

        hdr(s, a, HT_STR, 3);
        w64(s, a + 16, strlen(t));
        /* kind 1-byte, compact, ascii (and "ready" before 3.12) */
        w8(s, a + 32, 0x04 | 0x20 | 0x40 | (s->v312 ? 0 : 0x80));
        for (size_t i = 0; i < strlen(t); i++)
                w8(s, a + hs + i, (uint8_t)t[i]);
        return a;
}

static uint64_t mk_int(struct sb *s, uint32_t v)
{
        uint64_t a = alloc(s, 32);

        hdr(s, a, HT_INT, 5);
        w64(s, a + 16, s->v312 ? (1 << 3) : 1);
        w64(s, a + off(s->l, LF_LONG_DIGIT), v);
        return a;
}

static uint64_t mk_list(struct sb *s, const uint64_t *items, int n, int gen)
{
        uint64_t o = gc_obj(s, lsz(s->l, LS_LIST), gen);
        uint64_t arr = alloc(s, 8 * (size_t)(n + 1));

        hdr(s, o, HT_LIST, 2);
        w64(s, o + slo(s, LF_VAROBJECT_SIZE), (uint64_t)n);
        w64(s, o + slo(s, LF_LIST_ITEM), arr);
        w64(s, o + slo(s, LF_LIST_ALLOCATED), (uint64_t)n + 1);
        for (int i = 0; i < n; i++)
                w64(s, arr + 8 * (uint64_t)i, items[i]);
        return o;
}

static uint64_t mk_tuple(struct sb *s, const uint64_t *items, int n, int gen)
{
        uint32_t io = slo(s, LF_TUPLE_ITEM);
        uint64_t o = gen == -2 ? alloc(s, io + 8 * (size_t)n) : gc_obj(s, io + 8 * (size_t)n, gen);

        hdr(s, o, HT_TUPLE, 3);
        w64(s, o + slo(s, LF_VAROBJECT_SIZE), (uint64_t)n);
        if (io > 24)
                w64(s, o + 24, (uint64_t)-1);   /* 3.14: cached hash */
        for (int i = 0; i < n; i++)
                w64(s, o + io + 8 * (uint64_t)i, items[i]);
        return o;
}

/* A combined dict of n (<= 5) entries: unicode keys (kind 1) when uni,
 * else general; 8 slots, 1-byte indices 0..n-1. */
static uint64_t mk_dict(struct sb *s, const uint64_t *keys, const uint64_t *vals, int n,
                        bool uni, int gen)
{
        const struct layout *l = s->l;
        bool ue = s->v311 && uni;
        uint32_t es = ue ? lsz(l, LS_DICTUNIENTRY) : lsz(l, LS_DICTKEYENTRY);
        uint32_t hs = lsz(l, LS_DICTKEYS);
        uint64_t o = gc_obj(s, lsz(l, LS_DICT), gen);
        uint64_t k = alloc(s, hs + 8 + 8 * (size_t)es);

        hdr(s, o, HT_DICT, 1);
        w64(s, o + slo(s, LF_DICT_USED), (uint64_t)n);
        w64(s, o + slo(s, LF_DICT_KEYS), k);
        w64(s, k + slo(s, LF_DICTKEYS_REFCNT), 1);
        if (s->v311) {
                w8(s, k + slo(s, LF_DICTKEYS_LOG2_SIZE), 3);
                w8(s, k + slo(s, LF_DICTKEYS_LOG2_INDEX_BYTES), 3);
                w8(s, k + slo(s, LF_DICTKEYS_KIND), uni ? 1 : 0);
        } else {
                w64(s, k + slo(s, LF_DICTKEYS_SIZE), 8);
        }
        w64(s, k + slo(s, LF_DICTKEYS_USABLE), 5 - (uint64_t)n);
        w64(s, k + slo(s, LF_DICTKEYS_NENTRIES), (uint64_t)n);
        for (int i = 0; i < n; i++)
                w8(s, k + hs + (uint64_t)i, (uint8_t)i);
        uint64_t ents = k + hs + 8;
        for (int i = 0; i < n; i++) {
                uint64_t e = ents + (uint64_t)i * es;

                if (ue) {
                        w64(s, e + slo(s, LF_DICTUNIENTRY_KEY), keys[i]);
                        w64(s, e + slo(s, LF_DICTUNIENTRY_VALUE), vals[i]);
                } else {
                        w64(s, e + slo(s, LF_DICTKEYENTRY_HASH), 1234 + (uint64_t)i);
                        w64(s, e + slo(s, LF_DICTKEYENTRY_KEY), keys[i]);
                        w64(s, e + slo(s, LF_DICTKEYENTRY_VALUE), vals[i]);
                }
        }
        return o;
}

size_t himg_seed(unsigned table, uint8_t *buf, size_t cap)
{
        struct himg x;
        struct sb s;
        uint64_t heads[4];
        int r;

        r = himg_setup(&x, table);
        if (r < 0)
                return 0;
        memcpy(heads, x.heads, sizeof(heads));
        memset(&s, 0, sizeof(s));
        s.l = &x.pi.layout;
        s.v311 = lhas(s.l, LF_DICTKEYS_LOG2_SIZE);
        s.v312 = lhas(s.l, LF_LONG_TAG);
        if (cap < HIMG_HDR + 64 || !lsz(s.l, LS_DICTKEYS) || !lsz(s.l, LS_ASCII)) {
                himg_release(&x);
                return 0;
        }
        memset(buf, 0, HIMG_HDR);
        s.img = buf + HIMG_HDR;
        s.cap = cap - HIMG_HDR;
        s.len = 16;               /* no object at the image's first address */
        s.ok = true;

        uint64_t sa = mk_str(&s, "a"), sb_ = mk_str(&s, "b"), sx = mk_str(&s, "x");
        uint64_t speer = mk_str(&s, "peer"), smain = mk_str(&s, "__main__");
        uint64_t seven = mk_int(&s, 7);

        /* class Node: a heap type in generation 2, instances with a
         * __dict__ at tp_dictoffset 16 */
        uint32_t hts = lsz(s.l, LS_HEAPTYPE);
        uint64_t node = gc_obj(&s, hts, 2);
        uint64_t nname = alloc(&s, 8);

        for (int i = 0; i < 5; i++)
                w8(&s, nname + (uint64_t)i, (uint8_t)"Node"[i]);
        hdr(&s, node, HT_TYPE, 9);
        w64(&s, node + slo(&s, LF_TYPE_NAME), nname);
        w64(&s, node + slo(&s, LF_TYPE_BASICSIZE), 24);
        w64(&s, node + slo(&s, LF_TYPE_FLAGS), TPF_HEAPTYPE | TPF_HAVE_GC | TPF_READY);
        w64(&s, node + slo(&s, LF_TYPE_TRAVERSE), HIMG_SUBTYPE_TRAVERSE);
        w64(&s, node + slo(&s, LF_TYPE_BASE), HIMG_TYPE(HT_OBJECT));
        w64(&s, node + slo(&s, LF_TYPE_DICTOFFSET), 16);
        if (lhas(s.l, LF_HEAPTYPE_QUALNAME))
                w64(&s, node + slo(&s, LF_HEAPTYPE_QUALNAME), mk_str(&s, "Node"));

        uint64_t n1 = gc_obj(&s, 24, 1), n2 = gc_obj(&s, 24, 1);

        hdr(&s, n1, 0, 1);
        hdr(&s, n2, 0, 1);
        w64(&s, n1 + slo(&s, LF_OBJECT_TYPE), node);
        w64(&s, n2 + slo(&s, LF_OBJECT_TYPE), node);
        w64(&s, n1 + 16, mk_dict(&s, &speer, &n2, 1, true, 1));
        w64(&s, n2 + 16, mk_dict(&s, &speer, &n1, 1, true, 1));

        /* L = [T, D, 'x', 7, n1]; T = (L, n2); D = {'a': L, 'b': D} */
        uint64_t L = mk_list(&s, NULL, 0, 0);
        uint64_t titems[2] = { L, n2 };
        uint64_t T = mk_tuple(&s, titems, 2, 0);
        uint64_t dk[2] = { sa, sb_ }, dv[2] = { L, 0 };
        uint64_t D = mk_dict(&s, dk, dv, 2, true, 0);
        uint64_t litems[5] = { T, D, sx, seven, n1 }, arr = alloc(&s, 8 * 6);

        /* D['b'] = D: the value of the second entry */
        {
                uint64_t k = 0;

                if (s.ok)
                        memcpy(&k, s.img + (D + slo(&s, LF_DICT_KEYS) - HIMG_ADDR), 8);
                uint32_t es = s.v311 ? lsz(s.l, LS_DICTUNIENTRY) : lsz(s.l, LS_DICTKEYENTRY);
                uint64_t e = k + lsz(s.l, LS_DICTKEYS) + 8 + es;

                w64(&s, e + (s.v311 ? slo(&s, LF_DICTUNIENTRY_VALUE) : slo(&s, LF_DICTKEYENTRY_VALUE)), D);
        }
        w64(&s, L + slo(&s, LF_VAROBJECT_SIZE), 5);
        w64(&s, L + slo(&s, LF_LIST_ITEM), arr);
        w64(&s, L + slo(&s, LF_LIST_ALLOCATED), 6);
        for (int i = 0; i < 5; i++)
                w64(&s, arr + 8 * (uint64_t)i, litems[i]);

        /* G = {(1, 7): L}: a general dict with an untracked tuple key */
        uint64_t kitems[2] = { mk_int(&s, 1), seven };
        uint64_t key = mk_tuple(&s, kitems, 2, -2);
        uint64_t G = mk_dict(&s, &key, &L, 1, false, 2);

        /* S = {'a', 'x'} in its small table; f = a function over G with a
         * closure cell holding L; m = f bound to n1 */
        if (lsz(s.l, LS_SET) && lsz(s.l, LS_SETENTRY)) {
                uint64_t S = gc_obj(&s, lsz(s.l, LS_SET), 0);
                uint64_t tab = S + slo(&s, LF_SET_SMALLTABLE);
                uint32_t es = lsz(s.l, LS_SETENTRY);

                hdr(&s, S, HT_SET, 1);
                w64(&s, S + slo(&s, LF_SET_FILL), 2);
                w64(&s, S + slo(&s, LF_SET_USED), 2);
                w64(&s, S + slo(&s, LF_SET_MASK), 7);
                w64(&s, S + slo(&s, LF_SET_TABLE), tab);
                w64(&s, tab + 1 * es + slo(&s, LF_SETENTRY_KEY), sa);
                w64(&s, tab + 5 * es + slo(&s, LF_SETENTRY_KEY), sx);
        }
        if (lsz(s.l, LS_FUNC) && lsz(s.l, LS_CELL) && lsz(s.l, LS_METHOD)) {
                uint64_t cell = gc_obj(&s, lsz(s.l, LS_CELL), 0);
                uint64_t clo = mk_tuple(&s, &cell, 1, 0);
                uint64_t f = gc_obj(&s, lsz(s.l, LS_FUNC), 0);
                uint64_t m = gc_obj(&s, lsz(s.l, LS_METHOD), 0);

                hdr(&s, cell, HT_CELL, 1);
                w64(&s, cell + slo(&s, LF_CELL_REF), L);
                hdr(&s, f, HT_FUNCTION, 2);
                w64(&s, f + slo(&s, LF_FUNC_GLOBALS), G);
                w64(&s, f + slo(&s, LF_FUNC_NAME), sx);
                if (lhas(s.l, LF_FUNC_QUALNAME))
                        w64(&s, f + slo(&s, LF_FUNC_QUALNAME), sx);
                w64(&s, f + slo(&s, LF_FUNC_CLOSURE), clo);
                hdr(&s, m, HT_METHOD, 1);
                w64(&s, m + slo(&s, LF_METHOD_FUNC), f);
                w64(&s, m + slo(&s, LF_METHOD_SELF), n1);
        }

        /* sys.modules = {'__main__': G}: the module root path */
        uint64_t mods = mk_dict(&s, &smain, &G, 1, true, 2);

        if (!s.ok) {
                himg_release(&x);
                return 0;
        }
        /* link the lists: head -> nodes... -> head */
        uint8_t *h = buf + 2;

        for (int g = 0; g < 4; g++) {
                uint64_t prev = heads[g];
                uint32_t nx = slo(&s, LF_GCHEAD_NEXT), pv = slo(&s, LF_GCHEAD_PREV);

                for (int i = 0; i < s.nnodes[g]; i++) {
                        uint64_t n = s.nodes[g][i];

                        if (prev == heads[g])
                                put64(h, 16 * (uint64_t)g, n);
                        else
                                w64(&s, prev + nx, n);
                        w64(&s, n + pv, prev);
                        prev = n;
                }
                if (prev == heads[g])
                        put64(h, 16 * (uint64_t)g, heads[g]);
                else
                        w64(&s, prev + nx, heads[g]);
                put64(h, 16 * (uint64_t)g + 8, prev);
        }
        /* header: table, no faults; interp roots: modules only */
        buf[0] = (uint8_t)(table % layout_tables_count);
        buf[1] = 0;
        put64(h, 64, mods);
        himg_release(&x);
        return HIMG_HDR + s.len;
}
