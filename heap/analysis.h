/* analysis: what the graph means.  heap_analyse() (declared in heap.h) runs,
 * once per heap and without recursion:
 *
 *   1. strongly connected components over all objects and edges; those with
 *      more than one member, or a single member with an edge to itself, become
 *      h->cycles (members ascending within a cycle; cycles sorted by bytes
 *      descending, then more members first, then lowest first member), and
 *      their members get HOBJ_IN_CYCLE;
 *   2. what the next gc.collect() would free, by CPython's own rule over
 *      generations 0-2: gc_refs = refcnt - references from inside that set;
 *      gc_refs > 0 or immortal means reachable, as is everything reachable
 *      from those through the set; the rest gets HOBJ_GARBAGE and is listed
 *      in h->garbage (ascending).  Objects whose refcnt is below their
 *      internal references are counted in h->meta.inconsistencies.
 *
 * Everything computed is owned by the heap and freed by heap_free().  The
 * functions below only read an analysed heap; they return -EINVAL when it is
 * not analysed or an index is out of range.
 */
#ifndef PYLEAK_ANALYSIS_H
#define PYLEAK_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

static inline uint32_t heap_cycle_size(const struct heap *h, uint32_t cycle)
{
        return h->cycles.start[cycle + 1] - h->cycles.start[cycle];
}

/* The sorted distinct type names of a cycle's members joined with "+", e.g.
 * "__main__.Node+dict".  Builtins are named by qualname, other types by
 * module.qualname (as repr(type) does).  Truncates like snprintf and returns
 * the length the whole signature needs, excluding the NUL. */
int heap_cycle_signature(const struct heap *h, uint32_t cycle, char *buf, size_t len);

/* The cycle an object belongs to; -ENOENT if none.  Linear in the number of
 * cycle members: meant for one lookup per user action, not for loops. */
int heap_object_cycle(const struct heap *h, uint32_t obj, uint32_t *ret_cycle);

/* Sum of the sizes of the objects in h->garbage. */
uint64_t heap_garbage_bytes(const struct heap *h);

/* Later analyses (not implemented yet):
 *
 * int heap_dominators(struct heap *h);
 *     Immediate dominators from a virtual root (objects with unexplained
 *     refcounts, as in the garbage rule, plus permanent/immortal ones),
 *     iterative Lengauer-Tarjan or Cooper-Harvey-Kennedy; fills idom[] and
 *     retained[] (bytes freed if the object went away).
 *
 * int heap_path_from_roots(const struct heap *h, uint32_t obj,
 *                          uint32_t **ret_path, uint32_t *ret_len);
 *     Shortest chain of references (BFS, reverse edges) from any root to
 *     obj: the "why is this alive" answer.
 */

#endif
