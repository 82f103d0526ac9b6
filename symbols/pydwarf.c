/* dwarf: the DWARF layout provider (libdw/libdwfl). */
#include "pydwarf.h"

#include <dwarf.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "diag.h"
#include "pyelf.h"
#include "layout.h"

/* Bounds for walking DWARF from files we did not build. */
#define MAX_TYPE_CHAIN    32
#define MAX_ANON_DEPTH    8
#define MAX_MEMBERS       100000
#define MAX_PATH_PARTS    8
#define NAME_HASH_SIZE    512   /* > 2 x the number of struct name alternatives */

struct name_slot {
        const char *name;         /* NULL = empty */
        uint8_t sid;              /* enum layout_struct_id */
        uint8_t alt;              /* index among its struct's alternatives */
};

/* Distinct definitions kept per struct.  A name can denote different
 * structs in different CUs (`block` is a deque block in _collectionsmodule.c
 * and an arena block in pyarena.c); the definition that resolves the most
 * fields wins. */
#define MAX_CANDIDATES    4

struct scan {
        struct name_slot hash[NAME_HASH_SIZE];
        char *names_buf[LS__COUNT];   /* '|' replaced by NULs */
        Dwarf_Die cand[LS__COUNT][MAX_CANDIDATES];
        Dwarf_Word cand_size[LS__COUNT][MAX_CANDIDATES];
        int ncand[LS__COUNT];
        int best_alt[LS__COUNT];      /* INT_MAX = not found yet */
};

static uint32_t hash_name(const char *s)
{
        uint32_t h = 2166136261u;

        while (*s)
                h = (h ^ (unsigned char)*s++) * 16777619u;
        return h;
}

static int scan_init(struct scan *sc)
{
        memset(sc, 0, sizeof(*sc));
        for (int sid = 0; sid < LS__COUNT; sid++) {
                char *p;
                int alt = 0;

                sc->best_alt[sid] = INT_MAX;
                sc->names_buf[sid] = strdup(layout_struct_dwarf_names(sid));
                if (!sc->names_buf[sid])
                        return -ENOMEM;
                p = sc->names_buf[sid];
                for (;;) {
                        char *bar = strchr(p, '|');
                        uint32_t h;

                        if (bar)
                                *bar = '\0';
                        h = hash_name(p) % NAME_HASH_SIZE;
                        for (int probes = 0; sc->hash[h].name; probes++) {
                                if (probes >= NAME_HASH_SIZE)
                                        return -ENOSPC;
                                h = (h + 1) % NAME_HASH_SIZE;
                        }
                        sc->hash[h] = (struct name_slot){ p, (uint8_t)sid, (uint8_t)alt };
                        alt++;
                        if (!bar)
                                break;
                        p = bar + 1;
                }
        }
        return 0;
}

static void scan_release(struct scan *sc)
{
        for (int sid = 0; sid < LS__COUNT; sid++)
                free(sc->names_buf[sid]);
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
        Dwarf_Attribute a;

        return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, ret);
}

/* Typedefs and qualifiers down to the struct/union, which must be a complete
 * definition (headers declare many structs without defining them). */
static bool complete_aggregate(Dwarf_Die *die, Dwarf_Die *ret)
{
        Dwarf_Die t;
        int tag;

        if (dwarf_peel_type(die, &t) != 0)
                return false;
        tag = dwarf_tag(&t);
        if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
                return false;
        if (dwarf_hasattr(&t, DW_AT_declaration) || !dwarf_hasattr(&t, DW_AT_byte_size))
                return false;
        *ret = t;
        return true;
}

static void consider(struct scan *sc, Dwarf_Die *die, const char *name)
{
        uint32_t h = hash_name(name) % NAME_HASH_SIZE;

        for (int probes = 0; sc->hash[h].name && probes < NAME_HASH_SIZE; probes++) {
                const struct name_slot *s = &sc->hash[h];
                Dwarf_Die t;

                Dwarf_Word size;
                int sid = s->sid, i;

                h = (h + 1) % NAME_HASH_SIZE;
                if (strcmp(s->name, name) || s->alt > sc->best_alt[sid])
                        continue;
                if (!complete_aggregate(die, &t) || dwarf_aggregate_size(&t, &size) != 0)
                        continue;
                if (s->alt < sc->best_alt[sid]) {
                        sc->best_alt[sid] = s->alt;
                        sc->ncand[sid] = 0;
                }
                for (i = 0; i < sc->ncand[sid]; i++)
                        if (sc->cand_size[sid][i] == size)
                                break;
                if (i < sc->ncand[sid] || sc->ncand[sid] == MAX_CANDIDATES)
                        continue;
                sc->cand[sid][i] = t;
                sc->cand_size[sid][i] = size;
                sc->ncand[sid]++;
        }
}

static void scan_units(struct scan *sc, Dwarf *dw)
{
        Dwarf_CU *cu = NULL, *next;
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie;

        while (dwarf_get_units(dw, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
                Dwarf_Die child;

                cu = next;
                if (dwarf_child(&cudie, &child) != 0)
                        continue;
                do {
                        int tag = dwarf_tag(&child);
                        const char *name;

                        if (tag != DW_TAG_typedef && tag != DW_TAG_structure_type &&
                            tag != DW_TAG_union_type)
                                continue;
                        name = dwarf_diename(&child);
                        if (name)
                                consider(sc, &child, name);
                } while (dwarf_siblingof(&child, &child) == 0);
        }
}

static bool member_offset(Dwarf_Die *m, Dwarf_Word *ret)
{
        Dwarf_Attribute a;
        Dwarf_Op *ops;
        size_t nops;

        if (!dwarf_attr_integrate(m, DW_AT_data_member_location, &a)) {
                *ret = 0;   /* union members carry no location */
                return true;
        }
        if (dwarf_formudata(&a, ret) == 0)
                return true;
        /* DWARF 2 style: a location expression, in practice plus_uconst. */
        if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 &&
            ops[0].atom == DW_OP_plus_uconst) {
                *ret = ops[0].number;
                return true;
        }
        return false;
}

/* Finds member `name` in aggregate agg, looking through anonymous struct and
 * union members as C does. */
static bool find_member(Dwarf_Die *agg, const char *name, size_t nlen, int depth,
                        Dwarf_Word *ret_off, Dwarf_Die *ret_member)
{
        Dwarf_Die child;
        int count = 0;

        if (depth > MAX_ANON_DEPTH || dwarf_child(agg, &child) != 0)
                return false;
        do {
                const char *mname;
                Dwarf_Word off;

                if (++count > MAX_MEMBERS)
                        return false;
                if (dwarf_tag(&child) != DW_TAG_member)
                        continue;
                mname = dwarf_diename(&child);
                if (mname) {
                        if (strlen(mname) != nlen || memcmp(mname, name, nlen))
                                continue;
                        if (!member_offset(&child, &off))
                                return false;
                        *ret_off = off;
                        *ret_member = child;
                        return true;
                } else {
                        Dwarf_Die t, inner, found;
                        Dwarf_Word inner_off;

                        if (!type_of(&child, &t) || !complete_aggregate(&t, &inner) ||
                            !member_offset(&child, &off))
                                continue;
                        if (find_member(&inner, name, nlen, depth + 1, &inner_off, &found)) {
                                *ret_off = off + inner_off;
                                *ret_member = found;
                                return true;
                        }
                }
        } while (dwarf_siblingof(&child, &child) == 0);
        return false;
}

static bool type_size(Dwarf_Die *type, Dwarf_Word *ret)
{
        Dwarf_Die t;

        if (dwarf_peel_type(type, &t) != 0)
                return false;
        return dwarf_aggregate_size(&t, ret) == 0;
}

/* Resolves one alternative ("a.b.c") of a field path inside agg. */
static bool resolve_path(Dwarf_Die *agg, const char *path, size_t plen,
                         struct layout_field_info *ret)
{
        Dwarf_Die cur = *agg, member, t, elem;
        Dwarf_Word total = 0, size = 0, esize;
        const char *p = path, *end = path + plen;
        int parts = 0;

        for (;;) {
                const char *dot = memchr(p, '.', (size_t)(end - p));
                size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
                Dwarf_Word off;

                if (++parts > MAX_PATH_PARTS || n == 0)
                        return false;
                if (!find_member(&cur, p, n, 0, &off, &member))
                        return false;
                total += off;
                if (!dot)
                        break;
                if (!type_of(&member, &t) || !complete_aggregate(&t, &cur))
                        return false;
                p = dot + 1;
        }
        if (total > UINT32_MAX)
                return false;

        memset(ret, 0, sizeof(*ret));
        ret->offset = (uint32_t)total;
        ret->present = true;
        if (!type_of(&member, &t) || dwarf_peel_type(&t, &t) != 0)
                return true;   /* offset known, width unknown: still usable */
        if (dwarf_tag(&t) == DW_TAG_array_type) {
                if (type_of(&t, &elem) && type_size(&elem, &esize) && esize <= UINT32_MAX)
                        ret->elem_size = (uint32_t)esize;
                /* Flexible array members have no bound: size 0. */
                if (dwarf_aggregate_size(&t, &size) == 0 && size <= UINT32_MAX)
                        ret->size = (uint32_t)size;
        } else if (dwarf_aggregate_size(&t, &size) == 0 && size <= UINT32_MAX) {
                ret->size = (uint32_t)size;
                ret->elem_size = (uint32_t)size;
        }
        return true;
}

/* Resolves every field of struct sid inside definition agg; returns how
 * many resolved.  Writes only the fields of that struct. */
static int resolve_fields(Dwarf_Die *agg, int sid, struct layout *l)
{
        int n = 0;

        for (int fid = 0; fid < LF__COUNT; fid++) {
                const char *alts = layout_field_path(fid);

                if ((int)layout_field_struct(fid) != sid)
                        continue;
                memset(&l->f[fid], 0, sizeof(l->f[fid]));
                while (*alts) {
                        const char *bar = strchr(alts, '|');
                        size_t len = bar ? (size_t)(bar - alts) : strlen(alts);

                        if (resolve_path(agg, alts, len, &l->f[fid])) {
                                n++;
                                break;
                        }
                        if (!bar)
                                break;
                        alts = bar + 1;
                }
        }
        return n;
}

static void fill_layout(struct scan *sc, struct layout *l)
{
        for (int sid = 0; sid < LS__COUNT; sid++) {
                int best = 0, best_n = -1;

                if (sc->ncand[sid] == 0)
                        continue;
                for (int i = 0; i < sc->ncand[sid] && sc->ncand[sid] > 1; i++) {
                        int n = resolve_fields(&sc->cand[sid][i], sid, l);

                        if (n > best_n) {
                                best_n = n;
                                best = i;
                        }
                }
                resolve_fields(&sc->cand[sid][best], sid, l);
                if (sc->cand_size[sid][best] <= UINT32_MAX)
                        l->s[sid].size = (uint32_t)sc->cand_size[sid][best];
                l->s[sid].present = true;
        }
}

/* libdwfl's default path (":.debug:/usr/lib/debug") searches the host's
 * /usr/lib/debug only; a target in a container or chroot keeps its debug
 * packages (python3.X-dbg puts .build-id/NN/REST.debug there) under its own
 * root.  Absolute entries are searched by build-id too. */
static void debug_search_path(const char *root, char *buf, size_t len);

/* Extension modules that are shared objects of their own in pyenv and
 * Debian builds (lib-dynload) and whose private structs the layout
 * describes (_struct is one in pyenv 3.12+); a build that links them in
 * has them in its main DWARF. */
static const char *const ext_modules[] = { "_asyncio", "_struct", "array" };

/* The release build of module mod in lib-dynload next to the interpreter
 * ELF at path (a libpython in lib/, or an executable in bin/): its name is
 * MOD.cpython-3MINOR-ARCH.so, the debug build's 3MINORd. */
static bool find_ext(const char *path, unsigned minor, const char *mod, char *buf, size_t len)
{
        static const char *const rel[] = { "", "/../lib" };
        const char *slash = strrchr(path, '/');
        char dir[PATH_MAX], prefix[64];

        if (!slash)
                return false;
        snprintf(prefix, sizeof(prefix), "%s.cpython-3%u-", mod, minor);
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                struct dirent *de;
                DIR *d;
                int n = snprintf(dir, sizeof(dir), "%.*s%s/python3.%u/lib-dynload",
                                 (int)(slash - path), path, rel[i], minor);

                if (n < 0 || (size_t)n >= sizeof(dir))
                        continue;
                d = opendir(dir);
                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        size_t nl = strlen(de->d_name);

                        if (strncmp(de->d_name, prefix, strlen(prefix)) || nl < 3 ||
                            strcmp(de->d_name + nl - 3, ".so"))
                                continue;
                        n = snprintf(buf, len, "%s/%s", dir, de->d_name);
                        closedir(d);
                        return n > 0 && (size_t)n < len;
                }
                closedir(d);
        }
        return false;
}

/* Adds to l the structs it lacks that the DWARF of the extension module at
 * path describes.  A module without DWARF adds nothing: its objects stay
 * opaque (layout gaps), which is never wrong. */
static int ext_fill(const char *path, const Dwfl_Callbacks *cb, struct layout *l)
{
        struct layout *ext = malloc(sizeof(*ext));
        struct scan *sc = malloc(sizeof(*sc));
        Dwfl *dwfl = NULL;
        Dwfl_Module *mod;
        Dwarf_Addr bias;
        Dwarf *dw;
        int rc = -ENOMEM;

        if (!ext || !sc || scan_init(sc) < 0)
                goto out;
        dwfl = dwfl_begin(cb);
        if (!dwfl)
                goto out;
        rc = -ENOENT;
        mod = dwfl_report_offline(dwfl, path, path, -1);
        dwfl_report_end(dwfl, NULL, NULL);
        dw = mod ? dwfl_module_getdwarf(mod, &bias) : NULL;
        if (!dw)
                goto out;
        rc = 0;
        scan_units(sc, dw);
        layout_init(ext, l->version_hex);
        fill_layout(sc, ext);
        for (int f = 0; f < LF__COUNT; f++) {
                int sid = layout_field_struct((enum layout_field_id)f);

                if (!l->s[sid].present && ext->s[sid].present)
                        l->f[f] = ext->f[f];
        }
        for (int sid = 0; sid < LS__COUNT; sid++)
                if (!l->s[sid].present && ext->s[sid].present)
                        l->s[sid] = ext->s[sid];
out:
        dwfl_end(dwfl);
        if (sc)
                scan_release(sc);
        free(sc);
        free(ext);
        return rc;
}

int pydwarf_ext_layout_fill(const char *path, struct layout *l)
{
        char search[128], *searchp = search;
        const Dwfl_Callbacks callbacks = {
                .find_elf = dwfl_build_id_find_elf,
                .find_debuginfo = dwfl_standard_find_debuginfo,
                .section_address = dwfl_offline_section_address,
                .debuginfo_path = &searchp,
        };

        debug_search_path(NULL, search, sizeof(search));
        return ext_fill(path, &callbacks, l);
}

static void ext_modules_fill(const struct pyelf *e, const char *lookup_path,
                             const Dwfl_Callbacks *cb, struct layout *l)
{
        unsigned maj, min;
        bool t = false;
        char path[PATH_MAX];

        if (pyelf_name_version(e->path, &maj, &min, &t) < 0 || maj != 3 || t)
                return;
        for (size_t i = 0; i < sizeof(ext_modules) / sizeof(ext_modules[0]); i++)
                if (find_ext(lookup_path ? lookup_path : e->path, min, ext_modules[i],
                             path, sizeof(path)))
                        ext_fill(path, cb, l);
}

static void debug_search_path(const char *root, char *buf, size_t len)
{
        int n = snprintf(buf, len, ":.debug:/usr/lib/debug:%s/usr/lib/debug", root ? root : "");

        if (!root || n < 0 || (size_t)n >= len)
                snprintf(buf, len, ":.debug:/usr/lib/debug");
}

static int no_debug_info(const struct pyelf *e, struct diag *d, const char *why)
{
        unsigned maj = 3, min = 0;
        bool t = false;
        char ver[16] = "3.X";

        if (pyelf_name_version(e->path, &maj, &min, &t) == 0)
                snprintf(ver, sizeof(ver), "%u.%u", maj, min);
        diag_set(d, -ENOENT,
                 "no debug info for %s (opened as %s, build-id %s%s%s): %s",
                 e->path, e->host_path ? e->host_path : e->path,
                 e->build_id[0] ? e->build_id : "none",
                 e->debuglink ? ", debuglink " : "", e->debuglink ? e->debuglink : "",
                 why);
        diag_append(d, "hint: install the distribution's debug symbols, e.g. on Debian "
                    "python%s-dbgsym from the debian-debug archive, or `apt install python%s-dbg`",
                    ver, ver);
        if (e->build_id[0])
                diag_append(d, "hint: separate debug files are searched as "
                            "/usr/lib/debug/.build-id/%.2s/%s.debug", e->build_id, e->build_id + 2);
        diag_append(d, "hint: or let debuginfod fetch them: export DEBUGINFOD_URLS=\"https://debuginfod.debian.net\" (or your distribution's server)");
        diag_append(d, "hint: or run a CPython built with -g (pyenv builds are)");
        return -ENOENT;
}

int pydwarf_layout_fill(const struct pyelf *e, const char *lookup_path, const char *root,
                        struct layout *l, char *detail, size_t detail_len,
                        struct diag *d)
{
        struct scan *sc = NULL;
        Dwfl *dwfl = NULL;
        Dwfl_Module *mod;
        Dwarf *dw, *alt;
        Dwarf_Addr bias;
        const char *mainfile = NULL, *debugfile = NULL;
        char search[128], *searchp = search;
        const Dwfl_Callbacks callbacks = {
                .find_elf = dwfl_build_id_find_elf,
                .find_debuginfo = dwfl_standard_find_debuginfo,
                .section_address = dwfl_offline_section_address,
                .debuginfo_path = &searchp,
        };
        int fd = -1, rc;

        sc = malloc(sizeof(*sc));
        if (!sc)
                return diag_set(d, -ENOMEM, "out of memory");
        rc = scan_init(sc);
        if (rc < 0) {
                diag_set(d, rc, "cannot index the layout names: %s", strerror(-rc));
                goto out;
        }
        debug_search_path(root, search, sizeof(search));
        dwfl = dwfl_begin(&callbacks);
        if (!dwfl) {
                rc = diag_set(d, -ENOMEM, "cannot start libdwfl: %s", dwfl_errmsg(-1));
                goto out;
        }
        /* libdwfl takes ownership of the descriptor it is given. */
        fd = dup(e->fd);
        if (fd < 0) {
                rc = diag_set(d, -errno, "cannot duplicate the descriptor of %s: %m", e->path);
                goto out;
        }
        mod = dwfl_report_offline(dwfl, e->path, lookup_path ? lookup_path : e->path, fd);
        if (!mod) {
                close(fd);
                rc = no_debug_info(e, d, dwfl_errmsg(-1));
                goto out;
        }
        dwfl_report_end(dwfl, NULL, NULL);
        dw = dwfl_module_getdwarf(mod, &bias);
        if (!dw) {
                rc = no_debug_info(e, d, dwfl_errmsg(-1));
                goto out;
        }
        scan_units(sc, dw);
        /* dwz-compressed debug files move shared types to a supplementary
         * file; its units are not listed by the main file's iteration. */
        alt = dwarf_getalt(dw);
        if (alt)
                scan_units(sc, alt);
        if (sc->best_alt[LS_RUNTIME] == INT_MAX || sc->best_alt[LS_OBJECT] == INT_MAX) {
                rc = no_debug_info(e, d, "its debug info does not describe _PyRuntimeState");
                goto out;
        }
        fill_layout(sc, l);
        ext_modules_fill(e, lookup_path, &callbacks, l);
        l->source = "dwarf";
        dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
        snprintf(detail, detail_len, "DWARF from %s",
                 debugfile ? debugfile : mainfile ? mainfile : e->path);
        rc = 0;
out:
        dwfl_end(dwfl);
        if (sc)
                scan_release(sc);
        free(sc);
        return rc;
}
