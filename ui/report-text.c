/* The text report: what a person reads first.  Cycles biggest first, each
 * drawn as a concrete shortest chain of labelled references, then what the
 * collector would free, gc.garbage and the types that hold the memory. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "config.h"
#include "fmt.h"
#include "heap.h"
#include "paths.h"
#include "growth.h"
#include "suspects.h"


/* Every string from the target or the file system goes through
 * fmt_clean(): the report is valid UTF-8 with no control characters. */
#define CLEAN(s, buf) fmt_clean((s), (buf), sizeof(buf))

static void report_layout_line(FILE *f, const struct heap_meta *m)
{
        char line[3600], clean[4 * sizeof(line)];

        fprintf(f, "layout: %s\n", CLEAN(fmt_layout_summary(m, line, sizeof(line)), clean));
}

static void obj_ref(FILE *f, const struct heap *h, uint32_t i)
{
        char nm[1024];

        fprintf(f, "%s@0x%" PRIx64, CLEAN(report_type_name(h, i), nm), (uint64_t)h->objs[i].addr);
}

/* A giant component's signature lists dozens of types; a line a person can
 * read keeps the first ones and says how many more there are. */
#define SIGNATURE_WIDTH 100
static void shorten_signature(char *sig, size_t width)
{
        size_t len = strlen(sig), cut, more = 0;
        char tail[48];

        if (len <= width)
                return;
        cut = width;
        while (cut > 0 && sig[cut] != '+')
                cut--;
        if (cut == 0)
                cut = width;
        for (size_t i = cut; i < len; i++)
                more += sig[i] == '+';
        snprintf(tail, sizeof(tail), "+... (%zu more types)", more ? more : 1);
        memcpy(sig + cut, tail, strlen(tail) + 1);
}

static void write_cycle(FILE *f, const struct heap *h, const struct heap_cycles *set,
                        uint32_t c, uint32_t rank)
{
        uint32_t n = set->start[c + 1] - set->start[c];
        uint32_t first = set->members[set->start[c]];
        struct heap_path p = {0};
        char sig[512], b[32], rb[32], lbl[256], clean[1024];

        if (heap_cycles_signature(h, set, c, sig, sizeof(sig)) < 0)
                snprintf(sig, sizeof(sig), "?");
        shorten_signature(sig, SIGNATURE_WIDTH);
        fprintf(f, "  #%-4" PRIu32 " %" PRIu32 " object%s, %s, retained %s, %s  [%s]\n", rank,
                n, n == 1 ? "" : "s", fmt_bytes(set->bytes[c], b, sizeof(b)),
                fmt_bytes(set->retained ? set->retained[c] : 0, rb, sizeof(rb)),
                set->garbage[c] ? "GARBAGE" : "alive", CLEAN(sig, clean));
        if (heap_cycles_shortest(h, set, c, first, &p) < 0) {
                fputs("        (no cycle path found)\n", f);
                return;
        }
        fputs("        ", f);
        for (uint32_t k = 0; k < p.n; k++) {
                obj_ref(f, h, p.objs[k]);
                fprintf(f, " %s -> ", CLEAN(heap_label_text(h, p.labels[k], lbl, sizeof(lbl)),
                                             clean));
                /* Long cycles: show the beginning and the way back. */
                if (k == 7 && p.n > 10) {
                        fprintf(f, "... (%" PRIu32 " more steps) ... -> ", p.n - 8);
                        break;
                }
        }
        obj_ref(f, h, p.objs[p.n]);
        fputc('\n', f);
        heap_path_release(&p);
}

/* Cycles of the local grouping (or every strongly connected component
 * with --all-cycles).  The interpreter's own structure (classes, modules,
 * functions) is one folded line unless the strict view is asked for: it is
 * in every program and hides the application's cycles. */
static void write_cycles(FILE *f, const struct heap *h, unsigned top, bool all)
{
        const struct heap_cycles *set = report_cycle_set(h, all);
        uint64_t ngcyc = 0, sobj = 0, sbytes = 0, sret = 0;
        uint32_t shown = 0, nstruct = 0, listed = 0;
        char b[32], rb[32];

        for (uint32_t c = 0; c < set->n; c++)
                ngcyc += set->garbage[c];
        fprintf(f, "\nCycles: %" PRIu32 " (%" PRIu64 " garbage), biggest first; %s\n", set->n,
                ngcyc, all ? "every strongly connected component (--all-cycles)"
                           : "local grouping (references to classes, modules and function "
                             "globals ignored; --all-cycles for the strict view)");
        for (uint32_t c = 0; c < set->n; c++) {
                if (!all && report_cycle_is_structure(h, set, c)) {
                        nstruct++;
                        sobj += set->start[c + 1] - set->start[c];
                        sbytes += set->bytes[c];
                        sret += set->retained ? set->retained[c] : 0;
                        continue;
                }
                listed++;
                if (shown < top) {
                        write_cycle(f, h, set, c, listed);
                        shown++;
                }
        }
        if (listed > shown)
                fprintf(f, "  ... and %" PRIu32 " more cycles (use --top or --json)\n",
                        listed - shown);
        if (nstruct)
                fprintf(f, "  interpreter structure: %" PRIu32 " cycle%s, %" PRIu64 " objects, "
                        "%s, retained %s (classes, modules, functions; --all-cycles lists "
                        "them)\n", nstruct, nstruct == 1 ? "" : "s", sobj,
                        fmt_bytes(sbytes, b, sizeof(b)), fmt_bytes(sret, rb, sizeof(rb)));
}

/* With a baseline: the owners that grew since, first of all.  s: the
 * suspects the report lists (NULL: not computed), which growth starts
 * from. */
static void write_growth(FILE *f, const struct heap *h, const struct report_opts *o,
                         const struct heap_suspects *s)
{
        struct heap_growth g = {0};
        char b[32], b2[32], c1[1024], c2[1024];

        (void)b2;
        if (!s || heap_growth_compute_with(o->baseline, h, s, 10, &g) < 0) {
                fputs("Growth since the baseline: not computed (out of memory)\n", f);
                return;
        }
        fprintf(f, "Growth since the baseline %s (pid %d, %" PRIu32 " objects then, %" PRIu32
                " now): %" PRIu32 " owner%s grew\n", CLEAN(o->baseline_name ? o->baseline_name :
                "", c1), o->baseline->meta.pid, o->baseline->ntracked, h->ntracked, g.n,
                g.n == 1 ? "" : "s");
        for (uint32_t k = 0; k < g.n; k++) {
                const struct heap_owner_growth *x = &g.v[k];

                fprintf(f, "  %" PRIu32 ". %s  %s retained (%s objects)%s\n", k + 1,
                        CLEAN(x->name.owner, c1), fmt_delta_bytes(x->dretained, b, sizeof(b)),
                        fmt_delta(x->dobjects, b2, sizeof(b2)),
                        x->old_owner == UINT32_MAX ? ", not in the baseline" : "");
                if (x->new_types[0])
                        fprintf(f, "       new: %s\n", CLEAN(x->new_types, c1));
                fprintf(f, "       under %s (%s)\n", CLEAN(x->name.root, c1),
                        CLEAN(x->name.path, c2));
        }
        heap_growth_release(&g);
}

/* The owners that hold the memory, first: what a person came for.  s:
 * NULL when they could not be computed. */
static void write_suspects(FILE *f, const struct heap_suspects *s)
{
        char b[32], c1[1024], c2[1024];

        if (!s) {
                fputs("Leak suspects: not computed (out of memory)\n", f);
                return;
        }
        fprintf(f, "Leak suspects: %" PRIu32 " owner%s by retained size%s\n", s->n,
                s->n == 1 ? "" : "s", s->n ? "" : " (no container holds many objects)");
        for (uint32_t k = 0; k < s->n; k++) {
                const struct heap_suspect *sp = &s->v[k];
                char fold[32] = "";

                if (sp->nfolded > 1)
                        snprintf(fold, sizeof(fold), "%" PRIu32 " \u00d7 ", sp->nfolded);
                fprintf(f, "  %" PRIu32 ". %s%s  retained %s, %" PRIu64 " objects\n", k + 1, fold,
                        CLEAN(sp->name.owner, c1), fmt_bytes(sp->retained, b, sizeof(b)),
                        sp->objects);
                fprintf(f, "       %s\n", CLEAN(sp->accumulates, c1));
                fprintf(f, "       under %s (%s)\n", CLEAN(sp->name.root, c1),
                        CLEAN(sp->name.path, c2));
        }
}

static void write_types(FILE *f, const struct heap *h, unsigned top)
{
        uint32_t *order = report_types_by_bytes(h);
        char b[32], rb[32], nm[1024];

        if (!order)
                return;
        fprintf(f, "\nTypes by size (top %u of %" PRIu32 "):\n", top, h->ntypes);
        fprintf(f, "  %10s %12s %12s  %s\n", "count", "bytes", "retained", "type");
        for (uint32_t k = 0; k < h->ntypes && k < top; k++) {
                const struct heap_type *t = &h->types[order[k]];

                if (!t->count)
                        break;
                fprintf(f, "  %10" PRIu64 " %12s %12s  %s%s\n", t->count,
                        fmt_bytes(t->bytes, b, sizeof(b)), fmt_bytes(t->retained, rb, sizeof(rb)),
                        CLEAN(t->fullname ? t->fullname : "?", nm),
                        t->opaque && t->tracked ? "  (opaque)" : "");
        }
        free(order);
}

static void write_obj_list(FILE *f, const struct heap *h, const uint32_t *idx, uint32_t n,
                           unsigned top)
{
        char b[32], rb[32];

        for (uint32_t k = 0; k < n && k < top; k++) {
                fputs("  ", f);
                obj_ref(f, h, idx[k]);
                fprintf(f, "  refcnt %" PRId64 ", %s, retained %s\n", heap_refcnt(&h->objs[idx[k]]),
                        fmt_bytes(h->objs[idx[k]].size, b, sizeof(b)),
                        fmt_bytes(h->retained ? h->retained[idx[k]] : 0, rb, sizeof(rb)));
        }
        if (n > top)
                fprintf(f, "  ... and %" PRIu32 " more (use --json for all)\n", n - top);
}

int report_text(const struct heap *h, FILE *f, const struct report_opts *o)
{
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        unsigned top = o && o->top ? o->top : 20;
        bool all = o && o->all_cycles;
        uint64_t gbytes = 0;
        char b[32], c1[4 * sizeof(m->interp_path)], c2[256];
        struct heap_suspects s = {0};
        bool have_suspects;

        fprintf(f, "pyleak-attach %s: pid %d, CPython %s\n", PYLEAK_VERSION, m->pid,
                CLEAN(m->python_version, c2));
        /* computed once: the growth starts from them */
        have_suspects = heap_suspects_compute(h, top < 10 ? top : 10, &s) == 0;
        if (o && o->baseline)
                write_growth(f, h, o, have_suspects ? &s : NULL);
        write_suspects(f, have_suspects ? &s : NULL);
        heap_suspects_release(&s);
        fputc('\n', f);
        fprintf(f, "interpreter: %s", CLEAN(m->interp_path, c1));
        fprintf(f, " (layout from %s)\n", CLEAN(m->layout_source, c2));
        report_layout_line(f, m);
        fprintf(f, "snapshot: target paused %.1f ms (%d thread%s stopped in %.1f ms), "
                "%s copied", m->pause_ms, m->threads, m->threads == 1 ? "" : "s",
                m->stop_ms, fmt_bytes(m->bytes_copied, b, sizeof(b)));
        /* in fork mode most of the pause is the kernel's, not the tool's */
        if (m->fork_ms > 0)
                fprintf(f, "; the fork itself took %.1f ms", m->fork_ms);
        fputc('\n', f);
        fprintf(f, "gc: %s, thresholds %d/%d/%d, counts %d/%d/%d, frozen %" PRIu64 "%s\n",
                g->unknown ? "enabled state unknown (the layout does not place it)" :
                g->enabled ? "enabled" : "DISABLED", g->thresholds[0], g->thresholds[1],
                g->thresholds[2], g->counts[0], g->counts[1], g->counts[2], g->frozen,
                g->collecting ? ", a collection was running" : "");
        fprintf(f, "objects: gen0 %" PRIu32 ", gen1 %" PRIu32 ", gen2 %" PRIu32
                ", permanent %" PRIu32 "; references decoded for %.1f%% of %" PRIu32
                " tracked objects\n",
                h->ngen_counts[0], h->ngen_counts[1], h->ngen_counts[2], h->ngen_counts[3],
                h->ntracked ? 100.0 * h->ndecoded / h->ntracked : 100.0, h->ntracked);
        {
                char mem[768];

                fprintf(f, "memory: %s\n", fmt_memory_line(h, mem, sizeof(mem)));
        }
        if (m->inconsistencies)
                fprintf(f, "warning: %" PRIu64 " inconsistencies in target memory; the "
                        "result is partial\n", m->inconsistencies);
        for (uint32_t i = 0; i < h->nproblems; i++) {
                char text[600];

                fprintf(f, "  %s\n", heap_problem_text(h, &h->problems[i], text, sizeof(text)));
        }

        write_cycles(f, h, top, all);

        for (uint32_t k = 0; k < h->ngarbage; k++)
                gbytes += h->objs[h->garbage[k]].size;
        fprintf(f, "\nGarbage: the next full collection would free %" PRIu32 " object%s, %s\n",
                h->ngarbage, h->ngarbage == 1 ? "" : "s", fmt_bytes(gbytes, b, sizeof(b)));
        write_obj_list(f, h, h->garbage, h->ngarbage, top);

        fprintf(f, "\ngc.garbage: %" PRIu32 " object%s\n", h->ngc_garbage,
                h->ngc_garbage == 1 ? "" : "s");
        write_obj_list(f, h, h->gc_garbage, h->ngc_garbage, top);

        write_types(f, h, top);
        fflush(f);
        return ferror(f) ? -EIO : 0;
}
