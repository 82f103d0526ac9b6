/* store: the dump file.  `pyleak-attach PID --dump FILE` writes one analysed
 * snapshot to an SQLite database; `pyleak-attach FILE` reopens it on any
 * machine, with no target, and gets back the same model, so every screen and
 * the JSON report are identical to the live run's.  The schema is meant to be
 * queried by hand (`sqlite3 FILE 'select ...'`); it is documented at the top
 * of store-schema.c and in README.md ("Dump file").
 *
 * heap_store_write() never leaves a partial file at PATH: it writes
 * "PATH.tmp-XXXXXX" (mode 0600: a heap holds secrets) and renames it over
 * PATH only when complete; it refuses an existing PATH unless o->force.
 * A process killed by a signal cannot clean up after itself: the caller's
 * handler does, through o->tmp (struct store_tmp).
 *
 * heap_store_read() opens the file read-only, validates it (format, version,
 * row counts, a checksum of the whole model) and returns a new, finished and
 * analysed heap owned by the caller (heap_free()).
 *
 * Both return 0 or a negative errno, with a message in *d:
 *   -EEXIST          PATH exists and o->force is not set
 *   -EMEDIUMTYPE     not an SQLite file, or an SQLite file that is not a dump
 *   -EPROTONOSUPPORT needs a newer pyleak-attach (min_reader above this build)
 *   -EBADMSG         damaged: truncated, corrupt, or inconsistent contents
 *   -ENOMEM, -ENOSPC, -EIO, -EACCES, -ENOENT, ... as the system reports them
 */
#ifndef PYLEAK_STORE_H
#define PYLEAK_STORE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>

struct heap;
struct diag;

/* The newest format this build writes and reads. */
#define HEAP_STORE_FORMAT_VERSION 7

/* The temporary file of a heap_store_write() in progress, for a signal
 * handler to remove with heap_store_tmp_unlink(): the writer fills it with
 * the guarded signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) blocked, so a
 * handler never sees half a name, and clears `armed` once the file is
 * renamed or removed.  Static storage, owned by the caller. */
struct store_tmp {
        volatile sig_atomic_t armed;
        char path[PATH_MAX + 16];
        char journal[PATH_MAX + 32];    /* SQLite's side files, if it makes any */
        char wal[PATH_MAX + 32];
};

/* Async-signal-safe (unlink(2) only): removes the temporary file and its
 * side files if a write is in progress. */
void heap_store_tmp_unlink(struct store_tmp *t);

struct store_write_opts {
        bool force;               /* replace an existing PATH */
        struct store_tmp *tmp;    /* NULL, or where a signal handler finds the
                                     temporary file to remove */
        bool indexes;             /* also index objects(addr) and edges(dst)
                                     for ad-hoc SQL: ~1 s per million rows */
        /* Recorded in the meta table; NULL means "work it out": the local
         * host name, the current UTC time, this build's version. */
        const char *hostname;
        const char *time_iso;     /* "2024-05-01T12:34:56Z" */
        const char *tool_version;
};

/* o may be NULL (no force, default metadata).  h should be analysed (the
 * analysis tables are then filled too); an unanalysed heap is written with
 * empty cycles/garbage tables. */
int heap_store_write(const struct heap *h, const char *path,
                     const struct store_write_opts *o, struct diag *d);

int heap_store_read(const char *path, struct heap **ret, struct diag *d);

/* What a dump says about where it came from, for titles and --info. */
struct store_info {
        int format_version;
        char tool_version[64];
        char host[256];
        char time_iso[64];
};

/* Reads only the meta table (cheap); same validation of format and version
 * as heap_store_read(), no checksum. */
int heap_store_info(const char *path, struct store_info *ret, struct diag *d);

#endif
