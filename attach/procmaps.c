#include "procmaps.h"

#include "diag.h"
#include "grow.h"
#include "ptraceperm.h"
#include "memsrc-internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Small files under /proc report size 0, so read until EOF, capped. */
int proc_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        size_t cap = 4096, len = 0;
        char *buf = NULL, *nb;
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT || errno == ESRCH)
                        return -ESRCH;
                if (errno == EACCES)
                        return -EPERM;
                return -errno;
        }
        buf = malloc(cap);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap >= max + 1) {
                                r = -EFBIG;
                                goto out;
                        }
                        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        nb = realloc(buf, cap);
                        if (!nb) {
                                r = -ENOMEM;
                                goto out;
                        }
                        buf = nb;
                }
                n = read(fd, buf + len, cap - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* reading maps of an exiting process gives ESRCH
                         * or EIO depending on the kernel */
                        r = (errno == ESRCH || errno == EIO) ? -ESRCH
                            : errno == EACCES ? -EPERM : -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        buf = NULL;
        r = 0;
out:
        free(buf);
        close(fd);
        return r;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Parses a hex number at *p (< end), overflow-checked; advances *p. */
static int parse_hex(const char **p, const char *end, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;
        int d, n = 0;

        while (s < end && (d = hexval(*s)) >= 0) {
                if (v > (UINT64_MAX >> 4))
                        return -EBADMSG;
                v = (v << 4) | (uint64_t)d;
                s++;
                n++;
        }
        if (n == 0)
                return -EBADMSG;
        *p = s;
        *ret = v;
        return 0;
}

static int parse_dec(const char **p, const char *end, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;
        int n = 0;

        while (s < end && *s >= '0' && *s <= '9') {
                if (v > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t)(*s - '0');
                s++;
                n++;
        }
        if (n == 0)
                return -EBADMSG;
        *p = s;
        *ret = v;
        return 0;
}

static int expect_char(const char **p, const char *end, char c)
{
        if (*p >= end || **p != c)
                return -EBADMSG;
        (*p)++;
        return 0;
}

/* Format: "start-end perms offset maj:min inode<spaces>path".  The kernel
 * pads with spaces before the path, and only the path may contain spaces,
 * so everything after the inode and its padding is the path. */
int procmaps_parse_line(const char *line, size_t len, struct mem_region *ret)
{
        static const char deleted[] = " (deleted)";
        const size_t dlen = sizeof(deleted) - 1;
        const char *p = line, *end = line + len;
        struct mem_region r = {0};
        uint64_t dummy;
        size_t plen;

        if (!line || !ret)
                return -EINVAL;
        while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
                end--;
        if (parse_hex(&p, end, &r.start) < 0 || expect_char(&p, end, '-') < 0 ||
            parse_hex(&p, end, &r.end) < 0 || expect_char(&p, end, ' ') < 0)
                return -EBADMSG;
        if (r.end < r.start)
                return -EBADMSG;
        if (end - p < 5)
                return -EBADMSG;
        if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
            (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
                return -EBADMSG;
        r.r = p[0] == 'r';
        r.w = p[1] == 'w';
        r.x = p[2] == 'x';
        r.shared = p[3] == 's';
        p += 4;
        if (expect_char(&p, end, ' ') < 0 || parse_hex(&p, end, &r.offset) < 0 ||
            expect_char(&p, end, ' ') < 0 || parse_hex(&p, end, &dummy) < 0 ||
            expect_char(&p, end, ':') < 0 || parse_hex(&p, end, &dummy) < 0 ||
            expect_char(&p, end, ' ') < 0 || parse_dec(&p, end, &r.inode) < 0)
                return -EBADMSG;
        if (p < end && *p != ' ')
                return -EBADMSG;
        while (p < end && *p == ' ')
                p++;
        plen = (size_t)(end - p);
        if (plen >= dlen && memcmp(end - dlen, deleted, dlen) == 0 && plen > dlen) {
                r.deleted = true;
                plen -= dlen;
        }
        if (plen > 0) {
                if (plen > PATH_MAX * 4)
                        return -EBADMSG;
                r.path = strndup(p, plen);
                if (!r.path)
                        return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static int region_cmp(const void *a, const void *b)
{
        const struct mem_region *x = a, *y = b;

        return x->start < y->start ? -1 : x->start > y->start;
}

int procmaps_parse(const char *text, size_t len, struct mem_region **ret,
                   size_t *ret_n)
{
        struct mem_region *v = NULL;
        size_t n = 0, cap = 0, i;
        const char *p = text, *end = text + len, *nl;
        int r;

        if (!text && len)
                return -EINVAL;
        while (p < end) {
                nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl)
                        nl = end;
                if (nl == p) {
                        p++;
                        continue;
                }
                if (n >= PROCMAPS_MAX_REGIONS) {
                        r = -E2BIG;
                        goto fail;
                }
                if (GROW(v, cap, n + 1, 64) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = procmaps_parse_line(p, (size_t)(nl - p), &v[n]);
                if (r < 0)
                        goto fail;
                n++;
                p = nl + 1;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), region_cmp);
        /* Overlapping regions would break binary search; the kernel never
         * produces them, so they mean the text is not a maps file. */
        for (i = 1; i < n; i++)
                if (v[i].start < v[i - 1].end) {
                        r = -EBADMSG;
                        goto fail;
                }
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        procmaps_regions_free(v, n);
        return r;
}

static int maps_read_once(pid_t pid, pid_t tid, struct mem_region **ret,
                          size_t *ret_n)
{
        char path[96], *text = NULL;
        size_t len = 0;
        int r;

        proc_task_path(path, sizeof(path), pid, tid, "maps");
        r = proc_read_file(path, PROCMAPS_MAX_BYTES, &text, &len);
        if (r < 0)
                return r;
        r = procmaps_parse(text, len, ret, ret_n);
        free(text);
        return r;
}

/* The kernel hands a maps or smaps file out a page at a time, taking the
 * mapping lock afresh for each read(): a target that maps, unmaps or
 * mprotects between two of them makes the text inconsistent (a region that
 * overlaps the one before, out of order).  That is -EBADMSG from the
 * parser; a new read almost always sees a quiet moment. */
int procmaps_read_task(pid_t pid, pid_t tid, struct mem_region **ret,
                       size_t *ret_n)
{
        int r = -EBADMSG;

        for (int i = 0; i < PROCMAPS_READ_TRIES && r == -EBADMSG; i++)
                r = maps_read_once(pid, tid, ret, ret_n);
        return r;
}

int procmaps_read(pid_t pid, struct mem_region **ret, size_t *ret_n)
{
        return procmaps_read_task(pid, pid, ret, ret_n);
}

void proc_task_path(char *buf, size_t size, pid_t pid, pid_t tid,
                    const char *file)
{
        if (pid > 0 && pid != tid)
                snprintf(buf, size, "/proc/%d/task/%d/%s", (int)pid, (int)tid, file);
        else
                snprintf(buf, size, "/proc/%d/%s", (int)tid, file);
}

/* A smaps field line starts with its key ("Rss:"); a region header line
 * starts with the hex range. */
static bool smaps_field(const char *p, const char *end)
{
        while (p < end && *p != ' ' && *p != '\n') {
                if (*p == ':')
                        return true;
                if (*p == '-')
                        return false;
                p++;
        }
        return false;
}

static int smaps_read_once(pid_t pid, pid_t tid, struct mem_region **ret,
                           uint64_t **ret_resident, size_t *ret_n)
{
        struct mem_region *v = NULL;
        uint64_t *res = NULL, kb;
        size_t n = 0, cap = 0, capres = 0;
        const char *p, *end, *nl, *q;
        char path[96], *text = NULL;
        size_t len = 0;
        int r;

        proc_task_path(path, sizeof(path), pid, tid, "smaps");
        /* ~25 lines per region: allow more text than for maps */
        r = proc_read_file(path, PROCMAPS_MAX_BYTES * 4u, &text, &len);
        if (r < 0)
                return r;
        p = text;
        end = text + len;
        while (p < end) {
                nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl)
                        nl = end;
                if (nl == p) {
                        p++;
                        continue;
                }
                if (smaps_field(p, nl)) {
                        if (n > 0 && ((nl - p > 4 && memcmp(p, "Rss:", 4) == 0) ||
                                      (nl - p > 5 && memcmp(p, "Swap:", 5) == 0))) {
                                q = memchr(p, ':', (size_t)(nl - p)) + 1;
                                while (q < nl && *q == ' ')
                                        q++;
                                if (parse_dec(&q, nl, &kb) == 0 && kb < (UINT64_MAX >> 11))
                                        res[n - 1] += kb << 10;
                        }
                        p = nl + 1;
                        continue;
                }
                if (n >= PROCMAPS_MAX_REGIONS) {
                        r = -E2BIG;
                        goto fail;
                }
                if (GROW(v, cap, n + 1, 64) < 0 || GROW(res, capres, n + 1, 64) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = procmaps_parse_line(p, (size_t)(nl - p), &v[n]);
                if (r < 0)
                        goto fail;
                /* the kernel lists smaps in address order, like maps */
                if (n > 0 && v[n].start < v[n - 1].end) {
                        free(v[n].path);
                        r = -EBADMSG;
                        goto fail;
                }
                res[n] = 0;
                n++;
                p = nl + 1;
        }
        free(text);
        *ret = v;
        *ret_resident = res;
        *ret_n = n;
        return 0;
fail:
        free(text);
        procmaps_regions_free(v, n);
        free(res);
        return r;
}

int procmaps_read_smaps(pid_t pid, pid_t tid, struct mem_region **ret,
                        uint64_t **ret_resident, size_t *ret_n)
{
        int r = -EBADMSG;

        /* as procmaps_read_task: the text may tear between two read()s */
        for (int i = 0; i < PROCMAPS_READ_TRIES && r == -EBADMSG; i++)
                r = smaps_read_once(pid, tid, ret, ret_resident, ret_n);
        return r;
}

int proc_explain_maps_error(struct diag *d, pid_t pid, const char *file, int err)
{
        if (err == -EBADMSG) {
                diag_set(d, err, "cannot read /proc/%d/%s: the target's memory mappings "
                         "changed during each of %d reads", (int)pid, file,
                         PROCMAPS_READ_TRIES);
                diag_append(d, "hint: the target maps, unmaps or protects memory without "
                            "pause (an allocator, a JIT, mmap'ed files); run the tool again");
                return err;
        }
        return diag_set(d, err, "cannot read /proc/%d/%s: %s", (int)pid, file, strerror(-err));
}

static bool status_field(const char *text, const char *key, const char **ret)
{
        size_t klen = strlen(key);
        const char *p = text;

        while (p && *p) {
                if (strncmp(p, key, klen) == 0) {
                        p += klen;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        *ret = p;
                        return true;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret)
{
        struct proc_status st = {0};
        char path[96], *text = NULL;
        const char *v;
        int r;

        proc_task_path(path, sizeof(path), pid, tid, "status");
        r = proc_read_file(path, 1u << 16, &text, NULL);
        if (r < 0)
                return r;
        if (!status_field(text, "State:", &v) || !*v) {
                free(text);
                return -EBADMSG;
        }
        st.state = *v;
        if (status_field(text, "Tgid:", &v))
                st.tgid = (pid_t)strtol(v, NULL, 10);
        if (status_field(text, "TracerPid:", &v))
                st.tracer_pid = (pid_t)strtol(v, NULL, 10);
        if (status_field(text, "Uid:", &v))
                st.uid = (uid_t)strtoul(v, NULL, 10);
        free(text);
        *ret = st;
        return 0;
}

int proc_read_state(pid_t pid, pid_t tid, char *ret)
{
        char path[96], *text = NULL, *p;
        int r;

        proc_task_path(path, sizeof(path), pid, tid, "stat");
        r = proc_read_file(path, 1u << 16, &text, NULL);
        if (r < 0)
                return r;
        /* comm may contain ") ": the state follows the last ')' */
        p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2]) {
                free(text);
                return -EBADMSG;
        }
        *ret = p[2];
        free(text);
        return 0;
}

void proc_read_comm(pid_t pid, char *buf, size_t size)
{
        char path[64], *text = NULL;
        size_t len = 0;

        if (!buf || size == 0)
                return;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        if (proc_read_file(path, 256, &text, &len) < 0) {
                snprintf(buf, size, "?");
                return;
        }
        while (len > 0 && text[len - 1] == '\n')
                text[--len] = '\0';
        snprintf(buf, size, "%s", text);
        free(text);
}

int proc_list_tasks(pid_t pid, pid_t *tids, size_t max, size_t *ret_n)
{
        char path[64];
        struct dirent *de;
        size_t n = 0, seen = 0;
        DIR *dir;
        long v;
        char *e;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir = opendir(path);
        if (!dir)
                return errno == ENOENT ? -ESRCH : errno == EACCES ? -EPERM : -errno;
        while ((de = readdir(dir)) != NULL && seen++ < PROC_MAX_TASKS * 2u) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                errno = 0;
                v = strtol(de->d_name, &e, 10);
                if (errno || *e || v <= 0 || v > INT_MAX)
                        continue;
                /* a partial list would let unlisted threads run on */
                if (n >= max) {
                        closedir(dir);
                        *ret_n = n;
                        return -E2BIG;
                }
                tids[n++] = (pid_t)v;
        }
        closedir(dir);
        *ret_n = n;
        return 0;
}

pid_t proc_reader_tid(pid_t pid)
{
        pid_t tids[64];
        size_t n = 0, i;
        char state;

        if (proc_read_state(pid, pid, &state) < 0 || (state != 'Z' && state != 'X'))
                return pid;
        if (proc_list_tasks(pid, tids, 64, &n) < 0 && n == 0)
                return pid;
        for (i = 0; i < n; i++)
                if (tids[i] != pid && proc_read_state(pid, tids[i], &state) == 0 &&
                    state != 'Z' && state != 'X')
                        return tids[i];
        return pid;
}

int proc_yama_ptrace_scope(void)
{
        char *text = NULL;
        long v;
        int r;

        r = proc_read_file("/proc/sys/kernel/yama/ptrace_scope", 64, &text, NULL);
        if (r < 0)
                return -ENOENT;
        v = strtol(text, NULL, 10);
        free(text);
        if (v < 0 || v > 3)
                return -ENOENT;
        return (int)v;
}

int proc_check_alive(pid_t pid, struct diag *d)
{
        pid_t tids[2];
        size_t n = 0;
        char state;
        int r;

        if (pid <= 0)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        r = proc_read_state(pid, pid, &state);
        if (r == -ESRCH)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        if (r < 0)
                return 0;       /* let the later access report the cause */
        if (state == 'Z' || state == 'X') {
                /* A leader that called pthread_exit() shows Z while its
                 * other threads still run: only a lone zombie is dead. */
                r = proc_list_tasks(pid, tids, 2, &n);
                if ((r < 0 && r != -E2BIG) || (r == 0 && n <= 1))
                        return diag_set(d, -ESRCH,
                                        "process %d is a zombie (exited, not yet reaped by its parent)\n"
                                        "hint: it holds no Python objects any more; find the live process "
                                        "(pgrep -a python), or analyse a core file of it (--core)",
                                        (int)pid);
        }
        return 0;
}

/* The wait status of a zombie: field 52 (exit_code) of /proc/PID/stat,
 * Linux 3.5+.  -ENOENT when the kernel does not say. */
static int zombie_status(pid_t pid, int *ret)
{
        char path[64], *text = NULL, *p, *e;
        long v = -1;
        int field = 3;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (proc_read_file(path, 1u << 16, &text, NULL) < 0)
                return -ENOENT;
        /* comm may contain ") ": fields count from the last ')' */
        p = strrchr(text, ')');
        for (p = p ? p + 1 : NULL; p && *p && field <= 52; field++) {
                while (*p == ' ')
                        p++;
                if (field == 52) {
                        errno = 0;
                        v = strtol(p, &e, 10);
                        if (errno || e == p)
                                v = -1;
                        break;
                }
                p = strchr(p, ' ');
        }
        free(text);
        if (v < 0 || v > 0xffff)
                return -ENOENT;
        *ret = (int)v;
        return 0;
}

int proc_explain_exit(pid_t pid, struct diag *d)
{
        char how[128] = "", what[512] = "";
        pid_t tids[2];
        size_t n = 0;
        bool core = false;
        char state;
        int r, st;

        if (pid <= 0)
                return 0;
        r = proc_read_state(pid, pid, &state);
        if (r == 0) {
                if (state != 'Z' && state != 'X')
                        return 0;
                /* a leader that called pthread_exit() is a zombie while
                 * its other threads run on */
                r = proc_list_tasks(pid, tids, 2, &n);
                if (r == -E2BIG || (r == 0 && n > 1))
                        return 0;
                if (zombie_status(pid, &st) == 0) {
                        if (WIFEXITED(st))
                                snprintf(how, sizeof(how), " (exit status %d)", WEXITSTATUS(st));
                        else if (WIFSIGNALED(st))
                                snprintf(how, sizeof(how), " (killed by signal %d, %s%s)",
                                         WTERMSIG(st), strsignal(WTERMSIG(st)),
                                         (core = WCOREDUMP(st)) ? ", core dumped" : "");
                }
        } else if (r != -ESRCH) {
                return 0;
        }
        if (d && d->msg[0] && !strstr(d->msg, "exited"))
                snprintf(what, sizeof(what), "\nwhat failed: %.*s",
                         (int)strcspn(d->msg, "\n"), d->msg);
        diag_set(d, -ESRCH, "process %d exited during the attach%s%s", (int)pid, how, what);
        diag_append(d, "hint: its objects are gone with it; attach while it runs%s",
                    core ? ", or analyse its core file (--core FILE)"
                         : ", or, for a process that crashes, analyse a core file of it (--core)");
        return -ESRCH;
}

int proc_explain_eperm(struct diag *d, pid_t pid, const char *what,
                       int yama_scope)
{
        struct ptrace_facts f;

        ptrace_facts_read(pid, &f);
        f.yama = yama_scope < 0 ? -1 : yama_scope;
        return ptrace_explain(&f, what, d);
}

int proc_vm_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
        size_t done = 0;
        unsigned tries = 0;
        ssize_t n;

        if (len == 0)
                return 0;
        if (addr + len < addr)
                return -EFAULT;
        /* A short count means the byte after it is unreadable, but the
         * kernel may also stop early at a page boundary, so retry once
         * from there before concluding; each pass makes progress. */
        while (done < len) {
                struct iovec l = { (char *)buf + done, len - done };
                struct iovec rv = { (void *)(uintptr_t)(addr + done), len - done };

                n = process_vm_readv(pid, &l, 1, &rv, 1, 0);
                if (n < 0) {
                        if (errno == EINTR && tries++ < 100)
                                continue;
                        if (errno == EFAULT || errno == ENOMEM)
                                return -EFAULT;
                        if (errno == ESRCH)
                                return -ESRCH;
                        if (errno == EPERM || errno == EACCES)
                                return -EPERM;
                        return errno == ENOSYS ? -ENOSYS : -errno;
                }
                if (n == 0)
                        return -EFAULT;
                done += (size_t)n;
        }
        return 0;
}

int proc_mem_read(int mem_fd, pid_t pid, uint64_t addr, void *buf, size_t len)
{
        size_t done = 0;
        unsigned tries = 0;
        ssize_t n;

        if (len == 0)
                return 0;
        if (mem_fd < 0)
                return -EBADF;
        if (addr + len < addr)
                return -EFAULT;
        while (done < len) {
                n = pread(mem_fd, (char *)buf + done, len - done,
                          (off_t)(addr + done));
                if (n < 0) {
                        if (errno == EINTR && tries++ < 100)
                                continue;
                        if (errno == EIO || errno == EFAULT || errno == EINVAL)
                                return -EFAULT;
                        if (errno == EPERM || errno == EACCES)
                                return -EPERM;
                        return -errno;
                }
                /* 0 means the address space is gone (an unmapped address
                 * gives EIO); the fd pins the mm, so a reused pid cannot
                 * answer instead */
                if (n == 0)
                        return -ESRCH;
                done += (size_t)n;
        }
        return 0;
}

int proc_open_mapped_file(pid_t pid, const struct mem_region *r,
                          char **host_path)
{
        char path[64], *full = NULL;
        size_t need;
        int fd, err;

        if (!r)
                return -EINVAL;
        if (!r->path || r->path[0] != '/')
                return -ENOENT;
        /* map_files names are the range in lowercase hex without 0x; it
         * works for deleted files and other mount namespaces alike */
        snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
                 (unsigned long long)r->start, (unsigned long long)r->end);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (host_path) {
                        *host_path = strdup(path);
                        if (!*host_path) {
                                close(fd);
                                return -ENOMEM;
                        }
                }
                return fd;
        }
        err = errno;
        if (r->deleted)
                return err == ENOENT ? -ESRCH : err == EACCES ? -EPERM : -err;
        need = strlen(r->path) + 32;
        full = malloc(need);
        if (!full)
                return -ENOMEM;
        snprintf(full, need, "/proc/%d/root%s", (int)pid, r->path);
        fd = open(full, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                err = errno;
                free(full);
                return err == EACCES ? -EPERM : -err;
        }
        if (host_path)
                *host_path = full;
        else
                free(full);
        return fd;
}

/* ---- regions ----------------------------------------------------------- */

void procmaps_regions_free(struct mem_region *r, size_t n)
{
        size_t i;

        if (!r)
                return;
        for (i = 0; i < n; i++)
                free(r[i].path);
        free(r);
}

bool procmaps_region_copyable(const struct mem_region *r)
{
        if (!r->r || !r->w || r->shared || r->end <= r->start ||
            r->end - r->start > PROCMAPS_MAX_COPY_REGION)
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

bool procmaps_region_anon(const struct mem_region *r)
{
        return !r->path || r->path[0] == '[';
}
