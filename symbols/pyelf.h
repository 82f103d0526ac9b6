/* elf: the ELF file in a target that holds the CPython interpreter.
 *
 * pyelf_find() looks at the distinct files the target has mapped, opens each
 * as the target sees it (memsrc_open_mapped_file, never the host path: the
 * target may live in another mount namespace) and returns the one that
 * defines `_PyRuntime` (.dynsym, .symtab or a `.PyRuntime` section),
 * libpython3.X*.so* preferred over the executable.  When no file defines it
 * but one exports the old embedding API (Py_Initialize), that file is
 * returned with has_runtime == false so the caller can name the unsupported
 * old version.
 *
 * The returned struct owns an open fd and an Elf handle; pyelf_free() closes
 * both.  Errors: -EOPNOTSUPP with a diag when nothing Python-like is mapped;
 * -ESRCH/-EPERM from the memsrc; -ENOMEM.
 */
#ifndef PYLEAK_SYMBOLS_ELF_H
#define PYLEAK_SYMBOLS_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Not <libelf.h>: this header is itself reached from inside it. */
struct Elf;
struct memsrc;
struct diag;

struct pyelf {
        int fd;                   /* owned */
        struct Elf *elf;             /* owned, ELF_C_READ_MMAP on fd */
        char *path;               /* as the target sees it */
        char *host_path;          /* what was opened on this host */
        char *exe_path;           /* the target's main executable, if seen */
        bool has_runtime;         /* defines _PyRuntime (else: old Python) */
        bool is_executable;       /* has PT_INTERP or is ET_EXEC */
        uint16_t e_type;          /* ET_EXEC / ET_DYN */
        uint64_t bias;            /* load bias in the target */
        uint64_t runtime_vaddr;   /* unbiased &_PyRuntime, 0 if none */
        char build_id[41];        /* lowercase hex, "" if none (truncated
                                     to 20 bytes, the SHA-1 size) */
        char *debuglink;          /* .gnu_debuglink file name or NULL */
};

int pyelf_find(struct memsrc *m, struct pyelf **ret, struct diag *d);

void pyelf_free(struct pyelf *e);

/* Resolves names[0..n-1] to unbiased st_value, first in .dynsym, then in
 * .symtab for names .dynsym lacks.  Unresolved names get 0.  Always fills
 * ret[]; returns the number of names resolved. */
int pyelf_lookup(const struct pyelf *e, const char *const *names, size_t n,
                 uint64_t *ret);

/* Finds a CPython version string ("3.10.13", "2.7.18", "3.11.0rc1") among
 * the NUL-terminated strings of .rodata.  When several differ, the one whose
 * major.minor matches the file name (libpythonX.Y, pythonX.Y) wins.
 * Returns 0 and writes buf, or -ENOENT. */
int pyelf_version_string(const struct pyelf *e, char *buf, size_t len);

/* "X.Y" from a file name such as libpython3.10.so.1.0, python3.8,
 * libpython3.13t.so; *ret_t tells whether the free-threaded "t" suffix
 * follows.  -ENOENT if the name carries no version. */
int pyelf_name_version(const char *path, unsigned *ret_major,
                       unsigned *ret_minor, bool *ret_t);

#endif
