/*  test_harness.c: the operator test harness (rill_harness.h, issue 16), used as a user would:
    processing-time timers on a manual clock (no sleeping), a tumbling event-time window firing
    exactly when the watermark passes its end (Flink: at end - 1), state time-to-live without
    waiting, a checkpoint restored at another parallelism, and the errors it reports. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void s_expect(rill_harness_t *harness, int tag, const char *const *expected)
{
    size_t count = 0;
    while (expected[count])
        count++;
    assert_int_equal(rill_harness_output_count(harness, tag), count);
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_harness_output(harness, tag, i);
        char text[128];
        snprintf(text, sizeof text, "%.*s@%lld", (int)r.size, (const char *)r.data,
                 (long long)r.timestamp);
        assert_string_equal(text, expected[i]);
    }
}

static int s_nothing(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)index, (void)out, (void)ctx;
    return 0;
}

//  A keyed stream of nothing, for an operator to harness.
static rill_keyed_stream_t s_keyed(rill_env_t *env)
{
    return rill_stream_key_by(rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED),
                              rill_key_first_field, NULL);
}

//  ---- processing-time timers

static int s_remind(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                    void *ctx)
{
    (void)in, (void)out, (void)ctx;
    return rill_timer_register(process, RILL_TIME_PROCESSING, rill_process_now(process) + 100);
}

static int s_reminded(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                      rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[64];
    int size = snprintf(text, sizeof text, "%.*s %s %lld", (int)rill_process_key(process)->size,
                        (const char *)rill_process_key(process)->data,
                        domain == RILL_TIME_PROCESSING ? "processing" : "event", (long long)time);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static void processing_time_timers_fire_on_the_manual_clock(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *op = rill_stream_process(s_keyed(env), s_remind, s_reminded, NULL);
    rill_stream_discard(op);
    char error[256];
    rill_harness_t *harness = rill_harness_new(env, op, 0, error, sizeof error);
    if (!harness)
        fail_msg("%s", error);
    assert_int_equal(rill_harness_processing_time(harness, 1000), 0);
    assert_int_equal(rill_harness_record(harness, 0, "a\t1", 3, 5), 0); //  timer at 1100
    assert_int_equal(rill_harness_processing_time(harness, 1050), 0);
    assert_int_equal(rill_harness_record(harness, 0, "b\t1", 3, 6), 0); //  timer at 1150
    assert_int_equal(rill_harness_processing_time(harness, 1099), 0);
    assert_int_equal(rill_harness_output_count(harness, 0), 0);
    assert_int_equal(rill_harness_processing_time(harness, 1100), 0);
    static const char *const first[] = {"a processing 1100@1100", NULL};
    s_expect(harness, 0, first);
    assert_int_equal(rill_harness_processing_time(harness, 5000), 0);
    static const char *const both[] = {"a processing 1100@1100", "b processing 1150@1150", NULL};
    s_expect(harness, 0, both);
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- a tumbling event-time window

static int s_describe(const rill_window_bounds_t *window, const rill_key_t *key,
                      const rill_record_t *records, size_t count, rill_collector_t *out, void *ctx)
{
    (void)records, (void)ctx;
    char text[64];
    int size = snprintf(text, sizeof text, "%.*s [%lld,%lld) %zu", (int)key->size,
                        (const char *)key->data, (long long)window->start,
                        (long long)window->end, count);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static void a_tumbling_window_fires_when_the_watermark_passes_its_end(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t window = rill_window_tumbling(10);
    rill_stream_t *op = rill_stream_window_process(s_keyed(env), &window, s_describe, NULL);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(env, op, 0, NULL, 0);
    assert_non_null(harness);
    assert_int_equal(rill_harness_record(harness, 0, "k\t1", 3, 1), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k\t2", 3, 5), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k\t3", 3, 12), 0);
    assert_int_equal(rill_harness_watermark(harness, 8), 0);
    assert_int_equal(rill_harness_output_count(harness, 0), 0);
    //  Flink fires a window once the watermark reaches its last millisecond (end - 1); its
    //  result carries that time.
    assert_int_equal(rill_harness_watermark(harness, 9), 0);
    static const char *const first[] = {"k [0,10) 2@9", NULL};
    s_expect(harness, 0, first);
    assert_int_equal(rill_harness_end(harness), 0);
    static const char *const both[] = {"k [0,10) 2@9", "k [10,20) 1@19", NULL};
    s_expect(harness, 0, both);
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- session windows with a gap per record

//  "k<TAB>gap": the record's own gap.
static int64_t s_gap(const rill_record_t *record, void *ctx)
{
    (void)ctx;
    return test_field_number(record, '\t');
}

//  Flink's DynamicEventTimeSessionWindows: each record's window is [t, t + its gap), merged
//  with the others of its key it overlaps.
static void session_windows_take_each_record_s_gap(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t window = rill_window_session_dynamic(s_gap, NULL);
    rill_stream_t *op = rill_stream_window_process(s_keyed(env), &window, s_describe, NULL);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(env, op, 0, NULL, 0);
    assert_non_null(harness);
    assert_int_equal(rill_harness_record(harness, 0, "k\t10", 4, 0), 0);  //  [0, 10)
    assert_int_equal(rill_harness_record(harness, 0, "k\t2", 3, 5), 0);   //  [5, 7): inside
    assert_int_equal(rill_harness_record(harness, 0, "k\t3", 3, 20), 0);  //  [20, 23)
    assert_int_equal(rill_harness_record(harness, 0, "k\t10", 4, 22), 0); //  [22, 32): merges
    assert_int_equal(rill_harness_record(harness, 0, "j\t1", 3, 5), 0);   //  [5, 6), another key
    assert_int_equal(rill_harness_watermark(harness, 40), 0);
    static const char *const expected[] = {"j [5,6) 1@5", "k [0,10) 2@9", "k [20,32) 2@31", NULL};
    //  Fired in time order of their ends.
    s_expect(harness, 0, expected);
    //  A record that gives no gap fails the job, saying why.
    assert_int_equal(rill_harness_record(harness, 0, "k\t0", 3, 50), -1);
    assert_non_null(strstr(rill_harness_error(harness), "gap"));
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- state time-to-live on the manual clock

static int s_ttl(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                 void *ctx)
{
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    if (tab[1] == 's')
        return rill_state_value_set(process, "v", "x", 1) ||
               rill_state_list_add(process, "l", "y", 1);
    const void *data;
    size_t size;
    bool value = rill_state_value_get(process, "v", &data, &size) == 0;
    bool list = rill_state_list_get(process, "l", &data, &size) == 0;
    const char *text = value && list ? "alive" : !value && !list ? "expired" : "half";
    return rill_collector_emit(out, text, strlen(text), RILL_NO_TIMESTAMP);
}

static void state_expires_on_the_manual_clock(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *op = rill_stream_state_ttl(rill_stream_process(s_keyed(env), s_ttl, NULL, NULL),
                                              1000);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(env, op, 0, NULL, 0);
    assert_non_null(harness);
    assert_int_equal(rill_harness_processing_time(harness, 10000), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k\tset", 5, 1), 0);
    assert_int_equal(rill_harness_processing_time(harness, 10999), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k\tread", 6, 2), 0);
    assert_int_equal(rill_harness_processing_time(harness, 11000), 0); //  written 1000 ms ago
    assert_int_equal(rill_harness_record(harness, 0, "k\tread", 6, 3), 0);
    static const char *const expected[] = {"alive@2", "expired@3", NULL};
    s_expect(harness, 0, expected);
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- a processing-time window

static void a_processing_time_window_fires_on_the_manual_clock(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_window_t window = rill_window_tumbling(100);
    window.time = RILL_TIME_PROCESSING;
    rill_stream_t *op = rill_stream_window_process(s_keyed(env), &window, s_describe, NULL);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(env, op, 0, NULL, 0);
    assert_non_null(harness);
    //  Records go to the window of the clock's time when they come, whatever their timestamp.
    assert_int_equal(rill_harness_processing_time(harness, 1010), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k	1", 3, 5), 0);
    assert_int_equal(rill_harness_processing_time(harness, 1090), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k	2", 3, 999999), 0);
    assert_int_equal(rill_harness_processing_time(harness, 1098), 0);
    assert_int_equal(rill_harness_output_count(harness, 0), 0);
    assert_int_equal(rill_harness_processing_time(harness, 1120), 0);
    assert_int_equal(rill_harness_record(harness, 0, "k	3", 3, 7), 0);
    static const char *const first[] = {"k [1000,1100) 2@1099", NULL};
    s_expect(harness, 0, first);
    assert_int_equal(rill_harness_processing_time(harness, 1300), 0);
    static const char *const both[] = {"k [1000,1100) 2@1099", "k [1100,1200) 1@1199", NULL};
    s_expect(harness, 0, both);
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- map state iteration

//  "put K V", "remove K", "list": the current key's map, walked in the order keys came.
static int s_map(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                 void *ctx)
{
    (void)ctx;
    char op[8], k[8], v[8];
    char text[64];
    snprintf(text, sizeof text, "%.*s", (int)in->size, (const char *)in->data);
    int fields = sscanf(strchr(text, '\t') + 1, "%7s %7s %7s", op, k, v);
    if (strcmp(op, "put") == 0 && fields == 3)
        return rill_state_map_put(process, "m", k, strlen(k), v, strlen(v));
    if (strcmp(op, "remove") == 0 && fields == 2)
        return rill_state_map_remove(process, "m", k, strlen(k));
    char listed[64] = "";
    int at = 0;
    const void *list, *cursor, *key, *value;
    size_t list_size, key_size, value_size;
    if (rill_state_map_keys(process, "m", &list, &list_size) == 0) {
        //  Copied: a state call moves what the list points into.
        char copy[64];
        if (list_size > sizeof copy)
            return -1;
        memcpy(copy, list, list_size);
        cursor = copy;
        while (rill_state_list_next(copy, list_size, &cursor, &key, &key_size) == 1) {
            if (rill_state_map_get(process, "m", key, key_size, &value, &value_size))
                return -1;
            at += snprintf(listed + at, sizeof listed - (size_t)at, "%s%.*s=%.*s", at ? " " : "",
                           (int)key_size, (const char *)key, (int)value_size,
                           (const char *)value);
        }
    }
    return rill_collector_emit(out, listed, (size_t)at, RILL_NO_TIMESTAMP);
}

//  Flink's MapState.entries(): every key of the map, once, with its value.
static void map_state_is_walked_key_by_key(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *op = rill_stream_process(s_keyed(env), s_map, NULL, NULL);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(env, op, 0, NULL, 0);
    assert_non_null(harness);
    static const char *const script[] = {"u\tlist",       "u\tput a 1",   "u\tput b 2",
                                         "u\tput c 3",    "u\tremove b",  "u\tput a 9",
                                         "u\tremove zz",  "u\tput d 4",   "u\tlist",
                                         "w\tlist",       "u\tremove a",  "u\tremove c",
                                         "u\tremove d",   "u\tlist",      NULL};
    for (int i = 0; script[i]; i++)
        assert_int_equal(rill_harness_record(harness, 0, script[i], strlen(script[i]), i), 0);
    //  Empty, then a (updated, not listed twice), c, d; another key has nothing; empty again.
    static const char *const expected[] = {"@0", "a=9 c=3 d=4@8", "@9", "@13", NULL};
    s_expect(harness, 0, expected);
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
}

//  ---- a checkpoint restored at another parallelism

//  Counts records per key (value state) and emits "key count".
static int s_count(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                   void *ctx)
{
    (void)in, (void)ctx;
    const void *data;
    size_t size;
    long count = 0;
    if (rill_state_value_get(process, "n", &data, &size) == 0)
        memcpy(&count, data, sizeof count);
    count++;
    char text[32];
    int length = snprintf(text, sizeof text, "%.*s %ld", (int)rill_process_key(process)->size,
                          (const char *)rill_process_key(process)->data, count);
    return rill_state_value_set(process, "n", &count, sizeof count) ||
           rill_collector_emit(out, text, (size_t)length, RILL_NO_TIMESTAMP);
}

static rill_harness_t *s_counting(rill_env_t **env, int parallelism, int subtask)
{
    *env = rill_env_new();
    rill_stream_t *op = rill_stream_parallelism(
        rill_stream_process(s_keyed(*env), s_count, NULL, NULL), parallelism);
    rill_stream_discard(op);
    rill_harness_t *harness = rill_harness_new(*env, op, subtask, NULL, 0);
    assert_non_null(harness);
    return harness;
}

static void a_checkpoint_restores_at_another_parallelism(void **state)
{
    (void)state;
    static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    rill_env_t *env;
    rill_harness_t *old = s_counting(&env, 1, 0);
    char text[8];
    for (int i = 0; i < 8; i++) {
        snprintf(text, sizeof text, "%s\t1", keys[i]);
        assert_int_equal(rill_harness_record(old, 0, text, strlen(text), 1), 0);
        assert_int_equal(rill_harness_record(old, 0, text, strlen(text), 2), 0);
    }
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(old, snapshot), 0);
    rill_harness_destroy(&old);
    rill_env_destroy(&env);
    //  Two new subtasks, both given every key: each key's count goes on from 2 in the one that
    //  owns its key group, and starts afresh in the other.
    int resumed = 0;
    for (int s = 0; s < 2; s++) {
        rill_harness_t *harness = s_counting(&env, 2, s);
        const rill_buffer_t *snapshots[] = {snapshot};
        assert_int_equal(rill_harness_restore(harness, snapshots, 1), 0);
        for (int i = 0; i < 8; i++) {
            snprintf(text, sizeof text, "%s\t1", keys[i]);
            assert_int_equal(rill_harness_record(harness, 0, text, strlen(text), 3), 0);
            rill_record_t r = rill_harness_output(harness, 0, (size_t)i);
            char got[16], want_resumed[16], want_fresh[16];
            snprintf(got, sizeof got, "%.*s", (int)r.size, (const char *)r.data);
            snprintf(want_resumed, sizeof want_resumed, "%s 3", keys[i]);
            snprintf(want_fresh, sizeof want_fresh, "%s 1", keys[i]);
            assert_true(strcmp(got, want_resumed) == 0 || strcmp(got, want_fresh) == 0);
            resumed += strcmp(got, want_resumed) == 0;
        }
        //  Restoring once records have gone in is refused.
        assert_int_equal(rill_harness_restore(harness, snapshots, 1), -1);
        assert_non_null(strstr(rill_harness_error(harness), "before the first record"));
        rill_harness_destroy(&harness);
        rill_env_destroy(&env);
    }
    assert_int_equal(resumed, 8); //  every key in exactly one subtask
    rill_buffer_destroy(&snapshot);
}

static void bad_calls_are_refused_with_a_reason(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *op = rill_stream_process(s_keyed(env), s_count, NULL, NULL);
    rill_stream_discard(op);
    char error[256];
    assert_null(rill_harness_new(env, op, 3, error, sizeof error));
    assert_non_null(strstr(error, "out of range"));
    rill_harness_t *harness = rill_harness_new(env, op, 0, error, sizeof error);
    assert_non_null(harness);
    assert_int_equal(rill_harness_record(harness, 1, "a\t1", 3, 1), -1);
    assert_non_null(strstr(rill_harness_error(harness), "no input 1"));
    rill_harness_destroy(&harness);
    rill_env_destroy(&env);
    //  A job that cannot be planned (the operator has no sink) says why.
    env = rill_env_new();
    op = rill_stream_process(s_keyed(env), s_count, NULL, NULL);
    assert_null(rill_harness_new(env, op, 0, error, sizeof error));
    assert_non_null(strstr(error, "no sink"));
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(processing_time_timers_fire_on_the_manual_clock),
        cmocka_unit_test(a_tumbling_window_fires_when_the_watermark_passes_its_end),
        cmocka_unit_test(state_expires_on_the_manual_clock),
        cmocka_unit_test(session_windows_take_each_record_s_gap),
        cmocka_unit_test(map_state_is_walked_key_by_key),
        cmocka_unit_test(a_processing_time_window_fires_on_the_manual_clock),
        cmocka_unit_test(a_checkpoint_restores_at_another_parallelism),
        cmocka_unit_test(bad_calls_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
