/* Unit tests for symbols/layout.c: name tables and version facts. */
#include <string.h>

#include "layout.h"
#include "tap.h"

static uint32_t hexv(unsigned minor, unsigned micro)
{
        return (3u << 24) | (minor << 16) | (micro << 8) | 0xf0;
}

static void test_names(void)
{
        ok(!strcmp(layout_struct_name(LS_LIST), "LIST"), "struct name LIST");
        ok(!strcmp(layout_struct_dwarf_names(LS_INTERP), "PyInterpreterState|_is"),
           "dwarf names of INTERP");
        ok(!strcmp(layout_field_name(LF_LIST_ITEM), "LIST_ITEM"), "field name LIST_ITEM");
        ok(!strcmp(layout_field_path(LF_RUNTIME_INTERP_HEAD), "interpreters.head"),
           "field path RUNTIME_INTERP_HEAD");
        ok(layout_field_struct(LF_TUPLE_ITEM) == LS_TUPLE, "TUPLE_ITEM belongs to TUPLE");
        ok(layout_field_struct(LF_GCHEAD_PREV) == LS_GCHEAD, "GCHEAD_PREV belongs to GCHEAD");
        ok(!strcmp(layout_field_name((enum layout_field_id)LF__COUNT), "?"),
           "out-of-range field id is safe");

        for (int i = 0; i < LF__COUNT; i++)
                if (layout_field_struct(i) >= LS__COUNT || !layout_field_path(i)[0]) {
                        ok(0, "field %d has a struct and a path", i);
                        return;
                }
        ok(1, "every field has a struct and a path");
}

static void test_init(void)
{
        struct layout l;
        int any = 0;

        memset(&l, 0xff, sizeof(l));
        layout_init(&l, hexv(12, 1));
        for (int i = 0; i < LF__COUNT; i++)
                any |= l.f[i].present;
        for (int i = 0; i < LS__COUNT; i++)
                any |= l.s[i].present;
        ok(!any, "layout_init marks everything absent");
        ok(l.version_hex == hexv(12, 1), "layout_init keeps the version");
}

static void facts(unsigned minor, unsigned micro, bool young, bool gens, struct layout_facts *f)
{
        struct layout l;

        layout_init(&l, hexv(minor, micro));
        l.f[LF_GC_YOUNG].present = young;
        l.f[LF_GC_GENERATIONS].present = gens;
        layout_derive_facts(&l);
        *f = l.facts;
}

static void test_facts(void)
{
        struct layout_facts f;

        facts(8, 18, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_NONE && f.immortal == IMMORTAL_NONE &&
           !f.tagged_stackrefs && !f.static_types_dict_indirect && f.pre_header_size == 0 &&
           f.managed_dict_offset == 0 && f.iframe_owner_first_noncode == 0 &&
           f.gc_design == GC_DESIGN_GENERATIONAL, "3.8 facts");
        facts(10, 13, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_NONE && f.pre_header_size == 0, "3.10 facts");
        facts(11, 7, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_311 && f.managed_dict_offset == -24 &&
           f.managed_values_offset == -32 && f.managed_weakref_offset == 0 &&
           f.pre_header_size == 16 && f.immortal == IMMORTAL_NONE &&
           f.iframe_owner_first_noncode == 3 && !f.static_types_dict_indirect, "3.11 facts");
        facts(12, 1, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_312 && f.managed_dict_offset == -24 &&
           f.managed_values_offset == 0 && f.managed_weakref_offset == -32 &&
           f.immortal == IMMORTAL_312 && f.static_types_dict_indirect && !f.tagged_stackrefs,
           "3.12 facts");
        facts(13, 0, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_313 && f.immortal == IMMORTAL_312 &&
           !f.dict_visits_embedded_values && f.gc_design == GC_DESIGN_GENERATIONAL,
           "3.13.0 facts");
        facts(13, 13, false, true, &f);
        ok(f.dict_visits_embedded_values, "3.13.13 visits embedded values (gh-130327)");
        facts(14, 2, true, false, &f);
        ok(f.gc_design == GC_DESIGN_INCREMENTAL && f.immortal == IMMORTAL_314 &&
           f.tagged_stackrefs && f.dict_visits_embedded_values, "3.14.2 incremental facts");
        facts(14, 2, false, false, &f);
        ok(f.gc_design == GC_DESIGN_INCREMENTAL, "3.14.2 without field names: incremental");
        facts(14, 10, false, true, &f);
        ok(f.gc_design == GC_DESIGN_GENERATIONAL, "3.14.10 generational");
        facts(15, 2, false, true, &f);
        ok(f.managed_dict == MANAGED_DICT_313 && f.iframe_owner_first_noncode == 3 &&
           f.immortal == IMMORTAL_314, "3.15 facts");
}

/* The facts that replaced version checks in heap/: each at the minor
 * version where CPython changed it. */
static void test_facts_heap(void)
{
        static const struct {
                unsigned minor;
                int8_t cleared;
                bool base_visits, gc_by_type, units, ready, zero_digit;
                enum linetable_format lt;
        } want[] = {
                { 8, 4, false, false, false, true, false, LINETABLE_LNOTAB },
                { 9, 4, true, false, false, true, false, LINETABLE_LNOTAB },
                { 10, 4, true, false, true, true, false, LINETABLE_PEP626 },
                { 11, 4, true, true, true, true, true, LINETABLE_LOCATIONS },
                { 12, 4, true, true, true, false, true, LINETABLE_LOCATIONS },
                { 13, 4, true, false, true, false, true, LINETABLE_LOCATIONS },
                { 14, 4, true, false, true, false, true, LINETABLE_LOCATIONS },
                { 15, 5, true, false, true, false, true, LINETABLE_LOCATIONS },
        };
        struct layout_facts f;

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                facts(want[i].minor, 0, false, true, &f);
                ok(f.frame_state_cleared == want[i].cleared &&
                   f.heap_base_visits_type == want[i].base_visits &&
                   f.getsizeof_gc_by_type == want[i].gc_by_type &&
                   f.lasti_in_code_units == want[i].units &&
                   f.str_ready_flag == want[i].ready &&
                   f.long_zero_has_digit == want[i].zero_digit && f.linetable == want[i].lt,
                   "3.%u: frame states, subtype_traverse, getsizeof, f_lasti, line table, "
                   "str ready, int zero", want[i].minor);
        }
}

/* Facts that depend on what a provider measured or on the build variant. */
static void test_facts_providers(void)
{
        struct layout l;

        /* Debug offsets alone give the GC state's size, not its members. */
        layout_init(&l, hexv(14, 2));
        l.s[LS_GCSTATE] = (struct layout_struct_info){ .size = 240, .present = true };
        layout_derive_facts(&l);
        ok(l.facts.gc_design == GC_DESIGN_INCREMENTAL, "3.14 GC state of 240 bytes: incremental");
        layout_init(&l, hexv(14, 10));
        l.s[LS_GCSTATE] = (struct layout_struct_info){ .size = 264, .present = true };
        layout_derive_facts(&l);
        ok(l.facts.gc_design == GC_DESIGN_GENERATIONAL,
           "3.14 GC state of 264 bytes: generational");
        layout_init(&l, hexv(14, 3));
        l.s[LS_GCSTATE] = (struct layout_struct_info){ .size = 264, .present = true };
        layout_derive_facts(&l);
        ok(l.facts.gc_design == GC_DESIGN_GENERATIONAL,
           "the size beats the version rule (a 3.14.3 with 264 bytes is generational)");

        /* gh-130327 backport in Debian's 3.13 */
        layout_init(&l, hexv(13, 5));
        ok(!strcmp(l.variant, ""), "layout_init: upstream variant");
        layout_derive_facts(&l);
        ok(!l.facts.dict_visits_embedded_values, "upstream 3.13.5: dict skips embedded values");
        l.variant = "debian";
        layout_derive_facts(&l);
        ok(l.facts.dict_visits_embedded_values, "debian 3.13.5: dict visits embedded values");
}

int main(void)
{
        test_names();
        test_init();
        test_facts();
        test_facts_heap();
        test_facts_providers();
        return tap_done();
}
