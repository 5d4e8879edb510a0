/*  rill_clock.h: the two clocks the runtime reads, in one place. The monotonic one measures
    (deadlines, busy and idle time, trace hops) and never jumps; the wall one is processing
    time, which users see in windows and timestamps. Not installed. */
#ifndef RILL_CLOCK_H_INCLUDED
#define RILL_CLOCK_H_INCLUDED

#include <stdint.h>

//  Monotonic clock in nanoseconds, for deadlines and busy/idle accounting.
uint64_t rill_clock_ns(void);
//  The wall clock in ms since the epoch (processing time).
int64_t rill_clock_wall_ms(void);

#endif
