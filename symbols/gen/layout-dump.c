/* layout-dump: print the layout the DWARF provider finds in one ELF file, in
 * the table format of symbols/tables/ (see tables.h).
 *
 * Used by gen-layout-table on two kinds of input: a probe shared object
 * compiled against a CPython version's own headers (so every struct those
 * headers define is in its DWARF), and a libpython with DWARF of the same
 * minor version (for structs private to CPython's .c files).  Reusing
 * pydwarf means the tables and the DWARF provider can only disagree when
 * the inputs do, never because two readers interpret DWARF differently.
 *
 *   layout-dump FILE          all structs and fields found
 *   layout-dump --ext FILE    the same from an extension module's DWARF
 *                             (_asyncio*.so or its .debug file)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libelf.h>

#include "diag.h"
#include "layout.h"
#include "pydwarf.h"
#include "pyelf.h"

int main(int argc, char **argv)
{
        struct pyelf e = { .fd = -1 };
        struct layout l;
        struct diag d = { 0 };
        char detail[512];
        int rc;

        if (argc == 3 && !strcmp(argv[1], "--ext")) {
                elf_version(EV_CURRENT);
                layout_init(&l, 0);
                rc = pydwarf_ext_layout_fill(argv[2], &l);
                if (rc < 0) {
                        fprintf(stderr, "layout-dump: no DWARF in %s: %s\n", argv[2], strerror(-rc));
                        return 1;
                }
                return layout_write_text(stdout, &l) < 0 || fflush(stdout) != 0;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: layout-dump [--ext] FILE\n");
                return 2;
        }
        elf_version(EV_CURRENT);
        e.fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (e.fd < 0) {
                fprintf(stderr, "layout-dump: cannot open %s: %m\n", argv[1]);
                return 1;
        }
        e.path = argv[1];
        e.host_path = argv[1];
        layout_init(&l, 0);
        rc = pydwarf_layout_fill(&e, argv[1], NULL, &l, detail, sizeof(detail), &d);
        close(e.fd);
        if (rc < 0) {
                fprintf(stderr, "layout-dump: %s\n", d.msg);
                return 1;
        }
        if (layout_write_text(stdout, &l) < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "layout-dump: cannot write: %m\n");
                return 1;
        }
        return 0;
}
