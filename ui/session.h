/* session: what the browser browses.  main.c builds one per run and owns it;
 * the browser only reads it and calls back through it, so it never sees a
 * memory source, a layout or a dump reader (style.md: ui/ sees the model).
 *
 *   heap       the current snapshot, analysed; never NULL
 *   diff       what grew since the previous snapshot (growth columns), or
 *              NULL before the first re-snapshot; it owns its names, so the
 *              previous heap itself is not kept
 *   live       the target can be snapshotted again (resnapshot != NULL)
 *
 * resnapshot() replaces heap (freeing the old one) and recomputes diff;
 * write_dump() writes heap to PATH.  Both return 0 or a negative errno with a one-line explanation in msg; on failure the
 * session is unchanged.  `generation` grows by one on every successful
 * re-snapshot: anything the browser derived from the old heap is stale.
 *
 * A pool (pool.c): nworkers > 0, and the Workers screen lists the workers
 * compared (pool_head: the lines above them; worker_rows: one line each;
 * worker_browsable: whether its snapshot can be opened).  select_worker()
 * makes worker i's snapshot the heap (diff NULL), like a re-snapshot:
 * generation grows.
 */
#ifndef PYLEAK_SESSION_H
#define PYLEAK_SESSION_H

#include <stdbool.h>
#include <stddef.h>

struct heap;
struct heap_diff;

struct session {
        struct heap *heap;
        struct heap_diff *diff;
        const char *diff_against;  /* what diff compares with: NULL for the
                                      previous snapshot, else a name ("the
                                      baseline OLD.db", --baseline) */
        unsigned generation;
        bool live;
        int (*resnapshot)(struct session *s, char *msg, size_t len);
        int (*write_dump)(struct session *s, const char *path, bool force,
                          char *msg, size_t len);
        void *ctx;               /* main.c's: options, reader, interpreter */

        unsigned nworkers, worker;
        const char *const *pool_head;    /* NULL-terminated */
        const char *const *worker_rows;
        const bool *worker_browsable;
        int (*select_worker)(struct session *s, unsigned i, char *msg, size_t len);
};

#endif
