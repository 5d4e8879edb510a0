/*  test_join.c: the interval join against Flink's documented semantics (KeyedStream.intervalJoin,
    IntervalJoinOperator): a left record at l joins each right record of its key at r with
    l + lower <= r <= l + upper, bounds included, once, in whichever order they come; the
    result's timestamp is max(l, r); a record older than the watermark is late and dropped; and
    state is cleaned up as the watermark passes. The first test runs a real job at several
    parallelisms against every pair worked out by brute force; the others drive the operator on
    the test harness (records on input 0 or 1, watermarks), so that what is late and what is
    cleaned up is exact. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_TIMES 120
#define S_KEYS 5
#define S_LOWER (-3)
#define S_UPPER 2

//  Record t: key "k<t % 5>", at time t; the left stream says L, the right one R.
static int s_left(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\tL%llu", (unsigned long long)(index % S_KEYS),
                        (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

static int s_right(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    //  The right stream's records at 2t and 2t + 1 share a key, so that a key has several
    //  candidates within the interval.
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\tR%llu",
                        (unsigned long long)((index / 2) % S_KEYS), (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  "k<TAB>L<l><TAB>R<r>", without a timestamp: it takes max(l, r).
static int s_pair(const rill_record_t *left, const rill_record_t *right, rill_collector_t *out,
                  void *ctx)
{
    (void)ctx;
    const char *rt = memchr(right->data, '\t', right->size);
    char text[64];
    int size = snprintf(text, sizeof text, "%.*s\t%.*s", (int)left->size,
                        (const char *)left->data,
                        (int)(right->size - (size_t)(rt + 1 - (const char *)right->data)), rt + 1);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  A generator at parallelism p with its timestamp assigner at p too (chained to it): every
//  source subtask's records are in time order, so none is late.
static rill_stream_t *s_timed(rill_env_t *env, rill_generate_fn generate, int p)
{
    return rill_stream_parallelism(
        rill_stream_assign_timestamps(
            rill_stream_parallelism(rill_env_from_generator(env, generate, NULL, S_TIMES), p),
            s_record_time, NULL, NULL),
        p);
}

static void s_every_pair_is_joined_once(int left_p, int right_p, int join_p)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_results_t *results = rill_results_new();
    rill_stream_t *left = s_timed(env, s_left, left_p), *right = s_timed(env, s_right, right_p);
    rill_stream_t *joined = rill_stream_interval_join(
        rill_stream_key_by(left, rill_key_first_field, NULL),
        rill_stream_key_by(right, rill_key_first_field, NULL), S_LOWER, S_UPPER, s_pair, NULL);
    rill_stream_collect(rill_stream_parallelism(joined, join_p), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    //  Every pair by brute force: same key, l + lower <= r <= l + upper.
    char **expected = calloc(S_TIMES * S_TIMES, sizeof(char *));
    size_t count = 0;
    for (int l = 0; l < S_TIMES; l++)
        for (int i = 0; i < S_TIMES; i++) {
            int r = i, rkey = (i / 2) % S_KEYS;
            if (l % S_KEYS != rkey || r < l + S_LOWER || r > l + S_UPPER)
                continue;
            expected[count] = malloc(48);
            snprintf(expected[count], 48, "k%d\tL%d\tR%d", rkey, l, r);
            count++;
        }
    qsort(expected, count, sizeof(char *), s_compare_text);
    rill_results_sort(results);
    print_message("p %d/%d/%d: %zu pairs expected, %zu joined\n", left_p, right_p, join_p, count,
                  rill_results_size(results));
    assert_true(count > S_TIMES / 2); //  the data has pairs to find
    assert_int_equal(rill_results_size(results), count);
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_results_record(results, i);
        assert_int_equal(r.size, strlen(expected[i]));
        assert_memory_equal(r.data, expected[i], r.size);
        //  Its timestamp: the later of the two.
        int l = 0, rt = 0;
        assert_int_equal(sscanf(strchr(expected[i], 'L'), "L%d\tR%d", &l, &rt), 2);
        assert_int_equal(r.timestamp, l > rt ? l : rt);
        free(expected[i]);
    }
    free(expected);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static void every_pair_within_the_bounds_is_joined_once(void **state)
{
    (void)state;
    s_every_pair_is_joined_once(1, 1, 1);
    s_every_pair_is_joined_once(1, 1, 4);
    s_every_pair_is_joined_once(2, 1, 1);
    s_every_pair_is_joined_once(1, 3, 1);
    s_every_pair_is_joined_once(2, 3, 4);
}

//  ---- window join

//  Every (left, right) pair of one key in one window, as "text@window's last ms", by brute
//  force over the windows of size `size` starting every `slide`.
static size_t s_window_pairs(int64_t size, int64_t slide, char **expected)
{
    size_t count = 0;
    for (int l = 0; l < S_TIMES; l++)
        for (int r = 0; r < S_TIMES; r++) {
            if (l % S_KEYS != (r / 2) % S_KEYS)
                continue;
            int lo = l < r ? l : r, hi = l < r ? r : l;
            //  Windows may start before 0 (Flink's sliding windows of a record at 0 include
            //  [-5, 5) for size 10, slide 5).
            for (int64_t start = hi - hi % slide; start > hi - size; start -= slide) {
                if (start > lo)
                    continue; //  the window must hold both
                expected[count] = malloc(64);
                snprintf(expected[count++], 64, "k%d\tL%d\tR%d@%lld", l % S_KEYS, l, r,
                         (long long)(start + size - 1));
            }
        }
    return count;
}

static void s_window_join(int64_t size, int64_t slide, int left_p, int right_p, int join_p)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_results_t *results = rill_results_new();
    rill_stream_t *left = s_timed(env, s_left, left_p), *right = s_timed(env, s_right, right_p);
    rill_window_t window = size == slide ? rill_window_tumbling(size)
                                         : rill_window_sliding(size, slide);
    rill_stream_t *joined = rill_stream_window_join(
        rill_stream_key_by(left, rill_key_first_field, NULL),
        rill_stream_key_by(right, rill_key_first_field, NULL), &window, s_pair, NULL);
    rill_stream_collect(rill_stream_parallelism(joined, join_p), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    char **expected = calloc(S_TIMES * S_TIMES * 4, sizeof(char *));
    size_t count = s_window_pairs(size, slide, expected);
    qsort(expected, count, sizeof(char *), s_compare_text);
    char **got = calloc(rill_results_size(results) + 1, sizeof(char *));
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        got[i] = malloc(r.size + 32);
        snprintf(got[i], r.size + 32, "%.*s@%lld", (int)r.size, (const char *)r.data,
                 (long long)r.timestamp);
    }
    qsort(got, rill_results_size(results), sizeof(char *), s_compare_text);
    print_message("window %lld/%lld, p %d/%d/%d: %zu pairs expected, %zu joined\n",
                  (long long)size, (long long)slide, left_p, right_p, join_p, count,
                  rill_results_size(results));
    assert_true(count > S_TIMES / 2);
    assert_int_equal(rill_results_size(results), count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(got[i], expected[i]);
        free(expected[i]);
        free(got[i]);
    }
    free(expected);
    free(got);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Flink's window join: an inner join per window, every pair of the window's left and right
//  records with one key, at the window's last millisecond; in a pair's every sliding window.
static void a_window_join_pairs_the_records_of_each_window(void **state)
{
    (void)state;
    s_window_join(10, 10, 1, 1, 1);
    s_window_join(10, 10, 2, 3, 4);
    s_window_join(10, 5, 2, 1, 3);
}

//  ---- the operator on the test harness (rill_harness.h)

static int s_nothing(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)index, (void)out, (void)ctx;
    return 0;
}

typedef struct {
    rill_env_t *env;
    rill_harness_t *harness;
} s_driven_t;

//  The join of two empty unbounded streams, its operator on a harness.
static void s_drive(s_driven_t *self, int64_t lower, int64_t upper)
{
    self->env = rill_env_new();
    rill_env_set_mode(self->env, RILL_MODE_STREAMING);
    rill_stream_t *left = rill_env_from_generator(self->env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *right = rill_env_from_generator(self->env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *join = rill_stream_interval_join(
        rill_stream_key_by(left, rill_key_first_field, NULL),
        rill_stream_key_by(right, rill_key_first_field, NULL), lower, upper, s_pair, NULL);
    rill_stream_discard(join);
    char why[256];
    self->harness = rill_harness_new(self->env, join, 0, why, sizeof why);
    if (!self->harness)
        fail_msg("%s", why);
}

static void s_undrive(s_driven_t *self)
{
    rill_harness_destroy(&self->harness);
    rill_env_destroy(&self->env);
}

//  A record "key<TAB>text" at time on input 0 (left) or 1 (right).
static void s_record(s_driven_t *self, int input, const char *text, int64_t time)
{
    if (rill_harness_record(self->harness, input, text, strlen(text), time))
        fail_msg("%s", rill_harness_error(self->harness));
}

static void s_watermark(s_driven_t *self, int64_t watermark)
{
    if (rill_harness_watermark(self->harness, watermark))
        fail_msg("%s", rill_harness_error(self->harness));
}

//  Output `tag`'s record `index` as "text@time".
static const char *s_line(s_driven_t *self, int tag, size_t index, char *text, size_t size)
{
    rill_record_t r = rill_harness_output(self->harness, tag, index);
    snprintf(text, size, "%.*s@%lld", (int)r.size, (const char *)r.data, (long long)r.timestamp);
    return text;
}

//  The bytes of the operator's checkpoint now.
static size_t s_state_size(s_driven_t *self)
{
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(self->harness, snapshot), 0);
    size_t size = rill_buffer_size(snapshot);
    rill_buffer_destroy(&snapshot);
    return size;
}

//  Flink's isLate: a record older than the current watermark joins nothing and goes to its
//  side's late output (sideOutputLeftLateData / RightLateData); one at the watermark is not
//  late.
static void a_record_older_than_the_watermark_is_dropped(void **state)
{
    (void)state;
    s_driven_t d;
    char text[64];
    s_drive(&d, -5, 5);
    s_record(&d, 1, "k\tR10", 10);
    s_watermark(&d, 20);
    s_record(&d, 0, "k\tL12", 12); //  late: would join R10
    s_record(&d, 1, "k\tR13", 13); //  late too
    assert_int_equal(rill_harness_output_count(d.harness, 0), 0);
    assert_int_equal(rill_harness_output_count(d.harness, RILL_JOIN_LATE_LEFT), 1);
    assert_int_equal(rill_harness_output_count(d.harness, RILL_JOIN_LATE_RIGHT), 1);
    assert_string_equal(s_line(&d, RILL_JOIN_LATE_LEFT, 0, text, sizeof text), "k\tL12@12");
    assert_string_equal(s_line(&d, RILL_JOIN_LATE_RIGHT, 0, text, sizeof text), "k\tR13@13");
    s_record(&d, 1, "k\tR20", 20); //  at the watermark: kept
    s_record(&d, 0, "k\tL21", 21); //  joins R20
    assert_int_equal(rill_harness_output_count(d.harness, 0), 1);
    assert_string_equal(s_line(&d, 0, 0, text, sizeof text), "k\tL21\tR20@21");
    s_undrive(&d);
}

//  Bounds are inclusive and the order of arrival does not matter: with [-2, 1], L10 joins
//  R8..R11 whether they come before or after it.
static void the_bounds_are_inclusive_in_either_order(void **state)
{
    (void)state;
    s_driven_t d;
    char text[64];
    s_drive(&d, -2, 1);
    s_record(&d, 1, "k\tR7", 7);
    s_record(&d, 1, "k\tR8", 8);
    s_record(&d, 1, "k\tR11", 11);
    s_record(&d, 0, "k\tL10", 10);
    s_record(&d, 1, "k\tR9", 9);
    s_record(&d, 1, "k\tR12", 12);
    s_record(&d, 1, "other\tR10", 10); //  another key
    assert_int_equal(rill_harness_output_count(d.harness, 0), 3);
    assert_string_equal(s_line(&d, 0, 0, text, sizeof text), "k\tL10\tR8@10");
    assert_string_equal(s_line(&d, 0, 1, text, sizeof text), "k\tL10\tR11@11");
    assert_string_equal(s_line(&d, 0, 2, text, sizeof text), "k\tL10\tR9@10");
    s_undrive(&d);
}

//  Once the watermark has passed l + upper (left) and r - lower (right), nothing can join a
//  record any more and its state is gone: the checkpoint is that of a join that never saw one.
static void state_is_cleaned_up_as_the_watermark_passes(void **state)
{
    (void)state;
    s_driven_t empty, d;
    s_drive(&empty, -3, 4);
    s_watermark(&empty, 1000);
    size_t nothing = s_state_size(&empty);
    s_drive(&d, -3, 4);
    for (int t = 0; t < 50; t++) {
        char text[32];
        snprintf(text, sizeof text, "k%d\tL%d", t % 3, t);
        s_record(&d, 0, text, t);
        snprintf(text, sizeof text, "k%d\tR%d", t % 3, t);
        s_record(&d, 1, text, t);
    }
    size_t full = s_state_size(&d);
    //  Left records up to 49 may still join right ones up to 53, right ones up to 49 left
    //  ones from 52 on: not yet at watermark 52.
    s_watermark(&d, 52);
    assert_true(s_state_size(&d) > nothing);
    s_watermark(&d, 1000);
    print_message("state: %zu bytes full, %zu after, %zu for a join that saw nothing\n", full,
                  s_state_size(&d), nothing);
    assert_true(full > nothing);
    assert_int_equal(s_state_size(&d), nothing);
    s_undrive(&empty);
    s_undrive(&d);
}

//  A window join's record whose windows have all fired is late; a window with records of one
//  side only joins nothing.
static void a_window_join_sends_late_records_aside(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_stream_t *left = rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *right = rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_window_t window = rill_window_tumbling(10);
    rill_stream_t *join = rill_stream_window_join(
        rill_stream_key_by(left, rill_key_first_field, NULL),
        rill_stream_key_by(right, rill_key_first_field, NULL), &window, s_pair, NULL);
    rill_stream_discard(join);
    rill_harness_t *h = rill_harness_new(env, join, 0, NULL, 0);
    assert_non_null(h);
    assert_int_equal(rill_harness_record(h, 0, "k\tL3", 4, 3), 0);
    assert_int_equal(rill_harness_record(h, 1, "k\tR7", 4, 7), 0);
    assert_int_equal(rill_harness_record(h, 0, "k\tL12", 5, 12), 0); //  alone in [10, 20)
    assert_int_equal(rill_harness_watermark(h, 9), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 1);
    rill_record_t r = rill_harness_output(h, 0, 0);
    assert_int_equal(r.timestamp, 9);
    assert_memory_equal(r.data, "k\tL3\tR7", r.size);
    assert_int_equal(rill_harness_record(h, 1, "k\tR8", 4, 8), 0); //  [0, 10) has fired
    assert_int_equal(rill_harness_output_count(h, RILL_JOIN_LATE_RIGHT), 1);
    assert_int_equal(rill_harness_end(h), 0);
    assert_int_equal(rill_harness_output_count(h, 0), 1); //  [10, 20) had no right record
    rill_harness_destroy(&h);
    rill_env_destroy(&env);
    //  Only event-time tumbling, sliding and session windows (test_session_join).
    env = rill_env_new();
    rill_window_t counted = rill_window_count(5, 5);
    rill_keyed_stream_t keyed_left = rill_stream_key_by(
        rill_env_from_generator(env, s_left, NULL, 1), rill_key_first_field, NULL);
    rill_keyed_stream_t keyed_right = rill_stream_key_by(
        rill_env_from_generator(env, s_right, NULL, 1), rill_key_first_field, NULL);
    assert_null(rill_stream_window_join(keyed_left, keyed_right, &counted, s_pair, NULL));
    assert_non_null(strstr(rill_env_error(env), "count windows are not supported"));
    rill_env_destroy(&env);
}

//  Bad bounds and missing functions are refused when the job is built.
static void bad_bounds_are_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_keyed_stream_t left = rill_stream_key_by(rill_env_from_generator(env, s_left, NULL, 1),
                                                  rill_key_first_field, NULL);
    rill_keyed_stream_t right = rill_stream_key_by(rill_env_from_generator(env, s_right, NULL, 1),
                                                   rill_key_first_field, NULL);
    assert_null(rill_stream_interval_join(left, right, 5, 4, s_pair, NULL));
    assert_non_null(strstr(rill_env_error(env), "lower bound is above the upper"));
    rill_env_destroy(&env);
    env = rill_env_new();
    left = rill_stream_key_by(rill_env_from_generator(env, s_left, NULL, 1), rill_key_first_field,
                              NULL);
    //  A plain stream does not compile here (test_keyed_type); a keyed stream made by hand
    //  around one is refused at plan time.
    right = (rill_keyed_stream_t){rill_env_from_generator(env, s_right, NULL, 1)};
    rill_stream_discard(rill_stream_interval_join(left, right, 0, 1, s_pair, NULL));
    assert_int_not_equal(rill_env_execute(env), 0);
    assert_non_null(strstr(rill_env_error(env), "keyed input stream"));
    rill_env_destroy(&env);
}

//  ---- the bundled `interval-join` job

#define S_ROWS 200

//  Left: "L<i>,u<i % 7>,<time>", times 10 s apart (every third one written as ISO-8601, a key
//  holding a comma quoted); right: "u<j % 7>,<time>,R<j>", times 7 s apart. Both in order.
static char *s_left_csv(void)
{
    size_t capacity = 64 * S_ROWS, at = 0;
    char *text = malloc(capacity);
    at += (size_t)snprintf(text + at, capacity - at, "id,user,time\n");
    for (int i = 0; i < S_ROWS; i++) {
        long long ms = 1700000000000LL + i * 10000LL;
        char key[16];
        snprintf(key, sizeof key, i % 7 == 3 ? "\"u3, x\"" : "u%d", i % 7);
        if (i % 3 == 0) {
            time_t seconds = (time_t)(ms / 1000);
            struct tm utc;
            gmtime_r(&seconds, &utc);
            char iso[32];
            strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
            at += (size_t)snprintf(text + at, capacity - at, "L%d,%s,%s\n", i, key, iso);
        } else
            at += (size_t)snprintf(text + at, capacity - at, "L%d,%s,%lld\n", i, key, ms);
    }
    return text;
}

static char *s_right_csv(void)
{
    size_t capacity = 64 * S_ROWS * 2, at = 0;
    char *text = malloc(capacity);
    at += (size_t)snprintf(text + at, capacity - at, "user,ts,event\n");
    for (int j = 0; j < S_ROWS * 2; j++) {
        char key[16];
        snprintf(key, sizeof key, j % 7 == 3 ? "\"u3, x\"" : "u%d", j % 7);
        at += (size_t)snprintf(text + at, capacity - at, "%s,%lld,R%d\n", key,
                               1700000000000LL + j * 7000LL, j);
    }
    return text;
}

//  The i-th line of a CSV text (0: the header), without its line end, into line.
static void s_csv_line(const char *text, int i, char *line, size_t size)
{
    for (; i > 0; i--)
        text = strchr(text, '\n') + 1;
    const char *end = strchr(text, '\n');
    snprintf(line, size, "%.*s", (int)(end - text), text);
}

static void s_the_job_joins_csv_files(const char *parallelism)
{
    char *left_text = s_left_csv(), *right_text = s_right_csv();
    char *left = test_temp_file(left_text), *right = test_temp_file(right_text);
    char output[] = "/tmp/rill-join-out-XXXXXX";
    close(mkstemp(output));
    char *err = NULL;
    int rc = test_run_tool(NULL, &err, "run", "interval-join", "-p", parallelism, "--", "--left",
                           left, "--right", right, "--left-key", "user", "--right-key", "user",
                           "--left-time", "time", "--right-time", "ts", "--lower", "-30s",
                           "--upper", "20s", "--output", output, NULL);
    if (rc != 0)
        fail_msg("interval-join exited %d: %s", rc, err);
    //  Every pair by brute force: same key, l - 30 s <= r <= l + 20 s; each line the left row
    //  then the right row as they were.
    char **expected = calloc(S_ROWS * S_ROWS * 2, sizeof(char *));
    size_t count = 0;
    for (int i = 0; i < S_ROWS; i++)
        for (int j = 0; j < S_ROWS * 2; j++) {
            long long l = i * 10000LL, r = j * 7000LL;
            if (i % 7 != j % 7 || r < l - 30000 || r > l + 20000)
                continue;
            char a[64], b[64];
            s_csv_line(left_text, i + 1, a, sizeof a);
            s_csv_line(right_text, j + 1, b, sizeof b);
            expected[count] = malloc(strlen(a) + strlen(b) + 2);
            sprintf(expected[count++], "%s,%s", a, b);
        }
    qsort(expected, count, sizeof(char *), s_compare_text);
    char *got = test_read_file(output);
    assert_non_null(got);
    //  The header first: the left header's fields, then the right one's.
    const char *header = "id,user,time,user,ts,event\n";
    assert_memory_equal(got, header, strlen(header));
    char **lines = calloc(count + 8, sizeof(char *));
    size_t found = 0;
    for (char *save = NULL, *line = strtok_r(got + strlen(header), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        assert_true(found < count + 8);
        lines[found++] = line;
    }
    qsort(lines, found, sizeof(char *), s_compare_text);
    print_message("-p %s: %zu pairs expected, %zu written\n", parallelism, count, found);
    assert_true(count > S_ROWS);
    assert_int_equal(found, count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(lines[i], expected[i]);
        free(expected[i]);
    }
    free(expected);
    free(lines);
    free(got);
    free(err);
    unlink(output);
    unlink(left);
    unlink(right);
    free(left);
    free(right);
    free(left_text);
    free(right_text);
}

static void the_interval_join_job_writes_every_pair_of_rows(void **state)
{
    (void)state;
    s_the_job_joins_csv_files("1");
    s_the_job_joins_csv_files("3");
}

//  Wrong column names, bounds the wrong way round and missing options: a clear message and a
//  non-zero exit, nothing run.
static void the_interval_join_job_refuses_bad_arguments(void **state)
{
    (void)state;
    char *left = test_temp_file("id,user,time\nL1,u,5\n");
    char *right = test_temp_file("user,ts\nu,5\n");
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "interval-join", "--", "--left", left,
                                   "--right", right, "--left-key", "user", "--right-key", "who",
                                   "--left-time", "time", "--right-time", "ts", "--lower", "0s",
                                   "--upper", "1s", NULL),
                     1);
    assert_non_null(strstr(err, "the header of the right file"));
    assert_non_null(strstr(err, "no column 'who'"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "interval-join", "--", "--left", left,
                                   "--right", right, "--left-key", "user", "--right-key", "user",
                                   "--left-time", "time", "--right-time", "ts", "--lower", "5s",
                                   "--upper", "1s", NULL),
                     2);
    assert_non_null(strstr(err, "--lower is above --upper"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "interval-join", "--", "--left", left, NULL),
                     2);
    assert_non_null(strstr(err, "are required"));
    free(err);
    //  One pair: u at 5 and u at 5 with bounds [0, 1 s].
    char *out = NULL;
    assert_int_equal(test_run_tool(&out, &err, "run", "interval-join", "--", "--left", left,
                                   "--right", right, "--left-key", "user", "--right-key", "user",
                                   "--left-time", "time", "--right-time", "ts", "--lower", "0s",
                                   "--upper", "1s", NULL),
                     0);
    assert_string_equal(out, "id,user,time,user,ts\nL1,u,5,u,5\n");
    free(out);
    free(err);
    unlink(left);
    unlink(right);
    free(left);
    free(right);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair_within_the_bounds_is_joined_once),
        cmocka_unit_test(a_record_older_than_the_watermark_is_dropped),
        cmocka_unit_test(the_bounds_are_inclusive_in_either_order),
        cmocka_unit_test(state_is_cleaned_up_as_the_watermark_passes),
        cmocka_unit_test(bad_bounds_are_refused),
        cmocka_unit_test(a_window_join_pairs_the_records_of_each_window),
        cmocka_unit_test(a_window_join_sends_late_records_aside),
        cmocka_unit_test(the_interval_join_job_writes_every_pair_of_rows),
        cmocka_unit_test(the_interval_join_job_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
