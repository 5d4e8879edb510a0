/*  rill_trace_analysis.c: the lines of a trace file read into hops and sender lines, and the
    join that splits each hop over a channel (rill_trace_analysis.h). rill_cmd_trace.c prints
    and draws what comes out of here.

    Clocks: every time in a trace is the CLOCK_MONOTONIC of the process that wrote it. Fill is
    measured on the sender's clock alone and processing on the receiver's, so both hold on any
    hop; queueing subtracts the sender's clock from the receiver's, which only means something
    when both ran in one process (one host at least). A hop the plan places across processes
    keeps its fill and processing, and its queue is left at 0 and marked (cross_process). */
#include "rill_trace_analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_integer(json_t *object, const char *key, json_int_t *value)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_integer(member))
        return false;
    *value = json_integer_value(member);
    return true;
}

static int s_parse_hop(json_t *object, rill_trace_hop_t *hop)
{
    json_t *name = json_object_get(object, "operator");
    json_int_t trace, subtask, in, out = 0, op = -1, index = 0, from = -1, edge = -1;
    if (!json_is_string(name) || !s_integer(object, "trace", &trace) ||
        !s_integer(object, "subtask", &subtask) || !s_integer(object, "time_in", &in))
        return -1;
    s_integer(object, "time_out", &out);
    s_integer(object, "op", &op);
    s_integer(object, "index", &index);
    if (s_integer(object, "from", &from))
        s_integer(object, "edge", &edge);
    memset(hop, 0, sizeof *hop);
    hop->trace = (uint64_t)trace;
    hop->subtask = (int)subtask;
    hop->op = (int)op;
    hop->index = (int)index;
    hop->from = from >= 0 ? (int)from : -1;
    hop->edge = hop->from >= 0 ? (int)edge : -1;
    hop->in = (uint64_t)in;
    hop->out = (uint64_t)out;
    hop->channel = -1;
    snprintf(hop->operator, sizeof hop->operator, "%s", json_string_value(name));
    return 0;
}

static int s_parse_sent(json_t *object, rill_trace_send_t *sent)
{
    json_int_t trace, subtask, to, channel, batched, time;
    if (!s_integer(object, "trace", &trace) || !s_integer(object, "subtask", &subtask) ||
        !s_integer(object, "to", &to) || !s_integer(object, "channel", &channel) ||
        !s_integer(object, "batched", &batched) || !s_integer(object, "sent", &time))
        return -1;
    *sent = (rill_trace_send_t){(uint64_t)trace, (int)subtask,      (int)to,
                                (int)channel,    (uint64_t)batched, (uint64_t)time};
    return 0;
}

int rill_trace_line_parse(const char *text, rill_trace_line_t *line, char *error, size_t error_size)
{
    json_error_t json_error;
    json_t *object = json_loads(text, 0, &json_error);
    if (!object) {
        snprintf(error, error_size, "not JSON: %s", json_error.text);
        return -1;
    }
    int rc = 0;
    memset(line, 0, sizeof *line);
    json_int_t unsplit;
    if (json_object_get(object, "rill_trace")) {
        line->kind = RILL_TRACE_LINE_HEADER;
        line->plan = json_incref(json_object_get(object, "plan"));
    } else if (s_integer(object, "rill_trace_unsplit", &unsplit)) {
        line->kind = RILL_TRACE_LINE_UNSPLIT;
        line->unsplit = unsplit > 0 ? (uint64_t)unsplit : 0;
    } else if (json_object_get(object, "batched")) {
        line->kind = RILL_TRACE_LINE_SENT;
        rc = s_parse_sent(object, &line->sent);
    } else {
        line->kind = RILL_TRACE_LINE_HOP;
        rc = s_parse_hop(object, &line->hop);
    }
    if (rc)
        snprintf(error, error_size, "not a trace hop");
    json_decref(object);
    return rc;
}

void rill_trace_mark(rill_trace_hop_t *hops, size_t count, const rill_plan_t *plan)
{
    int subtasks = rill_plan_subtask_count(plan), edges = rill_plan_edge_count(plan);
    for (size_t i = 0; i < count; i++) {
        rill_trace_hop_t *hop = &hops[i];
        if (hop->from < 0 || hop->from >= subtasks || hop->subtask < 0 ||
            hop->subtask >= subtasks || hop->edge < 0 || hop->edge >= edges)
            continue;
        hop->chained = rill_plan_edge(plan, hop->edge)->chained;
        hop->cross_process = rill_plan_subtask(plan, hop->from)->process !=
                             rill_plan_subtask(plan, hop->subtask)->process;
    }
}

static int s_by_trace_in(const void *a, const void *b)
{
    const rill_trace_hop_t *x = a, *y = b;
    if (x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    return (x->in > y->in) - (x->in < y->in);
}

//  Sender lines by trace, sender, receiver, then the order they left in.
static int s_compare_sent(const rill_trace_send_t *x, const rill_trace_send_t *y)
{
    if (x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    if (x->subtask != y->subtask)
        return x->subtask < y->subtask ? -1 : 1;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    if (x->sent != y->sent)
        return x->sent < y->sent ? -1 : 1;
    return (x->batched > y->batched) - (x->batched < y->batched);
}

static int s_by_sent(const void *a, const void *b)
{
    return s_compare_sent(a, b);
}

//  The first sender line of (trace, from, to), or send_count when there is none.
static size_t s_first_sent(const rill_trace_send_t *sends, size_t send_count, uint64_t trace,
                           int from, int to)
{
    rill_trace_send_t key = {trace, from, to, 0, 0, 0};
    size_t lo = 0, hi = send_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_compare_sent(&sends[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int rill_trace_join(rill_trace_hop_t *hops, size_t count, rill_trace_send_t *sends,
                    size_t send_count, size_t *unsplit)
{
    bool *taken = calloc(send_count + 1, sizeof(bool));
    if (!taken)
        return -1;
    if (count > 1)
        qsort(hops, count, sizeof *hops, s_by_trace_in);
    if (send_count > 1)
        qsort(sends, send_count, sizeof *sends, s_by_sent);
    *unsplit = 0;
    for (size_t i = 0; i < count; i++) {
        rill_trace_hop_t *hop = &hops[i];
        hop->split = false;
        hop->channel = -1;
        hop->fill = hop->queue = 0;
        if (hop->from < 0)
            continue; //  a source: no hop before it
        if (hop->chained) {
            hop->split = true; //  a function call: no batch, no queue
            continue;
        }
        size_t s = s_first_sent(sends, send_count, hop->trace, hop->from, hop->subtask);
        for (; s < send_count && sends[s].trace == hop->trace && sends[s].subtask == hop->from &&
               sends[s].to == hop->subtask;
             s++) {
            //  On one clock a batch cannot leave after its record arrived: that line belongs
            //  to a later record of the trace.
            if (taken[s] || (!hop->cross_process && sends[s].sent > hop->in))
                continue;
            taken[s] = true;
            hop->split = true;
            hop->channel = sends[s].channel;
            hop->fill = sends[s].sent >= sends[s].batched ? sends[s].sent - sends[s].batched : 0;
            hop->queue = hop->cross_process ? 0 : hop->in - sends[s].sent;
            break;
        }
        if (!hop->split)
            (*unsplit)++;
    }
    free(taken);
    return 0;
}
