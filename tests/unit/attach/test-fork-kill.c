/* Fork mode's kill safety (issue #11): a "tool" process takes fork
 * snapshots of the Python target and is SIGKILLed together with its whole
 * process group (kill(-pgid, SIGKILL): `timeout -s KILL`) or its cgroup
 * (cgroup.kill: systemctl stop, container stops), either
 *  - exactly inside the injection window: the test hook
 *    PYLEAK_ATTACH_TEST_FORK_HOOK makes the helper report each injection
 *    while the target thread holds the injected registers and wait for our
 *    go-ahead, and we kill right then; or
 *  - at a random moment 0-45 ms into the tool's life.
 * After every kill the target must be alive, untraced, no thread stopped,
 * answering over its pipes with nothing lost, and have no child at all:
 * neither a zombie nor a running copy of itself.
 *
 * A control run keeps the helper in the tool's group and cgroups
 * (SNAPSHOT_DEBUG_FORK_NO_ESCAPE, the behaviour before the fix): the same
 * hook-timed kill must harm the target there, which proves that the hook
 * really lands inside the window. */
#include "diag.h"
#include "memsrc.h"
#include "snapshot.h"
#include "tap.h"
#include "pyt.h"

#include <sys/stat.h>
#include <sys/un.h>

#define HOOK_MS 60000              /* longest wait for the helper: a bound
                                      for a broken run, never reached
                                      otherwise (a loaded machine takes
                                      seconds) */

enum kill_how { KILL_PGRP, KILL_CGROUP };

struct harm {
        int dead, mute, traced, zombies, copies, runs, missed;
        int harmed;                /* runs with any of the above */
};

static char hook_path[108];
static int hook_listen = -1;
static char cg_dir[512];           /* cgroup2 directory for the tool, or "" */
static char cg_why[256];
static pid_t spared;               /* the main target, during the control */

static int write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                r = -errno;
        close(fd);
        return r;
}

/* A cgroup2 directory below ours for the tool, if this machine lets us. */
static void cgroup_setup(void)
{
        char *mi = NULL, *cg = NULL, *line, *save = NULL, *dash, *mnt = NULL, *p;
        char path[700];

        if (proc_read_file("/proc/self/cgroup", 1 << 16, &cg, NULL) < 0 ||
            !(p = strstr(cg, "0::/"))) {
                snprintf(cg_why, sizeof(cg_why), "no cgroup2 hierarchy");
                goto out;
        }
        p += 3;
        p[strcspn(p, "\n")] = '\0';
        if (proc_read_file("/proc/self/mountinfo", 4 << 20, &mi, NULL) < 0)
                goto out;
        for (line = strtok_r(mi, "\n", &save); line && !mnt; line = strtok_r(NULL, "\n", &save)) {
                dash = strstr(line, " - cgroup2 ");
                if (!dash)
                        continue;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT: only a mount of the
                 * hierarchy's root keeps the arithmetic simple */
                {
                        char root[256], point[256];

                        if (sscanf(line, "%*s %*s %*s %255s %255s", root, point) == 2 &&
                            strcmp(root, "/") == 0)
                                mnt = strdup(point);
                }
        }
        if (!mnt) {
                snprintf(cg_why, sizeof(cg_why), "cgroup2 is not mounted (or only below its root)");
                goto out;
        }
        snprintf(cg_dir, sizeof(cg_dir), "%s%s/pyleak-fork-kill-%d", mnt,
                 strcmp(p, "/") == 0 ? "" : p, (int)getpid());
        if (mkdir(cg_dir, 0755) < 0) {
                snprintf(cg_why, sizeof(cg_why), "cannot create %s: %s", cg_dir, strerror(errno));
                cg_dir[0] = '\0';
                goto out;
        }
        snprintf(path, sizeof(path), "%s/cgroup.kill", cg_dir);
        if (access(path, W_OK) < 0) {
                snprintf(cg_why, sizeof(cg_why), "no cgroup.kill (kernel older than 5.14)");
                rmdir(cg_dir);
                cg_dir[0] = '\0';
        }
out:
        free(mnt);
        free(mi);
        free(cg);
}

static int hook_setup(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(hook_path, sizeof(hook_path), "/tmp/pyleak-fork-kill-%d.sock", (int)getpid());
        unlink(hook_path);
        memcpy(sa.sun_path, hook_path, strlen(hook_path) + 1);
        hook_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (hook_listen < 0 || bind(hook_listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(hook_listen, 8) < 0)
                return -errno;
        return 0;
}

/* The tool: its own process group (like a command run by `timeout`), fork
 * snapshots of the target in a loop until it is killed. */
static pid_t tool_start(pid_t target, bool hook, unsigned debug, bool in_cgroup)
{
        char num[32], path[600], b;
        int go[2];
        pid_t tool;

        if (pipe(go) < 0)
                return -errno;
        tool = fork();
        if (tool == 0) {
                struct snapshot_opts o = { .mode = SNAPSHOT_FORK, .debug = debug };
                struct memsrc *m;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                setpgid(0, 0);
                close(go[1]);
                if (hook)
                        setenv("PYLEAK_ATTACH_TEST_FORK_HOOK", hook_path, 1);
                else
                        unsetenv("PYLEAK_ATTACH_TEST_FORK_HOOK");
                /* in its cgroup before the first snapshot */
                if (read_timeout(go[0], &b, 1, HOOK_MS) < 0)
                        _exit(1);
                for (bool said = false;;) {
                        struct diag d = {0};

                        m = NULL;
                        if (snapshot_take(target, &o, &m, NULL, &d) < 0 && !said) {
                                printf("# tool %d: %s\n", (int)getpid(), first_line(d.msg));
                                said = true;
                        }
                        memsrc_free(m);
                }
        }
        close(go[0]);
        if (tool < 0) {
                close(go[1]);
                return -errno;
        }
        setpgid(tool, tool);       /* either of us may win the race */
        if (in_cgroup) {
                snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
                snprintf(num, sizeof(num), "%d", (int)tool);
                if (write_file(path, num) < 0) {
                        kill(tool, SIGKILL);
                        waitpid(tool, NULL, 0);
                        close(go[1]);
                        return -EIO;
                }
        }
        if (write(go[1], "g", 1) != 1)
                tool = -EIO;
        close(go[1]);
        return tool;
}

static void tool_kill(pid_t tool, enum kill_how how)
{
        char path[600];

        if (how == KILL_PGRP) {
                kill(-tool, SIGKILL);
                return;
        }
        snprintf(path, sizeof(path), "%s/cgroup.kill", cg_dir);
        if (write_file(path, "1") < 0)
                kill(tool, SIGKILL);
}

/* Answers every injection a helper reports on connection fd, until it
 * closes (exits); the first one with a kill when kill_tool > 0.  Returns
 * how many were reported. */
static int hook_serve(int fd, pid_t kill_tool, enum kill_how how)
{
        char b;
        int n = 0;

        while (read_timeout(fd, &b, 1, HOOK_MS) == 0) {
                if (n++ == 0 && kill_tool > 0)
                        tool_kill(kill_tool, how);
                /* later ones (the helper goes on: its wait4) are let
                 * through; a dead helper just closes */
                send(fd, "c", 1, MSG_NOSIGNAL);
        }
        close(fd);
        return n;
}

/* Hook-timed kill: the first helper to report injected registers is
 * answered by the kill.  0, or -ETIMEDOUT if no helper reported one. */
static int kill_in_window(pid_t tool, enum kill_how how, int *ret_injections)
{
        struct pollfd p = { .fd = hook_listen, .events = POLLIN };
        int fd;

        *ret_injections = 0;
        if (poll(&p, 1, HOOK_MS) != 1) {
                printf("# no helper reached the hook\n");
                return -ETIMEDOUT;
        }
        fd = accept4(hook_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_injections = hook_serve(fd, tool, how);
        if (*ret_injections == 0)
                printf("# a helper connected to the hook and ended without injecting\n");
        return *ret_injections > 0 ? 0 : -ETIMEDOUT;
}

/* Every helper of the killed tool finishes: they are our children (we
 * are the subreaper).  Python processes among our children are the target
 * or orphaned copies of a harmed one, which check_target() handles. */
static void wait_helpers(void)
{
        pid_t kids[64];
        char comm[64];
        double end = now_ms() + HOOK_MS;
        size_t n, j, helpers;

        do {
                reap_strays();
                n = children_of(getpid(), kids, 64);
                for (j = 0, helpers = 0; j < n && j < 64; j++) {
                        proc_read_comm(kids[j], comm, sizeof(comm));
                        helpers += strncmp(comm, "python", 6) != 0;
                }
                if (!helpers)
                        return;
                /* a helper of the killed tool that got further (only after
                 * a missed window) reports to the hook: let it through */
                {
                        struct pollfd p = { .fd = hook_listen, .events = POLLIN };
                        int fd;

                        if (poll(&p, 1, 1) == 1 &&
                            (fd = accept4(hook_listen, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                                hook_serve(fd, 0, KILL_PGRP);
                }
        } while (now_ms() < end);
}

/* What the kill did to the target; restarts it if it is unusable. */
static void check_target(struct pyt *t, struct harm *h, uint64_t *sent)
{
        pid_t kids[64];
        char rep[8192], s;
        unsigned char msg[8];
        size_t n, j;
        int st, bad = 0, e;
        double end;

        h->runs++;
        if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
                printf("# target died: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
                       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                h->dead++;
                t->pid = 0;
                bad = 1;
                goto restart;
        }
        if (!wait_free(t->pid, 1000)) {
                h->traced++;
                bad = 1;
        }
        n = children_of(t->pid, kids, 64);
        for (j = 0; j < n && j < 64; j++) {
                if (proc_read_state(kids[j], kids[j], &s) == 0 && s == 'Z')
                        h->zombies++;
                else
                        h->copies++;
                bad = 1;
        }
        /* answers, and its pipe readers get what is sent (a running copy
         * sharing its fd table would steal messages) */
        (*sent)++;
        memcpy(msg, sent, 8);
        if (write(t->pipe_w, msg, 8) != 8) {
                h->mute++;
                bad = 1;
                goto restart;
        }
        end = now_ms() + 2000;
        do {
                if (pyt_report(t, rep, sizeof(rep)) < 0)
                        break;
                if (jnum(rep, "pipe") == (double)*sent)
                        break;
                sleep_ms(1);
        } while (now_ms() < end);
        if (jnum(rep, "pipe") != (double)*sent || !strstr(rep, "\"errors\": []") ||
            jnum(rep, "sigchld") != 0 || !strstr(rep, "\"waited\": []")) {
                printf("# target's findings: %s\n", rep);
                h->mute++;
                bad = 1;
        }
restart:
        if (!bad)
                return;
        h->harmed++;
        /* a harmed target is replaced: copies of it first */
        if (t->pid > 0) {
                n = children_of(t->pid, kids, 64);
                for (j = 0; j < n && j < 64; j++)
                        kill(kids[j], SIGKILL);
        }
        if (t->pid > 0)
                pyt_stop(t);
        else {
                close(t->pipe_w);
                close(t->sock[0]);
                close(t->sock[1]);
                close(t->cmd_w);
                close(t->rep_r);
        }
        /* copies orphaned by the target's death are ours now: the tools
         * and helpers are gone (wait_helpers), so any child left is one */
        reap_strays();
        n = children_of(getpid(), kids, 64);
        for (j = 0; j < n && j < 64; j++)
                if (kids[j] != t->pid && kids[j] != spared)
                        kill(kids[j], SIGKILL);
        reap_strays();
        *sent = 0;
        end = now_ms();
        e = pyt_start(t);
        if (e < 0) {
                st = 0;
                printf("# cannot restart the target (%.0f ms): %s (pid %d, wait %d, status %#x)\n",
                       now_ms() - end, strerror(-e), (int)t->pid,
                       t->pid > 0 ? (int)waitpid(t->pid, &st, WNOHANG) : -1, st);
                if (t->pid > 0)
                        pyt_stop(t);
                t->pid = 0;
        }
}

/* Whether the reasons of a "not kill-safe here (REASONS): ..." warning
 * mention word (the rest of the warning is the same every time). */
static bool reason_has(const char *warning, const char *word)
{
        const char *a = strstr(warning, "not kill-safe here ("), *b, *w;

        if (!a)
                return false;
        a += strlen("not kill-safe here (");
        b = strstr(a, "): ");
        w = strstr(a, word);
        return w && (!b || w < b);
}

static bool harmless(const struct harm *h)
{
        return !h->dead && !h->mute && !h->traced && !h->zombies && !h->copies && !h->missed;
}

static const char *harm_str(const struct harm *h)
{
        static char buf[256];

        snprintf(buf, sizeof(buf), "%d runs: %d deaths, %d not answering, %d left traced/stopped, %d zombies, %d running copies, %d missed the window",
                 h->runs, h->dead, h->mute, h->traced, h->zombies, h->copies, h->missed);
        return buf;
}

/* runs kills; hooked: inside the window, else at random 0-45 ms. */
static struct harm series(struct pyt *t, uint64_t *sent, int runs, enum kill_how how,
                          bool hooked, unsigned debug, int *ret_injections)
{
        struct harm h = {0};
        pid_t tool;
        int i, inj;

        *ret_injections = 0;
        for (i = 0; i < runs && t->pid > 0; i++) {
                tool = tool_start(t->pid, hooked, debug, how == KILL_CGROUP);
                if (tool < 0) {
                        h.missed++;
                        continue;
                }
                if (hooked) {
                        if (kill_in_window(tool, how, &inj) < 0) {
                                h.missed++;
                                tool_kill(tool, how);
                        }
                        *ret_injections += inj;
                } else {
                        sleep_ms(rand() % 46);
                        tool_kill(tool, how);
                }
                waitpid(tool, NULL, 0);
                wait_helpers();
                check_target(t, &h, sent);
        }
        return h;
}

int main(void)
{
        struct pyt t = { .system_python = true };
        struct harm h;
        uint64_t sent = 0;
        double t0;
        int inj;

        srand((unsigned)getpid());
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* a harmed target may die after its check: its pipes then fail */
        signal(SIGPIPE, SIG_IGN);
        /* orphaned helpers of killed tools come back to us to be reaped */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        if (hook_setup() < 0)
                tap_skip_all("cannot listen on a unix socket in /tmp");
        if (pyt_start(&t) < 0) {
                unlink(hook_path);
                tap_skip_all("the python3 target did not start");
        }
        {
                struct snapshot_opts o = { .mode = SNAPSHOT_FORK };
                struct snapshot_stats st = {0};
                struct memsrc *m = NULL;
                int r = snapshot_take(t.pid, &o, &m, &st, NULL);

                memsrc_free(m);
                if (r == -EPERM) {
                        pyt_stop(&t);
                        unlink(hook_path);
                        tap_skip_all("ptrace is not permitted here");
                }
                /* the OOM ranking depends on this machine (CAP_SYS_RESOURCE)
                 * and on the target's size; groups and cgroups must be left */
                if (r < 0 || st.mode_used != SNAPSHOT_FORK || reason_has(st.warning, "process group") ||
                    reason_has(st.warning, "cgroup")) {
                        ok(0, "a fork snapshot whose helper left the tool's group and cgroups (%d, %s %s)",
                           r, st.fallback, st.warning);
                        pyt_stop(&t);
                        return tap_done();
                }
                ok(1, "a fork snapshot whose helper left the tool's group and cgroups (helper setup %.2f ms, outside the pause of %.2f ms)%s%.*s",
                   st.prep_ms, st.pause_ms, st.warning[0] == 'f' ? "; " : "",
                   st.warning[0] == 'f' ? (int)strcspn(st.warning, ":") : 0, st.warning);
        }

        /* Measuring only (README's figure for a helper that is not
         * kill-safe): PYLEAK_FORK_KILL_MEASURE=N group kills at random
         * moments with the helper kept in the tool's group; not asserted. */
        if (getenv("PYLEAK_FORK_KILL_MEASURE")) {
                int n = atoi(getenv("PYLEAK_FORK_KILL_MEASURE"));
                struct pyt mt = { .uid = 65534 };
                uint64_t msent = 0;

                spared = t.pid;
                memset(&h, 0, sizeof(h));
                if (pyt_start(&mt) == 0) {
                        h = series(&mt, &msent, n, KILL_PGRP, false,
                                   SNAPSHOT_DEBUG_FORK_NO_ESCAPE, &inj);
                        if (mt.pid > 0)
                                pyt_stop(&mt);
                        reap_strays();
                }
                printf("# helper kept in the tool's group, group SIGKILL 0-45 ms into an attach: %d of %d runs harmed the target (%s)\n",
                       h.harmed, h.runs, harm_str(&h));
        }

        /* The control: the old behaviour, the kill lands in the window.
         * Its target runs as nobody: a thread or a copy of it running on
         * with injected registers executes whatever follows, system calls
         * included, and must not be able to signal anything of ours. */
        {
                struct pyt ct = { .uid = 65534 };
                uint64_t csent = 0;

                spared = t.pid;

                if (pyt_start(&ct) < 0) {
                        ok(0, "the control's target (as nobody, /usr/bin/python3) started");
                } else {
                        h = series(&ct, &csent, 3, KILL_PGRP, true,
                                   SNAPSHOT_DEBUG_FORK_NO_ESCAPE, &inj);
                        ok(h.runs == 3 && h.missed == 0 && h.harmed == 3,
                           "control, helper kept in the tool's group: every hook-timed group kill harms the target (%s)",
                           harm_str(&h));
                        if (ct.pid > 0) {
                                pid_t kids[64];
                                size_t n = children_of(ct.pid, kids, 64), j;

                                for (j = 0; j < n && j < 64; j++)
                                        kill(kids[j], SIGKILL);
                                pyt_stop(&ct);
                        }
                        reap_strays();
                }
        }

        t0 = now_ms();
        h = series(&t, &sent, 100, KILL_PGRP, true, 0, &inj);
        ok(h.runs == 100 && harmless(&h),
           "SIGKILL of the tool's process group inside the injection window, 100 times: target unharmed (%s; %d injections reported, %.1f s)",
           harm_str(&h), inj, (now_ms() - t0) / 1e3);
        t0 = now_ms();
        h = series(&t, &sent, 50, KILL_PGRP, false, 0, &inj);
        ok(h.runs == 50 && harmless(&h),
           "SIGKILL of the tool's process group 0-45 ms into an attach, 50 times: target unharmed (%s; %.1f s)",
           harm_str(&h), (now_ms() - t0) / 1e3);

        cgroup_setup();
        if (!cg_dir[0]) {
                ok(1, "# SKIP cgroup kills: %s", cg_why);
                ok(1, "# SKIP cgroup kills: %s", cg_why);
        } else {
                t0 = now_ms();
                h = series(&t, &sent, 30, KILL_CGROUP, true, 0, &inj);
                ok(h.runs == 30 && harmless(&h),
                   "cgroup.kill of the tool's cgroup inside the injection window, 30 times: target unharmed (%s; %.1f s)",
                   harm_str(&h), (now_ms() - t0) / 1e3);
                t0 = now_ms();
                h = series(&t, &sent, 30, KILL_CGROUP, false, 0, &inj);
                ok(h.runs == 30 && harmless(&h),
                   "cgroup.kill of the tool's cgroup 0-45 ms into an attach, 30 times: target unharmed (%s; %.1f s)",
                   harm_str(&h), (now_ms() - t0) / 1e3);
                rmdir(cg_dir);
        }
        if (t.pid > 0)
                pyt_stop(&t);
        reap_strays();
        close(hook_listen);
        unlink(hook_path);
        return tap_done();
}
