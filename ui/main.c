/* pyleak-attach: the command line.  Picks the source once (a live process or
 * a dump file), finds the interpreter before stopping the target (so the
 * pause covers only the capture), takes the snapshot, builds and analyses the
 * graph, then writes the reports and the dump, or opens the browser. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "browser.h"
#include "config.h"
#include "core.h"
#include "check.h"
#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "diff.h"
#include "fmt.h"
#include "growth.h"
#include "heap.h"
#include "memsrc.h"
#include "layoutcache.h"
#include "pool.h"
#include "progress.h"
#include "pyinterp.h"
#include "report.h"
#include "session.h"
#include "snapshot.h"
#include "store.h"
#include "tables.h"

/* A collection in progress leaves objects on private lists; it lasts
 * milliseconds, so a few short retries almost always find a quiet moment. */
#define COLLECTING_RETRIES 8
#define TORN_RETRIES 3          /* stopped mid-update: see take_heap */
#define COLLECTING_DELAY_MS 25

/* What the session's callbacks need to take another snapshot. */
struct app {
        struct options *o;
        struct memsrc *live;
        struct pyinterp *pi;
        bool previews;          /* the browser or a dump will show them */
        bool str_previews_only; /* ... or only the reports read them */
};

static const char usage_text[] =
"usage: pyleak-attach [OPTIONS] PID\n"
"       pyleak-attach [OPTIONS] PID PID... | --children PID\n"
"       pyleak-attach --check PID\n"
"       pyleak-attach [OPTIONS] DUMPFILE\n"
"       pyleak-attach [OPTIONS] --core COREFILE [--exe PATH] [--sysroot DIR]\n"
"\n"
"Snapshot a running CPython process from outside (it is paused only while its\n"
"memory is captured), then show its reference cycles, what the next\n"
"gc.collect() would free, gc.garbage, and the types that hold the memory.\n"
"On a terminal with no output option, opens the browser (? shows its keys);\n"
"otherwise writes the text report to stdout.  DUMPFILE (written by --dump)\n"
"is browsed or reported the same way, on any machine, with no target.\n"
"\n"
"Options:\n"
"  --json PATH          write the JSON report to PATH ('-' = stdout)\n"
"  --text PATH          write the text report to PATH ('-' = stdout); this is\n"
"                       the default on stdout when no other output is chosen\n"
"                       and stdout is not a terminal\n"
"  --objects            JSON: include every tracked object and its referents\n"
"  --top N              text: list at most N cycles/objects/types (default 20)\n"
"  --dump FILE          write the snapshot and its analyses to FILE (SQLite)\n"
"  --force              with --dump: replace FILE if it exists\n"
"  --dot FILE           write cycles as a Graphviz graph ('-' = stdout), one\n"
"                       cluster per cycle, edges labelled\n"
"  --dot-top N          --dot: the N biggest cycles (default 10)\n"
"  --dot-cycles LIST    --dot: these cycles, by rank (e.g. 1,3,5)\n"
"  --dot-local          --dot: cycles of the local grouping (the default now;\n"
"                       kept for scripts)\n"
"  --all-cycles         text, JSON, DOT and the browser: every strongly\n"
"                       connected component, interpreter structure (classes,\n"
"                       modules, functions, type/__mro__ cycles) included,\n"
"                       instead of the local grouping\n"
"  --baseline OLD.db    compare with an older dump of the same service: the\n"
"                       owners that grew since, matched by path (text, JSON,\n"
"                       and the browser's growth columns)\n"
"  --watch SECONDS      take a snapshot every SECONDS without pausing the\n"
"                       target (live mode) and report the owners that grew\n"
"                       in every interval\n"
"  --count N            --watch: this many snapshots (default 5)\n"
"  --heapsnapshot FILE  write the heap as a Chrome DevTools heap snapshot\n"
"                       ('-' = stdout): open it in DevTools' Memory panel\n"
"  --snapshot MODE      copy, fork, live or auto (default auto: fork when the\n"
"                       memory to copy is large and the target can fork)\n"
"  --max-memory SIZE    refuse to copy more than SIZE bytes, and keep the\n"
"                       graph's arrays past what is left of it in spill files\n"
"                       (K/M/G suffixes, at least 1M; default: half of the\n"
"                       memory available)\n"
"  --no-browser         never open the browser (text report instead)\n"
"  --no-cache           read the interpreter's DWARF even if an earlier run\n"
"                       cached its layout, and cache nothing (the cache is\n"
"                       $PYLEAK_ATTACH_CACHE_DIR, else ~/.cache/pyleak-attach)\n"
"  --children PID       a pool: every CPython descendant of PID (a pool\n"
"                       master: gunicorn, uwsgi, celery, multiprocessing),\n"
"                       each snapshotted alone, one after another, and\n"
"                       compared; PID PID... names the workers instead;\n"
"                       --dump then takes a name with %p (the pid) or DIR/\n"
"  --check              with a PID: say whether an attach would work and what\n"
"                       it would cost (permission, interpreter, layout, mode,\n"
"                       pause, budget), without stopping the target\n"
"  --core FILE          analyse a core file (gcore or kernel core) instead of\n"
"                       a live process\n"
"  --exe PATH           --core: the executable, if not where the core says\n"
"  --sysroot DIR        --core: find the mapped files under DIR (a container's\n"
"                       root file system)\n"
"  -q, --quiet          no progress messages on stderr\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit codes: 0 complete, 1 partial result (explained on stderr), 2 nothing\n"
"usable, 64 usage error or input refused before the target is touched.\n"
"See pyleak-attach(1).\n"
"Needs ptrace access to PID: root or CAP_SYS_PTRACE; or the same user when\n"
"kernel.yama.ptrace_scope is 0 or Yama is absent (with 1, only an ancestor of\n"
"PID).  A refusal names its cause and fix (README.md, \"Permissions\").\n";

/* The second line lists the layout tables this binary embeds: a build made
 * with -Dleave_out lacks some, and the leave-one-out tests check it. */
static void print_version(void)
{
        size_t i;

        printf("pyleak-attach %s\nlayout tables:", PYLEAK_VERSION);
        for (i = 0; i < layout_tables_count; i++)
                printf(" %s", layout_tables[i].key);
        printf("\n");
}

static long parse_count(const char *opt, const char *s, long max)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v <= 0 || v > max) {
                fprintf(stderr, "pyleak-attach: %s takes a number from 1 to %ld, not '%s'\n"
                        "Try 'pyleak-attach --help'.\n", opt, max, s);
                exit(EXIT_USAGE);
        }
        return v;
}

static void parse_dot_cycles(struct options *o, const char *s)
{
        char buf[4096], *save = NULL, *tok;

        if (strlen(s) >= sizeof(buf))
                die_usage("--dot-cycles: list too long: '%s'", s);
        strcpy(buf, s);
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (o->ndot_cycles == DOT_CYCLES_MAX)
                        die_usage("--dot-cycles: at most 1024 cycles, not '%s'", s);
                o->dot_cycles[o->ndot_cycles++] =
                        (uint32_t)parse_count("--dot-cycles", tok, INT_MAX);
        }
        if (!o->ndot_cycles)
                die_usage("--dot-cycles takes ranks such as 1,3,5, not '%s'", s);
}

/* A dump is named by a path: anything that is not a pid and names a file. */
static bool is_dump_arg(const char *s)
{
        struct stat st;

        if (s[strspn(s, "0123456789")] == 0 && s[0])
                return false;
        return stat(s, &st) == 0 && S_ISREG(st.st_mode);
}

static pid_t parse_pid(const char *s, const char *what)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v <= 0 || v > INT_MAX) {
                if (s[strspn(s, "0123456789")])
                        die_usage("%s takes process ids, not '%s'", what, s);
                die_usage("'%s' is not a process id", s);
        }
        return (pid_t)v;
}

/* PID PID... or --children PID: the options that make sense for one
 * process only are refused here, before any target is touched. */
static void parse_pool(int argc, char **argv, struct options *o)
{
        static pid_t pids[POOL_MAX_WORKERS];

        if (o->children_of && optind < argc)
                die_usage("unexpected argument '%s' (--children takes the pool master's PID; "
                          "its workers are found, not named)", argv[optind]);
        if (argc - optind > POOL_MAX_WORKERS)
                die_usage("at most %d PIDs in one pool", POOL_MAX_WORKERS);
        for (int i = optind; i < argc; i++) {
                pid_t p = parse_pid(argv[i], "a pool");

                for (unsigned k = 0; k < o->npids; k++)
                        if (pids[k] == p)
                                die_usage("PID %d is given twice", (int)p);
                pids[o->npids++] = p;
        }
        o->pids = pids;
        if (o->check)
                die_usage("%s", "--check takes one PID: check the workers one at a time");
        if (o->watch_s)
                die_usage("%s", "--watch takes one PID: watch one worker of the pool, the one "
                          "a pool report names as diverging");
        if (o->dot_path || o->heapsnapshot_path)
                die_usage("%s", "--dot and --heapsnapshot take one PID: write them for one "
                          "worker, e.g. the one a pool report names as diverging");
        if (o->force && !o->dump_path)
                die_usage("%s", "--force only applies to --dump");
        if (o->dump_path)
                o->dump_path = pool_dump_pattern("--dump", o->dump_path);
        if (o->baseline)
                o->baseline = pool_dump_pattern("--baseline", o->baseline);
}

/* The options together, and the PID or dump file: what getopt cannot
 * check.  Refusals exit 64 (die_usage). */
static void check_args(int argc, char **argv, struct options *o)
{
        char *end;
        long v;

        if (o->check && (o->core_path || o->json_path || o->text_path || o->dump_path ||
                         o->dot_path || o->heapsnapshot_path || o->objects || o->force))
                die_usage("%s", "--check takes a PID and no output option: it only checks");
        if ((o->exe_path || o->sysroot) && !o->core_path)
                die_usage("%s", "--exe and --sysroot only apply to --core");
        if (o->core_path) {
                if (o->children_of)
                        die_usage("%s", "--children takes a running pool, not --core");
                if (optind < argc)
                        die_usage("unexpected argument '%s' (--core takes no PID)", argv[optind]);
                return;
        }
        if (o->children_of || optind + 1 < argc) {
                parse_pool(argc, argv, o);
                return;
        }
        if (optind >= argc)
                die_usage("%s", "missing PID (the process to inspect) or dump file");
        if (o->force && !o->dump_path)
                die_usage("%s", "--force only applies to --dump");
        if ((o->dot_top || o->ndot_cycles || o->dot_local) && !o->dot_path)
                die_usage("%s", "--dot-top, --dot-cycles and --dot-local need --dot FILE");
        if (o->watch_count && !o->watch_s)
                die_usage("%s", "--count only applies to --watch");
        if (o->baseline && !is_dump_arg(o->baseline))
                die_usage("--baseline takes a dump file written by --dump, not '%s'",
                          o->baseline);
        if (!o->check && is_dump_arg(argv[optind])) {
                if (o->watch_s)
                        die_usage("%s", "--watch takes snapshots of a process, not of a dump");
                o->dump_in = argv[optind];
                return;
        }
        errno = 0;
        v = strtol(argv[optind], &end, 10);
        if (errno || *end || v <= 0 || v > INT_MAX) {
                if (argv[optind][strspn(argv[optind], "0123456789")])
                        die_usage("'%s' is neither a process id nor a dump file", argv[optind]);
                die_usage("'%s' is not a process id", argv[optind]);
        }
        o->pid = (pid_t)v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
        enum { OPT_JSON = 256, OPT_TEXT, OPT_OBJECTS, OPT_TOP, OPT_MAXMEM, OPT_DUMP,
               OPT_FORCE, OPT_DOT, OPT_DOT_TOP, OPT_DOT_CYCLES, OPT_DOT_LOCAL, OPT_HEAPSNAPSHOT,
               OPT_ALL_CYCLES, OPT_BASELINE, OPT_WATCH, OPT_COUNT,
               OPT_SNAPSHOT, OPT_NO_BROWSER, OPT_NO_CACHE, OPT_CORE, OPT_EXE, OPT_SYSROOT,
               OPT_CHECK, OPT_CHILDREN };
        static const struct option longopts[] = {
                {"json", required_argument, NULL, OPT_JSON},
                {"text", required_argument, NULL, OPT_TEXT},
                {"objects", no_argument, NULL, OPT_OBJECTS},
                {"top", required_argument, NULL, OPT_TOP},
                {"max-memory", required_argument, NULL, OPT_MAXMEM},
                {"dump", required_argument, NULL, OPT_DUMP},
                {"force", no_argument, NULL, OPT_FORCE},
                {"dot", required_argument, NULL, OPT_DOT},
                {"heapsnapshot", required_argument, NULL, OPT_HEAPSNAPSHOT},
                {"dot-top", required_argument, NULL, OPT_DOT_TOP},
                {"dot-cycles", required_argument, NULL, OPT_DOT_CYCLES},
                {"dot-local", no_argument, NULL, OPT_DOT_LOCAL},
                {"all-cycles", no_argument, NULL, OPT_ALL_CYCLES},
                {"baseline", required_argument, NULL, OPT_BASELINE},
                {"watch", required_argument, NULL, OPT_WATCH},
                {"count", required_argument, NULL, OPT_COUNT},
                {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
                {"no-browser", no_argument, NULL, OPT_NO_BROWSER},
                {"no-cache", no_argument, NULL, OPT_NO_CACHE},
                {"core", required_argument, NULL, OPT_CORE},
                {"exe", required_argument, NULL, OPT_EXE},
                {"sysroot", required_argument, NULL, OPT_SYSROOT},
                {"check", no_argument, NULL, OPT_CHECK},
                {"children", required_argument, NULL, OPT_CHILDREN},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        int c;

        o->mode = SNAPSHOT_AUTO;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_JSON: o->json_path = optarg; break;
                case OPT_TEXT: o->text_path = optarg; break;
                case OPT_OBJECTS: o->objects = true; break;
                case OPT_TOP: o->top = (unsigned)parse_count("--top", optarg, 1000000); break;
                case OPT_MAXMEM: o->max_memory = cli_parse_budget(optarg); break;
                case OPT_DUMP: o->dump_path = optarg; break;
                case OPT_FORCE: o->force = true; break;
                case OPT_DOT: o->dot_path = optarg; break;
                case OPT_HEAPSNAPSHOT: o->heapsnapshot_path = optarg; break;
                case OPT_DOT_TOP:
                        o->dot_top = (unsigned)parse_count("--dot-top", optarg, 100000);
                        break;
                case OPT_DOT_CYCLES: parse_dot_cycles(o, optarg); break;
                case OPT_DOT_LOCAL: o->dot_local = true; break;
                case OPT_ALL_CYCLES: o->all_cycles = true; break;
                case OPT_BASELINE: o->baseline = optarg; break;
                case OPT_WATCH: {
                        char *e;

                        errno = 0;
                        o->watch_s = strtod(optarg, &e);
                        if (errno || *e || !(o->watch_s > 0) || o->watch_s > 86400 * 7)
                                die_usage("--watch takes an interval in seconds (> 0, at most "
                                          "a week), not '%s'", optarg);
                        break;
                }
                case OPT_COUNT:
                        o->watch_count = (unsigned)parse_count("--count", optarg, 100000);
                        if (o->watch_count < 2)
                                die_usage("%s", "--count needs at least 2 snapshots to compare");
                        break;
                case OPT_SNAPSHOT:
                        if (snapshot_mode_parse(optarg, &o->mode) < 0)
                                die_usage("--snapshot takes copy, fork, live or auto, not '%s'",
                                          optarg);
                        break;
                case OPT_NO_BROWSER: o->no_browser = true; break;
                case OPT_NO_CACHE: o->no_cache = true; break;
                case OPT_CORE: o->core_path = optarg; break;
                case OPT_EXE: o->exe_path = optarg; break;
                case OPT_SYSROOT: o->sysroot = optarg; break;
                case OPT_CHECK: o->check = true; break;
                case OPT_CHILDREN: o->children_of = parse_pid(optarg, "--children"); break;
                case 'q': o->quiet = true; break;
                case 'h':
                        fputs(usage_text, stdout);
                        exit(EXIT_COMPLETE);
                case 'V':
                        print_version();
                        exit(EXIT_COMPLETE);
                default:
                        die_usage("unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        check_args(argc, argv, o);
}

static int fail(const struct diag *d, int err, const char *what)
{
        progress_clear();
        if (d && d->msg[0])
                fprintf(stderr, "pyleak-attach: %s\n", d->msg);
        else
                fprintf(stderr, "pyleak-attach: %s: %s\n", what, strerror(-err));
        return EXIT_NOTHING;
}

/* The first line of a diag, for the browser's one-line status. */
static void first_line(const struct diag *d, int err, char *msg, size_t len)
{
        snprintf(msg, len, "%s", d->msg[0] ? d->msg : strerror(-err));
        msg[strcspn(msg, "\n")] = 0;
}

/* What finding the interpreter cost and whether its layout providers
 * agreed: the report carries both so a dump keeps them too. */
static void set_symbol_facts(struct heap *h, const struct pyinterp *pi)
{
        h->meta.symbols_ms = pi->find_ms;
        snprintf(h->meta.layout_source, sizeof(h->meta.layout_source), "%s",
                 pi->layout.source ? pi->layout.source : "?");
        size_t n = strnlen(pi->layout_disagreements, sizeof(h->meta.layout_disagreements) - 1);

        /* Truncated on purpose: the full list is in the layout diagnostics. */
        memcpy(h->meta.layout_disagreements, pi->layout_disagreements, n);
        h->meta.layout_disagreements[n] = '\0';
        h->meta.layout_checks[0] = '\0';
        for (int c = 0; c < LC__COUNT; c++) {
                size_t used = strlen(h->meta.layout_checks);

                if (pi->layout_checks & (1u << c))
                        snprintf(h->meta.layout_checks + used,
                                 sizeof(h->meta.layout_checks) - used, "%s%s", used ? "; " : "",
                                 layout_check_name(c));
        }
        snprintf(h->meta.layout_candidates, sizeof(h->meta.layout_candidates), "%s",
                 pi->layout_candidates);
        snprintf(h->meta.layout_inferred, sizeof(h->meta.layout_inferred), "%s",
                 pi->layout_inferred);
        snprintf(h->meta.layout_gapped, sizeof(h->meta.layout_gapped), "%s", pi->layout_gapped);
        h->meta.layout_experimental = pi->layout_experimental;
}

/* The first walk may have used a generated table while the interpreter's
 * DWARF was read beside it (pyinterp_find_early).  Where the DWARF says
 * otherwise, the graph is built again from the same snapshot with what
 * pyinterp_find would have chosen (*r: heap_build's result, updated).
 * Fails as pyinterp_find would have: the layout is then unusable. */
static int settle_layout(struct app *a, struct memsrc *snap, const struct heap_build_opts *bo,
                         bool quiet, int *r, struct heap **h, struct diag *d)
{
        struct diag sd = {0};
        bool changed;
        int s = pyinterp_settle(a->live, a->pi, &changed, &sd);

        if (!quiet && changed)
                fprintf(stderr, "pyleak-attach: the DWARF layout differs from the table's; "
                        "building the graph again with it\n");
        if (s < 0 || changed) {
                heap_free(*h);
                *h = NULL;
        }
        if (s < 0) {
                *d = sd;
                return s;
        }
        if (changed) {
                diag_clear(d);
                *r = heap_build(snap, a->pi, bo, h, d);
        }
        return 0;
}

/* Tests only: PYLEAK_ATTACH_TEST_EXIT=STAGE (snapshot: before the
 * snapshot; walk: after it, before the graph is read) sends the target
 * SIGTERM at that point and waits until it has exited, so the tests can
 * make a target exit in the middle of an attach at a chosen moment. */
static void test_target_exit(pid_t pid, const char *stage)
{
        const char *want = getenv("PYLEAK_ATTACH_TEST_EXIT");
        char path[64];
        struct stat st;

        if (!want || strcmp(want, stage) || kill(pid, SIGTERM) < 0)
                return;
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        /* gone, or a zombie (its task list empties); 10 s at most */
        for (int i = 0; i < 10000; i++) {
                struct diag d = {0};

                if (stat(path, &st) < 0 || snapshot_explain_exit(pid, &d) < 0)
                        return;
                nanosleep(&(struct timespec){0, 1000000L}, NULL);
        }
}

/* A stopped snapshot whose lists broke (-EBADMSG, d says where): whether
 * to take another.  A thread stopped in the middle of linking an object
 * into its GC list (any instruction can be the one) leaves that list
 * broken in a stopped snapshot: the next snapshot almost surely catches
 * it elsewhere, with the update finished.  The same check failing on the
 * same node again (torn_first: the first break's text) is what the
 * target's memory holds: a corruption, which d then says. */
static bool torn_again(const struct app *a, bool quiet, int *retries, char *torn_first,
                       struct diag *d)
{
        int n = (int)strcspn(d->msg, "\n");

        if (*retries > 0 && !strncmp(d->msg, torn_first, (size_t)n) && torn_first[n] == '\0') {
                diag_append(d, "the same check failed on the same node in two snapshots, so "
                            "no thread was caught in the middle of an update: the target's "
                            "memory is corrupt");
                diag_append(d, "hint: something in the process wrote over interpreter memory "
                            "(a C extension, ctypes); it may crash, and a core file keeps the "
                            "evidence (gcore %d)", (int)a->o->pid);
                return false;
        }
        if ((*retries)++ < TORN_RETRIES) {
                if (!quiet)
                        fprintf(stderr, "pyleak-attach: %.*s\npyleak-attach: a thread stopped "
                                "in the middle of linking or unlinking an object leaves a list "
                                "so: taking another snapshot\n", n, d->msg);
                snprintf(torn_first, DIAG_MSG_MAX, "%.*s", n, d->msg);
                diag_clear(d);
                return true;
        }
        diag_append(d, "hint: the lists broke at another place in each of %d snapshots: the "
                    "target updates them faster than it can be stopped cleanly; try again, "
                    "or --snapshot live", TORN_RETRIES + 1);
        return false;
}

/* What the snapshot itself says about h (its pause, its mode, ...). */
static void fill_meta(const struct app *a, const struct snapshot_stats *st, struct heap *h)
{
        h->meta.pid = a->o->pid;
        h->meta.pause_ms = st->pause_ms;
        h->meta.stop_ms = st->stop_ms;
        h->meta.fork_ms = st->mode_used == SNAPSHOT_FORK ? st->fork_ms : 0;
        h->meta.threads = st->threads;
        h->meta.bytes_copied = st->bytes_copied;
        h->meta.pid_in_namespace = memsrc_pid_in_namespace(a->live);
        /* read after the snapshot: the accounting line's RSS */
        h->meta.memory.rss_known = snapshot_rss(a->o->pid, &h->meta.memory.rss) == 0;
        set_symbol_facts(h, a->pi);
        snprintf(h->meta.snapshot_mode, sizeof(h->meta.snapshot_mode), "%s",
                 snapshot_mode_name(st->mode_used));
}

/* After the last try: a target that collected at every read is said so,
 * partial (the last live try takes what it read) or failed (-EAGAIN). */
static int said_collecting(int r, bool accepted, const struct heap *h, bool quiet,
                           struct diag *d)
{
        if (r == 0 && accepted && h->gc.collecting && !quiet)
                fprintf(stderr, "pyleak-attach: a garbage collection was running in the target "
                        "during every one of %d live reads: this is what its lists held "
                        "around it, and the objects it was collecting are missing (partial)\n"
                        "hint: the target collects constantly; try again, or raise its "
                        "thresholds with gc.set_threshold()\n", COLLECTING_RETRIES + 1);
        if (r == -EAGAIN)
                diag_set(d, r, "a garbage collection was running in the target at every "
                         "one of %d snapshots\nhint: the target collects constantly; try "
                         "again, or raise its thresholds with gc.set_threshold()",
                         COLLECTING_RETRIES + 1);
        return r;
}

/* The budget of the graph's and the analyses' big arrays (heap/bigmem.c):
 * --max-memory, or half of what the machine and our cgroup have free, less
 * what a copy snapshot already holds of it (`held`).  Past it they go to
 * unlinked files beside the dump, else in $TMPDIR or /var/tmp, which the
 * kernel can write out: the tool slows down where it would have been the
 * OOM killer's choice, or its target. */
static void set_memory_budget(const struct options *o, uint64_t held)
{
        uint64_t b = o->max_memory ? o->max_memory : snapshot_default_budget(NULL, NULL);
        const char *tmp = getenv("TMPDIR");
        char dir[PATH_MAX];
        char *slash;

        if (o->dump_path && !o->npids && !o->children_of &&
            (size_t)snprintf(dir, sizeof(dir), "%s", o->dump_path) < sizeof(dir)) {
                slash = strrchr(dir, '/');
                if (!slash)
                        snprintf(dir, sizeof(dir), ".");
                else if (slash == dir)
                        dir[1] = '\0';
                else
                        *slash = '\0';
        } else {
                snprintf(dir, sizeof(dir), "%s", tmp && *tmp ? tmp : "/var/tmp");
        }
        /* a budget the copy used up still gets a byte: 0 would mean none */
        heap_big_budget(!b ? 0 : b > held ? b - held : 1, dir);
}

/* What went past the budget, said once the reports are written. */
static void say_spilled(const struct options *o)
{
        struct heap_big_stats st;
        struct statfs fs;

        heap_big_stats(&st);
        if (st.spilled_peak && !o->quiet)
                fprintf(stderr, "pyleak-attach: the graph and its analyses outgrew the memory "
                        "budget (%" PRIu64 " MiB): up to %" PRIu64 " MiB of them were kept in "
                        "spill files in %s, which the kernel writes out under memory "
                        "pressure\n", st.budget >> 20, (st.spilled_peak + (1 << 20) - 1) >> 20,
                        st.dir);
        /* a tmpfs keeps its pages in memory, as shmem, whatever the pressure */
        if (st.spilled_peak && statfs(st.dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
                fprintf(stderr, "pyleak-attach: warning: %s is a tmpfs: the spill files stayed "
                        "in memory\nhint: set TMPDIR (or --dump's directory) to a directory on "
                        "a disk\n", st.dir);
        if (st.why[0])
                fprintf(stderr, "pyleak-attach: warning: past the memory budget (%" PRIu64
                        " MiB), arrays stayed in memory: %s\nhint: set TMPDIR (or --dump's "
                        "directory) to a writable disk with room, or raise --max-memory\n",
                        st.budget >> 20, st.why);
}

/* Snapshot, graph, analysis: one heap, or -errno with d filled.  The
 * captured memory is released as soon as the graph is built (it can be
 * gigabytes; a fork child is ended by it). */
static int take_heap(struct app *a, bool quiet, struct heap **ret, struct diag *d)
{
        struct snapshot_opts so = {0};
        struct snapshot_stats st = {0};
        struct heap_build_opts bo;
        struct memsrc *snap = NULL;
        struct heap *h = NULL;
        uint64_t rss;
        int r, settled, torn_retries = 0;
        char torn_first[DIAG_MSG_MAX] = "";

        so.max_bytes = a->o->max_memory;
        so.mode = a->o->mode;
        so.progress = progress_copy;
        for (int attempt = 0;; attempt++) {
                test_target_exit(a->o->pid, "snapshot");
                progress_phase(PROGRESS_COPY);
                r = snapshot_take(a->o->pid, &so, &snap, &st, d);
                progress_clear();
                /* whatever failed, a target that has exited is the cause */
                if (r < 0 && r != -ENOMEM && snapshot_explain_exit(a->o->pid, d) < 0)
                        return -ESRCH;
                if (r < 0)
                        return r;
                if (st.mode_used == SNAPSHOT_COPY)
                        set_memory_budget(a->o, st.bytes_copied);
                test_target_exit(a->o->pid, "walk");
                /* beside the walk; not earlier, when the parse would take a
                 * CPU from the stopped target's threads */
                pyinterp_start_pending(a->pi);
                if (!quiet && st.fallback[0])
                        fprintf(stderr, "pyleak-attach: %s\n", st.fallback);
                if (!quiet && st.warning[0])
                        fprintf(stderr, "pyleak-attach: %s\n", st.warning);
                /* A live read sees lists change under it: the walker then
                 * validates every link and marks the result approximate. */
                bo = (struct heap_build_opts){.live = st.mode_used == SNAPSHOT_LIVE,
                                              .no_previews = !a->previews,
                                              .str_previews_only = a->str_previews_only,
                                              .accept_collections =
                                                      attempt == COLLECTING_RETRIES,
                                              .progress = progress_walk};
                if (snapshot_rss(a->o->pid, &rss) == 0)
                        bo.max_objects = heap_object_cap(rss);
                progress_phase(PROGRESS_WALK);
                r = heap_build(snap, a->pi, &bo, &h, d);
                /* A live read of a target that exits fails at some address
                 * ("cannot read the GC list head"), or, where the walker
                 * counts a failed read as an inconsistency, ends partial:
                 * either way the cause is the exit.  A copy or a fork child
                 * holds the memory: an exit after the snapshot is harmless. */
                if (bo.live && ((r < 0 && r != -ENOMEM) ||
                                (r == 0 && h->meta.inconsistencies)) &&
                    snapshot_explain_exit(a->o->pid, d) < 0) {
                        heap_free(h);
                        memsrc_free(snap);
                        return -ESRCH;
                }
                progress_clear();
                settled = settle_layout(a, snap, &bo, quiet, &r, &h, d);
                memsrc_free(snap);
                snap = NULL;
                if (settled < 0)
                        return settled;
                /* A thread stopped in the middle of linking an object into
                 * its GC list (any instruction can be the one) leaves that
                 * list broken in a stopped snapshot: the next snapshot
                 * almost surely catches it elsewhere, with the update
                 * finished.  The same check failing on the same node again
                 * is what the target's memory holds: a corruption. */
                if (r == -EBADMSG && !bo.live) {
                        if (torn_again(a, quiet, &torn_retries, torn_first, d))
                                continue;
                        break;
                }
                if (r != -EAGAIN || attempt >= COLLECTING_RETRIES)
                        break;
                if (!quiet)
                        fprintf(stderr, "pyleak-attach: a garbage collection was running in "
                                "the target; retrying the snapshot\n");
                nanosleep(&(struct timespec){0, COLLECTING_DELAY_MS * 1000000L}, NULL);
        }
        r = said_collecting(r, bo.accept_collections, h, quiet, d);
        if (r < 0)
                return r;
        /* A copy or fork child holds the snapshot, but read-only memory is
         * read from the target when needed: reads that failed after it
         * exited made the result partial, and the user should know why. */
        if (!quiet && h->meta.inconsistencies && st.mode_used != SNAPSHOT_LIVE) {
                struct diag gone = {0};

                if (snapshot_explain_exit(a->o->pid, &gone) < 0)
                        fprintf(stderr, "pyleak-attach: process %d exited after its snapshot, "
                                "before all of it was read: some of its read-only memory "
                                "could not be read and the result is partial\n",
                                (int)a->o->pid);
        }
        /* A running interpreter always tracks objects (its modules'
         * dicts at least): none means it is not running, e.g. a fork taken
         * while the target was shutting down; never a complete report. */
        if (h->ntracked == 0) {
                heap_free(h);
                diag_clear(d);
                if (snapshot_explain_exit(a->o->pid, d) < 0)
                        return -ESRCH;
                return diag_set(d, -ESRCH, "the Python interpreter of process %d tracks no "
                                "objects: it is shutting down (or has not started)\nhint: "
                                "attach while the program runs", (int)a->o->pid);
        }
        fill_meta(a, &st, h);
        progress_phase(PROGRESS_ANALYSE);
        r = heap_analyse(h);
        progress_clear();
        if (r < 0) {
                diag_set(d, r, "analysis failed: %s", strerror(-r));
                heap_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

/* ---- --watch: snapshots without pauses, the owners that grow ---------- */

static FILE *open_out(const char *path);
static int close_out(FILE *f, const char *path, int r);

#define WATCH_OWNERS 64

struct watch_owner {
        struct heap_owner_name name;
        unsigned grew;             /* intervals in which it grew */
        int64_t dretained, dobjects;
        uint64_t retained;         /* in the last snapshot */
};

static void watch_sleep(double s)
{
        struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static struct watch_owner *watch_find(struct watch_owner *w, unsigned *n,
                                      const struct heap_owner_name *name)
{
        for (unsigned k = 0; k < *n; k++)
                if (!strcmp(w[k].name.path, name->path) && !strcmp(w[k].name.root, name->root))
                        return &w[k];
        if (*n == WATCH_OWNERS)
                return NULL;
        w[*n] = (struct watch_owner){ .name = *name };
        return &w[(*n)++];
}

static int by_watch(const void *a, const void *b)
{
        const struct watch_owner *x = a, *y = b;

        if (x->grew != y->grew)
                return x->grew > y->grew ? -1 : 1;
        return x->dretained > y->dretained ? -1 : x->dretained < y->dretained;
}

static void watch_report(FILE *f, bool json, const struct options *o, unsigned taken,
                         struct watch_owner *w, unsigned n)
{
        char b[32], b2[32], b3[32];
        unsigned every = taken > 1 ? taken - 1 : 0, shown = 0;

        qsort(w, n, sizeof(*w), by_watch);
        if (json) {
                fprintf(f, "{\"watch\": {\"interval_s\": %.3f, \"snapshots\": %u, "
                        "\"intervals\": %u, \"owners\": [", o->watch_s, taken, every);
                for (unsigned k = 0; k < n; k++) {
                        fprintf(f, "%s\n  {\"owner\": ", k ? "," : "");
                        report_json_string(f, w[k].name.owner);
                        fputs(", \"path\": ", f);
                        report_json_string(f, w[k].name.path);
                        fputs(", \"root\": ", f);
                        report_json_string(f, w[k].name.root);
                        fprintf(f, ", \"intervals_grown\": %u, \"every_interval\": %s, "
                                "\"growth\": {\"retained\": %" PRId64 ", \"objects\": %" PRId64
                                "}, \"retained\": %" PRIu64 "}", w[k].grew,
                                every && w[k].grew == every ? "true" : "false", w[k].dretained,
                                w[k].dobjects, w[k].retained);
                }
                fputs(n ? "\n]}}\n" : "]}}\n", f);
                return;
        }
        fprintf(f, "Owners that grew in every one of the %u intervals of %g s:\n", every,
                o->watch_s);
        for (unsigned k = 0; k < n; k++) {
                if (!every || w[k].grew != every)
                        continue;
                fprintf(f, "  %s  %s retained, %s objects over the watch; now %s\n       under "
                        "%s (%s)\n", w[k].name.owner,
                        fmt_delta_bytes(w[k].dretained, b, sizeof(b)),
                        fmt_delta(w[k].dobjects, b2, sizeof(b2)),
                        fmt_bytes(w[k].retained, b3, sizeof(b3)), w[k].name.root, w[k].name.path);
                shown++;
        }
        if (!shown)
                fputs("  none\n", f);
}

static int run_watch(struct app *a, struct options *o, int *code)
{
        struct watch_owner owners[WATCH_OWNERS];
        unsigned nowners = 0, taken = 0, count = o->watch_count ? o->watch_count : 5;
        struct heap *prev = NULL;
        struct diag d = {0};
        int r = 0;

        /* no pause: the point is to watch a service in production */
        if (o->mode == SNAPSHOT_AUTO)
                o->mode = SNAPSHOT_LIVE;
        *code = EXIT_COMPLETE;
        for (unsigned i = 0; i < count; i++) {
                struct heap *h = NULL;
                struct heap_growth g = {0};

                if (i)
                        watch_sleep(o->watch_s);
                r = take_heap(a, true, &h, &d);
                if (r < 0) {
                        *code = fail(&d, r, "cannot take the snapshot");
                        break;
                }
                taken++;
                if (h->meta.inconsistencies)
                        *code = EXIT_PARTIAL;
                progress_clear();
                if (!o->quiet)
                        fprintf(stderr, "pyleak-attach: watch %u/%u: %" PRIu32 " objects, "
                                "%" PRIu32 " cycles\n", i + 1, count, h->ntracked, h->cycles.n);
                if (prev && heap_growth_compute(prev, h, 20, &g) == 0) {
                        for (uint32_t k = 0; k < g.n; k++) {
                                struct watch_owner *w = watch_find(owners, &nowners,
                                                                   &g.v[k].name);

                                if (!w)
                                        continue;
                                w->grew++;
                                w->dretained += g.v[k].dretained;
                                w->dobjects += g.v[k].dobjects;
                                w->retained = g.v[k].new_retained;
                        }
                        heap_growth_release(&g);
                }
                heap_free(prev);
                prev = h;
        }
        heap_free(prev);
        if (taken < 2)
                return r < 0 ? r : -EINVAL;
        if (o->json_path) {
                FILE *f = open_out(o->json_path);

                if (!f)
                        return -errno;
                watch_report(f, true, o, taken, owners, nowners);
                close_out(f, o->json_path, ferror(f) ? -EIO : 0);
        }
        if (o->text_path || !o->json_path) {
                const char *path = o->text_path ? o->text_path : "-";
                FILE *f = open_out(path);

                if (!f)
                        return -errno;
                watch_report(f, false, o, taken, owners, nowners);
                close_out(f, path, ferror(f) ? -EIO : 0);
        }
        return 0;
}

static int session_resnapshot(struct session *s, char *msg, size_t len)
{
        struct diag d = {0};
        struct heap_diff *diff = NULL;
        struct heap *h = NULL;
        int r;

        /* quiet: the terminal belongs to the browser now */
        r = take_heap(s->ctx, true, &h, &d);
        if (r < 0) {
                first_line(&d, r, msg, len);
                return r;
        }
        r = heap_diff(s->heap, h, &diff);
        if (r < 0) {
                snprintf(msg, len, "comparing the snapshots failed: %s", strerror(-r));
                heap_free(h);
                return r;
        }
        heap_diff_free(s->diff);
        heap_free(s->heap);
        s->heap = h;
        s->diff = diff;
        s->diff_against = NULL;
        s->generation++;
        return 0;
}

/* ---- a dump cut short by a signal leaves no temporary file ------------
 * Installed after the snapshot guard: the temporary file goes first, then
 * the signal goes on to the guard (which detaches from a target, though a
 * dump is only ever written with nothing attached) and kills us. */
static struct store_tmp dump_tmp;
static const int dump_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_DUMP_SIGNALS (sizeof(dump_signals) / sizeof(dump_signals[0]))
static struct sigaction dump_prev[N_DUMP_SIGNALS];

static void dump_signal(int sig)
{
        for (size_t i = 0; i < N_DUMP_SIGNALS; i++) {
                if (dump_signals[i] != sig)
                        continue;
                /* ignored before us: we live on and the writer finishes */
                if (!(dump_prev[i].sa_flags & SA_SIGINFO) && dump_prev[i].sa_handler == SIG_IGN)
                        return;
                heap_store_tmp_unlink(&dump_tmp);
                sigaction(sig, &dump_prev[i], NULL);
                raise(sig); /* pending until we return, then the guard's */
        }
}

static void install_dump_cleanup(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = dump_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < N_DUMP_SIGNALS; i++)
                sigaddset(&sa.sa_mask, dump_signals[i]);
        sa.sa_flags = SA_RESTART;
        for (size_t i = 0; i < N_DUMP_SIGNALS; i++)
                sigaction(dump_signals[i], &sa, &dump_prev[i]);
}

static int session_write_dump(struct session *s, const char *path, bool force, char *msg,
                              size_t len)
{
        struct store_write_opts wo = {.force = force, .tmp = &dump_tmp};
        struct diag d = {0};
        int r = heap_store_write(s->heap, path, &wo, &d);

        if (r < 0)
                first_line(&d, r, msg, len);
        return r;
}

static FILE *open_out(const char *path)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;

        if (!f)
                fprintf(stderr, "pyleak-attach: cannot write %s: %s\n", path, strerror(errno));
        return f;
}

static int close_out(FILE *f, const char *path, int r)
{
        if (f != stdout && fclose(f) != 0 && r == 0)
                r = -errno;
        if (f == stdout && fflush(f) != 0 && r == 0)
                r = -errno;
        if (r < 0)
                fprintf(stderr, "pyleak-attach: writing %s failed: %s\n", path, strerror(-r));
        return r;
}

static int write_report(const struct heap *h, const char *path, bool json,
                        const struct report_opts *ro)
{
        FILE *f = open_out(path);

        if (!f)
                return -errno;
        return close_out(f, path, json ? report_json(h, f, ro) : report_text(h, f, ro));
}

static int write_heapsnapshot(const struct heap *h, const char *path)
{
        FILE *f = open_out(path);

        if (!f)
                return -errno;
        return close_out(f, path, report_heapsnapshot(h, f));
}

static int write_dot(const struct heap *h, const struct options *o)
{
        struct dot_opts dopt = {.cycles = o->dot_cycles, .ncycles = o->ndot_cycles,
                                .top = o->dot_top, .local = !o->all_cycles};
        FILE *f = open_out(o->dot_path);

        if (!f)
                return -errno;
        return close_out(f, o->dot_path, report_dot(h, f, &dopt));
}

static int write_dump_file(const struct heap *h, const struct options *o)
{
        struct store_write_opts wo = {.force = o->force, .tmp = &dump_tmp};
        struct diag d = {0};
        int r = heap_store_write(h, o->dump_path, &wo, &d);

        if (r == -EEXIST && !d.msg[0])
                diag_set(&d, r, "%s exists\nhint: --force replaces it", o->dump_path);
        progress_clear();
        if (r < 0)
                fail(&d, r, "cannot write the dump");
        else if (!o->quiet)
                fprintf(stderr, "pyleak-attach: wrote %s\n", o->dump_path);
        return r;
}

/* A core file: the same pipeline on a memsrc over the core; nothing to
 * stop, and a collection running when the core was taken cannot be retried. */
static int open_core(const struct options *o, struct app *a, struct heap **ret,
                     struct diag *d)
{
        struct core_opts co = {o->core_path, o->exe_path, o->sysroot};
        struct core_info ci = {0};
        struct heap *h = NULL;
        int r;

        r = memsrc_open_core_opts(&co, &a->live, d);
        if (r < 0)
                return r;
        r = pyinterp_find(a->live, &(struct pyinterp_opts){ o->layout_cache }, &a->pi, d);
        if (r < 0)
                return r;
        r = heap_build(a->live, a->pi, NULL, &h, d);
        if (r == -EAGAIN)
                return diag_set(d, r, "a garbage collection was running when the core "
                                "was taken\nhint: take another core (gcore PID) a moment later");
        if (r < 0)
                return r;
        memsrc_core_info(a->live, &ci);
        h->meta.pid = ci.pid;
        h->meta.threads = ci.threads;
        h->meta.bytes_copied = ci.bytes_in_core;
        snprintf(h->meta.snapshot_mode, sizeof(h->meta.snapshot_mode), "core");
        set_symbol_facts(h, a->pi);
        r = heap_analyse(h);
        if (r < 0) {
                heap_free(h);
                return diag_set(d, r, "analysis failed: %s", strerror(-r));
        }
        *ret = h;
        return 0;
}

/* Why the exit code is 1: the problems the walker named (object, type,
 * list, check), the first few; the rest are in the JSON report. */
#define STDERR_PROBLEMS 8
static void warn_problems(const struct heap *h)
{
        uint32_t n = h->nproblems < STDERR_PROBLEMS ? h->nproblems : STDERR_PROBLEMS;
        char text[600];

        if (!h->meta.inconsistencies)
                return;
        progress_clear();
        fprintf(stderr, "pyleak-attach: warning: %" PRIu64 " inconsistenc%s in target memory; "
                "the result is partial%s\n", h->meta.inconsistencies,
                h->meta.inconsistencies == 1 ? "y" : "ies", n ? ":" : "");
        for (uint32_t i = 0; i < n; i++)
                fprintf(stderr, "pyleak-attach:   %s\n",
                        heap_problem_text(h, &h->problems[i], text, sizeof(text)));
        if (h->nproblems > n)
                fprintf(stderr, "pyleak-attach:   and %" PRIu32 " more in the JSON report's "
                        "\"problems\"\n", h->nproblems - n);
        if (h->meta.inconsistencies > h->nproblems)
                fprintf(stderr, "pyleak-attach:   %" PRIu64 " not named here%s\n",
                        h->meta.inconsistencies - h->nproblems, h->meta.approximate ?
                        " (a live read of a changing process, torn frame or thread chains)" :
                        " (torn frame or thread chains, unreadable roots or referents)");
}

/* Exit code 1 is said on stderr every time, -q or not, browser or not:
 * a script that sees 1 must not have to guess between "partial" and an
 * error. */
static void explain_partial(const struct heap *h)
{
        fprintf(stderr, "pyleak-attach: exit code 1: the result is partial: %" PRIu64
                " inconsistenc%s in target memory%s; what was written is usable, but objects "
                "or references there may be missing (the JSON report's \"problems\" lists "
                "them)\n", h->meta.inconsistencies, h->meta.inconsistencies == 1 ? "y" : "ies",
                h->meta.approximate ? " (a live read of a changing process)" : "");
}

/* ---- a pool's workers: what pool.c needs of the attach pipeline ---- */

struct pool_src {
        struct options o;
        struct app a;
};

static void pool_close(void *src)
{
        struct pool_src *w = src;

        if (!w)
                return;
        pyinterp_free(w->a.pi);
        memsrc_free(w->a.live);
        free(w);
}

/* As a single attach does before its pause: constant data only. */
static int pool_open(const struct options *o, pid_t pid, void **ret, char *version,
                     size_t len, struct diag *d)
{
        struct pool_src *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return diag_set(d, -ENOMEM, "out of memory");
        w->o = *o;
        w->o.pid = pid;
        w->a.o = &w->o;
        w->a.previews = true;
        r = memsrc_open_live(pid, &w->a.live, d);
        if (r == 0)
                r = pyinterp_find_early(w->a.live, &(struct pyinterp_opts){ w->o.layout_cache },
                                        &w->a.pi, d);
        if (r < 0 && r != -ENOMEM)
                (void)snapshot_explain_exit(pid, d);
        if (r < 0) {
                pool_close(w);
                return r;
        }
        snprintf(version, len, "%s", w->a.pi->version);
        *ret = w;
        return 0;
}

static int pool_snapshot(void *src, struct heap **ret, struct diag *d)
{
        struct pool_src *w = src;

        return take_heap(&w->a, w->o.quiet, ret, d);
}

static int pool_write_dump(const struct heap *h, const char *path, bool force, struct diag *d)
{
        struct store_write_opts wo = {.force = force, .tmp = &dump_tmp};
        int r = heap_store_write(h, path, &wo, d);

        if (r == -EEXIST && !d->msg[0])
                diag_set(d, r, "%s exists\nhint: --force replaces it", path);
        return r;
}

static int pool_read_dump(const char *path, struct heap **ret, struct diag *d)
{
        struct heap *h = NULL;
        int r = heap_store_read(path, &h, d);

        if (r == 0 && !h->analysed)
                r = heap_analyse(h);
        if (r < 0) {
                heap_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

static const struct pool_ops pool_ops = {
        .open = pool_open, .snapshot = pool_snapshot, .close = pool_close,
        .write_dump = pool_write_dump, .read_dump = pool_read_dump,
};

static struct heap *volatile exit_heap;
static struct heap *volatile exit_baseline;

/* The dump given instead of a pid, analysed if it was written without. */
static int open_dump(const struct options *o, struct heap **ret)
{
        struct diag d = {0};
        struct heap *h = NULL;
        int r;

        r = heap_store_read(o->dump_in, &h, &d);
        *ret = h;
        if (r < 0)
                return fail(&d, r, "cannot read the dump");
        progress_phase(PROGRESS_ANALYSE);
        if (!h->analysed && (r = heap_analyse(h)) < 0)
                return fail(NULL, r, "analysis failed");
        progress_clear();
        if (!o->quiet)
                fprintf(stderr, "pyleak-attach: %s: pid %d, CPython %s; %" PRIu32
                        " objects, %" PRIu32 " cycles, %" PRIu32 " garbage\n", o->dump_in,
                        h->meta.pid, h->meta.python_version, h->ntracked, h->cycles.n,
                        h->ngarbage);
        return EXIT_COMPLETE;
}

/* Opens the live target and finds its interpreter, while it runs (only
 * constant data is read): EXIT_COMPLETE, or the exit code of the failure,
 * said on stderr. */
static int open_target(struct app *a, struct diag *d)
{
        const struct options *o = a->o;
        int r;

        r = memsrc_open_live(o->pid, &a->live, d);
        if (r < 0)
                return fail(d, r, "cannot open the target");
        /* Symbols first, while the target runs: only constant data is
         * read. */
        r = pyinterp_find_early(a->live, &(struct pyinterp_opts){ o->layout_cache },
                                &a->pi, d);
        if (r < 0 && r != -ENOMEM)
                (void)snapshot_explain_exit(o->pid, d);
        if (r < 0)
                return fail(d, r, "cannot find the Python interpreter");
        if (!o->quiet) {
                char how[300] = "";

                /* which DWARF, and whether it came from the cache;
                 * a stripped build may have none to be found */
                if (a->pi->pending)
                        snprintf(how, sizeof(how), "; its DWARF, if found, is "
                                 "compared during the walk");
                else if (a->pi->layout.source && !strcmp(a->pi->layout.source, "dwarf"))
                        snprintf(how, sizeof(how), " (%s)", a->pi->layout_detail);
                fprintf(stderr, "pyleak-attach: pid %d runs CPython %s (%s); layout "
                        "from %s%s\n", o->pid, a->pi->version,
                        a->pi->elf_path ? a->pi->elf_path : "?",
                        a->pi->layout.source ? a->pi->layout.source : "?", how);
        }
        return EXIT_COMPLETE;
}

/* The older dump --baseline names, analysed, into *ret and ro. */
static int read_baseline(const struct options *o, const struct heap *h, struct heap **ret,
                         struct report_opts *ro)
{
        struct diag d = {0};
        struct heap *baseline = NULL;
        int r;

        r = heap_store_read(o->baseline, &baseline, &d);
        *ret = baseline;
        if (r == 0 && !baseline->analysed)
                r = heap_analyse(baseline);
        if (r < 0)
                return fail(&d, r, "cannot read the baseline dump");
        if (strcmp(baseline->meta.python_version, h->meta.python_version) && !o->quiet)
                fprintf(stderr, "pyleak-attach: warning: the baseline is of CPython %s, "
                        "this snapshot of %s: owners are matched by path all the "
                        "same\n", baseline->meta.python_version, h->meta.python_version);
        ro->baseline = baseline;
        ro->baseline_name = o->baseline;
        return EXIT_COMPLETE;
}

/* The browser on h, against baseline if any: the exit code, and *h the
 * heap it ended with (a re-snapshot replaces it). */
static int browse_heap(struct app *a, struct heap **h, struct heap *baseline)
{
        struct session s = {0};
        int r, code;

        s.heap = *h;
        /* against the baseline: growth columns and new objects
         * marked from the first screen */
        if (baseline && heap_diff(baseline, *h, &s.diff) == 0)
                s.diff_against = "vs the baseline";
        s.live = !a->o->dump_in && !a->o->core_path;
        s.resnapshot = s.live ? session_resnapshot : NULL;
        s.write_dump = session_write_dump;
        s.ctx = a;
        r = tui_run(&s);
        *h = s.heap;
        heap_diff_free(s.diff);
        if (r < 0) {
                fprintf(stderr, "pyleak-attach: cannot open the browser: %s\n"
                        "hint: use --text - or --json - for a report\n", strerror(-r));
                return EXIT_NOTHING;
        }
        code = (*h)->meta.inconsistencies ? EXIT_PARTIAL : EXIT_COMPLETE;
        /* the terminal is ours again: the problems the browser showed are
         * said here too */
        if (code == EXIT_PARTIAL)
                warn_problems(*h);
        return code;
}

int main(int argc, char **argv)
{
        struct options o = {0};
        struct diag d = {0};
        struct app a = {.o = &o};
        struct report_opts ro;
        struct heap *h = NULL, *baseline = NULL;
        bool browse, any_output;
        int r, code = EXIT_NOTHING;
        double t0;

        parse_args(argc, argv, &o);
        cli_check_outputs(&o);
        if (o.no_cache || layout_cache_default_dir(o.layout_cache, sizeof(o.layout_cache)) < 0)
                o.layout_cache[0] = '\0';
        if (o.check)
                return check_run(&o);
        snapshot_install_signal_guard();
        install_dump_cleanup();
        set_memory_budget(&o, 0);
        progress_start(!o.quiet && isatty(STDERR_FILENO));
        if (o.npids || o.children_of) {
                code = pool_run(&o, &pool_ops);
                progress_finish();
                return code;
        }
        t0 = mono_ms();
        any_output = o.json_path || o.text_path || o.dump_path || o.dot_path ||
                     o.heapsnapshot_path;
        browse = !any_output && !o.no_browser && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (browse)
                cli_check_terminal();

        if (o.core_path) {
                r = open_core(&o, &a, &h, &d);
                if (r < 0) {
                        code = fail(&d, r, "cannot analyse the core file");
                        goto out;
                }
        } else if (o.dump_in) {
                code = open_dump(&o, &h);
                if (code != EXIT_COMPLETE)
                        goto out;
        } else {
                code = open_target(&a, &d);
                if (code != EXIT_COMPLETE)
                        goto out;
                /* the browser and dumps show value previews; the reports
                 * name threads by them (the leak suspects' roots), so a
                 * report from a dump reads as the live one did */
                a.previews = true;
                if (o.watch_s) {
                        (void)run_watch(&a, &o, &code);
                        goto out;
                }
                /* the reports read the previews of str objects only */
                a.str_previews_only = !browse && !o.dump_path;
                r = take_heap(&a, o.quiet, &h, &d);
                if (r < 0) {
                        code = fail(&d, r, r == -EAGAIN || d.msg[0] ?
                                    "cannot read the object graph" : "cannot take the snapshot");
                        goto out;
                }
                progress_clear();
                if (!o.quiet)
                        fprintf(stderr, "pyleak-attach: paused the target %.1f ms; %" PRIu32
                                " objects, %" PRIu32 " cycles, %" PRIu32 " garbage; %.0f ms "
                                "in all\n", h->meta.pause_ms, h->ntracked, h->cycles.n,
                                h->ngarbage, mono_ms() - t0);
        }

        ro = (struct report_opts){.objects = o.objects, .top = o.top ? o.top : 20,
                                  .all_cycles = o.all_cycles};
        if (o.baseline && (code = read_baseline(&o, h, &baseline, &ro)) != EXIT_COMPLETE)
                goto out;
        code = h->meta.inconsistencies ? EXIT_PARTIAL : EXIT_COMPLETE;
        if (!browse)
                warn_problems(h);
        if (!any_output && !browse)
                o.text_path = "-";
        /* a report on the terminal would be drawn over */
        if (isatty(STDOUT_FILENO))
                progress_clear();
        else
                progress_phase(PROGRESS_WRITE);
        if (o.dump_path && write_dump_file(h, &o) < 0)
                code = EXIT_NOTHING;
        if (o.json_path && write_report(h, o.json_path, true, &ro) < 0)
                code = EXIT_NOTHING;
        if (o.text_path && write_report(h, o.text_path, false, &ro) < 0)
                code = EXIT_NOTHING;
        if (o.heapsnapshot_path && write_heapsnapshot(h, o.heapsnapshot_path) < 0)
                code = EXIT_NOTHING;
        if (o.dot_path && write_dot(h, &o) < 0)
                code = EXIT_NOTHING;
        /* the browser owns the terminal from here */
        progress_finish();
        if (browse)
                code = browse_heap(&a, &h, baseline);
        if (code == EXIT_PARTIAL)
                explain_partial(h);
        say_spilled(&o);
out:
        progress_finish();
        /* The graph is left to the exit: freeing it block by block took
         * 33 ms at 1M objects for nothing.  A volatile static keeps it
         * reachable, so leak checkers do not report it. */
        exit_heap = h;
        exit_baseline = baseline;
        pyinterp_free(a.pi);
        memsrc_free(a.live);
        return code;
}
