/* snapshot: stop/copy/resume on real child processes, refusals (stopped,
 * traced, zombie, missing), many cycles, and the tool dying mid-snapshot. */
#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot.h"
#include "tap.h"
#include "testutil.h"
#include "child.h"

#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/ptrace.h>

static int read_counter(pid_t pid, uint64_t addr, uint64_t *ret)
{
        struct memsrc *m = NULL;
        int r;

        r = memsrc_open_live(pid, &m, NULL);
        if (r < 0)
                return r;
        r = memsrc_read_u64(m, addr, ret);
        memsrc_free(m);
        return r;
}

/* Liveness, not speed: the target's busy thread must run again, so poll
 * for up to two seconds (a loaded machine may not schedule it within a
 * fixed few milliseconds; a target left stopped never advances). */
static int counter_advances(struct child *c)
{
        uint64_t a = 0, b = 0;

        if (read_counter(c->pid, c->rep.counter, &a) < 0)
                return 0;
        return WAIT_FOR(read_counter(c->pid, c->rep.counter, &b) == 0 && b > a,
                        TEST_DEADLINE_MS);
}

/* Waits (bounded) until the target is neither stopped nor traced. */
static int wait_free(pid_t pid, int ms)
{
        struct proc_status st;
        double end = now_ms() + ms;

        do {
                if (proc_read_status(pid, pid, &st) == 0 && st.tracer_pid == 0 &&
                    st.state != 't' && st.state != 'T')
                        return 1;
                sleep_ms(1);
        } while (now_ms() < end);
        return 0;
}

static void test_basic(struct child *c)
{
        struct snapshot_stats stats = {0};
        struct memsrc *m = NULL;
        struct diag d = {0};
        const struct mem_region *r, *regs;
        const unsigned char *p;
        unsigned char *buf;
        size_t i, n, bad = 0;
        uint64_t v;
        int ret, copied_ro = 0;

        ret = snapshot_take(c->pid, NULL, &m, &stats, &d);
        ok(ret == 0, "snapshot_take on a 5-thread child (%s)", d.msg);
        if (ret < 0)
                return;
        ok(stats.threads == 5, "5 threads stopped (%d)", stats.threads);
        ok(stats.pause_ms > 0 && stats.pause_ms < 2000 && stats.stop_ms > 0 &&
           stats.stop_ms <= stats.pause_ms && stats.copy_ms <= stats.pause_ms,
           "timings sane: pause %.2f ms, stop %.2f ms, copy %.2f ms",
           stats.pause_ms, stats.stop_ms, stats.copy_ms);
        ok(stats.bytes_copied >= CHILD_BUF_LEN && stats.regions_copied > 0,
           "copied %llu bytes in %llu regions (%llu unreadable pages)",
           (unsigned long long)stats.bytes_copied,
           (unsigned long long)stats.regions_copied,
           (unsigned long long)stats.pages_unreadable);
        ok(wait_free(c->pid, TEST_DEADLINE_MS), "child running and untraced after the snapshot");

        buf = malloc(c->rep.len);
        ret = memsrc_read(m, c->rep.buf, buf, c->rep.len);
        for (i = 0; ret == 0 && i < c->rep.len; i++)
                bad += buf[i] != child_pattern(i);
        ok(ret == 0 && bad == 0, "pattern read back through memsrc_read");
        free(buf);
        p = memsrc_ptr(m, c->rep.buf, c->rep.len);
        for (i = 0, bad = 0; p && i < c->rep.len; i++)
                bad += p[i] != child_pattern(i);
        ok(p && bad == 0, "pattern through the zero-copy pointer");
        r = memsrc_region_of(m, c->rep.buf);
        ok(r && r->copied, "buffer region marked copied");
        ok(memsrc_ptr(m, r->end - 4, 8) == NULL, "ptr: NULL across a region end");
        {
                uint64_t lo = 0, hi = 0, at = c->rep.buf + c->rep.len / 2;
                const uint64_t *gen = (const uint64_t *)&lo;
                const uint8_t *s = memsrc_span(m, at, &lo, &hi, &gen);

                ok(s && !gen && lo == r->start && hi == r->end && memsrc_has_spans(m) &&
                   s + (at - lo) == (const uint8_t *)memsrc_ptr(m, at, 1) &&
                   s[at - lo] == child_pattern(at - c->rep.buf),
                   "span: the whole copied region, the bytes memsrc_ptr gives");
                ok(memsrc_span(m, 0, &lo, &hi, &gen) == NULL, "span: NULL where nothing is held");
        }
        ok(memsrc_ptr(m, 0, 8) == NULL && memsrc_read(m, 0, &v, 8) == -EFAULT,
           "unmapped address: NULL / -EFAULT");

        /* the counter is in .bss of the (forked) test binary: copied */
        ok(memsrc_read_u64(m, c->rep.counter, &v) == 0 && v > 0, "counter in the copy");
        r = memsrc_region_of(m, c->rep.counter);
        /* .bss past the file's last page is an anonymous mapping: no path */
        ok(r && r->copied, ".bss region copied (%s)", r && r->path ? r->path : "anonymous");

        /* read-only code: not copied, served on demand, same bytes as ours */
        r = memsrc_region_of(m, (uint64_t)(uintptr_t)child_main);
        ok(r && !r->copied && r->x, "code region not copied");
        ret = memsrc_read(m, (uint64_t)(uintptr_t)child_main, &v, 8);
        ok(ret == 0 && memcmp(&v, (const void *)(uintptr_t)child_main, 8) == 0,
           "code read on demand from the live process");

        memsrc_regions(m, &regs, &n);
        for (i = 0; i < n; i++)
                if (regs[i].copied && (!regs[i].w || regs[i].shared ||
                                       (regs[i].path && (strcmp(regs[i].path, "[stack]") == 0 ||
                                                         strcmp(regs[i].path, "[vvar]") == 0 ||
                                                         strcmp(regs[i].path, "[vdso]") == 0))))
                        copied_ro++;
        ok(copied_ro == 0, "only private writable mappings copied, no [stack]/[vvar]/[vdso]");

        ok(counter_advances(c), "counter advances after the snapshot");
        ok(child_ping_reader(c, 0x42) == 0, "blocked read() still works after the snapshot");

        /* after the child dies, code is served from the mapped file */
        {
                struct child c2;
                struct memsrc *m2 = NULL;
                uint64_t w = 0;

                if (child_start(&c2) == 0 && snapshot_take(c2.pid, NULL, &m2, NULL, NULL) == 0) {
                        child_stop(&c2);
                        ret = memsrc_read(m2, (uint64_t)(uintptr_t)child_main, &w, 8);
                        ok(ret == 0 && memcmp(&w, (const void *)(uintptr_t)child_main, 8) == 0,
                           "code read from the mapped file after the target exited (%d)", ret);
                        ok(memsrc_read_u64(m2, c2.rep.buf, &w) == 0 && (w & 0xff) == child_pattern(0),
                           "copied bytes survive the target");
                        memsrc_free(m2);
                } else {
                        ok(0, "second child snapshot");
                        child_stop(&c2);
                }
        }
        memsrc_free(m);
}

static void test_cycles(struct child *c)
{
        struct snapshot_stats stats;
        struct child_verify v = {0};
        struct memsrc *m;
        struct diag d = {0};
        double worst = 0, total = 0;
        int i, fails = 0;

        for (i = 0; i < 200; i++) {
                m = NULL;
                if (snapshot_take(c->pid, NULL, &m, &stats, &d) < 0) {
                        fails++;
                        continue;
                }
                total += stats.pause_ms;
                if (stats.pause_ms > worst)
                        worst = stats.pause_ms;
                memsrc_free(m);
        }
        ok(fails == 0, "200 attach/detach cycles (%d failed; pause mean %.2f ms, max %.2f ms) %s",
           fails, total / 200, worst, fails ? d.msg : "");
        ok(child_verify(c, &v) == 0 && v.pattern_ok, "child verifies its memory is intact");
        ok(v.eintr == 0, "child saw no EINTR (%u)", v.eintr);
        ok(counter_advances(c), "counter still advances");
        ok(child_ping_reader(c, 0x17) == 0, "reader thread still answers");
}

static void test_stopped(struct child *c)
{
        struct memsrc *m = NULL;
        struct diag d = {0};
        struct proc_status st;
        double t0, dt;
        char state = 0;
        int ret;

        kill(c->pid, SIGSTOP);
        ok(WAIT_FOR(proc_read_state(c->pid, c->pid, &state) == 0 && state == 'T',
                    TEST_DEADLINE_MS), "child stopped (state %c)", state ? state : '?');
        t0 = now_ms();
        ret = snapshot_take(c->pid, NULL, &m, NULL, &d);
        dt = now_ms() - t0;
        /* the time is a figure: asserting it would judge the machine's load */
        ok(ret == -EBUSY, "stopped child: -EBUSY (in %.1f ms)", dt);
        ok(strstr(d.msg, "is stopped (SIGSTOP or job control)") &&
           strstr(d.msg, "hint: resume it with `kill -CONT"), "message: \"%s\"", d.msg);
        ok(proc_read_status(c->pid, c->pid, &st) == 0 && st.state == 'T' && st.tracer_pid == 0,
           "child left stopped, untraced");
        kill(c->pid, SIGCONT);
        ok(wait_free(c->pid, TEST_DEADLINE_MS) && counter_advances(c), "child runs again after SIGCONT");
}

static void test_traced(struct child *c)
{
        struct memsrc *m = NULL;
        struct diag d = {0};
        char want[64];
        int p[2], ret;
        pid_t h;
        char b;

        if (pipe(p) < 0)
                return;
        h = fork();
        if (h == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                b = ptrace(PTRACE_SEIZE, c->pid, NULL, NULL) == 0 ? 'y' : 'n';
                if (write(p[1], &b, 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(p[1]);
        ret = read_timeout(p[0], &b, 1, 5000);
        close(p[0]);
        ok(ret == 0 && b == 'y', "helper seized the child");
        ret = snapshot_take(c->pid, NULL, &m, NULL, &d);
        snprintf(want, sizeof(want), "already traced by pid %d (test-snapshot)", (int)h);
        ok(ret == -EBUSY && strstr(d.msg, want), "traced child: -EBUSY \"%s\"", d.msg);
        kill(h, SIGKILL);
        waitpid(h, NULL, 0);
        ok(wait_free(c->pid, TEST_DEADLINE_MS) && counter_advances(c), "child free after the helper died");
}

static void test_gone(void)
{
        struct memsrc *m = NULL;
        struct diag d = {0};
        siginfo_t si;
        pid_t z;
        int ret;

        z = fork();
        if (z == 0)
                _exit(0);
        /* returns once z is a zombie, and leaves it one */
        memset(&si, 0, sizeof(si));
        ok(waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == z,
           "child exited, not reaped");
        ret = snapshot_take(z, NULL, &m, NULL, &d);
        ok(ret == -ESRCH && strstr(d.msg, "zombie"), "zombie: -ESRCH \"%s\"", d.msg);
        waitpid(z, NULL, 0);
        diag_clear(&d);
        ret = snapshot_take(z, NULL, &m, NULL, &d);
        ok(ret == -ESRCH && strstr(d.msg, "no process with pid"), "no such pid: -ESRCH \"%s\"", d.msg);
        ok(snapshot_take(getpid(), NULL, &m, NULL, NULL) < 0, "refuses to snapshot itself");
}

static void test_budget(struct child *c)
{
        struct snapshot_opts o = { .max_bytes = 1u << 20 };
        struct memsrc *m = NULL;
        struct diag d = {0};
        double t0 = now_ms();
        int ret;

        ret = snapshot_take(c->pid, &o, &m, NULL, &d);
        ok(ret == -ENOMEM && strstr(d.msg, "exceed the memory budget") &&
           strstr(d.msg, "--max-memory"),
           "over budget: -ENOMEM (in %.1f ms) \"%s\"", now_ms() - t0, d.msg);
        ok(wait_free(c->pid, TEST_DEADLINE_MS), "child untouched");
}

/* What snapshot_opts.progress saw; called from the copying threads. */
struct progress_seen {
        atomic_uint calls[2], zero_starts[2], order_bad;
        atomic_uint_fast64_t max_done[2], total[2];
        atomic_int last_stage;
};

static void progress_rec(void *ctx, enum snapshot_stage stage, uint64_t done, uint64_t total)
{
        struct progress_seen *s = ctx;
        uint64_t m = atomic_load(&s->max_done[stage]);

        atomic_fetch_add(&s->calls[stage], 1);
        if (!done)
                atomic_fetch_add(&s->zero_starts[stage], 1);
        /* the stages come in order: never back to PREPARE once copying */
        if (atomic_load(&s->last_stage) > (int)stage)
                atomic_fetch_add(&s->order_bad, 1);
        atomic_store(&s->last_stage, (int)stage);
        while (done > m && !atomic_compare_exchange_weak(&s->max_done[stage], &m, done))
                ;
        atomic_store(&s->total[stage], total);
}

/* The progress line's numbers: the buffers prepared, then the copy, whose
 * bytes end at what the copy reports having copied. */
static void test_progress(struct child *c)
{
        struct progress_seen s = {0};
        struct snapshot_opts o = {.mode = SNAPSHOT_COPY, .progress = progress_rec,
                                  .progress_ctx = &s};
        struct snapshot_stats st = {0};
        struct memsrc *m = NULL;
        struct diag d = {0};
        int ret = snapshot_take(c->pid, &o, &m, &st, &d);

        ok(ret == 0, "copy with a progress callback \"%s\"", d.msg);
        ok(s.zero_starts[SNAPSHOT_STAGE_PREPARE] >= 1 && s.zero_starts[SNAPSHOT_STAGE_COPY] >= 1 &&
           s.order_bad == 0,
           "progress: each stage starts at 0 bytes, preparing before copying (%u %u, %u out of order)",
           s.zero_starts[0], s.zero_starts[1], s.order_bad);
        ok(s.max_done[SNAPSHOT_STAGE_PREPARE] > 0 && s.total[SNAPSHOT_STAGE_PREPARE] > 0 &&
           s.total[SNAPSHOT_STAGE_PREPARE] == st.writable_bytes,
           "progress: the buffers prepared (%llu bytes) of the budget's measure (%llu, writable %llu)",
           (unsigned long long)s.max_done[0], (unsigned long long)s.total[0],
           (unsigned long long)st.writable_bytes);
        ok(s.max_done[SNAPSHOT_STAGE_COPY] == st.bytes_copied && st.bytes_copied > 0 &&
           s.calls[SNAPSHOT_STAGE_COPY] > 1,
           "progress: the copy ends at the bytes copied (%llu of %llu, %u calls)",
           (unsigned long long)s.max_done[1], (unsigned long long)st.bytes_copied,
           s.calls[1]);
        memsrc_free(m);
        ok(wait_free(c->pid, TEST_DEADLINE_MS), "child runs after the copy with progress");
}

static void test_unprivileged(struct child *c)
{
        struct diag d = {0};
        int p[2], ret = 1;
        pid_t k;

        if (getuid() != 0 || pipe(p) < 0)
                return;
        k = fork();
        if (k == 0) {
                struct memsrc *m = NULL;

                if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
                        _exit(1);
                ret = snapshot_take(c->pid, NULL, &m, NULL, &d);
                if (write(p[1], &ret, sizeof(ret)) != sizeof(ret) ||
                    write(p[1], d.msg, sizeof(d.msg)) != sizeof(d.msg))
                        _exit(1);
                _exit(0);
        }
        close(p[1]);
        if (read_timeout(p[0], &ret, sizeof(ret), 5000) < 0 ||
            read_timeout(p[0], d.msg, sizeof(d.msg), 5000) < 0)
                ret = 1;
        d.msg[sizeof(d.msg) - 1] = 0;
        close(p[0]);
        waitpid(k, NULL, 0);
        ok(ret == -EPERM && strstr(d.msg, "CAP_SYS_PTRACE"),
           "unprivileged snapshot: -EPERM with hints");
        ok(wait_free(c->pid, TEST_DEADLINE_MS), "child untouched");
}

static void *spin(void *arg)
{
        int fd = *(int *)arg;

        atomic_fetch_add_explicit(&child_counter, 1, memory_order_relaxed);
        /* counting: the parent may look */
        if (write(fd, "s", 1) != 1)
                _exit(1);
        for (;;)
                atomic_fetch_add_explicit(&child_counter, 1, memory_order_relaxed);
        return NULL;
}

/* Odd targets: a leader that called pthread_exit() (shows as a zombie while
 * its thread runs), and a private file mapping that extends past EOF. */
static void test_odd_targets(void)
{
        struct snapshot_stats stats = {0};
        struct memsrc *m = NULL;
        struct diag d = {0};
        char tmpl[] = "/tmp/pyleak-attach-eofXXXXXX";
        uint64_t addr = 0;
        int p[2], sp[2], ret, fd;
        char st = 0, sb;
        pid_t k;

        if (pipe(p) < 0)
                return;
        if (pipe2(sp, O_CLOEXEC) < 0) {
                ok(0, "pipe");
                return;
        }
        k = fork();
        if (k == 0) {
                pthread_t th;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(sp[0]);
                if (pthread_create(&th, NULL, spin, &sp[1]))
                        _exit(1);
                pthread_exit(NULL);
        }
        close(sp[1]);
        /* the thread counts; the leader's exit is announced by nothing
         * but its state */
        ok(read_timeout(sp[0], &sb, 1, TEST_DEADLINE_MS) == 0 &&
           WAIT_FOR(proc_read_state(k, k, &st) == 0 && st == 'Z', TEST_DEADLINE_MS),
           "the thread counts, the leader is a zombie (state %c)", st ? st : '?');
        close(sp[0]);
        ret = snapshot_take(k, NULL, &m, &stats, &d);
        ok(ret == 0 && stats.threads == 1, "leader exited, one thread left: snapshot ok (%d, %s)",
           stats.threads, d.msg);
        memsrc_free(m);
        m = NULL;
        kill(k, SIGKILL);
        waitpid(k, NULL, 0);

        fd = mkstemp(tmpl);
        if (fd < 0 || write(fd, tmpl, 16) != 16) {
                ok(0, "temporary file");
                return;
        }
        unlink(tmpl);
        k = fork();
        if (k == 0) {
                char *map;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
                if (map == MAP_FAILED)
                        _exit(1);
                map[0] = 'X';
                addr = (uint64_t)(uintptr_t)map;
                if (write(p[1], &addr, sizeof(addr)) != sizeof(addr))
                        _exit(1);
                for (;;)
                        pause();
        }
        close(fd);
        ret = read_timeout(p[0], &addr, sizeof(addr), 5000);
        diag_clear(&d);
        ret = ret < 0 ? ret : snapshot_take(k, NULL, &m, &stats, &d);
        {
                const struct mem_region *r = m ? memsrc_region_of(m, addr) : NULL;
                char b[2] = {0};

                ok(ret == 0 && r && r->copied && r->deleted &&
                   memsrc_read(m, addr, b, 2) == 0 && b[0] == 'X' && b[1] == 't',
                   "mapping past EOF copied, deleted file flagged (%s)", d.msg);
                ok(stats.pages_unreadable == 2, "2 pages past EOF zero-filled (%llu)",
                   (unsigned long long)stats.pages_unreadable);
        }
        memsrc_free(m);
        kill(k, SIGKILL);
        waitpid(k, NULL, 0);
        close(p[0]);
        close(p[1]);
}

/* A tool process looping over snapshot_take, killed at random moments. */
static void test_killed(struct child *c, int sig, int runs)
{
        int i, bad_state = 0, bad_counter = 0;
        pid_t tool;

        for (i = 0; i < runs; i++) {
                tool = fork();
                if (tool == 0) {
                        struct memsrc *m;

                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (sig != SIGKILL)
                                snapshot_install_signal_guard();
                        for (;;) {
                                m = NULL;
                                snapshot_take(c->pid, NULL, &m, NULL, NULL);
                                memsrc_free(m);
                        }
                }
                /* 0..15 ms: lands before, during and between snapshots */
                sleep_ms(rand() % 16);
                kill(tool, sig);
                waitpid(tool, NULL, 0);
                if (!wait_free(c->pid, TEST_DEADLINE_MS))
                        bad_state++;
                else if (!counter_advances(c))
                        bad_counter++;
        }
        ok(bad_state == 0, "%s the tool %d times: target never left stopped/traced (%d bad)",
           sig == SIGKILL ? "SIGKILL" : "SIGTERM", runs, bad_state);
        ok(bad_counter == 0, "counter advanced after every kill (%d bad)", bad_counter);
}

/* The copy paths: helpers or the calling thread alone, process_vm_readv or
 * /proc/PID/mem.  All must give the same bytes and sane figures. */
static void test_copy_paths(struct child *c)
{
        static const unsigned dbg[] = {
                0, SNAPSHOT_DEBUG_ONE_COPIER, SNAPSHOT_DEBUG_COPY_PREAD,
                SNAPSHOT_DEBUG_ONE_COPIER | SNAPSHOT_DEBUG_COPY_PREAD,
        };
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        size_t k, i, bad;

        for (k = 0; k < sizeof(dbg) / sizeof(dbg[0]); k++) {
                struct snapshot_opts o = { .mode = SNAPSHOT_COPY, .debug = dbg[k] };
                struct snapshot_stats st = {0};
                struct memsrc *m = NULL;
                struct diag d = {0};
                const unsigned char *p;
                uint64_t v = 0;
                int ret;

                ret = snapshot_take(c->pid, &o, &m, &st, &d);
                p = m ? memsrc_ptr(m, c->rep.buf, CHILD_BUF_LEN) : NULL;
                for (i = 0, bad = 0; p && i < CHILD_BUF_LEN; i++)
                        bad += p[i] != child_pattern(i);
                ok(ret == 0 && p && bad == 0 &&
                   memsrc_read_u64(m, c->rep.counter, &v) == 0 && v > 0,
                   "debug 0x%x: pattern and counter copied (%s)", dbg[k], d.msg);
                ok(st.copy_threads >= 1 && st.copy_threads <= 4 &&
                   (!(dbg[k] & SNAPSHOT_DEBUG_ONE_COPIER) || st.copy_threads == 1) &&
                   (ncpu < 1 || st.copy_threads <= ncpu),
                   "debug 0x%x: %d copying threads", dbg[k], st.copy_threads);
                ok(st.copy_ms > 0 && st.copy_gbps > 0 && st.prep_ms > 0 &&
                   st.copy_gbps * st.copy_ms * 1e6 > 0.99 * (double)st.bytes_copied &&
                   st.copy_gbps * st.copy_ms * 1e6 < 1.01 * (double)st.bytes_copied,
                   "debug 0x%x: %.2f GB/s over %.2f ms, prep %.2f ms", dbg[k],
                   st.copy_gbps, st.copy_ms, st.prep_ms);
                memsrc_free(m);
        }
        ok(wait_free(c->pid, TEST_DEADLINE_MS) && counter_advances(c), "child runs after the copy paths");
}

/* A sparse mapping (256 MiB reserved, one page in 64 touched) and a thread
 * that keeps mapping and unmapping memory, so that some mappings change
 * between the buffers prepared before the stop and the map read during
 * it.  The copy must hold the touched pages and zeros elsewhere, and the
 * tool must not pre-fault the untouched pages. */
#define SPARSE_LEN  (256u << 20)
#define SPARSE_STEP (64u * 4096u)

static void *churn(void *arg)
{
        char *p;

        (void)arg;
        for (;;) {
                p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                        continue;
                p[0] = 1;
                p[(1u << 20) - 1] = 2;
                munmap(p, 1u << 20);
        }
        return NULL;
}

static void test_sparse_churn(void)
{
        static unsigned char vec[SPARSE_LEN / 4096];
        uint64_t addr = 0;
        int p[2], ret, i, fails = 0, content_bad = 0;
        size_t resident, most = 0, j;
        char why[256] = "";
        pid_t k;

        if (pipe(p) < 0)
                return;
        k = fork();
        if (k == 0) {
                pthread_t th;
                char *map;
                size_t off;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                map = mmap(NULL, SPARSE_LEN, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (map == MAP_FAILED)
                        _exit(1);
                for (off = 0; off < SPARSE_LEN; off += SPARSE_STEP)
                        memset(map + off, (int)(0x11 + off / SPARSE_STEP % 200), 4096);
                if (pthread_create(&th, NULL, churn, NULL))
                        _exit(1);
                addr = (uint64_t)(uintptr_t)map;
                if (write(p[1], &addr, sizeof(addr)) != sizeof(addr))
                        _exit(1);
                for (;;)
                        pause();
        }
        ret = read_timeout(p[0], &addr, sizeof(addr), 5000);
        for (i = 0; ret >= 0 && i < 8; i++) {
                struct snapshot_stats st = {0};
                struct memsrc *m = NULL;
                struct diag d = {0};
                const unsigned char *b;
                size_t off;

                if (snapshot_take(k, NULL, &m, &st, &d) < 0) {
                        snprintf(why, sizeof(why), "%.200s", d.msg);
                        fails++;
                        continue;
                }
                b = memsrc_ptr(m, addr, SPARSE_LEN);
                /* before reading it (a read maps the zero page): which
                 * pages of the copy exist */
                resident = 0;
                if (b && mincore((void *)b, SPARSE_LEN, vec) == 0)
                        for (j = 0; j < sizeof(vec); j++)
                                resident += vec[j] & 1;
                if (resident > most)
                        most = resident;
                for (off = 0; b && off < SPARSE_LEN; off += SPARSE_STEP)
                        if (b[off] != (unsigned char)(0x11 + off / SPARSE_STEP % 200) ||
                            b[off + 4095] != b[off] || b[off + 4096] != 0)
                                break;
                if (!b || off < SPARSE_LEN)
                        content_bad++;
                memsrc_free(m);
        }
        ok(ret >= 0 && fails == 0 && content_bad == 0,
           "sparse mapping under map churn: 8 snapshots (%d failed, %d wrong) %s",
           fails, content_bad, why);
        /* 1024 pages touched in the sparse mapping: its copy holds those,
         * not the 65536 reserved */
        ok(most > 0 && most <= SPARSE_LEN / SPARSE_STEP,
           "untouched pages not pre-faulted (%zu of %u pages in the copy)",
           most, SPARSE_LEN / 4096);
        ok(wait_free(k, TEST_DEADLINE_MS), "churning child free after the snapshots");
        kill(k, SIGKILL);
        waitpid(k, NULL, 0);
        close(p[0]);
        close(p[1]);
}

int main(void)
{
        struct child c;
        struct child_verify v = {0};

        srand((unsigned)getpid());
        if (child_start(&c) < 0)
                tap_skip_all("cannot start the child process");
        {
                struct memsrc *m = NULL;

                if (snapshot_take(c.pid, NULL, &m, NULL, NULL) == -EPERM) {
                        child_stop(&c);
                        tap_skip_all("ptrace is not permitted here");
                }
                memsrc_free(m);
        }

        test_basic(&c);
        test_cycles(&c);
        test_stopped(&c);
        test_traced(&c);
        test_gone();
        test_budget(&c);
        test_progress(&c);
        test_unprivileged(&c);
        test_odd_targets();
        test_copy_paths(&c);
        test_sparse_churn();
        test_killed(&c, SIGKILL, 30);
        test_killed(&c, SIGTERM, 30);
        ok(child_verify(&c, &v) == 0 && v.pattern_ok && v.eintr == 0,
           "child intact at the end (eintr %u)", v.eintr);
        ok(child_ping_reader(&c, 0x99) == 0, "reader thread answers at the end");
        child_stop(&c);
        return tap_done();
}
