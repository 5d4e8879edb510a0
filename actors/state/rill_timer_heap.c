/*  rill_timer_heap.c: a plain binary heap ordered by (time, sequence). */
#include "rill_timer_heap.h"
#include "rill_array.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rill_timer_heap_t {
    rill_timer_t *items;
    size_t size;
    size_t capacity;
    uint64_t sequence;
};

rill_timer_heap_t *rill_timer_heap_new(void)
{
    return calloc(1, sizeof(rill_timer_heap_t));
}

void rill_timer_heap_destroy(rill_timer_heap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < (*self_p)->size; i++)
        free((*self_p)->items[i].key);
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

static int s_before(const rill_timer_t *a, const rill_timer_t *b)
{
    return a->time < b->time || (a->time == b->time && a->sequence < b->sequence);
}

int rill_timer_heap_push(rill_timer_heap_t *self, int64_t time, const void *key, size_t key_size,
                         int tag)
{
    assert(self && (key || key_size == 0));
    if (rill_array_grow((void **)&self->items, &self->capacity, self->size + 1,
                        sizeof(rill_timer_t)))
        return -1;
    uint8_t *copy = malloc(key_size ? key_size : 1);
    if (!copy)
        return -1;
    if (key_size) //  an empty key may be NULL, which memcpy must not be given
        memcpy(copy, key, key_size);
    size_t at = self->size++;
    rill_timer_t timer = {time, self->sequence++, copy, key_size, tag};
    while (at > 0 && s_before(&timer, &self->items[(at - 1) / 2])) {
        self->items[at] = self->items[(at - 1) / 2];
        at = (at - 1) / 2;
    }
    self->items[at] = timer;
    return 0;
}

int64_t rill_timer_heap_next(const rill_timer_heap_t *self)
{
    assert(self);
    return self->size ? self->items[0].time : INT64_MAX;
}

int rill_timer_heap_pop(rill_timer_heap_t *self, int64_t until, rill_timer_t *timer)
{
    assert(self && timer);
    if (!self->size || self->items[0].time > until)
        return 0;
    *timer = self->items[0];
    rill_timer_t last = self->items[--self->size];
    size_t at = 0;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && s_before(&self->items[child + 1], &self->items[child]))
            child++;
        if (!s_before(&self->items[child], &last))
            break;
        self->items[at] = self->items[child];
        at = child;
    }
    if (self->size)
        self->items[at] = last;
    return 1;
}

size_t rill_timer_heap_size(const rill_timer_heap_t *self)
{
    return self->size;
}

static int s_compare(const void *a, const void *b)
{
    const rill_timer_t *x = *(const rill_timer_t *const *)a, *y = *(const rill_timer_t *const *)b;
    return s_before(x, y) ? -1 : s_before(y, x) ? 1 : 0;
}

int rill_timer_heap_each(const rill_timer_heap_t *self, rill_timer_visit_fn *fn, void *ctx)
{
    assert(self && fn);
    if (!self->size)
        return 0;
    //  Sorting pointers to the items leaves the heap as it is (a checkpoint reads, never
    //  changes, the state it saves).
    const rill_timer_t **order = malloc(self->size * sizeof(rill_timer_t *));
    if (!order)
        return -1;
    for (size_t i = 0; i < self->size; i++)
        order[i] = &self->items[i];
    qsort(order, self->size, sizeof(rill_timer_t *), s_compare);
    int rc = 0;
    for (size_t i = 0; i < self->size && rc == 0; i++)
        rc = fn(order[i], ctx);
    free(order);
    return rc;
}
