/* pyinterp: find the interpreter, read its version, describe and validate
 * its layout. */
#include "pyinterp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debugoffsets.h"
#include "family.h"
#include "clock.h"
#include "diag.h"
#include "layoutcache.h"
#include "pydwarf.h"
#include "pyelf.h"
#include "memsrc.h"
#include "tables.h"
#include "verify.h"

static const char *const sym_names[PYSYM__COUNT] = {
#define PYSYM_NAME(id, name) [PYSYM_##id] = name,
        PYINTERP_SYMBOLS(PYSYM_NAME)
#undef PYSYM_NAME
};

const char *pysym_name(enum pysym_id id)
{
        return (unsigned)id < PYSYM__COUNT ? sym_names[id] : "?";
}

#define SUPPORTED "CPython 3.8 to 3." PY_STR(PY_MINOR_MAX) " (default builds, not free-threaded)"

/* --- versions ------------------------------------------------------------ */

static void version_string(uint32_t hex, char *buf, size_t len)
{
        unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
        const char *tag = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";

        if (*tag)
                snprintf(buf, len, "%u.%u.%u%s%u", py_major(hex), py_minor(hex),
                         py_micro(hex), tag, serial);
        else
                snprintf(buf, len, "%u.%u.%u", py_major(hex), py_minor(hex), py_micro(hex));
}

/* "3.10.13", "3.11.0rc1", "2.7.18+" -> PY_VERSION_HEX. */
static int parse_version(const char *s, uint32_t *ret)
{
        unsigned maj, min, mic = 0, serial = 0, level = 0xf;
        char tag[3] = "";
        int n;

        n = sscanf(s, "%u.%u.%u%2[abcr]%u", &maj, &min, &mic, tag, &serial);
        if (n < 2 || maj > 255 || min > 255 || mic > 255 || serial > 15)
                return -EINVAL;
        if (n >= 4) {
                if (!strcmp(tag, "a"))
                        level = 0xa;
                else if (!strcmp(tag, "b"))
                        level = 0xb;
                else if (!strcmp(tag, "rc") || !strcmp(tag, "c"))
                        level = 0xc;
                else
                        return -EINVAL;
        }
        *ret = (maj << 24) | (min << 16) | (mic << 8) | (level << 4) | serial;
        return 0;
}

static int unsupported(struct diag *d, const char *what, const char *why)
{
        return diag_set(d, -EOPNOTSUPP,
                        "%s is not supported: %s\nhint: pyleak-attach supports " SUPPORTED,
                        what, why);
}

/* Version from the ELF alone (<= 3.10 have nothing structured): the
 * PY_VERSION literal in .rodata, else major.minor of the file name. */
static int version_from_file(const struct pyelf *e, uint32_t *ret, char *buf, size_t len)
{
        unsigned maj, min;
        bool t;
        char s[32];

        if (pyelf_version_string(e, s, sizeof(s)) == 0 && parse_version(s, ret) == 0) {
                snprintf(buf, len, "%s", s);
                return 0;
        }
        if (pyelf_name_version(e->path, &maj, &min, &t) == 0 && maj <= 255 && min <= 255) {
                /* Micro unknown; nothing before 3.11 depends on it. */
                *ret = (maj << 24) | (min << 16) | 0xf0;
                snprintf(buf, len, "%u.%u", maj, min);
                return 0;
        }
        return -ENOENT;
}

static int detect_version(struct memsrc *m, const struct pyelf *e, uint64_t runtime,
                          uint64_t py_version_addr, uint32_t *ret_hex, char *ver,
                          size_t verlen, struct diag *d)
{
        unsigned nmaj, nmin;
        bool nt = false;
        uint32_t hex = 0;
        char what[96];
        int rc;

        if (pyelf_name_version(e->path, &nmaj, &nmin, &nt) == 0 && nt) {
                snprintf(what, sizeof(what), "the free-threaded CPython %u.%ut (%s)",
                         nmaj, nmin, e->path);
                unsupported(d, what, "free-threaded builds keep no GC lists "
                            "(objects live in mimalloc heaps)");
                diag_append(d, "hint: run the program under the default (GIL) build of "
                            "the same version, python%u.%u instead of python%u.%ut",
                            nmaj, nmin, nmaj, nmin);
                return -EOPNOTSUPP;
        }

        if (!e->has_runtime) {
                if (version_from_file(e, &hex, ver, verlen) < 0) {
                        snprintf(what, sizeof(what), "the old Python in %s", e->path);
                        return unsupported(d, what, "it has no _PyRuntime, so it predates "
                                           "CPython 3.7");
                }
        } else {
                unsigned char hdr[24];
                uint64_t v64, ft;

                rc = memsrc_read(m, runtime, hdr, sizeof(hdr));
                if (rc < 0)
                        return diag_set(d, rc, "cannot read _PyRuntime at 0x%llx in %s: %s",
                                        (unsigned long long)runtime, e->path, strerror(-rc));
                if (!memcmp(hdr, "xdebugpy", 8)) {
                        /* 3.13+: _Py_DebugOffsets opens it (doc/internals.md §Debug offsets) */
                        memcpy(&v64, hdr + 8, 8);
                        memcpy(&ft, hdr + 16, 8);
                        if (v64 > UINT32_MAX || (v64 >> 24) != 3)
                                return diag_set(d, -EBADMSG,
                                                "_PyRuntime in %s has the debug cookie but version 0x%llx",
                                                e->path, (unsigned long long)v64);
                        hex = (uint32_t)v64;
                        version_string(hex, ver, verlen);
                        if (ft == 1) {
                                snprintf(what, sizeof(what), "the free-threaded CPython %st", ver);
                                unsupported(d, what, "free-threaded builds keep no GC "
                                            "lists (objects live in mimalloc heaps)");
                                diag_append(d, "hint: run the program under the default (GIL) "
                                            "build of the same version, python%u.%u instead "
                                            "of python%u.%ut", py_major(hex), py_minor(hex),
                                            py_major(hex), py_minor(hex));
                                return -EOPNOTSUPP;
                        }
                } else if (py_version_addr) {
                        /* 3.11-3.12: Py_Version holds PY_VERSION_HEX. */
                        rc = memsrc_read(m, py_version_addr, &hex, sizeof(hex));
                        if (rc < 0)
                                return diag_set(d, rc, "cannot read Py_Version in %s: %s",
                                                e->path, strerror(-rc));
                        version_string(hex, ver, verlen);
                        if (py_at_least(hex, 3, 13))
                                return diag_set(d, -EBADMSG,
                                                "Py_Version in %s says %s but _PyRuntime lacks the "
                                                "debug cookie (wrong load bias?)", e->path, ver);
                } else if (version_from_file(e, &hex, ver, verlen) < 0) {
                        return diag_set(d, -EOPNOTSUPP,
                                        "cannot tell which CPython version %s is: no debug cookie, "
                                        "no Py_Version, no version string\nhint: pyleak-attach "
                                        "supports " SUPPORTED, e->path);
                }
        }

        snprintf(what, sizeof(what), "CPython %s (%s)", ver, e->path);
        if (py_major(hex) == 2) {
                unsupported(d, what, "Python 2 predates _PyRuntime and the GC layout "
                            "this tool reads");
                diag_append(d, "hint: the closest supported version is CPython 3.8");
                return -EOPNOTSUPP;
        }
        if (py_major(hex) != 3)
                return unsupported(d, what, "not a CPython 3 version");
        if (py_minor(hex) < 8) {
                unsupported(d, what, "versions before 3.8 have a different runtime "
                            "and GC layout");
                diag_append(d, "hint: the closest supported version is CPython 3.8");
                return -EOPNOTSUPP;
        }
        /* Versions after PY_MINOR_MAX go on to the providers: only DWARF can
         * describe them, and pyinterp_find refuses them if it cannot. */
        *ret_hex = hex;
        return 0;
}

/* --- layout providers ---------------------------------------------------- */

/* The providers, tried in this order (enum layout_provider_id):
 *   1. DWARF of the interpreter's ELF (or its separate debug file): exact
 *      for that build, covers every struct.
 *   2. _Py_DebugOffsets (3.13+): read from the target itself, so exact, but
 *      partial (no GC list heads, dict keys, functions, ...).
 *   3. A generated table for this exact version and build variant.
 * The first of: DWARF; debug offsets over a table; a table alone, wins.
 * Every provider that ran is compared with the winner field by field (and
 * debug offsets with the table they are combined with); differences are
 * kept in pi->disagreements.  The winner is then validated against memory. */

const char *layout_provider_name(enum layout_provider_id p)
{
        switch (p) {
        case LP_DWARF: return "dwarf";
        case LP_DEBUG_OFFSETS: return "debug_offsets";
        case LP_TABLE: return "table";
        case LP_FAMILY: return "family";
        case LP_NEIGHBOURS: return "neighbours";
        case LP_INFERRED: return "inferred";
        default: return "none";
        }
}

struct provider_run {
        int rc;                      /* 0, or the provider's error */
        struct layout l;
        char detail[256];
        struct diag d;
};

struct provider_runs {
        struct provider_run dwarf, dbg, table;
        const struct layout_table *t;
};

/* A DWARF read on its own thread (pyinterp_find_early).  It owns the ELF
 * and the provider results until pyinterp_settle or pyinterp_free joins
 * it; nothing else touches them meanwhile. */
struct pyinterp_pending {
        pthread_t thread;
        bool started;                /* thread runs; else settle reads */
        struct pyelf *e;
        struct provider_runs *r;
        const char *variant;
        char lookup_path[4096];
        char root[PATH_MAX];         /* "" when the target's root is not
                                        searched */
        char cache[PATH_MAX];        /* the layout cache, "" for none */
};

/* First line of a diag, for the one-line provider summary. */
static const char *first_line(const struct diag *d, char *buf, size_t len)
{
        snprintf(buf, len, "%.*s", (int)strcspn(d->msg, "\n"), d->msg);
        return buf;
}

/* ID= of the target's /etc/os-release (under its root: a container or
 * chroot reports its own distribution, a core file its --sysroot's). */
static void os_release_id(struct memsrc *m, char *buf, size_t len)
{
        char line[256];
        int fd = memsrc_open_file(m, "/etc/os-release");
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

        buf[0] = '\0';
        if (fd >= 0 && !f)
                close(fd);
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *v;

                if (strncmp(line, "ID=", 3))
                        continue;
                v = line + 3;
                v += *v == '"';
                v[strcspn(v, "\"\n")] = '\0';
                snprintf(buf, len, "%s", v);
                break;
        }
        fclose(f);
}

/* Local symbols a stripped build lost, from the table generated for this
 * very build (its build-id): stripping keeps the layout of the file, so
 * the offset from _PyRuntime recorded from the unstripped binary holds. */
static void table_symbols(struct pyinterp *pi)
{
        if (!pi->runtime_addr || !pi->build_id[0])
                return;
        for (size_t t = 0; t < layout_tables_count; t++) {
                const struct layout_table *tb = &layout_tables[t];

                if (tb->version_hex != pi->version_hex ||
                    !layout_table_built_for(tb, pi->build_id))
                        continue;
                for (int i = 0; i < PYSYM__COUNT; i++) {
                        int64_t off;

                        if (!pi->sym[i] &&
                            layout_table_runtime_rel(tb, pi->build_id, sym_names[i], &off) == 0)
                                pi->sym[i] = pi->runtime_addr + (uint64_t)off;
                }
        }
}

/* The distribution build variant.  Tables are keyed by it because
 * distribution patches change layouts (Debian's 3.13 moves the GC
 * generation heads, doc/internals.md §GC lists, §Traps).  Decided, in order, by:
 *   1. the ELF's build-id appearing in a table's list (the generator records
 *      the build-ids of the binaries it was run for): that table's variant;
 *   2. Debian: the interpreter sits where the package manager installs it
 *      (/usr/bin or /usr/lib, not /usr/local) and the target's own
 *      /etc/os-release says ID=debian.  (Debian strips .comment from its
 *      binaries, so the compiler banner cannot tell.)
 *   3. else upstream (""): pyenv, source builds, /usr/local, other distros. */
/* The path as the target sees it: a chroot's target maps its files under
 * its root, which /proc/PID/maps shows from ours ("/srv/root/usr/bin/..."). */
static const char *target_view(struct memsrc *m, const char *path, char *root, size_t len)
{
        char link[PATH_MAX];
        ssize_t n;

        /* only a running target's root is a link to resolve */
        if (!memsrc_root(m, link, sizeof(link))[0] || strncmp(link, "/proc/", 6))
                return path;
        n = readlink(link, root, len - 1);
        if (n <= 1 || (size_t)n >= len - 1)
                return path;
        root[n] = '\0';
        if (!strncmp(path, root, (size_t)n) && path[n] == '/')
                return path + n;
        return path;
}

static const char *detect_variant(struct memsrc *m, const struct pyelf *e, uint32_t hex)
{
        const struct layout_table *t;
        char id[64], root[4096];
        const char *path;

        if (e->build_id[0] && layout_table_lookup(hex, NULL, e->build_id, &t) == 0 &&
            strstr(t->build_ids, e->build_id))
                return t->variant;
        path = target_view(m, e->path, root,
                           sizeof(root));
        if (strncmp(path, "/usr/bin/", 9) && strncmp(path, "/usr/lib/", 9))
                return "";
        os_release_id(m, id, sizeof(id));
        if (!strcmp(id, "debian"))
                return "debian";
        return "";
}

/* cache: the layout cache directory, "" for none (layoutcache.h) */
static bool cached_dwarf(const char *cache, const struct pyelf *e, struct provider_run *out)
{
        if (!cache[0] || !e->build_id[0] ||
            layout_cache_load(cache, e->build_id, &out->l, out->detail,
                              sizeof(out->detail)) < 0)
                return false;
        diag_list_add(out->detail, sizeof(out->detail), "cached in %s", cache);
        out->rc = 0;
        return true;
}

static void read_dwarf(const char *cache, const struct pyelf *e, const char *lookup_path,
                       const char *root, struct provider_run *out)
{
        out->rc = pydwarf_layout_fill(e, lookup_path, root, &out->l, out->detail,
                                      sizeof(out->detail), &out->d);
        /* a failed store only means the next attach reads the DWARF too */
        if (out->rc == 0 && cache[0] && e->build_id[0])
                (void)layout_cache_store(cache, e->build_id, &out->l, out->detail);
}

static void *pending_main(void *arg)
{
        struct pyinterp_pending *p = arg;

        read_dwarf(p->cache, p->e, p->lookup_path, p->root[0] ? p->root : NULL, &p->r->dwarf);
        return NULL;
}

static void pending_end(struct pyinterp_pending *p)
{
        if (p->started)
                pthread_join(p->thread, NULL);
        pyelf_free(p->e);
        free(p->r);
        free(p);
}

/* Whether a family layout may stand in for DWARF while it is read: the
 * minor version has tables (family.h).  A family that then fails its
 * checks waits for the DWARF read. */
static bool family_candidates(uint32_t hex)
{
        const struct layout_table *t;

        return layout_tables_of(py_major(hex), py_minor(hex), &t, 1) > 0;
}

/* Runs the providers into *r.  With defer, a DWARF read that a table could
 * stand in for is left for later (pyinterp_start_pending, else
 * pyinterp_settle); then *pending owns r and e, and r->dwarf is the
 * pending read's until it is done. */
static void run_providers(struct memsrc *m, struct pyelf *e, const char *lookup_path,
                          const struct pyinterp *pi, const char *variant,
                          struct provider_runs *r, bool defer,
                          struct pyinterp_pending **pending)
{
        uint32_t hex = pi->version_hex;
        char root[PATH_MAX] = "";

        layout_init(&r->table.l, hex);
        r->t = NULL;
        r->table.rc = layout_table_lookup(hex, variant, e->build_id, &r->t);
        if (r->table.rc < 0) {
                diag_set(&r->table.d, -ENOENT, "no table for %s%s%s", pi->version,
                         *variant ? "-" : "", variant);
        } else {
                unsigned unknown = 0;

                r->table.rc = layout_table_fill(r->t, &r->table.l, &unknown);
                if (r->table.rc < 0)
                        diag_set(&r->table.d, r->table.rc, "%s is malformed", r->t->source);
                else
                        snprintf(r->table.detail, sizeof(r->table.detail), "%s%s", r->t->source,
                                 unknown ? " (has names this build does not know)" : "");
        }

        /* Debian's python3.X-dbg DWARF is zlib-compressed: parsing it costs
         * a second, for nothing when the table was made from it. */
        layout_init(&r->dwarf.l, hex);
        memsrc_root(m, root, sizeof(root));
        if (r->table.rc == 0 && layout_table_verified_for(r->t, e->build_id)) {
                r->dwarf.rc = diag_set(&r->dwarf.d, -ENOENT, "not read: %s was generated from "
                                       "this very build's DWARF (build-id %s)", r->t->source,
                                       e->build_id);
        } else if (cached_dwarf(pi->layout_cache, e, &r->dwarf)) {
                /* read by an earlier attach to this very build */
        } else if (defer && (r->table.rc == 0 || family_candidates(hex)) &&
                   (*pending = calloc(1, sizeof(**pending)))) {
                struct pyinterp_pending *p = *pending;

                p->e = e;
                p->r = r;
                p->variant = variant;
                snprintf(p->lookup_path, sizeof(p->lookup_path), "%s", lookup_path);
                snprintf(p->root, sizeof(p->root), "%s", root);
                snprintf(p->cache, sizeof(p->cache), "%s", pi->layout_cache);
        } else {
                read_dwarf(pi->layout_cache, e, lookup_path, root[0] ? root : NULL, &r->dwarf);
        }

        layout_init(&r->dbg.l, hex);
        if (py_at_least(hex, 3, 13))
                r->dbg.rc = debugoffsets_fill(m, pi->runtime_addr, hex, &r->dbg.l,
                                              r->dbg.detail, sizeof(r->dbg.detail), &r->dbg.d);
        else
                r->dbg.rc = diag_set(&r->dbg.d, -ENOENT, "none before 3.13");
}

static void disagree(struct pyinterp *pi, int field, int sid, const char *what,
                     const char *an, uint32_t a, const char *bn, uint32_t b)
{
        char item[160];

        if (pi->ndisagreements < PYINTERP_MAX_DISAGREEMENTS)
                pi->disagreements[pi->ndisagreements] = (struct layout_disagreement){
                        .field = field, .sid = sid, .what = what,
                        .a_source = an, .b_source = bn, .a = a, .b = b };
        pi->ndisagreements++;
        if (field >= 0)
                snprintf(item, sizeof(item), "%s vs %s: %s %s %u != %u", an, bn,
                         layout_field_name(field), what, a, b);
        else
                snprintf(item, sizeof(item), "%s vs %s: struct %s size %u != %u", an, bn,
                         layout_struct_name(sid), a, b);
        diag_list_add(pi->layout_disagreements, sizeof(pi->layout_disagreements), "%s", item);
}

/* Every item both layouts describe must be equal.  Widths are compared only
 * when both providers know them (debug offsets carry none). */
static void compare_layouts(struct pyinterp *pi, const struct layout *a, const char *an,
                            const struct layout *b, const char *bn)
{
        for (int s = 0; s < LS__COUNT; s++)
                if (a->s[s].present && b->s[s].present && a->s[s].size && b->s[s].size &&
                    a->s[s].size != b->s[s].size)
                        disagree(pi, -1, s, "struct size", an, a->s[s].size, bn, b->s[s].size);
        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &a->f[f], *y = &b->f[f];

                if (!x->present || !y->present)
                        continue;
                if (x->offset != y->offset)
                        disagree(pi, f, (int)layout_field_struct(f), "offset", an, x->offset,
                                 bn, y->offset);
                else if (x->size && y->size && x->size != y->size)
                        disagree(pi, f, (int)layout_field_struct(f), "size", an, x->size,
                                 bn, y->size);
                else if (x->elem_size && y->elem_size && x->elem_size != y->elem_size)
                        disagree(pi, f, (int)layout_field_struct(f), "elem_size", an,
                                 x->elem_size, bn, y->elem_size);
        }
}

static void mark_providers(struct pyinterp *pi, const struct layout *l, uint8_t p)
{
        for (int s = 0; s < LS__COUNT; s++)
                if (l->s[s].present)
                        pi->struct_provider[s] = p;
        for (int f = 0; f < LF__COUNT; f++)
                if (l->f[f].present)
                        pi->field_provider[f] = p;
}

/* Debug offsets over a table: the block is read from the target itself, so
 * where both describe an item, its value wins; the table's member widths
 * are kept (the block has none). */
static void overlay_debug_offsets(struct pyinterp *pi, const struct layout *dbg)
{
        struct layout *l = &pi->layout;

        for (int s = 0; s < LS__COUNT; s++)
                if (dbg->s[s].present) {
                        l->s[s] = dbg->s[s];
                        pi->struct_provider[s] = LP_DEBUG_OFFSETS;
                }
        for (int f = 0; f < LF__COUNT; f++) {
                if (!dbg->f[f].present)
                        continue;
                if (!l->f[f].present)
                        l->f[f] = dbg->f[f];
                l->f[f].offset = dbg->f[f].offset;
                l->f[f].present = true;
                pi->field_provider[f] = LP_DEBUG_OFFSETS;
        }
}

static int no_provider(const struct pyinterp *pi, const struct pyelf *e, const char *variant,
                       const struct provider_runs *r, struct diag *d)
{
        char tables[256], what[128], closest[64];
        int n = layout_tables_of_minor(py_major(pi->version_hex), py_minor(pi->version_hex),
                                       tables, sizeof(tables));

        snprintf(what, sizeof(what), "CPython %s%s%s (%s)", pi->version,
                 *variant ? ", " : "", *variant ? variant : "", e->path);
        if (py_minor(pi->version_hex) > PY_MINOR_MAX || py_major(pi->version_hex) > 3) {
                unsupported(d, what, r->dbg.rc == 0 ?
                            "unknown future version: its _Py_DebugOffsets, read as the last "
                            "known version's block, and the tables of the versions before it "
                            "did not pass the checks against its memory (below)" :
                            "unknown future version: no provider can describe it "
                            "(no DWARF, no known _Py_DebugOffsets layout, no table)");
                n = layout_tables_of_minor(3, PY_MINOR_MAX, closest, sizeof(closest));
                diag_append(d, "hint: the closest supported version is 3.%d%s%s%s", PY_MINOR_MAX,
                            n ? " (tables: " : "", n ? closest : "", n ? ")" : "");
                return -EOPNOTSUPP;
        }
        if (r->dbg.rc == 0)
                diag_set(d, -ENOENT, "no layout for %s: no DWARF, no generated table matches "
                         "%s%s%s, and its _Py_DebugOffsets (which cover only part of the "
                         "layout) with what the other tables say could not be verified "
                         "against its memory (family: below)", what, pi->version,
                         *variant ? "-" : "", variant);
        else
                diag_set(d, -ENOENT, "no layout for %s: no DWARF and no generated table for "
                         "%s%s%s", what, pi->version, *variant ? "-" : "", variant);
        if (n)
                diag_append(d, "hint: tables exist for %s; generate one for this build with "
                            "symbols/gen/gen-layout-table", tables);
        else
                diag_append(d, "hint: generate a table for this build with "
                            "symbols/gen/gen-layout-table");
        /* The DWARF provider's own hints say how to get debug symbols. */
        {
                const char *hint = strstr(r->dwarf.d.msg, "\nhint:");

                diag_append(d, "dwarf: %.*s", (int)strcspn(r->dwarf.d.msg, "\n"),
                            r->dwarf.d.msg);
                if (hint)
                        diag_append(d, "%s", hint + 1);
        }
        return -ENOENT;
}

/* Py_DEBUG builds export the refcount checks (Py_REF_DEBUG) and
 * Py_TRACE_REFS builds the reference-chain dump: both change structs the
 * release tables describe. */
static bool debug_build(const struct pyinterp *pi, char *why, size_t len)
{
        if (pi->sym[PYSYM_TRACE_REFS])
                snprintf(why, len, "Py_TRACE_REFS: it exports %s", pysym_name(PYSYM_TRACE_REFS));
        else if (pi->sym[PYSYM_NEGATIVE_REFCOUNT])
                snprintf(why, len, "Py_DEBUG: it exports %s",
                         pysym_name(PYSYM_NEGATIVE_REFCOUNT));
        else
                return false;
        return true;
}

/* Chooses pi->layout from the providers' results (see above).  A DWARF
 * read still in progress (r->dwarf not to be touched) counts as absent;
 * pyinterp_settle decides again once it is done, from a clean slate. */
static int decide(struct memsrc *m, struct pyinterp *pi, const struct pyelf *e, const char *variant,
                  const struct provider_runs *r, bool dwarf_pending, struct diag *d)
{
        int dwarf_rc = dwarf_pending ? -EINPROGRESS : r->dwarf.rc;
        char line[160];
        int rc = 0;

        pi->layout_providers[0] = '\0';
        pi->layout_disagreements[0] = '\0';
        pi->ndisagreements = 0;
        memset(pi->field_provider, 0, sizeof(pi->field_provider));
        memset(pi->struct_provider, 0, sizeof(pi->struct_provider));
        if (dwarf_rc == 0)
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: ok");
        else if (dwarf_pending)
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: being read");
        else
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: %s",
                     first_line(&r->dwarf.d, line, sizeof(line)));
        if (r->dbg.rc == 0)
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "debug_offsets: ok");
        else
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "debug_offsets: %s",
                     first_line(&r->dbg.d, line, sizeof(line)));
        if (r->table.rc == 0)
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "%s: ok",
                     r->t->source);
        else
                diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "table: %s",
                     first_line(&r->table.d, line, sizeof(line)));

        if (dwarf_rc == 0) {
                pi->layout = r->dwarf.l;
                mark_providers(pi, &pi->layout, LP_DWARF);
                snprintf(pi->layout_detail, sizeof(pi->layout_detail), "%s", r->dwarf.detail);
                if (r->dbg.rc == 0)
                        compare_layouts(pi, &r->dwarf.l, "dwarf", &r->dbg.l, "debug_offsets");
                if (r->table.rc == 0)
                        compare_layouts(pi, &r->dwarf.l, "dwarf", &r->table.l, r->t->source);
        } else if (debug_build(pi, line, sizeof(line)) &&
                   !(r->table.rc == 0 && layout_table_built_for(r->t, e->build_id))) {
                /* a release table keyed by version alone does not describe
                 * a debug build either */
                rc = diag_set(d, -EOPNOTSUPP, "CPython %s (%s) is a debug build (%s): its structs "
                              "differ from the release builds that the tables and the %u.%u "
                              "family describe, and no DWARF describes it", pi->version,
                              e->path, line, py_major(pi->version_hex),
                              py_minor(pi->version_hex));
                diag_append(d, "hint: install the debug symbols of this exact build (Debian: "
                            "python3.%u-dbg ships the DWARF of its debug interpreter) or "
                            "attach to the release interpreter", py_minor(pi->version_hex));
        } else if (r->dbg.rc == 0 && r->table.rc == 0) {
                pi->layout = r->table.l;
                mark_providers(pi, &pi->layout, LP_TABLE);
                overlay_debug_offsets(pi, &r->dbg.l);
                pi->layout.source = r->t->combined_source;
                snprintf(pi->layout_detail, sizeof(pi->layout_detail), "%.110s, the rest from %.110s",
                         r->dbg.detail, r->table.detail);
                compare_layouts(pi, &r->dbg.l, "debug_offsets", &r->table.l, r->t->source);
        } else if (r->table.rc == 0) {
                pi->layout = r->table.l;
                mark_providers(pi, &pi->layout, LP_TABLE);
                snprintf(pi->layout_detail, sizeof(pi->layout_detail), "%s", r->table.detail);
        } else if (r->dbg.rc == -EOPNOTSUPP && py_minor(pi->version_hex) <= PY_MINOR_MAX) {
                /* A block we cannot trust (pre-release, free-threaded): its
                 * message is the most specific one. */
                rc = diag_set(d, -EOPNOTSUPP, "CPython %s (%s) is not supported: %s\nhint: "
                              "pyleak-attach supports " SUPPORTED, pi->version, e->path,
                              first_line(&r->dbg.d, line, sizeof(line)));
        } else {
                struct diag fd = { 0 };

                rc = family_choose(m, pi, variant, r->dbg.rc == 0 ? &r->dbg.l : NULL, &fd);
                if (rc == 0) {
                        diag_list_add(pi->layout_providers, sizeof(pi->layout_providers), "%s",
                             pi->layout_candidates);
                        snprintf(pi->layout_detail, sizeof(pi->layout_detail), "%.250s",
                                 pi->layout_candidates);
                } else if (rc == -ENOENT) {
                        rc = no_provider(pi, e, variant, r, d);
                        diag_append(d, "family: %s", fd.msg);
                } else {
                        rc = diag_set(d, rc, "%s", fd.msg);
                }
        }
        if (rc == 0) {
                pi->layout.version_hex = pi->version_hex;
                pi->layout.variant = variant;
                layout_derive_facts(&pi->layout);
        }
        return rc;
}

/* Fills pi->layout from the providers.  With defer, may leave a DWARF read
 * running (pi->pending, which then owns e). */
static int choose_layout(struct memsrc *m, struct pyelf *e, const char *lookup_path,
                         struct pyinterp *pi, bool defer, struct diag *d)
{
        struct provider_runs *r;
        const char *variant = detect_variant(m, e, pi->version_hex);
        int rc;

        r = calloc(1, sizeof(*r));
        if (!r)
                return diag_set(d, -ENOMEM, "out of memory");
        run_providers(m, e, lookup_path, pi, variant, r, defer, &pi->pending);
        rc = decide(m, pi, e, variant, r, pi->pending != NULL, d);
        if (!pi->pending)
                free(r);
        return rc;
}

void pyinterp_start_pending(struct pyinterp *pi)
{
        struct pyinterp_pending *p = pi ? pi->pending : NULL;

        /* without a thread, pyinterp_settle reads it */
        if (p && !p->started)
                p->started = pthread_create(&p->thread, NULL, pending_main, p) == 0;
}

int pyinterp_settle(struct memsrc *m, struct pyinterp *pi, bool *changed, struct diag *d)
{
        struct pyinterp_pending *p = pi->pending;
        struct layout before;
        double t0 = mono_ms();
        bool before_validated = pi->layout_checks != 0;
        int rc;

        *changed = false;
        if (!p)
                return 0;
        if (p->started)
                pthread_join(p->thread, NULL);
        else
                pending_main(p);
        p->started = false;     /* joined: pending_end only frees */
        pi->pending = NULL;
        before = pi->layout;
        rc = decide(m, pi, p->e, p->variant, p->r, false, d);
        if (rc == 0 && !layout_equal(&before, &pi->layout)) {
                *changed = true;
                /* A DWARF that agrees with the validated layout on every
                 * item both describe only adds structs, which no check
                 * reads: checking again would read the target after its
                 * snapshot, which may be gone by now. */
                if (pi->ndisagreements || !before_validated)
                        rc = verify_layout(m, pi, &pi->layout, &pi->layout_checks, d);
        }
        pending_end(p);
        pi->find_ms += mono_ms() - t0;
        return rc;
}

/* --- orchestration ------------------------------------------------------- */

static int find(struct memsrc *m, bool early, const struct pyinterp_opts *o,
                struct pyinterp **ret, struct diag *d)
{
        struct pyelf *e = NULL, *own;
        struct pyinterp *pi = NULL;
        uint64_t raw[PYSYM__COUNT];
        uint32_t hex = 0;
        char lookup_path[4096];
        double t0 = mono_ms();
        char root[PATH_MAX];
        int rc;

        rc = pyelf_find(m, &e, d);
        if (rc < 0)
                return rc;
        own = e;
        pi = calloc(1, sizeof(*pi));
        if (!pi) {
                rc = diag_set(d, -ENOMEM, "out of memory");
                goto fail;
        }
        snprintf(pi->layout_cache, sizeof(pi->layout_cache), "%s",
                 o && o->layout_cache ? o->layout_cache : "");

        /* What the rest needs of the ELF, now: a pending DWARF read owns e
         * from choose_layout on, and settling it frees it. */
        pi->elf_path = strdup(e->path);
        pi->elf_host_path = strdup(e->host_path ? e->host_path : e->path);
        if (!pi->elf_path || !pi->elf_host_path) {
                rc = diag_set(d, -ENOMEM, "out of memory");
                goto fail;
        }
        snprintf(pi->build_id, sizeof(pi->build_id), "%s", e->build_id);
        pi->is_executable = e->is_executable;
        pi->bias = e->bias;
        pyelf_lookup(e, sym_names, PYSYM__COUNT, raw);
        for (int i = 0; i < PYSYM__COUNT; i++)
                pi->sym[i] = raw[i] ? raw[i] + e->bias : 0;
        pi->runtime_addr = e->runtime_vaddr ? e->runtime_vaddr + e->bias : 0;
        if (!pi->sym[PYSYM_RUNTIME])
                pi->sym[PYSYM_RUNTIME] = pi->runtime_addr;

        rc = detect_version(m, e, pi->runtime_addr, pi->sym[PYSYM_PY_VERSION], &hex,
                            pi->version, sizeof(pi->version), d);
        if (rc < 0)
                goto fail;
        pi->version_hex = hex;
        table_symbols(pi);

        /* .gnu_debuglink targets are searched next to the file; for a live
         * target that directory is in its mount namespace. */
        memsrc_root(m, root, sizeof(root));
        if (root[0] && e->path[0] == '/') {
                snprintf(lookup_path, sizeof(lookup_path), "%s%s", root, e->path);
                if (access(lookup_path, R_OK) < 0)
                        snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        } else {
                snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        }

        /* From here a pending DWARF read may own e: it is only read. */
        rc = choose_layout(m, e, lookup_path, pi, early, d);
        if (pi->pending)
                own = NULL;
        if (rc < 0 && rc != -ESRCH && pi->pending) {
                /* No family candidate fits: the DWARF read decides, as it
                 * would have without the wait. */
                bool changed;

                diag_clear(d);
                rc = pyinterp_settle(m, pi, &changed, d);
        }
        if (rc < 0)
                goto fail;

        rc = verify_layout(m, pi, &pi->layout, &pi->layout_checks, d);
        if (rc < 0)
                pi->layout_checks = 0;          /* not a validated layout */
        if (rc < 0 && pi->pending) {
                /* The table does not fit: the DWARF read decides, as it
                 * would have without the wait. */
                bool changed;

                diag_clear(d);
                rc = pyinterp_settle(m, pi, &changed, d);
                if (rc == 0 && !changed)
                        rc = verify_layout(m, pi, &pi->layout, &pi->layout_checks, d);
        }
        if (rc < 0)
                goto fail;

        pyelf_free(own);
        pi->find_ms = mono_ms() - t0;
        *ret = pi;
        return 0;
fail:
        pyinterp_free(pi);
        pyelf_free(own);
        return rc;
}

int pyinterp_find(struct memsrc *m, const struct pyinterp_opts *o, struct pyinterp **ret,
                  struct diag *d)
{
        return find(m, false, o, ret, d);
}

int pyinterp_find_early(struct memsrc *m, const struct pyinterp_opts *o,
                        struct pyinterp **ret, struct diag *d)
{
        return find(m, true, o, ret, d);
}

void pyinterp_free(struct pyinterp *pi)
{
        if (!pi)
                return;
        if (pi->pending)
                pending_end(pi->pending);
        free(pi->elf_path);
        free(pi->elf_host_path);
        free(pi);
}
