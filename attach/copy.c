/* copy: copy mode's snapshot.  The writable memory of a stopped target is
 * copied into buffers prepared before the stop, on up to four threads, and
 * served by the "snapshot" memsrc, which reads what was not copied
 * (read-only mappings) from the target or its mapped files.
 */
#include "snapshot.h"

#include "diag.h"
#include "grow.h"
#include "memsrc-internal.h"
#include "procmaps.h"
#include "snapshot-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SNAP_BATCH_BYTES  (16u << 20)
#define SNAP_BATCH_IOV    256     /* iovecs per process_vm_readv */
#define SNAP_MAX_FILES    256     /* fds kept for reads after the target exits */
#define SNAP_DEFAULT_TIMEOUT_MS 2000

/* ---- the snapshot memsrc ------------------------------------------------ */

struct snap_file {
        int fd;
        uint64_t inode;
        char *path;          /* target's path */
        char *host_path;     /* what was opened */
};

struct snap {
        struct memsrc base;
        void **bufs;              /* per region: the copy, NULL if not copied */
        int *file_of;             /* per region: index in files, -1 */
        struct snap_file *files;
        size_t nfiles;
        int mem_fd;               /* /proc/PID/mem: tied to the mm, not the
                                     pid, so pid reuse cannot fool it */
        bool gone;                /* the target's address space is gone */
};

static int snap_read_uncopied(struct snap *s, const struct mem_region *r,
                              uint64_t addr, void *buf, size_t len)
{
        struct snap_file *f;
        ssize_t n;
        int ret;

        if (!s->gone) {
                if (s->mem_fd >= 0)
                        ret = proc_mem_read(s->mem_fd, s->base.pid, addr, buf, len);
                else
                        ret = proc_vm_read(s->base.pid, addr, buf, len);
                if (ret != -ESRCH)
                        return ret;
                s->gone = true;
        }
        /* The process is gone: read-only file mappings can still be served
         * from the file at the mapping's offset. */
        if (!s->file_of || s->file_of[r - s->base.regions] < 0)
                return -ESRCH;
        f = &s->files[s->file_of[r - s->base.regions]];
        n = pread(f->fd, buf, len, (off_t)(r->offset + (addr - r->start)));
        if (n < 0 || (size_t)n != len)
                return -EFAULT;
        return 0;
}

static int snap_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct snap *s = (struct snap *)m;
        const struct mem_region *r;
        size_t i, chunk;
        int ret;

        /* a read may span adjacent mappings; each pass consumes >= 1 byte
         * and at most one region, so this ends */
        while (len > 0) {
                r = memsrc_region_of(m, addr);
                if (!r || !r->r)
                        return -EFAULT;
                chunk = r->end - addr < len ? (size_t)(r->end - addr) : len;
                i = (size_t)(r - m->regions);
                if (r->copied && s->bufs[i])
                        memcpy(buf, (const char *)s->bufs[i] + (addr - r->start), chunk);
                else {
                        ret = snap_read_uncopied(s, r, addr, buf, chunk);
                        if (ret < 0)
                                return ret;
                }
                addr += chunk;
                buf = (char *)buf + chunk;
                len -= chunk;
        }
        return 0;
}

/* A copied region's whole buffer (see memsrc_span). */
static const void *snap_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                             const uint64_t **gen)
{
        struct snap *s = (struct snap *)m;
        const struct mem_region *r = memsrc_region_of(m, addr);
        size_t i;

        if (!r || !r->copied)
                return NULL;
        i = (size_t)(r - m->regions);
        if (!s->bufs[i])
                return NULL;
        *lo = r->start;
        *hi = r->end;
        *gen = NULL;
        return s->bufs[i];
}

static const void *snap_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        const uint64_t *gen;
        uint64_t lo, hi;
        const char *p = snap_span(m, addr, &lo, &hi, &gen);

        return p && len <= hi - addr ? p + (addr - lo) : NULL;
}

static int snap_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                                 char **host_path)
{
        struct snap *s = (struct snap *)m;
        struct snap_file *f;
        size_t i;
        int fd;

        if (r < m->regions || r >= m->regions + m->nregions)
                return -EINVAL;
        i = (size_t)(r - m->regions);
        /* Prefer the fd opened right after the snapshot: the pid may since
         * have been reused by an unrelated process. */
        if (s->file_of && s->file_of[i] >= 0) {
                f = &s->files[s->file_of[i]];
                fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                if (host_path) {
                        *host_path = strdup(f->host_path);
                        if (!*host_path) {
                                close(fd);
                                return -ENOMEM;
                        }
                }
                return fd;
        }
        if (s->gone)
                return -ESRCH;
        return proc_open_mapped_file(m->pid, r, host_path);
}

static void snap_destroy(struct memsrc *m)
{
        struct snap *s = (struct snap *)m;
        size_t i;

        if (s->bufs) {
                for (i = 0; i < m->nregions; i++)
                        if (s->bufs[i])
                                munmap(s->bufs[i], (size_t)(m->regions[i].end -
                                                            m->regions[i].start));
                free(s->bufs);
        }
        for (i = 0; i < s->nfiles; i++) {
                close(s->files[i].fd);
                free(s->files[i].path);
                free(s->files[i].host_path);
        }
        free(s->files);
        free(s->file_of);
        if (s->mem_fd >= 0)
                close(s->mem_fd);
        free(s);
}

static const struct memsrc_ops snap_ops = {
        .name = "snapshot",
        .caps = MEMSRC_CAP_PROC,
        .read = snap_read,
        .ptr = snap_ptr,
        .span = snap_span,
        .open_mapped_file = snap_open_mapped_file,
        .refresh_regions = NULL,
        .destroy = snap_destroy,
};

#define SNAP_HUGE ((uint64_t)2 << 20)

void snap_advise_huge(int pagemap_fd, const struct mem_region *r, void *buf)
{
        uint64_t ent[512], npages = (r->end - r->start) / 4096, base, present = 0;
        ssize_t n;

        /* 4 KiB pages assumed: a pagemap entry per page */
        if (pagemap_fd < 0 || r->end - r->start < SNAP_HUGE || !procmaps_region_anon(r) ||
            sysconf(_SC_PAGESIZE) != 4096)
                return;
        for (base = 0; base < npages; base += (uint64_t)n / sizeof(ent[0])) {
                size_t want = npages - base < 512 ? (size_t)(npages - base) : 512;

                n = pread(pagemap_fd, ent, want * sizeof(ent[0]),
                          (off_t)((r->start / 4096 + base) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0]))
                        return;
                for (size_t j = 0; j < (size_t)n / sizeof(ent[0]); j++)
                        present += (ent[j] >> 62) != 0;
        }
        if (present * 10 >= npages * 9)
                (void)madvise(buf, (size_t)(r->end - r->start), MADV_HUGEPAGE);
}

/* ---- copying ------------------------------------------------------------ *
 * The pause is the product's promise, so everything that can be done while
 * the target still runs is done before the stop: the destination buffers
 * are allocated and the pages the copy will write are faulted in
 * (prepare_buffers), and the copying threads are created (pool_start).
 * While the target is stopped the map is read again, the prepared buffers
 * are adopted by the mappings that did not change, and the mappings are
 * copied by up to SNAP_COPIERS_MAX threads, each reading the page map of
 * the segment it claims (which pages exist may have changed since the
 * buffers were prepared) and then the pages themselves.
 *
 * Only the calling thread ever calls ptrace: a tracee's tracer is the
 * thread that seized it, not the process.  The helper threads only read
 * (process_vm_readv, /proc/PID/mem, /proc/PID/pagemap) into the buffers,
 * and block every signal so that the signal guard always runs on the
 * tracer.  No helper outlives the stop: the tracer waits for every helper
 * that took part before it detaches, so nothing is read from a running
 * target; if the tool dies instead, the helpers die with it and the kernel
 * detaches (or the guard already did). */

/* Copying threads, the calling thread included, at most one per core.
 * Measured on 2 cores with prefaulted buffers (1 GiB target):
 * process_vm_readv ~3.5 GB/s on one thread, ~5.5 GB/s on two; pread on
 * /proc/PID/mem 30-50% slower per thread (a bounce page and an mmap lock
 * per page).  More threads than cores only add contention. */
#define SNAP_COPIERS_MAX  4
/* Pages per claim (2 MiB of 4 KiB pages): small enough that a helper woken
 * late on a loaded machine leaves the rest to the others and nobody waits
 * long for the last claim; large enough that the per-claim system calls
 * (one page map read, one process_vm_readv) cost nothing. */
#define SNAP_SEG_PAGES    512
/* page map entries per read when preparing the buffers */
#define SNAP_PAGEMAP_ENTS 4096

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct copier {
        pid_t pid;
        int mem_fd;
        bool use_vm_readv;
        uint64_t bytes;
        uint64_t bad_pages;
};

/* Reads what it can from addr: bytes read (> 0), 0 if the first byte is
 * unreadable, < 0 if the process is gone. */
static ssize_t read_some(struct copier *cp, uint64_t addr, void *buf, size_t len)
{
        struct iovec l = { buf, len }, rv = { (void *)(uintptr_t)addr, len };
        ssize_t n;

        if (cp->use_vm_readv) {
                n = process_vm_readv(cp->pid, &l, 1, &rv, 1, 0);
                if (n >= 0)
                        return n;
                if (errno == ESRCH)
                        return -ESRCH;
                if (errno == EFAULT || errno == ENOMEM)
                        return 0;
                if (cp->mem_fd < 0)
                        return 0;
                cp->use_vm_readv = false;
        }
        n = pread(cp->mem_fd, buf, len, (off_t)addr);
        if (n < 0)
                return 0;
        if (n == 0)
                return -ESRCH;
        return n;
}

/* Slow path for a piece that failed part-way: read what can be read and
 * leave unreadable pages zero (the buffer comes zeroed from mmap). */
static int copy_slow(struct copier *cp, uint64_t addr, char *buf, size_t len)
{
        const uint64_t page = 4096;
        size_t cur = 0, skip;
        ssize_t n;

        while (cur < len) {
                n = read_some(cp, addr + cur, buf + cur, len - cur);
                if (n < 0)
                        return (int)n;
                if (n > 0) {
                        cur += (size_t)n;
                        cp->bytes += (uint64_t)n;
                        continue;
                }
                skip = (size_t)(page - ((addr + cur) & (page - 1)));
                if (skip > len - cur)
                        skip = len - cur;
                cur += skip;
                cp->bad_pages++;
        }
        return 0;
}

struct piece {
        uint64_t addr;
        char *buf;
        size_t len;
};

static int copy_pieces(struct copier *cp, const struct piece *p, size_t np)
{
        struct iovec l[SNAP_BATCH_IOV], rv[SNAP_BATCH_IOV];
        size_t next = 0, k, total, i, done;
        ssize_t n;
        int r;

        while (next < np) {
                for (k = 0, total = 0; next + k < np && k < SNAP_BATCH_IOV; k++) {
                        if (k > 0 && total + p[next + k].len > SNAP_BATCH_BYTES)
                                break;
                        l[k].iov_base = p[next + k].buf;
                        l[k].iov_len = p[next + k].len;
                        rv[k].iov_base = (void *)(uintptr_t)p[next + k].addr;
                        rv[k].iov_len = p[next + k].len;
                        total += p[next + k].len;
                }
                n = -1;
                if (cp->use_vm_readv) {
                        n = process_vm_readv(cp->pid, l, k, rv, k, 0);
                        if (n < 0 && errno == ESRCH)
                                return -ESRCH;
                        if (n < 0 && errno != EFAULT && errno != ENOMEM &&
                            cp->mem_fd >= 0)
                                cp->use_vm_readv = false;
                }
                if (n < 0)
                        n = 0;
                if ((size_t)n == total) {
                        cp->bytes += total;
                        next += k;
                        continue;
                }
                /* the transfer stopped inside piece i: everything before
                 * is good, finish piece i slowly, batch again after it */
                for (i = 0, done = (size_t)n; i < k && done >= p[next + i].len; i++)
                        done -= p[next + i].len;
                cp->bytes += (size_t)n;
                r = copy_slow(cp, p[next + i].addr + done, p[next + i].buf + done,
                              p[next + i].len - done);
                if (r < 0)
                        return r;
                next += i + 1;
        }
        return 0;
}

/* One claim: at most SNAP_SEG_PAGES pages of one mapping. */
struct seg {
        uint64_t addr;
        char *buf;
        size_t len;
        bool sparse;              /* anonymous: only pages that exist */
};

/* Anonymous memory never touched reads as zeros, and the buffer already is
 * zero: pages that are neither present nor swapped are skipped (mostly
 * idle thread stacks and malloc reserve), which also spares the target the
 * zero page faults a read would cause.  File-backed pages are always read:
 * an absent one holds file contents, not zeros. */
static int copy_seg(struct copier *cp, int pagemap_fd, uint64_t page,
                    const struct seg *g)
{
        uint64_t ent[SNAP_SEG_PAGES];
        struct piece p[SNAP_SEG_PAGES / 2 + 1];
        size_t npages = g->len / page, got = 0, np = 0, j, run = 0;
        bool in_run = false;
        ssize_t n;

        if (!g->sparse || pagemap_fd < 0 || npages > SNAP_SEG_PAGES) {
                p[0] = (struct piece){ g->addr, g->buf, g->len };
                return copy_pieces(cp, p, 1);
        }
        while (got < npages) {
                n = pread(pagemap_fd, ent + got, (npages - got) * sizeof(ent[0]),
                          (off_t)((g->addr / page + got) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0]))
                        break;
                got += (size_t)n / sizeof(ent[0]);
        }
        /* no page map for the rest: read it in full */
        for (j = got; j < npages; j++)
                ent[j] = 1ull << 63;
        for (j = 0; j <= npages; j++) {
                /* bit 63: present, bit 62: swapped */
                if (j < npages && ent[j] & (3ull << 62)) {
                        if (!in_run) {
                                run = j;
                                in_run = true;
                        }
                } else if (in_run) {
                        p[np++] = (struct piece){ g->addr + run * page,
                                                  g->buf + run * page,
                                                  (j - run) * page };
                        in_run = false;
                }
        }
        return copy_pieces(cp, p, np);
}

/* ---- progress ------------------------------------------------------------ */

/* Bytes faulted in between two progress reports: a big mapping is one
 * call, and the line should still move. */
#define SNAP_PREFAULT_STEP (64ull << 20)

struct copy_progress {
        snapshot_progress_fn fn;  /* NULL: nobody asked */
        void *ctx;
        enum snapshot_stage stage;
        uint64_t total;
        atomic_uint_fast64_t done;
};

static void progress_stage(struct copy_progress *p, enum snapshot_stage stage)
{
        if (!p->fn)
                return;
        p->stage = stage;
        atomic_store(&p->done, 0);
        p->fn(p->ctx, stage, 0, p->total);
}

/* From any copying thread: the callback only stores (snapshot.h). */
static void progress_add(struct copy_progress *p, uint64_t bytes)
{
        if (!p || !p->fn || !bytes)
                return;
        p->fn(p->ctx, p->stage, atomic_fetch_add(&p->done, bytes) + bytes, p->total);
}

/* ---- copying threads ---------------------------------------------------- */

struct pool;

struct helper {
        struct pool *pool;
        size_t idx;               /* copier slot, 1.. */
};

struct pool {
        pthread_mutex_t mu;
        pthread_cond_t go, done;
        pthread_t th[SNAP_COPIERS_MAX];
        struct helper h[SNAP_COPIERS_MAX];
        size_t nth;               /* helpers running */
        bool inited;
        unsigned gen;             /* bumped per job */
        bool closed;              /* the job takes no more helpers */
        bool quit;
        size_t busy;              /* helpers inside the job */
        size_t joined;            /* helpers that took part in it */
        /* the job */
        const struct seg *g;
        size_t ng;
        int pagemap_fd;
        uint64_t page;
        atomic_size_t next;       /* next segment to claim */
        atomic_int err;           /* first error, 0 = none */
        struct copy_progress *prog;
        struct copier cp[SNAP_COPIERS_MAX];   /* [0]: the calling thread */
};

static void copy_claims(struct pool *pl, struct copier *cp)
{
        size_t k;
        int r, none;

        while (atomic_load(&pl->err) == 0) {
                k = atomic_fetch_add(&pl->next, 1);
                if (k >= pl->ng)
                        break;
                uint64_t before = cp->bytes;

                r = copy_seg(cp, pl->pagemap_fd, pl->page, &pl->g[k]);
                progress_add(pl->prog, cp->bytes - before);
                if (r < 0) {
                        none = 0;
                        atomic_compare_exchange_strong(&pl->err, &none, r);
                }
        }
}

static void *helper_main(void *arg)
{
        struct helper *h = arg;
        struct pool *pl = h->pool;
        unsigned seen = 0;

        pthread_mutex_lock(&pl->mu);
        for (;;) {
                while (!pl->quit && pl->gen == seen)
                        pthread_cond_wait(&pl->go, &pl->mu);
                if (pl->quit)
                        break;
                seen = pl->gen;
                /* woken after the tracer finished: nothing left to do, and
                 * the job's memory may be gone */
                if (pl->closed)
                        continue;
                pl->busy++;
                pl->joined++;
                pthread_mutex_unlock(&pl->mu);
                copy_claims(pl, &pl->cp[h->idx]);
                pthread_mutex_lock(&pl->mu);
                if (--pl->busy == 0)
                        pthread_cond_signal(&pl->done);
        }
        pthread_mutex_unlock(&pl->mu);
        return NULL;
}

/* Starts up to n - 1 helpers (fewer if threads cannot be created: the
 * copy then runs on fewer threads, which is not an error). */
static void pool_start(struct pool *pl, size_t n)
{
        sigset_t all, old;
        size_t i;

        memset(pl, 0, sizeof(*pl));
        if (pthread_mutex_init(&pl->mu, NULL))
                return;
        if (pthread_cond_init(&pl->go, NULL)) {
                pthread_mutex_destroy(&pl->mu);
                return;
        }
        if (pthread_cond_init(&pl->done, NULL)) {
                pthread_cond_destroy(&pl->go);
                pthread_mutex_destroy(&pl->mu);
                return;
        }
        pl->inited = true;
        if (n > SNAP_COPIERS_MAX)
                n = SNAP_COPIERS_MAX;
        /* helpers inherit a full mask: asynchronous signals go to the
         * tracer, whose guard handler can detach */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (i = 1; i < n; i++) {
                pl->h[pl->nth].pool = pl;
                pl->h[pl->nth].idx = i;
                if (pthread_create(&pl->th[pl->nth], NULL, helper_main, &pl->h[pl->nth]))
                        break;
                pl->nth++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Copies the segments on the calling thread and every helper that wakes
 * in time; returns once no helper touches the job any more. */
static int pool_run(struct pool *pl, const struct copier *tmpl, int pagemap_fd,
                    uint64_t page, const struct seg *g, size_t ng,
                    size_t *ret_threads)
{
        size_t i, joined = 1;

        for (i = 0; i < SNAP_COPIERS_MAX; i++)
                pl->cp[i] = *tmpl;
        pl->g = g;
        pl->ng = ng;
        pl->pagemap_fd = pagemap_fd;
        pl->page = page;
        atomic_store(&pl->next, 0);
        atomic_store(&pl->err, 0);
        if (pl->inited && pl->nth) {
                pthread_mutex_lock(&pl->mu);
                pl->closed = false;
                pl->joined = 0;
                pl->gen++;
                pthread_cond_broadcast(&pl->go);
                pthread_mutex_unlock(&pl->mu);
        }
        copy_claims(pl, &pl->cp[0]);
        if (pl->inited && pl->nth) {
                pthread_mutex_lock(&pl->mu);
                pl->closed = true;
                while (pl->busy)
                        pthread_cond_wait(&pl->done, &pl->mu);
                joined += pl->joined;
                pthread_mutex_unlock(&pl->mu);
        }
        *ret_threads = joined;
        return atomic_load(&pl->err);
}

static void pool_stop(struct pool *pl)
{
        size_t i;

        if (!pl->inited)
                return;
        pthread_mutex_lock(&pl->mu);
        pl->quit = true;
        pthread_cond_broadcast(&pl->go);
        pthread_mutex_unlock(&pl->mu);
        for (i = 0; i < pl->nth; i++)
                pthread_join(pl->th[i], NULL);
        pthread_cond_destroy(&pl->done);
        pthread_cond_destroy(&pl->go);
        pthread_mutex_destroy(&pl->mu);
        pl->inited = false;
}

static size_t copiers_wanted(unsigned debug)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (debug & SNAPSHOT_DEBUG_ONE_COPIER || n < 1)
                return 1;
        return n > SNAP_COPIERS_MAX ? SNAP_COPIERS_MAX : (size_t)n;
}

/* ---- buffers prepared before the stop ----------------------------------- */

struct prep {
        uint64_t start, end;
        char *buf;                /* NULL once adopted */
};

struct prepared {
        struct prep *v;
        size_t n;
        uint64_t page;
};

static bool populate_missing;   /* MADV_POPULATE_WRITE unknown (< 5.14) */

/* ---- buffers, before the stop -------------------------------------------- */

/* Faults in len bytes at p now so that the copy does not fault in the
 * pause. */
static int prefault(char *p, uint64_t len, uint64_t page, struct copy_progress *prog)
{
        volatile char *v = p;
        uint64_t off, step, i;

        for (off = 0; off < len; off += step) {
                step = len - off < SNAP_PREFAULT_STEP ? len - off : SNAP_PREFAULT_STEP;
                if (populate_missing || madvise(p + off, (size_t)step, MADV_POPULATE_WRITE) < 0) {
                        if (!populate_missing && errno == ENOMEM)
                                return -ENOMEM;
                        if (!populate_missing && errno == EINVAL)
                                populate_missing = true;
                        /* one write per page faults it in, as the copy would */
                        for (i = off; i < off + step; i += page)
                                v[i] = 0;
                }
                progress_add(prog, step);
        }
        return 0;
}

/* Faults in the pages of buf that copy_seg() will write for mapping r as
 * the page map shows it now: only the existing pages of an anonymous
 * mapping (the resident and swapped ones, which the budget counted). */
static int prefault_region(int pagemap_fd, uint64_t page, const struct mem_region *r,
                           char *buf, struct copy_progress *prog)
{
        uint64_t ent[SNAP_PAGEMAP_ENTS], npages, base, run = 0, idx;
        bool in_run = false;
        size_t want, got, j;
        ssize_t n;
        int ret;

        if (!procmaps_region_anon(r) || pagemap_fd < 0)
                return prefault(buf, r->end - r->start, page, prog);
        npages = (r->end - r->start) / page;
        for (base = 0; base < npages; base += got) {
                want = npages - base < SNAP_PAGEMAP_ENTS ? (size_t)(npages - base)
                                                         : SNAP_PAGEMAP_ENTS;
                n = pread(pagemap_fd, ent, want * sizeof(ent[0]),
                          (off_t)((r->start / page + base) * sizeof(ent[0])));
                if (n < (ssize_t)sizeof(ent[0])) {
                        /* no page map: the copy reads the rest in full */
                        if (in_run)
                                base = run;
                        return prefault(buf + base * page, (npages - base) * page, page, prog);
                }
                got = (size_t)n / sizeof(ent[0]);
                for (j = 0; j < got; j++) {
                        idx = base + j;
                        if (ent[j] & (3ull << 62)) {
                                if (!in_run) {
                                        run = idx;
                                        in_run = true;
                                }
                        } else if (in_run) {
                                ret = prefault(buf + run * page, (idx - run) * page, page, prog);
                                if (ret < 0)
                                        return ret;
                                in_run = false;
                        }
                }
        }
        if (in_run)
                return prefault(buf + run * page, (npages - run) * page, page, prog);
        return 0;
}

static void prepared_release(struct prepared *pp)
{
        size_t i;

        for (i = 0; i < pp->n; i++)
                if (pp->v[i].buf)
                        munmap(pp->v[i].buf, (size_t)(pp->v[i].end - pp->v[i].start));
        free(pp->v);
        pp->v = NULL;
        pp->n = 0;
}

/* Before the stop: a buffer per copyable mapping of the map read before
 * it, its pages that the copy will write already faulted in. */
static int prepare_buffers(pid_t pid, const struct mem_region *pre, size_t npre,
                           int pagemap_fd, uint64_t page, struct prepared *pp,
                           struct copy_progress *prog, struct diag *d)
{
        struct prep *p;
        uint64_t len;
        size_t i;
        int r;

        pp->page = page;
        pp->n = 0;
        pp->v = calloc(npre ? npre : 1, sizeof(*pp->v));
        if (!pp->v)
                return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory",
                                (int)pid);
        for (i = 0; i < npre; i++) {
                if (!procmaps_region_copyable(&pre[i]))
                        continue;
                len = pre[i].end - pre[i].start;
                /* odd mappings are refused by copy_regions, if still there */
                if (len > SIZE_MAX || (pre[i].start | pre[i].end) & (page - 1))
                        continue;
                p = &pp->v[pp->n];
                p->start = pre[i].start;
                p->end = pre[i].end;
                p->buf = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (p->buf == MAP_FAILED) {
                        p->buf = NULL;
                        r = -ENOMEM;
                } else {
                        pp->n++;
                        snap_advise_huge(pagemap_fd, &pre[i], p->buf);
                        r = prefault_region(pagemap_fd, page, &pre[i], p->buf, prog);
                }
                if (r < 0) {
                        prepared_release(pp);
                        return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory preparing %llu MiB for the copy",
                                        (int)pid, (unsigned long long)(len >> 20));
                }
        }
        return 0;
}

/* The prepared buffer for exactly [start, end), handed over to the caller;
 * NULL if the mapping changed since.  *cursor walks pp in address order. */
static char *prepared_take(struct prepared *pp, size_t *cursor, uint64_t start,
                           uint64_t end)
{
        char *b;

        while (*cursor < pp->n && pp->v[*cursor].start < start)
                (*cursor)++;
        if (*cursor >= pp->n || pp->v[*cursor].start != start ||
            pp->v[*cursor].end != end)
                return NULL;
        b = pp->v[*cursor].buf;
        pp->v[*cursor].buf = NULL;
        return b;
}

/* A mapping that changed since the buffers were prepared (a Python arena
 * mapped next to others grows their merged mapping) still overlaps prepared
 * buffers: move their faulted-in pages into its new buffer instead of
 * faulting again during the pause.  MREMAP_DONTUNMAP (Linux 5.7) leaves the
 * source range mapped, so nothing else can land in it before
 * prepared_release() unmaps it; without it the pages are simply not
 * reused. */
static void prepared_move(struct prepared *pp, uint64_t start, uint64_t end,
                          char *buf)
{
#ifdef MREMAP_DONTUNMAP
        uint64_t lo, hi;
        size_t i;

        for (i = 0; i < pp->n; i++) {
                if (!pp->v[i].buf || pp->v[i].end <= start || pp->v[i].start >= end)
                        continue;
                lo = pp->v[i].start > start ? pp->v[i].start : start;
                hi = pp->v[i].end < end ? pp->v[i].end : end;
                if (mremap(pp->v[i].buf + (lo - pp->v[i].start), (size_t)(hi - lo),
                           (size_t)(hi - lo),
                           MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                           buf + (lo - start)) == MAP_FAILED)
                        return;
        }
#else
        (void)pp;
        (void)start;
        (void)end;
        (void)buf;
#endif
}

/* ---- the copy, while stopped -------------------------------------------- */

struct copy_result {
        uint64_t bytes;
        uint64_t bad_pages;
        size_t threads;
};

static int segs_add(struct seg **v, size_t *n, size_t *cap, uint64_t page,
                    const struct mem_region *r, char *buf)
{
        uint64_t off, len = r->end - r->start, chunk, max = SNAP_SEG_PAGES * page;

        for (off = 0; off < len; off += chunk) {
                chunk = len - off < max ? len - off : max;
                if (GROW(*v, *cap, *n + 1, 256) < 0)
                        return -ENOMEM;
                (*v)[*n] = (struct seg){ r->start + off, buf + off, (size_t)chunk,
                                         procmaps_region_anon(r) };
                (*n)++;
        }
        return 0;
}

static int copy_regions(struct snap *s, const struct copier *tmpl, struct pool *pl,
                        int pagemap_fd, struct prepared *pp,
                        struct copy_result *res, struct diag *d)
{
        struct mem_region *v = s->base.regions;
        struct seg *g = NULL;
        uint64_t page = pp->page, len;
        size_t i, cursor = 0, ng = 0, cap = 0;
        int r;

        s->bufs = calloc(s->base.nregions ? s->base.nregions : 1, sizeof(*s->bufs));
        if (!s->bufs)
                return diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory",
                                (int)s->base.pid);
        for (i = 0; i < s->base.nregions; i++) {
                if (!procmaps_region_copyable(&v[i]))
                        continue;
                len = v[i].end - v[i].start;
                if (len > SIZE_MAX || (v[i].start | v[i].end) & (page - 1)) {
                        r = diag_set(d, -EBADMSG, "cannot snapshot process %d: odd mapping %llx-%llx",
                                     (int)s->base.pid, (unsigned long long)v[i].start,
                                     (unsigned long long)v[i].end);
                        goto out;
                }
                s->bufs[i] = prepared_take(pp, &cursor, v[i].start, v[i].end);
                if (!s->bufs[i]) {
                        /* new or changed since the buffers were prepared:
                         * its pages fault during the copy */
                        s->bufs[i] = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                          -1, 0);
                        if (s->bufs[i] == MAP_FAILED) {
                                s->bufs[i] = NULL;
                                r = diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory copying %llu MiB",
                                             (int)s->base.pid, (unsigned long long)(len >> 20));
                                goto out;
                        }
                        prepared_move(pp, v[i].start, v[i].end, s->bufs[i]);
                }
                v[i].copied = true;
                r = segs_add(&g, &ng, &cap, page, &v[i], s->bufs[i]);
                if (r < 0) {
                        diag_set(d, r, "cannot snapshot process %d: out of memory",
                                 (int)s->base.pid);
                        goto out;
                }
        }
        r = pool_run(pl, tmpl, pagemap_fd, page, g, ng, &res->threads);
        for (i = 0; i < SNAP_COPIERS_MAX; i++) {
                res->bytes += pl->cp[i].bytes;
                res->bad_pages += pl->cp[i].bad_pages;
        }
        if (r == -ESRCH)
                diag_set(d, -ESRCH, "process %d exited during the snapshot", (int)s->base.pid);
        else if (r < 0)
                diag_set(d, r, "cannot copy the memory of process %d: %s",
                         (int)s->base.pid, strerror(-r));
out:
        free(g);
        return r;
}

/* After the target runs again: keep an fd on each read-only mapped file so
 * the copy stays readable after the process exits. */
static void open_files(struct snap *s)
{
        const struct mem_region *r;
        struct snap_file *f;
        size_t i, j;
        char *host = NULL;
        int fd;

        s->file_of = malloc((s->base.nregions ? s->base.nregions : 1) * sizeof(*s->file_of));
        if (!s->file_of)
                return;
        for (i = 0; i < s->base.nregions; i++)
                s->file_of[i] = -1;
        s->files = calloc(SNAP_MAX_FILES, sizeof(*s->files));
        if (!s->files)
                return;
        for (i = 0; i < s->base.nregions; i++) {
                r = &s->base.regions[i];
                if (r->copied || !r->r || !r->path || r->path[0] != '/' ||
                    !r->inode || strncmp(r->path, "/dev/", 5) == 0)
                        continue;
                for (j = 0; j < s->nfiles; j++)
                        if (s->files[j].inode == r->inode &&
                            strcmp(s->files[j].path, r->path) == 0)
                                break;
                if (j < s->nfiles) {
                        s->file_of[i] = (int)j;
                        continue;
                }
                if (s->nfiles >= SNAP_MAX_FILES)
                        continue;
                fd = proc_open_mapped_file(s->base.pid, r, &host);
                if (fd < 0)
                        continue;
                f = &s->files[s->nfiles];
                f->path = strdup(r->path);
                if (!f->path) {
                        close(fd);
                        free(host);
                        host = NULL;
                        continue;
                }
                f->fd = fd;
                f->inode = r->inode;
                f->host_path = host;
                host = NULL;
                s->file_of[i] = (int)s->nfiles++;
        }
}

/* The authoritative map of a stopped target (into s's regions), read
 * through a thread held stopped that still has the mm (the leader if it is
 * among them; it becomes cp's reader too), and the budget checked again
 * against it: the map may have grown since pre was read. */
static int map_while_stopped(struct snap *s, const struct ctx *c, struct copier *cp,
                             uint64_t max_bytes, const struct mem_region *pre,
                             const uint64_t *resident, size_t npre, struct diag *d)
{
        pid_t pid = c->pid;
        int r;

        cp->pid = 0;
        for (size_t i = 0; i < c->n; i++)
                if (c->t[i].state == T_STOPPED && (!cp->pid || c->t[i].tid == pid))
                        cp->pid = c->t[i].tid;
        r = procmaps_read_task(pid, cp->pid, &s->base.regions, &s->base.nregions);
        /* an empty map: the address space is being torn down */
        if (r == 0 && s->base.nregions == 0)
                r = -ESRCH;
        if (r < 0) {
                if (r == -ESRCH)
                        diag_set(d, r, "process %d exited during the snapshot", (int)pid);
                else
                        proc_explain_maps_error(d, pid, "maps", r);
                return r;
        }
        /* new mappings count at their virtual size */
        return snap_check_budget(pid, snap_copy_size_again(s->base.regions, s->base.nregions,
                                                           pre, resident, npre),
                                 max_bytes, d);
}

/* Copy mode.  pre/resident: the map read before the stop (smaps). */
int snap_copy_take(pid_t pid, const struct snapshot_opts *opts, uint64_t max_bytes,
                   const struct mem_region *pre, const uint64_t *resident,
                   size_t npre, struct memsrc **ret,
                   struct snapshot_stats *stats, struct diag *d)
{
        struct ctx c = { .pid = pid };
        struct copier cp = { .pid = pid, .mem_fd = -1, .use_vm_readv = true };
        struct prepared pp = {0};
        struct copy_result res = {0};
        struct copy_progress prog = {.fn = opts ? opts->progress : NULL,
                                     .ctx = opts ? opts->progress_ctx : NULL,
                                     .total = snap_copy_size(pre, resident, npre)};
        struct pool pool;
        struct snap *s = NULL;
        int timeout_ms = opts && opts->stop_timeout_ms > 0 ? opts->stop_timeout_ms
                                                           : SNAP_DEFAULT_TIMEOUT_MS;
        unsigned debug = opts ? opts->debug : 0;
        long psz = sysconf(_SC_PAGESIZE);
        uint64_t page = psz > 0 ? (uint64_t)psz : 4096;
        uint64_t t_prep0 = 0, t_prep1 = 0, t_stopped = 0, t_copy0 = 0, t_copy1 = 0;
        size_t i;
        char path[96];
        pid_t rtid;
        int r, pagemap_fd = -1;

        memset(&pool, 0, sizeof(pool));
        r = snap_check_budget(pid, prog.total, max_bytes, d);
        if (r < 0)
                return r;
        rtid = proc_reader_tid(pid);
        s = calloc(1, sizeof(*s));
        c.t = calloc(SNAP_MAX_THREADS, sizeof(*c.t));
        if (!s || !c.t) {
                r = diag_set(d, -ENOMEM, "cannot snapshot process %d: out of memory", (int)pid);
                goto out;
        }
        s->base.ops = &snap_ops;
        s->base.pid = pid;
        s->mem_fd = -1;
        /* opened before the stop: the fallback reader during the copy, then
         * the pid-reuse-proof reader of the read-only mappings.  Both pin
         * the mm, not the thread they were opened through. */
        proc_task_path(path, sizeof(path), pid, rtid, "mem");
        s->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        cp.mem_fd = s->mem_fd;
        if (debug & SNAPSHOT_DEBUG_COPY_PREAD && cp.mem_fd >= 0)
                cp.use_vm_readv = false;
        proc_task_path(path, sizeof(path), pid, rtid, "pagemap");
        pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);

        /* everything that allocates or faults happens here, while the
         * target runs */
        t_prep0 = mono_ns();
        progress_stage(&prog, SNAPSHOT_STAGE_PREPARE);
        r = prepare_buffers(pid, pre, npre, pagemap_fd, page, &pp, &prog, d);
        if (r < 0)
                goto out;
        pool_start(&pool, copiers_wanted(debug));
        pool.prog = &prog;
        t_prep1 = mono_ns();

        r = snap_stop_all(&c, timeout_ms, d);
        if (r < 0)
                goto out;
        t_stopped = mono_ns();

        r = map_while_stopped(s, &c, &cp, max_bytes, pre, resident, npre, d);
        if (r < 0)
                goto out;
        progress_stage(&prog, SNAPSHOT_STAGE_COPY);
        t_copy0 = mono_ns();
        r = copy_regions(s, &cp, &pool, pagemap_fd, &pp, &res, d);
        t_copy1 = mono_ns();
        if (r < 0)
                goto out;
        r = 0;
out:
        /* every helper has left the copy (pool_run waits for them), so the
         * target may run again; the tracer detaches, as it seized */
        snap_detach_all(&c);
        pool_stop(&pool);
        prepared_release(&pp);
        if (pagemap_fd >= 0)
                close(pagemap_fd);
        if (r == 0) {
                open_files(s);
                if (stats) {
                        stats->mode_used = SNAPSHOT_COPY;
                        stats->pause_ms = snap_ms_between(c.t_first, c.t_last_detach);
                        stats->stop_ms = snap_ms_between(c.t_first, t_stopped);
                        stats->copy_ms = snap_ms_between(t_copy0, t_copy1);
                        stats->prep_ms = snap_ms_between(t_prep0, t_prep1);
                        stats->threads = (int)c.nstopped;
                        stats->bytes_copied = res.bytes;
                        for (i = 0; i < s->base.nregions; i++)
                                stats->regions_copied += s->base.regions[i].copied;
                        stats->pages_unreadable = res.bad_pages;
                        stats->copy_threads = (int)res.threads;
                        stats->copy_gbps = stats->copy_ms > 0
                                ? (double)res.bytes / (stats->copy_ms * 1e6) : 0;
                }
                *ret = &s->base;
                s = NULL;
        }
        if (s)
                memsrc_free(&s->base);
        free(c.t);
        return r;
}
