/*  rill_window_assign.c: tumbling and sliding time windows. A record at time t belongs to
    every window [start, start + size) with start a multiple of slide and start <= t; each new
    window gets a timer that fires it when the watermark (or the clock) passes its end, and a
    second one that drops its state once its allowed lateness is over. rill_window_add is the
    step every assigner shares: put the record into one window's state. */
#include "rill_time_math.h"
#include "rill_window_private.h"

#include <assert.h>
#include <string.h>

int rill_window_add(rill_operator_t *self, const void *key, size_t key_size,
                    rill_window_bounds_t bounds, const rill_record_t *record, bool *created)
{
    assert(self && record && created);
    rill_window_op_t *op = self->state;
    if (rill_window_state_key_set(op->state_key, key, key_size, bounds))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    *created = entry == NULL;
    if (op->lists) {
        size_t old = entry ? entry->value_size : 0;
        size_t grown = old + rill_window_list_entry_size(record->size);
        if (!entry)
            entry = rill_keyed_table_put(op->table, op->state_key->data, op->state_key->size, hash,
                                         NULL, 0, 0);
        uint8_t *value = entry ? rill_keyed_table_resize(entry, grown) : NULL;
        if (!value)
            return rill_window_fail(self, "out of memory for window state");
        rill_window_list_put(value + old, record);
        return 0;
    }
    if (entry)
        rill_buffer_set(op->value, rill_keyed_entry_value(entry), entry->value_size);
    else
        rill_buffer_reset(op->value);
    if (rill_window_fold(self, op->value, record))
        return -1;
    if (!rill_keyed_table_put(op->table, op->state_key->data, op->state_key->size, hash,
                              op->value->data, op->value->size, 0))
        return rill_window_fail(self, "out of memory for window state");
    return 0;
}

bool rill_window_due(const rill_window_op_t *op, rill_window_bounds_t bounds)
{
    return op->event_time && bounds.end - 1 <= op->watermark;
}

bool rill_window_late(const rill_operator_t *self, rill_window_bounds_t bounds)
{
    const rill_window_op_t *op = self->state;
    return op->event_time &&
           rill_time_add(bounds.end - 1, self->spec->window.allowed_lateness) <= op->watermark;
}

//  A window created when it is due already (late, but within the allowed lateness) fires at
//  once in the caller and gets no firing timer, only its cleanup: Flink's
//  EventTimeTrigger.onElement fires such a window and registers nothing, so it must not fire a
//  second time at the next watermark.
int rill_window_schedule(rill_operator_t *self, rill_window_bounds_t bounds)
{
    rill_window_op_t *op = self->state;
    int64_t lateness = op->event_time ? self->spec->window.allowed_lateness : 0;
    //  Without lateness a due window is never created (it is late), and its one timer is
    //  also its cleanup: keep it then.
    bool due = lateness && rill_window_due(op, bounds);
    if (!due &&
        rill_timer_heap_push(op->timers, bounds.end - 1, op->state_key->data, op->state_key->size,
                             lateness ? RILL_WINDOW_TIMER_FIRE : RILL_WINDOW_TIMER_CLEANUP))
        return -1;
    //  Saturated: a window near INT64_MAX keeps its state until the end instead of a cleanup
    //  time wrapped into the past.
    if (lateness &&
        rill_timer_heap_push(op->timers, rill_time_add(bounds.end - 1, lateness),
                             op->state_key->data, op->state_key->size, RILL_WINDOW_TIMER_CLEANUP))
        return -1;
    return 0;
}

//  A time window gets the record: new windows are scheduled; a window the watermark has
//  passed already (late but within lateness) fires at once, again for every late record.
static int s_add_timed(rill_operator_t *self, const void *key, size_t key_size,
                       rill_window_bounds_t bounds, const rill_record_t *record,
                       rill_collector_t *out)
{
    rill_window_op_t *op = self->state;
    bool created;
    if (rill_window_add(self, key, key_size, bounds, record, &created))
        return -1;
    if (created && rill_window_schedule(self, bounds))
        return rill_window_fail(self, "out of memory for timers");
    if (rill_window_due(op, bounds))
        return rill_window_fire(self, op->state_key->data, op->state_key->size, false, out);
    return 0;
}

int rill_window_assign_timed(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                             const rill_record_t *record, rill_collector_t *out, bool *skipped)
{
    const rill_window_t *window = &self->spec->window;
    int64_t size = window->size;
    int64_t slide = rill_window_slide(window);
    assert(size > 0 && slide > 0); //  the planner refuses anything else
    int rc = 0;
    *skipped = true;
    //  Walked in place rather than listed first: this is the per-record path.
    for (int64_t offset = rill_window_first_offset(time, slide); offset < size && rc == 0;
         offset = rill_time_add(offset, slide)) {
        rill_window_bounds_t bounds = rill_window_at_offset(time, size, offset);
        if (!rill_window_late(self, bounds)) {
            *skipped = false;
            rc = s_add_timed(self, key, key_size, bounds, record, out);
        }
        if (bounds.start == INT64_MIN)
            break;
    }
    return rc;
}
