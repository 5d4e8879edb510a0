/*  rill_operator_registry.h: the operator registry (rill_operator_registry.c): makes the
    operator of a plan operator's kind for one subtask. The subtask actor includes it; the
    operators (actors/operators/, a layer below) do not: each only implements its constructor
    below, against rill_operator.h. */
#ifndef RILL_OPERATOR_REGISTRY_H_INCLUDED
#define RILL_OPERATOR_REGISTRY_H_INCLUDED

#include "rill_operator.h"

//  Creates the operator for subtask `index` of plan operator `op`, opening what it needs
//  (files). NULL with error filled (at least 256 bytes) when it cannot.
rill_operator_t *rill_operator_new(const rill_plan_t *plan, int op, int index, char *error,
                                   size_t error_size);
//  Closes the operator's kind, frees it and sets the caller's pointer to NULL.
void rill_operator_destroy(rill_operator_t **self_p);

//  Each kind's constructor fills vtable and state; 0 or -1 with self->error set.
int rill_op_text_file_open(rill_operator_t *self);
int rill_op_generator_open(rill_operator_t *self);
int rill_op_user_source_open(rill_operator_t *self);
int rill_op_transform_open(rill_operator_t *self);
int rill_op_reduce_open(rill_operator_t *self);
int rill_op_sink_open(rill_operator_t *self);
int rill_op_timestamps_open(rill_operator_t *self);
int rill_op_window_open(rill_operator_t *self);
int rill_op_process_open(rill_operator_t *self);
int rill_op_iteration_head_open(rill_operator_t *self);
int rill_op_directory_open(rill_operator_t *self);
int rill_op_rolling_sink_open(rill_operator_t *self);
//  In actors/kafka/ (the layer that links librdkafka).
int rill_op_kafka_source_open(rill_operator_t *self);
int rill_op_kafka_sink_open(rill_operator_t *self);

#endif
