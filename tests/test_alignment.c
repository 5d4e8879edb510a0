/*  test_alignment.c: watermark alignment (Flink's WatermarkStrategy.withWatermarkAlignment):
    the group's logic, who joins a group, that a member ahead of the others waits for them in
    a running job without deadlock (finished and idle members let it go on), and that the
    unbounded seed example keeps flat memory. */
#include "testutil.h"

#include "rill_watermark_alignment.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  ---- the group's logic

//  The first case doubles as the usage example: members publish, then ask before reading.
static void
a_member_ahead_by_more_than_the_max_drift_pauses_until_the_minimum_advances(void **state)
{
    rill_watermark_alignment_t *group = rill_watermark_alignment_new(2);
    assert_non_null(group);
    rill_watermark_alignment_update(group, 0, 50000);
    rill_watermark_alignment_update(group, 1, 10000);
    assert_int_equal(rill_watermark_alignment_minimum(group), 10000);
    //  Flink: pause while watermark > group minimum + maxAllowedWatermarkDrift.
    assert_true(rill_watermark_alignment_should_pause(group, 0, 20000));
    assert_false(rill_watermark_alignment_should_pause(group, 0, 40000)); //  exactly at the limit
    rill_watermark_alignment_update(group, 1, 29999);
    assert_true(rill_watermark_alignment_should_pause(group, 0, 20000));
    rill_watermark_alignment_update(group, 1, 30000);
    assert_false(rill_watermark_alignment_should_pause(group, 0, 20000));
    rill_watermark_alignment_destroy(&group);
    assert_null(group);
    rill_watermark_alignment_destroy(&group); //  harmless twice
}

static void the_slowest_member_never_pauses_even_with_zero_drift(void **state)
{
    rill_watermark_alignment_t *group = rill_watermark_alignment_new(3);
    rill_watermark_alignment_update(group, 0, 7);
    rill_watermark_alignment_update(group, 1, 7);
    rill_watermark_alignment_update(group, 2, 9);
    assert_false(rill_watermark_alignment_should_pause(group, 0, 0));
    assert_false(rill_watermark_alignment_should_pause(group, 1, 0));
    assert_true(rill_watermark_alignment_should_pause(group, 2, 0));
    rill_watermark_alignment_destroy(&group);
}

static void idle_and_finished_members_do_not_hold_the_group_back(void **state)
{
    rill_watermark_alignment_t *group = rill_watermark_alignment_new(3);
    rill_watermark_alignment_update(group, 0, 100000);
    rill_watermark_alignment_update(group, 1, 0);
    rill_watermark_alignment_update(group, 2, 90000);
    assert_true(rill_watermark_alignment_should_pause(group, 0, 1000));
    //  Flink: idle splits leave alignment; the minimum is over the active ones.
    rill_watermark_alignment_set_active(group, 1, false);
    assert_int_equal(rill_watermark_alignment_minimum(group), 90000);
    assert_true(rill_watermark_alignment_should_pause(group, 0, 1000));
    rill_watermark_alignment_set_active(group, 2, false); //  finished
    assert_false(rill_watermark_alignment_should_pause(group, 0, 1000));
    //  An inactive member never pauses itself: it has nothing to read anyway.
    assert_false(rill_watermark_alignment_should_pause(group, 1, 0));
    //  Records again: member 1 rejoins and holds the group back again.
    rill_watermark_alignment_set_active(group, 1, true);
    assert_true(rill_watermark_alignment_should_pause(group, 0, 1000));
    rill_watermark_alignment_destroy(&group);
}

static void a_member_without_a_watermark_yet_does_not_hold_the_group_back(void **state)
{
    rill_watermark_alignment_t *group = rill_watermark_alignment_new(2);
    //  Neither has a watermark: nobody pauses.
    assert_int_equal(rill_watermark_alignment_minimum(group), INT64_MAX);
    assert_false(rill_watermark_alignment_should_pause(group, 0, 0));
    rill_watermark_alignment_update(group, 0, 5000000);
    //  Member 1 may never get a record (an empty split): member 0 must not wait for it.
    assert_false(rill_watermark_alignment_should_pause(group, 0, 0));
    assert_false(rill_watermark_alignment_should_pause(group, 1, 0));
    rill_watermark_alignment_destroy(&group);
}

static void the_drift_is_measured_without_overflow_across_the_whole_int64_range(void **state)
{
    rill_watermark_alignment_t *group = rill_watermark_alignment_new(2);
    rill_watermark_alignment_update(group, 0, INT64_MAX);
    rill_watermark_alignment_update(group, 1, INT64_MIN + 1);
    assert_true(rill_watermark_alignment_should_pause(group, 0, INT64_MAX));
    assert_false(rill_watermark_alignment_should_pause(group, 1, 0));
    rill_watermark_alignment_update(group, 1, 0);
    assert_false(rill_watermark_alignment_should_pause(group, 0, INT64_MAX));
    assert_true(rill_watermark_alignment_should_pause(group, 0, INT64_MAX - 1));
    rill_watermark_alignment_destroy(&group);
}

//  ---- who aligns

static int s_generate_timed(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "%llu", (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index * 10);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

//  generator(p) -> assign_timestamps(p) [pattern into the assigner] -> discard. NULL: no plan.
typedef struct {
    int parallelism;
    rill_mode_t mode;
    int64_t max_drift_ms;
    bool rebalance; //  a rebalance edge between source and assigner
} s_shape_t;

static int s_members_for(const s_shape_t *shape, int *first_member_subtask)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, shape->parallelism);
    rill_env_set_mode(env, shape->mode);
    rill_stream_t *source = rill_env_from_generator(env, s_generate_timed, NULL, 1000);
    if (shape->rebalance)
        source = rill_stream_rebalance(source);
    rill_watermarks_t strategy = {.max_drift_ms = shape->max_drift_ms};
    rill_stream_discard(rill_stream_assign_timestamps(source, s_record_time, NULL, &strategy));
    const rill_plan_t *plan = rill_env_plan(env);
    if (!plan)
        fail_msg("plan: %s", rill_env_error(env));
    rill_watermark_alignment_t *group = rill_watermark_alignment_new_for_plan(plan);
    assert_non_null(group);
    int members = rill_watermark_alignment_size(group);
    *first_member_subtask = -1;
    for (int i = rill_plan_subtask_count(plan) - 1; i >= 0; i--) {
        int member = rill_watermark_alignment_member(group, i);
        if (member >= 0) {
            const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
            //  Members are the assigner's subtasks, nothing else.
            assert_int_equal(rill_plan_operator(plan, subtask->op)->kind, RILL_OP_TIMESTAMPS);
            *first_member_subtask = i;
        }
    }
    assert_int_equal(rill_watermark_alignment_member(group, -1), -1);
    assert_int_equal(rill_watermark_alignment_member(group, 1000), -1);
    rill_watermark_alignment_destroy(&group);
    rill_env_destroy(&env);
    return members;
}

static void alignment_is_on_by_default_for_several_source_subtasks_in_streaming_mode(void **state)
{
    int first = -1;
    //  generator subtasks are 0..p-1, the assigner's p..2p-1.
    assert_int_equal(s_members_for(&(s_shape_t){2, RILL_MODE_STREAMING, 0, false}, &first), 2);
    assert_int_equal(first, 2);
    assert_int_equal(s_members_for(&(s_shape_t){4, RILL_MODE_STREAMING, 5, false}, &first), 4);
    assert_int_equal(first, 4);
}

static void alignment_stays_off_when_it_is_pointless_unsafe_or_switched_off(void **state)
{
    int first = 0;
    //  One source subtask has nobody to wait for.
    assert_int_equal(s_members_for(&(s_shape_t){1, RILL_MODE_STREAMING, 0, false}, &first), 0);
    assert_int_equal(first, -1);
    //  Batch mode has no watermarks to align (Flink: alignment is a streaming feature).
    assert_int_equal(s_members_for(&(s_shape_t){2, RILL_MODE_BATCH, 0, false}, &first), 0);
    //  The off switch.
    assert_int_equal(
        s_members_for(&(s_shape_t){2, RILL_MODE_STREAMING, RILL_ALIGNMENT_OFF, false}, &first), 0);
    //  An assigner behind a redistributing edge: pausing one would block a source that also
    //  feeds the slowest, so the minimum could never advance.
    assert_int_equal(s_members_for(&(s_shape_t){2, RILL_MODE_STREAMING, 0, true}, &first), 0);
}

static void a_negative_drift_or_interval_is_refused_with_a_message(void **state)
{
    rill_watermarks_t bad[] = {
        {.max_drift_ms = -2}, {.max_drift_ms = INT64_MIN}, {.alignment_interval_ms = -1}};
    for (int i = 0; i < 3; i++) {
        rill_env_t *env = rill_env_new();
        rill_stream_t *source = rill_env_from_generator(env, s_generate_timed, NULL, 10);
        assert_null(rill_stream_assign_timestamps(source, s_record_time, NULL, &bad[i]));
        assert_non_null(strstr(rill_env_error(env), "RILL_ALIGNMENT_OFF"));
        assert_int_equal(rill_env_execute(env), -1);
        rill_env_destroy(&env);
    }
}

//  ---- in a running job

#define S_PER_SUBTASK 300000

//  Source subtask 0's event time starts 10^9 ms ahead of subtask 1's.
static int s_generate_skewed(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "%llu", (unsigned long long)index);
    int64_t time = (int64_t)(index / 2) * 10 + (index % 2 == 0 ? 1000000000 : 0);
    return rill_collector_emit(out, text, (size_t)size, time);
}

static void a_subtask_ahead_waits_for_the_slowest_and_resumes_when_it_finishes(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_stream_t *source =
        rill_env_from_generator(env, s_generate_skewed, NULL, 2 * S_PER_SUBTASK);
    rill_watermarks_t strategy = {.max_drift_ms = 1000};
    rill_stream_t *timed = rill_stream_assign_timestamps(source, s_record_time, NULL, &strategy);
    rill_stream_parallelism(rill_stream_collect(timed, results), 1);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    //  Nothing lost: the paused subtask resumed once the slowest finished (left the group).
    size_t size = rill_results_size(results);
    assert_int_equal(size, 2 * S_PER_SUBTASK);
    //  Where the slow subtask's last record arrived, and how many of the fast subtask's
    //  records came after it: with alignment the fast one waited, so nearly all of them.
    size_t last_slow = 0;
    for (size_t i = 0; i < size; i++) {
        rill_record_t record = rill_results_record(results, i);
        if (test_record_number(&record) % 2 == 1)
            last_slow = i;
    }
    size_t fast_after = size - 1 - last_slow;
    printf("fast subtask records after the slow one's last: %zu of %d\n", fast_after,
           S_PER_SUBTASK);
    //  Flink's rule: a source more than maxAllowedWatermarkDrift ahead of the group pauses.
    //  Its first records may pass before the slow one has any watermark, and one poll's
    //  worth after that; far from half of them.
    assert_true(fast_after > S_PER_SUBTASK / 2);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static void the_seed_example_takes_a_max_drift_in_ms_or_off(void **state)
{
    const char *rates[] = {"off", "1", "20000"};
    for (int i = 0; i < 3; i++) {
        char *out = NULL;
        int status =
            test_run_tool(&out, NULL, "run", "seed-example", "-p", "2", "--mode", "streaming", "--",
                          "--count", "2000", "--max-drift", rates[i], (char *)NULL);
        assert_int_equal(status, 0);
        //  200 s of event time, 8 sensors: one line per sensor and second.
        size_t lines = 0;
        for (const char *c = out; c && *c; c++)
            lines += *c == '\n';
        assert_int_equal(lines, 200 * 8);
        free(out);
    }
    const char *bad[] = {"0", "-5", "fast", "10ms"};
    for (int i = 0; i < 4; i++) {
        char *err = NULL;
        int status = test_run_tool(NULL, &err, "run", "seed-example", "--", "--max-drift", bad[i],
                                   (char *)NULL);
        assert_int_equal(status, 2);
        assert_non_null(strstr(err, "--max-drift MS|off"));
        free(err);
    }
}

//  Subtask 0 of the source runs 10^9 ms ahead and ends after S_FAST_RECORDS; subtask 1 sends
//  a few records, then nothing (its assigner goes idle), and ends once the map downstream has
//  seen every record of subtask 0, or gives up after S_GIVE_UP_MS (the test then fails).
#define S_FAST_RECORDS 100000
#define S_GIVE_UP_MS 30000

typedef struct {
    uint64_t fast_emitted; //  subtask 0's records so far (only it writes)
    uint64_t fast_seen;    //  subtask 0's records past the assigner (atomic)
    int64_t started;       //  wall ms
    int gave_up;           //  atomic
} s_idle_job_t;

static uint64_t s_now_ms(void);

static int s_idle_source(rill_collector_t *out, void *ctx)
{
    s_idle_job_t *job = ctx;
    char text[32];
    if (rill_collector_subtask(out) == 0) {
        for (int i = 0; i < 1000 && job->fast_emitted < S_FAST_RECORDS; i++, job->fast_emitted++) {
            int size =
                snprintf(text, sizeof text, "fast\t%llu", (unsigned long long)job->fast_emitted);
            if (rill_collector_emit(out, text, (size_t)size,
                                    1000000000 + (int64_t)job->fast_emitted))
                return -1;
        }
        return job->fast_emitted < S_FAST_RECORDS ? RILL_SOURCE_MORE : RILL_SOURCE_END;
    }
    static const int slow_records = 10;
    if (job->started == 0) {
        job->started = (int64_t)s_now_ms();
        for (int i = 0; i < slow_records; i++) {
            int size = snprintf(text, sizeof text, "slow\t%d", i);
            if (rill_collector_emit(out, text, (size_t)size, i))
                return -1;
        }
        return RILL_SOURCE_MORE;
    }
    if (__atomic_load_n(&job->fast_seen, __ATOMIC_RELAXED) == S_FAST_RECORDS)
        return RILL_SOURCE_END;
    if ((int64_t)s_now_ms() - job->started > S_GIVE_UP_MS) {
        __atomic_store_n(&job->gave_up, 1, __ATOMIC_RELAXED);
        return RILL_SOURCE_END;
    }
    usleep(1000); //  an outside world with nothing to say
    return RILL_SOURCE_MORE;
}

static int s_count_fast(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    s_idle_job_t *job = ctx;
    if (in->size >= 4 && memcmp(in->data, "fast", 4) == 0)
        __atomic_add_fetch(&job->fast_seen, 1, __ATOMIC_RELAXED);
    return rill_buffer_append(out, in->data, in->size);
}

static void an_idle_member_leaves_the_group_so_the_one_ahead_resumes(void **state)
{
    s_idle_job_t job = {0};
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_env_set_buffer_timeout(env, 1);
    rill_stream_t *source = rill_env_from_source(env, s_idle_source, &job, false);
    //  Flink: an idle split is excluded from its alignment group (else nothing moves here).
    rill_watermarks_t strategy = {.max_drift_ms = 1000, .idle_timeout_ms = 50};
    rill_stream_t *timed = rill_stream_assign_timestamps(source, s_record_time, NULL, &strategy);
    rill_stream_t *counted = rill_stream_map(timed, s_count_fast, &job);
    rill_stream_parallelism(counted, 1);
    rill_stream_discard(counted);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    assert_int_equal(__atomic_load_n(&job.fast_seen, __ATOMIC_RELAXED), S_FAST_RECORDS);
    assert_int_equal(job.gave_up, 0);
    rill_env_destroy(&env);
}

//  ---- bounded memory on unbounded streams

#define S_RUN_SECONDS 60
#define S_EARLY_FROM 10 //  early samples: seconds [10, 20), after the warm-up
#define S_EARLY_TO 20
#define S_LATE_FROM 50 //  late samples: seconds [50, 60)

typedef struct {
    int parallelism;
    pid_t pid;
    int out;                    //  read end of the job's stdout; -1 once closed
    uint64_t bytes;             //  output read so far
    long rss_kb[S_RUN_SECONDS]; //  VmRSS at the end of each second
    uint64_t bytes_at[S_RUN_SECONDS];
} s_child_t;

static void s_start_seed_example(s_child_t *child)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char path[4096], parallelism[16];
    if (!getenv("RILL_BIN"))
        fail_msg("RILL_BIN is not set: run this test through ctest");
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    snprintf(parallelism, sizeof parallelism, "%d", child->parallelism);
    child->pid = fork();
    assert_true(child->pid >= 0);
    if (child->pid == 0) {
        //  Under AddressSanitizer, freed memory waits in a quarantine of up to 256 MB by
        //  default, which would read as growth; keep it small. Other builds ignore this.
        const char *asan = getenv("ASAN_OPTIONS");
        char options[1024];
        snprintf(options, sizeof options, "%s%squarantine_size_mb=4", asan ? asan : "",
                 asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", options, 1);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(path, path, "run", "seed-example", "-p", parallelism, "--", "--unbounded",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    child->out = fds[0];
}

static long s_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    long rss = -1;
    while (file && fgets(line, sizeof line, file))
        if (strncmp(line, "VmRSS:", 6) == 0)
            rss = strtol(line + 6, NULL, 10);
    if (file)
        fclose(file);
    return rss;
}

static uint64_t s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

//  Reads whatever the children wrote until `until` (monotonic ms), counting bytes; a child
//  whose output ends is a failure (the job must keep running).
static void s_drain_until(s_child_t *children, int count, uint64_t until)
{
    char buffer[65536];
    for (uint64_t now = s_now_ms(); now < until; now = s_now_ms()) {
        struct pollfd fds[8];
        for (int i = 0; i < count; i++)
            fds[i] = (struct pollfd){children[i].out, POLLIN, 0};
        int ready = poll(fds, (nfds_t)count, (int)(until - now));
        if (ready < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        for (int i = 0; i < count && ready > 0; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t got = read(children[i].out, buffer, sizeof buffer);
            if (got <= 0)
                fail_msg("seed-example -p %d stopped writing output (it ended or failed)",
                         children[i].parallelism);
            children[i].bytes += (uint64_t)got;
        }
    }
}

static long s_max_rss(const s_child_t *child, int from, int to)
{
    long most = 0;
    for (int i = from; i < to; i++)
        most = child->rss_kb[i] > most ? child->rss_kb[i] : most;
    return most;
}

//  Ctrl-C (SIGINT) drains the job; it must exit 130 promptly, paused subtasks included.
static void s_stop(s_child_t *child)
{
    kill(child->pid, SIGINT);
    char buffer[65536];
    uint64_t until = s_now_ms() + 20000;
    while (s_now_ms() < until) {
        struct pollfd fd = {child->out, POLLIN, 0};
        if (poll(&fd, 1, 1000) > 0 && read(child->out, buffer, sizeof buffer) <= 0)
            break;
    }
    close(child->out);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 1000 && done == 0; i++) {
        done = waitpid(child->pid, &status, WNOHANG);
        if (done == 0)
            usleep(10 * 1000);
    }
    if (done == 0) {
        kill(child->pid, SIGKILL);
        waitpid(child->pid, &status, 0);
        fail_msg("seed-example -p %d did not stop within 10 s of SIGINT", child->parallelism);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
}

static void the_unbounded_seed_example_runs_60_s_in_flat_memory_at_p_2_and_p_4(void **state)
{
    //  Both at once, to keep the suite short.
    s_child_t children[2] = {{.parallelism = 2}, {.parallelism = 4}};
    for (int c = 0; c < 2; c++)
        s_start_seed_example(&children[c]);
    uint64_t start = s_now_ms();
    for (int second = 0; second < S_RUN_SECONDS; second++) {
        s_drain_until(children, 2, start + (uint64_t)(second + 1) * 1000);
        for (int c = 0; c < 2; c++) {
            children[c].rss_kb[second] = s_rss_kb(children[c].pid);
            children[c].bytes_at[second] = children[c].bytes;
        }
    }
    for (int c = 0; c < 2; c++)
        s_stop(&children[c]);
    for (int c = 0; c < 2; c++) {
        s_child_t *child = &children[c];
        printf("seed-example -p %d RSS (MB) every 5 s:", child->parallelism);
        for (int i = 4; i < S_RUN_SECONDS; i += 5)
            printf(" %.1f", child->rss_kb[i] / 1024.0);
        printf("; output %.1f MB\n", child->bytes / 1048576.0);
    }
    for (int c = 0; c < 2; c++) {
        s_child_t *child = &children[c];
        long early = s_max_rss(child, S_EARLY_FROM, S_EARLY_TO);
        long late = s_max_rss(child, S_LATE_FROM, S_RUN_SECONDS);
        assert_true(early > 0);
        //  Flat: the late peak within 25% + 8 MB of the early peak. Without alignment the
        //  window state grows with the sources' drift, by tens of MB every 10 s.
        long bound = early + early / 4 + 8 * 1024;
        if (late > bound)
            fail_msg("seed-example -p %d grew from %ld kB (seconds %d-%d) to %ld kB "
                     "(seconds %d-%d), bound %ld kB",
                     child->parallelism, early, S_EARLY_FROM, S_EARLY_TO, late, S_LATE_FROM,
                     S_RUN_SECONDS, bound);
        //  And it progresses: output keeps coming, late as early.
        assert_true(child->bytes_at[S_EARLY_TO - 1] > child->bytes_at[S_EARLY_FROM - 1]);
        assert_true(child->bytes_at[S_RUN_SECONDS - 1] > child->bytes_at[S_LATE_FROM - 1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_member_ahead_by_more_than_the_max_drift_pauses_until_the_minimum_advances),
        cmocka_unit_test(the_slowest_member_never_pauses_even_with_zero_drift),
        cmocka_unit_test(idle_and_finished_members_do_not_hold_the_group_back),
        cmocka_unit_test(a_member_without_a_watermark_yet_does_not_hold_the_group_back),
        cmocka_unit_test(the_drift_is_measured_without_overflow_across_the_whole_int64_range),
        cmocka_unit_test(alignment_is_on_by_default_for_several_source_subtasks_in_streaming_mode),
        cmocka_unit_test(alignment_stays_off_when_it_is_pointless_unsafe_or_switched_off),
        cmocka_unit_test(a_negative_drift_or_interval_is_refused_with_a_message),
        cmocka_unit_test(a_subtask_ahead_waits_for_the_slowest_and_resumes_when_it_finishes),
        cmocka_unit_test(an_idle_member_leaves_the_group_so_the_one_ahead_resumes),
        cmocka_unit_test(the_seed_example_takes_a_max_drift_in_ms_or_off),
        cmocka_unit_test(the_unbounded_seed_example_runs_60_s_in_flat_memory_at_p_2_and_p_4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
