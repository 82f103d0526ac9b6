/* browser: the interactive browser's core, without a terminal.
 *
 * It owns the screens (view-models), the history and the prompts, turns keys
 * into requests through the keymap, and composes each screen as text lines
 * with a style per line.  The terminal front end (tui.c) only translates
 * keys, draws lines and reports resizes; headless tests drive this core
 * with the same keys and read the same lines.
 *
 * browser_key() returns what changed (BR_* bits), htop-style: the loop
 * redraws on anything but BR_NONE and stops on BR_QUIT.
 */
#ifndef PYLEAK_BROWSER_H
#define PYLEAK_BROWSER_H

#include <stdbool.h>
#include <stddef.h>

#include "view.h"

struct session;
struct browser;

#define UI_MIN_COLS 80
#define UI_MIN_ROWS 24

enum browser_change {
        BR_NONE = 0,
        BR_CURSOR = 1 << 0,      /* selection or scroll moved */
        BR_VIEW = 1 << 1,        /* another screen, or its rows changed */
        BR_ALL = 1 << 2,         /* everything: clear and redraw */
        BR_QUIT = 1 << 3,
};

/* Styles of whole lines: the row styles of view.h, then these. */
enum line_style {
        LINE_TITLE = STYLE__COUNT,
        LINE_HEAD,
        LINE_COLHEAD,
        LINE_STATUS,
        LINE_ERROR,
        LINE__COUNT
};

struct screen_line {
        char *text;              /* exactly `cols` display columns */
        int style;               /* enum row_style or enum line_style */
        bool selected;
};

struct screen {
        int rows, cols;
        struct screen_line *lines;
        int cursor_y, cursor_x;  /* prompt cursor, or -1 */
};

int browser_new(struct session *s, bool utf8, struct browser **ret);
void browser_free(struct browser *b);

/* Tells the browser the terminal's size (also before the first render). */
void browser_resize(struct browser *b, int rows, int cols);

/* One key (a character, or an enum ui_key): returns BR_* bits. */
int browser_key(struct browser *b, int key);

/* Called with a message before slow work (re-snapshot, writing a dump) so
 * the front end can show it; optional. */
void browser_set_busy_hook(struct browser *b, void (*hook)(void *ctx, const char *msg),
                           void *ctx);

/* Composes the screen for the current size into scr (allocated by
 * screen_init for rows x cols). */
int browser_render(struct browser *b, struct screen *scr);

int screen_init(struct screen *scr, int rows, int cols);
void screen_release(struct screen *scr);

/* Non-zero (-errno) when the browser had to stop (BR_QUIT) because it
 * cannot show the session any more (out of memory after a re-snapshot). */
int browser_fatal(const struct browser *b);

/* The view on top of the history (for tests). */
struct view *browser_top(struct browser *b);

/* The terminal front end: runs the browser on the controlling terminal
 * until q.  Returns 0, or a negative errno when the terminal cannot be
 * used. */
int tui_run(struct session *s);

#endif
