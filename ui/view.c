/* view.c: the list engine (view.h): rows, filter, sort, selection, search
 * and the fitting of rows to the terminal's width, for any screen. */
#include "grow.h"
#include "view.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt.h"
#include "heap-build.h"
#include "heap.h"
#include "view-index.h"

/* ---- rows and texts ----------------------------------------------------- */

int view_add_row(struct view *v, uint8_t kind, uint8_t style, uint32_t a, uint32_t b)
{
        /* rows, vis and the sort orders are big blocks (bigmem.c): a
         * list of millions of rows grows in place, in huge pages, where
         * realloc() spent most of a first visit in page faults */
        if (grow_array_with((void **)&v->rows, &v->caprows, (size_t)v->nrows + 1,
                            sizeof(*v->rows), 64, heap_big_realloc) < 0)
                return -ENOMEM;
        v->rows[v->nrows++] = (struct row){.kind = kind, .style = style, .a = a, .b = b};
        return 0;
}

/* format(printf, 2, 0): the callers' own attributes check the arguments */
__attribute__((format(printf, 2, 0)))
static int keep_text(struct view *v, const char *fmt, va_list ap, uint32_t *ret)
{
        char *s;

        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        if (GROW(v->texts, v->captexts, (size_t)v->ntexts + 1, 16) < 0) {
                free(s);
                return -ENOMEM;
        }
        v->texts[v->ntexts] = s;
        *ret = v->ntexts++;
        return 0;
}

int view_add_text(struct view *v, uint8_t style, const char *fmt, ...)
{
        uint32_t t;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = keep_text(v, fmt, ap, &t);
        va_end(ap);
        if (r < 0)
                return r;
        return view_add_row(v, style == STYLE_HEADING ? ROW_HEADING : ROW_TEXT, style, t, 0);
}

int view_add_obj_text(struct view *v, uint8_t style, uint32_t obj, const char *fmt, ...)
{
        uint32_t t;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = keep_text(v, fmt, ap, &t);
        va_end(ap);
        if (r < 0)
                return r;
        return view_add_row(v, ROW_OBJTEXT, style, obj, t);
}

int view_add_worker_text(struct view *v, uint8_t style, uint32_t worker, const char *fmt, ...)
{
        uint32_t t;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = keep_text(v, fmt, ap, &t);
        va_end(ap);
        if (r < 0)
                return r;
        return view_add_row(v, ROW_WORKER, style, worker, t);
}

void view_add_head(struct view *v, const char *fmt, ...)
{
        va_list ap;

        if (v->nhead >= (int)(sizeof(v->head) / sizeof(v->head[0])))
                return;
        va_start(ap, fmt);
        vsnprintf(v->head[v->nhead++], sizeof(v->head[0]), fmt, ap);
        va_end(ap);
}

uint32_t view_row_obj(const struct row *r)
{
        switch (r->kind) {
        case ROW_OBJ: case ROW_REF: case ROW_REFBY: case ROW_STEP: case ROW_LOCAL:
        case ROW_OBJTEXT:
                return r->a;
        default:
                return UI_NONE;
        }
}

/* Row i of the view, stored or made (the pointer lasts until the next
 * call on a virtual view); `styled` as in view_ops.vrow. */
static const struct row *row_make(const struct view *v, uint32_t i, bool styled)
{
        struct view *mv = (struct view *)v;     /* the scratch row only */

        if (!v->virt)
                return &v->rows[i];
        v->ops->vrow(v, i, styled, &mv->vscratch);
        return &mv->vscratch;
}

/* A row for its columns (sorting, filtering, searching), not drawing. */
static const struct row *row_at(const struct view *v, uint32_t i)
{
        return row_make(v, i, false);
}

uint8_t view_obj_style(const struct view *v, uint32_t i)
{
        const struct heap_obj *o = &v->h->objs[i];

        if (o->flags & HOBJ_GC_GARBAGE)
                return STYLE_WARN;
        if (o->flags & HOBJ_GARBAGE)
                return STYLE_GARBAGE;
        if (ui_index_is_new(v->ix, i))
                return STYLE_NEW;
        return STYLE_NORMAL;
}

int view_add_obj(struct view *v, uint8_t kind, uint32_t obj, uint32_t b)
{
        return view_add_row(v, kind, view_obj_style(v, obj), obj, b);
}


/* ---- generic: filter, sort, move, search, format ------------------------ */

bool view_col_visible(const struct view *v, int col)
{
        return !(v->ops->cols[col].flags & COL_DELTA) || v->ix->diff;
}

/* 1 garbage, 0 not, -1 the filter does not apply to this row */
static int row_garbage(const struct view *v, const struct row *r)
{
        uint32_t o = view_row_obj(r);

        if (o != UI_NONE)
                return !!(v->h->objs[o].flags & (HOBJ_GARBAGE | HOBJ_GC_GARBAGE));
        if (r->kind == ROW_CYCLE)
                return ui_cycle_set(v->h, r->b)->garbage[r->a];
        if (r->kind == ROW_TYPE)
                return v->ix->type_garbage && v->ix->type_garbage[r->a] > 0;
        return -1;
}

bool view_row_acts(const struct row *r)
{
        return view_row_obj(r) != UI_NONE || r->kind == ROW_CYCLE || r->kind == ROW_TYPE ||
               r->kind == ROW_WORKER || r->kind == ROW_MORE;
}

/* The acting row nearest s, looking in direction dir first; -1 if none. */
static int64_t acting_row(const struct view *v, int64_t s, int dir)
{
        for (int pass = 0; pass < 2; pass++, dir = -dir)
                for (int64_t i = s; i >= 0 && i < (int64_t)v->nvis; i += dir)
                        if (view_row_acts(row_at(v, v->vis[i])))
                                return i;
        return -1;
}

static bool row_passes(const struct view *v, const struct row *r)
{
        char buf[512];
        struct cell c;

        if (v->filter_garbage && row_garbage(v, r) == 0)
                return false;
        if (!v->filter_type[0] || r->kind == ROW_TEXT || r->kind == ROW_HEADING ||
            r->kind == ROW_THREAD || r->kind == ROW_FRAME)
                return true;
        for (int col = 0; col < v->ops->ncols; col++) {
                if (!(v->ops->cols[col].flags & COL_TYPE))
                        continue;
                v->ops->cell(v, r, col, buf, sizeof(buf), &c);
                if (strcasestr(c.text, v->filter_type))
                        return true;
        }
        return false;
}

struct sortkey {
        int64_t num;
        const char *str;
        uint32_t row;
};

static int cmp_key(const void *a, const void *b, void *arg)
{
        const struct sortkey *x = a, *y = b;
        const bool *desc_num = arg;
        int c;

        if (desc_num[1])
                c = x->num < y->num ? -1 : x->num > y->num;
        else
                c = strcasecmp(x->str, y->str);
        if (desc_num[0])
                c = -c;
        if (c)
                return c;
        return x->row < y->row ? -1 : x->row > y->row;
}

/* Integer keys (COL_NUM, COL_RANK): the column-data function in key-only
 * mode (no text composed) and a radix sort: linear in the rows. */
static int sort_vis_num(struct view *v)
{
        struct keyrow *k;
        bool sorted = true;
        int r = ui_index_keys(v->ix, v->nvis, &k);

        if (r < 0)
                return r;
        for (uint32_t i = 0; i < v->nvis; i++) {
                struct cell c;

                v->ops->cell(v, row_at(v, v->vis[i]), v->sort_col, NULL, 0, &c);
                k[i].key = ui_sort_key(c.num, v->sort_desc);
                k[i].row = v->vis[i];
                sorted = sorted && (!i || k[i].key >= k[i - 1].key);
        }
        /* already in order (rank, build order): a stable sort changes nothing */
        if (sorted)
                return 0;
        ui_index_sort(v->ix, k, v->nvis);
        for (uint32_t i = 0; i < v->nvis; i++)
                v->vis[i] = k[i].row;
        return 0;
}

static int sort_vis(struct view *v)
{
        const struct column *col;
        struct sortkey *k;
        char **copies = NULL;
        char buf[512];
        bool arg[2];

        if (v->sort_col < 0 || v->sort_col >= v->ops->ncols || v->nvis < 2)
                return 0;
        col = &v->ops->cols[v->sort_col];
        if (col->flags & (COL_NUM | COL_RANK))
                return sort_vis_num(v);
        /* text columns without a rank are short lists (type names) */
        k = malloc(sizeof(*k) * v->nvis);
        copies = calloc(v->nvis, sizeof(char *));
        if (!k || !copies) {
                free(k);
                free(copies);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < v->nvis; i++) {
                struct cell c;

                v->ops->cell(v, row_at(v, v->vis[i]), v->sort_col, buf, sizeof(buf), &c);
                k[i].num = c.num;
                k[i].row = v->vis[i];
                if (!c.stable && c.text)
                        c.text = copies[i] = strdup(c.text);
                k[i].str = c.text ? c.text : "";
        }
        arg[0] = v->sort_desc;
        arg[1] = false;
        qsort_r(k, v->nvis, sizeof(*k), cmp_key, arg);
        for (uint32_t i = 0; i < v->nvis; i++)
                v->vis[i] = k[i].row;
        for (uint32_t i = 0; i < v->nvis; i++)
                free(copies[i]);
        free(copies);
        free(k);
        return 0;
}

/* Sorts vis; without a filter vis is every row, so the order is kept per
 * (column, direction) and sorting that way again is a copy. */
static int sort_vis_cached(struct view *v)
{
        bool all = !v->filter_garbage && !v->filter_type[0] && v->nvis == v->nrows;
        int col = v->sort_col, r;
        uint32_t **slot;

        if (col < 0 || col >= v->ops->ncols || col >= VIEW_MAX_COLS || v->nvis < 2)
                return sort_vis(v);
        /* unfiltered, vis is the build order */
        if (all && col == v->built_col && v->sort_desc == v->built_desc)
                return 0;
        slot = &v->order[col][v->sort_desc];
        if (all && *slot) {
                memcpy(v->vis, *slot, sizeof(uint32_t) * v->nvis);
                return 0;
        }
        r = sort_vis(v);
        if (r < 0 || !all)
                return r;
        *slot = heap_big_malloc(sizeof(uint32_t) * v->nvis);
        if (*slot)                       /* only a cache: no memory, no copy */
                memcpy(*slot, v->vis, sizeof(uint32_t) * v->nvis);
        return 0;
}

int view_refresh(struct view *v)
{
        uint32_t keep = v->sel < v->nvis ? v->vis[v->sel] : UI_NONE;
        int r;

        if (!v->vis || v->nrows > 0) {
                uint32_t *vis = heap_big_realloc(v->vis, sizeof(*vis) * (v->nrows + 1));

                if (!vis)
                        return -ENOMEM;
                v->vis = vis;
        }
        v->nvis = 0;
        if (v->virt && !v->filter_garbage && !v->filter_type[0])
                for (uint32_t i = 0; i < v->nrows; i++)
                        v->vis[v->nvis++] = i;
        else
                for (uint32_t i = 0; i < v->nrows; i++)
                        if (row_passes(v, row_at(v, i)))
                                v->vis[v->nvis++] = i;
        r = sort_vis_cached(v);
        if (r < 0)
                return r;
        v->sel = 0;
        if (v->nvis) {
                int64_t a = acting_row(v, 0, 1);

                v->sel = a > 0 ? (uint32_t)a : 0;
        }
        if (keep != UI_NONE)
                for (uint32_t i = 0; i < v->nvis; i++)
                        if (v->vis[i] == keep) {
                                v->sel = i;
                                break;
                        }
        if (v->top > v->sel)
                v->top = v->sel;
        view_move(v, 0, v->page > 0 ? v->page : 1);
        return 0;
}

int view_sort_next(struct view *v)
{
        int n = v->ops->ncols;

        for (int k = 1; k <= n; k++) {
                int c = (v->sort_col + k + n) % n;

                if (v->sort_col < 0)
                        c = k - 1;
                if ((v->ops->cols[c].flags & COL_NOSORT) || !view_col_visible(v, c))
                        continue;
                v->sort_col = c;
                v->sort_desc = v->ops->cols[c].flags & COL_DESC;
                return view_refresh(v);
        }
        return -ENOTSUP;
}

int view_sort_reverse(struct view *v)
{
        if (v->sort_col < 0)
                return -ENOTSUP;
        v->sort_desc = !v->sort_desc;
        return view_refresh(v);
}

int view_set_filter(struct view *v, bool garbage_only, const char *type)
{
        int r;

        v->filter_garbage = garbage_only;
        snprintf(v->filter_type, sizeof(v->filter_type), "%s", type ? type : "");
        /* rows of types are garbage by the index's garbage per type */
        if (garbage_only && (r = ui_index_by_type(v->ix)) < 0)
                return r;
        return view_refresh(v);
}

void view_move(struct view *v, int64_t delta, int page)
{
        int64_t s = (int64_t)v->sel + delta, a;
        bool to_head = false;

        if (page < 1)
                page = 1;
        v->page = page;
        if (s >= (int64_t)v->nvis)
                s = (int64_t)v->nvis - 1;
        if (s < 0)
                s = 0;
        /* the cursor stops only where Enter does something; going up past
         * the first such row shows the lines above it */
        a = acting_row(v, s, delta < 0 ? -1 : 1);
        if (a >= 0) {
                to_head = delta < 0 && a > s;
                s = a;
        }
        v->sel = (uint32_t)s;
        if (v->sel < v->top)
                v->top = v->sel;
        /* above the first row that acts there is only text to read: keep
         * it in sight whenever the row fits on the page with it (a first
         * call with a page of one row must not scroll it away for good) */
        if (to_head || acting_row(v, 0, 1) == s)
                v->top = 0;
        if (v->sel >= v->top + (uint32_t)page)
                v->top = v->sel - (uint32_t)page + 1;
        /* no empty space below the last row when it can be filled */
        if (v->nvis > (uint32_t)page && v->top > v->nvis - (uint32_t)page)
                v->top = v->nvis - (uint32_t)page;
        if (v->nvis <= (uint32_t)page)
                v->top = 0;
}

void view_select(struct view *v, uint32_t vis_idx, int page)
{
        view_move(v, (int64_t)vis_idx - (int64_t)v->sel, page);
        /* a jump (search, back) shows the row a little below the top, like
         * less does, so its context is visible */
        if (v->sel >= v->top + (uint32_t)(page > 4 ? page - 2 : page) || v->sel < v->top) {
                v->top = v->sel > (uint32_t)page / 3 ? v->sel - (uint32_t)page / 3 : 0;
                view_move(v, 0, page);
        }
}

const struct row *view_row(const struct view *v, uint32_t vi)
{
        return vi < v->nvis ? row_make(v, v->vis[vi], true) : NULL;
}

static bool parse_id(const char *s, uint64_t *ret)
{
        char *end;
        int base = 10;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                base = 16;
        if (!*s || (base == 10 && (*s < '0' || *s > '9')))
                return false;
        errno = 0;
        *ret = strtoull(s, &end, base);
        return !errno && !*end && end != s;
}

/* Could pattern be a piece of "0x1f..."? */
static bool hexish(const char *p)
{
        for (; *p; p++)
                if (!strchr("0123456789abcdefABCDEFxX", *p))
                        return false;
        return true;
}

int64_t view_search(const struct view *v, const char *pattern, int dir)
{
        uint64_t id = 0;
        bool is_id = parse_id(pattern, &id), hex = hexish(pattern);
        /* per column: the last stable text looked at and whether it
         * matched; lists repeat them row after row (a type name, a gen) */
        const char *memo[VIEW_MAX_COLS] = {0};
        bool memo_hit[VIEW_MAX_COLS] = {0};
        char buf[512];

        if (!v->nvis || !pattern[0])
                return -ENOENT;
        for (uint32_t k = 1; k <= v->nvis; k++) {
                uint32_t vi = (uint32_t)(((int64_t)v->sel + dir * (int64_t)k +
                                          (int64_t)v->nvis) % v->nvis);
                const struct row *r = row_at(v, v->vis[vi]);
                uint32_t o = view_row_obj(r);

                if (is_id && o != UI_NONE && v->h->objs[o].addr == id)
                        return vi;
                for (int col = 0; col < v->ops->ncols; col++) {
                        unsigned fl = v->ops->cols[col].flags;
                        struct cell c;
                        bool hit;

                        if (!(fl & COL_SEARCH) || ((fl & COL_HEX) && !hex))
                                continue;
                        v->ops->cell(v, r, col, buf, sizeof(buf), &c);
                        if (col < VIEW_MAX_COLS && c.stable && c.text == memo[col]) {
                                hit = memo_hit[col];
                        } else {
                                hit = strcasestr(c.text, pattern) != NULL;
                                if (col < VIEW_MAX_COLS && c.stable) {
                                        memo[col] = c.text;
                                        memo_hit[col] = hit;
                                }
                        }
                        if (hit)
                                return vi;
                }
        }
        return -ENOENT;
}

/* Column widths for a line of `width`: fixed ones as declared, the flexible
 * (width 0) one takes the rest. */
static int col_width(const struct view *v, int col, int width)
{
        int used = 1;

        if (v->ops->cols[col].width)
                return v->ops->cols[col].width;
        for (int c = 0; c < v->ops->ncols; c++)
                if (view_col_visible(v, c) && v->ops->cols[c].width)
                        used += v->ops->cols[c].width + 1;
        return width - used > 1 ? width - used : 1;
}

const char *view_format_header(const struct view *v, int width, char *out, size_t len)
{
        size_t pos = 0;
        int used = 0;

        out[0] = 0;
        if (v->ops->ncols == 1 && !v->ops->cols[0].title[0])
                return out;
        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        for (int c = 0; c < v->ops->ncols && used < width; c++) {
                const struct column *col = &v->ops->cols[c];
                char title[64];
                int w = col_width(v, c, width);

                if (!view_col_visible(v, c))
                        continue;
                if ((col->flags & COL_DELTA) && col->title[0] == 'D')
                        snprintf(title, sizeof(title), "%s%s", v->ix->utf8 ? "\u0394" : "+",
                                 col->title + 1);
                else
                        snprintf(title, sizeof(title), "%s", col->title);
                if (c == v->sort_col)
                        snprintf(title + strlen(title), sizeof(title) - strlen(title), "%s",
                                 v->sort_desc ? (v->ix->utf8 ? "\u25bc" : "v")
                                              : (v->ix->utf8 ? "\u25b2" : "^"));
                if (w > width - used)
                        w = width - used;
                used += fmt_fit(out, len, &pos, title, w, col->flags & COL_RIGHT, v->ix->utf8);
                if (used < width)
                        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        }
        if (used < width)
                fmt_fit(out, len, &pos, "", width - used, false, v->ix->utf8);
        return out;
}

const char *view_format_row(const struct view *v, uint32_t vi, int width, char *out,
                            size_t len, int *style)
{
        const struct row *r = view_row(v, vi);
        char buf[1024];
        size_t pos = 0;
        int used = 0;

        out[0] = 0;
        if (!r)
                return out;
        if (style)
                *style = r->style;
        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        for (int c = 0; c < v->ops->ncols && used < width; c++) {
                struct cell cell;
                int w = col_width(v, c, width);

                if (!view_col_visible(v, c))
                        continue;
                v->ops->cell(v, r, c, buf, sizeof(buf), &cell);
                if (w > width - used)
                        w = width - used;
                used += fmt_fit(out, len, &pos, cell.text ? cell.text : "", w,
                                v->ops->cols[c].flags & COL_RIGHT, v->ix->utf8);
                if (used < width)
                        used += fmt_fit(out, len, &pos, "", 1, false, v->ix->utf8);
        }
        return out;
}

/* ---- life cycle ------------------------------------------------------------ */

int view_open(struct ui_index *ix, const struct view_ops *ops, const struct view_subject *what,
              struct view **ret)
{
        struct view *v = calloc(1, sizeof(*v));
        int r;

        if (!v)
                return -ENOMEM;
        v->kind = what->kind;
        v->ops = ops;
        v->ix = ix;
        v->h = ix->h;
        v->obj = what->obj;
        v->cycle = what->cycle;
        v->type = what->type;
        v->local = what->local;
        v->member = what->member;
        v->all = what->all;
        v->sort_col = -1;
        v->built_col = -1;
        v->page = 1;
        r = v->ops->build(v);
        if (r >= 0)
                r = view_refresh(v);
        if (r < 0) {
                view_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

void view_free(struct view *v)
{
        if (!v)
                return;
        for (uint32_t i = 0; i < v->ntexts; i++)
                free(v->texts[i]);
        free(v->texts);
        heap_big_free(v->rows);
        heap_big_free(v->vis);
        for (int c = 0; c < VIEW_MAX_COLS; c++)
                for (int d = 0; d < 2; d++)
                        heap_big_free(v->order[c][d]);
        free(v);
}
