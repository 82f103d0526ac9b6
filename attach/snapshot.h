/* snapshot: stop every thread of a live target, copy the memory that can
 * hold Python objects, resume, and hand back a memsrc over the copy.
 *
 * The target is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT on every thread
 * (re-listing /proc/PID/task until no new thread appears) and always resumed
 * (PTRACE_DETACH) before snapshot_take() returns, on every path: errors,
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT and crashes of the tool (the signal handlers
 * installed by snapshot_install_signal_guard() detach, then re-raise).  Never
 * writes target memory; copy mode never runs code in it.
 *
 * What is copied: every private readable+writable mapping (anonymous, [heap],
 * file-backed .data/.bss), except [stack]/[vvar]/[vsyscall] and device
 * mappings.  Read-only mappings are not copied: the returned memsrc reads them
 * from the live process on demand (they cannot change), or from the mapped
 * file if the process has gone.
 *
 * Copy mode allocates the copy and faults its pages in before stopping (for
 * the pages that exist at that moment), and copies on up to one thread per
 * core (at most 4); only the calling thread ever uses ptrace.
 *
 * Errors (with a diag that says cause and fix):
 *   -ESRCH   no such process, zombie, or the target exited mid-snapshot
 *   -EPERM   ptrace denied (CAP_SYS_PTRACE, kernel.yama.ptrace_scope,
 *            container flags)
 *   -EBUSY   target already stopped (SIGSTOP) or traced by another tracer
 *   -ENOMEM  copy does not fit in memory / over the budget
 *
 * Fork mode also runs exactly two system calls in the target, each on one
 * stopped thread whose registers are saved and restored around it: the
 * clone that creates the child, and later the wait4 that reaps it.  See
 * attach/fork.c for why the target cannot observe either.
 */
#ifndef PYLEAK_SNAPSHOT_H
#define PYLEAK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memsrc;
struct diag;

/* How the target's memory is captured (--snapshot=MODE).
 *   COPY  stop every thread, copy the private writable memory, resume.
 *         Pause ~0.2 s per GB copied on two idle cores (two copying
 *         threads; ~0.3 s/GB on one): the copy's buffers are allocated and
 *         faulted in before the stop, so the pause is the copy alone.
 *   FORK  stop every thread, make the target fork itself (one clone system
 *         call run through ptrace on one stopped thread, at a `syscall`
 *         instruction already in its text; nothing is written to its
 *         memory), resume it at once and read the frozen child.  Pause
 *         ~33 ms per GB (page tables).  Copy-on-write makes the target's
 *         memory grow while the child lives: end it early (snapshot_end).
 *   LIVE  no stop at all: read the running process (torn reads possible;
 *         the walker validates and retries).
 *   AUTO  FORK when the memory to copy exceeds opts.auto_threshold, the
 *         target can fork and the fork helper is kill-safe here (see
 *         attach/fork.c), else COPY.
 * The zero value is COPY so that zeroed opts keep the historical
 * behaviour; the command line's default is AUTO. */
enum snapshot_mode {
        SNAPSHOT_COPY,
        SNAPSHOT_FORK,
        SNAPSHOT_LIVE,
        SNAPSHOT_AUTO,
};

/* AUTO forks above this many resident+swapped bytes of copyable memory:
 * below it a copy pauses the target ~13 ms at most (0.2 s/GB), about what
 * the fork's own fixed costs (helper, injection, page tables) add up to,
 * and a copy leaves nothing behind in the target. */
#define SNAPSHOT_AUTO_THRESHOLD (64ull << 20)

/* LIVE reads through a cache of the target's blocks (memsrc_live_cache) of
 * at most this much, and at most the memory budget.  The walk reads the
 * objects in list order and their referents next to them, so a few hundred
 * blocks hold what it is using: at 256 MiB the cache kept a copy of a
 * million-object target's whole heap, a sixth of the tool's peak, for no
 * measurable speed (tests/bench/scale: the same CPU time at 1M and 10M
 * objects with 32 MiB). */
#define SNAPSHOT_LIVE_CACHE_MAX (32ull << 20)

/* Testing only (snapshot_opts.debug): make the injected clone fail in the
 * kernel (flags it refuses with EINVAL), to exercise the fallback. */
#define SNAPSHOT_DEBUG_FORK_EINVAL 0x1u
/* Testing and measuring only: copy on the calling thread alone, and copy
 * through /proc/PID/mem instead of process_vm_readv (the fallback path). */
#define SNAPSHOT_DEBUG_ONE_COPIER  0x2u
#define SNAPSHOT_DEBUG_COPY_PREAD  0x4u
/* Testing only: the fork helper stays in the tool's process group and
 * cgroups, as it did before it was made kill-safe (the kill-safety tests'
 * control run); it then counts as not kill-safe. */
#define SNAPSHOT_DEBUG_FORK_NO_ESCAPE 0x8u

/* What a copy-mode snapshot's progress counts: its buffers faulted in
 * before the stop (the long part on a big target), then the copy itself
 * while the target is stopped. */
enum snapshot_stage {
        SNAPSHOT_STAGE_PREPARE,
        SNAPSHOT_STAGE_COPY,
};

/* done of total bytes, total being what the budget measured (resident and
 * swapped pages); done can pass it when the target grew meanwhile.  Called
 * from the copying threads while the target is stopped, so it must only
 * store (atomics): no lock, no output, nothing that can block, for the
 * pause waits on it. */
typedef void (*snapshot_progress_fn)(void *ctx, enum snapshot_stage stage, uint64_t done,
                                     uint64_t total);

struct snapshot_opts {
        uint64_t max_bytes;        /* memory budget for the copy: 0 = half of
                                      min(MemAvailable, headroom of this
                                      tool's cgroup memory limit); a copy over
                                      it is refused before stopping (AUTO
                                      then forks instead) */
        int stop_timeout_ms;       /* how long to wait for every thread to stop
                                      before giving up (0 = default 2000) */
        enum snapshot_mode mode;   /* 0 = COPY, see above */
        uint64_t auto_threshold;   /* 0 = SNAPSHOT_AUTO_THRESHOLD */
        unsigned debug;            /* SNAPSHOT_DEBUG_*, tests only */
        snapshot_progress_fn progress;   /* copy mode; NULL = none */
        void *progress_ctx;
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
        double copy_gbps;          /* bytes_copied / copy_ms, in 1e9 bytes/s
                                      (0 when nothing was copied) */
        int copy_threads;          /* threads that copied in parallel */
        double prep_ms;            /* copy buffers allocated and pre-faulted
                                      before the stop (not in the pause);
                                      fork: the helper leaving the tool's
                                      session and cgroups, before the stop */
        /* mode */
        enum snapshot_mode mode_requested;
        enum snapshot_mode mode_used;   /* COPY, FORK or LIVE */
        char fallback[512];        /* why the requested (or AUTO's first)
                                      choice was not used; "" if it was */
        char warning[1024];        /* e.g. fork's copy-on-write growth, fork
                                      not kill-safe here; "" */
        /* fork mode */
        double fork_ms;            /* the injected clone call, inside pause */
        pid_t child_pid;           /* the frozen child (fork mode), else 0 */
        /* memory budget */
        uint64_t writable_bytes;   /* resident+swapped bytes of the copyable
                                      mappings (what COPY would copy, AUTO's
                                      measure, FORK's worst copy-on-write) */
        uint64_t budget_bytes;     /* budget applied */
        uint64_t mem_available;    /* MemAvailable, 0 if unknown */
        uint64_t cgroup_headroom;  /* limit - usage of this tool's memory
                                      cgroup (tightest ancestor); 0 = none */
};

/* What ending a fork snapshot cost (snapshot_end). */
struct snapshot_end_stats {
        double child_lifetime_ms;  /* child created -> killed and reaped */
        double reap_pause_ms;      /* the second, one-thread stop of the
                                      target that reaps the child's zombie */
        bool reaped;               /* the zombie was reaped in the target */
};

/* Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT that detach any thread currently stopped by us and
 * then re-raise the signal with its default action.  Idempotent.  Call once
 * early in main(). */
void snapshot_install_signal_guard(void);

/* Takes a snapshot in opts->mode (NULL opts: COPY, default budget).  On
 * success *ret is a memsrc over it and *stats is filled.  memsrc_pid()
 * returns the target's pid in every mode (the report is about the target);
 * snapshot_child_pid() gives the fork child.  A fork that cannot be done
 * (seccomp filter, pids limit, ENOMEM, no `syscall` instruction found)
 * falls back to COPY and says why in stats->fallback. */
int snapshot_take(pid_t pid, const struct snapshot_opts *opts,
                  struct memsrc **ret, struct snapshot_stats *stats,
                  struct diag *d);

/* The target's resident set size now (VmRSS of /proc/PID/status), in
 * bytes: the accounting line's RSS.  -ESRCH gone, -ENOENT no VmRSS (a
 * zombie, a kernel thread), -EBADMSG unparsable. */
int snapshot_rss(pid_t pid, uint64_t *ret);

/* What snapshot_take would do, found without stopping the target (its
 * status and smaps are read, nothing else): for --check. */
struct snapshot_plan {
        enum snapshot_mode mode;   /* COPY, FORK or LIVE */
        uint64_t writable_bytes;   /* as snapshot_stats */
        uint64_t budget_bytes;
        uint64_t mem_available;
        uint64_t cgroup_headroom;
        bool over_budget;          /* a copy would be refused (-ENOMEM) */
        double pause_ms;           /* expected pause: a copy's 0.2 s/GB, a
                                      fork's 33 ms/GB, plus the stop */
        char why[512];             /* why that mode */
};

/* Fills *ret, or fails as snapshot_take would before its stop (-ESRCH,
 * -EPERM, -EBUSY: stopped or traced) with d filled.  Fork mode is planned
 * when it is possible; whether its helper is kill-safe is known only when
 * it runs (AUTO then copies). */
int snapshot_plan(pid_t pid, const struct snapshot_opts *opts, struct snapshot_plan *ret,
                  struct diag *d);

/* Fork sources: ends the child now (SIGKILL, reaped as its tracer, then its
 * zombie reaped in the target by one brief wait4 injected on one thread)
 * and reports what it cost.  Afterwards the source still serves what it
 * already read (memsrc_ptr pointers stay valid); other reads fail -ESRCH.
 * memsrc_free() does the same implicitly.  Other sources: 0, nothing done.
 * Returns 0, or a negative errno if the child could not be reaped in the
 * target (it is dead either way). */
int snapshot_end(struct memsrc *m, struct snapshot_end_stats *ret);

/* The fork child's pid (alive until snapshot_end/memsrc_free), else 0. */
pid_t snapshot_child_pid(struct memsrc *m);

/* After any failure of an attach to pid (the snapshot, or reading it):
 * if pid has exited meanwhile, rewrites d to say so, with its exit status
 * and a hint, keeping the old first line as the detail, and returns
 * -ESRCH; else returns 0 and leaves d alone. */
int snapshot_explain_exit(pid_t pid, struct diag *d);

/* "copy", "fork", "live", "auto"; NULL for an invalid value. */
const char *snapshot_mode_name(enum snapshot_mode mode);
/* Parses a mode name; -EINVAL if unknown. */
int snapshot_mode_parse(const char *s, enum snapshot_mode *ret);

/* The default budget: half of min(MemAvailable, cgroup headroom).  The
 * parts go to ret_available / ret_headroom (0 = unknown / unlimited) when
 * not NULL. */
uint64_t snapshot_default_budget(uint64_t *ret_available, uint64_t *ret_headroom);

#endif
