/*  test_chaining.c: operator chaining (Flink's chaining). Forward-connected operators of the same
    parallelism run in one actor thread and hand records over by function call. A chain must
    behave exactly as the same operators joined by channels: same records in the same order per
    subtask, watermarks and END passed on in order, failures named after the operator that
    failed, and counters kept per operator. Each case runs the job chained and unchained. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  "N" -> "N" twice: a flat_map inside the chain.
static int s_twice(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    if (rill_collector_emit(out, in->data, in->size, in->timestamp))
        return -1;
    return rill_collector_emit(out, in->data, in->size, in->timestamp);
}

static int s_keep_all(const rill_record_t *in, void *ctx)
{
    return 1;
}

static int s_keep_even(const rill_record_t *in, void *ctx)
{
    return test_record_number(in) % 2 == 0;
}

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  "N" -> "k<TAB>N": one key for every record.
static int s_one_key(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, "k\t", 2) || rill_buffer_append(out, in->data, in->size);
}

static int s_exclaim(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size) || rill_buffer_append(out, "!", 1);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    //  Within the record: it is not NUL-terminated, and what follows it in memory may be
    //  anything (digits included).
    const char *text = in->data, *tab = memchr(text, '\t', in->size);
    int64_t time = 0;
    for (const char *at = tab ? tab + 1 : text + in->size; at < text + in->size; at++)
        time = time * 10 + (*at - '0');
    *timestamp = time;
    return 0;
}

//  Fails on the record numbered *ctx.
static int s_break_at(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (test_record_number(in) == *(uint64_t *)ctx)
        return -1;
    return rill_buffer_set(out, in->data, in->size);
}

static int s_generate_until(uint64_t index, rill_collector_t *out, void *ctx)
{
    if (index == *(uint64_t *)ctx)
        return -1;
    return test_generate_sequence(index, out, NULL);
}

//  The records of a collect sink as one string per subtask, in arrival order.
static char *s_per_subtask(rill_results_t *results, int subtask)
{
    rill_buffer_t *text = rill_buffer_new();
    for (size_t i = 0; i < rill_results_size(results); i++) {
        if (rill_results_subtask(results, i) != subtask)
            continue;
        rill_record_t r = rill_results_record(results, i);
        rill_buffer_append(text, r.data, r.size);
        rill_buffer_append(text, "\n", 1);
    }
    char *copy = strndup(rill_buffer_size(text) ? rill_buffer_data(text) : "", rill_buffer_size(text));
    rill_buffer_destroy(&text);
    return copy;
}

//  All records of a collect sink, sorted, as one string.
static char *s_sorted(rill_results_t *results)
{
    rill_results_sort(results);
    rill_buffer_t *text = rill_buffer_new();
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        rill_buffer_append(text, r.data, r.size);
        rill_buffer_append(text, "\n", 1);
    }
    char *copy = strndup(rill_buffer_size(text) ? rill_buffer_data(text) : "", rill_buffer_size(text));
    rill_buffer_destroy(&text);
    return copy;
}

//  generator(p) -> map -> filter -> flat_map(twice) -> collect(p): one chain of five.
static void s_run_pipeline(bool chained, int parallelism, uint64_t count, rill_results_t *results,
                           int *tasks)
{
    rill_env_t *env = rill_env_new();
    if (!chained)
        rill_env_disable_chaining(env);
    rill_env_set_parallelism(env, parallelism);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, count);
    s = rill_stream_filter(rill_stream_map(s, s_identity, NULL), s_keep_all, NULL);
    rill_stream_collect(rill_stream_flat_map(s, s_twice, NULL), results);
    if (rill_env_execute(env))
        fail_msg("failed: %s", rill_env_error(env));
    *tasks = rill_plan_task_count(rill_metrics_plan(rill_env_metrics(env)));
    rill_env_destroy(&env);
}

static void a_chain_delivers_every_record_in_order_per_subtask(void **state)
{
    rill_results_t *chained = rill_results_new(), *apart = rill_results_new();
    int tasks_chained, tasks_apart;
    s_run_pipeline(true, 2, 20000, chained, &tasks_chained);
    s_run_pipeline(false, 2, 20000, apart, &tasks_apart);
    //  Five operators at parallelism 2: one chain, two threads; unchained, ten.
    assert_int_equal(tasks_chained, 2);
    assert_int_equal(tasks_apart, 10);
    assert_int_equal(rill_results_size(chained), 40000);
    for (int subtask = 0; subtask < 2; subtask++) {
        //  Forward keeps the partition and its order: subtask i sees i, i, i+2, i+2, ...
        char *a = s_per_subtask(chained, subtask), *b = s_per_subtask(apart, subtask);
        assert_string_equal(a, b);
        char expected[64];
        snprintf(expected, sizeof expected, "%d\n%d\n%d\n%d\n", subtask, subtask, subtask + 2,
                 subtask + 2);
        assert_memory_equal(a, expected, strlen(expected));
        free(a);
        free(b);
    }
    rill_results_destroy(&chained);
    rill_results_destroy(&apart);
}

//  generator -> map(one key) -> timestamps -> key_by -> tumbling count window -> map -> collect.
//  Chained: [generator, map, timestamps] and [window, map, collect]. The watermark is made in
//  the middle of the first chain and crosses into the second; END makes the last windows fire
//  (the watermark goes to +infinity, Flink's MAX_WATERMARK at end of input).
static char *s_run_windows(bool chained)
{
    rill_env_t *env = rill_env_new();
    if (!chained)
        rill_env_disable_chaining(env);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    rill_watermarks_t strategy = {.out_of_orderness = 0};
    s = rill_stream_assign_timestamps(rill_stream_map(s, s_one_key, NULL), s_record_time, NULL,
                                      &strategy);
    rill_window_t window = rill_window_tumbling(100);
    s = rill_stream_window_builtin(rill_stream_key_by(s, rill_key_first_field, NULL), &window,
                                   RILL_WINDOW_AGG_COUNT);
    rill_results_t *results = rill_results_new();
    rill_stream_collect(rill_stream_map(s, s_exclaim, NULL), results);
    if (rill_env_execute(env))
        fail_msg("failed: %s", rill_env_error(env));
    const rill_plan_t *plan = rill_metrics_plan(rill_env_metrics(env));
    assert_int_equal(rill_plan_task_count(plan), chained ? 2 : 6);
    char *text = s_sorted(results);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    return text;
}

static void watermarks_and_end_pass_through_a_chain_in_order(void **state)
{
    char *chained = s_run_windows(true), *apart = s_run_windows(false);
    assert_string_equal(chained, apart);
    //  Ten windows of 100 records each, every one fired once, by watermark or at the end.
    int windows = 0;
    for (const char *line = chained; (line = strstr(line, "\tk\t100!\n")); line++)
        windows++;
    assert_int_equal(windows, 10);
    assert_non_null(strstr(chained, "900\t1000\tk\t100!\n"));
    free(chained);
    free(apart);
}

//  Batch mode: the reduce emits its results when its input ends, and the chained map must
//  receive all of them before it ends in turn (Flink ends a chain's operators head first).
static void a_batch_reduce_ends_before_the_map_chained_to_it(void **state)
{
    for (int chained = 0; chained < 2; chained++) {
        rill_env_t *env = rill_env_new();
        if (!chained)
            rill_env_disable_chaining(env);
        rill_env_set_parallelism(env, 2);
        rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
        s = rill_stream_count(rill_stream_key_by(rill_stream_map(s, s_one_key, NULL),
                                                 rill_key_first_field, NULL));
        rill_results_t *results = rill_results_new();
        rill_stream_collect(rill_stream_map(s, s_exclaim, NULL), results);
        if (rill_env_execute(env))
            fail_msg("failed: %s", rill_env_error(env));
        assert_int_equal(rill_results_size(results), 1);
        rill_record_t r = rill_results_record(results, 0);
        assert_int_equal(r.size, strlen("k\t1000!"));
        assert_memory_equal(r.data, "k\t1000!", r.size);
        rill_results_destroy(&results);
        rill_env_destroy(&env);
    }
}

//  Runs a chain that fails and returns the job's error (malloc'd).
static char *s_failing_chain(int where)
{
    static uint64_t at = 500;
    rill_env_t *env = rill_env_new();
    rill_stream_t *s = where == 0
                           ? rill_env_from_generator(env, s_generate_until, &at, 1000)
                           : rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    rill_stream_name(s, "numbers");
    s = rill_stream_name(rill_stream_map(s, where == 1 ? s_break_at : s_identity, &at), "first");
    s = rill_stream_name(rill_stream_map(s, where == 2 ? s_break_at : s_identity, &at), "second");
    rill_stream_discard(s);
    assert_int_equal(rill_env_execute(env), -1);
    assert_int_equal(rill_plan_task_count(rill_metrics_plan(rill_env_metrics(env))), 1);
    char *error = strdup(rill_env_error(env));
    rill_env_destroy(&env);
    return error;
}

static void a_failure_inside_a_chain_names_the_operator_that_failed(void **state)
{
    static const char *expected[] = {"operator 'numbers' subtask 1/1",
                                     "operator 'first' subtask 1/1",
                                     "operator 'second' subtask 1/1"};
    for (int where = 0; where < 3; where++) {
        char *error = s_failing_chain(where);
        if (!strstr(error, expected[where]))
            fail_msg("failure at %d: '%s' does not name %s", where, error, expected[where]);
        free(error);
    }
}

//  Each operator of a chain keeps its own counters (as Flink's per-operator metrics inside a
//  chained task), and the chained edge's channel counts what passed along it.
static void counters_stay_per_operator_inside_a_chain(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    s = rill_stream_map(rill_stream_filter(s, s_keep_even, NULL), s_identity, NULL);
    rill_stream_discard(s);
    assert_int_equal(rill_env_execute(env), 0);
    const rill_metrics_t *m = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(m);
    assert_int_equal(rill_plan_task_count(plan), 1);
    assert_int_equal(rill_metrics_subtask(m, 0).records_out, 1000);
    assert_int_equal(rill_metrics_subtask(m, 1).records_in, 1000);
    assert_int_equal(rill_metrics_subtask(m, 1).records_out, 500);
    assert_int_equal(rill_metrics_subtask(m, 2).records_in, 500);
    assert_int_equal(rill_metrics_subtask(m, 2).records_out, 500);
    assert_int_equal(rill_metrics_subtask(m, 3).records_in, 500);
    for (int id = 0; id < 4; id++)
        assert_int_equal(rill_metrics_subtask(m, id).finished, 1);
    const rill_plan_edge_t *first = rill_plan_edge(plan, 0), *second = rill_plan_edge(plan, 1);
    assert_true(first->chained && second->chained);
    assert_int_equal(rill_metrics_channel(m, first->first_channel).records, 1000);
    assert_int_equal(rill_metrics_channel(m, first->first_channel).records_received, 1000);
    assert_int_equal(rill_metrics_channel(m, second->first_channel).records, 500);
    //  The chain's thread time shows on each of its operators.
    assert_int_equal(rill_metrics_subtask(m, 0).busy_ns, rill_metrics_subtask(m, 3).busy_ns);
    rill_env_destroy(&env);
}

//  Flink's startNewChain and disableChaining, as operator settings.
static void start_new_chain_and_disable_chaining_split_a_chain(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 100);
    rill_stream_t *a = rill_stream_map(s, s_identity, NULL);
    assert_non_null(rill_stream_start_new_chain(a));
    rill_stream_t *b = rill_stream_map(a, s_identity, NULL);
    rill_stream_t *c = rill_stream_map(b, s_identity, NULL);
    assert_non_null(rill_stream_disable_chaining(c));
    rill_results_t *results = rill_results_new();
    rill_stream_collect(rill_stream_map(c, s_identity, NULL), results);
    //  A view (key_by) is no operator: the setting is refused, naming the call.
    assert_null(rill_stream_start_new_chain(
        rill_keyed_stream_stream(rill_stream_key_by(a, rill_key_first_field, NULL))));
    assert_non_null(strstr(rill_env_error(env), "start_new_chain"));
    rill_env_destroy(&env);
    rill_results_destroy(&results);

    env = rill_env_new();
    s = rill_env_from_generator(env, test_generate_sequence, NULL, 100);
    a = rill_stream_start_new_chain(rill_stream_map(s, s_identity, NULL));
    b = rill_stream_map(a, s_identity, NULL);
    c = rill_stream_disable_chaining(rill_stream_map(b, s_identity, NULL));
    results = rill_results_new();
    rill_stream_collect(rill_stream_map(c, s_identity, NULL), results);
    assert_int_equal(rill_env_execute(env), 0);
    const rill_plan_t *plan = rill_metrics_plan(rill_env_metrics(env));
    //  generator | a -> b | c | d -> collect
    bool expected[5] = {false, true, false, false, true};
    for (int e = 0; e < 5; e++)
        assert_int_equal(rill_plan_edge(plan, e)->chained, expected[e]);
    assert_int_equal(rill_plan_task_count(plan), 4);
    assert_int_equal(rill_results_size(results), 100);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_chain_delivers_every_record_in_order_per_subtask),
        cmocka_unit_test(watermarks_and_end_pass_through_a_chain_in_order),
        cmocka_unit_test(a_batch_reduce_ends_before_the_map_chained_to_it),
        cmocka_unit_test(a_failure_inside_a_chain_names_the_operator_that_failed),
        cmocka_unit_test(counters_stay_per_operator_inside_a_chain),
        cmocka_unit_test(start_new_chain_and_disable_chaining_split_a_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
