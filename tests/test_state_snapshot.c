/*  test_state_snapshot.c: snapshot and restore of operator state (checkpoints, issue 13), for
    every operator kind that keeps state: keyed reduce (with and without a mini-batch), windows
    (tumbling with lateness, sliding, session, count) and keyed process functions. Each case
    drives operators directly, as the subtask would: a script of records, watermarks and ticks
    with a cut in it. The reference is one operator that takes a snapshot at the cut and runs
    on; against it, the script's first part runs on p_old subtasks (each fed the records whose
    key group it owns), their snapshots are restored into p_new fresh subtasks (each reading
    every old snapshot through rill_state_reader_t, as a restore at another parallelism does)
    and those run the rest. The rule (Flink's, for keyed state and timers): the union of what
    the subtasks emit equals what the reference emits; in the same order at parallelism 1,
    sorted otherwise (order across keys is free). Each scenario also runs once with nothing
    restored and must then differ: it depends on the saved state. */
#include "testutil.h"

#include "rill_key_hash.h"
#include "rill_operator.h"
#include "rill_operator_registry.h"
#include "rill_partitioner.h"

#include <stdlib.h>
#include <string.h>

//  ---- what the operators emit: one line per record, "text@timestamp" ("late:" in front of
//  a late record)

typedef struct {
    char **lines;
    size_t count;
    size_t capacity;
} s_output_t;

//  Takes line (malloc'd).
static void s_push(s_output_t *self, char *line)
{
    assert_non_null(line);
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? 2 * self->capacity : 64;
        self->lines = realloc(self->lines, self->capacity * sizeof(char *));
        assert_non_null(self->lines);
    }
    self->lines[self->count++] = line;
}

static int s_add_line(s_output_t *self, const char *prefix, const rill_record_t *record)
{
    size_t size = strlen(prefix) + record->size + 32;
    char *line = malloc(size);
    assert_non_null(line);
    snprintf(line, size, "%s%.*s@%lld", prefix, (int)record->size, (const char *)record->data,
             (long long)record->timestamp);
    s_push(self, line);
    return 0;
}

static int s_emit(void *target, const rill_record_t *record)
{
    return s_add_line(target, "", record);
}

static int s_emit_tagged(void *target, int tag, const rill_record_t *record)
{
    return s_add_line(target, tag == RILL_OUTPUT_LATE ? "late:" : "side:", record);
}

static void s_output_free(s_output_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->lines[i]);
    free(self->lines);
    *self = (s_output_t){0};
}

static int s_compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_print(const char *title, const s_output_t *output)
{
    printf("  %s (%zu):\n", title, output->count);
    for (size_t i = 0; i < output->count; i++)
        printf("    %s\n", output->lines[i]);
}

static bool s_same(s_output_t *a, s_output_t *b, bool sorted)
{
    if (sorted) {
        qsort(a->lines, a->count, sizeof(char *), s_compare_lines);
        qsort(b->lines, b->count, sizeof(char *), s_compare_lines);
    }
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->lines[i], b->lines[i]))
            return false;
    return true;
}

//  ---- planned operators, opened through the registry as the subtask opens them

typedef rill_stream_t *(s_build_fn)(rill_keyed_stream_t keyed);

typedef struct {
    rill_env_t *env;
    const rill_plan_t *plan;
    int op; //  the stateful operator's id
} s_job_t;

static int s_generate_nothing(uint64_t index, rill_collector_t *out, void *ctx)
{
    return 0;
}

//  An unbounded generator (streaming mode) keyed by first field into build's operator of the
//  given parallelism. mini_batch_ms > 0 turns the mini-batch on (and combining off, so that
//  the reduce reads plain records, as the tests feed it).
static s_job_t s_job(s_build_fn *build, int parallelism, int mini_batch_ms)
{
    s_job_t self = {rill_env_new(), NULL, -1};
    assert_non_null(self.env);
    if (mini_batch_ms) {
        assert_int_equal(rill_env_set_mini_batch(self.env, mini_batch_ms), 0);
        assert_int_equal(rill_env_set_combine(self.env, 0), 0);
    }
    rill_stream_t *source =
        rill_env_from_generator(self.env, s_generate_nothing, NULL, RILL_UNBOUNDED);
    rill_stream_t *op = build(rill_stream_key_by(source, rill_key_first_field, NULL));
    assert_non_null(rill_stream_parallelism(op, parallelism));
    rill_stream_discard(op);
    self.plan = rill_env_plan(self.env);
    if (!self.plan)
        fail_msg("cannot plan: %s", rill_env_error(self.env));
    for (int i = 0; i < rill_plan_operator_count(self.plan); i++) {
        rill_op_kind_t kind = rill_plan_operator(self.plan, i)->kind;
        if (kind == RILL_OP_REDUCE || kind == RILL_OP_WINDOW || kind == RILL_OP_PROCESS)
            self.op = i;
    }
    assert_true(self.op >= 0);
    assert_int_equal(rill_plan_mode(self.plan), RILL_MODE_STREAMING);
    return self;
}

static rill_operator_t *s_open(const s_job_t *job, int index)
{
    char why[256] = "";
    rill_operator_t *op = rill_operator_new(job->plan, job->op, index, why, sizeof why);
    if (!op)
        fail_msg("cannot open the operator: %s", why);
    return op;
}

//  ---- scripts

//  S_REPLAYED_WATERMARK: a watermark only restored subtasks see: after a restore the inputs'
//  watermarks start over from their restarted sources, below what the subtask had reached
//  (an operator that never stopped never sees its watermark go back).
typedef enum { S_RECORD, S_WATERMARK, S_REPLAYED_WATERMARK, S_TICK, S_CUT, S_END } s_kind_t;

typedef struct {
    s_kind_t kind;
    const char *text; //  a record: "key<TAB>value"
    int64_t time;     //  its timestamp; a watermark; a tick's wall time
} s_event_t;

// clang-format off: scripts read best as rows of events
#define R(text, time)                                                                              \
    {                                                                                              \
        S_RECORD, text, time                                                                       \
    }
#define W(time)                                                                                    \
    {                                                                                              \
        S_WATERMARK, NULL, time                                                                    \
    }
#define RW(time)                                                                                   \
    {                                                                                              \
        S_REPLAYED_WATERMARK, NULL, time                                                           \
    }
#define T(now)                                                                                     \
    {                                                                                              \
        S_TICK, NULL, now                                                                          \
    }
#define CUT                                                                                        \
    {                                                                                              \
        S_CUT, NULL, 0                                                                             \
    }
#define END                                                                                        \
    {                                                                                              \
        S_END, NULL, 0                                                                             \
    }
// clang-format on

//  Whether subtask index of parallelism gets the record's key: the partitioner's own routing
//  (so that state filed under another key group than the key's records would show).
static bool s_owns(const char *text, int index, int parallelism)
{
    const char *tab = strchr(text, '\t');
    size_t size = tab ? (size_t)(tab - text) : strlen(text);
    return rill_key_group_receiver(rill_key_group(text, size), parallelism) == index;
}

//  Feeds the events from `at` up to the cut or the end (returned: where it stopped) to
//  subtask index of parallelism, which gets every watermark and tick and the records of its
//  keys (and the replayed watermarks when restored); at S_END the input ends.
static size_t s_feed(rill_operator_t *op, const s_event_t *events, size_t at, int index,
                     int parallelism, bool restored, s_output_t *output)
{
    rill_collector_t out = {.emit = s_emit,
                            .emit_tagged = s_emit_tagged,
                            .target = output,
                            .subtask = index,
                            .parallelism = parallelism};
    for (;; at++) {
        const s_event_t *e = &events[at];
        int rc = 0;
        switch (e->kind) {
        case S_RECORD:
            if (!s_owns(e->text, index, parallelism))
                continue;
            rc = op->vtable->on_record(op, &(rill_record_t){e->text, strlen(e->text), e->time}, 0,
                                       &out);
            break;
        case S_REPLAYED_WATERMARK:
        case S_WATERMARK:
            if (e->kind == S_REPLAYED_WATERMARK && !restored)
                continue;
            if (op->vtable->on_watermark)
                rc = op->vtable->on_watermark(op, e->time, &out);
            break;
        case S_TICK:
            if (op->vtable->on_tick)
                rc = op->vtable->on_tick(op, e->time, &out);
            break;
        case S_CUT:
            return at;
        case S_END:
            rc = op->vtable->on_end(op, &out);
            if (rc)
                fail_msg("on_end failed: %s", op->error);
            return at;
        }
        if (rc)
            fail_msg("event %zu failed: %s", at, op->error);
    }
}

//  The reference: one subtask that snapshots at the cut and runs on.
static void s_run_reference(s_build_fn *build, int mini_batch_ms, const s_event_t *events,
                            s_output_t *output)
{
    s_job_t job = s_job(build, 1, mini_batch_ms);
    rill_operator_t *op = s_open(&job, 0);
    size_t cut = s_feed(op, events, 0, 0, 1, false, output);
    assert_int_equal(events[cut].kind, S_CUT);
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(op->vtable->snapshot(op, 1, snapshot), 0);
    rill_buffer_destroy(&snapshot);
    s_feed(op, events, cut + 1, 0, 1, false, output);
    rill_operator_destroy(&op);
    rill_env_destroy(&job.env);
}

//  The script up to the cut on old_p subtasks, snapshots, the rest on new_p subtasks restored
//  from them (restore false: restored from nothing, to show the state matters).
static void s_run_restored(s_build_fn *build, int mini_batch_ms, const s_event_t *events, int old_p,
                           int new_p, bool restore, s_output_t *output)
{
    s_job_t old_job = s_job(build, old_p, mini_batch_ms);
    s_job_t new_job = s_job(build, new_p, mini_batch_ms);
    rill_buffer_t *snapshots[RILL_MAX_PARALLELISM];
    rill_state_part_t parts[RILL_MAX_PARALLELISM];
    size_t cut = 0;
    for (int i = 0; i < old_p; i++) {
        rill_operator_t *op = s_open(&old_job, i);
        cut = s_feed(op, events, 0, i, old_p, false, output);
        snapshots[i] = rill_buffer_new();
        assert_int_equal(op->vtable->snapshot(op, 1, snapshots[i]), 0);
        parts[i] =
            (rill_state_part_t){rill_buffer_data(snapshots[i]), rill_buffer_size(snapshots[i])};
        rill_operator_destroy(&op);
    }
    for (int j = 0; j < new_p; j++) {
        rill_operator_t *op = s_open(&new_job, j);
        rill_state_reader_t *reader =
            rill_state_reader_new(parts, restore ? old_p : 0, old_p, j, new_p);
        assert_non_null(reader);
        if (op->vtable->restore(op, reader))
            fail_msg("restore failed: %s", op->error);
        rill_state_reader_destroy(&reader);
        s_feed(op, events, cut + 1, j, new_p, true, output);
        rill_operator_destroy(&op);
    }
    for (int i = 0; i < old_p; i++)
        rill_buffer_destroy(&snapshots[i]);
    rill_env_destroy(&old_job.env);
    rill_env_destroy(&new_job.env);
}

//  The whole check for one scenario: restored at 1 -> 1 (same order), 2 -> 2, 2 -> 3 and
//  3 -> 1 (sorted), each against the reference; and not restoring must change the outcome.
static void s_check(const char *name, s_build_fn *build, int mini_batch_ms, const s_event_t *events)
{
    static const int shapes[][2] = {{1, 1}, {2, 2}, {2, 3}, {3, 1}};
    s_output_t reference = {0};
    s_run_reference(build, mini_batch_ms, events, &reference);
    assert_true(reference.count > 0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int old_p = shapes[s][0], new_p = shapes[s][1];
        s_output_t restored = {0}, expected = {0};
        s_run_restored(build, mini_batch_ms, events, old_p, new_p, true, &restored);
        //  A copy of the reference, which s_same may sort.
        for (size_t i = 0; i < reference.count; i++)
            s_push(&expected, strdup(reference.lines[i]));
        if (!s_same(&restored, &expected, old_p != 1 || new_p != 1)) {
            printf("%s, %d -> %d subtasks:\n", name, old_p, new_p);
            s_print("expected", &expected);
            s_print("restored", &restored);
            fail_msg("%s: restored at %d -> %d differs from the reference", name, old_p, new_p);
        }
        s_output_free(&restored);
        s_output_free(&expected);
    }
    s_output_t forgotten = {0};
    s_run_restored(build, mini_batch_ms, events, 2, 2, false, &forgotten);
    if (s_same(&forgotten, &reference, true))
        fail_msg("%s: the scenario does not depend on the saved state", name);
    s_output_free(&forgotten);
    s_output_free(&reference);
}

//  ---- keyed reduce

static rill_stream_t *s_sum(rill_keyed_stream_t keyed)
{
    return rill_stream_sum(keyed);
}

//  Concatenates the values: "k<TAB>v1,v2,...": order-sensitive, so a restored value out of
//  place shows.
static int s_concat(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                    void *ctx)
{
    const char *tab = memchr(in->data, '\t', in->size);
    size_t rest = in->size - (size_t)(tab + 1 - (const char *)in->data);
    return rill_buffer_set(out, acc->data, acc->size) || rill_buffer_append(out, ",", 1) ||
           rill_buffer_append(out, tab + 1, rest);
}

static rill_stream_t *s_concat_reduce(rill_keyed_stream_t keyed)
{
    return rill_stream_reduce(keyed, s_concat, NULL);
}

//  Keys a..h spread over the subtasks at every parallelism tried.
// clang-format off
static const s_event_t s_reduce_script[] = {
    R("a\t1", 10), R("b\t2", 11), R("c\t3", 12), R("a\t4", 13), R("d\t5", 14), R("e\t6", 15),
    R("f\t7", 16), R("g\t8", 17), R("h\t9", 18), R("b\t10", 19),
    CUT,
    R("a\t100", 20), R("b\t200", 21), R("h\t300", 22), R("c\t400", 5), R("i\t1", 23),
    END,
};
// clang-format on

static void keyed_sum_resumes_from_each_keys_saved_total(void **state)
{
    s_check("sum", s_sum, 0, s_reduce_script);
}

static void keyed_reduce_function_resumes_from_each_keys_reduced_record(void **state)
{
    s_check("reduce", s_concat_reduce, 0, s_reduce_script);
}

//  With a mini-batch, keys changed since the last emit are pending at the cut: they must be
//  emitted once after the restore (at the first tick), neither lost nor emitted twice.
// clang-format off
static const s_event_t s_mini_batch_script[] = {
    R("a\t1", 10), R("b\t2", 11), R("c\t3", 12), R("a\t4", 13), W(13), //  emits a, b, c
    R("d\t5", 14), R("e\t6", 15), R("f\t7", 16), R("a\t8", 17), R("b\t9", 17),
    CUT, //  a, b, d, e, f pending
    T(1), R("g\t10", 18), R("a\t20", 19), T(2), R("h\t1", 20), W(20), R("c\t1", 21),
    END,
};
// clang-format on

static void mini_batch_reduce_emits_the_pending_keys_once_after_restore(void **state)
{
    s_check("mini-batch sum", s_sum, 1000, s_mini_batch_script);
    s_check("mini-batch reduce", s_concat_reduce, 1000, s_mini_batch_script);
}

//  ---- windows

static rill_stream_t *s_tumbling_sum(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_tumbling(10);
    return rill_stream_window_builtin(keyed, &window, RILL_WINDOW_AGG_SUM);
}

// clang-format off
static const s_event_t s_tumbling_script[] = {
    R("a\t1", 1),  R("b\t2", 2),   R("c\t3", 5),  R("a\t4", 11), W(9), //  [0,10) fires
    R("d\t5", 12), R("e\t6", 15),  R("a\t7", 19), R("f\t8", 21), R("g\t9", 25),
    R("h\t10", 28),
    CUT, //  [10,20) and [20,30) open, their timers pending
    R("a\t100", 18), R("h\t1", 29), W(19), R("b\t3", 31), W(29), R("c\t4", 35),
    END,
};
// clang-format on

static void tumbling_windows_keep_contents_and_pending_timers(void **state)
{
    s_check("tumbling", s_tumbling_sum, 0, s_tumbling_script);
}

static rill_stream_t *s_tumbling_lateness(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_tumbling(10);
    window.allowed_lateness = 5;
    rill_stream_t *windowed = rill_stream_window_builtin(keyed, &window, RILL_WINDOW_AGG_COUNT);
    rill_stream_discard(rill_stream_late_records(windowed));
    return windowed;
}

//  After the restore the saved watermark (22) holds as a floor: a record for [0,10) (past its
//  lateness, 9 + 5 <= 22) is still late, one for [10,20) (19 + 5 > 22) still fires the window
//  again, also after the inputs' watermarks start over below the floor.
// clang-format off
static const s_event_t s_lateness_script[] = {
    R("a\t1", 1),  R("b\t1", 3), R("c\t1", 12), R("d\t1", 14), R("e\t1", 8), W(22),
    CUT,
    R("a\t1", 5), R("c\t1", 15), RW(2), R("e\t1", 16), RW(10), R("f\t1", 17), R("b\t1", 9),
    RW(21), R("g\t1", 6), W(40),
    END,
};
// clang-format on

static void window_lateness_is_judged_by_the_saved_watermark(void **state)
{
    s_check("lateness", s_tumbling_lateness, 0, s_lateness_script);
}

static rill_stream_t *s_session_sum(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_session(10);
    return rill_stream_window_builtin(keyed, &window, RILL_WINDOW_AGG_SUM);
}

//  Sessions of gap 10: a has [10,20) and [25,35) at the cut; its record at 18 ([18,28))
//  bridges them into [10,35). b's session grows across the cut; c's is alone.
// clang-format off
static const s_event_t s_session_script[] = {
    R("a\t1", 10), R("a\t2", 25), R("b\t3", 12), R("c\t4", 40), R("b\t5", 20), W(5),
    CUT,
    R("a\t10", 18), R("b\t20", 29), R("d\t1", 50), W(30), R("c\t7", 45), W(60),
    END,
};
// clang-format on

static void session_windows_merge_across_the_snapshot(void **state)
{
    s_check("session", s_session_sum, 0, s_session_script);
}

//  A process function over sliding windows: its windows keep their records.
static int s_list_window(const rill_window_bounds_t *window, const rill_key_t *key,
                         const rill_record_t *records, size_t count, rill_collector_t *out,
                         void *ctx)
{
    char text[512];
    int length = snprintf(text, sizeof text, "%lld-%lld %.*s:", (long long)window->start,
                          (long long)window->end, (int)key->size, (const char *)key->data);
    for (size_t i = 0; i < count && length < 400; i++)
        length += snprintf(text + length, sizeof text - (size_t)length, " %.*s",
                           (int)records[i].size, (const char *)records[i].data);
    return rill_collector_emit(out, text, (size_t)length, window->end - 1);
}

static rill_stream_t *s_sliding_lists(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_sliding(10, 5);
    return rill_stream_window_process(keyed, &window, s_list_window, NULL);
}

static void sliding_windows_keep_their_records(void **state)
{
    s_check("sliding", s_sliding_lists, 0, s_tumbling_script);
}

static rill_stream_t *s_count_sum(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_count(3, 0);
    window.kind = RILL_WINDOW_COUNT_TUMBLING;
    return rill_stream_window_builtin(keyed, &window, RILL_WINDOW_AGG_SUM);
}

static rill_stream_t *s_count_sliding(rill_keyed_stream_t keyed)
{
    rill_window_t window = rill_window_count(3, 2);
    return rill_stream_window_process(keyed, &window, s_list_window, NULL);
}

//  Count windows of 3: a and b have 2 records at the cut, so their third fires after it.
// clang-format off
static const s_event_t s_count_script[] = {
    R("a\t1", 1), R("a\t2", 2), R("b\t3", 3), R("b\t4", 4), R("c\t5", 5), R("a\t9", 6),
    R("a\t10", 7), CUT,
    R("a\t3", 8), R("b\t5", 9), R("c\t6", 10), R("c\t7", 11), R("a\t11", 12),
    END,
};
// clang-format on

static void count_windows_keep_their_counts(void **state)
{
    s_check("count", s_count_sum, 0, s_count_script);
    s_check("count sliding", s_count_sliding, 0, s_count_script);
}

//  ---- keyed process functions

//  Per record "k<TAB>n": a count (value state) and the distinct values (map state, checked
//  per record); registers an event-time timer at the next multiple of 10 (the same for many
//  records: it must fire once) and a processing-time timer at 1000 + n. Emits the state.
static int s_process(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                     void *ctx)
{
    const rill_key_t *key = rill_process_key(process);
    const void *data;
    size_t size;
    uint64_t count = 0, distinct = 0;
    if (rill_state_value_get(process, "count", &data, &size) == 0)
        memcpy(&count, data, sizeof count);
    if (rill_state_value_get(process, "distinct", &data, &size) == 0)
        memcpy(&distinct, data, sizeof distinct);
    const char *tab = memchr(in->data, '\t', in->size);
    size_t value_size = in->size - (size_t)(tab + 1 - (const char *)in->data);
    if (rill_state_map_get(process, "seen", tab + 1, value_size, &data, &size) != 0) {
        distinct++;
        if (rill_state_map_put(process, "seen", tab + 1, value_size, "", 0))
            return -1;
    }
    count++;
    if (rill_state_value_set(process, "count", &count, sizeof count) ||
        rill_state_value_set(process, "distinct", &distinct, sizeof distinct) ||
        rill_timer_register(process, RILL_TIME_EVENT, (in->timestamp / 10 + 1) * 10) ||
        rill_timer_register(process, RILL_TIME_PROCESSING, 1000 + test_field_number(in, '\t')))
        return -1;
    char text[128];
    int length = snprintf(text, sizeof text, "%.*s count %llu distinct %llu wm %lld",
                          (int)key->size, (const char *)key->data, (unsigned long long)count,
                          (unsigned long long)distinct, (long long)rill_process_watermark(process));
    return rill_collector_emit(out, text, (size_t)length, in->timestamp);
}

static int s_on_timer(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                      rill_collector_t *out, void *ctx)
{
    const rill_key_t *key = rill_process_key(process);
    const void *data;
    size_t size;
    uint64_t count = 0;
    if (rill_state_value_get(process, "count", &data, &size) == 0)
        memcpy(&count, data, sizeof count);
    char text[128];
    int length = snprintf(text, sizeof text, "%.*s %s timer %lld count %llu", (int)key->size,
                          (const char *)key->data, domain == RILL_TIME_EVENT ? "event" : "clock",
                          (long long)time, (unsigned long long)count);
    return rill_collector_emit(out, text, (size_t)length, time);
}

static rill_stream_t *s_process_op(rill_keyed_stream_t keyed)
{
    return rill_stream_process(keyed, s_process, s_on_timer, NULL);
}

//  Timers pending at the cut (event 10, 20; clock 1001..1005) fire after it; a record after
//  the cut registers an event timer already registered before it (a at 20): fired once.
// clang-format off
static const s_event_t s_process_script[] = {
    R("a\t1", 3),  R("b\t2", 5), R("a\t1", 8),  W(4), R("c\t3", 12), R("a\t2", 14),
    R("d\t4", 15), T(1001),      R("e\t5", 18),
    CUT,
    R("a\t1", 19), RW(2), R("b\t7", 6), RW(4), W(12), T(1003), R("c\t3", 21), R("f\t1", 22),
    W(25),
    T(1010), END,
};
// clang-format on

static void process_functions_keep_state_and_timers(void **state)
{
    s_check("process", s_process_op, 0, s_process_script);
}

//  ---- malformed snapshots

//  Opens subtask 0 of build's operator at parallelism 1 and restores it from bytes; returns
//  restore's result, leaving its error in why.
static int s_restore_bytes(s_build_fn *build, const void *bytes, size_t size, char *why,
                           size_t why_size)
{
    s_job_t job = s_job(build, 1, 0);
    rill_operator_t *op = s_open(&job, 0);
    rill_state_part_t part = {bytes, size};
    rill_state_reader_t *reader = rill_state_reader_new(&part, 1, 1, 0, 1);
    int rc = op->vtable->restore(op, reader);
    snprintf(why, why_size, "%s", op->error);
    rill_state_reader_destroy(&reader);
    rill_operator_destroy(&op);
    rill_env_destroy(&job.env);
    return rc;
}

//  The snapshot of subtask 0 after the script's first part.
static rill_buffer_t *s_snapshot_of(s_build_fn *build, const s_event_t *events)
{
    s_job_t job = s_job(build, 1, 0);
    rill_operator_t *op = s_open(&job, 0);
    s_output_t output = {0};
    s_feed(op, events, 0, 0, 1, false, &output);
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(op->vtable->snapshot(op, 1, snapshot), 0);
    assert_true(rill_buffer_size(snapshot) > 0);
    s_output_free(&output);
    rill_operator_destroy(&op);
    rill_env_destroy(&job.env);
    return snapshot;
}

static void s_expect_refused(s_build_fn *build, const void *bytes, size_t size, const char *says)
{
    char why[256];
    assert_int_equal(s_restore_bytes(build, bytes, size, why, sizeof why), -1);
    if (!strstr(why, says))
        fail_msg("expected an error saying '%s', got '%s'", says, why);
}

static void malformed_snapshots_are_refused_with_a_reason(void **state)
{
    s_build_fn *builds[] = {s_sum, s_tumbling_sum, s_process_op};
    const s_event_t *scripts[] = {s_reduce_script, s_tumbling_script, s_process_script};
    const char *names[] = {"reduce", "window", "process"};
    for (int k = 0; k < 3; k++) {
        rill_buffer_t *good = s_snapshot_of(builds[k], scripts[k]);
        const uint8_t *data = rill_buffer_data(good);
        size_t size = rill_buffer_size(good);
        char why[256];
        //  As written, it restores.
        assert_int_equal(s_restore_bytes(builds[k], data, size, why, sizeof why), 0);
        //  Cut short: not a whole entry.
        s_expect_refused(builds[k], data, size - 1, "malformed snapshot");
        s_expect_refused(builds[k], data, size - 1, names[k]);
        //  A tag the operator never writes.
        rill_buffer_t *bad = rill_buffer_new();
        assert_int_equal(rill_snapshot_put(bad, RILL_STATE_KEYED, 99, 0, "x", 1, "y", 1), 0);
        s_expect_refused(builds[k], rill_buffer_data(bad), rill_buffer_size(bad),
                         "unknown entry (entry tag 99)");
        //  A keyed entry (tag 1: a value, a window, a state entry) filed under a key group
        //  other than its key's.
        uint32_t group = rill_key_hash_group(rill_key_hash("a", 1));
        rill_buffer_reset(bad);
        uint8_t key[32] = "a";
        size_t key_size = k == 0 ? 1 : 1 + 16; //  a window's state key: key + bounds
        if (k == 2) {
            uint32_t one = 1; //  a process state key: key size, key, name, kind
            memcpy(key, &one, sizeof one);
            memcpy(key + 4, "acount\0V", 8);
            key_size = 12;
        }
        uint8_t value[8 + 64] = {0};
        assert_int_equal(rill_snapshot_put(bad, RILL_STATE_KEYED, 1, (group + 1) % 256, key,
                                           key_size, value, sizeof value),
                         0);
        s_expect_refused(builds[k], rill_buffer_data(bad), rill_buffer_size(bad),
                         "another key group");
        //  Too short to hold a timestamp.
        rill_buffer_reset(bad);
        assert_int_equal(
            rill_snapshot_put(bad, RILL_STATE_KEYED, 1, group, key, key_size, value, 4), 0);
        s_expect_refused(builds[k], rill_buffer_data(bad), rill_buffer_size(bad), "too short");
        //  The same entry twice.
        rill_buffer_reset(bad);
        rill_buffer_append(bad, data, size);
        rill_buffer_append(bad, data, size);
        s_expect_refused(builds[k], rill_buffer_data(bad), rill_buffer_size(bad), "twice");
        rill_buffer_destroy(&bad);
        rill_buffer_destroy(&good);
    }
    //  A reduce's accumulator of the wrong size.
    rill_buffer_t *bad = rill_buffer_new();
    uint8_t value[8 + 3] = {0};
    assert_int_equal(rill_snapshot_put(bad, RILL_STATE_KEYED, 1,
                                       rill_key_hash_group(rill_key_hash("a", 1)), "a", 1, value,
                                       sizeof value),
                     0);
    s_expect_refused(s_sum, rill_buffer_data(bad), rill_buffer_size(bad), "wrong size");
    //  A watermark floor that is not 8 bytes.
    rill_buffer_reset(bad);
    assert_int_equal(rill_snapshot_put(bad, RILL_STATE_KEYED, 3, 0, NULL, 0, value, 3), 0);
    s_expect_refused(s_tumbling_sum, rill_buffer_data(bad), rill_buffer_size(bad),
                     "malformed watermark");
    rill_buffer_destroy(&bad);
}

//  A restore with no entries (this subtask's share of a checkpoint is empty) leaves a fresh
//  operator.
static void restoring_nothing_leaves_a_fresh_operator(void **state)
{
    char why[256];
    assert_int_equal(s_restore_bytes(s_sum, NULL, 0, why, sizeof why), 0);
    assert_int_equal(s_restore_bytes(s_session_sum, NULL, 0, why, sizeof why), 0);
    assert_int_equal(s_restore_bytes(s_process_op, NULL, 0, why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyed_sum_resumes_from_each_keys_saved_total),
        cmocka_unit_test(keyed_reduce_function_resumes_from_each_keys_reduced_record),
        cmocka_unit_test(mini_batch_reduce_emits_the_pending_keys_once_after_restore),
        cmocka_unit_test(tumbling_windows_keep_contents_and_pending_timers),
        cmocka_unit_test(window_lateness_is_judged_by_the_saved_watermark),
        cmocka_unit_test(session_windows_merge_across_the_snapshot),
        cmocka_unit_test(sliding_windows_keep_their_records),
        cmocka_unit_test(count_windows_keep_their_counts),
        cmocka_unit_test(process_functions_keep_state_and_timers),
        cmocka_unit_test(malformed_snapshots_are_refused_with_a_reason),
        cmocka_unit_test(restoring_nothing_leaves_a_fresh_operator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
