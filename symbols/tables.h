/* tables: the generated layout tables, one per CPython release (and
 * distribution build variant where it matters), embedded at build time.
 *
 * The tables are text files under symbols/tables/, made by
 * symbols/gen/gen-layout-table from a release's own headers (see that
 * script): lines "struct NAME SIZE [from ...]" followed by that struct's
 * "FIELD OFFSET SIZE ELEM_SIZE" lines, with NAME/FIELD the ids of
 * layout-fields.h; plus "version X.Y.Z 0xHEX", optional "variant NAME" and
 * "build-id HEX FILE" header lines, and "verified-dwarf HEX" when every
 * struct was checked against the DWARF of the build with that build-id.  A field a release lacks is not listed.
 *
 * Tables are keyed by the full PY_VERSION_HEX plus the variant ("" for
 * upstream builds, "debian" for Debian's packages, whose patches change
 * layouts: gchead-alignment.diff moves the GC generation heads).  Nothing
 * here reads a target; pyinterp.c decides which table applies and validates
 * it against memory.
 */
#ifndef PYLEAK_TABLES_H
#define PYLEAK_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct layout;

struct layout_table {
        const char *key;          /* "3.11.2-debian", "3.12.1" */
        const char *source;       /* "table:3.11.2-debian" (layout.source) */
        const char *combined_source; /* "debug_offsets+table:3.13.18-debian":
                                     debug offsets over this table */
        const char *family_source;   /* "family:3.13 (table:3.13.5-debian,
                                        verified)": this table standing in
                                        for another build of its minor
                                        version (family.h) */
        const char *family_combined_source; /* debug offsets over that */
        uint32_t version_hex;
        const char *variant;      /* "" upstream, "debian" */
        const char *build_ids;    /* space-separated hex of the binaries the
                                     table was generated for, may be "" */
        const char *verified_build_ids; /* builds whose own DWARF every
                                     struct of the table was checked against
                                     ("verified-dwarf HEX" lines), may be "" */
        const char *text;
};

extern const struct layout_table layout_tables[];
extern const size_t layout_tables_count;

/* The table for this interpreter: first one whose build-id list holds
 * build_id (an exact binary; its version must still be version_hex), else
 * the one keyed by version_hex + variant.  -ENOENT if none. */
int layout_table_lookup(uint32_t version_hex, const char *variant, const char *build_id,
                        const struct layout_table **ret);

/* True when t was generated for the binary with this build-id (its
 * build-id list names it). */
bool layout_table_built_for(const struct layout_table *t, const char *build_id);

/* True when t was generated from, and checked against, the DWARF of the
 * build with this build-id: that DWARF would tell nothing more. */
bool layout_table_verified_for(const struct layout_table *t, const char *build_id);

/* Where a local symbol (one stripping removes: obmalloc.c's statics) sits
 * relative to _PyRuntime in the binary with this build-id, from the
 * table's "runtime-rel BUILD-ID NAME OFFSET" lines, which the generator
 * writes from that very binary's .symtab: 0 and *ret, or -ENOENT (not
 * recorded, or t was not generated for this build). */
int layout_table_runtime_rel(const struct layout_table *t, const char *build_id,
                             const char *name, int64_t *ret);

/* Fills l from table t (every struct and field the table lists; others are
 * left as they were) and sets l->source = t->source.  Names the running
 * layout-fields.h does not know are skipped; *ret_unknown (may be NULL)
 * counts them.  -EBADMSG on a malformed line. */
int layout_table_fill(const struct layout_table *t, struct layout *l, unsigned *ret_unknown);

/* Writes the keys of the tables of one minor version ("3.13.5-debian,
 * 3.13.18-debian") into buf, for "closest supported" hints.  Returns the
 * number of tables listed. */
int layout_tables_of_minor(unsigned major, unsigned minor, char *buf, size_t len);

/* The tables of one minor version, in embedding order (up to max). */
size_t layout_tables_of(unsigned major, unsigned minor, const struct layout_table **out,
                        size_t max);

#endif
