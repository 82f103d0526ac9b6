/* paths: concrete chains of labelled edges through the graph, computed on
 * demand (never stored): a shortest cycle through a chosen member of a
 * strongly connected component, for the text report and the cycle view, and
 * the shortest chain from a root to an object ("why is this alive").
 *
 * Results are arrays owned by a `struct heap_path` the caller releases with
 * heap_path_release().  Functions return 0, -ENOENT when no such path exists,
 * -ENOMEM.
 */
#ifndef PYLEAK_PATHS_H
#define PYLEAK_PATHS_H

#include <stdbool.h>
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

/* The same inside cycle `cycle` of any cycle set of h (h->cycles or
 * h->cycles_local). */
int heap_cycles_shortest(const struct heap *h, const struct heap_cycles *set,
                         uint32_t cycle, uint32_t start, struct heap_path *ret);

/* Shortest chain of references from any root (an entry of h->roots) to obj,
 * by breadth-first search over referrers from obj: objs[0] is the root's
 * object, objs[n] == obj (n == 0 when obj is itself a root).  Among roots at
 * the same distance the earliest entry of h->roots wins, so explicit roots
 * (modules, frames, the interpreter) are preferred over computed ones; its
 * index goes to *ret_root (may be NULL).  Needs the referrer index
 * (heap_preds_build or heap_analyse; -EINVAL without it) and the roots
 * (heap_roots_compute).  -ENOENT when no root reaches obj (garbage).  Costs
 * up to one pass over the graph and 4.25 bytes per object of scratch. */
int heap_path_from_root(const struct heap *h, uint32_t obj, struct heap_path *ret,
                        uint32_t *ret_root);

/* The same with the roots ranked by kind (rank[kind], 0 best;
 * HEAP_ROOT_RANK_NONE: not a root for this search): the nearest root of
 * the best rank that reaches obj, however far, so that an owner a module
 * and a frame both reach is named by the module ("__main__._page_cache"),
 * and one that C code also holds by the way Python reaches it
 * ("gc.garbage", not "held from outside").  One search over obj's
 * ancestors, which stops early once a root of rank 0 is met. */
#define HEAP_ROOT_RANK_NONE 0xff
int heap_path_from_root_ranked(const struct heap *h, uint32_t obj, const uint8_t *rank,
                               struct heap_path *ret, uint32_t *ret_root);

/* The same search for many objects of one heap: the per-object scratch
 * (the best root of each object, 4 bytes each, and the search's arrays)
 * is made once, and each search then costs only the ancestors it visits,
 * where heap_path_from_root_ranked() fills 4 bytes per object of the heap
 * every time. */
struct heap_path_search;
int heap_path_search_new(const struct heap *h, const uint8_t *rank,
                         struct heap_path_search **ret);
int heap_path_search_run(struct heap_path_search *s, uint32_t obj, struct heap_path *ret,
                         uint32_t *ret_root);
void heap_path_search_free(struct heap_path_search *s);

void heap_path_release(struct heap_path *p);

#endif
