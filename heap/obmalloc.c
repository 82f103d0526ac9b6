/* obmalloc: pymalloc's arenas (see obmalloc.h).
 *
 * The figures mirror _PyObject_DebugMallocStats() in Objects/obmalloc.c
 * (3.8-3.15), which tests/e2e compare them with: every arena object whose
 * address is set is an allocated arena; inside it, the pools between the
 * first pool-aligned address and pool_address have been carved, a carved
 * pool whose ref.count is 0 sits on the arena's free list, and nfreepools
 * counts those plus the pools never carved. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "memsrc.h"
#include "obmalloc.h"
#include "pyinterp.h"

/* SMALL_REQUEST_THRESHOLD / ALIGNMENT of 3.8+ (512 / 16; _debugmallocstats
 * prints "in 32 size classes"): size class i holds blocks of (i + 1) * 16
 * bytes. */
#define SIZE_CLASSES 32
#define ALIGNMENT 16
/* states summed at most: as many as the interpreters heap_build walks
 * (MAX_INTERPRETERS in walk.c), each of which may have its own (3.12+) */
#define MAX_STATES 256
/* arena objects read per memsrc_read */
#define CHUNK 256
/* the largest arena_object / pool_header accepted (48 / 48 in 3.8-3.13) */
#define MAX_AO 256
#define MAX_PH 256

/* Where one obmalloc state's three counters are, and their widths. */
struct state_addrs {
        uint64_t arenas, maxarenas, narenas;
        uint32_t w_arenas, w_max, w_n;
};

struct geometry {
        uint64_t arena_size, pool_size, ao_size, ph_size;
        uint64_t overhead;        /* POOL_OVERHEAD: the header rounded up
                                     to ALIGNMENT */
};

struct tally {
        uint64_t arenas, used, free;
};

static int why(struct heap_memory *ret, int rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int why(struct heap_memory *ret, int rc, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ret->arenas_why, sizeof(ret->arenas_why), fmt, ap);
        va_end(ap);
        return rc;
}

static uint64_t le(const uint8_t *b, uint32_t width)
{
        uint32_t v32;
        uint64_t v64;

        if (width == 4) {
                memcpy(&v32, b, 4);
                return v32;
        }
        memcpy(&v64, b, 8);
        return v64;
}

/* A field of a struct read into buf, its offset and width checked against
 * the buffer. */
static int field(const struct layout *l, enum layout_field_id f, const uint8_t *buf, size_t len,
                 uint64_t *ret)
{
        const struct layout_field_info *fi = &l->f[f];

        if (!fi->present || (fi->size != 4 && fi->size != 8) || fi->offset > len ||
            len - fi->offset < fi->size)
                return -EBADMSG;
        *ret = le(buf + fi->offset, fi->size);
        return 0;
}

static int read_uint(struct memsrc *m, uint64_t addr, uint32_t width, uint64_t *ret)
{
        uint8_t b[8];
        int r;

        if (width != 4 && width != 8)
                return -EBADMSG;
        r = memsrc_read(m, addr, b, width);
        if (r < 0)
                return r;
        *ret = le(b, width);
        return 0;
}

/* The layout lacks what pymalloc's bookkeeping needs: say what, and where
 * it would come from.  A table generated before these structs were in
 * layout-fields.h lacks them whatever the build (and a table verified
 * against the build's DWARF stops the DWARF from being read at all). */
static int no_layout(const struct pyinterp *pi, const char *what, struct heap_memory *ret)
{
        const char *src = pi->layout.source ? pi->layout.source : "?";
        unsigned minor = py_minor(pi->version_hex);

        if (strstr(src, "table:"))
                return why(ret, -ENOENT, "the layout (%s) lacks %s: %sthe table predates "
                           "pyleak-attach reading pymalloc (symbols/gen/regen-tables adds it)",
                           src, what, minor >= 13 ? "_Py_DebugOffsets does not describe it and " :
                           "");
        if (minor <= 11)
                return why(ret, -ENOENT, "the layout (%s) lacks %s, private to obmalloc.c: only "
                           "the DWARF of this build describes it (install its debug symbols)",
                           src, what);
        return why(ret, -ENOENT, "the layout (%s) lacks %s: _Py_DebugOffsets does not describe "
                   "pymalloc; the DWARF of this build does (install its debug symbols, "
                   "Debian: python3.%u-dbg)", src, what, minor);
}

static int geometry(const struct pyinterp *pi, struct geometry *g, struct heap_memory *ret)
{
        static const enum layout_field_id need[] = {
                LF_ARENA_ADDRESS, LF_ARENA_POOL_ADDRESS, LF_ARENA_NFREEPOOLS,
                LF_ARENA_NTOTALPOOLS, LF_POOL_COUNT, LF_POOL_SZIDX,
        };
        const struct layout *l = &pi->layout;

        if (!l->s[LS_ARENAOBJ].present || !lsz(l, LS_ARENAOBJ))
                return no_layout(pi, "struct arena_object", ret);
        if (!l->s[LS_POOLHDR].present || !lsz(l, LS_POOLHDR))
                return no_layout(pi, "struct pool_header", ret);
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
                if (!lhas(l, need[i]))
                        return no_layout(pi, layout_field_name(need[i]), ret);
        *g = (struct geometry){
                .arena_size = l->facts.pymalloc_arena_size,
                .pool_size = l->facts.pymalloc_pool_size,
                .ao_size = lsz(l, LS_ARENAOBJ),
                .ph_size = lsz(l, LS_POOLHDR),
        };
        g->overhead = (g->ph_size + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (!g->arena_size || !g->pool_size)
                return why(ret, -EOPNOTSUPP, "pymalloc's arena and pool sizes of CPython %s are "
                           "not known", pi->version);
        if (g->ao_size > MAX_AO || g->ph_size > MAX_PH || g->overhead >= g->pool_size)
                return why(ret, -EBADMSG, "the layout's arena_object (%" PRIu64 " bytes) or "
                           "pool_header (%" PRIu64 " bytes) is implausibly large",
                           g->ao_size, g->ph_size);
        return 0;
}

/* Up to 3.11: obmalloc.c's static globals, one state for the process. */
static int find_static_state(const struct pyinterp *pi, struct state_addrs *st,
                             struct heap_memory *ret)
{
        const char *file = pi->elf_path ? pi->elf_path : "the interpreter's ELF";

        if (!pi->sym[PYSYM_OBM_ARENAS] || !pi->sym[PYSYM_OBM_MAXARENAS] ||
            !pi->sym[PYSYM_OBM_NARENAS]) {
                /* subtype_traverse is local too: it tells a missing
                 * .symtab from one that lacks these names */
                if (!pi->sym[PYSYM_SUBTYPE_TRAVERSE])
                        return why(ret, -ENOENT, "%s has no .symtab (stripped): obmalloc.c's "
                                   "static arenas, maxarenas and narenas_currently_allocated "
                                   "are not exported; a build that keeps its symbols (pyenv, "
                                   "a source build) has them", file);
                return why(ret, -ENOENT, "the .symtab of %s lacks obmalloc.c's static %s", file,
                           !pi->sym[PYSYM_OBM_ARENAS] ? "arenas" :
                           !pi->sym[PYSYM_OBM_MAXARENAS] ? "maxarenas" :
                           "narenas_currently_allocated");
        }
        /* obmalloc.c 3.8-3.11: struct arena_object *arenas; uint maxarenas;
         * size_t narenas_currently_allocated */
        *st = (struct state_addrs){
                .arenas = pi->sym[PYSYM_OBM_ARENAS], .w_arenas = 8,
                .maxarenas = pi->sym[PYSYM_OBM_MAXARENAS], .w_max = 4,
                .narenas = pi->sym[PYSYM_OBM_NARENAS], .w_n = 8,
        };
        return 0;
}

/* 3.12+: each interpreter's obmalloc state, counted once when several
 * share it (3.13+ subinterpreters point at the main one's; 3.12 ones that
 * use the main's leave their own zeroed). */
static int find_interp_states(struct memsrc *m, const struct pyinterp *pi, const uint64_t *interps,
                              int ninterp, struct state_addrs *st, int *ret_n,
                              struct heap_memory *ret)
{
        const struct layout *l = &pi->layout;
        uint32_t width = l->f[LF_INTERP_OBMALLOC].size;
        int n = 0;

        if (!l->s[LS_OBMALLOC].present || !lsz(l, LS_OBMALLOC))
                return no_layout(pi, "struct _obmalloc_state", ret);
        if (!lhas(l, LF_INTERP_OBMALLOC))
                return no_layout(pi, "PyInterpreterState.obmalloc", ret);
        if (!lhas(l, LF_OBM_ARENAS) || !lhas(l, LF_OBM_MAXARENAS) || !lhas(l, LF_OBM_NARENAS))
                return no_layout(pi, "_obmalloc_state.mgmt", ret);
        if (width != lsz(l, LS_OBMALLOC) && width != 8)
                return why(ret, -EBADMSG, "PyInterpreterState.obmalloc is %u bytes wide: neither "
                           "the state (%u) nor a pointer to it", width, lsz(l, LS_OBMALLOC));
        for (int i = 0; i < ninterp; i++) {
                uint64_t s = interps[i] + lo(l, LF_INTERP_OBMALLOC);
                bool seen = false;
                int r;

                if (width == 8) {
                        r = read_uint(m, s, 8, &s);
                        if (r < 0)
                                return why(ret, r, "cannot read interpreter 0x%" PRIx64 "'s "
                                           "obmalloc pointer: %s", interps[i], strerror(-r));
                        if (!s)
                                continue;
                }
                for (int j = 0; j < n && !seen; j++)
                        seen = st[j].arenas == s + lo(l, LF_OBM_ARENAS);
                if (seen)
                        continue;
                if (n == MAX_STATES)
                        return why(ret, -E2BIG, "more than %d obmalloc states", MAX_STATES);
                st[n++] = (struct state_addrs){
                        .arenas = s + lo(l, LF_OBM_ARENAS), .w_arenas = l->f[LF_OBM_ARENAS].size,
                        .maxarenas = s + lo(l, LF_OBM_MAXARENAS),
                        .w_max = l->f[LF_OBM_MAXARENAS].size,
                        .narenas = s + lo(l, LF_OBM_NARENAS), .w_n = l->f[LF_OBM_NARENAS].size,
                };
        }
        *ret_n = n;
        return 0;
}

/* The carved pools of one arena: their free blocks into t, and how many
 * are empty (ref.count 0: on the arena's free list) into *ret_empty. */
static int sum_pools(struct memsrc *m, const struct layout *l, const struct geometry *g,
                     uint64_t base, uint64_t carved, uint64_t *ret_empty, struct tally *t,
                     struct heap_memory *ret)
{
        uint8_t ph[MAX_PH];
        uint64_t empty = 0;

        for (uint64_t p = 0; p < carved; p++) {
                uint64_t a = base + p * g->pool_size, count, sz, size, nblocks;
                int r = memsrc_read(m, a, ph, g->ph_size);

                if (r < 0)
                        return why(ret, r, "cannot read the pool header at 0x%" PRIx64 ": %s", a,
                                   strerror(-r));
                if (field(l, LF_POOL_COUNT, ph, g->ph_size, &count) < 0 ||
                    field(l, LF_POOL_SZIDX, ph, g->ph_size, &sz) < 0)
                        return why(ret, -EBADMSG, "the layout's pool_header fields do not fit "
                                   "its size (%" PRIu64 ")", g->ph_size);
                if (!count) {
                        empty++;
                        continue;
                }
                size = (sz + 1) * ALIGNMENT;
                nblocks = sz < SIZE_CLASSES ? (g->pool_size - g->overhead) / size : 0;
                if (count > nblocks)
                        return why(ret, -EBADMSG, "the pool at 0x%" PRIx64 " claims %" PRIu64
                                   " blocks of size class %" PRIu64 " (at most %" PRIu64 ")",
                                   a, count, sz, nblocks);
                t->free += (nblocks - count) * size;
        }
        *ret_empty = empty;
        return 0;
}

/* One arena object (ao, read into a buffer of g->ao_size bytes). */
static int sum_arena(struct memsrc *m, const struct layout *l, const struct geometry *g,
                     const uint8_t *ao, struct tally *t, struct heap_memory *ret)
{
        uint64_t addr, pools, nfree, ntotal, base, expect, carved, empty = 0;
        int r;

        if (field(l, LF_ARENA_ADDRESS, ao, g->ao_size, &addr) < 0 ||
            field(l, LF_ARENA_POOL_ADDRESS, ao, g->ao_size, &pools) < 0 ||
            field(l, LF_ARENA_NFREEPOOLS, ao, g->ao_size, &nfree) < 0 ||
            field(l, LF_ARENA_NTOTALPOOLS, ao, g->ao_size, &ntotal) < 0)
                return why(ret, -EBADMSG, "the layout's arena_object fields do not fit its size "
                           "(%" PRIu64 ")", g->ao_size);
        if (!addr)
                return 0;
        /* the first pool starts at the first pool-aligned address */
        base = (addr + g->pool_size - 1) / g->pool_size * g->pool_size;
        expect = g->arena_size / g->pool_size - (base != addr);
        if (addr > UINT64_MAX - g->arena_size || ntotal != expect || nfree > ntotal ||
            pools < base || pools > addr + g->arena_size || (pools - base) % g->pool_size ||
            (pools - base) / g->pool_size > ntotal)
                return why(ret, -EBADMSG, "the arena at 0x%" PRIx64 " contradicts itself "
                           "(pool_address 0x%" PRIx64 ", nfreepools %" PRIu64 ", ntotalpools %"
                           PRIu64 ", expected %" PRIu64 ")", addr, pools, nfree, ntotal, expect);
        carved = (pools - base) / g->pool_size;
        r = sum_pools(m, l, g, base, carved, &empty, t, ret);
        if (r < 0)
                return r;
        if (nfree != empty + (ntotal - carved))
                return why(ret, -EBADMSG, "the arena at 0x%" PRIx64 " counts %" PRIu64 " free "
                           "pools, its pools say %" PRIu64, addr, nfree,
                           empty + (ntotal - carved));
        t->arenas++;
        t->used += g->arena_size;
        t->free += nfree * g->pool_size;
        return 0;
}

/* One state: its arena objects, CHUNK at a time into buf. */
static int sum_state(struct memsrc *m, const struct layout *l, const struct geometry *g,
                     const struct state_addrs *s, uint8_t *buf, struct tally *t,
                     struct heap_memory *ret)
{
        uint64_t arenas, max, n, before = t->arenas;
        int r;

        if ((r = read_uint(m, s->arenas, s->w_arenas, &arenas)) < 0 ||
            (r = read_uint(m, s->maxarenas, s->w_max, &max)) < 0 ||
            (r = read_uint(m, s->narenas, s->w_n, &n)) < 0)
                return why(ret, r, "cannot read pymalloc's arenas, maxarenas and "
                           "narenas_currently_allocated at 0x%" PRIx64 ": %s", s->arenas,
                           strerror(-r));
        if (max > OBMALLOC_MAX_ARENAS)
                return why(ret, -E2BIG, "maxarenas is %" PRIu64 ", above the %u arenas "
                           "pyleak-attach reads", max, OBMALLOC_MAX_ARENAS);
        if (n > max || (!arenas && (max || n)) || arenas > UINT64_MAX - max * g->ao_size)
                return why(ret, -EBADMSG, "pymalloc's bookkeeping contradicts itself (arenas "
                           "0x%" PRIx64 ", maxarenas %" PRIu64 ", narenas_currently_allocated %"
                           PRIu64 ")", arenas, max, n);
        for (uint64_t i = 0; i < max; i += CHUNK) {
                uint64_t k = max - i < CHUNK ? max - i : CHUNK;

                r = memsrc_read(m, arenas + i * g->ao_size, buf, k * g->ao_size);
                if (r < 0)
                        return why(ret, r, "cannot read arena objects %" PRIu64 "-%" PRIu64
                                   " at 0x%" PRIx64 ": %s", i, i + k - 1,
                                   arenas + i * g->ao_size, strerror(-r));
                for (uint64_t j = 0; j < k; j++) {
                        r = sum_arena(m, l, g, buf + j * g->ao_size, t, ret);
                        if (r < 0)
                                return r;
                }
        }
        if (t->arenas - before != n)
                return why(ret, -EBADMSG, "%" PRIu64 " arenas are allocated but "
                           "narenas_currently_allocated says %" PRIu64, t->arenas - before, n);
        return 0;
}

int obmalloc_read(struct memsrc *m, const struct pyinterp *pi, const uint64_t *interps,
                  int ninterp, struct heap_memory *ret)
{
        struct state_addrs st[MAX_STATES];
        struct geometry g = {0};
        struct tally t = { 0 };
        uint8_t *buf = NULL;
        int n = 1, r;

        if (!ret)
                return -EINVAL;
        ret->arenas_known = false;
        ret->arenas_used = ret->arenas_free = 0;
        ret->arenas_why[0] = '\0';
        if (!m || !pi || (ninterp && !interps) || ninterp < 0)
                return why(ret, -EINVAL, "no target to read");
        /* where the state is first: up to 3.11 a missing .symtab is the
         * more fundamental reason */
        if (py_at_least(pi->version_hex, 3, 12))
                r = find_interp_states(m, pi, interps, ninterp, st, &n, ret);
        else
                r = find_static_state(pi, &st[0], ret);
        if (r >= 0)
                r = geometry(pi, &g, ret);
        if (r < 0)
                return r;
        buf = malloc(CHUNK * g.ao_size);
        if (!buf)
                return why(ret, -ENOMEM, "out of memory");
        for (int i = 0; i < n && r >= 0; i++)
                r = sum_state(m, &pi->layout, &g, &st[i], buf, &t, ret);
        free(buf);
        if (r < 0)
                return r;
        ret->arenas_known = true;
        ret->arenas_used = t.used;
        ret->arenas_free = t.free;
        return 0;
}
