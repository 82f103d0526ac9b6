/* fork: the fork snapshot mode (see snapshot.h for the contract).
 *
 * The target is stopped as in copy mode.  One stopped thread then runs one
 * clone system call for us: its registers are saved, rip is pointed at a
 * `syscall` instruction already present in the target's text (nothing is
 * written to its memory), rax/rdi... hold the clone, and the thread is
 * single-stepped over that one instruction.  Its registers are restored and
 * every thread is detached: the pause is stop + one fork.  The child is a
 * frozen copy-on-write image of the address space that we read through
 * /proc/CHILD/mem at leisure, then kill.
 *
 * Why the target cannot observe it:
 *  - orig_rax = -1 while the injected registers are in place, so the
 *    kernel's syscall-restart logic (which runs when a stop inside
 *    get_signal() returns) leaves them alone.
 *  - Single-stepping the `syscall` instruction makes the kernel report the
 *    step at syscall exit as a SIGTRAP, i.e. a stop *inside get_signal()*.
 *    The saved registers (orig_rax and an -ERESTART* rax if the thread was
 *    in a system call) are put back at that stop and the SIGTRAP is
 *    discarded, so on resume the kernel restarts the interrupted call
 *    exactly as it does after any ptrace stop: no EINTR, no ERESTART*.
 *  - Signals that reach the thread during the injection are taken off at
 *    their signal-delivery-stop and re-delivered at detach with their
 *    original siginfo.
 *  - clone flags: CLONE_FILES and exit signal 0.  Exit signal 0 makes the
 *    child a "clone" child: no SIGCHLD ever, invisible to wait()/waitpid()
 *    without __WALL/__WCLONE, so a server's own child handling never sees
 *    it.  CLONE_FILES shares the fd table instead of duplicating it, so a
 *    socket the target closes while the child lives really closes (a copy
 *    would hold it open and delay the peer's EOF).
 *  - The child is traced from birth (CLONE_PTRACE: it inherits the
 *    injecting thread's tracer, us) and starts in a PTRACE_EVENT_STOP
 *    before its first user instruction; it is never resumed.  CLONE_PTRACE
 *    rather than PTRACE_O_TRACECLONE because the option also stops the
 *    thread at PTRACE_EVENT_CLONE, inside the pause: one more sleep and
 *    wake-up of a thread that has just run the whole page-table copy, which
 *    a busy scheduler makes wait its turn for milliseconds.  The child's pid
 *    is then clone's return value.  PTRACE_O_EXITKILL is set on the child
 *    only: never on the target, where a crash of the tool would kill the
 *    service.
 *  - The child's zombie is reaped in the target by a second injection,
 *    wait4(child, NULL, __WALL|WNOHANG, NULL), on one briefly stopped thread.
 *
 * Tool death.  A SIGKILL of the tool in the middle of an injection would
 * leave a target thread running with injected registers, and one between
 * the clone and EXITKILL would free a child that then runs.  So all ptrace
 * work is done by a helper process forked from the tool for each fork
 * snapshot: it stops the target, forks it, resumes it, holds the child,
 * and when the tool asks -- or dies (EOF on the request pipe) -- kills the
 * child and reaps it in the target, then exits.  The tool only reads
 * /proc/CHILD/mem.
 *
 * Kill safety.  A tracer's death detaches its tracees, and a thread
 * detached while it holds injected registers runs on with them (rip at the
 * borrowed `syscall`, rax = clone): the target crashes or, worse, runs two
 * copies of itself.  Nothing can make the helper survive a SIGKILL of its
 * own pid, and no continuation of a bare `syscall` in someone else's text
 * can be made harmless without writing the target's memory.  So the helper
 * is kept out of every *broad* kill aimed at the tool (measured: killing
 * the tool's process group 3-45 ms into an attach killed the target 4
 * times in 89 and left 65 zombie children in it).  Before it touches the
 * target it
 *  - calls setsid(): its own session and process group, so kill(-pgid)
 *    (`timeout -s KILL`, a terminal) and SIGHUP of the tool's session miss
 *    it;
 *  - moves itself into the target's cgroup in every hierarchy where the
 *    tool's differs (cgroup2 and v1 alike): a cgroup kill (systemctl stop,
 *    cgroup.kill, a container stop, a memory.oom.group kill) that reaches
 *    the helper then reaches the target too, so the helper cannot be what
 *    harms it.  Done before the stop: a migration can take milliseconds.
 *  - sets its oom_score_adj to -1000: the OOM killer never picks it;
 *  - blocks every catchable signal (SIGTERM, SIGINT, SIGHUP...; systemctl
 *    stop sends SIGTERM to a whole cgroup first): it finishes, undoes what
 *    it started and exits on its own once the tool is gone.
 * It then tells the tool which of these failed (no permission, a
 * read-only or unmounted cgroupfs, a target outside the tool's cgroup
 * namespace) and waits for its go-ahead.  AUTO does not fork with a helper
 * that is not kill-safe (copy, saying why); an explicit fork goes on and
 * warns.  What remains: SIGKILL of the helper's own pid (or a cgroup kill
 * that kills the target anyway) during an injection (about a millisecond)
 * can crash the target; after the clone, such a kill leaves the child's
 * zombie in the target (EXITKILL kills the child) until the target exits.
 * Cost, outside the pause: a median of 6-7 ms on a loaded 2-core VM
 * (10.7 ms with a cgroup v2 migration), mostly setsid() creating a
 * scheduler autogroup; the pause is unchanged (README, Snapshot modes).
 *
 * x86-64 only.  Refused (copy is used) for targets under a seccomp filter:
 * a filter could answer the injected clone by killing the target.
 */
#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORK_CHUNK         (64u << 10)   /* lazy read unit from the child */
#define FORK_GADGET_SCAN   (64u << 20)   /* bytes scanned per mapping */
#define FORK_INJECT_MS     1000          /* one injected call, worst case */
#define FORK_CHILD_STOP_MS 2000          /* child reaching its first stop */
#define FORK_REPLY_SLACK_MS 10000        /* helper answer beyond the stop */
#define FORK_MAX_RESTARTS  8             /* clone interrupted by a signal */
#define FORK_MAX_SIGS      8             /* signals caught mid-injection */
#define FORK_REAP_TRIES    20
#define FORK_REAP_WAIT_MS  5000          /* target held by another tracer */
#define FORK_HOOK_MS       10000         /* test hook: longest wait */
#define FORK_OOM_MARGIN_KIB (8L << 10)   /* helper's own later allocations */
/* What a kill of an unprotected helper did (README, Snapshot modes) */
#define FORK_UNSAFE_RATE   "measured with the helper in the tool's process group: a group SIGKILL at a random moment 0-45 ms into an attach harmed it in 5 of 244 runs, one inside the injection in every run"

/* ---- possible? ---------------------------------------------------------- */

static int status_int(pid_t pid, const char *key, long *ret)
{
        char path[64], *text = NULL, *p;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        r = proc_read_file(path, 1u << 16, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, key);
        if (!p) {
                free(text);
                return -ENOENT;
        }
        *ret = strtol(p + strlen(key), NULL, 10);
        free(text);
        return 0;
}

bool snap_fork_possible(pid_t pid, char *why, size_t size)
{
#if defined(__x86_64__)
        long sc = 0;

        if (status_int(pid, "\nSeccomp:", &sc) == 0 && sc != 0) {
                snprintf(why, size, "process %d runs under a seccomp %s; an injected system call could kill it",
                         (int)pid, sc == 1 ? "strict mode" : "filter");
                return false;
        }
        return true;
#else
        (void)pid;
        snprintf(why, size, "fork mode is implemented for x86-64 only");
        return false;
#endif
}

#if defined(__x86_64__)

/* ---- the `syscall` instruction ------------------------------------------ */

static int gadget_rank(const struct mem_region *r)
{
        const char *base;

        if (!r->r || !r->x || r->end <= r->start)
                return -1;
        if (!r->path)
                return -1;
        if (strcmp(r->path, "[vdso]") == 0)
                return 2;
        if (r->path[0] != '/')
                return -1;
        base = strrchr(r->path, '/') + 1;
        /* libc's text is mapped by every CPython and never unmapped */
        if (strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0)
                return 0;
        return 1;
}

/* Finds the bytes 0f 05 in an executable mapping, read (never written)
 * through /proc/PID/mem.  Any such pair decodes as `syscall` when execution
 * starts on it, and the single-step stops right after it, so what follows
 * never matters. */
static int find_gadget(pid_t pid, uint64_t *ret, struct diag *d)
{
        struct mem_region *v = NULL;
        unsigned char *buf = NULL;
        uint64_t a, end;
        size_t n = 0, i, k, want;
        char path[64];
        int rank, fd, r;

        r = procmaps_read(pid, &v, &n);
        if (r < 0)
                return diag_set(d, r, "cannot read the memory map of process %d: %s",
                                (int)pid, strerror(-r));
        snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        buf = malloc(FORK_CHUNK + 1);
        if (fd < 0 || !buf) {
                r = diag_set(d, fd < 0 ? -errno : -ENOMEM, "cannot read the memory of process %d",
                             (int)pid);
                goto out;
        }
        for (rank = 0; rank <= 2; rank++) {
                for (i = 0; i < n; i++) {
                        if (gadget_rank(&v[i]) != rank)
                                continue;
                        end = v[i].end - v[i].start > FORK_GADGET_SCAN
                                ? v[i].start + FORK_GADGET_SCAN : v[i].end;
                        for (a = v[i].start; a < end; a += FORK_CHUNK) {
                                want = end - a < FORK_CHUNK ? (size_t)(end - a) : FORK_CHUNK;
                                if (proc_mem_read(fd, pid, a, buf, want) < 0)
                                        break;
                                for (k = 0; k + 1 < want; k++)
                                        if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
                                                *ret = a + k;
                                                r = 0;
                                                goto out;
                                        }
                        }
                }
        }
        r = diag_set(d, -ENOENT, "no `syscall` instruction found in the executable mappings of process %d",
                     (int)pid);
out:
        if (fd >= 0)
                close(fd);
        free(buf);
        procmaps_regions_free(v, n);
        return r;
}

/* ---- one injected system call ------------------------------------------- */

struct pending_sig {
        int sig;
        siginfo_t info;
};

struct inject {
        uint64_t gadget;
        long nr, args[6];
        long rax;                  /* result */
        bool ran;                  /* the call may have run, result or not */
        uint64_t t_done;           /* CLOCK_MONOTONIC ns, syscall returned */
        struct pending_sig sigs[FORK_MAX_SIGS];
        int nsigs;
        int hook_fd;               /* test hook (fork_hook_wait), or -1 */
};

static bool is_restart(long rax)
{
        /* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK */
        return rax <= -512 && rax >= -516;
}

static void injected_regs(const struct user_regs_struct *saved,
                          const struct inject *in, struct user_regs_struct *regs)
{
        *regs = *saved;
        regs->rip = in->gadget;
        regs->rax = (unsigned long long)in->nr;
        /* -1: "not in a system call", so the restart logic that runs when
         * this stop returns does not rewind rip or rewrite rax */
        regs->orig_rax = (unsigned long long)-1;
        regs->rdi = (unsigned long long)in->args[0];
        regs->rsi = (unsigned long long)in->args[1];
        regs->rdx = (unsigned long long)in->args[2];
        regs->r10 = (unsigned long long)in->args[3];
        regs->r8 = (unsigned long long)in->args[4];
        regs->r9 = (unsigned long long)in->args[5];
}

static void on_alarm(int sig)
{
        (void)sig;
}

/* Test only (PYLEAK_ATTACH_TEST_FORK_HOOK, see helper_hook_open): tells the
 * test that a target thread now holds injected registers, and waits for its
 * go-ahead, so that a test can kill exactly inside the window.  Bounded: a
 * test that never answers costs FORK_HOOK_MS, never a hang. */
static void fork_hook_wait(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char b = 'i';

        if (fd < 0 || send(fd, &b, 1, MSG_NOSIGNAL) != 1)
                return;
        while (poll(&p, 1, FORK_HOOK_MS) < 0 && errno == EINTR)
                ;
        if (p.revents & POLLIN)
                (void)!read(fd, &b, 1);
}

/* Waits for tid's next stop until deadline.  A blocking waitpid wakes the
 * moment the thread stops (polling with sched_yield costs milliseconds when
 * the target's threads keep the CPUs busy); SIGALRM, armed without
 * SA_RESTART by helper_main, bounds it: a thread that does not come back
 * must not hang the helper. */
static int wait_stop(pid_t tid, int *st, uint64_t deadline)
{
        struct itimerval it = {0};
        uint64_t now;
        pid_t w;

        for (;;) {
                now = mono_ns();
                if (now >= deadline)
                        return -ETIMEDOUT;
                it.it_value.tv_sec = (time_t)((deadline - now) / 1000000000u);
                it.it_value.tv_usec = (suseconds_t)((deadline - now) % 1000000000u / 1000u) + 1;
                setitimer(ITIMER_REAL, &it, NULL);
                w = waitpid(tid, st, __WALL);
                memset(&it, 0, sizeof(it));
                setitimer(ITIMER_REAL, &it, NULL);
                if (w == tid)
                        return 0;
                if (w < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Keeps sig, with tid's siginfo of it, to hand back at the detach (the
 * first) or re-send after it (resend_extra); beyond FORK_MAX_SIGS, lost. */
static void hold_signal(struct inject *in, pid_t tid, int sig)
{
        if (in->nsigs >= FORK_MAX_SIGS)
                return;
        in->sigs[in->nsigs].sig = sig;
        if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &in->sigs[in->nsigs].info) < 0)
                memset(&in->sigs[in->nsigs].info, 0, sizeof(in->sigs[0].info));
        in->nsigs++;
}

/* Blocks every signal but SIGTRAP on tid while it steps over the injected
 * call: a signal that arrived meanwhile would be dequeued into a
 * signal-delivery-stop, and only one signal (with its siginfo) can be
 * handed back at detach.  Blocked, it stays queued in the kernel, siginfo
 * and order intact, and is delivered once the original mask (*saved) is
 * back.  SIGTRAP stays as it was: the step's trap is forced, and forcing a
 * blocked signal resets the target's handler for it.  PTRACE_SETSIGMASK
 * changes no memory.  False when the mask was left alone. */
static bool block_all_but_trap(pid_t tid, uint64_t *saved)
{
        uint64_t block;

        if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*saved), saved) < 0)
                return false;
        block = ~0ull & ~(1ull << (SIGTRAP - 1));
        block |= *saved & (1ull << (SIGTRAP - 1));
        return ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(block), &block) == 0;
}

/* Runs in->nr on the stopped tracee c->t[ti] and puts everything back.
 * 0 with in->rax set (which may be -errno from the call), or < 0 if the
 * injection itself failed; in both cases the thread is left stopped with
 * its own registers and is detached by snap_detach_all().  The only case
 * where it cannot be put back is a thread that never stops again
 * (-ETIMEDOUT after an interrupt too): it is then left to the orphan
 * logic and the error says so. */
static int inject_call(struct ctx *c, size_t ti, struct inject *in, struct diag *d)
{
        struct tracee *t = &c->t[ti];
        struct user_regs_struct saved, regs, now;
        uint64_t deadline, saved_mask = 0;
        int st, r, restarts = 0, ev, sig;
        bool interrupted = false, mask_set = false;

        in->rax = 0;
        in->ran = false;
        in->nsigs = 0;
        /* a thread caught in a signal-delivery-stop: take its signal off
         * now, deliver it (same siginfo) at detach */
        if (t->sig) {
                hold_signal(in, t->tid, t->sig);
                t->sig = 0;
        }
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &saved) < 0)
                return diag_set(d, -errno, "cannot read the registers of thread %d: %s",
                                (int)t->tid, strerror(errno));
        if (saved.cs != 0x33)
                return diag_set(d, -EOPNOTSUPP, "thread %d of process %d is not running 64-bit code",
                                (int)t->tid, (int)c->pid);
        mask_set = block_all_but_trap(t->tid, &saved_mask);
        injected_regs(&saved, in, &regs);
        if (ptrace(PTRACE_SETREGS, t->tid, NULL, &regs) < 0) {
                r = diag_set(d, -errno, "cannot set the registers of thread %d: %s",
                             (int)t->tid, strerror(errno));
                goto restore;
        }
        /* the window: the tracer's death now would resume the thread at
         * the gadget with the call's registers */
        fork_hook_wait(in->hook_fd);
        if (ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL) < 0) {
                r = diag_set(d, -errno, "cannot step thread %d: %s", (int)t->tid, strerror(errno));
                goto restore;
        }
        in->ran = true;
        deadline = mono_ns() + FORK_INJECT_MS * 1000000ull;
        for (;;) {
                r = wait_stop(t->tid, &st, deadline);
                if (r == -ETIMEDOUT && !interrupted) {
                        /* stuck somewhere (it should not be): make it stop */
                        ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
                        interrupted = true;
                        deadline = mono_ns() + FORK_INJECT_MS * 1000000ull;
                        continue;
                }
                if (r < 0) {
                        t->state = r == -ETIMEDOUT ? T_SEIZED : T_GONE;
                        return diag_set(d, r, "thread %d of process %d did not come back from the injected system call: %s",
                                        (int)t->tid, (int)c->pid, strerror(-r));
                }
                if (!WIFSTOPPED(st)) {
                        t->state = T_GONE;
                        return diag_set(d, -ESRCH, "process %d exited during the snapshot",
                                        (int)c->pid);
                }
                ev = st >> 16;
                sig = WSTOPSIG(st);
                if (ev == 0 && sig == SIGTRAP &&
                           ptrace(PTRACE_GETREGS, t->tid, NULL, &now) == 0 &&
                           now.rip == in->gadget + 2) {
                        /* the step over `syscall`: reported at syscall
                         * exit, a stop inside get_signal() */
                        if (is_restart((long)now.rax) && restarts++ < FORK_MAX_RESTARTS) {
                                /* the call saw a signal before doing
                                 * anything (fork: ERESTARTNOINTR, never
                                 * after making a child): again */
                                if (ptrace(PTRACE_SETREGS, t->tid, NULL, &regs) < 0 ||
                                    ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL) < 0) {
                                        r = diag_set(d, -errno, "cannot restart the injected call on thread %d",
                                                     (int)t->tid);
                                        goto restore;
                                }
                                continue;
                        }
                        in->rax = (long)now.rax;
                        in->t_done = mono_ns();
                        r = 0;
                        break;
                } else if (ev == 0) {
                        /* a real signal arrived: hold it for the detach */
                        hold_signal(in, t->tid, sig);
                }
                /* event stops (group stop, our interrupt) and held
                 * signals: step on */
                if (ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL) < 0) {
                        r = diag_set(d, -errno, "cannot step thread %d: %s",
                                     (int)t->tid, strerror(errno));
                        goto restore;
                }
        }
restore:
        /* the thread is in a ptrace stop here (every path above that ends
         * running jumps out earlier): its own registers back, and the
         * first held signal armed for the detach */
        if (ptrace(PTRACE_SETREGS, t->tid, NULL, &saved) < 0 && r == 0)
                r = diag_set(d, -errno, "cannot restore the registers of thread %d", (int)t->tid);
        if (mask_set && ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(saved_mask),
                               &saved_mask) < 0 && r == 0)
                r = diag_set(d, -errno, "cannot restore the signal mask of thread %d",
                             (int)t->tid);
        t->state = T_STOPPED;
        if (in->nsigs > 0) {
                if (in->sigs[0].info.si_signo == in->sigs[0].sig)
                        ptrace(PTRACE_SETSIGINFO, t->tid, NULL, &in->sigs[0].info);
                t->sig = in->sigs[0].sig;
        }
        return r;
}

/* Re-sends the signals beyond the first held during an injection (the
 * detach delivers only one).  Their siginfo becomes SI_TKILL from us: the
 * kernel does not let a process forge another's. */
static void resend_extra(pid_t pid, pid_t tid, const struct inject *in)
{
        int i;

        for (i = 1; i < in->nsigs; i++)
                syscall(SYS_tgkill, (long)pid, (long)tid, (long)in->sigs[i].sig);
}

/* The thread to inject on: a stopped one with no signal of its own to
 * deliver, the leader first. */
static ssize_t pick_thread(const struct ctx *c)
{
        ssize_t best = -1;
        size_t i;

        for (i = 0; i < c->n; i++) {
                if (c->t[i].state != T_STOPPED)
                        continue;
                if (c->t[i].sig == 0 && c->t[i].tid == c->pid)
                        return (ssize_t)i;
                if (best < 0 || (c->t[i].sig == 0 && c->t[best].sig != 0))
                        best = (ssize_t)i;
        }
        return best;
}

/* ---- the helper process -------------------------------------------------- */

struct fork_msg {
        int r;
        bool fallback;
        bool child_pristine;       /* first stop at gadget+2 with rax 0 */
        pid_t child;
        int threads;
        double pause_ms, stop_ms, fork_ms;
        uint64_t t_clone;          /* CLOCK_MONOTONIC ns */
        char msg[DIAG_MSG_MAX];
};

struct end_msg {
        int r;
        bool reaped;
        double reap_pause_ms;
        uint64_t t_reaped;
};

struct helper_args {
        pid_t pid;
        uint64_t gadget;
        int timeout_ms;
        unsigned debug;
        char hook[108];            /* PYLEAK_ATTACH_TEST_FORK_HOOK, or "" */
};

/* In the helper process: the test hook's socket, or -1. */
static int helper_hook = -1;

static int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        ssize_t n;

        while (len > 0) {
                /* a socket, so that a dead peer is EPIPE, never SIGPIPE */
                n = send(fd, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EPIPE;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int read_all_timeout(int fd, void *buf, size_t len, int ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t deadline = mono_ns() + (uint64_t)ms * 1000000u;
        size_t done = 0;
        ssize_t n;
        int left;

        while (done < len) {
                uint64_t now = mono_ns();

                if (now >= deadline)
                        return -ETIMEDOUT;
                left = (int)((deadline - now) / 1000000u) + 1;
                n = poll(&p, 1, left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -ETIMEDOUT;
                n = read(fd, (char *)buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EPIPE;
                done += (size_t)n;
        }
        return 0;
}

/* ---- kill safety: the helper leaves the tool's group and cgroups ---------
 *
 * Runs in the helper before it touches the target; the tool hears the
 * outcome (struct ready_msg) before it lets the helper start.  Each step
 * takes the helper out of the reach of one kind of broad kill aimed at the
 * tool; the one left, a SIGKILL of the helper's own pid, is documented. */

enum {
        UNSAFE_PGRP   = 1u << 0,   /* still in the tool's session/group */
        UNSAFE_CGROUP = 1u << 1,   /* not in the target's cgroups */
        UNSAFE_OOM    = 1u << 2,   /* the OOM killer may still pick it */
        UNSAFE_KEPT   = 1u << 3,   /* SNAPSHOT_DEBUG_FORK_NO_ESCAPE */
};

struct ready_msg {
        unsigned unsafe;           /* UNSAFE_* */
        double prep_ms;            /* the steps below, before any stop */
        char why[400];             /* the reasons, "" if safe */
};

static bool opt_listed(const char *opts, const char *tok, size_t toklen)
{
        const char *p = opts;

        while (*p) {
                size_t n = strcspn(p, ",");

                if (n == toklen && memcmp(p, tok, n) == 0)
                        return true;
                p += n + (p[n] == ',');
        }
        return false;
}

/* Whether a mount with these super options holds the v1 hierarchy whose
 * /proc/PID/cgroup controllers field is ctl ("cpu,cpuacct",
 * "name=systemd"). */
static bool mount_has_ctl(const char *super, const char *ctl)
{
        const char *p = ctl;

        if (!*ctl)
                return false;
        while (*p) {
                size_t n = strcspn(p, ",");

                if (!opt_listed(super, p, n))
                        return false;
                p += n + (p[n] == ',');
        }
        return true;
}

/* The directory of cgroup `path` (as /proc/PID/cgroup shows it, relative to
 * our cgroup namespace) of the hierarchy `ctl` ("" = cgroup2), through our
 * mount table: mount point + path below the mount's root. */
static int cgroup_dir(const char *ctl, const char *path, char *buf, size_t size)
{
        char *text = NULL, *line, *save = NULL, *f[5], *p, *dash;
        size_t rootlen;
        int r, i;

        r = proc_read_file("/proc/self/mountinfo", 4u << 20, &text, NULL);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE SUPER */
                dash = strstr(line, " - ");
                if (!dash)
                        continue;
                *dash = '\0';
                for (i = 0, p = line; i < 5 && p; i++) {
                        f[i] = p;
                        p = strchr(p, ' ');
                        if (p)
                                *p++ = '\0';
                }
                if (i < 5)
                        continue;
                p = dash + 3;
                if (*ctl ? strncmp(p, "cgroup ", 7) != 0 : strncmp(p, "cgroup2 ", 8) != 0)
                        continue;
                p = strrchr(p, ' ');
                if (*ctl && (!p || !mount_has_ctl(p + 1, ctl)))
                        continue;
                rootlen = strcmp(f[3], "/") == 0 ? 0 : strlen(f[3]);
                if (strncmp(path, f[3], rootlen) != 0 ||
                    (path[rootlen] != '/' && path[rootlen] != '\0'))
                        continue;
                if ((size_t)snprintf(buf, size, "%s%s", f[4], path + rootlen) >= size)
                        r = -ENAMETOOLONG;
                else
                        r = 0;
                break;
        }
        free(text);
        return r;
}

/* The path of the hierarchy line "ID:CTL:" of /proc/PID/cgroup text. */
static int cgroup_path_of(const char *text, const char *prefix, size_t plen,
                          char *buf, size_t size)
{
        const char *p = text, *end;

        while (p && *p) {
                end = strchr(p, '\n');
                if (!end)
                        end = p + strlen(p);
                if ((size_t)(end - p) >= plen && memcmp(p, prefix, plen) == 0) {
                        if ((size_t)(end - p) - plen >= size)
                                return -ENAMETOOLONG;
                        memcpy(buf, p + plen, (size_t)(end - p) - plen);
                        buf[(size_t)(end - p) - plen] = '\0';
                        return 0;
                }
                p = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

/* Moves this process into pid's cgroup in every hierarchy where they
 * differ (cgroup2 and each v1 hierarchy).  Then a kill of any cgroup that
 * holds the helper holds the target too: the helper can no longer be the
 * reason a cgroup kill harms it. */
static int cgroup_join(pid_t pid, char *why, size_t size)
{
        char path[64], mine_path[1024], their_path[1024], dir[1536];
        char *mine = NULL, *theirs = NULL, *line, *save = NULL, *c2;
        const char *ctl;
        int fd, r;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        r = proc_read_file("/proc/self/cgroup", 1u << 16, &mine, NULL);
        if (r == 0)
                r = proc_read_file(path, 1u << 16, &theirs, NULL);
        if (r < 0) {
                snprintf(why, size, "cannot read the cgroups of process %d: %s",
                         (int)pid, strerror(-r));
                goto out;
        }
        for (line = strtok_r(mine, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                c2 = strchr(line, ':');
                c2 = c2 ? strchr(c2 + 1, ':') : NULL;
                if (!c2)
                        continue;
                snprintf(mine_path, sizeof(mine_path), "%s", c2 + 1);
                r = cgroup_path_of(theirs, line, (size_t)(c2 - line) + 1,
                                   their_path, sizeof(their_path));
                *c2 = '\0';
                ctl = strchr(line, ':') + 1;
                if (r < 0) {
                        snprintf(why, size, "process %d has no cgroup in hierarchy \"%.100s\"",
                                 (int)pid, line);
                        goto out;
                }
                if (strcmp(mine_path, their_path) == 0)
                        continue;
                if (strncmp(their_path, "/..", 3) == 0) {
                        r = -EXDEV;
                        snprintf(why, size, "the cgroup of process %d is outside this tool's cgroup namespace",
                                 (int)pid);
                        goto out;
                }
                r = cgroup_dir(ctl, their_path, dir, sizeof(dir));
                if (r < 0) {
                        snprintf(why, size, "the %s%.40s hierarchy holding process %d's cgroup %.200s is not mounted here",
                                 *ctl ? "cgroup " : "cgroup2", ctl, (int)pid, their_path);
                        goto out;
                }
                if ((size_t)snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir),
                                     "/cgroup.procs") >= sizeof(dir) - strlen(dir)) {
                        r = -ENAMETOOLONG;
                        snprintf(why, size, "cgroup path too long: %.200s", dir);
                        goto out;
                }
                /* "0" is the writer itself, in both versions */
                fd = open(dir, O_WRONLY | O_CLOEXEC);
                r = fd < 0 || write(fd, "0", 1) != 1 ? -errno : 0;
                if (fd >= 0)
                        close(fd);
                if (r < 0) {
                        snprintf(why, size, "cannot move the fork helper into process %d's cgroup (%.250s): %s",
                                 (int)pid, dir, strerror(-r));
                        goto out;
                }
        }
        r = 0;
out:
        free(mine);
        free(theirs);
        return r;
}

static long oom_adj(pid_t pid)
{
        char path[64], *text = NULL;
        long v = LONG_MAX;

        snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
        if (proc_read_file(path, 64, &text, NULL) == 0)
                v = strtol(text, NULL, 10);
        free(text);
        return v;
}

/* What the OOM killer weighs (rss + swap + page tables), in KiB. */
static long oom_kib(pid_t pid)
{
        long rss = -1, swap = 0, pte = 0;

        if (status_int(pid, "\nVmRSS:", &rss) < 0)
                return -1;
        status_int(pid, "\nVmSwap:", &swap);
        status_int(pid, "\nVmPTE:", &pte);
        return rss + swap + pte;
}

/* Without CAP_SYS_RESOURCE the helper keeps the tool's oom_score_adj.  The
 * OOM killer then still picks the target before it (so never harms the
 * target through it) when the helper weighs clearly less -- it shares the
 * tool's pages at fork time; the margin covers what it allocates later --
 * and no higher oom_score_adj. */
static bool oom_ranks_below(pid_t pid)
{
        long mine = oom_kib(getpid()), theirs = oom_kib(pid);
        long adj = oom_adj(getpid()), their_adj = oom_adj(pid);

        return mine >= 0 && theirs >= 0 && adj != LONG_MAX && their_adj != LONG_MAX &&
               adj <= their_adj && mine + FORK_OOM_MARGIN_KIB < theirs;
}

/* Appends one reason to why ("; " between reasons). */
static void why_add(char *why, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void why_add(char *why, size_t size, const char *fmt, ...)
{
        size_t n = strlen(why);
        va_list ap;

        if (n && n + 2 < size) {
                memcpy(why + n, "; ", 3);
                n += 2;
        }
        if (n + 1 >= size)
                return;
        va_start(ap, fmt);
        vsnprintf(why + n, size - n, fmt, ap);
        va_end(ap);
}

/* Everything the helper does to stay alive while the tool is killed.
 * Returns the UNSAFE_* bits left; why lists their reasons. */
static unsigned helper_escape(const struct helper_args *a, char *why, size_t size)
{
        static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
                                         SIGABRT, SIGALRM };
        unsigned unsafe = 0;
        char reason[512];
        sigset_t all;
        size_t i;
        int fd, e;

        why[0] = '\0';
        /* Catchable signals wait until the helper exits (systemctl stop
         * sends SIGTERM to a whole cgroup first, a terminal SIGINT/SIGHUP
         * to a whole group): the helper finishes or undoes what it started,
         * and it exits on its own once the tool is gone.  SIGALRM bounds
         * its waits; faults stay faults. */
        sigfillset(&all);
        for (i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
                sigdelset(&all, sync_sigs[i]);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (a->debug & SNAPSHOT_DEBUG_FORK_NO_ESCAPE) {
                why_add(why, size, "the fork helper was kept in the tool's process group and cgroups (a test setting)");
                return UNSAFE_KEPT;
        }
        /* Its own session, hence its own process group: kill(-pgid) (what
         * `timeout -s KILL` and a terminal's job control send) reaches the
         * tool, never the helper.  One fork is enough: the helper is the
         * tool's child, but nothing kills a child with its parent (no
         * PDEATHSIG), and staying its child lets the tool wait for it. */
        if (setsid() < 0) {
                unsafe |= UNSAFE_PGRP;
                why_add(why, size, "the fork helper cannot leave the tool's process group (%s)",
                        strerror(errno));
        }
        /* Last, before any stop: a migration can take milliseconds. */
        if (cgroup_join(a->pid, reason, sizeof(reason)) < 0) {
                unsafe |= UNSAFE_CGROUP;
                why_add(why, size, "%s", reason);
        }
        /* The OOM killer then never picks it.  Needs CAP_SYS_RESOURCE;
         * without it, see oom_ranks_below(). */
        fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        e = fd < 0 || write(fd, "-1000", 5) != 5 ? errno : 0;
        if (fd >= 0)
                close(fd);
        if (e && !oom_ranks_below(a->pid)) {
                unsafe |= UNSAFE_OOM;
                why_add(why, size, "the fork helper's oom_score_adj cannot be set to -1000 (%s; it needs CAP_SYS_RESOURCE) and the helper is not clearly smaller than process %d, so the OOM killer could pick it first",
                        strerror(e), (int)a->pid);
        }
        return unsafe;
}

/* The test hook's socket (PYLEAK_ATTACH_TEST_FORK_HOOK), or -1. */
static int helper_hook_open(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (!path[0] || strlen(path) >= sizeof(sa.sun_path))
                return -1;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                fd = -1;
        }
        return fd;
}

/* Waits for the new child's first stop and pins it: EXITKILL so that it
 * dies with its tracer, never resumed.  Reports whether it stopped exactly
 * at the return of the clone (proof it ran no user instruction). */
static int hold_child(pid_t child, uint64_t gadget, bool *ret_pristine, struct diag *d)
{
        struct user_regs_struct regs;
        int st, r;

        r = wait_stop(child, &st, mono_ns() + FORK_CHILD_STOP_MS * 1000000ull);
        if (r < 0)
                return diag_set(d, r, "the forked child %d did not reach its first stop: %s",
                                (int)child, strerror(-r));
        if (!WIFSTOPPED(st))
                return diag_set(d, -ESRCH, "the forked child %d died at birth", (int)child);
        /* replaces the options inherited from the injecting thread */
        if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(unsigned long)PTRACE_O_EXITKILL) < 0)
                return diag_set(d, -errno, "cannot set PTRACE_O_EXITKILL on the forked child %d: %s",
                                (int)child, strerror(errno));
        *ret_pristine = ptrace(PTRACE_GETREGS, child, NULL, &regs) == 0 &&
                        regs.rip == gadget + 2 && regs.rax == 0;
        return 0;
}

static void kill_child(pid_t child)
{
        int st;

        if (child <= 0)
                return;
        kill(child, SIGKILL);
        /* as its tracer we see it die first; then it is the target's zombie */
        while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
                ;
}

/* Reaps child's zombie in the target: one thread stopped, one wait4
 * injected, resumed.  The rest of the target keeps running. */
static int reap_in_target(pid_t pid, uint64_t gadget, pid_t child,
                          struct end_msg *em)
{
        struct ctx c = { .pid = pid, .wait_stop = wait_stop };
        struct inject in = { .gadget = gadget, .nr = SYS_wait4, .hook_fd = helper_hook };
        pid_t tids[64];
        size_t ntids = 0, i;
        uint64_t deadline;
        int r = -ESRCH, tries;
        ssize_t ti = -1;

        c.t = calloc(SNAP_MAX_THREADS, sizeof(*c.t));
        if (!c.t)
                return -ENOMEM;
        tids[0] = pid;
        if (proc_list_tasks(pid, tids + 1, 63, &ntids) < 0 && ntids == 0)
                ntids = 0;
        ntids++;
        /* the leader is listed again among the tasks */
        for (i = 1; i < ntids; i++)
                if (tids[i] == pid)
                        tids[i--] = tids[--ntids];
        /* the leader first; if it cannot be seized (it called
         * pthread_exit), the next thread.  Another tracer (a debugger, a
         * second pyleak-attach) may hold the target for a while: keep
         * trying, a zombie left behind is forever. */
        deadline = mono_ns() + FORK_REAP_WAIT_MS * 1000000ull;
        do {
                for (i = 0; i < ntids && ti < 0; i++) {
                        r = snap_seize_one(&c, tids[i], NULL);
                        if (r <= 0)
                                continue;
                        snap_poll_stops(&c, mono_ns() + FORK_INJECT_MS * 1000000ull);
                        ti = pick_thread(&c);
                }
                if (ti < 0 && r == -EBUSY)
                        snap_nap_us(1000);
        } while (ti < 0 && r == -EBUSY && mono_ns() < deadline);
        if (ti < 0) {
                snap_detach_all(&c);
                free(c.t);
                return r < 0 ? r : -ESRCH;
        }
        in.args[0] = child;
        in.args[1] = 0;
        in.args[2] = __WALL | WNOHANG;
        in.args[3] = 0;
        for (tries = 0; tries < FORK_REAP_TRIES; tries++) {
                r = inject_call(&c, (size_t)ti, &in, NULL);
                if (r < 0 || in.rax != 0)
                        break;
                /* 0: not a zombie yet (cannot happen after our wait, but
                 * cheap to allow) */
                snap_nap_us(100);
        }
        snap_detach_all(&c);
        resend_extra(pid, c.t[ti].tid, &in);
        em->reap_pause_ms = snap_ms_between(c.t_first, c.t_last_detach);
        em->reaped = r == 0 && in.rax == child;
        free(c.t);
        return r < 0 ? r : em->reaped ? 0 : in.rax < 0 ? (int)in.rax : -ECHILD;
}

/* The child of an injected clone whose return was not seen (the thread
 * died or never came back): traced from birth, it is the one process
 * outside the target that this helper traces.  0 if there is none. */
static pid_t find_traced_child(pid_t target)
{
        struct proc_status ps;
        struct dirent *e;
        pid_t p, found = 0, self = getpid();
        char *end;
        DIR *dir;
        long v;

        dir = opendir("/proc");
        if (!dir)
                return 0;
        while (!found && (e = readdir(dir))) {
                v = strtol(e->d_name, &end, 10);
                if (end == e->d_name || *end || v <= 0)
                        continue;
                p = (pid_t)v;
                if (proc_read_status(p, p, &ps) == 0 && ps.tracer_pid == self &&
                    ps.tgid != target)
                        found = p;
        }
        closedir(dir);
        return found;
}

/* Kills a child the snapshot will not use and reaps it in the target. */
static void end_stray(const struct helper_args *a, pid_t child)
{
        struct end_msg em;

        if (child <= 0)
                return;
        kill_child(child);
        reap_in_target(a->pid, a->gadget, child, &em);
}

static void helper_end(const struct helper_args *a, pid_t child, int rep_w)
{
        struct end_msg em = {0};

        kill_child(child);
        em.r = reap_in_target(a->pid, a->gadget, child, &em);
        em.t_reaped = mono_ns();
        write_all(rep_w, &em, sizeof(em));
}

/* Terminal and kill signals are the tool's business: the helper finishes
 * (or undoes) what it started and follows the tool out when the request
 * pipe closes.  SIGALRM ends a blocking wait (no SA_RESTART). */
static void helper_signals(void)
{
        static const int quiet[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE };
        struct sigaction sa;

        for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
                signal(quiet[i], SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
}

/* The tool's next one-byte request on req_r, or 0 once it is gone (EOF,
 * an error). */
static char next_cmd(int req_r)
{
        struct pollfd p = { .fd = req_r, .events = POLLIN };
        char cmd;
        int r;

        for (;;) {
                p.revents = 0;
                r = poll(&p, 1, -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || read(req_r, &cmd, 1) != 1)
                        return 0;
                return cmd ? cmd : 0;
        }
}

static void helper_main(const struct helper_args *a, int req_r, int rep_w)
{
        struct ctx c = { .pid = a->pid, .wait_stop = wait_stop };
        struct inject in = { .gadget = a->gadget, .nr = SYS_clone };
        struct ready_msg rm;
        struct fork_msg fm;
        struct diag d = {0};
        uint64_t t_stopped = 0, t_fork0 = 0, t0 = mono_ns();
        ssize_t ti;
        char cmd;
        int r;

        helper_signals();
        memset(&fm, 0, sizeof(fm));
        memset(&rm, 0, sizeof(rm));
        rm.unsafe = helper_escape(a, rm.why, sizeof(rm.why));
        helper_hook = helper_hook_open(a->hook);
        in.hook_fd = helper_hook;
        rm.prep_ms = snap_ms_between(t0, mono_ns());
        /* The tool decides whether to go on as things are; it may also have
         * died meanwhile (EOF): then the target was never touched. */
        if (write_all(rep_w, &rm, sizeof(rm)) < 0)
                return;
        if (next_cmd(req_r) != 'g')
                return;

        c.t = calloc(SNAP_MAX_THREADS, sizeof(*c.t));
        if (!c.t) {
                fm.r = diag_set(&d, -ENOMEM, "out of memory");
                goto reply;
        }
        r = snap_stop_all(&c, a->timeout_ms, &d);
        if (r < 0) {
                snap_detach_all(&c);
                fm.r = r;
                goto reply;
        }
        t_stopped = mono_ns();
        ti = pick_thread(&c);
        if (ti < 0) {
                snap_detach_all(&c);
                fm.r = diag_set(&d, -ESRCH, "process %d exited during the snapshot", (int)a->pid);
                goto reply;
        }
        /* exit signal 0 (low byte): no SIGCHLD, not seen by wait() */
        in.args[0] = CLONE_FILES | CLONE_PTRACE;
        if (a->debug & SNAPSHOT_DEBUG_FORK_EINVAL)
                in.args[0] = CLONE_SIGHAND;    /* without CLONE_VM: EINVAL */
        t_fork0 = mono_ns();
        r = inject_call(&c, (size_t)ti, &in, &d);
        snap_detach_all(&c);
        resend_extra(a->pid, c.t[ti].tid, &in);
        fm.pause_ms = snap_ms_between(c.t_first, c.t_last_detach);
        fm.stop_ms = snap_ms_between(c.t_first, t_stopped);
        fm.fork_ms = snap_ms_between(t_fork0, in.t_done);
        fm.threads = (int)c.nstopped;
        fm.t_clone = in.t_done;
        if (r < 0) {
                /* -ETIMEDOUT / -ESRCH leave nothing to fall back from */
                fm.fallback = r != -ETIMEDOUT && r != -ESRCH;
                fm.r = r;
                /* the call may still have forked before failing */
                if (in.ran)
                        end_stray(a, find_traced_child(a->pid));
                goto reply;
        }
        if (in.rax <= 0) {
                fm.fallback = true;
                fm.r = diag_set(&d, in.rax < 0 ? (int)in.rax : -EPROTO,
                                "the clone system call in process %d failed: %s",
                                (int)a->pid, in.rax < 0 ? strerror((int)-in.rax)
                                                        : "no child");
                if (in.rax == -EAGAIN)
                        diag_append(&d, "hint: the target's pids limit (cgroup pids.max, RLIMIT_NPROC) may be reached");
                goto reply;
        }
        fm.child = (pid_t)in.rax;
        r = hold_child(fm.child, a->gadget, &fm.child_pristine, &d);
        if (r < 0) {
                end_stray(a, fm.child);
                fm.child = 0;
                fm.fallback = true;
                fm.r = r;
                goto reply;
        }
        fm.r = 0;
reply:
        snprintf(fm.msg, sizeof(fm.msg), "%s", d.msg);
        free(c.t);
        c.t = NULL;
        /* the write fails only if the tool is gone: then end at once */
        if (write_all(rep_w, &fm, sizeof(fm)) < 0 && fm.r == 0) {
                helper_end(a, fm.child, -1);
                return;
        }
        if (fm.r < 0)
                return;
        /* hold the child until asked, or until the tool goes away */
        do
                cmd = next_cmd(req_r);
        while (cmd && cmd != 'e');
        helper_end(a, fm.child, rep_w);
}

/* ---- the memsrc over the child ------------------------------------------
 *
 * Reads of the copyable mappings (those copy mode would copy) are served
 * from a local copy filled FORK_CHUNK at a time.  The walker loads what it
 * needs when it needs it, and a prefetch thread, started once the target
 * runs again, loads the rest ahead of it in address order on the other
 * core, so that the walk mostly finds its chunks already there: reading
 * the child and walking overlap instead of adding up.  The prefetcher
 * skips chunks of anonymous memory with no page present (nothing to find
 * there, and reading them would fault in zero pages) and stops at the
 * memory budget.  Chunk states: 0 not loaded, 1 being loaded (by either
 * thread; the other waits), 2 loaded, for good. */

enum { CHUNK_NONE, CHUNK_LOADING, CHUNK_LOADED };

struct fork_region {
        char *buf;                 /* region size, mapped up front for
                                      copyable regions, else NULL */
        _Atomic unsigned char *st; /* per FORK_CHUNK: CHUNK_* */
};

struct fsrc {
        struct memsrc base;        /* base.pid: the target */
        pid_t child, helper;
        int mem_fd;                /* /proc/CHILD/mem */
        int sock;                  /* to the helper */
        bool ended;
        int end_r;
        struct snapshot_end_stats end;
        uint64_t t_clone;
        struct fork_region *fr;    /* per region */
        _Atomic uint64_t cached;
        uint64_t cache_max;
        pthread_t pf;              /* the prefetcher, while pf_running */
        bool pf_running;
        atomic_bool pf_stop;
        int pagemap_fd;            /* /proc/CHILD/pagemap, prefetcher's */
};

static int fsrc_load(struct fsrc *f, size_t ri, uint64_t chunk)
{
        const struct mem_region *r = &f->base.regions[ri];
        struct fork_region *fr = &f->fr[ri];
        uint64_t off = chunk * FORK_CHUNK, len, pg;
        int e;

        len = r->end - r->start - off < FORK_CHUNK ? r->end - r->start - off : FORK_CHUNK;
        e = proc_mem_read(f->mem_fd, f->child, r->start + off, fr->buf + off, (size_t)len);
        if (e == -EFAULT) {
                /* as in copy mode: unreadable pages (past a file's end)
                 * stay zero */
                for (pg = 0; pg < len; pg += 4096)
                        proc_mem_read(f->mem_fd, f->child, r->start + off + pg,
                                      fr->buf + off + pg, len - pg < 4096 ? (size_t)(len - pg) : 4096);
                e = 0;
        }
        return e;
}

/* Claims chunk c of region ri and loads it: 1 loaded, 0 not (over the
 * budget, or the other thread has it: see *ret_busy), < 0 read error. */
static int fsrc_claim(struct fsrc *f, size_t ri, uint64_t c, bool *ret_busy)
{
        const struct mem_region *r = &f->base.regions[ri];
        unsigned char none = CHUNK_NONE;
        uint64_t len = r->end - r->start - c * FORK_CHUNK;
        int e;

        if (len > FORK_CHUNK)
                len = FORK_CHUNK;
        *ret_busy = false;
        if (atomic_fetch_add(&f->cached, len) + len > f->cache_max) {
                atomic_fetch_sub(&f->cached, len);
                return 0;
        }
        if (!atomic_compare_exchange_strong(&f->fr[ri].st[c], &none, CHUNK_LOADING)) {
                atomic_fetch_sub(&f->cached, len);
                *ret_busy = none == CHUNK_LOADING;
                return none == CHUNK_LOADED;
        }
        e = fsrc_load(f, ri, c);
        if (e < 0) {
                atomic_fetch_sub(&f->cached, len);
                atomic_store(&f->fr[ri].st[c], CHUNK_NONE);
                return e;
        }
        atomic_store(&f->fr[ri].st[c], CHUNK_LOADED);
        return 1;
}

/* Pointer to [addr, addr+len) inside cached region ri, loading chunks;
 * NULL when over the cache budget or unreadable. */
static const void *fsrc_cached(struct fsrc *f, size_t ri, uint64_t addr, size_t len)
{
        const struct mem_region *r = &f->base.regions[ri];
        uint64_t c0, c1, c;
        unsigned char st;
        bool busy;

        if (!f->fr || !f->fr[ri].buf)
                return NULL;
        c0 = (addr - r->start) / FORK_CHUNK;
        c1 = (addr + len - 1 - r->start) / FORK_CHUNK;
        for (c = c0; c <= c1; c++) {
                while ((st = atomic_load(&f->fr[ri].st[c])) != CHUNK_LOADED) {
                        if (st == CHUNK_LOADING) {
                                /* the prefetcher is on it: one pread */
                                sched_yield();
                                continue;
                        }
                        busy = false;   /* not set when ended */
                        if (f->ended || fsrc_claim(f, ri, c, &busy) <= 0) {
                                if (busy)
                                        continue;
                                return NULL;
                        }
                }
        }
        return f->fr[ri].buf + (addr - r->start);
}

/* Whether any page of [addr, addr+len) is present or swapped in the child
 * (true when the page map cannot tell). */
static bool fsrc_chunk_used(struct fsrc *f, uint64_t addr, uint64_t len)
{
        uint64_t ent[FORK_CHUNK / 4096];
        size_t n = (size_t)((len + 4095) / 4096);
        ssize_t got;

        if (f->pagemap_fd < 0 || n > sizeof(ent) / sizeof(ent[0]))
                return true;
        got = pread(f->pagemap_fd, ent, n * sizeof(ent[0]), (off_t)(addr / 4096 * sizeof(ent[0])));
        if (got != (ssize_t)(n * sizeof(ent[0])))
                return true;
        for (size_t i = 0; i < n; i++)
                if (ent[i] & (3ull << 62))
                        return true;
        return false;
}

static void *fsrc_prefetch(void *arg)
{
        struct fsrc *f = arg;
        bool busy;

        for (size_t ri = 0; ri < f->base.nregions; ri++) {
                const struct mem_region *r = &f->base.regions[ri];
                uint64_t nchunks = (r->end - r->start + FORK_CHUNK - 1) / FORK_CHUNK;

                if (!f->fr[ri].buf)
                        continue;
                for (uint64_t c = 0; c < nchunks; c++) {
                        uint64_t off = c * FORK_CHUNK;
                        uint64_t len = r->end - r->start - off < FORK_CHUNK ?
                                r->end - r->start - off : FORK_CHUNK;

                        if (atomic_load(&f->pf_stop))
                                return NULL;
                        if (atomic_load(&f->fr[ri].st[c]) != CHUNK_NONE ||
                            (procmaps_region_anon(r) && !fsrc_chunk_used(f, r->start + off, len)))
                                continue;
                        /* over the budget: what is left loads on demand */
                        if (fsrc_claim(f, ri, c, &busy) == 0 && !busy)
                                return NULL;
                }
        }
        return NULL;
}

static void fsrc_prefetch_stop(struct fsrc *f)
{
        if (!f->pf_running)
                return;
        atomic_store(&f->pf_stop, true);
        pthread_join(f->pf, NULL);
        f->pf_running = false;
}

static int fsrc_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct fsrc *f = (struct fsrc *)m;
        const struct mem_region *r;
        const void *p;
        size_t chunk;
        int e;

        while (len > 0) {
                r = memsrc_region_of(m, addr);
                if (!r || !r->r)
                        return -EFAULT;
                chunk = r->end - addr < len ? (size_t)(r->end - addr) : len;
                p = fsrc_cached(f, (size_t)(r - m->regions), addr, chunk);
                if (p)
                        memcpy(buf, p, chunk);
                else if (f->ended)
                        return -ESRCH;
                else {
                        e = proc_mem_read(f->mem_fd, f->child, addr, buf, chunk);
                        if (e < 0)
                                return e;
                }
                addr += chunk;
                buf = (char *)buf + chunk;
                len -= chunk;
        }
        return 0;
}

/* The buffers and chunk states of the copyable regions, before any thread
 * may read them: mapping a region costs no memory until it is loaded. */
static int fsrc_prepare(struct fsrc *f)
{
        f->fr = calloc(f->base.nregions ? f->base.nregions : 1, sizeof(*f->fr));
        if (!f->fr)
                return -ENOMEM;
        for (size_t i = 0; i < f->base.nregions; i++) {
                const struct mem_region *r = &f->base.regions[i];
                size_t size = (size_t)(r->end - r->start);
                void *b;

                if (!procmaps_region_copyable(r))
                        continue;
                f->fr[i].st = calloc((size + FORK_CHUNK - 1) / FORK_CHUNK, 1);
                b = mmap(NULL, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (b == MAP_FAILED || !f->fr[i].st) {
                        if (b != MAP_FAILED)
                                munmap(b, size);
                        return -ENOMEM;
                }
                f->fr[i].buf = b;
                snap_advise_huge(f->pagemap_fd, r, b);
        }
        return 0;
}

static const void *fsrc_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        struct fsrc *f = (struct fsrc *)m;
        const struct mem_region *r;

        r = memsrc_region_of(m, addr);
        if (!r || len == 0 || len > r->end - addr)
                return NULL;
        return fsrc_cached(f, (size_t)(r - m->regions), addr, len);
}

/* One chunk, loaded: the neighbours may not be yet. */
static const void *fsrc_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                             const uint64_t **gen)
{
        struct fsrc *f = (struct fsrc *)m;
        const struct mem_region *r = memsrc_region_of(m, addr);
        uint64_t c0, c1;

        if (!r)
                return NULL;
        c0 = r->start + (addr - r->start) / FORK_CHUNK * FORK_CHUNK;
        c1 = r->end - c0 < FORK_CHUNK ? r->end : c0 + FORK_CHUNK;
        if (!fsrc_cached(f, (size_t)(r - m->regions), c0, (size_t)(c1 - c0)))
                return NULL;
        *lo = c0;
        *hi = c1;
        *gen = NULL;
        return f->fr[r - m->regions].buf + (c0 - r->start);
}

static int fsrc_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                                 char **host_path)
{
        struct fsrc *f = (struct fsrc *)m;

        /* the child maps the very same files; the target probably still */
        return proc_open_mapped_file(f->ended ? m->pid : f->child, r, host_path);
}

static void fsrc_destroy(struct memsrc *m)
{
        struct fsrc *f = (struct fsrc *)m;
        size_t i;

        snapshot_end(m, NULL);
        if (f->fr) {
                for (i = 0; i < m->nregions; i++) {
                        if (f->fr[i].buf)
                                munmap(f->fr[i].buf, (size_t)(m->regions[i].end -
                                                              m->regions[i].start));
                        free((void *)f->fr[i].st);
                }
                free(f->fr);
        }
        if (f->pagemap_fd >= 0)
                close(f->pagemap_fd);
        free(f);
}

static const struct memsrc_ops fsrc_ops = {
        .name = "fork",
        .caps = MEMSRC_CAP_PROC,
        .read = fsrc_read,
        .ptr = fsrc_ptr,
        .span = fsrc_span,
        .open_mapped_file = fsrc_open_mapped_file,
        .refresh_regions = NULL,
        .destroy = fsrc_destroy,
};

int snapshot_end(struct memsrc *m, struct snapshot_end_stats *ret)
{
        struct fsrc *f;
        struct end_msg em = {0};
        int st, r;

        if (!m || m->ops != &fsrc_ops) {
                if (ret)
                        memset(ret, 0, sizeof(*ret));
                return 0;
        }
        f = (struct fsrc *)m;
        /* before the child goes: the prefetcher reads it */
        fsrc_prefetch_stop(f);
        if (!f->ended) {
                f->ended = true;
                if (f->mem_fd >= 0)
                        close(f->mem_fd);
                f->mem_fd = -1;
                r = write_all(f->sock, "e", 1);
                if (r == 0)
                        r = read_all_timeout(f->sock, &em, sizeof(em), FORK_REPLY_SLACK_MS);
                close(f->sock);
                f->sock = -1;
                /* the helper exits right after answering; one that did
                 * not answer is left to finish on its own */
                while (waitpid(f->helper, &st, r == 0 ? 0 : WNOHANG) < 0 && errno == EINTR)
                        ;
                f->end_r = r < 0 ? r : em.r;
                f->end.reaped = r == 0 && em.reaped;
                f->end.reap_pause_ms = em.reap_pause_ms;
                f->end.child_lifetime_ms = snap_ms_between(f->t_clone,
                                                           r == 0 ? em.t_reaped : mono_ns());
        }
        if (ret)
                *ret = f->end;
        return f->end_r;
}

pid_t snapshot_child_pid(struct memsrc *m)
{
        if (!m || m->ops != &fsrc_ops || ((struct fsrc *)m)->ended)
                return 0;
        return ((struct fsrc *)m)->child;
}

/* ---- entry point -------------------------------------------------------- */

static pid_t spawn_helper(const struct helper_args *a, int *ret_sock)
{
        int sv[2];
        pid_t h;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        h = fork();
        if (h < 0) {
                h = -errno;
                close(sv[0]);
                close(sv[1]);
                return h;
        }
        if (h == 0) {
                /* Only our end stays open: a helper must not keep another
                 * helper's socket (or anything of the tool's) alive, or EOF
                 * would not tell it that the tool died. */
                if (dup2(sv[1], 3) < 0)
                        _exit(1);
                syscall(SYS_close_range, 4u, ~0u, 0u);
                helper_main(a, 3, 3);
                _exit(0);
        }
        close(sv[1]);
        *ret_sock = sv[0];
        return h;
}

/* Waits for the helper h to end (it ends once its socket closes). */
static void reap(pid_t h)
{
        int st;

        while (waitpid(h, &st, 0) < 0 && errno == EINTR)
                ;
}

/* What a fork snapshot reports: the helper's timings and, in
 * stats->warning, what the user must know (an unsafe helper, a child that
 * did not stop where expected, the copy-on-write growth while it lives). */
static void fill_stats(struct snapshot_stats *stats, const struct ready_msg *rm,
                       const struct fork_msg *fm, pid_t h, pid_t pid)
{
        size_t n;

        stats->mode_used = SNAPSHOT_FORK;
        stats->pause_ms = fm->pause_ms;
        stats->stop_ms = fm->stop_ms;
        stats->fork_ms = fm->fork_ms;
        stats->prep_ms = rm->prep_ms;
        stats->threads = fm->threads;
        stats->child_pid = fm->child;
        stats->warning[0] = '\0';
        if (rm->unsafe)
                snprintf(stats->warning, sizeof(stats->warning),
                         "fork mode is not kill-safe here (%s): if the fork helper (pid %d) is killed during its injection (about a millisecond) process %d can crash (" FORK_UNSAFE_RATE "), and if it is killed while the forked child lives, the child's zombie stays in process %d until it exits; ",
                         rm->why, (int)h, (int)pid, (int)pid);
        n = strlen(stats->warning);
        if (!fm->child_pristine)
                snprintf(stats->warning + n, sizeof(stats->warning) - n,
                         "the forked child %d did not stop where expected", (int)fm->child);
        else
                snprintf(stats->warning + n, sizeof(stats->warning) - n,
                         "copy-on-write: process %d may grow by up to %llu MiB while the forked child %d lives; end it early",
                         (int)pid, (unsigned long long)(stats->writable_bytes >> 20),
                         (int)fm->child);
}

int snap_fork_take(pid_t pid, const struct snapshot_opts *opts, bool require_safe,
                   struct memsrc **ret, struct snapshot_stats *stats,
                   int *ret_fallback, struct diag *d)
{
        struct helper_args a = { .pid = pid };
        struct ready_msg rm;
        struct fork_msg fm;
        struct fsrc *f = NULL;
        const char *hook;
        char path[64];
        int r, st, sock = -1;
        pid_t h;

        *ret_fallback = SNAP_FORK_NO_FALLBACK;
        a.timeout_ms = opts && opts->stop_timeout_ms > 0 ? opts->stop_timeout_ms : 2000;
        a.debug = opts ? opts->debug : 0;
        hook = getenv("PYLEAK_ATTACH_TEST_FORK_HOOK");
        if (hook && strlen(hook) < sizeof(a.hook))
                memcpy(a.hook, hook, strlen(hook) + 1);
        r = find_gadget(pid, &a.gadget, d);
        if (r < 0) {
                *ret_fallback = r != -ESRCH ? SNAP_FORK_FALLBACK : SNAP_FORK_NO_FALLBACK;
                return r;
        }
        h = spawn_helper(&a, &sock);
        if (h < 0) {
                *ret_fallback = SNAP_FORK_FALLBACK;
                return diag_set(d, (int)h, "cannot start the fork helper: %s", strerror((int)-h));
        }
        /* The helper has left what it could before it touches the target:
         * safe, or not here, and why. */
        r = read_all_timeout(sock, &rm, sizeof(rm), FORK_REPLY_SLACK_MS);
        rm.why[sizeof(rm.why) - 1] = '\0';
        if (r < 0 || (rm.unsafe && require_safe)) {
                /* the target is untouched: the helper waits for 'g' */
                close(sock);
                while (waitpid(h, &st, r < 0 ? WNOHANG : 0) < 0 && errno == EINTR)
                        ;
                *ret_fallback = r < 0 ? SNAP_FORK_FALLBACK : SNAP_FORK_UNSAFE;
                if (r < 0)
                        return diag_set(d, -EPROTO, "the fork helper (pid %d) did not start", (int)h);
                return diag_set(d, -EPERM, "%s", rm.why);
        }
        r = write_all(sock, "g", 1);
        if (r < 0) {
                close(sock);
                reap(h);
                *ret_fallback = SNAP_FORK_FALLBACK;
                return diag_set(d, -EPROTO, "the fork helper (pid %d) died", (int)h);
        }
        r = read_all_timeout(sock, &fm, sizeof(fm), a.timeout_ms + FORK_REPLY_SLACK_MS);
        if (r < 0) {
                /* a helper that hangs is left to finish on its own: killing
                 * it mid-injection would hurt the target */
                close(sock);
                if (waitpid(h, &st, WNOHANG) == 0)
                        r = diag_set(d, -ETIMEDOUT, "the fork helper (pid %d) did not answer", (int)h);
                else
                        r = diag_set(d, -EPROTO, "the fork helper (pid %d) died", (int)h);
                return r;
        }
        if (fm.r < 0) {
                close(sock);
                reap(h);
                *ret_fallback = fm.fallback ? SNAP_FORK_FALLBACK : SNAP_FORK_NO_FALLBACK;
                fm.msg[sizeof(fm.msg) - 1] = '\0';
                diag_set(d, fm.r, "%s", fm.msg[0] ? fm.msg : strerror(-fm.r));
                return fm.r;
        }

        f = calloc(1, sizeof(*f));
        if (!f) {
                r = diag_set(d, -ENOMEM, "out of memory");
                goto fail;
        }
        f->base.ops = &fsrc_ops;
        f->base.pid = pid;
        f->child = fm.child;
        f->helper = h;
        f->sock = sock;
        f->t_clone = fm.t_clone;
        f->pagemap_fd = -1;
        sock = -1;
        snprintf(path, sizeof(path), "/proc/%d/mem", (int)f->child);
        f->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->mem_fd < 0) {
                r = diag_set(d, -errno, "cannot open %s: %s", path, strerror(errno));
                goto fail;
        }
        /* the child's map is the truth: MADV_DONTFORK mappings are absent */
        r = procmaps_read(f->child, &f->base.regions, &f->base.nregions);
        if (r < 0) {
                diag_set(d, r, "cannot read the memory map of the forked child %d: %s",
                         (int)f->child, strerror(-r));
                goto fail;
        }
        f->cache_max = stats && stats->budget_bytes ? stats->budget_bytes : UINT64_MAX;
        snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)f->child);
        f->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
        r = fsrc_prepare(f);
        if (r < 0) {
                diag_set(d, r, "cannot prepare the copy of the forked child: %s", strerror(-r));
                goto fail;
        }
        /* the target runs again: reading ahead costs it nothing */
        f->pf_running = pthread_create(&f->pf, NULL, fsrc_prefetch, f) == 0;
        if (stats)
                fill_stats(stats, &rm, &fm, h, pid);
        *ret = &f->base;
        return 0;
fail:
        if (f) {
                memsrc_free(&f->base);
        } else {
                close(sock);
                reap(h);
        }
        *ret_fallback = SNAP_FORK_FALLBACK;
        return r;
}

#else /* !__x86_64__ */

int snap_fork_take(pid_t pid, const struct snapshot_opts *opts, bool require_safe,
                   struct memsrc **ret, struct snapshot_stats *stats,
                   int *ret_fallback, struct diag *d)
{
        *ret_fallback = SNAP_FORK_FALLBACK;
        return diag_set(d, -EOPNOTSUPP, "fork mode is implemented for x86-64 only");
}

int snapshot_end(struct memsrc *m, struct snapshot_end_stats *ret)
{
        if (ret)
                memset(ret, 0, sizeof(*ret));
        return 0;
}

pid_t snapshot_child_pid(struct memsrc *m)
{
        return 0;
}

#endif
