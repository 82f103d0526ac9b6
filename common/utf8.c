/* utf8.c: see utf8.h. */
#include "utf8.h"

#include <string.h>

size_t utf8_encode(uint32_t c, char *out)
{
        if (c < 0x80) {
                out[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char)(0xc0 | (c >> 6));
                out[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                c = UTF8_REPLACEMENT;
        if (c < 0x10000) {
                out[0] = (char)(0xe0 | (c >> 12));
                out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                out[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* Table 3-7 of the Unicode standard: the lead byte fixes the length and the
 * range of the second byte, which is what rules out overlong forms (E0 80,
 * F0 80), surrogates (ED A0) and values above U+10FFFF (F4 90). */
size_t utf8_decode(const char *s, size_t n, uint32_t *ret_c, bool *ret_bad)
{
        const unsigned char *p = (const unsigned char *)s;
        unsigned char b = p[0], lo = 0x80, hi = 0xbf;
        size_t need;
        uint32_t c;

        if (ret_bad)
                *ret_bad = false;
        if (b < 0x80) {
                *ret_c = b;
                return 1;
        }
        if (b >= 0xc2 && b <= 0xdf) {
                need = 1;
                c = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
                need = 2;
                c = b & 0x0f;
                if (b == 0xe0)
                        lo = 0xa0;
                else if (b == 0xed)
                        hi = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
                need = 3;
                c = b & 0x07;
                if (b == 0xf0)
                        lo = 0x90;
                else if (b == 0xf4)
                        hi = 0x8f;
        } else {
                goto bad1;
        }
        for (size_t i = 1; i <= need; i++) {
                if (i >= n || p[i] < lo || p[i] > hi) {
                        if (ret_bad)
                                *ret_bad = true;
                        *ret_c = UTF8_REPLACEMENT;
                        return i;
                }
                c = c << 6 | (p[i] & 0x3f);
                lo = 0x80;
                hi = 0xbf;
        }
        *ret_c = c;
        return need + 1;
bad1:
        if (ret_bad)
                *ret_bad = true;
        *ret_c = UTF8_REPLACEMENT;
        return 1;
}

bool utf8_valid(const char *s, size_t n)
{
        size_t i = 0;
        uint32_t c;
        bool bad;

        while (i < n) {
                if ((unsigned char)s[i] < 0x80) {
                        i++;
                        continue;
                }
                i += utf8_decode(s + i, n - i, &c, &bad);
                if (bad)
                        return false;
        }
        return true;
}

size_t utf8_sanitize(char *dst, size_t cap, const char *src, bool *ret_changed)
{
        size_t n = strlen(src), i = 0, o = 0;
        bool changed = false;

        if (!cap)
                return 0;
        while (i < n) {
                char enc[UTF8_MAX_BYTES];
                const char *piece = src + i;
                size_t k, len;
                uint32_t c;
                bool bad;

                k = utf8_decode(src + i, n - i, &c, &bad);
                len = k;
                if (bad) {
                        len = utf8_encode(UTF8_REPLACEMENT, enc);
                        piece = enc;
                        changed = true;
                }
                if (o + len >= cap) {
                        changed = true;
                        break;
                }
                memcpy(dst + o, piece, len);
                o += len;
                i += k;
        }
        dst[o] = '\0';
        if (ret_changed)
                *ret_changed = changed;
        return o;
}

size_t utf8_boundary(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t lead = n, want;

        /* back over at most three continuation bytes to a lead byte */
        while (lead > 0 && n - lead < 3 && (p[lead - 1] & 0xc0) == 0x80)
                lead--;
        if (lead == 0)
                return n;
        lead--;
        if (p[lead] < 0xc0)
                return n;
        want = p[lead] >= 0xf0 ? 4 : p[lead] >= 0xe0 ? 3 : 2;
        return lead + want > n ? lead : n;
}
