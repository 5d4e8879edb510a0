/*  rill_graph.c: the logical dataflow as two growable arrays, operators and edges. The stream
    API (rill_env) writes it; the planner reads it. */
#include "rill_graph.h"
#include "rill_array.h"
#include "rill_env.h" //  RILL_DEFAULT_COMBINE_BYTES
#include "rill_graph_private.h"
#include "rill_time.h" //  RILL_STATE_TTL_CLEANUP

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rill_graph_t {
    rill_operator_spec_t *operators;
    int operator_count;
    size_t operator_capacity;
    rill_edge_spec_t *edges;
    int edge_count;
    size_t edge_capacity;
    bool no_chaining; //  rill_env_disable_chaining: every operator runs in its own thread
    size_t combine_bytes; //  rill_env_set_combine: 0 off
    int mini_batch_ms;    //  rill_env_set_mini_batch: 0 off
};

rill_graph_t *rill_graph_new(void)
{
    rill_graph_t *self = calloc(1, sizeof(rill_graph_t)); //  chaining on, as in Flink
    if (self)
        self->combine_bytes = RILL_DEFAULT_COMBINE_BYTES;
    return self;
}

void rill_graph_destroy(rill_graph_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_graph_t *self = *self_p;
    for (int i = 0; i < self->operator_count; i++) {
        free((char *)self->operators[i].name);
        free((char *)self->operators[i].path);
        free((void *)self->operators[i].options);
        if (self->operators[i].connector_free)
            self->operators[i].connector_free(self->operators[i].connector);
    }
    free(self->operators);
    free(self->edges);
    free(self);
    *self_p = NULL;
}

static char *s_strdup_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

int rill_graph_add_operator(rill_graph_t *self, const rill_operator_spec_t *spec)
{
    assert(self && spec);
    if (rill_array_grow((void **)&self->operators, &self->operator_capacity,
                        (size_t)self->operator_count + 1, sizeof(rill_operator_spec_t)))
        return -1;
    rill_operator_spec_t *op = &self->operators[self->operator_count];
    *op = *spec;
    op->name = s_strdup_or_null(spec->name);
    op->path = s_strdup_or_null(spec->path);
    op->options = spec->options ? malloc(spec->options_size ? spec->options_size : 1) : NULL;
    if (op->options)
        memcpy((void *)op->options, spec->options, spec->options_size);
    if ((spec->name && !op->name) || (spec->path && !op->path) ||
        (spec->options && !op->options)) {
        free((char *)op->name);
        free((char *)op->path);
        free((void *)op->options);
        return -1;
    }
    return self->operator_count++;
}

int rill_graph_add_edge(rill_graph_t *self, const rill_edge_spec_t *spec)
{
    assert(self && spec);
    if (spec->from < 0 || spec->from >= self->operator_count || spec->to < 0 ||
        spec->to >= self->operator_count)
        return -1;
    if (rill_array_grow((void **)&self->edges, &self->edge_capacity, (size_t)self->edge_count + 1,
                        sizeof(rill_edge_spec_t)))
        return -1;
    self->edges[self->edge_count] = *spec;
    return self->edge_count++;
}

int rill_graph_operator_count(const rill_graph_t *self)
{
    return self->operator_count;
}

int rill_graph_edge_count(const rill_graph_t *self)
{
    return self->edge_count;
}

const rill_operator_spec_t *rill_graph_operator(const rill_graph_t *self, int id)
{
    return id >= 0 && id < self->operator_count ? &self->operators[id] : NULL;
}

const rill_edge_spec_t *rill_graph_edge(const rill_graph_t *self, int id)
{
    return id >= 0 && id < self->edge_count ? &self->edges[id] : NULL;
}

int rill_graph_set_name(rill_graph_t *self, int id, const char *name)
{
    if (id < 0 || id >= self->operator_count || !name)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    free((char *)self->operators[id].name);
    self->operators[id].name = copy;
    return 0;
}

int rill_graph_set_parallelism(rill_graph_t *self, int id, int parallelism)
{
    if (id < 0 || id >= self->operator_count)
        return -1;
    self->operators[id].parallelism = parallelism;
    return 0;
}

int rill_graph_set_park_bytes(rill_graph_t *self, int id, size_t bytes)
{
    if (id < 0 || id >= self->operator_count || !bytes ||
        self->operators[id].kind != RILL_OP_ITERATION)
        return -1;
    self->operators[id].park_bytes = bytes;
    return 0;
}

int rill_graph_set_max_record_size(rill_graph_t *self, int id, size_t bytes)
{
    if (id < 0 || id >= self->operator_count)
        return -1;
    self->operators[id].max_record_size = bytes;
    return 0;
}

static const char *s_kind_names[] = {
    [RILL_OP_SOURCE_FILE] = "source",  [RILL_OP_SOURCE_GENERATOR] = "source",
    [RILL_OP_SOURCE_USER] = "source",  [RILL_OP_MAP] = "map",
    [RILL_OP_FILTER] = "filter",       [RILL_OP_FLAT_MAP] = "flat_map",
    [RILL_OP_REDUCE] = "reduce",       [RILL_OP_SINK_PRINT] = "sink",
    [RILL_OP_SINK_COLLECT] = "sink",   [RILL_OP_SINK_DISCARD] = "sink",
    [RILL_OP_TIMESTAMPS] = "timestamps", [RILL_OP_WINDOW] = "window",
    [RILL_OP_PROCESS] = "process",     [RILL_OP_ITERATION] = "iteration",
    [RILL_OP_SOURCE_DIRECTORY] = "source", [RILL_OP_SINK_ROLLING] = "sink",
    [RILL_OP_SOURCE_KAFKA] = "source", [RILL_OP_SINK_KAFKA] = "sink",
};

const char *rill_op_kind_name(rill_op_kind_t kind)
{
    if ((unsigned)kind < sizeof s_kind_names / sizeof s_kind_names[0] && s_kind_names[kind])
        return s_kind_names[kind];
    return "unknown";
}

static const char *s_pattern_names[] = {
    [RILL_PATTERN_DEFAULT] = "default",     [RILL_PATTERN_FORWARD] = "forward",
    [RILL_PATTERN_HASH] = "hash",           [RILL_PATTERN_BROADCAST] = "broadcast",
    [RILL_PATTERN_REBALANCE] = "rebalance", [RILL_PATTERN_RESCALE] = "rescale",
    [RILL_PATTERN_SHUFFLE] = "shuffle",     [RILL_PATTERN_GLOBAL] = "global",
    [RILL_PATTERN_CUSTOM] = "custom",
};

const char *rill_pattern_name(rill_pattern_t pattern)
{
    if ((unsigned)pattern < sizeof s_pattern_names / sizeof s_pattern_names[0])
        return s_pattern_names[pattern];
    return "unknown";
}

int rill_pattern_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_pattern_names / sizeof s_pattern_names[0]; i++)
        if (strcmp(name, s_pattern_names[i]) == 0)
            return (int)i;
    return -1;
}

bool rill_op_kind_is_source(rill_op_kind_t kind)
{
    return kind == RILL_OP_SOURCE_FILE || kind == RILL_OP_SOURCE_GENERATOR ||
           kind == RILL_OP_SOURCE_USER || kind == RILL_OP_SOURCE_DIRECTORY ||
           kind == RILL_OP_SOURCE_KAFKA;
}

bool rill_op_kind_is_sink(rill_op_kind_t kind)
{
    return kind == RILL_OP_SINK_PRINT || kind == RILL_OP_SINK_COLLECT ||
           kind == RILL_OP_SINK_DISCARD || kind == RILL_OP_SINK_ROLLING ||
           kind == RILL_OP_SINK_KAFKA;
}

int rill_graph_set_source_checkpoints(rill_graph_t *self, int id, rill_source_snapshot_fn snapshot,
                                      rill_source_restore_fn restore)
{
    if (id < 0 || id >= self->operator_count || self->operators[id].kind != RILL_OP_SOURCE_USER ||
        !snapshot != !restore)
        return -1;
    self->operators[id].source_snapshot = snapshot;
    self->operators[id].source_restore = restore;
    return 0;
}

int rill_graph_set_state_ttl(rill_graph_t *self, int id, int64_t ttl_ms)
{
    if (id < 0 || id >= self->operator_count || self->operators[id].kind != RILL_OP_PROCESS ||
        ttl_ms <= 0)
        return -1;
    self->operators[id].state_ttl_ms = ttl_ms;
    self->operators[id].state_ttl_cleanup = RILL_STATE_TTL_CLEANUP;
    return 0;
}

int rill_graph_set_state_ttl_cleanup(rill_graph_t *self, int id, int entries)
{
    if (id < 0 || id >= self->operator_count || self->operators[id].kind != RILL_OP_PROCESS ||
        self->operators[id].state_ttl_ms <= 0 || entries < 0)
        return -1;
    self->operators[id].state_ttl_cleanup = entries;
    return 0;
}

int rill_graph_set_open_close(rill_graph_t *self, int id, rill_open_fn open, rill_close_fn close)
{
    if (id < 0 || id >= self->operator_count)
        return -1;
    self->operators[id].open = open;
    self->operators[id].close = close;
    return 0;
}

int rill_graph_set_chaining(rill_graph_t *self, int id, rill_chaining_t chaining)
{
    if (id < 0 || id >= self->operator_count || (unsigned)chaining > RILL_CHAIN_NEVER)
        return -1;
    self->operators[id].chaining = chaining;
    return 0;
}

void rill_graph_set_chaining_enabled(rill_graph_t *self, bool enabled)
{
    self->no_chaining = !enabled;
}

bool rill_graph_chaining_enabled(const rill_graph_t *self)
{
    return !self->no_chaining;
}

void rill_graph_set_combine_bytes(rill_graph_t *self, size_t bytes)
{
    self->combine_bytes = bytes;
}

size_t rill_graph_combine_bytes(const rill_graph_t *self)
{
    return self->combine_bytes;
}

void rill_graph_set_mini_batch_ms(rill_graph_t *self, int interval_ms)
{
    self->mini_batch_ms = interval_ms;
}

int rill_graph_mini_batch_ms(const rill_graph_t *self)
{
    return self->mini_batch_ms;
}
