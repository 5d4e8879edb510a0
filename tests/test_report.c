/*  test_report.c: the report's summaries, in process on counters set by hand (so every number
    is known): the per-operator quantiles table, one stacked time bar per subtask with user
    function, runtime and ZeroMQ clamped into busy time, and the inline data the hover cards
    read, safe against any operator name. In a program of its own: Graphviz 2.43 allows one
    rendering context per process (rill_diagram.h), and the report makes its own. */
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_plan_private.h"
#include "rill_report.h"
#include "rill_report_summary.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  The bar of subtask `subtask`: from its <svg> to its </svg>.
static char *s_bar(const char *html, int subtask)
{
    char key[64];
    snprintf(key, sizeof key, "class=\"rill-timebar\" data-subtask=\"%d\"", subtask);
    const char *start = strstr(html, key);
    assert_non_null(start);
    const char *end = strstr(start, "</svg>");
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

//  The width of the bar's part `part` (user, runtime, zmq, idle, backpressure); 0 when absent.
static double s_part(const char *bar, const char *part)
{
    char key[64];
    snprintf(key, sizeof key, "class=\"rill-time-%s\"", part);
    const char *at = strstr(bar, key);
    if (!at)
        return 0;
    at = strstr(at, "width=\"");
    assert_non_null(at);
    return strtod(at + 7, NULL);
}

static void the_report_summarises_operators_and_each_subtasks_time(void **state)
{
    //  src (p 4) -> a map with a hostile name (p 4, not chained: rebalance) -> sink (p 1).
    rill_graph_t *graph = rill_graph_new();
    int src = rill_graph_add_operator(graph,
                                      &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .name = "src",
                                                              .parallelism = 4,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 1});
    int map = rill_graph_add_operator(graph, &(rill_operator_spec_t){.kind = RILL_OP_MAP,
                                                                     .name = "m</script>&\"",
                                                                     .parallelism = 4,
                                                                     .fn.map = s_identity});
    int sink = rill_graph_add_operator(
        graph,
        &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = 1});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){.from = src, .to = map, .pattern = RILL_PATTERN_REBALANCE});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){.from = map, .to = sink, .pattern = RILL_PATTERN_REBALANCE});
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "summary", 1, RILL_MODE_BATCH, error, sizeof error);
    assert_non_null(plan);
    assert_int_equal(rill_plan_subtask_count(plan), 9);
    rill_metrics_t *metrics = rill_metrics_new(plan);
    rill_metrics_set_duration_ns(metrics, 1000000000);
    //  The sources emit 100, 200, 300 and 1000 records; each map passes on what it got
    //  (10, 20, 30, 40) and is busy 10%, 20%, 30%, 40% of 1 s (the rest idle).
    uint64_t out[] = {100, 200, 300, 1000};
    for (int k = 0; k < 4; k++) {
        rill_subtask_metrics_t *s = rill_metrics_subtask_slot(metrics, k);
        s->records_out = out[k];
        s->busy_ns = 1000;
        rill_subtask_metrics_t *m = rill_metrics_subtask_slot(metrics, 4 + k);
        m->records_in = m->records_out = 10 * (uint64_t)(k + 1);
        m->busy_ns = 100000000 * (uint64_t)(k + 1);
        m->idle_ns = 1000000000 - m->busy_ns;
    }
    //  The first map's busy time splits 30% user, 10% ZeroMQ of its busy (so 3% and 1% of
    //  its time); the second's estimates overshoot busy and are clamped: user takes it all.
    rill_metrics_subtask_slot(metrics, 4)->user_ns = 30000000;
    rill_metrics_subtask_slot(metrics, 4)->zmq_ns = 10000000;
    rill_metrics_subtask_slot(metrics, 5)->user_ns = 500000000;
    rill_metrics_subtask_slot(metrics, 5)->zmq_ns = 50000000;
    //  The third: ZeroMQ alone overshoots what user left.
    rill_metrics_subtask_slot(metrics, 6)->user_ns = 200000000;
    rill_metrics_subtask_slot(metrics, 6)->zmq_ns = 400000000;
    //  The sink: backpressured 3/4 of its time, busy 1/4 (no split measured: all runtime).
    rill_metrics_subtask_slot(metrics, 8)->records_in = 100;
    rill_metrics_subtask_slot(metrics, 8)->busy_ns = 250;
    rill_metrics_subtask_slot(metrics, 8)->backpressure_ns = 750;

    //  The split on its own: parts add up to the subtask's time, never more than busy.
    rill_subtask_metrics_t m5 = rill_metrics_subtask(metrics, 5);
    rill_report_time_t t = rill_report_time_split(&m5);
    assert_int_equal(t.user, 200000000);
    assert_int_equal(t.zmq, 0);
    assert_int_equal(t.runtime, 0);
    rill_subtask_metrics_t m6 = rill_metrics_subtask(metrics, 6);
    t = rill_report_time_split(&m6);
    assert_int_equal(t.user, 200000000);
    assert_int_equal(t.zmq, 100000000);
    assert_int_equal(t.runtime, 0);
    assert_int_equal(t.idle, 700000000);

    char path[] = "/tmp/rill-report-summary-XXXXXX.html";
    close(mkstemps(path, 5));
    assert_int_equal(rill_report_write(metrics, fopen(path, "w"), path, NULL, NULL), 0);
    char *html = test_read_file(path);
    unlink(path);

    //  Quantiles, linear between ranks: out 100, 200, 300, 1000 -> 25th at 1.75 ranks.
    assert_non_null(strstr(html, "<tr><td>src</td><td>records out</td><td>100</td><td>175</td>"
                                 "<td>250</td><td>475</td><td>1000</td></tr>"));
    //  No "records in" row for a source, no "records out" row for a sink: always 0.
    assert_null(strstr(html, "<tr><td>src</td><td>records in</td>"));
    assert_null(strstr(html, "<tr><td>out</td><td>records out</td>"));
    assert_non_null(strstr(html, "<tr><td>m&lt;/script&gt;&amp;&quot;</td><td>records in</td>"
                                 "<td>10</td><td>17.5</td><td>25</td><td>32.5</td><td>40</td>"));
    assert_non_null(strstr(html, "<tr><td>m&lt;/script&gt;&amp;&quot;</td><td>busy</td>"
                                 "<td>10.0%</td><td>17.5%</td><td>25.0%</td><td>32.5%</td>"
                                 "<td>40.0%</td></tr>"));
    assert_non_null(strstr(html, "<tr><td>out</td><td>backpressured</td><td>75.0%</td>"));

    //  One bar per subtask, each part's width its share of 240 px.
    int bars = 0;
    for (const char *at = html; (at = strstr(at, "<svg class=\"rill-timebar\"")); at++)
        bars++;
    assert_int_equal(bars, 9);
    char *bar = s_bar(html, 4); //  busy 10%: user 3%, ZeroMQ 1%, runtime 6%; idle 90%
    assert_float_equal(s_part(bar, "user"), 240 * 0.03, 0.01);
    assert_float_equal(s_part(bar, "zmq"), 240 * 0.01, 0.01);
    assert_float_equal(s_part(bar, "runtime"), 240 * 0.06, 0.01);
    assert_float_equal(s_part(bar, "idle"), 240 * 0.90, 0.01);
    assert_float_equal(s_part(bar, "backpressure"), 0, 0);
    free(bar);
    bar = s_bar(html, 5); //  clamped: user is all of busy (20%)
    assert_float_equal(s_part(bar, "user"), 240 * 0.2, 0.01);
    assert_float_equal(s_part(bar, "zmq"), 0, 0);
    assert_float_equal(s_part(bar, "runtime"), 0, 0);
    assert_float_equal(s_part(bar, "idle"), 240 * 0.8, 0.01);
    free(bar);
    bar = s_bar(html, 8); //  nothing measured but busy: runtime, and backpressure
    assert_float_equal(s_part(bar, "runtime"), 60, 0.01);
    assert_float_equal(s_part(bar, "backpressure"), 180, 0.01);
    assert_float_equal(s_part(bar, "user"), 0, 0);
    free(bar);
    bar = s_bar(html, 0); //  a source with busy only: one full runtime part
    assert_float_equal(s_part(bar, "runtime"), 240, 0.01);
    free(bar);
    assert_non_null(strstr(html, "user function</span>"));
    assert_non_null(strstr(html, "<td>3.0%</td><td>6.0%</td><td>1.0%</td><td>90.0%</td>"
                                 "<td>0.0%</td>"));

    //  The hover cards' data: JSON in a script element, where no name can close it.
    const char *data = strstr(html, "<script type=\"application/json\" id=\"rill-data\">");
    assert_non_null(data);
    const char *data_end = strstr(data, "</script>");
    assert_non_null(data_end);
    const char *name = strstr(data, "\"name\":\"m\\u003c/script\\u003e\\u0026\\\" [2/4]\"");
    assert_non_null(name);
    assert_true(name < data_end);
    assert_non_null(strstr(data, "\"id\":5,\"task\":5,"));
    assert_non_null(strstr(data, "\"records_in\":20,\"records_out\":20,\"busy\":0.2000,"
                                 "\"backpressure\":0.0000,\"watermark\":null"));
    //  The diagrams carry the ids the script finds tasks and channels by.
    assert_non_null(strstr(html, "id=\"flow_task5\""));
    assert_non_null(strstr(html, "id=\"parallel_task5\""));
    assert_non_null(strstr(html, "id=\"flow_channel0\""));
    //  Still one file: no external URL (the SVG namespace names are not fetched).
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "href=\"http"));
    free(html);
    rill_metrics_destroy(&metrics);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_report_summarises_operators_and_each_subtasks_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
