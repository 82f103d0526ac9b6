/* probe: the fields of PyTypeObject and PyModuleObject (and of private
 * structs such as PyStructObject, from a neighbour) settled on the
 * target's own objects when no table of the build describes them and the
 * neighbouring versions' tables do not agree with its sizes (3.15 grew
 * PyTypeObject by a word and rebuilt the module object).  Private to
 * symbols/ (family.c is the caller).
 *
 * Every field placed here was read at its candidate offset on live or
 * static objects whose value the interpreter fixes (bool's tp_base is int,
 * a module's md_dict is a dict that holds its md_name, ...) and held; a
 * field no check can read is not placed.  Reads are bounded: a fixed number
 * of objects, of candidate offsets and of dict entries.  Nothing is
 * allocated; the caller owns every buffer.  Errors: -ENOENT when no
 * candidate holds, -EBADMSG when more than one does (no telling). */
#ifndef PYLEAK_PROBE_H
#define PYLEAK_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyinterp.h"

struct memsrc;

/* PyTypeObject's fields from the neighbour's (nb) as they are, or with
 * size - nb's size bytes (a word or a few) inserted before one of them,
 * the candidate whose every field holds on the static types (and heap
 * types heap[0..nheap), on which tp_dict is a dict).  l supplies the
 * object, tuple and other structs the checks read through, and the TYPE
 * fields already known (from _Py_DebugOffsets): a candidate must place
 * those where l does.  On success the TYPE fields of out are set (size
 * size) and why names the checks. */
int probe_type(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
               const struct layout *nb, uint32_t size, const uint64_t *heap, size_t nheap,
               struct layout *out, char *why, size_t len);

/* PyModuleObject's fields, each the one word offset below size (the
 * module type's tp_basicsize) where every live module mods[0..nmod) (at
 * least three) holds it: md_dict a dict; md_name a str its md_dict holds;
 * the module's PyModuleDef (md_def through 3.14, md_token 3.15+) NULL or a
 * def named like the module; then, for modules with a def, either (3.15)
 * md_state_size and md_state_traverse copied from it, or (3.14 and
 * before) md_def itself; md_state non-NULL exactly when the def asks for a
 * state.  On success the MODULE fields of out are set (size size). */
int probe_module(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                 const uint64_t *mods, size_t nmod, uint32_t size, struct layout *out,
                 char *why, size_t len);

/* Which of the neighbours' PyDictKeysObject (nb[0..n), at most four)
 * reads the dicts of the live modules mods[0..nmod): the one with which
 * nine in ten md_dicts map "__name__" to a str, when every other's reads
 * under a tenth.
 * *ret_pick is its index. */
int probe_dictkeys(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                   const struct layout *nb, size_t n, const uint64_t *mods, size_t nmod,
                   int *ret_pick, char *why, size_t len);

/* A private struct no symbol names (PyStructObject, itertools' cycle):
 * which of the neighbours' nb[0..n) (at most four) reads the live
 * instances objs[0..nobj) of its type (at address type, whose
 * tp_basicsize is size).  A candidate holds when it has the struct, each
 * of its fields has a named check (cycle's saved a list, its it NULL or
 * an object that is no list, tuple, dict, str or bytes; Struct's s_format
 * a bytes or str) and lies within size, and every instance, of that type,
 * reads what the check wants; candidates that place the fields alike are
 * one.  *ret_pick is the first that holds; -ENOENT none (or no instance),
 * -EBADMSG two that place them differently.  why names the checks. */
int probe_instances(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                    const struct layout *nb, size_t n, int s, uint64_t type, const uint64_t *objs,
                    size_t nobj, uint32_t size, int *ret_pick, char *why, size_t len);

/* Frames of a build whose frames are objects of their own (<=3.10). */
#define FRAME_SAMPLE 64

struct frame_sample {
        uint64_t f[FRAME_SAMPLE];
        bool suspended[FRAME_SAMPLE];   /* a live generator's frame */
        bool running[FRAME_SAMPLE];     /* on a thread's frame chain */
        size_t n;
};

/* 3.10's f_stackdepth (no neighbour has it): the one int (4-aligned,
 * below the frame's localsplus and outside l's other frame fields) that
 * reads -1 on every frame a thread is running, lies within co_stacksize on
 * the others and, in a suspended generator's frame, counts stack slots
 * that hold NULL or objects; one running frame or one nonzero count at
 * least tells it.  Its offset, -ENOENT none, -EBADMSG more than one. */
int probe_stackdepth(struct memsrc *m, const struct layout *l, const struct frame_sample *fs);

#endif
