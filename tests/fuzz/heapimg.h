/* heapimg: the fake interpreter fuzz-heap walks, and the seeds it starts from.
 *
 * A fuzz input is a heap image plus a few bytes saying how to read it:
 *
 *   [0]       layout: bits 0-6 pick layout_tables[] (modulo the count),
 *             bit 7 walks in live mode (heap_build_opts.live)
 *   [1]       0, or n: every n-th read fails (fakemem_fail_every)
 *   [2, 66)   next and prev of the four GC list heads (generations 0-2,
 *             then permanent), 8 bytes each, little-endian
 *   [66, 98)  the interpreter's modules, sysdict, builtins and
 *             threads-head pointers (8 bytes each; absent fields skipped)
 *   [98, ...) the image: mapped at HIMG_ADDR, as long as the rest
 *
 * Everything else is built by himg_setup() from the chosen table and is
 * the same for every input: _PyRuntime with one interpreter, its GC state
 * (the list heads take their links from the input), and a static type
 * object for every type the decoders know (PYINTERP_SYMBOLS' types, the
 * exception types behind the PyExc_* pointers, and the types the decoders
 * recognise by name), type n at HIMG_TYPE(n).  Objects in the image point
 * at those: changing an ob_type's second byte moves an object to another
 * decoder.  A class statement's type is the image's own business: its
 * tp_traverse must be HIMG_SUBTYPE_TRAVERSE.
 *
 * himg_seed() writes a small valid input for a table: lists, tuples,
 * dicts, a set, str and int objects, a class with two instances and their
 * __dict__s, a function with a closure cell, a bound method, cycles among
 * them, in generations 0-2 (the permanent list is empty).
 */
#ifndef PYLEAK_FUZZ_HEAPIMG_H
#define PYLEAK_FUZZ_HEAPIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyinterp.h"

struct memsrc;

#define HIMG_ADDR      0x10000000ULL
#define HIMG_HDR       98
#define HIMG_RUNTIME   0x20000000ULL
#define HIMG_TYPES     0x7f0000000000ULL
#define HIMG_TYPE_SZ   0x400
#define HIMG_TYPE(n)   (HIMG_TYPES + (uint64_t)(n) * HIMG_TYPE_SZ)
#define HIMG_SUBTYPE_TRAVERSE 0x7000100ULL

/* Type slots the seeds use (the rest follow in heapimg.c's table). */
enum {
        HT_TYPE = 0, HT_OBJECT, HT_LIST, HT_TUPLE, HT_DICT, HT_STR, HT_INT,
        HT_SET, HT_FROZENSET, HT_FUNCTION, HT_CELL, HT_METHOD,
};

struct himg {
        struct memsrc *m;
        struct pyinterp pi;
        uint64_t heads[4];        /* GC list heads: generations 0-2, permanent */
};

/* Builds the fixed part for layout table `table` (index into
 * layout_tables[], taken modulo the count).  0 or -ENOMEM / -EBADMSG (a
 * table that does not describe the GC state).  himg_release() frees. */
int himg_setup(struct himg *x, unsigned table);
void himg_release(struct himg *x);

/* himg_setup() for the input's table, then the input's list links, roots
 * and image put in place (and its fault rate set).  *ret_live: walk in
 * live mode.  -EINVAL when shorter than the header. */
int himg_load(struct himg *x, const uint8_t *data, size_t size, bool *ret_live);

/* Writes a seed input for table `table` into buf (cap bytes); returns its
 * length, or 0 if it does not fit. */
size_t himg_seed(unsigned table, uint8_t *buf, size_t cap);

#endif
