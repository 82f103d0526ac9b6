/* test-obmalloc: pymalloc's arena figures from hand-built bookkeeping
 * (fake memsrc): the figures _debugmallocstats would print, one state per
 * process (<=3.11 statics) or per interpreter (3.12+, embedded or by
 * pointer, shared states counted once), and every hostile variant unknown
 * with its reason, never a partial figure. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fakemem.h"
#include "heap.h"
#include "memsrc.h"
#include "obmalloc.h"
#include "pyinterp.h"
#include "tap.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define POOL (16 * KIB)          /* 3.10+ */
#define AO 48                    /* sizeof(struct arena_object) */
#define PH 48                    /* sizeof(struct pool_header) */

#define INTERP   0x100000ULL     /* two interpreters, 0x1000 apart */
#define STATE    0x200000ULL     /* a pointed-to state (3.13+) */
#define STATE_SZ 1200
#define ARR      0x300000ULL     /* arena objects */
#define A0       0x10000000ULL   /* pool-aligned arena */
#define A2       0x10201000ULL   /* page-aligned only: 63 pools */
#define OBM_OFF  3960            /* PyInterpreterState.obmalloc */
#define SYM_ARENAS 0x400000ULL   /* <=3.11 statics */

struct fx {
        struct memsrc *m;
        struct pyinterp pi;
        uint8_t *arr, *a0, *a2, *interp, *state, *statics;
        uint64_t interps[2];
};

static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void fld(struct layout *l, enum layout_field_id f, uint32_t off, uint32_t size)
{
        l->f[f] = (struct layout_field_info){ .offset = off, .size = size, .elem_size = size,
                                              .present = true };
}

static void st(struct layout *l, enum layout_struct_id s, uint32_t size)
{
        l->s[s] = (struct layout_struct_info){ .size = size, .present = true };
}

/* pool p of the arena at base: count blocks of size class sz */
static void pool(uint8_t *arena, uint64_t off, uint32_t count, uint32_t sz)
{
        w32(arena + off, count);
        w32(arena + off + 36, sz);
}

static void arena_obj(uint8_t *arr, int i, uint64_t addr, uint64_t pool_addr, uint32_t nfree,
                      uint32_t ntotal)
{
        w64(arr + i * AO, addr);
        w64(arr + i * AO + 8, pool_addr);
        w32(arr + i * AO + 16, nfree);
        w32(arr + i * AO + 20, ntotal);
}

/* hex: 3.13.0 (pointer), 3.12.1 (embedded) or 3.11.7 (statics) */
static void build(struct fx *f, uint32_t hex, bool pointer)
{
        struct layout *l = &f->pi.layout;
        bool v312 = hex >= 0x030c0000;
        uint64_t mgmt;

        memset(f, 0, sizeof(*f));
        f->m = fakemem_new();
        layout_init(l, hex);
        l->source = "dwarf";
        f->pi.version_hex = hex;
        snprintf(f->pi.version, sizeof(f->pi.version), "%s",
                 hex >= 0x030d0000 ? "3.13.0" : v312 ? "3.12.1" : "3.11.7");
        f->pi.elf_path = "/opt/lib/libpython3.so";
        st(l, LS_ARENAOBJ, AO);
        fld(l, LF_ARENA_ADDRESS, 0, 8);
        fld(l, LF_ARENA_POOL_ADDRESS, 8, 8);
        fld(l, LF_ARENA_NFREEPOOLS, 16, 4);
        fld(l, LF_ARENA_NTOTALPOOLS, 20, 4);
        st(l, LS_POOLHDR, PH);
        fld(l, LF_POOL_COUNT, 0, 4);
        fld(l, LF_POOL_SZIDX, 36, 4);
        layout_derive_facts(l);

        f->arr = fakemem_add(f->m, ARR, 4 * AO);
        f->a0 = fakemem_add(f->m, A0, MIB);
        f->a2 = fakemem_add(f->m, A2, MIB);
        /* arena 0: 3 pools carved (5 x 32 B, empty, 1 x 512 B), 61 never */
        arena_obj(f->arr, 0, A0, A0 + 3 * POOL, 62, 64);
        pool(f->a0, 0, 5, 1);
        pool(f->a0, 2 * POOL, 1, 31);
        /* arena 1: free slot; arena 2: not pool-aligned, nothing carved */
        arena_obj(f->arr, 2, A2, A2 + POOL - 4096, 63, 63);

        f->interps[0] = INTERP;
        f->interps[1] = INTERP + 0x1000;
        if (!v312) {
                f->statics = fakemem_add(f->m, SYM_ARENAS, 64);
                w64(f->statics, ARR);
                w32(f->statics + 8, 4);
                w64(f->statics + 16, 2);
                f->pi.sym[PYSYM_OBM_ARENAS] = SYM_ARENAS;
                f->pi.sym[PYSYM_OBM_MAXARENAS] = SYM_ARENAS + 8;
                f->pi.sym[PYSYM_OBM_NARENAS] = SYM_ARENAS + 16;
                f->pi.sym[PYSYM_SUBTYPE_TRAVERSE] = 0x7000;
                return;
        }
        st(l, LS_OBMALLOC, STATE_SZ);
        fld(l, LF_INTERP_OBMALLOC, OBM_OFF, pointer ? 8 : STATE_SZ);
        fld(l, LF_OBM_ARENAS, 512, 8);
        fld(l, LF_OBM_MAXARENAS, 520, 4);
        fld(l, LF_OBM_NARENAS, 1064, 8);
        f->interp = fakemem_add(f->m, INTERP, 0x1000 + OBM_OFF + STATE_SZ);
        if (pointer) {
                f->state = fakemem_add(f->m, STATE, STATE_SZ);
                /* both interpreters share the main one's state */
                w64(f->interp + OBM_OFF, STATE);
                w64(f->interp + 0x1000 + OBM_OFF, STATE);
                mgmt = 0;
        } else {
                /* the second interpreter's own state stays zeroed */
                f->state = f->interp + OBM_OFF;
                mgmt = 0;
        }
        w64(f->state + mgmt + 512, ARR);
        w32(f->state + mgmt + 520, 4);
        w64(f->state + mgmt + 1064, 2);
}

static const uint64_t want_free = 505 * 32 + 30 * 512 + 62 * POOL + 63 * POOL;

static int run(struct fx *f, struct heap_memory *mem)
{
        memset(mem, 0xa5, sizeof(*mem));
        return obmalloc_read(f->m, &f->pi, f->interps, 2, mem);
}

static void known(uint32_t hex, bool pointer, const char *what)
{
        struct fx f;
        struct heap_memory mem;
        int r;

        build(&f, hex, pointer);
        r = run(&f, &mem);
        ok(r == 0 && mem.arenas_known && mem.arenas_used == 2 * MIB &&
           mem.arenas_free == want_free && !mem.arenas_why[0],
           "%s: 2 arenas, 2 MiB used, %llu free (got %d, %llu, %llu, '%s')", what,
           (unsigned long long)want_free, r, (unsigned long long)mem.arenas_used,
           (unsigned long long)mem.arenas_free, mem.arenas_why);
        memsrc_free(f.m);
}

static void unknown(struct fx *f, int want_rc, const char *phrase, const char *what)
{
        struct heap_memory mem;
        int r = run(f, &mem);

        ok(r == want_rc && !mem.arenas_known && !mem.arenas_used && !mem.arenas_free &&
           strstr(mem.arenas_why, phrase),
           "%s: unknown (%d), because %s", what, r, mem.arenas_why);
        memsrc_free(f->m);
}

static void hostile(void)
{
        struct fx f;

        build(&f, 0x030d00f0, true);
        w32(f.state + 520, 1u << 30);
        unknown(&f, -E2BIG, "above the", "maxarenas 2^30");

        build(&f, 0x030d00f0, true);
        w64(f.state + 1064, 3);
        unknown(&f, -EBADMSG, "narenas_currently_allocated says 3", "one arena too many claimed");

        build(&f, 0x030d00f0, true);
        w64(f.state + 1064, 5);
        unknown(&f, -EBADMSG, "contradicts itself", "narenas above maxarenas");

        build(&f, 0x030d00f0, true);
        pool(f.a0, 0, 511, 1);
        unknown(&f, -EBADMSG, "claims 511 blocks", "a pool with more blocks than fit");

        build(&f, 0x030d00f0, true);
        pool(f.a0, 0, 1, 40);
        unknown(&f, -EBADMSG, "size class 40", "a size class past the last");

        build(&f, 0x030d00f0, true);
        arena_obj(f.arr, 0, A0, A0 + 3 * POOL, 61, 64);
        unknown(&f, -EBADMSG, "counts 61 free pools", "nfreepools off by one");

        build(&f, 0x030d00f0, true);
        arena_obj(f.arr, 0, A0, A0 + 3 * POOL + 8, 62, 64);
        unknown(&f, -EBADMSG, "contradicts itself", "pool_address inside a pool");

        build(&f, 0x030d00f0, true);
        arena_obj(f.arr, 0, A0, A0 + 3 * POOL, 62, 128);
        unknown(&f, -EBADMSG, "expected 64", "ntotalpools of another arena size");

        build(&f, 0x030d00f0, true);
        arena_obj(f.arr, 0, 0x7000000000ULL, 0x7000000000ULL + POOL, 64, 64);
        unknown(&f, -EFAULT, "cannot read the pool header", "an arena that is not mapped");

        build(&f, 0x030d00f0, true);
        w64(f.state + 512, 0x6000000000ULL);
        unknown(&f, -EFAULT, "cannot read arena objects 0-3", "arenas pointing nowhere");

        build(&f, 0x030d00f0, true);
        w64(f.interp + OBM_OFF, 0x5000000000ULL);
        unknown(&f, -EFAULT, "cannot read pymalloc's arenas", "a state pointer to nowhere");

        build(&f, 0x030d00f0, true);
        f.pi.layout.f[LF_INTERP_OBMALLOC].size = 16;
        unknown(&f, -EBADMSG, "16 bytes wide", "obmalloc neither the state nor a pointer");

        build(&f, 0x030d00f0, true);
        f.pi.layout.f[LF_POOL_SZIDX].offset = PH - 2;
        unknown(&f, -EBADMSG, "pool_header fields do not fit", "a field past its struct");
}

static void missing(void)
{
        struct fx f;

        build(&f, 0x030d00f0, true);
        f.pi.layout.s[LS_OBMALLOC].present = false;
        f.pi.layout.source = "debug_offsets+table:3.13.18-debian";
        unknown(&f, -ENOENT, "the layout (debug_offsets+table:3.13.18-debian) lacks struct "
                "_obmalloc_state: _Py_DebugOffsets does not describe it and the table predates",
                "3.13 from a table without the state's struct");

        build(&f, 0x030d00f0, true);
        f.pi.layout.f[LF_INTERP_OBMALLOC].present = false;
        unknown(&f, -ENOENT, "lacks PyInterpreterState.obmalloc: _Py_DebugOffsets does not "
                "describe pymalloc; the DWARF of this build does", "3.13 without the field");

        build(&f, 0x030c01f0, false);
        f.pi.layout.s[LS_ARENAOBJ].present = false;
        unknown(&f, -ENOENT, "lacks struct arena_object", "3.12 without arena_object");

        build(&f, 0x030b07f0, false);
        f.pi.sym[PYSYM_OBM_MAXARENAS] = 0;
        f.pi.sym[PYSYM_SUBTYPE_TRAVERSE] = 0;
        unknown(&f, -ENOENT, "/opt/lib/libpython3.so has no .symtab (stripped)",
                "3.11 stripped");

        build(&f, 0x030b07f0, false);
        f.pi.sym[PYSYM_OBM_NARENAS] = 0;
        unknown(&f, -ENOENT, "lacks obmalloc.c's static narenas_currently_allocated",
                "3.11 .symtab without one static");

        build(&f, 0x030b07f0, false);
        f.pi.layout.s[LS_POOLHDR].present = false;
        unknown(&f, -ENOENT, "lacks struct pool_header, private to obmalloc.c",
                "3.11 without pool_header's DWARF");
}

/* Every read failing in turn: unknown with a reason, or (past the last
 * read) the exact figures; never anything between. */
static void faults(void)
{
        bool all_ok = true, reached_end = false;
        char bad[320] = "";

        for (uint64_t n = 1; n < 200 && !reached_end; n++) {
                struct fx f;
                struct heap_memory mem;
                int r;

                build(&f, 0x030d00f0, true);
                fakemem_fail_every(f.m, n);
                r = run(&f, &mem);
                if (r == 0)
                        reached_end = true;
                if (r == 0 ? !(mem.arenas_known && mem.arenas_used == 2 * MIB &&
                               mem.arenas_free == want_free)
                           : (mem.arenas_known || mem.arenas_used || mem.arenas_free ||
                              !mem.arenas_why[0])) {
                        all_ok = false;
                        snprintf(bad, sizeof(bad), "read %llu: rc %d '%s'",
                                 (unsigned long long)n, r, mem.arenas_why);
                }
                memsrc_free(f.m);
        }
        ok(all_ok && reached_end, "every failing read gives unknown with a reason %s", bad);
}

int main(void)
{
        known(0x030d00f0, true, "3.13 (state by pointer, shared by two interpreters)");
        known(0x030c01f0, false, "3.12 (embedded state; the second one's zeroed)");
        known(0x030b07f0, false, "3.11 (obmalloc.c's statics by .symtab)");
        hostile();
        missing();
        faults();
        return tap_done();
}
