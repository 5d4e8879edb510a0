/*  rill_number.h: the numbers inside text records, for the built-in aggregations (keyed
    reduce helpers and window built-ins): parsing the last TAB-separated field, and one
    accumulator that serves count, sum, min, max and avg. Integers stay integers until a
    non-integer value joins them. */
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
//  Folds another accumulator in (session windows merging).
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

#endif
