/*  test_plan_index.c: the plan's channel index (rill_plan_index.c), which each subtask's reader
    and writer use to find their own channels. For every exchange pattern and shape: each
    channel is listed exactly once under its sender and once under its receiver, in id order,
    and nowhere else; rill_plan_channels_into agrees; a plan read back from JSON has the same
    index. */
#include "rill_plan_private.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static int s_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  source(senders) --pattern--> map(receivers) --forward--> discard(receivers)
static rill_plan_t *s_plan(int senders, int receivers, rill_pattern_t pattern,
                           rill_graph_t **graph_p)
{
    rill_graph_t *graph = rill_graph_new();
    assert_non_null(graph);
    int src = rill_graph_add_operator(graph,
                                      &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .parallelism = senders,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 10});
    int map = rill_graph_add_operator(
        graph,
        &(rill_operator_spec_t){.kind = RILL_OP_MAP, .parallelism = receivers, .fn.map = s_map});
    int sink = rill_graph_add_operator(
        graph, &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .parallelism = receivers});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){
                   .from = src, .to = map, .pattern = pattern, .key = rill_key_first_field});
    rill_graph_add_edge(
        graph, &(rill_edge_spec_t){.from = map, .to = sink, .pattern = RILL_PATTERN_FORWARD});
    char error[256] = "";
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!plan)
        fail_msg("plan %d -> %d, pattern %d: %s", senders, receivers, (int)pattern, error);
    *graph_p = graph;
    return plan;
}

//  Checks the index of every edge against a scan of its channels.
static void s_check_index(const rill_plan_t *plan)
{
    for (int id = 0; id < rill_plan_edge_count(plan); id++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, id);
        int senders = rill_plan_operator(plan, edge->from)->parallelism;
        int receivers = rill_plan_operator(plan, edge->to)->parallelism;
        int *seen_from = calloc((size_t)edge->channel_count + 1, sizeof(int));
        int *seen_to = calloc((size_t)edge->channel_count + 1, sizeof(int));
        assert_non_null(seen_from);
        assert_non_null(seen_to);
        for (int s = 0; s < senders; s++) {
            const int *channels;
            int count = rill_plan_channels_from(plan, id, s, &channels);
            for (int c = 0; c < count; c++) {
                const rill_plan_channel_t *ch = rill_plan_channel(plan, channels[c]);
                assert_int_equal(ch->edge, id);
                assert_int_equal(ch->from_index, s);
                if (c > 0)
                    assert_true(channels[c] > channels[c - 1]);
                seen_from[channels[c] - edge->first_channel]++;
            }
        }
        for (int r = 0; r < receivers; r++) {
            const int *channels;
            int count = rill_plan_channels_to(plan, id, r, &channels);
            assert_int_equal(count, rill_plan_channels_into(plan, id, r));
            for (int c = 0; c < count; c++) {
                const rill_plan_channel_t *ch = rill_plan_channel(plan, channels[c]);
                assert_int_equal(ch->edge, id);
                assert_int_equal(ch->to_index, r);
                if (c > 0)
                    assert_true(channels[c] > channels[c - 1]);
                seen_to[channels[c] - edge->first_channel]++;
            }
        }
        for (int c = 0; c < edge->channel_count; c++) {
            assert_int_equal(seen_from[c], 1);
            assert_int_equal(seen_to[c], 1);
        }
        //  A receiver the edge does not have has no channels (the public count is not an
        //  assert: callers pass what they like).
        assert_int_equal(rill_plan_channels_into(plan, id, receivers), 0);
        assert_int_equal(rill_plan_channels_into(plan, id, -1), 0);
        free(seen_from);
        free(seen_to);
    }
}

static void an_edge_the_plan_lacks_has_no_channels_into_any_receiver(void **state)
{
    //  rill_plan_channels_into is public: a wrong edge id gets 0, as a wrong receiver does,
    //  rather than a crash (it read through the NULL edge before the index).
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(2, 2, RILL_PATTERN_HASH, &graph);
    assert_int_equal(rill_plan_channels_into(plan, rill_plan_edge_count(plan), 0), 0);
    assert_int_equal(rill_plan_channels_into(plan, -1, 0), 0);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void each_subtask_finds_exactly_its_own_channels(void **state)
{
    //  The usage: a sender of a hash edge 3 -> 2 sends on one channel to each receiver.
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(3, 2, RILL_PATTERN_HASH, &graph);
    const int *channels;
    assert_int_equal(rill_plan_channels_from(plan, 0, 1, &channels), 2);
    assert_int_equal(rill_plan_channel(plan, channels[0])->to_index, 0);
    assert_int_equal(rill_plan_channel(plan, channels[1])->to_index, 1);
    assert_int_equal(rill_plan_channels_to(plan, 0, 1, &channels), 3);
    s_check_index(plan);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void every_pattern_and_shape_is_indexed(void **state)
{
    const rill_pattern_t patterns[] = {
        RILL_PATTERN_FORWARD, RILL_PATTERN_HASH,    RILL_PATTERN_BROADCAST, RILL_PATTERN_REBALANCE,
        RILL_PATTERN_RESCALE, RILL_PATTERN_SHUFFLE, RILL_PATTERN_GLOBAL};
    const int shapes[][2] = {{1, 1}, {2, 2}, {4, 4}, {1, 3}, {3, 1}, {2, 5}, {5, 2}, {4, 6}};
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            //  Forward needs equal parallelism: the planner refuses the rest.
            if (patterns[p] == RILL_PATTERN_FORWARD && shapes[s][0] != shapes[s][1])
                continue;
            rill_graph_t *graph;
            rill_plan_t *plan = s_plan(shapes[s][0], shapes[s][1], patterns[p], &graph);
            s_check_index(plan);
            rill_plan_destroy(&plan);
            rill_graph_destroy(&graph);
        }
}

static void a_plan_read_back_from_json_has_the_same_index(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(3, 4, RILL_PATTERN_RESCALE, &graph);
    char *json = rill_plan_to_json(plan);
    assert_non_null(json);
    char error[256] = "";
    rill_plan_t *copy = rill_plan_from_json(json, error, sizeof error);
    if (!copy)
        fail_msg("%s", error);
    s_check_index(copy);
    for (int r = 0; r < 4; r++) {
        const int *a, *b;
        int count = rill_plan_channels_to(plan, 0, r, &a);
        assert_int_equal(rill_plan_channels_to(copy, 0, r, &b), count);
        assert_memory_equal(a, b, (size_t)count * sizeof(int));
    }
    free(json);
    rill_plan_destroy(&copy);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_subtask_finds_exactly_its_own_channels),
        cmocka_unit_test(every_pattern_and_shape_is_indexed),
        cmocka_unit_test(a_plan_read_back_from_json_has_the_same_index),
        cmocka_unit_test(an_edge_the_plan_lacks_has_no_channels_into_any_receiver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
