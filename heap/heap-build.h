/* heap-build: constructing a struct heap.  Used by the walker (heap/walk.c),
 * the unit tests, and later the dump loader; ui/ never includes it.
 *
 * Protocol:
 *   h = heap_new();
 *   add every tracked object with heap_add_object(..., gen 0..3) first, so
 *   they take indices [0, ntracked); then heap_mark_tracked_done(h);
 *   for i in 0..ntracked-1 in increasing order:
 *       heap_add_edge(h, i, dst, label) for each referent (dst may be an
 *       untracked object added on the fly with heap_add_object(...,
 *       HEAP_GEN_UNTRACKED, ...))
 *   then, in increasing order, edges of untracked objects, if any
 *   heap_finish(h);   (fills edge_start for all objects, counts, histogram)
 * All functions return 0 or -ENOMEM / -EINVAL.
 */
#ifndef PYLEAK_HEAP_BUILD_H
#define PYLEAK_HEAP_BUILD_H

#include "heap.h"

struct heap *heap_new(void);

/* Adds an object; fails with -EEXIST if addr is already present. */
int heap_add_object(struct heap *h, uint64_t addr, uint32_t type,
                    enum heap_gen gen, int64_t refcnt, uint64_t size,
                    uint8_t flags, uint32_t *ret_idx);

void heap_mark_tracked_done(struct heap *h);

/* Interns a type by address; module/qualname are copied.  Returns the same
 * index for the same address. */
int heap_intern_type(struct heap *h, uint64_t type_addr, const char *module,
                     const char *qualname, bool opaque, uint32_t *ret);

/* Type index for an address already interned, or -1. */
int64_t heap_type_find(const struct heap *h, uint64_t type_addr);

/* Interns a label text (copied). */
int heap_intern_label(struct heap *h, const char *text, uint32_t *ret);

/* Appends an edge src -> dst.  src must be >= the src of the previous call
 * and < nobjs: the tracked objects' edges first, then those of the few
 * untracked objects whose references the walker records (a numpy view's
 * base: heap/native.c). */
int heap_add_edge(struct heap *h, uint32_t src, uint32_t dst, uint32_t label);

/* Explicit roots (heap.h: kinds MODULE, THREAD, INTERP), threads and their
 * frames, recorded before heap_finish().  obj and code must be objects
 * already added; frame is an index into h->frames or UINT32_MAX.  A
 * thread's frames are added right after it (innermost first): frames go
 * to the most recently added thread only.  Strings are copied. */
int heap_add_root(struct heap *h, uint32_t obj, enum heap_root_kind kind,
                  uint32_t label, uint32_t frame);
int heap_add_thread(struct heap *h, uint64_t thread_id, int64_t native_id,
                    uint32_t *ret);
int heap_add_frame(struct heap *h, uint32_t thread, const char *function,
                   const char *filename, int line, uint32_t code,
                   uint32_t *ret);

int heap_finish(struct heap *h);

/* Sets object obj's native bytes (heap.native), before or after
 * heap_finish(); 0 clears them.  -EINVAL for an unknown object. */
int heap_set_native(struct heap *h, uint32_t obj, uint64_t bytes);

/* Keeps a copy of a consistency problem (heap.h) while fewer than
 * HEAP_PROBLEMS_MAX are kept; counting it is the caller's business. */
void heap_add_problem(struct heap *h, const struct heap_problem *p);

/* The big arrays of the graph and of the analyses (heap/bigmem.c):
 * malloc(), calloc(), realloc() and free() with a memory budget.  Within
 * it a block is malloc()ed with a transparent-huge-page hint, which makes
 * filling it ~3x cheaper; a block of 64 KiB or more that would take the
 * big blocks' total past it is mapped from an unlinked file in the spill
 * directory instead, which the kernel can write out under memory pressure.
 * heap_big_free() and heap_big_realloc() take any malloc()ed pointer as
 * well; a block from heap_big_*() must go back through them. */
void *heap_big_malloc(size_t size);
void *heap_big_calloc(size_t n, size_t size);
void *heap_big_realloc(void *p, size_t size);
void heap_big_free(void *p);
/* A hint that bytes [from, to) of block p are about to be filled: a
 * helper thread faults them in meanwhile (bigmem.c, prefaulting). */
void heap_big_prefault(void *p, size_t from, size_t to);
/* Waits until the helper has done every hint given so far. */
void heap_big_prefault_drain(void);

/* Records the value preview of object obj (heap_preview()): text is copied,
 * cut at HEAP_PREVIEW_MAX bytes; a second call for the same object replaces
 * it.  Any order and before or after heap_finish(); ascending object order
 * is the cheap one (appends).  -ENOSPC when the preview pool is full
 * (counted in meta.previews_dropped), -EINVAL for an unknown object. */
int heap_set_preview(struct heap *h, uint32_t obj, const char *text);
/* The same with the text's length known (the walker's fast path). */
int heap_set_preview_n(struct heap *h, uint32_t obj, const char *text, size_t len);

#endif
