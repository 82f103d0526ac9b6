/* fmt.c: see fmt.h. */
#include "fmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "heap.h"
#include "units.h"
#include "utf8.h"

const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
        return units_bytes(b, buf, len);
}

const char *fmt_delta(int64_t d, char *buf, size_t len)
{
        if (d == 0)
                buf[0] = 0;
        else
                snprintf(buf, len, "%+" PRId64, d);
        return buf;
}

const char *fmt_delta_bytes(int64_t d, char *buf, size_t len)
{
        char b[32];

        if (d == 0) {
                buf[0] = 0;
                return buf;
        }
        fmt_bytes(d < 0 ? (uint64_t)-d : (uint64_t)d, b, sizeof(b));
        snprintf(buf, len, "%c%s", d < 0 ? '-' : '+', b);
        return buf;
}

/* One character of s: its byte length and display width; bad bytes and
 * control characters become one '?' column. */
static size_t next_char(const char *s, bool utf8, int *ret_w, bool *ret_bad)
{
        const unsigned char c = (unsigned char)*s;
        uint32_t cp;
        size_t n;
        int w;

        *ret_bad = false;
        if (c < 0x80) {
                *ret_w = 1;
                *ret_bad = c < 0x20 || c == 0x7f;
                return 1;
        }
        if (!utf8) {
                *ret_w = 1;
                *ret_bad = true;
                return 1;
        }
        n = utf8_decode(s, strlen(s), &cp, ret_bad);
        w = *ret_bad || cp < 0xa0 ? -1 : wcwidth((wchar_t)cp);
        if (w < 0) {
                *ret_w = 1;
                *ret_bad = true;
                return n;
        }
        *ret_w = w;
        return n;
}

int fmt_width(const char *s, bool utf8)
{
        int total = 0, w;
        bool bad;

        while (*s) {
                s += next_char(s, utf8, &w, &bad);
                total += w;
        }
        return total;
}

static void put_bytes(char *dst, size_t cap, size_t *pos, const char *s, size_t n)
{
        if (*pos + n + 1 > cap)
                n = *pos + 1 < cap ? cap - *pos - 1 : 0;
        memcpy(dst + *pos, s, n);
        *pos += n;
        dst[*pos] = 0;
}

int fmt_fit(char *dst, size_t cap, size_t *pos, const char *src, int width,
            bool right, bool utf8)
{
        const char *mark = utf8 ? "\u2026" : "~";
        int srcw = fmt_width(src, utf8), used = 0, w;
        bool bad;

        if (width <= 0)
                return 0;
        if (srcw < width && right)
                for (; used < width - srcw; used++)
                        put_bytes(dst, cap, pos, " ", 1);
        while (*src) {
                size_t n = next_char(src, utf8, &w, &bad);

                /* leave room for the marker when the rest does not fit */
                if (used + w > width || (srcw > width && used + w > width - 1))
                        break;
                if (bad)
                        put_bytes(dst, cap, pos, "?", 1);
                else
                        put_bytes(dst, cap, pos, src, n);
                used += w;
                src += n;
        }
        if (*src && used < width) {
                put_bytes(dst, cap, pos, mark, strlen(mark));
                used++;
        }
        for (; used < width; used++)
                put_bytes(dst, cap, pos, " ", 1);
        return used;
}

const char *fmt_clean(const char *s, char *buf, size_t len)
{
        size_t n = strlen(s), i = 0, o = 0;

        while (i < n) {
                char tmp[UTF8_MAX_BYTES + 1];
                size_t k, m;
                uint32_t c;
                bool bad;

                k = utf8_decode(s + i, n - i, &c, &bad);
                if (bad) {
                        m = utf8_encode(UTF8_REPLACEMENT, tmp);
                } else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
                        snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned)c);
                        m = 4;
                } else {
                        memcpy(tmp, s + i, k);
                        m = k;
                }
                if (o + m >= len)
                        break;
                memcpy(buf + o, tmp, m);
                o += m;
                i += k;
        }
        buf[o] = '\0';
        return buf;
}

static unsigned count_items(const char *s)
{
        unsigned n = *s ? 1 : 0;

        while ((s = strstr(s, "; ")) != NULL) {
                n++;
                s += 2;
        }
        return n;
}

const char *fmt_layout_summary(const struct heap_meta *m, char *buf, size_t len)
{
        unsigned n = count_items(m->layout_checks);

        snprintf(buf, len, "%u check%s against memory held%s%s%s%s%s", n, n == 1 ? "" : "s",
                 m->layout_inferred[0] ? "; inferred: " : "", m->layout_inferred,
                 m->layout_gapped[0] ? "; left out (objects opaque): " : "", m->layout_gapped,
                 m->layout_experimental ? "; EXPERIMENTAL" : "");
        if (!m->layout_checks[0] && !m->layout_inferred[0])
                snprintf(buf, len, "checks not recorded (dump before format 5)");
        return buf;
}

void fmt_cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*pos >= len)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
        va_end(ap);
        if (n > 0)
                *pos = *pos + (size_t)n < len ? *pos + (size_t)n : len - 1;
}

const char *fmt_memory_line(const struct heap *h, char *buf, size_t len)
{
        const struct heap_memory *m = &h->meta.memory;
        struct heap_accounting a;
        char b1[32], b2[32], b3[32], nm[256];
        size_t pos = 0;
        uint32_t top[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};

        if (!len)
                return buf;
        buf[0] = '\0';
        heap_accounting(h, &a);
        if (m->rss_known)
                fmt_cat(buf, len, &pos, "RSS %s: ", fmt_bytes(m->rss, b1, sizeof(b1)));
        else
                fmt_cat(buf, len, &pos, "RSS unknown (%s): ",
                    !strcmp(h->meta.snapshot_mode, "core") ? "a core file does not say" :
                    "not recorded");
        fmt_cat(buf, len, &pos, "Python objects %s, buffers %s",
            fmt_bytes(a.python_objects, b2, sizeof(b2)), fmt_bytes(a.buffers, b3, sizeof(b3)));
        /* the three types holding most of the buffers */
        for (uint32_t t = 0; t < h->ntypes; t++) {
                uint64_t n = h->types[t].native;

                if (!n)
                        continue;
                for (int k = 0; k < 3; k++) {
                        if (top[k] == UINT32_MAX || n > h->types[top[k]].native) {
                                for (int j = 2; j > k; j--)
                                        top[j] = top[j - 1];
                                top[k] = t;
                                break;
                        }
                }
        }
        for (int k = 0; k < 3 && top[k] != UINT32_MAX; k++)
                fmt_cat(buf, len, &pos, "%s%s %s", k ? ", " : " (",
                    fmt_clean(h->types[top[k]].fullname ? h->types[top[k]].fullname : "?",
                              nm, sizeof(nm)),
                    fmt_bytes(h->types[top[k]].native, b1, sizeof(b1)));
        if (top[0] != UINT32_MAX)
                fmt_cat(buf, len, &pos, ")");
        if (a.unexplained_known)
                fmt_cat(buf, len, &pos, "; %s not explained by Python objects or their buffers",
                    fmt_bytes(a.unexplained, b1, sizeof(b1)));
        if (m->arenas_known)
                fmt_cat(buf, len, &pos, "; pymalloc arenas %s, %s of them free",
                    fmt_bytes(m->arenas_used, b1, sizeof(b1)),
                    fmt_bytes(m->arenas_free, b2, sizeof(b2)));
        else
                fmt_cat(buf, len, &pos, "; pymalloc arenas unknown%s%s%s", m->arenas_why[0] ? " (" : "",
                    fmt_clean(m->arenas_why, nm, sizeof(nm)), m->arenas_why[0] ? ")" : "");
        return buf;
}
