/* suspects.c: see suspects.h. */
#include "suspects.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "heap-build.h"
#include "paths.h"
#include "units.h"

#define NONE UINT32_MAX
/* candidates ranked before the nesting rule and the folding */
#define CAND_MAX 32
/* how far up the dominator tree a candidate looks for an enclosing one */
#define NEST_DEPTH 256
/* distinct item types, key types and cycle shapes counted per suspect */
#define STAT_TYPES 16
#define STAT_SHAPES 4
/* cycles up to this size are described by their member types */
#define SHAPE_MEMBERS 8

/* Truncating copy: names are cut, never overflowed. */
static void copy(char *dst, size_t len, const char *src)
{
        size_t n = strlen(src);

        if (!len)
                return;
        if (n >= len)
                n = len - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
}

/* ---- what an object is --------------------------------------------------- */

static const struct heap_type *type_of(const struct heap *h, uint32_t i)
{
        uint32_t t = h->objs[i].type;

        return t < h->ntypes ? &h->types[t] : NULL;
}

static bool type_is(const struct heap_type *t, const char *qualname)
{
        return t && t->module && t->qualname && !strcmp(t->module, "builtins") &&
               !strcmp(t->qualname, qualname);
}

static bool is_module(const struct heap *h, uint32_t i)
{
        return type_is(type_of(h, i), "module");
}

static bool is_type_or_module(const struct heap *h, uint32_t i)
{
        return (h->objs[i].flags & HOBJ_IS_TYPE) || is_module(h, i);
}

/* Builtin types that only the interpreter's structure makes in numbers. */
static bool structural_type(const struct heap_type *t)
{
        static const char *const names[] = {
                "module", "function", "code", "builtin_function_or_method",
                "method_descriptor", "getset_descriptor", "member_descriptor",
                "wrapper_descriptor", "classmethod_descriptor", "classmethod",
                "staticmethod", "property", "mappingproxy",
        };

        if (!t || !t->module || strcmp(t->module, "builtins"))
                return false;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                if (t->qualname && !strcmp(t->qualname, names[k]))
                        return true;
        return false;
}

bool heap_obj_is_structure(const struct heap *h, uint32_t obj)
{
        const struct heap_type *t;

        if (!h || obj >= h->nobjs)
                return false;
        t = type_of(h, obj);
        if ((h->objs[obj].flags & HOBJ_IS_TYPE) || structural_type(t))
                return true;
        /* a dict a module or a class holds is their namespace */
        if (type_is(t, "dict") && h->pred_start) {
                for (uint64_t e = h->pred_start[obj]; e < h->pred_start[obj + 1]; e++)
                        if (is_type_or_module(h, h->pred_src[e]))
                                return true;
        }
        return false;
}

/* ---- names --------------------------------------------------------------- */

/* The first referent of obj whose edge reads `label`, or NONE. */
static uint32_t child_by_label(const struct heap *h, uint32_t obj, const char *label)
{
        char buf[256];

        if (obj >= h->nobjs)
                return NONE;
        for (uint64_t e = h->edge_start[obj]; e < h->edge_start[obj + 1]; e++)
                if (!strcmp(heap_label_text(h, heap_edge_label(h, obj, e), buf, sizeof(buf)), label))
                        return h->edge_dst[e];
        return NONE;
}

/* An attribute of an instance or a module: a slot or inline value
 * (".name"), or an entry of its __dict__. */
static uint32_t attribute(const struct heap *h, uint32_t obj, const char *name)
{
        char lbl[160];
        uint32_t r;

        snprintf(lbl, sizeof(lbl), ".%s", name);
        r = child_by_label(h, obj, lbl);
        if (r != NONE)
                return r;
        snprintf(lbl, sizeof(lbl), "['%s']", name);
        return child_by_label(h, child_by_label(h, obj, "__dict__"), lbl);
}

/* threading._active[ident]._name, as the program named the thread; else
 * its ident. */
static void thread_name(const struct heap *h, uint64_t ident, char *buf, size_t len)
{
        uint32_t mod = NONE, t, s;
        char lbl[32], pv[128];

        for (uint32_t r = 0; r < h->nroots && mod == NONE; r++) {
                const struct heap_root *rt = &h->roots[r];

                if (rt->kind == HEAP_ROOT_MODULE && rt->label != HEAP_ROOT_NO_LABEL &&
                    !strcmp(heap_label_text(h, rt->label, pv, sizeof(pv)), "threading"))
                        mod = rt->obj;
        }
        snprintf(lbl, sizeof(lbl), "[%" PRIu64 "]", ident);
        t = child_by_label(h, attribute(h, mod, "_active"), lbl);
        s = t == NONE ? NONE : attribute(h, t, "_name");
        if (s != NONE && heap_preview(h, s, pv, sizeof(pv)) == 0 && pv[0] == '\'' &&
            strlen(pv) >= 2 && pv[strlen(pv) - 1] == '\'') {
                pv[strlen(pv) - 1] = 0;
                copy(buf, len, pv + 1);
                return;
        }
        snprintf(buf, len, "%" PRIu64, ident);
}

static void root_name(const struct heap *h, uint32_t root, struct heap_owner_name *n,
                      bool *ret_nsdict)
{
        const struct heap_root *rt = &h->roots[root];
        const struct heap_type *t = type_of(h, rt->obj);
        char lbl[200] = "", th[64];

        *ret_nsdict = false;
        if (rt->label != HEAP_ROOT_NO_LABEL)
                heap_label_text(h, rt->label, lbl, sizeof(lbl));
        /* a frame's local "f_locals.svc" is the variable svc */
        if (rt->kind == HEAP_ROOT_THREAD && !strncmp(lbl, "f_locals.", 9))
                memmove(lbl, lbl + 9, strlen(lbl + 9) + 1);
        n->root_kind = rt->kind;
        switch (rt->kind) {
        case HEAP_ROOT_MODULE:
                copy(n->path, sizeof(n->path), lbl);
                snprintf(n->root, sizeof(n->root), "module %s", lbl);
                return;
        case HEAP_ROOT_THREAD:
                copy(n->path, sizeof(n->path), lbl);
                if (rt->frame < h->nframes) {
                        const struct heap_frame *f = &h->frames[rt->frame];

                        if (f->thread < h->nthreads)
                                thread_name(h, h->threads[f->thread].thread_id, th, sizeof(th));
                        else
                                snprintf(th, sizeof(th), "?");
                        /* bounded pieces: the name is cut, never the sentence */
                        snprintf(n->root, sizeof(n->root), "thread %.60s, %.100s() local %.60s",
                                 th, f->function ? f->function : "?", lbl);
                } else {
                        snprintf(n->root, sizeof(n->root), "a thread's local %s", lbl);
                }
                return;
        case HEAP_ROOT_INTERP: {
                /* "sys.__dict__": the namespace of sys, spelled sys.x */
                char *dot = strstr(lbl, ".__dict__");

                if (dot && !dot[9]) {
                        *dot = 0;
                        *ret_nsdict = true;
                }
                copy(n->path, sizeof(n->path), lbl);
                snprintf(n->root, sizeof(n->root), "the interpreter (%s)", lbl);
                return;
        }
        default:
                snprintf(n->path, sizeof(n->path), "<%s>",
                         t && t->qualname ? t->qualname : "?");
                snprintf(n->root, sizeof(n->root), "%s",
                         rt->kind == HEAP_ROOT_EXTERNAL ?
                                 "held from outside the graph (C code, the C stack)" :
                         rt->kind == HEAP_ROOT_IMMORTAL ? "an immortal object" :
                                                          "frozen by gc.freeze()");
        }
}

/* An instance of the application's own class: its attributes are what a
 * person calls the owner by (Service.cache). */
static bool is_app_instance(const struct heap *h, uint32_t i)
{
        const struct heap_type *t = type_of(h, i);

        return t && t->module && strcmp(t->module, "builtins") && !is_type_or_module(h, i) &&
               !structural_type(t);
}

static void append(char *buf, size_t len, const char *s)
{
        size_t n = strlen(buf);

        if (n + 1 < len)
                copy(buf + n, len - n, s);
}

/* Spells the steps of p after the root: ".attr" for attributes, module
 * and class namespaces alike, "[k]" and "['k']" for items. */
static void spell_steps(const struct heap *h, const struct heap_path *p, bool nsdict,
                        struct heap_owner_name *n)
{
        size_t short_at = SIZE_MAX;
        uint32_t short_obj = NONE, attr_of = p->n ? p->objs[0] : NONE;
        char lbl[200], step[220];

        for (uint32_t k = 0; k < p->n; k++) {
                size_t at = strlen(n->path), ll;
                uint32_t src = p->objs[k];

                heap_label_text(h, p->labels[k], lbl, sizeof(lbl));
                ll = strlen(lbl);
                /* an lru_cache's dict is the cache of the function */
                if (!strcmp(lbl, "<cache>"))
                        continue;
                if (!strcmp(lbl, "__dict__")) {
                        nsdict = true;
                        attr_of = src;
                        continue;
                }
                if (nsdict && ll > 4 && !strncmp(lbl, "['", 2) && !strcmp(lbl + ll - 2, "']")) {
                        lbl[ll - 2] = 0;
                        snprintf(step, sizeof(step), ".%s", lbl + 2);
                        src = attr_of;
                } else if (lbl[0] == '.' || lbl[0] == '[' || lbl[0] == '<') {
                        copy(step, sizeof(step), lbl);
                } else {
                        snprintf(step, sizeof(step), ".%s", lbl);
                }
                nsdict = false;
                append(n->path, sizeof(n->path), step);
                if (step[0] == '.' && strcmp(step, ".__class__") && src != NONE &&
                    is_app_instance(h, src)) {
                        short_at = at;
                        short_obj = src;
                }
        }
        if (short_obj != NONE) {
                const struct heap_type *t = type_of(h, short_obj);

                snprintf(n->owner, sizeof(n->owner), "%s%s", t->qualname ? t->qualname : "?",
                         n->path + short_at);
        } else if (n->root_kind == HEAP_ROOT_THREAD) {
                /* "main() local buf", not a bare "buf" */
                const char *local = strstr(n->root, "() local ");
                const char *func = strstr(n->root, ", ");

                if (local && func && func < local)
                        snprintf(n->owner, sizeof(n->owner), "%.*s() local %.120s",
                                 (int)(local - func - 2 > 100 ? 100 : local - func - 2),
                                 func + 2, n->path);
                else
                        copy(n->owner, sizeof(n->owner), n->path);
        } else {
                copy(n->owner, sizeof(n->owner), n->path);
        }
}

/* the roots a person names first: modules, then the interpreter's own,
 * then the threads' frames, then anything */
const uint8_t heap_owner_root_rank[HEAP_ROOT__COUNT] = {
        [HEAP_ROOT_MODULE] = 0, [HEAP_ROOT_INTERP] = 1, [HEAP_ROOT_THREAD] = 2,
        [HEAP_ROOT_EXTERNAL] = 3, [HEAP_ROOT_IMMORTAL] = 3, [HEAP_ROOT_PERMANENT] = 3,
};

/* heap_owner_name() with a search kept across calls (fold()'s loop). */
static int owner_name_in(struct heap_path_search *s, const struct heap *h, uint32_t obj,
                         struct heap_owner_name *ret)
{
        struct heap_owner_name n = {.root_kind = HEAP_ROOT__COUNT};
        struct heap_path p = {0};
        uint32_t root = 0;
        bool nsdict;
        int r;

        r = heap_path_search_run(s, obj, &p, &root);
        if (r == -ENOENT) {
                const struct heap_type *t = type_of(h, obj);

                snprintf(n.path, sizeof(n.path), "<%s>", t && t->qualname ? t->qualname : "?");
                copy(n.owner, sizeof(n.owner), n.path);
                snprintf(n.root, sizeof(n.root), "no root (garbage)");
                *ret = n;
                return 0;
        }
        if (r < 0)
                return r;
        root_name(h, root, &n, &nsdict);
        spell_steps(h, &p, nsdict, &n);
        heap_path_release(&p);
        *ret = n;
        return 0;
}

int heap_owner_name(const struct heap *h, uint32_t obj, struct heap_owner_name *ret)
{
        struct heap_path_search *s;
        int r;

        if (!h || !ret || obj >= h->nobjs || !h->pred_start)
                return -EINVAL;
        r = heap_path_search_new(h, heap_owner_root_rank, &s);
        if (r < 0)
                return r;
        r = owner_name_in(s, h, obj, ret);
        heap_path_search_free(s);
        return r;
}

/* ---- holders ------------------------------------------------------------- */

struct scratch {
        uint32_t n;
        uint8_t *tkind;      /* per type: K_* below, from its names, once */
        uint8_t *structure;  /* per object: heap_obj_is_structure(), once */
        uint32_t *holder;    /* per object: the owner it is credited to */
        uint32_t *count;     /* per object: objects it dominates, itself included */
        uint64_t *cbits;     /* per object, a bit: a candidate (cand_of) */
        uint32_t *items;     /* per object: items credited to it; after
                                owner_slots(), 1 + its slot or 0 */
        uint32_t nslots;     /* the owners with enough items to rank */
        uint32_t *slot_obj, *slot_items;
        uint64_t *slot_score;  /* retained sizes credited to the owner */
        uint32_t *interp;    /* without structure[]: the objects of the
                                interpreter's roots, ascending */
        uint32_t ninterp;
};

/* What a type's names say, looked up once per type rather than compared
 * as strings for every object and referrer. */
#define K_MODULE 1       /* is_module() */
#define K_STRUCTURAL 2   /* structural_type() */
#define K_DICT 4         /* type_is(t, "dict") */

static void mark_types(const struct heap *h, struct scratch *s)
{
        for (uint32_t t = 0; t < h->ntypes; t++)
                s->tkind[t] = (type_is(&h->types[t], "module") ? K_MODULE : 0) |
                              (structural_type(&h->types[t]) ? K_STRUCTURAL : 0) |
                              (type_is(&h->types[t], "dict") ? K_DICT : 0);
}

static bool kind_is(const struct heap *h, const struct scratch *s, uint32_t i, uint8_t k)
{
        uint32_t t = h->objs[i].type;

        return t < h->ntypes && (s->tkind[t] & k);
}

static bool s_type_or_module(const struct heap *h, const struct scratch *s, uint32_t i)
{
        return (h->objs[i].flags & HOBJ_IS_TYPE) || kind_is(h, s, i, K_MODULE);
}

/* A function has eight references, a class dozens: neither collects. */
static bool is_collection(const struct heap *h, const struct scratch *s, uint32_t i)
{
        return heap_nref(h, i) >= HEAP_SUSPECT_MIN_ITEMS && !s_type_or_module(h, s, i) &&
               !kind_is(h, s, i, K_STRUCTURAL);
}

/* Never an item: classes and modules are structure, immortal objects
 * everyone's, garbage the collector's. */
static bool not_an_item(const struct heap *h, const struct scratch *s, uint32_t i)
{
        return h->objs[i].flags & (HOBJ_IS_TYPE | HOBJ_IMMORTAL | HOBJ_GARBAGE) ||
               kind_is(h, s, i, K_MODULE);
}

/* heap_obj_is_structure() for every object in one pass: the namespaces
 * found from their modules and classes, not from each dict's referrers. */
static void mark_structure(const struct heap *h, struct scratch *s)
{
        for (uint32_t i = 0; i < s->n; i++)
                s->structure[i] = (h->objs[i].flags & HOBJ_IS_TYPE) ||
                                  kind_is(h, s, i, K_STRUCTURAL);
        for (uint32_t i = 0; i < s->n; i++) {
                if (!s_type_or_module(h, s, i))
                        continue;
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++)
                        if (kind_is(h, s, h->edge_dst[e], K_DICT))
                                s->structure[h->edge_dst[e]] = 1;
        }
        for (uint32_t r = 0; r < h->nroots && !heap_root_is_computed(&h->roots[r]); r++)
                if (h->roots[r].kind == HEAP_ROOT_INTERP && h->roots[r].obj < s->n)
                        s->structure[h->roots[r].obj] = 1;
}

/* mark_structure()'s answer for one object, for the crediting of a few
 * objects (heap_suspects_shares) that marks no array. */
static bool structure_one(const struct heap *h, const struct scratch *s, uint32_t i)
{
        uint32_t lo = 0, hi = s->ninterp;

        if ((h->objs[i].flags & HOBJ_IS_TYPE) || kind_is(h, s, i, K_STRUCTURAL))
                return true;
        if (kind_is(h, s, i, K_DICT))
                for (uint64_t e = h->pred_start[i]; e < h->pred_start[i + 1]; e++)
                        if (s_type_or_module(h, s, h->pred_src[e]))
                                return true;
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (s->interp[mid] == i)
                        return true;
                if (s->interp[mid] < i)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static bool is_structure(const struct heap *h, const struct scratch *s, uint32_t i)
{
        return s->structure ? s->structure[i] : structure_one(h, s, i);
}

/* Objects dominated, by peeling the dominator tree from its leaves: the
 * heap keeps no order of the tree.  pending: scratch of n entries, each
 * object's children not yet added.  A finished object is added to its
 * dominator at once, and so is the dominator when that was its last child,
 * up the tree; the scan starts only from leaves, so no queue is needed
 * (it took 4 bytes an object more at the suspects' peak). */
#define PEELED UINT32_MAX

static void count_dominated(const struct heap *h, struct scratch *s, uint32_t *pending)
{
        for (uint32_t i = 0; i < s->n; i++) {
                s->count[i] = 1;
                pending[i] = 0;
        }
        for (uint32_t i = 0; i < s->n; i++)
                if (h->idom[i] < s->n)
                        pending[h->idom[i]]++;
        for (uint32_t i = 0; i < s->n; i++) {
                uint32_t v = i, p;

                if (pending[v])
                        continue;
                /* each object is peeled once: a tree has no cycle, and the
                 * bound is for one that did */
                for (uint32_t d = 0; d < s->n; d++) {
                        pending[v] = PEELED;
                        p = h->idom[v];
                        if (p >= s->n || pending[p] == PEELED)
                                break;
                        s->count[p] += s->count[v];
                        if (--pending[p])
                                break;
                        v = p;
                }
        }
}

/* The collection among obj's referrers that hangs where obj's dominator
 * is (under it, or anywhere when the virtual root dominates), preferring
 * the application's over the interpreter's. */
static uint32_t holder_among_referrers(const struct heap *h, const struct scratch *s,
                                       uint32_t obj, uint32_t dom)
{
        uint32_t any = NONE;

        for (uint64_t e = h->pred_start[obj]; e < h->pred_start[obj + 1]; e++) {
                uint32_t r = h->pred_src[e];

                if (r == obj || !is_collection(h, s, r) || (h->objs[r].flags & HOBJ_GARBAGE))
                        continue;
                if (dom != NONE && h->idom[r] != dom)
                        continue;
                if (!is_structure(h, s, r))
                        return r;
                if (any == NONE)
                        any = r;
        }
        return any;
}

/* The owner x is credited to, NONE for none: its dominator, or the
 * collection among its referrers, or its dominator all the same.  So an
 * owner's items are among its dominator-tree children and its referents
 * (heap_suspects_shares counts on it). */
static uint32_t credit_one(const struct heap *h, const struct scratch *s, uint32_t x)
{
        uint32_t p = h->idom[x], r;

        if (not_an_item(h, s, x))
                return NONE;
        r = p < s->n && is_collection(h, s, p) ? p : holder_among_referrers(h, s, x, p);
        if (r == NONE)
                r = p < s->n ? p : NONE;
        return r;
}

static void credit_holders(const struct heap *h, struct scratch *s)
{
        memset(s->items, 0, sizeof(*s->items) * s->n);
        for (uint32_t x = 0; x < s->n; x++) {
                uint32_t r = credit_one(h, s, x);

                s->holder[x] = r;
                if (r != NONE)
                        s->items[r]++;
        }
}

static bool may_rank(const struct heap *h, const struct scratch *s, uint32_t i)
{
        return s->items[i] >= HEAP_SUSPECT_MIN_ITEMS && !(h->objs[i].flags & HOBJ_GARBAGE) &&
               !s->structure[i];
}

/* The owners that may rank get a slot, and only they a score: an owner
 * holds HEAP_SUSPECT_MIN_ITEMS items at least and an object is one owner's
 * item at most, so there are n / 8 of them at most, where a score per
 * object took 8 bytes of each at the suspects' peak (issue #15).  items[]
 * becomes 1 + the slot, 0 for no slot. */
static int owner_slots(const struct heap *h, struct scratch *s)
{
        uint32_t m = 0;

        for (uint32_t i = 0; i < s->n; i++)
                m += may_rank(h, s, i);
        s->slot_obj = malloc(sizeof(*s->slot_obj) * ((size_t)m + 1));
        s->slot_items = malloc(sizeof(*s->slot_items) * ((size_t)m + 1));
        s->slot_score = calloc((size_t)m + 1, sizeof(*s->slot_score));
        if (!s->slot_obj || !s->slot_items || !s->slot_score)
                return -ENOMEM;
        for (uint32_t i = 0; i < s->n; i++) {
                if (s->nslots < m && may_rank(h, s, i)) {
                        s->slot_obj[s->nslots] = i;
                        s->slot_items[s->nslots] = s->items[i];
                        s->items[i] = ++s->nslots;
                } else {
                        s->items[i] = 0;
                }
        }
        for (uint32_t x = 0; x < s->n; x++) {
                uint32_t r = s->holder[x];

                if (r != NONE && s->items[r])
                        s->slot_score[s->items[r] - 1] += h->retained[x];
        }
        return 0;
}

/* ---- candidates ---------------------------------------------------------- */

struct cand {
        uint32_t obj;
        uint64_t score, nested;
        uint64_t objects;
};

static int cmp_cand(const void *a, const void *b)
{
        const struct cand *x = a, *y = b;

        if (x->score != y->score)
                return x->score < y->score ? 1 : -1;
        return x->obj < y->obj ? -1 : x->obj > y->obj;
}

/* The best CAND_MAX owners; returns how many. */
static uint32_t rank_candidates(const struct heap *h, struct scratch *s, struct cand *c)
{
        uint32_t nc = 0;

        for (uint32_t q = 0; q < s->nslots; q++) {
                const uint32_t i = s->slot_obj[q];
                struct cand k = {i, s->slot_score[q] + h->objs[i].size, 0, 0};

                if (nc == CAND_MAX && cmp_cand(&k, &c[nc - 1]) >= 0)
                        continue;
                if (nc < CAND_MAX)
                        nc++;
                /* insertion: the array stays sorted and small */
                c[nc - 1] = k;
                for (uint32_t j = nc - 1; j > 0 && cmp_cand(&c[j], &c[j - 1]) < 0; j--) {
                        struct cand t = c[j];

                        c[j] = c[j - 1];
                        c[j - 1] = t;
                }
        }
        return nc;
}

/* 1 + the index of v among the candidates c[0..nc), 0 for none; the bits
 * of cbits are set for the candidates (mark_cands) and cleared after. */
static uint32_t cand_of(const struct scratch *s, const struct cand *c, uint32_t nc, uint32_t v)
{
        if (!(s->cbits[v / 64] & ((uint64_t)1 << (v % 64))))
                return 0;
        for (uint32_t k = 0; k < nc; k++)
                if (c[k].obj == v)
                        return k + 1;
        return 0;
}

static void mark_cands(struct scratch *s, const struct cand *c, uint32_t nc, bool on)
{
        for (uint32_t k = 0; k < nc; k++) {
                uint64_t bit = (uint64_t)1 << (c[k].obj % 64);

                s->cbits[c[k].obj / 64] = on ? s->cbits[c[k].obj / 64] | bit :
                                               s->cbits[c[k].obj / 64] & ~bit;
        }
}

/* A candidate inside another (below it in the dominator tree) credits
 * the enclosing one.  An enclosing candidate half explained by those
 * inside gives way to them; otherwise it stands for them and they are not
 * listed (a list of chunks is one owner, not a thousand). */
static uint32_t innermost(const struct heap *h, struct scratch *s, struct cand *c, uint32_t nc)
{
        uint32_t parent[CAND_MAX], kept = 0;
        bool keep[CAND_MAX];

        mark_cands(s, c, nc, true);
        for (uint32_t k = 0; k < nc; k++) {
                uint32_t v = c[k].obj, at;

                parent[k] = NONE;
                for (uint32_t d = 0; d < NEST_DEPTH; d++) {
                        uint32_t up = h->idom[v];

                        if (up >= s->n || up == v)
                                break;
                        v = up;
                        if ((at = cand_of(s, c, nc, v))) {
                                parent[k] = at - 1;
                                c[parent[k]].nested += c[k].score;
                                break;
                        }
                }
        }
        mark_cands(s, c, nc, false);
        for (uint32_t k = 0; k < nc; k++)
                keep[k] = c[k].nested * 2 < c[k].score;
        for (uint32_t k = 0; k < nc; k++) {
                bool inside_kept = false;

                /* parents are other candidates: at most nc steps */
                for (uint32_t p = parent[k], d = 0; p != NONE && d < nc; p = parent[p], d++)
                        inside_kept |= keep[p];
                if (keep[k] && !inside_kept)
                        c[kept++] = c[k];
        }
        return kept;
}

/* ---- what accumulates ---------------------------------------------------- */

struct tstat {
        uint32_t type;
        uint64_t count, bytes;
};

struct shape {
        char text[96];
        uint64_t count;
};

struct acc {
        struct tstat types[STAT_TYPES];
        uint32_t ntypes;
        struct tstat keys[4];
        uint32_t nkeys;
        struct shape shapes[STAT_SHAPES];
        uint32_t nshapes;
};

static void tstat_add(struct tstat *v, uint32_t *n, uint32_t cap, uint32_t type, uint64_t count,
                      uint64_t bytes)
{
        for (uint32_t k = 0; k < *n; k++)
                if (v[k].type == type) {
                        v[k].count += count;
                        v[k].bytes += bytes;
                        return;
                }
        if (*n < cap)
                v[(*n)++] = (struct tstat){type, count, bytes};
}

static const char *qualname(const struct heap *h, uint32_t type)
{
        return type < h->ntypes && h->types[type].qualname ? h->types[type].qualname : "?";
}

/* "Request ⇄ Response cycle": the distinct member types of a small cycle. */
static void shape_text(const struct heap *h, uint32_t cyc, char *buf, size_t len)
{
        const struct heap_cycles *c = &h->cycles_local;
        uint32_t n = c->start[cyc + 1] - c->start[cyc], seen[SHAPE_MEMBERS], ns = 0;

        buf[0] = 0;
        if (n > SHAPE_MEMBERS) {
                snprintf(buf, len, "%" PRIu32 "-object cycle", n);
                return;
        }
        for (uint32_t k = c->start[cyc]; k < c->start[cyc + 1]; k++) {
                uint32_t t = h->objs[c->members[k]].type;
                bool dup = false;

                for (uint32_t j = 0; j < ns; j++)
                        dup |= seen[j] == t;
                if (dup)
                        continue;
                seen[ns++] = t;
                append(buf, len, ns > 1 ? " \u21c4 " : "");
                append(buf, len, qualname(h, t));
        }
        append(buf, len, n == 1 ? " self-cycle" : " cycle");
}

static void shape_add(struct acc *a, const char *text)
{
        for (uint32_t k = 0; k < a->nshapes; k++)
                if (!strcmp(a->shapes[k].text, text)) {
                        a->shapes[k].count++;
                        return;
                }
        if (a->nshapes < STAT_SHAPES) {
                copy(a->shapes[a->nshapes].text, sizeof(a->shapes[0].text), text);
                a->shapes[a->nshapes++].count = 1;
        }
}

/* Keys of a dict owner: "<key>" edges name them; a str-keyed table only
 * visits its values, labelled "['key']". */
static void count_keys(const struct heap *h, uint32_t owner, struct acc *a)
{
        char lbl[64];

        for (uint64_t e = h->edge_start[owner]; e < h->edge_start[owner + 1]; e++) {
                const char *t = heap_label_text(h, heap_edge_label(h, owner, e), lbl, sizeof(lbl));

                if (!strcmp(t, "<key>"))
                        tstat_add(a->keys, &a->nkeys, 4, h->objs[h->edge_dst[e]].type, 1, 0);
                else if (!strncmp(t, "['", 2))
                        tstat_add(a->keys, &a->nkeys, 4, NONE, 1, 0);
        }
}

/* One pass over the objects: the items of every chosen owner by type, and
 * the small cycles they are in. */
/* spare: scratch of n entries, for the local cycle of every object */
static int accumulate(const struct heap *h, struct scratch *s, struct cand *c, uint32_t nc,
                      struct acc *acc, uint32_t *spare)
{
        const struct heap_cycles *lc = &h->cycles_local;
        uint32_t *cyc_of = NULL;
        uint64_t *counted = NULL;

        if (lc->n) {
                cyc_of = spare;
                counted = calloc(((size_t)lc->n + 63) / 64, sizeof(*counted));
                if (!counted)
                        return -ENOMEM;
                memset(cyc_of, 0xff, sizeof(*cyc_of) * s->n);
                for (uint32_t q = 0; q < lc->n; q++)
                        for (uint32_t k = lc->start[q]; k < lc->start[q + 1]; k++)
                                if (lc->members[k] < s->n)
                                        cyc_of[lc->members[k]] = q;
        }
        mark_cands(s, c, nc, true);
        for (uint32_t k = 0; k < nc; k++) {
                c[k].objects = 1;
                count_keys(h, c[k].obj, &acc[k]);
        }
        for (uint32_t x = 0; x < s->n; x++) {
                uint32_t r = s->holder[x], k, q;

                if (r == NONE || !(k = cand_of(s, c, nc, r)))
                        continue;
                k--;
                c[k].objects += s->count[x];
                tstat_add(acc[k].types, &acc[k].ntypes, STAT_TYPES, h->objs[x].type, 1,
                          h->retained[x]);
                q = cyc_of ? cyc_of[x] : NONE;
                if (q != NONE && !(counted[q / 64] & (1ULL << (q % 64)))) {
                        char text[96];

                        counted[q / 64] |= 1ULL << (q % 64);
                        shape_text(h, q, text, sizeof(text));
                        shape_add(&acc[k], text);
                }
        }
        mark_cands(s, c, nc, false);
        free(counted);
        return 0;
}

static int cmp_tstat(const void *a, const void *b)
{
        const struct tstat *x = a, *y = b;

        if (x->bytes != y->bytes)
                return x->bytes < y->bytes ? 1 : -1;
        return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void describe(const struct heap *h, struct acc *a, char *buf, size_t len)
{
        char b[32], part[200];

        buf[0] = 0;
        qsort(a->types, a->ntypes, sizeof(a->types[0]), cmp_tstat);
        for (uint32_t k = 0; k < a->ntypes && k < 2; k++) {
                snprintf(part, sizeof(part), "%s%" PRIu64 " \u00d7 %s (%s)", k ? ", " : "",
                         a->types[k].count, qualname(h, a->types[k].type),
                         units_bytes(a->types[k].bytes, b, sizeof(b)));
                append(buf, len, part);
        }
        if (a->nkeys) {
                for (uint32_t k = 0; k < a->nkeys; k++)
                        a->keys[k].bytes = a->keys[k].count;
                qsort(a->keys, a->nkeys, sizeof(a->keys[0]), cmp_tstat);
                snprintf(part, sizeof(part), ", keys %s",
                         a->keys[0].type == NONE ? "str" : qualname(h, a->keys[0].type));
                append(buf, len, part);
        }
        for (uint32_t k = 0; k < a->nshapes; k++)
                if (a->shapes[k].count >= 2) {
                        snprintf(part, sizeof(part), "; %" PRIu64 " \u00d7 %s", a->shapes[k].count,
                                 a->shapes[k].text);
                        append(buf, len, part);
                        break;
                }
}

/* ---- the list ------------------------------------------------------------ */

static void acc_merge(struct acc *into, const struct acc *from)
{
        for (uint32_t k = 0; k < from->ntypes; k++)
                tstat_add(into->types, &into->ntypes, STAT_TYPES, from->types[k].type,
                          from->types[k].count, from->types[k].bytes);
        for (uint32_t k = 0; k < from->nkeys; k++)
                tstat_add(into->keys, &into->nkeys, 4, from->keys[k].type, from->keys[k].count, 0);
        for (uint32_t k = 0; k < from->nshapes; k++)
                for (uint64_t i = 0; i < from->shapes[k].count; i++)
                        shape_add(into, from->shapes[k].text);
}

static uint32_t main_type(const struct acc *a)
{
        uint32_t best = NONE;
        uint64_t bytes = 0;

        for (uint32_t k = 0; k < a->ntypes; k++)
                if (best == NONE || a->types[k].bytes > bytes) {
                        best = a->types[k].type;
                        bytes = a->types[k].bytes;
                }
        return best;
}

/* A namespace of descriptors or classes (a static type's dict) is the
 * interpreter's, whoever holds it.  Functions are not: a list of
 * callbacks is the application's. */
static bool structural_items(const struct heap *h, const struct acc *a)
{
        uint32_t t = main_type(a);

        if (t >= h->ntypes)
                return false;
        return type_is(&h->types[t], "type") ||
               (structural_type(&h->types[t]) && !type_is(&h->types[t], "function"));
}

/* Owners in the interpreter's own tables: what every program has. */
static bool interpreter_owned(const struct heap_owner_name *n)
{
        static const char *const mods[] = {"sys", "_frozen_importlib", "importlib", "typing",
                                           "abc", "_abc", "copyreg", "encodings", "linecache"};

        if (n->root_kind == HEAP_ROOT_INTERP || n->root_kind >= HEAP_ROOT_EXTERNAL)
                return true;
        if (n->root_kind != HEAP_ROOT_MODULE)
                return false;
        for (size_t k = 0; k < sizeof(mods) / sizeof(mods[0]); k++) {
                size_t l = strlen(mods[k]);

                if (!strncmp(n->path, mods[k], l) &&
                    (n->path[l] == '.' || n->path[l] == '_' || n->path[l] == '['))
                        return true;
        }
        return false;
}

static bool ranks_before(const struct heap_suspect *a, const struct heap_suspect *b)
{
        if (a->interpreter != b->interpreter)
                return !a->interpreter;
        return a->retained > b->retained;
}

/* What the passes over the objects found, kept with the result so that
 * another max folds again without them (heap_suspects_refold). */
struct heap_suspects_state {
        uint32_t nc;
        uint32_t max;                /* the max the result was folded for */
        struct cand c[CAND_MAX];
        uint64_t items[CAND_MAX];    /* items credited to each candidate */
        struct acc acc[CAND_MAX];    /* as accumulate() left them */
};

/* Names the candidates and folds those that read the same and hold the
 * same kind of item into the first of them.  Folds a copy of st->acc:
 * the state serves again. */
static int fold(const struct heap *h, const struct heap_suspects_state *st, uint32_t max,
                struct heap_suspects *ret)
{
        const struct cand *c = st->c;
        uint32_t nc = st->nc;
        struct heap_suspect *v = calloc(nc ? nc : 1, sizeof(*v));
        uint32_t *first = calloc(nc ? nc : 1, sizeof(*first)), n = 0;
        struct acc *acc = malloc(sizeof(*acc) * (nc ? nc : 1));
        struct heap_path_search *search = NULL;
        int r = 0;

        if (!v || !first || !acc) {
                r = -ENOMEM;
                goto out;
        }
        r = heap_path_search_new(h, heap_owner_root_rank, &search);
        if (r < 0)
                goto out;
        memcpy(acc, st->acc, sizeof(*acc) * nc);
        /* naming costs a search from the roots: a few more than asked for
         * leave room for folding and for the interpreter's owners to step
         * back */
        for (uint32_t k = 0; k < nc && n < max + 4; k++) {
                struct heap_suspect sp = {
                        .owner = c[k].obj, .nfolded = 1, .retained = c[k].score,
                        .objects = c[k].objects, .items = st->items[k],
                        .own_retained = c[k].score, .own_objects = c[k].objects,
                };
                uint32_t j;

                if (structural_items(h, &acc[k]))
                        continue;
                r = owner_name_in(search, h, c[k].obj, &sp.name);
                if (r < 0)
                        goto out;
                sp.interpreter = interpreter_owned(&sp.name);
                for (j = 0; j < n; j++)
                        if (!strcmp(v[j].name.owner, sp.name.owner) &&
                            main_type(&acc[first[j]]) == main_type(&acc[k]))
                                break;
                if (j < n) {
                        v[j].nfolded++;
                        v[j].retained += sp.retained;
                        v[j].objects += sp.objects;
                        v[j].items += sp.items;
                        acc_merge(&acc[first[j]], &acc[k]);
                        continue;
                }
                first[n] = k;
                v[n++] = sp;
        }
        for (uint32_t j = 0; j < n; j++)
                describe(h, &acc[first[j]], v[j].accumulates, sizeof(v[j].accumulates));
        /* the application's owners first; folding may have lifted a later
         * owner above an earlier one */
        for (uint32_t j = 1; j < n; j++)
                for (uint32_t i = j; i > 0 && ranks_before(&v[i], &v[i - 1]); i--) {
                        struct heap_suspect t = v[i];

                        v[i] = v[i - 1];
                        v[i - 1] = t;
                }
        ret->n = n < max ? n : max;
        ret->v = v;
        v = NULL;
out:
        heap_path_search_free(search);
        free(v);
        free(first);
        free(acc);
        return r;
}

int heap_suspects_compute(const struct heap *h, uint32_t max, struct heap_suspects *ret)
{
        struct scratch s = {0};
        struct heap_suspects_state *st = NULL;
        int r;

        if (!h || !ret || !h->analysed || !h->idom || !h->retained || !h->pred_start)
                return -EINVAL;
        *ret = (struct heap_suspects){0};
        s.n = h->nobjs;
        /* The per-object scratch comes and goes by phase, so that no more
         * than 12 bytes an object are held at once (issue #15): the owners
         * are credited (holder, items, structure) and scored in slots
         * (owner_slots), ranked, and only then counted (count, with items
         * as the peeling's scratch, then accumulate()'s).  holder outlives
         * this function (the result's, freed with free()); the others are
         * within the memory budget. */
        s.holder = malloc(sizeof(*s.holder) * ((size_t)s.n + 1));
        s.items = heap_big_malloc(sizeof(*s.items) * ((size_t)s.n + 1));
        s.structure = heap_big_malloc((size_t)s.n + 1);
        s.tkind = malloc((size_t)h->ntypes + 1);
        st = calloc(1, sizeof(*st));
        if (!s.tkind || !s.holder || !s.items || !s.structure || !st) {
                r = -ENOMEM;
                goto out;
        }
        mark_types(h, &s);
        mark_structure(h, &s);
        credit_holders(h, &s);
        r = owner_slots(h, &s);
        if (r < 0)
                goto out;
        st->nc = rank_candidates(h, &s, st->c);
        heap_big_free(s.structure);
        s.structure = NULL;
        s.cbits = calloc((size_t)s.n / 64 + 1, sizeof(*s.cbits));
        if (!s.cbits) {
                r = -ENOMEM;
                goto out;
        }
        st->nc = innermost(h, &s, st->c, st->nc);
        for (uint32_t k = 0; k < st->nc; k++)
                st->items[k] = s.slot_items[s.items[st->c[k].obj] - 1];
        s.count = heap_big_malloc(sizeof(*s.count) * ((size_t)s.n + 1));
        if (!s.count) {
                r = -ENOMEM;
                goto out;
        }
        count_dominated(h, &s, s.items);
        r = accumulate(h, &s, st->c, st->nc, st->acc, s.items);
        if (r < 0)
                goto out;
        heap_big_free(s.count);
        free(s.cbits);
        heap_big_free(s.items);
        s.count = NULL;
        s.cbits = NULL;
        s.items = NULL;
        st->max = max ? max : 10;
        r = fold(h, st, st->max, ret);
        if (r >= 0) {
                ret->holder = s.holder;
                ret->state = st;
                s.holder = NULL;
                st = NULL;
        }
out:
        free(s.holder);
        heap_big_free(s.count);
        free(s.cbits);
        free(s.slot_obj);
        free(s.slot_items);
        free(s.slot_score);
        heap_big_free(s.items);
        heap_big_free(s.structure);
        free(s.tkind);
        free(st);
        return r;
}

int heap_suspects_refold(const struct heap *h, const struct heap_suspects *s, uint32_t max,
                         struct heap_suspects *ret)
{
        if (!h || !s || !s->state || !ret)
                return -EINVAL;
        *ret = (struct heap_suspects){0};
        return fold(h, s->state, max ? max : 10, ret);
}

uint32_t heap_suspects_max(const struct heap_suspects *s)
{
        return s && s->state ? s->state->max : 0;
}

int heap_suspects_holders(const struct heap *h, uint32_t **ret)
{
        struct scratch s = {0};
        int r = 0;

        if (!h || !ret || !h->analysed || !h->idom || !h->retained || !h->pred_start)
                return -EINVAL;
        s.n = h->nobjs;
        s.holder = malloc(sizeof(*s.holder) * ((size_t)s.n + 1));
        s.items = heap_big_malloc(sizeof(*s.items) * ((size_t)s.n + 1));
        s.structure = heap_big_malloc((size_t)s.n + 1);
        s.tkind = malloc((size_t)h->ntypes + 1);
        if (!s.holder || !s.items || !s.structure || !s.tkind) {
                r = -ENOMEM;
                goto out;
        }
        mark_types(h, &s);
        mark_structure(h, &s);
        credit_holders(h, &s);
        *ret = s.holder;
        s.holder = NULL;
out:
        free(s.tkind);
        free(s.holder);
        heap_big_free(s.items);
        heap_big_free(s.structure);
        return r;
}

/* ---- a few owners' shares ------------------------------------------------ */

/* near[v] in heap_suspects_shares: the nearest item at or above v in the
 * dominator tree (an object index), or one of these.  Object indices stay
 * below NEAR_ITEM: a heap that large would not fit in memory. */
#define NEAR_UNKNOWN UINT32_MAX
#define NEAR_TOP (UINT32_MAX - 1)  /* no item above */
#define NEAR_ITEM 0xffffff00u      /* | owner slot: v is an item itself */

static bool near_is_item(uint32_t x)
{
        return x >= NEAR_ITEM && x < NEAR_TOP;
}

/* The nearest item at or above u, NONE for none; remembered on the way
 * down, so that all objects together cost one walk of the tree.  Bounded
 * by the object count (an idom chain that loops stops there). */
static uint32_t nearest_item(const struct heap *h, uint32_t *near, uint32_t u)
{
        uint32_t t = u, val;

        for (uint32_t steps = 0; near[t] == NEAR_UNKNOWN && steps < h->nobjs; steps++) {
                if (h->idom[t] >= h->nobjs)
                        break;
                t = h->idom[t];
        }
        val = near[t] == NEAR_UNKNOWN ? NEAR_TOP : near_is_item(near[t]) ? t : near[t];
        for (uint32_t w = u; w < h->nobjs && near[w] == NEAR_UNKNOWN; w = h->idom[w])
                near[w] = val;
        return near_is_item(near[u]) ? u : near[u] == NEAR_TOP ? NONE : near[u];
}

struct slot {
        uint32_t obj, k;
};

static int cmp_slot(const void *a, const void *b)
{
        const struct slot *x = a, *y = b;

        if (x->obj != y->obj)
                return x->obj < y->obj ? -1 : 1;
        return x->k < y->k ? -1 : x->k > y->k;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

/* The slot of owner obj (the first with that object), or NONE. */
static uint32_t slot_of(const struct slot *sl, uint32_t n, uint32_t obj)
{
        uint32_t lo = 0, hi = n;

        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;

                if (sl[mid].obj < obj)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && sl[lo].obj == obj ? sl[lo].k : NONE;
}

static void mark_item(const struct heap *h, uint32_t *near, uint32_t x, uint32_t k,
                      struct heap_owner_share *ret)
{
        near[x] = NEAR_ITEM | k;
        ret[k].retained += h->retained[x];
}

/* The items of the owners, credited one by one: their dominator-tree
 * children and their referents (credit_one), each object once. */
static int mark_credited(const struct heap *h, struct scratch *s, const struct slot *sl,
                         uint32_t nsl, const uint64_t *isowner, uint32_t *near,
                         struct heap_owner_share *ret)
{
        uint64_t *done = calloc(((size_t)s->n + 63) / 64 + 1, sizeof(*done));
        int r = -ENOMEM;

        s->interp = malloc(sizeof(*s->interp) * ((size_t)h->nroots + 1));
        if (!done || !s->interp)
                goto out;
        for (uint32_t i = 0; i < h->nroots && !heap_root_is_computed(&h->roots[i]); i++)
                if (h->roots[i].kind == HEAP_ROOT_INTERP && h->roots[i].obj < s->n)
                        s->interp[s->ninterp++] = h->roots[i].obj;
        qsort(s->interp, s->ninterp, sizeof(*s->interp), cmp_u32);
        for (uint32_t x = 0; x < s->n; x++) {
                uint32_t p = h->idom[x], o;

                near[x] = NEAR_UNKNOWN;
                if (p >= s->n || !(isowner[p / 64] & (1ULL << (p % 64))))
                        continue;
                done[x / 64] |= 1ULL << (x % 64);
                o = credit_one(h, s, x);
                if (o != NONE && (isowner[o / 64] & (1ULL << (o % 64))))
                        mark_item(h, near, x, slot_of(sl, nsl, o), ret);
        }
        for (uint32_t k = 0; k < nsl; k++) {
                uint32_t from = sl[k].obj;

                for (uint64_t e = h->edge_start[from]; e < h->edge_start[from + 1]; e++) {
                        uint32_t x = h->edge_dst[e], o;

                        if (x >= s->n || (done[x / 64] & (1ULL << (x % 64))))
                                continue;
                        done[x / 64] |= 1ULL << (x % 64);
                        o = credit_one(h, s, x);
                        if (o != NONE && (isowner[o / 64] & (1ULL << (o % 64))))
                                mark_item(h, near, x, slot_of(sl, nsl, o), ret);
                }
        }
        r = 0;
out:
        free(done);
        return r;
}

int heap_suspects_shares(const struct heap *h, const uint32_t *holder, const uint32_t *owners,
                         uint32_t n, const uint8_t *want, struct heap_owner_share *ret)
{
        struct scratch s = {0};
        struct slot *sl = NULL;
        uint32_t *near = NULL, nsl = 0;
        uint64_t *isowner = NULL;
        int r = -ENOMEM;

        if (!h || !ret || (n && !owners) || n > HEAP_SHARES_MAX || !h->analysed || !h->idom ||
            !h->retained || !h->pred_start || h->nobjs >= NEAR_ITEM)
                return -EINVAL;
        memset(ret, 0, sizeof(*ret) * n);
        s.n = h->nobjs;
        sl = malloc(sizeof(*sl) * (n ? n : 1));
        near = malloc(sizeof(*near) * ((size_t)s.n + 1));
        s.tkind = malloc((size_t)h->ntypes + 1);
        isowner = calloc(((size_t)s.n + 63) / 64 + 1, sizeof(*isowner));
        if (!sl || !near || !s.tkind || !isowner)
                goto out;
        for (uint32_t k = 0; k < n; k++)
                if (owners[k] < s.n) {
                        sl[nsl++] = (struct slot){owners[k], k};
                        isowner[owners[k] / 64] |= 1ULL << (owners[k] % 64);
                }
        qsort(sl, nsl, sizeof(*sl), cmp_slot);
        mark_types(h, &s);
        if (holder) {
                for (uint32_t x = 0; x < s.n; x++) {
                        uint32_t o = holder[x];

                        near[x] = NEAR_UNKNOWN;
                        if (o < s.n && (isowner[o / 64] & (1ULL << (o % 64))))
                                mark_item(h, near, x, slot_of(sl, nsl, o), ret);
                }
        } else if ((r = mark_credited(h, &s, sl, nsl, isowner, near, ret)) < 0) {
                goto out;
        }
        /* every object under an item counts for that item's owner, once
         * per item above it */
        for (uint32_t v = 0; v < s.n; v++) {
                if (want && !want[v])
                        continue;
                for (uint32_t x = nearest_item(h, near, v), d = 0; x != NONE && d < s.n; d++) {
                        ret[near[x] - NEAR_ITEM].objects++;
                        x = h->idom[x] < s.n ? nearest_item(h, near, h->idom[x]) : NONE;
                }
        }
        /* an owner listed twice: the first's share */
        for (uint32_t k = 0; k < n; k++) {
                uint32_t j = owners[k] < s.n ? slot_of(sl, nsl, owners[k]) : NONE;

                if (j != NONE && j != k)
                        ret[k] = ret[j];
        }
        r = 0;
out:
        free(sl);
        free(near);
        free(isowner);
        free(s.tkind);
        free(s.interp);
        return r;
}

void heap_suspects_release(struct heap_suspects *s)
{
        if (!s)
                return;
        free(s->v);
        free(s->holder);
        free(s->state);
        *s = (struct heap_suspects){0};
}
