/*  rill_env.c: the stream API. Each call adds an operator or edge to the environment's
    logical graph and returns a stream handle: the producing operator(s) plus how the next
    operator will receive them (pattern, key). execute() hands the graph to the planner and
    the plan to the job. */
#include "rill_env_private.h"
#include "rill_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One producing operator of a stream and how its records reach the next operator.
typedef struct {
    int op;
    rill_pattern_t pattern;
    rill_key_fn key;
    void *key_ctx;
    rill_partition_fn partition;
    void *partition_ctx;
    int output_tag;
} s_part_t;

struct rill_stream_t {
    rill_env_t *env;
    s_part_t *parts; //  several for a union
    int part_count;
    bool sink;
    rill_stream_t *next; //  the environment's list of handles, for destroy
};

struct rill_env_t {
    rill_graph_t *graph;
    int parallelism;
    rill_mode_t mode;
    size_t batch_size;
    int buffer_timeout_ms;
    char *job_name;
    rill_stream_t *streams;
    rill_plan_t *plan;
    rill_metrics_t *metrics;
    rill_monitor_fn *tick;
    void *tick_ctx;
    int tick_interval_ms;
    FILE *trace_out;
    uint64_t trace_sample;
    volatile sig_atomic_t cancel;
    bool cancelled;
    char error[1024];
};

rill_env_t *rill_env_new(void)
{
    rill_env_t *self = calloc(1, sizeof(rill_env_t));
    if (!self)
        return NULL;
    self->graph = rill_graph_new();
    self->job_name = strdup("job");
    if (!self->graph || !self->job_name) {
        rill_env_destroy(&self);
        return NULL;
    }
    self->parallelism = 1;
    self->mode = RILL_MODE_AUTOMATIC;
    self->batch_size = RILL_DEFAULT_BATCH_SIZE;
    self->buffer_timeout_ms = RILL_DEFAULT_BUFFER_TIMEOUT;
    return self;
}

void rill_env_destroy(rill_env_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_env_t *self = *self_p;
    while (self->streams) {
        rill_stream_t *next = self->streams->next;
        free(self->streams->parts);
        free(self->streams);
        self->streams = next;
    }
    rill_metrics_destroy(&self->metrics);
    rill_plan_destroy(&self->plan);
    rill_graph_destroy(&self->graph);
    free(self->job_name);
    free(self);
    *self_p = NULL;
}

//  Keeps the first error: later ones are usually its consequences.
static void s_error(rill_env_t *self, const char *format, ...)
{
    if (*self->error)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof self->error, format, args);
    va_end(args);
}

int rill_env_set_parallelism(rill_env_t *self, int parallelism)
{
    if (parallelism < 1 || parallelism > RILL_MAX_PARALLELISM) {
        s_error(self, "parallelism %d is out of range (1..%d)", parallelism,
                RILL_MAX_PARALLELISM);
        return -1;
    }
    self->parallelism = parallelism;
    return 0;
}

int rill_env_set_mode(rill_env_t *self, rill_mode_t mode)
{
    if ((unsigned)mode > RILL_MODE_BATCH) {
        s_error(self, "unknown execution mode %d", (int)mode);
        return -1;
    }
    self->mode = mode;
    return 0;
}

int rill_env_set_batch_size(rill_env_t *self, size_t bytes)
{
    if (bytes < 64 || bytes > 64 * 1024 * 1024) {
        s_error(self, "batch size %zu is out of range (64 bytes .. 64 MiB)", bytes);
        return -1;
    }
    self->batch_size = bytes;
    return 0;
}

int rill_env_set_buffer_timeout(rill_env_t *self, int milliseconds)
{
    if (milliseconds < 0) {
        s_error(self, "buffer timeout %d ms is negative", milliseconds);
        return -1;
    }
    self->buffer_timeout_ms = milliseconds;
    return 0;
}

int rill_env_set_job_name(rill_env_t *self, const char *name)
{
    char *copy = name ? strdup(name) : NULL;
    if (!copy)
        return -1;
    free(self->job_name);
    self->job_name = copy;
    return 0;
}

int rill_env_parallelism(const rill_env_t *self)
{
    return self->parallelism;
}

const char *rill_env_error(const rill_env_t *self)
{
    return self->error;
}

rill_graph_t *rill_env_graph(rill_env_t *self)
{
    return self->graph;
}

void rill_env_set_monitor(rill_env_t *self, rill_monitor_fn *tick, void *ctx, int interval_ms)
{
    self->tick = tick;
    self->tick_ctx = ctx;
    self->tick_interval_ms = interval_ms;
}

const rill_plan_t *rill_env_plan(rill_env_t *self)
{
    if (*self->error)
        return NULL;
    rill_metrics_destroy(&self->metrics); //  it points into the old plan
    rill_plan_destroy(&self->plan);
    char why[512];
    self->plan =
        rill_plan_new(self->graph, self->job_name, self->parallelism, self->mode, why, sizeof why);
    if (!self->plan)
        s_error(self, "%s", why);
    return self->plan;
}

int rill_env_execute(rill_env_t *self)
{
    self->cancelled = false;
    if (!rill_env_plan(self))
        return -1;
    self->metrics = rill_metrics_new(self->plan);
    rill_trace_t *trace =
        self->trace_out ? rill_trace_new(self->trace_out, self->trace_sample, self->plan) : NULL;
    rill_job_t *job = self->metrics ? rill_job_new(self->plan, self->metrics, self->batch_size,
                                                   self->buffer_timeout_ms, trace)
                                    : NULL;
    if (!job || (self->trace_out && !trace)) {
        rill_job_destroy(&job);
        rill_trace_destroy(&trace);
        s_error(self, "out of memory");
        return -1;
    }
    if (self->tick)
        rill_job_set_tick(job, self->tick, self->tick_ctx, self->tick_interval_ms);
    int rc = rill_job_run(job, &self->cancel);
    self->cancelled = rill_job_cancelled(job);
    if (rc)
        s_error(self, "%s", rill_job_error(job));
    else if (self->cancelled) {
        s_error(self, "job cancelled");
        rc = -1;
    }
    rill_job_destroy(&job);
    rill_trace_destroy(&trace);
    __atomic_store_n(&self->cancel, 0, __ATOMIC_RELAXED); //  rill_env_cancel may run meanwhile
    return rc;
}

int rill_env_set_trace(rill_env_t *self, FILE *out, uint64_t sample)
{
    if (out && sample == 0) {
        s_error(self, "trace: the sample rate must be at least 1");
        return -1;
    }
    self->trace_out = out;
    self->trace_sample = sample;
    return 0;
}

void rill_env_cancel(rill_env_t *self)
{
    //  Atomic: another thread (or a signal handler) cancels while the job's watcher reads it.
    sig_atomic_t level = __atomic_load_n(&self->cancel, __ATOMIC_RELAXED);
    while (level < 2 && !__atomic_compare_exchange_n(&self->cancel, &level, level + 1, false,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

bool rill_env_cancelled(const rill_env_t *self)
{
    return self->cancelled;
}

const rill_metrics_t *rill_env_metrics(const rill_env_t *self)
{
    return self->metrics;
}

//  ---- stream handles

static rill_stream_t *s_stream_new(rill_env_t *env, int part_count)
{
    rill_stream_t *self = calloc(1, sizeof(rill_stream_t));
    if (self)
        self->parts = calloc((size_t)part_count, sizeof(s_part_t));
    if (!self || !self->parts) {
        free(self);
        s_error(env, "out of memory");
        return NULL;
    }
    self->env = env;
    self->part_count = part_count;
    self->next = env->streams;
    env->streams = self;
    return self;
}

//  A handle on a single new operator.
static rill_stream_t *s_stream_of(rill_env_t *env, int op, bool sink)
{
    if (op < 0) {
        s_error(env, "out of memory");
        return NULL;
    }
    rill_stream_t *self = s_stream_new(env, 1);
    if (!self)
        return NULL;
    self->parts[0].op = op;
    self->sink = sink;
    return self;
}

//  Adds operator spec fed by every part of `in`; returns the new operator's handle.
rill_stream_t *rill_env_apply(rill_stream_t *in, const rill_operator_spec_t *spec,
                              const char *what)
{
    if (!in)
        return NULL;
    rill_env_t *env = in->env;
    if (in->sink) {
        s_error(env, "%s: the input is a sink, which has no output stream", what);
        return NULL;
    }
    int op = rill_graph_add_operator(env->graph, spec);
    if (op < 0) {
        s_error(env, "out of memory");
        return NULL;
    }
    for (int i = 0; i < in->part_count; i++) {
        const s_part_t *part = &in->parts[i];
        rill_edge_spec_t edge = {part->op,        op,           part->pattern,
                                 part->key,       part->key_ctx, part->partition,
                                 part->partition_ctx, part->output_tag};
        if (rill_graph_add_edge(env->graph, &edge) < 0) {
            s_error(env, "out of memory");
            return NULL;
        }
    }
    return s_stream_of(env, op, rill_op_kind_is_sink(spec->kind));
}

static rill_stream_t *s_source(rill_env_t *self, const rill_operator_spec_t *spec)
{
    return s_stream_of(self, rill_graph_add_operator(self->graph, spec), false);
}

rill_stream_t *rill_env_from_text_file(rill_env_t *self, const char *path)
{
    if (!path) {
        s_error(self, "text file source: no path given");
        return NULL;
    }
    return s_source(self, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path});
}

rill_stream_t *rill_env_from_generator(rill_env_t *self, rill_generate_fn fn, void *ctx,
                                       uint64_t count)
{
    return s_source(self, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                  .fn.generate = fn,
                                                  .ctx = ctx,
                                                  .count = count});
}

rill_stream_t *rill_env_from_source(rill_env_t *self, rill_source_fn fn, void *ctx, bool bounded)
{
    return s_source(self, &(rill_operator_spec_t){
                              .kind = RILL_OP_SOURCE_USER, .fn.source = fn, .ctx = ctx,
                              .bounded = bounded});
}

rill_stream_t *rill_stream_map(rill_stream_t *in, rill_map_fn fn, void *ctx)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_MAP, .fn.map = fn, .ctx = ctx},
                   "map");
}

rill_stream_t *rill_stream_filter(rill_stream_t *in, rill_filter_fn fn, void *ctx)
{
    return rill_env_apply(
        in, &(rill_operator_spec_t){.kind = RILL_OP_FILTER, .fn.filter = fn, .ctx = ctx},
        "filter");
}

rill_stream_t *rill_stream_flat_map(rill_stream_t *in, rill_flat_map_fn fn, void *ctx)
{
    return rill_env_apply(
        in, &(rill_operator_spec_t){.kind = RILL_OP_FLAT_MAP, .fn.flat_map = fn, .ctx = ctx},
        "flat_map");
}

//  A new handle on the same operators with every part's exchange changed.
static rill_stream_t *s_repartition(rill_stream_t *in, rill_pattern_t pattern, rill_key_fn key,
                                    void *key_ctx, rill_partition_fn partition,
                                    void *partition_ctx, const char *what)
{
    if (!in)
        return NULL;
    if (in->sink) {
        s_error(in->env, "%s: the input is a sink, which has no output stream", what);
        return NULL;
    }
    rill_stream_t *self = s_stream_new(in->env, in->part_count);
    if (!self)
        return NULL;
    for (int i = 0; i < in->part_count; i++)
        self->parts[i] = (s_part_t){in->parts[i].op,      pattern,       key, key_ctx,
                                    partition,           partition_ctx, in->parts[i].output_tag};
    return self;
}

rill_stream_t *rill_stream_key_by(rill_stream_t *in, rill_key_fn fn, void *ctx)
{
    if (in && !fn) {
        s_error(in->env, "key_by: no key extractor given");
        return NULL;
    }
    return s_repartition(in, RILL_PATTERN_HASH, fn, ctx, NULL, NULL, "key_by");
}

static rill_stream_t *s_keyed(rill_stream_t *keyed, rill_reduce_fn fn, void *ctx, rill_agg_t agg,
                              const char *what)
{
    //  A non-keyed input is left for the planner, which names the operator in its message.
    return rill_env_apply(keyed,
                   &(rill_operator_spec_t){
                       .kind = RILL_OP_REDUCE, .fn.reduce = fn, .ctx = ctx, .agg = agg},
                   what);
}

rill_stream_t *rill_stream_reduce(rill_stream_t *keyed, rill_reduce_fn fn, void *ctx)
{
    return s_keyed(keyed, fn, ctx, RILL_AGG_NONE, "reduce");
}

rill_stream_t *rill_stream_sum(rill_stream_t *keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_SUM, "sum");
}

rill_stream_t *rill_stream_count(rill_stream_t *keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_COUNT, "count");
}

rill_stream_t *rill_stream_min(rill_stream_t *keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_MIN, "min");
}

rill_stream_t *rill_stream_max(rill_stream_t *keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_MAX, "max");
}

rill_stream_t *rill_stream_union(rill_stream_t *a, rill_stream_t *b)
{
    rill_stream_t *both[] = {a, b};
    return rill_stream_union_n(both, 2);
}

rill_stream_t *rill_stream_union_n(rill_stream_t **streams, size_t count)
{
    if (!streams || count == 0)
        return NULL;
    int parts = 0;
    for (size_t i = 0; i < count; i++) {
        if (!streams[i])
            return NULL;
        if (streams[i]->env != streams[0]->env) {
            s_error(streams[0]->env, "union: the streams belong to different environments");
            return NULL;
        }
        if (streams[i]->sink) {
            s_error(streams[0]->env, "union: stream %zu is a sink, which has no output", i);
            return NULL;
        }
        parts += streams[i]->part_count;
    }
    rill_stream_t *self = s_stream_new(streams[0]->env, parts);
    if (!self)
        return NULL;
    int at = 0;
    for (size_t i = 0; i < count; i++)
        for (int p = 0; p < streams[i]->part_count; p++)
            self->parts[at++] = streams[i]->parts[p];
    return self;
}

rill_stream_t *rill_env_side_output(rill_stream_t *in, rill_op_kind_t kind, int tag,
                                   const char *what)
{
    if (!in)
        return NULL;
    if (in->part_count != 1 || rill_graph_operator(in->env->graph, in->parts[0].op)->kind != kind) {
        s_error(in->env, "%s: the stream does not come from the right kind of operator", what);
        return NULL;
    }
    rill_stream_t *self = s_stream_of(in->env, in->parts[0].op, false);
    if (self)
        self->parts[0].output_tag = tag;
    return self;
}

void rill_env_fail(rill_env_t *self, const char *message)
{
    s_error(self, "%s", message);
}

rill_env_t *rill_stream_env(rill_stream_t *stream)
{
    return stream->env;
}

rill_stream_t *rill_stream_forward(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_FORWARD, NULL, NULL, NULL, NULL, "forward");
}

rill_stream_t *rill_stream_broadcast(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_BROADCAST, NULL, NULL, NULL, NULL, "broadcast");
}

rill_stream_t *rill_stream_rebalance(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_REBALANCE, NULL, NULL, NULL, NULL, "rebalance");
}

rill_stream_t *rill_stream_rescale(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_RESCALE, NULL, NULL, NULL, NULL, "rescale");
}

rill_stream_t *rill_stream_shuffle(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_SHUFFLE, NULL, NULL, NULL, NULL, "shuffle");
}

rill_stream_t *rill_stream_global(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_GLOBAL, NULL, NULL, NULL, NULL, "global");
}

rill_stream_t *rill_stream_partition_custom(rill_stream_t *in, rill_partition_fn fn, void *ctx,
                                            rill_key_fn key, void *key_ctx)
{
    if (in && !fn) {
        s_error(in->env, "partition_custom: no partitioner function given");
        return NULL;
    }
    return s_repartition(in, RILL_PATTERN_CUSTOM, key, key_ctx, fn, ctx, "partition_custom");
}

//  The single operator a setting applies to, or -1 (with an error) for a union.
static int s_single_op(rill_stream_t *stream, const char *what)
{
    if (stream->part_count != 1) {
        s_error(stream->env, "%s: a union of streams has no single operator to apply it to", what);
        return -1;
    }
    return stream->parts[0].op;
}

rill_stream_t *rill_stream_name(rill_stream_t *stream, const char *name)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, "name");
    if (op < 0 || !name || rill_graph_set_name(stream->env->graph, op, name)) {
        s_error(stream->env, "name: cannot name the operator");
        return NULL;
    }
    return stream;
}

rill_stream_t *rill_stream_parallelism(rill_stream_t *stream, int parallelism)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, "parallelism");
    if (op < 0)
        return NULL;
    //  Out-of-range values are reported by the planner, which names the operator.
    rill_graph_set_parallelism(stream->env->graph, op, parallelism);
    return stream;
}

rill_stream_t *rill_stream_print(rill_stream_t *in, const char *path)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_PRINT, .path = path},
                   "print");
}

rill_stream_t *rill_stream_collect(rill_stream_t *in, rill_collect_t *collect)
{
    if (in && !collect) {
        s_error(in->env, "collect: no result set given");
        return NULL;
    }
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_COLLECT, .collect = collect},
                   "collect");
}

rill_stream_t *rill_stream_discard(rill_stream_t *in)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD}, "discard");
}
