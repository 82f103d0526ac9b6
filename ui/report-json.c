/* The JSON report.  Streamed straight to the FILE so a 10-million-object
 * report with --objects never needs a document tree in memory. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "heap.h"
#include "growth.h"
#include "suspects.h"
#include "utf8.h"

const char *report_type_name(const struct heap *h, uint32_t obj)
{
        uint32_t t = h->objs[obj].type;

        if (t >= h->ntypes || !h->types[t].fullname)
                return "?";
        return h->types[t].fullname;
}

const struct heap_cycles *report_cycle_set(const struct heap *h, bool all_cycles)
{
        return all_cycles ? &h->cycles : &h->cycles_local;
}

bool report_cycle_is_structure(const struct heap *h, const struct heap_cycles *set, uint32_t c)
{
        uint32_t n = set->start[c + 1] - set->start[c], ns = 0;

        for (uint32_t k = set->start[c]; k < set->start[c + 1]; k++)
                ns += heap_obj_is_structure(h, set->members[k]);
        return ns * 2 >= n;
}

/* A JSON string from bytes that are meant to be UTF-8 but come from target
 * memory (type names, labels) or the file system (paths): hostile.  The
 * output is always valid UTF-8 that strict parsers accept: every invalid
 * sequence becomes U+FFFD (utf8.h), control characters C0, DEL and C1 are
 * \u escapes, and so are U+2028/U+2029 (so the text is also valid
 * JavaScript).  Runs of plain bytes are written in one go. */
static void json_str(FILE *f, const char *s)
{
        const char *p = s, *run = s;
        size_t n = strlen(s);
        const char *end = s + n;

        fputc('"', f);
        while (p < end) {
                unsigned char b = (unsigned char)*p;
                uint32_t c;
                bool bad;
                size_t k;

                if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
                        p++;
                        continue;
                }
                if (b >= 0x80) {
                        k = utf8_decode(p, (size_t)(end - p), &c, &bad);
                        if (!bad && c > 0x9f && c != 0x2028 && c != 0x2029) {
                                p += k;
                                continue;
                        }
                } else {
                        k = 1;
                        c = b;
                        bad = false;
                }
                fwrite(run, 1, (size_t)(p - run), f);
                switch (c) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (bad)
                                fputs("\xef\xbf\xbd", f);    /* U+FFFD */
                        else
                                fprintf(f, "\\u%04x", (unsigned)c);
                }
                p += k;
                run = p;
        }
        fwrite(run, 1, (size_t)(p - run), f);
        fputc('"', f);
}

void report_json_string(FILE *f, const char *s)
{
        json_str(f, s);
}

/* Writes v in decimal ending just before end; returns where it starts. */
static char *u64_dec(char *end, uint64_t v)
{
        do {
                *--end = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        return end;
}

/* Cycle and garbage lists run to hundreds of thousands of ids, where one
 * fprintf per id (format parsing, stream locking) was most of the report's
 * time: the ids are formatted by hand and written a buffer at a time. */
static void json_ids(FILE *f, const struct heap *h, const uint32_t *idx, uint32_t n)
{
        char buf[4096], num[20];
        size_t len = 0;

        buf[len++] = '[';
        for (uint32_t i = 0; i < n; i++) {
                char *s = u64_dec(num + sizeof(num), h->objs[idx[i]].addr);
                size_t k = (size_t)(num + sizeof(num) - s);

                /* room for the comma, the number and the closing ']' */
                if (len + k + 2 > sizeof(buf)) {
                        fwrite(buf, 1, len, f);
                        len = 0;
                }
                if (i)
                        buf[len++] = ',';
                memcpy(buf + len, s, k);
                len += k;
        }
        buf[len++] = ']';
        fwrite(buf, 1, len, f);
}

static int cmp_type_bytes(const void *a, const void *b, void *arg)
{
        const struct heap *h = arg;
        const struct heap_type *x = &h->types[*(const uint32_t *)a];
        const struct heap_type *y = &h->types[*(const uint32_t *)b];

        if (x->bytes != y->bytes)
                return x->bytes < y->bytes ? 1 : -1;
        if (x->count != y->count)
                return x->count < y->count ? 1 : -1;
        return strcmp(x->fullname ? x->fullname : "", y->fullname ? y->fullname : "");
}

uint32_t *report_types_by_bytes(const struct heap *h)
{
        uint32_t *order = malloc(sizeof(*order) * (h->ntypes ? h->ntypes : 1));

        if (!order)
                return NULL;
        for (uint32_t i = 0; i < h->ntypes; i++)
                order[i] = i;
        qsort_r(order, h->ntypes, sizeof(*order), cmp_type_bytes, (void *)h);
        return order;
}

static void write_types(FILE *f, const struct heap *h)
{
        uint32_t *order = report_types_by_bytes(h);
        bool first = true;

        fputs("  \"types\": [", f);
        for (uint32_t k = 0; order && k < h->ntypes; k++) {
                const struct heap_type *t = &h->types[order[k]];

                if (!t->count)
                        continue;
                fprintf(f, "%s\n    {\"module\": ", first ? "" : ",");
                json_str(f, t->module ? t->module : "");
                fputs(", \"qualname\": ", f);
                json_str(f, t->qualname ? t->qualname : "");
                fprintf(f, ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64
                        ", \"native\": %" PRIu64 ", \"tracked\": %" PRIu64
                        ", \"retained\": %" PRIu64 "}", t->count, t->bytes, t->native,
                        t->tracked, t->retained);
                first = false;
        }
        fputs("\n  ],\n", f);
        free(order);
}

/* Opaque is decided per object, not per type: a C module with its own
 * state is opaque while a Python module of the same type is not.  So count
 * the tracked objects flagged opaque, by type: the counts then add up to
 * tracked - decoded. */
static void write_coverage(FILE *f, const struct heap *h)
{
        uint64_t *n = calloc(h->ntypes ? h->ntypes : 1, sizeof(*n));
        bool first = true;

        fprintf(f, "  \"coverage\": {\"tracked\": %" PRIu32 ", \"decoded\": %" PRIu32
                ", \"opaque_types\": {", h->ntracked, h->ndecoded);
        for (uint32_t i = 0; n && i < h->ntracked; i++)
                if ((h->objs[i].flags & HOBJ_OPAQUE) && h->objs[i].type < h->ntypes)
                        n[h->objs[i].type]++;
        /* Two types may share a name (classes made in a loop or a function):
         * JSON keys must be unique, so fold their counts into the first. */
        for (uint32_t i = 0; n && i < h->ntypes; i++)
                for (uint32_t j = 0; n[i] && j < i; j++)
                        if (n[j] && h->types[i].fullname && h->types[j].fullname &&
                            !strcmp(h->types[i].fullname, h->types[j].fullname)) {
                                n[j] += n[i];
                                n[i] = 0;
                        }
        for (uint32_t i = 0; n && i < h->ntypes; i++) {
                if (!n[i])
                        continue;
                fputs(first ? "" : ", ", f);
                json_str(f, h->types[i].fullname ? h->types[i].fullname : "?");
                fprintf(f, ": %" PRIu64, n[i]);
                first = false;
        }
        fputs("}},\n", f);
        free(n);
}

/* The accounting line: what the target's RSS holds against what the graph
 * explains.  null for what the snapshot could not know. */
static void write_memory(FILE *f, const struct heap *h)
{
        const struct heap_memory *m = &h->meta.memory;
        struct heap_accounting a;

        heap_accounting(h, &a);
        fputs("  \"memory\": {\"rss\": ", f);
        if (m->rss_known)
                fprintf(f, "%" PRIu64, m->rss);
        else
                fputs("null", f);
        fputs(", \"pymalloc_arenas\": ", f);
        if (m->arenas_known)
                fprintf(f, "{\"used\": %" PRIu64 ", \"free\": %" PRIu64 "}", m->arenas_used,
                        m->arenas_free);
        else
                fputs("null", f);
        fputs(", \"pymalloc_arenas_why\": ", f);
        json_str(f, m->arenas_why);
        fprintf(f, ", \"python_objects\": %" PRIu64 ", \"buffers\": %" PRIu64
                ", \"unexplained\": ", a.python_objects, a.buffers);
        if (a.unexplained_known)
                fprintf(f, "%" PRIu64, a.unexplained);
        else
                fputs("null", f);
        fputs("},\n", f);
}

static void write_objects(FILE *f, const struct heap *h)
{
        char lbl[256];

        fputs(",\n  \"objects\": [", f);
        for (uint32_t i = 0; i < h->ntracked; i++) {
                const struct heap_obj *o = &h->objs[i];

                fprintf(f, "%s\n    {\"id\": %" PRIu64 ", \"type\": ", i ? "," : "", (uint64_t)o->addr);
                json_str(f, report_type_name(h, i));
                fprintf(f, ", \"gen\": \"%s\", \"refcnt\": %" PRId64 ", \"size\": %" PRIu64
                        ", \"native\": %" PRIu64 ", \"retained\": %" PRIu64
                        ", \"opaque\": %s, \"referents\": [",
                        heap_gen_name(o->gen), heap_refcnt(o), (uint64_t)o->size, heap_native(h, i),
                        h->retained ? h->retained[i] : heap_weight(h, i),
                        (o->flags & HOBJ_OPAQUE) ? "true" : "false");
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++) {
                        fprintf(f, "%s{\"id\": %" PRIu64 ", \"label\": ",
                                e > h->edge_start[i] ? ", " : "",
                                (uint64_t)h->objs[h->edge_dst[e]].addr);
                        json_str(f, heap_label_text(h, heap_edge_label(h, i, e), lbl, sizeof(lbl)));
                        fputc('}', f);
                }
                fputs("]}", f);
        }
        fputs("\n  ]", f);
}

/* What the walker's consistency checks found (heap.h, struct
 * heap_problem): the object, its type, the list, the check, and the
 * sentence the stderr line gives.  Always present, [] when clean. */
/* A "; "-separated list (heap_meta's layout records) as a JSON array. */
static void json_list(FILE *f, const char *s)
{
        char item[1024];
        bool first = true;

        fputc('[', f);
        while (s && *s) {
                const char *e = strstr(s, "; ");
                size_t n = e ? (size_t)(e - s) : strlen(s);

                snprintf(item, sizeof(item), "%.*s", (int)n, s);
                fputs(first ? "" : ", ", f);
                json_str(f, item);
                first = false;
                s += n + (e ? 2 : 0);
        }
        fputc(']', f);
}

/* How sure the layout is: python.layout (README "JSON"). */
static void write_layout(FILE *f, const struct heap_meta *m)
{
        fputs(", \"layout\": {\"source\": ", f);
        json_str(f, m->layout_source);
        fprintf(f, ", \"experimental\": %s, \"checks\": ",
                m->layout_experimental ? "true" : "false");
        json_list(f, m->layout_checks);
        fputs(", \"candidates\": ", f);
        json_str(f, m->layout_candidates);
        fputs(", \"inferred\": ", f);
        json_list(f, m->layout_inferred);
        fputs(", \"gaps\": ", f);
        json_list(f, m->layout_gapped);
        fputc('}', f);
}

static void write_problems(FILE *f, const struct heap *h)
{
        char text[600];

        fputs("  \"problems\": [", f);
        for (uint32_t i = 0; i < h->nproblems; i++) {
                const struct heap_problem *p = &h->problems[i];

                fprintf(f, "%s\n    {\"check\": \"%s\", \"object\": ", i ? "," : "",
                        heap_check_name((enum heap_check)p->check));
                if (p->obj)
                        fprintf(f, "%" PRIu64, p->obj);
                else
                        fputs("null", f);
                fputs(", \"type\": ", f);
                if (p->type < h->ntypes && h->types[p->type].fullname)
                        json_str(f, h->types[p->type].fullname);
                else
                        fputs("null", f);
                if (p->gen < HEAP_GEN_UNTRACKED)
                        fprintf(f, ", \"list\": \"%s\", \"node\": %" PRIu64,
                                heap_gen_name((enum heap_gen)p->gen), p->node);
                else
                        fputs(", \"list\": null, \"node\": null", f);
                fprintf(f, ", \"value\": %" PRIu64 ", \"expect\": %" PRIu64
                        ", \"recovered\": %s, \"message\": ", p->value, p->expect,
                        p->recovered ? "true" : "false");
                json_str(f, heap_problem_text(h, p, text, sizeof(text)));
                fputc('}', f);
        }
        fputs(h->nproblems ? "\n  ],\n" : "],\n", f);
}

static const struct heap_owner_growth *growth_of(const struct heap_growth *g, uint32_t owner)
{
        for (uint32_t k = 0; g && k < g->n; k++)
                if (g->v[k].owner == owner)
                        return &g->v[k];
        return NULL;
}

static void write_owner_growth(FILE *f, const struct heap_owner_growth *g)
{
        fprintf(f, "{\"retained\": %" PRId64 ", \"objects\": %" PRId64 ", \"baseline_retained\": %"
                PRIu64 ", \"baseline_objects\": %" PRIu64 ", \"in_baseline\": %s, \"new_objects\": %"
                PRIu64 ", \"new_types\": ", g->dretained, g->dobjects, g->old_retained,
                g->old_objects, g->old_owner != UINT32_MAX ? "true" : "false", g->new_objs);
        json_str(f, g->new_types);
        fputc('}', f);
}

/* s: NULL when out of memory, an empty list then, as a heap with no
 * owner gives. */
static void write_suspects(FILE *f, const struct heap *h, const struct heap_suspects *s,
                           const struct heap_growth *growth)
{
        uint32_t n = s ? s->n : 0;

        fputs("  \"suspects\": [", f);
        for (uint32_t k = 0; k < n; k++) {
                const struct heap_suspect *sp = &s->v[k];

                fprintf(f, "%s\n    {\"owner\": ", k ? "," : "");
                json_str(f, sp->name.owner);
                fputs(", \"path\": ", f);
                json_str(f, sp->name.path);
                fputs(", \"root\": ", f);
                json_str(f, sp->name.root);
                fprintf(f, ", \"id\": %" PRIu64 ", \"folded\": %" PRIu32 ", \"retained\": %"
                        PRIu64 ", \"objects\": %" PRIu64 ", \"items\": %" PRIu64
                        ", \"accumulates\": ", (uint64_t)h->objs[sp->owner].addr, sp->nfolded,
                        sp->retained, sp->objects, sp->items);
                json_str(f, sp->accumulates);
                fprintf(f, ", \"interpreter\": %s, \"growth\": ",
                        sp->interpreter ? "true" : "false");
                if (growth_of(growth, sp->owner))
                        write_owner_growth(f, growth_of(growth, sp->owner));
                else
                        fputs(growth ? "{\"retained\": 0, \"objects\": 0}" : "null", f);
                fputc('}', f);
        }
        fputs(n ? "\n  ],\n" : "],\n", f);
}

/* "growth": the owners that grew since the baseline (README, "Growth
 * between snapshots"), most first. */
static void write_growth(FILE *f, const struct heap *h, const struct report_opts *o,
                         const struct heap_growth *g)
{
        const struct heap_meta *b = &o->baseline->meta;

        (void)h;
        fputs("  \"growth\": {\"baseline\": {\"file\": ", f);
        json_str(f, o->baseline_name ? o->baseline_name : "");
        fprintf(f, ", \"pid\": %d, \"objects\": %" PRIu32 "}, \"owners\": [", b->pid,
                o->baseline->ntracked);
        for (uint32_t k = 0; g && k < g->n; k++) {
                const struct heap_owner_growth *x = &g->v[k];

                fprintf(f, "%s\n    {\"owner\": ", k ? "," : "");
                json_str(f, x->name.owner);
                fputs(", \"path\": ", f);
                json_str(f, x->name.path);
                fputs(", \"root\": ", f);
                json_str(f, x->name.root);
                fprintf(f, ", \"retained\": %" PRIu64 ", \"objects\": %" PRIu64
                        ", \"accumulates\": ", x->new_retained, x->new_objects);
                json_str(f, x->accumulates);
                fputs(", \"growth\": ", f);
                write_owner_growth(f, x);
                fputc('}', f);
        }
        fputs(g && g->n ? "\n  ]},\n" : "]},\n", f);
}

/* The local grouping unless the strict view is asked for; the
 * interpreter's structure is then one summary, not hundreds of cycles. */
static void write_cycles(FILE *f, const struct heap *h, bool all)
{
        const struct heap_cycles *set = report_cycle_set(h, all);
        uint64_t sn = 0, sobj = 0, sbytes = 0, sret = 0;
        bool first = true;

        fprintf(f, "  \"cycle_grouping\": \"%s\",\n  \"cycles\": [", all ? "strict" : "local");
        for (uint32_t c = 0; c < set->n; c++) {
                uint64_t ret = set->retained ? set->retained[c] : 0;

                if (!all && report_cycle_is_structure(h, set, c)) {
                        sn++;
                        sobj += set->start[c + 1] - set->start[c];
                        sbytes += set->bytes[c];
                        sret += ret;
                        continue;
                }
                fprintf(f, "%s\n    {\"members\": ", first ? "" : ",");
                json_ids(f, h, set->members + set->start[c], set->start[c + 1] - set->start[c]);
                fprintf(f, ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64
                        ", \"garbage\": %s}", set->bytes[c], ret,
                        set->garbage[c] ? "true" : "false");
                first = false;
        }
        fprintf(f, "%s],\n  \"interpreter_structure\": {\"cycles\": %" PRIu64 ", \"objects\": %"
                PRIu64 ", \"bytes\": %" PRIu64 ", \"retained\": %" PRIu64 "},\n",
                first ? "" : "\n  ", sn, sobj, sbytes, sret);
}

/* heap.h: costs.  Stored in the heap when its steps ran, so that two
 * reports of one heap are the same bytes. */
static void write_costs(FILE *f, const struct heap *h)
{
        struct heap_big_stats big;

        if (!h->costs_known) {
                fputs("  \"costs\": null,\n", f);
                return;
        }
        heap_big_stats(&big);
        fputs("  \"costs\": {", f);
        for (int c = 0; c < HEAP_COST__COUNT; c++)
                fprintf(f, "%s\"%s\": {\"ms\": %.3f, \"kept_bytes\": %" PRIu64 "}",
                        c ? ", " : "", heap_cost_name(c), h->costs[c].ms, h->costs[c].kept);
        fprintf(f, ", \"big_arrays\": {\"budget\": %" PRIu64 ", \"peak\": %" PRIu64
                ", \"spilled_peak\": %" PRIu64 "}},\n", big.budget, big.peak, big.spilled_peak);
}

int report_json(const struct heap *h, FILE *f, const struct report_opts *o)
{
        const struct heap_meta *m = &h->meta;
        const struct heap_gcstate *g = &h->gc;
        struct heap_growth growth = {0};
        struct heap_suspects s = {0};
        bool have_growth = false, have_suspects;

        fprintf(f, "{\n  \"tool\": {\"name\": \"pyleak-attach\", \"version\": \"%s\"},\n",
                PYLEAK_VERSION);
        fprintf(f, "  \"pid\": %d,\n  \"pid_in_namespace\": %d,\n  \"python\": {\"version\": ",
                m->pid, m->pid_in_namespace);
        json_str(f, m->python_version);
        fputs(", \"layout_source\": ", f);
        json_str(f, m->layout_source);
        fputs(", \"path\": ", f);
        json_str(f, m->interp_path);
        fprintf(f, ", \"interpreters\": %d, \"symbols_ms\": %.3f, \"layout_disagreements\": ",
                m->interpreters, m->symbols_ms);
        json_str(f, m->layout_disagreements);
        write_layout(f, m);
        fputs("},\n", f);
        fputs("  \"snapshot\": {\"mode\": ", f);
        json_str(f, m->snapshot_mode);
        fprintf(f, ", \"pause_ms\": %.3f, \"stop_ms\": %.3f, \"fork_ms\": %.3f, \"threads\": %d"
                ", \"bytes_copied\": %" PRIu64 ", \"walk_ms\": %.3f, \"analyse_ms\": %.3f"
                ", \"inconsistencies\": %" PRIu64 ", \"approximate\": %s"
                ", \"live_retries\": %" PRIu32 ", \"layout_gaps\": %" PRIu64 "},\n",
                m->pause_ms, m->stop_ms, m->fork_ms, m->threads, m->bytes_copied, m->walk_ms,
                m->analyse_ms, m->inconsistencies, m->approximate ? "true" : "false",
                m->live_retries, m->layout_gaps);
        write_problems(f, h);
        char dbg[16];

        snprintf(dbg, sizeof(dbg), "%d", g->debug);
        fprintf(f, "  \"gc\": {\"enabled\": %s, \"thresholds\": [%d, %d, %d], "
                "\"counts\": [%d, %d, %d], \"collecting\": %s, \"frozen\": %" PRIu64
                ", \"debug\": %s},\n",
                g->unknown ? "null" : g->enabled ? "true" : "false", g->thresholds[0],
                g->thresholds[1], g->thresholds[2], g->counts[0], g->counts[1], g->counts[2],
                g->collecting ? "true" : "false", g->frozen, g->unknown ? "null" : dbg);
        fputs("  \"generations\": [", f);
        for (int gen = HEAP_GEN_0; gen <= HEAP_GEN_PERMANENT; gen++)
                fprintf(f, "%s{\"name\": \"%s\", \"objects\": %" PRIu32 "}",
                        gen ? ", " : "", heap_gen_name(gen), h->ngen_counts[gen]);
        fprintf(f, "],\n  \"untracked_referents\": %" PRIu32 ",\n",
                h->ngen_counts[HEAP_GEN_UNTRACKED]);
        write_coverage(f, h);
        write_memory(f, h);
        write_types(f, h);

        /* computed once: the growth starts from them */
        have_suspects = heap_suspects_compute(h, 10, &s) == 0;
        if (o && o->baseline) {
                if (have_suspects &&
                    heap_growth_compute_with(o->baseline, h, &s, 10, &growth) == 0)
                        have_growth = true;
                write_growth(f, h, o, have_growth ? &growth : NULL);
        }
        write_suspects(f, h, have_suspects ? &s : NULL, have_growth ? &growth : NULL);
        write_costs(f, h);
        heap_growth_release(&growth);
        heap_suspects_release(&s);
        write_cycles(f, h, o && o->all_cycles);
        fputs("  \"garbage\": ", f);
        json_ids(f, h, h->garbage, h->ngarbage);
        fputs(",\n  \"gc_garbage\": ", f);
        json_ids(f, h, h->gc_garbage, h->ngc_garbage);
        if (o && o->objects)
                write_objects(f, h);
        fputs("\n}\n", f);
        fflush(f);
        return ferror(f) ? -EIO : 0;
}
