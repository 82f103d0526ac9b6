/* pool: the workers of a pool (gunicorn, uwsgi, celery, multiprocessing),
 * snapshotted one after another and compared (README "Worker pools").
 *
 * `pyleak-attach PID PID...` names the workers; `--children PID` finds
 * them: every descendant of the master (through /proc/PID/task/TID/children,
 * else the ppid field of every /proc/N/stat) whose interpreter the tool
 * recognises; the master itself is not one.  Every worker is opened
 * first, while all of them run (constant data only); then each is stopped,
 * captured, released and walked alone, so no two are ever stopped at once
 * and each pause is that of a single attach.
 *
 * A worker that fails is reported (its message, prefixed with its pid) and
 * the others go on; the exit code is the worst of the workers' (0, 1, 2).
 * Dumps hold one worker each: --dump takes a name with %p (the pid) or a
 * directory.  A worker diverges when its RSS, its tracked objects or (with
 * --baseline) its growth exceeds the pool's median by the rule in
 * pool_diverges().
 *
 * pool.c sees no reader and no layout: main.c lends it the attach
 * pipeline through struct pool_ops.
 */
#ifndef PYLEAK_POOL_H
#define PYLEAK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "diag.h"

struct heap;

struct pool_ops {
        /* Opens pid and finds its interpreter without stopping it (its
         * CPython version into version): 0, or -errno with d filled;
         * -EOPNOTSUPP: not a CPython the tool recognises. */
        int (*open)(const struct options *o, pid_t pid, void **ret, char *version,
                    size_t len, struct diag *d);
        /* One snapshot, walked and analysed: 0 or -errno with d filled. */
        int (*snapshot)(void *src, struct heap **ret, struct diag *d);
        void (*close)(void *src);
        int (*write_dump)(const struct heap *h, const char *path, bool force, struct diag *d);
        /* A dump, analysed. */
        int (*read_dump)(const char *path, struct heap **ret, struct diag *d);
};

/* The whole pool run; returns the exit code. */
int pool_run(const struct options *o, const struct pool_ops *ops);

/* --dump and --baseline of a pool: a name with %p, or a directory (an
 * existing one, or a name ending in '/'), which becomes
 * DIR/pyleak-attach-%p.db.  A --dump name without %p is refused (exit 64);
 * a --baseline without %p is one dump every worker is compared with.
 * Returns the pattern (static storage per option). */
const char *pool_dump_pattern(const char *opt, const char *path);

/* %p of pattern replaced by pid ("%%" is a '%'); -ENAMETOOLONG. */
int pool_expand(const char *pattern, pid_t pid, char *buf, size_t len);

/* The divergence rule: value exceeds the median by more than
 * POOL_DIVERGE_RATIO and by at least floor. */
#define POOL_DIVERGE_RATIO 1.25
#define POOL_DIVERGE_OBJECTS 10000
#define POOL_DIVERGE_RSS (16ull << 20)
bool pool_diverges(double value, double median, double floor);

#endif
