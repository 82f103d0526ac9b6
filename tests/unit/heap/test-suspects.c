/* test-suspects: leak suspects on hand-built graphs: the owner named by
 * its path from a module ("m.cache"), and the short name from the last
 * instance ("Foo.items"), its items and retained bytes, the interpreter's
 * namespaces never owners, nothing on a heap that is not analysed, and
 * the objects --baseline growth counts under an owner on both sides. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

int main(void)
{
        test_module_cache();
        test_growth_counts();
        return tap_done();
}
