/*  rill_buffer_private.h: the buffer's layout, visible inside rill so the record path can
    read it without a call. */
#ifndef RILL_BUFFER_PRIVATE_H_INCLUDED
#define RILL_BUFFER_PRIVATE_H_INCLUDED

#include "rill_buffer.h"
#include "rill_record.h"

struct rill_buffer_t {
    uint8_t *data;
    size_t size;
    size_t capacity;
};

#endif
