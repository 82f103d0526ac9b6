/* core: a memsrc over an ELF core file (gdb's gcore, or a kernel core dump)
 * of an x86-64 Linux process, so a crashed or dumped Python can be analysed
 * exactly like a live one: main() picks this backend once and nothing
 * downstream knows the difference.
 *
 * What the core holds and how it is served:
 *   - PT_LOAD segments are the target's mappings.  Bytes the core holds are
 *     read from it (zero-copy through memsrc_ptr()).  A segment whose
 *     p_filesz < p_memsz has a tail the core did not write: served from the
 *     mapped file when the mapping is file-backed, else as zeros.
 *   - NT_FILE lists the mapped files (path, start, end, file offset).
 *     Mappings a dumper left out because their bytes equal the file's
 *     (gdb omits unmodified file-backed mappings entirely; the kernel writes
 *     only their first page) are served from those files on this host, or
 *     under opts->sysroot, at the recorded offsets.  A segment with no bytes
 *     in the core and no file behind it is unreadable (-EFAULT).
 *   - memsrc_open_mapped_file() opens the file NT_FILE names (so symbols/
 *     finds libpython exactly as for a live target).
 *   - NT_PRPSINFO / NT_PRSTATUS give the pid (memsrc_pid() returns it: the
 *     pid as the dumping side saw it; gcore records the host's pid, a kernel
 *     core of a containerised process the pid inside its namespace) and the
 *     threads.
 *
 * Ownership: the memsrc owns the mapping of the core and any open files;
 * memsrc_free() releases all.  Strings in struct core_info stay valid until
 * then.
 *
 * Errors (a diag says which file, why, and what to do):
 *   -ENOENT      the core file, or the executable / libpython it maps,
 *                cannot be found (hint: --exe PATH, --sysroot DIR)
 *   -ENOEXEC     not an ELF core file (an executable given by mistake, text)
 *   -EBADMSG     truncated or inconsistent core (segments past the end of
 *                the file, overlapping segments, malformed notes)
 *   -EOPNOTSUPP  a core of another architecture or ELF class
 *   -ENOMEM
 */
#ifndef PYLEAK_CORE_H
#define PYLEAK_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memsrc;
struct diag;

struct core_opts {
        const char *core_path;   /* required */
        const char *exe_path;    /* NULL: the executable NT_FILE names */
        const char *sysroot;     /* NULL: mapped files at their recorded
                                    paths on this host; else under this dir
                                    (a container's rootfs, an unpacked image) */
};

struct core_info {
        pid_t pid;                    /* as recorded (see above) */
        int threads;                  /* NT_PRSTATUS notes */
        int signal;                   /* pr_cursig of the first thread: the fatal
                                         signal of a kernel core; for gcore what
                                         gdb records (usually 0) */
        const char *fname;            /* NT_PRPSINFO pr_fname (<= 16 chars) */
        const char *psargs;           /* NT_PRPSINFO pr_psargs (<= 80 chars) */
        const char *exe;              /* executable path as recorded, or NULL */
        const char *exe_host;         /* file actually used for it, or NULL */
        size_t files;                 /* distinct files in NT_FILE */
        size_t files_missing;         /* not found on this host / sysroot */
        size_t files_stale;           /* found, but its first page differs
                                         from the core's copy (not used) */
        const char *first_missing;    /* recorded path of one missing file */
        uint64_t bytes_in_core;       /* sum of PT_LOAD p_filesz */
};

/* Opens opts->core_path.  Fails when the core is unusable or when the
 * executable or a libpython it maps cannot be found; other missing files
 * are counted in core_info and their regions are unreadable. */
int memsrc_open_core_opts(const struct core_opts *opts, struct memsrc **ret,
                          struct diag *d);

/* Shorthand: no sysroot. */
int memsrc_open_core(const char *core_path, const char *exe_path,
                     struct memsrc **ret, struct diag *d);

/* Facts about a core-backed memsrc; -EINVAL for any other backend. */
int memsrc_core_info(struct memsrc *m, struct core_info *ret);

#endif
