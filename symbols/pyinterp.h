/* pyinterp: find the CPython interpreter inside a target and describe it.
 *
 * pyinterp_find() looks through the target's mappings for the ELF that
 * defines `_PyRuntime` (libpython3.X*.so* preferred, else the executable),
 * opens it as the target sees it (memsrc_open_mapped_file: /proc/PID/map_files
 * or /proc/PID/root), computes the load bias, reads the version, fills the
 * layout from the available providers, validates it against memory, and
 * resolves the exported symbols heap/ needs (static type objects etc.).
 *
 * It reads only constant data (ELF files, the runtime's static parts), so
 * main() runs it before stopping the target, against a live memsrc, to keep
 * the pause short.  The result is independent of the memsrc afterwards.
 *
 * Errors, each with a diag saying cause and fix:
 *   -EOPNOTSUPP  not a CPython process (the diag says what it runs), or an
 *                unsupported build (2.x, <3.8, free-threaded, unknown future)
 *   -ENOENT      no provider could describe this build: no DWARF, no table
 *                for this exact version + variant (diag names the file, its
 *                build-id, the tables of that minor and how to get symbols)
 *   -EBADMSG     a layout failed validation against the target's memory
 */
#ifndef PYLEAK_PYINTERP_H
#define PYLEAK_PYINTERP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

struct memsrc;
struct diag;

/* Symbols heap/ needs, looked up in .dynsym and, when present, .symtab: PYSYM(ID, "symbol name").  Addresses are of
 * the symbol itself (for PyExc_* and _PySet_Dummy that is the address of a
 * pointer variable; read it to get the object). 0 when not exported. */
#define PYINTERP_SYMBOLS(S) \
        S(RUNTIME,            "_PyRuntime") \
        S(PY_VERSION,         "Py_Version") \
        S(SET_DUMMY,          "_PySet_Dummy") \
        S(NONE,               "_Py_NoneStruct") \
        S(TRUE,               "_Py_TrueStruct") \
        S(TYPE_TYPE,          "PyType_Type") \
        S(OBJECT_TYPE,        "PyBaseObject_Type") \
        S(LIST_TYPE,          "PyList_Type") \
        S(TUPLE_TYPE,         "PyTuple_Type") \
        S(DICT_TYPE,          "PyDict_Type") \
        S(SET_TYPE,           "PySet_Type") \
        S(FROZENSET_TYPE,     "PyFrozenSet_Type") \
        S(FUNCTION_TYPE,      "PyFunction_Type") \
        S(CONTEXT_TYPE,       "PyContext_Type") \
        S(CONTEXTVAR_TYPE,    "PyContextVar_Type") \
        S(CTXTOKEN_TYPE,      "PyContextToken_Type") \
        S(CELL_TYPE,          "PyCell_Type") \
        S(METHOD_TYPE,        "PyMethod_Type") \
        S(CLASSMETHOD_TYPE,   "PyClassMethod_Type") \
        S(STATICMETHOD_TYPE,  "PyStaticMethod_Type") \
        S(PROPERTY_TYPE,      "PyProperty_Type") \
        S(MODULE_TYPE,        "PyModule_Type") \
        S(FRAME_TYPE,         "PyFrame_Type") \
        S(GEN_TYPE,           "PyGen_Type") \
        S(CORO_TYPE,          "PyCoro_Type") \
        S(ASYNCGEN_TYPE,      "PyAsyncGen_Type") \
        S(TRACEBACK_TYPE,     "PyTraceBack_Type") \
        S(ODICT_TYPE,         "PyODict_Type") \
        S(WEAKREF_TYPE,       "_PyWeakref_RefType") \
        S(WEAKPROXY_TYPE,     "_PyWeakref_ProxyType") \
        S(WEAKCALLPROXY_TYPE, "_PyWeakref_CallableProxyType") \
        S(SLICE_TYPE,         "PySlice_Type") \
        S(MEMVIEW_TYPE,       "PyMemoryView_Type") \
        S(MBUF_TYPE,          "_PyManagedBuffer_Type") \
        S(CFUNCTION_TYPE,     "PyCFunction_Type") \
        S(CMETHOD_TYPE,       "PyCMethod_Type") \
        S(METHODDESCR_TYPE,   "PyMethodDescr_Type") \
        S(CLASSMETHODDESCR_TYPE, "PyClassMethodDescr_Type") \
        S(MEMBERDESCR_TYPE,   "PyMemberDescr_Type") \
        S(GETSETDESCR_TYPE,   "PyGetSetDescr_Type") \
        S(WRAPPERDESCR_TYPE,  "PyWrapperDescr_Type") \
        S(CODE_TYPE,          "PyCode_Type") \
        S(UNICODE_TYPE,       "PyUnicode_Type") \
        S(LONG_TYPE,          "PyLong_Type") \
        S(BOOL_TYPE,          "PyBool_Type") \
        S(BYTES_TYPE,         "PyBytes_Type") \
        S(BYTEARRAY_TYPE,     "PyByteArray_Type") \
        S(FLOAT_TYPE,         "PyFloat_Type") \
        S(CAPSULE_TYPE,       "PyCapsule_Type") \
        S(BASEEXC_PTR,        "PyExc_BaseException") \
        /* C exception types with their own fields (pointer variables) */ \
        S(OSERR_PTR,          "PyExc_OSError") \
        S(SYNTAXERR_PTR,      "PyExc_SyntaxError") \
        S(IMPORTERR_PTR,      "PyExc_ImportError") \
        S(STOPITER_PTR,       "PyExc_StopIteration") \
        S(SYSEXIT_PTR,        "PyExc_SystemExit") \
        S(ATTRERR_PTR,        "PyExc_AttributeError") \
        S(NAMEERR_PTR,        "PyExc_NameError") \
        S(EXCGROUP_PTR,       "PyExc_BaseExceptionGroup") \
        /* UnicodeError itself uses BaseException's traverse up to 3.10;
         * its three subclasses always have UnicodeError_traverse */ \
        S(UNICODEERR_PTR,     "PyExc_UnicodeEncodeError") \
        /* debug builds (Py_REF_DEBUG, Py_TRACE_REFS) */ \
        S(NEGATIVE_REFCOUNT,  "_Py_NegativeRefcount") \
        S(TRACE_REFS,         "_Py_PrintReferences") \
        /* local symbols: only in .symtab (absent from stripped builds) */ \
        S(SUBTYPE_TRAVERSE,   "subtype_traverse") \
        /* <=3.10: dk_lookup values; only lookdict makes dict_traverse
         * visit keys */ \
        S(LOOKDICT,           "lookdict") \
        S(LOOKDICT_UNICODE,   "lookdict_unicode") \
        S(LOOKDICT_UNICODE_NODUMMY, "lookdict_unicode_nodummy") \
        S(LOOKDICT_SPLIT,     "lookdict_split") \
        /* <=3.11: pymalloc's arena bookkeeping, static in obmalloc.c
         * (heap/obmalloc.c) */ \
        S(OBM_ARENAS,         "arenas") \
        S(OBM_MAXARENAS,      "maxarenas") \
        S(OBM_NARENAS,        "narenas_currently_allocated")

enum pysym_id {
#define PYSYM_ENUM(id, name) PYSYM_##id,
        PYINTERP_SYMBOLS(PYSYM_ENUM)
#undef PYSYM_ENUM
        PYSYM__COUNT
};

/* Layout providers, in the order pyinterp_find tries them: DWARF (the
 * file's own or separate debug info), _Py_DebugOffsets (3.13+, covers part
 * of the layout; a table fills the rest), generated tables (tables.h). */
enum layout_provider_id {
        LP_NONE = 0,
        LP_DWARF,
        LP_DEBUG_OFFSETS,
        LP_TABLE,
        LP_FAMILY,        /* a table of the same minor version (family.h) */
        LP_NEIGHBOURS,    /* the tables of the neighbouring minor versions */
        LP_INFERRED,      /* placed from the target's memory (family.h) */
};

const char *layout_provider_name(enum layout_provider_id p);

/* The checks a layout passes against memory before anything walks with it
 * (pyinterp_validate), in the order they run: C(ID, "name").  The names
 * appear in refusals ("layout check \"NAME\" failed") and in the report's
 * python.layout.checks. */
#define LAYOUT_CHECKS(C) \
        C(TYPE_SELF,     "PyType_Type is its own type") \
        C(LIST_NAME,     "PyList_Type is named list") \
        C(FLAGS,         "tp_flags mark the builtin types' fast subclasses") \
        C(SINGLETONS,    "None, True and bool sit where the symbols say") \
        C(SIZES,         "struct sizes equal their types' tp_basicsize") \
        C(INTERP_HEAD,   "interpreters head") \
        C(THREAD_INTERP, "first thread's interp") \
        C(INTERP_DICTS,  "the interpreter's modules, sys and builtins are dicts") \
        C(GEN0,          "generation0 points at the first generation head") \
        C(GC_LINKS,      "gc list heads link back to themselves")

enum layout_check_id {
#define LC_ENUM(id, name) LC_##id,
        LAYOUT_CHECKS(LC_ENUM)
#undef LC_ENUM
        LC__COUNT
};

const char *layout_check_name(enum layout_check_id c);

/* Two providers describing the same item differently.  field >= 0 is an
 * enum layout_field_id; field < 0 means the size of struct `sid`. */
struct layout_disagreement {
        int field;
        int sid;
        const char *what;            /* "offset", "size", "elem_size",
                                        "struct size" */
        const char *a_source, *b_source;  /* static, e.g. "dwarf",
                                        "table:3.12.1" */
        uint32_t a, b;
};
#define PYINTERP_MAX_DISAGREEMENTS 32

struct pyinterp {
        uint32_t version_hex;        /* PY_VERSION_HEX */
        char version[32];            /* "3.12.1" */
        char *elf_path;              /* path as the target sees it */
        char *elf_host_path;         /* path that was opened on this host */
        char build_id[41];           /* hex, "" if none */
        bool is_executable;          /* interpreter linked into the executable
                                        (vs libpython) */
        uint64_t bias;               /* load bias of that ELF */
        uint64_t runtime_addr;       /* &_PyRuntime in the target */
        uint64_t sym[PYSYM__COUNT];  /* biased addresses, 0 if absent */
        struct layout layout;
        char layout_detail[256];     /* e.g. the file DWARF came from */
        /* Which provider gave each field / struct size of `layout` (enum
         * layout_provider_id), and every disagreement between two providers
         * that both described a field: the report writer shows
         * layout_disagreements (python.layout_disagreements); empty when all
         * agree.  layout_providers says what each provider did, e.g.
         * "dwarf: no debug info; debug_offsets: 52 offsets; table:3.13.0: ok". */
        uint8_t field_provider[LF__COUNT];
        uint8_t struct_provider[LS__COUNT];
        unsigned ndisagreements;     /* all found; the first
                                        PYINTERP_MAX_DISAGREEMENTS are kept */
        struct layout_disagreement disagreements[PYINTERP_MAX_DISAGREEMENTS];
        char layout_disagreements[1024]; /* "dwarf vs table:3.12.1: LIST_ITEM
                                        offset 24 != 32; ...", "" if none */
        char layout_providers[256];
        /* How sure the layout is: the checks of LAYOUT_CHECKS that held
         * (bits 1 << LC_ID); for a family or neighbours layout (family.h)
         * the candidates tried and how each fared, what was placed from
         * memory, the structs left out (their objects are opaque), and
         * whether it is experimental (neighbours). "" when none. */
        uint32_t layout_checks;
        bool layout_experimental;
        char layout_candidates[2048];
        char layout_inferred[8192];
        char layout_gapped[512];
        double find_ms;              /* wall time the caller waited for the
                                        layout: pyinterp_find, plus
                                        pyinterp_settle's wait */
        /* Set by pyinterp_find_early while the DWARF provider still runs
         * on its own thread; pyinterp_settle ends it. */
        struct pyinterp_pending *pending;
        char layout_cache[4096];     /* pyinterp_opts.layout_cache, "" */
};

struct pyinterp_opts {
        /* Where DWARF layouts are cached by build-id (layoutcache.h); NULL
         * or "" reads the DWARF every time. */
        const char *layout_cache;
};

/* See the file comment.  o may be NULL (no cache).  *ret is owned by the
 * caller (pyinterp_free). */
int pyinterp_find(struct memsrc *m, const struct pyinterp_opts *o, struct pyinterp **ret,
                  struct diag *d);

/* pyinterp_find, except that when a generated table describes this build
 * and its DWARF must still be parsed (tens of milliseconds, seconds when
 * compressed or fetched through debuginfod), the parse is left pending and
 * pi->layout is the table's (validated) meanwhile: the caller can take its
 * snapshot and walk with it while pyinterp_start_pending parses the DWARF
 * on a thread of its own.  pyinterp_settle() must then be called before
 * anything is reported: the layout it ends with is the one pyinterp_find
 * would have chosen, with the same checks and disagreements.  m must
 * outlive the pending read. */
int pyinterp_find_early(struct memsrc *m, const struct pyinterp_opts *o,
                        struct pyinterp **ret, struct diag *d);


/* Starts the pending DWARF parse on its own thread, if any.  Not while
 * the target is stopped: on a small machine the thread would take a CPU
 * from the target's own threads inside the pause. */
void pyinterp_start_pending(struct pyinterp *pi);

/* Waits for a pending DWARF read (or does it, if never started) and chooses the layout as pyinterp_find
 * does.  *changed tells whether pi->layout differs from the one used so
 * far (then everything built with it must be built again; the new layout
 * is validated against m first).  Returns 0 at once, *changed false, when
 * nothing is pending. */
int pyinterp_settle(struct memsrc *m, struct pyinterp *pi, bool *changed, struct diag *d);

/* The checks pyinterp_find runs on pi->layout against memory before
 * anything walks with it: PyType_Type's type is itself, PyList_Type's
 * tp_name reads "list", the runtime holds an interpreter whose first thread
 * points back to it, generation0 (when the layout has it) points at the
 * first GC list head, and every GC list head's neighbours link back to it.
 * -EBADMSG with a diag naming the failed check and the layout source;
 * -ESRCH (pyinterp_no_interpreter) when the runtime lists no interpreter.
 * Exposed for tests and for re-checking a layout later. */
int pyinterp_validate(struct memsrc *m, const struct pyinterp *pi, struct diag *d);

/* The runtime of pid lists no interpreter (finalized or not started):
 * fills d with that, and the hint; returns -ESRCH. */
int pyinterp_no_interpreter(struct diag *d, pid_t pid);

/* Frees; accepts NULL. */
void pyinterp_free(struct pyinterp *pi);

const char *pysym_name(enum pysym_id id);

#endif
