/* typecache: what the walker knows about each type (decode.h: tinfo_get).
 *
 * A type is read once: its flags, sizes, slots and names, and its kind,
 * found through the rows of decode-table.h (symbols, then names, then the
 * fast-subclass flags and, for exceptions, tp_traverse), or, for classes
 * from class statements, through subtype_traverse and the first C base
 * with another traverse.  Bad type addresses are remembered too, so
 * garbage is judged once.
 */
#include "grow.h"
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_OBJECT_EX    16

/* The member descriptors of a heap type sit right after the heap type
 * object, at type + Py_TYPE(type)->tp_basicsize; Py_SIZE(type) of them
 * (doc/internals.md §Slots).  Only T_OBJECT_EX members are traversed. */
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

static enum dkind classify_exception(struct walker *w, uint64_t traverse)
{
        bool known = w->baseexc_traverse != 0;

        /* BaseException first: 3.8/3.9 AttributeError and NameError have no
         * fields of their own and share its traverse. */
        if (!traverse || traverse == w->baseexc_traverse)
                return DK_BASEEXC;
        for (int k = 0; k < DK__COUNT; k++) {
                if (w->exc_traverse[k] == traverse)
                        return (enum dkind)k;
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

/* Per row of decode-table.h: its symbols and names, each list behind a
 * placeholder first element so that an empty list is valid C. */
#define KIND_LISTS(id, dec, size, pv, syms, names, exc) \
        static const enum pysym_id syms_##id[] = { PYSYM__COUNT, DECODE_LIST syms }; \
        static const char *const names_##id[] = { NULL, DECODE_LIST names };
DECODE_KINDS(KIND_LISTS)
#undef KIND_LISTS

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct kind_match {
        enum dkind kind;
        const enum pysym_id *syms;
        const char *const *names;
        uint8_t nsyms, nnames;
} kind_matches[] = {
#define KIND_MATCH(id, dec, size, pv, syms, names, exc) \
        { DK_##id, syms_##id + 1, names_##id + 1, NELEM(syms_##id) - 1, NELEM(names_##id) - 1 },
        DECODE_KINDS(KIND_MATCH)
#undef KIND_MATCH
};

static const uint8_t size_kinds[DK__COUNT] = {
#define KIND_SIZE(id, dec, size, ...) [DK_##id] = SK_##size,
        DECODE_KINDS(KIND_SIZE)
#undef KIND_SIZE
};

static enum dkind classify_static(struct walker *w, uint64_t addr, uint64_t flags,
                                  uint64_t traverse, const char *tpname)
{
        const size_t nk = NELEM(kind_matches);

        for (size_t i = 0; i < nk; i++)
                for (uint8_t j = 0; j < kind_matches[i].nsyms; j++)
                        if (is_sym(w, kind_matches[i].syms[j], addr))
                                return kind_matches[i].kind;
        for (size_t i = 0; i < nk; i++)
                for (uint8_t j = 0; j < kind_matches[i].nnames; j++)
                        if (!strcmp(tpname, kind_matches[i].names[j]))
                                return kind_matches[i].kind;
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
        enum skind s = (unsigned)k < DK__COUNT ? (enum skind)size_kinds[k] : SK_GENERIC;

        /* before 3.11 a generator's frame is an object of its own */
        if (s == SK_GEN)
                return lhas(w->l, LF_GEN_IFRAME) ? SK_GEN : SK_GENERIC;
        if (s != SK_GENERIC)
                return s;
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

void tinfo_free(struct tinfo *t)
{
        if (!t)
                return;
        free(t->slots);
        free(t->ck_label);
        free(t);
}

/* A class statement's class (tp_traverse is subtype_traverse): slots of
 * every class up the chain that still uses it, then the first base with
 * another traverse decides the rest (doc/internals.md §Subtype traverse). */
static int classify_instance(struct walker *w, uint64_t addr, const struct rawtype *rt,
                             struct tinfo *t)
{
        const struct layout *l = w->l;
        struct rawtype meta = *rt;
        uint64_t b = addr;
        int depth = 0, r;

        t->kind = DK_INSTANCE;
        for (;;) {
                if (meta.traverse != w->subtype_traverse || !(meta.flags & TPF_HEAPTYPE))
                        break;
                r = collect_slots(w, b, meta.v, t);
                if (r == -ENOMEM)
                        return r;
                b = meta.base;
                if (!b || ++depth > MAX_CHAIN || read_type(w, b, &meta) < 0)
                        break;
        }
        if (b && depth <= MAX_CHAIN && meta.v && meta.traverse != w->subtype_traverse) {
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
                        t->size_kind = (uint8_t)size_kind_of(w, DK_NONE, b, rt->flags);
        } else {
                t->base_kind = DK_NONE;
                t->dict_differs = t->dictoffset != 0;
        }
        /* 3.8 always visits the type; 3.9+ leave it to a heap base
         * type's own traverse (bpo-40217). */
        t->visit_type = l->facts.heap_base_visits_type ?
                !(t->base_kind != DK_NONE && t->base_heap) : true;
        return 0;
}

/* Appends t (NULL: a bad type address) to w->tv under addr. */
static int tinfo_store(struct walker *w, uint64_t addr, struct tinfo *t)
{
        int r;

        if (GROW(w->tv, w->captv, (size_t)w->ntv + 1, 256) < 0)
                return -ENOMEM;
        w->tv[w->ntv] = t;
        r = u64map_put(&w->tmap, addr, w->ntv);
        if (r < 0)
                return r;
        w->ntv++;
        return 0;
}

struct tnames {
        char mod[128], qual[160];
};

/* A new tinfo for the type at addr and its display names, or -EBADMSG /
 * -EFAULT / -EOPNOTSUPP (a bad type) or -ENOMEM. */
static int tinfo_read(struct walker *w, uint64_t addr, struct tinfo **ret, struct tnames *nm)
{
        const struct layout *l = w->l;
        struct rawtype rt;
        struct tinfo *t;
        char tpname[160];
        uint64_t metaflags, metaaddr;
        int r;

        r = read_type(w, addr, &rt);
        if (r < 0)
                return r;
        /* A type's own type must be a type (the metatype has the type
         * fast-subclass bit); cheap proof that this is not garbage. */
        metaaddr = ld64(rt.v, lo(l, LF_OBJECT_TYPE));
        if (!metaaddr || (metaaddr & 7) ||
            pyo_u64(&w->p, metaaddr + lo(l, LF_TYPE_FLAGS), &metaflags) < 0 ||
            !(metaflags & TPF_TYPE_SUBCLASS))
                return -EBADMSG;
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
                return -EBADMSG;
        }
        t->is_metatype = (rt.flags & TPF_TYPE_SUBCLASS) != 0;
        learn_subtype_traverse(w, &rt);
        type_names(w, addr, &rt, nm->mod, sizeof(nm->mod), nm->qual, sizeof(nm->qual),
                   tpname, sizeof(tpname));

        if (is_subtype_traverse(w, &rt)) {
                r = classify_instance(w, addr, &rt, t);
                if (r < 0) {
                        tinfo_free(t);
                        return r;
                }
        } else {
                t->kind = (uint8_t)classify_static(w, addr, rt.flags, rt.traverse, tpname);
                t->size_kind = (uint8_t)size_kind_of(w, (enum dkind)t->kind, addr, rt.flags);
        }
        if (t->is_metatype)
                t->size_kind = SK_TYPE;
        *ret = t;
        return 0;
}

int tinfo_get_slow(struct walker *w, uint64_t addr, struct tinfo **ret)
{
        struct tnames nm;
        struct tinfo *t;
        uint32_t idx;
        struct tcache_ent *tc;
        int r;

        /* 0 is the map's empty-slot key (u64map.h): looking it up would
         * answer whatever type an empty slot last held, so a word of zeros
         * read as an object header would pass for an object */
        if (!addr || (addr & 7))
                return -EBADMSG;
        if (u64map_get(&w->tmap, addr, &idx)) {
                t = w->tv[idx];
                if (!t)
                        return -EBADMSG;
                tc = tcache_of(w, addr);
                tc->addr = addr;
                tc->t = t;
                *ret = t;
                return 0;
        }
        r = tinfo_read(w, addr, &t, &nm);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* Remember bad type addresses so garbage is judged once. */
                if (tinfo_store(w, addr, NULL) < 0)
                        return -ENOMEM;
                return r;
        }
        r = heap_intern_type(w->h, addr, nm.mod, nm.qual,
                             t->kind == DK_OPAQUE || tinfo_base_opaque(t), &t->hidx);
        if (r >= 0)
                r = tinfo_store(w, addr, t);
        if (r < 0) {
                /* not in w->tv: walker_release would not free it */
                tinfo_free(t);
                return r;
        }
        *ret = t;
        return 0;
}
