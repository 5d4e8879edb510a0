/*  rill_window_fire.c: what a window computes. Accumulating functions (built-in aggregates,
    aggregate functions, reduce) fold each record into the window's value as it arrives and
    merge values when sessions merge; process functions and count windows keep the records and
    see them all when the window fires. Firing formats the result and emits it through the
    subtask's collector. */
#include "rill_number.h"
#include "rill_window_private.h"

#include <assert.h>
#include <string.h>

int rill_window_fold(rill_operator_t *self, rill_buffer_t *value, const rill_record_t *record)
{
    assert(self && value && record);
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
            return rill_window_fail(self, "a record has no number in its last field");
        return rill_buffer_set(value, &acc, sizeof acc);
    }
    case RILL_WINDOW_FN_AGGREGATE: {
        if (fresh) {
            void *acc = rill_buffer_reserve(value, spec->aggregate.accumulator_size);
            if (!acc)
                return -1;
            bool timed = rill_busy_split_user_begin(self->busy_split);
            spec->aggregate.create(acc, self->ctx);
            rill_busy_split_user_end(self->busy_split, timed);
        }
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = spec->aggregate.add(value->data, record, self->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc)
            return rill_window_fail(self, "aggregate add function failed");
        return 0;
    }
    case RILL_WINDOW_FN_REDUCE: {
        if (fresh)
            return rill_buffer_set(value, record->data, record->size);
        rill_window_op_t *op = self->state;
        rill_record_t acc = {value->data, value->size, RILL_NO_TIMESTAMP};
        rill_buffer_reset(op->other);
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = spec->window_reduce(&acc, record, op->other, self->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc)
            return rill_window_fail(self, "reduce function failed");
        return rill_buffer_set(value, op->other->data, op->other->size);
    }
    default:
        return rill_window_fail(self, "window function kind cannot fold");
    }
}

int rill_window_merge(rill_operator_t *self, rill_buffer_t *value, const uint8_t *other,
                      size_t size)
{
    assert(self && value && (other || size == 0));
    rill_window_op_t *op = self->state;
    const rill_operator_spec_t *spec = self->spec;
    if (value->size == 0)
        return rill_buffer_set(value, other, size);
    if (op->lists)
        return rill_buffer_append(value, other, size);
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_BUILTIN: {
        rill_number_acc_t acc, more;
        memcpy(&acc, value->data, sizeof acc);
        memcpy(&more, other, sizeof more);
        rill_number_acc_merge(&acc, &more);
        return rill_buffer_set(value, &acc, sizeof acc);
    }
    case RILL_WINDOW_FN_AGGREGATE: {
        if (!spec->aggregate.merge)
            return rill_window_fail(self, "session windows need the aggregate's merge function");
        bool timed = rill_busy_split_user_begin(self->busy_split);
        spec->aggregate.merge(value->data, other, self->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        return 0;
    }
    case RILL_WINDOW_FN_REDUCE: {
        rill_record_t record = {other, size, RILL_NO_TIMESTAMP};
        return rill_window_fold(self, value, &record);
    }
    default:
        return -1;
    }
}

int rill_window_emit(rill_operator_t *self, const void *key, size_t key_size,
                     rill_window_bounds_t bounds, int64_t timestamp, const uint8_t *value,
                     size_t value_size, rill_collector_t *out)
{
    assert(self && out && (key || key_size == 0));
    rill_window_op_t *op = self->state;
    const rill_operator_spec_t *spec = self->spec;
    rill_key_t window_key = {.data = key, .size = key_size};
    rill_window_bounds_t window = bounds;
    if (op->lists) {
        long count =
            rill_window_list_decode(value, value_size, &op->records, &op->records_capacity);
        if (count < 0)
            return rill_window_fail(self, "corrupt window state");
        if (spec->window_fn == RILL_WINDOW_FN_PROCESS) {
            bool timed = rill_busy_split_user_begin(self->busy_split);
            rill_collector_inherit(out, timestamp); //  what the window's results carry
            int rc = spec->fn.window_process(&window, &window_key, op->records, (size_t)count,
                                             out, self->ctx);
            rill_collector_inherit_end(out);
            rill_busy_split_user_end(self->busy_split, timed);
            if (rc)
                return out->stopping ? -1
                                     : rill_window_fail(self, "window process function failed");
            return 0;
        }
        //  Count windows with an accumulating function: fold the kept records now.
        rill_buffer_reset(op->value);
        for (long i = 0; i < count; i++)
            if (rill_window_fold(self, op->value, &op->records[i]))
                return -1;
        value = op->value->data;
        value_size = op->value->size;
    }
    rill_buffer_t *text = self->scratch;
    rill_buffer_reset(text);
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_AGGREGATE: {
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = spec->aggregate.result(value, &window, &window_key, text, self->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc)
            return rill_window_fail(self, "aggregate result function failed");
        break;
    }
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

int rill_window_fire(rill_operator_t *self, const uint8_t *state_key, size_t size, bool remove,
                     rill_collector_t *out)
{
    assert(self && state_key && size >= RILL_WINDOW_BOUNDS_SIZE);
    rill_window_op_t *op = self->state;
    uint64_t hash = rill_keyed_hash(state_key, size);
    rill_keyed_entry_t *entry = rill_keyed_table_find(op->table, state_key, size, hash);
    if (!entry)
        return 0; //  merged into another session, or already cleaned up
    rill_window_bounds_t bounds = rill_window_state_key_bounds(state_key, size);
    //  A time window's result carries its max timestamp, end - 1 (Flink's maxTimestamp()).
    if (rill_window_emit(self, state_key, size - RILL_WINDOW_BOUNDS_SIZE, bounds, bounds.end - 1,
                         rill_keyed_entry_value(entry), entry->value_size, out))
        return -1;
    if (remove)
        rill_keyed_table_remove(op->table, state_key, size, hash);
    return 0;
}
