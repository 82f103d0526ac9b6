/* The browser's core, headless: a hand-built snapshot, keys in, screen text
 * out.  Covers every screen, moving, search, sort, filter, history, the
 * cycle groupings, growth columns after a re-snapshot, the too-small
 * terminal, the ASCII fallback, and that a dump reopened shows the same
 * screens as the heap that wrote it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "analysis.h"
#include "browser.h"
#include "diag.h"
#include "diff.h"
#include "heap-build.h"
#include "keymap.h"
#include "session.h"
#include "store.h"
#include "tap.h"
#include "screens.h"
#include "view.h"

#define ROWS 40
#define COLS 120

/* The scenario (addresses chosen to be recognisable):
 *   module app (root) -> its dict ['Node'] -> class Node, ['keep'] -> list
 *   list [0] -> a;  a .next -> b;  b .next -> a;  a, b __class__ -> Node
 *   Node .__dict__ -> the module dict (as methods' globals would)
 *   g1 .other -> g2 .other -> g1: nobody else refers to them (garbage)
 *   u: an object in gc.garbage, held by nothing but that list
 *   thread 7 (native 4242), frame main (app.py:10) with local x = a
 *   previews (what the walker records): s = 'hello leak', l = len 1
 * `extra` more Nodes, each referring to itself, hang off the list for the
 * re-snapshot test. */
static struct heap *scenario(unsigned extra)
{
        struct heap *h = heap_new();
        uint32_t tnode, tdict, tlist, tmod, ttype, tstr;
        uint32_t m, md, cls, l, a, b, g1, g2, u, s, lnext, lother, lclass, ldict, lnode, lkeep;
        uint32_t th, fr, lx, lapp, en[16];
        int r = 0;

        r |= heap_intern_type(h, 0x9100, "__main__", "Node", false, &tnode);
        r |= heap_intern_type(h, 0x9200, "builtins", "dict", false, &tdict);
        r |= heap_intern_type(h, 0x9300, "builtins", "list", false, &tlist);
        r |= heap_intern_type(h, 0x9400, "builtins", "module", false, &tmod);
        r |= heap_intern_type(h, 0x9500, "builtins", "type", false, &ttype);
        r |= heap_intern_type(h, 0x9600, "builtins", "str", false, &tstr);
        r |= heap_add_object(h, 0x1000, tmod, HEAP_GEN_2, 5, 72, HOBJ_HAS_GC, &m);
        r |= heap_add_object(h, 0x1100, tdict, HEAP_GEN_2, 1, 1200, HOBJ_HAS_GC, &md);
        r |= heap_add_object(h, 0x9100, ttype, HEAP_GEN_2, 4, 900, HOBJ_HAS_GC | HOBJ_IS_TYPE,
                             &cls);
        r |= heap_add_object(h, 0x1300, tlist, HEAP_GEN_2, 1, 88, HOBJ_HAS_GC, &l);
        r |= heap_add_object(h, 0x2000, tnode, HEAP_GEN_0, 3, 48, HOBJ_HAS_GC, &a);
        r |= heap_add_object(h, 0x2100, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &b);
        r |= heap_add_object(h, 0x3000, tnode, HEAP_GEN_0, 1, 56, HOBJ_HAS_GC, &g1);
        r |= heap_add_object(h, 0x3100, tnode, HEAP_GEN_0, 1, 56, HOBJ_HAS_GC, &g2);
        r |= heap_add_object(h, 0x4000, tdict, HEAP_GEN_1, 1, 232,
                             HOBJ_HAS_GC | HOBJ_GC_GARBAGE, &u);
        for (unsigned k = 0; k < extra && k < 16; k++)
                r |= heap_add_object(h, 0x5000 + 0x100 * k, tnode, HEAP_GEN_0, 1, 48,
                                     HOBJ_HAS_GC, &en[k]);
        heap_mark_tracked_done(h);
        r |= heap_add_object(h, 0x7000, tstr, HEAP_GEN_UNTRACKED, 1, 53, 0, &s);
        r |= heap_intern_label(h, ".next", &lnext);
        r |= heap_intern_label(h, ".other", &lother);
        r |= heap_intern_label(h, "__class__", &lclass);
        r |= heap_intern_label(h, ".__dict__", &ldict);
        r |= heap_intern_label(h, "['Node']", &lnode);
        r |= heap_intern_label(h, "['keep']", &lkeep);
        r |= heap_intern_label(h, "x", &lx);
        r |= heap_intern_label(h, "app", &lapp);
        r |= heap_add_edge(h, m, md, ldict);
        r |= heap_add_edge(h, md, cls, lnode);
        r |= heap_add_edge(h, md, l, lkeep);
        r |= heap_add_edge(h, cls, md, ldict);
        r |= heap_add_edge(h, l, a, heap_label_index(0));
        for (unsigned k = 0; k < extra && k < 16; k++)
                r |= heap_add_edge(h, l, en[k], heap_label_index(k + 1));
        r |= heap_add_edge(h, a, b, lnext);
        r |= heap_add_edge(h, a, cls, lclass);
        r |= heap_add_edge(h, b, a, lnext);
        r |= heap_add_edge(h, b, cls, lclass);
        r |= heap_add_edge(h, g1, g2, lother);
        r |= heap_add_edge(h, g2, g1, lother);
        r |= heap_add_edge(h, u, s, heap_label_index(0));
        for (unsigned k = 0; k < extra && k < 16; k++)
                r |= heap_add_edge(h, en[k], en[k], lnext);
        r |= heap_add_root(h, m, HEAP_ROOT_MODULE, lapp, UINT32_MAX);
        r |= heap_add_thread(h, 7, 4242, &th);
        r |= heap_add_frame(h, th, "main", "app.py", 10, UINT32_MAX, &fr);
        r |= heap_add_root(h, a, HEAP_ROOT_THREAD, lx, fr);
        r |= heap_finish(h);
        r |= heap_set_preview(h, s, "'hello leak'");
        r |= heap_set_preview(h, l, "len 1");
        h->gc_garbage = malloc(sizeof(uint32_t));
        h->gc_garbage[0] = u;
        h->ngc_garbage = 1;
        h->meta.pid = 4242;
        snprintf(h->meta.python_version, sizeof(h->meta.python_version), "3.12.1");
        snprintf(h->meta.layout_source, sizeof(h->meta.layout_source), "dwarf");
        snprintf(h->meta.interp_path, sizeof(h->meta.interp_path), "/usr/lib/libpython3.12.so");
        h->meta.pause_ms = 9.5;
        h->meta.memory.rss_known = true;
        h->meta.memory.rss = 1 << 20;
        h->gc.enabled = true;
        h->gc.thresholds[0] = 700;
        r |= heap_analyse(h);
        if (r) {
                fprintf(stderr, "scenario: build failed\n");
                exit(1);
        }
        return h;
}

/* The whole screen as one string, lines joined with '\n'; the selected line
 * is marked with '>' in front so tests can see the selection. */
static char *screen_text(struct browser *b, int rows, int cols)
{
        struct screen scr;
        size_t len = 0, cap = (size_t)rows * ((size_t)cols * 4 + 4) + 1;
        char *out = malloc(cap);

        out[0] = 0;
        if (screen_init(&scr, rows, cols) < 0)
                return out;
        browser_render(b, &scr);
        for (int y = 0; y < rows; y++)
                len += (size_t)snprintf(out + len, cap - len, "%c%s\n",
                                        scr.lines[y].selected ? '>' : ' ', scr.lines[y].text);
        screen_release(&scr);
        return out;
}

static void keys(struct browser *b, const char *k)
{
        for (; *k; k++)
                browser_key(b, *k == '\n' ? UIK_ENTER : *k == '\b' ? UIK_BACKSPACE :
                            (unsigned char)*k);
}

static int has(struct browser *b, const char *needle)
{
        char *s = screen_text(b, ROWS, COLS);
        int found = strstr(s, needle) != NULL;

        if (!found)
                printf("# screen does not contain \"%s\":\n#%s\n", needle, s);
        free(s);
        return found;
}

static int lacks(struct browser *b, const char *needle)
{
        char *s = screen_text(b, ROWS, COLS);
        int found = strstr(s, needle) != NULL;

        free(s);
        return !found;
}

/* the selected line contains needle */
static int sel_has(struct browser *b, const char *needle)
{
        char *s = screen_text(b, ROWS, COLS), *line = strstr(s, "\n>");
        int found = 0;

        if (line) {
                char *end = strchr(line + 1, '\n');

                if (end)
                        *end = 0;
                found = strstr(line, needle) != NULL;
        }
        if (!found)
                printf("# selected line does not contain \"%s\":\n#%s\n", needle, s);
        free(s);
        return found;
}

static struct heap *next_heap;

static int fake_resnapshot(struct session *s, char *msg, size_t len)
{
        struct heap_diff *d = NULL;
        int r = heap_diff(s->heap, next_heap, &d);

        if (r < 0) {
                snprintf(msg, len, "diff failed");
                return r;
        }
        heap_free(s->heap);
        heap_diff_free(s->diff);
        s->heap = next_heap;
        s->diff = d;
        s->generation++;
        return 0;
}

/* The rows of the top view are in its sort order: every key is the
 * column's number (COL_NUM, or the rank of COL_RANK texts, which must agree
 * with the texts' case-insensitive order), equal keys in row order. */
static int sorted_ok(const struct view *v)
{
        const struct column *col;
        char b1[512], b2[512];

        if (v->sort_col < 0)
                return 1;
        col = &v->ops->cols[v->sort_col];
        for (uint32_t i = 1; i < v->nvis; i++) {
                /* copies: a virtual view's row is made in one scratch */
                struct row x = *view_row(v, i - 1), y = *view_row(v, i);
                struct cell cx, cy;
                int c;

                v->ops->cell(v, &x, v->sort_col, b1, sizeof(b1), &cx);
                v->ops->cell(v, &y, v->sort_col, b2, sizeof(b2), &cy);
                if (col->flags & (COL_NUM | COL_RANK)) {
                        c = cx.num < cy.num ? -1 : cx.num > cy.num;
                        if ((col->flags & COL_RANK) &&
                            (strcasecmp(cx.text, cy.text) < 0) != (c < 0)) {
                                printf("# rank disagrees with text: %s / %s\n", cx.text,
                                       cy.text);
                                return 0;
                        }
                } else {
                        c = strcasecmp(cx.text, cy.text);
                }
                if (v->sort_desc)
                        c = -c;
                if (c > 0 || (c == 0 && v->vis[i - 1] > v->vis[i])) {
                        printf("# %s: rows %u, %u out of order by column %d%s\n", v->title,
                               i - 1, i, v->sort_col, v->sort_desc ? " (desc)" : "");
                        return 0;
                }
        }
        return 1;
}

/* s through every column and back, S on each: all orders right. */
static int all_sorts_ok(struct browser *b)
{
        struct view *v = browser_top(b);
        int good = sorted_ok(v);

        for (int k = 0; k < v->ops->ncols * 2 + 2; k++) {
                browser_key(b, k % 2 ? 'S' : 's');
                good = good && sorted_ok(v);
        }
        return good;
}

/* Every screen the key script visits, joined: what the dump test compares. */
/* A pool (pool.c): the session's workers; select_worker switches heaps. */
static int fake_select_worker(struct session *s, unsigned i, char *msg, size_t len)
{
        struct heap **hs = s->ctx;

        (void)msg;
        (void)len;
        s->heap = hs[i];
        s->diff = NULL;
        s->worker = i;
        s->generation++;
        return 0;
}

static void test_pool(void)
{
        static const char *const head[] = {"Pool of 2 workers, each snapshotted alone",
                                           "Diverging: worker 4343: tracked objects 13", NULL};
        static const char *const rows[] = {"  4242      1.0 MiB      10  app.keep",
                                           "  4343      9.0 MiB      13  app.keep   <- diverges"};
        static const bool browsable[] = {true, true};
        struct heap *hs[2] = {scenario(0), scenario(3)};
        struct session s = {.nworkers = 2, .pool_head = head, .worker_rows = rows,
                            .worker_browsable = browsable,
                            .select_worker = fake_select_worker, .ctx = hs};
        struct browser *b;

        hs[1]->meta.pid = 4343;
        s.heap = hs[0];
        ok(browser_new(&s, false, &b) == 0, "pool: browser_new");
        browser_resize(b, ROWS, COLS);
        ok(has(b, "Workers") && has(b, "Pool of 2 workers") && has(b, "Diverging: worker 4343"),
           "pool: opens on the Workers screen, the verdict above the workers");
        ok(sel_has(b, "4242") && sel_has(b, "(browsing)"),
           "pool: the first worker, the one browsed, is selected");
        keys(b, "j\n");
        ok(has(b, "process      pid 4343, CPython 3.12.1") && has(b, "worker 4343 (2 of 2)"),
           "pool: Enter browses the selected worker's snapshot, from its overview");
        keys(b, "W");
        ok(sel_has(b, "4343") && sel_has(b, "(browsing)") && lacks(b, "10  app.keep   (browsing)"),
           "pool: W lists the workers again, the browsed one marked");
        keys(b, "\b");
        ok(has(b, "process      pid 4343"), "pool: Back returns to the worker's overview");
        browser_free(b);
        heap_free(hs[0]);
        heap_free(hs[1]);
}

/* An object's lists stop at VIEW_OBJ_ROWS entries with a row that lists
 * them all: a class with N instances (N referrers) and a list of them (N
 * referents). */
static void test_many_refs(void)
{
        enum { N = VIEW_OBJ_ROWS + 50 };
        struct heap *h = heap_new();
        struct session s = {0};
        struct browser *b = NULL;
        uint32_t tnode, tlist, tmod, ttype, m, cls, l, o, lcls, lkeep, lapp;
        char last[64];
        int r = 0;

        r |= heap_intern_type(h, 0x9100, "__main__", "Node", false, &tnode);
        r |= heap_intern_type(h, 0x9300, "builtins", "list", false, &tlist);
        r |= heap_intern_type(h, 0x9400, "builtins", "module", false, &tmod);
        r |= heap_intern_type(h, 0x9500, "builtins", "type", false, &ttype);
        r |= heap_add_object(h, 0x1000, tmod, HEAP_GEN_2, 5, 72, HOBJ_HAS_GC, &m);
        r |= heap_add_object(h, 0x9100, ttype, HEAP_GEN_2, N + 1, 900,
                             HOBJ_HAS_GC | HOBJ_IS_TYPE, &cls);
        r |= heap_add_object(h, 0x1300, tlist, HEAP_GEN_2, 1, 8 * N + 56, HOBJ_HAS_GC, &l);
        r |= heap_intern_label(h, "__class__", &lcls);
        r |= heap_intern_label(h, "keep", &lkeep);
        r |= heap_intern_label(h, "app", &lapp);
        for (uint32_t k = 0; k < N; k++)
                r |= heap_add_object(h, 0x100000 + 0x40 * (uint64_t)k, tnode, HEAP_GEN_2, 1, 48,
                                     HOBJ_HAS_GC, &o);
        heap_mark_tracked_done(h);
        /* edges source by source, in the objects' order */
        r |= heap_add_edge(h, m, l, lkeep);
        for (uint32_t k = 0; k < N; k++)
                r |= heap_add_edge(h, l, o - (N - 1) + k, heap_label_index(k));
        for (uint32_t k = 0; k < N; k++)
                r |= heap_add_edge(h, o - (N - 1) + k, cls, lcls);
        r |= heap_add_root(h, m, HEAP_ROOT_MODULE, lapp, UINT32_MAX);
        r |= heap_finish(h);
        r |= heap_analyse(h);
        s.heap = h;
        ok(r == 0 && browser_new(&s, false, &b) == 0, "many refs: a heap of %d nodes", N);
        if (r || !b)
                return;
        browser_resize(b, ROWS, COLS);
        keys(b, "/0x1300\n\n");
        ok(has(b, "Referents (10050)"), "many refs: the list's referents counted whole");
        keys(b, ">k");
        ok(sel_has(b, "... 50 more referents: Enter lists them all"),
           "many refs: after 10000 referents, a row for the other 50");
        keys(b, "\b/0x9100\n>");
        ok(has(b, "0 referents, 10050 referrers") &&
                   sel_has(b, "... 50 more referrers: Enter lists them all"),
           "many refs: the class's referrers stop at 10000, and say how many more");
        keys(b, "\n>");
        snprintf(last, sizeof(last), "__main__.Node @ 0x%x", 0x100000 + 0x40 * (N - 1));
        ok(lacks(b, "more referrers") && sel_has(b, last),
           "many refs: Enter on it lists all 10050, the last one %s", last);
        browser_free(b);
        heap_free(h);
}

static char *tour(struct session *s)
{
        static const char *const script[] = {
                "", "c", "\n", "l", "t", "\n", "\n", "p", "\b\bg", "T", "?", "o", "jjjj\n",
        };
        struct browser *b;
        size_t len = 0, cap = 1;
        char *all = calloc(1, 1);

        if (browser_new(s, true, &b) < 0)
                return all;
        browser_resize(b, ROWS, COLS);
        for (size_t k = 0; k < sizeof(script) / sizeof(script[0]); k++) {
                char *t;

                keys(b, script[k]);
                t = screen_text(b, ROWS, COLS);
                cap += strlen(t) + 1;
                all = realloc(all, cap);
                memcpy(all + len, t, strlen(t) + 1);
                len += strlen(t);
                free(t);
        }
        browser_free(b);
        return all;
}

int main(void)
{
        struct session s = {0};
        struct browser *b;
        char *t;

        s.heap = scenario(0);
        ok(browser_new(&s, false, &b) == 0, "browser_new");
        browser_resize(b, ROWS, COLS);

        /* overview first */
        ok(has(b, "Overview"), "overview opens first");
        ok(has(b, "process      pid 4242, CPython 3.12.1"), "overview: process");
        ok(has(b, "gc           enabled, thresholds 700/0/0"), "overview: gc state");
        ok(has(b, "memory       RSS 1.0 MiB: Python objects 2.7 KiB, buffers 0 B; 1021.3 KiB not "
                  "explained"), "overview: the accounting line");
        ok(has(b, "Garbage waiting for a collection: 2 objects, 112 B"),
           "overview: garbage waiting");
        ok(has(b, "gc.garbage: 1 object"), "overview: gc.garbage");
        ok(has(b, "Largest cycles by retained size"), "overview: cycle suspects");

        /* cycles open in the local grouping; l: the SCC grouping shows the
         * module component and the garbage pair */
        keys(b, "c");
        ok(has(b, "grouping: local"), "cycles: the local grouping by default");
        keys(b, "l");
        ok(has(b, "grouping: strongly connected components"), "cycles: grouping named");
        ok(has(b, "members") && has(b, "retained") && has(b, "type signature"),
           "cycles: column header");
        ok(has(b, "GARBAGE __main__.Node"), "cycles: the garbage pair");
        keys(b, "l");
        ok(has(b, "grouping: local"), "l toggles to the local grouping");
        ok(has(b, "2 cycles (1 garbage)"), "local grouping: a<->b and g1<->g2");
        keys(b, "\n");
        ok(has(b, "Shortest cycle through __main__.Node @ 0x"), "cycle view: drawing");
        ok(has(b, ".other -> __main__.Node @ 0x3100"), "cycle view: labelled edges");
        ok(has(b, "local grouping (references to classes"), "cycle view names the grouping");
        keys(b, "\b");
        ok(has(b, "grouping: local"), "Backspace returns to the cycles list");
        keys(b, "l");

        /* types, search, instances, object, path */
        keys(b, "t");
        ok(has(b, "count") && has(b, "__main__.Node"), "types: histogram");
        ok(lacks(b, "+count"), "types: no growth column before a re-snapshot");
        keys(b, "/Node\n");
        ok(sel_has(b, "__main__.Node"), "search selects the type");
        keys(b, "\n");
        ok(has(b, "4 instances of __main__.Node"), "instances of the type");
        ok(sorted_ok(browser_top(b)) && browser_top(b)->sort_col >= 0,
           "instances open sorted (by retained, biggest first)");
        keys(b, "/0x2000\n");
        ok(sel_has(b, "0x2000"), "search by hex id");
        keys(b, "\n");
        ok(has(b, "__main__.Node @ 0x2000   id 8192"), "object view: header");
        ok(has(b, "refcount 3") && has(b, "generation 0"), "object view: refcount, generation");
        ok(has(b, "Referents (2)") && has(b, ".next") && has(b, "Referrers (2)"),
           "object view: referents and referrers");
        keys(b, "p");
        ok(has(b, "root: local x of main (app.py:10), thread 7"), "path: from a frame's local");
        keys(b, "\b/0x1300\n");
        ok(sel_has(b, "builtins.list @ 0x1300  [0]"), "object view: search a referrer");
        keys(b, "p");
        ok(has(b, "root: module app (in sys.modules)"), "path: from the module root");
        ok(has(b, "['keep'] -> builtins.list @ 0x1300"), "path: labelled steps");
        keys(b, "\b\b");
        ok(has(b, "Instances of __main__.Node"), "history goes back");

        /* decimal id search opens an object the list does not show */
        keys(b, "/4096\n");
        ok(has(b, "builtins.module @ 0x1000"), "decimal id opens that object");

        /* garbage, filter, sort */
        keys(b, "g");
        ok(has(b, "A full collection would free 2 objects"), "garbage screen");
        ok(has(b, "gc.garbage holds 1 object"), "garbage: gc.garbage");
        keys(b, "s");
        ok(has(b, "id^") || has(b, "size"), "s sorts by a column");
        keys(b, "t");
        keys(b, "fg\n");
        ok(has(b, "[garbage only]") && has(b, "__main__.Node") && lacks(b, "builtins.list"),
           "filter: garbage only");
        keys(b, "f");
        for (int k = 0; k < 4; k++)
                browser_key(b, UIK_BACKSPACE);
        keys(b, "\n");
        ok(has(b, "filter cleared") && has(b, "builtins.list"), "filter cleared");

        /* previews: the Object screen's value line, referent rows, instance
         * lists, and / finds text in a str */
        keys(b, "g/0x4000\n");
        ok(sel_has(b, "builtins.dict"), "garbage: the gc.garbage dict");
        ok(has(b, "value"), "garbage: value column");
        keys(b, "\n");
        ok(has(b, "[0]") && has(b, "builtins.str @ 0x7000") && has(b, "'hello leak'"),
           "object view: referent row shows the str's value");
        keys(b, "k/hello\n");
        ok(sel_has(b, "'hello leak'"), "object view: / finds text in a str");
        keys(b, "\n");
        ok(has(b, " value 'hello leak'"), "object view: value line of a str");
        keys(b, "\b\bt/builtins.str\n\n");
        ok(has(b, "value") && sel_has(b, "'hello leak'"), "instances: value column");
        keys(b, "t/builtins.list\n\n");
        ok(sel_has(b, "len 1"), "instances: a container's length");
        keys(b, "t/builtins.str\n\nk/HELLO\n");
        ok(sel_has(b, "0x7000"), "instances: / by str text (any case)");

        /* every sort order of the lists, both directions */
        keys(b, "g");
        ok(all_sorts_ok(b), "garbage: every column sorts right");
        keys(b, "t");
        ok(all_sorts_ok(b), "types: every column sorts right");
        keys(b, "\n");
        ok(all_sorts_ok(b), "instances: every column sorts right");
        keys(b, "c");
        ok(all_sorts_ok(b), "cycles: every column sorts right");
        keys(b, "l");
        ok(all_sorts_ok(b), "local cycles: every column sorts right");
        keys(b, "l");

        /* W: not a pool */
        keys(b, "W");
        ok(has(b, "not a pool: pyleak-attach PID PID... or --children PID"),
           "W outside a pool says how to get one");

        /* threads and help */
        keys(b, "T");
        ok(has(b, "Thread 7 (native id 4242), 1 frame"), "threads: thread");
        ok(has(b, "#0   main  app.py:10"), "threads: frame");
        ok(has(b, "x                    = __main__.Node @ 0x2000"), "threads: local");
        keys(b, "?");
        ok(has(b, "search: type name, id (hex or decimal), text"), "help from the keymap");
        ok(has(b, "/ "), "help lists the keys");

        /* resize: too small, then back */
        browser_resize(b, 20, 70);
        t = screen_text(b, 20, 70);
        ok(strstr(t, "terminal too small: 70x20") != NULL, "too small: message");
        free(t);
        /* the 60x20: every word of the message is on the screen */
        browser_resize(b, 20, 60);
        t = screen_text(b, 20, 60);
        ok(strstr(t, "terminal too small: 60x20") && strstr(t, "the browser needs 80x24") &&
           strstr(t, "enlarge it, or q quits"), "too small at 60x20: the message fits whole");
        free(t);
        browser_resize(b, ROWS, COLS);
        ok(has(b, "Help"), "back to normal size");

        /* r on a live session: growth columns (ASCII: '+') */
        next_heap = scenario(3);
        s.live = true;
        s.resnapshot = fake_resnapshot;
        keys(b, "t");
        keys(b, "r");
        ok(has(b, "3 objects appeared since the previous one"), "r: message");
        ok(has(b, "+count") && has(b, "+bytes"), "types: growth columns (ASCII)");
        ok(has(b, "+3"), "types: Node grew by 3");
        keys(b, "c");
        ok(has(b, "state        + type signature"), "cycles: growth column");
        ok(has(b, "+3 __main__.Node"), "cycles: 3 more cycles of the shape");
        ok(all_sorts_ok(b), "cycles with growth: every column sorts right");
        keys(b, "g");
        ok(all_sorts_ok(b), "garbage with growth: every column sorts right");
        keys(b, "q");
        browser_free(b);
        heap_diff_free(s.diff);
        heap_free(s.heap);

        /* a dump gives the same screens */
        {
                char path[] = "/tmp/test-browser-XXXXXX";
                struct session s1 = {0}, s2 = {0};
                struct diag d = {0};
                char *t1, *t2;
                int fd = mkstemp(path);

                close(fd);
                s1.heap = scenario(2);
                ok(heap_store_write(s1.heap, path, &(struct store_write_opts){.force = true},
                                    &d) == 0, "dump written: %s", d.msg);
                ok(heap_store_read(path, &s2.heap, &d) == 0, "dump read: %s", d.msg);
                t1 = tour(&s1);
                t2 = tour(&s2);
                ok(strlen(t1) > 1000 && !strcmp(t1, t2), "dump: identical screens (%zu bytes)",
                   strlen(t1));
                if (strcmp(t1, t2))
                        printf("# live:\n%s\n# dump:\n%s\n", t1, t2);
                free(t1);
                free(t2);
                heap_free(s1.heap);
                heap_free(s2.heap);
                unlink(path);
        }
        test_pool();
        test_many_refs();
        return tap_done();
}
