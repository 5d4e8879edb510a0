/*  test_triggers.c: triggers, evictors, global and custom windows, and window_apply's
    per-window state (rill_trigger.h, issue 16), each against the behaviour Flink documents for
    its counterpart, driven through the operator test harness with a manual clock, so every
    firing sequence is exact and nothing sleeps. Records are "KEY<TAB>NUMBER"; the window
    functions below print what a window held when it fired. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void s_expect(rill_harness_t *harness, int tag, const char *const *expected)
{
    size_t count = 0;
    while (expected[count])
        count++;
    size_t got = rill_harness_output_count(harness, tag);
    for (size_t i = 0; i < got || i < count; i++) {
        char text[160] = "(none)";
        if (i < got) {
            rill_record_t r = rill_harness_output(harness, tag, i);
            snprintf(text, sizeof text, "%.*s@%lld", (int)r.size, (const char *)r.data,
                     (long long)r.timestamp);
        }
        if (i >= count)
            fail_msg("unexpected output %zu: %s", i, text);
        assert_string_equal(text, expected[i]);
    }
}

static int s_nothing(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)index, (void)out, (void)ctx;
    return 0;
}

static rill_keyed_stream_t s_keyed(rill_env_t *env)
{
    return rill_stream_key_by(rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED),
                              rill_key_first_field, NULL);
}

//  The number after the first tab (records are not NUL-terminated: copy it out first).
static long s_value(const rill_record_t *record)
{
    const char *tab = memchr(record->data, '\t', record->size);
    if (!tab)
        return 0;
    size_t at = (size_t)(tab + 1 - (const char *)record->data);
    char number[32];
    snprintf(number, sizeof number, "%.*s", (int)(record->size - at), tab + 1);
    return strtol(number, NULL, 10);
}

//  The number after a record's last tab.
static long s_last_number(const rill_record_t *record)
{
    const char *text = record->data;
    size_t at = record->size;
    while (at > 0 && text[at - 1] != '\t')
        at--;
    char number[32] = "";
    snprintf(number, sizeof number, "%.*s", (int)(record->size - at), text + at);
    return strtol(number, NULL, 10);
}

//  Prints "KEY [START,END) v1+v2+...": what the window held, in order ("global" for the
//  global window's bounds).
static int s_list(const rill_window_bounds_t *window, const rill_key_t *key,
                  const rill_record_t *records, size_t count, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[256];
    int n = snprintf(text, sizeof text, "%.*s ", (int)key->size, (const char *)key->data);
    if (window->start == INT64_MIN && window->end == INT64_MAX)
        n += snprintf(text + n, sizeof text - (size_t)n, "global");
    else
        n += snprintf(text + n, sizeof text - (size_t)n, "[%lld,%lld)", (long long)window->start,
                      (long long)window->end);
    for (size_t i = 0; i < count && n < (int)sizeof text - 16; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%c%ld", i ? '+' : ' ',
                      s_value(&records[i]));
    return rill_collector_emit(out, text, (size_t)n, RILL_NO_TIMESTAMP);
}

static rill_harness_t *s_harness(rill_env_t *env, rill_stream_t *op)
{
    rill_stream_discard(op);
    char error[256];
    rill_harness_t *harness = rill_harness_new(env, op, 0, error, sizeof error);
    if (!harness)
        fail_msg("%s", error);
    return harness;
}

static void s_record(rill_harness_t *harness, const char *text, int64_t timestamp)
{
    if (rill_harness_record(harness, 0, text, strlen(text), timestamp))
        fail_msg("%s", rill_harness_error(harness));
}

//  ---- count trigger on global windows

//  Flink's GlobalWindows with CountTrigger.of(3): the window fires with everything it holds
//  each time three more records arrived; without purging it keeps them all. At the end of input
//  the last incomplete group is not emitted (GlobalWindow's trigger never sees the end).
static void count_trigger_fires_every_n_and_keeps_contents(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(3);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    for (int i = 1; i <= 7; i++) {
        char text[16];
        snprintf(text, sizeof text, "a\t%d", i);
        s_record(h, text, RILL_NO_TIMESTAMP);
    }
    s_record(h, "b\t100", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_end(h), 0);
    static const char *const want[] = {"a global 1+2+3@9223372036854775807",
                                       "a global 1+2+3+4+5+6@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  PurgingTrigger.of(CountTrigger.of(3)): each firing sees only the records since the last.
static void purging_count_trigger_fires_disjoint_groups(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_purging(rill_trigger_count(3));
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    for (int i = 1; i <= 7; i++) {
        char text[16];
        snprintf(text, sizeof text, "a\t%d", i);
        s_record(h, text, RILL_NO_TIMESTAMP);
    }
    assert_int_equal(rill_harness_end(h), 0);
    static const char *const want[] = {"a global 1+2+3@9223372036854775807",
                                       "a global 4+5+6@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  Flink's countWindow(4, 2) is GlobalWindows + CountEvictor.of(4) + CountTrigger.of(2): the
//  same written out gives the same results as rill_window_count(4, 2).
static void count_window_written_out_matches_count_window(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t spelled = rill_window_global();
    spelled.trigger = rill_trigger_count(2);
    spelled.evictor = rill_evictor_count(4, false);
    rill_window_t count = rill_window_count(4, 2);
    rill_harness_t *a =
        s_harness(env, rill_stream_window_builtin(s_keyed(env), &spelled, RILL_WINDOW_AGG_SUM));
    rill_harness_t *b =
        s_harness(env, rill_stream_window_builtin(s_keyed(env), &count, RILL_WINDOW_AGG_SUM));
    for (int i = 1; i <= 9; i++) {
        char text[16];
        snprintf(text, sizeof text, "k\t%d", i * i);
        s_record(a, text, 100 + i);
        s_record(b, text, 100 + i);
    }
    assert_int_equal(rill_harness_end(a), 0);
    assert_int_equal(rill_harness_end(b), 0);
    //  Sums of the last four at records 2, 4, 6, 8: 1+4, 1+4+9+16, 9+16+25+36, 25+36+49+64.
    static const long sums[] = {5, 30, 86, 174};
    assert_int_equal(rill_harness_output_count(a, 0), 4);
    assert_int_equal(rill_harness_output_count(b, 0), 4);
    for (size_t i = 0; i < 4; i++) {
        rill_record_t ra = rill_harness_output(a, 0, i), rb = rill_harness_output(b, 0, i);
        assert_int_equal(s_last_number(&ra), sums[i]);
        assert_int_equal(s_last_number(&rb), sums[i]);
    }
    rill_harness_destroy(&a);
    rill_harness_destroy(&b);
    rill_env_destroy(&env);
}

//  ---- time triggers

//  EventTimeTrigger set by hand on tumbling windows fires as the default does: when the
//  watermark reaches end - 1, with the result stamped end - 1.
static void event_time_trigger_fires_at_the_window_end(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_tumbling(10);
    w.trigger = rill_trigger_event_time();
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 1);
    s_record(h, "a\t2", 9);
    s_record(h, "a\t3", 10);
    assert_int_equal(rill_harness_watermark(h, 8), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 0);
    assert_int_equal(rill_harness_watermark(h, 9), 0);
    static const char *const first[] = {"a [0,10) 1+2@9", NULL};
    s_expect(h, 0, first);
    assert_int_equal(rill_harness_end(h), 0);
    static const char *const all[] = {"a [0,10) 1+2@9", "a [10,20) 3@19", NULL};
    s_expect(h, 0, all);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ContinuousEventTimeTrigger.of(4) on a 10 ms tumbling window: fires at 4 and 8 ms after the
//  interval start of the first record, and at the window's end (max timestamp 9), each time
//  with all the window holds (not purging).
static void continuous_event_time_trigger_fires_every_interval(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_tumbling(10);
    w.trigger = rill_trigger_continuous_event_time(4);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 1);
    assert_int_equal(rill_harness_watermark(h, 3), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 0);
    s_record(h, "a\t2", 3);
    assert_int_equal(rill_harness_watermark(h, 4), 0);
    s_record(h, "a\t3", 6);
    assert_int_equal(rill_harness_watermark(h, 8), 0);
    s_record(h, "a\t4", 9);
    assert_int_equal(rill_harness_watermark(h, 9), 0);
    static const char *const want[] = {"a [0,10) 1+2@9", "a [0,10) 1+2+3@9",
                                       "a [0,10) 1+2+3+4@9", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  The same, purging: each firing holds only what came since the previous one.
static void purging_continuous_trigger_fires_deltas(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_tumbling(10);
    w.trigger = rill_trigger_purging(rill_trigger_continuous_event_time(4));
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 1);
    s_record(h, "a\t2", 3);
    assert_int_equal(rill_harness_watermark(h, 4), 0);
    s_record(h, "a\t3", 6);
    assert_int_equal(rill_harness_watermark(h, 8), 0);
    assert_int_equal(rill_harness_watermark(h, 9), 0); //  nothing new: nothing fires
    static const char *const want[] = {"a [0,10) 1+2@9", "a [0,10) 3@9", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ContinuousProcessingTimeTrigger.of(100) on a global window, on the manual clock: fires at
//  the next multiple of 100 after the first record and every 100 ms after; at the end of input
//  the pending timer fires once.
static void continuous_processing_time_trigger_on_the_manual_clock(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_continuous_processing_time(100);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    assert_int_equal(rill_harness_processing_time(h, 1030), 0);
    s_record(h, "a\t1", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_processing_time(h, 1099), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 0);
    assert_int_equal(rill_harness_processing_time(h, 1100), 0);
    s_record(h, "a\t2", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_processing_time(h, 1250), 0);
    s_record(h, "a\t3", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_end(h), 0);
    static const char *const want[] = {"a global 1@9223372036854775807",
                                       "a global 1+2@9223372036854775807",
                                       "a global 1+2+3@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  A processing-time tumbling window with an explicit ProcessingTimeTrigger fires when the
//  clock reaches end - 1, then cleans up; a record the clock still puts in that window opens it
//  again, and its timer is due at once.
static void processing_time_trigger_fires_at_the_clock(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_tumbling(100);
    w.time = RILL_TIME_PROCESSING;
    w.trigger = rill_trigger_processing_time();
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    assert_int_equal(rill_harness_processing_time(h, 150), 0);
    s_record(h, "a\t1", RILL_NO_TIMESTAMP);
    s_record(h, "a\t2", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_processing_time(h, 198), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 0);
    assert_int_equal(rill_harness_processing_time(h, 199), 0);
    s_record(h, "a\t3", RILL_NO_TIMESTAMP); //  clock 199: still [100,200), fired already
    assert_int_equal(rill_harness_processing_time(h, 200), 0);
    s_record(h, "a\t4", RILL_NO_TIMESTAMP);
    assert_int_equal(rill_harness_processing_time(h, 299), 0);
    static const char *const want[] = {"a [100,200) 1+2@199", "a [100,200) 3@199",
                                       "a [200,300) 4@299", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- evictors

//  CountEvictor.of(2) before the function, CountTrigger.of(3): each firing sees the last two
//  records, and only those stay in the window.
static void count_evictor_keeps_the_last_n(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(3);
    w.evictor = rill_evictor_count(2, false);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    for (int i = 1; i <= 6; i++) {
        char text[16];
        snprintf(text, sizeof text, "a\t%d", i);
        s_record(h, text, RILL_NO_TIMESTAMP);
    }
    //  At 3: [1,2,3] -> 2+3. Then 2,3 stay; 4,5,6 arrive; at 6: [2,3,4,5,6] -> 5+6.
    static const char *const want[] = {"a global 2+3@9223372036854775807",
                                       "a global 5+6@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  Evicting after the function: the function sees everything, the window keeps the last two.
static void count_evictor_after_the_function(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(3);
    w.evictor = rill_evictor_count(2, true);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    for (int i = 1; i <= 6; i++) {
        char text[16];
        snprintf(text, sizeof text, "a\t%d", i);
        s_record(h, text, RILL_NO_TIMESTAMP);
    }
    static const char *const want[] = {"a global 1+2+3@9223372036854775807",
                                       "a global 2+3+4+5+6@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  TimeEvictor.of(1000): with the newest timestamp as now, records at or before now - 1000 go.
static void time_evictor_keeps_the_recent_records(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(4);
    w.evictor = rill_evictor_time(1000, false);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 0);
    s_record(h, "a\t2", 1000); //  exactly newest - 1000: evicted (Flink: <= cutoff)
    s_record(h, "a\t3", 1500);
    s_record(h, "a\t4", 2000);
    static const char *const want[] = {"a global 3+4@9223372036854775807", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

static int s_evict_odd(const rill_record_t *records, size_t count,
                       const rill_window_bounds_t *window, bool before, bool *evict, void *ctx)
{
    (void)window;
    int *calls = ctx;
    calls[before ? 0 : 1]++;
    for (size_t i = 0; i < count; i++)
        evict[i] = before && s_value(&records[i]) % 2 != 0;
    return 0;
}

//  A user evictor is called before and after the function; here it takes out odd values.
//  An evictor with an accumulating function: the built-in sum folds what is left.
static void custom_evictor_with_a_builtin_sum(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    int calls[2] = {0, 0};
    rill_window_t w = rill_window_tumbling(10);
    w.evictor = rill_evictor_custom(s_evict_odd, calls);
    rill_harness_t *h =
        s_harness(env, rill_stream_window_builtin(s_keyed(env), &w, RILL_WINDOW_AGG_SUM));
    s_record(h, "a\t1", 1);
    s_record(h, "a\t2", 2);
    s_record(h, "a\t3", 3);
    s_record(h, "a\t4", 4);
    assert_int_equal(rill_harness_watermark(h, 9), 0);
    static const char *const want[] = {"0\t10\ta\t6@9", NULL};
    s_expect(h, 0, want);
    assert_int_equal(calls[0], 1);
    assert_int_equal(calls[1], 1);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- a user trigger

typedef struct {
    int clears;
} s_bang_t;

//  Fires and purges on a record "!" (value 0 after the tab: "KEY\t!"), and at the window's end
//  through an event-time timer it registers and deletes in clear.
static rill_trigger_result_t s_bang_element(rill_window_context_t *window,
                                            const rill_record_t *record, int64_t timestamp,
                                            void *ctx)
{
    (void)timestamp, (void)ctx;
    int64_t max = rill_window_context_bounds(window)->end - 1;
    if (rill_window_timer_register(window, true, max))
        return RILL_TRIGGER_ERROR;
    if (record->size && ((const char *)record->data)[record->size - 1] == '!')
        return RILL_TRIGGER_FIRE_AND_PURGE;
    return RILL_TRIGGER_CONTINUE;
}

static rill_trigger_result_t s_bang_event(rill_window_context_t *window, int64_t time, void *ctx)
{
    (void)ctx;
    return time == rill_window_context_bounds(window)->end - 1 ? RILL_TRIGGER_FIRE
                                                               : RILL_TRIGGER_CONTINUE;
}

static void s_bang_clear(rill_window_context_t *window, void *ctx)
{
    s_bang_t *bang = ctx;
    bang->clears++;
    rill_window_timer_delete(window, true, rill_window_context_bounds(window)->end - 1);
}

static void user_trigger_fires_purges_and_clears(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    s_bang_t bang = {0};
    rill_window_t w = rill_window_tumbling(10);
    w.allowed_lateness = 5;
    w.trigger = rill_trigger_custom(s_bang_element, s_bang_event, NULL, NULL, s_bang_clear, &bang);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 1);
    s_record(h, "a\t2", 2);
    s_record(h, "a\t!", 3); //  fires 1+2+! (! reads as 0) and purges
    s_record(h, "a\t4", 4);
    assert_int_equal(rill_harness_watermark(h, 9), 0); //  the end timer: 4
    assert_int_equal(bang.clears, 0);
    //  Late but within the lateness: the trigger registers its end timer again, for a time
    //  the watermark has passed, so it fires at the next watermark (Flink's timers do too).
    s_record(h, "a\t5", 5);
    assert_int_equal(rill_harness_watermark(h, 14), 0); //  then cleanup: 9 + 5, clear runs once
    assert_int_equal(bang.clears, 1);
    static const char *const want[] = {"a [0,10) 1+2+0@9", "a [0,10) 4@9", "a [0,10) 4+5@9",
                                       NULL};
    s_expect(h, 0, want);
    s_record(h, "a\t6", 6); //  after the cleanup: late, to the side output
    static const char *const late[] = {"a\t6@6", NULL};
    s_expect(h, RILL_OUTPUT_LATE, late);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- session windows with a trigger that merges

//  CountTrigger.of(3) on session windows (gap 10): two sessions of a key with one and two
//  records merge when a record bridges them (touching counts, Flink's TimeWindow.intersects);
//  CountTrigger.onMerge sums their counts (1 + 2 = 3), and the count fires with the next
//  record of the merged session.
static void count_trigger_on_merging_sessions(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_session(10);
    w.trigger = rill_trigger_count(3);
    rill_harness_t *h =
        s_harness(env, rill_stream_window_builtin(s_keyed(env), &w, RILL_WINDOW_AGG_SUM));
    s_record(h, "a\t1", 0);  //  [0,10)
    s_record(h, "a\t2", 15); //  [15,25)
    s_record(h, "a\t3", 17); //  [15,27): count 2
    assert_int_equal(rill_harness_output_count(h, 0), 0);
    s_record(h, "a\t4", 8); //  [8,18) bridges both: [0,27), counts 1 + 2 merged, + 1 = 4 >= 3
    static const char *const want[] = {"0\t27\ta\t10@26", NULL};
    s_expect(h, 0, want);
    //  The merged window's count started over: two more records do not fire it, the watermark
    //  does nothing (a count trigger ignores time), and the end of input fires nothing more.
    s_record(h, "a\t5", 20);
    s_record(h, "a\t6", 21);
    assert_int_equal(rill_harness_watermark(h, 100), 0);
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- window_apply: per-window and per-key state

//  Flink's ProcessWindowFunction with windowState and globalState: with allowed lateness a
//  window fires again for each late record; the function counts its own firings per window
//  and per key. Per-window state goes at the window's cleanup, per-key state stays.
static int s_apply(rill_window_context_t *window, const rill_record_t *records, size_t count,
                   rill_collector_t *out, void *ctx)
{
    (void)ctx;
    int64_t fired = 0, total = 0;
    const void *data;
    size_t size;
    if (rill_window_state_get(window, "fired", &data, &size) == 0 && size == sizeof fired)
        memcpy(&fired, data, sizeof fired);
    if (rill_window_global_state_get(window, "total", &data, &size) == 0 && size == sizeof total)
        memcpy(&total, data, sizeof total);
    fired++, total++;
    //  Timers belong to triggers: a window function is refused.
    if (rill_window_timer_register(window, true, 100) != -1)
        return -1;
    if (rill_window_state_set(window, "fired", &fired, sizeof fired) ||
        rill_window_global_state_set(window, "total", &total, sizeof total))
        return -1;
    const rill_window_bounds_t *b = rill_window_context_bounds(window);
    const rill_key_t *key = rill_window_context_key(window);
    char text[96];
    int n = snprintf(text, sizeof text, "%.*s [%lld,%lld) n=%zu fired=%lld total=%lld wm=%lld",
                     (int)key->size, (const char *)key->data, (long long)b->start,
                     (long long)b->end, count, (long long)fired, (long long)total,
                     (long long)rill_window_context_watermark(window));
    return rill_collector_emit(out, text, (size_t)n, RILL_NO_TIMESTAMP);
}

static void window_apply_keeps_per_window_and_per_key_state(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_tumbling(10);
    w.allowed_lateness = 10;
    rill_harness_t *h = s_harness(env, rill_stream_window_apply(s_keyed(env), &w, s_apply, NULL));
    s_record(h, "a\t1", 1);
    s_record(h, "a\t1", 2);
    assert_int_equal(rill_harness_watermark(h, 9), 0);
    s_record(h, "a\t1", 3); //  late within lateness: fires again, fired = 2
    assert_int_equal(rill_harness_watermark(h, 19), 0); //  [0,10) cleaned up at 9 + 10
    s_record(h, "a\t1", 25);
    assert_int_equal(rill_harness_watermark(h, 29), 0);
    static const char *const want[] = {
        "a [0,10) n=2 fired=1 total=1 wm=9@9", "a [0,10) n=3 fired=2 total=2 wm=9@9",
        "a [20,30) n=1 fired=1 total=3 wm=29@29", NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- custom assigners

//  Puts each record into its 10 ms and its 100 ms window (two granularities at once), for a
//  record with a value of 0 none (dropped, as Flink drops a record assigned no window).
static long s_two_scales(const rill_record_t *record, int64_t time, rill_window_bounds_t *windows,
                         size_t max, void *ctx)
{
    (void)ctx;
    if (max < 2)
        return -1;
    if (s_value(record) == 0)
        return 0;
    windows[0] = (rill_window_bounds_t){time - time % 10, time - time % 10 + 10};
    windows[1] = (rill_window_bounds_t){time - time % 100, time - time % 100 + 100};
    return 2;
}

static void custom_assigner_puts_records_in_its_windows(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_custom(s_two_scales, NULL, RILL_TIME_EVENT);
    rill_harness_t *h = s_harness(env, rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    s_record(h, "a\t1", 5);
    s_record(h, "a\t0", 6);
    s_record(h, "a\t2", 15);
    assert_int_equal(rill_harness_watermark(h, 99), 0);
    static const char *const want[] = {"a [0,10) 1@9", "a [10,20) 2@19", "a [0,100) 1+2@99",
                                       NULL};
    s_expect(h, 0, want);
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
}

//  ---- checkpoints

//  A count trigger's counts and a continuous trigger's timers are state: a checkpoint taken
//  mid-way and restored into a new harness continues exactly where the first would have.
static void trigger_state_survives_a_checkpoint(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(3);
    rill_stream_t *op = rill_stream_window_process(s_keyed(env), &w, s_list, NULL);
    rill_harness_t *h = s_harness(env, op);
    s_record(h, "a\t1", RILL_NO_TIMESTAMP);
    s_record(h, "a\t2", RILL_NO_TIMESTAMP);
    rill_buffer_t *saved = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(h, saved), 0);
    rill_harness_destroy(&h);
    char error[256];
    rill_harness_t *again = rill_harness_new(env, op, 0, error, sizeof error);
    assert_non_null(again);
    const rill_buffer_t *snapshots[] = {saved};
    assert_int_equal(rill_harness_restore(again, snapshots, 1), 0);
    s_record(again, "a\t3", RILL_NO_TIMESTAMP); //  the third since the start: fires
    static const char *const want[] = {"a global 1+2+3@9223372036854775807", NULL};
    s_expect(again, 0, want);
    rill_harness_destroy(&again);
    rill_buffer_destroy(&saved);

    //  Processing-time timers of a continuous trigger, restored.
    rill_window_t c = rill_window_global();
    c.trigger = rill_trigger_continuous_processing_time(100);
    op = rill_stream_window_process(s_keyed(env), &c, s_list, NULL);
    h = s_harness(env, op);
    assert_int_equal(rill_harness_processing_time(h, 10), 0);
    s_record(h, "b\t7", RILL_NO_TIMESTAMP); //  timer at 100
    saved = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(h, saved), 0);
    rill_harness_destroy(&h);
    again = rill_harness_new(env, op, 0, error, sizeof error);
    assert_non_null(again);
    snapshots[0] = saved;
    assert_int_equal(rill_harness_restore(again, snapshots, 1), 0);
    assert_int_equal(rill_harness_processing_time(again, 100), 0);
    static const char *const fired[] = {"b global 7@9223372036854775807", NULL};
    s_expect(again, 0, fired);
    rill_harness_destroy(&again);
    rill_buffer_destroy(&saved);
    rill_env_destroy(&env);
}

//  ---- what the planner refuses

static void s_refused(rill_window_t w, const char *needle)
{
    rill_env_t *env = rill_env_new();
    rill_stream_discard(rill_stream_window_process(s_keyed(env), &w, s_list, NULL));
    assert_null(rill_env_plan(env));
    if (!strstr(rill_env_error(env), needle))
        fail_msg("error '%s' does not say '%s'", rill_env_error(env), needle);
    rill_env_destroy(&env);
}

static void bad_triggers_and_evictors_are_refused(void **state)
{
    (void)state;
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(0);
    s_refused(w, "count trigger's count must be > 0");
    w = rill_window_tumbling(10);
    w.trigger = rill_trigger_continuous_event_time(0);
    s_refused(w, "interval must be > 0");
    w = rill_window_session(10);
    w.trigger = rill_trigger_custom(s_bang_element, NULL, NULL, NULL, NULL, NULL);
    s_refused(w, "needs on_merge");
    w = rill_window_count(3, 0);
    w.trigger = rill_trigger_count(2);
    s_refused(w, "count windows come with their own trigger");
    w = rill_window_custom(NULL, NULL, RILL_TIME_EVENT);
    s_refused(w, "needs its assign_fn");
    w = rill_window_global();
    w.evictor = rill_evictor_count(0, false);
    s_refused(w, "an evictor needs count > 0");
    w = rill_window_global();
    w.trigger.kind = (rill_trigger_kind_t)99;
    s_refused(w, "unknown trigger kind 99");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(count_trigger_fires_every_n_and_keeps_contents),
        cmocka_unit_test(purging_count_trigger_fires_disjoint_groups),
        cmocka_unit_test(count_window_written_out_matches_count_window),
        cmocka_unit_test(event_time_trigger_fires_at_the_window_end),
        cmocka_unit_test(continuous_event_time_trigger_fires_every_interval),
        cmocka_unit_test(purging_continuous_trigger_fires_deltas),
        cmocka_unit_test(continuous_processing_time_trigger_on_the_manual_clock),
        cmocka_unit_test(processing_time_trigger_fires_at_the_clock),
        cmocka_unit_test(count_evictor_keeps_the_last_n),
        cmocka_unit_test(count_evictor_after_the_function),
        cmocka_unit_test(time_evictor_keeps_the_recent_records),
        cmocka_unit_test(custom_evictor_with_a_builtin_sum),
        cmocka_unit_test(user_trigger_fires_purges_and_clears),
        cmocka_unit_test(count_trigger_on_merging_sessions),
        cmocka_unit_test(window_apply_keeps_per_window_and_per_key_state),
        cmocka_unit_test(custom_assigner_puts_records_in_its_windows),
        cmocka_unit_test(trigger_state_survives_a_checkpoint),
        cmocka_unit_test(bad_triggers_and_evictors_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
