/* analysis: what the graph means.  heap_analyse() (declared in heap.h) runs,
 * once per heap and without recursion:
 *
 *   1. strongly connected components over all objects and edges; those with
 *      more than one member, or a single member with an edge to itself, become
 *      h->cycles (members ascending within a cycle; cycles sorted by bytes
 *      descending, then more members first, then lowest first member), and
 *      their members get HOBJ_IN_CYCLE;
 *   2. the same over a thinned graph, into h->cycles_local: edges into type
 *      objects (HOBJ_IS_TYPE), into modules ("builtins.module") and edges
 *      labelled "__globals__", "__builtins__", "f_globals" or "f_builtins"
 *      are ignored, so that instances -> class -> methods -> module globals
 *      does not make one giant component and each instance's own cycle shows
 *      (members get no flag);
 *   3. what the next gc.collect() would free, by CPython's own rule over
 *      generations 0-2: gc_refs = refcnt - references from inside that set;
 *      gc_refs > 0 or immortal means reachable, as is everything reachable
 *      from those through the set; the rest gets HOBJ_GARBAGE and is listed
 *      in h->garbage (ascending).  Objects whose refcnt is below their
 *      internal references are counted in h->meta.inconsistencies.  Both
 *      cycle sets get their garbage flags (all members garbage);
 *   4. heap_preds_build(), heap_roots_compute(), heap_dominators() below.
 *
 * Everything computed is owned by the analyses, stored in the heap for its
 * readers, and released by heap_analysis_release() or, the heap's model
 * gone with it, by heap_free() (through h->analysis_free, so the model links
 * no analysis; heap.h).  The query functions
 * only read an analysed heap; they return -EINVAL when it is not analysed or
 * an index is out of range.
 */
#ifndef PYLEAK_ANALYSIS_H
#define PYLEAK_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

static inline uint32_t heap_cycle_size(const struct heap *h, uint32_t cycle)
{
        return h->cycles.start[cycle + 1] - h->cycles.start[cycle];
}

static inline bool heap_root_is_computed(const struct heap_root *r)
{
        return r->kind == HEAP_ROOT_EXTERNAL || r->kind == HEAP_ROOT_IMMORTAL ||
               r->kind == HEAP_ROOT_PERMANENT;
}

/* Frees every analysis result (cycles, cycles_local, garbage, idom,
 * retained, the referrer index), drops the computed roots from h->roots,
 * zeroes type retained sizes and clears HOBJ_GARBAGE / HOBJ_IN_CYCLE;
 * h->analysed becomes false.  Safe to call twice and on NULL. */
void heap_analysis_release(struct heap *h);

/* The referrer index h->pred_start / h->pred_src: for every object, the
 * objects with an edge to it (one entry per edge, ascending).  Costs
 * 8 bytes per object + 4 per edge and is kept for the life of the heap:
 * dominators, paths from roots and the browser's "referrers" all use it.
 * No-op when already built.  -ENOMEM. */
int heap_preds_build(struct heap *h);

/* Computed roots, appended to h->roots after the explicit ones (kinds
 * MODULE/THREAD/INTERP, recorded by the walker), in object index order, at
 * most one per object and none for an object that already is an explicit
 * root:
 *   HEAP_ROOT_IMMORTAL   HOBJ_IMMORTAL objects;
 *   HEAP_ROOT_PERMANENT  objects in the permanent generation (gc.freeze());
 *   HEAP_ROOT_EXTERNAL   refcnt > number of edges into the object: the rest
 *                        is held by something the graph cannot see (C code,
 *                        the C stack, frames, opaque objects' referents).
 * Computed roots carry label HEAP_ROOT_NO_LABEL and frame UINT32_MAX.
 * Idempotent: earlier computed roots are dropped first.  Uses the referrer
 * index when built.  -ENOMEM, -EINVAL. */
int heap_roots_compute(struct heap *h);

/* Immediate dominators from a virtual root whose children are the objects
 * of h->roots (in roots order), then, so that garbage gets an answer too,
 * the objects no root reaches: first those no other unreached object refers
 * to (the heads of garbage chains), then the rest in index order.  Fills
 * h->idom (object index, UINT32_MAX = the virtual root), h->retained (own
 * size + everything dominated), h->types[t].retained (sum of retained of
 * the instances not dominated by another instance of the same type),
 * h->cycles.retained and h->cycles_local.retained (sum of retained of the
 * members whose immediate dominator is outside the cycle).  Semi-NCA on an
 * iterative DFS; needs the roots and the referrer index (builds it if
 * absent).  Scratch at the peak: ~32 bytes per object + 4 per edge.
 * -ENOMEM, -EINVAL. */
int heap_dominators(struct heap *h);

/* heap_dominators() in its two parts, for heap_analyse(), which runs the
 * first beside the cycle search: the tree (h->idom, h->retained, the
 * types' retained), then the cycles' retained once the cycles exist
 * (-EINVAL before the tree). */
int heap_dominators_tree(struct heap *h);
int heap_dominators_cycles(struct heap *h);

static inline uint64_t heap_cycle_retained(const struct heap *h, uint32_t cycle)
{
        return h->cycles.retained ? h->cycles.retained[cycle] : 0;
}

static inline uint64_t heap_type_retained(const struct heap *h, uint32_t type)
{
        return h->types[type].retained;
}

/* The sorted distinct type names of a cycle's members joined with "+", e.g.
 * "__main__.Node+dict".  Builtins are named by qualname, other types by
 * module.qualname (as repr(type) does).  Truncates like snprintf and returns
 * the length the whole signature needs, excluding the NUL. */
int heap_cycle_signature(const struct heap *h, uint32_t cycle, char *buf, size_t len);
/* The same for a cycle of any set (h->cycles or h->cycles_local). */
int heap_cycles_signature(const struct heap *h, const struct heap_cycles *c, uint32_t cycle,
                          char *buf, size_t len);

/* The cycle an object belongs to; -ENOENT if none.  Linear in the number of
 * cycle members: meant for one lookup per user action, not for loops. */
int heap_object_cycle(const struct heap *h, uint32_t obj, uint32_t *ret_cycle);
/* The same in any cycle set. */
int heap_cycles_find(const struct heap *h, const struct heap_cycles *c, uint32_t obj,
                     uint32_t *ret_cycle);

/* Sum of the sizes of the objects in h->garbage. */
uint64_t heap_garbage_bytes(const struct heap *h);

#endif
