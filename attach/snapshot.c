#include "snapshot.h"

#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SNAP_MAX_ROUNDS   64      /* re-list /proc/PID/task at most this often */
#define SNAP_BATCH_BYTES  (16u << 20)
#define SNAP_BATCH_IOV    256     /* iovecs per process_vm_readv */
#define SNAP_MAX_FILES    256     /* fds kept for reads after the target exits */
#define SNAP_ORPHANS      64
/* Larger private writable mappings are reservations (ASan shadow, VM
 * arenas), not heaps: they are served live instead of copied. */
#define SNAP_MAX_REGION   (64ull << 30)
#define SNAP_DEFAULT_TIMEOUT_MS 2000
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

static void orphans_reap(void)
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

/* ---- the snapshot memsrc ------------------------------------------------ */

struct snap_file {
        int fd;
        uint64_t inode;
        char *path;          /* target's path */
        char *host_path;     /* what was opened */
};

struct snap {
        struct memsrc base;
        void **bufs;              /* per region: the copy, NULL if not copied */
        int *file_of;             /* per region: index in files, -1 */
        struct snap_file *files;
        size_t nfiles;
        int mem_fd;               /* /proc/PID/mem: tied to the mm, not the
                                     pid, so pid reuse cannot fool it */
        bool gone;                /* the target's address space is gone */
};

static int snap_read_uncopied(struct snap *s, const struct mem_region *r,
                              uint64_t addr, void *buf, size_t len)
{
        struct snap_file *f;
        ssize_t n;
        int ret;

        if (!s->gone) {
                if (s->mem_fd >= 0)
                        ret = proc_mem_read(s->mem_fd, s->base.pid, addr, buf, len);
                else
                        ret = proc_vm_read(s->base.pid, addr, buf, len);
                if (ret != -ESRCH)
                        return ret;
                s->gone = true;
        }
        /* The process is gone: read-only file mappings can still be served
         * from the file at the mapping's offset. */
        if (!s->file_of || s->file_of[r - s->base.regions] < 0)
                return -ESRCH;
        f = &s->files[s->file_of[r - s->base.regions]];
        n = pread(f->fd, buf, len, (off_t)(r->offset + (addr - r->start)));
        if (n < 0 || (size_t)n != len)
                return -EFAULT;
        return 0;
}

static int snap_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct snap *s = (struct snap *)m;
        const struct mem_region *r;
        size_t i, chunk;
        int ret;

        /* a read may span adjacent mappings; each pass consumes >= 1 byte
         * and at most one region, so this ends */
        while (len > 0) {
                r = memsrc_region_of(m, addr);
                if (!r || !r->r)
                        return -EFAULT;
                chunk = r->end - addr < len ? (size_t)(r->end - addr) : len;
                i = (size_t)(r - m->regions);
                if (r->copied && s->bufs[i])
                        memcpy(buf, (const char *)s->bufs[i] + (addr - r->start), chunk);
                else {
                        ret = snap_read_uncopied(s, r, addr, buf, chunk);
                        if (ret < 0)
                                return ret;
                }
                addr += chunk;
                buf = (char *)buf + chunk;
                len -= chunk;
        }
        return 0;
}

/* A copied region's whole buffer (see memsrc_span). */
static const void *snap_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                             const uint64_t **gen)
{
        struct snap *s = (struct snap *)m;
        const struct mem_region *r = memsrc_region_of(m, addr);
        size_t i;

        if (!r || !r->copied)
                return NULL;
        i = (size_t)(r - m->regions);
        if (!s->bufs[i])
                return NULL;
        *lo = r->start;
        *hi = r->end;
        *gen = NULL;
        return s->bufs[i];
}

static const void *snap_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        const uint64_t *gen;
        uint64_t lo, hi;
        const char *p = snap_span(m, addr, &lo, &hi, &gen);

        return p && len <= hi - addr ? p + (addr - lo) : NULL;
}

static int snap_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                                 char **host_path)
{
        struct snap *s = (struct snap *)m;
        struct snap_file *f;
        size_t i;
        int fd;

        if (r < m->regions || r >= m->regions + m->nregions)
                return -EINVAL;
        i = (size_t)(r - m->regions);
        /* Prefer the fd opened right after the snapshot: the pid may since
         * have been reused by an unrelated process. */
        if (s->file_of && s->file_of[i] >= 0) {
                f = &s->files[s->file_of[i]];
                fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                if (host_path) {
                        *host_path = strdup(f->host_path);
                        if (!*host_path) {
                                close(fd);
                                return -ENOMEM;
                        }
                }
                return fd;
        }
        if (s->gone)
                return -ESRCH;
        return proc_open_mapped_file(m->pid, r, host_path);
}

static void snap_destroy(struct memsrc *m)
{
        struct snap *s = (struct snap *)m;
        size_t i;

        if (s->bufs) {
                for (i = 0; i < m->nregions; i++)
                        if (s->bufs[i])
                                munmap(s->bufs[i], (size_t)(m->regions[i].end -
                                                            m->regions[i].start));
                free(s->bufs);
        }
        for (i = 0; i < s->nfiles; i++) {
                close(s->files[i].fd);
                free(s->files[i].path);
                free(s->files[i].host_path);
        }
        free(s->files);
        free(s->file_of);
        if (s->mem_fd >= 0)
                close(s->mem_fd);
        free(s);
}

static const struct memsrc_ops snap_ops = {
        .name = "snapshot",
        .read = snap_read,
        .ptr = snap_ptr,
        .span = snap_span,
        .open_mapped_file = snap_open_mapped_file,
        .refresh_regions = NULL,
        .destroy = snap_destroy,
};

/* ---- what to copy ------------------------------------------------------ */

bool snap_region_copyable(const struct mem_region *r)
{
        if (!r->r || !r->w || r->shared || r->end <= r->start ||
            r->end - r->start > SNAP_MAX_REGION)
                return false;
        if (!r->path)
                return true;
        if (strcmp(r->path, "[stack]") == 0 || strncmp(r->path, "[stack:", 7) == 0 ||
            strncmp(r->path, "[vvar", 5) == 0 || strcmp(r->path, "[vsyscall]") == 0 ||
            strcmp(r->path, "[vdso]") == 0)
                return false;
        if (strncmp(r->path, "/dev/", 5) == 0)
                return false;
        return true;
}

bool snap_region_anon(const struct mem_region *r)
{
        return !r->path || r->path[0] == '[';
}

#define SNAP_HUGE ((uint64_t)2 << 20)

void snap_advise_huge(int pagemap_fd, const struct mem_region *r, void *buf)
{
        uint64_t ent[512], npages = (r->end - r->start) / 4096, base, present = 0;
        ssize_t n;

        /* 4 KiB pages assumed: a pagemap entry per page */
        if (pagemap_fd < 0 || r->end - r->start < SNAP_HUGE || !snap_region_anon(r) ||
            sysconf(_SC_PAGESIZE) != 4096)
                return;
        for (base = 0; base < npages; base += (uint64_t)n / sizeof(ent[0])) {
                size_t want = npages - base < 512 ? (size_t)(npages - base) : 512;

                n = pread(pagemap_fd, ent, want * sizeof(ent[0]),
                          (off_t)((r->start / 4096 + base) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0]))
                        return;
                for (size_t j = 0; j < (size_t)n / sizeof(ent[0]); j++)
                        present += (ent[j] >> 62) != 0;
        }
        if (present * 10 >= npages * 9)
                (void)madvise(buf, (size_t)(r->end - r->start), MADV_HUGEPAGE);
}

/* What the copy will hold: anonymous memory only where pages exist (see
 * copy_seg), file-backed mappings in full.  resident may be NULL
 * (then the virtual size counts). */
uint64_t snap_copy_size(const struct mem_region *v, const uint64_t *resident,
                          size_t n)
{
        uint64_t total = 0;
        size_t i;

        for (i = 0; i < n; i++)
                if (snap_region_copyable(&v[i]))
                        total += resident && snap_region_anon(&v[i]) ? resident[i]
                                                                 : v[i].end - v[i].start;
        return total;
}

/* Like snap_copy_size() for the map read during the stop, reusing the resident
 * sizes measured before it.  An anonymous mapping that changed in between
 * (merged, grown, split) counts the resident pages of the mappings it
 * overlaps: only present pages are copied, and what became present in
 * those milliseconds is small, while its virtual size (an allocator's or
 * ASan's reservation) can be tens of gigabytes that will never be copied.
 * A mapping with nothing before it counts in full. */
static uint64_t copy_size_again(const struct mem_region *v, size_t n,
                                const struct mem_region *pre,
                                const uint64_t *resident, size_t npre)
{
        uint64_t total = 0, sz;
        size_t i, j = 0, k;
        bool overlapped;

        for (i = 0; i < n; i++) {
                if (!snap_region_copyable(&v[i]))
                        continue;
                sz = v[i].end - v[i].start;
                while (j < npre && pre[j].end <= v[i].start)
                        j++;
                if (snap_region_anon(&v[i])) {
                        uint64_t res = 0;

                        overlapped = false;
                        for (k = j; k < npre && pre[k].start < v[i].end; k++) {
                                res += resident[k];
                                overlapped = true;
                        }
                        if (overlapped)
                                sz = res < sz ? res : sz;
                }
                total += sz;
        }
        return total;
}

static int check_budget(pid_t pid, uint64_t total, uint64_t max_bytes,
                        struct diag *d)
{
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        uint64_t phys = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;

        if (max_bytes && total > max_bytes) {
                /* In KiB: a MiB figure rounds a small --max-memory to 0. */
                diag_set(d, -ENOMEM, "cannot snapshot process %d: copying its writable memory "
                         "(%llu KiB) would exceed the memory budget (%llu KiB)",
                         (int)pid, (unsigned long long)((total + 1023) >> 10),
                         (unsigned long long)(max_bytes >> 10));
                diag_append(d, "hint: raise the budget with --max-memory SIZE, or use "
                            "--snapshot fork (copies nothing), or analyse a core file (--core)");
                return -ENOMEM;
        }
        if (phys && total > phys) {
                diag_set(d, -ENOMEM, "cannot snapshot process %d: its writable memory (%llu MiB) exceeds this machine's RAM (%llu MiB)",
                         (int)pid, (unsigned long long)(total >> 20),
                         (unsigned long long)(phys >> 20));
                return -ENOMEM;
        }
        return 0;
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

static int explain_traced(struct diag *d, pid_t pid, pid_t tid, pid_t tracer)
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
                                return explain_traced(d, c->pid, tid, st.tracer_pid);
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

/* ---- copying ------------------------------------------------------------ *
 * The pause is the product's promise, so everything that can be done while
 * the target still runs is done before the stop: the destination buffers
 * are allocated and the pages the copy will write are faulted in
 * (prepare_buffers), and the copying threads are created (pool_start).
 * While the target is stopped the map is read again, the prepared buffers
 * are adopted by the mappings that did not change, and the mappings are
 * copied by up to SNAP_COPIERS_MAX threads, each reading the page map of
 * the segment it claims (which pages exist may have changed since the
 * buffers were prepared) and then the pages themselves.
 *
 * Only the calling thread ever calls ptrace: a tracee's tracer is the
 * thread that seized it, not the process.  The helper threads only read
 * (process_vm_readv, /proc/PID/mem, /proc/PID/pagemap) into the buffers,
 * and block every signal so that the signal guard always runs on the
 * tracer.  No helper outlives the stop: the tracer waits for every helper
 * that took part before it detaches, so nothing is read from a running
 * target; if the tool dies instead, the helpers die with it and the kernel
 * detaches (or the guard already did). */

/* Copying threads, the calling thread included, at most one per core.
 * Measured on 2 cores with prefaulted buffers (1 GiB target):
 * process_vm_readv ~3.5 GB/s on one thread, ~5.5 GB/s on two; pread on
 * /proc/PID/mem 30-50% slower per thread (a bounce page and an mmap lock
 * per page).  More threads than cores only add contention. */
#define SNAP_COPIERS_MAX  4
/* Pages per claim (2 MiB of 4 KiB pages): small enough that a helper woken
 * late on a loaded machine leaves the rest to the others and nobody waits
 * long for the last claim; large enough that the per-claim system calls
 * (one page map read, one process_vm_readv) cost nothing. */
#define SNAP_SEG_PAGES    512
/* page map entries per read when preparing the buffers */
#define SNAP_PAGEMAP_ENTS 4096

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct copier {
        pid_t pid;
        int mem_fd;
        bool use_vm_readv;
        uint64_t bytes;
        uint64_t bad_pages;
};

/* Reads what it can from addr: bytes read (> 0), 0 if the first byte is
 * unreadable, < 0 if the process is gone. */
static ssize_t read_some(struct copier *cp, uint64_t addr, void *buf, size_t len)
{
        struct iovec l = { buf, len }, rv = { (void *)(uintptr_t)addr, len };
        ssize_t n;

        if (cp->use_vm_readv) {
                n = process_vm_readv(cp->pid, &l, 1, &rv, 1, 0);
                if (n >= 0)
                        return n;
                if (errno == ESRCH)
                        return -ESRCH;
                if (errno == EFAULT || errno == ENOMEM)
                        return 0;
                if (cp->mem_fd < 0)
                        return 0;
                cp->use_vm_readv = false;
        }
        n = pread(cp->mem_fd, buf, len, (off_t)addr);
        if (n < 0)
                return 0;
        if (n == 0)
                return -ESRCH;
        return n;
}

/* Slow path for a piece that failed part-way: read what can be read and
 * leave unreadable pages zero (the buffer comes zeroed from mmap). */
static int copy_slow(struct copier *cp, uint64_t addr, char *buf, size_t len)
{
        const uint64_t page = 4096;
        size_t cur = 0, skip;
        ssize_t n;

        while (cur < len) {
                n = read_some(cp, addr + cur, buf + cur, len - cur);
                if (n < 0)
                        return (int)n;
                if (n > 0) {
                        cur += (size_t)n;
                        cp->bytes += (uint64_t)n;
                        continue;
                }
                skip = (size_t)(page - ((addr + cur) & (page - 1)));
                if (skip > len - cur)
                        skip = len - cur;
                cur += skip;
                cp->bad_pages++;
        }
        return 0;
}

struct piece {
        uint64_t addr;
        char *buf;
        size_t len;
};

static int copy_pieces(struct copier *cp, const struct piece *p, size_t np)
{
        struct iovec l[SNAP_BATCH_IOV], rv[SNAP_BATCH_IOV];
        size_t next = 0, k, total, i, done;
        ssize_t n;
        int r;

        while (next < np) {
                for (k = 0, total = 0; next + k < np && k < SNAP_BATCH_IOV; k++) {
                        if (k > 0 && total + p[next + k].len > SNAP_BATCH_BYTES)
                                break;
                        l[k].iov_base = p[next + k].buf;
                        l[k].iov_len = p[next + k].len;
                        rv[k].iov_base = (void *)(uintptr_t)p[next + k].addr;
                        rv[k].iov_len = p[next + k].len;
                        total += p[next + k].len;
                }
                n = -1;
                if (cp->use_vm_readv) {
                        n = process_vm_readv(cp->pid, l, k, rv, k, 0);
                        if (n < 0 && errno == ESRCH)
                                return -ESRCH;
                        if (n < 0 && errno != EFAULT && errno != ENOMEM &&
                            cp->mem_fd >= 0)
                                cp->use_vm_readv = false;
                }
                if (n < 0)
                        n = 0;
                if ((size_t)n == total) {
                        cp->bytes += total;
                        next += k;
                        continue;
                }
                /* the transfer stopped inside piece i: everything before
                 * is good, finish piece i slowly, batch again after it */
                for (i = 0, done = (size_t)n; i < k && done >= p[next + i].len; i++)
                        done -= p[next + i].len;
                cp->bytes += (size_t)n;
                r = copy_slow(cp, p[next + i].addr + done, p[next + i].buf + done,
                              p[next + i].len - done);
                if (r < 0)
                        return r;
                next += i + 1;
        }
        return 0;
}

/* One claim: at most SNAP_SEG_PAGES pages of one mapping. */
struct seg {
        uint64_t addr;
        char *buf;
        size_t len;
        bool sparse;              /* anonymous: only pages that exist */
};

/* Anonymous memory never touched reads as zeros, and the buffer already is
 * zero: pages that are neither present nor swapped are skipped (mostly
 * idle thread stacks and malloc reserve), which also spares the target the
 * zero page faults a read would cause.  File-backed pages are always read:
 * an absent one holds file contents, not zeros. */
static int copy_seg(struct copier *cp, int pagemap_fd, uint64_t page,
                    const struct seg *g)
{
        uint64_t ent[SNAP_SEG_PAGES];
        struct piece p[SNAP_SEG_PAGES / 2 + 1];
        size_t npages = g->len / page, got = 0, np = 0, j, run = 0;
        bool in_run = false;
        ssize_t n;

        if (!g->sparse || pagemap_fd < 0 || npages > SNAP_SEG_PAGES) {
                p[0] = (struct piece){ g->addr, g->buf, g->len };
                return copy_pieces(cp, p, 1);
        }
        while (got < npages) {
                n = pread(pagemap_fd, ent + got, (npages - got) * sizeof(ent[0]),
                          (off_t)((g->addr / page + got) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0]))
                        break;
                got += (size_t)n / sizeof(ent[0]);
        }
        /* no page map for the rest: read it in full */
        for (j = got; j < npages; j++)
                ent[j] = 1ull << 63;
        for (j = 0; j <= npages; j++) {
                /* bit 63: present, bit 62: swapped */
                if (j < npages && ent[j] & (3ull << 62)) {
                        if (!in_run) {
                                run = j;
                                in_run = true;
                        }
                } else if (in_run) {
                        p[np++] = (struct piece){ g->addr + run * page,
                                                  g->buf + run * page,
                                                  (j - run) * page };
                        in_run = false;
                }
        }
        return copy_pieces(cp, p, np);
}

/* ---- copying threads ---------------------------------------------------- */

struct pool;

struct helper {
        struct pool *pool;
        size_t idx;               /* copier slot, 1.. */
};

struct pool {
        pthread_mutex_t mu;
        pthread_cond_t go, done;
        pthread_t th[SNAP_COPIERS_MAX];
        struct helper h[SNAP_COPIERS_MAX];
        size_t nth;               /* helpers running */
        bool inited;
        unsigned gen;             /* bumped per job */
        bool closed;              /* the job takes no more helpers */
        bool quit;
        size_t busy;              /* helpers inside the job */
        size_t joined;            /* helpers that took part in it */
        /* the job */
        const struct seg *g;
        size_t ng;
        int pagemap_fd;
        uint64_t page;
        atomic_size_t next;       /* next segment to claim */
        atomic_int err;           /* first error, 0 = none */
        struct copier cp[SNAP_COPIERS_MAX];   /* [0]: the calling thread */
};

static void copy_claims(struct pool *pl, struct copier *cp)
{
        size_t k;
        int r, none;

        while (atomic_load(&pl->err) == 0) {
                k = atomic_fetch_add(&pl->next, 1);
                if (k >= pl->ng)
                        break;
                r = copy_seg(cp, pl->pagemap_fd, pl->page, &pl->g[k]);
                if (r < 0) {
                        none = 0;
                        atomic_compare_exchange_strong(&pl->err, &none, r);
                }
        }
}

static void *helper_main(void *arg)
{
        struct helper *h = arg;
        struct pool *pl = h->pool;
        unsigned seen = 0;

        pthread_mutex_lock(&pl->mu);
        for (;;) {
                while (!pl->quit && pl->gen == seen)
                        pthread_cond_wait(&pl->go, &pl->mu);
                if (pl->quit)
                        break;
                seen = pl->gen;
                /* woken after the tracer finished: nothing left to do, and
                 * the job's memory may be gone */
                if (pl->closed)
                        continue;
                pl->busy++;
                pl->joined++;
                pthread_mutex_unlock(&pl->mu);
                copy_claims(pl, &pl->cp[h->idx]);
                pthread_mutex_lock(&pl->mu);
                if (--pl->busy == 0)
                        pthread_cond_signal(&pl->done);
        }
        pthread_mutex_unlock(&pl->mu);
        return NULL;
}

/* Starts up to n - 1 helpers (fewer if threads cannot be created: the
 * copy then runs on fewer threads, which is not an error). */
static void pool_start(struct pool *pl, size_t n)
{
        sigset_t all, old;
        size_t i;

        memset(pl, 0, sizeof(*pl));
        if (pthread_mutex_init(&pl->mu, NULL))
                return;
        if (pthread_cond_init(&pl->go, NULL)) {
                pthread_mutex_destroy(&pl->mu);
                return;
        }
        if (pthread_cond_init(&pl->done, NULL)) {
                pthread_cond_destroy(&pl->go);
                pthread_mutex_destroy(&pl->mu);
                return;
        }
        pl->inited = true;
        if (n > SNAP_COPIERS_MAX)
                n = SNAP_COPIERS_MAX;
        /* helpers inherit a full mask: asynchronous signals go to the
         * tracer, whose guard handler can detach */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (i = 1; i < n; i++) {
                pl->h[pl->nth].pool = pl;
                pl->h[pl->nth].idx = i;
                if (pthread_create(&pl->th[pl->nth], NULL, helper_main, &pl->h[pl->nth]))
                        break;
                pl->nth++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Copies the segments on the calling thread and every helper that wakes
 * in time; returns once no helper touches the job any more. */
static int pool_run(struct pool *pl, const struct copier *tmpl, int pagemap_fd,
                    uint64_t page, const struct seg *g, size_t ng,
                    size_t *ret_threads)
{
        size_t i, joined = 1;

        for (i = 0; i < SNAP_COPIERS_MAX; i++)
                pl->cp[i] = *tmpl;
        pl->g = g;
        pl->ng = ng;
        pl->pagemap_fd = pagemap_fd;
        pl->page = page;
        atomic_store(&pl->next, 0);
        atomic_store(&pl->err, 0);
        if (pl->inited && pl->nth) {
                pthread_mutex_lock(&pl->mu);
                pl->closed = false;
                pl->joined = 0;
                pl->gen++;
                pthread_cond_broadcast(&pl->go);
                pthread_mutex_unlock(&pl->mu);
        }
        copy_claims(pl, &pl->cp[0]);
        if (pl->inited && pl->nth) {
                pthread_mutex_lock(&pl->mu);
                pl->closed = true;
                while (pl->busy)
                        pthread_cond_wait(&pl->done, &pl->mu);
                joined += pl->joined;
                pthread_mutex_unlock(&pl->mu);
        }
        *ret_threads = joined;
        return atomic_load(&pl->err);
}

static void pool_stop(struct pool *pl)
{
        size_t i;

        if (!pl->inited)
                return;
        pthread_mutex_lock(&pl->mu);
        pl->quit = true;
        pthread_cond_broadcast(&pl->go);
        pthread_mutex_unlock(&pl->mu);
        for (i = 0; i < pl->nth; i++)
                pthread_join(pl->th[i], NULL);
        pthread_cond_destroy(&pl->done);
        pthread_cond_destroy(&pl->go);
        pthread_mutex_destroy(&pl->mu);
        pl->inited = false;
}

static size_t copiers_wanted(unsigned debug)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (debug & SNAPSHOT_DEBUG_ONE_COPIER || n < 1)
                return 1;
        return n > SNAP_COPIERS_MAX ? SNAP_COPIERS_MAX : (size_t)n;
}

/* ---- buffers prepared before the stop ----------------------------------- */

struct prep {
        uint64_t start, end;
        char *buf;                /* NULL once adopted */
};

struct prepared {
        struct prep *v;
        size_t n;
        uint64_t page;
};

static bool populate_missing;   /* MADV_POPULATE_WRITE unknown (< 5.14) */

/* Faults in len bytes at p now so that the copy does not fault in the
 * pause. */
static int prefault(char *p, uint64_t len, uint64_t page)
{
        volatile char *v = p;
        uint64_t i;

        if (!populate_missing) {
                if (madvise(p, (size_t)len, MADV_POPULATE_WRITE) == 0)
                        return 0;
                if (errno == ENOMEM)
                        return -ENOMEM;
                if (errno == EINVAL)
                        populate_missing = true;
        }
        /* one write per page faults it in, as the copy would */
        for (i = 0; i < len; i += page)
                v[i] = 0;
        return 0;
}

/* Faults in the pages of buf that copy_seg() will write for mapping r as
 * the page map shows it now: only the existing pages of an anonymous
 * mapping (the resident and swapped ones, which the budget counted). */
static int prefault_region(int pagemap_fd, uint64_t page, const struct mem_region *r,
                           char *buf)
{
        uint64_t ent[SNAP_PAGEMAP_ENTS], npages, base, run = 0, idx;
        bool in_run = false;
        size_t want, got, j;
        ssize_t n;
        int ret;

        if (!snap_region_anon(r) || pagemap_fd < 0)
                return prefault(buf, r->end - r->start, page);
        npages = (r->end - r->start) / page;
        for (base = 0; base < npages; base += got) {
                want = npages - base < SNAP_PAGEMAP_ENTS ? (size_t)(npages - base)
                                                         : SNAP_PAGEMAP_ENTS;
                n = pread(pagemap_fd, ent, want * sizeof(ent[0]),
                          (off_t)((r->start / page + base) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0])) {
                        /* no page map: the copy reads the rest in full */
                        if (in_run)
                                base = run;
                        return prefault(buf + base * page, (npages - base) * page, page);
                }
                got = (size_t)n / sizeof(ent[0]);
                for (j = 0; j < got; j++) {
                        idx = base + j;
                        if (ent[j] & (3ull << 62)) {
                                if (!in_run) {
                                        run = idx;
                                        in_run = true;
                                }
                        } else if (in_run) {
                                ret = prefault(buf + run * page, (idx - run) * page, page);
                                if (ret < 0)
                                        return ret;
                                in_run = false;
                        }
                }
        }
        if (in_run)
                return prefault(buf + run * page, (npages - run) * page, page);
        return 0;
}

static void prepared_release(struct prepared *pp)
{
        size_t i;

        for (i = 0; i < pp->n; i++)
                if (pp->v[i].buf)
                        munmap(pp->v[i].buf, (size_t)(pp->v[i].end - pp->v[i].start));
        free(pp->v);
        pp->v = NULL;
        pp->n = 0;
}

/* Before the stop: a buffer per copyable mapping of the map read before
 * it, its pages that the copy will write already faulted in. */
static int prepare_buffers(pid_t pid, const struct mem_region *pre, size_t npre,
                           int pagemap_fd, uint64_t page, struct prepared *pp,
                           struct diag *d)
{
        struct prep *p;
        uint64_t len;
        size_t i;
        int r;

        pp->page = page;
        pp->n = 0;
        pp->v = calloc(npre ? npre : 1, sizeof(*pp->v));
        if (!pp->v)
                return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory",
                                (int)pid);
        for (i = 0; i < npre; i++) {
                if (!snap_region_copyable(&pre[i]))
                        continue;
                len = pre[i].end - pre[i].start;
                /* odd mappings are refused by copy_regions, if still there */
                if (len > SIZE_MAX || (pre[i].start | pre[i].end) & (page - 1))
                        continue;
                p = &pp->v[pp->n];
                p->start = pre[i].start;
                p->end = pre[i].end;
                p->buf = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (p->buf == MAP_FAILED) {
                        p->buf = NULL;
                        r = -ENOMEM;
                } else {
                        pp->n++;
                        snap_advise_huge(pagemap_fd, &pre[i], p->buf);
                        r = prefault_region(pagemap_fd, page, &pre[i], p->buf);
                }
                if (r < 0) {
                        prepared_release(pp);
                        return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory preparing %llu MiB for the copy",
                                        (int)pid, (unsigned long long)(len >> 20));
                }
        }
        return 0;
}

/* The prepared buffer for exactly [start, end), handed over to the caller;
 * NULL if the mapping changed since.  *cursor walks pp in address order. */
static char *prepared_take(struct prepared *pp, size_t *cursor, uint64_t start,
                           uint64_t end)
{
        char *b;

        while (*cursor < pp->n && pp->v[*cursor].start < start)
                (*cursor)++;
        if (*cursor >= pp->n || pp->v[*cursor].start != start ||
            pp->v[*cursor].end != end)
                return NULL;
        b = pp->v[*cursor].buf;
        pp->v[*cursor].buf = NULL;
        return b;
}

/* A mapping that changed since the buffers were prepared (a Python arena
 * mapped next to others grows their merged mapping) still overlaps prepared
 * buffers: move their faulted-in pages into its new buffer instead of
 * faulting again during the pause.  MREMAP_DONTUNMAP (Linux 5.7) leaves the
 * source range mapped, so nothing else can land in it before
 * prepared_release() unmaps it; without it the pages are simply not
 * reused. */
static void prepared_move(struct prepared *pp, uint64_t start, uint64_t end,
                          char *buf)
{
#ifdef MREMAP_DONTUNMAP
        uint64_t lo, hi;
        size_t i;

        for (i = 0; i < pp->n; i++) {
                if (!pp->v[i].buf || pp->v[i].end <= start || pp->v[i].start >= end)
                        continue;
                lo = pp->v[i].start > start ? pp->v[i].start : start;
                hi = pp->v[i].end < end ? pp->v[i].end : end;
                if (mremap(pp->v[i].buf + (lo - pp->v[i].start), (size_t)(hi - lo),
                           (size_t)(hi - lo),
                           MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                           buf + (lo - start)) == MAP_FAILED)
                        return;
        }
#else
        (void)pp;
        (void)start;
        (void)end;
        (void)buf;
#endif
}

/* ---- the copy, while stopped -------------------------------------------- */

struct copy_result {
        uint64_t bytes;
        uint64_t bad_pages;
        size_t threads;
};

static int segs_add(struct seg **v, size_t *n, size_t *cap, uint64_t page,
                    const struct mem_region *r, char *buf)
{
        uint64_t off, len = r->end - r->start, chunk, max = SNAP_SEG_PAGES * page;
        struct seg *nv;

        for (off = 0; off < len; off += chunk) {
                chunk = len - off < max ? len - off : max;
                if (*n == *cap) {
                        *cap = *cap ? *cap * 2 : 256;
                        nv = realloc(*v, *cap * sizeof(*nv));
                        if (!nv)
                                return -ENOMEM;
                        *v = nv;
                }
                (*v)[*n] = (struct seg){ r->start + off, buf + off, (size_t)chunk,
                                         snap_region_anon(r) };
                (*n)++;
        }
        return 0;
}

static int copy_regions(struct snap *s, const struct copier *tmpl, struct pool *pl,
                        int pagemap_fd, struct prepared *pp,
                        struct copy_result *res, struct diag *d)
{
        struct mem_region *v = s->base.regions;
        struct seg *g = NULL;
        uint64_t page = pp->page, len;
        size_t i, cursor = 0, ng = 0, cap = 0;
        int r;

        s->bufs = calloc(s->base.nregions ? s->base.nregions : 1, sizeof(*s->bufs));
        if (!s->bufs)
                return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory",
                                (int)s->base.pid);
        for (i = 0; i < s->base.nregions; i++) {
                if (!snap_region_copyable(&v[i]))
                        continue;
                len = v[i].end - v[i].start;
                if (len > SIZE_MAX || (v[i].start | v[i].end) & (page - 1)) {
                        r = diag_set(d, -EBADMSG, "cannot snapshot process %d: odd mapping %llx-%llx",
                                     (int)s->base.pid, (unsigned long long)v[i].start,
                                     (unsigned long long)v[i].end);
                        goto out;
                }
                s->bufs[i] = prepared_take(pp, &cursor, v[i].start, v[i].end);
                if (!s->bufs[i]) {
                        /* new or changed since the buffers were prepared:
                         * its pages fault during the copy */
                        s->bufs[i] = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                          -1, 0);
                        if (s->bufs[i] == MAP_FAILED) {
                                s->bufs[i] = NULL;
                                r = diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory copying %llu MiB",
                                             (int)s->base.pid, (unsigned long long)(len >> 20));
                                goto out;
                        }
                        prepared_move(pp, v[i].start, v[i].end, s->bufs[i]);
                }
                v[i].copied = true;
                r = segs_add(&g, &ng, &cap, page, &v[i], s->bufs[i]);
                if (r < 0) {
                        diag_set(d, r, "cannot snapshot process %d: out of memory",
                                 (int)s->base.pid);
                        goto out;
                }
        }
        r = pool_run(pl, tmpl, pagemap_fd, page, g, ng, &res->threads);
        for (i = 0; i < SNAP_COPIERS_MAX; i++) {
                res->bytes += pl->cp[i].bytes;
                res->bad_pages += pl->cp[i].bad_pages;
        }
        if (r == -ESRCH)
                diag_set(d, -ESRCH, "process %d exited during the snapshot", (int)s->base.pid);
        else if (r < 0)
                diag_set(d, r, "cannot copy the memory of process %d: %s",
                         (int)s->base.pid, strerror(-r));
out:
        free(g);
        return r;
}

/* After the target runs again: keep an fd on each read-only mapped file so
 * the copy stays readable after the process exits. */
static void open_files(struct snap *s)
{
        const struct mem_region *r;
        struct snap_file *f;
        size_t i, j;
        char *host = NULL;
        int fd;

        s->file_of = malloc((s->base.nregions ? s->base.nregions : 1) * sizeof(*s->file_of));
        if (!s->file_of)
                return;
        for (i = 0; i < s->base.nregions; i++)
                s->file_of[i] = -1;
        s->files = calloc(SNAP_MAX_FILES, sizeof(*s->files));
        if (!s->files)
                return;
        for (i = 0; i < s->base.nregions; i++) {
                r = &s->base.regions[i];
                if (r->copied || !r->r || !r->path || r->path[0] != '/' ||
                    !r->inode || strncmp(r->path, "/dev/", 5) == 0)
                        continue;
                for (j = 0; j < s->nfiles; j++)
                        if (s->files[j].inode == r->inode &&
                            strcmp(s->files[j].path, r->path) == 0)
                                break;
                if (j < s->nfiles) {
                        s->file_of[i] = (int)j;
                        continue;
                }
                if (s->nfiles >= SNAP_MAX_FILES)
                        continue;
                fd = proc_open_mapped_file(s->base.pid, r, &host);
                if (fd < 0)
                        continue;
                f = &s->files[s->nfiles];
                f->path = strdup(r->path);
                if (!f->path) {
                        close(fd);
                        free(host);
                        host = NULL;
                        continue;
                }
                f->fd = fd;
                f->inode = r->inode;
                f->host_path = host;
                host = NULL;
                s->file_of[i] = (int)s->nfiles++;
        }
}

/* ---- entry point -------------------------------------------------------- */

int snap_precheck(pid_t pid, struct diag *d)
{
        struct proc_status st;
        int r;

        if (pid <= 0)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        if (pid == getpid())
                return diag_set(d, -EINVAL, "cannot snapshot process %d: it is this tool itself",
                                (int)pid);
        r = proc_read_status(pid, pid, &st);
        if (r == -ESRCH)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        if (r == -EPERM)
                return proc_explain_eperm(d, pid, "inspect", proc_yama_ptrace_scope());
        if (r < 0)
                return diag_set(d, r, "cannot read /proc/%d/status: %s", (int)pid, strerror(-r));
        r = proc_check_alive(pid, d);
        if (r < 0)
                return r;
        if (st.tracer_pid > 0)
                return explain_traced(d, pid, pid, st.tracer_pid);
        if (st.state == 'T' || st.state == 't') {
                diag_set(d, -EBUSY, "process %d is stopped (SIGSTOP or job control); a snapshot would have to resume it",
                         (int)pid);
                diag_append(d, "hint: resume it with `kill -CONT %d`, then retry", (int)pid);
                return -EBUSY;
        }
        return 0;
}

/* Copy mode.  pre/resident: the map read before the stop (smaps). */
static int copy_take(pid_t pid, const struct snapshot_opts *opts, uint64_t max_bytes,
                     const struct mem_region *pre, const uint64_t *resident,
                     size_t npre, struct memsrc **ret,
                     struct snapshot_stats *stats, struct diag *d)
{
        struct ctx c = { .pid = pid };
        struct copier cp = { .pid = pid, .mem_fd = -1, .use_vm_readv = true };
        struct prepared pp = {0};
        struct copy_result res = {0};
        struct pool pool;
        struct snap *s = NULL;
        int timeout_ms = opts && opts->stop_timeout_ms > 0 ? opts->stop_timeout_ms
                                                           : SNAP_DEFAULT_TIMEOUT_MS;
        unsigned debug = opts ? opts->debug : 0;
        long psz = sysconf(_SC_PAGESIZE);
        uint64_t page = psz > 0 ? (uint64_t)psz : 4096;
        uint64_t t_prep0 = 0, t_prep1 = 0, t_stopped = 0, t_copy0 = 0, t_copy1 = 0;
        size_t i;
        char path[96];
        pid_t rtid;
        int r, pagemap_fd = -1;

        memset(&pool, 0, sizeof(pool));
        r = check_budget(pid, snap_copy_size(pre, resident, npre), max_bytes, d);
        if (r < 0)
                return r;
        rtid = proc_reader_tid(pid);
        s = calloc(1, sizeof(*s));
        c.t = calloc(SNAP_MAX_THREADS, sizeof(*c.t));
        if (!s || !c.t) {
                r = diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory", (int)pid);
                goto out;
        }
        s->base.ops = &snap_ops;
        s->base.pid = pid;
        s->mem_fd = -1;
        /* opened before the stop: the fallback reader during the copy, then
         * the pid-reuse-proof reader of the read-only mappings.  Both pin
         * the mm, not the thread they were opened through. */
        proc_task_path(path, sizeof(path), pid, rtid, "mem");
        s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        cp.mem_fd = s->mem_fd;
        if (debug & SNAPSHOT_DEBUG_COPY_PREAD && cp.mem_fd >= 0)
                cp.use_vm_readv = false;
        proc_task_path(path, sizeof(path), pid, rtid, "pagemap");
        pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);

        /* everything that allocates or faults happens here, while the
         * target runs */
        t_prep0 = mono_ns();
        r = prepare_buffers(pid, pre, npre, pagemap_fd, page, &pp, d);
        if (r < 0)
                goto out;
        pool_start(&pool, copiers_wanted(debug));
        t_prep1 = mono_ns();

        r = snap_stop_all(&c, timeout_ms, d);
        if (r < 0)
                goto out;
        t_stopped = mono_ns();

        /* process_vm_readv and maps need a thread that still has the mm:
         * one we hold stopped, the leader if it is among them */
        cp.pid = 0;
        for (i = 0; i < c.n; i++)
                if (c.t[i].state == T_STOPPED && (!cp.pid || c.t[i].tid == pid))
                        cp.pid = c.t[i].tid;
        /* the authoritative map is the one read while nothing runs */
        r = procmaps_read_task(pid, cp.pid, &s->base.regions, &s->base.nregions);
        /* an empty map: the address space is being torn down */
        if (r == 0 && s->base.nregions == 0)
                r = -ESRCH;
        if (r < 0) {
                if (r == -ESRCH)
                        diag_set(d, r, "process %d exited during the snapshot", (int)pid);
                else
                        proc_explain_maps_error(d, pid, "maps", r);
                goto out;
        }
        /* the map may have grown since: recheck with the new mappings
         * counted at their virtual size */
        r = check_budget(pid, copy_size_again(s->base.regions, s->base.nregions,
                                              pre, resident, npre),
                         max_bytes, d);
        if (r < 0)
                goto out;
        t_copy0 = mono_ns();
        r = copy_regions(s, &cp, &pool, pagemap_fd, &pp, &res, d);
        t_copy1 = mono_ns();
        if (r < 0)
                goto out;
        r = 0;
out:
        /* every helper has left the copy (pool_run waits for them), so the
         * target may run again; the tracer detaches, as it seized */
        snap_detach_all(&c);
        pool_stop(&pool);
        prepared_release(&pp);
        if (pagemap_fd >= 0)
                close(pagemap_fd);
        if (r == 0) {
                open_files(s);
                if (stats) {
                        stats->mode_used = SNAPSHOT_COPY;
                        stats->pause_ms = snap_ms_between(c.t_first, c.t_last_detach);
                        stats->stop_ms = snap_ms_between(c.t_first, t_stopped);
                        stats->copy_ms = snap_ms_between(t_copy0, t_copy1);
                        stats->prep_ms = snap_ms_between(t_prep0, t_prep1);
                        stats->threads = (int)c.nstopped;
                        stats->bytes_copied = res.bytes;
                        for (i = 0; i < s->base.nregions; i++)
                                stats->regions_copied += s->base.regions[i].copied;
                        stats->pages_unreadable = res.bad_pages;
                        stats->copy_threads = (int)res.threads;
                        stats->copy_gbps = stats->copy_ms > 0
                                ? (double)res.bytes / (stats->copy_ms * 1e6) : 0;
                }
                *ret = &s->base;
                s = NULL;
        }
        if (s)
                memsrc_free(&s->base);
        free(c.t);
        return r;
}

/* ---- memory budget ------------------------------------------------------ */

#define CGROUP_MAX_DEPTH 32

static uint64_t meminfo_available(void)
{
        char *text = NULL, *p;
        unsigned long long kb;
        size_t len;

        if (proc_read_file("/proc/meminfo", 1u << 16, &text, &len) < 0)
                return 0;
        p = strstr(text, "MemAvailable:");
        kb = p && sscanf(p, "MemAvailable: %llu kB", &kb) == 1 ? kb : 0;
        free(text);
        return (uint64_t)kb * 1024;
}

/* A number from a cgroup file; "max" and v1's "no limit" (near 2^63) give
 * UINT64_MAX. */
static uint64_t cg_read_u64(const char *dir, const char *file)
{
        char path[PATH_MAX], *text = NULL;
        unsigned long long v;
        size_t len;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
            proc_read_file(path, 256, &text, &len) < 0)
                return UINT64_MAX;
        if (strncmp(text, "max", 3) == 0 || sscanf(text, "%llu", &v) != 1 ||
            v >= (1ull << 62))
                v = UINT64_MAX;
        free(text);
        return (uint64_t)v;
}

/* Where the hierarchy holding this process's memory controller is mounted
 * (v2: any cgroup2 mount; v1: the cgroup mount with the memory option). */
static bool cg_mount(bool v2, char *buf, size_t size)
{
        char *text = NULL, *line, *save = NULL, *sep;
        char mnt[PATH_MAX], fstype[64], opts[512];
        bool found = false;
        size_t len;

        if (proc_read_file("/proc/self/mountinfo", 1u << 20, &text, &len) < 0)
                return false;
        for (line = strtok_r(text, "\n", &save); line && !found;
             line = strtok_r(NULL, "\n", &save)) {
                sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
                    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
                        continue;
                if (v2 ? strcmp(fstype, "cgroup2") == 0
                       : strcmp(fstype, "cgroup") == 0 && strstr(opts, "memory")) {
                        found = (size_t)snprintf(buf, size, "%s", mnt) < size;
                }
        }
        free(text);
        return found;
}

/* limit - usage of the tightest memory cgroup from ours up to the root;
 * 0 = no limit anywhere.  Usage counts page cache, so this errs low. */
static uint64_t cgroup_headroom(void)
{
        char *text = NULL, *line, *save = NULL, *path = NULL;
        char mnt[PATH_MAX], dir[PATH_MAX], *slash;
        uint64_t best = UINT64_MAX, lim, use;
        bool v2 = false;
        size_t len;
        int depth;

        if (proc_read_file("/proc/self/cgroup", 1u << 16, &text, &len) < 0)
                return 0;
        /* prefer a v1 memory controller line; else the v2 "0::" line */
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

                if (!c2)
                        continue;
                *c2 = '\0';
                if (strstr(c1 + 1, "memory")) {
                        path = c2 + 1;
                        v2 = false;
                        break;
                }
                if (c1[1] == '\0' && strncmp(line, "0:", 2) == 0) {
                        path = c2 + 1;
                        v2 = true;
                }
        }
        if (!path || !cg_mount(v2, mnt, sizeof(mnt)) ||
            (size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, path) >= sizeof(dir)) {
                free(text);
                return 0;
        }
        free(text);
        for (depth = 0; depth < CGROUP_MAX_DEPTH; depth++) {
                lim = cg_read_u64(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
                use = cg_read_u64(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
                if (lim != UINT64_MAX) {
                        use = use == UINT64_MAX ? 0 : use;
                        if ((lim > use ? lim - use : 0) < best)
                                best = lim > use ? lim - use : 0;
                }
                slash = strrchr(dir, '/');
                if (!slash || (size_t)(slash - dir) < strlen(mnt))
                        break;
                *slash = '\0';
        }
        /* a limit with no headroom left is still a limit: 1 byte */
        return best == UINT64_MAX ? 0 : best ? best : 1;
}

uint64_t snapshot_default_budget(uint64_t *ret_available, uint64_t *ret_headroom)
{
        uint64_t avail = meminfo_available(), head = cgroup_headroom(), m;

        if (ret_available)
                *ret_available = avail;
        if (ret_headroom)
                *ret_headroom = head;
        m = avail;
        if (head && (!m || head < m))
                m = head;
        return m / 2;
}

/* ---- modes -------------------------------------------------------------- */

static const char *const mode_names[] = {
        [SNAPSHOT_COPY] = "copy",
        [SNAPSHOT_FORK] = "fork",
        [SNAPSHOT_LIVE] = "live",
        [SNAPSHOT_AUTO] = "auto",
};

int snapshot_explain_exit(pid_t pid, struct diag *d)
{
        return proc_explain_exit(pid, d);
}

const char *snapshot_mode_name(enum snapshot_mode mode)
{
        if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
                return NULL;
        return mode_names[mode];
}

int snapshot_mode_parse(const char *s, enum snapshot_mode *ret)
{
        size_t i;

        for (i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (strcmp(s, mode_names[i]) == 0) {
                        if (ret)
                                *ret = (enum snapshot_mode)i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- entry point -------------------------------------------------------- */

/* The figures of snapshot.h's mode comment, measured on two idle cores. */
#define PLAN_COPY_MS_PER_GB 200.0
#define PLAN_FORK_MS_PER_GB 33.0
#define PLAN_STOP_MS 2.0

int snapshot_rss(pid_t pid, uint64_t *ret)
{
        char path[64], *text = NULL, *p, *end;
        unsigned long long kib;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        r = proc_read_file(path, 1u << 16, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "\nVmRSS:");
        if (!p) {
                free(text);
                return -ENOENT;
        }
        errno = 0;
        kib = strtoull(p + 7, &end, 10);
        r = errno || end == p + 7 || kib > (1ULL << 44) ? -EBADMSG : 0;
        free(text);
        if (r == 0)
                *ret = (uint64_t)kib << 10;
        return r;
}

int snapshot_plan(pid_t pid, const struct snapshot_opts *opts, struct snapshot_plan *ret,
                  struct diag *d)
{
        enum snapshot_mode mode = opts ? opts->mode : SNAPSHOT_COPY;
        uint64_t threshold = opts && opts->auto_threshold ? opts->auto_threshold
                                                          : SNAPSHOT_AUTO_THRESHOLD;
        struct snapshot_plan p = {0};
        struct mem_region *pre = NULL;
        uint64_t *resident = NULL;
        size_t npre = 0;
        char why[256] = "";
        double gb;
        int r;

        r = snap_precheck(pid, d);
        if (r < 0)
                return r;
        r = procmaps_read_smaps(pid, proc_reader_tid(pid), &pre, &resident, &npre);
        if (r == -EPERM)
                return proc_explain_eperm(d, pid, "read the memory map of", proc_yama_ptrace_scope());
        if (r < 0)
                return diag_set(d, r, "cannot read /proc/%d/smaps: %s", (int)pid, strerror(-r));
        p.writable_bytes = snap_copy_size(pre, resident, npre);
        memsrc_regions_free(pre, npre);
        free(resident);
        p.budget_bytes = snapshot_default_budget(&p.mem_available, &p.cgroup_headroom);
        if (opts && opts->max_bytes)
                p.budget_bytes = opts->max_bytes;
        gb = (double)p.writable_bytes / 1e9;
        p.mode = mode == SNAPSHOT_AUTO ? SNAPSHOT_COPY : mode;
        if (mode == SNAPSHOT_AUTO && (p.writable_bytes > threshold ||
                                      p.writable_bytes > p.budget_bytes)) {
                if (snap_fork_possible(pid, why, sizeof(why)))
                        p.mode = SNAPSHOT_FORK;
                snprintf(p.why, sizeof(p.why), "more to copy than the %s: %s%s%s",
                         p.writable_bytes > p.budget_bytes ? "memory budget" : "auto threshold",
                         p.mode == SNAPSHOT_FORK ? "fork, if its helper is kill-safe here "
                         "(else copy)" : "copy, as it cannot fork (", p.mode == SNAPSHOT_FORK ?
                         "" : why, p.mode == SNAPSHOT_FORK ? "" : ")");
        } else if (mode == SNAPSHOT_AUTO) {
                snprintf(p.why, sizeof(p.why), "under auto's %llu MiB threshold",
                         (unsigned long long)(threshold >> 20));
        } else if (mode == SNAPSHOT_FORK && !snap_fork_possible(pid, why, sizeof(why))) {
                p.mode = SNAPSHOT_COPY;
                snprintf(p.why, sizeof(p.why), "fork not possible (%s): copy", why);
        } else {
                snprintf(p.why, sizeof(p.why), "--snapshot %s", snapshot_mode_name(mode));
        }
        p.over_budget = p.mode == SNAPSHOT_COPY && p.writable_bytes > p.budget_bytes;
        if (p.mode == SNAPSHOT_COPY)
                p.pause_ms = PLAN_STOP_MS + gb * PLAN_COPY_MS_PER_GB;
        else if (p.mode == SNAPSHOT_FORK)
                p.pause_ms = PLAN_STOP_MS + gb * PLAN_FORK_MS_PER_GB;
        *ret = p;
        return 0;
}

int snapshot_take(pid_t pid, const struct snapshot_opts *opts,
                  struct memsrc **ret, struct snapshot_stats *stats,
                  struct diag *d)
{
        static atomic_int busy;
        struct snapshot_stats st, keep;
        struct diag fd;
        char *p;
        struct mem_region *pre = NULL;
        uint64_t *resident = NULL, budget, threshold;
        enum snapshot_mode mode = opts ? opts->mode : SNAPSHOT_COPY;
        size_t npre = 0;
        int fallback = SNAP_FORK_NO_FALLBACK;
        char why[256];
        int r;

        if (!ret || !snapshot_mode_name(mode))
                return -EINVAL;
        if (atomic_exchange(&busy, 1))
                return diag_set(d, -EBUSY, "cannot snapshot process %d: another snapshot is running in this process",
                                (int)pid);
        memset(&st, 0, sizeof(st));
        st.mode_requested = mode;
        orphans_reap();

        r = snap_precheck(pid, d);
        if (r < 0)
                goto out;
        if (mode == SNAPSHOT_LIVE) {
                r = memsrc_open_live(pid, ret, d);
                st.mode_used = SNAPSHOT_LIVE;
                if (r < 0)
                        goto out;
                budget = opts && opts->max_bytes ? opts->max_bytes : snapshot_default_budget(NULL, NULL);
                st.budget_bytes = budget < SNAPSHOT_LIVE_CACHE_MAX ? budget : SNAPSHOT_LIVE_CACHE_MAX;
                /* without the cache a live read is just slower */
                (void)memsrc_live_cache(*ret, st.budget_bytes);
                goto out;
        }
        r = procmaps_read_smaps(pid, proc_reader_tid(pid), &pre, &resident, &npre);
        if (r == -ESRCH) {
                r = diag_set(d, -ESRCH, "no process with pid %d (it exited)\nhint: nothing is left to inspect; for a process that crashes, analyse a core file (--core)", (int)pid);
                goto out;
        }
        if (r == -EPERM) {
                r = proc_explain_eperm(d, pid, "read the memory map of", proc_yama_ptrace_scope());
                goto out;
        }
        if (r < 0) {
                proc_explain_maps_error(d, pid, "smaps", r);
                goto out;
        }
        st.writable_bytes = snap_copy_size(pre, resident, npre);
        budget = snapshot_default_budget(&st.mem_available, &st.cgroup_headroom);
        if (opts && opts->max_bytes)
                budget = opts->max_bytes;
        st.budget_bytes = budget;
        threshold = opts && opts->auto_threshold ? opts->auto_threshold
                                                 : SNAPSHOT_AUTO_THRESHOLD;

        if (mode == SNAPSHOT_AUTO) {
                if (st.writable_bytes <= threshold && st.writable_bytes <= budget)
                        mode = SNAPSHOT_COPY;
                else if (snap_fork_possible(pid, why, sizeof(why)))
                        mode = SNAPSHOT_FORK;
                else {
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "auto: %llu MiB to copy, but cannot fork: %s",
                                 (unsigned long long)(st.writable_bytes >> 20), why);
                        mode = SNAPSHOT_COPY;
                }
        } else if (mode == SNAPSHOT_FORK && !snap_fork_possible(pid, why, sizeof(why))) {
                snprintf(st.fallback, sizeof(st.fallback),
                         "fork mode not possible (%s); used copy mode", why);
                mode = SNAPSHOT_COPY;
        }
        if (mode == SNAPSHOT_FORK) {
                /* its own diag: the fallback reason must not depend on
                 * whether the caller asked for one */
                diag_clear(&fd);
                /* AUTO forks only with a kill-safe helper; an explicit
                 * fork goes on and warns */
                r = snap_fork_take(pid, opts, st.mode_requested == SNAPSHOT_AUTO, ret, &st,
                                   &fallback, &fd);
                if (r < 0 && fallback == SNAP_FORK_NO_FALLBACK && d)
                        *d = fd;
                if (r >= 0 || fallback == SNAP_FORK_NO_FALLBACK)
                        goto out;
                /* start the copy's figures from scratch, keep the inputs */
                keep = st;
                memset(&st, 0, sizeof(st));
                st.mode_requested = keep.mode_requested;
                st.writable_bytes = keep.writable_bytes;
                st.budget_bytes = keep.budget_bytes;
                st.mem_available = keep.mem_available;
                st.cgroup_headroom = keep.cgroup_headroom;
                if (fallback == SNAP_FORK_UNSAFE)
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "auto: %llu MiB to copy, but fork mode is not kill-safe here (%.380s); used copy mode",
                                 (unsigned long long)(st.writable_bytes >> 20), fd.msg);
                else
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "fork failed (%.400s); used copy mode",
                                 fd.msg[0] ? fd.msg : strerror(-r));
                /* one line: "hint:" lines become "; hint:" */
                for (p = st.fallback; (p = strchr(p, '\n')); )
                        *p = ';';
        }
        r = copy_take(pid, opts, budget, pre, resident, npre, ret, &st, d);
        if (r < 0 && fallback == SNAP_FORK_UNSAFE)
                diag_append(d, "hint: auto did not fork because fork mode is not kill-safe here (%s); --snapshot fork forks anyway",
                            fd.msg);
out:
        if (r >= 0 && stats)
                *stats = st;
        memsrc_regions_free(pre, npre);
        free(resident);
        atomic_store(&busy, 0);
        return r;
}
