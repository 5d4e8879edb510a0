/*  rill_busy_split.c: the sampled timing of user functions (see rill_busy_split.h). */
#include "rill_busy_split.h"

#include <stdlib.h>
#include <string.h>

#include "rill_clock.h"

//  What calibration times: a call that does nothing, through a pointer the compiler cannot see
//  through, as a user function is called.
static void s_nothing(void)
{
}

static void (*volatile s_call)(void) = s_nothing;

static int s_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

//  The next gap: uniform in 1 .. 2 * RILL_BUSY_SPLIT_SAMPLE - 1 calls, mean the sample rate.
static uint32_t s_next_gap(rill_busy_split_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return 1 + (uint32_t)(x % (2 * RILL_BUSY_SPLIT_SAMPLE - 1));
}

void rill_busy_split_init(rill_busy_split_t *self, uint64_t seed)
{
    memset(self, 0, sizeof *self);
    //  xorshift must not start at zero; mixing spreads neighbouring seeds apart.
    self->rng = (seed + 1) * 0x9e3779b97f4a7c15ull;
    self->gap = s_next_gap(self);
    self->until = self->gap;
    //  A timed call of a function that costs 5 ns would read as the clock's 30: what timing an
    //  empty call reads (the median of a few tries, so one interrupted try does not count) is
    //  taken off every timed call.
    uint64_t tries[31];
    for (int i = 0; i < 31; i++) {
        uint64_t a = rill_clock_ns();
        s_call();
        tries[i] = rill_clock_ns() - a;
    }
    qsort(tries, 31, sizeof tries[0], s_compare);
    self->clock_ns = tries[15];
}

bool rill_busy_split_open(rill_busy_split_t *self)
{
    uint32_t weight = self->gap;
    self->gap = self->average_ns >= RILL_BUSY_SPLIT_SLOW_NS ? 1 : s_next_gap(self);
    self->until = self->gap;
    //  Called from inside a call already being timed (a function calling another without an
    //  emit between): the outer clock covers this one already.
    if (self->open_at)
        return false;
    self->weight = weight;
    self->open_at = rill_clock_ns();
    return true;
}

void rill_busy_split_close(rill_busy_split_t *self)
{
    if (self->open_at) {
        uint64_t spent = rill_clock_ns() - self->open_at;
        spent = spent > self->clock_ns ? spent - self->clock_ns : 0;
        //  A call far slower than the recent ones, and longer than a short time slice, was
        //  most likely preempted (the thread lost its core): it counts once, for itself, not
        //  for the calls around it, else one preemption would be charged 32 times to a
        //  function of nanoseconds. (The floor keeps a task's slower function, timed beside a
        //  faster one, from looking like an outlier.)
        bool outlier = self->average_ns && spent > RILL_BUSY_SPLIT_OUTLIER * self->average_ns &&
                       spent > RILL_BUSY_SPLIT_PREEMPTED_NS;
        self->user_ns += outlier ? spent : spent * self->weight;
        //  An average over about the last 8 timed calls (or parts of calls, between emits),
        //  starting from the first.
        if (!self->average_ns)
            self->average_ns = spent ? spent : 1;
        else if (!outlier)
            self->average_ns = self->average_ns - self->average_ns / 8 + spent / 8;
    }
    self->open_at = 0;
}

uint64_t rill_busy_split_stop(rill_busy_split_t *self)
{
    uint64_t weight = self->weight;
    rill_busy_split_close(self);
    return weight;
}

void rill_busy_split_restart(rill_busy_split_t *self, uint64_t weight)
{
    self->weight = weight;
    self->open_at = rill_clock_ns();
}
