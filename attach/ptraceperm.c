#include "ptraceperm.h"

#include "diag.h"
#include "procmaps.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first user namespace's inode (PROC_USER_INIT_INO): a tool in any
 * other one runs in a container. */
#define INIT_USERNS_INO 4026531837ull
#define ANCESTRY_MAX 256

static const char *const cap_names[] = {
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
        "cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
        "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
        "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
        "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
        "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
        "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
        "cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
        "cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
        "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
        "cap_checkpoint_restore",
};

const char *ptrace_cap_names(uint64_t mask, char *buf, size_t len)
{
        size_t n = 0;

        buf[0] = 0;
        for (unsigned i = 0; i < 64 && n < len; i++) {
                if (!(mask & (1ull << i)))
                        continue;
                if (i < sizeof(cap_names) / sizeof(cap_names[0]))
                        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
                                              cap_names[i]);
                else
                        n += (size_t)snprintf(buf + n, len - n, "%scap_%u", n ? ", " : "", i);
        }
        return buf;
}

/* The value of "Key:" in a /proc status text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
        size_t kl = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (!strncmp(p, key, kl) && p[kl] == ':')
                        return p + kl + 1;
        return NULL;
}

/* Real, effective, saved (and, for ours, fs) ids from "Uid:"/"Gid:". */
static bool status_ids(const char *text, const char *key, unsigned ids[4])
{
        const char *v = status_field(text, key);

        return v && sscanf(v, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4;
}

static uint64_t status_hex(const char *text, const char *key, bool *ok)
{
        const char *v = status_field(text, key);

        *ok = v != NULL;
        return v ? strtoull(v, NULL, 16) : 0;
}

static char *read_status(pid_t pid)
{
        char path[64], *text = NULL;

        if (pid)
                snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        else
                snprintf(path, sizeof(path), "/proc/self/status");
        return proc_read_file(path, 1u << 16, &text, NULL) < 0 ? NULL : text;
}

static unsigned long long ns_ino(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Whether we are an ancestor of pid (Yama scope 1 lets ancestors attach). */
static bool is_ancestor(pid_t pid)
{
        pid_t self = getpid(), p = pid;

        for (int i = 0; i < ANCESTRY_MAX && p > 1; i++) {
                char *text = read_status(p);
                const char *v = text ? status_field(text, "PPid") : NULL;

                p = v ? (pid_t)strtol(v, NULL, 10) : 0;
                free(text);
                if (p == self)
                        return true;
        }
        return false;
}

static void read_self(struct ptrace_facts *f)
{
        char *text = read_status(0), *attr = NULL;
        unsigned ids[4];
        bool ok;

        f->uid = geteuid();
        f->gid = getegid();
        f->caps = ~0ull;
        f->seccomp = -1;
        if (text) {
                /* the access check compares the fs ids */
                if (status_ids(text, "Uid", ids))
                        f->uid = ids[3];
                if (status_ids(text, "Gid", ids))
                        f->gid = ids[3];
                f->caps = status_hex(text, "CapEff", &ok);
                if (!ok)
                        f->caps = ~0ull;
                const char *v = status_field(text, "Seccomp");

                f->seccomp = v ? (int)strtol(v, NULL, 10) : -1;
                free(text);
        }
        f->tool_in_container = ns_ino("/proc/self/ns/user") != INIT_USERNS_INO &&
                               ns_ino("/proc/self/ns/user") != 0;
        f->yama = proc_yama_ptrace_scope();
        if (f->yama < 0)
                f->yama = -1;
        /* AppArmor's own file first (Linux 5.8+ with several LSMs) */
        if (proc_read_file("/proc/self/attr/apparmor/current", sizeof(f->lsm) - 1, &attr,
                           NULL) == 0 ||
            proc_read_file("/proc/self/attr/current", sizeof(f->lsm) - 1, &attr, NULL) == 0) {
                attr[strcspn(attr, "\n")] = 0;
                /* AppArmor's and SELinux's words for "not confined" */
                if (attr[0] && strcmp(attr, "unconfined") && !strstr(attr, "unconfined_t") &&
                    !strstr(attr, "kernel_t"))
                        snprintf(f->lsm, sizeof(f->lsm), "%s", attr);
                free(attr);
        }
}

void ptrace_facts_read(pid_t pid, struct ptrace_facts *f)
{
        char path[64], *text;
        unsigned ids[4];
        struct stat st;
        bool ok;

        memset(f, 0, sizeof(*f));
        f->pid = pid;
        f->userns = -1;
        f->target_dumpable = true;
        read_self(f);
        f->ancestor = is_ancestor(pid);
        proc_read_comm(pid, f->comm, sizeof(f->comm));
        text = read_status(pid);
        if (text && status_ids(text, "Uid", ids)) {
                f->target_known = true;
                memcpy(f->target_uid, ids, sizeof(f->target_uid));
                if (status_ids(text, "Gid", ids))
                        memcpy(f->target_gid, ids, sizeof(f->target_gid));
                f->target_caps = status_hex(text, "CapPrm", &ok);
                const char *v = status_field(text, "NSpid");

                /* the last entry: the pid as the target sees itself */
                for (char *end; v; v = end) {
                        long x = strtol(v, &end, 10);

                        if (end == v)
                                break;
                        f->nspid = (pid_t)x;
                }
        }
        free(text);
        /* A process that is not dumpable has its /proc directory owned by
         * root whatever its uid. */
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        if (f->target_known && f->target_uid[1] != 0 && stat(path, &st) == 0)
                f->target_dumpable = st.st_uid == f->target_uid[1];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        unsigned long long theirs = ns_ino(path), ours = ns_ino("/proc/self/ns/user");

        if (theirs && ours)
                f->userns = theirs != ours;
}

static bool has_cap(const struct ptrace_facts *f, unsigned cap)
{
        return f->caps & (1ull << cap);
}

enum ptrace_cause ptrace_cause_of(const struct ptrace_facts *f)
{
        bool cap = has_cap(f, PTRACE_CAP_SYS_PTRACE);
        uint64_t missing = f->target_caps & ~f->caps;
        bool same_ids = true;

        if (f->yama == 3)
                return PTRACE_CAUSE_YAMA_NONE;
        for (int i = 0; i < 3 && f->target_known; i++)
                if (f->target_uid[i] != f->uid || f->target_gid[i] != f->gid)
                        same_ids = false;
        if (!same_ids && !cap)
                return PTRACE_CAUSE_OTHER_USER;
        if (!f->target_dumpable && !cap)
                return PTRACE_CAUSE_NOT_DUMPABLE;
        if (f->nspid == 1 && missing)
                return PTRACE_CAUSE_INIT;
        if (missing && !cap)
                return PTRACE_CAUSE_CAPS;
        if (f->yama == 2 && !cap)
                return PTRACE_CAUSE_YAMA_ADMIN;
        if (f->yama == 1 && !cap && !f->ancestor)
                return PTRACE_CAUSE_YAMA_CHILD;
        if (f->tool_in_container && f->userns != 0)
                return PTRACE_CAUSE_USERNS;
        if (f->seccomp == 2)
                return PTRACE_CAUSE_SECCOMP;
        if (f->lsm[0])
                return PTRACE_CAUSE_LSM;
        if (f->nspid == 1)
                return PTRACE_CAUSE_INIT;
        return PTRACE_ALLOWED;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
        struct passwd *pw = getpwuid(uid);

        snprintf(buf, len, "%s", pw ? pw->pw_name : "?");
        return buf;
}

static const char *tool_path(char *buf, size_t len)
{
        ssize_t n = readlink("/proc/self/exe", buf, len - 1);

        snprintf(buf + (n > 0 ? n : 0), len - (size_t)(n > 0 ? n : 0), "%s",
                 n > 0 ? "" : "/usr/local/bin/pyleak-attach");
        return buf;
}

#define SETCAP "sudo setcap cap_sys_ptrace+ep %s"

void ptrace_describe(const struct ptrace_facts *f, enum ptrace_cause c,
                     char *cause, size_t cl, char *fix, size_t fl)
{
        char tu[64], me[64], exe[512], caps[512];
        int pid = (int)f->pid;

        tool_path(exe, sizeof(exe));
        ptrace_cap_names(f->target_caps & ~f->caps, caps, sizeof(caps));
        fix[0] = 0;
        switch (c) {
        case PTRACE_ALLOWED:
                snprintf(cause, cl, "ptrace access to process %d is allowed (same user or "
                         "CAP_SYS_PTRACE, no restriction found)", pid);
                break;
        case PTRACE_CAUSE_YAMA_NONE:
                snprintf(cause, cl, "kernel.yama.ptrace_scope is 3: ptrace is disabled for "
                         "everyone, root included, until reboot");
                snprintf(fix, fl, "set a lower kernel.yama.ptrace_scope in /etc/sysctl.d/ and "
                         "reboot; meanwhile a kernel core file of the process can be read "
                         "(--core)");
                break;
        case PTRACE_CAUSE_OTHER_USER:
                snprintf(cause, cl, "process %d (%s) belongs to user %s (uid %u) and this tool "
                         "runs as %s (uid %u) without CAP_SYS_PTRACE: only root or the "
                         "capability may read another user's process", pid, f->comm,
                         user_name(f->target_uid[1], tu, sizeof(tu)), (unsigned)f->target_uid[1],
                         user_name(f->uid, me, sizeof(me)), (unsigned)f->uid);
                /* the target's own user may attach unless Yama says otherwise */
                bool as_owner = f->yama <= 0 && f->target_uid[1] != 0;

                snprintf(fix, fl, "run it as root: sudo %s %d%s%s%s", exe, pid,
                         as_owner ? "; or as the target's user: sudo -u " : "",
                         as_owner ? tu : "", as_owner ? " pyleak-attach ..." : "");
                break;
        case PTRACE_CAUSE_NOT_DUMPABLE:
                snprintf(cause, cl, "process %d (%s) is not dumpable (setuid or setgid, or "
                         "prctl(PR_SET_DUMPABLE, 0)): only CAP_SYS_PTRACE may read it", pid,
                         f->comm);
                snprintf(fix, fl, "run the tool as root (sudo %s %d), or give it the "
                         "capability: " SETCAP, exe, pid, exe);
                break;
        case PTRACE_CAUSE_INIT:
                snprintf(cause, cl, "process %d (%s) is pid 1, the init process of its PID "
                         "namespace%s%s%s", pid, f->comm,
                         caps[0] ? ", and holds capabilities this tool lacks (" : "; a sandbox "
                         "or security module guards it", caps, caps[0] ? ")" : "");
                snprintf(fix, fl, "pid 1 is rarely the Python service: find it with pgrep -a "
                         "python; a Python service that is pid 1 of a container is read from "
                         "the host as root, with every capability");
                break;
        case PTRACE_CAUSE_CAPS:
                snprintf(cause, cl, "process %d (%s) holds capabilities this tool lacks (%s), "
                         "and the tool has no CAP_SYS_PTRACE", pid, f->comm, caps);
                snprintf(fix, fl, "give the tool CAP_SYS_PTRACE: run it as root with full "
                         "capabilities, or " SETCAP "; in a container: --cap-add=SYS_PTRACE",
                         exe);
                break;
        case PTRACE_CAUSE_YAMA_ADMIN:
                snprintf(cause, cl, "kernel.yama.ptrace_scope is 2 (admin-only): only "
                         "CAP_SYS_PTRACE may attach, and this tool lacks it");
                snprintf(fix, fl, "run it as root (sudo %s %d), or " SETCAP, exe, pid, exe);
                break;
        case PTRACE_CAUSE_YAMA_CHILD:
                snprintf(cause, cl, "kernel.yama.ptrace_scope is 1 (restricted): without "
                         "CAP_SYS_PTRACE only an ancestor of process %d may attach to it, and "
                         "this tool is not one", pid);
                snprintf(fix, fl, "run it as root (sudo %s %d), or " SETCAP ", or allow "
                         "same-user attach: sudo sysctl kernel.yama.ptrace_scope=0", exe, pid,
                         exe);
                break;
        case PTRACE_CAUSE_USERNS:
                snprintf(cause, cl, "this tool runs in a container (its own user namespace) and "
                         "process %d is outside it: capabilities held inside a container do not "
                         "reach processes beyond it", pid);
                snprintf(fix, fl, "run the tool on the host as root, or inside the target's "
                         "own container (docker exec, kubectl debug --target=CONTAINER)");
                break;
        case PTRACE_CAUSE_SECCOMP:
                snprintf(cause, cl, "this tool runs under a seccomp filter (Seccomp: 2 in "
                         "/proc/self/status), which refuses ptrace or process_vm_readv");
                snprintf(fix, fl, "run it without the filter (docker run --security-opt "
                         "seccomp=unconfined), or with a profile that allows ptrace and "
                         "process_vm_readv");
                break;
        case PTRACE_CAUSE_LSM:
                snprintf(cause, cl, "this tool runs confined by the security module profile "
                         "'%s', which can refuse ptrace", f->lsm);
                snprintf(fix, fl, "run it unconfined (docker run --security-opt "
                         "apparmor=unconfined), or allow ptrace in that profile");
                break;
        case PTRACE_CAUSE_UNKNOWN:
                snprintf(cause, cl, "the kernel refused it, though the tool has the same ids or "
                         "CAP_SYS_PTRACE and no Yama scope, seccomp filter or security "
                         "module label forbids it");
                snprintf(fix, fl, "a sandbox that shows no label (Landlock, a custom security "
                         "module) may forbid it: run the tool outside that sandbox, as root on "
                         "the host");
                break;
        }
}

int ptrace_explain(const struct ptrace_facts *f, const char *what, struct diag *d)
{
        char cause[1024], fix[1024];
        enum ptrace_cause c = ptrace_cause_of(f);

        /* denied though nothing forbids it: say so, never "allowed" */
        if (c == PTRACE_ALLOWED)
                c = PTRACE_CAUSE_UNKNOWN;
        ptrace_describe(f, c, cause, sizeof(cause), fix, sizeof(fix));
        diag_set(d, -EPERM, "cannot %s process %d: permission denied: %s",
                 what ? what : "attach to", (int)f->pid, cause);
        if (fix[0])
                diag_append(d, "hint: %s", fix);
        return -EPERM;
}
