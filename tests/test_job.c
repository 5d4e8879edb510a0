/*  test_job.c: a job's lifecycle. A bounded job ends by itself with every record delivered;
    empty input ends; a failing user function fails the job and names the operator and
    subtask; cancel drains what was produced; a slow sink holds the sources back so what is in
    flight stays bounded. */
#include "testutil.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static int s_fail_at_500(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (test_record_number(in) == 500)
        return -1;
    return rill_buffer_set(out, in->data, in->size);
}

static void a_bounded_job_ends_with_every_record_delivered(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *collect = rill_results_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 100000);
    s = rill_stream_map(rill_stream_rebalance(s), s_identity, NULL);
    rill_stream_collect(s, collect);
    assert_int_equal(rill_env_execute(env), 0);
    assert_int_equal(rill_results_size(collect), 100000);
    const rill_metrics_t *metrics = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    for (int i = 0; i < rill_plan_subtask_count(plan); i++)
        assert_int_equal(rill_metrics_subtask(metrics, i).finished, 1);
    //  Every channel: what the sender counted is what the receiver counted.
    uint64_t sent = 0;
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        rill_channel_metrics_t m = rill_metrics_channel(metrics, c);
        assert_int_equal(m.records, m.records_received);
        if (rill_plan_channel(plan, c)->edge == 0)
            sent += m.records;
    }
    assert_int_equal(sent, 100000);
    rill_results_destroy(&collect);
    rill_env_destroy(&env);
}

static void a_job_with_empty_input_ends(void **state)
{
    char *path = test_temp_file("");
    rill_env_t *env = rill_env_new();
    rill_results_t *collect = rill_results_new();
    rill_env_set_parallelism(env, 3);
    rill_stream_t *lines = rill_env_from_text_file(env, path);
    rill_stream_collect(rill_stream_count(rill_stream_key_by(lines, rill_key_first_field, NULL)),
                        collect);
    assert_int_equal(rill_env_execute(env), 0);
    assert_int_equal(rill_results_size(collect), 0);
    rill_results_destroy(&collect);
    rill_env_destroy(&env);
    unlink(path);
    free(path);
}

static void a_text_file_splits_into_whole_lines_at_any_parallelism(void **state)
{
    //  Lines of varied length, the last without a newline, one of them empty.
    char *path = test_temp_file("alpha\nbeta gamma\n\ndelta\r\nepsilon zeta eta\ntheta");
    for (int p = 1; p <= 6; p++) {
        rill_env_t *env = rill_env_new();
        rill_results_t *collect = rill_results_new();
        rill_env_set_parallelism(env, p);
        rill_stream_collect(rill_env_from_text_file(env, path), collect);
        assert_int_equal(rill_env_execute(env), 0);
        rill_results_sort(collect);
        const char *expected[] = {"", "alpha", "beta gamma", "delta", "epsilon zeta eta",
                                  "theta"};
        assert_int_equal(rill_results_size(collect), 6);
        for (int i = 0; i < 6; i++) {
            rill_record_t r = rill_results_record(collect, (size_t)i);
            assert_int_equal(r.size, strlen(expected[i]));
            assert_memory_equal(r.data, expected[i], r.size);
        }
        rill_results_destroy(&collect);
        rill_env_destroy(&env);
    }
    unlink(path);
    free(path);
}

static void lines_longer_than_a_read_block_arrive_whole(void **state)
{
    //  The source reads 256 KiB blocks: a 600 KB line spans three of them.
    size_t long_size = 600000;
    char *text = malloc(long_size + 64);
    memset(text, 'x', long_size);
    strcpy(text + long_size, "\nshort\ntail");
    char *path = test_temp_file(text);
    for (int p = 1; p <= 3; p++) {
        rill_env_t *env = rill_env_new();
        rill_results_t *collect = rill_results_new();
        rill_env_set_parallelism(env, p);
        rill_stream_collect(rill_env_from_text_file(env, path), collect);
        assert_int_equal(rill_env_execute(env), 0);
        rill_results_sort(collect);
        assert_int_equal(rill_results_size(collect), 3);
        //  Sorted by bytes: "short", "tail", then the long line of x.
        assert_memory_equal(rill_results_record(collect, 0).data, "short", 5);
        assert_memory_equal(rill_results_record(collect, 1).data, "tail", 4);
        assert_int_equal(rill_results_record(collect, 2).size, long_size);
        rill_results_destroy(&collect);
        rill_env_destroy(&env);
    }
    unlink(path);
    free(path);
    free(text);
}

static void a_missing_input_file_fails_the_job_with_its_name(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_stream_discard(rill_env_from_text_file(env, "/nonexistent/input.txt"));
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "/nonexistent/input.txt"));
    rill_env_destroy(&env);
}

static void a_failing_user_function_fails_the_job_naming_operator_and_subtask(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000000);
    s = rill_stream_name(rill_stream_map(s, s_fail_at_500, NULL), "boom");
    rill_stream_discard(s);
    assert_int_equal(rill_env_execute(env), -1);
    assert_false(rill_env_cancelled(env));
    const char *error = rill_env_error(env);
    assert_non_null(strstr(error, "operator 'boom'"));
    //  Record 500 is even, so generator subtask 1 of 2 made it and forward sent it to map 1/2.
    assert_non_null(strstr(error, "subtask 1/2"));
    assert_non_null(strstr(error, "user function failed"));
    rill_env_destroy(&env);
}

//  Cancels a running job once its map has passed `after` records: the test waits for that
//  event, not for a delay, so it runs as fast as the machine allows and is never early.
typedef struct {
    rill_env_t *env;
    uint64_t after;
    uint64_t seen; //  records through the map so far (atomic: the map's thread counts)
    test_latch_t reached;
    bool timed_out;
} s_canceller_t;

static void s_canceller_init(s_canceller_t *canceller, rill_env_t *env, uint64_t after)
{
    *canceller = (s_canceller_t){.env = env, .after = after};
    test_latch_init(&canceller->reached);
}

//  Counts a record through the map; the after-th one sets the event.
static void s_canceller_count(s_canceller_t *canceller)
{
    if (__atomic_add_fetch(&canceller->seen, 1, __ATOMIC_RELAXED) == canceller->after)
        test_latch_set(&canceller->reached);
}

static int s_counting_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    s_canceller_count(ctx);
    return rill_buffer_set(out, in->data, in->size);
}

static void *s_cancel_when_reached(void *arg)
{
    s_canceller_t *canceller = arg;
    canceller->timed_out = test_latch_wait(&canceller->reached, 60000) != 0;
    rill_env_cancel(canceller->env);
    return NULL;
}

static void cancel_stops_the_sources_and_drains_what_was_produced(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *collect = rill_results_new();
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, RILL_UNBOUNDED);
    s_canceller_t canceller;
    s_canceller_init(&canceller, env, 10000);
    s = rill_stream_map(s, s_counting_identity, &canceller);
    rill_stream_parallelism(rill_stream_collect(rill_stream_rebalance(s), collect), 2);
    pthread_t thread;
    pthread_create(&thread, NULL, s_cancel_when_reached, &canceller);
    assert_int_equal(rill_env_execute(env), -1);
    pthread_join(thread, NULL);
    test_latch_destroy(&canceller.reached);
    assert_false(canceller.timed_out);
    assert_true(rill_env_cancelled(env));
    //  The single source produced 0..n-1; all of them arrived, none twice.
    size_t count = rill_results_size(collect);
    assert_true(count > 0);
    char *seen = calloc(count, 1);
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_results_record(collect, i);
        uint64_t n = test_record_number(&r);
        assert_true(n < count);
        assert_int_equal(seen[n], 0);
        seen[n] = 1;
    }
    const rill_metrics_t *metrics = rill_env_metrics(env);
    assert_int_equal(rill_metrics_subtask(metrics, 0).records_out, count);
    free(seen);
    rill_results_destroy(&collect);
    rill_env_destroy(&env);
}

static int s_slow_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    s_canceller_count(ctx);
    if (test_record_number(in) % 64 == 0) //  the work of a slow operator, not a wait
        usleep(1000);
    return rill_buffer_set(out, in->data, in->size);
}

typedef struct {
    uint64_t max_in_flight;
} s_watch_t;

static void s_watch_in_flight(void *ctx, const rill_metrics_t *metrics)
{
    s_watch_t *watch = ctx;
    //  Subtask 0 is the source, subtask 1 the slow map.
    uint64_t out = rill_metrics_subtask(metrics, 0).records_out;
    uint64_t in = rill_metrics_subtask(metrics, 1).records_in;
    if (out > in && out - in > watch->max_in_flight)
        watch->max_in_flight = out - in;
}

static void a_slow_operator_holds_the_source_back(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_batch_size(env, 1024);
    //  Backpressure acts on a channel: chained, the source would call the map directly.
    rill_env_disable_chaining(env);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, RILL_UNBOUNDED);
    //  The map sleeps 1 ms per 64 records: 25600 records take it at least 400 ms.
    s_canceller_t canceller;
    s_canceller_init(&canceller, env, 25600);
    rill_stream_discard(rill_stream_map(s, s_slow_identity, &canceller));
    s_watch_t watch = {0};
    rill_env_set_monitor(env, s_watch_in_flight, &watch, 20);
    pthread_t thread;
    pthread_create(&thread, NULL, s_cancel_when_reached, &canceller);
    rill_env_execute(env);
    pthread_join(thread, NULL);
    test_latch_destroy(&canceller.reached);
    assert_false(canceller.timed_out);
    const rill_metrics_t *metrics = rill_env_metrics(env);
    rill_subtask_metrics_t source = rill_metrics_subtask(metrics, 0);
    //  Unchecked, the source makes millions of records meanwhile; held back, it makes what the
    //  map consumes plus what fits in the channel: 2 high-water marks of batches (each at most
    //  1024 / 13 records), the batch being filled and the frame being read.
    uint64_t bound = (2 * 4 + 2) * (1024 / 13) + 1024;
    assert_true(watch.max_in_flight <= bound);
    assert_true(source.backpressure_ns > source.busy_ns);
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bounded_job_ends_with_every_record_delivered),
        cmocka_unit_test(a_job_with_empty_input_ends),
        cmocka_unit_test(a_text_file_splits_into_whole_lines_at_any_parallelism),
        cmocka_unit_test(lines_longer_than_a_read_block_arrive_whole),
        cmocka_unit_test(a_missing_input_file_fails_the_job_with_its_name),
        cmocka_unit_test(a_failing_user_function_fails_the_job_naming_operator_and_subtask),
        cmocka_unit_test(cancel_stops_the_sources_and_drains_what_was_produced),
        cmocka_unit_test(a_slow_operator_holds_the_source_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
