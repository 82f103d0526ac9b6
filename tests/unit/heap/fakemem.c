/* fakemem: a memsrc backend over hand-placed byte blobs (see fakemem.h). */
#include "fakemem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memsrc-internal.h"

struct blob {
        uint64_t addr;
        size_t len;
        uint8_t *bytes;
        uint8_t *cached;        /* volatile spans: bytes as of cached_gen */
        uint64_t cached_gen;    /* f->gen + 1 when filled; 0: never */
};

struct fake {
        struct memsrc base;
        struct blob *blobs;
        size_t nblobs;
        uint64_t fail_every, reads;
        bool no_ptr;
        bool volatile_spans;
        bool stable_spans;
        uint64_t gen;
        void (*on_forget)(void *arg);
        void *on_forget_arg;
};

static struct blob *find(struct fake *f, uint64_t addr, size_t len)
{
        for (size_t i = 0; i < f->nblobs; i++) {
                struct blob *b = &f->blobs[i];

                if (addr >= b->addr && addr - b->addr <= b->len && len <= b->len - (addr - b->addr))
                        return b;
        }
        return NULL;
}

static int fake_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct fake *f = (struct fake *)m;
        struct blob *b;

        f->reads++;
        if (f->fail_every && f->reads % f->fail_every == 0)
                return -EFAULT;
        b = find(f, addr, len);
        if (!b)
                return -EFAULT;
        memcpy(buf, b->bytes + (addr - b->addr), len);
        return 0;
}

static const void *fake_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        struct fake *f = (struct fake *)m;
        struct blob *b;

        if (f->no_ptr || f->fail_every)
                return NULL;
        b = find(f, addr, len);
        return b ? b->bytes + (addr - b->addr) : NULL;
}

/* Spans as a live source's cache gives them: a copy of the whole blob
 * taken when first served after a forget, good while gen stands still (a
 * forget moves it, and the hook may change the bytes: a reader that kept
 * using the old span would see them as they were). */
static const void *fake_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                             const uint64_t **gen)
{
        struct fake *f = (struct fake *)m;
        struct blob *b;

        if (!(f->volatile_spans || f->stable_spans) || f->fail_every || !(b = find(f, addr, 1)))
                return NULL;
        if (f->stable_spans) {
                *lo = b->addr;
                *hi = b->addr + b->len;
                *gen = NULL;
                return b->bytes;
        }
        if (!b->cached && !(b->cached = malloc(b->len ? b->len : 1)))
                return NULL;
        if (b->cached_gen != f->gen + 1) {
                memcpy(b->cached, b->bytes, b->len);
                b->cached_gen = f->gen + 1;
        }
        *lo = b->addr;
        *hi = b->addr + b->len;
        *gen = &f->gen;
        return b->cached;
}

static void fake_forget(struct memsrc *m, uint64_t addr, uint64_t len)
{
        struct fake *f = (struct fake *)m;

        (void)addr;
        (void)len;
        f->gen++;
        if (f->on_forget)
                f->on_forget(f->on_forget_arg);
}

static void fake_destroy(struct memsrc *m)
{
        struct fake *f = (struct fake *)m;

        for (size_t i = 0; i < f->nblobs; i++) {
                free(f->blobs[i].bytes);
                free(f->blobs[i].cached);
        }
        free(f->blobs);
        free(f);
}

static const struct memsrc_ops fake_ops = {
        .name = "fake",
        .read = fake_read,
        .ptr = fake_ptr,
        .span = fake_span,
        .forget = fake_forget,
        .destroy = fake_destroy,
};

struct memsrc *fakemem_new(void)
{
        struct fake *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->base.ops = &fake_ops;
        f->base.pid = 4242;
        return &f->base;
}

void *fakemem_add(struct memsrc *m, uint64_t addr, size_t len)
{
        struct fake *f = (struct fake *)m;
        struct blob *nb;
        struct mem_region *nr;
        size_t pos;

        nb = realloc(f->blobs, (f->nblobs + 1) * sizeof(*nb));
        if (!nb)
                return NULL;
        f->blobs = nb;
        nb[f->nblobs].addr = addr;
        nb[f->nblobs].len = len;
        nb[f->nblobs].bytes = calloc(1, len ? len : 1);
        nb[f->nblobs].cached = NULL;
        nb[f->nblobs].cached_gen = 0;
        if (!nb[f->nblobs].bytes)
                return NULL;
        f->nblobs++;

        /* keep the generic region list sorted for memsrc_region_of */
        nr = realloc(m->regions, (m->nregions + 1) * sizeof(*nr));
        if (!nr)
                return NULL;
        m->regions = nr;
        for (pos = 0; pos < m->nregions && nr[pos].start < addr; pos++)
                ;
        memmove(&nr[pos + 1], &nr[pos], (m->nregions - pos) * sizeof(*nr));
        memset(&nr[pos], 0, sizeof(*nr));
        nr[pos].start = addr;
        nr[pos].end = addr + len;
        nr[pos].r = nr[pos].w = true;
        nr[pos].copied = true;
        m->nregions++;
        return f->blobs[f->nblobs - 1].bytes;
}

void fakemem_fail_every(struct memsrc *m, uint64_t n)
{
        struct fake *f = (struct fake *)m;

        f->fail_every = n;
        f->reads = 0;
}

void fakemem_no_ptr(struct memsrc *m, int on)
{
        ((struct fake *)m)->no_ptr = on != 0;
}

void fakemem_on_forget(struct memsrc *m, void (*fn)(void *arg), void *arg)
{
        struct fake *f = (struct fake *)m;

        f->on_forget = fn;
        f->on_forget_arg = arg;
}

uint64_t fakemem_reads(const struct memsrc *m)
{
        return ((const struct fake *)m)->reads;
}

void fakemem_volatile_spans(struct memsrc *m, int on)
{
        struct fake *f = (struct fake *)m;

        f->volatile_spans = on;
        f->stable_spans = false;
}

void fakemem_stable_spans(struct memsrc *m, int on)
{
        struct fake *f = (struct fake *)m;

        f->stable_spans = on;
        f->volatile_spans = false;
}
