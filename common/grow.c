/* grow: see grow.h. */
#include "grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int grow_array(void **p, size_t *cap, size_t need, size_t elsize, size_t min)
{
        return grow_array_with(p, cap, need, elsize, min, realloc);
}

int grow_array_with(void **p, size_t *cap, size_t need, size_t elsize, size_t min,
                    void *(*re)(void *, size_t))
{
        size_t ncap;
        void *np;

        if (need <= *cap)
                return 0;
        ncap = *cap < min ? min : *cap + *cap / 2;
        if (ncap < need)
                ncap = need;
        if (!elsize || ncap > SIZE_MAX / elsize)
                return -ENOMEM;
        np = re(*p, ncap * elsize);
        if (!np)
                return -ENOMEM;
        *p = np;
        *cap = ncap;
        return 0;
}
