/* Unit tests for symbols/layoutcache.c: the on-disk DWARF layout cache. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "layoutcache.h"
#include "tables.h"
#include "tap.h"

#define BID  "f9d5c82f5f2c22df68c1d49c944ef3dee5103dcc"
#define HEX  0x030c01f0u

static char base[64], dir[256], entry[512];

static bool same(const struct layout *a, const struct layout *b)
{
        for (int s = 0; s < LS__COUNT; s++)
                if (a->s[s].present != b->s[s].present || a->s[s].size != b->s[s].size)
                        return false;
        for (int f = 0; f < LF__COUNT; f++)
                if (a->f[f].present != b->f[f].present || a->f[f].offset != b->f[f].offset ||
                    a->f[f].size != b->f[f].size || a->f[f].elem_size != b->f[f].elem_size)
                        return false;
        return true;
}

/* A full layout to store: the 3.12.1 table's. */
static int sample(struct layout *l)
{
        const struct layout_table *t;

        layout_init(l, HEX);
        if (layout_table_lookup(HEX, "", "", &t) < 0)
                return -ENOENT;
        return layout_table_fill(t, l, NULL);
}

static int load(struct layout *l, char *detail, size_t len)
{
        layout_init(l, HEX);
        return layout_cache_load(dir, BID, l, detail, len);
}

/* The one entry file in dir. */
static int find_entry(void)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".layout")) {
                        snprintf(entry, sizeof(entry), "%s/%s", dir, de->d_name);
                        n++;
                }
        closedir(d);
        return n == 1 ? 0 : -ENOENT;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        static char buf[32 * 1024];
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        if (f) {
                fputs(text, f);
                fclose(f);
        }
        chmod(path, 0600);
}

static void test_default_dir(void)
{
        char buf[256];

        setenv("PYLEAK_ATTACH_CACHE_DIR", "/x/y", 1);
        ok(layout_cache_default_dir(buf, sizeof(buf)) == 0 && !strcmp(buf, "/x/y"),
           "PYLEAK_ATTACH_CACHE_DIR names the directory");
        setenv("PYLEAK_ATTACH_CACHE_DIR", "", 1);
        ok(layout_cache_default_dir(buf, sizeof(buf)) == -ENOENT,
           "an empty PYLEAK_ATTACH_CACHE_DIR turns the cache off");
        unsetenv("PYLEAK_ATTACH_CACHE_DIR");
        setenv("XDG_CACHE_HOME", "/c", 1);
        setenv("HOME", "/h", 1);
        ok(layout_cache_default_dir(buf, sizeof(buf)) == 0 && !strcmp(buf, "/c/pyleak-attach"),
           "else $XDG_CACHE_HOME/pyleak-attach");
        setenv("XDG_CACHE_HOME", "relative", 1);
        ok(layout_cache_default_dir(buf, sizeof(buf)) == 0 &&
           !strcmp(buf, "/h/.cache/pyleak-attach"),
           "a relative XDG_CACHE_HOME is ignored (XDG says so): ~/.cache/pyleak-attach");
        unsetenv("XDG_CACHE_HOME");
        unsetenv("HOME");
        ok(layout_cache_default_dir(buf, sizeof(buf)) == -ENOENT, "no HOME: no cache");
        setenv("PYLEAK_ATTACH_CACHE_DIR", "/a-long-name", 1);
        ok(layout_cache_default_dir(buf, 8) == -ENAMETOOLONG, "too long for the buffer");
        unsetenv("PYLEAK_ATTACH_CACHE_DIR");
}

static void test_round_trip(const struct layout *l)
{
        struct layout got;
        struct stat st;
        char detail[256];

        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "nothing cached yet: a miss");
        ok(layout_cache_store(dir, BID, l, "DWARF from /proc/4242/root/usr/lib/libpython.so") == 0,
           "store creates the directory and its missing parent");
        ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "the directory is 0700");
        ok(find_entry() == 0 && stat(entry, &st) == 0 && (st.st_mode & 0777) == 0600,
           "one entry, mode 0600");
        ok(load(&got, detail, sizeof(detail)) == 0 && same(&got, l),
           "load gives back every struct and field");
        ok(!strcmp(got.source, "dwarf"), "a cached layout is a DWARF layout");
        ok(!strcmp(detail, "DWARF from /usr/lib/libpython.so"),
           "the detail is kept, without the pid it was read through (%s)", detail);
        layout_init(&got, HEX);
        ok(layout_cache_load(dir, "0123456789abcdef", &got, detail, sizeof(detail)) == -ENOENT,
           "another build-id misses");
        ok(layout_cache_store(dir, "../../etc/x", l, "") == -EINVAL,
           "a build-id that is not hex is refused");
        ok(layout_cache_store(dir, BID, l, "DWARF from elsewhere") == 0 && find_entry() == 0 &&
           load(&got, detail, sizeof(detail)) == 0 && !strcmp(detail, "DWARF from elsewhere"),
           "a second store replaces the entry");
}

/* Each edit must turn the entry into a miss; the entry is restored after. */
static void test_tampered(void)
{
        static char orig[32 * 1024], buf[64 * 1024];
        struct layout got;
        char detail[256], *p, *s = slurp(entry);

        if (!ok(s != NULL, "entry readable"))
                return;
        snprintf(orig, sizeof(orig), "%s", s);

        snprintf(buf, sizeof(buf), "%s", orig);
        p = strstr(buf, "pyleak-attach-layout-cache 1 ");
        if (p)
                memcpy(p + strlen("pyleak-attach-layout-cache 1 "), "00000000", 8);
        put(entry, buf);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "another schema misses");

        snprintf(buf, sizeof(buf), "%s", orig);
        p = strstr(buf, "build-id ");
        if (p)
                p[9] = p[9] == '0' ? '1' : '0';
        put(entry, buf);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "a build-id line of another build misses");

        snprintf(buf, sizeof(buf), "%sLIST_NOSUCH 1 2 3\n", orig);
        put(entry, buf);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "a field this tool does not know misses");

        snprintf(buf, sizeof(buf), "%sgarbage\n", orig);
        put(entry, buf);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "a malformed line misses");

        p = strstr(orig, "struct ");
        snprintf(buf, sizeof(buf), "%.*s", p ? (int)(p - orig) : 0, orig);
        put(entry, buf);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "a header with no structs misses");

        put(entry, "");
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "an empty file misses");

        put(entry, orig);
        ok(load(&got, detail, sizeof(detail)) == 0, "restored entry loads");
}

static void test_not_ours(void)
{
        struct layout got;
        char detail[256], link[600];

        chmod(entry, 0620);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT, "a group-writable entry is not read");
        chmod(entry, 0600);
        chmod(dir, 0770);
        ok(load(&got, detail, sizeof(detail)) == -ENOENT,
           "an entry in a group-writable directory is not read");
        chmod(dir, 0700);

        snprintf(link, sizeof(link), "%s.real", entry);
        rename(entry, link);
        ok(symlink(link, entry) == 0 && load(&got, detail, sizeof(detail)) == -ENOENT,
           "a symlinked entry is not followed");
        unlink(entry);
        rename(link, entry);
        ok(load(&got, detail, sizeof(detail)) == 0, "the entry back in place loads");

        if (geteuid() != 0) {
                tap_note("skip: not root, cannot give files to another user");
                return;
        }
        ok(chown(entry, 65534, 65534) == 0 && load(&got, detail, sizeof(detail)) == -ENOENT,
           "an entry owned by another user is not read (root trusts only its own)");
        ok(chown(entry, 0, 0) == 0 && chown(dir, 65534, 65534) == 0 &&
           load(&got, detail, sizeof(detail)) == -ENOENT,
           "nor one in a directory owned by another user");
        layout_init(&got, HEX);
        ok(sample(&got) == 0 && layout_cache_store(dir, BID, &got, "x") == -EPERM,
           "and nothing is stored there");
        chown(dir, 0, 0);
        {
                char home[300], sub[400];
                struct stat st;

                /* sudo keeping the user's HOME: ~/.cache is the user's */
                snprintf(home, sizeof(home), "%s/user-cache", base);
                snprintf(sub, sizeof(sub), "%s/pyleak-attach", home);
                ok(mkdir(home, 0755) == 0 && chown(home, 65534, 65534) == 0 &&
                   layout_cache_store(sub, BID, &got, "x") == -EPERM && stat(sub, &st) < 0,
                   "root leaves nothing in a cache directory's parent owned by another user");
        }
}

int main(void)
{
        struct layout l;
        char cmd[128];

        snprintf(base, sizeof(base), "/tmp/test-layoutcache.XXXXXX");
        if (!mkdtemp(base) || sample(&l) < 0) {
                printf("1..0 # SKIP no scratch directory or no 3.12.1 table\n");
                return 77;
        }
        snprintf(dir, sizeof(dir), "%s/home-cache/pyleak-attach", base);
        test_default_dir();
        test_round_trip(&l);
        test_tampered();
        test_not_ours();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
                tap_note("could not remove %s", base);
        return tap_done();
}
