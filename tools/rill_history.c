/*  rill_history.c: see the header. Samples are stored as one row of points per sample; the
    plan (its subtask count) is taken from the first metrics seen. */
#include "rill_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FIRST_INTERVAL_NS 100000000ull //  100 ms, doubled as the samples fill up
#define S_MAX_EVENTS 1024

struct rill_history_t {
    int subtasks;
    int count;
    uint64_t interval_ns;
    uint64_t last_ns;
    uint64_t times[RILL_HISTORY_SAMPLES];
    rill_history_point_t *points; //  RILL_HISTORY_SAMPLES rows of `subtasks` points
    bool *finished;               //  by subtask: its end was noted
    int64_t checkpoint;           //  the latest completed checkpoint noted
    rill_history_event_t events[S_MAX_EVENTS];
    int event_count;
};

rill_history_t *rill_history_new(void)
{
    rill_history_t *self = calloc(1, sizeof(rill_history_t));
    if (self)
        self->interval_ns = S_FIRST_INTERVAL_NS;
    return self;
}

void rill_history_destroy(rill_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->points);
    free((*self_p)->finished);
    free(*self_p);
    *self_p = NULL;
}

//  A new event at at_ns; its text to fill in (NULL when the list is full).
static char *s_event(rill_history_t *self, uint64_t at_ns)
{
    if (self->event_count == S_MAX_EVENTS)
        return NULL;
    rill_history_event_t *event = &self->events[self->event_count++];
    event->at_ns = at_ns;
    return event->what;
}

void rill_history_add(rill_history_t *self, const rill_metrics_t *metrics, bool final)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    int subtasks = rill_plan_subtask_count(plan);
    if (!self->points) {
        self->points = calloc((size_t)RILL_HISTORY_SAMPLES * (size_t)subtasks + 1,
                              sizeof(rill_history_point_t));
        self->finished = calloc((size_t)subtasks + 1, sizeof(bool));
        if (!self->points || !self->finished)
            return;
        self->subtasks = subtasks;
    }
    if (subtasks != self->subtasks)
        return; //  another plan: not this run's
    uint64_t now = rill_metrics_duration_ns(metrics);
    //  Events: subtasks that finished, checkpoints that completed, since the last call.
    for (int i = 0; i < subtasks; i++) {
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        if (m.finished && !self->finished[i]) {
            self->finished[i] = true;
            const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
            const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
            char *what = s_event(self, now);
            if (what)
                snprintf(what, sizeof self->events[0].what, "'%s' [%d/%d] finished", op->name,
                         s->index + 1, op->parallelism);
        }
    }
    rill_checkpoint_stats_t checkpoints = rill_metrics_checkpoints(metrics);
    if (checkpoints.enabled && checkpoints.latest > self->checkpoint) {
        self->checkpoint = checkpoints.latest;
        char *what = s_event(self, now);
        if (what)
            snprintf(what, sizeof self->events[0].what, "checkpoint %lld completed",
                     (long long)checkpoints.latest);
    }
    if (!final && self->count && now - self->last_ns < self->interval_ns)
        return;
    //  Full: keep every other sample, and sample half as often from now on.
    if (self->count == RILL_HISTORY_SAMPLES) {
        for (int k = 0; k < RILL_HISTORY_SAMPLES / 2; k++) {
            self->times[k] = self->times[2 * k + 1];
            memcpy(&self->points[(size_t)k * (size_t)subtasks],
                   &self->points[(size_t)(2 * k + 1) * (size_t)subtasks],
                   (size_t)subtasks * sizeof(rill_history_point_t));
        }
        self->count = RILL_HISTORY_SAMPLES / 2;
        self->interval_ns *= 2;
    }
    rill_history_point_t *row = &self->points[(size_t)self->count * (size_t)subtasks];
    for (int i = 0; i < subtasks; i++) {
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        row[i] = (rill_history_point_t){m.records_in, m.records_out, m.busy_ns, m.backpressure_ns};
    }
    self->times[self->count++] = now;
    self->last_ns = now;
}

int rill_history_samples(const rill_history_t *self)
{
    return self->count;
}

uint64_t rill_history_time(const rill_history_t *self, int sample)
{
    return self->times[sample];
}

rill_history_point_t rill_history_point(const rill_history_t *self, int sample, int subtask)
{
    return self->points[(size_t)sample * (size_t)self->subtasks + (size_t)subtask];
}

int rill_history_events(const rill_history_t *self)
{
    return self->event_count;
}

const rill_history_event_t *rill_history_event(const rill_history_t *self, int index)
{
    return &self->events[index];
}
