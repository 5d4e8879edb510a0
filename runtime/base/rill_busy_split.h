/*  rill_busy_split.h: where a task's busy time goes (issue 15: "each subtask's busy time split
    into user function, runtime, ZeroMQ"). One per task thread, written by that thread only:
    - ZeroMQ time is timed per batch around each send and receive (two clock reads per frame
      of hundreds of records: next to nothing);
    - user-function time is estimated from a sample: one call in 32 on average, at random gaps
      (a fixed stride would alias with periodic input), is timed and counts for the calls since
      the previous sample. Timing every call would cost two clock reads per record per
      function, more than many functions cost themselves. A slow function (its timed calls
      average RILL_BUSY_SPLIT_SLOW_NS or more) has every call timed instead: the clock then
      costs next to nothing beside it, and a sample would miss the rare calls a preemption
      stretches, which matter most where the function is the bottleneck. A sampled call far
      slower than the recent ones (most likely preempted) counts once, not for the calls around
      it: under CPU contention the estimate leans low rather than swinging wide, and the
      preempted time shows as the runtime's.
    Whatever a sampled user function emits runs downstream on the same thread (the next member
    of the chain, the writer); that time is not the function's, so rill_busy_split_pause and
    _resume bracket every emit. What is left of busy time is the runtime's own (decode, emit,
    partition, serialize, state, checkpoints). Not installed. */
#ifndef RILL_BUSY_SPLIT_H_INCLUDED
#define RILL_BUSY_SPLIT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

//  Mean gap between two timed calls of a cheap user function; how slow a function's timed
//  calls must be on average for every call to be timed.
#define RILL_BUSY_SPLIT_SAMPLE 32
#define RILL_BUSY_SPLIT_SLOW_NS 2000
//  A timed call this many times slower than the recent average, and longer than
//  RILL_BUSY_SPLIT_PREEMPTED_NS, counts once, not for the calls around it: most likely it was
//  preempted.
#define RILL_BUSY_SPLIT_OUTLIER 32
#define RILL_BUSY_SPLIT_PREEMPTED_NS 250000

typedef struct {
    uint64_t user_ns; //  estimated time in user functions
    uint64_t zmq_ns;  //  time in ZeroMQ sends and receives, not blocked
    //  The sampled call being timed: when its clock (re)started (0: none) and how many calls
    //  it stands for.
    uint64_t open_at;
    uint64_t weight;
    uint64_t clock_ns; //  what reading the clock costs, taken off every timed call
    uint64_t average_ns; //  of the timed calls, recent ones weighing most
    uint32_t until; //  user calls before the next sample
    uint32_t gap;   //  the gap that ends at the next sample: its weight
    uint64_t rng;   //  xorshift state drawing the gaps
} rill_busy_split_t;

//  Zeroes self, measures the clock's own cost, and draws the first gap from seed (different
//  per task, so that tasks do not sample in step).
void rill_busy_split_init(rill_busy_split_t *self, uint64_t seed);

//  The slow paths of the inline functions below.
bool rill_busy_split_open(rill_busy_split_t *self);
void rill_busy_split_close(rill_busy_split_t *self);
uint64_t rill_busy_split_stop(rill_busy_split_t *self);
void rill_busy_split_restart(rill_busy_split_t *self, uint64_t weight);

//  Around each call of a user function: begin says whether this call is timed, end takes that
//  answer. self may be NULL (diagnostics off): then both cost one test.
static inline bool rill_busy_split_user_begin(rill_busy_split_t *self)
{
    if (!self || --self->until)
        return false;
    return rill_busy_split_open(self);
}

static inline void rill_busy_split_user_end(rill_busy_split_t *self, bool timed)
{
    if (timed)
        rill_busy_split_close(self);
}

//  Around an emit that may come from inside a user function: pause stops the clock of a timed
//  call and returns what resume needs to restart it (0: nothing was being timed).
static inline uint64_t rill_busy_split_pause(rill_busy_split_t *self)
{
    return self && self->open_at ? rill_busy_split_stop(self) : 0;
}

static inline void rill_busy_split_resume(rill_busy_split_t *self, uint64_t paused)
{
    if (paused)
        rill_busy_split_restart(self, paused);
}

#endif
