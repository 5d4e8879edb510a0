/*  rill_trace.h: record tracing. Sources mark one record in `sample` with a trace id; the id
    travels with the record (rill_frame.h) and with whatever an operator emits while handling
    it; every subtask that handles a traced record writes one hop as a JSON line:
        {"trace":T,"subtask":S,"operator":"map()","op":1,"index":0,"from":F,"edge":E,
         "time_in":NS,"time_out":NS}
    from/edge: the sending subtask and the edge it came over (null at a source); times are
    CLOCK_MONOTONIC nanoseconds: in = decoded (or made, at a source), out = handled. The first
    line is {"rill_trace":1,"plan":PLAN} with the plan as rill_plan_to_json writes it.
    The sender's side of a hop over a channel is a line of its own, written by the sending
    subtask's writer when the batch holding the traced record is sent (one per receiver of a
    broadcast):
        {"trace":T,"subtask":S,"to":R,"channel":C,"batched":NS,"sent":NS}
    R: the receiving subtask, C: the plan's channel id, batched: the record went into the
    batch, sent: the batch was handed to ZeroMQ. So a hop splits into waiting for the batch to
    fill (sent - batched), queueing (the receiver's time_in - sent) and processing (time_out -
    time_in). A batch keeps the split of at most RILL_TRACE_PER_BATCH traced records; the
    hops of any more have no sender line, and the last line of the file counts them:
        {"rill_trace_unsplit":N}
    A chained hop (a function call inside a task) has no batch and no sender line. Each
    process's clock is its own: a hop between two hosts cannot be split at the queue.
    Internal: rill_env_set_trace is the public way in. */
#ifndef RILL_TRACE_H_INCLUDED
#define RILL_TRACE_H_INCLUDED

#include <stdio.h>

#include "rill_graph_private.h"
#include "rill_plan.h"

typedef struct rill_trace_t rill_trace_t;

//  Writes hops to out (not owned) for the subtasks of plan; sample >= 1.
rill_trace_t *rill_trace_new(FILE *out, uint64_t sample, const rill_plan_t *plan);
void rill_trace_destroy(rill_trace_t **self_p);
uint64_t rill_trace_sample(const rill_trace_t *self);
//  A new trace id for the n-th sampled record of a source subtask (never 0).
static inline uint64_t rill_trace_id(int subtask, uint64_t n)
{
    return ((uint64_t)(subtask + 1) << 40) | (n & ((1ull << 40) - 1));
}
//  Records one hop; called only by the thread of `subtask` (each subtask has its own buffer).
//  from_subtask and edge are -1 at a source. Everything is in the file once the trace is
//  destroyed.
void rill_trace_hop(rill_trace_t *self, uint64_t trace, int subtask, int from_subtask, int edge,
                    uint64_t time_in, uint64_t time_out);

//  Traced records whose batch-fill and send times one batch keeps (rill_writer.c).
#define RILL_TRACE_PER_BATCH 16
//  Records the sender's side of a hop: traced record `trace` went into a batch of `subtask`
//  on `channel` to subtask `to` at `batched`, and the batch left at `sent`. Called only by
//  the thread of `subtask`, as rill_trace_hop.
void rill_trace_sent(rill_trace_t *self, uint64_t trace, int subtask, int to, int channel,
                     uint64_t batched, uint64_t sent);
//  Counts hops whose split was not kept (a batch held more than RILL_TRACE_PER_BATCH traced
//  records); any thread.
void rill_trace_unsplit(rill_trace_t *self, uint64_t hops);

#endif
