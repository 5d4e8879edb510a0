/*  rill_buffer.c: the growable byte buffer user functions write results into. The runtime
    keeps one per subtask and resets it per record, so it grows once and then never allocates. */
#include "rill_array.h"
#include "rill_buffer_private.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rill_buffer_t *rill_buffer_new(void)
{
    return calloc(1, sizeof(rill_buffer_t));
}

void rill_buffer_destroy(rill_buffer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}

static int s_grow(rill_buffer_t *self, size_t extra)
{
    if (self->size + extra <= self->capacity)
        return 0;
    if (self->size + extra < self->size || self->size + extra > SIZE_MAX / 2) {
        errno = ENOMEM; //  the doubling below would overflow: as out of memory as it gets
        return -1;
    }
    //  errno is ENOMEM when it fails: the operator reports out of memory.
    return rill_array_grow((void **)&self->data, &self->capacity, self->size + extra, 1);
}

int rill_buffer_set(rill_buffer_t *self, const void *data, size_t size)
{
    assert(self && (data || size == 0));
    self->size = 0;
    return rill_buffer_append(self, data, size);
}

int rill_buffer_append(rill_buffer_t *self, const void *data, size_t size)
{
    assert(self && (data || size == 0));
    if (s_grow(self, size))
        return -1;
    if (size)
        memcpy(self->data + self->size, data, size);
    self->size += size;
    return 0;
}

int rill_buffer_appendf(rill_buffer_t *self, const char *format, ...)
{
    assert(self && format);
    va_list args;
    va_start(args, format);
    int needed = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (needed < 0 || s_grow(self, (size_t)needed + 1))
        return -1;
    va_start(args, format);
    vsnprintf((char *)self->data + self->size, (size_t)needed + 1, format, args);
    va_end(args);
    self->size += (size_t)needed;
    return 0;
}

void *rill_buffer_reserve(rill_buffer_t *self, size_t size)
{
    assert(self);
    if (s_grow(self, size))
        return NULL;
    void *start = self->data + self->size;
    self->size += size;
    return start;
}

void rill_buffer_reset(rill_buffer_t *self)
{
    assert(self);
    self->size = 0;
}

const void *rill_buffer_data(const rill_buffer_t *self)
{
    return self->data;
}

size_t rill_buffer_size(const rill_buffer_t *self)
{
    return self->size;
}
