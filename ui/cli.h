/* cli: the command line's options and the checks that cost nothing.
 *
 * Everything here is decided from the arguments and the local file system
 * alone, before the target is opened: a mistake found after the target was
 * paused and walked costs the user the pause and the wait for nothing.
 * Every check that fails prints one message (cause, then a hint) and exits
 * with EXIT_USAGE. */
#ifndef PYLEAK_CLI_H
#define PYLEAK_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"

enum exit_code {
        EXIT_COMPLETE = 0,
        EXIT_PARTIAL = 1,
        EXIT_NOTHING = 2,
        EXIT_USAGE = 64,
};

#define DOT_CYCLES_MAX 1024

/* A budget below this cannot hold any CPython process's writable memory
 * (a bare interpreter holds several MiB): nothing could ever be copied,
 * and auto would fork for a reason the user did not mean. */
#define CLI_MIN_BUDGET (1ull << 20)

/* A pool: at most this many workers in one run. */
#define POOL_MAX_WORKERS 1024

struct options {
        pid_t pid;
        pid_t *pids;               /* PID PID...: a pool, in the order given */
        unsigned npids;
        pid_t children_of;         /* --children PID: its CPython descendants */
        const char *dump_in;       /* FILE argument: a dump to reopen */
        const char *core_path;     /* --core FILE */
        const char *exe_path;      /* --exe PATH (with --core) */
        const char *sysroot;       /* --sysroot DIR (with --core) */
        const char *json_path;
        const char *text_path;
        const char *dump_path;
        const char *dot_path;
        const char *heapsnapshot_path;
        bool check;                /* --check PID: the pre-flight only */
        bool force;
        bool objects;
        bool quiet;
        bool no_browser;
        bool no_cache;
        char layout_cache[4096];   /* resolved from no_cache and the
                                      environment; "" for none */
        bool dot_local;            /* accepted; the local grouping is the default */
        bool all_cycles;           /* --all-cycles: the strict grouping */
        const char *baseline;      /* --baseline OLD.db */
        double watch_s;            /* --watch SECONDS: 0 = no watch */
        unsigned watch_count;      /* --count N snapshots (default 5) */
        unsigned top;
        unsigned dot_top;
        uint32_t dot_cycles[DOT_CYCLES_MAX];
        uint32_t ndot_cycles;
        uint64_t max_memory;
        enum snapshot_mode mode;
};

__attribute__((noreturn, format(printf, 1, 2)))
void die_usage(const char *fmt, ...);

/* --max-memory's argument: a positive size with an optional K/M/G suffix,
 * at least CLI_MIN_BUDGET; exits with a usage message otherwise. */
uint64_t cli_parse_budget(const char *s);

/* Output paths, existing files and stdout conflicts (see the file
 * comment).  Returns only if all is well. */
void cli_check_outputs(const struct options *o);

/* The browser is about to open: refuses a terminal that cannot show it
 * (TERM unset or dumb). */
void cli_check_terminal(void);

#endif
