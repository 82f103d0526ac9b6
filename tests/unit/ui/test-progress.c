/* progress: the line each phase draws, composed without a terminal.  The
 * copy's numbers come from snapshot_opts.progress (test-snapshot checks
 * the attach side); here, what a user reads of them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"
#include "tap.h"

#define MIB (1ull << 20)

static const char *line_as(bool compact)
{
        static char buf[256];

        progress_line(buf, sizeof(buf), compact);
        return buf;
}

static const char *line(void)
{
        return line_as(false);
}

int main(void)
{
        const char *l;

        progress_start(false);
        progress_phase(PROGRESS_COPY);
        l = line();
        ok(!strncmp(l, "pyleak-attach: stop/copy: ", 26) && !strstr(l, " of "),
           "stop/copy without bytes (fork, live): the phase and its time \"%s\"", l);

        progress_copy(NULL, SNAPSHOT_STAGE_PREPARE, 0, 1024 * MIB);
        progress_copy(NULL, SNAPSHOT_STAGE_PREPARE, 256 * MIB, 1024 * MIB);
        l = line();
        ok(strstr(l, "stop/copy: preparing 256.0 MiB of 1.0 GiB, ") && strstr(l, "/s, about ") &&
           strstr(l, " left"), "preparing: bytes of the total, a rate, an estimate \"%s\"", l);

        progress_copy(NULL, SNAPSHOT_STAGE_COPY, 0, 1024 * MIB);
        progress_copy(NULL, SNAPSHOT_STAGE_COPY, 512 * MIB, 1024 * MIB);
        l = line();
        ok(strstr(l, "stop/copy: copying 512.0 MiB of 1.0 GiB, ") && strstr(l, "about "),
           "copying: the copy's own count \"%s\"", l);

        progress_copy(NULL, SNAPSHOT_STAGE_COPY, 1100 * MIB, 1024 * MIB);
        l = line();
        ok(strstr(l, "copying 1.1 GiB of 1.0 GiB") && !strstr(l, "about"),
           "a target that grew past its measure: no estimate \"%s\"", l);

        progress_phase(PROGRESS_WALK);
        l = line();
        ok(!strncmp(l, "pyleak-attach: walk: ", 21) && !strstr(l, "copying"),
           "the next phase forgets the bytes \"%s\"", l);

        progress_worker(0, 3, 4241);
        progress_worker(1, 3, 4242);
        progress_phase(PROGRESS_COPY);
        l = line();
        ok(!strncmp(l, "pyleak-attach: worker 2/3 (pid 4242): stop/copy: ", 49),
           "a pool's worker is named before its phase \"%s\"", l);

        /* the widest case: a pool's worker with a 7-digit pid, a walk of
         * millions; 80 columns keep the count, the rate and the estimate */
        progress_worker(2, 3, 4194303);
        progress_phase(PROGRESS_WALK);
        progress_walk(NULL, 0, 10005327);
        progress_walk(NULL, 9999424, 10005327);
        l = line();
        ok(strlen(l) >= 80, "the full line is too wide for 80 columns (%zu) \"%s\"", strlen(l), l);
        l = line_as(true);
        ok(strlen(l) < 80 && !strncmp(l, "[3/3 pid 4194303] walk: 10.0M/10.0M, ", 37) &&
           strstr(l, "/s, ") && strstr(l, " left"),
           "compact: the worker, the count, the rate and the estimate in %zu columns \"%s\"",
           strlen(l), l);
        progress_phase(PROGRESS_COPY);
        progress_copy(NULL, SNAPSHOT_STAGE_COPY, 0, 1024 * MIB);
        progress_copy(NULL, SNAPSHOT_STAGE_COPY, 512 * MIB, 1024 * MIB);
        l = line_as(true);
        ok(strlen(l) < 80 && !strncmp(l, "[3/3 pid 4194303] stop/copy: copying 512M/1.00G, ", 49) &&
           strstr(l, " left") && !strstr(l, "pool"),
           "compact copy line, %zu columns \"%s\"", strlen(l), l);
        progress_finish();
        return tap_done();
}
