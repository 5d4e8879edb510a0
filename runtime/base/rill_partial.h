/*  rill_partial.h: the records a combined edge carries (rill_plan_edge_t.combined). The
    sender's combiner (runtime/channel/rill_combiner.c) writes them, the keyed reduce
    (actors/operators/rill_op_reduce.c) reads them; both sit above runtime/base, so the format
    lives here. The first byte says what follows:
      RILL_PARTIAL_RECORD  an ordinary record, not folded (its value could not be, or its key
                           did not fit the table): the reduce handles it as any record.
      RILL_PARTIAL_FOLDED  a varint key size, the key, then the partial result: for count,
                           sum, min and max rill_number_acc_encode's bytes; for a reduce
                           function the partially reduced record.
    The record's timestamp is the highest of the records folded into it. Only combined edges
    carry these; every other edge carries records as they are. */
#ifndef RILL_PARTIAL_H_INCLUDED
#define RILL_PARTIAL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_number.h"

enum {
    RILL_PARTIAL_RECORD = 1,
    RILL_PARTIAL_FOLDED = 2,
};

//  A partial record read back: an ordinary record (record set) or a folded one (key, value).
typedef struct {
    int tag;
    rill_record_t record; //  RILL_PARTIAL_RECORD
    const void *key;      //  RILL_PARTIAL_FOLDED
    size_t key_size;
    const void *value;
    size_t value_size;
} rill_partial_t;

//  Splits a combined edge's record. 0, or -1 when it is not one.
static inline int rill_partial_read(const rill_record_t *record, rill_partial_t *partial)
{
    const uint8_t *at = record->data, *end = at + record->size;
    if (at == end)
        return -1;
    partial->tag = *at++;
    if (partial->tag == RILL_PARTIAL_RECORD) {
        partial->record = (rill_record_t){at, (size_t)(end - at), record->timestamp};
        return 0;
    }
    uint64_t key_size;
    if (partial->tag != RILL_PARTIAL_FOLDED || rill_varint_get(&at, end, &key_size) ||
        key_size > (uint64_t)(end - at))
        return -1;
    partial->key = at;
    partial->key_size = (size_t)key_size;
    partial->value = at + key_size;
    partial->value_size = (size_t)(end - at - key_size);
    return 0;
}

#endif
