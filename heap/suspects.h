/* suspects: the owners that hold the memory, named the way Python spells
 * them ("__main__._page_cache", "Service.cache under thread MainThread,
 * main() local svc"), with what accumulates inside them.
 *
 * Computed on demand from an analysed heap (heap_analyse: dominators,
 * retained sizes, referrers, roots, local cycles), never stored: a dump
 * reopened gives the same suspects because it gives the same analysis.
 *
 * An owner is a container whose items hold the bytes.  Each object X is
 * credited to one holder: its immediate dominator, or, when that is not a
 * collection (an instance, an instance dict, the virtual root of objects
 * kept by several paths), the collection among X's referrers that hangs
 * under it (Service.cache for the requests a Service keeps through its
 * cache and its listeners alike; threading._active for threads that their
 * own frames hold too).  An owner with at least HEAP_SUSPECT_MIN_ITEMS
 * items is a candidate, ranked by its own size plus the retained sizes of
 * its items.  A candidate whose descendant candidates explain half its
 * bytes gives way to them, so the list names the innermost owners.
 * Interpreter structure (classes, modules, their dicts, functions, code,
 * sys.modules and the interpreter's dicts) is never an owner; the
 * interpreter's own caches (under sys, the import system, or held by C
 * code with no name) come after the application's owners.  Owners that
 * read the same and hold the same kind of items are folded into one
 * suspect ("20 × Service.cache").
 *
 * The caller owns the result and frees it with heap_suspects_release().
 * Functions return 0, -EINVAL (heap not analysed), -ENOMEM.
 */
#ifndef PYLEAK_SUSPECTS_H
#define PYLEAK_SUSPECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"

#define HEAP_SUSPECT_MIN_ITEMS 8

/* How an owner is reached from its root, written as Python would spell it. */
struct heap_owner_name {
        char owner[256];     /* short: "Service.cache" from the last instance
                                on the way, else the whole path:
                                "__main__._page_cache", "gc.garbage" */
        char path[512];      /* whole: "svc.cache", "__main__._page_cache" */
        char root[256];      /* "module __main__", "thread MainThread,
                                main() local svc", "held from outside the
                                graph (C code)" */
        uint32_t root_kind;  /* enum heap_root_kind; HEAP_ROOT__COUNT when no
                                root reaches the owner */
};

struct heap_suspect {
        uint32_t owner;        /* object index of the (first) owner */
        uint32_t nfolded;      /* owners folded into this one (1: itself) */
        uint64_t retained;     /* bytes: the owners' own sizes and the
                                  retained sizes of their items */
        uint64_t objects;      /* objects those bytes are */
        uint64_t items;        /* items credited to the owners */
        uint64_t own_retained; /* the first owner alone, as retained and */
        uint64_t own_objects;  /* objects count it (heap_growth_compute) */
        struct heap_owner_name name;
        bool interpreter;      /* held in the interpreter's own tables (sys,
                                  the import system, C code with no name):
                                  listed after the application's owners */
        char accumulates[256]; /* "200 × dict (245.0 KiB), keys str; 100 ×
                                  Request ⇄ Response cycle" */
};

struct heap_suspects {
        uint32_t n;
        struct heap_suspect *v;   /* best first */
        uint32_t *holder;         /* per object, as heap_suspects_holders()
                                     gives it: computed anyway, kept for
                                     heap_growth_compute */
        struct heap_suspects_state *state;  /* what the passes found, for
                                               heap_suspects_refold */
};

/* At most max suspects (0: 10), best first.  Costs a few passes over the
 * objects and the referrers, and one search from the roots per suspect. */
int heap_suspects_compute(const struct heap *h, uint32_t max, struct heap_suspects *ret);
void heap_suspects_release(struct heap_suspects *s);

/* What heap_suspects_compute(h, max) gives, from what the passes of s
 * (computed on the same heap) found: only the naming and the folding
 * again, no pass over the objects.  ret->holder and ret->state are NULL
 * (s keeps them).  0, -EINVAL (s has no state), -ENOMEM. */
int heap_suspects_refold(const struct heap *h, const struct heap_suspects *s, uint32_t max,
                         struct heap_suspects *ret);
/* The max s was folded for (0: none, a refolded or empty result). */
uint32_t heap_suspects_max(const struct heap_suspects *s);

/* What heap_suspects_holders() credits to each of a few owners, without
 * crediting every object: per owners[k] (object indices; UINT32_MAX and
 * repeats allowed), the retained bytes of its items (ret[k].retained) and
 * the objects under them in the dominator tree, themselves included
 * (ret[k].objects), only those with want[v] when want is given.  holder:
 * heap_suspects_holders()'s array if the caller has it, else NULL (only
 * the owners' dominator-tree children and referents are credited, which
 * is where an owner's items are).  Scratch: 4 bytes per object.  0,
 * -EINVAL (not analysed, more than HEAP_SHARES_MAX owners), -ENOMEM. */
#define HEAP_SHARES_MAX 128
struct heap_owner_share {
        uint64_t retained, objects;
};
int heap_suspects_shares(const struct heap *h, const uint32_t *holder, const uint32_t *owners,
                         uint32_t n, const uint8_t *want, struct heap_owner_share *ret);

/* Per object, the owner it is credited to (UINT32_MAX: none), as the
 * suspects count them; an owner's items are the objects credited to it.
 * The caller frees *ret.  0, -EINVAL, -ENOMEM. */
int heap_suspects_holders(const struct heap *h, uint32_t **ret);

/* The name of obj's shortest path from a root (heap_path_from_root).  No
 * root: root_kind HEAP_ROOT__COUNT and the path is the object's type. */
int heap_owner_name(const struct heap *h, uint32_t obj, struct heap_owner_name *ret);

/* The ranks heap_owner_name gives the kinds of root (paths.h,
 * heap_path_from_root_ranked): the path that names an owner. */
extern const uint8_t heap_owner_root_rank[HEAP_ROOT__COUNT];

/* Whether obj is the interpreter's own structure rather than the
 * application's data: a class, a module, a module's or class's dict, a
 * function, code, a descriptor.  Needs the referrer index for the dicts.
 * (The interpreter's sys and builtins dicts are their modules'.) */
bool heap_obj_is_structure(const struct heap *h, uint32_t obj);

#endif
