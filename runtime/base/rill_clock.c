/*  rill_clock.c: clock_gettime behind the runtime's two clocks (see rill_clock.h). Not
    zclock: the tracer and the busy/idle accounting need nanoseconds, which zclock_usecs does
    not give. */
#include "rill_clock.h"

#include <time.h>

uint64_t rill_clock_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

int64_t rill_clock_wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
