/*  rill_iterate.c: the stream API of iterations (rill_iterate.h). An iteration handle is the
    head operator's own stream handle under another name; closing adds the feedback edge. The
    planner checks the loop (rill_plan_iteration.c); the subtasks run it
    (rill_subtask_iteration.c). */
#include "rill_iterate.h"
#include "rill_env_private.h"
#include "rill_graph_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The head operator behind an iteration handle, or -1 when it is not one.
static int s_head(rill_iteration_t *self)
{
    rill_stream_t *stream = (rill_stream_t *)self;
    rill_edge_spec_t part;
    if (rill_stream_part_count(stream) != 1 || rill_stream_part_edge(stream, 0, -1, &part))
        return -1;
    const rill_operator_spec_t *spec =
        rill_graph_operator(rill_env_graph(rill_stream_env(stream)), part.from);
    return spec && spec->kind == RILL_OP_ITERATION ? part.from : -1;
}

rill_iteration_t *rill_stream_iterate(rill_stream_t *in)
{
    //  The head never chains: its subtask loop is its own (feedback first, probes).
    rill_operator_spec_t spec = {.kind = RILL_OP_ITERATION, .chaining = RILL_CHAIN_NEVER};
    return (rill_iteration_t *)rill_env_apply(in, &spec, "iterate");
}

int rill_iteration_set_memory(rill_iteration_t *self, size_t bytes)
{
    if (!self)
        return -1;
    rill_env_t *env = rill_stream_env((rill_stream_t *)self);
    int head = s_head(self);
    if (head < 0 || rill_graph_set_park_bytes(rill_env_graph(env), head, bytes)) {
        rill_env_fail(env, head < 0 ? "iteration_set_memory: the handle is not an iteration"
                                    : "iteration_set_memory: the memory bound must be > 0");
        return -1;
    }
    return 0;
}

rill_stream_t *rill_iteration_stream(rill_iteration_t *self)
{
    return (rill_stream_t *)self;
}

//  Whether operator `to` is downstream of `from` (along edges that exist so far); -1 when
//  out of memory.
static int s_downstream(const rill_graph_t *graph, int from, int to)
{
    int count = rill_graph_operator_count(graph);
    bool *reached = calloc((size_t)count + 1, sizeof(bool));
    if (!reached)
        return -1;
    reached[from] = true;
    for (bool changed = true; changed;) {
        changed = false;
        for (int e = 0; e < rill_graph_edge_count(graph); e++) {
            const rill_edge_spec_t *edge = rill_graph_edge(graph, e);
            if (!edge->feedback && reached[edge->from] && !reached[edge->to])
                reached[edge->to] = changed = true;
        }
    }
    int downstream = reached[to] && to != from;
    free(reached);
    return downstream;
}

int rill_iteration_close(rill_iteration_t *self, rill_stream_t *feedback)
{
    if (!self)
        return -1;
    rill_env_t *env = rill_stream_env((rill_stream_t *)self);
    rill_graph_t *graph = rill_env_graph(env);
    char why[256];
    int head = s_head(self);
    if (head < 0) {
        rill_env_fail(env, "iteration_close: the handle is not an iteration (rill_stream_iterate)");
        return -1;
    }
    const char *name = rill_graph_operator(graph, head)->name;
    name = name && *name ? name : "iterate()";
    for (int e = 0; e < rill_graph_edge_count(graph); e++)
        if (rill_graph_edge(graph, e)->feedback && rill_graph_edge(graph, e)->to == head) {
            snprintf(why, sizeof why, "iteration_close: iteration '%s' is closed already", name);
            rill_env_fail(env, why);
            return -1;
        }
    if (!feedback) {
        snprintf(why, sizeof why, "iteration_close: iteration '%s': no feedback stream", name);
        rill_env_fail(env, why);
        return -1;
    }
    rill_edge_spec_t edge;
    const char *view = rill_stream_view(feedback);
    if (view && strcmp(view, "a sink") == 0) {
        snprintf(why, sizeof why,
                 "iteration_close: iteration '%s': the feedback stream is %s, which has no "
                 "output to feed back",
                 name, view);
        rill_env_fail(env, why);
        return -1;
    }
    if (rill_stream_part_count(feedback) != 1 || rill_stream_part_edge(feedback, 0, head, &edge)) {
        snprintf(why, sizeof why,
                 "iteration_close: iteration '%s': the feedback stream must come from one "
                 "operator (not a union)",
                 name);
        rill_env_fail(env, why);
        return -1;
    }
    int downstream = s_downstream(graph, head, edge.from);
    if (downstream < 0) {
        rill_env_fail(env, "out of memory");
        return -1;
    }
    if (!downstream) {
        const char *from = rill_graph_operator(graph, edge.from)->name;
        snprintf(why, sizeof why,
                 "iteration_close: iteration '%s': the feedback stream (from operator %d%s%s) "
                 "is not downstream of the head; build it on rill_iteration_stream",
                 name, edge.from, from ? ", " : "", from ? from : "");
        rill_env_fail(env, why);
        return -1;
    }
    edge.feedback = true;
    if (rill_graph_add_edge(graph, &edge) < 0) {
        rill_env_fail(env, "out of memory");
        return -1;
    }
    return 0;
}
