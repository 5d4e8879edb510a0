/*  rill_trace_analysis.h: what `rill trace` reads and works out of a trace file
    (runtime/channel/rill_trace.h has the format), as pure functions on arrays, so the join
    can be tested without running a job. A receiver's hop line says when the record was
    decoded and handled; the sender's line says when it went into a batch and when the batch
    left. Joined, a hop over a channel splits into waiting for the batch to fill (sent -
    batched), queueing (time_in - sent) and processing (time_out - time_in). */
#ifndef RILL_TRACE_ANALYSIS_H_INCLUDED
#define RILL_TRACE_ANALYSIS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_plan.h"

//  One hop: a subtask handled a traced record.
typedef struct {
    uint64_t trace;
    int subtask, op, index;
    int from; //  the sending subtask (-1 at a source)
    int edge; //  the edge it came over (-1 at a source)
    uint64_t in, out;
    char operator[64];
    //  From the plan (rill_trace_mark; false without one).
    bool chained;       //  a function call inside a task: no batch, no queue
    bool cross_process; //  sender and receiver in two processes: two clocks
    //  From the join (rill_trace_join).
    bool split;     //  fill and queue are known (a chained hop: both 0)
    int channel;    //  the plan channel it came over; -1 when chained, a source or unsplit
    uint64_t fill;  //  sent - batched
    uint64_t queue; //  time_in - sent; 0 when cross_process (clocks of two processes)
} rill_trace_hop_t;

//  The sender's side of a hop over a channel.
typedef struct {
    uint64_t trace;
    int subtask, to, channel;
    uint64_t batched, sent;
} rill_trace_send_t;

typedef enum {
    RILL_TRACE_LINE_HOP,
    RILL_TRACE_LINE_SENT,
    RILL_TRACE_LINE_HEADER,  //  {"rill_trace":1,"plan":...}
    RILL_TRACE_LINE_UNSPLIT, //  {"rill_trace_unsplit":N}: hops whose split was not kept
} rill_trace_line_kind_t;

typedef struct {
    rill_trace_line_kind_t kind;
    rill_trace_hop_t hop;   //  RILL_TRACE_LINE_HOP
    rill_trace_send_t sent; //  RILL_TRACE_LINE_SENT
    uint64_t unsplit;       //  RILL_TRACE_LINE_UNSPLIT
    json_t *plan;           //  RILL_TRACE_LINE_HEADER: its plan, a reference the caller drops
} rill_trace_line_t;

//  Reads one line of a trace file. 0, or -1 with why in error (not JSON, not a trace line).
int rill_trace_line_parse(const char *text, rill_trace_line_t *line, char *error,
                          size_t error_size);
//  Sets each hop's chained and cross_process from plan; hops naming subtasks or edges the
//  plan does not have are left as they are.
void rill_trace_mark(rill_trace_hop_t *hops, size_t count, const rill_plan_t *plan);
//  Sorts hops by trace and time_in, and sends by trace, ends and time sent, and gives every
//  hop over a channel its split: the hops of a trace from sender S at receiver R, in the
//  order they were decoded, take that trace's sender lines from S to R in the order they were
//  sent (a channel keeps its order), each the first one not taken that left before the hop
//  arrived (on one clock). When a batch overflowed its traced list (an unsplit line > 0) a
//  hop may pair with a later record's line. A chained hop splits with fill and queue 0.
//  *unsplit: hops over a channel with no sender line for them. 0, or -1 without memory.
int rill_trace_join(rill_trace_hop_t *hops, size_t count, rill_trace_send_t *sends,
                    size_t send_count, size_t *unsplit);

#endif
