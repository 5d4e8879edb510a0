/*  test_windows.c: event-time windows on keyed streams. Out-of-order input with known
    expected windows (tumbling, sliding, session), late records within and beyond the allowed
    lateness, the watermark held back by the slowest input and released by idleness, count
    windows, and the same results at parallelism 1, 2 and 4 in batch and streaming mode. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

static void tumbling_windows_take_out_of_order_records_until_the_watermark_passes(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 1}, {"a", 2, 12}, {"a", 4, 3}, {"a", 8, 25}, {"a", 16, 9}, {"a", 32, 22},
    };
    rill_results_t *results = rill_results_new(), *late = rill_results_new();
    rill_window_t window = rill_window_tumbling(10);
    test_run_window_script(events, 6, 5, &window, RILL_WINDOW_AGG_SUM, results, late);
    //  3 arrives behind 12 but before the watermark (6) passes 9, so [0,10) has 1 + 4; 9
    //  arrives after 25 moved the watermark to 19: too late, so it goes to the side output.
    const char *expected[] = {"0\t10\ta\t5", "10\t20\ta\t2", "20\t30\ta\t40"};
    test_expect_records(results, expected, 3);
    const char *dropped[] = {"a\t16"};
    test_expect_records(late, dropped, 1);
    //  A window result's timestamp is its end - 1.
    assert_int_equal(rill_results_record(results, 0).timestamp, 9);
    rill_results_destroy(&results);
    rill_results_destroy(&late);
}

static void late_records_within_lateness_fire_again_and_later_ones_go_aside(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 1}, {"a", 2, 12}, {"a", 8, 25}, {"a", 16, 9}, {"a", 32, 40}, {"a", 64, 5},
    };
    rill_results_t *results = rill_results_new(), *late = rill_results_new();
    rill_window_t window = rill_window_tumbling(10);
    window.allowed_lateness = 15;
    test_run_window_script(events, 6, 5, &window, RILL_WINDOW_AGG_SUM, results, late);
    //  At watermark 19 [0,10) and [10,20) fire; 9 is late by 10 <= 15, so [0,10) fires again
    //  with 17; 40 moves the watermark to 34, past [0,10)'s lateness; 5 is then dropped.
    const char *expected[] = {"0\t10\ta\t1", "10\t20\ta\t2", "0\t10\ta\t17", "20\t30\ta\t8",
                              "40\t50\ta\t32"};
    test_expect_records(results, expected, 5);
    const char *dropped[] = {"a\t64"};
    test_expect_records(late, dropped, 1);
    rill_results_destroy(&results);
    rill_results_destroy(&late);
}

static void sliding_windows_count_each_record_in_every_window_it_falls_in(void **state)
{
    static const test_event_t events[] = {{"a", 1, 2}, {"a", 2, 7}, {"a", 4, 4}, {"a", 8, 13}};
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_sliding(10, 5);
    test_run_window_script(events, 4, 10, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    const char *expected[] = {"-5\t5\ta\t5", "0\t10\ta\t7", "5\t15\ta\t10", "10\t20\ta\t8"};
    test_expect_records(results, expected, 4);
    rill_results_destroy(&results);
}

static void session_windows_merge_when_a_record_bridges_them(void **state)
{
    static const test_event_t events[] = {{"a", 1, 1}, {"a", 2, 10}, {"b", 100, 2},
                                          {"a", 4, 4}, {"a", 8, 7},  {"a", 16, 30}};
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_session(5);
    test_run_window_script(events, 6, 100, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    rill_results_sort(results);
    //  a: [1,6) and [10,15) are bridged by 4 and 7 into [1,15); 30 opens its own session.
    const char *expected[] = {"1\t15\ta\t15", "2\t7\tb\t100", "30\t35\ta\t16"};
    test_expect_records(results, expected, 3);
    rill_results_destroy(&results);
}

static void avg_keeps_full_double_precision(void **state)
{
    static const test_event_t events[] = {{"a", 1, 1}, {"a", 2, 2}, {"a", 2, 3}};
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_tumbling(10);
    test_run_window_script(events, 3, 0, &window, RILL_WINDOW_AGG_AVG, results, NULL);
    const char *expected[] = {"0\t10\ta\t1.6666666666666667"};
    test_expect_records(results, expected, 1);
    rill_results_destroy(&results);
}

static void count_windows_fire_every_n_records_of_a_key(void **state)
{
    static const test_event_t events[] = {{"a", 1, 1}, {"b", 10, 2}, {"a", 2, 3}, {"a", 4, 4},
                                          {"a", 8, 5}, {"b", 20, 6}, {"a", 16, 7}};
    rill_results_t *results = rill_results_new();
    rill_window_t tumbling = rill_window_count(2, 0);
    test_run_window_script(events, 7, 0, &tumbling, RILL_WINDOW_AGG_SUM, results, NULL);
    rill_results_sort(results);
    //  a: (1,2) (4,8), 16 never completes a window; b: (10,20). Bounds are the first and
    //  last record's timestamps (+1).
    const char *expected[] = {"1\t4\ta\t3", "2\t7\tb\t30", "4\t6\ta\t12"};
    test_expect_records(results, expected, 3);
    rill_results_destroy(&results);
    results = rill_results_new();
    rill_window_t sliding = rill_window_count(3, 2);
    test_run_window_script(events, 7, 0, &sliding, RILL_WINDOW_AGG_SUM, results, NULL);
    //  a: every 2 records, the last (up to) 3: (1,2) then (2,4,8) ... b: (10,20).
    rill_results_sort(results);
    const char *expected_sliding[] = {"1\t4\ta\t3", "2\t7\tb\t30", "3\t6\ta\t14"};
    test_expect_records(results, expected_sliding, 3);
    rill_results_destroy(&results);
}

static int s_generate_plain(uint64_t i, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\t1", (unsigned long long)(i % 3));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Wall-clock milliseconds since the epoch: processing time, as the subtasks read it.
static int64_t s_wall_ms(void)
{
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    return (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

static void processing_time_windows_count_every_record_by_the_clock(void **state)
{
    //  No timestamps at all: processing-time windows use the subtask's wall clock, and the
    //  windows still open when the input ends fire then.
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, s_generate_plain, NULL, 30000);
    rill_window_t window = rill_window_tumbling(50);
    window.time = RILL_TIME_PROCESSING;
    s = rill_stream_window_builtin(rill_stream_key_by(s, rill_key_first_field, NULL), &window,
                                   RILL_WINDOW_AGG_COUNT);
    rill_stream_collect(s, results);
    int64_t before_ms = s_wall_ms();
    assert_int_equal(rill_env_execute(env), 0);
    int64_t after_ms = s_wall_ms();
    long total = 0;
    int64_t now = 0;
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        char text[128];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        long long start, end;
        char key[16];
        long count;
        assert_int_equal(sscanf(text, "%lld\t%lld\t%15s\t%ld", &start, &end, key, &count), 4);
        assert_int_equal(end - start, 50);
        assert_int_equal(start % 50, 0);
        //  Each window holds a moment while the job ran, however long it took.
        assert_true(end > before_ms && start <= after_ms);
        total += count;
        now = end > now ? end : now;
    }
    assert_int_equal(total, 30000);
    //  The bounds are wall-clock times: recent ones.
    assert_true(now > before_ms && now <= after_ms + 50);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static int s_nothing(uint64_t i, rill_collector_t *out, void *ctx)
{
    (void)i, (void)out, (void)ctx;
    return 0;
}

static void s_expect_output(rill_harness_t *harness, const char *const *expected, size_t count)
{
    assert_int_equal(rill_harness_output_count(harness, 0), count);
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_harness_output(harness, 0, i);
        char text[96];
        snprintf(text, sizeof text, "%.*s@%lld", (int)r.size, (const char *)r.data,
                 (long long)r.timestamp);
        assert_string_equal(text, expected[i]);
    }
}

//  The same windows on the harness's manual clock, exactly: a processing-time window
//  [start, end) fires when the clock reaches end - 1 (Flink's ProcessingTimeTrigger registers
//  its timer at maxTimestamp), holding the records that arrived while the clock was in it;
//  the end of input fires the open ones.
static void processing_time_windows_fire_exactly_on_the_manual_clock(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_window_t window = rill_window_tumbling(50);
    window.time = RILL_TIME_PROCESSING;
    rill_stream_t *op = rill_stream_window_builtin(
        rill_stream_key_by(rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED),
                           rill_key_first_field, NULL),
        &window, RILL_WINDOW_AGG_COUNT);
    rill_stream_discard(op);
    char error[256];
    rill_harness_t *h = rill_harness_new(env, op, 0, error, sizeof error);
    if (!h)
        fail_msg("%s", error);
    assert_int_equal(rill_harness_processing_time(h, 1010), 0);
    assert_int_equal(rill_harness_record(h, 0, "k\t1", 3, RILL_NO_TIMESTAMP), 0);
    assert_int_equal(rill_harness_processing_time(h, 1048), 0);
    assert_int_equal(rill_harness_record(h, 0, "k\t1", 3, RILL_NO_TIMESTAMP), 0);
    assert_int_equal(rill_harness_processing_time(h, 1049), 0);
    static const char *const first[] = {"1000\t1050\tk\t2@1049"};
    s_expect_output(h, first, 1);
    assert_int_equal(rill_harness_processing_time(h, 1120), 0);
    assert_int_equal(rill_harness_record(h, 0, "k\t1", 3, RILL_NO_TIMESTAMP), 0);
    assert_int_equal(rill_harness_end(h), 0);
    static const char *const both[] = {"1000\t1050\tk\t2@1049", "1100\t1150\tk\t1@1149"};
    s_expect_output(h, both, 2);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- a larger job, run in every configuration

#define S_RECORDS 20000

static int s_generate_event(uint64_t i, rill_collector_t *out, void *ctx)
{
    char text[64];
    int size = snprintf(text, sizeof text, "k%llu\t%llu", (unsigned long long)(i % 37),
                        (unsigned long long)(i % 100));
    //  Timestamps 10 ms apart, each up to 25 ms early or late.
    int64_t time = (int64_t)i * 10 + (int64_t)((i * 7919) % 51) - 25;
    return rill_collector_emit(out, text, (size_t)size, time);
}

static char *s_run_config(int parallelism, rill_mode_t mode, const rill_window_t *window,
                          rill_window_agg_t agg)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, parallelism);
    rill_env_set_mode(env, mode);
    rill_stream_t *s = rill_env_from_generator(env, s_generate_event, NULL, S_RECORDS);
    //  Out-of-orderness larger than any disorder, so no record is late in any configuration.
    rill_watermarks_t strategy = {.out_of_orderness = 100 + 10 * parallelism, .interval_ms = 5};
    s = rill_stream_assign_timestamps(s, s_record_time, NULL, &strategy);
    s = rill_stream_window_builtin(rill_stream_key_by(s, rill_key_first_field, NULL), window, agg);
    rill_stream_collect(s, results);
    if (rill_env_execute(env))
        fail_msg("p=%d failed: %s", parallelism, rill_env_error(env));
    rill_results_sort(results);
    size_t total = 0;
    for (size_t i = 0; i < rill_results_size(results); i++)
        total += rill_results_record(results, i).size + 1;
    char *text = calloc(total + 1, 1), *at = text;
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        memcpy(at, r.data, r.size);
        at[r.size] = '\n';
        at += r.size + 1;
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    return text;
}

static void results_are_the_same_at_any_parallelism_and_mode(void **state)
{
    rill_window_t windows[] = {rill_window_tumbling(1000), rill_window_sliding(2000, 500),
                               rill_window_session(300)};
    rill_window_agg_t aggs[] = {RILL_WINDOW_AGG_SUM, RILL_WINDOW_AGG_AVG, RILL_WINDOW_AGG_COUNT};
    for (int w = 0; w < 3; w++) {
        char *reference = s_run_config(1, RILL_MODE_STREAMING, &windows[w], aggs[w]);
        assert_true(strlen(reference) > 100);
        int parallelism[] = {1, 2, 4};
        for (int p = 0; p < 3; p++)
            for (int m = 0; m < 2; m++) {
                char *got = s_run_config(parallelism[p], m ? RILL_MODE_BATCH : RILL_MODE_STREAMING,
                                         &windows[w], aggs[w]);
                assert_string_equal(got, reference);
                free(got);
            }
        free(reference);
    }
}

//  ---- watermark alignment and idleness

//  Shared by the two sources and the window function (three threads). The test compares the
//  order of two events, "B ended" and "the first window fired", never elapsed times.
typedef struct {
    int sent;             //  source A's own count
    int b_hold_ms;        //  how long B stays open waiting for a window to fire
    test_latch_t fired;   //  the first window fired
    test_latch_t b_ended; //  source B returned its end
    bool b_ended_at_fire; //  what the first fire saw
} s_race_t;

//  Source A: 50 records at times 0..49 at once, then one more record per call (times 50, 51...)
//  until B has ended; each of those calls waits up to 10 ms for B's end. It keeps sending so
//  that it never turns idle itself: its watermark passes the first window's end and stays
//  active.
static int s_fast_then_trickle(rill_collector_t *out, void *ctx)
{
    s_race_t *race = ctx;
    if (race->sent >= 50 && test_latch_wait(&race->b_ended, 10) == 0)
        return RILL_SOURCE_END;
    char text[16];
    int size = snprintf(text, sizeof text, "k\t%d", race->sent);
    int rc = rill_collector_emit(out, text, (size_t)size, race->sent);
    race->sent++;
    return rc ? -1 : RILL_SOURCE_MORE;
}

//  Source B: no record at all. It stays open until a window fired or b_hold_ms passed, then
//  ends.
static int s_silent(rill_collector_t *out, void *ctx)
{
    s_race_t *race = ctx;
    test_latch_wait(&race->fired, race->b_hold_ms);
    test_latch_set(&race->b_ended);
    return RILL_SOURCE_END;
}

static int s_note_fire(const rill_window_bounds_t *window, const rill_key_t *key,
                       const rill_record_t *records, size_t count, rill_collector_t *out,
                       void *ctx)
{
    s_race_t *race = ctx;
    if (!test_latch_is_set(&race->fired)) {
        race->b_ended_at_fire = test_latch_is_set(&race->b_ended);
        test_latch_set(&race->fired);
    }
    return rill_collector_emit(out, "fired", 5, window->end - 1);
}

//  Two timed inputs into one window; B never sends a record and stays open up to b_hold_ms.
//  Returns whether B had ended when the first window (A's [0,10)) fired.
static bool s_b_ended_before_the_first_fire(int idle_timeout_ms, int b_hold_ms)
{
    s_race_t race = {.b_hold_ms = b_hold_ms};
    test_latch_init(&race.fired);
    test_latch_init(&race.b_ended);
    rill_env_t *env = rill_env_new();
    rill_watermarks_t strategy = {.idle_timeout_ms = idle_timeout_ms};
    rill_stream_t *a =
        rill_stream_assign_timestamps(rill_env_from_source(env, s_fast_then_trickle, &race, true),
                                      s_record_time, NULL, &strategy);
    rill_stream_t *b = rill_stream_assign_timestamps(
        rill_env_from_source(env, s_silent, &race, true), s_record_time, NULL, &strategy);
    rill_keyed_stream_t keyed =
        rill_stream_key_by(rill_stream_union(a, b), rill_key_first_field, NULL);
    rill_window_t window = rill_window_tumbling(10);
    rill_stream_discard(rill_stream_window_process(keyed, &window, s_note_fire, &race));
    if (rill_env_execute(env))
        fail_msg("failed: %s", rill_env_error(env));
    rill_env_destroy(&env);
    assert_true(test_latch_is_set(&race.fired));
    test_latch_destroy(&race.fired);
    test_latch_destroy(&race.b_ended);
    return race.b_ended_at_fire;
}

static void the_slowest_input_holds_the_watermark_back_until_it_goes_idle(void **state)
{
    //  Without idleness B's watermark (none yet) holds every window until B ends, however long
    //  A's watermark runs ahead: B stays open 500 ms and no window fires meanwhile.
    assert_true(s_b_ended_before_the_first_fire(0, 500));
    //  With a 100 ms idle timeout B is left out once idle, and A's windows fire while B is
    //  still open (B would wait up to 10 s for that).
    assert_false(s_b_ended_before_the_first_fire(100, 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tumbling_windows_take_out_of_order_records_until_the_watermark_passes),
        cmocka_unit_test(late_records_within_lateness_fire_again_and_later_ones_go_aside),
        cmocka_unit_test(sliding_windows_count_each_record_in_every_window_it_falls_in),
        cmocka_unit_test(session_windows_merge_when_a_record_bridges_them),
        cmocka_unit_test(avg_keeps_full_double_precision),
        cmocka_unit_test(count_windows_fire_every_n_records_of_a_key),
        cmocka_unit_test(processing_time_windows_count_every_record_by_the_clock),
        cmocka_unit_test(processing_time_windows_fire_exactly_on_the_manual_clock),
        cmocka_unit_test(results_are_the_same_at_any_parallelism_and_mode),
        cmocka_unit_test(the_slowest_input_holds_the_watermark_back_until_it_goes_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
