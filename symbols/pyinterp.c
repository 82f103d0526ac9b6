/* pyinterp: find the interpreter, read its version, describe and validate
 * its layout. */
#include "pyinterp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "pydwarf.h"
#include "pyelf.h"
#include "memsrc.h"

static const char *const sym_names[PYSYM__COUNT] = {
#define PYSYM_NAME(id, name) [PYSYM_##id] = name,
        PYINTERP_SYMBOLS(PYSYM_NAME)
#undef PYSYM_NAME
};

const char *pysym_name(enum pysym_id id)
{
        return (unsigned)id < PYSYM__COUNT ? sym_names[id] : "?";
}

#define SUPPORTED "CPython 3.8 to 3.15 (default builds, not free-threaded)"

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
                return unsupported(d, what, "free-threaded builds keep no GC lists "
                                   "(objects live in mimalloc heaps)");
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
                        /* 3.13+: _Py_DebugOffsets opens the runtime (§2). */
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
                                return unsupported(d, what, "free-threaded builds keep no GC "
                                                   "lists (objects live in mimalloc heaps)");
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
        if (py_major(hex) == 2)
                return unsupported(d, what, "Python 2 predates _PyRuntime and the GC layout "
                                   "this tool reads");
        if (py_major(hex) != 3)
                return unsupported(d, what, "not a CPython 3 version");
        if (py_minor(hex) < 8)
                return unsupported(d, what, "versions before 3.8 have a different runtime "
                                   "and GC layout");
        if (py_minor(hex) > 15)
                return unsupported(d, what, "unknown future version; no layout provider "
                                   "can describe it");
        *ret_hex = hex;
        return 0;
}

/* --- layout providers ---------------------------------------------------- */

struct provider_input {
        struct memsrc *m;
        const struct pyelf *elf;
        const char *lookup_path;
        uint64_t runtime_addr;
};

/* A provider fills l (offsets, sizes, presence, l->source) or fails with a
 * diag.  They are tried in order; the first that succeeds wins.  Later:
 * "debug_offsets" (3.13+, from _Py_DebugOffsets) and "table" (generated
 * per-release tables), each usable to cross-check the others. */
struct layout_provider {
        const char *name;
        int (*fill)(const struct provider_input *in, struct layout *l,
                    char *detail, size_t detail_len, struct diag *d);
};

static int dwarf_provider(const struct provider_input *in, struct layout *l,
                          char *detail, size_t detail_len, struct diag *d)
{
        return pydwarf_layout_fill(in->elf, in->lookup_path, l, detail, detail_len, d);
}

static const struct layout_provider providers[] = {
        { "dwarf", dwarf_provider },
};

/* --- validation ---------------------------------------------------------- */

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
        if (layout_has(l, f))
                return 0;
        return bad(d, l, check, "the layout lacks %s (%s.%s)", layout_field_name(f),
                   layout_struct_name(layout_field_struct(f)), layout_field_path(f));
}

static int rd64(struct memsrc *m, uint64_t addr, uint64_t *ret)
{
        return memsrc_read_u64(m, addr, ret);
}

static int check_gc_list(struct memsrc *m, const struct pyinterp *pi, uint64_t interp,
                         struct diag *d)
{
        const struct layout *l = &pi->layout;
        const char *check = "gc generation 0 list";
        uint64_t gc, head, next, prev;
        int32_t collecting = 0;
        int rc;

        if (layout_has(l, LF_INTERP_GC))
                gc = interp + layout_off(l, LF_INTERP_GC);
        else if (layout_has(l, LF_RUNTIME_GC))
                gc = pi->runtime_addr + layout_off(l, LF_RUNTIME_GC);
        else
                return bad(d, l, check, "the layout has neither INTERP_GC nor RUNTIME_GC");
        if ((rc = need(d, l, check, LF_GCHEAD_NEXT)) < 0 ||
            (rc = need(d, l, check, LF_GCHEAD_PREV)) < 0)
                return rc;

        if (layout_has(l, LF_GC_COLLECTING)) {
                if (memsrc_read(m, gc + layout_off(l, LF_GC_COLLECTING), &collecting,
                                sizeof(collecting)) < 0)
                        return bad(d, l, check, "GC state at 0x%llx is unreadable",
                                   (unsigned long long)gc);
                if (collecting)
                        return 0;   /* lists are being rewritten: nothing to check */
        }
        if (layout_has(l, LF_GC_GENERATION0)) {
                if (rd64(m, gc + layout_off(l, LF_GC_GENERATION0), &head) < 0 || !head)
                        return bad(d, l, check, "generation0 pointer at 0x%llx is unreadable or NULL",
                                   (unsigned long long)(gc + layout_off(l, LF_GC_GENERATION0)));
        } else if (layout_has(l, LF_GC_GENERATIONS)) {
                head = gc + layout_off(l, LF_GC_GENERATIONS);
        } else if (layout_has(l, LF_GC_YOUNG)) {
                head = gc + layout_off(l, LF_GC_YOUNG);
        } else {
                return bad(d, l, check, "the layout has no GC list heads");
        }
        if (rd64(m, head + layout_off(l, LF_GCHEAD_NEXT), &next) < 0 || !next)
                return bad(d, l, check, "list head 0x%llx has an unreadable or NULL _gc_next",
                           (unsigned long long)head);
        next &= ~(uint64_t)3;
        if (next == head)
                return 0;
        if (rd64(m, next + layout_off(l, LF_GCHEAD_PREV), &prev) < 0)
                return bad(d, l, check, "first node 0x%llx of list 0x%llx is unreadable",
                           (unsigned long long)next, (unsigned long long)head);
        if ((prev & ~(uint64_t)3) != head)
                return bad(d, l, check, "first node 0x%llx of list 0x%llx points back to 0x%llx",
                           (unsigned long long)next, (unsigned long long)head,
                           (unsigned long long)(prev & ~(uint64_t)3));
        return 0;
}

static int validate(struct memsrc *m, const struct pyinterp *pi, struct diag *d)
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
        if (rd64(m, type_type + layout_off(l, LF_OBJECT_TYPE), &v) < 0 || v != type_type)
                return bad(d, l, "PyType_Type is its own type",
                           "ob_type of PyType_Type (0x%llx) reads 0x%llx",
                           (unsigned long long)type_type, (unsigned long long)v);

        if ((rc = need(d, l, "PyList_Type is named list", LF_TYPE_NAME)) < 0)
                return rc;
        if (!list_type || rd64(m, list_type + layout_off(l, LF_TYPE_NAME), &v) < 0 ||
            memsrc_read(m, v, name, 5) < 0 || memcmp(name, "list", 5))
                return bad(d, l, "PyList_Type is named list",
                           "tp_name of PyList_Type (0x%llx) does not read \"list\"",
                           (unsigned long long)list_type);

        if ((rc = need(d, l, "interpreters head", LF_RUNTIME_INTERP_HEAD)) < 0)
                return rc;
        if (rd64(m, pi->runtime_addr + layout_off(l, LF_RUNTIME_INTERP_HEAD), &interp) < 0 ||
            !interp || rd64(m, interp, &v) < 0)
                return bad(d, l, "interpreters head",
                           "runtime 0x%llx + %u does not hold a readable interpreter pointer",
                           (unsigned long long)pi->runtime_addr,
                           layout_off(l, LF_RUNTIME_INTERP_HEAD));

        if ((rc = need(d, l, "first thread's interp", LF_INTERP_THREADS_HEAD)) < 0 ||
            (rc = need(d, l, "first thread's interp", LF_TSTATE_INTERP)) < 0)
                return rc;
        if (rd64(m, interp + layout_off(l, LF_INTERP_THREADS_HEAD), &tstate) < 0)
                return bad(d, l, "first thread's interp", "interpreter 0x%llx is unreadable",
                           (unsigned long long)interp);
        if (tstate && (rd64(m, tstate + layout_off(l, LF_TSTATE_INTERP), &v) < 0 || v != interp))
                return bad(d, l, "first thread's interp",
                           "thread state 0x%llx does not point back to interpreter 0x%llx",
                           (unsigned long long)tstate, (unsigned long long)interp);

        /* A running target mutates the young list all the time: a torn read
         * is retried before it counts as a layout error. */
        for (int attempt = 0;; attempt++) {
                rc = check_gc_list(m, pi, interp, d);
                if (rc == 0 || attempt == 2)
                        return rc;
        }
}

/* --- orchestration ------------------------------------------------------- */

int pyinterp_find(struct memsrc *m, struct pyinterp **ret, struct diag *d)
{
        struct pyelf *e = NULL;
        struct pyinterp *pi = NULL;
        uint64_t raw[PYSYM__COUNT];
        uint32_t hex = 0;
        char lookup_path[4096];
        pid_t pid;
        int rc;

        rc = pyelf_find(m, &e, d);
        if (rc < 0)
                return rc;
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
        pid = memsrc_pid(m);
        if (pid > 0 && e->path[0] == '/') {
                snprintf(lookup_path, sizeof(lookup_path), "/proc/%d/root%s", (int)pid, e->path);
                if (access(lookup_path, R_OK) < 0)
                        snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        } else {
                snprintf(lookup_path, sizeof(lookup_path), "%s", e->path);
        }

        rc = -ENOENT;
        for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
                struct provider_input in = { m, e, lookup_path, pi->runtime_addr };

                layout_init(&pi->layout, hex);
                rc = providers[i].fill(&in, &pi->layout, pi->layout_detail,
                                       sizeof(pi->layout_detail), d);
                if (rc == 0)
                        break;
        }
        if (rc < 0)
                goto fail;
        layout_derive_facts(&pi->layout);

        rc = validate(m, pi, d);
        if (rc < 0)
                goto fail;

        if (!e->host_path && !(e->host_path = strdup(e->path))) {
                rc = diag_set(d, -ENOMEM, "out of memory");
                goto fail;
        }
        snprintf(pi->build_id, sizeof(pi->build_id), "%s", e->build_id);
        pi->is_executable = e->is_executable;
        pi->bias = e->bias;
        pi->elf_path = e->path;
        pi->elf_host_path = e->host_path;
        e->path = e->host_path = NULL;
        pyelf_free(e);
        *ret = pi;
        return 0;
fail:
        pyinterp_free(pi);
        pyelf_free(e);
        return rc;
}

void pyinterp_free(struct pyinterp *pi)
{
        if (!pi)
                return;
        free(pi->elf_path);
        free(pi->elf_host_path);
        free(pi);
}
