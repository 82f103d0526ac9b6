/* debugoffsets: the _Py_DebugOffsets layout provider (CPython 3.13+).
 *
 * Since 3.13 `_PyRuntime` opens with a block of uint64 values that describe
 * part of the interpreter's layout (doc/internals.md §Debug offsets): the cookie
 * "xdebugpy", PY_VERSION_HEX, a free-threaded flag, then per struct its
 * sizeof and some field offsets.  Where each value sits inside the block
 * differs per minor version (and between pre-releases), so this provider
 * knows the block layouts of the final releases of 3.13, 3.14 and 3.15 and
 * refuses others.
 *
 * It covers the runtime's interpreter list, the interpreter (id, next,
 * threads, gc, modules, sysdict, builtins), thread states, interpreter
 * frames, code, object header, type (name, flags; 3.15 basicsize and
 * dictoffset, heap type cached keys), tuple, list, set (3.14+), dict,
 * float, long, bytes, unicode, generator (3.14+) and the size and
 * `collecting` of the GC state — not the GC list heads, dict keys, managed
 * dicts, functions, cells, ...: a table (tables.h) has to fill the rest.
 *
 * Errors:
 *   -ENOENT      no cookie: not a 3.13+ runtime (or a wrong address)
 *   -EOPNOTSUPP  free-threaded build, or a version whose block layout is
 *                unknown (pre-releases, 3.16+); the diag says which
 *   -EBADMSG     the block is inconsistent (version differs from the one
 *                detected, a size out of range, an offset past its struct)
 *   -EFAULT ...  from the memsrc
 */
#ifndef PYLEAK_DEBUGOFFSETS_H
#define PYLEAK_DEBUGOFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct memsrc;
struct layout;
struct diag;

/* Reads the block at runtime_addr and fills the covered structs/fields of l
 * (others untouched); sets l->source = "debug_offsets".  version_hex is the
 * version detected from the same block (checked again here). */
int debugoffsets_fill(struct memsrc *m, uint64_t runtime_addr, uint32_t version_hex,
                      struct layout *l, char *detail, size_t detail_len, struct diag *d);

/* Whether a block layout is known for this version (final 3.13-3.15). */
int debugoffsets_supported(uint32_t version_hex);

#endif
