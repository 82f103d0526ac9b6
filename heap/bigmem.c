/* bigmem: the big arrays of the graph and of the analyses, within a memory
 * budget.
 *
 * Below the budget a block from 1 MiB is a mapping of its own (see the
 * reservations below), a smaller one is malloc()ed with a transparent-huge-
 * page hint.
 * A block that would take the blocks' total past the budget is mapped from
 * an unlinked file (O_TMPFILE) in the spill directory instead: its pages are
 * page cache, which the kernel writes out and drops when memory runs short,
 * where anonymous memory would have the OOM killer choose between the tool
 * and, worse, its target.  Nothing else changes for the caller: the same
 * pointer, the same bytes, zeroed as calloc would.
 *
 * A block that grows (heap_big_realloc() from 1 MiB) grows in place: it is
 * moved once into a reservation of address space with nothing behind it
 * (PROT_NONE, so neither memory nor, under strict overcommit, commit
 * charge), whose pages are made writable as the array reaches them.  A
 * growing array then costs no copy, no second copy's memory at its peak
 * (old and new side by side), and its pages take huge-page faults: the
 * reservation is 2 MiB aligned and advised before its first touch, where
 * glibc's realloc() moves the array (mremap) to addresses that split them.
 * On this project's VM that made filling 512 MiB by growth 0.8 s instead
 * of 1.45 s (and 4.6 s with the hint given after each realloc()).
 *
 * Every block is registered, so that heap_big_free() and heap_big_realloc()
 * know which kind they hold and the total is exact; they take any other
 * malloc()ed pointer too, and treat it as free() and realloc() would.
 * Allocations are few (the arrays grow geometrically), so one lock and a
 * linear registry cost nothing measurable.
 */
#include "heap-build.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Blocks smaller than this stay in memory whatever the budget: a file and
 * a mapping per small array would cost more than they save. */
#define SPILL_MIN ((size_t)64 << 10)
/* Live big blocks at once: the model's few arrays and an analysis's
 * scratch; past this a block is malloc()ed without being counted. */
#define BLOCKS_MAX 1024
/* Growing blocks from this size move to a reservation (above). */
#define RESERVE_MIN ((size_t)1 << 20)
/* The address space one reservation takes: a model array of 2^31 objects
 * fits; a bigger one moves to a reservation twice its size. */
#define RESERVE_SPAN ((size_t)64 << 30)

struct block {
        void *p;
        size_t size;     /* spilled: the mapping's size; reserved: the
                            writable bytes; else the usable size */
        size_t reserved; /* a reservation's address space; 0: none */
        int fd;          /* spilled: the file; -1 in memory */
};

static struct {
        pthread_mutex_t lock;
        uint64_t budget;            /* 0: no budget, nothing spills */
        char dir[PATH_MAX];
        uint64_t in_memory, spilled, spilled_peak, peak;
        uint32_t nblocks;
        struct block blocks[BLOCKS_MAX];
        char why[PATH_MAX + 256];   /* the first spill that failed */
} bm = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A fresh big block fills with one page fault per 4 KiB, ~2.4 us each on a
 * VM, and the analysis takes its arrays fresh at every phase.  Transparent
 * huge pages (THP "madvise" mode is the common default) make that one
 * fault per 2 MiB, about three times cheaper per byte: at a million objects
 * the dominator tree took 8,000 faults instead of 28,000.  The advice
 * covers only the 2 MiB pages wholly inside the block, so it never commits
 * memory outside it; it has to come before the first touch, and it is only
 * a hint. */
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void advise_huge(void *p, size_t size)
{
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t b = ((uintptr_t)p + size) & ~(HUGE_PAGE - 1);

        if (p && b > a)
                (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
}

void heap_big_budget(uint64_t bytes, const char *dir)
{
        pthread_mutex_lock(&bm.lock);
        bm.budget = bytes;
        snprintf(bm.dir, sizeof(bm.dir), "%s", dir && *dir ? dir : "/var/tmp");
        bm.why[0] = '\0';
        pthread_mutex_unlock(&bm.lock);
}

void heap_big_stats(struct heap_big_stats *ret)
{
        pthread_mutex_lock(&bm.lock);
        *ret = (struct heap_big_stats){
                .budget = bm.budget,
                .in_memory = bm.in_memory,
                .spilled = bm.spilled,
                .spilled_peak = bm.spilled_peak,
                .peak = bm.peak,
        };
        snprintf(ret->dir, sizeof(ret->dir), "%s", bm.dir);
        snprintf(ret->why, sizeof(ret->why), "%s", bm.why);
        pthread_mutex_unlock(&bm.lock);
}

static struct block *find(const void *p)
{
        for (uint32_t i = 0; i < bm.nblocks; i++)
                if (bm.blocks[i].p == p)
                        return &bm.blocks[i];
        return NULL;
}

static void account(void)
{
        uint64_t total = bm.in_memory + bm.spilled;

        if (bm.spilled > bm.spilled_peak)
                bm.spilled_peak = bm.spilled;
        if (total > bm.peak)
                bm.peak = total;
}

static void drop(struct block *b)
{
        if (b->fd >= 0)
                bm.spilled -= b->size;
        else
                bm.in_memory -= b->size;
        *b = bm.blocks[--bm.nblocks];
}

/* A reservation's writable part ends at a 2 MiB boundary while it grows:
 * a part ending inside a huge page would have that page's head filled
 * with 4 KiB pages, and then the rest of it too once the part grows. */
static size_t huge_up(size_t n)
{
        return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

static size_t page_up(size_t n)
{
        static size_t pg;

        if (!pg) {
                long v = sysconf(_SC_PAGESIZE);

                pg = v > 0 ? (size_t)v : 4096;
        }
        return (n + pg - 1) & ~(pg - 1);
}

/* A reservation of at least span bytes for a block of size bytes (the
 * first size writable), 2 MiB aligned; NULL when the address space
 * (RLIMIT_AS) or the commit limit refuses, and the caller takes malloc(). */
static void *reserve_new(size_t size, size_t span, size_t *ret_span)
{
        size_t want;
        uintptr_t raw, p;

        span = (span + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (span < size || span > SIZE_MAX / 2)
                return NULL;
        want = span + HUGE_PAGE;
        raw = (uintptr_t)mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                              -1, 0);
        if ((void *)raw == MAP_FAILED)
                return NULL;
        p = (raw + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (p > raw)
                munmap((void *)raw, p - raw);
        if (raw + want > p + span)
                munmap((void *)(p + span), raw + want - (p + span));
        (void)madvise((void *)p, span, MADV_HUGEPAGE);
        if (mprotect((void *)p, huge_up(size), PROT_READ | PROT_WRITE) < 0) {
                munmap((void *)p, span);
                return NULL;
        }
        *ret_span = span;
        return (void *)p;
}

/* The address space for a block that grows: room to double. */
static size_t grow_span(size_t size)
{
        size_t span = RESERVE_SPAN;

        while (span < size * 2 && span <= SIZE_MAX / 4)
                span *= 2;
        return span;
}

static void pf_cancel(uintptr_t lo, uintptr_t hi);

/* A reservation's writable part set to size bytes: grown, or shrunk (the
 * pages past it given back). */
static int reserve_resize(struct block *b, size_t size)
{
        size_t need = page_up(size);
        uint8_t *p = b->p;

        /* growing: to a huge page's end (a reservation is a whole number
         * of them); a trim, the final size, gives back the pages past it */
        if (need > b->size)
                need = huge_up(size);
        if (need > b->size && mprotect(p + b->size, need - b->size, PROT_READ | PROT_WRITE) < 0)
                return -1;
        if (need < b->size) {
                pf_cancel((uintptr_t)(p + need), (uintptr_t)(p + b->size));
                (void)madvise(p + need, b->size - need, MADV_DONTNEED);
                (void)mprotect(p + need, b->size - need, PROT_NONE);
        }
        bm.in_memory = bm.in_memory - b->size + need;
        b->size = need;
        account();
        return 0;
}

/* Whether a block of size bytes, replacing one of `old` in memory, goes to
 * a file. */
static bool must_spill(size_t size, size_t old)
{
        return bm.budget && size >= SPILL_MIN && bm.nblocks < BLOCKS_MAX &&
               bm.in_memory - old + size > bm.budget;
}

static void spill_failed(const char *what, int err)
{
        if (!bm.why[0])
                snprintf(bm.why, sizeof(bm.why), "%s in %s: %s", what, bm.dir, strerror(err));
}

/* An unlinked file in the spill directory: O_TMPFILE, which never has a
 * name; where the filesystem lacks it (overlayfs before Linux 6.6, the
 * root of many containers), a named file unlinked at once. */
static int spill_file(void)
{
        char path[PATH_MAX];
        int fd = open(bm.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
                return fd;
        if ((size_t)snprintf(path, sizeof(path), "%s/.pyleak-spill-XXXXXX", bm.dir) >=
            sizeof(path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
                (void)unlink(path);
        return fd;
}

/* Disk blocks for [from, to) of a spill file, taken now: a mapping of a
 * sparse file on a full disk would take SIGBUS at the first store to a
 * page with no block.  Then the file's size.  A filesystem that cannot
 * reserve (no fallocate) gets the size alone. */
static int spill_reserve(int fd, size_t from, size_t to)
{
        if (fallocate(fd, 0, (off_t)from, (off_t)(to - from)) == 0)
                return 0;
        if (errno != EOPNOTSUPP)
                return -1;
        return ftruncate(fd, (off_t)to);
}

/* A zeroed file-backed block, registered; NULL (with why set) if the
 * directory cannot hold one: the caller then takes memory. */
static void *spill_new(size_t size)
{
        void *p;
        int fd = spill_file();

        if (fd < 0) {
                spill_failed("cannot create a spill file", errno);
                return NULL;
        }
        if (spill_reserve(fd, 0, size) < 0) {
                spill_failed("cannot size a spill file", errno);
                close(fd);
                return NULL;
        }
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
                spill_failed("cannot map a spill file", errno);
                close(fd);
                return NULL;
        }
        bm.blocks[bm.nblocks++] = (struct block){ .p = p, .size = size, .fd = fd };
        bm.spilled += size;
        account();
        return p;
}

static void keep(void *p)
{
        if (p && bm.nblocks < BLOCKS_MAX) {
                size_t sz = malloc_usable_size(p);

                bm.blocks[bm.nblocks++] = (struct block){ .p = p, .size = sz, .fd = -1 };
                bm.in_memory += sz;
                account();
        }
}

static void *big_alloc(size_t size, bool zero)
{
        void *p = NULL;
        size_t span;
        bool fresh = false;

        pthread_mutex_lock(&bm.lock);
        if (must_spill(size, 0))
                p = spill_new(size);
        /* from 1 MiB a mapping of its own, zeroed by the kernel and in huge
         * pages from the first touch: glibc serves blocks below its moving
         * mmap threshold (up to 32 MiB) from its heap, where calloc()
         * clears them with 4 KiB faults before any hint could apply */
        if (!p && size >= RESERVE_MIN && bm.nblocks < BLOCKS_MAX &&
            (p = reserve_new(size, size, &span))) {
                bm.blocks[bm.nblocks++] = (struct block){ .p = p, .size = huge_up(size),
                                                          .reserved = span, .fd = -1 };
                bm.in_memory += huge_up(size);
                account();
                fresh = true;
        }
        if (!p) {
                p = zero ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
                keep(p);
                advise_huge(p, size);
        }
        pthread_mutex_unlock(&bm.lock);
        /* A malloc()ed block is there to be filled: the analyses' scratch
         * and results, a view's orders.  A zeroed one may be a sparse
         * map (a view's cycle_of): its caller says when it is not. */
        if (fresh && !zero)
                heap_big_prefault(p, 0, size);
        return p;
}

void *heap_big_malloc(size_t size)
{
        return big_alloc(size, false);
}

void *heap_big_calloc(size_t n, size_t size)
{
        if (size && n > SIZE_MAX / size)
                return NULL;
        return big_alloc(n * size, true);
}

/* A spilled block resized: the file first, then its mapping (moved if it
 * must be); the bytes past the old end read as zero. */
static void *spill_resize(struct block *b, size_t size)
{
        void *np;

        if (size > b->size && spill_reserve(b->fd, b->size, size) < 0) {
                spill_failed("cannot grow a spill file", errno);
                return NULL;
        }
        np = mremap(b->p, b->size, size, MREMAP_MAYMOVE);
        if (np == MAP_FAILED) {
                if (size > b->size)
                        (void)ftruncate(b->fd, (off_t)b->size);
                return NULL;
        }
        if (size < b->size)
                (void)ftruncate(b->fd, (off_t)size);
        bm.spilled = bm.spilled - b->size + size;
        b->p = np;
        b->size = size;
        account();
        return np;
}

/* ---- prefaulting --------------------------------------------------------
 *
 * On a VM a fresh page costs far more than the bytes put in it: on this
 * project's (PVM), first touches of anonymous memory ran at 0.45 GB/s in
 * huge pages (0.3 in 4 KiB ones) against 14 GB/s for pages already
 * faulted in, and a perf profile of a 10M-object walk put a third of it
 * in page faults.  The walk is one thread.  heap_big_prefault() hands
 * the fault-in of a range its caller will fill next to a helper thread
 * on the other core (MADV_POPULATE_WRITE: the pages, zeroed, and no byte
 * written), which costs the filler nothing: 1 GB populated beside a busy
 * thread left that thread's time as it was.
 *
 * It is a hint.  A full queue drops it, a kernel without
 * MADV_POPULATE_WRITE (before 5.14) turns it off, and the filler faults
 * whatever the helper has not reached.  Only the in-memory reservations
 * take it, within their writable part; a range that is given back (a
 * block freed, moved or trimmed) is first taken out of the queue and
 * waited for if the helper is in it, so that no page comes back behind
 * a trim. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PF_QUEUE 64

static struct {
        pthread_mutex_t lock;
        pthread_cond_t wake, done;
        bool started, off;
        uintptr_t cur_lo, cur_hi;       /* the range being populated */
        uint32_t head, tail;            /* queue: [tail, head) */
        struct { uintptr_t lo, hi; } q[PF_QUEUE];
} pf = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
         .done = PTHREAD_COND_INITIALIZER };

static void *pf_run(void *arg)
{
        (void)arg;
        pthread_mutex_lock(&pf.lock);
        for (;;) {
                uintptr_t lo, hi;
                int r;

                while (pf.head == pf.tail)
                        pthread_cond_wait(&pf.wake, &pf.lock);
                lo = pf.q[pf.tail % PF_QUEUE].lo;
                hi = pf.q[pf.tail % PF_QUEUE].hi;
                pf.tail++;
                if (lo >= hi) {
                        /* cancelled */
                        pthread_cond_broadcast(&pf.done);
                        continue;
                }
                pf.cur_lo = lo;
                pf.cur_hi = hi;
                pthread_mutex_unlock(&pf.lock);
                r = madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
                pthread_mutex_lock(&pf.lock);
                if (r < 0 && errno == EINVAL)
                        pf.off = true;
                pf.cur_lo = pf.cur_hi = 0;
                pthread_cond_broadcast(&pf.done);
        }
        return NULL;
}

/* A child of fork() (fork mode's helper process) has no helper thread:
 * it starts with an empty queue and none running, and its own if it asks. */
static void pf_forget(void)
{
        pf.started = false;
        pf.off = false;
        pf.head = pf.tail = 0;
        pf.cur_lo = pf.cur_hi = 0;
        pthread_mutex_init(&pf.lock, NULL);
        pthread_cond_init(&pf.wake, NULL);
        pthread_cond_init(&pf.done, NULL);
}

/* Takes [lo, hi) out of the queue and waits for the helper to leave it;
 * with bm.lock held (the helper never takes it). */
static void pf_cancel(uintptr_t lo, uintptr_t hi)
{
        pthread_mutex_lock(&pf.lock);
        for (uint32_t i = pf.tail; i != pf.head; i++) {
                uintptr_t *e = &pf.q[i % PF_QUEUE].lo;

                if (e[0] < hi && e[1] > lo)
                        e[0] = e[1] = 0;
        }
        while (pf.cur_lo < hi && pf.cur_hi > lo)
                pthread_cond_wait(&pf.done, &pf.lock);
        pthread_mutex_unlock(&pf.lock);
}

void heap_big_prefault_drain(void)
{
        pthread_mutex_lock(&pf.lock);
        while (pf.started && (pf.head != pf.tail || pf.cur_hi))
                pthread_cond_wait(&pf.done, &pf.lock);
        pthread_mutex_unlock(&pf.lock);
}

void heap_big_prefault(void *p, size_t from, size_t to)
{
        struct block *b;
        uintptr_t lo, hi;
        pthread_t th;
        pthread_attr_t at;

        if (!p || from >= to)
                return;
        pthread_mutex_lock(&bm.lock);
        b = find(p);
        if (!b || !b->reserved || b->fd >= 0 || from >= b->size) {
                pthread_mutex_unlock(&bm.lock);
                return;
        }
        if (to > b->size)
                to = b->size;
        lo = (uintptr_t)p + (from & ~(page_up(1) - 1));
        hi = (uintptr_t)p + page_up(to);
        pthread_mutex_lock(&pf.lock);
        if (pf.off) {
                pthread_mutex_unlock(&pf.lock);
                pthread_mutex_unlock(&bm.lock);
                return;
        }
        if (!pf.started) {
                static bool atfork;

                if (!atfork)
                        atfork = pthread_atfork(NULL, NULL, pf_forget) == 0;
                /* detached: it waits for work for the rest of the run */
                pthread_attr_init(&at);
                pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
                pthread_attr_setstacksize(&at, 64 << 10);
                if (pthread_create(&th, &at, pf_run, NULL) == 0)
                        pf.started = true;
                else
                        pf.off = true;
                pthread_attr_destroy(&at);
        }
        if (pf.started && pf.head - pf.tail < PF_QUEUE) {
                pf.q[pf.head % PF_QUEUE].lo = lo;
                pf.q[pf.head % PF_QUEUE].hi = hi;
                pf.head++;
                pthread_cond_signal(&pf.wake);
        }
        pthread_mutex_unlock(&pf.lock);
        pthread_mutex_unlock(&bm.lock);
}

/* Gives back a block's memory, whatever its kind, and unregisters it. */
static void release(struct block *b, void *p)
{
        if (b && b->fd < 0 && b->reserved)
                pf_cancel((uintptr_t)b->p, (uintptr_t)b->p + b->reserved);
        if (b && b->fd >= 0) {
                munmap(b->p, b->size);
                close(b->fd);
        } else if (b && b->reserved) {
                munmap(b->p, b->reserved);
        } else {
                free(p);
        }
        if (b)
                drop(b);
}

/* The usable bytes of a block of any kind. */
static size_t block_bytes(const struct block *b, void *p)
{
        return b ? b->size : malloc_usable_size(p);
}

void *heap_big_realloc(void *p, size_t size)
{
        struct block *b;
        void *np = NULL;
        size_t old, span;

        if (!p)
                return heap_big_malloc(size);
        if (!size)
                size = 1;
        pthread_mutex_lock(&bm.lock);
        b = find(p);
        if (b && b->fd >= 0) {
                np = spill_resize(b, size);
                /* a file the disk cannot grow: the block comes back to
                 * memory rather than fail the run */
                if (!np && (np = malloc(size))) {
                        memcpy(np, b->p, b->size < size ? b->size : size);
                        release(b, p);
                        keep(np);
                }
                pthread_mutex_unlock(&bm.lock);
                return np;
        }
        old = b ? b->size : 0;
        if (must_spill(page_up(size), old) && (np = spill_new(size))) {
                size_t have = block_bytes(b, p);

                memcpy(np, p, have < size ? have : size);
                release(find(p), p);
                pthread_mutex_unlock(&bm.lock);
                return np;
        }
        if (b && b->reserved && page_up(size) <= b->reserved) {
                np = reserve_resize(b, size) < 0 ? NULL : p;
                pthread_mutex_unlock(&bm.lock);
                return np;
        }
        /* into a (bigger) reservation: only registered blocks can be, so
         * that heap_big_free() knows to unmap them */
        if (size >= RESERVE_MIN && (b || bm.nblocks < BLOCKS_MAX) &&
            (np = reserve_new(size, grow_span(size), &span))) {
                size_t have = block_bytes(b, p);

                memcpy(np, p, have < size ? have : size);
                release(b, p);
                bm.blocks[bm.nblocks++] = (struct block){ .p = np, .size = huge_up(size),
                                                          .reserved = span, .fd = -1 };
                bm.in_memory += huge_up(size);
                account();
                pthread_mutex_unlock(&bm.lock);
                return np;
        }
        if (b && b->reserved) {
                /* no address space for a bigger reservation: memory */
                if ((np = malloc(size))) {
                        memcpy(np, p, b->size < size ? b->size : size);
                        release(b, p);
                        keep(np);
                }
                pthread_mutex_unlock(&bm.lock);
                return np;
        }
        np = realloc(p, size);
        if (np) {
                if (b)
                        drop(b);
                keep(np);
        }
        pthread_mutex_unlock(&bm.lock);
        return np;
}

void heap_big_free(void *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&bm.lock);
        release(find(p), p);
        pthread_mutex_unlock(&bm.lock);
}
