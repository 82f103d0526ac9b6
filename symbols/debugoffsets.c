/* debugoffsets: the _Py_DebugOffsets layout provider. */
#include "debugoffsets.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "layout.h"
#include "memsrc.h"

/* One column per minor version from 3.13 (the first with the block) to the
 * supported ceiling. */
enum { V313, V314, V315, NVER };
_Static_assert(13 + NVER - 1 == PY_MINOR_MAX,
               "a supported CPython version needs its _Py_DebugOffsets column");

enum entry_kind {
        E_SIZE,       /* sizeof a struct: opens a group bounding its fields */
        E_FIELD,      /* an offset inside the last group's struct */
};

/* One uint64 of the block: where it sits in each minor's block (byte
 * position from _PyRuntime, -1 = not in that version) and what it fills.
 * Positions come from the _Py_DebugOffsets declarations of 3.13.0
 * (internal/pycore_runtime.h), 3.14.10 and 3.15.2
 * (internal/pycore_debug_offsets.h), doc/internals.md §Debug offsets; the unit tests
 * check every value against DWARF (3.13.0) and the header-generated tables
 * (3.13.5, 3.13.18, 3.14.10, 3.15.2). */
struct entry {
        enum entry_kind kind;
        int id;                   /* enum layout_struct_id / layout_field_id */
        const char *name;         /* the block member, for diagnostics */
        int16_t pos[NVER];
};

#define SZ(sid, n, a, b, c) { E_SIZE, LS_##sid, n, { a, b, c } }
#define FL(fid, n, a, b, c) { E_FIELD, LF_##fid, n, { a, b, c } }

static const struct entry entries[] = {
        SZ(RUNTIME,   "runtime_state.size",                 24,  24,  24),
        FL(RUNTIME_INTERP_HEAD, "runtime_state.interpreters_head", 40, 40, 40),
        SZ(INTERP,    "interpreter_state.size",             48,  48,  48),
        FL(INTERP_ID, "interpreter_state.id",               56,  56,  56),
        FL(INTERP_NEXT, "interpreter_state.next",           64,  64,  64),
        FL(INTERP_THREADS_HEAD, "interpreter_state.threads_head", 72, 72, 72),
        FL(INTERP_GC, "interpreter_state.gc",               80,  88,  88),
        FL(INTERP_MODULES, "interpreter_state.imports_modules", 88, 96, 96),
        FL(INTERP_SYSDICT, "interpreter_state.sysdict",     96, 104, 104),
        FL(INTERP_BUILTINS, "interpreter_state.builtins",  104, 112, 112),
        SZ(TSTATE,    "thread_state.size",                 152, 176, 176),
        FL(TSTATE_NEXT, "thread_state.next",               168, 192, 192),
        FL(TSTATE_INTERP, "thread_state.interp",           176, 200, 200),
        FL(TSTATE_CURRENT_FRAME, "thread_state.current_frame", 184, 208, 208),
        FL(TSTATE_THREAD_ID, "thread_state.thread_id",     192, 216, 240),
        FL(TSTATE_NATIVE_ID, "thread_state.native_thread_id", 200, 224, 248),
        SZ(IFRAME,    "interpreter_frame.size",            224, 248, 312),
        FL(IFRAME_PREVIOUS, "interpreter_frame.previous",  232, 256, 320),
        FL(IFRAME_CODE, "interpreter_frame.executable",    240, 264, 328),
        FL(IFRAME_INSTR, "interpreter_frame.instr_ptr",    248, 272, 336),
        FL(IFRAME_LOCALSPLUS, "interpreter_frame.localsplus", 256, 280, 344),
        FL(IFRAME_OWNER, "interpreter_frame.owner",        264, 288, 352),
        FL(IFRAME_STACKPOINTER, "interpreter_frame.stackpointer", -1, 296, 360),
        SZ(CODE,      "code_object.size",                  272, 312, 376),
        FL(CODE_FILENAME, "code_object.filename",          280, 320, 384),
        FL(CODE_NAME, "code_object.name",                  288, 328, 392),
        FL(CODE_QUALNAME, "code_object.qualname",          296, 336, 400),
        FL(CODE_LINETABLE, "code_object.linetable",        304, 344, 408),
        FL(CODE_FIRSTLINENO, "code_object.firstlineno",    312, 352, 416),
        FL(CODE_LOCALSPLUSNAMES, "code_object.localsplusnames", 328, 368, 432),
        FL(CODE_LOCALSPLUSKINDS, "code_object.localspluskinds", 336, 376, 440),
        FL(CODE_CODE_ADAPTIVE, "code_object.co_code_adaptive", 344, 384, 448),
        SZ(OBJECT,    "pyobject.size",                     352, 400, 464),
        FL(OBJECT_TYPE, "pyobject.ob_type",                360, 408, 472),
        SZ(TYPE,      "type_object.size",                  368, 416, 480),
        FL(TYPE_NAME, "type_object.tp_name",               376, 424, 488),
        FL(TYPE_FLAGS, "type_object.tp_flags",             392, 440, 504),
        FL(TYPE_BASICSIZE, "type_object.tp_basicsize",      -1,  -1, 512),
        FL(TYPE_DICTOFFSET, "type_object.tp_dictoffset",    -1,  -1, 520),
        SZ(HEAPTYPE,  "heap_type_object.size",              -1,  -1, 528),
        FL(HEAPTYPE_CACHED_KEYS, "heap_type_object.ht_cached_keys", -1, -1, 536),
        SZ(TUPLE,     "tuple_object.size",                 400, 448, 544),
        FL(TUPLE_ITEM, "tuple_object.ob_item",             408, 456, 552),
        FL(VAROBJECT_SIZE, "tuple_object.ob_size",         416, 464, 560),
        SZ(LIST,      "list_object.size",                  424, 472, 568),
        FL(LIST_ITEM, "list_object.ob_item",               432, 480, 576),
        FL(VAROBJECT_SIZE, "list_object.ob_size",          440, 488, 584),
        SZ(SET,       "set_object.size",                    -1, 496, 592),
        FL(SET_USED,  "set_object.used",                    -1, 504, 600),
        FL(SET_TABLE, "set_object.table",                   -1, 512, 608),
        FL(SET_MASK,  "set_object.mask",                    -1, 520, 616),
        SZ(DICT,      "dict_object.size",                  448, 528, 624),
        FL(DICT_KEYS, "dict_object.ma_keys",               456, 536, 632),
        FL(DICT_VALUES, "dict_object.ma_values",           464, 544, 640),
        SZ(FLOAT,     "float_object.size",                 472, 552, 648),
        FL(FLOAT_FVAL, "float_object.ob_fval",             480, 560, 656),
        SZ(LONG,      "long_object.size",                  488, 568, 664),
        FL(LONG_TAG,  "long_object.lv_tag",                496, 576, 672),
        FL(LONG_DIGIT, "long_object.ob_digit",             504, 584, 680),
        SZ(BYTES,     "bytes_object.size",                 512, 592, 688),
        FL(VAROBJECT_SIZE, "bytes_object.ob_size",         520, 600, 696),
        FL(BYTES_SVAL, "bytes_object.ob_sval",             528, 608, 704),
        SZ(UNICODE,   "unicode_object.size",               536, 616, 712),
        FL(ASCII_STATE, "unicode_object.state",            544, 624, 720),
        FL(ASCII_LENGTH, "unicode_object.length",          552, 632, 728),
        SZ(ASCII,     "unicode_object.asciiobject_size",   560, 640, 736),
        SZ(COMPACTUNI, "unicode_object.compactunicodeobject_size", -1, -1, 744),
        SZ(GCSTATE,   "gc.size",                           568, 648, 752),
        FL(GC_COLLECTING, "gc.collecting",                 576, 656, 760),
        SZ(GEN,       "gen_object.size",                    -1, 664, 792),
        FL(GEN_NAME,  "gen_object.gi_name",                 -1, 672, 800),
        FL(GEN_IFRAME, "gen_object.gi_iframe",              -1, 680, 808),
        FL(GEN_FRAME_STATE, "gen_object.gi_frame_state",    -1, 688, 816),
};

/* Bytes of the block to read: the last position used + 8. */
static const uint32_t block_len[NVER] = { 584, 696, 824 };

/* Sizes outside this range are not a struct of a default build (the
 * largest, _PyRuntimeState, is ~350 KiB in 3.15; 3.12's was 460 KiB). */
#define MIN_STRUCT   8u
#define MAX_STRUCT   (4u << 20)

/* A minor version after the last known one (a 3.16 alpha) is read with the
 * last known block layout: the cookie, the version field and the struct
 * size and bound checks guard the read, and the layout built on it is
 * labelled experimental and must pass every check against memory
 * (family.h). */
static bool future(uint32_t v)
{
        return py_major(v) == 3 && py_minor(v) > PY_MINOR_MAX;
}

static int version_index(uint32_t v)
{
        if (future(v))
                return NVER - 1;
        if (py_major(v) != 3 || ((v >> 4) & 0xf) != 0xf)
                return -1;   /* pre-releases changed the block (doc/internals.md §Debug offsets) */
        if (py_minor(v) < 13 || py_minor(v) - 13 >= NVER)
                return -1;
        return (int)py_minor(v) - 13;
}

int debugoffsets_supported(uint32_t version_hex)
{
        return version_index(version_hex) >= 0;
}

int debugoffsets_fill(struct memsrc *m, uint64_t runtime_addr, uint32_t version_hex,
                      struct layout *l, char *detail, size_t detail_len, struct diag *d)
{
        unsigned char block[1024];
        uint64_t v64, ft, bound = 0;
        const char *bound_name = "";
        int vi = version_index(version_hex), rc, n = 0;

        rc = memsrc_read(m, runtime_addr, block, 24);
        if (rc < 0)
                return diag_set(d, rc, "cannot read _Py_DebugOffsets at 0x%llx: %s",
                                (unsigned long long)runtime_addr, strerror(-rc));
        if (memcmp(block, "xdebugpy", 8))
                return diag_set(d, -ENOENT, "no _Py_DebugOffsets cookie at 0x%llx",
                                (unsigned long long)runtime_addr);
        memcpy(&v64, block + 8, 8);
        memcpy(&ft, block + 16, 8);
        if (v64 != version_hex)
                return diag_set(d, -EBADMSG, "_Py_DebugOffsets.version 0x%llx is not the "
                                "detected version 0x%08x", (unsigned long long)v64, version_hex);
        if (ft != 0)
                return diag_set(d, -EOPNOTSUPP, "_Py_DebugOffsets.free_threaded is %llu: a "
                                "free-threaded build", (unsigned long long)ft);
        if (vi < 0)
                return diag_set(d, -EOPNOTSUPP, "the _Py_DebugOffsets layout of CPython "
                                "%u.%u.%u (0x%08x) is unknown (known: final 3.13, 3.14, 3.15)",
                                py_major(version_hex), py_minor(version_hex),
                                py_micro(version_hex), version_hex);
        rc = memsrc_read(m, runtime_addr, block, block_len[vi]);
        if (rc < 0)
                return diag_set(d, rc, "cannot read the %u-byte _Py_DebugOffsets block at "
                                "0x%llx: %s", block_len[vi],
                                (unsigned long long)runtime_addr, strerror(-rc));

        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
                const struct entry *e = &entries[i];
                int pos = e->pos[vi];

                if (pos < 0)
                        continue;
                memcpy(&v64, block + pos, 8);
                if (e->kind == E_SIZE) {
                        if (v64 < MIN_STRUCT || v64 > MAX_STRUCT)
                                return diag_set(d, -EBADMSG, "_Py_DebugOffsets.%s is %llu, "
                                                "not a plausible struct size", e->name,
                                                (unsigned long long)v64);
                        /* A later provider may know the same struct; the
                         * disagreement report compares them. */
                        l->s[e->id].size = (uint32_t)v64;
                        l->s[e->id].present = true;
                        bound = v64;
                        bound_name = e->name;
                        continue;
                }
                if (v64 >= bound)
                        return diag_set(d, -EBADMSG, "_Py_DebugOffsets.%s is %llu, past the "
                                        "end of its struct (%s %llu)", e->name,
                                        (unsigned long long)v64, bound_name,
                                        (unsigned long long)bound);
                l->f[e->id] = (struct layout_field_info){ .offset = (uint32_t)v64,
                                                          .present = true };
                n++;
        }
        l->source = "debug_offsets";
        snprintf(detail, detail_len, "_Py_DebugOffsets of %u.%u at 0x%llx (%d offsets%s)",
                 py_major(version_hex), py_minor(version_hex),
                 (unsigned long long)runtime_addr, n,
                 future(version_hex) ? ", read as 3." PY_STR(PY_MINOR_MAX) "'s block: a future "
                 "version, experimental" : "");
        return 0;
}
