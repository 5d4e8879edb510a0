/*  rill_operator_registry.c: the operator registry: picks the vtable for an operator kind and
    opens it for one subtask (the subtask actor, rill_subtask.c, then drives it). It sits in
    actors/, above the operators it names; the operators themselves never include it. */
#include "rill_operator_registry.h"
#include "rill_buffer_private.h"
#include "rill_graph_private.h"
#include "rill_operator.h"
#include "rill_plan_private.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

rill_operator_t *rill_operator_new(const rill_plan_t *plan, int op, int index, char *error,
                                   size_t error_size)
{
    //  The subtask actor asks only for subtasks of the plan it runs.
    assert(plan && error && op >= 0 && op < rill_plan_operator_count(plan));
    assert(index >= 0 && index < rill_plan_operator(plan, op)->parallelism);
    rill_operator_t *self = calloc(1, sizeof(rill_operator_t));
    if (!self || !(self->scratch = rill_buffer_new())) {
        snprintf(error, error_size, "out of memory");
        free(self);
        return NULL;
    }
    self->plan = plan;
    self->spec = rill_graph_operator(rill_plan_graph(plan), op);
    self->op = rill_plan_operator(plan, op);
    self->index = index;
    self->mode = rill_plan_mode(plan);
    self->ctx = self->spec->ctx;
    int rc;
    switch (self->spec->kind) {
    case RILL_OP_SOURCE_FILE:
        rc = rill_op_text_file_open(self);
        break;
    case RILL_OP_SOURCE_GENERATOR:
        rc = rill_op_generator_open(self);
        break;
    case RILL_OP_SOURCE_USER:
        rc = rill_op_user_source_open(self);
        break;
    case RILL_OP_MAP:
    case RILL_OP_FILTER:
    case RILL_OP_FLAT_MAP:
        rc = rill_op_transform_open(self);
        break;
    case RILL_OP_REDUCE:
        rc = rill_op_reduce_open(self);
        break;
    case RILL_OP_SINK_PRINT:
    case RILL_OP_SINK_COLLECT:
    case RILL_OP_SINK_DISCARD:
        rc = rill_op_sink_open(self);
        break;
    case RILL_OP_TIMESTAMPS:
        rc = rill_op_timestamps_open(self);
        break;
    case RILL_OP_WINDOW:
        rc = rill_op_window_open(self);
        break;
    case RILL_OP_PROCESS:
        rc = rill_op_process_open(self);
        break;
    case RILL_OP_ITERATION:
        rc = rill_op_iteration_head_open(self);
        break;
    case RILL_OP_SOURCE_DIRECTORY:
        rc = rill_op_directory_open(self);
        break;
    case RILL_OP_SINK_ROLLING:
        rc = rill_op_rolling_sink_open(self);
        break;
    case RILL_OP_SOURCE_KAFKA:
        rc = rill_op_kafka_source_open(self);
        break;
    case RILL_OP_SINK_KAFKA:
        rc = rill_op_kafka_sink_open(self);
        break;
    default:
        snprintf(self->error, sizeof self->error, "unknown operator kind %d", self->spec->kind);
        rc = -1;
    }
    if (rc) {
        snprintf(error, error_size, "%s", self->error);
        rill_operator_destroy(&self);
        return NULL;
    }
    return self;
}

void rill_operator_destroy(rill_operator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_operator_t *self = *self_p;
    rill_operator_close_user(self);
    if (self->vtable && self->vtable->close)
        self->vtable->close(self);
    rill_buffer_destroy(&self->scratch);
    free(self);
    *self_p = NULL;
}
