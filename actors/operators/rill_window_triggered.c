/*  rill_window_triggered.c: windows run as Flink's WindowOperator runs them, for a trigger, an
    evictor, global or custom windows, or window_apply (rill_trigger.h). A record goes into
    each of its windows (sessions merge first, their trigger state combined by on_merge), then
    to the trigger's on_element; a timer that fires calls on_event_time or on_processing_time
    for its window. FIRE emits the window's contents (evicted first or after, as the evictor
    says), PURGE drops them. Each window also has a cleanup time (the end of its lateness in
    event time, its end in processing time, never for the global window): a timer then clears
    its contents, its named state and its trigger (clear), after the trigger had its say.

    Contents live in the operator's keyed table as on the fast path (accumulator or record
    list under key + bounds), named state and timer markers in the meta table
    (rill_window_context.c); timers in two heaps, event time and processing time. */
#include "rill_array.h"
#include "rill_time_math.h"
#include "rill_trigger.h"
#include "rill_window_private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int rill_window_triggered_open(rill_operator_t *self)
{
    rill_window_op_t *op = self->state;
    const rill_window_t *window = &self->spec->window;
    op->triggered = true;
    op->trigger = rill_window_trigger_resolve(window);
    //  Flink's GlobalWindows is not an event-time assigner: its records need no timestamp and
    //  are never late.
    op->event_time = window->kind != RILL_WINDOW_GLOBAL && window->time == RILL_TIME_EVENT;
    op->lists = window->evictor.kind != RILL_EVICTOR_NONE ||
                self->spec->window_fn == RILL_WINDOW_FN_PROCESS ||
                self->spec->window_fn == RILL_WINDOW_FN_APPLY;
    op->meta = rill_keyed_table_new();
    op->proc_timers = rill_timer_heap_new();
    op->meta_key = rill_buffer_new();
    op->map = rill_buffer_new();
    op->fire_key = rill_buffer_new();
    op->kept = rill_buffer_new();
    if (!op->meta || !op->proc_timers || !op->meta_key || !op->map || !op->fire_key || !op->kept)
        return rill_window_fail(self, "out of memory");
    return 0;
}

void rill_window_triggered_close(rill_window_op_t *op)
{
    rill_keyed_table_destroy(&op->meta);
    rill_timer_heap_destroy(&op->proc_timers);
    rill_buffer_destroy(&op->meta_key);
    rill_buffer_destroy(&op->map);
    rill_buffer_destroy(&op->fire_key);
    rill_buffer_destroy(&op->kept);
    free(op->fire_records);
}

//  When a window's state goes: Flink's cleanup time (max timestamp + allowed lateness in event
//  time, saturated; the max timestamp in processing time). INT64_MAX: never.
static int64_t s_cleanup_time(const rill_operator_t *self, rill_window_bounds_t bounds)
{
    const rill_window_op_t *op = self->state;
    int64_t max = rill_window_max_timestamp(bounds);
    if (self->spec->window.kind == RILL_WINDOW_GLOBAL)
        return INT64_MAX;
    return op->event_time ? rill_time_add(max, self->spec->window.allowed_lateness) : max;
}

static bool s_late(const rill_operator_t *self, rill_window_bounds_t bounds)
{
    const rill_window_op_t *op = self->state;
    return op->event_time && s_cleanup_time(self, bounds) <= op->watermark;
}

static rill_window_context_t s_context(rill_operator_t *self, const void *key, size_t key_size,
                                       rill_window_bounds_t bounds)
{
    return (rill_window_context_t){
        .self = self, .key = {.data = key, .size = key_size}, .window = bounds, .in_trigger = true};
}

//  The window's contents entry (NULL: none), its state key left in op->fire_key.
static rill_keyed_entry_t *s_contents(rill_window_op_t *op, const rill_window_context_t *window,
                                      uint64_t *hash)
{
    if (rill_window_state_key_set(op->fire_key, window->key.data, window->key.size,
                                  window->window))
        return NULL;
    *hash = rill_keyed_hash(op->fire_key->data, op->fire_key->size);
    return rill_keyed_table_find(op->table, op->fire_key->data, op->fire_key->size, *hash);
}

static void s_purge(rill_window_op_t *op, const rill_window_context_t *window)
{
    uint64_t hash;
    if (s_contents(op, window, &hash))
        rill_keyed_table_remove(op->table, op->fire_key->data, op->fire_key->size, hash);
}

//  Emits the window's contents through the window function. With a record list: the evictor
//  before, the function, the evictor after, and what it took out leaves the window.
static int s_fire(rill_operator_t *self, rill_window_context_t *window, rill_collector_t *out)
{
    rill_window_op_t *op = self->state;
    uint64_t hash;
    rill_keyed_entry_t *entry = s_contents(op, window, &hash);
    if (!entry)
        return 0; //  nothing since the last purge: Flink fires nothing either
    int64_t timestamp = rill_window_max_timestamp(window->window);
    if (!op->lists)
        return rill_window_emit(self, window->key.data, window->key.size, window->window,
                                timestamp, rill_keyed_entry_value(entry), entry->value_size, out);
    long decoded = rill_window_list_decode(rill_keyed_entry_value(entry), entry->value_size,
                                           &op->fire_records, &op->fire_capacity);
    if (decoded < 0)
        return rill_window_fail(self, "corrupt window state");
    size_t count = (size_t)decoded, before = count;
    if (rill_window_evict(self, &window->window, op->fire_records, &count, true) ||
        rill_window_list_encode(op->kept, op->fire_records, count))
        return -1;
    //  From here the records are op->kept's: the table may change under the function.
    bool evicted = count != before;
    decoded = rill_window_list_decode(op->kept->data, op->kept->size, &op->fire_records,
                                      &op->fire_capacity);
    if (decoded < 0)
        return -1;
    if (count > 0) {
        int rc;
        if (self->spec->window_fn == RILL_WINDOW_FN_APPLY) {
            window->in_trigger = false;
            bool timed = rill_busy_split_user_begin(self->busy_split);
            rill_collector_inherit(out, timestamp);
            rc = self->spec->fn.window_apply(window, op->fire_records, count, out, self->ctx);
            rill_collector_inherit_end(out);
            rill_busy_split_user_end(self->busy_split, timed);
            window->in_trigger = true;
            if (rc && !out->stopping)
                rill_window_fail(self, "window apply function failed");
        } else
            rc = rill_window_emit(self, window->key.data, window->key.size, window->window,
                                  timestamp, op->kept->data, op->kept->size, out);
        if (rc)
            return -1;
        //  emit may have decoded into its own scratch; ours still point into op->kept.
        before = count;
        if (rill_window_evict(self, &window->window, op->fire_records, &count, false))
            return -1;
        evicted = evicted || count != before;
    }
    if (!evicted)
        return 0;
    if (rill_window_list_encode(op->value, op->fire_records, count) ||
        rill_window_state_key_set(op->fire_key, window->key.data, window->key.size,
                                  window->window))
        return -1;
    if (count == 0) {
        rill_keyed_table_remove(op->table, op->fire_key->data, op->fire_key->size, hash);
        return 0;
    }
    if (!rill_keyed_table_put(op->table, op->fire_key->data, op->fire_key->size, hash,
                              op->value->data, op->value->size, 0))
        return rill_window_fail(self, "out of memory for window state");
    return 0;
}

static int s_result(rill_operator_t *self, rill_window_context_t *window,
                    rill_trigger_result_t result, rill_collector_t *out)
{
    if (result < 0)
        return self->error[0] ? -1 : rill_window_fail(self, "trigger failed");
    if ((result & RILL_TRIGGER_FIRE) && s_fire(self, window, out))
        return -1;
    if (result & RILL_TRIGGER_PURGE)
        s_purge(self->state, window);
    return 0;
}

//  Flink's clearAllState: the trigger's clear, the contents, the named state, the session.
static int s_clear_all(rill_operator_t *self, rill_window_context_t *window)
{
    rill_window_op_t *op = self->state;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    rill_window_trigger_clear(&op->trigger, window);
    rill_busy_split_user_end(self->busy_split, timed);
    s_purge(op, window);
    rill_window_context_drop_state(window);
    if (self->spec->window.kind == RILL_WINDOW_SESSION)
        return rill_window_session_forget(op, window->key.data, window->key.size, window->window);
    return 0;
}

static int s_register_cleanup(rill_operator_t *self, const rill_window_context_t *window)
{
    rill_window_op_t *op = self->state;
    int64_t cleanup = s_cleanup_time(self, window->window);
    if (cleanup == INT64_MAX && op->event_time)
        return 0; //  Flink sets no timer for the end of time: the end of input clears nothing
    if (self->spec->window.kind == RILL_WINDOW_GLOBAL)
        return 0;
    if (rill_window_state_key_set(op->fire_key, window->key.data, window->key.size,
                                  window->window) ||
        rill_timer_heap_push(op->event_time ? op->timers : op->proc_timers, cleanup,
                             op->fire_key->data, op->fire_key->size, 0))
        return rill_window_fail(self, "out of memory for timers");
    return 0;
}

//  The record into one window, then its trigger. schedule: a new window gets its cleanup
//  timer here (sessions get theirs as they enter the index).
static int s_element(rill_operator_t *self, rill_window_context_t *window,
                     const rill_record_t *record, bool schedule, rill_collector_t *out)
{
    rill_window_op_t *op = self->state;
    bool created;
    bool known = !schedule || rill_window_context_has_state(window);
    if (rill_window_add(self, window->key.data, window->key.size, window->window, record,
                        &created))
        return -1;
    bool timed = rill_busy_split_user_begin(self->busy_split);
    rill_trigger_result_t result =
        rill_window_trigger_element(&op->trigger, window, record, record->timestamp);
    rill_busy_split_user_end(self->busy_split, timed);
    //  A window with named state was seen before. One purged and filled again without any
    //  gets a second cleanup timer at the same time, which finds nothing left.
    if (created && !known && s_register_cleanup(self, window))
        return -1;
    return s_result(self, window, result, out);
}

//  Session windows: the record's window [t, t + gap) merges with every open session of its key
//  it overlaps. The merged sessions' contents move into the merged window; the trigger's
//  on_merge combines their state, then each merged session is cleared (its trigger's clear,
//  its named state) and leaves the index.
static int s_session(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                     const rill_record_t *record, rill_collector_t *out, bool *skipped)
{
    rill_window_op_t *op = self->state;
    const rill_window_t *spec = &self->spec->window;
    int64_t gap = spec->gap_fn ? spec->gap_fn(record, spec->gap_ctx) : spec->gap;
    if (gap <= 0)
        return rill_window_fail(self, "the session gap function gave a gap <= 0 ms");
    rill_window_bounds_t merged = {time, rill_time_add(time, gap)};
    if (rill_window_state_key_index(op->state_key, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *index =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    size_t count = index ? index->value_size / sizeof(rill_window_bounds_t) : 0;
    rill_window_bounds_t *sessions = count ? malloc(count * sizeof *sessions) : NULL;
    rill_window_bounds_t *absorbed = malloc((count + 1) * sizeof *absorbed);
    bool *taken = calloc(count + 1, sizeof(bool));
    int rc = -1;
    if ((count && !sessions) || !absorbed || !taken) {
        rill_window_fail(self, "out of memory for session windows");
        goto done;
    }
    if (count)
        memcpy(sessions, rill_keyed_entry_value(index), count * sizeof *sessions);
    rill_window_session_grow(sessions, count, taken, &merged);
    *skipped = s_late(self, merged);
    if (*skipped) {
        rc = 0;
        goto done;
    }
    bool exists = false;
    size_t absorbed_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (!taken[i])
            continue;
        if (sessions[i].start == merged.start && sessions[i].end == merged.end)
            exists = true;
        else
            absorbed[absorbed_count++] = sessions[i];
    }
    rill_window_context_t window = s_context(self, key, key_size, merged);
    if (absorbed_count) {
        //  Contents: every absorbed session's gathered, then the merged window's own, stored
        //  once under the merged window (for record lists the absorbed sessions' records come
        //  first; Flink keeps no order across merged sessions either).
        rill_buffer_reset(op->value);
        for (size_t i = 0; i < absorbed_count; i++) {
            rill_window_context_t gone = s_context(self, key, key_size, absorbed[i]);
            uint64_t h;
            rill_keyed_entry_t *old = s_contents(op, &gone, &h);
            if (!old)
                continue;
            if (rill_window_merge(self, op->value, rill_keyed_entry_value(old), old->value_size))
                goto done;
            rill_keyed_table_remove(op->table, op->fire_key->data, op->fire_key->size, h);
        }
        if (op->value->size) {
            uint64_t h;
            rill_keyed_entry_t *into = s_contents(op, &window, &h);
            if ((into && rill_window_merge(self, op->value, rill_keyed_entry_value(into),
                                           into->value_size)) ||
                rill_window_state_key_set(op->fire_key, key, key_size, merged) ||
                !rill_keyed_table_put(op->table, op->fire_key->data, op->fire_key->size,
                                      rill_keyed_hash(op->fire_key->data, op->fire_key->size),
                                      op->value->data, op->value->size, 0)) {
                if (!self->error[0])
                    rill_window_fail(self, "out of memory for window state");
                goto done;
            }
        }
        //  Trigger state: on_merge with the merged window current, then each absorbed
        //  session's clear.
        window.merged = absorbed;
        window.merged_count = absorbed_count;
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int merged_rc = rill_window_trigger_merge(&op->trigger, &window);
        rill_busy_split_user_end(self->busy_split, timed);
        window.merged = NULL;
        window.merged_count = 0;
        if (merged_rc) {
            if (!self->error[0])
                rill_window_fail(self, "trigger merge failed");
            goto done;
        }
        for (size_t i = 0; i < absorbed_count; i++) {
            rill_window_context_t gone = s_context(self, key, key_size, absorbed[i]);
            timed = rill_busy_split_user_begin(self->busy_split);
            rill_window_trigger_clear(&op->trigger, &gone);
            rill_busy_split_user_end(self->busy_split, timed);
            rill_window_context_drop_state(&gone);
            if (rill_window_session_forget(op, key, key_size, absorbed[i]))
                goto done;
        }
    }
    if (!exists) {
        if (rill_window_session_index_add(op, key, key_size, merged) ||
            s_register_cleanup(self, &window))
            goto done;
    }
    rc = s_element(self, &window, record, false, out);
done:
    free(sessions);
    free(absorbed);
    free(taken);
    return rc;
}

//  The record's windows into op->assigned: its time windows, the global window, or what the
//  custom assigner says. The count, or -1 (self->error set).
static long s_assign(rill_operator_t *self, const rill_record_t *record, int64_t time)
{
    rill_window_op_t *op = self->state;
    const rill_window_t *window = &self->spec->window;
    switch (window->kind) {
    case RILL_WINDOW_GLOBAL:
        if (!op->assigned &&
            !(op->assigned = calloc(op->assigned_capacity = 1, sizeof *op->assigned)))
            return rill_window_fail(self, "out of memory");
        op->assigned[0] = (rill_window_bounds_t){INT64_MIN, INT64_MAX};
        return 1;
    case RILL_WINDOW_CUSTOM: {
        size_t max = window->max_windows_per_record ? (size_t)window->max_windows_per_record
                                                    : RILL_WINDOW_MAX_PER_RECORD;
        if (op->assigned_capacity < max) {
            free(op->assigned);
            op->assigned_capacity = 0;
            if (!(op->assigned = calloc(max, sizeof *op->assigned)))
                return rill_window_fail(self, "out of memory");
            op->assigned_capacity = max;
        }
        bool timed = rill_busy_split_user_begin(self->busy_split);
        long count = window->assign_fn(record, time, op->assigned, max, window->assign_ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (count < 0 || (size_t)count > max)
            return rill_window_fail(self, "window assigner failed");
        for (long i = 0; i < count; i++)
            if (op->assigned[i].start >= op->assigned[i].end)
                return rill_window_fail(self, "window assigner gave a window with start >= end");
        return count;
    }
    default: {
        int64_t size = window->size, slide = rill_window_slide(window);
        size_t count = 0;
        for (int64_t offset = rill_window_first_offset(time, slide); offset < size;
             offset = rill_time_add(offset, slide)) {
            if (rill_array_grow((void **)&op->assigned, &op->assigned_capacity, count + 1,
                                sizeof *op->assigned))
                return rill_window_fail(self, "out of memory");
            op->assigned[count] = rill_window_at_offset(time, size, offset);
            if (op->assigned[count++].start == INT64_MIN)
                break;
        }
        return (long)count;
    }
    }
}

int rill_window_triggered_add(rill_operator_t *self, const void *key, size_t key_size,
                              const rill_record_t *record, rill_collector_t *out)
{
    assert(self && record && out);
    rill_window_op_t *op = self->state;
    const rill_window_t *window = &self->spec->window;
    int64_t time = record->timestamp;
    if (window->kind != RILL_WINDOW_GLOBAL) {
        if (!op->event_time)
            time = rill_operator_now_ms(self);
        else if (time == RILL_NO_TIMESTAMP)
            return rill_window_fail(self, "an event-time window got a record without a "
                                          "timestamp (assign timestamps first)");
    }
    bool skipped = true;
    if (window->kind == RILL_WINDOW_SESSION) {
        if (s_session(self, key, key_size, time, record, out, &skipped))
            return -1;
    } else {
        long count = s_assign(self, record, time);
        if (count < 0)
            return -1;
        for (long i = 0; i < count; i++) {
            rill_window_bounds_t bounds = op->assigned[i];
            if (s_late(self, bounds))
                continue;
            skipped = false;
            rill_window_context_t context = s_context(self, key, key_size, bounds);
            if (s_element(self, &context, record, true, out))
                return -1;
        }
    }
    //  Flink's isElementLate: every window skipped and the record behind the lateness.
    if (skipped && op->event_time && rill_time_add(time, window->allowed_lateness) <= op->watermark)
        return rill_collector_emit_tagged(out, RILL_OUTPUT_LATE, record);
    return 0;
}

//  One timer: the trigger, if the timer is still registered, then the cleanup, if due.
static int s_timer(rill_operator_t *self, bool event_time, const rill_timer_t *timer,
                   rill_collector_t *out)
{
    rill_window_op_t *op = self->state;
    if (timer->key_size < RILL_WINDOW_BOUNDS_SIZE)
        return rill_window_fail(self, "corrupt window timer");
    rill_window_bounds_t bounds = rill_window_state_key_bounds(timer->key, timer->key_size);
    rill_window_context_t window =
        s_context(self, timer->key, timer->key_size - RILL_WINDOW_BOUNDS_SIZE, bounds);
    int taken = rill_window_timer_take(&window, event_time, timer->time);
    if (taken < 0)
        return rill_window_fail(self, "out of memory for window state");
    if (taken) {
        bool timed = rill_busy_split_user_begin(self->busy_split);
        rill_trigger_result_t result =
            rill_window_trigger_time(&op->trigger, &window, event_time, timer->time);
        rill_busy_split_user_end(self->busy_split, timed);
        if (s_result(self, &window, result, out))
            return -1;
    }
    if (self->spec->window.kind != RILL_WINDOW_GLOBAL && event_time == op->event_time &&
        timer->time == s_cleanup_time(self, bounds)) {
        uint64_t hash;
        if (s_contents(op, &window, &hash) || rill_window_context_has_state(&window))
            return s_clear_all(self, &window);
    }
    return 0;
}

int rill_window_triggered_timers(rill_operator_t *self, bool event_time, int64_t until,
                                 rill_collector_t *out)
{
    assert(self && out);
    rill_window_op_t *op = self->state;
    rill_timer_heap_t *heap = event_time ? op->timers : op->proc_timers;
    rill_timer_t timer;
    while (rill_timer_heap_pop(heap, until, &timer)) {
        int rc = s_timer(self, event_time, &timer, out);
        free(timer.key);
        if (rc)
            return -1;
    }
    return 0;
}

int rill_window_triggered_end(rill_operator_t *self, rill_collector_t *out)
{
    assert(self && out);
    rill_window_op_t *op = self->state;
    op->watermark = INT64_MAX;
    if (rill_window_triggered_timers(self, true, INT64_MAX, out))
        return -1;
    //  The processing-time timers pending now fire once; the ones they register would come
    //  back for ever (a continuous trigger) and are dropped with the operator.
    size_t pending = rill_timer_heap_size(op->proc_timers);
    rill_timer_t timer;
    for (size_t i = 0; i < pending && rill_timer_heap_pop(op->proc_timers, INT64_MAX, &timer);
         i++) {
        int rc = s_timer(self, false, &timer, out);
        free(timer.key);
        if (rc)
            return -1;
    }
    return 0;
}
