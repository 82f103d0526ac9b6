#include "check.h"

#include "cli.h"
#include "diag.h"
#include "fmt.h"
#include "memsrc.h"
#include "ptraceperm.h"
#include "pyinterp.h"
#include "snapshot.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LABEL "%-12s "

/* A diag as "problem:" (its first line) and "fix:" (each hint). */
static void print_problem(const struct diag *d, int err)
{
        const char *p = d->msg[0] ? d->msg : strerror(-err);

        const char *nl;

        printf(LABEL "%.*s\n", "problem:", (int)strcspn(p, "\n"), p);
        while ((nl = strchr(p, '\n')) != NULL) {
                p = nl + 1;
                if (!strncmp(p, "hint: ", 6))
                        p += 6;
                printf(LABEL "%.*s\n", "fix:", (int)strcspn(p, "\n"), p);
        }
}

static const char *user_of(uid_t uid, char *buf, size_t len)
{
        struct passwd *pw = getpwuid(uid);

        snprintf(buf, len, "%s", pw ? pw->pw_name : "?");
        return buf;
}

static void print_process(const struct ptrace_facts *f)
{
        char user[64];

        printf(LABEL "%d (%s)", "process", (int)f->pid, f->comm);
        if (f->target_known)
                printf(", user %s (uid %u)", user_of(f->target_uid[1], user, sizeof(user)),
                       (unsigned)f->target_uid[1]);
        if (f->nspid && f->nspid != f->pid)
                printf(", pid %d in its own PID namespace", (int)f->nspid);
        printf("\n");
}

/* What the kernel will check, and its verdict as far as /proc tells. */
static bool print_permission(const struct ptrace_facts *f)
{
        enum ptrace_cause c = ptrace_cause_of(f);
        char cause[1024], fix[1024], me[64];

        if (c != PTRACE_ALLOWED) {
                ptrace_describe(f, c, cause, sizeof(cause), fix, sizeof(fix));
                printf(LABEL "denied\n", "permission");
                printf(LABEL "%s\n", "problem:", cause);
                printf(LABEL "%s\n", "fix:", fix);
                return false;
        }
        printf(LABEL "ok: this tool runs as %s (uid %u)%s; Yama %s; %s%s\n", "permission",
               user_of(f->uid, me, sizeof(me)), (unsigned)f->uid,
               f->caps & (1ull << PTRACE_CAP_SYS_PTRACE) ? " with CAP_SYS_PTRACE" :
               " without CAP_SYS_PTRACE, the target's own user",
               f->yama < 0 ? "absent" : f->yama == 0 ? "scope 0" : f->yama == 1 ?
               "scope 1, the tool is an ancestor" : "scope 2, with CAP_SYS_PTRACE",
               f->seccomp == 2 ? "a seccomp filter on the tool (allows it so far)" :
               "no seccomp filter on the tool", f->lsm[0] ? "; an LSM label" : "");
        return true;
}

static void print_interpreter(const struct pyinterp *pi)
{
        printf(LABEL "CPython %s, %s (%s), build-id %s\n", "interpreter", pi->version,
               pi->elf_path ? pi->elf_path : "?",
               pi->is_executable ? "linked into the executable" : "libpython",
               pi->build_id[0] ? pi->build_id : "none");
        printf(LABEL "%s%s%s%s\n", "layout", pi->layout.source ? pi->layout.source : "?",
               pi->layout_detail[0] ? " (" : "", pi->layout_detail,
               pi->layout_detail[0] ? ")" : "");
        printf(LABEL "%s\n", "providers", pi->layout_providers);
        printf(LABEL "the layout passed the checks against the running process: "
               "PyType_Type is its own type, PyList_Type is named \"list\", the runtime's "
               "interpreter and thread link back, every GC list head links to its "
               "neighbours\n", "verified");
        if (pi->layout_disagreements[0])
                printf(LABEL "providers disagree: %s (the DWARF wins)\n", "warning",
                       pi->layout_disagreements);
}

static bool print_plan(const struct options *o, const struct snapshot_plan *p)
{
        char a[32], b[32];

        printf(LABEL "%s%s: %s to capture; %s\n", "snapshot",
               o->mode == SNAPSHOT_AUTO ? "auto would use " : "",
               snapshot_mode_name(p->mode), fmt_bytes(p->writable_bytes, a, sizeof(a)), p->why);
        printf(LABEL "about %.0f ms%s\n", "pause", p->pause_ms,
               p->mode == SNAPSHOT_LIVE ? " (live mode never stops it)" : "");
        printf(LABEL "%s (%s)", "budget", fmt_bytes(p->budget_bytes, b, sizeof(b)),
               o->max_memory ? "--max-memory" : "half of the memory available");
        if (!p->over_budget) {
                printf(": %s\n", p->mode == SNAPSHOT_COPY ? "the copy fits" :
                       p->mode == SNAPSHOT_FORK ? "a fork copies nothing up front" :
                       "a live read caches within it");
                return true;
        }
        printf(": the copy does not fit\n");
        printf(LABEL "a copy of %s is over the budget of %s\n", "problem:", a, b);
        printf(LABEL "--max-memory %lluM or more, or --snapshot fork (copies nothing)\n",
               "fix:", (unsigned long long)((p->writable_bytes >> 20) + 1));
        return false;
}

int check_run(const struct options *o)
{
        struct snapshot_opts so = {.mode = o->mode, .max_bytes = o->max_memory};
        struct snapshot_plan plan;
        struct ptrace_facts f;
        struct memsrc *live = NULL;
        struct pyinterp *pi = NULL;
        struct diag d = {0};
        bool ok, changed;
        int r;

        ptrace_facts_read(o->pid, &f);
        print_process(&f);
        /* no status to read: opening says why (gone, a zombie) */
        ok = !f.target_known || print_permission(&f);
        /* opening reads the maps and one byte: the kernel's own verdict */
        r = memsrc_open_live(o->pid, &live, &d);
        if (r < 0) {
                if (ok || r != -EPERM)
                        print_problem(&d, r);
                ok = false;
                goto out;
        }
        r = pyinterp_find_early(live, &(struct pyinterp_opts){ o->layout_cache }, &pi, &d);
        if (r == 0) {
                pyinterp_start_pending(pi);
                r = pyinterp_settle(live, pi, &changed, &d);
        }
        if (r < 0) {
                print_problem(&d, r);
                goto out;
        }
        print_interpreter(pi);
        diag_clear(&d);
        r = snapshot_plan(o->pid, &so, &plan, &d);
        if (r < 0) {
                print_problem(&d, r);
                goto out;
        }
        if (!print_plan(o, &plan))
                r = -ENOMEM;
out:
        if (r == 0 && ok)
                printf(LABEL "pyleak-attach %d would pause it about %.0f ms; it was not "
                       "stopped now\n", "ready", (int)o->pid, plan.pause_ms);
        else
                printf(LABEL "an attach would fail: see the problem above\n", "not ready");
        pyinterp_free(pi);
        memsrc_free(live);
        return r == 0 && ok ? EXIT_COMPLETE : EXIT_NOTHING;
}
