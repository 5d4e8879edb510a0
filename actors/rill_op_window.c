/*  rill_op_window.c: windows on a keyed stream. Each record is assigned to its windows
    (tumbling, sliding, session; by event or processing time; or by count); each (key, window)
    has one entry in the subtask's keyed table, holding either an accumulator (reduce,
    aggregate, built-ins: folded per record) or the window's records (process functions and
    count windows). A timer per window fires it when the watermark (or the clock) passes its
    end; with allowed lateness the state stays until end + lateness, late records update it
    and fire it again, and records later still go to the late side output.

    State keys are the record key followed by the window's start and end (16 bytes), so a
    window's key is always its state key's prefix. Session windows also keep, per key, the
    list of the key's open sessions (state key: record key + two INT64_MIN), merged as
    records bridge them. */
#include "rill_buffer_private.h"
#include "rill_graph_private.h"
#include "rill_frame.h"
#include "rill_keyed_table.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_time_math.h"
#include "rill_timer_heap.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_FIRE, S_CLEANUP };

typedef struct {
    int64_t start;
    int64_t end;
} s_bounds_t;

typedef struct {
    rill_keyed_table_t *table;
    rill_timer_heap_t *timers; //  in the window's time domain
    rill_input_key_t *keys;    //  key extractor per input edge
    rill_buffer_t *state_key; //  scratch: record key + bounds
    rill_buffer_t *value;     //  scratch: a window's value being rebuilt
    rill_buffer_t *other;     //  scratch: a second value (merging)
    rill_record_t *records;   //  scratch: a window's records decoded for a process function
    size_t records_capacity;
    int64_t watermark;
    bool lists;               //  windows keep their records rather than an accumulator
    bool event_time;
} s_window_t;

static int s_fail(rill_operator_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "%s", why);
    return -1;
}

static const uint8_t *s_key_of(const rill_buffer_t *state_key, size_t *key_size)
{
    *key_size = state_key->size - 2 * sizeof(int64_t);
    return state_key->data;
}

//  state_key = key + start + end.
static int s_state_key(s_window_t *state, const void *key, size_t key_size, s_bounds_t bounds)
{
    return rill_buffer_set(state->state_key, key, key_size) ||
           rill_buffer_append(state->state_key, &bounds.start, sizeof bounds.start) ||
           rill_buffer_append(state->state_key, &bounds.end, sizeof bounds.end);
}

static s_bounds_t s_bounds_of(const uint8_t *state_key, size_t size)
{
    s_bounds_t bounds;
    memcpy(&bounds.start, state_key + size - 2 * sizeof(int64_t), sizeof bounds.start);
    memcpy(&bounds.end, state_key + size - sizeof(int64_t), sizeof bounds.end);
    return bounds;
}

//  ---- accumulators: fold a record into a window's value, merge two values

//  value holds the window's current value (empty when the window is new); folds record in.
static int s_fold(rill_operator_t *self, rill_buffer_t *value, const rill_record_t *record)
{
    const rill_operator_spec_t *spec = self->spec;
    bool fresh = value->size == 0;
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_BUILTIN: {
        rill_number_acc_t acc;
        if (fresh)
            rill_number_acc_init(&acc);
        else
            memcpy(&acc, value->data, sizeof acc);
        if (rill_number_acc_add(&acc, record, spec->window_agg == RILL_WINDOW_AGG_COUNT))
            return s_fail(self, "a record has no number in its last field");
        return rill_buffer_set(value, &acc, sizeof acc);
    }
    case RILL_WINDOW_FN_AGGREGATE:
        if (fresh) {
            void *acc = rill_buffer_reserve(value, spec->aggregate.accumulator_size);
            if (!acc)
                return -1;
            spec->aggregate.create(acc, spec->ctx);
        }
        if (spec->aggregate.add(value->data, record, spec->ctx))
            return s_fail(self, "aggregate add function failed");
        return 0;
    case RILL_WINDOW_FN_REDUCE: {
        if (fresh)
            return rill_buffer_set(value, record->data, record->size);
        s_window_t *state = self->state;
        rill_record_t acc = {value->data, value->size, RILL_NO_TIMESTAMP};
        rill_buffer_reset(state->other);
        if (spec->window_reduce(&acc, record, state->other, spec->ctx))
            return s_fail(self, "reduce function failed");
        return rill_buffer_set(value, state->other->data, state->other->size);
    }
    default:
        return s_fail(self, "window function kind cannot fold");
    }
}

//  Merges value `other` (same kind) into value (session windows).
static int s_merge(rill_operator_t *self, rill_buffer_t *value, const uint8_t *other, size_t size)
{
    s_window_t *state = self->state;
    const rill_operator_spec_t *spec = self->spec;
    if (value->size == 0)
        return rill_buffer_set(value, other, size);
    if (state->lists)
        return rill_buffer_append(value, other, size);
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_BUILTIN: {
        rill_number_acc_t acc, more;
        memcpy(&acc, value->data, sizeof acc);
        memcpy(&more, other, sizeof more);
        rill_number_acc_merge(&acc, &more);
        return rill_buffer_set(value, &acc, sizeof acc);
    }
    case RILL_WINDOW_FN_AGGREGATE:
        if (!spec->aggregate.merge)
            return s_fail(self, "session windows need the aggregate's merge function");
        spec->aggregate.merge(value->data, other, spec->ctx);
        return 0;
    case RILL_WINDOW_FN_REDUCE: {
        rill_record_t record = {other, size, RILL_NO_TIMESTAMP};
        return s_fold(self, value, &record);
    }
    default:
        return -1;
    }
}

//  ---- firing

//  Decodes a list value into state->records. Returns the count, or -1.
static long s_decode(s_window_t *state, const uint8_t *list, size_t size)
{
    size_t count = 0;
    for (const uint8_t *at = list, *end = list + size; at < end; count++) {
        if (count == state->records_capacity) {
            size_t capacity = state->records_capacity ? state->records_capacity * 2 : 64;
            rill_record_t *grown = realloc(state->records, capacity * sizeof(rill_record_t));
            if (!grown)
                return -1;
            state->records = grown;
            state->records_capacity = capacity;
        }
        uint64_t trace;
        if (rill_frame_get_record(&at, end, &state->records[count], &trace))
            return -1;
    }
    return (long)count;
}

//  Emits the result of one window from its value (accumulator or record list).
//  timestamp: the result's event time.
static int s_emit_window(rill_operator_t *self, const void *key, size_t key_size, s_bounds_t bounds,
                         int64_t timestamp, const uint8_t *value, size_t value_size,
                         rill_collector_t *out)
{
    s_window_t *state = self->state;
    const rill_operator_spec_t *spec = self->spec;
    rill_key_t window_key = {.data = key, .size = key_size};
    rill_window_bounds_t window = {bounds.start, bounds.end};
    if (state->lists) {
        long count = s_decode(state, value, value_size);
        if (count < 0)
            return s_fail(self, "corrupt window state");
        if (spec->window_fn == RILL_WINDOW_FN_PROCESS) {
            if (spec->fn.window_process(&window, &window_key, state->records, (size_t)count, out,
                                        spec->ctx))
                return out->stopping ? -1 : s_fail(self, "window process function failed");
            return 0;
        }
        //  Count windows with an accumulating function: fold the kept records now.
        rill_buffer_reset(state->value);
        for (long i = 0; i < count; i++)
            if (s_fold(self, state->value, &state->records[i]))
                return -1;
        value = state->value->data;
        value_size = state->value->size;
    }
    rill_buffer_t *text = self->scratch;
    rill_buffer_reset(text);
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_AGGREGATE:
        if (spec->aggregate.result(value, &window, &window_key, text, spec->ctx))
            return s_fail(self, "aggregate result function failed");
        break;
    case RILL_WINDOW_FN_BUILTIN: {
        static const rill_number_result_t results[] = {
            [RILL_WINDOW_AGG_COUNT] = RILL_NUMBER_COUNT, [RILL_WINDOW_AGG_SUM] = RILL_NUMBER_SUM,
            [RILL_WINDOW_AGG_MIN] = RILL_NUMBER_MIN,     [RILL_WINDOW_AGG_MAX] = RILL_NUMBER_MAX,
            [RILL_WINDOW_AGG_AVG] = RILL_NUMBER_AVG,
        };
        rill_number_acc_t acc;
        memcpy(&acc, value, sizeof acc);
        if (rill_buffer_appendf(text, "%lld\t%lld\t", (long long)bounds.start,
                                (long long)bounds.end) ||
            rill_buffer_append(text, key, key_size) || rill_buffer_append(text, "\t", 1) ||
            rill_number_acc_format(&acc, results[spec->window_agg], text))
            return -1;
        break;
    }
    case RILL_WINDOW_FN_REDUCE:
        if (rill_buffer_appendf(text, "%lld\t%lld\t", (long long)bounds.start,
                                (long long)bounds.end) ||
            rill_buffer_append(text, value, value_size))
            return -1;
        break;
    default:
        return -1;
    }
    return rill_collector_emit(out, text->data, text->size, timestamp);
}

//  Fires the window stored under state_key (if it still exists); removes it when done with.
static int s_fire(rill_operator_t *self, const uint8_t *state_key, size_t size, bool remove,
                  rill_collector_t *out)
{
    s_window_t *state = self->state;
    uint64_t hash = rill_keyed_hash(state_key, size);
    rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, state_key, size, hash);
    if (!entry)
        return 0; //  merged into another session, or already cleaned up
    s_bounds_t bounds = s_bounds_of(state_key, size);
    //  A time window's result carries its max timestamp, end - 1 (Flink's maxTimestamp()).
    if (s_emit_window(self, state_key, size - 2 * sizeof(int64_t), bounds, bounds.end - 1,
                      rill_keyed_entry_value(entry), entry->value_size, out))
        return -1;
    if (remove)
        rill_keyed_table_remove(state->table, state_key, size, hash);
    return 0;
}

//  ---- session bookkeeping

//  The sessions index entry of a key: a list of bounds.
static int s_index_key(s_window_t *state, const void *key, size_t key_size)
{
    return s_state_key(state, key, key_size, (s_bounds_t){INT64_MIN, INT64_MIN});
}

static int s_index_remove(s_window_t *state, const void *key, size_t key_size, s_bounds_t gone)
{
    if (s_index_key(state, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(state->state_key->data, state->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(state->table, state->state_key->data, state->state_key->size, hash);
    if (!entry)
        return 0;
    //  The list sits right after the key bytes, so it may be unaligned: copy, never cast.
    uint8_t *list = (uint8_t *)rill_keyed_entry_value(entry);
    size_t count = entry->value_size / sizeof(s_bounds_t), kept = 0;
    for (size_t i = 0; i < count; i++) {
        s_bounds_t bounds;
        memcpy(&bounds, list + i * sizeof bounds, sizeof bounds);
        if (bounds.start != gone.start || bounds.end != gone.end)
            memcpy(list + kept++ * sizeof bounds, &bounds, sizeof bounds);
    }
    if (kept == 0)
        rill_keyed_table_remove(state->table, state->state_key->data, state->state_key->size,
                                hash);
    else
        rill_keyed_table_resize(entry, kept * sizeof(s_bounds_t));
    return 0;
}

//  ---- adding a record to one window

//  Adds record to window `bounds` of key. *created tells whether the window is new.
static int s_add(rill_operator_t *self, const void *key, size_t key_size, s_bounds_t bounds,
                 const rill_record_t *record, bool *created)
{
    s_window_t *state = self->state;
    if (s_state_key(state, key, key_size, bounds))
        return -1;
    uint64_t hash = rill_keyed_hash(state->state_key->data, state->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(state->table, state->state_key->data, state->state_key->size, hash);
    *created = entry == NULL;
    if (state->lists) {
        size_t old = entry ? entry->value_size : 0;
        size_t grown = old + rill_frame_record_size(record->size, 0);
        if (!entry)
            entry = rill_keyed_table_put(state->table, state->state_key->data,
                                         state->state_key->size, hash, NULL, 0, 0);
        uint8_t *value = entry ? rill_keyed_table_resize(entry, grown) : NULL;
        if (!value)
            return s_fail(self, "out of memory for window state");
        rill_frame_put_record(value + old, record->data, (uint32_t)record->size,
                              record->timestamp, 0);
        return 0;
    }
    if (entry)
        rill_buffer_set(state->value, rill_keyed_entry_value(entry), entry->value_size);
    else
        rill_buffer_reset(state->value);
    if (s_fold(self, state->value, record))
        return -1;
    if (!rill_keyed_table_put(state->table, state->state_key->data, state->state_key->size, hash,
                              state->value->data, state->value->size, 0))
        return s_fail(self, "out of memory for window state");
    return 0;
}

//  True when the watermark has passed the window's max timestamp (end - 1): it fires at once.
static bool s_window_due(const s_window_t *state, s_bounds_t bounds)
{
    return state->event_time && bounds.end - 1 <= state->watermark;
}

//  Registers the timers of a new window. A window created when it is due already (late, but
//  within the allowed lateness) fires at once in the caller and gets no firing timer, only
//  its cleanup: Flink's EventTimeTrigger.onElement fires such a window and registers nothing,
//  so it must not fire a second time at the next watermark.
static int s_schedule(rill_operator_t *self, s_bounds_t bounds)
{
    s_window_t *state = self->state;
    int64_t lateness = state->event_time ? self->spec->window.allowed_lateness : 0;
    //  Without lateness a due window is never created (it is late), and its one timer is
    //  also its cleanup: keep it then.
    bool due = lateness && s_window_due(state, bounds);
    if (!due && rill_timer_heap_push(state->timers, bounds.end - 1, state->state_key->data,
                                     state->state_key->size, lateness ? S_FIRE : S_CLEANUP))
        return -1;
    //  Saturated: a window near INT64_MAX keeps its state until the end instead of a cleanup
    //  time wrapped into the past.
    if (lateness && rill_timer_heap_push(state->timers, rill_time_add(bounds.end - 1, lateness),
                                         state->state_key->data, state->state_key->size, S_CLEANUP))
        return -1;
    return 0;
}

//  A time window gets the record: new windows are scheduled; a window the watermark has
//  passed already (late but within lateness) fires at once, again for every late record.
static int s_add_timed(rill_operator_t *self, const void *key, size_t key_size, s_bounds_t bounds,
                       const rill_record_t *record, rill_collector_t *out)
{
    s_window_t *state = self->state;
    bool created;
    if (s_add(self, key, key_size, bounds, record, &created))
        return -1;
    if (created && s_schedule(self, bounds))
        return s_fail(self, "out of memory for timers");
    if (s_window_due(state, bounds))
        return s_fire(self, state->state_key->data, state->state_key->size, false, out);
    return 0;
}

static bool s_window_late(s_window_t *state, rill_operator_t *self, s_bounds_t bounds)
{
    return state->event_time &&
           rill_time_add(bounds.end - 1, self->spec->window.allowed_lateness) <= state->watermark;
}

//  Session windows: the record's window [t, t + gap) swallows every open session of the key
//  it overlaps; their values merge into one.
static int s_add_session(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                         const rill_record_t *record, rill_collector_t *out, bool *skipped)
{
    s_window_t *state = self->state;
    s_bounds_t merged = {time, rill_time_add(time, self->spec->window.gap)};
    if (s_index_key(state, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(state->state_key->data, state->state_key->size);
    rill_keyed_entry_t *index =
        rill_keyed_table_find(state->table, state->state_key->data, state->state_key->size, hash);
    size_t count = index ? index->value_size / sizeof(s_bounds_t) : 0;
    s_bounds_t *sessions = NULL;
    if (count) {
        sessions = malloc(count * sizeof(s_bounds_t));
        if (!sessions)
            return -1;
        memcpy(sessions, rill_keyed_entry_value(index), count * sizeof(s_bounds_t));
    }
    //  Grow the new window over overlapping sessions until nothing more overlaps.
    bool *absorbed = calloc(count + 1, sizeof(bool));
    bool grew = true;
    while (grew) {
        grew = false;
        for (size_t i = 0; i < count; i++)
            if (!absorbed[i] && sessions[i].start < merged.end && merged.start < sessions[i].end) {
                absorbed[i] = true;
                merged.start = sessions[i].start < merged.start ? sessions[i].start : merged.start;
                merged.end = sessions[i].end > merged.end ? sessions[i].end : merged.end;
                grew = true;
            }
    }
    int rc = 0;
    *skipped = s_window_late(state, self, merged);
    if (*skipped)
        goto cleanup;
    //  Gather the absorbed sessions' values into the merged window, then add the record.
    bool exists = false;
    rill_buffer_reset(state->other);
    rill_buffer_t *gathered = rill_buffer_new();
    rc = -1;
    if (!gathered)
        goto cleanup;
    for (size_t i = 0; i < count; i++) {
        if (!absorbed[i])
            continue;
        if (sessions[i].start == merged.start && sessions[i].end == merged.end) {
            exists = true;
            continue; //  already the merged window: its state stays where it is
        }
        if (s_state_key(state, key, key_size, sessions[i]))
            goto done;
        uint64_t h = rill_keyed_hash(state->state_key->data, state->state_key->size);
        rill_keyed_entry_t *old = rill_keyed_table_find(state->table, state->state_key->data,
                                                        state->state_key->size, h);
        if (old && s_merge(self, gathered, rill_keyed_entry_value(old), old->value_size))
            goto done;
        rill_keyed_table_remove(state->table, state->state_key->data, state->state_key->size, h);
        if (s_index_remove(state, key, key_size, sessions[i]))
            goto done;
    }
    if (gathered->size) {
        //  Fold the gathered values into the merged window's value.
        if (s_state_key(state, key, key_size, merged))
            goto done;
        uint64_t h = rill_keyed_hash(state->state_key->data, state->state_key->size);
        rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, state->state_key->data,
                                                          state->state_key->size, h);
        rill_buffer_reset(state->value);
        if (entry)
            rill_buffer_set(state->value, rill_keyed_entry_value(entry), entry->value_size);
        if (s_merge(self, state->value, gathered->data, gathered->size) ||
            !rill_keyed_table_put(state->table, state->state_key->data, state->state_key->size,
                                  h, state->value->data, state->value->size, 0))
            goto done;
    }
    bool created;
    if (s_add(self, key, key_size, merged, record, &created))
        goto done;
    if (!exists) {
        if (s_schedule(self, merged))
            goto done;
        //  Record the merged window in the key's index.
        s_bounds_t add = merged;
        if (s_index_key(state, key, key_size))
            goto done;
        uint64_t h = rill_keyed_hash(state->state_key->data, state->state_key->size);
        rill_keyed_entry_t *idx = rill_keyed_table_find(state->table, state->state_key->data,
                                                        state->state_key->size, h);
        if (!idx)
            idx = rill_keyed_table_put(state->table, state->state_key->data,
                                       state->state_key->size, h, NULL, 0, 0);
        size_t old = idx ? idx->value_size : 0;
        uint8_t *at = idx ? rill_keyed_table_resize(idx, old + sizeof add) : NULL;
        if (!at)
            goto done;
        memcpy(at + old, &add, sizeof add);
        if (s_state_key(state, key, key_size, merged))
            goto done;
    }
    rc = 0;
    if (s_window_due(state, merged))
        rc = s_fire(self, state->state_key->data, state->state_key->size, false, out);
done:
    rill_buffer_destroy(&gathered);
cleanup:
    free(sessions);
    free(absorbed);
    return rc;
}

//  Count windows: one list per key (bounds 0, 0) with a counter of records since it fired.
static int s_add_counted(rill_operator_t *self, const void *key, size_t key_size,
                         const rill_record_t *record, rill_collector_t *out)
{
    s_window_t *state = self->state;
    const rill_window_t *window = &self->spec->window;
    bool created;
    if (s_add(self, key, key_size, (s_bounds_t){0, 0}, record, &created))
        return -1;
    uint64_t hash = rill_keyed_hash(state->state_key->data, state->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(state->table, state->state_key->data, state->state_key->size, hash);
    long count = s_decode(state, rill_keyed_entry_value(entry), entry->value_size);
    if (count < 0)
        return s_fail(self, "corrupt window state");
    //  Keep the last `size` records (the evictor of a sliding count window).
    if (count > window->size) {
        const uint8_t *keep = state->records[count - window->size].data;
        size_t drop = (size_t)(keep - RILL_RECORD_HEADER_SIZE - rill_keyed_entry_value(entry));
        uint8_t *value = (uint8_t *)rill_keyed_entry_value(entry);
        memmove(value, value + drop, entry->value_size - drop);
        rill_keyed_table_resize(entry, entry->value_size - drop);
        count = window->size;
        s_decode(state, rill_keyed_entry_value(entry), entry->value_size);
    }
    //  The records seen since the last firing: a tumbling window fires when it is full, a
    //  sliding one every `slide` records. The counter lives in the entry's timestamp field.
    entry->timestamp++;
    int64_t every = window->kind == RILL_WINDOW_COUNT_TUMBLING ? window->size : window->slide;
    if (entry->timestamp < every)
        return 0;
    entry->timestamp = 0;
    //  Bounds from the earliest and latest timestamp, whatever the records' order, so start
    //  <= end always; records without a timestamp do not count. The result carries the latest
    //  timestamp (end - 1 unless end saturated, as for a time window).
    int64_t earliest = INT64_MAX, latest = RILL_NO_TIMESTAMP;
    for (long i = 0; i < count; i++) {
        int64_t t = state->records[i].timestamp;
        if (t == RILL_NO_TIMESTAMP)
            continue;
        earliest = t < earliest ? t : earliest;
        latest = t > latest ? t : latest;
    }
    s_bounds_t bounds = {RILL_NO_TIMESTAMP, RILL_NO_TIMESTAMP};
    if (latest != RILL_NO_TIMESTAMP)
        bounds = (s_bounds_t){earliest, rill_time_add(latest, 1)};
    if (s_emit_window(self, key, key_size, bounds, latest, rill_keyed_entry_value(entry),
                      entry->value_size, out))
        return -1;
    if (window->kind == RILL_WINDOW_COUNT_TUMBLING) {
        entry = rill_keyed_table_find(state->table, state->state_key->data,
                                      state->state_key->size, hash);
        if (entry)
            rill_keyed_table_remove(state->table, state->state_key->data, state->state_key->size,
                                    hash);
    }
    return 0;
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_window_t *state = self->state;
    const rill_window_t *window = &self->spec->window;
    rill_key_t key;
    if (state->keys[input].fn(record, &key, state->keys[input].ctx))
        return s_fail(self, "key extractor failed");
    //  The key may point into the record or into key.scratch; copy it out of the way of the
    //  scratch buffers reused below.
    uint8_t key_copy[256];
    uint8_t *key_bytes = key.size <= sizeof key_copy ? key_copy : malloc(key.size);
    if (!key_bytes)
        return -1;
    memcpy(key_bytes, key.data, key.size);
    int rc = 0;
    if (window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING) {
        rc = s_add_counted(self, key_bytes, key.size, record, out);
        goto done;
    }
    int64_t time = state->event_time ? record->timestamp : rill_clock_wall_ms();
    if (time == RILL_NO_TIMESTAMP) {
        rc = s_fail(self, "an event-time window got a record without a timestamp (assign "
                          "timestamps first)");
        goto done;
    }
    bool skipped = true;
    if (window->kind == RILL_WINDOW_SESSION) {
        rc = s_add_session(self, key_bytes, key.size, time, record, out, &skipped);
    } else {
        int64_t size = window->size;
        int64_t slide = window->kind == RILL_WINDOW_SLIDING ? window->slide : size;
        assert(size > 0 && slide > 0); //  the planner refuses anything else
        //  offset = time - start of a window holding the record: [0, slide) for the latest,
        //  one slide more for each earlier one, while it stays below size. Working on offsets
        //  rather than starts keeps every step in range; a start before INT64_MIN saturates
        //  there, and the windows earlier still cannot be represented.
        int64_t offset = time % slide;
        if (offset < 0)
            offset += slide;
        for (; offset < size && rc == 0; offset = rill_time_add(offset, slide)) {
            s_bounds_t bounds = {rill_time_sub(time, offset), rill_time_add(time, size - offset)};
            if (!s_window_late(state, self, bounds)) {
                skipped = false;
                rc = s_add_timed(self, key_bytes, key.size, bounds, record, out);
            }
            if (bounds.start == INT64_MIN)
                break;
        }
    }
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
    s_window_t *state = self->state;
    rill_timer_t timer;
    while (rill_timer_heap_pop(state->timers, until, &timer)) {
        bool cleanup = timer.tag == S_CLEANUP;
        bool lateness = state->event_time && self->spec->window.allowed_lateness > 0;
        int rc = 0;
        if (!cleanup || !lateness)
            rc = s_fire(self, timer.key, timer.key_size, cleanup, out);
        else {
            uint64_t hash = rill_keyed_hash(timer.key, timer.key_size);
            rill_keyed_table_remove(state->table, timer.key, timer.key_size, hash);
        }
        if (rc == 0 && cleanup && self->spec->window.kind == RILL_WINDOW_SESSION) {
            rill_buffer_t view = {timer.key, timer.key_size, timer.key_size};
            size_t key_size;
            const uint8_t *key = s_key_of(&view, &key_size);
            rc = s_index_remove(state, key, key_size, s_bounds_of(timer.key, timer.key_size));
        }
        free(timer.key);
        if (rc)
            return -1;
    }
    return 0;
}

static int s_on_watermark(rill_operator_t *self, int64_t watermark, rill_collector_t *out)
{
    s_window_t *state = self->state;
    state->watermark = watermark;
    return state->event_time ? s_run_timers(self, watermark, out) : 0;
}

static int64_t s_next_tick(rill_operator_t *self)
{
    s_window_t *state = self->state;
    return state->event_time ? INT64_MAX : rill_timer_heap_next(state->timers);
}

static int s_on_tick(rill_operator_t *self, int64_t now, rill_collector_t *out)
{
    return s_run_timers(self, now, out);
}

//  At the end of input every window fires: event time got +infinity as its last watermark;
//  processing-time windows fire here rather than be lost.
static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    return s_run_timers(self, INT64_MAX, out);
}

static void s_close(rill_operator_t *self)
{
    s_window_t *state = self->state;
    if (!state)
        return;
    rill_keyed_table_destroy(&state->table);
    rill_timer_heap_destroy(&state->timers);
    rill_buffer_destroy(&state->state_key);
    rill_buffer_destroy(&state->value);
    rill_buffer_destroy(&state->other);
    free(state->records);
    free(state->keys);
    free(state);
}

static const rill_operator_vtable_t s_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_watermark = s_on_watermark,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
};

int rill_op_window_open(rill_operator_t *self)
{
    s_window_t *state = calloc(1, sizeof(s_window_t));
    if (!state)
        return -1;
    self->vtable = &s_vtable;
    self->state = state;
    const rill_window_t *window = &self->spec->window;
    bool counted =
        window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    //  The planner refused anything else (rill_plan.c, s_check_window).
    assert(window->kind == RILL_WINDOW_SESSION ? window->gap > 0 : window->size > 0);
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
        return s_fail(self, "out of memory");
    return 0;
}
