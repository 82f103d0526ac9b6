/* snapshot-internal: what snapshot.c (stop, copy, resume) shares with
 * fork.c (stop, fork the target through ptrace, resume).  Private to
 * attach/ and its unit tests.
 *
 * A `struct ctx` is one stop of a target: every thread seized and
 * interrupted by snap_stop_all(), all of them detached again by
 * snap_detach_all() on every path.  Tracee slot i mirrors the signal-guard
 * slot i, so a crash of the tool still detaches them.
 */
#ifndef PYLEAK_SNAPSHOT_INTERNAL_H
#define PYLEAK_SNAPSHOT_INTERNAL_H

#include "clock.h"
#include "snapshot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem_region;
struct diag;

#define SNAP_MAX_THREADS  4096

enum { T_SEIZED, T_STOPPED, T_GONE, T_DETACHED };

struct tracee {
        pid_t tid;
        int state;
        int sig;             /* signal to re-inject at detach */
        int event;           /* status >> 16 of the stop: PTRACE_EVENT_STOP
                                for our interrupt, 0 for a signal stop */
};

struct ctx {
        pid_t pid;
        struct tracee *t;    /* SNAP_MAX_THREADS slots; i <-> guard slot i */
        size_t n;
        size_t nstopped;     /* threads held stopped */
        uint64_t t_first;    /* first PTRACE_INTERRUPT */
        uint64_t t_last_detach;
        /* Blocks until tid's next wait status or deadline: 0 (*st set),
         * -ETIMEDOUT, or -errno.  NULL: the stops are polled instead.  Only
         * a tracer whose blocking waitpid can be cut short (fork.c's
         * helper: SIGALRM without SA_RESTART) sets it. */
        int (*wait_stop)(pid_t tid, int *st, uint64_t deadline);
};

double snap_ms_between(uint64_t a, uint64_t b);
void snap_nap_us(long us);

/* Asks for huge pages on buf, the copy of r, when r is big and nearly all
 * present in the page map (pagemap_fd of the process copied): then filling
 * buf takes one fault per 2 MiB instead of per page, and commits at most a
 * tenth more than the pages the budget counted. */
void snap_advise_huge(int pagemap_fd, const struct mem_region *r, void *buf);
/* Bytes a copy would hold: resident+swapped of anonymous copyable
 * mappings (resident parallel to v, may be NULL), file-backed ones in full. */
uint64_t snap_copy_size(const struct mem_region *v, const uint64_t *resident,
                        size_t n);

/* budget.c: like snap_copy_size() for the map read during the stop,
 * reusing the resident sizes measured before it. */
uint64_t snap_copy_size_again(const struct mem_region *v, size_t n,
                              const struct mem_region *pre,
                              const uint64_t *resident, size_t npre);
/* budget.c: -ENOMEM (d says so) when total exceeds max_bytes or RAM. */
int snap_check_budget(pid_t pid, uint64_t total, uint64_t max_bytes, struct diag *d);

/* copy.c: copy mode.  pre/resident: the map read before the stop (smaps). */
int snap_copy_take(pid_t pid, const struct snapshot_opts *opts, uint64_t max_bytes,
                   const struct mem_region *pre, const uint64_t *resident,
                   size_t npre, struct memsrc **ret,
                   struct snapshot_stats *stats, struct diag *d);

/* stop.c: detaches the threads an earlier snapshot had to leave seized
 * (stuck past every deadline) that have stopped since. */
void snap_orphans_reap(void);
/* stop.c: -EBUSY naming the tracer of tid (a debugger, another tool). */
int snap_explain_traced(struct diag *d, pid_t pid, pid_t tid, pid_t tracer);

/* Refusals before touching the target: missing, zombie, itself, traced,
 * stopped. */
int snap_precheck(pid_t pid, struct diag *d);

/* Seizes and interrupts tid (1), or 0 if it vanished, or < 0. */
int snap_seize_one(struct ctx *c, pid_t tid, struct diag *d);
/* Waits for seized threads to stop until deadline (CLOCK_MONOTONIC ns),
 * through c->wait_stop when set; returns how many are still running. */
size_t snap_poll_stops(struct ctx *c, uint64_t deadline);
/* Stops every thread (re-listing until no new one appears). */
int snap_stop_all(struct ctx *c, int timeout_ms, struct diag *d);
/* Detaches every thread, re-injecting t[i].sig; sets t_last_detach. */
void snap_detach_all(struct ctx *c);

/* fork.c: the fork mode.  On failure *ret_fallback says whether copy mode
 * may be tried instead (the target was left exactly as it was), and
 * SNAP_FORK_UNSAFE that it was not tried at all because require_safe was
 * set and the fork helper could not be made safe from a kill of the tool's
 * process group, cgroup or the OOM killer (d says why).  Without
 * require_safe an unsafe helper goes on and stats->warning says so. */
enum { SNAP_FORK_NO_FALLBACK, SNAP_FORK_FALLBACK, SNAP_FORK_UNSAFE };
int snap_fork_take(pid_t pid, const struct snapshot_opts *opts, bool require_safe,
                   struct memsrc **ret, struct snapshot_stats *stats,
                   int *ret_fallback, struct diag *d);
/* Whether fork mode can be attempted on pid; fills why (a reason for the
 * fallback message) when it cannot. */
bool snap_fork_possible(pid_t pid, char *why, size_t size);

#endif
