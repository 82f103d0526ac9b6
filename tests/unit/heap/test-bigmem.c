/* test-bigmem: the big arrays' allocator past its budget (heap/bigmem.c):
 * which blocks go to spill files, that they hold what memory would (zeroed
 * by calloc, kept by realloc, whichever way a block moves), that the
 * totals are exact, and what happens when the directory cannot take one. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "heap-build.h"
#include "heap.h"
#include "tap.h"

#define MIB ((size_t)1 << 20)

static struct heap_big_stats stats(void)
{
        struct heap_big_stats st;

        heap_big_stats(&st);
        return st;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)(seed + i * 131);
}

static bool holds(const uint8_t *p, size_t n, uint8_t seed)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != (uint8_t)(seed + i * 131))
                        return false;
        return true;
}

static bool zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* Resident pages of [p, p + n), by mincore(). */
static size_t resident(const void *p, size_t n)
{
        static unsigned char vec[(64 << 20) / 4096];
        size_t pages = n / 4096, k = 0;

        if (pages > sizeof(vec) || mincore((void *)p, n, vec) < 0)
                return (size_t)-1;
        for (size_t i = 0; i < pages; i++)
                k += vec[i] & 1;
        return k;
}

/* heap_big_prefault(): a malloc()ed block is faulted in by the helper
 * without a byte of it changed, a calloc()ed one only on request and only
 * the part asked for, a trim gives back what the helper faulted in, and
 * hints on freed, foreign or spilled blocks do nothing. */
static void test_prefault(const char *dir)
{
        uint8_t *a, *b, local[64];
        size_t r;
        void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        /* kernels before 5.14 have no MADV_POPULATE_WRITE (23): the hint
         * is then ignored, which the checks below would take for a bug */
        if (probe != MAP_FAILED && madvise(probe, 4096, 23) < 0 && errno == EINVAL) {
                munmap(probe, 4096);
                ok(true, "# SKIP prefaulting: the kernel has no MADV_POPULATE_WRITE");
                return;
        }
        if (probe != MAP_FAILED)
                munmap(probe, 4096);
        heap_big_budget(0, dir);
        a = heap_big_malloc(16 * MIB);
        heap_big_prefault_drain();
        r = a ? resident(a, 16 * MIB) : 0;
        ok(r == 16 * MIB / 4096,
           "a malloc()ed block is faulted in by the helper (%zu of %zu pages)", r,
           16 * MIB / 4096);
        b = heap_big_calloc(16, MIB);
        heap_big_prefault_drain();
        ok(b && resident(b, 16 * MIB) == 0, "a calloc()ed block is not, unasked (%zu pages)",
           b ? resident(b, 16 * MIB) : 0);
        heap_big_prefault(b, 4 * MIB, 6 * MIB);
        heap_big_prefault_drain();
        ok(b && resident(b, 4 * MIB) == 0 && resident(b + 4 * MIB, 2 * MIB) == 2 * MIB / 4096 &&
                   resident(b + 6 * MIB, 10 * MIB) == 0 && zero(b, 16 * MIB),
           "asked for 2 MiB of it: those pages, zeroed, and no others");
        fill(a, 16 * MIB, 7);
        heap_big_prefault(a, 0, 16 * MIB);
        a = heap_big_realloc(a, 2 * MIB);
        heap_big_prefault_drain();
        ok(a && holds(a, 2 * MIB, 7) && resident(a + 2 * MIB, 2 * MIB) == 0,
           "a hint on a block then trimmed: the bytes kept, the pages past the trim given back");
        /* hints on blocks freed meanwhile, past the end, on the stack */
        heap_big_prefault(b, 0, 16 * MIB);
        heap_big_free(b);
        heap_big_prefault(a, 0, 64 * MIB);
        heap_big_prefault(local, 0, sizeof(local));
        heap_big_prefault(NULL, 0, 4096);
        heap_big_prefault_drain();
        ok(a && holds(a, 2 * MIB, 7), "hints past the block, freed or foreign do no harm");
        heap_big_free(a);
        /* spilled blocks are file pages: left to the kernel */
        heap_big_budget(1, dir);
        b = heap_big_malloc(4 * MIB);
        heap_big_prefault(b, 0, 4 * MIB);
        heap_big_prefault_drain();
        ok(b && stats().spilled >= 4 * MIB && resident(b, 4 * MIB) == 0,
           "a spilled block is not faulted in");
        heap_big_free(b);
        heap_big_budget(0, dir);
}

int main(void)
{
        char dir[] = "/tmp/pyleak-bigmem-XXXXXX";
        uint8_t *a, *b, *c, *small, *plain;
        struct heap_big_stats st;

        if (!mkdtemp(dir)) {
                ok(false, "a spill directory: %s", strerror(errno));
                return tap_done();
        }

        /* no budget: nothing spills, whatever the size */
        heap_big_budget(0, dir);
        a = heap_big_malloc(4 * MIB);
        st = stats();
        ok(a && st.spilled == 0 && st.in_memory >= 4 * MIB, "no budget: 4 MiB in memory");
        heap_big_free(a);
        ok(stats().in_memory == 0, "no budget: the total back to 0 after the free");

        /* a budget of 3 MiB: the first 2 MiB fit, the next 2 MiB do not */
        heap_big_budget(3 * MIB, dir);
        a = heap_big_malloc(2 * MIB);
        b = heap_big_calloc(2, MIB);
        small = heap_big_malloc(4096);
        st = stats();
        ok(a && b && small && st.spilled == 2 * MIB && st.in_memory >= 2 * MIB + 4096 &&
                   st.in_memory < 3 * MIB,
           "budget 3 MiB: the block past it is spilled, the small one is not (in memory %zu, "
           "spilled %zu)", (size_t)st.in_memory, (size_t)st.spilled);
        ok(b && zero(b, 2 * MIB), "a spilled calloc block reads as zero");
        fill(a, 2 * MIB, 1);
        fill(b, 2 * MIB, 2);

        /* a spilled block grows in its file, and shrinks */
        c = heap_big_realloc(b, 5 * MIB);
        st = stats();
        ok(c && holds(c, 2 * MIB, 2) && zero(c + 2 * MIB, 3 * MIB) && st.spilled == 5 * MIB,
           "a spilled block grown to 5 MiB keeps its bytes, the rest zero");
        c = heap_big_realloc(c, MIB + 7);
        st = stats();
        ok(c && holds(c, MIB + 7, 2) && st.spilled == MIB + 7, "and shrunk to 1 MiB + 7");

        /* an in-memory block grown past the budget moves to a file */
        b = heap_big_realloc(a, 6 * MIB);
        st = stats();
        ok(b && holds(b, 2 * MIB, 1) && st.spilled == MIB + 7 + 6 * MIB &&
                   st.in_memory < MIB,
           "an in-memory block grown past the budget moves to a spill file with its bytes");
        ok(st.spilled_peak >= st.spilled && st.peak >= st.spilled + st.in_memory,
           "peaks at least the totals");

        /* heap_big_free() and heap_big_realloc() take a plain malloc()ed pointer */
        plain = malloc(100);
        plain = heap_big_realloc(plain, 200);
        if (plain)
                fill(plain, 200, 3);
        ok(plain && holds(plain, 200, 3), "heap_big_realloc() of a plain malloc() block");
        heap_big_free(plain);

        heap_big_free(b);
        heap_big_free(c);
        heap_big_free(small);
        heap_big_free(NULL);
        st = stats();
        ok(st.spilled == 0 && st.in_memory == 0, "everything freed: totals 0 (%zu, %zu)",
           (size_t)st.in_memory, (size_t)st.spilled);

        /* a directory that cannot take a file: memory, and the reason kept */
        heap_big_budget(1, "/nonexistent/pyleak-spill");
        a = heap_big_calloc(3, MIB);
        st = stats();
        ok(a && zero(a, 3 * MIB) && st.spilled == 0 && st.in_memory >= 3 * MIB &&
                   strstr(st.why, "/nonexistent/pyleak-spill") && strstr(st.why, "No such file"),
           "no spill directory: the block is in memory, and why says so (%s)", st.why);
        heap_big_free(a);

        /* a disk that cannot take more (here: a file size limit, as a full
         * disk or a quota would refuse): a spilled block that cannot grow
         * comes back to memory with its bytes, a new one stays there;
         * never SIGBUS at a store to a page with no disk block */
        {
                struct rlimit old, lim = { .rlim_cur = 3 * MIB, .rlim_max = RLIM_INFINITY };

                getrlimit(RLIMIT_FSIZE, &old);
                lim.rlim_max = old.rlim_max;
                signal(SIGXFSZ, SIG_IGN);
                setrlimit(RLIMIT_FSIZE, &lim);
                heap_big_budget(1, dir);
                a = heap_big_malloc(2 * MIB);
                st = stats();
                ok(a && st.spilled == 2 * MIB, "file size limit 3 MiB: a 2 MiB block spills");
                if (a)
                        fill(a, 2 * MIB, 4);
                b = heap_big_realloc(a, 5 * MIB);
                st = stats();
                ok(b && holds(b, 2 * MIB, 4) && st.spilled == 0 && st.in_memory >= 5 * MIB &&
                           strstr(st.why, "cannot grow a spill file"),
                   "grown past the limit, it comes back to memory with its bytes (%s)", st.why);
                heap_big_free(b);
                heap_big_budget(1, dir);
                a = heap_big_calloc(4, MIB);
                st = stats();
                ok(a && zero(a, 4 * MIB) && st.spilled == 0 &&
                           strstr(st.why, "cannot size a spill file"),
                   "a new 4 MiB block past the limit stays in memory (%s)", st.why);
                heap_big_free(a);
                setrlimit(RLIMIT_FSIZE, &old);
                signal(SIGXFSZ, SIG_DFL);
        }

        /* a growing block (the walk's arrays) moves once into a
         * reservation and then grows in place: same pointer, its bytes,
         * the total its writable pages; shrunk, the pages past it go back */
        heap_big_budget(0, dir);
        {
                uint8_t *g = heap_big_realloc(NULL, 64 << 10), *first = NULL;
                size_t cap = 64 << 10, moves = 0;
                bool kept = g != NULL;

                if (g)
                        fill(g, cap, 5);
                while (kept && cap < 48 * MIB) {
                        size_t ncap = cap + cap / 2;
                        uint8_t *ng = heap_big_realloc(g, ncap);

                        if (!ng) {
                                kept = false;
                                break;
                        }
                        if (ncap >= MIB && !first)
                                first = ng;
                        else if (ncap >= MIB && ng != first)
                                moves++;
                        kept = holds(ng, cap, 5);
                        fill(ng, ncap, 5);
                        g = ng;
                        cap = ncap;
                }
                st = stats();
                ok(kept && moves == 0 && st.in_memory >= cap && st.in_memory <= cap + 2 * MIB,
                   "grown from 64 KiB to %zu bytes: its bytes kept, in place from 1 MiB "
                   "(%zu moves), in memory %zu", cap, moves, (size_t)st.in_memory);
                g = heap_big_realloc(g, 3 * MIB + 5);
                st = stats();
                ok(g == first && holds(g, 3 * MIB + 5, 5) && st.in_memory < 3 * MIB + 4096 * 16,
                   "shrunk to 3 MiB + 5 in place: its bytes, in memory %zu", (size_t)st.in_memory);
                /* past a budget set meanwhile: it moves to a spill file */
                heap_big_budget(4 * MIB, dir);
                g = heap_big_realloc(g, 6 * MIB);
                st = stats();
                ok(g && holds(g, 3 * MIB + 5, 5) && st.spilled == 6 * MIB && st.in_memory == 0,
                   "grown past the budget: it moves to a spill file with its bytes "
                   "(spilled %zu, in memory %zu)", (size_t)st.spilled, (size_t)st.in_memory);
                heap_big_free(g);
                st = stats();
                ok(st.spilled == 0 && st.in_memory == 0, "freed: totals 0");
        }
#ifndef __SANITIZE_ADDRESS__
        /* no address space for a reservation (ulimit -v): plain memory */
        {
                struct rlimit old, lim;
                uint8_t *g;

                heap_big_budget(0, dir);
                getrlimit(RLIMIT_AS, &old);
                lim = (struct rlimit){ .rlim_cur = (rlim_t)1 << 32, .rlim_max = old.rlim_max };
                setrlimit(RLIMIT_AS, &lim);
                g = heap_big_realloc(NULL, 64 << 10);
                if (g)
                        fill(g, 64 << 10, 6);
                g = g ? heap_big_realloc(g, 8 * MIB) : NULL;
                ok(g && holds(g, 64 << 10, 6) && stats().in_memory >= 8 * MIB,
                   "RLIMIT_AS 4 GiB (no room for a reservation): grown in memory, bytes kept");
                heap_big_free(g);
                setrlimit(RLIMIT_AS, &old);
        }
#endif

        /* a calloc whose size overflows is refused, as calloc would */
        heap_big_budget(1, dir);
        ok(heap_big_calloc(SIZE_MAX / 2, 4) == NULL, "calloc overflow refused");
        test_prefault(dir);
        heap_big_budget(0, NULL);
        rmdir(dir);
        return tap_done();
}
