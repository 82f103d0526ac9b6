/* snapshot: the entry points of snapshot.h; each mode is done elsewhere
 * (live: live.c, copy: copy.c, fork: fork.c; stopping: stop.c, the
 * memory budget: budget.c).
 */
#include "snapshot.h"

#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- entry point -------------------------------------------------------- */

int snap_precheck(pid_t pid, struct diag *d)
{
        struct proc_status st;
        int r;

        if (pid <= 0)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        if (pid == getpid())
                return diag_set(d, -EINVAL, "cannot snapshot process %d: it is this tool itself",
                                (int)pid);
        r = proc_read_status(pid, pid, &st);
        if (r == -ESRCH)
                return diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
        if (r == -EPERM)
                return proc_explain_eperm(d, pid, "inspect", proc_yama_ptrace_scope());
        if (r < 0)
                return diag_set(d, r, "cannot read /proc/%d/status: %s", (int)pid, strerror(-r));
        r = proc_check_alive(pid, d);
        if (r < 0)
                return r;
        if (st.tracer_pid > 0)
                return snap_explain_traced(d, pid, pid, st.tracer_pid);
        if (st.state == 'T' || st.state == 't') {
                diag_set(d, -EBUSY, "process %d is stopped (SIGSTOP or job control); a snapshot would have to resume it",
                         (int)pid);
                diag_append(d, "hint: resume it with `kill -CONT %d`, then retry", (int)pid);
                return -EBUSY;
        }
        return 0;
}

/* ---- modes -------------------------------------------------------------- */

static const char *const mode_names[] = {
        [SNAPSHOT_COPY] = "copy",
        [SNAPSHOT_FORK] = "fork",
        [SNAPSHOT_LIVE] = "live",
        [SNAPSHOT_AUTO] = "auto",
};

int snapshot_explain_exit(pid_t pid, struct diag *d)
{
        return proc_explain_exit(pid, d);
}

const char *snapshot_mode_name(enum snapshot_mode mode)
{
        if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
                return NULL;
        return mode_names[mode];
}

int snapshot_mode_parse(const char *s, enum snapshot_mode *ret)
{
        size_t i;

        for (i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
                if (strcmp(s, mode_names[i]) == 0) {
                        if (ret)
                                *ret = (enum snapshot_mode)i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- entry point -------------------------------------------------------- */

/* The figures of snapshot.h's mode comment, measured on two idle cores. */
#define PLAN_COPY_MS_PER_GB 200.0
#define PLAN_FORK_MS_PER_GB 33.0
#define PLAN_STOP_MS 2.0

int snapshot_rss(pid_t pid, uint64_t *ret)
{
        char path[64], *text = NULL, *p, *end;
        unsigned long long kib;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        r = proc_read_file(path, 1u << 16, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "\nVmRSS:");
        if (!p) {
                free(text);
                return -ENOENT;
        }
        errno = 0;
        kib = strtoull(p + 7, &end, 10);
        r = errno || end == p + 7 || kib > (1ULL << 44) ? -EBADMSG : 0;
        free(text);
        if (r == 0)
                *ret = (uint64_t)kib << 10;
        return r;
}

int snapshot_plan(pid_t pid, const struct snapshot_opts *opts, struct snapshot_plan *ret,
                  struct diag *d)
{
        enum snapshot_mode mode = opts ? opts->mode : SNAPSHOT_COPY;
        uint64_t threshold = opts && opts->auto_threshold ? opts->auto_threshold
                                                          : SNAPSHOT_AUTO_THRESHOLD;
        struct snapshot_plan p = {0};
        struct mem_region *pre = NULL;
        uint64_t *resident = NULL;
        size_t npre = 0;
        char why[256] = "";
        double gb;
        int r;

        r = snap_precheck(pid, d);
        if (r < 0)
                return r;
        r = procmaps_read_smaps(pid, proc_reader_tid(pid), &pre, &resident, &npre);
        if (r == -EPERM)
                return proc_explain_eperm(d, pid, "read the memory map of", proc_yama_ptrace_scope());
        if (r < 0)
                return diag_set(d, r, "cannot read /proc/%d/smaps: %s", (int)pid, strerror(-r));
        p.writable_bytes = snap_copy_size(pre, resident, npre);
        procmaps_regions_free(pre, npre);
        free(resident);
        p.budget_bytes = snapshot_default_budget(&p.mem_available, &p.cgroup_headroom);
        if (opts && opts->max_bytes)
                p.budget_bytes = opts->max_bytes;
        gb = (double)p.writable_bytes / 1e9;
        p.mode = mode == SNAPSHOT_AUTO ? SNAPSHOT_COPY : mode;
        if (mode == SNAPSHOT_AUTO && (p.writable_bytes > threshold ||
                                      p.writable_bytes > p.budget_bytes)) {
                if (snap_fork_possible(pid, why, sizeof(why)))
                        p.mode = SNAPSHOT_FORK;
                snprintf(p.why, sizeof(p.why), "more to copy than the %s: %s%s%s",
                         p.writable_bytes > p.budget_bytes ? "memory budget" : "auto threshold",
                         p.mode == SNAPSHOT_FORK ? "fork, if its helper is kill-safe here "
                         "(else copy)" : "copy, as it cannot fork (", p.mode == SNAPSHOT_FORK ?
                         "" : why, p.mode == SNAPSHOT_FORK ? "" : ")");
        } else if (mode == SNAPSHOT_AUTO) {
                snprintf(p.why, sizeof(p.why), "under auto's %llu MiB threshold",
                         (unsigned long long)(threshold >> 20));
        } else if (mode == SNAPSHOT_FORK && !snap_fork_possible(pid, why, sizeof(why))) {
                p.mode = SNAPSHOT_COPY;
                snprintf(p.why, sizeof(p.why), "fork not possible (%s): copy", why);
        } else {
                snprintf(p.why, sizeof(p.why), "--snapshot %s", snapshot_mode_name(mode));
        }
        p.over_budget = p.mode == SNAPSHOT_COPY && p.writable_bytes > p.budget_bytes;
        if (p.mode == SNAPSHOT_COPY)
                p.pause_ms = PLAN_STOP_MS + gb * PLAN_COPY_MS_PER_GB;
        else if (p.mode == SNAPSHOT_FORK)
                p.pause_ms = PLAN_STOP_MS + gb * PLAN_FORK_MS_PER_GB;
        *ret = p;
        return 0;
}

int snapshot_take(pid_t pid, const struct snapshot_opts *opts,
                  struct memsrc **ret, struct snapshot_stats *stats,
                  struct diag *d)
{
        static atomic_int busy;
        struct snapshot_stats st, keep;
        struct diag fd;
        char *p;
        struct mem_region *pre = NULL;
        uint64_t *resident = NULL, budget, threshold;
        enum snapshot_mode mode = opts ? opts->mode : SNAPSHOT_COPY;
        size_t npre = 0;
        int fallback = SNAP_FORK_NO_FALLBACK;
        char why[256];
        int r;

        if (!ret || !snapshot_mode_name(mode))
                return -EINVAL;
        if (atomic_exchange(&busy, 1))
                return diag_set(d, -EBUSY, "cannot snapshot process %d: another snapshot is running in this process",
                                (int)pid);
        memset(&st, 0, sizeof(st));
        st.mode_requested = mode;
        snap_orphans_reap();

        r = snap_precheck(pid, d);
        if (r < 0)
                goto out;
        if (mode == SNAPSHOT_LIVE) {
                r = memsrc_open_live(pid, ret, d);
                st.mode_used = SNAPSHOT_LIVE;
                if (r < 0)
                        goto out;
                budget = opts && opts->max_bytes ? opts->max_bytes : snapshot_default_budget(NULL, NULL);
                st.budget_bytes = budget < SNAPSHOT_LIVE_CACHE_MAX ? budget : SNAPSHOT_LIVE_CACHE_MAX;
                /* without the cache a live read is just slower */
                (void)memsrc_live_cache(*ret, st.budget_bytes);
                goto out;
        }
        r = procmaps_read_smaps(pid, proc_reader_tid(pid), &pre, &resident, &npre);
        if (r == -ESRCH) {
                r = diag_set(d, -ESRCH, "no process with pid %d (it exited)\nhint: nothing is left to inspect; for a process that crashes, analyse a core file (--core)", (int)pid);
                goto out;
        }
        if (r == -EPERM) {
                r = proc_explain_eperm(d, pid, "read the memory map of", proc_yama_ptrace_scope());
                goto out;
        }
        if (r < 0) {
                proc_explain_maps_error(d, pid, "smaps", r);
                goto out;
        }
        st.writable_bytes = snap_copy_size(pre, resident, npre);
        budget = snapshot_default_budget(&st.mem_available, &st.cgroup_headroom);
        if (opts && opts->max_bytes)
                budget = opts->max_bytes;
        st.budget_bytes = budget;
        threshold = opts && opts->auto_threshold ? opts->auto_threshold
                                                 : SNAPSHOT_AUTO_THRESHOLD;

        if (mode == SNAPSHOT_AUTO) {
                if (st.writable_bytes <= threshold && st.writable_bytes <= budget)
                        mode = SNAPSHOT_COPY;
                else if (snap_fork_possible(pid, why, sizeof(why)))
                        mode = SNAPSHOT_FORK;
                else {
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "auto: %llu MiB to copy, but cannot fork: %s",
                                 (unsigned long long)(st.writable_bytes >> 20), why);
                        mode = SNAPSHOT_COPY;
                }
        } else if (mode == SNAPSHOT_FORK && !snap_fork_possible(pid, why, sizeof(why))) {
                snprintf(st.fallback, sizeof(st.fallback),
                         "fork mode not possible (%s); used copy mode", why);
                mode = SNAPSHOT_COPY;
        }
        if (mode == SNAPSHOT_FORK) {
                /* its own diag: the fallback reason must not depend on
                 * whether the caller asked for one */
                diag_clear(&fd);
                /* AUTO forks only with a kill-safe helper; an explicit
                 * fork goes on and warns */
                r = snap_fork_take(pid, opts, st.mode_requested == SNAPSHOT_AUTO, ret, &st,
                                   &fallback, &fd);
                if (r < 0 && fallback == SNAP_FORK_NO_FALLBACK && d)
                        *d = fd;
                if (r >= 0 || fallback == SNAP_FORK_NO_FALLBACK)
                        goto out;
                /* start the copy's figures from scratch, keep the inputs */
                keep = st;
                memset(&st, 0, sizeof(st));
                st.mode_requested = keep.mode_requested;
                st.writable_bytes = keep.writable_bytes;
                st.budget_bytes = keep.budget_bytes;
                st.mem_available = keep.mem_available;
                st.cgroup_headroom = keep.cgroup_headroom;
                if (fallback == SNAP_FORK_UNSAFE)
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "auto: %llu MiB to copy, but fork mode is not kill-safe here (%.380s); used copy mode",
                                 (unsigned long long)(st.writable_bytes >> 20), fd.msg);
                else
                        snprintf(st.fallback, sizeof(st.fallback),
                                 "fork failed (%.400s); used copy mode",
                                 fd.msg[0] ? fd.msg : strerror(-r));
                /* one line: "hint:" lines become "; hint:" */
                for (p = st.fallback; (p = strchr(p, '\n')); )
                        *p = ';';
        }
        r = snap_copy_take(pid, opts, budget, pre, resident, npre, ret, &st, d);
        if (r < 0 && fallback == SNAP_FORK_UNSAFE)
                diag_append(d, "hint: auto did not fork because fork mode is not kill-safe here (%s); --snapshot fork forks anyway",
                            fd.msg);
out:
        if (r >= 0 && stats)
                *stats = st;
        procmaps_regions_free(pre, npre);
        free(resident);
        atomic_store(&busy, 0);
        return r;
}
