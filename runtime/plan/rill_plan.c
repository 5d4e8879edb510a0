/*  rill_plan.c: the planner. Validates a logical graph (every check names the operator at
    fault) and expands it into subtasks and channels, choosing the sockets per exchange
    pattern. The result is plain data that the job deploys and the viz module draws. */
#include "rill_array.h"
#include "rill_clock.h"
#include "rill_connectors_files_private.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *s_mode_names[] = {"automatic", "streaming", "batch"};

const char *rill_mode_name(rill_mode_t mode)
{
    return (unsigned)mode < 3 ? s_mode_names[mode] : "unknown";
}

int rill_mode_from_name(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, s_mode_names[i]) == 0)
            return i;
    return -1;
}

static void s_error(char *error, size_t error_size, const char *format, ...)
{
    if (!error || !error_size)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

//  A default name for an operator that was given none, in the style of Flink's web UI.
static const char *s_default_name(const rill_operator_spec_t *spec)
{
    switch (spec->kind) {
    case RILL_OP_SOURCE_FILE: return "Source: text file";
    case RILL_OP_SOURCE_GENERATOR: return "Source: generator";
    case RILL_OP_SOURCE_USER: return "Source: custom";
    case RILL_OP_SOURCE_KAFKA: return "Source: Kafka";
    case RILL_OP_SINK_KAFKA: return "Sink: Kafka";
    case RILL_OP_MAP: return spec->first_inputs ? "co_map()" : "map()";
    case RILL_OP_FILTER: return "filter()";
    case RILL_OP_FLAT_MAP: return spec->first_inputs ? "co_flat_map()" : "flat_map()";
    case RILL_OP_REDUCE:
        switch (spec->agg) {
        case RILL_AGG_SUM: return "sum()";
        case RILL_AGG_COUNT: return "count()";
        case RILL_AGG_MIN: return "min()";
        case RILL_AGG_MAX: return "max()";
        default: return "reduce()";
        }
    case RILL_OP_SINK_PRINT: return "Sink: print";
    case RILL_OP_SINK_COLLECT: return "Sink: collect";
    case RILL_OP_SINK_DISCARD: return "Sink: discard";
    case RILL_OP_TIMESTAMPS: return "timestamps/watermarks";
    case RILL_OP_WINDOW: return "window()";
    case RILL_OP_ITERATION: return "iterate()";
    case RILL_OP_SOURCE_DIRECTORY: return "Source: directory";
    case RILL_OP_SINK_ROLLING: return "Sink: rolling files";
    case RILL_OP_PROCESS:
        return spec->join && spec->window_join ? "window_join()"
               : spec->join           ? "interval_join()"
               : spec->on_broadcast ? "broadcast_process()"
               : spec->first_inputs ? "co_process()"
                                    : "process()";
    }
    return "operator";
}

static bool s_source_bounded(const rill_operator_spec_t *spec)
{
    switch (spec->kind) {
    case RILL_OP_SOURCE_FILE: return true;
    case RILL_OP_SOURCE_GENERATOR: return spec->count != RILL_UNBOUNDED;
    case RILL_OP_SOURCE_USER: return spec->bounded;
    case RILL_OP_SOURCE_DIRECTORY:
        return spec->options && !((const rill_directory_config_t *)spec->options)->continuous;
    case RILL_OP_SOURCE_KAFKA: return spec->bounded;
    default: return false;
    }
}

static int s_add_channel(rill_plan_t *self, rill_plan_edge_t *edge, int from_index, int to_index)
{
    if (rill_array_grow((void **)&self->channels, &self->channel_capacity,
                        (size_t)self->channel_count + 1, sizeof(rill_plan_channel_t)))
        return -1;
    rill_plan_channel_t *channel = &self->channels[self->channel_count];
    const rill_plan_operator_t *from = &self->operators[edge->from];
    const rill_plan_operator_t *to = &self->operators[edge->to];
    channel->id = self->channel_count;
    channel->edge = edge->id;
    channel->from_index = from_index;
    channel->to_index = to_index;
    channel->from_subtask = from->first_subtask + from_index;
    channel->to_subtask = to->first_subtask + to_index;
    //  The plan's random id keeps endpoints apart when one process runs many jobs: a heap
    //  address is reused by the next plan while the last job's sockets may still be bound.
    if (edge->chained) //  a function call inside one thread: nothing to bind
        snprintf(channel->endpoint, sizeof channel->endpoint, "chained");
    else
        snprintf(channel->endpoint, sizeof channel->endpoint, "inproc://rill-%.24s-%s-e%d-r%d",
                 self->job_name, self->id, edge->id, to_index);
    edge->channel_count++;
    self->channel_count++;
    return 0;
}

//  Which receivers sender `i` reaches on this edge: [*lo, *hi).
static void s_receiver_range(rill_pattern_t pattern, int i, int senders, int receivers, int *lo,
                             int *hi)
{
    switch (pattern) {
    case RILL_PATTERN_FORWARD:
        *lo = i, *hi = i + 1;
        break;
    case RILL_PATTERN_GLOBAL:
        *lo = 0, *hi = 1;
        break;
    case RILL_PATTERN_RESCALE:
        //  Local groups, as Flink's pointwise connection: fewer senders fan out to a
        //  contiguous block of receivers each; more senders share one receiver per group.
        if (senders >= receivers) {
            *lo = (int)((long)i * receivers / senders);
            *hi = *lo + 1;
        } else {
            *lo = (int)((long)i * receivers / senders);
            *hi = (int)((long)(i + 1) * receivers / senders);
        }
        break;
    default:
        *lo = 0, *hi = receivers;
        break;
    }
}

static int s_fail(rill_plan_t **self_p, char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(error, error_size, format, args);
        va_end(args);
    }
    rill_plan_destroy(self_p);
    return -1;
}

//  Resolves names, parallelism and the execution mode; checks each operator's place.
static int s_plan_operators(rill_plan_t *self, const rill_graph_t *graph, int default_parallelism,
                            rill_mode_t mode, char *error, size_t error_size)
{
    int count = rill_graph_operator_count(graph);
    bool all_bounded = true;
    int subtasks = 0;
    for (int id = 0; id < count; id++) {
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        rill_plan_operator_t *op = &self->operators[id];
        const char *base = spec->name && *spec->name ? spec->name : s_default_name(spec);
        //  Names must be unique: they label diagrams and metrics.
        int clash = 1;
        for (int other = 0; other < id; other++) {
            const rill_operator_spec_t *o = rill_graph_operator(graph, other);
            if (strcmp(o->name && *o->name ? o->name : s_default_name(o), base) == 0)
                clash++;
        }
        char name[256];
        if (clash > 1)
            snprintf(name, sizeof name, "%s #%d", base, clash);
        else
            snprintf(name, sizeof name, "%s", base);
        self->names[id] = strdup(name);
        if (!self->names[id]) {
            s_error(error, error_size, "plan: out of memory");
            return -1;
        }
        op->id = id;
        op->name = self->names[id];
        op->kind = spec->kind;
        op->kind_name = rill_op_kind_name(spec->kind);
        op->parallelism = spec->parallelism ? spec->parallelism : default_parallelism;
        if (op->parallelism < 1 || op->parallelism > RILL_MAX_PARALLELISM) {
            s_error(error, error_size,
                    "operator '%s': parallelism %d is out of range (1..%d)", op->name,
                    op->parallelism, RILL_MAX_PARALLELISM);
            return -1;
        }
        if (rill_op_kind_is_source(spec->kind)) {
            op->bounded = s_source_bounded(spec);
            all_bounded = all_bounded && op->bounded;
        }
        op->first_subtask = subtasks;
        subtasks += op->parallelism;
    }
    if (mode == RILL_MODE_AUTOMATIC)
        mode = all_bounded ? RILL_MODE_BATCH : RILL_MODE_STREAMING;
    if (mode == RILL_MODE_BATCH)
        for (int id = 0; id < count; id++)
            if (rill_op_kind_is_source(self->operators[id].kind) && !self->operators[id].bounded) {
                s_error(error, error_size,
                        "operator '%s': batch mode needs bounded sources, and this one is "
                        "unbounded",
                        self->operators[id].name);
                return -1;
            }
    self->mode = mode;
    self->subtask_count = subtasks;
    self->subtasks = calloc((size_t)subtasks + 1, sizeof(rill_plan_subtask_t));
    if (!self->subtasks) {
        s_error(error, error_size, "plan: out of memory");
        return -1;
    }
    for (int id = 0; id < count; id++)
        for (int i = 0; i < self->operators[id].parallelism; i++) {
            rill_plan_subtask_t *subtask = &self->subtasks[self->operators[id].first_subtask + i];
            subtask->id = self->operators[id].first_subtask + i;
            subtask->op = id;
            subtask->index = i;
        }
    return 0;
}

//  Resolves each edge's pattern and checks it against its two ends.
static int s_plan_edges(rill_plan_t *self, const rill_graph_t *graph, char *error,
                        size_t error_size)
{
    for (int id = 0; id < self->edge_count; id++) {
        const rill_edge_spec_t *spec = rill_graph_edge(graph, id);
        rill_plan_edge_t *edge = &self->edges[id];
        rill_plan_operator_t *from = &self->operators[spec->from];
        rill_plan_operator_t *to = &self->operators[spec->to];
        edge->id = id;
        edge->from = spec->from;
        edge->to = spec->to;
        edge->keyed = spec->key != NULL && spec->pattern == RILL_PATTERN_HASH;
        edge->output_tag = spec->output_tag;
        edge->input_index = to->input_count++;
        edge->output_index = from->output_count++;
        rill_pattern_t pattern = spec->pattern;
        if (pattern == RILL_PATTERN_DEFAULT)
            pattern = from->parallelism == to->parallelism ? RILL_PATTERN_FORWARD
                                                           : RILL_PATTERN_REBALANCE;
        edge->pattern = pattern;
        if (pattern == RILL_PATTERN_FORWARD && from->parallelism != to->parallelism) {
            s_error(error, error_size,
                    "operator '%s': a forward stream needs the same parallelism at both ends, "
                    "but '%s' has %d and '%s' has %d",
                    to->name, from->name, from->parallelism, to->name, to->parallelism);
            return -1;
        }
        if (pattern == RILL_PATTERN_HASH && !spec->key) {
            s_error(error, error_size, "operator '%s': a hash stream needs a key extractor",
                    to->name);
            return -1;
        }
        if (pattern == RILL_PATTERN_CUSTOM && !spec->partition) {
            s_error(error, error_size,
                    "operator '%s': a custom stream needs a partitioner function", to->name);
            return -1;
        }
        if ((unsigned)pattern > RILL_PATTERN_CUSTOM) {
            s_error(error, error_size, "operator '%s': unknown exchange pattern %d", to->name,
                    (int)pattern);
            return -1;
        }
        rill_op_kind_t from_kind = rill_graph_operator(graph, spec->from)->kind;
        if (spec->output_tag != RILL_OUTPUT_MAIN &&
            !(from_kind == RILL_OP_PROCESS && spec->output_tag > 0 &&
              spec->output_tag <= RILL_OUTPUT_MAX_SIDE) &&
            !(from_kind == RILL_OP_WINDOW && spec->output_tag == RILL_OUTPUT_LATE)) {
            s_error(error, error_size,
                    "operator '%s': side output %d: only a window operator has late records and "
                    "only a process function has side outputs (1 .. %d)",
                    from->name, spec->output_tag, RILL_OUTPUT_MAX_SIDE);
            return -1;
        }
        bool forward = pattern == RILL_PATTERN_FORWARD;
        edge->sender_socket = forward ? "PAIR" : "ROUTER";
        edge->receiver_socket = forward ? "PAIR" : "DEALER";
    }
    return 0;
}

//  Checks a window's trigger, evictor and custom assigner (rill_trigger.h): known kinds, counts
//  and intervals > 0, the functions a kind needs, and no trigger that cannot merge on session
//  windows (Flink refuses those when the window is made, through Trigger.canMerge).
static int s_check_trigger(const char *name, const rill_operator_spec_t *spec, char *error,
                           size_t error_size)
{
    const rill_window_t *window = &spec->window;
    const rill_trigger_t *trigger = &window->trigger;
    const rill_evictor_t *evictor = &window->evictor;
    bool counted =
        window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    if (counted && (trigger->kind != RILL_TRIGGER_DEFAULT || trigger->purging ||
                    evictor->kind != RILL_EVICTOR_NONE || spec->window_fn == RILL_WINDOW_FN_APPLY)) {
        s_error(error, error_size,
                "operator '%s': count windows come with their own trigger and evictor; for "
                "another trigger, an evictor or window_apply use rill_window_global() with "
                "rill_trigger_count()",
                name);
        return -1;
    }
    if (window->kind == RILL_WINDOW_CUSTOM && !window->assign_fn) {
        s_error(error, error_size, "operator '%s': a custom window needs its assign_fn", name);
        return -1;
    }
    if ((unsigned)trigger->kind > RILL_TRIGGER_CUSTOM) {
        s_error(error, error_size, "operator '%s': unknown trigger kind %d", name,
                (int)trigger->kind);
        return -1;
    }
    if (trigger->kind == RILL_TRIGGER_COUNT && trigger->count <= 0) {
        s_error(error, error_size, "operator '%s': a count trigger's count must be > 0 (got %lld)",
                name, (long long)trigger->count);
        return -1;
    }
    if ((trigger->kind == RILL_TRIGGER_CONTINUOUS_EVENT_TIME ||
         trigger->kind == RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME) &&
        trigger->interval <= 0) {
        s_error(error, error_size,
                "operator '%s': a continuous trigger's interval must be > 0 ms (got %lld)", name,
                (long long)trigger->interval);
        return -1;
    }
    if (window->kind == RILL_WINDOW_SESSION && trigger->kind == RILL_TRIGGER_CUSTOM &&
        !trigger->on_merge) {
        s_error(error, error_size,
                "operator '%s': session windows merge, so their trigger needs on_merge", name);
        return -1;
    }
    if ((unsigned)evictor->kind > RILL_EVICTOR_CUSTOM) {
        s_error(error, error_size, "operator '%s': unknown evictor kind %d", name,
                (int)evictor->kind);
        return -1;
    }
    if ((evictor->kind == RILL_EVICTOR_COUNT && evictor->count <= 0) ||
        (evictor->kind == RILL_EVICTOR_TIME && evictor->keep_ms < 0) ||
        (evictor->kind == RILL_EVICTOR_CUSTOM && !evictor->evict)) {
        s_error(error, error_size,
                "operator '%s': an evictor needs count > 0 (count), keep_ms >= 0 (time) or its "
                "evict function (custom)",
                name);
        return -1;
    }
    return 0;
}

//  Checks a window operator's parameters, so that nothing runs with windows that cannot work:
//  a zero slide divides by zero, a negative one never ends, a zero-sized count window indexes
//  outside its records. Flink refuses the same when the window is made (sizes, slides and
//  gaps > 0, lateness >= 0). A sliding window puts size / slide windows on every record; more
//  than max_windows_per_record (default RILL_WINDOW_MAX_PER_RECORD) is refused too.
static int s_check_window(const char *name, const rill_operator_spec_t *spec, char *error,
                          size_t error_size)
{
    const rill_window_t *window = &spec->window;
    long long size = window->size, slide = window->slide;
    bool counted =
        window->kind == RILL_WINDOW_COUNT_TUMBLING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    const char *unit = counted ? "records" : "ms";
    if ((unsigned)window->kind > RILL_WINDOW_CUSTOM) {
        s_error(error, error_size, "operator '%s': unknown window kind %d", name,
                (int)window->kind);
        return -1;
    }
    if ((unsigned)window->time > RILL_TIME_PROCESSING) {
        s_error(error, error_size,
                "operator '%s': unknown window time domain %d (RILL_TIME_EVENT or "
                "RILL_TIME_PROCESSING)",
                name, (int)window->time);
        return -1;
    }
    if (window->kind == RILL_WINDOW_SESSION && window->gap <= 0) {
        s_error(error, error_size,
                "operator '%s': a session window's gap must be > 0 ms (got %lld)", name,
                (long long)window->gap);
        return -1;
    }
    if (s_check_trigger(name, spec, error, error_size))
        return -1;
    bool sized = window->kind != RILL_WINDOW_SESSION && window->kind != RILL_WINDOW_GLOBAL &&
                 window->kind != RILL_WINDOW_CUSTOM;
    if (sized && size <= 0) {
        s_error(error, error_size, "operator '%s': the window size must be > 0 %s (got %lld)", name,
                unit, size);
        return -1;
    }
    bool sliding = window->kind == RILL_WINDOW_SLIDING || window->kind == RILL_WINDOW_COUNT_SLIDING;
    if (sliding && slide <= 0) {
        s_error(error, error_size, "operator '%s': the window slide must be > 0 %s (got %lld)",
                name, unit, slide);
        return -1;
    }
    if (window->allowed_lateness < 0) {
        s_error(error, error_size,
                "operator '%s': the allowed lateness must not be negative (got %lld ms)", name,
                (long long)window->allowed_lateness);
        return -1;
    }
    if (window->max_windows_per_record < 0) {
        s_error(error, error_size,
                "operator '%s': max_windows_per_record must not be negative (got %lld; 0 is "
                "the default, %d)",
                name, (long long)window->max_windows_per_record, RILL_WINDOW_MAX_PER_RECORD);
        return -1;
    }
    long long limit = window->max_windows_per_record ? window->max_windows_per_record
                                                     : RILL_WINDOW_MAX_PER_RECORD;
    long long per_record = window->kind == RILL_WINDOW_SLIDING ? (size - 1) / slide + 1 : 1;
    if (per_record > limit) {
        s_error(error, error_size,
                "operator '%s': a sliding window of size %lld ms and slide %lld ms puts %lld "
                "windows on every record, more than the limit of %lld (set "
                "rill_window_t.max_windows_per_record to allow it, or use a larger slide)",
                name, size, slide, per_record, limit);
        return -1;
    }
    switch (spec->window_fn) {
    case RILL_WINDOW_FN_REDUCE:
    case RILL_WINDOW_FN_PROCESS:
    case RILL_WINDOW_FN_APPLY:
        break;
    case RILL_WINDOW_FN_AGGREGATE:
        if (spec->aggregate.accumulator_size == 0) {
            s_error(error, error_size,
                    "operator '%s': the aggregate's accumulator_size must be > 0", name);
            return -1;
        }
        if (window->kind == RILL_WINDOW_SESSION && !spec->aggregate.merge) {
            s_error(error, error_size,
                    "operator '%s': session windows merge, so the aggregate needs a merge "
                    "function",
                    name);
            return -1;
        }
        break;
    case RILL_WINDOW_FN_BUILTIN:
        if ((unsigned)spec->window_agg > RILL_WINDOW_AGG_AVG) {
            s_error(error, error_size, "operator '%s': unknown built-in window aggregation %d",
                    name, (int)spec->window_agg);
            return -1;
        }
        break;
    default:
        s_error(error, error_size, "operator '%s': unknown window function kind %d", name,
                (int)spec->window_fn);
        return -1;
    }
    return 0;
}

//  Checks each operator's inputs and outputs against its kind, and that the graph is acyclic.
static int s_check_shape(rill_plan_t *self, const rill_graph_t *graph, char *error,
                         size_t error_size)
{
    for (int id = 0; id < self->operator_count; id++) {
        const rill_plan_operator_t *op = &self->operators[id];
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        bool source = rill_op_kind_is_source(op->kind);
        if (source && op->input_count) {
            s_error(error, error_size, "operator '%s': a source cannot have an input", op->name);
            return -1;
        }
        if (!source && !op->input_count) {
            s_error(error, error_size, "operator '%s': has no input", op->name);
            return -1;
        }
        if (rill_op_kind_is_sink(op->kind) && op->output_count) {
            s_error(error, error_size, "operator '%s': a sink cannot have an output", op->name);
            return -1;
        }
        if (!rill_op_kind_is_sink(op->kind) && !op->output_count) {
            s_error(error, error_size,
                    "operator '%s': its output stream has no sink (add a print, collect or "
                    "discard sink)",
                    op->name);
            return -1;
        }
        if (op->kind == RILL_OP_REDUCE || op->kind == RILL_OP_WINDOW || op->kind == RILL_OP_PROCESS)
            for (int e = 0, input = 0; e < self->edge_count; e++) {
                if (self->edges[e].to != id)
                    continue;
                //  A broadcast process function's second input is its broadcast stream.
                bool broadcast_side = spec->on_broadcast && input++ >= spec->first_inputs;
                if (broadcast_side && self->edges[e].pattern != RILL_PATTERN_BROADCAST) {
                    s_error(error, error_size,
                            "operator '%s': its broadcast input is not broadcast", op->name);
                    return -1;
                }
                if (!broadcast_side && !self->edges[e].keyed) {
                    s_error(error, error_size,
                            "operator '%s': a keyed operation needs a keyed input stream "
                            "(use key_by first)",
                            op->name);
                    return -1;
                }
            }
        bool needs_fn = false;
        switch (op->kind) {
        case RILL_OP_MAP: needs_fn = !spec->fn.map || (spec->first_inputs && !spec->fn2.map); break;
        case RILL_OP_FILTER: needs_fn = !spec->fn.filter; break;
        case RILL_OP_FLAT_MAP:
            needs_fn = !spec->fn.flat_map || (spec->first_inputs && !spec->fn2.flat_map);
            break;
        case RILL_OP_REDUCE: needs_fn = spec->agg == RILL_AGG_NONE && !spec->fn.reduce; break;
        case RILL_OP_SOURCE_GENERATOR: needs_fn = !spec->fn.generate; break;
        case RILL_OP_SOURCE_USER: needs_fn = !spec->fn.source; break;
        case RILL_OP_SOURCE_FILE: needs_fn = !spec->path; break;
        case RILL_OP_SOURCE_DIRECTORY:
        case RILL_OP_SINK_ROLLING: needs_fn = !spec->path || !spec->options; break;
        case RILL_OP_SINK_COLLECT: needs_fn = !spec->collect; break;
        case RILL_OP_TIMESTAMPS: needs_fn = !spec->fn.timestamp; break;
        case RILL_OP_PROCESS: needs_fn = !spec->fn.process && !spec->join; break;
        case RILL_OP_WINDOW:
            needs_fn = (spec->window_fn == RILL_WINDOW_FN_REDUCE && !spec->window_reduce) ||
                       (spec->window_fn == RILL_WINDOW_FN_PROCESS && !spec->fn.window_process) ||
                       (spec->window_fn == RILL_WINDOW_FN_APPLY && !spec->fn.window_apply) ||
                       (spec->window_fn == RILL_WINDOW_FN_AGGREGATE &&
                        (!spec->aggregate.create || !spec->aggregate.add ||
                         !spec->aggregate.result));
            break;
        default: break;
        }
        if (needs_fn) {
            s_error(error, error_size, "operator '%s': no %s given", op->name,
                    op->kind == RILL_OP_SOURCE_FILE || op->kind == RILL_OP_SOURCE_DIRECTORY
                        ? "input path"
                    : op->kind == RILL_OP_SINK_ROLLING ? "base directory"
                    : op->kind == RILL_OP_SINK_COLLECT ? "collect result set"
                                                       : "user function");
            return -1;
        }
        if (op->kind == RILL_OP_WINDOW && s_check_window(op->name, spec, error, error_size))
            return -1;
    }
    //  Kahn's algorithm: whatever cannot be ordered lies on a cycle.
    int *pending = calloc((size_t)self->operator_count + 1, sizeof(int));
    int *queue = calloc((size_t)self->operator_count + 1, sizeof(int));
    if (!pending || !queue) {
        free(pending);
        free(queue);
        s_error(error, error_size, "plan: out of memory");
        return -1;
    }
    //  An iteration's feedback edge (rill_iterate.h) is the one edge allowed against the flow:
    //  left out here, everything else must still be acyclic.
    int head = 0, tail = 0;
    for (int id = 0; id < self->operator_count; id++)
        pending[id] = self->operators[id].input_count;
    for (int e = 0; e < self->edge_count; e++)
        if (rill_graph_edge(graph, e)->feedback)
            pending[self->edges[e].to]--;
    for (int id = 0; id < self->operator_count; id++)
        if (!pending[id])
            queue[tail++] = id;
    while (head < tail) {
        int id = queue[head++];
        for (int e = 0; e < self->edge_count; e++)
            if (self->edges[e].from == id && !rill_graph_edge(graph, e)->feedback &&
                --pending[self->edges[e].to] == 0)
                queue[tail++] = self->edges[e].to;
    }
    int cyclic = -1;
    for (int id = 0; id < self->operator_count && cyclic < 0; id++)
        if (pending[id] > 0)
            cyclic = id;
    free(pending);
    free(queue);
    if (cyclic >= 0) {
        s_error(error, error_size, "operator '%s': lies on a cycle; a dataflow must be acyclic",
                self->operators[cyclic].name);
        return -1;
    }
    return 0;
}

//  Decides which edges are chained, as Flink's StreamingJobGraphGenerator.isChainable does: a
//  forward edge between operators of the same parallelism whose chaining strategies allow
//  it, into an operator with no other input. rill's chains are linear, so the sender must
//  have no other output either (Flink also chains an operator to several successors). A user
//  source keeps a thread of its own: its function may block waiting for input, and a chained
//  successor would then miss its timers (idleness, periodic watermarks); Flink likewise runs a
//  legacy SourceFunction in a thread apart from its chain's timers.
static void s_plan_chains(rill_plan_t *self, const rill_graph_t *graph)
{
    bool enabled = rill_graph_chaining_enabled(graph);
    for (int id = 0; id < self->edge_count; id++) {
        rill_plan_edge_t *edge = &self->edges[id];
        const rill_plan_operator_t *from = &self->operators[edge->from];
        const rill_plan_operator_t *to = &self->operators[edge->to];
        const rill_operator_spec_t *from_spec = rill_graph_operator(graph, edge->from);
        const rill_operator_spec_t *to_spec = rill_graph_operator(graph, edge->to);
        edge->chained = enabled && edge->pattern == RILL_PATTERN_FORWARD &&
                        from->parallelism == to->parallelism && to->input_count == 1 &&
                        from->output_count == 1 && edge->output_tag == RILL_OUTPUT_MAIN &&
                        from_spec->chaining != RILL_CHAIN_NEVER &&
                        from_spec->kind != RILL_OP_SOURCE_USER &&
                        to_spec->chaining == RILL_CHAIN_DEFAULT;
        if (edge->chained)
            edge->sender_socket = edge->receiver_socket = "CHAIN";
    }
}

//  Decides which edges carry partial results (a map-side combiner, as Flink's combinable
//  reduce in batch and its table runtime's local-global aggregation with a mini-batch): a
//  hash edge into a keyed reduce, in batch mode or in streaming mode with a mini-batch,
//  unless combining is off. Such an edge is never chained (chains are forward).
static void s_plan_combiners(rill_plan_t *self, const rill_graph_t *graph)
{
    bool enabled = rill_graph_combine_bytes(graph) > 0 &&
                   (self->mode == RILL_MODE_BATCH || rill_graph_mini_batch_ms(graph) > 0);
    for (int id = 0; id < self->edge_count; id++) {
        rill_plan_edge_t *edge = &self->edges[id];
        edge->combined = enabled && edge->pattern == RILL_PATTERN_HASH && !edge->chained &&
                         self->operators[edge->to].kind == RILL_OP_REDUCE;
    }
}

int rill_plan_link_chains(rill_plan_t *self, char *error, size_t error_size)
{
    for (int id = 0; id < self->operator_count; id++) {
        self->operators[id].chain = id;
        self->operators[id].chain_next = -1;
    }
    for (int id = 0; id < self->edge_count; id++) {
        const rill_plan_edge_t *edge = &self->edges[id];
        if (!edge->chained)
            continue;
        rill_plan_operator_t *from = &self->operators[edge->from];
        rill_plan_operator_t *to = &self->operators[edge->to];
        if (edge->pattern != RILL_PATTERN_FORWARD || from->parallelism != to->parallelism ||
            from->output_count != 1 || to->input_count != 1 || edge->from == edge->to) {
            s_error(error, error_size,
                    "edge %d ('%s' -> '%s') is chained but cannot be: a chained edge is "
                    "forward, between operators of the same parallelism, the sender's only "
                    "output and the receiver's only input",
                    id, from->name, to->name);
            return -1;
        }
        from->chain_next = edge->to;
    }
    //  Heads are the operators no chained edge enters; follow each chain from its head. An
    //  operator reached twice, or never, lies on a chained cycle (only a bad file has one).
    int linked = 0;
    for (int id = 0; id < self->operator_count; id++) {
        bool entered = false;
        for (int e = 0; e < self->edge_count; e++)
            entered = entered || (self->edges[e].chained && self->edges[e].to == id);
        if (entered)
            continue;
        for (int op = id, steps = 0; op >= 0; op = self->operators[op].chain_next, steps++) {
            if (steps > self->operator_count)
                break;
            self->operators[op].chain = id;
            linked++;
        }
    }
    if (linked != self->operator_count) {
        s_error(error, error_size, "the chained edges form a cycle");
        return -1;
    }
    self->task_count = 0;
    for (int id = 0; id < self->subtask_count; id++) {
        rill_plan_subtask_t *subtask = &self->subtasks[id];
        const rill_plan_operator_t *head = &self->operators[self->operators[subtask->op].chain];
        subtask->task = head->first_subtask + subtask->index;
        if (subtask->task == id)
            self->task_count++;
    }
    return 0;
}

//  A random 128-bit id in hex. Random rather than a counter, so the planner keeps no
//  process-wide state; getrandom needs no descriptor. Should it fail (very old kernels), the
//  clock and the plan's address still differ from any plan alive at the same time.
static void s_make_id(rill_plan_t *self)
{
    uint64_t bits[2] = {0, 0};
    if (getrandom(bits, sizeof bits, GRND_NONBLOCK) != (ssize_t)sizeof bits) {
        bits[0] = (uint64_t)rill_clock_wall_ms() * 1000000ull ^ rill_clock_ns();
        bits[1] ^= (uint64_t)(uintptr_t)self;
    }
    snprintf(self->id, sizeof self->id, "%016llx%016llx", (unsigned long long)bits[0],
             (unsigned long long)bits[1]);
}

rill_plan_t *rill_plan_new(const rill_graph_t *graph, const char *job_name,
                           int default_parallelism, rill_mode_t mode, char *error,
                           size_t error_size)
{
    rill_plan_t *self = calloc(1, sizeof(rill_plan_t));
    if (!self) {
        s_error(error, error_size, "plan: out of memory");
        return NULL;
    }
    self->graph = graph;
    s_make_id(self);
    self->job_name = strdup(job_name && *job_name ? job_name : "job");
    self->operator_count = rill_graph_operator_count(graph);
    self->edge_count = rill_graph_edge_count(graph);
    self->operators = calloc((size_t)self->operator_count + 1, sizeof(rill_plan_operator_t));
    self->edges = calloc((size_t)self->edge_count + 1, sizeof(rill_plan_edge_t));
    self->names = calloc((size_t)self->operator_count + 1, sizeof(char *));
    if (!self->job_name || !self->operators || !self->edges || !self->names) {
        s_fail(&self, error, error_size, "plan: out of memory");
        return NULL;
    }
    if (self->operator_count == 0) {
        s_fail(&self, error, error_size, "the job has no operators: add a source and a sink");
        return NULL;
    }
    if (s_plan_operators(self, graph, default_parallelism, mode, error, error_size) ||
        s_plan_edges(self, graph, error, error_size) ||
        s_check_shape(self, graph, error, error_size) ||
        rill_plan_iterations(self, graph, error, error_size)) {
        rill_plan_destroy(&self);
        return NULL;
    }
    s_plan_chains(self, graph);
    if (rill_plan_link_chains(self, error, error_size)) {
        rill_plan_destroy(&self);
        return NULL;
    }
    s_plan_combiners(self, graph);
    for (int id = 0; id < self->edge_count; id++) {
        rill_plan_edge_t *edge = &self->edges[id];
        int senders = self->operators[edge->from].parallelism;
        int receivers = self->operators[edge->to].parallelism;
        edge->first_channel = self->channel_count;
        for (int i = 0; i < senders; i++) {
            int lo, hi;
            s_receiver_range(edge->pattern, i, senders, receivers, &lo, &hi);
            for (int j = lo; j < hi; j++)
                if (s_add_channel(self, edge, i, j)) {
                    s_fail(&self, error, error_size, "plan: out of memory");
                    return NULL;
                }
        }
    }
    if (rill_plan_index_channels(self)) {
        s_fail(&self, error, error_size, "plan: out of memory");
        return NULL;
    }
    //  One process until the job says otherwise: every subtask on rank 0, every channel inproc.
    if (rill_plan_place(self, 1, error, error_size)) {
        rill_plan_destroy(&self);
        return NULL;
    }
    return self;
}

void rill_plan_needs(const rill_plan_t *self, size_t batch_size, rill_plan_needs_t *needs)
{
    *needs = (rill_plan_needs_t){0};
    for (int id = 0; id < self->edge_count; id++) {
        //  Per edge that is not chained, a socket at each end in every subtask it joins.
        const rill_plan_edge_t *edge = &self->edges[id];
        if (!edge->chained)
            needs->sockets += self->operators[edge->from].parallelism +
                              self->operators[edge->to].parallelism;
    }
    //  Per task (actor thread): the actor pipe, two sockets.
    needs->sockets += 2 * self->task_count;
    needs->threads = self->task_count;
    //  libzmq takes one descriptor per socket (its mailbox's eventfd); a source or sink may
    //  open a file per subtask; the context's I/O and reaper threads take a few more.
    needs->descriptors = needs->sockets + self->subtask_count + 16;
    for (int id = 0; id < self->edge_count; id++)
        needs->channels += self->edges[id].chained ? 0 : self->edges[id].channel_count;
    needs->batch_bytes = (uint64_t)needs->channels * batch_size;
}

void rill_plan_destroy(rill_plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_plan_t *self = *self_p;
    if (self->names)
        for (int i = 0; i < self->operator_count; i++)
            free(self->names[i]);
    free(self->names);
    free(self->job_name);
    free(self->operators);
    free(self->edges);
    free(self->subtasks);
    rill_plan_index_destroy(self);
    rill_plan_processes_destroy(self);
    free(self->channels);
    free(self);
    *self_p = NULL;
}

const char *rill_plan_job_name(const rill_plan_t *self)
{
    return self->job_name;
}

rill_mode_t rill_plan_mode(const rill_plan_t *self)
{
    return self->mode;
}

const rill_graph_t *rill_plan_graph(const rill_plan_t *self)
{
    return self->graph;
}

int rill_plan_operator_count(const rill_plan_t *self)
{
    return self->operator_count;
}

int rill_plan_edge_count(const rill_plan_t *self)
{
    return self->edge_count;
}

int rill_plan_subtask_count(const rill_plan_t *self)
{
    return self->subtask_count;
}

int rill_plan_task_count(const rill_plan_t *self)
{
    return self->task_count;
}

int rill_plan_channel_count(const rill_plan_t *self)
{
    return self->channel_count;
}

const rill_plan_operator_t *rill_plan_operator(const rill_plan_t *self, int id)
{
    return id >= 0 && id < self->operator_count ? &self->operators[id] : NULL;
}

const rill_plan_edge_t *rill_plan_edge(const rill_plan_t *self, int id)
{
    return id >= 0 && id < self->edge_count ? &self->edges[id] : NULL;
}

const rill_plan_subtask_t *rill_plan_subtask(const rill_plan_t *self, int id)
{
    return id >= 0 && id < self->subtask_count ? &self->subtasks[id] : NULL;
}

const rill_plan_channel_t *rill_plan_channel(const rill_plan_t *self, int id)
{
    return id >= 0 && id < self->channel_count ? &self->channels[id] : NULL;
}

int rill_plan_input_edge(const rill_plan_t *self, int op, int input_index)
{
    for (int e = 0; e < self->edge_count; e++)
        if (self->edges[e].to == op && self->edges[e].input_index == input_index)
            return e;
    return -1;
}

int rill_plan_output_edge(const rill_plan_t *self, int op, int output_index)
{
    for (int e = 0; e < self->edge_count; e++)
        if (self->edges[e].from == op && self->edges[e].output_index == output_index)
            return e;
    return -1;
}

int rill_plan_channels_into(const rill_plan_t *self, int edge, int to_index)
{
    const rill_plan_edge_t *e = rill_plan_edge(self, edge);
    //  Public: a receiver index the edge does not have has no channels.
    if (!e || to_index < 0 || to_index >= self->operators[e->to].parallelism)
        return 0;
    const int *channels;
    return rill_plan_channels_to(self, edge, to_index, &channels);
}
