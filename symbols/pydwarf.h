/* dwarf: the DWARF layout provider.
 *
 * Fills a struct layout from the debug information of the interpreter's ELF:
 * the file's own .debug_info, else a separate debug file found by build-id
 * (/usr/lib/debug/.build-id/xx/rest.debug), by .gnu_debuglink, or through
 * debuginfod when DEBUGINFOD_URLS is set (libdwfl's standard search).
 *
 * Every struct of layout-fields.h is looked up by name in one pass over the
 * top-level DIEs of all units; member paths are then resolved inside the
 * complete definitions found.  Nothing is cached; nothing is retained after
 * the call.
 *
 * Errors: -ENOENT when no debug info describes the file (the diag names the
 * file, its build-id and how to get symbols); -ENOMEM.
 */
#ifndef PYLEAK_SYMBOLS_DWARF_H
#define PYLEAK_SYMBOLS_DWARF_H

#include <stddef.h>

struct pyelf;
struct layout;
struct diag;

/* lookup_path: a path to the same file whose directory is searched for
 * .gnu_debuglink targets (for a live target: /proc/PID/root + its path).
 * root: the target's root directory (/proc/PID/root) or NULL; its
 * /usr/lib/debug is searched by build-id after the host's.
 * On success sets l->source = "dwarf", fills l->s[] and l->f[], and writes
 * a one-line description (which file the DWARF came from) into detail. */
int pydwarf_layout_fill(const struct pyelf *e, const char *lookup_path, const char *root,
                        struct layout *l, char *detail, size_t detail_len,
                        struct diag *d);

/* Adds to l the structs it lacks that the DWARF of one extension module
 * (or of its separate debug file) at path describes: no _PyRuntimeState is
 * needed there.  -ENOENT when the file has no DWARF, -ENOMEM. */
int pydwarf_ext_layout_fill(const char *path, struct layout *l);

#endif
