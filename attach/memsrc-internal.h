/* memsrc-internal: what a memsrc backend implements.  Included by the
 * backends in attach/ and by test fakes (tests/unit), never by symbols/,
 * heap/ or ui/.
 *
 * A backend allocates a struct that begins with `struct memsrc` (embed it as
 * the first member), fills `ops`, `pid` and the region array, and returns a
 * pointer to the embedded base.  memsrc.c dispatches through ops and
 * implements the generic parts (region lookup, read_u64, free of regions).
 */
#ifndef PYLEAK_MEMSRC_INTERNAL_H
#define PYLEAK_MEMSRC_INTERNAL_H

#include "memsrc.h"

/* What a backend can do beyond reading, asked by capability rather than
 * by its name. */
enum {
        /* A running process stands behind it: /proc/PID may be asked
         * about it (not a core file, whose pid may be another process's
         * by now). */
        MEMSRC_CAP_PROC = 1u << 0,
};

struct memsrc_ops {
        const char *name;   /* "live", "snapshot", "fake", "core": for messages */
        unsigned caps;      /* MEMSRC_CAP_* */
        /* Required: all-or-nothing read. */
        int (*read)(struct memsrc *m, uint64_t addr, void *buf, size_t len);
        /* Optional (NULL: memsrc_ptr returns NULL): zero-copy pointer. */
        const void *(*ptr)(struct memsrc *m, uint64_t addr, size_t len);
        /* Optional (NULL: memsrc_span returns NULL): see memsrc_span. */
        const void *(*span)(struct memsrc *m, uint64_t addr, uint64_t *lo, uint64_t *hi,
                            const uint64_t **gen);
        /* Optional (NULL: -ENOENT): open a mapped file as the target sees it. */
        int (*open_mapped_file)(struct memsrc *m, const struct mem_region *r,
                                char **host_path);
        /* Optional (NULL: this machine's root, or /proc/PID/root with
         * MEMSRC_CAP_PROC): the directory the target's paths resolve
         * under, e.g. a core file's --sysroot. */
        const char *(*root)(struct memsrc *m);
        /* Optional (NULL: no-op): re-read the region list. */
        int (*refresh_regions)(struct memsrc *m);
        /* Optional (NULL: no-op): drop cached bytes of [addr, addr+len). */
        void (*forget)(struct memsrc *m, uint64_t addr, uint64_t len);
        /* Required: free the backend's own state (not the regions, not m's
         * base fields); must free the containing allocation. */
        void (*destroy)(struct memsrc *m);
};

struct memsrc {
        const struct memsrc_ops *ops;
        pid_t pid;
        struct mem_region *regions;   /* sorted by start, owned */
        size_t nregions;
        size_t last_region;           /* lookup cache for memsrc_region_of */
};

#endif
