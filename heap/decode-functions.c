/* decode-functions: decoders of types, modules, functions, methods,
 * descriptors and functools objects.  Rows in decode-table.h.
 */
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dec_type(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_TYPE_DICT, CL_DICT }, { LF_TYPE_CACHE, CL_TP_CACHE },
                { LF_TYPE_MRO, CL_MRO }, { LF_TYPE_BASES, CL_BASES },
                { LF_TYPE_BASE, CL_BASE }, { LF_HEAPTYPE_MODULE, CL_HT_MODULE },
        };
        uint64_t fl;

        (void)t;
        /* Static types are not GC objects; only heap types get here in a
         * consistent snapshot. */
        if (pyo_u64(&w->p, obj + lo(w->l, LF_TYPE_FLAGS), &fl) < 0) {
                partial(w);
                return 0;
        }
        if (!(fl & TPF_HEAPTYPE))
                return 0;
        return emit_fields(w, obj, LS_HEAPTYPE, fd, sizeof(fd) / sizeof(fd[0]));
}

int dec_func(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_FUNC_CODE, CL_CODE }, { LF_FUNC_GLOBALS, CL_GLOBALS },
                { LF_FUNC_BUILTINS, CL_BUILTINS }, { LF_FUNC_MODULE, CL_MODULE },
                { LF_FUNC_DEFAULTS, CL_DEFAULTS }, { LF_FUNC_KWDEFAULTS, CL_KWDEFAULTS },
                { LF_FUNC_DOC, CL_DOC }, { LF_FUNC_NAME, CL_NAME }, { LF_FUNC_DICT, CL_DICT },
                { LF_FUNC_CLOSURE, CL_CLOSURE }, { LF_FUNC_ANNOTATIONS, CL_ANNOTATIONS },
                { LF_FUNC_ANNOTATE, CL_ANNOTATE }, { LF_FUNC_TYPEPARAMS, CL_TYPE_PARAMS },
                { LF_FUNC_QUALNAME, CL_QUALNAME },
        };
        (void)t;
        return emit_fields(w, obj, LS_FUNC, fd, sizeof(fd) / sizeof(fd[0]));
}

SIMPLE_DECODER(dec_cell, LS_CELL, { LF_CELL_REF, CL_CELL_CONTENTS })

SIMPLE_DECODER(dec_method, LS_METHOD, { LF_METHOD_FUNC, CL_FUNC }, { LF_METHOD_SELF, CL_SELF })

SIMPLE_DECODER(dec_classmethod, LS_CLASSMETHOD,
               { LF_CLASSMETHOD_CALLABLE, CL_FUNC }, { LF_CLASSMETHOD_DICT, CL_DICT })

SIMPLE_DECODER(dec_staticmethod, LS_STATICMETHOD,
               { LF_STATICMETHOD_CALLABLE, CL_FUNC }, { LF_STATICMETHOD_DICT, CL_DICT })

SIMPLE_DECODER(dec_property, LS_PROPERTY,
               { LF_PROPERTY_GET, CL_FGET }, { LF_PROPERTY_SET, CL_FSET },
               { LF_PROPERTY_DEL, CL_FDEL }, { LF_PROPERTY_DOC, CL_DOC },
               { LF_PROPERTY_NAME, CL_NAME })

/* Module states (doc/internals.md §Module state).  A C module's m_traverse
 * visits fields of its state, a struct private to the module's .c file
 * that no layout provider describes.  For the modules below, the
 * interpreter's own gc.get_referents(module) was compared, on every minor
 * version in the mask, with a scan of the state: every 8-byte word that
 * points to an object is a reference the traverse visits, except objects
 * of the types in the skip mask (interned strs, SIG_DFL/SIG_IGN ints,
 * int.__abs__ that the state caches but the traverse leaves out).  A
 * module not listed for the target's minor version keeps its state
 * opaque: _asyncio (3.12+ freelists), _decimal (3.13+ types in a nested
 * array), atexit (3.8/3.9 callbacks in a separate array) and _hmac (3.14)
 * were compared and do not match; 3.15 was not compared. */
enum {
        MS_SKIP_STR = 1 << 0,
        MS_SKIP_INT = 1 << 1,
        MS_SKIP_WRAPPER = 1 << 2,
};

#define M(minor) (1u << ((minor) - 8))

struct modstate_rule {
        const char *name;       /* the module's __name__ */
        uint8_t skip;           /* MS_SKIP_* */
        uint16_t minors;        /* M(minor) of each minor version compared */
};

static const struct modstate_rule modstate_rules[] = {
        { "_abc", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_blake2", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_bz2", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_collections", 0, M(12) | M(13) | M(14) },
        { "_csv", MS_SKIP_STR, M(8) | M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_ctypes", 0, M(13) | M(14) },
        { "_datetime", MS_SKIP_INT, M(13) | M(14) },
        { "_dbm", 0, M(11) | M(13) | M(14) },
        { "_elementtree", MS_SKIP_STR, M(8) | M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_functools", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_hashlib", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_interpchannels", 0, M(13) | M(14) },
        { "_interpqueues", 0, M(13) | M(14) },
        { "_interpreters", 0, M(13) | M(14) },
        { "_io", 0, M(12) | M(13) | M(14) },
        { "_json", 0, M(9) | M(10) | M(11) },
        { "_locale", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_lsprof", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_lzma", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_md5", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_multibytecodec", MS_SKIP_STR, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_operator", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_pickle", 0, M(8) | M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_posixsubprocess", 0, M(9) },
        { "_queue", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_random", MS_SKIP_WRAPPER, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_remote_debugging", 0, M(14) },
        { "_sha1", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_sha2", 0, M(12) | M(13) | M(14) },
        { "_sha256", 0, M(10) | M(11) },
        { "_sha3", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_sha512", 0, M(10) | M(11) },
        { "_signal", MS_SKIP_INT, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_socket", 0, M(12) | M(13) | M(14) },
        { "_sqlite3", MS_SKIP_STR, M(11) | M(12) | M(13) | M(14) },
        { "_sre", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_ssl", MS_SKIP_STR, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_struct", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_thread", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "_tokenize", 0, M(11) | M(12) | M(13) | M(14) },
        { "_zoneinfo", 0, M(12) | M(13) | M(14) },
        { "_zstd", 0, M(14) },
        { "array", MS_SKIP_STR, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "audioop", 0, M(9) | M(10) | M(11) | M(12) },
        { "binascii", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "faulthandler", 0, M(8) | M(9) | M(10) | M(11) | M(12) | M(13) },
        { "grp", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "io", 0, M(8) | M(9) | M(10) | M(11) },
        { "itertools", 0, M(12) | M(13) | M(14) },
        { "mmap", 0, M(10) | M(11) },
        { "nis", 0, M(10) | M(11) | M(12) },
        { "posix", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "pwd", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "pyexpat", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "resource", 0, M(10) | M(11) | M(12) | M(13) | M(14) },
        { "select", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "spwd", 0, M(10) | M(11) | M(12) },
        { "termios", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
        { "time", 0, M(11) | M(12) | M(13) | M(14) },
        { "zlib", 0, M(9) | M(10) | M(11) | M(12) | M(13) | M(14) },
};

#undef M

/* The largest state compared is _ssl's 160 bytes. */
#define MAX_MODSTATE 4096

static const struct modstate_rule *modstate_rule(struct walker *w, uint64_t obj)
{
        unsigned minor = py_minor(w->l->version_hex);
        uint64_t dict, name = 0;
        char buf[64];
        bool full;

        if (py_major(w->l->version_hex) != 3 || minor < 8 || minor > 8 + 15 ||
            !lhas(w->l, LF_MODULE_DICT) ||
            pyo_u64(&w->p, obj + lo(w->l, LF_MODULE_DICT), &dict) < 0 || !dict ||
            pyo_dict_get_str(&w->p, dict, "__name__", &name) < 0 || !name ||
            pyo_str(&w->p, name, buf, sizeof(buf), &full) < 0 || !full)
                return NULL;
        for (size_t i = 0; i < sizeof(modstate_rules) / sizeof(modstate_rules[0]); i++)
                if ((modstate_rules[i].minors & (1u << (minor - 8))) &&
                    !strcmp(modstate_rules[i].name, buf))
                        return &modstate_rules[i];
        return NULL;
}

/* What a state word may lead to: an object on the GC lists, or an object
 * of the few untracked kinds states hold (static types, interned strs,
 * cached ints, sentinels, constants, C API capsules (untracked before
 * 3.13), None and the bools).  Anything else is taken for C data:
 * a lock or a C pointer whose bytes happen to pass for an object header
 * (_ssl's keylog lock did, through a type word of 0) is no reference. */
static bool modstate_plausible(struct walker *w, uint64_t p, uint64_t typ)
{
        static const enum pysym_id kinds[] = {
                PYSYM_TYPE_TYPE, PYSYM_OBJECT_TYPE, PYSYM_UNICODE_TYPE, PYSYM_LONG_TYPE,
                PYSYM_BOOL_TYPE, PYSYM_FLOAT_TYPE, PYSYM_BYTES_TYPE, PYSYM_TUPLE_TYPE,
                PYSYM_DICT_TYPE, PYSYM_FROZENSET_TYPE, PYSYM_CAPSULE_TYPE,
        };

        if (heap_find(w->h, p) >= 0 || is_sym(w, PYSYM_NONE, p))
                return true;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                if (is_sym(w, kinds[i], typ))
                        return true;
        return false;
}

static bool modstate_skipped(struct walker *w, const struct modstate_rule *mr, uint64_t typ)
{
        return ((mr->skip & MS_SKIP_STR) && is_sym(w, PYSYM_UNICODE_TYPE, typ)) ||
               ((mr->skip & MS_SKIP_INT) && is_sym(w, PYSYM_LONG_TYPE, typ)) ||
               ((mr->skip & MS_SKIP_WRAPPER) && is_sym(w, PYSYM_WRAPPERDESCR_TYPE, typ));
}

/* The references of a listed module's state (size bytes at state): each
 * word that leads to an object, labelled by its offset.  A word that
 * does not is C data (a flag, a lock, a C pointer).  An unlisted module,
 * or a state that cannot be read, leaves the module opaque. */
static int emit_modstate(struct walker *w, uint64_t obj, uint64_t state, int64_t size)
{
        const struct modstate_rule *mr;
        uint64_t buf[MAX_MODSTATE / 8];
        const void *v;
        int r;

        mr = size > 0 && size <= MAX_MODSTATE && state ? modstate_rule(w, obj) : NULL;
        if (!mr || (mr->skip & MS_SKIP_STR && !w->pi->sym[PYSYM_UNICODE_TYPE]) ||
            (mr->skip & MS_SKIP_INT && !w->pi->sym[PYSYM_LONG_TYPE]) ||
            (mr->skip & MS_SKIP_WRAPPER && !w->pi->sym[PYSYM_WRAPPERDESCR_TYPE])) {
                w->cur_opaque = true;
                return 0;
        }
        v = pyo_view(&w->p, state, (size_t)size & ~(size_t)7, buf);
        if (!v) {
                w->cur_opaque = true;
                partial(w);
                return 0;
        }
        for (uint32_t off = 0; off + 8 <= (uint64_t)size; off += 8) {
                uint64_t p = ld64(v, off), typ;
                uint32_t dst, lab;
                char name[32];

                if (!p || (p & 7) || pyo_type_of(&w->p, p, &typ) < 0 ||
                    modstate_skipped(w, mr, typ) || !modstate_plausible(w, p, typ))
                        continue;
                r = resolve_object(w, p, &dst);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                snprintf(name, sizeof(name), "<state+%u>", off);
                r = text_label(w, name, &lab);
                if (r < 0)
                        return r;
                r = heap_add_edge(w->h, w->cur_src, dst, lab);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* module_traverse: the C module's own traverse of its state first (when
 * it has one and, for m_size > 0, the state exists), then md_dict.  A
 * state is decoded for the modules emit_modstate() lists; any other keeps
 * the module opaque (its dict edges are real, the state's unknown); a
 * layout that cannot tell whether there is one makes every module opaque
 * rather than guess. */
int dec_module(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = { { LF_MODULE_DICT, CL_DICT } };
        const struct layout *l = w->l;
        uint64_t trav = 0, state = 0, def = 0;
        int64_t size = 0;
        bool known = false;
        int r;

        (void)t;
        if (lhas(l, LF_MODULE_STATE_TRAVERSE) && lhas(l, LF_MODULE_STATE) &&
            lhas(l, LF_MODULE_STATE_SIZE)) {
                /* 3.15: the module holds the traverse function itself */
                known = pyo_u64(&w->p, obj + lo(l, LF_MODULE_STATE_TRAVERSE), &trav) == 0 &&
                        pyo_u64(&w->p, obj + lo(l, LF_MODULE_STATE), &state) == 0 &&
                        pyo_u64(&w->p, obj + lo(l, LF_MODULE_STATE_SIZE), (uint64_t *)&size) == 0;
        } else if (lhas(l, LF_MODULE_DEF) && lhas(l, LF_MODULE_STATE) &&
                   lhas(l, LF_MODULEDEF_TRAVERSE) && lhas(l, LF_MODULEDEF_SIZE)) {
                known = pyo_u64(&w->p, obj + lo(l, LF_MODULE_DEF), &def) == 0 &&
                        pyo_u64(&w->p, obj + lo(l, LF_MODULE_STATE), &state) == 0 &&
                        (!def || (pyo_u64(&w->p, def + lo(l, LF_MODULEDEF_TRAVERSE), &trav) == 0 &&
                                  pyo_u64(&w->p, def + lo(l, LF_MODULEDEF_SIZE),
                                          (uint64_t *)&size) == 0));
        }
        if (!known) {
                gap(w);
        } else if (trav && (size <= 0 || state)) {
                r = emit_modstate(w, obj, state, size);
                if (r < 0)
                        return r;
        }
        return emit_fields(w, obj, LS_MODULE, fd, 1);
}

SIMPLE_DECODER(dec_descr, LS_DESCR, { LF_DESCR_TYPE, CL_OBJCLASS })

int dec_cfunc(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_CFUNC_SELF, CL_SELF }, { LF_CFUNC_MODULE, CL_MODULE },
        };
        int r;

        /* PyCMethod objects (METH_METHOD) are exactly those of type
         * PyCMethod_Type; they visit their defining class first. */
        if (is_sym(w, PYSYM_CMETHOD_TYPE, t->addr)) {
                r = emit_field(w, NULL, obj, LF_CMETHOD_CLASS, w->lab[CL_DEFINING_CLASS]);
                if (r < 0)
                        return r;
        }
        return emit_fields(w, obj, LS_CFUNC, fd, sizeof(fd) / sizeof(fd[0]));
}

SIMPLE_DECODER(dec_methwrapper, LS_METHWRAPPER,
               { LF_METHWRAPPER_DESCR, CL_DESCR }, { LF_METHWRAPPER_SELF, CL_SELF })

int dec_partial(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_PARTIAL_FN, CL_PFUNC }, { LF_PARTIAL_ARGS, CL_PARGS },
                { LF_PARTIAL_KW, CL_KEYWORDS }, { LF_PARTIAL_DICT, CL_DICT },
        };
        int r;

        if (!lsz(w->l, LS_PARTIAL))
                gap(w);
        r = emit_own_type(w, t, DK_PARTIAL);
        if (r < 0)
                return r;
        return emit_fields(w, obj, LS_PARTIAL, fd, sizeof(fd) / sizeof(fd[0]));
}

/* lru_cache_tp_traverse: the bounded cache's linked list (key, result of
 * each link) first, then the fields; 3.10+ (kwd_mark present) visits the
 * type first and the fields in another order. */
int dec_lrucache(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd38[] = {
                { LF_LRUCACHE_FUNC, CL_WRAPPED }, { LF_LRUCACHE_CACHE, CL_CACHE },
                { LF_LRUCACHE_INFO_TYPE, CL_CACHE_INFO_TYPE }, { LF_LRUCACHE_DICT, CL_DICT },
        };
        static const struct fdesc fd310[] = {
                { LF_LRUCACHE_CACHE, CL_CACHE }, { LF_LRUCACHE_FUNC, CL_WRAPPED },
                { LF_LRUCACHE_KWD_MARK, CL_KWD_MARK },
                { LF_LRUCACHE_ELEM_TYPE, CL_ELEM_TYPE },
                { LF_LRUCACHE_INFO_TYPE, CL_CACHE_INFO_TYPE }, { LF_LRUCACHE_DICT, CL_DICT },
        };
        const struct layout *l = w->l;
        bool v310 = lhas(l, LF_LRUCACHE_KWD_MARK);
        uint64_t root, link, cache, used = 0;
        int r;

        if (!lsz(l, LS_LRUCACHE) || !lhas(l, LF_LRUCACHE_ROOT) || !lhas(l, LF_LRUELEM_NEXT)) {
                gap(w);
                return 0;
        }
        if (v310) {
                r = emit_own_type(w, t, DK_LRUCACHE);
                if (r < 0)
                        return r;
        }
        /* The list holds at most one link per cache entry: the cache dict's
         * size bounds the walk even if the links loop. */
        root = obj + lo(l, LF_LRUCACHE_ROOT);
        if (pyo_u64(&w->p, obj + lo(l, LF_LRUCACHE_CACHE), &cache) < 0 ||
            pyo_u64(&w->p, root + lo(l, LF_LRUELEM_NEXT), &link) < 0 ||
            (cache && pyo_u64(&w->p, cache + lo(l, LF_DICT_USED), &used) < 0) ||
            used > MAX_ITEMS) {
                partial(w);
                link = root;
        }
        for (uint64_t i = 0; link != root; i++) {
                if (i > used || !link) {
                        partial(w);
                        break;
                }
                r = emit_field(w, NULL, link, LF_LRUELEM_KEY, w->lab[CL_LRU_KEY]);
                if (r >= 0)
                        r = emit_field(w, NULL, link, LF_LRUELEM_RESULT, w->lab[CL_LRU_RESULT]);
                /* 3.10+: the links are instances of a heap type */
                if (r >= 0 && v310)
                        r = emit_field(w, NULL, link, LF_OBJECT_TYPE, w->lab[CL_CLASS]);
                if (r < 0)
                        return r;
                if (pyo_u64(&w->p, link + lo(l, LF_LRUELEM_NEXT), &link) < 0) {
                        partial(w);
                        break;
                }
        }
        if (v310)
                return emit_fields(w, obj, LS_LRUCACHE, fd310, sizeof(fd310) / sizeof(fd310[0]));
        return emit_fields(w, obj, LS_LRUCACHE, fd38, sizeof(fd38) / sizeof(fd38[0]));
}
