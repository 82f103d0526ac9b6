/* grow: the one reallocation rule of the project's growable arrays.
 *
 * An array is a pointer and a capacity in elements.  GROW(p, cap, need, min)
 * makes room for at least `need` elements: nothing when there is, else the
 * capacity grows by half (at least to `min`, at least to `need`), with the
 * byte size checked for overflow.  -ENOMEM leaves p and cap as they were,
 * so the caller's cleanup still frees what it had.
 */
#ifndef PYLEAK_GROW_H
#define PYLEAK_GROW_H

#include <stddef.h>

int grow_array(void **p, size_t *cap, size_t need, size_t elsize, size_t min);

/* The same rule with another realloc (the model's big arrays:
 * heap_big_realloc()). */
int grow_array_with(void **p, size_t *cap, size_t need, size_t elsize, size_t min,
                    void *(*re)(void *, size_t));

#define GROW(p, cap, need, min) \
        grow_array((void **)&(p), &(cap), (need), sizeof(*(p)), (min))

#endif
