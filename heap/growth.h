/* growth: the owners that grew between two snapshots of one service taken
 * hours apart ("pyleak-attach PID --baseline OLD.db", --watch).
 *
 * Addresses are reused by then, so an owner is matched by the way it is
 * reached: the newer heap's suspects (suspects.h) name each owner by its
 * shortest path from a root; the same root (kind and label: the module
 * name, the thread's local) and the same edge labels are followed in the
 * older heap.  An index label ("[3]") matches the same index.  An owner
 * the older heap does not reach that way is new there (its old size 0).
 * Owners reached only from roots with no name (held by C code) have no
 * path to follow and are left out.
 *
 * Sizes are the suspects' (heap_suspects_holders): the owner and the
 * dominator subtrees of the items credited to it, in both heaps, so the
 * two sides are measured alike and a thread its own frame also holds
 * counts under threading._active.  The objects among them that the older
 * heap did not have (heap_diff: same address and same type is the same
 * object) are counted as new, by type.
 *
 * The result owns its data (heap_growth_release).  0, -EINVAL (a heap not
 * analysed), -ENOMEM.
 */
#ifndef PYLEAK_GROWTH_H
#define PYLEAK_GROWTH_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"
#include "suspects.h"

struct heap_owner_growth {
        struct heap_owner_name name;  /* as the newer heap names it */
        uint32_t owner;               /* object index in the newer heap */
        uint32_t old_owner;           /* in the older heap; UINT32_MAX: none */
        uint64_t old_retained, new_retained;
        uint64_t old_objects, new_objects;   /* under the owner (credited) */
        int64_t dretained, dobjects;
        uint64_t new_objs;            /* objects under it the older heap lacks */
        char new_types[256];          /* "200 × dict, 200 × str" (the most) */
        char accumulates[256];        /* the newer heap's suspect text */
};

struct heap_growth {
        uint32_t n;
        struct heap_owner_growth *v;  /* most grown first (retained bytes) */
};

/* At most max owners (0: 10) that grew, most first. */
int heap_growth_compute(const struct heap *old, const struct heap *cur, uint32_t max,
                        struct heap_growth *ret);
/* The same from cur's suspects as the caller computed them (any max, the
 * state kept): a report that lists the suspects anyway makes no second
 * pass over the objects for them. */
int heap_growth_compute_with(const struct heap *old, const struct heap *cur,
                             const struct heap_suspects *s, uint32_t max,
                             struct heap_growth *ret);
void heap_growth_release(struct heap_growth *g);

/* The object the older heap reaches by the path that names cur's obj
 * (same root, same labels); UINT32_MAX when it does not. */
uint32_t heap_growth_match(const struct heap *old, const struct heap *cur, uint32_t obj);

#endif
