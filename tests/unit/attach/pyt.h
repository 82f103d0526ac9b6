/* Shared by the fork-mode tests (test-fork.c, test-fork-kill.c): the
 * Python target of fork_target.py, driven over pipes, and what a test
 * checks of a target afterwards (its children, zombies, threads left
 * traced or stopped). */
#ifndef PYLEAK_TEST_PYT_H
#define PYLEAK_TEST_PYT_H

#include "child.h"
#include "procmaps.h"
#include "testutil.h"

#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <sys/socket.h>

#ifndef FORK_TARGET_PY
#define FORK_TARGET_PY "fork_target.py"
#endif

/* Diag messages carry "hint:" lines; a TAP line must stay one line. */
static inline const char *first_line(const char *s)
{
        static char buf[512];

        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(s, "\n"), s);
        return buf;
}

/* Children of every thread of pid (zombies included). */
static inline size_t children_of(pid_t pid, pid_t *out, size_t max)
{
        char path[320], *text = NULL, *p, *end;
        struct dirent *e;
        size_t n = 0;
        DIR *dir;
        long v;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir = opendir(path);
        if (!dir)
                return 0;
        while ((e = readdir(dir))) {
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, e->d_name);
                if (proc_read_file(path, 1u << 16, &text, NULL) < 0)
                        continue;
                for (p = text;; p = end) {
                        v = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        if (n < max)
                                out[n] = (pid_t)v;
                        n++;
                }
                free(text);
        }
        closedir(dir);
        return n;
}

/* Field n (1-based) of /proc/PID/stat, after the comm. */
static inline long stat_field(pid_t pid, int n)
{
        char path[64], *text = NULL, *p;
        long v = -1;
        int i;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (proc_read_file(path, 1u << 16, &text, NULL) < 0)
                return -1;
        p = strrchr(text, ')');
        for (i = 2; p && i < n; i++)
                p = strchr(p + 1, ' ');
        if (p)
                v = strtol(p + 1, NULL, 10);
        free(text);
        return v;
}

/* Every thread of pid untraced and not stopped, within ms. */
static inline int wait_free(pid_t pid, int ms)
{
        struct proc_status st;
        pid_t tids[256];
        size_t n, i;
        double end = now_ms() + ms;
        int bad;

        do {
                bad = proc_list_tasks(pid, tids, 256, &n) < 0;
                for (i = 0; !bad && i < n; i++)
                        bad = proc_read_status(pid, tids[i], &st) == 0 &&
                              (st.tracer_pid != 0 || st.state == 't' || st.state == 'T');
                if (!bad)
                        return 1;
                sleep_ms(1);
        } while (now_ms() < end);
        return 0;
}

static inline void reap_strays(void)
{
        while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
                ;
}

/* ---- the Python target --------------------------------------------------- */

struct pyt {
        pid_t pid;
        int pipe_w, sock[2], cmd_w, rep_r;
        uid_t uid;                 /* 0: ours; else run as it (a target
                                      that may be harmed on purpose can do
                                      little) */
        bool system_python;        /* /usr/bin/python3, not PATH's (a pyenv
                                      shim starts slowly); implied by uid */
};

static inline int pyt_start(struct pyt *t)
{
        int pp[2], s0[2], s1[2], cmd[2], rep[2];
        char a[5][16], line[16] = {0};

        if (pipe(pp) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s0) ||
            socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s1) || pipe(cmd) || pipe(rep))
                return -errno;
        t->pid = fork();
        if (t->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(pp[1]);
                close(s0[0]);
                close(s1[0]);
                close(cmd[1]);
                close(rep[0]);
                snprintf(a[0], 16, "%d", pp[0]);
                snprintf(a[1], 16, "%d", s0[1]);
                snprintf(a[2], 16, "%d", s1[1]);
                snprintf(a[3], 16, "%d", cmd[0]);
                snprintf(a[4], 16, "%d", rep[1]);
                /* as another user the script comes on stdin, opened
                 * here: a checkout under a 0700 directory (/root, a
                 * mktemp -d) is not readable by nobody */
                if (t->uid) {
                        int fd = open(FORK_TARGET_PY, O_RDONLY | O_CLOEXEC);

                        if (fd < 0 || dup2(fd, 0) < 0)
                                _exit(126);
                        if (setgroups(0, NULL) < 0 || setgid((gid_t)t->uid) < 0 ||
                            setuid(t->uid) < 0)
                                _exit(126);
                        execl("/usr/bin/python3", "python3", "-", a[0], a[1], a[2], a[3], a[4],
                              (char *)NULL);
                        _exit(127);
                }
                if (t->system_python) {
                        execl("/usr/bin/python3", "python3", FORK_TARGET_PY, a[0], a[1], a[2],
                              a[3], a[4], (char *)NULL);
                        _exit(127);
                }
                execlp("python3", "python3", FORK_TARGET_PY, a[0], a[1], a[2], a[3], a[4],
                       (char *)NULL);
                _exit(127);
        }
        close(pp[0]);
        close(s0[1]);
        close(s1[1]);
        close(cmd[0]);
        close(rep[1]);
        t->pipe_w = pp[1];
        t->sock[0] = s0[0];
        t->sock[1] = s1[0];
        t->cmd_w = cmd[1];
        t->rep_r = rep[0];
        /* a bound, not a wait: a loaded machine can take seconds */
        if (read_timeout(t->rep_r, line, 6, 30000) < 0 || strncmp(line, "ready\n", 6) != 0)
                return -EIO;
        return 0;
}

static inline void pyt_stop(struct pyt *t)
{
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        close(t->pipe_w);
        close(t->sock[0]);
        close(t->sock[1]);
        close(t->cmd_w);
        close(t->rep_r);
}

/* Asks for the findings; one JSON line into buf. */
static inline int pyt_report(struct pyt *t, char *buf, size_t size)
{
        size_t n = 0;
        char ch;

        if (write(t->cmd_w, "r", 1) != 1)
                return -EIO;
        while (n + 1 < size) {
                if (read_timeout(t->rep_r, &ch, 1, 5000) < 0)
                        return -ETIMEDOUT;
                if (ch == '\n')
                        break;
                buf[n++] = ch;
        }
        buf[n] = '\0';
        return 0;
}

static inline double jnum(const char *json, const char *key)
{
        char k[64];
        const char *p;

        snprintf(k, sizeof(k), "\"%s\": ", key);
        p = strstr(json, k);
        return p ? strtod(p + strlen(k), NULL) : -1;
}

#endif
