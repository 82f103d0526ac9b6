/* family: layouts for builds no DWARF and no exact table describe (see
 * family.h). */
#include "family.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "memsrc.h"
#include "probe.h"
#include "pyinterp.h"
#include "tables.h"
#include "verify.h"

#define MAX_CANDIDATES 16

static unsigned patch_distance(uint32_t a, uint32_t b)
{
        unsigned pa = (a >> 8) & 0xff, pb = (b >> 8) & 0xff;

        return pa > pb ? pa - pb : pb - pa;
}

/* Own variant first, then the nearest patch level. */
static size_t family_tables(uint32_t hex, const char *variant, const struct layout_table **out)
{
        size_t n = layout_tables_of(py_major(hex), py_minor(hex), out, MAX_CANDIDATES);

        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        const struct layout_table *a = out[j - 1], *b = out[j];
                        bool av = !strcmp(a->variant, variant), bv = !strcmp(b->variant, variant);

                        if (av > bv || (av == bv && patch_distance(a->version_hex, hex) <=
                                                    patch_distance(b->version_hex, hex)))
                                break;
                        out[j - 1] = b;
                        out[j] = a;
                }
        return n;
}

/* The debug offsets are read from the target itself: where they speak they
 * win; the widths they lack are kept. */
static void overlay_as(struct layout *l, const struct layout *dbg, uint8_t prov, uint8_t *sprov,
                       uint8_t *fprov)
{
        for (int s = 0; s < LS__COUNT; s++)
                if (dbg->s[s].present) {
                        l->s[s] = dbg->s[s];
                        sprov[s] = prov;
                }
        for (int f = 0; f < LF__COUNT; f++) {
                if (!dbg->f[f].present)
                        continue;
                if (!l->f[f].present)
                        l->f[f] = dbg->f[f];
                l->f[f].offset = dbg->f[f].offset;
                l->f[f].present = true;
                fprov[f] = prov;
        }
}

static void overlay(struct layout *l, const struct layout *dbg, uint8_t *sprov, uint8_t *fprov)
{
        overlay_as(l, dbg, LP_DEBUG_OFFSETS, sprov, fprov);
}

static void mark(const struct layout *l, uint8_t p, uint8_t *sprov, uint8_t *fprov)
{
        for (int s = 0; s < LS__COUNT; s++)
                sprov[s] = l->s[s].present ? p : LP_NONE;
        for (int f = 0; f < LF__COUNT; f++)
                fprov[f] = l->f[f].present ? p : LP_NONE;
}

static void mark_inferred(const struct layout *before, const struct layout *after,
                          uint8_t *fprov)
{
        for (int f = 0; f < LF__COUNT; f++)
                if (after->f[f].present &&
                    (!before->f[f].present || before->f[f].offset != after->f[f].offset))
                        fprov[f] = LP_INFERRED;
}

struct trial {
        struct layout l;
        struct type_census census;   /* taken once GC lists are placed */
        uint8_t sprov[LS__COUNT], fprov[LF__COUNT];
        char inferred[8192];   /* 3.15 without its table fills 4 KiB */
        char gapped[512];
        char gapped_why[512];   /* why a probe left an essential struct out */
        uint32_t checks;
};

/* Inference, then the checks: 0 when t is this build's layout. */
static int try_layout(struct memsrc *m, struct pyinterp *pi, struct trial *t, bool trust_gen0,
                      struct diag *d)
{
        struct layout before = t->l;

        (void)infer_gc(m, pi, &t->l, trust_gen0, NULL, t->inferred, sizeof(t->inferred));
        mark_inferred(&before, &t->l, t->fprov);
        return verify_layout(m, pi, &t->l, &t->checks, d);
}

static void adopt(struct pyinterp *pi, const struct trial *t, const char *source)
{
        pi->layout = t->l;
        pi->layout.source = source;
        memcpy(pi->struct_provider, t->sprov, sizeof(pi->struct_provider));
        memcpy(pi->field_provider, t->fprov, sizeof(pi->field_provider));
        snprintf(pi->layout_inferred, sizeof(pi->layout_inferred), "%s", t->inferred);
        snprintf(pi->layout_gapped, sizeof(pi->layout_gapped), "%s", t->gapped);
        pi->layout_checks = t->checks;
}

static int try_family(struct memsrc *m, struct pyinterp *pi, const char *variant,
                      const struct layout *dbg, struct trial *t, struct diag *d)
{
        const struct layout_table *tabs[MAX_CANDIDATES];
        struct layout *seen = calloc(MAX_CANDIDATES, sizeof(*seen));
        size_t n = family_tables(pi->version_hex, variant, tabs), nseen = 0;
        int rc = -ENOENT;

        if (!seen)
                return diag_set(d, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                struct diag cd = { 0 };
                bool dup = false;

                memset(t, 0, sizeof(*t));
                layout_init(&t->l, pi->version_hex);
                if (layout_table_fill(tabs[i], &t->l, NULL) < 0)
                        continue;
                for (size_t j = 0; j < nseen && !dup; j++)
                        dup = layout_equal(&seen[j], &t->l);
                if (dup)
                        continue;
                seen[nseen++] = t->l;
                mark(&t->l, LP_FAMILY, t->sprov, t->fprov);
                if (dbg)
                        overlay(&t->l, dbg, t->sprov, t->fprov);
                rc = try_layout(m, pi, t, true, &cd);
                if (rc == -ESRCH) {
                        diag_set(d, rc, "%s", cd.msg);
                        break;
                }
                if (rc == 0) {
                        diag_list_add(pi->layout_candidates, sizeof(pi->layout_candidates),
                            "%s: every check held", tabs[i]->source);
                        adopt(pi, t, dbg ? tabs[i]->family_combined_source
                                         : tabs[i]->family_source);
                        break;
                }
                diag_list_add(pi->layout_candidates, sizeof(pi->layout_candidates), "%s: %.*s",
                    tabs[i]->source, (int)strcspn(cd.msg, "\n"), cd.msg);
                rc = -ENOENT;
        }
        free(seen);
        return rc;
}

/* --- neighbours ----------------------------------------------------------- */

/* Whether table t may stand as the neighbour in direction dir of a build
 * of version hex: another minor on that side, or its own minor's tables
 * of a patch level on that side (an older one below, a newer one above). */
static bool on_side(const struct layout_table *t, uint32_t hex, int dir)
{
        if (py_minor(t->version_hex) != py_minor(hex))
                return true;
        return dir < 0 ? t->version_hex <= hex : t->version_hex > hex;
}

/* The nearest table below and above, of the build's own variant where
 * there is a choice.  Its own minor version's come first: when every
 * whole-table candidate failed, those still differ from the build in a
 * struct or two (3.13.18's exception group grew a word in a patch
 * release); then the next minor version that has a table. */
static size_t neighbour_tables(uint32_t hex, const char *variant, const struct layout_table **out)
{
        size_t n = 0;

        for (int dir = -1; dir <= 1; dir += 2) {
                for (int minor = (int)py_minor(hex); minor >= 8 && minor <= 40; minor += dir) {
                        const struct layout_table *t[MAX_CANDIDATES];
                        size_t k = layout_tables_of(3, (unsigned)minor, t, MAX_CANDIDATES);
                        const struct layout_table *best = NULL;

                        for (size_t i = 0; i < k; i++) {
                                bool vi, vo;

                                if (!on_side(t[i], hex, dir))
                                        continue;
                                if (!best) {
                                        best = t[i];
                                        continue;
                                }
                                vi = !strcmp(t[i]->variant, variant);
                                vo = !strcmp(best->variant, variant);
                                /* nearest: the newest below, the oldest above */
                                if (vi > vo || (vi == vo &&
                                    (dir < 0 ? t[i]->version_hex > best->version_hex
                                             : t[i]->version_hex < best->version_hex)))
                                        best = t[i];
                        }
                        if (!best)
                                continue;
                        out[n++] = best;
                        break;
                }
        }
        if (n == 2 && py_minor(out[1]->version_hex) == py_minor(hex) &&
            py_minor(out[0]->version_hex) != py_minor(hex)) {
                /* the own minor's table first: it is the one whose structs
                 * stand where the target's sizes do not tell (resolve_struct) */
                const struct layout_table *own = out[1];

                out[1] = out[0];
                out[0] = own;
        }
        return n;
}

/* Every field of s alike in a and b, and (with sizes) the struct's size. */
static bool fields_alike(const struct layout *a, const struct layout *b, int s, bool sizes)
{
        if (a->s[s].present != b->s[s].present || (sizes && a->s[s].size != b->s[s].size))
                return false;
        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &a->f[f], *y = &b->f[f];

                if ((int)layout_field_struct(f) != s)
                        continue;
                if (x->present != y->present ||
                    (x->present && (x->offset != y->offset || x->size != y->size)))
                        return false;
        }
        return true;
}

static bool struct_fields_equal(const struct layout *a, const struct layout *b, int s)
{
        return fields_alike(a, b, s, true);
}

static void take_struct(struct layout *dst, const struct layout *src, int s)
{
        dst->s[s] = src->s[s];
        for (int f = 0; f < LF__COUNT; f++)
                if ((int)layout_field_struct(f) == s)
                        dst->f[f] = src->f[f];
}

static void drop_struct(struct layout *l, int s)
{
        l->s[s].present = false;
        l->s[s].size = 0;
        for (int f = 0; f < LF__COUNT; f++)
                if ((int)layout_field_struct(f) == s)
                        l->f[f].present = false;
}

/* Takes one "NAME" or "NAME (why)" out of a "; "-separated list: true if
 * there was one. */
static bool ungap_one(char *list, const char *name)
{
        size_t n = strlen(name);

        for (char *p = list; (p = strstr(p, name)) != NULL; p++) {
                bool start = p == list || (p >= list + 2 && !memcmp(p - 2, "; ", 2));
                char *end = p + n;

                if (!start || (*end && memcmp(end, "; ", 2) && memcmp(end, " (", 2)))
                        continue;
                if (*end && !memcmp(end, " (", 2)) {
                        /* "NAME (why)": up to the next entry */
                        char *next = strstr(end, "; ");

                        end = next ? next : end + strlen(end);
                }
                if (*end)
                        memmove(p, end + 2, strlen(end + 2) + 1);
                else if (p == list)
                        *p = '\0';
                else
                        p[-2] = '\0';
                return true;
        }
        return false;
}

/* Takes every entry of NAME out (a struct may be listed twice: left out
 * by the neighbours, then again by a probe that dropped it). */
static void ungap(char *list, const char *name)
{
        for (int i = 0; i < 8 && ungap_one(list, name); i++)
                ;
}

/* Fields of the GC state and the runtime that the checks or inference
 * settle even when the neighbours disagree on them. */
static bool settled_later(int s)
{
        return s == LS_GCSTATE || s == LS_RUNTIME || s == LS_INTERP || s == LS_TSTATE;
}

/* Private structs whose type no symbol names: found by tp_name on the
 * instances on the GC lists, sized by that type's tp_basicsize. */
static const struct {
        enum layout_struct_id sid;
        const char *names[3];
} named_structs[] = {
        { LS_PARTIAL, { "functools.partial" } },
        { LS_UNION, { "typing.Union", "types.UnionType" } },
        { LS_LRUCACHE, { "functools._lru_cache_wrapper" } },
        { LS_GENALIAS, { "types.GenericAlias" } },
        { LS_NAMESPACE, { "types.SimpleNamespace" } },
        { LS_DEQUE, { "collections.deque" } },
        { LS_DEFDICT, { "collections.defaultdict" } },
        { LS_TUPLEGETTER, { "_collections._tuplegetter", "collections._tuplegetter" } },
        { LS_ABCDATA, { "_abc._abc_data" } },
        { LS_METHWRAPPER, { "method-wrapper" } },
        { LS_TEXTIO, { "_io.TextIOWrapper" } },
        { LS_STRINGIO, { "_io.StringIO" } },
        { LS_THLOCAL, { "_thread._local" } },
        { LS_IT_ACCUMULATE, { "itertools.accumulate" } },
        { LS_IT_GROUPBY, { "itertools.groupby" } },
        { LS_IT_PAIRWISE, { "itertools.pairwise" } },
        { LS_IT_TEE, { "itertools._tee" } },
        { LS_FUTURE, { "_asyncio.Future" } },
        { LS_TASK, { "_asyncio.Task" } },
};

/* Private structs whose fields are checked on their live instances
 * (probe_instances): unless the neighbours agree on them in every byte,
 * a neighbour's is taken only when those checks hold, never for its size
 * alone (3.14's Struct has 3.13's size and 3.15's fields; with 3.14 the
 * only neighbour, 3.15's Struct grew a word). */
static const struct {
        enum layout_struct_id sid;
        const char *names[2];
} instance_checked[] = {
        { LS_STRUCTOBJ, { "_struct.Struct" } },
        { LS_IT_CYCLE, { "itertools.cycle" } },
};

static bool instance_checked_struct(int s)
{
        for (size_t i = 0; i < sizeof(instance_checked) / sizeof(instance_checked[0]); i++)
                if ((int)instance_checked[i].sid == s)
                        return true;
        return false;
}

static bool named_size(struct memsrc *m, const struct pyinterp *pi, struct trial *tr, int s,
                       uint64_t *size)
{
        const struct layout *l = &tr->l;

        for (size_t i = 0; i < sizeof(named_structs) / sizeof(named_structs[0]); i++) {
                uint64_t t;

                if ((int)named_structs[i].sid != s)
                        continue;
                if (!tr->census.taken)
                        infer_census(m, pi, l, &tr->census);
                return lhas(l, LF_TYPE_BASICSIZE) &&
                       infer_type_named(m, l, &tr->census, named_structs[i].names, &t) == 0 &&
                       memsrc_read_u64(m, t + lo(l, LF_TYPE_BASICSIZE), size) == 0;
        }
        return false;
}

/* Structs that end in an interpreter frame (frame, generator, async
 * generator objects): their type is sized up to the frame's localsplus, the
 * struct to the frame's end. */
static const struct basicsize_pair framed[] = {
        { LS_FRAMEOBJ, PYSYM_FRAME_TYPE, false },
        { LS_ASYNCGEN, PYSYM_ASYNCGEN_TYPE, false },
};

/* The struct's size as the target says, when it can tell: the debug
 * offsets' size, the type's tp_basicsize (verify.h), for a private struct
 * the tp_basicsize of its type found by name, or for the framed structs the
 * basicsize less the frame's localsplus offset plus the frame's size. */
static bool size_from_target(struct memsrc *m, const struct pyinterp *pi, struct trial *tr,
                             const struct layout *dbg, int s, uint64_t *size, const char **how)
{
        const struct layout *l = &tr->l;
        size_t n;
        const struct basicsize_pair *p = verify_basicsize_pairs(&n);

        if (dbg && dbg->s[s].present && dbg->s[s].size) {
                *size = dbg->s[s].size;
                *how = "the debug offsets' size";
                return true;
        }
        for (size_t i = 0; i < n; i++)
                if ((int)p[i].sid == s) {
                        *how = "the type's tp_basicsize";
                        return verify_type_basicsize(m, pi, l, &p[i], size) == 0;
                }
        for (size_t i = 0; i < sizeof(framed) / sizeof(framed[0]); i++) {
                /* a frame object ends in _f_frame_data[1], one word; the
                 * generators in a whole frame */
                uint32_t tail = s == LS_FRAMEOBJ ? 8 : lsz(l, LS_IFRAME);

                if ((int)framed[i].sid != s || !lhas(l, LF_IFRAME_LOCALSPLUS) || !tail ||
                    verify_type_basicsize(m, pi, l, &framed[i], size) < 0 ||
                    *size <= lo(l, LF_IFRAME_LOCALSPLUS))
                        continue;
                *size = *size - lo(l, LF_IFRAME_LOCALSPLUS) + tail;
                *how = "the type's tp_basicsize less the frame's localsplus plus its tail";
                return true;
        }
        if (named_size(m, pi, tr, s, size)) {
                *how = "tp_basicsize of its type, found by name on the GC lists";
                return true;
        }
        return false;
}

/* Whether table t is of the build's own minor version (a patch release
 * its whole-table candidates could not describe). */
static bool own_minor(const struct pyinterp *pi, const struct layout_table *t)
{
        return py_minor(t->version_hex) == py_minor(pi->version_hex);
}

static void take_prov(struct trial *t, int s, uint8_t p)
{
        t->sprov[s] = p;
        for (int f = 0; f < LF__COUNT; f++)
                if ((int)layout_field_struct(f) == s && t->l.f[f].present)
                        t->fprov[f] = p;
}

/* One struct from the neighbours: the one whose size the target confirms,
 * else the one they agree on, else nothing (a gap). */
static void resolve_struct(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                           const struct layout *nb, const struct layout_table *const *tabs,
                           size_t n, const struct layout *dbg, int s)
{
        const char *how = "";
        uint64_t want;
        int pick = -1;
        bool agree = n > 1 && struct_fields_equal(&nb[0], &nb[1], s);
        bool own = own_minor(pi, tabs[0]);

        if (!dbg && (s == LS_RUNTIME || s == LS_INTERP || s == LS_TSTATE))
                return;   /* only what infer_runtime placed and checked:
                             the neighbours may agree where this build
                             differs (3.11 and 3.13 on 3.12's thread ids) */
        if (agree) {
                take_struct(&t->l, &nb[0], s);
                return;
        }
        if (instance_checked_struct(s)) {
                /* probe_instance_structs settles it, or it stays out */
                drop_struct(&t->l, s);
                if (nb[0].s[s].present || (n > 1 && nb[1].s[s].present))
                        diag_list_add(t->gapped, sizeof(t->gapped), "%s",
                                      layout_struct_name(s));
                return;
        }
        if (!dbg && s == LS_TYPE && n > 1 && fields_alike(&nb[0], &nb[1], s, false)) {
                /* the size follows from the heap type (type_size) */
                take_struct(&t->l, &nb[0], s);
                t->l.s[s].size = 0;
                return;
        }
        if (size_from_target(m, pi, t, dbg, s, &want, &how)) {
                for (size_t i = 0; i < n && pick < 0; i++)
                        if (nb[i].s[s].present && nb[i].s[s].size == want)
                                pick = (int)i;
                /* two that match in size but not in fields: no telling,
                 * unless one is of the build's own minor version */
                if (pick == 0 && n > 1 && nb[1].s[s].present && nb[1].s[s].size == want &&
                    !agree && !own)
                        pick = -1;
                if (pick >= 0) {
                        take_struct(&t->l, &nb[pick], s);
                        if (!agree) {
                                t->sprov[s] = LP_INFERRED;
                                diag_list_add(t->inferred, sizeof(t->inferred), "%s from %s (%llu "
                                    "bytes: %s)", layout_struct_name(s), tabs[pick]->source,
                                    (unsigned long long)want, how);
                        }
                        return;
                }
        } else if ((n == 1 || own) && nb[0].s[s].present) {
                /* no size to check it by: the struct of the build's own
                 * minor version, whose patch releases append to a struct
                 * (the size checks catch that) but do not move its fields;
                 * verify_layout's checks then hold it or refuse it */
                take_struct(&t->l, &nb[0], s);
                if (own)
                        take_prov(t, s, LP_FAMILY);
                return;
        }
        if (settled_later(s)) {
                /* keep what the neighbours agree on; the rest stays absent */
                if (!t->l.s[s].present && nb[0].s[s].present && (n == 1 ||
                    nb[0].s[s].size == nb[1].s[s].size))
                        t->l.s[s] = nb[0].s[s];
                for (int f = 0; f < LF__COUNT; f++)
                        if ((int)layout_field_struct(f) == s && n > 1 &&
                            nb[0].f[f].present && nb[1].f[f].present &&
                            nb[0].f[f].offset == nb[1].f[f].offset && !t->l.f[f].present)
                                t->l.f[f] = nb[0].f[f];
                return;
        }
        if (!nb[0].s[s].present && (n == 1 || !nb[1].s[s].present))
                return;   /* no version of the neighbours has it either */
        if (dbg && dbg->s[s].present) {
                bool all = true;

                /* its other fields where both neighbours place them alike;
                 * of two widths the narrower reads only what both have */
                for (int f = 0; f < LF__COUNT; f++) {
                        const struct layout_field_info *a = &nb[0].f[f], *b = &nb[n - 1].f[f];

                        if ((int)layout_field_struct(f) != s || dbg->f[f].present ||
                            (!a->present && !b->present))
                                continue;
                        if (n < 2 || !a->present || !b->present || a->offset != b->offset) {
                                all = false;
                                continue;
                        }
                        t->l.f[f] = a->size <= b->size ? *a : *b;
                        if (a->size != b->size)
                                diag_list_add(t->inferred, sizeof(t->inferred), "%s at %u, %u bytes "
                                    "(the neighbours agree on the offset, the narrower width)",
                                    layout_field_name(f), a->offset, t->l.f[f].size);
                }
                if (!all)
                        diag_list_add(t->gapped, sizeof(t->gapped), "%s (only its debug offsets and the "
                            "fields both neighbours place alike)", layout_struct_name(s));
                return;
        }
        drop_struct(&t->l, s);
        diag_list_add(t->gapped, sizeof(t->gapped), "%s", layout_struct_name(s));
}

/* A heap type's own fields hold the same kinds of object in every version:
 * ht_name and ht_qualname a str, ht_slots NULL or a tuple, ht_module NULL
 * or a module.  A candidate that places them where they do not, on a live
 * class, is not this build's. */
static bool heaptype_holds(struct memsrc *m, const struct pyinterp *pi,
                           const struct layout *cand, uint64_t t)
{
        static const struct {
                enum layout_field_id f;
                enum pysym_id type;
                bool nullable;
        } want[] = {
                { LF_HEAPTYPE_NAME, PYSYM_UNICODE_TYPE, false },
                { LF_HEAPTYPE_QUALNAME, PYSYM_UNICODE_TYPE, false },
                { LF_HEAPTYPE_SLOTS, PYSYM_TUPLE_TYPE, true },
                { LF_HEAPTYPE_MODULE, PYSYM_MODULE_TYPE, true },
        };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                uint64_t v, type;

                if (!lhas(cand, want[i].f)) {
                        if (!want[i].nullable)
                                return false;
                        continue;
                }
                if (memsrc_read_u64(m, t + lo(cand, want[i].f), &v) < 0)
                        return false;
                if (!v && want[i].nullable)
                        continue;
                if (!v || memsrc_read_u64(m, v + lo(cand, LF_OBJECT_TYPE), &type) < 0 ||
                    type != pi->sym[want[i].type])
                        return false;
        }
        return true;
}

/* The heap type struct of the neighbour whose fields hold on every live
 * class found (at least three), its size as PyType_Type's tp_basicsize. */
/* A neighbour's heap-type fields moved by shift bytes (the block of them
 * moves as a whole when a method suite before it grows, as as_async did in
 * 3.10): into out; a field moved past size is absent. */
static bool shifted_heaptype(const struct layout *nb, int shift, uint64_t size,
                             struct layout *out)
{
        take_struct(out, nb, LS_HEAPTYPE);
        for (int f = 0; f < LF__COUNT; f++) {
                struct layout_field_info *x = &out->f[f];

                if (layout_field_struct(f) != LS_HEAPTYPE || !x->present)
                        continue;
                if ((int64_t)x->offset + shift < 0)
                        return false;
                x->offset = (uint32_t)((int64_t)x->offset + shift);
                /* past the end: this build has not got it (3.8 lacks
                 * 3.9's ht_module) */
                if (x->offset + x->size > size)
                        x->present = false;
        }
        return true;
}

/* 1 when a has every field of struct s that b has, at the same offsets,
 * and more; -1 the other way round; 0 when they differ otherwise. */
static int more_fields(const struct layout *a, const struct layout *b, int s)
{
        int na = 0, nb = 0;

        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &a->f[f], *y = &b->f[f];

                if ((int)layout_field_struct(f) != s)
                        continue;
                if (x->present && y->present && x->offset != y->offset)
                        return 0;
                na += x->present && !y->present;
                nb += y->present && !x->present;
        }
        return na && !nb ? 1 : nb && !na ? -1 : 0;
}

/* Whether cand places every field of s that the debug offsets dbg (may
 * be NULL) give where they do. */
static bool agrees_with(const struct layout *cand, const struct layout *dbg, int s)
{
        for (int f = 0; f < LF__COUNT && dbg; f++)
                if ((int)layout_field_struct(f) == s && dbg->f[f].present &&
                    (!cand->f[f].present || cand->f[f].offset != dbg->f[f].offset))
                        return false;
        return true;
}

static bool heaptype_holds_all(struct memsrc *m, const struct pyinterp *pi,
                               const struct layout *cand, const uint64_t *types, size_t k)
{
        bool all = cand->s[LS_HEAPTYPE].present;

        for (size_t i = 0; i < k && all; i++)
                all = heaptype_holds(m, pi, cand, types[i]);
        return all;
}

/* The heap type struct of the neighbour whose fields hold on every live
 * class found (at least three), its size as PyType_Type's tp_basicsize;
 * failing that, the same fields shifted by up to four words (3.15 moved
 * them by one), where they agree with the debug offsets dbg (or NULL).
 * A heap type the neighbours' sizes alone settled is checked the same way
 * first. */
static void probe_heaptype(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                           const struct layout *nb, const struct layout_table *const *tabs,
                           size_t n, const struct layout *dbg)
{
        size_t nbp, k;
        const struct basicsize_pair *p = verify_basicsize_pairs(&nbp);
        uint64_t *types = t->census.heap, size = 0;
        int pick = -1, pick_shift = 0;
        struct layout *cand = malloc(sizeof(*cand));

        if (!cand)
                return;
        if (!t->census.taken)
                infer_census(m, pi, &t->l, &t->census);
        k = t->census.nheap;
        for (size_t i = 0; i < nbp && k >= 3; i++)
                if (p[i].sid == LS_HEAPTYPE &&
                    verify_type_basicsize(m, pi, &t->l, &p[i], &size) < 0)
                        k = 0;
        if (k < 3 || (t->l.s[LS_HEAPTYPE].present &&
                      heaptype_holds_all(m, pi, &t->l, types, k)))
                goto out;
        if (t->l.s[LS_HEAPTYPE].present) {
                /* a neighbour's size fits, its fields do not */
                drop_struct(&t->l, LS_HEAPTYPE);
                diag_list_add(t->gapped, sizeof(t->gapped), "HEAPTYPE");
                diag_list_add(t->inferred, sizeof(t->inferred), "HEAPTYPE: the fields of the "
                              "neighbour its size picked do not hold on live classes");
        }
        for (int shift = 0; shift <= 32 && pick < 0; shift += 8)
                for (int sign = 1; sign >= (shift ? -1 : 1); sign -= 2)
                        for (size_t c = 0; c < n; c++) {
                                *cand = t->l;
                                if (!shifted_heaptype(&nb[c], sign * shift, size, cand) ||
                                    !agrees_with(cand, dbg, LS_HEAPTYPE) ||
                                    !heaptype_holds_all(m, pi, cand, types, k))
                                        continue;
                                if (pick >= 0 && !struct_fields_equal(cand, &t->l, LS_HEAPTYPE)) {
                                        int more = more_fields(cand, &t->l, LS_HEAPTYPE);

                                        if (more > 0) {
                                                /* one fit has a field more, which
                                                 * holds too: the other's all agree */
                                                pick = (int)c;
                                                pick_shift = sign * shift;
                                                take_struct(&t->l, cand, LS_HEAPTYPE);
                                        } else if (more == 0) {
                                                /* two fit: no telling */
                                                drop_struct(&t->l, LS_HEAPTYPE);
                                                goto out;
                                        }
                                        continue;
                                }
                                if (pick < 0) {
                                        pick = (int)c;
                                        pick_shift = sign * shift;
                                        take_struct(&t->l, cand, LS_HEAPTYPE);
                                }
                        }
        if (pick < 0 || !size)
                goto out;
        t->l.s[LS_HEAPTYPE].size = (uint32_t)size;
        t->l.s[LS_HEAPTYPE].present = true;
        t->sprov[LS_HEAPTYPE] = LP_INFERRED;
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_HEAPTYPE && t->l.f[f].present)
                        t->fprov[f] = LP_INFERRED;
        ungap(t->gapped, "HEAPTYPE");
        diag_list_add(t->inferred, sizeof(t->inferred), "HEAPTYPE fields from %s%s%.0d (they "
            "hold a str, a str, a tuple and a module on %zu live classes), %llu bytes (PyType_Type's "
            "tp_basicsize)", tabs[pick]->source, pick_shift ? " moved by " : "", pick_shift, k,
            (unsigned long long)size);
out:
        free(cand);
}

/* --- without debug offsets: structs sized and checked on live objects ---- */

static bool is_a(struct memsrc *m, const struct layout *l, uint64_t obj, uint64_t type)
{
        uint64_t t;

        return type && obj >= 4096 && obj < (1ull << 47) && !(obj & 7) &&
               memsrc_read_u64(m, obj + lo(l, LF_OBJECT_TYPE), &t) == 0 && t == type;
}

static void take_checked(struct trial *t, const struct layout *nb, int s, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* s from nb, its size and fields marked as placed by a check on memory. */
static void take_checked(struct trial *t, const struct layout *nb, int s, const char *fmt, ...)
{
        char why[256];
        va_list ap;

        take_struct(&t->l, nb, s);
        t->sprov[s] = LP_INFERRED;
        for (int f = 0; f < LF__COUNT; f++)
                if ((int)layout_field_struct(f) == s && t->l.f[f].present)
                        t->fprov[f] = LP_INFERRED;
        ungap(t->gapped, layout_struct_name(s));
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        diag_list_add(t->inferred, sizeof(t->inferred), "%s from %s", layout_struct_name(s), why);
}

/* Structs that end in an interpreter frame: through 3.13 a one-word
 * placeholder (_f_frame_data[1], gi_iframe[1]), from 3.14 the whole frame.
 * A neighbour's struct fits when the type's tp_basicsize is where its frame
 * starts plus that frame's localsplus, as that neighbour has them. */
static const struct basicsize_pair framed_types[] = {
        { LS_FRAMEOBJ, PYSYM_FRAME_TYPE, false },
        { LS_GEN, PYSYM_GEN_TYPE, false },
        { LS_ASYNCGEN, PYSYM_ASYNCGEN_TYPE, false },
};

static void probe_framed(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                         const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        for (size_t i = 0; i < sizeof(framed_types) / sizeof(framed_types[0]); i++) {
                int s = framed_types[i].sid, pick = -1, fits = 0;
                uint64_t bs;

                if (t->l.s[s].present ||
                    verify_type_basicsize(m, pi, &t->l, &framed_types[i], &bs) < 0)
                        continue;
                for (size_t c = 0; c < n; c++) {
                        /* the placeholder or frame: what follows gi_iframe
                         * in this neighbour's generator */
                        uint32_t tail = lsz(&nb[c], LS_GEN) - lo(&nb[c], LF_GEN_IFRAME);

                        if (!nb[c].s[s].present)
                                continue;
                        if (!lhas(&nb[c], LF_GEN_IFRAME)) {
                                /* through 3.10 frames are objects of their
                                 * own: the struct is the whole basicsize */
                                if (lsz(&nb[c], s) == bs) {
                                        pick = (int)c;
                                        fits++;
                                }
                                continue;
                        }
                        if (!lhas(&nb[c], LF_IFRAME_LOCALSPLUS) || tail > lsz(&nb[c], LS_GEN))
                                continue;
                        if (s == LS_FRAMEOBJ)
                                tail = 8;
                        if (lsz(&nb[c], s) == bs - lo(&nb[c], LF_IFRAME_LOCALSPLUS) + tail) {
                                pick = (int)c;
                                fits++;
                        }
                }
                if (fits == 1)
                        take_checked(t, &nb[pick], s, "%s (%s's tp_basicsize %llu is %s)",
                                     tabs[pick]->source, pysym_name(framed_types[i].sym),
                                     (unsigned long long)bs, lhas(&nb[pick], LF_GEN_IFRAME) ?
                                     "where its frame starts plus the frame's localsplus" :
                                     "its size");
        }
}

/* An interpreter frame read with l: its code is a code object, its globals
 * and builtins dicts. */
static bool iframe_holds(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                         uint64_t fr)
{
        uint64_t code, g, b;

        return memsrc_read_u64(m, fr + lo(l, LF_IFRAME_CODE), &code) == 0 &&
               memsrc_read_u64(m, fr + lo(l, LF_IFRAME_GLOBALS), &g) == 0 &&
               memsrc_read_u64(m, fr + lo(l, LF_IFRAME_BUILTINS), &b) == 0 &&
               is_a(m, l, code, pi->sym[PYSYM_CODE_TYPE]) &&
               is_a(m, l, g, pi->sym[PYSYM_DICT_TYPE]) && is_a(m, l, b, pi->sym[PYSYM_DICT_TYPE]);
}

/* How many of the live frame objects and generators have frames that hold
 * with nb's interpreter frame (found through t's frame object and
 * generator structs). */
static int iframe_score(struct memsrc *m, const struct pyinterp *pi, const struct trial *t,
                        const struct layout *nb)
{
        struct layout l = t->l;
        int score = 0;

        take_struct(&l, nb, LS_IFRAME);
        for (size_t i = 0; i < t->census.nframe && lhas(&l, LF_FRAMEOBJ_FRAME); i++) {
                uint64_t fr;

                if (memsrc_read_u64(m, t->census.frame[i] + lo(&l, LF_FRAMEOBJ_FRAME), &fr) == 0 &&
                    fr && iframe_holds(m, pi, &l, fr))
                        score++;
        }
        for (size_t i = 0; i < t->census.ngen && lhas(&l, LF_GEN_IFRAME); i++)
                score += iframe_holds(m, pi, &l, t->census.gen[i] + lo(&l, LF_GEN_IFRAME));
        return score;
}

/* The interpreter frame (3.11+) of the neighbour whose frames hold on live
 * frame objects and generators, when the other's hold on none. */
static void probe_iframe(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                         const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        int score[2] = { 0, 0 }, pick = -1;

        if (t->l.s[LS_IFRAME].present)
                return;
        for (size_t c = 0; c < n; c++)
                if (nb[c].s[LS_IFRAME].present)
                        score[c] = iframe_score(m, pi, t, &nb[c]);
        for (size_t c = 0; c < n; c++)
                if (score[c] > 0 && (n == 1 || score[1 - c] == 0))
                        pick = (int)c;
        if (pick >= 0)
                take_checked(t, &nb[pick], LS_IFRAME, "%s (on %d live frames its code is a code "
                             "object and its globals and builtins dicts, on none with the other "
                             "neighbour's)", tabs[pick]->source, score[pick]);
}

/* A code object read with l: its count of local names is the length of its
 * tuple of them (co_nlocalsplus and co_localsplusnames 3.11+, co_nlocals
 * and co_varnames before). */
static bool code_holds(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                       uint64_t code)
{
        enum layout_field_id nf = LF_CODE_NLOCALSPLUS, tf = LF_CODE_LOCALSPLUSNAMES;
        uint64_t names, len;
        int32_t cnt;

        if (!lhas(l, nf) || !lhas(l, tf)) {
                nf = LF_CODE_NLOCALS;
                tf = LF_CODE_VARNAMES;
        }
        return lhas(l, nf) && lhas(l, tf) &&
               memsrc_read(m, code + lo(l, nf), &cnt, sizeof(cnt)) == 0 &&
               memsrc_read_u64(m, code + lo(l, tf), &names) == 0 &&
               is_a(m, l, names, pi->sym[PYSYM_TUPLE_TYPE]) &&
               memsrc_read_u64(m, names + lo(l, LF_VAROBJECT_SIZE), &len) == 0 &&
               cnt >= 0 && (uint64_t)cnt == len;
}

/* The code object of the neighbour whose counts hold on the code of every
 * live function sampled (and the other's not); co_code_adaptive (3.11+)
 * where PyCode_Type's tp_basicsize says, its one-unit array after it. */
static void probe_code(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                       const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        static const struct basicsize_pair code_type = { LS_CODE, PYSYM_CODE_TYPE, false };
        bool all[2] = { false, false };
        int pick = -1;
        uint64_t bs;

        if (t->l.s[LS_CODE].present || !lhas(&t->l, LF_FUNC_CODE) || t->census.nfunc < 2)
                return;
        for (size_t c = 0; c < n; c++) {
                struct layout l = t->l;

                take_struct(&l, &nb[c], LS_CODE);
                all[c] = nb[c].s[LS_CODE].present;
                for (size_t i = 0; i < t->census.nfunc && all[c]; i++) {
                        uint64_t code;

                        all[c] = memsrc_read_u64(m, t->census.func[i] + lo(&l, LF_FUNC_CODE),
                                                 &code) == 0 &&
                                 is_a(m, &l, code, pi->sym[PYSYM_CODE_TYPE]) &&
                                 code_holds(m, pi, &l, code);
                }
        }
        for (size_t c = 0; c < n; c++)
                if (all[c] && (n == 1 || !all[1 - c]))
                        pick = (int)c;
        if (pick < 0 || verify_type_basicsize(m, pi, &t->l, &code_type, &bs) < 0)
                return;
        take_checked(t, &nb[pick], LS_CODE, "%s (the count of local names is the length of "
                     "their tuple on %zu live functions' code, not with the other neighbour's)",
                     tabs[pick]->source, t->census.nfunc);
        if (lhas(&t->l, LF_CODE_CODE_ADAPTIVE) && bs != lo(&t->l, LF_CODE_CODE_ADAPTIVE) &&
            bs < 4096) {
                uint32_t tail = lsz(&t->l, LS_CODE) - lo(&t->l, LF_CODE_CODE_ADAPTIVE);

                t->l.f[LF_CODE_CODE_ADAPTIVE].offset = (uint32_t)bs;
                t->l.s[LS_CODE].size = (uint32_t)bs + tail;
                diag_list_add(t->inferred, sizeof(t->inferred), "CODE_CODE_ADAPTIVE at %llu "
                              "(PyCode_Type's tp_basicsize)", (unsigned long long)bs);
        }
}

/* Structs another begins with: PyUnicodeObject opens with
 * PyCompactUnicodeObject, which opens with PyASCIIObject.  A prefix the
 * neighbours differ on is the one of the neighbour whose whole struct the
 * target took (its size confirmed by tp_basicsize). */
static const struct {
        enum layout_struct_id prefix, whole;
} prefixes[] = {
        { LS_ASCII, LS_UNICODE },
        { LS_COMPACTUNI, LS_UNICODE },
};

static void probe_prefixes(struct trial *t, const struct layout *nb,
                           const struct layout_table *const *tabs, size_t n)
{
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                int s = prefixes[i].prefix, w = prefixes[i].whole, pick = -1, fits = 0;

                if (t->l.s[s].present || !t->l.s[w].present)
                        continue;
                for (size_t c = 0; c < n; c++)
                        if (nb[c].s[s].present && struct_fields_equal(&t->l, &nb[c], w)) {
                                pick = (int)c;
                                fits++;
                        }
                if (fits == 1)
                        take_checked(t, &nb[pick], s, "%s (it begins %s, which was taken from "
                                     "there: its size is the type's tp_basicsize)",
                                     tabs[pick]->source, layout_struct_name(w));
        }
}

/* The int struct of the neighbour that reads True as 1: one digit of
 * value 1, its count and sign in lv_tag (3.12+) or in ob_size before. */
static void probe_long(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                       const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        uint64_t tru = pi->sym[PYSYM_TRUE];
        int pick = -1, fits = 0;

        if (t->l.s[LS_LONG].present || !tru)
                return;
        for (size_t c = 0; c < n; c++) {
                const struct layout *l = &nb[c];
                uint64_t word;
                uint32_t digit;
                bool one;

                if (!l->s[LS_LONG].present || !lhas(l, LF_LONG_DIGIT) ||
                    memsrc_read(m, tru + lo(l, LF_LONG_DIGIT), &digit, sizeof(digit)) < 0)
                        continue;
                if (lhas(l, LF_LONG_TAG))
                        one = memsrc_read_u64(m, tru + lo(l, LF_LONG_TAG), &word) == 0 &&
                              (word & 3) == 0 && (word >> 3) == 1;
                else
                        one = lhas(l, LF_VAROBJECT_SIZE) &&
                              memsrc_read_u64(m, tru + lo(l, LF_VAROBJECT_SIZE), &word) == 0 &&
                              word == 1;
                if (one && digit == 1) {
                        pick = (int)c;
                        fits++;
                }
        }
        if (fits == 1)
                take_checked(t, &nb[pick], LS_LONG, "%s (True reads as one digit of 1 with it, "
                             "not with the other neighbour's)", tabs[pick]->source);
}

/* Whether the str at s is the compact ASCII text want (read with l). */
static bool str_is(struct memsrc *m, const struct layout *l, uint64_t s, const char *want)
{
        char buf[16];
        uint64_t len;
        uint32_t state;
        size_t n = strlen(want);

        /* state: bit 5 compact, bit 6 ascii (every version 3.8+) */
        return n < sizeof(buf) && lhas(l, LF_ASCII_LENGTH) && lhas(l, LF_ASCII_STATE) &&
               lsz(l, LS_ASCII) && memsrc_read_u64(m, s + lo(l, LF_ASCII_LENGTH), &len) == 0 &&
               len == n && memsrc_read(m, s + lo(l, LF_ASCII_STATE), &state, 4) == 0 &&
               (state & 0x60) == 0x60 && memsrc_read(m, s + lsz(l, LS_ASCII), buf, n + 1) == 0 &&
               !memcmp(buf, want, n + 1);
}

/* Without debug offsets: the interpreter's sys and builtins dicts are the
 * words of the interpreter that hold the md_dict of the live module named
 * sys (builtins), when exactly one word does. */
static void probe_interp_dicts(struct memsrc *m, const struct pyinterp *pi, struct trial *t)
{
        static const struct {
                enum layout_field_id f;
                const char *name;
        } want[] = { { LF_INTERP_SYSDICT, "sys" }, { LF_INTERP_BUILTINS, "builtins" } };
        const struct layout *l = &t->l;
        uint64_t interp;
        uint8_t *block;
        uint32_t size = 8192;

        if (!lhas(l, LF_RUNTIME_INTERP_HEAD) || !lhas(l, LF_MODULE_NAME) ||
            !lhas(l, LF_MODULE_DICT) ||
            memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            !(block = malloc(size)))
                return;
        if (memsrc_read(m, interp, block, size) < 0) {
                free(block);
                return;
        }
        for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
                uint64_t dict = 0, name, v;
                uint32_t off = 0;
                int hits = 0;

                for (size_t i = 0; i < t->census.nmod && !dict; i++)
                        if (memsrc_read_u64(m, t->census.mod[i] + lo(l, LF_MODULE_NAME), &name) == 0 &&
                            str_is(m, l, name, want[w].name) &&
                            memsrc_read_u64(m, t->census.mod[i] + lo(l, LF_MODULE_DICT), &v) == 0)
                                dict = v;
                for (uint32_t o = 0; dict && o + 8 <= size; o += 8) {
                        memcpy(&v, block + o, 8);
                        if (v == dict) {
                                off = o;
                                hits++;
                        }
                }
                if (hits != 1)
                        continue;
                t->l.f[want[w].f] = (struct layout_field_info){ .offset = off, .size = 8,
                        .elem_size = 8, .present = true };
                t->fprov[want[w].f] = LP_INFERRED;
                diag_list_add(t->inferred, sizeof(t->inferred), "%s interp+%u (the one word of "
                              "the interpreter that holds the %s module's md_dict)",
                              layout_field_name(want[w].f), off, want[w].name);
        }
        free(block);
}

/* Where a thread state keeps its current frame, tried on every thread of
 * the interpreter (at most THREAD_PROBE): fr_at(c) is the frame candidate c
 * gives the thread ts, or -EFAULT; ok when at least one thread has a frame
 * and every frame found holds. */
#define THREAD_PROBE 64

struct frame_cand {
        uint32_t tsoff, cfoff;        /* cfoff UINT32_MAX: tsoff holds the frame */
};

static int frame_of(struct memsrc *m, uint64_t ts, const struct frame_cand *c, uint64_t *fr)
{
        uint64_t cf;

        if (c->cfoff == UINT32_MAX)
                return memsrc_read_u64(m, ts + c->tsoff, fr);
        if (memsrc_read_u64(m, ts + c->tsoff, &cf) < 0)
                return -EFAULT;
        *fr = 0;
        return cf ? memsrc_read_u64(m, cf + c->cfoff, fr) : 0;
}

static bool frames_hold(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                        uint64_t interp, const struct frame_cand *c)
{
        uint64_t ts, fr;
        int seen = 0;

        if (memsrc_read_u64(m, interp + lo(l, LF_INTERP_THREADS_HEAD), &ts) < 0)
                return false;
        for (int i = 0; ts && i < THREAD_PROBE; i++) {
                if (frame_of(m, ts, c, &fr) < 0)
                        return false;
                if (fr) {
                        /* <=3.10 a frame object, 3.11+ an interpreter frame */
                        if (c->cfoff == UINT32_MAX ? !is_a(m, l, fr, pi->sym[PYSYM_FRAME_TYPE])
                                                   : !iframe_holds(m, pi, l, fr))
                                return false;
                        seen++;
                }
                if (memsrc_read_u64(m, ts + lo(l, LF_TSTATE_NEXT), &ts) < 0)
                        return false;
        }
        return seen > 0;
}

/* Without debug offsets: the thread state's frame (<=3.10) or its cframe
 * and the cframe's current frame (3.11-3.12), from the neighbours' offsets
 * (and the first two words of the cframe), kept when exactly one candidate
 * gives every thread's frame a frame that holds. */
static void probe_thread_frames(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                                const struct layout *nb, size_t n)
{
        struct frame_cand cand[16], pick = { 0, 0 };
        const struct layout *l = &t->l;
        size_t k = 0, fits = 0;
        uint64_t interp;

        if (!lhas(l, LF_RUNTIME_INTERP_HEAD) || !lhas(l, LF_INTERP_THREADS_HEAD) ||
            memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0)
                return;
        for (size_t c = 0; c < n; c++) {
                if (lhas(&nb[c], LF_TSTATE_FRAME) && !lhas(l, LF_IFRAME_CODE))
                        cand[k++] = (struct frame_cand){ lo(&nb[c], LF_TSTATE_FRAME), UINT32_MAX };
                if (!lhas(&nb[c], LF_TSTATE_CFRAME) || !lhas(l, LF_IFRAME_CODE))
                        continue;
                for (size_t d = 0; d < n; d++)
                        if (lhas(&nb[d], LF_CFRAME_CURRENT_FRAME))
                                cand[k++] = (struct frame_cand){ lo(&nb[c], LF_TSTATE_CFRAME),
                                                                 lo(&nb[d], LF_CFRAME_CURRENT_FRAME) };
                cand[k++] = (struct frame_cand){ lo(&nb[c], LF_TSTATE_CFRAME), 0 };
                cand[k++] = (struct frame_cand){ lo(&nb[c], LF_TSTATE_CFRAME), 8 };
        }
        for (size_t i = 0; i < k; i++) {
                bool dup = false;

                for (size_t j = 0; j < i && !dup; j++)
                        dup = cand[j].tsoff == cand[i].tsoff && cand[j].cfoff == cand[i].cfoff;
                if (!dup && frames_hold(m, pi, l, interp, &cand[i])) {
                        pick = cand[i];
                        fits++;
                }
        }
        if (fits != 1)
                return;
        if (pick.cfoff == UINT32_MAX) {
                t->l.f[LF_TSTATE_FRAME] = (struct layout_field_info){ .offset = pick.tsoff,
                        .size = 8, .elem_size = 8, .present = true };
                t->fprov[LF_TSTATE_FRAME] = LP_INFERRED;
                diag_list_add(t->inferred, sizeof(t->inferred), "TSTATE_FRAME tstate+%u (a "
                              "neighbour's offset, the only one where every thread's frame is "
                              "a frame object)", pick.tsoff);
                return;
        }
        t->l.f[LF_TSTATE_CFRAME] = (struct layout_field_info){ .offset = pick.tsoff, .size = 8,
                .elem_size = 8, .present = true };
        t->l.f[LF_CFRAME_CURRENT_FRAME] = (struct layout_field_info){ .offset = pick.cfoff,
                .size = 8, .elem_size = 8, .present = true };
        t->l.s[LS_CFRAME] = (struct layout_struct_info){ .size = 0, .present = true };
        t->fprov[LF_TSTATE_CFRAME] = t->fprov[LF_CFRAME_CURRENT_FRAME] = LP_INFERRED;
        t->sprov[LS_CFRAME] = LP_INFERRED;
        ungap(t->gapped, "CFRAME");
        diag_list_add(t->inferred, sizeof(t->inferred), "TSTATE_CFRAME tstate+%u, "
                      "CFRAME_CURRENT_FRAME cframe+%u (the only pair, of the neighbours' offsets "
                      "and the cframe's first two words, where every thread's current frame "
                      "has a code object and globals and builtins dicts)", pick.tsoff, pick.cfoff);
}

/* PyTypeObject's size, when its fields were settled but not its size:
 * where the heap type's name lies less the method suites between, which
 * the neighbours agree on. */
static void probe_type_size(struct trial *t, const struct layout *nb, size_t n)
{
        uint32_t between = 0;

        if (!t->l.s[LS_TYPE].present || lsz(&t->l, LS_TYPE))
                return;
        for (size_t c = 0; c < n; c++) {
                uint32_t b = lo(&nb[c], LF_HEAPTYPE_NAME) - lsz(&nb[c], LS_TYPE);

                if (!lhas(&nb[c], LF_HEAPTYPE_NAME) || (c && b != between))
                        goto gap;
                between = b;
        }
        if (!lhas(&t->l, LF_HEAPTYPE_NAME) || lo(&t->l, LF_HEAPTYPE_NAME) <= between)
                goto gap;
        t->l.s[LS_TYPE].size = lo(&t->l, LF_HEAPTYPE_NAME) - between;
        t->sprov[LS_TYPE] = LP_INFERRED;
        diag_list_add(t->inferred, sizeof(t->inferred), "TYPE %u bytes (HEAPTYPE_NAME less the "
                      "%u bytes of method suites before it in both neighbours)",
                      lsz(&t->l, LS_TYPE), between);
        return;
gap:
        /* the fields are settled; reading a static type reads no further
         * than the smaller size, which holds them all.  Only
         * sys.getsizeof of a static type depends on it (not verified) */
        between = lsz(&nb[0], LS_TYPE);
        for (size_t c = 1; c < n; c++)
                if (lsz(&nb[c], LS_TYPE) < between)
                        between = lsz(&nb[c], LS_TYPE);
        t->l.s[LS_TYPE].size = between;
        diag_list_add(t->inferred, sizeof(t->inferred), "TYPE %u bytes, not verified (the "
                      "smaller of the neighbours' sizes, within which lie the fields they agree "
                      "on, so the static types' sys.getsizeof may be off)", between);
}

static bool gapped(const struct trial *t, int s);

/* Every field of s placed by a check on memory (those the debug offsets
 * gave keep their provider). */
static void mark_probed(struct trial *t, int s, const char *why)
{
        t->sprov[s] = LP_INFERRED;
        for (int f = 0; f < LF__COUNT; f++)
                if ((int)layout_field_struct(f) == s && t->l.f[f].present &&
                    t->fprov[f] != LP_DEBUG_OFFSETS)
                        t->fprov[f] = LP_INFERRED;
        ungap(t->gapped, layout_struct_name(s));
        if (why[0])
                diag_list_add(t->inferred, sizeof(t->inferred), "%s", why);
}

/* PyTypeObject when the neighbours' does not fit the size the debug
 * offsets give (3.15 grew it by a word): their fields, as they are or
 * moved past an inserted word, each checked on static types (probe.h). */
static void probe_type_fields(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                              const struct layout *nb, size_t n, const struct layout *dbg)
{
        char why[512];
        int fits = 0, pick = -1;
        struct layout *out = malloc(sizeof(*out));

        if (!out)
                return;
        if (!dbg || !dbg->s[LS_TYPE].present || !gapped(t, LS_TYPE))
                goto done;
        if (!t->census.taken)
                infer_census(m, pi, &t->l, &t->census);
        for (size_t c = 0; c < n; c++) {
                *out = t->l;
                if (probe_type(m, pi, &t->l, &nb[c], lsz(dbg, LS_TYPE), t->census.heap,
                               t->census.nheap, out, why, sizeof(why)) == 0) {
                        pick = (int)c;
                        fits++;
                } else {
                        diag_list_add(t->gapped_why, sizeof(t->gapped_why), "%s", why);
                }
        }
        if (fits != 1)
                goto done;
        *out = t->l;
        (void)probe_type(m, pi, &t->l, &nb[pick], lsz(dbg, LS_TYPE), t->census.heap,
                         t->census.nheap, out, why, sizeof(why));
        take_struct(&t->l, out, LS_TYPE);
        mark_probed(t, LS_TYPE, why);
done:
        free(out);
}

/* PyModuleObject when no neighbour's fits (3.15 dropped md_def and copies
 * the def's state size and traverse into the module): each field found on
 * the live modules (probe.h), the size the module type's tp_basicsize. */
static void probe_module_fields(struct memsrc *m, const struct pyinterp *pi, struct trial *t)
{
        static const struct basicsize_pair module_type = { LS_MODULE, PYSYM_MODULE_TYPE, false };
        char why[768] = "";
        uint64_t size;

        if (t->l.s[LS_MODULE].present && !gapped(t, LS_MODULE))
                return;
        if (verify_type_basicsize(m, pi, &t->l, &module_type, &size) < 0 || size > 4096)
                return;
        if (!t->census.taken)
                infer_census(m, pi, &t->l, &t->census);
        if (probe_module(m, pi, &t->l, t->census.mod, t->census.nmod, (uint32_t)size, &t->l,
                         why, sizeof(why)) == 0)
                mark_probed(t, LS_MODULE, why);
        else
                diag_list_add(t->gapped_why, sizeof(t->gapped_why), "MODULE: %s", why[0] ? why :
                              "no one word of the live modules fits each field");
}

/* The private structs of instance_checked the neighbours do not agree on:
 * the neighbour's whose fields read what they must on the live instances
 * the census found of the type named so (probe.h), sized by that type's
 * tp_basicsize.  Without instances, or with no telling, the gap stays. */
static void probe_instance_structs(struct memsrc *m, const struct pyinterp *pi,
                                   struct trial *t, const struct layout *nb,
                                   const struct layout_table *const *tabs, size_t n)
{
        for (size_t i = 0; i < sizeof(instance_checked) / sizeof(instance_checked[0]); i++) {
                int s = instance_checked[i].sid, pick;
                const char *names[3] = { instance_checked[i].names[0],
                                         instance_checked[i].names[1], NULL };
                const uint64_t *objs = NULL;
                uint64_t type, bs = 0;
                size_t nobj;
                char why[384];

                if (!gapped(t, s) || !lhas(&t->l, LF_TYPE_BASICSIZE))
                        continue;
                if (!t->census.taken)
                        infer_census(m, pi, &t->l, &t->census);
                if (infer_type_named(m, &t->l, &t->census, names, &type) < 0 ||
                    !(nobj = infer_census_instances(&t->census, type, &objs)))
                        continue;   /* none alive: nothing is opaque for it */
                if (memsrc_read_u64(m, type + lo(&t->l, LF_TYPE_BASICSIZE), &bs) < 0 ||
                    bs > 4096 || probe_instances(m, pi, &t->l, nb, n, s, type, objs, nobj,
                                                 (uint32_t)bs, &pick, why, sizeof(why)) < 0) {
                        if (bs > 4096)
                                snprintf(why, sizeof(why), "%s: its type's tp_basicsize %llu",
                                         layout_struct_name(s), (unsigned long long)bs);
                        diag_list_add(t->gapped_why, sizeof(t->gapped_why), "%s", why);
                        continue;
                }
                take_checked(t, &nb[pick], s, "%s: %s", tabs[pick]->source, why);
                t->l.s[s].size = (uint32_t)bs;
        }
}

/* PyDictKeysObject when the neighbours differ on it (3.10 keeps 3.9's,
 * 3.11 rebuilt it) and nothing sizes it: the neighbour's with which the
 * live modules' dicts read (probe.h). */
static void probe_dictkeys_struct(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                                  const struct layout *nb, const struct layout_table *const *tabs,
                                  size_t n)
{
        char why[256];
        int pick;

        if (!gapped(t, LS_DICTKEYS))
                return;
        if (probe_dictkeys(m, pi, &t->l, nb, n, t->census.mod, t->census.nmod, &pick, why,
                           sizeof(why)) < 0) {
                diag_list_add(t->gapped_why, sizeof(t->gapped_why), "%s", why);
                return;
        }
        take_checked(t, &nb[pick], LS_DICTKEYS, "%s (%s)", tabs[pick]->source, why);
}

/* A function read with l: its code a code object, its globals a dict, its
 * name and qualname str. */
static bool func_holds(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                       uint64_t fn)
{
        static const struct {
                enum layout_field_id f;
                enum pysym_id type;
        } want[] = {
                { LF_FUNC_CODE, PYSYM_CODE_TYPE }, { LF_FUNC_GLOBALS, PYSYM_DICT_TYPE },
                { LF_FUNC_NAME, PYSYM_UNICODE_TYPE }, { LF_FUNC_QUALNAME, PYSYM_UNICODE_TYPE },
        };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                uint64_t v;

                if (!lhas(l, want[i].f) || memsrc_read_u64(m, fn + lo(l, want[i].f), &v) < 0 ||
                    !is_a(m, l, v, pi->sym[want[i].type]))
                        return false;
        }
        return true;
}

/* The function struct when no neighbour's has the target's size (3.11
 * appended func_version to 3.10's fields, 3.9's differ): the one
 * neighbour's whose fields all lie within PyFunction_Type's tp_basicsize
 * and hold on every live function sampled, with that size. */
static void probe_func(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                       const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        static const struct basicsize_pair func_type = { LS_FUNC, PYSYM_FUNCTION_TYPE, false };
        int pick = -1, fits = 0;
        uint64_t bs;

        if (!gapped(t, LS_FUNC) || t->census.nfunc < 2 ||
            verify_type_basicsize(m, pi, &t->l, &func_type, &bs) < 0 || bs > 4096)
                return;
        for (size_t c = 0; c < n; c++) {
                struct layout l = t->l;
                bool all = nb[c].s[LS_FUNC].present;

                take_struct(&l, &nb[c], LS_FUNC);
                for (int f = 0; f < LF__COUNT && all; f++)
                        all = layout_field_struct(f) != LS_FUNC || !l.f[f].present ||
                              l.f[f].offset + l.f[f].size <= bs;
                for (size_t i = 0; i < t->census.nfunc && all; i++)
                        all = func_holds(m, pi, &l, t->census.func[i]);
                if (all) {
                        pick = (int)c;
                        fits++;
                }
        }
        if (fits != 1)
                return;
        take_checked(t, &nb[pick], LS_FUNC, "%s's fields, %llu bytes (PyFunction_Type's "
                     "tp_basicsize: on %zu live functions the code is a code object, the globals "
                     "a dict, the name and qualname str, not with the other neighbour's)",
                     tabs[pick]->source, (unsigned long long)bs, t->census.nfunc);
        t->l.s[LS_FUNC].size = (uint32_t)bs;
}

/* --- <=3.10 frames and generators: a neighbour's with a word removed ---- */

/* nb's struct s for a build whose type is delta bytes smaller or larger:
 * with delta < 0 the word at pivot is gone (a field there with it) and the
 * fields after move up; with delta > 0 a word is inserted at pivot. */
static void moved_struct(const struct layout *nb, int s, uint32_t pivot, int delta,
                         uint32_t size, struct layout *out)
{
        take_struct(out, nb, s);
        for (int f = 0; f < LF__COUNT; f++) {
                struct layout_field_info *x = &out->f[f];

                if ((int)layout_field_struct(f) != s || !x->present)
                        continue;
                if (delta < 0 && x->offset >= pivot && x->offset < pivot - delta)
                        x->present = false;
                else if (x->offset >= pivot)
                        x->offset = (uint32_t)((int64_t)x->offset + delta);
                if (x->present && x->offset + (x->size ? x->size : 8) > size)
                        x->present = false;
        }
        out->s[s].size = size;
}

static bool null_or_obj(struct memsrc *m, const struct layout *l, uint64_t v)
{
        uint64_t t;

        return !v || (v >= 4096 && v < (1ull << 47) && !(v & 7) &&
                      memsrc_read_u64(m, v + lo(l, LF_OBJECT_TYPE), &t) == 0 && t >= 4096 &&
                      t < (1ull << 47) && !(t & 7));
}

/* A generator or coroutine read with l: its frame NULL or a frame object,
 * its code a code object, its name and qualname str, its exception state
 * NULL or objects. */
static bool gen_holds(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                      uint64_t g)
{
        static const enum layout_field_id exc[] = {
                LF_ERRITEM_TYPE, LF_ERRITEM_VALUE, LF_ERRITEM_TRACEBACK,
        };
        uint64_t fr, code, name, qual, v;

        if (!lhas(l, LF_GEN_FRAME) || !lhas(l, LF_GEN_CODE) || !lhas(l, LF_GEN_NAME) ||
            !lhas(l, LF_GEN_QUALNAME) || memsrc_read_u64(m, g + lo(l, LF_GEN_FRAME), &fr) < 0 ||
            memsrc_read_u64(m, g + lo(l, LF_GEN_CODE), &code) < 0 ||
            memsrc_read_u64(m, g + lo(l, LF_GEN_NAME), &name) < 0 ||
            memsrc_read_u64(m, g + lo(l, LF_GEN_QUALNAME), &qual) < 0 ||
            (fr && !is_a(m, l, fr, pi->sym[PYSYM_FRAME_TYPE])) ||
            !is_a(m, l, code, pi->sym[PYSYM_CODE_TYPE]) ||
            !is_a(m, l, name, pi->sym[PYSYM_UNICODE_TYPE]) ||
            !is_a(m, l, qual, pi->sym[PYSYM_UNICODE_TYPE]))
                return false;
        for (size_t i = 0; i < sizeof(exc) / sizeof(exc[0]) && lhas(l, LF_GEN_EXC_STATE); i++)
                if (lhas(l, exc[i]) && (memsrc_read_u64(m, g + lo(l, LF_GEN_EXC_STATE) +
                                                           lo(l, exc[i]), &v) < 0 ||
                                        !null_or_obj(m, l, v)))
                        return false;
        return true;
}

/* Generators of a build whose frames are objects of their own (<=3.10),
 * when no neighbour's generator has PyGen_Type's tp_basicsize: the one
 * neighbour's with a word removed or inserted somewhere (3.10 dropped
 * 3.9's gi_running) whose fields hold on every live generator and
 * coroutine sampled; the exception state struct of that neighbour when it
 * ends the generator there; the async generator moved alike when its
 * type's tp_basicsize agrees. */
static void probe_gen(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                      const struct layout *nb, const struct layout_table *const *tabs, size_t n)
{
        struct layout *cand = malloc(2 * sizeof(*cand));
        uint64_t bs, abs_;
        int pick = -1, fits = 0, delta = 0;
        uint32_t pivot = 0;

        if (!cand)
                return;
        if (!gapped(t, LS_GEN) || lhas(&t->l, LF_IFRAME_CODE) || t->census.ngen < 2 ||
            verify_type_basicsize(m, pi, &t->l, &framed_types[1], &bs) < 0)
                goto out;
        for (size_t c = 0; c < n; c++) {
                int64_t d = (int64_t)bs - lsz(&nb[c], LS_GEN);

                if (!nb[c].s[LS_GEN].present || lhas(&nb[c], LF_GEN_IFRAME) || d < -16 ||
                    d > 16 || (d & 7) || !d)
                        continue;
                for (uint32_t pv = 16; pv < lsz(&nb[c], LS_GEN); pv += 8) {
                        bool all = true;

                        cand[0] = t->l;
                        moved_struct(&nb[c], LS_GEN, pv, (int)d, (uint32_t)bs, &cand[0]);
                        if (!t->l.s[LS_ERRITEM].present)
                                take_struct(&cand[0], &nb[c], LS_ERRITEM);
                        for (size_t i = 0; i < t->census.ngen && all; i++)
                                all = gen_holds(m, pi, &cand[0], t->census.gen[i]);
                        if (!all || (fits && struct_fields_equal(&cand[0], &cand[1], LS_GEN)))
                                continue;
                        cand[1] = cand[0];
                        pick = (int)c;
                        pivot = pv;
                        delta = (int)d;
                        fits++;
                }
        }
        if (fits != 1) {
                diag_list_add(t->gapped_why, sizeof(t->gapped_why), "GEN: %d placements of a "
                              "neighbour's hold on %zu generators", fits, t->census.ngen);
                goto out;
        }
        take_struct(&t->l, &cand[1], LS_GEN);
        mark_probed(t, LS_GEN, "");
        diag_list_add(t->inferred, sizeof(t->inferred), "GEN from %s, a word %s at +%u, %llu "
                      "bytes (PyGen_Type's tp_basicsize: on %zu live generators and coroutines "
                      "the frame is NULL or a frame, the code a code object, the name and "
                      "qualname str, under every other placement not)", tabs[pick]->source,
                      delta < 0 ? "removed" : "inserted", pivot, (unsigned long long)bs,
                      t->census.ngen);
        if (gapped(t, LS_ERRITEM) && lhas(&t->l, LF_GEN_EXC_STATE) &&
            lo(&t->l, LF_GEN_EXC_STATE) + lsz(&nb[pick], LS_ERRITEM) == bs)
                take_checked(t, &nb[pick], LS_ERRITEM, "%s (gi_exc_state, of its size, ends "
                             "the generator: PyGen_Type's tp_basicsize)", tabs[pick]->source);
        if (gapped(t, LS_ASYNCGEN) && nb[pick].s[LS_ASYNCGEN].present &&
            verify_type_basicsize(m, pi, &t->l, &framed_types[2], &abs_) == 0 &&
            (int64_t)lsz(&nb[pick], LS_ASYNCGEN) + delta == (int64_t)abs_) {
                cand[0] = t->l;
                moved_struct(&nb[pick], LS_ASYNCGEN, pivot, delta, (uint32_t)abs_, &cand[0]);
                take_checked(t, &cand[0], LS_ASYNCGEN, "%s moved as its generator part "
                             "(PyAsyncGen_Type's tp_basicsize %llu agrees)", tabs[pick]->source,
                             (unsigned long long)abs_);
        }
out:
        free(cand);
}

/* The slots before a <=3.10 frame's value stack: locals, cells, frees. */
static bool frame_slots(struct memsrc *m, const struct layout *l, uint64_t code, uint64_t *ret)
{
        uint64_t cells, frees, nc, nf;
        int32_t nl;

        if (!lhas(l, LF_CODE_NLOCALS) || !lhas(l, LF_CODE_CELLVARS) || !lhas(l, LF_CODE_FREEVARS) ||
            memsrc_read(m, code + lo(l, LF_CODE_NLOCALS), &nl, 4) < 0 || nl < 0 ||
            memsrc_read_u64(m, code + lo(l, LF_CODE_CELLVARS), &cells) < 0 ||
            memsrc_read_u64(m, code + lo(l, LF_CODE_FREEVARS), &frees) < 0 || !cells || !frees ||
            memsrc_read_u64(m, cells + lo(l, LF_VAROBJECT_SIZE), &nc) < 0 ||
            memsrc_read_u64(m, frees + lo(l, LF_VAROBJECT_SIZE), &nf) < 0 || nc > 65536 ||
            nf > 65536)
                return false;
        *ret = (uint64_t)nl + nc + nf;
        return true;
}

/* A frame object (<=3.10) read with l: its code a code object, its back
 * NULL or a frame, its globals and builtins dicts, its value stack right
 * after its locals, cells and frees; its stack top (3.9) within the stack,
 * and set in a suspended generator's frame. */
static bool frame_holds(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                        uint64_t f, bool suspended)
{
        uint64_t code, back, g, b, vs, slots, v;
        int32_t depth;

        if (!lhas(l, LF_FRAMEOBJ_CODE) || !lhas(l, LF_FRAMEOBJ_BACK) ||
            !lhas(l, LF_FRAMEOBJ_GLOBALS) || !lhas(l, LF_FRAMEOBJ_BUILTINS) ||
            !lhas(l, LF_FRAMEOBJ_VALUESTACK) || !lhas(l, LF_FRAMEOBJ_LOCALSPLUS) ||
            !lhas(l, LF_CODE_STACKSIZE) ||
            memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_CODE), &code) < 0 ||
            memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_BACK), &back) < 0 ||
            memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_GLOBALS), &g) < 0 ||
            memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_BUILTINS), &b) < 0 ||
            memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_VALUESTACK), &vs) < 0 ||
            !is_a(m, l, code, pi->sym[PYSYM_CODE_TYPE]) ||
            (back && !is_a(m, l, back, pi->sym[PYSYM_FRAME_TYPE])) ||
            !is_a(m, l, g, pi->sym[PYSYM_DICT_TYPE]) || !is_a(m, l, b, pi->sym[PYSYM_DICT_TYPE]) ||
            !frame_slots(m, l, code, &slots) ||
            vs != f + lo(l, LF_FRAMEOBJ_LOCALSPLUS) + 8 * slots ||
            memsrc_read(m, code + lo(l, LF_CODE_STACKSIZE), &depth, 4) < 0 || depth < 0)
                return false;
        for (int i = 0; i < 2; i++) {
                enum layout_field_id x = i ? LF_FRAMEOBJ_TRACE : LF_FRAMEOBJ_LOCALS;

                if (lhas(l, x) && (memsrc_read_u64(m, f + lo(l, x), &v) < 0 ||
                                   !null_or_obj(m, l, v)))
                        return false;
        }
        if (!lhas(l, LF_FRAMEOBJ_STACKTOP))
                return true;
        if (memsrc_read_u64(m, f + lo(l, LF_FRAMEOBJ_STACKTOP), &v) < 0)
                return false;
        return suspended ? v >= vs && v <= vs + 8 * (uint64_t)depth
                         : !v || (v >= vs && v <= vs + 8 * (uint64_t)depth);
}


static void sample_add(struct frame_sample *fs, uint64_t f, bool suspended, bool running)
{
        for (size_t i = 0; i < fs->n; i++)
                if (fs->f[i] == f) {
                        fs->running[i] |= running;
                        fs->suspended[i] |= suspended;
                        return;
                }
        if (fs->n >= FRAME_SAMPLE)
                return;
        fs->f[fs->n] = f;
        fs->suspended[fs->n] = suspended;
        fs->running[fs->n++] = running;
}

/* The frames the threads are running: each thread's current frame and
 * its callers through f_back at back (every version with frame objects of
 * their own has it right after the header), each a frame object. */
static void sample_threads(struct memsrc *m, const struct pyinterp *pi, const struct layout *l,
                           uint32_t back, struct frame_sample *fs)
{
        uint64_t interp, ts, fr;

        if (!lhas(l, LF_RUNTIME_INTERP_HEAD) || !lhas(l, LF_INTERP_THREADS_HEAD) ||
            !lhas(l, LF_TSTATE_FRAME) || !lhas(l, LF_TSTATE_NEXT) ||
            memsrc_read_u64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            memsrc_read_u64(m, interp + lo(l, LF_INTERP_THREADS_HEAD), &ts) < 0)
                return;
        for (int i = 0; ts && i < THREAD_PROBE; i++) {
                if (memsrc_read_u64(m, ts + lo(l, LF_TSTATE_FRAME), &fr) < 0)
                        return;
                for (int d = 0; d < 64 && is_a(m, l, fr, pi->sym[PYSYM_FRAME_TYPE]); d++) {
                        sample_add(fs, fr, false, true);
                        if (memsrc_read_u64(m, fr + back, &fr) < 0)
                                break;
                }
                if (memsrc_read_u64(m, ts + lo(l, LF_TSTATE_NEXT), &ts) < 0)
                        return;
        }
}

static void frame_sample(struct memsrc *m, const struct pyinterp *pi, const struct trial *t,
                         uint32_t back, struct frame_sample *fs)
{
        fs->n = 0;
        sample_threads(m, pi, &t->l, back, fs);
        for (size_t i = 0; i < t->census.nframe; i++)
                sample_add(fs, t->census.frame[i], false, false);
        for (size_t i = 0; i < t->census.ngen && lhas(&t->l, LF_GEN_FRAME); i++) {
                uint64_t fr;

                if (memsrc_read_u64(m, t->census.gen[i] + lo(&t->l, LF_GEN_FRAME), &fr) == 0 &&
                    is_a(m, &t->l, fr, pi->sym[PYSYM_FRAME_TYPE]))
                        sample_add(fs, fr, true, false);
        }
}

/* The frame object of a build whose frames are objects of their own
 * (<=3.10) when no neighbour's has PyFrame_Type's tp_basicsize: the one
 * neighbour's with a word removed or inserted somewhere whose fields hold
 * on every sampled frame (the live frame objects and the frames of live
 * generators), f_lasti and f_lineno left out (no check reads them); if
 * that drops the stack top, the stack depth int found beside (3.10). */
static void probe_frameobj(struct memsrc *m, const struct pyinterp *pi, struct trial *t,
                           const struct layout *nb, const struct layout_table *const *tabs,
                           size_t n)
{
        struct layout *cand = malloc(2 * sizeof(*cand));
        struct frame_sample *fs = malloc(sizeof(*fs));
        int pick = -1, fits = 0, depth = -1;
        uint32_t pivot = 0, back = 0;
        uint64_t bs;

        if (!cand || !fs)
                goto out;
        if (!gapped(t, LS_FRAMEOBJ) || lhas(&t->l, LF_IFRAME_CODE) ||
            verify_type_basicsize(m, pi, &t->l, &framed_types[0], &bs) < 0)
                goto out;
        for (size_t c = 0; c < n && !back; c++)
                if (lhas(&nb[c], LF_FRAMEOBJ_LOCALSPLUS) && lhas(&nb[c], LF_FRAMEOBJ_BACK))
                        back = lo(&nb[c], LF_FRAMEOBJ_BACK);
        frame_sample(m, pi, t, back, fs);
        if (fs->n < 2) {
                diag_list_add(t->gapped_why, sizeof(t->gapped_why), "FRAMEOBJ: %zu frames "
                              "sampled, too few to tell", fs->n);
                goto out;
        }
        for (size_t c = 0; c < n; c++) {
                int64_t d = (int64_t)bs - lsz(&nb[c], LS_FRAMEOBJ);

                if (!lhas(&nb[c], LF_FRAMEOBJ_LOCALSPLUS) || d < -16 || d > 16 || (d & 7) || !d)
                        continue;
                for (uint32_t pv = 16; pv < lsz(&nb[c], LS_FRAMEOBJ); pv += 8) {
                        bool all = true;

                        cand[0] = t->l;
                        moved_struct(&nb[c], LS_FRAMEOBJ, pv, (int)d, (uint32_t)bs, &cand[0]);
                        cand[0].f[LF_FRAMEOBJ_LASTI].present = false;
                        cand[0].f[LF_FRAMEOBJ_LINENO].present = false;
                        bool top_seen = false;

                        for (size_t i = 0; i < fs->n && all; i++) {
                                uint64_t top = 0;

                                all = frame_holds(m, pi, &cand[0], fs->f[i], fs->suspended[i]);
                                if (all && lhas(&cand[0], LF_FRAMEOBJ_STACKTOP) &&
                                    memsrc_read_u64(m, fs->f[i] + lo(&cand[0],
                                                    LF_FRAMEOBJ_STACKTOP), &top) == 0 && top)
                                        top_seen = true;
                        }
                        /* a stack top NULL on every frame (running ones
                         * keep it so) was never read as one */
                        if (lhas(&cand[0], LF_FRAMEOBJ_STACKTOP) && !top_seen)
                                all = false;
                        if (!all || (fits && struct_fields_equal(&cand[0], &cand[1], LS_FRAMEOBJ)))
                                continue;
                        cand[1] = cand[0];
                        pick = (int)c;
                        pivot = pv;
                        fits++;
                }
        }
        if (fits != 1) {
                diag_list_add(t->gapped_why, sizeof(t->gapped_why), "FRAMEOBJ: %d placements "
                              "of a neighbour's hold on %zu frames", fits, fs->n);
                goto out;
        }
        if (!lhas(&cand[1], LF_FRAMEOBJ_STACKTOP) && !lhas(&cand[1], LF_FRAMEOBJ_STACKDEPTH)) {
                depth = probe_stackdepth(m, &cand[1], fs);
                if (depth < 0) {
                        diag_list_add(t->gapped_why, sizeof(t->gapped_why), "FRAMEOBJ: %s int "
                                      "counts the suspended frames' stacks",
                                      depth == -EBADMSG ? "more than one" : "no");
                        goto out;
                }
                cand[1].f[LF_FRAMEOBJ_STACKDEPTH] = (struct layout_field_info){
                        .offset = (uint32_t)depth, .size = 4, .elem_size = 4, .present = true };
        }
        take_struct(&t->l, &cand[1], LS_FRAMEOBJ);
        mark_probed(t, LS_FRAMEOBJ, "");
        diag_list_add(t->inferred, sizeof(t->inferred), "FRAMEOBJ from %s, the word at +%u "
                      "removed or one inserted there, %llu bytes (PyFrame_Type's tp_basicsize: "
                      "on %zu frames the code is a code object, the back NULL or a frame, the "
                      "globals and builtins dicts, the value stack right after the locals, cells "
                      "and frees, under every other placement not), f_lasti and f_lineno left "
                      "out", tabs[pick]->source, pivot, (unsigned long long)bs, fs->n);
        if (depth >= 0)
                diag_list_add(t->inferred, sizeof(t->inferred), "FRAMEOBJ_STACKDEPTH +%d (the "
                              "one int within every frame's co_stacksize that counts NULL or "
                              "objects on the suspended generators' stacks)", depth);
out:
        free(cand);
        free(fs);
}

/* Structs every object's walk reads: one the neighbours leave unsettled
 * (left out, or only the debug offsets' fields of it) would turn the whole
 * walk into garbage rather than leave some objects opaque, so the layout
 * is refused instead. */
static const enum layout_struct_id essential[] = {
        LS_OBJECT, LS_VAROBJECT, LS_TYPE, LS_HEAPTYPE, LS_GCHEAD, LS_GCSTATE, LS_LIST,
        LS_TUPLE, LS_DICT, LS_DICTKEYS, LS_ASCII, LS_MODULE, LS_FUNC, LS_CODE,
};

/* Whether struct s is listed as left out (alone or "S (why)"). */
static bool gapped(const struct trial *t, int s)
{
        const char *name = layout_struct_name(s);
        const char *p = strstr(t->gapped, name);
        size_t n = strlen(name);

        while (p && ((p > t->gapped && p[-1] != ' ') || (p[n] && p[n] != ';' && p[n] != ' ')))
                p = strstr(p + 1, name);
        return p != NULL;
}

/* Structs of objects every program has and a reference graph cannot do
 * without (frames and generators hold the locals that keep objects
 * alive): left out, they would be opaque in every walk, so the layout is
 * refused rather than walked half-blind.  (3.10's frame has an
 * f_stackdepth neither neighbour has.) */
static const struct {
        enum layout_struct_id sid;
        enum pysym_id types[2];
} must_decode[] = {
        { LS_FRAMEOBJ, { PYSYM_FRAME_TYPE } },
        { LS_GEN, { PYSYM_GEN_TYPE, PYSYM_CORO_TYPE } },
        { LS_ASYNCGEN, { PYSYM_ASYNCGEN_TYPE } },
};

/* Whether the target has no object of the must-decode struct i on its GC
 * lists, all of which the census walked: then leaving the struct out
 * costs this walk nothing (the gap is declared; family layouts are not
 * cached for a later attach). */
static bool none_alive(const struct pyinterp *pi, const struct trial *t, size_t i)
{
        if (!t->census.taken || !t->census.complete)
                return false;
        for (size_t k = 0; k < 2; k++)
                if (infer_census_has(&t->census, pi->sym[must_decode[i].types[k]]))
                        return false;
        return true;
}

static int essential_settled(const struct pyinterp *pi, const struct trial *t,
                             struct diag *d)
{
        for (size_t i = 0; i < sizeof(essential) / sizeof(essential[0]); i++) {
                const char *name = layout_struct_name(essential[i]);

                if (gapped(t, essential[i]))
                        return diag_set(d, -EBADMSG, "the neighbours do not settle struct %s, "
                                        "which every walk reads (its size and fields differ "
                                        "between them and the target's own sizes do not pick "
                                        "one%s%s)", name, t->gapped_why[0] ? "; " : "",
                                        t->gapped_why);
        }
        for (size_t i = 0; i < sizeof(must_decode) / sizeof(must_decode[0]); i++)
                if (gapped(t, must_decode[i].sid) && !none_alive(pi, t, i))
                        return diag_set(d, -EBADMSG, "the neighbours do not settle struct %s "
                                        "(its size and fields differ between them and no check "
                                        "on live objects picks one%s%s), and without it "
                                        "frames and generators would be opaque",
                                        layout_struct_name(must_decode[i].sid),
                                        t->gapped_why[0] ? ": " : "", t->gapped_why);
        return 0;
}

/* What infer_runtime reads with nb[0]'s offsets: only where every
 * neighbour has them alike. */
static const enum layout_field_id runtime_basics[] = {
        LF_OBJECT_TYPE, LF_TSTATE_NEXT, LF_TSTATE_INTERP, LF_GCHEAD_NEXT, LF_GCHEAD_PREV,
        LF_GC_GENERATIONS, LF_GC_GENERATION0,
};

static int basics_agree(const struct layout *nb, size_t n, struct diag *d)
{
        for (size_t i = 0; i < sizeof(runtime_basics) / sizeof(runtime_basics[0]); i++) {
                enum layout_field_id f = runtime_basics[i];

                if (!nb[0].f[f].present || (n > 1 && (!nb[1].f[f].present ||
                    nb[1].f[f].offset != nb[0].f[f].offset)))
                        return diag_set(d, -ENOENT, "the neighbours do not agree on %s, which "
                                        "placing the runtime without debug offsets reads",
                                        layout_field_name(f));
        }
        if (n > 1 && nb[0].s[LS_GCGEN].size != nb[1].s[LS_GCGEN].size)
                return diag_set(d, -ENOENT, "the neighbours do not agree on the size of GCGEN");
        return 0;
}

static int try_neighbours(struct memsrc *m, struct pyinterp *pi, const char *variant,
                          const struct layout *dbg, struct trial *t, struct diag *d)
{
        const struct layout_table *tabs[2];
        struct layout nb[2];
        size_t n = neighbour_tables(pi->version_hex, variant, tabs);
        struct diag cd = { 0 };
        struct layout *inf = NULL;
        uint8_t prov = LP_DEBUG_OFFSETS;
        int rc;

        struct infer_hints hints = { .nenabled = 0 };

        if (!n)
                return -ENOENT;
        memset(t, 0, sizeof(*t));
        /* the probes below read the objects the census just read: from
         * its blocks, not a syscall each (probe_module's dict look-ups
         * alone cost 9 ms of a 3.15 attach) */
        t->census.keep_cache = true;
        for (size_t i = 0; i < n; i++) {
                layout_init(&nb[i], pi->version_hex);
                if (layout_table_fill(tabs[i], &nb[i], NULL) < 0)
                        return -ENOENT;
                if (lhas(&nb[i], LF_GC_ENABLED))
                        hints.enabled[hints.nenabled++] = lo(&nb[i], LF_GC_ENABLED);
        }
        if (!dbg) {
                /* what the debug offsets give 3.13+, placed from memory */
                inf = malloc(sizeof(*inf));
                if (!inf)
                        return diag_set(d, -ENOMEM, "out of memory");
                layout_init(inf, pi->version_hex);
                rc = basics_agree(nb, n, &cd);
                if (rc == 0 && infer_runtime(m, pi, nb, n, inf, t->inferred,
                                             sizeof(t->inferred)) < 0)
                        rc = diag_set(&cd, -ENOENT, "no interpreter whose thread list points "
                                      "back at it, or no GC state in it or the runtime");
                if (rc < 0) {
                        diag_list_add(pi->layout_candidates, sizeof(pi->layout_candidates),
                            "neighbours %s%s%s: %s", tabs[0]->source, n > 1 ? " and " : "",
                            n > 1 ? tabs[1]->source : "", cd.msg);
                        free(inf);
                        return -ENOENT;
                }
                dbg = inf;
                prov = LP_INFERRED;
        }
        layout_init(&t->l, pi->version_hex);
        overlay_as(&t->l, dbg, prov, t->sprov, t->fprov);
        /* the object, type and GC structs first: tp_basicsize and the
         * objects on the GC lists settle the others */
        for (int pass = 0; pass < 2; pass++) {
                for (int s = 0; s < LS__COUNT; s++) {
                        bool first = s == LS_OBJECT || s == LS_VAROBJECT || s == LS_TYPE ||
                                     s == LS_GCHEAD || s == LS_GCGEN || settled_later(s);

                        if (first == (pass == 0))
                                resolve_struct(m, pi, t, nb, tabs, n, inf ? NULL : dbg, s);
                }
                overlay_as(&t->l, dbg, prov, t->sprov, t->fprov);
                if (pass == 0)
                        (void)infer_gc(m, pi, &t->l, false, &hints, t->inferred,
                                       sizeof(t->inferred));
        }
        for (int s = 0; s < LS__COUNT; s++)
                if (t->sprov[s] == LP_NONE && t->l.s[s].present)
                        t->sprov[s] = LP_NEIGHBOURS;
        for (int f = 0; f < LF__COUNT; f++)
                if (t->fprov[f] == LP_NONE && t->l.f[f].present)
                        t->fprov[f] = LP_NEIGHBOURS;
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_GCSTATE && t->l.f[f].present &&
                    t->fprov[f] != LP_DEBUG_OFFSETS)
                        t->fprov[f] = LP_INFERRED;
        probe_type_fields(m, pi, t, nb, n, inf ? NULL : dbg);
        if (!t->l.s[LS_HEAPTYPE].present || inf || gapped(t, LS_HEAPTYPE))
                probe_heaptype(m, pi, t, nb, tabs, n, inf ? NULL : dbg);
        probe_module_fields(m, pi, t);
        probe_instance_structs(m, pi, t, nb, tabs, n);
        if (!inf)
                /* a framed struct the debug offsets' sizes did not pick
                 * (3.13's placeholder frame against 3.14's whole one) */
                probe_framed(m, pi, t, nb, tabs, n);
        if (inf) {
                if (!t->census.taken)
                        infer_census(m, pi, &t->l, &t->census);
                probe_type_size(t, nb, n);
                probe_prefixes(t, nb, tabs, n);
                probe_long(m, pi, t, nb, tabs, n);
                probe_interp_dicts(m, pi, t);
                probe_dictkeys_struct(m, pi, t, nb, tabs, n);
                probe_func(m, pi, t, nb, tabs, n);      /* before the code, read through it */
                probe_framed(m, pi, t, nb, tabs, n);
                probe_iframe(m, pi, t, nb, tabs, n);
                probe_code(m, pi, t, nb, tabs, n);
                probe_thread_frames(m, pi, t, nb, n);   /* checked with IFRAME */
                /* <=3.10: read through the code; the frames through the
                 * generators too */
                probe_gen(m, pi, t, nb, tabs, n);
                probe_frameobj(m, pi, t, nb, tabs, n);
        }
        rc = essential_settled(pi, t, &cd);
        if (rc == 0)
                rc = verify_layout(m, pi, &t->l, &t->checks, &cd);
        if (t->census.taken)
                (void)memsrc_live_cache(m, 0);
        diag_list_add(pi->layout_candidates, sizeof(pi->layout_candidates), "neighbours %s%s%s: %.*s",
            tabs[0]->source, n > 1 ? " and " : "", n > 1 ? tabs[1]->source : "",
            rc == 0 ? 20 : (int)strcspn(cd.msg, "\n"), rc == 0 ? "every check held" : cd.msg);
        free(inf);
        if (rc == -ESRCH)
                return diag_set(d, rc, "%s", cd.msg);
        if (rc < 0)
                return -ENOENT;
        if (own_minor(pi, tabs[0]))
                /* the minor's own table as the lower neighbour */
                adopt(pi, t, prov == LP_INFERRED
                             ? "family+neighbours+inferred (experimental)"
                             : "debug_offsets+family+neighbours+inferred (experimental)");
        else
                adopt(pi, t, prov == LP_INFERRED
                             ? "neighbours+inferred (experimental)"
                             : "debug_offsets+neighbours+inferred (experimental)");
        pi->layout_experimental = true;
        return 0;
}

int family_choose(struct memsrc *m, struct pyinterp *pi, const char *variant,
                  const struct layout *dbg, struct diag *d)
{
        struct trial *t = calloc(1, sizeof(*t));
        int rc;

        if (!t)
                return diag_set(d, -ENOMEM, "out of memory");
        pi->layout_candidates[0] = '\0';
        pi->layout_experimental = false;
        rc = try_family(m, pi, variant, dbg, t, d);
        if (rc == -ENOENT)
                rc = try_neighbours(m, pi, variant, dbg, t, d);
        free(t);
        if (rc == -ENOENT && !pi->layout_candidates[0])
                diag_set(d, -ENOENT, "no tables of %u.%u", py_major(pi->version_hex),
                         py_minor(pi->version_hex));
        else if (rc == -ENOENT)
                diag_set(d, -ENOENT, "every candidate failed a check against memory: %s",
                         pi->layout_candidates);
        return rc;
}
