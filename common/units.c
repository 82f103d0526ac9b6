/* units.c: see units.h. */
#include "units.h"

#include <inttypes.h>
#include <stdio.h>

const char *units_bytes(uint64_t b, char *buf, size_t len)
{
        static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = (double)b;
        int u = 0;

        while (v >= 1024 && u < 4) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, len, "%" PRIu64 " B", b);
        else
                snprintf(buf, len, "%.1f %s", v, unit[u]);
        return buf;
}
