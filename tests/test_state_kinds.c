/*  test_state_kinds.c: the richer keyed state of process functions (issue 16), against Flink's
    documented behaviour: a deleted timer does not fire (deleteEventTimeTimer); list state
    keeps every element in order (ListState); reducing and aggregating state fold each add
    (ReducingState, AggregatingState). State time-to-live is checked on the test harness's
    manual clock (test_harness.c), with no waiting. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  Records "key<TAB>op<TAB>arg" from a script, at times 1, 2, 3...
typedef struct {
    const char *const *lines;
    int next;
} s_script_t;

static int s_script(rill_collector_t *out, void *ctx)
{
    s_script_t *script = ctx;
    const char *line = script->lines[script->next];
    if (!line)
        return RILL_SOURCE_END;
    script->next++;
    return rill_collector_emit(out, line, strlen(line), script->next) ? -1 : RILL_SOURCE_MORE;
}

static rill_results_t *s_run(s_script_t *script, rill_process_fn fn, rill_timer_fn on_timer)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_stream_t *in = rill_stream_assign_timestamps(rill_env_from_source(env, s_script, script, true),
                                                      s_record_time, NULL, NULL);
    rill_stream_t *processed =
        rill_stream_process(rill_stream_key_by(in, rill_key_first_field, NULL), fn, on_timer, NULL);
    rill_stream_collect(processed, results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    rill_env_destroy(&env);
    return results;
}

//  The fields of a script line: op and its number argument.
static void s_fields(const rill_record_t *in, char *op, long *arg)
{
    const char *first = memchr(in->data, '\t', in->size);
    const char *second = memchr(first + 1, '\t', in->size - (size_t)(first + 1 - (const char *)in->data));
    snprintf(op, 16, "%.*s", (int)(second - first - 1), first + 1);
    //  The number ends the record: read it within the record's bytes, not with atol.
    rill_record_t rest = {second, in->size - (size_t)(second - (const char *)in->data), 0};
    *arg = (long)test_field_number(&rest, '\t');
}

static void s_expect(rill_results_t *results, const char *const *expected)
{
    size_t count = 0;
    while (expected[count])
        count++;
    assert_int_equal(rill_results_size(results), count);
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_results_record(results, i);
        char text[128];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        assert_string_equal(text, expected[i]);
    }
}

//  ---- timers

static int s_timers(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                    void *ctx)
{
    (void)out, (void)ctx;
    char op[16];
    long at;
    s_fields(in, op, &at);
    if (strcmp(op, "register") == 0)
        return rill_timer_register(process, RILL_TIME_EVENT, at);
    return rill_timer_delete(process, RILL_TIME_EVENT, at);
}

static int s_fired(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                   rill_collector_t *out, void *ctx)
{
    (void)process, (void)domain, (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "fired %lld", (long long)time);
    return rill_collector_emit(out, text, (size_t)size, time);
}

static void a_deleted_timer_does_not_fire(void **state)
{
    (void)state;
    static const char *const lines[] = {"k\tregister\t100", "k\tregister\t200", "k\tdelete\t100",
                                        "k\tregister\t300", "k\tdelete\t300",   "k\tregister\t300",
                                        "k\tdelete\t999",   NULL};
    s_script_t script = {lines, 0};
    rill_results_t *results = s_run(&script, s_timers, s_fired);
    //  100 deleted; 300 deleted and registered again: it fires, once.
    static const char *const expected[] = {"fired 200", "fired 300", NULL};
    s_expect(results, expected);
    rill_results_destroy(&results);
}

//  ---- list, reducing and aggregating state

static int s_sum(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    long a, b;
    memcpy(&a, acc->data, sizeof a);
    memcpy(&b, in->data, sizeof b);
    long sum = a + b;
    return rill_buffer_set(out, &sum, sizeof sum);
}

typedef struct {
    long count;
    long total;
} s_mean_t;

static void s_mean_create(void *acc, void *ctx)
{
    (void)ctx;
    memset(acc, 0, sizeof(s_mean_t));
}

static int s_mean_add(void *acc, const rill_record_t *in, void *ctx)
{
    (void)ctx;
    s_mean_t *mean = acc;
    long value;
    memcpy(&value, in->data, sizeof value);
    mean->count++;
    mean->total += value;
    return 0;
}

static const rill_aggregate_t s_mean = {sizeof(s_mean_t), s_mean_create, s_mean_add, NULL, NULL};

//  "add N": list, sum and mean take N; "show": the three, as text.
static int s_kinds(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                   void *ctx)
{
    (void)ctx;
    char op[16];
    long n;
    s_fields(in, op, &n);
    if (strcmp(op, "add") == 0) {
        char element[16];
        int size = snprintf(element, sizeof element, "e%ld", n);
        rill_record_t number = {&n, sizeof n, in->timestamp};
        return rill_state_list_add(process, "list", element, (size_t)size) ||
               rill_state_reduce_add(process, "sum", &n, sizeof n, s_sum, NULL) ||
               rill_state_aggregate_add(process, "mean", &number, &s_mean, NULL);
    }
    char text[128];
    int at = snprintf(text, sizeof text, "%.*s:", (int)rill_process_key(process)->size,
                      (const char *)rill_process_key(process)->data);
    const void *list, *cursor, *data;
    size_t list_size, size;
    if (rill_state_list_get(process, "list", &list, &list_size) == 0) {
        cursor = list;
        int rc;
        while ((rc = rill_state_list_next(list, list_size, &cursor, &data, &size)) == 1)
            at += snprintf(text + at, sizeof text - (size_t)at, " %.*s", (int)size,
                           (const char *)data);
        if (rc < 0)
            return -1;
    }
    long sum = 0;
    s_mean_t mean = {0, 0};
    if (rill_state_value_get(process, "sum", &data, &size) == 0)
        memcpy(&sum, data, sizeof sum);
    if (rill_state_value_get(process, "mean", &data, &size) == 0 && size == sizeof mean)
        memcpy(&mean, data, sizeof mean);
    at += snprintf(text + at, sizeof text - (size_t)at, " | sum %ld | %ld of %ld", sum, mean.total,
                   mean.count);
    if (rill_state_clear(process, "sum"))
        return -1;
    return rill_collector_emit(out, text, (size_t)at, RILL_NO_TIMESTAMP);
}

static void list_reducing_and_aggregating_state_keep_every_add(void **state)
{
    (void)state;
    static const char *const lines[] = {"a\tadd\t5",  "b\tadd\t7",  "a\tadd\t1", "a\tadd\t30",
                                        "a\tshow\t0", "b\tshow\t0", "c\tshow\t0", "a\tadd\t2",
                                        "a\tshow\t0", NULL};
    s_script_t script = {lines, 0};
    rill_results_t *results = s_run(&script, s_kinds, NULL);
    //  In order per key; the sum was cleared after each show, the list and the mean were not.
    static const char *const expected[] = {"a: e5 e1 e30 | sum 36 | 36 of 3",
                                           "b: e7 | sum 7 | 7 of 1",
                                           "c: | sum 0 | 0 of 0",
                                           "a: e5 e1 e30 e2 | sum 2 | 38 of 4", NULL};
    //  One key per subtask at parallelism 1, in arrival order.
    s_expect(results, expected);
    rill_results_destroy(&results);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_deleted_timer_does_not_fire),
        cmocka_unit_test(list_reducing_and_aggregating_state_keep_every_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
