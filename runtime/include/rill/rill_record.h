/*  rill_record.h: records and the keys extracted from them: the data every user function sees.
    Neither exposes ZeroMQ; the bytes belong to the runtime. */
#ifndef RILL_RECORD_H_INCLUDED
#define RILL_RECORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Event timestamps are milliseconds since the Unix epoch; a record without one carries this.
#define RILL_NO_TIMESTAMP INT64_MIN

//  One record: a byte string (not NUL-terminated; may hold any bytes) and its event timestamp.
//  The bytes belong to the runtime and are valid only during the call that receives them.
typedef struct {
    const void *data;
    size_t size;
    int64_t timestamp;
} rill_record_t;

//  A key extracted from a record. Point data into the record's bytes, or write up to
//  RILL_KEY_SCRATCH bytes into scratch and point data at it (for computed keys).
#define RILL_KEY_SCRATCH 48
typedef struct {
    const void *data;
    size_t size;
    uint8_t scratch[RILL_KEY_SCRATCH];
} rill_key_t;

//  A ready-made key extractor: the bytes before the first TAB (the whole record if none).
RILL_EXPORT int rill_key_first_field(const rill_record_t *in, rill_key_t *key, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
