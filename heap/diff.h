/* diff: what changed between two snapshots of the same process, for leak
 * hunting ("run, snapshot, run more, snapshot, what grew?").
 *
 * heap_diff() compares two analysed heaps: per type (matched by fullname;
 * a redefined class with the same name counts as the same type), per cycle
 * shape (heap_cycles_signature, for h->cycles and for h->cycles_local), and
 * the objects of the newer heap that the older one did not have: same
 * address and same type (type object address and name) means the same
 * object, an address reused by another type is new.  Entries that did not
 * change are left out; the rest are sorted by delta bytes, biggest growth
 * first, then delta count, then name.
 *
 * The result owns its strings and arrays (it outlives both heaps) and is
 * freed with heap_diff_free().  -EINVAL when a heap is not analysed,
 * -ENOMEM.
 */
#ifndef PYLEAK_DIFF_H
#define PYLEAK_DIFF_H

#include <stdint.h>

#include "heap.h"

struct heap_diff_type {
        char *name;               /* type fullname, "builtins.dict" */
        uint64_t old_count, new_count;
        uint64_t old_bytes, new_bytes;
        int64_t dcount, dbytes;   /* new - old */
};

struct heap_diff_shape {
        char *signature;          /* "__main__.Node+dict" */
        uint64_t old_cycles, new_cycles;
        uint64_t old_bytes, new_bytes;
        int64_t dcycles, dbytes;  /* new - old */
};

struct heap_diff {
        uint32_t ntypes;
        struct heap_diff_type *types;
        uint32_t nshapes;                 /* over h->cycles */
        struct heap_diff_shape *shapes;
        uint32_t nshapes_local;           /* over h->cycles_local */
        struct heap_diff_shape *shapes_local;
        uint32_t nnew;
        uint32_t *new_objs;               /* indices into the newer heap,
                                             ascending */
        uint64_t new_bytes;               /* sum of their sizes */
};

int heap_diff(const struct heap *old, const struct heap *cur, struct heap_diff **ret);

void heap_diff_free(struct heap_diff *d);

/* Only heap_diff's new objects, as flags: is_new[v] (cur->nobjs bytes) is
 * 1 for each object of cur that old did not have, else 0; their number
 * goes to *ret_n (may be NULL).  For callers that need neither the types
 * nor the cycle shapes (heap_growth_compute): grouping every cycle of
 * both heaps by its member types costs a fifth of the analysis at 1M
 * objects.  The heaps need not be analysed.  -EINVAL. */
int heap_diff_new_flags(const struct heap *old, const struct heap *cur, uint8_t *is_new,
                        uint32_t *ret_n);

#endif
