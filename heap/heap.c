/* heap.c: the struct heap model and its builder (heap.h, heap-build.h).
 *
 * Sized for targets with ~10 million objects and 30+ million edges: the
 * object index costs ~13 bytes per object in a dense heap (struct addrmap;
 * ~15 in a live target's pools, and only until heap_finish(), see
 * heap_priv.index_ready), the other lookup tables store only 8-byte slots
 * that point back into the model's own arrays, arrays grow by 1.5x rather
 * than 2x (a 400 MB object array should not briefly need 1.2 GB), and
 * heap_finish() trims them to size.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "heap-build.h"
#include "utf8.h"

/* Indices are stored as idx + 1 in 32 bits and the hash tables take their
 * slot position from a 32-bit tag, so both stay well-defined below 2^31. */
#define HEAP_MAX_OBJS (1u << 31)
#define HEAP_MAX_TYPES (1u << 24)
#define HEAP_MAX_LABELS (HEAP_LABEL_INDEX_BIT - 1)

/* Open addressing, linear probing, power-of-two capacity, load <= 3/4.
 * A slot is (tag << 32) | (idx + 1), 0 = empty.  The tag is the high half of
 * the key's hash: it both picks the home slot (tag & mask), so growing never
 * has to touch the keys, and filters probes so that the key itself (in
 * h->objs, h->types or h->labels: a likely cache miss) is compared only on a
 * tag match. */
struct idxmap {
        uint64_t *slots;
        uint64_t cap;
        uint64_t count;
};

/* The object index.  A lookup per referent is the walk's hottest operation
 * and a hash table of millions of slots makes each one a cache miss (two,
 * with the key check in h->objs).  Instead the target's address space is cut
 * into 4 KiB blocks; each block that holds objects gets a direct-mapped array
 * with one 32-bit slot per 16 bytes, found through a directory (a few
 * thousand entries for a small heap, where it stays in cache; a 1.2 GB
 * heap has 300,000 blocks, and a probe is a miss there too).  Distinct
 * objects are at least 16
 * bytes apart, so each has a slot of its own; the slot holds
 * (idx + 1) << 1 | address bit 3, so a hit needs no look at h->objs.  The
 * walker visits objects in roughly allocation order and their referents were
 * mostly allocated next to them: consecutive lookups share cache lines.
 * Whatever does not fit (misaligned or colliding garbage addresses, blocks
 * beyond the memory budget, huge indices) goes to the objmap hash table. */
#define AM_SHIFT 12
#define AM_SLOTS (1u << (AM_SHIFT - 4))
#define AM_CHUNK 2048                     /* blocks per allocation, at most: 2 MiB */
#define AM_CHUNK_FIRST 4                  /* the first one's: doubled each time */
#define AM_BUDGET_BASE ((uint64_t)64 << 20)
#define AM_BUDGET_PER_OBJ 64              /* sparse heaps fall back to objmap */

struct addrmap {
        /* the directory: block number + 1 (0 = empty) and the block's
         * slots side by side, one cache miss a probe where two arrays
         * took two */
        struct am_dir { uint64_t key; uint32_t *block; } *dir;
        uint64_t cap, n;         /* directory capacity (power of two), used */
        uint32_t **chunks;       /* allocations of blocks */
        uint64_t nchunks, capchunks;
        uint32_t chunk_cap;      /* blocks in the last chunk: a small heap
                                    (a tiny service, a fuzzer's input)
                                    zeroes 4 KiB, not AM_CHUNK's 2 MiB */
        uint32_t chunk_used;     /* blocks handed out of the last chunk */
        uint64_t bytes;          /* memory held in chunks */
        uint32_t *spare;         /* the next full-size chunk, or NULL */
        /* the block of the latest lookup while the heap is built: a list
         * walk adds its objects block by block, and a referent found
         * missing is added to the block just looked up.  Only the builder
         * (one thread) uses it; a finished heap is read from any thread
         * and keeps to the directory. */
        uint64_t last_key;       /* block number + 1, 0 = none */
        uint32_t *last;
};

typedef int (*idxmap_eq_fn)(const struct heap *h, uint32_t idx, const void *key);

struct heap_priv {
        struct addrmap addrs;        /* object address -> index */
        struct idxmap objmap;        /* ... the objects addrmap cannot hold */
        struct idxmap typemap, labelmap;
        uint32_t *estart;    /* edge_start while building: ntracked + 1,
                                more once untracked sources come */
        uint32_t nstart;     /* entries of estart filled so far */
        uint32_t capstart;   /* entries of estart allocated */
        int64_t last_src;    /* src of the latest heap_add_edge, or -1 */
        /* its labels so far: [run_top], [run_top - 1], ...; the escape
         * table's length before them (fold_run) */
        bool run_desc;
        uint64_t run_top, run_esc;
        int tracked_done;
        int finished;
        uint32_t cap_threads, cap_frames;  /* h->threads / h->frames */
        uint32_t native_len;         /* entries of h->native allocated */
        /* The object index is only the walk's until heap_finish(): a
         * report never looks an address up again, and the index is ~25%
         * of the target's heap size (a 1 KiB block per 4 KiB of arena),
         * ~15 bytes per object at the analyses' peak.  heap_finish()
         * drops it; the first heap_find() after that (browser, diff)
         * rebuilds it, once, under index_lock, since a finished heap is
         * read from any thread.  index_ready: addrs and objmap are
         * complete. */
        pthread_mutex_t index_lock;
        atomic_bool index_ready;
};

/* splitmix64's finaliser: object addresses are 16-byte aligned and packed in
 * arenas, so raw low bits would crowd a few slots. */
static inline uint64_t mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        x ^= x >> 31;
        return x;
}

static inline uint32_t tag_of_u64(uint64_t key)
{
        return (uint32_t)(mix64(key) >> 32);
}

static uint32_t *addrmap_block(const struct addrmap *a, uint64_t blk)
{
        uint64_t mask = a->cap - 1;

        if (!a->cap)
                return NULL;
        for (uint64_t i = mix64(blk) & mask;; i = (i + 1) & mask) {
                if (a->dir[i].key == blk + 1)
                        return a->dir[i].block;
                if (!a->dir[i].key)
                        return NULL;
        }
}

/* addrmap_block through the builder's one-block cache. */
static inline uint32_t *addrmap_block_last(struct addrmap *a, uint64_t blk)
{
        uint32_t *b;

        if (a->last_key == blk + 1)
                return a->last;
        b = addrmap_block(a, blk);
        if (b) {
                a->last_key = blk + 1;
                a->last = b;
        }
        return b;
}

/* The index for addr from the direct map, or -1.  `building`: the caller
 * is the builder and may use the cache. */
static inline int64_t addrmap_get(struct addrmap *a, uint64_t addr, bool building)
{
        uint32_t *b, s;

        if (addr & 7)
                return -1;
        b = building ? addrmap_block_last(a, addr >> AM_SHIFT) : addrmap_block(a, addr >> AM_SHIFT);
        if (!b)
                return -1;
        s = b[(addr >> 4) & (AM_SLOTS - 1)];
        if (!s || (s & 1) != ((addr >> 3) & 1))
                return -1;
        return (int64_t)(s >> 1) - 1;
}

/* The slot for addr, creating its block within the budget; NULL if addr
 * cannot be held here (the caller uses objmap).  -ENOMEM via *err. */
static uint32_t *addrmap_slot(struct addrmap *a, uint64_t addr, uint64_t budget, int *err)
{
        uint64_t blk = addr >> AM_SHIFT, mask, i;
        uint32_t *b;

        *err = 0;
        if (addr & 7)
                return NULL;
        b = addrmap_block_last(a, blk);
        if (b)
                return &b[(addr >> 4) & (AM_SLOTS - 1)];
        if (a->bytes >= budget && a->chunk_used == a->chunk_cap)
                return NULL;
        if ((a->n + 1) * 2 > a->cap) {
                uint64_t ncap = a->cap ? a->cap * 2 : 1024;
                struct am_dir *nd = calloc(ncap, sizeof(*nd));

                if (!nd) {
                        *err = -ENOMEM;
                        return NULL;
                }
                for (uint64_t j = 0; j < a->cap; j++) {
                        if (!a->dir[j].key)
                                continue;
                        for (i = mix64(a->dir[j].key - 1) & (ncap - 1); nd[i].key;
                             i = (i + 1) & (ncap - 1))
                                ;
                        nd[i] = a->dir[j];
                }
                free(a->dir);
                a->dir = nd;
                a->cap = ncap;
        }
        if (!a->nchunks || a->chunk_used == a->chunk_cap) {
                uint32_t cap = !a->chunk_cap ? AM_CHUNK_FIRST
                             : a->chunk_cap < AM_CHUNK ? a->chunk_cap * 2 : AM_CHUNK;

                if (a->nchunks == a->capchunks) {
                        uint64_t nc = a->capchunks ? a->capchunks * 2 : 16;
                        uint32_t **n = realloc(a->chunks, nc * sizeof(*n));

                        if (!n) {
                                *err = -ENOMEM;
                                return NULL;
                        }
                        a->chunks = n;
                        a->capchunks = nc;
                }
                /* zeroed by hand, not by calloc: a fresh mapping would
                 * map its pages read-only at the first look at a slot and
                 * take a second fault at the first store, twice per page.
                 * A big block: from 1 MiB in huge pages (bigmem.c), a
                 * fault per 2 MiB where 4 KiB pages took 512 */
                if (cap == AM_CHUNK && a->spare) {
                        a->chunks[a->nchunks] = a->spare;
                        a->spare = NULL;
                } else {
                        a->chunks[a->nchunks] =
                                heap_big_malloc((size_t)cap * AM_SLOTS * sizeof(uint32_t));
                }
                if (!a->chunks[a->nchunks]) {
                        *err = -ENOMEM;
                        return NULL;
                }
                memset(a->chunks[a->nchunks], 0, (size_t)cap * AM_SLOTS * sizeof(uint32_t));
                /* the next full-size chunk, which bigmem's helper faults
                 * in meanwhile (heap_big_prefault); without one the walk
                 * waited here on its page faults */
                if (cap == AM_CHUNK)
                        a->spare = heap_big_malloc((size_t)AM_CHUNK * AM_SLOTS * sizeof(uint32_t));
                a->nchunks++;
                a->chunk_cap = cap;
                a->chunk_used = 0;
                a->bytes += (uint64_t)cap * AM_SLOTS * sizeof(uint32_t);
        }
        b = a->chunks[a->nchunks - 1] + (size_t)a->chunk_used++ * AM_SLOTS;
        mask = a->cap - 1;
        for (i = mix64(blk) & mask; a->dir[i].key; i = (i + 1) & mask)
                ;
        a->dir[i] = (struct am_dir){ .key = blk + 1, .block = b };
        a->n++;
        a->last_key = blk + 1;
        a->last = b;
        return &b[(addr >> 4) & (AM_SLOTS - 1)];
}

static void addrmap_release(struct addrmap *a)
{
        for (uint64_t i = 0; i < a->nchunks; i++)
                heap_big_free(a->chunks[i]);
        heap_big_free(a->spare);
        free(a->chunks);
        free(a->dir);
        *a = (struct addrmap){0};
}

static uint32_t tag_of_str(const char *s)
{
        uint64_t x = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */

        for (; *s; s++) {
                x ^= (unsigned char)*s;
                x *= 0x100000001b3ULL;
        }
        return tag_of_u64(x);
}

/* The slot holding key, or the empty slot where it would be inserted.
 * The map must have capacity (load < 1 guarantees termination). */
static uint64_t *idxmap_slot(const struct idxmap *m, const struct heap *h, uint32_t tag,
                             idxmap_eq_fn eq, const void *key)
{
        uint64_t mask = m->cap - 1;

        for (uint64_t i = tag & mask;; i = (i + 1) & mask) {
                uint64_t s = m->slots[i];

                if (s == 0)
                        return &m->slots[i];
                if ((uint32_t)(s >> 32) == tag && eq(h, (uint32_t)s - 1, key))
                        return &m->slots[i];
        }
}

static int64_t idxmap_get(const struct idxmap *m, const struct heap *h, uint32_t tag,
                          idxmap_eq_fn eq, const void *key)
{
        uint64_t s;

        if (m->cap == 0)
                return -1;
        s = *idxmap_slot(m, h, tag, eq, key);
        return s ? (int64_t)(uint32_t)(s - 1) : -1;
}

/* Makes room for one more entry. */
static int idxmap_reserve(struct idxmap *m)
{
        uint64_t ncap, mask, *ns;

        if (m->cap && (m->count + 1) * 4 <= m->cap * 3)
                return 0;
        ncap = m->cap ? m->cap * 2 : 64;
        ns = calloc(ncap, sizeof(*ns));
        if (!ns)
                return -ENOMEM;
        mask = ncap - 1;
        for (uint64_t i = 0; i < m->cap; i++) {
                uint64_t s = m->slots[i], j;

                if (!s)
                        continue;
                for (j = (s >> 32) & mask; ns[j]; j = (j + 1) & mask)
                        ;
                ns[j] = s;
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
        return 0;
}

static void idxmap_release(struct idxmap *m)
{
        free(m->slots);
        *m = (struct idxmap){0};
}

static int obj_eq(const struct heap *h, uint32_t idx, const void *key)
{
        return h->objs[idx].addr == *(const uint64_t *)key;
}

static int type_eq(const struct heap *h, uint32_t idx, const void *key)
{
        return h->types[idx].addr == *(const uint64_t *)key;
}

static int label_eq(const struct heap *h, uint32_t idx, const void *key)
{
        return strcmp(h->labels[idx], key) == 0;
}

static inline struct heap_priv *priv(const struct heap *h)
{
        return h->priv;
}

/* Grows *p (elsize-byte elements, capacity *cap) to hold at least need:
 * grow_array with the model's 64-bit capacities, through realloc `re`. */
static int grow_with(void **p, uint64_t *cap, uint64_t need, size_t elsize, uint64_t min,
                     void *(*re)(void *, size_t))
{
        size_t c = (size_t)*cap;
        int r;

        if (need > SIZE_MAX)
                return -ENOMEM;
        r = grow_array_with(p, &c, (size_t)need, elsize, (size_t)min, re);
        if (r == 0)
                *cap = c;
        return r;
}

static int grow32_with(void **p, uint32_t *cap, uint64_t need, size_t elsize, uint64_t max,
                       void *(*re)(void *, size_t))
{
        uint64_t c = *cap;
        int r;

        if (need > max)
                return -ENOMEM;
        r = grow_with(p, &c, need, elsize, 16, re);
        if (r < 0)
                return r;
        *cap = c > max ? (uint32_t)max : (uint32_t)c;
        return 0;
}

static int grow32(void **p, uint32_t *cap, uint64_t need, size_t elsize, uint64_t max)
{
        return grow32_with(p, cap, need, elsize, max, realloc);
}

/* The arrays the walk fills front to back are faulted in ahead of it by
 * bigmem's helper thread (heap_big_prefault(): a third of a big walk was
 * page faults): at every step-th entry the step that lies `PF_AHEAD`
 * steps ahead, and after a growth the entries just made writable.  A step
 * is about a huge page (1.5 MiB of objects, 1 MiB of edge targets). */
#define PF_OBJS  ((uint64_t)1 << 16)
#define PF_EDGES ((uint64_t)1 << 18)
#define PF_AHEAD 4
#define PREFAULT_STEP(arr, i, step)                                                      \
        do {                                                                             \
                if (!((i) & ((step) - 1)))                                               \
                        heap_big_prefault((arr), ((i) + PF_AHEAD * (step)) * sizeof(*(arr)), \
                                          ((i) + (PF_AHEAD + 1) * (step)) * sizeof(*(arr))); \
        } while (0)
#define PREFAULT_GROWN(arr, i, step)                                                     \
        heap_big_prefault((arr), (i) * sizeof(*(arr)),                                   \
                          ((i) + (PF_AHEAD + 1) * (step)) * sizeof(*(arr)))

/* Growing and trimming the arrays of one entry or more per object or
 * edge (objs, edges, edge_start, native, previews): the big blocks, within the
 * memory budget (heap_big_realloc()); heap_free() gives them back with
 * heap_big_free(). */
static int grow_big(void **p, uint64_t *cap, uint64_t need, size_t elsize, uint64_t min)
{
        return grow_with(p, cap, need, elsize, min, heap_big_realloc);
}

static void trim_big(void **p, uint64_t n, size_t elsize)
{
        void *np;

        if (!*p || n == 0)
                return;
        np = heap_big_realloc(*p, n * elsize);
        if (np)
                *p = np;
}

struct heap *heap_new(void)
{
        struct heap *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->priv = calloc(1, sizeof(struct heap_priv));
        if (!h->priv) {
                free(h);
                return NULL;
        }
        priv(h)->last_src = -1;
        pthread_mutex_init(&priv(h)->index_lock, NULL);
        atomic_init(&priv(h)->index_ready, true);
        return h;
}

int heap_add_object(struct heap *h, uint64_t addr, uint32_t type, enum heap_gen gen,
                    int64_t refcnt, uint64_t size, uint8_t flags, uint32_t *ret_idx)
{
        struct heap_priv *p;
        struct heap_obj *o;
        uint64_t *slot = NULL;
        uint32_t *dslot = NULL, tag = 0, idx;
        int r;

        if (!h || !(p = priv(h)) || p->finished || (unsigned)gen >= HEAP_GEN__COUNT)
                return -EINVAL;
        /* Tracked objects must own [0, ntracked): that is what lets edges
         * be appended in CSR order while untracked ones appear on the fly. */
        if ((gen == HEAP_GEN_UNTRACKED) != !!p->tracked_done)
                return -EINVAL;
        if (type >= h->ntypes)
                return -EINVAL;
        if (h->nobjs >= HEAP_MAX_OBJS)
                return -ENOMEM;
        if (addr > HEAP_ADDR_MAX)
                return -ERANGE;
        size = size > HEAP_SIZE_MAX ? HEAP_SIZE_MAX : size;
        refcnt = refcnt > HEAP_REFCNT_MAX ? HEAP_REFCNT_MAX :
                 refcnt < HEAP_REFCNT_MIN ? HEAP_REFCNT_MIN : refcnt;
        /* the direct map first; an occupied slot of another address (only
         * garbage does that) or no room sends the object to objmap */
        if (h->nobjs < (UINT32_MAX >> 1) - 1) {
                dslot = addrmap_slot(&p->addrs, addr,
                                     AM_BUDGET_BASE + AM_BUDGET_PER_OBJ * (uint64_t)h->nobjs, &r);
                if (r < 0)
                        return r;
                if (dslot && *dslot) {
                        if ((*dslot & 1) == ((addr >> 3) & 1))
                                return -EEXIST;
                        dslot = NULL;
                }
        }
        if (!dslot || p->objmap.count) {
                /* an address kept in objmap (budget, collision) may have a
                 * free direct slot by now: objmap must be asked too */
                if (p->objmap.count &&
                    idxmap_get(&p->objmap, h, tag_of_u64(addr), obj_eq, &addr) >= 0)
                        return -EEXIST;
        }
        if (!dslot) {
                r = idxmap_reserve(&p->objmap);
                if (r < 0)
                        return r;
                tag = tag_of_u64(addr);
                slot = idxmap_slot(&p->objmap, h, tag, obj_eq, &addr);
        }
        if (h->nobjs == h->cap_objs) {
                uint64_t cap = h->cap_objs;

                r = grow_big((void **)&h->objs, &cap, (uint64_t)h->nobjs + 1, sizeof(*h->objs),
                             16);
                if (r < 0)
                        return r;
                h->cap_objs = cap > HEAP_MAX_OBJS ? HEAP_MAX_OBJS : (uint32_t)cap;
                PREFAULT_GROWN(h->objs, h->nobjs, PF_OBJS);
        }
        idx = h->nobjs++;
        PREFAULT_STEP(h->objs, idx, PF_OBJS);
        o = &h->objs[idx];
        *o = (struct heap_obj){
                .addr = addr,
                .gen = (uint8_t)gen,
                .flags = flags,
                .size = size,
                .refcnt_hi = (uint16_t)((uint64_t)refcnt >> 32),
                .type = type,
                .refcnt_lo = (uint32_t)refcnt,
        };
        if (dslot) {
                *dslot = (((uint32_t)idx + 1) << 1) | (uint32_t)((addr >> 3) & 1);
        } else {
                *slot = ((uint64_t)tag << 32) | ((uint64_t)idx + 1);
                p->objmap.count++;
        }
        if (gen != HEAP_GEN_UNTRACKED)
                h->ntracked = h->nobjs;
        if (ret_idx)
                *ret_idx = idx;
        return 0;
}

void heap_mark_tracked_done(struct heap *h)
{
        if (h && priv(h))
                priv(h)->tracked_done = 1;
}

/* The index as heap_add_object() built it: the same objects, in the same
 * order, against the same budgets, go to the same places (objs holds no
 * address twice). */
static int index_rebuild(struct heap *h)
{
        struct heap_priv *p = priv(h);
        int r;

        for (uint32_t i = 0; i < h->nobjs; i++) {
                uint64_t addr = h->objs[i].addr, *slot;
                uint32_t *dslot = NULL, tag;

                if (i < (UINT32_MAX >> 1) - 1) {
                        dslot = addrmap_slot(&p->addrs, addr,
                                             AM_BUDGET_BASE + AM_BUDGET_PER_OBJ * (uint64_t)i,
                                             &r);
                        if (r < 0)
                                return r;
                        if (dslot && *dslot)
                                dslot = NULL;
                }
                if (dslot) {
                        *dslot = ((i + 1) << 1) | (uint32_t)((addr >> 3) & 1);
                        continue;
                }
                r = idxmap_reserve(&p->objmap);
                if (r < 0)
                        return r;
                tag = tag_of_u64(addr);
                slot = idxmap_slot(&p->objmap, h, tag, obj_eq, &addr);
                *slot = ((uint64_t)tag << 32) | ((uint64_t)i + 1);
                p->objmap.count++;
        }
        /* readers keep to the directory (addrmap_get) */
        p->addrs.last_key = 0;
        p->addrs.last = NULL;
        return 0;
}

/* false when the index cannot be had (out of memory: heap_find says "not
 * found", as for an address outside the graph) */
static bool index_ensure(struct heap_priv *p, const struct heap *h)
{
        bool ok = true;

        if (atomic_load_explicit(&p->index_ready, memory_order_acquire))
                return true;
        pthread_mutex_lock(&p->index_lock);
        if (!atomic_load_explicit(&p->index_ready, memory_order_relaxed)) {
                /* the heap's arrays are not changed, only its private
                 * index: const is kept for everything a caller sees */
                ok = index_rebuild((struct heap *)h) >= 0;
                if (ok)
                        atomic_store_explicit(&p->index_ready, true, memory_order_release);
                else {
                        addrmap_release(&p->addrs);
                        idxmap_release(&p->objmap);
                }
        }
        pthread_mutex_unlock(&p->index_lock);
        return ok;
}

int64_t heap_find(const struct heap *h, uint64_t addr)
{
        struct heap_priv *p;
        int64_t i;

        if (!h || !(p = priv(h)) || !index_ensure(p, h))
                return -1;
        i = addrmap_get(&p->addrs, addr, !p->finished);
        if (i >= 0 || !p->objmap.count)
                return i;
        return idxmap_get(&p->objmap, h, tag_of_u64(addr), obj_eq, &addr);
}

int64_t heap_type_find(const struct heap *h, uint64_t type_addr)
{
        if (!h || !priv(h))
                return -1;
        return idxmap_get(&priv(h)->typemap, h, tag_of_u64(type_addr), type_eq, &type_addr);
}

/* Names, labels and frames come from target memory: the model keeps them
 * as valid UTF-8 (utf8.h: U+FFFD for what is not), so the writers, the
 * browser and the dump all get the same text. */
static char *dup_utf8(const char *s)
{
        size_t n = strlen(s);
        char *c;

        if (utf8_valid(s, n))
                return strdup(s);
        /* a bad byte becomes 3 bytes at most */
        c = malloc(3 * n + 1);
        if (c)
                utf8_sanitize(c, 3 * n + 1, s, NULL);
        return c;
}

static char *join_name(const char *module, const char *qualname)
{
        size_t lm = strlen(module), lq = strlen(qualname);
        char *s = malloc(lm + lq + 2);

        if (!s)
                return NULL;
        if (lm) {
                memcpy(s, module, lm);
                s[lm++] = '.';
        }
        memcpy(s + lm, qualname, lq + 1);
        return s;
}

int heap_intern_type(struct heap *h, uint64_t type_addr, const char *module,
                     const char *qualname, bool opaque, uint32_t *ret)
{
        struct heap_priv *p;
        struct heap_type t = {.addr = type_addr, .opaque = opaque};
        uint64_t *slot;
        uint32_t tag;
        int r;

        if (!h || !(p = priv(h)) || p->finished)
                return -EINVAL;
        r = idxmap_reserve(&p->typemap);
        if (r < 0)
                return r;
        tag = tag_of_u64(type_addr);
        slot = idxmap_slot(&p->typemap, h, tag, type_eq, &type_addr);
        if (*slot) {
                if (ret)
                        *ret = (uint32_t)*slot - 1;
                return 0;
        }
        r = grow32((void **)&h->types, &h->cap_types, (uint64_t)h->ntypes + 1,
                   sizeof(*h->types), HEAP_MAX_TYPES);
        if (r < 0)
                return r;
        /* Never NULL names: the writers print them without checking. */
        t.module = dup_utf8(module ? module : "");
        t.qualname = dup_utf8(qualname ? qualname : "?");
        if (t.module && t.qualname)
                t.fullname = join_name(t.module, t.qualname);
        if (!t.fullname) {
                free(t.module);
                free(t.qualname);
                return -ENOMEM;
        }
        h->types[h->ntypes] = t;
        *slot = ((uint64_t)tag << 32) | ((uint64_t)h->ntypes + 1);
        p->typemap.count++;
        if (ret)
                *ret = h->ntypes;
        h->ntypes++;
        return 0;
}

int heap_intern_label(struct heap *h, const char *text, uint32_t *ret)
{
        struct heap_priv *p;
        uint64_t *slot;
        uint32_t tag;
        char *copy, *clean = NULL;
        int r;

        if (!h || !(p = priv(h)) || !text || p->finished)
                return -EINVAL;
        r = idxmap_reserve(&p->labelmap);
        if (r < 0)
                return r;
        /* looked up as it will be kept */
        if (!utf8_valid(text, strlen(text))) {
                clean = dup_utf8(text);
                if (!clean)
                        return -ENOMEM;
                text = clean;
        }
        tag = tag_of_str(text);
        slot = idxmap_slot(&p->labelmap, h, tag, label_eq, text);
        if (*slot) {
                if (ret)
                        *ret = (uint32_t)*slot - 1;
                free(clean);
                return 0;
        }
        r = grow32((void **)&h->labels, &h->cap_labels, (uint64_t)h->nlabels + 1,
                   sizeof(*h->labels), HEAP_MAX_LABELS);
        if (r < 0) {
                free(clean);
                return r;
        }
        copy = clean ? clean : strdup(text);
        if (!copy)
                return -ENOMEM;
        h->labels[h->nlabels] = copy;
        *slot = ((uint64_t)tag << 32) | ((uint64_t)h->nlabels + 1);
        p->labelmap.count++;
        if (ret)
                *ret = h->nlabels;
        h->nlabels++;
        return 0;
}

/* The build-time edge_start covers the tracked objects, allocated once
 * ntracked is final, and grows for the few untracked sources that come
 * after them (heap-build.h). */
static int ensure_estart(struct heap *h, uint64_t need)
{
        struct heap_priv *p = priv(h);
        uint64_t n = (uint64_t)h->ntracked + 1;
        uint32_t *es;

        if (p->estart && need <= p->capstart)
                return 0;
        if (need > n)
                n = need + need / 2 < (uint64_t)h->nobjs + 1 ? need + need / 2 :
                        (uint64_t)h->nobjs + 1;
        if (n < need)
                n = need;
        es = heap_big_realloc(p->estart, n * sizeof(*es));
        if (!es)
                return -ENOMEM;
        /* filled front to back as the objects are decoded */
        heap_big_prefault(es, (size_t)p->capstart * sizeof(*es), n * sizeof(*es));
        p->estart = es;
        p->capstart = (uint32_t)n;
        return 0;
}

/* The edge_lab code of label on the edge at pos among its source's. */
static uint16_t label_code(uint32_t label, uint64_t pos)
{
        if (pos <= ~HEAP_LABEL_INDEX_BIT && label == heap_label_index((uint32_t)pos))
                return HEAP_LAB_POS;
        if (label < HEAP_LAB_INDEX0)
                return (uint16_t)label;
        if ((label & HEAP_LABEL_INDEX_BIT) &&
            (label & ~HEAP_LABEL_INDEX_BIT) < HEAP_LAB_RPOS - HEAP_LAB_INDEX0)
                return (uint16_t)(HEAP_LAB_INDEX0 + (label & ~HEAP_LABEL_INDEX_BIT));
        return HEAP_LAB_ESC;
}

uint32_t heap_edge_label_escaped(const struct heap *h, uint64_t e)
{
        uint64_t lo = 0, hi = h->nlab_esc;

        while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;

                if (h->lab_esc_edge[mid] < e)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < h->nlab_esc && h->lab_esc_edge[lo] == e ? h->lab_esc[lo] : 0;
}

/* The latest source's edges, once complete: labels [n-1] .. [0] in that
 * order are HEAP_LAB_RPOS, which only the whole count allows.  Only worth
 * a rewrite when some of them had escaped. */
static void fold_run(struct heap *h, struct heap_priv *p)
{
        uint64_t first;

        if (p->last_src < 0 || !p->run_desc || h->nlab_esc == p->run_esc)
                return;
        first = p->estart[p->last_src];
        if (p->run_top != h->nedges - first - 1)
                return;
        for (uint64_t e = first; e < h->nedges; e++)
                h->edge_lab[e] = HEAP_LAB_RPOS;
        h->nlab_esc = p->run_esc;
}

int heap_add_edge(struct heap *h, uint32_t src, uint32_t dst, uint32_t label)
{
        struct heap_priv *p;
        uint64_t cap, pos;
        uint16_t code;
        int r;

        if (!h || !(p = priv(h)) || !p->tracked_done || p->finished)
                return -EINVAL;
        if (src >= h->nobjs || (int64_t)src < p->last_src || dst >= h->nobjs)
                return -EINVAL;
        if (!(label & HEAP_LABEL_INDEX_BIT) && label >= h->nlabels)
                return -EINVAL;
        r = ensure_estart(h, (uint64_t)src + 1);
        if (r < 0)
                return r;
        if (h->nedges >= HEAP_MAX_EDGES)
                return -ENOMEM;  /* the walk names the bound */
        if (h->nedges == h->cap_edges) {
                /* Two arrays, one capacity: commit cap only when both grew. */
                cap = h->cap_edges;
                r = grow_big((void **)&h->edge_dst, &cap, h->nedges + 1, sizeof(*h->edge_dst),
                             1024);
                if (r < 0)
                        return r;
                cap = h->cap_edges;
                r = grow_big((void **)&h->edge_lab, &cap, h->nedges + 1,
                             sizeof(*h->edge_lab), 1024);
                if (r < 0)
                        return r;
                h->cap_edges = cap;
                PREFAULT_GROWN(h->edge_dst, h->nedges, PF_EDGES);
                PREFAULT_GROWN(h->edge_lab, h->nedges, PF_EDGES);
        }
        PREFAULT_STEP(h->edge_dst, h->nedges, PF_EDGES);
        PREFAULT_STEP(h->edge_lab, h->nedges, PF_EDGES);
        if (src != p->last_src)
                fold_run(h, p);
        while (p->nstart <= src)
                p->estart[p->nstart++] = (uint32_t)h->nedges;
        pos = h->nedges - p->estart[src];
        if (pos == 0) {
                p->run_desc = (label & HEAP_LABEL_INDEX_BIT) != 0;
                p->run_top = label & ~HEAP_LABEL_INDEX_BIT;
                p->run_esc = h->nlab_esc;
        } else if (p->run_desc) {
                p->run_desc = pos <= p->run_top &&
                              label == heap_label_index((uint32_t)(p->run_top - pos));
        }
        p->last_src = src;
        code = label_code(label, pos);
        if (code == HEAP_LAB_ESC) {
                if (h->nlab_esc == h->cap_lab_esc) {
                        /* two arrays, one capacity, as for the edges */
                        cap = h->cap_lab_esc;
                        r = grow_big((void **)&h->lab_esc_edge, &cap, h->nlab_esc + 1,
                                     sizeof(*h->lab_esc_edge), 64);
                        if (r < 0)
                                return r;
                        cap = h->cap_lab_esc;
                        r = grow_big((void **)&h->lab_esc, &cap, h->nlab_esc + 1,
                                     sizeof(*h->lab_esc), 64);
                        if (r < 0)
                                return r;
                        h->cap_lab_esc = cap;
                }
                h->lab_esc_edge[h->nlab_esc] = (uint32_t)h->nedges;
                h->lab_esc[h->nlab_esc++] = label;
        }
        h->edge_dst[h->nedges] = dst;
        h->edge_lab[h->nedges] = code;
        h->nedges++;
        return 0;
}

/* Room in h->native for n objects (zeros for the new ones). */
static int native_extend(struct heap *h, uint64_t n)
{
        struct heap_priv *p = priv(h);
        uint64_t *nn;

        if (n <= p->native_len)
                return 0;
        nn = heap_big_realloc(h->native, n * sizeof(*nn));
        if (!nn)
                return -ENOMEM;
        memset(nn + p->native_len, 0, (n - p->native_len) * sizeof(*nn));
        h->native = nn;
        p->native_len = (uint32_t)n;
        return 0;
}

int heap_set_native(struct heap *h, uint32_t obj, uint64_t bytes)
{
        struct heap_priv *p;
        int r;

        if (!h || !(p = priv(h)) || obj >= h->nobjs)
                return -EINVAL;
        if (!h->native && !bytes)
                return 0;
        /* objects keep coming while the walk runs: room for them too */
        r = native_extend(h, p->finished || h->cap_objs <= obj ? (uint64_t)h->nobjs :
                          (uint64_t)h->cap_objs);
        if (r < 0)
                return r;
        uint64_t old = h->native[obj];

        h->native_total = h->native_total - old + bytes;
        h->native[obj] = bytes;
        if (p->finished)
                h->types[h->objs[obj].type].native += bytes - old;
        return 0;
}

int heap_finish(struct heap *h)
{
        struct heap_priv *p;
        uint32_t *es;
        int r;

        if (!h || !(p = priv(h)) || p->finished)
                return -EINVAL;
        p->tracked_done = 1;
        if (p->estart)
                fold_run(h, p);
        r = ensure_estart(h, 1);
        if (r < 0)
                return r;
        es = heap_big_realloc(p->estart, ((size_t)h->nobjs + 1) * sizeof(*es));
        if (!es)
                return -ENOMEM;
        p->estart = es;
        while (p->nstart <= h->nobjs)
                es[p->nstart++] = (uint32_t)h->nedges;
        h->edge_start = es;
        p->estart = NULL;
        p->finished = 1;
        addrmap_release(&p->addrs);
        idxmap_release(&p->objmap);
        atomic_store_explicit(&p->index_ready, false, memory_order_relaxed);

        trim_big((void **)&h->objs, h->nobjs, sizeof(*h->objs));
        if (h->objs)
                h->cap_objs = h->nobjs;
        /* previews added later (the dump loader) grow these again */
        trim_big((void **)&h->preview_pool, h->preview_pool_len, 1);
        if (h->preview_pool && h->preview_pool_len)
                h->preview_pool_cap = h->preview_pool_len;
        trim_big((void **)&h->preview_obj, h->npreviews, sizeof(uint32_t));
        trim_big((void **)&h->preview_off, h->npreviews, sizeof(uint32_t));
        if (h->npreviews)
                h->cap_previews = h->npreviews;
        trim_big((void **)&h->edge_dst, h->nedges, sizeof(*h->edge_dst));
        trim_big((void **)&h->edge_lab, h->nedges, sizeof(*h->edge_lab));
        trim_big((void **)&h->lab_esc_edge, h->nlab_esc, sizeof(*h->lab_esc_edge));
        trim_big((void **)&h->lab_esc, h->nlab_esc, sizeof(*h->lab_esc));
        if (h->nlab_esc)
                h->cap_lab_esc = h->nlab_esc;
        if (h->nedges)
                h->cap_edges = h->nedges;

        memset(h->ngen_counts, 0, sizeof(h->ngen_counts));
        h->ndecoded = 0;
        for (uint32_t t = 0; t < h->ntypes; t++)
                h->types[t].count = h->types[t].bytes = h->types[t].tracked =
                        h->types[t].native = 0;
        if (h->native && p->native_len < h->nobjs) {
                r = native_extend(h, h->nobjs);
                if (r < 0)
                        return r;
        }
        for (uint32_t i = 0; i < h->nobjs; i++) {
                const struct heap_obj *o = &h->objs[i];
                struct heap_type *t = &h->types[o->type];

                h->ngen_counts[o->gen]++;
                t->count++;
                t->bytes += o->size;
                t->native += heap_native(h, i);
                if (o->gen != HEAP_GEN_UNTRACKED) {
                        t->tracked++;
                        if (!(o->flags & HOBJ_OPAQUE))
                                h->ndecoded++;
                }
        }
        return 0;
}

int heap_add_root(struct heap *h, uint32_t obj, enum heap_root_kind kind, uint32_t label,
                  uint32_t frame)
{
        struct heap_priv *p;
        int r;

        if (!h || !(p = priv(h)) || p->finished || obj >= h->nobjs ||
            (unsigned)kind >= HEAP_ROOT__COUNT)
                return -EINVAL;
        if (label != HEAP_ROOT_NO_LABEL && !(label & HEAP_LABEL_INDEX_BIT) &&
            label >= h->nlabels)
                return -EINVAL;
        if (frame != UINT32_MAX && frame >= h->nframes)
                return -EINVAL;
        r = grow32((void **)&h->roots, &h->cap_roots, (uint64_t)h->nroots + 1,
                   sizeof(*h->roots), UINT32_MAX - 1);
        if (r < 0)
                return r;
        h->roots[h->nroots++] = (struct heap_root){
                .obj = obj, .kind = (uint8_t)kind, .label = label, .frame = frame,
        };
        return 0;
}

int heap_add_thread(struct heap *h, uint64_t thread_id, int64_t native_id, uint32_t *ret)
{
        struct heap_priv *p;
        int r;

        if (!h || !(p = priv(h)) || p->finished)
                return -EINVAL;
        /* a dump loader may have sized the array itself */
        if (p->cap_threads < h->nthreads)
                p->cap_threads = h->nthreads;
        r = grow32((void **)&h->threads, &p->cap_threads, (uint64_t)h->nthreads + 1,
                   sizeof(*h->threads), UINT32_MAX - 1);
        if (r < 0)
                return r;
        h->threads[h->nthreads] = (struct heap_thread){
                .thread_id = thread_id, .native_id = native_id, .first_frame = h->nframes,
        };
        if (ret)
                *ret = h->nthreads;
        h->nthreads++;
        return 0;
}

int heap_add_frame(struct heap *h, uint32_t thread, const char *function,
                   const char *filename, int line, uint32_t code, uint32_t *ret)
{
        struct heap_priv *p;
        struct heap_thread *t;
        struct heap_frame f = {.thread = thread, .line = line, .code = code};
        int r;

        if (!h || !(p = priv(h)) || p->finished || thread >= h->nthreads)
                return -EINVAL;
        if (code != UINT32_MAX && code >= h->nobjs)
                return -EINVAL;
        /* a thread's frames are one contiguous run: only the thread whose
         * frames end the array can get more */
        t = &h->threads[thread];
        if (t->first_frame + t->nframes != h->nframes)
                return -EINVAL;
        if (p->cap_frames < h->nframes)
                p->cap_frames = h->nframes;
        r = grow32((void **)&h->frames, &p->cap_frames, (uint64_t)h->nframes + 1,
                   sizeof(*h->frames), UINT32_MAX - 1);
        if (r < 0)
                return r;
        f.function = dup_utf8(function ? function : "?");
        f.filename = dup_utf8(filename ? filename : "?");
        if (!f.function || !f.filename) {
                free(f.function);
                free(f.filename);
                return -ENOMEM;
        }
        h->frames[h->nframes] = f;
        t->nframes++;
        if (ret)
                *ret = h->nframes;
        h->nframes++;
        return 0;
}

const char *heap_label_text(const struct heap *h, uint32_t label, char *buf, size_t len)
{
        if (!buf || len == 0)
                return "";
        if (label & HEAP_LABEL_INDEX_BIT)
                snprintf(buf, len, "[%u]", label & ~HEAP_LABEL_INDEX_BIT);
        else if (h && label < h->nlabels)
                snprintf(buf, len, "%s", h->labels[label]);
        else
                snprintf(buf, len, "?");
        return buf;
}

/* ---- value previews
 *
 * Storage: two parallel arrays (object index, offset into one text pool)
 * sorted by object, plus the pool.  8 bytes per previewed object and
 * nothing for the others, instead of a 4-byte slot for every object: no
 * coupling with objs[] growth, the walker and the dump loader both produce
 * previews in ascending object order (appends), and lookups are a binary
 * search (~24 steps at 10M objects), which is fast enough for a screen;
 * a search reads the arrays in order.  Offsets are 32-bit: the pool is
 * capped far below 4 GiB (HEAP_PREVIEW_POOL_MAX). */

static int64_t preview_find(const struct heap *h, uint32_t obj)
{
        uint32_t lo = 0, hi = h->npreviews;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (h->preview_obj[mid] < obj)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int heap_set_preview(struct heap *h, uint32_t obj, const char *text)
{
        if (!text)
                return -EINVAL;
        return heap_set_preview_n(h, obj, text, strnlen(text, HEAP_PREVIEW_MAX));
}

int heap_set_preview_n(struct heap *h, uint32_t obj, const char *text, size_t len)
{
        uint64_t k;
        int r;

        if (!h || !text || obj >= h->nobjs)
                return -EINVAL;
        if (len > HEAP_PREVIEW_MAX)
                len = HEAP_PREVIEW_MAX;
        if (h->preview_pool_len + len + 1 > HEAP_PREVIEW_POOL_MAX) {
                h->meta.previews_dropped++;
                return -ENOSPC;
        }
        if (h->preview_pool_len + len + 1 > h->preview_pool_cap) {
                r = grow_big((void **)&h->preview_pool, &h->preview_pool_cap,
                             h->preview_pool_len + len + 1, 1, 1 << 16);
                if (r < 0)
                        return r;
        }
        /* The common case appends: previews come in object order. */
        if (h->npreviews && h->preview_obj[h->npreviews - 1] >= obj) {
                k = (uint64_t)preview_find(h, obj);
                if (h->preview_obj[k] == obj)
                        goto store;     /* replace: the old text stays unused */
        } else {
                k = h->npreviews;
        }
        if (h->npreviews == h->cap_previews) {
                uint32_t cap = h->cap_previews;
                uint32_t *no;

                r = grow32_with((void **)&h->preview_obj, &cap, (uint64_t)h->npreviews + 1,
                                sizeof(uint32_t), UINT32_MAX, heap_big_realloc);
                if (r < 0)
                        return r;
                /* preview_off keeps preview_obj's capacity */
                no = heap_big_realloc(h->preview_off, (size_t)cap * sizeof(uint32_t));
                if (!no)
                        return -ENOMEM;
                h->preview_off = no;
                h->cap_previews = cap;
        }
        if (k < h->npreviews) {
                memmove(h->preview_obj + k + 1, h->preview_obj + k,
                        (h->npreviews - k) * sizeof(uint32_t));
                memmove(h->preview_off + k + 1, h->preview_off + k,
                        (h->npreviews - k) * sizeof(uint32_t));
        }
        h->preview_obj[k] = obj;
        h->npreviews++;
store:
        h->preview_off[k] = (uint32_t)h->preview_pool_len;
        memcpy(h->preview_pool + h->preview_pool_len, text, len);
        h->preview_pool[h->preview_pool_len + len] = '\0';
        h->preview_pool_len += len + 1;
        return 0;
}

int heap_preview(const struct heap *h, uint32_t obj, char *buf, size_t len)
{
        int64_t k;

        if (!h || !buf || !len)
                return -EINVAL;
        buf[0] = '\0';
        if (!h->npreviews)
                return -ENOENT;
        k = preview_find(h, obj);
        if ((uint64_t)k >= h->npreviews || h->preview_obj[k] != obj)
                return -ENOENT;
        const char *t = h->preview_pool + h->preview_off[k];
        size_t n = strlen(t);

        if (n >= len) {
                /* never end in the middle of a UTF-8 character */
                n = len - 1;
                while (n && ((unsigned char)t[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(buf, t, n);
        buf[n] = '\0';
        return 0;
}

const char *heap_gen_name(enum heap_gen g)
{
        static const char *const names[HEAP_GEN__COUNT] = {
                [HEAP_GEN_0] = "0",
                [HEAP_GEN_1] = "1",
                [HEAP_GEN_2] = "2",
                [HEAP_GEN_PERMANENT] = "permanent",
                [HEAP_GEN_UNTRACKED] = "untracked",
        };

        return (unsigned)g < HEAP_GEN__COUNT ? names[g] : "?";
}

void heap_accounting(const struct heap *h, struct heap_accounting *ret)
{
        uint64_t objects = 0, explained;

        for (uint32_t t = 0; t < h->ntypes; t++)
                objects += h->types[t].bytes;
        *ret = (struct heap_accounting){
                .python_objects = objects,
                .buffers = h->native_total,
                .unexplained_known = h->meta.memory.rss_known,
        };
        explained = objects + h->native_total;
        if (ret->unexplained_known && h->meta.memory.rss > explained)
                ret->unexplained = h->meta.memory.rss - explained;
}

const char *heap_cost_name(enum heap_cost_step s)
{
        static const char *const names[HEAP_COST__COUNT] = {
                [HEAP_COST_MODEL] = "model",
                [HEAP_COST_CYCLES] = "cycles",
                [HEAP_COST_LOCAL_CYCLES] = "local_cycles",
                [HEAP_COST_GARBAGE] = "garbage",
                [HEAP_COST_REFERRERS] = "referrers",
                [HEAP_COST_ROOTS] = "roots",
                [HEAP_COST_DOMINATORS] = "dominators",
                [HEAP_COST_CYCLE_RETAINED] = "cycle_retained",
        };

        return (unsigned)s < HEAP_COST__COUNT ? names[s] : "?";
}

/* The bytes the graph itself holds once built: its arrays at their
 * allocated sizes and its strings, not the allocator's own overhead. */
uint64_t heap_model_bytes(const struct heap *h)
{
        uint64_t b = sizeof(*h);

        b += (uint64_t)h->cap_objs * sizeof(*h->objs);
        b += h->edge_start ? ((uint64_t)h->nobjs + 1) * sizeof(*h->edge_start) : 0;
        b += h->cap_edges * (sizeof(*h->edge_dst) + sizeof(*h->edge_lab));
        b += h->cap_lab_esc * (sizeof(*h->lab_esc_edge) + sizeof(*h->lab_esc));
        b += (uint64_t)h->cap_types * sizeof(*h->types);
        for (uint32_t t = 0; t < h->ntypes; t++) {
                const struct heap_type *ty = &h->types[t];

                b += (ty->module ? strlen(ty->module) + 1 : 0) +
                     (ty->qualname ? strlen(ty->qualname) + 1 : 0) +
                     (ty->fullname ? strlen(ty->fullname) + 1 : 0);
        }
        b += (uint64_t)h->cap_labels * sizeof(*h->labels);
        for (uint32_t l = 0; l < h->nlabels; l++)
                b += h->labels[l] ? strlen(h->labels[l]) + 1 : 0;
        b += (uint64_t)h->cap_previews * (sizeof(*h->preview_obj) + sizeof(*h->preview_off));
        b += h->preview_pool_cap;
        b += h->native ? (uint64_t)priv(h)->native_len * sizeof(*h->native) : 0;
        b += (uint64_t)h->cap_roots * sizeof(*h->roots);
        b += (uint64_t)h->ngc_garbage * sizeof(*h->gc_garbage);
        b += (uint64_t)priv(h)->cap_threads * sizeof(*h->threads);
        b += (uint64_t)priv(h)->cap_frames * sizeof(*h->frames);
        return b;
}

void heap_free(struct heap *h)
{
        struct heap_priv *p;

        if (!h)
                return;
        /* the analyses' results, freed by the analyses (analysis-internal.h) */
        if (h->analysis_free)
                h->analysis_free(h);
        p = priv(h);
        if (p) {
                addrmap_release(&p->addrs);
                idxmap_release(&p->objmap);
                idxmap_release(&p->typemap);
                idxmap_release(&p->labelmap);
                heap_big_free(p->estart);
                pthread_mutex_destroy(&p->index_lock);
                free(p);
        }
        for (uint32_t t = 0; t < h->ntypes; t++) {
                free(h->types[t].module);
                free(h->types[t].qualname);
                free(h->types[t].fullname);
        }
        for (uint32_t l = 0; l < h->nlabels; l++)
                free(h->labels[l]);
        free(h->types);
        free(h->labels);
        heap_big_free(h->objs);
        heap_big_free(h->native);
        heap_big_free(h->edge_start);
        heap_big_free(h->edge_dst);
        heap_big_free(h->edge_lab);
        heap_big_free(h->lab_esc_edge);
        heap_big_free(h->lab_esc);
        free(h->gc_garbage);
        free(h->roots);
        free(h->threads);
        for (uint32_t f = 0; h->frames && f < h->nframes; f++) {
                free(h->frames[f].function);
                free(h->frames[f].filename);
        }
        free(h->frames);
        heap_big_free(h->preview_obj);
        heap_big_free(h->preview_off);
        heap_big_free(h->preview_pool);
        free(h);
}
