/*  test_exchange.c: every exchange pattern, run for real as actors over ZeroMQ, at parallelism
    1 to 4 and mixed. A generator (subtask i emits the numbers i, i+p, ...) feeds the pattern
    under test into a map that tags each record with the receiving subtask; a forward collect
    sink keeps arrival order per receiver. Checked: nothing lost or duplicated, order kept per
    sender -> receiver channel, and each pattern's own promise. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>

#define S_RECORDS 20000

typedef struct {
    uint64_t number;
    int sender;
    int receiver;
} s_seen_t;

static int s_last_digit_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    key->data = (const char *)in->data + in->size - 1;
    key->size = 1;
    return 0;
}

static int s_modulo_partition(const rill_record_t *in, const rill_key_t *key, int receivers,
                              void *ctx)
{
    return (int)(test_record_number(in) % (uint64_t)receivers);
}

//  Runs source(p_s) -pattern-> tag(p_r) -forward-> collect(p_r); returns what each receiver
//  saw, in arrival order per receiver.
static s_seen_t *s_run(rill_pattern_t pattern, int p_s, int p_r, size_t *count)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_batch_size(env, 512); //  small batches: many frames per channel
    rill_results_t *collect = rill_results_new();
    rill_stream_t *source = rill_stream_parallelism(
        rill_env_from_generator(env, test_generate_sequence, NULL, S_RECORDS), p_s);
    rill_stream_t *exchanged = NULL;
    switch (pattern) {
    case RILL_PATTERN_FORWARD: exchanged = rill_stream_forward(source); break;
    case RILL_PATTERN_HASH:
        exchanged = rill_keyed_stream_stream(rill_stream_key_by(source, s_last_digit_key, NULL));
        break;
    case RILL_PATTERN_BROADCAST: exchanged = rill_stream_broadcast(source); break;
    case RILL_PATTERN_REBALANCE: exchanged = rill_stream_rebalance(source); break;
    case RILL_PATTERN_RESCALE: exchanged = rill_stream_rescale(source); break;
    case RILL_PATTERN_SHUFFLE: exchanged = rill_stream_shuffle(source); break;
    case RILL_PATTERN_GLOBAL: exchanged = rill_stream_global(source); break;
    case RILL_PATTERN_CUSTOM:
        exchanged = rill_stream_partition_custom(source, s_modulo_partition, NULL, NULL, NULL);
        break;
    default: fail();
    }
    rill_stream_t *tagged =
        rill_stream_parallelism(rill_stream_flat_map(exchanged, test_tag_subtask, NULL), p_r);
    rill_stream_parallelism(rill_stream_collect(rill_stream_forward(tagged), collect), p_r);
    if (rill_env_execute(env))
        fail_msg("%s %d->%d failed: %s", rill_pattern_name(pattern), p_s, p_r,
                 rill_env_error(env));
    *count = rill_results_size(collect);
    s_seen_t *seen = calloc(*count + 1, sizeof(s_seen_t));
    for (size_t i = 0; i < *count; i++) {
        rill_record_t record = rill_results_record(collect, i);
        const char *tab = memchr(record.data, '\t', record.size);
        assert_non_null(tab);
        seen[i].receiver = atoi(record.data);
        assert_int_equal(seen[i].receiver, rill_results_subtask(collect, i));
        rill_record_t number = {tab + 1, record.size - (size_t)(tab + 1 - (char *)record.data), 0};
        seen[i].number = test_record_number(&number);
        seen[i].sender = (int)(seen[i].number % (uint64_t)p_s);
    }
    rill_results_destroy(&collect);
    rill_env_destroy(&env);
    return seen;
}

//  The checks every pattern shares: each number arrives `copies` times in all (once per
//  receiver for broadcast), and per (sender, receiver) the numbers arrive in increasing order.
static void s_check_common(s_seen_t *seen, size_t count, int p_s, int p_r, int copies)
{
    assert_int_equal(count, (size_t)S_RECORDS * (size_t)copies);
    int *times = calloc(S_RECORDS, sizeof(int));
    int64_t *last = malloc(sizeof(int64_t) * (size_t)(p_s * p_r));
    for (int i = 0; i < p_s * p_r; i++)
        last[i] = -1;
    for (size_t i = 0; i < count; i++) {
        assert_true(seen[i].number < S_RECORDS);
        times[seen[i].number]++;
        int64_t *previous = &last[seen[i].sender * p_r + seen[i].receiver];
        if ((int64_t)seen[i].number <= *previous)
            fail_msg("order broken on channel %d->%d: %llu after %lld", seen[i].sender,
                     seen[i].receiver, (unsigned long long)seen[i].number, (long long)*previous);
        *previous = (int64_t)seen[i].number;
    }
    for (int n = 0; n < S_RECORDS; n++)
        if (times[n] != copies)
            fail_msg("record %d arrived %d times, expected %d", n, times[n], copies);
    free(times);
    free(last);
}

static const int s_shapes[][2] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {3, 2}, {2, 4}, {1, 3}, {4, 1}};
#define S_SHAPES (int)(sizeof s_shapes / sizeof s_shapes[0])

static void forward_keeps_subtask_i_to_i(void **state)
{
    for (int p = 1; p <= 4; p++) {
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_FORWARD, p, p, &count);
        s_check_common(seen, count, p, p, 1);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(seen[i].sender, seen[i].receiver);
        free(seen);
    }
}

static void hash_sends_each_key_to_exactly_one_receiver(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_HASH, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, 1);
        int owner[10];
        for (int k = 0; k < 10; k++)
            owner[k] = -1;
        for (size_t i = 0; i < count; i++) {
            int key = (int)(seen[i].number % 10);
            if (owner[key] < 0)
                owner[key] = seen[i].receiver;
            assert_int_equal(owner[key], seen[i].receiver);
        }
        free(seen);
    }
}

static void broadcast_gives_every_receiver_every_record(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_BROADCAST, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, p_r);
        size_t *per_receiver = calloc((size_t)p_r, sizeof(size_t));
        for (size_t i = 0; i < count; i++)
            per_receiver[seen[i].receiver]++;
        for (int r = 0; r < p_r; r++)
            assert_int_equal(per_receiver[r], S_RECORDS);
        free(per_receiver);
        free(seen);
    }
}

static void global_sends_everything_to_subtask_0(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_GLOBAL, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, 1);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(seen[i].receiver, 0);
        free(seen);
    }
}

static void rebalance_spreads_evenly(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_REBALANCE, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, 1);
        //  Round robin per sender: each sender's share per receiver differs by at most one.
        size_t *share = calloc((size_t)(p_s * p_r), sizeof(size_t));
        for (size_t i = 0; i < count; i++)
            share[seen[i].sender * p_r + seen[i].receiver]++;
        for (int a = 0; a < p_s; a++)
            for (int r = 0; r < p_r; r++) {
                size_t expected = (S_RECORDS / (size_t)p_s) / (size_t)p_r;
                assert_in_range(share[a * p_r + r], expected - 2, expected + 2);
            }
        free(share);
        free(seen);
    }
}

static void rescale_stays_within_local_groups(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_RESCALE, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, 1);
        for (size_t i = 0; i < count; i++) {
            int a = seen[i].sender, r = seen[i].receiver;
            if (p_s >= p_r)
                assert_int_equal(r, a * p_r / p_s);
            else
                assert_in_range(r, a * p_r / p_s, (a + 1) * p_r / p_s - 1);
        }
        free(seen);
    }
}

static void shuffle_loses_and_duplicates_nothing(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_SHUFFLE, s_shapes[s][0], s_shapes[s][1], &count);
        s_check_common(seen, count, s_shapes[s][0], s_shapes[s][1], 1);
        free(seen);
    }
}

static void custom_partitioner_picks_the_receiver(void **state)
{
    for (int s = 0; s < S_SHAPES; s++) {
        int p_s = s_shapes[s][0], p_r = s_shapes[s][1];
        size_t count;
        s_seen_t *seen = s_run(RILL_PATTERN_CUSTOM, p_s, p_r, &count);
        s_check_common(seen, count, p_s, p_r, 1);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(seen[i].receiver, (int)(seen[i].number % (uint64_t)p_r));
        free(seen);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_keeps_subtask_i_to_i),
        cmocka_unit_test(hash_sends_each_key_to_exactly_one_receiver),
        cmocka_unit_test(broadcast_gives_every_receiver_every_record),
        cmocka_unit_test(global_sends_everything_to_subtask_0),
        cmocka_unit_test(rebalance_spreads_evenly),
        cmocka_unit_test(rescale_stays_within_local_groups),
        cmocka_unit_test(shuffle_loses_and_duplicates_nothing),
        cmocka_unit_test(custom_partitioner_picks_the_receiver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
