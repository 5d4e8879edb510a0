/*  rill_metrics.c: the counters' storage, one slot per subtask and per channel of a plan.
    Each slot has one writer (its subtask); readers copy fields with relaxed atomic loads. */
#include "rill_metrics_private.h"

#include <assert.h>
#include <stdlib.h>

struct rill_metrics_t {
    const rill_plan_t *plan;
    rill_plan_t *owned_plan; //  the same plan, when these counters were read from a file
    rill_subtask_metrics_t *subtasks;
    rill_channel_metrics_t *channels;
    uint64_t duration_ns;
    rill_checkpoint_stats_t checkpoints; //  written and read by the job's thread only
};

rill_metrics_t *rill_metrics_new(const rill_plan_t *plan)
{
    rill_metrics_t *self = calloc(1, sizeof(rill_metrics_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->subtasks = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(*self->subtasks));
    self->channels = calloc((size_t)rill_plan_channel_count(plan) + 1, sizeof(*self->channels));
    if (!self->subtasks || !self->channels)
        rill_metrics_destroy(&self);
    return self;
}

void rill_metrics_destroy(rill_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->subtasks);
    free((*self_p)->channels);
    rill_plan_destroy(&(*self_p)->owned_plan);
    free(*self_p);
    *self_p = NULL;
}

void rill_metrics_adopt_plan(rill_metrics_t *self, rill_plan_t **plan_p)
{
    assert(*plan_p == self->plan && !self->owned_plan);
    self->owned_plan = *plan_p;
    *plan_p = NULL;
}

const rill_plan_t *rill_metrics_plan(const rill_metrics_t *self)
{
    return self->plan;
}

rill_subtask_metrics_t rill_metrics_subtask(const rill_metrics_t *self, int subtask)
{
    const rill_subtask_metrics_t *slot = &self->subtasks[subtask];
    rill_subtask_metrics_t copy = {
        .records_in = RILL_COUNTER_GET(slot->records_in),
        .records_out = RILL_COUNTER_GET(slot->records_out),
        .bytes_in = RILL_COUNTER_GET(slot->bytes_in),
        .bytes_out = RILL_COUNTER_GET(slot->bytes_out),
        .batches_in = RILL_COUNTER_GET(slot->batches_in),
        .batches_out = RILL_COUNTER_GET(slot->batches_out),
        .busy_ns = RILL_COUNTER_GET(slot->busy_ns),
        .idle_ns = RILL_COUNTER_GET(slot->idle_ns),
        .backpressure_ns = RILL_COUNTER_GET(slot->backpressure_ns),
        .finished = RILL_COUNTER_GET(slot->finished),
        .checkpoint = RILL_COUNTER_GET(slot->checkpoint),
        .checkpoint_alignment_ns = RILL_COUNTER_GET(slot->checkpoint_alignment_ns),
        .checkpoint_sync_ns = RILL_COUNTER_GET(slot->checkpoint_sync_ns),
        .checkpoint_bytes = RILL_COUNTER_GET(slot->checkpoint_bytes),
        .checkpoint_acked_ms = RILL_COUNTER_GET(slot->checkpoint_acked_ms),
    };
    return copy;
}

rill_channel_metrics_t rill_metrics_channel(const rill_metrics_t *self, int channel)
{
    const rill_channel_metrics_t *slot = &self->channels[channel];
    rill_channel_metrics_t copy = {
        .records = RILL_COUNTER_GET(slot->records),
        .bytes = RILL_COUNTER_GET(slot->bytes),
        .batches = RILL_COUNTER_GET(slot->batches),
        .records_received = RILL_COUNTER_GET(slot->records_received),
    };
    return copy;
}

rill_subtask_metrics_t *rill_metrics_subtask_slot(rill_metrics_t *self, int subtask)
{
    assert(self && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    return &self->subtasks[subtask];
}

rill_channel_metrics_t *rill_metrics_channel_slot(rill_metrics_t *self, int channel)
{
    assert(self && channel >= 0 && channel < rill_plan_channel_count(self->plan));
    return &self->channels[channel];
}

uint64_t rill_metrics_duration_ns(const rill_metrics_t *self)
{
    return RILL_COUNTER_GET(self->duration_ns);
}

void rill_metrics_set_duration_ns(rill_metrics_t *self, uint64_t ns)
{
    __atomic_store_n(&self->duration_ns, ns, __ATOMIC_RELAXED);
}

rill_checkpoint_stats_t rill_metrics_checkpoints(const rill_metrics_t *self)
{
    return self->checkpoints;
}

void rill_metrics_set_checkpoints(rill_metrics_t *self, const rill_checkpoint_stats_t *stats)
{
    self->checkpoints = *stats;
}
