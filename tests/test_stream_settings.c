/*  test_stream_settings.c: operator settings (rill_stream_name, rill_stream_parallelism) apply
    to the operator that made a stream, and only to one. Flink's rule: keyBy() returns a
    KeyedStream, rebalance() and getSideOutput() a DataStream; none of them is an operator
    (SingleOutputStreamOperator), so none has name() or setParallelism(). Here a setting on
    such a view is an error through rill_env_error and changes nothing upstream. */
#include "rill_graph.h"
#include "rill_env_private.h"
#include "rill_graph_private.h"
#include "testutil.h"
#include <string.h>

//  The first case doubles as the usage example: settings go on operators, around key_by.
static void settings_apply_to_the_operators_around_key_by(void **state)
{
    rill_env_t *env = rill_env_new();
    test_sequence_t sequence = {0};
    rill_stream_t *source = rill_stream_parallelism(
        rill_stream_name(rill_env_from_generator(env, test_generate_sequence, &sequence, 100),
                         "numbers"),
        2);
    rill_keyed_stream_t keyed = rill_stream_key_by(source, rill_key_first_field, NULL);
    rill_stream_t *summed =
        rill_stream_parallelism(rill_stream_name(rill_stream_sum(keyed), "sums"), 3);
    assert_non_null(summed);
    rill_stream_discard(summed);
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    assert_string_equal(rill_plan_operator(plan, 0)->name, "numbers");
    assert_int_equal(rill_plan_operator(plan, 0)->parallelism, 2);
    assert_string_equal(rill_plan_operator(plan, 1)->name, "sums");
    assert_int_equal(rill_plan_operator(plan, 1)->parallelism, 3);
    rill_env_destroy(&env);
}

//  Builds source "numbers" (parallelism 2) and a view on it made by `view`; checks that a
//  setting on the view fails, names the call, and leaves "numbers" as it was.
typedef rill_stream_t *(s_view_fn)(rill_stream_t *in);
static void s_expect_refused(s_view_fn *view, const char *call, bool set_name)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_stream_parallelism(
        rill_stream_name(rill_env_from_generator(env, test_generate_sequence, NULL, 10), "numbers"),
        2);
    rill_stream_t *viewed = view(source);
    assert_non_null(viewed);
    rill_stream_t *set =
        set_name ? rill_stream_name(viewed, "renamed") : rill_stream_parallelism(viewed, 5);
    assert_null(set);
    const char *error = rill_env_error(env);
    assert_non_null(strstr(error, set_name ? "name" : "parallelism"));
    assert_non_null(strstr(error, call));
    assert_non_null(strstr(error, "not an operator"));
    //  The upstream operator kept its own settings.
    const rill_operator_spec_t *upstream = rill_graph_operator(rill_env_graph(env), 0);
    assert_string_equal(upstream->name, "numbers");
    assert_int_equal(upstream->parallelism, 2);
    //  And the job, which would run without the mistake, does not run with it.
    rill_stream_discard(viewed);
    assert_int_equal(rill_env_execute(env), -1);
    rill_env_destroy(&env);
}

//  A keyed stream is no rill_stream_t * (a setting on it does not compile); as a plain stream
//  (rill_keyed_stream_stream) it is the key_by view, which refuses settings.
static rill_stream_t *s_key_by(rill_stream_t *in)
{
    return rill_keyed_stream_stream(rill_stream_key_by(in, rill_key_first_field, NULL));
}

static void key_by_result_cannot_be_named_flink_keyed_stream_is_not_an_operator(void **state)
{
    s_expect_refused(s_key_by, "key_by", true);
}

static void key_by_result_takes_no_parallelism_flink_keyed_stream_is_not_an_operator(void **state)
{
    s_expect_refused(s_key_by, "key_by", false);
}

static void an_exchange_pattern_result_takes_no_settings_flink_partitioned_stream(void **state)
{
    s_expect_refused(rill_stream_rebalance, "rebalance", false);
    s_expect_refused(rill_stream_broadcast, "broadcast", true);
    s_expect_refused(rill_stream_forward, "forward", false);
}

static int s_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = (int64_t)test_record_number(in);
    return 0;
}

static void late_records_take_no_settings_flink_side_output_is_not_an_operator(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *timed = rill_stream_assign_timestamps(
        rill_env_from_generator(env, test_generate_sequence, NULL, 10), s_time, NULL, NULL);
    rill_window_t window = rill_window_tumbling(1000);
    rill_stream_t *windows = rill_stream_name(
        rill_stream_window_builtin(rill_stream_key_by(timed, rill_key_first_field, NULL), &window,
                                   RILL_WINDOW_AGG_SUM),
        "windows");
    rill_stream_t *late = rill_stream_late_records(windows);
    assert_non_null(late);
    assert_null(rill_stream_parallelism(late, 4));
    assert_non_null(strstr(rill_env_error(env), "late_records"));
    //  The window operator (id 2) kept its default parallelism and its name.
    const rill_operator_spec_t *window_op = rill_graph_operator(rill_env_graph(env), 2);
    assert_string_equal(window_op->name, "windows");
    assert_int_equal(window_op->parallelism, 0);
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_apply_to_the_operators_around_key_by),
        cmocka_unit_test(key_by_result_cannot_be_named_flink_keyed_stream_is_not_an_operator),
        cmocka_unit_test(key_by_result_takes_no_parallelism_flink_keyed_stream_is_not_an_operator),
        cmocka_unit_test(an_exchange_pattern_result_takes_no_settings_flink_partitioned_stream),
        cmocka_unit_test(late_records_take_no_settings_flink_side_output_is_not_an_operator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
