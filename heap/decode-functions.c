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

/* module_traverse: the C module's own traverse of its state first (when
 * it has one and, for m_size > 0, the state exists), then md_dict.  The
 * state is opaque, so such a module's edges are incomplete; a layout that
 * cannot tell whether there is one makes every module opaque rather than
 * guess. */
int dec_module(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = { { LF_MODULE_DICT, CL_DICT } };
        const struct layout *l = w->l;
        uint64_t trav = 0, state = 0, def = 0;
        int64_t size = 0;
        bool known = false;

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
        if (!known)
                gap(w);
        else if (trav && (size <= 0 || state))
                w->cur_opaque = true;
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
