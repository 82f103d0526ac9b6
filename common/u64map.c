/* u64map.c: see u64map.h. */
#include "u64map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct u64map *m)
{
        uint64_t ncap = m->cap ? m->cap * 2 : 1024;
        uint64_t *nk = calloc(ncap, sizeof(*nk));
        uint32_t *nv = calloc(ncap, sizeof(*nv));

        if (!nk || !nv) {
                free(nk);
                free(nv);
                return -ENOMEM;
        }
        for (uint64_t i = 0; i < m->cap; i++) {
                uint64_t j;

                if (!m->keys[i])
                        continue;
                for (j = u64map_mix(m->keys[i]) & (ncap - 1); nk[j]; j = (j + 1) & (ncap - 1))
                        ;
                nk[j] = m->keys[i];
                nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
        return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
        if ((m->n + 1) * 2 > m->cap) {
                int r = grow(m);

                if (r < 0)
                        return r;
        }
        for (uint64_t i = u64map_mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (!m->keys[i] || m->keys[i] == key) {
                        if (!m->keys[i])
                                m->n++;
                        m->keys[i] = key;
                        m->vals[i] = val;
                        return 0;
                }
        }
}

void u64map_release(struct u64map *m)
{
        free(m->keys);
        free(m->vals);
        memset(m, 0, sizeof(*m));
}
