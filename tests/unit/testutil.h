/* testutil: helpers every unit test may need, in one place instead of a
 * copy per file: the clock, a seeded RNG, reading a pipe with a deadline,
 * and bounded waiting for a condition.
 *
 * The rule they serve: a test never sleeps for readiness.  The process or
 * thread that gets ready says so through a pipe (read_timeout); a state
 * that nothing announces (a counter moved, a process became a zombie) is
 * polled with WAIT_FOR under a generous deadline, so that a loaded machine
 * makes the test slower, never wrong.  sleep_ms() remains for pacing (a
 * random point inside a run, a heartbeat), never as a guess at how long
 * something takes. */
#ifndef PYLEAK_TESTUTIL_H
#define PYLEAK_TESTUTIL_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* Deadline for WAIT_FOR and read_timeout where nothing else is asked: far
 * beyond anything an idle machine needs, what a loaded CI runner may. */
#define TEST_DEADLINE_MS 30000

/* Monotonic milliseconds. */
static inline double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Polls cond (any expression) every millisecond until it holds or
 * deadline_ms passed; evaluates to whether it held. */
#define WAIT_FOR(cond, deadline_ms) __extension__ ({                    \
        double wait_end_ = now_ms() + (deadline_ms);                    \
        bool wait_ok_;                                                  \
        while (!(wait_ok_ = (cond)) && now_ms() < wait_end_)            \
                sleep_ms(1);                                            \
        wait_ok_;                                                       \
})

/* Reads exactly len bytes within ms milliseconds: 0, -ETIMEDOUT, or -EIO
 * (end of file or a read error). */
static inline int read_timeout(int fd, void *buf, size_t len, int ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        double end = now_ms() + ms;
        size_t done = 0;
        ssize_t n;
        int left;

        while (done < len) {
                left = (int)(end - now_ms());
                if (left <= 0 || poll(&p, 1, left) <= 0)
                        return -ETIMEDOUT;
                n = read(fd, (char *)buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EIO;
                done += (size_t)n;
        }
        return 0;
}

/* xorshift64: reproducible pseudo-random numbers from a seed the test
 * keeps (never 0). */
static inline uint64_t test_rnd(uint64_t *state)
{
        uint64_t x = *state;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        return x;
}

#endif
