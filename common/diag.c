#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int diag_set(struct diag *d, int err, const char *fmt, ...)
{
        va_list ap;

        if (!d)
                return err;
        d->err = err;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
        return err;
}

void diag_append(struct diag *d, const char *fmt, ...)
{
        va_list ap;
        size_t len;

        if (!d)
                return;
        len = strlen(d->msg);
        if (len + 2 >= sizeof(d->msg))
                return;
        if (len > 0)
                d->msg[len++] = '\n';
        va_start(ap, fmt);
        vsnprintf(d->msg + len, sizeof(d->msg) - len, fmt, ap);
        va_end(ap);
}

void diag_prefix(struct diag *d, const char *fmt, ...)
{
        char pre[512], old[DIAG_MSG_MAX];
        va_list ap;

        if (!d || !d->msg[0])
                return;
        va_start(ap, fmt);
        vsnprintf(pre, sizeof(pre), fmt, ap);
        va_end(ap);
        /* Built by hand: snprintf("%s: %s") of two buffers this size is a
         * (harmless) truncation gcc warns about, and CI builds with -Werror. */
        memcpy(old, d->msg, sizeof(old));
        {
                size_t n = strnlen(pre, sizeof(d->msg) - 3);

                memcpy(d->msg, pre, n);
                memcpy(d->msg + n, ": ", 2);
                n += 2;
                size_t rest = strnlen(old, sizeof(old));
                if (rest > sizeof(d->msg) - 1 - n)
                        rest = sizeof(d->msg) - 1 - n;
                memcpy(d->msg + n, old, rest);
                d->msg[n + rest] = '\0';
        }
}

void diag_list_add(char *buf, size_t len, const char *fmt, ...)
{
        size_t used = strlen(buf);
        va_list ap;

        if (used + 3 >= len)
                return;
        if (used) {
                memcpy(buf + used, "; ", 3);
                used += 2;
        }
        va_start(ap, fmt);
        vsnprintf(buf + used, len - used, fmt, ap);
        va_end(ap);
}
