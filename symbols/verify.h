/* verify: checks of a layout against the target's memory, private to
 * symbols/ (pyinterp_validate is the public entry). */
#ifndef PYLEAK_VERIFY_H
#define PYLEAK_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyinterp.h"

struct memsrc;
struct diag;

/* Runs every check of LAYOUT_CHECKS on l (with pi's symbols and runtime)
 * and sets *passed (may be NULL) to the bits (1 << LC_ID) of those that ran
 * and held; a check that could not apply (a symbol this build does not
 * export) is not set.  Stops at the first failure: -EBADMSG with a diag
 * naming the check, or -ESRCH when the runtime lists no interpreter. */
int verify_layout(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                  uint32_t *passed, struct diag *d);

/* A struct whose size is its type's tp_basicsize. */
struct basicsize_pair {
        enum layout_struct_id sid;
        enum pysym_id sym;
        bool ptr;                    /* sym is a PyExc_* pointer variable */
};

const struct basicsize_pair *verify_basicsize_pairs(size_t *n);

/* tp_basicsize of p's type, read with l's TYPE_BASICSIZE; -ENOENT when the
 * build does not export the type or l lacks the field, -EFAULT unreadable. */
int verify_type_basicsize(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                          const struct basicsize_pair *p, uint64_t *ret);

/* The GC state of the interpreter at interp (3.9+) or of the runtime
 * (3.8); 0 when l places neither. */
uint64_t verify_gc_state_addr(const struct pyinterp *pi, const struct layout *l, uint64_t interp);

/* Whether both neighbours of the list head at `head` point back at it
 * (tag bits masked; retried against a running target's appends). */
bool verify_links_hold(struct memsrc *m, const struct layout *l, uint64_t head);

#endif
