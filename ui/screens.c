/* screens.c: the table of screens (screens.h) and what the single-column
 * screens share: one column-data function for every kind of row. */
#include "screens.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "analysis.h"
#include "fmt.h"
#include "heap.h"
#include "screens-internal.h"
#include "view-index.h"
#include "view.h"

struct screen_info {
        const struct view_ops *ops;
        enum ui_request req;
};

static const struct screen_info screens[VIEW__COUNT] = {
#define S_INFO(kind, ops, req) [VIEW_##kind] = {&ops, req},
        UI_SCREENS(S_INFO)
#undef S_INFO
};

int view_new(struct ui_index *ix, enum view_kind kind, uint32_t obj, uint32_t cycle,
             uint32_t type, bool local, struct view **ret)
{
        struct view_subject what = {
                .kind = kind, .obj = obj, .cycle = cycle, .type = type, .local = local,
                /* the cycle view draws the cycle through obj (a member) */
                .member = kind == VIEW_CYCLE ? obj : UI_NONE,
        };

        if (kind >= VIEW__COUNT)
                return -EINVAL;
        return view_open(ix, screens[kind].ops, &what, ret);
}

int view_new_object_all(struct ui_index *ix, uint32_t obj, struct view **ret)
{
        struct view_subject what = {
                .kind = VIEW_OBJECT, .obj = obj, .cycle = UI_NONE, .type = UI_NONE,
                .member = UI_NONE, .all = true,
        };

        return view_open(ix, screens[VIEW_OBJECT].ops, &what, ret);
}

enum view_kind screens_for_request(enum ui_request req)
{
        for (int k = 0; k < VIEW__COUNT && req != REQ_NONE; k++)
                if (screens[k].req == req)
                        return (enum view_kind)k;
        return VIEW__COUNT;
}

bool screens_has_key(enum view_kind kind)
{
        return kind < VIEW__COUNT && screens[kind].req != REQ_NONE;
}

/* ---- rows of the single-column screens ----------------------------------- */

static const char *arrow(const struct view *v)
{
        return v->ix->utf8 ? "\u2192" : "->";
}

const char *screens_obj_ref(const struct view *v, uint32_t i, char *buf, size_t len)
{
        snprintf(buf, len, "%s @ 0x%" PRIx64, ui_type_name(v->h, i), (uint64_t)v->h->objs[i].addr);
        return buf;
}

/* "  <preview>" to end a row with, or "" (the walker recorded nothing). */
static const char *value_of(const struct ui_index *ix, uint32_t obj, char *out, size_t len)
{
        const char *pv = ui_index_preview(ix, obj);

        if (!pv || !pv[0])
                return "";
        snprintf(out, len, "  %s", pv);
        return out;
}

const struct column screens_line_cols[1] = {
        {"", 0, COL_SEARCH | COL_TYPE | COL_NOSORT},
};

/* Every kind of row as one line of text: the same object reads the same in
 * the overview, an object's referents and a path. */
void screens_cell_line(const struct view *v, const struct row *r, int col, char *buf,
                       size_t len, struct cell *out)
{
        const struct heap *h = v->h;
        char t[160], b1[32], b2[32], lbl[256], val[HEAP_PREVIEW_MAX + 3];

        out->stable = false;
        out->num = 0;
        out->text = buf;
        switch (r->kind) {
        case ROW_TEXT:
        case ROW_HEADING:
                out->text = v->texts[r->a];
                out->stable = true;
                return;
        case ROW_OBJTEXT:
        case ROW_WORKER:
                out->text = v->texts[r->b];
                out->stable = true;
                return;
        case ROW_OBJ:
                snprintf(buf, len, "  %-10s %s%s%s%s",
                         fmt_bytes(ui_obj_retained(h, r->a), b1, sizeof(b1)),
                         screens_obj_ref(v, r->a, t, sizeof(t)),
                         h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         h->objs[r->a].flags & HOBJ_GC_GARBAGE ? "  in gc.garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_CYCLE: {
                const struct heap_cycles *c = ui_cycle_set(h, r->b);

                snprintf(buf, len,
                         "  %-10s %s cycle #%-4" PRIu32 " %" PRIu32 " objects, %s%s  [%s]",
                         fmt_bytes(ui_cycle_retained(c, r->a), b1, sizeof(b1)),
                         r->b ? "local" : "scc", r->a + 1,
                         ui_cycle_size(c, r->a), fmt_bytes(c->bytes[r->a], b2, sizeof(b2)),
                         c->garbage[r->a] ? ", GARBAGE" : "",
                         ui_index_sig(v->ix, r->b, r->a));
                return;
        }
        case ROW_TYPE:
                snprintf(buf, len, "  %s", h->types[r->a].fullname);
                return;
        case ROW_REF:
                heap_label_text(h, r->b, lbl, sizeof(lbl));
                snprintf(buf, len, "  %-24s %s %s  %s%s%s", lbl, arrow(v),
                         screens_obj_ref(v, r->a, t, sizeof(t)),
                         fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                         h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_REFBY:
                heap_label_text(h, r->b, lbl, sizeof(lbl));
                snprintf(buf, len, "  %s  %s %s%s%s", screens_obj_ref(v, r->a, t, sizeof(t)), lbl,
                         arrow(v), h->objs[r->a].flags & HOBJ_GARBAGE ? "  garbage" : "",
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        case ROW_STEP:
                if (r->b == UI_NONE) {
                        snprintf(buf, len, "  %s  %s%s", screens_obj_ref(v, r->a, t, sizeof(t)),
                                 fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                                 value_of(v->ix, r->a, val, sizeof(val)));
                } else {
                        heap_label_text(h, r->b, lbl, sizeof(lbl));
                        snprintf(buf, len, "      %s %s %s  %s%s", lbl, arrow(v),
                                 screens_obj_ref(v, r->a, t, sizeof(t)),
                                 fmt_bytes(h->objs[r->a].size, b1, sizeof(b1)),
                                 value_of(v->ix, r->a, val, sizeof(val)));
                }
                return;
        case ROW_MORE:
                snprintf(buf, len, "  ... %" PRIu32 " more %s: Enter lists them all", r->a,
                         r->b ? "referrers" : "referents");
                return;
        case ROW_THREAD: {
                const struct heap_thread *th = &h->threads[r->a];

                snprintf(buf, len, "Thread %" PRIu64 " (native id %" PRId64 "), %" PRIu32
                         " frame%s", th->thread_id, th->native_id, th->nframes,
                         th->nframes == 1 ? "" : "s");
                return;
        }
        case ROW_FRAME: {
                const struct heap_frame *f = &h->frames[r->a];
                const struct heap_thread *th = f->thread < h->nthreads ?
                                               &h->threads[f->thread] : NULL;

                snprintf(buf, len, "  #%-3" PRIu32 " %s  %s:%d",
                         th ? r->a - th->first_frame : 0,
                         f->function ? f->function : "?", f->filename ? f->filename : "?",
                         f->line);
                return;
        }
        case ROW_LOCAL: {
                const struct heap_root *rt = &h->roots[r->b];

                if (rt->label == HEAP_ROOT_NO_LABEL)
                        snprintf(lbl, sizeof(lbl), "?");
                else
                        heap_label_text(h, rt->label, lbl, sizeof(lbl));
                snprintf(buf, len, "        %-20s = %s  %s%s", lbl,
                         screens_obj_ref(v, r->a, t, sizeof(t)),
                         fmt_bytes(ui_obj_retained(h, r->a), b1, sizeof(b1)),
                         value_of(v->ix, r->a, val, sizeof(val)));
                return;
        }
        }
        buf[0] = 0;
}

