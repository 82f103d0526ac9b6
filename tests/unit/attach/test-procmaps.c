/* Parsing /proc/PID/maps lines: spaces and " (deleted)" in paths, pseudo
 * paths, anonymous mappings, malformed and hostile input. */
#include "memsrc-internal.h"
#include "procmaps.h"
#include "tap.h"

#include "diag.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(const char *line, struct mem_region *r)
{
        memset(r, 0, sizeof(*r));
        return procmaps_parse_line(line, strlen(line), r);
}

static int streq(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

/* A child that exits with status 7 and is not reaped, one killed by
 * SIGKILL, and a live one: proc_explain_exit() tells each apart and reads
 * the zombie's wait status from /proc/PID/stat. */
static void check_explain_exit(void)
{
        struct diag d;
        siginfo_t si;
        pid_t c;

        c = fork();
        if (c == 0)
                _exit(7);
        waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);  /* a zombie now */
        diag_set(&d, -EFAULT, "cannot read the GC list head at 0x1000\nhint: x");
        ok(proc_explain_exit(c, &d) == -ESRCH && d.err == -ESRCH &&
           strstr(d.msg, "exited during the attach (exit status 7)") &&
           strstr(d.msg, "what failed: cannot read the GC list head at 0x1000\n") &&
           strstr(d.msg, "hint:"), "explain_exit: a zombie with its exit status \"%s\"", d.msg);
        waitpid(c, NULL, 0);
        diag_set(&d, -EFAULT, "cannot read");
        ok(proc_explain_exit(c, &d) == -ESRCH && strstr(d.msg, "exited during the attach\n"),
           "explain_exit: a reaped process, status unknown \"%s\"", d.msg);

        c = fork();
        if (c == 0) {
                pause();
                _exit(0);
        }
        diag_set(&d, -EFAULT, "cannot read");
        ok(proc_explain_exit(c, &d) == 0 && !strcmp(d.msg, "cannot read"),
           "explain_exit: a live process leaves the message alone");
        kill(c, SIGKILL);
        waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT);
        ok(proc_explain_exit(c, &d) == -ESRCH &&
           strstr(d.msg, "(killed by signal 9, Killed)"),
           "explain_exit: killed by a signal \"%s\"", d.msg);
        waitpid(c, NULL, 0);

        proc_explain_maps_error(&d, 42, "smaps", -EBADMSG);
        ok(d.err == -EBADMSG && strstr(d.msg, "cannot read /proc/42/smaps: the target's memory "
                                       "mappings changed during each of 8 reads") &&
           strstr(d.msg, "\nhint: "), "maps error: -EBADMSG says the mappings kept changing");
}

int main(void)
{
        struct mem_region r, *v = NULL;
        size_t n = 0;
        int ret;

        ret = parse("55d0c6a00000-55d0c6a2a000 r--p 00000000 08:01 1311005                    /usr/bin/python3.11\n", &r);
        ok(ret == 0 && r.start == 0x55d0c6a00000ull && r.end == 0x55d0c6a2a000ull &&
           r.r && !r.w && !r.x && !r.shared && r.offset == 0 && r.inode == 1311005 &&
           streq(r.path, "/usr/bin/python3.11") && !r.deleted, "plain file mapping");
        free(r.path);

        ret = parse("7f00aa000000-7f00aa100000 rw-p 0002a000 fd:00 42   /home/a b/my lib (x).so", &r);
        ok(ret == 0 && r.r && r.w && r.offset == 0x2a000 && r.inode == 42 &&
           streq(r.path, "/home/a b/my lib (x).so"), "path with spaces and parentheses");
        free(r.path);

        ret = parse("7f00aa000000-7f00aa100000 r-xp 00001000 fd:00 77   /tmp/libpython3.12.so.1.0 (deleted)", &r);
        ok(ret == 0 && r.x && r.deleted && streq(r.path, "/tmp/libpython3.12.so.1.0"),
           "(deleted) is stripped and flagged");
        free(r.path);

        ret = parse("7f00aa000000-7f00aa100000 rw-s 00000000 00:01 1024   /memfd:arena (deleted)", &r);
        ok(ret == 0 && r.shared && r.deleted && streq(r.path, "/memfd:arena"), "shared memfd");
        free(r.path);

        ret = parse("5600aa000000-5600aa021000 rw-p 00000000 00:00 0                          [heap]", &r);
        ok(ret == 0 && r.w && r.inode == 0 && streq(r.path, "[heap]"), "[heap] pseudo path");
        free(r.path);

        ret = parse("7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0                          [stack]", &r);
        ok(ret == 0 && streq(r.path, "[stack]"), "[stack] pseudo path");
        free(r.path);

        ret = parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", &r);
        ok(ret == 0 && r.start == 0xffffffffff600000ull && !r.r && r.x &&
           streq(r.path, "[vsyscall]"), "[vsyscall] at the top of the address space");
        free(r.path);

        ret = parse("7f00aa000000-7f00aa100000 rw-p 00000000 00:00 0 [anon:python arena]", &r);
        ok(ret == 0 && streq(r.path, "[anon:python arena]"), "named anonymous mapping");
        free(r.path);

        ret = parse("7f00aa000000-7f00aa100000 rw-p 00000000 00:00 0 \n", &r);
        ok(ret == 0 && r.path == NULL && r.r && r.w, "anonymous: trailing blank, no path");
        ret = parse("7f00aa000000-7f00aa100000 ---p 00000000 00:00 0", &r);
        ok(ret == 0 && r.path == NULL && !r.r && !r.w && !r.x, "anonymous guard, no trailing space");

        ok(parse("", &r) == -EBADMSG, "empty line rejected");
        ok(parse("zzzz-1000 rw-p 0 00:00 0", &r) == -EBADMSG, "bad start rejected");
        ok(parse("2000-1000 rw-p 00000000 00:00 0", &r) == -EBADMSG, "end < start rejected");
        ok(parse("1000-2000 rwzp 00000000 00:00 0", &r) == -EBADMSG, "bad perms rejected");
        ok(parse("1000-2000 rw-p 00000000 00:00", &r) == -EBADMSG, "missing inode rejected");
        ok(parse("1000-2000 rw-p 00000000 00:00 12x /a", &r) == -EBADMSG, "junk after inode rejected");
        ok(parse("11111111111111111-2000 rw-p 00000000 00:00 0", &r) == -EBADMSG,
           "hex overflow rejected");

        {
                static const char text[] =
                        "7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
                        "\n"
                        "400000-401000 r--p 00000000 08:01 5 /bin/x\n"
                        "7f0000000000-7f0000002000 r--p 00000000 08:01 6 /lib/y z.so\n";

                ret = procmaps_parse(text, sizeof(text) - 1, &v, &n);
                ok(ret == 0 && n == 3 && v[0].start == 0x400000 &&
                   v[1].start == 0x7f0000000000ull && v[2].start == 0x7f0000002000ull &&
                   streq(v[1].path, "/lib/y z.so"), "whole text parsed and sorted");
                procmaps_regions_free(v, n);
        }
        {
                static const char text[] =
                        "1000-3000 rw-p 00000000 00:00 0\n"
                        "2000-4000 rw-p 00000000 00:00 0\n";

                v = NULL;
                ok(procmaps_parse(text, sizeof(text) - 1, &v, &n) == -EBADMSG && v == NULL,
                   "overlapping regions rejected");
        }
        {
                static const char text[] = "1000-3000 rw-p 00000000 00:00 0\ngarbage\n";

                ok(procmaps_parse(text, sizeof(text) - 1, &v, &n) == -EBADMSG,
                   "garbage line rejects the whole text");
        }

        /* our own maps must parse and contain [stack] and this function */
        ret = procmaps_read(getpid(), &v, &n);
        {
                size_t i;
                int stack = 0, code = 0;

                for (i = 0; ret == 0 && i < n; i++) {
                        if (streq(v[i].path, "[stack]"))
                                stack = 1;
                        if ((uint64_t)(uintptr_t)main >= v[i].start &&
                            (uint64_t)(uintptr_t)main < v[i].end && v[i].x)
                                code = 1;
                }
                ok(ret == 0 && n > 5 && stack && code, "own /proc/self/maps parsed (%zu regions)", n);
                if (ret == 0)
                        procmaps_regions_free(v, n);
        }
        ok(procmaps_read(0x7ffffff0, &v, &n) == -ESRCH, "maps of a missing pid: -ESRCH");
        check_explain_exit();
        return tap_done();
}
