/*  rill_plan_iteration.c: the planner's part of iterations (rill_iterate.h). The stream API
    leaves, per iteration, a head operator (RILL_OP_ITERATION) and one edge marked feedback from
    the loop's tail back to that head. Here the loop is found (the operators downstream of the
    head that reach the tail), checked (only stateless record-at-a-time operators inside, fed
    from inside only), and its edges marked, so the subtasks know where the termination
    probes travel (rill_subtask_iteration.c). */
#include "rill_graph_private.h"
#include "rill_plan_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int s_error(char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(error, error_size, format, args);
        va_end(args);
    }
    return -1;
}

//  Marks in `seen` every operator reachable from `start` along non-feedback edges, forward
//  (downstream) or backward (upstream).
static void s_reach(const rill_plan_t *self, const rill_graph_t *graph, int start, bool forward,
                    bool *seen, int *stack)
{
    int depth = 0;
    seen[start] = true;
    stack[depth++] = start;
    while (depth > 0) {
        int op = stack[--depth];
        for (int e = 0; e < self->edge_count; e++) {
            const rill_plan_edge_t *edge = &self->edges[e];
            if (rill_graph_edge(graph, e)->feedback)
                continue;
            int from = forward ? edge->from : edge->to;
            int to = forward ? edge->to : edge->from;
            if (from == op && !seen[to]) {
                seen[to] = true;
                stack[depth++] = to;
            }
        }
    }
}

//  Whether records of one sender reach every receiver of the edge: what the probes need on
//  the feedback edge, so that every head subtask hears from every tail subtask.
static bool s_reaches_all(rill_pattern_t pattern)
{
    return pattern != RILL_PATTERN_FORWARD && pattern != RILL_PATTERN_RESCALE &&
           pattern != RILL_PATTERN_GLOBAL;
}

static int s_check_loop(rill_plan_t *self, const rill_graph_t *graph, int head, int *owner,
                        bool *down, bool *up, int *stack, char *error, size_t error_size)
{
    const rill_plan_operator_t *op = &self->operators[head];
    int feedback = -1;
    for (int e = 0; e < self->edge_count; e++)
        if (self->edges[e].to == head && rill_graph_edge(graph, e)->feedback) {
            if (feedback >= 0)
                return s_error(error, error_size,
                               "iteration '%s': closed more than once (one feedback stream "
                               "per iteration)",
                               op->name);
            feedback = e;
        }
    if (feedback < 0)
        return s_error(error, error_size,
                       "iteration '%s': never closed (call rill_iteration_close with the "
                       "stream that goes back to the head)",
                       op->name);
    if (op->input_count < 2)
        return s_error(error, error_size, "iteration '%s': has no input besides its feedback",
                       op->name);
    rill_plan_edge_t *back = &self->edges[feedback];
    int tail = back->from;
    const rill_plan_operator_t *tail_op = &self->operators[tail];
    for (int id = 0; id < self->operator_count; id++)
        down[id] = up[id] = false;
    s_reach(self, graph, head, true, down, stack);
    s_reach(self, graph, tail, false, up, stack);
    if (tail == head || !down[tail])
        return s_error(error, error_size,
                       "iteration '%s': its feedback stream comes from '%s', which is not "
                       "downstream of the head (build the loop body on "
                       "rill_iteration_stream and close it with a stream made from that)",
                       op->name, tail_op->name);
    const rill_edge_spec_t *back_spec = rill_graph_edge(graph, feedback);
    if (back_spec->output_tag != RILL_OUTPUT_MAIN)
        return s_error(error, error_size,
                       "iteration '%s': the feedback stream must be a main output", op->name);
    //  The probes must reach every head subtask from every tail subtask: a feedback edge
    //  with no pattern of its own redistributes, one that does not reach every head is refused.
    if (back_spec->pattern == RILL_PATTERN_DEFAULT)
        back->pattern = op->parallelism == 1 && tail_op->parallelism == 1 ? RILL_PATTERN_FORWARD
                                                                          : RILL_PATTERN_REBALANCE;
    else if (op->parallelism > 1 && !s_reaches_all(back->pattern))
        return s_error(error, error_size,
                       "iteration '%s': its feedback stream from '%s' is %s, which does not "
                       "reach every one of the head's %d subtasks (use rebalance, shuffle, "
                       "key_by, broadcast or a custom partitioner, or give it no pattern: "
                       "rebalance)",
                       op->name, tail_op->name, rill_pattern_name(back->pattern), op->parallelism);
    bool forward = back->pattern == RILL_PATTERN_FORWARD;
    back->sender_socket = forward ? "PAIR" : "ROUTER";
    back->receiver_socket = forward ? "PAIR" : "DEALER";
    back->feedback = back->iteration = true;
    for (int id = 0; id < self->operator_count; id++) {
        if (!down[id] || !up[id] || id == head)
            continue;
        const rill_plan_operator_t *inside = &self->operators[id];
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        if (owner[id] >= 0)
            return s_error(error, error_size,
                           "operator '%s': lies inside two iterations ('%s' and '%s'); loops "
                           "cannot share operators",
                           inside->name, self->operators[owner[id]].name, op->name);
        owner[id] = head;
        bool stateless = (inside->kind == RILL_OP_MAP || inside->kind == RILL_OP_FILTER ||
                          inside->kind == RILL_OP_FLAT_MAP) &&
                         !spec->first_inputs;
        if (!stateless)
            return s_error(error, error_size,
                           "operator '%s' (%s): lies inside iteration '%s', where only map, "
                           "filter and flat_map may run (an operator that holds records until "
                           "its input ends would never see the end of a loop)",
                           inside->name, inside->kind_name, op->name);
        for (int e = 0; e < self->edge_count; e++)
            if (self->edges[e].to == id && !(down[self->edges[e].from] && up[self->edges[e].from]))
                return s_error(error, error_size,
                               "operator '%s': lies inside iteration '%s' but also takes input "
                               "from '%s', outside the loop (records enter a loop through its "
                               "head only: union them into the head's input)",
                               inside->name, op->name, self->operators[self->edges[e].from].name);
    }
    for (int e = 0; e < self->edge_count; e++) {
        rill_plan_edge_t *edge = &self->edges[e];
        if (edge->from != tail || e == feedback)
            continue;
        if (down[edge->to] && up[edge->to])
            return s_error(error, error_size,
                           "iteration '%s': its tail '%s' feeds '%s' inside the loop as well",
                           op->name, tail_op->name, self->operators[edge->to].name);
    }
    for (int e = 0; e < self->edge_count; e++) {
        rill_plan_edge_t *edge = &self->edges[e];
        if (down[edge->from] && up[edge->from] && down[edge->to] && up[edge->to] &&
            edge->to != head)
            edge->iteration = true;
        //  A subtask inside with no input would end at once, and a tail subtask that ended
        //  sends no probe: the rounds would wait for it for ever.
        if (edge->iteration && edge->pattern == RILL_PATTERN_GLOBAL &&
            self->operators[edge->to].parallelism > 1)
            return s_error(error, error_size,
                           "operator '%s': lies inside iteration '%s' behind a global stream, "
                           "which leaves its subtasks but the first with no input (give it "
                           "parallelism 1, or use another pattern)",
                           self->operators[edge->to].name, op->name);
    }
    return 0;
}

int rill_plan_iterations(rill_plan_t *self, const rill_graph_t *graph, char *error,
                         size_t error_size)
{
    for (int e = 0; e < self->edge_count; e++)
        if (rill_graph_edge(graph, e)->feedback &&
            self->operators[self->edges[e].to].kind != RILL_OP_ITERATION)
            return s_error(error, error_size,
                           "operator '%s': a feedback edge must go back to an iteration head",
                           self->operators[self->edges[e].to].name);
    int count = self->operator_count;
    int *owner = malloc(sizeof(int) * (size_t)count);
    bool *down = malloc(sizeof(bool) * (size_t)count);
    bool *up = malloc(sizeof(bool) * (size_t)count);
    int *stack = malloc(sizeof(int) * (size_t)count);
    int rc = 0;
    if (!owner || !down || !up || !stack)
        rc = s_error(error, error_size, "plan: out of memory");
    for (int id = 0; rc == 0 && id < count; id++)
        owner[id] = -1;
    for (int id = 0; rc == 0 && id < count; id++)
        if (self->operators[id].kind == RILL_OP_ITERATION)
            rc = s_check_loop(self, graph, id, owner, down, up, stack, error, error_size);
    free(owner);
    free(down);
    free(up);
    free(stack);
    return rc;
}

bool rill_plan_has_iteration(const rill_plan_t *self)
{
    for (int e = 0; e < self->edge_count; e++)
        if (self->edges[e].feedback)
            return true;
    return false;
}
