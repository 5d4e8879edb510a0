/*  test_session_join.c: the window join over session windows against Flink's semantics
    (stream.join(other).where(...).equalTo(...).window(EventTimeSessionWindows.withGap(gap))):
    the records of both sides of a key make sessions together, each record opening the window
    [t, t + gap) and merging with the key's sessions it intersects; when the watermark passes
    a session's last millisecond (end - 1), every (left, right) pair in it goes to the join
    function once, stamped end - 1; a session of one side joins nothing; a record whose session
    has fired is late. Every expected pair is worked out by hand in the comments. The first
    test runs real jobs at parallelism 1 and 2; the others drive the operator on the test
    harness, record by record and watermark by watermark. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

//  "key<TAB>L..." and "key<TAB>R..." joined as "key<TAB>L...<TAB>R...", without a timestamp
//  (it takes the session's end - 1).
static int s_pair(const rill_record_t *left, const rill_record_t *right, rill_collector_t *out,
                  void *ctx)
{
    (void)ctx;
    const char *rt = memchr(right->data, '\t', right->size);
    char text[64];
    int size = snprintf(text, sizeof text, "%.*s\t%.*s", (int)left->size, (const char *)left->data,
                        (int)(right->size - (size_t)(rt + 1 - (const char *)right->data)), rt + 1);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  ---- real jobs

typedef struct {
    const char *text;
    int64_t time;
} s_input_t;

//  Gap 10. Each side in time order, so that with monotonous watermarks nothing is late.
//  a: L-a1@0 [0,10), R-a1@5 [5,15), L-a2@12 [12,22): one session [0,22), fired at 21.
//     R-a2@40 [40,50), L-a3@49 [49,59), L-a4@59 [59,69) (touches [40,59): Flink merges
//     windows that touch): one session [40,69), fired at 68.
//  b: L-b1@3 [3,13) and R-b1@30 [30,40) are apart: two one-sided sessions, nothing joined.
//     L-b2@70 [70,80) and R-b2@80 [80,90) touch: [70,90), fired at 89.
//  c: R-c1@10, L-c1@15 and R-c2@25 ([25,35) touches [10,25)): [10,35), fired at 34.
static const s_input_t s_left_input[] = {{"a\tL-a1", 0},  {"b\tL-b1", 3},  {"a\tL-a2", 12},
                                         {"c\tL-c1", 15}, {"a\tL-a3", 49}, {"a\tL-a4", 59},
                                         {"b\tL-b2", 70}};
static const s_input_t s_right_input[] = {{"a\tR-a1", 5},  {"c\tR-c1", 10}, {"c\tR-c2", 25},
                                          {"b\tR-b1", 30}, {"a\tR-a2", 40}, {"b\tR-b2", 80}};
static const char *const s_job_pairs[] = {
    "a\tL-a1\tR-a1@21", "a\tL-a2\tR-a1@21", "a\tL-a3\tR-a2@68", "a\tL-a4\tR-a2@68",
    "b\tL-b2\tR-b2@89", "c\tL-c1\tR-c1@34", "c\tL-c1\tR-c2@34",
};

static int s_emit_input(const s_input_t *input, uint64_t index, rill_collector_t *out)
{
    return rill_collector_emit(out, input[index].text, strlen(input[index].text),
                               input[index].time);
}

static int s_left(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return s_emit_input(s_left_input, index, out);
}

static int s_right(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return s_emit_input(s_right_input, index, out);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  A keyed, timestamped stream of count records from generate at parallelism p.
static rill_keyed_stream_t s_keyed(rill_env_t *env, rill_generate_fn generate, uint64_t count,
                                   int p)
{
    rill_stream_t *timed = rill_stream_parallelism(
        rill_stream_assign_timestamps(
            rill_stream_parallelism(rill_env_from_generator(env, generate, NULL, count), p),
            s_record_time, NULL, NULL),
        p);
    return rill_stream_key_by(timed, rill_key_first_field, NULL);
}

static void s_session_job(int source_p, int join_p)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_results_t *results = rill_results_new();
    rill_window_t window = rill_window_session(10);
    rill_stream_t *joined = rill_stream_window_join(
        s_keyed(env, s_left, sizeof s_left_input / sizeof *s_left_input, source_p),
        s_keyed(env, s_right, sizeof s_right_input / sizeof *s_right_input, source_p), &window,
        s_pair, NULL);
    rill_stream_collect(rill_stream_parallelism(joined, join_p), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    size_t count = rill_results_size(results);
    char **got = calloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_results_record(results, i);
        got[i] = malloc(r.size + 32);
        snprintf(got[i], r.size + 32, "%.*s@%lld", (int)r.size, (const char *)r.data,
                 (long long)r.timestamp);
    }
    qsort(got, count, sizeof(char *), s_compare_text);
    size_t expected = sizeof s_job_pairs / sizeof *s_job_pairs;
    print_message("sources at p %d, join at p %d: %zu pairs joined, %zu expected\n", source_p,
                  join_p, count, expected);
    for (size_t i = 0; i < count && i < expected; i++)
        assert_string_equal(got[i], s_job_pairs[i]);
    assert_int_equal(count, expected);
    for (size_t i = 0; i < count; i++)
        free(got[i]);
    free(got);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  The usage example: rill_stream_window_join with rill_window_session(gap).
static void sessions_of_both_sides_join_at_parallelism_1_and_2(void **state)
{
    (void)state;
    s_session_job(1, 1);
    s_session_job(1, 2);
    s_session_job(2, 2);
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

//  The session join of two empty unbounded streams, its operator on a harness.
static void s_drive(s_driven_t *self, const rill_window_t *window)
{
    self->env = rill_env_new();
    rill_env_set_mode(self->env, RILL_MODE_STREAMING);
    rill_stream_t *left = rill_env_from_generator(self->env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *right = rill_env_from_generator(self->env, s_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *join = rill_stream_window_join(
        rill_stream_key_by(left, rill_key_first_field, NULL),
        rill_stream_key_by(right, rill_key_first_field, NULL), window, s_pair, NULL);
    if (!join)
        fail_msg("%s", rill_env_error(self->env));
    rill_stream_discard(join);
    char why[256];
    self->harness = rill_harness_new(self->env, join, 0, why, sizeof why);
    if (!self->harness)
        fail_msg("%s", why);
}

static void s_drive_gap(s_driven_t *self, int64_t gap)
{
    rill_window_t window = rill_window_session(gap);
    s_drive(self, &window);
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

//  Checks output tag holds exactly `expected` (NULL-terminated), as "text@time", in order.
static void s_expect(s_driven_t *self, int tag, const char *const *expected)
{
    size_t count = 0;
    for (; expected[count]; count++) {
        assert_true(count < rill_harness_output_count(self->harness, tag));
        rill_record_t r = rill_harness_output(self->harness, tag, count);
        char text[96];
        snprintf(text, sizeof text, "%.*s@%lld", (int)r.size, (const char *)r.data,
                 (long long)r.timestamp);
        assert_string_equal(text, expected[count]);
    }
    assert_int_equal(rill_harness_output_count(self->harness, tag), count);
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

static const char *const s_none[] = {NULL};

//  Gap 10: L0@0 and R3@3 make [0,13); L30@30 is 27 after R3, so it opens [30,40) apart, which
//  R35@35 joins ([30,45)). Each session fires when the watermark reaches its end - 1.
static void sessions_apart_by_more_than_the_gap_join_apart(void **state)
{
    (void)state;
    s_driven_t d;
    s_drive_gap(&d, 10);
    s_record(&d, 0, "k\tL0", 0);
    s_record(&d, 1, "k\tR3", 3);
    s_record(&d, 0, "k\tL30", 30);
    s_record(&d, 1, "k\tR35", 35);
    s_record(&d, 0, "j\tL1", 1); //  another key, its own session [1,11)
    s_record(&d, 1, "j\tR2", 2);
    s_watermark(&d, 10);
    s_expect(&d, 0, s_none);
    s_watermark(&d, 11); //  j: [1,11) and [2,12) make [1,12)
    static const char *const first[] = {"j\tL1\tR2@11", NULL};
    s_expect(&d, 0, first);
    s_watermark(&d, 12);
    static const char *const second[] = {"j\tL1\tR2@11", "k\tL0\tR3@12", NULL};
    s_expect(&d, 0, second);
    s_watermark(&d, 43);
    s_expect(&d, 0, second);
    s_watermark(&d, 44);
    static const char *const all[] = {"j\tL1\tR2@11", "k\tL0\tR3@12", "k\tL30\tR35@44", NULL};
    s_expect(&d, 0, all);
    s_undrive(&d);
}

//  Gap 10: L0@0 [0,10) and L15@15 [15,25) are apart; R8@8 opens [8,18), which intersects both:
//  one session [0,25) with both left records, fired at 24 only (the timers of [0,10) at 9 and
//  [15,25) at 24 were the parts'; the first is gone).
static void a_right_record_bridges_two_left_sessions_into_one(void **state)
{
    (void)state;
    s_driven_t d;
    s_drive_gap(&d, 10);
    s_record(&d, 0, "k\tL0", 0);
    s_record(&d, 0, "k\tL15", 15);
    s_record(&d, 1, "k\tR8", 8);
    s_watermark(&d, 23);
    s_expect(&d, 0, s_none);
    s_watermark(&d, 24);
    static const char *const pairs[] = {"k\tL0\tR8@24", "k\tL15\tR8@24", NULL};
    s_expect(&d, 0, pairs);
    s_watermark(&d, 1000);
    s_expect(&d, 0, pairs);
    s_undrive(&d);
}

//  Flink's TimeWindow.intersects counts bounds in (start <= other.end && end >= other.start),
//  so windows that only touch merge: a record exactly gap after the session's last record
//  extends the session; one gap + 1 after starts a new one.
//  Gap 10: L0@0 [0,10) and R10@10 [10,20) touch: [0,20), fired at 19; the same the other way
//  round for key j (R10 first, then L0 before it). L100@100 [100,110) and R111@111 [111,121)
//  are 1 ms apart: two one-sided sessions, nothing joined.
static void windows_that_touch_merge_as_flinks_intersects_says(void **state)
{
    (void)state;
    s_driven_t d;
    s_drive_gap(&d, 10);
    s_record(&d, 0, "k\tL0", 0);
    s_record(&d, 1, "k\tR10", 10);
    s_record(&d, 1, "j\tR10", 10);
    s_record(&d, 0, "j\tL0", 0);
    s_record(&d, 0, "k\tL100", 100);
    s_record(&d, 1, "k\tR111", 111);
    s_watermark(&d, 1000);
    static const char *const pairs[] = {"k\tL0\tR10@19", "j\tL0\tR10@19", NULL};
    s_expect(&d, 0, pairs);
    s_undrive(&d);
}

//  Gap 10: a key whose sessions have records of one side only joins nothing (an inner join),
//  and once every session has fired the state is that of a join that saw nothing.
static void one_sided_sessions_emit_nothing_and_leave_no_state(void **state)
{
    (void)state;
    s_driven_t empty, d;
    s_drive_gap(&empty, 10);
    s_watermark(&empty, 1000);
    size_t nothing = s_state_size(&empty);
    s_drive_gap(&d, 10);
    s_record(&d, 0, "k\tL0", 0);
    s_record(&d, 0, "k\tL5", 5);
    s_record(&d, 1, "j\tR7", 7);
    s_record(&d, 1, "k\tR50", 50); //  [50,60): apart from [0,15)
    s_record(&d, 0, "j\tL40", 40);
    assert_true(s_state_size(&d) > nothing);
    s_watermark(&d, 1000);
    s_expect(&d, 0, s_none);
    assert_int_equal(s_state_size(&d), nothing);
    s_undrive(&empty);
    s_undrive(&d);
}

//  Flink's isWindowLate with no allowed lateness: a record is late when the session it would
//  be in has its last millisecond at or behind the watermark. Gap 10: L0@0 and R2@2 make
//  [0,12), fired at watermark 11. Then R1@1 would open [1,11) (10 <= 11) and L-1@-1 [-1,9):
//  late, to the late outputs; L3@3 opens [3,13) (12 > 11), a new session, since the fired one
//  is gone (in Flink, firing at the cleanup time clears the window), which R12@12 joins.
static void a_record_whose_session_has_fired_goes_to_the_late_output(void **state)
{
    (void)state;
    s_driven_t d;
    s_drive_gap(&d, 10);
    s_record(&d, 0, "k\tL0", 0);
    s_record(&d, 1, "k\tR2", 2);
    s_watermark(&d, 11);
    static const char *const first[] = {"k\tL0\tR2@11", NULL};
    s_expect(&d, 0, first);
    s_record(&d, 1, "k\tR1", 1);   //  [1,11): 10 <= 11, late
    s_record(&d, 0, "k\tL-1", -1); //  [-1,9): late
    s_record(&d, 0, "k\tL3", 3);   //  [3,13): 12 > 11, a new session
    s_record(&d, 1, "k\tR12", 12); //  [12,22) touches it: [3,22)
    static const char *const late_right[] = {"k\tR1@1", NULL};
    static const char *const late_left[] = {"k\tL-1@-1", NULL};
    s_expect(&d, RILL_JOIN_LATE_RIGHT, late_right);
    s_expect(&d, RILL_JOIN_LATE_LEFT, late_left);
    s_watermark(&d, 21);
    static const char *const both[] = {"k\tL0\tR2@11", "k\tL3\tR12@21", NULL};
    s_expect(&d, 0, both);
    s_undrive(&d);
}

//  Open sessions, their records and their timers survive a checkpoint: L0@0 and R3@3 ([0,13))
//  restored, then L12@12 extends the session to [0,22): both left records pair with R3 at 21,
//  and the restored timer at 12 of the part [0,13) fires nothing.
static void open_sessions_survive_a_checkpoint(void **state)
{
    (void)state;
    s_driven_t before, after;
    s_drive_gap(&before, 10);
    s_record(&before, 0, "k\tL0", 0);
    s_record(&before, 1, "k\tR3", 3);
    s_watermark(&before, 5);
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(before.harness, snapshot), 0);
    s_undrive(&before);
    s_drive_gap(&after, 10);
    const rill_buffer_t *snapshots[] = {snapshot};
    if (rill_harness_restore(after.harness, snapshots, 1))
        fail_msg("%s", rill_harness_error(after.harness));
    s_record(&after, 0, "k\tL12", 12);
    s_watermark(&after, 20);
    s_expect(&after, 0, s_none);
    s_watermark(&after, 21);
    static const char *const pairs[] = {"k\tL0\tR3@21", "k\tL12\tR3@21", NULL};
    s_expect(&after, 0, pairs);
    rill_buffer_destroy(&snapshot);
    s_undrive(&after);
}

//  Each record's gap from its text ("key<TAB>name:gap").
static int64_t s_gap_of(const rill_record_t *record, void *ctx)
{
    (void)ctx;
    return test_field_number(record, ':');
}

//  Dynamic gaps (Flink's DynamicEventTimeSessionWindows): L0 gap 5 opens [0,5), R4 gap 20
//  [4,24): one session [0,24), fired at 23. L30 gap 1 [30,31) and R31 gap 1 [31,32) touch:
//  [30,32), fired at 31. A gap <= 0 fails the job, naming the rule.
static void dynamic_gaps_come_from_each_record(void **state)
{
    (void)state;
    s_driven_t d;
    rill_window_t window = rill_window_session_dynamic(s_gap_of, NULL);
    s_drive(&d, &window);
    s_record(&d, 0, "k\tL0:5", 0);
    s_record(&d, 1, "k\tR4:20", 4);
    s_record(&d, 0, "k\tL30:1", 30);
    s_record(&d, 1, "k\tR31:1", 31);
    s_watermark(&d, 22);
    s_expect(&d, 0, s_none);
    s_watermark(&d, 31);
    static const char *const pairs[] = {"k\tL0:5\tR4:20@23", "k\tL30:1\tR31:1@31", NULL};
    s_expect(&d, 0, pairs);
    assert_int_not_equal(rill_harness_record(d.harness, 0, "k\tL40:0", 7, 40), 0);
    assert_non_null(strstr(rill_harness_error(d.harness), "gap <= 0"));
    s_undrive(&d);
}

//  Processing-time sessions and sessions without a gap are refused when the job is built.
static void bad_session_windows_are_refused(void **state)
{
    (void)state;
    rill_window_t windows[2] = {rill_window_session(10), rill_window_session(0)};
    windows[0].time = RILL_TIME_PROCESSING;
    for (int i = 0; i < 2; i++) {
        rill_env_t *env = rill_env_new();
        rill_keyed_stream_t left = rill_stream_key_by(rill_env_from_generator(env, s_left, NULL, 1),
                                                      rill_key_first_field, NULL);
        rill_keyed_stream_t right = rill_stream_key_by(
            rill_env_from_generator(env, s_right, NULL, 1), rill_key_first_field, NULL);
        assert_null(rill_stream_window_join(left, right, &windows[i], s_pair, NULL));
        assert_non_null(strstr(rill_env_error(env), "event-time session window"));
        rill_env_destroy(&env);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_of_both_sides_join_at_parallelism_1_and_2),
        cmocka_unit_test(sessions_apart_by_more_than_the_gap_join_apart),
        cmocka_unit_test(a_right_record_bridges_two_left_sessions_into_one),
        cmocka_unit_test(windows_that_touch_merge_as_flinks_intersects_says),
        cmocka_unit_test(one_sided_sessions_emit_nothing_and_leave_no_state),
        cmocka_unit_test(a_record_whose_session_has_fired_goes_to_the_late_output),
        cmocka_unit_test(open_sessions_survive_a_checkpoint),
        cmocka_unit_test(dynamic_gaps_come_from_each_record),
        cmocka_unit_test(bad_session_windows_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
