/*  rill_window_session.c: session windows. A record at time t opens the window [t, t + gap);
    every open session of its key that this window overlaps is absorbed, the merged window
    growing until nothing more overlaps, and their values merge into it. Each key keeps an
    index of its open sessions (a list of bounds under the state key with bounds INT64_MIN,
    INT64_MIN), updated as sessions merge or are cleaned up. */
#include "rill_time_math.h"
#include "rill_window_private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int rill_window_session_forget(rill_window_op_t *op, const void *key, size_t key_size,
                               rill_window_bounds_t gone)
{
    assert(op);
    if (rill_window_state_key_index(op->state_key, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    if (!entry)
        return 0;
    //  The list sits right after the key bytes, so it may be unaligned: copy, never cast.
    uint8_t *list = (uint8_t *)rill_keyed_entry_value(entry);
    size_t count = entry->value_size / sizeof(rill_window_bounds_t), kept = 0;
    for (size_t i = 0; i < count; i++) {
        rill_window_bounds_t bounds;
        memcpy(&bounds, list + i * sizeof bounds, sizeof bounds);
        if (bounds.start != gone.start || bounds.end != gone.end)
            memcpy(list + kept++ * sizeof bounds, &bounds, sizeof bounds);
    }
    if (kept == 0)
        rill_keyed_table_remove(op->table, op->state_key->data, op->state_key->size, hash);
    else
        rill_keyed_table_resize(entry, kept * sizeof(rill_window_bounds_t));
    return 0;
}

int rill_window_session_index_add(rill_window_op_t *op, const void *key, size_t key_size,
                                  rill_window_bounds_t merged)
{
    assert(op);
    if (rill_window_state_key_index(op->state_key, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *index =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    if (!index)
        index = rill_keyed_table_put(op->table, op->state_key->data, op->state_key->size, hash,
                                     NULL, 0, 0);
    size_t old = index ? index->value_size : 0;
    uint8_t *at = index ? rill_keyed_table_resize(index, old + sizeof merged) : NULL;
    if (!at)
        return -1;
    memcpy(at + old, &merged, sizeof merged);
    return 0;
}

void rill_window_session_grow(const rill_window_bounds_t *sessions, size_t count, bool *taken,
                              rill_window_bounds_t *merged)
{
    assert((sessions || count == 0) && (taken || count == 0) && merged);
    //  Windows that only touch merge too: Flink's TimeWindow.intersects counts the bounds.
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < count; i++)
            if (!taken[i] && sessions[i].start <= merged->end && merged->start <= sessions[i].end) {
                taken[i] = true;
                merged->start = sessions[i].start < merged->start ? sessions[i].start
                                                                  : merged->start;
                merged->end = sessions[i].end > merged->end ? sessions[i].end : merged->end;
                grew = true;
            }
    }
}

int rill_window_session_add(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                            const rill_record_t *record, rill_collector_t *out, bool *skipped)
{
    assert(self && record && skipped);
    rill_window_op_t *op = self->state;
    //  Flink's DynamicEventTimeSessionWindows: each record may bring its own gap.
    const rill_window_t *window = &self->spec->window;
    int64_t gap = window->gap_fn ? window->gap_fn(record, window->gap_ctx) : window->gap;
    if (gap <= 0)
        return rill_window_fail(self, "the session gap function gave a gap <= 0 ms");
    rill_window_bounds_t merged = {time, rill_time_add(time, gap)};
    *skipped = true;
    if (rill_window_state_key_index(op->state_key, key, key_size))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *index =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    size_t count = index ? index->value_size / sizeof(rill_window_bounds_t) : 0;
    //  Copies: the index entry moves as the table changes below.
    rill_window_bounds_t *sessions = NULL;
    bool *absorbed = calloc(count + 1, sizeof(bool));
    rill_buffer_t *gathered = NULL;
    int rc = -1;
    if (!absorbed) {
        rill_window_fail(self, "out of memory for session windows");
        goto cleanup;
    }
    if (count) {
        sessions = malloc(count * sizeof(rill_window_bounds_t));
        if (!sessions) {
            rill_window_fail(self, "out of memory for session windows");
            goto cleanup;
        }
        memcpy(sessions, rill_keyed_entry_value(index), count * sizeof(rill_window_bounds_t));
    }
    rill_window_session_grow(sessions, count, absorbed, &merged);
    *skipped = rill_window_late(self, merged);
    if (*skipped) {
        rc = 0;
        goto cleanup;
    }
    //  Gather the absorbed sessions' values into the merged window, then add the record.
    bool exists = false;
    gathered = rill_buffer_new();
    if (!gathered) {
        rill_window_fail(self, "out of memory for session windows");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        if (!absorbed[i])
            continue;
        if (sessions[i].start == merged.start && sessions[i].end == merged.end) {
            exists = true;
            continue; //  already the merged window: its state stays where it is
        }
        if (rill_window_state_key_set(op->state_key, key, key_size, sessions[i]))
            goto cleanup;
        uint64_t h = rill_keyed_hash(op->state_key->data, op->state_key->size);
        rill_keyed_entry_t *old =
            rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, h);
        if (old && rill_window_merge(self, gathered, rill_keyed_entry_value(old), old->value_size))
            goto cleanup;
        rill_keyed_table_remove(op->table, op->state_key->data, op->state_key->size, h);
        if (rill_window_session_forget(op, key, key_size, sessions[i]))
            goto cleanup;
    }
    if (gathered->size) {
        //  Fold the gathered values into the merged window's value.
        if (rill_window_state_key_set(op->state_key, key, key_size, merged))
            goto cleanup;
        uint64_t h = rill_keyed_hash(op->state_key->data, op->state_key->size);
        rill_keyed_entry_t *entry =
            rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, h);
        rill_buffer_reset(op->value);
        if (entry)
            rill_buffer_set(op->value, rill_keyed_entry_value(entry), entry->value_size);
        if (rill_window_merge(self, op->value, gathered->data, gathered->size) ||
            !rill_keyed_table_put(op->table, op->state_key->data, op->state_key->size, h,
                                  op->value->data, op->value->size, 0))
            goto cleanup;
    }
    bool created;
    if (rill_window_add(self, key, key_size, merged, record, &created))
        goto cleanup;
    if (!exists) {
        if (rill_window_schedule(self, merged) || rill_window_session_index_add(op, key, key_size, merged) ||
            rill_window_state_key_set(op->state_key, key, key_size, merged))
            goto cleanup;
    }
    rc = 0;
    if (rill_window_due(op, merged))
        rc = rill_window_fire(self, op->state_key->data, op->state_key->size, false, out);
cleanup:
    rill_buffer_destroy(&gathered);
    free(sessions);
    free(absorbed);
    return rc;
}
