/*  rill_op_reduce.c: keyed reduce and the built-in aggregations (sum, count, min, max). State
    is one rill_keyed_table per subtask. In streaming mode every update is emitted, or with a
    mini-batch the latest value of each changed key once per interval, before a watermark
    goes on and at the end; in batch mode each key's final value is emitted once, when the
    input ends. On a combined input edge (rill_plan_edge_t.combined) the senders' combiners
    send partial results (rill_partial.h), which are merged here as records are folded. */
#include "rill_keyed_snapshot.h"
#include "rill_keyed_table.h"
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_buffer_private.h"
#include "rill_clock.h"
#include "rill_partial.h"
#include "rill_plan_private.h"

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
    bool *combined;         //  per input edge: it carries partial results
    int mini_batch_ms;      //  streaming mini-batch interval; 0: emit every update
    int64_t next_emit;      //  wall ms when the changed keys go; INT64_MAX: none changed
    rill_buffer_t *changed; //  the keys changed since the last emit: u32 size, bytes
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

//  Marks an updated key for the next mini-batch emit (once per key per interval).
static int s_changed(rill_operator_t *self, rill_keyed_entry_t *entry)
{
    s_reduce_t *state = self->state;
    if (entry->mark)
        return 0;
    entry->mark = 1;
    uint32_t size = entry->key_size;
    if (rill_buffer_append(state->changed, &size, sizeof size) ||
        rill_buffer_append(state->changed, rill_keyed_entry_key(entry), size))
        return s_fail(self, "out of memory");
    if (state->next_emit == INT64_MAX)
        state->next_emit = rill_operator_now_ms(self) + state->mini_batch_ms;
    return 0;
}

//  What follows an update of entry: emit it (streaming), note it (mini-batch), or nothing
//  until the end (batch).
static int s_updated(rill_operator_t *self, rill_keyed_entry_t *entry, rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    if (self->mode != RILL_MODE_STREAMING)
        return 0;
    return state->mini_batch_ms ? s_changed(self, entry) : s_emit(self, entry, out);
}

//  Emits the latest value of every key changed since the last time.
static int s_emit_changed(rill_operator_t *self, rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    const uint8_t *at = state->changed->data, *end = at + state->changed->size;
    while (at < end) {
        uint32_t size;
        memcpy(&size, at, sizeof size);
        const uint8_t *key = at + sizeof size;
        at = key + size;
        rill_keyed_entry_t *entry =
            rill_keyed_table_find(state->table, key, size, rill_keyed_hash(key, size));
        assert(entry && entry->mark); //  reduce state is never removed
        entry->mark = 0;
        if (s_emit(self, entry, out))
            return -1;
    }
    rill_buffer_reset(state->changed);
    state->next_emit = INT64_MAX;
    return 0;
}

//  Stores value (bytes, or an accumulator) as key's, reusing the entry when it fits.
static rill_keyed_entry_t *s_store(rill_operator_t *self, rill_keyed_entry_t *entry,
                                   const rill_key_t *key, uint64_t hash, const void *value,
                                   size_t value_size, int64_t timestamp)
{
    s_reduce_t *state = self->state;
    if (entry && entry->timestamp != RILL_NO_TIMESTAMP && entry->timestamp > timestamp)
        timestamp = entry->timestamp;
    if (entry && value_size <= entry->capacity) {
        //  The common case, an update that fits: write in place, no second probe. A built-in
        //  aggregation copies a constant size, which the compiler inlines (no memmove call).
        uint8_t *slot = (uint8_t *)rill_keyed_entry_value(entry);
        if (self->spec->agg != RILL_AGG_NONE)
            memcpy(slot, value, sizeof(rill_number_acc_t));
        else if (value_size) //  a reduce function may return nothing: value is then NULL
            memcpy(slot, value, value_size);
        entry->value_size = (uint32_t)value_size;
        entry->timestamp = timestamp;
        return entry;
    }
    entry = rill_keyed_table_put(state->table, key->data, key->size, hash, value, value_size,
                                 timestamp);
    if (!entry)
        s_fail(self, "out of memory for keyed state");
    return entry;
}

//  Folds one record into its key's state.
static int s_fold(rill_operator_t *self, const rill_record_t *record, const rill_key_t *key,
                  uint64_t hash, rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, key->data, key->size, hash);
    const void *value;
    size_t value_size;
    rill_number_acc_t acc;
    rill_agg_t agg = self->spec->agg;
    if (agg == RILL_AGG_NONE) {
        if (entry) {
            rill_record_t acc = {rill_keyed_entry_value(entry), entry->value_size,
                                 entry->timestamp};
            rill_buffer_reset(self->scratch);
            bool timed = rill_busy_split_user_begin(self->busy_split);
            int rc = self->spec->fn.reduce(&acc, record, self->scratch, self->ctx);
            rill_busy_split_user_end(self->busy_split, timed);
            if (rc)
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
    entry = s_store(self, entry, key, hash, value, value_size, record->timestamp);
    return entry ? s_updated(self, entry, out) : -1;
}

//  Merges a sender's partial result into its key's state: the same as folding, one by one,
//  the records the sender folded into it (for a reduce function, as it is associative).
static int s_merge(rill_operator_t *self, const rill_partial_t *partial, int64_t timestamp,
                   rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    rill_key_t key = {.data = partial->key, .size = partial->key_size};
    uint64_t hash = rill_keyed_hash(key.data, key.size);
    rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, key.data, key.size, hash);
    const void *value = partial->value;
    size_t value_size = partial->value_size;
    rill_number_acc_t acc;
    rill_agg_t agg = self->spec->agg;
    if (agg == RILL_AGG_NONE) {
        if (entry) {
            rill_record_t acc = {rill_keyed_entry_value(entry), entry->value_size,
                                 entry->timestamp};
            rill_record_t more = {partial->value, partial->value_size, timestamp};
            rill_buffer_reset(self->scratch);
            bool timed = rill_busy_split_user_begin(self->busy_split);
            int rc = self->spec->fn.reduce(&acc, &more, self->scratch, self->ctx);
            rill_busy_split_user_end(self->busy_split, timed);
            if (rc)
                return s_fail(self, "user function failed");
            value = self->scratch->data;
            value_size = self->scratch->size;
        }
    } else {
        if (rill_number_acc_decode(&acc, s_results[agg], partial->value, partial->value_size))
            return s_fail(self, "a sender's partial result is malformed");
        if (entry) {
            rill_number_acc_t sum;
            memcpy(&sum, rill_keyed_entry_value(entry), sizeof sum);
            rill_number_acc_merge(&sum, &acc);
            acc = sum;
        }
        value = &acc;
        value_size = sizeof acc;
    }
    entry = s_store(self, entry, &key, hash, value, value_size, timestamp);
    return entry ? s_updated(self, entry, out) : -1;
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    if (state->combined[input]) {
        rill_partial_t partial = {0};
        if (rill_partial_read(record, &partial))
            return s_fail(self, "a sender's partial result is malformed");
        if (partial.tag == RILL_PARTIAL_FOLDED)
            return s_merge(self, &partial, record->timestamp, out);
        //  Sent as it was: fold it as any record (a combined edge carries no key hint).
        record = &partial.record;
        rill_key_t key;
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = state->keys[input].fn(record, &key, state->keys[input].ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc)
            return s_fail(self, "key extractor failed");
        return s_fold(self, record, &key, rill_keyed_hash(key.data, key.size), out);
    }
    rill_key_t key;
    uint64_t hash;
    if (rill_operator_record_key(self, state->keys, record, input, &key, &hash))
        return s_fail(self, "key extractor failed");
    return s_fold(self, record, &key, hash, out);
}

//  Mini-batch: the changed keys go when the interval is up, ...
static int64_t s_next_tick(rill_operator_t *self)
{
    s_reduce_t *state = self->state;
    return state->next_emit;
}

static int s_on_tick(rill_operator_t *self, int64_t now, rill_collector_t *out)
{
    return s_emit_changed(self, out);
}

//  ... and before a watermark goes on, so that they reach downstream windows in event time.
static int s_on_watermark(rill_operator_t *self, int64_t watermark, rill_collector_t *out)
{
    return s_emit_changed(self, out);
}

static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    s_reduce_t *state = self->state;
    if (self->mode != RILL_MODE_BATCH)
        return s_emit_changed(self, out);
    for (size_t i = 0; i < rill_keyed_table_slots(state->table); i++) {
        rill_keyed_entry_t *entry = rill_keyed_table_slot(state->table, i);
        if (entry && s_emit(self, entry, out))
            return -1;
    }
    return 0;
}

/*  Checkpoints: the reduce's keyed state (Flink's ValueState of a keyed reduce), one KEYED
    entry per key in the key's group (rill_keyed_snapshot.h: a = the key, b = timestamp then
    value: the accumulator, or the reduced record of a reduce function). Tags:
      S_TAG_VALUE   a key's value.
      S_TAG_PENDING a key's value, changed since the last mini-batch emit and not yet emitted.
    The mini-batch's changed keys are saved rather than emitted before the barrier (Flink's
    mini-batch flushes its bundle in prepareSnapshotPreBarrier; our snapshot hook gets no
    collector): the original run emitted them after the barrier too, so downstream state
    restored from the same checkpoint has not seen them, and the restored subtask emits each
    once, at its first tick, watermark or end. Pending keys are written first, in the order they
    changed, so a restore at the same parallelism emits them in the same order. */
enum { S_TAG_VALUE = 1, S_TAG_PENDING = 2 };

static const rill_operator_vtable_t s_mini_batch_vtable;

static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_reduce_t *state = self->state;
    rill_buffer_t *scratch = self->scratch;
    const uint8_t *at = state->changed->data, *end = at + state->changed->size;
    while (at < end) {
        uint32_t size;
        memcpy(&size, at, sizeof size);
        const uint8_t *key = at + sizeof size;
        at = key + size;
        uint64_t hash = rill_keyed_hash(key, size);
        rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, key, size, hash);
        assert(entry && entry->mark); //  as in s_emit_changed
        if (rill_keyed_snapshot_put_entry(out, S_TAG_PENDING, rill_key_hash_group(hash), entry,
                                          scratch))
            return s_fail(self, "out of memory for a snapshot");
    }
    for (size_t i = 0; i < rill_keyed_table_slots(state->table); i++) {
        rill_keyed_entry_t *entry = rill_keyed_table_slot(state->table, i);
        if (entry && !entry->mark &&
            rill_keyed_snapshot_put_entry(out, S_TAG_VALUE, rill_key_hash_group(entry->hash), entry,
                                          scratch))
            return s_fail(self, "out of memory for a snapshot");
    }
    return 0;
}

static int s_restore_failed(rill_operator_t *self, const rill_state_entry_t *entry, const char *why)
{
    if (entry)
        snprintf(self->error, sizeof self->error, "restoring reduce state: %s (entry tag %d)", why,
                 entry->tag);
    else
        snprintf(self->error, sizeof self->error, "restoring reduce state: %s", why);
    return -1;
}

static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_reduce_t *state = self->state;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        if (entry.tag != S_TAG_VALUE && entry.tag != S_TAG_PENDING)
            return s_restore_failed(self, &entry, "unknown entry");
        const char *why = NULL;
        rill_keyed_entry_t *put = rill_keyed_snapshot_get_entry(
            state->table, &entry, rill_keyed_snapshot_whole_key, &why);
        if (!put)
            return s_restore_failed(self, &entry, why);
        if (self->spec->agg != RILL_AGG_NONE && put->value_size != sizeof(rill_number_acc_t))
            return s_restore_failed(self, &entry, "an accumulator of the wrong size");
        if (entry.tag != S_TAG_PENDING || self->mode != RILL_MODE_STREAMING)
            continue; //  batch mode emits every key at the end anyway
        //  A pending key goes at the first tick, watermark or end, through the mini-batch
        //  path; also when the job is restored with the mini-batch off (the vtable is then
        //  switched, and later updates are still emitted one by one: mini_batch_ms is 0).
        self->vtable = &s_mini_batch_vtable;
        if (s_changed(self, put))
            return -1;
    }
    return rc < 0 ? s_restore_failed(self, NULL, "malformed snapshot") : 0;
}

static void s_close(rill_operator_t *self)
{
    s_reduce_t *state = self->state;
    if (!state)
        return;
    rill_keyed_table_destroy(&state->table);
    rill_buffer_destroy(&state->changed);
    free(state->keys);
    free(state->combined);
    free(state);
}

static const rill_operator_vtable_t s_reduce_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
};

//  With a streaming mini-batch the reduce also acts on the clock and on watermarks.
static const rill_operator_vtable_t s_mini_batch_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_watermark = s_on_watermark,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
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
    state->changed = rill_buffer_new();
    state->combined = calloc((size_t)self->op->input_count + 1, sizeof(bool));
    state->next_emit = INT64_MAX;
    if (!state->table || !state->keys || !state->changed || !state->combined)
        return s_fail(self, "out of memory");
    for (int i = 0; i < self->op->input_count; i++)
        state->combined[i] =
            rill_plan_edge(self->plan, rill_plan_input_edge(self->plan, self->op->id, i))->combined;
    const rill_graph_t *graph = rill_plan_graph(self->plan);
    if (self->mode == RILL_MODE_STREAMING && graph && rill_graph_mini_batch_ms(graph) > 0) {
        state->mini_batch_ms = rill_graph_mini_batch_ms(graph);
        self->vtable = &s_mini_batch_vtable;
    }
    return 0;
}
