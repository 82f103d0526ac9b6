/* fakemem: a memsrc backend over hand-placed byte blobs, for unit tests.
 *
 * fakemem_new() returns an empty address space; fakemem_add() maps a zeroed
 * blob of len bytes at addr and returns a pointer the test fills.  Reads are
 * all-or-nothing inside one blob (-EFAULT otherwise), like a snapshot.
 * Fault injection: fakemem_fail_every(n) makes every n-th read fail (and
 * disables the zero-copy path so every access is a counted read);
 * fakemem_no_ptr() only disables the zero-copy path.
 * fakemem_volatile_spans() also hands out spans the way a live source's
 * cache does: good until the next forget (memsrc_ptr still answers, for
 * the tests' own pokes and for what no span serves).
 * fakemem_stable_spans() hands out spans the way a snapshot does: the
 * blob's own bytes, for as long as the source lives.
 * fakemem_on_forget()
 * runs fn(arg) on every memsrc_forget(): code reading a running target drops
 * what it cached where it lets the target run on, so this is where a test
 * changes the target "meanwhile" (NULL fn: no hook).  memsrc_free() frees
 * everything, blobs included.
 */
#ifndef PYLEAK_FAKEMEM_H
#define PYLEAK_FAKEMEM_H

#include <stddef.h>
#include <stdint.h>

struct memsrc;

struct memsrc *fakemem_new(void);
void *fakemem_add(struct memsrc *m, uint64_t addr, size_t len);
void fakemem_fail_every(struct memsrc *m, uint64_t n);
void fakemem_no_ptr(struct memsrc *m, int on);
void fakemem_volatile_spans(struct memsrc *m, int on);
void fakemem_stable_spans(struct memsrc *m, int on);
void fakemem_on_forget(struct memsrc *m, void (*fn)(void *arg), void *arg);
uint64_t fakemem_reads(const struct memsrc *m);

#endif
