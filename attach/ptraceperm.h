/* ptraceperm: why the kernel refuses ptrace access to a process, as the
 * one cause that applies.
 *
 * The kernel answers EPERM for a dozen reasons and says none of them.
 * ptrace_facts_read() gathers, without touching the target, what decides
 * the answer (the kernel's own order: __ptrace_may_access, then the
 * capability, Yama, seccomp and LSM hooks): both sides' uids and
 * capabilities, whether the target is dumpable, Yama's scope, the PID and
 * user namespaces, a seccomp filter or an LSM label on the tool.
 * ptrace_cause_of() names the first cause that holds; ptrace_explain()
 * turns it into one message with its fix.  The same text serves a failed
 * attach and --check.
 *
 * Nothing is allocated; facts that cannot be read are marked unknown and
 * never blamed. */
#ifndef PYLEAK_PTRACEPERM_H
#define PYLEAK_PTRACEPERM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct diag;

enum ptrace_cause {
        PTRACE_ALLOWED,          /* nothing found that forbids it */
        PTRACE_CAUSE_YAMA_NONE,  /* ptrace_scope 3: nobody, until reboot */
        PTRACE_CAUSE_OTHER_USER, /* another user's process, no CAP_SYS_PTRACE */
        PTRACE_CAUSE_NOT_DUMPABLE, /* setuid / PR_SET_DUMPABLE 0 */
        PTRACE_CAUSE_INIT,       /* pid 1 of its PID namespace */
        PTRACE_CAUSE_CAPS,       /* target holds capabilities the tool lacks */
        PTRACE_CAUSE_YAMA_ADMIN, /* ptrace_scope 2 without CAP_SYS_PTRACE */
        PTRACE_CAUSE_YAMA_CHILD, /* ptrace_scope 1, not an ancestor */
        PTRACE_CAUSE_USERNS,     /* container boundary: another user namespace */
        PTRACE_CAUSE_SECCOMP,    /* a seccomp filter on the tool */
        PTRACE_CAUSE_LSM,        /* the tool is confined by an LSM profile */
        PTRACE_CAUSE_UNKNOWN,    /* denied, and none of the above holds */
};

#define PTRACE_CAP_SYS_PTRACE 19

struct ptrace_facts {
        pid_t pid;
        bool target_known;       /* its /proc/PID/status was read */
        uid_t uid, target_uid[3];    /* ours (fsuid: what the check uses);
                                        the target's real, effective, saved */
        gid_t gid, target_gid[3];
        uint64_t caps, target_caps;  /* our CapEff, the target's CapPrm */
        bool target_dumpable;    /* /proc/PID is owned by its euid */
        int yama;                /* kernel.yama.ptrace_scope, -1: no Yama */
        bool ancestor;           /* we are an ancestor of the target */
        pid_t nspid;             /* pid inside its own namespace, 0: unknown */
        int userns;              /* 1 other user namespace than ours,
                                    0 the same, -1 unknown */
        bool tool_in_container;  /* our user namespace is not the first */
        int seccomp;             /* our Seccomp: mode (0, 1, 2), -1 unknown */
        char lsm[128];           /* our LSM label when confined, "" if not */
        char comm[32];           /* the target's */
};

/* Reads the facts about pid and about this process.  Never fails: what
 * cannot be read stays unknown. */
void ptrace_facts_read(pid_t pid, struct ptrace_facts *f);

/* The first cause that holds, in the kernel's order. */
enum ptrace_cause ptrace_cause_of(const struct ptrace_facts *f);

/* One message for a denied access: "cannot WHAT process N: CAUSE", then
 * the hint for that cause.  `what` e.g. "read the memory of".  -EPERM. */
int ptrace_explain(const struct ptrace_facts *f, const char *what, struct diag *d);

/* The cause alone and its fix, two lines for --check ("" fix when none).
 * cause and fix are written as NUL-terminated strings. */
void ptrace_describe(const struct ptrace_facts *f, enum ptrace_cause c,
                     char *cause, size_t cause_len, char *fix, size_t fix_len);

/* "cap_sys_ptrace, cap_sys_nice" for the bits of mask, into buf. */
const char *ptrace_cap_names(uint64_t mask, char *buf, size_t len);

#endif
