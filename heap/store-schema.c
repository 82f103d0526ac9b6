/* store-schema.c: what the dump writer and reader share (store-internal.h):
 * the schema, the meta keys, the checksums, the SQLite error mapping.
 *
 * ---- Dump file schema, format 7 (README.md "Dump file" copies this) -----
 *
 * A dump is an SQLite 3 database, application_id 0x50594c4b ("PYLK"),
 * user_version = format_version.  It holds one snapshot: the object graph
 * exactly as the live run built it, the analyses, and where it came from.
 * Query it with `sqlite3 -readonly FILE 'select ...'`.  Adding your own
 * tables, views or indexes is harmless; changing, adding or deleting any
 * row of the tables below makes pyleak-attach reject the file, naming
 * what failed: the snapshot's rows are covered by meta.checksum and
 * meta.previews_checksum, every meta row by meta.meta_checksum (format
 * 4+), and the analysis columns and tables (objects.retained, idom, root,
 * types.retained, cycles, local_cycles and their members, garbage) by
 * meta.analysis_checksum (format 7+: the reader loads them, checking
 * every index, that each object is in at most one cycle of a set, that
 * idom makes a tree and that the flags agree with the lists, and
 * recomputes the computed roots, objects.root); in format 6 and older
 * they are recomputed from the graph and compared cell by cell.  Format 2
 * and 3 files have no meta_checksum: their host, time, tool_version and
 * the other meta facts outside meta.checksum are checked for type and
 * range only.
 *
 * obj_id is the model's object number: tracked objects (those on a GC list)
 * come first, in walk order, then the untracked objects they refer to.
 * Every `addr` is the object's address, which is its id() in Python
 * (SQLite integers are signed 64-bit; user-space addresses always fit).
 * Booleans are 0/1.  Numbers that count from 0 (ids, positions) are 0-based.
 *
 * meta(key TEXT PRIMARY KEY, value)            one row per fact, typed
 *   format           'pyleak-attach-dump' (what makes the file a dump)
 *   format_version   7: the schema version the file was written with
 *   min_reader       1: the oldest format_version a reader may support and
 *                    still read this file.  Additive changes (new tables,
 *                    columns, meta keys) raise format_version only; a
 *                    reader refuses files whose min_reader is above what it
 *                    knows ("needs a newer pyleak-attach"), and reads older
 *                    formats as they are.  Both are integers (SQLite
 *                    typeof 'integer'), 1 <= min_reader <= format_version;
 *                    anything else is a damaged file
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
 *                    the file; covered by meta_checksum, and checked
 *                    against pause_ms)
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
 *   layout_checks, layout_candidates, layout_inferred, layout_gapped,
 *   layout_experimental
 *                    (format 5+) python.layout of the JSON report: the
 *                    checks that held, the candidates tried, what was
 *                    inferred, the structs left out ('; '-separated text),
 *                    1 for an experimental layout
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
 *   meta_checksum    (format 4+) hex 64-bit hash of every other row of
 *                    meta, key order, each value with its SQLite type (so
 *                    4, 4.0 and '4' differ); a row added to meta changes
 *                    it too.  Checked whenever present, whatever
 *                    format_version says
 *   n_native, n_untracked_edges
 *                    (format 6+) objects with native bytes, rows of
 *                    untracked_edges
 *   native_checksum  (format 6+) hex 64-bit hash of objects.native and of
 *                    untracked_edges; apart from checksum (which covers
 *                    the tracked objects' edges only) so that a format-5
 *                    reader, which knows neither, still accepts the file
 *   rss              (format 6+) the target's VmRSS in bytes at snapshot
 *                    time, -1 when unknown (core files)
 *   arenas_used, arenas_free
 *                    (format 6+) pymalloc's arenas: the bytes of the
 *                    arenas it holds (allocated arenas x arena size) and,
 *                    of them, the bytes holding no block (unused pools and
 *                    the free blocks of pools in use); -1 when unknown
 *   arenas_why       (format 6+) why they are unknown ('' when known)
 *   analysis_checksum (format 7+) hex 64-bit hash of the analysis columns
 *                    and tables (objects.retained, idom; types.retained;
 *                    cycles, local_cycles and their members; garbage),
 *                    '0000000000000000' when analysed is 0; a format-7
 *                    reader loads the analysis under it instead of
 *                    recomputing it
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
 *         flags, retained, idom, root, preview, native)
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
 *   native    (format 6+) native bytes: the buffer outside the object
 *             that it owns (a bytearray's allocation, an array.array's
 *             items, a numpy array's shape and own data; see
 *             heap/native.c), which size leaves out and retained
 *             includes; NULL when none
 *
 * labels(label_id INTEGER PRIMARY KEY, text)
 *   edge labels other than item indices: '.attr', "['key']", '<key>',
 *   '__class__', ...
 *
 * edges(src, ord, dst, label_id, idx)  PRIMARY KEY (src, ord)
 *   one row per reference src -> dst (obj_ids); ord is the position in the
 *   source's tp_traverse order (0, 1, ...); only tracked objects
 *   have outgoing edges here.  The label is labels.text for label_id, or
 *   '[idx]' (a sequence item) when label_id is NULL.
 * untracked_edges(src, ord, dst, label_id, idx)  PRIMARY KEY (src, ord)
 *   (format 6+) the same for the few untracked objects whose references the
 *   walker records: a numpy array that is a view, '.base' to its base (no
 *   tp_traverse reports it; it is what keeps the base's data alive)
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
 * Building an index costs about a second per million rows, as much as
 * writing the rows themselves; without them a lookup by
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
 * fork_ms; 4 adds meta_checksum; 5 the layout_* keys; 6 adds
 * objects.native, the untracked_edges table and the meta keys n_native,
 * n_untracked_edges, native_checksum, rss, arenas_used, arenas_free,
 * arenas_why (all additive: min_reader stays 1, so an older pyleak-attach
 * still opens a format-6 file, without the native bytes, the view edges
 * and the accounting figures, and without checking what it does not
 * know); 7 adds the meta key analysis_checksum (additive too: an older
 * reader recomputes the analysis and compares it, as before).
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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "store-internal.h"

#define MKV(k, kind, field, v) \
        {k, kind, offsetof(struct dump_meta, field), \
         sizeof(((struct dump_meta *)0)->field), v}
#define MK(k, kind, field) MKV(k, kind, field, 1)

const struct mkey store_meta_keys[N_META_KEYS] = {
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
        MKV("meta_checksum", MK_TEXT, meta_checksum, 4),
        MKV("layout_checks", MK_TEXT, layout_checks, 5),
        MKV("layout_candidates", MK_TEXT, layout_candidates, 5),
        MKV("layout_inferred", MK_TEXT, layout_inferred, 5),
        MKV("layout_gapped", MK_TEXT, layout_gapped, 5),
        MKV("layout_experimental", MK_INT, layout_experimental, 5),
        MKV("n_native", MK_INT, nnative, 6),
        MKV("n_untracked_edges", MK_INT, nuedges, 6),
        MKV("native_checksum", MK_TEXT, native_checksum, 6),
        MKV("rss", MK_INT, rss, 6),
        MKV("arenas_used", MK_INT, arenas_used, 6),
        MKV("arenas_free", MK_INT, arenas_free, 6),
        MKV("arenas_why", MK_TEXT, arenas_why, 6),
        MKV("analysis_checksum", MK_TEXT, analysis_checksum, 7),
};
_Static_assert(sizeof(store_meta_keys) / sizeof(store_meta_keys[0]) == N_META_KEYS,
               "N_META_KEYS must count store_meta_keys");

const char *const store_root_kind_names[HEAP_ROOT__COUNT] = {
        [HEAP_ROOT_MODULE] = "module",
        [HEAP_ROOT_THREAD] = "thread",
        [HEAP_ROOT_INTERP] = "interp",
        [HEAP_ROOT_EXTERNAL] = "external",
        [HEAP_ROOT_IMMORTAL] = "immortal",
        [HEAP_ROOT_PERMANENT] = "permanent",
};

const char store_schema_sql[] =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value);\n"
        "CREATE TABLE gc_state(enabled INTEGER, collecting INTEGER, debug INTEGER,"
        " threshold0 INTEGER, threshold1 INTEGER, threshold2 INTEGER,"
        " count0 INTEGER, count1 INTEGER, count2 INTEGER, frozen INTEGER);\n"
        "CREATE TABLE types(type_id INTEGER PRIMARY KEY, addr INTEGER, module TEXT,"
        " qualname TEXT, fullname TEXT, count INTEGER, bytes INTEGER, tracked INTEGER,"
        " opaque INTEGER, retained INTEGER);\n"
        "CREATE TABLE objects(obj_id INTEGER PRIMARY KEY, addr INTEGER, type_id INTEGER,"
        " gen TEXT, refcnt INTEGER, size INTEGER, flags INTEGER, retained INTEGER,"
        " idom INTEGER, root TEXT, preview TEXT, native INTEGER);\n"
        "CREATE TABLE labels(label_id INTEGER PRIMARY KEY, text TEXT);\n"
        "CREATE TABLE untracked_edges(src INTEGER, ord INTEGER, dst INTEGER,"
        " label_id INTEGER, idx INTEGER, PRIMARY KEY (src, ord)) WITHOUT ROWID;\n"
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

/* ---- checksum ----------------------------------------------------------
 * Catches what SQLite cannot: a flipped byte inside a row is a valid row
 * with a wrong value.  Each step is a bijection of the state for a given
 * word, so any single changed field changes the result.  Words are built
 * from values, never from memory layout, so the sum is the same on every
 * machine. */

void store_cs_bytes(uint64_t *s, const void *buf, size_t n)
{
        const unsigned char *p = buf;
        uint64_t w = 0;

        cs_word(s, n);
        for (size_t i = 0; i < n; i++) {
                w |= (uint64_t)p[i] << (8 * (i % 8));
                if (i % 8 == 7 || i + 1 == n) {
                        cs_word(s, w);
                        w = 0;
                }
        }
}

void store_cs_str(uint64_t *s, const char *p)
{
        if (!p) {
                cs_word(s, UINT64_MAX); /* no string, unlike "" */
                return;
        }
        store_cs_bytes(s, p, strlen(p));
}

uint64_t store_dbl_bits(double v)
{
        uint64_t u;

        memcpy(&u, &v, sizeof(u));
        return u;
}

uint64_t store_model_checksum(const struct heap *h)
{
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        uint64_t s = 0x243f6a8885a308d3ULL;

        cs_word(&s, h->ntypes);
        for (uint32_t t = 0; t < h->ntypes; t++) {
                cs_word(&s, h->types[t].addr);
                store_cs_str(&s, h->types[t].module);
                store_cs_str(&s, h->types[t].qualname);
                cs_word(&s, h->types[t].opaque);
        }
        cs_word(&s, h->nlabels);
        for (uint32_t l = 0; l < h->nlabels; l++)
                store_cs_str(&s, h->labels[l]);
        cs_word(&s, h->nobjs);
        cs_word(&s, h->ntracked);
        for (uint32_t i = 0; i < h->nobjs; i++) {
                const struct heap_obj *o = &h->objs[i];

                cs_word(&s, o->addr);
                cs_word(&s, o->size);
                cs_word(&s, (uint64_t)heap_refcnt(o));
                cs_word(&s, o->type | (uint64_t)o->gen << 32 | (uint64_t)o->flags << 40);
                /* the tracked objects' edges only: those of untracked
                 * objects (format 6) are meta.native_checksum's, so that
                 * older readers, which do not load them, agree */
                cs_word(&s, h->edge_start[i < h->ntracked ? i : h->ntracked]);
        }
        cs_word(&s, h->edge_start[h->ntracked]);
        for (uint32_t i = 0; i < h->ntracked; i++)
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++)
                        cs_word(&s, h->edge_dst[e] | (uint64_t)heap_edge_label(h, i, e) << 32);
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
                store_cs_str(&s, f->function);
                store_cs_str(&s, f->filename);
        }

        cs_word(&s, g->enabled | (uint64_t)g->collecting << 1 | (uint64_t)g->unknown << 2);
        cs_word(&s, (uint64_t)(int64_t)g->debug);
        for (int i = 0; i < 3; i++) {
                cs_word(&s, (uint64_t)(int64_t)g->thresholds[i]);
                cs_word(&s, (uint64_t)(int64_t)g->counts[i]);
        }
        cs_word(&s, g->frozen);

        cs_word(&s, (uint64_t)(int64_t)m->pid);
        store_cs_str(&s, m->python_version);
        cs_word(&s, m->python_hex);
        store_cs_str(&s, m->layout_source);
        store_cs_str(&s, m->interp_path);
        cs_word(&s, store_dbl_bits(m->pause_ms));
        cs_word(&s, store_dbl_bits(m->stop_ms));
        cs_word(&s, (uint64_t)(int64_t)m->threads);
        cs_word(&s, m->bytes_copied);
        cs_word(&s, store_dbl_bits(m->walk_ms));
        cs_word(&s, store_dbl_bits(m->analyse_ms));
        cs_word(&s, (uint64_t)(int64_t)m->interpreters);
        cs_word(&s, m->inconsistencies);
        cs_word(&s, m->approximate);
        cs_word(&s, m->live_retries);
        cs_word(&s, m->layout_gaps);
        cs_word(&s, (uint64_t)(int64_t)m->pid_in_namespace);
        store_cs_str(&s, m->snapshot_mode);
        cs_word(&s, store_dbl_bits(m->symbols_ms));
        store_cs_str(&s, m->layout_disagreements);
        return s;
}

/* The native bytes: a checksum of their own (meta.native_checksum), so
 * that a reader of format 5 or older, which knows neither the column nor
 * the key, still accepts the file. */
uint64_t store_native_checksum(const struct heap *h)
{
        uint64_t s = 0x6e617469766531ULL;  /* "native1" */

        cs_word(&s, h->nobjs);
        for (uint32_t i = 0; h->native && i < h->nobjs; i++)
                if (h->native[i]) {
                        cs_word(&s, i);
                        cs_word(&s, h->native[i]);
                }
        for (uint32_t i = h->ntracked; i < h->nobjs; i++)
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++) {
                        cs_word(&s, i);
                        cs_word(&s, h->edge_dst[e] | (uint64_t)heap_edge_label(h, i, e) << 32);
                }
        return s;
}

/* The analysis as stored: what a format-7 reader loads instead of
 * recomputing it.  Values are normalised as the writer stores them (an
 * idom outside the heap is NULL, UINT32_MAX here). */
uint64_t store_analysis_checksum(const struct heap *h, uint64_t sigs)
{
        const struct heap_cycles *sets[2] = {&h->cycles, &h->cycles_local};
        uint64_t s = 0x616e616c79736973ULL;  /* "analysis" */

        cs_word(&s, h->nobjs);
        cs_word(&s, h->retained != NULL);
        for (uint32_t i = 0; i < h->nobjs; i++) {
                if (h->retained)
                        cs_word(&s, h->retained[i]);
                cs_word(&s, h->idom && h->idom[i] < h->nobjs ? h->idom[i] : UINT32_MAX);
        }
        cs_word(&s, h->ntypes);
        for (uint32_t t = 0; t < h->ntypes; t++)
                cs_word(&s, h->retained ? h->types[t].retained : UINT64_MAX);
        for (int k = 0; k < 2; k++) {
                const struct heap_cycles *c = sets[k];

                cs_word(&s, c->n);
                for (uint32_t i = 0; i < c->n; i++) {
                        cs_word(&s, c->start[i + 1] - c->start[i]);
                        cs_word(&s, c->bytes[i]);
                        cs_word(&s, c->garbage[i]);
                        cs_word(&s, c->retained ? c->retained[i] : UINT64_MAX);
                        for (uint32_t m = c->start[i]; m < c->start[i + 1]; m++)
                                cs_word(&s, c->members[m]);
                }
        }
        cs_word(&s, h->ngarbage);
        for (uint32_t i = 0; i < h->ngarbage; i++)
                cs_word(&s, h->garbage[i]);
        cs_word(&s, sigs);
        return s;
}

/* The previews: a checksum of their own (meta.previews_checksum), so that
 * the main one stays what a format-1 reader computes. */
uint64_t store_previews_checksum(const struct heap *h)
{
        uint64_t s = 0x13198a2e03707344ULL;

        cs_word(&s, h->npreviews);
        for (uint32_t k = 0; k < h->npreviews; k++) {
                cs_word(&s, h->preview_obj[k]);
                store_cs_str(&s, h->preview_pool + h->preview_off[k]);
        }
        cs_word(&s, h->meta.previews_dropped);
        return s;
}

/* One SQLite value with its type, so that 4, 4.0 and '4' differ. */
void store_cs_value(uint64_t *s, sqlite3_stmt *st, int col)
{
        int type = sqlite3_column_type(st, col);

        cs_word(s, (uint64_t)type);
        switch (type) {
        case SQLITE_INTEGER:
                cs_word(s, (uint64_t)sqlite3_column_int64(st, col));
                break;
        case SQLITE_FLOAT:
                cs_word(s, store_dbl_bits(sqlite3_column_double(st, col)));
                break;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
                const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
                                                    : sqlite3_column_blob(st, col);
                int n = sqlite3_column_bytes(st, col);

                store_cs_bytes(s, p, p && n > 0 ? (size_t)n : 0);
                break;
        }
        default:
                break;
        }
}

/* meta.meta_checksum (format 4+): every other row of meta exactly as
 * SQLite holds it, in key order, with its type: what the model checksum
 * cannot see (format, format_version, min_reader, host, time,
 * tool_version, analysed, fork_ms, the counts and the other checksums)
 * and any row added to meta by hand.  Read back from the file by both
 * sides, so the writer's sum is the reader's by construction. */
int store_meta_checksum(sqlite3 *db, int max_rows, uint64_t *ret)
{
        sqlite3_stmt *st = NULL;
        uint64_t s = 0xa4093822299f31d0ULL;
        int rc, n = 0;

        rc = sqlite3_prepare_v2(db,
                                "SELECT key, value FROM meta WHERE key IS NOT 'meta_checksum'"
                                " ORDER BY key",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n++ < max_rows) {
                store_cs_value(&s, st, 0);
                store_cs_value(&s, st, 1);
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
                return SQLITE_TOOBIG;
        if (rc != SQLITE_DONE)
                return rc;
        cs_word(&s, (uint64_t)n);
        *ret = s;
        return SQLITE_OK;
}

/* ---- the analysis as the writer records it ------------------------------ */

int store_root_kinds(const struct heap *h, uint8_t **ret)
{
        uint8_t *rootk = NULL;

        /* the computed roots: at most one per object (analysis.h) */
        if (h->nroots) {
                rootk = malloc(h->nobjs ? h->nobjs : 1);
                if (!rootk)
                        return -ENOMEM;
                memset(rootk, 0xff, h->nobjs);
                for (uint32_t i = 0; i < h->nroots; i++)
                        if (heap_root_is_computed(&h->roots[i]) && h->roots[i].obj < h->nobjs &&
                            h->roots[i].kind < HEAP_ROOT__COUNT)
                                rootk[h->roots[i].obj] = h->roots[i].kind;
        }
        *ret = rootk;
        return 0;
}

void store_obj_analysis(const struct heap *h, const uint8_t *rootk, uint32_t i,
                        struct store_obj_cells *c)
{
        c->has_retained = h->retained != NULL;
        c->retained = h->retained ? h->retained[i] : 0;
        c->has_idom = h->idom && h->idom[i] < h->nobjs;
        c->idom = c->has_idom ? h->idom[i] : 0;
        c->root = rootk && rootk[i] != 0xff ? store_root_kind_names[rootk[i]] : NULL;
}

/* ---- shared helpers ----------------------------------------------------- */

int store_sqlite_errno(sqlite3 *db, int rc)
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

const char *store_db_msg(sqlite3 *db, int rc)
{
        return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

int store_exec_done(sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        sqlite3_reset(st);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
