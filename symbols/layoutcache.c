/* layoutcache: DWARF layouts already read, kept on disk by build-id. */
#include "layoutcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "tables.h"

/* Bump when the DWARF provider's rules change what it finds for the same
 * fields (pydwarf.c): entries written by the old rules then stop matching. */
#define CACHE_FORMAT 1
#define MAGIC "pyleak-attach-layout-cache"
/* A whole layout is about 6 KiB of text. */
#define MAX_ENTRY (256 * 1024)

int layout_cache_default_dir(char *buf, size_t len)
{
        const char *v = getenv("PYLEAK_ATTACH_CACHE_DIR");
        int n;

        if (v)
                n = *v ? snprintf(buf, len, "%s", v) : -1;
        else if ((v = getenv("XDG_CACHE_HOME")) && v[0] == '/')
                n = snprintf(buf, len, "%s/pyleak-attach", v);
        else if ((v = getenv("HOME")) && v[0] == '/')
                n = snprintf(buf, len, "%s/.cache/pyleak-attach", v);
        else
                n = -1;
        if (n < 0)
                return -ENOENT;
        return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Root reads what it finds here: a directory or file someone else can
 * change could hand it a layout of their choosing. */
static bool ours(const struct stat *st)
{
        return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static bool valid_build_id(const char *id)
{
        size_t n = strspn(id, "0123456789abcdef");

        return n >= 8 && n <= 64 && !id[n];
}

static int entry_name(const char *build_id, char *buf, size_t len)
{
        int n;

        if (!valid_build_id(build_id))
                return -EINVAL;
        n = snprintf(buf, len, "%s-%08x.layout", build_id,
                     layout_schema_hash() ^ (uint32_t)CACHE_FORMAT);
        return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Reads the whole entry into a NUL-terminated malloc'ed buffer. */
static int read_entry(const char *dir, const char *name, char **ret)
{
        struct stat st;
        char *buf = NULL;
        size_t got = 0;
        int dfd, fd = -1, r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        r = -EPERM;
        if (fstat(dfd, &st) < 0 || !ours(&st))
                goto out;
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        r = -EPERM;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !ours(&st))
                goto out;
        r = -EFBIG;
        if (st.st_size <= 0 || st.st_size > MAX_ENTRY)
                goto out;
        r = -ENOMEM;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                goto out;
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        r = -EIO;
        if (got != (size_t)st.st_size)
                goto out;
        buf[got] = '\0';
        *ret = buf;
        buf = NULL;
        r = 0;
out:
        free(buf);
        if (fd >= 0)
                close(fd);
        close(dfd);
        return r;
}

/* One header line "KEY VALUE" at *p; advances past it. */
static const char *header(const char **p, const char *key, char *val, size_t len)
{
        const char *nl = strchr(*p, '\n');
        size_t klen = strlen(key), n;

        if (!nl || strncmp(*p, key, klen) || (*p)[klen] != ' ')
                return NULL;
        n = (size_t)(nl - *p) - klen - 1;
        if (n >= len)
                return NULL;
        memcpy(val, *p + klen + 1, n);
        val[n] = '\0';
        *p = nl + 1;
        return val;
}

int layout_cache_load(const char *dir, const char *build_id, struct layout *l, char *detail,
                      size_t detail_len)
{
        char name[128], val[512], want[64];
        const char *p;
        char *text = NULL;
        struct layout got = *l;
        struct layout_table t = { .source = "dwarf" };
        unsigned unknown = 0;
        int r;

        r = entry_name(build_id, name, sizeof(name));
        if (r < 0 || (r = read_entry(dir, name, &text)) < 0)
                return -ENOENT;
        p = text;
        while (*p == '#') {
                p = strchr(p, '\n');
                if (!p)
                        goto bad;
                p++;
        }
        snprintf(want, sizeof(want), "%d %08x", CACHE_FORMAT, layout_schema_hash());
        if (!header(&p, MAGIC, val, sizeof(val)) || strcmp(val, want))
                goto bad;
        if (!header(&p, "build-id", val, sizeof(val)) || strcmp(val, build_id))
                goto bad;
        if (!header(&p, "detail", val, sizeof(val)))
                goto bad;
        t.text = p;
        if (layout_table_fill(&t, &got, &unknown) < 0 || unknown ||
            !got.s[LS_RUNTIME].present || !got.s[LS_OBJECT].present)
                goto bad;
        *l = got;
        snprintf(detail, detail_len, "%s", val);
        free(text);
        return 0;
bad:
        free(text);
        return -ENOENT;
}

/* The detail without the /proc/PID/root of the process it was read
 * through: that pid means nothing to a later attach. */
static void write_detail(FILE *f, const char *detail)
{
        size_t n = strcspn(detail, "\n");
        const char *p = strstr(detail, "/proc/");

        if (p && (size_t)(p - detail) < n) {
                const char *q = p + 6;
                size_t digits = strspn(q, "0123456789");

                if (digits && !strncmp(q + digits, "/root/", 6)) {
                        fprintf(f, "%.*s", (int)(p - detail), detail);
                        n -= (size_t)(q + digits + 5 - detail);
                        detail = q + digits + 5;
                }
        }
        fprintf(f, "%.*s\n", (int)n, detail);
}

/* mkdir that accepts an existing directory of ours and nothing else.  The
 * parent may be a symlink of the user's (~/.cache on another disk); the
 * cache directory itself may not. */
static int own_dir(const char *path, bool follow)
{
        struct stat st;

        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || !ours(&st))
                return -EPERM;
        return 0;
}

int layout_cache_store(const char *dir, const char *build_id, const struct layout *l,
                       const char *detail)
{
        char name[128], path[4096], tmp[4096 + 16], parent[4096];
        char *slash;
        FILE *f;
        int fd, r;

        r = entry_name(build_id, name, sizeof(name));
        if (r < 0)
                return r;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        snprintf(parent, sizeof(parent), "%s", dir);
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                /* ~/.cache may not exist yet (nothing further up is made).
                 * Root under a sudo that kept the user's HOME must not
                 * leave a directory of its own there, which the user could
                 * then not remove. */
                r = own_dir(parent, true);
                if (r < 0)
                        return r;
        }
        r = own_dir(dir, false);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        fprintf(f, "# pyleak-attach: the layout the DWARF of one interpreter build gave;"
                " safe to delete\n" MAGIC " %d %08x\nbuild-id %s\ndetail ", CACHE_FORMAT,
                layout_schema_hash(), build_id);
        write_detail(f, detail);
        r = layout_write_text(f, l);
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
