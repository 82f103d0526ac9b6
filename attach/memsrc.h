/* memsrc: read-only access to a target's address space, whatever holds it.
 *
 * One interface, several backends: a live process read in place
 * (process_vm_readv, falling back to /proc/PID/mem), a snapshot copied while
 * the target was stopped (attach/snapshot.h), later a forked copy or a core
 * file.  Everything above attach/ reads target memory only through this
 * interface and never learns which backend it has.
 *
 * Ownership: memsrc_free() releases the source and everything it returned
 * (region arrays, pointers from memsrc_ptr()).  Region arrays stay valid until
 * then.  All functions return >= 0 on success or a negative errno:
 *   -EFAULT  the range is not (entirely) mapped/readable in the target
 *   -ESRCH   the live target is gone
 *   -EPERM   access denied
 */
#ifndef PYLEAK_MEMSRC_H
#define PYLEAK_MEMSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memsrc;
struct diag;

/* One mapping of the target, as /proc/PID/maps (or a core's PT_LOADs) says. */
struct mem_region {
        uint64_t start, end;     /* [start, end) */
        uint64_t offset;         /* file offset of start, 0 for anonymous */
        uint64_t inode;
        bool r, w, x, shared;
        bool copied;             /* snapshot backends: bytes held locally */
        bool deleted;            /* maps said " (deleted)"; stripped from path */
        char *path;              /* as the target sees it; NULL if anonymous;
                                    "[heap]", "[stack]" ... for pseudo paths */
};

/* Reads exactly len bytes at addr into buf, or fails (-EFAULT) without a
 * partial result. */
int memsrc_read(struct memsrc *m, uint64_t addr, void *buf, size_t len);

/* Zero-copy access for backends that hold the bytes locally: returns a
 * pointer to len bytes at addr when the whole range lies in one held region,
 * else NULL (then use memsrc_read).  Valid until memsrc_free(). */
const void *memsrc_ptr(struct memsrc *m, uint64_t addr, size_t len);

/* The piece of held bytes around addr that one block holds: returns the
 * pointer to *lo's byte and sets [*lo, *hi), or NULL; a walker keeps the
 * last span and reads inside it with no call.  Snapshots and fork copies
 * never change their bytes: *gen is set NULL and the span is valid until
 * memsrc_free().  A live source's read cache does: *gen then points at a
 * counter that moves whenever any cached byte may have changed; the span
 * may be read only while the counter keeps the value it had, and what is
 * read must be copied out at once (no pointer into it may be kept). */
const void *memsrc_span(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                        const uint64_t **gen);
/* Whether memsrc_span can ever answer (spares live readers the call). */
bool memsrc_has_spans(const struct memsrc *m);

/* Convenience: reads a little-endian 64-bit word. */
int memsrc_read_u64(struct memsrc *m, uint64_t addr, uint64_t *ret);

/* The target's mappings, sorted by start.  *ret stays owned by m. */
int memsrc_regions(struct memsrc *m, const struct mem_region **ret, size_t *ret_n);

/* The region containing addr, or NULL. */
const struct mem_region *memsrc_region_of(struct memsrc *m, uint64_t addr);

/* pid of the live target this source reads or was copied from; for a core
 * file, the pid recorded in it.  For a target in another PID namespace this is the host's pid. */
pid_t memsrc_pid(struct memsrc *m);

/* The target's pid as it sees itself (the last NSpid entry of
 * /proc/PID/status): differs from memsrc_pid() for a target in its own PID
 * namespace (containers).  0 when unknown (core files, no /proc entry). */
pid_t memsrc_pid_in_namespace(struct memsrc *m);

/* The directory the target's own paths resolve under, as this process
 * sees it: /proc/PID/root for a running target (its mount namespace: a
 * container, a chroot), a core file's --sysroot, or "" (this machine's
 * root).  Written to buf (always terminated); returns buf. */
const char *memsrc_root(struct memsrc *m, char *buf, size_t len);

/* Opens the target's file `path` (absolute, as the target names it)
 * under memsrc_root(), read-only: an fd, or -errno. */
int memsrc_open_file(struct memsrc *m, const char *path);

/* Opens /proc/PID/`name` of the running process behind m, read-only: an
 * fd, or -ENOENT for a core file or a fake (whose pid may name another
 * process by now), or -errno. */
int memsrc_open_proc(struct memsrc *m, const char *name);

/* Opens a file the target has mapped, as the target sees it (through
 * /proc/PID/map_files or /proc/PID/root for live targets, so other mount
 * namespaces work).  Returns an fd (caller closes) or a negative errno.
 * host_path, when not NULL, receives the path that was opened (caller frees). */
int memsrc_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                            char **host_path);

/* Frees the source; accepts NULL. */
void memsrc_free(struct memsrc *m);

/* --- Live backend: reads the running process in place, no stop. --------- */

/* Opens pid for reading.  Fails with -ESRCH (no such process / zombie),
 * -EPERM (with the CAP_SYS_PTRACE / ptrace_scope / container hints in d). */
int memsrc_open_live(pid_t pid, struct memsrc **ret, struct diag *d);

/* Re-reads /proc/PID/maps (live backends only; others return 0). */
int memsrc_refresh_regions(struct memsrc *m);

/* Live sources: read through a cache of 64 KiB blocks of up to max_bytes
 * (0 turns it off, the default).  A block holds the target as it was when
 * the block was read, so the caller decides how fresh it needs the bytes:
 * memsrc_forget() drops blocks, and a reader that finds something
 * inconsistent forgets the range and reads again before it believes it.
 * Only private writable mappings are cached (what copy mode would copy);
 * other sources ignore the call.  -ENOMEM if the table cannot be had. */
int memsrc_live_cache(struct memsrc *m, uint64_t max_bytes);

/* Drops what a caching source holds of [addr, addr+len) (len UINT64_MAX
 * from 0: everything), so that the next read sees the target as it is
 * now.  A no-op for sources that hold a fixed copy. */
void memsrc_forget(struct memsrc *m, uint64_t addr, uint64_t len);

#endif
