/* infer: the GC list heads placed from the target's own pointers (see
 * family.h). */
#include "family.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "memsrc.h"
#include "pyinterp.h"
#include "verify.h"

/* No GC state of any version comes near this; it bounds the scan. */
#define GCSTATE_MAX 4096u

static void add_note(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void add_note(char *buf, size_t len, const char *fmt, ...)
{
        size_t used = strlen(buf);
        va_list ap;

        if (used + 3 >= len)
                return;
        if (used) {
                memcpy(buf + used, "; ", 3);
                used += 2;
        }
        va_start(ap, fmt);
        vsnprintf(buf + used, len - used, fmt, ap);
        va_end(ap);
}

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
        add_note(note, len, "GC_GENERATIONS gc+%u (generation0 points there%s)", off,
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
                        add_note(note, len, "GC_GARBAGE gc+%u, GC_CALLBACKS gc+%u (the first "
                                 "two list pointers after the heads)", off, off + 8);
                        return;
                }
        }
        l->f[LF_GC_GARBAGE].present = false;
        l->f[LF_GC_CALLBACKS].present = false;
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
                uint32_t size, char *note, size_t len)
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
        add_note(note, len, "GC_GENERATIONS gc+%u (three list heads that link back)", off);

        l->f[LF_GC_PERMANENT].present = false;
        for (perm = off + 3 * step; perm + 16 <= size; perm += 4)
                if (head_at(m, l, block, perm, size, gc)) {
                        set_field(l, LF_GC_PERMANENT, perm, step, step);
                        add_note(note, len, "GC_PERMANENT gc+%u (the next such head)", perm);
                        break;
                }
        l->f[LF_GC_GENERATION0].present = false;
        for (uint32_t w = 0; w + 8 <= size; w += 8) {
                uint64_t v;

                memcpy(&v, block + w, 8);
                if (v == gc + off) {
                        set_field(l, LF_GC_GENERATION0, w, 8, 8);
                        add_note(note, len, "GC_GENERATION0 gc+%u (it points at the first "
                                 "head)", w);
                        break;
                }
        }
        place_lists(m, pi, l, block, lhas(l, LF_GC_PERMANENT) ? perm + step : off + 3 * step,
                    size, note, len);
        return 0;
}

int infer_gc(struct memsrc *m, const struct pyinterp *pi, struct layout *l, int trust_gen0,
             char *note, size_t len)
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
        return scan(m, pi, l, gc, size, note, len);
}

#define Py_TPFLAGS_HEAPTYPE (1ull << 9)

static bool heap_type(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                      uint64_t t)
{
        uint64_t flags, meta;

        return plausible_ptr(t) && memsrc_read_u64(m, t + lo(l, LF_OBJECT_TYPE), &meta) == 0 &&
               meta == pi->sym[PYSYM_TYPE_TYPE] &&
               memsrc_read_u64(m, t + lo(l, LF_TYPE_FLAGS), &flags) == 0 &&
               (flags & Py_TPFLAGS_HEAPTYPE);
}

/* Calls fn on each distinct type of the objects on the GC lists placed in
 * l, the oldest list first, until fn returns true or a bound is reached. */
static void each_type(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                      bool (*fn)(void *ctx, uint64_t type), void *ctx)
{
        uint32_t step = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24, hsz = lsz(l, LS_GCHEAD);
        uint64_t gc, interp = 0, seen[256];
        size_t nseen = 0;

        if (!lhas(l, LF_GC_GENERATIONS) || !hsz || !lhas(l, LF_RUNTIME_INTERP_HEAD) ||
            memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            !(gc = verify_gc_state_addr(pi, l, interp)))
                return;
        for (int g = 2; g >= 0; g--) {
                uint64_t head = gc + lo(l, LF_GC_GENERATIONS) + (uint64_t)g * step, node;

                if (memsrc_read_u64(m, head + lo(l, LF_GCHEAD_NEXT), &node) < 0)
                        continue;
                for (int i = 0; i < 50000; i++) {
                        uint64_t t;
                        bool dup = false;

                        node &= ~(uint64_t)3;
                        if (node == head || !plausible_ptr(node) ||
                            memsrc_read_u64(m, node + hsz + lo(l, LF_OBJECT_TYPE), &t) < 0)
                                break;
                        for (size_t j = 0; j < nseen && !dup; j++)
                                dup = seen[j] == t;
                        if (!dup) {
                                if (nseen < sizeof(seen) / sizeof(seen[0]))
                                        seen[nseen++] = t;
                                if (fn(ctx, t))
                                        return;
                        }
                        if (memsrc_read_u64(m, node + lo(l, LF_GCHEAD_NEXT), &node) < 0)
                                break;
                }
        }
}

struct heap_types_ctx {
        struct memsrc *m;
        const struct pyinterp *pi;
        const struct layout *l;
        uint64_t *out;
        size_t n, max;
};

static bool collect_heap_type(void *ctx, uint64_t t)
{
        struct heap_types_ctx *c = ctx;

        if (heap_type(c->m, c->pi, c->l, t))
                c->out[c->n++] = t;
        return c->n == c->max;
}

size_t infer_heap_types(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                        uint64_t *out, size_t max)
{
        struct heap_types_ctx c = { m, pi, l, out, 0, max };

        if (!max || !lhas(l, LF_TYPE_FLAGS))
                return 0;
        each_type(m, pi, l, collect_heap_type, &c);
        return c.n;
}

struct named_ctx {
        struct memsrc *m;
        const struct layout *l;
        const char *const *names;
        uint64_t found;
};

static bool match_name(void *ctx, uint64_t t)
{
        struct named_ctx *c = ctx;
        char name[64];
        uint64_t p;

        if (memsrc_read_u64(c->m, t + lo(c->l, LF_TYPE_NAME), &p) < 0 ||
            memsrc_read(c->m, p, name, sizeof(name)) < 0)
                return false;
        name[sizeof(name) - 1] = '\0';
        for (const char *const *n = c->names; *n; n++)
                if (!strcmp(name, *n)) {
                        c->found = t;
                        return true;
                }
        return false;
}

int infer_type_named(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                     const char *const *names, uint64_t *ret)
{
        struct named_ctx c = { m, l, names, 0 };

        if (!lhas(l, LF_TYPE_NAME))
                return -ENOENT;
        each_type(m, pi, l, match_name, &c);
        *ret = c.found;
        return c.found ? 0 : -ENOENT;
}
