/*  rill_operator.c: what every operator kind shares beyond its vtable (rill_operator.h): the
    key extractors of its input edges, read from the plan, and the user's per-subtask open and
    close with the context they are told. Kept here, below the registry
    (actors/rill_operator_registry.c), so that operators call nothing from the layer above. */
#include "rill_operator.h"
#include "rill_env.h" //  the rill_context_* accessors are public API
#include "rill_metrics_private.h"

#include <stdio.h>
#include <stdlib.h>

struct rill_context_t {
    int subtask;
    int parallelism;
    int attempt;
    const char *name;
    rill_metrics_t *metrics; //  where user metrics go (NULL: nowhere)
    int global;              //  the subtask's id in the plan
};

int rill_context_subtask(const rill_context_t *self)
{
    return self->subtask;
}

int rill_context_parallelism(const rill_context_t *self)
{
    return self->parallelism;
}

const char *rill_context_operator(const rill_context_t *self)
{
    return self->name;
}

int rill_context_attempt(const rill_context_t *self)
{
    return self->attempt;
}

static rill_metric_t *s_metric(const rill_context_t *self, const char *name, bool gauge)
{
    if (!self || !name || !self->metrics)
        return NULL;
    //  The handle is the value's own address: updates are one relaxed store.
    return (rill_metric_t *)rill_metrics_user_slot(self->metrics, self->global, name, gauge);
}

rill_metric_t *rill_context_counter(const rill_context_t *self, const char *name)
{
    return s_metric(self, name, false);
}

rill_metric_t *rill_context_gauge(const rill_context_t *self, const char *name)
{
    return s_metric(self, name, true);
}

void rill_metric_add(rill_metric_t *metric, int64_t n)
{
    int64_t *value = (int64_t *)metric;
    if (value)
        __atomic_store_n(value, __atomic_load_n(value, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

void rill_metric_set(rill_metric_t *metric, int64_t value)
{
    if (metric)
        __atomic_store_n((int64_t *)metric, value, __ATOMIC_RELAXED);
}

int rill_operator_open_user(rill_operator_t *self, int attempt, rill_metrics_t *metrics)
{
    if (!self->spec->open && !self->spec->close)
        return 0;
    self->context = calloc(1, sizeof(rill_context_t));
    if (!self->context) {
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    *self->context = (rill_context_t){self->index, self->op->parallelism, attempt, self->op->name,
                                      metrics, self->op->first_subtask + self->index};
    void *ctx = self->ctx;
    if (self->spec->open && self->spec->open(self->context, self->spec->ctx, &ctx)) {
        snprintf(self->error, sizeof self->error, "open function failed");
        return -1;
    }
    self->ctx = ctx;
    self->opened = true;
    return 0;
}

void rill_operator_close_user(rill_operator_t *self)
{
    if (self->opened && self->spec->close)
        self->spec->close(self->context, self->ctx);
    self->opened = false;
    free(self->context);
    self->context = NULL;
}
#include "rill_graph_private.h"
#include "rill_plan_private.h"

#include <stdlib.h>

rill_input_key_t *rill_operator_input_keys(const rill_operator_t *self)
{
    int inputs = self->op->input_count;
    rill_input_key_t *keys = calloc((size_t)inputs + 1, sizeof(rill_input_key_t));
    const rill_graph_t *graph = rill_plan_graph(self->plan);
    for (int i = 0; keys && i < inputs; i++) {
        const rill_edge_spec_t *edge =
            rill_graph_edge(graph, rill_plan_input_edge(self->plan, self->op->id, i));
        keys[i] = (rill_input_key_t){edge->key, edge->key_ctx};
    }
    return keys;
}

int rill_operator_extract_key(const rill_operator_t *self, const rill_input_key_t *keys,
                              const rill_record_t *record, int input, rill_key_t *key,
                              uint64_t *hash)
{
    bool timed = rill_busy_split_user_begin(self->busy_split);
    int rc = keys[input].fn(record, key, keys[input].ctx);
    rill_busy_split_user_end(self->busy_split, timed);
    if (rc)
        return -1;
    //  A computed key came with its hash only.
    *hash = self->input_key ? self->input_key->hash : rill_key_hash(key->data, key->size);
    return 0;
}
