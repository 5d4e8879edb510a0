/*  test_task_views.c: the tools name the task (thread) each subtask runs in. Operators chained
    into one task share its thread; the --metrics table and the HTML report say which task each
    subtask runs in, name each chain, and show a chained edge as "chained" (a function call,
    not a channel); metrics stay per operator inside a chain. In process, on a chained plan,
    in a program of its own: Graphviz 2.43 allows one rendering context per process (see
    rill_diagram.h), and the report makes its own. */
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_metrics_table.h"
#include "rill_plan_private.h"
#include "rill_report.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static void the_table_and_the_report_show_which_task_runs_each_subtask(void **state)
{
    rill_graph_t *graph = rill_graph_new();
    rill_graph_set_chaining_enabled(graph, true);
    int src = rill_graph_add_operator(graph,
                                      &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .name = "src",
                                                              .parallelism = 2,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 1});
    int map = rill_graph_add_operator(
        graph, &(rill_operator_spec_t){
                   .kind = RILL_OP_MAP, .name = "mapper", .parallelism = 2, .fn.map = s_identity});
    int sink = rill_graph_add_operator(
        graph,
        &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = 1});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){.from = src, .to = map, .pattern = RILL_PATTERN_FORWARD});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){.from = map, .to = sink, .pattern = RILL_PATTERN_REBALANCE});
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "tasks", 1, RILL_MODE_BATCH, error, sizeof error);
    assert_non_null(plan);
    assert_int_equal(rill_plan_task_count(plan), 3);
    rill_metrics_t *metrics = rill_metrics_new(plan);
    for (int s = 0; s < rill_plan_subtask_count(plan); s++)
        rill_metrics_subtask_slot(metrics, s)->records_out = 100 + (uint64_t)s;

    char *table = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&table, &size);
    rill_metrics_table_print(metrics, out);
    fclose(out);
    //  The mapper's subtasks run in the source's tasks (#0, #1); the sink in its own (#4).
    assert_non_null(strstr(table, "subtask                       task"));
    assert_non_null(strstr(table, "src [1/2]                       #0"));
    assert_non_null(strstr(table, "mapper [1/2]                    #0"));
    assert_non_null(strstr(table, "mapper [2/2]                    #1"));
    assert_non_null(strstr(table, "out [1/1]                       #4"));
    assert_non_null(strstr(table, "3 tasks (threads) run the 5 subtasks"));
    assert_non_null(strstr(table, "chain: src -> mapper (tasks #0..#1)"));
    assert_non_null(strstr(table, "src [1] -> mapper [1]                      chained"));
    assert_non_null(strstr(table, "mapper [2] -> out [1]                    rebalance"));
    free(table);

    char path[] = "/tmp/rill-tasks-XXXXXX.html";
    close(mkstemps(path, 5));
    assert_int_equal(rill_report_write(metrics, fopen(path, "w"), path, NULL, NULL), 0);
    FILE *file = fopen(path, "r");
    static char html[1 << 20];
    size = fread(html, 1, sizeof html - 1, file);
    html[size] = 0;
    fclose(file);
    unlink(path);
    assert_non_null(strstr(html, "<th>task</th>"));
    assert_non_null(strstr(html, "mapper [2/2]</td><td>#1: src → mapper</td><td>0</td><td>103"));
    assert_non_null(strstr(html, "out [1/1]</td><td>#4</td>"));
    assert_non_null(strstr(html, "<td>chained</td>"));
    //  The parallel view in the report draws each task as one box: "src [1/2]", "→ mapper".
    assert_non_null(strstr(html, "→ mapper"));
    rill_metrics_destroy(&metrics);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table_and_the_report_show_which_task_runs_each_subtask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
