/* numpy-layout: where numpy's ndarray keeps its data, shape, base and
 * element size, as numpy's own public headers lay them out
 * (symbols/tables/numpy-*.inc, made by symbols/gen/gen-numpy-layout).
 *
 * Data only: nothing here reads a target.  The walker (heap/native.c)
 * proves a layout against the target's arrays before it counts a byte with
 * it.  The list is static; callers own nothing.
 */
#ifndef PYLEAK_NUMPY_LAYOUT_H
#define PYLEAK_NUMPY_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

struct npy_layout {
        const char *source;          /* "numpy 1.24.2 headers" */
        uint32_t array_size;         /* sizeof(PyArrayObject_fields) */
        uint32_t data, nd, dimensions, strides, base, descr, flags;
        uint32_t nd_width, flags_width;
        uint32_t descr_elsize, descr_elsize_width;  /* PyArray_Descr.elsize */
        uint32_t maxdims;            /* NPY_MAXDIMS */
        uint32_t owndata, c_contiguous, f_contiguous;  /* NPY_ARRAY_* bits */
};

/* The layouts known, in the order to try them; *n is their number. */
const struct npy_layout *npy_layouts(size_t *n);

#endif
