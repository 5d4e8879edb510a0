/*  rill_time.c: the time, window and keyed-process calls of the stream API (rill_time.h).
    Each adds one operator to the logical graph; the operators live in actors/operators/. */
#include "rill_time.h"
#include "rill_graph_private.h"
#include "rill_env_private.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

rill_stream_t *rill_stream_assign_timestamps(rill_stream_t *in, rill_timestamp_fn fn, void *ctx,
                                             const rill_watermarks_t *strategy)
{
    rill_operator_spec_t spec = {.kind = RILL_OP_TIMESTAMPS, .fn.timestamp = fn, .ctx = ctx};
    if (in && strategy &&
        ((strategy->max_drift_ms < 0 && strategy->max_drift_ms != RILL_ALIGNMENT_OFF) ||
         strategy->alignment_interval_ms < 0)) {
        rill_env_fail(rill_stream_env(in), "assign_timestamps: max_drift_ms must be >= 0 or "
                                           "RILL_ALIGNMENT_OFF, alignment_interval_ms >= 0");
        return NULL;
    }
    if (strategy)
        spec.watermarks = *strategy;
    return rill_env_apply(in, &spec, "assign_timestamps");
}

rill_window_t rill_window_tumbling(int64_t size_ms)
{
    return (rill_window_t){.kind = RILL_WINDOW_TUMBLING, .size = size_ms};
}

rill_window_t rill_window_sliding(int64_t size_ms, int64_t slide_ms)
{
    return (rill_window_t){.kind = RILL_WINDOW_SLIDING, .size = size_ms, .slide = slide_ms};
}

rill_window_t rill_window_session(int64_t gap_ms)
{
    return (rill_window_t){.kind = RILL_WINDOW_SESSION, .gap = gap_ms};
}

rill_window_t rill_window_session_dynamic(int64_t (*gap_fn)(const rill_record_t *record, void *ctx),
                                          void *ctx)
{
    //  gap 1 passes the planner's check; each record's own gap replaces it.
    return (rill_window_t){.kind = RILL_WINDOW_SESSION, .gap = 1, .gap_fn = gap_fn,
                           .gap_ctx = ctx};
}

rill_window_t rill_window_count(int64_t size, int64_t slide)
{
    return (rill_window_t){.kind = slide && slide != size ? RILL_WINDOW_COUNT_SLIDING
                                                          : RILL_WINDOW_COUNT_TUMBLING,
                           .size = size,
                           .slide = slide ? slide : size};
}

rill_window_t rill_window_global(void)
{
    return (rill_window_t){.kind = RILL_WINDOW_GLOBAL};
}

rill_window_t rill_window_custom(rill_window_assign_fn fn, void *ctx, rill_time_domain_t time)
{
    return (rill_window_t){.kind = RILL_WINDOW_CUSTOM, .time = time, .assign_fn = fn,
                           .assign_ctx = ctx};
}

static rill_stream_t *s_window(rill_keyed_stream_t keyed, const rill_window_t *window,
                               rill_operator_spec_t *spec, const char *what)
{
    if (keyed.stream && !window) {
        rill_env_fail(rill_stream_env(keyed.stream), "window: no window given");
        return NULL;
    }
    spec->kind = RILL_OP_WINDOW;
    if (window)
        spec->window = *window;
    return rill_env_apply(keyed.stream, spec, what);
}

rill_stream_t *rill_stream_window_reduce(rill_keyed_stream_t keyed, const rill_window_t *window,
                                         rill_reduce_fn fn, void *ctx)
{
    rill_operator_spec_t spec = {
        .window_fn = RILL_WINDOW_FN_REDUCE, .window_reduce = fn, .ctx = ctx};
    return s_window(keyed, window, &spec, "window_reduce");
}

rill_stream_t *rill_stream_window_aggregate(rill_keyed_stream_t keyed, const rill_window_t *window,
                                            const rill_aggregate_t *aggregate, void *ctx)
{
    rill_operator_spec_t spec = {.window_fn = RILL_WINDOW_FN_AGGREGATE, .ctx = ctx};
    if (aggregate)
        spec.aggregate = *aggregate;
    return s_window(keyed, window, &spec, "window_aggregate");
}

rill_stream_t *rill_stream_window_process(rill_keyed_stream_t keyed, const rill_window_t *window,
                                          rill_window_process_fn fn, void *ctx)
{
    rill_operator_spec_t spec = {
        .window_fn = RILL_WINDOW_FN_PROCESS, .fn.window_process = fn, .ctx = ctx};
    return s_window(keyed, window, &spec, "window_process");
}

rill_stream_t *rill_stream_window_apply(rill_keyed_stream_t keyed, const rill_window_t *window,
                                        rill_window_apply_fn fn, void *ctx)
{
    rill_operator_spec_t spec = {
        .window_fn = RILL_WINDOW_FN_APPLY, .fn.window_apply = fn, .ctx = ctx};
    return s_window(keyed, window, &spec, "window_apply");
}

rill_stream_t *rill_stream_window_builtin(rill_keyed_stream_t keyed, const rill_window_t *window,
                                          rill_window_agg_t agg)
{
    rill_operator_spec_t spec = {.window_fn = RILL_WINDOW_FN_BUILTIN, .window_agg = agg};
    return s_window(keyed, window, &spec, "window_builtin");
}

rill_stream_t *rill_stream_late_records(rill_stream_t *windowed)
{
    return rill_env_side_output(windowed, RILL_OP_WINDOW, RILL_OUTPUT_LATE, "late_records");
}

rill_stream_t *rill_stream_process(rill_keyed_stream_t keyed, rill_process_fn fn,
                                   rill_timer_fn on_timer, void *ctx)
{
    rill_operator_spec_t spec = {
        .kind = RILL_OP_PROCESS, .fn.process = fn, .on_timer = on_timer, .ctx = ctx};
    return rill_env_apply(keyed.stream, &spec, "process");
}

//  An operator on two connected streams: its input edges are the first stream's parts, then
//  the second's (a union of the two), and spec->first_inputs tells them apart.
static rill_stream_t *s_connect(rill_stream_t *first, rill_stream_t *second,
                                rill_operator_spec_t *spec, const char *what)
{
    if (!first || !second)
        return NULL;
    if (rill_stream_env(first) != rill_stream_env(second)) {
        char message[128];
        snprintf(message, sizeof message, "%s: the streams belong to different environments",
                 what);
        rill_env_fail(rill_stream_env(first), message);
        return NULL;
    }
    rill_stream_t *both = rill_stream_union(first, second);
    if (!both)
        return NULL;
    spec->first_inputs = rill_stream_part_count(first);
    return rill_env_apply(both, spec, what);
}

rill_stream_t *rill_stream_co_process(rill_keyed_stream_t first, rill_keyed_stream_t second,
                                      rill_process_fn fn, rill_timer_fn on_timer, void *ctx)
{
    rill_operator_spec_t spec = {
        .kind = RILL_OP_PROCESS, .fn.process = fn, .on_timer = on_timer, .ctx = ctx};
    return s_connect(first.stream, second.stream, &spec, "co_process");
}

rill_stream_t *rill_stream_co_map(rill_stream_t *first, rill_stream_t *second,
                                  rill_map_fn first_fn, rill_map_fn second_fn, void *ctx)
{
    rill_operator_spec_t spec = {
        .kind = RILL_OP_MAP, .fn.map = first_fn, .fn2.map = second_fn, .ctx = ctx};
    return s_connect(first, second, &spec, "co_map");
}

rill_stream_t *rill_stream_co_flat_map(rill_stream_t *first, rill_stream_t *second,
                                       rill_flat_map_fn first_fn, rill_flat_map_fn second_fn,
                                       void *ctx)
{
    rill_operator_spec_t spec = {.kind = RILL_OP_FLAT_MAP,
                                 .fn.flat_map = first_fn,
                                 .fn2.flat_map = second_fn,
                                 .ctx = ctx};
    return s_connect(first, second, &spec, "co_flat_map");
}

rill_stream_t *rill_stream_window_join(rill_keyed_stream_t keyed_left,
                                       rill_keyed_stream_t keyed_right, const rill_window_t *window,
                                       rill_join_fn fn, void *ctx)
{
    rill_stream_t *left = keyed_left.stream, *right = keyed_right.stream;
    if (left && (!window || !fn)) {
        rill_env_fail(rill_stream_env(left), "window_join: no window or no join function given");
        return NULL;
    }
    bool session = window && window->kind == RILL_WINDOW_SESSION;
    if (left && session &&
        (window->time != RILL_TIME_EVENT || (!window->gap_fn && window->gap <= 0))) {
        rill_env_fail(rill_stream_env(left), "window_join: needs an event-time session window "
                                             "with a gap > 0 ms (or a gap function)");
        return NULL;
    }
    if (left && !session &&
        ((window->kind != RILL_WINDOW_TUMBLING && window->kind != RILL_WINDOW_SLIDING) ||
         window->time != RILL_TIME_EVENT || window->size <= 0 ||
         (window->kind == RILL_WINDOW_SLIDING &&
          (window->slide <= 0 || window->slide > window->size)))) {
        rill_env_fail(rill_stream_env(left),
                      "window_join: needs an event-time tumbling, sliding or session window "
                      "(size > 0, 0 < slide <= size); count windows are not supported");
        return NULL;
    }
    int64_t most = window->max_windows_per_record > 0 ? window->max_windows_per_record
                                                      : RILL_WINDOW_MAX_PER_RECORD;
    if (left && window->kind == RILL_WINDOW_SLIDING &&
        (window->size + window->slide - 1) / window->slide > most) {
        rill_env_fail(rill_stream_env(left), "window_join: a record would fall in more sliding "
                                             "windows than max_windows_per_record");
        return NULL;
    }
    rill_operator_spec_t spec = {
        .kind = RILL_OP_PROCESS, .join = fn, .window_join = true, .window = *window, .ctx = ctx};
    if (spec.window.kind == RILL_WINDOW_TUMBLING)
        spec.window.slide = spec.window.size;
    return s_connect(left, right, &spec, "window_join");
}

rill_stream_t *rill_stream_interval_join(rill_keyed_stream_t keyed_left,
                                         rill_keyed_stream_t keyed_right, int64_t lower_ms,
                                         int64_t upper_ms, rill_join_fn fn, void *ctx)
{
    rill_stream_t *left = keyed_left.stream, *right = keyed_right.stream;
    if (left && lower_ms > upper_ms) {
        rill_env_fail(rill_stream_env(left), "interval_join: the lower bound is above the upper");
        return NULL;
    }
    if (left && !fn) {
        rill_env_fail(rill_stream_env(left), "interval_join: no join function given");
        return NULL;
    }
    rill_operator_spec_t spec = {.kind = RILL_OP_PROCESS,
                                 .join = fn,
                                 .join_lower = lower_ms,
                                 .join_upper = upper_ms,
                                 .ctx = ctx};
    return s_connect(left, right, &spec, "interval_join");
}

rill_stream_t *rill_stream_broadcast_process(rill_keyed_stream_t keyed_stream,
                                             rill_stream_t *broadcast, rill_process_fn fn,
                                             rill_broadcast_fn on_broadcast, rill_timer_fn on_timer,
                                             void *ctx)
{
    rill_stream_t *keyed = keyed_stream.stream;
    if (keyed && !on_broadcast) {
        rill_env_fail(rill_stream_env(keyed), "broadcast_process: no broadcast function given");
        return NULL;
    }
    rill_operator_spec_t spec = {.kind = RILL_OP_PROCESS,
                                 .fn.process = fn,
                                 .on_broadcast = on_broadcast,
                                 .on_timer = on_timer,
                                 .ctx = ctx};
    return s_connect(keyed, broadcast ? rill_stream_broadcast(broadcast) : NULL, &spec,
                     "broadcast_process");
}

rill_stream_t *rill_stream_side_output(rill_stream_t *processed, int tag)
{
    if (processed && (tag < 1 || tag > RILL_OUTPUT_MAX_SIDE)) {
        rill_env_fail(rill_stream_env(processed),
                      "side_output: the tag must be 1 .. RILL_OUTPUT_MAX_SIDE (0 is the main "
                      "output)");
        return NULL;
    }
    return rill_env_side_output(processed, RILL_OP_PROCESS, tag, "side_output");
}

const char *rill_time_format(int64_t ms, char *text, size_t size)
{
    if (ms == INT64_MAX)
        snprintf(text, size, "end of input");
    else if (ms == INT64_MIN)
        snprintf(text, size, "none");
    else {
        time_t seconds = (time_t)(ms / 1000);
        struct tm utc;
        size_t used = ms >= 0 && gmtime_r(&seconds, &utc)
                          ? strftime(text, size, "%Y-%m-%dT%H:%M:%S", &utc)
                          : 0;
        if (used)
            snprintf(text + used, size - used, ".%03dZ", (int)(ms % 1000));
        else
            snprintf(text, size, "%lld ms", (long long)ms);
    }
    return text;
}
