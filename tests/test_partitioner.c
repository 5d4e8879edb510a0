/*  test_partitioner.c: the channel selector (rill_partitioner, Flink's ChannelSelector), one
    promise per exchange pattern: forward keeps the index, hash sends a key to one receiver
    through its key group (Flink's KeyGroupRangeAssignment), rebalance goes round robin,
    rescale stays in its local group, broadcast says "all", global says 0, shuffle stays in
    range, custom is checked. */
#include "rill_graph_private.h"
#include "rill_keyed_table.h"
#include "rill_partitioner.h"
#include "testutil.h"

#include <string.h>

static rill_record_t s_record(const char *text)
{
    return (rill_record_t){text, strlen(text), RILL_NO_TIMESTAMP};
}

static int s_select(rill_partitioner_t *partitioner, const char *text)
{
    rill_record_t record = s_record(text);
    const char *error = NULL;
    rill_key_hint_t key;
    int target = rill_partitioner_select(partitioner, &record, &key, &error);
    //  Only a hash edge hashes a key; the others carry none.
    assert_true(partitioner->pattern == RILL_PATTERN_HASH ? key.hash != 0 : key.hash == 0);
    if (target == -1)
        fail_msg("select failed: %s", error ? error : "(no message)");
    return target;
}

static void forward_keeps_the_senders_index(void **state)
{
    rill_edge_spec_t edge = {0};
    rill_partitioner_t partitioner;
    for (int sender = 0; sender < 4; sender++) {
        rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_FORWARD, sender, 4, sender,
                              sender + 1);
        for (int i = 0; i < 3; i++)
            assert_int_equal(s_select(&partitioner, "x"), sender);
    }
}

static void hash_sends_every_record_of_a_key_to_its_key_groups_receiver(void **state)
{
    rill_edge_spec_t edge = {.key = rill_key_first_field};
    const char *keys[] = {"apple", "pear", "fig", "kiwi", "lime", "", "a much longer key, past 16"};
    for (int receivers = 1; receivers <= 7; receivers++) {
        for (int sender = 0; sender < 3; sender++) {
            rill_partitioner_t partitioner;
            rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_HASH, sender, receivers, 0,
                                  receivers);
            for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
                char text[64];
                snprintf(text, sizeof text, "%s\t%d", keys[k], sender);
                int group = rill_key_group(keys[k], strlen(keys[k]));
                assert_true(group >= 0 && group < RILL_MAX_PARALLELISM);
                //  Same key, any sender, any value: the same receiver, the key group's owner.
                assert_int_equal(s_select(&partitioner, text),
                                 rill_key_group_receiver(group, receivers));
            }
        }
    }
}

static void key_groups_map_to_contiguous_balanced_receiver_ranges(void **state)
{
    //  Flink's computeOperatorIndexForKeyGroup: group * parallelism / maxParallelism.
    for (int receivers = 1; receivers <= RILL_MAX_PARALLELISM; receivers++) {
        int groups_of[RILL_MAX_PARALLELISM] = {0};
        int previous = 0;
        for (int group = 0; group < RILL_MAX_PARALLELISM; group++) {
            int receiver = rill_key_group_receiver(group, receivers);
            assert_int_equal(receiver, group * receivers / RILL_MAX_PARALLELISM);
            assert_true(receiver >= previous && receiver <= previous + 1); //  contiguous
            previous = receiver;
            groups_of[receiver]++;
        }
        assert_int_equal(previous, receivers - 1);
        for (int r = 0; r < receivers; r++) {
            assert_true(groups_of[r] >= RILL_MAX_PARALLELISM / receivers);
            assert_true(groups_of[r] <= (RILL_MAX_PARALLELISM + receivers - 1) / receivers);
        }
    }
}

static void many_keys_spread_over_every_receiver(void **state)
{
    rill_edge_spec_t edge = {.key = rill_key_first_field};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_HASH, 0, 4, 0, 4);
    int seen[4] = {0};
    for (int i = 0; i < 4000; i++) {
        char text[32];
        snprintf(text, sizeof text, "key-%d\tvalue", i);
        seen[s_select(&partitioner, text)]++;
    }
    //  XXH3 over 4000 distinct keys: each receiver gets a fair share (25% +- 5%).
    for (int r = 0; r < 4; r++)
        assert_true(seen[r] > 800 && seen[r] < 1200);
}

static int s_failing_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    return -1;
}

static void a_failing_key_extractor_fails_the_selection_with_a_message(void **state)
{
    rill_edge_spec_t edge = {.key = s_failing_key};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_HASH, 0, 2, 0, 2);
    rill_record_t record = s_record("k\t1");
    rill_key_hint_t key;
    const char *error = NULL;
    assert_int_equal(rill_partitioner_select(&partitioner, &record, &key, &error), -1);
    assert_string_equal(error, "key extractor failed");
}

static void rebalance_goes_round_robin_from_a_start_that_differs_per_sender(void **state)
{
    rill_edge_spec_t edge = {0};
    for (int sender = 0; sender < 5; sender++) {
        rill_partitioner_t partitioner;
        rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_REBALANCE, sender, 3, 0, 3);
        int first = s_select(&partitioner, "x");
        assert_int_equal(first, sender % 3);
        for (int i = 1; i < 10; i++)
            assert_int_equal(s_select(&partitioner, "x"), (first + i) % 3);
    }
}

//  The receiver range [lo, hi) that sender reaches on a planned edge.
static void s_planned_range(const rill_plan_t *plan, int sender, int *lo, int *hi)
{
    const rill_plan_edge_t *edge = rill_plan_edge(plan, 0);
    *lo = RILL_MAX_PARALLELISM;
    *hi = -1;
    for (int c = 0; c < edge->channel_count; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, edge->first_channel + c);
        if (ch->from_index != sender)
            continue;
        *lo = ch->to_index < *lo ? ch->to_index : *lo;
        *hi = ch->to_index + 1 > *hi ? ch->to_index + 1 : *hi;
    }
}

static void rescale_goes_round_robin_within_each_senders_local_group(void **state)
{
    //  Flink's RescalePartitioner: 2 -> 4 gives senders {0,1} and {2,3}; 4 -> 2 gives
    //  receivers 0 <- {0,1} and 1 <- {2,3}; 3 -> 6 gives pairs.
    struct {
        int senders, receivers;
        int lo[4], hi[4];
    } cases[] = {
        {2, 4, {0, 2}, {2, 4}},
        {4, 2, {0, 0, 1, 1}, {1, 1, 2, 2}},
        {3, 6, {0, 2, 4}, {2, 4, 6}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        test_pipe_t *pipe =
            test_pipe_new(cases[c].senders, cases[c].receivers, RILL_PATTERN_RESCALE, NULL, NULL);
        for (int sender = 0; sender < cases[c].senders; sender++) {
            int lo, hi;
            s_planned_range(pipe->plan, sender, &lo, &hi);
            assert_int_equal(lo, cases[c].lo[sender]);
            assert_int_equal(hi, cases[c].hi[sender]);
            rill_partitioner_t partitioner;
            rill_partitioner_init(&partitioner, rill_graph_edge(pipe->graph, 0),
                                  RILL_PATTERN_RESCALE, sender, cases[c].receivers, lo, hi);
            int seen[8] = {0};
            for (int i = 0; i < 4 * (hi - lo); i++) {
                int target = s_select(&partitioner, "x");
                assert_true(target >= lo && target < hi);
                seen[target]++;
            }
            for (int r = lo; r < hi; r++)
                assert_int_equal(seen[r], 4); //  in turn: each equally often
        }
        test_pipe_destroy(&pipe);
    }
}

static void broadcast_selects_every_receiver(void **state)
{
    rill_edge_spec_t edge = {0};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_BROADCAST, 1, 3, 0, 3);
    assert_int_equal(s_select(&partitioner, "x"), RILL_PARTITION_ALL);
    assert_int_equal(s_select(&partitioner, "y"), RILL_PARTITION_ALL);
}

static void global_sends_everything_to_receiver_0(void **state)
{
    rill_edge_spec_t edge = {0};
    for (int sender = 0; sender < 3; sender++) {
        rill_partitioner_t partitioner;
        rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_GLOBAL, sender, 4, 0, 1);
        for (int i = 0; i < 5; i++)
            assert_int_equal(s_select(&partitioner, "x"), 0);
    }
}

static void shuffle_stays_in_range_and_reaches_every_receiver(void **state)
{
    rill_edge_spec_t edge = {0};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_SHUFFLE, 2, 5, 0, 5);
    int seen[5] = {0};
    for (int i = 0; i < 5000; i++) {
        int target = s_select(&partitioner, "x");
        assert_true(target >= 0 && target < 5);
        seen[target]++;
    }
    for (int r = 0; r < 5; r++)
        assert_true(seen[r] > 800 && seen[r] < 1200);
}

typedef struct {
    int answer;
    int calls;
    bool had_key;
    char key[16];
} s_custom_t;

static int s_custom(const rill_record_t *in, const rill_key_t *key, int receivers, void *ctx)
{
    s_custom_t *custom = ctx;
    custom->calls++;
    custom->had_key = key != NULL;
    if (key)
        snprintf(custom->key, sizeof custom->key, "%.*s", (int)key->size, (const char *)key->data);
    return custom->answer;
}

static void custom_returns_the_users_choice_and_hands_it_the_key(void **state)
{
    s_custom_t custom = {.answer = 2};
    rill_edge_spec_t edge = {
        .key = rill_key_first_field, .partition = s_custom, .partition_ctx = &custom};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_CUSTOM, 0, 3, 0, 3);
    assert_int_equal(s_select(&partitioner, "apple\t1"), 2);
    assert_true(custom.had_key);
    assert_string_equal(custom.key, "apple");
    //  Without a key extractor the function gets no key.
    edge.key = NULL;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_CUSTOM, 0, 3, 0, 3);
    custom.answer = 0;
    assert_int_equal(s_select(&partitioner, "apple\t1"), 0);
    assert_false(custom.had_key);
}

static void custom_out_of_range_is_an_error_not_a_receiver(void **state)
{
    int answers[] = {3, 4, -1, -2, 1000};
    for (size_t a = 0; a < sizeof answers / sizeof *answers; a++) {
        s_custom_t custom = {.answer = answers[a]};
        rill_edge_spec_t edge = {.partition = s_custom, .partition_ctx = &custom};
        rill_partitioner_t partitioner;
        rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_CUSTOM, 0, 3, 0, 3);
        rill_record_t record = s_record("x");
        rill_key_hint_t key;
        const char *error = NULL;
        //  -2 is RILL_PARTITION_ALL: a user function must not be able to broadcast by accident.
        assert_int_equal(rill_partitioner_select(&partitioner, &record, &key, &error), -1);
        assert_non_null(error);
        assert_non_null(strstr(error, "out of range"));
        assert_int_equal(custom.calls, 1);
    }
}

static void an_unresolved_pattern_is_an_error(void **state)
{
    //  The planner resolves DEFAULT to forward or rebalance; a selector never sees it.
    rill_edge_spec_t edge = {0};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_DEFAULT, 0, 2, 0, 2);
    rill_record_t record = s_record("x");
    rill_key_hint_t key;
    const char *error = NULL;
    assert_int_equal(rill_partitioner_select(&partitioner, &record, &key, &error), -1);
    assert_string_equal(error, "unknown exchange pattern");
}


//  What the partitioner carries must be what the receiver would compute: the receiving
//  operator's extractor on the same record, then the keyed table's hash.
static void s_expect_carried(rill_key_fn fn, const char *text, int64_t offset)
{
    rill_edge_spec_t edge = {.key = fn};
    rill_partitioner_t partitioner;
    rill_partitioner_init(&partitioner, &edge, RILL_PATTERN_HASH, 0, 4, 0, 4);
    rill_record_t record = s_record(text);
    rill_key_hint_t hint;
    const char *error = NULL;
    int target = rill_partitioner_select(&partitioner, &record, &hint, &error);
    //  A writer whose receiver keys nothing asks for no hint: the same receiver all the same.
    assert_int_equal(rill_partitioner_select(&partitioner, &record, NULL, &error), target);
    rill_key_t key = {0};
    assert_int_equal(fn(&record, &key, NULL), 0);
    uint64_t hash = rill_keyed_hash(key.data, key.size);
    assert_int_equal(hint.hash, hash);
    assert_int_equal(target, rill_key_group_receiver(rill_key_group(key.data, key.size), 4));
    assert_int_equal(rill_key_group_of_hash(hint.hash), rill_key_group(key.data, key.size));
    assert_int_equal(hint.offset, offset);
    assert_int_equal(hint.size, key.size);
    if (offset >= 0)
        assert_memory_equal(text + offset, key.data, key.size);
}

static void hash_carries_the_hash_the_receiver_would_compute_and_where_the_key_lies(void **state)
{
    s_expect_carried(rill_key_first_field, "apple\t1", 0);
    s_expect_carried(rill_key_first_field, "no tab at all", 0);
    s_expect_carried(rill_key_first_field, "\tempty key", 0);
    s_expect_carried(test_key_second_field, "1\tbanana", 2);
    s_expect_carried(test_key_second_field, "12\t", 3); //  an empty key at the record's end
    //  Computed keys live outside the record: only their hash travels.
    s_expect_carried(test_key_upper_first_field, "apple\t1", -1);
    s_expect_carried(test_key_upper_first_field, "", -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_keeps_the_senders_index),
        cmocka_unit_test(hash_sends_every_record_of_a_key_to_its_key_groups_receiver),
        cmocka_unit_test(key_groups_map_to_contiguous_balanced_receiver_ranges),
        cmocka_unit_test(many_keys_spread_over_every_receiver),
        cmocka_unit_test(a_failing_key_extractor_fails_the_selection_with_a_message),
        cmocka_unit_test(rebalance_goes_round_robin_from_a_start_that_differs_per_sender),
        cmocka_unit_test(rescale_goes_round_robin_within_each_senders_local_group),
        cmocka_unit_test(broadcast_selects_every_receiver),
        cmocka_unit_test(global_sends_everything_to_receiver_0),
        cmocka_unit_test(shuffle_stays_in_range_and_reaches_every_receiver),
        cmocka_unit_test(custom_returns_the_users_choice_and_hands_it_the_key),
        cmocka_unit_test(custom_out_of_range_is_an_error_not_a_receiver),
        cmocka_unit_test(an_unresolved_pattern_is_an_error),
        cmocka_unit_test(hash_carries_the_hash_the_receiver_would_compute_and_where_the_key_lies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
