/*  test_connectors_files.c: the file connectors (rill_connectors_files.h). The directory
    source reads every visible file once, bounded or continuously while the test writes into
    the directory (new files, a file renamed into place, a hidden in-progress file ignored until
    then), and restores mid-file at any parallelism reading each line once; the rolling sink
    rolls by size, buckets by event hour, shows parts as in-progress and pending until a
    checkpoint completes, and after a failure and restore leaves each record exactly once in
    committed parts; bad paths and URLs are refused with their messages. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rill_connectors_files_private.h"
#include "rill_graph_private.h"
#include "rill_key_hash.h"
#include "rill_operator_registry.h"
#include "rill_plan_private.h"
#include "rill_snapshot.h"

//  ---- fixtures

static char *s_temp_dir(void)
{
    char *dir = strdup("/tmp/rill-files-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static char *s_path(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

//  Writes lines "<tag> <i>" for i in [0, count) to dir/name, as the naming rule asks: under a
//  hidden name first, then renamed into place complete.
static void s_write_lines(const char *dir, const char *name, const char *tag, int count)
{
    char *path = s_path(dir, name), *hidden = s_path(dir, ".writing.tmp");
    FILE *file = fopen(hidden, "w");
    assert_non_null(file);
    for (int i = 0; i < count; i++)
        fprintf(file, "%s %d\n", tag, i);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(rename(hidden, path), 0);
    free(hidden);
    free(path);
}

//  A multiset of strings, sorted for comparison.
typedef struct {
    char **items;
    size_t count;
    size_t capacity;
} s_lines_t;

static void s_lines_add(s_lines_t *lines, const char *text, size_t size)
{
    if (lines->count == lines->capacity) {
        lines->capacity = lines->capacity ? 2 * lines->capacity : 1024;
        lines->items = realloc(lines->items, lines->capacity * sizeof(char *));
        assert_non_null(lines->items);
    }
    lines->items[lines->count++] = strndup(text, size);
}

static void s_expected_add(s_lines_t *lines, const char *tag, int count)
{
    for (int i = 0; i < count; i++) {
        char text[64];
        int size = snprintf(text, sizeof text, "%s %d", tag, i);
        s_lines_add(lines, text, (size_t)size);
    }
}

static void s_lines_free(s_lines_t *lines)
{
    for (size_t i = 0; i < lines->count; i++)
        free(lines->items[i]);
    free(lines->items);
    *lines = (s_lines_t){0};
}

static int s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  Asserts got holds exactly the expected strings, each once (order free).
static void s_expect_same(s_lines_t *got, s_lines_t *expected)
{
    qsort(got->items, got->count, sizeof(char *), s_compare_strings);
    qsort(expected->items, expected->count, sizeof(char *), s_compare_strings);
    for (size_t i = 0; i < got->count && i < expected->count; i++)
        if (strcmp(got->items[i], expected->items[i]))
            fail_msg("line %zu: got '%s', expected '%s' (a line lost or read twice)", i,
                     got->items[i], expected->items[i]);
    if (got->count != expected->count)
        fail_msg("got %zu lines, expected %zu", got->count, expected->count);
}

static void s_results_lines(rill_results_t *results, s_lines_t *lines)
{
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t record = rill_results_record(results, i);
        s_lines_add(lines, record.data, record.size);
    }
}

//  The names in dir (files and directories, not . and ..), sorted, joined by spaces.
static char *s_listing(const char *dir)
{
    s_lines_t names = {0};
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    struct dirent *item;
    while ((item = readdir(handle)))
        if (strcmp(item->d_name, ".") && strcmp(item->d_name, ".."))
            s_lines_add(&names, item->d_name, strlen(item->d_name));
    closedir(handle);
    qsort(names.items, names.count, sizeof(char *), s_compare_strings);
    size_t size = 1;
    for (size_t i = 0; i < names.count; i++)
        size += strlen(names.items[i]) + 1;
    char *text = calloc(1, size);
    for (size_t i = 0; i < names.count; i++) {
        if (i)
            strcat(text, " ");
        strcat(text, names.items[i]);
    }
    s_lines_free(&names);
    return text;
}

static void s_expect_listing(const char *dir, const char *expected)
{
    char *got = s_listing(dir);
    if (strcmp(got, expected))
        fail_msg("%s holds '%s', expected '%s'", dir, got, expected);
    free(got);
}

//  The lines of every committed part under dir (its buckets too); fails on hidden parts left
//  when clean is set.
static void s_committed_lines(const char *dir, s_lines_t *lines, bool clean)
{
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    struct dirent *item;
    while ((item = readdir(handle))) {
        if (!strcmp(item->d_name, ".") || !strcmp(item->d_name, ".."))
            continue;
        char *path = s_path(dir, item->d_name);
        struct stat info;
        assert_int_equal(stat(path, &info), 0);
        if (S_ISDIR(info.st_mode))
            s_committed_lines(path, lines, clean);
        else if (item->d_name[0] == '.') {
            if (clean)
                fail_msg("'%s' is left uncommitted", path);
        } else {
            char *text = test_read_file(path);
            for (char *line = text, *end; *line; line = end + 1) {
                end = strchr(line, '\n');
                assert_non_null(end);
                s_lines_add(lines, line, (size_t)(end - line));
            }
            free(text);
        }
        free(path);
    }
    closedir(handle);
}

//  ---- the directory source, as a program uses it

static void bounded_directory_source_reads_every_visible_file_once(void **state)
{
    char *dir = s_temp_dir();
    s_lines_t expected = {0}, got = {0};
    //  Five visible files at parallelism 2 (spread by name), and what must wait or be skipped.
    const char *names[] = {"a.log", "b.log", "c.txt", "d", "e.log"};
    for (int i = 0; i < 5; i++) {
        s_write_lines(dir, names[i], names[i], 100 * (i + 1));
        s_expected_add(&expected, names[i], 100 * (i + 1));
    }
    s_write_lines(dir, ".hidden", "hidden", 5);
    s_write_lines(dir, "_SUCCESS", "marker", 5);
    s_write_lines(dir, "f.tmp", "tmp", 5);
    s_write_lines(dir, "g.inprogress", "inprogress", 5);
    char *sub = s_path(dir, "sub");
    assert_int_equal(mkdir(sub, 0777), 0);
    s_write_lines(sub, "nested", "nested", 5);

    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *lines = rill_env_from_directory(env, dir, NULL);
    assert_non_null(lines);
    rill_stream_collect(lines, results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    s_results_lines(results, &got);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    rill_results_destroy(&results);
    rill_env_destroy(&env);

    //  A glob keeps only the matching names.
    s_lines_t logs = {0};
    for (int i = 0; i < 5; i++)
        if (strstr(names[i], ".log"))
            s_expected_add(&logs, names[i], 100 * (i + 1));
    env = rill_env_new();
    results = rill_results_new();
    rill_env_set_parallelism(env, 3);
    rill_stream_collect(
        rill_env_from_directory(env, dir, &(rill_directory_options_t){.glob = "*.log"}), results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    s_results_lines(results, &got);
    s_expect_same(&got, &logs);
    s_lines_free(&got);
    s_lines_free(&logs);
    s_lines_free(&expected);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    test_remove_tree(dir);
    free(sub);
    free(dir);
}

//  ---- continuous mode, while the test writes

typedef struct {
    rill_env_t *env;
    int rc;
    atomic_long seen;
} s_running_t;

static int s_count(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_running_t *running = ctx;
    atomic_fetch_add(&running->seen, 1);
    return rill_collector_emit(out, in->data, in->size, in->timestamp);
}

static void *s_execute(void *ctx)
{
    s_running_t *running = ctx;
    running->rc = rill_env_execute(running->env);
    return NULL;
}

//  Polls until the job has seen `count` records (fails after 20 s).
static void s_wait_seen(s_running_t *running, long count)
{
    int64_t deadline = test_now_ms() + 20000;
    while (atomic_load(&running->seen) < count && test_now_ms() < deadline)
        usleep(2000);
    if (atomic_load(&running->seen) != count)
        fail_msg("the job saw %ld lines, expected %ld", atomic_load(&running->seen), count);
}

static void continuous_directory_source_reads_files_as_they_appear(void **state)
{
    char *dir = s_temp_dir();
    s_lines_t expected = {0}, got = {0};
    s_write_lines(dir, "first", "first", 300);
    s_expected_add(&expected, "first", 300);

    s_running_t running = {.env = rill_env_new()};
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(running.env, 2);
    rill_env_set_mode(running.env, RILL_MODE_STREAMING);
    rill_env_set_buffer_timeout(running.env, 1);
    rill_stream_t *lines = rill_env_from_directory(
        running.env, dir, &(rill_directory_options_t){.continuous = true, .poll_interval_ms = 10});
    rill_stream_collect(rill_stream_flat_map(lines, s_count, &running), results);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_execute, &running), 0);
    s_wait_seen(&running, 300);

    //  A file written under a hidden in-progress name, then a visible one after it: once the
    //  visible one was read, a listing has seen the hidden one too, and left it alone.
    s_write_lines(dir, ".third.inprogress", "third", 200);
    s_write_lines(dir, "second", "second", 400);
    s_expected_add(&expected, "second", 400);
    s_wait_seen(&running, 700);
    //  Renamed into place: now it is read, once.
    char *from = s_path(dir, ".third.inprogress"), *to = s_path(dir, "third");
    assert_int_equal(rename(from, to), 0);
    s_expected_add(&expected, "third", 200);
    s_wait_seen(&running, 900);
    //  Many at once, and the convention's other waiting names.
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "batch-%d", i);
        s_write_lines(dir, name, name, 50 + i);
        s_expected_add(&expected, name, 50 + i);
    }
    s_write_lines(dir, "late.tmp", "late", 10);
    s_wait_seen(&running, 900 + 6 * 50 + 15);

    rill_env_cancel(running.env);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(rill_env_cancelled(running.env));
    s_results_lines(results, &got);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    s_lines_free(&expected);
    rill_results_destroy(&results);
    rill_env_destroy(&running.env);
    test_remove_tree(dir);
    free(from);
    free(to);
    free(dir);
}

static void a_continuous_source_hears_new_names_before_its_next_poll(void **state)
{
    int probe = inotify_init1(IN_CLOEXEC);
    if (probe < 0) {
        print_message("inotify is not available here: only polling finds new files\n");
        return;
    }
    close(probe);
    char *dir = s_temp_dir();
    s_lines_t expected = {0}, got = {0};
    s_running_t running = {.env = rill_env_new()};
    rill_results_t *results = rill_results_new();
    rill_env_set_mode(running.env, RILL_MODE_STREAMING);
    //  An hour between listings: only inotify can bring the file in within the test's time.
    rill_stream_t *lines = rill_env_from_directory(
        running.env, dir,
        &(rill_directory_options_t){.continuous = true, .poll_interval_ms = 3600 * 1000});
    rill_stream_collect(rill_stream_flat_map(lines, s_count, &running), results);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_execute, &running), 0);
    s_write_lines(dir, ".news.tmp", "news", 20);
    char *from = s_path(dir, ".news.tmp"), *to = s_path(dir, "news");
    assert_int_equal(rename(from, to), 0);
    s_expected_add(&expected, "news", 20);
    s_wait_seen(&running, 20);
    rill_env_cancel(running.env);
    assert_int_equal(pthread_join(thread, NULL), 0);
    s_results_lines(results, &got);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    s_lines_free(&expected);
    rill_results_destroy(&results);
    rill_env_destroy(&running.env);
    test_remove_tree(dir);
    free(from);
    free(to);
    free(dir);
}

//  ---- operators driven directly: checkpoints at exact points

typedef struct {
    rill_graph_t *graph;
    rill_plan_t *plan;
} s_job_t;

//  A plan of one operator spec (source into discard, or generator into the sink) at p.
static s_job_t s_job_new(rill_operator_spec_t spec, int parallelism)
{
    s_job_t job = {rill_graph_new(), NULL};
    spec.parallelism = parallelism;
    bool source = rill_op_kind_is_source(spec.kind);
    rill_operator_spec_t other = source
                                     ? (rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD}
                                     : (rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 1};
    other.parallelism = parallelism;
    assert_int_equal(rill_graph_add_operator(job.graph, source ? &spec : &other), 0);
    assert_int_equal(rill_graph_add_operator(job.graph, source ? &other : &spec), 1);
    assert_int_equal(rill_graph_add_edge(job.graph, &(rill_edge_spec_t){.from = 0, .to = 1}), 0);
    char error[512] = "";
    job.plan = rill_plan_new(job.graph, "files", 1, RILL_MODE_STREAMING, error, sizeof error);
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

static int s_gather(void *target, const rill_record_t *record)
{
    s_lines_add(target, record->data, record->size);
    return 0;
}

static int s_produce(rill_operator_t *source, s_lines_t *into)
{
    rill_collector_t out = {.emit = s_gather, .target = into, .parallelism = 1};
    int rc = source->vtable->produce(source, &out);
    if (rc < 0)
        fail_msg("produce failed: %s", source->error);
    return rc;
}

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

static int s_restore(rill_operator_t *self, const s_checkpoint_t *checkpoint, int parallelism)
{
    rill_state_reader_t *reader = rill_state_reader_new(
        checkpoint->parts, checkpoint->count, checkpoint->count, self->index, parallelism);
    assert_non_null(reader);
    int rc = self->vtable->restore(self, reader);
    rill_state_reader_destroy(&reader);
    return rc;
}

static rill_operator_spec_t s_directory_spec(const char *dir, const rill_directory_config_t *config)
{
    return (rill_operator_spec_t){.kind = RILL_OP_SOURCE_DIRECTORY,
                                  .path = dir,
                                  .options = config,
                                  .options_size = sizeof *config};
}

//  Files of 2500 lines (more than two chunks), read a few chunks per subtask, snapshotted in
//  the middle of files, read on (lost in a crash), restored at `after` subtasks: each line once.
static void s_directory_round_trip(int before, int after)
{
    char *dir = s_temp_dir();
    s_lines_t expected = {0}, output = {0}, lost = {0};
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "file-%d", i);
        s_write_lines(dir, name, name, 2500);
        s_expected_add(&expected, name, 2500);
    }
    rill_directory_config_t config = {.poll_ms = 10};
    s_job_t first = s_job_new(s_directory_spec(dir, &config), before);
    rill_operator_t *old[8];
    int mid_file = 0;
    for (int i = 0; i < before; i++) {
        old[i] = s_open(&first, 0, i);
        for (int chunk = 0; chunk < i + 2; chunk++)
            s_produce(old[i], &output);
    }
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, old, before, 1);
    //  Some subtask stopped in the middle of a file: the checkpoint says where.
    rill_state_reader_t *reader =
        rill_state_reader_new(checkpoint.parts, checkpoint.count, before, 0, 1);
    rill_state_entry_t entry;
    while (rill_state_reader_next(reader, &entry) > 0)
        mid_file += entry.tag == 3; //  being read, with an offset
    rill_state_reader_destroy(&reader);
    for (int i = 0; i < before; i++) {
        s_produce(old[i], &lost);
        rill_operator_destroy(&old[i]);
    }
    assert_true(mid_file > 0);
    assert_true(lost.count > 0);
    s_job_t second = s_job_new(s_directory_spec(dir, &config), after);
    for (int i = 0; i < after; i++) {
        rill_operator_t *restored = s_open(&second, 0, i);
        if (s_restore(restored, &checkpoint, after))
            fail_msg("restore failed: %s", restored->error);
        while (s_produce(restored, &output) == RILL_SOURCE_MORE)
            ;
        rill_operator_destroy(&restored);
    }
    s_expect_same(&output, &expected);
    s_lines_free(&output);
    s_lines_free(&lost);
    s_lines_free(&expected);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&first);
    s_job_destroy(&second);
    test_remove_tree(dir);
    free(dir);
}

static void directory_source_restored_mid_file_reads_each_line_once(void **state)
{
    s_directory_round_trip(1, 1);
    s_directory_round_trip(2, 2);
    //  At another parallelism each file goes to the subtask its name hashes to there.
    s_directory_round_trip(2, 3);
    s_directory_round_trip(3, 1);
}

static void a_restored_file_that_changed_is_refused(void **state)
{
    char *dir = s_temp_dir();
    s_write_lines(dir, "only", "only", 3000);
    rill_directory_config_t config = {.poll_ms = 10};
    s_job_t job = s_job_new(s_directory_spec(dir, &config), 1);
    rill_operator_t *source = s_open(&job, 0, 0);
    s_lines_t output = {0};
    s_produce(source, &output);
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, &source, 1, 1);
    rill_operator_destroy(&source);
    s_write_lines(dir, "only", "x", 10); //  shorter than the offset saved
    source = s_open(&job, 0, 0);
    assert_int_equal(s_restore(source, &checkpoint, 1), 0);
    rill_collector_t out = {.emit = s_gather, .target = &output, .parallelism = 1};
    assert_int_equal(source->vtable->produce(source, &out), -1);
    assert_non_null(strstr(source->error, "fewer than"));
    assert_non_null(strstr(source->error, "the file changed"));
    rill_operator_destroy(&source);
    s_lines_free(&output);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&job);
    test_remove_tree(dir);
    free(dir);
}

//  ---- the rolling sink, driven directly

static rill_operator_spec_t s_rolling_spec(const char *base, const rill_rolling_config_t *config)
{
    return (rill_operator_spec_t){.kind = RILL_OP_SINK_ROLLING,
                                  .path = base,
                                  .options = config,
                                  .options_size = sizeof *config};
}

static void s_record(rill_operator_t *sink, const char *text, int64_t timestamp)
{
    rill_record_t record = {text, strlen(text), timestamp};
    if (sink->vtable->on_record(sink, &record, 0, NULL))
        fail_msg("on_record failed: %s", sink->error);
}

//  Records "r NN" of 5 bytes, 20 to a part of at most 100 bytes.
static void s_records(rill_operator_t *sink, int from, int to, s_lines_t *expected)
{
    for (int i = from; i < to; i++) {
        char text[16];
        snprintf(text, sizeof text, "r %02d", i);
        s_record(sink, text, RILL_NO_TIMESTAMP);
        if (expected)
            s_lines_add(expected, text, strlen(text));
    }
}

static void rolling_sink_commits_parts_only_when_a_checkpoint_completes(void **state)
{
    char *base = s_temp_dir();
    rill_rolling_config_t config = {.max_part_bytes = 100, .prefix = "part"};
    s_job_t job = s_job_new(s_rolling_spec(base, &config), 1);
    rill_operator_t *sink = s_open(&job, 1, 0);
    sink->checkpointing = true;
    s_records(sink, 0, 50, NULL); //  parts 0 and 1 full (20 each), 2 in progress
    s_expect_listing(base, ".part-0-0.pending .part-0-1.pending .part-0-2.inprogress");
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, &sink, 1, 1);
    //  Taken, not complete: nothing is visible yet.
    s_expect_listing(base, ".part-0-0.pending .part-0-1.pending .part-0-2.inprogress");
    s_records(sink, 50, 65, NULL); //  part 2 rolls after checkpoint 1: not covered by it
    s_expect_listing(base, ".part-0-0.pending .part-0-1.pending .part-0-2.pending "
                           ".part-0-3.inprogress");
    assert_int_equal(sink->vtable->checkpoint_complete(sink, 1), 0);
    s_expect_listing(base, ".part-0-2.pending .part-0-3.inprogress part-0-0 part-0-1");
    char *part = s_path(base, "part-0-0");
    char *text = test_read_file(part);
    assert_string_equal(text, "r 00\nr 01\nr 02\nr 03\nr 04\nr 05\nr 06\nr 07\nr 08\nr 09\n"
                              "r 10\nr 11\nr 12\nr 13\nr 14\nr 15\nr 16\nr 17\nr 18\nr 19\n");
    free(text);
    free(part);
    //  The end of the input commits everything.
    assert_int_equal(sink->vtable->on_end(sink, NULL), 0);
    s_expect_listing(base, "part-0-0 part-0-1 part-0-2 part-0-3");
    s_lines_t got = {0}, expected = {0};
    for (int i = 0; i < 65; i++) {
        char line[16];
        snprintf(line, sizeof line, "r %02d", i);
        s_lines_add(&expected, line, strlen(line));
    }
    s_committed_lines(base, &got, true);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    s_lines_free(&expected);
    rill_operator_destroy(&sink);
    s_checkpoint_free(&checkpoint);
    s_job_destroy(&job);
    test_remove_tree(base);
    free(base);
}

static void rolling_sink_restore_truncates_in_progress_and_commits_pending(void **state)
{
    char *base = s_temp_dir();
    rill_rolling_config_t config = {.max_part_bytes = 100, .prefix = "part", .suffix = ".txt"};
    s_job_t job = s_job_new(s_rolling_spec(base, &config), 2);
    rill_operator_t *sinks[2] = {s_open(&job, 1, 0), s_open(&job, 1, 1)};
    s_lines_t expected = {0};
    s_records(sinks[0], 0, 30, &expected);  //  part 0 pending, part 1 in progress (10 records)
    s_records(sinks[1], 30, 45, &expected); //  part 0 in progress
    s_checkpoint_t checkpoint;
    s_snapshot(&checkpoint, sinks, 2, 1);
    //  After the checkpoint (then a crash before it completes): more parts and bytes.
    s_records(sinks[0], 45, 90, NULL);
    s_records(sinks[1], 90, 99, NULL);
    s_expect_listing(base, ".part-0-0.txt.pending .part-0-1.txt.pending .part-0-2.txt.pending "
                           ".part-0-3.txt.inprogress .part-1-0.txt.pending "
                           ".part-1-1.txt.inprogress");
    rill_operator_destroy(&sinks[0]);
    rill_operator_destroy(&sinks[1]);
    //  Restored at parallelism 1: subtask 0 settles both namespaces.
    s_job_t again = s_job_new(s_rolling_spec(base, &config), 1);
    rill_operator_t *sink = s_open(&again, 1, 0);
    if (s_restore(sink, &checkpoint, 1))
        fail_msg("restore failed: %s", sink->error);
    s_expect_listing(base, "part-0-0.txt part-0-1.txt part-1-0.txt");
    s_lines_t got = {0};
    s_committed_lines(base, &got, true);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    //  Writing on numbers after the checkpoint's parts; the next snapshot keeps namespace 1.
    s_records(sink, 200, 205, &expected);
    s_checkpoint_t next;
    s_snapshot(&next, &sink, 1, 2);
    assert_int_equal(sink->vtable->on_end(sink, NULL), 0);
    s_expect_listing(base, "part-0-0.txt part-0-1.txt part-0-2.txt part-1-0.txt");
    s_committed_lines(base, &got, true);
    s_expect_same(&got, &expected);
    rill_operator_destroy(&sink);
    //  Restoring that again at 2 (as after a crash past the end): part 0-2 is cut to its
    //  checkpointed length, namespace 1 goes back to subtask 1, which removes nothing of it.
    s_job_t third = s_job_new(s_rolling_spec(base, &config), 2);
    rill_operator_t *restored[2] = {s_open(&third, 1, 0), s_open(&third, 1, 1)};
    for (int i = 0; i < 2; i++)
        if (s_restore(restored[i], &next, 2))
            fail_msg("restore failed: %s", restored[i]->error);
    s_lines_t again_got = {0};
    s_committed_lines(base, &again_got, true);
    s_expect_same(&again_got, &expected);
    for (int i = 0; i < 2; i++)
        rill_operator_destroy(&restored[i]);
    s_lines_free(&got);
    s_lines_free(&again_got);
    s_lines_free(&expected);
    s_checkpoint_free(&checkpoint);
    s_checkpoint_free(&next);
    s_job_destroy(&job);
    s_job_destroy(&again);
    s_job_destroy(&third);
    test_remove_tree(base);
    free(base);
}

static int64_t s_fake_clock(void *ctx)
{
    return *(const int64_t *)ctx;
}

static void rolling_sink_rolls_by_age_and_by_inactivity(void **state)
{
    char *base = s_temp_dir();
    rill_rolling_config_t config = {
        .max_part_bytes = 1 << 20, .rollover_ms = 1000, .inactivity_ms = 300, .prefix = "part"};
    s_job_t job = s_job_new(s_rolling_spec(base, &config), 1);
    rill_operator_t *sink = s_open(&job, 1, 0);
    int64_t now = 0;
    sink->clock_ms = s_fake_clock;
    sink->clock_ctx = &now;
    assert_int_equal(sink->vtable->next_tick(sink), INT64_MAX); //  no part open
    s_record(sink, "a", RILL_NO_TIMESTAMP);
    now = 200;
    s_record(sink, "b", RILL_NO_TIMESTAMP);
    //  Due at the earlier of opened + 1000 and last write + 300.
    assert_int_equal(sink->vtable->next_tick(sink), 500);
    assert_int_equal(sink->vtable->on_tick(sink, 499, NULL), 0);
    s_expect_listing(base, ".part-0-0.inprogress");
    assert_int_equal(sink->vtable->on_tick(sink, 500, NULL), 0);
    s_expect_listing(base, ".part-0-0.pending");
    //  A part written to every 100 ms never idles: it rolls when 1000 ms old.
    for (now = 600; now < 1600; now += 100) {
        s_record(sink, "c", RILL_NO_TIMESTAMP);
        assert_int_equal(sink->vtable->on_tick(sink, now, NULL), 0);
    }
    s_expect_listing(base, ".part-0-0.pending .part-0-1.inprogress");
    assert_int_equal(sink->vtable->next_tick(sink), 1600);
    now = 1600;
    assert_int_equal(sink->vtable->on_tick(sink, now, NULL), 0);
    s_expect_listing(base, ".part-0-0.pending .part-0-1.pending");
    assert_int_equal(sink->vtable->on_end(sink, NULL), 0);
    s_expect_listing(base, "part-0-0 part-0-1");
    char *part = s_path(base, "part-0-0");
    char *text = test_read_file(part);
    assert_string_equal(text, "a\nb\n");
    free(text);
    free(part);
    rill_operator_destroy(&sink);
    s_job_destroy(&job);
    test_remove_tree(base);
    free(base);
}

//  ---- the rolling sink in jobs

//  Record i: "event i" at 2026-11-27 10:00 UTC + i minutes.
#define S_HOUR_BASE 1795773600000LL
static int s_timed_event(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "event %llu", (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, S_HOUR_BASE + (int64_t)index * 60000);
}

static void rolling_sink_buckets_by_event_hour_and_rolls_by_size(void **state)
{
    char bucket[RILL_BUCKET_MAX];
    rill_record_t record = {"x", 1, S_HOUR_BASE};
    assert_int_equal(rill_bucket_by_hour(&record, bucket, sizeof bucket, NULL), 0);
    assert_string_equal(bucket, "2026-11-27--10");
    record.timestamp = 0;
    assert_int_equal(rill_bucket_by_hour(&record, bucket, sizeof bucket, NULL), 0);
    assert_string_equal(bucket, "1970-01-01--00");
    record.timestamp = 951782400000LL + 23 * 3600000LL; //  a leap day's last hour
    assert_int_equal(rill_bucket_by_hour(&record, bucket, sizeof bucket, NULL), 0);
    assert_string_equal(bucket, "2000-02-29--23");

    char *base = s_temp_dir();
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *events = rill_env_from_generator(env, s_timed_event, NULL, 180);
    assert_non_null(rill_stream_to_rolling_files(
        events, base,
        &(rill_rolling_options_t){.bucket = rill_bucket_by_hour, .max_part_bytes = 200}));
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    s_expect_listing(base, "2026-11-27--10 2026-11-27--11 2026-11-27--12");
    for (int hour = 0; hour < 3; hour++) {
        char name[32];
        snprintf(name, sizeof name, "2026-11-27--%02d", 10 + hour);
        char *dir = s_path(base, name);
        s_lines_t got = {0}, expected = {0};
        s_committed_lines(dir, &got, true);
        for (int i = 60 * hour; i < 60 * (hour + 1); i++) {
            char text[32];
            snprintf(text, sizeof text, "event %d", i);
            s_lines_add(&expected, text, strlen(text));
        }
        s_expect_same(&got, &expected);
        //  60 records of about 10 bytes in parts of at most 200: several per subtask.
        DIR *handle = opendir(dir);
        struct dirent *item;
        int parts = 0;
        while ((item = readdir(handle))) {
            if (item->d_name[0] == '.')
                continue;
            char *path = s_path(dir, item->d_name);
            struct stat info;
            assert_int_equal(stat(path, &info), 0);
            assert_true(info.st_size <= 200);
            parts++;
            free(path);
        }
        closedir(handle);
        assert_true(parts >= 4);
        s_lines_free(&got);
        s_lines_free(&expected);
        free(dir);
    }
    rill_env_destroy(&env);
    test_remove_tree(base);
    free(base);
}

//  Slows the job down a little (1 ms per 50 records) so that checkpoints every 10 ms land in
//  the middle of the input: a throttle, not a wait for anything.
static int s_throttle(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    static _Thread_local long count;
    if (++count % 50 == 0)
        usleep(1000);
    return rill_collector_emit(out, in->data, in->size, in->timestamp);
}

//  Runs directory -> throttle "relay" -> rolling sink, streaming, with checkpoints into
//  checkpoints; fail is RILL_FAIL (NULL: none); restore a checkpoint directory (NULL: none).
static int s_run_files_job(const char *input, const char *output, const char *checkpoints,
                           const char *fail, const char *restore, rill_checkpoint_stats_t *stats,
                           char *error, size_t error_size)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    assert_int_equal(rill_env_enable_checkpointing(env, 10, checkpoints), 0);
    if (restore)
        assert_int_equal(rill_env_restore_from(env, restore), 0);
    rill_stream_t *lines = rill_env_from_directory(env, input, NULL);
    rill_stream_t *relayed =
        rill_stream_name(rill_stream_flat_map(lines, s_throttle, NULL), "relay");
    rill_stream_parallelism(
        rill_stream_to_rolling_files(rill_stream_rebalance(relayed), output,
                                     &(rill_rolling_options_t){.max_part_bytes = 16 * 1024}),
        3);
    if (fail)
        setenv("RILL_FAIL", fail, 1);
    int rc = rill_env_execute(env);
    unsetenv("RILL_FAIL");
    snprintf(error, error_size, "%s", rc ? rill_env_error(env) : "");
    *stats = rill_metrics_checkpoints(rill_env_metrics(env));
    rill_env_destroy(&env);
    return rc;
}

//  The subtask (of p) that reads a file: the key group of its name, as keyed state is owned.
static int s_owner(const char *name, int parallelism)
{
    return (int)(rill_key_hash_group(rill_key_hash(name, strlen(name))) * parallelism /
                 RILL_MAX_PARALLELISM);
}

static void a_failed_job_restored_leaves_each_line_once_in_committed_parts(void **state)
{
    char *input = s_temp_dir(), *output = s_temp_dir(), *checkpoints = s_temp_dir();
    s_lines_t expected = {0}, got = {0};
    long lines_of[2] = {0, 0};
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "in-%d", i);
        s_write_lines(input, name, name, 2500);
        s_expected_add(&expected, name, 2500);
        lines_of[s_owner(name, 2)] += 2500;
    }
    //  The relay subtask that reads more, failing at 90% of its lines (the other one may have
    //  ended by then, and its sink committed everything at the end of its input).
    int busier = lines_of[1] > lines_of[0];
    char fail[64];
    snprintf(fail, sizeof fail, "relay:%d:%ld", busier + 1, lines_of[busier] * 9 / 10);
    //  The first run dies there (as a killed process would: no restart); what it committed
    //  stays, its in-progress and pending parts wait.
    char error[1024];
    rill_checkpoint_stats_t stats;
    assert_int_equal(
        s_run_files_job(input, output, checkpoints, fail, NULL, &stats, error, sizeof error), -1);
    assert_non_null(strstr(error, "injected failure"));
    assert_true(stats.completed > 0);
    s_committed_lines(output, &got, false);
    assert_true(got.count < expected.count);
    s_lines_free(&got);
    //  Restored from its latest checkpoint: every line once, nothing left uncommitted.
    int rc =
        s_run_files_job(input, output, checkpoints, NULL, checkpoints, &stats, error, sizeof error);
    if (rc)
        fail_msg("restored job failed: %s", error);
    assert_true(stats.restored > 0);
    s_committed_lines(output, &got, true);
    s_expect_same(&got, &expected);
    s_lines_free(&got);

    //  And with restarts inside one run: a failure, a restore, the same result.
    test_remove_tree(output);
    test_remove_tree(checkpoints);
    assert_int_equal(mkdir(output, 0777), 0);
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    assert_int_equal(rill_env_enable_checkpointing(env, 10, checkpoints), 0);
    assert_int_equal(rill_env_set_restart(env, 2, 0, false), 0);
    rill_stream_t *relayed = rill_stream_name(
        rill_stream_flat_map(rill_env_from_directory(env, input, NULL), s_throttle, NULL), "relay");
    rill_stream_to_rolling_files(relayed, output,
                                 &(rill_rolling_options_t){.max_part_bytes = 8 * 1024});
    snprintf(fail, sizeof fail, "relay:%d:%ld", busier + 1, lines_of[busier] / 2);
    setenv("RILL_FAIL", fail, 1);
    rc = rill_env_execute(env);
    unsetenv("RILL_FAIL");
    if (rc)
        fail_msg("job failed: %s", rill_env_error(env));
    assert_int_equal(rill_metrics_checkpoints(rill_env_metrics(env)).restarts, 1);
    rill_env_destroy(&env);
    s_committed_lines(output, &got, true);
    s_expect_same(&got, &expected);
    s_lines_free(&got);
    s_lines_free(&expected);
    test_remove_tree(input);
    test_remove_tree(output);
    test_remove_tree(checkpoints);
    free(input);
    free(output);
    free(checkpoints);
}

static void a_restart_before_any_checkpoint_removes_what_the_failed_attempt_committed(void **state)
{
    //  Subtask 0 of 2 reads one short file and ends (its sink commits at the end of its
    //  input); subtask 1 fails later, before any checkpoint completed (an hour apart): the
    //  restart replays everything, so what subtask 0 committed must go first.
    char *input = s_temp_dir(), *output = s_temp_dir(), *checkpoints = s_temp_dir();
    s_lines_t expected = {0}, got = {0};
    int short_files = 0, long_files = 0;
    for (int i = 0; short_files < 1 || long_files < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "x-%d", i);
        int owner = s_owner(name, 2);
        if ((owner == 0 && short_files) || (owner == 1 && long_files == 2))
            continue;
        int lines = owner == 0 ? 10 : 2500;
        s_write_lines(input, name, name, lines);
        s_expected_add(&expected, name, lines);
        short_files += owner == 0;
        long_files += owner == 1;
    }
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    assert_int_equal(rill_env_enable_checkpointing(env, 3600 * 1000, checkpoints), 0);
    assert_int_equal(rill_env_set_restart(env, 1, 0, false), 0);
    rill_stream_t *relayed = rill_stream_name(
        rill_stream_flat_map(rill_env_from_directory(env, input, NULL), s_throttle, NULL), "relay");
    rill_stream_to_rolling_files(relayed, output, NULL);
    setenv("RILL_FAIL", "relay:2:4000", 1);
    int rc = rill_env_execute(env);
    unsetenv("RILL_FAIL");
    if (rc)
        fail_msg("job failed: %s", rill_env_error(env));
    rill_checkpoint_stats_t stats = rill_metrics_checkpoints(rill_env_metrics(env));
    assert_int_equal(stats.restarts, 1);
    assert_int_equal(stats.restored, 0);
    rill_env_destroy(&env);
    s_committed_lines(output, &got, true);
    s_expect_same(&got, &expected);
    //  One part per subtask: the failed attempt's part 0-0 was removed, not kept beside a
    //  second copy.
    s_expect_listing(output, "part-0-0 part-1-0");
    s_lines_free(&got);
    s_lines_free(&expected);
    test_remove_tree(input);
    test_remove_tree(output);
    test_remove_tree(checkpoints);
    free(input);
    free(output);
    free(checkpoints);
}

//  ---- URLs and refusals

static void urls_parse_into_options(void **state)
{
    rill_directory_url_t in;
    char error[512];
    assert_int_equal(rill_directory_url_parse("dir:///data/in?continuous=1&poll=2s&glob=*.log", &in,
                                              error, sizeof error),
                     0);
    assert_string_equal(in.path, "/data/in");
    assert_true(in.options.continuous);
    assert_int_equal(in.options.poll_interval_ms, 2000);
    assert_string_equal(in.options.glob, "*.log");
    assert_int_equal(rill_directory_url_parse("some/dir", &in, error, sizeof error), 0);
    assert_string_equal(in.path, "some/dir");
    assert_false(in.options.continuous);
    assert_null(in.options.glob);
    assert_true(rill_directory_url_matches("dir://x"));
    assert_true(rill_directory_url_matches("/tmp"));
    assert_false(rill_directory_url_matches("/etc/passwd"));

    rill_rolling_url_t out;
    assert_int_equal(
        rill_rolling_url_parse(
            "rolling:///data/out?size=64M&interval=15m&inactivity=30s&bucket=hour&suffix=.txt",
            &out, error, sizeof error),
        0);
    assert_string_equal(out.base_dir, "/data/out");
    assert_int_equal(out.options.max_part_bytes, 64ULL * 1024 * 1024);
    assert_int_equal(out.options.rollover_ms, 15 * 60 * 1000);
    assert_int_equal(out.options.inactivity_ms, 30 * 1000);
    assert_ptr_equal(out.options.bucket, rill_bucket_by_hour);
    assert_string_equal(out.options.suffix, ".txt");
    assert_null(out.options.prefix);
    assert_true(rill_rolling_url_matches("rolling://x"));
    assert_false(rill_rolling_url_matches("/tmp/x"));
}

static void s_expect_url_error(int rc, const char *error, const char *part)
{
    assert_int_equal(rc, -1);
    if (!strstr(error, part))
        fail_msg("error '%s' does not say '%s'", error, part);
}

static void bad_urls_and_paths_are_refused_with_their_reasons(void **state)
{
    rill_directory_url_t in;
    rill_rolling_url_t out;
    char error[512];
    s_expect_url_error(rill_directory_url_parse("dir:///x?poll=soon", &in, error, sizeof error),
                       error, "poll must be a duration");
    s_expect_url_error(rill_directory_url_parse("dir:///x?recursive=1", &in, error, sizeof error),
                       error, "unknown parameter 'recursive'");
    s_expect_url_error(rill_directory_url_parse("dir://?continuous=1", &in, error, sizeof error),
                       error, "no directory given");
    s_expect_url_error(rill_directory_url_parse("kafka://broker/topic", &in, error, sizeof error),
                       error, "not a dir:// URL");
    s_expect_url_error(rill_directory_url_parse("dir:///x?continuous", &in, error, sizeof error),
                       error, "not KEY=VALUE");
    s_expect_url_error(rill_rolling_url_parse("/tmp/out", &out, error, sizeof error), error,
                       "not a rolling:// URL");
    s_expect_url_error(rill_rolling_url_parse("rolling:///o?size=0", &out, error, sizeof error),
                       error, "size must be a size above 0");
    s_expect_url_error(rill_rolling_url_parse("rolling:///o?size=12X", &out, error, sizeof error),
                       error, "size must be");
    s_expect_url_error(
        rill_rolling_url_parse("rolling:///o?interval=-1m", &out, error, sizeof error), error,
        "interval must be a duration");
    s_expect_url_error(rill_rolling_url_parse("rolling:///o?bucket=day", &out, error, sizeof error),
                       error, "bucket must be none or hour");
    s_expect_url_error(rill_rolling_url_parse("rolling:///o?prefix=a/b", &out, error, sizeof error),
                       error, "without '/'");

    //  Paths, checked when the job is built.
    rill_env_t *env = rill_env_new();
    assert_null(rill_env_from_directory(env, "/nonexistent/rill-input", NULL));
    assert_non_null(strstr(rill_env_error(env), "cannot read directory '/nonexistent/rill-input'"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_null(rill_env_from_directory(env, "/etc/passwd", NULL));
    assert_non_null(strstr(rill_env_error(env), "Not a directory"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_null(rill_env_from_directory_url(env, "dir:///tmp?poll=0"));
    assert_non_null(strstr(rill_env_error(env), "poll must be a duration above 0"));
    rill_env_destroy(&env);

    char *input = s_temp_dir();
    env = rill_env_new();
    rill_stream_t *lines = rill_env_from_directory(env, input, NULL);
    assert_null(rill_stream_to_rolling_files(lines, "/etc/passwd/out", NULL));
    assert_non_null(strstr(rill_env_error(env), "'/etc/passwd' is not a directory"));
    rill_env_destroy(&env);
    env = rill_env_new();
    lines = rill_env_from_directory(env, input, NULL);
    assert_null(rill_stream_to_rolling_files(lines, input, NULL));
    assert_non_null(strstr(rill_env_error(env), "the job would read its own output"));
    rill_env_destroy(&env);
    env = rill_env_new();
    lines = rill_env_from_directory(env, input, NULL);
    assert_null(rill_stream_to_rolling_files_url(lines, "rolling:///tmp/x?size=big"));
    assert_non_null(strstr(rill_env_error(env), "rolling file sink: 'rolling:///tmp/x?size=big': "
                                                "size must be"));
    rill_env_destroy(&env);
    if (getuid() != 0) {
        //  Permissions do not stop root.
        char *locked = s_path(input, "locked");
        assert_int_equal(mkdir(locked, 0500), 0);
        char *below = s_path(locked, "out");
        env = rill_env_new();
        lines = rill_env_from_directory(env, input, NULL);
        assert_null(rill_stream_to_rolling_files(lines, below, NULL));
        assert_non_null(strstr(rill_env_error(env), "is not writable"));
        rill_env_destroy(&env);
        env = rill_env_new();
        lines = rill_env_from_directory(env, input, NULL);
        assert_null(rill_stream_to_rolling_files(lines, locked, NULL));
        assert_non_null(strstr(rill_env_error(env), "is not writable"));
        rill_env_destroy(&env);
        free(below);
        free(locked);
    }
    //  A bucket function that names no directory fails the job, naming the bucket.
    test_remove_tree(input);
    free(input);
}

static int s_bad_bucket(const rill_record_t *record, char *bucket, size_t size, void *ctx)
{
    snprintf(bucket, size, "../escape");
    return 0;
}

static void a_bucket_that_is_no_directory_name_fails_the_job(void **state)
{
    char *base = s_temp_dir();
    rill_env_t *env = rill_env_new();
    test_sequence_t sequence = {.count = 10};
    rill_stream_to_rolling_files(
        rill_env_from_generator(env, test_generate_sequence, &sequence, 10), base,
        &(rill_rolling_options_t){.bucket = s_bad_bucket});
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "bucket '../escape' is not a directory name"));
    rill_env_destroy(&env);
    test_remove_tree(base);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bounded_directory_source_reads_every_visible_file_once),
        cmocka_unit_test(continuous_directory_source_reads_files_as_they_appear),
        cmocka_unit_test(a_continuous_source_hears_new_names_before_its_next_poll),
        cmocka_unit_test(directory_source_restored_mid_file_reads_each_line_once),
        cmocka_unit_test(a_restored_file_that_changed_is_refused),
        cmocka_unit_test(rolling_sink_commits_parts_only_when_a_checkpoint_completes),
        cmocka_unit_test(rolling_sink_restore_truncates_in_progress_and_commits_pending),
        cmocka_unit_test(rolling_sink_rolls_by_age_and_by_inactivity),
        cmocka_unit_test(rolling_sink_buckets_by_event_hour_and_rolls_by_size),
        cmocka_unit_test(a_failed_job_restored_leaves_each_line_once_in_committed_parts),
        cmocka_unit_test(a_restart_before_any_checkpoint_removes_what_the_failed_attempt_committed),
        cmocka_unit_test(urls_parse_into_options),
        cmocka_unit_test(bad_urls_and_paths_are_refused_with_their_reasons),
        cmocka_unit_test(a_bucket_that_is_no_directory_name_fails_the_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
