/* proctree: the descendants of a process, for --children (a pool master).
 *
 * The kernel lists each thread's children in /proc/PID/task/TID/children
 * (CONFIG_PROC_CHILDREN, on in Debian's kernels); without it, one scan of
 * every /proc/N/stat's ppid gives the same tree.  Both answer breadth
 * first, so a worker's own subprocesses follow the workers, and neither
 * lists this tool (a master may have started it).
 */
#ifndef PYLEAK_PROCTREE_H
#define PYLEAK_PROCTREE_H

#include <sys/types.h>

enum proctree_how {
        PROCTREE_AUTO,       /* children files, else the /proc scan */
        PROCTREE_SCAN,       /* the /proc scan only (tests: the fallback) */
};

/* The descendants of master, at most max: 0, or -ESRCH when master does
 * not exist, or -errno. */
int proctree_descendants(pid_t master, enum proctree_how how, pid_t *out, unsigned max,
                         unsigned *ret_n);

#endif
