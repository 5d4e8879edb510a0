/*  rill_window_count.c: count windows. Each key has one list of its records (state key bounds
    0, 0) and a count of the records since the window last fired. A tumbling window fires when
    it holds `size` records and starts over; a sliding one keeps the last `size` records (the
    evictor) and fires every `slide` records. */
#include "rill_time_math.h"
#include "rill_window_private.h"

#include <assert.h>
#include <string.h>

int rill_window_count_add(rill_operator_t *self, const void *key, size_t key_size,
                          const rill_record_t *record, rill_collector_t *out)
{
    assert(self && record && out);
    rill_window_op_t *op = self->state;
    const rill_window_t *window = &self->spec->window;
    assert(op->lists && window->size > 0); //  rill_op_window_open and the planner see to it
    bool created;
    if (rill_window_add(self, key, key_size, (rill_window_bounds_t){0, 0}, record, &created))
        return -1;
    uint64_t hash = rill_keyed_hash(op->state_key->data, op->state_key->size);
    rill_keyed_entry_t *entry =
        rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
    assert(entry); //  rill_window_add just stored it
    long count = rill_window_list_decode(rill_keyed_entry_value(entry), entry->value_size,
                                         &op->records, &op->records_capacity);
    if (count < 0)
        return rill_window_fail(self, "corrupt window state");
    //  Keep the last `size` records (the evictor of a sliding count window).
    if (count > window->size) {
        const uint8_t *keep = op->records[count - window->size].data;
        size_t drop =
            (size_t)(keep - RILL_WINDOW_ENTRY_HEADER_SIZE - rill_keyed_entry_value(entry));
        uint8_t *value = (uint8_t *)rill_keyed_entry_value(entry);
        memmove(value, value + drop, entry->value_size - drop);
        rill_keyed_table_resize(entry, entry->value_size - drop);
        count = rill_window_list_decode(rill_keyed_entry_value(entry), entry->value_size,
                                        &op->records, &op->records_capacity);
        assert(count == window->size); //  what was kept decoded a moment ago
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
        int64_t t = op->records[i].timestamp;
        if (t == RILL_NO_TIMESTAMP)
            continue;
        earliest = t < earliest ? t : earliest;
        latest = t > latest ? t : latest;
    }
    rill_window_bounds_t bounds = {RILL_NO_TIMESTAMP, RILL_NO_TIMESTAMP};
    if (latest != RILL_NO_TIMESTAMP)
        bounds = (rill_window_bounds_t){earliest, rill_time_add(latest, 1)};
    if (rill_window_emit(self, key, key_size, bounds, latest, rill_keyed_entry_value(entry),
                         entry->value_size, out))
        return -1;
    if (window->kind == RILL_WINDOW_COUNT_TUMBLING) {
        entry = rill_keyed_table_find(op->table, op->state_key->data, op->state_key->size, hash);
        if (entry)
            rill_keyed_table_remove(op->table, op->state_key->data, op->state_key->size, hash);
    }
    return 0;
}
