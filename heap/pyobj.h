/* pyobj: reading CPython objects out of a memsrc, for the walker and the
 * decoders (private to heap/).
 *
 * A `struct pyo` bundles the memsrc, the layout and the interpreter symbols
 * with a few scratch buffers.  Views returned by pyo_view()/pyo_array() point
 * either into the snapshot (memsrc_ptr, zero copy) or into a buffer: the
 * caller's for pyo_view, one of pyo's growable slots for pyo_array (valid
 * until the next pyo_array call on the same slot).  NULL means unreadable.
 *
 * Target memory is hostile: every length passed here is bounded by the
 * caller, and every helper fails cleanly (-EFAULT, -EBADMSG) instead of
 * trusting what it reads.
 */
#ifndef PYLEAK_PYOBJ_H
#define PYLEAK_PYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "layout.h"

struct memsrc;
struct pyinterp;

/* Scratch slots for pyo_array: 0 and 1 the decoders' item and value
 * arrays, 2 the type's member and key arrays and line tables, 3 pyo_str's
 * characters, 4 pyo_dict_get_str's entries.  A decoder holds its array
 * while it resolves each referent, and resolving the first object of a
 * type not met before reads that type, its '__module__' included: type
 * reading must use no slot a decoder holds.  (Sources with zero-copy
 * pointers rarely use slots at all: a live source has none, so there every
 * array is a slot's.) */
#define PYO_NSLOTS 5
#define PYO_SLOT_STR 3
#define PYO_SLOT_DICT_GET 4
#define PYO_NPREV 3

/* tp_flags bits (stable across 3.8-3.15, doc/internals.md §Types). */
#define TPF_INLINE_VALUES   (1UL << 2)
#define TPF_MANAGED_WEAKREF (1UL << 3)
#define TPF_MANAGED_DICT    (1UL << 4)
#define TPF_HEAPTYPE        (1UL << 9)
#define TPF_HAVE_GC         (1UL << 14)
#define TPF_LONG_SUBCLASS   (1UL << 24)
#define TPF_LIST_SUBCLASS   (1UL << 25)
#define TPF_TUPLE_SUBCLASS  (1UL << 26)
#define TPF_BYTES_SUBCLASS  (1UL << 27)
#define TPF_UNICODE_SUBCLASS (1UL << 28)
#define TPF_DICT_SUBCLASS   (1UL << 29)
#define TPF_BASE_EXC_SUBCLASS (1UL << 30)
#define TPF_TYPE_SUBCLASS   (1UL << 31)

struct pyo {
        struct memsrc *m;
        const struct layout *l;
        const struct pyinterp *pi;
        uint8_t *slot[PYO_NSLOTS];
        size_t slotcap[PYO_NSLOTS];
        /* the last memsrc_span: most reads fall in the block of the one
         * before (an object's fields, then its neighbour's) */
        const uint8_t *span;
        uint64_t span_lo, span_hi;
        const uint64_t *span_genp;   /* live: the span holds while
                                        *span_genp == span_gen, and only
                                        copies may leave it */
        uint64_t span_gen;
        bool spans;                  /* memsrc_has_spans */
        /* the spans that never change used before the last one, most
         * recent first: the walk alternates between an object's block and
         * its type's (static types sit in the interpreter's data, heap
         * types and dict keys in other mappings), and asking memsrc each
         * time costs a region lookup per switch */
        struct pyo_span {
                const uint8_t *base;
                uint64_t lo, hi;
        } prev[PYO_NPREV];
};

void pyo_init(struct pyo *p, struct memsrc *m, const struct pyinterp *pi);
void pyo_release(struct pyo *p);

/* [addr, addr+len) inside the last span, else NULL.  Inline: the walk
 * reads a few fields of every object and most fall there. */
static inline const void *pyo_in_span(const struct pyo *p, uint64_t addr, size_t len)
{
        if (addr - p->span_lo < p->span_hi - p->span_lo && len <= p->span_hi - addr &&
            (!p->span_genp || *p->span_genp == p->span_gen))
                return p->span + (addr - p->span_lo);
        return NULL;
}

/* Asks the CPU for the cache lines around an object's start when they lie
 * in the last span: the two lines holding addr - 32 and addr + 32 cover the
 * pre-header (3.11+ managed dict), the GC head and the object header.  A
 * hint with no effect on what is read, for loops that know which object
 * comes a few steps ahead. */
static inline void pyo_prefetch(const struct pyo *p, uint64_t addr)
{
        const uint8_t *v = pyo_in_span(p, addr - 32, 96);

        if (v) {
                __builtin_prefetch(v);
                __builtin_prefetch(v + 64);
        }
}

/* The out-of-line rest of pyo_view and pyo_u64. */
const void *pyo_view_slow(struct pyo *p, uint64_t addr, size_t len, void *buf);
int pyo_u64_slow(struct pyo *p, uint64_t addr, uint64_t *ret);

/* len bytes at addr: a pointer into the snapshot, or buf (>= len bytes)
 * filled by a read.  NULL if unreadable. */
static inline const void *pyo_view(struct pyo *p, uint64_t addr, size_t len, void *buf)
{
        const void *v = pyo_in_span(p, addr, len);

        if (!v)
                return pyo_view_slow(p, addr, len, buf);
        if (p->span_genp) {
                /* a live cache block: refilled by any later read */
                memcpy(buf, v, len);
                return buf;
        }
        return v;
}

/* Like pyo_view for arrays of any (caller-bounded) size, using scratch slot
 * `slot` when a copy is needed. */
const void *pyo_array(struct pyo *p, int slot, uint64_t addr, size_t len);

static inline int pyo_u64(struct pyo *p, uint64_t addr, uint64_t *ret)
{
        const void *v = pyo_in_span(p, addr, 8);
        uint64_t w;

        if (!v)
                return pyo_u64_slow(p, addr, ret);
        memcpy(&w, v, 8);
        *ret = w;
        return 0;
}

/* Unaligned little-endian loads from a view. */
static inline uint64_t ld64(const void *b, uint32_t off)
{
        uint64_t v;
        memcpy(&v, (const uint8_t *)b + off, 8);
        return v;
}
static inline uint32_t ld32(const void *b, uint32_t off)
{
        uint32_t v;
        memcpy(&v, (const uint8_t *)b + off, 4);
        return v;
}
static inline uint8_t ld8(const void *b, uint32_t off)
{
        return ((const uint8_t *)b)[off];
}

/* A NUL-terminated C string of at most len-1 bytes (truncated). */
int pyo_cstr(struct pyo *p, uint64_t addr, char *buf, size_t len);

/* The text of a str object as UTF-8, truncated to len-1 bytes (never in the
 * middle of a character); *ret_full tells whether it was complete.  Fails
 * with -EBADMSG if the object does not look like a ready str. */
int pyo_str(struct pyo *p, uint64_t obj, char *buf, size_t len, bool *ret_full);

/* The value of an int object that fits in int64 (-ERANGE otherwise). */
int pyo_long(struct pyo *p, uint64_t obj, int64_t *ret);

/* Value previews (heap/preview.c).  Each reads at most max items and
 * returns how many it read (>= 0) with the object's full length in
 * *ret_len; -EBADMSG when the object does not look like its kind. */

/* The first code points of a str, whatever its kind (1, 2, 4 bytes). */
int pyo_str_chars(struct pyo *p, uint64_t obj, uint32_t *out, size_t max,
                  uint64_t *ret_len);

/* The first bytes of a bytes object. */
int pyo_bytes(struct pyo *p, uint64_t obj, uint8_t *buf, size_t max,
              uint64_t *ret_len);

/* A float's value. */
int pyo_float(struct pyo *p, uint64_t obj, double *ret);

/* The least significant 30-bit digits of an int (at most max), its digit
 * count and sign (-1, 0, 1). */
int pyo_long_digits(struct pyo *p, uint64_t obj, uint32_t *digits, size_t max,
                    uint64_t *ret_nd, int *ret_sign);

/* sys.getsizeof()'s __sizeof__ part of a str object (-EBADMSG if odd). */
int pyo_str_sizeof(struct pyo *p, uint64_t obj, uint64_t *ret);

/* The same, checking what CPython's own _PyUnicode_CheckConsistency does
 * cheaply: a kind of 1, 2 or 4 (1 when ascii), and a NUL right after the
 * last character.  On -EBADMSG *ret_bad says which failed (PYO_STR_OK: a
 * legacy string of <= 3.11 that is not ready, which is no corruption) and
 * *ret_val the kind or length found. */
enum pyo_str_bad {
        PYO_STR_OK = 0,
        PYO_STR_KIND,
        PYO_STR_LENGTH,
};
int pyo_str_sizeof_check(struct pyo *p, uint64_t obj, uint64_t *ret, int *ret_bad,
                         uint64_t *ret_val);

/* __sizeof__ of an int: digits counted per version. */
int pyo_long_sizeof(struct pyo *p, uint64_t obj, uint64_t basicsize,
                    uint64_t *ret);

/* _PyDict_KeysSize of a keys object; its entry count and kind too. */
struct pyo_keys {
        uint64_t addr;
        int64_t refcnt;
        uint64_t size;          /* number of index slots */
        uint64_t usable, nentries;
        uint64_t entries;       /* address of entry 0 */
        uint32_t entry_size;    /* 24 general, 16 unicode/split (3.11+) */
        int kind;               /* 0 general, 1 unicode, 2 split; -1 unknown (<=3.10) */
        uint64_t lookup;        /* <=3.10: dk_lookup, tells the kind */
        uint64_t bytes;         /* _PyDict_KeysSize */
};
int pyo_keys(struct pyo *p, uint64_t keys, struct pyo_keys *ret);

/* Looks a str key up in a dict (linear; for small dicts such as a type's
 * __dict__).  *ret = value or 0 when absent. */
int pyo_dict_get_str(struct pyo *p, uint64_t dict, const char *key,
                     uint64_t *ret);

/* Type of an object (ob_type). */
int pyo_type_of(struct pyo *p, uint64_t obj, uint64_t *ret);

#endif
