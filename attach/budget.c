/* budget: how much a copy of a target would hold, and how much this machine
 * (and its cgroup) can give it.
 */
#include "snapshot.h"

#include "diag.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the copy will hold: anonymous memory only where pages exist (see
 * copy_seg), file-backed mappings in full.  resident may be NULL
 * (then the virtual size counts). */
uint64_t snap_copy_size(const struct mem_region *v, const uint64_t *resident,
                          size_t n)
{
        uint64_t total = 0;
        size_t i;

        for (i = 0; i < n; i++)
                if (procmaps_region_copyable(&v[i]))
                        total += resident && procmaps_region_anon(&v[i]) ? resident[i]
                                                                 : v[i].end - v[i].start;
        return total;
}

/* Like snap_copy_size() for the map read during the stop, reusing the resident
 * sizes measured before it.  An anonymous mapping that changed in between
 * (merged, grown, split) counts the resident pages of the mappings it
 * overlaps: only present pages are copied, and what became present in
 * those milliseconds is small, while its virtual size (an allocator's or
 * ASan's reservation) can be tens of gigabytes that will never be copied.
 * A mapping with nothing before it counts in full. */
uint64_t snap_copy_size_again(const struct mem_region *v, size_t n,
                              const struct mem_region *pre,
                              const uint64_t *resident, size_t npre)
{
        uint64_t total = 0, sz;
        size_t i, j = 0, k;
        bool overlapped;

        for (i = 0; i < n; i++) {
                if (!procmaps_region_copyable(&v[i]))
                        continue;
                sz = v[i].end - v[i].start;
                while (j < npre && pre[j].end <= v[i].start)
                        j++;
                if (procmaps_region_anon(&v[i])) {
                        uint64_t res = 0;

                        overlapped = false;
                        for (k = j; k < npre && pre[k].start < v[i].end; k++) {
                                res += resident[k];
                                overlapped = true;
                        }
                        if (overlapped)
                                sz = res < sz ? res : sz;
                }
                total += sz;
        }
        return total;
}

int snap_check_budget(pid_t pid, uint64_t total, uint64_t max_bytes,
                      struct diag *d)
{
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        uint64_t phys = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;

        if (max_bytes && total > max_bytes) {
                /* In KiB: a MiB figure rounds a small --max-memory to 0. */
                diag_set(d, -ENOMEM, "cannot snapshot process %d: copying its writable memory "
                         "(%llu KiB) would exceed the memory budget (%llu KiB)",
                         (int)pid, (unsigned long long)((total + 1023) >> 10),
                         (unsigned long long)(max_bytes >> 10));
                diag_append(d, "hint: raise the budget with --max-memory SIZE, or use "
                            "--snapshot fork (copies nothing), or analyse a core file (--core)");
                return -ENOMEM;
        }
        if (phys && total > phys) {
                diag_set(d, -ENOMEM, "cannot snapshot process %d: its writable memory (%llu MiB) exceeds this machine's RAM (%llu MiB)",
                         (int)pid, (unsigned long long)(total >> 20),
                         (unsigned long long)(phys >> 20));
                return -ENOMEM;
        }
        return 0;
}

/* ---- memory budget ------------------------------------------------------ */

#define CGROUP_MAX_DEPTH 32

static uint64_t meminfo_available(void)
{
        char *text = NULL, *p;
        unsigned long long kb;
        size_t len;

        if (proc_read_file("/proc/meminfo", 1u << 16, &text, &len) < 0)
                return 0;
        p = strstr(text, "MemAvailable:");
        kb = p && sscanf(p, "MemAvailable: %llu kB", &kb) == 1 ? kb : 0;
        free(text);
        return (uint64_t)kb * 1024;
}

/* A number from a cgroup file; "max" and v1's "no limit" (near 2^63) give
 * UINT64_MAX. */
static uint64_t cg_read_u64(const char *dir, const char *file)
{
        char path[PATH_MAX], *text = NULL;
        unsigned long long v;
        size_t len;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
            proc_read_file(path, 256, &text, &len) < 0)
                return UINT64_MAX;
        if (strncmp(text, "max", 3) == 0 || sscanf(text, "%llu", &v) != 1 ||
            v >= (1ull << 62))
                v = UINT64_MAX;
        free(text);
        return (uint64_t)v;
}

/* Where the hierarchy holding this process's memory controller is mounted
 * (v2: any cgroup2 mount; v1: the cgroup mount with the memory option). */
static bool cg_mount(bool v2, char *buf, size_t size)
{
        char *text = NULL, *line, *save = NULL, *sep;
        char mnt[PATH_MAX], fstype[64], opts[512];
        bool found = false;
        size_t len;

        if (proc_read_file("/proc/self/mountinfo", 1u << 20, &text, &len) < 0)
                return false;
        for (line = strtok_r(text, "\n", &save); line && !found;
             line = strtok_r(NULL, "\n", &save)) {
                sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
                    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
                        continue;
                if (v2 ? strcmp(fstype, "cgroup2") == 0
                       : strcmp(fstype, "cgroup") == 0 && strstr(opts, "memory")) {
                        found = (size_t)snprintf(buf, size, "%s", mnt) < size;
                }
        }
        free(text);
        return found;
}

/* limit - usage of the tightest memory cgroup from ours up to the root;
 * 0 = no limit anywhere.  Usage counts page cache, so this errs low. */
static uint64_t cgroup_headroom(void)
{
        char *text = NULL, *line, *save = NULL, *path = NULL;
        char mnt[PATH_MAX], dir[PATH_MAX], *slash;
        uint64_t best = UINT64_MAX, lim, use;
        bool v2 = false;
        size_t len;
        int depth;

        if (proc_read_file("/proc/self/cgroup", 1u << 16, &text, &len) < 0)
                return 0;
        /* prefer a v1 memory controller line; else the v2 "0::" line */
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

                if (!c2)
                        continue;
                *c2 = '\0';
                if (strstr(c1 + 1, "memory")) {
                        path = c2 + 1;
                        v2 = false;
                        break;
                }
                if (c1[1] == '\0' && strncmp(line, "0:", 2) == 0) {
                        path = c2 + 1;
                        v2 = true;
                }
        }
        if (!path || !cg_mount(v2, mnt, sizeof(mnt)) ||
            (size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, path) >= sizeof(dir)) {
                free(text);
                return 0;
        }
        free(text);
        for (depth = 0; depth < CGROUP_MAX_DEPTH; depth++) {
                lim = cg_read_u64(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
                use = cg_read_u64(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
                if (lim != UINT64_MAX) {
                        use = use == UINT64_MAX ? 0 : use;
                        if ((lim > use ? lim - use : 0) < best)
                                best = lim > use ? lim - use : 0;
                }
                slash = strrchr(dir, '/');
                if (!slash || (size_t)(slash - dir) < strlen(mnt))
                        break;
                *slash = '\0';
        }
        /* a limit with no headroom left is still a limit: 1 byte */
        return best == UINT64_MAX ? 0 : best ? best : 1;
}

uint64_t snapshot_default_budget(uint64_t *ret_available, uint64_t *ret_headroom)
{
        uint64_t avail = meminfo_available(), head = cgroup_headroom(), m;

        if (ret_available)
                *ret_available = avail;
        if (ret_headroom)
                *ret_headroom = head;
        m = avail;
        if (head && (!m || head < m))
                m = head;
        return m / 2;
}
