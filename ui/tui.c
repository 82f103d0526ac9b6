/* tui.c: the terminal front end of the browser (browser.h: tui_run).  It is
 * the only file that includes curses: it translates keys, draws the lines the
 * core composes, and restores the terminal on every way out, fatal signals
 * included (tig's die_callback). */
#include "browser.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curses.h>

#include "keymap.h"

static volatile sig_atomic_t curses_active;

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
                                    SIGFPE, SIGILL, SIGABRT};
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction old_actions[NFATAL];

static void restore_terminal(void)
{
        if (curses_active) {
                curses_active = 0;
                endwin();
        }
}

/* Restores the terminal, then hands the signal to whoever had it before us
 * (the snapshot guard, which detaches from a target, or the default action). */
static void on_fatal(int sig)
{
        restore_terminal();
        for (size_t i = 0; i < NFATAL; i++)
                if (fatal_signals[i] == sig)
                        sigaction(sig, &old_actions[i], NULL);
        raise(sig);
}

static void install_fatal_handlers(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_fatal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        for (size_t i = 0; i < NFATAL; i++)
                sigaction(fatal_signals[i], &sa, &old_actions[i]);
}

static void remove_fatal_handlers(void)
{
        for (size_t i = 0; i < NFATAL; i++)
                sigaction(fatal_signals[i], &old_actions[i], NULL);
}

static attr_t style_attr[LINE__COUNT];

static void init_styles(void)
{
        enum { P_GARBAGE = 1, P_NEW, P_WARN, P_TITLE, P_COLHEAD, P_ERROR, P_HEADING };

        style_attr[STYLE_NORMAL] = A_NORMAL;
        style_attr[STYLE_HEADING] = A_BOLD;
        style_attr[STYLE_GARBAGE] = A_BOLD;
        style_attr[STYLE_NEW] = A_BOLD;
        style_attr[STYLE_DIM] = A_DIM;
        style_attr[STYLE_WARN] = A_BOLD;
        style_attr[LINE_TITLE] = A_REVERSE;
        style_attr[LINE_HEAD] = A_NORMAL;
        style_attr[LINE_COLHEAD] = A_UNDERLINE | A_BOLD;
        style_attr[LINE_STATUS] = A_REVERSE;
        style_attr[LINE_ERROR] = A_REVERSE | A_BOLD;
        if (!has_colors() || start_color() == ERR)
                return;
        use_default_colors();
        init_pair(P_GARBAGE, COLOR_RED, -1);
        init_pair(P_NEW, COLOR_YELLOW, -1);
        init_pair(P_WARN, COLOR_MAGENTA, -1);
        init_pair(P_TITLE, COLOR_WHITE, COLOR_BLUE);
        init_pair(P_COLHEAD, COLOR_CYAN, -1);
        init_pair(P_ERROR, COLOR_WHITE, COLOR_RED);
        init_pair(P_HEADING, COLOR_CYAN, -1);
        style_attr[STYLE_HEADING] = A_BOLD | COLOR_PAIR(P_HEADING);
        style_attr[STYLE_GARBAGE] = COLOR_PAIR(P_GARBAGE);
        style_attr[STYLE_NEW] = COLOR_PAIR(P_NEW);
        style_attr[STYLE_WARN] = A_BOLD | COLOR_PAIR(P_WARN);
        style_attr[LINE_TITLE] = A_BOLD | COLOR_PAIR(P_TITLE);
        style_attr[LINE_COLHEAD] = A_BOLD | COLOR_PAIR(P_COLHEAD);
        style_attr[LINE_STATUS] = COLOR_PAIR(P_TITLE);
        style_attr[LINE_ERROR] = A_BOLD | COLOR_PAIR(P_ERROR);
}

/* One key: a curses key code, or a character decoded from UTF-8 bytes.
 * getch() and not get_wch(): under tmux, get_wch() was seen handing back
 * each key one key late (the previous key stayed queued), while byte-wise
 * reads never lag; the few multibyte characters typed into a prompt are
 * assembled here. */
static int read_key(void)
{
        int c = getch(), n, cp;

        if (c == ERR)
                return -1;
        if (c >= KEY_MIN) {
                switch (c) {
                case KEY_UP: return UIK_UP;
                case KEY_DOWN: return UIK_DOWN;
                case KEY_LEFT: return UIK_LEFT;
                case KEY_RIGHT: return UIK_RIGHT;
                case KEY_PPAGE: return UIK_PGUP;
                case KEY_NPAGE: return UIK_PGDN;
                case KEY_HOME: return UIK_HOME;
                case KEY_END: return UIK_END;
                case KEY_ENTER: return UIK_ENTER;
                case KEY_BACKSPACE: return UIK_BACKSPACE;
                case KEY_RESIZE: return UIK_RESIZE;
                default: return -1;
                }
        }
        switch (c) {
        case '\n': case '\r': return UIK_ENTER;
        case 27: return UIK_ESC;
        case 127: case 8: return UIK_BACKSPACE;
        case 12: return UIK_CTRL_L;
        case 3: return UIK_CTRL_C;
        default: break;
        }
        if (c < 0xc0 || c > 0xf7)
                return c < 0x80 ? c : -1;
        n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        cp = c & (0x3f >> n);
        /* the rest of the character arrives with its first byte */
        timeout(50);
        while (n-- > 0) {
                int d = getch();

                if (d == ERR || (d & 0xc0) != 0x80) {
                        cp = -1;
                        break;
                }
                cp = (cp << 6) | (d & 0x3f);
        }
        timeout(-1);
        return cp;
}

static void draw(struct browser *b, struct screen *scr)
{
        browser_render(b, scr);
        for (int y = 0; y < scr->rows; y++) {
                attr_t a = style_attr[scr->lines[y].style];

                if (scr->lines[y].selected)
                        a = (a & ~A_COLOR) | A_REVERSE;
                attrset(a);
                /* the bottom-right cell makes addstr report an error after
                 * drawing it (the cursor cannot advance): harmless */
                mvaddstr(y, 0, scr->lines[y].text);
        }
        attrset(A_NORMAL);
        if (scr->cursor_y >= 0) {
                curs_set(1);
                move(scr->cursor_y, scr->cursor_x);
        } else {
                curs_set(0);
        }
        refresh();
}

struct busy_ctx {
        struct browser *b;
        struct screen *scr;
};

/* Shown before slow work: the status line says what is happening. */
static void on_busy(void *ctx, const char *msg)
{
        struct busy_ctx *c = ctx;
        int y = c->scr->rows - 1;

        attrset(style_attr[LINE_STATUS]);
        mvhline(y, 0, ' ', c->scr->cols);
        mvaddnstr(y, 1, msg, c->scr->cols - 2);
        attrset(A_NORMAL);
        refresh();
}

int tui_run(struct session *s)
{
        struct browser *b = NULL;
        struct screen scr = {0};
        struct busy_ctx bc;
        bool utf8;
        int r, rows, cols;

        /* only the character type: numbers in reports stay in the C locale */
        setlocale(LC_CTYPE, "");
        utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
        r = browser_new(s, utf8, &b);
        if (r < 0)
                return r;
        install_fatal_handlers();
        atexit(restore_terminal);
        if (!initscr()) {
                remove_fatal_handlers();
                browser_free(b);
                return -ENOTTY;
        }
        curses_active = 1;
        raw();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        set_escdelay(25);
        /* draw every screen in full even when more keys are waiting: with
         * typeahead checks, curses postpones updates while input is pending,
         * and a screen can lag one key behind */
        typeahead(-1);
        curs_set(0);
        init_styles();

        getmaxyx(stdscr, rows, cols);
        browser_resize(b, rows, cols);
        r = screen_init(&scr, rows, cols);
        bc.b = b;
        bc.scr = &scr;
        browser_set_busy_hook(b, on_busy, &bc);
        while (r >= 0) {
                int key, ch;

                draw(b, &scr);
                key = read_key();
                if (key < 0)
                        continue;
                if (key == UIK_RESIZE) {
                        getmaxyx(stdscr, rows, cols);
                        screen_release(&scr);
                        r = screen_init(&scr, rows, cols);
                        browser_resize(b, rows, cols);
                }
                ch = browser_key(b, key);
                if (ch & BR_QUIT)
                        break;
                if (ch & BR_ALL)
                        clearok(stdscr, TRUE);
        }
        restore_terminal();
        remove_fatal_handlers();
        if (r >= 0 && browser_fatal(b))
                r = browser_fatal(b);
        screen_release(&scr);
        browser_free(b);
        return r < 0 ? r : 0;
}
