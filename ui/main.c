/* pyleak-attach: the command line.  Picks the memory source once, finds the
 * interpreter before stopping the target (so the pause covers only the copy),
 * takes the snapshot, builds and analyses the graph, writes the reports. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "heap.h"
#include "memsrc.h"
#include "pyinterp.h"
#include "report.h"
#include "snapshot.h"

enum exit_code {
        EXIT_COMPLETE = 0,
        EXIT_PARTIAL = 1,
        EXIT_NOTHING = 2,
        EXIT_USAGE = 64,
};

/* A collection in progress leaves objects on private lists; it lasts
 * milliseconds, so a few short retries almost always find a quiet moment. */
#define COLLECTING_RETRIES 8
#define COLLECTING_DELAY_MS 25

struct options {
        pid_t pid;
        const char *json_path;
        const char *text_path;
        bool objects;
        bool quiet;
        unsigned top;
        uint64_t max_memory;
};

static const char usage_text[] =
"usage: pyleak-attach [OPTIONS] PID\n"
"\n"
"Snapshot a running CPython process from outside (it is paused only while its\n"
"memory is copied), then report its reference cycles, what the next\n"
"gc.collect() would free, gc.garbage, and the types that hold the memory.\n"
"\n"
"Options:\n"
"  --json PATH          write the JSON report to PATH ('-' = stdout)\n"
"  --text PATH          write the text report to PATH ('-' = stdout); this is\n"
"                       the default on stdout when no other output is chosen\n"
"  --objects            JSON: include every tracked object and its referents\n"
"  --top N              text: list at most N cycles/objects/types (default 20)\n"
"  --max-memory SIZE    refuse to copy more than SIZE bytes (K/M/G suffixes;\n"
"                       default: half of MemAvailable)\n"
"  -q, --quiet          no progress messages on stderr\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit codes: 0 complete, 1 partial result, 2 nothing usable, 64 usage error.\n"
"Needs ptrace access to PID: root, CAP_SYS_PTRACE, or the same user with\n"
"kernel.yama.ptrace_scope <= 1 (see README.md, \"Permissions\").\n";

static void die_usage(const char *fmt, const char *arg)
{
        fputs("pyleak-attach: ", stderr);
        fprintf(stderr, fmt, arg);
        fputs("\nTry 'pyleak-attach --help'.\n", stderr);
        exit(EXIT_USAGE);
}

static int parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        switch (*end) {
        case 'k': case 'K': v <<= 10; end++; break;
        case 'm': case 'M': v <<= 20; end++; break;
        case 'g': case 'G': v <<= 30; end++; break;
        default: break;
        }
        if (*end == 'B' || *end == 'b')
                end++;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void parse_args(int argc, char **argv, struct options *o)
{
        enum { OPT_JSON = 256, OPT_TEXT, OPT_OBJECTS, OPT_TOP, OPT_MAXMEM };
        static const struct option longopts[] = {
                {"json", required_argument, NULL, OPT_JSON},
                {"text", required_argument, NULL, OPT_TEXT},
                {"objects", no_argument, NULL, OPT_OBJECTS},
                {"top", required_argument, NULL, OPT_TOP},
                {"max-memory", required_argument, NULL, OPT_MAXMEM},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        char *end;
        long v;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_JSON: o->json_path = optarg; break;
                case OPT_TEXT: o->text_path = optarg; break;
                case OPT_OBJECTS: o->objects = true; break;
                case OPT_TOP:
                        v = strtol(optarg, &end, 10);
                        if (*end || v <= 0 || v > 1000000)
                                die_usage("--top takes a number from 1 to 1000000, not '%s'",
                                          optarg);
                        o->top = (unsigned)v;
                        break;
                case OPT_MAXMEM:
                        if (parse_size(optarg, &o->max_memory) < 0)
                                die_usage("--max-memory takes a size such as 2G or 512M, "
                                          "not '%s'", optarg);
                        break;
                case 'q': o->quiet = true; break;
                case 'h':
                        fputs(usage_text, stdout);
                        exit(EXIT_COMPLETE);
                case 'V':
                        printf("pyleak-attach %s\n", PYLEAK_VERSION);
                        exit(EXIT_COMPLETE);
                default:
                        die_usage("unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                die_usage("%s", "missing PID (the process to inspect)");
        if (optind + 1 < argc)
                die_usage("unexpected argument '%s'", argv[optind + 1]);
        v = strtol(argv[optind], &end, 10);
        if (*end || v <= 0 || v > INT_MAX)
                die_usage("'%s' is not a process id", argv[optind]);
        o->pid = (pid_t)v;
}

/* Half of MemAvailable: a snapshot must never push the host towards OOM. */
static uint64_t default_max_memory(void)
{
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        uint64_t kb = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
                        break;
        fclose(f);
        return kb * 1024 / 2;
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const struct diag *d, int err, const char *what)
{
        if (d && d->msg[0])
                fprintf(stderr, "pyleak-attach: %s\n", d->msg);
        else
                fprintf(stderr, "pyleak-attach: %s: %s\n", what, strerror(-err));
        return EXIT_NOTHING;
}

static int write_report(const struct heap *h, const char *path, bool json,
                        const struct report_opts *ro)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;
        int r;

        if (!f) {
                fprintf(stderr, "pyleak-attach: cannot write %s: %s\n", path, strerror(errno));
                return -errno;
        }
        r = json ? report_json(h, f, ro) : report_text(h, f, ro);
        if (f != stdout && fclose(f) != 0 && r == 0)
                r = -errno;
        if (r < 0)
                fprintf(stderr, "pyleak-attach: writing %s failed: %s\n", path, strerror(-r));
        return r;
}

int main(int argc, char **argv)
{
        struct options o = {0};
        struct diag d = {0};
        struct memsrc *live = NULL, *snap = NULL;
        struct pyinterp *pi = NULL;
        struct heap *h = NULL;
        struct snapshot_stats st = {0};
        struct snapshot_opts so = {0};
        struct report_opts ro;
        int r, code = EXIT_NOTHING;
        double t0;

        parse_args(argc, argv, &o);
        snapshot_install_signal_guard();
        t0 = now_ms();

        r = memsrc_open_live(o.pid, &live, &d);
        if (r < 0) {
                code = fail(&d, r, "cannot open the target");
                goto out;
        }
        /* Symbols first, while the target runs: only constant data is read. */
        r = pyinterp_find(live, &pi, &d);
        if (r < 0) {
                code = fail(&d, r, "cannot find the Python interpreter");
                goto out;
        }
        if (!o.quiet)
                fprintf(stderr, "pyleak-attach: pid %d runs CPython %s (%s); layout from %s\n",
                        o.pid, pi->version, pi->elf_path ? pi->elf_path : "?",
                        pi->layout.source ? pi->layout.source : "?");

        so.max_bytes = o.max_memory ? o.max_memory : default_max_memory();
        for (int attempt = 0;; attempt++) {
                r = snapshot_take(o.pid, &so, &snap, &st, &d);
                if (r < 0) {
                        code = fail(&d, r, "cannot take the snapshot");
                        goto out;
                }
                r = heap_build(snap, pi, NULL, &h, &d);
                if (r != -EAGAIN || attempt >= COLLECTING_RETRIES)
                        break;
                if (!o.quiet)
                        fprintf(stderr, "pyleak-attach: a garbage collection was running in "
                                "the target; retrying the snapshot\n");
                memsrc_free(snap);
                snap = NULL;
                nanosleep(&(struct timespec){0, COLLECTING_DELAY_MS * 1000000L}, NULL);
        }
        if (r == -EAGAIN) {
                diag_set(&d, r, "a garbage collection was running in the target at every "
                         "one of %d snapshots\nhint: the target collects constantly; try "
                         "again, or raise its thresholds with gc.set_threshold()",
                         COLLECTING_RETRIES + 1);
        }
        if (r < 0) {
                code = fail(&d, r, "cannot read the object graph");
                goto out;
        }
        h->meta.pid = o.pid;
        h->meta.pause_ms = st.pause_ms;
        h->meta.stop_ms = st.stop_ms;
        h->meta.threads = st.threads;
        h->meta.bytes_copied = st.bytes_copied;
        r = heap_analyse(h);
        if (r < 0) {
                code = fail(NULL, r, "analysis failed");
                goto out;
        }
        if (!o.quiet)
                fprintf(stderr, "pyleak-attach: paused the target %.1f ms; %" PRIu32
                        " objects, %" PRIu32 " cycles, %" PRIu32 " garbage; %.0f ms in all\n",
                        st.pause_ms, h->ntracked, h->cycles.n, h->ngarbage, now_ms() - t0);

        ro = (struct report_opts){.objects = o.objects, .top = o.top ? o.top : 20};
        code = h->meta.inconsistencies ? EXIT_PARTIAL : EXIT_COMPLETE;
        if (!o.json_path && !o.text_path)
                o.text_path = "-";
        if (o.json_path && write_report(h, o.json_path, true, &ro) < 0)
                code = EXIT_NOTHING;
        if (o.text_path && write_report(h, o.text_path, false, &ro) < 0)
                code = EXIT_NOTHING;
out:
        heap_free(h);
        memsrc_free(snap);
        pyinterp_free(pi);
        memsrc_free(live);
        return code;
}
