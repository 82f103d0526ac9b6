/* snapshot: stop every thread of a live target, copy the memory that can
 * hold Python objects, resume, and hand back a memsrc over the copy.
 *
 * The target is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT on every thread
 * (re-listing /proc/PID/task until no new thread appears) and always resumed
 * (PTRACE_DETACH) before snapshot_take() returns, on every path: errors,
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT and crashes of the tool (the signal handlers
 * installed by snapshot_install_signal_guard() detach, then re-raise).  Never
 * writes target memory, never runs code in it.
 *
 * What is copied: every private readable+writable mapping (anonymous, [heap],
 * file-backed .data/.bss), except [stack]/[vvar]/[vsyscall] and device
 * mappings.  Read-only mappings are not copied: the returned memsrc reads them
 * from the live process on demand (they cannot change), or from the mapped
 * file if the process has gone.
 *
 * Errors (with a diag that says cause and fix):
 *   -ESRCH   no such process, zombie, or the target exited mid-snapshot
 *   -EPERM   ptrace denied (CAP_SYS_PTRACE, kernel.yama.ptrace_scope,
 *            container flags)
 *   -EBUSY   target already stopped (SIGSTOP) or traced by another tracer
 *   -ENOMEM  copy does not fit in memory / over max_bytes
 */
#ifndef PYLEAK_SNAPSHOT_H
#define PYLEAK_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct memsrc;
struct diag;

struct snapshot_opts {
        uint64_t max_bytes;        /* 0 = no limit; refuse before stopping if
                                      the writable mappings exceed this */
        int stop_timeout_ms;       /* how long to wait for every thread to stop
                                      before giving up (0 = default 2000) */
};

struct snapshot_stats {
        double pause_ms;           /* first PTRACE_INTERRUPT to last detach,
                                      CLOCK_MONOTONIC */
        double stop_ms;            /* first interrupt until all threads stopped */
        double copy_ms;            /* time spent copying while stopped */
        int threads;               /* threads stopped */
        uint64_t bytes_copied;
        uint64_t regions_copied;
        uint64_t pages_unreadable; /* pages of copied mappings that could not
                                      be read and were zero-filled */
};

/* Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT that detach any thread currently stopped by us and
 * then re-raise the signal with its default action.  Idempotent.  Call once
 * early in main(). */
void snapshot_install_signal_guard(void);

/* Takes the snapshot described above.  On success *ret is a memsrc that
 * holds the copy (memsrc_pid() returns pid) and *stats is filled. */
int snapshot_take(pid_t pid, const struct snapshot_opts *opts,
                  struct memsrc **ret, struct snapshot_stats *stats,
                  struct diag *d);

#endif
