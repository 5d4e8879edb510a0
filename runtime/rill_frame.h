/*  rill_frame.h: the wire format of one ZeroMQ frame on a channel. A frame is a batch of
    records or one control event; its header names the sending subtask so the receiver knows
    which channel it came from (end-of-stream counting, later watermarks and barriers).
    Inline helpers: the writer serializes with them, the reader decodes with them. */
#ifndef RILL_FRAME_H_INCLUDED
#define RILL_FRAME_H_INCLUDED

#include <stdint.h>
#include <string.h>

#include "rill_record.h"

typedef enum {
    RILL_FRAME_DATA = 1,      //  records follow
    RILL_FRAME_END = 2,       //  end of partition: this sender sends nothing more on this channel
    RILL_FRAME_WATERMARK = 3, //  value = the sender's event-time watermark
    RILL_FRAME_IDLE = 4,      //  the sender has no data for a while: leave it out of the minimum
} rill_frame_kind_t;

#define RILL_FRAME_MAGIC 0x52u //  'R': a cheap check that a frame is ours

typedef struct {
    uint8_t magic;
    uint8_t kind;
    uint16_t sender; //  subtask index within the sending operator
    uint32_t count;  //  records in a DATA frame
    int64_t value;   //  control event payload (watermark time)
} rill_frame_header_t;

//  Each record: its size, its timestamp, its bytes. Fields are copied with memcpy because
//  records are packed without padding.
#define RILL_RECORD_HEADER_SIZE (sizeof(uint32_t) + sizeof(int64_t))

static inline uint8_t *rill_frame_put_record(uint8_t *at, const void *data, uint32_t size,
                                             int64_t timestamp)
{
    memcpy(at, &size, sizeof size);
    memcpy(at + sizeof size, &timestamp, sizeof timestamp);
    if (size)
        memcpy(at + RILL_RECORD_HEADER_SIZE, data, size);
    return at + RILL_RECORD_HEADER_SIZE + size;
}

//  Reads the record at *at, within [*at, end). Returns 0, or -1 when the frame is truncated.
static inline int rill_frame_get_record(const uint8_t **at, const uint8_t *end,
                                        rill_record_t *record)
{
    if ((size_t)(end - *at) < RILL_RECORD_HEADER_SIZE)
        return -1;
    uint32_t size;
    memcpy(&size, *at, sizeof size);
    memcpy(&record->timestamp, *at + sizeof size, sizeof record->timestamp);
    if ((size_t)(end - *at) - RILL_RECORD_HEADER_SIZE < size)
        return -1;
    record->data = *at + RILL_RECORD_HEADER_SIZE;
    record->size = size;
    *at += RILL_RECORD_HEADER_SIZE + size;
    return 0;
}

#endif
