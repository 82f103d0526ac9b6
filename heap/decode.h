/* decode: per-type reference decoders and the type cache (private to heap/).
 *
 * The walker (walk.c) owns a `struct walker`, adds every tracked object,
 * then calls decode_object() for each one in index order.  decode_object()
 * emits the object's references in the order its type's tp_traverse visits
 * them; referents that are not tracked objects are added to the heap as
 * untracked objects on the fly.  Unreadable or implausible target memory
 * never fails the build: the source object gets HOBJ_PARTIAL and
 * meta.inconsistencies counts it.  Only -ENOMEM (and heap misuse) is fatal.
 */
#ifndef PYLEAK_DECODE_H
#define PYLEAK_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode-table.h"
#include "heap-build.h"
#include "pyobj.h"
#include "u64map.h"

struct diag;
struct native_state;

/* Decoder kinds: what a type's tp_traverse does.  One per row of
 * decode-table.h, which says how each is recognised, decoded, sized and
 * previewed. */
enum dkind {
        DK_NONE = 0,     /* not a GC type: no references to report */
        DK_OPAQUE,       /* GC type without a decoder */
#define DKIND_ENUM(id, ...) DK_##id,
        DECODE_KINDS(DKIND_ENUM)
#undef DKIND_ENUM
        DK__COUNT
};

/* How sys.getsizeof() sizes an instance (the __sizeof__ in effect). */
enum skind {
        SK_GENERIC = 0,  /* basicsize + itemsize * |ob_size| */
        SK_LIST,
        SK_DICT,
        SK_SET,
        SK_STR,
        SK_INT,
        SK_DEQUE,
        SK_TYPE,
        SK_FRAME,        /* frame_sizeof: slots counted from the code */
        SK_GEN,          /* 3.11+ gen_sizeof (generators, coroutines, ...) */
        SK_ODICT,        /* dict + fast-nodes table + linked-list nodes */
};

struct slotdef {
        int64_t offset;
        uint32_t label;
};

struct tinfo {
        uint64_t addr;
        uint64_t flags;
        uint64_t traverse;
        uint64_t base;
        uint64_t is_gc_fn;
        uint64_t cached_keys;    /* heap types: ht_cached_keys */
        int64_t basicsize, itemsize, dictoffset;
        uint32_t hidx;           /* index in heap.types */
        uint8_t kind;            /* enum dkind of the type itself */
        uint8_t base_kind;       /* DK_INSTANCE: decoder of the first base
                                    whose tp_traverse is not subtype_traverse */
        uint8_t size_kind;       /* enum skind */
        bool visit_type;         /* DK_INSTANCE: subtype_traverse visits type */
        bool dict_differs;       /* DK_INSTANCE: tp_dictoffset != base's */
        bool base_heap;          /* the base decoder's type is a heap type */
        bool is_metatype;        /* instances are type objects */
        uint8_t pv_kind;         /* preview.c: what to preview, 0 = not
                                    worked out yet */
        uint8_t native_kind;     /* native.c: whose buffer it has, 0 = not
                                    worked out yet */
        uint32_t nslots;
        struct slotdef *slots;   /* __slots__ members over the subtype chain */
        int ck_state;            /* cached-keys labels: 0 not built, 1 ok, -1 failed */
        uint32_t nck;
        uint32_t *ck_label;      /* ".name" per cached-keys entry */
};

/* An instance of a Python class whose first C base has a traverse the
 * walker does not know: its slot, dict and class edges are real, the rest
 * is unknown, so the object counts as opaque. */
static inline bool tinfo_base_opaque(const struct tinfo *t)
{
        return t->kind == DK_INSTANCE && t->base_kind == DK_OPAQUE;
}

/* Constant edge labels. */
#define CONST_LABELS(L) \
        L(KEY, "<key>") L(ITEM, "<item>") L(GENKEY, "[key]") \
        L(DICT, "__dict__") L(CLASS, "__class__") \
        L(TP_CACHE, "tp_cache") L(MRO, "__mro__") L(BASES, "__bases__") \
        L(BASE, "__base__") L(HT_MODULE, "ht_module") \
        L(CODE, "__code__") L(GLOBALS, "__globals__") L(BUILTINS, "__builtins__") \
        L(MODULE, "__module__") L(DEFAULTS, "__defaults__") \
        L(KWDEFAULTS, "__kwdefaults__") L(DOC, "__doc__") L(NAME, "__name__") \
        L(CLOSURE, "__closure__") L(ANNOTATIONS, "__annotations__") \
        L(ANNOTATE, "__annotate__") L(TYPE_PARAMS, "__type_params__") \
        L(QUALNAME, "__qualname__") L(CELL_CONTENTS, "cell_contents") \
        L(FUNC, "__func__") L(SELF, "__self__") \
        L(FGET, "fget") L(FSET, "fset") L(FDEL, "fdel") \
        L(F_BACK, "f_back") L(F_CODE, "f_code") L(F_BUILTINS, "f_builtins") \
        L(F_GLOBALS, "f_globals") L(F_LOCALS, "f_locals") L(F_TRACE, "f_trace") \
        L(F_EXTRA_LOCALS, "f_extra_locals") L(F_LOCALS_CACHE, "f_locals_cache") \
        L(FRAME_OBJ, "frame_obj") L(F_FUNCOBJ, "f_funcobj") \
        L(GI_FRAME, "gi_frame") L(GI_CODE, "gi_code") \
        L(EXC_TYPE, "gi_exc_state.exc_type") L(EXC_VALUE, "gi_exc_state.exc_value") \
        L(EXC_TB, "gi_exc_state.exc_traceback") L(AG_FINALIZER, "ag_finalizer") \
        L(TB_NEXT, "tb_next") L(TB_FRAME, "tb_frame") \
        L(ARGS, "args") L(NOTES, "__notes__") L(TRACEBACK, "__traceback__") \
        L(CONTEXT, "__context__") L(CAUSE, "__cause__") \
        L(DEFAULT_FACTORY, "default_factory") L(CALLBACK, "__callback__") \
        L(START, "start") L(STOP, "stop") L(STEP, "step") \
        L(MBUF, "mbuf") L(OBJ, "obj") L(DEFINING_CLASS, "<defining class>") \
        L(ABC_REGISTRY, "_abc_registry") L(ABC_CACHE, "_abc_cache") \
        L(ABC_NEGCACHE, "_abc_negative_cache") \
        L(OBJCLASS, "__objclass__") L(DESCR, "descr") L(DOCFIELD, "doc") \
        L(ERRNO, "errno") L(STRERROR, "strerror") L(FILENAME, "filename") \
        L(FILENAME2, "filename2") L(WINERROR, "winerror") L(MSG, "msg") \
        L(LINENO, "lineno") L(OFFSET, "offset") L(END_LINENO, "end_lineno") \
        L(END_OFFSET, "end_offset") L(TEXT, "text") \
        L(PRINT_FILE_AND_LINE, "print_file_and_line") L(ENAME, "name") \
        L(PATH, "path") L(NAME_FROM, "name_from") L(VALUE, "value") \
        L(ECODE, "code") L(MESSAGE, "message") L(EXCEPTIONS, "exceptions") \
        L(ENCODING, "encoding") L(OBJECT, "object") L(REASON, "reason") \
        L(PFUNC, "func") L(PARGS, "args") L(KEYWORDS, "keywords") \
        L(CACHE, "<cache>") L(WRAPPED, "__wrapped__") L(KWD_MARK, "<kwd_mark>") \
        L(ELEM_TYPE, "<lru_list_elem type>") L(CACHE_INFO_TYPE, "<cache_info_type>") \
        L(LRU_KEY, "<lru key>") L(LRU_RESULT, "<lru result>") \
        L(ORIGIN, "__origin__") L(GA_ARGS, "__args__") L(PARAMETERS, "__parameters__") \
        L(HASHABLE_ARGS, "<hashable args>") L(UNHASHABLE_ARGS, "<unhashable args>") \
        L(SYS_DICT, "sys.__dict__") L(BUILTINS_DICT, "builtins.__dict__") \
        L(NONSTR_MODULE, "<non-str module name>") \
        L(FUT_LOOP, "_loop") L(FUT_CALLBACK0, "<callback0>") \
        L(FUT_CONTEXT0, "<context0>") L(FUT_CALLBACKS, "_callbacks") \
        L(FUT_RESULT, "_result") L(FUT_EXCEPTION, "_exception") \
        L(FUT_EXCEPTION_TB, "_exception_tb") L(FUT_SOURCE_TB, "_source_traceback") \
        L(FUT_CANCEL_MSG, "_cancel_message") L(FUT_CANCELLED_EXC, "_cancelled_exc") \
        L(FUT_AWAITED_BY, "<awaited_by>") L(TASK_FUT_WAITER, "_fut_waiter") \
        L(TASK_CORO, "_coro") L(TASK_NAME, "_name") L(TASK_CONTEXT, "_context") \
        L(TASK, "<task>") L(FUTURE, "<future>") L(ARG, "<arg>") \
        L(CTX_PREV, "<prev context>") L(CTX_VARS, "<vars>") \
        L(DEFAULT, "<default>") L(TOK_CTX, "<context>") L(TOK_VAR, "var") \
        L(TOK_OLDVAL, "old_value") L(MD_VALUE, "<value>") L(MD_MULTIDICT, "<multidict>") L(FL_ITEMS, "_items") L(HAMT_ROOT, "<root>") L(HAMT_ENTRY, "<entry>") \
        L(LOCAL_ARGS, "<args>") L(LOCAL_KW, "<kw>") L(LOCAL_DUMMIES, "<dummies>") \
        L(LOCAL_DICTS, "<localdicts>") L(LOCAL_WATCHDOGS, "<thread_watchdogs>") \
        L(RAW, "raw") L(READER, "<reader>") L(WRITER, "<writer>") L(BUFFER, "buffer") \
        L(ENCODER, "<encoder>") L(DECODER, "<decoder>") L(READNL, "<readnl>") \
        L(WRITENL, "<writenl>") L(ERRORS, "errors") L(DECODED_CHARS, "<decoded_chars>") \
        L(PENDING_BYTES, "<pending_bytes>") L(SNAPSHOT, "<snapshot>") L(BUF, "<buf>") L(RAW_WRITEV, "<raw.writev>") \
        L(SOURCE, "<source>") L(ACTIVE, "<active>") L(IT, "<it>") L(SAVED, "<saved>") \
        L(DATAOBJ, "<dataobj>") L(NEXTLINK, "<nextlink>") L(KEYFUNC, "<keyfunc>") \
        L(TGTKEY, "<tgtkey>") L(CURRKEY, "<currkey>") L(CURRVALUE, "<currvalue>") \
        L(PARENT, "<parent>") L(DATA, "<data>") L(SELECTORS, "<selectors>") \
        L(BINOP, "<binop>") L(TOTAL, "<total>") L(INITIAL, "<initial>") \
        L(ITTUPLE, "<iterators>") L(RESULT, "<result>") L(FILLVALUE, "<fillvalue>") \
        L(OLD, "<old>") L(ELEMENT, "<element>") L(COUNT, "<count>") \
        L(GROUPINDEX, "groupindex") L(INDEXGROUP, "<indexgroup>") L(PATTERN, "pattern") \
        L(FORMAT, "format") L(MAPPING, "<mapping>") L(SEQ, "<iterated>") \
        L(SENTINEL, "<sentinel>")

enum clabel {
#define CL_ENUM(id, text) CL_##id,
        CONST_LABELS(CL_ENUM)
#undef CL_ENUM
        CL__COUNT
};

#define TCACHE_SIZE 64

struct walker {
        struct heap *h;
        struct pyo p;
        const struct layout *l;
        const struct pyinterp *pi;
        struct diag *d;

        struct tinfo **tv;       /* stable pointers: decoders hold them */
        uint32_t ntv;
        size_t captv;
        struct u64map tmap;      /* type address -> tv index */
        /* in front of tmap: a few types make most objects, and the walk
         * asks for one or two per object */
        struct tcache_ent {
                uint64_t addr;
                struct tinfo *t; /* NULL = empty (bad types stay in tmap) */
        } tcache[TCACHE_SIZE];
        struct u64map lmap;      /* (str address, style) -> label id */

        uint32_t lab[CL__COUNT];
        uint64_t subtype_traverse;   /* from .symtab, or learned */
        bool subtype_learned;
        uint64_t set_dummy;
        uint64_t lookdict_general;   /* <=3.10: dk_lookup of general dicts,
                                        from .symtab or learned */
        bool lookdict_known;         /* ... from .symtab: no learning */
        uint64_t baseexc_traverse;   /* BaseException's tp_traverse */
        /* tp_traverse of list, tuple, dict and type: a fast-subclass flag
         * only says which struct the object starts with; a C subclass with
         * a traverse of its own (ctypes' metatypes, say) visits more. */
        uint64_t list_traverse, tuple_traverse, dict_traverse, type_traverse;
        uint64_t exc_traverse[DK__COUNT]; /* rows with an EXC column, else 0 */

        uint64_t pre_header_flags;   /* tp_flags that give an instance the
                                        managed pre-header (sizes) */

        uint64_t inconsistencies;
        bool no_previews;        /* heap_build_opts.no_previews */
        bool str_previews_only;  /* heap_build_opts.str_previews_only */
        void (*progress)(void *ctx, uint32_t done, uint32_t total);
        void *progress_ctx;      /* heap_build_opts.progress: objects listed
                                    (total 0), then decoded */
        bool accept_collections; /* heap_build_opts.accept_collections */
        bool live;               /* reading a running process: validate
                                    headers harder (obj_header) */
        struct native_state *native; /* native.c: numpy's layout, views */
        uint32_t cur_src;
        bool cur_partial;
        bool cur_opaque;         /* edges incomplete: opaque C base type */
        bool cur_gap;            /* ... because the layout lacks a struct */
};

int walker_init(struct walker *w, struct heap *h, struct memsrc *m,
                const struct pyinterp *pi, struct diag *d);
void walker_release(struct walker *w);

/* Type info for a type address (cached).  -EBADMSG if it does not look like
 * a type, -EFAULT if unreadable, -ENOMEM.  tinfo_get() answers from
 * w->tcache inline and leaves the rest to tinfo_get_slow(). */
int tinfo_get_slow(struct walker *w, uint64_t type_addr, struct tinfo **ret);

static inline struct tcache_ent *tcache_of(struct walker *w, uint64_t type_addr)
{
        return &w->tcache[(type_addr >> 4 ^ type_addr >> 10) % TCACHE_SIZE];
}

static inline int tinfo_get(struct walker *w, uint64_t type_addr, struct tinfo **ret)
{
        const struct tcache_ent *tc = tcache_of(w, type_addr);

        if (tc->t && tc->addr == type_addr) {
                *ret = tc->t;
                return 0;
        }
        return tinfo_get_slow(w, type_addr, ret);
}

/* Reads an object's header and fills what heap_add_object needs. */
struct objhdr {
        uint32_t type;           /* heap type index */
        int64_t refcnt;
        uint64_t size;
        uint8_t flags;
        uint8_t nhead;           /* bytes valid in head (16, 24 or 32) */
        struct tinfo *t;
        uint8_t head[32];        /* the object's first bytes: the preview
                                    reads sizes and small ints from here
                                    instead of looking the address up again */
};
int obj_header(struct walker *w, uint64_t obj, struct objhdr *ret);

/* Emits the references of tracked object `idx` (at addr). */
int decode_object(struct walker *w, uint32_t idx, uint64_t addr);

/* Without .symtab, subtype_traverse is learned from class objects:
 * decode_class_traverse() gives a candidate (0 if obj is not a class
 * statement's class; reads obj as a type: call it only for type objects),
 * the walker takes a vote and sets the winner. */
uint64_t decode_class_traverse(struct walker *w, uint64_t obj);
void decode_set_subtype_traverse(struct walker *w, uint64_t traverse);

/* Object index for addr, adding it as an untracked object if needed.
 * -EFAULT / -EBADMSG if it is not a readable object. */
int resolve_object(struct walker *w, uint64_t addr, uint32_t *ret);

/* Label "f_locals.<name>" for a local's name (a str object), cached. */
int local_label(struct walker *w, uint64_t name, uint32_t *ret);

/* Calls fn(w, key, value, arg) for every entry of a dict with a value, in
 * entry order; stops at the first fn result != 0 and returns it.
 * -EFAULT / -EBADMSG if the dict is unreadable or implausible. */
int dict_foreach(struct walker *w, uint64_t dict,
                 int (*fn)(struct walker *w, uint64_t key, uint64_t value, void *arg),
                 void *arg);

/* Display name of a type object ("dict", "__main__.Node") without adding
 * it to the heap's types. */
int type_display_name(struct walker *w, uint64_t type_addr, char *buf, size_t len);

/* Records object idx's value preview (heap/preview.c) from its bytes in
 * the target; oh is its header (obj_header).  Unreadable or odd memory just records
 * nothing; only -ENOMEM is returned. */
int preview_record(struct walker *w, uint32_t idx, uint64_t obj, const struct objhdr *oh);

/* Native bytes (heap/native.c, heap.h: heap.native): native_record() for
 * every object added, with its type info; native_links() once every
 * tracked object's edges are in (the edge from an untracked numpy view to
 * its base: the only edges of untracked objects), then native_finish(),
 * before heap_finish() (a tracked view whose owner the graph lacks);
 * native_release() frees the state.  Odd memory records nothing; only
 * -ENOMEM is returned. */
int native_record(struct walker *w, uint32_t idx, uint64_t obj, struct tinfo *t);
int native_links(struct walker *w);
int native_finish(struct walker *w);
void native_release(struct walker *w);

/* What the walker does for every object it adds: its native bytes and its
 * preview. */
static inline int obj_recorded(struct walker *w, uint32_t idx, uint64_t obj,
                               const struct objhdr *oh)
{
        int r = native_record(w, idx, obj, oh->t);

        return r < 0 ? r : preview_record(w, idx, obj, oh);
}

#endif
