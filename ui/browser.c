/* browser.c: the browser's core (browser.h): screens, history, prompts, the
 * request handlers and the composition of each screen as text. */
#include "browser.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "diff.h"
#include "fmt.h"
#include "heap.h"
#include "keymap.h"
#include "screens.h"
#include "session.h"
#include "view-index.h"
#include "utf8.h"

#define HISTORY_MAX 64

enum prompt_kind {
        PROMPT_NONE,
        PROMPT_SEARCH,
        PROMPT_FILTER,
        PROMPT_DUMP,
        PROMPT_OVERWRITE,
};

struct browser {
        struct session *s;
        struct ui_index *ix;
        bool utf8;
        bool local;                      /* cycles: grouping last shown */
        /* the screens reached by a key keep their state (selection, sort,
         * filter) for the life of a snapshot */
        struct view *screens[VIEW__COUNT];
        struct view *cycles[2];
        struct view *stack[HISTORY_MAX];
        int depth;
        int rows, cols;
        char msg[512];
        bool msg_error;
        enum prompt_kind prompt;
        char input[512];
        char search[512];
        char dump_path[512];
        void (*busy)(void *ctx, const char *msg);
        void *busy_ctx;
        int fatal;                       /* -errno: the browser cannot go on */
};

int browser_fatal(const struct browser *b)
{
        return b->fatal;
}

__attribute__((format(printf, 3, 4)))
static void say(struct browser *b, bool error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
        va_end(ap);
        b->msg_error = error;
}

struct view *browser_top(struct browser *b)
{
        return b->depth ? b->stack[b->depth - 1] : NULL;
}

static int page_rows(const struct browser *b, const struct view *v)
{
        int colhead = !(v->ops->ncols == 1 && !v->ops->cols[0].title[0]);
        int n = b->rows - 2 - v->nhead - colhead;

        return n > 1 ? n : 1;
}

static void drop(struct view *v)
{
        if (v && !v->keep)
                view_free(v);
}

static void push(struct browser *b, struct view *v)
{
        if (b->depth == HISTORY_MAX) {
                drop(b->stack[0]);
                memmove(b->stack, b->stack + 1, sizeof(b->stack[0]) * (HISTORY_MAX - 1));
                b->depth--;
        }
        b->stack[b->depth++] = v;
        view_move(v, 0, page_rows(b, v));
}

static const char *view_error(int r)
{
        return r == -ENOMEM ? "out of memory" : r == -ENOENT ? "nothing to show" : strerror(-r);
}

/* A screen reached by a key: built on first use, then kept. */
static int screen(struct browser *b, enum view_kind kind, struct view **ret)
{
        struct view **slot = kind == VIEW_CYCLES ? &b->cycles[b->local] : &b->screens[kind];
        int r;

        if (!*slot) {
                r = view_new(b->ix, kind, UI_NONE, UI_NONE, UI_NONE, b->local, slot);
                if (r < 0)
                        return r;
                (*slot)->keep = true;
        }
        *ret = *slot;
        return 0;
}

/* The Workers screen opens on the worker browsed. */
static void select_browsed_worker(struct browser *b, struct view *v)
{
        for (uint32_t i = 0; i < v->nvis; i++) {
                const struct row *r = view_row(v, i);

                if (r && r->kind == ROW_WORKER && r->a == b->s->worker) {
                        view_move(v, (int64_t)i - (int64_t)v->sel, page_rows(b, v));
                        return;
                }
        }
}

static int open_screen(struct browser *b, enum view_kind kind)
{
        struct view *v;
        int r = screen(b, kind, &v);

        if (r < 0) {
                say(b, true, "cannot open the screen: %s", view_error(r));
                return BR_VIEW;
        }
        if (kind == VIEW_WORKERS)
                select_browsed_worker(b, v);
        if (browser_top(b) != v)
                push(b, v);
        return BR_VIEW;
}

static int open_view(struct browser *b, enum view_kind kind, uint32_t obj, uint32_t cycle,
                     uint32_t type, bool local)
{
        struct view *v;
        int r = view_new(b->ix, kind, obj, cycle, type, local, &v);

        if (r < 0) {
                say(b, true, "cannot open it: %s", view_error(r));
                return BR_VIEW;
        }
        push(b, v);
        return BR_VIEW;
}

static void free_views(struct browser *b)
{
        for (int i = 0; i < b->depth; i++)
                drop(b->stack[i]);
        b->depth = 0;
        for (int k = 0; k < VIEW__COUNT; k++) {
                view_free(b->screens[k]);
                b->screens[k] = NULL;
        }
        for (int k = 0; k < 2; k++) {
                view_free(b->cycles[k]);
                b->cycles[k] = NULL;
        }
}

int browser_new(struct session *s, bool utf8, struct browser **ret)
{
        struct browser *b = calloc(1, sizeof(*b));
        int r;

        if (!b)
                return -ENOMEM;
        b->s = s;
        b->utf8 = utf8;
        /* the application's cycles first: the strict grouping fuses every
         * instance with its class and module into one component (l) */
        b->local = true;
        b->rows = UI_MIN_ROWS;
        b->cols = UI_MIN_COLS;
        r = ui_index_new(s, utf8, &b->ix);
        if (r < 0) {
                free(b);
                return r;
        }
        open_screen(b, VIEW_OVERVIEW);
        if (!b->depth) {
                browser_free(b);
                return -ENOMEM;
        }
        /* a pool opens on its comparison; Back shows the worker browsed */
        if (s->nworkers)
                open_screen(b, VIEW_WORKERS);
        *ret = b;
        return 0;
}

void browser_free(struct browser *b)
{
        if (!b)
                return;
        free_views(b);
        ui_index_free(b->ix);
        free(b);
}

void browser_set_busy_hook(struct browser *b, void (*hook)(void *ctx, const char *msg),
                           void *ctx)
{
        b->busy = hook;
        b->busy_ctx = ctx;
}

void browser_resize(struct browser *b, int rows, int cols)
{
        b->rows = rows;
        b->cols = cols;
        for (int i = 0; i < b->depth; i++)
                view_move(b->stack[i], 0, page_rows(b, b->stack[i]));
}

static void busy(struct browser *b, const char *msg)
{
        if (b->busy)
                b->busy(b->busy_ctx, msg);
}

/* ---- request handlers: each returns what changed ---------------------- */

static uint32_t selected_obj(struct browser *b)
{
        struct view *v = browser_top(b);
        const struct row *r = view_row(v, v->sel);
        uint32_t o = r ? view_row_obj(r) : UI_NONE;

        if (o == UI_NONE && (v->kind == VIEW_OBJECT || v->kind == VIEW_PATH))
                o = v->obj;
        return o;
}

static int do_select_worker(struct browser *b, uint32_t i);
static void replace_top(struct browser *b, struct view *v);

static int do_enter(struct browser *b)
{
        struct view *v = browser_top(b);
        const struct row *r = view_row(v, v->sel);
        uint32_t o;

        if (!r)
                return BR_NONE;
        o = view_row_obj(r);
        if (o != UI_NONE)
                return open_view(b, VIEW_OBJECT, o, UI_NONE, UI_NONE, false);
        if (r->kind == ROW_CYCLE)
                return open_view(b, VIEW_CYCLE, UI_NONE, r->a, UI_NONE, r->b);
        if (r->kind == ROW_TYPE)
                return open_view(b, VIEW_INSTANCES, UI_NONE, UI_NONE, r->a, false);
        if (r->kind == ROW_WORKER)
                return do_select_worker(b, r->a);
        if (r->kind == ROW_MORE) {
                uint32_t sel = v->sel;
                struct view *nv;
                int e = view_new_object_all(b->ix, v->obj, &nv);

                if (e < 0) {
                        say(b, true, "cannot list them all: %s", view_error(e));
                        return BR_VIEW;
                }
                replace_top(b, nv);
                view_select(nv, sel, page_rows(b, nv));
                return BR_VIEW;
        }
        return BR_NONE;
}

static int do_back(struct browser *b)
{
        if (b->depth <= 1) {
                say(b, false, "this is where the history starts (q quits)");
                return BR_VIEW;
        }
        drop(b->stack[--b->depth]);
        view_move(browser_top(b), 0, page_rows(b, browser_top(b)));
        return BR_VIEW;
}

static void replace_top(struct browser *b, struct view *v)
{
        drop(b->stack[b->depth - 1]);
        b->depth--;
        push(b, v);
}

static int do_grouping(struct browser *b)
{
        struct view *v = browser_top(b), *nv;
        uint32_t o, cyc;
        int r;

        b->local = !b->local;
        if (v->kind == VIEW_CYCLES) {
                r = screen(b, VIEW_CYCLES, &nv);
                if (r < 0) {
                        say(b, true, "cannot group the cycles: %s", view_error(r));
                        return BR_VIEW;
                }
                b->stack[b->depth - 1] = nv;
                view_move(nv, 0, page_rows(b, nv));
                return BR_VIEW;
        }
        if (v->kind == VIEW_CYCLE) {
                o = selected_obj(b);
                if (o == UI_NONE)
                        o = v->member;
                if (ui_index_sigs(b->ix, b->local) < 0 ||
                    ui_index_cycle_of(b->ix, b->local, o, &cyc) < 0) {
                        b->local = !b->local;
                        say(b, true, "this object is in no cycle of the %s grouping",
                            !b->local ? "local" : "strongly connected");
                        return BR_VIEW;
                }
                r = view_new(b->ix, VIEW_CYCLE, o, cyc, UI_NONE, b->local, &nv);
                if (r < 0) {
                        say(b, true, "cannot open the cycle: %s", view_error(r));
                        return BR_VIEW;
                }
                replace_top(b, nv);
                return BR_VIEW;
        }
        say(b, false, "cycles will be grouped %s", b->local ?
            "ignoring references to classes, modules and globals" :
            "as strongly connected components");
        return BR_VIEW;
}

static int do_member(struct browser *b)
{
        struct view *v = browser_top(b), *nv;
        uint32_t o = selected_obj(b);
        int r;

        if (v->kind != VIEW_CYCLE) {
                say(b, false, "m works in a cycle view: it redraws the cycle through a member");
                return BR_VIEW;
        }
        if (o == UI_NONE)
                return BR_NONE;
        r = view_new(b->ix, VIEW_CYCLE, o, v->cycle, UI_NONE, v->local, &nv);
        if (r < 0) {
                say(b, true, "cannot draw the cycle: %s", view_error(r));
                return BR_VIEW;
        }
        replace_top(b, nv);
        return BR_VIEW;
}

static int do_path(struct browser *b)
{
        uint32_t o = selected_obj(b);

        if (o == UI_NONE) {
                say(b, false, "p shows the path to an object: select one first");
                return BR_VIEW;
        }
        return open_view(b, VIEW_PATH, o, UI_NONE, UI_NONE, false);
}

static int search(struct browser *b, int dir)
{
        struct view *v = browser_top(b);
        int64_t vi;

        if (!b->search[0]) {
                say(b, false, "no search yet: / starts one");
                return BR_VIEW;
        }
        vi = view_search(v, b->search, dir);
        if (vi >= 0) {
                view_select(v, (uint32_t)vi, page_rows(b, v));
                b->msg[0] = 0;
                return BR_VIEW;
        }
        /* an id that this list does not show: open the object itself */
        {
                char *end;
                const char *p = b->search;
                uint64_t id = strtoull(p, &end, p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ?
                                       16 : 10);
                int64_t i = !*end && end != p ? heap_find(b->ix->h, id) : -1;

                if (i >= 0)
                        return open_view(b, VIEW_OBJECT, (uint32_t)i, UI_NONE, UI_NONE, false);
        }
        say(b, true, "not found: %s", b->search);
        return BR_VIEW;
}

static int apply_filter(struct browser *b, const char *in)
{
        struct view *v = browser_top(b);
        bool garbage = false;
        int r;

        while (*in == ' ')
                in++;
        if (in[0] == 'g' && (in[1] == 0 || in[1] == ' ')) {
                garbage = true;
                in++;
                while (*in == ' ')
                        in++;
        }
        r = view_set_filter(v, garbage, in);
        if (r < 0)
                say(b, true, "cannot filter: %s", view_error(r));
        else if (!garbage && !in[0])
                say(b, false, "filter cleared");
        else
                say(b, false, "%" PRIu32 " of %" PRIu32 " rows shown", v->nvis, v->nrows);
        return BR_VIEW;
}

/* Where the user was, by names and addresses: indices die with the heap. */
struct place {
        enum view_kind kind;
        uint64_t addr;
        char type[256];
};

static void remember(struct browser *b, struct place *p)
{
        struct view *top = browser_top(b);
        const struct heap *h = b->ix->h;

        memset(p, 0, sizeof(*p));
        p->kind = top ? top->kind : VIEW_OVERVIEW;
        if (top && top->obj < h->nobjs)
                p->addr = h->objs[top->obj].addr;
        if (top && p->kind == VIEW_INSTANCES && top->type < h->ntypes)
                snprintf(p->type, sizeof(p->type), "%s", h->types[top->type].fullname);
}

/* After a re-snapshot every index into the old heap is stale: rebuild the
 * screens, and come back to the same screen (or object, by address). */
static int rebuild(struct browser *b, const struct place *p)
{
        struct ui_index *ix;
        int64_t i;
        int r;

        r = ui_index_new(b->s, b->utf8, &ix);
        if (r < 0)
                return r;
        free_views(b);
        ui_index_free(b->ix);
        b->ix = ix;
        open_screen(b, VIEW_OVERVIEW);
        switch (p->kind) {
        case VIEW_OBJECT: case VIEW_PATH:
                i = heap_find(ix->h, p->addr);
                if (i >= 0)
                        open_view(b, p->kind, (uint32_t)i, UI_NONE, UI_NONE, false);
                break;
        case VIEW_INSTANCES:
                open_screen(b, VIEW_TYPES);
                for (uint32_t t = 0; t < ix->h->ntypes; t++)
                        if (ix->h->types[t].fullname && !strcmp(ix->h->types[t].fullname, p->type)) {
                                open_view(b, VIEW_INSTANCES, UI_NONE, UI_NONE, t, false);
                                break;
                        }
                break;
        default:
                /* a screen of its own key: the same screen, fresh */
                if (screens_has_key(p->kind))
                        open_screen(b, p->kind);
                break;
        }
        return 0;
}

/* A pool: the worker's snapshot replaces the one browsed, as after a
 * re-snapshot, and the browser starts again from its overview. */
static int do_select_worker(struct browser *b, uint32_t i)
{
        struct place p = {.kind = VIEW_OVERVIEW};
        char err[512] = "";
        int r;

        if (!b->s->select_worker || i >= b->s->nworkers)
                return BR_NONE;
        busy(b, "opening the worker's snapshot...");
        r = b->s->select_worker(b->s, i, err, sizeof(err));
        if (r < 0) {
                say(b, true, "cannot browse that worker: %s", err[0] ? err : strerror(-r));
                return BR_ALL;
        }
        r = rebuild(b, &p);
        if (r < 0) {
                b->fatal = r;
                return BR_QUIT;
        }
        say(b, false, "worker %d (%u of %u); W lists the workers again", b->s->heap->meta.pid,
            i + 1, b->s->nworkers);
        return BR_ALL;
}

static int do_resnapshot(struct browser *b)
{
        char err[512] = "";
        struct place p;
        int r;

        if (!b->s->live || !b->s->resnapshot) {
                say(b, true, "r needs a live target: this is a saved dump");
                return BR_VIEW;
        }
        remember(b, &p);
        busy(b, "taking a new snapshot...");
        r = b->s->resnapshot(b->s, err, sizeof(err));
        if (r < 0) {
                say(b, true, "new snapshot failed: %s", err[0] ? err : strerror(-r));
                return BR_ALL;
        }
        /* the old heap is gone: nothing may read it before the rebuild */
        r = rebuild(b, &p);
        if (r < 0) {
                /* nothing can be shown: the views pointed into the old
                 * heap; the front end restores the terminal, then says so */
                b->fatal = r;
                return BR_QUIT;
        }
        if (b->s->diff)
                say(b, false, "snapshot %u: %" PRIu32 " objects appeared since the previous "
                    "one; growth columns added", b->s->generation + 1, b->s->diff->nnew);
        else
                say(b, false, "snapshot %u taken", b->s->generation + 1);
        return BR_ALL;
}

static int write_dump(struct browser *b, bool force)
{
        char err[512] = "";
        int r;

        if (!b->s->write_dump) {
                say(b, true, "writing a dump is not available here");
                return BR_VIEW;
        }
        busy(b, "writing the dump...");
        r = b->s->write_dump(b->s, b->dump_path, force, err, sizeof(err));
        if (r == -EEXIST && !force) {
                b->prompt = PROMPT_OVERWRITE;
                b->input[0] = 0;
                return BR_ALL;
        }
        if (r < 0)
                say(b, true, "cannot write %s: %s", b->dump_path, err[0] ? err : strerror(-r));
        else
                say(b, false, "wrote %s (open it with: pyleak-attach %s)", b->dump_path,
                    b->dump_path);
        return BR_ALL;
}

static void start_prompt(struct browser *b, enum prompt_kind p, const char *initial)
{
        b->prompt = p;
        snprintf(b->input, sizeof(b->input), "%s", initial ? initial : "");
        b->msg[0] = 0;
}

static int prompt_done(struct browser *b)
{
        enum prompt_kind p = b->prompt;

        b->prompt = PROMPT_NONE;
        switch (p) {
        case PROMPT_SEARCH:
                if (!b->input[0])
                        return BR_VIEW;
                snprintf(b->search, sizeof(b->search), "%s", b->input);
                return search(b, +1);
        case PROMPT_FILTER:
                return apply_filter(b, b->input);
        case PROMPT_DUMP:
                if (!b->input[0])
                        return BR_VIEW;
                snprintf(b->dump_path, sizeof(b->dump_path), "%s", b->input);
                return write_dump(b, false);
        case PROMPT_OVERWRITE:
                if (b->input[0] == 'y' || b->input[0] == 'Y')
                        return write_dump(b, true);
                say(b, false, "not written");
                return BR_VIEW;
        default:
                return BR_VIEW;
        }
}

/* Line editing in a prompt: characters, Backspace, Enter, Esc. */
static int prompt_key(struct browser *b, int key)
{
        size_t n = strlen(b->input);

        switch (key) {
        case UIK_ENTER:
                return prompt_done(b);
        case UIK_ESC:
        case UIK_CTRL_C:
                b->prompt = PROMPT_NONE;
                return BR_VIEW;
        case UIK_BACKSPACE:
                /* drop one whole UTF-8 character */
                while (n > 0 && ((unsigned char)b->input[n - 1] & 0xc0) == 0x80)
                        n--;
                if (n > 0)
                        n--;
                b->input[n] = 0;
                return BR_CURSOR;
        case UIK_RESIZE:
                return BR_ALL;
        default:
                break;
        }
        if (key < 0x20 || key >= UIK_UP || key == 0x7f)
                return BR_NONE;
        if (b->prompt == PROMPT_OVERWRITE) {
                b->input[0] = (char)key;
                b->input[1] = 0;
                return prompt_done(b);
        }
        /* the key is a code point: store it as UTF-8 */
        {
                char u[UTF8_MAX_BYTES];
                size_t un = utf8_encode((uint32_t)key, u);

                if (n + un < sizeof(b->input)) {
                        memcpy(b->input + n, u, un);
                        b->input[n + un] = 0;
                }
        }
        return BR_CURSOR;
}

static bool too_small(const struct browser *b)
{
        return b->rows < UI_MIN_ROWS || b->cols < UI_MIN_COLS;
}

int browser_key(struct browser *b, int key)
{
        struct view *v = browser_top(b);
        enum ui_request req;
        int page, r;

        if (key == UIK_RESIZE)
                return BR_ALL;
        if (b->prompt != PROMPT_NONE)
                return prompt_key(b, key);
        req = keymap_lookup(key);
        if (too_small(b) && req != REQ_QUIT && req != REQ_REDRAW)
                return BR_NONE;
        page = page_rows(b, v);
        if (req != REQ_NONE)
                b->msg[0] = 0;
        switch (req) {
        case REQ_MOVE_UP: view_move(v, -1, page); return BR_CURSOR;
        case REQ_MOVE_DOWN: view_move(v, +1, page); return BR_CURSOR;
        case REQ_PAGE_UP: view_move(v, -page, page); return BR_CURSOR;
        case REQ_PAGE_DOWN: view_move(v, page, page); return BR_CURSOR;
        case REQ_FIRST: view_move(v, -(int64_t)v->nvis, page); return BR_CURSOR;
        case REQ_LAST: view_move(v, v->nvis, page); return BR_CURSOR;
        case REQ_ENTER: return do_enter(b);
        case REQ_BACK: return do_back(b);
        case REQ_PATH: return do_path(b);
        case REQ_SEARCH: start_prompt(b, PROMPT_SEARCH, NULL); return BR_VIEW;
        case REQ_SEARCH_NEXT: return search(b, +1);
        case REQ_SEARCH_PREV: return search(b, -1);
        case REQ_SORT:
        case REQ_SORT_REVERSE:
                r = req == REQ_SORT ? view_sort_next(v) : view_sort_reverse(v);
                if (r == -ENOTSUP)
                        say(b, false, "this screen has no columns to sort by");
                else if (r < 0)
                        say(b, true, "cannot sort: %s", view_error(r));
                else
                        view_move(v, 0, page);
                return BR_VIEW;
        case REQ_FILTER:
                start_prompt(b, PROMPT_FILTER, v->filter_garbage ? "g" : "");
                if (v->filter_type[0])
                        snprintf(b->input + strlen(b->input), sizeof(b->input) - strlen(b->input),
                                 "%s%s", v->filter_garbage ? " " : "", v->filter_type);
                return BR_VIEW;
        case REQ_GROUPING: return do_grouping(b);
        case REQ_MEMBER: return do_member(b);
        case REQ_RESNAPSHOT: return do_resnapshot(b);
        case REQ_WRITE_DUMP:
                if (!b->dump_path[0])
                        snprintf(b->dump_path, sizeof(b->dump_path), "pyleak-%d.db",
                                 b->ix->h->meta.pid);
                start_prompt(b, PROMPT_DUMP, b->dump_path);
                return BR_VIEW;
        case REQ_REDRAW: return BR_ALL;
        case REQ_QUIT: return BR_QUIT;
        default:
                /* the screens' own keys (screens.h) */
                if (screens_for_request(req) < VIEW__COUNT)
                        return open_screen(b, screens_for_request(req));
                return BR_NONE;
        }
}

/* ---- composing the screen ------------------------------------------------- */

int screen_init(struct screen *scr, int rows, int cols)
{
        memset(scr, 0, sizeof(*scr));
        scr->lines = calloc(rows > 0 ? rows : 1, sizeof(*scr->lines));
        if (!scr->lines)
                return -ENOMEM;
        scr->rows = rows;
        scr->cols = cols;
        for (int y = 0; y < rows; y++) {
                /* four bytes per column: the longest UTF-8 character */
                scr->lines[y].text = malloc((size_t)cols * 4 + 8);
                if (!scr->lines[y].text) {
                        screen_release(scr);
                        return -ENOMEM;
                }
                scr->lines[y].text[0] = 0;
        }
        return 0;
}

void screen_release(struct screen *scr)
{
        if (scr->lines)
                for (int y = 0; y < scr->rows; y++)
                        free(scr->lines[y].text);
        free(scr->lines);
        scr->lines = NULL;
}

static void put_line(struct browser *b, struct screen *scr, int y, int style, const char *text)
{
        size_t pos = 0;

        if (y < 0 || y >= scr->rows)
                return;
        scr->lines[y].text[0] = 0;
        fmt_fit(scr->lines[y].text, (size_t)scr->cols * 4 + 8, &pos, text, scr->cols, false,
                b->utf8);
        scr->lines[y].style = style;
        scr->lines[y].selected = false;
}

/* Left text and right text on one line. */
static void put_split(struct browser *b, struct screen *scr, int y, int style, const char *left,
                      const char *right)
{
        char line[2048];
        size_t pos = 0;
        int rw = fmt_width(right, b->utf8), lw = scr->cols - rw - 1;

        line[0] = 0;
        if (lw < 1) {
                put_line(b, scr, y, style, left);
                return;
        }
        fmt_fit(line, sizeof(line), &pos, left, lw, false, b->utf8);
        fmt_fit(line, sizeof(line), &pos, right, rw + 1, true, b->utf8);
        put_line(b, scr, y, style, line);
}

static const char *prompt_label(enum prompt_kind p)
{
        switch (p) {
        case PROMPT_SEARCH: return "/";
        case PROMPT_FILTER: return "filter (g = garbage only, then text = type contains; empty = none): ";
        case PROMPT_DUMP: return "write dump to: ";
        case PROMPT_OVERWRITE: return "file exists; overwrite? (y/n) ";
        default: return "";
        }
}

int browser_render(struct browser *b, struct screen *scr)
{
        const struct heap *h = b->ix->h;
        struct view *v = browser_top(b);
        char left[1024], right[256], line[4096];
        int y = 0, page, style;

        scr->cursor_y = scr->cursor_x = -1;
        for (int i = 0; i < scr->rows; i++)
                put_line(b, scr, i, STYLE_NORMAL, "");
        if (too_small(b)) {
                /* Three short lines, not one: the message must itself fit
                 * the terminal it complains about (down to 26 columns). */
                snprintf(line, sizeof(line), "terminal too small: %dx%d", b->cols, b->rows);
                put_line(b, scr, scr->rows / 2 - 1, LINE_ERROR, line);
                snprintf(line, sizeof(line), "the browser needs %dx%d", UI_MIN_COLS, UI_MIN_ROWS);
                put_line(b, scr, scr->rows / 2, LINE_ERROR, line);
                put_line(b, scr, scr->rows / 2 + 1, LINE_ERROR, "enlarge it, or q quits");
                return 0;
        }
        snprintf(left, sizeof(left), " pyleak-attach %s pid %d, CPython %s %s %s",
                 b->utf8 ? "\u2014" : "-", h->meta.pid, h->meta.python_version,
                 b->utf8 ? "\u2014" : "-", v->title);
        snprintf(right, sizeof(right), "%s%s%s%s%s ", v->filter_garbage ? "[garbage only] " : "",
                 v->filter_type[0] ? "[type ~ " : "", v->filter_type,
                 v->filter_type[0] ? "] " : "",
                 !b->s->diff ? "" : b->s->diff_against ? b->s->diff_against :
                 b->utf8 ? "\u0394 vs previous snapshot" : "+ vs previous snapshot");
        put_split(b, scr, y++, LINE_TITLE, left, right);
        for (int k = 0; k < v->nhead; k++) {
                snprintf(line, sizeof(line), " %s", v->head[k]);
                put_line(b, scr, y++, LINE_HEAD, line);
        }
        if (!(v->ops->ncols == 1 && !v->ops->cols[0].title[0]))
                put_line(b, scr, y++, LINE_COLHEAD,
                         view_format_header(v, scr->cols, line, sizeof(line)));
        page = page_rows(b, v);
        view_move(v, 0, page);
        for (int k = 0; k < page && y < scr->rows - 1; k++, y++) {
                uint32_t vi = v->top + (uint32_t)k;

                if (vi >= v->nvis) {
                        if (v->nvis == 0 && k == 0)
                                put_line(b, scr, y, STYLE_DIM, v->nrows ?
                                         "  (no row matches the filter: f changes it)" :
                                         "  (empty)");
                        continue;
                }
                view_format_row(v, vi, scr->cols, line, sizeof(line), &style);
                put_line(b, scr, y, style, line);
                scr->lines[y].selected = vi == v->sel;
        }
        y = scr->rows - 1;
        if (b->prompt != PROMPT_NONE) {
                snprintf(line, sizeof(line), "%s%s", prompt_label(b->prompt), b->input);
                put_line(b, scr, y, LINE_STATUS, line);
                scr->cursor_y = y;
                scr->cursor_x = fmt_width(line, b->utf8);
                if (scr->cursor_x >= scr->cols)
                        scr->cursor_x = scr->cols - 1;
        } else if (b->msg[0]) {
                put_line(b, scr, y, b->msg_error ? LINE_ERROR : LINE_STATUS, b->msg);
        } else {
                snprintf(right, sizeof(right), "%" PRIu32 "/%" PRIu32 " ",
                         v->nvis ? v->sel + 1 : 0, v->nvis);
                put_split(b, scr, y, LINE_STATUS, " ?:help o:overview c:cycles t:types "
                          "g:garbage T:threads /:search s:sort f:filter q:quit", right);
        }
        return 0;
}
