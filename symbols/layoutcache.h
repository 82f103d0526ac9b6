/* layoutcache: DWARF layouts already read, kept on disk by build-id.
 *
 * Reading an interpreter's DWARF costs 10-50 ms of CPU (about a second when
 * it is compressed, as Debian's -dbg packages are) on every attach, for an
 * answer that depends on the build alone.  The first attach to a build
 * stores what the DWARF provider found as DIR/BUILDID-SCHEMA.layout (the
 * text format of tables.h under a short header); later attaches to the same
 * build read that file instead.  SCHEMA is layout_schema_hash() with the
 * cache format, so a tool that looks up other fields never takes an older
 * tool's file for its own.
 *
 * A cached layout is trusted as much as the DWARF it stands for: it is
 * validated against the target's memory like any other.  Because the tool
 * often runs as root, only a regular file owned by the caller, in a
 * directory owned by the caller that no one else can write, is ever read;
 * anything else is a miss.  Nothing here prints; every miss or failed store
 * only means the DWARF is read as if there were no cache.
 */
#ifndef PYLEAK_LAYOUTCACHE_H
#define PYLEAK_LAYOUTCACHE_H

#include <stddef.h>

struct layout;

/* The cache directory this environment asks for: $PYLEAK_ATTACH_CACHE_DIR
 * when set (empty: no cache), else $XDG_CACHE_HOME/pyleak-attach, else
 * $HOME/.cache/pyleak-attach.  -ENOENT when there is none (no cache);
 * -ENAMETOOLONG when it does not fit in buf. */
int layout_cache_default_dir(char *buf, size_t len);

/* Fills l (already layout_init'ed; its source becomes "dwarf") and detail
 * (the provider detail stored with it) from the entry of build_id.
 * -ENOENT: no usable entry (none, not ours, malformed, other schema). */
int layout_cache_load(const char *dir, const char *build_id, struct layout *l, char *detail,
                      size_t detail_len);

/* Stores l under build_id, atomically (a reader sees the old entry or the
 * whole new one).  Creates dir, and its parent if missing, mode 0700.
 * Negative errno when it could not: -EPERM when dir or its parent belongs
 * to someone else or others can write it (root with another user's HOME). */
int layout_cache_store(const char *dir, const char *build_id, const struct layout *l,
                       const char *detail);

#endif
