/* units: byte counts as people read them ("245.3 KiB"), shared by the
 * model's descriptions (heap/suspects.c) and ui/'s formatting (fmt.h), so
 * that a figure reads the same in every report. */
#ifndef PYLEAK_UNITS_H
#define PYLEAK_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "512 B", "1.5 KiB", "3.0 MiB" into buf (always NUL-terminated);
 * returns buf. */
const char *units_bytes(uint64_t b, char *buf, size_t len);

#endif
