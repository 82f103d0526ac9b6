/* obmalloc: pymalloc's arenas, read from the target for the accounting line.
 *
 * obmalloc_read() finds pymalloc's bookkeeping, reads every arena object
 * and the header of every pool carved from an allocated arena, and fills
 * the arena figures of a struct heap_memory:
 *   arenas_used  the arenas pymalloc holds: allocated arenas x ARENA_SIZE
 *                (_debugmallocstats' "N arenas * S bytes/arena")
 *   arenas_free  the part of them holding no block: the free pools
 *                (nfreepools x POOL_SIZE, "unused pools") plus the free
 *                blocks of the pools in use ("bytes in available blocks")
 * Where the bookkeeping lives: up to 3.11 obmalloc.c's static `arenas`,
 * `maxarenas` and `narenas_currently_allocated`, found by their .symtab
 * symbols (pyinterp's PYSYM_OBM_*); from 3.12 each interpreter's
 * `obmalloc` state (the struct itself in 3.12, a pointer from 3.13), found
 * through the layout.  Interpreters that share one state count it once.
 *
 * Nothing is allocated that outlives the call; the memsrc is only read.
 * Returns 0 with arenas_known set, or a negative errno with arenas_known
 * false and arenas_why saying what was missing or wrong and how to get it:
 * -ENOENT a symbol or a struct the layout lacks, -EFAULT unreadable target
 * memory, -EBADMSG bookkeeping that contradicts itself (live mode: the
 * target changed while read), -E2BIG more arenas than the cap.  Figures are
 * never partial: an error leaves arenas_used and arenas_free 0.
 */
#ifndef PYLEAK_HEAP_OBMALLOC_H
#define PYLEAK_HEAP_OBMALLOC_H

#include <stdint.h>

struct memsrc;
struct pyinterp;
struct heap_memory;

/* Arena objects read at most (maxarenas above it: -E2BIG): 16 Mi arenas are
 * 4 TiB of 256 KiB arenas, 16 TiB of 1 MiB ones. */
#define OBMALLOC_MAX_ARENAS (1u << 24)

/* interps[0..ninterp-1]: the interpreters' addresses (3.12+ states hang
 * off them; unused before). */
int obmalloc_read(struct memsrc *m, const struct pyinterp *pi, const uint64_t *interps,
                  int ninterp, struct heap_memory *ret);

#endif
