/* core-report: the JSON report of a core file, for test_core.py, built from
 * the same calls `pyleak-attach --core CORE [--exe PATH] [--sysroot DIR]`
 * makes (memsrc_open_core_opts, pyinterp_find, heap_build, heap_analyse,
 * report_json with objects).  It exists so the core path is proven end to
 * end before, and independently of, the CLI option.
 *
 *   core-report CORE [EXE|-] [SYSROOT]   JSON on stdout; exit 2 + message */
#include "core.h"
#include "memsrc.h"
#include "pyinterp.h"
#include "heap.h"
#include "report.h"
#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        struct core_opts co = {0};
        struct core_info ci;
        struct memsrc *m = NULL;
        struct pyinterp *pi = NULL;
        struct heap *h = NULL;
        struct diag d = {0};
        struct report_opts ro = {.objects = true, .top = 20};
        int r, code = 2;

        if (argc < 2 || argc > 4) {
                fprintf(stderr, "usage: core-report CORE [EXE|-] [SYSROOT]\n");
                return 64;
        }
        co.core_path = argv[1];
        co.exe_path = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
        co.sysroot = argc > 3 ? argv[3] : NULL;
        r = memsrc_open_core_opts(&co, &m, &d);
        if (r < 0)
                goto out;
        r = pyinterp_find(m, NULL, &pi, &d);
        if (r < 0)
                goto out;
        r = heap_build(m, pi, NULL, &h, &d);
        if (r == -EAGAIN && !d.msg[0])
                diag_set(&d, r, "a garbage collection was running when the core was taken");
        if (r < 0)
                goto out;
        r = heap_analyse(h);
        if (r < 0)
                goto out;
        memsrc_core_info(m, &ci);
        h->meta.pid = ci.pid;
        h->meta.threads = ci.threads;
        h->meta.bytes_copied = ci.bytes_in_core;
        h->meta.pause_ms = 0;
        h->meta.stop_ms = 0;
        r = report_json(h, stdout, &ro);
        if (r >= 0 && fflush(stdout) == 0)
                code = h->meta.inconsistencies ? 1 : 0;
out:
        if (r < 0)
                fprintf(stderr, "core-report: %s\n", d.msg[0] ? d.msg : strerror(-r));
        heap_free(h);
        pyinterp_free(pi);
        memsrc_free(m);
        return code;
}
