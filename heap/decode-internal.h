/* decode-internal: what the decoder families (decode-*.c), the type cache
 * (typecache.c) and the object sizes (objsize.c) share; the walker and the
 * preview use decode.h only.
 *
 * A decoder emits the references of the current source object (w->cur_src)
 * through emit()/emit_field()/emit_fields().  Memory that cannot be read or
 * makes no sense marks the source PARTIAL (partial()); a struct the layout
 * lacks marks it opaque and counts a layout gap (gap()).  Decoders return
 * < 0 only for -ENOMEM (and heap misuse).
 */
#ifndef PYLEAK_DECODE_INTERNAL_H
#define PYLEAK_DECODE_INTERNAL_H

#include "decode.h"

#include <errno.h>

#include "pyinterp.h"

/* Caps on counts read from the target.  Real objects stay far below them;
 * larger values are garbage and make the object PARTIAL. */
#define MAX_ITEMS      ((uint64_t)1 << 28)
#define MAX_SLOTS      4096u
#define MAX_CHAIN      64
#define MAX_FRAME_SLOTS ((uint64_t)1 << 20)

/* Label styles of str_label(). */
enum lstyle { LS_ATTR = 1, LS_KEYSTR = 2, LS_LOCAL = 3 };

/* The decoders, one per row of decode-table.h. */
#define DECODE_DECL(id, dec, ...) int dec(struct walker *w, uint64_t obj, struct tinfo *t);
DECODE_KINDS(DECODE_DECL)
#undef DECODE_DECL

/* Decodes obj as kind k (an instance's C base decodes through this). */
int dec_kind(struct walker *w, enum dkind k, uint64_t obj, struct tinfo *t);

void tinfo_free(struct tinfo *t);

static inline void partial(struct walker *w)
{
        w->cur_partial = true;
}

/* The layout lacks what this decoder needs (a private struct no provider
 * described, or a third-party type's candidate layout that failed its
 * checks on this instance): the object's edges are unknown, not wrong.
 * Counted apart from memory problems (meta.layout_gaps). */
static inline void gap(struct walker *w)
{
        w->cur_opaque = true;
        w->cur_gap = true;
}

static inline bool is_sym(const struct walker *w, enum pysym_id id, uint64_t addr)
{
        return addr && w->pi->sym[id] == addr;
}

/* 3.14+ _PyStackRef: 1 is NULL, low bits 11 a tagged int, other tags mark
 * borrowed references. */
static inline uint64_t untag_ref(const struct walker *w, uint64_t v)
{
        if (!w->l->facts.tagged_stackrefs)
                return v;
        return (v == 1 || (v & 3) == 3) ? 0 : v & ~(uint64_t)3;
}

int str_label_slow(struct walker *w, uint64_t str, enum lstyle style, uint32_t *ret);

/* Label for a str object in a given style, cached by the str's address:
 * attribute and key names repeat across millions of objects. */
static inline int str_label(struct walker *w, uint64_t str, enum lstyle style, uint32_t *ret)
{
        if (u64map_get(&w->lmap, (str << 2) | (uint64_t)style, ret))
                return 0;
        return str_label_slow(w, str, style, ret);
}

static inline int text_label(struct walker *w, const char *text, uint32_t *ret)
{
        return heap_intern_label(w->h, text, ret);
}

/* Emits one reference of the current source.  NULL is no reference; a
 * pointer that does not lead to an object marks the source PARTIAL. */
static inline int emit(struct walker *w, uint64_t addr, uint32_t label)
{
        uint32_t dst;
        int r;

        if (!addr)
                return 0;
        r = resolve_object(w, addr, &dst);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                partial(w);
                return 0;
        }
        return heap_add_edge(w->h, w->cur_src, dst, label);
}

/* Reads a pointer field of the source object (from v, its viewed struct,
 * when not NULL) and emits it. */
static inline int emit_field(struct walker *w, const void *v, uint64_t obj,
                             enum layout_field_id f, uint32_t label)
{
        uint64_t p;

        if (!lhas(w->l, f))
                return 0;
        if (v)
                p = ld64(v, lo(w->l, f));
        else if (pyo_u64(&w->p, obj + lo(w->l, f), &p) < 0) {
                partial(w);
                return 0;
        }
        return emit(w, p, label);
}

struct fdesc {
        enum layout_field_id f;
        enum clabel lab;
};

/* Views the whole struct once when its size is known and small, so a run of
 * fields costs one lookup. */
static inline const void *view_struct(struct walker *w, uint64_t obj, enum layout_struct_id s,
                                      void *buf, size_t buflen)
{
        uint32_t n = lsz(w->l, s);

        if (!n || n > buflen)
                return NULL;
        return pyo_view(&w->p, obj, n, buf);
}

/* Emits the fields fd[0..n) of struct s at obj, in that order. */
static inline int emit_fields(struct walker *w, uint64_t obj, enum layout_struct_id s,
                              const struct fdesc *fd, size_t n)
{
        uint8_t buf[512];
        const void *v;
        int r;

        if (!lsz(w->l, s)) {
                gap(w);
                return 0;
        }
        v = view_struct(w, obj, s, buf, sizeof(buf));

        for (size_t i = 0; i < n; i++) {
                /* A field beyond the viewed struct (layout mix-up) is read
                 * on its own. */
                const void *vv = v && lo(w->l, fd[i].f) + 8 <= lsz(w->l, s) ? v : NULL;

                r = emit_field(w, vv, obj, fd[i].f, w->lab[fd[i].lab]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Types that became heap types (3.10+ for functools, 3.12+ for most stdlib
 * modules) visit their type first; for a Python subclass that is the
 * subclass (Py_TYPE(self)). */
static inline int emit_own_type(struct walker *w, const struct tinfo *t, enum dkind k)
{
        if (t->kind == k ? !(t->flags & TPF_HEAPTYPE) : !t->base_heap)
                return 0;
        return emit(w, t->addr, w->lab[CL_CLASS]);
}

/* The instance dict of obj as a class instance keeps it (managed or at
 * tp_dictoffset); C types whose struct lost its dict member (3.14+
 * asyncio) keep theirs this way. */
int emit_instance_dict(struct walker *w, uint64_t obj, struct tinfo *t);

/* A decoder that emits fixed fields of one struct. */
#define SIMPLE_DECODER(name, st, ...) \
int name(struct walker *w, uint64_t obj, struct tinfo *t) \
{ \
        static const struct fdesc fd[] = { __VA_ARGS__ }; \
        (void)t; \
        return emit_fields(w, obj, st, fd, sizeof(fd) / sizeof(fd[0])); \
}

#endif
