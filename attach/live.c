/* live: the "live" memsrc, reads of a running target with
 * process_vm_readv through a read-through block cache; nothing is stopped.
 */
#include "memsrc-internal.h"

#include "diag.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- live backend ------------------------------------------------------ */

/* The read-through cache (memsrc_live_cache).  One process_vm_readv costs
 * about a microsecond whatever its size up to tens of KiB, and a walk reads
 * a few words of each of millions of objects that sit next to each other
 * in pymalloc's pools: one read per 64 KiB block instead of one per field
 * is what makes a live walk about as fast as a copied one. */
#define LIVE_BLOCK_SHIFT 16
#define LIVE_BLOCK       ((uint64_t)1 << LIVE_BLOCK_SHIFT)
#define LIVE_WAYS        4
/* Reads this long or longer go straight to the target: they are arrays
 * (list items, dict entries) read once, and would evict what the walk is
 * still using. */
#define LIVE_DIRECT_MIN  (LIVE_BLOCK / 4)
/* A forget spanning more blocks than this drops the whole cache instead of
 * looking each one up. */
#define LIVE_FORGET_MAX  64

struct live_block {
        uint64_t key;        /* block number + 1; 0: empty */
        uint64_t lo, hi;     /* bytes held, [lo, hi) clipped to the
                                mapping; lo == hi: unreadable, read direct */
        uint64_t used;       /* clock of the last hit, for eviction */
        uint32_t epoch;      /* valid while equal to live.epoch */
        uint8_t *data;       /* LIVE_BLOCK bytes from the block's start,
                                NULL until first used */
};

struct live {
        struct memsrc base;
        pid_t rtid;          /* thread whose /proc files show the mm */
        int mem_fd;          /* /proc/PID/mem, kept open for the fallback */
        bool use_vm_readv;   /* false once process_vm_readv proved blocked */
        struct live_block *blk;  /* nsets * LIVE_WAYS, NULL: no cache */
        uint8_t *pool;           /* their buffers, one mapping: given back
                                    whole when the source is freed, and
                                    only the blocks used cost memory */
        struct live_block *last; /* the block of the last cached read */
        size_t pool_used;        /* buffers handed out, in pool order */
        uint32_t nsets_log2;
        uint32_t epoch;
        uint64_t clock;
        uint64_t gen;            /* moves whenever a block's bytes may
                                    change (fill, forget): memsrc_span */
};

static int live_raw_read(struct live *l, uint64_t addr, void *buf, size_t len)
{
        int r;

        if (l->use_vm_readv) {
                r = proc_vm_read(l->rtid, addr, buf, len);
                /* seccomp filters answer ENOSYS or EPERM for the syscall
                 * while /proc/PID/mem may still be allowed */
                if ((r != -ENOSYS && r != -EPERM) || l->mem_fd < 0)
                        return r;
                l->use_vm_readv = false;
        }
        return proc_mem_read(l->mem_fd, l->base.pid, addr, buf, len);
}

static struct live_block *live_set(struct live *l, uint64_t key)
{
        uint64_t h = key * 0x9e3779b97f4a7c15ull;

        return l->nsets_log2 ? &l->blk[(h >> (64 - l->nsets_log2)) * LIVE_WAYS] : l->blk;
}

/* The cached block holding addr, read now if needed; NULL (and 0) when
 * addr is not cacheable or its block unreadable: the caller reads direct.
 * < 0 only for errors a direct read would give too (-ESRCH, -EPERM). */
static int live_block_get(struct live *l, uint64_t addr, struct live_block **ret)
{
        uint64_t key = (addr >> LIVE_BLOCK_SHIFT) + 1, base = addr & ~(LIVE_BLOCK - 1);
        struct live_block *set = live_set(l, key), *v = NULL, *b;
        const struct mem_region *reg;
        uint64_t vrank = UINT64_MAX, rank;
        int r;

        *ret = NULL;
        for (int i = 0; i < LIVE_WAYS; i++) {
                b = &set[i];
                if (b->key == key && b->epoch == l->epoch) {
                        b->used = ++l->clock;
                        if (b->lo < b->hi)
                                *ret = b;
                        return 0;
                }
                /* reuse a stale way first (its buffer too), then an empty
                 * one, else the least recently used */
                rank = b->data && (!b->key || b->epoch != l->epoch) ? 0 :
                       !b->data ? 1 : b->used + 1;
                if (rank < vrank) {
                        vrank = rank;
                        v = b;
                }
        }
        reg = memsrc_region_of(&l->base, addr);
        /* only what copy mode would copy: no devices, no [vvar] */
        if (!reg || !procmaps_region_copyable(reg))
                return 0;
        /* in the order first used, not by way: the blocks in use sit
         * together at the pool's start instead of spread by the hash
         * (measured ~5% faster on a 1M-object live run) */
        if (!v->data)
                v->data = l->pool + (l->pool_used++) * LIVE_BLOCK;
        l->gen++;
        v->key = key;
        v->epoch = l->epoch;
        v->used = ++l->clock;
        v->lo = reg->start > base ? reg->start : base;
        v->hi = reg->end - base < LIVE_BLOCK ? reg->end : base + LIVE_BLOCK;
        r = live_raw_read(l, v->lo, v->data + (v->lo - base), (size_t)(v->hi - v->lo));
        if (r < 0) {
                /* a page of the block is gone (the map changed since it
                 * was read): remember, and read this block's words one by
                 * one until the next forget */
                v->hi = v->lo;
                return r == -EFAULT ? 0 : r;
        }
        *ret = v;
        return 0;
}

static int live_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct live *l = (struct live *)m;
        struct live_block *b;
        size_t n;
        int r;

        if (!l->blk || len >= LIVE_DIRECT_MIN)
                return live_raw_read(l, addr, buf, len);
        /* most reads are a few words of the object the last one read */
        b = l->last;
        if (b && b->epoch == l->epoch && b->key == (addr >> LIVE_BLOCK_SHIFT) + 1 &&
            addr >= b->lo && addr < b->hi && b->hi - addr >= len) {
                memcpy(buf, b->data + (addr & (LIVE_BLOCK - 1)), len);
                return 0;
        }
        while (len > 0) {
                r = live_block_get(l, addr, &b);
                if (r < 0)
                        return r;
                if (!b || addr < b->lo || addr >= b->hi)
                        return live_raw_read(l, addr, buf, len);
                n = b->hi - addr < len ? (size_t)(b->hi - addr) : len;
                memcpy(buf, b->data + (addr & (LIVE_BLOCK - 1)), n);
                l->last = b;
                addr += n;
                buf = (char *)buf + n;
                len -= n;
        }
        return 0;
}

static void live_forget(struct memsrc *m, uint64_t addr, uint64_t len)
{
        struct live *l = (struct live *)m;
        uint64_t k0, k1;

        if (!l->blk)
                return;
        l->gen++;
        k0 = addr >> LIVE_BLOCK_SHIFT;
        k1 = (addr + len - 1 < addr ? UINT64_MAX : addr + len - 1) >> LIVE_BLOCK_SHIFT;
        if (k1 - k0 >= LIVE_FORGET_MAX) {
                /* epoch 0 is never current: a wrap empties the table so
                 * that no block of 2^32 forgets ago comes back */
                if (++l->epoch == 0) {
                        for (size_t i = 0; i < ((size_t)LIVE_WAYS << l->nsets_log2); i++)
                                l->blk[i].key = 0;
                        l->epoch = 1;
                }
                return;
        }
        for (uint64_t k = k0; k <= k1; k++) {
                struct live_block *set = live_set(l, k + 1);

                for (int i = 0; i < LIVE_WAYS; i++)
                        if (set[i].key == k + 1)
                                set[i].key = 0;
        }
}

static void live_cache_free(struct live *l)
{
        if (!l->blk)
                return;
        munmap(l->pool, ((size_t)LIVE_WAYS << l->nsets_log2) * LIVE_BLOCK);
        l->gen++;
        l->pool = NULL;
        free(l->blk);
        l->blk = NULL;
        l->last = NULL;
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
        procmaps_regions_free(m->regions, m->nregions);
        m->regions = v;
        m->nregions = n;
        m->last_region = 0;
        /* blocks were clipped to the old mappings */
        live_forget(m, 0, UINT64_MAX);
        return 0;
}

static void live_destroy(struct memsrc *m)
{
        struct live *l = (struct live *)m;

        if (l->mem_fd >= 0)
                close(l->mem_fd);
        live_cache_free(l);
        free(l);
}

/* The cached block around addr, for reading words out at once (see
 * memsrc_span): a pointer kept would see the block refilled. */
static const void *live_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                             const uint64_t **gen)
{
        struct live *l = (struct live *)m;
        struct live_block *b;

        if (!l->blk || live_block_get(l, addr, &b) < 0 || !b || addr < b->lo || addr >= b->hi)
                return NULL;
        l->last = b;
        *lo = b->lo;
        *hi = b->hi;
        *gen = &l->gen;
        return b->data + (b->lo & (LIVE_BLOCK - 1));
}

static const struct memsrc_ops live_ops = {
        .name = "live",
        .caps = MEMSRC_CAP_PROC,
        .read = live_read,
        .ptr = NULL,
        .span = live_span,
        .open_mapped_file = live_open_mapped_file,
        .refresh_regions = live_refresh_regions,
        .forget = live_forget,
        .destroy = live_destroy,
};

int memsrc_live_cache(struct memsrc *m, uint64_t max_bytes)
{
        struct live *l = (struct live *)m;
        uint32_t lg = 0;

        if (!m || m->ops != &live_ops)
                return 0;
        live_cache_free(l);
        while (lg < 24 && ((uint64_t)LIVE_WAYS << (lg + 1)) * LIVE_BLOCK <= max_bytes)
                lg++;
        if (((uint64_t)LIVE_WAYS << lg) * LIVE_BLOCK > max_bytes)
                return 0;
        l->blk = calloc((size_t)LIVE_WAYS << lg, sizeof(*l->blk));
        l->pool = mmap(NULL, ((size_t)LIVE_WAYS << lg) * LIVE_BLOCK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (!l->blk || l->pool == MAP_FAILED) {
                if (l->pool != MAP_FAILED)
                        munmap(l->pool, ((size_t)LIVE_WAYS << lg) * LIVE_BLOCK);
                free(l->blk);
                l->blk = NULL;
                l->pool = NULL;
                return -ENOMEM;
        }
        /* Blocks fill the pool in order: huge pages turn 32 page faults
         * per block, a quarter of a live walk's time, into one per 32
         * blocks.  Only a hint: without THP the pool works the same. */
        madvise(l->pool, ((size_t)LIVE_WAYS << lg) * LIVE_BLOCK, MADV_HUGEPAGE);
        l->pool_used = 0;
        l->nsets_log2 = lg;
        l->epoch = 1;
        return 0;
}

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
                r = live_raw_read(l, reg->start, &b, 1);
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
                proc_explain_maps_error(d, pid, "maps", r);
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
