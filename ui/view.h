/* view: the list engine under every screen of the browser.  A view is a
 * view-model (ncdu's dirlist, tig's view): it owns its rows, sort column,
 * filter, selection and scroll, and it is drawn, searched and sorted
 * through one column-data function (tig's draw.c), so what is drawn is
 * always what is searched.  No curses here: views compose plain text,
 * which the terminal front end draws and the tests read.
 *
 * What a screen shows is not decided here: a screen is a struct view_ops
 * (screens.h) whose build() adds rows with view_add_*() and whose cell()
 * is the column-data function.  Rows are small (kind + three numbers) and
 * built once per view from the per-snapshot index (view-index.h); moving,
 * scrolling and drawing are O(visible rows).
 *
 * A view owns its rows, texts and sort orders; it borrows the index and
 * the heap, which outlive it.  The strings view_format_*() return are the
 * caller's buffer.  Functions return 0 or a negative errno (-ENOMEM,
 * -ENOENT when the thing to show does not exist).
 */
#ifndef PYLEAK_VIEW_H
#define PYLEAK_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "screens.h"

struct heap;

#define UI_NONE UINT32_MAX

enum row_kind {
        ROW_TEXT,       /* a: text index */
        ROW_HEADING,    /* a: text index */
        ROW_OBJ,        /* a: object */
        ROW_CYCLE,      /* a: cycle, b: 1 = local grouping */
        ROW_TYPE,       /* a: type */
        ROW_REF,        /* a: referent, b: label */
        ROW_REFBY,      /* a: referrer, b: label of its edge */
        ROW_STEP,       /* a: object, b: label of the edge into it or UI_NONE */
        ROW_THREAD,     /* a: thread */
        ROW_FRAME,      /* a: frame */
        ROW_LOCAL,      /* a: object, b: root index */
        ROW_OBJTEXT,    /* a: object, b: text index: an object named by a
                           text the view keeps (a leak suspect) */
        ROW_WORKER,     /* a: worker of the session's pool, b: text index */
        ROW_MORE,       /* a: rows of an object's list not listed, b: 0 its
                           referents, 1 its referrers */
};

enum row_style {
        STYLE_NORMAL,
        STYLE_HEADING,
        STYLE_GARBAGE,
        STYLE_NEW,
        STYLE_DIM,
        STYLE_WARN,
        STYLE__COUNT
};

struct row {
        uint8_t kind;
        uint8_t style;
        uint32_t a, b, c;
};

enum col_flags {
        COL_RIGHT  = 1 << 0,  /* right-aligned */
        COL_NUM    = 1 << 1,  /* sorts by cell.num */
        COL_DESC   = 1 << 2,  /* first sort is descending */
        COL_DELTA  = 1 << 3,  /* shown only when there is a previous snapshot */
        COL_SEARCH = 1 << 4,  /* '/' looks here */
        COL_TYPE   = 1 << 5,  /* the type filter looks here */
        COL_NOSORT = 1 << 6,
        COL_RANK   = 1 << 7,  /* a text column whose cell.num is a rank in
                                 the text's case-insensitive order: sorts
                                 as an integer */
        COL_HEX    = 1 << 8,  /* "0x..." only: '/' skips it unless the
                                 pattern could be part of a hex number */
};

#define VIEW_MAX_COLS 10

struct column {
        const char *title;       /* ASCII title; "D" is drawn as a delta sign */
        int width;               /* 0 = takes the rest of the line */
        unsigned flags;
};

/* What the column-data function returns for one cell.  Called with buf ==
 * NULL (len 0) it only needs to fill num (sorting): no text is composed. */
struct cell {
        const char *text;        /* buf, or a string that outlives the view */
        int64_t num;             /* sort key of COL_NUM columns */
        bool stable;             /* text is not buf (no copy needed to sort) */
};

struct ui_index;
struct view;

struct view_ops {
        const char *name;                /* "Cycles" */
        const struct column *cols;
        int ncols;
        int (*build)(struct view *v);
        /* the column-data function: text (and sort key) of column col */
        void (*cell)(const struct view *v, const struct row *r, int col,
                     char *buf, size_t len, struct cell *out);
        /* Row i of a list whose rows are not stored (the build sets nrows
         * and virt): a screen of millions of cycles or instances opens
         * without first writing millions of rows.  NULL: rows stored.
         * `styled` false: the style is not wanted (a sort, a filter), and
         * its lookups are skipped. */
        void (*vrow)(const struct view *v, uint32_t i, bool styled, struct row *out);
};

struct view {
        enum view_kind kind;
        const struct view_ops *ops;
        struct ui_index *ix;
        const struct heap *h;
        char title[256];
        char head[4][256];               /* lines above the column header */
        int nhead;

        struct row *rows;                /* every row, in build order; NULL
                                            when virt: ops->vrow makes them */
        bool virt;
        struct row vscratch;             /* the row view_row() last made */
        uint32_t nrows;
        size_t caprows;
        uint32_t *vis;                   /* filtered + sorted row numbers */
        uint32_t nvis;
        /* unfiltered sort orders already computed, per column and
         * direction: sorting back and forth costs a copy */
        uint32_t *order[VIEW_MAX_COLS][2];

        int sort_col;                    /* -1: build order */
        bool sort_desc;
        /* the sort the rows are built in, if any (-1): refreshing the
         * whole list in that sort leaves them as built */
        int built_col;
        bool built_desc;
        bool filter_garbage;
        char filter_type[64];
        uint32_t sel, top;               /* into vis */
        int page;                        /* rows drawn last time */
        bool keep;                       /* owned by the browser's screen
                                            table, not by the history */

        /* what the view shows */
        uint32_t obj, cycle, type;
        bool local;                      /* cycles: the local grouping */
        uint32_t member;                 /* cycle view: start of the drawing */
        bool all;                        /* object view: see view_subject */

        char **texts;
        uint32_t ntexts;
        size_t captexts;
};

/* ---- life cycle ---------------------------------------------------------- */

/* What a view shows: the fields that apply to its screen. */
struct view_subject {
        enum view_kind kind;
        uint32_t obj, cycle, type;       /* UI_NONE when they do not apply */
        bool local;                      /* cycles: the local grouping */
        uint32_t member;                 /* cycle view: start of the drawing */
        bool all;                        /* object view: every referent and
                                            referrer, past VIEW_OBJ_ROWS */
};

/* Builds a view of subject drawn by ops: ops->build() adds the rows, then
 * the filter and sort apply.  screens.h's view_new() picks ops. */
int view_open(struct ui_index *ix, const struct view_ops *ops, const struct view_subject *what,
              struct view **ret);
void view_free(struct view *v);

/* Re-applies filter and sort (keeps the selected row when it stays). */
int view_refresh(struct view *v);

/* Visible columns (COL_DELTA ones only when there is a diff). */
bool view_col_visible(const struct view *v, int col);

/* Sort: next visible sortable column, or reverse.  Return 0 or -ENOTSUP
 * when the view has nothing to sort. */
int view_sort_next(struct view *v);
int view_sort_reverse(struct view *v);

/* Filter: garbage only, and/or type name containing text ("" = none). */
int view_set_filter(struct view *v, bool garbage_only, const char *type);

/* Moves the selection by delta rows (clamped); keeps it in a page of
 * `page` rows by adjusting top. */
void view_move(struct view *v, int64_t delta, int page);
void view_select(struct view *v, uint32_t vis_idx, int page);

/* Next row (from the selection, in direction dir = +1/-1, wrapping) that
 * matches pattern: a substring of a searchable column (case-insensitive),
 * or the id of the row's object in hex or decimal.  Returns the vis index
 * or -ENOENT. */
int64_t view_search(const struct view *v, const char *pattern, int dir);

/* The text of the column header and of visible row vi, fitted to width
 * columns; *style gets the row's style.  Return out. */
const char *view_format_header(const struct view *v, int width, char *out, size_t len);
const char *view_format_row(const struct view *v, uint32_t vi, int width, char *out,
                            size_t len, int *style);

/* The row at visible index vi, or NULL. */
const struct row *view_row(const struct view *v, uint32_t vi);
/* The object a row names, or UI_NONE. */
uint32_t view_row_obj(const struct row *r);
/* The style an object's row takes (garbage, gc.garbage, new). */
uint8_t view_obj_style(const struct view *v, uint32_t obj);

/* ---- building rows (for the screens' build functions) -------------------- */

/* A row; its text comes from the column-data function. */
int view_add_row(struct view *v, uint8_t kind, uint8_t style, uint32_t a, uint32_t b);
/* A row naming obj, styled by what obj is (garbage, in gc.garbage, new). */
int view_add_obj(struct view *v, uint8_t kind, uint32_t obj, uint32_t b);
/* A ROW_TEXT (or ROW_HEADING for STYLE_HEADING) row whose text the view
 * keeps. */
__attribute__((format(printf, 3, 4)))
int view_add_text(struct view *v, uint8_t style, const char *fmt, ...);
/* A row that opens obj (Enter, p) and reads as the text the view keeps. */
__attribute__((format(printf, 4, 5)))
int view_add_obj_text(struct view *v, uint8_t style, uint32_t obj, const char *fmt, ...);
/* A pool's worker (session.h), named by a text the view keeps. */
__attribute__((format(printf, 4, 5)))
int view_add_worker_text(struct view *v, uint8_t style, uint32_t worker, const char *fmt, ...);
/* Whether Enter does something on the row: the cursor only stops there. */
bool view_row_acts(const struct row *r);
/* A line above the column header (at most four; more are dropped). */
__attribute__((format(printf, 2, 3)))
void view_add_head(struct view *v, const char *fmt, ...);

#endif
