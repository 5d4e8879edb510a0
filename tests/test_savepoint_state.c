/*  test_savepoint_state.c: named state read back from a real checkpoint by operator and state
    name (rill_savepoint.h, `rill state`; issue 16's named state descriptors, Flink's State
    Processor API on the reading side). A job keeps value, map and list state in a process
    function and a count trigger's per-window state; once a checkpoint holds every record, the
    test reads each named state and checks it against what it computed itself. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_RECORDS 500
#define S_KEYS 5

typedef struct {
    int next;
    int snapshots_after; //  source snapshots taken after the last record was sent
} s_source_t;

//  "k<i % 5>\t<i>" for i < S_RECORDS, then quiet until two checkpoints were taken after the
//  last record (the second starts only once the first completed), then the end.
static int s_source(rill_collector_t *out, void *ctx)
{
    s_source_t *source = ctx;
    if (source->next < S_RECORDS) {
        char text[32];
        int size = snprintf(text, sizeof text, "k%d\t%d", source->next % S_KEYS, source->next);
        source->next++;
        return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP) ? -1
                                                                                : RILL_SOURCE_MORE;
    }
    if (__atomic_load_n(&source->snapshots_after, __ATOMIC_ACQUIRE) >= 2)
        return RILL_SOURCE_END;
    usleep(1000);
    return RILL_SOURCE_MORE;
}

static int s_snapshot(int subtask, rill_buffer_t *out, void *ctx)
{
    (void)subtask;
    s_source_t *source = ctx;
    if (source->next >= S_RECORDS)
        __atomic_add_fetch(&source->snapshots_after, 1, __ATOMIC_RELEASE);
    return rill_buffer_append(out, &source->next, sizeof source->next);
}

static int s_restore(int subtask, const void *data, size_t size, void *ctx)
{
    (void)subtask, (void)data, (void)size, (void)ctx;
    return -1; //  never restored here
}

//  Per key: "sum" (value, int64), "seen" (map: the number's text -> ""), "last" (list of the
//  numbers' texts, two at most).
static int s_tally(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                   void *ctx)
{
    (void)out, (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    size_t number_size = in->size - (size_t)(tab + 1 - (const char *)in->data);
    int64_t sum = 0;
    const void *data;
    size_t size;
    if (rill_state_value_get(process, "sum", &data, &size) == 0)
        memcpy(&sum, data, sizeof sum);
    sum += test_field_number(in, '\t');
    return rill_state_value_set(process, "sum", &sum, sizeof sum) ||
           rill_state_map_put(process, "seen", tab + 1, number_size, "", 0) ||
           rill_state_list_add(process, "items", tab + 1, number_size);
}

static int s_list(const rill_window_bounds_t *window, const rill_key_t *key,
                  const rill_record_t *records, size_t count, rill_collector_t *out, void *ctx)
{
    (void)window, (void)key, (void)records, (void)count, (void)out, (void)ctx;
    return 0;
}

typedef struct {
    int64_t sums[S_KEYS];
    int seen[S_RECORDS];
    int items[S_KEYS];
    int64_t counts[S_KEYS];
    int entries;
} s_found_t;

static int s_key_index(const rill_state_item_t *item)
{
    assert_int_equal(item->key_size, 2);
    assert_int_equal(((const char *)item->key)[0], 'k');
    return ((const char *)item->key)[1] - '0';
}

static int s_collect(const rill_state_item_t *item, void *ctx)
{
    s_found_t *found = ctx;
    found->entries++;
    int k = s_key_index(item);
    if (strcmp(item->name, "sum") == 0) {
        assert_int_equal(item->kind, RILL_STATE_ITEM_VALUE);
        assert_int_equal(item->value_size, sizeof(int64_t));
        memcpy(&found->sums[k], item->value, sizeof(int64_t));
    } else if (strcmp(item->name, "seen") == 0) {
        assert_int_equal(item->kind, RILL_STATE_ITEM_MAP);
        rill_record_t number = {item->map_key, item->map_key_size, 0};
        uint64_t n = test_record_number(&number);
        assert_true(n < S_RECORDS && (int)(n % S_KEYS) == k);
        found->seen[n]++;
    } else if (strcmp(item->name, "items") == 0) {
        assert_int_equal(item->kind, RILL_STATE_ITEM_LIST);
        const void *at = item->value;
        const void *data;
        size_t size;
        while (rill_state_list_next(item->value, item->value_size, &at, &data, &size) == 1)
            found->items[k]++;
    } else if (strcmp(item->name, "count") == 0) {
        //  The count trigger's state of each key's global window.
        assert_int_equal(item->kind, RILL_STATE_ITEM_WINDOW);
        assert_false(item->global);
        assert_true(item->window.start == INT64_MIN && item->window.end == INT64_MAX);
        memcpy(&found->counts[k], item->value, sizeof(int64_t));
    } else
        fail_msg("unexpected state '%s'", item->name);
    return 0;
}

static void named_state_reads_back_by_operator_and_name(void **state)
{
    (void)state;
    char dir[] = "/tmp/rill-savepoint-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    assert_int_equal(rill_env_enable_checkpointing(env, 20, dir), 0);
    s_source_t source = {0, 0};
    rill_stream_t *in = rill_stream_parallelism(
        rill_stream_source_checkpoints(rill_env_from_source(env, s_source, &source, false),
                                       s_snapshot, s_restore),
        1);
    rill_keyed_stream_t keyed = rill_stream_key_by(in, rill_key_first_field, NULL);
    rill_stream_discard(rill_stream_name(rill_stream_process(keyed, s_tally, NULL, NULL), "tally"));
    rill_window_t w = rill_window_global();
    w.trigger = rill_trigger_count(1000000);
    rill_stream_discard(
        rill_stream_name(rill_stream_window_process(keyed, &w, s_list, NULL), "counting"));
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    rill_env_destroy(&env);

    char error[512];
    rill_savepoint_t *savepoint = rill_savepoint_open(dir, error, sizeof error);
    if (!savepoint)
        fail_msg("%s", error);
    int tally = rill_savepoint_operator_find(savepoint, "tally");
    int counting = rill_savepoint_operator_find(savepoint, "counting");
    assert_true(tally >= 0 && counting >= 0);
    assert_string_equal(rill_savepoint_operator_kind(savepoint, tally), "process");
    assert_int_equal(rill_savepoint_operator_parallelism(savepoint, tally), 2);
    s_found_t found;
    memset(&found, 0, sizeof found);
    assert_int_equal(rill_savepoint_each_state(savepoint, tally, NULL, s_collect, &found, error,
                                               sizeof error),
                     0);
    assert_int_equal(rill_savepoint_each_state(savepoint, counting, NULL, s_collect, &found,
                                               error, sizeof error),
                     0);
    for (int k = 0; k < S_KEYS; k++) {
        int64_t sum = 0;
        for (int i = k; i < S_RECORDS; i += S_KEYS)
            sum += i;
        assert_int_equal(found.sums[k], sum);
        assert_int_equal(found.items[k], S_RECORDS / S_KEYS);
        assert_int_equal(found.counts[k], S_RECORDS / S_KEYS);
    }
    for (int n = 0; n < S_RECORDS; n++)
        assert_int_equal(found.seen[n], 1);
    //  One name alone: the five sums, nothing else.
    memset(&found, 0, sizeof found);
    assert_int_equal(rill_savepoint_each_state(savepoint, tally, "sum", s_collect, &found, error,
                                               sizeof error),
                     0);
    assert_int_equal(found.entries, S_KEYS);
    //  An operator without named state says so.
    int source_id = rill_savepoint_operator_find(savepoint, rill_savepoint_operator_name(savepoint, 0));
    assert_int_equal(source_id, 0);
    assert_int_equal(rill_savepoint_each_state(savepoint, 0, NULL, s_collect, &found, error,
                                               sizeof error),
                     -1);
    assert_non_null(strstr(error, "keeps no named state"));
    rill_savepoint_destroy(&savepoint);

    //  The tool: a summary, then one state's entries.
    char *out = NULL, *err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "state", dir, NULL), 0);
    assert_non_null(strstr(out, "tally (process, parallelism 2)"));
    assert_non_null(strstr(out, "state 'sum': value, 5 entries"));
    assert_non_null(strstr(out, "state 'seen': map, 500 entries"));
    assert_non_null(strstr(out, "state 'count': window, 5 entries"));
    free(out);
    free(err);
    assert_int_equal(test_run_tool(&out, &err, "state", dir, "--operator", "tally", "--state",
                                   "seen", NULL),
                     0);
    assert_non_null(strstr(out, "k3\t498\t\n"));
    free(out);
    free(err);
    assert_int_equal(test_run_tool(&out, &err, "state", dir, "--operator", "counting", "--state",
                                   "count", "--json", NULL),
                     0);
    assert_non_null(strstr(out, "\"key\":\"k0\""));
    free(out);
    free(err);
    //  Bad input: a clear message, a non-zero exit.
    assert_int_equal(test_run_tool(&out, &err, "state", dir, "--operator", "nobody", NULL), 1);
    assert_non_null(strstr(err, "no operator 'nobody'"));
    free(out);
    free(err);
    assert_int_equal(test_run_tool(&out, &err, "state", "/nonexistent/rill", NULL), 1);
    assert_non_null(strstr(err, "/nonexistent/rill"));
    free(out);
    free(err);
    test_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_state_reads_back_by_operator_and_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
