/*  rill_timer_heap.h: timers of one subtask, in one binary min-heap per time domain. Each
    timer carries a copy of the state key it belongs to (window or process key), so it stays
    valid when the keyed table grows; a timer whose state is gone by the time it fires is
    simply skipped by its owner. */
#ifndef RILL_TIMER_HEAP_H_INCLUDED
#define RILL_TIMER_HEAP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t time;
    uint64_t sequence; //  registration order: equal times fire first come, first served
    uint8_t *key;      //  owned copy
    size_t key_size;
    int tag;           //  the owner's meaning (fire, clean up, ...)
} rill_timer_t;

typedef struct rill_timer_heap_t rill_timer_heap_t;

rill_timer_heap_t *rill_timer_heap_new(void);
void rill_timer_heap_destroy(rill_timer_heap_t **self_p);
//  Adds a timer (the key is copied). 0, or -1 when out of memory.
int rill_timer_heap_push(rill_timer_heap_t *self, int64_t time, const void *key, size_t key_size,
                         int tag);
//  The earliest timer's time, or INT64_MAX when there is none.
int64_t rill_timer_heap_next(const rill_timer_heap_t *self);
//  Removes the earliest timer into *timer if its time <= until; 1 when one was taken, else 0.
//  The caller frees timer->key.
int rill_timer_heap_pop(rill_timer_heap_t *self, int64_t until, rill_timer_t *timer);
size_t rill_timer_heap_size(const rill_timer_heap_t *self);
//  Calls fn for every timer in the order they would fire (time, then registration), without
//  taking them out: a checkpoint writes them so, and pushing them back in that order into an
//  empty heap restores the same firing order. Stops at fn's first non-zero return. 0, the
//  non-zero return of fn, or -1 when out of memory.
typedef int(rill_timer_visit_fn)(const rill_timer_t *timer, void *ctx);
int rill_timer_heap_each(const rill_timer_heap_t *self, rill_timer_visit_fn *fn, void *ctx);

#endif
