/*  test_iterate.c: iterations (rill_iterate.h): loops whose records come back to the head
    until they exit, checked record by record against what the test computes itself; the
    termination rounds with nothing fed back, with a multiplying body under small buffers
    (the parked feedback path), at parallelism 1 and more with exchanges inside the loop; the
    errors a misuse gets; the plan and diagram showing the feedback edge; and the two classes
    underneath (the rounds and the spill queue). */
#include "rill_plan_private.h"
#include "rill_spill_queue.h"
#include "rill_subtask_iteration.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  ---- Collatz: records "n<TAB>value<TAB>trips"

static int s_numbers(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[64];
    int size = snprintf(text, sizeof text, "%" PRIu64 "\t%" PRIu64 "\t0", index + 1, index + 1);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static void s_parse(const rill_record_t *record, uint64_t *n, uint64_t *value, uint64_t *trips)
{
    char text[96];
    size_t size = record->size < sizeof text - 1 ? record->size : sizeof text - 1;
    memcpy(text, record->data, size);
    text[size] = 0;
    *n = *value = *trips = 0;
    sscanf(text, "%" SCNu64 "\t%" SCNu64 "\t%" SCNu64, n, value, trips);
}

//  One trip round the loop: one Collatz step.
static int s_collatz_step(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    uint64_t n, value, trips;
    s_parse(in, &n, &value, &trips);
    value = value % 2 ? 3 * value + 1 : value / 2;
    return rill_buffer_appendf(out, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64, n, value, trips + 1);
}

static int s_not_one(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    uint64_t n, value, trips;
    s_parse(in, &n, &value, &trips);
    return value != 1;
}

static int s_is_one(const rill_record_t *in, void *ctx)
{
    return !s_not_one(in, ctx);
}

static int s_never(const rill_record_t *in, void *ctx)
{
    (void)in;
    (void)ctx;
    return 0;
}

//  The trips n takes: at least one step, then until it reaches 1.
static uint64_t s_expected_trips(uint64_t n)
{
    uint64_t trips = 0;
    do {
        n = n % 2 ? 3 * n + 1 : n / 2;
        trips++;
    } while (n != 1);
    return trips;
}

//  Every number 1..count came out exactly once, at 1, with its own number of trips.
static void s_expect_collatz(rill_results_t *results, uint64_t count)
{
    assert_int_equal(rill_results_size(results), count);
    bool *seen = calloc(count + 1, sizeof(bool));
    assert_non_null(seen);
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t record = rill_results_record(results, i);
        uint64_t n, value, trips;
        s_parse(&record, &n, &value, &trips);
        assert_true(n >= 1 && n <= count);
        assert_false(seen[n]);
        seen[n] = true;
        assert_int_equal(value, 1);
        assert_int_equal(trips, s_expected_trips(n));
    }
    free(seen);
}

//  input -> iterate -> step -> [value != 1: back to the head; value == 1: collected]; between
//  the step and the filters `inside` may add an exchange (NULL: none).
static rill_env_t *s_collatz_job(int parallelism, uint64_t count, rill_results_t *results,
                                 rill_stream_t *(*inside)(rill_stream_t *))
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, parallelism);
    rill_stream_t *numbers = rill_env_from_generator(env, s_numbers, NULL, count);
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_t *step = rill_stream_map(rill_iteration_stream(loop), s_collatz_step, NULL);
    rill_stream_t *stepped = inside ? rill_stream_map(inside(step), s_collatz_step, NULL) : step;
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(stepped, s_not_one, NULL)), 0);
    rill_stream_collect(rill_stream_filter(stepped, s_is_one, NULL), results);
    return env;
}

//  The usage example: Collatz at parallelism 1, each number round the loop until it reaches 1.
static void collatz_loop_gives_every_number_its_trips(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(1, 300, results, NULL);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_collatz(results, 300);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Two steps per trip, with an exchange between them: the trips then count double steps, so
//  the filters see every other value; the expected trips follow the same rule.
static uint64_t s_expected_double_trips(uint64_t n)
{
    uint64_t trips = 0;
    do {
        n = n % 2 ? 3 * n + 1 : n / 2;
        n = n % 2 ? 3 * n + 1 : n / 2;
        trips += 2;
    } while (n != 1);
    return trips;
}

static rill_stream_t *s_rebalance(rill_stream_t *in)
{
    return rill_stream_rebalance(in);
}

//  A keyed stream where any stream goes: the loop's exchange is by key.
static rill_stream_t *s_key_by_number(rill_stream_t *in)
{
    return rill_keyed_stream_stream(rill_stream_key_by(in, rill_key_first_field, NULL));
}

static void s_expect_double(rill_results_t *results, uint64_t count)
{
    //  A number whose double step skips 1 goes round 1 -> 4 -> 2 -> 1 until a double step
    //  lands on it (period 3 against steps of 2: within three trips), so every number exits.
    assert_int_equal(rill_results_size(results), count);
    bool *seen = calloc(count + 1, sizeof(bool));
    assert_non_null(seen);
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t record = rill_results_record(results, i);
        uint64_t n, value, trips;
        s_parse(&record, &n, &value, &trips);
        assert_true(n >= 1 && n <= count);
        assert_false(seen[n]);
        seen[n] = true;
        assert_int_equal(value, 1);
        assert_int_equal(trips, s_expected_double_trips(n));
    }
    free(seen);
}

static void collatz_at_parallelism_three_with_a_rebalance_in_the_loop(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(3, 300, results, s_rebalance);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_double(results, 300);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  A forward body: each tail subtask hears from one head subtask only, so one head's probes
//  can come back ahead of another's round (held back until that head catches up).
static void collatz_at_parallelism_three_with_a_forward_body(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(3, 400, results, NULL);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_collatz(results, 400);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Three source subtasks that end far apart: the first two at once, the third after a
//  trickle. The heads whose input ended run their rounds meanwhile; with a forward body their
//  probes come back to the third head before it has started: it holds back what follows them.
typedef struct {
    uint64_t next[3]; //  by subtask: the next number to emit
} s_staggered_t;

static int s_staggered(rill_collector_t *out, void *ctx)
{
    s_staggered_t *self = ctx;
    int subtask = rill_collector_subtask(out);
    uint64_t *next = &self->next[subtask];
    uint64_t first = (uint64_t)subtask * 100 + 1, last = first + 99;
    if (*next == 0)
        *next = first;
    do {
        if (*next > last)
            return RILL_SOURCE_END;
        char text[64];
        int size = snprintf(text, sizeof text, "%" PRIu64 "\t%" PRIu64 "\t0", *next, *next);
        if (rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP))
            return -1;
        ++*next;
    } while (subtask < 2);
    usleep(2000);
    return RILL_SOURCE_MORE;
}

static void collatz_with_inputs_that_end_far_apart(void **state)
{
    (void)state;
    s_staggered_t staggered = {{0}};
    rill_results_t *results = rill_results_new();
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 3);
    assert_int_equal(rill_env_set_buffer_timeout(env, 0), 0);
    rill_stream_t *numbers = rill_env_from_source(env, s_staggered, &staggered, true);
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_t *step = rill_stream_map(rill_iteration_stream(loop), s_collatz_step, NULL);
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(step, s_not_one, NULL)), 0);
    rill_stream_collect(rill_stream_filter(step, s_is_one, NULL), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_collatz(results, 300);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static void collatz_at_parallelism_two_with_a_key_by_in_the_loop(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(2, 300, results, s_key_by_number);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_double(results, 300);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  A body of another parallelism than the head (3 against 2), in streaming mode, where
//  batches wait for the buffer timeout: the probes flush them.
static void a_body_of_another_parallelism_in_streaming_mode(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    assert_int_equal(rill_env_set_mode(env, RILL_MODE_STREAMING), 0);
    rill_stream_t *numbers = rill_env_from_generator(env, s_numbers, NULL, 250);
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_t *step = rill_stream_parallelism(
        rill_stream_map(rill_iteration_stream(loop), s_collatz_step, NULL), 3);
    rill_stream_t *back = rill_stream_parallelism(rill_stream_filter(step, s_not_one, NULL), 3);
    assert_int_equal(rill_iteration_close(loop, rill_stream_shuffle(back)), 0);
    rill_stream_collect(rill_stream_filter(step, s_is_one, NULL), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    s_expect_collatz(results, 250);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  ---- a multiplying body: "id<TAB>depth<TAB>pad", two children per record until DEPTH

#define S_DEPTH 7

static int s_roots(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[160];
    int size = snprintf(text, sizeof text, "%" PRIu64 "\t0\t%s", index,
                        "padding-padding-padding-padding-padding-padding-padding-padding");
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static int s_depth(const rill_record_t *in)
{
    const char *tab = memchr(in->data, '\t', in->size);
    return tab ? atoi(tab + 1) : -1;
}

static int s_split(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[160];
    const char *tab = memchr(in->data, '\t', in->size);
    int id_size = (int)(tab - (const char *)in->data);
    for (int child = 0; child < 2; child++) {
        int size =
            snprintf(text, sizeof text, "%.*s.%d\t%d\t%s", id_size, (const char *)in->data, child,
                     s_depth(in) + 1, "padding-padding-padding-padding-padding-padding-padding");
        if (rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP))
            return -1;
    }
    return 0;
}

static int s_shallow(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    return s_depth(in) < S_DEPTH;
}

static int s_deep(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    return s_depth(in) == S_DEPTH;
}

//  Roots * 2^DEPTH leaves, each once: the loop carries far more than its buffers hold, so the
//  tail blocks on the feedback and the head parks it while its own sends wait.
static void s_multiply(int parallelism, uint64_t roots, size_t memory)
{
    rill_results_t *results = rill_results_new();
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, parallelism);
    assert_int_equal(rill_env_set_batch_size(env, 256), 0);
    rill_stream_t *in = rill_env_from_generator(env, s_roots, NULL, roots);
    rill_iteration_t *loop = rill_stream_iterate(in);
    if (memory)
        assert_int_equal(rill_iteration_set_memory(loop, memory), 0);
    rill_stream_t *children = rill_stream_flat_map(rill_iteration_stream(loop), s_split, NULL);
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(rill_stream_rebalance(children),
                                                                   s_shallow, NULL)),
                     0);
    rill_stream_collect(rill_stream_filter(children, s_deep, NULL), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    uint64_t leaves = roots << S_DEPTH;
    assert_int_equal(rill_results_size(results), leaves);
    //  Each leaf once: the ids are distinct.
    rill_results_sort(results);
    for (size_t i = 1; i < rill_results_size(results); i++) {
        rill_record_t a = rill_results_record(results, i - 1);
        rill_record_t b = rill_results_record(results, i);
        assert_false(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
        assert_int_equal(s_depth(&b), S_DEPTH);
    }
    //  The feedback edge carried every record short of the last depth.
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static void a_multiplying_body_finishes_through_small_buffers(void **state)
{
    (void)state;
    s_multiply(1, 200, 0);
}

static void a_multiplying_body_finishes_at_parallelism_two(void **state)
{
    (void)state;
    s_multiply(2, 100, 0);
}

//  A memory bound of one batch: what the head parks goes to its temporary file.
static void a_multiplying_body_finishes_spilling_its_feedback_to_a_file(void **state)
{
    (void)state;
    s_multiply(1, 200, 256);
}

//  ---- termination corner cases

static void a_loop_that_feeds_nothing_back_ends(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    for (int parallelism = 1; parallelism <= 2; parallelism++) {
        rill_results_clear(results);
        rill_env_t *env = rill_env_new();
        rill_env_set_parallelism(env, parallelism);
        rill_stream_t *numbers = rill_env_from_generator(env, s_numbers, NULL, 50);
        rill_iteration_t *loop = rill_stream_iterate(numbers);
        rill_stream_t *step = rill_stream_map(rill_iteration_stream(loop), s_collatz_step, NULL);
        assert_int_equal(rill_iteration_close(loop, rill_stream_filter(step, s_never, NULL)), 0);
        rill_stream_collect(step, results);
        if (rill_env_execute(env))
            fail_msg("%s", rill_env_error(env));
        assert_int_equal(rill_results_size(results), 50); //  one trip each
        rill_env_destroy(&env);
    }
    rill_results_destroy(&results);
}

static void a_loop_with_no_input_at_all_ends(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(2, 0, results, NULL);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    assert_int_equal(rill_results_size(results), 0);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  ---- misuse

static rill_stream_t *s_step(rill_iteration_t *loop)
{
    return rill_stream_map(rill_iteration_stream(loop), s_collatz_step, NULL);
}

static void closing_twice_is_an_error(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_t *step = s_step(loop);
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(step, s_not_one, NULL)), 0);
    assert_int_equal(rill_iteration_close(loop, step), -1);
    assert_non_null(strstr(rill_env_error(env), "closed already"));
    assert_int_equal(rill_iteration_set_memory(loop, 0), -1);
    rill_env_destroy(&env);
}

static void an_iteration_never_closed_is_refused_at_plan_time(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_discard(s_step(loop));
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "iteration 'iterate()': never closed"));
    rill_env_destroy(&env);
}

static void feedback_not_downstream_of_the_head_is_an_error(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *numbers = rill_env_from_generator(env, s_numbers, NULL, 5);
    rill_stream_t *elsewhere = rill_stream_map(numbers, s_collatz_step, NULL);
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_discard(s_step(loop));
    assert_int_equal(rill_iteration_close(loop, elsewhere), -1);
    assert_non_null(strstr(rill_env_error(env), "not downstream of the head"));
    rill_env_destroy(&env);
    //  The head's own stream is not downstream of itself either.
    env = rill_env_new();
    loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    assert_int_equal(rill_iteration_close(loop, rill_iteration_stream(loop)), -1);
    assert_non_null(strstr(rill_env_error(env), "not downstream of the head"));
    rill_env_destroy(&env);
}

static void a_union_or_sink_as_feedback_is_an_error(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_t *step = s_step(loop);
    rill_stream_t *other = rill_stream_map(step, s_collatz_step, NULL);
    assert_int_equal(rill_iteration_close(loop, rill_stream_union(step, other)), -1);
    assert_non_null(strstr(rill_env_error(env), "one operator"));
    rill_env_destroy(&env);
    env = rill_env_new();
    loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    assert_int_equal(rill_iteration_close(loop, rill_stream_discard(s_step(loop))), -1);
    assert_non_null(strstr(rill_env_error(env), "a sink"));
    rill_env_destroy(&env);
}

//  A keyed reduce inside the loop would hold its records until its input ends.
static void a_stateful_operator_inside_the_loop_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_t *sums =
        rill_stream_sum(rill_stream_key_by(s_step(loop), rill_key_first_field, NULL));
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(sums, s_not_one, NULL)), 0);
    rill_stream_discard(sums);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "operator 'sum()' (reduce): lies inside "
                                                "iteration 'iterate()'"));
    rill_env_destroy(&env);
}

static void an_input_from_outside_into_the_loop_body_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *numbers = rill_env_from_generator(env, s_numbers, NULL, 5);
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_t *mixed =
        rill_stream_map(rill_stream_union(s_step(loop), numbers), s_collatz_step, NULL);
    rill_stream_name(mixed, "mixed");
    assert_int_equal(rill_iteration_close(loop, rill_stream_filter(mixed, s_not_one, NULL)), 0);
    rill_stream_discard(mixed);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "operator 'mixed': lies inside iteration "
                                                "'iterate()' but also takes input from"));
    rill_env_destroy(&env);
}

static void a_forward_feedback_at_parallelism_two_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_t *step = s_step(loop);
    assert_int_equal(
        rill_iteration_close(loop, rill_stream_forward(rill_stream_filter(step, s_not_one, NULL))),
        0);
    rill_stream_discard(step);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "is forward, which does not reach every one of "
                                                "the head's 2 subtasks"));
    rill_env_destroy(&env);
}

//  Behind a global stream all subtasks but the first would have no input inside the loop.
static void a_global_stream_inside_the_loop_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_iteration_t *loop = rill_stream_iterate(rill_env_from_generator(env, s_numbers, NULL, 5));
    rill_stream_t *back = rill_stream_name(
        rill_stream_filter(rill_stream_global(s_step(loop)), s_not_one, NULL), "back");
    assert_int_equal(rill_iteration_close(loop, back), 0);
    rill_stream_discard(back);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "operator 'back': lies inside iteration "
                                                "'iterate()' behind a global stream"));
    rill_env_destroy(&env);
}

static void checkpoints_with_an_iteration_are_refused(void **state)
{
    (void)state;
    char directory[] = "/tmp/rill-iterate-XXXXXX";
    assert_non_null(mkdtemp(directory));
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(1, 10, results, NULL);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    assert_int_equal(rill_env_enable_checkpointing(env, 100, directory), 0);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "checkpoints are not supported in a job with an "
                                                "iteration"));
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    rmdir(directory);
}

//  Any other cycle is still one.
static void a_cycle_without_an_iteration_is_still_refused(void **state)
{
    (void)state;
    rill_graph_t *graph = rill_graph_new();
    int src = rill_graph_add_operator(
        graph, &(rill_operator_spec_t){
                   .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_numbers, .count = 3});
    rill_operator_spec_t map = {.kind = RILL_OP_MAP, .fn.map = s_collatz_step, .name = "a"};
    int a = rill_graph_add_operator(graph, &map);
    map.name = "b";
    int b = rill_graph_add_operator(graph, &map);
    int sink =
        rill_graph_add_operator(graph, &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = src, .to = a});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = a, .to = b});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = b, .to = a});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = b, .to = sink});
    char error[256] = "";
    rill_plan_t *plan = rill_plan_new(graph, "cycle", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_null(plan);
    assert_non_null(strstr(error, "lies on a cycle"));
    //  Marked as feedback into an operator that is no iteration head: refused too.
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = b, .to = a, .feedback = true});
    plan = rill_plan_new(graph, "cycle", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_null(plan);
    rill_graph_destroy(&graph);
}

//  ---- what the plan, JSON and diagrams show

static void the_plan_marks_the_feedback_edge_and_the_loop(void **state)
{
    (void)state;
    rill_results_t *results = rill_results_new();
    rill_env_t *env = s_collatz_job(2, 10, results, s_rebalance);
    const rill_plan_t *plan = rill_env_plan(env);
    if (!plan)
        fail_msg("%s", rill_env_error(env));
    int feedback = 0, inside = 0;
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        feedback += edge->feedback;
        inside += edge->iteration;
        if (edge->feedback) {
            assert_int_equal(rill_plan_operator(plan, edge->to)->kind, RILL_OP_ITERATION);
            assert_int_equal(edge->pattern, RILL_PATTERN_REBALANCE);
            assert_false(edge->chained);
            assert_int_equal(edge->channel_count, 4);
        }
        //  Where records leave the loop no probe goes.
        if (rill_op_kind_is_sink(rill_plan_operator(plan, edge->to)->kind))
            assert_false(edge->iteration);
    }
    assert_int_equal(feedback, 1);
    //  head -> step -> (rebalance) -> step -> filter, and the feedback.
    assert_int_equal(inside, 4);
    char *json = rill_plan_to_json(plan);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"feedback\": true"));
    assert_non_null(strstr(json, "\"op_kind\": \"iteration_head\""));
    char error[256];
    rill_plan_t *back = rill_plan_from_json(json, error, sizeof error);
    if (!back)
        fail_msg("%s", error);
    int feedback_back = 0;
    for (int e = 0; e < rill_plan_edge_count(back); e++)
        feedback_back += rill_plan_edge(back, e)->feedback;
    assert_int_equal(feedback_back, 1);
    rill_plan_destroy(&back);
    free(json);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  The bundled job: every number once, with its steps; and its plan draws the feedback.
static void the_collatz_job_prints_every_number_with_its_steps(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    int rc = test_run_tool(&out, &err, "run", "collatz", "-p", "2", "--", "--count", "200", NULL);
    if (rc != 0)
        fail_msg("collatz exited %d: %s", rc, err ? err : "");
    bool seen[201] = {false};
    int lines = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        unsigned long long n = 0, steps = 0;
        assert_int_equal(sscanf(line, "%llu\t%llu", &n, &steps), 2);
        assert_true(n >= 1 && n <= 200 && !seen[n]);
        seen[n] = true;
        assert_int_equal(steps, s_expected_trips(n));
    }
    assert_int_equal(lines, 200);
    free(out);
    free(err);
    out = err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "plan", "collatz", "--format", "dot", NULL), 0);
    assert_non_null(strstr(out, "feedback=1"));
    assert_non_null(strstr(out, "feedback · forward"));
    free(out);
    free(err);
    out = err = NULL;
    assert_int_equal(
        test_run_tool(&out, &err, "plan", "collatz", "-p", "2", "--format", "json", NULL), 0);
    assert_non_null(strstr(out, "\"feedback\": true"));
    free(out);
    free(err);
}

//  ---- the classes underneath

static void the_rounds_end_after_a_round_that_counted_nothing(void **state)
{
    (void)state;
    rill_iteration_rounds_t *rounds = rill_iteration_rounds_new(2);
    int64_t round;
    uint64_t count;
    assert_false(rill_iteration_rounds_started(rounds));
    rill_iteration_rounds_start(rounds, &round, &count);
    assert_int_equal(round, 1);
    assert_int_equal(count, 1); //  round 1 knows nothing of a round before
    //  A record from sender 0 before its probe 1 came back: in round 1's count.
    rill_iteration_rounds_record(rounds, 0);
    assert_int_equal(rill_iteration_rounds_probe(rounds, 0, 1, 1, &round, &count),
                     RILL_ROUNDS_WAIT);
    rill_iteration_rounds_record(rounds, 0); //  after its probe: the next round's business
    assert_int_equal(rill_iteration_rounds_probe(rounds, 1, 1, 1, &round, &count),
                     RILL_ROUNDS_NEXT);
    assert_int_equal(round, 2);
    assert_int_equal(count, 1);
    //  Sender 1 a round ahead: held back until round 3 goes out.
    assert_int_equal(rill_iteration_rounds_probe(rounds, 1, 2, 1, &round, &count),
                     RILL_ROUNDS_WAIT);
    assert_true(rill_iteration_rounds_ahead(rounds, 1) == false);
    assert_int_equal(rill_iteration_rounds_probe(rounds, 0, 2, 0, &round, &count),
                     RILL_ROUNDS_NEXT); //  the total was 1: not yet
    assert_int_equal(round, 3);
    assert_int_equal(count, 0);
    assert_int_equal(rill_iteration_rounds_probe(rounds, 0, 3, 0, &round, &count),
                     RILL_ROUNDS_WAIT);
    assert_int_equal(rill_iteration_rounds_probe(rounds, 0, 4, 0, &round, &count),
                     RILL_ROUNDS_WAIT); //  ahead
    assert_true(rill_iteration_rounds_ahead(rounds, 0));
    assert_int_equal(rill_iteration_rounds_probe(rounds, 1, 3, 0, &round, &count),
                     RILL_ROUNDS_DONE);
    //  Out of order: a round skipped.
    rill_iteration_rounds_t *other = rill_iteration_rounds_new(1);
    rill_iteration_rounds_start(other, &round, &count);
    assert_int_equal(rill_iteration_rounds_probe(other, 0, 2, 0, &round, &count), -1);
    rill_iteration_rounds_destroy(&other);
    rill_iteration_rounds_destroy(&rounds);
    assert_null(rounds);
}

static void the_spill_queue_keeps_order_across_memory_and_file(void **state)
{
    (void)state;
    rill_spill_queue_t *queue = rill_spill_queue_new(1000);
    char text[200];
    uint64_t pushed = 0, popped = 0;
    for (int turn = 0; turn < 50; turn++) {
        for (int i = 0; i < 20; i++, pushed++) {
            int size = snprintf(text, sizeof text, "%" PRIu64 ":%.*s", pushed, (int)(pushed % 90),
                                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                "xxxxxxxxxxxxxxxxxxxxxxxxxx");
            assert_int_equal(rill_spill_queue_push(queue, (int)(pushed % 7), text, (size_t)size),
                             0);
        }
        for (int i = 0; i < (turn % 3 == 2 ? 40 : 10); i++) {
            int tag;
            const void *data;
            size_t size;
            int rc = rill_spill_queue_pop(queue, &tag, &data, &size);
            if (rc == 0)
                break;
            assert_int_equal(rc, 1);
            int length = snprintf(text, sizeof text, "%" PRIu64 ":", popped);
            assert_true(size >= (size_t)length && memcmp(data, text, (size_t)length) == 0);
            assert_int_equal(size - (size_t)length, popped % 90);
            assert_int_equal(tag, (int)(popped % 7));
            popped++;
        }
    }
    assert_int_equal(rill_spill_queue_size(queue), pushed - popped);
    assert_true(rill_spill_queue_spilled(queue) > 0);
    rill_spill_queue_destroy(&queue);
    assert_null(queue);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(collatz_loop_gives_every_number_its_trips),
        cmocka_unit_test(collatz_at_parallelism_three_with_a_rebalance_in_the_loop),
        cmocka_unit_test(collatz_at_parallelism_three_with_a_forward_body),
        cmocka_unit_test(collatz_with_inputs_that_end_far_apart),
        cmocka_unit_test(collatz_at_parallelism_two_with_a_key_by_in_the_loop),
        cmocka_unit_test(a_body_of_another_parallelism_in_streaming_mode),
        cmocka_unit_test(a_multiplying_body_finishes_through_small_buffers),
        cmocka_unit_test(a_multiplying_body_finishes_at_parallelism_two),
        cmocka_unit_test(a_multiplying_body_finishes_spilling_its_feedback_to_a_file),
        cmocka_unit_test(a_loop_that_feeds_nothing_back_ends),
        cmocka_unit_test(a_loop_with_no_input_at_all_ends),
        cmocka_unit_test(closing_twice_is_an_error),
        cmocka_unit_test(an_iteration_never_closed_is_refused_at_plan_time),
        cmocka_unit_test(feedback_not_downstream_of_the_head_is_an_error),
        cmocka_unit_test(a_union_or_sink_as_feedback_is_an_error),
        cmocka_unit_test(a_stateful_operator_inside_the_loop_is_refused),
        cmocka_unit_test(an_input_from_outside_into_the_loop_body_is_refused),
        cmocka_unit_test(a_forward_feedback_at_parallelism_two_is_refused),
        cmocka_unit_test(a_global_stream_inside_the_loop_is_refused),
        cmocka_unit_test(checkpoints_with_an_iteration_are_refused),
        cmocka_unit_test(a_cycle_without_an_iteration_is_still_refused),
        cmocka_unit_test(the_plan_marks_the_feedback_edge_and_the_loop),
        cmocka_unit_test(the_collatz_job_prints_every_number_with_its_steps),
        cmocka_unit_test(the_rounds_end_after_a_round_that_counted_nothing),
        cmocka_unit_test(the_spill_queue_keeps_order_across_memory_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
