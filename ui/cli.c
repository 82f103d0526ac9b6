#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void die_usage(const char *fmt, ...)
{
        va_list ap;

        fputs("pyleak-attach: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'pyleak-attach --help'.\n", stderr);
        exit(EXIT_USAGE);
}

/* Refusals that are not a misuse of the syntax: the cause and the fix,
 * without the generic pointer to --help. */
__attribute__((noreturn, format(printf, 1, 2)))
static void refuse(const char *fmt, ...)
{
        va_list ap;

        fputs("pyleak-attach: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_USAGE);
}

static int parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;
        unsigned shift = 0;

        /* strtoull takes "-5" as 2^64 - 5: a sign is never a size */
        if (!*s || s[strspn(s, " \t")] == '-' || s[strspn(s, " \t")] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        switch (*end) {
        case 'k': case 'K': shift = 10; end++; break;
        case 'm': case 'M': shift = 20; end++; break;
        case 'g': case 'G': shift = 30; end++; break;
        default: break;
        }
        if (*end == 'B' || *end == 'b')
                end++;
        if (*end || v > (UINT64_MAX >> shift))
                return -EINVAL;
        *ret = (uint64_t)v << shift;
        return 0;
}

uint64_t cli_parse_budget(const char *s)
{
        uint64_t v;

        if (parse_size(s, &v) < 0)
                die_usage("--max-memory takes a positive size such as 2G or 512M, not '%s'", s);
        if (v == 0)
                refuse("--max-memory 0 allows no memory at all: nothing could be copied\n"
                       "hint: give a size such as 512M, or leave the option out (default: "
                       "half of the memory available)");
        if (v < CLI_MIN_BUDGET)
                refuse("--max-memory %s is too small to be useful: a CPython process holds "
                       "several MiB, so no snapshot could fit in it\n"
                       "hint: give at least 1M (512M or 2G are typical), or leave the option "
                       "out (default: half of the memory available)", s);
        return v;
}

/* The directory a path would be created in, into buf. */
static const char *parent_dir(const char *path, char *buf, size_t len)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return ".";
        if (slash == path)
                return "/";
        snprintf(buf, len, "%.*s", (int)(slash - path), path);
        return buf;
}

/* One output file: it must be creatable (or replaceable) by us.  Named by
 * the user's path, never by a temporary name made from it. */
static void check_out_path(const char *opt, const char *path, bool replace_dir_only)
{
        char buf[4096];
        const char *dir = parent_dir(path, buf, sizeof(buf));
        struct stat st;

        if (!path[0])
                die_usage("%s takes a file name, not an empty string", opt);
        if (stat(dir, &st) < 0)
                refuse("cannot write %s %s: the directory %s %s\n"
                       "hint: create it first (mkdir -p %s), or choose another path",
                       opt, path, dir, errno == ENOENT ? "does not exist" : strerror(errno), dir);
        if (!S_ISDIR(st.st_mode))
                refuse("cannot write %s %s: %s is not a directory\n"
                       "hint: choose a path in an existing directory", opt, path, dir);
        if (access(dir, W_OK | X_OK) < 0)
                refuse("cannot write %s %s: the directory %s is not writable by you (uid %d)\n"
                       "hint: choose a directory you can write to (e.g. /tmp), or run as "
                       "its owner", opt, path, dir, (int)geteuid());
        if (stat(path, &st) < 0)
                return;
        if (S_ISDIR(st.st_mode))
                refuse("cannot write %s %s: it is a directory\n"
                       "hint: give a file name inside it, e.g. %s/report", opt, path, path);
        /* a dump is written beside and renamed over: the directory decides */
        if (!replace_dir_only && access(path, W_OK) < 0)
                refuse("cannot write %s %s: the file exists and is not writable by you "
                       "(uid %d)\nhint: choose another name, or remove it first", opt, path,
                       (int)geteuid());
}

static bool same_file(const char *a, const char *b)
{
        struct stat sa, sb;

        if (!strcmp(a, b))
                return true;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

void cli_check_outputs(const struct options *o)
{
        struct { const char *opt, *path, *example; } out[] = {
                {"--json", o->json_path, "report.json"}, {"--text", o->text_path, "report.txt"},
                {"--dot", o->dot_path, "cycles.dot"},
                {"--heapsnapshot", o->heapsnapshot_path, "heap.heapsnapshot"},
                {"--dump", o->dump_path, "leak.db"},
        };
        const size_t n = sizeof(out) / sizeof(out[0]);
        struct stat st;

        for (size_t i = 0; i < n; i++) {
                for (size_t j = i + 1; j < n && out[i].path; j++) {
                        if (!out[j].path || !same_file(out[i].path, out[j].path))
                                continue;
                        if (!strcmp(out[i].path, "-"))
                                refuse("%s - and %s - would both write to stdout, one report "
                                       "mixed into the other\nhint: send all but one to a "
                                       "file, e.g. %s - %s %s", out[i].opt, out[j].opt,
                                       out[i].opt, out[j].opt, out[j].example);
                        refuse("%s and %s both name %s: one would overwrite the other\n"
                               "hint: give each output its own file", out[i].opt, out[j].opt,
                               out[i].path);
                }
        }
        for (size_t i = 0; i < n; i++) {
                bool dump = !strcmp(out[i].opt, "--dump");

                /* a dump has no stdout form: "-" is a file name there */
                if (!out[i].path || (!strcmp(out[i].path, "-") && !dump))
                        continue;
                check_out_path(out[i].opt, out[i].path, dump);
        }
        if (o->dump_path && !o->force && lstat(o->dump_path, &st) == 0)
                refuse("--dump %s: the file already exists\n"
                       "hint: --force replaces it, or choose another name", o->dump_path);
}

void cli_check_terminal(void)
{
        const char *term = getenv("TERM");

        if (!term || !term[0] || !strcmp(term, "dumb"))
                refuse("the browser needs a terminal that can move the cursor, and TERM is "
                       "%s%s%s\nhint: write a report instead: --text - (or --json -); or set "
                       "TERM to your terminal's type (e.g. TERM=xterm-256color)",
                       term && term[0] ? "'" : "", term && term[0] ? term : "not set",
                       term && term[0] ? "'" : "");
}
