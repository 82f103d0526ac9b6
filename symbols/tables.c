/* tables: lookup and parsing of the embedded layout tables. */
#include "tables.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define MAX_LINE 256

int layout_table_lookup(uint32_t version_hex, const char *variant, const char *build_id,
                        const struct layout_table **ret)
{
        size_t blen = build_id ? strlen(build_id) : 0;

        if (!variant)
                variant = "";
        if (blen >= 16) {
                for (size_t i = 0; i < layout_tables_count; i++) {
                        const struct layout_table *t = &layout_tables[i];
                        const char *p = strstr(t->build_ids, build_id);

                        if (p && (p[blen] == ' ' || p[blen] == '\0') &&
                            t->version_hex == version_hex) {
                                *ret = t;
                                return 0;
                        }
                }
        }
        for (size_t i = 0; i < layout_tables_count; i++) {
                const struct layout_table *t = &layout_tables[i];

                if (t->version_hex == version_hex && !strcmp(t->variant, variant)) {
                        *ret = t;
                        return 0;
                }
        }
        return -ENOENT;
}

static bool word_in(const char *list, const char *word)
{
        size_t n = word ? strlen(word) : 0;
        const char *p = list;

        if (n == 0)
                return false;
        while ((p = strstr(p, word)) != NULL) {
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return true;
                p += n;
        }
        return false;
}

bool layout_table_built_for(const struct layout_table *t, const char *build_id)
{
        return t && build_id && strlen(build_id) >= 16 && word_in(t->build_ids, build_id);
}

bool layout_table_verified_for(const struct layout_table *t, const char *build_id)
{
        return t && t->verified_build_ids && build_id && strlen(build_id) >= 16 &&
               word_in(t->verified_build_ids, build_id);
}

static int struct_id(const char *name)
{
        for (int i = 0; i < LS__COUNT; i++)
                if (!strcmp(layout_struct_name(i), name))
                        return i;
        return -1;
}

/* Field names are unique only together with their struct, but the ids in
 * layout-fields.h are globally unique, so the struct is a check here. */
static int field_id(const char *name, int sid)
{
        for (int i = 0; i < LF__COUNT; i++)
                if (!strcmp(layout_field_name(i), name))
                        return (int)layout_field_struct(i) == sid ? i : -1;
        return -1;
}

int layout_table_runtime_rel(const struct layout_table *t, const char *build_id,
                             const char *name, int64_t *ret)
{
        const char *p;

        if (!layout_table_built_for(t, build_id) || !name || !name[0])
                return -ENOENT;
        for (p = t->text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                char bid[96], sym[96];
                long long off;

                if (strncmp(p, "runtime-rel ", 12) ||
                    sscanf(p, "runtime-rel %95s %95s %lld", bid, sym, &off) != 3)
                        continue;
                if (!strcmp(bid, build_id) && !strcmp(sym, name)) {
                        *ret = off;
                        return 0;
                }
        }
        return -ENOENT;
}

int layout_table_fill(const struct layout_table *t, struct layout *l, unsigned *ret_unknown)
{
        const char *p = t->text;
        unsigned unknown = 0;
        int sid = -1;

        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                char line[MAX_LINE], name[96];
                unsigned a, b, c;

                if (n >= sizeof(line))
                        return -EBADMSG;
                memcpy(line, p, n);
                line[n] = '\0';
                p += n + (nl ? 1 : 0);

                if (sscanf(line, "struct %95s %u", name, &a) == 2) {
                        sid = struct_id(name);
                        if (sid < 0) {
                                unknown++;
                                continue;
                        }
                        l->s[sid].size = a;
                        l->s[sid].present = true;
                } else if (!strncmp(line, "version ", 8) || !strncmp(line, "variant ", 8) ||
                           !strncmp(line, "build-id ", 9) || !strncmp(line, "headers ", 8) ||
                           !strncmp(line, "verified-dwarf ", 15) ||
                           !strncmp(line, "runtime-rel ", 12) ||
                           !line[0]) {
                        continue;
                } else if (sscanf(line, "%95s %u %u %u", name, &a, &b, &c) == 4) {
                        int fid;

                        if (sid < 0) {
                                unknown++;   /* field of a struct we skipped */
                                continue;
                        }
                        fid = field_id(name, sid);
                        if (fid < 0) {
                                unknown++;
                                continue;
                        }
                        l->f[fid] = (struct layout_field_info){ .offset = a, .size = b,
                                                                .elem_size = c,
                                                                .present = true };
                } else {
                        return -EBADMSG;
                }
        }
        l->source = t->source;
        if (ret_unknown)
                *ret_unknown = unknown;
        return 0;
}

int layout_tables_of_minor(unsigned major, unsigned minor, char *buf, size_t len)
{
        size_t used = 0;
        int n = 0;

        if (len)
                buf[0] = '\0';
        for (size_t i = 0; i < layout_tables_count; i++) {
                const struct layout_table *t = &layout_tables[i];
                int w;

                if (py_major(t->version_hex) != major || py_minor(t->version_hex) != minor)
                        continue;
                if (used < len) {
                        w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", t->key);
                        if (w > 0)
                                used += (size_t)w;
                }
                n++;
        }
        return n;
}

size_t layout_tables_of(unsigned major, unsigned minor, const struct layout_table **out,
                        size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < layout_tables_count && n < max; i++)
                if (py_major(layout_tables[i].version_hex) == major &&
                    py_minor(layout_tables[i].version_hex) == minor)
                        out[n++] = &layout_tables[i];
        return n;
}
