/* stop: every thread of a target held stopped, and always released.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT on each thread, re-listing /proc/PID/task
 * until no new one appears; PTRACE_DETACH of each on every path, the
 * signal guard's handlers included.  Copy mode (copy.c) and fork mode
 * (fork.c) both stop through here; see snapshot-internal.h.
 */
#include "snapshot.h"

#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SNAP_MAX_ROUNDS   64      /* re-list /proc/PID/task at most this often */
#define SNAP_ORPHANS      64
#define SNAP_CLEANUP_WAIT_MS    200

/* ---- signal guard ------------------------------------------------------ *
 * Slot i mirrors tracee i of the running snapshot_take().  A slot is filled
 * before PTRACE_SEIZE and cleared after PTRACE_DETACH, so the handler may
 * try to detach a thread that was never seized (harmless ESRCH) but never
 * misses one.  Plain volatile stores: the handler runs on the same thread
 * (ptrace only works from the tracing thread anyway; copy mode's helper
 * threads block every signal, so an asynchronous one always lands here). */
static volatile sig_atomic_t guard_tids[SNAP_MAX_THREADS];
static volatile sig_atomic_t guard_sigs[SNAP_MAX_THREADS];
static volatile sig_atomic_t guard_n;

static const int guard_signals[] = {
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
};

static void guard_handler(int sig)
{
        struct sigaction sa;
        sig_atomic_t i, n = guard_n;
        int saved = errno;

        if (n > SNAP_MAX_THREADS)
                n = SNAP_MAX_THREADS;
        for (i = 0; i < n; i++) {
                pid_t tid = (pid_t)guard_tids[i];

                /* A thread not yet in its stop cannot be detached; the
                 * kernel detaches it when we die from the re-raise. */
                if (tid > 0)
                        syscall(SYS_ptrace, PTRACE_DETACH, (long)tid, 0L,
                                (long)guard_sigs[i]);
                guard_tids[i] = 0;
        }
        guard_n = 0;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, NULL);
        raise(sig);
        errno = saved;
}

void snapshot_install_signal_guard(void)
{
        static atomic_int installed;
        struct sigaction sa;
        size_t i;

        if (atomic_exchange(&installed, 1))
                return;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = guard_handler;
        sigemptyset(&sa.sa_mask);
        /* no other guarded signal may interrupt the detach loop */
        for (i = 0; i < sizeof(guard_signals) / sizeof(guard_signals[0]); i++)
                sigaddset(&sa.sa_mask, guard_signals[i]);
        sa.sa_flags = SA_RESTART;
        for (i = 0; i < sizeof(guard_signals) / sizeof(guard_signals[0]); i++) {
                struct sigaction old;

                /* An ignored signal (nohup's SIGHUP, a shell's SIGINT for
                 * a background job) cannot end us, so it needs no guard:
                 * taking it over would turn it into our death. */
                if (sigaction(guard_signals[i], NULL, &old) == 0 &&
                    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
                        continue;
                sigaction(guard_signals[i], &sa, NULL);
        }
}

static void guard_set(size_t i, pid_t tid)
{
        guard_sigs[i] = 0;
        guard_tids[i] = tid;
        atomic_signal_fence(memory_order_seq_cst);
        if ((sig_atomic_t)i >= guard_n)
                guard_n = (sig_atomic_t)i + 1;
        atomic_signal_fence(memory_order_seq_cst);
}

static void guard_clear(size_t i)
{
        guard_tids[i] = 0;
        atomic_signal_fence(memory_order_seq_cst);
}

/* ---- time -------------------------------------------------------------- */

double snap_ms_between(uint64_t a, uint64_t b)
{
        return b > a ? (double)(b - a) / 1e6 : 0.0;
}

void snap_nap_us(long us)
{
        struct timespec ts = { 0, us * 1000 };

        nanosleep(&ts, NULL);
}

/* ---- orphans ------------------------------------------------------------ *
 * Threads seized but never seen stopping (stuck in uninterruptible sleep
 * past every deadline) cannot be detached until they stop.  They are kept
 * here and detached by the next snapshot_take(). */
static pid_t orphan_tids[SNAP_ORPHANS];
static size_t orphan_n;

void snap_orphans_reap(void)
{
        size_t i = 0;
        pid_t w;
        int st, sig;

        while (i < orphan_n) {
                w = waitpid(orphan_tids[i], &st, __WALL | WNOHANG);
                if (w == 0) {
                        i++;
                        continue;
                }
                if (w > 0 && WIFSTOPPED(st)) {
                        sig = (st >> 16) == 0 ? WSTOPSIG(st) : 0;
                        ptrace(PTRACE_DETACH, orphan_tids[i], NULL,
                               (void *)(long)sig);
                }
                orphan_tids[i] = orphan_tids[--orphan_n];
        }
}

/* ---- stopping and resuming ---------------------------------------------- */

static bool ctx_has(const struct ctx *c, pid_t tid)
{
        size_t i;

        for (i = 0; i < c->n; i++)
                if (c->t[i].tid == tid)
                        return true;
        return false;
}

int snap_explain_traced(struct diag *d, pid_t pid, pid_t tid, pid_t tracer)
{
        char comm[64];

        proc_read_comm(tracer, comm, sizeof(comm));
        if (tid != pid)
                diag_set(d, -EBUSY, "thread %d of process %d is already traced by pid %d (%s); detach it first",
                         (int)tid, (int)pid, (int)tracer, comm);
        else
                diag_set(d, -EBUSY, "process %d is already traced by pid %d (%s); detach it first",
                         (int)pid, (int)tracer, comm);
        diag_append(d, "hint: only one tracer can attach at a time: quit or detach the debugger/strace (gdb: `detach`), then retry");
        return -EBUSY;
}

/* 1: seized and interrupted, 0: thread vanished (skip it), < 0: error. */
int snap_seize_one(struct ctx *c, pid_t tid, struct diag *d)
{
        struct proc_status st;
        size_t i = c->n;
        char state;
        int err;

        if (i >= SNAP_MAX_THREADS)
                return diag_set(d, -E2BIG, "cannot snapshot process %d: more than %d threads",
                                (int)c->pid, SNAP_MAX_THREADS);
        guard_set(i, tid);
        if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
                err = errno;
                guard_clear(i);
                if (err == ESRCH)
                        return 0;
                if (err == EPERM) {
                        /* an exiting thread refuses SEIZE with EPERM too */
                        if (proc_read_state(c->pid, tid, &state) == -ESRCH ||
                            state == 'Z' || state == 'X')
                                return 0;
                        if (proc_read_status(c->pid, tid, &st) == 0 && st.tracer_pid > 0)
                                return snap_explain_traced(d, c->pid, tid, st.tracer_pid);
                        return proc_explain_eperm(d, c->pid, "attach to",
                                                  proc_yama_ptrace_scope());
                }
                return diag_set(d, -err, "cannot attach to thread %d of process %d: %s",
                                (int)tid, (int)c->pid, strerror(err));
        }
        c->t[i].tid = tid;
        c->t[i].state = T_SEIZED;
        c->t[i].sig = 0;
        c->n++;
        if (!c->t_first)
                c->t_first = mono_ns();
        /* ESRCH here means the thread died after SEIZE: waitpid reports it */
        ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
        return 1;
}

static void classify(struct ctx *c, size_t i, int st)
{
        if (WIFSTOPPED(st)) {
                /* PTRACE_EVENT_STOP: our interrupt, or a group-stop that a
                 * detach will reinstate; plain stop: signal-delivery-stop,
                 * whose signal must be passed back at detach */
                c->t[i].sig = (st >> 16) == 0 ? WSTOPSIG(st) : 0;
                c->t[i].event = st >> 16;
                guard_sigs[i] = c->t[i].sig;
                c->t[i].state = T_STOPPED;
        } else if (WIFEXITED(st) || WIFSIGNALED(st)) {
                c->t[i].state = T_GONE;
                guard_clear(i);
        }
}

/* Every seized thread was interrupted before the first wait, so waiting
 * for them one after the other costs the slowest stop, not the sum.  A
 * tracer asleep in waitpid is woken by the stop itself, where a polling
 * one on a busy machine hands its CPU to other work at each sched_yield
 * and sleeps past the stop in its naps, and competes with the very
 * threads it waits for while it spins (2 cores, other load, 2-thread
 * target: stop p90 4.8 ms polling, 1.2 ms blocking). */
static size_t wait_stops(struct ctx *c, uint64_t deadline)
{
        size_t i, pending = 0;
        pid_t w;
        int st, r;

        for (i = 0; i < c->n; i++) {
                while (c->t[i].state == T_SEIZED) {
                        r = c->wait_stop(c->t[i].tid, &st, deadline);
                        if (r == -ETIMEDOUT) {
                                /* past the deadline: one last look, as
                                 * the polling loop takes at every thread */
                                do
                                        w = waitpid(c->t[i].tid, &st, __WALL | WNOHANG);
                                while (w < 0 && errno == EINTR);
                                if (w == 0) {
                                        pending++;
                                        break;
                                }
                                r = w < 0 ? -errno : 0;
                        }
                        if (r < 0) {    /* ECHILD: gone and reaped */
                                c->t[i].state = T_GONE;
                                guard_clear(i);
                                break;
                        }
                        classify(c, i, st);
                }
        }
        return pending;
}

/* Polls every seized thread until all stopped or exited, or the deadline.
 * Returns the number still running (0 = done). */
size_t snap_poll_stops(struct ctx *c, uint64_t deadline)
{
        unsigned spins = 0;
        size_t i, pending;
        pid_t w;
        int st;

        if (c->wait_stop)
                return wait_stops(c, deadline);
        for (;;) {
                pending = 0;
                for (i = 0; i < c->n; i++) {
                        if (c->t[i].state != T_SEIZED)
                                continue;
                        w = waitpid(c->t[i].tid, &st, __WALL | WNOHANG);
                        if (w == 0 || (w < 0 && errno == EINTR)) {
                                pending++;
                                continue;
                        }
                        if (w < 0) {    /* ECHILD: gone and reaped */
                                c->t[i].state = T_GONE;
                                guard_clear(i);
                                continue;
                        }
                        classify(c, i, st);
                        if (c->t[i].state == T_SEIZED)
                                pending++;
                }
                if (!pending || mono_ns() >= deadline)
                        return pending;
                if (spins++ < 20)
                        sched_yield();
                else
                        snap_nap_us(50);
        }
}

int snap_stop_all(struct ctx *c, int timeout_ms, struct diag *d)
{
        pid_t *tids;
        size_t n, i, added, pending, stopped;
        uint64_t deadline = 0;
        unsigned round;
        char state = '?';
        int r;

        tids = malloc(SNAP_MAX_THREADS * sizeof(*tids));
        if (!tids)
                return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory",
                                (int)c->pid);
        /* Stopped threads cannot create threads, so once every listed thread
         * is stopped and a re-list shows nothing new, the set is complete. */
        for (round = 0;; round++) {
                if (round >= SNAP_MAX_ROUNDS) {
                        r = diag_set(d, -EAGAIN, "cannot stop process %d: new threads keep appearing",
                                     (int)c->pid);
                        diag_append(d, "hint: retry when the process is not spawning threads");
                        goto out;
                }
                r = proc_list_tasks(c->pid, tids, SNAP_MAX_THREADS, &n);
                if (r == -ESRCH) {
                        r = diag_set(d, -ESRCH, "process %d exited during the snapshot", (int)c->pid);
                        goto out;
                }
                if (r == -E2BIG) {
                        r = diag_set(d, -E2BIG, "cannot snapshot process %d: more than %d threads",
                                     (int)c->pid, SNAP_MAX_THREADS);
                        goto out;
                }
                if (r < 0) {
                        diag_set(d, r, "cannot list the threads of process %d: %s",
                                 (int)c->pid, strerror(-r));
                        goto out;
                }
                added = 0;
                for (i = 0; i < n; i++) {
                        if (ctx_has(c, tids[i]))
                                continue;
                        r = snap_seize_one(c, tids[i], d);
                        if (r < 0)
                                goto out;
                        added += (size_t)r;
                }
                if (!added)
                        break;
                if (!deadline)
                        deadline = c->t_first + (uint64_t)timeout_ms * 1000000u;
                pending = snap_poll_stops(c, deadline);
                if (pending) {
                        for (i = 0; i < c->n; i++)
                                if (c->t[i].state == T_SEIZED)
                                        break;
                        if (i < c->n)
                                proc_read_state(c->pid, c->t[i].tid, &state);
                        r = diag_set(d, -EAGAIN, "cannot stop process %d: thread %d did not stop within %d ms (state %c)",
                                     (int)c->pid, i < c->n ? (int)c->t[i].tid : 0,
                                     timeout_ms, state);
                        diag_append(d, "hint: a thread in uninterruptible sleep (state D, e.g. slow disk or NFS I/O) cannot be stopped; retry later or raise the stop timeout");
                        goto out;
                }
        }
        for (i = 0, stopped = 0; i < c->n; i++)
                stopped += c->t[i].state == T_STOPPED;
        if (!stopped) {
                r = diag_set(d, -ESRCH, "process %d exited during the snapshot", (int)c->pid);
                goto out;
        }
        c->nstopped = stopped;
        r = 0;
out:
        free(tids);
        return r;
}

/* Every exit path ends here.  Threads still running after their interrupt
 * are given a short grace period to reach the stop, because a running
 * tracee cannot be detached. */
void snap_detach_all(struct ctx *c)
{
        size_t i, pending = 0;

        for (i = 0; i < c->n; i++)
                pending += c->t[i].state == T_SEIZED;
        if (pending)
                snap_poll_stops(c, mono_ns() + SNAP_CLEANUP_WAIT_MS * 1000000ull);
        for (i = 0; i < c->n; i++) {
                if (c->t[i].state == T_STOPPED) {
                        ptrace(PTRACE_DETACH, c->t[i].tid, NULL,
                               (void *)(long)c->t[i].sig);
                        c->t[i].state = T_DETACHED;
                        guard_clear(i);
                } else if (c->t[i].state == T_SEIZED) {
                        if (orphan_n < SNAP_ORPHANS)
                                orphan_tids[orphan_n++] = c->t[i].tid;
                        c->t[i].state = T_DETACHED;
                        guard_clear(i);
                }
        }
        c->t_last_detach = mono_ns();
        guard_n = 0;
}
