/* infer: the GC list heads placed from the target's own pointers (see
 * family.h). */
#include "family.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "memsrc.h"
#include "pyinterp.h"
#include "verify.h"

/* No GC state of any version comes near this; it bounds the scan. */
#define GCSTATE_MAX 4096u

static void set_field(struct layout *l, enum layout_field_id f, uint32_t off, uint32_t size,
                      uint32_t elem)
{
        l->f[f] = (struct layout_field_info){ .offset = off, .size = size, .elem_size = elem,
                                              .present = true };
}

static bool plausible_ptr(uint64_t v)
{
        return v >= 4096 && v < (1ull << 47) && !(v & 3);
}

static int gc_state(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                    uint64_t *ret)
{
        uint64_t interp = 0;

        if (lhas(l, LF_INTERP_GC)) {
                if (!lhas(l, LF_RUNTIME_INTERP_HEAD) ||
                    memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD),
                                    &interp) < 0 || !interp)
                        return -ENOENT;
        }
        *ret = verify_gc_state_addr(pi, l, interp);
        return *ret ? 0 : -ENOENT;
}

/* The generation0 pointer says where the first head is: the one thing
 * Debian's 3.13 moved (gc+24 to gc+20) within a minor version. */
static int from_gen0(struct memsrc *m, struct layout *l, uint64_t gc, uint32_t size,
                     char *note, size_t len)
{
        uint64_t g0;
        uint32_t off;

        if (memsrc_read_u64(m, gc + lo(l, LF_GC_GENERATION0), &g0) < 0 || g0 < gc ||
            g0 + 16 > gc + size)
                return -ENOENT;
        off = (uint32_t)(g0 - gc);
        if (lhas(l, LF_GC_GENERATIONS) && lo(l, LF_GC_GENERATIONS) == off)
                return 0;
        diag_list_add(note, len, "GC_GENERATIONS gc+%u (generation0 points there%s)", off,
                 lhas(l, LF_GC_GENERATIONS) ? ", not where the candidate put them" : "");
        set_field(l, LF_GC_GENERATIONS, off, 3 * (lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24),
                  lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24);
        return 0;
}

static bool is_list(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                    uint64_t obj)
{
        uint64_t t;

        return plausible_ptr(obj) && memsrc_read_u64(m, obj + lo(l, LF_OBJECT_TYPE), &t) == 0 &&
               t == pi->sym[PYSYM_LIST_TYPE];
}

/* After the heads: gc.garbage and gc.callbacks are the first two adjacent
 * list pointers (in that order in every version). */
static void place_lists(struct memsrc *m, const struct pyinterp *pi, struct layout *l,
                        const uint8_t *block, uint32_t from, uint32_t size, char *note,
                        size_t len)
{
        for (uint32_t off = (from + 7) & ~7u; off + 16 <= size; off += 8) {
                uint64_t a, b;

                memcpy(&a, block + off, 8);
                memcpy(&b, block + off + 8, 8);
                if (is_list(m, pi, l, a) && is_list(m, pi, l, b)) {
                        set_field(l, LF_GC_GARBAGE, off, 8, 8);
                        set_field(l, LF_GC_CALLBACKS, off + 8, 8, 8);
                        diag_list_add(note, len, "GC_GARBAGE gc+%u, GC_CALLBACKS gc+%u (the first "
                                 "two list pointers after the heads)", off, off + 8);
                        return;
                }
        }
        l->f[LF_GC_GARBAGE].present = false;
        l->f[LF_GC_CALLBACKS].present = false;
}

/* gc.isenabled() and gc.get_debug() are the two ints just before the first
 * head in every version, with or without four bytes of padding between:
 * the candidate whose first int reads 1 (enabled) and whose second is a
 * debug mask, when exactly one does.  A collector that is disabled reads 0
 * at both, and the state stays unknown. */
static void place_enabled(struct layout *l, const uint8_t *block, uint32_t heads,
                          const struct infer_hints *hints, char *note, size_t len)
{
        uint32_t pick = 0;
        int found = 0;

        /* where another version has it, among the two places: taken as
         * it is (a disabled collector reads 0 and tells nothing) */
        for (uint32_t gap = 0; hints && gap <= 4; gap += 4)
                for (size_t k = 0; k < hints->nenabled; k++)
                        if (heads >= 8 + gap && hints->enabled[k] == heads - 8 - gap) {
                                pick = heads - 8 - gap;
                                found++;
                        }
        if (found == 1) {
                set_field(l, LF_GC_ENABLED, pick, 4, 4);
                set_field(l, LF_GC_DEBUG, pick + 4, 4, 4);
                diag_list_add(note, len, "GC_ENABLED gc+%u, GC_DEBUG gc+%u (of the two places "
                         "before the heads, the one another version uses)", pick, pick + 4);
                return;
        }
        if (heads == 8) {
                /* one place only: the GC state opens with the two ints
                 * (3.15), which a disabled collector leaves at 0 */
                int32_t en, dbg;

                memcpy(&en, block, 4);
                memcpy(&dbg, block + 4, 4);
                if ((en == 0 || en == 1) && dbg >= 0 && dbg <= 0x3f) {
                        set_field(l, LF_GC_ENABLED, 0, 4, 4);
                        set_field(l, LF_GC_DEBUG, 4, 4, 4);
                        diag_list_add(note, len, "GC_ENABLED gc+0, GC_DEBUG gc+4 (the only place "
                                 "for the two ints before the heads at gc+8; they read a flag "
                                 "and a debug mask)");
                }
                return;
        }
        found = 0;
        for (uint32_t gap = 0; gap <= 4; gap += 4) {
                uint32_t c = heads - 8 - gap;
                int32_t en, dbg, pad = 0;

                if (heads < 8 + gap)
                        continue;
                memcpy(&en, block + c, 4);
                memcpy(&dbg, block + c + 4, 4);
                if (gap)
                        memcpy(&pad, block + c + 8, 4);
                if (en == 1 && dbg >= 0 && dbg <= 0x3f && pad == 0) {
                        pick = c;
                        found++;
                }
        }
        if (found != 1)
                return;
        set_field(l, LF_GC_ENABLED, pick, 4, 4);
        set_field(l, LF_GC_DEBUG, pick + 4, 4, 4);
        diag_list_add(note, len, "GC_ENABLED gc+%u, GC_DEBUG gc+%u (the two ints before the heads; "
                 "enabled reads 1)", pick, pick + 4);
}

static bool head_at(struct memsrc *m, const struct layout *l, const uint8_t *block,
                    uint32_t off, uint32_t size, uint64_t gc)
{
        uint64_t next, prev;

        if (off + 16 > size)
                return false;
        memcpy(&next, block + off + lo(l, LF_GCHEAD_NEXT), 8);
        memcpy(&prev, block + off + lo(l, LF_GCHEAD_PREV), 8);
        return plausible_ptr(next & ~(uint64_t)3) && plausible_ptr(prev & ~(uint64_t)3) &&
               verify_links_hold(m, l, gc + off);
}

static int scan(struct memsrc *m, const struct pyinterp *pi, struct layout *l, uint64_t gc,
                uint32_t size, const struct infer_hints *hints, char *note, size_t len)
{
        uint8_t block[GCSTATE_MAX];
        uint32_t step = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24, off, perm;

        if (memsrc_read(m, gc, block, size) < 0)
                return -EFAULT;
        for (off = 0; off + 3 * step <= size; off += 4)
                if (head_at(m, l, block, off, size, gc) &&
                    head_at(m, l, block, off + step, size, gc) &&
                    head_at(m, l, block, off + 2 * step, size, gc))
                        break;
        if (off + 3 * step > size)
                return -ENOENT;
        set_field(l, LF_GC_GENERATIONS, off, 3 * step, step);
        diag_list_add(note, len, "GC_GENERATIONS gc+%u (three list heads that link back)", off);

        l->f[LF_GC_PERMANENT].present = false;
        for (perm = off + 3 * step; perm + 16 <= size; perm += 4)
                if (head_at(m, l, block, perm, size, gc)) {
                        set_field(l, LF_GC_PERMANENT, perm, step, step);
                        diag_list_add(note, len, "GC_PERMANENT gc+%u (the next such head)", perm);
                        break;
                }
        l->f[LF_GC_GENERATION0].present = false;
        for (uint32_t w = 0; w + 8 <= size; w += 8) {
                uint64_t v;

                memcpy(&v, block + w, 8);
                if (v == gc + off) {
                        set_field(l, LF_GC_GENERATION0, w, 8, 8);
                        diag_list_add(note, len, "GC_GENERATION0 gc+%u (it points at the first "
                                 "head)", w);
                        break;
                }
        }
        place_lists(m, pi, l, block, lhas(l, LF_GC_PERMANENT) ? perm + step : off + 3 * step,
                    size, note, len);
        if (!lhas(l, LF_GC_ENABLED))
                place_enabled(l, block, off, hints, note, len);
        return 0;
}

int infer_gc(struct memsrc *m, const struct pyinterp *pi, struct layout *l, int trust_gen0,
             const struct infer_hints *hints, char *note, size_t len)
{
        uint32_t size = lsz(l, LS_GCSTATE);
        uint64_t gc;

        if (!size || size > GCSTATE_MAX)
                size = GCSTATE_MAX;
        if (!lhas(l, LF_GCHEAD_NEXT) || !lhas(l, LF_GCHEAD_PREV) || !lhas(l, LF_OBJECT_TYPE) ||
            gc_state(m, pi, l, &gc) < 0)
                return -ENOENT;
        if (trust_gen0 && lhas(l, LF_GC_GENERATION0) &&
            from_gen0(m, l, gc, size, note, len) == 0)
                return 0;
        return scan(m, pi, l, gc, size, hints, note, len);
}

#define Py_TPFLAGS_HEAPTYPE (1ull << 9)

/* Objects the census looks at, one read of the running target each (the
 * GC head and the object header together). */
#define CENSUS_OBJECTS 400000
#define CENSUS_CACHE (256u << 20)

/* Adds t to the census's set of types (open addressing over types[]'s
 * indices); its index, or -1 when the set is full. */
static int census_add(struct type_census *c, uint64_t t)
{
        uint32_t h = (uint32_t)((t >> 4) * 0x9E3779B1u) & (INFER_CENSUS_SLOTS - 1);

        for (uint32_t k = 0; k < INFER_CENSUS_SLOTS; k++, h = (h + 1) & (INFER_CENSUS_SLOTS - 1)) {
                uint16_t s = c->slot[h];

                if (s && c->types[s - 1] == t)
                        return s - 1;
                if (!s) {
                        if (c->ntypes == INFER_CENSUS_TYPES)
                                return -1;
                        c->types[c->ntypes++] = t;
                        c->slot[h] = (uint16_t)c->ntypes;
                        return (int)c->ntypes - 1;
                }
        }
        return -1;
}

static int census_index(const struct type_census *c, uint64_t t)
{
        uint32_t h = (uint32_t)((t >> 4) * 0x9E3779B1u) & (INFER_CENSUS_SLOTS - 1);

        for (uint32_t k = 0; k < INFER_CENSUS_SLOTS; k++, h = (h + 1) & (INFER_CENSUS_SLOTS - 1)) {
                uint16_t s = c->slot[h];

                if (!s)
                        return -1;
                if (c->types[s - 1] == t)
                        return s - 1;
        }
        return -1;
}

static void sample(struct type_census *c, const struct pyinterp *pi, uint64_t t, uint64_t obj)
{
        if (t == pi->sym[PYSYM_FUNCTION_TYPE] && c->nfunc < INFER_CENSUS_HEAP)
                c->func[c->nfunc++] = obj;
        else if (t == pi->sym[PYSYM_FRAME_TYPE] && c->nframe < INFER_CENSUS_HEAP)
                c->frame[c->nframe++] = obj;
        else if (t && (t == pi->sym[PYSYM_GEN_TYPE] || t == pi->sym[PYSYM_CORO_TYPE]) &&
                 c->ngen < INFER_CENSUS_HEAP)
                c->gen[c->ngen++] = obj;
        else if (t == pi->sym[PYSYM_MODULE_TYPE] && c->nmod < INFER_CENSUS_MODS)
                c->mod[c->nmod++] = obj;
}

void infer_census(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                  struct type_census *c)
{
        uint32_t step = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24, hsz = lsz(l, LS_GCHEAD);
        uint64_t gc, interp = 0;
        int budget = CENSUS_OBJECTS, ended = 0;
        bool cached, keep = c->keep_cache;

        memset(c, 0, sizeof(*c));
        c->taken = true;
        c->keep_cache = keep;
        if (!lhas(l, LF_GC_GENERATIONS) || !hsz || !lhas(l, LF_RUNTIME_INTERP_HEAD) ||
            !lhas(l, LF_TYPE_FLAGS) ||
            memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            !(gc = verify_gc_state_addr(pi, l, interp)))
                return;
        /* Objects sit close together: reading 64 KiB blocks of the
         * running target once turns a syscall per object into a few
         * hundred.  The blocks are dropped after. */
        cached = memsrc_live_cache(m, CENSUS_CACHE) == 0;
        for (int g = 2; g >= 0 && budget > 0; g--) {
                uint64_t head = gc + lo(l, LF_GC_GENERATIONS) + (uint64_t)g * step, node;

                if (memsrc_read_u64(m, head + lo(l, LF_GCHEAD_NEXT), &node) < 0)
                        continue;
                for (; budget > 0; budget--) {
                        uint8_t buf[64];
                        uint32_t want = hsz + lo(l, LF_OBJECT_TYPE) + 8;
                        uint64_t obj, t, flags;
                        int k;

                        node &= ~(uint64_t)3;
                        obj = node + hsz;
                        if (node == head) {
                                ended++;
                                break;
                        }
                        if (!plausible_ptr(node) || want > sizeof(buf) ||
                            memsrc_read(m, node, buf, want) < 0)
                                break;
                        memcpy(&t, buf + hsz + lo(l, LF_OBJECT_TYPE), 8);
                        if ((k = census_add(c, t)) < 0)
                                budget = 1;     /* the set is full: stop */
                        else if (c->ninst[k] < INFER_CENSUS_INST)
                                c->inst[k][c->ninst[k]++] = obj;
                        /* a class: an object whose type is type, with the
                         * heap type flag */
                        if (t == pi->sym[PYSYM_TYPE_TYPE] && c->nheap < INFER_CENSUS_HEAP &&
                            memsrc_read_u64(m, obj + lo(l, LF_TYPE_FLAGS), &flags) == 0 &&
                            (flags & Py_TPFLAGS_HEAPTYPE))
                                c->heap[c->nheap++] = obj;
                        sample(c, pi, t, obj);
                        memcpy(&node, buf + lo(l, LF_GCHEAD_NEXT), 8);
                }
        }
        c->complete = ended == 3;
        if (cached && !keep)
                memsrc_live_cache(m, 0);
}

bool infer_census_has(const struct type_census *c, uint64_t type)
{
        for (size_t i = 0; i < c->ntypes && type; i++)
                if (c->types[i] == type)
                        return true;
        return false;
}

size_t infer_census_instances(const struct type_census *c, uint64_t type,
                              const uint64_t **ret)
{
        int k = type ? census_index(c, type) : -1;

        if (k < 0)
                return 0;
        *ret = c->inst[k];
        return c->ninst[k];
}

int infer_type_named(struct memsrc *m, const struct layout *l, struct type_census *c,
                     const char *const *names, uint64_t *ret)
{
        if (!lhas(l, LF_TYPE_NAME))
                return -ENOENT;
        for (size_t i = 0; i < c->ntypes; i++) {
                char name[64];
                uint64_t p;

                if (!c->named[i]) {
                        c->named[i] = true;
                        if (memsrc_read_u64(m, c->types[i] + lo(l, LF_TYPE_NAME), &p) < 0 ||
                            memsrc_read(m, p, name, sizeof(name)) < 0)
                                continue;
                        /* longer names are none of the ones looked for */
                        name[sizeof(c->names[i]) - 1] = '\0';
                        memcpy(c->names[i], name, sizeof(c->names[i]));
                }
                for (const char *const *n = names; *n; n++)
                        if (!strcmp(c->names[i], *n)) {
                                *ret = c->types[i];
                                return 0;
                        }
        }
        return -ENOENT;
}

/* --- the runtime, the interpreter and its threads, without debug offsets -- */

/* Bounds of the scans: every version's interpreters head lies in the first
 * few hundred bytes of _PyRuntime, its threads head in the first few
 * hundred of the interpreter, and its GC state (or, in 3.8, the runtime's)
 * within the first 8 KiB; 3.13+, where they lie further, have debug
 * offsets and never come here. */
#define RUNTIME_SCAN 4096u
#define INTERP_SCAN 8192u
#define THREADS_MAX 1024
#define THREADS_BUDGET (16 * THREADS_MAX)

/* The offsets the neighbours give f, each once, then nothing more: the
 * candidates tried before a scan. */
static size_t nb_offsets(const struct layout *nb, size_t n, enum layout_field_id f,
                         uint32_t *out)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (nb[i].f[f].present && (k == 0 || out[0] != nb[i].f[f].offset))
                        out[k++] = nb[i].f[f].offset;
        return k;
}

/* The thread list of the interpreter at interp, read with the threads head
 * at thead and tstate->interp, ->next as l has them: every thread state on
 * it points back at interp.  The number of threads, 0 when it does not hold
 * or when *budget (thread states read, shared by a whole search) runs out. */
static int threads_hold(struct memsrc *m, const struct layout *l, uint64_t interp,
                        uint32_t thead, int *budget)
{
        uint64_t ts, back;
        int n = 0;

        if (memsrc_read_u64(m, interp + thead, &ts) < 0 || !plausible_ptr(ts))
                return 0;
        for (; ts && n < THREADS_MAX; n++) {
                /* memory made to look like long thread lists at every
                 * candidate must not make the search quadratic */
                if (--*budget < 0)
                        return 0;
                if (!plausible_ptr(ts) ||
                    memsrc_read_u64(m, ts + lo(l, LF_TSTATE_INTERP), &back) < 0 || back != interp ||
                    memsrc_read_u64(m, ts + lo(l, LF_TSTATE_NEXT), &ts) < 0)
                        return 0;
        }
        return ts ? 0 : n;
}

/* The GC state at gc, read with l's GC state and GC head fields (which the
 * neighbours agree on): generation0 points at the first of three list heads
 * whose neighbours point back at them. */
static bool gc_state_at(struct memsrc *m, const struct layout *l, const uint8_t *block,
                        uint32_t off, uint32_t size, uint64_t base)
{
        uint32_t heads = lo(l, LF_GC_GENERATIONS), g0 = lo(l, LF_GC_GENERATION0);
        uint32_t step = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24;
        uint64_t v;

        if (off + g0 + 8 > size)
                return false;
        memcpy(&v, block + off + g0, 8);
        if (v != base + off + heads)
                return false;
        for (int i = 0; i < 3; i++)
                if (!verify_links_hold(m, l, base + off + heads + (uint64_t)i * step))
                        return false;
        return true;
}

/* Where the GC state lies in the block at base (the interpreter or the
 * runtime): the neighbours' offsets first, then every 8-byte offset. */
static int find_gc_state(struct memsrc *m, const struct layout *l, uint64_t base, uint32_t size,
                         const uint32_t *cand, size_t ncand, uint32_t *ret)
{
        uint8_t block[INTERP_SCAN];

        if (size > sizeof(block) || memsrc_read(m, base, block, size) < 0)
                return -EFAULT;
        for (size_t i = 0; i < ncand; i++)
                if (cand[i] < size && gc_state_at(m, l, block, cand[i], size, base)) {
                        *ret = cand[i];
                        return 1;
                }
        for (uint32_t off = 0; off + 8 <= size; off += 8)
                if (gc_state_at(m, l, block, off, size, base)) {
                        *ret = off;
                        return 0;
                }
        return -ENOENT;
}

/* Candidates: the neighbours' offsets, then every 8-byte offset below
 * limit (scan set from the first that is not a neighbour's). */
static size_t candidates(const struct layout *nb, size_t n, enum layout_field_id f,
                         uint32_t limit, uint32_t *out, size_t max, size_t *nfrom_nb)
{
        size_t k = nb_offsets(nb, n, f, out);

        *nfrom_nb = k;
        for (uint32_t off = 0; off < limit && k < max; off += 8)
                out[k++] = off;
        return k;
}

#define TSCAN 1024u

/* interpreters.head and the interpreter's threads head together: the first
 * pair whose thread list points back at the interpreter. */
static int find_heads(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                      const struct layout *nb, size_t n, uint32_t *ret_h, uint32_t *ret_t,
                      bool *from_nb)
{
        uint32_t hc[RUNTIME_SCAN / 8 + 4], tc[TSCAN / 8 + 4];
        size_t nhn, ntn;
        size_t nh = candidates(nb, n, LF_RUNTIME_INTERP_HEAD, RUNTIME_SCAN, hc, RUNTIME_SCAN / 8 + 4, &nhn);
        size_t nt = candidates(nb, n, LF_INTERP_THREADS_HEAD, TSCAN, tc, TSCAN / 8 + 4, &ntn);
        int budget = THREADS_BUDGET;

        for (size_t i = 0; i < nh; i++) {
                uint64_t interp;
                uint8_t block[TSCAN];

                if (memsrc_read_u64(m, pi->runtime_addr + hc[i], &interp) < 0 ||
                    !plausible_ptr(interp) || memsrc_read(m, interp, block, sizeof(block)) < 0)
                        continue;
                for (size_t j = 0; j < nt; j++) {
                        uint64_t ts;

                        if (tc[j] + 8 > sizeof(block))
                                continue;
                        memcpy(&ts, block + tc[j], 8);
                        if (!plausible_ptr(ts) || threads_hold(m, l, interp, tc[j], &budget) <= 0)
                                continue;
                        *ret_h = hc[i];
                        *ret_t = tc[j];
                        *from_nb = i < nhn && j < ntn;
                        return 0;
                }
        }
        return -ENOENT;
}

/* One pointer-sized field of the interpreter from the neighbours: the
 * offset whose word holds what ok() accepts, when exactly one distinct
 * offset does. */
static int nb_field(struct memsrc *m, const struct layout *l, const struct layout *nb, size_t n,
                    enum layout_field_id f, uint64_t base,
                    bool (*ok)(struct memsrc *, const struct layout *, uint64_t, const void *),
                    const void *arg, uint32_t *ret)
{
        uint32_t c[4];
        size_t k = nb_offsets(nb, n, f, c), hits = 0;

        for (size_t i = 0; i < k; i++) {
                uint64_t v;

                if (memsrc_read_u64(m, base + c[i], &v) == 0 && ok(m, l, v, arg)) {
                        *ret = c[i];
                        hits++;
                }
        }
        return hits == 1 ? 0 : -ENOENT;
}

static bool null_or_interp(struct memsrc *m, const struct layout *l, uint64_t v, const void *arg)
{
        uint32_t thead = *(const uint32_t *)arg;
        int budget = THREADS_MAX;

        return !v || threads_hold(m, l, v, thead, &budget) > 0;
}

static void set_ptr(struct layout *l, enum layout_field_id f, uint32_t off)
{
        set_field(l, f, off, 8, 8);
}

int infer_runtime(struct memsrc *m, const struct pyinterp *pi, const struct layout *nb,
                  size_t n, struct layout *out, char *note, size_t len)
{
        struct layout l = nb[0];     /* the object, thread-state links and GC
                                        state fields, which the callers have
                                        checked the neighbours agree on */
        uint32_t h, t, off, gcc[4];
        uint64_t interp, v;
        bool from_nb;
        size_t k;
        int rc;

        if (!lhas(&l, LF_OBJECT_TYPE) || !lhas(&l, LF_TSTATE_INTERP) ||
            !lhas(&l, LF_TSTATE_NEXT) || !lhas(&l, LF_GC_GENERATIONS) ||
            !lhas(&l, LF_GC_GENERATION0) || !lhas(&l, LF_GCHEAD_NEXT))
                return -ENOENT;
        if (find_heads(m, pi, &l, nb, n, &h, &t, &from_nb) < 0)
                return -ENOENT;
        memsrc_read_u64(m, pi->runtime_addr + h, &interp);
        set_ptr(out, LF_RUNTIME_INTERP_HEAD, h);
        set_ptr(out, LF_INTERP_THREADS_HEAD, t);
        out->f[LF_TSTATE_INTERP] = l.f[LF_TSTATE_INTERP];
        out->f[LF_TSTATE_NEXT] = l.f[LF_TSTATE_NEXT];
        diag_list_add(note, len, "RUNTIME_INTERP_HEAD runtime+%u, INTERP_THREADS_HEAD interp+%u "
                      "(%s: every thread state on that list points back at that interpreter)",
                      h, t, from_nb ? "a neighbour's offsets" : "scanned");
        if (memsrc_read_u64(m, pi->runtime_addr + h + 8, &v) == 0 && v == interp) {
                set_ptr(out, LF_RUNTIME_INTERP_MAIN, h + 8);
                diag_list_add(note, len, "RUNTIME_INTERP_MAIN runtime+%u (the word after the head "
                              "holds the same interpreter)", h + 8);
        }
        if (nb_field(m, &l, nb, n, LF_INTERP_NEXT, interp, null_or_interp, &t, &off) == 0) {
                set_ptr(out, LF_INTERP_NEXT, off);
                diag_list_add(note, len, "INTERP_NEXT interp+%u (the one neighbour's offset that "
                              "holds NULL or another interpreter)", off);
        }
        /* the GC state: the interpreter's (3.9+), else the runtime's (3.8) */
        k = nb_offsets(nb, n, LF_INTERP_GC, gcc);
        rc = find_gc_state(m, &l, interp, INTERP_SCAN, gcc, k, &off);
        if (rc >= 0) {
                out->f[LF_INTERP_GC] = (struct layout_field_info){ .offset = off,
                        .size = lsz(&l, LS_GCSTATE), .elem_size = lsz(&l, LS_GCSTATE),
                        .present = true };
                diag_list_add(note, len, "INTERP_GC interp+%u (%s: generation0 there points at "
                              "three GC list heads that link back)", off,
                              rc ? "a neighbour's offset" : "scanned");
        } else {
                k = nb_offsets(nb, n, LF_RUNTIME_GC, gcc);
                rc = find_gc_state(m, &l, pi->runtime_addr, RUNTIME_SCAN, gcc, k, &off);
                if (rc < 0)
                        return -ENOENT;
                out->f[LF_RUNTIME_GC] = (struct layout_field_info){ .offset = off,
                        .size = lsz(&l, LS_GCSTATE), .elem_size = lsz(&l, LS_GCSTATE),
                        .present = true };
                diag_list_add(note, len, "RUNTIME_GC runtime+%u (%s: the interpreter holds no GC "
                              "state, and generation0 there points at three GC list heads "
                              "that link back)", off, rc ? "a neighbour's offset" : "scanned");
        }
        /* INTERP_MODULES, _SYSDICT, _BUILTINS are left out: the interpreter
         * holds other dicts, and no check here tells them apart (the
         * walk then annotates no module roots) */
        return 0;
}
