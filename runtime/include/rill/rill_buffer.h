/*  rill_buffer.h: the growable byte buffer that map and reduce functions write their result
    into (and user code may use on its own). */
#ifndef RILL_BUFFER_H_INCLUDED
#define RILL_BUFFER_H_INCLUDED

#include <stddef.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A growable byte buffer. Map and reduce functions write their result into one that the
//  runtime owns and reuses, so the record path does not allocate per record.
typedef struct rill_buffer_t rill_buffer_t;

//  Creates an empty buffer (for user code that wants one of its own). NULL when out of memory.
RILL_EXPORT rill_buffer_t *rill_buffer_new(void);
//  Destroys a buffer and sets the caller's pointer to NULL.
RILL_EXPORT void rill_buffer_destroy(rill_buffer_t **self_p);
//  Replaces the contents with size bytes from data. 0, or -1 when out of memory.
RILL_EXPORT int rill_buffer_set(rill_buffer_t *self, const void *data, size_t size);
//  Appends size bytes. 0, or -1 when out of memory.
RILL_EXPORT int rill_buffer_append(rill_buffer_t *self, const void *data, size_t size);
//  Appends printf-formatted text (no terminating NUL is kept). 0, or -1.
RILL_EXPORT int rill_buffer_appendf(rill_buffer_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
//  Grows the contents by size bytes and returns where they start, for the caller to fill.
RILL_EXPORT void *rill_buffer_reserve(rill_buffer_t *self, size_t size);
//  Empties the buffer, keeping its memory.
RILL_EXPORT void rill_buffer_reset(rill_buffer_t *self);
//  The contents and their length.
RILL_EXPORT const void *rill_buffer_data(const rill_buffer_t *self);
RILL_EXPORT size_t rill_buffer_size(const rill_buffer_t *self);

#ifdef __cplusplus
}
#endif
#endif
