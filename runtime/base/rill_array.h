/*  rill_array.h: the one step every growing array in rill takes (record lists, timer heaps,
    the graph's and the plan's tables, collected lines): make room for `needed` items,
    doubling so that n appends cost O(n) copies in all. Not installed. */
#ifndef RILL_ARRAY_H_INCLUDED
#define RILL_ARRAY_H_INCLUDED

#include <stddef.h>

//  Makes *items (an array of *capacity items of item_size bytes, or NULL with capacity 0)
//  hold at least `needed` items: when it grows, to twice the capacity or to `needed`, whichever
//  is more. Updates *items and *capacity. Returns 0; -1 (errno ENOMEM) when out of memory or
//  the size would overflow, with *items and *capacity unchanged (the old array stays valid).
int rill_array_grow(void **items, size_t *capacity, size_t needed, size_t item_size);

#endif
