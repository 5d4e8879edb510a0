/*  test_trace_analysis.c: `rill trace`'s join of receivers' hop lines with senders' batch
    lines (tools/rill_trace_analysis.c), on synthetic trace lines: the split of each hop into
    batch fill, queueing and processing is exact, a channel's records pair in order, chained
    hops have no batch, and a hop between processes keeps no queueing. */
#include "rill_plan_private.h"
#include "rill_trace_analysis.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

//  Reads lines as `rill trace` does: hops and sender lines into the arrays.
static void s_read(const char *const *lines, rill_trace_hop_t *hops, size_t *count,
                   rill_trace_send_t *sends, size_t *send_count)
{
    *count = *send_count = 0;
    for (const char *const *text = lines; *text; text++) {
        rill_trace_line_t line;
        char error[128];
        assert_int_equal(rill_trace_line_parse(*text, &line, error, sizeof error), 0);
        if (line.kind == RILL_TRACE_LINE_HOP)
            hops[(*count)++] = line.hop;
        else if (line.kind == RILL_TRACE_LINE_SENT)
            sends[(*send_count)++] = line.sent;
    }
}

static const rill_trace_hop_t *s_hop_at(const rill_trace_hop_t *hops, size_t count, int subtask,
                                        uint64_t in)
{
    for (size_t i = 0; i < count; i++)
        if (hops[i].subtask == subtask && hops[i].in == in)
            return &hops[i];
    fail_msg("no hop at subtask %d in at %llu", subtask, (unsigned long long)in);
    return NULL;
}

static void a_hop_over_a_channel_splits_into_fill_queue_and_processing(void **state)
{
    (void)state;
    //  Source 0 makes trace 7 at 1000 and puts it in a batch at 1100; the batch leaves at
    //  5100; subtask 2 decodes the record at 5400 and is done with it at 5450.
    const char *lines[] = {
        "{\"rill_trace\":1,\"plan\":null}",
        "{\"trace\":7,\"subtask\":0,\"operator\":\"src\",\"op\":0,\"index\":0,\"from\":null,"
        "\"edge\":null,\"time_in\":1000,\"time_out\":1200}",
        "{\"trace\":7,\"subtask\":0,\"to\":2,\"channel\":3,\"batched\":1100,\"sent\":5100}",
        "{\"trace\":7,\"subtask\":2,\"operator\":\"map\",\"op\":1,\"index\":1,\"from\":0,"
        "\"edge\":0,\"time_in\":5400,\"time_out\":5450}",
        "{\"rill_trace_unsplit\":0}",
        NULL};
    rill_trace_hop_t hops[4];
    rill_trace_send_t sends[4];
    size_t count, send_count, unsplit = 99;
    s_read(lines, hops, &count, sends, &send_count);
    assert_int_equal(count, 2);
    assert_int_equal(send_count, 1);
    assert_int_equal(rill_trace_join(hops, count, sends, send_count, &unsplit), 0);
    assert_int_equal(unsplit, 0);
    const rill_trace_hop_t *source = s_hop_at(hops, count, 0, 1000);
    assert_false(source->split); //  a source came from nowhere
    assert_int_equal(source->channel, -1);
    const rill_trace_hop_t *map = s_hop_at(hops, count, 2, 5400);
    assert_true(map->split);
    assert_int_equal(map->channel, 3);
    assert_int_equal(map->fill, 4000);        //  sent - batched
    assert_int_equal(map->queue, 300);        //  time_in - sent
    assert_int_equal(map->out - map->in, 50); //  processing
    assert_string_equal(map->operator, "map");
}

static void records_of_one_trace_on_a_channel_pair_in_order(void **state)
{
    (void)state;
    //  A flatMap at subtask 1 emits three records of trace 9 to subtask 4: two in one batch
    //  (sent at 300), one in the next (sent at 700); lines come in any order.
    const char *lines[] = {
        "{\"trace\":9,\"subtask\":1,\"to\":4,\"channel\":5,\"batched\":500,\"sent\":700}",
        "{\"trace\":9,\"subtask\":4,\"operator\":\"count\",\"op\":2,\"index\":0,\"from\":1,"
        "\"edge\":1,\"time_in\":900,\"time_out\":910}",
        "{\"trace\":9,\"subtask\":1,\"to\":4,\"channel\":5,\"batched\":100,\"sent\":300}",
        "{\"trace\":9,\"subtask\":1,\"to\":4,\"channel\":5,\"batched\":120,\"sent\":300}",
        "{\"trace\":9,\"subtask\":4,\"operator\":\"count\",\"op\":2,\"index\":0,\"from\":1,"
        "\"edge\":1,\"time_in\":400,\"time_out\":420}",
        "{\"trace\":9,\"subtask\":4,\"operator\":\"count\",\"op\":2,\"index\":0,\"from\":1,"
        "\"edge\":1,\"time_in\":450,\"time_out\":455}",
        //  The same trace to another receiver (a broadcast's second line) stays apart.
        "{\"trace\":9,\"subtask\":1,\"to\":5,\"channel\":6,\"batched\":120,\"sent\":300}",
        "{\"trace\":9,\"subtask\":5,\"operator\":\"count\",\"op\":2,\"index\":1,\"from\":1,"
        "\"edge\":1,\"time_in\":1300,\"time_out\":1301}",
        NULL};
    rill_trace_hop_t hops[8];
    rill_trace_send_t sends[8];
    size_t count, send_count, unsplit = 99;
    s_read(lines, hops, &count, sends, &send_count);
    assert_int_equal(rill_trace_join(hops, count, sends, send_count, &unsplit), 0);
    assert_int_equal(unsplit, 0);
    const rill_trace_hop_t *first = s_hop_at(hops, count, 4, 400);
    assert_int_equal(first->fill, 200); //  batched 100
    assert_int_equal(first->queue, 100);
    const rill_trace_hop_t *second = s_hop_at(hops, count, 4, 450);
    assert_int_equal(second->fill, 180); //  batched 120
    assert_int_equal(second->queue, 150);
    const rill_trace_hop_t *third = s_hop_at(hops, count, 4, 900);
    assert_int_equal(third->fill, 200);
    assert_int_equal(third->queue, 200);
    const rill_trace_hop_t *other = s_hop_at(hops, count, 5, 1300);
    assert_int_equal(other->channel, 6);
    assert_int_equal(other->fill, 180);
    assert_int_equal(other->queue, 1000);
    //  Sorted for the tool: by trace, then time_in.
    for (size_t i = 1; i < count; i++)
        assert_true(hops[i - 1].in <= hops[i].in);
}

static void a_chained_hop_has_no_batch_and_a_missing_line_is_counted(void **state)
{
    (void)state;
    const char *lines[] = {
        "{\"trace\":3,\"subtask\":0,\"operator\":\"src\",\"op\":0,\"index\":0,\"from\":null,"
        "\"edge\":null,\"time_in\":10,\"time_out\":30}",
        //  Handed over by function call: no sender line, ever.
        "{\"trace\":3,\"subtask\":1,\"operator\":\"map\",\"op\":1,\"index\":0,\"from\":0,"
        "\"edge\":0,\"time_in\":15,\"time_out\":25}",
        //  Over a channel, but its batch kept no line for it.
        "{\"trace\":3,\"subtask\":2,\"operator\":\"sink\",\"op\":2,\"index\":0,\"from\":1,"
        "\"edge\":1,\"time_in\":80,\"time_out\":90}",
        //  A line that left after the record arrived belongs to a later record.
        "{\"trace\":3,\"subtask\":1,\"to\":2,\"channel\":1,\"batched\":20,\"sent\":85}", NULL};
    rill_trace_hop_t hops[4];
    rill_trace_send_t sends[4];
    size_t count, send_count, unsplit = 0;
    s_read(lines, hops, &count, sends, &send_count);
    hops[1].chained = true; //  what rill_trace_mark reads from the plan
    assert_int_equal(rill_trace_join(hops, count, sends, send_count, &unsplit), 0);
    assert_int_equal(unsplit, 1);
    const rill_trace_hop_t *map = s_hop_at(hops, count, 1, 15);
    assert_true(map->split);
    assert_int_equal(map->fill, 0);
    assert_int_equal(map->queue, 0);
    const rill_trace_hop_t *sink = s_hop_at(hops, count, 2, 80);
    assert_false(sink->split);
    assert_int_equal(sink->channel, -1);
}

static void a_hop_between_processes_keeps_fill_but_no_queue(void **state)
{
    (void)state;
    //  The receiver's clock is far behind the sender's: time_in < sent means nothing.
    const char *lines[] = {
        "{\"trace\":4,\"subtask\":0,\"to\":1,\"channel\":0,\"batched\":900000,\"sent\":950000}",
        "{\"trace\":4,\"subtask\":1,\"operator\":\"map\",\"op\":1,\"index\":0,\"from\":0,"
        "\"edge\":0,\"time_in\":2000,\"time_out\":2600}",
        NULL};
    rill_trace_hop_t hops[2];
    rill_trace_send_t sends[2];
    size_t count, send_count, unsplit = 0;
    s_read(lines, hops, &count, sends, &send_count);
    hops[0].cross_process = true;
    assert_int_equal(rill_trace_join(hops, count, sends, send_count, &unsplit), 0);
    assert_int_equal(unsplit, 0);
    assert_true(hops[0].split);
    assert_int_equal(hops[0].fill, 50000);
    assert_int_equal(hops[0].queue, 0);
}

static void the_plan_says_which_hops_are_chained_and_which_cross_processes(void **state)
{
    (void)state;
    //  src (1) --rebalance--> mapper (2) --forward, chained--> out (2), on two processes:
    //  slot 1 (mapper [2] and out [2]) runs on the second.
    rill_graph_t *graph = test_chain_graph(1, 2, RILL_PATTERN_REBALANCE, 10);
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_non_null(plan);
    assert_int_equal(rill_plan_place(plan, 2, error, sizeof error), 0);
    int src = rill_plan_operator(plan, 0)->first_subtask;
    int mapper = rill_plan_operator(plan, 1)->first_subtask;
    int out = rill_plan_operator(plan, 2)->first_subtask;
    int exchange = rill_plan_output_edge(plan, 0, 0), link = rill_plan_output_edge(plan, 1, 0);
    assert_false(rill_plan_edge(plan, exchange)->chained);
    assert_true(rill_plan_edge(plan, link)->chained);
    rill_trace_hop_t hops[4] = {
        {.trace = 1, .subtask = mapper, .from = src, .edge = exchange},
        {.trace = 1, .subtask = mapper + 1, .from = src, .edge = exchange},
        {.trace = 1, .subtask = out + 1, .from = mapper + 1, .edge = link},
        {.trace = 1, .subtask = src + 99, .from = src, .edge = exchange}, //  not in the plan
    };
    rill_trace_mark(hops, 4, plan);
    assert_false(hops[0].chained);
    assert_false(hops[0].cross_process);
    assert_false(hops[1].chained);
    assert_true(hops[1].cross_process);
    assert_true(hops[2].chained);
    assert_false(hops[2].cross_process);
    assert_false(hops[3].chained || hops[3].cross_process);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void lines_that_are_not_trace_lines_are_refused(void **state)
{
    (void)state;
    rill_trace_line_t line;
    char error[128];
    assert_int_equal(rill_trace_line_parse("{\"trace\":", &line, error, sizeof error), -1);
    assert_non_null(strstr(error, "not JSON"));
    assert_int_equal(rill_trace_line_parse("{\"trace\":1,\"subtask\":0,\"batched\":1}", &line,
                                           error, sizeof error),
                     -1);
    assert_string_equal(error, "not a trace hop");
    assert_int_equal(
        rill_trace_line_parse("{\"rill_trace_unsplit\":12}", &line, error, sizeof error), 0);
    assert_int_equal(line.kind, RILL_TRACE_LINE_UNSPLIT);
    assert_int_equal(line.unsplit, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hop_over_a_channel_splits_into_fill_queue_and_processing),
        cmocka_unit_test(records_of_one_trace_on_a_channel_pair_in_order),
        cmocka_unit_test(a_chained_hop_has_no_batch_and_a_missing_line_is_counted),
        cmocka_unit_test(a_hop_between_processes_keeps_fill_but_no_queue),
        cmocka_unit_test(the_plan_says_which_hops_are_chained_and_which_cross_processes),
        cmocka_unit_test(lines_that_are_not_trace_lines_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
