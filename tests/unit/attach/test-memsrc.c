/* memsrc: generic dispatch on a fake backend, and the live backend on a
 * real child process (reads, regions, mapped files, error causes). */
#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "tap.h"
#include "child.h"

#include <grp.h>
#include <stdio.h>

/* ---- fake backend: byte at addr is (addr & 0xff) inside regions ---------- */

static int fake_destroyed;

static int fake_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        size_t i;

        for (i = 0; i < len; i++) {
                const struct mem_region *r = memsrc_region_of(m, addr + i);

                if (!r)
                        return -EFAULT;
                ((unsigned char *)buf)[i] = (unsigned char)(addr + i);
        }
        return 0;
}

static void fake_destroy(struct memsrc *m)
{
        fake_destroyed++;
        free(m);
}

static const struct memsrc_ops fake_ops = {
        .name = "fake", .read = fake_read, .destroy = fake_destroy,
};

static void test_generic(void)
{
        struct memsrc *m = calloc(1, sizeof(*m));
        const struct mem_region *r;
        size_t i, n = 1000, bad = 0;
        uint64_t v;

        m->ops = &fake_ops;
        m->pid = 4242;
        m->regions = calloc(n, sizeof(*m->regions));
        m->nregions = n;
        for (i = 0; i < n; i++) {
                m->regions[i].start = 0x10000 + i * 0x3000;
                m->regions[i].end = m->regions[i].start + 0x2000;
                m->regions[i].path = i % 2 ? strdup("/x") : NULL;
        }
        for (i = 0; i < n; i++) {
                r = memsrc_region_of(m, 0x10000 + i * 0x3000 + 0x1fff);
                if (r != &m->regions[i])
                        bad++;
                if (memsrc_region_of(m, 0x10000 + i * 0x3000 + 0x2000))
                        bad++;
        }
        ok(bad == 0, "region_of: binary search finds every region and no gap");
        ok(memsrc_region_of(m, 0) == NULL && memsrc_region_of(m, UINT64_MAX) == NULL,
           "region_of: below and above all regions");
        r = memsrc_region_of(m, 0x10000 + 7 * 0x3000);
        ok(r == &m->regions[7] && m->last_region == 7 &&
           memsrc_region_of(m, 0x10000 + 7 * 0x3000 + 5) == r, "region_of: cache");
        ok(memsrc_read_u64(m, 0x10008, &v) == 0 && v == 0x0f0e0d0c0b0a0908ull,
           "read_u64 is little-endian");
        ok(memsrc_read(m, UINT64_MAX - 2, &v, 8) == -EFAULT, "read: wrapping range -EFAULT");
        ok(memsrc_read(m, 0x10000, NULL, 0) == 0, "read: zero length is ok");
        ok(memsrc_ptr(m, 0x10000, 8) == NULL, "ptr: NULL without a ptr op");
        ok(memsrc_open_mapped_file(m, &m->regions[1], NULL) == -ENOENT,
           "open_mapped_file: -ENOENT without the op");
        ok(memsrc_refresh_regions(m) == 0, "refresh_regions: no-op without the op");
        ok(memsrc_pid(m) == 4242 && memsrc_pid(NULL) == 0, "pid");
        {
                char root[64] = "x";

                /* no process behind a fake: its pid (4242 may be anyone's)
                 * is never asked about, its paths are this machine's */
                ok(memsrc_open_proc(m, "comm") == -ENOENT && !memsrc_root(m, root, sizeof(root))[0]
                   && memsrc_pid_in_namespace(m) == 0,
                   "a backend without MEMSRC_CAP_PROC: no /proc of its pid, root \"\" (%s)",
                   root);
        }
        memsrc_free(m);
        memsrc_free(NULL);
        ok(fake_destroyed == 1, "free calls destroy once, accepts NULL");
}

/* ---- live backend -------------------------------------------------------- */

static void test_live(void)
{
        struct child c;
        struct memsrc *m = NULL;
        struct diag d = {0};
        const struct mem_region *regs, *r;
        unsigned char *buf;
        uint64_t c0 = 0, c1 = 0;
        size_t n = 0, i, bad = 0;
        char *host = NULL;
        int fd, ret, sorted = 1;

        if (child_start(&c) < 0) {
                ok(0, "child started");
                return;
        }
        ret = memsrc_open_live(c.pid, &m, &d);
        ok(ret == 0, "open_live on a running child (%s)", d.msg);
        if (ret < 0) {
                child_stop(&c);
                return;
        }
        buf = malloc(c.rep.len);
        ret = memsrc_read(m, c.rep.buf, buf, c.rep.len);
        for (i = 0; ret == 0 && i < c.rep.len; i++)
                bad += buf[i] != child_pattern(i);
        ok(ret == 0 && bad == 0, "live read of the 3 MiB pattern");
        free(buf);
        ok(memsrc_read_u64(m, c.rep.counter, &c0) == 0, "read the counter");
        ok(WAIT_FOR(memsrc_read_u64(m, c.rep.counter, &c1) == 0 && c1 > c0, TEST_DEADLINE_MS),
           "counter advances (%llu -> %llu)", (unsigned long long)c0,
           (unsigned long long)c1);
        ok(memsrc_ptr(m, c.rep.buf, 8) == NULL, "live: no zero-copy pointer");
        {
                uint64_t lo, hi;
                const uint64_t *gen;

                ok(memsrc_span(m, c.rep.buf, &lo, &hi, &gen) == NULL,
                   "live: no span without a read cache");
        }
        ok(memsrc_read(m, 0, &c0, 8) == -EFAULT, "read at 0: -EFAULT");

        ok(memsrc_regions(m, &regs, &n) == 0 && n > 5, "regions listed (%zu)", n);
        for (i = 1; i < n; i++)
                if (regs[i].start < regs[i - 1].end)
                        sorted = 0;
        ok(sorted, "regions sorted and disjoint");
        r = memsrc_region_of(m, c.rep.buf);
        ok(r && r->r && r->w && !r->copied, "buffer lies in a rw region");
        /* a read running off the end of a mapping into a hole fails whole */
        for (i = 0; i + 1 < n; i++)
                if (regs[i].r && regs[i + 1].start > regs[i].end)
                        break;
        if (i + 1 < n) {
                unsigned char two[16];

                ok(memsrc_read(m, regs[i].end - 8, two, 16) == -EFAULT,
                   "read across a hole: all-or-nothing -EFAULT");
        }
        r = memsrc_region_of(m, (uint64_t)(uintptr_t)child_main);
        ok(r && r->x && r->path, "code region has a path (%s)", r ? r->path : "-");
        fd = r ? memsrc_open_mapped_file(m, r, &host) : -1;
        ok(fd >= 0 && host && strstr(host, "/map_files/"),
           "open_mapped_file through map_files (%s)", host ? host : "-");
        if (fd >= 0)
                close(fd);
        free(host);
        ok(memsrc_refresh_regions(m) == 0 && memsrc_regions(m, &regs, &n) == 0 && n > 5,
           "refresh_regions");
        ok(memsrc_pid(m) == c.pid, "memsrc_pid");
        {
                char root[64], want[64], comm[32] = "";
                int pfd = memsrc_open_proc(m, "comm"), ffd = memsrc_open_file(m, "/proc/self");

                snprintf(want, sizeof(want), "/proc/%d/root", (int)c.pid);
                if (pfd >= 0 && read(pfd, comm, sizeof(comm) - 1) < 0)
                        comm[0] = '\0';
                ok(!strcmp(memsrc_root(m, root, sizeof(root)), want) && pfd >= 0 && comm[0] &&
                   ffd >= 0 && memsrc_open_proc(m, "../1/comm") == -ENOENT &&
                   memsrc_open_file(m, "relative") == -EINVAL,
                   "live: the target's root is its /proc/PID/root, its /proc entry opens "
                   "(comm %.15s), nothing outside it by name", comm);
                if (pfd >= 0)
                        close(pfd);
                if (ffd >= 0)
                        close(ffd);
        }

        child_stop(&c);
        ret = memsrc_read(m, c.rep.buf, &c0, 8);
        ok(ret == -ESRCH, "read after the child died: -ESRCH (%d)", ret);
        memsrc_free(m);
}

/* The live read-through cache: bytes as they were when their block was
 * read, until forgotten; reads all or nothing as without it. */
static void test_live_cache(void)
{
        struct child c;
        struct memsrc *m = NULL, *fresh = NULL;
        struct diag d = {0};
        const struct mem_region *regs;
        unsigned char small[100];
        uint64_t c0 = 0, c1 = 0, c2 = 0, now = 0;
        size_t n = 0, i, k, bad = 0;
        int ret;

        if (child_start(&c) < 0) {
                ok(0, "child started");
                return;
        }
        ret = memsrc_open_live(c.pid, &m, &d);
        ok(ret == 0 && memsrc_live_cache(m, 1 << 20) == 0, "cache of 1 MiB on a live source");
        /* an uncached source on the same child: how far the counter is
         * now, to wait for it to move past what the cache holds */
        if (ret == 0)
                ret = memsrc_open_live(c.pid, &fresh, &d);
        if (ret < 0) {
                memsrc_free(m);
                child_stop(&c);
                return;
        }
        /* 3 MiB through a 1 MiB cache, in reads that straddle blocks */
        for (i = 0; i + sizeof(small) <= c.rep.len && !bad; i += sizeof(small) * 7) {
                if (memsrc_read(m, c.rep.buf + i, small, sizeof(small)) < 0) {
                        bad++;
                        break;
                }
                for (k = 0; k < sizeof(small); k++)
                        bad += small[k] != child_pattern(i + k);
        }
        ok(bad == 0, "small reads of the pattern through the cache");
        ok(memsrc_read_u64(m, c.rep.counter, &c0) == 0, "counter read");
        ok(WAIT_FOR(memsrc_read_u64(fresh, c.rep.counter, &now) == 0 && now > c0,
                    TEST_DEADLINE_MS), "the counter moves on (%llu -> %llu)",
           (unsigned long long)c0, (unsigned long long)now);
        ok(memsrc_read_u64(m, c.rep.counter, &c1) == 0 && c1 == c0,
           "cached: the counter as its block was read (%llu, %llu; now %llu)",
           (unsigned long long)c0, (unsigned long long)c1, (unsigned long long)now);
        memsrc_forget(m, c.rep.counter, 8);
        ok(memsrc_read_u64(m, c.rep.counter, &c2) == 0 && c2 > c1,
           "forgotten: read afresh (%llu -> %llu)", (unsigned long long)c1,
           (unsigned long long)c2);
        {
                /* a span of the cache: the cached bytes, and a counter
                 * that moves when they may change */
                uint64_t lo = 0, hi = 0, g0, at = c.rep.buf + 100000;
                const uint64_t *gen = NULL;
                const uint8_t *s = memsrc_span(m, at, &lo, &hi, &gen);

                ok(memsrc_has_spans(m) && s && gen && lo <= at && at < hi &&
                   hi - lo <= (64u << 10) && s[at - lo] == child_pattern(at - c.rep.buf),
                   "live: a span of one cached block, the pattern in it");
                g0 = gen ? *gen : 0;
                memsrc_forget(m, at, 1);
                ok(gen && *gen != g0, "live: forgetting moves the span counter");
                g0 = gen ? *gen : 0;
                ok(memsrc_read_u64(m, c.rep.counter, &c2) == 0 && gen && *gen == g0,
                   "live: a read from a held block leaves it alone");
        }
        ok(WAIT_FOR(memsrc_read_u64(fresh, c.rep.counter, &now) == 0 && now > c2,
                    TEST_DEADLINE_MS), "the counter moves on again (%llu -> %llu)",
           (unsigned long long)c2, (unsigned long long)now);
        memsrc_forget(m, 0, UINT64_MAX);
        ok(memsrc_read_u64(m, c.rep.counter, &c0) == 0 && c0 > c2,
           "forget all: read afresh (%llu -> %llu)", (unsigned long long)c2,
           (unsigned long long)c0);
        ok(memsrc_read(m, 0, &c0, 8) == -EFAULT, "read at 0: -EFAULT");
        ok(memsrc_regions(m, &regs, &n) == 0, "regions");
        for (i = 0; i + 1 < n; i++)
                if (regs[i].r && regs[i].w && regs[i + 1].start > regs[i].end)
                        break;
        if (i + 1 < n) {
                unsigned char two[16];

                ok(memsrc_read(m, regs[i].end - 8, two, 16) == -EFAULT &&
                   memsrc_read(m, regs[i].end - 8, two, 8) == 0,
                   "read across a hole: all-or-nothing -EFAULT, its first half reads");
        }
        ok(memsrc_live_cache(m, 0) == 0 && memsrc_read_u64(m, c.rep.counter, &c1) == 0 &&
           c1 >= c0, "cache off again");
        child_stop(&c);
        memsrc_forget(m, 0, UINT64_MAX);
        ret = memsrc_read(m, c.rep.buf, &c0, 8);
        ok(ret == -ESRCH, "read after the child died: -ESRCH (%d)", ret);
        memsrc_free(m);
        memsrc_free(fresh);
}

static void test_errors(void)
{
        struct memsrc *m = NULL;
        struct diag d = {0};
        siginfo_t si;
        pid_t z;
        int ret;

        /* a just-reaped pid is free (pids are not reused at once) */
        z = fork();
        if (z == 0)
                _exit(0);
        waitpid(z, NULL, 0);
        ret = memsrc_open_live(z, &m, &d);
        ok(ret == -ESRCH && d.err == -ESRCH && strstr(d.msg, "no process with pid"),
           "no such pid: -ESRCH \"%s\"", d.msg);

        z = fork();
        if (z == 0)
                _exit(0);
        /* returns once z is a zombie, and leaves it one */
        memset(&si, 0, sizeof(si));
        ok(waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == z,
           "child exited, not reaped");
        diag_clear(&d);
        ret = memsrc_open_live(z, &m, &d);
        ok(ret == -ESRCH && strstr(d.msg, "is a zombie (exited, not yet reaped by its parent)"),
           "zombie: -ESRCH \"%s\"", d.msg);
        waitpid(z, NULL, 0);
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

/* The leader called pthread_exit(): /proc/PID shows a zombie without an
 * address space while the other thread runs. */
static void test_zombie_leader(void)
{
        struct memsrc *m = NULL;
        struct diag d = {0};
        uint64_t a = 0, b = 0;
        char st = 0, s;
        int p[2], ret;
        pid_t k;

        if (pipe2(p, O_CLOEXEC) < 0) {
                ok(0, "pipe");
                return;
        }
        k = fork();
        if (k == 0) {
                pthread_t th;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(p[0]);
                if (pthread_create(&th, NULL, spin, &p[1]))
                        _exit(1);
                pthread_exit(NULL);
        }
        close(p[1]);
        /* the thread counts; the leader's exit is announced by nothing
         * but its state */
        ok(read_timeout(p[0], &s, 1, TEST_DEADLINE_MS) == 0 &&
           WAIT_FOR(proc_read_state(k, k, &st) == 0 && st == 'Z', TEST_DEADLINE_MS),
           "the thread counts, the leader is a zombie (state %c)", st ? st : '?');
        close(p[0]);
        ret = memsrc_open_live(k, &m, &d);
        ok(ret == 0, "open_live with an exited leader (%s)", d.msg);
        if (ret == 0) {
                memsrc_read_u64(m, (uint64_t)(uintptr_t)&child_counter, &a);
                ok(WAIT_FOR(memsrc_read_u64(m, (uint64_t)(uintptr_t)&child_counter, &b) == 0 &&
                            b > a, TEST_DEADLINE_MS) && a > 0,
                   "reads through the live thread (%llu -> %llu)",
                   (unsigned long long)a, (unsigned long long)b);
        }
        memsrc_free(m);
        kill(k, SIGKILL);
        waitpid(k, NULL, 0);
}

/* Drops to nobody in a forked process and tries to open a root-owned child. */
static void test_eperm_real(void)
{
        struct child c;
        struct diag d = {0};
        int p[2], ret = 0;
        pid_t k;

        if (getuid() != 0 || child_start(&c) < 0 || pipe(p) < 0)
                return;
        k = fork();
        if (k == 0) {
                struct memsrc *m = NULL;

                if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
                    setresuid(65534, 65534, 65534))
                        _exit(1);
                ret = memsrc_open_live(c.pid, &m, &d);
                if (write(p[1], &ret, sizeof(ret)) != sizeof(ret) ||
                    write(p[1], d.msg, sizeof(d.msg)) != sizeof(d.msg))
                        _exit(1);
                _exit(0);
        }
        close(p[1]);
        ret = read_timeout(p[0], &ret, sizeof(ret), 5000) == 0 ? ret : 1;
        if (read_timeout(p[0], d.msg, sizeof(d.msg), 5000) < 0)
                d.msg[0] = 0;
        d.msg[sizeof(d.msg) - 1] = 0;
        waitpid(k, NULL, 0);
        close(p[0]);
        child_stop(&c);
        ok(ret == -EPERM && strstr(d.msg, "permission denied") &&
           strstr(d.msg, "belongs to user root (uid 0)") && strstr(d.msg, "hint: run it as root"),
           "unprivileged open of a root process: -EPERM naming the other user");
}

/* The causes one by one are tests/unit/attach/test-ptraceperm.c; here
 * the wrapper the backends call, on our own pid (nothing forbids it, so
 * the cause is the unknown one) and with Yama's scope passed in. */
static void test_eperm_text(void)
{
        struct diag d;
        int scope;

        ok(proc_explain_eperm(&d, getpid(), "attach to", -1) == -EPERM && d.err == -EPERM,
           "explain_eperm returns -EPERM");
        ok(strstr(d.msg, "cannot attach to process ") == d.msg &&
           strstr(d.msg, ": permission denied: "), "subject first, lowercase");
        ok(strstr(d.msg, "none") == NULL && strstr(d.msg, "hint: ") != NULL,
           "one cause and its hint");
        proc_explain_eperm(&d, getpid(), "attach to", 3);
        ok(strstr(d.msg, "ptrace_scope is 3") && strstr(d.msg, "until reboot"), "yama scope 3");
        ok(proc_explain_eperm(NULL, getpid(), NULL, 1) == -EPERM, "NULL diag accepted");
        scope = proc_yama_ptrace_scope();
        ok(scope == -ENOENT || (scope >= 0 && scope <= 3), "yama scope read (%d)", scope);
}

int main(void)
{
        test_generic();
        test_live();
        test_live_cache();
        test_errors();
        test_zombie_leader();
        test_eperm_real();
        test_eperm_text();
        return tap_done();
}
