/* clock: the monotonic clock every timing in the project is measured with
 * (pause, stop, walk, analysis, symbol lookup). */
#ifndef PYLEAK_CLOCK_H
#define PYLEAK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double mono_ms(void)
{
        return (double)mono_ns() / 1e6;
}

#endif
