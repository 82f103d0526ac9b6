/* test-infer: infer_runtime (family.h) on hand-built 3.12-like address
 * spaces in a fake memsrc, with the 3.11 and 3.13 tables as neighbours:
 * the runtime's interpreters head, the interpreter's threads head, next and
 * GC state placed from memory; and hostile memory (a thread list that loops,
 * a GC state whose generation0 lies, an unreadable runtime) bounded and
 * refused, never followed for ever or taken on trust; and the census of
 * the GC lists it places keeping each type's oldest instances. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakemem.h"
#include "family.h"
#include "layout.h"
#include "memsrc.h"
#include "pyinterp.h"
#include "tables.h"
#include "tap.h"

#define RUNTIME 0x20000000ULL
#define INTERP  0x30000000ULL
#define TSTATE  0x40000000ULL
#define TSTATE2 0x40001000ULL

/* 3.12's own offsets, which neither neighbour has (but 3.11's head). */
#define HEAD_OFF    40
#define THREADS_OFF 72
#define GC_OFF      112

static void put64(void *blob, uint32_t off, uint64_t v)
{
        memcpy((char *)blob + off, &v, 8);
}

struct space {
        struct memsrc *m;
        uint8_t *rt, *ip, *ts, *ts2;
};

/* A runtime, one interpreter with two threads and an empty GC state. */
static void build(struct space *s)
{
        uint64_t gc = INTERP + GC_OFF;

        s->m = fakemem_new();
        s->rt = fakemem_add(s->m, RUNTIME, 4096);
        s->ip = fakemem_add(s->m, INTERP, 8192);
        s->ts = fakemem_add(s->m, TSTATE, 512);
        s->ts2 = fakemem_add(s->m, TSTATE2, 512);
        put64(s->rt, HEAD_OFF, INTERP);
        put64(s->rt, HEAD_OFF + 8, INTERP);     /* interpreters.main */
        put64(s->ip, 0, 0);                     /* next: the only one */
        put64(s->ip, 7264, 0x1234);             /* 3.13's next: other data */
        put64(s->ip, THREADS_OFF, TSTATE);
        put64(s->ts, 8, TSTATE2);               /* next */
        put64(s->ts, 16, INTERP);               /* interp */
        put64(s->ts2, 0, TSTATE);               /* prev */
        put64(s->ts2, 16, INTERP);
        /* three empty generations (self-linked heads) at gc+24, +48, +72,
         * generation0 at gc+96 pointing at the first */
        for (int g = 0; g < 3; g++) {
                uint64_t head = gc + 24 + 24 * (uint64_t)g;

                put64(s->ip, GC_OFF + 24 + 24 * g, head);
                put64(s->ip, GC_OFF + 24 + 24 * g + 8, head);
        }
        put64(s->ip, GC_OFF + 96, gc + 24);
}

static size_t neighbours(struct layout *nb)
{
        const struct layout_table *t[8];
        unsigned minors[2] = { 11, 13 };
        size_t n = 0;

        for (int i = 0; i < 2; i++) {
                size_t k = layout_tables_of(3, minors[i], t, 8);

                for (size_t j = 0; j < k; j++)
                        if (!strcmp(t[j]->variant, "")) {
                                layout_init(&nb[n], 0x030c01f0);
                                if (layout_table_fill(t[j], &nb[n], NULL) == 0)
                                        n++;
                                break;
                        }
        }
        return n;
}

static int run(struct space *s, const struct layout *nb, size_t n, struct layout *out,
               char *note, size_t len)
{
        struct pyinterp pi;

        memset(&pi, 0, sizeof(pi));
        pi.version_hex = 0x030c01f0;
        pi.runtime_addr = RUNTIME;
        layout_init(out, pi.version_hex);
        note[0] = '\0';
        return infer_runtime(s->m, &pi, nb, n, out, note, len);
}

/* The census (family.h) over a generation of hand-built objects (3.11's
 * GC state and object header where the runtime was placed): the
 * oldest instances of each type kept, at most INFER_CENSUS_INST of one;
 * a list that loops back on itself is bounded by the census's budget. */
#define OBJS    0x50000000ULL
#define TYPE_A  0x60000000ULL
#define TYPE_B  0x60001000ULL
#define NOBJ    20

static void test_census(struct space *s, const struct layout *nb, const struct layout *placed)
{
        static struct layout l;
        static struct type_census c;
        struct pyinterp pi;
        uint8_t *blk = fakemem_add(s->m, OBJS, NOBJ * 64);
        uint64_t head = INTERP + GC_OFF + 24 + 48, a_first = 0;   /* generation 2 */
        const uint64_t *inst = NULL;
        uint32_t hsz;
        size_t n;

        l = *placed;
        for (int f = 0; f < LF__COUNT; f++) {
                int st = layout_field_struct(f);

                if (st == LS_OBJECT || st == LS_GCHEAD || st == LS_TYPE || st == LS_GCSTATE)
                        l.f[f] = nb->f[f];
        }
        l.s[LS_GCHEAD] = nb->s[LS_GCHEAD];
        l.s[LS_GCGEN] = nb->s[LS_GCGEN];
        hsz = lsz(&l, LS_GCHEAD);
        memset(&pi, 0, sizeof(pi));
        pi.version_hex = 0x030c01f0;
        pi.runtime_addr = RUNTIME;
        /* head -> obj 0 -> ... -> obj 19 -> head; two of type B */
        put64(s->ip, GC_OFF + 24 + 48 + lo(&l, LF_GCHEAD_NEXT), OBJS);
        for (uint64_t i = 0; i < NOBJ; i++) {
                uint64_t node = OBJS + 64 * i;

                put64(blk, (uint32_t)(64 * i + lo(&l, LF_GCHEAD_NEXT)),
                      i + 1 < NOBJ ? node + 64 : head);
                put64(blk, (uint32_t)(64 * i + hsz + lo(&l, LF_OBJECT_TYPE)),
                      i == 3 || i == 11 ? TYPE_B : TYPE_A);
                if (!i)
                        a_first = node + hsz;
        }
        infer_census(s->m, &pi, &l, &c);
        n = infer_census_instances(&c, TYPE_A, &inst);
        ok(c.complete && n == INFER_CENSUS_INST && inst[0] == a_first,
           "census: the %d oldest instances of a type of 18 kept (%zu, complete %d)",
           INFER_CENSUS_INST, n, c.complete);
        n = infer_census_instances(&c, TYPE_B, &inst);
        ok(n == 2 && inst[0] == OBJS + 64 * 3 + hsz && inst[1] == OBJS + 64 * 11 + hsz,
           "census: both instances of the other type, in list order (%zu)", n);
        ok(infer_census_instances(&c, 0x70000000ULL, &inst) == 0 &&
           infer_census_instances(&c, 0, &inst) == 0, "census: no instance of a type not seen");
        /* hostile: the last object links back to the first */
        put64(blk, (uint32_t)(64 * (NOBJ - 1) + lo(&l, LF_GCHEAD_NEXT)), OBJS);
        infer_census(s->m, &pi, &l, &c);
        n = infer_census_instances(&c, TYPE_A, &inst);
        ok(!c.complete && n == INFER_CENSUS_INST,
           "census: a list that loops is walked within the budget, not for ever (%zu)", n);
}

int main(void)
{
        static struct layout nb[2], out;
        static char note[2048];
        struct space s;
        size_t n = neighbours(nb);
        int rc;

        if (n != 2) {
                printf("1..0 # SKIP this build lacks the 3.11 or 3.13 upstream table\n");
                return 77;
        }

        build(&s);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == 0, "3.12-like space: placed (rc %d: %s)", rc, note);
        ok(lhas(&out, LF_RUNTIME_INTERP_HEAD) && lo(&out, LF_RUNTIME_INTERP_HEAD) == HEAD_OFF &&
           lhas(&out, LF_INTERP_THREADS_HEAD) && lo(&out, LF_INTERP_THREADS_HEAD) == THREADS_OFF,
           "interpreters head runtime+%u, threads head interp+%u (want %u, %u)",
           lo(&out, LF_RUNTIME_INTERP_HEAD), lo(&out, LF_INTERP_THREADS_HEAD), HEAD_OFF,
           THREADS_OFF);
        ok(lhas(&out, LF_RUNTIME_INTERP_MAIN) && lo(&out, LF_RUNTIME_INTERP_MAIN) == HEAD_OFF + 8,
           "interpreters main next to the head");
        ok(lhas(&out, LF_INTERP_NEXT) && lo(&out, LF_INTERP_NEXT) == 0,
           "interp next at +0 (3.11's offset holds NULL; 3.13's 7264 neither NULL nor an "
           "interpreter)");
        ok(lhas(&out, LF_INTERP_GC) && lo(&out, LF_INTERP_GC) == GC_OFF && !lhas(&out, LF_RUNTIME_GC),
           "GC state at interp+%u, scanned (want %u)", lo(&out, LF_INTERP_GC), GC_OFF);
        ok(!lhas(&out, LF_INTERP_MODULES) && !lhas(&out, LF_INTERP_SYSDICT) &&
           !lhas(&out, LF_TSTATE_THREAD_ID), "nothing placed without a check: no dicts, no thread ids");
        ok(strstr(note, "points back") && strstr(note, "link back"), "the note names the checks: %s",
           note);
        if (rc == 0)
                test_census(&s, &nb[0], &out);
        memsrc_free(s.m);

        /* both neighbours' offsets of next read NULL: no telling, left out */
        build(&s);
        put64(s.ip, 7264, 0);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == 0 && !lhas(&out, LF_INTERP_NEXT), "next where both candidates read NULL: left "
           "out (rc %d)", rc);
        memsrc_free(s.m);

        /* hostile: the second thread points at itself: the list never ends */
        build(&s);
        put64(s.ts2, 8, TSTATE2);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == -ENOENT, "a thread list that loops is bounded and refused (rc %d)", rc);
        memsrc_free(s.m);

        /* hostile: a thread that belongs to another interpreter */
        build(&s);
        put64(s.ts2, 16, INTERP + 8);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == -ENOENT, "a thread that does not point back: refused (rc %d)", rc);
        memsrc_free(s.m);

        /* hostile: generation0 points at heads that do not link back */
        build(&s);
        put64(s.ip, GC_OFF + 24 + 24, INTERP + 4000);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == -ENOENT, "GC heads that do not link back: no GC state, refused (rc %d)", rc);
        memsrc_free(s.m);

        /* the runtime unreadable */
        s.m = fakemem_new();
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == -ENOENT, "an unreadable runtime: -ENOENT (rc %d)", rc);
        memsrc_free(s.m);

        /* a faulty reader: every 3rd read fails; placed or refused, never
         * a crash or a wrong offset */
        build(&s);
        fakemem_fail_every(s.m, 3);
        rc = run(&s, nb, n, &out, note, sizeof(note));
        ok(rc == -ENOENT || (lo(&out, LF_RUNTIME_INTERP_HEAD) == HEAD_OFF &&
                             lo(&out, LF_INTERP_GC) == GC_OFF),
           "faulty reader: refused or right (rc %d)", rc);
        memsrc_free(s.m);
        return tap_done();
}
