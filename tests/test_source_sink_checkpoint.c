/*  test_source_sink_checkpoint.c: sources that rewind and sinks that commit, driven directly
    through the operator registry (no actors): a source snapshotted midway and restored, at the
    same or another parallelism, reads every record exactly once over both runs (Flink's
    source splits, split s to subtask s % p); the print sink to a file makes records visible
    only when the checkpoint that covers them completes (Flink's two-phase commit sink), and a
    restore after a crash at any point leaves each committed record exactly once. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rill_graph_private.h"
#include "rill_operator_registry.h"
#include "rill_plan_private.h"
#include "rill_snapshot.h"

//  ---- fixtures: a plan of one source (or generator into a sink), operators, a gatherer

//  Records emitted by a source, as NUL-terminated strings.
typedef struct {
    char **lines;
    size_t count;
    size_t capacity;
} s_gathered_t;

static int s_gather(void *target, const rill_record_t *record)
{
    s_gathered_t *gathered = target;
    if (gathered->count == gathered->capacity) {
        gathered->capacity = gathered->capacity ? 2 * gathered->capacity : 256;
        gathered->lines = realloc(gathered->lines, gathered->capacity * sizeof(char *));
        assert_non_null(gathered->lines);
    }
    gathered->lines[gathered->count++] = strndup(record->data, record->size);
    return 0;
}

static void s_gathered_free(s_gathered_t *gathered)
{
    for (size_t i = 0; i < gathered->count; i++)
        free(gathered->lines[i]);
    free(gathered->lines);
    *gathered = (s_gathered_t){0};
}

static int s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  Asserts gathered holds exactly the expected strings, each once, in any order.
static void s_expect_exactly_once(s_gathered_t *gathered, char **expected, size_t count)
{
    qsort(gathered->lines, gathered->count, sizeof(char *), s_compare_strings);
    qsort(expected, count, sizeof(char *), s_compare_strings);
    for (size_t i = 0; i < gathered->count && i < count; i++)
        if (strcmp(gathered->lines[i], expected[i]))
            fail_msg("record %zu: got '%s', expected '%s' (a record lost or read twice)", i,
                     gathered->lines[i], expected[i]);
    assert_int_equal(gathered->count, count);
}

//  A plan of `spec` (a source) at parallelism p feeding a sink spec (discard when NULL) at
//  sink_parallelism. The source is operator 0, the sink operator 1.
typedef struct {
    rill_graph_t *graph;
    rill_plan_t *plan;
} s_job_t;

static s_job_t s_job_new(rill_operator_spec_t source, int parallelism,
                         const rill_operator_spec_t *sink, int sink_parallelism)
{
    s_job_t job = {rill_graph_new(), NULL};
    source.parallelism = parallelism;
    rill_operator_spec_t out = sink ? *sink : (rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD};
    out.parallelism = sink_parallelism;
    assert_int_equal(rill_graph_add_operator(job.graph, &source), 0);
    assert_int_equal(rill_graph_add_operator(job.graph, &out), 1);
    assert_int_equal(
        rill_graph_add_edge(
            job.graph, &(rill_edge_spec_t){.from = 0, .to = 1, .pattern = RILL_PATTERN_REBALANCE}),
        0);
    char error[512] = "";
    job.plan = rill_plan_new(job.graph, "checkpoint", 1, RILL_MODE_STREAMING, error, sizeof error);
    if (!job.plan)
        fail_msg("cannot plan: %s", error);
    return job;
}

static void s_job_destroy(s_job_t *job)
{
    rill_plan_destroy(&job->plan);
    rill_graph_destroy(&job->graph);
}

static rill_operator_t *s_open(const s_job_t *job, int op, int index)
{
    char error[512] = "";
    rill_operator_t *self = rill_operator_new(job->plan, op, index, error, sizeof error);
    if (!self)
        fail_msg("cannot open operator %d subtask %d: %s", op, index, error);
    return self;
}

static rill_collector_t s_collector(s_gathered_t *gathered)
{
    return (rill_collector_t){.emit = s_gather, .target = gathered, .parallelism = 1};
}

//  One produce() call: a chunk of records at most. RILL_SOURCE_MORE or _END (fails on -1).
static int s_produce(rill_operator_t *source, s_gathered_t *gathered)
{
    rill_collector_t out = s_collector(gathered);
    out.subtask = source->index;
    int rc = source->vtable->produce(source, &out);
    if (rc < 0)
        fail_msg("produce failed: %s", source->error);
    return rc;
}

static void s_produce_to_end(rill_operator_t *source, s_gathered_t *gathered)
{
    while (s_produce(source, gathered) == RILL_SOURCE_MORE)
        ;
}

//  Snapshots of every subtask of an operator: one state part each.
typedef struct {
    rill_buffer_t *buffers[8];
    rill_state_part_t parts[8];
    int count;
} s_checkpoint_t;

static void s_snapshot(s_checkpoint_t *checkpoint, rill_operator_t **subtasks, int count,
                       int64_t id)
{
    checkpoint->count = count;
    for (int i = 0; i < count; i++) {
        checkpoint->buffers[i] = rill_buffer_new();
        if (subtasks[i]->vtable->snapshot(subtasks[i], id, checkpoint->buffers[i]))
            fail_msg("snapshot of subtask %d failed: %s", i, subtasks[i]->error);
        checkpoint->parts[i] = (rill_state_part_t){rill_buffer_data(checkpoint->buffers[i]),
                                                   rill_buffer_size(checkpoint->buffers[i])};
    }
}

static void s_checkpoint_free(s_checkpoint_t *checkpoint)
{
    for (int i = 0; i < checkpoint->count; i++)
        rill_buffer_destroy(&checkpoint->buffers[i]);
}

//  Restores subtask `index` of parallelism p from the checkpoint; 0 or -1 (self->error).
static int s_restore(rill_operator_t *self, const s_checkpoint_t *checkpoint, int parallelism)
{
    rill_state_reader_t *reader = rill_state_reader_new(
        checkpoint->parts, checkpoint->count, checkpoint->count, self->index, parallelism);
    assert_non_null(reader);
    int rc = self->vtable->restore(self, reader);
    rill_state_reader_destroy(&reader);
    return rc;
}

//  ---- the text file source

#define S_FILE_LINES 30000

//  About 350 KiB ("line N" padded to vary lengths): more than the source's 256 KiB block, so
//  a restored range must seek and refill. expected gets the lines (caller frees both).
static char *s_text_file(char ***expected)
{
    size_t size = 0, capacity = S_FILE_LINES * 24;
    char *text = malloc(capacity);
    *expected = malloc(S_FILE_LINES * sizeof(char *));
    for (int i = 0; i < S_FILE_LINES; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %d%.*s", i, i % 7, "xxxxxxx");
        (*expected)[i] = strdup(line);
        size += (size_t)sprintf(text + size, "%s\n", line);
    }
    char *path = test_temp_file(text);
    assert_non_null(path);
    free(text);
    return path;
}

static void s_free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

//  Reads with `before` subtasks, a few chunks each, snapshots, reads on (records a crash then
//  loses: never part of the output), then restores with `after` subtasks and reads to the end.
//  Before and after the checkpoint, each line exactly once.
static void s_file_source_round_trip(int before, int after)
{
    char **expected;
    char *path = s_text_file(&expected);
    s_job_t first = s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path},
                              before, NULL, 1);
    rill_operator_t *old[8];
    s_gathered_t output = {0}, lost = {0};
    for (int i = 0; i < before; i++) {
        old[i] = s_open(&first, 0, i);
        //  Subtask i stops after i + 2 chunks: the ranges are at different points.
        for (int chunk = 0; chunk < i + 2; chunk++)
            s_produce(old[i], &output);
    }
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, before, 1);
    for (int i = 0; i < before; i++) {
        s_produce(old[i], &lost);
        rill_operator_destroy(&old[i]);
    }
    assert_true(lost.count > 0);
    s_job_t second = s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path},
                               after, NULL, 1);
    for (int i = 0; i < after; i++) {
        rill_operator_t *restored = s_open(&second, 0, i);
        if (s_restore(restored, &checkpoint, after))
            fail_msg("restore failed: %s", restored->error);
        s_produce_to_end(restored, &output);
        rill_operator_destroy(&restored);
    }
    s_expect_exactly_once(&output, expected, S_FILE_LINES);
    s_gathered_free(&output);
    s_gathered_free(&lost);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&first);
    s_job_destroy(&second);
    s_free_lines(expected, S_FILE_LINES);
    unlink(path);
    free(path);
}

static void file_source_restored_at_the_same_parallelism_reads_each_line_once(void **state)
{
    s_file_source_round_trip(1, 1);
    s_file_source_round_trip(2, 2);
}

static void file_source_restored_at_another_parallelism_reads_each_line_once(void **state)
{
    //  Split s goes to subtask s % p: 2 -> 3 leaves subtask 2 with nothing; 3 -> 1 gives
    //  subtask 0 all three ranges, read in split order.
    s_file_source_round_trip(2, 3);
    s_file_source_round_trip(3, 1);
    s_file_source_round_trip(3, 2);
}

static void a_restored_file_source_with_no_ranges_ends_at_once(void **state)
{
    char **expected;
    char *path = s_text_file(&expected);
    s_job_t job =
        s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path}, 2, NULL, 1);
    rill_operator_t *source = s_open(&job, 0, 1);
    s_checkpoint_t empty = {.count = 0};
    assert_int_equal(s_restore(source, &empty, 2), 0);
    s_gathered_t output = {0};
    assert_int_equal(s_produce(source, &output), RILL_SOURCE_END);
    assert_int_equal(output.count, 0);
    rill_operator_destroy(&source);
    s_job_destroy(&job);
    s_free_lines(expected, S_FILE_LINES);
    unlink(path);
    free(path);
}

static void a_finished_range_is_not_saved_and_not_read_again(void **state)
{
    char *path = test_temp_file("a\nb\nc\n");
    s_job_t job =
        s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path}, 1, NULL, 1);
    rill_operator_t *source = s_open(&job, 0, 0);
    s_gathered_t output = {0};
    s_produce_to_end(source, &output);
    assert_int_equal(output.count, 3);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, &source, 1, 1);
    assert_int_equal(checkpoint.parts[0].size, 0);
    rill_operator_destroy(&source);
    source = s_open(&job, 0, 0);
    assert_int_equal(s_restore(source, &checkpoint, 1), 0);
    assert_int_equal(s_produce(source, &output), RILL_SOURCE_END);
    assert_int_equal(output.count, 3);
    rill_operator_destroy(&source);
    s_gathered_free(&output);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&job);
    unlink(path);
    free(path);
}

static void input_that_cannot_rewind_refuses_a_checkpoint_naming_the_source(void **state)
{
    //  /dev/null is a device: read whole by one subtask, with no offsets to go back to.
    s_job_t job = s_job_new(
        (rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .name = "lines", .path = "/dev/null"},
        2, NULL, 1);
    for (int i = 0; i < 2; i++) {
        rill_operator_t *source = s_open(&job, 0, i);
        rill_buffer_t *out = rill_buffer_new();
        assert_int_equal(source->vtable->snapshot(source, 1, out), -1);
        assert_non_null(strstr(source->error, "file source 'lines'"));
        assert_non_null(strstr(source->error, "/dev/null"));
        assert_non_null(strstr(source->error, "cannot rewind"));
        rill_buffer_destroy(&out);
        rill_operator_destroy(&source);
    }
    s_job_destroy(&job);
}

static void a_restore_against_another_file_is_refused(void **state)
{
    char *path = test_temp_file("one\ntwo\nthree\n");
    s_job_t job =
        s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE, .path = path}, 1, NULL, 1);
    rill_operator_t *source = s_open(&job, 0, 0);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, &source, 1, 1);
    rill_operator_destroy(&source);
    FILE *file = fopen(path, "a");
    fputs("four\n", file);
    fclose(file);
    source = s_open(&job, 0, 0);
    assert_int_equal(s_restore(source, &checkpoint, 1), -1);
    assert_non_null(strstr(source->error, "not the same input"));
    rill_operator_destroy(&source);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&job);
    unlink(path);
    free(path);
}

//  ---- the generator

#define S_GENERATED 10000

static int s_generate(uint64_t index, rill_collector_t *out, void *ctx)
{
    char record[32];
    int size = snprintf(record, sizeof record, "%llu", (unsigned long long)index);
    return rill_collector_emit(out, record, (size_t)size, RILL_NO_TIMESTAMP);
}

static void s_generator_round_trip(int before, int after)
{
    rill_operator_spec_t spec = {
        .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_generate, .count = S_GENERATED};
    s_job_t first = s_job_new(spec, before, NULL, 1);
    rill_operator_t *old[8];
    s_gathered_t output = {0}, lost = {0};
    for (int i = 0; i < before; i++) {
        old[i] = s_open(&first, 0, i);
        for (int chunk = 0; chunk < i + 1; chunk++)
            s_produce(old[i], &output);
    }
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, before, 7);
    for (int i = 0; i < before; i++) {
        s_produce(old[i], &lost);
        rill_operator_destroy(&old[i]);
    }
    s_job_t second = s_job_new(spec, after, NULL, 1);
    for (int i = 0; i < after; i++) {
        rill_operator_t *restored = s_open(&second, 0, i);
        if (s_restore(restored, &checkpoint, after))
            fail_msg("restore failed: %s", restored->error);
        s_produce_to_end(restored, &output);
        rill_operator_destroy(&restored);
    }
    char **expected = malloc(S_GENERATED * sizeof(char *));
    for (int i = 0; i < S_GENERATED; i++) {
        char record[32];
        snprintf(record, sizeof record, "%d", i);
        expected[i] = strdup(record);
    }
    s_expect_exactly_once(&output, expected, S_GENERATED);
    s_free_lines(expected, S_GENERATED);
    s_gathered_free(&output);
    s_gathered_free(&lost);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&first);
    s_job_destroy(&second);
}

static void generator_restored_at_any_parallelism_emits_each_index_once(void **state)
{
    s_generator_round_trip(1, 1);
    s_generator_round_trip(2, 2);
    s_generator_round_trip(2, 3);
    s_generator_round_trip(3, 1);
}

static void a_restored_generator_with_no_sequences_ends_at_once(void **state)
{
    rill_operator_spec_t spec = {
        .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_generate, .count = RILL_UNBOUNDED};
    s_job_t job = s_job_new(spec, 3, NULL, 1);
    rill_operator_t *source = s_open(&job, 0, 2);
    s_checkpoint_t empty = {.count = 0};
    assert_int_equal(s_restore(source, &empty, 3), 0);
    s_gathered_t output = {0};
    assert_int_equal(s_produce(source, &output), RILL_SOURCE_END);
    assert_int_equal(output.count, 0);
    rill_operator_destroy(&source);
    s_job_destroy(&job);
}

static void a_restored_unbounded_generator_serves_each_sequence_in_turn(void **state)
{
    //  Two unbounded sequences dealt to one subtask: reading them one after the other would
    //  never reach the second.
    rill_operator_spec_t spec = {
        .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_generate, .count = RILL_UNBOUNDED};
    s_job_t two = s_job_new(spec, 2, NULL, 1), one = s_job_new(spec, 1, NULL, 1);
    rill_operator_t *old[2] = {s_open(&two, 0, 0), s_open(&two, 0, 1)};
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, 2, 1);
    rill_operator_t *source = s_open(&one, 0, 0);
    assert_int_equal(s_restore(source, &checkpoint, 1), 0);
    s_gathered_t output = {0};
    assert_int_equal(s_produce(source, &output), RILL_SOURCE_MORE);
    assert_int_equal(s_produce(source, &output), RILL_SOURCE_MORE);
    assert_int_equal(output.count, 2 * RILL_SOURCE_CHUNK);
    assert_string_equal(output.lines[0], "0"); //  split 0's sequence first, then split 1's
    assert_string_equal(output.lines[RILL_SOURCE_CHUNK], "1");
    s_gathered_free(&output);
    rill_operator_destroy(&source);
    rill_operator_destroy(&old[0]);
    rill_operator_destroy(&old[1]);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&two);
    s_job_destroy(&one);
}

//  ---- user sources

//  Each subtask counts from 0 to S_USER_COUNT, ten records per call; its position is the
//  whole state.
#define S_USER_COUNT 100
typedef struct {
    uint64_t next[4];
    int restores;
} s_counter_t;

static int s_count(rill_collector_t *out, void *ctx)
{
    s_counter_t *counter = ctx;
    int subtask = rill_collector_subtask(out);
    for (int i = 0; i < 10 && counter->next[subtask] < S_USER_COUNT; i++) {
        char record[32];
        int size = snprintf(record, sizeof record, "%d:%llu", subtask,
                            (unsigned long long)counter->next[subtask]++);
        if (rill_collector_emit(out, record, (size_t)size, RILL_NO_TIMESTAMP))
            return -1;
    }
    return counter->next[subtask] < S_USER_COUNT ? RILL_SOURCE_MORE : RILL_SOURCE_END;
}

static int s_count_snapshot(int subtask, rill_buffer_t *out, void *ctx)
{
    s_counter_t *counter = ctx;
    return rill_buffer_append(out, &counter->next[subtask], sizeof(uint64_t));
}

static int s_count_restore(int subtask, const void *data, size_t size, void *ctx)
{
    s_counter_t *counter = ctx;
    if (size != sizeof(uint64_t))
        return -1;
    memcpy(&counter->next[subtask], data, size);
    counter->restores++;
    return 0;
}

static void a_user_source_with_callbacks_resumes_where_its_snapshot_was(void **state)
{
    s_counter_t counter = {0};
    rill_operator_spec_t spec = {.kind = RILL_OP_SOURCE_USER,
                                 .fn.source = s_count,
                                 .ctx = &counter,
                                 .bounded = true,
                                 .source_snapshot = s_count_snapshot,
                                 .source_restore = s_count_restore};
    s_job_t job = s_job_new(spec, 2, NULL, 1);
    rill_operator_t *old[2] = {s_open(&job, 0, 0), s_open(&job, 0, 1)};
    s_gathered_t output = {0}, lost = {0};
    for (int i = 0; i < 2; i++)
        for (int call = 0; call < 3 + i; call++)
            s_produce(old[i], &output);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, 2, 1);
    for (int i = 0; i < 2; i++) {
        s_produce(old[i], &lost);
        rill_operator_destroy(&old[i]);
    }
    memset(counter.next, 0, sizeof counter.next); //  a new process knows nothing
    for (int i = 0; i < 2; i++) {
        rill_operator_t *restored = s_open(&job, 0, i);
        if (s_restore(restored, &checkpoint, 2))
            fail_msg("restore failed: %s", restored->error);
        s_produce_to_end(restored, &output);
        rill_operator_destroy(&restored);
    }
    assert_int_equal(counter.restores, 2);
    char **expected = malloc(2 * S_USER_COUNT * sizeof(char *));
    for (int i = 0; i < 2 * S_USER_COUNT; i++) {
        char record[32];
        snprintf(record, sizeof record, "%d:%d", i / S_USER_COUNT, i % S_USER_COUNT);
        expected[i] = strdup(record);
    }
    s_expect_exactly_once(&output, expected, 2 * S_USER_COUNT);
    s_free_lines(expected, 2 * S_USER_COUNT);
    s_gathered_free(&output);
    s_gathered_free(&lost);
    //  Its state stays with its subtask: at another parallelism there is none for subtask 2.
    s_job_t wider = s_job_new(spec, 3, NULL, 1);
    rill_operator_t *restored = s_open(&wider, 0, 2);
    assert_int_equal(s_restore(restored, &checkpoint, 3), -1);
    assert_non_null(strstr(restored->error, "restore at the parallelism it was saved at"));
    rill_operator_destroy(&restored);
    s_job_destroy(&wider);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&job);
}

static void a_user_source_without_callbacks_cannot_be_checkpointed(void **state)
{
    s_counter_t counter = {0};
    s_job_t job = s_job_new((rill_operator_spec_t){.kind = RILL_OP_SOURCE_USER,
                                                   .name = "counter",
                                                   .fn.source = s_count,
                                                   .ctx = &counter,
                                                   .bounded = true},
                            1, NULL, 1);
    rill_operator_t *source = s_open(&job, 0, 0);
    rill_buffer_t *out = rill_buffer_new();
    assert_int_equal(source->vtable->snapshot(source, 1, out), -1);
    assert_non_null(strstr(source->error, "user source 'counter'"));
    assert_non_null(strstr(source->error, "cannot rewind"));
    s_checkpoint_t empty = {.count = 0};
    assert_int_equal(s_restore(source, &empty, 1), -1);
    rill_buffer_destroy(&out);
    rill_operator_destroy(&source);
    s_job_destroy(&job);
}

static void source_checkpoints_are_set_on_user_sources_only_and_both_at_once(void **state)
{
    s_counter_t counter = {0};
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_env_from_source(env, s_count, &counter, true);
    assert_ptr_equal(rill_stream_source_checkpoints(source, s_count_snapshot, s_count_restore),
                     source);
    assert_string_equal(rill_env_error(env), "");
    assert_null(rill_stream_source_checkpoints(source, s_count_snapshot, NULL));
    assert_non_null(strstr(rill_env_error(env), "both callbacks"));
    rill_env_destroy(&env);
    env = rill_env_new();
    rill_stream_t *generator = rill_env_from_generator(env, s_generate, NULL, 10);
    assert_null(rill_stream_source_checkpoints(generator, s_count_snapshot, s_count_restore));
    assert_non_null(strstr(rill_env_error(env), "not a user source"));
    rill_env_destroy(&env);
}

//  ---- the print sink to a file: two-phase commit

typedef struct {
    char directory[64];
    char path[96];
} s_place_t;

static void s_place_new(s_place_t *place)
{
    snprintf(place->directory, sizeof place->directory, "/tmp/rill-sink-XXXXXX");
    assert_non_null(mkdtemp(place->directory));
    snprintf(place->path, sizeof place->path, "%s/out", place->directory);
}

//  Removes the directory and what the sink left in it.
static void s_place_destroy(s_place_t *place)
{
    DIR *directory = opendir(place->directory);
    assert_non_null(directory);
    struct dirent *entry;
    while ((entry = readdir(directory)))
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) {
            char path[400];
            snprintf(path, sizeof path, "%s/%s", place->directory, entry->d_name);
            unlink(path);
        }
    closedir(directory);
    assert_int_equal(rmdir(place->directory), 0);
}

static bool s_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

//  A print sink job (generator -> print into place) at parallelism p.
static s_job_t s_sink_job(const s_place_t *place, int parallelism)
{
    return s_job_new(
        (rill_operator_spec_t){
            .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_generate, .count = 1},
        1, &(rill_operator_spec_t){.kind = RILL_OP_SINK_PRINT, .path = place->path}, parallelism);
}

static rill_operator_t *s_open_sink(const s_job_t *job, int index)
{
    rill_operator_t *sink = s_open(job, 1, index);
    sink->checkpointing = true;
    return sink;
}

//  Hands the sink records "<prefix><i>" for i in [from, to).
static void s_feed(rill_operator_t *sink, const char *prefix, int from, int to)
{
    for (int i = from; i < to; i++) {
        char record[32];
        int size = snprintf(record, sizeof record, "%s%d", prefix, i);
        rill_record_t in = {record, (size_t)size, RILL_NO_TIMESTAMP};
        if (sink->vtable->on_record(sink, &in, 0, NULL))
            fail_msg("on_record failed: %s", sink->error);
    }
}

//  The lines "<prefix><i>\n" for i in [from, to) (caller frees).
static char *s_lines(const char *prefix, int from, int to)
{
    char *text = calloc((size_t)(to - from) * 32 + 1, 1), *at = text;
    for (int i = from; i < to; i++)
        at += sprintf(at, "%s%d\n", prefix, i);
    return text;
}

static void s_expect_file(const char *path, const char *expected)
{
    char *got = test_read_file(path);
    assert_string_equal(got, expected);
    free(got);
}

static void s_expect_lines(const char *path, const char *prefix, int from, int to)
{
    char *expected = s_lines(prefix, from, to);
    s_expect_file(path, expected);
    free(expected);
}

static void s_complete(rill_operator_t *sink, int64_t checkpoint)
{
    if (sink->vtable->checkpoint_complete(sink, checkpoint))
        fail_msg("checkpoint_complete failed: %s", sink->error);
}

static void s_end(rill_operator_t *sink)
{
    if (sink->vtable->on_end(sink, NULL))
        fail_msg("on_end failed: %s", sink->error);
}

static void records_are_committed_only_when_their_checkpoint_completes(void **state)
{
    //  Flink's TwoPhaseCommitSinkFunction: pre-commit on snapshot, commit on
    //  notifyCheckpointComplete; readers of the output see committed records only.
    s_place_t place;
    s_place_new(&place);
    char staging[128];
    snprintf(staging, sizeof staging, "%s/.out.pending", place.directory);
    s_job_t job = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open_sink(&job, 0);
    s_feed(sink, "r", 0, 10000); //  more than one 64 KiB chunk
    s_checkpoint_t one;
    s_snapshot(&one, &sink, 1, 1);
    s_feed(sink, "r", 10000, 10005);
    s_expect_file(place.path, "");
    assert_true(s_exists(staging));
    s_complete(sink, 1);
    s_expect_lines(place.path, "r", 0, 10000);
    //  A completion heard twice, or of a checkpoint never taken, changes nothing.
    s_complete(sink, 1);
    s_complete(sink, 0);
    s_expect_lines(place.path, "r", 0, 10000);
    s_checkpoint_t two;
    s_snapshot(&two, &sink, 1, 2);
    s_feed(sink, "r", 10005, 10010);
    s_complete(sink, 2);
    s_expect_lines(place.path, "r", 0, 10005);
    //  The end of the input commits everything and removes the staging file.
    s_end(sink);
    s_expect_lines(place.path, "r", 0, 10010);
    assert_false(s_exists(staging));
    rill_operator_destroy(&sink);
    s_checkpoint_free(&one);
    s_checkpoint_free(&two);
    s_job_destroy(&job);
    s_place_destroy(&place);
}

static void a_crash_between_snapshot_and_complete_commits_each_record_once(void **state)
{
    //  The checkpoint a job restores from has completed, even when the crash came before the
    //  sink heard so: the restore commits its staged records (Flink's recoverAndCommit).
    s_place_t place;
    s_place_new(&place);
    s_job_t job = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open_sink(&job, 0);
    s_feed(sink, "r", 0, 10);
    s_checkpoint_t one;
    s_snapshot(&one, &sink, 1, 1);
    s_feed(sink, "r", 10, 15);
    s_checkpoint_t two;
    s_snapshot(&two, &sink, 1, 2); //  taken, never completed
    s_feed(sink, "r", 15, 20);
    rill_operator_destroy(&sink); //  the crash: no end, no completion
    s_expect_file(place.path, "");
    //  Restored from 1, twice (a second crash during recovery): records 10.. were staged
    //  after it and are dropped; the source replays them.
    for (int attempt = 0; attempt < 2; attempt++) {
        sink = s_open_sink(&job, 0);
        if (s_restore(sink, &one, 1))
            fail_msg("restore failed: %s", sink->error);
        s_expect_lines(place.path, "r", 0, 10);
        if (attempt == 0)
            rill_operator_destroy(&sink);
    }
    s_feed(sink, "r", 10, 20);
    s_end(sink);
    s_expect_lines(place.path, "r", 0, 20);
    rill_operator_destroy(&sink);
    s_checkpoint_free(&one);
    s_checkpoint_free(&two);
    s_job_destroy(&job);
    s_place_destroy(&place);
}

static void a_restore_after_the_commit_does_not_commit_again(void **state)
{
    s_place_t place;
    s_place_new(&place);
    s_job_t job = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open_sink(&job, 0);
    s_feed(sink, "r", 0, 10);
    s_checkpoint_t one;
    s_snapshot(&one, &sink, 1, 1);
    s_feed(sink, "r", 10, 15);
    s_complete(sink, 1);
    rill_operator_destroy(&sink); //  crash after the commit
    s_expect_lines(place.path, "r", 0, 10);
    sink = s_open_sink(&job, 0);
    assert_int_equal(s_restore(sink, &one, 1), 0);
    s_expect_lines(place.path, "r", 0, 10);
    s_feed(sink, "r", 10, 12);
    s_end(sink);
    s_expect_lines(place.path, "r", 0, 12);
    rill_operator_destroy(&sink);
    s_checkpoint_free(&one);
    s_job_destroy(&job);
    s_place_destroy(&place);
}

//  Runs a sink through checkpoint 1 (completed, r0..r3) and checkpoint 2 (snapshotted with
//  r4..r7 staged, not completed), then crashes it; the output then ends with `torn`, what the
//  crash left of checkpoint 2's commit.
static void s_crash_in_commit(const s_job_t *job, const s_place_t *place, s_checkpoint_t *one,
                              s_checkpoint_t *two, const char *torn)
{
    rill_operator_t *sink = s_open_sink(job, 0);
    s_feed(sink, "r", 0, 4);
    s_snapshot(one, &sink, 1, 1);
    s_complete(sink, 1);
    s_feed(sink, "r", 4, 8);
    s_snapshot(two, &sink, 1, 2);
    rill_operator_destroy(&sink);
    FILE *output = fopen(place->path, "a");
    fputs(torn, output);
    fclose(output);
}

static void a_commit_cut_short_by_a_crash_is_finished_by_the_restore(void **state)
{
    s_place_t place;
    s_place_new(&place);
    s_job_t job = s_sink_job(&place, 1);
    //  Half a record made it to the output; and, in a second run, more than the staged bytes
    //  (a torn write with garbage after it): both are cut back to the committed length first.
    const char *torn[] = {"r4\nr", "r4\nr5\nr6\nr7\nand a torn tail\n"};
    for (int i = 0; i < 2; i++) {
        s_checkpoint_t one, two;
        s_crash_in_commit(&job, &place, &one, &two, torn[i]);
        rill_operator_t *sink = s_open_sink(&job, 0);
        assert_int_equal(s_restore(sink, &two, 1), 0);
        s_expect_lines(place.path, "r", 0, 8);
        rill_operator_destroy(&sink);
        //  Restoring an older checkpoint takes back what later ones committed.
        sink = s_open_sink(&job, 0);
        assert_int_equal(s_restore(sink, &one, 1), 0);
        s_expect_lines(place.path, "r", 0, 4);
        rill_operator_destroy(&sink);
        s_checkpoint_free(&one);
        s_checkpoint_free(&two);
    }
    s_job_destroy(&job);
    s_place_destroy(&place);
}

static void a_completion_that_comes_after_the_next_snapshot_commits_its_own_records(void **state)
{
    //  Checkpoints may overlap: 2's barrier passes before 1 completes. Completing 1 commits
    //  1's records and keeps 2's staged; a restore from 2 then still finds them.
    s_place_t place;
    s_place_new(&place);
    s_job_t job = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open_sink(&job, 0);
    s_feed(sink, "r", 0, 3);
    s_checkpoint_t one, two;
    s_snapshot(&one, &sink, 1, 1);
    s_feed(sink, "r", 3, 6);
    s_snapshot(&two, &sink, 1, 2);
    s_feed(sink, "r", 6, 9);
    s_complete(sink, 1);
    s_expect_lines(place.path, "r", 0, 3);
    rill_operator_destroy(&sink);
    sink = s_open_sink(&job, 0);
    assert_int_equal(s_restore(sink, &two, 1), 0);
    s_expect_lines(place.path, "r", 0, 6);
    rill_operator_destroy(&sink);
    s_checkpoint_free(&one);
    s_checkpoint_free(&two);
    s_job_destroy(&job);
    s_place_destroy(&place);
}

static void restored_at_another_parallelism_each_file_keeps_its_name_and_commits(void **state)
{
    s_place_t place;
    s_place_new(&place);
    s_job_t two = s_sink_job(&place, 2);
    rill_operator_t *old[2] = {s_open_sink(&two, 0), s_open_sink(&two, 1)};
    s_feed(old[0], "a", 0, 5);
    s_feed(old[1], "b", 0, 7);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, 2, 1);
    s_feed(old[0], "a", 5, 9);
    s_feed(old[1], "b", 7, 9);
    rill_operator_destroy(&old[0]);
    rill_operator_destroy(&old[1]);
    char file0[128], file1[128], file2[128];
    snprintf(file0, sizeof file0, "%s.0", place.path);
    snprintf(file1, sizeof file1, "%s.1", place.path);
    snprintf(file2, sizeof file2, "%s.2", place.path);
    //  2 -> 1: subtask 0 owns both files, commits each, and writes on into the first.
    s_job_t one = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open_sink(&one, 0);
    assert_int_equal(s_restore(sink, &checkpoint, 1), 0);
    s_expect_lines(file0, "a", 0, 5);
    s_expect_lines(file1, "b", 0, 7);
    s_feed(sink, "c", 0, 3);
    s_checkpoint_t narrow;
    s_snapshot(&narrow, &sink, 1, 2);
    s_complete(sink, 2);
    char *expected = s_lines("a", 0, 5), *more = s_lines("c", 0, 3);
    expected = realloc(expected, strlen(expected) + strlen(more) + 1);
    strcat(expected, more);
    s_expect_file(file0, expected);
    s_expect_lines(file1, "b", 0, 7);
    assert_false(s_exists(place.path)); //  its own name (p = 1) was never used
    rill_operator_destroy(&sink);
    //  1 -> 3: the files go back to subtasks 0 and 1; subtask 2 starts its own.
    s_job_t three = s_sink_job(&place, 3);
    rill_operator_t *wide[3];
    for (int i = 0; i < 3; i++) {
        wide[i] = s_open_sink(&three, i);
        assert_int_equal(s_restore(wide[i], &narrow, 3), 0);
        s_feed(wide[i], "d", i, i + 1);
        s_end(wide[i]);
        rill_operator_destroy(&wide[i]);
    }
    more = realloc(more, strlen(expected) + 8);
    sprintf(more, "%sd0\n", expected);
    s_expect_file(file0, more);
    s_expect_file(file1, "b0\nb1\nb2\nb3\nb4\nb5\nb6\nd1\n");
    s_expect_file(file2, "d2\n");
    free(expected);
    free(more);
    s_checkpoint_free(&checkpoint);
    s_checkpoint_free(&narrow);
    s_job_destroy(&two);
    s_job_destroy(&one);
    s_job_destroy(&three);
    s_place_destroy(&place);
}

static void without_checkpoints_the_sink_writes_straight_to_its_output(void **state)
{
    s_place_t place;
    s_place_new(&place);
    char staging[128];
    snprintf(staging, sizeof staging, "%s/.out.pending", place.directory);
    FILE *stale = fopen(place.path, "w");
    fputs("an earlier run's output\n", stale);
    fclose(stale);
    s_job_t job = s_sink_job(&place, 1);
    rill_operator_t *sink = s_open(&job, 1, 0); //  checkpointing stays false
    s_feed(sink, "r", 0, 10000);
    assert_false(s_exists(staging));
    s_end(sink);
    s_expect_lines(place.path, "r", 0, 10000);
    rill_operator_destroy(&sink);
    //  A snapshot still comes out right when the flag was not set: what was written counts
    //  as committed, what follows is staged.
    sink = s_open(&job, 1, 0);
    s_feed(sink, "r", 0, 10000);
    s_checkpoint_t one;
    s_snapshot(&one, &sink, 1, 1);
    s_feed(sink, "r", 10000, 10003);
    rill_operator_destroy(&sink);
    sink = s_open(&job, 1, 0);
    assert_int_equal(s_restore(sink, &one, 1), 0);
    s_feed(sink, "r", 10000, 10003);
    s_end(sink);
    s_expect_lines(place.path, "r", 0, 10003);
    rill_operator_destroy(&sink);
    s_checkpoint_free(&one);
    s_job_destroy(&job);
    s_place_destroy(&place);
}

//  ---- the collect sink

static void the_collect_sink_restores_what_it_collected(void **state)
{
    rill_results_t *results = rill_results_new();
    rill_operator_spec_t collect = {.kind = RILL_OP_SINK_COLLECT, .collect = results};
    rill_operator_spec_t generator = {
        .kind = RILL_OP_SOURCE_GENERATOR, .fn.generate = s_generate, .count = 1};
    s_job_t two = s_job_new(generator, 1, &collect, 2), one = s_job_new(generator, 1, &collect, 1);
    rill_operator_t *old[2] = {s_open(&two, 1, 0), s_open(&two, 1, 1)};
    s_feed(old[0], "a", 0, 3);
    s_feed(old[1], "b", 0, 2);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, 2, 1);
    s_feed(old[0], "a", 3, 5); //  lost in the crash
    rill_operator_destroy(&old[0]);
    rill_operator_destroy(&old[1]);
    assert_int_equal(rill_results_size(results), 0);
    //  Restored at parallelism 1: one subtask holds both runs.
    rill_operator_t *sink = s_open(&one, 1, 0);
    assert_int_equal(s_restore(sink, &checkpoint, 1), 0);
    s_feed(sink, "a", 3, 5);
    s_end(sink);
    rill_results_sort(results);
    const char *expected[] = {"a0", "a1", "a2", "a3", "a4", "b0", "b1"};
    test_expect_records(results, expected, 7);
    rill_operator_destroy(&sink);
    //  A damaged copy is refused, not read past its end.
    rill_buffer_t *damaged = rill_buffer_new();
    uint8_t bad[20] = {200};
    rill_snapshot_put(damaged, RILL_STATE_SPLIT, 2, 0, NULL, 0, bad, sizeof bad);
    s_checkpoint_t broken = {.count = 1};
    broken.parts[0] = (rill_state_part_t){rill_buffer_data(damaged), rill_buffer_size(damaged)};
    sink = s_open(&one, 1, 0);
    assert_int_equal(s_restore(sink, &broken, 1), -1);
    assert_non_null(strstr(sink->error, "malformed"));
    rill_operator_destroy(&sink);
    rill_buffer_destroy(&damaged);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&two);
    s_job_destroy(&one);
    rill_results_destroy(&results);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_source_restored_at_the_same_parallelism_reads_each_line_once),
        cmocka_unit_test(file_source_restored_at_another_parallelism_reads_each_line_once),
        cmocka_unit_test(a_restored_file_source_with_no_ranges_ends_at_once),
        cmocka_unit_test(a_finished_range_is_not_saved_and_not_read_again),
        cmocka_unit_test(input_that_cannot_rewind_refuses_a_checkpoint_naming_the_source),
        cmocka_unit_test(a_restore_against_another_file_is_refused),
        cmocka_unit_test(generator_restored_at_any_parallelism_emits_each_index_once),
        cmocka_unit_test(a_restored_generator_with_no_sequences_ends_at_once),
        cmocka_unit_test(a_restored_unbounded_generator_serves_each_sequence_in_turn),
        cmocka_unit_test(a_user_source_with_callbacks_resumes_where_its_snapshot_was),
        cmocka_unit_test(a_user_source_without_callbacks_cannot_be_checkpointed),
        cmocka_unit_test(source_checkpoints_are_set_on_user_sources_only_and_both_at_once),
        cmocka_unit_test(records_are_committed_only_when_their_checkpoint_completes),
        cmocka_unit_test(a_crash_between_snapshot_and_complete_commits_each_record_once),
        cmocka_unit_test(a_restore_after_the_commit_does_not_commit_again),
        cmocka_unit_test(a_commit_cut_short_by_a_crash_is_finished_by_the_restore),
        cmocka_unit_test(a_completion_that_comes_after_the_next_snapshot_commits_its_own_records),
        cmocka_unit_test(restored_at_another_parallelism_each_file_keeps_its_name_and_commits),
        cmocka_unit_test(without_checkpoints_the_sink_writes_straight_to_its_output),
        cmocka_unit_test(the_collect_sink_restores_what_it_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
