/* tap: a tiny TAP producer for the unit tests (meson protocol 'tap').
 * ok(cond, fmt, ...) prints one test line; tap_done() prints the plan and
 * returns the exit code; tap_skip_all() exits 77 with a reason. */
#ifndef PYLEAK_TAP_H
#define PYLEAK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
        char desc[4096];
        va_list ap;

        tap_n++;
        va_start(ap, fmt);
        vsnprintf(desc, sizeof(desc), fmt, ap);
        va_end(ap);
        /* Descriptions often quote multi-line diagnostics; a raw newline
         * would end the TAP line and the rest would be unparseable. */
        for (char *p = desc; *p; p++)
                if (*p == '\n')
                        *p = '|';
        printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, desc);
        if (!cond) {
                tap_failed++;
                printf("# failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return cond;
}
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* A diagnostic: every line of it is printed behind "# ". */
static inline void tap_note(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static inline void tap_note(const char *fmt, ...)
{
        char buf[8192];
        va_list ap;
        char *line, *save = NULL;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                printf("# %s\n", line);
        fflush(stdout);
}

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
