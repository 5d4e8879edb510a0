/*  test_connect.c: two keyed streams connected into one process function (Flink's
    connect + KeyedCoProcessFunction, issue 16). Records of both streams with the same key reach
    the same subtask and share its keyed state; the function knows which stream a record came
    from; the operator's watermark is the lowest of its two inputs' (Flink: "the current
    watermark of an operator with multiple inputs is the minimum of its inputs' watermarks");
    and a stream that is not keyed is refused. Side outputs of process functions (Flink's
    OutputTag): each tag a stream of its own. */
#include "testutil.h"
#include "rill_operator.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_KEYS 1000

//  First stream: "k<i>\tP<i>" (a price per key).
static int s_prices(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\tP%llu", (unsigned long long)index,
                        (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Second stream: "k<i>\tQ<i>" (a quantity per key), keys in the other order.
static int s_quantities(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    unsigned long long key = S_KEYS - 1 - index;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\tQ%llu", key, key);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Keeps each side's value under its own name; once both are there, emits
//  "key<TAB>price<TAB>quantity", whichever came last. The output is the same in any order.
static int s_enrich(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                    void *ctx)
{
    (void)ctx;
    int input = rill_process_input(process);
    const char *tab = memchr(in->data, '\t', in->size);
    const char *value = tab + 1;
    size_t size = in->size - (size_t)(value - (const char *)in->data);
    //  The stream a record came from is the one it was written to.
    if (*value != (input == 0 ? 'P' : 'Q'))
        return -1;
    const void *other;
    size_t other_size;
    if (rill_state_value_get(process, input == 0 ? "quantity" : "price", &other, &other_size))
        return rill_state_value_set(process, input == 0 ? "price" : "quantity", value, size);
    const rill_key_t *key = rill_process_key(process);
    char text[96];
    int length = input == 0 ? snprintf(text, sizeof text, "%.*s\t%.*s\t%.*s", (int)key->size,
                                       (const char *)key->data, (int)size, value,
                                       (int)other_size, (const char *)other)
                            : snprintf(text, sizeof text, "%.*s\t%.*s\t%.*s", (int)key->size,
                                       (const char *)key->data, (int)other_size,
                                       (const char *)other, (int)size, value);
    return rill_collector_emit(out, text, (size_t)length, in->timestamp);
}

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void records_of_both_streams_meet_in_their_key_s_state(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    //  Different parallelism on each side and at the operator: the keys route both alike.
    rill_stream_t *prices = rill_stream_parallelism(
        rill_env_from_generator(env, s_prices, NULL, S_KEYS), 2);
    rill_stream_t *quantities = rill_stream_parallelism(
        rill_env_from_generator(env, s_quantities, NULL, S_KEYS), 3);
    rill_stream_t *joined = rill_stream_co_process(
        rill_stream_key_by(prices, rill_key_first_field, NULL),
        rill_stream_key_by(quantities, rill_key_first_field, NULL), s_enrich, NULL, NULL);
    rill_stream_parallelism(joined, 4);
    rill_stream_collect(joined, results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    assert_int_equal(rill_results_size(results), S_KEYS);
    rill_results_sort(results);
    char **expected = calloc(S_KEYS, sizeof(char *));
    for (int i = 0; i < S_KEYS; i++) {
        expected[i] = malloc(48);
        snprintf(expected[i], 48, "k%d\tP%d\tQ%d", i, i, i);
    }
    //  Sorted as bytes, as rill_results_sort sorts.
    qsort(expected, S_KEYS, sizeof(char *), s_compare_text);
    for (int i = 0; i < S_KEYS; i++) {
        rill_record_t r = rill_results_record(results, (size_t)i);
        assert_int_equal(r.size, strlen(expected[i]));
        assert_memory_equal(r.data, expected[i], r.size);
        free(expected[i]);
    }
    free(expected);
    //  The plan names it as what it is.
    const rill_plan_t *plan = rill_env_plan(env);
    bool named = false;
    for (int op = 0; op < rill_plan_operator_count(plan); op++)
        named = named || strcmp(rill_plan_operator(plan, op)->name, "co_process()") == 0;
    assert_true(named);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  The fast stream: records at times 0..999 at once. The slow one: the same times, a record
//  every 50 µs, so that its watermark trails far behind the fast one's.
static int s_fast(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return rill_collector_emit(out, "k\tfast", 6, (int64_t)index);
}

static int s_slow(rill_collector_t *out, void *ctx)
{
    int *next = ctx;
    if (*next == S_KEYS)
        return RILL_SOURCE_END;
    usleep(50);
    int64_t time = (*next)++;
    return rill_collector_emit(out, "k\tslow", 6, time) ? -1 : RILL_SOURCE_MORE;
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  Counts the slow stream's records (state "slow") and, on the fast stream's first record,
//  registers an event-time timer at 500.
static int s_count_slow(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                        void *ctx)
{
    (void)out, (void)ctx;
    if (rill_process_input(process) == 0)
        return in->timestamp == 0 ? rill_timer_register(process, RILL_TIME_EVENT, 500) : 0;
    const void *data;
    size_t size;
    uint64_t count = 0;
    if (rill_state_value_get(process, "slow", &data, &size) == 0)
        memcpy(&count, data, sizeof count);
    count++;
    return rill_state_value_set(process, "slow", &count, sizeof count);
}

//  At 500: how many of the slow stream's records had come, and the watermark.
static int s_report_slow(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                         rill_collector_t *out, void *ctx)
{
    (void)domain, (void)ctx;
    if (rill_process_input(process) != 0) //  in a timer, no input is current
        return -1;
    const void *data;
    size_t size;
    uint64_t count = 0;
    if (rill_state_value_get(process, "slow", &data, &size) == 0)
        memcpy(&count, data, sizeof count);
    char text[64];
    int length = snprintf(text, sizeof text, "%llu", (unsigned long long)count);
    return rill_collector_emit(out, text, (size_t)length, time);
}

static void the_watermark_is_the_lowest_of_the_two_inputs(void **state)
{
    (void)state;
    int next = 0;
    rill_env_t *env = rill_env_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_results_t *results = rill_results_new();
    rill_stream_t *fast = rill_stream_assign_timestamps(
        rill_env_from_generator(env, s_fast, NULL, S_KEYS), s_record_time, NULL, NULL);
    rill_stream_t *slow = rill_stream_assign_timestamps(
        rill_env_from_source(env, s_slow, &next, true), s_record_time, NULL, NULL);
    rill_stream_collect(rill_stream_co_process(rill_stream_key_by(fast, rill_key_first_field, NULL),
                                               rill_stream_key_by(slow, rill_key_first_field, NULL),
                                               s_count_slow, s_report_slow, NULL),
                        results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    assert_int_equal(rill_results_size(results), 1);
    rill_record_t r = rill_results_record(results, 0);
    char text[32];
    snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
    //  The timer at 500 fires once both watermarks reached 500: the slow stream's (the lower)
    //  only after its record at 500 and those before it came. Had the fast stream's watermark
    //  counted, the timer would have fired with few or none of them.
    print_message("slow records seen when the timer at 500 fired: %s\n", text);
    assert_true(atoi(text) >= 501);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Numbers 0..999 keyed by n % 7: evens to the main output, odds to side output 1, multiples
//  of 5 also to side output 2 (Flink's ProcessFunction with OutputTags).
static int s_numbers(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "%llu\t%llu", (unsigned long long)(index % 7),
                        (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

//  A record's bytes are not NUL-terminated: the number is read within them. (atol read on into
//  whatever followed the record in its batch buffer, stale bytes after the last record of a
//  batch, and so sent "998" followed by "5" to outputs 1 and 2 as if it were 9985.)
static int s_route(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                   void *ctx)
{
    (void)process, (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    rill_record_t value = {tab + 1, in->size - (size_t)(tab + 1 - (const char *)in->data),
                           in->timestamp};
    uint64_t n = test_record_number(&value);
    if (rill_collector_emit_side(out, n % 2 ? 1 : 0, value.data, value.size, in->timestamp))
        return -1;
    if (n % 5 == 0 && rill_collector_emit_side(out, 2, value.data, value.size, in->timestamp))
        return -1;
    //  Tags out of range are refused, not sent anywhere.
    return rill_collector_emit_side(out, RILL_OUTPUT_MAX_SIDE + 1, "x", 1, 0) == -1 ? 0 : -1;
}

//  Whether every number in results satisfies want(n), each such n in 0..999 exactly once, with
//  its own timestamp. If not, says which output and which numbers are missing, doubled or
//  unwanted, with the sink subtask each copy came from: a count alone does not say where a
//  record went.
static bool s_expect_numbers(rill_results_t *results, const char *name, bool (*want)(long))
{
    int seen[1000] = {0};
    char report[1024] = "";
    size_t used = 0, expected = 0;
    for (long n = 0; n < 1000; n++)
        expected += want(n);
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        char text[16];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        long n = atol(text);
        bool wanted = n >= 0 && n < 1000 && want(n);
        if (wanted && seen[n]++ == 0 && r.timestamp == n)
            continue;
        if (used < sizeof report)
            used += (size_t)snprintf(report + used, sizeof report - used,
                                     " %s %ld (timestamp %lld, sink subtask %d)",
                                     !wanted            ? "unwanted"
                                     : r.timestamp != n ? "mistimed"
                                                        : "doubled",
                                     n, (long long)r.timestamp, rill_results_subtask(results, i));
    }
    for (long n = 0; n < 1000 && used < sizeof report; n++)
        if (want(n) && !seen[n])
            used += (size_t)snprintf(report + used, sizeof report - used, " missing %ld", n);
    if (!*report && rill_results_size(results) == expected)
        return true;
    print_error("%s output: %zu records, %zu expected:%s\n", name, rill_results_size(results),
                expected, report);
    return false;
}

static bool s_even(long n)
{
    return n % 2 == 0;
}

static bool s_odd(long n)
{
    return n % 2 == 1;
}

static bool s_fives(long n)
{
    return n % 5 == 0;
}

static void a_process_function_emits_to_side_outputs(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_results_t *main_results = rill_results_new(), *odd = rill_results_new(),
                   *fives = rill_results_new();
    rill_stream_t *routed = rill_stream_process(
        rill_stream_key_by(rill_env_from_generator(env, s_numbers, NULL, 1000),
                           rill_key_first_field, NULL),
        s_route, NULL, NULL);
    rill_stream_collect(routed, main_results);
    //  A side output is a stream like any other: here it is redistributed before its sink.
    rill_stream_collect(rill_stream_rebalance(rill_stream_side_output(routed, 1)), odd);
    rill_stream_collect(rill_stream_side_output(routed, 2), fives);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    //  All three checked before failing: where one output lost a record another may hold it.
    bool main_ok = s_expect_numbers(main_results, "main", s_even);
    bool odd_ok = s_expect_numbers(odd, "side 1 (odd)", s_odd);
    bool fives_ok = s_expect_numbers(fives, "side 2 (fives)", s_fives);
    assert_true(main_ok && odd_ok && fives_ok);
    rill_results_destroy(&main_results);
    rill_results_destroy(&odd);
    rill_results_destroy(&fives);
    rill_env_destroy(&env);
}

//  Counts what s_route emits per output tag (0: main).
static int s_count_main(void *target, const rill_record_t *record)
{
    (void)record;
    ((int *)target)[RILL_OUTPUT_MAIN]++;
    return 0;
}

static int s_count_tagged(void *target, int tag, const rill_record_t *record)
{
    (void)record;
    ((int *)target)[tag]++;
    return 0;
}

//  A record in a batch buffer is followed by other bytes (the next entry, or stale ones after
//  the last): "998" followed by '5' is still 998, to the main output alone.
static void the_router_reads_only_the_record_s_own_bytes(void **state)
{
    (void)state;
    int emitted[RILL_OUTPUT_MAX_SIDE + 1] = {0};
    rill_collector_t out = {
        .emit = s_count_main, .emit_tagged = s_count_tagged, .target = emitted, .parallelism = 1};
    const char buffer[] = "4\t9985";
    rill_record_t record = {buffer, strlen(buffer) - 1, 998};
    assert_int_equal(s_route(NULL, &record, &out, NULL), 0);
    assert_int_equal(emitted[RILL_OUTPUT_MAIN], 1);
    assert_int_equal(emitted[1], 0);
    assert_int_equal(emitted[2], 0);
}

//  A tag nobody reads goes nowhere; side outputs of other operators, or tag 0, are refused.
static void side_outputs_are_refused_where_there_are_none(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *mapped = rill_stream_filter(rill_env_from_generator(env, s_numbers, NULL, 10),
                                               NULL, NULL);
    assert_null(rill_stream_side_output(mapped, 1));
    assert_non_null(strstr(rill_env_error(env), "side_output"));
    rill_env_destroy(&env);
    env = rill_env_new();
    rill_stream_t *routed = rill_stream_process(
        rill_stream_key_by(rill_env_from_generator(env, s_numbers, NULL, 10),
                           rill_key_first_field, NULL),
        s_route, NULL, NULL);
    assert_null(rill_stream_side_output(routed, 0));
    assert_non_null(strstr(rill_env_error(env), "1 .. RILL_OUTPUT_MAX_SIDE"));
    rill_env_destroy(&env);
}

//  Emits "r" on each record and "t" on the timer it registers at the record's time + 1000,
//  both without a timestamp: they take the record's time and the timer's.
static int s_untimed(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                     void *ctx)
{
    (void)ctx;
    return rill_timer_register(process, RILL_TIME_EVENT, in->timestamp + 1000) ||
           rill_collector_emit(out, "r", 1, RILL_NO_TIMESTAMP);
}

static int s_untimed_timer(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                           rill_collector_t *out, void *ctx)
{
    (void)process, (void)time, (void)domain, (void)ctx;
    return rill_collector_emit(out, "t", 1, RILL_NO_TIMESTAMP);
}

//  Splits "a b" into its words, without timestamps.
static int s_words(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return rill_collector_emit(out, "w1", 2, RILL_NO_TIMESTAMP) ||
           rill_collector_emit(out, "w2", 2, RILL_NO_TIMESTAMP) ||
           rill_collector_emit(out, "own", 3, 7);
}

//  Flink's TimestampedCollector: what a process function emits carries the input record's
//  timestamp, or the firing timer's time; a flat-map's output, its input's; a timestamp the
//  function gives wins.
static void output_without_a_timestamp_takes_the_input_s_or_the_timer_s(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_results_t *processed = rill_results_new(), *split = rill_results_new();
    rill_stream_t *numbers = rill_stream_assign_timestamps(
        rill_env_from_generator(env, s_numbers, NULL, 20), s_record_time, NULL, NULL);
    rill_stream_collect(rill_stream_process(rill_stream_key_by(numbers, rill_key_first_field, NULL),
                                            s_untimed, s_untimed_timer, NULL),
                        processed);
    rill_stream_collect(rill_stream_flat_map(numbers, s_words, NULL), split);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    //  20 records at times 0..19: "r" at each, "t" at each + 1000.
    assert_int_equal(rill_results_size(processed), 40);
    bool seen[2][20] = {{false}};
    for (size_t i = 0; i < 40; i++) {
        rill_record_t r = rill_results_record(processed, i);
        bool timer = ((const char *)r.data)[0] == 't';
        int64_t at = r.timestamp - (timer ? 1000 : 0);
        assert_true(at >= 0 && at < 20 && !seen[timer][at]);
        seen[timer][at] = true;
    }
    assert_int_equal(rill_results_size(split), 60);
    int own = 0;
    for (size_t i = 0; i < 60; i++) {
        rill_record_t r = rill_results_record(split, i);
        if (r.size == 3)
            own += r.timestamp == 7;
        else
            assert_true(r.timestamp >= 0 && r.timestamp < 20);
    }
    assert_int_equal(own, 20);
    rill_results_destroy(&processed);
    rill_results_destroy(&split);
    rill_env_destroy(&env);
}

//  co_map: the first stream's records become "a<n>", the second's "b<n>".
static int s_to_a(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    return rill_buffer_set(out, "a", 1) ||
           rill_buffer_append(out, tab + 1, in->size - (size_t)(tab + 1 - (const char *)in->data));
}

static int s_to_b(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    return rill_buffer_set(out, "b", 1) ||
           rill_buffer_append(out, tab + 1, in->size - (size_t)(tab + 1 - (const char *)in->data));
}

//  co_flat_map: the first stream's records twice, the second's not at all.
static int s_twice(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return rill_collector_emit(out, in->data, in->size, RILL_NO_TIMESTAMP) ||
           rill_collector_emit(out, in->data, in->size, RILL_NO_TIMESTAMP);
}

static int s_drop(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)in, (void)out, (void)ctx;
    return 0;
}

//  Flink's CoMapFunction / CoFlatMapFunction: each stream's records go to its own function.
static void co_map_and_co_flat_map_call_each_stream_s_function(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_results_t *mapped = rill_results_new(), *flat = rill_results_new();
    rill_stream_t *a = rill_env_from_generator(env, s_numbers, NULL, 100);
    rill_stream_t *b = rill_env_from_generator(env, s_numbers, NULL, 50);
    rill_stream_t *co = rill_stream_co_map(a, b, s_to_a, s_to_b, NULL);
    rill_stream_collect(co, mapped);
    rill_stream_collect(rill_stream_co_flat_map(rill_stream_rebalance(a), rill_stream_rebalance(b),
                                                s_twice, s_drop, NULL),
                        flat);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    const rill_plan_t *plan = rill_env_plan(env);
    bool named[2] = {false, false};
    for (int op = 0; op < rill_plan_operator_count(plan); op++) {
        named[0] = named[0] || strcmp(rill_plan_operator(plan, op)->name, "co_map()") == 0;
        named[1] = named[1] || strcmp(rill_plan_operator(plan, op)->name, "co_flat_map()") == 0;
    }
    assert_true(named[0] && named[1]);
    //  a0..a99 and b0..b49, once each.
    assert_int_equal(rill_results_size(mapped), 150);
    int seen[2][100] = {{0}};
    for (size_t i = 0; i < 150; i++) {
        rill_record_t r = rill_results_record(mapped, i);
        char text[16];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        int n = atoi(text + 1);
        assert_true((text[0] == 'a' && n < 100) || (text[0] == 'b' && n < 50));
        seen[text[0] == 'b'][n]++;
    }
    for (int n = 0; n < 100; n++) {
        assert_int_equal(seen[0][n], 1);
        assert_int_equal(seen[1][n], n < 50 ? 1 : 0);
    }
    //  Each of the first stream's records twice, none of the second's.
    assert_int_equal(rill_results_size(flat), 200);
    rill_results_destroy(&mapped);
    rill_results_destroy(&flat);
    rill_env_destroy(&env);
}

static int s_identity(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                      void *ctx)
{
    (void)process, (void)ctx;
    return rill_collector_emit(out, in->data, in->size, in->timestamp);
}

//  Both inputs must be keyed: state and timers are per key. A plain stream does not compile
//  there (test_keyed_type); a keyed stream made by hand around one is refused at plan time.
static void a_stream_that_is_not_keyed_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_keyed_stream_t keyed = rill_stream_key_by(rill_env_from_generator(env, s_prices, NULL, 10),
                                                   rill_key_first_field, NULL);
    rill_keyed_stream_t forged = {rill_env_from_generator(env, s_quantities, NULL, 10)};
    rill_stream_discard(rill_stream_co_process(keyed, forged, s_identity, NULL, NULL));
    assert_int_not_equal(rill_env_execute(env), 0);
    assert_non_null(strstr(rill_env_error(env), "keyed input stream"));
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_of_both_streams_meet_in_their_key_s_state),
        cmocka_unit_test(the_watermark_is_the_lowest_of_the_two_inputs),
        cmocka_unit_test(a_stream_that_is_not_keyed_is_refused),
        cmocka_unit_test(a_process_function_emits_to_side_outputs),
        cmocka_unit_test(the_router_reads_only_the_record_s_own_bytes),
        cmocka_unit_test(side_outputs_are_refused_where_there_are_none),
        cmocka_unit_test(output_without_a_timestamp_takes_the_input_s_or_the_timer_s),
        cmocka_unit_test(co_map_and_co_flat_map_call_each_stream_s_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
