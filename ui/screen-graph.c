/* screen-graph.c: the screens that follow the object graph: one object
 * (its referents and referrers), the path from a root that keeps it alive,
 * and one cycle drawn through a member.  Single-column screens: their rows
 * are drawn by screens_cell_line (screens.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "fmt.h"
#include "heap.h"
#include "paths.h"
#include "screens-internal.h"
#include "view-index.h"
#include "view.h"

static void root_text(const struct view *v, uint32_t k, char *buf, size_t len)
{
        const struct heap *h = v->h;
        const struct heap_root *rt = &h->roots[k];
        char lbl[256] = "";

        if (rt->label != HEAP_ROOT_NO_LABEL)
                heap_label_text(h, rt->label, lbl, sizeof(lbl));
        switch (rt->kind) {
        case HEAP_ROOT_MODULE:
                snprintf(buf, len, "root: module %s (in sys.modules)", lbl);
                break;
        case HEAP_ROOT_THREAD:
                if (rt->frame < h->nframes) {
                        const struct heap_frame *f = &h->frames[rt->frame];

                        snprintf(buf, len, "root: local %s of %s (%s:%d), thread %" PRIu64, lbl,
                                 f->function ? f->function : "?",
                                 f->filename ? f->filename : "?", f->line,
                                 f->thread < h->nthreads ? h->threads[f->thread].thread_id : 0);
                } else {
                        snprintf(buf, len, "root: held by a thread's frame (%s)", lbl);
                }
                break;
        case HEAP_ROOT_INTERP:
                snprintf(buf, len, "root: the interpreter%s%s", lbl[0] ? ": " : "", lbl);
                break;
        case HEAP_ROOT_EXTERNAL:
                snprintf(buf, len, "root: held from outside the graph (refcount %" PRId64
                         " exceeds the known referrers: C code, the C stack, untracked "
                         "containers)", heap_refcnt(&h->objs[rt->obj]));
                break;
        case HEAP_ROOT_IMMORTAL:
                snprintf(buf, len, "root: immortal object");
                break;
        case HEAP_ROOT_PERMANENT:
                snprintf(buf, len, "root: frozen by gc.freeze() (permanent generation)");
                break;
        default:
                snprintf(buf, len, "root: ?");
        }
}

/* The shortest cycle through start inside cycle `cycle` of either grouping. */
static int shortest_cycle(const struct heap *h, bool local, uint32_t cycle, uint32_t start,
                          struct heap_path *p)
{
        return heap_cycles_shortest(h, local ? &h->cycles_local : &h->cycles, cycle, start, p);
}

static int build_cycle(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_cycles *c = ui_cycle_set(h, v->local);
        struct heap_path p = {0};
        char b1[32], b2[32], t[160], d[32];
        uint32_t n;
        int r;

        if (v->cycle >= c->n)
                return -ENOENT;
        r = ui_index_sigs(v->ix, v->local);
        if (r < 0)
                return r;
        n = ui_cycle_size(c, v->cycle);
        if (v->member == UI_NONE)
                v->member = c->members[c->start[v->cycle]];
        snprintf(v->title, sizeof(v->title), "Cycle #%" PRIu32, v->cycle + 1);
        view_add_head(v, "Cycle #%" PRIu32 " of %" PRIu32 ", %s", v->cycle + 1, c->n,
                      v->local ? "local grouping (references to classes, modules and function "
                            "globals ignored; l toggles)"
                          : "strongly connected component (l: local grouping)");
        view_add_head(v, "%" PRIu32 " member%s, %s, retained %s, %s%s%s", n, n == 1 ? "" : "s",
                      fmt_bytes(c->bytes[v->cycle], b1, sizeof(b1)),
                      c->retained ? fmt_bytes(c->retained[v->cycle], b2, sizeof(b2)) : "-",
                      c->garbage[v->cycle] ? "GARBAGE: nothing outside keeps it alive" : "alive",
                      v->ix->diff ? ", shape growth " : "",
                      v->ix->diff ? fmt_delta(ui_index_sig_growth(v->ix, v->local, v->cycle), d,
                                              sizeof(d))
                                  : "");
        view_add_head(v, "[%s]", ui_index_sig(v->ix, v->local, v->cycle));

        r = shortest_cycle(h, v->local, v->cycle, v->member, &p);
        if (r == 0) {
                view_add_text(v, STYLE_HEADING, "Shortest cycle through %s (%" PRIu32 " step%s; "
                              "m on a member redraws it)",
                              screens_obj_ref(v, v->member, t, sizeof(t)), p.n,
                              p.n == 1 ? "" : "s");
                view_add_obj(v, ROW_STEP, p.objs[0], UI_NONE);
                for (uint32_t k = 0; k < p.n; k++)
                        view_add_obj(v, ROW_STEP, p.objs[k + 1], p.labels[k]);
                heap_path_release(&p);
        } else if (r == -ENOMEM) {
                return r;
        } else {
                view_add_text(v, STYLE_DIM, "(no cycle through %s)",
                              screens_obj_ref(v, v->member, t, sizeof(t)));
        }
        view_add_text(v, STYLE_HEADING, "Members (%" PRIu32 ")", n);
        for (uint32_t k = c->start[v->cycle]; k < c->start[v->cycle + 1]; k++)
                if ((r = view_add_obj(v, ROW_OBJ, c->members[k], 0)) < 0)
                        return r;
        return 0;
}

/* The row that stands for the n rows of a list not built (VIEW_OBJ_ROWS). */
static int more_rows(struct view *v, uint64_t n, uint32_t referrers)
{
        return view_add_row(v, ROW_MORE, STYLE_DIM, n < UINT32_MAX ? (uint32_t)n : UINT32_MAX,
                            referrers);
}

static int build_object(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_obj *o;
        char b1[32], b2[32], fl[256], t[160];
        uint64_t nby;
        uint32_t cyc;
        int r;

        if (v->obj >= h->nobjs)
                return -ENOENT;
        o = &h->objs[v->obj];
        nby = h->pred_start ? h->pred_start[v->obj + 1] - h->pred_start[v->obj] : 0;
        snprintf(v->title, sizeof(v->title), "Object %s", screens_obj_ref(v, v->obj, t, sizeof(t)));
        view_add_head(v, "%s   id %" PRIu64, screens_obj_ref(v, v->obj, t, sizeof(t)), (uint64_t)o->addr);
        {
                char b3[32], nat[48] = "";

                /* a buffer it owns outside itself (README: Native memory) */
                if (heap_native(h, v->obj))
                        snprintf(nat, sizeof(nat), " + native %s",
                                 fmt_bytes(heap_native(h, v->obj), b3, sizeof(b3)));
                view_add_head(v, "refcount %" PRId64 "%s   size %s%s   retained %s   "
                              "generation %s", heap_refcnt(o),
                              o->flags & HOBJ_IMMORTAL ? " (immortal)" : "",
                              fmt_bytes(o->size, b1, sizeof(b1)), nat,
                              h->retained ? fmt_bytes(h->retained[v->obj], b2, sizeof(b2)) :
                              "-", heap_gen_name(o->gen));
        }
        snprintf(fl, sizeof(fl), "%s%s%s%s%s",
                 o->flags & HOBJ_GARBAGE ? ", GARBAGE (a collection frees it)" : "",
                 o->flags & HOBJ_GC_GARBAGE ? ", in gc.garbage" : "",
                 o->flags & HOBJ_OPAQUE ? ", opaque (its references are unknown)" : "",
                 o->flags & HOBJ_PARTIAL ? ", partially decoded" : "",
                 ui_index_is_new(v->ix, v->obj) ? ", new since the previous snapshot" : "");
        view_add_head(v, "%" PRIu64 " referent%s, %" PRIu64 " referrer%s%s", heap_nref(h, v->obj),
                      heap_nref(h, v->obj) == 1 ? "" : "s", nby, nby == 1 ? "" : "s", fl);
        if (ui_index_preview(v->ix, v->obj) && ui_index_preview(v->ix, v->obj)[0])
                view_add_head(v, "value %s", ui_index_preview(v->ix, v->obj));

        r = ui_index_sigs(v->ix, false);
        if (r == 0 && ui_index_cycle_of(v->ix, false, v->obj, &cyc) == 0)
                view_add_row(v, ROW_CYCLE, h->cycles.garbage[cyc] ? STYLE_GARBAGE : STYLE_NORMAL,
                             cyc, 0);
        r = ui_index_sigs(v->ix, true);
        if (r == 0 && ui_index_cycle_of(v->ix, true, v->obj, &cyc) == 0)
                view_add_row(v, ROW_CYCLE, h->cycles_local.garbage[cyc] ? STYLE_GARBAGE :
                             STYLE_NORMAL, cyc, 1);

        view_add_text(v, STYLE_HEADING, "Referents (%" PRIu64 ")%s", heap_nref(h, v->obj),
                      o->gen == HEAP_GEN_UNTRACKED ? ": not recorded for untracked objects" : "");
        for (uint64_t e = h->edge_start[v->obj]; e < h->edge_start[v->obj + 1]; e++) {
                if (!v->all && e - h->edge_start[v->obj] == VIEW_OBJ_ROWS) {
                        if ((r = more_rows(v, h->edge_start[v->obj + 1] - e, 0)) < 0)
                                return r;
                        break;
                }
                if ((r = view_add_obj(v, ROW_REF, h->edge_dst[e], heap_edge_label(h, v->obj, e))) < 0)
                        return r;
        }
        view_add_text(v, STYLE_HEADING, "Referrers (%" PRIu64 ")", nby);
        /* one referrer entry per edge, ascending: the k-th entry of the same
         * source is its k-th edge to this object, whose label we want */
        for (uint64_t k = nby ? h->pred_start[v->obj] : 0; nby && k < h->pred_start[v->obj + 1];
             k++) {
                uint32_t src = h->pred_src[k], label = UI_NONE, seen = 0, want = 0;

                if (!v->all && k - h->pred_start[v->obj] == VIEW_OBJ_ROWS)
                        return more_rows(v, h->pred_start[v->obj + 1] - k, 1);
                for (uint64_t j = k; j > h->pred_start[v->obj] && h->pred_src[j - 1] == src; j--)
                        want++;
                for (uint64_t e = h->edge_start[src]; e < h->edge_start[src + 1]; e++)
                        if (h->edge_dst[e] == v->obj && seen++ == want) {
                                label = heap_edge_label(h, src, e);
                                break;
                        }
                if ((r = view_add_obj(v, ROW_REFBY, src, label)) < 0)
                        return r;
        }
        return 0;
}

static int build_path(struct view *v)
{
        const struct heap *h = v->h;
        struct heap_path p = {0};
        uint32_t root = UI_NONE;
        char t[160], buf[512];
        int r;

        if (v->obj >= h->nobjs)
                return -ENOENT;
        snprintf(v->title, sizeof(v->title), "Path to %s",
                 screens_obj_ref(v, v->obj, t, sizeof(t)));
        view_add_head(v, "Why is %s alive: the shortest chain of references from a root",
                      screens_obj_ref(v, v->obj, t, sizeof(t)));
        r = heap_path_from_root(h, v->obj, &p, &root);
        if (r == -ENOENT) {
                view_add_text(v, STYLE_GARBAGE, "No root reaches it: it is garbage, the next "
                              "collection frees it.");
                view_add_obj(v, ROW_STEP, v->obj, UI_NONE);
                return 0;
        }
        if (r < 0) {
                view_add_text(v, STYLE_WARN, "No path: %s.", r == -EINVAL ?
                              "this snapshot has no referrer index or roots" : strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        view_add_head(v, "%" PRIu32 " step%s", p.n, p.n == 1 ? "" : "s");
        if (root < h->nroots) {
                root_text(v, root, buf, sizeof(buf));
                view_add_text(v, STYLE_HEADING, "%s", buf);
        }
        view_add_obj(v, ROW_STEP, p.objs[0], UI_NONE);
        for (uint32_t k = 0; k < p.n; k++)
                view_add_obj(v, ROW_STEP, p.objs[k + 1], p.labels[k]);
        heap_path_release(&p);
        return 0;
}

const struct view_ops cycle_ops = {
        .name = "Cycle", .cols = screens_line_cols, .ncols = 1,
        .build = build_cycle, .cell = screens_cell_line,
};
const struct view_ops object_ops = {
        .name = "Object", .cols = screens_line_cols, .ncols = 1,
        .build = build_object, .cell = screens_cell_line,
};
const struct view_ops path_ops = {
        .name = "Path", .cols = screens_line_cols, .ncols = 1,
        .build = build_path, .cell = screens_cell_line,
};
