/* test-walk: heap_build() on hand-built 3.8-like, 3.12-like and 3.14-like
 * address spaces in a fake memsrc: GC lists, refcounts, edges and labels,
 * and a faulty reader that fails every N-th read.  The 3.14 space exists in
 * both GC designs: generational (3.14.5+) and the incremental collector of
 * 3.14.0-3.14.4, for which no binary is at hand, so this fake is the only
 * place that walk runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "diag.h"
#include "fakemem.h"
#include "heap-build.h"
#include "heap.h"
#include "memsrc.h"
#include "pyinterp.h"
#include "pyobj.h"
#include "report.h"
#include "tap.h"

#define ARENA     0x10000000ULL
#define ARENA_SZ  (1u << 20)
#define RUNTIME   0x20000000ULL
#define SUBTYPE_TRAVERSE 0x7000100ULL
#define OTHER_TRAVERSE   0x7000200ULL
#define BASEEXC_TRAVERSE 0x7000600ULL
#define OSERR_TRAVERSE   0x7000700ULL

#define TPF_HEAPTYPE   (1UL << 9)
#define TPF_HAVE_GC    (1UL << 14)
#define TPF_MANAGED_DICT (1UL << 4)
#define TPF_MANAGED_WEAKREF (1UL << 3)
#define TPF_INLINE_VALUES (1UL << 2)
#define TPF_LIST       (1UL << 25)
#define TPF_TUPLE      (1UL << 26)
#define TPF_UNICODE    (1UL << 28)
#define TPF_DICT       (1UL << 29)
#define TPF_BASE_EXC   (1UL << 30)
#define TPF_TYPE       (1UL << 31)

/* 3.12: where the test puts interpreter fields (inside the runtime blob) */
#define I_THREADS 400
#define I_MODULES 408
#define I_SYSDICT 416
#define I_BUILTINS 424

struct fx {
        struct memsrc *m;
        struct pyinterp pi;
        struct layout *l;
        uint8_t *arena;
        uint64_t cur;
        bool v312;                /* 3.12 or 3.14 layout */
        bool v314;                /* 3.14: tuple items at 32, tagged frame
                                     slots, 32-bit refcounts */
        bool incr;                /* 3.14.0-3.14.4: young + old[2] heads,
                                     flag bits in every _gc_next */
        uint64_t gc;              /* GC state address */
        uint64_t heads[4];
        uint64_t nodes[4][64];
        int nnodes[4];
        uint64_t type_type, object_type, list_type, tuple_type, dict_type, str_type, int_type;
};

static void F(struct layout *l, enum layout_field_id f, uint32_t off)
{
        l->f[f].offset = off;
        l->f[f].size = l->f[f].elem_size = 8;
        l->f[f].present = true;
}

static void S(struct layout *l, enum layout_struct_id s, uint32_t size)
{
        l->s[s].size = size;
        l->s[s].present = true;
}

static void fill_layout(struct layout *l, bool v312, bool v314, bool incr)
{
        layout_init(l, incr ? 0x030e00f0 : v314 ? 0x030e0af0 : v312 ? 0x030c01f0 : 0x030812f0);
        l->source = "test";
        if (v312) {
                F(l, LF_RUNTIME_INTERP_HEAD, 40);
                F(l, LF_INTERP_GC, 112);
        } else {
                F(l, LF_RUNTIME_INTERP_HEAD, 32);
                F(l, LF_RUNTIME_GC, 344);
        }
        F(l, LF_INTERP_NEXT, 0);
        S(l, LS_GCSTATE, 240);
        F(l, LF_GC_ENABLED, 12);
        F(l, LF_GC_DEBUG, 16);
        if (incr) {
                /* what DWARF gives for 3.14.0 (doc/internals.md §GC lists): no
                 * generations[] and no generation0 pointer, so nothing
                 * but these names says where the heads are */
                F(l, LF_GC_YOUNG, 24);
                l->f[LF_GC_YOUNG].size = l->f[LF_GC_YOUNG].elem_size = 24;
                F(l, LF_GC_OLD, 48);
                l->f[LF_GC_OLD].size = 48;
                l->f[LF_GC_OLD].elem_size = 24;
                F(l, LF_GC_PERMANENT, 96);
                F(l, LF_GC_GENERATION_STATS, 120);
                l->f[LF_GC_GENERATION_STATS].size = 72;
                l->f[LF_GC_GENERATION_STATS].elem_size = 24;
                F(l, LF_GC_COLLECTING, 192);
                F(l, LF_GC_GARBAGE, 200);
                F(l, LF_GC_HEAP_SIZE, 216);
                F(l, LF_GC_VISITED_SPACE, 232);
                l->f[LF_GC_VISITED_SPACE].size = l->f[LF_GC_VISITED_SPACE].elem_size = 4;
        } else {
                F(l, LF_GC_GENERATIONS, 24);
                l->f[LF_GC_GENERATIONS].elem_size = 24;
                F(l, LF_GC_GENERATION0, 96);
                F(l, LF_GC_PERMANENT, 104);
                F(l, LF_GC_GENERATION_STATS, 128);
                l->f[LF_GC_GENERATION_STATS].size = 72;
                l->f[LF_GC_GENERATION_STATS].elem_size = 24;
                F(l, LF_GC_COLLECTING, 200);
                F(l, LF_GC_GARBAGE, 208);
        }
        S(l, LS_GCGEN, 24);
        F(l, LF_GCGEN_HEAD, 0);
        F(l, LF_GCGEN_THRESHOLD, 16);
        F(l, LF_GCGEN_COUNT, 20);
        S(l, LS_GCHEAD, 16);
        F(l, LF_GCHEAD_NEXT, 0);
        F(l, LF_GCHEAD_PREV, 8);
        S(l, LS_OBJECT, 16);
        S(l, LS_VAROBJECT, 24);
        F(l, LF_OBJECT_REFCNT, 0);
        F(l, LF_OBJECT_TYPE, 8);
        F(l, LF_VAROBJECT_SIZE, 16);
        S(l, LS_TYPE, 416);
        F(l, LF_TYPE_NAME, 24);
        F(l, LF_TYPE_BASICSIZE, 32);
        F(l, LF_TYPE_ITEMSIZE, 40);
        F(l, LF_TYPE_FLAGS, 168);
        F(l, LF_TYPE_TRAVERSE, 184);
        F(l, LF_TYPE_BASE, 256);
        F(l, LF_TYPE_DICT, 264);
        F(l, LF_TYPE_DICTOFFSET, 288);
        F(l, LF_TYPE_IS_GC, 328);
        F(l, LF_TYPE_BASES, 336);
        F(l, LF_TYPE_MRO, 344);
        F(l, LF_TYPE_CACHE, 352);
        S(l, LS_HEAPTYPE, v312 ? 920 : 880);
        F(l, LF_HEAPTYPE_QUALNAME, v312 ? 872 : 864);
        F(l, LF_HEAPTYPE_CACHED_KEYS, v312 ? 880 : 872);
        if (v312)
                F(l, LF_HEAPTYPE_MODULE, 888);
        S(l, LS_MEMBERDEF, 40);
        F(l, LF_MEMBERDEF_NAME, 0);
        F(l, LF_MEMBERDEF_TYPE, 8);
        F(l, LF_MEMBERDEF_OFFSET, 16);
        S(l, LS_LIST, 40);
        F(l, LF_LIST_ITEM, 24);
        F(l, LF_LIST_ALLOCATED, 32);
        S(l, LS_TUPLE, v314 ? 40 : 32);
        F(l, LF_TUPLE_ITEM, v314 ? 32 : 24);
        S(l, LS_DICT, 48);
        F(l, LF_DICT_USED, 16);
        F(l, LF_DICT_KEYS, 32);
        F(l, LF_DICT_VALUES, 40);
        F(l, LF_DICTKEYS_REFCNT, 0);
        S(l, LS_DICTKEYENTRY, 24);
        F(l, LF_DICTKEYENTRY_HASH, 0);
        F(l, LF_DICTKEYENTRY_KEY, 8);
        F(l, LF_DICTKEYENTRY_VALUE, 16);
        if (v312) {
                S(l, LS_DICTKEYS, 32);
                F(l, LF_DICTKEYS_LOG2_SIZE, 8);
                F(l, LF_DICTKEYS_LOG2_INDEX_BYTES, 9);
                F(l, LF_DICTKEYS_KIND, 10);
                F(l, LF_DICTKEYS_USABLE, 16);
                F(l, LF_DICTKEYS_NENTRIES, 24);
                F(l, LF_DICTKEYS_INDICES, 32);
                S(l, LS_DICTUNIENTRY, 16);
                F(l, LF_DICTUNIENTRY_KEY, 0);
                F(l, LF_DICTUNIENTRY_VALUE, 8);
                if (v314) {
                        /* inline values (3.13+): a header, then the slots */
                        S(l, LS_DICTVALUES, 16);
                        F(l, LF_DICTVALUES_CAPACITY, 0);
                        F(l, LF_DICTVALUES_SIZE, 1);
                        F(l, LF_DICTVALUES_EMBEDDED, 2);
                        F(l, LF_DICTVALUES_VALID, 3);
                        F(l, LF_DICTVALUES_VALUES, 8);
                } else {
                        S(l, LS_DICTVALUES, 8);
                        F(l, LF_DICTVALUES_VALUES, 0);
                }
                S(l, LS_ASCII, 40);
                S(l, LS_COMPACTUNI, 56);
                S(l, LS_UNICODE, 64);
                F(l, LF_UNICODE_DATA, 56);
                F(l, LF_LONG_TAG, 16);
                /* threads and frames (3.12 offsets) */
                F(l, LF_INTERP_THREADS_HEAD, I_THREADS);
                F(l, LF_INTERP_MODULES, I_MODULES);
                F(l, LF_INTERP_SYSDICT, I_SYSDICT);
                F(l, LF_INTERP_BUILTINS, I_BUILTINS);
                S(l, LS_TSTATE, 304);
                F(l, LF_TSTATE_NEXT, 8);
                F(l, LF_TSTATE_INTERP, 16);
                if (v314)
                        F(l, LF_TSTATE_CURRENT_FRAME, 72);
                else
                        F(l, LF_TSTATE_CFRAME, 56);
                F(l, LF_TSTATE_THREAD_ID, 136);
                F(l, LF_TSTATE_NATIVE_ID, 144);
                S(l, LS_CFRAME, 16);
                F(l, LF_CFRAME_CURRENT_FRAME, 0);
                S(l, LS_IFRAME, v314 ? 88 : 80);
                F(l, LF_IFRAME_CODE, 0);
                F(l, LF_IFRAME_PREVIOUS, 8);
                F(l, LF_IFRAME_FUNC, 16);
                F(l, LF_IFRAME_GLOBALS, 24);
                F(l, LF_IFRAME_BUILTINS, 32);
                F(l, LF_IFRAME_LOCALS, 40);
                F(l, LF_IFRAME_FRAME_OBJ, 48);
                F(l, LF_IFRAME_INSTR, 56);
                if (v314) {
                        F(l, LF_IFRAME_STACKPOINTER, 64);
                        F(l, LF_IFRAME_OWNER, 74);
                        F(l, LF_IFRAME_LOCALSPLUS, 80);
                        l->f[LF_OBJECT_REFCNT].size = 4;
                        /* generators (3.14 offsets) */
                        S(l, LS_GEN, 160);
                        F(l, LF_GEN_NAME, 24);
                        F(l, LF_GEN_QUALNAME, 32);
                        F(l, LF_GEN_EXC_STATE, 40);
                        F(l, LF_GEN_FRAME_STATE, 67);
                        F(l, LF_GEN_IFRAME, 72);
                        S(l, LS_ERRITEM, 16);
                        F(l, LF_ERRITEM_VALUE, 0);
                } else {
                        F(l, LF_IFRAME_STACKTOP, 64);
                        F(l, LF_IFRAME_OWNER, 70);
                        F(l, LF_IFRAME_LOCALSPLUS, 72);
                }
                S(l, LS_CODE, 200);
                F(l, LF_CODE_STACKSIZE, 64);
                F(l, LF_CODE_FIRSTLINENO, 68);
                F(l, LF_CODE_NLOCALSPLUS, 72);
                F(l, LF_CODE_LOCALSPLUSNAMES, 96);
                F(l, LF_CODE_FILENAME, 112);
                F(l, LF_CODE_NAME, 120);
                F(l, LF_CODE_QUALNAME, 128);
                F(l, LF_CODE_LINETABLE, 136);
                F(l, LF_CODE_CODE_ADAPTIVE, 192);
                S(l, LS_BYTES, 33);
                F(l, LF_BYTES_SVAL, 32);
                /* exceptions */
                S(l, LS_BASEEXC, 72);
                F(l, LF_BASEEXC_DICT, 16);
                F(l, LF_BASEEXC_ARGS, 24);
                F(l, LF_BASEEXC_NOTES, 32);
                F(l, LF_BASEEXC_TRACEBACK, 40);
                F(l, LF_BASEEXC_CONTEXT, 48);
                F(l, LF_BASEEXC_CAUSE, 56);
                S(l, LS_OSERR, 112);
                F(l, LF_OSERR_MYERRNO, 72);
                F(l, LF_OSERR_STRERROR, 80);
                F(l, LF_OSERR_FILENAME, 88);
                F(l, LF_OSERR_FILENAME2, 96);
        } else {
                S(l, LS_DICTKEYS, 40);
                F(l, LF_DICTKEYS_SIZE, 8);
                F(l, LF_DICTKEYS_LOOKUP, 16);
                F(l, LF_DICTKEYS_USABLE, 24);
                F(l, LF_DICTKEYS_NENTRIES, 32);
                F(l, LF_DICTKEYS_INDICES, 40);
                S(l, LS_ASCII, 48);
                S(l, LS_COMPACTUNI, 72);
                S(l, LS_UNICODE, 80);
                F(l, LF_UNICODE_DATA, 72);
                F(l, LF_ASCII_WSTR, 40);
        }
        F(l, LF_ASCII_LENGTH, 16);
        F(l, LF_ASCII_STATE, 32);
        F(l, LF_LONG_DIGIT, 24);
        layout_derive_facts(l);
}

/* ---- fake address space -------------------------------------------- */

/* Writes anywhere in the fake address space (fake blobs are writable). */
static void wbytes(struct fx *f, uint64_t a, const void *v, size_t n)
{
        void *p = (void *)memsrc_ptr(f->m, a, n);

        if (!p)
                abort();
        memcpy(p, v, n);
}

static void w64(struct fx *f, uint64_t a, uint64_t v)
{
        wbytes(f, a, &v, 8);
}

static uint64_t r64(struct fx *f, uint64_t a)
{
        uint64_t v;

        memcpy(&v, memsrc_ptr(f->m, a, 8), 8);
        return v;
}

static void w8(struct fx *f, uint64_t a, uint8_t v)
{
        f->arena[a - ARENA] = v;
}

static uint64_t alloc(struct fx *f, size_t n)
{
        uint64_t a = f->cur;

        f->cur += (n + 15) & ~(size_t)15;
        if (f->cur > ARENA + ARENA_SZ)
                abort();
        return a;
}

/* A GC object: [pre-header][PyGC_Head][object]; linked into gen later. */
static uint64_t gc_obj(struct fx *f, size_t n, size_t pre, int gen)
{
        uint64_t a = alloc(f, pre + 16 + n) + pre + 16;

        if (gen >= 0)
                f->nodes[gen][f->nnodes[gen]++] = a - 16;
        return a;
}

static void hdr(struct fx *f, uint64_t o, uint64_t type, uint64_t rc)
{
        w64(f, o, rc);
        w64(f, o + 8, type);
}

static uint64_t cstr(struct fx *f, const char *s)
{
        uint64_t a = alloc(f, strlen(s) + 1);

        memcpy(f->arena + (a - ARENA), s, strlen(s) + 1);
        return a;
}

static uint64_t mk_str(struct fx *f, const char *s, uint64_t rc)
{
        uint32_t hs = f->l->s[LS_ASCII].size;
        uint64_t a = alloc(f, hs + strlen(s) + 1);

        hdr(f, a, f->str_type, rc);
        w64(f, a + 16, strlen(s));
        w8(f, a + 32, 0x04 | 0x20 | 0x40 | 0x80);
        memcpy(f->arena + (a - ARENA) + hs, s, strlen(s) + 1);
        return a;
}

static uint64_t mk_int(struct fx *f, uint32_t v)
{
        uint64_t a = alloc(f, 32);

        hdr(f, a, f->int_type, 5);
        w64(f, a + 16, f->v312 ? (1 << 3) : 1);
        w64(f, a + 24, v);
        return a;
}

static uint64_t mk_static_type(struct fx *f, const char *name, uint64_t flags,
                               int64_t basicsize, int64_t itemsize, uint64_t traverse)
{
        uint64_t t = alloc(f, 416);

        hdr(f, t, f->type_type ? f->type_type : t, 100);
        w64(f, t + 24, cstr(f, name));
        w64(f, t + 32, (uint64_t)basicsize);
        w64(f, t + 40, (uint64_t)itemsize);
        w64(f, t + 168, flags | (1UL << 12));
        w64(f, t + 184, traverse);
        w64(f, t + 256, f->object_type);
        return t;
}

static uint64_t mk_list(struct fx *f, const uint64_t *items, int n, int gen)
{
        uint64_t o = gc_obj(f, 40, 0, gen), arr = alloc(f, 8 * (size_t)(n + 1));

        hdr(f, o, f->list_type, 2);
        w64(f, o + 16, (uint64_t)n);
        w64(f, o + 24, arr);
        w64(f, o + 32, (uint64_t)n + 1);
        for (int i = 0; i < n; i++)
                w64(f, arr + 8 * (uint64_t)i, items[i]);
        return o;
}

static uint64_t mk_tuple(struct fx *f, const uint64_t *items, int n, int gen)
{
        /* 3.14 caches the hash at 24 and moves the items to 32 */
        uint64_t io = f->v314 ? 32 : 24;
        uint64_t o = gc_obj(f, io + 8 * (size_t)n, 0, gen);

        hdr(f, o, f->tuple_type, 3);
        w64(f, o + 16, (uint64_t)n);
        if (f->v314)
                w64(f, o + 24, (uint64_t)-1);
        for (int i = 0; i < n; i++)
                w64(f, o + io + 8 * (uint64_t)i, items[i]);
        return o;
}

/* Keys object with n entries; kind 0 general / 1 unicode / 2 split
 * (3.12; the 3.8 layout has one entry format). */
static uint64_t mk_keys(struct fx *f, const uint64_t *keys, const uint64_t *vals, int n,
                        int kind, int64_t refcnt)
{
        bool uni = f->v312 && kind > 0;
        uint32_t es = uni ? 16 : 24;
        uint32_t hs = f->l->s[LS_DICTKEYS].size;
        uint64_t k = alloc(f, hs + 8 + 8 * (size_t)es);

        w64(f, k, (uint64_t)refcnt);
        if (f->v312) {
                w8(f, k + 8, 3);      /* 8 slots */
                w8(f, k + 9, 3);      /* 1-byte indices */
                w8(f, k + 10, (uint8_t)kind);
                w64(f, k + 16, 5 - (uint64_t)n);
                w64(f, k + 24, (uint64_t)n);
        } else {
                w64(f, k + 8, 8);
                w64(f, k + 16, kind == 0 ? 0x7000300 : 0x7000400);
                w64(f, k + 24, 5 - (uint64_t)n);
                w64(f, k + 32, (uint64_t)n);
        }
        uint64_t ents = k + hs + 8;
        for (int i = 0; i < n; i++) {
                uint64_t e = ents + (uint64_t)i * es;

                if (uni) {
                        w64(f, e, keys[i]);
                        w64(f, e + 8, vals ? vals[i] : 0);
                } else {
                        w64(f, e, 1234);
                        w64(f, e + 8, keys[i]);
                        w64(f, e + 16, vals ? vals[i] : 0);
                }
        }
        return k;
}

static uint64_t mk_dict(struct fx *f, const uint64_t *keys, const uint64_t *vals, int n,
                        int kind, int gen)
{
        uint64_t o = gen == -2 ? alloc(f, 48) : gc_obj(f, 48, 0, gen);

        hdr(f, o, f->dict_type, 1);
        w64(f, o + 16, (uint64_t)n);
        w64(f, o + 32, mk_keys(f, keys, vals, n, kind, 1));
        return o;
}

static void link_lists(struct fx *f)
{
        for (int g = 0; g < 4; g++) {
                uint64_t prev = f->heads[g];

                for (int i = 0; i < f->nnodes[g]; i++) {
                        w64(f, prev, f->nodes[g][i]);
                        w64(f, f->nodes[g][i] + 8, prev);
                        prev = f->nodes[g][i];
                }
                w64(f, prev, f->heads[g]);
                w64(f, f->heads[g] + 8, prev);
        }
}

struct objs {
        uint64_t L, a, b, da, db, T, G, key, node, x, peer, permlist, c, cval, imm;
        /* 3.12 only: threads, frames, roots, exceptions */
        uint64_t code_a, code_b, fobj_b, func_b, modules, oserr, perm_err, errno_int,
                 strerror_str, args_tup, oserr_type, perm_type, baseexc_type;
        /* 3.14 only: a suspended and a cleared generator */
        uint64_t gen, genx, gen_name;
};

static uint64_t mk_bytes(struct fx *f, const uint8_t *b, size_t n)
{
        uint64_t a = alloc(f, 33 + n);

        hdr(f, a, f->int_type, 3);   /* the walker only reads ob_size and ob_sval */
        w64(f, a + 16, n);
        memcpy(f->arena + (a - ARENA) + 32, b, n);
        return a;
}

/* A 3.12 code object named qualname with local names `names` and a location
 * table; only what the walker reads is filled. */
static uint64_t mk_code(struct fx *f, uint64_t code_type, const char *qualname,
                        const char *const *names, int nnames, const uint8_t *lt, size_t ltn)
{
        uint64_t c = alloc(f, 192 + 64), nt[8];
        int32_t first = 10, n = nnames, ss = 2;

        for (int i = 0; i < nnames; i++)
                nt[i] = mk_str(f, names[i], 5);
        hdr(f, c, code_type, 4);
        w64(f, c + 16, 16);          /* 16 code units */
        memcpy(f->arena + (c - ARENA) + 64, &ss, 4);
        memcpy(f->arena + (c - ARENA) + 68, &first, 4);
        memcpy(f->arena + (c - ARENA) + 72, &n, 4);
        w64(f, c + 96, mk_tuple(f, nt, nnames, -1));
        w64(f, c + 112, mk_str(f, "t.py", 5));
        w64(f, c + 120, mk_str(f, "g", 5));
        w64(f, c + 128, mk_str(f, qualname, 5));
        w64(f, c + 136, mk_bytes(f, lt, ltn));
        return c;
}

/* Threads, frames and roots (3.12 layout): thread 1 runs A (innermost)
 * called through a C shim frame from B; thread 2 runs nothing.  sys.modules
 * = {'__main__': G}, sysdict = da, builtins = db.  Also an OSError and a
 * static subclass of it (PermissionError-like) with errno/strerror set. */
static void build_312_extra(struct fx *f, struct objs *o, uint64_t interp)
{
        /* location table: [0,4) line 11, [4,10) line 12, [10,12) none,
         * [12,14) line 15 (first line 10) */
        static const uint8_t lt[] = { 0xe9, 0x02, 0xda, 0x00, 0x05, 0xf8, 0xe8, 0x06 };
        static const char *const an[] = { "x", "y", "unset" }, *const bn[] = { "z" };
        uint64_t code_type = mk_static_type(f, "code", 0, 200, 1, 0);
        uint64_t ts1 = alloc(f, 304), ts2 = alloc(f, 304), cf1 = alloc(f, 16), cf2 = alloc(f, 16);
        uint64_t fa = alloc(f, 80 + 8 * 5), shim = alloc(f, 88), fb = alloc(f, 80 + 8 * 3);
        uint8_t *rt = (uint8_t *)memsrc_ptr(f->m, interp, 512);
        /* 3.14: slots at 80, owner at 74, and stack refs carry tag bits
         * (1 = borrowed/deferred; the value 1 alone is NULL) */
        uint64_t lp = f->v314 ? 80 : 72, own = f->v314 ? 74 : 70, tag = f->v314 ? 1 : 0;
        uint64_t modk = mk_str(f, "__main__", 5);

        f->pi.sym[PYSYM_CODE_TYPE] = code_type;
        o->code_a = mk_code(f, code_type, "f.<locals>.g", an, 3, lt, sizeof(lt));
        o->code_b = mk_code(f, code_type, "outer", bn, 1, lt, sizeof(lt));
        memcpy(rt + I_THREADS, &ts1, 8);
        o->modules = mk_dict(f, &modk, &o->G, 1, 1, -2);
        memcpy(rt + I_MODULES, &o->modules, 8);
        memcpy(rt + I_SYSDICT, &o->da, 8);
        memcpy(rt + I_BUILTINS, &o->db, 8);

        w64(f, ts1 + 8, ts2);
        w64(f, ts1 + 16, interp);
        if (f->v314) {
                w64(f, ts1 + 72, fa);
        } else {
                w64(f, ts1 + 56, cf1);
                w64(f, cf1, fa);
                w64(f, ts2 + 56, cf2);
        }
        w64(f, ts1 + 136, 0x1234);
        w64(f, ts1 + 144, 77);
        w64(f, ts2 + 16, interp);
        w64(f, ts2 + 136, 0x5678);

        /* A: x = L, y = 'x', unset NULL; running the instruction at byte
         * offset 6 (line 12) */
        w64(f, fa + 0, o->code_a | tag);
        w64(f, fa + 8, shim);
        w64(f, fa + 56, o->code_a + 192 + 6);
        w64(f, fa + lp, o->L);
        w64(f, fa + lp + 8, o->x | tag);
        w64(f, fa + lp + 16, tag);
        /* the shim: owner CSTACK (3; INTERPRETER in 3.14) */
        w64(f, shim + 0, o->code_a | tag);
        w64(f, shim + 8, fb);
        w8(f, shim + own, 3);
        /* B: z = T, f_locals = G, a function and a frame object; offset 12
         * (line 15) */
        o->func_b = mk_list(f, NULL, 0, -1);
        o->fobj_b = mk_list(f, NULL, 0, -1);
        w64(f, fb + 0, o->code_b | tag);
        w64(f, fb + 16, o->func_b | tag);
        w64(f, fb + 40, o->G);
        w64(f, fb + 48, o->fobj_b);
        w64(f, fb + 56, o->code_b + 192 + 12);
        w64(f, fb + lp, o->T);

        /* exceptions: BaseException, OSError and a static subclass sharing
         * OSError's traverse */
        uint64_t pb = alloc(f, 8), po = alloc(f, 8);

        o->baseexc_type = mk_static_type(f, "BaseException", TPF_BASE_EXC | TPF_HAVE_GC, 72, 0,
                                         BASEEXC_TRAVERSE);
        o->oserr_type = mk_static_type(f, "OSError", TPF_BASE_EXC | TPF_HAVE_GC, 112, 0,
                                       OSERR_TRAVERSE);
        o->perm_type = mk_static_type(f, "PermissionError", TPF_BASE_EXC | TPF_HAVE_GC, 112, 0,
                                      OSERR_TRAVERSE);
        w64(f, o->oserr_type + 256, o->baseexc_type);
        w64(f, o->perm_type + 256, o->oserr_type);
        w64(f, pb, o->baseexc_type);
        w64(f, po, o->oserr_type);
        f->pi.sym[PYSYM_BASEEXC_PTR] = pb;
        f->pi.sym[PYSYM_OSERR_PTR] = po;
        o->errno_int = mk_int(f, 13);
        o->strerror_str = mk_str(f, "denied", 5);
        o->args_tup = mk_tuple(f, &o->errno_int, 1, -1);
        o->oserr = gc_obj(f, 112, 0, 2);
        hdr(f, o->oserr, o->oserr_type, 1);
        w64(f, o->oserr + 24, o->args_tup);
        w64(f, o->oserr + 72, o->errno_int);
        w64(f, o->oserr + 80, o->strerror_str);
        o->perm_err = gc_obj(f, 112, 0, 2);
        hdr(f, o->perm_err, o->perm_type, 1);
        w64(f, o->perm_err + 88, o->L);
        w64(f, o->perm_err + 56, o->oserr);    /* __cause__ */

        if (!f->v314)
                return;
        /* generators with an embedded 3.14 frame (gi_iframe at 72): slots
         * x = L, y = NULL (tag 1), unset = a tagged int, then one stack
         * entry, a borrowed 'x'; stackpointer after it.  The cleared one
         * still visits its code. */
        uint64_t gen_type = mk_static_type(f, "generator", TPF_HAVE_GC, 160, 8,
                                           OTHER_TRAVERSE + 9);
        uint64_t fr;

        f->pi.sym[PYSYM_GEN_TYPE] = gen_type;
        o->gen_name = mk_str(f, "gen", 5);
        o->gen = gc_obj(f, 72 + 80 + 8 * 5, 0, 2);
        hdr(f, o->gen, gen_type, 1);
        w64(f, o->gen + 24, o->gen_name);
        w8(f, o->gen + 67, (uint8_t)-2);      /* FRAME_SUSPENDED */
        fr = o->gen + 72;
        w64(f, fr + 0, o->code_a | 1);
        w64(f, fr + 16, o->func_b);
        w64(f, fr + 64, fr + 80 + 8 * 4);
        w64(f, fr + 80, o->L);
        w64(f, fr + 88, 1);
        w64(f, fr + 96, (42 << 2) | 3);
        w64(f, fr + 104, o->x | 1);
        o->genx = gc_obj(f, 72 + 80 + 8 * 5, 0, 2);
        hdr(f, o->genx, gen_type, 1);
        w8(f, o->genx + 67, 4);               /* FRAME_CLEARED */
        w64(f, o->genx + 72, o->code_b | 1);
}

/* The incremental collector's flag bits as a stopped 3.14.0 shows them
 * (doc/internals.md §GC lists, §GC head), with visited_space 0: _gc_next bit 0 is set
 * on young members (1 ^ visited_space, _PyObject_GC_TRACK) and on old[1]
 * members, kept through gc.freeze() on the permanent one, clear on old[0];
 * the heads themselves carry none.  _gc_prev bit 0 (finalizer ran) is
 * persistent, so some nodes of every list carry it too. */
static void set_incr_flags(struct fx *f)
{
        for (int g = 0; g < 4; g++)
                for (int i = 0; i < f->nnodes[g]; i++) {
                        uint64_t n = f->nodes[g][i];

                        if (g != 1)
                                w64(f, n, r64(f, n) | 1);
                        if (i % 2 == 1 || (g == 0 && i == 0))
                                w64(f, n + 8, r64(f, n + 8) | 1);
                }
}

/* ver: 38, 312, 314 (3.14.10, generational), 3140 (3.14.0, incremental) */
static void build(struct fx *f, int ver, struct objs *o)
{
        bool v312 = ver >= 312;

        memset(f, 0, sizeof(*f));
        memset(o, 0, sizeof(*o));
        f->v312 = v312;
        f->v314 = ver >= 314;
        f->incr = ver == 3140;
        f->m = fakemem_new();
        f->l = &f->pi.layout;
        fill_layout(f->l, v312, f->v314, f->incr);
        f->arena = fakemem_add(f->m, ARENA, ARENA_SZ);
        f->cur = ARENA + 64;
        uint8_t *rt = fakemem_add(f->m, RUNTIME, 8192);
        f->pi.runtime_addr = RUNTIME;
        f->pi.version_hex = f->l->version_hex;
        snprintf(f->pi.version, sizeof(f->pi.version), "%s",
                 f->incr ? "3.14.0" : f->v314 ? "3.14.10" : v312 ? "3.12.1" : "3.8.18");
        f->pi.sym[PYSYM_SUBTYPE_TRAVERSE] = SUBTYPE_TRAVERSE;

        /* runtime -> interpreter -> GC state, all inside the runtime blob */
        uint64_t interp = RUNTIME + 1024;
        uint64_t iv = interp;
        memcpy(rt + (v312 ? 40 : 32), &iv, 8);
        f->gc = v312 ? interp + 112 : RUNTIME + 344;
        uint64_t g0 = f->gc + 24;
        /* incremental: gc+96 is the permanent head, not a pointer */
        if (!f->incr)
                memcpy(rt + (f->gc - RUNTIME) + 96, &g0, 8);
        int one = 1;
        memcpy(rt + (f->gc - RUNTIME) + 12, &one, 4);
        for (int i = 0; i < 3; i++) {
                int th = i ? 10 : f->incr ? 2000 : 700, cnt = i + 3;

                /* young, old[0], old[1] sit where generations[] did */
                f->heads[i] = g0 + 24 * (uint64_t)i;
                memcpy(rt + (f->heads[i] - RUNTIME) + 16, &th, 4);
                memcpy(rt + (f->heads[i] - RUNTIME) + 20, &cnt, 4);
        }
        f->heads[3] = f->gc + f->l->f[LF_GC_PERMANENT].offset;

        /* static types; type's type is itself */
        f->type_type = mk_static_type(f, "type", TPF_TYPE | TPF_HAVE_GC,
                                      v312 ? 920 : 880, 40, OTHER_TRAVERSE);
        w64(f, f->type_type + 8, f->type_type);
        w64(f, f->type_type + 328, 0x7000500);  /* tp_is_gc */
        f->object_type = mk_static_type(f, "object", 0, 16, 0, 0);
        w64(f, f->type_type + 256, f->object_type);
        w64(f, f->object_type + 256, 0);
        f->list_type = mk_static_type(f, "list", TPF_LIST | TPF_HAVE_GC, 40, 0, OTHER_TRAVERSE + 1);
        f->tuple_type = mk_static_type(f, "tuple", TPF_TUPLE | TPF_HAVE_GC, 24, 8, OTHER_TRAVERSE + 2);
        f->dict_type = mk_static_type(f, "dict", TPF_DICT | TPF_HAVE_GC, 48, 0, OTHER_TRAVERSE + 3);
        f->str_type = mk_static_type(f, "str", TPF_UNICODE, v312 ? 40 : 48, 1, 0);
        f->int_type = mk_static_type(f, "int", 1UL << 24, 24, 4, 0);
        f->pi.sym[PYSYM_TYPE_TYPE] = f->type_type;
        f->pi.sym[PYSYM_OBJECT_TYPE] = f->object_type;
        f->pi.sym[PYSYM_LIST_TYPE] = f->list_type;
        f->pi.sym[PYSYM_TUPLE_TYPE] = f->tuple_type;
        f->pi.sym[PYSYM_DICT_TYPE] = f->dict_type;
        f->pi.sym[PYSYM_UNICODE_TYPE] = f->str_type;
        f->pi.sym[PYSYM_LONG_TYPE] = f->int_type;

        /* class Node (a heap type, tracked in gen 2) */
        uint64_t modk = mk_str(f, "__module__", 9), modv = mk_str(f, "__main__", 9);
        uint64_t tdict = mk_dict(f, &modk, &modv, 1, 1, -2);
        o->peer = mk_str(f, "peer", 7);
        o->node = gc_obj(f, v312 ? 920 : 880, 0, 2);
        hdr(f, o->node, f->type_type, 11);
        w64(f, o->node + 24, cstr(f, "Node"));
        w64(f, o->node + 32, v312 ? 16 : 32);
        w64(f, o->node + 168, TPF_HEAPTYPE | TPF_HAVE_GC | (1UL << 12) |
            (v312 ? TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF : 0) |
            (f->v314 ? TPF_INLINE_VALUES : 0));
        w64(f, o->node + 184, SUBTYPE_TRAVERSE);
        w64(f, o->node + 256, f->object_type);
        w64(f, o->node + 264, tdict);
        w64(f, o->node + 288, v312 ? (uint64_t)-1 : 16);
        w64(f, o->node + (v312 ? 872 : 864), mk_str(f, "Node", 3));
        if (v312)
                w64(f, o->node + 880, mk_keys(f, &o->peer, NULL, 1, 2, 4));

        /* L = [L] */
        o->L = mk_list(f, NULL, 0, 0);
        {
                uint64_t arr = alloc(f, 8);

                w64(f, o->L + 16, 1);
                w64(f, o->L + 24, arr);
                w64(f, arr, o->L);
        }
        /* a.peer = b, b.peer = a, through the instance dicts */
        size_t isz = v312 ? 16 : 32, pre = v312 ? 16 : 0;
        o->a = gc_obj(f, isz, pre, 1);
        o->b = gc_obj(f, isz, pre, 1);
        hdr(f, o->a, o->node, 1);
        hdr(f, o->b, o->node, 1);
        o->da = mk_dict(f, &o->peer, &o->b, 1, 1, 1);
        o->db = mk_dict(f, &o->peer, &o->a, 1, 1, 1);
        w64(f, v312 ? o->a - 24 : o->a + 16, o->da);
        w64(f, v312 ? o->b - 24 : o->b + 16, o->db);

        /* T = (L, 'x') */
        /* immortal: 3.12 0xffffffff; 3.14 0xc0000000 with ob_flags and
         * ob_overflow in the upper half (None reads 0x0005_0000_c000_0000) */
        o->x = mk_str(f, "x", f->v314 ? 0x00050000c0000000ULL : v312 ? 0xffffffffULL : 4);
        uint64_t titems[2] = { o->L, o->x };
        o->T = mk_tuple(f, titems, 2, 2);
        /* G = {(1, 2): L}: a general dict with a tuple key */
        uint64_t kitems[2] = { mk_int(f, 1), mk_int(f, 2) };
        o->key = mk_tuple(f, kitems, 2, -1);   /* untracked tuple */
        o->G = mk_dict(f, &o->key, &o->L, 1, 0, 2);
        /* a list in the permanent generation */
        o->permlist = mk_list(f, &o->T, 1, 3);
        if (f->v314) {
                /* c.peer = 'v' in inline values at c + tp_basicsize:
                 * capacity 1, size 1, embedded, valid; no dict */
                o->c = gc_obj(f, 16 + 16, 16, 2);
                hdr(f, o->c, o->node, 1);
                o->cval = mk_str(f, "v", 2);
                w64(f, o->c + 16, 0x01010101);
                w64(f, o->c + 24, o->cval);
                build_312_extra(f, o, interp);
        } else if (v312) {
                /* c.peer = 'v' held in a values array (tagged word) */
                uint64_t vals = alloc(f, 16);

                o->c = gc_obj(f, 16, 16, 2);
                hdr(f, o->c, o->node, 1);
                o->cval = mk_str(f, "v", 2);
                w64(f, vals, o->cval);
                w64(f, o->c - 24, vals - 1);
                build_312_extra(f, o, interp);
        }
        link_lists(f);
        if (f->incr) {
                int64_t n = f->nnodes[0] + f->nnodes[1] + f->nnodes[2] + f->nnodes[3];

                /* heap_size at 216; visited_space (232) stays 0 */
                memcpy(rt + (f->gc - RUNTIME) + 216, &n, 8);
                set_incr_flags(f);
        }
}

static int64_t idx_of(const struct heap *h, uint64_t a)
{
        return heap_find(h, a);
}

/* The problem of check c named for obj (or for list node `node` when obj
 * is 0), or NULL. */
static const struct heap_problem *find_problem(const struct heap *h, enum heap_check c,
                                               uint64_t obj, uint64_t node)
{
        for (uint32_t i = 0; h && i < h->nproblems; i++)
                if (h->problems[i].check == c && (obj ? h->problems[i].obj == obj :
                                                        h->problems[i].node == node))
                        return &h->problems[i];
        return NULL;
}

/* Position of the edge src -> dst with the given label among src's edges,
 * or -1. */
static int edge_pos(const struct heap *h, uint64_t src, uint64_t dst, const char *label)
{
        int64_t s = idx_of(h, src), d = idx_of(h, dst);
        char buf[128];

        if (s < 0 || d < 0 || (uint64_t)s >= h->ntracked)
                return -1;
        for (uint64_t e = h->edge_start[s]; e < h->edge_start[s + 1]; e++)
                if (h->edge_dst[e] == (uint32_t)d &&
                    !strcmp(heap_label_text(h, heap_edge_label(h, (uint32_t)s, e), buf, sizeof(buf)), label))
                        return (int)(e - h->edge_start[s]);
        return -1;
}

static uint64_t nref(const struct heap *h, uint64_t a)
{
        int64_t i = idx_of(h, a);

        return i < 0 || (uint64_t)i >= h->ntracked ? (uint64_t)-1 : heap_nref(h, (uint32_t)i);
}

/* Whether a root (kind, label, frame) points at addr. */
static bool has_root(const struct heap *h, uint64_t addr, enum heap_root_kind kind,
                     const char *label, uint32_t frame)
{
        char buf[128];

        for (uint32_t i = 0; i < h->nroots; i++) {
                const struct heap_root *r = &h->roots[i];

                if (h->objs[r->obj].addr == addr && r->kind == kind && r->frame == frame &&
                    !strcmp(heap_label_text(h, r->label, buf, sizeof(buf)), label))
                        return true;
        }
        return false;
}

static void check_roots(const struct heap *h, const struct objs *o)
{
        const struct heap_frame *fa = h->nframes > 0 ? &h->frames[0] : NULL;
        const struct heap_frame *fb = h->nframes > 1 ? &h->frames[1] : NULL;

        ok(h->nthreads == 2 && h->threads[0].thread_id == 0x1234 && h->threads[0].native_id == 77 &&
           h->threads[0].nframes == 2 && h->threads[1].thread_id == 0x5678 &&
           h->threads[1].nframes == 0, "3.12: two threads, the shim frame skipped (%u threads, %u frames)",
           h->nthreads, h->nframes);
        ok(fa && !strcmp(fa->function, "f.<locals>.g") && !strcmp(fa->filename, "t.py") &&
           fa->line == 12 && fa->code == (uint32_t)heap_find(h, o->code_a),
           "3.12: inner frame %s %s:%d", fa ? fa->function : "-", fa ? fa->filename : "-",
           fa ? fa->line : -1);
        ok(fb && !strcmp(fb->function, "outer") && fb->line == 15 && fb->thread == 0,
           "3.12: outer frame %s line %d", fb ? fb->function : "-", fb ? fb->line : -1);
        ok(has_root(h, o->L, HEAP_ROOT_THREAD, "f_locals.x", 0) &&
           has_root(h, o->x, HEAP_ROOT_THREAD, "f_locals.y", 0) &&
           has_root(h, o->T, HEAP_ROOT_THREAD, "f_locals.z", 1), "3.12: locals are thread roots");
        ok(has_root(h, o->G, HEAP_ROOT_THREAD, "f_locals", 1) &&
           has_root(h, o->func_b, HEAP_ROOT_THREAD, "f_funcobj", 1) &&
           has_root(h, o->fobj_b, HEAP_ROOT_THREAD, "frame_obj", 1),
           "3.12: f_locals, function and frame object are thread roots");
        ok(has_root(h, o->G, HEAP_ROOT_MODULE, "__main__", UINT32_MAX) &&
           has_root(h, o->da, HEAP_ROOT_INTERP, "sys.__dict__", UINT32_MAX) &&
           has_root(h, o->db, HEAP_ROOT_INTERP, "builtins.__dict__", UINT32_MAX),
           "3.12: sys.modules, sys and builtins roots");
        ok(h->nroots == 9, "3.12: %u explicit roots (want 9)", h->nroots);
        ok(edge_pos(h, o->oserr, o->errno_int, "errno") == 0 &&
           edge_pos(h, o->oserr, o->strerror_str, "strerror") == 1 &&
           edge_pos(h, o->oserr, o->args_tup, "args") == 2 && nref(h, o->oserr) == 3,
           "3.12: OSError: own fields, then BaseException's");
        ok(edge_pos(h, o->perm_err, o->L, "filename") == 0 &&
           edge_pos(h, o->perm_err, o->oserr, "__cause__") == 1 &&
           !(h->objs[heap_find(h, o->perm_err)].flags & (HOBJ_OPAQUE | HOBJ_PARTIAL)),
           "3.12: a C subclass of OSError decodes as OSError");
}

static const char *ver_name(int ver)
{
        return ver == 3140 ? "3.14.0" : ver >= 314 ? "3.14" : ver >= 312 ? "3.12" : "3.8";
}

/* The generation a member of the fixture's list g must get: the
 * incremental design has no generation 1, its old spaces are generation 2
 * (whichever of them is the visited one). */
static enum heap_gen want_gen(const struct fx *f, int g)
{
        static const enum heap_gen incr[4] = { HEAP_GEN_0, HEAP_GEN_2, HEAP_GEN_2,
                                               HEAP_GEN_PERMANENT };
        static const enum heap_gen gens[4] = { HEAP_GEN_0, HEAP_GEN_1, HEAP_GEN_2,
                                               HEAP_GEN_PERMANENT };

        return f->incr ? incr[g] : gens[g];
}

/* How many members of the fixture's list g the heap has as tracked objects
 * of the right generation; *ret_wrong counts those found with another. */
static int taken(const struct heap *h, const struct fx *f, int g, int *ret_wrong)
{
        int n = 0, wrong = 0;

        for (int i = 0; i < f->nnodes[g]; i++) {
                int64_t k = heap_find(h, f->nodes[g][i] + 16);

                if (k < 0 || (uint64_t)k >= h->ntracked)
                        continue;
                if (h->objs[k].gen == want_gen(f, g))
                        n++;
                else
                        wrong++;
        }
        if (ret_wrong)
                *ret_wrong = wrong;
        return n;
}

/* The cycles the fixture builds: L = [L] on its own, and a and b through
 * their instance dicts (a -> da -> b -> db -> a); the class they point at
 * leads back to neither. */
static void check_cycles(struct heap *h, const struct objs *o, const char *v)
{
        const uint64_t four[4] = { o->a, o->da, o->b, o->db };
        uint32_t cl = 0, ca = 0, c;
        bool same = true;
        int r = heap_analyse(h);

        if (r == 0)
                r = heap_object_cycle(h, (uint32_t)idx_of(h, o->L), &cl);
        ok(r == 0 && heap_cycle_size(h, cl) == 1, "%s: L = [L] is a cycle of its own (%d)", v, r);
        r = heap_object_cycle(h, (uint32_t)idx_of(h, o->a), &ca);
        for (int i = 1; i < 4 && r == 0; i++)
                same = same && heap_object_cycle(h, (uint32_t)idx_of(h, four[i]), &c) == 0 &&
                       c == ca;
        ok(r == 0 && same && ca != cl && heap_cycle_size(h, ca) == 4,
           "%s: a, b and their dicts form one 4-member cycle (%d, %u members)", v, r,
           r == 0 ? heap_cycle_size(h, ca) : 0);
}


/* Writes val at addr, walks as a snapshot (the result; its message in d)
 * and live (*ret_live, NULL on failure), and puts the word back. */
static int walk_corrupted(struct fx *f, uint64_t addr, uint64_t val, struct diag *d,
                          struct heap **ret_live)
{
        const struct heap_build_opts lv = { .live = true };
        uint64_t save = r64(f, addr);
        struct heap *h = NULL;
        struct diag ld = { 0 };
        int r;

        w64(f, addr, val);
        diag_clear(d);
        r = heap_build(f->m, &f->pi, NULL, &h, d);
        if (h) {
                /* a snapshot walk of a broken list must not succeed */
                heap_free(h);
                r = r == 0 ? -EPROTO : r;
        }
        *ret_live = NULL;
        if (heap_build(f->m, &f->pi, &lv, ret_live, &ld) < 0)
                *ret_live = NULL;
        w64(f, addr, save);
        return r;
}

/* 3.14.0 lists that do not come back to their heads.  A snapshot is
 * -EBADMSG with a message naming the list; live mode keeps what it took
 * before the bad link, counts it and finishes; either way in bounded
 * time.  Every bad link keeps the flag bit the target would have left in
 * place, so it is the masked pointer that is bad. */
static void check_incr_corrupt(struct fx *f, const char *v)
{
        struct heap *h;
        struct diag d = { 0 };
        uint64_t y0 = f->nodes[0][0], o0 = f->nodes[1][0], o1 = f->nodes[2][1];
        uint64_t o1last = f->nodes[2][f->nnodes[2] - 1], o0last = f->nodes[1][f->nnodes[1] - 1];
        const struct heap_problem *pr;
        int r, w0, w1, w2, w3;

        /* old[1]: a node's next leads outside every mapping */
        r = walk_corrupted(f, o1, 0x50000000ULL | 1, &d, &h);
        ok(r == -EBADMSG && strstr(d.msg, "generation 2 is broken") &&
           strstr(d.msg, "0x50000000"),
           "%s: old[1] next outside the mappings: -EBADMSG (%d: %s)", v, r, d.msg);
        pr = find_problem(h, HEAP_CHECK_GC_NEXT, 0, o1);
        ok(h && h->meta.inconsistencies == 1 && taken(h, f, 2, &w2) == f->nnodes[2] && !w2 &&
           taken(h, f, 0, &w0) == f->nnodes[0] && taken(h, f, 1, &w1) == f->nnodes[1] &&
           taken(h, f, 3, &w3) == f->nnodes[3] && !w0 && !w1 && !w3 && pr && pr->recovered &&
           pr->gen == HEAP_GEN_2 && pr->obj == o1 + 16,
           "%s live: the same is read around from the head's other side: every node, the "
           "bad link named (%d of old[1])", v, h ? taken(h, f, 2, NULL) : -1);
        heap_free(h);

        /* old[1]: the last node leads back to the first, not to the head */
        r = walk_corrupted(f, o1last, f->nodes[2][0] | 1, &d, &h);
        /* the first node's _gc_prev names the head, not the last node */
        ok(r == -EBADMSG && strstr(d.msg, "[check gc_prev]") && strstr(d.msg, "generation 2"),
           "%s: old[1] looping without its head: -EBADMSG (%d: %s)", v, r, d.msg);
        ok(h && h->meta.inconsistencies >= 1 && taken(h, f, 2, &w2) == f->nnodes[2] && !w2,
           "%s live: the loop is cut and counted, every node kept once", v);
        heap_free(h);

        /* old[0] runs on into old[1] instead of returning to its head: the
         * walk meets old[1]'s head as if it were a node */
        r = walk_corrupted(f, o0last, f->nodes[2][0] | 1, &d, &h);
        ok(r == -EBADMSG, "%s: old[0] running into old[1]: -EBADMSG (%d: %s)", v, r, d.msg);
        ok(h && h->meta.inconsistencies >= 1 && taken(h, f, 1, &w1) == f->nnodes[1] &&
           taken(h, f, 2, &w2) == f->nnodes[2] && !w1 && !w2,
           "%s live: old[0] running into old[1] is cut at old[1]'s first node", v);
        heap_free(h);

        /* young: a next that is only the old-space flag (NULL once masked) */
        r = walk_corrupted(f, y0, 1, &d, &h);
        ok(r == -EBADMSG && strstr(d.msg, "generation 0 is broken"),
           "%s: young next = flag bit only: -EBADMSG (%d: %s)", v, r, d.msg);
        /* both neighbours (the head, both ways) name y0: it is in the
         * list, only its own link is bad */
        pr = find_problem(h, HEAP_CHECK_GC_NEXT, 0, y0);
        ok(h && h->meta.inconsistencies == 1 && taken(h, f, 0, NULL) == f->nnodes[0] &&
           taken(h, f, 2, &w2) == f->nnodes[2] && !w2 && pr && pr->recovered && pr->obj == y0 + 16,
           "%s live: the same keeps young's node, which both sides name, and the rest", v);
        heap_free(h);

        /* old[0]: a pointer the flag mask does not cover (bit 2) */
        r = walk_corrupted(f, o0, f->nodes[1][1] + 4, &d, &h);
        ok(r == -EBADMSG && strstr(d.msg, "not a valid address"),
           "%s: old[0] misaligned next: -EBADMSG (%d: %s)", v, r, d.msg);
        heap_free(h);

        /* all restored: the walk is whole again */
        h = NULL;
        r = heap_build(f->m, &f->pi, NULL, &h, &d);
        ok(r == 0 && h->ntracked == (uint32_t)(f->nnodes[0] + f->nnodes[1] + f->nnodes[2] +
                                               f->nnodes[3]),
           "%s: restored fixture walks whole (%d)", v, r);
        heap_free(h);
}

static void w32(struct fx *f, uint64_t a, int32_t v)
{
        wbytes(f, a, &v, 4);
}

/* gc.get_count() and gc.get_threshold() of the incremental collector
 * (gcmodule.c, 3.14.0-3.14.4): counts (young, old[visited_space],
 * old[visited_space ^ 1]), thresholds (young, old[0], 0).  Every value
 * differs, so any other order or source shows. */
static void check_incr_settings(struct fx *f, const char *v)
{
        static const struct {
                int vs, c1, c2;
        } cases[] = { { 1, 9, 8 }, { 0, 8, 9 }, { 5, 8, 9 } };
        uint64_t vsa = f->gc + f->l->f[LF_GC_VISITED_SPACE].offset;
        struct diag d = { 0 };

        for (int i = 0; i < 3; i++) {
                w32(f, f->heads[i] + 16, i ? 10 + i : 2000);
                w32(f, f->heads[i] + 20, 7 + i);
        }
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                struct heap *h = NULL;
                int r;

                w32(f, vsa, cases[c].vs);
                r = heap_build(f->m, &f->pi, NULL, &h, &d);
                ok(r == 0 && h->gc.counts[0] == 7 && h->gc.counts[1] == cases[c].c1 &&
                   h->gc.counts[2] == cases[c].c2 && h->gc.thresholds[0] == 2000 &&
                   h->gc.thresholds[1] == 11 && h->gc.thresholds[2] == 0,
                   "%s: visited_space %d: counts %d/%d/%d (want 7/%d/%d), thresholds %d/%d/%d "
                   "(want 2000/11/0)%s", v, cases[c].vs, r == 0 ? h->gc.counts[0] : -1,
                   r == 0 ? h->gc.counts[1] : -1, r == 0 ? h->gc.counts[2] : -1, cases[c].c1,
                   cases[c].c2, r == 0 ? h->gc.thresholds[0] : -1,
                   r == 0 ? h->gc.thresholds[1] : -1, r == 0 ? h->gc.thresholds[2] : -1,
                   cases[c].vs > 1 ? " (not a space: the heads' order)" : "");
                heap_free(h);
        }
        w32(f, vsa, 0);
        for (int i = 0; i < 3; i++) {
                w32(f, f->heads[i] + 16, i ? 10 : 2000);
                w32(f, f->heads[i] + 20, i + 3);
        }
}

static void check(int ver)
{
        bool v312 = ver >= 312;
        const char *v = ver_name(ver);
        struct fx f;
        struct objs o;
        struct heap *h = NULL;
        struct diag d = { 0 };
        int r;

        build(&f, ver, &o);
        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        ok(r == 0, "%s: heap_build succeeds (%d %s)", v, r, d.msg);
        if (r < 0) {
                memsrc_free(f.m);
                return;
        }
        uint32_t ntracked = (uint32_t)(f.nnodes[0] + f.nnodes[1] + f.nnodes[2] + f.nnodes[3]);
        ok(h->ntracked == ntracked, "%s: %u tracked objects (want %u)", v, h->ntracked, ntracked);
        /* with the count above: every list member once, none added twice
         * or from outside the lists */
        for (int g = 0; g < 4; g++) {
                int wrong, n = taken(h, &f, g, &wrong);

                ok(n == f.nnodes[g] && !wrong,
                   "%s: list %d: %d of %d members found as generation %s (%d with another)", v,
                   g, n, f.nnodes[g], heap_gen_name(want_gen(&f, g)), wrong);
        }
        if (f.incr)
                ok(h->ngen_counts[0] == 1 && h->ngen_counts[1] == 0 && h->ngen_counts[3] == 1 &&
                   h->ngen_counts[2] == (uint32_t)(f.nnodes[1] + f.nnodes[2]),
                   "%s: generation counts %u/%u/%u/%u (old spaces are generation 2)", v,
                   h->ngen_counts[0], h->ngen_counts[1], h->ngen_counts[2], h->ngen_counts[3]);
        else
                ok(h->ngen_counts[0] == 1 && h->ngen_counts[1] == 4 && h->ngen_counts[3] == 1 &&
                   h->ngen_counts[2] == (uint32_t)f.nnodes[2],
                   "%s: generation counts %u/%u/%u/%u", v, h->ngen_counts[0], h->ngen_counts[1],
                   h->ngen_counts[2], h->ngen_counts[3]);
        ok(h->objs[idx_of(h, o.L)].gen == HEAP_GEN_0 && h->objs[idx_of(h, o.T)].gen == HEAP_GEN_2 &&
           h->objs[idx_of(h, o.permlist)].gen == HEAP_GEN_PERMANENT, "%s: generations", v);
        ok(h->gc.enabled && h->gc.thresholds[0] == (f.incr ? 2000 : 700) && h->gc.counts[2] == 5 &&
           h->gc.frozen == 1,
           "%s: gc state (enabled %d thr0 %d count2 %d frozen %llu)", v, h->gc.enabled,
           h->gc.thresholds[0], h->gc.counts[2], (unsigned long long)h->gc.frozen);
        ok(heap_refcnt(&h->objs[idx_of(h, o.T)]) == 3, "%s: tuple refcount", v);
        ok(edge_pos(h, o.L, o.L, "[0]") == 0 && nref(h, o.L) == 1, "%s: L = [L]", v);
        ok(edge_pos(h, o.a, o.da, "__dict__") == 0, "%s: a -> a.__dict__", v);
        ok(edge_pos(h, o.a, o.node, "__class__") == 1 && nref(h, o.a) == 2, "%s: a -> Node", v);
        ok(edge_pos(h, o.da, o.b, "['peer']") == 0 && edge_pos(h, o.db, o.a, "['peer']") == 0,
           "%s: instance dicts close the 2-cycle", v);
        ok(edge_pos(h, o.T, o.x, "[1]") == 0 && edge_pos(h, o.T, o.L, "[0]") == 1,
           "%s: tuple items in reverse order", v);
        ok(edge_pos(h, o.G, o.L, "[key]") == 0 && edge_pos(h, o.G, o.key, "<key>") == 1,
           "%s: general dict: value then key", v);
        ok(idx_of(h, o.key) >= (int64_t)h->ntracked &&
           h->objs[idx_of(h, o.key)].gen == HEAP_GEN_UNTRACKED, "%s: key tuple added untracked", v);
        ok(edge_pos(h, o.node, f.object_type, "__base__") >= 0, "%s: type -> __base__", v);
        int64_t ni = idx_of(h, o.node);
        ok(ni >= 0 && !strcmp(h->types[h->objs[idx_of(h, o.a)].type].fullname, "__main__.Node"),
           "%s: heap type named %s", v, h->types[h->objs[idx_of(h, o.a)].type].fullname);
        ok(!strcmp(h->types[h->objs[idx_of(h, o.L)].type].fullname, "builtins.list"),
           "%s: static type name", v);
        ok(h->objs[ni].flags & HOBJ_IS_TYPE, "%s: type flagged", v);
        ok(h->objs[idx_of(h, o.L)].size == 56 + 8, "%s: list size %llu", v,
           (unsigned long long)h->objs[idx_of(h, o.L)].size);
        uint64_t want = v312 ? 16 + 16 + 16 : 32 + 16;
        ok(h->objs[idx_of(h, o.a)].size == want, "%s: instance size %llu (want %llu)", v,
           (unsigned long long)h->objs[idx_of(h, o.a)].size, (unsigned long long)want);
        ok(h->objs[idx_of(h, o.x)].size == (v312 ? 42u : 50u), "%s: str size %llu", v,
           (unsigned long long)h->objs[idx_of(h, o.x)].size);
        if (v312) {
                int64_t xi = idx_of(h, o.x);

                ok(edge_pos(h, o.c, o.cval, ".peer") == 0, "%s: values array -> .peer", v);
                ok(h->objs[xi].flags & HOBJ_IMMORTAL, "%s: immortal str", v);
                /* 3.14: the count is the low 32 bits, not the whole word */
                ok(heap_refcnt(&h->objs[xi]) == (ver >= 314 ? 0xc0000000LL : 0xffffffffLL),
                   "%s: immortal refcount %llx", v, (unsigned long long)heap_refcnt(&h->objs[xi]));
        } else {
                ok(!(h->objs[idx_of(h, o.x)].flags & HOBJ_IMMORTAL), "3.8: nothing immortal");
        }
        if (v312)
                check_roots(h, &o);
        if (ver >= 314) {
                int64_t gi = idx_of(h, o.gen);

                ok(edge_pos(h, o.gen, o.gen_name, "__name__") == 0 &&
                   edge_pos(h, o.gen, o.func_b, "f_funcobj") == 1 &&
                   edge_pos(h, o.gen, o.code_a, "f_code") == 2 &&
                   edge_pos(h, o.gen, o.L, "f_locals.x") == 3 &&
                   edge_pos(h, o.gen, o.x, "<stack[0]>") == 4 && nref(h, o.gen) == 5,
                   "%s: generator frame: tags stripped, NULL and tagged ints skipped (%llu edges)",
                   v, (unsigned long long)nref(h, o.gen));
                ok(gi >= 0 && h->objs[gi].size == 72 + 80 + 8 * 5 + 16,
                   "%s: generator size %llu", v,
                   gi >= 0 ? (unsigned long long)h->objs[gi].size : 0ULL);
                ok(edge_pos(h, o.genx, o.code_b, "f_code") == 0 && nref(h, o.genx) == 1,
                   "%s: a cleared generator visits only its code", v);
        }
        ok(h->meta.inconsistencies == 0, "%s: no inconsistencies (%llu)", v,
           (unsigned long long)h->meta.inconsistencies);
        check_cycles(h, &o, v);
        heap_free(h);

        /* the zero-copy path off: same graph through memsrc_read */
        fakemem_no_ptr(f.m, 1);
        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        ok(r == 0 && h->ntracked == ntracked && edge_pos(h, o.G, o.key, "<key>") == 1,
           "%s: same graph without memsrc_ptr", v);
        heap_free(h);
        fakemem_no_ptr(f.m, 0);

        /* <=3.10 with .symtab: dk_lookup == lookdict decides, no learning
         * (the fake keys use 0x7000300 for general tables) */
        if (!v312) {
                f.pi.sym[PYSYM_LOOKDICT] = 0x7000300;
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                ok(r == 0 && edge_pos(h, o.G, o.key, "<key>") == 1 && nref(h, o.da) == 1,
                   "3.8: lookdict symbol: general dict visits keys, unicode dicts do not");
                if (r == 0)
                        heap_free(h);
                f.pi.sym[PYSYM_LOOKDICT] = 0x7000301;
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                ok(r == 0 && nref(h, o.G) == 1, "3.8: a table that is not lookdict: values only");
                if (r == 0)
                        heap_free(h);
                f.pi.sym[PYSYM_LOOKDICT] = 0;
        }

        /* object limit */
        struct heap_build_opts opts = { .max_objects = 3 };
        h = NULL;
        r = heap_build(f.m, &f.pi, &opts, &h, &d);
        ok(r == -E2BIG && !h && strstr(d.msg, "more than 3 objects") &&
                   strstr(d.msg, "likely corrupt"),
           "%s: object limit enforced (%d: %s)", v, r, d.msg);
        diag_clear(&d);

        /* faulty reader: every N-th read fails */
        int clean = 0, failed = 0, partial = 0;
        for (uint64_t n = 1; n <= 400; n++) {
                fakemem_fail_every(f.m, n);
                h = NULL;
                diag_clear(&d);
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                if (r < 0) {
                        failed++;
                        continue;
                }
                clean++;
                for (uint32_t i = 0; i < h->nobjs; i++)
                        if (h->objs[i].flags & HOBJ_PARTIAL) {
                                partial++;
                                break;
                        }
                heap_free(h);
        }
        fakemem_fail_every(f.m, 0);
        ok(clean + failed == 400, "%s: faulty reader: %d failed cleanly, %d built (%d partial)",
           v, failed, clean, partial);

        /* a linked list that loops back into itself without the head */
        {
                uint64_t n0 = f.nodes[1][0], n1 = f.nodes[1][1], save = r64(&f, n1);

                w64(&f, n1, n0);
                h = NULL;
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                ok(r == -EBADMSG && !h, "%s: looping list is -EBADMSG (%d: %s)", v, r, d.msg);
                w64(&f, n1, save);
        }
        /* a referent whose type word is 0 (C data that passes for an object
         * up to its header): no type has address 0, though 0 is the type
         * map's empty-slot key */
        {
                uint64_t save = r64(&f, o.key + 8);

                w64(&f, o.key + 8, 0);
                h = NULL;
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                ok(r == 0 && edge_pos(h, o.G, o.key, "<key>") < 0 &&
                   (h->objs[idx_of(h, o.G)].flags & HOBJ_PARTIAL),
                   "%s: a referent whose type word is 0 is no object", v);
                heap_free(h);
                w64(&f, o.key + 8, save);
        }
        if (f.incr) {
                check_incr_corrupt(&f, v);
                check_incr_settings(&f, v);
        }
        /* collecting */
        {
                int c = 1;
                uint8_t *p = (uint8_t *)memsrc_ptr(f.m, f.gc + f.l->f[LF_GC_COLLECTING].offset, 4);

                memcpy(p, &c, 4);
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                ok(r == -EAGAIN && strstr(d.msg, "garbage collection was running"),
                   "%s: collecting -> -EAGAIN", v);
                c = 0;
                memcpy(p, &c, 4);
        }
        memsrc_free(f.m);
}

/* Same objects (address, type, refcount, size, flags) and edges. */
static bool same_graph(const struct heap *a, const struct heap *b)
{
        if (a->nobjs != b->nobjs || a->ntracked != b->ntracked || a->nedges != b->nedges)
                return false;
        for (uint32_t i = 0; i < a->nobjs; i++)
                if (a->objs[i].addr != b->objs[i].addr || heap_refcnt(&a->objs[i]) != heap_refcnt(&b->objs[i]) ||
                    a->objs[i].size != b->objs[i].size || a->objs[i].flags != b->objs[i].flags ||
                    a->objs[i].gen != b->objs[i].gen)
                        return false;
        for (uint32_t i = 0; i <= a->nobjs; i++)
                if (a->edge_start[i] != b->edge_start[i])
                        return false;
        for (uint32_t i = 0; i < a->nobjs; i++)
                for (uint64_t e = a->edge_start[i]; e < a->edge_start[i + 1]; e++)
                        if (a->edge_dst[e] != b->edge_dst[e] ||
                            heap_edge_label(a, i, e) != heap_edge_label(b, i, e))
                                return false;
        return true;
}

/* A collection that runs while the lists are read: the hook bumps one
 * word of the GC state the first time heap_build lets the target run on. */
struct bump {
        struct fx *f;
        uint64_t addr;
        int fired;
};

static void bump_once(void *arg)
{
        struct bump *b = arg;

        if (b->fired++ == 0)
                w64(b->f, b->addr, r64(b->f, b->addr) + 1);
}

/* A link the target was caught rewriting: whole again from the second
 * forget on (the first is heap_build's own, before the lists). */
struct heal {
        struct fx *f;
        uint64_t addr, good;
        int fired;
};

static void heal_second(void *arg)
{
        struct heal *hl = arg;

        if (hl->fired++ == 1)
                w64(hl->f, hl->addr, hl->good);
}

/* gc_collect_increment (every automatic collection of 3.14.0-3.14.4) and a
 * full collection that finds the old counts at 0 change no generation
 * count, only generation_stats[gen].collections. */
static void check_live_collections(struct fx *f, const char *v)
{
        struct heap_build_opts lv = { .live = true };
        struct layout_field_info *fs = &f->l->f[LF_GC_GENERATION_STATS], save = *fs;
        uint64_t stats = f->gc + fs->offset;
        struct diag d = { 0 };

        for (int g = 0; g < 3; g++) {
                struct bump b = { f, stats + (uint64_t)g * 24, 0 };
                struct heap *h = NULL;
                int r;

                fakemem_on_forget(f->m, bump_once, &b);
                r = heap_build(f->m, &f->pi, &lv, &h, &d);
                fakemem_on_forget(f->m, NULL, NULL);
                ok(r == 0 && b.fired >= 1 && h->meta.inconsistencies == 1,
                   "%s live: a generation %d collection during the walk, counts unchanged, "
                   "is counted (%d, %llu inconsistencies)", v, g, r,
                   r == 0 ? (unsigned long long)h->meta.inconsistencies : 0ULL);
                heap_free(h);
        }

        /* 3.15: generation_stats is a pointer to ring buffers; the word it
         * names is not a counter and must not be compared as one */
        fs->size = fs->elem_size = 8;
        {
                struct bump b = { f, stats, 0 };
                struct heap *h = NULL;
                int r;

                fakemem_on_forget(f->m, bump_once, &b);
                r = heap_build(f->m, &f->pi, &lv, &h, &d);
                fakemem_on_forget(f->m, NULL, NULL);
                ok(r == 0 && b.fired >= 1 && h->meta.inconsistencies == 0,
                   "%s live: a pointer-wide generation_stats is not compared (%d, %llu)", v, r,
                   r == 0 ? (unsigned long long)h->meta.inconsistencies : 0ULL);
                heap_free(h);
        }
        *fs = save;
}

/* Live mode (opts.live): the same fixture read as a running process.
 * Idle it must equal the snapshot walk; torn links, a looping list, a bad
 * node header and a freed referent are counted, never fatal. */
static void set_collecting(struct fx *f, int c)
{
        uint8_t *p = (uint8_t *)memsrc_ptr(f->m, f->gc + f->l->f[LF_GC_COLLECTING].offset, 4);

        memcpy(p, &c, 4);
}

/* on_forget hook: a collection starts once the walk has begun (the walk
 * forgets its cache after the first look at the GC state) */
static struct fx *live_collect_fx;

static void start_collecting(void *arg)
{
        set_collecting(*(struct fx **)arg, 1);
}

static void check_live(int ver, bool spans)
{
        char v[64];
        struct heap_build_opts lv = { .live = true };
        struct fx f;
        struct objs o;
        struct heap *h0 = NULL, *h = NULL;
        struct diag d = { 0 };
        uint64_t n0, n1, save;
        const struct heap_problem *pr;
        uint32_t ntracked;
        int r;

        snprintf(v, sizeof(v), "%s%s", ver_name(ver), spans ? " (live cache spans)" : "");
        build(&f, ver, &o);
        /* the snapshot walk below reads them too: it must not mind */
        fakemem_volatile_spans(f.m, spans);
        ntracked = (uint32_t)(f.nnodes[0] + f.nnodes[1] + f.nnodes[2] + f.nnodes[3]);
        n0 = f.nodes[1][0];
        n1 = f.nodes[1][1];
        r = heap_build(f.m, &f.pi, NULL, &h0, &d);
        ok(r == 0 && !h0->meta.approximate, "%s live: snapshot walk (%d)", v, r);
        if (r < 0) {
                memsrc_free(f.m);
                return;
        }
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        ok(r == 0 && h->meta.approximate && h->meta.inconsistencies == 0 &&
           h->meta.live_retries == 0 && same_graph(h0, h),
           "%s live: an idle target gives the snapshot's graph (%d, %llu inconsistencies)", v, r,
           r == 0 ? (unsigned long long)h->meta.inconsistencies : 0ULL);
        if (r == 0)
                heap_free(h);
        check_live_collections(&f, v);

        /* a link torn when first read and whole when read again (the
         * forget before the re-read is where the target moved on): no
         * inconsistency.  A reader that kept the bytes of its first look
         * would count one. */
        save = r64(&f, n1 + 8);
        {
                struct heal hl = { &f, n1 + 8, save, 0 };

                w64(&f, n1 + 8, f.nodes[1][3]);
                fakemem_on_forget(f.m, heal_second, &hl);
                h = NULL;
                r = heap_build(f.m, &f.pi, &lv, &h, &d);
                fakemem_on_forget(f.m, NULL, NULL);
                ok(r == 0 && hl.fired >= 2 && h->meta.inconsistencies == 0 && same_graph(h0, h),
                   "%s live: a link torn at one read and whole at the next is no "
                   "inconsistency (%d, %llu)", v, r,
                   r == 0 ? (unsigned long long)h->meta.inconsistencies : 0ULL);
                if (r == 0)
                        heap_free(h);
                w64(&f, n1 + 8, save);
        }

        /* torn link: the second node of generation 1 does not point back */
        save = r64(&f, n1 + 8);
        w64(&f, n1 + 8, f.nodes[1][3]);
        h = NULL;
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        pr = find_problem(h, HEAP_CHECK_GC_PREV, n1 + 16, 0);
        ok(r == 0 && h->meta.inconsistencies == 1 && h->meta.live_retries >= 5 &&
           taken(h, &f, 1, NULL) == 4 && h->ntracked == ntracked && pr && pr->recovered &&
           pr->gen == want_gen(&f, 1) && pr->node == n1 && pr->expect == n0 &&
           (pr->value & ~3ULL) == f.nodes[1][3],
           "%s live: a bad _gc_prev retried, then the list read from its head's other side: "
           "nothing missing, the node and check named (%d, %llu inconsistencies, %u retries, "
           "%d of list 1)", v, r,
           h ? (unsigned long long)h->meta.inconsistencies : 0ULL, h ? h->meta.live_retries : 0,
           h ? taken(h, &f, 1, NULL) : 0);
        heap_free(h);

        /* two bad links: n1's _gc_prev and n2's _gc_next.  Neither walk
         * can reach n1..n2's link: the list cannot be read whole, at every
         * attempt the same way, so it is corrupt, not busy: refused, naming
         * the list, the node and the check */
        {
                uint64_t n2 = f.nodes[1][2], save2 = r64(&f, n2);

                w64(&f, n2, f.nodes[1][0]);
                h = NULL;
                diag_clear(&d);
                r = heap_build(f.m, &f.pi, &lv, &h, &d);
                char node_hex[32], list[64];

                snprintf(node_hex, sizeof(node_hex), "0x%llx", (unsigned long long)n1);
                snprintf(list, sizeof(list), "generation %s is broken",
                         heap_gen_name(want_gen(&f, 1)));
                ok(r == -EBADMSG && !h && strstr(d.msg, list) &&
                   strstr(d.msg, node_hex) && strstr(d.msg, "[check gc_prev]") &&
                   strstr(d.msg, "not changing"),
                   "%s live: a list broken twice the same way at every read is refused with "
                   "its generation, node and check (%d: %s)", v, r, d.msg);
                heap_free(h);

                /* the same two breaks while a collection runs (it keeps
                 * gc_refs in _gc_prev, a long one at every read): no
                 * corruption but a collection, which is retried */
                live_collect_fx = &f;
                fakemem_on_forget(f.m, start_collecting, &live_collect_fx);
                h = NULL;
                diag_clear(&d);
                r = heap_build(f.m, &f.pi, &lv, &h, &d);
                fakemem_on_forget(f.m, NULL, NULL);
                set_collecting(&f, 0);
                memsrc_forget(f.m, 0, UINT64_MAX);      /* no cached span keeps it */
                ok(r == -EAGAIN && !h && strstr(d.msg, "garbage collection was running") &&
                   !strstr(d.msg, "corrupt"),
                   "%s live: the same breaks while a collection runs are a collection, not a "
                   "corruption (%d: %s)", v, r, d.msg);
                heap_free(h);

                /* the caller's last try accepts collections: the same
                 * breaks are what a long collection left, taken partial
                 * and marked so, never refused as a corruption (which
                 * is how e2e-gcbusy once failed under load, rc 2) */
                {
                        struct heap_build_opts acc = { .live = true, .accept_collections = true };

                        fakemem_on_forget(f.m, start_collecting, &live_collect_fx);
                        h = NULL;
                        diag_clear(&d);
                        r = heap_build(f.m, &f.pi, &acc, &h, &d);
                        fakemem_on_forget(f.m, NULL, NULL);
                        set_collecting(&f, 0);
                        memsrc_forget(f.m, 0, UINT64_MAX);
                        ok(r == 0 && h && h->gc.collecting && h->meta.inconsistencies > 0 &&
                           find_problem(h, HEAP_CHECK_GC_PREV, n1 + 16, 0),
                           "%s live, last try: the same breaks while a collection runs are "
                           "taken partial, the collection marked, the break named (%d: %s)",
                           v, r, r < 0 ? d.msg : "");
                        heap_free(h);
                }

                /* ... and while one ran and ended before the check: only
                 * generation 2's collections counter tells */
                {
                        uint64_t stats = f.gc + f.l->f[LF_GC_GENERATION_STATS].offset;
                        struct bump b = { &f, stats + 2 * 24, 0 };

                        fakemem_on_forget(f.m, bump_once, &b);
                        h = NULL;
                        diag_clear(&d);
                        r = heap_build(f.m, &f.pi, &lv, &h, &d);
                        fakemem_on_forget(f.m, NULL, NULL);
                        w64(&f, stats + 2 * 24, r64(&f, stats + 2 * 24) - 1);
                        memsrc_forget(f.m, 0, UINT64_MAX);
                        ok(r == -EAGAIN && !h && !strstr(d.msg, "corrupt"),
                           "%s live: the same breaks across a collection that has ended are a "
                           "collection, not a corruption (%d: %s)", v, r, d.msg);
                        heap_free(h);
                }
                w64(&f, n2, save2);
        }
        w64(&f, n1 + 8, save);

        /* a list looping back to a node already taken */
        save = r64(&f, n1);
        w64(&f, n1, n0);
        h = NULL;
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        ok(r == 0 && h->meta.inconsistencies == 1 && taken(h, &f, 1, NULL) == 4 &&
           find_problem(h, HEAP_CHECK_GC_PREV, n0 + 16, 0),
           "%s live: a list looping back is read around from the other side, the bad link "
           "named, not -EBADMSG (%d)", v, r);
        heap_free(h);
        w64(&f, n1, save);

        /* a node still linked on both sides whose object header is garbage */
        save = r64(&f, n0 + 16 + 8);
        w64(&f, n0 + 16 + 8, 0x5000);
        h = NULL;
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        ok(r == 0 && h->ntracked == ntracked && h->meta.inconsistencies >= 1 &&
           (h->objs[idx_of(h, n0 + 16)].flags & HOBJ_PARTIAL),
           "%s live: a bad header in a consistent list is kept as unreadable and counted", v);
        heap_free(h);
        w64(&f, n0 + 16 + 8, save);

        /* a referent freed under us (refcount 0): dropped and counted live,
         * kept from a snapshot, where the stopped target's word is true */
        save = r64(&f, o.key);
        w64(&f, o.key, 0);
        h = NULL;
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        ok(r == 0 && edge_pos(h, o.G, o.key, "<key>") < 0 && edge_pos(h, o.G, o.L, "[key]") == 0 &&
           (h->objs[idx_of(h, o.G)].flags & HOBJ_PARTIAL) && h->meta.inconsistencies >= 1,
           "%s live: a referent with a dead header is dropped and counted", v);
        heap_free(h);
        h = NULL;
        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        ok(r == 0 && edge_pos(h, o.G, o.key, "<key>") == 1, "%s: the snapshot walk keeps it", v);
        heap_free(h);
        w64(&f, o.key, save);

        /* faulty reader in live mode: never fatal except unreadable GC state */
        int built = 0, failed = 0;
        for (uint64_t n = 1; n <= 200; n++) {
                fakemem_fail_every(f.m, n);
                h = NULL;
                diag_clear(&d);
                r = heap_build(f.m, &f.pi, &lv, &h, &d);
                if (r == 0) {
                        built++;
                        heap_free(h);
                } else if (r != -EBADMSG) {
                        failed++;
                }
        }
        fakemem_fail_every(f.m, 0);
        ok(built + failed == 200, "%s live: faulty reader: %d built, %d failed cleanly, none -EBADMSG",
           v, built, failed);
        heap_free(h0);
        memsrc_free(f.m);
}


/* ---- consistency checks --------------------------------------------- */

/* The JSON report of a walked heap (analysed here), malloc'ed. */
static char *render_json(struct heap *h)
{
        struct report_opts ro = { .top = 20 };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f || heap_analyse(h) < 0 || report_json(h, f, &ro) < 0) {
                if (f)
                        fclose(f);
                free(buf);
                return strdup("");
        }
        fclose(f);
        return buf;
}

/* Whether the JSON report names a problem: check, object, type, list. */
static bool json_names(struct heap *h, const char *check, uint64_t obj, const char *type,
                       const char *list)
{
        char want[256], *js = render_json(h);
        bool found;

        snprintf(want, sizeof(want), "{\"check\": \"%s\", \"object\": %llu, \"type\": "
                 "\"%s\", \"list\": %s%s%s", check, (unsigned long long)obj, type,
                 list ? "\"" : "", list ? list : "null", list ? "\"" : "");
        found = strstr(js, want) != NULL;
        if (!found)
                printf("# wanted %s\n# in %.600s\n", want, js);
        free(js);
        return found;
}

/* Builds with the word at addr replaced: as a snapshot (*ret, d) and live
 * (*ret_live, ld), then puts the word back. */
static void build_with(struct fx *f, uint64_t addr, uint64_t val, int *ret, struct heap **h,
                       struct diag *d, int *ret_live, struct heap **hl, struct diag *ld)
{
        const struct heap_build_opts lv = { .live = true };
        uint64_t save = r64(f, addr);

        w64(f, addr, val);
        *h = *hl = NULL;
        diag_clear(d);
        diag_clear(ld);
        *ret = heap_build(f->m, &f->pi, NULL, h, d);
        *ret_live = heap_build(f->m, &f->pi, &lv, hl, ld);
        w64(f, addr, save);
}

/* The quiet corruptions of issue #11: each is found in a snapshot and in
 * a live read, the message names the object (address and type), the list
 * and the check, and the JSON report carries it when one is written. */
static void check_problems(int ver)
{
        const char *v = ver_name(ver);
        struct fx f;
        struct objs o;
        struct heap *h, *hl;
        struct diag d = { 0 }, ld = { 0 };
        const struct heap_problem *pr;
        char want[256];
        int r, rl;

        build(&f, ver, &o);

        /* a _gc_prev in the middle of generation 2 names another node (the
         * finalized flag kept): a snapshot refuses, naming node, object,
         * type and check; live reads the list from both ends */
        uint64_t tn = o.T - 16;

        build_with(&f, tn + 8, (o.G - 16) | 1, &r, &h, &d, &rl, &hl, &ld);
        snprintf(want, sizeof(want), "node 0x%llx (object 0x%llx (builtins.tuple)) has _gc_prev "
                 "0x%llx, not the node before it", (unsigned long long)tn,
                 (unsigned long long)o.T, (unsigned long long)((o.G - 16) | 1));
        ok(r == -EBADMSG && !h && strstr(d.msg, "generation 2 is broken") && strstr(d.msg, want) &&
           strstr(d.msg, "[check gc_prev]"),
           "%s: a bad _gc_prev in generation 2: -EBADMSG naming it (%d: %s)", v, r, d.msg);
        pr = find_problem(hl, HEAP_CHECK_GC_PREV, o.T, 0);
        ok(rl == 0 && pr && pr->recovered && pr->gen == HEAP_GEN_2 && pr->node == tn &&
           taken(hl, &f, 2, NULL) == f.nnodes[2] && hl->meta.inconsistencies == 1,
           "%s live: the same: every node of generation 2, the node and check named (%d %s)",
           v, rl, ld.msg);
        ok(rl == 0 && json_names(hl, "gc_prev", o.T, "builtins.tuple", "2"),
           "%s live: the JSON report names it", v);
        heap_free(hl);

        /* the head's _gc_prev names its first node, not its last */
        build_with(&f, f.heads[2] + 8, f.nodes[2][0], &r, &h, &d, &rl, &hl, &ld);
        snprintf(want, sizeof(want), "its head 0x%llx has _gc_prev 0x%llx, not its last node "
                 "(0x%llx)", (unsigned long long)f.heads[2], (unsigned long long)f.nodes[2][0],
                 (unsigned long long)f.nodes[2][f.nnodes[2] - 1]);
        ok(r == -EBADMSG && strstr(d.msg, want) && strstr(d.msg, "[check list_head]"),
           "%s: a head whose _gc_prev is not its last node: -EBADMSG naming it (%d: %s)", v,
           r, d.msg);
        heap_free(hl);

        /* dict ma_used: 5 fits 8 slots (USABLE_FRACTION), 6 does not, nor
         * does a negative count */
        build_with(&f, o.G + 16, 5, &r, &h, &d, &rl, &hl, &ld);
        ok(r == 0 && rl == 0 && h->meta.inconsistencies == 0 && hl->meta.inconsistencies == 0 &&
           !h->nproblems, "%s: a dict using all 5 usable entries of 8 is fine", v);
        heap_free(h);
        heap_free(hl);
        const int64_t used_bad[] = { 6, 1000000, -1 };

        for (size_t i = 0; i < sizeof(used_bad) / sizeof(used_bad[0]); i++) {
                build_with(&f, o.G + 16, (uint64_t)used_bad[i], &r, &h, &d, &rl, &hl, &ld);
                pr = find_problem(h, HEAP_CHECK_DICT_USED, o.G, 0);
                snprintf(want, sizeof(want), "dict 0x%llx (builtins.dict): ma_used is %lld, "
                         "outside 0..5,", (unsigned long long)o.G,
                         (long long)used_bad[i]);
                char text[600];

                ok(r == 0 && pr && (int64_t)pr->value == used_bad[i] && pr->expect == 5 &&
                   h->meta.inconsistencies == 1 &&
                   strstr(heap_problem_text(h, pr, text, sizeof(text)), want) &&
                   strstr(text, "[check dict_used]"),
                   "%s: dict ma_used %lld outside 0..5 (8 slots) is named (%d: %s)", v, (long long)used_bad[i],
                   r, pr ? text : "none");
                ok(rl == 0 && find_problem(hl, HEAP_CHECK_DICT_USED, o.G, 0) &&
                   hl->meta.inconsistencies == 1, "%s live: the same", v);
                if (i == 0)
                        ok(json_names(h, "dict_used", o.G, "builtins.dict", NULL),
                           "%s: the JSON report names it", v);
                heap_free(h);
                heap_free(hl);
        }

        /* str x = 'x': kind 3 (not 1, 2 or 4) */
        uint64_t st = r64(&f, o.x + 32);

        build_with(&f, o.x + 32, (st & ~0x1cULL) | (3 << 2), &r, &h, &d, &rl, &hl, &ld);
        pr = find_problem(h, HEAP_CHECK_STR_KIND, o.x, 0);
        ok(r == 0 && pr && pr->value == 3 && h->meta.inconsistencies == 1 &&
           (h->objs[idx_of(h, o.x)].flags & HOBJ_PARTIAL) &&
           find_problem(hl, HEAP_CHECK_STR_KIND, o.x, 0),
           "%s: str kind 3 is named, snapshot and live (%d %d)", v, r, rl);
        ok(r == 0 && json_names(h, "str_kind", o.x, "builtins.str", NULL),
           "%s: the JSON report names it", v);
        heap_free(h);
        heap_free(hl);
        /* an "ASCII" str of kind 2 */
        build_with(&f, o.x + 32, (st & ~0x1cULL) | (2 << 2), &r, &h, &d, &rl, &hl, &ld);
        ok(r == 0 && find_problem(h, HEAP_CHECK_STR_KIND, o.x, 0),
           "%s: an ASCII str of kind 2 is named", v);
        heap_free(h);
        heap_free(hl);

        /* str length: 0 for 'x' (no NUL there), and past every mapping */
        const uint64_t lens[] = { 0, ARENA_SZ, (uint64_t)1 << 40 };

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                char text[600];

                build_with(&f, o.x + 16, lens[i], &r, &h, &d, &rl, &hl, &ld);
                pr = find_problem(h, HEAP_CHECK_STR_LENGTH, o.x, 0);
                snprintf(want, sizeof(want), "str 0x%llx (builtins.str): length %llu runs past",
                         (unsigned long long)o.x, (unsigned long long)lens[i]);
                ok(r == 0 && pr && pr->value == lens[i] && h->meta.inconsistencies == 1 &&
                   strstr(heap_problem_text(h, pr, text, sizeof(text)), want) &&
                   find_problem(hl, HEAP_CHECK_STR_LENGTH, o.x, 0),
                   "%s: str length %llu named, snapshot and live (%d: %s)", v,
                   (unsigned long long)lens[i], r, pr ? text : "none");
                if (i == 0)
                        ok(r == 0 && json_names(h, "str_length", o.x, "builtins.str", NULL),
                           "%s: the JSON report names it", v);
                heap_free(h);
                heap_free(hl);
        }

        /* restored: clean again, and a clean report has "problems": [] */
        h = NULL;
        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        bool clean = r == 0 && !h->nproblems && h->meta.inconsistencies == 0;
        char *js = r == 0 ? render_json(h) : strdup("");

        ok(clean && strstr(js, "\"problems\": [],"),
           "%s: restored: no problems, \"problems\": []", v);
        free(js);
        heap_free(h);
        memsrc_free(f.m);
}

/* ---- value previews ------------------------------------------------- */

/* A compact str of any kind from code points (3.8: ready bit set). */
static uint64_t mk_ustr(struct fx *f, const uint32_t *cp, size_t n, unsigned kind)
{
        bool ascii = kind == 1;
        uint32_t hs;
        uint64_t a;

        for (size_t i = 0; i < n; i++)
                ascii = ascii && cp[i] < 0x80;
        hs = ascii ? f->l->s[LS_ASCII].size : f->l->s[LS_COMPACTUNI].size;
        a = alloc(f, hs + (n + 1) * kind);
        hdr(f, a, f->str_type, 1);
        w64(f, a + 16, n);
        w8(f, a + 32, (uint8_t)(kind << 2 | 0x20 | (ascii ? 0x40 : 0) | (f->v312 ? 0 : 0x80)));
        for (size_t i = 0; i < n; i++)
                memcpy(f->arena + (a - ARENA) + hs + i * kind, &cp[i], kind);
        return a;
}

static uint64_t mk_cstr_obj(struct fx *f, const char *s)
{
        uint32_t cp[256];
        size_t n = strlen(s);

        for (size_t i = 0; i < n; i++)
                cp[i] = (unsigned char)s[i];
        return mk_ustr(f, cp, n, 1);
}

/* An int from 30-bit digits, least significant first; sign -1, 0, 1. */
static uint64_t mk_long(struct fx *f, uint64_t type, int sign, const uint32_t *dg, int nd)
{
        uint64_t a = alloc(f, 24 + 4 * (size_t)(nd ? nd : 1));

        hdr(f, a, type, 3);
        if (f->v312)
                w64(f, a + 16, (uint64_t)nd << 3 | (sign < 0 ? 2 : sign == 0 ? 1 : 0));
        else
                w64(f, a + 16, (uint64_t)(sign < 0 ? -(int64_t)nd : (int64_t)nd));
        for (int i = 0; i < nd; i++)
                memcpy(f->arena + (a - ARENA) + 24 + 4 * (size_t)i, &dg[i], 4);
        return a;
}

static uint64_t mk_float(struct fx *f, uint64_t type, double v)
{
        uint64_t a = alloc(f, 24);

        hdr(f, a, type, 2);
        memcpy(f->arena + (a - ARENA) + 16, &v, 8);
        return a;
}

static void check_previews(int ver)
{
        const char *v = ver >= 314 ? "3.14" : ver >= 312 ? "3.12" : "3.8";
        struct fx f;
        struct objs o;
        struct heap *h = NULL;
        struct diag d = { 0 };
        char pv[HEAP_PREVIEW_MAX + 1];
        uint32_t cp[128];
        int r, n = 0;

        build(&f, ver, &o);
        struct layout *l = f.l;
        F(l, LF_FLOAT_FVAL, 16);
        F(l, LF_BYTES_SVAL, 32);
        F(l, LF_SET_USED, 24);
        F(l, LF_FUNC_CODE, 16);
        F(l, LF_FUNC_QUALNAME, 104);
        F(l, LF_CODE_FIRSTLINENO, 68);
        F(l, LF_CODE_FILENAME, 112);
        F(l, LF_CODE_NAME, 120);
        if (ver >= 312)
                F(l, LF_CODE_QUALNAME, 128);
        uint64_t float_type = mk_static_type(&f, "float", 0, 24, 0, 0);
        uint64_t bytes_type = mk_static_type(&f, "bytes", 1UL << 27, 33, 1, 0);
        uint64_t bool_type = mk_static_type(&f, "bool", 1UL << 24, 24, 4, 0);
        uint64_t func_type = mk_static_type(&f, "function", TPF_HAVE_GC, 160, 0, OTHER_TRAVERSE + 9);
        uint64_t none_type = mk_static_type(&f, "NoneType", 0, 16, 0, 0);
        uint64_t code_type = f.pi.sym[PYSYM_CODE_TYPE];
        if (!code_type)
                code_type = mk_static_type(&f, "code", 0, 200, 1, 0);
        f.pi.sym[PYSYM_FLOAT_TYPE] = float_type;
        f.pi.sym[PYSYM_BYTES_TYPE] = bytes_type;
        f.pi.sym[PYSYM_BOOL_TYPE] = bool_type;
        f.pi.sym[PYSYM_FUNCTION_TYPE] = func_type;
        f.pi.sym[PYSYM_CODE_TYPE] = code_type;

        struct { uint64_t obj; const char *want; } t[40];
#define T(o_, w_) do { t[n].obj = (o_); t[n].want = (w_); n++; } while (0)
        T(mk_cstr_obj(&f, "hello"), "'hello'");
        T(mk_cstr_obj(&f, ""), "''");
        T(mk_cstr_obj(&f, "it's"), "\"it's\"");
        T(mk_cstr_obj(&f, "a'b\"c"), "'a\\'b\"c'");
        T(mk_cstr_obj(&f, "a\nb\x01\\\t\x7f"), "'a\\nb\\x01\\\\\\t\\x7f'");
        cp[0] = 'c'; cp[1] = 'a'; cp[2] = 'f'; cp[3] = 0xe9; cp[4] = 0xa0;
        T(mk_ustr(&f, cp, 5, 1), "'caf\xc3\xa9\\xa0'");
        cp[0] = 0x2603; cp[1] = 'x'; cp[2] = 0x200b; cp[3] = 0xd800;
        T(mk_ustr(&f, cp, 4, 2), "'\xe2\x98\x83x\\u200b\\ud800'");
        cp[0] = 0x1f600; cp[1] = 0x10ffff; cp[2] = 0x41;
        T(mk_ustr(&f, cp, 3, 4), "'\xf0\x9f\x98\x80\\U0010ffffA'");
        for (int i = 0; i < 100; i++)
                cp[i] = 'a' + (uint32_t)(i % 26);
        T(mk_ustr(&f, cp, 100, 1),
          "'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzab'"
          "... (len 100)");
        /* 80 characters that escape to 4 bytes each: cut short by bytes */
        for (int i = 0; i < 100; i++)
                cp[i] = 1;
        uint64_t esc = mk_ustr(&f, cp, 100, 1);
        uint32_t dg[4] = { 42 };
        T(mk_long(&f, f.int_type, 1, dg, 1), "42");
        dg[0] = 7;
        T(mk_long(&f, f.int_type, -1, dg, 1), "-7");
        T(mk_long(&f, f.int_type, 0, dg, 0), "0");
        dg[0] = 0x3fffffff; dg[1] = 0x3fffffff; dg[2] = 15;   /* 2^64 - 1 */
        T(mk_long(&f, f.int_type, 1, dg, 3), "18446744073709551615");
        T(mk_long(&f, f.int_type, -1, dg, 3), "-18446744073709551615");
        dg[0] = 0; dg[1] = 0; dg[2] = 16;                       /* 2^64 */
        T(mk_long(&f, f.int_type, 1, dg, 3), "int (20 digits)");
        dg[3] = 1;                                              /* 2^90 + 2^64 */
        T(mk_long(&f, f.int_type, -1, dg, 4), "int (28 digits)");
        dg[0] = 1;
        T(mk_long(&f, bool_type, 1, dg, 1), "True");
        T(mk_long(&f, bool_type, 0, dg, 0), "False");
        T(mk_float(&f, float_type, 0.1), "0.1");
        T(mk_float(&f, float_type, 100.0), "100.0");
        T(mk_float(&f, float_type, -1.5), "-1.5");
        T(mk_float(&f, float_type, 1e16), "1e+16");
        T(mk_float(&f, float_type, 1e15), "1000000000000000.0");
        T(mk_float(&f, float_type, 1e-5), "1e-05");
        T(mk_float(&f, float_type, 0.0001), "0.0001");
        T(mk_float(&f, float_type, 1.0 / 3), "0.3333333333333333");
        T(mk_float(&f, float_type, 1e300 * 1e300), "inf");
        T(mk_float(&f, float_type, 2.5e-300), "2.5e-300");
        uint64_t by = alloc(&f, 33 + 6);
        hdr(&f, by, bytes_type, 1);
        w64(&f, by + 16, 6);
        memcpy(f.arena + (by - ARENA) + 32, "ab'\0\xff\n", 6);
        T(by, "b\"ab'\\x00\\xff\\n\"");
        uint64_t none = alloc(&f, 16);
        hdr(&f, none, none_type, 100);
        f.pi.sym[PYSYM_NONE] = none;
        T(none, "None");
        /* a function and its code */
        uint64_t code = alloc(&f, 200);
        int32_t first = 17;
        hdr(&f, code, code_type, 2);
        memcpy(f.arena + (code - ARENA) + 68, &first, 4);
        w64(&f, code + 112, mk_cstr_obj(&f, "/app/mod.py"));
        w64(&f, code + 120, mk_cstr_obj(&f, "meth"));
        if (ver >= 312)
                w64(&f, code + 128, mk_cstr_obj(&f, "Outer.meth"));
        uint64_t fn = gc_obj(&f, 160, 0, -1);
        hdr(&f, fn, func_type, 1);
        w64(&f, fn + 16, code);
        w64(&f, fn + 104, mk_cstr_obj(&f, "Outer.meth"));
        T(fn, "Outer.meth (/app/mod.py:17)");
        T(code, ver >= 312 ? "Outer.meth (/app/mod.py:17)" : "meth (/app/mod.py:17)");
        /* a str whose kind is garbage gets no preview */
        uint64_t bad = mk_cstr_obj(&f, "zzz");
        w8(&f, bad + 32, 3 << 2 | 0x20 | 0x80);

        /* the permanent list now refers to all of them (untracked) */
        uint64_t arr = alloc(&f, 8 * (size_t)(n + 2));
        for (int i = 0; i < n; i++)
                w64(&f, arr + 8 * (uint64_t)i, t[i].obj);
        w64(&f, arr + 8 * (uint64_t)n, esc);
        w64(&f, arr + 8 * (uint64_t)(n + 1), bad);
        w64(&f, o.permlist + 16, (uint64_t)n + 2);
        w64(&f, o.permlist + 24, arr);
        w64(&f, o.permlist + 32, (uint64_t)n + 2);

        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        ok(r == 0, "%s previews: heap_build succeeds (%d %s)", v, r, d.msg);
        if (r < 0) {
                memsrc_free(f.m);
                return;
        }
        for (int i = 0; i < n; i++) {
                int64_t k = heap_find(h, t[i].obj);

                r = k < 0 ? -ESRCH : heap_preview(h, (uint32_t)k, pv, sizeof(pv));
                ok(r == 0 && strcmp(pv, t[i].want) == 0, "%s preview %s (got %d %s)", v,
                   t[i].want, r, pv);
        }
        r = heap_preview(h, (uint32_t)heap_find(h, esc), pv, sizeof(pv));
        ok(r == 0 && strncmp(pv, "'\\x01\\x01", 9) == 0 && strstr(pv, "'... (len 100)") &&
           strlen(pv) <= HEAP_PREVIEW_MAX, "%s preview of escapes is cut to the cap (%zu bytes)",
           v, strlen(pv));
        ok(heap_preview(h, (uint32_t)heap_find(h, bad), pv, sizeof(pv)) == -ENOENT,
           "%s no preview for a str of a bad kind", v);
        ok(heap_preview(h, (uint32_t)heap_find(h, o.permlist), pv, sizeof(pv)) == 0 &&
           strcmp(pv, "len 42") != 0 && atoi(pv + 4) == n + 2, "%s tracked list: %s", v, pv);
        ok(heap_preview(h, (uint32_t)heap_find(h, o.G), pv, sizeof(pv)) == 0 &&
           strcmp(pv, "len 1") == 0, "%s tracked dict: %s", v, pv);
        ok(heap_preview(h, (uint32_t)heap_find(h, o.key), pv, sizeof(pv)) == 0 &&
           strcmp(pv, "len 2") == 0, "%s untracked tuple: %s", v, pv);
        ok(heap_preview(h, (uint32_t)heap_find(h, o.node), pv, sizeof(pv)) == 0 &&
           strcmp(pv, "class '__main__.Node'") == 0, "%s heap type: %s", v, pv);
        ok(heap_preview(h, (uint32_t)heap_find(h, o.a), pv, sizeof(pv)) == -ENOENT,
           "%s plain instance: no preview", v);
        ok(h->meta.previews_dropped == 0, "%s nothing dropped", v);
        heap_free(h);
        h = NULL;
        /* a run that writes only reports keeps the previews they read */
        r = heap_build(f.m, &f.pi, &(struct heap_build_opts){.str_previews_only = true}, &h, &d);
        ok(r == 0, "%s str previews only: heap_build succeeds (%d %s)", v, r, d.msg);
        if (r == 0) {
                int64_t ks = heap_find(h, esc), kl = heap_find(h, o.permlist);
                int64_t kd = heap_find(h, o.G), kn = heap_find(h, none);

                ok(ks >= 0 && heap_preview(h, (uint32_t)ks, pv, sizeof(pv)) == 0 &&
                   strncmp(pv, "'\\x01", 5) == 0, "%s str previews only: the str's (%s)", v,
                   pv);
                ok(kl >= 0 && kd >= 0 && kn >= 0 &&
                   heap_preview(h, (uint32_t)kl, pv, sizeof(pv)) == -ENOENT &&
                   heap_preview(h, (uint32_t)kd, pv, sizeof(pv)) == -ENOENT &&
                   heap_preview(h, (uint32_t)kn, pv, sizeof(pv)) == -ENOENT,
                   "%s str previews only: none of a list, a dict, None", v);
        }
        heap_free(h);
        memsrc_free(f.m);
#undef T
}

/* pyo's span cache over a source whose bytes change (a live cache): a
 * word read again after a forget is the new word, views are copies, and a
 * stable source hands out its own bytes. */
static void check_pyo_spans(void)
{
        struct memsrc *m = fakemem_new();
        struct pyinterp pi = { 0 };
        uint64_t *w = m ? fakemem_add(m, 0x10000, 4096) : NULL, v = 0, buf[2];
        const uint64_t *view;
        struct pyo p;

        if (!ok(w != NULL, "pyo spans: fake source"))
                return;
        fakemem_volatile_spans(m, 1);
        pyo_init(&p, m, &pi);
        int r;

        w[1] = 111;
        r = pyo_u64(&p, 0x10008, &v);
        ok(r == 0 && v == 111, "pyo spans: a word (%llu)", (unsigned long long)v);
        w[1] = 222;
        r = pyo_u64(&p, 0x10008, &v);
        ok(r == 0 && v == 111, "pyo spans: without a forget, the cached word (%llu)",
           (unsigned long long)v);
        memsrc_forget(m, 0x10008, 8);
        r = pyo_u64(&p, 0x10008, &v);
        ok(r == 0 && v == 222, "pyo spans: after a forget, the word as it is now (%llu)",
           (unsigned long long)v);
        view = pyo_view(&p, 0x10008, 16, buf);
        ok(view == buf && buf[0] == 222, "pyo spans: a view of a changing source is a copy");
        fakemem_volatile_spans(m, 0);
        pyo_release(&p);
        pyo_init(&p, m, &pi);
        view = pyo_view(&p, 0x10008, 16, buf);
        ok(view == &w[1], "pyo: a view of a stable source is its own bytes");
        pyo_release(&p);
        memsrc_free(m);
}

/* The walk alternates between an object's mapping and its type's: pyo keeps
 * the spans of stable sources it used before the last one.  Five regions
 * are more than it keeps, so this goes through hits, misses and evictions;
 * every read must still give that region's own bytes.  A changing source's
 * spans are never kept: a forgotten word is read anew after a switch. */
static void check_pyo_prev_spans(void)
{
        static const uint8_t order[] = { 0, 1, 0, 2, 1, 3, 0, 4, 4, 1, 2, 3, 4, 0, 3, 1, 0 };
        struct memsrc *m = fakemem_new();
        struct pyinterp pi = { 0 };
        uint64_t *reg[5], v, buf[2];
        const uint64_t *view;
        struct pyo p;
        bool good = true, views = true;

        if (!ok(m != NULL, "pyo spans kept: fake source"))
                return;
        for (int i = 0; i < 5; i++) {
                reg[i] = fakemem_add(m, 0x100000 * (uint64_t)(i + 1), 4096);
                if (!reg[i]) {
                        ok(0, "pyo spans kept: region %d", i);
                        memsrc_free(m);
                        return;
                }
                for (int k = 0; k < 512; k++)
                        reg[i][k] = (uint64_t)i << 32 | (uint64_t)k;
        }
        fakemem_stable_spans(m, 1);
        pyo_init(&p, m, &pi);
        for (unsigned n = 0; n < 3 * sizeof(order); n++) {
                unsigned i = order[n % sizeof(order)], k = (n * 37) % 511;
                uint64_t a = 0x100000 * (uint64_t)(i + 1) + 8 * (uint64_t)k;

                if (pyo_u64(&p, a, &v) < 0 || v != ((uint64_t)i << 32 | k))
                        good = false;
                view = pyo_view(&p, a, 16, buf);
                if (view != &reg[i][k])
                        views = false;
        }
        ok(good, "pyo spans kept: every read among 5 regions gives its region's word");
        ok(views, "pyo spans kept: every view is the region's own bytes");
        ok(pyo_view(&p, 0x100000 + 4096 - 8, 16, buf) == NULL,
           "pyo spans kept: a read past a region's end still fails");
        pyo_release(&p);

        fakemem_volatile_spans(m, 1);
        pyo_init(&p, m, &pi);
        reg[0][3] = 111;
        good = pyo_u64(&p, 0x100018, &v) == 0 && v == 111 &&
               pyo_u64(&p, 0x200018, &v) == 0;
        reg[0][3] = 222;
        memsrc_forget(m, 0x100018, 8);
        good = good && pyo_u64(&p, 0x100018, &v) == 0 && v == 222;
        ok(good, "pyo spans kept: none of a changing source (a forgotten word after a "
           "switch is read anew: %llu)", (unsigned long long)v);
        pyo_release(&p);
        memsrc_free(m);
}

/* The same graph from a source that hands out snapshot-like spans (read
 * inline, several kept) as from one that answers every read by call. */
static void check_stable_spans(int ver)
{
        const char *v = ver_name(ver);
        struct fx f;
        struct objs o;
        struct heap *h1 = NULL, *h2 = NULL;
        struct diag d = { 0 };
        bool same;
        int r1, r2;

        build(&f, ver, &o);
        r1 = heap_build(f.m, &f.pi, NULL, &h1, &d);
        fakemem_stable_spans(f.m, 1);
        r2 = heap_build(f.m, &f.pi, NULL, &h2, &d);
        same = r1 == 0 && r2 == 0 && h1->nobjs == h2->nobjs && h1->nedges == h2->nedges &&
               h1->nedges > 0;
        for (uint32_t i = 0; same && i < h1->nobjs; i++)
                same = h1->objs[i].addr == h2->objs[i].addr &&
                       h1->objs[i].type == h2->objs[i].type &&
                       h1->objs[i].flags == h2->objs[i].flags;
        same = same && !memcmp(h1->edge_dst, h2->edge_dst, h1->nedges * sizeof(*h1->edge_dst)) &&
               !memcmp(h1->edge_lab, h2->edge_lab, h1->nedges * sizeof(*h1->edge_lab)) &&
               h1->nlab_esc == h2->nlab_esc &&
               (!h1->nlab_esc ||
                (!memcmp(h1->lab_esc_edge, h2->lab_esc_edge,
                         h1->nlab_esc * sizeof(*h1->lab_esc_edge)) &&
                 !memcmp(h1->lab_esc, h2->lab_esc, h1->nlab_esc * sizeof(*h1->lab_esc))));
        ok(same, "%s: the graph through snapshot-like spans is the graph through reads "
           "(%d/%d, %u/%u objects, %llu/%llu edges)", v, r1, r2, h1 ? h1->nobjs : 0,
           h2 ? h2->nobjs : 0, h1 ? (unsigned long long)h1->nedges : 0,
           h2 ? (unsigned long long)h2->nedges : 0);
        heap_free(h1);
        heap_free(h2);
        memsrc_free(f.m);
}

/* Linked with --wrap=calloc (meson.build): while calloc_fail_at > 0, the
 * calloc that brings it to 0 fails.  Only heap_build runs armed. */
static long calloc_fail_at;
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_calloc(size_t n, size_t size)
{
        if (__atomic_load_n(&calloc_fail_at, __ATOMIC_RELAXED) > 0 &&
            __atomic_sub_fetch(&calloc_fail_at, 1, __ATOMIC_RELAXED) == 0)
                return NULL;
        return __real_calloc(n, size);
}

/* Every calloc of a walk fails once in turn (the type cache, the hash
 * maps, the model's arrays): heap_build must say -ENOMEM or succeed, and
 * free what it took either way (LeakSanitizer checks at exit). */
static void check_calloc_failures(int ver)
{
        const char *v = ver_name(ver);
        long n, left = 0, bad = 0, failed = 0;

        for (n = 1; n < 100000 && !left; n++) {
                struct fx f;
                struct objs o;
                struct heap *h = NULL;
                struct diag d = { 0 };
                int r;

                build(&f, ver, &o);
                __atomic_store_n(&calloc_fail_at, n, __ATOMIC_RELAXED);
                r = heap_build(f.m, &f.pi, NULL, &h, &d);
                left = __atomic_exchange_n(&calloc_fail_at, 0, __ATOMIC_RELAXED);
                if (r == 0)
                        heap_free(h);
                else if (r == -ENOMEM)
                        failed++;
                else
                        bad++;
                memsrc_free(f.m);
        }
        /* a few callocs may fail harmlessly (caches the walk can do
         * without): those builds succeed */
        ok(left && !bad && failed > 0,
           "%s: each of heap_build's %ld callocs failing in turn: %ld -ENOMEM, the "
           "rest succeed, never another error (%ld)", v, n - 2, failed, bad);
}

/* ---- hostile names ------------------------------------------------- */

/* Strict UTF-8 (RFC 3629) written independently of common/utf8.c: the
 * bit patterns, then the overlong, surrogate and range checks by value. */
static bool strict_utf8(const unsigned char *s, size_t n, size_t *ret_at)
{
        for (size_t i = 0; i < n;) {
                unsigned char b = s[i];
                size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 :
                             (b & 0xf8) == 0xf0 ? 4 : 0;
                uint32_t c = len == 1 ? b : len == 2 ? b & 0x1fu : len == 3 ? b & 0x0fu : b & 0x07u;

                *ret_at = i;
                if (!len || i + len > n)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        c = c << 6 | (s[i + k] & 0x3fu);
                }
                if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
                    (len == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                        return false;
                i += len;
        }
        return true;
}

/* A string of the JSON file (between quotes) holds no raw control byte. */
static bool json_no_raw_controls(const char *s, size_t n)
{
        bool in = false;

        for (size_t i = 0; i < n; i++) {
                if (in && s[i] == '\\') {
                        i++;
                        continue;
                }
                if (s[i] == '"')
                        in = !in;
                else if (in && (unsigned char)s[i] < 0x20)
                        return false;
        }
        return true;
}

static char *report_to_mem(const struct heap *h, int kind, size_t *ret_n)
{
        struct report_opts ro = {.objects = true, .top = 1000};
        struct dot_opts dopt = {.top = 100};
        char *buf = NULL;
        FILE *f = open_memstream(&buf, ret_n);

        if (!f)
                abort();
        if (kind == 0)
                report_json(h, f, &ro);
        else if (kind == 1)
                report_text(h, f, &ro);
        else
                report_dot(h, f, &dopt);
        fclose(f);
        return buf;
}

/* tp_name of a static type with 0xff, a lone continuation byte, a
 * truncated sequence, C0 controls and ESC, overlong forms (C0 AF, E0 80
 * AF), an encoded surrogate (ED A0 80), a value above U+10FFFF (F4 90),
 * then a NUL; a heap type's __qualname__ (a str) with NUL, ESC, lone
 * surrogates and a UCS-4 value above U+10FFFF.  Every report must be
 * strict UTF-8, JSON strings must escape the controls, and the names must
 * read as Python's errors='replace' decoding reads them. */
static void check_hostile_names(int ver)
{
        static const unsigned char bad[] = {
                0xff, 0x80, 0xe2, 0x82, 0x01, 0x1b, '[', 0xc0, 0xaf, 0xed, 0xa0, 0x80,
                0xe0, 0x80, 0xaf, 0xf4, 0x90, 0x80, 0x80, 'x', 0, 'y', 'z', 0 };
        static const uint32_t qual[] = { 'Q', 0, 0x1b, 0xd800, 0xdcff, 0x110000, 'z' };
        const char *v = ver >= 312 ? "3.12" : "3.8";
        struct fx f;
        struct objs o;
        struct heap *h = NULL;
        struct diag d = {0};
        char *out[3];
        size_t n[3], at = 0;
        uint64_t name;
        int r;

        build(&f, ver, &o);
        name = alloc(&f, sizeof(bad));
        wbytes(&f, name, bad, sizeof(bad));
        w64(&f, f.list_type + 24, name);
        w64(&f, o.node + (ver >= 312 ? 872 : 864),
            mk_ustr(&f, qual, sizeof(qual) / sizeof(qual[0]), 4));
        r = heap_build(f.m, &f.pi, NULL, &h, &d);
        ok(r == 0, "%s hostile names: the walk succeeds (%s)", v, d.msg);
        if (r < 0) {
                memsrc_free(f.m);
                return;
        }
        r = heap_analyse(h);
        ok(r == 0, "%s hostile names: analysed", v);
        for (int k = 0; k < 3; k++)
                out[k] = report_to_mem(h, k, &n[k]);
        for (int k = 0; k < 3; k++) {
                static const char *what[] = {"JSON", "text", "DOT"};
                bool valid = strict_utf8((const unsigned char *)out[k], n[k], &at);

                ok(valid, "%s hostile names: the %s report is strict UTF-8 (bad at byte %zu)",
                   v, what[k], valid ? (size_t)0 : at);
                ok(!memchr(out[k], 0x1b, n[k]) && !memchr(out[k], 0x01, n[k]) &&
                   strlen(out[k]) == n[k],
                   "%s hostile names: no raw ESC, ^A or NUL in the %s report", v, what[k]);
        }
        ok(json_no_raw_controls(out[0], n[0]), "%s hostile names: JSON strings escape every "
           "control character", v);
#define R "\xef\xbf\xbd"
        ok(strstr(out[0], "\"qualname\": \"" R R R "\\u0001\\u001b[" R R R R R R R R R R R R
                  "x\"") != NULL,
           "%s hostile names: tp_name reads as Python's errors='replace' (U+FFFD per bad "
           "sequence), cut at the NUL", v);
        ok(strstr(out[0], "\"qualname\": \"Q" R "\\u001b" R R R "z\"") != NULL,
           "%s hostile names: __qualname__ with NUL, ESC, surrogates, > U+10FFFF", v);
        ok(strstr(out[1], "__main__.Q" R "\\x1b" R R R "z") != NULL &&
           strstr(out[1], R R R "\\x01\\x1b[" R) != NULL,
           "%s hostile names: the text report shows controls as \\xNN", v);
#undef R
        for (int k = 0; k < 3; k++)
                free(out[k]);
        heap_free(h);
        memsrc_free(f.m);
}

/* A live source has no zero-copy pointer: every array a decoder reads
 * lands in one of pyo's scratch slots.  A list's items are in slot 0 while
 * its referents are resolved, and the first referent of a heap type not
 * met before makes the type cache look up '__module__' in the type's dict:
 * with that dict's entries read into slot 0 as well, the list's remaining
 * items were read from the slot that had been grown (freed) or
 * overwritten under the decoder (the live-mode ASan abort of e2e-robust).
 * The type's dict is wider than the slot's first 4096 bytes, so the slot
 * must grow and move. */
static void check_live_new_type_mid_list(void)
{
        struct heap_build_opts lv = { .live = true };
        struct diag d = { 0 };
        struct heap *h = NULL;
        struct fx f;
        struct objs o;
        uint32_t hs, n = 300;
        uint64_t keys, ents, wdict, wide, inst, one, items[3], L2;
        int r;

        build(&f, 312, &o);
        /* dict keys: 512 slots, 1-byte indices, unicode, 300 entries of
         * which only the last is a key (16 bytes each: 4800 bytes) */
        hs = f.l->s[LS_DICTKEYS].size;
        keys = alloc(&f, hs + 512 + (size_t)n * 16);
        w64(&f, keys, 1);
        w8(&f, keys + 8, 9);
        w8(&f, keys + 9, 9);
        w8(&f, keys + 10, 1);
        w64(&f, keys + 16, 0);
        w64(&f, keys + 24, n);
        ents = keys + hs + 512;
        w64(&f, ents + (uint64_t)(n - 1) * 16, mk_str(&f, "__module__", 9));
        w64(&f, ents + (uint64_t)(n - 1) * 16 + 8, mk_str(&f, "widemod", 9));
        wdict = alloc(&f, 48);
        hdr(&f, wdict, f.dict_type, 1);
        w64(&f, wdict + 16, 1);
        w64(&f, wdict + 32, keys);
        /* class Wide, not GC tracked, so first met through its instance */
        wide = gc_obj(&f, 920, 0, -1);
        hdr(&f, wide, f.type_type, 3);
        w64(&f, wide + 24, cstr(&f, "Wide"));
        w64(&f, wide + 32, 16);
        w64(&f, wide + 168, TPF_HEAPTYPE | (1UL << 12));
        w64(&f, wide + 256, f.object_type);
        w64(&f, wide + 264, wdict);
        w64(&f, wide + 872, mk_str(&f, "Wide", 3));
        inst = alloc(&f, 16);
        hdr(&f, inst, wide, 1);
        one = mk_int(&f, 1);
        /* decoded from the last item down: the instance comes first */
        items[0] = one;
        items[1] = o.x;
        items[2] = inst;
        L2 = mk_list(&f, items, 3, 0);
        link_lists(&f);
        fakemem_no_ptr(f.m, 1);
        r = heap_build(f.m, &f.pi, &lv, &h, &d);
        ok(r == 0 && h && edge_pos(h, L2, inst, "[2]") >= 0 && edge_pos(h, L2, o.x, "[1]") >= 0 &&
           edge_pos(h, L2, one, "[0]") >= 0 && nref(h, L2) == 3,
           "live: a type first met mid-list leaves the list's items alone (%d, %llu refs)", r,
           h ? (unsigned long long)nref(h, L2) : 0ULL);
        heap_free(h);
        memsrc_free(f.m);
}

/* The walk's bound follows the target's resident memory (heap.h). */
static void test_object_cap(void)
{
        ok(heap_object_cap(0) == 100000000 && heap_object_cap(800000000) == 100000000,
           "object cap: never under 100 million");
        ok(heap_object_cap(12ULL << 30) == (12ULL << 30) / 8,
           "object cap: one per 8 bytes of a 12 GiB target");
        ok(heap_object_cap(1ULL << 40) < (1ULL << 31), "object cap: within the model's index");
}

int main(void)
{
        test_object_cap();
        check_pyo_spans();
        check_pyo_prev_spans();
        check_stable_spans(38);
        check_stable_spans(312);
        check_stable_spans(314);
        check(38);
        check(312);
        check(314);
        check(3140);
        check_live(312, false);
        check_live(312, true);
        check_live(314, false);
        check_live(314, true);
        check_live(3140, false);
        check_live_new_type_mid_list();
        check_problems(38);
        check_problems(312);
        check_problems(314);
        check_problems(3140);
        check_previews(38);
        check_previews(312);
        check_previews(314);
        check_calloc_failures(38);
        check_calloc_failures(312);
        check_hostile_names(38);
        check_hostile_names(312);
        return tap_done();
}
