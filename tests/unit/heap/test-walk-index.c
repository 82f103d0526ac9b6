/* test-walk-index: the object index behind heap_add_object()/heap_find()
 * (heap.c's direct-mapped blocks with the hash table as overflow): hits and
 * misses, duplicate detection on both paths, addresses 8 bytes apart,
 * misaligned addresses, and a sparse heap that exceeds the block budget. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "heap-build.h"
#include "heap.h"
#include "tap.h"

int main(void)
{
        struct heap *h = heap_new();
        uint32_t t, idx, n = 0;
        int r, bad = 0;

        ok(h && heap_intern_type(h, 0x1000, "builtins", "object", false, &t) == 0, "setup");
        if (!h)
                return tap_done();
        /* dense: 16-byte spacing, one block after another */
        for (uint64_t a = 0x7f0000000000ULL; a < 0x7f0000000000ULL + 16 * 20000; a += 16, n++)
                if (heap_add_object(h, a, t, HEAP_GEN_0, 1, 16, 0, &idx) < 0 || idx != n)
                        bad++;
        ok(!bad, "20000 densely packed objects added");
        ok(heap_find(h, 0x7f0000000000ULL + 16 * 123) == 123 &&
           heap_find(h, 0x7f0000000000ULL + 16 * 123 + 8) == -1 &&
           heap_find(h, 0x7f0000000000ULL + 16 * 123 + 4) == -1 &&
           heap_find(h, 0x7f0000000000ULL - 16) == -1 && heap_find(h, 0) == -1,
           "hits, and misses next to them");
        r = heap_add_object(h, 0x7f0000000000ULL + 16 * 7, t, HEAP_GEN_0, 1, 16, 0, NULL);
        ok(r == -EEXIST, "duplicate in the direct map is -EEXIST (%d)", r);
        /* garbage 8 bytes past a real object: same slot, kept in overflow */
        r = heap_add_object(h, 0x7f0000000000ULL + 16 * 7 + 8, t, HEAP_GEN_0, 1, 16, 0, &idx);
        ok(r == 0 && heap_find(h, 0x7f0000000000ULL + 16 * 7 + 8) == idx &&
           heap_find(h, 0x7f0000000000ULL + 16 * 7) == 7, "an address 8 bytes apart coexists");
        n++;
        r = heap_add_object(h, 0x7f0000000000ULL + 16 * 7 + 8, t, HEAP_GEN_0, 1, 16, 0, NULL);
        ok(r == -EEXIST, "duplicate in the overflow table is -EEXIST (%d)", r);
        r = heap_add_object(h, 0x7f0000001003ULL, t, HEAP_GEN_0, 1, 16, 0, &idx);
        ok(r == 0 && heap_find(h, 0x7f0000001003ULL) == idx, "misaligned address (overflow)");
        n++;
        /* sparse: one object per 4 KiB block, far beyond the block budget */
        bad = 0;
        for (uint64_t i = 0; i < 80000; i++, n++)
                if (heap_add_object(h, 0x100000000ULL + (i << 12) + 32, t, HEAP_GEN_1, 1, 16, 0,
                                    &idx) < 0 || idx != n)
                        bad++;
        ok(!bad, "80000 sparse objects added");
        bad = 0;
        for (uint64_t i = 0; i < 80000; i++)
                if (heap_find(h, 0x100000000ULL + (i << 12) + 32) != (int64_t)(n - 80000 + i) ||
                    heap_find(h, 0x100000000ULL + (i << 12) + 48) != -1)
                        bad++;
        ok(!bad, "every sparse object found, neighbours not");
        r = heap_add_object(h, 0x100000000ULL + (79999ULL << 12) + 32, t, HEAP_GEN_1, 1, 16, 0, NULL);
        ok(r == -EEXIST, "duplicate of a sparse object is -EEXIST (%d)", r);
        heap_mark_tracked_done(h);
        ok(heap_finish(h) == 0 && h->nobjs == n && heap_find(h, 0x7f0000000000ULL) == 0,
           "finished: %u objects, index still answers", h->nobjs);
        /* heap_finish() dropped the index: the first heap_find() rebuilt
         * it, and every object must be where the walk put it, the ones in
         * the overflow table (8 bytes apart, misaligned, past the budget)
         * too */
        bad = 0;
        for (uint32_t i = 0; i < h->nobjs; i++)
                if (heap_find(h, h->objs[i].addr) != (int64_t)i)
                        bad++;
        ok(!bad && heap_find(h, 0x7f0000000000ULL + 16 * 123 + 4) == -1 &&
           heap_find(h, 0x100000000ULL + 48) == -1,
           "finished: every object at its index after the rebuild, misses still missed");
        heap_free(h);
        return tap_done();
}
