/*  test_plan.c: the planner. Invalid graphs fail with a message naming the operator; valid
    ones expand into the expected subtasks, channels and sockets per pattern. */
#include "testutil.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include <string.h>

static int s_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  source(p_src) --pattern--> map(p_map) --forward--> discard(p_map), chaining on.
static rill_graph_t *s_chain(int p_src, int p_map, rill_pattern_t pattern)
{
    return test_chain_graph(p_src, p_map, pattern, 10);
}

static void s_expect_error(rill_graph_t *graph, const char *needle, const char *operator)
{
    char error[512] = "";
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_null(plan);
    if (!strstr(error, needle) || !strstr(error, operator))
        fail_msg("error '%s' lacks '%s' or operator '%s'", error, needle, operator);
    rill_graph_destroy(&graph);
}

static void a_hash_edge_joins_every_sender_to_every_receiver(void **state)
{
    rill_graph_t *graph = s_chain(3, 2, RILL_PATTERN_HASH);
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_non_null(plan);
    assert_int_equal(rill_plan_subtask_count(plan), 3 + 2 + 2);
    const rill_plan_edge_t *edge = rill_plan_edge(plan, 0);
    assert_int_equal(edge->channel_count, 6);
    assert_string_equal(edge->sender_socket, "ROUTER");
    assert_string_equal(edge->receiver_socket, "DEALER");
    assert_true(edge->keyed);
    assert_int_equal(rill_plan_channels_into(plan, 0, 1), 3);
    //  Every channel into one receiver shares that receiver's endpoint.
    const rill_plan_channel_t *a = rill_plan_channel(plan, edge->first_channel + 1);
    const rill_plan_channel_t *b = rill_plan_channel(plan, edge->first_channel + 3);
    assert_int_equal(a->to_index, b->to_index);
    assert_string_equal(a->endpoint, b->endpoint);
    assert_int_equal(rill_plan_mode(plan), RILL_MODE_BATCH);
    rill_plan_destroy(&plan);
    rill_plan_destroy(&plan); //  a second destroy is harmless
    rill_graph_destroy(&graph);
}

static void forward_keeps_subtask_index(void **state)
{
    rill_graph_t *graph = s_chain(4, 4, RILL_PATTERN_FORWARD);
    //  Unchained, a forward channel is a PAIR pipe of its own (chained: see below).
    rill_graph_set_chaining_enabled(graph, false);
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    const rill_plan_edge_t *edge = rill_plan_edge(plan, 0);
    assert_int_equal(edge->channel_count, 4);
    assert_string_equal(edge->sender_socket, "PAIR");
    for (int c = 0; c < 4; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, edge->first_channel + c);
        assert_int_equal(ch->from_index, ch->to_index);
    }
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Flink's chaining rule (StreamingJobGraphGenerator.isChainable): forward, same parallelism,
//  the receiver's only input, strategies allowing; rill's chains are linear, so also the
//  sender's only output.
static void forward_edges_of_equal_parallelism_are_chained(void **state)
{
    rill_graph_t *graph = s_chain(4, 4, RILL_PATTERN_FORWARD);
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_non_null(plan);
    for (int e = 0; e < 2; e++) {
        assert_true(rill_plan_edge(plan, e)->chained);
        assert_string_equal(rill_plan_edge(plan, e)->sender_socket, "CHAIN");
    }
    //  One chain src -> mapper -> out: four tasks, each run by the source's subtask.
    assert_int_equal(rill_plan_task_count(plan), 4);
    assert_int_equal(rill_plan_operator(plan, 2)->chain, 0);
    assert_int_equal(rill_plan_operator(plan, 0)->chain_next, 1);
    assert_int_equal(rill_plan_operator(plan, 1)->chain_next, 2);
    assert_int_equal(rill_plan_operator(plan, 2)->chain_next, -1);
    for (int s = 0; s < rill_plan_subtask_count(plan); s++)
        assert_int_equal(rill_plan_subtask(plan, s)->task, rill_plan_subtask(plan, s)->index);
    rill_plan_needs_t needs;
    rill_plan_needs(plan, 1024, &needs);
    assert_int_equal(needs.threads, 4);
    assert_int_equal(needs.sockets, 8); //  the actor pipes only
    assert_int_equal(needs.batch_bytes, 0);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);

    //  A hash edge breaks the chain; the forward edge after it still chains.
    graph = s_chain(3, 2, RILL_PATTERN_HASH);
    plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_false(rill_plan_edge(plan, 0)->chained);
    assert_true(rill_plan_edge(plan, 1)->chained);
    assert_int_equal(rill_plan_task_count(plan), 3 + 2);
    assert_int_equal(rill_plan_subtask(plan, 3 + 2 + 1)->task, 3 + 1);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void chaining_strategies_and_the_job_switch_break_chains(void **state)
{
    rill_graph_t *graph = s_chain(2, 2, RILL_PATTERN_FORWARD);
    rill_graph_set_chaining(graph, 1, RILL_CHAIN_HEAD); //  mapper starts a new chain
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_false(rill_plan_edge(plan, 0)->chained);
    assert_true(rill_plan_edge(plan, 1)->chained);
    assert_int_equal(rill_plan_operator(plan, 2)->chain, 1);
    rill_plan_destroy(&plan);
    rill_graph_set_chaining(graph, 1, RILL_CHAIN_NEVER); //  mapper chains to neither side
    plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_false(rill_plan_edge(plan, 0)->chained);
    assert_false(rill_plan_edge(plan, 1)->chained);
    assert_int_equal(rill_plan_task_count(plan), 6);
    rill_plan_destroy(&plan);
    rill_graph_set_chaining(graph, 1, RILL_CHAIN_DEFAULT);
    rill_graph_set_chaining_enabled(graph, false);
    plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_false(rill_plan_edge(plan, 0)->chained || rill_plan_edge(plan, 1)->chained);
    assert_string_equal(rill_plan_edge(plan, 0)->sender_socket, "PAIR");
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);

    //  Two outputs from one operator: neither is chained (chains are linear).
    graph = s_chain(2, 2, RILL_PATTERN_FORWARD);
    int extra = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SINK_DISCARD, .name = "extra", .parallelism = 2});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = 1, .to = extra,
                                                   .pattern = RILL_PATTERN_FORWARD});
    plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_true(rill_plan_edge(plan, 0)->chained);
    assert_false(rill_plan_edge(plan, 1)->chained || rill_plan_edge(plan, 2)->chained);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void the_default_pattern_is_forward_or_rebalance(void **state)
{
    rill_graph_t *same = s_chain(2, 2, RILL_PATTERN_DEFAULT);
    rill_graph_t *different = s_chain(3, 2, RILL_PATTERN_DEFAULT);
    rill_plan_t *a = rill_plan_new(same, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    rill_plan_t *b = rill_plan_new(different, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_int_equal(rill_plan_edge(a, 0)->pattern, RILL_PATTERN_FORWARD);
    assert_int_equal(rill_plan_edge(b, 0)->pattern, RILL_PATTERN_REBALANCE);
    rill_plan_destroy(&a);
    rill_plan_destroy(&b);
    rill_graph_destroy(&same);
    rill_graph_destroy(&different);
}

static void global_and_rescale_make_only_the_channels_they_use(void **state)
{
    rill_graph_t *graph = s_chain(3, 2, RILL_PATTERN_GLOBAL);
    rill_plan_t *plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    assert_int_equal(rill_plan_edge(plan, 0)->channel_count, 3);
    assert_int_equal(rill_plan_channels_into(plan, 0, 0), 3);
    assert_int_equal(rill_plan_channels_into(plan, 0, 1), 0);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
    //  2 senders over 4 receivers: each sender feeds its own pair of receivers.
    graph = s_chain(2, 4, RILL_PATTERN_RESCALE);
    plan = rill_plan_new(graph, "t", 1, RILL_MODE_AUTOMATIC, NULL, 0);
    const rill_plan_edge_t *edge = rill_plan_edge(plan, 0);
    assert_int_equal(edge->channel_count, 4);
    for (int c = 0; c < 4; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, edge->first_channel + c);
        assert_int_equal(ch->from_index, ch->to_index / 2);
    }
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void forward_between_different_parallelism_is_an_error(void **state)
{
    s_expect_error(s_chain(3, 2, RILL_PATTERN_FORWARD), "same parallelism", "mapper");
}

static void parallelism_out_of_range_is_an_error(void **state)
{
    s_expect_error(s_chain(-1, 2, RILL_PATTERN_REBALANCE), "out of range", "src");
    s_expect_error(s_chain(2, RILL_MAX_PARALLELISM + 1, RILL_PATTERN_REBALANCE), "out of range",
                   "mapper");
}

static void a_stream_with_no_sink_is_an_error(void **state)
{
    rill_graph_t *graph = rill_graph_new();
    int src = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SOURCE_GENERATOR, .name = "lonely", .fn.generate = test_generate_sequence,
        .count = 1});
    int map = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_MAP, .name = "dangling", .fn.map = s_map});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = src, .to = map});
    s_expect_error(graph, "no sink", "dangling");
}

static void a_cycle_is_an_error(void **state)
{
    rill_graph_t *graph = s_chain(1, 1, RILL_PATTERN_FORWARD);
    //  mapper -> a second map -> back into mapper.
    int loop = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_MAP, .name = "loop", .fn.map = s_map});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = 1, .to = loop});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = loop, .to = 1});
    s_expect_error(graph, "cycle", "");
}

//  A plain stream does not compile as a keyed operation's input (test_keyed_type); a keyed
//  stream made by hand around one gets as far as the planner, which refuses it.
static void a_keyed_operation_on_an_unkeyed_stream_is_an_error(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_env_from_generator(env, test_generate_sequence, NULL, 5);
    rill_keyed_stream_t forged = {source};
    rill_stream_t *summed = rill_stream_name(rill_stream_sum(forged), "totals");
    rill_stream_discard(summed);
    assert_null(rill_env_plan(env));
    assert_non_null(strstr(rill_env_error(env), "keyed"));
    assert_non_null(strstr(rill_env_error(env), "totals"));
    assert_int_equal(rill_env_execute(env), -1);
    rill_env_destroy(&env);
}

static void an_operator_with_no_input_is_an_error(void **state)
{
    rill_graph_t *graph = s_chain(1, 1, RILL_PATTERN_FORWARD);
    rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SINK_DISCARD, .name = "orphan"});
    s_expect_error(graph, "no input", "orphan");
}

static void an_empty_graph_is_an_error(void **state)
{
    s_expect_error(rill_graph_new(), "no operators", "");
}

static void batch_mode_with_an_unbounded_source_is_an_error(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_env_from_generator(env, test_generate_sequence, NULL,
                                                    RILL_UNBOUNDED);
    rill_stream_discard(rill_stream_name(source, "endless"));
    rill_env_set_mode(env, RILL_MODE_BATCH);
    assert_null(rill_env_plan(env));
    assert_non_null(strstr(rill_env_error(env), "endless"));
    rill_env_destroy(&env);
    env = rill_env_new();
    source = rill_env_from_generator(env, test_generate_sequence, NULL, RILL_UNBOUNDED);
    rill_stream_discard(source);
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    assert_int_equal(rill_plan_mode(plan), RILL_MODE_STREAMING);
    rill_env_destroy(&env);
}

static void duplicate_names_are_made_unique(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *a = rill_env_from_generator(env, test_generate_sequence, NULL, 1);
    rill_stream_t *b = rill_stream_map(rill_stream_map(a, s_map, NULL), s_map, NULL);
    rill_stream_discard(b);
    const rill_plan_t *plan = rill_env_plan(env);
    assert_string_equal(rill_plan_operator(plan, 1)->name, "map()");
    assert_string_equal(rill_plan_operator(plan, 2)->name, "map() #2");
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hash_edge_joins_every_sender_to_every_receiver),
        cmocka_unit_test(forward_keeps_subtask_index),
        cmocka_unit_test(forward_edges_of_equal_parallelism_are_chained),
        cmocka_unit_test(chaining_strategies_and_the_job_switch_break_chains),
        cmocka_unit_test(the_default_pattern_is_forward_or_rebalance),
        cmocka_unit_test(global_and_rescale_make_only_the_channels_they_use),
        cmocka_unit_test(forward_between_different_parallelism_is_an_error),
        cmocka_unit_test(parallelism_out_of_range_is_an_error),
        cmocka_unit_test(a_stream_with_no_sink_is_an_error),
        cmocka_unit_test(a_cycle_is_an_error),
        cmocka_unit_test(a_keyed_operation_on_an_unkeyed_stream_is_an_error),
        cmocka_unit_test(an_operator_with_no_input_is_an_error),
        cmocka_unit_test(an_empty_graph_is_an_error),
        cmocka_unit_test(batch_mode_with_an_unbounded_source_is_an_error),
        cmocka_unit_test(duplicate_names_are_made_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
