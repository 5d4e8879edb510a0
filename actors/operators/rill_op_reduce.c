/*  rill_op_reduce.c: keyed reduce and the built-in aggregations (sum, count, min, max). State
    is one rill_keyed_table per subtask. In streaming mode every update is emitted; in batch
    mode each key's final value is emitted once, when the input ends. */
#include "rill_keyed_table.h"
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_buffer_private.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rill_keyed_table_t *table;
    rill_input_key_t *keys; //  key extractor per input edge
} s_reduce_t;

static const rill_number_result_t s_results[] = {
    [RILL_AGG_SUM] = RILL_NUMBER_SUM,
    [RILL_AGG_COUNT] = RILL_NUMBER_COUNT,
    [RILL_AGG_MIN] = RILL_NUMBER_MIN,
    [RILL_AGG_MAX] = RILL_NUMBER_MAX,
};

//  Writes "KEY<TAB>VALUE" (built-ins) or the stored record (user reduce) and emits it.
static int s_emit(rill_operator_t *self, const rill_keyed_entry_t *entry, rill_collector_t *out)
{
    if (self->spec->agg == RILL_AGG_NONE)
        return rill_collector_emit(out, rill_keyed_entry_value(entry), entry->value_size,
                                   entry->timestamp);
    rill_number_acc_t acc;
    memcpy(&acc, rill_keyed_entry_value(entry), sizeof acc);
    rill_buffer_t *text = self->scratch;
    if (rill_buffer_set(text, rill_keyed_entry_key(entry), entry->key_size) ||
        rill_buffer_append(text, "\t", 1) ||
        rill_number_acc_format(&acc, s_results[self->spec->agg], text))
        return -1;
    return rill_collector_emit(out, text->data, text->size, entry->timestamp);
}

static int s_fail(rill_operator_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "%s", why);
    return -1;
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    rill_key_t key;
    uint64_t hash;
    if (rill_operator_record_key(self, state->keys, record, input, &key, &hash))
        return s_fail(self, "key extractor failed");
    rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, key.data, key.size, hash);
    const void *value;
    size_t value_size;
    rill_number_acc_t acc;
    rill_agg_t agg = self->spec->agg;
    if (agg == RILL_AGG_NONE) {
        if (entry) {
            rill_record_t acc = {rill_keyed_entry_value(entry), entry->value_size,
                                 entry->timestamp};
            rill_buffer_reset(self->scratch);
            if (self->spec->fn.reduce(&acc, record, self->scratch, self->spec->ctx))
                return s_fail(self, "user function failed");
            value = self->scratch->data;
            value_size = self->scratch->size;
        } else {
            value = record->data;
            value_size = record->size;
        }
    } else {
        if (entry)
            memcpy(&acc, rill_keyed_entry_value(entry), sizeof acc);
        else
            rill_number_acc_init(&acc);
        if (rill_number_acc_add(&acc, record, agg == RILL_AGG_COUNT)) {
            snprintf(self->error, sizeof self->error,
                     "record '%.*s' has no number in its last field",
                     (int)(record->size > 60 ? 60 : record->size), (const char *)record->data);
            return -1;
        }
        value = &acc;
        value_size = sizeof acc;
    }
    int64_t timestamp = record->timestamp;
    if (entry && entry->timestamp != RILL_NO_TIMESTAMP && entry->timestamp > timestamp)
        timestamp = entry->timestamp;
    if (entry && value_size <= entry->capacity) {
        //  The common case, an update that fits: write in place, no second probe. A built-in
        //  aggregation copies a constant size, which the compiler inlines (no memmove call).
        uint8_t *slot = (uint8_t *)rill_keyed_entry_value(entry);
        if (agg != RILL_AGG_NONE)
            memcpy(slot, &acc, sizeof acc);
        else
            memcpy(slot, value, value_size);
        entry->value_size = (uint32_t)value_size;
        entry->timestamp = timestamp;
    } else {
        entry = rill_keyed_table_put(state->table, key.data, key.size, hash, value, value_size,
                                     timestamp);
        if (!entry)
            return s_fail(self, "out of memory for keyed state");
    }
    return self->mode == RILL_MODE_STREAMING ? s_emit(self, entry, out) : 0;
}

static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    if (self->mode != RILL_MODE_BATCH)
        return 0;
    for (size_t i = 0; i < rill_keyed_table_slots(state->table); i++) {
        rill_keyed_entry_t *entry = rill_keyed_table_slot(state->table, i);
        if (entry && s_emit(self, entry, out))
            return -1;
    }
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_reduce_t *state = self->state;
    if (!state)
        return;
    rill_keyed_table_destroy(&state->table);
    free(state->keys);
    free(state);
}

static const rill_operator_vtable_t s_reduce_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .close = s_close,
};

int rill_op_reduce_open(rill_operator_t *self)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self && self->spec->kind == RILL_OP_REDUCE);
    s_reduce_t *state = calloc(1, sizeof(s_reduce_t));
    if (!state)
        return -1;
    self->vtable = &s_reduce_vtable;
    self->state = state;
    state->table = rill_keyed_table_new();
    state->keys = rill_operator_input_keys(self);
    if (!state->table || !state->keys)
        return s_fail(self, "out of memory");
    return 0;
}
