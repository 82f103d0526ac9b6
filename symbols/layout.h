/* layout: the per-version description of CPython's structs, as data.
 *
 * One `struct layout` holds, for every struct in layout-fields.h, its size and
 * whether it was found, and for every field its offset, width and whether it
 * exists in this build.  Providers (DWARF, _Py_DebugOffsets, generated
 * tables: see pyinterp.h) fill it; heap/ reads offsets only from here.
 * Absent is never encoded as offset 0: always test `present`.
 *
 * Besides offsets, a layout carries `facts`: behaviours that depend on the
 * version but are not offsets (tagged stack references, immortal refcounts,
 * the managed-dict model, ...).  layout_derive_facts() sets them from the
 * version and from which fields are present; heap/ branches on facts at run
 * time, never on #ifdefs.
 */
#ifndef PYLEAK_LAYOUT_H
#define PYLEAK_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "layout-fields.h"

enum layout_struct_id {
#define LAYOUT_S_ENUM(id, names) LS_##id,
        LAYOUT_STRUCTS(LAYOUT_S_ENUM)
#undef LAYOUT_S_ENUM
        LS__COUNT
};

enum layout_field_id {
#define LAYOUT_F_ENUM(id, st, path) LF_##id,
        LAYOUT_FIELDS(LAYOUT_F_ENUM)
#undef LAYOUT_F_ENUM
        LF__COUNT
};

struct layout_struct_info {
        uint32_t size;
        bool present;
};

struct layout_field_info {
        uint32_t offset;          /* byte offset inside its struct */
        uint32_t size;            /* byte width of the member (for arrays:
                                     the whole declared array, 0 if flexible) */
        uint32_t elem_size;       /* arrays: one element; else == size */
        bool present;
};

/* How an instance of a plain Python class stores its attributes. */
enum managed_dict_model {
        MANAGED_DICT_NONE = 0,    /* <=3.10: __dict__ pointer at tp_dictoffset */
        MANAGED_DICT_311,         /* values ptr at obj-32, dict ptr at obj-24 */
        MANAGED_DICT_312,         /* tagged dict-or-values word at obj-24 */
        MANAGED_DICT_313,         /* inline values + dict ptr at obj-24 */
};

enum gc_design {
        GC_DESIGN_GENERATIONAL = 0,  /* generations[3] (+ generation0 pointer) */
        GC_DESIGN_INCREMENTAL,       /* young, old[2] (3.14.0-3.14.4) */
};

enum immortal_model {
        IMMORTAL_NONE = 0,        /* <=3.11: refcount is a plain ssize_t */
        IMMORTAL_312,             /* 3.12-3.13: 64-bit refcnt, immortal when the
                                     low 32 bits as int32 are negative */
        IMMORTAL_314,             /* 3.14+: count is the low 32 bits only */
};

/* How a code object maps bytecode offsets to lines. */
enum linetable_format {
        LINETABLE_LNOTAB = 0,     /* <=3.9: co_lnotab */
        LINETABLE_PEP626,         /* 3.10: co_linetable of PEP 626 */
        LINETABLE_LOCATIONS,      /* 3.11+: co_linetable location entries */
};

struct layout_facts {
        enum managed_dict_model managed_dict;
        enum gc_design gc_design;
        enum immortal_model immortal;
        bool tagged_stackrefs;    /* 3.14+: frame slots carry tag bits */
        bool dict_visits_embedded_values; /* gh-130327 semantics: a dict
                                     visits inline values it does not own */
        bool static_types_dict_indirect; /* 3.12+: tp_dict of static builtin
                                     types is NULL, tp_subclasses an index */
        int32_t managed_dict_offset;   /* from the object start, e.g. -24 */
        int32_t managed_values_offset; /* 3.11: -32; else 0 (unused) */
        int32_t managed_weakref_offset;/* 3.12+: -32 */
        uint32_t pre_header_size;      /* bytes before PyGC_Head for types with
                                          MANAGED_DICT/WEAKREF flags */
        uint32_t iframe_owner_first_noncode; /* owner values >= this are not
                                          Python frames (CSTACK/INTERPRETER) */
        int8_t frame_state_cleared;    /* gi_frame_state of a cleared frame:
                                          4, 5 from 3.15 (states renumbered) */
        bool heap_base_visits_type;    /* 3.9+ (bpo-40217): subtype_traverse
                                          leaves Py_TYPE to a heap base type's
                                          own traverse; 3.8 always visits it */
        bool getsizeof_gc_by_type;     /* 3.11-3.12: sys.getsizeof adds the GC
                                          head (and pre-header) for any instance
                                          of a GC type, static type objects too;
                                          else only for GC objects */
        bool lasti_in_code_units;      /* 3.10+: f_lasti counts 2-byte code
                                          units, not bytes */
        enum linetable_format linetable;
        bool str_ready_flag;           /* <=3.11: a str may be not "ready"
                                          (state.ready, removed by PEP 623) */
        bool long_zero_has_digit;      /* 3.11+: int.__sizeof__ counts one
                                          digit for 0 */
        uint32_t pymalloc_arena_size;  /* ARENA_SIZE: 256 KiB 3.8-3.9, 1 MiB
                                          3.10+; 0 unknown */
        uint32_t pymalloc_pool_size;   /* POOL_SIZE: 4 KiB 3.8-3.9, 16 KiB
                                          3.10+; 0 unknown */
        bool io_visits_all;            /* 3.12+ (heap-type _io): BytesIO's
                                          buf, StringIO's decoder and
                                          BufferedRWPair's reader and writer
                                          are visited; before, only dicts */
};

struct layout {
        uint32_t version_hex;     /* PY_VERSION_HEX of the target */
        const char *source;       /* "dwarf", "debug_offsets", "table:...",
                                     "debug_offsets+table:..." (static) */
        const char *variant;      /* distribution build: "" upstream,
                                     "debian" (patched layouts and
                                     behaviour, see layout_derive_facts) */
        struct layout_struct_info s[LS__COUNT];
        struct layout_field_info f[LF__COUNT];
        struct layout_facts facts;
};

/* Names, for diagnostics and providers. */
const char *layout_struct_name(enum layout_struct_id id);   /* "LIST" */
const char *layout_struct_dwarf_names(enum layout_struct_id id); /* "a|b" */
const char *layout_field_name(enum layout_field_id id);     /* "LIST_ITEM" */
const char *layout_field_path(enum layout_field_id id);     /* "ob_item|..." */
enum layout_struct_id layout_field_struct(enum layout_field_id id);

/* Sets every struct and field absent. */
void layout_init(struct layout *l, uint32_t version_hex);

/* Writes the structs and fields l has in the text format of the generated
 * tables (tables.h): "struct NAME SIZE", then "FIELD OFFSET SIZE ELEM_SIZE"
 * lines.  Returns 0, or -EIO when f reports a write error. */
int layout_write_text(FILE *f, const struct layout *l);

/* A hash of everything layout-fields.h declares (struct and field ids,
 * DWARF names, member paths): two tools with equal hashes look up the same
 * things, so a layout one wrote down means the same to the other. */
uint32_t layout_schema_hash(void);

/* Fills l->facts from l->version_hex and the presence of fields.  Call after
 * the providers ran. */
void layout_derive_facts(struct layout *l);

/* Whether a and b describe memory the same way: version, every struct's
 * presence and size, every field's presence, offset and widths. */
bool layout_equal(const struct layout *a, const struct layout *b);

/* The accessors, spelled short because heap/ reads hundreds of fields:
 * lhas(l, LF_X) whether the field exists in this build, lo(l, LF_X) its
 * offset (meaningful only when lhas), lsz(l, LS_X) the struct's size (0:
 * unknown). */
static inline bool lhas(const struct layout *l, enum layout_field_id f)
{
        return l->f[f].present;
}

static inline uint32_t lo(const struct layout *l, enum layout_field_id f)
{
        return l->f[f].offset;
}

static inline uint32_t lsz(const struct layout *l, enum layout_struct_id s)
{
        return l->s[s].size;
}

/* The newest CPython 3 minor version supported: the one place a new
 * version raises (messages, the future-version check, the debug offsets'
 * columns follow it). */
#define PY_MINOR_MAX 15
#define PY_STR_(x) #x
#define PY_STR(x) PY_STR_(x)

/* Python version helpers: PY_VERSION_HEX is 0xMMmmppLS. */
static inline unsigned py_major(uint32_t v) { return (v >> 24) & 0xff; }
static inline unsigned py_minor(uint32_t v) { return (v >> 16) & 0xff; }
static inline unsigned py_micro(uint32_t v) { return (v >> 8) & 0xff; }
/* true if v >= major.minor */
static inline bool py_at_least(uint32_t v, unsigned major, unsigned minor)
{
        return (v >> 16) >= ((major << 8) | minor);
}

#endif
