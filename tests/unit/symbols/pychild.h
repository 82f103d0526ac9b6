/* pychild: a Python child process for the symbols tests, and the one call
 * that finds its interpreter.  Shared by test-pyinterp.c and
 * test-providers.c; static inline so a test that uses only part of it
 * still compiles warning-free. */
#ifndef PYLEAK_TEST_PYCHILD_H
#define PYLEAK_TEST_PYCHILD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "memsrc.h"
#include "pyinterp.h"

/* Prints the version, then blocks until its stdin closes. */
#define SCRIPT "import sys; v = sys.version_info; " \
        "sys.stdout.write('%d.%d.%d\\n' % (v[0], v[1], v[2])); sys.stdout.flush(); " \
        "sys.stdin.read()"

struct child {
        pid_t pid;
        int in_fd;          /* write end of the child's stdin, -1 if none */
};

/* Starts argv with an optional LD_LIBRARY_PATH.  When line != NULL, waits for
 * the first line the child prints (the interpreter is then fully up);
 * otherwise waits until exec succeeded (a CLOEXEC pipe closes). */
static inline int spawn(char *const argv[], const char *ld_path, char *line, size_t len,
                 struct child *c)
{
        int in[2], out[2], ex[2];
        pid_t pid;
        ssize_t n;
        int err;

        c->pid = -1;
        c->in_fd = -1;
        if (pipe(in) < 0 || pipe(out) < 0 || pipe2(ex, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(ex[0]);
                if (ld_path)
                        setenv("LD_LIBRARY_PATH", ld_path, 1);
                execv(argv[0], argv);
                err = errno;
                if (write(ex[1], &err, sizeof(err)) < 0)
                        _exit(126);
                _exit(127);
        }
        close(in[0]), close(out[1]), close(ex[1]);
        n = read(ex[0], &err, sizeof(err));
        close(ex[0]);
        c->pid = pid;
        c->in_fd = in[1];
        if (n > 0) {
                close(out[0]);
                return -err;
        }
        if (line) {
                size_t got = 0;

                while (got + 1 < len) {
                        n = read(out[0], line + got, 1);
                        if (n <= 0 || line[got] == '\n')
                                break;
                        got++;
                }
                line[got] = '\0';
        }
        close(out[0]);
        return 0;
}

static inline void reap(struct child *c)
{
        if (c->in_fd >= 0)
                close(c->in_fd);
        if (c->pid <= 0)
                return;
        kill(c->pid, SIGTERM);
        waitpid(c->pid, NULL, 0);
}

static inline int find(pid_t pid, struct pyinterp **ret, struct diag *d)
{
        struct memsrc *m = NULL;
        int rc;

        rc = memsrc_open_live(pid, &m, d);
        if (rc < 0)
                return rc;
        rc = pyinterp_find(m, NULL, ret, d);
        memsrc_free(m);
        return rc;
}

#endif
