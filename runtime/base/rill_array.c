/*  rill_array.c: growing an array by doubling (see rill_array.h). */
#include "rill_array.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

//  The first allocation: small arrays stay small, and the first few appends do not each
//  reallocate.
#define S_FIRST_CAPACITY 16

int rill_array_grow(void **items, size_t *capacity, size_t needed, size_t item_size)
{
    assert(items && capacity && item_size > 0);
    assert(*items != NULL || *capacity == 0);
    if (needed <= *capacity)
        return 0;
    //  At least double, so n appends cost O(n) copies in all; straight to `needed` when that
    //  is more (a caller making room for a block, or asking for its first size outright).
    size_t grown = *capacity == 0             ? S_FIRST_CAPACITY
                   : *capacity > SIZE_MAX / 2 ? SIZE_MAX
                                              : *capacity * 2;
    if (grown < needed)
        grown = needed;
    if (grown > SIZE_MAX / item_size) {
        errno = ENOMEM; //  as out of memory as it gets
        return -1;
    }
    void *bigger = realloc(*items, grown * item_size);
    if (!bigger)
        return -1;
    *items = bigger;
    *capacity = grown;
    return 0;
}
