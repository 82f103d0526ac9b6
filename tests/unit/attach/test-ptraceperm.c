/* ptraceperm: each cause of a denied ptrace is named alone, from facts
 * built by hand (the kernel's order: Yama 3, ids, dumpable, pid 1 of a
 * namespace, capabilities, Yama 2 and 1, user namespace, seccomp, LSM), and
 * the facts read about our own process are what /proc says. */
#include "ptraceperm.h"
#include "tap.h"

#include "diag.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define ALL_CAPS 0x1ffffffffffull
#define CAP(n) (1ull << (n))

/* A root tool and a root target with the same capabilities: allowed. */
static struct ptrace_facts base(void)
{
        struct ptrace_facts f;

        memset(&f, 0, sizeof(f));
        f.pid = 4242;
        f.target_known = true;
        f.caps = f.target_caps = ALL_CAPS;
        f.target_dumpable = true;
        f.yama = -1;
        f.nspid = 4242;
        f.userns = 0;
        snprintf(f.comm, sizeof(f.comm), "python3");
        return f;
}

/* The message for f names `want` and none of the other causes' words. */
static void expect(const struct ptrace_facts *f, enum ptrace_cause c, const char *want,
                   const char *fix, const char *desc)
{
        static const char *const others[] = {
                "belongs to user", "not dumpable", "pid 1", "holds capabilities",
                "ptrace_scope is", "user namespace", "seccomp filter", "security module profile",
        };
        struct diag d;
        int r = ptrace_explain(f, "attach to", &d);
        bool alone = true;

        /* the unknown cause lists what it ruled out */
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]) && c != PTRACE_ALLOWED; i++)
                if (strstr(d.msg, others[i]) && !strstr(want, others[i]))
                        alone = false;
        ok(r == -EPERM && ptrace_cause_of(f) == c && strstr(d.msg, want) &&
           strstr(d.msg, fix) && alone && strstr(d.msg, "\nhint: "),
           "%s: \"%s\"", desc, d.msg);
}

static void test_causes(void)
{
        struct ptrace_facts f = base();

        ok(ptrace_cause_of(&f) == PTRACE_ALLOWED, "same ids and caps, no restriction: allowed");
        expect(&f, PTRACE_ALLOWED, "the kernel refused it", "outside that sandbox",
               "denied with nothing that forbids it: said so, never 'allowed'");

        f = base();
        f.uid = f.gid = 65534;
        f.caps = 0;
        expect(&f, PTRACE_CAUSE_OTHER_USER, "belongs to user", "sudo ",
               "another user's process, no capability");
        f.caps = CAP(PTRACE_CAP_SYS_PTRACE) | ALL_CAPS;
        ok(ptrace_cause_of(&f) == PTRACE_ALLOWED, "another user's process with CAP_SYS_PTRACE: allowed");

        f = base();
        f.uid = f.gid = 1000;
        f.target_uid[0] = f.target_uid[1] = f.target_uid[2] = 1000;
        f.target_gid[0] = f.target_gid[1] = f.target_gid[2] = 1000;
        f.caps = f.target_caps = 0;
        f.target_dumpable = false;
        expect(&f, PTRACE_CAUSE_NOT_DUMPABLE, "not dumpable", "setcap cap_sys_ptrace+ep",
               "same user, target not dumpable");
        f.target_dumpable = true;
        f.yama = 1;
        expect(&f, PTRACE_CAUSE_YAMA_CHILD, "ptrace_scope is 1 (restricted)",
               "kernel.yama.ptrace_scope=0", "same user, scope 1, not an ancestor");
        f.ancestor = true;
        ok(ptrace_cause_of(&f) == PTRACE_ALLOWED, "same user, scope 1, an ancestor: allowed");
        f.yama = 2;
        expect(&f, PTRACE_CAUSE_YAMA_ADMIN, "ptrace_scope is 2 (admin-only)", "sudo ",
               "same user, scope 2");
        f.yama = 3;
        f.caps = ALL_CAPS;
        expect(&f, PTRACE_CAUSE_YAMA_NONE, "ptrace_scope is 3", "reboot",
               "scope 3 refuses even root");

        f = base();
        f.caps = ALL_CAPS & ~CAP(PTRACE_CAP_SYS_PTRACE);
        expect(&f, PTRACE_CAUSE_CAPS, "holds capabilities this tool lacks (cap_sys_ptrace)",
               "--cap-add=SYS_PTRACE", "root without CAP_SYS_PTRACE against root");
        f.caps = ALL_CAPS & ~CAP(24);
        ok(ptrace_cause_of(&f) == PTRACE_ALLOWED,
           "missing cap_sys_resource but holding CAP_SYS_PTRACE: allowed");
        f.nspid = 1;
        expect(&f, PTRACE_CAUSE_INIT, "is pid 1, the init process of its PID namespace, and "
               "holds capabilities this tool lacks (cap_sys_resource)", "pgrep -a python",
               "pid 1 of a namespace holding a capability the tool lacks");
        f.caps = ALL_CAPS;
        expect(&f, PTRACE_CAUSE_INIT, "pid 1, the init process", "pgrep -a python",
               "pid 1 denied with nothing else found");

        f = base();
        f.tool_in_container = true;
        f.userns = 1;
        expect(&f, PTRACE_CAUSE_USERNS, "user namespace", "on the host",
               "tool in a container, target outside it");
        f.userns = 0;
        f.seccomp = 2;
        expect(&f, PTRACE_CAUSE_SECCOMP, "seccomp filter", "seccomp=unconfined",
               "a seccomp filter on the tool");
        f.seccomp = 0;
        snprintf(f.lsm, sizeof(f.lsm), "docker-default (enforce)");
        expect(&f, PTRACE_CAUSE_LSM, "security module profile 'docker-default (enforce)'",
               "apparmor=unconfined", "an AppArmor profile on the tool");
}

static void test_self(void)
{
        struct ptrace_facts f;
        char buf[256];

        ptrace_facts_read(getpid(), &f);
        ok(f.target_known && f.target_uid[1] == geteuid() && f.uid == geteuid(),
           "own facts: the uids of this process (%u)", (unsigned)f.uid);
        ok(f.target_caps == f.caps || f.target_caps != 0 || f.caps == 0,
           "own facts: capabilities read (CapEff %llx)", (unsigned long long)f.caps);
        ok(f.userns == 0 && f.ancestor == false && f.target_dumpable,
           "own facts: same user namespace, dumpable, not our own ancestor");
        ok(f.yama == -1 || (f.yama >= 0 && f.yama <= 3), "own facts: yama %d", f.yama);
        ok(!strcmp(ptrace_cap_names(CAP(19) | CAP(24), buf, sizeof(buf)),
                   "cap_sys_ptrace, cap_sys_resource"), "capability names: %s", buf);
}

int main(void)
{
        test_causes();
        test_self();
        return tap_done();
}
