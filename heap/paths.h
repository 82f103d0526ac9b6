/* paths: concrete chains of labelled edges through the graph, computed on
 * demand (never stored): a shortest cycle through a chosen member of a
 * strongly connected component, for the text report and the cycle view.
 *
 * Results are arrays owned by a `struct heap_path` the caller releases with
 * heap_path_release().  Functions return 0, -ENOENT when no such path exists,
 * -ENOMEM.
 */
#ifndef PYLEAK_PATHS_H
#define PYLEAK_PATHS_H

#include <stdint.h>

#include "heap.h"

struct heap_path {
        uint32_t n;          /* number of steps (edges) */
        uint32_t *objs;      /* n + 1 objects: objs[0] -> objs[1] -> ... */
        uint32_t *labels;    /* n edge labels: labels[i] on objs[i]->objs[i+1] */
};

/* Shortest cycle through `start` that stays inside cycle number `cycle`
 * (an index into h->cycles).  For a self-referencing object the path has one
 * step.  objs[n] == objs[0] == start. */
int heap_shortest_cycle(const struct heap *h, uint32_t cycle, uint32_t start,
                        struct heap_path *ret);

void heap_path_release(struct heap_path *p);

#endif
