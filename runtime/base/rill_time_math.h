/*  rill_time_math.h: saturating arithmetic on event times (int64 ms). Window ends, cleanup
    times and watermarks are sums of user values (timestamps, sizes, lateness, bounds) that
    can pass the int64 range; signed overflow is undefined behaviour in C and, in practice,
    wraps a far-future time into the far past (a cleanup timer that fires at once). Every
    such sum goes through these helpers, which clamp at INT64_MIN and INT64_MAX instead.
    Internal: not installed. */
#ifndef RILL_TIME_MATH_H_INCLUDED
#define RILL_TIME_MATH_H_INCLUDED

#include <stdint.h>

//  a + b, clamped to [INT64_MIN, INT64_MAX].
static inline int64_t rill_time_add(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

//  a - b, clamped to [INT64_MIN, INT64_MAX].
static inline int64_t rill_time_sub(int64_t a, int64_t b)
{
    int64_t difference;
    if (__builtin_sub_overflow(a, b, &difference))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return difference;
}

#endif
