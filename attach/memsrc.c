#include "memsrc-internal.h"

#include "diag.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- generic dispatch -------------------------------------------------- */

int memsrc_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        if (!m || !m->ops || !m->ops->read)
                return -EINVAL;
        if (len == 0)
                return 0;
        if (!buf)
                return -EINVAL;
        if (addr + len < addr)
                return -EFAULT;
        return m->ops->read(m, addr, buf, len);
}

const void *memsrc_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        if (!m || !m->ops || !m->ops->ptr || addr + len < addr)
                return NULL;
        return m->ops->ptr(m, addr, len);
}

bool memsrc_has_spans(const struct memsrc *m)
{
        return m && m->ops && m->ops->span;
}

const void *memsrc_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                        const uint64_t **gen)
{
        const void *p;

        *gen = NULL;
        if (!m || !m->ops || !m->ops->span)
                return NULL;
        p = m->ops->span(m, addr, lo, hi, gen);
        /* a span that does not hold addr would be read past */
        return p && *lo <= addr && addr < *hi ? p : NULL;
}

int memsrc_read_u64(struct memsrc *m, uint64_t addr, uint64_t *ret)
{
        uint64_t v;
        int r;

        if (!ret)
                return -EINVAL;
        r = memsrc_read(m, addr, &v, sizeof(v));
        if (r < 0)
                return r;
        *ret = le64toh(v);
        return 0;
}

int memsrc_regions(struct memsrc *m, const struct mem_region **ret, size_t *ret_n)
{
        if (!m || !ret || !ret_n)
                return -EINVAL;
        *ret = m->regions;
        *ret_n = m->nregions;
        return 0;
}

const struct mem_region *memsrc_region_of(struct memsrc *m, uint64_t addr)
{
        size_t lo, hi, mid;
        const struct mem_region *r;

        if (!m || m->nregions == 0)
                return NULL;
        /* Walkers read many objects from one arena in a row. */
        if (m->last_region < m->nregions) {
                r = &m->regions[m->last_region];
                if (addr >= r->start && addr < r->end)
                        return r;
        }
        lo = 0;
        hi = m->nregions;
        while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                r = &m->regions[mid];
                if (addr < r->start)
                        hi = mid;
                else if (addr >= r->end)
                        lo = mid + 1;
                else {
                        m->last_region = mid;
                        return r;
                }
        }
        return NULL;
}

pid_t memsrc_pid(struct memsrc *m)
{
        return m ? m->pid : 0;
}

pid_t memsrc_pid_in_namespace(struct memsrc *m)
{
        char path[64], line[256];
        long v = 0;
        FILE *f;

        /* Only a running target has a /proc entry to ask; a core file's pid
         * may belong to another process by now. */
        if (!m || m->pid <= 0 || !(m->ops->caps & MEMSRC_CAP_PROC))
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/status", (int)m->pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                char *p, *end;

                if (strncmp(line, "NSpid:", 6))
                        continue;
                /* NSpid lists the pid in every namespace from ours inwards:
                 * the last one is what the target sees as its own pid. */
                for (p = line + 6;; p = end) {
                        long x = strtol(p, &end, 10);

                        if (end == p)
                                break;
                        v = x;
                }
                break;
        }
        fclose(f);
        return v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

const char *memsrc_root(struct memsrc *m, char *buf, size_t len)
{
        const char *root = m && m->ops && m->ops->root ? m->ops->root(m) : NULL;

        if (!len)
                return buf;
        buf[0] = '\0';
        if (root)
                snprintf(buf, len, "%s", root);
        else if (m && m->ops && (m->ops->caps & MEMSRC_CAP_PROC) && m->pid > 0)
                snprintf(buf, len, "/proc/%d/root", (int)m->pid);
        return buf;
}

int memsrc_open_file(struct memsrc *m, const char *path)
{
        char root[PATH_MAX], full[PATH_MAX];
        int fd;

        if (!path || path[0] != '/')
                return -EINVAL;
        memsrc_root(m, root, sizeof(root));
        if (snprintf(full, sizeof(full), "%s%s", root, path) >= (int)sizeof(full))
                return -ENAMETOOLONG;
        fd = open(full, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int memsrc_open_proc(struct memsrc *m, const char *name)
{
        char path[128];
        int fd;

        if (!m || !m->ops || !(m->ops->caps & MEMSRC_CAP_PROC) || m->pid <= 0 || !name ||
            strchr(name, '/') ||
            snprintf(path, sizeof(path), "/proc/%d/%s", (int)m->pid, name) >= (int)sizeof(path))
                return -ENOENT;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int memsrc_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                            char **host_path)
{
        if (!m || !r)
                return -EINVAL;
        if (!m->ops || !m->ops->open_mapped_file)
                return -ENOENT;
        return m->ops->open_mapped_file(m, r, host_path);
}

void memsrc_forget(struct memsrc *m, uint64_t addr, uint64_t len)
{
        if (m && m->ops && m->ops->forget && len)
                m->ops->forget(m, addr, len);
}

int memsrc_refresh_regions(struct memsrc *m)
{
        if (!m)
                return -EINVAL;
        if (!m->ops || !m->ops->refresh_regions)
                return 0;
        return m->ops->refresh_regions(m);
}

void memsrc_free(struct memsrc *m)
{
        struct mem_region *regions;
        size_t n;

        if (!m)
                return;
        /* destroy() frees the containing allocation, m included */
        regions = m->regions;
        n = m->nregions;
        if (m->ops && m->ops->destroy)
                m->ops->destroy(m);
        procmaps_regions_free(regions, n);
}
