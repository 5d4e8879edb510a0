/*  rill_op_window.c: the window operator on a keyed stream. Each record is assigned to its
    windows (tumbling, sliding, session; by event or processing time; or by count); each (key,
    window) has one entry in the subtask's keyed table, holding either an accumulator (reduce,
    aggregate, built-ins: folded per record) or the window's records (process functions and
    count windows). A timer per window fires it when the watermark (or the clock) passes its
    end; with allowed lateness the state stays until end + lateness, late records update it
    and fire it again, and records later still go to the late side output.

    This file is the operator: it routes each record to its assigner and runs the timers. The
    concerns live beside it: rill_window_assign.c (time windows), rill_window_session.c
    (session merging), rill_window_count.c (count windows and eviction), rill_window_fire.c
    (accumulators and firing), rill_window_state.c (state keys and record lists),
    rill_window_snapshot.c (checkpoints), sharing rill_window_private.h. */
#include "rill_clock.h"
#include "rill_graph_private.h"
#include "rill_time_math.h"
#include "rill_window_private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    rill_window_op_t *state = self->state;
    const rill_window_t *window = &self->spec->window;
    rill_key_t key;
    uint64_t hash; //  of the key alone; window state is keyed by (key, window), hashed apart
    if (rill_operator_record_key(self, state->keys, record, input, &key, &hash))
        return rill_window_fail(self, "key extractor failed");
    //  The key may point into the record or into key.scratch; copy it out of the way of the
    //  scratch buffers reused below.
    uint8_t key_copy[256];
    uint8_t *key_bytes = key.size <= sizeof key_copy ? key_copy : malloc(key.size);
    if (!key_bytes)
        return -1;
    memcpy(key_bytes, key.data, key.size);
    int rc = 0;
    if (state->triggered) {
        rc = rill_window_triggered_add(self, key_bytes, key.size, record, out);
        goto done;
    }
    if (window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING) {
        rc = rill_window_count_add(self, key_bytes, key.size, record, out);
        goto done;
    }
    int64_t time = state->event_time ? record->timestamp : rill_operator_now_ms(self);
    if (time == RILL_NO_TIMESTAMP) {
        rc = rill_window_fail(self, "an event-time window got a record without a timestamp "
                                    "(assign timestamps first)");
        goto done;
    }
    bool skipped = true;
    if (window->kind == RILL_WINDOW_SESSION)
        rc = rill_window_session_add(self, key_bytes, key.size, time, record, out, &skipped);
    else
        rc = rill_window_assign_timed(self, key_bytes, key.size, time, record, out, &skipped);
    //  Every window of the record is past its lateness: the record goes to the side output.
    if (rc == 0 && skipped && state->event_time &&
        rill_time_add(time, window->allowed_lateness) <= state->watermark)
        rc = rill_collector_emit_tagged(out, RILL_OUTPUT_LATE, record);
done:
    if (key_bytes != key_copy)
        free(key_bytes);
    return rc;
}

//  Runs every timer due at `until`: fires windows, and cleans up those past their lateness.
static int s_run_timers(rill_operator_t *self, int64_t until, rill_collector_t *out)
{
    rill_window_op_t *state = self->state;
    rill_timer_t timer;
    while (rill_timer_heap_pop(state->timers, until, &timer)) {
        bool cleanup = timer.tag == RILL_WINDOW_TIMER_CLEANUP;
        bool lateness = state->event_time && self->spec->window.allowed_lateness > 0;
        int rc = 0;
        if (!cleanup || !lateness)
            rc = rill_window_fire(self, timer.key, timer.key_size, cleanup, out);
        else {
            uint64_t hash = rill_keyed_hash(timer.key, timer.key_size);
            rill_keyed_table_remove(state->table, timer.key, timer.key_size, hash);
        }
        if (rc == 0 && cleanup && self->spec->window.kind == RILL_WINDOW_SESSION) {
            //  The cleaned-up session leaves its key's index too.
            rc = rill_window_session_forget(
                state, timer.key, timer.key_size - RILL_WINDOW_BOUNDS_SIZE,
                rill_window_state_key_bounds(timer.key, timer.key_size));
        }
        free(timer.key);
        if (rc)
            return -1;
    }
    return 0;
}

static int s_on_watermark(rill_operator_t *self, int64_t watermark, rill_collector_t *out)
{
    rill_window_op_t *state = self->state;
    //  Only a restored subtask sees its input watermark below its own: the inputs' watermarks
    //  climb back from their restarted sources while the floor saved in the checkpoint holds
    //  (rill_window_snapshot.c), so nothing fires twice and lateness is judged as before.
    if (watermark < state->watermark)
        return 0;
    state->watermark = watermark;
    if (state->triggered)
        return rill_window_triggered_timers(self, true, watermark, out);
    return state->event_time ? s_run_timers(self, watermark, out) : 0;
}

static int64_t s_next_tick(rill_operator_t *self)
{
    rill_window_op_t *state = self->state;
    if (state->triggered)
        return rill_timer_heap_next(state->proc_timers);
    return state->event_time ? INT64_MAX : rill_timer_heap_next(state->timers);
}

static int s_on_tick(rill_operator_t *self, int64_t now, rill_collector_t *out)
{
    rill_window_op_t *state = self->state;
    if (state->triggered)
        return rill_window_triggered_timers(self, false, now, out);
    return s_run_timers(self, now, out);
}

//  At the end of input every window fires: event time got +infinity as its last watermark;
//  processing-time windows fire here rather than be lost.
static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    rill_window_op_t *state = self->state;
    if (state->triggered)
        return rill_window_triggered_end(self, out);
    return s_run_timers(self, INT64_MAX, out);
}

static void s_close(rill_operator_t *self)
{
    rill_window_op_t *state = self->state;
    if (!state)
        return;
    rill_keyed_table_destroy(&state->table);
    rill_timer_heap_destroy(&state->timers);
    rill_buffer_destroy(&state->state_key);
    rill_buffer_destroy(&state->value);
    rill_buffer_destroy(&state->other);
    free(state->records);
    free(state->assigned);
    free(state->keys);
    if (state->triggered)
        rill_window_triggered_close(state);
    free(state);
}

static const rill_operator_vtable_t s_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_watermark = s_on_watermark,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
    .snapshot = rill_window_snapshot,
    .restore = rill_window_restore,
};

int rill_op_window_open(rill_operator_t *self)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self && self->spec->kind == RILL_OP_WINDOW);
    rill_window_op_t *state = calloc(1, sizeof(rill_window_op_t));
    if (!state)
        return -1;
    self->vtable = &s_vtable;
    self->state = state;
    const rill_window_t *window = &self->spec->window;
    bool counted =
        window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    //  The planner refused anything else (rill_plan.c, s_check_window).
    assert(window->kind == RILL_WINDOW_SESSION ? window->gap > 0
           : window->kind == RILL_WINDOW_GLOBAL || window->kind == RILL_WINDOW_CUSTOM
               ? true
               : window->size > 0);
    bool sliding = window->kind == RILL_WINDOW_SLIDING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    assert(!sliding || window->slide > 0);
    (void)sliding; //  read by the assert only
    state->event_time = !counted && window->time == RILL_TIME_EVENT;
    state->lists = counted || self->spec->window_fn == RILL_WINDOW_FN_PROCESS;
    state->watermark = INT64_MIN;
    state->table = rill_keyed_table_new();
    state->timers = rill_timer_heap_new();
    state->state_key = rill_buffer_new();
    state->value = rill_buffer_new();
    state->other = rill_buffer_new();
    state->keys = rill_operator_input_keys(self);
    if (!state->table || !state->timers || !state->state_key || !state->value || !state->other ||
        !state->keys)
        return rill_window_fail(self, "out of memory");
    //  A trigger, an evictor, global or custom windows, or window_apply: Flink's
    //  WindowOperator (rill_window_triggered.c); else the fast path above.
    bool triggered = window->trigger.kind != RILL_TRIGGER_DEFAULT || window->trigger.purging ||
                     window->evictor.kind != RILL_EVICTOR_NONE ||
                     window->kind == RILL_WINDOW_GLOBAL || window->kind == RILL_WINDOW_CUSTOM ||
                     self->spec->window_fn == RILL_WINDOW_FN_APPLY;
    return triggered ? rill_window_triggered_open(self) : 0;
}
