/* view: the view-models of the browser's screens (ncdu's dirlist, tig's
 * view): each owns its rows, sort column, filter, selection and scroll, and
 * is drawn, searched and sorted through one column-data function (tig's
 * draw.c).  No curses here: views compose plain text, which the terminal
 * front end draws and the tests read.
 *
 * Rows are small (kind + three numbers) and built once per view from the
 * per-snapshot index (struct ui_index), which computes the expensive things
 * once per snapshot (objects by type, cycle signatures, growth lookups);
 * moving, scrolling and drawing are O(visible rows).
 *
 * Functions return 0 or a negative errno (-ENOMEM, -ENOENT when the thing
 * to show does not exist).
 */
#ifndef PYLEAK_VIEW_H
#define PYLEAK_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap;
struct heap_diff;
struct session;

#define UI_NONE UINT32_MAX

enum view_kind {
        VIEW_OVERVIEW,
        VIEW_CYCLES,
        VIEW_CYCLE,
        VIEW_TYPES,
        VIEW_INSTANCES,
        VIEW_OBJECT,
        VIEW_PATH,
        VIEW_GARBAGE,
        VIEW_THREADS,
        VIEW_HELP,
        VIEW__COUNT
};

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
};

struct view {
        enum view_kind kind;
        const struct view_ops *ops;
        struct ui_index *ix;
        const struct heap *h;
        char title[256];
        char head[4][256];               /* lines above the column header */
        int nhead;

        struct row *rows;                /* every row, in build order */
        uint32_t nrows, caprows;
        uint32_t *vis;                   /* filtered + sorted row numbers */
        uint32_t nvis;
        /* unfiltered sort orders already computed, per column and
         * direction: sorting back and forth costs a copy */
        uint32_t *order[VIEW_MAX_COLS][2];

        int sort_col;                    /* -1: build order */
        bool sort_desc;
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

        char **texts;
        uint32_t ntexts, captexts;
};

/* ---- per-snapshot index ------------------------------------------------ */

struct ui_index {
        const struct session *s;
        const struct heap *h;
        const struct heap_diff *diff;
        bool utf8;
        /* objects by type (CSR over type index) */
        uint32_t *type_start, *type_objs;
        uint64_t *type_garbage;          /* garbage instances per type */
        uint32_t *type_rank;             /* rank of each type's name in
                                            case-insensitive order: sorting
                                            by type is an integer sort */
        /* growth per type (by name) when diff != NULL */
        int64_t *type_dcount, *type_dbytes;
        /* cycles of each grouping: signature id per cycle, the distinct
         * signatures (interned: cycles with the same set of member types
         * share one), their rank in case-insensitive order, the growth of
         * each shape, and the default order (retained, biggest first) */
        uint32_t *sig_id[2];
        char **sig_text[2];
        uint32_t nsig[2];                /* kept here: freeing must not read
                                            the heap (it may be gone) */
        uint32_t *sig_rank[2];
        int64_t *sig_dcycles[2];         /* per signature id */
        uint32_t *cycle_order[2];
        uint8_t flags_rank[16];          /* the flags column's texts */
        /* value previews: 1 + the index into h->preview_obj of each
         * object's preview, 0 for none (heap_preview's binary search per
         * row made '/' over 250k rows cost 150 ms) */
        uint32_t *preview_at;
        /* sorting scratch, kept: fresh megabytes per sort cost more in page
         * faults than the sort itself */
        void *sort_buf;                  /* 2 x sort_cap keys */
        uint32_t *sort_cnt;
        uint32_t sort_cap;
        uint64_t *newbits;               /* objects new since the previous
                                            snapshot */
        /* locals of frames: roots of kind THREAD bucketed by frame */
        uint32_t *frame_start, *frame_roots;
};

/* Builds every per-snapshot index up front (objects by type, interned cycle
 * signatures and the default cycle orders of both groupings), so that no
 * key pays for them: the cost is part of opening the snapshot. */
int ui_index_new(const struct session *s, bool utf8, struct ui_index **ret);
void ui_index_free(struct ui_index *ix);

/* ---- views ---------------------------------------------------------------- */

/* Builds a view of the kind; what it shows comes from the arguments that
 * apply: obj (OBJECT, PATH), cycle + local (CYCLE), local (CYCLES), type
 * (INSTANCES). */
int view_new(struct ui_index *ix, enum view_kind kind, uint32_t obj, uint32_t cycle,
             uint32_t type, bool local, struct view **ret);
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

/* "__main__.Node" of object i. */
const char *ui_type_name(const struct heap *h, uint32_t obj);

#endif
