/*  test_combiner.c: pre-aggregation before the shuffle and the streaming mini-batch. A job
    with the combiner gives the same results as without it (count, sum of integers and of
    reals, min, max, a reduce function, and each result's timestamp, the highest of its key's
    records) at every sender and receiver parallelism, with a table so small that it flushes
    mid-stream, many keys and one key holding half the records; the channels prove it ran
    (fewer records on the wire). With a mini-batch the final values are the same and fewer
    updates are emitted, and event-time windows downstream see the same results: the reduce
    emits its changed keys before it passes a watermark on (Flink's mini-batch aggregation
    flushes its bundle before a watermark too). */
#include "testutil.h"

#include "rill_combiner.h"
#include "rill_partial.h"
#include "rill_partitioner.h"
#include "rill_plan_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_RECORDS 12000
#define S_KEYS 1500

//  Record i: "hot<TAB>v" for even i (half of all records on one key), else "k<n><TAB>v" over
//  S_KEYS keys; v an integer (some negative), or a multiple of 0.25 for the reals (exact in
//  a double, so every order of addition gives the same sum). Timestamps jump about, so the
//  highest of a key's records is not simply its last.
typedef struct {
    bool reals;
} s_input_t;

static int s_generate(uint64_t i, rill_collector_t *out, void *ctx)
{
    const s_input_t *input = ctx;
    char text[64];
    char key[16];
    if (i % 2 == 0)
        snprintf(key, sizeof key, "hot");
    else
        snprintf(key, sizeof key, "k%llu", (unsigned long long)(i / 2 * 7 % S_KEYS));
    long long value = (long long)(i % 1000) - 300;
    int size = input->reals ? snprintf(text, sizeof text, "%s\t%.2f", key, (double)value * 0.25)
                            : snprintf(text, sizeof text, "%s\t%lld", key, value);
    int64_t timestamp = (int64_t)((i * 7919) % 100003);
    return rill_collector_emit(out, text, (size_t)size, timestamp);
}

//  The integer after the first tab of a record (its bytes are not NUL-terminated).
static long long s_value(const rill_record_t *record)
{
    const char *tab = memchr(record->data, '\t', record->size);
    char text[32] = "";
    size_t size = record->size - (size_t)(tab + 1 - (const char *)record->data);
    memcpy(text, tab + 1, size < sizeof text - 1 ? size : sizeof text - 1);
    return strtoll(text, NULL, 10);
}

//  A reduce function that is associative and commutative: sums the last field.
static int s_add(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    const char *a = acc->data;
    const char *tab = memchr(a, '\t', acc->size);
    return rill_buffer_appendf(out, "%.*s\t%lld", (int)(tab - a), a, s_value(acc) + s_value(in));
}

//  One only associative: appends the new values to the accumulated ones, so the order of the
//  records of a key shows in the result.
static int s_concatenate(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                         void *ctx)
{
    const char *tab = memchr(in->data, '\t', in->size);
    size_t rest = in->size - (size_t)(tab + 1 - (const char *)in->data);
    if (rill_buffer_set(out, acc->data, acc->size) || rill_buffer_append(out, ",", 1))
        return -1;
    return rill_buffer_append(out, tab + 1, rest);
}

typedef enum {
    S_COUNT,
    S_SUM,
    S_SUM_REALS,
    S_MIN,
    S_MAX,
    S_REDUCE,
    S_CONCATENATE,
    S_KINDS,
} s_kind_t;

static const char *s_kind_names[] = {"count", "sum",    "sum of reals", "min",
                                     "max",   "reduce", "concatenate"};

typedef struct {
    s_kind_t kind;
    int senders, receivers;
    size_t combine_bytes; //  0: no combiner
    FILE *trace;          //  trace one record in 7 into it when not NULL
} s_job_t;

//  Runs generator -> key_by -> the aggregation -> collect and returns the sorted results;
//  *sent gets the records the hash edge carried, *combined whether the plan combined it.
static rill_results_t *s_run(const s_job_t *job, uint64_t *sent, bool *combined)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    s_input_t input = {job->kind == S_SUM_REALS};
    assert_int_equal(rill_env_set_combine(env, job->combine_bytes), 0);
    if (job->trace)
        assert_int_equal(rill_env_set_trace(env, job->trace, 7), 0);
    rill_stream_t *s = rill_stream_parallelism(
        rill_env_from_generator(env, s_generate, &input, S_RECORDS), job->senders);
    rill_keyed_stream_t keyed = rill_stream_key_by(s, rill_key_first_field, NULL);
    rill_stream_t *reduced = NULL;
    switch (job->kind) {
    case S_COUNT:
        reduced = rill_stream_count(keyed);
        break;
    case S_SUM:
    case S_SUM_REALS:
        reduced = rill_stream_sum(keyed);
        break;
    case S_MIN:
        reduced = rill_stream_min(keyed);
        break;
    case S_MAX:
        reduced = rill_stream_max(keyed);
        break;
    case S_REDUCE:
        reduced = rill_stream_reduce(keyed, s_add, NULL);
        break;
    default:
        reduced = rill_stream_reduce(keyed, s_concatenate, NULL);
        break;
    }
    rill_stream_collect(rill_stream_parallelism(reduced, job->receivers), results);
    if (rill_env_execute(env))
        fail_msg("%s at %d -> %d failed: %s", s_kind_names[job->kind], job->senders, job->receivers,
                 rill_env_error(env));
    const rill_metrics_t *metrics = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    const rill_plan_edge_t *edge = rill_plan_edge(plan, 0); //  generator -> reduce
    assert_int_equal(edge->pattern, RILL_PATTERN_HASH);
    *combined = edge->combined;
    *sent = 0;
    for (int c = edge->first_channel; c < edge->first_channel + edge->channel_count; c++) {
        rill_channel_metrics_t channel = rill_metrics_channel(metrics, c);
        assert_int_equal(channel.records, channel.records_received);
        *sent += channel.records;
    }
    rill_env_destroy(&env);
    rill_results_sort(results);
    return results;
}

//  The two result sets hold the same records with the same timestamps.
static void s_expect_same(rill_results_t *a, rill_results_t *b, const s_job_t *job)
{
    if (rill_results_size(a) != rill_results_size(b))
        fail_msg("%s at %d -> %d, table %zu bytes: %zu results, without the combiner %zu",
                 s_kind_names[job->kind], job->senders, job->receivers, job->combine_bytes,
                 rill_results_size(a), rill_results_size(b));
    for (size_t i = 0; i < rill_results_size(a); i++) {
        rill_record_t x = rill_results_record(a, i), y = rill_results_record(b, i);
        if (x.size != y.size || memcmp(x.data, y.data, x.size) || x.timestamp != y.timestamp)
            fail_msg("%s at %d -> %d, table %zu bytes: '%.*s' @%lld, without the combiner "
                     "'%.*s' @%lld",
                     s_kind_names[job->kind], job->senders, job->receivers, job->combine_bytes,
                     (int)(x.size > 80 ? 80 : x.size), (const char *)x.data, (long long)x.timestamp,
                     (int)(y.size > 80 ? 80 : y.size), (const char *)y.data,
                     (long long)y.timestamp);
    }
}

//  Runs the job with the combiner (at combine_bytes) and without; same results, fewer sent.
static void s_compare(s_kind_t kind, int senders, int receivers, size_t combine_bytes, FILE *trace)
{
    s_job_t with = {kind, senders, receivers, combine_bytes, trace};
    s_job_t without = {kind, senders, receivers, 0, NULL};
    uint64_t sent_with, sent_without;
    bool combined_with, combined_without;
    rill_results_t *a = s_run(&with, &sent_with, &combined_with);
    rill_results_t *b = s_run(&without, &sent_without, &combined_without);
    assert_true(combined_with);
    assert_false(combined_without);
    assert_int_equal(sent_without, S_RECORDS);
    assert_int_equal(rill_results_size(b), S_KEYS + 1);
    s_expect_same(a, b, &with);
    //  Half the records share one key: even a table that flushes all the time folds them.
    if (sent_with >= sent_without)
        fail_msg("%s at %d -> %d: the combiner sent %llu records, without it %llu",
                 s_kind_names[kind], senders, receivers, (unsigned long long)sent_with,
                 (unsigned long long)sent_without);
    rill_results_destroy(&a);
    rill_results_destroy(&b);
}

//  The usage example: a batch job's keyed count pre-aggregates by default.
static void a_batch_keyed_count_is_combined_by_default(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    s_input_t input = {false};
    rill_stream_t *s = rill_env_from_generator(env, s_generate, &input, S_RECORDS);
    rill_stream_collect(rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL)),
                        results);
    assert_int_equal(rill_env_execute(env), 0);
    const rill_metrics_t *metrics = rill_env_metrics(env);
    const rill_plan_edge_t *edge = rill_plan_edge(rill_metrics_plan(metrics), 0);
    assert_true(edge->combined);
    //  One sender, one receiver, every key fits the default table: one partial per key.
    assert_int_equal(rill_metrics_channel(metrics, edge->first_channel).records, S_KEYS + 1);
    //  The reduce counts what it received (partials); the source what it emitted.
    assert_int_equal(rill_metrics_subtask(metrics, 0).records_out, S_RECORDS);
    assert_int_equal(rill_metrics_subtask(metrics, 1).records_in, S_KEYS + 1);
    rill_results_sort(results);
    rill_record_t hot = rill_results_record(results, 0);
    assert_int_equal(hot.size, strlen("hot\t6000"));
    assert_memory_equal(hot.data, "hot\t6000", hot.size);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static const int s_shapes[][2] = {{1, 1}, {2, 2}, {4, 4}, {1, 3}, {3, 2}, {4, 1}};
#define S_SHAPES (sizeof s_shapes / sizeof s_shapes[0])

static void s_compare_shapes(s_kind_t kind)
{
    for (size_t i = 0; i < S_SHAPES; i++) {
        //  The default table holds every key; a 4 KiB one (at most 64 keys) flushes all the time.
        s_compare(kind, s_shapes[i][0], s_shapes[i][1], RILL_DEFAULT_COMBINE_BYTES, NULL);
        s_compare(kind, s_shapes[i][0], s_shapes[i][1], 4096, NULL);
    }
}

static void count_is_the_same_with_and_without_the_combiner(void **state)
{
    s_compare_shapes(S_COUNT);
}

static void integer_sum_is_the_same_with_and_without_the_combiner(void **state)
{
    s_compare_shapes(S_SUM);
}

static void real_sum_is_the_same_with_and_without_the_combiner(void **state)
{
    s_compare_shapes(S_SUM_REALS);
}

static void min_and_max_are_the_same_with_and_without_the_combiner(void **state)
{
    s_compare_shapes(S_MIN);
    s_compare_shapes(S_MAX);
}

static void a_reduce_function_is_the_same_with_and_without_the_combiner(void **state)
{
    s_compare_shapes(S_REDUCE);
}

//  Flink's combinable reduce needs the function associative, not commutative: records of a
//  key from one sender keep their order through the partials, even when the table flushes
//  mid-stream and a reduced value outgrows it (the hot key's list is longer than 4 KiB).
static void an_associative_reduce_keeps_each_senders_order(void **state)
{
    for (int receivers = 1; receivers <= 4; receivers++) {
        s_compare(S_CONCATENATE, 1, receivers, RILL_DEFAULT_COMBINE_BYTES, NULL);
        s_compare(S_CONCATENATE, 1, receivers, 4096, NULL);
    }
}

//  A traced record leaves at once inside its key's partial (carrying the trace on): the
//  results do not change, and the traces have their hops into the reduce.
static void traced_records_change_no_result(void **state)
{
    char path[] = "/tmp/rill-combiner-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *trace = fdopen(fd, "w+");
    s_compare(S_SUM, 2, 2, 4096, trace);
    s_compare(S_CONCATENATE, 1, 2, RILL_DEFAULT_COMBINE_BYTES, trace);
    assert_int_equal(fflush(trace), 0);
    fclose(trace);
    char *text = test_read_file(path);
    //  Hops into the reduce (operator 1) from a source subtask.
    assert_non_null(strstr(text, "\"op\":1,"));
    free(text);
    unlink(path);
}

//  A record a built-in cannot read fails the job in the reduce, naming it, as without the
//  combiner: the sender passes it on unfolded instead of failing itself.
static int s_bad_number(uint64_t i, rill_collector_t *out, void *ctx)
{
    const char *text = i == 500 ? "k1\tnot-a-number" : "k1\t1";
    return rill_collector_emit(out, text, strlen(text), RILL_NO_TIMESTAMP);
}

static void a_record_without_a_number_fails_the_reduce_as_without_the_combiner(void **state)
{
    for (int combine = 0; combine < 2; combine++) {
        rill_env_t *env = rill_env_new();
        rill_env_set_combine(env, combine ? RILL_DEFAULT_COMBINE_BYTES : 0);
        rill_stream_t *s = rill_env_from_generator(env, s_bad_number, NULL, 1000);
        rill_stream_discard(rill_stream_name(
            rill_stream_sum(rill_stream_key_by(s, rill_key_first_field, NULL)), "totals"));
        assert_int_equal(rill_env_execute(env), -1);
        assert_non_null(strstr(rill_env_error(env), "operator 'totals' subtask 1/1"));
        assert_non_null(strstr(rill_env_error(env), "'k1\tnot-a-number' has no number"));
        rill_env_destroy(&env);
    }
}

//  A reduce function that fails while a sender pre-aggregates fails the job, naming the
//  sending subtask and the reduce.
static int s_refuse(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                    void *ctx)
{
    return -1;
}

static void a_failing_reduce_function_fails_the_job_naming_sender_and_reduce(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *s =
        rill_stream_name(rill_env_from_generator(env, s_bad_number, NULL, 100), "numbers");
    rill_keyed_stream_t keyed = rill_stream_key_by(s, rill_key_first_field, NULL);
    rill_stream_discard(rill_stream_name(rill_stream_reduce(keyed, s_refuse, NULL), "refuser"));
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "operator 'numbers' subtask 1/1: "
                                                "pre-aggregating for 'refuser': user function "
                                                "failed"));
    rill_env_destroy(&env);
}

//  fuzz_partial found both: an integer sum past INT64_MAX overflowed (undefined behaviour in
//  C; make sanitize reports it), and a reduce function returning an empty record had its NULL
//  bytes copied. Sums wrap around as Java's long does in Flink's sum; an empty result is kept.
static int s_huge(uint64_t i, rill_collector_t *out, void *ctx)
{
    const char *text = i % 2 ? "k\t9223372036854775807" : "k\t1";
    return rill_collector_emit(out, text, strlen(text), RILL_NO_TIMESTAMP);
}

static int s_nothing(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                     void *ctx)
{
    return 0;
}

static void integer_sums_wrap_around_and_empty_reductions_are_kept(void **state)
{
    for (int combine = 0; combine < 2; combine++) {
        rill_env_t *env = rill_env_new();
        rill_results_t *sums = rill_results_new(), *empties = rill_results_new();
        rill_env_set_combine(env, combine ? RILL_DEFAULT_COMBINE_BYTES : 0);
        rill_keyed_stream_t keyed = rill_stream_key_by(
            rill_env_from_generator(env, s_huge, NULL, 4), rill_key_first_field, NULL);
        rill_stream_collect(rill_stream_sum(keyed), sums);
        rill_stream_collect(rill_stream_reduce(keyed, s_nothing, NULL), empties);
        assert_int_equal(rill_env_execute(env), 0);
        //  2 * INT64_MAX + 2 wraps to 0.
        const char *expected[] = {"k\t0"};
        test_expect_records(sums, expected, 1);
        assert_int_equal(rill_results_size(empties), 1);
        assert_int_equal(rill_results_record(empties, 0).size, 0);
        rill_results_destroy(&sums);
        rill_results_destroy(&empties);
        rill_env_destroy(&env);
    }
}

//  ---- the plan

static const rill_plan_t *s_plan(rill_env_t *env, rill_mode_t mode)
{
    rill_env_set_mode(env, mode);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 10);
    rill_keyed_stream_t keyed = rill_stream_key_by(s, rill_key_first_field, NULL);
    rill_stream_discard(rill_stream_count(keyed));
    //  The same keyed stream into a window: not a reduce, never combined.
    rill_window_t window = rill_window_count(2, 2);
    rill_stream_discard(rill_stream_window_builtin(keyed, &window, RILL_WINDOW_AGG_SUM));
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    return plan;
}

static void the_planner_combines_hash_edges_into_a_reduce_in_batch_or_mini_batch(void **state)
{
    struct {
        rill_mode_t mode;
        size_t combine;
        int mini_batch;
        bool combined;
    } cases[] = {
        {RILL_MODE_BATCH, RILL_DEFAULT_COMBINE_BYTES, 0, true},
        {RILL_MODE_BATCH, 0, 0, false},
        {RILL_MODE_STREAMING, RILL_DEFAULT_COMBINE_BYTES, 0, false},
        {RILL_MODE_STREAMING, RILL_DEFAULT_COMBINE_BYTES, 100, true},
        {RILL_MODE_STREAMING, 0, 100, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rill_env_t *env = rill_env_new();
        assert_int_equal(rill_env_set_combine(env, cases[i].combine), 0);
        assert_int_equal(rill_env_set_mini_batch(env, cases[i].mini_batch), 0);
        const rill_plan_t *plan = s_plan(env, cases[i].mode);
        for (int e = 0; e < rill_plan_edge_count(plan); e++) {
            const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
            bool into_reduce = rill_plan_operator(plan, edge->to)->kind == RILL_OP_REDUCE;
            assert_int_equal(edge->combined, into_reduce && cases[i].combined);
        }
        rill_env_destroy(&env);
    }
}

static void plan_json_carries_combined_and_refuses_it_elsewhere(void **state)
{
    rill_env_t *env = rill_env_new();
    const rill_plan_t *plan = s_plan(env, RILL_MODE_BATCH);
    char *text = rill_plan_to_json(plan);
    assert_non_null(strstr(text, "\"combined\": true"));
    char error[256] = "";
    rill_plan_t *read = rill_plan_from_json(text, error, sizeof error);
    if (!read)
        fail_msg("%s", error);
    for (int e = 0; e < rill_plan_edge_count(plan); e++)
        assert_int_equal(rill_plan_edge(read, e)->combined, rill_plan_edge(plan, e)->combined);
    rill_plan_destroy(&read);
    //  Edge 1 (generator -> window) is hash but into a window; edge 2 is forward.
    json_error_t parse;
    for (int e = 1; e <= 2; e++) {
        json_t *root = json_loads(text, 0, &parse);
        json_t *edge = json_array_get(json_object_get(root, "edges"), (size_t)e);
        json_object_set_new(edge, "combined", json_true());
        char *bad = json_dumps(root, 0);
        assert_null(rill_plan_from_json(bad, error, sizeof error));
        assert_non_null(strstr(error, "'combined' is true but only a hash edge into a reduce"));
        free(bad);
        json_decref(root);
    }
    //  Not a boolean; and absent (a plan saved before combining) reads as false.
    json_t *root = json_loads(text, 0, &parse);
    json_t *edge = json_array_get(json_object_get(root, "edges"), 0);
    json_object_set_new(edge, "combined", json_integer(1));
    char *bad = json_dumps(root, 0);
    assert_null(rill_plan_from_json(bad, error, sizeof error));
    assert_non_null(strstr(error, "edge 0: 'combined' is not a boolean"));
    free(bad);
    json_object_del(edge, "combined");
    char *old = json_dumps(root, 0);
    read = rill_plan_from_json(old, error, sizeof error);
    assert_non_null(read);
    assert_false(rill_plan_edge(read, 0)->combined);
    rill_plan_destroy(&read);
    free(old);
    json_decref(root);
    free(text);
    rill_env_destroy(&env);
}

static void settings_out_of_range_are_refused(void **state)
{
    rill_env_t *env = rill_env_new();
    assert_int_equal(rill_env_set_combine(env, 4095), -1);
    assert_non_null(strstr(rill_env_error(env), "combiner memory 4095 is out of range"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_int_equal(rill_env_set_combine(env, (size_t)1 << 31), -1);
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_int_equal(rill_env_set_mini_batch(env, -1), -1);
    assert_non_null(strstr(rill_env_error(env), "mini-batch interval -1 ms is out of range"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_int_equal(rill_env_set_mini_batch(env, 3600001), -1);
    assert_int_equal(rill_env_set_combine(env, 4096), 0);
    assert_int_equal(rill_env_set_combine(env, 0), 0);
    rill_env_destroy(&env);
}

//  ---- the combiner alone

typedef struct {
    int calls;
    int receivers_seen[4];
    uint64_t counted;
} s_sink_t;

static int s_take(void *ctx, int receiver, const rill_record_t *record, bool traced)
{
    s_sink_t *sink = ctx;
    rill_partial_t partial = {0};
    assert_int_equal(rill_partial_read(record, &partial), 0);
    assert_int_equal(partial.tag, RILL_PARTIAL_FOLDED);
    rill_number_acc_t acc;
    assert_int_equal(
        rill_number_acc_decode(&acc, RILL_NUMBER_COUNT, partial.value, partial.value_size), 0);
    //  The partial goes where the partitioner sends its key.
    assert_int_equal(receiver,
                     rill_key_group_receiver(rill_key_group(partial.key, partial.key_size), 4));
    sink->calls++;
    sink->receivers_seen[receiver]++;
    sink->counted += acc.count;
    return 0;
}

static void a_full_table_sends_everything_and_starts_again(void **state)
{
    rill_edge_spec_t edge = {.pattern = RILL_PATTERN_HASH, .key = rill_key_first_field};
    rill_operator_spec_t count = {.kind = RILL_OP_REDUCE, .agg = RILL_AGG_COUNT};
    rill_combiner_t *combiner = rill_combiner_new(&edge, &count, 4, 4096);
    assert_non_null(combiner);
    s_sink_t sink = {0};
    char text[32];
    for (int i = 0; i < 1000; i++) {
        //  A third of the records on one key, the rest over 100 keys.
        int size = snprintf(text, sizeof text, "key%d\tx", i % 3 ? i % 100 : 0);
        rill_record_t record = {text, (size_t)size, i};
        assert_int_equal(rill_combiner_add(combiner, &record, false, s_take, &sink), 0);
        assert_true(rill_combiner_size(combiner) <= 64); //  4 KiB: 128 slots, half used
    }
    assert_true(sink.calls > 0); //  100 keys do not fit: it flushed on the way
    assert_int_equal(rill_combiner_flush(combiner, s_take, &sink), 0);
    assert_int_equal(rill_combiner_size(combiner), 0);
    assert_int_equal(sink.counted, 1000);
    assert_true(sink.calls < 1000);
    for (int r = 0; r < 4; r++)
        assert_true(sink.receivers_seen[r] > 0);
    rill_combiner_destroy(&combiner);
    rill_combiner_destroy(&combiner); //  harmless
}

//  What a receiver reads back: the partial of a count and of a sum, and malformed records
//  refused (data off the wire: never read past a record).
static void partial_records_read_back_and_malformed_ones_are_refused(void **state)
{
    rill_buffer_t *bytes = rill_buffer_new();
    rill_number_acc_t acc, back;
    rill_number_acc_init(&acc);
    rill_record_t five = {"k\t-5", 4, 0}, half = {"k\t0.5", 5, 0};
    assert_int_equal(rill_number_acc_add(&acc, &five, false), 0);
    assert_int_equal(rill_number_acc_add(&acc, &half, false), 0);
    uint8_t head[] = {RILL_PARTIAL_FOLDED, 3, 'k', 'e', 'y'};
    rill_buffer_set(bytes, head, sizeof head);
    assert_int_equal(rill_number_acc_encode(&acc, RILL_NUMBER_SUM, bytes), 0);
    rill_record_t record = {rill_buffer_data(bytes), rill_buffer_size(bytes), 7};
    rill_partial_t partial = {0};
    assert_int_equal(rill_partial_read(&record, &partial), 0);
    assert_int_equal(partial.tag, RILL_PARTIAL_FOLDED);
    assert_int_equal(partial.key_size, 3);
    assert_memory_equal(partial.key, "key", 3);
    assert_int_equal(rill_number_acc_decode(&back, RILL_NUMBER_SUM, partial.value,
                                            partial.value_size),
                     0);
    assert_int_equal(back.count, 2);
    assert_true(back.is_real);
    assert_true(back.real_sum == -4.5);
    //  A value one byte short or long, or a count's varint that never ends, is refused.
    assert_int_equal(rill_number_acc_decode(&back, RILL_NUMBER_SUM, partial.value,
                                            partial.value_size - 1),
                     -1);
    uint8_t longer[32] = {0};
    memcpy(longer, partial.value, partial.value_size);
    assert_int_equal(rill_number_acc_decode(&back, RILL_NUMBER_SUM, longer,
                                            partial.value_size + 1),
                     -1);
    uint8_t endless[11];
    memset(endless, 0x80, sizeof endless);
    assert_int_equal(rill_number_acc_decode(&back, RILL_NUMBER_COUNT, endless, sizeof endless),
                     -1);
    //  An ordinary record passed on.
    rill_record_t as_is = {"\001k\t1", 4, 9};
    assert_int_equal(rill_partial_read(&as_is, &partial), 0);
    assert_int_equal(partial.tag, RILL_PARTIAL_RECORD);
    assert_int_equal(partial.record.size, 3);
    assert_int_equal(partial.record.timestamp, 9);
    //  Empty, an unknown tag, a key size running past the end.
    rill_record_t empty = {"", 0, 0}, unknown = {"\003k", 2, 0}, past = {"\002\011key", 5, 0};
    assert_int_equal(rill_partial_read(&empty, &partial), -1);
    assert_int_equal(rill_partial_read(&unknown, &partial), -1);
    assert_int_equal(rill_partial_read(&past, &partial), -1);
    rill_buffer_destroy(&bytes);
}

//  ---- streaming mini-batch

static int s_count_source(uint64_t i, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\t1", (unsigned long long)(i % 50));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Streaming count of 5000 records over 50 keys; returns every update, in arrival order.
static rill_results_t *s_run_streaming(int mini_batch_ms)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_env_set_parallelism(env, 2);
    assert_int_equal(rill_env_set_mini_batch(env, mini_batch_ms), 0);
    rill_stream_t *s = rill_env_from_generator(env, s_count_source, NULL, 5000);
    rill_stream_t *counts = rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL));
    rill_stream_collect(rill_stream_parallelism(counts, 1), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    rill_env_destroy(&env);
    return results;
}

//  The final value of each key, the highest of its updates (counts only grow), as
//  "key<TAB>count" lines in key order.
static char *s_final_values(rill_results_t *results)
{
    long long highest[50];
    for (int k = 0; k < 50; k++)
        highest[k] = -1;
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        int k = atoi((const char *)r.data + 1);
        assert_true(k >= 0 && k < 50);
        long long count = s_value(&r);
        highest[k] = count > highest[k] ? count : highest[k];
    }
    rill_buffer_t *all = rill_buffer_new();
    for (int k = 0; k < 50; k++) {
        assert_true(highest[k] > 0);
        rill_buffer_appendf(all, "k%d\t%lld\n", k, highest[k]);
    }
    char *text = strndup(rill_buffer_data(all), rill_buffer_size(all));
    rill_buffer_destroy(&all);
    return text;
}

static void mini_batch_emits_fewer_updates_with_the_same_final_values(void **state)
{
    rill_results_t *every = s_run_streaming(0);
    //  Without a mini-batch: one update per record (README: streaming emits every update).
    assert_int_equal(rill_results_size(every), 5000);
    char *expected = s_final_values(every);
    assert_non_null(strstr(expected, "k0\t100\n"));
    //  An interval longer than the job: each key's value goes once, at the end.
    rill_results_t *once = s_run_streaming(3600 * 1000);
    assert_int_equal(rill_results_size(once), 50);
    char *got = s_final_values(once);
    assert_string_equal(got, expected);
    free(got);
    //  A short interval: some updates, never more than without, the same final values.
    rill_results_t *some = s_run_streaming(1);
    assert_true(rill_results_size(some) >= 50 && rill_results_size(some) <= 5000);
    got = s_final_values(some);
    assert_string_equal(got, expected);
    free(got);
    free(expected);
    rill_results_destroy(&every);
    rill_results_destroy(&once);
    rill_results_destroy(&some);
}

//  Record i: key "w<window>-k<i % 7>" with value 1 at event time i ms; windows of 500 ms, so
//  every key lies in one window.
static int s_timed_source(uint64_t i, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "w%llu-k%llu\t1", (unsigned long long)(i / 500),
                        (unsigned long long)(i % 7));
    return rill_collector_emit(out, text, (size_t)size, (int64_t)i);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

//  The window group of a running count "wN-kM<TAB>count": "wN".
static int s_group(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    const char *text = in->data;
    size_t size = 0;
    while (size < in->size && text[size] != '-')
        size++;
    key->data = text;
    key->size = size;
    return 0;
}

//  Running counts per key (streaming), then per 500 ms event-time window the highest count
//  among the window's keys. Returns the window results sorted; *late the late updates.
static rill_results_t *s_run_windows(int mini_batch_ms, size_t *late)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_results_t *late_results = rill_results_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_env_set_parallelism(env, 2);
    assert_int_equal(rill_env_set_mini_batch(env, mini_batch_ms), 0);
    rill_stream_t *s = rill_env_from_generator(env, s_timed_source, NULL, 4000);
    rill_watermarks_t strategy = {.out_of_orderness = 0};
    s = rill_stream_assign_timestamps(s, s_record_time, NULL, &strategy);
    rill_stream_t *counts = rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL));
    rill_window_t window = rill_window_tumbling(500);
    rill_stream_t *highest = rill_stream_window_builtin(rill_stream_key_by(counts, s_group, NULL),
                                                        &window, RILL_WINDOW_AGG_MAX);
    rill_stream_collect(highest, results);
    rill_stream_collect(rill_stream_late_records(highest), late_results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    const rill_plan_t *plan = rill_env_plan(env);
    assert_int_equal(rill_plan_edge(plan, 1)->combined, mini_batch_ms > 0); //  timestamps -> count
    *late = rill_results_size(late_results);
    rill_results_destroy(&late_results);
    rill_env_destroy(&env);
    rill_results_sort(results);
    return results;
}

static void mini_batch_keeps_event_time_windows_downstream_the_same(void **state)
{
    size_t late_without, late_with;
    rill_results_t *without = s_run_windows(0, &late_without);
    //  An interval far longer than the job: only the watermarks make the reduce emit, so a
    //  reduce that let a watermark overtake its updates would have every one of them late.
    rill_results_t *with = s_run_windows(3600 * 1000, &late_with);
    assert_int_equal(late_without, 0);
    assert_int_equal(late_with, 0);
    //  8 windows of 500 records over 7 keys: the busiest key has 72 records in each.
    assert_int_equal(rill_results_size(without), 8);
    for (size_t i = 0; i < 8; i++) {
        rill_record_t r = rill_results_record(without, i);
        const char *text = r.data;
        size_t last = r.size;
        while (last > 0 && text[last - 1] != '\t')
            last--;
        assert_int_equal(r.size - last, 2);
        assert_memory_equal(text + last, "72", 2);
    }
    s_job_t job = {S_COUNT, 2, 1, 0, NULL};
    s_expect_same(with, without, &job);
    rill_results_destroy(&without);
    rill_results_destroy(&with);
}

//  ---- the tool

typedef struct {
    char *word;
    long long count;
} s_word_t;

static int s_word_order(const void *a, const void *b)
{
    const s_word_t *x = a, *y = b;
    int c = strcmp(x->word, y->word);
    return c ? c : (x->count > y->count) - (x->count < y->count);
}

//  WordCount's output ("word<TAB>count" lines, every update in streaming mode) reduced to
//  each word's highest count, sorted by word, as text.
static char *s_final_counts(char *output)
{
    size_t count = 0, capacity = 1024;
    s_word_t *words = malloc(capacity * sizeof *words);
    for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = 0;
        if (count == capacity)
            words = realloc(words, (capacity *= 2) * sizeof *words);
        words[count++] = (s_word_t){line, strtoll(tab + 1, NULL, 10)};
    }
    qsort(words, count, sizeof *words, s_word_order);
    rill_buffer_t *text = rill_buffer_new();
    for (size_t i = 0; i < count; i++)
        if (i + 1 == count || strcmp(words[i].word, words[i + 1].word))
            rill_buffer_appendf(text, "%s\t%lld\n", words[i].word, words[i].count);
    char *result = strndup(rill_buffer_data(text), rill_buffer_size(text));
    rill_buffer_destroy(&text);
    free(words);
    return result;
}

//  `rill run wordcount` with the given options (NULL-terminated, at most 6) at p = 2; its
//  final counts; *combined whether its plan combined the split -> count edge.
static char *s_wordcount(bool *combined, const char *option, ...)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    char metrics[] = "/tmp/rill-combiner-metrics-XXXXXX";
    close(mkstemp(metrics));
    const char *args[16] = {"run", "wordcount", "-p", "2", "--metrics-json", metrics};
    int n = 6;
    va_list list;
    va_start(list, option);
    for (const char *o = option; o && n < 12; o = va_arg(list, const char *))
        args[n++] = o;
    va_end(list);
    args[n++] = "--";
    args[n++] = "--input";
    args[n++] = input;
    args[n] = NULL;
    char *out = NULL, *err = NULL;
    int status = test_run_toolv(&out, &err, args);
    if (status != 0)
        fail_msg("wordcount %s exited %d: %s", option ? option : "", status, err);
    char *json = test_read_file(metrics);
    *combined = strstr(json, "\"combined\":true") || strstr(json, "\"combined\": true");
    char *final = s_final_counts(out);
    free(json);
    free(out);
    free(err);
    free(input);
    unlink(metrics);
    return final;
}

static void the_tool_counts_the_same_words_with_and_without_pre_aggregation(void **state)
{
    bool combined;
    char *expected = s_wordcount(&combined, "--no-combine", NULL);
    assert_false(combined);
    assert_non_null(strstr(expected, "\nthe\t94\n")); //  grep -oiw the FILE | wc -l
    char *got = s_wordcount(&combined, NULL);
    assert_true(combined); //  batch mode: on by default
    assert_string_equal(got, expected);
    free(got);
    got = s_wordcount(&combined, "--mode", "streaming", NULL);
    assert_false(combined); //  streaming: every update, nothing to combine for
    assert_string_equal(got, expected);
    free(got);
    got = s_wordcount(&combined, "--mode", "streaming", "--mini-batch", "5", NULL);
    assert_true(combined);
    assert_string_equal(got, expected);
    free(got);
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_batch_keyed_count_is_combined_by_default),
        cmocka_unit_test(count_is_the_same_with_and_without_the_combiner),
        cmocka_unit_test(integer_sum_is_the_same_with_and_without_the_combiner),
        cmocka_unit_test(real_sum_is_the_same_with_and_without_the_combiner),
        cmocka_unit_test(min_and_max_are_the_same_with_and_without_the_combiner),
        cmocka_unit_test(a_reduce_function_is_the_same_with_and_without_the_combiner),
        cmocka_unit_test(an_associative_reduce_keeps_each_senders_order),
        cmocka_unit_test(traced_records_change_no_result),
        cmocka_unit_test(a_record_without_a_number_fails_the_reduce_as_without_the_combiner),
        cmocka_unit_test(integer_sums_wrap_around_and_empty_reductions_are_kept),
        cmocka_unit_test(a_failing_reduce_function_fails_the_job_naming_sender_and_reduce),
        cmocka_unit_test(the_planner_combines_hash_edges_into_a_reduce_in_batch_or_mini_batch),
        cmocka_unit_test(plan_json_carries_combined_and_refuses_it_elsewhere),
        cmocka_unit_test(settings_out_of_range_are_refused),
        cmocka_unit_test(a_full_table_sends_everything_and_starts_again),
        cmocka_unit_test(partial_records_read_back_and_malformed_ones_are_refused),
        cmocka_unit_test(mini_batch_emits_fewer_updates_with_the_same_final_values),
        cmocka_unit_test(mini_batch_keeps_event_time_windows_downstream_the_same),
        cmocka_unit_test(the_tool_counts_the_same_words_with_and_without_pre_aggregation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
