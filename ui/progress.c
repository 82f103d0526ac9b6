#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fmt.h"

#define TICK_MS 200
#define LINE_MAX_COLS 160

static const char *const phase_name[] = {
        [PROGRESS_NONE] = "", [PROGRESS_COPY] = "stop/copy", [PROGRESS_WALK] = "walk",
        [PROGRESS_ANALYSE] = "analyse", [PROGRESS_WRITE] = "write",
};

static struct {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        bool running, stopping, hidden;
        bool sync;                 /* PYLEAK_ATTACH_TEST_PROGRESS=sync */
        double t0, phase_t0, decode_t0, worker_t0, pool_t0;
        enum progress_phase phase;
        uint32_t done, total;
        unsigned worker, nworkers;
        pid_t pid;
        size_t drawn;              /* columns of the line on screen now */
        /* the copy's bytes: stored by the copying threads while the
         * target is stopped, so atomics, never the lock */
        _Atomic uint64_t bytes_done, bytes_total;
        _Atomic int stage;         /* enum snapshot_stage */
        _Atomic double stage_t0;   /* 0: no bytes this phase */
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* "1,500,000" */
static const char *grouped(uint64_t v, char *buf, size_t len)
{
        char raw[32];
        int n = snprintf(raw, sizeof(raw), "%llu", (unsigned long long)v);
        size_t o = 0;

        for (int i = 0; i < n && o + 2 < len; i++) {
                if (i && (n - i) % 3 == 0)
                        buf[o++] = ',';
                buf[o++] = raw[i];
        }
        buf[o] = 0;
        return buf;
}

static const char *seconds(double ms, char *buf, size_t len)
{
        if (ms < 10000)
                snprintf(buf, len, "%.1f s", ms / 1000);
        else if (ms < 120000)
                snprintf(buf, len, "%.0f s", ms / 1000);
        else
                snprintf(buf, len, "%.0f min", ms / 60000);
        return buf;
}

static int columns(void)
{
        struct winsize ws;

        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
                return ws.ws_col < LINE_MAX_COLS ? ws.ws_col : LINE_MAX_COLS;
        return 80;
}

/* Three significant digits and a suffix (k, M, G, T, P with base 1000;
 * K, M, G, T, P with base 1024 for bytes): at most 6 columns, which is
 * what keeps a compact line within 80 whatever the numbers. */
static const char *si(double v, double base, char *buf, size_t len)
{
        static const char k1000[] = "kMGTP", k1024[] = "KMGTP";
        const char *suf = base == 1024 ? k1024 : k1000;
        int i = -1;

        while (v >= 999.5 && i < 4) {
                v /= base;
                i++;
        }
        if (i < 0)
                snprintf(buf, len, "%.0f", v);
        else
                snprintf(buf, len, v < 9.995 ? "%.2f%c" : v < 99.95 ? "%.1f%c" : "%.0f%c", v,
                         suf[i]);
        return buf;
}

/* "copying 1.2 GiB of 3.4 GiB, 2.1 GiB/s, about 1.1 s left": the copy
 * mode's buffers being faulted in (before the stop), then the copy. */
static void compose_bytes(char *line, size_t len, size_t *o, double now, bool compact)
{
        uint64_t done = atomic_load(&P.bytes_done), total = atomic_load(&P.bytes_total);
        double t0 = atomic_load(&P.stage_t0), rate;
        char a[32], b[32];

        fmt_cat(line, len, o, "%s %s%s%s",
            atomic_load(&P.stage) == SNAPSHOT_STAGE_COPY ? "copying" : "preparing",
            compact ? si((double)done, 1024, a, sizeof(a)) : fmt_bytes(done, a, sizeof(a)),
            compact ? "/" : " of ",
            compact ? si((double)total, 1024, b, sizeof(b)) : fmt_bytes(total, b, sizeof(b)));
        rate = now > t0 ? done / ((now - t0) / 1000) : 0;
        if (done && rate > 0)
                fmt_cat(line, len, o, ", %s/s", compact ? si(rate, 1024, a, sizeof(a))
                                                    : fmt_bytes((uint64_t)rate, a, sizeof(a)));
        /* the target grew since it was measured: no estimate past the end */
        if (done && rate > 0 && done < total)
                fmt_cat(line, len, o, compact ? ", %s left" : ", about %s left",
                    seconds((total - done) / rate * 1000, a, sizeof(a)));
}

static void compose_walk(char *line, size_t len, size_t *o, double now, bool compact)
{
        char a[32], b[32];
        double rate;

        if (!P.total) {
                /* the GC lists: how many there are is known at their end */
                rate = P.done / ((now - P.phase_t0) / 1000);
                if (compact)
                        fmt_cat(line, len, o, "%s listed, %s/s", si(P.done, 1000, a, sizeof(a)),
                            si(rate, 1000, b, sizeof(b)));
                else
                        fmt_cat(line, len, o, "%s objects listed, %s objects/s",
                            grouped(P.done, a, sizeof(a)), grouped((uint64_t)rate, b, sizeof(b)));
                return;
        }
        rate = P.done / ((now - P.decode_t0) / 1000);
        if (compact)
                fmt_cat(line, len, o, "%s/%s", si(P.done, 1000, a, sizeof(a)),
                    si(P.total, 1000, b, sizeof(b)));
        else
                fmt_cat(line, len, o, "%s of %s objects", grouped(P.done, a, sizeof(a)),
                    grouped(P.total, b, sizeof(b)));
        /* one huge container can hold the first batch for long: no rate
         * from nothing */
        if (P.done)
                fmt_cat(line, len, o, compact ? ", %s/s" : ", %s objects/s",
                    compact ? si(rate, 1000, a, sizeof(a)) : grouped((uint64_t)rate, a, sizeof(a)));
        if (P.done && rate > 0)
                fmt_cat(line, len, o, compact ? ", %s left" : ", about %s left",
                    seconds((P.total - P.done) / rate * 1000, a, sizeof(a)));
}

/* The line for now, under the lock.  compact: the same facts in fewer
 * columns (what a narrow terminal gets): numbers with SI suffixes, no
 * "pyleak-attach: " (the line is a status, gone when the run ends), and
 * neither the phase's elapsed time nor the pool's estimate once there is
 * a count to show. */
static void compose(char *line, size_t len, double now, bool compact)
{
        char a[32], b[32];
        size_t o = 0, head;

        line[0] = 0;
        if (!compact)
                fmt_cat(line, len, &o, "pyleak-attach: ");
        if (P.nworkers)
                fmt_cat(line, len, &o, compact ? "[%u/%u pid %d] " : "worker %u/%u (pid %d): ",
                    P.worker + 1, P.nworkers, (int)P.pid);
        fmt_cat(line, len, &o, "%s: ", phase_name[P.phase]);
        head = o;
        if (P.phase == PROGRESS_WALK && !P.total && P.done && now > P.phase_t0)
                compose_walk(line, len, &o, now, compact);
        else if (P.phase == PROGRESS_WALK && P.total && now > P.decode_t0)
                compose_walk(line, len, &o, now, compact);
        else if (P.phase == PROGRESS_COPY && atomic_load(&P.stage_t0) > 0)
                compose_bytes(line, len, &o, now, compact);
        else if (P.phase == PROGRESS_ANALYSE && P.total) {
                double walk_s = (P.phase_t0 - P.decode_t0) / 1000;

                fmt_cat(line, len, &o, "%s objects", grouped(P.total, a, sizeof(a)));
                if (walk_s > 0 && !compact)
                        fmt_cat(line, len, &o, " (walked at %s objects/s)",
                            grouped((uint64_t)(P.total / walk_s), b, sizeof(b)));
        }
        if (compact && o != head)
                return;
        fmt_cat(line, len, &o, "%s%s", o == head ? "" : ", ",
                seconds(now - P.phase_t0, a, sizeof(a)));
        /* a pool: the workers done say how long the rest will take */
        if (P.nworkers && P.worker > 0 && !compact) {
                double per = (P.worker_t0 - P.pool_t0) / P.worker;
                double left = per * (P.nworkers - P.worker) - (now - P.worker_t0);

                if (left > 0)
                        fmt_cat(line, len, &o, "; pool: about %s left",
                                seconds(left, a, sizeof(a)));
        }
}

/* Under the lock. */
static void erase(void)
{
        char pad[LINE_MAX_COLS + 3];

        if (!P.drawn)
                return;
        pad[0] = '\r';
        memset(pad + 1, ' ', P.drawn);
        pad[P.drawn + 1] = '\r';
        (void)!write(STDERR_FILENO, pad, P.drawn + 2);
        P.drawn = 0;
}

static void draw(double now)
{
        char line[LINE_MAX_COLS + 1], out[2 * LINE_MAX_COLS + 4];
        size_t cols = (size_t)columns() - 1, n, o = 0;

        compose(line, sizeof(line), now, false);
        n = strlen(line);
        if (n > cols) {
                compose(line, sizeof(line), now, true);
                n = strlen(line);
        }
        /* never wrap: a wrapped line cannot be redrawn in place */
        if (n > cols)
                n = cols;
        out[o++] = '\r';
        memcpy(out + o, line, n);
        o += n;
        /* what is left of a longer line before */
        for (size_t k = n; k < P.drawn; k++)
                out[o++] = ' ';
        (void)!write(STDERR_FILENO, out, o);
        P.drawn = n;
}

static void *run(void *arg)
{
        (void)arg;
        pthread_mutex_lock(&P.lock);
        while (!P.stopping) {
                struct timespec ts;
                double now;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += TICK_MS * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&P.wake, &P.lock, &ts);
                if (P.stopping)
                        break;
                now = mono_ms();
                if (P.phase != PROGRESS_NONE && !P.hidden &&
                    (P.sync || now - P.t0 >= PROGRESS_DELAY_MS))
                        draw(now);
        }
        erase();
        pthread_mutex_unlock(&P.lock);
        return NULL;
}

void progress_start(bool enabled)
{
        sigset_t all, old;

        const char *test = getenv("PYLEAK_ATTACH_TEST_PROGRESS");

        P.t0 = mono_ms();
        if (!enabled || P.running)
                return;
        /* Tests only: with "sync" the line has no delay and is drawn at
         * every count the walk reports, by the thread that reports it.
         * Whether a 200 ms tick falls inside a walk, and a walk inside a
         * run's first second, depends on the machine's speed: a test of
         * the line's contents cannot wait on either. */
        P.sync = test && strcmp(test, "sync") == 0;
        /* signals stay with the main thread: it holds the ptrace
         * attachment its handlers must release */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        P.running = pthread_create(&P.thread, NULL, run, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void progress_phase(enum progress_phase p)
{
        double now = mono_ms();

        pthread_mutex_lock(&P.lock);
        if (p == PROGRESS_ANALYSE && P.phase == PROGRESS_WALK)
                P.decode_t0 = P.decode_t0 ? P.decode_t0 : now;
        else
                P.total = 0;
        if (p == PROGRESS_WALK)
                P.decode_t0 = 0;
        P.phase = p;
        P.phase_t0 = now;
        atomic_store(&P.stage_t0, 0.0);
        P.done = 0;
        P.hidden = false;
        pthread_mutex_unlock(&P.lock);
}

void progress_walk(void *ctx, uint32_t done, uint32_t total)
{
        (void)ctx;
        pthread_mutex_lock(&P.lock);
        if (!P.decode_t0 || done == 0)
                P.decode_t0 = mono_ms();
        P.done = done;
        P.total = total;
        if (P.sync && P.running && P.phase != PROGRESS_NONE && !P.hidden)
                draw(mono_ms());
        pthread_mutex_unlock(&P.lock);
}

void progress_copy(void *ctx, enum snapshot_stage stage, uint64_t done, uint64_t total)
{
        (void)ctx;
        /* a stage starts at 0 bytes: its rate is counted from here */
        if (!done || atomic_load(&P.stage) != (int)stage)
                atomic_store(&P.stage_t0, mono_ms());
        atomic_store(&P.stage, (int)stage);
        atomic_store(&P.bytes_total, total);
        atomic_store(&P.bytes_done, done);
}

void progress_worker(unsigned i, unsigned n, pid_t pid)
{
        pthread_mutex_lock(&P.lock);
        P.worker_t0 = mono_ms();
        if (i == 0)
                P.pool_t0 = P.worker_t0;
        P.worker = i;
        P.nworkers = n;
        P.pid = pid;
        pthread_mutex_unlock(&P.lock);
}

void progress_line(char *buf, size_t len, bool compact)
{
        pthread_mutex_lock(&P.lock);
        compose(buf, len, mono_ms(), compact);
        pthread_mutex_unlock(&P.lock);
}

void progress_clear(void)
{
        pthread_mutex_lock(&P.lock);
        erase();
        P.hidden = true;
        pthread_mutex_unlock(&P.lock);
}

void progress_finish(void)
{
        pthread_mutex_lock(&P.lock);
        P.stopping = true;
        P.phase = PROGRESS_NONE;
        pthread_cond_signal(&P.wake);
        pthread_mutex_unlock(&P.lock);
        if (P.running)
                pthread_join(P.thread, NULL);
        P.running = false;
        P.stopping = false;
}
