#include "memsrc-internal.h"

#include "diag.h"
#include "procmaps.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        if (!m || m->pid <= 0 || !strcmp(m->ops->name, "core"))
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

int memsrc_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                            char **host_path)
{
        if (!m || !r)
                return -EINVAL;
        if (!m->ops || !m->ops->open_mapped_file)
                return -ENOENT;
        return m->ops->open_mapped_file(m, r, host_path);
}

int memsrc_refresh_regions(struct memsrc *m)
{
        if (!m)
                return -EINVAL;
        if (!m->ops || !m->ops->refresh_regions)
                return 0;
        return m->ops->refresh_regions(m);
}

void memsrc_regions_free(struct mem_region *r, size_t n)
{
        size_t i;

        if (!r)
                return;
        for (i = 0; i < n; i++)
                free(r[i].path);
        free(r);
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
        memsrc_regions_free(regions, n);
}

/* ---- live backend ------------------------------------------------------ */

struct live {
        struct memsrc base;
        pid_t rtid;          /* thread whose /proc files show the mm */
        int mem_fd;          /* /proc/PID/mem, kept open for the fallback */
        bool use_vm_readv;   /* false once process_vm_readv proved blocked */
};

static int live_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct live *l = (struct live *)m;
        int r;

        if (l->use_vm_readv) {
                r = proc_vm_read(l->rtid, addr, buf, len);
                /* seccomp filters answer ENOSYS or EPERM for the syscall
                 * while /proc/PID/mem may still be allowed */
                if ((r != -ENOSYS && r != -EPERM) || l->mem_fd < 0)
                        return r;
                l->use_vm_readv = false;
        }
        return proc_mem_read(l->mem_fd, m->pid, addr, buf, len);
}

static int live_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                                 char **host_path)
{
        return proc_open_mapped_file(m->pid, r, host_path);
}

static int live_refresh_regions(struct memsrc *m)
{
        struct live *l = (struct live *)m;
        struct mem_region *v = NULL;
        size_t n = 0;
        int r;

        r = procmaps_read_task(m->pid, l->rtid, &v, &n);
        if (r < 0)
                return r;
        memsrc_regions_free(m->regions, m->nregions);
        m->regions = v;
        m->nregions = n;
        m->last_region = 0;
        return 0;
}

static void live_destroy(struct memsrc *m)
{
        struct live *l = (struct live *)m;

        if (l->mem_fd >= 0)
                close(l->mem_fd);
        free(l);
}

static const struct memsrc_ops live_ops = {
        .name = "live",
        .read = live_read,
        .ptr = NULL,
        .open_mapped_file = live_open_mapped_file,
        .refresh_regions = live_refresh_regions,
        .destroy = live_destroy,
};

/* Reads a few bytes of the first readable region to learn, now rather than
 * at the first real read, whether access works and through which path. */
static int live_probe(struct live *l)
{
        unsigned char b;
        size_t i;
        int r = 0;

        for (i = 0; i < l->base.nregions; i++) {
                const struct mem_region *reg = &l->base.regions[i];

                if (!reg->r || reg->end <= reg->start ||
                    (reg->path && strncmp(reg->path, "[vvar", 5) == 0) ||
                    (reg->path && strcmp(reg->path, "[vsyscall]") == 0))
                        continue;
                r = live_read(&l->base, reg->start, &b, 1);
                if (r != -EFAULT)
                        return r;
        }
        return r == -EFAULT ? 0 : r;
}

int memsrc_open_live(pid_t pid, struct memsrc **ret, struct diag *d)
{
        struct live *l = NULL;
        char path[96];
        int r;

        if (!ret)
                return -EINVAL;
        r = proc_check_alive(pid, d);
        if (r < 0)
                return r;
        l = calloc(1, sizeof(*l));
        if (!l)
                return diag_set(d, -ENOMEM, "cannot open process %d: out of memory", (int)pid);
        l->base.ops = &live_ops;
        l->base.pid = pid;
        l->mem_fd = -1;
        l->use_vm_readv = true;
        l->rtid = proc_reader_tid(pid);

        proc_task_path(path, sizeof(path), pid, l->rtid, "mem");
        l->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (l->mem_fd < 0) {
                r = errno;
                if (r == ENOENT || r == ESRCH) {
                        r = diag_set(d, -ESRCH, "no process with pid %d\nhint: check the pid (pgrep -a python); in a container, give the pid as the host sees it", (int)pid);
                        goto fail;
                }
                if (r == EACCES || r == EPERM) {
                        r = proc_explain_eperm(d, pid, "read the memory of",
                                               proc_yama_ptrace_scope());
                        goto fail;
                }
                /* other failures: process_vm_readv may still work */
        }

        r = procmaps_read_task(pid, l->rtid, &l->base.regions, &l->base.nregions);
        if (r == -ESRCH) {
                r = diag_set(d, -ESRCH, "no process with pid %d (it exited)\nhint: nothing is left to inspect; for a process that crashes, analyse a core file (--core)", (int)pid);
                goto fail;
        }
        if (r == -EPERM) {
                r = proc_explain_eperm(d, pid, "read the memory map of",
                                       proc_yama_ptrace_scope());
                goto fail;
        }
        if (r < 0) {
                diag_set(d, r, "cannot read /proc/%d/maps: %s", (int)pid, strerror(-r));
                goto fail;
        }

        r = live_probe(l);
        if (r == -ESRCH) {
                r = proc_check_alive(pid, d);
                if (r == 0)
                        r = diag_set(d, -ESRCH, "process %d exited", (int)pid);
                goto fail;
        }
        if (r == -EPERM) {
                r = proc_explain_eperm(d, pid, "read the memory of",
                                       proc_yama_ptrace_scope());
                goto fail;
        }
        if (r < 0) {
                diag_set(d, r, "cannot read the memory of process %d: %s",
                         (int)pid, strerror(-r));
                goto fail;
        }
        *ret = &l->base;
        return 0;
fail:
        memsrc_free(&l->base);
        return r;
}
