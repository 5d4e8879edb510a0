/*  test_lifecycle.c: per-subtask open and close (Flink's RichFunction lifecycle, issue 16):
    open runs once in each subtask before its first record and may give the subtask a ctx of
    its own, which every call of that subtask gets (no locks needed); close runs once per
    subtask at the end, however the job ends; a failing open fails the job, naming the
    operator. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define S_RECORDS 10000
#define S_PARALLELISM 3

//  What the test keeps per subtask: written by that subtask's thread alone, read after the run.
typedef struct {
    int opened, closed;
    int parallelism, attempt;
    char name[32];
    long records;
    bool wrong_subtask; //  a call got another subtask's ctx
} s_slot_t;

typedef struct {
    s_slot_t slots[S_PARALLELISM];
    bool open_fails;
} s_shared_t;

//  A subtask's own ctx: its slot.
typedef struct {
    s_slot_t *slot;
    int subtask;
    rill_metric_t *seen, *last; //  user metrics: a counter and a gauge
} s_local_t;

static int s_open(const rill_context_t *context, void *ctx, void **subtask_ctx)
{
    s_shared_t *shared = ctx;
    if (shared->open_fails)
        return -1;
    int subtask = rill_context_subtask(context);
    s_local_t *local = malloc(sizeof *local);
    if (!local)
        return -1;
    *local = (s_local_t){&shared->slots[subtask], subtask, rill_context_counter(context, "seen"),
                         rill_context_gauge(context, "last")};
    local->slot->opened++;
    local->slot->parallelism = rill_context_parallelism(context);
    local->slot->attempt = rill_context_attempt(context);
    snprintf(local->slot->name, sizeof local->slot->name, "%s", rill_context_operator(context));
    *subtask_ctx = local;
    return 0;
}

static void s_close(const rill_context_t *context, void *subtask_ctx)
{
    s_local_t *local = subtask_ctx;
    if (local->subtask != rill_context_subtask(context))
        local->slot->wrong_subtask = true;
    local->slot->closed++;
    free(local);
}

//  Counts its subtask's records in that subtask's own slot.
static int s_count(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_local_t *local = ctx;
    if (local->subtask != rill_collector_subtask(out))
        local->slot->wrong_subtask = true;
    local->slot->records++;
    rill_metric_add(local->seen, 1);
    rill_metric_set(local->last, (int64_t)test_record_number(in));
    return rill_collector_emit(out, in->data, in->size, RILL_NO_TIMESTAMP);
}

static int s_failing(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)in, (void)out;
    s_local_t *local = ctx;
    return ++local->slot->records == 100 ? -1 : 0;
}

static rill_stream_t *s_build(rill_env_t *env, s_shared_t *shared, rill_flat_map_fn fn)
{
    rill_stream_t *source = rill_env_from_generator(env, test_generate_sequence, NULL, S_RECORDS);
    rill_stream_t *counted = rill_stream_name(
        rill_stream_parallelism(rill_stream_flat_map(rill_stream_rebalance(source), fn, shared),
                                S_PARALLELISM),
        "counting");
    return rill_stream_open_close(counted, s_open, s_close);
}

static void open_and_close_run_once_per_subtask_with_its_own_ctx(void **state)
{
    (void)state;
    s_shared_t shared = {0};
    rill_env_t *env = rill_env_new();
    rill_stream_discard(s_build(env, &shared, s_count));
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    long total = 0;
    for (int s = 0; s < S_PARALLELISM; s++) {
        s_slot_t *slot = &shared.slots[s];
        assert_int_equal(slot->opened, 1);
        assert_int_equal(slot->closed, 1);
        assert_int_equal(slot->parallelism, S_PARALLELISM);
        assert_int_equal(slot->attempt, 0);
        assert_string_equal(slot->name, "counting");
        assert_false(slot->wrong_subtask);
        assert_true(slot->records > 0); //  rebalance gives every subtask some
        total += slot->records;
    }
    assert_int_equal(total, S_RECORDS);
    //  The user metrics, per subtask: the counter equals its records, the gauge is one of them.
    const rill_metrics_t *metrics = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    int counting = rill_plan_operator_count(plan) - 2; //  source, counting, discard
    const rill_plan_operator_t *op = rill_plan_operator(plan, counting);
    assert_string_equal(op->name, "counting");
    for (int s = 0; s < S_PARALLELISM; s++) {
        rill_user_metric_t user[RILL_USER_METRICS];
        assert_int_equal(rill_metrics_user(metrics, op->first_subtask + s, user, RILL_USER_METRICS),
                         2);
        assert_string_equal(user[0].name, "seen");
        assert_false(user[0].gauge);
        assert_int_equal(user[0].value, shared.slots[s].records);
        assert_string_equal(user[1].name, "last");
        assert_true(user[1].gauge);
        assert_true(user[1].value >= 0 && user[1].value < S_RECORDS);
    }
    rill_env_destroy(&env);
}

//  A subtask whose function fails still closes, as do the others the failure stops.
static void close_runs_when_the_job_fails(void **state)
{
    (void)state;
    s_shared_t shared = {0};
    rill_env_t *env = rill_env_new();
    rill_stream_discard(s_build(env, &shared, s_failing));
    assert_int_not_equal(rill_env_execute(env), 0);
    for (int s = 0; s < S_PARALLELISM; s++) {
        assert_int_equal(shared.slots[s].opened, 1);
        assert_int_equal(shared.slots[s].closed, 1);
    }
    rill_env_destroy(&env);
}

static void a_failing_open_fails_the_job_naming_the_operator(void **state)
{
    (void)state;
    s_shared_t shared = {.open_fails = true};
    rill_env_t *env = rill_env_new();
    rill_stream_discard(s_build(env, &shared, s_count));
    assert_int_not_equal(rill_env_execute(env), 0);
    const char *error = rill_env_error(env);
    assert_non_null(strstr(error, "open function failed"));
    assert_non_null(strstr(error, "counting"));
    for (int s = 0; s < S_PARALLELISM; s++)
        assert_int_equal(shared.slots[s].closed, 0); //  close only after an open that worked
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_and_close_run_once_per_subtask_with_its_own_ctx),
        cmocka_unit_test(close_runs_when_the_job_fails),
        cmocka_unit_test(a_failing_open_fails_the_job_naming_the_operator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
