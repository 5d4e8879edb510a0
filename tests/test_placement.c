/*  test_placement.c: subtasks placed on K processes by slots (rill_plan_place) and the
    placement in the plan JSON. For several jobs of mixed parallelism, with and without chains,
    and K = 1..5 and 8: slot i runs on process i % K, forward and chained channels never leave a
    process, every task stays whole, each process holds the slots the rule gives it, each
    channel's transport matches its ends; a plan for one process is the plan as planned. The
    JSON carries the placement and reads it back; plans saved before it read as one process;
    a placement that does not hold together is refused with a message. */
#include "rill_graph_private.h"
#include "rill_plan_private.h"
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int s_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  A job as a table: operators (kind, parallelism) and edges (from, to, pattern).
typedef struct {
    rill_op_kind_t kind;
    int parallelism;
} s_op_t;

typedef struct {
    int from, to;
    rill_pattern_t pattern;
} s_edge_t;

typedef struct {
    const char *name;
    bool chaining;
    int op_count;
    s_op_t ops[6];
    int edge_count;
    s_edge_t edges[6];
} s_job_t;

static const s_job_t s_jobs[] = {
    //  WordCount's shape: one reader, keyed counts chained to their sinks.
    {"wordcount",
     true,
     4,
     {{RILL_OP_SOURCE_GENERATOR, 1},
      {RILL_OP_MAP, 4},
      {RILL_OP_REDUCE, 4},
      {RILL_OP_SINK_DISCARD, 4}},
     3,
     {{0, 1, RILL_PATTERN_REBALANCE}, {1, 2, RILL_PATTERN_HASH}, {2, 3, RILL_PATTERN_FORWARD}}},
    //  Narrowing: a chained source and map at 3, a keyed count at 2, one sink.
    {"narrowing",
     true,
     4,
     {{RILL_OP_SOURCE_GENERATOR, 3},
      {RILL_OP_MAP, 3},
      {RILL_OP_REDUCE, 2},
      {RILL_OP_SINK_DISCARD, 1}},
     3,
     {{0, 1, RILL_PATTERN_FORWARD}, {1, 2, RILL_PATTERN_HASH}, {2, 3, RILL_PATTERN_REBALANCE}}},
    //  Widening with two outputs, no chains: rescale 2 -> 5, forward 5 -> 5, broadcast 5 -> 2.
    {"widening",
     false,
     4,
     {{RILL_OP_SOURCE_GENERATOR, 2},
      {RILL_OP_MAP, 5},
      {RILL_OP_SINK_DISCARD, 5},
      {RILL_OP_SINK_DISCARD, 2}},
     3,
     {{0, 1, RILL_PATTERN_RESCALE}, {1, 2, RILL_PATTERN_FORWARD}, {1, 3, RILL_PATTERN_BROADCAST}}},
    //  A chain of three at 4 into a global sink.
    {"global",
     true,
     4,
     {{RILL_OP_SOURCE_GENERATOR, 4}, {RILL_OP_MAP, 4}, {RILL_OP_MAP, 4}, {RILL_OP_SINK_DISCARD, 1}},
     3,
     {{0, 1, RILL_PATTERN_FORWARD}, {1, 2, RILL_PATTERN_FORWARD}, {2, 3, RILL_PATTERN_GLOBAL}}},
};
#define S_JOB_COUNT (int)(sizeof s_jobs / sizeof s_jobs[0])

static rill_plan_t *s_plan(const s_job_t *job, rill_graph_t **graph_p)
{
    rill_graph_t *graph = *graph_p = rill_graph_new();
    rill_graph_set_chaining_enabled(graph, job->chaining);
    for (int i = 0; i < job->op_count; i++) {
        rill_operator_spec_t spec = {.kind = job->ops[i].kind,
                                     .parallelism = job->ops[i].parallelism,
                                     .count = 10,
                                     .agg = RILL_AGG_COUNT};
        if (spec.kind == RILL_OP_SOURCE_GENERATOR)
            spec.fn.generate = test_generate_sequence;
        else if (spec.kind == RILL_OP_MAP)
            spec.fn.map = s_map;
        rill_graph_add_operator(graph, &spec);
    }
    for (int i = 0; i < job->edge_count; i++)
        rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = job->edges[i].from,
                                                       .to = job->edges[i].to,
                                                       .pattern = job->edges[i].pattern,
                                                       .key = rill_key_first_field});
    char error[256];
    rill_plan_t *plan =
        rill_plan_new(graph, job->name, 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!plan)
        fail_msg("%s: %s", job->name, error);
    return plan;
}

static void s_place(rill_plan_t *plan, int processes)
{
    char error[256];
    if (rill_plan_place(plan, processes, error, sizeof error))
        fail_msg("place on %d: %s", processes, error);
}

static void placing_on_three_processes_keeps_each_slot_in_one_process(void **state)
{
    //  source(3) -> map(3), chained, -hash-> count(2) -rebalance-> sink(1), on 3 processes:
    //  slot i (subtask i of every operator) on process i, so the sink (slot 0) runs on rank 0.
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&s_jobs[1], &graph);
    assert_int_equal(rill_plan_process_count(plan), 1);
    s_place(plan, 3);
    assert_int_equal(rill_plan_process_count(plan), 3);
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, id);
        assert_int_equal(subtask->process, subtask->index);
    }
    const rill_plan_process_t *first = rill_plan_process(plan, 0);
    assert_int_equal(first->rank, 0);
    assert_int_equal(first->slots, 1);
    assert_int_equal(first->subtasks, 4); //  source, map, count and sink, each subtask 0
    assert_int_equal(first->tasks, 3);    //  source and map are one task
    assert_null(first->host);
    assert_int_equal(first->pid, 0);
    assert_int_equal(rill_plan_process(plan, 2)->subtasks, 2); //  source and map 2: no count 2
    assert_null(rill_plan_process(plan, 3));
    assert_null(rill_plan_process(plan, -1));
    //  The hash edge's channels cross processes except count i <- map i; the sink's only
    //  channel that stays local is the one from count 0.
    const rill_plan_edge_t *hash = rill_plan_edge(plan, 1);
    int tcp = 0;
    for (int c = hash->first_channel; c < hash->first_channel + hash->channel_count; c++) {
        const rill_plan_channel_t *channel = rill_plan_channel(plan, c);
        assert_int_equal(channel->transport, channel->from_index == channel->to_index
                                                 ? RILL_TRANSPORT_INPROC
                                                 : RILL_TRANSPORT_TCP);
        tcp += channel->transport == RILL_TRANSPORT_TCP;
    }
    assert_int_equal(tcp, 4); //  3 x 2 channels, 2 of them local
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Checks the rule and its promises on a plan placed on k processes.
static void s_check_placement(const s_job_t *job, const rill_plan_t *plan, int k)
{
    int slots = 0;
    for (int op = 0; op < rill_plan_operator_count(plan); op++)
        if (rill_plan_operator(plan, op)->parallelism > slots)
            slots = rill_plan_operator(plan, op)->parallelism;
    assert_int_equal(rill_plan_process_count(plan), k);
    int expected_subtasks[8] = {0}, expected_tasks[8] = {0};
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, id);
        assert_int_equal(subtask->process, subtask->index % k);
        //  A task (a chain in one thread) never spans processes.
        assert_int_equal(subtask->process, rill_plan_subtask(plan, subtask->task)->process);
        expected_subtasks[subtask->process]++;
        expected_tasks[subtask->process] += subtask->task == id;
    }
    int total_slots = 0, fewest = slots, most = 0;
    for (int r = 0; r < k; r++) {
        const rill_plan_process_t *process = rill_plan_process(plan, r);
        assert_int_equal(process->rank, r);
        int expected = r < slots ? (slots - r + k - 1) / k : 0;
        if (process->slots != expected)
            fail_msg("%s on %d: process %d holds %d slots, the rule says %d", job->name, k, r,
                     process->slots, expected);
        assert_int_equal(process->subtasks, expected_subtasks[r]);
        assert_int_equal(process->tasks, expected_tasks[r]);
        total_slots += process->slots;
        fewest = process->slots < fewest ? process->slots : fewest;
        most = process->slots > most ? process->slots : most;
    }
    //  Every slot placed once, and as evenly as they go: one more on the lower ranks at most.
    assert_int_equal(total_slots, slots);
    assert_true(most - fewest <= 1);
    int tcp = 0;
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        const rill_plan_channel_t *channel = rill_plan_channel(plan, c);
        const rill_plan_edge_t *edge = rill_plan_edge(plan, channel->edge);
        bool local = rill_plan_subtask(plan, channel->from_subtask)->process ==
                     rill_plan_subtask(plan, channel->to_subtask)->process;
        assert_int_equal(channel->transport, local ? RILL_TRANSPORT_INPROC : RILL_TRANSPORT_TCP);
        if (edge->pattern == RILL_PATTERN_FORWARD || edge->chained)
            assert_int_equal(channel->transport, RILL_TRANSPORT_INPROC);
        tcp += channel->transport == RILL_TRANSPORT_TCP;
    }
    //  Every job has a redistributing edge between operators of parallelism 2 or more, so more
    //  than one process means some channel crosses: the checks above did look at tcp channels.
    if (k > 1)
        assert_true(tcp > 0);
    else
        assert_int_equal(tcp, 0);
}

static void every_job_on_one_to_eight_processes_follows_the_slot_rule(void **state)
{
    const int counts[] = {1, 2, 3, 4, 5, 8};
    for (int j = 0; j < S_JOB_COUNT; j++)
        for (size_t n = 0; n < sizeof counts / sizeof counts[0]; n++) {
            rill_graph_t *graph;
            rill_plan_t *plan = s_plan(&s_jobs[j], &graph);
            s_place(plan, counts[n]);
            s_check_placement(&s_jobs[j], plan, counts[n]);
            //  The JSON carries the placement: read back, it is the same, and writes the same.
            char *text = rill_plan_to_json(plan), error[256];
            rill_plan_t *read = rill_plan_from_json(text, error, sizeof error);
            if (!read)
                fail_msg("%s on %d: %s", s_jobs[j].name, counts[n], error);
            s_check_placement(&s_jobs[j], read, counts[n]);
            char *again = rill_plan_to_json(read);
            assert_string_equal(text, again);
            free(again);
            free(text);
            rill_plan_destroy(&read);
            rill_plan_destroy(&plan);
            rill_graph_destroy(&graph);
        }
}

static void a_plan_for_one_process_is_the_plan_as_planned(void **state)
{
    for (int j = 0; j < S_JOB_COUNT; j++) {
        rill_graph_t *graph;
        rill_plan_t *plan = s_plan(&s_jobs[j], &graph);
        char *planned = rill_plan_to_json(plan);
        assert_int_equal(rill_plan_process_count(plan), 1);
        for (int id = 0; id < rill_plan_subtask_count(plan); id++)
            assert_int_equal(rill_plan_subtask(plan, id)->process, 0);
        for (int c = 0; c < rill_plan_channel_count(plan); c++) {
            assert_int_equal(rill_plan_channel(plan, c)->transport, RILL_TRANSPORT_INPROC);
            const char *endpoint = rill_plan_channel(plan, c)->endpoint;
            assert_true(strncmp(endpoint, "inproc://", 9) == 0 || strcmp(endpoint, "chained") == 0);
        }
        const rill_plan_process_t *only = rill_plan_process(plan, 0);
        assert_int_equal(only->subtasks, rill_plan_subtask_count(plan));
        assert_int_equal(only->tasks, rill_plan_task_count(plan));
        //  Placed on several processes and back on one: the same plan, to the byte.
        s_place(plan, 3);
        s_place(plan, 1);
        char *again = rill_plan_to_json(plan);
        assert_string_equal(planned, again);
        free(again);
        free(planned);
        rill_plan_destroy(&plan);
        rill_graph_destroy(&graph);
    }
}

static void a_process_count_out_of_range_is_refused(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&s_jobs[0], &graph);
    char error[256] = "";
    assert_int_equal(rill_plan_place(plan, 0, error, sizeof error), -1);
    assert_non_null(strstr(error, "0 processes is out of range"));
    assert_int_equal(rill_plan_place(plan, -2, error, sizeof error), -1);
    assert_int_equal(rill_plan_place(plan, RILL_MAX_PROCESSES + 1, error, sizeof error), -1);
    //  A refused placement leaves the plan as it was.
    assert_int_equal(rill_plan_process_count(plan), 1);
    //  More processes than slots: the ranks beyond hold nothing.
    s_place(plan, RILL_MAX_PROCESSES);
    assert_int_equal(rill_plan_process(plan, 4)->slots, 0);
    assert_int_equal(rill_plan_process(plan, RILL_MAX_PROCESSES - 1)->subtasks, 0);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void hosts_and_pids_round_trip_and_a_new_placement_forgets_them(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&s_jobs[0], &graph);
    s_place(plan, 2);
    assert_int_equal(rill_plan_set_process(plan, 0, "node-a", 4242), 0);
    assert_int_equal(rill_plan_set_process(plan, 1, "node-b", 77), 0);
    assert_int_equal(rill_plan_set_process(plan, 1, "node-c", 78), 0); //  replaces
    assert_int_equal(rill_plan_set_process(plan, 2, "node-d", 1), -1);
    assert_int_equal(rill_plan_set_process(plan, 0, "node-a", -1), -1);
    char *text = rill_plan_to_json(plan), error[256];
    rill_plan_t *read = rill_plan_from_json(text, error, sizeof error);
    if (!read)
        fail_msg("%s", error);
    assert_string_equal(rill_plan_process(read, 0)->host, "node-a");
    assert_int_equal(rill_plan_process(read, 0)->pid, 4242);
    assert_string_equal(rill_plan_process(read, 1)->host, "node-c");
    assert_int_equal(rill_plan_process(read, 1)->pid, 78);
    free(text);
    rill_plan_destroy(&read);
    s_place(plan, 2);
    assert_null(rill_plan_process(plan, 0)->host);
    assert_int_equal(rill_plan_process(plan, 1)->pid, 0);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  The plan's JSON as a jansson tree, to take apart.
static json_t *s_json(const rill_plan_t *plan)
{
    char *text = rill_plan_to_json(plan);
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(root);
    return root;
}

static void a_plan_saved_before_placement_reads_as_one_process(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&s_jobs[1], &graph);
    s_place(plan, 3);
    //  What an older rill wrote: no "processes", no "process", no "transport".
    json_t *root = s_json(plan);
    json_object_del(root, "processes");
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(root, "subtasks"), i, item) json_object_del(item, "process");
    json_array_foreach(json_object_get(root, "channels"), i, item)
        json_object_del(item, "transport");
    char *old = json_dumps(root, 0), error[256];
    rill_plan_t *read = rill_plan_from_json(old, error, sizeof error);
    if (!read)
        fail_msg("%s", error);
    assert_int_equal(rill_plan_process_count(read), 1);
    s_check_placement(&s_jobs[1], read, 1);
    free(old);
    json_decref(root);
    rill_plan_destroy(&read);
    //  The subtasks' processes without "processes": ranks must then be 0.
    root = s_json(plan);
    json_object_del(root, "processes");
    old = json_dumps(root, 0);
    assert_null(rill_plan_from_json(old, error, sizeof error));
    assert_non_null(strstr(error, "'process' = 1 is out of range (0..0)"));
    free(old);
    json_decref(root);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Applies one change to the JSON of plan and expects the reader to refuse it, saying what.
typedef void(s_break_fn)(json_t *root);

static void s_refused(const rill_plan_t *plan, s_break_fn *change, const char *expected)
{
    json_t *root = s_json(plan);
    change(root);
    char *text = json_dumps(root, 0), error[256] = "";
    rill_plan_t *read = rill_plan_from_json(text, error, sizeof error);
    if (read)
        fail_msg("accepted; expected an error with '%s'", expected);
    if (!strstr(error, expected))
        fail_msg("error '%s' does not say '%s'", error, expected);
    free(text);
    json_decref(root);
}

static json_t *s_subtask(json_t *root, size_t id)
{
    return json_array_get(json_object_get(root, "subtasks"), id);
}

static json_t *s_channel(json_t *root, size_t id)
{
    return json_array_get(json_object_get(root, "channels"), id);
}

static json_t *s_process(json_t *root, size_t rank)
{
    return json_array_get(json_object_get(root, "processes"), rank);
}

//  The breaks below are for the "narrowing" job on 3 processes: subtasks 0-2 the sources,
//  3-5 the maps (chained to them), 6-7 the counts, 8 the sink; channels 0-2 the chained
//  source -> map, 3-8 map -> count (hash; 3 is map 0 -> count 0, 4 map 0 -> count 1), 9-10
//  count -> sink.
static void s_rank_out_of_range(json_t *root)
{
    json_object_set_new(s_subtask(root, 6), "process", json_integer(3));
}
static void s_rank_not_a_number(json_t *root)
{
    json_object_set_new(s_subtask(root, 6), "process", json_string("1"));
}
static void s_rank_missing_on_one(json_t *root)
{
    json_object_del(s_subtask(root, 7), "process");
}
static void s_chain_split(json_t *root)
{
    //  map 1 away from its source 1 (one thread) and the channel between them marked tcp.
    json_object_set_new(s_subtask(root, 4), "process", json_integer(2));
}
static void s_tcp_inside_a_process(json_t *root)
{
    json_object_set_new(s_channel(root, 3), "transport", json_string("tcp"));
}
static void s_inproc_across(json_t *root)
{
    json_object_set_new(s_channel(root, 4), "transport", json_string("inproc"));
}
static void s_unknown_transport(json_t *root)
{
    json_object_set_new(s_channel(root, 4), "transport", json_string("udp"));
}
static void s_transport_not_a_string(json_t *root)
{
    json_object_set_new(s_channel(root, 4), "transport", json_integer(1));
}
static void s_processes_not_an_array(json_t *root)
{
    json_object_set_new(root, "processes", json_integer(3));
}
static void s_no_processes(json_t *root)
{
    json_object_set_new(root, "processes", json_array());
}
static void s_process_not_an_object(json_t *root)
{
    json_array_set_new(json_object_get(root, "processes"), 1, json_integer(1));
}
static void s_rank_out_of_order(json_t *root)
{
    json_object_set_new(s_process(root, 1), "rank", json_integer(2));
}
static void s_wrong_slot_count(json_t *root)
{
    json_object_set_new(s_process(root, 2), "slots", json_integer(2));
}
static void s_wrong_subtask_count(json_t *root)
{
    json_object_set_new(s_process(root, 0), "subtasks", json_integer(9));
}
static void s_host_not_a_string(json_t *root)
{
    json_object_set_new(s_process(root, 0), "host", json_integer(7));
}
static void s_pid_zero(json_t *root)
{
    json_object_set_new(s_process(root, 0), "pid", json_integer(0));
}
static void s_pid_not_a_number(json_t *root)
{
    json_object_set_new(s_process(root, 0), "pid", json_string("12"));
}

static void a_placement_that_does_not_hold_together_is_refused(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&s_jobs[1], &graph);
    s_place(plan, 3);
    //  The layout the breaks assume.
    assert_int_equal(rill_plan_subtask(plan, 6)->op, 2);
    assert_int_equal(rill_plan_subtask(plan, 4)->task, 1);
    assert_int_equal(rill_plan_channel(plan, 3)->edge, 1);
    assert_int_equal(rill_plan_channel(plan, 3)->from_index, 0);
    assert_int_equal(rill_plan_channel(plan, 3)->to_index, 0);
    assert_int_equal(rill_plan_channel(plan, 4)->to_index, 1);
    s_refused(plan, s_rank_out_of_range, "subtask 6: 'process' = 3 is out of range (0..2)");
    s_refused(plan, s_rank_not_a_number, "subtask 6: 'process' is missing or not an integer");
    s_refused(plan, s_rank_missing_on_one,
              "subtask 7 has no 'process' but other subtasks have one");
    s_refused(plan, s_chain_split,
              "subtask 4: 'process' is 2 but its task (subtask 1: a chain, one thread) runs on "
              "process 1");
    s_refused(plan, s_tcp_inside_a_process,
              "channel 3: 'transport' is 'tcp' but its ends run on processes 0 and 0");
    s_refused(plan, s_inproc_across,
              "channel 4: 'transport' is 'inproc' but its ends run on processes 0 and 1");
    s_refused(plan, s_unknown_transport, "channel 4: 'transport' is not \"inproc\" or \"tcp\"");
    s_refused(plan, s_transport_not_a_string, "channel 4: 'transport' is not");
    s_refused(plan, s_processes_not_an_array, "'processes' is not an array");
    s_refused(plan, s_no_processes, "'processes' has 0 entries (1..");
    s_refused(plan, s_process_not_an_object, "process 1 is not an object");
    s_refused(plan, s_rank_out_of_order, "process 1: 'rank' = 2 is out of range (1..1)");
    s_refused(plan, s_wrong_slot_count, "process 2: 'slots' is not 1");
    s_refused(plan, s_wrong_subtask_count, "process 0: 'subtasks' is not 4");
    s_refused(plan, s_host_not_a_string, "process 0: 'host' is not a string");
    s_refused(plan, s_pid_zero, "process 0: 'pid' = 0 is out of range");
    s_refused(plan, s_pid_not_a_number, "process 0: 'pid' is missing or not an integer");
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(placing_on_three_processes_keeps_each_slot_in_one_process),
        cmocka_unit_test(every_job_on_one_to_eight_processes_follows_the_slot_rule),
        cmocka_unit_test(a_plan_for_one_process_is_the_plan_as_planned),
        cmocka_unit_test(a_process_count_out_of_range_is_refused),
        cmocka_unit_test(hosts_and_pids_round_trip_and_a_new_placement_forgets_them),
        cmocka_unit_test(a_plan_saved_before_placement_reads_as_one_process),
        cmocka_unit_test(a_placement_that_does_not_hold_together_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
