/* fmt: text helpers shared by the browser's views and screens.
 *
 * Everything the browser shows is composed as plain text lines first (so the
 * same code serves the terminal, the headless tests and the search), and
 * these helpers fit text into a number of terminal columns.  In a UTF-8
 * locale multibyte text is measured with wcwidth(); otherwise every byte
 * >= 0x80 and every control byte is shown as '?', so a C-locale terminal
 * never receives bytes it cannot draw.
 */
#ifndef PYLEAK_FMT_H
#define PYLEAK_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "512 B", "1.2 KiB", "3.0 GiB" into buf; returns buf. */
const char *fmt_bytes(uint64_t b, char *buf, size_t len);
/* Appends printf output to buf at *pos, never past len (a line built in
 * pieces: the end is cut, never overrun). */
void fmt_cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* "+12", "-3", "" for 0; returns buf. */
const char *fmt_delta(int64_t d, char *buf, size_t len);
/* Signed size: "+1.2 KiB", "-512 B", "" for 0. */
const char *fmt_delta_bytes(int64_t d, char *buf, size_t len);

/* Appends src to dst (at byte offset *pos, capacity cap) fitted to exactly
 * `width` display columns: truncated with a marker, or padded with spaces
 * (on the left when right is set).  Returns the columns written. */
int fmt_fit(char *dst, size_t cap, size_t *pos, const char *src, int width,
            bool right, bool utf8);

/* Display columns of s (as fmt_fit would draw it). */
int fmt_width(const char *s, bool utf8);

/* s made safe for a UTF-8 text report, into buf (len > 0); returns buf.
 * Strings from the target are hostile: every invalid UTF-8 sequence becomes
 * U+FFFD and every control character (C0, DEL, C1) its repr() escape
 * "\xNN", so a name can neither break the encoding nor drive the terminal.
 * Cut short only between characters. */
const char *fmt_clean(const char *s, char *buf, size_t len);

struct heap_meta;

/* One line on how sure the layout is, for the text report and the
 * overview: "9 checks held; inferred: ...; left out: ...; EXPERIMENTAL"
 * (the JSON python.layout block has the names). */
const char *fmt_layout_summary(const struct heap_meta *m, char *buf, size_t len);

struct heap;
/* The accounting line of the text report and the overview, without its
 * "memory: " lead: "RSS 512.0 MiB: Python objects 12.3 MiB, buffers
 * 380.0 MiB (numpy.ndarray 379.0 MiB, ...); 120.0 MiB not explained by
 * Python objects or their buffers; pymalloc arenas unknown (...)".  Type
 * names are cleaned (fmt_clean).  Always NUL-terminated; returns buf. */
const char *fmt_memory_line(const struct heap *h, char *buf, size_t len);

#endif
