/* procmaps: what /proc says about a live process, and the raw reads the
 * attach/ backends share.  Private to attach/ (and its unit tests).
 *
 * The /proc text of a target is hostile input: every length and count is
 * capped, paths may contain spaces, " (deleted)" is stripped into
 * mem_region.deleted.  Region arrays returned here are freed with
 * procmaps_regions_free().  Errors: -ESRCH the process (or thread) is gone,
 * -EPERM access denied, -EBADMSG unparsable text, -ENOMEM.
 */
#ifndef PYLEAK_PROCMAPS_H
#define PYLEAK_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem_region;
struct diag;

/* Hard caps: a maps file larger than this or with more lines is refused. */
#define PROCMAPS_MAX_BYTES   (64u << 20)
#define PROCMAPS_MAX_REGIONS (1u << 20)
#define PROC_MAX_TASKS       65536

/* Reads of maps/smaps whose text comes out inconsistent (the target changed
 * its mappings between two read() calls) are retried this many times in
 * all; then -EBADMSG. */
#define PROCMAPS_READ_TRIES  8

/* Parses one maps line (without or with its trailing '\n').  ret->path is
 * malloc'ed (NULL when anonymous).  -EBADMSG on malformed text. */
int procmaps_parse_line(const char *line, size_t len, struct mem_region *ret);

/* Parses a whole maps text into a sorted region array. */
int procmaps_parse(const char *text, size_t len, struct mem_region **ret,
                   size_t *ret_n);

/* Reads and parses /proc/PID/maps (retried, see PROCMAPS_READ_TRIES). */
int procmaps_read(pid_t pid, struct mem_region **ret, size_t *ret_n);

/* Same through /proc/PID/task/TID/maps (tid == pid: /proc/PID/maps).  A
 * leader that called pthread_exit() has no mm: read through a live thread. */
int procmaps_read_task(pid_t pid, pid_t tid, struct mem_region **ret,
                       size_t *ret_n);

/* A thread of pid whose /proc files still show the address space: pid
 * itself unless the leader has exited while other threads run. */
pid_t proc_reader_tid(pid_t pid);

/* "/proc/PID/FILE" or "/proc/PID/task/TID/FILE" into buf. */
void proc_task_path(char *buf, size_t size, pid_t pid, pid_t tid,
                    const char *file);

/* Reads /proc/PID/smaps: the regions as procmaps_read() gives them, plus
 * for each its resident-or-swapped bytes (Rss + Swap) in *ret_resident
 * (malloc'ed, parallel to the regions). */
int procmaps_read_smaps(pid_t pid, pid_t tid, struct mem_region **ret,
                        uint64_t **ret_resident, size_t *ret_n);

/* Fills d for a failed read of /proc/PID/FILE (maps, smaps) other than
 * -ESRCH/-EPERM, which callers explain themselves; -EBADMSG says the
 * mappings kept changing.  Returns err. */
int proc_explain_maps_error(struct diag *d, pid_t pid, const char *file, int err);

/* Reads a whole (small) file, NUL-terminated, at most max bytes. */
int proc_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

struct proc_status {
        char state;           /* 'R', 'S', 'D', 'T', 't', 'Z', 'X', ... */
        pid_t tgid;
        pid_t tracer_pid;     /* 0 when not traced */
        uid_t uid;            /* real uid */
};

/* /proc/PID/status (tid may be a thread of another process's group:
 * /proc/PID/task/TID/status is read when pid != tid and pid > 0). */
int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret);

/* State letter from /proc/PID/task/TID/stat (pid == tid for the leader). */
int proc_read_state(pid_t pid, pid_t tid, char *ret);

/* /proc/PID/comm without the newline, truncated to size. "?" if unknown. */
void proc_read_comm(pid_t pid, char *buf, size_t size);

/* Lists /proc/PID/task into tids[0..max); *ret_n is the number found.
 * -E2BIG if there are more than max (tids and *ret_n then hold the first
 * max), -ESRCH if the process is gone. */
int proc_list_tasks(pid_t pid, pid_t *tids, size_t max, size_t *ret_n);

/* kernel.yama.ptrace_scope, or -ENOENT when Yama is absent. */
int proc_yama_ptrace_scope(void);

/* Checks that pid exists and is not a zombie; fills d.  0, or -ESRCH. */
int proc_check_alive(pid_t pid, struct diag *d);

/* After a failure: whether pid has exited (gone, or a lone zombie).  If so,
 * rewrites d as "process N exited during the attach (exit status S)", the
 * old first line kept as "what failed:", with a hint, and returns -ESRCH;
 * otherwise leaves d alone and returns 0. */
int proc_explain_exit(pid_t pid, struct diag *d);

/* Fills d with the one cause why ptrace access to pid was denied and its
 * fix (ptraceperm.h), given the Yama scope (< 0: absent).  `what` is the
 * failed action, e.g. "attach to".  Returns -EPERM. */
int proc_explain_eperm(struct diag *d, pid_t pid, const char *what,
                       int yama_scope);

/* All-or-nothing read of the target's memory with process_vm_readv:
 * 0, -EFAULT (some byte unreadable), -ESRCH (gone), -EPERM, -ENOSYS. */
int proc_vm_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* All-or-nothing pread on an open /proc/PID/mem: 0, -EFAULT, -ESRCH. */
int proc_mem_read(int mem_fd, pid_t pid, uint64_t addr, void *buf, size_t len);

/* Opens a file the target has mapped: /proc/PID/map_files/<start>-<end>,
 * then /proc/PID/root/<path>.  Returns an fd (O_RDONLY|O_CLOEXEC) and, if
 * host_path, the path opened (caller frees). */
int proc_open_mapped_file(pid_t pid, const struct mem_region *r,
                          char **host_path);

/* Frees a region array (paths included). */
void procmaps_regions_free(struct mem_region *r, size_t n);

/* Larger private writable mappings are reservations (ASan shadow, VM
 * arenas), not heaps: they are served live instead of copied. */
#define PROCMAPS_MAX_COPY_REGION (64ull << 30)

/* Private, readable, writable, not a stack/vvar/device, not a huge
 * reservation: the mappings that can hold Python objects. */
bool procmaps_region_copyable(const struct mem_region *r);
/* Anonymous or a [pseudo] mapping. */
bool procmaps_region_anon(const struct mem_region *r);

#endif
