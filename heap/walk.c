/* walk: heap_build(), the GC-list walk.
 *
 * For every interpreter (3.8: the one runtime-wide GC state) this reads the
 * GC state, refuses a snapshot taken mid-collection, walks the generation
 * lists and the permanent generation (internals notes §4, §5), adds every
 * node as a tracked object, then lets decode.c emit each object's
 * references.  Inconsistent lists (cycles that do not return to the head,
 * misaligned or unreadable nodes) are -EBADMSG: the walk cannot be trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "diag.h"
#include "heap-build.h"
#include "memsrc.h"
#include "pyinterp.h"

#define DEFAULT_MAX_OBJECTS 100000000ULL
#define MAX_INTERPRETERS    256

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
        uint64_t permanent;
        int enabled, debug, collecting;
        uint64_t garbage;
};

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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

                if (pyo_u64(p, gc + lo(l, LF_GC_GENERATION0), &g0) < 0 || !g0 || (g0 & 3))
                        return diag_set(d, -EBADMSG,
                                        "the GC state's generation0 pointer is unreadable or invalid");
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
        gs->lists[3].head = gs->permanent;
        gs->lists[3].gen = HEAP_GEN_PERMANENT;
        gs->nlists = 4;
        return 0;
}

/* Walks one circular list; every node becomes a tracked object. */
static int walk_list(struct walker *w, const struct gclist *gl, uint64_t max,
                     uint64_t *ret_count, struct diag *d)
{
        const struct layout *l = w->l;
        struct pyo *p = &w->p;
        uint32_t gch = lsz(l, LS_GCHEAD) ? lsz(l, LS_GCHEAD) : 16;
        uint32_t nextoff = lhas(l, LF_GCHEAD_NEXT) ? lo(l, LF_GCHEAD_NEXT) : 0;
        uint64_t node, count = 0;
        int r;

        if (pyo_u64(p, gl->head + nextoff, &node) < 0)
                return diag_set(d, -EFAULT, "cannot read the GC list head at 0x%llx",
                                (unsigned long long)gl->head);
        node &= ~(uint64_t)3;
        while (node != gl->head) {
                struct objhdr oh;
                uint64_t obj = node + gch, next;
                uint32_t idx;

                if (!node || (node & 7))
                        return diag_set(d, -EBADMSG,
                                        "GC list of generation %s is broken: node 0x%llx is not "
                                        "a valid address", heap_gen_name(gl->gen),
                                        (unsigned long long)node);
                if (pyo_u64(p, node + nextoff, &next) < 0)
                        return diag_set(d, -EBADMSG,
                                        "GC list of generation %s is broken: node 0x%llx is "
                                        "unreadable", heap_gen_name(gl->gen),
                                        (unsigned long long)node);
                if (w->h->nobjs >= max)
                        return diag_set(d, -E2BIG,
                                        "more than %llu GC objects: stopped walking (raise the "
                                        "object limit)", (unsigned long long)max);
                r = obj_header(w, obj, &oh);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* A tracked object whose type is unreadable: keep it
                         * (the list says it exists) with an unknown type. */
                        uint32_t ut;

                        r = heap_intern_type(w->h, 0, "?", "<unreadable type>", true, &ut);
                        if (r < 0)
                                return r;
                        memset(&oh, 0, sizeof(oh));
                        oh.type = ut;
                        oh.flags = HOBJ_PARTIAL | HOBJ_OPAQUE;
                        w->inconsistencies++;
                }
                r = heap_add_object(w->h, obj, oh.type, gl->gen, oh.refcnt, oh.size,
                                    oh.flags, &idx);
                if (r == -EEXIST)
                        return diag_set(d, -EBADMSG,
                                        "GC lists are inconsistent: object 0x%llx appears twice "
                                        "(generation %s)", (unsigned long long)obj,
                                        heap_gen_name(gl->gen));
                if (r < 0)
                        return r;
                count++;
                node = next & ~(uint64_t)3;
        }
        *ret_count = count;
        return 0;
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

int heap_build(struct memsrc *m, const struct pyinterp *pi,
               const struct heap_build_opts *opts, struct heap **ret, struct diag *d)
{
        const struct layout *l = &pi->layout;
        uint64_t interps[MAX_INTERPRETERS], gcs[MAX_INTERPRETERS], garbage[MAX_INTERPRETERS];
        uint64_t max = opts && opts->max_objects ? opts->max_objects : DEFAULT_MAX_OBJECTS;
        struct walker w;
        struct heap *h;
        double t0 = now_ms();
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

        r = list_interpreters(&w, interps, &ninterp, d);
        if (r < 0)
                goto fail;
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
                struct gcstate gs;

                r = read_gcstate(&w, gcs[g], &gs, d);
                if (r < 0)
                        goto fail;
                if (gs.collecting) {
                        h->gc.collecting = true;
                        r = diag_set(d, -EAGAIN,
                                     "a garbage collection was running in the target at snapshot time");
                        diag_append(d, "hint: take the snapshot again; collections are short");
                        goto fail;
                }
                garbage[g] = gs.garbage;
                if (g == 0) {
                        h->gc.enabled = gs.enabled != 0;
                        h->gc.debug = gs.debug;
                        for (int i = 0; i < gs.ngen_hdr && i < 3; i++) {
                                int v;

                                if (lhas(l, LF_GCGEN_THRESHOLD) &&
                                    read_i32(&w.p, gs.gen_hdr[i] + lo(l, LF_GCGEN_THRESHOLD), &v) == 0)
                                        h->gc.thresholds[i] = v;
                                if (lhas(l, LF_GCGEN_COUNT) &&
                                    read_i32(&w.p, gs.gen_hdr[i] + lo(l, LF_GCGEN_COUNT), &v) == 0)
                                        h->gc.counts[i] = v;
                        }
                }
                for (int i = 0; i < gs.nlists; i++) {
                        uint64_t n = 0;

                        r = walk_list(&w, &gs.lists[i], max, &n, d);
                        if (r < 0)
                                goto fail;
                        if (gs.lists[i].gen == HEAP_GEN_PERMANENT)
                                h->gc.frozen += n;
                }
        }
        heap_mark_tracked_done(h);

        for (uint32_t i = 0; i < h->ntracked; i++) {
                r = decode_object(&w, i, h->objs[i].addr);
                if (r < 0) {
                        if (r == -ENOMEM)
                                diag_set(d, r, "out of memory while decoding references");
                        goto fail;
                }
        }
        for (int g = 0; g < ngc; g++) {
                r = record_garbage(&w, garbage[g]);
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
        h->meta.inconsistencies += w.inconsistencies;
        r = heap_finish(h);
        if (r < 0)
                goto fail;
        h->meta.walk_ms = now_ms() - t0;
        walker_release(&w);
        *ret = h;
        return 0;
fail:
        if (r == -ENOMEM && d && !d->err)
                diag_set(d, r, "out of memory while building the object graph");
        walker_release(&w);
        heap_free(h);
        return r;
}
