/* A real target for the attach/ tests: a forked child with 5 threads in
 * the states a Python process is usually caught in (main blocked in read()
 * on the command pipe, one in nanosleep loops, one blocked in read() on a
 * data pipe, one in pthread_cond_wait, one busy incrementing a counter).
 * It fills a buffer with a known pattern, reports the addresses through a
 * pipe, counts every EINTR it sees, and verifies the pattern on request. */
#ifndef PYLEAK_TEST_CHILD_H
#define PYLEAK_TEST_CHILD_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define CHILD_BUF_LEN (3u << 20)

struct child_report {
        uint64_t buf, len, counter, eintr;
};

struct child_verify {
        uint32_t pattern_ok;
        uint32_t eintr;
};

struct child {
        pid_t pid;
        int cmd_w, data_w, rep_r;
        struct child_report rep;
};

static _Atomic uint64_t child_counter;
static _Atomic uint32_t child_eintr;
static unsigned char *child_buf;
static int child_data_r, child_rep_w;
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t child_cv = PTHREAD_COND_INITIALIZER;
static int child_flag;

static inline unsigned char child_pattern(size_t i)
{
        return (unsigned char)((i * 131u + (i >> 12) * 7u + 0x5a) & 0xff);
}

static void *child_sleeper(void *arg)
{
        struct timespec ts = { 0, 1000000 };

        (void)arg;
        for (;;)
                if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
                        atomic_fetch_add(&child_eintr, 1);
        return NULL;
}

static void *child_reader(void *arg)
{
        unsigned char b;
        ssize_t n;

        (void)arg;
        for (;;) {
                n = read(child_data_r, &b, 1);
                if (n < 0 && errno == EINTR) {
                        atomic_fetch_add(&child_eintr, 1);
                        continue;
                }
                if (n <= 0)
                        _exit(3);
                b ^= 0xff;
                if (write(child_rep_w, &b, 1) != 1)
                        _exit(4);
        }
        return NULL;
}

static void *child_waiter(void *arg)
{
        (void)arg;
        pthread_mutex_lock(&child_mu);
        while (!child_flag)
                pthread_cond_wait(&child_cv, &child_mu);
        pthread_mutex_unlock(&child_mu);
        return NULL;
}

static void *child_spinner(void *arg)
{
        (void)arg;
        for (;;)
                atomic_fetch_add_explicit(&child_counter, 1, memory_order_relaxed);
        return NULL;
}

static void child_main(int cmd_r, int data_r, int rep_w)
{
        struct child_report rep;
        struct child_verify v;
        pthread_t th;
        unsigned char c;
        size_t i;
        ssize_t n;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        child_data_r = data_r;
        child_rep_w = rep_w;
        child_buf = malloc(CHILD_BUF_LEN);
        if (!child_buf)
                _exit(2);
        for (i = 0; i < CHILD_BUF_LEN; i++)
                child_buf[i] = child_pattern(i);
        if (pthread_create(&th, NULL, child_sleeper, NULL) ||
            pthread_create(&th, NULL, child_reader, NULL) ||
            pthread_create(&th, NULL, child_waiter, NULL) ||
            pthread_create(&th, NULL, child_spinner, NULL))
                _exit(2);
        rep.buf = (uint64_t)(uintptr_t)child_buf;
        rep.len = CHILD_BUF_LEN;
        rep.counter = (uint64_t)(uintptr_t)&child_counter;
        rep.eintr = (uint64_t)(uintptr_t)&child_eintr;
        if (write(rep_w, &rep, sizeof(rep)) != sizeof(rep))
                _exit(2);
        for (;;) {
                n = read(cmd_r, &c, 1);
                if (n < 0 && errno == EINTR) {
                        atomic_fetch_add(&child_eintr, 1);
                        continue;
                }
                if (n <= 0 || c == 'q')
                        _exit(0);
                if (c == 'v') {
                        v.pattern_ok = 1;
                        for (i = 0; i < CHILD_BUF_LEN; i++)
                                if (child_buf[i] != child_pattern(i))
                                        v.pattern_ok = 0;
                        v.eintr = atomic_load(&child_eintr);
                        if (write(rep_w, &v, sizeof(v)) != sizeof(v))
                                _exit(2);
                }
        }
}

static inline int child_start(struct child *c)
{
        int cmd[2], data[2], rep[2];

        memset(c, 0, sizeof(*c));
        if (pipe2(cmd, O_CLOEXEC) || pipe2(data, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
                return -errno;
        c->pid = fork();
        if (c->pid < 0)
                return -errno;
        if (c->pid == 0) {
                close(cmd[1]);
                close(data[1]);
                close(rep[0]);
                child_main(cmd[0], data[0], rep[1]);
                _exit(0);
        }
        close(cmd[0]);
        close(data[0]);
        close(rep[1]);
        c->cmd_w = cmd[1];
        c->data_w = data[1];
        c->rep_r = rep[0];
        return read_timeout(c->rep_r, &c->rep, sizeof(c->rep), TEST_DEADLINE_MS);
}

/* Asks the child to verify its pattern; 0 and *v filled, or < 0. */
static inline int child_verify(struct child *c, struct child_verify *v)
{
        if (write(c->cmd_w, "v", 1) != 1)
                return -EIO;
        return read_timeout(c->rep_r, v, sizeof(*v), TEST_DEADLINE_MS);
}

/* Writes b to the reader thread's pipe and waits for its echo (~b). */
static inline int child_ping_reader(struct child *c, unsigned char b)
{
        unsigned char e;
        int r;

        if (write(c->data_w, &b, 1) != 1)
                return -EIO;
        r = read_timeout(c->rep_r, &e, 1, TEST_DEADLINE_MS);
        if (r < 0)
                return r;
        return e == (unsigned char)(b ^ 0xff) ? 0 : -EBADMSG;
}

static inline void child_stop(struct child *c)
{
        if (c->pid <= 0)
                return;
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        close(c->cmd_w);
        close(c->data_w);
        close(c->rep_r);
        c->pid = 0;
}

#endif
