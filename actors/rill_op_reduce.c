/*  rill_op_reduce.c: keyed reduce and the built-in aggregations (sum, count, min, max). State
    is one rill_keyed_table per subtask. In streaming mode every update is emitted; in batch
    mode each key's final value is emitted once, when the input ends. */
#include "rill_keyed_table.h"
#include "rill_operator.h"
#include "rill_buffer_private.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  A built-in aggregation's accumulator, stored as the table's value bytes.
typedef struct {
    int64_t integer;
    double real;
    bool is_real; //  once any input is not an integer, the aggregate is a double
} s_number_t;

typedef struct {
    rill_keyed_table_t *table;
    rill_key_fn *keys; //  key extractor per input edge
    void **key_ctxs;
} s_reduce_t;

//  Parses the last TAB-separated field of a record as a number.
static int s_parse_number(const rill_record_t *record, s_number_t *number)
{
    const char *start = record->data, *end = start + record->size;
    const char *field = end;
    while (field > start && field[-1] != '\t')
        field--;
    char text[64];
    size_t size = (size_t)(end - field);
    if (size == 0 || size >= sizeof text)
        return -1;
    memcpy(text, field, size);
    text[size] = 0;
    char *rest;
    errno = 0;
    long long integer = strtoll(text, &rest, 10);
    if (*rest == 0 && errno == 0) {
        *number = (s_number_t){.integer = integer, .real = (double)integer};
        return 0;
    }
    errno = 0;
    double real = strtod(text, &rest);
    if (*rest != 0 || errno != 0 || isnan(real))
        return -1;
    *number = (s_number_t){.real = real, .is_real = true};
    return 0;
}

static void s_combine(rill_agg_t agg, s_number_t *acc, const s_number_t *in)
{
    bool real = acc->is_real || in->is_real;
    switch (agg) {
    case RILL_AGG_SUM:
    case RILL_AGG_COUNT:
        acc->integer += in->integer;
        acc->real += in->real;
        break;
    case RILL_AGG_MIN:
        if (in->real < acc->real || (!real && in->integer < acc->integer))
            acc->integer = in->integer, acc->real = in->real;
        break;
    case RILL_AGG_MAX:
        if (in->real > acc->real || (!real && in->integer > acc->integer))
            acc->integer = in->integer, acc->real = in->real;
        break;
    default:
        break;
    }
    acc->is_real = real;
}

//  Writes "KEY<TAB>VALUE" (built-ins) or the stored record (user reduce) and emits it.
static int s_emit(rill_operator_t *self, const rill_keyed_entry_t *entry, rill_collector_t *out)
{
    if (self->spec->agg == RILL_AGG_NONE)
        return rill_collector_emit(out, rill_keyed_entry_value(entry), entry->value_size,
                                   entry->timestamp);
    s_number_t number;
    memcpy(&number, rill_keyed_entry_value(entry), sizeof number);
    rill_buffer_t *text = self->scratch;
    rill_buffer_set(text, rill_keyed_entry_key(entry), entry->key_size);
    int rc = number.is_real ? rill_buffer_appendf(text, "\t%.17g", number.real)
                            : rill_buffer_appendf(text, "\t%" PRId64, number.integer);
    if (rc)
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
    if (state->keys[input](record, &key, state->key_ctxs[input]))
        return s_fail(self, "key extractor failed");
    uint64_t hash = rill_keyed_hash(key.data, key.size);
    rill_keyed_entry_t *entry = rill_keyed_table_find(state->table, key.data, key.size, hash);
    const void *value;
    size_t value_size;
    s_number_t number = {.integer = 1, .real = 1};
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
        if (agg != RILL_AGG_COUNT && s_parse_number(record, &number)) {
            snprintf(self->error, sizeof self->error,
                     "record '%.*s' has no number in its last field", (int)(record->size > 60 ? 60 : record->size),
                     (const char *)record->data);
            return -1;
        }
        if (entry) {
            s_number_t acc;
            memcpy(&acc, rill_keyed_entry_value(entry), sizeof acc);
            s_combine(agg, &acc, &number);
            number = acc;
        }
        value = &number;
        value_size = sizeof number;
    }
    int64_t timestamp = record->timestamp;
    if (entry && entry->timestamp != RILL_NO_TIMESTAMP && entry->timestamp > timestamp)
        timestamp = entry->timestamp;
    entry = rill_keyed_table_put(state->table, key.data, key.size, hash, value, value_size,
                                 timestamp);
    if (!entry)
        return s_fail(self, "out of memory for keyed state");
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
    free(state->key_ctxs);
    free(state);
}

static const rill_operator_vtable_t s_reduce_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .close = s_close,
};

int rill_op_reduce_open(rill_operator_t *self)
{
    s_reduce_t *state = calloc(1, sizeof(s_reduce_t));
    if (!state)
        return -1;
    self->vtable = &s_reduce_vtable;
    self->state = state;
    int inputs = self->op->input_count;
    state->table = rill_keyed_table_new();
    state->keys = calloc((size_t)inputs, sizeof(rill_key_fn));
    state->key_ctxs = calloc((size_t)inputs, sizeof(void *));
    if (!state->table || !state->keys || !state->key_ctxs)
        return s_fail(self, "out of memory");
    const rill_graph_t *graph = rill_plan_graph(self->plan);
    for (int i = 0; i < inputs; i++) {
        const rill_edge_spec_t *edge =
            rill_graph_edge(graph, rill_plan_input_edge(self->plan, self->op->id, i));
        state->keys[i] = edge->key;
        state->key_ctxs[i] = edge->key_ctx;
    }
    return 0;
}
