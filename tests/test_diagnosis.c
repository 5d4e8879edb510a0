/*  test_diagnosis.c: the counters name what is wrong (rill_metrics_diagnosis,
   rill_metrics_hot_keys) on generated skewed data: one key is half of all records, at parallelism
   4, 16 and 64. The diagnosis must name that key with its share and receiver, and the receiver that
   gets it as the straggler; a job without skew must not be blamed for any. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define S_RECORDS 200000

//  Record i: "hot" for every other record, else one of 5,000 cold keys.
static int s_skewed(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = index % 2 ? snprintf(text, sizeof text, "hot\t1")
                         : snprintf(text, sizeof text, "k%llu\t1",
                                    (unsigned long long)((index * 7919) % 5000));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Record i: "hot" for i % 4 of 0 and 2, else one of 5,000 cold keys: periodic, as lines of
//  four words split into records are. A sample taken at a fixed stride of 16 would see only
//  the i % 4 == 3 ones and miss the hot key altogether.
static int s_periodic(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = index % 2 == 0 ? snprintf(text, sizeof text, "hot\t1")
                              : snprintf(text, sizeof text, "k%llu\t1",
                                         (unsigned long long)((index * 7919) % 5000));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Record i: one of 5,000 keys, evenly.
static int s_even(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\t1", (unsigned long long)(index % 5000));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Where s_run leaves its metrics JSON (NULL: nowhere), and the hot receiver's subtask id.
static const char *s_metrics_path;
static int s_hot_subtask;

//  Runs source -> key_by -> count -> discard at parallelism p, streaming (every record reaches
//  the count, no pre-aggregation to hide the skew); returns its diagnosis and fills the hash
//  edge's heaviest key.
static char *s_run(int p, rill_generate_fn generate, rill_hot_key_t *top, int *receivers)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, p);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_stream_t *source = rill_env_from_generator(env, generate, NULL, S_RECORDS);
    rill_stream_t *counts =
        rill_stream_count(rill_stream_key_by(source, rill_key_first_field, NULL));
    rill_stream_name(counts, "count");
    rill_stream_discard(counts);
    assert_int_equal(rill_env_execute(env), 0);
    const rill_metrics_t *metrics = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    int hash_edge = -1;
    for (int e = 0; e < rill_plan_edge_count(plan); e++)
        if (rill_plan_edge(plan, e)->pattern == RILL_PATTERN_HASH)
            hash_edge = e;
    assert_true(hash_edge >= 0);
    memset(top, 0, sizeof *top);
    rill_metrics_hot_keys(metrics, hash_edge, top, 1);
    const rill_plan_operator_t *count = rill_plan_operator(plan, rill_plan_edge(plan, hash_edge)->to);
    *receivers = count->parallelism;
    s_hot_subtask = count->first_subtask + top->receiver;
    if (s_metrics_path) {
        char *json = rill_metrics_to_json(metrics, false);
        FILE *file = fopen(s_metrics_path, "w");
        assert_non_null(json);
        assert_non_null(file);
        fputs(json, file);
        assert_int_equal(fclose(file), 0);
        free(json);
    }
    char *diagnosis = rill_metrics_diagnosis(metrics);
    assert_non_null(diagnosis);
    rill_env_destroy(&env);
    return diagnosis;
}

static void s_hot_key_is_named(int p)
{
    rill_hot_key_t top;
    int receivers = 0;
    char *diagnosis = s_run(p, s_skewed, &top, &receivers);
    //  The heaviest key is "hot", counted within 5% of its 100,000 records (from a sample).
    assert_string_equal(top.key, "hot");
    assert_true(top.count > S_RECORDS / 2 * 95 / 100 && top.count < S_RECORDS / 2 * 105 / 100);
    char expected[128];
    snprintf(expected, sizeof expected, "-> 'count' [%d/%d]", top.receiver + 1, receivers);
    char *hot = strstr(diagnosis, "hot key: `hot`");
    if (!hot || !strstr(hot, expected) || !strstr(hot, "(50%)"))
        fprintf(stderr, "p=%d: no hot key line naming %s in:\n%s", p, expected, diagnosis);
    assert_non_null(hot);
    assert_non_null(strstr(hot, "(50%)"));
    assert_non_null(strstr(hot, expected));
    //  The receiver of the hot key is the straggler of the count.
    snprintf(expected, sizeof expected, "straggler: 'count' [%d/%d] received", top.receiver + 1,
             receivers);
    if (!strstr(diagnosis, expected))
        fprintf(stderr, "p=%d: no '%s' in:\n%s", p, expected, diagnosis);
    assert_non_null(strstr(diagnosis, expected));
    free(diagnosis);
}

static void a_hot_key_is_named_at_p_4(void **state)
{
    (void)state;
    s_hot_key_is_named(4);
}

static void a_hot_key_is_named_at_p_16(void **state)
{
    (void)state;
    s_hot_key_is_named(16);
}

static void a_hot_key_is_named_at_p_64(void **state)
{
    (void)state;
    s_hot_key_is_named(64);
}

static bool s_is_hex(const char *colour)
{
    if (strlen(colour) != 7 || colour[0] != '#')
        return false;
    for (int i = 1; i < 7; i++)
        if (!strchr("0123456789abcdef", colour[i]))
            return false;
    return true;
}

//  Collapsed at p = 64, the flow view still draws the hot subtask (the busiest, an outlier),
//  and every colour it writes is a valid #rrggbb, every line width within its scale.
static void the_collapsed_flow_view_draws_the_hot_subtask(void **state)
{
    (void)state;
    char *path = test_temp_file("");
    s_metrics_path = path;
    rill_hot_key_t top;
    int receivers = 0;
    free(s_run(64, s_skewed, &top, &receivers));
    s_metrics_path = NULL;
    char *dot = NULL;
    assert_int_equal(test_run_tool(&dot, NULL, "viz", path, "--format", "dot", NULL), 0);
    char node[32];
    snprintf(node, sizeof node, "\ts%d\t[", s_hot_subtask);
    if (!strstr(dot, node))
        fprintf(stderr, "the hot subtask s%d is not drawn\n", s_hot_subtask);
    assert_non_null(strstr(dot, node));
    assert_non_null(strstr(dot, "more tasks"));
    //  Collapsed: the hot subtask is drawn, not every subtask.
    int drawn = 0;
    for (const char *at = dot; (at = strstr(at, "\ts")); at++)
        drawn += at[2] >= '0' && at[2] <= '9' && strchr(at + 2, '\t') &&
                 strchr(at + 2, '\t')[1] == '[' && strchr(at + 2, '\t') - at < 8;
    assert_true(drawn < 40);
    for (const char *at = dot; (at = strstr(at, "color=")); at++) {
        char colour[32] = "";
        sscanf(at + 6, "\"%31[^\"]\"", colour);
        if (colour[0] == '#' && !s_is_hex(colour))
            fail_msg("an invalid colour %s", colour);
    }
    for (const char *at = dot; (at = strstr(at, "penwidth=")); at++)
        assert_true(atof(at + 9 + (at[9] == '"')) <= 8.5);
    free(dot);
    unlink(path);
    free(path);
}

static void a_hot_key_in_periodic_input_is_named(void **state)
{
    (void)state;
    rill_hot_key_t top;
    int receivers = 0;
    //  One sender sees the whole period.
    free(s_run(1, s_periodic, &top, &receivers));
    assert_string_equal(top.key, "hot");
    assert_true(top.count > S_RECORDS / 2 * 90 / 100 && top.count < S_RECORDS / 2 * 110 / 100);
}

static void an_even_job_is_not_blamed(void **state)
{
    (void)state;
    rill_hot_key_t top;
    int receivers = 0;
    char *diagnosis = s_run(4, s_even, &top, &receivers);
    //  Its heaviest key is one of 5,000 (40 records each): far from hot.
    assert_true(top.count < S_RECORDS / 20);
    if (strstr(diagnosis, "hot key") || strstr(diagnosis, "skew") || strstr(diagnosis, "straggler"))
        fprintf(stderr, "blamed an even job:\n%s", diagnosis);
    assert_null(strstr(diagnosis, "hot key"));
    assert_null(strstr(diagnosis, "skew"));
    assert_null(strstr(diagnosis, "straggler"));
    free(diagnosis);
}

//  Event time in the counters: each subtask's latest watermark, and the records too late for
//  every window (Flink's WindowOperator.isWindowLate: they go to the late side output, which
//  the windowed job reports), summed over the window's subtasks.
static void watermarks_and_late_records_are_counted(void **state)
{
    (void)state;
    //  With 250 ms of out-of-orderness, the row at 3 s comes after the row at 5 s moved the
    //  watermark past 4 s: one late row.
    char *csv = test_temp_file("t,k,v\n1000,a,1\n2000,a,2\n5000,b,3\n3000,a,4\n6000,b,5\n");
    char *json = test_temp_file("");
    const char *args[] = {"run",
                          "windowed",
                          "-p",
                          "2",
                          "--metrics-json",
                          json,
                          "--",
                          "--input",
                          csv,
                          "--time-column",
                          "t",
                          "--key-column",
                          "k",
                          "--value-column",
                          "v",
                          "--window",
                          "tumbling:1s",
                          "--agg",
                          "max",
                          "--out-of-orderness",
                          "250ms",
                          NULL};
    assert_int_equal(test_run_toolv(NULL, NULL, args), 0);
    char *text = test_read_file(json);
    char error[256];
    rill_metrics_t *metrics = rill_metrics_from_json(text, NULL, error, sizeof error);
    if (!metrics)
        fprintf(stderr, "%s\n", error);
    assert_non_null(metrics);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    uint64_t late = 0;
    int with_watermark = 0;
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        late += m.late_records;
        with_watermark += m.watermark_seen != 0;
        //  Every input ended: the last watermark is the end of time.
        if (m.watermark_seen &&
            rill_plan_operator(plan, rill_plan_subtask(plan, i)->op)->input_count)
            assert_true(m.watermark >= 6000 - 250 - 1);
    }
    assert_int_equal(late, 1);
    assert_true(with_watermark > 0);
    rill_metrics_destroy(&metrics);
    free(text);
    unlink(json);
    unlink(csv);
    free(json);
    free(csv);
}

//  A failed run's report says so first, with the failing operator subtask, never as a success.
static void a_failed_run_s_report_shows_the_failure_first(void **state)
{
    (void)state;
    char *text = test_temp_file("a b c hot hot\nhot d e\n");
    char *report = test_temp_file("");
    setenv("RILL_FAIL", "key_by/count():1:2", 1);
    int rc = test_run_tool(NULL, NULL, "run", "wordcount", "-p", "2", "--mode", "streaming",
                           "--report", report, "--", "--input", text, NULL);
    unsetenv("RILL_FAIL");
    assert_int_equal(rc, 1);
    char *html = test_read_file(report);
    char *failure = strstr(html, "<h2>The run failed</h2>");
    assert_non_null(failure);
    assert_non_null(strstr(failure, "operator 'key_by/count()' subtask 1/2"));
    //  First: before the diagnosis and the diagrams.
    assert_true(!strstr(html, "id=\"logical\"") || failure < strstr(html, "id=\"logical\""));
    free(html);
    unlink(report);
    unlink(text);
    free(report);
    free(text);
}

//  The report draws the run over time: a sparkline of each subtask's rate, and a timeline
//  with each subtask's end.
static void the_report_draws_the_run_over_time(void **state)
{
    (void)state;
    char *report = test_temp_file("");
    assert_int_equal(test_run_tool(NULL, NULL, "run", "seed-example", "-p", "2", "--report",
                                   report, "--", "--count", "300000", NULL),
                     0);
    char *html = test_read_file(report);
    char *timeline = strstr(html, "<section id=\"timeline\">");
    assert_non_null(timeline);
    assert_non_null(strstr(timeline, "'Source' [1/2] finished"));
    assert_non_null(strstr(timeline, "ended"));
    assert_non_null(strstr(html, "<polyline"));
    free(html);
    unlink(report);
    free(report);
}

//  rill trace per receiver and per channel: the hot key's receiver gets a row of its own, with
//  most of the traced records, instead of being pooled into its edge.
static void rill_trace_reports_each_receiver_and_channel(void **state)
{
    (void)state;
    char *text = test_temp_file("hot a hot b hot c hot d\nhot e hot f hot g hot h\n");
    char *trace = test_temp_file("");
    FILE *input = fopen(text, "a");
    for (int i = 0; i < 20000; i++)
        fprintf(input, "hot w%d hot x%d\n", i % 700, i % 300);
    fclose(input);
    assert_int_equal(test_run_tool(NULL, NULL, "run", "wordcount", "-p", "4", "--mode",
                                   "streaming", "--trace", trace, "--trace-sample", "20", "--",
                                   "--input", text, NULL),
                     0);
    char *out = NULL;
    assert_int_equal(test_run_tool(&out, NULL, "trace", trace, "--paths", "0", NULL), 0);
    char *receivers = strstr(out, "receiver (time to reach it, slowest first)");
    char *channels = strstr(out, "channel (sender -> receiver, slowest first)");
    assert_non_null(receivers);
    assert_non_null(channels);
    assert_non_null(strstr(channels, "split() ["));
    //  The count receiver with the most traced records holds more than half of them.
    long most = 0, all = 0;
    for (char *line = strstr(receivers, "\n-> key_by/count() ["); line && line < channels;
         line = strstr(line + 1, "\n-> key_by/count() [")) {
        long hops = 0;
        char *close = strchr(line, ']');
        assert_non_null(close);
        hops = strtol(close + 1, NULL, 10);
        all += hops;
        most = hops > most ? hops : most;
    }
    assert_true(all > 0);
    assert_true(most * 2 > all);
    free(out);
    unlink(trace);
    unlink(text);
    free(trace);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hot_key_is_named_at_p_4),
        cmocka_unit_test(a_hot_key_is_named_at_p_16),
        cmocka_unit_test(a_hot_key_is_named_at_p_64),
        cmocka_unit_test(the_collapsed_flow_view_draws_the_hot_subtask),
        cmocka_unit_test(a_hot_key_in_periodic_input_is_named),
        cmocka_unit_test(an_even_job_is_not_blamed),
        cmocka_unit_test(watermarks_and_late_records_are_counted),
        cmocka_unit_test(a_failed_run_s_report_shows_the_failure_first),
        cmocka_unit_test(the_report_draws_the_run_over_time),
        cmocka_unit_test(rill_trace_reports_each_receiver_and_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
