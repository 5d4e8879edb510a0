/*  test_metrics_json.c: reading a metrics JSON document back (rill_metrics_from_json), which
    `rill viz FILE` and `rill plan --metrics FILE` draw. A real run's document reads back field
    for field; every way a file can lie (a negative count, a ratio of 7.5, a wrong type, a
    missing field, subtasks or channels of another plan, sums that do not add up, a truncated
    text) is refused with a message naming the field, and the tools exit 1 instead of drawing. */
#include "testutil.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    rill_env_t *env; //  its plan is the plan of the run
    char *text;      //  the run's metrics document
} s_fixture_t;

//  One real run for every case: generator (p 2) -> key_by -> sum (p 3) -> discard (p 1):
//  6 subtasks, 2 x 3 + 3 x 1 = 9 channels.
static int s_setup(void **state)
{
    s_fixture_t *fixture = calloc(1, sizeof(s_fixture_t));
    fixture->env = rill_env_new();
    test_sequence_t sequence = {0};
    rill_stream_t *source = rill_stream_parallelism(
        rill_env_from_generator(fixture->env, test_generate_sequence, &sequence, 2000), 2);
    rill_stream_t *sums = rill_stream_parallelism(
        rill_stream_sum(rill_stream_key_by(source, rill_key_first_field, NULL)), 3);
    rill_stream_discard(sums);
    if (rill_env_execute(fixture->env) != 0)
        return -1;
    fixture->text = rill_metrics_to_json(rill_env_metrics(fixture->env), false);
    *state = fixture;
    return fixture->text ? 0 : -1;
}

static int s_teardown(void **state)
{
    s_fixture_t *fixture = *state;
    free(fixture->text);
    rill_env_destroy(&fixture->env);
    free(fixture);
    return 0;
}

static json_t *s_document(void **state)
{
    s_fixture_t *fixture = *state;
    json_t *root = json_loads(fixture->text, 0, NULL);
    assert_non_null(root);
    return root;
}

static json_t *s_item(json_t *root, const char *array, size_t index)
{
    json_t *item = json_array_get(json_object_get(root, array), index);
    assert_non_null(item);
    return item;
}

//  Reads the text (against plan, or its own when NULL); it must be refused with a message
//  holding each of the given fragments.
static void s_expect_text_refused(const char *text, const rill_plan_t *plan, const char *first,
                                  const char *second)
{
    char error[512] = "";
    rill_metrics_t *metrics = rill_metrics_from_json(text, plan, error, sizeof error);
    if (metrics || !strstr(error, "metrics JSON: ") || (first && !strstr(error, first)) ||
        (second && !strstr(error, second))) {
        rill_metrics_destroy(&metrics);
        fail_msg("wanted an error with '%s' and '%s', got %s", first ? first : "",
                 second ? second : "", *error ? error : "no error");
    }
}

//  Same for a document (consumed).
static void s_expect_refused(json_t *root, const rill_plan_t *plan, const char *first,
                             const char *second)
{
    char *text = json_dumps(root, 0);
    json_decref(root);
    s_expect_text_refused(text, plan, first, second);
    free(text);
}

static void a_run_reads_back_field_for_field(void **state)
{
    s_fixture_t *fixture = *state;
    const rill_metrics_t *run = rill_env_metrics(fixture->env);
    char error[512];
    //  Against its own plan (what `rill viz FILE` does) and against the job's (`rill plan`).
    for (int against_job = 0; against_job < 2; against_job++) {
        const rill_plan_t *plan = against_job ? rill_metrics_plan(run) : NULL;
        rill_metrics_t *read = rill_metrics_from_json(fixture->text, plan, error, sizeof error);
        if (!read)
            fail_msg("%s", error);
        const rill_plan_t *shape = rill_metrics_plan(read);
        assert_int_equal(rill_plan_subtask_count(shape), 6);
        assert_int_equal(rill_plan_channel_count(shape), 9);
        for (int i = 0; i < rill_plan_subtask_count(shape); i++) {
            rill_subtask_metrics_t a = rill_metrics_subtask(run, i);
            rill_subtask_metrics_t b = rill_metrics_subtask(read, i);
            assert_memory_equal(&a, &b, sizeof a);
        }
        for (int i = 0; i < rill_plan_channel_count(shape); i++) {
            rill_channel_metrics_t a = rill_metrics_channel(run, i);
            rill_channel_metrics_t b = rill_metrics_channel(read, i);
            assert_memory_equal(&a, &b, sizeof a);
        }
        assert_int_equal(rill_metrics_duration_ns(read), rill_metrics_duration_ns(run));
        //  The run really counted: 2000 records left the sources.
        assert_int_equal(rill_metrics_subtask(read, 0).records_out +
                             rill_metrics_subtask(read, 1).records_out,
                         2000);
        rill_metrics_destroy(&read);
    }
}

static void negative_counts_are_refused_naming_the_field(void **state)
{
    json_t *root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 1), "records_in", json_integer(-5));
    s_expect_refused(root, NULL, "subtask 1: 'records_in' = -5", "negative");
    root = s_document(state);
    json_object_set_new(s_item(root, "channels", 2), "records", json_integer(-1));
    s_expect_refused(root, NULL, "channel 2: 'records'", "negative");
    root = s_document(state);
    json_object_set_new(root, "duration_ns", json_integer(-1));
    s_expect_refused(root, NULL, "'duration_ns'", "negative");
}

static void ratios_outside_0_to_1_are_refused(void **state)
{
    json_t *root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 1), "backpressure_ratio", json_real(7.5));
    s_expect_refused(root, NULL, "subtask 1: 'backpressure_ratio' = 7.5", "out of range (0..1)");
    root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 0), "busy_ratio", json_real(-0.25));
    s_expect_refused(root, NULL, "subtask 0: 'busy_ratio'", "out of range");
    root = s_document(state);
    json_object_set_new(s_item(root, "operators", 1), "max_backpressure_ratio", json_integer(2));
    s_expect_refused(root, NULL, "operator 1: 'max_backpressure_ratio'", "out of range");
}

static void a_ratio_that_disagrees_with_its_times_is_refused(void **state)
{
    json_t *root = s_document(state);
    json_t *subtask = s_item(root, "subtasks", 2);
    double ratio = json_number_value(json_object_get(subtask, "busy_ratio"));
    json_object_set_new(subtask, "busy_ratio",
                        json_real(ratio > 0.5 ? ratio - 0.25 : ratio + 0.25));
    s_expect_refused(root, NULL, "subtask 2: 'busy_ratio'", "does not match");
}

static void wrong_types_are_refused_naming_the_field(void **state)
{
    json_t *root = s_document(state);
    json_object_set_new(s_item(root, "channels", 0), "records", json_string("many"));
    s_expect_refused(root, NULL, "channel 0: 'records'", "not an integer");
    root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 3), "finished", json_integer(1));
    s_expect_refused(root, NULL, "subtask 3: 'finished'", NULL);
    root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 0), "busy_ratio", json_string("half"));
    s_expect_refused(root, NULL, "'busy_ratio'", "not a number");
    root = s_document(state);
    json_object_set_new(root, "subtasks", json_object());
    s_expect_refused(root, NULL, "'subtasks'", "not an array");
    root = s_document(state);
    json_object_set_new(root, "running", json_string("no"));
    s_expect_refused(root, NULL, "'running'", NULL);
    root = s_document(state);
    json_object_set_new(root, "plan", json_integer(3));
    s_expect_refused(root, NULL, "'plan'", "not an object");
    root = s_document(state);
    json_array_set_new(json_object_get(root, "channels"), 1, json_string("channel"));
    s_expect_refused(root, NULL, "channel 1", "not an object");
}

//  Every field of every kind of entry, removed in turn.
static void every_missing_field_is_refused_by_name(void **state)
{
    static const char *arrays[] = {"subtasks", "channels", "operators"};
    json_t *pristine = s_document(state);
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
        const char *key;
        json_t *value;
        json_object_foreach(s_item(pristine, arrays[a], 0), key, value)
        {
            json_t *root = json_deep_copy(pristine);
            json_object_del(s_item(root, arrays[a], 0), key);
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", key);
            s_expect_refused(root, NULL, quoted, "missing");
        }
    }
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(pristine, "totals"), key, value)
    {
        json_t *root = json_deep_copy(pristine);
        json_object_del(json_object_get(root, "totals"), key);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "totals: '%s'", key);
        s_expect_refused(root, NULL, quoted, "missing");
    }
    json_object_foreach(pristine, key, value)
    {
        json_t *root = json_deep_copy(pristine);
        json_object_del(root, key);
        //  Optional: documents written before hot keys and the diagnosis existed read back.
        if (strcmp(key, "hot_keys") == 0 || strcmp(key, "diagnosis") == 0) {
            char *text = json_dumps(root, 0), error[256];
            rill_metrics_t *metrics = rill_metrics_from_json(text, NULL, error, sizeof error);
            assert_non_null(metrics);
            rill_metrics_destroy(&metrics);
            free(text);
            json_decref(root);
            continue;
        }
        char quoted[64];
        snprintf(quoted, sizeof quoted, "%s", key);
        s_expect_refused(root, NULL, quoted, NULL);
    }
    json_decref(pristine);
}

//  Hot keys read back, and a bad entry is refused naming it.
static void hot_keys_read_back_and_bad_ones_are_refused(void **state)
{
    json_t *root = s_document(state);
    json_t *keys = json_object_get(root, "hot_keys");
    assert_true(json_is_array(keys));
    int hash_edge = -1, other_edge = -1;
    json_t *edges = json_object_get(json_object_get(root, "plan"), "edges");
    size_t i;
    json_t *edge;
    json_array_foreach(edges, i, edge)
    {
        if (strcmp(json_string_value(json_object_get(edge, "pattern")), "hash") == 0)
            hash_edge = (int)i;
        else
            other_edge = (int)i;
    }
    assert_true(hash_edge >= 0 && other_edge >= 0);
    json_array_clear(keys);
    json_array_append_new(keys, json_pack("{s:i, s:s, s:i, s:i, s:i}", "edge", hash_edge, "key",
                                          "hot", "size", 3, "count", 900, "receiver", 1));
    char *text = json_dumps(root, 0), error[256];
    rill_metrics_t *metrics = rill_metrics_from_json(text, NULL, error, sizeof error);
    assert_non_null(metrics);
    rill_hot_key_t got[4];
    assert_int_equal(rill_metrics_hot_keys(metrics, hash_edge, got, 4), 1);
    assert_string_equal(got[0].key, "hot");
    assert_int_equal(got[0].count, 900);
    assert_int_equal(got[0].receiver, 1);
    rill_metrics_destroy(&metrics);
    free(text);
    json_object_set_new(json_array_get(keys, 0), "receiver", json_integer(99));
    s_expect_refused(json_deep_copy(root), NULL, "hot_keys[0]", "receiver 99");
    json_object_set_new(json_array_get(keys, 0), "receiver", json_integer(0));
    json_object_set_new(json_array_get(keys, 0), "edge", json_integer(other_edge));
    s_expect_refused(json_deep_copy(root), NULL, "hot_keys[0]", "no hash edge");
    json_decref(root);
}

static void subtasks_and_channels_must_be_those_of_the_plan(void **state)
{
    json_t *root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 1), "operator", json_integer(1));
    s_expect_refused(root, NULL, "subtask 1: 'operator' = 1", "the plan says 0");
    root = s_document(state);
    json_object_set_new(s_item(root, "subtasks", 4), "index", json_integer(0));
    s_expect_refused(root, NULL, "subtask 4: 'index'", "the plan says 2");
    root = s_document(state);
    json_object_set_new(s_item(root, "channels", 0), "to_subtask", json_integer(0));
    s_expect_refused(root, NULL, "channel 0: 'to_subtask'", "the plan says");
    root = s_document(state);
    json_object_set_new(s_item(root, "channels", 0), "pattern", json_string("forward"));
    s_expect_refused(root, NULL, "channel 0: 'pattern'", "\"hash\"");
    root = s_document(state);
    json_array_remove(json_object_get(root, "channels"), 8);
    s_expect_refused(root, NULL, "'channels' has 8 entries", "the plan has 9");
    root = s_document(state);
    json_array_append(json_object_get(root, "subtasks"), s_item(root, "subtasks", 0));
    s_expect_refused(root, NULL, "'subtasks' has 7 entries", NULL);
    root = s_document(state);
    json_object_set_new(s_item(root, "operators", 1), "parallelism", json_integer(2));
    s_expect_refused(root, NULL, "operator 1: 'parallelism'", NULL);
    root = s_document(state);
    json_object_set_new(s_item(root, "operators", 0), "name", json_string("other"));
    s_expect_refused(root, NULL, "operator 0: 'name'", NULL);
}

static void a_run_of_another_plan_is_refused(void **state)
{
    s_fixture_t *fixture = *state;
    //  The same job at another parallelism.
    rill_env_t *env = rill_env_new();
    rill_stream_t *source =
        rill_stream_parallelism(rill_env_from_generator(env, test_generate_sequence, NULL, 10), 2);
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_sum(rill_stream_key_by(source, rill_key_first_field, NULL)), 4));
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    s_expect_text_refused(fixture->text, plan, "operator 1", "parallelism 3, the plan has 4");
    rill_env_destroy(&env);
    //  Another job altogether.
    env = rill_env_new();
    rill_stream_discard(rill_env_from_generator(env, test_generate_sequence, NULL, 10));
    plan = rill_env_plan(env);
    assert_non_null(plan);
    s_expect_text_refused(fixture->text, plan, "3 operators, the plan has 2", NULL);
    rill_env_destroy(&env);
    //  A document whose own plan is inconsistent is refused by the plan reader.
    json_t *root = s_document(state);
    json_object_set_new(s_item(json_object_get(root, "plan"), "operators", 1), "parallelism",
                        json_integer(0));
    s_expect_refused(root, NULL, "'plan': plan JSON: operator 1: 'parallelism'", NULL);
}

static void sums_that_do_not_add_up_are_refused(void **state)
{
    json_t *root = s_document(state);
    json_t *totals = json_object_get(root, "totals");
    json_object_set_new(
        totals, "records_in",
        json_integer(json_integer_value(json_object_get(totals, "records_in")) + 1));
    s_expect_refused(root, NULL, "totals: 'records_in'", "not the sum");
    root = s_document(state);
    json_t *op = s_item(root, "operators", 1);
    json_object_set_new(op, "records_out",
                        json_integer(json_integer_value(json_object_get(op, "records_out")) + 7));
    s_expect_refused(root, NULL, "operator 1: 'records_in' / 'records_out'", "not the sums");
    root = s_document(state);
    //  Two counts near 2^63 would wrap a 64-bit sum.
    json_object_set_new(s_item(root, "channels", 0), "records", json_integer(INT64_MAX));
    json_object_set_new(s_item(root, "channels", 1), "records", json_integer(INT64_MAX));
    json_object_set_new(s_item(root, "channels", 2), "records", json_integer(INT64_MAX));
    s_expect_refused(root, NULL, "'records'", "beyond 2^64");
    //  Where busy time went must account for all of it, no more, no less.
    root = s_document(state);
    json_t *split = json_object_get(s_item(root, "subtasks", 0), "busy_split");
    json_object_set_new(split, "runtime_ns",
                        json_integer(json_integer_value(json_object_get(split, "runtime_ns")) + 1));
    s_expect_refused(root, NULL, "subtask 0 busy_split", "not busy_ns");
}

static void malformed_or_truncated_text_is_an_error_not_a_crash(void **state)
{
    s_fixture_t *fixture = *state;
    s_expect_text_refused(NULL, NULL, NULL, NULL);
    s_expect_text_refused("", NULL, "line 1", NULL);
    s_expect_text_refused("null", NULL, NULL, NULL);
    s_expect_text_refused("[]", NULL, "not a rill metrics document", NULL);
    s_expect_text_refused("{\"rill_metrics\": 2}", NULL, "version", NULL);
    s_expect_text_refused("{\"rill_plan\": 1}", NULL, "not a rill metrics document", NULL);
    //  Every prefix of a real document (cut anywhere) is refused.
    size_t size = strlen(fixture->text);
    char *cut = malloc(size + 1);
    for (size_t length = 0; length < size; length += 1 + length / 64) {
        memcpy(cut, fixture->text, length);
        cut[length] = 0;
        s_expect_text_refused(cut, NULL, NULL, NULL);
    }
    free(cut);
}

typedef struct {
    int snapshots;
    int refused;
    char first_error[512];
} s_live_t;

static void s_on_tick(void *ctx, const rill_metrics_t *metrics)
{
    s_live_t *live = ctx;
    char *text = rill_metrics_to_json(metrics, true);
    char error[512];
    rill_metrics_t *read = rill_metrics_from_json(text, NULL, error, sizeof error);
    live->snapshots++;
    if (!read && live->refused++ == 0)
        snprintf(live->first_error, sizeof live->first_error, "%s", error);
    rill_metrics_destroy(&read);
    free(text);
}

//  A snapshot taken while the counters move (the --monitor stream) is still one consistent
//  document: its operator sums and totals are those of its own subtasks.
static void every_live_snapshot_reads_back(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_stream_parallelism(
        rill_env_from_generator(env, test_generate_sequence, NULL, 1000000), 2);
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_sum(rill_stream_key_by(source, rill_key_first_field, NULL)), 2));
    s_live_t live = {0};
    rill_env_set_monitor(env, s_on_tick, &live, 10);
    assert_int_equal(rill_env_execute(env), 0);
    assert_true(live.snapshots >= 1); //  at least the one at the end
    if (live.refused)
        fail_msg("%d of %d snapshots refused; the first: %s", live.refused, live.snapshots,
                 live.first_error);
    rill_env_destroy(&env);
}

//  The tools draw nothing from a bad file: exit 1 with the field named.
static void viz_and_plan_exit_1_on_a_bad_metrics_file(void **state)
{
    char *good = test_temp_file("");
    assert_int_equal(test_run_tool(NULL, NULL, "run", "seed-example", "-p", "2", "--metrics-json",
                                   good, "--", "--count", "200", NULL),
                     0);
    char *err = NULL, *out = NULL;
    //  A metrics file is drawn as the flow (its counters on the subtasks), never silently as
    //  the plain plan: the default view is the parallel one, and --view logical is refused.
    assert_int_equal(test_run_tool(&out, NULL, "viz", good, "--format", "dot", NULL), 0);
    assert_non_null(strstr(out, "busy"));
    assert_non_null(strstr(out, "backpressured"));
    free(out);
    assert_int_equal(test_run_tool(NULL, &err, "viz", good, "--view", "logical", "--format",
                                   "dot", NULL),
                     2);
    assert_non_null(strstr(err, "parallel view"));
    free(err);
    err = NULL;
    assert_int_equal(test_run_tool(NULL, NULL, "plan", "seed-example", "-p", "2", "--metrics", good,
                                   "--format", "dot", "--", "--count", "200", NULL),
                     0);
    //  The job at another parallelism.
    assert_int_equal(test_run_tool(NULL, &err, "plan", "seed-example", "-p", "3", "--metrics", good,
                                   "--format", "dot", "--", "--count", "200", NULL),
                     1);
    assert_non_null(strstr(err, "parallelism"));
    free(err);
    //  A ratio of 7.5.
    char *text = test_read_file(good);
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(root);
    json_object_set_new(s_item(root, "subtasks", 0), "backpressure_ratio", json_real(7.5));
    text = json_dumps(root, 0);
    json_decref(root);
    char *bad = test_temp_file(text);
    free(text);
    assert_int_equal(test_run_tool(NULL, &err, "viz", bad, "--format", "dot", NULL), 1);
    assert_non_null(strstr(err, "subtask 0: 'backpressure_ratio' = 7.5"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "plan", "seed-example", "-p", "2", "--metrics", bad,
                                   "--format", "dot", "--", "--count", "200", NULL),
                     1);
    assert_non_null(strstr(err, "'backpressure_ratio'"));
    free(err);
    unlink(good);
    unlink(bad);
    free(good);
    free(bad);
}

//  `rill viz FILE` tells a metrics file from a plan file by its "rill_metrics" member, not by
//  the word appearing anywhere (an operator may be named so).
static void viz_draws_a_plan_with_an_operator_named_rill_metrics(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_discard(rill_stream_name(
        rill_env_from_generator(env, test_generate_sequence, NULL, 10), "rill_metrics"));
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    char *json = rill_plan_to_json(plan);
    char *path = test_temp_file(json);
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "viz", path, "--format", "dot", NULL);
    if (status != 0)
        fail_msg("rill viz: status %d: %s", status, err);
    free(err);
    unlink(path);
    free(path);
    free(json);
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_reads_back_field_for_field),
        cmocka_unit_test(negative_counts_are_refused_naming_the_field),
        cmocka_unit_test(ratios_outside_0_to_1_are_refused),
        cmocka_unit_test(a_ratio_that_disagrees_with_its_times_is_refused),
        cmocka_unit_test(wrong_types_are_refused_naming_the_field),
        cmocka_unit_test(every_missing_field_is_refused_by_name),
        cmocka_unit_test(hot_keys_read_back_and_bad_ones_are_refused),
        cmocka_unit_test(subtasks_and_channels_must_be_those_of_the_plan),
        cmocka_unit_test(a_run_of_another_plan_is_refused),
        cmocka_unit_test(sums_that_do_not_add_up_are_refused),
        cmocka_unit_test(malformed_or_truncated_text_is_an_error_not_a_crash),
        cmocka_unit_test(every_live_snapshot_reads_back),
        cmocka_unit_test(viz_and_plan_exit_1_on_a_bad_metrics_file),
        cmocka_unit_test(viz_draws_a_plan_with_an_operator_named_rill_metrics),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
