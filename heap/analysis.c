/* analysis.c: cycles, what a full collection would free, and heap_analyse()
 * which also runs the referrer index, roots and dominators (dominators.c).
 *
 * Targets have millions of objects and reference chains as long as the heap
 * (a linked list of a million nodes), so every traversal uses explicit,
 * heap-allocated stacks, and per-object scratch is kept to 4 bytes where
 * possible.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "analysis-internal.h"
#include "grow.h"
#include "clock.h"
#include "heap-build.h"

#define NONE UINT32_MAX

/* ---- strongly connected components ------------------------------------ */

/* Which edges a component search follows.  NULL means every edge.  The
 * local grouping (h->cycles_local) ignores edges into some objects (types,
 * modules) and edges with some labels (function globals), so that
 * instance -> class -> method -> globals does not weld a program into one
 * component. */
struct edge_filter {
        uint64_t *skip_dst;        /* bitmap over objects */
        uint32_t skip_label[4];
        uint32_t nskip_label;
};

static inline bool edge_skipped(const struct edge_filter *f, const struct heap *h, uint64_t e)
{
        uint32_t d, l;

        if (!f)
                return false;
        d = h->edge_dst[e];
        if (f->skip_dst[d >> 6] & (1ULL << (d & 63)))
                return true;
        /* the skipped labels are interned texts, never indices: no need
         * of the source's position (heap_edge_label) */
        l = h->edge_lab[e];
        if (l == HEAP_LAB_ESC)
                l = heap_edge_label_escaped(h, e);
        else if (l >= HEAP_LAB_INDEX0)
                return false;
        for (uint32_t i = 0; i < f->nskip_label; i++)
                if (l == f->skip_label[i])
                        return true;
        return false;
}

/* One DFS call frame: the node and where its edge scan stands.  The scan
 * position does not advance past a child until the child returns, so the
 * parent sees the child's final rindex when it resumes. */
struct frame {
        uint64_t pos;
        uint32_t v;
        uint8_t root;
        uint8_t self;   /* an edge of v to itself was seen */
};

struct u32stack {
        uint32_t *a;
        size_t n, cap;
};

static int u32_push(struct u32stack *s, uint32_t v)
{
        if (GROW(s->a, s->cap, s->n + 1, 4096) < 0)
                return -ENOMEM;
        s->a[s->n++] = v;
        return 0;
}

/* Pearce's space-efficient variant of Tarjan ("A space-efficient algorithm
 * for finding strongly connected components", 2016, PEA_FIND_SCC2): one
 * uint32 per node serves as DFS index, low-link and, once done, the answer.
 * Pearce marks a finished node with a component number counting down from
 * n; all the search needs is that finished nodes compare greater than the
 * indices of nodes still open (at most n), so a finished node holds its
 * label straight away: CYC_BASE - k for the k-th cycle completed, NONE for
 * a component that is no cycle.  That spares the passes which would
 * otherwise count component sizes and look for self-loops afterwards.
 *
 * On return rindex[v] is v's cycle number (0..*ret_ncyc-1, in order of
 * completion) or NONE, and sizes->a[k] the size of cycle k.
 *
 * within, when not NULL, is a partition known to be coarser than the
 * answer (the cycles of the whole graph, for a search over fewer edges): a
 * path between two members of a component never leaves their part, so only
 * edges inside a part are followed and objects in no part (NONE) are no
 * cycle without a search. */
#define CYC_BASE (NONE - 1)

static int scc(const struct heap *h, const struct edge_filter *filt, const uint32_t *within,
               uint32_t *rindex, struct u32stack *sizes, uint32_t *ret_ncyc)
{
        const uint32_t n = h->nobjs;
        const uint32_t *estart = h->edge_start;
        const uint32_t *edst = h->edge_dst;
        struct frame *fs = NULL;
        size_t nf = 0, capf = 0;
        struct u32stack S = {0};
        uint32_t index = 1, ncyc = 0;
        int r = 0;

        /* labels stay above every index: CYC_BASE - (n - 1) > n */
        if (n >= CYC_BASE / 2)
                return -ENOMEM;
        memset(rindex, 0, (size_t)n * sizeof(*rindex));
        for (uint32_t s = 0; s < n; s++) {
                if (rindex[s])
                        continue;
                if (within && within[s] == NONE) {
                        rindex[s] = NONE;
                        continue;
                }
                /* push s */
                if (GROW(fs, capf, nf + 1, 1024) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                fs[nf++] = (struct frame){.pos = estart[s], .v = s, .root = 1};
                rindex[s] = index++;

                while (nf) {
                        struct frame *f = &fs[nf - 1];
                        const uint32_t v = f->v, part = within ? within[v] : 0;
                        const uint64_t end = estart[v + 1];
                        uint32_t low = rindex[v], w = 0;
                        uint64_t pos;

                        /* the edges of v up to its next unvisited child in
                         * one run, keeping the low-link in a register */
                        for (pos = f->pos; pos < end; pos++) {
                                w = edst[pos];
                                if (within && within[w] != part)
                                        continue;
                                if (edge_skipped(filt, h, pos))
                                        continue;
                                if (rindex[w] == 0)
                                        break;
                                if (rindex[w] < low) {
                                        low = rindex[w];
                                        f->root = 0;
                                }
                                if (w == v)
                                        f->self = 1;
                        }
                        rindex[v] = low;
                        if (pos < end) {
                                /* the scan position stays on the child
                                 * until it returns, so the parent then
                                 * takes the child's final rindex */
                                f->pos = pos;
                                if (GROW(fs, capf, nf + 1, 1024) < 0) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                fs[nf++] = (struct frame){
                                        .pos = estart[w], .v = w, .root = 1};
                                rindex[w] = index++;
                                continue;
                        }

                        /* v is finished */
                        if (f->root) {
                                size_t top = S.n;
                                uint32_t label;

                                while (S.n && rindex[v] <= rindex[S.a[S.n - 1]])
                                        S.n--;
                                if (S.n == top && !f->self) {
                                        label = NONE;
                                } else {
                                        label = CYC_BASE - ncyc++;
                                        r = u32_push(sizes, (uint32_t)(top - S.n + 1));
                                        if (r < 0)
                                                goto out;
                                }
                                index -= (uint32_t)(top - S.n + 1);
                                for (size_t i = S.n; i < top; i++)
                                        rindex[S.a[i]] = label;
                                rindex[v] = label;
                        } else {
                                r = u32_push(&S, v);
                                if (r < 0)
                                        goto out;
                        }
                        nf--;
                }
        }
        for (uint32_t v = 0; v < n; v++)
                if (rindex[v] != NONE)
                        rindex[v] = CYC_BASE - rindex[v];
        *ret_ncyc = ncyc;
out:
        heap_big_free(fs);
        heap_big_free(S.a);
        return r;
}

struct cyc_key {
        uint64_t bytes;
        uint32_t size;
        uint32_t first;
        uint32_t id;
};

static int cyc_cmp(const void *a, const void *b)
{
        const struct cyc_key *x = a, *y = b;

        if (x->bytes != y->bytes)
                return x->bytes > y->bytes ? -1 : 1;
        if (x->size != y->size)
                return x->size > y->size ? -1 : 1;
        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return 0;
}

static void cycles_release(struct heap_cycles *c)
{
        heap_big_free(c->start);
        heap_big_free(c->members);
        heap_big_free(c->bytes);
        heap_big_free(c->garbage);
        heap_big_free(c->retained);
        *c = (struct heap_cycles){0};
}

/* Fills *out; only reads h (heap_analyse sets HOBJ_IN_CYCLE).  within: see
 * scc().  ret_part, when not NULL, gets an array of nobjs entries owned by
 * the caller that tells the cycles apart: equal for members of one cycle,
 * NONE for objects in none (not the cycle's rank in *out). */
static int find_cycles(const struct heap *h, const struct edge_filter *filt,
                       const uint32_t *within, struct heap_cycles *out, uint32_t **ret_part)
{
        const uint32_t n = h->nobjs;
        struct heap_cycles c = {0};
        struct u32stack sizes = {0};
        uint32_t *comp = NULL, *start = NULL, *members = NULL, *fill = NULL;
        uint64_t *bytes = NULL;
        struct cyc_key *keys = NULL;
        uint32_t ncyc = 0;
        int r;

        comp = heap_big_malloc(((size_t)n + 1) * sizeof(*comp));
        if (!comp)
                return -ENOMEM;
        r = scc(h, filt, within, comp, &sizes, &ncyc);
        if (r < 0)
                goto out;

        start = malloc(((size_t)ncyc + 1) * sizeof(*start));
        bytes = calloc((size_t)ncyc + 1, sizeof(*bytes));
        fill = malloc(((size_t)ncyc + 1) * sizeof(*fill));
        keys = malloc(((size_t)ncyc + 1) * sizeof(*keys));
        if (!start || !bytes || !fill || !keys) {
                r = -ENOMEM;
                goto out;
        }
        start[0] = 0;
        for (uint32_t i = 0; i < ncyc; i++)
                start[i + 1] = start[i] + sizes.a[i];
        members = heap_big_malloc(((size_t)start[ncyc] + 1) * sizeof(*members));
        if (!members) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(fill, start, (size_t)ncyc * sizeof(*fill));
        /* scanning v upwards leaves each cycle's members ascending */
        for (uint32_t v = 0; v < n; v++) {
                uint32_t id = comp[v];

                if (id == NONE)
                        continue;
                members[fill[id]++] = v;
                bytes[id] += h->objs[v].size;
        }
        /* per-object scratch is no longer needed: give it back before the
         * sorted copy doubles the member list */
        if (!ret_part) {
                heap_big_free(comp);
                comp = NULL;
        }

        for (uint32_t i = 0; i < ncyc; i++)
                keys[i] = (struct cyc_key){
                        .bytes = bytes[i],
                        .size = start[i + 1] - start[i],
                        .first = members[start[i]],
                        .id = i,
                };
        qsort(keys, ncyc, sizeof(*keys), cyc_cmp);

        c.n = ncyc;
        c.start = malloc(((size_t)ncyc + 1) * sizeof(*c.start));
        c.members = heap_big_malloc(((size_t)start[ncyc] + 1) * sizeof(*c.members));
        c.bytes = malloc(((size_t)ncyc + 1) * sizeof(*c.bytes));
        c.garbage = calloc((size_t)ncyc + 1, sizeof(*c.garbage));
        if (!c.start || !c.members || !c.bytes || !c.garbage) {
                r = -ENOMEM;
                goto out;
        }
        c.start[0] = 0;
        for (uint32_t i = 0; i < ncyc; i++) {
                uint32_t id = keys[i].id, sz = keys[i].size;

                memcpy(c.members + c.start[i], members + start[id], (size_t)sz * sizeof(*members));
                c.start[i + 1] = c.start[i] + sz;
                c.bytes[i] = keys[i].bytes;
        }
        *out = c;
        c = (struct heap_cycles){0};
        if (ret_part) {
                *ret_part = comp;
                comp = NULL;
        }
        r = 0;
out:
        cycles_release(&c);
        heap_big_free(sizes.a);
        heap_big_free(comp);
        heap_big_free(start);
        heap_big_free(members);
        heap_big_free(fill);
        heap_big_free(bytes);
        heap_big_free(keys);
        return r;
}

/* ---- what gc.collect() would free ------------------------------------- */

static inline int collectable(const struct heap_obj *o)
{
        return o->gen <= HEAP_GEN_2;
}

/* Fills *ret_garbage / *ret_n and counts inconsistencies; only reads h, so
 * that it can run beside the dominator tree (heap_analyse sets
 * HOBJ_GARBAGE from the list).  The per-edge tests read bitmaps rather than
 * the 32-byte objects: a few KiB per 100,000 objects stay in cache where the
 * objects do not. */
static int find_garbage(const struct heap *h, uint32_t **ret_garbage, uint32_t *ret_n,
                        uint64_t *ret_bad)
{
        const uint32_t nt = h->ntracked;
        const struct heap_obj *objs = h->objs;
        const size_t nw = ((size_t)nt + 63) / 64 + 1;
        uint32_t *internal = NULL, *stack, *garbage = NULL;
        uint64_t *coll = NULL, *cand = NULL; /* collectable; not yet reached */
        uint32_t sp = 0, ng = 0;
        uint64_t bad = 0;
        int r = -ENOMEM;

        /* Only tracked objects have outgoing edges and only they can be in
         * the collected set, so scratch covers [0, ntracked). */
        internal = heap_big_calloc((size_t)nt + 1, sizeof(*internal));
        coll = calloc(nw, sizeof(*coll));
        cand = calloc(nw, sizeof(*cand));
        if (!internal || !coll || !cand)
                goto out;
        for (uint32_t v = 0; v < nt; v++)
                if (collectable(&objs[v]))
                        coll[v >> 6] |= 1ULL << (v & 63);
        for (uint32_t s = 0; s < nt; s++) {
                if (!(coll[s >> 6] & (1ULL << (s & 63))))
                        continue;
                for (uint64_t e = h->edge_start[s]; e < h->edge_start[s + 1]; e++) {
                        uint32_t d = h->edge_dst[e];

                        if (d < nt && (coll[d >> 6] & (1ULL << (d & 63))) &&
                            internal[d] != UINT32_MAX)
                                internal[d]++;
                }
        }

        /* The work stack reuses internal[]: when v is pushed, at most v
         * entries were pushed before it, so slot sp <= v, and internal[j]
         * for j <= v is never read again.  Every object is pushed at most
         * once (it leaves cand first), so sp stays < nt. */
        stack = internal;
        for (uint32_t v = 0; v < nt; v++) {
                const struct heap_obj *o = &objs[v];

                if (!(coll[v >> 6] & (1ULL << (v & 63))))
                        continue;
                /* gc_refs = refcnt - internal, compared rather than
                 * subtracted: the refcount is the target's word, and one
                 * near INT64_MIN would overflow the difference */
                if (heap_refcnt(o) < (int64_t)internal[v])
                        bad++; /* over-decoded references or a torn snapshot */
                if (heap_refcnt(o) > (int64_t)internal[v] || (o->flags & HOBJ_IMMORTAL))
                        stack[sp++] = v;
                else
                        cand[v >> 6] |= 1ULL << (v & 63);
        }
        while (sp) {
                uint32_t v = stack[--sp];

                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++) {
                        uint32_t d = h->edge_dst[e];

                        if (d < nt && (cand[d >> 6] & (1ULL << (d & 63)))) {
                                cand[d >> 6] &= ~(1ULL << (d & 63));
                                stack[sp++] = d;
                        }
                }
        }

        for (size_t w = 0; w < nw; w++)
                ng += (uint32_t)__builtin_popcountll(cand[w]);
        garbage = malloc(((size_t)ng + 1) * sizeof(*garbage));
        if (!garbage)
                goto out;
        ng = 0;
        for (size_t w = 0; w < nw; w++)
                for (uint64_t m = cand[w]; m; m &= m - 1)
                        garbage[ng++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
        *ret_garbage = garbage;
        *ret_n = ng;
        *ret_bad = bad;
        r = 0;
out:
        heap_big_free(internal);
        heap_big_free(coll);
        heap_big_free(cand);
        return r;
}

/* Label texts whose edges the local grouping ignores: a function's (or a
 * frame's) globals and builtins lead back to the module namespace. */
static const char *const local_skip_labels[] = {
        "__globals__", "__builtins__", "f_globals", "f_builtins",
};

/* within: see scc(); edges into objects outside it are never asked about. */
static int local_filter_init(const struct heap *h, const uint32_t *within, struct edge_filter *f)
{
        bool *is_module;

        *f = (struct edge_filter){0};
        f->skip_dst = calloc(((size_t)h->nobjs + 63) / 64 + 1, sizeof(*f->skip_dst));
        is_module = calloc((size_t)h->ntypes + 1, sizeof(*is_module));
        if (!f->skip_dst || !is_module) {
                heap_big_free(f->skip_dst);
                heap_big_free(is_module);
                f->skip_dst = NULL;
                return -ENOMEM;
        }
        for (uint32_t t = 0; t < h->ntypes; t++)
                is_module[t] = strcmp(h->types[t].fullname, "builtins.module") == 0;
        for (uint32_t v = 0; v < h->nobjs; v++)
                if (within[v] != NONE &&
                    ((h->objs[v].flags & HOBJ_IS_TYPE) || is_module[h->objs[v].type]))
                        f->skip_dst[v >> 6] |= 1ULL << (v & 63);
        heap_big_free(is_module);
        for (uint32_t l = 0; l < h->nlabels && f->nskip_label < 4; l++)
                for (size_t k = 0; k < sizeof(local_skip_labels) / sizeof(*local_skip_labels); k++)
                        if (strcmp(h->labels[l], local_skip_labels[k]) == 0)
                                f->skip_label[f->nskip_label++] = l;
        return 0;
}

static void set_cycle_garbage(const struct heap *h, struct heap_cycles *c)
{
        for (uint32_t i = 0; i < c->n; i++) {
                bool all = true;

                for (uint32_t m = c->start[i]; m < c->start[i + 1] && all; m++)
                        all = h->objs[c->members[m]].flags & HOBJ_GARBAGE;
                c->garbage[i] = all;
        }
}

void heap_analysis_free(struct heap *h)
{
        cycles_release(&h->cycles);
        cycles_release(&h->cycles_local);
        heap_big_free(h->garbage);
        h->garbage = NULL;
        h->ngarbage = 0;
        heap_big_free(h->idom);
        heap_big_free(h->retained);
        heap_big_free(h->pred_start);
        heap_big_free(h->pred_src);
        h->idom = NULL;
        h->retained = NULL;
        h->pred_start = NULL;
        h->pred_src = NULL;
        h->analysis_free = NULL;
}

void heap_analysis_release(struct heap *h)
{
        uint32_t k = 0;

        if (!h)
                return;
        heap_analysis_free(h);
        for (uint32_t i = 0; i < h->nroots; i++)
                if (!heap_root_is_computed(&h->roots[i]))
                        h->roots[k++] = h->roots[i];
        h->nroots = k;
        for (uint32_t t = 0; t < h->ntypes; t++)
                h->types[t].retained = 0;
        for (uint32_t v = 0; v < h->nobjs; v++)
                h->objs[v].flags &= ~(HOBJ_GARBAGE | HOBJ_IN_CYCLE);
        h->analysed = false;
}

/* The referrer index, the computed roots and the dominator tree need
 * neither the cycles nor the garbage, and the cycle and garbage searches
 * only read the graph: on two cores the two halves run side by side.
 * Neither half writes what the other reads (the cycle flags and the garbage
 * flags are set after the join; the tree half writes only its own fields of
 * h). */
/* The dominator tree's thread waits for the cycle and garbage searches to
 * end before it takes its 24 bytes an object of scratch: those held at once
 * were the analysis' peak.  It waits little, as the referrer index and the
 * computed roots take about as long as the searches. */
struct tree_job {
        struct heap *h;
        int r;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool cycles_done;
};

static void searches_ended(struct tree_job *j)
{
        pthread_mutex_lock(&j->lock);
        j->cycles_done = true;
        pthread_cond_signal(&j->cond);
        pthread_mutex_unlock(&j->lock);
}

/* Runs one step and records its wall time on this thread. */
static int timed_step(struct heap *h, enum heap_cost_step s, int (*fn)(struct heap *))
{
        double t0 = mono_ms();
        int r = fn(h);

        h->costs[s].ms = mono_ms() - t0;
        return r;
}

static void *tree_job_run(void *arg)
{
        struct tree_job *j = arg;

        j->r = timed_step(j->h, HEAP_COST_REFERRERS, heap_preds_build);
        if (j->r >= 0)
                j->r = timed_step(j->h, HEAP_COST_ROOTS, heap_roots_compute);
        pthread_mutex_lock(&j->lock);
        while (!j->cycles_done)
                pthread_cond_wait(&j->cond, &j->lock);
        pthread_mutex_unlock(&j->lock);
        if (j->r >= 0)
                j->r = timed_step(j->h, HEAP_COST_DOMINATORS, heap_dominators_tree);
        return NULL;
}

static uint64_t cycles_bytes(const struct heap_cycles *c)
{
        if (!c->start)
                return 0;
        return ((uint64_t)c->n + 1) * sizeof(*c->start) +
               (uint64_t)c->start[c->n] * sizeof(*c->members) +
               (uint64_t)c->n * (sizeof(*c->bytes) + sizeof(*c->garbage));
}

/* What each step keeps, from the sizes of its results (heap.h: costs). */
static void record_kept(struct heap *h, uint32_t explicit_roots)
{
        struct heap_cost *c = h->costs;
        uint64_t n1 = (uint64_t)h->nobjs + 1;

        /* a graph from a dump of an older format was not walked here */
        if (!c[HEAP_COST_MODEL].kept)
                c[HEAP_COST_MODEL].kept = heap_model_bytes(h);
        c[HEAP_COST_CYCLES].kept = cycles_bytes(&h->cycles);
        c[HEAP_COST_LOCAL_CYCLES].kept = cycles_bytes(&h->cycles_local);
        c[HEAP_COST_GARBAGE].kept = (uint64_t)h->ngarbage * sizeof(*h->garbage);
        c[HEAP_COST_REFERRERS].kept = h->pred_start ?
                n1 * sizeof(*h->pred_start) + h->nedges * sizeof(*h->pred_src) : 0;
        c[HEAP_COST_ROOTS].kept = (uint64_t)(h->nroots - explicit_roots) * sizeof(*h->roots);
        c[HEAP_COST_DOMINATORS].kept = h->idom ?
                n1 * (sizeof(*h->idom) + sizeof(*h->retained)) : 0;
        c[HEAP_COST_CYCLE_RETAINED].kept =
                (h->cycles.retained ? (uint64_t)h->cycles.n * sizeof(*h->cycles.retained) : 0) +
                (h->cycles_local.retained ?
                 (uint64_t)h->cycles_local.n * sizeof(*h->cycles_local.retained) : 0);
}

int heap_analyse(struct heap *h)
{
        struct edge_filter local = {0};
        struct tree_job job;
        pthread_t th;
        bool threaded;
        uint32_t *part = NULL, *garbage = NULL, ngarbage = 0;
        uint64_t bad = 0;
        uint32_t explicit_roots;
        double t0, ts;
        int r;

        if (!h || !h->edge_start)
                return -EINVAL;
        if (h->analysed)
                return 0;
        t0 = mono_ms();
        /* a heap that failed half-way, or came back from a dump with
         * computed roots in it, starts clean */
        heap_analysis_release(h);
        explicit_roots = h->nroots;
        for (int s = HEAP_COST_CYCLES; s < HEAP_COST__COUNT; s++)
                h->costs[s] = (struct heap_cost){0};
        h->costs_known = false;
        /* before the tree thread starts: it stores results too */
        analysis_own(h);

        job = (struct tree_job){ .h = h, .lock = PTHREAD_MUTEX_INITIALIZER,
                                 .cond = PTHREAD_COND_INITIALIZER };
        /* small graphs are not worth a thread */
        threaded = h->nobjs >= 65536 && pthread_create(&th, NULL, tree_job_run, &job) == 0;
        ts = mono_ms();
        r = find_cycles(h, NULL, NULL, &h->cycles, &part);
        h->costs[HEAP_COST_CYCLES].ms = mono_ms() - ts;
        /* Dropping edges only splits cycles: the local search looks only
         * inside the cycles just found, usually a fraction of the heap. */
        ts = mono_ms();
        if (r >= 0)
                r = local_filter_init(h, part, &local);
        if (r >= 0) {
                r = find_cycles(h, &local, part, &h->cycles_local, NULL);
                heap_big_free(local.skip_dst);
        }
        heap_big_free(part);
        h->costs[HEAP_COST_LOCAL_CYCLES].ms = mono_ms() - ts;
        ts = mono_ms();
        if (r >= 0)
                r = find_garbage(h, &garbage, &ngarbage, &bad);
        h->costs[HEAP_COST_GARBAGE].ms = mono_ms() - ts;
        searches_ended(&job);
        if (threaded)
                pthread_join(th, NULL);
        else if (r >= 0)
                tree_job_run(&job);
        pthread_cond_destroy(&job.cond);
        pthread_mutex_destroy(&job.lock);
        if (r >= 0 && job.r < 0)
                r = job.r;
        if (r < 0)
                goto fail;
        for (uint32_t m = 0; m < h->cycles.start[h->cycles.n]; m++)
                h->objs[h->cycles.members[m]].flags |= HOBJ_IN_CYCLE;
        for (uint32_t i = 0; i < ngarbage; i++)
                h->objs[garbage[i]].flags |= HOBJ_GARBAGE;
        h->garbage = garbage;
        h->ngarbage = ngarbage;
        garbage = NULL;
        set_cycle_garbage(h, &h->cycles);
        set_cycle_garbage(h, &h->cycles_local);
        r = timed_step(h, HEAP_COST_CYCLE_RETAINED, heap_dominators_cycles);
        if (r < 0)
                goto fail;

        h->meta.inconsistencies += bad;
        h->analysed = true;
        h->meta.analyse_ms = mono_ms() - t0;
        record_kept(h, explicit_roots);
        h->costs_known = true;
        return 0;
fail:
        heap_big_free(garbage);
        /* leave the heap as it was: no half-set flags or results */
        heap_analysis_release(h);
        return r;
}

/* ---- queries ----------------------------------------------------------- */

static const char *type_display_name(const struct heap_type *t)
{
        if (!t->module[0] || strcmp(t->module, "builtins") == 0)
                return t->qualname;
        return t->fullname;
}

static int strp_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int u32_cmp(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

int heap_cycle_signature(const struct heap *h, uint32_t cycle, char *buf, size_t len)
{
        if (!h)
                return -EINVAL;
        return heap_cycles_signature(h, &h->cycles, cycle, buf, len);
}

int heap_cycles_signature(const struct heap *h, const struct heap_cycles *c, uint32_t cycle,
                          char *buf, size_t len)
{
        uint32_t first, nm, nt = 0, nn = 0;
        uint32_t *types;
        const char **names;
        size_t out = 0;

        if (!h || !c || !h->analysed || cycle >= c->n)
                return -EINVAL;
        first = c->start[cycle];
        nm = c->start[cycle + 1] - first;
        types = malloc(((size_t)nm + 1) * sizeof(*types));
        names = malloc(((size_t)nm + 1) * sizeof(*names));
        if (!types || !names) {
                heap_big_free(types);
                heap_big_free(names);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < nm; i++)
                types[i] = h->objs[c->members[first + i]].type;
        qsort(types, nm, sizeof(*types), u32_cmp);
        for (uint32_t i = 0; i < nm; i++)
                if (i == 0 || types[i] != types[i - 1])
                        types[nt++] = types[i];
        for (uint32_t i = 0; i < nt; i++)
                names[i] = type_display_name(&h->types[types[i]]);
        qsort(names, nt, sizeof(*names), strp_cmp);
        /* two type objects may share a name (a class redefined) */
        for (uint32_t i = 0; i < nt; i++)
                if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
                        names[nn++] = names[i];

        if (len)
                buf[0] = '\0';
        for (uint32_t i = 0; i < nn; i++) {
                size_t l = strlen(names[i]);

                if (i) {
                        if (out + 1 < len) {
                                buf[out] = '+';
                                buf[out + 1] = '\0';
                        }
                        out++;
                }
                if (out < len) {
                        size_t room = len - 1 - out, k = l < room ? l : room;

                        memcpy(buf + out, names[i], k);
                        buf[out + k] = '\0';
                }
                out += l;
        }
        heap_big_free(types);
        heap_big_free(names);
        return out > INT32_MAX ? INT32_MAX : (int)out;
}

int heap_object_cycle(const struct heap *h, uint32_t obj, uint32_t *ret_cycle)
{
        if (!h || !h->analysed || obj >= h->nobjs)
                return -EINVAL;
        if (!(h->objs[obj].flags & HOBJ_IN_CYCLE))
                return -ENOENT;
        return heap_cycles_find(h, &h->cycles, obj, ret_cycle);
}

int heap_cycles_find(const struct heap *h, const struct heap_cycles *c, uint32_t obj,
                     uint32_t *ret_cycle)
{
        if (!h || !c || !h->analysed || obj >= h->nobjs)
                return -EINVAL;
        for (uint32_t i = 0; i < c->n; i++) {
                for (uint32_t m = c->start[i]; m < c->start[i + 1]; m++) {
                        if (c->members[m] == obj) {
                                if (ret_cycle)
                                        *ret_cycle = i;
                                return 0;
                        }
                }
        }
        return -ENOENT;
}

uint64_t heap_garbage_bytes(const struct heap *h)
{
        uint64_t b = 0;

        if (!h || !h->analysed)
                return 0;
        for (uint32_t i = 0; i < h->ngarbage; i++)
                b += h->objs[h->garbage[i]].size;
        return b;
}
