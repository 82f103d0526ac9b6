/* u64map: the project's hash map from a 64-bit key to a 32-bit value.
 *
 * Open addressing with linear probing, power-of-two capacity, load <= 1/2,
 * keys mixed with murmur3's finaliser (addresses are aligned and packed, so
 * raw low bits would crowd a few slots).  Key 0 marks an empty slot and is
 * never a key: callers whose keys may be 0 store key + 1.  The map owns its
 * arrays; u64map_release() frees them and leaves an empty map (a zeroed
 * struct is an empty map too).  Only u64map_put() allocates; it fails with
 * -ENOMEM and leaves the map as it was.
 */
#ifndef PYLEAK_U64MAP_H
#define PYLEAK_U64MAP_H

#include <stdint.h>

struct u64map {
        uint64_t *keys;
        uint32_t *vals;
        uint64_t cap, n;
};

static inline uint64_t u64map_mix(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

/* 1 and *ret = the value when key is in the map, else 0. */
static inline int u64map_get(const struct u64map *m, uint64_t key, uint32_t *ret)
{
        if (!m->cap)
                return 0;
        for (uint64_t i = u64map_mix(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
                if (m->keys[i] == key) {
                        *ret = m->vals[i];
                        return 1;
                }
                if (!m->keys[i])
                        return 0;
        }
}

/* Sets key (!= 0) to val, replacing an earlier value.  0 or -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, uint32_t val);

void u64map_release(struct u64map *m);

#endif
