/* analysis-internal: what analysis.c and dominators.c share, and
 * store-read.c, which loads a format-7 dump's stored analysis into the heap
 * and hands it over to the analyses with analysis_own().
 *
 * The analyses own what they store in struct heap (cycles, cycles_local,
 * garbage, idom, retained, the referrer index): every function that stores
 * one calls analysis_own() first, which registers heap_analysis_free() as
 * h->analysis_free, and heap_free() runs it.  The model thereby frees the
 * results without knowing or linking the analyses (heap/meson.build). */
#ifndef PYLEAK_ANALYSIS_INTERNAL_H
#define PYLEAK_ANALYSIS_INTERNAL_H

#include "heap.h"

/* Frees the analysis results and nothing else: heap_analysis_release()'s
 * first half, and what heap_free() runs.  Resetting the objects' flags, the
 * roots and the types would cost a pass over every object of a heap about
 * to be freed. */
void heap_analysis_free(struct heap *h);

static inline void analysis_own(struct heap *h)
{
        h->analysis_free = heap_analysis_free;
}

#endif
