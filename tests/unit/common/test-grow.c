/* Unit tests for common/grow: the growth rule, and that a refusal leaves
 * the array as it was (callers free it on their error path). */
#include "grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"

int main(void)
{
        uint32_t *a = NULL;
        size_t cap = 0, i, bad = 0, grows = 0, last;
        int r;

        r = GROW(a, cap, 1, 16);
        ok(r == 0 && a && cap == 16, "first growth takes the minimum (%zu)", cap);
        ok(GROW(a, cap, 16, 16) == 0 && cap == 16, "room enough: no change");
        for (i = 0; i < 100000; i++) {
                last = cap;
                if (GROW(a, cap, i + 1, 16) < 0) {
                        bad++;
                        break;
                }
                grows += cap != last;
                a[i] = (uint32_t)i;
        }
        for (i = 0; !bad && i < 100000; i++)
                bad += a[i] != (uint32_t)i;
        /* by half each time: about log1.5(100000 / 16) = 22 reallocations */
        ok(!bad && grows > 10 && grows < 30, "100000 pushes keep their values, %zu growths",
           grows);
        last = cap;
        r = GROW(a, cap, last + 1000000, 16);
        ok(r == 0 && cap == last + 1000000,
           "a jump beyond one step goes straight to the need (%zu)", cap);
        {
                uint32_t *keep = a;
                size_t keepcap = cap;

                r = GROW(a, cap, SIZE_MAX / 2, 16);
                ok(r == -ENOMEM && a == keep && cap == keepcap,
                   "an impossible size: -ENOMEM, array and capacity unchanged (%d)", r);
        }
        free(a);
        return tap_done();
}
