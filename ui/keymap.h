/* keymap: every request the browser understands, declared once with its help
 * text (the help screen is generated from this list), and the keys bound to
 * each (tig's request.h / keys.c).
 *
 * Keys are plain characters or the UIK_* codes below; the terminal front end
 * (tui.c) translates curses key codes into them, so the browser core and its
 * tests never include curses.
 */
#ifndef PYLEAK_KEYMAP_H
#define PYLEAK_KEYMAP_H

#include <stddef.h>

enum ui_key {
        UIK_UP = 0x110000,  /* above every Unicode code point */
        UIK_DOWN,
        UIK_LEFT,
        UIK_RIGHT,
        UIK_PGUP,
        UIK_PGDN,
        UIK_HOME,
        UIK_END,
        UIK_ENTER,
        UIK_BACKSPACE,
        UIK_ESC,
        UIK_RESIZE,
        UIK_CTRL_L,
        UIK_CTRL_C,
};

/* group, name, help text */
#define UI_REQUESTS(R) \
        R(MOVE, MOVE_UP,        "move up") \
        R(MOVE, MOVE_DOWN,      "move down") \
        R(MOVE, PAGE_UP,        "one page up") \
        R(MOVE, PAGE_DOWN,      "one page down") \
        R(MOVE, FIRST,          "first row") \
        R(MOVE, LAST,           "last row") \
        R(MOVE, ENTER,          "open the selected object, cycle or type; follow a reference") \
        R(MOVE, BACK,           "go back through the history") \
        R(SCREEN, OVERVIEW,     "overview: process, gc state, leak suspects") \
        R(SCREEN, CYCLES,       "cycles, biggest retained first") \
        R(SCREEN, TYPES,        "types: count, bytes, retained, growth") \
        R(SCREEN, GARBAGE,      "garbage: what a collection would free, gc.garbage") \
        R(SCREEN, THREADS,      "threads, their frames and the locals they hold") \
        R(SCREEN, WORKERS,      "a pool's workers compared (Enter browses one)") \
        R(SCREEN, PATH,         "shortest path from a root to the selected object") \
        R(SCREEN, HELP,         "this help") \
        R(LIST, SEARCH,         "search: type name, id (hex or decimal), text") \
        R(LIST, SEARCH_NEXT,    "next match") \
        R(LIST, SEARCH_PREV,    "previous match") \
        R(LIST, SORT,           "sort by the next column") \
        R(LIST, SORT_REVERSE,   "reverse the sort order") \
        R(LIST, FILTER,         "filter: garbage only, or by type name") \
        R(LIST, GROUPING,       "cycles: toggle strongly connected / local grouping") \
        R(LIST, MEMBER,         "cycle view: draw the cycle through the selected member") \
        R(SESSION, RESNAPSHOT,  "take a new snapshot (live target): adds growth columns") \
        R(SESSION, WRITE_DUMP,  "write the snapshot to a dump file") \
        R(SESSION, REDRAW,      "redraw the screen") \
        R(SESSION, QUIT,        "quit")

enum ui_request {
        REQ_NONE = 0,
#define R_ENUM(group, name, help) REQ_##name,
        UI_REQUESTS(R_ENUM)
#undef R_ENUM
        REQ__COUNT
};

enum ui_req_group { RG_MOVE, RG_SCREEN, RG_LIST, RG_SESSION, RG__COUNT };

struct ui_request_info {
        enum ui_request req;
        enum ui_req_group group;
        const char *name;        /* "MOVE_UP" */
        const char *help;
};

/* REQ_NONE for an unbound key. */
enum ui_request keymap_lookup(int key);

/* The request's name and help text; NULL for an unknown request. */
const struct ui_request_info *keymap_request(enum ui_request req);

/* The keys bound to req, as the help screen shows them ("Up k"); returns
 * buf. */
const char *keymap_keys(enum ui_request req, char *buf, size_t len);

const char *keymap_group_name(enum ui_req_group g);

#endif
