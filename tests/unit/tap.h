/* tap: a tiny TAP producer for the unit tests (meson protocol 'tap').
 * ok(cond, fmt, ...) prints one test line; tap_done() prints the plan and
 * returns the exit code; tap_skip_all() exits 77 with a reason. */
#ifndef PYLEAK_TAP_H
#define PYLEAK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
        va_list ap;

        tap_n++;
        printf("%sok %d - ", cond ? "" : "not ", tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond) {
                tap_failed++;
                printf("# failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return cond;
}
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_done(void)
{
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}

static inline void tap_skip_all(const char *why)
{
        printf("1..0 # SKIP %s\n", why);
        exit(77);
}

#endif
