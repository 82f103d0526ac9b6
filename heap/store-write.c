/* store-write.c: heap_store_write() (store.h); the schema is documented
 * in store-schema.c.
 *
 * Writing is one transaction of prepared inserts with the journal and fsyncs
 * off (the temporary file is worthless until renamed, so there is nothing to
 * protect), indexes built after the rows, and one fsync before the rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analysis.h"
#include "config.h"
#include "diag.h"
#include "heap-build.h"
#include "store-internal.h"
#include "store.h"

/* ---- writer ------------------------------------------------------------- */

struct writer {
        sqlite3 *db;
        const char *path;
        struct diag *d;
        uint64_t sigs;       /* the cycles' signatures as written (STORE_SIGS_SEED) */
};

static int wfail(struct writer *w, int rc, const char *what)
{
        int err = store_sqlite_errno(w->db, rc);

        diag_set(w->d, err, "cannot write dump %s: %s: %s", w->path, what, store_db_msg(w->db, rc));
        if (err == -ENOSPC)
                diag_append(w->d, "hint: free some space or write the dump elsewhere");
        return err;
}

static int w_oom(struct writer *w)
{
        return diag_set(w->d, -ENOMEM, "cannot write dump %s: out of memory", w->path);
}

static int wexec(struct writer *w, const char *sql)
{
        int rc = sqlite3_exec(w->db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : wfail(w, rc, "sql");
}

static int wprep(struct writer *w, const char *sql, sqlite3_stmt **st)
{
        int rc = sqlite3_prepare_v2(w->db, sql, -1, st, NULL);

        return rc == SQLITE_OK ? 0 : wfail(w, rc, "prepare");
}


static const char index_sql[] =
        "CREATE INDEX gc_garbage_obj ON gc_garbage(obj_id);\n";
/* About a second per million rows each: only on request. */
static const char big_index_sql[] =
        "CREATE INDEX objects_addr ON objects(addr);\n"
        "CREATE INDEX edges_dst ON edges(dst);\n";

/* Bulk rows go BATCH_ROWS to a statement: one sqlite3_step() per 64 rows
 * instead of per row halves the insert time of millions of short rows.
 * Values wait in cells until a batch is full; the last, partial batch gets
 * a statement of its own size. */
#define BATCH_ROWS 64
#define BATCH_MAX_COLS 12

enum { CELL_NULL, CELL_INT, CELL_TEXT };

struct cell {
        int kind;
        int64_t i;
        const char *s;       /* static or owned by the heap until the flush */
};

struct batch {
        struct writer *w;
        const char *table;
        int ncols, nrows;
        sqlite3_stmt *full;
        struct cell cells[BATCH_ROWS * BATCH_MAX_COLS];
        struct cell *row;    /* the row being filled */
};

static int batch_prepare(struct batch *b, int nrows, sqlite3_stmt **st)
{
        char *sql, *p;
        size_t len = 64 + strlen(b->table) + (size_t)nrows * (4 * (size_t)b->ncols + 4);
        int r;

        sql = malloc(len);
        if (!sql)
                return w_oom(b->w);
        p = sql + sprintf(sql, "INSERT INTO %s VALUES ", b->table);
        for (int i = 0; i < nrows; i++) {
                *p++ = i ? ',' : ' ';
                *p++ = '(';
                for (int c = 0; c < b->ncols; c++) {
                        if (c)
                                *p++ = ',';
                        *p++ = '?';
                }
                *p++ = ')';
        }
        *p = '\0';
        r = wprep(b->w, sql, st);
        free(sql);
        return r;
}

/* On the heap: the cells are too big for the stack. */
static int batch_new(struct writer *w, const char *table, int ncols, struct batch **ret)
{
        struct batch *b = malloc(sizeof(*b));
        int r;

        if (!b)
                return w_oom(w);
        *b = (struct batch){.w = w, .table = table, .ncols = ncols};
        b->row = b->cells;
        r = batch_prepare(b, BATCH_ROWS, &b->full);
        if (r < 0) {
                free(b);
                return r;
        }
        *ret = b;
        return 0;
}

static int batch_step(struct batch *b, sqlite3_stmt *st)
{
        const struct cell *c = b->cells;
        int rc;

        for (int k = 1; k <= b->nrows * b->ncols; k++, c++) {
                if (c->kind == CELL_INT)
                        sqlite3_bind_int64(st, k, c->i);
                else if (c->kind == CELL_TEXT)
                        sqlite3_bind_text(st, k, c->s, -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(st, k);
        }
        rc = store_exec_done(st);
        b->nrows = 0;
        b->row = b->cells;
        return rc == SQLITE_OK ? 0 : wfail(b->w, rc, b->table);
}

static inline void cell_int(struct batch *b, int col, int64_t v)
{
        b->row[col] = (struct cell){.kind = CELL_INT, .i = v};
}

static inline void cell_text(struct batch *b, int col, const char *v)
{
        b->row[col] = (struct cell){.kind = v ? CELL_TEXT : CELL_NULL, .s = v};
}

static inline void cell_null(struct batch *b, int col)
{
        b->row[col].kind = CELL_NULL;
}

/* NULL stands for a value the heap does not have (not analysed, no
 * dominator, no frame...). */
static inline void cell_maybe(struct batch *b, int col, bool have, int64_t v)
{
        if (have)
                cell_int(b, col, v);
        else
                cell_null(b, col);
}

/* The current row is complete. */
static int batch_row(struct batch *b)
{
        b->nrows++;
        b->row += b->ncols;
        return b->nrows == BATCH_ROWS ? batch_step(b, b->full) : 0;
}

/* Writes the partial batch unless r is already an error, and frees b
 * (NULL: batch_new() failed, r says why). */
static int batch_end(struct batch *b, int r)
{
        sqlite3_stmt *st = NULL;

        if (!b)
                return r;
        if (r >= 0 && b->nrows) {
                r = batch_prepare(b, b->nrows, &st);
                if (r >= 0)
                        r = batch_step(b, st);
                sqlite3_finalize(st);
        }
        sqlite3_finalize(b->full);
        free(b);
        return r;
}

static void fill_dump_meta(const struct heap *h, const struct store_write_opts *o,
                           struct dump_meta *dm)
{
        const struct heap_meta *m = &h->meta;
        char host[256] = "", when[64] = "";
        time_t now;
        struct tm tm;

        memset(dm, 0, sizeof(*dm));
        if (!o || !o->hostname) {
                if (gethostname(host, sizeof(host) - 1) < 0)
                        host[0] = '\0';
        }
        if (!o || !o->time_iso) {
                now = time(NULL);
                if (gmtime_r(&now, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        snprintf(dm->format, sizeof(dm->format), "%s", STORE_FORMAT);
        dm->format_version = HEAP_STORE_FORMAT_VERSION;
        dm->min_reader = 1;
        snprintf(dm->tool_version, sizeof(dm->tool_version), "%s",
                 o && o->tool_version ? o->tool_version : PYLEAK_VERSION);
        snprintf(dm->host, sizeof(dm->host), "%s", o && o->hostname ? o->hostname : host);
        snprintf(dm->time_iso, sizeof(dm->time_iso), "%s",
                 o && o->time_iso ? o->time_iso : when);
        dm->pid = m->pid;
        memcpy(dm->python_version, m->python_version, sizeof(dm->python_version));
        dm->python_version[sizeof(dm->python_version) - 1] = '\0';
        dm->python_hex = m->python_hex;
        memcpy(dm->layout_source, m->layout_source, sizeof(dm->layout_source));
        dm->layout_source[sizeof(dm->layout_source) - 1] = '\0';
        memcpy(dm->interp_path, m->interp_path, sizeof(dm->interp_path));
        dm->interp_path[sizeof(dm->interp_path) - 1] = '\0';
        dm->pause_ms = m->pause_ms;
        dm->stop_ms = m->stop_ms;
        dm->fork_ms = m->fork_ms;
        dm->threads = m->threads;
        dm->bytes_copied = (int64_t)m->bytes_copied;
        dm->walk_ms = m->walk_ms;
        dm->analyse_ms = m->analyse_ms;
        dm->interpreters = m->interpreters;
        dm->inconsistencies = (int64_t)m->inconsistencies;
        dm->approximate = m->approximate;
        dm->live_retries = m->live_retries;
        dm->layout_gaps = (int64_t)m->layout_gaps;
        dm->pid_in_namespace = m->pid_in_namespace;
        memcpy(dm->snapshot_mode, m->snapshot_mode, sizeof(dm->snapshot_mode));
        dm->snapshot_mode[sizeof(dm->snapshot_mode) - 1] = '\0';
        dm->symbols_ms = m->symbols_ms;
        memcpy(dm->layout_disagreements, m->layout_disagreements,
               sizeof(dm->layout_disagreements));
        dm->layout_disagreements[sizeof(dm->layout_disagreements) - 1] = '\0';
        snprintf(dm->layout_checks, sizeof(dm->layout_checks), "%s", m->layout_checks);
        snprintf(dm->layout_candidates, sizeof(dm->layout_candidates), "%s",
                 m->layout_candidates);
        snprintf(dm->layout_inferred, sizeof(dm->layout_inferred), "%s", m->layout_inferred);
        snprintf(dm->layout_gapped, sizeof(dm->layout_gapped), "%s", m->layout_gapped);
        dm->layout_experimental = m->layout_experimental;
        dm->analysed = h->analysed;
        dm->nobjs = h->nobjs;
        dm->ntracked = h->ntracked;
        dm->nedges = (int64_t)h->edge_start[h->ntracked];
        dm->nuedges = (int64_t)(h->nedges - h->edge_start[h->ntracked]);
        dm->ntypes = h->ntypes;
        dm->nlabels = h->nlabels;
        dm->ngc_garbage = h->ngc_garbage;
        for (uint32_t i = 0; i < h->nroots; i++)
                dm->nroots += !heap_root_is_computed(&h->roots[i]);
        dm->nthreads = h->nthreads;
        dm->nframes = h->nframes;
        snprintf(dm->checksum, sizeof(dm->checksum), "%016" PRIx64, store_model_checksum(h));
        dm->npreviews = h->npreviews;
        dm->previews_dropped = (int64_t)h->meta.previews_dropped;
        snprintf(dm->previews_checksum, sizeof(dm->previews_checksum), "%016" PRIx64,
                 store_previews_checksum(h));
        for (uint32_t i = 0; h->native && i < h->nobjs; i++)
                dm->nnative += h->native[i] != 0;
        snprintf(dm->native_checksum, sizeof(dm->native_checksum), "%016" PRIx64,
                 store_native_checksum(h));
        dm->rss = m->memory.rss_known ? (int64_t)m->memory.rss : -1;
        dm->arenas_used = m->memory.arenas_known ? (int64_t)m->memory.arenas_used : -1;
        dm->arenas_free = m->memory.arenas_known ? (int64_t)m->memory.arenas_free : -1;
        snprintf(dm->arenas_why, sizeof(dm->arenas_why), "%s", m->memory.arenas_why);
}

/* Every key but meta_checksum, then meta_checksum over what is now in the
 * table (store_meta_checksum()). */
static int write_meta(struct writer *w, const struct dump_meta *dm)
{
        sqlite3_stmt *st = NULL;
        char sum[24];
        uint64_t s = 0;
        int r, rc = SQLITE_OK;

        r = wprep(w, "INSERT INTO meta VALUES (?, ?)", &st);
        if (r < 0)
                return r;
        for (size_t k = 0; k < N_META_KEYS && rc == SQLITE_OK; k++) {
                const struct mkey *mk = &store_meta_keys[k];
                const char *p = (const char *)dm + mk->off;

                if (strcmp(mk->key, "meta_checksum") == 0)
                        continue;
                sqlite3_bind_text(st, 1, mk->key, -1, SQLITE_STATIC);
                if (mk->kind == MK_TEXT) {
                        sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
                } else if (mk->kind == MK_INT) {
                        int64_t v;

                        memcpy(&v, p, sizeof(v));
                        sqlite3_bind_int64(st, 2, v);
                } else {
                        double v;

                        memcpy(&v, p, sizeof(v));
                        sqlite3_bind_double(st, 2, v);
                }
                rc = store_exec_done(st);
        }
        if (rc == SQLITE_OK)
                rc = store_meta_checksum(w->db, N_META_KEYS, &s);
        if (rc == SQLITE_OK) {
                snprintf(sum, sizeof(sum), "%016" PRIx64, s);
                sqlite3_bind_text(st, 1, "meta_checksum", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, sum, -1, SQLITE_TRANSIENT);
                rc = store_exec_done(st);
        }
        sqlite3_finalize(st);
        return rc == SQLITE_OK ? 0 : wfail(w, rc, "meta");
}

/* Tables whose row i is element i of a heap array: only the cells differ. */
struct out_table {
        const char *name;
        int ncols;
        void (*cells)(struct batch *b, const struct heap *h, uint32_t i);
};

static int write_rows(struct writer *w, const struct out_table *t, uint32_t n,
                      const struct heap *h)
{
        struct batch *b = NULL;
        int r = batch_new(w, t->name, t->ncols, &b);

        for (uint32_t i = 0; i < n && r >= 0; i++) {
                t->cells(b, h, i);
                r = batch_row(b);
        }
        return batch_end(b, r);
}

static void gc_state_cells(struct batch *b, const struct heap *h, uint32_t i)
{
        const struct heap_gcstate *g = &h->gc;

        (void)i;
        if (g->unknown) {
                cell_null(b, 0);
                cell_null(b, 2);
        } else {
                cell_int(b, 0, g->enabled);
                cell_int(b, 2, g->debug);
        }
        cell_int(b, 1, g->collecting);
        for (int k = 0; k < 3; k++) {
                cell_int(b, 3 + k, g->thresholds[k]);
                cell_int(b, 6 + k, g->counts[k]);
        }
        cell_int(b, 9, (int64_t)g->frozen);
}

static void type_cells(struct batch *b, const struct heap *h, uint32_t i)
{
        const struct heap_type *t = &h->types[i];

        cell_int(b, 0, i);
        cell_int(b, 1, (int64_t)t->addr);
        cell_text(b, 2, t->module);
        cell_text(b, 3, t->qualname);
        cell_text(b, 4, t->fullname);
        cell_int(b, 5, (int64_t)t->count);
        cell_int(b, 6, (int64_t)t->bytes);
        cell_int(b, 7, (int64_t)t->tracked);
        cell_int(b, 8, t->opaque);
        cell_maybe(b, 9, h->analysed && h->retained, (int64_t)t->retained);
}

static void label_cells(struct batch *b, const struct heap *h, uint32_t i)
{
        cell_int(b, 0, i);
        cell_text(b, 1, h->labels[i]);
}

static void thread_cells(struct batch *b, const struct heap *h, uint32_t i)
{
        const struct heap_thread *t = &h->threads[i];

        cell_int(b, 0, i);
        cell_int(b, 1, (int64_t)t->thread_id);
        cell_int(b, 2, t->native_id);
        cell_int(b, 3, t->first_frame);
        cell_int(b, 4, t->nframes);
}

static void frame_cells(struct batch *b, const struct heap *h, uint32_t i)
{
        const struct heap_frame *f = &h->frames[i];

        cell_int(b, 0, i);
        cell_int(b, 1, f->thread);
        cell_int(b, 2, f->thread < h->nthreads ? i - h->threads[f->thread].first_frame : 0);
        cell_text(b, 3, f->function);
        cell_text(b, 4, f->filename);
        cell_int(b, 5, f->line);
        cell_maybe(b, 6, f->code != UINT32_MAX, f->code);
}

/* Everything but the objects, edges, analysis and roots, whose rows are
 * not simply the heap's arrays. */
static int write_small_tables(struct writer *w, const struct heap *h)
{
        static const struct out_table gc_state = {"gc_state", 10, gc_state_cells};
        static const struct out_table types = {"types", 10, type_cells};
        static const struct out_table labels = {"labels", 2, label_cells};
        static const struct out_table threads = {"threads", 5, thread_cells};
        static const struct out_table frames = {"frames", 7, frame_cells};
        int r;

        r = write_rows(w, &gc_state, 1, h);
        if (r >= 0)
                r = write_rows(w, &types, h->ntypes, h);
        if (r >= 0)
                r = write_rows(w, &labels, h->nlabels, h);
        if (r >= 0)
                r = write_rows(w, &threads, h->nthreads, h);
        if (r >= 0)
                r = write_rows(w, &frames, h->nframes, h);
        return r;
}


static int write_objects(struct writer *w, const struct heap *h)
{
        struct batch *b = NULL;
        uint8_t *rootk = NULL;
        int r;

        if (store_root_kinds(h, &rootk) < 0)
                return w_oom(w);
        r = batch_new(w, "objects", 12, &b);
        for (uint32_t i = 0, k = 0; i < h->nobjs && r >= 0; i++) {
                const struct heap_obj *o = &h->objs[i];
                struct store_obj_cells an;

                store_obj_analysis(h, rootk, i, &an);
                cell_int(b, 0, i);
                cell_int(b, 1, (int64_t)o->addr);
                cell_int(b, 2, o->type);
                cell_text(b, 3, heap_gen_name(o->gen));
                cell_int(b, 4, heap_refcnt(o));
                cell_int(b, 5, (int64_t)o->size);
                cell_int(b, 6, o->flags);
                cell_maybe(b, 7, an.has_retained, (int64_t)an.retained);
                cell_maybe(b, 8, an.has_idom, an.idom);
                cell_text(b, 9, an.root);
                /* previews are sorted by object: one cursor */
                while (k < h->npreviews && h->preview_obj[k] < i)
                        k++;
                cell_text(b, 10, k < h->npreviews && h->preview_obj[k] == i ?
                          h->preview_pool + h->preview_off[k] : NULL);
                cell_maybe(b, 11, heap_native(h, i) != 0, (int64_t)heap_native(h, i));
                r = batch_row(b);
        }
        free(rootk);
        return batch_end(b, r);
}

/* The edges of objects [from, to) into table. */
static int write_edge_rows(struct writer *w, const struct heap *h, const char *table,
                           uint32_t from, uint32_t to)
{
        struct batch *b = NULL;
        int r = batch_new(w, table, 5, &b);

        for (uint32_t i = from; i < to && r >= 0; i++) {
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1] && r >= 0; e++) {
                        uint32_t l = heap_edge_label(h, i, e);

                        cell_int(b, 0, i);
                        cell_int(b, 1, (int64_t)(e - h->edge_start[i]));
                        cell_int(b, 2, h->edge_dst[e]);
                        if (l & HEAP_LABEL_INDEX_BIT) {
                                cell_null(b, 3);
                                cell_int(b, 4, l & ~HEAP_LABEL_INDEX_BIT);
                        } else {
                                cell_int(b, 3, l);
                                cell_null(b, 4);
                        }
                        r = batch_row(b);
                }
        }
        return batch_end(b, r);
}

/* Tracked objects' edges in edges; the untracked ones' (a numpy view's
 * base) in a table of their own, which older readers do not know. */
static int write_edges(struct writer *w, const struct heap *h)
{
        int r = write_edge_rows(w, h, "edges", 0, h->ntracked);

        return r < 0 ? r : write_edge_rows(w, h, "untracked_edges", h->ntracked, h->nobjs);
}

/* A list of object indices into (obj_id) or, with pos, (pos, obj_id). */
static int write_obj_list(struct writer *w, const char *table, const uint32_t *objs,
                          uint32_t n, bool pos)
{
        struct batch *b = NULL;
        int r = batch_new(w, table, pos ? 2 : 1, &b);

        for (uint32_t i = 0; i < n && r >= 0; i++) {
                if (pos)
                        cell_int(b, 0, i);
                cell_int(b, pos, objs[i]);
                r = batch_row(b);
        }
        return batch_end(b, r);
}

/* One cycle set into its two tables.  The cycles go row by row: their
 * signatures are built in one buffer, which a batch's cells cannot point
 * into. */
static int write_cycles(struct writer *w, const struct heap *h, const struct heap_cycles *c,
                        const char *table, const char *members_table)
{
        sqlite3_stmt *cy = NULL;
        struct batch *cm = NULL;
        char sql[128], sbuf[512], *sig = NULL;
        int r, rc = SQLITE_OK;

        snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?,?,?,?,?,?)", table);
        r = wprep(w, sql, &cy);
        if (r < 0)
                return r;
        r = batch_new(w, members_table, 2, &cm);
        for (uint32_t i = 0; i < c->n && r >= 0; i++) {
                int n = heap_cycles_signature(h, c, i, sbuf, sizeof(sbuf));
                const char *sg = sbuf;

                if (n >= (int)sizeof(sbuf)) {
                        free(sig);
                        sig = malloc((size_t)n + 1);
                        if (sig && heap_cycles_signature(h, c, i, sig, (size_t)n + 1) >= 0)
                                sg = sig;
                } else if (n < 0) {
                        sbuf[0] = '\0';
                }
                sqlite3_bind_int64(cy, 1, i);
                sqlite3_bind_int64(cy, 2, c->start[i + 1] - c->start[i]);
                sqlite3_bind_int64(cy, 3, (int64_t)c->bytes[i]);
                sqlite3_bind_int(cy, 4, c->garbage[i]);
                if (c->retained)
                        sqlite3_bind_int64(cy, 5, (int64_t)c->retained[i]);
                else
                        sqlite3_bind_null(cy, 5);
                sqlite3_bind_text(cy, 6, sg, -1, SQLITE_STATIC);
                store_cs_str(&w->sigs, sg);
                rc = store_exec_done(cy);
                if (rc != SQLITE_OK) {
                        r = wfail(w, rc, table);
                        break;
                }
                for (uint32_t m = c->start[i]; m < c->start[i + 1] && r >= 0; m++) {
                        cell_int(cm, 0, i);
                        cell_int(cm, 1, c->members[m]);
                        r = batch_row(cm);
                }
        }
        free(sig);
        sqlite3_finalize(cy);
        return batch_end(cm, r);
}

/* (label_id, idx): a label, an item index, or neither. */
static void cell_label(struct batch *b, int col, uint32_t label)
{
        if (label == HEAP_ROOT_NO_LABEL) {
                cell_null(b, col);
                cell_null(b, col + 1);
        } else if (label & HEAP_LABEL_INDEX_BIT) {
                cell_null(b, col);
                cell_int(b, col + 1, label & ~HEAP_LABEL_INDEX_BIT);
        } else {
                cell_int(b, col, label);
                cell_null(b, col + 1);
        }
}

static int write_roots(struct writer *w, const struct heap *h)
{
        struct batch *b = NULL;
        int r = batch_new(w, "roots", 6, &b);

        for (uint32_t i = 0, k = 0; i < h->nroots && r >= 0; i++) {
                const struct heap_root *rt = &h->roots[i];

                if (heap_root_is_computed(rt))
                        continue; /* objects.root */
                cell_int(b, 0, k++);
                cell_int(b, 1, rt->obj);
                cell_text(b, 2, rt->kind < HEAP_ROOT__COUNT ? store_root_kind_names[rt->kind] : "?");
                cell_label(b, 3, rt->label);
                cell_maybe(b, 5, rt->frame != UINT32_MAX, rt->frame);
                r = batch_row(b);
        }
        return batch_end(b, r);
}

static int write_analysis(struct writer *w, const struct heap *h)
{
        int r;

        if (h->analysed) {
                r = write_cycles(w, h, &h->cycles, "cycles", "cycle_members");
                if (r >= 0)
                        r = write_cycles(w, h, &h->cycles_local, "local_cycles",
                                         "local_cycle_members");
                if (r < 0)
                        return r;
                r = write_obj_list(w, "garbage", h->garbage, h->ngarbage, false);
                if (r < 0)
                        return r;
        }
        return write_obj_list(w, "gc_garbage", h->gc_garbage, h->ngc_garbage, true);
}

static int write_db(struct writer *w, const struct heap *h, const struct store_write_opts *o)
{
        static int (*const tables[])(struct writer *w, const struct heap *h) = {
                write_small_tables, write_objects, write_edges, write_analysis, write_roots,
        };
        struct dump_meta dm;
        char pragmas[512];
        int r;

        /* Nothing to protect until the rename: no journal, no fsync.  A
         * small cache while the rows go in: with no journal SQLite writes
         * full pages out and reuses their buffers, where a cache as big as
         * the file allocates (and faults in) all of it first, which took
         * half the write time at 1M objects.  The indexes get a big one
         * (the sorter's memory), below.  (16 KiB pages measured slower
         * than the default 4 KiB.) */
        snprintf(pragmas, sizeof(pragmas),
                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                 " PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY;"
                 " PRAGMA cache_size=-2048; PRAGMA application_id=%d;"
                 " PRAGMA user_version=%d;",
                 STORE_APP_ID, HEAP_STORE_FORMAT_VERSION);
        r = wexec(w, pragmas);
        if (r < 0)
                return r;
        fill_dump_meta(h, o, &dm);
        r = wexec(w, "BEGIN");
        if (r < 0)
                return r;
        r = wexec(w, store_schema_sql);
        w->sigs = STORE_SIGS_SEED;
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && r >= 0; i++)
                r = tables[i](w, h);
        /* last: the analysis checksum needs the signatures as written */
        snprintf(dm.analysis_checksum, sizeof(dm.analysis_checksum), "%016" PRIx64,
                 h->analysed ? store_analysis_checksum(h, w->sigs) : 0);
        if (r >= 0)
                r = write_meta(w, &dm);
        if (r >= 0)
                r = wexec(w, index_sql);
        if (r >= 0 && o && o->indexes)
                r = wexec(w, "PRAGMA cache_size=-131072");
        if (r >= 0 && o && o->indexes)
                r = wexec(w, big_index_sql);
        if (r >= 0)
                r = wexec(w, "COMMIT");
        return r;
}

/* Moves tmp to path.  Without force, refuses atomically to replace an
 * existing path: renameat2(RENAME_NOREPLACE) where the file system has it,
 * else link() + unlink(), else (FAT, some network file systems) a check and
 * a plain rename, which is the best those can do. */
static int publish(const char *tmp, const char *path, bool force)
{
        struct stat stt;

        if (force)
                return rename(tmp, path) < 0 ? -errno : 0;
#ifdef RENAME_NOREPLACE
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                return -errno;
#endif
        if (link(tmp, path) == 0) {
                unlink(tmp);
                return 0;
        }
        if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
                return -errno;
        if (lstat(path, &stt) == 0)
                return -EEXIST;
        return rename(tmp, path) < 0 ? -errno : 0;
}

static void fsync_dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');
        char *dir;
        int fd;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t)(slash - path));
        if (!dir)
                return;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(dir);
        if (fd >= 0) {
                (void)fsync(fd); /* durability of the rename: best effort */
                close(fd);
        }
}

/* ---- the temporary file, for a signal handler ------------------------- */

static const int tmp_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void heap_store_tmp_unlink(struct store_tmp *t)
{
        int saved = errno;

        if (t && t->armed) {
                unlink(t->path);
                unlink(t->journal);
                unlink(t->wal);
        }
        errno = saved;
}

/* mkostemp() with the guarded signals blocked until t names the file it
 * made: a signal in between would leave the file behind. */
static int make_tmp(char *tmp, struct store_tmp *t)
{
        sigset_t block, old;
        int fd, err;

        if (!t)
                return mkostemp(tmp, O_CLOEXEC);
        sigemptyset(&block);
        for (size_t i = 0; i < sizeof(tmp_signals) / sizeof(tmp_signals[0]); i++)
                sigaddset(&block, tmp_signals[i]);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        fd = mkostemp(tmp, O_CLOEXEC);
        err = errno;
        if (fd >= 0 && strlen(tmp) < sizeof(t->path)) {
                snprintf(t->path, sizeof(t->path), "%s", tmp);
                snprintf(t->journal, sizeof(t->journal), "%s-journal", tmp);
                snprintf(t->wal, sizeof(t->wal), "%s-wal", tmp);
                t->armed = 1;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = err;
        return fd;
}

/* After the file is renamed or removed: a handler running before this
 * unlinks a name that is gone, which is harmless. */
static void disarm_tmp(struct store_tmp *t)
{
        if (t)
                t->armed = 0;
}

static int exists_diag(struct diag *d, const char *path)
{
        diag_set(d, -EEXIST, "cannot write dump %s: the file already exists", path);
        diag_append(d, "hint: pass --force to replace it, or choose another name");
        return -EEXIST;
}

int heap_store_write(const struct heap *h, const char *path, const struct store_write_opts *o,
                     struct diag *d)
{
        struct writer w = {.path = path, .d = d};
        struct stat st, st2;
        bool force = o && o->force;
        char *tmp = NULL;
        int fd = -1, r, rc;

        if (!h || !h->edge_start || !path || !path[0])
                return diag_set(d, -EINVAL, "cannot write dump: no heap or no file name");
        /* Fail before the expensive part; publish() re-checks atomically. */
        if (!force && lstat(path, &st) == 0)
                return exists_diag(d, path);
        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return diag_set(d, -ENOMEM, "cannot write dump %s: out of memory", path);
        fd = make_tmp(tmp, o ? o->tmp : NULL);
        if (fd < 0) {
                r = -errno;
                diag_set(d, r, "cannot create %s: %s", tmp, strerror(-r));
                free(tmp);
                return r;
        }
        /* mkstemp already uses 0600, but a umask could narrow it and a
         * later reader (the same user) must be able to open it. */
        if (fchmod(fd, 0600) < 0) {
                r = -errno;
                diag_set(d, r, "cannot set mode 0600 on %s: %s", tmp, strerror(-r));
                goto fail;
        }

        /* NOFOLLOW: the name is in a directory others may write to. */
        rc = sqlite3_open_v2(tmp, &w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK) {
                r = wfail(&w, rc, "open");
                goto fail;
        }
        r = write_db(&w, h, o);
        if (r < 0)
                goto fail;
        rc = sqlite3_close(w.db);
        w.db = NULL;
        if (rc != SQLITE_OK) {
                r = wfail(&w, rc, "close");
                goto fail;
        }
        /* The rows must be on disk before the name is: otherwise a crash
         * right after the rename could leave an empty dump in its place. */
        if (fsync(fd) < 0) {
                r = -errno;
                diag_set(d, r, "cannot write dump %s: %s", path, strerror(-r));
                goto fail;
        }
        /* What SQLite wrote must be the file mkstemp made, not something
         * swapped in under its name. */
        if (fstat(fd, &st) < 0 || lstat(tmp, &st2) < 0 || st.st_dev != st2.st_dev ||
            st.st_ino != st2.st_ino) {
                r = diag_set(d, -EBUSY, "cannot write dump %s: %s was replaced while writing",
                             path, tmp);
                goto fail;
        }
        close(fd);
        fd = -1;
        r = publish(tmp, path, force);
        if (r < 0) {
                if (r == -EEXIST)
                        exists_diag(d, path);
                else
                        diag_set(d, r, "cannot rename %s to %s: %s", tmp, path, strerror(-r));
                goto fail;
        }
        disarm_tmp(o ? o->tmp : NULL);
        fsync_dir_of(path);
        free(tmp);
        return 0;
fail:
        if (w.db)
                sqlite3_close(w.db);
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        disarm_tmp(o ? o->tmp : NULL);
        free(tmp);
        return r;
}
