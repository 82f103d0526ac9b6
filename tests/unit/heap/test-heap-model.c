/* test-heap-model: the builder protocol, lookups, labels, CSR and counts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "heap-build.h"
#include "tap.h"
#include "testutil.h"

static void test_protocol(void)
{
        struct heap *h = heap_new();
        uint32_t tdict, tnode, tstr, tdict2, i, lname, lname2, lkey;
        uint32_t a, b, c, d, u1, u2;
        char buf[64];

        ok(h != NULL, "heap_new");
        ok(heap_intern_type(h, 0x1000, "builtins", "dict", false, &tdict) == 0 && tdict == 0,
           "intern dict");
        ok(heap_intern_type(h, 0x2000, "__main__", "Node", false, &tnode) == 0 && tnode == 1,
           "intern Node");
        ok(heap_intern_type(h, 0x3000, "builtins", "str", true, &tstr) == 0 && tstr == 2,
           "intern str");
        ok(heap_intern_type(h, 0x1000, "x", "y", true, &tdict2) == 0 && tdict2 == tdict,
           "same type address gives same index");
        ok(h->ntypes == 3, "three types");
        ok(strcmp(h->types[tnode].fullname, "__main__.Node") == 0, "fullname joins module");
        ok(strcmp(h->types[tdict].qualname, "dict") == 0 && !h->types[tdict].opaque,
           "first interning wins");
        ok(heap_type_find(h, 0x2000) == tnode && heap_type_find(h, 0x9999) == -1,
           "heap_type_find");

        ok(heap_add_object(h, 0x100, tdict, HEAP_GEN_0, 2, 64, 0, &a) == 0 && a == 0, "add a");
        ok(heap_add_object(h, 0x110, tnode, HEAP_GEN_1, 1, 48, 0, &b) == 0 && b == 1, "add b");
        ok(heap_add_object(h, 0x120, tnode, HEAP_GEN_2, 1, 48, HOBJ_OPAQUE, &c) == 0 && c == 2,
           "add c (opaque)");
        ok(heap_add_object(h, 0x130, tdict, HEAP_GEN_PERMANENT, 5, 64, 0, &d) == 0 && d == 3,
           "add d (permanent)");
        ok(heap_add_object(h, 0x110, tdict, HEAP_GEN_0, 1, 1, 0, &i) == -EEXIST,
           "duplicate address rejected");
        ok(heap_add_object(h, 0x140, 7, HEAP_GEN_0, 1, 1, 0, &i) == -EINVAL, "bad type index");
        ok(heap_add_object(h, 0x140, tstr, HEAP_GEN_UNTRACKED, 1, 1, 0, &i) == -EINVAL,
           "untracked before tracked_done rejected");
        ok(heap_add_edge(h, 0, 1, heap_label_index(0)) == -EINVAL,
           "edge before tracked_done rejected");
        ok(h->nobjs == 4 && h->ntracked == 4, "four tracked");

        heap_mark_tracked_done(h);
        ok(heap_add_object(h, 0x140, tdict, HEAP_GEN_0, 1, 1, 0, &i) == -EINVAL,
           "tracked after tracked_done rejected");
        ok(heap_intern_label(h, ".name", &lname) == 0, "intern .name");
        ok(heap_intern_label(h, "['k']", &lkey) == 0 && lkey != lname, "intern key");
        ok(heap_intern_label(h, ".name", &lname2) == 0 && lname2 == lname,
           "interning returns the same id");

        ok(heap_add_object(h, 0x500, tstr, HEAP_GEN_UNTRACKED, 3, 50, 0, &u1) == 0 && u1 == 4,
           "add untracked u1");
        ok(heap_add_edge(h, a, u1, lkey) == 0, "a -> u1");
        ok(heap_add_edge(h, a, b, heap_label_index(3)) == 0, "a -> b");
        ok(heap_add_edge(h, a, a, lname) == 0, "a -> a");
        ok(heap_add_edge(h, c, 99, lname) == -EINVAL, "bad dst rejected");
        ok(heap_add_edge(h, c, b, 77) == -EINVAL, "bad label rejected");
        /* b has no edges: sources may be skipped */
        ok(heap_add_edge(h, c, b, lname) == 0, "c -> b");
        ok(heap_add_edge(h, a, b, lname) == -EINVAL, "non-monotonic source rejected");
        ok(heap_add_object(h, 0x510, tstr, HEAP_GEN_UNTRACKED, 1, 60, 0, &u2) == 0 && u2 == 5,
           "add untracked u2 during edges");
        ok(heap_add_edge(h, c, u2, heap_label_index(0)) == 0, "c -> u2");
        ok(heap_add_edge(h, c, u2, heap_label_index(0)) == 0, "c -> u2 duplicate kept");
        /* d has no edges either: the last tracked object.  Untracked
         * sources come after every tracked one (a numpy view's base) */
        ok(heap_add_edge(h, u1, a, lname) == 0, "untracked u1 -> a, after the tracked sources");
        ok(heap_add_edge(h, d, a, lname) == -EINVAL, "a tracked source after it rejected");
        ok(heap_add_edge(h, 6, a, lname) == -EINVAL, "a source past the objects rejected");
        {
                /* the 32-bit edge offsets' bound: refused before the arrays
                 * are touched, as a full graph (the walk names it) */
                uint64_t had = h->nedges;

                h->nedges = HEAP_MAX_EDGES;
                ok(heap_add_edge(h, u1, a, lname) == -ENOMEM, "an edge past HEAP_MAX_EDGES refused");
                h->nedges = had;
        }

        ok(heap_finish(h) == 0, "finish");
        ok(heap_finish(h) == -EINVAL, "finish twice rejected");
        ok(heap_add_object(h, 0x600, tstr, HEAP_GEN_UNTRACKED, 1, 1, 0, &i) == -EINVAL,
           "add after finish rejected");
        ok(h->nedges == 7, "seven edges");
        {
                static const uint32_t want[7] = {0, 3, 3, 6, 6, 7, 7};

                ok(memcmp(h->edge_start, want, sizeof(want)) == 0, "edge_start CSR");
        }
        ok(heap_nref(h, a) == 3 && heap_nref(h, b) == 0 && heap_nref(h, c) == 3 &&
                   heap_nref(h, d) == 0 && heap_nref(h, u1) == 1 && heap_nref(h, u2) == 0,
           "out-degrees, the untracked source's included");
        ok(h->edge_dst[0] == u1 && h->edge_dst[1] == b && h->edge_dst[2] == a &&
                   h->edge_dst[3] == b && h->edge_dst[4] == u2 && h->edge_dst[5] == u2 &&
                   h->edge_dst[6] == a,
           "edge_dst in insertion order");
        ok(strcmp(heap_label_text(h, heap_edge_label(h, a, 0), buf, sizeof(buf)), "['k']") == 0,
           "text label");
        ok(strcmp(heap_label_text(h, heap_edge_label(h, a, 1), buf, sizeof(buf)), "[3]") == 0,
           "index label");
        ok(strcmp(heap_label_text(h, heap_label_index(123456), buf, sizeof(buf)), "[123456]") ==
                   0,
           "big index label");
        ok(strcmp(heap_label_text(h, 999, buf, sizeof(buf)), "?") == 0, "unknown label");
        ok(strcmp(heap_label_text(h, lname, buf, 3), ".n") == 0, "label truncated, terminated");

        ok(heap_find(h, 0x120) == c && heap_find(h, 0x510) == u2 && heap_find(h, 0x121) == -1,
           "heap_find");
        ok(h->ngen_counts[HEAP_GEN_0] == 1 && h->ngen_counts[HEAP_GEN_1] == 1 &&
                   h->ngen_counts[HEAP_GEN_2] == 1 && h->ngen_counts[HEAP_GEN_PERMANENT] == 1 &&
                   h->ngen_counts[HEAP_GEN_UNTRACKED] == 2,
           "per-generation counts");
        ok(h->ndecoded == 3, "ndecoded counts tracked non-opaque");
        ok(h->types[tdict].count == 2 && h->types[tdict].bytes == 128 &&
                   h->types[tdict].tracked == 2,
           "dict histogram");
        ok(h->types[tnode].count == 2 && h->types[tnode].bytes == 96 &&
                   h->types[tnode].tracked == 2,
           "Node histogram");
        ok(h->types[tstr].count == 2 && h->types[tstr].bytes == 110 &&
                   h->types[tstr].tracked == 0,
           "str histogram");
        ok(h->native == NULL && heap_native(h, u1) == 0 && heap_weight(h, u1) == 50,
           "no native bytes: none stored");
        ok(heap_set_native(h, u1, 1000) == 0 && heap_set_native(h, u2, 24) == 0 &&
                   heap_native(h, u1) == 1000 && heap_weight(h, u1) == 1050 &&
                   h->native_total == 1024 && h->types[tstr].native == 1024,
           "native bytes after finish: object, total, type");
        ok(heap_set_native(h, u1, 400) == 0 && h->native_total == 424 &&
                   h->types[tstr].native == 424 && heap_native(h, a) == 0,
           "native bytes replaced, not added");
        ok(heap_set_native(h, 6, 1) == -EINVAL, "native bytes of an unknown object rejected");
        ok(strcmp(heap_gen_name(HEAP_GEN_0), "0") == 0 &&
                   strcmp(heap_gen_name(HEAP_GEN_PERMANENT), "permanent") == 0 &&
                   strcmp(heap_gen_name(HEAP_GEN_UNTRACKED), "untracked") == 0 &&
                   strcmp(heap_gen_name(HEAP_GEN__COUNT), "?") == 0,
           "heap_gen_name");
        heap_free(h);
        heap_free(NULL);
}

static void test_empty(void)
{
        struct heap *h = heap_new();

        ok(heap_finish(h) == 0 && h->edge_start && h->edge_start[0] == 0 && h->nobjs == 0,
           "empty heap finishes");
        ok(heap_find(h, 1) == -1, "find in empty heap");
        heap_free(h);

        h = heap_new();
        ok(heap_intern_type(h, 1, NULL, "T", false, NULL) == 0 &&
                   strcmp(h->types[0].fullname, "T") == 0 && h->types[0].module[0] == '\0',
           "type without module");
        ok(heap_add_object(h, 8, 0, HEAP_GEN_0, 1, 1, 0, NULL) == 0, "one object");
        ok(heap_finish(h) == 0 && h->ntracked == 1 && heap_nref(h, 0) == 0,
           "finish without mark_tracked_done or edges");
        heap_free(h);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
        return test_rnd(&rng_state);
}

/* The 24-byte record's ranges (heap.h): addresses past 48 bits refused,
 * sizes and counts past theirs clamped, negative counts kept. */
static void test_ranges(void)
{
        struct heap *h = heap_new();
        uint32_t t, i0, i1, i2, i3;

        ok(sizeof(struct heap_obj) == 24, "a 24-byte object record");
        ok(heap_intern_type(h, 0x9000, "builtins", "list", false, &t) == 0, "type");
        ok(heap_add_object(h, HEAP_ADDR_MAX + 1, t, HEAP_GEN_0, 1, 8, 0, NULL) == -ERANGE &&
                   h->nobjs == 0, "an address past 48 bits refused");
        ok(heap_add_object(h, HEAP_ADDR_MAX - 15, t, HEAP_GEN_0, INT64_MAX, UINT64_MAX,
                           HOBJ_IMMORTAL | HOBJ_IS_TYPE, &i0) == 0 &&
                   h->objs[i0].addr == HEAP_ADDR_MAX - 15 && h->objs[i0].size == HEAP_SIZE_MAX &&
                   heap_refcnt(&h->objs[i0]) == HEAP_REFCNT_MAX &&
                   h->objs[i0].flags == (HOBJ_IMMORTAL | HOBJ_IS_TYPE) &&
                   h->objs[i0].gen == HEAP_GEN_0 && h->objs[i0].type == t,
           "the highest address kept, size and refcount clamped, the other fields apart");
        ok(heap_add_object(h, 0x1000, t, HEAP_GEN_2, INT64_MIN, 1, 0, &i1) == 0 &&
                   heap_refcnt(&h->objs[i1]) == HEAP_REFCNT_MIN, "a refcount below -2^47 clamped");
        ok(heap_add_object(h, 0x1010, t, HEAP_GEN_PERMANENT, -3, 0, 0xff, &i2) == 0 &&
                   heap_refcnt(&h->objs[i2]) == -3 && h->objs[i2].flags == 0xff &&
                   h->objs[i2].gen == HEAP_GEN_PERMANENT, "a negative refcount kept");
        ok(heap_add_object(h, 0x1020, t, HEAP_GEN_1, 0xffffffffLL, (uint64_t)1 << 40, 0, &i3) == 0 &&
                   heap_refcnt(&h->objs[i3]) == 0xffffffffLL &&
                   h->objs[i3].size == (uint64_t)1 << 40,
           "3.12's immortal refcount and a 1 TiB size kept");
        heap_free(h);
}

/* Edge labels in 2 bytes (issue #15): each kind of code, and the escape
 * table for what fits in none, read back through heap_edge_label(). */
static void test_label_codes(void)
{
        struct heap *h = heap_new();
        uint32_t t, a, b, c, d, l0, lhigh = 0, bad = 0;
        const uint32_t big = 70000;   /* past any index code */
        char text[32];
        bool interned = true;

        ok(heap_intern_type(h, 0x9000, "builtins", "list", false, &t) == 0 &&
                   heap_add_object(h, 0x1000, t, HEAP_GEN_0, 1, 8, 0, &a) == 0 &&
                   heap_add_object(h, 0x1010, t, HEAP_GEN_0, 1, 8, 0, &b) == 0 &&
                   heap_add_object(h, 0x1020, t, HEAP_GEN_0, 1, 8, 0, &c) == 0 &&
                   heap_add_object(h, 0x1030, t, HEAP_GEN_0, 1, 8, 0, &d) == 0, "four objects");
        heap_mark_tracked_done(h);
        /* more texts than a code holds: the last ones escape */
        for (uint32_t k = 0; k <= HEAP_LAB_INDEX0 && interned; k++) {
                snprintf(text, sizeof(text), ".a%u", k);
                interned = heap_intern_label(h, text, k ? &lhigh : &l0) == 0;
        }
        ok(interned && lhigh == HEAP_LAB_INDEX0, "%u label texts", HEAP_LAB_INDEX0 + 1);
        /* a: "[k]" on the k-th edge, with one item out of place and one
         * text label among them */
        for (uint32_t k = 0; k < big && !bad; k++)
                bad = heap_add_edge(h, a, b, k == 5 ? heap_label_index(4) : k == 6 ? l0 :
                                    heap_label_index(k)) != 0;
        /* b: the first index code, the last one, the first that escapes,
         * the highest text id, a text past the codes, the highest index */
        bad |= heap_add_edge(h, b, a, heap_label_index(7)) != 0;
        bad |= heap_add_edge(h, b, a, heap_label_index(HEAP_LAB_RPOS - HEAP_LAB_INDEX0 - 1)) != 0;
        bad |= heap_add_edge(h, b, a, heap_label_index(HEAP_LAB_RPOS - HEAP_LAB_INDEX0)) != 0;
        bad |= heap_add_edge(h, b, a, HEAP_LAB_INDEX0 - 1) != 0;
        bad |= heap_add_edge(h, b, a, lhigh) != 0;
        bad |= heap_add_edge(h, b, a, heap_label_index(0x7fffffff)) != 0;
        /* c: a list as tp_traverse visits it, last item first; d: the same
         * with one item out of place */
        for (uint32_t k = big; k-- > 0 && !bad;)
                bad = heap_add_edge(h, c, a, heap_label_index(k)) != 0;
        for (uint32_t k = big; k-- > 0 && !bad;)
                bad = heap_add_edge(h, d, a, heap_label_index(k == 40000 ? 3 : k)) != 0;
        ok(!bad && heap_finish(h) == 0 && h->nedges == 4 * (uint64_t)big - big + 6,
           "edges added");
        for (uint32_t k = 0; k < big && !bad; k++)
                bad = heap_edge_label(h, a, k) != (k == 5 ? heap_label_index(4) : k == 6 ? l0 :
                                                   heap_label_index(k));
        ok(!bad && h->edge_lab[big - 1] == HEAP_LAB_POS && h->edge_lab[6] == l0 &&
                   h->edge_lab[5] == HEAP_LAB_INDEX0 + 4,
           "positions implicit, the odd ones coded");
        ok(heap_edge_label(h, b, big) == heap_label_index(7) &&
                   heap_edge_label(h, b, big + 1) ==
                           heap_label_index(HEAP_LAB_RPOS - HEAP_LAB_INDEX0 - 1) &&
                   h->edge_lab[big + 1] == HEAP_LAB_RPOS - 1, "index codes");
        ok(heap_edge_label(h, b, big + 2) == heap_label_index(HEAP_LAB_RPOS - HEAP_LAB_INDEX0) &&
                   h->edge_lab[big + 2] == HEAP_LAB_ESC, "an index past the codes escapes");
        ok(heap_edge_label(h, b, big + 3) == HEAP_LAB_INDEX0 - 1 &&
                   h->edge_lab[big + 3] == HEAP_LAB_INDEX0 - 1, "the highest text code");
        ok(heap_edge_label(h, b, big + 4) == lhigh && h->edge_lab[big + 4] == HEAP_LAB_ESC &&
                   heap_edge_label(h, b, big + 5) == heap_label_index(0x7fffffff),
           "texts and indices past the codes in the escape table");
        for (uint32_t k = 0; k < big && !bad; k++)
                bad = heap_edge_label(h, c, big + 6 + k) != heap_label_index(big - 1 - k) ||
                      h->edge_lab[big + 6 + k] != HEAP_LAB_RPOS;
        ok(!bad, "a list visited backwards: positions implicit from the end");
        for (uint32_t k = 0; k < big && !bad; k++)
                bad = heap_edge_label(h, d, 2 * big + 6 + k) !=
                      heap_label_index(big - 1 - k == 40000 ? 3 : big - 1 - k);
        ok(!bad && h->nlab_esc == 3 + (big - 1 - (HEAP_LAB_RPOS - HEAP_LAB_INDEX0) + 1) - 1,
           "one item out of place: every label kept, the big ones escaped (%llu escapes)",
           (unsigned long long)h->nlab_esc);
        ok(heap_model_bytes(h) >= h->nedges * 6 + h->nlab_esc * 8,
           "the model counts labels and escapes");
        heap_free(h);
}

static void test_million(void)
{
        const uint32_t N = 1000000, NU = 500000;
        struct heap *h = heap_new();
        uint32_t types[8], lab;
        int bad = 0;
        double t0, t1;

        t0 = now_ms();
        for (int t = 0; t < 8; t++) {
                char name[16];

                snprintf(name, sizeof(name), "T%d", t);
                bad |= heap_intern_type(h, 0x7f0000 + 0x400 * t, "m", name, false, &types[t]);
        }
        bad |= heap_intern_label(h, ".attr", &lab);
        /* arena-like addresses: 16-byte aligned, clustered */
        for (uint32_t i = 0; i < N; i++)
                bad |= heap_add_object(h, 0x7f1234000000ULL + 16ULL * i, types[i & 7], i % 3, 2,
                                       56, 0, NULL);
        heap_mark_tracked_done(h);
        for (uint32_t i = 0; i < NU; i++)
                bad |= heap_add_object(h, 0x5500000000ULL + 32ULL * i, types[i & 7],
                                       HEAP_GEN_UNTRACKED, 1, 32, 0, NULL);
        for (uint32_t i = 0; i < N; i++)
                for (int k = 0; k < 3; k++)
                        bad |= heap_add_edge(h, i, (uint32_t)(rnd() % (N + NU)),
                                             k ? heap_label_index(k) : lab);
        bad |= heap_finish(h);
        t1 = now_ms();
        ok(!bad, "1M objects + 500k untracked + 3M edges built");
        printf("# build: %u objects, %llu edges in %.1f ms\n", h->nobjs,
               (unsigned long long)h->nedges, t1 - t0);

        bad = 0;
        for (uint32_t i = 0; i < N; i++)
                if (heap_find(h, 0x7f1234000000ULL + 16ULL * i) != i)
                        bad++;
        for (uint32_t i = 0; i < NU; i++)
                if (heap_find(h, 0x5500000000ULL + 32ULL * i) != N + i)
                        bad++;
        for (uint32_t i = 0; i < 100000; i++)
                if (heap_find(h, 0x7f1234000008ULL + 16ULL * i) != -1)
                        bad++;
        ok(bad == 0, "heap_find over 1.5M objects and 100k misses");
        printf("# lookup: 1.6M heap_find in %.1f ms\n", now_ms() - t1);
        ok(h->edge_start[N] == 3ULL * N && h->edge_start[N + NU] == 3ULL * N,
           "CSR tail for untracked");
        ok(h->ngen_counts[0] + h->ngen_counts[1] + h->ngen_counts[2] == N &&
                   h->ngen_counts[HEAP_GEN_UNTRACKED] == NU,
           "generation counts add up");
        t0 = now_ms();
        ok(heap_analyse(h) == 0, "analyse 1.5M objects / 3M random edges");
        printf("# analyse: %.1f ms, %u cycles (largest %u), %u garbage\n", now_ms() - t0,
               h->cycles.n, h->cycles.n ? h->cycles.start[1] : 0, h->ngarbage);
        heap_free(h);
}

static void test_previews(void)
{
        struct heap *h = heap_new();
        char buf[HEAP_PREVIEW_MAX + 8], big[600];
        uint32_t t, ok_order = 1;
        int r = 0;

        r |= heap_intern_type(h, 0x100, "builtins", "str", false, &t);
        heap_mark_tracked_done(h);
        for (uint32_t i = 0; i < 1000; i++)
                r |= heap_add_object(h, 0x10000 + 16ULL * i, t, HEAP_GEN_UNTRACKED, 1, 50, 0, NULL);
        r |= heap_finish(h);
        ok(r == 0, "previews: heap of 1000 objects");
        ok(heap_preview(h, 5, buf, sizeof(buf)) == -ENOENT && buf[0] == '\0',
           "no previews yet: -ENOENT, empty text");
        /* even objects ascending, then odd ones descending (inserts) */
        for (uint32_t i = 0; i < 1000; i += 2) {
                snprintf(buf, sizeof(buf), "'s%u'", i);
                r |= heap_set_preview(h, i, buf);
        }
        for (uint32_t i = 999; i < 1000; i -= 2) {
                snprintf(buf, sizeof(buf), "%u", i);
                r |= heap_set_preview(h, i, buf);
        }
        r |= heap_set_preview(h, 500, "replaced");
        ok(r == 0 && h->npreviews == 1000, "1000 previews in any order (%u)", h->npreviews);
        for (uint32_t k = 1; k < h->npreviews; k++)
                ok_order &= h->preview_obj[k - 1] < h->preview_obj[k];
        ok(ok_order, "kept sorted by object");
        ok(heap_preview(h, 998, buf, sizeof(buf)) == 0 && strcmp(buf, "'s998'") == 0 &&
           heap_preview(h, 1, buf, sizeof(buf)) == 0 && strcmp(buf, "1") == 0 &&
           heap_preview(h, 500, buf, sizeof(buf)) == 0 && strcmp(buf, "replaced") == 0,
           "lookups find each text, the replaced one new");
        ok(heap_set_preview(h, 1000, "x") == -EINVAL && heap_set_preview(h, 0, NULL) == -EINVAL,
           "unknown object or no text: -EINVAL");
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ok(heap_set_preview(h, 3, big) == 0 && heap_preview(h, 3, buf, sizeof(buf)) == 0 &&
           strlen(buf) == HEAP_PREVIEW_MAX, "a long text is cut at HEAP_PREVIEW_MAX");
        /* fill the pool to its cap: then -ENOSPC, counted */
        while ((r = heap_set_preview(h, 7, big)) == 0)
                ;
        ok(r == -ENOSPC && h->meta.previews_dropped == 1 &&
           h->preview_pool_len <= HEAP_PREVIEW_POOL_MAX,
           "a full pool refuses with -ENOSPC and counts it (%llu bytes)",
           (unsigned long long)h->preview_pool_len);
        heap_free(h);
}

int main(void)
{
        test_protocol();
        test_empty();
        test_ranges();
        test_label_codes();
        test_million();
        test_previews();
        return tap_done();
}
