/*  rill_number.h: the numbers inside text records, for the built-in aggregations (keyed
    reduce helpers and window built-ins): parsing the last TAB-separated field, and one
    accumulator that serves count, sum, min, max and avg. Integers stay integers until a
    non-integer value joins them. It lives in runtime/base, below both the operators and the
    channel layer, because the writer's combiner (runtime/channel/rill_combiner.c) folds
    records into the same accumulators that the keyed reduce merges. */
#ifndef RILL_NUMBER_H_INCLUDED
#define RILL_NUMBER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_record.h"

typedef struct {
    uint64_t count;
    int64_t integer_sum;
    double real_sum; //  kept always, for avg and for when reals join
    int64_t integer_min, integer_max;
    double real_min, real_max;
    bool is_real;
} rill_number_acc_t;

//  Parses the last TAB-separated field of a record. 0, or -1 when it is not a number.
int rill_number_parse(const rill_record_t *record, int64_t *integer, double *real, bool *is_real);
//  An empty accumulator.
void rill_number_acc_init(rill_number_acc_t *acc);
//  Folds one value (parsed from record) in; for count pass counting_only and any record.
//  0, or -1 when the record has no number (self->error-style message left to the caller).
int rill_number_acc_add(rill_number_acc_t *acc, const rill_record_t *record, bool counting_only);
//  Folds one parsed value in (what rill_number_acc_add does after parsing).
void rill_number_acc_add_value(rill_number_acc_t *acc, int64_t integer, double real, bool is_real);
//  Folds another accumulator in (session windows merging, partial results of a combiner).
void rill_number_acc_merge(rill_number_acc_t *acc, const rill_number_acc_t *other);

typedef enum {
    RILL_NUMBER_COUNT,
    RILL_NUMBER_SUM,
    RILL_NUMBER_MIN,
    RILL_NUMBER_MAX,
    RILL_NUMBER_AVG,
} rill_number_result_t;

//  Appends the chosen result as text: integers in decimal, reals as the shortest decimal that
//  reads back as the same double (full precision, at most 17 digits). 0 or -1.
int rill_number_acc_format(const rill_number_acc_t *acc, rill_number_result_t which,
                           rill_buffer_t *out);
//  Appends the part of acc that result `which` (count, sum, min or max) reads, compactly:
//  a combiner's partial result on the wire (count: a varint; the others: a flag byte, the
//  count as a varint, then the integer and the real field, 8 bytes each, host byte order,
//  as the rest of the frame). 0 or -1 (out of memory).
int rill_number_acc_encode(const rill_number_acc_t *acc, rill_number_result_t which,
                           rill_buffer_t *out);
//  Reads what rill_number_acc_encode wrote into an accumulator (the fields it does not carry
//  left empty, so merging it changes only those the result reads). 0, or -1 when data is
//  not exactly one such encoding.
int rill_number_acc_decode(rill_number_acc_t *acc, rill_number_result_t which, const void *data,
                           size_t size);

//  Unsigned LEB128 varints: at most 10 bytes. put returns the bytes written to at; get reads
//  from [*at, end), advancing *at, and returns 0, or -1 when truncated or too long.
size_t rill_varint_put(uint8_t *at, uint64_t value);
int rill_varint_get(const uint8_t **at, const uint8_t *end, uint64_t *value);

#endif
