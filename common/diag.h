/* diag: one human-readable explanation of why an operation failed.
 *
 * Libraries below ui/ never print.  When a function returns a negative errno
 * it may also fill a caller-provided `struct diag` with a message that says
 * what failed, why, and what to do (git/systemd style: lowercase, subject
 * first, "hint:" lines for the fix).  ui/ prints it.  A NULL diag pointer is
 * always accepted and means "the caller does not want details".
 *
 * Error codes used consistently across the project:
 *   -ESRCH      target gone (no such process, exited, zombie)
 *   -EPERM      ptrace or /proc access denied
 *   -EFAULT     unreadable address in the target
 *   -ENOENT     symbol or debug info missing
 *   -EOPNOTSUPP unsupported interpreter or build
 *   -EBADMSG    inconsistent target memory (garbage where a structure should be)
 *   -EBUSY      target already stopped or traced by someone else
 *   -EAGAIN     transient: a collection is running, retry
 *   -ENOMEM     out of memory (or over the memory budget)
 */
#ifndef PYLEAK_DIAG_H
#define PYLEAK_DIAG_H

#include <stddef.h>

#define DIAG_MSG_MAX 4096

struct diag {
        int err;                  /* negative errno, 0 when unset */
        char msg[DIAG_MSG_MAX];   /* "cannot X: Y\nhint: Z" */
};

/* Sets err and formats msg; returns err so callers can `return diag_set(...)`.
 * A later call overwrites an earlier one. */
int diag_set(struct diag *d, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Appends a line to msg (e.g. a "hint: ..." line).  No-op on NULL. */
void diag_append(struct diag *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Appends an item to buf, a "; "-separated list of len bytes (the one-line
 * summaries of providers, candidates, inferences); an item that does not
 * fit is cut, a full list left as it is. */
void diag_list_add(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefixes msg with "context: " (keeps err).  No-op on NULL or empty msg. */
void diag_prefix(struct diag *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static inline void diag_clear(struct diag *d)
{
        if (d) {
                d->err = 0;
                d->msg[0] = '\0';
        }
}

#endif
