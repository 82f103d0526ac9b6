/* decode: the type cache and one small decoder per kind of object.
 *
 * Each decoder reproduces what the type's tp_traverse visits, in the same
 * order, for every supported version (internals notes §8, §9); version
 * differences are handled through layout fields that are present or absent
 * and through layout.facts, never through version #ifdefs.
 */
#include "decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "memsrc.h"
#include "pyinterp.h"

/* Caps on counts read from the target.  Real objects stay far below them;
 * larger values are garbage and make the object PARTIAL. */
#define MAX_ITEMS      ((uint64_t)1 << 28)
#define MAX_SLOTS      4096u
#define MAX_CHAIN      64
#define MAX_FRAME_SLOTS ((uint64_t)1 << 20)
#define T_OBJECT_EX    16
#define FRAME_CLEARED  4          /* gi_frame_state, 3.11-3.14 */
#define FRAME_CLEARED_315 5       /* 3.15 renumbered the frame states */
#define FRAME_OWNED_BY_FRAME_OBJECT 2

enum lstyle { LS_ATTR = 1, LS_KEYSTR = 2, LS_LOCAL = 3 };

/* ------------------------------------------------------------------ maps */

static inline uint64_t mix(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

static int map_get(const struct u64map *m, uint64_t key, uint32_t *ret)
{
        if (!m->cap)
                return 0;
        for (uint64_t i = mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (m->keys[i] == key) {
                        *ret = m->vals[i];
                        return 1;
                }
                if (!m->keys[i])
                        return 0;
        }
}

static int map_put(struct u64map *m, uint64_t key, uint32_t val)
{
        if ((m->n + 1) * 2 > m->cap) {
                uint64_t ncap = m->cap ? m->cap * 2 : 1024;
                uint64_t *nk = calloc(ncap, sizeof(*nk));
                uint32_t *nv = calloc(ncap, sizeof(*nv));

                if (!nk || !nv) {
                        free(nk);
                        free(nv);
                        return -ENOMEM;
                }
                for (uint64_t i = 0; i < m->cap; i++) {
                        uint64_t j;

                        if (!m->keys[i])
                                continue;
                        for (j = mix(m->keys[i]) & (ncap - 1); nk[j]; j = (j + 1) & (ncap - 1))
                                ;
                        nk[j] = m->keys[i];
                        nv[j] = m->vals[i];
                }
                free(m->keys);
                free(m->vals);
                m->keys = nk;
                m->vals = nv;
                m->cap = ncap;
        }
        for (uint64_t i = mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (!m->keys[i] || m->keys[i] == key) {
                        if (!m->keys[i])
                                m->n++;
                        m->keys[i] = key;
                        m->vals[i] = val;
                        return 0;
                }
        }
}

static void map_release(struct u64map *m)
{
        free(m->keys);
        free(m->vals);
        memset(m, 0, sizeof(*m));
}

/* --------------------------------------------------------------- helpers */

static inline void partial(struct walker *w)
{
        w->cur_partial = true;
}

/* The layout lacks what this decoder needs (a private struct no provider
 * described): the object's edges are unknown, not wrong.  Counted apart
 * from memory problems (meta.layout_gaps). */
static inline void gap(struct walker *w)
{
        w->cur_opaque = true;
        w->cur_gap = true;
}

static inline bool is_sym(const struct walker *w, enum pysym_id id, uint64_t addr)
{
        return addr && w->pi->sym[id] == addr;
}

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

/* Label for a str object in a given style, cached by the str's address:
 * attribute and key names repeat across millions of objects. */
static int str_label(struct walker *w, uint64_t str, enum lstyle style, uint32_t *ret)
{
        uint64_t key = (str << 2) | (uint64_t)style;
        char raw[96], esc[160], text[192];
        bool full = true;
        int r;

        if (map_get(&w->lmap, key, ret))
                return 0;
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
        return map_put(&w->lmap, key, *ret);
}

static int text_label(struct walker *w, const char *text, uint32_t *ret)
{
        return heap_intern_label(w->h, text, ret);
}

/* ------------------------------------------------------------- the graph */

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
        return preview_record(w, *ret, addr, &oh);
}

/* Emits one reference of the current source.  NULL is no reference; a
 * pointer that does not lead to an object marks the source PARTIAL. */
static int emit(struct walker *w, uint64_t addr, uint32_t label)
{
        uint32_t dst;
        int r;

        if (!addr)
                return 0;
        r = resolve_object(w, addr, &dst);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                partial(w);
                return 0;
        }
        return heap_add_edge(w->h, w->cur_src, dst, label);
}

/* Reads a pointer field of the source object and emits it. */
static int emit_field(struct walker *w, const void *v, uint64_t obj,
                      enum layout_field_id f, uint32_t label)
{
        uint64_t p;

        if (!lhas(w->l, f))
                return 0;
        if (v)
                p = ld64(v, lo(w->l, f));
        else if (pyo_u64(&w->p, obj + lo(w->l, f), &p) < 0) {
                partial(w);
                return 0;
        }
        return emit(w, p, label);
}

struct fdesc {
        enum layout_field_id f;
        enum clabel lab;
};

/* Views the whole struct once when its size is known and small, so a run of
 * fields costs one lookup. */
static const void *view_struct(struct walker *w, uint64_t obj, enum layout_struct_id s,
                               void *buf, size_t buflen)
{
        uint32_t n = lsz(w->l, s);

        if (!n || n > buflen)
                return NULL;
        return pyo_view(&w->p, obj, n, buf);
}

static int emit_fields(struct walker *w, uint64_t obj, enum layout_struct_id s,
                       const struct fdesc *fd, size_t n)
{
        uint8_t buf[512];
        const void *v;
        int r;

        if (!lsz(w->l, s)) {
                gap(w);
                return 0;
        }
        v = view_struct(w, obj, s, buf, sizeof(buf));

        for (size_t i = 0; i < n; i++) {
                /* A field beyond the viewed struct (layout mix-up) is read
                 * on its own. */
                const void *vv = v && lo(w->l, fd[i].f) + 8 <= lsz(w->l, s) ? v : NULL;

                r = emit_field(w, vv, obj, fd[i].f, w->lab[fd[i].lab]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------ type cache */

/* The member descriptors of a heap type sit right after the heap type
 * object, at type + Py_TYPE(type)->tp_basicsize; Py_SIZE(type) of them
 * (internals notes §7.5).  Only T_OBJECT_EX members are traversed. */
static int collect_slots(struct walker *w, uint64_t type, const void *tv,
                         struct tinfo *t)
{
        const struct layout *l = w->l;
        uint64_t meta, metabs, n, arr;
        uint32_t msz = lsz(l, LS_MEMBERDEF);
        const uint8_t *mv;
        int r;

        if (!lhas(l, LF_VAROBJECT_SIZE) || !msz || !lhas(l, LF_MEMBERDEF_TYPE) ||
            !lhas(l, LF_MEMBERDEF_OFFSET) || !lhas(l, LF_MEMBERDEF_NAME))
                return 0;
        n = ld64(tv, lo(l, LF_VAROBJECT_SIZE));
        if (!n)
                return 0;
        if (n > MAX_SLOTS)
                return -EBADMSG;
        meta = ld64(tv, lo(l, LF_OBJECT_TYPE));
        if (pyo_u64(&w->p, meta + lo(l, LF_TYPE_BASICSIZE), &metabs) < 0)
                return -EFAULT;
        if (metabs < lsz(l, LS_HEAPTYPE) || metabs > 65536)
                return -EBADMSG;
        arr = type + metabs;
        mv = pyo_array(&w->p, 2, arr, n * msz);
        if (!mv)
                return -EFAULT;
        for (uint64_t i = 0; i < n; i++) {
                const uint8_t *m = mv + i * msz;
                struct slotdef *ns;
                char name[96], text[112];
                uint32_t lab;

                if ((int32_t)ld32(m, lo(l, LF_MEMBERDEF_TYPE)) != T_OBJECT_EX)
                        continue;
                if (pyo_cstr(&w->p, ld64(m, lo(l, LF_MEMBERDEF_NAME)), name, sizeof(name)) < 0)
                        snprintf(name, sizeof(name), "?");
                snprintf(text, sizeof(text), ".%s", name);
                r = text_label(w, text, &lab);
                if (r < 0)
                        return r;
                ns = realloc(t->slots, (t->nslots + 1) * sizeof(*ns));
                if (!ns)
                        return -ENOMEM;
                t->slots = ns;
                ns[t->nslots].offset = (int64_t)ld64(m, lo(l, LF_MEMBERDEF_OFFSET));
                ns[t->nslots].label = lab;
                t->nslots++;
                /* the member array may have moved if slot 2 was reused */
                mv = pyo_array(&w->p, 2, arr, n * msz);
                if (!mv)
                        return -EFAULT;
        }
        return 0;
}

struct rawtype {
        uint8_t buf[1024];
        const void *v;
        uint64_t flags, traverse, base;
        int64_t dictoffset;
};

static int read_type(struct walker *w, uint64_t addr, struct rawtype *rt)
{
        const struct layout *l = w->l;
        uint32_t n = lsz(l, LS_TYPE);

        if (!n || n > sizeof(rt->buf) || lsz(l, LS_HEAPTYPE) > sizeof(rt->buf))
                return -EOPNOTSUPP;
        if (!addr || (addr & 7))
                return -EBADMSG;
        rt->v = pyo_view(&w->p, addr, n, rt->buf);
        if (!rt->v)
                return -EFAULT;
        rt->flags = ld64(rt->v, lo(l, LF_TYPE_FLAGS));
        if ((rt->flags & TPF_HEAPTYPE) && lsz(l, LS_HEAPTYPE) > n) {
                rt->v = pyo_view(&w->p, addr, lsz(l, LS_HEAPTYPE), rt->buf);
                if (!rt->v)
                        return -EFAULT;
        }
        rt->traverse = lhas(l, LF_TYPE_TRAVERSE) ? ld64(rt->v, lo(l, LF_TYPE_TRAVERSE)) : 0;
        rt->base = lhas(l, LF_TYPE_BASE) ? ld64(rt->v, lo(l, LF_TYPE_BASE)) : 0;
        rt->dictoffset = lhas(l, LF_TYPE_DICTOFFSET) ?
                (int64_t)ld64(rt->v, lo(l, LF_TYPE_DICTOFFSET)) : 0;
        return 0;
}

static bool is_subtype_traverse(struct walker *w, const struct rawtype *rt)
{
        if (!(rt->flags & TPF_HEAPTYPE) || !rt->traverse)
                return false;
        if (w->subtype_traverse)
                return rt->traverse == w->subtype_traverse;
        return false;
}

/* Without .symtab there is no subtype_traverse address.  Only class
 * statements give a heap type cached keys (ht_cached_keys), so the
 * tp_traverse of the first such GC type is subtype_traverse: learn it. */
static void learn_subtype_traverse(struct walker *w, const struct rawtype *rt)
{
        const struct layout *l = w->l;

        if (w->subtype_traverse || !(rt->flags & TPF_HEAPTYPE) ||
            !(rt->flags & TPF_HAVE_GC) || !rt->traverse ||
            !lhas(l, LF_HEAPTYPE_CACHED_KEYS))
                return;
        if (ld64(rt->v, lo(l, LF_HEAPTYPE_CACHED_KEYS))) {
                w->subtype_traverse = rt->traverse;
                w->subtype_learned = true;
        }
}

/* The tp_traverse of obj if obj looks like a class statement's class (a
 * GC heap type with cached keys), else 0.  From 3.12 C heap types with a
 * managed dict have cached keys too, so one such class proves nothing:
 * the caller takes a vote. */
uint64_t decode_class_traverse(struct walker *w, uint64_t obj)
{
        const struct layout *l = w->l;
        struct rawtype rt;

        if (read_type(w, obj, &rt) < 0 || !(rt.flags & TPF_HEAPTYPE) ||
            !(rt.flags & TPF_HAVE_GC) || !rt.traverse || !lhas(l, LF_HEAPTYPE_CACHED_KEYS) ||
            !ld64(rt.v, lo(l, LF_HEAPTYPE_CACHED_KEYS)))
                return 0;
        return rt.traverse;
}

void decode_set_subtype_traverse(struct walker *w, uint64_t traverse)
{
        w->subtype_traverse = traverse;
        w->subtype_learned = true;
}

/* The C exception types whose instances carry fields of their own, in
 * DK_OSERR.. order.  Their subclasses in C (PermissionError,
 * ModuleNotFoundError, UnicodeDecodeError, ...) share the traverse function,
 * which is what identifies the instance struct. */
static const enum pysym_id exc_syms[DK_UNICODEERR - DK_OSERR + 1] = {
        PYSYM_OSERR_PTR, PYSYM_SYNTAXERR_PTR, PYSYM_IMPORTERR_PTR, PYSYM_STOPITER_PTR,
        PYSYM_SYSEXIT_PTR, PYSYM_ATTRERR_PTR, PYSYM_NAMEERR_PTR, PYSYM_EXCGROUP_PTR,
        PYSYM_UNICODEERR_PTR,
};

static enum dkind classify_exception(struct walker *w, uint64_t traverse)
{
        bool known = w->baseexc_traverse != 0;

        /* BaseException first: 3.8/3.9 AttributeError and NameError have no
         * fields of their own and share its traverse. */
        if (!traverse || traverse == w->baseexc_traverse)
                return DK_BASEEXC;
        for (int k = 0; k <= DK_UNICODEERR - DK_OSERR; k++) {
                if (w->exc_traverse[k] == traverse)
                        return (enum dkind)(DK_OSERR + k);
                known = known || w->exc_traverse[k];
        }
        /* An exception type with a traverse of its own (a C extension):
         * the base fields are certain, the rest is not. */
        return known ? DK_OPAQUE : DK_BASEEXC;
}

/* An unknown reference traverse (0: not readable here) cannot contradict. */
static bool same_traverse(uint64_t traverse, uint64_t known)
{
        return !known || !traverse || traverse == known;
}

static enum dkind classify_static(struct walker *w, uint64_t addr, uint64_t flags,
                                  uint64_t traverse, const char *tpname)
{
        static const struct { enum pysym_id s; enum dkind k; } bysym[] = {
                { PYSYM_LIST_TYPE, DK_LIST }, { PYSYM_TUPLE_TYPE, DK_TUPLE },
                { PYSYM_DICT_TYPE, DK_DICT }, { PYSYM_SET_TYPE, DK_SET },
                { PYSYM_FROZENSET_TYPE, DK_SET }, { PYSYM_TYPE_TYPE, DK_TYPE },
                { PYSYM_FUNCTION_TYPE, DK_FUNC }, { PYSYM_CELL_TYPE, DK_CELL },
                { PYSYM_METHOD_TYPE, DK_METHOD },
                { PYSYM_CLASSMETHOD_TYPE, DK_CLASSMETHOD },
                { PYSYM_STATICMETHOD_TYPE, DK_STATICMETHOD },
                { PYSYM_PROPERTY_TYPE, DK_PROPERTY }, { PYSYM_MODULE_TYPE, DK_MODULE },
                { PYSYM_FRAME_TYPE, DK_FRAME }, { PYSYM_GEN_TYPE, DK_GEN },
                { PYSYM_CORO_TYPE, DK_GEN }, { PYSYM_ASYNCGEN_TYPE, DK_ASYNCGEN },
                { PYSYM_TRACEBACK_TYPE, DK_TRACEBACK }, { PYSYM_ODICT_TYPE, DK_ODICT },
                { PYSYM_WEAKREF_TYPE, DK_WEAKREF }, { PYSYM_WEAKPROXY_TYPE, DK_WEAKREF },
                { PYSYM_WEAKCALLPROXY_TYPE, DK_WEAKREF }, { PYSYM_SLICE_TYPE, DK_SLICE },
                { PYSYM_MEMVIEW_TYPE, DK_MEMVIEW }, { PYSYM_MBUF_TYPE, DK_MBUF },
                { PYSYM_CFUNCTION_TYPE, DK_CFUNC }, { PYSYM_CMETHOD_TYPE, DK_CFUNC },
                { PYSYM_METHODDESCR_TYPE, DK_DESCR },
                { PYSYM_CLASSMETHODDESCR_TYPE, DK_DESCR },
                { PYSYM_MEMBERDESCR_TYPE, DK_DESCR }, { PYSYM_GETSETDESCR_TYPE, DK_DESCR },
                { PYSYM_WRAPPERDESCR_TYPE, DK_DESCR },
        };

        for (size_t i = 0; i < sizeof(bysym) / sizeof(bysym[0]); i++)
                if (is_sym(w, bysym[i].s, addr))
                        return bysym[i].k;
        /* By name before the flags: defaultdict and OrderedDict carry the
         * dict fast-subclass bit but have their own traverse. */
        if (!strcmp(tpname, "collections.deque"))
                return DK_DEQUE;
        if (!strcmp(tpname, "collections.defaultdict"))
                return DK_DEFDICT;
        if (!strcmp(tpname, "collections.OrderedDict"))
                return DK_ODICT;
        /* 3.15: a dict with a cached hash after it (PyFrozenDictObject);
         * traversed and sized as a dict, but without the dict flag bit */
        if (!strcmp(tpname, "frozendict"))
                return DK_DICT;
        if (!strcmp(tpname, "types.SimpleNamespace"))
                return DK_NAMESPACE;
        /* memoryview's buffer: _PyManagedBuffer_Type is not exported by
         * every build (Debian's 3.13+), so its name says it too */
        if (!strcmp(tpname, "managedbuffer"))
                return DK_MBUF;
        /* one per ABC class: its registry and caches (sets of weakrefs) */
        if (!strcmp(tpname, "_abc._abc_data"))
                return DK_ABCDATA;
        if (!strcmp(tpname, "method-wrapper"))
                return DK_METHWRAPPER;
        if (!strcmp(tpname, "_collections._tuplegetter") ||
            !strcmp(tpname, "collections._tuplegetter"))
                return DK_TUPLEGETTER;
        if (!strcmp(tpname, "functools.partial"))
                return DK_PARTIAL;
        if (!strcmp(tpname, "functools._lru_cache_wrapper"))
                return DK_LRUCACHE;
        if (!strcmp(tpname, "types.GenericAlias"))
                return DK_GENALIAS;
        /* 3.14 made it typing.Union, adding hashable_args and
         * unhashable_args (both traversed; the layout says which exist) */
        if (!strcmp(tpname, py_at_least(w->l->version_hex, 3, 14) ? "typing.Union"
                                                                 : "types.UnionType"))
                return DK_UNION;
        /* A fast-subclass flag names the struct the object starts with; it
         * is decoded as that builtin only if it also traverses as it (a C
         * subclass with a traverse of its own visits more, and claiming to
         * know its edges would be wrong). */
        if (flags & TPF_LIST_SUBCLASS)
                return same_traverse(traverse, w->list_traverse) ? DK_LIST : DK_OPAQUE;
        if (flags & TPF_TUPLE_SUBCLASS)
                return same_traverse(traverse, w->tuple_traverse) ? DK_TUPLE : DK_OPAQUE;
        if (flags & TPF_DICT_SUBCLASS)
                return same_traverse(traverse, w->dict_traverse) ? DK_DICT : DK_OPAQUE;
        if (flags & TPF_BASE_EXC_SUBCLASS)
                return classify_exception(w, traverse);
        if (flags & TPF_TYPE_SUBCLASS)
                return same_traverse(traverse, w->type_traverse) ? DK_TYPE : DK_OPAQUE;
        return (flags & TPF_HAVE_GC) ? DK_OPAQUE : DK_NONE;
}

static enum skind size_kind_of(struct walker *w, enum dkind k, uint64_t addr, uint64_t flags)
{
        switch (k) {
        case DK_LIST: return SK_LIST;
        case DK_DICT: case DK_DEFDICT: return SK_DICT;
        case DK_ODICT: return SK_ODICT;
        case DK_FRAME: return SK_FRAME;
        case DK_GEN: case DK_ASYNCGEN:
                return lhas(w->l, LF_GEN_IFRAME) ? SK_GEN : SK_GENERIC;
        case DK_SET: return SK_SET;
        case DK_DEQUE: return SK_DEQUE;
        case DK_TYPE: return SK_TYPE;
        default: break;
        }
        if ((flags & TPF_UNICODE_SUBCLASS) || is_sym(w, PYSYM_UNICODE_TYPE, addr))
                return SK_STR;
        if ((flags & TPF_LONG_SUBCLASS) || is_sym(w, PYSYM_LONG_TYPE, addr) ||
            is_sym(w, PYSYM_BOOL_TYPE, addr))
                return SK_INT;
        return SK_GENERIC;
}

/* Display name: heap types use ht_qualname and tp_dict['__module__'];
 * static types split tp_name at the last dot ("builtins" without one). */
static void type_names(struct walker *w, uint64_t addr, const struct rawtype *rt,
                       char *mod, size_t modlen, char *qual, size_t quallen,
                       char *tpname, size_t tplen)
{
        const struct layout *l = w->l;
        bool full;

        (void)addr;
        tpname[0] = '\0';
        if (lhas(l, LF_TYPE_NAME))
                pyo_cstr(&w->p, ld64(rt->v, lo(l, LF_TYPE_NAME)), tpname, tplen);
        if ((rt->flags & TPF_HEAPTYPE) && lhas(l, LF_HEAPTYPE_QUALNAME)) {
                uint64_t m = 0, dict = lhas(l, LF_TYPE_DICT) ? ld64(rt->v, lo(l, LF_TYPE_DICT)) : 0;

                if (pyo_str(&w->p, ld64(rt->v, lo(l, LF_HEAPTYPE_QUALNAME)), qual, quallen, &full) < 0)
                        snprintf(qual, quallen, "%s", tpname[0] ? tpname : "?");
                if (!dict || pyo_dict_get_str(&w->p, dict, "__module__", &m) < 0 || !m ||
                    pyo_str(&w->p, m, mod, modlen, &full) < 0) {
                        const char *dot = strrchr(tpname, '.');

                        if (dot)
                                snprintf(mod, modlen, "%.*s", (int)(dot - tpname), tpname);
                        else
                                snprintf(mod, modlen, "?");
                }
                /* qualnames of nested classes are dotted already */
                return;
        }
        if (!tpname[0]) {
                snprintf(mod, modlen, "?");
                snprintf(qual, quallen, "?");
                return;
        }
        const char *dot = strrchr(tpname, '.');
        if (dot) {
                snprintf(mod, modlen, "%.*s", (int)(dot - tpname), tpname);
                snprintf(qual, quallen, "%s", dot + 1);
        } else {
                snprintf(mod, modlen, "builtins");
                snprintf(qual, quallen, "%s", tpname);
        }
}

int type_display_name(struct walker *w, uint64_t addr, char *buf, size_t len)
{
        struct rawtype rt;
        char mod[128], qual[160], tpname[160];
        int64_t k = heap_type_find(w->h, addr);
        int r;

        if (k >= 0) {
                const struct heap_type *ht = &w->h->types[k];

                snprintf(buf, len, "%s", strcmp(ht->module, "builtins") ? ht->fullname :
                         ht->qualname);
                return 0;
        }
        r = read_type(w, addr, &rt);
        if (r < 0)
                return r;
        type_names(w, addr, &rt, mod, sizeof(mod), qual, sizeof(qual), tpname, sizeof(tpname));
        /* repr() leaves the module out for builtins */
        if (strcmp(mod, "builtins"))
                snprintf(buf, len, "%s.%s", mod, qual);
        else
                snprintf(buf, len, "%s", qual);
        return 0;
}

static void tinfo_free(struct tinfo *t)
{
        if (!t)
                return;
        free(t->slots);
        free(t->ck_label);
        free(t);
}

int tinfo_get_slow(struct walker *w, uint64_t addr, struct tinfo **ret)
{
        const struct layout *l = w->l;
        struct rawtype rt, meta;
        struct tinfo *t;
        char mod[128], qual[160], tpname[160];
        uint64_t metaflags, metaaddr;
        uint32_t idx;
        struct tcache_ent *tc;
        int r;

        if (map_get(&w->tmap, addr, &idx)) {
                t = w->tv[idx];
                if (!t)
                        return -EBADMSG;
                tc = tcache_of(w, addr);
                tc->addr = addr;
                tc->t = t;
                *ret = t;
                return 0;
        }
        r = read_type(w, addr, &rt);
        if (r < 0)
                goto bad;
        /* A type's own type must be a type (the metatype has the type
         * fast-subclass bit); cheap proof that this is not garbage. */
        metaaddr = ld64(rt.v, lo(l, LF_OBJECT_TYPE));
        if (!metaaddr || (metaaddr & 7) ||
            pyo_u64(&w->p, metaaddr + lo(l, LF_TYPE_FLAGS), &metaflags) < 0 ||
            !(metaflags & TPF_TYPE_SUBCLASS)) {
                r = -EBADMSG;
                goto bad;
        }
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->addr = addr;
        t->flags = rt.flags;
        t->traverse = rt.traverse;
        t->base = rt.base;
        t->dictoffset = rt.dictoffset;
        t->basicsize = (int64_t)ld64(rt.v, lo(l, LF_TYPE_BASICSIZE));
        t->itemsize = (int64_t)ld64(rt.v, lo(l, LF_TYPE_ITEMSIZE));
        t->is_gc_fn = lhas(l, LF_TYPE_IS_GC) ? ld64(rt.v, lo(l, LF_TYPE_IS_GC)) : 0;
        if ((rt.flags & TPF_HEAPTYPE) && lhas(l, LF_HEAPTYPE_CACHED_KEYS))
                t->cached_keys = ld64(rt.v, lo(l, LF_HEAPTYPE_CACHED_KEYS));
        if (t->basicsize < 0 || t->basicsize > (1 << 24) || t->itemsize < 0 ||
            t->itemsize > 65536) {
                free(t);
                r = -EBADMSG;
                goto bad;
        }
        t->is_metatype = (rt.flags & TPF_TYPE_SUBCLASS) != 0;
        learn_subtype_traverse(w, &rt);
        type_names(w, addr, &rt, mod, sizeof(mod), qual, sizeof(qual), tpname, sizeof(tpname));

        if (is_subtype_traverse(w, &rt)) {
                /* subtype_traverse: slots of every class up the chain that
                 * still uses it, then the first base with another
                 * traverse decides the rest (§8.2). */
                uint64_t b = addr;
                int depth = 0;

                t->kind = DK_INSTANCE;
                meta = rt;
                for (;;) {
                        if (meta.traverse != w->subtype_traverse || !(meta.flags & TPF_HEAPTYPE))
                                break;
                        r = collect_slots(w, b, meta.v, t);
                        if (r == -ENOMEM) {
                                tinfo_free(t);
                                return r;
                        }
                        b = meta.base;
                        if (!b || ++depth > MAX_CHAIN || read_type(w, b, &meta) < 0)
                                break;
                }
                if (b && depth <= MAX_CHAIN && meta.v &&
                    meta.traverse != w->subtype_traverse) {
                        char bm[8], bq[8], bn[160];

                        type_names(w, b, &meta, bm, sizeof(bm), bq, sizeof(bq), bn, sizeof(bn));
                        t->base_kind = (uint8_t)classify_static(w, b, meta.flags, meta.traverse, bn);
                        if (!meta.traverse)
                                t->base_kind = DK_NONE;
                        else if (t->base_kind == DK_NONE)
                                /* subtype_traverse calls any base traverse,
                                 * GC flag or not (ctypes' _CData bases) */
                                t->base_kind = DK_OPAQUE;
                        t->base_heap = (meta.flags & TPF_HEAPTYPE) != 0;
                        t->dict_differs = t->dictoffset != meta.dictoffset;
                        t->size_kind = (uint8_t)size_kind_of(w, (enum dkind)t->base_kind, b, meta.flags);
                        if (t->size_kind == SK_GENERIC)
                                t->size_kind = (uint8_t)size_kind_of(w, DK_NONE, b, rt.flags);
                } else {
                        t->base_kind = DK_NONE;
                        t->dict_differs = t->dictoffset != 0;
                }
                /* 3.8 always visits the type; 3.9+ leave it to a heap base
                 * type's own traverse (bpo-40217). */
                t->visit_type = py_at_least(l->version_hex, 3, 9) ?
                        !(t->base_kind != DK_NONE && t->base_heap) : true;
        } else {
                t->kind = (uint8_t)classify_static(w, addr, rt.flags, rt.traverse, tpname);
                t->size_kind = (uint8_t)size_kind_of(w, (enum dkind)t->kind, addr, rt.flags);
        }
        if (t->is_metatype)
                t->size_kind = SK_TYPE;

        r = heap_intern_type(w->h, addr, mod, qual, t->kind == DK_OPAQUE || tinfo_base_opaque(t),
                             &t->hidx);
        if (r < 0) {
                tinfo_free(t);
                return r;
        }
        if (w->ntv == w->captv) {
                uint32_t nc = w->captv ? w->captv * 2 : 256;
                struct tinfo **n = realloc(w->tv, nc * sizeof(*n));

                if (!n) {
                        tinfo_free(t);
                        return -ENOMEM;
                }
                w->tv = n;
                w->captv = nc;
        }
        w->tv[w->ntv] = t;
        r = map_put(&w->tmap, addr, w->ntv);
        if (r < 0)
                return r;
        w->ntv++;
        *ret = t;
        return 0;
bad:
        if (r == -ENOMEM)
                return r;
        /* Remember bad type addresses so garbage is judged once. */
        if (w->ntv == w->captv) {
                uint32_t nc = w->captv ? w->captv * 2 : 256;
                struct tinfo **n = realloc(w->tv, nc * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                w->tv = n;
                w->captv = nc;
        }
        w->tv[w->ntv] = NULL;
        if (map_put(&w->tmap, addr, w->ntv) < 0)
                return -ENOMEM;
        w->ntv++;
        return r;
}

/* ------------------------------------------------------ object header */

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

static uint64_t untag_ref(const struct walker *w, uint64_t v)
{
        if (!w->l->facts.tagged_stackrefs)
                return v;
        return (v == 1 || (v & 3) == 3) ? 0 : v & ~(uint64_t)3;
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

                if (n < 0)
                        n = -n;
                if ((uint64_t)n > MAX_ITEMS * 8)
                        return -EBADMSG;
                *ret += (uint64_t)n * (uint64_t)t->itemsize;
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
        /* sys.getsizeof adds the GC head and pre-header (§11.1); type
         * objects are GC objects only when they are heap types. */
        if (is_gc) {
                bool obj_is_gc = true;
                uint64_t fl;

                if (is_type_obj && t->is_gc_fn) {
                        obj_is_gc = pyo_u64(&w->p, obj + lo(l, LF_TYPE_FLAGS), &fl) == 0 &&
                                (fl & TPF_HEAPTYPE);
                }
                uint64_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
                uint64_t pre = 0;

                if (py_at_least(l->version_hex, 3, 12))
                        pre = (t->flags & (TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF)) ?
                                l->facts.pre_header_size : 0;
                else if (py_at_least(l->version_hex, 3, 11))
                        pre = (t->flags & TPF_MANAGED_DICT) ? l->facts.pre_header_size : 0;
                if (!py_at_least(l->version_hex, 3, 11))
                        size += obj_is_gc ? gch : 0;
                else if (!py_at_least(l->version_hex, 3, 13) || obj_is_gc)
                        size += gch + pre;
        }
        oh->type = t->hidx;
        oh->size = size;
        oh->t = t;
        return 0;
}

/* -------------------------------------------------------------- decoders */

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

static int dec_list(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_tuple(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_dict(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_set(struct walker *w, uint64_t obj, const struct tinfo *t)
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

/* Labels ".name" for the entries of a class's cached (shared) keys; the
 * value slots of instances follow this order (§9.4). */
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
 * (§5.3, §9.4). */
static int instance_dict(struct walker *w, uint64_t obj, struct tinfo *t)
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

static int dec_kind(struct walker *w, enum dkind k, uint64_t obj, struct tinfo *t);

static int dec_instance(struct walker *w, uint64_t obj, struct tinfo *t)
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
        r = instance_dict(w, obj, t);
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

static int dec_type(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_func(struct walker *w, uint64_t obj, const struct tinfo *t)
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

#define SIMPLE_DECODER(name, st, ...) \
static int name(struct walker *w, uint64_t obj, const struct tinfo *t) \
{ \
        static const struct fdesc fd[] = { __VA_ARGS__ }; \
        (void)t; \
        return emit_fields(w, obj, st, fd, sizeof(fd) / sizeof(fd[0])); \
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
static int dec_module(struct walker *w, uint64_t obj, const struct tinfo *t)
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
SIMPLE_DECODER(dec_traceback, LS_TRACEBACK,
               { LF_TRACEBACK_NEXT, CL_TB_NEXT }, { LF_TRACEBACK_FRAME, CL_TB_FRAME })
SIMPLE_DECODER(dec_baseexc, LS_BASEEXC,
               { LF_BASEEXC_DICT, CL_DICT }, { LF_BASEEXC_ARGS, CL_ARGS },
               { LF_BASEEXC_NOTES, CL_NOTES }, { LF_BASEEXC_TRACEBACK, CL_TRACEBACK },
               { LF_BASEEXC_CAUSE, CL_CAUSE }, { LF_BASEEXC_CONTEXT, CL_CONTEXT })
SIMPLE_DECODER(dec_weakref, LS_WEAKREF, { LF_WEAKREF_CALLBACK, CL_CALLBACK })
SIMPLE_DECODER(dec_slice, LS_SLICE,
               { LF_SLICE_START, CL_START }, { LF_SLICE_STOP, CL_STOP }, { LF_SLICE_STEP, CL_STEP })
SIMPLE_DECODER(dec_memview, LS_MEMVIEW, { LF_MEMVIEW_MBUF, CL_MBUF })
SIMPLE_DECODER(dec_mbuf, LS_MBUF, { LF_MBUF_OBJ, CL_OBJ })
SIMPLE_DECODER(dec_descr, LS_DESCR, { LF_DESCR_TYPE, CL_OBJCLASS })

static int dec_cfunc(struct walker *w, uint64_t obj, const struct tinfo *t)
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

/* Tuple item i of a names tuple, as a label of the given style. */
static int tuple_name_label(struct walker *w, uint64_t tup, uint64_t i, enum lstyle st,
                            uint32_t *ret)
{
        uint64_t s;

        if (pyo_u64(&w->p, tup + lo(w->l, LF_TUPLE_ITEM) + 8 * i, &s) < 0 || !s)
                return -EFAULT;
        return str_label(w, s, st, ret);
}

static int tuple_len(struct walker *w, uint64_t tup, uint64_t *ret)
{
        if (!tup) {
                *ret = 0;
                return 0;
        }
        if (pyo_u64(&w->p, tup + lo(w->l, LF_VAROBJECT_SIZE), ret) < 0 || *ret > MAX_FRAME_SLOTS)
                return -EBADMSG;
        return 0;
}

static int stack_label(struct walker *w, uint64_t i, uint32_t *ret)
{
        char text[40];

        snprintf(text, sizeof(text), "<stack[%llu]>", (unsigned long long)i);
        return text_label(w, text, ret);
}

/* Emits n frame slots at `slots`: locals named by `names` (a function from
 * index to label), the rest as value stack. */
struct slotnames {
        uint64_t tup[3];         /* name tuples in order */
        uint64_t len[3];
        uint64_t nlocals;        /* slots that are named */
};

static int slot_label(struct walker *w, const struct slotnames *sn, uint64_t i, uint32_t *ret)
{
        uint64_t j = i;

        if (i >= sn->nlocals)
                return stack_label(w, i - sn->nlocals, ret);
        for (int k = 0; k < 3; k++) {
                if (j < sn->len[k]) {
                        if (tuple_name_label(w, sn->tup[k], j, LS_LOCAL, ret) == 0)
                                return 0;
                        break;
                }
                j -= sn->len[k];
        }
        *ret = heap_label_index((uint32_t)i);
        return 0;
}

static int emit_slots(struct walker *w, uint64_t slots, uint64_t n,
                      const struct slotnames *sn, bool tagged)
{
        int r;

        if (n > MAX_FRAME_SLOTS) {
                partial(w);
                return 0;
        }
        for (uint64_t i = 0; i < n; i++) {
                const uint8_t *a = pyo_array(&w->p, 1, slots, n * 8);
                uint64_t v;
                uint32_t lab;

                if (!a) {
                        partial(w);
                        return 0;
                }
                v = ld64(a, (uint32_t)(i * 8));
                if (tagged) {
                        /* 3.14+ _PyStackRef: 1 is NULL, low bits 11 a tagged
                         * int, other tags mark borrowed references. */
                        if (v == 1 || (v & 3) == 3)
                                continue;
                        v &= ~(uint64_t)3;
                }
                if (!v)
                        continue;
                r = slot_label(w, sn, i, &lab);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        lab = heap_label_index((uint32_t)i);
                r = emit(w, v, lab);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* _PyFrame_Traverse for 3.11+ interpreter frames (inside frame objects and
 * generators). */
static int iframe_traverse(struct walker *w, uint64_t fr)
{
        const struct layout *l = w->l;
        bool tagged = l->facts.tagged_stackrefs;
        uint8_t b[256];
        const void *v = view_struct(w, fr, LS_IFRAME, b, sizeof(b));
        struct slotnames sn;
        uint64_t code, func, n = 0, ct;
        int r;

        if (!v) {
                partial(w);
                return 0;
        }
        r = emit_field(w, v, fr, LF_IFRAME_FRAME_OBJ, w->lab[CL_FRAME_OBJ]);
        if (r >= 0)
                r = emit_field(w, v, fr, LF_IFRAME_LOCALS, w->lab[CL_F_LOCALS]);
        if (r < 0)
                return r;
        func = lhas(l, LF_IFRAME_FUNC) ? ld64(v, lo(l, LF_IFRAME_FUNC)) : 0;
        code = lhas(l, LF_IFRAME_CODE) ? ld64(v, lo(l, LF_IFRAME_CODE)) : 0;
        if (tagged) {
                func = (func == 1 || (func & 3) == 3) ? 0 : func & ~(uint64_t)3;
                code = (code == 1 || (code & 3) == 3) ? 0 : code & ~(uint64_t)3;
        }
        r = emit(w, func, w->lab[CL_F_FUNCOBJ]);
        if (r >= 0)
                r = emit(w, code, w->lab[CL_F_CODE]);
        if (r < 0)
                return r;
        if (!lhas(l, LF_IFRAME_LOCALSPLUS))
                return 0;
        if (lhas(l, LF_IFRAME_STACKPOINTER)) {
                uint64_t sp = ld64(v, lo(l, LF_IFRAME_STACKPOINTER));
                uint64_t base = fr + lo(l, LF_IFRAME_LOCALSPLUS);

                if (sp && (sp < base || ((sp - base) & 7))) {
                        partial(w);
                        return 0;
                }
                n = sp ? (sp - base) / 8 : 0;
        } else if (lhas(l, LF_IFRAME_STACKTOP)) {
                int32_t st = (int32_t)ld32(v, lo(l, LF_IFRAME_STACKTOP));

                if (st < 0) {
                        partial(w);
                        return 0;
                }
                n = (uint64_t)st;
        }
        memset(&sn, 0, sizeof(sn));
        if (code && pyo_type_of(&w->p, code, &ct) == 0 && is_sym(w, PYSYM_CODE_TYPE, ct) &&
            lhas(l, LF_CODE_LOCALSPLUSNAMES) && lhas(l, LF_CODE_NLOCALSPLUS)) {
                uint64_t nlp;

                if (pyo_u64(&w->p, code + lo(l, LF_CODE_NLOCALSPLUS), &nlp) == 0 &&
                    pyo_u64(&w->p, code + lo(l, LF_CODE_LOCALSPLUSNAMES), &sn.tup[0]) == 0 &&
                    tuple_len(w, sn.tup[0], &sn.len[0]) == 0) {
                        sn.nlocals = (uint32_t)nlp;
                        if (sn.len[0] < sn.nlocals)
                                sn.nlocals = sn.len[0];
                }
        }
        return emit_slots(w, fr + lo(l, LF_IFRAME_LOCALSPLUS), n, &sn, tagged);
}

static int dec_frame(struct walker *w, uint64_t obj, const struct tinfo *t)
{
        const struct layout *l = w->l;
        int r;

        (void)t;
        if (lhas(l, LF_FRAMEOBJ_FRAME)) {
                static const struct fdesc fd[] = {
                        { LF_FRAMEOBJ_BACK, CL_F_BACK }, { LF_FRAMEOBJ_TRACE, CL_F_TRACE },
                        { LF_FRAMEOBJ_EXTRA_LOCALS, CL_F_EXTRA_LOCALS },
                        { LF_FRAMEOBJ_LOCALS_CACHE, CL_F_LOCALS_CACHE },
                };
                uint64_t fr;
                uint8_t owner;
                const uint8_t *ov;
                uint8_t ob;

                r = emit_fields(w, obj, LS_FRAMEOBJ, fd, sizeof(fd) / sizeof(fd[0]));
                if (r < 0)
                        return r;
                if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_FRAME), &fr) < 0 || !fr ||
                    !lhas(l, LF_IFRAME_OWNER)) {
                        partial(w);
                        return 0;
                }
                ov = pyo_view(&w->p, fr + lo(l, LF_IFRAME_OWNER), 1, &ob);
                if (!ov) {
                        partial(w);
                        return 0;
                }
                owner = ov[0];
                if (owner != FRAME_OWNED_BY_FRAME_OBJECT)
                        return 0;
                return iframe_traverse(w, fr);
        }

        /* <=3.10: the frame object is the frame. */
        static const struct fdesc fd[] = {
                { LF_FRAMEOBJ_BACK, CL_F_BACK }, { LF_FRAMEOBJ_CODE, CL_F_CODE },
                { LF_FRAMEOBJ_BUILTINS, CL_F_BUILTINS }, { LF_FRAMEOBJ_GLOBALS, CL_F_GLOBALS },
                { LF_FRAMEOBJ_LOCALS, CL_F_LOCALS }, { LF_FRAMEOBJ_TRACE, CL_F_TRACE },
        };
        struct slotnames sn;
        uint64_t code, nslots, vs, nstack = 0;
        uint32_t nl;

        r = emit_fields(w, obj, LS_FRAMEOBJ, fd, sizeof(fd) / sizeof(fd[0]));
        if (r < 0)
                return r;
        memset(&sn, 0, sizeof(sn));
        if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_CODE), &code) < 0 || !code ||
            !lhas(l, LF_CODE_NLOCALS) || !lhas(l, LF_FRAMEOBJ_LOCALSPLUS)) {
                partial(w);
                return 0;
        }
        {
                uint8_t nb[4];
                const uint8_t *nv = pyo_view(&w->p, code + lo(l, LF_CODE_NLOCALS), 4, nb);

                if (!nv) {
                        partial(w);
                        return 0;
                }
                nl = ld32(nv, 0);
        }
        if ((int32_t)nl < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_VARNAMES), &sn.tup[0]) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_CELLVARS), &sn.tup[1]) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_FREEVARS), &sn.tup[2]) < 0 ||
            tuple_len(w, sn.tup[1], &sn.len[1]) < 0 || tuple_len(w, sn.tup[2], &sn.len[2]) < 0 ||
            tuple_len(w, sn.tup[0], &sn.len[0]) < 0) {
                partial(w);
                return 0;
        }
        if (sn.len[0] > nl)
                sn.len[0] = nl;
        nslots = nl + sn.len[1] + sn.len[2];
        sn.nlocals = nslots;
        /* Stack: 3.8/3.9 up to f_stacktop (NULL while running), 3.10
         * f_stackdepth entries of f_valuestack. */
        if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_VALUESTACK), &vs) < 0) {
                partial(w);
                return 0;
        }
        if (lhas(l, LF_FRAMEOBJ_STACKTOP)) {
                uint64_t top;

                if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_STACKTOP), &top) < 0) {
                        partial(w);
                        return 0;
                }
                if (top && (top < vs || ((top - vs) & 7))) {
                        partial(w);
                        return 0;
                }
                nstack = top ? (top - vs) / 8 : 0;
        } else if (lhas(l, LF_FRAMEOBJ_STACKDEPTH)) {
                uint32_t sd;
                uint8_t sb[4];
                const uint8_t *sv = pyo_view(&w->p, obj + lo(l, LF_FRAMEOBJ_STACKDEPTH), 4, sb);

                if (!sv || (int32_t)(sd = ld32(sv, 0)) < 0) {
                        partial(w);
                        return 0;
                }
                nstack = sd;
        }
        r = emit_slots(w, obj + lo(l, LF_FRAMEOBJ_LOCALSPLUS), nslots, &sn, false);
        if (r < 0 || !nstack)
                return r;
        /* The value stack directly follows the slots in all of 3.8-3.10,
         * but f_valuestack says where it is. */
        {
                struct slotnames none;

                memset(&none, 0, sizeof(none));
                return emit_slots(w, vs, nstack, &none, false);
        }
}

static int dec_gen(struct walker *w, uint64_t obj, const struct tinfo *t)
{
        const struct layout *l = w->l;
        uint64_t exc;
        int r;

        (void)t;
        r = emit_field(w, NULL, obj, LF_GEN_FRAME, w->lab[CL_GI_FRAME]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_CODE, w->lab[CL_GI_CODE]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_NAME, w->lab[CL_NAME]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_QUALNAME, w->lab[CL_QUALNAME]);
        if (r < 0)
                return r;
        if (lhas(l, LF_GEN_IFRAME) && lhas(l, LF_GEN_FRAME_STATE)) {
                uint8_t sb;
                const uint8_t *sv = pyo_view(&w->p, obj + lo(l, LF_GEN_FRAME_STATE), 1, &sb);

                /* 3.15 renumbered the states (CLEARED 4 -> 5, EXECUTING
                 * 0 -> 4); CLEARED is the last one in every version. */
                int8_t cleared = py_at_least(l->version_hex, 3, 15) ? FRAME_CLEARED_315 :
                                                                      FRAME_CLEARED;

                if (!sv) {
                        partial(w);
                } else if ((int8_t)sv[0] != cleared) {
                        r = iframe_traverse(w, obj + lo(l, LF_GEN_IFRAME));
                        if (r < 0)
                                return r;
                } else if (l->facts.tagged_stackrefs && lhas(l, LF_IFRAME_CODE)) {
                        /* 3.14+: a cleared frame still holds its code as a
                         * (possibly deferred) stack ref, and gen_traverse
                         * visits it to keep it alive. */
                        uint64_t code;

                        if (pyo_u64(&w->p, obj + lo(l, LF_GEN_IFRAME) + lo(l, LF_IFRAME_CODE),
                                    &code) < 0) {
                                partial(w);
                        } else {
                                r = emit(w, untag_ref(w, code), w->lab[CL_F_CODE]);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        if (!lhas(l, LF_GEN_EXC_STATE))
                return 0;
        exc = obj + lo(l, LF_GEN_EXC_STATE);
        r = emit_field(w, NULL, exc, LF_ERRITEM_TYPE, w->lab[CL_EXC_TYPE]);
        if (r >= 0)
                r = emit_field(w, NULL, exc, LF_ERRITEM_VALUE, w->lab[CL_EXC_VALUE]);
        if (r >= 0)
                r = emit_field(w, NULL, exc, LF_ERRITEM_TRACEBACK, w->lab[CL_EXC_TB]);
        return r;
}

static int dec_asyncgen(struct walker *w, uint64_t obj, const struct tinfo *t)
{
        int r = emit_field(w, NULL, obj, LF_ASYNCGEN_FINALIZER, w->lab[CL_AG_FINALIZER]);

        if (r < 0)
                return r;
        return dec_gen(w, obj, t);
}

static int dec_deque(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_odict(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_defdict(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_abcdata(struct walker *w, uint64_t obj, const struct tinfo *t)
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
SIMPLE_DECODER(dec_methwrapper, LS_METHWRAPPER,
               { LF_METHWRAPPER_DESCR, CL_DESCR }, { LF_METHWRAPPER_SELF, CL_SELF })

static int dec_tuplegetter(struct walker *w, uint64_t obj, const struct tinfo *t)
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

/* Exceptions implemented in C with fields of their own: those fields in
 * struct order (which is their tp_traverse order in 3.8-3.13), then
 * BaseException's.  Without the struct in the layout only the base fields
 * are known. */
#define EXC_DECODER(name, st, ...) \
static int name(struct walker *w, uint64_t obj, const struct tinfo *t) \
{ \
        static const struct fdesc fd[] = { __VA_ARGS__ }; \
        int r; \
        if (!lsz(w->l, st)) \
                gap(w); \
        r = emit_fields(w, obj, st, fd, sizeof(fd) / sizeof(fd[0])); \
        if (r < 0) \
                return r; \
        return dec_baseexc(w, obj, t); \
}

EXC_DECODER(dec_oserr, LS_OSERR,
            { LF_OSERR_MYERRNO, CL_ERRNO }, { LF_OSERR_STRERROR, CL_STRERROR },
            { LF_OSERR_FILENAME, CL_FILENAME }, { LF_OSERR_FILENAME2, CL_FILENAME2 },
            { LF_OSERR_WINERROR, CL_WINERROR })
EXC_DECODER(dec_syntaxerr, LS_SYNTAXERR,
            { LF_SYNTAXERR_MSG, CL_MSG }, { LF_SYNTAXERR_FILENAME, CL_FILENAME },
            { LF_SYNTAXERR_LINENO, CL_LINENO }, { LF_SYNTAXERR_OFFSET, CL_OFFSET },
            { LF_SYNTAXERR_END_LINENO, CL_END_LINENO },
            { LF_SYNTAXERR_END_OFFSET, CL_END_OFFSET }, { LF_SYNTAXERR_TEXT, CL_TEXT },
            { LF_SYNTAXERR_PRINT_FILE_AND_LINE, CL_PRINT_FILE_AND_LINE })
EXC_DECODER(dec_importerr, LS_IMPORTERR,
            { LF_IMPORTERR_MSG, CL_MSG }, { LF_IMPORTERR_NAME, CL_ENAME },
            { LF_IMPORTERR_PATH, CL_PATH }, { LF_IMPORTERR_NAME_FROM, CL_NAME_FROM })
EXC_DECODER(dec_stopiter, LS_STOPITER, { LF_STOPITER_VALUE, CL_VALUE })
EXC_DECODER(dec_sysexit, LS_SYSEXIT, { LF_SYSEXIT_CODE, CL_ECODE })
EXC_DECODER(dec_attrerr, LS_ATTRERR, { LF_ATTRERR_OBJ, CL_OBJ }, { LF_ATTRERR_NAME, CL_ENAME })
EXC_DECODER(dec_nameerr, LS_NAMEERR, { LF_NAMEERR_NAME, CL_ENAME })
EXC_DECODER(dec_excgroup, LS_EXCGROUP,
            { LF_EXCGROUP_MSG, CL_MESSAGE }, { LF_EXCGROUP_EXCS, CL_EXCEPTIONS })
EXC_DECODER(dec_unicodeerr, LS_UNICODEERR,
            { LF_UNICODEERR_ENCODING, CL_ENCODING }, { LF_UNICODEERR_OBJECT, CL_OBJECT },
            { LF_UNICODEERR_REASON, CL_REASON })

/* Types that became heap types (3.10+ for functools) visit their type
 * first; for a Python subclass that is the subclass (Py_TYPE(self)). */
static int emit_own_type(struct walker *w, const struct tinfo *t, enum dkind k)
{
        if (t->kind == k ? !(t->flags & TPF_HEAPTYPE) : !t->base_heap)
                return 0;
        return emit(w, t->addr, w->lab[CL_CLASS]);
}

static int dec_partial(struct walker *w, uint64_t obj, const struct tinfo *t)
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
static int dec_lrucache(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_genalias(struct walker *w, uint64_t obj, const struct tinfo *t)
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

static int dec_union(struct walker *w, uint64_t obj, const struct tinfo *t)
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

typedef int (*decoder_fn)(struct walker *w, uint64_t obj, const struct tinfo *t);

static const decoder_fn decoders[DK__COUNT] = {
        [DK_TYPE] = dec_type, [DK_LIST] = dec_list, [DK_TUPLE] = dec_tuple,
        [DK_DICT] = dec_dict, [DK_SET] = dec_set, [DK_FUNC] = dec_func,
        [DK_CELL] = dec_cell, [DK_METHOD] = dec_method,
        [DK_CLASSMETHOD] = dec_classmethod, [DK_STATICMETHOD] = dec_staticmethod,
        [DK_PROPERTY] = dec_property, [DK_MODULE] = dec_module,
        [DK_FRAME] = dec_frame, [DK_GEN] = dec_gen, [DK_ASYNCGEN] = dec_asyncgen,
        [DK_TRACEBACK] = dec_traceback, [DK_BASEEXC] = dec_baseexc,
        [DK_DEQUE] = dec_deque, [DK_ODICT] = dec_odict, [DK_DEFDICT] = dec_defdict,
        [DK_WEAKREF] = dec_weakref, [DK_SLICE] = dec_slice, [DK_MEMVIEW] = dec_memview,
        [DK_MBUF] = dec_mbuf, [DK_CFUNC] = dec_cfunc, [DK_DESCR] = dec_descr,
        [DK_NAMESPACE] = dec_namespace, [DK_ABCDATA] = dec_abcdata,
        [DK_METHWRAPPER] = dec_methwrapper,
        [DK_TUPLEGETTER] = dec_tuplegetter,
        [DK_OSERR] = dec_oserr, [DK_SYNTAXERR] = dec_syntaxerr,
        [DK_IMPORTERR] = dec_importerr, [DK_STOPITER] = dec_stopiter,
        [DK_SYSEXIT] = dec_sysexit, [DK_ATTRERR] = dec_attrerr, [DK_NAMEERR] = dec_nameerr,
        [DK_EXCGROUP] = dec_excgroup, [DK_UNICODEERR] = dec_unicodeerr,
        [DK_PARTIAL] = dec_partial, [DK_LRUCACHE] = dec_lrucache,
        [DK_GENALIAS] = dec_genalias, [DK_UNION] = dec_union,
};

static int dec_kind(struct walker *w, enum dkind k, uint64_t obj, struct tinfo *t)
{
        if (k == DK_INSTANCE)
                return dec_instance(w, obj, t);
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

/* -------------------------------------------------- helpers for roots */

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
        /* The callback reads target memory too (names, objects), which may
         * reuse the scratch slots: take a private copy of keys and values. */
        copy = malloc(k.nentries * 2 * sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        ents = pyo_array(&w->p, 0, k.entries, k.nentries * k.entry_size);
        if (values)
                vals = pyo_array(&w->p, 1, values + (lhas(l, LF_DICTVALUES_VALUES) ?
                                 lo(l, LF_DICTVALUES_VALUES) : 0), k.nentries * 8);
        if (!ents || (values && !vals)) {
                free(copy);
                return -EFAULT;
        }
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

/* ------------------------------------------------------------ lifecycle */

/* tp_traverse of the type a PyExc_* pointer variable names, 0 if unknown. */
/* tp_traverse of a static type exported as a symbol, 0 if unreadable. */
static uint64_t static_type_traverse(struct walker *w, enum pysym_id id)
{
        uint64_t trav;

        if (!w->pi->sym[id] || !lhas(w->l, LF_TYPE_TRAVERSE) ||
            pyo_u64(&w->p, w->pi->sym[id] + lo(w->l, LF_TYPE_TRAVERSE), &trav) < 0)
                return 0;
        return trav;
}

static uint64_t exc_type_traverse(struct walker *w, enum pysym_id id)
{
        uint64_t type, trav;

        if (!w->pi->sym[id] || !lhas(w->l, LF_TYPE_TRAVERSE) ||
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
        for (int k = 0; k <= DK_UNICODEERR - DK_OSERR; k++)
                w->exc_traverse[k] = exc_type_traverse(w, exc_syms[k]);
        return 0;
}

void walker_release(struct walker *w)
{
        for (uint32_t i = 0; i < w->ntv; i++)
                tinfo_free(w->tv[i]);
        free(w->tv);
        map_release(&w->tmap);
        map_release(&w->lmap);
        pyo_release(&w->p);
}
