/*  test_window_semantics.c: the corners of window and watermark semantics where rill follows
    Flink's rules: windows created late, time arithmetic at the int64 bounds, the watermark of
    a subtask whose inputs are all idle, the bounds of count windows, and the planner refusing
    window parameters that cannot run. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Flink, EventTimeTrigger.onElement: a window whose max timestamp the watermark has passed
//  already fires at once and registers no timer, so a window first created by a record late
//  within the allowed lateness fires once, not again at the next watermark. Late records into
//  an existing window fire it again, once per record (Flink too).
static void a_window_first_created_late_within_lateness_fires_once(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 25}, //  watermark 24
        {"a", 2, 5},  //  creates [0,10): 9 <= 24 (late), 9 + 20 > 24 (within lateness)
        {"a", 4, 7},  //  late into the existing [0,10): fires it again
        {"a", 8, 40}, //  watermark 39: [20,30) fires, [0,10) is cleaned up (9 + 20 < 39)
        {"a", 16, 3}, //  beyond the lateness of [0,10): side output
    };
    rill_results_t *results = rill_results_new(), *late = rill_results_new();
    rill_window_t window = rill_window_tumbling(10);
    window.allowed_lateness = 20;
    test_run_window_script(events, 5, 0, &window, RILL_WINDOW_AGG_SUM, results, late);
    const char *expected[] = {"0\t10\ta\t2", "0\t10\ta\t6", "20\t30\ta\t1", "40\t50\ta\t8"};
    test_expect_records(results, expected, 4);
    const char *dropped[] = {"a\t16"};
    test_expect_records(late, dropped, 1);
    rill_results_destroy(&results);
    rill_results_destroy(&late);
}

//  The same rule end to end: `rill run windowed --lateness` printed such a window twice.
static void the_windowed_job_prints_a_window_created_late_once(void **state)
{
    //  25 s moves the watermark to 24.999 s; the row at 5 s creates [0 s, 10 s) late but
    //  within the 20 s lateness; the row at 40 s moves the watermark past 10 s again.
    char *input = test_temp_file("time,sensor,temperature\n25000,a,1\n5000,a,2\n40000,a,4\n");
    assert_non_null(input);
    char *out = NULL;
    int status =
        test_run_tool(&out, NULL, "run", "windowed", "--", "--input", input, "--time-column",
                      "time", "--key-column", "sensor", "--value-column", "temperature", "--window",
                      "tumbling:10s", "--agg", "sum", "--lateness", "20s", NULL);
    assert_int_equal(status, 0);
    assert_string_equal(out, "0,10000,a,2\n20000,30000,a,1\n40000,50000,a,4\n");
    free(out);
    unlink(input);
    free(input);
}

//  The same Flink rule for a merging (session) window created late within the lateness.
static void a_session_first_created_late_within_lateness_fires_once(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 25}, //  watermark 24; session [25,30)
        {"a", 2, 3},  //  session [3,8): 7 <= 24, 7 + 20 > 24: fires at once
        {"a", 4, 40}, //  watermark 39: [25,30) fires
    };
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_session(5);
    window.allowed_lateness = 20;
    test_run_window_script(events, 3, 0, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    const char *expected[] = {"3\t8\ta\t2", "25\t30\ta\t1", "40\t45\ta\t4"};
    test_expect_records(results, expected, 3);
    rill_results_destroy(&results);
}

//  Flink's TimeWindow.intersects (start <= other.end && end >= other.start) merges session
//  windows that only touch: a record exactly one gap after the last one is in its session.
static void sessions_that_touch_merge(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 0},  //  [0,5)
        {"a", 2, 5},  //  [5,10) touches [0,5): one session [0,10)
        {"a", 4, 11}, //  [11,16): one ms apart, a session of its own
    };
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_session(5);
    test_run_window_script(events, 3, 0, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    const char *expected[] = {"0\t10\ta\t3", "11\t16\ta\t4"};
    test_expect_records(results, expected, 2);
    rill_results_destroy(&results);
}

//  Saturating time arithmetic: the cleanup time end - 1 + lateness of a window near INT64_MAX
//  stays INT64_MAX (it used to wrap into the past, so the window was removed before it could
//  fire), and a window end start + size past INT64_MAX is INT64_MAX. Flink's rule that every
//  window fires once the watermark passes its max timestamp (at the end of input: +inf) holds.
static void windows_near_int64_max_with_lateness_still_fire(void **state)
{
    int64_t near_end = INT64_MAX / 1000 * 1000; //  a window boundary close to INT64_MAX
    test_event_t events[] = {
        {"a", 1, near_end - 1},  //  [near_end - 1000, near_end): cleanup past INT64_MAX
        {"b", 2, INT64_MAX - 1}, //  [near_end, near_end + 1000): end past INT64_MAX
    };
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_tumbling(1000);
    window.allowed_lateness = 3600 * 1000;
    test_run_window_script(events, 2, 0, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    rill_results_sort(results);
    char first[128], second[128];
    snprintf(first, sizeof first, "%lld\t%lld\ta\t1", (long long)(near_end - 1000),
             (long long)near_end);
    snprintf(second, sizeof second, "%lld\t%lld\tb\t2", (long long)near_end, (long long)INT64_MAX);
    const char *expected[] = {first, second};
    test_expect_records(results, expected, 2);
    rill_results_destroy(&results);
}

//  Bounded out-of-orderness (Flink's BoundedOutOfOrdernessWatermarks: max - bound - 1) on a
//  timestamp near INT64_MIN saturates at INT64_MIN instead of wrapping to near +inf, which
//  fired every window at once and sent every later record to the late output.
static void a_record_near_int64_min_does_not_push_the_watermark_to_infinity(void **state)
{
    int64_t early = INT64_MIN + 8; //  a multiple of 10: its window [early, early + 10)
    test_event_t events[] = {{"a", 1, early}, {"a", 2, 0}, {"a", 4, 5}};
    rill_results_t *results = rill_results_new(), *late = rill_results_new();
    rill_window_t window = rill_window_tumbling(10);
    test_run_window_script(events, 3, 10, &window, RILL_WINDOW_AGG_SUM, results, late);
    rill_results_sort(results);
    char first[128];
    snprintf(first, sizeof first, "%lld\t%lld\ta\t1", (long long)early, (long long)(early + 10));
    const char *expected[] = {first, "0\t10\ta\t6"};
    test_expect_records(results, expected, 2);
    assert_int_equal(rill_results_size(late), 0);
    rill_results_destroy(&results);
    rill_results_destroy(&late);
}

//  Window assignment near INT64_MIN: the earliest sliding window of a record starts before
//  INT64_MIN, so its start saturates there (the sum time - size used to wrap, so the record
//  fell in no window at all and was lost). Flink's rule kept: a record belongs to every
//  window whose [start, end) holds it.
static void sliding_windows_near_int64_min_saturate_their_start(void **state)
{
    int64_t early = INT64_MIN + 3; //  a multiple of 5: windows [early, +10) and [early - 5, +5)
    test_event_t events[] = {{"a", 1, early}};
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_sliding(10, 5);
    test_run_window_script(events, 1, 0, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    rill_results_sort(results);
    char first[128], second[128];
    snprintf(first, sizeof first, "%lld\t%lld\ta\t1", (long long)INT64_MIN, (long long)(early + 5));
    snprintf(second, sizeof second, "%lld\t%lld\ta\t1", (long long)early, (long long)(early + 10));
    const char *expected[] = {second, first}; //  sorted as text: "...805" before "...808"
    test_expect_records(results, expected, 2);
    rill_results_destroy(&results);
}

//  ---- every input idle: Flink's StatusWatermarkValve emits the highest watermark over all
//  channels when the last one goes idle, then marks itself idle.

#define S_QUIET_TICKS_MAX 500 //  a source's cap on quiet 10 ms polls, so a failure still ends

typedef struct {
    int fired_while_open; //  windows fired while both sources were still open
    int64_t highest_end;  //  the highest end among those
    int fired;            //  windows fired in all
    int sources_done;     //  sources that ended
} s_idle_watch_t;

typedef struct {
    s_idle_watch_t *watch;
    int records; //  emits k@0 .. k@(records - 1), then stays open and quiet
    int sent;
    int quiet_ticks;
} s_idle_source_t;

//  Sends its records, then stays open (quietly, so its assigner marks it idle) until the
//  window [30,40) fired, which only the max-watermark rule can make happen before the end.
static int s_send_then_wait(rill_collector_t *out, void *ctx)
{
    s_idle_source_t *source = ctx;
    if (source->sent < source->records) {
        char text[16];
        int size = snprintf(text, sizeof text, "k\t%d", source->sent);
        int rc = rill_collector_emit(out, text, (size_t)size, source->sent);
        source->sent++;
        return rc ? -1 : RILL_SOURCE_MORE;
    }
    if (__atomic_load_n(&source->watch->highest_end, __ATOMIC_ACQUIRE) >= 40 ||
        ++source->quiet_ticks > S_QUIET_TICKS_MAX) {
        __atomic_add_fetch(&source->watch->sources_done, 1, __ATOMIC_RELEASE);
        return RILL_SOURCE_END;
    }
    usleep(10000); //  polling the event above, not timing anything
    return RILL_SOURCE_MORE;
}

static int s_note_window(const rill_window_bounds_t *window, const rill_key_t *key,
                         const rill_record_t *records, size_t count, rill_collector_t *out,
                         void *ctx)
{
    s_idle_watch_t *watch = ctx;
    watch->fired++;
    if (__atomic_load_n(&watch->sources_done, __ATOMIC_ACQUIRE) == 0) {
        watch->fired_while_open++;
        if (window->end > watch->highest_end)
            __atomic_store_n(&watch->highest_end, window->end, __ATOMIC_RELEASE);
    }
    return rill_collector_emit(out, "fired", 5, window->end - 1);
}

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

static void when_every_input_is_idle_the_highest_watermark_goes_out(void **state)
{
    //  A reaches watermark 48, B only 8. A goes idle first (20 ms after its last record,
    //  while B, with 300 ms, still holds the minimum at 8), then B: the map between them and
    //  the window has two idle inputs and must emit 48 (then idle), so [0,10) .. [30,40) fire
    //  while the sources are still open; [40,50) fires at the end of input.
    s_idle_watch_t watch = {.highest_end = INT64_MIN};
    s_idle_source_t a = {&watch, 50, 0, 0}, b = {&watch, 10, 0, 0};
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 1);
    rill_watermarks_t quick = {.idle_timeout_ms = 20}, slow = {.idle_timeout_ms = 300};
    rill_stream_t *timed_a = rill_stream_assign_timestamps(
        rill_env_from_source(env, s_send_then_wait, &a, true), s_record_time, NULL, &quick);
    rill_stream_t *timed_b = rill_stream_assign_timestamps(
        rill_env_from_source(env, s_send_then_wait, &b, true), s_record_time, NULL, &slow);
    rill_stream_t *both = rill_stream_map(rill_stream_union(timed_a, timed_b), s_identity, NULL);
    rill_keyed_stream_t keyed = rill_stream_key_by(both, rill_key_first_field, NULL);
    rill_window_t window = rill_window_tumbling(10);
    rill_stream_discard(rill_stream_window_process(keyed, &window, s_note_window, &watch));
    if (rill_env_execute(env))
        fail_msg("failed: %s", rill_env_error(env));
    rill_env_destroy(&env);
    assert_int_equal(watch.fired, 5);
    assert_int_equal(watch.fired_while_open, 4);
    assert_int_equal(watch.highest_end, 40);
}

//  ---- count windows: bounds are [earliest timestamp, latest timestamp + 1) over the records
//  that have one, whatever their order; the result's timestamp is the latest. (Flink's
//  GlobalWindow has no bounds and stamps results Long.MAX_VALUE; rill keeps them usable
//  downstream in event time instead.)

static void count_window_bounds_span_the_earliest_and_latest_timestamp(void **state)
{
    static const test_event_t events[] = {
        {"a", 1, 5},
        {"a", 2, 3},
        {"a", 4, 9}, //  out of order
        {"b", 1, RILL_NO_TIMESTAMP},
        {"b", 2, 7},
        {"b", 4, RILL_NO_TIMESTAMP},
        {"c", 1, RILL_NO_TIMESTAMP},
        {"c", 2, RILL_NO_TIMESTAMP},
        {"c", 4, RILL_NO_TIMESTAMP},
    };
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_count(3, 0);
    test_run_window_script(events, 9, 0, &window, RILL_WINDOW_AGG_SUM, results, NULL);
    rill_results_sort(results);
    char none[128];
    snprintf(none, sizeof none, "%lld\t%lld\tc\t7", (long long)RILL_NO_TIMESTAMP,
             (long long)RILL_NO_TIMESTAMP);
    const char *expected[] = {none, "3\t10\ta\t7", "7\t8\tb\t7"};
    test_expect_records(results, expected, 3);
    assert_int_equal(rill_results_record(results, 0).timestamp, RILL_NO_TIMESTAMP);
    assert_int_equal(rill_results_record(results, 1).timestamp, 9);
    assert_int_equal(rill_results_record(results, 2).timestamp, 7);
    for (size_t i = 0; i < 3; i++) {
        rill_record_t r = rill_results_record(results, i);
        char text[128];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        long long start, end;
        assert_int_equal(sscanf(text, "%lld\t%lld", &start, &end), 2);
        assert_true(start <= end);
    }
    rill_results_destroy(&results);
}

//  ---- window parameters are checked by the planner, before anything runs

static int s_generate_timed(uint64_t index, rill_collector_t *out, void *ctx)
{
    return rill_collector_emit(out, "k\t1", 3, (int64_t)index);
}

static int s_keep_first(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                        void *ctx)
{
    return rill_buffer_set(out, acc->data, acc->size);
}

static void s_count_create(void *acc, void *ctx)
{
    *(long *)acc = 0;
}

static int s_count_add(void *acc, const rill_record_t *in, void *ctx)
{
    ++*(long *)acc;
    return 0;
}

static int s_count_result(const void *acc, const rill_window_bounds_t *window,
                          const rill_key_t *key, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_appendf(out, "%ld", *(const long *)acc);
}

//  A counting aggregate without a merge function (enough for all but session windows).
static const rill_aggregate_t s_counter = {sizeof(long), s_count_create, s_count_add, NULL,
                                           s_count_result};

//  Plans generator -> timestamps -> key_by -> window 'hourly' -> discard. agg >= 0: the
//  built-in agg; S_REDUCE: a reduce window; S_AGGREGATE: the aggregate s_aggregate. Returns
//  the plan error ("" when the plan was made).
enum { S_REDUCE = -1, S_AGGREGATE = -2 };
static rill_aggregate_t s_aggregate;

static char *s_plan_window(const rill_window_t *window, int agg)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *s = rill_env_from_generator(env, s_generate_timed, NULL, 10);
    s = rill_stream_assign_timestamps(s, s_record_time, NULL, NULL);
    rill_keyed_stream_t keyed = rill_stream_key_by(s, rill_key_first_field, NULL);
    if (agg == S_AGGREGATE)
        s = rill_stream_window_aggregate(keyed, window, &s_aggregate, NULL);
    else if (agg == S_REDUCE)
        s = rill_stream_window_reduce(keyed, window, s_keep_first, NULL);
    else
        s = rill_stream_window_builtin(keyed, window, (rill_window_agg_t)agg);
    rill_stream_discard(rill_stream_name(s, "hourly"));
    char *error = strdup(rill_env_plan(env) ? "" : rill_env_error(env));
    rill_env_destroy(&env);
    return error;
}

static void s_expect_refused(rill_window_t window, int agg, const char *needle)
{
    char *error = s_plan_window(&window, agg);
    if (!strstr(error, "hourly") || !strstr(error, needle))
        fail_msg("error '%s' lacks operator 'hourly' or '%s'", error, needle);
    free(error);
}

static void s_expect_accepted(rill_window_t window, int agg)
{
    char *error = s_plan_window(&window, agg);
    if (*error)
        fail_msg("refused: %s", error);
    free(error);
}

//  Flink refuses the same at window creation: TumblingEventTimeWindows (size > 0),
//  SlidingEventTimeWindows (size > 0, |offset| < slide, so slide > 0), EventTimeSessionWindows
//  (gap > 0), WindowedStream.allowedLateness (not negative), countWindow (size, slide > 0).
static void the_planner_refuses_window_parameters_that_cannot_run(void **state)
{
    s_expect_refused(rill_window_sliding(10, 0), RILL_WINDOW_AGG_SUM, "slide");
    s_expect_refused(rill_window_sliding(10, -5), RILL_WINDOW_AGG_SUM, "slide");
    s_expect_refused(rill_window_sliding(0, 5), RILL_WINDOW_AGG_SUM, "size");
    s_expect_refused(rill_window_tumbling(0), RILL_WINDOW_AGG_SUM, "size");
    s_expect_refused(rill_window_tumbling(-10), S_REDUCE, "size");
    s_expect_refused(rill_window_session(0), RILL_WINDOW_AGG_SUM, "gap");
    s_expect_refused(rill_window_session(-1), RILL_WINDOW_AGG_SUM, "gap");
    s_expect_refused(rill_window_count(0, 0), RILL_WINDOW_AGG_SUM, "size");
    s_expect_refused(rill_window_count(3, -1), RILL_WINDOW_AGG_SUM, "slide");
    rill_window_t late = rill_window_tumbling(10);
    late.allowed_lateness = -1;
    s_expect_refused(late, RILL_WINDOW_AGG_SUM, "lateness");
    s_expect_refused((rill_window_t){.kind = (rill_window_kind_t)42, .size = 10},
                     RILL_WINDOW_AGG_SUM, "kind");
    rill_window_t domain = rill_window_tumbling(10);
    domain.time = (rill_time_domain_t)7;
    s_expect_refused(domain, RILL_WINDOW_AGG_SUM, "time domain");
    s_expect_refused(rill_window_tumbling(10), 99, "aggregation");
    //  An aggregate needs an accumulator to fold into, and a merge function for sessions.
    s_aggregate = s_counter;
    s_expect_accepted(rill_window_tumbling(10), S_AGGREGATE);
    s_expect_refused(rill_window_session(10), S_AGGREGATE, "merge function");
    s_aggregate.accumulator_size = 0;
    s_expect_refused(rill_window_tumbling(10), S_AGGREGATE, "accumulator_size");
    //  What Flink also allows: a slide longer than the size (gaps between windows).
    s_expect_accepted(rill_window_sliding(10, 20), RILL_WINDOW_AGG_SUM);
    s_expect_accepted(rill_window_count(2, 5), RILL_WINDOW_AGG_SUM);
}

//  Not Flink's (it would run until memory runs out): a sliding window that puts more than
//  max_windows_per_record windows on each record is refused; the limit is settable.
static void a_sliding_window_with_too_many_windows_per_record_is_refused(void **state)
{
    rill_window_t day_by_ms = rill_window_sliding(86400000, 1);
    char *error = s_plan_window(&day_by_ms, RILL_WINDOW_AGG_SUM);
    if (!strstr(error, "hourly") || !strstr(error, "86400000 windows") ||
        !strstr(error, "max_windows_per_record"))
        fail_msg("error '%s' does not name the operator, the count and the setting", error);
    free(error);
    //  At the default limit exactly: accepted; one more: refused.
    s_expect_accepted(rill_window_sliding(RILL_WINDOW_MAX_PER_RECORD, 1), RILL_WINDOW_AGG_SUM);
    s_expect_refused(rill_window_sliding(RILL_WINDOW_MAX_PER_RECORD + 1, 1), RILL_WINDOW_AGG_SUM,
                     "windows on every record");
    //  size / slide rounded up: 2001 / 2 puts 1001 windows on some records.
    s_expect_refused(rill_window_sliding(2001, 2), RILL_WINDOW_AGG_SUM, "1001 windows");
    day_by_ms.max_windows_per_record = 86400000;
    s_expect_accepted(day_by_ms, RILL_WINDOW_AGG_SUM);
    day_by_ms.max_windows_per_record = -1;
    s_expect_refused(day_by_ms, RILL_WINDOW_AGG_SUM, "max_windows_per_record");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_window_first_created_late_within_lateness_fires_once),
        cmocka_unit_test(the_windowed_job_prints_a_window_created_late_once),
        cmocka_unit_test(a_session_first_created_late_within_lateness_fires_once),
        cmocka_unit_test(sessions_that_touch_merge),
        cmocka_unit_test(windows_near_int64_max_with_lateness_still_fire),
        cmocka_unit_test(a_record_near_int64_min_does_not_push_the_watermark_to_infinity),
        cmocka_unit_test(sliding_windows_near_int64_min_saturate_their_start),
        cmocka_unit_test(when_every_input_is_idle_the_highest_watermark_goes_out),
        cmocka_unit_test(count_window_bounds_span_the_earliest_and_latest_timestamp),
        cmocka_unit_test(the_planner_refuses_window_parameters_that_cannot_run),
        cmocka_unit_test(a_sliding_window_with_too_many_windows_per_record_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
