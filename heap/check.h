/* check: the walker's cheap consistency checks and the problems they name
 * (private to heap/).
 *
 * Each check tests an invariant the interpreter itself keeps (the ones
 * CPython's debug builds assert in _PyDict_CheckConsistency,
 * _PyUnicode_CheckConsistency and the GC list code) on bytes the walker
 * has already read, so a heap of millions pays a compare per object.  A
 * failure is recorded as a struct heap_problem (heap.h) naming the object,
 * its type and the check, and counted in meta.inconsistencies.  Reading a
 * running process (walker.live), a failure is believed only once the bytes
 * were read afresh: the target may have been changing them.
 */
#ifndef PYLEAK_CHECK_H
#define PYLEAK_CHECK_H

#include <stdint.h>

#include "decode.h"

/* Records a problem (the first HEAP_PROBLEMS_MAX are kept) and counts it. */
void check_report(struct walker *w, const struct heap_problem *p);

/* The object of a list node whose header failed obj_header(). */
void check_header(struct walker *w, uint64_t node, uint64_t obj, enum heap_gen gen);

/* A decoded object whose references led to bad memory (cur_partial). */
void check_referent(struct walker *w, uint32_t idx);

/* pyo_str_sizeof() plus the str checks (pyo_str_sizeof_check); t is the
 * object's type.  Returns what pyo_str_sizeof would. */
int check_str_sizeof(struct walker *w, uint64_t obj, const struct tinfo *t, uint64_t *ret);

/* ma_used of a dict (in its struct view v) against the usable size of its
 * keys k: USABLE_FRACTION(size), the bound CPython checks. */
void check_dict_used(struct walker *w, uint64_t obj, const struct tinfo *t, const void *v,
                     const struct pyo_keys *k);

#endif
