/*  test_checkpoint_store.c: the checkpoint store and loader (runtime/checkpoint). State files
    and metadata written, read back byte for byte; a checkpoint without _metadata or with a
    damaged file passed over for the one before, with a note; savepoints loaded exactly and
    never pruned; retention; many subtask threads writing one checkpoint at once; a plan
    checked against what was checkpointed. Every case works in its own directory under /tmp. */
#include "rill_checkpoint.h"
#include "rill_checkpoint_files.h"
#include "rill_checkpoint_store.h"
#include "rill_plan_private.h"
#include "rill_snapshot.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  ---- fixtures

static char *s_temp_dir(void)
{
    char path[] = "/tmp/rill-checkpoint-XXXXXX";
    assert_non_null(mkdtemp(path));
    return strdup(path);
}

static void s_remove_dir(char **path_p)
{
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", *path_p);
    assert_int_equal(system(command), 0);
    free(*path_p);
    *path_p = NULL;
}

static int s_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static int s_keep(const rill_record_t *in, void *ctx)
{
    return 1;
}

//  A planned job "wc": generator src(p_src) --hash--> map_name(p_map) --forward--> out(p_map).
typedef struct {
    rill_graph_t *graph;
    rill_plan_t *plan;
} s_job_t;

static s_job_t s_job(int p_src, int p_map, const char *map_name)
{
    s_job_t job = {rill_graph_new(), NULL};
    int src = rill_graph_add_operator(job.graph,
                                      &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .name = "src",
                                                              .parallelism = p_src,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 10});
    int map = rill_graph_add_operator(job.graph, &(rill_operator_spec_t){.kind = RILL_OP_MAP,
                                                                         .name = map_name,
                                                                         .parallelism = p_map,
                                                                         .fn.map = s_map});
    int sink = rill_graph_add_operator(
        job.graph,
        &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = p_map});
    rill_graph_add_edge(job.graph, &(rill_edge_spec_t){.from = src,
                                                       .to = map,
                                                       .pattern = RILL_PATTERN_HASH,
                                                       .key = rill_key_first_field});
    rill_graph_add_edge(
        job.graph, &(rill_edge_spec_t){.from = map, .to = sink, .pattern = RILL_PATTERN_FORWARD});
    char error[256];
    job.plan = rill_plan_new(job.graph, "wc", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!job.plan)
        fail_msg("plan: %s", error);
    return job;
}

static void s_job_free(s_job_t *job)
{
    rill_plan_destroy(&job->plan);
    rill_graph_destroy(&job->graph);
}

//  What subtask `index` of operator op snapshots at checkpoint: the source its position
//  (OPERATOR state); the map index * 3 keyed entries (so subtask 0 has none), subtask 2's
//  values 40 KB each; the sink nothing. Different at every checkpoint.
static rill_buffer_t *s_state(int op, int index, int64_t checkpoint)
{
    rill_buffer_t *state = rill_buffer_new();
    assert_non_null(state);
    if (op == 0) {
        uint64_t position = (uint64_t)checkpoint * 1000 + (uint64_t)index;
        assert_int_equal(rill_snapshot_put(state, RILL_STATE_OPERATOR, 1, 0, &position,
                                           sizeof position, NULL, 0),
                         0);
    } else if (op == 1) {
        //  Not static: subtask threads build their states at once.
        enum { LARGE = 40000 };
        char *value = malloc(LARGE);
        assert_non_null(value);
        for (int k = 0; k < index * 3; k++) {
            char key[32];
            int size = snprintf(key, sizeof key, "key-%d-%d", index, k);
            memset(value, 'a' + (int)((checkpoint + k) % 26), LARGE);
            size_t value_size = index == 2 ? LARGE : 8;
            assert_int_equal(rill_snapshot_put(state, RILL_STATE_KEYED, 1,
                                               (uint32_t)(k * 37 + index) % RILL_MAX_PARALLELISM,
                                               key, (size_t)size, value, value_size),
                             0);
        }
        free(value);
    }
    return state;
}

//  Writes every subtask's s_state for checkpoint into store and completes it; the complete
//  call's result (error in error).
static int s_checkpoint(rill_checkpoint_store_t *store, const rill_plan_t *plan, int64_t checkpoint,
                        char *error, size_t error_size)
{
    rill_checkpoint_meta_t *meta = rill_checkpoint_meta_new(plan, checkpoint, 1000 * checkpoint);
    assert_non_null(meta);
    for (int op = 0; op < rill_plan_operator_count(plan); op++)
        for (int s = 0; s < rill_plan_operator(plan, op)->parallelism; s++) {
            rill_buffer_t *state = s_state(op, s, checkpoint);
            rill_state_file_t info;
            int rc = rill_checkpoint_store_write_state(
                store, checkpoint, op, s, rill_buffer_data(state), rill_buffer_size(state), &info,
                error, error_size);
            if (rc)
                fail_msg("write_state: %s", error);
            assert_int_equal(info.size, rill_buffer_size(state));
            rill_checkpoint_meta_set_state(meta, op, s, &info);
            rill_buffer_destroy(&state);
        }
    assert_int_equal(rill_checkpoint_meta_missing(meta), 0);
    int rc = rill_checkpoint_store_complete(store, meta, error, error_size);
    rill_checkpoint_meta_destroy(&meta);
    return rc;
}

//  Asserts cp holds exactly what s_checkpoint wrote for plan at checkpoint.
static void s_expect_state(const rill_checkpoint_t *cp, const rill_plan_t *plan, int64_t checkpoint)
{
    assert_int_equal(rill_checkpoint_id(cp), checkpoint);
    assert_int_equal(rill_checkpoint_operator_count(cp), rill_plan_operator_count(plan));
    for (int op = 0; op < rill_plan_operator_count(plan); op++) {
        const rill_checkpoint_operator_t *old = rill_checkpoint_operator(cp, op);
        assert_int_equal(old->parallelism, rill_plan_operator(plan, op)->parallelism);
        const rill_state_part_t *parts = rill_checkpoint_state(cp, op);
        assert_non_null(parts);
        for (int s = 0; s < old->parallelism; s++) {
            rill_buffer_t *state = s_state(op, s, checkpoint);
            assert_int_equal(parts[s].size, rill_buffer_size(state));
            if (parts[s].size)
                assert_memory_equal(parts[s].data, rill_buffer_data(state), parts[s].size);
            rill_buffer_destroy(&state);
        }
    }
}

static char *s_path(const char *dir, const char *relative)
{
    char *path = malloc(strlen(dir) + strlen(relative) + 2);
    sprintf(path, "%s/%s", dir, relative);
    return path;
}

//  The checkpoint folders in dir, as "1 2 5".
static void s_folders(const char *dir, char *out, size_t size)
{
    int64_t *ids;
    int count = rill_checkpoint_list(dir, &ids, NULL, 0);
    assert_true(count >= 0);
    out[0] = '\0';
    for (int i = 0; i < count; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%lld", i ? " " : "", (long long)ids[i]);
    free(ids);
}

static void s_flip_byte(const char *path, long offset)
{
    FILE *file = fopen(path, "r+b");
    assert_non_null(file);
    assert_int_equal(fseek(file, offset, SEEK_SET), 0);
    int byte = fgetc(file);
    assert_true(byte != EOF);
    assert_int_equal(fseek(file, offset, SEEK_SET), 0);
    fputc(byte ^ 0x20, file);
    fclose(file);
}

static void s_write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void s_expect_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' lacks '%s'", text, needle);
}

//  ---- cases

//  The usage example: subtasks write their state files, the coordinator completes the
//  checkpoint, and a restore reads back every subtask's bytes, empty ones included.
static void a_checkpoint_round_trips(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 3, "mapper");
    char error[512] = "", notes[512] = "x";
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 3, error, sizeof error);
    assert_non_null(store);
    assert_int_equal(rill_checkpoint_store_kind(store), RILL_CHECKPOINT_KIND_CHECKPOINT);
    assert_int_equal(s_checkpoint(store, job.plan, 1, error, sizeof error), 0);

    rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes);
    if (!cp)
        fail_msg("load: %s", error);
    assert_string_equal(notes, "");
    s_expect_state(cp, job.plan, 1);
    assert_int_equal(rill_checkpoint_kind(cp), RILL_CHECKPOINT_KIND_CHECKPOINT);
    assert_string_equal(rill_checkpoint_job_name(cp), "wc");
    char *folder = s_path(dir, "chk-1");
    assert_string_equal(rill_checkpoint_path(cp), folder);
    const rill_checkpoint_operator_t *src = rill_checkpoint_operator(cp, 0);
    assert_string_equal(src->name, "src");
    assert_int_equal(src->kind, RILL_OP_SOURCE_GENERATOR);
    assert_string_equal(src->kind_name, "source");
    assert_string_equal(src->op_kind, "source_generator");
    assert_string_equal(rill_checkpoint_operator(cp, 1)->name, "mapper");
    assert_string_equal(rill_checkpoint_operator(cp, 2)->op_kind, "sink_discard");
    assert_string_equal(rill_checkpoint_operator(cp, 1)->files[2].name, "op1-2.state");
    assert_null(rill_checkpoint_operator(cp, 3));
    assert_null(rill_checkpoint_state(cp, 3));
    assert_int_equal(rill_checkpoint_meta_trigger_time(rill_checkpoint_meta(cp)), 1000);
    assert_true(rill_checkpoint_meta_completion_time(rill_checkpoint_meta(cp)) > 1000);
    assert_int_equal(rill_checkpoint_check_plan(cp, job.plan, error, sizeof error), 0);
    rill_checkpoint_destroy(&cp);
    rill_checkpoint_destroy(&cp); //  a second destroy is harmless

    //  The folder holds the state files and _metadata, no temporary file left behind.
    DIR *listing = opendir(folder);
    assert_non_null(listing);
    int files = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)))
        if (entry->d_name[0] != '.' || strlen(entry->d_name) > 2) {
            assert_true(entry->d_name[0] != '.');
            files++;
        }
    closedir(listing);
    assert_int_equal(files, 2 + 3 + 3 + 1);

    //  The metadata, as documented.
    char *metadata = s_path(folder, "_metadata");
    json_error_t parse_error;
    json_t *root = json_load_file(metadata, JSON_REJECT_DUPLICATES, &parse_error);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "format")), 1);
    assert_string_equal(json_string_value(json_object_get(root, "kind")), "checkpoint");
    assert_int_equal(json_integer_value(json_object_get(root, "checkpoint")), 1);
    assert_string_equal(json_string_value(json_object_get(root, "job")), "wc");
    assert_int_equal(json_integer_value(json_object_get(root, "max_parallelism")),
                     RILL_MAX_PARALLELISM);
    json_t *map = json_array_get(json_object_get(root, "operators"), 1);
    assert_string_equal(json_string_value(json_object_get(map, "name")), "mapper");
    assert_string_equal(json_string_value(json_object_get(map, "kind")), "map");
    assert_int_equal(json_integer_value(json_object_get(map, "parallelism")), 3);
    json_t *file = json_array_get(json_object_get(map, "state"), 0);
    assert_string_equal(json_string_value(json_object_get(file, "file")), "op1-0.state");
    assert_int_equal(json_integer_value(json_object_get(file, "size")), 0);
    assert_int_equal(strlen(json_string_value(json_object_get(file, "checksum"))), 16);
    json_decref(root);

    //  The folder itself loads the same checkpoint.
    cp = rill_checkpoint_load(folder, error, sizeof error, NULL, 0);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 1);
    rill_checkpoint_destroy(&cp);

    free(metadata);
    free(folder);
    rill_checkpoint_store_destroy(&store);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  State files without _metadata are a checkpoint that never completed: passed over.
static void a_folder_without_metadata_is_not_a_completed_checkpoint(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 2, "mapper");
    char error[512], notes[512];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 3, error, sizeof error);
    assert_int_equal(s_checkpoint(store, job.plan, 1, error, sizeof error), 0);
    //  Checkpoint 2: every subtask wrote its file, the coordinator never completed it.
    for (int op = 0; op < 3; op++)
        for (int s = 0; s < 2; s++) {
            rill_state_file_t info;
            assert_int_equal(rill_checkpoint_store_write_state(store, 2, op, s, "xy", 2, &info,
                                                               error, sizeof error),
                             0);
        }
    rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes);
    assert_non_null(cp);
    assert_int_equal(rill_checkpoint_id(cp), 1);
    s_expect_contains(notes, "checkpoint 2");
    s_expect_contains(notes, "not completed");
    rill_checkpoint_destroy(&cp);
    //  Named directly, the incomplete folder is no checkpoint at all.
    char *folder = s_path(dir, "chk-2");
    assert_null(rill_checkpoint_load(folder, error, sizeof error, NULL, 0));
    s_expect_contains(error, "no checkpoint");
    free(folder);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  A damaged newest checkpoint (a flipped byte, a truncated file, a missing file, unreadable
//  or foreign metadata) is passed over for the one before, each with a note saying why.
static void a_damaged_newest_checkpoint_falls_back_with_a_note(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 3, "mapper");
    char error[1024], notes[2048];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 10, error, sizeof error);
    for (int64_t id = 1; id <= 6; id++)
        assert_int_equal(s_checkpoint(store, job.plan, id, error, sizeof error), 0);

    char *flipped = s_path(dir, "chk-6/op1-2.state");
    s_flip_byte(flipped, 1000);
    rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 5);
    s_expect_contains(notes, "checkpoint 6");
    s_expect_contains(notes, "op1-2.state");
    s_expect_contains(notes, "checksum");
    rill_checkpoint_destroy(&cp);

    char *truncated = s_path(dir, "chk-5/op0-1.state");
    assert_int_equal(truncate(truncated, 3), 0);
    char *missing = s_path(dir, "chk-4/op2-0.state");
    assert_int_equal(unlink(missing), 0);
    char *garbled = s_path(dir, "chk-3/_metadata");
    s_write_text(garbled, "{\"format\": 1, \"kind\": ");
    cp = rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 2);
    s_expect_contains(notes, "checkpoint 6");
    s_expect_contains(notes, "checkpoint 5");
    s_expect_contains(notes, "op0-1.state of operator 'src' subtask 1: 3 bytes");
    s_expect_contains(notes, "checkpoint 4");
    s_expect_contains(notes, "op2-0.state");
    s_expect_contains(notes, "checkpoint 3");
    s_expect_contains(notes, "checkpoint metadata");
    rill_checkpoint_destroy(&cp);

    //  Metadata of another max parallelism: its key groups cannot be mapped.
    char *foreign = s_path(dir, "chk-2/_metadata");
    char *text = test_read_file(foreign);
    char *at = strstr(text, "\"max_parallelism\": 256");
    assert_non_null(at);
    memcpy(at + strlen("\"max_parallelism\": "), "128", 3);
    s_write_text(foreign, text);
    cp = rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 1);
    s_expect_contains(notes, "max parallelism 128");
    rill_checkpoint_destroy(&cp);

    //  Named directly, a damaged checkpoint is an error: nothing to fall back to.
    char *folder = s_path(dir, "chk-6");
    assert_null(rill_checkpoint_load(folder, error, sizeof error, notes, sizeof notes));
    s_expect_contains(error, "chk-6");
    s_expect_contains(error, "checksum");
    assert_string_equal(notes, "");

    free(text);
    free(folder);
    free(foreign);
    free(garbled);
    free(missing);
    free(truncated);
    free(flipped);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  When every checkpoint is damaged the error says so and lists each one's reason.
static void every_checkpoint_damaged_is_a_clear_error(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(1, 3, "mapper");
    char error[2048], notes[1024];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 5, error, sizeof error);
    assert_int_equal(s_checkpoint(store, job.plan, 1, error, sizeof error), 0);
    assert_int_equal(s_checkpoint(store, job.plan, 2, error, sizeof error), 0);
    char *one = s_path(dir, "chk-1/op1-1.state"), *two = s_path(dir, "chk-2/op1-2.state");
    s_flip_byte(one, 5);
    assert_int_equal(truncate(two, 100), 0);
    assert_null(rill_checkpoint_load(dir, error, sizeof error, notes, sizeof notes));
    s_expect_contains(error, "no usable checkpoint in");
    s_expect_contains(error, dir);
    s_expect_contains(error, "chk-1: state file op1-1.state");
    s_expect_contains(error, "chk-2: state file op1-2.state");
    s_expect_contains(notes, "checkpoint 1");
    free(one);
    free(two);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  A savepoint's folder loads exactly that savepoint, whatever else is around, and a damaged
//  one is an error. A savepoint store prunes nothing.
static void a_savepoint_path_loads_exactly_that_one(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 2, "mapper");
    char error[512], notes[512], location[512];
    char *savepoints = s_path(dir, "savepoints/nested"); //  made with its parents
    rill_checkpoint_store_t *store =
        rill_checkpoint_store_new_savepoint(savepoints, error, sizeof error);
    if (!store)
        fail_msg("savepoint store: %s", error);
    assert_int_equal(rill_checkpoint_store_kind(store), RILL_CHECKPOINT_KIND_SAVEPOINT);
    for (int64_t id = 7; id <= 10; id++)
        assert_int_equal(s_checkpoint(store, job.plan, id, error, sizeof error), 0);
    char folders[64];
    s_folders(savepoints, folders, sizeof folders);
    assert_string_equal(folders, "7 8 9 10");

    assert_int_equal(rill_checkpoint_store_location(store, 8, location, sizeof location), 0);
    char *expected = s_path(savepoints, "chk-8");
    assert_string_equal(location, expected);
    rill_checkpoint_t *cp =
        rill_checkpoint_load(location, error, sizeof error, notes, sizeof notes);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 8);
    assert_int_equal(rill_checkpoint_kind(cp), RILL_CHECKPOINT_KIND_SAVEPOINT);
    assert_string_equal(notes, "");
    rill_checkpoint_destroy(&cp);

    //  A savepoint moved elsewhere under another name still loads (its name gives no id).
    char *moved = s_path(dir, "my-savepoint");
    assert_int_equal(rename(location, moved), 0);
    cp = rill_checkpoint_load(moved, error, sizeof error, NULL, 0);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 8);
    rill_checkpoint_destroy(&cp);

    //  Damaged: an error naming it, never another savepoint instead.
    char *file = s_path(moved, "op0-0.state");
    s_flip_byte(file, 2);
    assert_null(rill_checkpoint_load(moved, error, sizeof error, NULL, 0));
    s_expect_contains(error, moved);
    s_expect_contains(error, "op0-0.state");

    free(file);
    free(moved);
    free(expected);
    free(savepoints);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  A checkpoint store keeps the N newest completed checkpoints, never a savepoint in its
//  directory, removes failed checkpoints older than the one completed and leaves a newer one
//  in progress alone.
static void retention_keeps_the_newest_n(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 2, "mapper");
    char error[512], folders[128];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 2, error, sizeof error);
    rill_checkpoint_store_t *savepoints =
        rill_checkpoint_store_new_savepoint(dir, error, sizeof error);
    assert_non_null(savepoints);
    assert_int_equal(s_checkpoint(store, job.plan, 1, error, sizeof error), 0);
    assert_int_equal(s_checkpoint(savepoints, job.plan, 2, error, sizeof error), 0);
    assert_int_equal(s_checkpoint(store, job.plan, 3, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "1 2 3");
    assert_int_equal(s_checkpoint(store, job.plan, 4, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2 3 4");

    //  5 fails (one file written, never completed); 7 is in progress when 6 completes.
    rill_state_file_t info;
    assert_int_equal(
        rill_checkpoint_store_write_state(store, 5, 0, 0, "a", 1, &info, error, sizeof error), 0);
    assert_int_equal(
        rill_checkpoint_store_write_state(store, 7, 0, 0, "b", 1, &info, error, sizeof error), 0);
    assert_int_equal(s_checkpoint(store, job.plan, 6, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2 4 6 7");
    assert_int_equal(s_checkpoint(store, job.plan, 7, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2 6 7");

    //  What is kept still loads: the newest.
    rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, NULL, 0);
    assert_non_null(cp);
    s_expect_state(cp, job.plan, 7);
    rill_checkpoint_destroy(&cp);

    //  kept = 1: only the one just completed remains (and the savepoint).
    rill_checkpoint_store_t *one = rill_checkpoint_store_new(dir, 1, error, sizeof error);
    assert_int_equal(s_checkpoint(one, job.plan, 8, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2 8");
    //  An id below the newest (a job restarted from an old savepoint, numbering anew): the one
    //  just written is never removed, and the newer one counts as kept.
    assert_int_equal(s_checkpoint(one, job.plan, 5, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2 5 8");
    assert_int_equal(rill_checkpoint_store_last_id(one, error, sizeof error), 8);
    rill_checkpoint_store_destroy(&one);
    rill_checkpoint_store_destroy(&savepoints);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  One thread per subtask, all writing their files into one checkpoint at the same moment
//  (the folder made by whichever comes first), checkpoint after checkpoint.
typedef struct {
    rill_checkpoint_store_t *store;
    pthread_barrier_t *start;
    int64_t checkpoint;
    int op;
    int index;
    rill_state_file_t info;
    int rc;
    char error[256];
} s_writer_t;

static void *s_writer_run(void *arg)
{
    s_writer_t *self = arg;
    rill_buffer_t *state = s_state(self->op, self->index, self->checkpoint);
    pthread_barrier_wait(self->start);
    self->rc = rill_checkpoint_store_write_state(
        self->store, self->checkpoint, self->op, self->index, rill_buffer_data(state),
        rill_buffer_size(state), &self->info, self->error, sizeof self->error);
    rill_buffer_destroy(&state);
    return NULL;
}

static void concurrent_writes_from_many_threads(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(8, 8, "mapper");
    enum { SUBTASKS = 24 };
    char error[512];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 2, error, sizeof error);
    for (int64_t checkpoint = 1; checkpoint <= 4; checkpoint++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, SUBTASKS);
        s_writer_t writers[SUBTASKS];
        pthread_t threads[SUBTASKS];
        for (int i = 0; i < SUBTASKS; i++) {
            writers[i] = (s_writer_t){.store = store,
                                      .start = &start,
                                      .checkpoint = checkpoint,
                                      .op = i / 8,
                                      .index = i % 8,
                                      .rc = -1};
            assert_int_equal(pthread_create(&threads[i], NULL, s_writer_run, &writers[i]), 0);
        }
        rill_checkpoint_meta_t *meta = rill_checkpoint_meta_new(job.plan, checkpoint, 0);
        assert_int_equal(rill_checkpoint_meta_missing(meta), SUBTASKS);
        for (int i = 0; i < SUBTASKS; i++) {
            pthread_join(threads[i], NULL);
            if (writers[i].rc)
                fail_msg("subtask %d: %s", i, writers[i].error);
            rill_checkpoint_meta_set_state(meta, writers[i].op, writers[i].index, &writers[i].info);
        }
        pthread_barrier_destroy(&start);
        assert_int_equal(rill_checkpoint_store_complete(store, meta, error, sizeof error), 0);
        rill_checkpoint_meta_destroy(&meta);
        rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, NULL, 0);
        assert_non_null(cp);
        s_expect_state(cp, job.plan, checkpoint);
        rill_checkpoint_destroy(&cp);
    }
    char folders[64];
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "3 4");
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  A plan restores from a checkpoint only with the same operators; keyed state follows a new
//  parallelism, operator state does not.
static void a_plan_is_checked_against_the_checkpoint(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(2, 3, "mapper");
    char error[512];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 1, error, sizeof error);
    assert_int_equal(s_checkpoint(store, job.plan, 1, error, sizeof error), 0);
    rill_checkpoint_t *cp = rill_checkpoint_load(dir, error, sizeof error, NULL, 0);
    assert_non_null(cp);

    //  Same operators, the keyed map at another parallelism: fine, its state is redistributed.
    s_job_t wider = s_job(2, 5, "mapper");
    assert_int_equal(rill_checkpoint_check_plan(cp, wider.plan, error, sizeof error), 0);
    s_job_t narrower = s_job(2, 1, "mapper");
    assert_int_equal(rill_checkpoint_check_plan(cp, narrower.plan, error, sizeof error), 0);

    //  Another operator name: not the same job.
    s_job_t renamed = s_job(2, 3, "parser");
    assert_int_equal(rill_checkpoint_check_plan(cp, renamed.plan, error, sizeof error), -1);
    s_expect_contains(error, "'mapper'");
    s_expect_contains(error, "'parser'");

    //  The source holds operator state: it cannot go to 3 subtasks.
    s_job_t more_sources = s_job(3, 3, "mapper");
    assert_int_equal(rill_checkpoint_check_plan(cp, more_sources.plan, error, sizeof error), -1);
    s_expect_contains(error, "operator 'src'");
    s_expect_contains(error, "parallelism 2");
    s_expect_contains(error, "parallelism 3");

    //  Another operator count, or another kind at the same place.
    rill_graph_t *short_graph = rill_graph_new();
    int src = rill_graph_add_operator(short_graph,
                                      &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                              .name = "src",
                                                              .parallelism = 2,
                                                              .fn.generate = test_generate_sequence,
                                                              .count = 10});
    int out = rill_graph_add_operator(
        short_graph,
        &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = 3});
    rill_graph_add_edge(short_graph, &(rill_edge_spec_t){.from = src, .to = out});
    rill_plan_t *short_plan =
        rill_plan_new(short_graph, "wc", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!short_plan)
        fail_msg("plan: %s", error);
    assert_int_equal(rill_checkpoint_check_plan(cp, short_plan, error, sizeof error), -1);
    s_expect_contains(error, "3 operators, the job has 2");

    rill_graph_t *graph = rill_graph_new();
    src = rill_graph_add_operator(graph,
                                  &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                          .name = "src",
                                                          .parallelism = 2,
                                                          .fn.generate = test_generate_sequence,
                                                          .count = 10});
    int filter = rill_graph_add_operator(graph, &(rill_operator_spec_t){.kind = RILL_OP_FILTER,
                                                                        .name = "mapper",
                                                                        .parallelism = 3,
                                                                        .fn.filter = s_keep});
    out = rill_graph_add_operator(
        graph,
        &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = 3});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = src, .to = filter});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = filter, .to = out});
    rill_plan_t *filter_plan =
        rill_plan_new(graph, "wc", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!filter_plan)
        fail_msg("plan: %s", error);
    assert_int_equal(rill_checkpoint_check_plan(cp, filter_plan, error, sizeof error), -1);
    s_expect_contains(error, "'mapper' (map)");
    s_expect_contains(error, "'mapper' (filter)");

    rill_plan_destroy(&filter_plan);
    rill_graph_destroy(&graph);
    rill_plan_destroy(&short_plan);
    rill_graph_destroy(&short_graph);
    s_job_free(&more_sources);
    s_job_free(&renamed);
    s_job_free(&narrower);
    s_job_free(&wider);
    rill_checkpoint_destroy(&cp);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  A directory that cannot hold checkpoints, or a path that holds none, is a clear error.
static void a_bad_directory_is_an_error(void **state)
{
    char *dir = s_temp_dir();
    char error[512];
    char *file = s_path(dir, "a-file");
    s_write_text(file, "not a directory\n");
    assert_null(rill_checkpoint_store_new(file, 1, error, sizeof error));
    s_expect_contains(error, "not a directory");
    s_expect_contains(error, file);
    char *below = s_path(file, "checkpoints");
    assert_null(rill_checkpoint_store_new_savepoint(below, error, sizeof error));
    s_expect_contains(error, "cannot create directory");
    assert_null(rill_checkpoint_store_new(dir, 0, error, sizeof error));
    s_expect_contains(error, "at least 1");

    char *missing = s_path(dir, "missing");
    assert_null(rill_checkpoint_load(missing, error, sizeof error, NULL, 0));
    s_expect_contains(error, "cannot open checkpoint");
    s_expect_contains(error, "No such file");
    assert_null(rill_checkpoint_load(file, error, sizeof error, NULL, 0));
    s_expect_contains(error, "not a directory");
    assert_null(rill_checkpoint_load(dir, error, sizeof error, NULL, 0));
    s_expect_contains(error, "holds no checkpoint");

    free(missing);
    free(below);
    free(file);
    s_remove_dir(&dir);
}

//  Completing needs every subtask's file in place; discarding removes a failed checkpoint and
//  refuses a completed one.
static void complete_checks_the_files_and_discard_removes_a_failed_checkpoint(void **state)
{
    char *dir = s_temp_dir();
    s_job_t job = s_job(1, 2, "mapper");
    char error[512], folders[64];
    rill_checkpoint_store_t *store = rill_checkpoint_store_new(dir, 3, error, sizeof error);
    rill_checkpoint_meta_t *meta = rill_checkpoint_meta_new(job.plan, 1, 0);
    rill_state_file_t info;
    assert_int_equal(
        rill_checkpoint_store_write_state(store, 1, 0, 0, "abc", 3, &info, error, sizeof error), 0);
    assert_string_equal(info.name, "op0-0.state");
    rill_checkpoint_meta_set_state(meta, 0, 0, &info);
    assert_int_equal(rill_checkpoint_meta_missing(meta), 4);
    assert_int_equal(rill_checkpoint_store_complete(store, meta, error, sizeof error), -1);
    s_expect_contains(error, "operator 'mapper' subtask 0 reported no state");
    //  A file reported but gone (say, removed by hand) is no complete checkpoint either.
    for (int op = 1; op < 3; op++)
        for (int s = 0; s < 2; s++) {
            assert_int_equal(rill_checkpoint_store_write_state(store, 1, op, s, NULL, 0, &info,
                                                               error, sizeof error),
                             0);
            rill_checkpoint_meta_set_state(meta, op, s, &info);
        }
    char *gone = s_path(dir, "chk-1/op2-1.state");
    assert_int_equal(unlink(gone), 0);
    assert_int_equal(rill_checkpoint_store_complete(store, meta, error, sizeof error), -1);
    s_expect_contains(error, "op2-1.state");
    char *metadata = s_path(dir, "chk-1/_metadata");
    assert_int_equal(access(metadata, F_OK), -1);

    assert_int_equal(rill_checkpoint_store_discard(store, 1, error, sizeof error), 0);
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "");
    assert_int_equal(rill_checkpoint_store_last_id(store, error, sizeof error), -1);
    assert_int_equal(rill_checkpoint_store_discard(store, 9, error, sizeof error), 0);
    assert_int_equal(s_checkpoint(store, job.plan, 2, error, sizeof error), 0);
    assert_int_equal(rill_checkpoint_store_discard(store, 2, error, sizeof error), -1);
    s_expect_contains(error, "complete");
    s_folders(dir, folders, sizeof folders);
    assert_string_equal(folders, "2");

    free(metadata);
    free(gone);
    rill_checkpoint_meta_destroy(&meta);
    rill_checkpoint_store_destroy(&store);
    s_job_free(&job);
    s_remove_dir(&dir);
}

//  The precise kind names are the plan JSON's: each one read back by the plan reader gives the
//  same kind, for every kind there is.
static void operator_kinds_are_named_as_the_plan_names_them(void **state)
{
    int kinds = 0;
    for (int kind = 0; strcmp(rill_op_kind_name((rill_op_kind_t)kind), "unknown") != 0; kind++) {
        const char *name = rill_checkpoint_op_kind_name((rill_op_kind_t)kind);
        if (!name)
            fail_msg("kind %d (%s) has no name", kind, rill_op_kind_name((rill_op_kind_t)kind));
        assert_int_equal(rill_checkpoint_op_kind_from_name(name), kind);
        char text[1024], error[256];
        snprintf(text, sizeof text,
                 "{\"rill_plan\": 1, \"job\": \"t\", \"mode\": \"batch\", \"operators\": "
                 "[{\"id\": 0, \"name\": \"a\", \"kind\": \"%s\", \"op_kind\": \"%s\", "
                 "\"parallelism\": 1, \"bounded\": true, \"first_subtask\": 0, \"inputs\": 0, "
                 "\"outputs\": 0, \"chain\": 0}], \"edges\": [], \"subtasks\": [{\"id\": 0, "
                 "\"operator\": 0, \"index\": 0, \"task\": 0}], \"channels\": []}",
                 rill_op_kind_name((rill_op_kind_t)kind), name);
        rill_plan_t *plan = rill_plan_from_json(text, error, sizeof error);
        if (!plan)
            fail_msg("plan reader: %s", error);
        assert_int_equal(rill_plan_operator(plan, 0)->kind, kind);
        rill_plan_destroy(&plan);
        kinds++;
    }
    assert_true(kinds >= 13);
    assert_null(rill_checkpoint_op_kind_name((rill_op_kind_t)kinds));
    assert_int_equal(rill_checkpoint_op_kind_from_name("source"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_checkpoint_round_trips),
        cmocka_unit_test(a_folder_without_metadata_is_not_a_completed_checkpoint),
        cmocka_unit_test(a_damaged_newest_checkpoint_falls_back_with_a_note),
        cmocka_unit_test(every_checkpoint_damaged_is_a_clear_error),
        cmocka_unit_test(a_savepoint_path_loads_exactly_that_one),
        cmocka_unit_test(retention_keeps_the_newest_n),
        cmocka_unit_test(concurrent_writes_from_many_threads),
        cmocka_unit_test(a_plan_is_checked_against_the_checkpoint),
        cmocka_unit_test(a_bad_directory_is_an_error),
        cmocka_unit_test(complete_checks_the_files_and_discard_removes_a_failed_checkpoint),
        cmocka_unit_test(operator_kinds_are_named_as_the_plan_names_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
