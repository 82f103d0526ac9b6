/* utf8: the one UTF-8 codec of the tool.
 *
 * Strings read from a target are hostile bytes: a torn read, a corrupted
 * tp_name or a C extension's Latin-1 name is not UTF-8, and a Python str may
 * hold lone surrogates.  Everything that turns code points into UTF-8 or
 * checks bytes that claim to be UTF-8 goes through here, so the writers, the
 * previews and the browser agree on one rule:
 *
 *   - decoding is strict (RFC 3629): overlong forms, surrogates (U+D800..
 *     U+DFFF), code points above U+10FFFF, stray continuation bytes and
 *     truncated sequences are invalid;
 *   - an invalid sequence becomes one U+FFFD per maximal subpart (the
 *     Unicode "best practice" that Python's errors='replace' follows), so
 *     a torn 3-byte character is one U+FFFD, a run of 0xff bytes one each;
 *   - encoding a surrogate or a value above U+10FFFF gives U+FFFD.
 *
 * No allocation, no locale.  Functions never read past the given length.
 */
#ifndef PYLEAK_UTF8_H
#define PYLEAK_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu
#define UTF8_MAX_BYTES   4

/* Encodes c into out (room for UTF8_MAX_BYTES); returns the byte count
 * (1..4).  Surrogates and c > U+10FFFF are encoded as U+FFFD. */
size_t utf8_encode(uint32_t c, char *out);

/* Decodes the character at s (n > 0 bytes available).  Returns the bytes
 * consumed (>= 1, <= n) and sets *ret_c to the code point, or to
 * UTF8_REPLACEMENT with *ret_bad true for an invalid sequence (consuming
 * its maximal subpart).  ret_bad may be NULL. */
size_t utf8_decode(const char *s, size_t n, uint32_t *ret_c, bool *ret_bad);

/* Whether s[0..n) is entirely valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

/* Copies the NUL-terminated src into dst (cap > 0 bytes), replacing every
 * invalid sequence by U+FFFD and cutting only between characters so dst is
 * always valid UTF-8 and NUL-terminated.  Returns the length written;
 * *ret_changed (may be NULL) says whether anything was replaced or cut. */
size_t utf8_sanitize(char *dst, size_t cap, const char *src, bool *ret_changed);

/* The longest prefix of s[0..n) that ends on a character boundary of valid
 * UTF-8 text, i.e. n minus an incomplete trailing sequence (for cutting a
 * valid string short without splitting a character). */
size_t utf8_boundary(const char *s, size_t n);

#endif
