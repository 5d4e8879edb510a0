/*  rill_op_iteration_head.c: the operator of an iteration's head (rill_iterate.h). It hands
    every record it gets, from the loop's input or back from the feedback edge, into the loop
    body unchanged. What makes a head special (feedback read first and parked when the body is
    full, the termination probes) is the subtask loop's work (rill_subtask_iteration.c): the
    operator itself is the identity, so it keeps no state and needs no checkpoint hooks. */
#include "rill_operator.h"

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    (void)self;
    (void)input;
    return rill_collector_emit(out, record->data, record->size, record->timestamp);
}

static const rill_operator_vtable_t s_vtable = {.on_record = s_on_record};

int rill_op_iteration_head_open(rill_operator_t *self)
{
    self->vtable = &s_vtable;
    return 0;
}
