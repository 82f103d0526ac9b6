/* proctree: --children's process tree, by the kernel's children files and
 * by the /proc scan that replaces them on kernels without
 * CONFIG_PROC_CHILDREN.  A known tree is forked here: two children of the
 * main thread, one of a second thread (multiprocessing started from a
 * thread), and a grandchild; each waits on a pipe, never on a timer. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proctree.h"
#include "tap.h"

static int hold[2];          /* every process of the tree reads it to EOF */
static int ready[2];         /* each writes one byte once it exists */

static void wait_hold(void)
{
        char c;

        close(hold[1]);
        close(ready[0]);
        while (read(hold[0], &c, 1) > 0)
                ;
        _exit(0);
}

static pid_t spawn(bool with_child, pid_t *grandchild)
{
        int gp[2];
        pid_t pid;

        if (with_child && pipe(gp) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                if (with_child) {
                        pid_t g = fork();

                        if (g == 0) {
                                close(gp[0]);
                                close(gp[1]);
                                (void)!write(ready[1], "g", 1);
                                wait_hold();
                        }
                        close(gp[0]);
                        (void)!write(gp[1], &g, sizeof(g));
                        close(gp[1]);
                }
                (void)!write(ready[1], "c", 1);
                wait_hold();
        }
        if (with_child) {
                close(gp[1]);
                if (pid > 0 && read(gp[0], grandchild, sizeof(*grandchild)) != sizeof(*grandchild))
                        *grandchild = -1;
                close(gp[0]);
        }
        return pid;
}

static void *thread_spawn(void *arg)
{
        *(pid_t *)arg = spawn(false, NULL);
        return NULL;
}

static int index_of(const pid_t *v, unsigned n, pid_t p)
{
        for (unsigned i = 0; i < n; i++)
                if (v[i] == p)
                        return (int)i;
        return -1;
}

static void check(enum proctree_how how, const char *name, pid_t a, pid_t b, pid_t t, pid_t g)
{
        pid_t out[16];
        unsigned n = 0;
        int r = proctree_descendants(getpid(), how, out, 16, &n);
        int ia = index_of(out, n, a), ib = index_of(out, n, b), it = index_of(out, n, t);
        int ig = index_of(out, n, g);

        ok(r == 0 && n == 4, "%s: the four descendants (r %d, n %u)", name, r, n);
        ok(ia >= 0 && ib >= 0, "%s: both children of the main thread", name);
        ok(it >= 0, "%s: the child forked by a second thread", name);
        ok(ig >= 0 && ig > ia && ig > ib && ig > it,
           "%s: the grandchild, after every child (breadth first: %d after %d %d %d)", name,
           ig, ia, ib, it);
        n = 0;
        r = proctree_descendants(getpid(), how, out, 2, &n);
        ok(r == 0 && n == 2, "%s: at most max (n %u)", name, n);
        n = 0;
        r = proctree_descendants(g, how, out, 16, &n);
        ok(r == 0 && n == 0, "%s: a leaf has none (r %d, n %u)", name, r, n);
}

int main(void)
{
        pid_t a, b, t = -1, g = -1, dead;
        pthread_t th;
        unsigned n = 0;
        char c;
        int got = 0;

        if (pipe(hold) < 0 || pipe(ready) < 0)
                return 99;
        a = spawn(true, &g);
        b = spawn(false, NULL);
        if (pthread_create(&th, NULL, thread_spawn, &t) || pthread_join(th, NULL))
                return 99;
        close(ready[1]);
        while (got < 4 && read(ready[0], &c, 1) == 1)
                got++;
        if (a <= 0 || b <= 0 || t <= 0 || g <= 0 || got != 4) {
                printf("Bail out! cannot build the process tree\n");
                return 99;
        }
        check(PROCTREE_AUTO, "children files", a, b, t, g);
        check(PROCTREE_SCAN, "the /proc scan", a, b, t, g);

        /* a pid that is gone: reaped, never reused this fast */
        dead = fork();
        if (dead == 0)
                _exit(0);
        waitpid(dead, NULL, 0);
        ok(proctree_descendants(dead, PROCTREE_AUTO, (pid_t[1]){0}, 1, &n) == -ESRCH &&
           proctree_descendants(dead, PROCTREE_SCAN, (pid_t[1]){0}, 1, &n) == -ESRCH,
           "a pid that does not exist: -ESRCH, both ways");

        close(hold[1]);
        while (wait(NULL) > 0 || errno == EINTR)
                ;
        return tap_done();
}
