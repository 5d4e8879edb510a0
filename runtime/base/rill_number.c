/*  rill_number.c: see the header. */
#include "rill_number.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rill_number_parse(const rill_record_t *record, int64_t *integer, double *real, bool *is_real)
{
    const char *start = record->data, *end = start + record->size;
    const char *field = end;
    while (field > start && field[-1] != '\t')
        field--;
    char text[64];
    size_t size = (size_t)(end - field);
    if (size == 0 || size >= sizeof text)
        return -1;
    memcpy(text, field, size);
    text[size] = 0;
    char *rest;
    errno = 0;
    long long parsed = strtoll(text, &rest, 10);
    if (*rest == 0 && errno == 0) {
        *integer = parsed;
        *real = (double)parsed;
        *is_real = false;
        return 0;
    }
    errno = 0;
    double value = strtod(text, &rest);
    if (*rest != 0 || errno != 0 || isnan(value))
        return -1;
    *integer = 0;
    *real = value;
    *is_real = true;
    return 0;
}

void rill_number_acc_init(rill_number_acc_t *acc)
{
    *acc = (rill_number_acc_t){0};
    acc->integer_min = INT64_MAX;
    acc->integer_max = INT64_MIN;
    acc->real_min = INFINITY;
    acc->real_max = -INFINITY;
}

//  Integer sums wrap around in two's complement, as the machine adds, instead of overflowing
//  (undefined behaviour in C: a sum of records near INT64_MAX, or a crafted partial result).
static int64_t s_add_wrapping(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int rill_number_acc_add(rill_number_acc_t *acc, const rill_record_t *record, bool counting_only)
{
    assert(acc && record);
    if (counting_only) {
        acc->count++;
        return 0;
    }
    int64_t integer;
    double real;
    bool is_real;
    if (rill_number_parse(record, &integer, &real, &is_real))
        return -1; //  nothing folded in
    rill_number_acc_add_value(acc, integer, real, is_real);
    return 0;
}

void rill_number_acc_add_value(rill_number_acc_t *acc, int64_t integer, double real, bool is_real)
{
    acc->count++;
    acc->is_real = acc->is_real || is_real;
    acc->integer_sum = s_add_wrapping(acc->integer_sum, integer);
    acc->real_sum += real;
    if (!is_real) {
        acc->integer_min = integer < acc->integer_min ? integer : acc->integer_min;
        acc->integer_max = integer > acc->integer_max ? integer : acc->integer_max;
    }
    acc->real_min = real < acc->real_min ? real : acc->real_min;
    acc->real_max = real > acc->real_max ? real : acc->real_max;
}

void rill_number_acc_merge(rill_number_acc_t *acc, const rill_number_acc_t *other)
{
    assert(acc && other);
    acc->count += other->count;
    acc->integer_sum = s_add_wrapping(acc->integer_sum, other->integer_sum);
    acc->real_sum += other->real_sum;
    acc->is_real = acc->is_real || other->is_real;
    acc->integer_min = other->integer_min < acc->integer_min ? other->integer_min : acc->integer_min;
    acc->integer_max = other->integer_max > acc->integer_max ? other->integer_max : acc->integer_max;
    acc->real_min = other->real_min < acc->real_min ? other->real_min : acc->real_min;
    acc->real_max = other->real_max > acc->real_max ? other->real_max : acc->real_max;
}

//  The shortest decimal that reads back as exactly this double (15 to 17 significant digits):
//  46.4 prints as 46.4, while 5/3 keeps all 17 digits.
static int s_append_real(rill_buffer_t *out, double value)
{
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (digits == 17 || strtod(text, NULL) == value)
            break;
    }
    return rill_buffer_append(out, text, strlen(text));
}

//  Decimal integers without printf: in streaming mode every update of a keyed count is
//  formatted, so this sits on the record path.
static int s_append_integer(rill_buffer_t *out, int64_t value)
{
    char text[24], *at = text + sizeof text;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do {
        *--at = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        *--at = '-';
    return rill_buffer_append(out, at, (size_t)(text + sizeof text - at));
}

int rill_number_acc_format(const rill_number_acc_t *acc, rill_number_result_t which,
                           rill_buffer_t *out)
{
    assert(acc && out);
    switch (which) {
    case RILL_NUMBER_COUNT: return s_append_integer(out, (int64_t)acc->count);
    case RILL_NUMBER_SUM:
        return acc->is_real ? s_append_real(out, acc->real_sum)
                            : s_append_integer(out, acc->integer_sum);
    case RILL_NUMBER_MIN:
        return acc->is_real ? s_append_real(out, acc->real_min)
                            : s_append_integer(out, acc->integer_min);
    case RILL_NUMBER_MAX:
        return acc->is_real ? s_append_real(out, acc->real_max)
                            : s_append_integer(out, acc->integer_max);
    case RILL_NUMBER_AVG:
        return s_append_real(out, acc->count ? acc->real_sum / (double)acc->count : 0.0);
    }
    return -1;
}

size_t rill_varint_put(uint8_t *at, uint64_t value)
{
    size_t size = 0;
    while (value >= 0x80) {
        at[size++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    at[size++] = (uint8_t)value;
    return size;
}

int rill_varint_get(const uint8_t **at, const uint8_t *end, uint64_t *value)
{
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && *at < end; shift += 7) {
        uint8_t byte = *(*at)++;
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return 0;
        }
    }
    return -1;
}

//  The integer and real fields result `which` reads.
static void s_fields(rill_number_acc_t *acc, rill_number_result_t which, int64_t **integer,
                     double **real)
{
    switch (which) {
    case RILL_NUMBER_MIN: *integer = &acc->integer_min, *real = &acc->real_min; break;
    case RILL_NUMBER_MAX: *integer = &acc->integer_max, *real = &acc->real_max; break;
    default: *integer = &acc->integer_sum, *real = &acc->real_sum; break;
    }
}

int rill_number_acc_encode(const rill_number_acc_t *acc, rill_number_result_t which,
                           rill_buffer_t *out)
{
    assert(acc && out && which != RILL_NUMBER_AVG);
    uint8_t bytes[1 + 10 + 16];
    size_t size = 0;
    if (which != RILL_NUMBER_COUNT)
        bytes[size++] = acc->is_real ? 1 : 0;
    size += rill_varint_put(bytes + size, acc->count);
    if (which != RILL_NUMBER_COUNT) {
        int64_t *integer;
        double *real;
        s_fields((rill_number_acc_t *)acc, which, &integer, &real); //  read only
        memcpy(bytes + size, integer, sizeof *integer);
        memcpy(bytes + size + 8, real, sizeof *real);
        size += 16;
    }
    return rill_buffer_append(out, bytes, size);
}

int rill_number_acc_decode(rill_number_acc_t *acc, rill_number_result_t which, const void *data,
                           size_t size)
{
    assert(acc && (data || size == 0) && which != RILL_NUMBER_AVG);
    const uint8_t *at = data, *end = at + size;
    rill_number_acc_init(acc);
    if (which != RILL_NUMBER_COUNT) {
        if (at == end || *at > 1)
            return -1;
        acc->is_real = *at++ == 1;
    }
    if (rill_varint_get(&at, end, &acc->count))
        return -1;
    if (which != RILL_NUMBER_COUNT) {
        if (end - at != 16)
            return -1;
        int64_t *integer;
        double *real;
        s_fields(acc, which, &integer, &real);
        memcpy(integer, at, sizeof *integer);
        memcpy(real, at + 8, sizeof *real);
        at += 16;
    }
    return at == end ? 0 : -1;
}
