/* store-internal.h: what store-write.c and store-read.c share, and nothing
 * outside heap/store-*.c includes.  The schema itself is documented at the
 * top of store-schema.c. */
#ifndef PYLEAK_STORE_INTERNAL_H
#define PYLEAK_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "heap.h"

#define STORE_FORMAT "pyleak-attach-dump"
#define STORE_APP_ID 0x50594c4b /* "PYLK" */

/* ---- meta: one list of keys serves the writer and the reader ---------- */

struct dump_meta {
        char format[32];
        int64_t format_version;
        int64_t min_reader;
        char tool_version[64];
        char host[256];
        char time_iso[64];
        int64_t pid;
        char python_version[sizeof(((struct heap_meta *)0)->python_version)];
        int64_t python_hex;
        char layout_source[sizeof(((struct heap_meta *)0)->layout_source)];
        char interp_path[sizeof(((struct heap_meta *)0)->interp_path)];
        double pause_ms, stop_ms, fork_ms;
        int64_t threads;
        int64_t bytes_copied;
        double walk_ms, analyse_ms;
        int64_t interpreters;
        int64_t inconsistencies;
        int64_t approximate, live_retries, layout_gaps, pid_in_namespace;
        char snapshot_mode[sizeof(((struct heap_meta *)0)->snapshot_mode)];
        double symbols_ms;
        char layout_disagreements[sizeof(((struct heap_meta *)0)->layout_disagreements)];
        int64_t analysed;
        int64_t nobjs, ntracked, nedges, ntypes, nlabels, ngc_garbage;
        int64_t nroots, nthreads, nframes;
        char checksum[24];
        int64_t npreviews, previews_dropped;
        char previews_checksum[24];
        char meta_checksum[24];
        char layout_checks[sizeof(((struct heap_meta *)0)->layout_checks)];
        char layout_candidates[sizeof(((struct heap_meta *)0)->layout_candidates)];
        char layout_inferred[sizeof(((struct heap_meta *)0)->layout_inferred)];
        char layout_gapped[sizeof(((struct heap_meta *)0)->layout_gapped)];
        int64_t layout_experimental;
        int64_t nnative;             /* format 6+: objects with native bytes */
        int64_t nuedges;             /* ... edges of untracked objects */
        char native_checksum[24];
        int64_t rss;                 /* -1: unknown */
        int64_t arenas_used, arenas_free;  /* -1: unknown */
        char arenas_why[sizeof(((struct heap_meta *)0)->memory.arenas_why)];
        char analysis_checksum[24]; /* format 7+ */
};

enum mkind { MK_TEXT, MK_INT, MK_REAL };

struct mkey {
        const char *key;
        enum mkind kind;
        size_t off, len;
        int since;           /* first format_version with this key */
};

/* One list of keys serves the writer and the reader (store-schema.c). */
#define N_META_KEYS 55
extern const struct mkey store_meta_keys[N_META_KEYS];

extern const char *const store_root_kind_names[HEAP_ROOT__COUNT];
extern const char store_schema_sql[];

/* ---- checksum (store-schema.c says why it is built this way) ---------- */

static inline void cs_word(uint64_t *s, uint64_t w)
{
        uint64_t x = *s ^ w;

        *s = ((x << 29) | (x >> 35)) * 0x9e3779b97f4a7c15ULL;
}

void store_cs_bytes(uint64_t *s, const void *buf, size_t n);
void store_cs_str(uint64_t *s, const char *p);
void store_cs_value(uint64_t *s, sqlite3_stmt *st, int col);
uint64_t store_dbl_bits(double v);
/* Everything the snapshot recorded (meta.checksum). */
uint64_t store_model_checksum(const struct heap *h);
/* The previews (meta.previews_checksum). */
uint64_t store_previews_checksum(const struct heap *h);
/* The native bytes (meta.native_checksum, format 6+). */
uint64_t store_native_checksum(const struct heap *h);
/* The analysis columns and tables (meta.analysis_checksum, format 7+) of an
 * analysed heap; sigs: store_cs_str() of every cycle's signature, cycles
 * then local_cycles, in row order (the heap does not keep them). */
uint64_t store_analysis_checksum(const struct heap *h, uint64_t sigs);
#define STORE_SIGS_SEED 0x7369676e73ULL

/* meta.meta_checksum of the meta table in db: an SQLite result code;
 * SQLITE_TOOBIG past max_rows rows. */
int store_meta_checksum(sqlite3 *db, int max_rows, uint64_t *ret);

/* ---- the analysis columns of objects, as the writer records them ------- */

/* Per object, the computed root kind or 0xff; *ret NULL when h has no
 * roots at all.  -ENOMEM. */
int store_root_kinds(const struct heap *h, uint8_t **ret);

struct store_obj_cells {
        bool has_retained, has_idom;    /* else NULL */
        uint64_t retained;
        uint32_t idom;
        const char *root;               /* NULL: none */
};

void store_obj_analysis(const struct heap *h, const uint8_t *rootk, uint32_t i,
                        struct store_obj_cells *c);

/* ---- SQLite ------------------------------------------------------------ */

/* An SQLite result code as a negative errno (the system's where it has one). */
int store_sqlite_errno(sqlite3 *db, int rc);
const char *store_db_msg(sqlite3 *db, int rc);
/* Steps a one-shot statement to completion. */
int store_exec_done(sqlite3_stmt *st);

#endif
