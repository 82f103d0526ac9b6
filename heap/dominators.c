/* dominators.c: the referrer index, computed roots, immediate dominators and
 * retained sizes (analysis.h).
 *
 * Dominators use Semi-NCA (Georgiadis' simplification of Lengauer-Tarjan, as
 * in LLVM's SemiNCAInfo): semidominators with path-compressed eval, then the
 * immediate dominator of each vertex as the nearest common ancestor of its
 * DFS parent and its semidominator, walked up the already-final dominators.
 * It runs in near-linear time on object graphs, needs only uint32 arrays
 * indexed by DFS preorder number (cache-friendly: eval walks neighbouring
 * numbers), and has no recursion: the DFS, the path compression and the
 * dominator-tree walk all keep explicit heap-allocated stacks, because a
 * linked list of millions of objects is as deep as the heap.
 *
 * Preorder number 0 is the virtual root; objects get 1..n.  Predecessors
 * come from the referrer index kept in the heap (h->pred_start/pred_src),
 * which paths from roots and the browser reuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "analysis-internal.h"
#include "grow.h"
#include "heap-build.h"

#define NONE UINT32_MAX

static inline bool bit_get(const uint64_t *b, uint32_t i)
{
        return b[i >> 6] & (1ULL << (i & 63));
}

static inline void bit_set(uint64_t *b, uint32_t i)
{
        b[i >> 6] |= 1ULL << (i & 63);
}

static uint64_t *bitmap_new(uint32_t n)
{
        return calloc(((size_t)n + 63) / 64 + 1, sizeof(uint64_t));
}

/* ---- referrer index ---------------------------------------------------- */

int heap_preds_build(struct heap *h)
{
        const uint32_t n = h ? h->nobjs : 0;
        uint32_t *start;
        uint32_t *src;

        if (!h || !h->edge_start)
                return -EINVAL;
        if (h->pred_start)
                return 0;
        /* counts land two slots up so that, after the prefix sum, start[d+1]
         * is where d's referrers begin and can serve as the fill cursor; once
         * filled it is where d+1's begin, which is the final layout, with no
         * second n-sized array */
        start = heap_big_calloc((size_t)n + 2, sizeof(*start));
        src = heap_big_malloc(((size_t)h->nedges + 1) * sizeof(*src));
        if (!start || !src) {
                heap_big_free(start);
                heap_big_free(src);
                return -ENOMEM;
        }
        for (uint64_t e = 0; e < h->nedges; e++)
                start[(size_t)h->edge_dst[e] + 2]++;
        for (size_t i = 2; i < (size_t)n + 2; i++)
                start[i] += start[i - 1];
        for (uint32_t v = 0; v < n; v++)
                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++)
                        src[start[(size_t)h->edge_dst[e] + 1]++] = v;
        analysis_own(h);
        h->pred_start = start;
        h->pred_src = src;
        return 0;
}

/* ---- roots ------------------------------------------------------------- */

static inline uint64_t indegree(const struct heap *h, const uint32_t *count, uint32_t v)
{
        return h->pred_start ? h->pred_start[v + 1] - h->pred_start[v] : count[v];
}

static int computed_kind(const struct heap *h, const uint32_t *count, uint32_t v)
{
        const struct heap_obj *o = &h->objs[v];

        if (o->flags & HOBJ_IMMORTAL)
                return HEAP_ROOT_IMMORTAL;
        if (o->gen == HEAP_GEN_PERMANENT)
                return HEAP_ROOT_PERMANENT;
        /* every edge comes from a decoded object, so the edges into v are
         * exactly the references the graph explains */
        if (heap_refcnt(o) > 0 && (uint64_t)heap_refcnt(o) > indegree(h, count, v))
                return HEAP_ROOT_EXTERNAL;
        return -1;
}

int heap_roots_compute(struct heap *h)
{
        uint64_t *explicit_bits = NULL, *computed_bits = NULL;
        uint32_t *count = NULL, k = 0, ncomp = 0;
        int r = 0;

        if (!h || !h->edge_start)
                return -EINVAL;
        for (uint32_t i = 0; i < h->nroots; i++)
                if (!heap_root_is_computed(&h->roots[i]) && h->roots[i].obj < h->nobjs)
                        h->roots[k++] = h->roots[i];
        h->nroots = k;

        explicit_bits = bitmap_new(h->nobjs);
        computed_bits = bitmap_new(h->nobjs);
        if (!explicit_bits || !computed_bits) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t i = 0; i < h->nroots; i++)
                bit_set(explicit_bits, h->roots[i].obj);
        if (!h->pred_start) {
                count = heap_big_calloc((size_t)h->nobjs + 1, sizeof(*count));
                if (!count) {
                        r = -ENOMEM;
                        goto out;
                }
                for (uint64_t e = 0; e < h->nedges; e++)
                        if (count[h->edge_dst[e]] != UINT32_MAX)
                                count[h->edge_dst[e]]++;
        }
        /* one sweep over the objects; the second pass visits only the
         * roots found, through the bitmap */
        for (uint32_t v = 0; v < h->nobjs; v++) {
                if (!bit_get(explicit_bits, v) && computed_kind(h, count, v) >= 0) {
                        bit_set(computed_bits, v);
                        ncomp++;
                }
        }
        if ((uint64_t)h->nroots + ncomp > UINT32_MAX - 1) {
                r = -ENOMEM;
                goto out;
        }
        if (h->nroots + ncomp > h->cap_roots) {
                struct heap_root *nr =
                        realloc(h->roots, ((size_t)h->nroots + ncomp) * sizeof(*nr));

                if (!nr) {
                        r = -ENOMEM;
                        goto out;
                }
                h->roots = nr;
                h->cap_roots = h->nroots + ncomp;
        }
        for (size_t w = 0; w < ((size_t)h->nobjs + 63) / 64; w++) {
                for (uint64_t m = computed_bits[w]; m; m &= m - 1) {
                        uint32_t v = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));

                        h->roots[h->nroots++] = (struct heap_root){
                                .obj = v,
                                .kind = (uint8_t)computed_kind(h, count, v),
                                .label = HEAP_ROOT_NO_LABEL,
                                .frame = NONE,
                        };
                }
        }
out:
        heap_big_free(explicit_bits);
        heap_big_free(computed_bits);
        heap_big_free(count);
        return r;
}

/* ---- depth-first numbering --------------------------------------------- */

struct dfs_frame {
        uint64_t pos;   /* next edge of v to look at */
        uint32_t v;     /* object index */
};

/* Per preorder number.  One record rather than four arrays: eval reads
 * parent and label of the same vertex and then semi of another, so this
 * halves the cache misses that dominate the run time. */
struct vinfo {
        uint32_t parent;        /* DFS parent; eval compresses it into the
                                   forest ancestor */
        uint32_t semi;          /* semidominator */
        uint32_t label;         /* vertex of least semi on the compressed
                                   path */
        uint32_t idom;          /* immediate dominator */
};

struct dom {
        const struct heap *h;
        uint32_t n;
        uint32_t next;          /* next preorder number to hand out */
        uint32_t *dfn;          /* object -> preorder (0 = not yet seen) */
        uint32_t *vertex;       /* preorder -> object */
        struct vinfo *vi;       /* preorder -> record */
        uint32_t *idom;         /* preorder -> idom's preorder, once vi is
                                   gone */
        struct dfs_frame *fs;
        size_t capf;
        uint32_t *es;           /* eval's compression stack */
        size_t cape;
};

/* Numbers everything reachable from s (not yet numbered) in preorder, with
 * the virtual root as the parent of s. */
static int dfs(struct dom *d, uint32_t s)
{
        const uint32_t *estart = d->h->edge_start;
        const uint32_t *edst = d->h->edge_dst;
        uint32_t *dfn = d->dfn;
        size_t nf = 0;

        if (dfn[s])
                return 0;
        dfn[s] = ++d->next;
        d->vertex[d->next] = s;
        d->vi[d->next].parent = 0;
        if (d->capf == 0) {
                d->capf = 1024;
                d->fs = malloc(d->capf * sizeof(*d->fs));
                if (!d->fs)
                        return -ENOMEM;
        }
        d->fs[nf++] = (struct dfs_frame){.pos = estart[s], .v = s};
        while (nf) {
                struct dfs_frame *f = &d->fs[nf - 1];
                const uint64_t end = estart[f->v + 1];
                uint64_t pos = f->pos;
                uint32_t w = 0;

                /* most referents are numbered already: skip them in one
                 * run rather than one trip round the outer loop each */
                while (pos < end && dfn[w = edst[pos]])
                        pos++;
                if (pos == end) {
                        nf--;
                        continue;
                }
                f->pos = pos + 1;
                dfn[w] = ++d->next;
                d->vertex[d->next] = w;
                d->vi[d->next].parent = dfn[f->v];
                if (GROW(d->fs, d->capf, nf + 1, 1024) < 0)
                        return -ENOMEM;
                d->fs[nf++] = (struct dfs_frame){.pos = estart[w], .v = w};
        }
        return 0;
}

/* Numbers every object: the roots in h->roots order, then the heads of what
 * no root reaches, then the rest of that.  Marks the virtual root's
 * children in rootchild (by object). */
static int number_all(struct dom *d, uint64_t *rootchild)
{
        const struct heap *h = d->h;
        int r;

        for (uint32_t i = 0; i < h->nroots; i++) {
                uint32_t v = h->roots[i].obj;

                if (v >= d->n)
                        continue;
                bit_set(rootchild, v);
                r = dfs(d, v);
                if (r < 0)
                        return r;
        }
        if (d->next == d->n)
                return 0;
        /* Unreached objects: garbage awaiting collection, or objects kept by
         * something we could not see.  Starting from those that no other
         * unreached object refers to makes a garbage chain's head dominate
         * the chain, instead of each link hanging off the virtual root. */
        for (uint32_t v = 0; v < d->n; v++) {
                bool head = true;

                if (d->dfn[v])
                        continue;
                for (uint64_t e = h->pred_start[v]; e < h->pred_start[v + 1] && head; e++) {
                        uint32_t u = h->pred_src[e];

                        head = u == v || d->dfn[u];
                }
                if (head)
                        bit_set(rootchild, v);
        }
        for (uint32_t v = 0; v < d->n; v++) {
                if (!d->dfn[v] && bit_get(rootchild, v)) {
                        r = dfs(d, v);
                        if (r < 0)
                                return r;
                }
        }
        /* what is left are cycles no head leads into */
        for (uint32_t v = 0; v < d->n; v++) {
                if (!d->dfn[v]) {
                        bit_set(rootchild, v);
                        r = dfs(d, v);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- Semi-NCA ---------------------------------------------------------- */

/* The vertex of least semidominator on the forest path above v, where the
 * vertices numbered >= last are linked; compresses that path.  LLVM's
 * SemiNCAInfo::eval, iterative. */
static inline int eval(struct dom *d, uint32_t v, uint32_t last, uint32_t *ret)
{
        struct vinfo *vi = d->vi;
        uint32_t x = v, p, plabel;
        size_t ne = 0;

        if (vi[v].parent < last) {
                *ret = vi[v].label;
                return 0;
        }
        do {
                if (GROW(d->es, d->cape, ne + 1, 256) < 0)
                        return -ENOMEM;
                d->es[ne++] = x;
                x = vi[x].parent;
        } while (vi[x].parent >= last);

        p = x;
        plabel = vi[x].label;
        while (ne) {
                uint32_t y = d->es[--ne];

                vi[y].parent = vi[p].parent;
                if (vi[plabel].semi < vi[vi[y].label].semi)
                        vi[y].label = plabel;
                else
                        plabel = vi[y].label;
                p = y;
        }
        *ret = vi[v].label;
        return 0;
}

/* The referrers come from the heap's own lists through dfn[].  A copy of
 * them renumbered and laid out in preorder, made to stream this pass, cost
 * 8 bytes an object and 4 an edge at the analysis' peak, and time too: the
 * tree at 10M objects took 1.2-1.5 s with it, 0.8-1.05 s without (the
 * pages the copy faulted in cost more than the cache misses it saved). */
static int semi_nca(struct dom *d, const uint64_t *rootchild)
{
        const struct heap *h = d->h;
        const uint32_t n = d->n;
        struct vinfo *vi = d->vi;
        int r;

        for (uint32_t p = 0; p <= n; p++) {
                vi[p].semi = p;
                vi[p].label = p;
                vi[p].idom = vi[p].parent;
        }
        /* semidominators, in reverse preorder */
        for (uint32_t w = n; w >= 1; w--) {
                const uint32_t v = d->vertex[w];
                uint32_t s = vi[w].parent;

                if (bit_get(rootchild, v)) {
                        /* the virtual root (number 0) is a predecessor */
                        vi[w].semi = 0;
                        continue;
                }
                for (uint64_t e = h->pred_start[v]; e < h->pred_start[v + 1]; e++) {
                        uint32_t x;

                        r = eval(d, d->dfn[h->pred_src[e]], w + 1, &x);
                        if (r < 0)
                                goto out;
                        if (vi[x].semi < s)
                                s = vi[x].semi;
                }
                vi[w].semi = s;
        }
        /* idom(w) = NCA(parent(w), semi(w)) in the dominator tree so far;
         * idom[] started as the DFS parents, which eval did not touch */
        for (uint32_t w = 1; w <= n; w++) {
                uint32_t c = vi[w].semi ? vi[w].idom : 0;

                while (c > vi[w].semi)
                        c = vi[c].idom;
                vi[w].idom = c;
        }
        r = 0;
out:
        return r;
}

/* ---- retained sizes ---------------------------------------------------- */

/* Type retained: the dominator tree walked depth-first with, per type, the
 * number of instances on the current path; an instance counts only when no
 * instance of its type dominates it, so nested instances are not counted
 * twice.  Works on preorder-indexed copies of type and retained (tp, retp):
 * the tree walk jumps around, and dense 4- and 8-byte arrays take far fewer
 * cache misses than the 24-byte objects.  The children come from fc and
 * ns (child_lists). */
static int type_retained(struct heap *h, const uint32_t *fc, const uint32_t *ns,
                         const uint32_t *tp, const uint64_t *retp)
{
        uint32_t *onpath = NULL;
        struct dfs_frame *fs = NULL;  /* pos: the next child, 0 for none */
        size_t nf = 0, capf = 1024;
        int r = 0;

        onpath = calloc((size_t)h->ntypes + 1, sizeof(*onpath));
        fs = malloc(capf * sizeof(*fs));
        if (!onpath || !fs) {
                r = -ENOMEM;
                goto out;
        }
        for (uint32_t t = 0; t < h->ntypes; t++)
                h->types[t].retained = 0;
        fs[nf++] = (struct dfs_frame){.pos = fc[0], .v = 0};
        while (nf) {
                struct dfs_frame *f = &fs[nf - 1];
                uint32_t p, t;

                if (f->pos == 0) {
                        if (f->v)
                                onpath[tp[f->v]]--;
                        nf--;
                        continue;
                }
                p = (uint32_t)f->pos;
                f->pos = ns[p];
                t = tp[p];
                if (onpath[t]++ == 0)
                        h->types[t].retained += retp[p];
                if (GROW(fs, capf, nf + 1, 1024) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                fs[nf++] = (struct dfs_frame){.pos = fc[p], .v = p};
        }
out:
        heap_big_free(onpath);
        heap_big_free(fs);
        return r;
}

/* The tree's children as lists: fc[q] the first child of q, ns[c] the next
 * sibling of c, ascending, 0 for none (the virtual root, 0, is nobody's
 * child).  ns is made in place of idom, which it replaces: a counting sort
 * into offsets would take 4 bytes an object more at the tree's peak. */
static void child_lists(uint32_t n, uint32_t *idom_ns, uint32_t *fc)
{
        for (uint32_t p = n; p >= 1; p--) {
                uint32_t q = idom_ns[p];

                idom_ns[p] = fc[q];
                fc[q] = p;
        }
        idom_ns[0] = 0;
}

/* Per cycle: the members whose immediate dominator lies outside the cycle
 * head disjoint dominator subtrees (a path between two members stays in the
 * cycle, so no such member dominates another), and every member not among
 * them is inside one of those subtrees.  "Outside" is a bit test: a bitmap
 * over the objects holds the members of the cycle at hand (set before and
 * cleared after it), which costs one bit per object instead of a search of
 * the member list per member. */
static int cycles_retained(const struct heap *h, struct heap_cycles *c)
{
        uint64_t *ret, *in;

        heap_big_free(c->retained);
        c->retained = NULL;
        ret = calloc((size_t)c->n + 1, sizeof(*ret));
        in = bitmap_new(h->nobjs);
        if (!ret || !in) {
                heap_big_free(ret);
                heap_big_free(in);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < c->n; i++) {
                const uint32_t *m = c->members + c->start[i];
                uint32_t nm = c->start[i + 1] - c->start[i];

                for (uint32_t k = 0; k < nm; k++)
                        bit_set(in, m[k]);
                for (uint32_t k = 0; k < nm; k++) {
                        uint32_t id = h->idom[m[k]];

                        if (id == NONE || !bit_get(in, id))
                                ret[i] += h->retained[m[k]];
                }
                for (uint32_t k = 0; k < nm; k++)
                        in[m[k] >> 6] = 0;
        }
        heap_big_free(in);
        c->retained = ret;
        return 0;
}

/* The tree in the heap's own numbering: h->idom from the child lists
 * (child_lists; freed here, before the second output comes in) and
 * h->retained from the preorder-numbered retp. */
static int publish(struct heap *h, const struct dom *d, uint32_t **fc, uint32_t **ns,
                   const uint64_t *retp)
{
        uint32_t n = d->n, *idom = heap_big_malloc(((size_t)n + 1) * sizeof(*idom));
        uint64_t *retained;

        if (!idom)
                return -ENOMEM;
        for (uint32_t q = 0; q <= n; q++)
                for (uint32_t c = (*fc)[q], k = 0; c && k < n; c = (*ns)[c], k++)
                        idom[d->vertex[c]] = q ? d->vertex[q] : NONE;
        heap_big_free(*fc);
        heap_big_free(*ns);
        *fc = *ns = NULL;
        retained = heap_big_malloc(((size_t)n + 1) * sizeof(*retained));
        if (!retained) {
                heap_big_free(idom);
                return -ENOMEM;
        }
        for (uint32_t p = 1; p <= n; p++)
                retained[d->vertex[p]] = retp[p];
        heap_big_free(h->idom);
        heap_big_free(h->retained);
        analysis_own(h);
        h->idom = idom;
        h->retained = retained;
        return 0;
}

int heap_dominators_tree(struct heap *h)
{
        struct dom d = {0};
        uint64_t *rootchild = NULL;
        uint32_t *tp = NULL, *fc = NULL, *ns = NULL;
        uint64_t *retp = NULL;
        uint32_t n;
        int r;

        if (!h || !h->edge_start)
                return -EINVAL;
        r = heap_preds_build(h);
        if (r < 0)
                return r;
        n = h->nobjs;
        d.h = h;
        d.n = n;
        d.dfn = heap_big_calloc((size_t)n + 1, sizeof(*d.dfn));
        /* every entry is written by the numbering: faulted in meanwhile */
        heap_big_prefault(d.dfn, 0, ((size_t)n + 1) * sizeof(*d.dfn));
        d.vertex = heap_big_malloc(((size_t)n + 1) * sizeof(*d.vertex));
        d.vi = heap_big_malloc(((size_t)n + 1) * sizeof(*d.vi));
        rootchild = bitmap_new(n);
        if (!d.dfn || !d.vertex || !d.vi || !rootchild) {
                r = -ENOMEM;
                goto out;
        }
        d.vertex[0] = NONE;
        d.vi[0].parent = 0;
        r = number_all(&d, rootchild);
        if (r < 0)
                goto out;
        r = semi_nca(&d, rootchild);
        if (r < 0)
                goto out;
        /* the scratch of the semidominator pass goes before the outputs
         * come in, to keep the peak down */
        heap_big_free(d.fs);
        heap_big_free(d.es);
        d.fs = NULL;
        d.es = NULL;
        heap_big_free(rootchild);
        rootchild = NULL;
        /* From here on the tree holds 24 bytes an object at most (issue
         * #15): idom is packed into the front of vi's block, in place (word
         * p is written after the idom of record p / 4 <= p was read), and
         * the block shrunk to it. */
        {
                uint32_t *packed = (uint32_t *)(void *)d.vi;

                for (uint32_t p = 0; p <= n; p++)
                        packed[p] = d.vi[p].idom;
                d.vi = NULL;
                d.idom = heap_big_realloc(packed, ((size_t)n + 1) * sizeof(*d.idom));
                if (!d.idom) {
                        heap_big_free(packed);
                        r = -ENOMEM;
                        goto out;
                }
        }
        retp = heap_big_malloc(((size_t)n + 1) * sizeof(*retp));
        if (!retp) {
                r = -ENOMEM;
                goto out;
        }
        tp = d.dfn;            /* n + 1 entries, written before read */
        d.dfn = NULL;
        tp[0] = 0;
        retp[0] = 0;
        for (uint32_t p = 1; p <= n; p++) {
                const struct heap_obj *o = &h->objs[d.vertex[p]];

                tp[p] = o->type;
                retp[p] = o->size + heap_native(h, d.vertex[p]);
        }
        /* a dominator is numbered before what it dominates, so one sweep in
         * reverse preorder has every subtree complete before it is added */
        for (uint32_t p = n; p >= 1; p--)
                retp[d.idom[p]] += retp[p];
        fc = heap_big_calloc((size_t)n + 1, sizeof(*fc));
        if (!fc) {
                r = -ENOMEM;
                goto out;
        }
        child_lists(n, d.idom, fc);
        ns = d.idom;
        d.idom = NULL;
        r = type_retained(h, fc, ns, tp, retp);
        if (r < 0)
                goto out;
        heap_big_free(tp);
        tp = NULL;

        r = publish(h, &d, &fc, &ns, retp);
out:
        heap_big_free(fc);
        heap_big_free(ns);
        heap_big_free(d.dfn);
        heap_big_free(d.vertex);
        heap_big_free(d.vi);
        heap_big_free(d.idom);
        heap_big_free(d.fs);
        heap_big_free(d.es);
        heap_big_free(rootchild);
        heap_big_free(tp);
        heap_big_free(retp);
        return r;
}

int heap_dominators_cycles(struct heap *h)
{
        int r = 0;

        if (!h || !h->retained)
                return -EINVAL;
        analysis_own(h);
        if (h->cycles.start)
                r = cycles_retained(h, &h->cycles);
        if (r >= 0 && h->cycles_local.start)
                r = cycles_retained(h, &h->cycles_local);
        return r;
}

int heap_dominators(struct heap *h)
{
        int r = heap_dominators_tree(h);

        return r < 0 ? r : heap_dominators_cycles(h);
}
