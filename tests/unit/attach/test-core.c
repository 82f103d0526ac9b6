/* test-core: the core-file memsrc against real cores.
 *
 * The target is /usr/bin/python3 running a small script (not a fork of
 * this test: under ASan this process has terabytes of shadow mappings that
 * no core should have to hold).  It fills a buffer with a known pattern,
 * starts 4 threads, prints the addresses and the first bytes of libc's
 * getpid, then blocks (gcore) or aborts (kernel core).
 *   gcore:  every private mapping of the live process is read through the
 *           live memsrc and through the core and must be byte-identical;
 *           libc's code, which gdb leaves out of the core, is served from
 *           the mapped file; pid and the 5 threads match.
 *   kernel core (when core_pattern writes a plain file): the pattern, the
 *           one-page text segments completed from the files, pid, threads,
 *           signal.
 * Then the refusals: not ELF, an executable instead of a core, a truncated
 * core, an empty file, missing mapped files (named, with --exe/--sysroot
 * hints). */
#include "core.h"
#include "memsrc.h"
#include "diag.h"
#include "tap.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/pyleak-test-core-XXXXXX";
static const char *python = "/usr/bin/python3";

#define PAT_LEN (1u << 20)

static const char target_py[] =
        "import ctypes, os, sys, threading, resource\n"
        "N = 1 << 20\n"
        "pat = bytes((i * 131 + (i >> 12) * 7 + 0x5a) & 0xff for i in range(N))\n"
        "buf = ctypes.create_string_buffer(pat, N)\n"
        "fn = ctypes.cast(ctypes.CDLL(None).getpid, ctypes.c_void_p).value\n"
        "ev = threading.Event()\n"
        "ts = [threading.Thread(target=ev.wait) for _ in range(4)]\n"
        "for t in ts: t.start()\n"
        "sys.stdout.write('%d %d %d %s\\n' % (ctypes.addressof(buf), N, fn, ctypes.string_at(fn, 64).hex()))\n"
        "sys.stdout.flush()\n"
        "if sys.argv[1] == 'abort':\n"
        "    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "    os.abort()\n"
        "sys.stdin.read()\n"
        "ev.set()\n";

struct target {
        pid_t pid;
        int in_w;                 /* its stdin: closing it ends it */
        uint64_t buf, len, fn;
        unsigned char fn_bytes[64];
};

static unsigned char pattern(size_t i)
{
        return (unsigned char)((i * 131u + (i >> 12) * 7u + 0x5a) & 0xff);
}

static int target_start(struct target *t, const char *mode)
{
        int in[2], out[2];
        char line[512] = "", hex[200] = "";
        size_t n = 0, i;
        unsigned long long b, l, f;

        memset(t, 0, sizeof(*t));
        if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
                return -errno;
        t->pid = fork();
        if (t->pid < 0)
                return -errno;
        if (t->pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                if (chdir(tmpdir) < 0)
                        _exit(126);
                execl(python, python, "-c", target_py, mode, (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        t->in_w = in[1];
        while (n < sizeof(line) - 1 && !strchr(line, '\n')) {
                int r = read_timeout(out[0], line + n, 1, 30000);

                if (r < 0)
                        break;
                n++;
        }
        close(out[0]);
        if (sscanf(line, "%llu %llu %llu %199s", &b, &l, &f, hex) != 4 || strlen(hex) != 128)
                return -EIO;
        t->buf = b;
        t->len = l;
        t->fn = f;
        for (i = 0; i < 64; i++) {
                unsigned int v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EIO;
                t->fn_bytes[i] = (unsigned char)v;
        }
        return 0;
}

/* Sum of utime+stime over the target's threads, and whether all sleep. */
static long long cpu_ticks(pid_t pid, bool *all_sleeping)
{
        char path[64], buf[1024];
        DIR *dir;
        struct dirent *de;
        long long sum = 0;

        *all_sleeping = true;
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir = opendir(path);
        if (!dir)
                return -1;
        while ((de = readdir(dir))) {
                char p2[300], *rp, state;
                unsigned long long ut, st;
                int fd;
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p2, sizeof(p2), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
                fd = open(p2, O_RDONLY);
                if (fd < 0)
                        continue;
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n <= 0)
                        continue;
                buf[n] = 0;
                rp = strrchr(buf, ')');
                if (!rp || sscanf(rp + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                  &state, &ut, &st) != 3)
                        continue;
                if (state != 'S')
                        *all_sleeping = false;
                sum += (long long)(ut + st);
        }
        closedir(dir);
        return sum;
}

/* The target's threads keep starting up after it printed its line (they
 * still run Python code on their way into Event.wait()); a core taken then
 * differs from a later live read.  Wait, bounded, until every thread sleeps
 * and no CPU time accrues for 5 samples in a row. */
static void wait_quiescent(pid_t pid)
{
        long long last = -2, now;
        int stable = 0, i;
        bool sleeping;

        for (i = 0; i < 400 && stable < 5; i++) {
                sleep_ms(25);
                now = cpu_ticks(pid, &sleeping);
                stable = sleeping && now == last ? stable + 1 : 0;
                last = now;
        }
}

static int target_wait(struct target *t, int *status)
{
        int st = 0;

        if (t->pid <= 0)
                return -1;
        if (t->in_w >= 0)
                close(t->in_w);
        t->in_w = -1;
        waitpid(t->pid, &st, 0);
        t->pid = 0;
        if (status)
                *status = st;
        return 0;
}

static int run_quiet(char *const argv[], int timeout_s)
{
        pid_t p;
        int st, fd;
        long waited = 0;

        p = fork();
        if (p < 0)
                return -1;
        if (p == 0) {
                fd = open("/dev/null", O_RDWR);
                if (fd >= 0) {
                        dup2(fd, 0);
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execvp(argv[0], argv);
                _exit(127);
        }
        /* bounded: gdb must not hang the suite */
        for (;;) {
                pid_t w = waitpid(p, &st, WNOHANG);

                if (w == p)
                        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
                if (waited > timeout_s * 1000L) {
                        kill(p, SIGKILL);
                        waitpid(p, &st, 0);
                        return 124;
                }
                sleep_ms(20);
                waited += 20;
        }
}

static bool have_prog(const char *name)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
        return system(cmd) == 0;
}

static const struct mem_region *region_named(struct memsrc *m, const char *needle)
{
        const struct mem_region *r;
        size_t n, i;

        if (memsrc_regions(m, &r, &n) < 0)
                return NULL;
        for (i = 0; i < n; i++)
                if (r[i].path && strstr(r[i].path, needle))
                        return &r[i];
        return NULL;
}

static void check_fn(struct memsrc *m, const struct target *t, const char *what)
{
        unsigned char got[64];
        int r;

        r = memsrc_read(m, t->fn, got, sizeof(got));
        ok(r == 0 && memcmp(got, t->fn_bytes, sizeof(got)) == 0,
           "%s: libc code at getpid (left out of the core) served from the mapped file (r=%d)", what, r);
}

static void check_pattern(struct memsrc *m, uint64_t addr, uint64_t len, const char *what)
{
        unsigned char *buf = malloc(len);
        const unsigned char *p;
        size_t i, bad = 0;
        int r;

        if (!buf) {
                ok(0, "%s: malloc", what);
                return;
        }
        r = memsrc_read(m, addr, buf, len);
        for (i = 0; r == 0 && i < len; i++)
                bad += buf[i] != pattern(i);
        ok(r == 0 && bad == 0, "%s: %llu-byte pattern buffer read back exactly (r=%d, %zu bad)",
           what, (unsigned long long)len, r, bad);
        p = memsrc_ptr(m, addr, 4096);
        ok(p && memcmp(p, buf, 4096) == 0, "%s: memsrc_ptr gives the core's bytes without a copy", what);
        free(buf);
}

/* Private readable mappings of the live target, copied before the gcore
 * (pages that change while gdb attaches and detaches, e.g. the stacks of
 * threads whose futex waits it interrupts, are told apart by a second live
 * read after it). */
struct livecopy {
        size_t n;
        uint64_t start[512], end[512];
        unsigned char *bytes[512];
};

static bool comparable(const struct mem_region *r)
{
        return r->r && !r->shared && !(r->path && r->path[0] == '[' &&
               strcmp(r->path, "[heap]") != 0 && strcmp(r->path, "[stack]") != 0);
}

static void livecopy_take(struct livecopy *lc, pid_t pid)
{
        struct memsrc *live = NULL;
        const struct mem_region *r;
        size_t n, i;

        memset(lc, 0, sizeof(*lc));
        if (memsrc_open_live(pid, &live, NULL) < 0 || memsrc_regions(live, &r, &n) < 0)
                goto out;
        for (i = 0; i < n && lc->n < 512; i++) {
                unsigned char *b;

                if (!comparable(&r[i]) || r[i].end - r[i].start > (256u << 20))
                        continue;
                b = malloc(r[i].end - r[i].start);
                if (!b)
                        continue;
                if (memsrc_read(live, r[i].start, b, r[i].end - r[i].start) < 0) {
                        free(b);   /* e.g. a guard page inside: not comparable */
                        continue;
                }
                lc->start[lc->n] = r[i].start;
                lc->end[lc->n] = r[i].end;
                lc->bytes[lc->n++] = b;
        }
out:
        memsrc_free(live);
}

static void livecopy_free(struct livecopy *lc)
{
        size_t i;

        for (i = 0; i < lc->n; i++)
                free(lc->bytes[i]);
        lc->n = 0;
}

static void compare_with_live(struct memsrc *core, const struct livecopy *before,
                              const struct livecopy *after)
{
        size_t i, j, pages = 0, volatile_pages = 0, bad = 0, unreadable = 0;
        unsigned char page[4096];
        char first[160] = "";

        for (i = 0; i < after->n; i++) {
                const unsigned char *pre = NULL;

                for (j = 0; j < before->n; j++)
                        if (before->start[j] == after->start[i] && before->end[j] == after->end[i])
                                pre = before->bytes[j];
                if (!pre)
                        continue;
                for (uint64_t at = after->start[i]; at < after->end[i]; at += 4096) {
                        size_t off = at - after->start[i];
                        size_t len = after->end[i] - at < 4096 ? (size_t)(after->end[i] - at) : 4096;

                        pages++;
                        if (memcmp(pre + off, after->bytes[i] + off, len) != 0) {
                                volatile_pages++;
                                continue;
                        }
                        if (memsrc_read(core, at, page, len) < 0) {
                                unreadable++;
                                if (!first[0])
                                        snprintf(first, sizeof(first), "unreadable in the core at 0x%llx",
                                                 (unsigned long long)at);
                                continue;
                        }
                        if (memcmp(page, after->bytes[i] + off, len) != 0) {
                                bad++;
                                if (!first[0])
                                        snprintf(first, sizeof(first), "differs at 0x%llx",
                                                 (unsigned long long)at);
                        }
                }
        }
        ok(after->n > 10 && pages > 1000 && bad == 0 && unreadable == 0 && volatile_pages < pages / 20,
           "gcore: %zu mappings, %zu pages identical to the live process (%zu differ, %zu unreadable, "
           "%zu changed by gdb's attach, ignored) %s", after->n, pages - volatile_pages - bad - unreadable,
           bad, unreadable, volatile_pages, first);
}

static int copy_truncated(const char *src, const char *dst, off_t keep)
{
        char b[65536];
        int in, out;
        off_t done = 0;
        ssize_t n;

        in = open(src, O_RDONLY);
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0)
                return -1;
        while (done < keep && (n = read(in, b, sizeof(b))) > 0) {
                if (n > keep - done)
                        n = keep - done;
                if (write(out, b, n) != n)
                        return -1;
                done += n;
        }
        close(in);
        close(out);
        return 0;
}

static void test_gcore(void)
{
        struct target t;
        char core[512], trunc[512], empty[512], sysroot[512], gc[600], pidbuf[32];
        struct memsrc *m = NULL;
        struct core_info ci = { 0 };
        struct diag d;
        struct stat st;
        const struct mem_region *lr;
        char *host = NULL, exe[PATH_MAX] = "";
        static struct livecopy before, after;
        int r, fd;

        if (!have_prog("gdb")) {
                printf("# SKIP gcore tests: gdb not installed (apt-get install gdb)\n");
                return;
        }
        if (target_start(&t, "block") < 0) {
                ok(0, "python target started");
                target_wait(&t, NULL);
                return;
        }
        wait_quiescent(t.pid);
        livecopy_take(&before, t.pid);
        snprintf(core, sizeof(core), "%s/gcore", tmpdir);
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
        snprintf(gc, sizeof(gc), "gcore %s", core);
        {
                char *argv[] = { "gdb", "-nx", "-batch", "-p", pidbuf, "-ex", gc, NULL };

                r = run_quiet(argv, 120);
        }
        ok(r == 0 && stat(core, &st) == 0 && st.st_size > 0, "gdb gcore of the target (exit %d)", r);

        diag_clear(&d);
        r = memsrc_open_core(core, NULL, &m, &d);
        ok(r == 0, "memsrc_open_core on a gcore: %d %s", r, d.msg);
        if (r == 0) {
                ok(memsrc_pid(m) == t.pid, "memsrc_pid is the pid recorded in the core (%d, want %d)",
                   (int)memsrc_pid(m), (int)t.pid);
                r = memsrc_core_info(m, &ci);
                ok(r == 0 && ci.threads == 5, "NT_PRSTATUS: 5 threads (got %d)", ci.threads);
                ok(ci.exe && ci.exe_host && strstr(ci.exe, "python") && ci.files_missing == 0,
                   "executable from NT_FILE/AT_ENTRY: %s, no missing files (%zu)",
                   ci.exe ? ci.exe : "(null)", ci.files_missing);
                if (ci.exe_host)
                        snprintf(exe, sizeof(exe), "%s", ci.exe_host);
                check_pattern(m, t.buf, t.len, "gcore");
                check_fn(m, &t, "gcore");
                livecopy_take(&after, t.pid);
                compare_with_live(m, &before, &after);
                livecopy_free(&after);
                lr = region_named(m, "libc.so");
                fd = lr ? memsrc_open_mapped_file(m, lr, &host) : -ENOENT;
                ok(fd >= 0 && host && strstr(host, "libc.so"), "open_mapped_file opens libc from NT_FILE (%s)",
                   host ? host : "(none)");
                if (fd >= 0)
                        close(fd);
                free(host);
                host = NULL;
                {
                        uint64_t v;

                        ok(memsrc_read_u64(m, 8, &v) == -EFAULT, "an unmapped address reads -EFAULT");
                }
                ok(memsrc_refresh_regions(m) == 0, "refresh_regions is a no-op on a core");
        }
        memsrc_free(m);
        m = NULL;

        /* missing files: an empty sysroot, then the executable given by --exe */
        snprintf(sysroot, sizeof(sysroot), "%s/root", tmpdir);
        mkdir(sysroot, 0700);
        {
                struct core_opts o = { .core_path = core, .sysroot = sysroot };

                diag_clear(&d);
                r = memsrc_open_core_opts(&o, &m, &d);
                ok(r == -ENOENT && strstr(d.msg, "--exe") && strstr(d.msg, "--sysroot") &&
                   strstr(d.msg, "python"),
                   "executable missing under --sysroot: -ENOENT naming it, hints --exe/--sysroot (%d: %s)", r, d.msg);
                memsrc_free(m);
                m = NULL;
                if (exe[0]) {
                        o.exe_path = exe;
                        diag_clear(&d);
                        r = memsrc_open_core_opts(&o, &m, &d);
                        ok(r == 0, "with --exe and an empty sysroot the core opens (%d: %s)", r, d.msg);
                        if (r == 0) {
                                uint64_t v;
                                char root[600];

                                /* the core's pid is nobody's any more: its
                                 * files are the sysroot's, never /proc's */
                                ok(!strcmp(memsrc_root(m, root, sizeof(root)), sysroot) &&
                                   memsrc_open_proc(m, "comm") == -ENOENT &&
                                   memsrc_open_file(m, "/etc/os-release") == -ENOENT,
                                   "core: root is --sysroot (%s), no /proc of its pid", root);

                                memsrc_core_info(m, &ci);
                                ok(ci.files_missing > 0 && ci.first_missing,
                                   "the other files are counted missing (%zu, e.g. %s)", ci.files_missing,
                                   ci.first_missing ? ci.first_missing : "-");
                                ok(memsrc_read_u64(m, t.fn, &v) == -EFAULT,
                                   "libc code without libc: -EFAULT, never made-up bytes");
                                check_pattern(m, t.buf, t.len, "gcore, empty sysroot");
                        }
                        memsrc_free(m);
                        m = NULL;
                }
        }

        /* truncated and empty cores */
        snprintf(trunc, sizeof(trunc), "%s/trunc", tmpdir);
        copy_truncated(core, trunc, st.st_size / 2);
        diag_clear(&d);
        r = memsrc_open_core(trunc, NULL, &m, &d);
        ok(r == -EBADMSG && strstr(d.msg, "truncated"), "truncated core: -EBADMSG, says truncated (%d: %s)", r, d.msg);
        memsrc_free(m);
        m = NULL;
        copy_truncated(core, trunc, 40);
        diag_clear(&d);
        r = memsrc_open_core(trunc, NULL, &m, &d);
        ok(r == -EBADMSG || r == -ENOEXEC, "core cut inside its ELF header refused (%d: %s)", r, d.msg);
        memsrc_free(m);
        m = NULL;
        snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
        close(open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0600));
        diag_clear(&d);
        r = memsrc_open_core(empty, NULL, &m, &d);
        ok(r == -EBADMSG && strstr(d.msg, "empty"), "empty file: -EBADMSG, says empty (%d: %s)", r, d.msg);
        memsrc_free(m);
        unlink(core);
        livecopy_free(&before);
        target_wait(&t, NULL);
}

static void test_not_core(void)
{
        struct memsrc *m = NULL;
        struct diag d;
        char exe[64], txt[512];
        FILE *f;
        int r;

        snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)getpid());
        diag_clear(&d);
        r = memsrc_open_core(exe, NULL, &m, &d);
        ok(r == -ENOEXEC && strstr(d.msg, "not a core file") && strstr(d.msg, "--exe"),
           "an executable given as the core: -ENOEXEC with a hint (%d: %s)", r, d.msg);
        memsrc_free(m);
        m = NULL;

        snprintf(txt, sizeof(txt), "%s/text", tmpdir);
        f = fopen(txt, "w");
        if (f) {
                fputs("not an ELF file at all\n", f);
                fclose(f);
        }
        diag_clear(&d);
        r = memsrc_open_core(txt, NULL, &m, &d);
        ok(r == -ENOEXEC && strstr(d.msg, "not a core file"), "a text file: -ENOEXEC (%d: %s)", r, d.msg);
        memsrc_free(m);
        m = NULL;

        diag_clear(&d);
        r = memsrc_open_core("/nonexistent/core.1", NULL, &m, &d);
        ok(r == -ENOENT && strstr(d.msg, "/nonexistent/core.1"), "no such core file: -ENOENT naming it (%d: %s)",
           r, d.msg);
        memsrc_free(m);
}

/* A kernel core needs core_pattern to write a plain file in the crashing
 * process's directory ("core", "core.%p"): a pipe handler (systemd-coredump,
 * apport) keeps it elsewhere, so that case is skipped, never changed. */
static void test_kernel_core(void)
{
        char pat[256] = "", path[700] = "";
        struct memsrc *m = NULL;
        struct core_info ci;
        struct diag d;
        struct target t;
        DIR *dir;
        struct dirent *de;
        pid_t pid;
        int st = 0, r, fd;
        ssize_t n;

        fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
        n = fd >= 0 ? read(fd, pat, sizeof(pat) - 1) : -1;
        if (fd >= 0)
                close(fd);
        if (n <= 0 || pat[0] == '|' || strchr(pat, '/')) {
                printf("# SKIP kernel core: core_pattern is %s (a pipe or another directory)\n",
                       n > 0 ? pat : "unreadable");
                return;
        }
        if (target_start(&t, "abort") < 0) {
                ok(0, "python target (abort) started");
                target_wait(&t, NULL);
                return;
        }
        pid = t.pid;
        target_wait(&t, &st);
        if (!WIFSIGNALED(st) || !WCOREDUMP(st)) {
                printf("# SKIP kernel core: the target was not dumped (status 0x%x; RLIMIT_CORE hard limit?)\n", st);
                return;
        }
        dir = opendir(tmpdir);
        while (dir && (de = readdir(dir)))
                if (strncmp(de->d_name, "core", 4) == 0) {
                        snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
                        break;
                }
        if (dir)
                closedir(dir);
        ok(path[0], "the kernel wrote a core (%s)", path[0] ? path : "not found");
        if (!path[0])
                return;
        diag_clear(&d);
        r = memsrc_open_core(path, NULL, &m, &d);
        ok(r == 0, "memsrc_open_core on a kernel core: %d %s", r, d.msg);
        if (r == 0) {
                memsrc_core_info(m, &ci);
                ok(memsrc_pid(m) == pid && ci.threads == 5 && ci.signal == SIGABRT,
                   "kernel core: pid %d (want %d), %d threads (want 5), signal %d", (int)memsrc_pid(m),
                   (int)pid, ci.threads, ci.signal);
                check_pattern(m, t.buf, t.len, "kernel core");
                check_fn(m, &t, "kernel core");
        }
        memsrc_free(m);
        unlink(path);
}

static void cleanup(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
        if (access(python, X_OK) != 0) {
                tap_skip_all("no /usr/bin/python3 to dump (apt-get install python3)");
                return 77;
        }
        if (!mkdtemp(tmpdir)) {
                tap_skip_all("cannot create a temporary directory");
                return 77;
        }
        atexit(cleanup);
        test_not_core();
        test_gcore();
        test_kernel_core();
        return tap_done();
}
