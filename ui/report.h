/* report: the non-interactive writers (JSON for programs, text for people).
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
};

int report_json(const struct heap *h, FILE *f, const struct report_opts *o);
int report_text(const struct heap *h, FILE *f, const struct report_opts *o);

/* "module.qualname" of object i's type, for writers. */
const char *report_type_name(const struct heap *h, uint32_t obj);

#endif
