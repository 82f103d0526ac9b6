#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"

#define PROC_SCAN_MAX 1000000       /* /proc entries read by the fallback */

static bool seen(const pid_t *v, unsigned n, pid_t p)
{
        for (unsigned i = 0; i < n; i++)
                if (v[i] == p)
                        return true;
        return false;
}

/* Appends the children of pid (every thread's list) to v.  -ENOSYS when
 * the kernel has no children files (CONFIG_PROC_CHILDREN off). */
static int proc_children(pid_t pid, pid_t *v, unsigned max, unsigned *n)
{
        char path[64];
        struct dirent *e;
        DIR *dir;
        bool any_file = false;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir = opendir(path);
        if (!dir)
                return errno == ENOENT ? -ESRCH : -errno;
        while ((e = readdir(dir)) != NULL) {
                char cpath[128];
                FILE *f;
                long c;

                if (e->d_name[0] < '0' || e->d_name[0] > '9')
                        continue;
                snprintf(cpath, sizeof(cpath), "/proc/%d/task/%.20s/children", (int)pid,
                         e->d_name);
                f = fopen(cpath, "re");
                if (!f)
                        continue;
                any_file = true;
                /* not this tool, should a master have started it */
                while (fscanf(f, "%ld", &c) == 1)
                        if (c > 0 && c <= INT32_MAX && *n < max && c != getpid() &&
                            !seen(v, *n, (pid_t)c))
                                v[(*n)++] = (pid_t)c;
                fclose(f);
        }
        closedir(dir);
        return any_file ? 0 : -ENOSYS;
}

/* The ppid of /proc/N/stat: after the last ')' of the command, the state,
 * then the ppid. */
static pid_t proc_ppid(const char *pid)
{
        char path[64], buf[1024], *rp;
        FILE *f;
        size_t n;
        int ppid;

        snprintf(path, sizeof(path), "/proc/%.20s/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        rp = strrchr(buf, ')');
        if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
                return -1;
        return (pid_t)ppid;
}

/* The fallback: one scan of /proc, then the same breadth-first order. */
static int scan_descendants(pid_t master, pid_t *out, unsigned max, unsigned *ret_n)
{
        pid_t *pid = NULL, *ppid = NULL;
        size_t np = 0, cap = 0, scanned = 0;
        unsigned n = 0;
        struct dirent *e;
        DIR *dir = opendir("/proc");

        if (!dir)
                return -errno;
        while ((e = readdir(dir)) != NULL && scanned++ < PROC_SCAN_MAX) {
                pid_t pp;

                if (e->d_name[0] < '1' || e->d_name[0] > '9')
                        continue;
                pp = proc_ppid(e->d_name);
                if (pp <= 0)
                        continue;
                /* both arrays keep one capacity: grown together */
                if (np == cap) {
                        size_t c1 = cap, c2 = cap;

                        if (GROW(pid, c1, np + 1, 1024) < 0 ||
                            GROW(ppid, c2, np + 1, 1024) < 0)
                                break;
                        cap = c1 < c2 ? c1 : c2;
                }
                pid[np] = (pid_t)atoi(e->d_name);
                ppid[np++] = pp;
        }
        closedir(dir);
        for (unsigned q = 0; q <= n && n < max; q++) {
                pid_t parent = q == 0 ? master : out[q - 1];

                for (size_t i = 0; i < np && n < max; i++)
                        if (ppid[i] == parent && pid[i] != master && pid[i] != getpid() &&
                            !seen(out, n, pid[i]))
                                out[n++] = pid[i];
        }
        free(pid);
        free(ppid);
        *ret_n = n;
        return 0;
}

int proctree_descendants(pid_t master, enum proctree_how how, pid_t *out, unsigned max,
                         unsigned *ret_n)
{
        unsigned n = 0;
        char path[64];
        struct stat st;
        int r;

        snprintf(path, sizeof(path), "/proc/%d", (int)master);
        if (stat(path, &st) < 0)
                return -ESRCH;
        r = how == PROCTREE_SCAN ? -ENOSYS : proc_children(master, out, max, &n);
        if (r == -ENOSYS)
                return scan_descendants(master, out, max, ret_n);
        if (r < 0)
                return r;
        /* breadth first: a worker's own children (a gunicorn worker's
         * subprocess) follow the workers */
        for (unsigned q = 0; q < n && n < max; q++)
                (void)proc_children(out[q], out, max, &n);
        *ret_n = n;
        return 0;
}
