/* screen-summary.c: the screens that sum the snapshot up: the overview
 * (process, gc state, leak suspects), the threads with their frames and
 * locals, and the help generated from the keymap.  Single-column screens:
 * their rows are drawn by screens_cell_line (screens.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "fmt.h"
#include "heap.h"
#include "keymap.h"
#include "suspects.h"
#include "screens-internal.h"
#include "session.h"
#include "view-index.h"
#include "view.h"

/* Rows of the overview's suspect lists. */
#define OVERVIEW_TOP_SUSPECTS 8
#define OVERVIEW_TOP_CYCLES 5
#define OVERVIEW_TOP_OBJECTS 8
#define OVERVIEW_TOP_GARBAGE 5

/* Keeps the k objects with the largest retained size among those `want`
 * accepts, biggest first: one pass, insertion into a tiny array. */
static uint32_t top_objects(const struct heap *h, const uint32_t *from, uint32_t n,
                            bool (*want)(const struct heap *, uint32_t), uint32_t *out,
                            uint32_t k)
{
        uint32_t got = 0;

        for (uint32_t j = 0; j < n; j++) {
                uint32_t i = from ? from[j] : j;
                uint64_t r;
                uint32_t p;

                if (want && !want(h, i))
                        continue;
                r = ui_obj_retained(h, i);
                if (got == k && r <= ui_obj_retained(h, out[k - 1]))
                        continue;
                p = got < k ? got++ : k - 1;
                while (p > 0 && ui_obj_retained(h, out[p - 1]) < r) {
                        out[p] = out[p - 1];
                        p--;
                }
                out[p] = i;
        }
        return got;
}

/* Leak suspects leave out what every program has: type objects, modules and
 * the interpreter's own roots, whose retained size is "everything". */
static bool suspect(const struct heap *h, uint32_t i)
{
        const char *t = ui_type_name(h, i);

        return !(h->objs[i].flags & HOBJ_IS_TYPE) && strcmp(t, "builtins.module") &&
               h->objs[i].gen != HEAP_GEN_UNTRACKED;
}

/* The owners that hold the memory, named by their path: Enter opens the
 * owner, p shows the whole path. */
static int add_suspects(struct view *v)
{
        struct heap_suspects s = {0};
        char b[32], fold[32];
        int r = heap_suspects_compute(v->h, OVERVIEW_TOP_SUSPECTS, &s);

        if (r < 0)
                return r;
        view_add_text(v, STYLE_HEADING, " Owners by retained size (Enter opens one, p shows "
                      "its path)");
        for (uint32_t k = 0; k < s.n && r >= 0; k++) {
                const struct heap_suspect *sp = &s.v[k];

                fold[0] = 0;
                if (sp->nfolded > 1)
                        snprintf(fold, sizeof(fold), "%" PRIu32 " \u00d7 ", sp->nfolded);
                r = view_add_obj_text(v, STYLE_NORMAL, sp->owner, "  %-10s %s%s: %s  (under %s)",
                                      fmt_bytes(sp->retained, b, sizeof(b)), fold,
                                      sp->name.owner, sp->accumulates, sp->name.root);
        }
        if (!s.n && r >= 0)
                r = view_add_text(v, STYLE_DIM, "  (no container holds many objects)");
        heap_suspects_release(&s);
        return r < 0 ? r : 0;
}

static int build_overview(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        const struct heap_cycles *lc = &h->cycles_local;
        uint32_t top[OVERVIEW_TOP_OBJECTS], n;
        const uint32_t *order;
        uint64_t ngc = 0, opaque = 0;
        char b1[32], b2[32], b3[32], lsum[3600];
        int r;

        snprintf(v->title, sizeof(v->title), "Overview");
        for (uint32_t t = 0; t < h->ntypes; t++)
                opaque += h->types[t].opaque && h->types[t].tracked;
        view_add_text(v, STYLE_NORMAL, "process      pid %d, CPython %s", m->pid,
                      m->python_version);
        view_add_text(v, STYLE_NORMAL, "interpreter  %s (layout from %s)", m->interp_path,
                      m->layout_source);
        view_add_text(v, m->layout_experimental || m->layout_gapped[0] ? STYLE_WARN : STYLE_NORMAL,
                      "layout       %s", fmt_layout_summary(m, lsum, sizeof(lsum)));
        view_add_text(v, STYLE_NORMAL, "pause        %.1f ms (%d thread%s stopped in %.1f ms), %s "
                      "copied", m->pause_ms, m->threads, m->threads == 1 ? "" : "s", m->stop_ms,
                      fmt_bytes(m->bytes_copied, b1, sizeof(b1)));
        view_add_text(v, g->enabled || g->unknown ? STYLE_NORMAL : STYLE_WARN,
                      "gc           %s, thresholds %d/%d/%d, counts %d/%d/%d, frozen %" PRIu64 "%s",
                      g->unknown ? "enabled state unknown (the layout does not place it)" :
                      g->enabled ? "enabled" : "DISABLED", g->thresholds[0], g->thresholds[1],
                      g->thresholds[2], g->counts[0], g->counts[1], g->counts[2], g->frozen,
                      g->collecting ? ", a collection was running" : "");
        view_add_text(v, STYLE_NORMAL, "objects      gen0 %" PRIu32 ", gen1 %" PRIu32 ", gen2 %"
                      PRIu32 ", permanent %" PRIu32 "; %" PRIu32 " untracked referents",
                      h->ngen_counts[0], h->ngen_counts[1], h->ngen_counts[2], h->ngen_counts[3],
                      h->ngen_counts[HEAP_GEN_UNTRACKED]);
        view_add_text(v, STYLE_NORMAL, "decoded      %.1f%% of %" PRIu32 " tracked objects (%"
                      PRIu64 " opaque type%s: their references are unknown)",
                      h->ntracked ? 100.0 * h->ndecoded / h->ntracked : 100.0, h->ntracked, opaque,
                      opaque == 1 ? "" : "s");
        {
                char mem[768];
                struct heap_accounting a;

                heap_accounting(h, &a);
                view_add_text(v, a.unexplained_known && a.unexplained > a.python_objects + a.buffers ?
                              STYLE_WARN : STYLE_NORMAL, "memory       %s",
                              fmt_memory_line(h, mem, sizeof(mem)));
        }
        if (m->inconsistencies)
                view_add_text(v, STYLE_WARN, "warning      %" PRIu64 " inconsistencies in target "
                              "memory: the result is partial", m->inconsistencies);
        if (v->ix->diff) {
                const struct heap_diff *d = v->ix->diff;

                view_add_text(v, STYLE_NEW, "growth       %" PRIu32 " objects (%s) appeared since "
                              "the previous snapshot", d->nnew,
                              fmt_bytes(d->new_bytes, b1, sizeof(b1)));
                for (uint32_t k = 0; k < d->ntypes && k < 3; k++)
                        if (d->types[k].dbytes > 0)
                                view_add_text(v, STYLE_NEW, "             %s %s objects, %s",
                                              d->types[k].name,
                                              fmt_delta(d->types[k].dcount, b2, sizeof(b2)),
                                              fmt_delta_bytes(d->types[k].dbytes, b3, sizeof(b3)));
        }
        view_add_text(v, STYLE_NORMAL, "%s", "");
        view_add_text(v, STYLE_HEADING, "Leak suspects");
        r = add_suspects(v);
        if (r < 0)
                return r;

        /* cycles: the local grouping, so one instance's own cycle is not lost
         * inside the component every class and module makes */
        r = ui_index_sigs(v->ix, true);
        if (r < 0)
                return r;
        view_add_text(v, STYLE_HEADING, " Largest cycles by retained size (%" PRIu32 ", local "
                      "grouping; c lists them all)", lc->n);
        order = v->ix->cycle_order[1];
        for (uint32_t k = 0; k < lc->n && k < OVERVIEW_TOP_CYCLES; k++)
                view_add_row(v, ROW_CYCLE, lc->garbage[order[k]] ? STYLE_GARBAGE : STYLE_NORMAL,
                             order[k], 1);
        if (!lc->n)
                view_add_text(v, STYLE_DIM, "  (none)");

        view_add_text(v, STYLE_HEADING, " Largest objects by retained size");
        n = top_objects(h, NULL, h->nobjs, suspect, top, OVERVIEW_TOP_OBJECTS);
        for (uint32_t k = 0; k < n; k++)
                view_add_obj(v, ROW_OBJ, top[k], 0);

        for (uint32_t k = 0; k < h->ngarbage; k++)
                ngc += h->objs[h->garbage[k]].size;
        view_add_text(v, h->ngarbage ? STYLE_GARBAGE : STYLE_HEADING,
                      " Garbage waiting for a collection: %" PRIu32 " objects, %s (g lists them)",
                      h->ngarbage, fmt_bytes(ngc, b1, sizeof(b1)));
        n = top_objects(h, h->garbage, h->ngarbage, NULL, top, OVERVIEW_TOP_GARBAGE);
        for (uint32_t k = 0; k < n; k++)
                view_add_obj(v, ROW_OBJ, top[k], 0);
        view_add_text(v, h->ngc_garbage ? STYLE_WARN : STYLE_HEADING,
                      " gc.garbage: %" PRIu32 " object%s", h->ngc_garbage,
                      h->ngc_garbage == 1 ? "" : "s");
        for (uint32_t k = 0; k < h->ngc_garbage && k < OVERVIEW_TOP_GARBAGE; k++)
                view_add_obj(v, ROW_OBJ, h->gc_garbage[k], 0);
        return 0;
}

static int build_threads(struct view *v)
{
        const struct heap *h = v->h;
        int r;

        snprintf(v->title, sizeof(v->title), "Threads");
        view_add_head(v, "%" PRIu32 " Python thread%s, %" PRIu32 " frame%s; the objects under a "
                      "frame are the locals it holds", h->nthreads, h->nthreads == 1 ? "" : "s",
                      h->nframes, h->nframes == 1 ? "" : "s");
        if (!h->nthreads) {
                view_add_text(v, STYLE_DIM, "No thread information was recorded in this snapshot.");
                return 0;
        }
        r = ui_index_frames(v->ix);
        if (r < 0)
                return r;
        for (uint32_t t = 0; t < h->nthreads; t++) {
                const struct heap_thread *th = &h->threads[t];

                view_add_row(v, ROW_THREAD, STYLE_HEADING, t, 0);
                for (uint32_t f = th->first_frame;
                     f < th->first_frame + th->nframes && f < h->nframes; f++) {
                        view_add_row(v, ROW_FRAME, STYLE_NORMAL, f, 0);
                        for (uint32_t k = v->ix->frame_start[f]; k < v->ix->frame_start[f + 1];
                             k++) {
                                uint32_t root = v->ix->frame_roots[k];

                                view_add_obj(v, ROW_LOCAL, h->roots[root].obj, root);
                        }
                }
        }
        return 0;
}

static int build_help(struct view *v)
{
        char keys[64];

        snprintf(v->title, sizeof(v->title), "Help");
        view_add_head(v, "pyleak-attach: the objects a CPython process keeps, and why");
        for (int g = 0; g < RG__COUNT; g++) {
                view_add_text(v, STYLE_HEADING, "%s", keymap_group_name(g));
                for (int q = REQ_NONE + 1; q < REQ__COUNT; q++) {
                        const struct ui_request_info *ri = keymap_request(q);

                        if ((int)ri->group != g)
                                continue;
                        view_add_text(v, STYLE_NORMAL, "  %-18s %s",
                                      keymap_keys(q, keys, sizeof(keys)), ri->help);
                }
        }
        view_add_text(v, STYLE_HEADING, "Object flags");
        view_add_text(v, STYLE_NORMAL, "  G garbage (the next collection frees it), L in "
                      "gc.garbage, C in a cycle, O opaque (references unknown)");
        view_add_text(v, STYLE_HEADING, "Search");
        view_add_text(v, STYLE_NORMAL, "  / then text: rows whose type, signature, text or value "
                      "(the text in a str) contain it (any case); 0x7f... or a decimal id: that "
                      "object, opened even when the list does not show it");
        return 0;
}

const struct view_ops overview_ops = {
        .name = "Overview", .cols = screens_line_cols, .ncols = 1,
        .build = build_overview, .cell = screens_cell_line,
};
/* A pool: the workers side by side, as the text report's table; Enter
 * browses the selected worker's snapshot. */
static int build_workers(struct view *v)
{
        const struct session *s = v->ix->s;
        int r = 0;

        snprintf(v->title, sizeof(v->title), "Workers");
        if (!s || !s->nworkers)
                return view_add_text(v, STYLE_DIM, "  not a pool: pyleak-attach PID PID... or "
                                     "--children PID compares the workers of one");
        for (unsigned k = 0; s->pool_head && s->pool_head[k] && r >= 0; k++)
                r = view_add_text(v, k ? STYLE_NORMAL : STYLE_HEADING, "%s", s->pool_head[k]);
        for (unsigned i = 0; i < s->nworkers && r >= 0; i++) {
                uint8_t style = strstr(s->worker_rows[i], "<- diverges") ? STYLE_WARN :
                                STYLE_NORMAL;

                if (s->worker_browsable[i])
                        r = view_add_worker_text(v, style, i, "%s%s", s->worker_rows[i],
                                                 i == s->worker ? "   (browsing)" : "");
                else
                        r = view_add_text(v, STYLE_DIM, "%s", s->worker_rows[i]);
        }
        return r < 0 ? r : 0;
}

const struct view_ops workers_ops = {
        .name = "Workers", .cols = screens_line_cols, .ncols = 1,
        .build = build_workers, .cell = screens_cell_line,
};

const struct view_ops threads_ops = {
        .name = "Threads", .cols = screens_line_cols, .ncols = 1,
        .build = build_threads, .cell = screens_cell_line,
};
const struct view_ops help_ops = {
        .name = "Help", .cols = screens_line_cols, .ncols = 1,
        .build = build_help, .cell = screens_cell_line,
};
