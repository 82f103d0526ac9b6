/* store-read.c: heap_store_read() and heap_store_info() (store.h); the
 * schema is documented in store-schema.c.  The file is hostile input:
 * every count is bounded by the file's size, every row checked before
 * anything of it is kept. */
#include <errno.h>
#include <fcntl.h>
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
#include "analysis-internal.h"
#include "config.h"
#include "diag.h"
#include "grow.h"
#include "heap-build.h"
#include "store-internal.h"
#include "utf8.h"
#include "store.h"

/* PRAGMA quick_check reads every page; worth it only while it is cheap. */
#define QUICK_CHECK_MAX_BYTES (16u << 20)
#define META_MAX_ROWS 4096

/* ---- reader ------------------------------------------------------------- */

struct reader {
        const char *path;
        sqlite3 *db;
        struct diag *d;
        off_t size;
        struct dump_meta dm;
        /* the analysis columns of objects as stored: retained, idom, root
         * (store-schema.c store_obj_analysis()), hashed while reading */
        uint64_t obj_an[3];
        /* format 7+, analysed: the stored analysis is loaded, not
         * recomputed (load_analysis()); objects.retained and idom land here */
        bool load_an;
        uint64_t *an_retained;
        uint32_t *an_idom;
        uint64_t nan_retained;          /* rows whose retained is not NULL */
        uint64_t sigs;                  /* the signatures read (STORE_SIGS_SEED) */
};

static const char damaged_hint[] =
        "the file changed after it was written (an interrupted copy, a disk error, or rows"
        " edited by hand); take a new dump";

static int damaged(struct reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int damaged(struct reader *rd, const char *fmt, ...)
{
        char why[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        diag_set(rd->d, -EBADMSG, "%s is damaged (%s)", rd->path, why);
        diag_append(rd->d, "hint: %s", damaged_hint);
        return -EBADMSG;
}

static int rd_oom(struct reader *rd)
{
        return diag_set(rd->d, -ENOMEM, "cannot read dump %s: out of memory", rd->path);
}

/* An SQLite failure while reading: damage unless it is the system's doing. */
static int rfail(struct reader *rd, int rc)
{
        int err = store_sqlite_errno(rd->db, rc);
        const char *msg = store_db_msg(rd->db, rc);

        if (err == -ENOMEM)
                return rd_oom(rd);
        if (err == -EBUSY || err == -EACCES || err == -EROFS ||
            ((rc & 0xff) == SQLITE_IOERR && err != -EIO) || (rc & 0xff) == SQLITE_CANTOPEN)
                return diag_set(rd->d, err, "cannot read dump %s: %s", rd->path, msg);
        diag_set(rd->d, -EBADMSG, "%s is damaged (truncated or corrupt): %s", rd->path, msg);
        diag_append(rd->d, "hint: %s", damaged_hint);
        return -EBADMSG;
}

static int not_dump(struct reader *rd, const char *why)
{
        diag_set(rd->d, -EMEDIUMTYPE, "%s is not a pyleak-attach dump (%s)", rd->path, why);
        return -EMEDIUMTYPE;
}

static int rprep(struct reader *rd, const char *sql, sqlite3_stmt **st)
{
        int rc = sqlite3_prepare_v2(rd->db, sql, -1, st, NULL);

        if (rc == SQLITE_OK)
                return 0;
        /* After the format check, a missing table or column is damage too
         * (dropped by hand, or a schema page destroyed). */
        if ((rc & 0xff) == SQLITE_ERROR)
                return damaged(rd, "%s", sqlite3_errmsg(rd->db));
        return rfail(rd, rc);
}

static inline uint32_t be32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Looks at the file before SQLite does: SQLite takes an empty file for a
 * new database and reads past a truncated end as zeros. */
static int check_header(struct reader *rd)
{
        unsigned char hdr[100] = {0};
        struct stat st;
        uint32_t pgsz, npages;
        ssize_t n;
        int fd, r;

        fd = open(rd->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                return diag_set(rd->d, r, "cannot open dump %s: %s", rd->path, strerror(-r));
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return diag_set(rd->d, r, "cannot open dump %s: %s", rd->path, strerror(-r));
        }
        if (S_ISDIR(st.st_mode)) {
                close(fd);
                return diag_set(rd->d, -EISDIR, "cannot open dump %s: it is a directory",
                                rd->path);
        }
        rd->size = st.st_size;
        do
                n = pread(fd, hdr, sizeof(hdr), 0);
        while (n < 0 && errno == EINTR);
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return diag_set(rd->d, r, "cannot read dump %s: %s", rd->path, strerror(-r));
        if (n == 0)
                return not_dump(rd, "empty file");
        if (memcmp(hdr, "SQLite format 3", 16) != 0 || (size_t)n < sizeof(hdr))
                return n < (ssize_t)sizeof(hdr) && n >= 16 &&
                                       memcmp(hdr, "SQLite format 3", 16) == 0
                               ? damaged(rd, "truncated: %zd bytes", n)
                               : not_dump(rd, "not an SQLite database");
        if (be32(hdr + 68) != STORE_APP_ID)
                return not_dump(rd, "a foreign SQLite database");
        pgsz = (uint32_t)hdr[16] << 8 | hdr[17];
        if (pgsz == 1)
                pgsz = 65536;
        npages = be32(hdr + 28);
        /* The page count is trustworthy only when the header says so. */
        if (be32(hdr + 24) == be32(hdr + 92) && npages &&
            (uint64_t)rd->size < (uint64_t)pgsz * npages)
                return damaged(rd, "truncated: %jd of %" PRIu64 " bytes", (intmax_t)rd->size,
                               (uint64_t)pgsz * npages);
        return 0;
}

static int open_db(struct reader *rd)
{
        int rc, r;

        r = check_header(rd);
        if (r < 0)
                return r;
        rc = sqlite3_open_v2(rd->path, &rd->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return rfail(rd, rc);
        /* The file is input: do not let its schema run functions with side
         * effects, and let SQLite check cells more strictly. */
        sqlite3_db_config(rd->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(rd->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        /* Every table is read once, in order: a small cache recycles its
         * buffers, where a big one allocated a fresh one per page read */
        rc = sqlite3_exec(rd->db, "PRAGMA cell_size_check=ON; PRAGMA cache_size=-2048;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return rfail(rd, rc);
        return 0;
}

static const char *const dump_tables[] = {
        "meta", "gc_state", "types", "objects", "labels", "edges",
        "cycles", "cycle_members", "garbage", "gc_garbage", "local_cycles",
        "local_cycle_members", "roots", "threads", "frames",
};
#define N_DUMP_TABLES (sizeof(dump_tables) / sizeof(dump_tables[0]))

/* ---- reading a table ---------------------------------------------------
 * Every table is read the same way: one statement, every row checked before
 * anything of it is kept, never more rows than meta counts (the counts size
 * the arrays, and a hostile file must not run past them), and a failed step
 * told apart from damage by rfail().  What a table's reader keeps to itself
 * is its SQL, its column checks and where the values go: a row callback. */

static bool col_is_int(sqlite3_stmt *st, int c)
{
        return sqlite3_column_type(st, c) == SQLITE_INTEGER;
}

/* A column's type and, when an integer, its value (else 0), for the tables
 * of millions of rows: one call into SQLite per cell instead of two. */
static inline int col_int(sqlite3_stmt *st, int c, int64_t *v)
{
        sqlite3_value *x = sqlite3_column_value(st, c);
        int type = sqlite3_value_type(x);

        *v = type == SQLITE_INTEGER ? sqlite3_value_int64(x) : 0;
        return type;
}

/* What a row callback returns; negative: failed, with the diag set. */
enum {
        ROW_NEXT,
        ROW_STOP,       /* counted, and the rows after it are not wanted */
        ROW_MALFORMED,  /* read_rows() names the table and the row */
};

/* What is fixed about a table's reading. */
struct table {
        const char *name;
        int (*row)(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx);
        bool numbered;  /* column 0 must be the row's position: a gap is a lost row */
        const char *sql;
};

/* Calls t->row for each row, n counting from 0, and refuses any row past
 * the first max (max < 0: meta does not count this table's rows).  *ret_n
 * (may be NULL): the rows stepped. */
static int read_rows(struct reader *rd, const struct table *t, int64_t max, void *ctx,
                     int64_t *ret_n)
{
        sqlite3_stmt *st = NULL;
        int64_t n = 0;
        int r, rc;

        r = rprep(rd, t->sql, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if ((max >= 0 && n >= max) ||
                    (t->numbered && (!col_is_int(st, 0) || sqlite3_column_int64(st, 0) != n)))
                        r = ROW_MALFORMED;
                else
                        r = t->row(rd, st, n, ctx);
                if (r == ROW_MALFORMED)
                        r = damaged(rd, "%s row %" PRId64 " is malformed", t->name, n);
                if (r < 0)
                        break;
                n++;
                if (r == ROW_STOP)
                        break;
        }
        /* rfail() reads the message of the connection's last call: no
         * finalize before it */
        if (r == ROW_NEXT)
                r = rc == SQLITE_DONE ? 0 : rfail(rd, rc);
        else if (r == ROW_STOP)
                r = 0;
        sqlite3_finalize(st);
        if (r >= 0 && ret_n)
                *ret_n = n;
        return r;
}

static int table_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const char *name = (const char *)sqlite3_column_text(st, 0);
        unsigned *mask = ctx;

        (void)rd;
        (void)n;
        for (size_t i = 0; name && i < N_DUMP_TABLES; i++)
                if (strcmp(name, dump_tables[i]) == 0)
                        *mask |= 1u << i;
        return ROW_NEXT;
}

/* Which of our names are real tables.  A view with our name could make a
 * hostile file produce endless rows. */
static int check_tables(struct reader *rd, unsigned *ret_mask)
{
        static const struct table schema = {
                "sqlite_schema", table_row, false,
                "SELECT name FROM sqlite_schema WHERE type = 'table'",
        };
        unsigned mask = 0;
        int r = read_rows(rd, &schema, -1, &mask, NULL);

        if (r < 0)
                return r;
        *ret_mask = mask;
        return 0;
}

/* The SQLite type each meta key had (0: absent). */
struct meta_ctx {
        int type[N_META_KEYS];
};

enum { MK_FORMAT, MK_FORMAT_VERSION, MK_MIN_READER }; /* their store_meta_keys slots */

static bool meta_kind_ok(const struct mkey *mk, int type)
{
        switch (mk->kind) {
        case MK_TEXT:
                return type == SQLITE_TEXT;
        case MK_INT:
                return type == SQLITE_INTEGER;
        default:
                return type == SQLITE_FLOAT || type == SQLITE_INTEGER;
        }
}

static int meta_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int type = sqlite3_column_type(st, 1);
        struct meta_ctx *c = ctx;

        if (n >= META_MAX_ROWS)
                return damaged(rd, "meta table has more than %d rows", META_MAX_ROWS);
        for (size_t k = 0; key && k < N_META_KEYS; k++) {
                const struct mkey *mk = &store_meta_keys[k];
                char *p = (char *)&rd->dm + mk->off;

                if (strcmp(key, mk->key) != 0)
                        continue;
                /* a key twice: the second could say anything */
                if (c->type[k])
                        return damaged(rd, "meta key '%s' appears twice", mk->key);
                c->type[k] = type;
                if (!meta_kind_ok(mk, type))
                        break;
                if (mk->kind == MK_TEXT) {
                        const char *v = (const char *)sqlite3_column_text(st, 1);

                        snprintf(p, mk->len, "%s", v ? v : "");
                } else if (mk->kind == MK_INT) {
                        int64_t v = sqlite3_column_int64(st, 1);

                        memcpy(p, &v, sizeof(v));
                } else {
                        double v = sqlite3_column_double(st, 1);

                        memcpy(p, &v, sizeof(v));
                }
                break;
        }
        return ROW_NEXT;
}

static const char *type_name(int type)
{
        switch (type) {
        case SQLITE_INTEGER:
                return "an integer";
        case SQLITE_FLOAT:
                return "a real number";
        case SQLITE_TEXT:
                return "text";
        case SQLITE_BLOB:
                return "a blob";
        default:
                return "NULL";
        }
}

/* format_version and min_reader decide how the rest is read: integers in
 * range, or the file is damaged; a min_reader above this build's format
 * is a file for a newer pyleak-attach, not damage. */
static int check_version(struct reader *rd, const struct meta_ctx *c)
{
        const struct dump_meta *dm = &rd->dm;

        for (int k = MK_FORMAT_VERSION; k <= MK_MIN_READER; k++) {
                if (!c->type[k])
                        return damaged(rd, "meta key '%s' missing", store_meta_keys[k].key);
                if (c->type[k] != SQLITE_INTEGER)
                        return damaged(rd, "meta %s is %s, not an integer",
                                       store_meta_keys[k].key, type_name(c->type[k]));
        }
        if (dm->format_version < 1 || dm->format_version > INT_MAX)
                return damaged(rd, "meta format_version %" PRId64 " is out of range (1 to %d)",
                               dm->format_version, INT_MAX);
        if (dm->min_reader < 1 || dm->min_reader > dm->format_version)
                return damaged(rd, "meta min_reader %" PRId64 " is out of range (1 to"
                               " format_version %" PRId64 ")", dm->min_reader,
                               dm->format_version);
        if (dm->min_reader > HEAP_STORE_FORMAT_VERSION) {
                diag_set(rd->d, -EPROTONOSUPPORT,
                         "%s needs a newer pyleak-attach: it is a format %" PRId64
                         " dump that only readers of format %" PRId64
                         " or later understand, and this pyleak-attach (%s) reads formats"
                         " 1 to %d",
                         rd->path, dm->format_version, dm->min_reader, PYLEAK_VERSION,
                         HEAP_STORE_FORMAT_VERSION);
                diag_append(rd->d, "hint: open it with a newer pyleak-attach, or take the"
                            " dump again with this one");
                return -EPROTONOSUPPORT;
        }
        return 0;
}

/* Present in every format-4+ file, and checked whenever present: lowering
 * format_version does not skip it. */
static int check_meta_checksum(struct reader *rd, const struct meta_ctx *c)
{
        size_t k = 0;
        char sum[24];
        uint64_t s;
        int rc;

        while (k < N_META_KEYS && strcmp(store_meta_keys[k].key, "meta_checksum") != 0)
                k++;
        if (k == N_META_KEYS || !c->type[k])
                return 0;
        rc = store_meta_checksum(rd->db, META_MAX_ROWS, &s);
        if (rc != SQLITE_OK)
                return rfail(rd, rc);
        snprintf(sum, sizeof(sum), "%016" PRIx64, s);
        if (strcmp(sum, rd->dm.meta_checksum) != 0)
                return damaged(rd, "meta_checksum mismatch: the meta rows say %s, meta_checksum"
                               " says %s (a fact in meta was changed)", sum,
                               rd->dm.meta_checksum);
        return 0;
}

static int read_meta(struct reader *rd)
{
        static const struct table meta = {"meta", meta_row, false, "SELECT key, value FROM meta"};
        struct dump_meta *dm = &rd->dm;
        struct meta_ctx c = {{0}};
        unsigned mask = 0;
        int r;

        r = check_tables(rd, &mask);
        if (r < 0)
                return r;
        if (!(mask & 1))
                return not_dump(rd, "a foreign SQLite database: no meta table");
        memset(dm, 0, sizeof(*dm));
        r = read_rows(rd, &meta, -1, &c, NULL);
        if (r < 0)
                return r;
        if (c.type[MK_FORMAT] != SQLITE_TEXT || strcmp(dm->format, STORE_FORMAT) != 0)
                return not_dump(rd, "a foreign SQLite database");
        r = check_version(rd, &c);
        if (r < 0)
                return r;
        for (size_t k = 0; k < N_META_KEYS; k++)
                if (!meta_kind_ok(&store_meta_keys[k], c.type[k]) &&
                    store_meta_keys[k].since <= dm->format_version)
                        return damaged(rd, "meta key '%s' missing or of the wrong type",
                                       store_meta_keys[k].key);
        r = check_meta_checksum(rd, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < N_DUMP_TABLES; i++)
                if (!(mask & (1u << i)))
                        return damaged(rd, "table '%s' missing", dump_tables[i]);
        return 0;
}

/* Bounds the meta counts by what the file can hold, so a corrupt count
 * cannot steer allocations or loops: every row takes at least a byte. */
static int check_meta_counts(struct reader *rd)
{
        const struct dump_meta *dm = &rd->dm;
        const int64_t cap = rd->size;

        if (dm->nobjs < 0 || dm->nobjs > cap || dm->nobjs > UINT32_MAX / 2 ||
            dm->ntracked < 0 || dm->ntracked > dm->nobjs || dm->nedges < 0 ||
            dm->nedges > cap || dm->ntypes < 0 || dm->ntypes > cap ||
            dm->ntypes > UINT32_MAX / 2 || dm->nlabels < 0 || dm->nlabels > cap ||
            dm->nlabels > UINT32_MAX / 2 || dm->ngc_garbage < 0 || dm->ngc_garbage > cap ||
            dm->nroots < 0 || dm->nroots > cap || dm->nthreads < 0 || dm->nthreads > cap ||
            dm->nframes < 0 || dm->nframes > cap || dm->npreviews < 0 ||
            dm->npreviews > cap || dm->npreviews > dm->nobjs || dm->previews_dropped < 0 ||
            dm->nuedges < 0 || dm->nuedges > cap || dm->nnative < 0 || dm->nnative > dm->nobjs)
                return damaged(rd, "implausible row counts in meta");
        if (dm->format_version >= 6 && (dm->rss < -1 || dm->arenas_used < -1 ||
                                        dm->arenas_free < -1))
                return damaged(rd, "implausible memory figures in meta");
        if (dm->pid < INT_MIN || dm->pid > INT_MAX || dm->threads < INT_MIN ||
            dm->threads > INT_MAX || dm->interpreters < INT_MIN || dm->interpreters > INT_MAX ||
            dm->python_hex < 0 || dm->python_hex > UINT32_MAX)
                return damaged(rd, "implausible values in meta");
        if (dm->analysed < 0 || dm->analysed > 1 || dm->approximate < 0 || dm->approximate > 1 ||
            dm->live_retries < 0 || dm->live_retries > UINT32_MAX || dm->inconsistencies < 0 ||
            dm->layout_gaps < 0 || dm->bytes_copied < 0 || dm->pid_in_namespace < INT_MIN ||
            dm->pid_in_namespace > INT_MAX)
                return damaged(rd, "implausible values in meta");
        /* format 3 has fork_ms outside both checksums: bounded here too */
        if (!(dm->fork_ms >= 0 && dm->fork_ms <= dm->pause_ms))
                return damaged(rd, "implausible fork_ms in meta");
        return 0;
}

static int quick_check(struct reader *rd)
{
        sqlite3_stmt *st = NULL;
        int r, rc;

        if (rd->size > (off_t)QUICK_CHECK_MAX_BYTES)
                return 0;
        r = rprep(rd, "PRAGMA quick_check(1)", &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *v = (const char *)sqlite3_column_text(st, 0);

                if (!v || strcmp(v, "ok") != 0) {
                        r = damaged(rd, "integrity check: %s", v ? v : "?");
                        sqlite3_finalize(st);
                        return r;
                }
                rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
        return rc == SQLITE_OK || rc == SQLITE_DONE ? 0 : rfail(rd, rc);
}

/* A builder error while loading: a duplicate address, an out-of-order
 * edge, an unknown type...: the rows contradict each other. */
static int build_fail(struct reader *rd, int r, const char *what, uint64_t row)
{
        if (r == -ENOMEM)
                return rd_oom(rd);
        return damaged(rd, "%s row %" PRIu64 " is inconsistent", what, row);
}

static int type_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        const char *mod = (const char *)sqlite3_column_text(st, 2);
        const char *qn = (const char *)sqlite3_column_text(st, 3);
        const char *fn = (const char *)sqlite3_column_text(st, 4);
        uint32_t idx;
        int r;

        if (!col_is_int(st, 1) || !mod || !qn || !fn)
                return ROW_MALFORMED;
        r = heap_intern_type(h, (uint64_t)sqlite3_column_int64(st, 1), mod, qn,
                             sqlite3_column_int(st, 5) != 0, &idx);
        /* a dump written before names were kept as valid UTF-8 may hold
         * bytes the model now replaces (utf8.h): only a valid name must
         * match exactly */
        if (r < 0 || idx != n ||
            (strcmp(h->types[idx].fullname, fn) != 0 && utf8_valid(fn, strlen(fn))))
                return build_fail(rd, r < 0 ? r : -EINVAL, "types", (uint64_t)n);
        return ROW_NEXT;
}

static const struct table types_table = {
        "types", type_row, true,
        "SELECT type_id, addr, module, qualname, fullname, opaque FROM types ORDER BY type_id",
};

static int label_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        const char *text = (const char *)sqlite3_column_text(st, 1);
        uint32_t idx;
        int r;

        if (!text)
                return ROW_MALFORMED;
        r = heap_intern_label(h, text, &idx);
        if (r < 0 || idx != n)
                return build_fail(rd, r < 0 ? r : -EINVAL, "labels", (uint64_t)n);
        return ROW_NEXT;
}

static const struct table labels_table = {
        "labels", label_row, true, "SELECT label_id, text FROM labels ORDER BY label_id",
};

static int parse_gen(const char *s)
{
        if (!s)
                return -1;
        for (int g = 0; g < HEAP_GEN__COUNT; g++)
                if (strcmp(s, heap_gen_name(g)) == 0)
                        return g;
        return -1;
}

/* The analysis columns are hashed, not kept: the analysis is recomputed
 * after the load and check_analysis() hashes what the writer would have
 * written from it.  The type goes in too: 48 and '48' differ. */
static void hash_stored_analysis(struct reader *rd, sqlite3_stmt *st)
{
        for (int c = 0; c < 3; c++)
                store_cs_value(&rd->obj_an[c], st, 7 + c);
}

/* Format 7+: objects.retained and idom as the analysis will hold them.
 * Bounds only: the values are the analysis checksum's business. */
static int keep_stored_analysis(struct reader *rd, sqlite3_stmt *st, int64_t n)
{
        int64_t ret, idom;
        int tr = col_int(st, 7, &ret), ti = col_int(st, 8, &idom);

        /* retained is a uint64_t as SQLite's int64 (as the writer binds it) */
        if ((tr != SQLITE_NULL && tr != SQLITE_INTEGER) ||
            (ti != SQLITE_NULL && (ti != SQLITE_INTEGER || idom < 0 || idom >= rd->dm.nobjs ||
                                   idom == n)))
                return -EINVAL;
        rd->an_retained[n] = (uint64_t)ret;
        rd->nan_retained += tr != SQLITE_NULL;
        rd->an_idom[n] = ti == SQLITE_NULL ? UINT32_MAX : (uint32_t)idom;
        return 0;
}

struct objects_ctx {
        struct heap *h;
        bool untracked;      /* past the tracked objects */
};

static int object_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct objects_ctx *c = ctx;
        struct heap *h = c->h;
        int gen = parse_gen((const char *)sqlite3_column_text(st, 3));
        int64_t addr, type, refcnt, size, flags;
        const char *pv;
        int r, pvtype;

        if (col_int(st, 1, &addr) != SQLITE_INTEGER || col_int(st, 2, &type) != SQLITE_INTEGER ||
            col_int(st, 4, &refcnt) != SQLITE_INTEGER || col_int(st, 5, &size) != SQLITE_INTEGER ||
            col_int(st, 6, &flags) != SQLITE_INTEGER || gen < 0 || type < 0 ||
            type >= h->ntypes || flags < 0 || flags > UINT8_MAX)
                return ROW_MALFORMED;
        if (gen == HEAP_GEN_UNTRACKED && !c->untracked) {
                heap_mark_tracked_done(h);
                c->untracked = true;
        }
        r = heap_add_object(h, (uint64_t)addr, (uint32_t)type, gen, refcnt, (uint64_t)size,
                            (uint8_t)flags, NULL);
        if (r < 0)
                return build_fail(rd, r, "objects", (uint64_t)n);
        hash_stored_analysis(rd, st);
        if (rd->load_an && keep_stored_analysis(rd, st, n) < 0)
                return ROW_MALFORMED;
        if (rd->dm.format_version >= 6 && sqlite3_column_type(st, 11) != SQLITE_NULL) {
                int64_t nb = sqlite3_column_int64(st, 11);

                if (!col_is_int(st, 11) || nb <= 0)
                        return damaged(rd, "objects row %" PRId64 " has malformed native bytes",
                                       n);
                r = heap_set_native(h, (uint32_t)n, (uint64_t)nb);
                if (r < 0)
                        return build_fail(rd, r, "objects", (uint64_t)n);
        }
        /* the type before the text: reading converts it */
        pvtype = rd->dm.format_version >= 2 ? sqlite3_column_type(st, 10) : SQLITE_NULL;
        if (pvtype == SQLITE_NULL)
                return ROW_NEXT;
        pv = pvtype == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, 10) : NULL;
        if (!pv)
                return damaged(rd, "objects row %" PRId64 " has a malformed preview", n);
        r = heap_set_preview(h, (uint32_t)n, pv);
        if (r == -ENOSPC)
                return damaged(rd, "previews exceed their size cap");
        return r < 0 ? build_fail(rd, r, "objects", (uint64_t)n) : ROW_NEXT;
}

static int read_objects(struct reader *rd, struct heap *h)
{
        static const struct table objects = {
                "objects", object_row, true,
                "SELECT obj_id, addr, type_id, gen, refcnt, size, flags, retained, idom, root,"
                " preview FROM objects ORDER BY obj_id",
        };
        /* format 6 adds the native column */
        static const struct table objects_v6 = {
                "objects", object_row, true,
                "SELECT obj_id, addr, type_id, gen, refcnt, size, flags, retained, idom, root,"
                " preview, native FROM objects ORDER BY obj_id",
        };
        /* format 1 has no preview column */
        static const struct table objects_v1 = {
                "objects", object_row, true,
                "SELECT obj_id, addr, type_id, gen, refcnt, size, flags, retained, idom, root"
                " FROM objects ORDER BY obj_id",
        };
        struct objects_ctx c = {.h = h};
        int r = read_rows(rd, rd->dm.format_version >= 6 ? &objects_v6 :
                          rd->dm.format_version >= 2 ? &objects : &objects_v1, rd->dm.nobjs,
                          &c, NULL);

        heap_mark_tracked_done(h);
        return r;
}

/* After read_objects: the previews it restored against the meta. */
static int check_previews(struct reader *rd, struct heap *h)
{
        char sum[24];

        if (rd->dm.format_version < 2)
                return 0;
        if (h->npreviews != rd->dm.npreviews)
                return damaged(rd, "objects hold %u previews, meta says %" PRId64, h->npreviews,
                               rd->dm.npreviews);
        h->meta.previews_dropped = (uint64_t)rd->dm.previews_dropped;
        snprintf(sum, sizeof(sum), "%016" PRIx64, store_previews_checksum(h));
        if (strcmp(sum, rd->dm.previews_checksum) != 0)
                return damaged(rd, "previews checksum mismatch: rows say %s, meta says %s", sum,
                               rd->dm.previews_checksum);
        return 0;
}

/* After read_objects: the native bytes it restored against the meta. */
static int check_native(struct reader *rd, struct heap *h)
{
        char sum[24];
        int64_t n = 0;

        if (rd->dm.format_version < 6)
                return 0;
        for (uint32_t i = 0; h->native && i < h->nobjs; i++)
                n += h->native[i] != 0;
        if (n != rd->dm.nnative)
                return damaged(rd, "objects hold %" PRId64 " native sizes, meta says %" PRId64, n,
                               rd->dm.nnative);
        snprintf(sum, sizeof(sum), "%016" PRIx64, store_native_checksum(h));
        if (strcmp(sum, rd->dm.native_checksum) != 0)
                return damaged(rd, "native bytes checksum mismatch: rows say %s, meta says %s",
                               sum, rd->dm.native_checksum);
        return 0;
}

struct edges_ctx {
        struct heap *h;
        bool untracked;      /* untracked_edges: sources past ntracked */
        int64_t prev_src, next_ord;
};

static int edge_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct edges_ctx *c = ctx;
        struct heap *h = c->h;
        int64_t src = 0, ord = 0, dst = 0, lid, idx, label;
        bool ints = col_int(st, 0, &src) == SQLITE_INTEGER &&
                    col_int(st, 1, &ord) == SQLITE_INTEGER &&
                    col_int(st, 2, &dst) == SQLITE_INTEGER;
        int tl = col_int(st, 3, &lid), ti = col_int(st, 4, &idx);
        int r;

        if (src != c->prev_src)
                c->next_ord = 0;
        if (tl == SQLITE_NULL)
                label = ti != SQLITE_INTEGER || idx < 0 || idx > INT32_MAX
                                ? -1 : (int64_t)heap_label_index((uint32_t)idx);
        else
                label = tl != SQLITE_INTEGER || lid < 0 || lid >= h->nlabels ||
                                ti != SQLITE_NULL ? -1 : lid;
        /* ord must run 0, 1, 2... within each source: a gap is a lost row */
        if (!ints || src < (c->untracked ? h->ntracked : 0) ||
            src >= (c->untracked ? h->nobjs : h->ntracked) || src < c->prev_src ||
            ord != c->next_ord || dst < 0 ||
            dst >= h->nobjs || label < 0)
                return ROW_MALFORMED;
        r = heap_add_edge(h, (uint32_t)src, (uint32_t)dst, (uint32_t)label);
        if (r < 0)
                return build_fail(rd, r, "edges", (uint64_t)n);
        c->prev_src = src;
        c->next_ord = ord + 1;
        return ROW_NEXT;
}

static int read_edges(struct reader *rd, struct heap *h)
{
        static const struct table edges = {
                "edges", edge_row, false,
                "SELECT src, ord, dst, label_id, idx FROM edges ORDER BY src, ord",
        };
        /* format 6: the edges of untracked objects (a numpy view's base) */
        static const struct table uedges = {
                "untracked_edges", edge_row, false,
                "SELECT src, ord, dst, label_id, idx FROM untracked_edges ORDER BY src, ord",
        };
        struct edges_ctx c = {.h = h, .prev_src = -1};
        int r = read_rows(rd, &edges, rd->dm.nedges, &c, NULL);

        if (r < 0 || rd->dm.format_version < 6)
                return r;
        c.untracked = true;
        c.prev_src = -1;
        return read_rows(rd, &uedges, rd->dm.nuedges, &c, NULL);
}

struct gc_garbage_ctx {
        const struct heap *h;
        uint32_t *objs;
};

static int gc_garbage_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct gc_garbage_ctx *c = ctx;
        int64_t obj = sqlite3_column_int64(st, 1);

        (void)rd;
        if (!col_is_int(st, 1) || obj < 0 || obj >= c->h->nobjs)
                return ROW_MALFORMED;
        c->objs[n] = (uint32_t)obj;
        return ROW_NEXT;
}

static int read_gc_garbage(struct reader *rd, struct heap *h)
{
        static const struct table gc_garbage = {
                "gc_garbage", gc_garbage_row, true,
                "SELECT pos, obj_id FROM gc_garbage ORDER BY pos",
        };
        struct gc_garbage_ctx c = {.h = h};
        int64_t n = 0;
        int r;

        c.objs = malloc(((size_t)rd->dm.ngc_garbage + 1) * sizeof(*c.objs));
        if (!c.objs)
                return rd_oom(rd);
        r = read_rows(rd, &gc_garbage, rd->dm.ngc_garbage, &c, &n);
        if (r >= 0 && n != rd->dm.ngc_garbage)
                r = damaged(rd, "gc_garbage has %" PRId64 " rows, meta says %" PRId64, n,
                            rd->dm.ngc_garbage);
        if (r < 0) {
                free(c.objs);
                return r;
        }
        free(h->gc_garbage);
        h->gc_garbage = c.objs;
        h->ngc_garbage = (uint32_t)n;
        return 0;
}

static int gc_state_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap_gcstate *g = ctx;

        if (n > 0)
                return ROW_STOP; /* one too many: read_gc_state() says so */
        /* enabled and debug are both NULL when the layout did not place
         * them (format 5+) */
        g->unknown = sqlite3_column_type(st, 0) == SQLITE_NULL &&
                     sqlite3_column_type(st, 2) == SQLITE_NULL;
        for (int c = 0; c < 10; c++) {
                int64_t v = sqlite3_column_int64(st, c);

                if (g->unknown && (c == 0 || c == 2))
                        continue;
                if (!col_is_int(st, c) || (c < 9 && (v < INT_MIN || v > INT_MAX)))
                        return damaged(rd, "gc_state is malformed");
        }
        g->enabled = sqlite3_column_int(st, 0) != 0;
        g->collecting = sqlite3_column_int(st, 1) != 0;
        g->debug = sqlite3_column_int(st, 2);
        for (int i = 0; i < 3; i++) {
                g->thresholds[i] = sqlite3_column_int(st, 3 + i);
                g->counts[i] = sqlite3_column_int(st, 6 + i);
        }
        g->frozen = (uint64_t)sqlite3_column_int64(st, 9);
        return ROW_NEXT;
}

static int read_gc_state(struct reader *rd, struct heap *h)
{
        static const struct table gc_state = {
                "gc_state", gc_state_row, false,
                "SELECT enabled, collecting, debug, threshold0, threshold1, threshold2,"
                " count0, count1, count2, frozen FROM gc_state",
        };
        int64_t n = 0;
        int r = read_rows(rd, &gc_state, -1, &h->gc, &n);

        if (r >= 0 && n != 1)
                r = damaged(rd, "gc_state has %" PRId64 " rows, not 1", n);
        return r;
}

static int thread_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        int64_t first = sqlite3_column_int64(st, 3), nf = sqlite3_column_int64(st, 4);

        for (int c = 1; c < 5; c++)
                if (!col_is_int(st, c))
                        return ROW_MALFORMED;
        /* not first + nf > nframes: the sum could overflow */
        if (first < 0 || nf < 0 || nf > rd->dm.nframes - first)
                return ROW_MALFORMED;
        h->threads[n] = (struct heap_thread){
                .thread_id = (uint64_t)sqlite3_column_int64(st, 1),
                .native_id = sqlite3_column_int64(st, 2),
                .first_frame = (uint32_t)first,
                .nframes = (uint32_t)nf,
        };
        h->nthreads = (uint32_t)n + 1;
        return ROW_NEXT;
}

static const struct table threads_table = {
        "threads", thread_row, true,
        "SELECT thread_id, ident, native_id, first_frame, nframes FROM threads ORDER BY thread_id",
};

static int frame_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        int64_t t = sqlite3_column_int64(st, 1), depth = sqlite3_column_int64(st, 2);
        int64_t line = sqlite3_column_int64(st, 5), code = sqlite3_column_int64(st, 6);
        bool nocode = sqlite3_column_type(st, 6) == SQLITE_NULL;
        const char *fn = (const char *)sqlite3_column_text(st, 3);
        const char *file = (const char *)sqlite3_column_text(st, 4);
        struct heap_frame *f = &h->frames[n];

        if (!col_is_int(st, 1) || t < 0 || t >= h->nthreads || !col_is_int(st, 2) ||
            depth != n - (int64_t)h->threads[t].first_frame || !col_is_int(st, 5) ||
            line < INT_MIN || line > INT_MAX ||
            (!nocode && (!col_is_int(st, 6) || code < 0 || code >= h->nobjs)))
                return ROW_MALFORMED;
        f->thread = (uint32_t)t;
        f->line = (int)line;
        f->code = nocode ? UINT32_MAX : (uint32_t)code;
        h->nframes = (uint32_t)n + 1;
        f->function = fn ? strdup(fn) : NULL;
        f->filename = file ? strdup(file) : NULL;
        if ((fn && !f->function) || (file && !f->filename))
                return rd_oom(rd);
        return ROW_NEXT;
}

static const struct table frames_table = {
        "frames", frame_row, true,
        "SELECT frame_id, thread_id, depth, function, filename, line, code_obj_id"
        " FROM frames ORDER BY frame_id",
};

static int parse_root_kind(const char *s)
{
        for (int k = 0; s && k < HEAP_ROOT__COUNT; k++)
                if (strcmp(s, store_root_kind_names[k]) == 0)
                        return k;
        return -1;
}

/* Only the recorded roots: heap_analyse() computes the rest again. */
static int root_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        int kind = parse_root_kind((const char *)sqlite3_column_text(st, 2));
        int64_t obj = sqlite3_column_int64(st, 1), frame = sqlite3_column_int64(st, 5);
        int64_t lid = sqlite3_column_int64(st, 3), idx = sqlite3_column_int64(st, 4);
        bool nolid = sqlite3_column_type(st, 3) == SQLITE_NULL;
        bool noidx = sqlite3_column_type(st, 4) == SQLITE_NULL;
        bool noframe = sqlite3_column_type(st, 5) == SQLITE_NULL;
        struct heap_root rt;

        (void)n;
        if (!col_is_int(st, 0) || !col_is_int(st, 1) || obj < 0 || obj >= h->nobjs ||
            kind < 0 || (!nolid && !noidx) ||
            (!nolid && (!col_is_int(st, 3) || lid < 0 || lid >= h->nlabels)) ||
            (!noidx && (!col_is_int(st, 4) || idx < 0 || idx > INT32_MAX)) ||
            (!noframe && (!col_is_int(st, 5) || frame < 0 || frame >= h->nframes)))
                return ROW_MALFORMED;
        rt = (struct heap_root){
                .obj = (uint32_t)obj,
                .kind = (uint8_t)kind,
                .label = !nolid ? (uint32_t)lid
                         : !noidx ? heap_label_index((uint32_t)idx) : HEAP_ROOT_NO_LABEL,
                .frame = noframe ? UINT32_MAX : (uint32_t)frame,
        };
        if (heap_root_is_computed(&rt))
                return ROW_NEXT;
        /* the meta count sizes the array; rows of computed roots are not in it */
        if (h->nroots >= rd->dm.nroots)
                return damaged(rd, "roots has more recorded roots than meta says");
        h->roots[h->nroots++] = rt;
        return ROW_NEXT;
}

/* Threads, frames and recorded roots: arrays sized by the meta counts,
 * which read_rows() holds the rows to. */
static int read_stacks(struct reader *rd, struct heap *h)
{
        static const struct table roots = {
                "roots", root_row, false,
                "SELECT root_id, obj_id, kind, label_id, idx, frame_id FROM roots ORDER BY root_id",
        };
        int r;

        h->threads = calloc((size_t)rd->dm.nthreads + 1, sizeof(*h->threads));
        h->frames = calloc((size_t)rd->dm.nframes + 1, sizeof(*h->frames));
        h->roots = calloc((size_t)rd->dm.nroots + 1, sizeof(*h->roots));
        if (!h->threads || !h->frames || !h->roots)
                return rd_oom(rd);
        h->cap_roots = (uint32_t)rd->dm.nroots + 1;
        r = read_rows(rd, &threads_table, rd->dm.nthreads, h, NULL);
        if (r >= 0)
                r = read_rows(rd, &frames_table, rd->dm.nframes, h, NULL);
        /* the roots' count is of recorded roots, not rows: root_row() holds to it */
        if (r >= 0)
                r = read_rows(rd, &roots, -1, h, NULL);
        if (r >= 0 && (h->nroots != rd->dm.nroots || h->nthreads != rd->dm.nthreads ||
                       h->nframes != rd->dm.nframes))
                r = damaged(rd, "roots, threads or frames row counts disagree with meta");
        return r;
}

static int type_count_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const struct heap *h = ctx;
        const struct heap_type *t;

        if (n >= h->ntypes)
                return ROW_STOP;
        t = &h->types[n];
        if ((uint64_t)sqlite3_column_int64(st, 0) != t->count ||
            (uint64_t)sqlite3_column_int64(st, 1) != t->bytes ||
            (uint64_t)sqlite3_column_int64(st, 2) != t->tracked)
                return damaged(rd, "types row %" PRId64 " counts disagree with objects", n);
        return ROW_NEXT;
}

/* heap_finish() recounts the per-type totals; the stored ones must agree. */
static const struct table type_counts_table = {
        "types", type_count_row, false, "SELECT count, bytes, tracked FROM types ORDER BY type_id",
};

/* ---- the analysis, recomputed and compared -----------------------------
 * The reader does not load the analysis: heap_analyse() computes it again
 * from the graph, which the checksum covers.  The stored analysis columns
 * and tables are what people query by hand, so they must say what the
 * recomputed analysis says, cell for cell, or the file was changed.  A dump
 * written unanalysed (meta.analysed 0) must hold none of it. */

static int analysis_differs(struct reader *rd, const char *what, int64_t row)
{
        if (row < 0)
                return damaged(rd, "%s disagrees with the analysis recomputed from the graph",
                               what);
        return damaged(rd, "%s row %" PRId64 " disagrees with the analysis recomputed from"
                       " the graph", what, row);
}

/* What the writer would have stored in objects.retained, idom and root. */
static int check_obj_analysis(struct reader *rd, const struct heap *h)
{
        static const char *const cols[3] = {
                "objects.retained", "objects.idom", "objects.root",
        };
        uint64_t want[3] = {0, 0, 0};
        uint8_t *rootk = NULL;

        if (rd->dm.analysed && store_root_kinds(h, &rootk) < 0)
                return rd_oom(rd);
        for (uint32_t i = 0; i < h->nobjs; i++) {
                struct store_obj_cells c = {0};

                if (rd->dm.analysed)
                        store_obj_analysis(h, rootk, i, &c);
                cs_word(&want[0], c.has_retained ? SQLITE_INTEGER : SQLITE_NULL);
                if (c.has_retained)
                        cs_word(&want[0], c.retained);
                cs_word(&want[1], c.has_idom ? SQLITE_INTEGER : SQLITE_NULL);
                if (c.has_idom)
                        cs_word(&want[1], c.idom);
                cs_word(&want[2], c.root ? SQLITE_TEXT : SQLITE_NULL);
                if (c.root)
                        store_cs_bytes(&want[2], c.root, strlen(c.root));
        }
        free(rootk);
        for (int k = 0; k < 3; k++)
                if (want[k] != rd->obj_an[k])
                        return analysis_differs(rd, cols[k], -1);
        return 0;
}

static bool col_is(sqlite3_stmt *st, int c, bool have, int64_t v)
{
        return have ? col_is_int(st, c) && sqlite3_column_int64(st, c) == v
                    : sqlite3_column_type(st, c) == SQLITE_NULL;
}

struct an_ctx {
        const struct heap *h;
        const struct heap_cycles *c;    /* the cycle set of this table */
        const char *name;
        bool analysed;
        uint32_t cur;                   /* cycle_members: the cycle of the row */
        char *sig;                      /* cycles: a signature too long for sbuf */
};

static int type_retained_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const struct an_ctx *a = ctx;

        if (n >= a->h->ntypes ||
            !col_is(st, 0, a->analysed && a->h->retained, (int64_t)a->h->types[n].retained))
                return analysis_differs(rd, "types.retained", n);
        return ROW_NEXT;
}

static int cycle_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct an_ctx *a = ctx;
        const struct heap_cycles *c = a->c;
        const char *text = (const char *)sqlite3_column_text(st, 5);
        char sbuf[512];
        const char *sig = sbuf;
        uint32_t i = (uint32_t)n;
        int len;

        if (n >= c->n || !col_is(st, 1, true, c->start[i + 1] - c->start[i]) ||
            !col_is(st, 2, true, (int64_t)c->bytes[i]) || !col_is(st, 3, true, c->garbage[i]) ||
            !col_is(st, 4, c->retained, c->retained ? (int64_t)c->retained[i] : 0))
                return analysis_differs(rd, a->name, n);
        len = heap_cycles_signature(a->h, c, i, sbuf, sizeof(sbuf));
        if (len >= (int)sizeof(sbuf)) {
                free(a->sig);
                a->sig = malloc((size_t)len + 1);
                if (!a->sig)
                        return rd_oom(rd);
                heap_cycles_signature(a->h, c, i, a->sig, (size_t)len + 1);
                sig = a->sig;
        } else if (len < 0) {
                sbuf[0] = '\0';
        }
        if (sqlite3_column_type(st, 5) != SQLITE_TEXT || !text || strcmp(text, sig) != 0)
                return analysis_differs(rd, a->name, n);
        return ROW_NEXT;
}

/* Rows in (cycle_id, obj_id) order, which is the members' order: ascending
 * within a cycle (analysis.h). */
static int member_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct an_ctx *a = ctx;
        const struct heap_cycles *c = a->c;

        if (n >= c->start[c->n])
                return analysis_differs(rd, a->name, n);
        while (a->cur < c->n && c->start[a->cur + 1] <= n)
                a->cur++;
        if (!col_is(st, 0, true, a->cur) || !col_is(st, 1, true, c->members[n]))
                return analysis_differs(rd, a->name, n);
        return ROW_NEXT;
}

static int garbage_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const struct an_ctx *a = ctx;

        if (n >= a->h->ngarbage || !col_is(st, 0, true, a->h->garbage[n]))
                return analysis_differs(rd, "garbage", n);
        return ROW_NEXT;
}

/* One table against its expected row count (0 when not analysed). */
static int check_an_table(struct reader *rd, struct an_ctx *a, const struct table *t,
                          int64_t want)
{
        int64_t n = 0;
        int r = read_rows(rd, t, -1, a, &n);

        free(a->sig);
        a->sig = NULL;
        if (r >= 0 && n != (a->analysed ? want : 0))
                r = damaged(rd, "%s has %" PRId64 " rows, the analysis recomputed from the graph"
                            " has %" PRId64, t->name, n, a->analysed ? want : 0);
        return r;
}

static int check_cycles(struct reader *rd, const struct heap *h, const struct heap_cycles *c,
                        const char *table, const char *members)
{
        char sql1[128], sql2[128];
        struct table cy = {table, cycle_row, true, sql1};
        struct table cm = {members, member_row, false, sql2};
        struct an_ctx a = {.h = h, .c = c, .name = table, .analysed = rd->dm.analysed};
        int r;

        snprintf(sql1, sizeof(sql1), "SELECT cycle_id, members, bytes, garbage, retained,"
                 " signature FROM %s ORDER BY cycle_id", table);
        snprintf(sql2, sizeof(sql2), "SELECT cycle_id, obj_id FROM %s ORDER BY cycle_id, obj_id",
                 members);
        r = check_an_table(rd, &a, &cy, c->n);
        a.name = members;
        if (r >= 0)
                r = check_an_table(rd, &a, &cm, c->start[c->n]);
        return r;
}

static int check_analysis(struct reader *rd, const struct heap *h)
{
        static const struct table types = {
                "types", type_retained_row, false, "SELECT retained FROM types ORDER BY type_id",
        };
        static const struct table garbage = {
                "garbage", garbage_row, false, "SELECT obj_id FROM garbage ORDER BY obj_id",
        };
        struct an_ctx a = {.h = h, .analysed = rd->dm.analysed};
        int r = check_obj_analysis(rd, h);

        if (r >= 0)
                r = read_rows(rd, &types, -1, &a, NULL);
        if (r >= 0)
                r = check_cycles(rd, h, &h->cycles, "cycles", "cycle_members");
        if (r >= 0)
                r = check_cycles(rd, h, &h->cycles_local, "local_cycles", "local_cycle_members");
        if (r >= 0)
                r = check_an_table(rd, &a, &garbage, h->ngarbage);
        return r;
}

/* ---- the analysis, loaded (format 7+) -----------------------------------
 * A format-7 file holds the analysis with a checksum of its own
 * (meta.analysis_checksum), so the reader loads it instead of running
 * heap_analyse() again, which costs more than reading the rows.  What the
 * model's consumers rely on is checked here, whatever the checksum says:
 * every index in range, each object in at most one cycle of a set, members
 * ascending, the garbage list ascending and the dominator tree a tree; the
 * flags the analysis sets (HOBJ_IN_CYCLE, HOBJ_GARBAGE) must agree with the
 * lists.  The computed roots are recomputed (a pass over the referrer
 * index, which the browser needs anyway) and compared with objects.root. */

struct cyc_load {
        const struct heap *h;
        struct heap_cycles *c;
        const char *name;
        uint64_t *seen;          /* bitmap: objects already in a cycle of this set */
        size_t cap;
        uint32_t cur;
        bool in_cycle_flag;      /* the set whose members carry HOBJ_IN_CYCLE */
        uint64_t *sigs;
};

static int cyc_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct cyc_load *a = ctx;
        struct heap_cycles *c = a->c;
        int64_t m = sqlite3_column_int64(st, 1), bytes = sqlite3_column_int64(st, 2);
        int64_t g = sqlite3_column_int64(st, 3), ret = sqlite3_column_int64(st, 4);
        const char *sig = (const char *)sqlite3_column_text(st, 5);

        (void)rd;
        /* every cycle has a member, and no object is in two: at most
         * nobjs cycles and nobjs members */
        if (n >= a->h->nobjs || !col_is_int(st, 1) || m < 1 ||
            m > (int64_t)a->h->nobjs - c->start[n] || !col_is_int(st, 2) ||
            !col_is_int(st, 3) || g < 0 || g > 1 || !col_is_int(st, 4) ||
            sqlite3_column_type(st, 5) != SQLITE_TEXT || !sig)
                return ROW_MALFORMED;
        if ((size_t)n + 1 >= a->cap) {
                size_t cap = a->cap * 2;
                uint32_t *start = realloc(c->start, (size_t)cap * sizeof(*start));
                uint64_t *b = start ? realloc(c->bytes, (size_t)cap * sizeof(*b)) : NULL;
                uint64_t *rt = b ? realloc(c->retained, (size_t)cap * sizeof(*rt)) : NULL;
                bool *gb = rt ? realloc(c->garbage, (size_t)cap * sizeof(*gb)) : NULL;

                if (start)
                        c->start = start;
                if (b)
                        c->bytes = b;
                if (rt)
                        c->retained = rt;
                if (!gb)
                        return rd_oom(rd);
                c->garbage = gb;
                a->cap = cap;
        }
        c->start[n + 1] = c->start[n] + (uint32_t)m;
        c->bytes[n] = (uint64_t)bytes;
        c->garbage[n] = g != 0;
        c->retained[n] = (uint64_t)ret;
        c->n = (uint32_t)n + 1;
        store_cs_str(a->sigs, sig);
        return ROW_NEXT;
}

static int cyc_member_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct cyc_load *a = ctx;
        struct heap_cycles *c = a->c;
        int64_t cy = sqlite3_column_int64(st, 0), obj = sqlite3_column_int64(st, 1);

        (void)rd;
        while (a->cur < c->n && c->start[a->cur + 1] <= n)
                a->cur++;
        if (n >= c->start[c->n] || !col_is_int(st, 0) || cy != a->cur || !col_is_int(st, 1) ||
            obj < 0 || obj >= a->h->nobjs || (a->seen[obj >> 6] & (1ULL << (obj & 63))) ||
            (n > c->start[a->cur] && obj <= c->members[n - 1]) ||
            (a->in_cycle_flag && !(a->h->objs[obj].flags & HOBJ_IN_CYCLE)))
                return ROW_MALFORMED;
        a->seen[obj >> 6] |= 1ULL << (obj & 63);
        c->members[n] = (uint32_t)obj;
        return ROW_NEXT;
}

static int load_cycles(struct reader *rd, struct heap *h, struct heap_cycles *c,
                       const char *table, const char *members, bool in_cycle_flag)
{
        char sql1[128], sql2[128];
        struct table cy = {table, cyc_row, true, sql1};
        struct table cm = {members, cyc_member_row, false, sql2};
        struct cyc_load a = {.h = h, .c = c, .name = table, .in_cycle_flag = in_cycle_flag,
                             .sigs = &rd->sigs};
        int64_t nm = 0;
        uint64_t flagged = 0;
        int r;

        snprintf(sql1, sizeof(sql1), "SELECT cycle_id, members, bytes, garbage, retained,"
                 " signature FROM %s ORDER BY cycle_id", table);
        snprintf(sql2, sizeof(sql2), "SELECT cycle_id, obj_id FROM %s ORDER BY cycle_id, obj_id",
                 members);
        /* never NULL, even with no rows: as the analysis leaves them */
        a.cap = 16;
        c->start = calloc(a.cap, sizeof(*c->start));
        c->bytes = malloc(a.cap * sizeof(*c->bytes));
        c->retained = malloc(a.cap * sizeof(*c->retained));
        c->garbage = malloc(a.cap * sizeof(*c->garbage));
        a.seen = calloc((size_t)h->nobjs / 64 + 1, sizeof(*a.seen));
        if (!c->start || !c->bytes || !c->retained || !c->garbage || !a.seen) {
                free(a.seen);
                return rd_oom(rd);
        }
        r = read_rows(rd, &cy, -1, &a, NULL);
        if (r >= 0) {
                c->members = heap_big_malloc(((size_t)c->start[c->n] + 1) * sizeof(*c->members));
                if (!c->members)
                        r = rd_oom(rd);
        }
        if (r >= 0)
                r = read_rows(rd, &cm, -1, &a, &nm);
        if (r >= 0 && nm != c->start[c->n])
                r = damaged(rd, "%s has %" PRId64 " rows, %s count %" PRIu32, members, nm, table,
                            c->start[c->n]);
        for (uint32_t i = 0; r >= 0 && in_cycle_flag && i < h->nobjs; i++)
                flagged += (h->objs[i].flags & HOBJ_IN_CYCLE) != 0;
        if (r >= 0 && in_cycle_flag && flagged != c->start[c->n])
                r = damaged(rd, "objects.flags name %" PRIu64 " cycle members, %s holds %" PRIu32,
                            flagged, members, c->start[c->n]);
        free(a.seen);
        return r;
}

struct garbage_load {
        struct heap *h;
        size_t cap;
};

static int garbage_load_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct garbage_load *a = ctx;
        struct heap *h = a->h;
        int64_t obj = sqlite3_column_int64(st, 0);

        if (n >= h->nobjs || !col_is_int(st, 0) || obj < 0 || obj >= h->nobjs ||
            (n > 0 && obj <= h->garbage[n - 1]) || !(h->objs[obj].flags & HOBJ_GARBAGE))
                return ROW_MALFORMED;
        if (GROW(h->garbage, a->cap, (size_t)n + 1, 1024) < 0)
                return rd_oom(rd);
        h->garbage[n] = (uint32_t)obj;
        h->ngarbage = (uint32_t)n + 1;
        return ROW_NEXT;
}

static int load_garbage(struct reader *rd, struct heap *h)
{
        static const struct table garbage = {
                "garbage", garbage_load_row, false, "SELECT obj_id FROM garbage ORDER BY obj_id",
        };
        struct garbage_load a = {.h = h};
        uint64_t flagged = 0;
        int r = read_rows(rd, &garbage, -1, &a, NULL);

        for (uint32_t i = 0; r >= 0 && i < h->nobjs; i++)
                flagged += (h->objs[i].flags & HOBJ_GARBAGE) != 0;
        if (r >= 0 && flagged != h->ngarbage)
                r = damaged(rd, "objects.flags name %" PRIu64 " garbage objects, garbage holds %"
                            PRIu32, flagged, h->ngarbage);
        return r;
}

static int type_retained_load_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct heap *h = ctx;
        int64_t v = sqlite3_column_int64(st, 1);

        (void)rd;
        if (n >= h->ntypes || (h->retained ? !col_is_int(st, 1)
                                           : sqlite3_column_type(st, 1) != SQLITE_NULL))
                return ROW_MALFORMED;
        h->types[n].retained = (uint64_t)v;
        return ROW_NEXT;
}

/* idom must make a forest: a loop would send a walk up the tree round
 * forever.  Each object is followed once: state 1 on the current chain,
 * 2 known to reach the virtual root. */
static int check_idom_tree(struct reader *rd, const struct heap *h)
{
        uint8_t *state = calloc((size_t)h->nobjs + 1, 1);
        uint32_t *chain = heap_big_malloc(((size_t)h->nobjs + 1) * sizeof(*chain));
        int r = 0;

        if (!state || !chain) {
                free(state);
                heap_big_free(chain);
                return rd_oom(rd);
        }
        for (uint32_t i = 0; i < h->nobjs && r >= 0; i++) {
                uint32_t v = i, n = 0;

                while (v != UINT32_MAX && state[v] == 0) {
                        state[v] = 1;
                        chain[n++] = v;
                        v = h->idom[v];
                }
                if (v != UINT32_MAX && state[v] == 1)
                        r = damaged(rd, "objects.idom makes a loop through object %" PRIu32, v);
                while (n)
                        state[chain[--n]] = 2;
        }
        free(state);
        heap_big_free(chain);
        return r;
}

static int load_analysis(struct reader *rd, struct heap *h)
{
        static const struct table types = {
                "types", type_retained_load_row, true,
                "SELECT type_id, retained FROM types ORDER BY type_id",
        };
        char sum[24];
        int r;

        /* the heap owns them from here: heap_free() releases them */
        analysis_own(h);
        if (rd->nan_retained != 0 && rd->nan_retained != h->nobjs)
                return damaged(rd, "objects.retained is NULL in some rows only");
        h->idom = rd->an_idom;
        rd->an_idom = NULL;
        /* all rows: an empty heap's analysis has retained sizes too */
        if (rd->nan_retained == h->nobjs) {
                h->retained = rd->an_retained;
                rd->an_retained = NULL;
        }
        rd->sigs = STORE_SIGS_SEED;
        r = check_idom_tree(rd, h);
        if (r >= 0)
                r = read_rows(rd, &types, h->ntypes, h, NULL);
        if (r >= 0)
                r = load_cycles(rd, h, &h->cycles, "cycles", "cycle_members", true);
        if (r >= 0)
                r = load_cycles(rd, h, &h->cycles_local, "local_cycles", "local_cycle_members",
                                false);
        if (r >= 0)
                r = load_garbage(rd, h);
        if (r < 0)
                return r;
        snprintf(sum, sizeof(sum), "%016" PRIx64, store_analysis_checksum(h, rd->sigs));
        if (strcmp(sum, rd->dm.analysis_checksum) != 0)
                return damaged(rd, "analysis_checksum mismatch: the analysis columns and tables"
                               " say %s, meta says %s", sum, rd->dm.analysis_checksum);
        r = heap_preds_build(h);
        if (r >= 0)
                r = heap_roots_compute(h);
        if (r < 0)
                return r == -ENOMEM ? rd_oom(rd) : damaged(rd, "roots: %s", strerror(-r));
        h->analysed = true;
        /* objects.root against the roots just computed */
        return check_obj_analysis(rd, h);
}

static void restore_meta(const struct dump_meta *dm, struct heap_meta *m)
{
        m->pid = (int)dm->pid;
        snprintf(m->python_version, sizeof(m->python_version), "%s", dm->python_version);
        m->python_hex = (uint32_t)dm->python_hex;
        snprintf(m->layout_source, sizeof(m->layout_source), "%s", dm->layout_source);
        snprintf(m->interp_path, sizeof(m->interp_path), "%s", dm->interp_path);
        m->pause_ms = dm->pause_ms;
        m->stop_ms = dm->stop_ms;
        m->fork_ms = dm->fork_ms;
        m->threads = (int)dm->threads;
        m->bytes_copied = (uint64_t)dm->bytes_copied;
        m->walk_ms = dm->walk_ms;
        m->analyse_ms = dm->analyse_ms;
        m->interpreters = (int)dm->interpreters;
        m->inconsistencies = (uint64_t)dm->inconsistencies;
        m->approximate = dm->approximate != 0;
        m->live_retries = (uint32_t)dm->live_retries;
        m->layout_gaps = (uint64_t)dm->layout_gaps;
        m->pid_in_namespace = (int)dm->pid_in_namespace;
        snprintf(m->snapshot_mode, sizeof(m->snapshot_mode), "%s", dm->snapshot_mode);
        m->symbols_ms = dm->symbols_ms;
        memcpy(m->layout_disagreements, dm->layout_disagreements,
               sizeof(m->layout_disagreements));
        m->layout_disagreements[sizeof(m->layout_disagreements) - 1] = '\0';
        snprintf(m->layout_checks, sizeof(m->layout_checks), "%s", dm->layout_checks);
        snprintf(m->layout_candidates, sizeof(m->layout_candidates), "%s",
                 dm->layout_candidates);
        snprintf(m->layout_inferred, sizeof(m->layout_inferred), "%s", dm->layout_inferred);
        snprintf(m->layout_gapped, sizeof(m->layout_gapped), "%s", dm->layout_gapped);
        m->layout_experimental = dm->layout_experimental != 0;
        m->previews_dropped = (uint64_t)dm->previews_dropped;
        /* format 5 and older: nothing known (rss, arenas_* read as 0) */
        m->memory.rss_known = dm->format_version >= 6 && dm->rss >= 0;
        m->memory.rss = m->memory.rss_known ? (uint64_t)dm->rss : 0;
        m->memory.arenas_known = dm->format_version >= 6 && dm->arenas_used >= 0 &&
                dm->arenas_free >= 0;
        m->memory.arenas_used = m->memory.arenas_known ? (uint64_t)dm->arenas_used : 0;
        m->memory.arenas_free = m->memory.arenas_known ? (uint64_t)dm->arenas_free : 0;
        snprintf(m->memory.arenas_why, sizeof(m->memory.arenas_why), "%s",
                 dm->format_version >= 6 ? dm->arenas_why : "the dump predates format 6");
}

static int load(struct reader *rd, struct heap *h)
{
        const struct dump_meta *dm = &rd->dm;
        char sum[24];
        int r;

        rd->load_an = dm->format_version >= 7 && dm->analysed;
        if (rd->load_an) {
                rd->an_retained = heap_big_malloc(((size_t)dm->nobjs + 1) *
                                                  sizeof(*rd->an_retained));
                rd->an_idom = heap_big_malloc(((size_t)dm->nobjs + 1) * sizeof(*rd->an_idom));
                if (!rd->an_retained || !rd->an_idom)
                        return rd_oom(rd);
        }
        r = read_rows(rd, &types_table, dm->ntypes, h, NULL);
        if (r >= 0)
                r = read_rows(rd, &labels_table, dm->nlabels, h, NULL);
        if (r >= 0)
                r = read_objects(rd, h);
        if (r >= 0)
                r = read_edges(rd, h);
        if (r < 0)
                return r;
        if (h->ntypes != dm->ntypes || h->nlabels != dm->nlabels || h->nobjs != dm->nobjs ||
            h->ntracked != dm->ntracked ||
            (int64_t)h->nedges != dm->nedges + (dm->format_version >= 6 ? dm->nuedges : 0))
                return damaged(rd, "row counts disagree with meta (types %u/%" PRId64
                               ", labels %u/%" PRId64 ", objects %u/%" PRId64
                               ", tracked %u/%" PRId64 ", edges %" PRIu64 "/%" PRId64 ")",
                               h->ntypes, dm->ntypes, h->nlabels, dm->nlabels, h->nobjs,
                               dm->nobjs, h->ntracked, dm->ntracked, h->nedges, dm->nedges);
        r = heap_finish(h);
        if (r < 0)
                return build_fail(rd, r, "heap", 0);
        r = read_gc_garbage(rd, h);
        if (r >= 0)
                r = read_gc_state(rd, h);
        if (r >= 0)
                r = read_rows(rd, &type_counts_table, -1, h, NULL);
        if (r >= 0)
                r = read_stacks(rd, h);
        if (r >= 0)
                r = check_previews(rd, h);
        if (r >= 0)
                r = check_native(rd, h);
        if (r < 0)
                return r;
        restore_meta(dm, &h->meta);
        snprintf(sum, sizeof(sum), "%016" PRIx64, store_model_checksum(h));
        if (strcmp(sum, dm->checksum) != 0)
                return damaged(rd, "checksum mismatch: rows say %s, meta says %s", sum,
                               dm->checksum);
        if (rd->load_an)
                return load_analysis(rd, h);
        r = heap_analyse(h);
        if (r < 0)
                return r == -ENOMEM ? diag_set(rd->d, r, "cannot analyse dump %s: out of memory",
                                               rd->path)
                                    : damaged(rd, "analysis failed: %s", strerror(-r));
        /* The analysis recomputed what the live run computed; the snapshot
         * facts it touches (timing, inconsistencies) are the live run's. */
        if (dm->analysed)
                restore_meta(dm, &h->meta);
        return check_analysis(rd, h);
}

static void reader_close(struct reader *rd)
{
        heap_big_free(rd->an_retained);
        heap_big_free(rd->an_idom);
        rd->an_retained = NULL;
        rd->an_idom = NULL;
        if (rd->db)
                sqlite3_close(rd->db);
        rd->db = NULL;
}

int heap_store_read(const char *path, struct heap **ret, struct diag *d)
{
        struct reader rd = {.path = path, .d = d};
        struct heap *h = NULL;
        int r;

        if (!path || !ret)
                return diag_set(d, -EINVAL, "cannot read dump: no file name");
        r = open_db(&rd);
        if (r >= 0)
                r = read_meta(&rd);
        if (r >= 0)
                r = check_meta_counts(&rd);
        if (r >= 0)
                r = quick_check(&rd);
        if (r < 0)
                goto out;
        h = heap_new();
        if (!h) {
                r = rd_oom(&rd);
                goto out;
        }
        r = load(&rd, h);
out:
        reader_close(&rd);
        if (r < 0) {
                heap_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

int heap_store_info(const char *path, struct store_info *ret, struct diag *d)
{
        struct reader rd = {.path = path, .d = d};
        int r;

        if (!path || !ret)
                return diag_set(d, -EINVAL, "cannot read dump: no file name");
        r = open_db(&rd);
        if (r >= 0)
                r = read_meta(&rd);
        reader_close(&rd);
        if (r < 0)
                return r;
        memset(ret, 0, sizeof(*ret));
        ret->format_version = (int)rd.dm.format_version;
        snprintf(ret->tool_version, sizeof(ret->tool_version), "%s", rd.dm.tool_version);
        snprintf(ret->host, sizeof(ret->host), "%s", rd.dm.host);
        snprintf(ret->time_iso, sizeof(ret->time_iso), "%s", rd.dm.time_iso);
        return 0;
}
