/* test-suspects: leak suspects on hand-built graphs: the owner named by
 * its path from a module ("m.cache"), and the short name from the last
 * instance ("Foo.items"), its items and retained bytes, the interpreter's
 * namespaces never owners, nothing on a heap that is not analysed, and
 * the objects --baseline growth counts under an owner on both sides:
 * heap_suspects_shares() for a few owners as the crediting of every
 * object gives it, the suspects folded again for another max, and the
 * growth from a report's suspects as from its own. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture-graph.h"
#include "growth.h"
#include "suspects.h"
#include "tap.h"
#include "testutil.h"

#define NITEMS 12

/* Labels the last root with an edge label's text: the fixture interns
 * texts only for edges (the unreachable self-cycle 29 carries "m"). */
static void label_root(struct heap *h, const char *text)
{
        for (uint32_t l = 0; l < h->nlabels; l++)
                if (!strcmp(h->labels[l], text))
                        h->roots[h->nroots - 1].label = l;
}

static void test_module_cache(void)
{
        /* 0 module m -> __dict__ 1 -> ['cache'] 2 -> [k] 3..14 (100 B each);
         * 1 -> ['inst'] 15 Foo -> .items 16 list -> [k] 17..28 (50 B each) */
        struct fx_obj o[30];
        struct fx_edge e[5 + 2 * NITEMS];
        struct heap_suspects s = {0};
        uint32_t ne = 0;
        struct heap *h;

        for (uint32_t i = 0; i < 30; i++)
                o[i] = (struct fx_obj){2, 1, 1, 0, FX_NODE, 0};
        o[0].type = FX_MODULE;
        o[1].type = FX_DICT;
        o[2].type = FX_DICT;
        o[15].type = FX_FOO;
        o[16].type = FX_LIST;
        e[ne++] = (struct fx_edge){0, 1, "__dict__"};
        e[ne++] = (struct fx_edge){1, 2, "['cache']"};
        e[ne++] = (struct fx_edge){1, 15, "['inst']"};
        e[ne++] = (struct fx_edge){15, 16, ".items"};
        e[ne++] = (struct fx_edge){29, 29, "m"};
        for (uint32_t k = 0; k < NITEMS; k++) {
                o[3 + k].size = 100;
                o[17 + k].size = 50;
                e[ne++] = (struct fx_edge){2, 3 + k, NULL};
                e[ne++] = (struct fx_edge){16, 17 + k, NULL};
        }
        h = fx_build(o, 30, e, ne);
        ok(h != NULL, "module cache: built");
        if (!h)
                return;
        ok(heap_suspects_compute(h, 5, &s) == -EINVAL, "not analysed: -EINVAL");
        fx_add_root(h, 0, HEAP_ROOT_MODULE);
        label_root(h, "m");
        ok(heap_analyse(h) == 0, "module cache: analysed");
        ok(heap_obj_is_structure(h, 0) && heap_obj_is_structure(h, 1) &&
                   !heap_obj_is_structure(h, 2),
           "the module and its dict are structure, the cache is not");
        ok(heap_suspects_compute(h, 5, &s) == 0 && s.n == 2, "two owners (got %u)", s.n);
        if (s.n == 2) {
                ok(s.v[0].owner == 2 && !strcmp(s.v[0].name.owner, "m.cache") &&
                           !strcmp(s.v[0].name.root, "module m"),
                   "first: the cache, named m.cache under module m (got %s / %s)",
                   s.v[0].name.owner, s.v[0].name.root);
                ok(s.v[0].retained == 1 + NITEMS * 100 && s.v[0].items == NITEMS &&
                           s.v[0].objects == 1 + NITEMS,
                   "its retained bytes, items and objects (%llu, %llu, %llu)",
                   (unsigned long long)s.v[0].retained, (unsigned long long)s.v[0].items,
                   (unsigned long long)s.v[0].objects);
                ok(strstr(s.v[0].accumulates, "12 \u00d7 Node") != NULL,
                   "what accumulates: %s", s.v[0].accumulates);
                ok(s.v[1].owner == 16 && !strcmp(s.v[1].name.owner, "Foo.items") &&
                           !strcmp(s.v[1].name.path, "m.inst.items"),
                   "second: the list named from its instance, Foo.items (got %s, path %s)",
                   s.v[1].name.owner, s.v[1].name.path);
        }
        heap_suspects_release(&s);
        ok(s.v == NULL && s.n == 0, "released");
        fx_free(h);
}

/* 0 module m -> __dict__ 1 -> ['cache'] 2 -> [k] items, each item
 * holding one child of its own: the cache dominates 1 + 2 * items. */
static struct heap *cache_heap(uint32_t items)
{
        struct fx_obj o[64];
        struct fx_edge e[64];
        uint32_t ne = 0, no = 3;
        struct heap *h;

        o[0] = (struct fx_obj){2, 1, 1, 0, FX_MODULE, 0};
        o[1] = (struct fx_obj){2, 1, 1, 0, FX_DICT, 0};
        o[2] = (struct fx_obj){2, 1, 1, 0, FX_DICT, 0};
        e[ne++] = (struct fx_edge){0, 1, "__dict__"};
        e[ne++] = (struct fx_edge){1, 2, "['cache']"};
        e[ne++] = (struct fx_edge){no + 2 * items, no + 2 * items, "m"};
        for (uint32_t k = 0; k < items; k++, no += 2) {
                o[no] = (struct fx_obj){2, 1, 100, 0, FX_NODE, 0};
                o[no + 1] = (struct fx_obj){2, 1, 10, 0, FX_LIST, 0};
                e[ne++] = (struct fx_edge){2, no, NULL};
                e[ne++] = (struct fx_edge){no, no + 1, NULL};
        }
        o[no++] = (struct fx_obj){2, 1, 1, 0, FX_NODE, 0};
        h = fx_build(o, no, e, ne);
        if (h) {
                fx_add_root(h, 0, HEAP_ROOT_MODULE);
                label_root(h, "m");
        }
        return h;
}

static void test_growth_counts(void)
{
        /* the objects under the owner, on both sides, and the new ones:
         * dominated subtrees counted whole, the owner included */
        struct heap *old = cache_heap(NITEMS), *cur = cache_heap(NITEMS + 5);
        struct heap_growth g = {0};

        ok(old && cur && heap_analyse(old) == 0 && heap_analyse(cur) == 0, "growth: analysed");
        ok(heap_growth_compute(old, cur, 5, &g) == 0 && g.n >= 1, "growth: computed (%u)", g.n);
        if (g.n >= 1) {
                ok(!strcmp(g.v[0].name.owner, "m.cache") && g.v[0].old_owner == 2,
                   "growth: m.cache matched by path (%s)", g.v[0].name.owner);
                ok(g.v[0].old_objects == 1 + 2 * NITEMS && g.v[0].new_objects == 1 + 2 * (NITEMS + 5),
                   "growth: objects under the owner (%llu -> %llu)",
                   (unsigned long long)g.v[0].old_objects, (unsigned long long)g.v[0].new_objects);
                ok(g.v[0].dobjects == 10, "growth: +10 objects (%lld)", (long long)g.v[0].dobjects);
        }
        heap_growth_release(&g);
        fx_free(old);
        fx_free(cur);
}

/* A graph with every way of crediting: a cache and its items' subtrees;
 * a list of instances each owning a list (owners under another owner's
 * items); an object two roots reach (its dominator the virtual root) and
 * a list under it that refers back to it, so that both are credited to
 * that list, one inside the other; a class's dict and the interpreter's
 * root dict (structure) holding items too. */
static struct heap *shares_heap(void)
{
        struct fx_obj o[160];
        struct fx_edge e[320];
        uint32_t no = 0, ne = 0, mod, md, cache, insts, x, l, cls, cd, interp;

        for (uint32_t i = 0; i < 160; i++)
                o[i] = (struct fx_obj){2, 1, 10 + i % 7, 0, FX_NODE, 0};
        mod = no++; o[mod].type = FX_MODULE;
        md = no++; o[md].type = FX_DICT;
        e[ne++] = (struct fx_edge){mod, md, "__dict__"};
        cache = no++; o[cache].type = FX_DICT;
        e[ne++] = (struct fx_edge){md, cache, "['cache']"};
        for (uint32_t k = 0; k < 10; k++, no += 2) {
                e[ne++] = (struct fx_edge){cache, no, NULL};
                e[ne++] = (struct fx_edge){no, no + 1, NULL};
                o[no + 1].type = FX_LIST;
        }
        insts = no++; o[insts].type = FX_LIST;
        e[ne++] = (struct fx_edge){md, insts, "['insts']"};
        for (uint32_t k = 0; k < 3; k++) {
                uint32_t f = no++, il = no++;

                o[f].type = FX_FOO;
                o[il].type = FX_LIST;
                e[ne++] = (struct fx_edge){insts, f, NULL};
                e[ne++] = (struct fx_edge){f, il, ".items"};
                for (uint32_t j = 0; j < 9; j++)
                        e[ne++] = (struct fx_edge){il, no++, NULL};
        }
        x = no++;
        l = no++; o[l].type = FX_LIST;
        e[ne++] = (struct fx_edge){md, x, "['x']"};
        e[ne++] = (struct fx_edge){x, l, ".l"};
        e[ne++] = (struct fx_edge){l, x, NULL};
        for (uint32_t j = 0; j < 9; j++, no += 2) {
                e[ne++] = (struct fx_edge){l, no, NULL};
                e[ne++] = (struct fx_edge){no, no + 1, NULL};
        }
        cls = no++; o[cls].type = FX_TYPE; o[cls].flags = HOBJ_IS_TYPE;
        cd = no++; o[cd].type = FX_DICT;
        e[ne++] = (struct fx_edge){md, cls, "['C']"};
        e[ne++] = (struct fx_edge){cls, cd, "__dict__"};
        for (uint32_t j = 0; j < 9; j++)
                e[ne++] = (struct fx_edge){cd, no++, NULL};
        interp = no++; o[interp].type = FX_DICT;
        for (uint32_t j = 0; j < 9; j++)
                e[ne++] = (struct fx_edge){interp, no++, NULL};
        e[ne++] = (struct fx_edge){interp, x, NULL};
        e[ne++] = (struct fx_edge){interp, cache + 1, NULL};
        e[ne++] = (struct fx_edge){no, no, "m"};
        no++;
        struct heap *h = fx_build(o, no, e, ne);

        if (h) {
                fx_add_root(h, mod, HEAP_ROOT_MODULE);
                label_root(h, "m");
                fx_add_root(h, interp, HEAP_ROOT_INTERP);
                fx_add_root(h, x, HEAP_ROOT_THREAD);
        }
        return h;
}

static void test_shares(void)
{
        struct heap *h = shares_heap();
        uint32_t *holder = NULL, n, bad = 0, nested = 0;
        uint64_t *objs, *want_objs, *bytes;
        uint8_t *want;

        ok(h && heap_analyse(h) == 0 && heap_suspects_holders(h, &holder) == 0,
           "shares: analysed, every object credited");
        if (!holder) {
                fx_free(h);
                return;
        }
        n = h->nobjs;
        objs = calloc(n, sizeof(*objs));
        want_objs = calloc(n, sizeof(*want_objs));
        bytes = calloc(n, sizeof(*bytes));
        want = malloc(n);
        /* what growth summed before: every object under every item */
        for (uint32_t v = 0; v < n; v++) {
                uint32_t seen[64], nseen = 0;

                want[v] = v % 3 == 0;
                for (uint32_t x = v, d = 0; x < n && d < n; x = h->idom[x], d++) {
                        if (holder[x] >= n)
                                continue;
                        objs[holder[x]]++;
                        want_objs[holder[x]] += want[v];
                        for (uint32_t j = 0; j < nseen; j++)
                                nested += seen[j] == holder[x];
                        if (nseen < 64)
                                seen[nseen++] = holder[x];
                }
                if (holder[v] < n)
                        bytes[holder[v]] += h->retained[v];
        }
        for (uint32_t o0 = 0; o0 < n; o0 += 40) {
                struct heap_owner_share a[41], b[41];
                uint32_t own[41], k = 0;

                for (uint32_t o = o0; o < n && k < 40; o++)
                        own[k++] = o;
                own[k++] = o0;  /* an owner twice */
                ok(heap_suspects_shares(h, NULL, own, k, NULL, a) == 0 &&
                           heap_suspects_shares(h, holder, own, k, want, b) == 0,
                   "shares of objects %u..: computed", o0);
                for (uint32_t j = 0; j < k; j++)
                        bad += a[j].objects != objs[own[j]] || a[j].retained != bytes[own[j]] ||
                               b[j].objects != want_objs[own[j]] || b[j].retained != bytes[own[j]];
        }
        ok(bad == 0, "shares: every object as an owner, as crediting all gives (%u wrong)", bad);
        ok(nested > 0, "shares: an item under another item of its owner counts twice (%u)",
           nested);
        {
                struct heap_owner_share a[1];
                uint32_t own[HEAP_SHARES_MAX + 1] = {0};

                ok(heap_suspects_shares(h, NULL, own, HEAP_SHARES_MAX + 1, NULL, a) == -EINVAL,
                   "shares: more than HEAP_SHARES_MAX owners: -EINVAL");
        }
        free(objs);
        free(want_objs);
        free(bytes);
        free(want);
        free(holder);
        fx_free(h);
}

static bool same_suspects(const struct heap_suspects *a, const struct heap_suspects *b)
{
        if (a->n != b->n)
                return false;
        for (uint32_t k = 0; k < a->n; k++)
                if (a->v[k].owner != b->v[k].owner || a->v[k].retained != b->v[k].retained ||
                    a->v[k].nfolded != b->v[k].nfolded ||
                    strcmp(a->v[k].accumulates, b->v[k].accumulates) ||
                    strcmp(a->v[k].name.path, b->v[k].name.path))
                        return false;
        return true;
}

static bool same_growth(const struct heap_growth *a, const struct heap_growth *b)
{
        if (a->n != b->n || !a->n)
                return false;
        for (uint32_t k = 0; k < a->n; k++) {
                const struct heap_owner_growth *x = &a->v[k], *y = &b->v[k];

                if (x->owner != y->owner || x->old_owner != y->old_owner ||
                    x->old_retained != y->old_retained || x->new_retained != y->new_retained ||
                    x->old_objects != y->old_objects || x->new_objects != y->new_objects ||
                    x->new_objs != y->new_objs || strcmp(x->new_types, y->new_types) ||
                    strcmp(x->accumulates, y->accumulates) || strcmp(x->name.path, y->name.path))
                        return false;
        }
        return true;
}

static void test_refold(void)
{
        struct heap *old = cache_heap(NITEMS), *cur = shares_heap();
        struct heap_suspects one = {0}, five = {0}, again = {0};
        struct heap_growth g = {0}, g2 = {0};

        ok(old && cur && heap_analyse(old) == 0 && heap_analyse(cur) == 0, "refold: analysed");
        ok(heap_suspects_compute(cur, 1, &one) == 0 && heap_suspects_compute(cur, 5, &five) == 0 &&
                   heap_suspects_max(&one) == 1 && five.n > 1,
           "refold: one suspect, and more for 5");
        ok(heap_suspects_refold(cur, &one, 5, &again) == 0 && same_suspects(&again, &five) &&
                   !again.holder && !again.state,
           "refold: folded again for 5, as computed for 5");
        ok(heap_growth_compute(old, cur, 5, &g) == 0 &&
                   heap_growth_compute_with(old, cur, &one, 5, &g2) == 0 && same_growth(&g, &g2),
           "growth from a report's suspects as from its own");
        {
                struct heap_suspects none = {0};

                ok(heap_suspects_refold(cur, &again, 5, &none) == -EINVAL,
                   "refold: a refolded result has no state: -EINVAL");
        }
        heap_suspects_release(&one);
        heap_suspects_release(&five);
        heap_suspects_release(&again);
        heap_growth_release(&g);
        heap_growth_release(&g2);
        fx_free(old);
        fx_free(cur);
}

int main(void)
{
        test_module_cache();
        test_growth_counts();
        test_shares();
        test_refold();
        return tap_done();
}
