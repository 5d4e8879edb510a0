/*  rill_op_transform.c: the stateless record-at-a-time operators: map, filter, flat_map, and
    co_map and co_flat_map on two connected streams (a function for each).
    Each calls the user function once per record; map writes into the subtask's reused
    scratch buffer, so nothing is allocated per record. They keep no state between records,
    so they have no checkpoint hooks (what a user function keeps to itself is not saved). */
#include "rill_operator.h"
#include "rill_buffer_private.h"

#include <errno.h>
#include <stdio.h>

//  A user function failed. Out of memory (its output buffer, or its own malloc, left errno
//  ENOMEM) is told apart from the function's own reasons: the remedy differs.
static int s_failed(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error, "%s",
             errno == ENOMEM ? "out of memory in the user function (or its output buffer)"
                             : "user function failed");
    return -1;
}

static int s_map(rill_operator_t *self, const rill_record_t *record, int input,
                 rill_collector_t *out)
{
    rill_buffer_reset(self->scratch);
    errno = 0;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    //  co_map: the second stream's records go to the second function.
    rill_map_fn fn = self->spec->first_inputs && input >= self->spec->first_inputs
                         ? self->spec->fn2.map
                         : self->spec->fn.map;
    int rc = fn(record, self->scratch, self->ctx);
    rill_busy_split_user_end(self->busy_split, timed);
    if (rc)
        return s_failed(self);
    return rill_collector_emit(out, self->scratch->data, self->scratch->size, record->timestamp);
}

static int s_filter(rill_operator_t *self, const rill_record_t *record, int input,
                    rill_collector_t *out)
{
    errno = 0;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    int keep = self->spec->fn.filter(record, self->ctx);
    rill_busy_split_user_end(self->busy_split, timed);
    if (keep < 0)
        return s_failed(self);
    return keep ? rill_collector_emit(out, record->data, record->size, record->timestamp) : 0;
}

static int s_flat_map(rill_operator_t *self, const rill_record_t *record, int input,
                      rill_collector_t *out)
{
    errno = 0;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    rill_collector_inherit(out, record->timestamp);
    rill_flat_map_fn fn = self->spec->first_inputs && input >= self->spec->first_inputs
                              ? self->spec->fn2.flat_map
                              : self->spec->fn.flat_map;
    int rc = fn(record, out, self->ctx);
    rill_collector_inherit_end(out);
    rill_busy_split_user_end(self->busy_split, timed);
    if (rc)
        return out->stopping ? -1 : s_failed(self);
    return 0;
}

static const rill_operator_vtable_t s_map_vtable = {.on_record = s_map};
static const rill_operator_vtable_t s_filter_vtable = {.on_record = s_filter};
static const rill_operator_vtable_t s_flat_map_vtable = {.on_record = s_flat_map};

int rill_op_transform_open(rill_operator_t *self)
{
    switch (self->spec->kind) {
    case RILL_OP_MAP: self->vtable = &s_map_vtable; break;
    case RILL_OP_FILTER: self->vtable = &s_filter_vtable; break;
    default: self->vtable = &s_flat_map_vtable; break;
    }
    return 0;
}
