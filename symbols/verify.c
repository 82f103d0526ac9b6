/* verify: the checks a layout must pass against the target's memory
 * before anything walks with it (pyinterp_validate), each with a name the
 * report and the refusal use. */
#include "pyinterp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "memsrc.h"
#include "verify.h"

int pyinterp_no_interpreter(struct diag *d, pid_t pid)
{
        diag_set(d, -ESRCH, "process %d runs no Python interpreter now: its runtime lists "
                 "none, so Python has shut down (the program is exiting) or not started",
                 (int)pid);
        diag_append(d, "hint: attach while the program runs");
        return -ESRCH;
}


static int bad(struct diag *d, const struct layout *l, const char *check, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int bad(struct diag *d, const struct layout *l, const char *check, const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        return diag_set(d, -EBADMSG,
                        "layout check \"%s\" failed (layout from %s): %s\n"
                        "hint: the layout does not match this interpreter's memory; is the "
                        "debug info for this exact build?", check, l->source, why);
}

static int need(struct diag *d, const struct layout *l, const char *check,
                enum layout_field_id f)
{
        if (lhas(l, f))
                return 0;
        return bad(d, l, check, "the layout lacks %s (%s.%s)", layout_field_name(f),
                   layout_struct_name(layout_field_struct(f)), layout_field_path(f));
}

static int rd64(struct memsrc *m, uint64_t addr, uint64_t *ret)
{
        return memsrc_read_u64(m, addr, ret);
}

/* Reads of a running target that may race with its allocations: each
 * side of a head is tried this many times. */
#define LINK_TRIES 64

/* A list head (or any node) is consistent when its neighbours point back
 * at it: head->next->prev == head and head->prev->next == head.  An empty
 * list's head links to itself both ways.  Tag bits (doc/internals.md §GC head) are masked.
 *
 * The target runs while this is read, and a busy thread appends to the
 * young list every microsecond or so: the tail read a moment ago may
 * already have a successor.  So each side passes when it holds in any of
 * LINK_TRIES reads; with a wrong layout neither side ever holds (random
 * memory does not point back at the head). */
bool verify_links_hold(struct memsrc *m, const struct layout *l, uint64_t head)
{
        uint32_t on = lo(l, LF_GCHEAD_NEXT), op = lo(l, LF_GCHEAD_PREV);
        uint64_t node, back;

        for (int s = 0; s < 2; s++) {
                bool held = false;

                for (int t = 0; t < LINK_TRIES && !held; t++) {
                        if (rd64(m, head + (s ? op : on), &node) < 0 || !node)
                                return false;
                        node &= ~(uint64_t)3;
                        held = rd64(m, node + (s ? on : op), &back) == 0 &&
                               (back & ~(uint64_t)3) == head;
                }
                if (!held)
                        return false;
        }
        return true;
}

static int check_links(struct memsrc *m, const struct layout *l, const char *check,
                       const char *what, uint64_t head, struct diag *d)
{
        uint32_t on = lo(l, LF_GCHEAD_NEXT), op = lo(l, LF_GCHEAD_PREV);
        static const char *const side[2] = { "first", "last" };
        uint64_t node = 0, back;

        for (int s = 0; s < 2; s++) {
                bool held = false;

                for (int t = 0; t < LINK_TRIES && !held; t++) {
                        if (rd64(m, head + (s ? op : on), &node) < 0 || !node)
                                return bad(d, l, check, "%s at 0x%llx is unreadable or has a "
                                           "NULL link", what, (unsigned long long)head);
                        node &= ~(uint64_t)3;
                        held = rd64(m, node + (s ? on : op), &back) == 0 &&
                               (back & ~(uint64_t)3) == head;
                }
                if (!held)
                        return bad(d, l, check, "%s at 0x%llx: its %s node 0x%llx does not "
                                   "point back to it", what, (unsigned long long)head,
                                   side[s], (unsigned long long)node);
        }
        return 0;
}

static int check_gc_lists(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                          uint64_t interp, bool *gen0, struct diag *d)
{
        const char *check = layout_check_name(LC_GC_LINKS);
        uint64_t gc, head = 0, g0;
        uint32_t step = 24;
        int32_t collecting = 0;
        int rc;

        gc = verify_gc_state_addr(pi, l, interp);
        if (!gc)
                return bad(d, l, check, "the layout has neither INTERP_GC nor RUNTIME_GC");
        if ((rc = need(d, l, check, LF_GCHEAD_NEXT)) < 0 ||
            (rc = need(d, l, check, LF_GCHEAD_PREV)) < 0)
                return rc;

        if (lhas(l, LF_GC_COLLECTING)) {
                if (memsrc_read(m, gc + lo(l, LF_GC_COLLECTING), &collecting,
                                sizeof(collecting)) < 0)
                        return bad(d, l, check, "GC state at 0x%llx is unreadable",
                                   (unsigned long long)gc);
                if (collecting)
                        return 1;   /* lists are being rewritten: nothing to check */
        }
        if (lhas(l, LF_GC_GENERATIONS)) {
                head = gc + lo(l, LF_GC_GENERATIONS);
                if (l->f[LF_GC_GENERATIONS].elem_size)
                        step = l->f[LF_GC_GENERATIONS].elem_size;
        } else if (lhas(l, LF_GC_YOUNG)) {
                head = gc + lo(l, LF_GC_YOUNG);
        }
        /* generation0 points at the first head; a table that places the
         * heads where this build does not (Debian's 3.13 moved them from
         * gc+24 to gc+20) is caught here with a precise message. */
        if (lhas(l, LF_GC_GENERATION0)) {
                const char *c0 = layout_check_name(LC_GEN0);

                if (rd64(m, gc + lo(l, LF_GC_GENERATION0), &g0) < 0 || !g0)
                        return bad(d, l, c0, "generation0 pointer at 0x%llx is unreadable or NULL",
                                   (unsigned long long)(gc + lo(l, LF_GC_GENERATION0)));
                if (head && g0 != head)
                        return bad(d, l, c0, "generation0 is 0x%llx but the layout puts the "
                                   "first head at gc+%u = 0x%llx (gc state at 0x%llx)",
                                   (unsigned long long)g0, lo(l, LF_GC_GENERATIONS),
                                   (unsigned long long)head, (unsigned long long)gc);
                head = g0;
                *gen0 = true;
        }
        if (!head)
                return bad(d, l, check, "the layout has no GC list heads");
        for (int i = 0; i < 3; i++) {
                char what[48];

                snprintf(what, sizeof(what), "GC list head %d", i);
                if ((rc = check_links(m, l, check, what, head + (uint64_t)i * step, d)) < 0)
                        return rc;
        }
        if (lhas(l, LF_GC_PERMANENT) &&
            (rc = check_links(m, l, check, "the permanent generation head",
                              gc + lo(l, LF_GC_PERMANENT), d)) < 0)
                return rc;
        return 0;
}

/* --- the named checks ----------------------------------------------------- */

struct vctx {
        struct memsrc *m;
        const struct pyinterp *pi;
        const struct layout *l;
        struct diag *d;
        uint64_t interp;
        uint32_t passed;             /* bits of enum layout_check_id */
};

#define NAME(id) layout_check_name(LC_##id)

static int check_type_self(struct vctx *c)
{
        uint64_t tt = c->pi->sym[PYSYM_TYPE_TYPE], v;
        int rc;

        if ((rc = need(c->d, c->l, NAME(TYPE_SELF), LF_OBJECT_TYPE)) < 0)
                return rc;
        if (!tt)
                return bad(c->d, c->l, NAME(TYPE_SELF), "PyType_Type is not exported");
        if (rd64(c->m, tt + lo(c->l, LF_OBJECT_TYPE), &v) < 0 || v != tt)
                return bad(c->d, c->l, NAME(TYPE_SELF),
                           "ob_type of PyType_Type (0x%llx) reads 0x%llx",
                           (unsigned long long)tt, (unsigned long long)v);
        return 0;
}

/* tp_name of the type at addr reads exactly want. */
static bool named(struct vctx *c, uint64_t type, const char *want)
{
        char name[32];
        size_t n = strlen(want) + 1;
        uint64_t v;

        return type && n <= sizeof(name) && rd64(c->m, type + lo(c->l, LF_TYPE_NAME), &v) == 0 &&
               memsrc_read(c->m, v, name, n) == 0 && !memcmp(name, want, n);
}

static int check_list_name(struct vctx *c)
{
        int rc;

        if ((rc = need(c->d, c->l, NAME(LIST_NAME), LF_TYPE_NAME)) < 0)
                return rc;
        if (!named(c, c->pi->sym[PYSYM_LIST_TYPE], "list"))
                return bad(c->d, c->l, NAME(LIST_NAME),
                           "tp_name of PyList_Type (0x%llx) does not read \"list\"",
                           (unsigned long long)c->pi->sym[PYSYM_LIST_TYPE]);
        return 0;
}

/* Py_TPFLAGS_*_SUBCLASS: bits every version from 3.8 on sets on the
 * builtin types, a pattern random memory does not show. */
static const struct {
        enum pysym_id sym;
        unsigned bit;
} fast_flags[] = {
        { PYSYM_LONG_TYPE, 24 }, { PYSYM_LIST_TYPE, 25 }, { PYSYM_TUPLE_TYPE, 26 },
        { PYSYM_BYTES_TYPE, 27 }, { PYSYM_UNICODE_TYPE, 28 }, { PYSYM_DICT_TYPE, 29 },
        { PYSYM_TYPE_TYPE, 31 },
};

static int check_flags(struct vctx *c)
{
        unsigned checked = 0;
        int rc;

        if ((rc = need(c->d, c->l, NAME(FLAGS), LF_TYPE_FLAGS)) < 0)
                return rc;
        for (size_t i = 0; i < sizeof(fast_flags) / sizeof(fast_flags[0]); i++) {
                uint64_t t = c->pi->sym[fast_flags[i].sym], flags, want = 0;

                if (!t)
                        continue;
                if (rd64(c->m, t + lo(c->l, LF_TYPE_FLAGS), &flags) < 0)
                        return bad(c->d, c->l, NAME(FLAGS), "%s at 0x%llx is unreadable",
                                   pysym_name(fast_flags[i].sym), (unsigned long long)t);
                /* exactly its own subclass bit of the seven */
                for (size_t j = 0; j < sizeof(fast_flags) / sizeof(fast_flags[0]); j++)
                        want |= 1ull << fast_flags[j].bit;
                if ((flags & want) != 1ull << fast_flags[i].bit)
                        return bad(c->d, c->l, NAME(FLAGS), "tp_flags of %s read 0x%llx, "
                                   "without bit %u alone of the fast-subclass bits",
                                   pysym_name(fast_flags[i].sym), (unsigned long long)flags,
                                   fast_flags[i].bit);
                checked++;
        }
        return checked ? 0 : 1;
}

static int check_singletons(struct vctx *c)
{
        uint64_t none = c->pi->sym[PYSYM_NONE], tru = c->pi->sym[PYSYM_TRUE];
        uint64_t boolt = c->pi->sym[PYSYM_BOOL_TYPE], longt = c->pi->sym[PYSYM_LONG_TYPE], v;

        if (!none || !tru || !boolt || !longt || !lhas(c->l, LF_TYPE_BASE))
                return 1;
        if (rd64(c->m, none + lo(c->l, LF_OBJECT_TYPE), &v) < 0 || !named(c, v, "NoneType"))
                return bad(c->d, c->l, NAME(SINGLETONS), "the type of _Py_NoneStruct (0x%llx) "
                           "is not named NoneType", (unsigned long long)none);
        if (rd64(c->m, tru + lo(c->l, LF_OBJECT_TYPE), &v) < 0 || v != boolt)
                return bad(c->d, c->l, NAME(SINGLETONS), "the type of _Py_TrueStruct is 0x%llx, "
                           "not PyBool_Type 0x%llx", (unsigned long long)v,
                           (unsigned long long)boolt);
        if (rd64(c->m, boolt + lo(c->l, LF_TYPE_BASE), &v) < 0 || v != longt)
                return bad(c->d, c->l, NAME(SINGLETONS), "tp_base of PyBool_Type reads 0x%llx, "
                           "not PyLong_Type 0x%llx", (unsigned long long)v,
                           (unsigned long long)longt);
        return 0;
}

/* Structs whose size is their type's tp_basicsize in every version from
 * 3.8 on (tuple, code, frame, generator, int and the descriptors are
 * variable or bigger than their struct, so they are not listed).  A
 * pointer symbol (PyExc_*) holds the type's address. */
static const struct basicsize_pair basicsize_pairs[] = {
        { LS_HEAPTYPE, PYSYM_TYPE_TYPE, false },
        { LS_LIST, PYSYM_LIST_TYPE, false },
        { LS_DICT, PYSYM_DICT_TYPE, false },
        { LS_SET, PYSYM_SET_TYPE, false },
        { LS_FUNC, PYSYM_FUNCTION_TYPE, false },
        { LS_CELL, PYSYM_CELL_TYPE, false },
        { LS_METHOD, PYSYM_METHOD_TYPE, false },
        { LS_CLASSMETHOD, PYSYM_CLASSMETHOD_TYPE, false },
        { LS_STATICMETHOD, PYSYM_STATICMETHOD_TYPE, false },
        { LS_PROPERTY, PYSYM_PROPERTY_TYPE, false },
        { LS_MODULE, PYSYM_MODULE_TYPE, false },
        { LS_TRACEBACK, PYSYM_TRACEBACK_TYPE, false },
        { LS_ODICT, PYSYM_ODICT_TYPE, false },
        { LS_WEAKREF, PYSYM_WEAKREF_TYPE, false },
        { LS_SLICE, PYSYM_SLICE_TYPE, false },
        { LS_MBUF, PYSYM_MBUF_TYPE, false },
        { LS_CFUNC, PYSYM_CFUNCTION_TYPE, false },
        { LS_CMETHOD, PYSYM_CMETHOD_TYPE, false },
        { LS_UNICODE, PYSYM_UNICODE_TYPE, false },
        { LS_FLOAT, PYSYM_FLOAT_TYPE, false },
        { LS_BASEEXC, PYSYM_BASEEXC_PTR, true },
        { LS_OSERR, PYSYM_OSERR_PTR, true },
        { LS_SYNTAXERR, PYSYM_SYNTAXERR_PTR, true },
        { LS_IMPORTERR, PYSYM_IMPORTERR_PTR, true },
        { LS_STOPITER, PYSYM_STOPITER_PTR, true },
        { LS_SYSEXIT, PYSYM_SYSEXIT_PTR, true },
        { LS_ATTRERR, PYSYM_ATTRERR_PTR, true },
        { LS_NAMEERR, PYSYM_NAMEERR_PTR, true },
        { LS_EXCGROUP, PYSYM_EXCGROUP_PTR, true },
        { LS_UNICODEERR, PYSYM_UNICODEERR_PTR, true },
};

const struct basicsize_pair *verify_basicsize_pairs(size_t *n)
{
        *n = sizeof(basicsize_pairs) / sizeof(basicsize_pairs[0]);
        return basicsize_pairs;
}

int verify_type_basicsize(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                          const struct basicsize_pair *p, uint64_t *ret)
{
        uint64_t t = pi->sym[p->sym];

        if (!t || !lhas(l, LF_TYPE_BASICSIZE))
                return -ENOENT;
        if (p->ptr && (rd64(m, t, &t) < 0 || !t))
                return -EFAULT;
        return rd64(m, t + lo(l, LF_TYPE_BASICSIZE), ret) < 0 ? -EFAULT : 0;
}

static int check_sizes(struct vctx *c)
{
        size_t n;
        const struct basicsize_pair *p = verify_basicsize_pairs(&n);
        unsigned checked = 0;

        for (size_t i = 0; i < n; i++) {
                uint64_t size;
                int rc;

                if (!lsz(c->l, p[i].sid))
                        continue;
                rc = verify_type_basicsize(c->m, c->pi, c->l, &p[i], &size);
                if (rc == -ENOENT)
                        continue;
                if (rc < 0)
                        return bad(c->d, c->l, NAME(SIZES), "the type %s names is unreadable",
                                   pysym_name(p[i].sym));
                if (size != lsz(c->l, p[i].sid))
                        return bad(c->d, c->l, NAME(SIZES), "struct %s is %u bytes in the "
                                   "layout, but %s's tp_basicsize is %llu",
                                   layout_struct_name(p[i].sid), lsz(c->l, p[i].sid),
                                   pysym_name(p[i].sym), (unsigned long long)size);
                checked++;
        }
        return checked ? 0 : 1;
}

static int check_interp_head(struct vctx *c)
{
        uint64_t rt = c->pi->runtime_addr, v;
        int rc;

        if ((rc = need(c->d, c->l, NAME(INTERP_HEAD), LF_RUNTIME_INTERP_HEAD)) < 0)
                return rc;
        /* With PyType_Type and list checked, a NULL head is no layout
         * error: Py_Finalize has deleted the interpreter (the program is
         * exiting), or it has not been created yet. */
        if (rd64(c->m, rt + lo(c->l, LF_RUNTIME_INTERP_HEAD), &c->interp) == 0 && !c->interp)
                return pyinterp_no_interpreter(c->d, memsrc_pid(c->m));
        if (rd64(c->m, rt + lo(c->l, LF_RUNTIME_INTERP_HEAD), &c->interp) < 0 || !c->interp ||
            rd64(c->m, c->interp, &v) < 0)
                return bad(c->d, c->l, NAME(INTERP_HEAD),
                           "runtime 0x%llx + %u does not hold a readable interpreter pointer",
                           (unsigned long long)rt, lo(c->l, LF_RUNTIME_INTERP_HEAD));
        return 0;
}

static int check_thread_interp(struct vctx *c)
{
        uint64_t tstate, v;
        int rc;

        if ((rc = need(c->d, c->l, NAME(THREAD_INTERP), LF_INTERP_THREADS_HEAD)) < 0 ||
            (rc = need(c->d, c->l, NAME(THREAD_INTERP), LF_TSTATE_INTERP)) < 0)
                return rc;
        if (rd64(c->m, c->interp + lo(c->l, LF_INTERP_THREADS_HEAD), &tstate) < 0)
                return bad(c->d, c->l, NAME(THREAD_INTERP), "interpreter 0x%llx is unreadable",
                           (unsigned long long)c->interp);
        if (!tstate)
                return 1;
        if (rd64(c->m, tstate + lo(c->l, LF_TSTATE_INTERP), &v) < 0 || v != c->interp)
                return bad(c->d, c->l, NAME(THREAD_INTERP),
                           "thread state 0x%llx does not point back to interpreter 0x%llx",
                           (unsigned long long)tstate, (unsigned long long)c->interp);
        return 0;
}

static int check_interp_dicts(struct vctx *c)
{
        static const enum layout_field_id f[] = { LF_INTERP_MODULES, LF_INTERP_SYSDICT,
                                                  LF_INTERP_BUILTINS };
        uint64_t dict_type = c->pi->sym[PYSYM_DICT_TYPE];
        unsigned checked = 0;

        if (!dict_type)
                return 1;
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
                uint64_t d, t;

                if (!lhas(c->l, f[i]) || rd64(c->m, c->interp + lo(c->l, f[i]), &d) < 0 || !d)
                        continue;
                if (rd64(c->m, d + lo(c->l, LF_OBJECT_TYPE), &t) < 0 || t != dict_type)
                        return bad(c->d, c->l, NAME(INTERP_DICTS), "interpreter + %u (%s) "
                                   "holds 0x%llx, whose type is not PyDict_Type",
                                   lo(c->l, f[i]), layout_field_name(f[i]),
                                   (unsigned long long)d);
                checked++;
        }
        return checked ? 0 : 1;
}

uint64_t verify_gc_state_addr(const struct pyinterp *pi, const struct layout *l, uint64_t interp)
{
        if (lhas(l, LF_INTERP_GC))
                return interp + lo(l, LF_INTERP_GC);
        if (lhas(l, LF_RUNTIME_GC))
                return pi->runtime_addr + lo(l, LF_RUNTIME_GC);
        return 0;
}

static int check_gc(struct vctx *c)
{
        int rc;

        /* A running target mutates the young list all the time: a torn read
         * is retried before it counts as a layout error. */
        for (int attempt = 0;; attempt++) {
                bool gen0 = false;

                rc = check_gc_lists(c->m, c->pi, c->l, c->interp, &gen0, c->d);
                if (gen0)
                        c->passed |= 1u << LC_GEN0;
                if (rc >= 0 || attempt == 2)
                        return rc;
        }
}

static const char *const check_names[LC__COUNT] = {
#define LC_NAME(id, name) name,
        LAYOUT_CHECKS(LC_NAME)
#undef LC_NAME
};

const char *layout_check_name(enum layout_check_id c)
{
        return (unsigned)c < LC__COUNT ? check_names[c] : "?";
}

/* In dependency order: each may use what the earlier ones established. */
static const struct {
        enum layout_check_id id;
        int (*fn)(struct vctx *c);
} checks[] = {
        { LC_TYPE_SELF, check_type_self },
        { LC_LIST_NAME, check_list_name },
        { LC_FLAGS, check_flags },
        { LC_SINGLETONS, check_singletons },
        { LC_SIZES, check_sizes },
        { LC_INTERP_HEAD, check_interp_head },
        { LC_THREAD_INTERP, check_thread_interp },
        { LC_INTERP_DICTS, check_interp_dicts },
        { LC_GC_LINKS, check_gc },
};

int verify_layout(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                  uint32_t *passed, struct diag *d)
{
        struct vctx c = { .m = m, .pi = pi, .l = l, .d = d };
        int rc = 0;

        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                rc = checks[i].fn(&c);
                if (rc < 0)
                        break;
                if (rc == 0)
                        c.passed |= 1u << checks[i].id;
                rc = 0;
        }
        if (passed)
                *passed = c.passed;
        return rc;
}

int pyinterp_validate(struct memsrc *m, const struct pyinterp *pi, struct diag *d)
{
        return verify_layout(m, pi, &pi->layout, NULL, d);
}
