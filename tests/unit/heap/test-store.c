/* test-store: the dump file.  A hand-built heap survives write + read with
 * every field of the model and the JSON report identical; the file is
 * published atomically with mode 0600 and never clobbered without force;
 * foreign, newer, truncated and corrupted files give clean errors that name
 * the file; a 1-million-object heap is timed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analysis.h"
#include "diag.h"
#include "heap-build.h"
#include "report.h"
#include "store-internal.h" /* store_meta_checksum(): reseal() */
#include "store.h"
#include "tap.h"
#include "testutil.h"

static char dir[256];

/* CPU time too: on a busy machine wall time says little about the code. */
static double cpu_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *tpath(const char *name)
{
        static char buf[4][512];
        static int k;

        k = (k + 1) % 4;
        snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
        return buf[k];
}

/* ---- the sample heap ----------------------------------------------------- */

static struct heap *sample(void)
{
        struct heap *h = heap_new();
        uint32_t tdict, tnode, tlist, tstr, topq, ttype, l_next, l_key, l_odd, l_cls;
        uint32_t a, b, c, g1, g2, lst, perm, opq, big, s1, s2, ty;
        int r = 0;

        r |= heap_intern_type(h, 0x9000, "builtins", "dict", false, &tdict);
        r |= heap_intern_type(h, 0x9100, "__main__", "Node", false, &tnode);
        r |= heap_intern_type(h, 0x9200, "builtins", "list", false, &tlist);
        r |= heap_intern_type(h, 0x9300, "builtins", "str", false, &tstr);
        r |= heap_intern_type(h, 0x9400, "_ext", "Opaque\"Thing\n", true, &topq);
        r |= heap_intern_type(h, 0xffffffff9500ULL, "", "type", false, &ttype);
        r |= heap_intern_label(h, ".next", &l_next);
        r |= heap_intern_label(h, "['k\\'ey\"']", &l_key);
        r |= heap_intern_label(h, "<caf\xc3\xa9\t\x01>", &l_odd);
        r |= heap_intern_label(h, "__class__", &l_cls);
        r |= heap_intern_label(h, "unused label", NULL);

        /* a <-> b <-> c alive (c has an outside reference), g1 <-> g2
         * garbage, lst refers to itself, perm is frozen, big has the
         * highest address, size and refcount the model stores (heap.h). */
        r |= heap_add_object(h, 0x10000, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &a);
        r |= heap_add_object(h, 0x10040, tnode, HEAP_GEN_1, 1, 48, HOBJ_HAS_GC, &b);
        r |= heap_add_object(h, 0x10080, tdict, HEAP_GEN_2, 3, 232, HOBJ_HAS_GC, &c);
        r |= heap_add_object(h, 0x20000, tnode, HEAP_GEN_2, 1, 48,
                             HOBJ_HAS_GC | HOBJ_GC_GARBAGE, &g1);
        r |= heap_add_object(h, 0x20040, tdict, HEAP_GEN_2, 1, 104, HOBJ_HAS_GC, &g2);
        r |= heap_add_object(h, 0x30000, tlist, HEAP_GEN_0, 2, 88, HOBJ_HAS_GC, &lst);
        r |= heap_add_object(h, 0x40000, tdict, HEAP_GEN_PERMANENT, 5, 64, HOBJ_HAS_GC, &perm);
        r |= heap_add_object(h, 0x50000, topq, HEAP_GEN_1, 1, 16,
                             HOBJ_HAS_GC | HOBJ_OPAQUE | HOBJ_PARTIAL, &opq);
        r |= heap_add_object(h, HEAP_ADDR_MAX - 15, tlist, HEAP_GEN_2, HEAP_REFCNT_MAX,
                             HEAP_SIZE_MAX, HOBJ_HAS_GC | HOBJ_IMMORTAL, &big);
        heap_mark_tracked_done(h);
        r |= heap_add_object(h, 0x70000, tstr, HEAP_GEN_UNTRACKED, 9, 53, 0, &s1);
        r |= heap_add_object(h, 0x70040, tstr, HEAP_GEN_UNTRACKED, -3, 0, 0, &s2);
        r |= heap_add_object(h, 0xffffffff9500ULL, ttype, HEAP_GEN_UNTRACKED, 100, 900,
                             HOBJ_IS_TYPE | HOBJ_IMMORTAL, &ty);

        r |= heap_add_edge(h, a, b, l_next);
        r |= heap_add_edge(h, a, s1, l_key);
        r |= heap_add_edge(h, b, c, l_next);
        r |= heap_add_edge(h, c, a, l_odd);
        r |= heap_add_edge(h, c, ty, l_cls);
        r |= heap_add_edge(h, g1, g2, l_next);
        r |= heap_add_edge(h, g2, g1, heap_label_index(0));
        r |= heap_add_edge(h, g2, s2, heap_label_index(0x7fffffff));
        r |= heap_add_edge(h, lst, lst, heap_label_index(0));
        r |= heap_add_edge(h, lst, s1, heap_label_index(5));
        r |= heap_add_edge(h, lst, s1, heap_label_index(6));
        r |= heap_add_edge(h, perm, c, l_key);
        r |= heap_add_edge(h, big, perm, heap_label_index(1));
        r |= heap_finish(h);
        /* previews, one set out of order and one replaced */
        r |= heap_set_preview(h, s1, "'k\\'ey\"'");
        r |= heap_set_preview(h, s2, "'caf\xc3\xa9 \xe2\x98\x83'... (len 200)");
        r |= heap_set_preview(h, lst, "len 3");
        r |= heap_set_preview(h, c, "len 2");
        r |= heap_set_preview(h, ty, "class 'type'");
        r |= heap_set_preview(h, lst, "len 7");

        h->gc_garbage = malloc(3 * sizeof(*h->gc_garbage));
        if (!h->gc_garbage)
                r = -1;
        else {
                h->gc_garbage[0] = g1;
                h->gc_garbage[1] = s1;
                h->gc_garbage[2] = g1; /* listed twice */
                h->ngc_garbage = 3;
        }
        h->gc = (struct heap_gcstate){
                .enabled = true, .collecting = false, .debug = 34,
                .thresholds = {700, 10, 10}, .counts = {512, 3, -1}, .frozen = 1,
        };
        h->meta = (struct heap_meta){
                .pid = 4242, .python_hex = 0x030c01f0, .pause_ms = 1.0 / 3,
                .stop_ms = 0.1 + 0.2, .fork_ms = 0.25, .threads = 3, .bytes_copied = 123456789012ULL,
                .walk_ms = 1e-9, .interpreters = 2, .inconsistencies = 7,
        };
        /* two threads, three frames; recorded roots of every kind */
        h->threads = calloc(2, sizeof(*h->threads));
        h->frames = calloc(3, sizeof(*h->frames));
        h->roots = calloc(4, sizeof(*h->roots));
        if (!h->threads || !h->frames || !h->roots)
                r = -1;
        else {
                h->nthreads = 2;
                h->threads[0] = (struct heap_thread){.thread_id = 0xffffffff00001111ULL,
                                                     .native_id = 77, .first_frame = 0,
                                                     .nframes = 2};
                h->threads[1] = (struct heap_thread){.thread_id = 2, .native_id = 0,
                                                     .first_frame = 2, .nframes = 1};
                h->nframes = 3;
                h->frames[0] = (struct heap_frame){.thread = 0, .function = strdup("Cls.meth"),
                                                   .filename = strdup("/app/x.py"), .line = 12,
                                                   .code = lst};
                h->frames[1] = (struct heap_frame){.thread = 0, .function = strdup("<module>"),
                                                   .filename = NULL, .line = -1,
                                                   .code = UINT32_MAX};
                h->frames[2] = (struct heap_frame){.thread = 1, .function = strdup("run"),
                                                   .filename = strdup(""), .line = 0,
                                                   .code = UINT32_MAX};
                h->cap_roots = 4;
                h->nroots = 4;
                h->roots[0] = (struct heap_root){.obj = c, .kind = HEAP_ROOT_MODULE,
                                                 .label = l_key, .frame = UINT32_MAX};
                h->roots[1] = (struct heap_root){.obj = a, .kind = HEAP_ROOT_THREAD,
                                                 .label = l_next, .frame = 1};
                h->roots[2] = (struct heap_root){.obj = opq, .kind = HEAP_ROOT_INTERP,
                                                 .label = HEAP_ROOT_NO_LABEL,
                                                 .frame = UINT32_MAX};
                h->roots[3] = (struct heap_root){.obj = lst, .kind = HEAP_ROOT_THREAD,
                                                 .label = heap_label_index(3), .frame = 2};
        }
        h->meta.previews_dropped = 5;
        snprintf(h->meta.python_version, sizeof(h->meta.python_version), "3.12.1+");
        snprintf(h->meta.layout_source, sizeof(h->meta.layout_source), "dwarf");
        snprintf(h->meta.interp_path, sizeof(h->meta.interp_path), "/usr/bin/python3.12 'x\"");
        if (r || heap_analyse(h) < 0) {
                heap_free(h);
                return NULL;
        }
        return h;
}

/* ---- comparing two heaps ------------------------------------------------- */

#define SAME(cond) do { if (!(cond)) { snprintf(why, len, "%s", #cond); return false; } } while (0)

static bool same_heap(const struct heap *a, const struct heap *b, char *why, size_t len)
{
        const struct heap_meta *ma = &a->meta, *mb = &b->meta;

        SAME(ma->pid == mb->pid);
        SAME(strcmp(ma->python_version, mb->python_version) == 0);
        SAME(ma->python_hex == mb->python_hex);
        SAME(strcmp(ma->layout_source, mb->layout_source) == 0);
        SAME(strcmp(ma->interp_path, mb->interp_path) == 0);
        SAME(ma->pause_ms == mb->pause_ms && ma->stop_ms == mb->stop_ms &&
             ma->fork_ms == mb->fork_ms);
        SAME(ma->threads == mb->threads && ma->bytes_copied == mb->bytes_copied);
        SAME(ma->walk_ms == mb->walk_ms && ma->analyse_ms == mb->analyse_ms);
        SAME(ma->interpreters == mb->interpreters);
        SAME(ma->inconsistencies == mb->inconsistencies);
        SAME(a->gc.enabled == b->gc.enabled && a->gc.collecting == b->gc.collecting);
        SAME(a->gc.debug == b->gc.debug && a->gc.frozen == b->gc.frozen);
        SAME(memcmp(a->gc.thresholds, b->gc.thresholds, sizeof(a->gc.thresholds)) == 0);
        SAME(memcmp(a->gc.counts, b->gc.counts, sizeof(a->gc.counts)) == 0);

        SAME(a->nobjs == b->nobjs && a->ntracked == b->ntracked);
        for (uint32_t i = 0; i < a->nobjs; i++) {
                const struct heap_obj *x = &a->objs[i], *y = &b->objs[i];

                SAME(x->addr == y->addr && x->size == y->size && heap_refcnt(x) == heap_refcnt(y));
                SAME(x->type == y->type && x->gen == y->gen && x->flags == y->flags);
                SAME(heap_find(b, x->addr) == (int64_t)i);
        }
        SAME(a->ntypes == b->ntypes);
        for (uint32_t t = 0; t < a->ntypes; t++) {
                const struct heap_type *x = &a->types[t], *y = &b->types[t];

                SAME(x->addr == y->addr && x->opaque == y->opaque);
                SAME(strcmp(x->module, y->module) == 0 && strcmp(x->qualname, y->qualname) == 0);
                SAME(strcmp(x->fullname, y->fullname) == 0);
                SAME(x->count == y->count && x->bytes == y->bytes && x->tracked == y->tracked);
                SAME(heap_type_find(b, x->addr) == (int64_t)t);
        }
        SAME(a->nlabels == b->nlabels);
        for (uint32_t l = 0; l < a->nlabels; l++)
                SAME(strcmp(a->labels[l], b->labels[l]) == 0);
        SAME(a->nedges == b->nedges);
        SAME(memcmp(a->edge_start, b->edge_start, ((size_t)a->nobjs + 1) * sizeof(*a->edge_start)) == 0);
        SAME(!a->nedges || memcmp(a->edge_dst, b->edge_dst, a->nedges * 4) == 0);
        for (uint32_t i = 0; i < a->nobjs; i++)
                for (uint64_t e = a->edge_start[i]; e < a->edge_start[i + 1]; e++)
                        SAME(heap_edge_label(a, i, e) == heap_edge_label(b, i, e));
        SAME(memcmp(a->ngen_counts, b->ngen_counts, sizeof(a->ngen_counts)) == 0);
        SAME(a->ndecoded == b->ndecoded);
        SAME(a->ngc_garbage == b->ngc_garbage);
        SAME(!a->ngc_garbage ||
             memcmp(a->gc_garbage, b->gc_garbage, a->ngc_garbage * sizeof(uint32_t)) == 0);
        SAME(a->analysed == b->analysed);
        SAME(a->cycles.n == b->cycles.n);
        if (a->cycles.n) {
                uint32_t nm = a->cycles.start[a->cycles.n];

                SAME(memcmp(a->cycles.start, b->cycles.start, (a->cycles.n + 1) * 4) == 0);
                SAME(memcmp(a->cycles.members, b->cycles.members, (size_t)nm * 4) == 0);
                SAME(memcmp(a->cycles.bytes, b->cycles.bytes, a->cycles.n * 8) == 0);
                SAME(memcmp(a->cycles.garbage, b->cycles.garbage, a->cycles.n) == 0);
        }
        SAME(a->nroots == b->nroots);
        for (uint32_t i = 0; i < a->nroots; i++)
                SAME(a->roots[i].obj == b->roots[i].obj && a->roots[i].kind == b->roots[i].kind &&
                     a->roots[i].label == b->roots[i].label &&
                     a->roots[i].frame == b->roots[i].frame);
        SAME(a->nthreads == b->nthreads);
        SAME(!a->nthreads ||
             memcmp(a->threads, b->threads, a->nthreads * sizeof(*a->threads)) == 0);
        SAME(a->nframes == b->nframes);
        for (uint32_t i = 0; i < a->nframes; i++) {
                const struct heap_frame *x = &a->frames[i], *y = &b->frames[i];

                SAME(x->thread == y->thread && x->line == y->line && x->code == y->code);
                SAME(!x->function == !y->function &&
                     (!x->function || strcmp(x->function, y->function) == 0));
                SAME(!x->filename == !y->filename &&
                     (!x->filename || strcmp(x->filename, y->filename) == 0));
        }
        SAME(a->cycles_local.n == b->cycles_local.n);
        if (a->cycles_local.n) {
                const struct heap_cycles *x = &a->cycles_local, *y = &b->cycles_local;

                SAME(memcmp(x->start, y->start, (x->n + 1) * 4) == 0);
                SAME(memcmp(x->members, y->members, (size_t)x->start[x->n] * 4) == 0);
                SAME(memcmp(x->bytes, y->bytes, x->n * 8) == 0);
                SAME(!x->retained == !y->retained &&
                     (!x->retained || memcmp(x->retained, y->retained, x->n * 8) == 0));
        }
        SAME(!a->cycles.retained == !b->cycles.retained);
        SAME(!a->cycles.n || !a->cycles.retained ||
             memcmp(a->cycles.retained, b->cycles.retained, a->cycles.n * 8) == 0);
        SAME(!a->idom == !b->idom && !a->retained == !b->retained);
        SAME(!a->idom || !a->nobjs || memcmp(a->idom, b->idom, (size_t)a->nobjs * 4) == 0);
        SAME(!a->retained || !a->nobjs ||
             memcmp(a->retained, b->retained, (size_t)a->nobjs * 8) == 0);
        for (uint32_t t = 0; t < a->ntypes; t++)
                SAME(a->types[t].retained == b->types[t].retained);
        SAME(!a->pred_start == !b->pred_start);
        SAME(!a->pred_start ||
             memcmp(a->pred_start, b->pred_start, ((size_t)a->nobjs + 1) * sizeof(*a->pred_start)) == 0);
        SAME(!a->pred_start || !a->nedges ||
             memcmp(a->pred_src, b->pred_src, a->nedges * 4) == 0);
        SAME(a->ngarbage == b->ngarbage);
        SAME(!a->ngarbage || memcmp(a->garbage, b->garbage, a->ngarbage * 4) == 0);
        SAME(a->npreviews == b->npreviews);
        SAME(ma->previews_dropped == mb->previews_dropped);
        for (uint32_t i = 0; i < a->nobjs; i++) {
                char pa[HEAP_PREVIEW_MAX + 1], pb[HEAP_PREVIEW_MAX + 1];

                SAME(heap_preview(a, i, pa, sizeof(pa)) == heap_preview(b, i, pb, sizeof(pb)));
                SAME(strcmp(pa, pb) == 0);
        }
        return true;
}

static char *json(const struct heap *h, bool objects)
{
        struct report_opts ro = {.objects = objects, .top = 20};
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        report_json(h, f, &ro);
        fclose(f);
        /* "costs" are the run's, not the snapshot's: a heap analysed here
         * has them, one read from a dump has null (README: JSON report).
         * The rest of the report must not tell the two apart. */
        if (buf) {
                char *c = strstr(buf, "\n  \"costs\": "), *e = c ? strchr(c + 1, '\n') : NULL;

                if (e)
                        memmove(c, e, strlen(e) + 1);
        }
        return buf;
}

/* ---- file helpers ------------------------------------------------------- */

static int count_tmp_files(void)
{
        DIR *dp = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!dp)
                return -1;
        while ((de = readdir(dp)))
                if (strstr(de->d_name, ".tmp-") || strstr(de->d_name, "-journal"))
                        n++;
        closedir(dp);
        return n;
}

static char *slurp(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long n;

        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
                buf = malloc((size_t)n + 1);
                if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
                        free(buf);
                        buf = NULL;
                }
                *ret_len = (size_t)n;
        }
        fclose(f);
        return buf;
}

static int spew(const char *path, const void *buf, size_t len)
{
        FILE *f;
        int r = 0;

        unlink(path);
        f = fopen(path, "wb");
        if (!f)
                return -errno;
        if (len && fwrite(buf, 1, len, f) != len)
                r = -EIO;
        if (fclose(f) != 0)
                r = -EIO;
        return r;
}

static int sql(const char *path, const char *stmt)
{
        sqlite3 *db = NULL;
        int rc = sqlite3_open(path, &db);

        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, stmt, NULL, NULL, NULL);
        sqlite3_close(db);
        return rc;
}

/* One value from a query, as text (static buffer); "" on error. */
static const char *sql1(const char *path, const char *query)
{
        static char out[512];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        out[0] = '\0';
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, query, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
        else
                snprintf(out, sizeof(out), "ERROR: %s", db ? sqlite3_errmsg(db) : "?");
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
}

/* Recomputes meta_checksum after an edit of meta, as a writer of that
 * meta would have: the edit then reaches the checks behind the checksum. */
static int reseal(const char *path)
{
        char stmt[128];
        sqlite3 *db = NULL;
        uint64_t s = 0;
        int rc = sqlite3_open(path, &db);

        if (rc == SQLITE_OK)
                rc = store_meta_checksum(db, 4096, &s);
        if (rc == SQLITE_OK) {
                snprintf(stmt, sizeof(stmt),
                         "update meta set value = '%016" PRIx64 "' where key = 'meta_checksum'", s);
                rc = sqlite3_exec(db, stmt, NULL, NULL, NULL);
        }
        sqlite3_close(db);
        return rc;
}

/* The reader must fail cleanly with a message naming the file and
 * containing `cause`. */
static void expect_bad(const char *path, int err, const char *cause, const char *what)
{
        struct diag d = {0};
        struct heap *h = NULL;
        int r = heap_store_read(path, &h, &d);

        ok(r == err && !h && strstr(d.msg, path) && strstr(d.msg, cause),
           "%s: r=%d (want %d), message: %s", what, r, err, d.msg);
        heap_free(h);
}

/* ---- tests --------------------------------------------------------------- */

static void test_roundtrip(const struct heap *h)
{
        struct store_write_opts o = {.indexes = true, .hostname = "testhost", .time_iso = "2024-05-01T12:00:00Z",
                                     .tool_version = "9.9.9"};
        const char *p = tpath("s.pyleak");
        struct store_info info;
        struct diag d = {0};
        struct heap *h2 = NULL;
        struct stat st;
        char why[256] = "";
        char *j1, *j2;
        int r;

        r = heap_store_write(h, p, &o, &d);
        ok(r == 0, "write sample: %d %s", r, d.msg);
        r = stat(p, &st);
        ok(r == 0 && (st.st_mode & 07777) == 0600, "mode is 0600 (%o)", st.st_mode & 07777);
        ok(count_tmp_files() == 0, "no temporary file left after success");

        r = heap_store_read(p, &h2, &d);
        ok(r == 0 && h2, "read sample back: %d %s", r, d.msg);
        if (!h2)
                return;
        ok(same_heap(h, h2, why, sizeof(why)), "every field of the model survives (%s)", why);
        j1 = json(h, true);
        j2 = json(h2, true);
        ok(j1 && j2 && strcmp(j1, j2) == 0, "JSON report (with objects) is byte-identical");
        free(j1);
        free(j2);
        j1 = json(h, false);
        j2 = json(h2, false);
        ok(j1 && j2 && strcmp(j1, j2) == 0, "JSON report (summary) is byte-identical");
        free(j1);
        free(j2);
        {
                char pv[HEAP_PREVIEW_MAX + 1], small[6];
                int64_t ilst = heap_find(h2, 0x30000), is1 = heap_find(h2, 0x70000);

                ok(h2->npreviews == 5 && heap_preview(h2, (uint32_t)ilst, pv, sizeof(pv)) == 0 &&
                   strcmp(pv, "len 7") == 0 && heap_preview(h2, (uint32_t)is1, pv, sizeof(pv)) == 0 &&
                   strcmp(pv, "'k\\'ey\"'") == 0 && h2->meta.previews_dropped == 5,
                   "previews survive, a replaced one with its last text (%u)", h2->npreviews);
                ok(heap_preview(h2, 0, pv, sizeof(pv)) == -ENOENT && pv[0] == '\0' &&
                   heap_preview(h2, h2->nobjs + 5, pv, sizeof(pv)) == -ENOENT &&
                   heap_preview(h2, (uint32_t)heap_find(h2, 0x70040), small, sizeof(small)) == 0 &&
                   strcmp(small, "'caf") == 0,
                   "no preview is -ENOENT; a short buffer truncates");
                for (uint32_t k = 1; k < h2->npreviews; k++)
                        if (h2->preview_obj[k - 1] >= h2->preview_obj[k])
                                ok(0, "previews sorted by object");
        }
        ok(h->cycles.n == 3 && h->ngarbage == 2, "sample has 3 cycles and 2 garbage objects"
           " (%u, %u)", h->cycles.n, h->ngarbage);

        r = heap_store_info(p, &info, &d);
        ok(r == 0 && info.format_version == HEAP_STORE_FORMAT_VERSION && strcmp(info.host, "testhost") == 0 &&
           strcmp(info.time_iso, "2024-05-01T12:00:00Z") == 0 &&
           strcmp(info.tool_version, "9.9.9") == 0, "heap_store_info: %d %s %s %s", r,
           info.host, info.time_iso, info.tool_version);

        /* The schema is for people: the views must work. */
        ok(strcmp(sql1(p, "select count(*) from v_objects"), "12") == 0, "v_objects: %s",
           sql1(p, "select count(*) from v_objects"));
        ok(strcmp(sql1(p, "select hex || ' ' || type || ' ' || gen from v_objects"
                          " where obj_id = 8"), "0xfffffffffff0 builtins.list 2") == 0,
           "v_objects row: %s", sql1(p, "select hex || ' ' || type || ' ' || gen"
                                        " from v_objects where obj_id = 8"));
        ok(strcmp(sql1(p, "select group_concat(label, ' ') from (select label from v_edges"
                          " where src_hex = '0x30000' order by ord)"), "[0] [5] [6]") == 0,
           "v_edges labels: %s", sql1(p, "select group_concat(label, ' ') from (select label"
                                         " from v_edges where src_hex = '0x30000' order by ord)"));
        ok(strcmp(sql1(p, "select src_type || label || dst_type from v_edges where src = 2 and ord = 1"),
                  "builtins.dict__class__type") == 0, "v_edges text label: %s",
           sql1(p, "select src_type || label || dst_type from v_edges where src = 2 and ord = 1"));
        ok(strcmp(sql1(p, "select signature || ' ' || garbage || ' ' || first_hex from v_cycles"
                          " where cycle_id = 0"), "__main__.Node+dict 0 0x10000") == 0,
           "v_cycles: %s", sql1(p, "select signature || ' ' || garbage || ' ' || first_hex"
                                  " from v_cycles where cycle_id = 0"));
        /* by bytes: big's 2^48 - 1 first */
        ok(strcmp(sql1(p, "select fullname from v_types limit 1"), "builtins.list") == 0,
           "v_types: %s", sql1(p, "select fullname from v_types limit 1"));
        ok(strcmp(sql1(p, "select group_concat(obj_id) from gc_garbage"), "3,9,3") == 0 &&
           strcmp(sql1(p, "select gc_garbage_pos from v_objects where obj_id = 9"), "1") == 0,
           "gc_garbage table and v_objects.gc_garbage_pos");
        ok(strcmp(sql1(p, "select count(*) from garbage"), "2") == 0 &&
           strcmp(sql1(p, "select count(*) from cycle_members"), "6") == 0,
           "garbage and cycle_members tables");
        ok(strcmp(sql1(p, "select group_concat(kind || ':' || coalesce(label, '-') || ':' ||"
                          " coalesce(function, '-'), ' ') from (select * from v_roots"
                          " where root_id is not null order by root_id)"),
                  "module:['k\\'ey\"']:- thread:.next:<module> interp:-:- thread:[3]:run") == 0,
           "v_roots, recorded: %s", sql1(p, "select group_concat(kind || ':' ||"
                                            " coalesce(label, '-') || ':' ||"
                                            " coalesce(function, '-'), ' ') from (select *"
                                            " from v_roots where root_id is not null"
                                            " order by root_id)"));
        ok(strcmp(sql1(p, "select count(*) from v_roots where root_id is null"), "0") != 0,
           "v_roots, computed: %s", sql1(p, "select group_concat(kind) from v_roots"
                                            " where root_id is null"));
        ok(strcmp(sql1(p, "select ident || ' ' || native_id || ' ' || nframes from threads"
                          " where thread_id = 0"), "-4294962927 77 2") == 0,
           "threads row: %s", sql1(p, "select ident || ' ' || native_id || ' ' || nframes"
                                      " from threads where thread_id = 0"));
        ok(strcmp(sql1(p, "select depth || function || line || coalesce(filename, 'NULL')"
                          " from frames where frame_id = 1"), "1<module>-1NULL") == 0,
           "frames row: %s", sql1(p, "select depth || function || line ||"
                                     " coalesce(filename, 'NULL') from frames"
                                     " where frame_id = 1"));
        ok(strcmp(sql1(p, "select count(*) from objects where retained is null"), "0") == 0 &&
           strcmp(sql1(p, "select count(*) from local_cycles"), "0") != 0,
           "retained sizes and local cycles are stored");
        ok(strcmp(sql1(p, "select value from meta where key = 'pause_ms'"),
                  "0.333333333333333") == 0, "meta values are typed: pause_ms %s",
           sql1(p, "select value from meta where key = 'pause_ms'"));
        heap_free(h2);
}

static void test_overwrite(const struct heap *h)
{
        struct store_write_opts force = {.force = true, .hostname = "other"};
        const char *p = tpath("s.pyleak");
        struct store_info info;
        struct diag d = {0};
        struct stat st1, st2;
        size_t l1 = 0, l2 = 0;
        char *b1, *b2;
        int r;

        b1 = slurp(p, &l1);
        stat(p, &st1);
        r = heap_store_write(h, p, NULL, &d);
        b2 = slurp(p, &l2);
        ok(r == -EEXIST && strstr(d.msg, p) && strstr(d.msg, "--force"),
           "no overwrite without force: %d %s", r, d.msg);
        ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "original file intact");
        ok(count_tmp_files() == 0, "no temporary file left after refusal");
        free(b1);
        free(b2);

        diag_clear(&d);
        r = heap_store_write(h, p, &force, &d);
        stat(p, &st2);
        ok(r == 0 && st1.st_ino != st2.st_ino, "force replaces the file: %d %s", r, d.msg);
        ok(heap_store_info(p, &info, &d) == 0 && strcmp(info.host, "other") == 0,
           "the replacement is the new dump (host %s)", info.host);
        ok((st2.st_mode & 07777) == 0600, "replacement mode 0600");
        {
                /* static: a handler's view of it; what the signal handler
                 * would see after the write is an unarmed record */
                static struct store_tmp tw;
                struct store_write_opts wt = {.force = true, .tmp = &tw};
                char want[600];

                diag_clear(&d);
                r = heap_store_write(h, p, &wt, &d);
                snprintf(want, sizeof(want), "%s.tmp-", p);
                ok(r == 0 && !tw.armed && strncmp(tw.path, want, strlen(want)) == 0 &&
                   strlen(tw.path) == strlen(want) + 6 &&
                   strcmp(tw.journal + strlen(tw.path), "-journal") == 0,
                   "the temporary file was named for a signal handler (%s), disarmed after"
                   " the rename: %d %s", tw.path, r, d.msg);
                spew(tw.path, "x", 1);
                spew(tw.journal, "x", 1);
                heap_store_tmp_unlink(&tw);
                ok(count_tmp_files() == 2, "an unarmed heap_store_tmp_unlink() removes nothing");
                tw.armed = 1;
                heap_store_tmp_unlink(&tw);
                ok(count_tmp_files() == 0 && stat(p, &st2) == 0,
                   "an armed one removes the temporary file and its journal, not the dump");
                tw.armed = 0;
        }

        /* An existing file of any kind is refused, even an empty one. */
        spew(tpath("empty-target"), "", 0);
        ok(heap_store_write(h, tpath("empty-target"), NULL, &d) == -EEXIST,
           "an empty existing file is not overwritten either");

        /* A directory that does not exist: clean error, no debris. */
        r = heap_store_write(h, tpath("nodir/x.pyleak"), NULL, &d);
        ok(r == -ENOENT && strstr(d.msg, "nodir"), "missing directory: %d %s", r, d.msg);

        /* A failure in the middle of writing (file size limit hit). */
        {
                struct rlimit old, lim;
                void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);

                getrlimit(RLIMIT_FSIZE, &old);
                lim = old;
                lim.rlim_cur = 20000;
                setrlimit(RLIMIT_FSIZE, &lim);
                r = heap_store_write(h, tpath("toobig.pyleak"), NULL, &d);
                setrlimit(RLIMIT_FSIZE, &old);
                signal(SIGXFSZ, prev);
                ok(r < 0 && access(tpath("toobig.pyleak"), F_OK) < 0 && count_tmp_files() == 0,
                   "write failure midway: %d, no file, no temporary left (%s)", r, d.msg);
        }
        {
                mode_t old = umask(0377);

                r = heap_store_write(h, tpath("umask.pyleak"), NULL, &d);
                umask(old);
                if (r == 0)
                        r = stat(tpath("umask.pyleak"), &st2);
                ok(r == 0 && (st2.st_mode & 07777) == 0600, "mode 0600 even under umask 0377"
                   " (%o)", st2.st_mode & 07777);
        }
}

/* format_version and min_reader: integers in range or the file is
 * refused, whatever else the row says; each edit is resealed, so only the
 * version check stands between it and a load. */
static void test_versions(const char *img, size_t len)
{
        static const struct {
                const char *edit;
                int err;
                const char *want;
        } v[] = {
                {"update meta set value = '4' where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is text, not an integer"},
                {"update meta set value = '1' where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is text, not an integer"},
                {"update meta set value = 4.0 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is a real number, not an integer"},
                {"update meta set value = 1e308 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is a real number"},
                {"update meta set value = NULL where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is NULL, not an integer"},
                {"update meta set value = 'garbage' where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is text"},
                {"update meta set value = x'01' where key = 'min_reader'", -EBADMSG,
                 "meta min_reader is a blob"},
                {"update meta set value = -1 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader -1 is out of range"},
                {"update meta set value = 0 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader 0 is out of range"},
                {"update meta set value = 9223372036854775807 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader 9223372036854775807 is out of range"},
                {"update meta set value = 8 where key = 'min_reader'", -EBADMSG,
                 "meta min_reader 8 is out of range (1 to format_version 7)"},
                {"delete from meta where key = 'min_reader'", -EBADMSG,
                 "meta key 'min_reader' missing"},
                {"update meta set value = '4' where key = 'format_version'", -EBADMSG,
                 "meta format_version is text, not an integer"},
                {"update meta set value = 4.0 where key = 'format_version'", -EBADMSG,
                 "meta format_version is a real number"},
                {"update meta set value = NULL where key = 'format_version'", -EBADMSG,
                 "meta format_version is NULL"},
                {"update meta set value = 'garbage' where key = 'format_version'", -EBADMSG,
                 "meta format_version is text"},
                {"update meta set value = -1 where key = 'format_version'", -EBADMSG,
                 "meta format_version -1 is out of range"},
                {"update meta set value = 4294967296 where key = 'format_version'", -EBADMSG,
                 "meta format_version 4294967296 is out of range"},
                {"delete from meta where key = 'format_version'", -EBADMSG,
                 "meta key 'format_version' missing"},
                {"update meta set value = 7 where key = 'min_reader'", 0, ""},
                {"update meta set value = 8 where key in ('min_reader', 'format_version')",
                 -EPROTONOSUPPORT, "needs a newer pyleak-attach: it is a format 8 dump that only"
                 " readers of format 8 or later understand"},
                {"update meta set value = 9 where key = 'format_version';"
                 " update meta set value = 8 where key = 'min_reader'",
                 -EPROTONOSUPPORT, "needs a newer pyleak-attach"},
        };
        int bad = 0;

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                const char *p = tpath("version");
                struct diag d = {0};
                struct heap *h = NULL;
                int r;

                spew(p, img, len);
                if (sql(p, v[i].edit) != SQLITE_OK || reseal(p) != SQLITE_OK) {
                        ok(0, "cannot edit %s", v[i].edit);
                        continue;
                }
                r = heap_store_read(p, &h, &d);
                if (r != v[i].err || (r < 0) != !h || (r < 0 && !strstr(d.msg, p)) ||
                    !strstr(d.msg, v[i].want)) {
                        bad++;
                        tap_note("%s: r=%d (want %d) %s", v[i].edit, r, v[i].err, d.msg);
                }
                heap_free(h);
        }
        ok(bad == 0, "%zu format_version/min_reader edits: text, real, NULL, blob, out of range"
           " refused by name; integer current read; integer higher needs a newer reader",
           sizeof(v) / sizeof(v[0]));
}

/* Every meta fact: each row of meta changed in place (its type kept), or
 * one added or removed, is refused. */
static void test_meta_edits(const char *img, size_t len)
{
        const char *p = tpath("metaedit");
        char keys[64][32], stmt[256];
        int nkeys = 0, bad = 0;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        spew(p, img, len);
        if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "select key from meta order by key", -1, &st, NULL) ==
                    SQLITE_OK)
                while (sqlite3_step(st) == SQLITE_ROW && nkeys < 64)
                        snprintf(keys[nkeys++], sizeof(keys[0]), "%s",
                                 (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        for (int k = 0; k < nkeys + 2; k++) {
                struct diag d = {0};
                struct heap *h = NULL;
                const char *want = "meta_checksum mismatch";
                int r;

                if (k == nkeys)
                        snprintf(stmt, sizeof(stmt), "insert into meta values ('note', 'mine')");
                else if (k == nkeys + 1) {
                        snprintf(stmt, sizeof(stmt), "delete from meta where key = 'host'");
                        want = "meta key 'host' missing";
                }
                else if (strcmp(keys[k], "meta_checksum") == 0) {
                        snprintf(stmt, sizeof(stmt), "delete from meta where key = '%s'", keys[k]);
                        want = "meta key 'meta_checksum' missing";
                } else if (strcmp(keys[k], "format") == 0) {
                        snprintf(stmt, sizeof(stmt), "update meta set value = value || 'x'"
                                 " where key = 'format'");
                        want = "not a pyleak-attach dump";
                } else {
                        /* +1 keeps an integer an integer, 'x' text text, *2+1 a real real */
                        snprintf(stmt, sizeof(stmt),
                                 "update meta set value = case typeof(value)"
                                 " when 'integer' then value + 1 when 'real' then value * 2 + 1"
                                 " else value || 'x' end where key = '%s'", keys[k]);
                }
                spew(p, img, len);
                if (sql(p, stmt) != SQLITE_OK) {
                        ok(0, "cannot edit: %s", stmt);
                        continue;
                }
                r = heap_store_read(p, &h, &d);
                if (r >= 0 || h || !strstr(d.msg, want)) {
                        bad++;
                        tap_note("%s: r=%d %s", stmt, r, d.msg);
                }
                heap_free(h);
        }
        ok(bad == 0 && nkeys == N_META_KEYS, "each of the %d meta facts edited, a row added,"
           " a row removed: refused", nkeys);
}

/* The analysis tables and columns, and the rows the model checksum
 * covers: any edit is refused, naming the table or column. */
static void test_table_edits(const char *img, size_t len)
{
        static const struct {
                const char *edit, *want;
                const char *want7;      /* format 7, when not want */
        } e[] = {
                {"update objects set retained = retained + 1 where obj_id = 0", "objects.retained",
                 "analysis_checksum mismatch"},
                {"update objects set retained = NULL where obj_id = 1", "objects.retained"},
                {"update objects set retained = retained + 0.5 where obj_id = 2",
                 "objects.retained", "objects row 2 is malformed"},
                {"update objects set idom = idom + 1 where obj_id = (select min(obj_id)"
                 " from objects where idom is not null)", "objects.idom",
                 "objects row 1 is malformed"},
                {"update objects set idom = 0 where obj_id = (select max(obj_id)"
                 " from objects where idom is null)", "objects.idom", "analysis_checksum mismatch"},
                /* 3 -> 4 -> 3: no tree */
                {"update objects set idom = 4 where obj_id = 3", "objects.idom",
                 "objects.idom makes a loop"},
                {"update objects set root = 'immortal' where obj_id = (select min(obj_id)"
                 " from objects where root is null)", "objects.root"},
                {"update objects set root = NULL where root is not null", "objects.root"},
                {"update types set retained = retained + 1 where type_id = 1", "types.retained",
                 "analysis_checksum mismatch"},
                {"update types set retained = NULL where type_id = 0", "types.retained",
                 "types row 0 is malformed"},
                {"update types set count = count + 1 where type_id = 1", "types row 1 counts"},
                {"update types set bytes = bytes + 1 where type_id = 0", "types row 0 counts"},
                {"update types set tracked = tracked - 1 where type_id = 1", "types row 1 counts"},
                {"update types set fullname = 'x.y' where type_id = 0", "types row 0"},
                {"update types set module = 'x' where type_id = 0", "types row 0"},
                {"update types set qualname = 'x' where type_id = 0", "types row 0"},
                {"update types set module = 'x', fullname = 'x.dict' where type_id = 0",
                 "checksum mismatch"},
                {"update types set opaque = 1 - opaque where type_id = 0", "checksum mismatch"},
                {"update types set addr = addr + 8 where type_id = 0", "checksum mismatch"},
                {"update cycles set members = members + 1 where cycle_id = 0", "cycles row 0",
                 "cycle_members row 3 is malformed"},
                {"update cycles set bytes = bytes - 1 where cycle_id = 1", "cycles row 1", "analysis_checksum mismatch"},
                {"update cycles set garbage = 1 - garbage where cycle_id = 2", "cycles row 2",
                 "analysis_checksum mismatch"},
                {"update cycles set retained = retained + 1 where cycle_id = 0", "cycles row 0",
                 "analysis_checksum mismatch"},
                {"update cycles set signature = 'dict' where cycle_id = 0", "cycles row 0", "analysis_checksum mismatch"},
                {"delete from cycles where cycle_id = 2", "cycles has 2 rows",
                 "cycle_members row 5 is malformed"},
                {"insert into cycles values (3, 1, 8, 0, 8, 'str')", "cycles row 3",
                 "cycle_members has 6 rows, cycles count 7"},
                {"delete from cycle_members where obj_id = (select min(obj_id)"
                 " from cycle_members)", "cycle_members"},
                {"update cycle_members set cycle_id = 1 where cycle_id = 0", "cycle_members"},
                {"insert into cycle_members values (0, 11)", "cycle_members"},
                {"update local_cycles set signature = 'x' where cycle_id = 0", "local_cycles row 0",
                 "analysis_checksum mismatch"},
                {"delete from local_cycles", "local_cycles has 0 rows",
                 "local_cycle_members row 0 is malformed"},
                {"delete from local_cycle_members where cycle_id = 0", "local_cycle_members"},
                {"delete from garbage where obj_id = (select min(obj_id) from garbage)",
                 "garbage"},
                {"insert into garbage values (0)", "garbage"},
                {"update garbage set obj_id = 11 where obj_id = (select max(obj_id)"
                 " from garbage)", "garbage row 1"},
                {"update gc_garbage set obj_id = 0 where pos = 1", "checksum mismatch"},
                {"update gc_state set count0 = count0 + 1", "checksum mismatch"},
                {"update frames set line = line + 1 where frame_id = 0", "checksum mismatch"},
                {"update threads set native_id = 78 where thread_id = 0", "checksum mismatch"},
                {"update roots set kind = 'interp' where root_id = 0", "checksum mismatch"},
                {"update labels set text = '.nxt' where label_id = 0", "checksum mismatch"},
                {"update edges set dst = 0 where src = 0 and ord = 0", "checksum mismatch"},
        };
        const char *p = tpath("tableedit");
        int bad = 0, bad7 = 0;

        /* format 6 and older: the analysis is recomputed and compared,
         * which names the table and row */
        for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
                struct diag d = {0};
                struct heap *h = NULL;
                int r;

                spew(p, img, len);
                if (sql(p, e[i].edit) != SQLITE_OK ||
                    sql(p, "update meta set value = 6 where key = 'format_version'") != SQLITE_OK ||
                    reseal(p) != SQLITE_OK) {
                        ok(0, "cannot edit: %s", e[i].edit);
                        continue;
                }
                r = heap_store_read(p, &h, &d);
                if (r != -EBADMSG || h || !strstr(d.msg, e[i].want) || !strstr(d.msg, p)) {
                        bad++;
                        tap_note("%s: r=%d (want %s) %s", e[i].edit, r, e[i].want, d.msg);
                }
                heap_free(h);
        }
        ok(bad == 0, "format 6: %zu edits of analysis columns and tables and of checksummed"
           " rows: each refused, naming what failed", sizeof(e) / sizeof(e[0]));
        /* format 7: the analysis is loaded under its own checksum */
        for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
                struct diag d = {0};
                struct heap *h = NULL;
                const char *want = e[i].want7 ? e[i].want7 : e[i].want;
                int r;

                spew(p, img, len);
                if (sql(p, e[i].edit) != SQLITE_OK) {
                        ok(0, "cannot edit: %s", e[i].edit);
                        continue;
                }
                r = heap_store_read(p, &h, &d);
                if (r != -EBADMSG || h || !strstr(d.msg, want) || !strstr(d.msg, p)) {
                        bad7++;
                        tap_note("format 7: %s: r=%d (want %s) %s", e[i].edit, r, want, d.msg);
                }
                heap_free(h);
        }
        ok(bad7 == 0, "format 7: the same %zu edits refused, the loaded analysis by its"
           " checksum or its structure", sizeof(e) / sizeof(e[0]));
}

static void test_bad_files(void)
{
        char good[512], junk[8192], *img;
        size_t len = 0;
        unsigned seed = 12345;

        snprintf(good, sizeof(good), "%s", tpath("s.pyleak"));
        expect_bad(tpath("does-not-exist"), -ENOENT, "No such file", "missing file");
        expect_bad(dir, -EISDIR, "directory", "a directory");
        spew(tpath("empty"), "", 0);
        expect_bad(tpath("empty"), -EMEDIUMTYPE, "empty file", "empty file");
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (char)rand_r(&seed);
        spew(tpath("random"), junk, sizeof(junk));
        expect_bad(tpath("random"), -EMEDIUMTYPE, "not an SQLite database", "random bytes");
        spew(tpath("text"), "hello\nthis is a text file\n", 26);
        expect_bad(tpath("text"), -EMEDIUMTYPE, "not an SQLite database", "text file");
        spew(tpath("short"), "SQLite format 3\0\x10\x00", 18);
        expect_bad(tpath("short"), -EBADMSG, "damaged", "SQLite header cut short");

        unlink(tpath("foreign.db"));
        sql(tpath("foreign.db"), "create table t(x); insert into t values (1);");
        expect_bad(tpath("foreign.db"), -EMEDIUMTYPE, "foreign SQLite database",
                   "SQLite database without our meta");
        unlink(tpath("foreign2.db"));
        sql(tpath("foreign2.db"), "pragma application_id=1348029515; create table t(x);");
        expect_bad(tpath("foreign2.db"), -EMEDIUMTYPE, "foreign SQLite database",
                   "our application_id, no meta table");
        unlink(tpath("foreign3.db"));
        sql(tpath("foreign3.db"), "pragma application_id=1348029515;"
                                  " create table meta(key, value);"
                                  " insert into meta values ('format', 'something-else');");
        expect_bad(tpath("foreign3.db"), -EMEDIUMTYPE, "foreign SQLite database",
                   "a meta table with another format");

        img = slurp(good, &len);
        if (!img) {
                ok(0, "cannot read the sample dump back");
                return;
        }
        spew(tpath("v99"), img, len);
        sql(tpath("v99"), "update meta set value = 99 where key in ('format_version',"
                          " 'min_reader')");
        reseal(tpath("v99"));
        expect_bad(tpath("v99"), -EPROTONOSUPPORT, "needs a newer pyleak-attach",
                   "format_version 99");
        {
                struct diag d = {0};
                struct heap *h = NULL;
                char want[64];

                heap_store_read(tpath("v99"), &h, &d);
                snprintf(want, sizeof(want), "reads formats 1 to %d", HEAP_STORE_FORMAT_VERSION);
                ok(strstr(d.msg, "format 99 dump") && strstr(d.msg, want) &&
                   strstr(d.msg, "hint: open it with a newer pyleak-attach"),
                   "the newer-format message says what the file needs, what this reads and"
                   " the fix: %s", d.msg);
        }
        test_versions(img, len);
        test_meta_edits(img, len);
        test_table_edits(img, len);
        spew(tpath("v5"), img, len);
        sql(tpath("v5"), "update meta set value = 5 where key = 'format_version';"
                         " insert into meta values ('n_caches', 0);"
                         " alter table objects add column referrers integer;"
                         " create table caches(obj_id, kind);");
        reseal(tpath("v5"));
        {
                struct diag d = {0};
                struct heap *h = NULL;
                int r = heap_store_read(tpath("v5"), &h, &d);

                ok(r == 0 && h, "an additive newer format (min_reader 1) still reads: %d %s", r,
                   d.msg);
                heap_free(h);
        }
        /* previews: their own checksum; a format-1 file has none; the
         * main checksum does not cover them (format-1 readers) */
        spew(tpath("pvedit"), img, len);
        sql(tpath("pvedit"), "update objects set preview = 'len 8' where preview = 'len 7'");
        expect_bad(tpath("pvedit"), -EBADMSG, "previews checksum", "a preview edited by hand");
        spew(tpath("pvdel"), img, len);
        sql(tpath("pvdel"), "update objects set preview = NULL where preview = 'len 2'");
        expect_bad(tpath("pvdel"), -EBADMSG, "objects hold 4 previews", "a preview deleted");
        spew(tpath("pvbad"), img, len);
        sql(tpath("pvbad"), "update objects set preview = x'6c656e2032' where preview = 'len 2'");
        expect_bad(tpath("pvbad"), -EBADMSG, "malformed preview", "a preview that is no text");
        spew(tpath("v1"), img, len);
        sql(tpath("v1"), "update meta set value = 1 where key = 'format_version';"
                         " delete from meta where key like '%previews%' or key = 'meta_checksum'"
                         " or key = 'fork_ms';"
                         " drop view v_objects; alter table objects drop column preview");
        {
                struct diag d = {0};
                struct heap *h = NULL;
                char pv[64];
                int r = heap_store_read(tpath("v1"), &h, &d);

                ok(r == 0 && h && h->npreviews == 0 && heap_preview(h, 0, pv, sizeof(pv)) == -ENOENT,
                   "a format-1 dump (no previews) reads, main checksum intact: %d %s", r, d.msg);
                heap_free(h);
        }
        /* fork_ms in a format-3 file: outside both checksums, so bounded */
        static const struct {
                const char *name, *edit, *want, *desc;
        } fk[] = {
                {"fkbig", "update meta set value = 5.0 where key = 'fork_ms'",
                 "implausible fork_ms", "a fork_ms longer than the pause"},
                {"fkneg", "update meta set value = -1 where key = 'fork_ms'",
                 "implausible fork_ms", "a negative fork_ms"},
                {"fkgone", "delete from meta where key = 'fork_ms'",
                 "fork_ms", "a format-3 dump without fork_ms"},
        };
        for (size_t i = 0; i < sizeof(fk) / sizeof(fk[0]); i++) {
                spew(tpath(fk[i].name), img, len);
                sql(tpath(fk[i].name), "update meta set value = 3 where key = 'format_version';"
                                       " delete from meta where key = 'meta_checksum'");
                sql(tpath(fk[i].name), fk[i].edit);
                expect_bad(tpath(fk[i].name), -EBADMSG, fk[i].want, fk[i].desc);
        }
        spew(tpath("v3"), img, len);
        sql(tpath("v3"), "update meta set value = 3 where key = 'format_version';"
                         " delete from meta where key = 'meta_checksum'");
        {
                struct diag d = {0};
                struct heap *h = NULL;
                int r = heap_store_read(tpath("v3"), &h, &d);

                ok(r == 0 && h && h->meta.fork_ms == 0.25,
                   "an intact format-3 dump (no meta_checksum) reads: %d %s", r, d.msg);
                heap_free(h);
        }
        spew(tpath("v2fk"), img, len);
        sql(tpath("v2fk"), "update meta set value = 2 where key = 'format_version';"
                           " delete from meta where key in ('fork_ms', 'meta_checksum')");
        {
                struct diag d = {0};
                struct heap *h = NULL;
                int r = heap_store_read(tpath("v2fk"), &h, &d);

                ok(r == 0 && h && h->meta.fork_ms == 0,
                   "a format-2 dump (no fork_ms) reads, fork_ms 0: %d %s", r, d.msg);
                heap_free(h);
        }
        spew(tpath("v2nopv"), img, len);
        sql(tpath("v2nopv"), "drop view v_objects; alter table objects drop column preview");
        expect_bad(tpath("v2nopv"), -EBADMSG, "preview",
                   "a format-2 dump without its preview column");
        spew(tpath("edited"), img, len);
        sql(tpath("edited"), "update objects set refcnt = refcnt + 1 where obj_id = 2");
        expect_bad(tpath("edited"), -EBADMSG, "checksum", "a row edited by hand");
        spew(tpath("dropped"), img, len);
        sql(tpath("dropped"), "delete from edges where src = 5 and ord = 1");
        expect_bad(tpath("dropped"), -EBADMSG, "damaged", "an edge row deleted");
        spew(tpath("notable"), img, len);
        sql(tpath("notable"), "drop view v_edges; drop table edges");
        expect_bad(tpath("notable"), -EBADMSG, "table 'edges' missing", "edges table dropped");
        spew(tpath("viewed"), img, len);
        sql(tpath("viewed"), "drop view v_edges; drop table edges; create view edges as"
                             " with recursive r(x) as (select 0 union all select x + 1 from r)"
                             " select x as edge_id, 0 as src, x as ord, 0 as dst,"
                             " null as label_id, 0 as idx from r");
        expect_bad(tpath("viewed"), -EBADMSG, "table 'edges' missing",
                   "an endless view in place of a table");
        spew(tpath("nometa"), img, len);
        sql(tpath("nometa"), "delete from meta where key = 'n_objects'");
        expect_bad(tpath("nometa"), -EBADMSG, "meta key 'n_objects' missing", "meta key missing");

        /* Truncation at page boundaries and in between. */
        {
                size_t cuts[] = {16, 99, 100, 101, 1000, 4096, 16383, 16384, 16385, 32768,
                                 len / 3, len / 2, len - 16384, len - 100, len - 1};
                int bad = 0;

                for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
                        struct diag d = {0};
                        struct heap *h = NULL;
                        int r;

                        if (cuts[i] >= len)
                                continue;
                        spew(tpath("cut"), img, cuts[i]);
                        r = heap_store_read(tpath("cut"), &h, &d);
                        if (r >= 0 || h || !strstr(d.msg, tpath("cut")) ||
                            !(strstr(d.msg, "damaged") || strstr(d.msg, "not a pyleak"))) {
                                bad++;
                                tap_note("cut at %zu: r=%d %s", cuts[i], r, d.msg);
                        }
                        heap_free(h);
                }
                ok(bad == 0, "truncated at %zu offsets: every one a clean error",
                   sizeof(cuts) / sizeof(cuts[0]));
                {
                        struct diag d = {0};
                        struct heap *h = NULL;

                        spew(tpath("cut"), img, len / 2);
                        heap_store_read(tpath("cut"), &h, &d);
                        ok(strstr(d.msg, "damaged (truncated"), "truncation is named: %s", d.msg);
                }
        }

        /* Flipped bytes: either a clean error or the very same heap.  The
         * file header, then in every page a few bytes of its header and
         * of its last 256 bytes, where SQLite packs the cells (rows). */
        {
                struct heap *orig = NULL;
                char why[256];
                int bad = 0, errors = 0, same = 0, tries = 0;
                struct diag d = {0};

                heap_store_read(good, &orig, &d);
                size_t ps = ((size_t)(unsigned char)img[16] << 8) | (unsigned char)img[17];

                if (ps == 1)
                        ps = 65536;
                for (size_t k = 0, off = 0; ps >= 512 && off < len; k++) {
                        struct heap *h = NULL;
                        char *m;
                        int r;

                        /* k: 0..14 file header, then per page 2 header + 6 cell bytes */
                        if (k < 15)
                                off = 7 * k;
                        else {
                                size_t page = (k - 15) / 8, j = (k - 15) % 8;

                                off = page * ps +
                                      (j < 2 ? (page ? 0u : 100u) + (unsigned)rand_r(&seed) % 12u
                                             : ps - 1 - (unsigned)rand_r(&seed) % 256u);
                                if (off >= len)
                                        break;
                        }
                        m = malloc(len);
                        if (!m)
                                break;

                        memcpy(m, img, len);
                        m[off] ^= (char)(1 + rand_r(&seed) % 255);
                        spew(tpath("flip"), m, len);
                        free(m);
                        memset(&d, 0, sizeof(d));
                        r = heap_store_read(tpath("flip"), &h, &d);
                        tries++;
                        if (r < 0 && !h && d.msg[0] && strstr(d.msg, tpath("flip")))
                                errors++;
                        else if (r == 0 && h && orig && same_heap(orig, h, why, sizeof(why)))
                                same++;
                        else {
                                bad++;
                                tap_note("flip at %zu: r=%d %s", off, r, d.msg);
                        }
                        heap_free(h);
                }
                ok(bad == 0 && tries > 10, "%d corrupted copies: %d clean errors, %d unaffected"
                   " (flip in unused space), %d bad", tries, errors, same, bad);
                heap_free(orig);
        }
        free(img);
}

static void test_empty_heap(void)
{
        struct heap *h = heap_new(), *h2 = NULL;
        struct diag d = {0};
        char why[256] = "";
        int r;

        heap_finish(h);
        heap_analyse(h);
        r = heap_store_write(h, tpath("empty.pyleak"), NULL, &d);
        ok(r == 0, "write an empty heap: %d %s", r, d.msg);
        r = heap_store_read(tpath("empty.pyleak"), &h2, &d);
        ok(r == 0 && h2 && same_heap(h, h2, why, sizeof(why)), "empty heap round trip (%s)",
           why);
        heap_free(h);
        heap_free(h2);
}

/* 1M objects (750k tracked, 250k untracked), 3M edges, a few long cycles. */
static void test_big(void)
{
        const uint32_t ntr = 750000, nun = 250000, ntypes = 60, nlab = 2000;
        struct heap *h = heap_new(), *h2 = NULL;
        struct diag d = {0};
        unsigned seed = 7;
        uint32_t *lab = malloc(nlab * sizeof(*lab));
        double t0, c0, tw, tr, cw, cr;
        char why[256] = "";
        struct stat st;
        int r = 0;

        for (uint32_t t = 0; t < ntypes; t++) {
                char qn[32];

                snprintf(qn, sizeof(qn), "Type%u", t);
                r |= heap_intern_type(h, 0x5000000 + 0x400ULL * t, t % 3 ? "app.models" : "builtins",
                                      qn, t == 7, NULL);
        }
        for (uint32_t l = 0; l < nlab; l++) {
                char txt[32];

                snprintf(txt, sizeof(txt), ".attr%u", l);
                r |= heap_intern_label(h, txt, &lab[l]);
        }
        for (uint32_t i = 0; i < ntr; i++)
                r |= heap_add_object(h, 0x7f0000000000ULL + 64ULL * i, i % ntypes,
                                     (enum heap_gen)(i % 4), 1 + i % 5, 32 + i % 200,
                                     HOBJ_HAS_GC, NULL);
        heap_mark_tracked_done(h);
        for (uint32_t i = 0; i < nun; i++)
                r |= heap_add_object(h, 0x7e0000000000ULL + 32ULL * i, i % ntypes,
                                     HEAP_GEN_UNTRACKED, 1, 50, 0, NULL);
        for (uint32_t i = 0; i < ntr; i++) {
                r |= heap_add_edge(h, i, (i + 1) % ntr, lab[i % nlab]);
                r |= heap_add_edge(h, i, ntr + rand_r(&seed) % nun, heap_label_index(0));
                r |= heap_add_edge(h, i, ntr + rand_r(&seed) % nun, heap_label_index(i % 7));
                r |= heap_add_edge(h, i, rand_r(&seed) % (ntr + nun), lab[rand_r(&seed) % nlab]);
        }
        r |= heap_finish(h);
        for (uint32_t i = 0; i < ntr + nun; i++) {
                char pv[48];

                if (i % 3 == 0)
                        snprintf(pv, sizeof(pv), "len %u", i % 17);
                else if (i % 3 == 1)
                        snprintf(pv, sizeof(pv), "%u", i * 2654435761u);
                else
                        snprintf(pv, sizeof(pv), "'attribute_name_%u'", i % 5000);
                r |= heap_set_preview(h, i, pv);
        }
        free(lab);
        if (r || heap_analyse(h) < 0) {
                ok(0, "building the 1M-object heap");
                heap_free(h);
                return;
        }
        t0 = now_ms();
        c0 = cpu_ms();
        r = heap_store_write(h, tpath("big.pyleak"), NULL, &d);
        tw = now_ms() - t0;
        cw = cpu_ms() - c0;
        ok(r == 0, "write 1M objects / 3M edges: %d %s", r, d.msg);
        stat(tpath("big.pyleak"), &st);
        t0 = now_ms();
        c0 = cpu_ms();
        r = heap_store_read(tpath("big.pyleak"), &h2, &d);
        tr = now_ms() - t0;
        cr = cpu_ms() - c0;
        ok(r == 0 && h2, "read it back: %d %s", r, d.msg);
        printf("# 1M objects, %" PRIu64 " edges, %u cycles, %u roots, %u previews, file %.1f MB\n",
               h->nedges, h->cycles.n, h->nroots, h->npreviews, st.st_size / 1e6);
        printf("# write %.0f ms (cpu %.0f ms); read %.0f ms (cpu %.0f ms), the analysis"
               " loaded (heap_analyse took %.0f ms before the write)\n", tw, cw, tr, cr,
               h->meta.analyse_ms);
        ok(h2 && same_heap(h, h2, why, sizeof(why)), "1M-object heap identical (%s)", why);
        if (h2) {
                char *j1 = json(h, false), *j2 = json(h2, false);

                ok(j1 && j2 && strcmp(j1, j2) == 0, "1M-object JSON summary identical");
                free(j1);
                free(j2);
        }
        heap_free(h);
        heap_free(h2);
        unlink(tpath("big.pyleak"));
}

static void cleanup_dir(void)
{
        DIR *dp = opendir(dir);
        struct dirent *de;

        if (!dp)
                return;
        while ((de = readdir(dp)))
                if (de->d_name[0] != '.')
                        unlink(tpath(de->d_name));
        closedir(dp);
        rmdir(dir);
}

int main(void)
{
        const char *tmp = getenv("TMPDIR");
        struct heap *h;

        snprintf(dir, sizeof(dir), "%s/test-store-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(dir))
                tap_skip_all("cannot create a temporary directory");
        h = sample();
        ok(h != NULL, "build and analyse the sample heap");
        if (h) {
                test_roundtrip(h);
                test_overwrite(h);
                test_bad_files();
        }
        test_empty_heap();
        if (!getenv("PYLEAK_TEST_QUICK"))
                test_big();
        heap_free(h);
        cleanup_dir();
        return tap_done();
}
