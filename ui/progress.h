/* progress: one updating line on stderr while long work runs.
 *
 * An attach of a big process is seconds of silence otherwise (4-10 s at
 * 1.5M objects).  When stderr is a terminal and -q was not given, a line
 * "pyleak-attach: walk: 412,000 of 1,500,000 objects, 350,000 objects/s,
 * about 3 s left" is redrawn in place (\r, no escape sequences, so a dumb
 * terminal shows it too) once the run has lasted PROGRESS_DELAY_MS; a run
 * shorter than that shows nothing.  Nothing at all is written when stderr
 * is not a terminal: logs, pipes and tests stay clean.
 *
 * A thread with every signal blocked draws the line (so signals still go
 * to the thread that holds the ptrace attachment) and the phases only
 * store numbers; heap/ reports through heap_build_opts.progress alone,
 * and nothing below ui/ prints.  Whoever prints another message on stderr
 * while a phase runs calls progress_clear() first, so the two never share
 * a line.  Not reentrant: one run, one line.
 */
#ifndef PYLEAK_PROGRESS_H
#define PYLEAK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"

#define PROGRESS_DELAY_MS 1000

enum progress_phase {
        PROGRESS_NONE,
        PROGRESS_COPY,       /* stopping the target and capturing its memory */
        PROGRESS_WALK,       /* the GC lists, then the references */
        PROGRESS_ANALYSE,
        PROGRESS_WRITE,      /* reports and dumps */
};

/* Starts the run's clock; draws only when enabled (the caller decides:
 * !quiet && isatty(STDERR_FILENO)).  Without a thread (it could not be
 * created) nothing is drawn and everything else still works. */
void progress_start(bool enabled);

/* Enters a phase; the line is drawn again if progress_clear() hid it. */
void progress_phase(enum progress_phase p);

/* heap_build_opts.progress: done of total objects decoded. */
void progress_walk(void *ctx, uint32_t done, uint32_t total);

/* snapshot_opts.progress: the copy mode's bytes, prepared then copied.
 * Stores atomics only: it runs while the target is stopped. */
void progress_copy(void *ctx, enum snapshot_stage stage, uint64_t done, uint64_t total);

/* A pool: worker i (0-based) of n, pid; the line names it and, from the
 * second worker on, estimates what is left of the pool. */
void progress_worker(unsigned i, unsigned n, pid_t pid);

/* The line as it would be drawn now (tests); compact: the form a
 * terminal too narrow for the full one gets. */
void progress_line(char *buf, size_t len, bool compact);

/* Erases the line now (before another message); the next phase draws it
 * again. */
void progress_clear(void);

/* Erases the line and ends the thread (before the browser takes the
 * terminal, and at exit). */
void progress_finish(void);

#endif
