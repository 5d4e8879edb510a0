/*  rill_op_timestamps.c: the timestamp assigner and watermark generator. Sets each record's
    event time with the user's function and makes watermarks with bounded out-of-orderness:
    watermark = highest timestamp seen - out_of_orderness - 1. They are emitted after every
    advancing record (interval 0) or every interval ms, and the subtask is marked idle when no
    record came for idle_timeout ms. Incoming watermarks are not passed on: this operator
    makes its own (the subtask knows). With watermark alignment (rill_watermark_alignment.h)
    it publishes its watermark to the job's group and asks the subtask to stop reading while
    it runs too far ahead of the slowest member; its source then waits on backpressure. */
#include "rill_clock.h"
#include "rill_operator.h"
#include "rill_time_math.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

//  Checkpoints: no snapshot or restore hooks, on purpose (as Flink's bounded-out-of-orderness
//  generator, which keeps nothing in state either). The highest timestamp regenerates from the
//  records the sources replay after the checkpoint; until it catches up the watermark sent
//  downstream is lower than before, which the windows and process functions absorb with the
//  watermark floor they restore (rill_keyed_snapshot.h). The rest is wall-clock pacing, the
//  alignment group's view (rebuilt as members publish again) and a counter.
typedef struct {
    int64_t highest;        //  highest timestamp seen
    int64_t emitted;        //  last watermark sent
    int64_t next_emit;      //  wall ms of the next periodic emission
    int64_t last_record;    //  wall ms of the last record (idleness)
    bool idle;
    bool paused;            //  watermark alignment holds the input back
    int64_t recheck;        //  wall ms of the next look at the group while paused
    uint64_t dropped;       //  records whose time could not be read
} s_timestamps_t;

static int64_t s_watermark(rill_operator_t *self, s_timestamps_t *state)
{
    if (state->highest == INT64_MIN)
        return INT64_MIN;
    //  Saturated: a timestamp near INT64_MIN must not wrap the watermark to near +inf.
    return rill_time_sub(rill_time_sub(state->highest, self->spec->watermarks.out_of_orderness), 1);
}

static int s_emit_watermark(rill_operator_t *self, s_timestamps_t *state, rill_collector_t *out)
{
    int64_t watermark = s_watermark(self, state);
    if (watermark <= state->emitted)
        return 0;
    state->emitted = watermark;
    return rill_collector_watermark(out, watermark);
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_timestamps_t *state = self->state;
    int64_t timestamp = record->timestamp;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    int rc = self->spec->fn.timestamp(record, &timestamp, self->ctx);
    rill_busy_split_user_end(self->busy_split, timed);
    if (rc < 0) {
        snprintf(self->error, sizeof self->error, "timestamp function failed");
        return -1;
    }
    if (rc > 0) {
        state->dropped++;
        return 0;
    }
    if (self->spec->watermarks.idle_timeout_ms > 0) {
        state->last_record = rill_operator_now_ms(self);
        if (state->idle && self->alignment)
            rill_watermark_alignment_set_active(self->alignment, self->alignment_member, true);
        state->idle = false;
    }
    if (timestamp > state->highest)
        state->highest = timestamp;
    if (rill_collector_emit(out, record->data, record->size, timestamp))
        return -1;
    return self->spec->watermarks.interval_ms == 0 ? s_emit_watermark(self, state, out) : 0;
}

static int64_t s_next_tick(rill_operator_t *self)
{
    s_timestamps_t *state = self->state;
    const rill_watermarks_t *strategy = &self->spec->watermarks;
    int64_t next = INT64_MAX;
    if (strategy->interval_ms > 0)
        next = state->next_emit;
    if (state->paused && state->recheck < next)
        next = state->recheck;
    //  A paused subtask gets no records by its own choice: that is not idleness.
    if (strategy->idle_timeout_ms > 0 && !state->idle && !state->paused) {
        int64_t idle_at = rill_time_add(state->last_record, strategy->idle_timeout_ms);
        next = idle_at < next ? idle_at : next;
    }
    return next;
}

static int s_on_tick(rill_operator_t *self, int64_t now, rill_collector_t *out)
{
    s_timestamps_t *state = self->state;
    const rill_watermarks_t *strategy = &self->spec->watermarks;
    if (strategy->interval_ms > 0 && now >= state->next_emit) {
        state->next_emit = rill_time_add(now, strategy->interval_ms);
        if (s_emit_watermark(self, state, out))
            return -1;
    }
    if (strategy->idle_timeout_ms > 0 && !state->idle && !state->paused &&
        now >= rill_time_add(state->last_record, strategy->idle_timeout_ms)) {
        state->idle = true;
        //  Flink: an idle split does not hold its alignment group back either.
        if (self->alignment)
            rill_watermark_alignment_set_active(self->alignment, self->alignment_member, false);
        return rill_collector_idle(out);
    }
    return 0;
}

//  Watermark alignment, before each poll: publish the watermark, then pause while it is more
//  than the maximum drift ahead of the group's minimum (Flink's withWatermarkAlignment).
static int s_pause_input(rill_operator_t *self, rill_collector_t *out)
{
    s_timestamps_t *state = self->state;
    if (!self->alignment)
        return 0;
    const rill_watermarks_t *strategy = &self->spec->watermarks;
    int64_t drift =
        strategy->max_drift_ms > 0 ? strategy->max_drift_ms : RILL_ALIGNMENT_DEFAULT_DRIFT_MS;
    int interval = strategy->alignment_interval_ms > 0 ? strategy->alignment_interval_ms
                                                       : RILL_ALIGNMENT_DEFAULT_INTERVAL_MS;
    rill_watermark_alignment_update(self->alignment, self->alignment_member,
                                    s_watermark(self, state));
    bool pause =
        rill_watermark_alignment_should_pause(self->alignment, self->alignment_member, drift);
    if (!pause && !state->paused)
        return 0; //  the common case: no clock read
    int64_t now = rill_operator_now_ms(self);
    //  Before waiting, downstream gets the watermark still pending a periodic emission: else
    //  it would hold the windows back while the others catch up, and their state would grow.
    if (pause && !state->paused && s_emit_watermark(self, state, out))
        return -1;
    //  Time spent paused is not time without records: the idleness clock restarts.
    if (!pause && state->paused)
        state->last_record = now;
    state->paused = pause;
    if (pause)
        state->recheck = now + interval;
    return pause ? 1 : 0;
}

static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    //  A finished member must not hold the others back.
    if (self->alignment)
        rill_watermark_alignment_set_active(self->alignment, self->alignment_member, false);
    //  The last periodic watermark may lag; END (sent next) counts as +infinity downstream.
    return 0;
}

static void s_close(rill_operator_t *self)
{
    if (self->alignment)
        rill_watermark_alignment_set_active(self->alignment, self->alignment_member, false);
    free(self->state);
}

static const rill_operator_vtable_t s_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
    .pause_input = s_pause_input,
};

int rill_op_timestamps_open(rill_operator_t *self)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self && self->spec->kind == RILL_OP_TIMESTAMPS);
    s_timestamps_t *state = calloc(1, sizeof(s_timestamps_t));
    if (!state)
        return -1;
    state->highest = INT64_MIN;
    state->emitted = INT64_MIN;
    state->last_record = rill_operator_now_ms(self);
    state->next_emit = rill_time_add(state->last_record, self->spec->watermarks.interval_ms);
    self->vtable = &s_vtable;
    self->state = state;
    return 0;
}
