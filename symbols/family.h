/* family: the layout of a CPython build that neither DWARF nor an exact
 * table describes (a new patch release, a distribution's rebuild, a
 * stripped container image), from what is known of its minor version,
 * checked against the target's memory before anything walks with it.
 *
 * Candidates, in order:
 *   1. the family: every distinct table of the build's minor version, its
 *      own variant first, then the nearest patch level.  Builds of one minor
 *      version differ only where a patch release or a distribution moved
 *      something, and the checks tell the candidates apart;
 *   2. no family, or none that passes: the neighbouring minor versions'
 *      tables, struct by struct, where they agree or where the type's
 *      tp_basicsize picks one; a struct neither settles is left out (its
 *      objects are opaque and counted in layout_gaps).  Without
 *      _Py_DebugOffsets (3.8-3.12) what they give is placed by
 *      infer_runtime, and structs whose size does not tell are checked on
 *      live objects (frames, code, heap types, ints, the threads' frames).
 *      Labelled experimental.
 * Over each candidate the debug offsets win where they speak, then the
 * target's own pointers place the GC list heads (infer_gc), then every
 * check of LAYOUT_CHECKS must hold; the first candidate that passes is the
 * layout, and pi records which candidate, which checks, what was inferred
 * and what was left out.  When none passes, the refusal names each
 * candidate and the check it failed.
 */
#ifndef PYLEAK_FAMILY_H
#define PYLEAK_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memsrc;
struct pyinterp;
struct layout;
struct diag;

/* Fills pi->layout (and its family/checks/inferred/gaps records) for pi's
 * version and variant; dbg is the debug offsets' layout or NULL, dbg_detail
 * its summary.  0, -ESRCH (no interpreter), or -ENOENT with a diag naming
 * every candidate tried and why it failed (none: "no tables of 3.X"). */
int family_choose(struct memsrc *m, struct pyinterp *pi, const char *variant,
                  const struct layout *dbg, struct diag *d);

/* Places the GC list heads of l in the target: from the generation0
 * pointer (trusting l's offset of it) when trust_gen0, else by scanning the
 * GC state for three consecutive list heads whose neighbours point back,
 * then the permanent generation after them, the generation0 pointer at
 * them and gc.garbage/gc.callbacks (the first two list pointers after).
 * Appends what it placed to note ("GC_GENERATIONS gc+20 (generation0)").
 * -ENOENT when nothing consistent is found. */
struct infer_hints {
        /* where other versions put gc.isenabled()'s int (GC_ENABLED): one
         * of the two places before the heads that also appears here is
         * taken whatever it reads */
        uint32_t enabled[4];
        size_t nenabled;
};

int infer_gc(struct memsrc *m, const struct pyinterp *pi, struct layout *l, int trust_gen0,
             const struct infer_hints *hints, char *note, size_t len);

/* Without debug offsets (3.8-3.12): the runtime's interpreters head, the
 * interpreter's threads head, next and GC state (or the runtime's, 3.8)
 * placed in out from the target's memory, each offset tried first where
 * the neighbours nb[0..n) put it, then scanned for, within bounds, and
 * kept only when a named check holds (appended to note): the thread list
 * points back at the interpreter; generation0 points at three GC list
 * heads that link back.  nb[0] must hold the object, thread-state link and
 * GC state fields the neighbours agree on.  -ENOENT when no interpreter
 * with such a thread list or no GC state is found. */
int infer_runtime(struct memsrc *m, const struct pyinterp *pi, const struct layout *nb,
                  size_t n, struct layout *out, char *note, size_t len);

/* What the oldest objects on the GC lists placed in l are: their
 * distinct types and the classes (heap types) among them, the live
 * instances that candidate offsets of private structs are checked on. */
#define INFER_CENSUS_TYPES 2048
#define INFER_CENSUS_SLOTS 4096     /* power of two, > INFER_CENSUS_TYPES */
#define INFER_CENSUS_HEAP 16
#define INFER_CENSUS_MODS 128
#define INFER_CENSUS_INST 16        /* instances kept of each type */

struct type_census {
        bool taken;
        /* set by the caller before the census: the census's block cache
         * of the live target stays on after it (the caller turns it off,
         * memsrc_live_cache(m, 0)), for the probes that read the same
         * objects next */
        bool keep_cache;
        bool complete;      /* every GC list walked to its head: types is all */
        size_t ntypes, nheap;
        uint64_t types[INFER_CENSUS_TYPES];
        uint16_t slot[INFER_CENSUS_SLOTS];   /* 1 + index into types, 0 free */
        bool named[INFER_CENSUS_TYPES];     /* names[i] read (may be "") */
        char names[INFER_CENSUS_TYPES][48];
        uint64_t heap[INFER_CENSUS_HEAP];
        /* a few live functions, frame objects and generators (or
         * coroutines): what a neighbour's code and frame structs are
         * checked on when their sizes do not tell */
        size_t nfunc, nframe, ngen, nmod;
        uint64_t func[INFER_CENSUS_HEAP], frame[INFER_CENSUS_HEAP], gen[INFER_CENSUS_HEAP];
        uint64_t mod[INFER_CENSUS_MODS];    /* live modules (sys, builtins among them) */
        /* the oldest instances of each type (types[i]'s in inst[i]): the
         * private structs' candidates are checked on them */
        uint8_t ninst[INFER_CENSUS_TYPES];
        uint64_t inst[INFER_CENSUS_TYPES][INFER_CENSUS_INST];
};

void infer_census(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                  struct type_census *c);

/* Whether an object of type was seen (with complete, whether any is on
 * the three GC lists). */
bool infer_census_has(const struct type_census *c, uint64_t type);

/* The census's instances of type (at most INFER_CENSUS_INST, the oldest
 * on the GC lists) in *ret, owned by c; their number, 0 if none. */
size_t infer_census_instances(const struct type_census *c, uint64_t type,
                              const uint64_t **ret);

/* A type of the census whose tp_name is one of names (NULL-terminated):
 * private types no symbol names (functools.partial, typing.Union, ...).
 * -ENOENT if none of the census's objects has it. */
int infer_type_named(struct memsrc *m, const struct layout *l, struct type_census *c,
                     const char *const *names, uint64_t *ret);

#endif
