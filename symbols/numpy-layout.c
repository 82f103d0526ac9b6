/* numpy-layout: the generated layouts, newest numpy first. */
#include "numpy-layout.h"

static const struct npy_layout layouts[] = {
#include "tables/numpy-1.24.2.inc"
};

const struct npy_layout *npy_layouts(size_t *n)
{
        *n = sizeof(layouts) / sizeof(layouts[0]);
        return layouts;
}
