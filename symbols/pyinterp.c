/* pyinterp: find the interpreter, read its version, describe and validate
 * its layout. */
#include "pyinterp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debugoffsets.h"
#include "clock.h"
#include "diag.h"
#include "layoutcache.h"
#include "pydwarf.h"
#include "pyelf.h"
#include "memsrc.h"
#include "tables.h"

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
        char root[64];               /* "" when the target's root is not
                                        searched */
};

static void note(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void note(char *buf, size_t len, const char *fmt, ...)
{
        size_t used = strlen(buf);
        va_list ap;

        if (used + 3 >= len)
                return;
        if (used) {
                memcpy(buf + used, "; ", 3);
                used += 2;
        }
        va_start(ap, fmt);
        vsnprintf(buf + used, len - used, fmt, ap);
        va_end(ap);
}

/* First line of a diag, for the one-line provider summary. */
static const char *first_line(const struct diag *d, char *buf, size_t len)
{
        snprintf(buf, len, "%.*s", (int)strcspn(d->msg, "\n"), d->msg);
        return buf;
}

/* ID= of the target's /etc/os-release (through /proc/PID/root for a live
 * target, so a container or chroot reports its own distribution). */
static void os_release_id(pid_t pid, char *buf, size_t len)
{
        char path[64], line[256];
        FILE *f;

        buf[0] = '\0';
        if (pid > 0)
                snprintf(path, sizeof(path), "/proc/%d/root/etc/os-release", (int)pid);
        else
                snprintf(path, sizeof(path), "/etc/os-release");
        f = fopen(path, "re");
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
static const char *detect_variant(struct memsrc *m, const struct pyelf *e, uint32_t hex)
{
        const struct layout_table *t;
        char id[64];

        if (e->build_id[0] && layout_table_lookup(hex, NULL, e->build_id, &t) == 0 &&
            strstr(t->build_ids, e->build_id))
                return t->variant;
        if (strncmp(e->path, "/usr/bin/", 9) && strncmp(e->path, "/usr/lib/", 9))
                return "";
        os_release_id(memsrc_pid(m), id, sizeof(id));
        if (!strcmp(id, "debian"))
                return "debian";
        return "";
}

/* "" = no cache (the library's default; the CLI sets one) */
static char cache_dir[4096];

void pyinterp_set_layout_cache(const char *dir)
{
        snprintf(cache_dir, sizeof(cache_dir), "%s", dir ? dir : "");
}

static bool cached_dwarf(const struct pyelf *e, struct provider_run *out)
{
        if (!cache_dir[0] || !e->build_id[0] ||
            layout_cache_load(cache_dir, e->build_id, &out->l, out->detail,
                              sizeof(out->detail)) < 0)
                return false;
        note(out->detail, sizeof(out->detail), "cached in %s", cache_dir);
        out->rc = 0;
        return true;
}

static void read_dwarf(const struct pyelf *e, const char *lookup_path, const char *root,
                       struct provider_run *out)
{
        out->rc = pydwarf_layout_fill(e, lookup_path, root, &out->l, out->detail,
                                      sizeof(out->detail), &out->d);
        /* a failed store only means the next attach reads the DWARF too */
        if (out->rc == 0 && cache_dir[0] && e->build_id[0])
                (void)layout_cache_store(cache_dir, e->build_id, &out->l, out->detail);
}

static void *pending_main(void *arg)
{
        struct pyinterp_pending *p = arg;

        read_dwarf(p->e, p->lookup_path, p->root[0] ? p->root : NULL, &p->r->dwarf);
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
        char root[64] = "";

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
        /* a core file's pid may name another process by now */
        if (memsrc_pid_in_namespace(m) > 0)
                snprintf(root, sizeof(root), "/proc/%d/root", (int)memsrc_pid(m));
        if (r->table.rc == 0 && layout_table_verified_for(r->t, e->build_id)) {
                r->dwarf.rc = diag_set(&r->dwarf.d, -ENOENT, "not read: %s was generated from "
                                       "this very build's DWARF (build-id %s)", r->t->source,
                                       e->build_id);
        } else if (cached_dwarf(e, &r->dwarf)) {
                /* read by an earlier attach to this very build */
        } else if (defer && r->table.rc == 0 && (*pending = calloc(1, sizeof(**pending)))) {
                struct pyinterp_pending *p = *pending;

                p->e = e;
                p->r = r;
                p->variant = variant;
                snprintf(p->lookup_path, sizeof(p->lookup_path), "%s", lookup_path);
                snprintf(p->root, sizeof(p->root), "%s", root);
        } else {
                read_dwarf(e, lookup_path, root[0] ? root : NULL, &r->dwarf);
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
        note(pi->layout_disagreements, sizeof(pi->layout_disagreements), "%s", item);
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
                unsupported(d, what, "unknown future version: no provider can describe it "
                            "(no DWARF, no known _Py_DebugOffsets layout, no table)");
                n = layout_tables_of_minor(3, PY_MINOR_MAX, closest, sizeof(closest));
                diag_append(d, "hint: the closest supported version is 3.%d%s%s%s", PY_MINOR_MAX,
                            n ? " (tables: " : "", n ? closest : "", n ? ")" : "");
                return -EOPNOTSUPP;
        }
        if (r->dbg.rc == 0)
                diag_set(d, -ENOENT, "no layout for %s: its _Py_DebugOffsets cover only part "
                         "of the layout (not the GC list heads) and no generated table "
                         "matches %s%s%s", what, pi->version, *variant ? "-" : "", variant);
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

/* Chooses pi->layout from the providers' results (see above).  A DWARF
 * read still in progress (r->dwarf not to be touched) counts as absent;
 * pyinterp_settle decides again once it is done, from a clean slate. */
static int decide(struct pyinterp *pi, const struct pyelf *e, const char *variant,
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
                note(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: ok");
        else if (dwarf_pending)
                note(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: being read");
        else
                note(pi->layout_providers, sizeof(pi->layout_providers), "dwarf: %s",
                     first_line(&r->dwarf.d, line, sizeof(line)));
        if (r->dbg.rc == 0)
                note(pi->layout_providers, sizeof(pi->layout_providers), "debug_offsets: ok");
        else
                note(pi->layout_providers, sizeof(pi->layout_providers), "debug_offsets: %s",
                     first_line(&r->dbg.d, line, sizeof(line)));
        if (r->table.rc == 0)
                note(pi->layout_providers, sizeof(pi->layout_providers), "%s: ok",
                     r->t->source);
        else
                note(pi->layout_providers, sizeof(pi->layout_providers), "table: %s",
                     first_line(&r->table.d, line, sizeof(line)));

        if (dwarf_rc == 0) {
                pi->layout = r->dwarf.l;
                mark_providers(pi, &pi->layout, LP_DWARF);
                snprintf(pi->layout_detail, sizeof(pi->layout_detail), "%s", r->dwarf.detail);
                if (r->dbg.rc == 0)
                        compare_layouts(pi, &r->dwarf.l, "dwarf", &r->dbg.l, "debug_offsets");
                if (r->table.rc == 0)
                        compare_layouts(pi, &r->dwarf.l, "dwarf", &r->table.l, r->t->source);
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
                rc = no_provider(pi, e, variant, r, d);
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
        rc = decide(pi, e, variant, r, pi->pending != NULL, d);
        if (!pi->pending)
                free(r);
        return rc;
}

/* Everything walk and decoders read: two layouts that agree on these
 * describe the same memory the same way (the facts derive from them). */
static bool layout_same(const struct layout *a, const struct layout *b)
{
        if (a->version_hex != b->version_hex)
                return false;
        for (int s = 0; s < LS__COUNT; s++)
                if (a->s[s].present != b->s[s].present ||
                    (a->s[s].present && a->s[s].size != b->s[s].size))
                        return false;
        for (int f = 0; f < LF__COUNT; f++) {
                const struct layout_field_info *x = &a->f[f], *y = &b->f[f];

                if (x->present != y->present)
                        return false;
                if (x->present && (x->offset != y->offset || x->size != y->size ||
                                   x->elem_size != y->elem_size))
                        return false;
        }
        return true;
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
        rc = decide(pi, p->e, p->variant, p->r, false, d);
        if (rc == 0 && !layout_same(&before, &pi->layout)) {
                *changed = true;
                rc = pyinterp_validate(m, pi, d);
        }
        pending_end(p);
        pi->find_ms += mono_ms() - t0;
        return rc;
}

/* --- validation ---------------------------------------------------------- */

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

static int check_gc_lists(struct memsrc *m, const struct pyinterp *pi, uint64_t interp,
                          struct diag *d)
{
        const struct layout *l = &pi->layout;
        const char *check = "gc list heads link back to themselves";
        uint64_t gc, head = 0, g0;
        uint32_t step = 24;
        int32_t collecting = 0;
        int rc;

        if (lhas(l, LF_INTERP_GC))
                gc = interp + lo(l, LF_INTERP_GC);
        else if (lhas(l, LF_RUNTIME_GC))
                gc = pi->runtime_addr + lo(l, LF_RUNTIME_GC);
        else
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
                        return 0;   /* lists are being rewritten: nothing to check */
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
                const char *c0 = "generation0 points at the first generation head";

                if (rd64(m, gc + lo(l, LF_GC_GENERATION0), &g0) < 0 || !g0)
                        return bad(d, l, c0, "generation0 pointer at 0x%llx is unreadable or NULL",
                                   (unsigned long long)(gc + lo(l, LF_GC_GENERATION0)));
                if (head && g0 != head)
                        return bad(d, l, c0, "generation0 is 0x%llx but the layout puts the "
                                   "first head at gc+%u = 0x%llx (gc state at 0x%llx)",
                                   (unsigned long long)g0, lo(l, LF_GC_GENERATIONS),
                                   (unsigned long long)head, (unsigned long long)gc);
                head = g0;
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

int pyinterp_validate(struct memsrc *m, const struct pyinterp *pi, struct diag *d)
{
        const struct layout *l = &pi->layout;
        uint64_t type_type = pi->sym[PYSYM_TYPE_TYPE], list_type = pi->sym[PYSYM_LIST_TYPE];
        uint64_t v, interp, tstate;
        char name[8];
        int rc;

        if ((rc = need(d, l, "PyType_Type is its own type", LF_OBJECT_TYPE)) < 0)
                return rc;
        if (!type_type)
                return bad(d, l, "PyType_Type is its own type", "PyType_Type is not exported");
        if (rd64(m, type_type + lo(l, LF_OBJECT_TYPE), &v) < 0 || v != type_type)
                return bad(d, l, "PyType_Type is its own type",
                           "ob_type of PyType_Type (0x%llx) reads 0x%llx",
                           (unsigned long long)type_type, (unsigned long long)v);

        if ((rc = need(d, l, "PyList_Type is named list", LF_TYPE_NAME)) < 0)
                return rc;
        if (!list_type || rd64(m, list_type + lo(l, LF_TYPE_NAME), &v) < 0 ||
            memsrc_read(m, v, name, 5) < 0 || memcmp(name, "list", 5))
                return bad(d, l, "PyList_Type is named list",
                           "tp_name of PyList_Type (0x%llx) does not read \"list\"",
                           (unsigned long long)list_type);

        if ((rc = need(d, l, "interpreters head", LF_RUNTIME_INTERP_HEAD)) < 0)
                return rc;
        /* With PyType_Type and list checked, a NULL head is no layout
         * error: Py_Finalize has deleted the interpreter (the program is
         * exiting), or it has not been created yet. */
        if (rd64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) == 0 &&
            !interp)
                return pyinterp_no_interpreter(d, memsrc_pid(m));
        if (rd64(m, pi->runtime_addr + lo(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            !interp || rd64(m, interp, &v) < 0)
                return bad(d, l, "interpreters head",
                           "runtime 0x%llx + %u does not hold a readable interpreter pointer",
                           (unsigned long long)pi->runtime_addr,
                           lo(l, LF_RUNTIME_INTERP_HEAD));

        if ((rc = need(d, l, "first thread's interp", LF_INTERP_THREADS_HEAD)) < 0 ||
            (rc = need(d, l, "first thread's interp", LF_TSTATE_INTERP)) < 0)
                return rc;
        if (rd64(m, interp + lo(l, LF_INTERP_THREADS_HEAD), &tstate) < 0)
                return bad(d, l, "first thread's interp", "interpreter 0x%llx is unreadable",
                           (unsigned long long)interp);
        if (tstate && (rd64(m, tstate + lo(l, LF_TSTATE_INTERP), &v) < 0 || v != interp))
                return bad(d, l, "first thread's interp",
                           "thread state 0x%llx does not point back to interpreter 0x%llx",
                           (unsigned long long)tstate, (unsigned long long)interp);

        /* A running target mutates the young list all the time: a torn read
         * is retried before it counts as a layout error. */
        for (int attempt = 0;; attempt++) {
                rc = check_gc_lists(m, pi, interp, d);
                if (rc == 0 || attempt == 2)
                        return rc;
        }
}

/* --- orchestration ------------------------------------------------------- */

static int find(struct memsrc *m, bool early, struct pyinterp **ret, struct diag *d)
{
        struct pyelf *e = NULL, *own;
        struct pyinterp *pi = NULL;
        uint64_t raw[PYSYM__COUNT];
        uint32_t hex = 0;
        char lookup_path[4096];
        double t0 = mono_ms();
        pid_t pid;
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

        /* .gnu_debuglink targets are searched next to the file; for a live
         * target that directory is in its mount namespace. */
        pid = memsrc_pid_in_namespace(m) > 0 ? memsrc_pid(m) : 0;
        if (pid > 0 && e->path[0] == '/') {
                snprintf(lookup_path, sizeof(lookup_path), "/proc/%d/root%s", (int)pid, e->path);
                if (access(lookup_path, R_OK) < 0)
                        snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        } else {
                snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        }

        /* From here a pending DWARF read may own e: it is only read. */
        rc = choose_layout(m, e, lookup_path, pi, early, d);
        if (pi->pending)
                own = NULL;
        if (rc < 0)
                goto fail;

        rc = pyinterp_validate(m, pi, d);
        if (rc < 0 && pi->pending) {
                /* The table does not fit: the DWARF read decides, as it
                 * would have without the wait. */
                bool changed;

                diag_clear(d);
                rc = pyinterp_settle(m, pi, &changed, d);
                if (rc == 0 && !changed)
                        rc = pyinterp_validate(m, pi, d);
        }
        if (rc < 0)
                goto fail;

        pi->elf_path = strdup(e->path);
        pi->elf_host_path = strdup(e->host_path ? e->host_path : e->path);
        if (!pi->elf_path || !pi->elf_host_path) {
                rc = diag_set(d, -ENOMEM, "out of memory");
                goto fail;
        }
        snprintf(pi->build_id, sizeof(pi->build_id), "%s", e->build_id);
        pi->is_executable = e->is_executable;
        pi->bias = e->bias;
        pyelf_free(own);
        pi->find_ms = mono_ms() - t0;
        *ret = pi;
        return 0;
fail:
        pyinterp_free(pi);
        pyelf_free(own);
        return rc;
}

int pyinterp_find(struct memsrc *m, struct pyinterp **ret, struct diag *d)
{
        return find(m, false, ret, d);
}

int pyinterp_find_early(struct memsrc *m, struct pyinterp **ret, struct diag *d)
{
        return find(m, true, ret, d);
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
