/* view-index: what the browser computes once per snapshot, so that no key
 * pays for it: objects by type (each type's instances biggest retained
 * first), the interned cycle signatures of both groupings with their ranks,
 * growth and default order, growth per type, the objects new since the
 * previous snapshot, each object's value preview, the locals of each frame,
 * and the sorting scratch every list sorts with.
 *
 * The index borrows the session's heap and diff (it never frees them) and
 * owns everything else it points to; ui_index_free() releases it all and
 * reads nothing from the heap, which may already be gone.  Views keep a
 * pointer to the index, so it outlives every view built on it (the browser
 * frees its views first).  Strings returned by the queries belong to the
 * index or to the heap and live as long as they do.
 *
 * Functions return 0 or -ENOMEM; the queries never fail.
 */
#ifndef PYLEAK_VIEW_INDEX_H
#define PYLEAK_VIEW_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

struct heap_diff;
struct session;

struct ui_index {
        const struct session *s;
        const struct heap *h;
        const struct heap_diff *diff;
        bool utf8;
        /* objects by type (CSR over type index) */
        uint32_t *type_start, *type_objs;
        uint64_t *type_garbage;          /* garbage instances per type */
        uint32_t *type_rank;             /* rank of each type's name in
                                            case-insensitive order: sorting
                                            by type is an integer sort */
        /* growth per type (by name) when diff != NULL */
        int64_t *type_dcount, *type_dbytes;
        /* cycles of each grouping: signature id per cycle, the distinct
         * signatures (interned: cycles with the same set of member types
         * share one), their rank in case-insensitive order, the growth of
         * each shape, and the default order (retained, biggest first) */
        uint32_t *sig_id[2];
        char **sig_text[2];
        uint32_t nsig[2];                /* kept here: freeing must not read
                                            the heap (it may be gone) */
        uint32_t *sig_rank[2];
        int64_t *sig_dcycles[2];         /* per signature id */
        uint32_t *cycle_order[2];
        /* 1 + the cycle of each object in each grouping, 0 for none
         * (filled with the signatures; zero pages where no member is):
         * an object's screen searched every member of every cycle, twice,
         * 1.2 s at 25 million objects */
        uint32_t *cycle_of[2];
        uint8_t flags_rank[16];          /* the flags column's texts */
        /* value previews: 1 + the index into h->preview_obj of each
         * object's preview, 0 for none (heap_preview's binary search per
         * row made '/' over 250k rows cost 150 ms) */
        uint32_t *preview_at;
        /* sorting scratch, kept: fresh megabytes per sort cost more in page
         * faults than the sort itself */
        void *sort_buf;                  /* 2 x sort_cap keys */
        uint32_t *sort_cnt;
        uint32_t sort_cap;
        uint64_t *newbits;               /* objects new since the previous
                                            snapshot */
        /* locals of frames: roots of kind THREAD bucketed by frame */
        uint32_t *frame_start, *frame_roots;
};

/* Builds every per-snapshot index up front (objects by type, interned cycle
 * signatures and the default cycle orders of both groupings), so that no
 * key pays for them: the cost is part of opening the snapshot. */
int ui_index_new(const struct session *s, bool utf8, struct ui_index **ret);
void ui_index_free(struct ui_index *ix);

/* Make sure a part of the index exists (0 at once when it does): objects
 * by type, the signatures of one grouping, the locals of each frame (built
 * on the first Threads screen only). */
int ui_index_by_type(struct ui_index *ix);
int ui_index_sigs(struct ui_index *ix, bool local);
int ui_index_frames(struct ui_index *ix);

/* The type signature of a cycle ("" before ui_index_sigs), and the growth
 * of its shape since the previous snapshot (0 without one). */
const char *ui_index_sig(const struct ui_index *ix, bool local, uint32_t cycle);
int64_t ui_index_sig_growth(const struct ui_index *ix, bool local, uint32_t cycle);

/* The cycle of the grouping that obj is a member of: 0 and *ret_cycle, or
 * -ENOENT; after ui_index_sigs(ix, local) (-EINVAL before). */
int ui_index_cycle_of(const struct ui_index *ix, bool local, uint32_t obj, uint32_t *ret_cycle);

/* The recorded preview of obj (a string owned by the heap), or NULL. */
const char *ui_index_preview(const struct ui_index *ix, uint32_t obj);

/* Is obj new since the previous snapshot? */
bool ui_index_is_new(const struct ui_index *ix, uint32_t obj);

/* The flags column: four HOBJ_* bits as letters (G L C O) into buf (at
 * least 5 bytes), and the rank of that text among the 16 possible ones. */
const char *ui_flags_text(uint8_t flags, char *buf);
uint8_t ui_index_flags_rank(const struct ui_index *ix, uint8_t flags);

/* ---- sorting on integer keys ------------------------------------------- */

struct keyrow {
        uint64_t key;
        uint32_t row;
};

/* A signed key in unsigned order; descending flips it, so one ascending
 * stable sort keeps equal keys in row order either way. */
static inline uint64_t ui_sort_key(int64_t num, bool desc)
{
        uint64_t u = (uint64_t)num ^ (1ULL << 63);

        return desc ? ~u : u;
}

/* The index's scratch for n keys: *ret gets room for n keys, valid until
 * the next call.  ui_index_sort() sorts n keys got this way, stably and in
 * linear time. */
int ui_index_keys(struct ui_index *ix, uint32_t n, struct keyrow **ret);
void ui_index_sort(struct ui_index *ix, struct keyrow *k, uint32_t n);

/* ---- the heap, as every screen reads it --------------------------------- */

/* "__main__.Node" of object i. */
const char *ui_type_name(const struct heap *h, uint32_t obj);

static inline const struct heap_cycles *ui_cycle_set(const struct heap *h, bool local)
{
        return local ? &h->cycles_local : &h->cycles;
}

static inline uint32_t ui_cycle_size(const struct heap_cycles *c, uint32_t i)
{
        return c->start[i + 1] - c->start[i];
}

static inline uint64_t ui_cycle_retained(const struct heap_cycles *c, uint32_t i)
{
        return c->retained ? c->retained[i] : c->bytes[i];
}

static inline uint64_t ui_obj_retained(const struct heap *h, uint32_t i)
{
        return h->retained ? h->retained[i] : h->objs[i].size;
}

#endif
