/* store.c: the dump file (store.h).
 *
 * ---- Dump file schema, format 2 (README.md "Dump file" copies this) -----
 *
 * A dump is an SQLite 3 database, application_id 0x50594c4b ("PYLK"),
 * user_version = format_version.  It holds one snapshot: the object graph
 * exactly as the live run built it, the analyses, and where it came from.
 * Query it with `sqlite3 -readonly FILE 'select ...'`.  Adding your own
 * tables, views or indexes is harmless; changing rows makes pyleak-attach
 * reject the file (meta.checksum).
 *
 * obj_id is the model's object number: tracked objects (those on a GC list)
 * come first, in walk order, then the untracked objects they refer to.
 * Every `addr` is the object's address, which is its id() in Python
 * (SQLite integers are signed 64-bit; user-space addresses always fit).
 * Booleans are 0/1.  Numbers that count from 0 (ids, positions) are 0-based.
 *
 * meta(key TEXT PRIMARY KEY, value)            one row per fact, typed
 *   format           'pyleak-attach-dump' (what makes the file a dump)
 *   format_version   3: the schema version the file was written with
 *   min_reader       1: the oldest format_version a reader may support and
 *                    still read this file.  Additive changes (new tables,
 *                    columns, meta keys) raise format_version only; a
 *                    reader refuses files whose min_reader is above what it
 *                    knows, and reads older formats as they are.
 *   tool_version     pyleak-attach version that wrote the file
 *   host, time       machine and moment of the snapshot (ISO 8601, UTC)
 *   pid              target process id (0 for a core file)
 *   python_version   '3.12.1'
 *   python_hex       PY_VERSION_HEX, e.g. 51118576 (0x030c01f0)
 *   layout_source    where the struct offsets came from ('dwarf', ...)
 *   interp_path      the ELF file holding the interpreter
 *   pause_ms         how long the target was paused
 *   stop_ms          time to stop all threads
 *   fork_ms          fork mode: the fork system call inside the pause (the
 *                    kernel copying page tables), else 0 (format 3+; kept
 *                    out of checksum so that format-2 readers still accept
 *                    the file, and checked against pause_ms instead)
 *   threads          threads stopped
 *   bytes_copied     bytes read from the target
 *   walk_ms          time to build the graph
 *   analyse_ms       time to run the analyses
 *   interpreters     interpreters walked
 *   inconsistencies  bad links, headers or refcounts seen (0 = clean)
 *   approximate      1 if read from a running process (--snapshot live)
 *   live_retries     live mode: torn GC lists walked again
 *   layout_gaps      objects left opaque because the layout lacks a struct
 *   pid_in_namespace the target's pid inside its own PID namespace
 *   snapshot_mode    'copy', 'fork', 'live' or 'core'
 *   symbols_ms       time the run waited to find the interpreter and validate
 *                    its layout (a DWARF read done during the walk is not
 *                    counted)
 *   layout_disagreements  fields on which two layout providers disagreed
 *   analysed         1 if the analysis columns and tables are filled
 *   n_objects, n_tracked, n_edges, n_types, n_labels, n_gc_garbage,
 *   n_roots, n_threads, n_frames
 *                    row counts, for validation (n_tracked: objects with a
 *                    GC generation; n_roots: recorded roots, not computed)
 *   n_previews       objects with a preview (format 2+)
 *   previews_dropped value previews the walker did not record because
 *                    their memory cap was reached (format 2+)
 *   previews_checksum hex 64-bit hash of objects.preview (format 2+);
 *                    kept apart from checksum so that a format-1 reader,
 *                    which does not know the table, still accepts the file
 *   checksum         hex 64-bit hash of everything the snapshot recorded
 *                    (types, labels, objects, edges, gc_garbage, recorded
 *                    roots, threads, frames, gc_state, the facts above); a
 *                    reader rejects rows that do not match it
 *
 * gc_state(enabled, collecting, debug, threshold0, threshold1, threshold2,
 *          count0, count1, count2, frozen)     exactly one row
 *   the gc module's state: gc.isenabled(), a collection running at snapshot
 *   time, gc.get_debug(), gc.get_threshold(), gc.get_count(),
 *   gc.get_freeze_count()
 *
 * types(type_id INTEGER PRIMARY KEY, addr, module, qualname, fullname,
 *       count, bytes, tracked, opaque, retained)
 *   one row per type object seen; addr is the type's id(); fullname is
 *   module.qualname ("builtins.dict"); count/bytes: objects of this type and
 *   the sum of their sizes; tracked: of which on GC lists; opaque: no
 *   reference decoder for the type (its objects' referents are unknown);
 *   retained: bytes freed if every instance went away
 *
 * objects(obj_id INTEGER PRIMARY KEY, addr, type_id, gen, refcnt, size,
 *         flags, retained, idom, root, preview)
 *   gen       '0', '1', '2', 'permanent' (gc.freeze()), or 'untracked'
 *   refcnt    ob_refcnt (sys.getrefcount(x) - 1); immortal objects
 *             (3.12+) show a huge value
 *   size      sys.getsizeof()
 *   flags     bits: 1 opaque, 2 immortal, 4 type has GC, 8 partially
 *             decoded (unreadable memory), 16 garbage, 32 in gc.garbage,
 *             64 in a cycle, 128 is a type object
 *   retained  bytes freed if this object went away (itself and everything
 *             only it keeps alive: the objects it dominates)
 *   idom      immediate dominator (obj_id); NULL when the object hangs
 *             directly off the virtual root (the roots, unreachable heads)
 *   root      why the analysis considers it a root, when it does and no
 *             recorded root (table roots) names it: 'external' (refcount
 *             exceeds the known referrers: C code, the C stack),
 *             'immortal', 'permanent' (gc.freeze()); else NULL
 *   preview   (format 2+) a short value preview, where the walker recorded
 *             one, else NULL: str text as repr() shows it ("'abc'", cut
 *             after 80 characters with "... (len N)"), bytes (b'...', 40
 *             bytes), int value (or "int (N digits)" beyond 64 bits), float
 *             as repr(), True/False/None, "len N" for list, tuple, dict,
 *             set, frozenset, deque, "name (file:line)" for functions and
 *             code objects, "module 'name'", "class 'mod.Name'".  A column
 *             rather than a table: a million previews cost a fraction of
 *             what a million more rows would
 *
 * labels(label_id INTEGER PRIMARY KEY, text)
 *   edge labels other than item indices: '.attr', "['key']", '<key>',
 *   '__class__', ...
 *
 * edges(src, ord, dst, label_id, idx)  PRIMARY KEY (src, ord)
 *   one row per reference src -> dst (obj_ids); ord is the position in the
 *   source's tp_traverse order (0, 1, ...); only tracked objects
 *   have outgoing edges.  The label is labels.text for label_id, or '[idx]'
 *   (a sequence item) when label_id is NULL.
 *
 * cycles(cycle_id INTEGER PRIMARY KEY, members, bytes, garbage, retained,
 *        signature)
 *   strongly connected components of more than one object, or one object
 *   referring to itself; cycle_id is the rank, biggest (bytes) first.
 *   garbage: a full gc.collect() would free every member.  retained: bytes
 *   freed if the whole cycle went away.  signature: the sorted distinct
 *   type names joined with '+' ("Node+dict").
 * cycle_members(cycle_id, obj_id)  PRIMARY KEY (cycle_id, obj_id)
 * local_cycles(...), local_cycle_members(...)  the same columns, computed
 *   ignoring references to types, modules and function globals, so each
 *   instance's own cycle shows instead of one giant component
 * garbage(obj_id INTEGER PRIMARY KEY)          what gc.collect() would free
 * gc_garbage(pos INTEGER PRIMARY KEY, obj_id)  gc.garbage, in list order
 *
 * roots(root_id INTEGER PRIMARY KEY, obj_id, kind, label_id, idx, frame_id)
 *   why objects are alive from outside the graph, as the walker recorded
 *   it: kind 'module' (in sys.modules; label = its name), 'thread' (held by
 *   a frame: frame_id, label = the local), 'interp' (the interpreter's
 *   own).  The label is labels.text for label_id, '[idx]' when idx is set,
 *   none when both are NULL.  The roots the analysis adds are in
 *   objects.root; v_roots shows both.
 * threads(thread_id INTEGER PRIMARY KEY, ident, native_id, first_frame,
 *         nframes)
 *   ident = threading.get_ident(); native_id = the kernel's tid (0 unknown);
 *   the thread's frames are frame_id first_frame .. first_frame+nframes-1
 * frames(frame_id INTEGER PRIMARY KEY, thread_id, depth, function,
 *        filename, line, code_obj_id)
 *   depth 0 is the innermost frame; function is co_qualname; code_obj_id
 *   is the code object (NULL if not in the graph)
 *
 * Indexes: gc_garbage(obj_id), plus objects(addr) and edges(dst)
 * (referrers) when the writer is asked for them (store_write_opts.indexes).
 * Building an index costs about a second per million rows, which would
 * break the 5 s budget of a 1M-object dump; without them a lookup by
 * address or referrer scans the table (a fraction of a second per million
 * rows).  Add them, or others, to a dump at any time:
 *   sqlite3 FILE 'create index edges_dst on edges(dst)'
 * (indexes do not change rows, so the checksum still holds).
 *
 * Views (conveniences for ad-hoc queries, not read by pyleak-attach):
 *   v_objects(obj_id, addr, hex, type, gen, refcnt, size, retained, idom,
 *             root, opaque, garbage, in_cycle, gc_garbage_pos, preview)
 *             hex = '0x7f...'; type = fullname; opaque, garbage, in_cycle:
 *             flags 1, 16, 64 as 0/1; gc_garbage_pos: first position in
 *             gc.garbage or NULL
 *   v_edges(src, src_hex, src_type, ord, label, dst, dst_hex, dst_type)
 *             label as text ('[3]' too)
 *   v_types(type_id, fullname, count, bytes, tracked, opaque, retained)
 *             types with instances, biggest first
 *   v_cycles(cycle_id, members, bytes, garbage, retained, signature,
 *            first_hex)
 *   v_roots(root_id, obj_id, hex, type, kind, label, function, filename,
 *           line)    recorded roots (frame columns for 'thread'), then the
 *                    computed ones (root_id NULL)
 *
 * Format history: 1 first release; 2 adds objects.preview and the meta
 * keys n_previews, previews_dropped, previews_checksum; 3 adds the meta key
 * fork_ms (both additive: min_reader stays 1).
 * Planned (later formats, additive: min_reader stays 1, so this reader
 * keeps reading them): per-object referrer paths cached for the browser,
 * several snapshots in one file.
 *
 * Examples:
 *   select type, count(*), sum(size) from v_objects group by type
 *       order by 3 desc limit 10;
 *   select src_hex, src_type, label from v_edges where dst_hex = '0x7f...';
 *   select * from v_cycles where garbage;
 *   select hex, type, retained from v_objects order by retained desc
 *       limit 20;
 * --------------------------------------------------------------------------
 *
 * Writing is one transaction of prepared inserts with the journal and fsyncs
 * off (the temporary file is worthless until renamed, so there is nothing to
 * protect), indexes built after the rows, and one fsync before the rename.
 */
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
#include "config.h"
#include "diag.h"
#include "heap-build.h"
#include "store.h"
#include "utf8.h"

#define STORE_FORMAT "pyleak-attach-dump"
#define STORE_APP_ID 0x50594c4b /* "PYLK" */
/* PRAGMA quick_check reads every page; worth it only while it is cheap. */
#define QUICK_CHECK_MAX_BYTES (16u << 20)
#define META_MAX_ROWS 4096

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
};

enum mkind { MK_TEXT, MK_INT, MK_REAL };

struct mkey {
        const char *key;
        enum mkind kind;
        size_t off, len;
        int since;           /* first format_version with this key */
};

#define MKV(k, kind, field, v) \
        {k, kind, offsetof(struct dump_meta, field), \
         sizeof(((struct dump_meta *)0)->field), v}
#define MK(k, kind, field) MKV(k, kind, field, 1)

static const struct mkey meta_keys[] = {
        MK("format", MK_TEXT, format),
        MK("format_version", MK_INT, format_version),
        MK("min_reader", MK_INT, min_reader),
        MK("tool_version", MK_TEXT, tool_version),
        MK("host", MK_TEXT, host),
        MK("time", MK_TEXT, time_iso),
        MK("pid", MK_INT, pid),
        MK("python_version", MK_TEXT, python_version),
        MK("python_hex", MK_INT, python_hex),
        MK("layout_source", MK_TEXT, layout_source),
        MK("interp_path", MK_TEXT, interp_path),
        MK("pause_ms", MK_REAL, pause_ms),
        MK("stop_ms", MK_REAL, stop_ms),
        MK("threads", MK_INT, threads),
        MK("bytes_copied", MK_INT, bytes_copied),
        MK("walk_ms", MK_REAL, walk_ms),
        MK("analyse_ms", MK_REAL, analyse_ms),
        MK("interpreters", MK_INT, interpreters),
        MK("inconsistencies", MK_INT, inconsistencies),
        MK("approximate", MK_INT, approximate),
        MK("live_retries", MK_INT, live_retries),
        MK("layout_gaps", MK_INT, layout_gaps),
        MK("pid_in_namespace", MK_INT, pid_in_namespace),
        MK("snapshot_mode", MK_TEXT, snapshot_mode),
        MK("symbols_ms", MK_REAL, symbols_ms),
        MK("layout_disagreements", MK_TEXT, layout_disagreements),
        MK("analysed", MK_INT, analysed),
        MK("n_objects", MK_INT, nobjs),
        MK("n_tracked", MK_INT, ntracked),
        MK("n_edges", MK_INT, nedges),
        MK("n_types", MK_INT, ntypes),
        MK("n_labels", MK_INT, nlabels),
        MK("n_gc_garbage", MK_INT, ngc_garbage),
        MK("n_roots", MK_INT, nroots),
        MK("n_threads", MK_INT, nthreads),
        MK("n_frames", MK_INT, nframes),
        MK("checksum", MK_TEXT, checksum),
        MKV("n_previews", MK_INT, npreviews, 2),
        MKV("previews_dropped", MK_INT, previews_dropped, 2),
        MKV("previews_checksum", MK_TEXT, previews_checksum, 2),
        MKV("fork_ms", MK_REAL, fork_ms, 3),
};
#define N_META_KEYS (sizeof(meta_keys) / sizeof(meta_keys[0]))

/* ---- checksum ----------------------------------------------------------
 * Catches what SQLite cannot: a flipped byte inside a row is a valid row
 * with a wrong value.  Each step is a bijection of the state for a given
 * word, so any single changed field changes the result.  Words are built
 * from values, never from memory layout, so the sum is the same on every
 * machine. */

static inline void cs_word(uint64_t *s, uint64_t w)
{
        uint64_t x = *s ^ w;

        *s = ((x << 29) | (x >> 35)) * 0x9e3779b97f4a7c15ULL;
}

static void cs_str(uint64_t *s, const char *p)
{
        size_t n;
        uint64_t w = 0;

        if (!p) {
                cs_word(s, UINT64_MAX); /* no string, unlike "" */
                return;
        }
        n = strlen(p);
        cs_word(s, n);
        for (size_t i = 0; i < n; i++) {
                w |= (uint64_t)(unsigned char)p[i] << (8 * (i % 8));
                if (i % 8 == 7 || i + 1 == n) {
                        cs_word(s, w);
                        w = 0;
                }
        }
}

static uint64_t dbl_bits(double v)
{
        uint64_t u;

        memcpy(&u, &v, sizeof(u));
        return u;
}

static uint64_t model_checksum(const struct heap *h)
{
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        uint64_t s = 0x243f6a8885a308d3ULL;

        cs_word(&s, h->ntypes);
        for (uint32_t t = 0; t < h->ntypes; t++) {
                cs_word(&s, h->types[t].addr);
                cs_str(&s, h->types[t].module);
                cs_str(&s, h->types[t].qualname);
                cs_word(&s, h->types[t].opaque);
        }
        cs_word(&s, h->nlabels);
        for (uint32_t l = 0; l < h->nlabels; l++)
                cs_str(&s, h->labels[l]);
        cs_word(&s, h->nobjs);
        cs_word(&s, h->ntracked);
        for (uint32_t i = 0; i < h->nobjs; i++) {
                const struct heap_obj *o = &h->objs[i];

                cs_word(&s, o->addr);
                cs_word(&s, o->size);
                cs_word(&s, (uint64_t)o->refcnt);
                cs_word(&s, o->type | (uint64_t)o->gen << 32 | (uint64_t)o->flags << 40);
                cs_word(&s, h->edge_start[i]);
        }
        cs_word(&s, h->nedges);
        for (uint64_t e = 0; e < h->nedges; e++)
                cs_word(&s, h->edge_dst[e] | (uint64_t)h->edge_label[e] << 32);
        cs_word(&s, h->ngc_garbage);
        for (uint32_t i = 0; i < h->ngc_garbage; i++)
                cs_word(&s, h->gc_garbage[i]);
        /* recorded roots only: the computed ones are analysis */
        for (uint32_t i = 0; i < h->nroots; i++) {
                const struct heap_root *r = &h->roots[i];

                if (heap_root_is_computed(r))
                        continue;
                cs_word(&s, r->obj | (uint64_t)r->kind << 32);
                cs_word(&s, r->label | (uint64_t)r->frame << 32);
        }
        cs_word(&s, h->nthreads);
        for (uint32_t i = 0; i < h->nthreads; i++) {
                const struct heap_thread *t = &h->threads[i];

                cs_word(&s, t->thread_id);
                cs_word(&s, (uint64_t)t->native_id);
                cs_word(&s, t->first_frame | (uint64_t)t->nframes << 32);
        }
        cs_word(&s, h->nframes);
        for (uint32_t i = 0; i < h->nframes; i++) {
                const struct heap_frame *f = &h->frames[i];

                cs_word(&s, f->thread | (uint64_t)f->code << 32);
                cs_word(&s, (uint64_t)(int64_t)f->line);
                cs_str(&s, f->function);
                cs_str(&s, f->filename);
        }

        cs_word(&s, g->enabled | (uint64_t)g->collecting << 1);
        cs_word(&s, (uint64_t)(int64_t)g->debug);
        for (int i = 0; i < 3; i++) {
                cs_word(&s, (uint64_t)(int64_t)g->thresholds[i]);
                cs_word(&s, (uint64_t)(int64_t)g->counts[i]);
        }
        cs_word(&s, g->frozen);

        cs_word(&s, (uint64_t)(int64_t)m->pid);
        cs_str(&s, m->python_version);
        cs_word(&s, m->python_hex);
        cs_str(&s, m->layout_source);
        cs_str(&s, m->interp_path);
        cs_word(&s, dbl_bits(m->pause_ms));
        cs_word(&s, dbl_bits(m->stop_ms));
        cs_word(&s, (uint64_t)(int64_t)m->threads);
        cs_word(&s, m->bytes_copied);
        cs_word(&s, dbl_bits(m->walk_ms));
        cs_word(&s, dbl_bits(m->analyse_ms));
        cs_word(&s, (uint64_t)(int64_t)m->interpreters);
        cs_word(&s, m->inconsistencies);
        cs_word(&s, m->approximate);
        cs_word(&s, m->live_retries);
        cs_word(&s, m->layout_gaps);
        cs_word(&s, (uint64_t)(int64_t)m->pid_in_namespace);
        cs_str(&s, m->snapshot_mode);
        cs_word(&s, dbl_bits(m->symbols_ms));
        cs_str(&s, m->layout_disagreements);
        return s;
}

/* The previews: a checksum of their own (meta.previews_checksum), so that
 * the main one stays what a format-1 reader computes. */
static uint64_t previews_checksum(const struct heap *h)
{
        uint64_t s = 0x13198a2e03707344ULL;

        cs_word(&s, h->npreviews);
        for (uint32_t k = 0; k < h->npreviews; k++) {
                cs_word(&s, h->preview_obj[k]);
                cs_str(&s, h->preview_pool + h->preview_off[k]);
        }
        cs_word(&s, h->meta.previews_dropped);
        return s;
}

/* ---- shared helpers ----------------------------------------------------- */

static int sqlite_errno(sqlite3 *db, int rc)
{
        int sys;

        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_FORMAT:
        case SQLITE_SCHEMA:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
        case SQLITE_CONSTRAINT:
                return -EBADMSG;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
                sys = db ? sqlite3_system_errno(db) : 0;
                return sys > 0 ? -sys : -EIO;
        default:
                return -EIO;
        }
}

static const char *db_msg(sqlite3 *db, int rc)
{
        return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

/* Steps a one-shot statement to completion. */
static int exec_done(sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        sqlite3_reset(st);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- writer ------------------------------------------------------------- */

struct writer {
        sqlite3 *db;
        const char *path;
        struct diag *d;
};

static int wfail(struct writer *w, int rc, const char *what)
{
        int err = sqlite_errno(w->db, rc);

        diag_set(w->d, err, "cannot write dump %s: %s: %s", w->path, what, db_msg(w->db, rc));
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

static const char schema_sql[] =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value);\n"
        "CREATE TABLE gc_state(enabled INTEGER, collecting INTEGER, debug INTEGER,"
        " threshold0 INTEGER, threshold1 INTEGER, threshold2 INTEGER,"
        " count0 INTEGER, count1 INTEGER, count2 INTEGER, frozen INTEGER);\n"
        "CREATE TABLE types(type_id INTEGER PRIMARY KEY, addr INTEGER, module TEXT,"
        " qualname TEXT, fullname TEXT, count INTEGER, bytes INTEGER, tracked INTEGER,"
        " opaque INTEGER, retained INTEGER);\n"
        "CREATE TABLE objects(obj_id INTEGER PRIMARY KEY, addr INTEGER, type_id INTEGER,"
        " gen TEXT, refcnt INTEGER, size INTEGER, flags INTEGER, retained INTEGER,"
        " idom INTEGER, root TEXT, preview TEXT);\n"
        "CREATE TABLE labels(label_id INTEGER PRIMARY KEY, text TEXT);\n"
        "CREATE TABLE edges(src INTEGER, ord INTEGER, dst INTEGER, label_id INTEGER,"
        " idx INTEGER, PRIMARY KEY (src, ord)) WITHOUT ROWID;\n"
        "CREATE TABLE cycles(cycle_id INTEGER PRIMARY KEY, members INTEGER, bytes INTEGER,"
        " garbage INTEGER, retained INTEGER, signature TEXT);\n"
        "CREATE TABLE cycle_members(cycle_id INTEGER, obj_id INTEGER,"
        " PRIMARY KEY (cycle_id, obj_id)) WITHOUT ROWID;\n"
        "CREATE TABLE local_cycles(cycle_id INTEGER PRIMARY KEY, members INTEGER,"
        " bytes INTEGER, garbage INTEGER, retained INTEGER, signature TEXT);\n"
        "CREATE TABLE local_cycle_members(cycle_id INTEGER, obj_id INTEGER,"
        " PRIMARY KEY (cycle_id, obj_id)) WITHOUT ROWID;\n"
        "CREATE TABLE roots(root_id INTEGER PRIMARY KEY, obj_id INTEGER, kind TEXT,"
        " label_id INTEGER, idx INTEGER, frame_id INTEGER);\n"
        "CREATE TABLE threads(thread_id INTEGER PRIMARY KEY, ident INTEGER,"
        " native_id INTEGER, first_frame INTEGER, nframes INTEGER);\n"
        "CREATE TABLE frames(frame_id INTEGER PRIMARY KEY, thread_id INTEGER,"
        " depth INTEGER, function TEXT, filename TEXT, line INTEGER,"
        " code_obj_id INTEGER);\n"
        "CREATE TABLE garbage(obj_id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE gc_garbage(pos INTEGER PRIMARY KEY, obj_id INTEGER);\n"
        "CREATE VIEW v_objects AS SELECT o.obj_id, o.addr, printf('0x%x', o.addr) AS hex,"
        " t.fullname AS type, o.gen, o.refcnt, o.size, o.retained, o.idom, o.root,"
        " o.flags & 1 AS opaque, (o.flags >> 4) & 1 AS garbage,"
        " (o.flags >> 6) & 1 AS in_cycle,"
        " (SELECT min(g.pos) FROM gc_garbage g WHERE g.obj_id = o.obj_id)"
        " AS gc_garbage_pos, o.preview FROM objects o LEFT JOIN types t USING (type_id);\n"
        "CREATE VIEW v_edges AS SELECT e.src, printf('0x%x', s.addr) AS src_hex,"
        " st.fullname AS src_type, e.ord,"
        " coalesce(l.text, '[' || e.idx || ']') AS label,"
        " e.dst, printf('0x%x', d.addr) AS dst_hex, dt.fullname AS dst_type"
        " FROM edges e JOIN objects s ON s.obj_id = e.src"
        " JOIN objects d ON d.obj_id = e.dst"
        " LEFT JOIN types st ON st.type_id = s.type_id"
        " LEFT JOIN types dt ON dt.type_id = d.type_id"
        " LEFT JOIN labels l ON l.label_id = e.label_id;\n"
        "CREATE VIEW v_types AS SELECT type_id, fullname, count, bytes, tracked, opaque,"
        " retained FROM types WHERE count > 0 ORDER BY bytes DESC, count DESC;\n"
        "CREATE VIEW v_cycles AS SELECT c.cycle_id, c.members, c.bytes, c.garbage,"
        " c.retained, c.signature, (SELECT printf('0x%x', o.addr) FROM cycle_members m"
        " JOIN objects o USING (obj_id) WHERE m.cycle_id = c.cycle_id"
        " ORDER BY m.obj_id LIMIT 1) AS first_hex FROM cycles c;\n"
        "CREATE VIEW v_roots AS SELECT r.root_id, r.obj_id, printf('0x%x', o.addr) AS hex,"
        " t.fullname AS type, r.kind,"
        " coalesce(l.text, '[' || r.idx || ']') AS label,"
        " f.function, f.filename, f.line"
        " FROM roots r JOIN objects o ON o.obj_id = r.obj_id"
        " LEFT JOIN types t ON t.type_id = o.type_id"
        " LEFT JOIN labels l ON l.label_id = r.label_id"
        " LEFT JOIN frames f ON f.frame_id = r.frame_id"
        " UNION ALL SELECT NULL, o.obj_id, printf('0x%x', o.addr), t.fullname, o.root,"
        " NULL, NULL, NULL, NULL FROM objects o LEFT JOIN types t USING (type_id)"
        " WHERE o.root IS NOT NULL;\n";

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
        rc = exec_done(st);
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
        dm->analysed = h->analysed;
        dm->nobjs = h->nobjs;
        dm->ntracked = h->ntracked;
        dm->nedges = (int64_t)h->nedges;
        dm->ntypes = h->ntypes;
        dm->nlabels = h->nlabels;
        dm->ngc_garbage = h->ngc_garbage;
        for (uint32_t i = 0; i < h->nroots; i++)
                dm->nroots += !heap_root_is_computed(&h->roots[i]);
        dm->nthreads = h->nthreads;
        dm->nframes = h->nframes;
        snprintf(dm->checksum, sizeof(dm->checksum), "%016" PRIx64, model_checksum(h));
        dm->npreviews = h->npreviews;
        dm->previews_dropped = (int64_t)h->meta.previews_dropped;
        snprintf(dm->previews_checksum, sizeof(dm->previews_checksum), "%016" PRIx64,
                 previews_checksum(h));
}

static int write_meta(struct writer *w, const struct dump_meta *dm)
{
        sqlite3_stmt *st = NULL;
        int r, rc = SQLITE_OK;

        r = wprep(w, "INSERT INTO meta VALUES (?, ?)", &st);
        if (r < 0)
                return r;
        for (size_t k = 0; k < N_META_KEYS && rc == SQLITE_OK; k++) {
                const struct mkey *mk = &meta_keys[k];
                const char *p = (const char *)dm + mk->off;

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
                rc = exec_done(st);
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
        cell_int(b, 0, g->enabled);
        cell_int(b, 1, g->collecting);
        cell_int(b, 2, g->debug);
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

static const char *const root_kind_names[HEAP_ROOT__COUNT] = {
        [HEAP_ROOT_MODULE] = "module",
        [HEAP_ROOT_THREAD] = "thread",
        [HEAP_ROOT_INTERP] = "interp",
        [HEAP_ROOT_EXTERNAL] = "external",
        [HEAP_ROOT_IMMORTAL] = "immortal",
        [HEAP_ROOT_PERMANENT] = "permanent",
};

static int write_objects(struct writer *w, const struct heap *h)
{
        struct batch *b = NULL;
        uint8_t *rootk = NULL;
        int r;

        /* the computed roots: at most one per object (analysis.h) */
        if (h->nroots) {
                rootk = malloc(h->nobjs ? h->nobjs : 1);
                if (!rootk)
                        return w_oom(w);
                memset(rootk, 0xff, h->nobjs);
                for (uint32_t i = 0; i < h->nroots; i++)
                        if (heap_root_is_computed(&h->roots[i]) && h->roots[i].obj < h->nobjs &&
                            h->roots[i].kind < HEAP_ROOT__COUNT)
                                rootk[h->roots[i].obj] = h->roots[i].kind;
        }
        r = batch_new(w, "objects", 11, &b);
        for (uint32_t i = 0, k = 0; i < h->nobjs && r >= 0; i++) {
                const struct heap_obj *o = &h->objs[i];

                cell_int(b, 0, i);
                cell_int(b, 1, (int64_t)o->addr);
                cell_int(b, 2, o->type);
                cell_text(b, 3, heap_gen_name(o->gen));
                cell_int(b, 4, o->refcnt);
                cell_int(b, 5, (int64_t)o->size);
                cell_int(b, 6, o->flags);
                if (h->retained)
                        cell_int(b, 7, (int64_t)h->retained[i]);
                else
                        cell_null(b, 7);
                if (h->idom && h->idom[i] < h->nobjs)
                        cell_int(b, 8, h->idom[i]);
                else
                        cell_null(b, 8);
                cell_text(b, 9, rootk && rootk[i] != 0xff ? root_kind_names[rootk[i]] : NULL);
                /* previews are sorted by object: one cursor */
                while (k < h->npreviews && h->preview_obj[k] < i)
                        k++;
                cell_text(b, 10, k < h->npreviews && h->preview_obj[k] == i ?
                          h->preview_pool + h->preview_off[k] : NULL);
                r = batch_row(b);
        }
        free(rootk);
        return batch_end(b, r);
}

static int write_edges(struct writer *w, const struct heap *h)
{
        struct batch *b = NULL;
        int r = batch_new(w, "edges", 5, &b);

        for (uint32_t i = 0; i < h->ntracked && r >= 0; i++) {
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1] && r >= 0; e++) {
                        uint32_t l = h->edge_label[e];

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
                rc = exec_done(cy);
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
                cell_text(b, 2, rt->kind < HEAP_ROOT__COUNT ? root_kind_names[rt->kind] : "?");
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
         * big cache and in-memory sorts for the indexes.  (16 KiB pages
         * measured slower than the default 4 KiB.) */
        snprintf(pragmas, sizeof(pragmas),
                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                 " PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY;"
                 " PRAGMA cache_size=-131072; PRAGMA application_id=%d;"
                 " PRAGMA user_version=%d;",
                 STORE_APP_ID, HEAP_STORE_FORMAT_VERSION);
        r = wexec(w, pragmas);
        if (r < 0)
                return r;
        fill_dump_meta(h, o, &dm);
        r = wexec(w, "BEGIN");
        if (r < 0)
                return r;
        r = wexec(w, schema_sql);
        if (r >= 0)
                r = write_meta(w, &dm);
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && r >= 0; i++)
                r = tables[i](w, h);
        if (r >= 0)
                r = wexec(w, index_sql);
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
        fd = mkostemp(tmp, O_CLOEXEC);
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
        rc = sqlite3_open_v2(tmp, &w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
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
        fsync_dir_of(path);
        free(tmp);
        return 0;
fail:
        if (w.db)
                sqlite3_close(w.db);
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        free(tmp);
        return r;
}

/* ---- reader ------------------------------------------------------------- */

struct reader {
        const char *path;
        sqlite3 *db;
        struct diag *d;
        off_t size;
        struct dump_meta dm;
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
        int err = sqlite_errno(rd->db, rc);
        const char *msg = db_msg(rd->db, rc);

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
        rc = sqlite3_open_v2(rd->path, &rd->db, SQLITE_OPEN_READONLY, NULL);
        if (rc != SQLITE_OK)
                return rfail(rd, rc);
        /* The file is input: do not let its schema run functions with side
         * effects, and let SQLite check cells more strictly. */
        sqlite3_db_config(rd->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(rd->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        rc = sqlite3_exec(rd->db, "PRAGMA cell_size_check=ON; PRAGMA cache_size=-65536;",
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

static int meta_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int type = sqlite3_column_type(st, 1);
        bool *seen = ctx;

        if (n >= META_MAX_ROWS)
                return damaged(rd, "meta table has more than %d rows", META_MAX_ROWS);
        for (size_t k = 0; key && k < N_META_KEYS; k++) {
                const struct mkey *mk = &meta_keys[k];
                char *p = (char *)&rd->dm + mk->off;

                if (strcmp(key, mk->key) != 0)
                        continue;
                if (mk->kind == MK_TEXT && type == SQLITE_TEXT) {
                        const char *v = (const char *)sqlite3_column_text(st, 1);

                        snprintf(p, mk->len, "%s", v ? v : "");
                        seen[k] = true;
                } else if (mk->kind == MK_INT && type == SQLITE_INTEGER) {
                        int64_t v = sqlite3_column_int64(st, 1);

                        memcpy(p, &v, sizeof(v));
                        seen[k] = true;
                } else if (mk->kind == MK_REAL &&
                           (type == SQLITE_FLOAT || type == SQLITE_INTEGER)) {
                        double v = sqlite3_column_double(st, 1);

                        memcpy(p, &v, sizeof(v));
                        seen[k] = true;
                }
                break;
        }
        return ROW_NEXT;
}

static int read_meta(struct reader *rd)
{
        static const struct table meta = {"meta", meta_row, false, "SELECT key, value FROM meta"};
        struct dump_meta *dm = &rd->dm;
        bool seen[N_META_KEYS] = {false};
        unsigned mask = 0;
        int r;

        r = check_tables(rd, &mask);
        if (r < 0)
                return r;
        if (!(mask & 1))
                return not_dump(rd, "a foreign SQLite database: no meta table");
        memset(dm, 0, sizeof(*dm));
        r = read_rows(rd, &meta, -1, seen, NULL);
        if (r < 0)
                return r;
        if (!seen[0] || strcmp(dm->format, STORE_FORMAT) != 0)
                return not_dump(rd, "a foreign SQLite database");
        if (!seen[1] || dm->format_version < 1)
                return damaged(rd, "no valid format_version in meta");
        if (!seen[2]) {
                dm->min_reader = dm->format_version;
                seen[2] = true;
        }
        if (dm->min_reader > HEAP_STORE_FORMAT_VERSION) {
                diag_set(rd->d, -EPROTONOSUPPORT,
                         "%s was written by a newer pyleak-attach (format %" PRId64
                         "); this one reads up to format %d",
                         rd->path, dm->format_version, HEAP_STORE_FORMAT_VERSION);
                diag_append(rd->d, "hint: upgrade pyleak-attach to open it");
                return -EPROTONOSUPPORT;
        }
        for (size_t k = 0; k < N_META_KEYS; k++)
                if (!seen[k] && meta_keys[k].since <= dm->format_version)
                        return damaged(rd, "meta key '%s' missing or of the wrong type",
                                       meta_keys[k].key);
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
            dm->npreviews > cap || dm->npreviews > dm->nobjs || dm->previews_dropped < 0)
                return damaged(rd, "implausible row counts in meta");
        if (dm->pid < INT_MIN || dm->pid > INT_MAX || dm->threads < INT_MIN ||
            dm->threads > INT_MAX || dm->interpreters < INT_MIN || dm->interpreters > INT_MAX ||
            dm->python_hex < 0 || dm->python_hex > UINT32_MAX)
                return damaged(rd, "implausible values in meta");
        /* outside the checksum (see the schema): bounded here instead */
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

struct objects_ctx {
        struct heap *h;
        bool untracked;      /* past the tracked objects */
};

static int object_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct objects_ctx *c = ctx;
        struct heap *h = c->h;
        int gen = parse_gen((const char *)sqlite3_column_text(st, 3));
        int64_t type = sqlite3_column_int64(st, 2), flags = sqlite3_column_int64(st, 6);
        const char *pv;
        int r, pvtype;

        if (!col_is_int(st, 1) || !col_is_int(st, 2) || !col_is_int(st, 4) ||
            !col_is_int(st, 5) || !col_is_int(st, 6) || gen < 0 || type < 0 ||
            type >= h->ntypes || flags < 0 || flags > UINT8_MAX)
                return ROW_MALFORMED;
        if (gen == HEAP_GEN_UNTRACKED && !c->untracked) {
                heap_mark_tracked_done(h);
                c->untracked = true;
        }
        r = heap_add_object(h, (uint64_t)sqlite3_column_int64(st, 1), (uint32_t)type, gen,
                            sqlite3_column_int64(st, 4), (uint64_t)sqlite3_column_int64(st, 5),
                            (uint8_t)flags, NULL);
        if (r < 0)
                return build_fail(rd, r, "objects", (uint64_t)n);
        /* the type before the text: reading converts it */
        pvtype = rd->dm.format_version >= 2 ? sqlite3_column_type(st, 7) : SQLITE_NULL;
        if (pvtype == SQLITE_NULL)
                return ROW_NEXT;
        pv = pvtype == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, 7) : NULL;
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
                "SELECT obj_id, addr, type_id, gen, refcnt, size, flags, preview"
                " FROM objects ORDER BY obj_id",
        };
        /* format 1 has no preview column */
        static const struct table objects_v1 = {
                "objects", object_row, true,
                "SELECT obj_id, addr, type_id, gen, refcnt, size, flags"
                " FROM objects ORDER BY obj_id",
        };
        struct objects_ctx c = {.h = h};
        int r = read_rows(rd, rd->dm.format_version >= 2 ? &objects : &objects_v1, rd->dm.nobjs,
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
        snprintf(sum, sizeof(sum), "%016" PRIx64, previews_checksum(h));
        if (strcmp(sum, rd->dm.previews_checksum) != 0)
                return damaged(rd, "previews checksum mismatch: rows say %s, meta says %s", sum,
                               rd->dm.previews_checksum);
        return 0;
}

struct edges_ctx {
        struct heap *h;
        int64_t prev_src, next_ord;
};

static int edge_row(struct reader *rd, sqlite3_stmt *st, int64_t n, void *ctx)
{
        struct edges_ctx *c = ctx;
        struct heap *h = c->h;
        int64_t src = sqlite3_column_int64(st, 0), ord = sqlite3_column_int64(st, 1);
        int64_t dst = sqlite3_column_int64(st, 2);
        int64_t label;
        bool index_label = sqlite3_column_type(st, 3) == SQLITE_NULL;
        int r;

        if (src != c->prev_src)
                c->next_ord = 0;
        if (index_label) {
                label = sqlite3_column_int64(st, 4);
                if (!col_is_int(st, 4) || label < 0 || label > INT32_MAX)
                        label = -1;
                else
                        label = heap_label_index((uint32_t)label);
        } else {
                label = sqlite3_column_int64(st, 3);
                if (!col_is_int(st, 3) || label < 0 || label >= h->nlabels ||
                    sqlite3_column_type(st, 4) != SQLITE_NULL)
                        label = -1;
        }
        /* ord must run 0, 1, 2... within each source: a gap is a lost row */
        if (!col_is_int(st, 0) || !col_is_int(st, 1) || !col_is_int(st, 2) || src < 0 ||
            src >= h->ntracked || src < c->prev_src || ord != c->next_ord || dst < 0 ||
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
        struct edges_ctx c = {.h = h, .prev_src = -1};

        return read_rows(rd, &edges, rd->dm.nedges, &c, NULL);
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
        for (int c = 0; c < 10; c++) {
                int64_t v = sqlite3_column_int64(st, c);

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
                if (strcmp(s, root_kind_names[k]) == 0)
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
        m->previews_dropped = (uint64_t)dm->previews_dropped;
}

static int load(struct reader *rd, struct heap *h)
{
        const struct dump_meta *dm = &rd->dm;
        char sum[24];
        int r;

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
            h->ntracked != dm->ntracked || (int64_t)h->nedges != dm->nedges)
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
        if (r < 0)
                return r;
        restore_meta(dm, &h->meta);
        snprintf(sum, sizeof(sum), "%016" PRIx64, model_checksum(h));
        if (strcmp(sum, dm->checksum) != 0)
                return damaged(rd, "checksum mismatch: rows say %s, meta says %s", sum,
                               dm->checksum);
        r = heap_analyse(h);
        if (r < 0)
                return r == -ENOMEM ? diag_set(rd->d, r, "cannot analyse dump %s: out of memory",
                                               rd->path)
                                    : damaged(rd, "analysis failed: %s", strerror(-r));
        /* The analysis recomputed what the live run computed; the snapshot
         * facts it touches (timing, inconsistencies) are the live run's. */
        if (dm->analysed)
                restore_meta(dm, &h->meta);
        return 0;
}

static void reader_close(struct reader *rd)
{
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
