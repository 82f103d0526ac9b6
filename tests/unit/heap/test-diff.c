/* test-diff: growth between two hand-built snapshots (heap_diff): per type,
 * per cycle shape, new objects (an address reused by another type is new),
 * ordering, and misuse. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "fixture-graph.h"
#include "tap.h"

static const struct heap_diff_type *find_type(const struct heap_diff *d, const char *name)
{
        for (uint32_t i = 0; i < d->ntypes; i++)
                if (strcmp(d->types[i].name, name) == 0)
                        return &d->types[i];
        return NULL;
}

static const struct heap_diff_shape *find_shape(const struct heap_diff_shape *s, uint32_t n,
                                                const char *sig)
{
        for (uint32_t i = 0; i < n; i++)
                if (strcmp(s[i].signature, sig) == 0)
                        return &s[i];
        return NULL;
}

static void test_growth(void)
{
        /* old: A Node(0xa0) <-> B dict(0xb0) cycle, C list(0xc0),
         *      E Node2(0xe0) (the other class named __main__.Node)
         * new: A Node(0xa0) <-> B dict(0xb0), B' at 0xc0 is now a Node (address
         *      reused) <-> D dict(0xd0), F Node(0xf0) <-> G dict(0x100),
         *      E Node2(0xe0), H list(0x110) self-loop */
        const struct fx_obj oo[] = {
                {0, 2, 100, 0, FX_NODE, 0xa0}, {0, 1, 200, 0, FX_DICT, 0xb0},
                {0, 1, 50, 0, FX_LIST, 0xc0},  {0, 1, 30, 0, FX_NODE2, 0xe0},
        };
        const struct fx_edge oe[] = {{0, 1, 0}, {1, 0, 0}};
        const struct fx_obj no[] = {
                {0, 2, 100, 0, FX_NODE, 0xa0}, {0, 1, 200, 0, FX_DICT, 0xb0},
                {0, 2, 100, 0, FX_NODE, 0xc0}, {0, 1, 200, 0, FX_DICT, 0xd0},
                {0, 2, 100, 0, FX_NODE, 0xf0}, {0, 1, 200, 0, FX_DICT, 0x100},
                {0, 1, 30, 0, FX_NODE2, 0xe0}, {0, 2, 70, 0, FX_LIST, 0x110},
        };
        const struct fx_edge ne[] = {{0, 1, 0}, {1, 0, 0}, {2, 3, 0}, {3, 2, 0},
                                     {4, 5, 0}, {5, 4, 0}, {7, 7, 0}};
        struct heap *old = FX_BUILD(oo, oe), *cur = FX_BUILD(no, ne);
        struct heap_diff *d = NULL;
        const struct heap_diff_type *t;
        const struct heap_diff_shape *s;
        int sorted = 1;

        ok(heap_diff(old, cur, &d) == -EINVAL && d == NULL, "not analysed: -EINVAL");
        ok(heap_analyse(old) == 0 && heap_analyse(cur) == 0, "both analysed");
        ok(heap_diff(old, cur, &d) == 0 && d, "diff computed");

        t = find_type(d, "__main__.Node");
        ok(t && t->old_count == 2 && t->new_count == 4 && t->dcount == 2 && t->dbytes == 200,
           "types: both classes named __main__.Node pooled by name (+2, +200)");
        t = find_type(d, "builtins.dict");
        ok(t && t->dcount == 2 && t->dbytes == 400, "types: dict +2, +400");
        t = find_type(d, "builtins.list");
        ok(t && t->dcount == 0 && t->dbytes == 20 && t->old_bytes == 50 && t->new_bytes == 70,
           "types: list same count, +20 bytes");
        ok(find_type(d, "builtins.module") == NULL, "types: unchanged types left out");
        ok(d->ntypes == 3 && strcmp(d->types[0].name, "builtins.dict") == 0 &&
                   strcmp(d->types[2].name, "builtins.list") == 0,
           "types: sorted by delta bytes");

        s = find_shape(d->shapes, d->nshapes, "__main__.Node+dict");
        ok(s && s->old_cycles == 1 && s->new_cycles == 3 && s->dcycles == 2 &&
                   s->dbytes == 600,
           "shapes: Node+dict cycles 1 -> 3, +600 bytes");
        s = find_shape(d->shapes, d->nshapes, "list");
        ok(s && s->old_cycles == 0 && s->dcycles == 1 && s->dbytes == 70,
           "shapes: new self-loop shape");
        ok(d->nshapes == 2 && d->shapes[0].dbytes >= d->shapes[1].dbytes,
           "shapes: two changed, sorted");
        ok(d->nshapes_local == 2 && find_shape(d->shapes_local, d->nshapes_local,
                                               "__main__.Node+dict"),
           "shapes: local grouping too");
        for (uint32_t i = 1; i < d->ntypes; i++)
                sorted &= d->types[i - 1].dbytes >= d->types[i].dbytes;
        ok(sorted, "types sorted by delta bytes descending");

        ok(d->nnew == 5 && d->new_objs[0] == 2 && d->new_objs[1] == 3 && d->new_objs[2] == 4 &&
                   d->new_objs[3] == 5 && d->new_objs[4] == 7,
           "new objects: reused address with another type counts, old ones do not");
        ok(d->new_bytes == 670, "new objects: bytes summed");
        {
                /* growth's cheaper path: the same objects, as flags */
                uint8_t flags[8];
                uint32_t nflags = 0, k = 0;
                int same = 1;

                memset(flags, 0xee, sizeof(flags));
                ok(heap_diff_new_flags(old, cur, flags, &nflags) == 0 && nflags == d->nnew,
                   "new flags: as many as heap_diff's new objects");
                for (uint32_t v = 0; v < 8; v++) {
                        bool listed = k < d->nnew && d->new_objs[k] == v;

                        same &= flags[v] == (listed ? 1 : 0);
                        k += listed;
                }
                ok(same, "new flags: exactly heap_diff's new objects, 0 elsewhere");
                ok(heap_diff_new_flags(old, cur, NULL, NULL) == -EINVAL, "new flags: NULL rejected");
        }
        heap_diff_free(d);
        heap_diff_free(NULL);

        ok(heap_diff(cur, cur, &d) == 0 && d->ntypes == 0 && d->nshapes == 0 && d->nnew == 0,
           "a heap against itself: nothing changed");
        heap_diff_free(d);
        ok(heap_diff(NULL, cur, &d) == -EINVAL, "NULL rejected");
        fx_free(old);
        fx_free(cur);
}

int main(void)
{
        test_growth();
        return tap_done();
}
