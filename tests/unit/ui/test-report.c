/* The writers and the shortest-cycle path on a hand-built, analysed heap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "heap-build.h"
#include "paths.h"
#include "report.h"
#include "tap.h"

static char *render(const struct heap *h, int json, int objects)
{
        struct report_opts ro = {.objects = objects, .top = 20};
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (json)
                report_json(h, f, &ro);
        else
                report_text(h, f, &ro);
        fclose(f);
        return buf;
}

int main(void)
{
        struct heap *h = heap_new();
        uint32_t tnode, tlist, a, b, c, l, x, next, prev, item;
        struct heap_path p = {0};
        char *json, *text;

        heap_intern_type(h, 0x9000, "__main__", "Node", false, &tnode);
        heap_intern_type(h, 0x9100, "builtins", "list", false, &tlist);
        /* a -> b -> c -> a plus a chord a -> c: the shortest cycle through a
         * is a -> c -> a, two steps, not the three-step loop. */
        heap_add_object(h, 0x1000, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &a);
        heap_add_object(h, 0x2000, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &b);
        heap_add_object(h, 0x3000, tnode, HEAP_GEN_2, 3, 48, HOBJ_HAS_GC, &c);
        heap_add_object(h, 0x4000, tlist, HEAP_GEN_1, 2, 64, HOBJ_HAS_GC, &l);
        heap_mark_tracked_done(h);
        heap_add_object(h, 0x5000, tlist, HEAP_GEN_UNTRACKED, 7, 56, 0, &x);
        heap_intern_label(h, ".next", &next);
        heap_intern_label(h, ".prev", &prev);
        item = heap_label_index(0);
        heap_add_edge(h, a, b, next);
        heap_add_edge(h, a, c, prev);
        heap_add_edge(h, b, c, next);
        heap_add_edge(h, c, a, next);
        heap_add_edge(h, l, l, item);
        heap_add_edge(h, l, x, heap_label_index(1));
        ok(heap_finish(h) == 0, "heap_finish");
        ok(heap_analyse(h) == 0, "heap_analyse");
        ok(h->cycles.n == 2, "two cycles (a/b/c and the self-referencing list): %u",
           h->cycles.n);

        /* c has refcnt 3 but only 2 internal references: the a/b/c cycle is
         * alive; the list's refcnt 2 > 1 internal reference: alive too. */
        ok(h->ngarbage == 0, "nothing is garbage: %u", h->ngarbage);

        {
                int64_t ci = -1;
                uint32_t cyc;

                ok(heap_object_cycle(h, a, &cyc) == 0, "a is in a cycle");
                ci = cyc;
                ok(heap_shortest_cycle(h, (uint32_t)ci, a, &p) == 0, "shortest cycle found");
                ok(p.n == 2 && p.objs[0] == a && p.objs[1] == c && p.objs[2] == a,
                   "shortest cycle through a is a -> c -> a (n=%u)", p.n);
                ok(p.labels[0] == prev && p.labels[1] == next, "labels .prev then .next");
                heap_path_release(&p);
                ok(heap_object_cycle(h, l, &cyc) == 0 &&
                   heap_shortest_cycle(h, cyc, l, &p) == 0 && p.n == 1 && p.objs[1] == l,
                   "self-reference is a one-step cycle");
                heap_path_release(&p);
        }

        json = render(h, 1, 1);
        ok(strstr(json, "\"generations\": [{\"name\": \"0\", \"objects\": 2}, "
                        "{\"name\": \"1\", \"objects\": 1}, {\"name\": \"2\", \"objects\": 1}, "
                        "{\"name\": \"permanent\", \"objects\": 0}]") != NULL,
           "JSON generations");
        ok(strstr(json, "{\"id\": 16384, \"type\": \"builtins.list\", \"gen\": \"1\", "
                        "\"refcnt\": 2, \"size\": 64, \"native\": 0, \"retained\": 64, "
                        "\"opaque\": false, "
                        "\"referents\": "
                        "[{\"id\": 16384, \"label\": \"[0]\"}, {\"id\": 20480, \"label\": "
                        "\"[1]\"}]}") != NULL,
           "JSON object with labelled referents");
        ok(strstr(json, "\"garbage\": []") != NULL, "JSON empty garbage");
        ok(strstr(json, "\"members\": [4096,8192,12288]") != NULL, "JSON cycle members");
        free(json);
        json = render(h, 1, 0);
        ok(strstr(json, "\"objects\": [") == NULL, "no objects without --objects");
        free(json);

        text = render(h, 0, 0);
        ok(strstr(text, "__main__.Node@0x1000 .prev -> __main__.Node@0x3000 .next -> "
                        "__main__.Node@0x1000") != NULL,
           "text draws the cycle as a labelled chain");
        ok(strstr(text, "Cycles: 2 (0 garbage)") != NULL, "text cycle count");
        free(text);
        heap_free(h);

        /* The same cycle with exact refcounts is garbage. */
        h = heap_new();
        heap_intern_type(h, 0x9000, "__main__", "Node", false, &tnode);
        heap_add_object(h, 0x1000, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &a);
        heap_add_object(h, 0x2000, tnode, HEAP_GEN_0, 1, 48, HOBJ_HAS_GC, &b);
        heap_mark_tracked_done(h);
        heap_intern_label(h, ".next", &next);
        heap_add_edge(h, a, b, next);
        heap_add_edge(h, b, a, next);
        heap_finish(h);
        heap_analyse(h);
        text = render(h, 0, 0);
        ok(strstr(text, "GARBAGE") && strstr(text, "would free 2 objects, 96 B"),
           "text reports the garbage cycle");
        free(text);
        json = render(h, 1, 0);
        ok(strstr(json, "\"garbage\": [4096,8192]") != NULL, "JSON garbage ids");
        free(json);
        heap_free(h);
        return tap_done();
}
