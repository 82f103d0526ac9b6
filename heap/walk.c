/* walk: heap_build(), the GC-list walk.
 *
 * For every interpreter (3.8: the one runtime-wide GC state) this reads the
 * GC state, refuses a snapshot taken mid-collection, walks the generation
 * lists and the permanent generation (doc/internals.md §GC lists, §GC head), adds every
 * node as a tracked object, then lets decode.c emit each object's
 * references, and finally records the explicit roots: sys.modules, the sys
 * and builtins dicts, and every thread's frames with what they hold.
 * Inconsistent lists (cycles that do not return to the head,
 * misaligned or unreadable nodes) are -EBADMSG: the walk cannot be trusted.
 * Live mode (opts->live: the target runs while it is read) validates every
 * link instead, walks torn lists again and counts what it had to give up
 * (meta.inconsistencies, meta.approximate); see walk_list_live().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "decode.h"
#include "clock.h"
#include "diag.h"
#include "heap-build.h"
#include "memsrc.h"
#include "obmalloc.h"
#include "pyinterp.h"

/* heap_build_opts.progress: a power of two (a mask tests it), ~1 ms of
 * work between calls. */
#define WALK_PROGRESS_EVERY 16384
#define DEFAULT_MAX_OBJECTS 100000000ULL
/* heap.c's HEAP_MAX_OBJS (2^31) less room for the untracked referents met
 * after the bound is checked */
#define HEAP_MAX_OBJECTS    ((1ULL << 31) - (1ULL << 20))
#define MAX_FRAME_SLOTS_ROOTS ((uint64_t)1 << 20)
#define MAX_INTERPRETERS    256

/* The walk's bound: more objects than the target's memory can hold means
 * lists that do not end where they should. */
static int too_many(uint64_t max, struct diag *d)
{
        return diag_set(d, -E2BIG, "more than %llu objects on the GC lists and among their "
                        "referents: stopped walking\nhint: no heap of this process's size "
                        "holds that many (the bound is 1 per 8 bytes of its resident memory, "
                        "at least 100 million): its GC lists are likely corrupt",
                        (unsigned long long)max);
}
#define DECODE_AHEAD        8

struct gclist {
        uint64_t head;           /* address of the list head PyGC_Head */
        enum heap_gen gen;
};

struct gcstate {
        uint64_t addr;
        struct gclist lists[4];
        int nlists;
        uint64_t gen_hdr[3];     /* gc_generation structs for thresholds/counts */
        int ngen_hdr;
        bool spaces;             /* gen_hdr is young, old[0], old[1] */
        int visited_space;       /* which old space is the visited one */
        uint64_t stats;          /* generation_stats[0]; 0: absent or not inline */
        uint32_t stats_step;
        uint64_t permanent;
        int enabled, debug, collecting;
        bool unknown;            /* the layout places neither enabled nor debug */
        uint64_t garbage;
};

static int read_i32(struct pyo *p, uint64_t addr, int *ret)
{
        uint8_t b[4];
        const uint8_t *v = pyo_view(p, addr, 4, b);

        if (!v)
                return -EFAULT;
        *ret = (int32_t)ld32(v, 0);
        return 0;
}

static int read_gcstate(struct walker *w, uint64_t gc, struct gcstate *gs, struct diag *d)
{
        const struct layout *l = w->l;
        struct pyo *p = &w->p;
        uint32_t gensz = lsz(l, LS_GCGEN) ? lsz(l, LS_GCGEN) : 24;
        uint32_t headoff = lhas(l, LF_GCGEN_HEAD) ? lo(l, LF_GCGEN_HEAD) : 0;

        memset(gs, 0, sizeof(*gs));
        gs->addr = gc;
        if (!lhas(l, LF_GC_COLLECTING) || !lhas(l, LF_GC_PERMANENT))
                return diag_set(d, -EOPNOTSUPP,
                                "cannot walk the GC lists: the layout (%s) does not describe "
                                "the GC state", l->source ? l->source : "?");
        if (read_i32(p, gc + lo(l, LF_GC_COLLECTING), &gs->collecting) < 0)
                return diag_set(d, -EFAULT, "cannot read the GC state at 0x%llx",
                                (unsigned long long)gc);
        gs->unknown = !lhas(l, LF_GC_ENABLED);
        if (lhas(l, LF_GC_ENABLED))
                (void)read_i32(p, gc + lo(l, LF_GC_ENABLED), &gs->enabled);
        if (lhas(l, LF_GC_DEBUG))
                (void)read_i32(p, gc + lo(l, LF_GC_DEBUG), &gs->debug);
        if (lhas(l, LF_GC_GARBAGE))
                (void)pyo_u64(p, gc + lo(l, LF_GC_GARBAGE), &gs->garbage);

        if (lhas(l, LF_GC_GENERATION0)) {
                /* The pointer always names the first head, which keeps
                 * distribution patches that shift generations[] working
                 * (Debian 3.13: gc+20 instead of gc+24). */
                uint64_t g0;

                if (pyo_u64(p, gc + lo(l, LF_GC_GENERATION0), &g0) < 0)
                        return diag_set(d, -EFAULT,
                                        "cannot read the GC state's generation0 pointer at 0x%llx",
                                        (unsigned long long)(gc + lo(l, LF_GC_GENERATION0)));
                if (!g0 || (g0 & 3))
                        return diag_set(d, -EBADMSG,
                                        "the GC state's generation0 pointer is invalid (0x%llx)",
                                        (unsigned long long)g0);
                for (int i = 0; i < 3; i++)
                        gs->gen_hdr[i] = g0 + (uint64_t)i * gensz;
                gs->ngen_hdr = 3;
        } else if (lhas(l, LF_GC_GENERATIONS)) {
                uint32_t es = l->f[LF_GC_GENERATIONS].elem_size ? l->f[LF_GC_GENERATIONS].elem_size : gensz;

                for (int i = 0; i < 3; i++)
                        gs->gen_hdr[i] = gc + lo(l, LF_GC_GENERATIONS) + (uint64_t)i * es;
                gs->ngen_hdr = 3;
        } else if (lhas(l, LF_GC_YOUNG) && lhas(l, LF_GC_OLD)) {
                uint32_t es = l->f[LF_GC_OLD].elem_size ? l->f[LF_GC_OLD].elem_size : gensz;

                gs->gen_hdr[0] = gc + lo(l, LF_GC_YOUNG);
                gs->gen_hdr[1] = gc + lo(l, LF_GC_OLD);
                gs->gen_hdr[2] = gc + lo(l, LF_GC_OLD) + es;
                gs->ngen_hdr = 3;
                gs->spaces = true;
                /* Only 0 and 1 name a space; anything else keeps the heads'
                 * own order rather than index old[] with target garbage. */
                if (lhas(l, LF_GC_VISITED_SPACE)) {
                        int vs;

                        if (read_i32(p, gc + lo(l, LF_GC_VISITED_SPACE), &vs) == 0 &&
                            (vs == 0 || vs == 1))
                                gs->visited_space = vs;
                }
        } else {
                return diag_set(d, -EOPNOTSUPP,
                                "cannot walk the GC lists: the layout (%s) has no generation heads",
                                l->source ? l->source : "?");
        }
        /* The incremental design (young + two old spaces) reports the old
         * spaces as generation 2. */
        bool incr = l->facts.gc_design == GC_DESIGN_INCREMENTAL && !lhas(l, LF_GC_GENERATIONS) &&
                    !lhas(l, LF_GC_GENERATION0);
        for (int i = 0; i < 3; i++) {
                gs->lists[i].head = gs->gen_hdr[i] + headoff;
                gs->lists[i].gen = incr ? (i == 0 ? HEAP_GEN_0 : HEAP_GEN_2) : (enum heap_gen)i;
        }
        gs->permanent = gc + lo(l, LF_GC_PERMANENT) + headoff;
        /* Only the inline array of one struct per generation (3.8-3.14),
         * each opening with its Py_ssize_t `collections`: 3.15 turned the
         * member into a pointer to ring buffers, which shows here as one
         * pointer-wide member and is left alone. */
        if (lhas(l, LF_GC_GENERATION_STATS)) {
                const struct layout_field_info *fs = &l->f[LF_GC_GENERATION_STATS];

                if (fs->elem_size >= 8 && fs->size == 3 * fs->elem_size) {
                        gs->stats = gc + fs->offset;
                        gs->stats_step = fs->elem_size;
                }
        }
        gs->lists[3].head = gs->permanent;
        gs->lists[3].gen = HEAP_GEN_PERMANENT;
        gs->nlists = 4;
        return 0;
}

/* Adds the object of a list node whose header could not be read: the list
 * says it exists, so it is kept with an unknown type. */
static int add_unreadable(struct walker *w, uint64_t node, uint64_t obj, enum heap_gen gen,
                          uint32_t *ret_idx)
{
        uint32_t ut;
        int r;

        r = heap_intern_type(w->h, 0, "?", "<unreadable type>", true, &ut);
        if (r < 0)
                return r;
        check_header(w, node, obj, gen);
        return heap_add_object(w->h, obj, ut, gen, 0, 0, HOBJ_PARTIAL | HOBJ_OPAQUE, ret_idx);
}

/* Stripped builds have no subtype_traverse symbol: it is learned from
 * class objects.  Types are classified (and cached) as the walk first meets
 * their instances, and an instance often comes before any class, so learn
 * before the walk.  Classes with cached keys are class statements' classes
 * or (3.12+) C heap types with a managed dict, and the former outnumber the
 * latter by far in any interpreter (the import system alone has dozens), so
 * the most common tp_traverse among a sample of them wins.  Bounded. */
#define LEARN_SCAN_MAX 2000000
#define LEARN_SAMPLE 256
#define LEARN_DISTINCT 16
#define LEARN_TYPE_CACHE 256
static void learn_before_walk(struct walker *w, const struct gcstate *gs)
{
        const struct layout *l = w->l;
        struct pyo *p = &w->p;
        uint32_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
        uint32_t nextoff = lhas(l, LF_GCHEAD_NEXT) ? lo(l, LF_GCHEAD_NEXT) : 0;
        uint64_t scanned = 0, val[LEARN_DISTINCT], best = 0;
        unsigned cnt[LEARN_DISTINCT], nval = 0, sample = 0, bestn = 0;
        /* whether a type is a metatype, by type address: a scan meets the
         * same few hundred types over and over, and reading a type's
         * flags leaves the block of the objects being scanned */
        struct { uint64_t type; bool meta; } seen[LEARN_TYPE_CACHE] = { 0 };

        if (!lhas(l, LF_TYPE_FLAGS) || w->subtype_traverse)
                return;
        for (int i = gs->nlists - 1; i >= 0; i--) {
                uint64_t node, typ, flags;

                if (pyo_u64(p, gs->lists[i].head + nextoff, &node) < 0)
                        continue;
                node &= ~(uint64_t)3;
                while (node && !(node & 7) && node != gs->lists[i].head &&
                       scanned++ < LEARN_SCAN_MAX) {
                        uint64_t obj = node + gch;
                        bool meta = false;

                        if (pyo_type_of(p, obj, &typ) == 0) {
                                unsigned h = (unsigned)((typ >> 4) ^ (typ >> 12)) % LEARN_TYPE_CACHE;

                                if (typ && seen[h].type == typ) {
                                        meta = seen[h].meta;
                                } else if (pyo_u64(p, typ + lo(l, LF_TYPE_FLAGS), &flags) == 0) {
                                        meta = (flags & TPF_TYPE_SUBCLASS) != 0;
                                        seen[h].type = typ;
                                        seen[h].meta = meta;
                                }
                        }
                        if (meta) {
                                uint64_t t = decode_class_traverse(w, obj);
                                unsigned k;

                                for (k = 0; t && k < nval && val[k] != t; k++)
                                        ;
                                if (t && k == nval && nval < LEARN_DISTINCT) {
                                        val[nval] = t;
                                        cnt[nval++] = 0;
                                }
                                if (t && k < nval) {
                                        cnt[k]++;
                                        sample++;
                                }
                                if (sample >= LEARN_SAMPLE)
                                        goto vote;
                        }
                        if (pyo_u64(p, node + nextoff, &node) < 0)
                                break;
                        node &= ~(uint64_t)3;
                }
        }
vote:
        for (unsigned k = 0; k < nval; k++)
                if (cnt[k] > bestn) {
                        bestn = cnt[k];
                        best = val[k];
                }
        if (best)
                decode_set_subtype_traverse(w, best);
}

/* The type of the object at obj for a problem's text, when it reads as
 * an object at all; only on a failure path. */
static uint32_t problem_type(struct walker *w, uint64_t obj)
{
        struct tinfo *t;
        uint64_t typ;
        int64_t i = heap_find(w->h, obj);

        if (i >= 0)
                return w->h->objs[i].type;
        if (!obj || pyo_type_of(&w->p, obj, &typ) < 0 || tinfo_get(w, typ, &t) < 0)
                return UINT32_MAX;
        return t->hidx;
}

/* A snapshot's list failed a check: the problem becomes the walk's
 * message (-EBADMSG).  The list head is no object: obj 0. */
static int list_broken(struct walker *w, const struct gclist *gl, struct heap_problem *p,
                       struct diag *d)
{
        char text[600];

        if (p->node == gl->head && p->check != HEAP_CHECK_GC_PREV)
                p->obj = 0;
        p->type = problem_type(w, p->obj);
        p->gen = (uint8_t)gl->gen;
        heap_add_problem(w->h, p);
        return diag_set(d, -EBADMSG, "%s", heap_problem_text(w->h, p, text, sizeof(text)));
}

/* Walks one circular list of a snapshot; every node becomes a tracked
 * object.  The memory cannot change, so anything odd is -EBADMSG: a node
 * that is no readable address, a _gc_prev that does not point back at the
 * node before (CPython keeps flags in its two low bits: finalized, and
 * collecting, which a snapshot taken mid-collection never gets here with),
 * an object met twice, a head whose _gc_prev is not the last node.  The
 * back link comes in the 16 bytes read for the forward one. */
static int walk_list(struct walker *w, const struct gclist *gl, uint64_t max,
                     uint64_t *ret_count, struct diag *d)
{
        const struct layout *l = w->l;
        struct pyo *p = &w->p;
        uint32_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
        uint32_t nextoff = lhas(l, LF_GCHEAD_NEXT) ? lo(l, LF_GCHEAD_NEXT) : 0;
        uint32_t prevoff = lhas(l, LF_GCHEAD_PREV) ? lo(l, LF_GCHEAD_PREV) : 8;
        uint64_t node, raw, prev = gl->head, count = 0;
        uint8_t b[16];
        const uint8_t *v;
        int r;

        if (nextoff > 8 || prevoff > 8)
                return diag_set(d, -EOPNOTSUPP, "cannot walk the GC lists: the layout (%s) puts "
                                "PyGC_Head's links at %u and %u", l->source ? l->source : "?",
                                nextoff, prevoff);
        if (pyo_u64(p, gl->head + nextoff, &raw) < 0)
                return diag_set(d, -EFAULT, "cannot read the GC list head at 0x%llx",
                                (unsigned long long)gl->head);
        node = raw & ~(uint64_t)3;
        while (node != gl->head) {
                struct objhdr oh;
                uint64_t obj = node + gch, next, back;
                uint32_t idx;

                if (!node || (node & 7) || !(v = pyo_view(p, node, 16, b)))
                        return list_broken(w, gl, &(struct heap_problem){
                                .obj = prev + gch, .node = prev, .value = raw,
                                .check = HEAP_CHECK_GC_NEXT }, d);
                next = ld64(v, nextoff);
                back = ld64(v, prevoff);
                if ((back & ~(uint64_t)3) != prev)
                        return list_broken(w, gl, &(struct heap_problem){
                                .obj = obj, .node = node, .value = back, .expect = prev,
                                .check = HEAP_CHECK_GC_PREV }, d);
                /* the next node's miss overlaps this node's work */
                pyo_prefetch(p, (next & ~(uint64_t)3) + gch);
                if (w->h->nobjs >= max)
                        return too_many(max, d);
                r = obj_header(w, obj, &oh);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        r = add_unreadable(w, node, obj, gl->gen, &idx);
                else if ((r = heap_add_object(w->h, obj, oh.type, gl->gen, oh.refcnt, oh.size,
                                              oh.flags, &idx)) == 0)
                        r = obj_recorded(w, idx, obj, &oh);
                if (r == -EEXIST)
                        return list_broken(w, gl, &(struct heap_problem){
                                .obj = obj, .node = node, .check = HEAP_CHECK_DUPLICATE }, d);
                if (r < 0)
                        return r;
                count++;
                if (w->progress && !(w->h->nobjs & (WALK_PROGRESS_EVERY - 1)))
                        w->progress(w->progress_ctx, w->h->nobjs, 0);
                prev = node;
                raw = next;
                node = next & ~(uint64_t)3;
        }
        if (pyo_u64(p, gl->head + prevoff, &raw) < 0 || (raw & ~(uint64_t)3) != prev)
                return list_broken(w, gl, &(struct heap_problem){
                        .node = gl->head, .value = raw, .expect = prev,
                        .check = HEAP_CHECK_LIST_HEAD }, d);
        *ret_count = count;
        return 0;
}

/* ------------------------------------------------------------- live mode
 *
 * A running target links and unlinks GC objects while the list is read
 * (every allocation of a container, every free).  Each step therefore
 * checks what a consistent doubly linked list guarantees: the next node is
 * an aligned, readable address whose _gc_prev (flag bits masked) points back
 * at the node just left, and its object has a plausible header.  A step
 * that fails is a torn link: the walk resumes from the last node taken if
 * that one is still linked (the mutator finished its update meanwhile),
 * else the list is walked again from its head; objects already taken are
 * skipped.  When every attempt breaks at the same link, the rest of the
 * list is read backwards from the head's _gc_prev up to that link: one
 * corrupt word then loses nothing, and the problem is named.  A list still
 * missing a part after that is given up and counted, or, when every
 * attempt failed the same way (a corruption, not a race), refused with
 * the list, the node and the check.  On an idle target no check fails and
 * the result equals the snapshot walk. */

#define DEFAULT_LIVE_RETRIES 5
#define LIVE_RETRY_PAUSE_NS  200000L
/* Revisits per attempt beyond what earlier attempts added: a list that
 * mutation turned into a loop ends here instead of spinning. */
#define LIVE_REVISIT_SLACK   4096
/* Torn steps per attempt that resume from the last good node before the
 * attempt starts over from the head. */
#define LIVE_MAX_RESUMES     1024

enum live_step {
        LIVE_OK = 0,     /* next node taken (or skipped as known) */
        LIVE_TORN,       /* the list changed under us at this step */
        LIVE_STALE,      /* a check failed on bytes that may be old */
};

/* Bytes at and after a node that one step reads: its links and the
 * object's header (type included). */
#define LIVE_STEP_SPAN 96

/* Which way a live walk follows the list: fwd is the link followed, bwd
 * the one that must point back (offsets in PyGC_Head). */
struct live_dir {
        uint32_t fwd, bwd;
};

/* One step of the live walk at `node` (reached from `prev`): validates the
 * links and the header and adds the object.  *ret_next gets the next node;
 * *ret_known tells the object was already in the heap.  A failed check on
 * a first try is LIVE_STALE: the source may serve cached blocks read a
 * while ago, so the caller forgets them and tries once more (`fresh`)
 * before it believes the list changed.  *why gets the failed check. */
static int live_step_once(struct walker *w, const struct gcstate *gs, const struct gclist *gl,
                          const struct live_dir *dir, uint64_t prev, uint64_t node, bool fresh,
                          uint64_t *ret_next, bool *ret_known, struct heap_problem *why)
{
        const struct layout *l = w->l;
        uint32_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
        int torn = fresh ? LIVE_TORN : LIVE_STALE;
        uint8_t b[16];
        const uint8_t *v;
        uint64_t obj = node + gch, back, pnext;
        struct objhdr oh;
        uint32_t idx;
        int64_t known;
        int r;

        *why = (struct heap_problem){ .obj = prev + gch, .node = prev, .value = node,
                                      .type = UINT32_MAX, .gen = (uint8_t)gl->gen,
                                      .check = HEAP_CHECK_GC_NEXT };
        if (!node || (node & 7))
                return LIVE_TORN;
        if (!(v = pyo_view(&w->p, node, 16, b)))
                return torn;
        *ret_next = ld64(v, dir->fwd) & ~(uint64_t)3;
        back = ld64(v, dir->bwd) & ~(uint64_t)3;
        if (back != prev || !*ret_next) {
                *why = (struct heap_problem){ .obj = obj, .node = node, .value = ld64(v, dir->bwd),
                                              .expect = prev, .type = UINT32_MAX,
                                              .gen = (uint8_t)gl->gen,
                                              .check = HEAP_CHECK_GC_PREV };
                if (back == prev) {
                        why->check = HEAP_CHECK_GC_NEXT;
                        why->value = ld64(v, dir->fwd);
                        why->expect = 0;
                }
                return torn;
        }
        /* Another list's head: a collection spliced this list onto an
         * older generation while we walked it. */
        for (int i = 0; i < gs->nlists; i++)
                if (node == gs->lists[i].head) {
                        why->check = HEAP_CHECK_LIST_HEAD;
                        return torn;
                }
        known = heap_find(w->h, obj);
        if (known >= 0) {
                /* Taken by an earlier attempt on this list, or moved here
                 * from another list (a collection promoted it) while we
                 * walked: the object is there either way, only its
                 * generation is the one seen first. */
                *ret_known = true;
                return LIVE_OK;
        }
        *ret_known = false;
        r = obj_header(w, obj, &oh);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                why->check = HEAP_CHECK_HEADER;
                why->obj = obj;
                why->node = node;
                if (!fresh)
                        return LIVE_STALE;
                /* A node still linked from both sides is in the list for
                 * good: keep it as a snapshot would.  Otherwise the object
                 * was being freed or created while we read it. */
                if (pyo_u64(&w->p, prev + dir->fwd, &pnext) < 0 ||
                    (pnext & ~(uint64_t)3) != node)
                        return LIVE_TORN;
                return add_unreadable(w, node, obj, gl->gen, &idx);
        }
        r = heap_add_object(w->h, obj, oh.type, gl->gen, oh.refcnt, oh.size, oh.flags, &idx);
        if (r < 0)
                return r;
        return obj_recorded(w, idx, obj, &oh);
}

static int live_step(struct walker *w, const struct gcstate *gs, const struct gclist *gl,
                     const struct live_dir *dir, uint64_t prev, uint64_t node,
                     uint64_t *ret_next, bool *ret_known, struct heap_problem *why)
{
        int r = live_step_once(w, gs, gl, dir, prev, node, false, ret_next, ret_known, why);

        if (r != LIVE_STALE)
                return r;
        memsrc_forget(w->p.m, prev, 16);
        memsrc_forget(w->p.m, node, LIVE_STEP_SPAN);
        return live_step_once(w, gs, gl, dir, prev, node, true, ret_next, ret_known, why);
}

static bool same_cut(const struct heap_problem *a, const struct heap_problem *b)
{
        return a->check == b->check && a->node == b->node && a->value == b->value &&
               a->expect == b->expect;
}

/* The one node both walks name but neither took (its own outgoing link
 * is the bad one): in the list for good, so taken as a snapshot would. */
static int take_between(struct walker *w, const struct gclist *gl, uint64_t node)
{
        uint32_t gch = lsz(w->l, LS_GCHEAD) ? lsz(w->l, LS_GCHEAD) : 16, idx;
        uint64_t obj = node + gch;
        struct objhdr oh;
        int r;

        if (heap_find(w->h, obj) >= 0)
                return 0;
        r = obj_header(w, obj, &oh);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return add_unreadable(w, node, obj, gl->gen, &idx);
        r = heap_add_object(w->h, obj, oh.type, gl->gen, oh.refcnt, oh.size, oh.flags, &idx);
        return r < 0 ? r : obj_recorded(w, idx, obj, &oh);
}

/* The list read backwards from its head's _gc_prev, after the forward
 * walks all broke at the link from `fwd_last` (the last node they took).
 * Nodes already taken are passed over.  True when the two walks meet:
 * the backward one comes back to the head, or stops at a node that
 * fwd_last's _gc_next names or whose _gc_prev names fwd_last (only the
 * link between them is bad), or both name the same node between them
 * (its own links are the bad ones): then no node is missing. */
static int walk_back_live(struct walker *w, const struct gcstate *gs, const struct gclist *gl,
                          uint64_t max, uint64_t fwd_last, bool *ret_met)
{
        const struct layout *l = w->l;
        struct live_dir back = { .fwd = lo(l, LF_GCHEAD_PREV), .bwd = lo(l, LF_GCHEAD_NEXT) };
        uint64_t from = gl->head, node, fnext = 0, nprev = 0, steps = 0;
        struct heap_problem why;
        int r;

        *ret_met = false;
        memsrc_forget(w->p.m, 0, UINT64_MAX);
        if (pyo_u64(&w->p, gl->head + back.fwd, &node) < 0)
                return 0;
        node &= ~(uint64_t)3;
        /* every node of the list at most once, plus those taken before */
        while (node != gl->head && steps++ <= (uint64_t)w->h->nobjs + LIVE_REVISIT_SLACK) {
                uint64_t next = 0;
                bool known = false;

                if (w->h->nobjs >= max)
                        return 0;
                r = live_step(w, gs, gl, &back, from, node, &next, &known, &why);
                if (r < 0)
                        return r;
                if (r == LIVE_TORN)
                        break;
                from = node;
                node = next;
        }
        if (node == gl->head) {
                *ret_met = true;
                return 0;
        }
        if (pyo_u64(&w->p, fwd_last + back.bwd, &fnext) < 0 ||
            pyo_u64(&w->p, from + back.fwd, &nprev) < 0)
                return 0;
        fnext &= ~(uint64_t)3;
        nprev &= ~(uint64_t)3;
        if (fnext == from || nprev == fwd_last) {
                *ret_met = true;
                return 0;
        }
        if (fnext != nprev || !fnext || (fnext & 7) || w->h->nobjs >= max)
                return 0;
        for (int i = 0; i < gs->nlists; i++)
                if (fnext == gs->lists[i].head)
                        return 0;
        r = take_between(w, gl, fnext);
        *ret_met = r >= 0;
        return r < 0 ? r : 0;
}

static unsigned read_gen_collections(struct walker *w, const struct gcstate *gs,
                                     uint64_t coll[3]);

/* What the walk read of the collectors' counters before its first list
 * (read_gen_collections), for the lists' walks to tell a collection that
 * ran meanwhile. */
struct coll_mark {
        uint64_t coll[3];
        unsigned got;
};

/* Live: whether a collection runs now, or ran since mark (the GC state
 * read afresh).  Reads only here, on the way to a refusal, so a walk that
 * breaks nowhere reads nothing more. */
static bool collected_meanwhile(struct walker *w, const struct gcstate *gs,
                                const struct coll_mark *mark)
{
        const struct layout *l = w->l;
        uint64_t coll[3] = { 0 };
        unsigned got;
        int32_t c = 0;

        memsrc_forget(w->p.m, gs->addr, lsz(l, LS_GCSTATE) ? lsz(l, LS_GCSTATE) : 512);
        if (gs->stats)
                memsrc_forget(w->p.m, gs->stats, 3 * (uint64_t)gs->stats_step);
        if (lhas(l, LF_GC_COLLECTING) &&
            read_i32(&w->p, gs->addr + lo(l, LF_GC_COLLECTING), &c) == 0 && c != 0)
                return true;
        got = mark ? read_gen_collections(w, gs, coll) & mark->got : 0;
        for (int i = 0; i < 3; i++)
                if ((got & (1u << i)) && coll[i] != mark->coll[i])
                        return true;
        return false;
}

/* The last of walk_list_live's reads of a list broken at cut (where the
 * forward walk from the head stopped after prev): read the rest from the
 * tail, then decide.  The same break at every read while a collection ran
 * is that collection (-EAGAIN; taken partial on the caller's last try);
 * else without a walk back meeting it, a corruption (-EBADMSG); else what
 * was read stays, the break counted.  reads: how many there were; taken:
 * objects the forward walks gave. */
static int live_give_up(struct walker *w, const struct gcstate *gs, const struct gclist *gl,
                        const struct coll_mark *mark, uint64_t max, uint64_t prev,
                        struct heap_problem *cut, bool same, int reads, uint32_t before,
                        struct diag *d)
{
        char text[600];
        bool met = false, collecting;
        int r;

        r = walk_back_live(w, gs, gl, max, prev, &met);
        if (r < 0)
                return r;
        if (cut->node == gl->head)
                cut->obj = 0;
        cut->type = problem_type(w, cut->obj);
        cut->recovered = met;
        collecting = !met && same && collected_meanwhile(w, gs, mark);
        if (collecting && !w->accept_collections) {
                /* A collection keeps gc_refs in _gc_prev while it runs
                 * (doc/internals.md §GC head): a long one breaks the list
                 * the same way at every read, which is no corruption.  One
                 * that ended meanwhile moved the counters. */
                w->h->gc.collecting = true;
                diag_set(d, -EAGAIN, "a garbage collection was running in the target while "
                         "its GC lists were read");
                diag_append(d, "hint: take the snapshot again; collections are short");
                return -EAGAIN;
        }
        /* The last live try takes what a long collection left readable,
         * partial, rather than calling its gc_refs in _gc_prev a corruption. */
        if (collecting)
                w->h->gc.collecting = true;
        if (!met && same && !collecting) {
                heap_add_problem(w->h, cut);
                diag_set(d, -EBADMSG, "%s", heap_problem_text(w->h, cut, text, sizeof(text)));
                diag_append(d, "it broke there at every one of %d reads: the list is corrupt, "
                            "not changing; read from both ends it gave %u objects, and the "
                            "rest of it cannot be reached", reads, w->h->nobjs - before);
                return -EBADMSG;
        }
        /* Taken stays; a part of the list may be missing, which the
         * problem says. */
        check_report(w, cut);
        return 0;
}

static int walk_list_live(struct walker *w, const struct gcstate *gs, const struct gclist *gl,
                          const struct coll_mark *mark, uint64_t max, int retries,
                          uint64_t *ret_count, struct diag *d)
{
        const struct layout *l = w->l;
        struct live_dir fwd = { .fwd = lo(l, LF_GCHEAD_NEXT), .bwd = lo(l, LF_GCHEAD_PREV) };
        uint32_t before = w->h->nobjs;
        struct heap_problem cut = { 0 };
        uint64_t cut_prev = 0;
        bool same = true;
        int r;

        if (!lhas(l, LF_GCHEAD_NEXT) || !lhas(l, LF_GCHEAD_PREV) || fwd.fwd > 8 || fwd.bwd > 8)
                return diag_set(d, -EOPNOTSUPP, "cannot walk the GC lists: the layout (%s) does "
                                "not describe PyGC_Head", l->source ? l->source : "?");
        for (int attempt = 0;; attempt++) {
                uint64_t prev = gl->head, node, revisits = 0, pnext;
                uint64_t slack = (w->h->nobjs - before) + LIVE_REVISIT_SLACK;
                uint32_t resumes = 0;
                struct heap_problem why = { 0 };
                bool torn = false;

                /* a retry starts from the target as it is now (the walk
                 * of all lists started from a fresh cache) */
                if (attempt > 0)
                        memsrc_forget(w->p.m, 0, UINT64_MAX);
                if (pyo_u64(&w->p, gl->head + fwd.fwd, &node) < 0)
                        return diag_set(d, -EFAULT, "cannot read the GC list head at 0x%llx",
                                        (unsigned long long)gl->head);
                node &= ~(uint64_t)3;
                while (node != gl->head) {
                        uint64_t next = 0;
                        bool known = false;

                        if (w->h->nobjs >= max)
                                return too_many(max, d);
                        r = live_step(w, gs, gl, &fwd, prev, node, &next, &known, &why);
                        if (r < 0)
                                return r;
                        if (known && ++revisits > slack) {
                                why = (struct heap_problem){ .obj = node + (lsz(l, LS_GCHEAD) ?
                                                             lsz(l, LS_GCHEAD) : 16),
                                                             .node = node, .type = UINT32_MAX,
                                                             .gen = (uint8_t)gl->gen,
                                                             .check = HEAP_CHECK_DUPLICATE };
                                torn = true;
                                break;
                        }
                        if (r == LIVE_TORN) {
                                /* Young lists change at both ends all the
                                 * time: resume from the last node taken
                                 * while it is still linked (its next link
                                 * is re-read), else start over. */
                                memsrc_forget(w->p.m, prev, 16);
                                if (++resumes > LIVE_MAX_RESUMES ||
                                    pyo_u64(&w->p, prev + fwd.fwd, &pnext) < 0 ||
                                    !(pnext & ~(uint64_t)3) ||
                                    (pnext & ~(uint64_t)3) == node) {
                                        torn = true;
                                        break;
                                }
                                w->h->meta.live_retries++;
                                node = pnext & ~(uint64_t)3;
                                continue;
                        }
                        prev = node;
                        node = next;
                }
                if (!torn)
                        break;
                /* where this attempt broke: the same place every time is
                 * a corruption, a changing one a race */
                if (attempt > 0 && (!same_cut(&cut, &why) || cut_prev != prev))
                        same = false;
                cut = why;
                cut_prev = prev;
                if (attempt >= retries) {
                        r = live_give_up(w, gs, gl, mark, max, prev, &cut, same, attempt + 1,
                                         before, d);
                        if (r < 0)
                                return r;
                        break;
                }
                w->h->meta.live_retries++;
                nanosleep(&(struct timespec){ 0, LIVE_RETRY_PAUSE_NS }, NULL);
        }
        *ret_count = w->h->nobjs - before;
        return 0;
}

static void read_gen_counts(struct walker *w, const struct gcstate *gs, int cnt[3])
{
        if (!lhas(w->l, LF_GCGEN_COUNT))
                return;
        for (int i = 0; i < gs->ngen_hdr && i < 3; i++)
                (void)read_i32(&w->p, gs->gen_hdr[i] + lo(w->l, LF_GCGEN_COUNT), &cnt[i]);
}

/* generation_stats[i].collections; returns a bit per value read, so that a
 * read that failed on one side is not taken for a collection. */
static unsigned read_gen_collections(struct walker *w, const struct gcstate *gs,
                                     uint64_t coll[3])
{
        unsigned got = 0;

        if (!gs->stats)
                return 0;
        for (int i = 0; i < 3; i++)
                if (pyo_u64(&w->p, gs->stats + (uint64_t)i * gs->stats_step, &coll[i]) == 0)
                        got |= 1u << i;
        return got;
}

/* What gc.get_threshold() and gc.get_count() say.  The incremental
 * collector's gcmodule.c (3.14.0-3.14.4) counts young, then the visited
 * old space, then the other one, and gives the thresholds of young and
 * old[0] and a constant 0, whatever gc.set_threshold() stored in old[1]. */
static void read_gc_settings(struct walker *w, const struct gcstate *gs, struct heap *h)
{
        const struct layout *l = w->l;
        int n = gs->ngen_hdr < 3 ? gs->ngen_hdr : 3;
        uint64_t cnt_hdr[3] = { 0 };
        int v;

        for (int i = 0; i < n; i++)
                cnt_hdr[i] = gs->gen_hdr[i];
        if (gs->spaces) {
                cnt_hdr[1] = gs->gen_hdr[1 + gs->visited_space];
                cnt_hdr[2] = gs->gen_hdr[2 - gs->visited_space];
        }
        for (int i = 0; i < n; i++) {
                if (gs->spaces && i == 2)
                        h->gc.thresholds[i] = 0;
                else if (lhas(l, LF_GCGEN_THRESHOLD) &&
                         read_i32(&w->p, gs->gen_hdr[i] + lo(l, LF_GCGEN_THRESHOLD), &v) == 0)
                        h->gc.thresholds[i] = v;
                if (lhas(l, LF_GCGEN_COUNT) &&
                    read_i32(&w->p, cnt_hdr[i] + lo(l, LF_GCGEN_COUNT), &v) == 0)
                        h->gc.counts[i] = v;
        }
}

/* Interpreters: 3.9+ each has its own GC state; 3.8 shares one. */
static int list_interpreters(struct walker *w, uint64_t *interps, int *ret_n, struct diag *d)
{
        const struct layout *l = w->l;
        uint64_t rt = w->pi->runtime_addr, ip;
        int n = 0;

        if (!lhas(l, LF_RUNTIME_INTERP_HEAD) ||
            pyo_u64(&w->p, rt + lo(l, LF_RUNTIME_INTERP_HEAD), &ip) < 0)
                return diag_set(d, -EFAULT, "cannot read the interpreter list of the runtime at 0x%llx",
                                (unsigned long long)rt);
        while (ip && n < MAX_INTERPRETERS) {
                for (int i = 0; i < n; i++)
                        if (interps[i] == ip)
                                return diag_set(d, -EBADMSG, "the interpreter list loops");
                interps[n++] = ip;
                if (!lhas(l, LF_INTERP_NEXT) || pyo_u64(&w->p, ip + lo(l, LF_INTERP_NEXT), &ip) < 0)
                        break;
        }
        *ret_n = n;
        return 0;
}

static int record_garbage(struct walker *w, uint64_t list)
{
        const struct layout *l = w->l;
        struct heap *h = w->h;
        uint64_t n, items;
        const uint8_t *a;

        if (!list || !lhas(l, LF_LIST_ITEM))
                return 0;
        if (pyo_u64(&w->p, list + lo(l, LF_VAROBJECT_SIZE), &n) < 0 ||
            pyo_u64(&w->p, list + lo(l, LF_LIST_ITEM), &items) < 0 || n > ((uint64_t)1 << 26)) {
                w->inconsistencies++;
                return 0;
        }
        if (!n)
                return 0;
        a = pyo_array(&w->p, 0, items, n * 8);
        if (!a) {
                w->inconsistencies++;
                return 0;
        }
        uint32_t *g = realloc(h->gc_garbage, (h->ngc_garbage + n) * sizeof(*g));
        if (!g)
                return -ENOMEM;
        h->gc_garbage = g;
        for (uint64_t i = 0; i < n; i++) {
                uint32_t idx;
                int r;

                a = pyo_array(&w->p, 0, items, n * 8);
                if (!a)
                        break;
                r = resolve_object(w, ld64(a, (uint32_t)(8 * i)), &idx);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        w->inconsistencies++;
                        continue;
                }
                h->objs[idx].flags |= HOBJ_GC_GARBAGE;
                h->gc_garbage[h->ngc_garbage++] = idx;
        }
        return 0;
}

/* ----------------------------------------------------------------- roots
 *
 * Explicit roots answer "why is this alive": sys.modules, the interpreter's
 * sys and builtins dicts, and what every thread's Python frames hold
 * (doc/internals.md §Frames).  They are recorded after the GC-list walk; the
 * objects they name are often untracked (str, int, code) and are added as
 * such.  Broken thread or frame chains end the chain and count as an
 * inconsistency; they never fail the build. */

#define MAX_THREADS            4096
#define MAX_FRAMES_PER_THREAD  100000
#define MAX_LINETABLE          ((size_t)1 << 24)
#define MAX_NAME               512
#define MAX_PATH_TEXT          1024

static int add_root(struct walker *w, uint64_t addr, enum heap_root_kind kind,
                    uint32_t label, uint32_t frame)
{
        uint32_t idx;
        int r;

        if (!addr)
                return 0;
        r = resolve_object(w, addr, &idx);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                w->inconsistencies++;
                return 0;
        }
        return heap_add_root(w->h, idx, kind, label, frame);
}

static int module_root(struct walker *w, uint64_t key, uint64_t value, void *arg)
{
        char name[MAX_NAME];
        uint32_t lab;
        bool full;
        int r;

        (void)arg;
        if (pyo_str(&w->p, key, name, sizeof(name), &full) < 0)
                lab = w->lab[CL_NONSTR_MODULE];
        else if ((r = heap_intern_label(w->h, name, &lab)) < 0)
                return r;
        return add_root(w, value, HEAP_ROOT_MODULE, lab, UINT32_MAX);
}

static int record_interp_roots(struct walker *w, uint64_t interp)
{
        const struct layout *l = w->l;
        uint64_t p;
        int r;

        if (lhas(l, LF_INTERP_MODULES) && pyo_u64(&w->p, interp + lo(l, LF_INTERP_MODULES), &p) == 0 &&
            p) {
                r = dict_foreach(w, p, module_root, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        w->inconsistencies++;
        }
        if (lhas(l, LF_INTERP_SYSDICT) && pyo_u64(&w->p, interp + lo(l, LF_INTERP_SYSDICT), &p) == 0) {
                r = add_root(w, p, HEAP_ROOT_INTERP, w->lab[CL_SYS_DICT], UINT32_MAX);
                if (r < 0)
                        return r;
        }
        if (lhas(l, LF_INTERP_BUILTINS) && pyo_u64(&w->p, interp + lo(l, LF_INTERP_BUILTINS), &p) == 0) {
                r = add_root(w, p, HEAP_ROOT_INTERP, w->lab[CL_BUILTINS_DICT], UINT32_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Line numbers (the current line of a frame, as f_lineno reports it when
 * not tracing).  Each format returns -1 when the table says "no line" or is
 * malformed; the caller then falls back to co_firstlineno. */

/* 3.8-3.9 co_lnotab: (address increment, signed line increment) pairs;
 * PyCode_Addr2Line with the byte offset f_lasti. */
static int line_lnotab(const uint8_t *t, size_t n, int line, int64_t addrq)
{
        int64_t addr = 0;

        for (size_t i = 0; i + 1 < n; i += 2) {
                addr += t[i];
                if (addr > addrq)
                        break;
                line += (int8_t)t[i + 1];
        }
        return line;
}

/* 3.10 co_linetable (PEP 626): (unsigned byte length, signed line delta)
 * pairs, delta -128 = no line; _PyCode_CheckLineNumber from the start. */
static int line_pep626(const uint8_t *t, size_t n, int line, int64_t addrq)
{
        int64_t start = -1, end = 0;
        int ar_line = -1;
        size_t p = 0;

        while (end <= addrq) {
                /* PyLineTable_NextAddressRange: skip empty ranges */
                do {
                        if (p + 1 >= n)
                                return -1;
                        start = end;
                        end += t[p];
                        if ((int8_t)t[p + 1] == -128) {
                                ar_line = -1;
                        } else {
                                line += (int8_t)t[p + 1];
                                ar_line = line;
                        }
                        p += 2;
                } while (start == end);
        }
        return ar_line;
}

static int scan_varint(const uint8_t *t, size_t n, size_t *p, uint32_t *ret)
{
        uint32_t val = 0;
        unsigned shift = 0;
        uint8_t b;

        do {
                if (*p >= n || shift > 28)
                        return -1;
                b = t[(*p)++];
                val |= (uint32_t)(b & 63) << shift;
                shift += 6;
        } while (b & 64);
        *ret = val;
        return 0;
}

/* 3.11+ location table (Objects/locations.md): entries start with a byte
 * that has bit 7 set; bits 3-6 are the code, bits 0-2 the length in code
 * units minus one.  Code 15 = no location, 13/14 carry a signed varint
 * line delta, 10-12 a delta of 0-2, the short forms 0-9 keep the line. */
static int line_locations(const uint8_t *t, size_t n, int line, int64_t addrq)
{
        int64_t end = 0;
        size_t p = 0;

        while (p < n) {
                uint8_t b = t[p];
                unsigned code = (b >> 3) & 15;
                int delta = 0;

                if (!(b & 0x80))
                        return -1;
                if (code == 13 || code == 14) {
                        size_t q = p + 1;
                        uint32_t u;

                        if (scan_varint(t, n, &q, &u) < 0)
                                return -1;
                        delta = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
                } else if (code >= 10 && code <= 12) {
                        delta = (int)code - 10;
                }
                line += delta;
                end += 2 * ((b & 7) + 1);
                if (end > addrq)
                        return code == 15 ? -1 : line;
                for (p++; p < n && !(t[p] & 0x80); p++)
                        ;
        }
        return -1;
}

struct codeinfo {
        char function[MAX_NAME];
        char filename[MAX_PATH_TEXT];
        int firstlineno;
        uint64_t linetable;      /* bytes object */
        uint64_t nunits;         /* 3.11+: code units in co_code_adaptive */
};

static bool is_code(struct walker *w, uint64_t code)
{
        uint64_t t;

        if (!code || (code & 7) || pyo_type_of(&w->p, code, &t) < 0)
                return false;
        return w->pi->sym[PYSYM_CODE_TYPE] ? t == w->pi->sym[PYSYM_CODE_TYPE] : t != 0;
}

static void code_info(struct walker *w, uint64_t code, struct codeinfo *ci)
{
        const struct layout *l = w->l;
        uint64_t name = 0, file = 0;
        uint8_t b[4];
        const uint8_t *v;

        memset(ci, 0, sizeof(*ci));
        if (lhas(l, LF_CODE_QUALNAME))
                (void)pyo_u64(&w->p, code + lo(l, LF_CODE_QUALNAME), &name);
        if (!name && lhas(l, LF_CODE_NAME))
                (void)pyo_u64(&w->p, code + lo(l, LF_CODE_NAME), &name);
        if (!name || pyo_str(&w->p, name, ci->function, sizeof(ci->function), NULL) < 0)
                snprintf(ci->function, sizeof(ci->function), "?");
        if (!lhas(l, LF_CODE_FILENAME) || pyo_u64(&w->p, code + lo(l, LF_CODE_FILENAME), &file) < 0 ||
            !file || pyo_str(&w->p, file, ci->filename, sizeof(ci->filename), NULL) < 0)
                snprintf(ci->filename, sizeof(ci->filename), "?");
        if (lhas(l, LF_CODE_FIRSTLINENO) && (v = pyo_view(&w->p, code + lo(l, LF_CODE_FIRSTLINENO), 4, b)))
                ci->firstlineno = (int32_t)ld32(v, 0);
        if (lhas(l, LF_CODE_LINETABLE))
                (void)pyo_u64(&w->p, code + lo(l, LF_CODE_LINETABLE), &ci->linetable);
        if (lhas(l, LF_CODE_CODE_ADAPTIVE))
                (void)pyo_u64(&w->p, code + lo(l, LF_VAROBJECT_SIZE), &ci->nunits);
}

/* The current line for byte offset addrq into the bytecode; the first line
 * if the table cannot say. */
static int code_line(struct walker *w, const struct codeinfo *ci, int64_t addrq)
{
        const struct layout *l = w->l;
        uint64_t n;
        const uint8_t *t;
        int line;

        if (addrq < 0 || !ci->linetable || !lhas(l, LF_BYTES_SVAL) ||
            pyo_u64(&w->p, ci->linetable + lo(l, LF_VAROBJECT_SIZE), &n) < 0 || n > MAX_LINETABLE)
                return ci->firstlineno;
        t = pyo_array(&w->p, 2, ci->linetable + lo(l, LF_BYTES_SVAL), n);
        if (!t)
                return ci->firstlineno;
        if (l->facts.linetable == LINETABLE_LOCATIONS)
                line = line_locations(t, n, ci->firstlineno, addrq);
        else if (l->facts.linetable == LINETABLE_PEP626)
                line = line_pep626(t, n, ci->firstlineno, addrq);
        else
                line = line_lnotab(t, n, ci->firstlineno, addrq);
        return line < 0 ? ci->firstlineno : line;
}

/* Roots for n frame slots at `slots` named by the `names` tuple (first
 * nnamed slots only: the rest is the value stack). */
static int slot_roots(struct walker *w, uint64_t slots, uint64_t nnamed, uint64_t names,
                      uint32_t frame, bool tagged)
{
        const struct layout *l = w->l;
        uint64_t nn = 0;

        if (!names || pyo_u64(&w->p, names + lo(l, LF_VAROBJECT_SIZE), &nn) < 0 ||
            nn > MAX_FRAME_SLOTS_ROOTS || nnamed > MAX_FRAME_SLOTS_ROOTS) {
                w->inconsistencies++;
                return 0;
        }
        if (nnamed > nn)
                nnamed = nn;
        for (uint64_t i = 0; i < nnamed; i++) {
                uint64_t v, name;
                uint32_t lab;
                int r;

                if (pyo_u64(&w->p, slots + 8 * i, &v) < 0) {
                        w->inconsistencies++;
                        return 0;
                }
                if (tagged) {
                        /* _PyStackRef: 1 is NULL, 11 a tagged int */
                        if (v == 1 || (v & 3) == 3)
                                continue;
                        v &= ~(uint64_t)3;
                }
                if (!v)
                        continue;
                if (pyo_u64(&w->p, names + lo(l, LF_TUPLE_ITEM) + 8 * i, &name) < 0) {
                        lab = heap_label_index((uint32_t)i);
                } else {
                        r = local_label(w, name, &lab);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                lab = heap_label_index((uint32_t)i);
                }
                r = add_root(w, v, HEAP_ROOT_THREAD, lab, frame);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_frame(struct walker *w, uint32_t thread, uint64_t code, int64_t addrq,
                     uint32_t *ret)
{
        struct codeinfo ci;
        uint32_t cidx = UINT32_MAX;
        int r;

        code_info(w, code, &ci);
        r = resolve_object(w, code, &cidx);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                cidx = UINT32_MAX;
        return heap_add_frame(w->h, thread, ci.function, ci.filename, code_line(w, &ci, addrq),
                              cidx, ret);
}

static uint64_t untag(const struct walker *w, uint64_t v)
{
        if (!w->l->facts.tagged_stackrefs)
                return v;
        return (v == 1 || (v & 3) == 3) ? 0 : v & ~(uint64_t)3;
}

/* <=3.10: the frame objects of a thread, f_back to the outermost. */
static int frames_310(struct walker *w, uint32_t thread, uint64_t f)
{
        const struct layout *l = w->l;
        uint64_t slow = f;

        for (uint32_t depth = 0; f; depth++) {
                uint64_t code, t, names[3] = {0}, lens[3] = {0}, slots;
                uint32_t fi, nl = 0;
                int64_t lasti = -1;
                uint8_t b[4];
                const uint8_t *v;
                int r;

                if (depth >= MAX_FRAMES_PER_THREAD || (f & 7) || pyo_type_of(&w->p, f, &t) < 0 ||
                    (w->pi->sym[PYSYM_FRAME_TYPE] && t != w->pi->sym[PYSYM_FRAME_TYPE]) ||
                    pyo_u64(&w->p, f + lo(l, LF_FRAMEOBJ_CODE), &code) < 0 || !is_code(w, code)) {
                        w->inconsistencies++;
                        return 0;
                }
                if (lhas(l, LF_FRAMEOBJ_LASTI) && (v = pyo_view(&w->p, f + lo(l, LF_FRAMEOBJ_LASTI), 4, b)))
                        lasti = (int32_t)ld32(v, 0);
                /* 3.10 counts instructions, 3.8/3.9 bytes */
                if (lasti >= 0 && l->facts.lasti_in_code_units)
                        lasti *= 2;
                r = add_frame(w, thread, code, lasti, &fi);
                if (r < 0)
                        return r;
                r = add_root(w, f, HEAP_ROOT_THREAD, w->lab[CL_FRAME_OBJ], fi);
                if (r >= 0 && lhas(l, LF_FRAMEOBJ_LOCALS) &&
                    pyo_u64(&w->p, f + lo(l, LF_FRAMEOBJ_LOCALS), &t) == 0)
                        r = add_root(w, t, HEAP_ROOT_THREAD, w->lab[CL_F_LOCALS], fi);
                if (r < 0)
                        return r;
                /* locals, cells, free vars: co_varnames, co_cellvars,
                 * co_freevars name them in that order */
                if (lhas(l, LF_CODE_NLOCALS) && lhas(l, LF_FRAMEOBJ_LOCALSPLUS) &&
                    (v = pyo_view(&w->p, code + lo(l, LF_CODE_NLOCALS), 4, b)) &&
                    (int32_t)(nl = ld32(v, 0)) >= 0 &&
                    pyo_u64(&w->p, code + lo(l, LF_CODE_VARNAMES), &names[0]) == 0 &&
                    pyo_u64(&w->p, code + lo(l, LF_CODE_CELLVARS), &names[1]) == 0 &&
                    pyo_u64(&w->p, code + lo(l, LF_CODE_FREEVARS), &names[2]) == 0) {
                        slots = f + lo(l, LF_FRAMEOBJ_LOCALSPLUS);
                        for (int k = 0; k < 3; k++) {
                                if (names[k] && pyo_u64(&w->p, names[k] + lo(l, LF_VAROBJECT_SIZE),
                                                        &lens[k]) < 0)
                                        lens[k] = 0;
                                if (lens[k] > MAX_FRAME_SLOTS_ROOTS)
                                        lens[k] = 0;
                        }
                        if (lens[0] > nl)
                                lens[0] = nl;
                        for (int k = 0; k < 3; k++) {
                                r = slot_roots(w, slots, lens[k], names[k], fi, false);
                                if (r < 0)
                                        return r;
                                slots += 8 * (k == 0 ? nl : lens[k]);
                        }
                } else {
                        w->inconsistencies++;
                }
                if (pyo_u64(&w->p, f + lo(l, LF_FRAMEOBJ_BACK), &f) < 0) {
                        w->inconsistencies++;
                        return 0;
                }
                /* Floyd: a chain that loops is garbage, not an endless stack */
                if ((depth & 1) && pyo_u64(&w->p, slow + lo(l, LF_FRAMEOBJ_BACK), &slow) < 0)
                        slow = 0;
                if (f && f == slow) {
                        w->inconsistencies++;
                        return 0;
                }
        }
        return 0;
}

/* 3.11+: the interpreter frames of a thread, previous to the outermost;
 * C shim frames (owner CSTACK/INTERPRETER, or no code object) are skipped. */
static int frames_311(struct walker *w, uint32_t thread, uint64_t fr)
{
        const struct layout *l = w->l;
        uint32_t fsz = lsz(l, LS_IFRAME);
        uint64_t slow = fr;
        bool tagged = l->facts.tagged_stackrefs;

        if (!fsz || fsz > 256 || !lhas(l, LF_IFRAME_PREVIOUS) || !lhas(l, LF_IFRAME_CODE)) {
                w->inconsistencies += fr != 0;
                return 0;
        }
        for (uint32_t depth = 0; fr; depth++) {
                uint8_t b[256];
                const uint8_t *v;
                uint64_t code, prev;
                unsigned owner = 0;
                int r;

                if (depth >= MAX_FRAMES_PER_THREAD || (fr & 7) ||
                    !(v = pyo_view(&w->p, fr, fsz, b))) {
                        w->inconsistencies++;
                        return 0;
                }
                prev = ld64(v, lo(l, LF_IFRAME_PREVIOUS));
                code = untag(w, ld64(v, lo(l, LF_IFRAME_CODE)));
                if (lhas(l, LF_IFRAME_OWNER))
                        owner = ld8(v, lo(l, LF_IFRAME_OWNER));
                if ((!l->facts.iframe_owner_first_noncode || owner < l->facts.iframe_owner_first_noncode) &&
                    is_code(w, code)) {
                        uint64_t instr = lhas(l, LF_IFRAME_INSTR) ? ld64(v, lo(l, LF_IFRAME_INSTR)) : 0;
                        uint64_t base = code + lo(l, LF_CODE_CODE_ADAPTIVE);
                        uint64_t func = lhas(l, LF_IFRAME_FUNC) ? untag(w, ld64(v, lo(l, LF_IFRAME_FUNC))) : 0;
                        uint64_t locals = lhas(l, LF_IFRAME_LOCALS) ? ld64(v, lo(l, LF_IFRAME_LOCALS)) : 0;
                        uint64_t fobj = lhas(l, LF_IFRAME_FRAME_OBJ) ? ld64(v, lo(l, LF_IFRAME_FRAME_OBJ)) : 0;
                        uint64_t nlp = 0, names = 0;
                        int64_t addrq = -1;
                        uint32_t fi;

                        /* 3.11/3.12 prev_instr: the instruction running;
                         * 3.13+ instr_ptr: the same instruction (its
                         * offset is what _PyInterpreterFrame_LASTI uses) */
                        if (lhas(l, LF_CODE_CODE_ADAPTIVE) && instr >= base && !((instr - base) & 1))
                                addrq = (int64_t)(instr - base);
                        r = add_frame(w, thread, code, addrq, &fi);
                        if (r >= 0)
                                r = add_root(w, locals, HEAP_ROOT_THREAD, w->lab[CL_F_LOCALS], fi);
                        if (r >= 0)
                                r = add_root(w, func, HEAP_ROOT_THREAD, w->lab[CL_F_FUNCOBJ], fi);
                        if (r >= 0)
                                r = add_root(w, fobj, HEAP_ROOT_THREAD, w->lab[CL_FRAME_OBJ], fi);
                        if (r < 0)
                                return r;
                        if (lhas(l, LF_IFRAME_LOCALSPLUS) && lhas(l, LF_CODE_NLOCALSPLUS) &&
                            lhas(l, LF_CODE_LOCALSPLUSNAMES)) {
                                uint8_t nb[4];
                                const uint8_t *nv = pyo_view(&w->p, code + lo(l, LF_CODE_NLOCALSPLUS), 4, nb);

                                if (nv && (int32_t)ld32(nv, 0) >= 0 &&
                                    pyo_u64(&w->p, code + lo(l, LF_CODE_LOCALSPLUSNAMES), &names) == 0) {
                                        nlp = ld32(nv, 0);
                                        r = slot_roots(w, fr + lo(l, LF_IFRAME_LOCALSPLUS), nlp, names,
                                                       fi, tagged);
                                        if (r < 0)
                                                return r;
                                } else {
                                        w->inconsistencies++;
                                }
                        }
                }
                fr = prev;
                if ((depth & 1) && pyo_u64(&w->p, slow + lo(l, LF_IFRAME_PREVIOUS), &slow) < 0)
                        slow = 0;
                if (fr && fr == slow) {
                        w->inconsistencies++;
                        return 0;
                }
        }
        return 0;
}

static int record_threads(struct walker *w, uint64_t interp)
{
        const struct layout *l = w->l;
        uint64_t ts, *seen;
        uint32_t n = 0;
        int r = 0;

        if (!lhas(l, LF_INTERP_THREADS_HEAD) || !lhas(l, LF_TSTATE_NEXT) ||
            pyo_u64(&w->p, interp + lo(l, LF_INTERP_THREADS_HEAD), &ts) < 0)
                return 0;
        seen = malloc(MAX_THREADS * sizeof(*seen));
        if (!seen)
                return -ENOMEM;
        for (; ts; n++) {
                uint64_t tid = 0, nid = 0, ip = 0, fr = 0, cf;
                uint32_t ti;
                bool dup = false;

                for (uint32_t i = 0; i < n && !dup; i++)
                        dup = seen[i] == ts;
                /* a thread state must belong to this interpreter */
                if (dup || n >= MAX_THREADS || (ts & 7) ||
                    (lhas(l, LF_TSTATE_INTERP) &&
                     (pyo_u64(&w->p, ts + lo(l, LF_TSTATE_INTERP), &ip) < 0 || ip != interp))) {
                        w->inconsistencies++;
                        break;
                }
                seen[n] = ts;
                if (lhas(l, LF_TSTATE_THREAD_ID))
                        (void)pyo_u64(&w->p, ts + lo(l, LF_TSTATE_THREAD_ID), &tid);
                if (lhas(l, LF_TSTATE_NATIVE_ID))
                        (void)pyo_u64(&w->p, ts + lo(l, LF_TSTATE_NATIVE_ID), &nid);
                r = heap_add_thread(w->h, tid, (int64_t)nid, &ti);
                if (r < 0)
                        break;
                if (lhas(l, LF_TSTATE_CURRENT_FRAME)) {
                        if (pyo_u64(&w->p, ts + lo(l, LF_TSTATE_CURRENT_FRAME), &fr) < 0)
                                w->inconsistencies++;
                        else
                                r = frames_311(w, ti, fr);
                } else if (lhas(l, LF_TSTATE_CFRAME) && lhas(l, LF_CFRAME_CURRENT_FRAME)) {
                        if (pyo_u64(&w->p, ts + lo(l, LF_TSTATE_CFRAME), &cf) < 0 ||
                            (cf && pyo_u64(&w->p, cf + lo(l, LF_CFRAME_CURRENT_FRAME), &fr) < 0))
                                w->inconsistencies++;
                        else if (cf)
                                r = frames_311(w, ti, fr);
                } else if (lhas(l, LF_TSTATE_FRAME)) {
                        if (pyo_u64(&w->p, ts + lo(l, LF_TSTATE_FRAME), &fr) < 0)
                                w->inconsistencies++;
                        else
                                r = frames_310(w, ti, fr);
                }
                if (r < 0)
                        break;
                if (pyo_u64(&w->p, ts + lo(l, LF_TSTATE_NEXT), &ts) < 0) {
                        w->inconsistencies++;
                        break;
                }
        }
        free(seen);
        return r < 0 ? r : 0;
}

/* One GC state: its settings (the first one's are the report's), every
 * list walked onto the heap, and gc.garbage's address in *garbage.
 * -EAGAIN when a collection runs or (live) ran meanwhile. */
static int walk_gc_state(struct walker *w, uint64_t gc, bool first, uint64_t max, int retries,
                         uint64_t *garbage, struct diag *d)
{
        const struct layout *l = w->l;
        struct heap *h = w->h;
        struct memsrc *m = w->p.m;
        bool live = w->live;
        int r;

        struct gcstate gs;

        r = read_gcstate(w, gc, &gs, d);
        if (r < 0)
                return r;
        if (gs.collecting && w->accept_collections) {
                /* the last live try: what the lists hold now, partial */
                h->gc.collecting = true;
                w->inconsistencies++;
        } else if (gs.collecting) {
                h->gc.collecting = true;
                r = diag_set(d, -EAGAIN,
                             "a garbage collection was running in the target at snapshot time");
                diag_append(d, "hint: take the snapshot again; collections are short");
                return r;
        }
        *garbage = gs.garbage;
        if (first) {
                h->gc.enabled = gs.enabled != 0;
                h->gc.unknown = gs.unknown;
                h->gc.debug = gs.debug;
                read_gc_settings(w, &gs, h);
        }
        int cnt_before[3] = { 0 }, cnt_after[3] = { 0 };
        uint64_t coll_before[3] = { 0 }, coll_after[3] = { 0 };
        unsigned got_before = 0;

        learn_before_walk(w, &gs);
        if (live) {
                read_gen_counts(w, &gs, cnt_before);
                got_before = read_gen_collections(w, &gs, coll_before);
                memsrc_forget(m, 0, UINT64_MAX);
        }
        struct coll_mark mark = { .got = got_before };

        memcpy(mark.coll, coll_before, sizeof(mark.coll));
        for (int i = 0; i < gs.nlists; i++) {
                uint64_t n = 0;

                if (live)
                        r = walk_list_live(w, &gs, &gs.lists[i], &mark, max, retries,
                                           &n, d);
                else
                        r = walk_list(w, &gs.lists[i], max, &n, d);
                if (r < 0)
                        return r;
                if (gs.lists[i].gen == HEAP_GEN_PERMANENT)
                        h->gc.frozen += n;
        }
        /* Live: the GC state's block may have been cached when the
         * walk read the list heads; what follows must be now's. */
        if (live)
                memsrc_forget(m, gs.addr, lsz(l, LS_GCSTATE) ? lsz(l, LS_GCSTATE) : 512);
        /* Live: a collection that started while we walked moved
         * objects onto its private lists; what we have is a mix. */
        if (live && (read_i32(&w->p, gs.addr + lo(l, LF_GC_COLLECTING), &gs.collecting) < 0 ||
                     gs.collecting)) {
                h->gc.collecting = true;
                if (!w->accept_collections) {
                        r = diag_set(d, -EAGAIN,
                                     "a garbage collection started in the target while its GC "
                                     "lists were read");
                        diag_append(d, "hint: take the snapshot again; collections are short");
                        return r;
                }
                /* the last live try: what was read, partial */
                w->inconsistencies++;
        }
        /* A collection that ran and finished meanwhile may have freed
         * or moved objects under us.  The older generations' counters
         * (collections of the younger one) show most, but not a full
         * collection that finds them at 0 already, nor any step of
         * the incremental collector (gc_collect_increment leaves
         * them alone): every collection but its marking step bumps
         * its generation's generation_stats[].collections. */
        if (live) {
                unsigned got;
                bool ran;

                read_gen_counts(w, &gs, cnt_after);
                got = got_before & read_gen_collections(w, &gs, coll_after);
                ran = cnt_after[1] != cnt_before[1] || cnt_after[2] != cnt_before[2];
                for (int i = 0; i < 3; i++)
                        if ((got & (1u << i)) && coll_after[i] != coll_before[i])
                                ran = true;
                if (ran)
                        w->inconsistencies++;
        }
        return 0;
}

/* Every tracked object's references, as its tp_traverse would visit
 * them.  Live: no refresh first.  The decoders read the objects whose
 * headers the list walk just validated, and a header and the fields next
 * to it read in one block are one moment of the target, closer to a
 * snapshot than fields read again later; a referent that does not check
 * out is read afresh (resolve_object). */
static int decode_all(struct walker *w, struct diag *d)
{
        struct heap *h = w->h;
        int r;

        for (uint32_t i = 0; i < h->ntracked; i++) {
                if (w->progress && !(i & (WALK_PROGRESS_EVERY - 1)))
                        w->progress(w->progress_ctx, i, h->ntracked);
                /* the GC lists are in allocation order, not address
                 * order: fetch ahead of the decoder */
                if (i + DECODE_AHEAD < h->ntracked)
                        pyo_prefetch(&w->p, h->objs[i + DECODE_AHEAD].addr);
                r = decode_object(w, i, h->objs[i].addr);
                if (r < 0) {
                        if (r == -ENOMEM)
                                diag_set(d, r, "out of memory while decoding references");
                        return r;
                }
        }
        return 0;
}

uint64_t heap_object_cap(uint64_t rss)
{
        uint64_t cap = rss / 8;

        if (cap < DEFAULT_MAX_OBJECTS)
                return DEFAULT_MAX_OBJECTS;
        return cap > HEAP_MAX_OBJECTS ? HEAP_MAX_OBJECTS : cap;
}

int heap_build(struct memsrc *m, const struct pyinterp *pi,
               const struct heap_build_opts *opts, struct heap **ret, struct diag *d)
{
        const struct layout *l = &pi->layout;
        uint64_t interps[MAX_INTERPRETERS], gcs[MAX_INTERPRETERS], garbage[MAX_INTERPRETERS];
        uint64_t max = opts && opts->max_objects ? opts->max_objects : DEFAULT_MAX_OBJECTS;
        bool live = opts && opts->live;
        int retries = opts && opts->live_retries > 0 ? opts->live_retries : DEFAULT_LIVE_RETRIES;
        struct walker w;
        struct heap *h;
        double t0 = mono_ms();
        int ninterp = 0, ngc = 0, r;

        if (!m || !pi || !ret)
                return -EINVAL;
        if (max > UINT32_MAX - 1)
                max = UINT32_MAX - 1;
        h = heap_new();
        if (!h)
                return -ENOMEM;
        r = walker_init(&w, h, m, pi, d);
        if (r < 0)
                goto fail;
        w.live = live;
        w.no_previews = opts && opts->no_previews;
        w.str_previews_only = opts && opts->str_previews_only;
        w.progress = opts ? opts->progress : NULL;
        w.progress_ctx = opts ? opts->progress_ctx : NULL;
        w.accept_collections = live && opts && opts->accept_collections;
        h->meta.approximate = live;

        r = list_interpreters(&w, interps, &ninterp, d);
        if (r < 0)
                goto fail;
        if (!ninterp) {
                r = pyinterp_no_interpreter(d, memsrc_pid(m));
                goto fail;
        }
        if (lhas(l, LF_RUNTIME_GC)) {
                gcs[ngc++] = pi->runtime_addr + lo(l, LF_RUNTIME_GC);
        } else if (lhas(l, LF_INTERP_GC)) {
                for (int i = 0; i < ninterp; i++)
                        gcs[ngc++] = interps[i] + lo(l, LF_INTERP_GC);
        }
        if (!ngc) {
                r = diag_set(d, -EOPNOTSUPP,
                             "cannot find the GC state: the layout (%s) describes neither "
                             "the runtime's nor an interpreter's", l->source ? l->source : "?");
                goto fail;
        }

        for (int g = 0; g < ngc; g++) {
                r = walk_gc_state(&w, gcs[g], g == 0, max, retries, &garbage[g], d);
                if (r < 0)
                        goto fail;
        }
        heap_mark_tracked_done(h);

        /* Live: no refresh here.  The decoders read the objects whose
         * headers the list walk just validated, and a header and the fields
         * next to it read in one block are one moment of the target, closer
         * to a snapshot than fields read again later; a referent that does
         * not check out is read afresh (resolve_object). */
        r = decode_all(&w, d);
        if (r < 0)
                goto fail;
        /* the roots as they are now: threads have run on meanwhile */
        if (live)
                memsrc_forget(m, 0, UINT64_MAX);
        for (int g = 0; g < ngc; g++) {
                r = record_garbage(&w, garbage[g]);
                if (r < 0)
                        goto fail;
        }
        for (int i = 0; i < ninterp; i++) {
                r = record_interp_roots(&w, interps[i]);
                if (r >= 0)
                        r = record_threads(&w, interps[i]);
                if (r < 0)
                        goto fail;
        }

        h->meta.pid = memsrc_pid(m);
        snprintf(h->meta.python_version, sizeof(h->meta.python_version), "%s", pi->version);
        h->meta.python_hex = pi->version_hex;
        snprintf(h->meta.layout_source, sizeof(h->meta.layout_source), "%s",
                 l->source ? l->source : "?");
        snprintf(h->meta.interp_path, sizeof(h->meta.interp_path), "%s",
                 pi->elf_path ? pi->elf_path : "");
        h->meta.interpreters = ninterp;
        /* Never guessed: what cannot be read is unknown with its reason
         * (arenas_why), which the accounting line shows; the graph stands
         * without it. */
        (void)obmalloc_read(m, pi, interps, ninterp, &h->meta.memory);
        h->meta.inconsistencies += w.inconsistencies;
        r = native_links(&w);
        if (r >= 0)
                r = native_finish(&w);
        if (r < 0)
                goto fail;
        r = heap_finish(h);
        if (r < 0)
                goto fail;
        h->meta.walk_ms = mono_ms() - t0;
        h->costs[HEAP_COST_MODEL] = (struct heap_cost){
                .ms = h->meta.walk_ms, .kept = heap_model_bytes(h) };
        walker_release(&w);
        *ret = h;
        return 0;
fail:
        if (r == -ENOMEM && d && !d->err && h->nedges >= HEAP_MAX_EDGES)
                diag_set(d, -E2BIG, "more than %llu references among the objects: the "
                         "object graph holds at most that many (its edge offsets are 32-bit)\n"
                         "hint: a heap this large is beyond this version of pyleak-attach; "
                         "a smaller one, or a core file of it, is not", (unsigned long long)HEAP_MAX_EDGES);
        else if (r == -ENOMEM && d && !d->err)
                diag_set(d, r, "out of memory while building the object graph");
        else if (r == -ERANGE && d && !d->err)
                diag_set(d, r, "an object on the GC lists lies above the 48-bit address "
                         "space the object graph stores\nhint: x86-64 and arm64 place user "
                         "memory below it unless a program asks for more (5-level paging); "
                         "pyleak-attach does not read such a process");
        walker_release(&w);
        heap_free(h);
        return r;
}
