/* layout: name tables generated from layout-fields.h and the version facts.
 *
 * Everything here is derived from the X-macro lists, so adding a field to
 * layout-fields.h needs no change in this file. */
#include "layout.h"

#include <errno.h>
#include <string.h>

static const char *const struct_names[LS__COUNT] = {
#define S_NAME(id, names) [LS_##id] = #id,
        LAYOUT_STRUCTS(S_NAME)
#undef S_NAME
};

static const char *const struct_dwarf_names[LS__COUNT] = {
#define S_DWARF(id, names) [LS_##id] = names,
        LAYOUT_STRUCTS(S_DWARF)
#undef S_DWARF
};

static const char *const field_names[LF__COUNT] = {
#define F_NAME(id, st, path) [LF_##id] = #id,
        LAYOUT_FIELDS(F_NAME)
#undef F_NAME
};

static const char *const field_paths[LF__COUNT] = {
#define F_PATH(id, st, path) [LF_##id] = path,
        LAYOUT_FIELDS(F_PATH)
#undef F_PATH
};

static const enum layout_struct_id field_structs[LF__COUNT] = {
#define F_STRUCT(id, st, path) [LF_##id] = LS_##st,
        LAYOUT_FIELDS(F_STRUCT)
#undef F_STRUCT
};

const char *layout_struct_name(enum layout_struct_id id)
{
        return (unsigned)id < LS__COUNT ? struct_names[id] : "?";
}

const char *layout_struct_dwarf_names(enum layout_struct_id id)
{
        return (unsigned)id < LS__COUNT ? struct_dwarf_names[id] : "";
}

const char *layout_field_name(enum layout_field_id id)
{
        return (unsigned)id < LF__COUNT ? field_names[id] : "?";
}

const char *layout_field_path(enum layout_field_id id)
{
        return (unsigned)id < LF__COUNT ? field_paths[id] : "";
}

enum layout_struct_id layout_field_struct(enum layout_field_id id)
{
        return (unsigned)id < LF__COUNT ? field_structs[id] : LS__COUNT;
}

void layout_init(struct layout *l, uint32_t version_hex)
{
        memset(l, 0, sizeof(*l));
        l->version_hex = version_hex;
        l->source = "none";
        l->variant = "";
}

int layout_write_text(FILE *f, const struct layout *l)
{
        for (int s = 0; s < LS__COUNT; s++) {
                if (!l->s[s].present)
                        continue;
                fprintf(f, "struct %s %u\n", struct_names[s], l->s[s].size);
                for (int i = 0; i < LF__COUNT; i++)
                        if ((int)field_structs[i] == s && l->f[i].present)
                                fprintf(f, "%s %u %u %u\n", field_names[i], l->f[i].offset,
                                        l->f[i].size, l->f[i].elem_size);
        }
        return ferror(f) ? -EIO : 0;
}

static uint32_t fnv(uint32_t h, const char *s)
{
        do
                h = (h ^ (unsigned char)*s) * 16777619u;
        while (*s++);
        return h;
}

uint32_t layout_schema_hash(void)
{
        uint32_t h = 2166136261u;

        for (int s = 0; s < LS__COUNT; s++)
                h = fnv(fnv(h, struct_names[s]), struct_dwarf_names[s]);
        for (int i = 0; i < LF__COUNT; i++)
                h = fnv(fnv(fnv(h, field_names[i]), field_paths[i]),
                        struct_names[field_structs[i]]);
        return h;
}

/* Size of PyGC_Head: from the layout when a provider measured it, else the
 * 16 bytes every default build since 3.8 has (doc/internals.md §GC head). */
static uint32_t gc_head_size(const struct layout *l)
{
        if (l->s[LS_GCHEAD].present && l->s[LS_GCHEAD].size)
                return l->s[LS_GCHEAD].size;
        return 16;
}

void layout_derive_facts(struct layout *l)
{
        struct layout_facts *f = &l->facts;
        uint32_t v = l->version_hex;
        int32_t g = (int32_t)gc_head_size(l);
        const int32_t ptr = 8;   /* LP64 only (x86-64, aarch64) */
        unsigned minor = py_major(v) == 3 ? py_minor(v) : 0;

        memset(f, 0, sizeof(*f));

        if (minor == 11)
                f->managed_dict = MANAGED_DICT_311;
        else if (minor == 12)
                f->managed_dict = MANAGED_DICT_312;
        else if (minor >= 13)
                f->managed_dict = MANAGED_DICT_313;

        /* The managed slots sit in front of the GC head, one pointer each
         * (doc/internals.md §Pre-header): dict right before it, values (3.11) or weakrefs (3.12+)
         * one word further. */
        if (minor >= 11) {
                f->managed_dict_offset = -(g + ptr);
                f->pre_header_size = 2 * (uint32_t)ptr;
        }
        if (minor == 11)
                f->managed_values_offset = -(g + 2 * ptr);
        if (minor >= 12)
                f->managed_weakref_offset = -(g + 2 * ptr);

        /* The field names are the most reliable signal; the version rule
         * covers providers that describe the state without member names
         * (3.14.0-3.14.4 ran the incremental collector, doc/internals.md §GC lists). */
        f->gc_design = GC_DESIGN_GENERATIONAL;
        if (lhas(l, LF_GC_YOUNG) && !lhas(l, LF_GC_GENERATIONS))
                f->gc_design = GC_DESIGN_INCREMENTAL;
        else if (minor == 14 && !lhas(l, LF_GC_GENERATIONS) && l->s[LS_GCSTATE].present &&
                 l->s[LS_GCSTATE].size)
                /* Only the size is known (e.g. from _Py_DebugOffsets): the
                 * incremental state is 240 bytes, the generational one that
                 * 3.14.5 restored 264 (doc/internals.md §Debug offsets, §GC lists). */
                f->gc_design = l->s[LS_GCSTATE].size == 240 ? GC_DESIGN_INCREMENTAL
                                                            : GC_DESIGN_GENERATIONAL;
        else if (minor == 14 && py_micro(v) < 5 && !lhas(l, LF_GC_GENERATIONS))
                f->gc_design = GC_DESIGN_INCREMENTAL;

        if (minor >= 14)
                f->immortal = IMMORTAL_314;
        else if (minor >= 12)
                f->immortal = IMMORTAL_312;

        f->tagged_stackrefs = minor >= 14;
        f->static_types_dict_indirect = minor >= 12;

        /* gh-130327 (dicts visit embedded values they do not own) is in every
         * 3.14 release.  For 3.13 the first upstream patch release carrying
         * it is UNVERIFIED: the changelog places it around 3.13.13, so that
         * is the cut-off used here.  Debian backported it to earlier 3.13
         * builds; a provider that knows better may override this fact. */
        f->io_visits_all = minor >= 12;
        /* obmalloc.c's ARENA_SIZE and POOL_SIZE on 64-bit builds: 3.10
         * (bpo-37448, the radix tree) made them USE_LARGE_ARENAS and
         * USE_LARGE_POOLS.  _debugmallocstats prints "bytes/arena" and the
         * pool size of 3.8-3.13; heap/obmalloc.c checks every arena's
         * ntotalpools against them. */
        f->pymalloc_arena_size = minor >= 10 ? 1u << 20 : minor >= 8 ? 1u << 18 : 0;
        f->pymalloc_pool_size = minor >= 10 ? 1u << 14 : minor >= 8 ? 1u << 12 : 0;
        if (minor >= 14)
                f->dict_visits_embedded_values = true;
        else if (minor == 13 && l->variant && !strcmp(l->variant, "debian"))
                /* Debian's 3.13 packages carry the backport
                 * (traverse-managed-dicts.patch), verified in 3.13.5-2+deb13u5
                 * and 3.13.18-1 (doc/internals.md §Dicts). */
                f->dict_visits_embedded_values = true;
        else if (minor == 13)
                f->dict_visits_embedded_values = py_micro(v) >= 13;   /* UNVERIFIED */

        /* 3.11 has owners 0..2 only, so 3 is already past the end; 3.12 and
         * 3.13 add CSTACK = 3, 3.14 INTERPRETER = 3 (CSTACK = 4), 3.15
         * INTERPRETER = 3.  None of these frames run Python code. */
        if (minor >= 11)
                f->iframe_owner_first_noncode = 3;

        /* 3.15 renumbered the frame states (CLEARED 4 -> 5, EXECUTING
         * 0 -> 4); CLEARED is the last one in every version. */
        f->frame_state_cleared = minor >= 15 ? 5 : 4;
        f->heap_base_visits_type = minor >= 9;
        f->getsizeof_gc_by_type = minor == 11 || minor == 12;
        f->lasti_in_code_units = minor >= 10;
        f->linetable = minor >= 11 ? LINETABLE_LOCATIONS :
                       minor == 10 ? LINETABLE_PEP626 : LINETABLE_LNOTAB;
        f->str_ready_flag = minor < 12;
        f->long_zero_has_digit = minor >= 11;
}

/* Everything walk and decoders read: two layouts that agree on these
 * describe the same memory the same way (the facts derive from them). */
bool layout_equal(const struct layout *a, const struct layout *b)
{
        if (a->version_hex != b->version_hex)
                return false;
        for (int s = 0; s < LS__COUNT; s++)
                if (a->s[s].present != b->s[s].present ||
                    (a->s[s].present && a->s[s].size != b->s[s].size))
                        return false;
        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &a->f[f], *y = &b->f[f];

                if (x->present != y->present)
                        return false;
                if (x->present && (x->offset != y->offset || x->size != y->size ||
                                   x->elem_size != y->elem_size))
                        return false;
        }
        return true;
}
