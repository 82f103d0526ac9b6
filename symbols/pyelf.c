/* elf: find and describe the ELF file that holds the interpreter. */
#include "pyelf.h"

#include <elf.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>

#include "diag.h"
#include "memsrc.h"

/* Hard caps: target-controlled /proc data and files are hostile input. */
#define MAX_CANDIDATES 4096
#define MAX_SYMBOLS    (4u << 20)

struct candidate {
        const struct mem_region *r;   /* lowest mapping of the file with
                                         file offset 0, else its first */
        int rank;                     /* scan order: 0 first */
};

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s ? s + 1 : path;
}

/* Files that never hold CPython but are in every process: skipping them keeps
 * the scan of a non-Python target short. */
static bool is_system_noise(const char *base)
{
        static const char *const prefixes[] = {
                "ld-linux", "ld-musl", "ld64.so", "libc.so", "libc-",
                "libm.so", "libm-", "libpthread", "libdl.so", "libdl-",
                "librt.so", "librt-", "libutil", "libgcc_s", "libstdc++",
                "libcrypt.so", "libz.so", "libnss_", "libresolv",
        };

        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
                if (!strncmp(base, prefixes[i], strlen(prefixes[i])))
                        return true;
        return false;
}

static int rank_of(const char *path)
{
        const char *b = base_name(path);

        if (!strncmp(b, "libpython", 9))
                return 0;
        if (strstr(b, "python"))
                return 1;
        return 2;
}

static bool same_file(const struct mem_region *a, const struct mem_region *b)
{
        return a->inode == b->inode && !strcmp(a->path, b->path);
}

/* One entry per distinct mapped file, ordered by rank then address. */
static int collect_candidates(const struct mem_region *regs, size_t n,
                              struct candidate **ret, size_t *ret_n)
{
        struct candidate *c;
        size_t nc = 0;

        c = calloc(n ? n : 1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n && nc < MAX_CANDIDATES; i++) {
                const struct mem_region *r = &regs[i];
                size_t j;

                if (!r->path || r->path[0] != '/' || !strncmp(r->path, "/dev/", 5) ||
                    !strncmp(r->path, "/memfd:", 7) || !strncmp(r->path, "/SYSV", 5))
                        continue;
                for (j = 0; j < nc; j++)
                        if (same_file(c[j].r, r))
                                break;
                if (j < nc) {
                        if (r->offset == 0 && c[j].r->offset != 0)
                                c[j].r = r;
                        continue;
                }
                c[nc].r = r;
                c[nc].rank = rank_of(r->path);
                nc++;
        }
        /* Stable insertion sort by rank; n is small. */
        for (size_t i = 1; i < nc; i++) {
                struct candidate t = c[i];
                size_t j = i;

                while (j > 0 && c[j - 1].rank > t.rank) {
                        c[j] = c[j - 1];
                        j--;
                }
                c[j] = t;
        }
        *ret = c;
        *ret_n = nc;
        return 0;
}

static int section_by_name(Elf *elf, const char *name, Elf_Scn **ret, GElf_Shdr *ret_sh)
{
        size_t shstrndx;
        Elf_Scn *scn = NULL;

        if (elf_getshdrstrndx(elf, &shstrndx) < 0)
                return -ENOENT;
        while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr sh;
                const char *n;

                if (!gelf_getshdr(scn, &sh))
                        continue;
                n = elf_strptr(elf, shstrndx, sh.sh_name);
                if (n && !strcmp(n, name)) {
                        *ret = scn;
                        *ret_sh = sh;
                        return 0;
                }
        }
        return -ENOENT;
}

/* Walks one symbol table; calls back for defined symbols. */
static int each_symbol(Elf *elf, Elf64_Word type,
                       int (*fn)(const char *name, const GElf_Sym *sym, void *ud), void *ud)
{
        Elf_Scn *scn = NULL;

        while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr sh;
                Elf_Data *data;
                size_t count;

                if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
                        continue;
                data = elf_getdata(scn, NULL);
                if (!data)
                        continue;
                count = sh.sh_size / sh.sh_entsize;
                if (count > MAX_SYMBOLS)
                        count = MAX_SYMBOLS;
                for (size_t i = 1; i < count; i++) {
                        GElf_Sym sym;
                        const char *name;
                        int r;

                        if (!gelf_getsym(data, (int)i, &sym))
                                break;
                        if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
                                continue;
                        name = elf_strptr(elf, sh.sh_link, sym.st_name);
                        if (!name)
                                continue;
                        r = fn(name, &sym, ud);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

struct lookup_ctx {
        const char *const *names;
        size_t n;
        uint64_t *out;
        int found;
};

static int lookup_cb(const char *name, const GElf_Sym *sym, void *ud)
{
        struct lookup_ctx *c = ud;

        for (size_t i = 0; i < c->n; i++) {
                if (c->out[i] || name[0] != c->names[i][0] || strcmp(name, c->names[i]))
                        continue;
                if (!sym->st_value)
                        continue;
                c->out[i] = sym->st_value;
                c->found++;
                break;
        }
        return c->found == (int)c->n ? 1 : 0;
}

int pyelf_lookup(const struct pyelf *e, const char *const *names, size_t n,
                 uint64_t *ret)
{
        struct lookup_ctx c = { .names = names, .n = n, .out = ret };

        memset(ret, 0, n * sizeof(*ret));
        each_symbol(e->elf, SHT_DYNSYM, lookup_cb, &c);
        if (c.found < (int)n)
                each_symbol(e->elf, SHT_SYMTAB, lookup_cb, &c);
        return c.found;
}

static uint64_t lookup_one(Elf *elf, const char *name)
{
        struct pyelf tmp = { .elf = elf };
        const char *names[1] = { name };
        uint64_t v;

        pyelf_lookup(&tmp, names, 1, &v);
        return v;
}

static uint64_t runtime_vaddr(Elf *elf)
{
        Elf_Scn *scn;
        GElf_Shdr sh;
        uint64_t v = lookup_one(elf, "_PyRuntime");

        if (v)
                return v;
        /* 3.10+ keep _PyRuntime alone at the start of its own section; the
         * section survives even a build that hides the symbol. */
        if (section_by_name(elf, ".PyRuntime", &scn, &sh) == 0 && sh.sh_addr)
                return sh.sh_addr;
        return 0;
}

static bool has_interp_segment(Elf *elf)
{
        size_t n;

        if (elf_getphdrnum(elf, &n) < 0)
                return false;
        for (size_t i = 0; i < n && i < 4096; i++) {
                GElf_Phdr ph;

                if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
                        return true;
        }
        return false;
}

/* Bias per doc/internals.md §Load bias: the mapping with file offset 0 minus the
 * page-aligned p_vaddr of the first PT_LOAD.  When the offset-0 page is not
 * mapped (unusual), use the PT_LOAD that covers the region's file offset. */
static int compute_bias(Elf *elf, const struct mem_region *r, uint64_t *ret)
{
        GElf_Ehdr eh;
        size_t n;
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

        if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n) < 0)
                return -EBADMSG;
        if (eh.e_type == ET_EXEC) {
                *ret = 0;
                return 0;
        }
        for (size_t i = 0; i < n && i < 4096; i++) {
                GElf_Phdr ph;
                uint64_t off_lo, off_hi;

                if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
                        continue;
                if (r->offset == 0) {
                        *ret = r->start - (ph.p_vaddr & ~(page - 1));
                        return 0;
                }
                off_lo = ph.p_offset & ~(page - 1);
                off_hi = ph.p_offset + ph.p_filesz;
                if (r->offset >= off_lo && r->offset < off_hi) {
                        *ret = r->start - r->offset - ((ph.p_vaddr & ~(page - 1)) - off_lo);
                        return 0;
                }
        }
        return -ENOENT;
}

static void read_build_id(Elf *elf, char out[41])
{
        Elf_Scn *scn = NULL;

        out[0] = '\0';
        while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr sh;
                Elf_Data *data;
                size_t off = 0, name_off, desc_off;
                GElf_Nhdr nh;

                if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
                        continue;
                data = elf_getdata(scn, NULL);
                if (!data)
                        continue;
                while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
                        const unsigned char *desc;
                        size_t len;

                        if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
                            memcmp((const char *)data->d_buf + name_off, "GNU", 4))
                                continue;
                        desc = (const unsigned char *)data->d_buf + desc_off;
                        len = nh.n_descsz < 20 ? nh.n_descsz : 20;
                        for (size_t i = 0; i < len; i++)
                                snprintf(out + 2 * i, 3, "%02x", desc[i]);
                        return;
                }
        }
}

static char *read_debuglink(Elf *elf)
{
        Elf_Scn *scn;
        GElf_Shdr sh;
        Elf_Data *data;

        if (section_by_name(elf, ".gnu_debuglink", &scn, &sh) < 0)
                return NULL;
        data = elf_getdata(scn, NULL);
        if (!data || !data->d_buf || !data->d_size)
                return NULL;
        return strndup(data->d_buf, data->d_size);
}

static int open_elf(struct memsrc *m, const struct mem_region *r, int *ret_fd,
                    Elf **ret_elf, char **ret_host)
{
        char *host = NULL;
        int fd;
        Elf *elf;

        fd = memsrc_open_mapped_file(m, r, &host);
        if (fd < 0)
                return fd;
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64) {
                elf_end(elf);
                close(fd);
                free(host);
                return -ENOEXEC;
        }
        *ret_fd = fd;
        *ret_elf = elf;
        *ret_host = host;
        return 0;
}

static int make_pyelf(struct memsrc *m, const struct mem_region *r, bool has_runtime,
                      const char *exe_path, struct pyelf **ret)
{
        struct pyelf *e;
        GElf_Ehdr eh;
        int rc;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->fd = -1;
        rc = open_elf(m, r, &e->fd, &e->elf, &e->host_path);
        if (rc < 0)
                goto fail;
        rc = -ENOMEM;
        e->path = strdup(r->path);
        if (!e->path || (exe_path && !(e->exe_path = strdup(exe_path))))
                goto fail;
        rc = -EBADMSG;
        if (!gelf_getehdr(e->elf, &eh))
                goto fail;
        e->e_type = eh.e_type;
        e->is_executable = eh.e_type == ET_EXEC || has_interp_segment(e->elf);
        e->has_runtime = has_runtime;
        e->runtime_vaddr = has_runtime ? runtime_vaddr(e->elf) : 0;
        rc = compute_bias(e->elf, r, &e->bias);
        if (rc < 0)
                goto fail;
        read_build_id(e->elf, e->build_id);
        e->debuglink = read_debuglink(e->elf);
        *ret = e;
        return 0;
fail:
        pyelf_free(e);
        return rc;
}

static void describe_process(struct memsrc *m, const char *exe, char *buf, size_t len)
{
        pid_t pid = memsrc_pid(m);
        char comm[64] = "";
        int fd = memsrc_open_proc(m, "comm");
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

        if (fd >= 0 && !f)
                close(fd);
        if (f) {
                if (fgets(comm, sizeof(comm), f))
                        comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
        }
        if (exe && comm[0])
                snprintf(buf, len, "process %d (%s, comm %s)", (int)pid, exe, comm);
        else if (exe || comm[0])
                snprintf(buf, len, "process %d (%s)", (int)pid, exe ? exe : comm);
        else
                snprintf(buf, len, "process %d", (int)pid);
}

int pyelf_find(struct memsrc *m, struct pyelf **ret, struct diag *d)
{
        const struct mem_region *regs;
        struct candidate *c = NULL;
        size_t nregs, nc = 0;
        const struct mem_region *legacy = NULL, *found = NULL;
        const char *exe = NULL;
        char who[512];
        int rc;

        if (elf_version(EV_CURRENT) == EV_NONE)
                return diag_set(d, -ENOSYS, "libelf is unusable: %s", elf_errmsg(-1));
        rc = memsrc_regions(m, &regs, &nregs);
        if (rc < 0)
                return diag_set(d, rc, "cannot list the target's mappings: %s", strerror(-rc));
        rc = collect_candidates(regs, nregs, &c, &nc);
        if (rc < 0)
                return diag_set(d, rc, "out of memory");

        for (size_t i = 0; i < nc && !found; i++) {
                const struct mem_region *r = c[i].r;
                char *host = NULL;
                Elf *elf;
                int fd;

                if (c[i].rank == 2 && is_system_noise(base_name(r->path)))
                        continue;
                rc = open_elf(m, r, &fd, &elf, &host);
                if (rc == -ESRCH || rc == -EPERM) {
                        free(c);
                        return diag_set(d, rc, "cannot open %s as process %d sees it: %s",
                                        r->path, (int)memsrc_pid(m), strerror(-rc));
                }
                if (rc < 0)
                        continue;
                if (!exe && has_interp_segment(elf))
                        exe = r->path;
                if (runtime_vaddr(elf))
                        found = r;
                else if (!legacy && lookup_one(elf, "Py_Initialize"))
                        legacy = r;
                elf_end(elf);
                close(fd);
                free(host);
        }

        if (found || legacy) {
                rc = make_pyelf(m, found ? found : legacy, found != NULL, exe, ret);
                free(c);
                if (rc < 0)
                        return diag_set(d, rc, "cannot read %s: %s",
                                        (found ? found : legacy)->path, strerror(-rc));
                return 0;
        }

        if (!exe && nc > 0)
                exe = c[0].r->path;
        for (size_t i = 0; i < nc && !exe; i++)
                exe = c[i].r->path;
        describe_process(m, exe, who, sizeof(who));
        free(c);
        return diag_set(d, -EOPNOTSUPP,
                        "%s is not a CPython process: none of its mapped files defines _PyRuntime\n"
                        "hint: pyleak-attach supports CPython 3.8 to 3.15; point it at the python process itself",
                        who);
}

void pyelf_free(struct pyelf *e)
{
        if (!e)
                return;
        elf_end(e->elf);
        if (e->fd >= 0)
                close(e->fd);
        free(e->path);
        free(e->host_path);
        free(e->exe_path);
        free(e->debuglink);
        free(e);
}

int pyelf_name_version(const char *path, unsigned *ret_major, unsigned *ret_minor,
                       bool *ret_t)
{
        const char *b = base_name(path), *p;
        unsigned long maj, min;
        char *end;

        p = strstr(b, "python");
        if (!p)
                return -ENOENT;
        p += 6;
        if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2]))
                return -ENOENT;
        maj = strtoul(p, &end, 10);
        min = strtoul(end + 1, &end, 10);
        if (maj > 9 || min > 99)
                return -ENOENT;
        *ret_major = (unsigned)maj;
        *ret_minor = (unsigned)min;
        *ret_t = *end == 't';
        return 0;
}

/* Accepts "X.Y.Z", optionally followed by a/b/c/rc + digits and a '+'. */
static size_t match_version(const char *s, size_t avail)
{
        size_t i = 0, dots = 0;

        if (avail < 5 || (s[0] != '2' && s[0] != '3') || s[1] != '.')
                return 0;
        i = 1;
        while (dots < 2) {
                size_t digits = 0;

                if (i >= avail || s[i] != '.')
                        return 0;
                i++;
                dots++;
                while (i < avail && isdigit((unsigned char)s[i]) && digits < 3) {
                        i++;
                        digits++;
                }
                if (!digits)
                        return 0;
        }
        if (i < avail && (s[i] == 'a' || s[i] == 'b' || s[i] == 'c' || s[i] == 'r')) {
                size_t digits = 0;

                if (s[i] == 'r') {
                        if (i + 1 >= avail || s[i + 1] != 'c')
                                return 0;
                        i++;
                }
                i++;
                while (i < avail && isdigit((unsigned char)s[i]) && digits < 3) {
                        i++;
                        digits++;
                }
                if (!digits)
                        return 0;
        }
        if (i < avail && s[i] == '+')
                i++;
        if (i >= avail || s[i] != '\0')
                return 0;
        return i;
}

int pyelf_version_string(const struct pyelf *e, char *buf, size_t len)
{
        Elf_Scn *scn;
        GElf_Shdr sh;
        Elf_Data *data;
        const char *s;
        size_t size;
        unsigned nmaj = 0, nmin = 0;
        bool t, have_name;
        char first[32] = "", named[32] = "";

        have_name = pyelf_name_version(e->path, &nmaj, &nmin, &t) == 0;
        if (section_by_name(e->elf, ".rodata", &scn, &sh) < 0 || sh.sh_type != SHT_PROGBITS)
                return -ENOENT;
        data = elf_getdata(scn, NULL);
        if (!data || !data->d_buf)
                return -ENOENT;
        s = data->d_buf;
        size = data->d_size;
        /* The literal is often tail-merged into a longer string (e.g. the
         * install prefix ".../versions/3.10.13"), so accept any start that
         * does not continue a number. */
        for (size_t i = 0; i + 5 < size; i++) {
                size_t n;
                char v[32];

                if ((s[i] != '2' && s[i] != '3') || s[i + 1] != '.')
                        continue;
                if (i > 0 && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.'))
                        continue;
                n = match_version(s + i, size - i < 24 ? size - i : 24);
                if (!n || n >= sizeof(v))
                        continue;
                memcpy(v, s + i, n);
                v[n] = '\0';
                if (!first[0])
                        memcpy(first, v, n + 1);
                if (have_name && !named[0]) {
                        unsigned maj = (unsigned)strtoul(v, NULL, 10);
                        unsigned min = (unsigned)strtoul(v + 2, NULL, 10);

                        if (maj == nmaj && min == nmin)
                                memcpy(named, v, n + 1);
                }
                i += n;
        }
        s = named[0] ? named : (!have_name ? first : NULL);
        if (!s || !s[0] || strlen(s) + 1 > len)
                return -ENOENT;
        memcpy(buf, s, strlen(s) + 1);
        return 0;
}
