/* core: memsrc backend for ELF core files (see core.h). */
#include "core.h"

#include "memsrc-internal.h"
#include "diag.h"
#include "procmaps.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

/* A core is hostile input like target memory: cap what it may claim. */
#define CORE_MAX_SEGMENTS   (1u << 20)
#define CORE_MAX_FILES      (1u << 20)
#define CORE_MAX_NOTES_SIZE (256u << 20)
#define CORE_PAGE           4096u

/* x86-64 layouts of the kernel's note payloads (fixed ABI). */
#define PRSTATUS_PID_OFF    32
#define PRSTATUS_MIN_SIZE   36
#define PRPSINFO_PID_OFF    24
#define PRPSINFO_FNAME_OFF  40
#define PRPSINFO_FNAME_LEN  16
#define PRPSINFO_ARGS_OFF   56
#define PRPSINFO_ARGS_LEN   80

struct core_seg {
        uint64_t vaddr, memsz, filesz, offset;
        uint32_t flags;
};

/* One distinct file of NT_FILE. */
struct core_file {
        char *path;          /* as recorded (" (deleted)" stripped) */
        char *host;          /* resolved path on this host, NULL if missing */
        int fd;              /* opened lazily; -1 until then */
        bool deleted;
        bool stale;          /* first page differs from the core's copy */
        bool is_exe;
};

/* One NT_FILE entry: a file-backed mapping. */
struct core_map {
        uint64_t start, end, offset;
        size_t file;         /* index into files[] */
};

/* What backs one region (parallel to base.regions[]). */
struct core_piece {
        ssize_t seg;         /* index into segs[], -1 when only NT_FILE has it */
        ssize_t map;         /* index into maps[], -1 when anonymous */
};

struct core {
        struct memsrc base;
        int fd;
        const unsigned char *image;   /* whole core mapped read-only */
        size_t size;
        struct core_seg *segs;
        size_t nsegs;
        struct core_file *files;
        size_t nfiles;
        struct core_map *maps;
        size_t nmaps;
        struct core_piece *pieces;    /* base.nregions of them */
        int threads;
        int signal;
        pid_t prpsinfo_pid, prstatus_pid;
        char fname[PRPSINFO_FNAME_LEN + 1];
        char psargs[PRPSINFO_ARGS_LEN + 1];
        uint64_t entry;               /* AT_ENTRY, 0 when unknown */
        uint64_t bytes_in_core;
        char *sysroot;                /* --sysroot, NULL: this machine's */
};

static const struct memsrc_ops core_ops;

/* ---- reading ------------------------------------------------------------ */

static const struct core_piece *piece_of(struct core *c, uint64_t addr,
                                         const struct mem_region **ret_reg)
{
        const struct mem_region *r = memsrc_region_of(&c->base, addr);

        if (!r)
                return NULL;
        *ret_reg = r;
        return &c->pieces[r - c->base.regions];
}

static int file_fd(struct core *c, struct core_file *f)
{
        if (!f->host || f->stale)
                return -ENOENT;
        if (f->fd < 0) {
                f->fd = open(f->host, O_RDONLY | O_CLOEXEC);
                if (f->fd < 0)
                        return -errno;
        }
        return f->fd;
}

/* Serves [addr, addr+len) of a file-backed mapping from the file.  Bytes
 * past the end of the file read as zeros within the mapping's last page,
 * as the kernel maps them. */
static int read_from_file(struct core *c, const struct core_map *mp,
                          uint64_t addr, unsigned char *buf, size_t len)
{
        struct core_file *f = &c->files[mp->file];
        uint64_t off = mp->offset + (addr - mp->start);
        size_t done = 0;
        ssize_t n;
        int fd;

        fd = file_fd(c, f);
        if (fd < 0)
                return -EFAULT;
        while (done < len) {
                n = pread(fd, buf + done, len - done, (off_t)(off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -EFAULT;
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        if (done < len) {
                struct stat st;
                uint64_t eof_page_end;

                if (fstat(fd, &st) < 0)
                        return -EFAULT;
                eof_page_end = ((uint64_t)st.st_size + CORE_PAGE - 1) & ~(uint64_t)(CORE_PAGE - 1);
                if (off + len > eof_page_end)
                        return -EFAULT;   /* SIGBUS in the target too */
                memset(buf + done, 0, len - done);
        }
        return 0;
}

/* Reads a chunk that lies inside one region. */
static int read_chunk(struct core *c, const struct core_piece *p, uint64_t addr,
                      unsigned char *buf, size_t len)
{
        const struct core_seg *s = p->seg >= 0 ? &c->segs[p->seg] : NULL;
        const struct core_map *mp = p->map >= 0 ? &c->maps[p->map] : NULL;
        uint64_t in_seg;
        size_t n;

        while (len > 0) {
                if (s) {
                        in_seg = addr - s->vaddr;
                        if (in_seg < s->filesz) {
                                n = (size_t)(s->filesz - in_seg) < len ?
                                        (size_t)(s->filesz - in_seg) : len;
                                memcpy(buf, c->image + s->offset + in_seg, n);
                                buf += n;
                                addr += n;
                                len -= n;
                                continue;
                        }
                }
                /* Not in the core: the mapped file holds these bytes
                 * (unmodified file-backed pages are what dumpers omit). */
                if (mp)
                        return read_from_file(c, mp, addr, buf, len);
                /* An anonymous segment partly written: the rest is zeros
                 * (ELF p_filesz < p_memsz semantics).  Nothing written at
                 * all means the dumper excluded it: unknown bytes. */
                if (s && s->filesz > 0) {
                        memset(buf, 0, len);
                        return 0;
                }
                return -EFAULT;
        }
        return 0;
}

static int core_read(struct memsrc *m, uint64_t addr, void *buf, size_t len)
{
        struct core *c = (struct core *)m;
        unsigned char *out = buf;
        const struct mem_region *reg = NULL;
        const struct core_piece *p;
        size_t n;
        int r;

        while (len > 0) {
                p = piece_of(c, addr, &reg);
                if (!p)
                        return -EFAULT;
                n = reg->end - addr < len ? (size_t)(reg->end - addr) : len;
                r = read_chunk(c, p, addr, out, n);
                if (r < 0)
                        return r;
                out += n;
                addr += n;
                len -= n;
        }
        return 0;
}

static const void *core_ptr(struct memsrc *m, uint64_t addr, size_t len)
{
        struct core *c = (struct core *)m;
        const struct mem_region *reg = NULL;
        const struct core_piece *p;
        const struct core_seg *s;

        p = piece_of(c, addr, &reg);
        if (!p || p->seg < 0 || addr + len > reg->end)
                return NULL;
        s = &c->segs[p->seg];
        if (addr - s->vaddr + len > s->filesz)
                return NULL;
        return c->image + s->offset + (addr - s->vaddr);
}

static int core_open_mapped_file(struct memsrc *m, const struct mem_region *r,
                                 char **host_path)
{
        struct core *c = (struct core *)m;
        const struct core_piece *p;
        struct core_file *f;
        char *dup = NULL;
        int fd;

        if (r < m->regions || r >= m->regions + m->nregions)
                return -EINVAL;
        p = &c->pieces[r - m->regions];
        if (p->map < 0)
                return -ENOENT;
        f = &c->files[c->maps[p->map].file];
        if (!f->host)
                return -ENOENT;
        if (host_path) {
                dup = strdup(f->host);
                if (!dup)
                        return -ENOMEM;
        }
        /* A fresh fd: the caller owns and closes it. */
        fd = open(f->host, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fd = -errno;
                free(dup);
                return fd;
        }
        if (host_path)
                *host_path = dup;
        return fd;
}

static void core_destroy(struct memsrc *m)
{
        struct core *c = (struct core *)m;
        size_t i;

        if (c->image)
                munmap((void *)c->image, c->size);
        if (c->fd >= 0)
                close(c->fd);
        for (i = 0; i < c->nfiles; i++) {
                free(c->files[i].path);
                free(c->files[i].host);
                if (c->files[i].fd >= 0)
                        close(c->files[i].fd);
        }
        free(c->files);
        free(c->segs);
        free(c->maps);
        free(c->pieces);
        free(c->sysroot);
        free(c);
}

static const char *core_root(struct memsrc *m)
{
        return ((struct core *)m)->sysroot;
}

static const struct memsrc_ops core_ops = {
        .name = "core",
        .read = core_read,
        .ptr = core_ptr,
        .open_mapped_file = core_open_mapped_file,
        .root = core_root,
        .refresh_regions = NULL,
        .destroy = core_destroy,
};

/* ---- parsing ------------------------------------------------------------ */

static int cmp_seg(const void *a, const void *b)
{
        const struct core_seg *x = a, *y = b;

        return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_map(const void *a, const void *b)
{
        const struct core_map *x = a, *y = b;

        return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static uint64_t rd64(const unsigned char *p)
{
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

static int32_t rd32(const unsigned char *p)
{
        int32_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

static size_t file_index(struct core *c, const char *path, bool deleted,
                         int *err)
{
        size_t i;

        /* Few distinct files (tens to hundreds): a linear search is fine,
         * the per-entry count is capped anyway. */
        for (i = 0; i < c->nfiles; i++)
                if (strcmp(c->files[i].path, path) == 0)
                        return i;
        c->files[c->nfiles].path = strdup(path);
        if (!c->files[c->nfiles].path) {
                *err = -ENOMEM;
                return 0;
        }
        c->files[c->nfiles].fd = -1;
        c->files[c->nfiles].deleted = deleted;
        return c->nfiles++;
}

/* NT_FILE: count, page size, count x (start, end, page offset), then count
 * NUL-terminated names. */
static int parse_nt_file(struct core *c, const unsigned char *p, size_t len,
                         const char *core_path, struct diag *d)
{
        uint64_t count, pagesz, i;
        const unsigned char *names, *end = p + len;
        int err = 0;

        if (len < 16)
                goto bad;
        count = rd64(p);
        pagesz = rd64(p + 8);
        if (count > CORE_MAX_FILES || count > (len - 16) / 24 || pagesz == 0 ||
            (pagesz & (pagesz - 1)) != 0)
                goto bad;
        if (c->maps)   /* a second NT_FILE: keep the first */
                return 0;
        c->maps = calloc(count ? count : 1, sizeof(*c->maps));
        c->files = calloc(count ? count : 1, sizeof(*c->files));
        if (!c->maps || !c->files)
                return diag_set(d, -ENOMEM, "cannot read core file %s: out of memory", core_path);
        names = p + 16 + count * 24;
        for (i = 0; i < count; i++) {
                const unsigned char *e = p + 16 + i * 24;
                const unsigned char *nul;
                char *name;
                size_t nlen;
                bool deleted = false;
                struct core_map *mp = &c->maps[c->nmaps];

                if (names >= end)
                        goto bad;
                nul = memchr(names, '\0', (size_t)(end - names));
                if (!nul)
                        goto bad;
                nlen = (size_t)(nul - names);
                name = strndup((const char *)names, nlen);
                if (!name)
                        return diag_set(d, -ENOMEM, "cannot read core file %s: out of memory", core_path);
                names = nul + 1;
                if (nlen > 10 && strcmp(name + nlen - 10, " (deleted)") == 0) {
                        name[nlen - 10] = '\0';
                        deleted = true;
                }
                mp->start = rd64(e);
                mp->end = rd64(e + 8);
                if (rd64(e + 16) > UINT64_MAX / pagesz || mp->end <= mp->start) {
                        free(name);
                        goto bad;
                }
                mp->offset = rd64(e + 16) * pagesz;
                mp->file = file_index(c, name, deleted, &err);
                free(name);
                if (err < 0)
                        return diag_set(d, err, "cannot read core file %s: out of memory", core_path);
                c->nmaps++;
        }
        qsort(c->maps, c->nmaps, sizeof(*c->maps), cmp_map);
        for (i = 1; i < c->nmaps; i++)
                if (c->maps[i].start < c->maps[i - 1].end)
                        goto bad;
        return 0;
bad:
        return diag_set(d, -EBADMSG, "core file %s has a malformed NT_FILE note",
                        core_path);
}

static void parse_auxv(struct core *c, const unsigned char *p, size_t len)
{
        size_t i;

        for (i = 0; i + 16 <= len; i += 16) {
                uint64_t type = rd64(p + i);

                if (type == AT_NULL)
                        break;
                if (type == AT_ENTRY)
                        c->entry = rd64(p + i + 8);
        }
}

static void copy_cstr(char *dst, size_t dstsz, const unsigned char *src, size_t n)
{
        size_t i;

        for (i = 0; i < n && i + 1 < dstsz && src[i]; i++)
                dst[i] = (char)src[i];
        dst[i] = '\0';
}

static int parse_notes(struct core *c, Elf *elf, const GElf_Phdr *ph,
                       const char *core_path, struct diag *d)
{
        Elf_Data *data;
        GElf_Nhdr nh;
        size_t off = 0, next, name_off, desc_off;
        int r;

        if (ph->p_filesz == 0)
                return 0;
        if (ph->p_filesz > CORE_MAX_NOTES_SIZE)
                return diag_set(d, -EBADMSG, "core file %s: note segment of %llu bytes is too large",
                                core_path, (unsigned long long)ph->p_filesz);
        data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_NHDR);
        if (!data)
                return diag_set(d, -EBADMSG, "core file %s: cannot read its notes: %s",
                                core_path, elf_errmsg(-1));
        while (off < data->d_size &&
               (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
                const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
                const char *name = (const char *)data->d_buf + name_off;
                bool core_owner = nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0;

                off = next;
                if (desc_off + nh.n_descsz > data->d_size)
                        break;
                if (!core_owner)
                        continue;
                switch (nh.n_type) {
                case NT_PRSTATUS:
                        if (nh.n_descsz >= PRSTATUS_MIN_SIZE) {
                                if (c->threads == 0) {
                                        c->prstatus_pid = rd32(desc + PRSTATUS_PID_OFF);
                                        /* pr_cursig: the signal that killed it */
                                        c->signal = (int16_t)(desc[12] | desc[13] << 8);
                                }
                                c->threads++;
                        }
                        break;
                case NT_PRPSINFO:
                        if (nh.n_descsz >= PRPSINFO_ARGS_OFF + PRPSINFO_ARGS_LEN) {
                                c->prpsinfo_pid = rd32(desc + PRPSINFO_PID_OFF);
                                copy_cstr(c->fname, sizeof(c->fname), desc + PRPSINFO_FNAME_OFF,
                                          PRPSINFO_FNAME_LEN);
                                copy_cstr(c->psargs, sizeof(c->psargs), desc + PRPSINFO_ARGS_OFF,
                                          PRPSINFO_ARGS_LEN);
                        }
                        break;
                case NT_AUXV:
                        parse_auxv(c, desc, nh.n_descsz);
                        break;
                case NT_FILE:
                        r = parse_nt_file(c, desc, nh.n_descsz, core_path, d);
                        if (r < 0)
                                return r;
                        break;
                default:
                        break;
                }
        }
        return 0;
}

/* ---- regions ------------------------------------------------------------ */

static ssize_t find_seg(const struct core *c, uint64_t addr)
{
        size_t lo = 0, hi = c->nsegs, mid;

        while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                if (addr < c->segs[mid].vaddr)
                        hi = mid;
                else if (addr >= c->segs[mid].vaddr + c->segs[mid].memsz)
                        lo = mid + 1;
                else
                        return (ssize_t)mid;
        }
        return -1;
}

static ssize_t find_map(const struct core *c, uint64_t addr)
{
        size_t lo = 0, hi = c->nmaps, mid;

        while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                if (addr < c->maps[mid].start)
                        hi = mid;
                else if (addr >= c->maps[mid].end)
                        lo = mid + 1;
                else
                        return (ssize_t)mid;
        }
        return -1;
}

/* One region per stretch covered by the same (segment, file mapping) pair:
 * the boundaries of both lists cut the address space.  Dumpers normally
 * write one PT_LOAD per mapping, so this is usually one region per segment
 * plus one per mapping gdb left out. */
static int build_regions(struct core *c)
{
        uint64_t *pts;
        size_t npts = 0, i, n = 0;
        struct mem_region *regs;
        struct core_piece *pieces;

        pts = malloc((2 * (c->nsegs + c->nmaps) + 1) * sizeof(*pts));
        if (!pts)
                return -ENOMEM;
        for (i = 0; i < c->nsegs; i++) {
                pts[npts++] = c->segs[i].vaddr;
                pts[npts++] = c->segs[i].vaddr + c->segs[i].memsz;
        }
        for (i = 0; i < c->nmaps; i++) {
                pts[npts++] = c->maps[i].start;
                pts[npts++] = c->maps[i].end;
        }
        qsort(pts, npts, sizeof(*pts), cmp_u64);
        regs = calloc(npts ? npts : 1, sizeof(*regs));
        pieces = calloc(npts ? npts : 1, sizeof(*pieces));
        if (!regs || !pieces) {
                free(pts);
                free(regs);
                free(pieces);
                return -ENOMEM;
        }
        for (i = 0; i + 1 < npts; i++) {
                uint64_t a = pts[i], b = pts[i + 1];
                ssize_t s, mi;
                struct mem_region *rg;

                if (a == b)
                        continue;
                s = find_seg(c, a);
                mi = find_map(c, a);
                if (s < 0 && mi < 0)
                        continue;
                /* extend the previous region when nothing changes */
                if (n > 0 && regs[n - 1].end == a && pieces[n - 1].seg == s &&
                    pieces[n - 1].map == mi) {
                        regs[n - 1].end = b;
                        continue;
                }
                rg = &regs[n];
                rg->start = a;
                rg->end = b;
                if (s >= 0) {
                        const struct core_seg *sg = &c->segs[s];

                        rg->r = (sg->flags & PF_R) != 0;
                        rg->w = (sg->flags & PF_W) != 0;
                        rg->x = (sg->flags & PF_X) != 0;
                        rg->copied = sg->filesz >= sg->memsz;
                } else {
                        /* left out by the dumper: unmodified file pages */
                        rg->r = true;
                }
                if (mi >= 0) {
                        const struct core_map *mp = &c->maps[mi];
                        const struct core_file *f = &c->files[mp->file];

                        rg->offset = mp->offset + (a - mp->start);
                        rg->deleted = f->deleted;
                        rg->path = strdup(f->path);
                        if (!rg->path) {
                                free(pts);
                                procmaps_regions_free(regs, n);
                                free(pieces);
                                return -ENOMEM;
                        }
                } else if (s >= 0 && c->segs[s].vaddr >= 0xffffffffff600000ull) {
                        rg->path = strdup("[vsyscall]");
                }
                pieces[n].seg = s;
                pieces[n].map = mi;
                n++;
        }
        free(pts);
        c->base.regions = regs;
        c->base.nregions = n;
        c->pieces = pieces;
        return 0;
}

/* ---- mapped files --------------------------------------------------------- */

static bool is_python_name(const char *path)
{
        const char *b = strrchr(path, '/');

        b = b ? b + 1 : path;
        return strncmp(b, "libpython", 9) == 0 || strncmp(b, "python", 6) == 0;
}

/* Compares the first bytes the core holds of a file's offset-0 mapping
 * (the kernel writes the ELF header page; gdb the whole mapping when it
 * was modified) with the file: a rebuilt or upgraded file must not be used
 * to fill in the rest. */
static void check_stale(struct core *c)
{
        unsigned char buf[512];
        size_t i;

        for (i = 0; i < c->nmaps; i++) {
                const struct core_map *mp = &c->maps[i];
                struct core_file *f = &c->files[mp->file];
                ssize_t s = find_seg(c, mp->start);
                const struct core_seg *sg;
                size_t n;
                int fd;

                if (mp->offset != 0 || s < 0 || !f->host || f->stale)
                        continue;
                sg = &c->segs[s];
                if (sg->vaddr != mp->start || sg->filesz == 0)
                        continue;
                n = sg->filesz < sizeof(buf) ? (size_t)sg->filesz : sizeof(buf);
                fd = file_fd(c, f);
                if (fd < 0)
                        continue;
                /* only the ELF header page is immutable; writable mappings
                 * at offset 0 hold what the program wrote */
                if (sg->flags & PF_W)
                        continue;
                if (pread(fd, buf, n, 0) != (ssize_t)n ||
                    memcmp(buf, c->image + sg->offset, n) != 0)
                        f->stale = true;
        }
}

static int resolve_files(struct core *c, const struct core_opts *o, struct diag *d)
{
        ssize_t exe_map = -1;
        size_t i;
        char buf[PATH_MAX];
        struct stat st;

        if (c->entry)
                exe_map = find_map(c, c->entry);
        if (exe_map < 0 && c->nmaps > 0)
                exe_map = 0;   /* the executable is mapped lowest, PIE or not */
        if (exe_map >= 0)
                c->files[c->maps[exe_map].file].is_exe = true;

        for (i = 0; i < c->nfiles; i++) {
                struct core_file *f = &c->files[i];
                const char *p = f->path;

                if (f->is_exe && o->exe_path) {
                        p = o->exe_path;
                } else if (o->sysroot && o->sysroot[0]) {
                        if (snprintf(buf, sizeof(buf), "%s/%s", o->sysroot,
                                     f->path[0] == '/' ? f->path + 1 : f->path) >= (int)sizeof(buf))
                                continue;
                        p = buf;
                }
                if (p[0] != '/' && !(f->is_exe && o->exe_path))
                        continue;       /* "[vdso]"-like or relative: not a file */
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                f->host = strdup(p);
                if (!f->host)
                        return diag_set(d, -ENOMEM, "cannot open core file %s: out of memory",
                                        o->core_path);
        }
        return 0;
}

/* The executable and libpython must be there: symbols/ reads them. */
static int check_required_files(struct core *c, const struct core_opts *o, struct diag *d)
{
        size_t i, missing = 0;
        char names[1024] = "";
        size_t len = 0;

        for (i = 0; i < c->nfiles; i++) {
                const struct core_file *f = &c->files[i];

                if (f->host && !f->stale)
                        continue;
                if (!f->is_exe && !is_python_name(f->path))
                        continue;
                if (missing++ < 4 && len < sizeof(names) - 1) {
                        int w = snprintf(names + len, sizeof(names) - len, "%s%s%s",
                                         len ? ", " : "", f->path,
                                         f->stale ? " (differs from the one the process used)" : "");
                        if (w > 0)
                                len += (size_t)w < sizeof(names) - len ? (size_t)w : sizeof(names) - len - 1;
                }
        }
        if (!missing)
                return 0;
        diag_set(d, -ENOENT, "cannot analyse core file %s: %zu file%s the process mapped %s not found on this host: %s",
                 o->core_path, missing, missing == 1 ? "" : "s",
                 missing == 1 ? "was" : "were", names);
        if (o->sysroot)
                diag_append(d, "hint: they were looked up under --sysroot %s", o->sysroot);
        diag_append(d, "hint: give the executable with --exe PATH, or the root filesystem the process ran in with --sysroot DIR (for a container: its image or /proc/PID/root of a running copy)");
        return -ENOENT;
}

/* ---- opening -------------------------------------------------------------- */

static int open_elf_checks(Elf *elf, const char *path, struct diag *d)
{
        GElf_Ehdr eh;

        if (elf_kind(elf) != ELF_K_ELF)
                return diag_set(d, -ENOEXEC, "%s is not a core file (not ELF)", path);
        if (!gelf_getehdr(elf, &eh))
                return diag_set(d, -EBADMSG, "%s: unreadable ELF header (truncated core?): %s",
                                path, elf_errmsg(-1));
        if (eh.e_type != ET_CORE) {
                diag_set(d, -ENOEXEC, "%s is not a core file but an ELF %s", path,
                         eh.e_type == ET_EXEC ? "executable" :
                         eh.e_type == ET_DYN ? "shared object or PIE executable" : "object");
                diag_append(d, "hint: the core comes first: --core CORE, the program after it: --exe %s", path);
                return -ENOEXEC;
        }
        if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
            eh.e_machine != EM_X86_64)
                return diag_set(d, -EOPNOTSUPP, "core file %s is not of an x86-64 process (machine %u, class %u); only x86-64 Linux cores are supported",
                                path, (unsigned)eh.e_machine, (unsigned)eh.e_ident[EI_CLASS]);
        return 0;
}

static int load_segments(struct core *c, Elf *elf, const char *path, struct diag *d)
{
        size_t phnum, i;
        GElf_Phdr ph;
        int r;

        if (elf_getphdrnum(elf, &phnum) < 0)
                return diag_set(d, -EBADMSG, "core file %s: unreadable program headers (truncated?): %s",
                                path, elf_errmsg(-1));
        if (phnum > CORE_MAX_SEGMENTS)
                return diag_set(d, -EBADMSG, "core file %s claims %zu segments", path, phnum);
        c->segs = calloc(phnum ? phnum : 1, sizeof(*c->segs));
        if (!c->segs)
                return diag_set(d, -ENOMEM, "cannot open core file %s: out of memory", path);
        for (i = 0; i < phnum; i++) {
                if (!gelf_getphdr(elf, (int)i, &ph))
                        return diag_set(d, -EBADMSG, "core file %s: unreadable program header %zu (truncated?)",
                                        path, i);
                if (ph.p_type == PT_NOTE || ph.p_type == PT_LOAD) {
                        if (ph.p_offset > c->size || ph.p_filesz > c->size - ph.p_offset) {
                                if (ph.p_type == PT_NOTE)
                                        diag_set(d, -EBADMSG, "core file %s is truncated: it is %zu bytes, its notes end at byte %llu",
                                                 path, c->size, (unsigned long long)(ph.p_offset + ph.p_filesz));
                                else
                                        diag_set(d, -EBADMSG, "core file %s is truncated: it is %zu bytes, the memory at 0x%llx needs bytes up to %llu",
                                                 path, c->size, (unsigned long long)ph.p_vaddr,
                                                 (unsigned long long)(ph.p_offset + ph.p_filesz));
                                diag_append(d, "hint: the dump was cut short (ulimit -c, RLIMIT_CORE, disk full, or a core handler's size limit); take it again");
                                return -EBADMSG;
                        }
                }
                if (ph.p_type == PT_NOTE) {
                        r = parse_notes(c, elf, &ph, path, d);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
                        continue;
                if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr || ph.p_filesz > ph.p_memsz)
                        return diag_set(d, -EBADMSG, "core file %s: inconsistent segment at 0x%llx",
                                        path, (unsigned long long)ph.p_vaddr);
                c->segs[c->nsegs].vaddr = ph.p_vaddr;
                c->segs[c->nsegs].memsz = ph.p_memsz;
                c->segs[c->nsegs].filesz = ph.p_filesz;
                c->segs[c->nsegs].offset = ph.p_offset;
                c->segs[c->nsegs].flags = ph.p_flags;
                c->bytes_in_core += ph.p_filesz;
                c->nsegs++;
        }
        qsort(c->segs, c->nsegs, sizeof(*c->segs), cmp_seg);
        for (i = 1; i < c->nsegs; i++)
                if (c->segs[i].vaddr < c->segs[i - 1].vaddr + c->segs[i - 1].memsz)
                        return diag_set(d, -EBADMSG, "core file %s: overlapping segments at 0x%llx",
                                        path, (unsigned long long)c->segs[i].vaddr);
        if (c->nsegs == 0)
                return diag_set(d, -EBADMSG, "core file %s holds no memory segments", path);
        return 0;
}

int memsrc_open_core_opts(const struct core_opts *o, struct memsrc **ret,
                          struct diag *d)
{
        struct core *c = NULL;
        struct stat st;
        Elf *elf = NULL;
        void *img;
        int r;

        if (!o || !o->core_path || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return diag_set(d, -ENOMEM, "cannot open core file %s: out of memory", o->core_path);
        c->base.ops = &core_ops;
        if (o->sysroot && o->sysroot[0] && !(c->sysroot = strdup(o->sysroot))) {
                free(c);
                return diag_set(d, -ENOMEM, "cannot open core file %s: out of memory",
                                o->core_path);
        }
        c->fd = open(o->core_path, O_RDONLY | O_CLOEXEC);
        if (c->fd < 0) {
                r = -errno;
                diag_set(d, r, "cannot open core file %s: %s", o->core_path, strerror(-r));
                goto fail;
        }
        if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = diag_set(d, -ENOEXEC, "%s is not a regular file", o->core_path);
                goto fail;
        }
        if (st.st_size == 0) {
                r = diag_set(d, -EBADMSG, "core file %s is empty", o->core_path);
                diag_append(d, "hint: the core size limit was 0 (ulimit -c) or the dump failed; take it again");
                goto fail;
        }
        c->size = (size_t)st.st_size;
        img = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, c->fd, 0);
        if (img == MAP_FAILED) {
                r = -errno;
                diag_set(d, r, "cannot map core file %s: %s", o->core_path, strerror(-r));
                goto fail;
        }
        c->image = img;

        if (elf_version(EV_CURRENT) == EV_NONE) {
                r = diag_set(d, -EOPNOTSUPP, "libelf is unusable: %s", elf_errmsg(-1));
                goto fail;
        }
        /* libelf gets its own read-only view: elf_memory() wants a mutable
         * image, and a writable private mapping of a core of many GB would
         * be charged against the commit limit. */
        elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
        if (!elf) {
                r = diag_set(d, -ENOEXEC, "%s is not a core file: %s", o->core_path, elf_errmsg(-1));
                goto fail;
        }
        r = open_elf_checks(elf, o->core_path, d);
        if (r < 0)
                goto fail;
        r = load_segments(c, elf, o->core_path, d);
        if (r < 0)
                goto fail;
        if (c->threads == 0 && c->prpsinfo_pid == 0) {
                r = diag_set(d, -EBADMSG, "core file %s has no process notes (NT_PRSTATUS/NT_PRPSINFO)",
                             o->core_path);
                goto fail;
        }
        c->base.pid = c->prpsinfo_pid > 0 ? c->prpsinfo_pid : c->prstatus_pid;

        r = resolve_files(c, o, d);
        if (r < 0)
                goto fail;
        check_stale(c);
        r = check_required_files(c, o, d);
        if (r < 0)
                goto fail;
        r = build_regions(c);
        if (r < 0) {
                diag_set(d, r, "cannot open core file %s: out of memory", o->core_path);
                goto fail;
        }
        elf_end(elf);
        *ret = &c->base;
        return 0;
fail:
        if (elf)
                elf_end(elf);
        memsrc_free(&c->base);
        return r;
}

int memsrc_open_core(const char *core_path, const char *exe_path,
                     struct memsrc **ret, struct diag *d)
{
        struct core_opts o = { .core_path = core_path, .exe_path = exe_path };

        return memsrc_open_core_opts(&o, ret, d);
}

int memsrc_core_info(struct memsrc *m, struct core_info *ret)
{
        struct core *c = (struct core *)m;
        struct core_info ci = { 0 };
        size_t i;

        if (!m || !ret || m->ops != &core_ops)
                return -EINVAL;
        ci.pid = m->pid;
        ci.threads = c->threads;
        ci.signal = c->signal;
        ci.fname = c->fname;
        ci.psargs = c->psargs;
        ci.files = c->nfiles;
        ci.bytes_in_core = c->bytes_in_core;
        for (i = 0; i < c->nfiles; i++) {
                const struct core_file *f = &c->files[i];

                if (f->is_exe) {
                        ci.exe = f->path;
                        ci.exe_host = f->stale ? NULL : f->host;
                }
                if (f->stale)
                        ci.files_stale++;
                else if (!f->host) {
                        if (!ci.first_missing)
                                ci.first_missing = f->path;
                        ci.files_missing++;
                }
        }
        *ret = ci;
        return 0;
}
