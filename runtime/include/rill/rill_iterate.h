/*  rill_iterate.h: iterations, the one kind of cycle a dataflow may have (Flink's
    IterativeStream). A loop has a head, which takes the loop's input, a body built on the
    head's stream, and a feedback stream that goes back from the body to the head:

        rill_iteration_t *it = rill_stream_iterate(numbers);
        rill_stream_t *step = rill_stream_map(rill_iteration_stream(it), collatz_step, NULL);
        rill_iteration_close(it, rill_stream_filter(step, not_one, NULL));
        rill_stream_collect(rill_stream_filter(step, is_one, NULL), results);

    Every record the head gets, from its input or back from the feedback, goes into the body
    once. Inside the loop (the operators downstream of the head that lead back to it) only
    map, filter and flat_map may run, fed from inside the loop only; their other outputs leave
    the loop. Exchange patterns inside (key_by, rebalance, ...) are free, but for global into
    an operator of parallelism > 1 (its other subtasks would get no input). The feedback stream
    redistributes (rebalance unless it says key_by, shuffle, broadcast or custom; a keyed
    feedback goes in as rill_keyed_stream_stream (keyed)); forward, rescale and global are
    refused when the head has more than one subtask.

    Termination (bounded input): the loop ends once every input of the head has ended and no
    record is in flight on the loop. The heads then run probe rounds: a probe travels in band
    through the body, aligned by every operator on its inputs like a checkpoint barrier,
    and comes back on the feedback edge to every head subtask, carrying how many records the
    heads took back while the previous probe was out; a round that counted none anywhere
    proves the loop empty, and every head ends its output together (rill_subtask_iteration.c
    has the argument). Unbounded input: the loop runs until the job is cancelled.

    Backpressure cannot deadlock: a head always takes its feedback, before its input, and
    while its own sends into the body are blocked it parks what comes back in a queue that
    spills to a temporary file beyond RILL_ITERATION_DEFAULT_MEMORY bytes per head subtask
    (rill_iteration_set_memory), so its memory stays bounded.

    Checkpoints: a job with an iteration runs without them (as Flink gives no exactly-once for
    iterations): rill_env_execute refuses one with a checkpoint interval, a restore path or a
    savepoint. */
#ifndef RILL_ITERATE_H_INCLUDED
#define RILL_ITERATE_H_INCLUDED

#include "rill_env.h"
#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Feedback bytes a head subtask parks in memory, by default, before it spills to a file.
#define RILL_ITERATION_DEFAULT_MEMORY (8u << 20)

//  An open iteration: its head, until closed (owned by the environment, as streams are).
typedef struct rill_iteration_t rill_iteration_t;

//  Starts an iteration on `in`: adds its head, an operator (named "iterate()"; rename it with
//  rill_stream_name on rill_iteration_stream) whose parallelism is the environment's unless
//  set. NULL (with rill_env_error set) when in is NULL or a sink.
RILL_EXPORT rill_iteration_t *rill_stream_iterate(rill_stream_t *in);
//  The head's output: what the loop body is built on (and may also leave the loop from).
RILL_EXPORT rill_stream_t *rill_iteration_stream(rill_iteration_t *self);
//  Closes the loop: `feedback`, a stream of one operator built downstream of the head, goes
//  back into the head. Its exchange pattern applies to the feedback edge. 0, or -1 with
//  rill_env_error set: closed twice, feedback not downstream of the head or a union, a sink
//  or NULL.
RILL_EXPORT int rill_iteration_close(rill_iteration_t *self, rill_stream_t *feedback);
//  How many bytes of feedback each head subtask keeps in memory while its sends into the body
//  are blocked, beyond which it spills to a temporary file (> 0; default
//  RILL_ITERATION_DEFAULT_MEMORY). 0, or -1 with rill_env_error set.
RILL_EXPORT int rill_iteration_set_memory(rill_iteration_t *self, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
