/* Layout providers: DWARF vs _Py_DebugOffsets vs generated tables.
 *
 * Live targets (each skipped with a '#' note when absent):
 *   - pyenv CPython 3.8-3.13 with DWARF: the DWARF layout wins and every
 *     field the table (and on 3.13 the debug offsets) also describe agrees;
 *   - the same with libpython's DWARF stripped (a copy run through
 *     LD_LIBRARY_PATH): the table (3.13: debug offsets + table) wins and
 *     validates;
 *   - Debian bookworm's stripped /usr/bin/python3.11: table:3.11.2-debian;
 *   - H12's chroots (/var/cache/pyleak-attach/chroots/{trixie,sid}):
 *     python3.13/3.14/3.15 started with chroot(8), read through
 *     /proc/PID/root: debug offsets + the Debian table;
 *   - deliberately wrong layouts are refused by pyinterp_validate naming
 *     the check.
 * Fakes: a memsrc that maps the real /usr/bin/python3.11 ELF but serves
 * hand-made _PyRuntime bytes, for free-threaded and future versions and for
 * inconsistent debug-offset blocks.
 * Prints pyinterp_find's time per target ('#' lines): a figure, never
 * judged here (speed belongs to tests/bench/symbols, not to a timed test
 * on a shared, loaded machine). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "debugoffsets.h"
#include "diag.h"
#include "layout.h"
#include "memsrc-internal.h"
#include "pyelf.h"
#include "pyinterp.h"
#include "tables.h"
#include "tap.h"
#include "pychild.h"

#define CHROOTS "/var/cache/pyleak-attach/chroots"

static char pyenv_root[1024];




static int count_present(const struct layout *l)
{
        int n = 0;

        for (int f = 0; f < LF__COUNT; f++)
                n += l->f[f].present;
        return n;
}

static double cpu_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The CPU time this process spends in pyinterp_find (single-threaded; ELF
 * and DWARF reads hit the page cache) and the wall time, best of three
 * complete runs: printed for whoever reads the log, asserted nowhere. */
static void print_timing(const char *what, pid_t pid, const struct pyinterp *pi)
{
        double best_cpu = 1e9, best_wall = pi->find_ms;

        for (int i = 0; i < 3; i++) {
                struct pyinterp *again = NULL;
                double t0 = cpu_ms(), t;

                if (find(pid, &again, NULL) == 0) {
                        t = cpu_ms() - t0;
                        if (t < best_cpu)
                                best_cpu = t;
                        if (again->find_ms < best_wall)
                                best_wall = again->find_ms;
                }
                pyinterp_free(again);
        }
        printf("# %s: pyinterp_find %.1f ms CPU, %.1f ms wall (best of 3; first run %.1f ms "
               "wall); layout %s\n", what, best_cpu, best_wall, pi->find_ms, pi->layout.source);
}

/* --- tables themselves ---------------------------------------------------- */

static void test_tables(void)
{
        const struct layout_table *t;
        char buf[256];

        ok(layout_tables_count >= 11, "%zu tables embedded", layout_tables_count);
        for (size_t i = 0; i < layout_tables_count; i++) {
                struct layout l;
                unsigned unknown = 99;
                char ver[32];
                int rc;

                t = &layout_tables[i];
                layout_init(&l, t->version_hex);
                rc = layout_table_fill(t, &l, &unknown);
                snprintf(ver, sizeof(ver), "%u.%u.%u", py_major(t->version_hex),
                         py_minor(t->version_hex), py_micro(t->version_hex));
                ok(rc == 0 && unknown == 0 && !strcmp(l.source, t->source),
                   "%s parses, every name known (rc %d, %u unknown)", t->key, rc, unknown);
                ok(!strncmp(t->key, ver, strlen(ver)) &&
                   (t->key[strlen(ver)] == '\0' || t->key[strlen(ver)] == '-'),
                   "%s is keyed by its full version %s", t->key, ver);
                ok(l.s[LS_RUNTIME].present && lhas(&l, LF_OBJECT_TYPE) &&
                   lhas(&l, LF_GC_GENERATIONS) && lhas(&l, LF_GCHEAD_PREV) &&
                   lhas(&l, LF_TSTATE_INTERP) && lhas(&l, LF_TYPE_NAME),
                   "%s has what validation needs (%d fields)", t->key, count_present(&l));
        }
        ok(layout_table_lookup(0x030b02f0, "debian", NULL, &t) == 0 &&
           !strcmp(t->key, "3.11.2-debian"), "lookup 3.11.2 debian");
        ok(layout_table_lookup(0x030b02f0, "", NULL, &t) == -ENOENT,
           "no upstream 3.11.2 table: variants are not mixed");
        ok(layout_table_lookup(0x030e0af0, "", "cccda113240f3ba4c016991793a62dc0cfe01613", &t) == 0 &&
           !strcmp(t->key, "3.14.10-debian"), "lookup by build-id finds the debian 3.14.10 table");
        ok(layout_table_lookup(0x030e05f0, "", "cccda113240f3ba4c016991793a62dc0cfe01613", &t) ==
           -ENOENT, "a build-id match with another version is not used");

        /* obmalloc.c's statics from _PyRuntime, for the table's own build
         * only (readelf -s of pyenv's libpython3.8.so.1.0: arenas at
         * 0x359960, _PyRuntime at 0x372e00) */
        {
                const char *bid = "ff2a4988bea9e9bbbb8004eb6e74cc0792734c3b";
                int64_t off = 0, other = 0;
                bool found = layout_table_lookup(0x030812f0, "", bid, &t) == 0 &&
                             layout_table_runtime_rel(t, bid, "arenas", &off) == 0;

                ok(found && off == -103584 &&
                   layout_table_runtime_rel(t, "ff2a4988bea9e9bbbb8004eb6e74cc0792734c3c",
                                            "arenas", &other) == -ENOENT &&
                   layout_table_runtime_rel(t, bid, "usedpools", &other) == -ENOENT,
                   "3.8.18: runtime-rel of arenas for its build-id only (%lld)", (long long)off);
        }

        /* tables made from the same build's DWARF (python3.X-dbg) say so,
         * for that build only, and carry the private structs */
        ok(layout_table_lookup(0x030e0af0, "debian", NULL, &t) == 0 &&
           layout_table_verified_for(t, "cccda113240f3ba4c016991793a62dc0cfe01613") &&
           !layout_table_verified_for(t, "cccda113240f3ba4c016991793a62dc0cfe016") &&
           !layout_table_verified_for(t, "da113240f3ba4c016991793a62dc0cfe01613") &&
           !layout_table_verified_for(t, ""), "3.14.10-debian verified for its build-id only");
        for (size_t i = 0; i < layout_tables_count; i++) {
                struct layout l;

                t = &layout_tables[i];
                if (!strstr(t->key, "-debian") || !py_at_least(t->version_hex, 3, 13))
                        continue;
                layout_init(&l, t->version_hex);
                layout_table_fill(t, &l, NULL);
                ok(*t->verified_build_ids && l.s[LS_DEQUE].present && l.s[LS_ODICT].present &&
                   l.s[LS_PARTIAL].present && l.s[LS_LRUCACHE].present &&
                   l.s[LS_UNION].present && l.s[LS_METHWRAPPER].present &&
                   l.s[LS_TUPLEGETTER].present && l.s[LS_ABCDATA].present &&
                   l.s[LS_NAMESPACE].present && l.s[LS_GENALIAS].present,
                   "%s: verified against its build's DWARF (%s), private structs present",
                   t->key, t->verified_build_ids);
                if (py_at_least(t->version_hex, 3, 14))
                        ok(lhas(&l, LF_UNION_HASHABLE_ARGS) &&
                           lhas(&l, LF_UNION_UNHASHABLE_ARGS),
                           "%s: Union's 3.14+ hashable/unhashable args", t->key);
        }
        ok(layout_tables_of_minor(3, 13, buf, sizeof(buf)) == 3 && strstr(buf, "3.13.18-debian"),
           "tables of 3.13: %s", buf);
}

/* --- pyenv: DWARF vs table, then stripped -------------------------------- */

static bool pyenv_dir(unsigned minor, char *buf, size_t len)
{
        char cmd[1200];
        FILE *p;
        bool found = false;

        snprintf(cmd, sizeof(cmd), "ls -d %s/versions/3.%u.* 2>/dev/null | sort -V | tail -1",
                 pyenv_root, minor);
        p = popen(cmd, "r");
        if (p && fgets(buf, (int)len, p)) {
                buf[strcspn(buf, "\n")] = '\0';
                found = buf[0] != '\0';
        }
        if (p)
                pclose(p);
        return found;
}

static void check_facts(const char *what, const struct pyinterp *pi)
{
        const struct layout *l = &pi->layout;
        const struct layout_facts *f = &l->facts;
        unsigned minor = py_minor(pi->version_hex);

        ok(f->tagged_stackrefs == (minor >= 14) &&
           f->immortal == (minor >= 14 ? IMMORTAL_314 : minor >= 12 ? IMMORTAL_312 : IMMORTAL_NONE) &&
           f->gc_design == GC_DESIGN_GENERATIONAL,
           "%s: facts (tagged %d, immortal %d, gc design %d)", what, f->tagged_stackrefs,
           f->immortal, f->gc_design);
        ok(lo(l, LF_TUPLE_ITEM) == (minor >= 14 ? 32u : 24u),
           "%s: tuple items at %u", what, lo(l, LF_TUPLE_ITEM));
        if (minor == 13)
                ok(f->dict_visits_embedded_values == !strcmp(l->variant, "debian"),
                   "%s: dict visits embedded values: %d (variant \"%s\")", what,
                   f->dict_visits_embedded_values, l->variant);
}

static int strip_copy(const char *src, char *dir, size_t dirlen, char *lib, size_t liblen)
{
        char cmd[4500];
        const char *base = strrchr(src, '/') + 1;

        snprintf(dir, dirlen, "/tmp/pyleak-prov-XXXXXX");
        if (!mkdtemp(dir))
                return -errno;
        snprintf(lib, liblen, "%s/%s", dir, base);
        snprintf(cmd, sizeof(cmd), "objcopy --strip-debug '%s' '%s'", src, lib);
        return system(cmd) == 0 ? 0 : -EIO;
}

/* Each deliberately wrong layout must fail validation with -EBADMSG and a
 * message that names the check.  pi is a validated layout of a live target;
 * it is restored after each case. */
static void test_bad_layouts(pid_t pid, struct pyinterp *pi)
{
        static const struct {
                enum layout_field_id f;
                int delta;
                bool drop_gen0;
                const char *check;
        } cases[] = {
                { LF_OBJECT_TYPE, 8, false, "PyType_Type is its own type" },
                { LF_TYPE_NAME, 8, false, "PyList_Type is named list" },
                { LF_TSTATE_INTERP, 8, false, "first thread's interp" },
                /* Debian's 3.13 trap: heads at gc+20 vs gc+24. */
                { LF_GC_GENERATIONS, -4, false, "generation0 points at the first generation head" },
                { LF_GC_GENERATIONS, 8, true, "gc list heads link back to themselves" },
                { LF_GC_PERMANENT, 8, false, "gc list heads link back to themselves" },
        };
        struct memsrc *m = NULL;

        if (!ok(memsrc_open_live(pid, &m, NULL) == 0, "bad layouts: open target"))
                return;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct layout_field_info saved = pi->layout.f[cases[i].f];
                struct layout_field_info g0 = pi->layout.f[LF_GC_GENERATION0];
                struct diag d = { 0 };
                int rc;

                pi->layout.f[cases[i].f].offset += (uint32_t)cases[i].delta;
                if (cases[i].drop_gen0)
                        pi->layout.f[LF_GC_GENERATION0].present = false;
                rc = pyinterp_validate(m, pi, &d);
                ok(rc == -EBADMSG && strstr(d.msg, cases[i].check) &&
                   strstr(d.msg, pi->layout.source),
                   "wrong %s%+d: -EBADMSG naming \"%s\" (rc %d: %.*s)",
                   layout_field_name(cases[i].f), cases[i].delta, cases[i].check, rc,
                   (int)strcspn(d.msg, "\n"), d.msg);
                pi->layout.f[cases[i].f] = saved;
                pi->layout.f[LF_GC_GENERATION0] = g0;
        }
        ok(pyinterp_validate(m, pi, NULL) == 0, "the restored layout validates again");
        memsrc_free(m);
}

static bool same_layout(const struct layout *a, const struct layout *b, char *why, size_t len)
{
        for (int s = 0; s < LS__COUNT; s++)
                if (a->s[s].present != b->s[s].present || a->s[s].size != b->s[s].size) {
                        snprintf(why, len, "struct %s", layout_struct_name(s));
                        return false;
                }
        for (int f = 0; f < LF__COUNT; f++)
                if (a->f[f].present != b->f[f].present || a->f[f].offset != b->f[f].offset ||
                    a->f[f].size != b->f[f].size || a->f[f].elem_size != b->f[f].elem_size) {
                        snprintf(why, len, "field %s", layout_field_name(f));
                        return false;
                }
        return true;
}

/* pyinterp_find_early + pyinterp_settle must end where pyinterp_find
 * does (want), whether the table it walked with meanwhile was right
 * (pyenv tables are) or not (tampered here: settle must say so), and
 * whether the DWARF was parsed on its thread or by settle. */
static void check_early(const char *what, pid_t pid, const struct pyinterp *want,
                        bool expect_pending)
{
        struct memsrc *m = NULL;
        struct pyinterp *pi = NULL;
        struct diag d = { 0 };
        char why[96] = "";
        bool changed = true;
        int rc;

        for (int tamper = 0; tamper < 2; tamper++) {
                if (!ok(memsrc_open_live(pid, &m, &d) == 0, "%s: open (%s)", what, d.msg))
                        return;
                rc = pyinterp_find_early(m, NULL, &pi, &d);
                if (ok(rc == 0, "%s: find_early (rc %d) %s", what, rc, rc ? d.msg : "")) {
                        ok((pi->pending != NULL) == expect_pending &&
                           (!expect_pending || (strncmp(pi->layout.source, "dwarf", 5) &&
                            strstr(pi->layout_providers, "dwarf: being read"))),
                           "%s: %s while DWARF is %s (%s; %s)", what, pi->layout.source,
                           expect_pending ? "read" : "not needed", pi->layout_providers,
                           pi->pending ? "pending" : "settled");
                        /* once on its thread, once read by settle itself */
                        if (!tamper)
                                pyinterp_start_pending(pi);
                        if (tamper)
                                pi->layout.f[LF_LIST_ITEM].offset += 8;
                        rc = pyinterp_settle(m, pi, &changed, &d);
                        ok(rc == 0 && changed == (tamper && expect_pending) && !pi->pending,
                           "%s%s: settle rc %d, layout %s %s", what,
                           tamper ? " (tampered table)" : "", rc,
                           changed ? "changed" : "kept", rc ? d.msg : "");
                        if (!tamper || expect_pending)
                                ok(same_layout(&pi->layout, &want->layout, why, sizeof(why)) &&
                                   !strcmp(pi->layout.source, want->layout.source) &&
                                   !strcmp(pi->layout_providers, want->layout_providers) &&
                                   !strcmp(pi->layout_disagreements,
                                           want->layout_disagreements),
                                   "%s%s: settled as pyinterp_find: %s (%s)", what,
                                   tamper ? " (tampered table)" : "", pi->layout.source,
                                   why[0] ? why : pi->layout_providers);
                }
                pyinterp_free(pi);
                pi = NULL;
                memsrc_free(m);
                m = NULL;
        }
}

static void test_pyenv(unsigned minor)
{
        char dir[1100], py[1200], lib[1200], sdir[64], slib[1300], what[64], line[64] = "",
             want[64];
        char *argv[] = { py, "-c", SCRIPT, NULL };
        struct pyinterp *pi = NULL;
        struct child c;
        struct diag d = { 0 };
        int rc;

        if (!pyenv_dir(minor, dir, sizeof(dir))) {
                printf("# pyenv CPython 3.%u not installed, skipped\n", minor);
                return;
        }
        snprintf(py, sizeof(py), "%s/bin/python", dir);
        snprintf(lib, sizeof(lib), "%s/lib/libpython3.%u.so.1.0", dir, minor);

        /* With DWARF: DWARF wins, the others agree with it. */
        snprintf(what, sizeof(what), "pyenv 3.%u dwarf", minor);
        if (!ok(spawn(argv, NULL, line, sizeof(line), &c) == 0 && line[0], "%s: spawned", what))
                return;
        rc = find(c.pid, &pi, &d);
        if (ok(rc == 0, "%s: pyinterp_find (rc %d) %s", what, rc, rc ? d.msg : "")) {
                snprintf(want, sizeof(want), "table:%s: ok", line);
                ok(!strcmp(pi->layout.source, "dwarf") && !strcmp(pi->version, line),
                   "%s: source %s, version %s", what, pi->layout.source, pi->version);
                ok(strstr(pi->layout_providers, want) != NULL, "%s: table %s ran (%s)", what,
                   line, pi->layout_providers);
                if (minor >= 13)
                        ok(strstr(pi->layout_providers, "debug_offsets: ok") != NULL,
                           "%s: debug offsets ran too", what);
                ok(pi->ndisagreements == 0, "%s: no disagreement between providers (%u: %s)",
                   what, pi->ndisagreements, pi->layout_disagreements);
                ok(pi->field_provider[LF_LIST_ITEM] == LP_DWARF, "%s: fields from dwarf", what);
                print_timing(what, c.pid, pi);
                check_facts(what, pi);
                check_early(what, c.pid, pi, true);
        }
        pyinterp_free(pi);
        pi = NULL;
        reap(&c);

        /* Without DWARF: the table (3.13: debug offsets + table). */
        snprintf(what, sizeof(what), "pyenv 3.%u stripped", minor);
        if (!ok(strip_copy(lib, sdir, sizeof(sdir), slib, sizeof(slib)) == 0,
                "%s: copy %s", what, slib))
                return;
        if (ok(spawn(argv, sdir, line, sizeof(line), &c) == 0 && line[0], "%s: spawned", what)) {
                rc = find(c.pid, &pi, &d);
                if (ok(rc == 0, "%s: pyinterp_find (rc %d) %s", what, rc, rc ? d.msg : "")) {
                        snprintf(want, sizeof(want), "%stable:%s",
                                 minor >= 13 ? "debug_offsets+" : "", line);
                        ok(!strcmp(pi->layout.source, want), "%s: source %s (want %s)", what,
                           pi->layout.source, want);
                        ok(strstr(pi->elf_path, sdir) && !strcmp(pi->version, line),
                           "%s: the stripped %s, version %s", what, pi->elf_path, pi->version);
                        ok(strstr(pi->layout_providers, "dwarf: no debug info") != NULL,
                           "%s: dwarf had none (%s)", what, pi->layout_providers);
                        ok(pi->ndisagreements == 0, "%s: no disagreement (%u: %s)", what,
                           pi->ndisagreements, pi->layout_disagreements);
                        ok(pi->field_provider[LF_GC_GENERATIONS] == LP_TABLE &&
                           pi->field_provider[LF_LIST_ITEM] ==
                           (minor >= 13 ? LP_DEBUG_OFFSETS : LP_TABLE),
                           "%s: per-field providers recorded", what);
                        print_timing(what, c.pid, pi);
                        check_facts(what, pi);
                        check_early(what, c.pid, pi, true);
                        if (minor == 12)
                                test_bad_layouts(c.pid, pi);
                }
                pyinterp_free(pi);
                reap(&c);
        }
        unlink(slib);
        rmdir(sdir);
}

/* --- Debian ---------------------------------------------------------------- */

static void test_debian_target(const char *what, char *const argv[], const char *want_source,
                               const char *want_version)
{
        char line[64] = "";
        struct pyinterp *pi = NULL;
        struct child c;
        struct diag d = { 0 };
        int rc;

        if (!ok(spawn(argv, NULL, line, sizeof(line), &c) == 0 && line[0], "%s: spawned (%s)",
                what, line))
                return;
        rc = find(c.pid, &pi, &d);
        if (ok(rc == 0, "%s: pyinterp_find (rc %d) %s", what, rc, rc ? d.msg : "")) {
                ok(!strcmp(pi->layout.source, want_source), "%s: source %s (want %s)", what,
                   pi->layout.source, want_source);
                ok(!strcmp(pi->version, line) && (!want_version || !strcmp(line, want_version)),
                   "%s: version %s exact (target says %s)", what, pi->version, line);
                ok(!strcmp(pi->layout.variant, "debian"), "%s: variant %s", what,
                   pi->layout.variant);
                ok(pi->ndisagreements == 0, "%s: no disagreement (%u: %s)", what,
                   pi->ndisagreements, pi->layout_disagreements);
                printf("# %s: %s\n", what, pi->layout_detail);
                print_timing(what, c.pid, pi);
                check_facts(what, pi);
                if (py_minor(pi->version_hex) == 14)
                        ok(pi->layout.s[LS_GCSTATE].size == 264 &&
                           pi->struct_provider[LS_GCSTATE] == LP_DEBUG_OFFSETS,
                           "%s: GC state size 264 from the debug offsets: generational", what);
                if (py_minor(pi->version_hex) == 13)
                        ok(lo(&pi->layout, LF_GC_GENERATIONS) == 20,
                           "%s: Debian's generation heads at gc+20", what);
        }
        pyinterp_free(pi);
        reap(&c);
}

static void test_bookworm(void)
{
        char py[] = "/usr/bin/python3.11";
        char *argv[] = { py, "-c", SCRIPT, NULL };

        if (access(py, X_OK) < 0) {
                printf("# %s missing, skipped\n", py);
                return;
        }
        test_debian_target("bookworm python3.11", argv, "table:3.11.2-debian", "3.11.2");
}

static void test_chroot(const char *suite, const char *exe, const char *version)
{
        char root[256], inroot[512], bin[64], what[64], want[64];
        char *argv[] = { "/usr/sbin/chroot", root, bin, "-c", SCRIPT, NULL };

        snprintf(root, sizeof(root), CHROOTS "/%s", suite);
        snprintf(bin, sizeof(bin), "/usr/bin/%s", exe);
        snprintf(inroot, sizeof(inroot), "%s%s", root, bin);
        snprintf(what, sizeof(what), "%s %s", suite, exe);
        if (access(inroot, X_OK) < 0 || access("/usr/sbin/chroot", X_OK) < 0) {
                printf("# %s: %s not present (H12's chroots not built?), skipped\n", what, inroot);
                return;
        }
        snprintf(want, sizeof(want), "debug_offsets+table:%s-debian", version);
        test_debian_target(what, argv, want, version);
}

/* --- fakes: the real python3.11 ELF, hand-made runtime bytes ------------- */

struct fake {
        struct memsrc base;
        uint64_t addr;
        unsigned char *bytes;
        size_t len;
};

static int fake_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct fake *f = (struct fake *)m;

        if (addr < f->addr || addr + len > f->addr + f->len)
                return -EFAULT;
        memcpy(buf, f->bytes + (addr - f->addr), len);
        return 0;
}

static int fake_open(struct memsrc *m, const struct mem_region *r, char **host)
{
        int fd = open(r->path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (host)
                *host = strdup(r->path);
        return fd;
}

static void fake_destroy(struct memsrc *m)
{
        struct fake *f = (struct fake *)m;

        free(f->bytes);
        free(f);
}

static const struct memsrc_ops fake_ops = {
        .name = "fake", .read = fake_read, .open_mapped_file = fake_open,
        .destroy = fake_destroy,
};

/* Maps exe's first PT_LOAD (ET_EXEC: at its own address) and len zeroed
 * bytes at &_PyRuntime. */
static struct fake *fake_new(const char *exe, size_t len)
{
        struct fake *f = calloc(1, sizeof(*f));
        struct stat st;
        struct memsrc *m = NULL;
        struct pyelf *e = NULL;

        if (!f || stat(exe, &st) < 0)
                goto fail;
        f->base.ops = &fake_ops;
        f->base.nregions = 1;
        f->base.regions = calloc(1, sizeof(struct mem_region));
        if (!f->base.regions)
                goto fail;
        f->base.regions[0] = (struct mem_region){ .start = 0x400000, .end = 0x41f000,
                                                  .inode = st.st_ino, .r = true,
                                                  .path = strdup(exe) };
        m = &f->base;
        if (pyelf_find(m, &e, NULL) < 0 || !e->runtime_vaddr)
                goto fail;
        f->addr = e->runtime_vaddr + e->bias;
        pyelf_free(e);
        f->len = len;
        f->bytes = calloc(1, len);
        if (!f->bytes)
                goto fail;
        return f;
fail:
        if (m)
                memsrc_free(m);
        else
                free(f);
        return NULL;
}

static void put64(struct fake *f, size_t pos, uint64_t v)
{
        memcpy(f->bytes + pos, &v, 8);
}

static void test_fake_refusals(void)
{
        const char *exe = "/usr/bin/python3.11";
        struct pyinterp *pi = NULL;
        struct diag d = { 0 };
        struct fake *f;
        struct layout l;
        char detail[128];
        int rc;

        if (access(exe, R_OK) < 0) {
                printf("# %s missing: fake-target tests skipped\n", exe);
                return;
        }

        /* Free-threaded 3.13 */
        f = fake_new(exe, 4096);
        if (!ok(f != NULL, "fake target over %s", exe))
                return;
        memcpy(f->bytes, "xdebugpy", 8);
        put64(f, 8, 0x030d05f0);
        put64(f, 16, 1);
        rc = pyinterp_find(&f->base, NULL, &pi, &d);
        ok(rc == -EOPNOTSUPP && strstr(d.msg, "free-threaded") && strstr(d.msg, "3.13.5t") &&
           strstr(d.msg, "python3.13 instead of python3.13t"),
           "free-threaded 3.13.5t: -EOPNOTSUPP (rc %d: %s)", rc, d.msg);
        pyinterp_free(pi);
        pi = NULL;

        /* Future: 3.16.0a1 */
        put64(f, 8, 0x031000a1);
        put64(f, 16, 0);
        rc = pyinterp_find(&f->base, NULL, &pi, &d);
        ok(rc == -EOPNOTSUPP && strstr(d.msg, "3.16.0a1") && strstr(d.msg, "future") &&
           strstr(d.msg, "closest supported version is 3.15"),
           "future 3.16.0a1: -EOPNOTSUPP naming the closest version (rc %d: %s)", rc, d.msg);
        pyinterp_free(pi);
        pi = NULL;

        /* The provider itself: a block whose sizes make no sense. */
        put64(f, 8, 0x030e0af0);
        layout_init(&l, 0x030e0af0);
        rc = debugoffsets_fill(&f->base, f->addr, 0x030e0af0, &l, detail, sizeof(detail), &d);
        ok(rc == -EBADMSG && strstr(d.msg, "runtime_state.size"),
           "debug offsets with zero sizes: -EBADMSG (%s)", d.msg);
        /* ... an offset past its struct */
        for (size_t pos = 24; pos < 696; pos += 8)
                put64(f, pos, 64);
        put64(f, 24, 4096);            /* runtime size */
        put64(f, 40, 8192);            /* interpreters_head past it */
        rc = debugoffsets_fill(&f->base, f->addr, 0x030e0af0, &l, detail, sizeof(detail), &d);
        ok(rc == -EBADMSG && strstr(d.msg, "interpreters_head") && strstr(d.msg, "past the end"),
           "debug offsets with an offset past its struct: -EBADMSG (%s)", d.msg);
        /* ... a version other than the one detected */
        rc = debugoffsets_fill(&f->base, f->addr, 0x030e09f0, &l, detail, sizeof(detail), &d);
        ok(rc == -EBADMSG, "debug offsets version mismatch: -EBADMSG (%s)", d.msg);
        /* ... a pre-release: its block layout is unknown */
        put64(f, 8, 0x030e00c3);
        rc = debugoffsets_fill(&f->base, f->addr, 0x030e00c3, &l, detail, sizeof(detail), &d);
        ok(rc == -EOPNOTSUPP, "debug offsets of 3.14.0rc3: -EOPNOTSUPP (%s)", d.msg);
        ok(!debugoffsets_supported(0x030e00c3) && debugoffsets_supported(0x030f02f0) &&
           debugoffsets_supported(0x031000a1),
           "block layouts known for final 3.13-3.15; a future 3.16 alpha is attempted with "
           "3.15's (experimental)");
        /* ... a future version's block is read as the last known one's */
        put64(f, 8, 0x031000a1);
        rc = debugoffsets_fill(&f->base, f->addr, 0x031000a1, &l, detail, sizeof(detail), &d);
        ok(rc != -EOPNOTSUPP && (rc < 0 || strstr(detail, "future version, experimental")),
           "debug offsets of 3.16.0a1: attempted with 3.15's block (rc %d: %s%s)", rc,
           rc < 0 ? d.msg : "", rc < 0 ? "" : detail);

        /* A Debian 3.13.5 whose memory is not what the table says: the
         * table is found (variant from the path and .comment), the block is
         * refused, validation would never see garbage. */
        memset(f->bytes, 0, f->len);
        memcpy(f->bytes, "xdebugpy", 8);
        put64(f, 8, 0x030d05f0);
        rc = pyinterp_find(&f->base, NULL, &pi, &d);
        ok(rc == -EBADMSG && strstr(d.msg, "layout check") &&
           strstr(d.msg, "table:3.13.5-debian"),
           "fake 3.13.5 with garbage memory: -EBADMSG naming the check (rc %d: %.*s)", rc,
           (int)strcspn(d.msg, "\n"), d.msg);
        pyinterp_free(pi);
        memsrc_free(&f->base);
}

int main(void)
{
        const char *r = getenv("PYENV_ROOT");

        unsetenv("DEBUGINFOD_URLS");   /* no network from a unit test */
        if (r && *r)
                snprintf(pyenv_root, sizeof(pyenv_root), "%s", r);
        else
                snprintf(pyenv_root, sizeof(pyenv_root), "%s/.pyenv",
                         getenv("HOME") ? getenv("HOME") : "/root");

        test_tables();
        for (unsigned minor = 8; minor <= 13; minor++)
                test_pyenv(minor);
        test_bookworm();
        test_chroot("trixie", "python3.13", "3.13.5");
        test_chroot("sid", "python3.13", "3.13.18");
        test_chroot("sid", "python3.14", "3.14.10");
        test_chroot("sid", "python3.15", "3.15.2");
        test_fake_refusals();
        return tap_done();
}
