/*  rill_frame.h: the wire format of one ZeroMQ frame on a channel. A frame is a batch of
    records or one control event; its header names the sending subtask so the receiver knows
    which channel it came from (end-of-stream counting, later watermarks and barriers).
    Inline helpers: the writer serializes with them, the reader decodes with them. */
#ifndef RILL_FRAME_H_INCLUDED
#define RILL_FRAME_H_INCLUDED

#include <stdint.h>
#include <string.h>

#include "rill_buffer.h"
#include "rill_record.h"

typedef enum {
    RILL_FRAME_DATA = 1, //  records and watermark entries follow
    RILL_FRAME_END = 2,  //  end of partition: this sender sends nothing more on this channel
    RILL_FRAME_IDLE = 4, //  the sender has no data for a while: leave it out of the minimum
} rill_frame_kind_t;

#define RILL_FRAME_MAGIC 0x52u //  'R': a cheap check that a frame is ours

typedef struct {
    uint8_t magic;
    uint8_t kind;
    uint16_t sender; //  subtask index within the sending operator
    uint32_t count;  //  entries (records and watermarks) in a DATA frame
    int64_t value;   //  control event payload (unused by END and IDLE so far)
} rill_frame_header_t;

//  Each record: its size, its timestamp, its bytes. Fields are copied with memcpy because
//  records are packed without padding. A record sampled for tracing has the top bit of its
//  size set and its 8-byte trace id between the timestamp and the bytes.
#define RILL_RECORD_HEADER_SIZE (sizeof(uint32_t) + sizeof(int64_t))
#define RILL_RECORD_TRACED 0x80000000u
#define RILL_RECORD_MAX_SIZE 0x7ffffffeu
//  A watermark travels inside a batch, in order with the records: an entry whose size field
//  is this marker and whose timestamp is the watermark. Sending one needs no flush.
#define RILL_ENTRY_WATERMARK 0xffffffffu

//  Whether the entry at `at` (at least a header's bytes) is a watermark, and its value.
static inline int rill_frame_get_watermark(const uint8_t *at, int64_t *watermark)
{
    uint32_t size;
    memcpy(&size, at, sizeof size);
    if (size != RILL_ENTRY_WATERMARK)
        return 0;
    memcpy(watermark, at + sizeof size, sizeof *watermark);
    return 1;
}

//  Bytes a record takes in a frame.
static inline size_t rill_frame_record_size(size_t size, uint64_t trace)
{
    return RILL_RECORD_HEADER_SIZE + (trace ? sizeof trace : 0) + size;
}

static inline uint8_t *rill_frame_put_record(uint8_t *at, const void *data, uint32_t size,
                                             int64_t timestamp, uint64_t trace)
{
    uint32_t field = trace ? size | RILL_RECORD_TRACED : size;
    memcpy(at, &field, sizeof field);
    memcpy(at + sizeof field, &timestamp, sizeof timestamp);
    at += RILL_RECORD_HEADER_SIZE;
    if (trace) {
        memcpy(at, &trace, sizeof trace);
        at += sizeof trace;
    }
    if (size)
        memcpy(at, data, size);
    return at + size;
}

//  Reads the record at *at, within [*at, end), and its trace id (0: not traced). Returns 0,
//  or -1 when the frame is truncated.
static inline int rill_frame_get_record(const uint8_t **at, const uint8_t *end,
                                        rill_record_t *record, uint64_t *trace)
{
    if ((size_t)(end - *at) < RILL_RECORD_HEADER_SIZE)
        return -1;
    uint32_t size;
    memcpy(&size, *at, sizeof size);
    memcpy(&record->timestamp, *at + sizeof size, sizeof record->timestamp);
    const uint8_t *body = *at + RILL_RECORD_HEADER_SIZE;
    *trace = 0;
    if (size & RILL_RECORD_TRACED) {
        size &= ~RILL_RECORD_TRACED;
        if ((size_t)(end - body) < sizeof *trace)
            return -1;
        memcpy(trace, body, sizeof *trace);
        body += sizeof *trace;
    }
    if ((size_t)(end - body) < size)
        return -1;
    record->data = body;
    record->size = size;
    *at = body + size;
    return 0;
}

#endif
