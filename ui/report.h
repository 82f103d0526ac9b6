/* report: the non-interactive writers (JSON for programs, text for people,
 * Graphviz for pictures of cycles).
 *
 * Both read only the analysed heap model.  They return 0, or -EIO when the
 * stream failed (disk full, closed pipe); they never print diagnostics.
 * The JSON schema is documented in README.md ("JSON report"); keep the two
 * in step.
 */
#ifndef PYLEAK_REPORT_H
#define PYLEAK_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct heap;

struct report_opts {
        bool objects;        /* JSON: include every tracked object */
        unsigned top;        /* text: how many cycles/types/objects to list */
        bool all_cycles;     /* the strict grouping (every strongly connected
                                component, interpreter structure included)
                                instead of the local one */
        const struct heap *baseline;  /* --baseline: an older snapshot of the
                                same service; growth by owner (growth.h) */
        const char *baseline_name;    /* its file, for the reports */
};

/* Graphviz: chosen cycles, one cluster each, edges labelled.  Cycles are
 * 1-based ranks in h->cycles (or h->cycles_local when local); none chosen
 * means the first `top` (default 10).  A cycle of more than max_members
 * (default 50) objects is drawn as its shortest cycle through its first
 * member. */
struct dot_opts {
        const uint32_t *cycles;
        uint32_t ncycles;
        unsigned top;
        bool local;
        unsigned max_members;
};

int report_dot(const struct heap *h, FILE *f, const struct dot_opts *o);

/* Chrome DevTools heap snapshot (report-heapsnapshot.c; README "DevTools
 * heap snapshot").  Needs the analysis (roots). */
int report_heapsnapshot(const struct heap *h, FILE *f);

/* s as a JSON string literal, valid UTF-8 whatever s holds (the JSON
 * writers' escaping). */
void report_json_string(FILE *f, const char *s);
int report_json(const struct heap *h, FILE *f, const struct report_opts *o);
int report_text(const struct heap *h, FILE *f, const struct report_opts *o);

/* Type indices ordered by bytes, biggest first (then by count, then by
 * name, so every writer lists them the same way); caller frees; NULL when
 * out of memory. */
uint32_t *report_types_by_bytes(const struct heap *h);

/* The cycles a writer lists: the local grouping, or the strict one. */
const struct heap_cycles *report_cycle_set(const struct heap *h, bool all_cycles);

/* Whether cycle c of set is the interpreter's structure (classes, modules,
 * functions and their namespaces make most of its members): listed only in
 * the strict view, otherwise folded into one line. */
bool report_cycle_is_structure(const struct heap *h, const struct heap_cycles *set, uint32_t c);

/* "module.qualname" of object i's type, for writers. */
const char *report_type_name(const struct heap *h, uint32_t obj);

#endif
