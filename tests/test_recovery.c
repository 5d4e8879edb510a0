/*  test_recovery.c: exactly-once recovery (issue 13), as Flink promises it for a job with
    checkpoints and a transactional sink: "exactly-once state consistency" (each record
    affects state once after any failure and recovery) and end-to-end exactly-once output
    (the two-phase-commit file sink publishes only what completed checkpoints cover).
    For each job - WordCount in streaming mode, `windowed`, `seed-example` (bounded) and a
    keyed process function with event-time timers - many runs fail at a random record in a
    random operator subtask (RILL_FAIL), restart from the latest completed checkpoint, and
    must finish with committed output equal to the fault-free run's (sorted: order across
    keys is free, and across a restart a key's updates may interleave differently with other
    keys'). Then the same after `kill -9` of the whole process and `--restore`, the same
    restored at other parallelisms (2 -> 3 -> 1), and a corrupt newest checkpoint that
    falls back to the one before. The random seed is printed, so a failing run can be
    replayed with RILL_RECOVERY_SEED. */
#define _GNU_SOURCE
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  Runs per job: the issue asks for at least 50 in a label of its own ("recovery").
#define S_RUNS 50

static unsigned s_seed;

//  ---- files

static void s_remove_tree(const char *path)
{
    test_remove_tree(path);
}

static char *s_temp_dir(void)
{
    char *dir = strdup("/tmp/rill-recovery-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static char *s_path(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static void s_write(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

//  Counts lines, for messages.
static size_t s_lines(const char *text)
{
    size_t count = 0;
    for (; *text; text++)
        count += *text == '\n';
    return count;
}

//  ---- the jobs, run by the tool

typedef struct {
    const char *name;
    const char *args[16]; //  the job's own arguments (after --), NULL-terminated
} s_job_t;

//  Runs job at parallelism p in streaming mode with checkpoints every 10 ms into checkpoints,
//  up to 3 restarts; fail is RILL_FAIL (NULL: none); restore is --restore (NULL: none).
//  metrics (may be NULL) gets --metrics-json. Returns the exit status; *err the stderr.
//  The tool's arguments for job at parallelism p, streaming, checkpoints every 10 ms into
//  checkpoints; options (NULL-terminated pairs or flags) go before the job's own arguments.
//  args holds at least 48 entries; parallelism at least 16 bytes.
static void s_args(const char **args, char *parallelism, const s_job_t *job, int p,
                   const char *checkpoints, const char *const *options)
{
    snprintf(parallelism, 16, "%d", p);
    const char *fixed[] = {"run", job->name, "-p", parallelism, "--mode", "streaming",
                           "--checkpoint-interval", "10", "--checkpoint-dir", checkpoints};
    int n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        args[n++] = fixed[i];
    for (int i = 0; options[i]; i++)
        args[n++] = options[i];
    args[n++] = "--";
    for (int i = 0; job->args[i]; i++)
        args[n++] = job->args[i];
    args[n] = NULL;
}

static int s_run(const s_job_t *job, int p, const char *checkpoints, const char *fail,
                 const char *restore, const char *metrics, char **err)
{
    char parallelism[16];
    const char *options[12] = {"--restart-attempts", "3", "--restart-delay", "0"};
    int n = 4;
    if (restore) {
        options[n++] = "--restore";
        options[n++] = restore;
    }
    if (metrics) {
        options[n++] = "--metrics-json";
        options[n++] = metrics;
    }
    options[n] = NULL;
    const char *args[48];
    s_args(args, parallelism, job, p, checkpoints, options);
    if (fail)
        setenv("RILL_FAIL", fail, 1);
    else
        unsetenv("RILL_FAIL");
    int rc = test_run_toolv(NULL, err, args);
    unsetenv("RILL_FAIL");
    return rc;
}

//  An operator subtask that receives records, and how many it received in a fault-free run.
typedef struct {
    char name[128];
    int index; //  from 1
    long records;
} s_target_t;

//  Every non-source operator subtask of a fault-free run's metrics that received records.
static int s_targets(const char *metrics_path, s_target_t *targets, int capacity)
{
    char *text = test_read_file(metrics_path);
    json_error_t error;
    json_t *root = json_loads(text, 0, &error);
    assert_non_null(root);
    json_t *operators = json_object_get(json_object_get(root, "plan"), "operators");
    json_t *subtasks = json_object_get(root, "subtasks");
    int count = 0;
    size_t i;
    json_t *subtask;
    json_array_foreach(subtasks, i, subtask)
    {
        json_t *op = json_array_get(operators,
                                    (size_t)json_integer_value(json_object_get(subtask, "operator")));
        const char *kind = json_string_value(json_object_get(op, "kind"));
        long records = (long)json_integer_value(json_object_get(subtask, "records_in"));
        if (strcmp(kind, "source") == 0 || records < 1 || count == capacity)
            continue;
        snprintf(targets[count].name, sizeof targets[count].name, "%s",
                 json_string_value(json_object_get(op, "name")));
        targets[count].index = (int)json_integer_value(json_object_get(subtask, "index")) + 1;
        targets[count].records = records;
        count++;
    }
    json_decref(root);
    free(text);
    return count;
}

//  The committed output: FILE, or FILE.0 .. FILE.(p-1) for a parallel sink, sorted together.
static char *s_output(const char *output)
{
    char *all = test_sorted_lines(output);
    for (int i = 0; i < 8; i++) {
        char part[4096];
        snprintf(part, sizeof part, "%s.%d", output, i);
        char *more = test_sorted_lines(part);
        if (*more) {
            char *joined = NULL;
            assert_true(asprintf(&joined, "%s%s", all, more) >= 0);
            free(all);
            all = joined;
        }
        free(more);
    }
    //  Sorted once more, as one.
    char *path = NULL;
    assert_true(asprintf(&path, "%s.all", output) > 0);
    s_write(path, all);
    free(all);
    all = test_sorted_lines(path);
    unlink(path);
    free(path);
    return all;
}

static void s_remove_outputs(const char *output)
{
    unlink(output);
    for (int i = 0; i < 8; i++) {
        char part[4096];
        snprintf(part, sizeof part, "%s.%d", output, i);
        unlink(part);
    }
}

//  The fault-free run of job: its sorted output and its operator subtasks.
static char *s_fault_free(const s_job_t *job, int p, const char *dir, const char *output,
                          s_target_t *targets, int *target_count)
{
    char *checkpoints = s_path(dir, "clean-checkpoints");
    char *metrics = s_path(dir, "clean-metrics.json");
    char *err = NULL;
    s_remove_outputs(output);
    int rc = s_run(job, p, checkpoints, NULL, NULL, metrics, &err);
    if (rc != 0)
        fprintf(stderr, "fault-free run of %s failed: %s\n", job->name, err);
    assert_int_equal(rc, 0);
    free(err);
    *target_count = s_targets(metrics, targets, 64);
    assert_true(*target_count > 0);
    char *expected = s_output(output);
    assert_true(s_lines(expected) > 0);
    s_remove_tree(checkpoints);
    unlink(metrics);
    free(checkpoints);
    free(metrics);
    return expected;
}

//  S_RUNS runs of job, each failing once at a random record of a random operator subtask;
//  every one must end with the fault-free output.
static void s_fail_randomly(const s_job_t *job, int p, const char *dir, const char *output)
{
    s_target_t targets[64];
    int target_count;
    char *expected = s_fault_free(job, p, dir, output, targets, &target_count);
    int restarted = 0;
    for (int run = 0; run < S_RUNS; run++) {
        const s_target_t *target = &targets[rand_r(&s_seed) % (unsigned)target_count];
        long record = 1 + (long)(rand_r(&s_seed) % (unsigned)target->records);
        char fail[256];
        snprintf(fail, sizeof fail, "%s:%d:%ld", target->name, target->index, record);
        char *checkpoints = s_path(dir, "checkpoints");
        s_remove_tree(checkpoints);
        s_remove_outputs(output);
        char *err = NULL;
        int rc = s_run(job, p, checkpoints, fail, NULL, NULL, &err);
        char *got = s_output(output);
        if (rc != 0 || strcmp(got, expected) != 0)
            fprintf(stderr,
                    "%s run %d (RILL_FAIL=%s, seed %u): exit %d, %zu lines where the fault-free "
                    "run has %zu\n%s\n",
                    job->name, run, fail, s_seed, rc, s_lines(got), s_lines(expected), err);
        if (strcmp(got, expected) != 0)
            test_print_difference(got, expected);
        assert_int_equal(rc, 0);
        assert_string_equal(got, expected);
        //  The failure happened and the job recovered from it (the injected record is one
        //  the subtask received in the fault-free run).
        assert_non_null(strstr(err, "1 restart"));
        restarted++;
        free(got);
        free(err);
        s_remove_tree(checkpoints);
        free(checkpoints);
    }
    assert_int_equal(restarted, S_RUNS);
    free(expected);
}

//  ---- inputs

//  Text for WordCount: lines of words drawn from a small vocabulary, deterministic.
static char *s_make_text(const char *dir)
{
    char *path = s_path(dir, "words.txt");
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    static const char *words[] = {"alpha", "beta",  "gamma", "delta", "epsilon", "zeta",
                                  "eta",   "theta", "iota",  "kappa", "lambda",  "mu"};
    unsigned state = 12345;
    for (int line = 0; line < 6000; line++) {
        for (int w = 0; w < 10; w++) {
            state = state * 1103515245u + 12345u;
            fprintf(file, "%s%u ", words[(state >> 16) % 12], (state >> 8) % 40);
        }
        fputc('\n', file);
    }
    assert_int_equal(fclose(file), 0);
    return path;
}

//  CSV for windowed: time (epoch ms, rising), key, value; `rows` rows.
static char *s_make_csv_rows(const char *dir, int rows)
{
    char *path = s_path(dir, "events.csv");
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file, "time,key,value\n");
    for (int i = 0; i < rows; i++)
        fprintf(file, "%d,k%d,%d\n", 1000000 + i * 7, i % 37, i % 101);
    assert_int_equal(fclose(file), 0);
    return path;
}

static char *s_make_csv(const char *dir)
{
    return s_make_csv_rows(dir, 40000);
}

//  ---- the tests

static void wordcount_recovers_exactly_once(void **state)
{
    char *dir = s_temp_dir(), *input = s_make_text(dir), *output = s_path(dir, "counts.txt");
    s_job_t job = {"wordcount", {"--input", input, "--output", output, NULL}};
    s_fail_randomly(&job, 2, dir, output);
    s_remove_tree(dir);
    free(input);
    free(output);
    free(dir);
}

static void windowed_recovers_exactly_once(void **state)
{
    char *dir = s_temp_dir(), *input = s_make_csv(dir), *output = s_path(dir, "windows.csv");
    s_job_t job = {"windowed",
                   {"--input", input, "--time-column", "time", "--key-column", "key",
                    "--value-column", "value", "--window", "tumbling:1s", "--agg", "sum",
                    "--output", output, NULL}};
    s_fail_randomly(&job, 2, dir, output);
    s_remove_tree(dir);
    free(input);
    free(output);
    free(dir);
}

static void seed_example_recovers_exactly_once(void **state)
{
    char *dir = s_temp_dir(), *output = s_path(dir, "maxima.txt");
    s_job_t job = {"seed-example", {"--count", "200000", "--output", output, NULL}};
    s_fail_randomly(&job, 2, dir, output);
    s_remove_tree(dir);
    free(output);
    free(dir);
}


//  ---- a keyed process function with event-time timers, through the API

//  Record i: key "k<i % 23>", event time i, value i % 97.
static int s_generate_event(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[64];
    int size = snprintf(text, sizeof text, "k%llu\t%llu", (unsigned long long)(index % 23),
                        (unsigned long long)(index % 97));
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

static int s_event_time(const rill_record_t *record, int64_t *timestamp, void *ctx)
{
    *timestamp = record->timestamp;
    return 0;
}

//  Sums values per key and 1000-ms bucket in map state, with an event-time timer at each
//  bucket's end that emits "key<TAB>bucket<TAB>sum<TAB>count" and clears the bucket.
static int s_bucket(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                    void *ctx)
{
    int64_t bucket = in->timestamp / 1000;
    //  The record is not NUL-terminated: read its digits within its size.
    const char *text = in->data, *tab = memchr(text, '\t', in->size);
    long value = 0;
    for (const char *at = tab ? tab + 1 : text + in->size; at < text + in->size; at++)
        value = value * 10 + (*at - '0');
    int64_t sums[2] = {0, 0};
    const void *data;
    size_t size;
    if (rill_state_map_get(process, "sum", &bucket, sizeof bucket, &data, &size) == 0 &&
        size == sizeof sums)
        memcpy(sums, data, sizeof sums);
    sums[0] += value;
    sums[1]++;
    if (rill_state_map_put(process, "sum", &bucket, sizeof bucket, sums, sizeof sums))
        return -1;
    return rill_timer_register(process, RILL_TIME_EVENT, bucket * 1000 + 999);
}

static int s_bucket_done(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                         rill_collector_t *out, void *ctx)
{
    int64_t bucket = time / 1000;
    const void *data;
    size_t size;
    if (rill_state_map_get(process, "sum", &bucket, sizeof bucket, &data, &size) != 0)
        return 0;
    int64_t sums[2];
    memcpy(sums, data, sizeof sums);
    const rill_key_t *key = rill_process_key(process);
    char text[128];
    int length = snprintf(text, sizeof text, "%.*s\t%lld\t%lld\t%lld", (int)key->size,
                          (const char *)key->data, (long long)bucket, (long long)sums[0],
                          (long long)sums[1]);
    if (rill_collector_emit(out, text, (size_t)length, time))
        return -1;
    return rill_state_map_remove(process, "sum", &bucket, sizeof bucket);
}

//  Runs the process job at parallelism 2 with checkpoints into checkpoints; 0 or -1.
static int s_run_process_job(const char *checkpoints, const char *output, int *restarts)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_env_set_job_name(env, "buckets");
    rill_env_enable_checkpointing(env, 10, checkpoints);
    rill_env_set_restart(env, 3, 0, false);
    rill_watermarks_t strategy = {0};
    rill_stream_t *events = rill_stream_name(
        rill_stream_assign_timestamps(
            rill_stream_name(rill_env_from_generator(env, s_generate_event, NULL, 300000),
                             "events"),
            s_event_time, NULL, &strategy),
        "timestamps");
    rill_keyed_stream_t keyed = rill_stream_key_by(events, rill_key_first_field, NULL);
    rill_stream_t *buckets =
        rill_stream_name(rill_stream_process(keyed, s_bucket, s_bucket_done, NULL), "buckets");
    rill_stream_parallelism(rill_stream_name(rill_stream_print(buckets, output), "sink"), 1);
    int rc = rill_env_execute(env);
    if (rc)
        fprintf(stderr, "process job: %s\n", rill_env_error(env));
    *restarts = rc ? -1 : rill_metrics_checkpoints(rill_env_metrics(env)).restarts;
    rill_env_destroy(&env);
    return rc;
}

static void a_process_function_with_timers_recovers_exactly_once(void **state)
{
    char *dir = s_temp_dir(), *output = s_path(dir, "buckets.txt");
    char *checkpoints = s_path(dir, "checkpoints");
    int restarts;
    assert_int_equal(s_run_process_job(checkpoints, output, &restarts), 0);
    assert_int_equal(restarts, 0);
    char *expected = test_sorted_lines(output);
    assert_true(s_lines(expected) > 1000);
    //  Each subtask of the process function gets the records of at least one key: 13,043.
    for (int run = 0; run < S_RUNS; run++) {
        char fail[64];
        snprintf(fail, sizeof fail, "buckets:%u:%u", 1 + rand_r(&s_seed) % 2,
                 1 + rand_r(&s_seed) % 13000);
        setenv("RILL_FAIL", fail, 1);
        s_remove_tree(checkpoints);
        unlink(output);
        int rc = s_run_process_job(checkpoints, output, &restarts);
        unsetenv("RILL_FAIL");
        char *got = test_sorted_lines(output);
        if (rc != 0 || strcmp(got, expected) != 0)
        {
            fprintf(stderr, "process job run %d (RILL_FAIL=%s, seed %u): %zu lines, fault-free %zu\n",
                    run, fail, s_seed, s_lines(got), s_lines(expected));
            test_print_difference(got, expected);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(restarts, 1);
        assert_string_equal(got, expected);
        free(got);
    }
    free(expected);
    s_remove_tree(dir);
    free(checkpoints);
    free(output);
    free(dir);
}

//  ---- kill -9 and --restore

//  Starts the tool like s_run, without waiting: its pid.
//  Where a spawned run's stderr goes (NULL: /dev/null), for messages when a test fails.
static const char *s_spawn_log;

static pid_t s_spawn_savepoint(const s_job_t *job, int p, const char *checkpoints,
                               const char *restore, const char *savepoint)
{
    char parallelism[16], bin[4096];
    snprintf(bin, sizeof bin, "%s/rill", getenv("RILL_BIN"));
    const char *options[12] = {"--checkpoints-kept", "3"};
    int n = 2;
    if (restore) {
        options[n++] = "--restore";
        options[n++] = restore;
    }
    if (savepoint) {
        options[n++] = "--stop-with-savepoint";
        options[n++] = savepoint;
    }
    options[n] = NULL;
    const char *args[49] = {bin};
    s_args(args + 1, parallelism, job, p, checkpoints, options);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        int log_fd = s_spawn_log ? open(s_spawn_log, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
        execv(bin, (char *const *)args);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

static pid_t s_spawn(const s_job_t *job, int p, const char *checkpoints, const char *restore)
{
    return s_spawn_savepoint(job, p, checkpoints, restore, NULL);
}

//  Completed checkpoints in dir above `above` (their _metadata files).
static int s_completed_above(const char *dir, int above)
{
    int count = 0;
    for (int id = above + 1; id < above + 2000; id++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/chk-%d/_metadata", dir, id);
        count += access(path, F_OK) == 0;
    }
    return count;
}

//  Kills pid with SIGKILL once `wanted` checkpoints above id `above` have completed (or it
//  ended by itself). True when it was killed while running.
static bool s_kill_after(pid_t pid, const char *dir, int above, int wanted)
{
    int64_t deadline = test_now_ms() + 60000;
    int status;
    while (test_now_ms() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return false; //  ended before: the input was too small for the machine
        if (s_completed_above(dir, above) >= wanted) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return WIFSIGNALED(status);
        }
        usleep(500);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("no checkpoint completed within 60 s");
    return false;
}

//  The highest completed checkpoint id in dir.
static int s_latest(const char *dir)
{
    int latest = 0;
    for (int id = 1; id < 4000; id++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/chk-%d/_metadata", dir, id);
        if (access(path, F_OK) == 0)
            latest = id;
    }
    return latest;
}

//  WordCount killed with SIGKILL after a checkpoint, restored with --restore at each
//  parallelism of `plan` in turn (killed again while there are more), must end with the
//  fault-free output: the committed file never holds a record twice or loses one.
static void s_kill_and_restore(const char *job_name, const int *plan, int steps, bool corrupt)
{
    char *dir = s_temp_dir(), *input = NULL, *output = s_path(dir, "output.txt");
    //  More input than the random-failure runs: the process must live past a checkpoint.
    char *big = NULL;
    s_job_t job = {.name = job_name};
    if (strcmp(job_name, "wordcount") == 0) {
        input = s_make_text(dir);
        big = s_path(dir, "big.txt");
        char *text = test_read_file(input);
        FILE *file = fopen(big, "w");
        for (int i = 0; i < 40; i++)
            fputs(text, file);
        fclose(file);
        free(text);
        s_job_t words = {"wordcount", {"--input", big, "--output", output, NULL}};
        job = words;
    } else {
        big = s_make_csv_rows(dir, 1000000);
        s_job_t windows = {"windowed",
                           {"--input", big, "--time-column", "time", "--key-column", "key",
                            "--value-column", "value", "--window", "tumbling:1s", "--agg",
                            "sum", "--output", output, NULL}};
        job = windows;
    }
    s_target_t targets[64];
    int target_count;
    char *expected = s_fault_free(&job, plan[0], dir, output, targets, &target_count);
    char *checkpoints = s_path(dir, "checkpoints");
    s_remove_outputs(output);
    int killed = 0;
    for (int step = 0; step < steps; step++) {
        bool last = step == steps - 1;
        const char *restore = step > 0 ? checkpoints : NULL;
        if (last) {
            char *err = NULL;
            int rc = s_run(&job, plan[step], checkpoints, NULL, restore, NULL, &err);
            if (rc != 0)
                fprintf(stderr, "restore at p=%d failed: %s\n", plan[step], err);
            assert_int_equal(rc, 0);
            if (step > 0)
                assert_non_null(strstr(err, "restored from checkpoint"));
            if (corrupt)
                assert_non_null(strstr(err, "skipped"));
            free(err);
            break;
        }
        int above = s_latest(checkpoints);
        pid_t pid = s_spawn(&job, plan[step], checkpoints, restore);
        //  A run that ends by itself has committed everything; restoring its checkpoint
        //  would be another test. The input is large enough that it never should.
        bool was_killed = s_kill_after(pid, checkpoints, above, corrupt ? 2 : 1);
        if (!was_killed)
            fail_msg("step %d (p=%d) ended before it could be killed: the input is too small "
                     "for this machine",
                     step, plan[step]);
        killed++;
        if (corrupt) {
            //  Flip a byte of every state file of the newest checkpoint: the restore must
            //  notice (checksums) and take the one before.
            char folder[4096];
            snprintf(folder, sizeof folder, "%s/chk-%d", checkpoints, s_latest(checkpoints));
            for (int op = 0; op < 8; op++)
                for (int index = 0; index < 8; index++) {
                    char path[4200];
                    snprintf(path, sizeof path, "%s/op%d-%d.state", folder, op, index);
                    int fd = open(path, O_RDWR);
                    if (fd < 0)
                        continue;
                    unsigned char byte;
                    if (pread(fd, &byte, 1, 0) == 1) {
                        byte ^= 0x5a;
                        assert_int_equal(pwrite(fd, &byte, 1, 0), 1);
                    }
                    close(fd);
                }
        }
    }
    char *got = s_output(output);
    if (strcmp(got, expected) != 0) {
        fprintf(stderr, "after kill -9 and restore: %zu lines, the fault-free run %zu\n",
                s_lines(got), s_lines(expected));
        test_print_difference(got, expected);
    }
    assert_string_equal(got, expected);
    assert_int_equal(killed, steps - 1);
    free(got);
    free(expected);
    free(checkpoints);
    s_remove_tree(dir);
    free(big);
    free(input);
    free(output);
    free(dir);
}

static void a_killed_job_resumes_with_restore(void **state)
{
    int plan[] = {2, 2};
    s_kill_and_restore("wordcount", plan, 2, false);
    s_kill_and_restore("windowed", plan, 2, false);
}

//  Key groups move: the count's state is split at 2 -> 3 and merged at 3 -> 1 (Flink's
//  rescaling from a savepoint or retained checkpoint).
static void a_killed_job_resumes_at_other_parallelisms(void **state)
{
    int plan[] = {2, 3, 1};
    s_kill_and_restore("wordcount", plan, 3, false);
    s_kill_and_restore("windowed", plan, 3, false);
}

static void a_corrupt_newest_checkpoint_falls_back_to_the_one_before(void **state)
{
    int plan[] = {2, 2};
    s_kill_and_restore("wordcount", plan, 2, true);
}

//  Stop with a savepoint (Flink's `stop`, without drain): on SIGINT the sources take a
//  savepoint and produce nothing more, the sinks commit up to it, the job stops without
//  firing anything at END; restored from the savepoint at another parallelism, the job ends
//  with the fault-free output.
static void a_job_stopped_with_a_savepoint_resumes_from_it(void **state)
{
    char *dir = s_temp_dir(), *input = s_make_text(dir), *output = s_path(dir, "counts.txt");
    char *big = s_path(dir, "big.txt"), *text = test_read_file(input);
    FILE *file = fopen(big, "w");
    for (int i = 0; i < 40; i++)
        fputs(text, file);
    fclose(file);
    free(text);
    s_job_t job = {"wordcount", {"--input", big, "--output", output, NULL}};
    s_target_t targets[64];
    int target_count;
    char *expected = s_fault_free(&job, 2, dir, output, targets, &target_count);
    char *checkpoints = s_path(dir, "checkpoints"), *savepoint = s_path(dir, "savepoint");
    s_remove_outputs(output);
    char *log = s_path(dir, "stopped.err");
    s_spawn_log = log;
    pid_t pid = s_spawn_savepoint(&job, 2, checkpoints, NULL, savepoint);
    s_spawn_log = NULL;
    //  Once a checkpoint has completed the job is well under way: stop it.
    int64_t deadline = test_now_ms() + 60000;
    while (s_completed_above(checkpoints, 0) < 1 && test_now_ms() < deadline)
        usleep(500);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130); //  cancelled, with the savepoint taken
    //  Something, not everything, was committed: the savepoint stopped the job midway.
    char *partial = s_output(output);
    assert_true(s_lines(partial) > 0 && s_lines(partial) < s_lines(expected));
    free(partial);
    char *err = NULL;
    int rc = s_run(&job, 3, checkpoints, NULL, savepoint, NULL, &err);
    if (rc != 0) {
        char *stopped = test_read_file(log);
        fprintf(stderr, "resuming from the savepoint failed: %s\nthe stopped run said: %s\n", err,
                stopped);
        free(stopped);
    }
    free(log);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "restored from checkpoint"));
    free(err);
    char *got = s_output(output);
    if (strcmp(got, expected) != 0)
        test_print_difference(got, expected);
    assert_string_equal(got, expected);
    free(got);
    free(expected);
    s_remove_tree(dir);
    free(checkpoints);
    free(savepoint);
    free(big);
    free(input);
    free(output);
    free(dir);
}

int main(void)
{
    const char *given = getenv("RILL_RECOVERY_SEED");
    s_seed = given ? (unsigned)strtoul(given, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "test_recovery: seed %u (replay with RILL_RECOVERY_SEED=%u)\n", s_seed,
            s_seed);
    //  RILL_RECOVERY_ONLY=PATTERN runs the matching cases alone (cmocka's test filter).
    if (getenv("RILL_RECOVERY_ONLY"))
        cmocka_set_test_filter(getenv("RILL_RECOVERY_ONLY"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wordcount_recovers_exactly_once),
        cmocka_unit_test(windowed_recovers_exactly_once),
        cmocka_unit_test(seed_example_recovers_exactly_once),
        cmocka_unit_test(a_process_function_with_timers_recovers_exactly_once),
        cmocka_unit_test(a_killed_job_resumes_with_restore),
        cmocka_unit_test(a_killed_job_resumes_at_other_parallelisms),
        cmocka_unit_test(a_corrupt_newest_checkpoint_falls_back_to_the_one_before),
        cmocka_unit_test(a_job_stopped_with_a_savepoint_resumes_from_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
