/*  test_limits.c: the process's limits as a job meets them. Parallelism up to 256 runs exactly
    or is refused before it starts with a message naming what it needs and the limit; many
    jobs in one process all succeed and leave no descriptor behind; out of memory fails the
    job with a message naming operator and subtask; the host program's signal handlers stay
    its own. */
#include "testutil.h"
#include "rill_tsan.h" //  RILL_TSAN: the allocation-failure case cannot run under it
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

//  Record i is "k<i mod keys><TAB>1": summed per key, every key ends at count / keys.
typedef struct {
    uint64_t keys;
} s_keys_t;

static int s_keyed_one(uint64_t index, rill_collector_t *out, void *ctx)
{
    const s_keys_t *keys = ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\t1", (unsigned long long)(index % keys->keys));
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  Runs count records over keys through a hash exchange into sum at parallelism p; checks
//  every key's sum. Returns rill_env_execute's result (error text in why).
static int s_run_keyed_sum(int parallelism, uint64_t count, uint64_t keys, char *why,
                           size_t why_size)
{
    s_keys_t spec = {keys};
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, parallelism);
    rill_stream_t *s = rill_env_from_generator(env, s_keyed_one, &spec, count);
    rill_stream_collect(rill_stream_sum(rill_stream_key_by(s, rill_key_first_field, NULL)),
                        results);
    int rc = rill_env_execute(env);
    snprintf(why, why_size, "%s", rill_env_error(env));
    if (rc == 0) {
        //  Batch mode: one final value per key.
        assert_int_equal(rill_results_size(results), keys);
        for (size_t i = 0; i < rill_results_size(results); i++) {
            rill_record_t r = rill_results_record(results, i);
            const char *tab = memchr(r.data, '\t', r.size);
            assert_non_null(tab);
            //  A record's bytes are not NUL-terminated: parse a terminated copy of the value
            //  (strtoull on the record itself read on into whatever followed it).
            char value[32];
            size_t length = r.size - (size_t)(tab + 1 - (const char *)r.data);
            assert_true(length < sizeof value);
            memcpy(value, tab + 1, length);
            value[length] = '\0';
            assert_int_equal(strtoull(value, NULL, 10), count / keys);
        }
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    return rc;
}

//  The usage example: a keyed sum at the documented maximum parallelism runs exactly.
static void a_hash_exchange_at_parallelism_256_loses_nothing(void **state)
{
    char why[1024];
    int rc = s_run_keyed_sum(256, 51200, 512, why, sizeof why);
    if (rc)
        fail_msg("parallelism 256 failed: %s", why);
}

static void s_wordcount_matches_parallelism_1(const char *parallelism)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    char *expected = NULL, *got = NULL, *err = NULL;
    assert_int_equal(
        test_run_tool(&expected, NULL, "run", "wordcount", "-p", "1", "--", "--input", input, NULL),
        0);
    int status = test_run_tool(&got, &err, "run", "wordcount", "-p", parallelism, "--", "--input",
                               input, NULL);
    if (status != 0)
        fail_msg("wordcount -p %s exited %d: %s", parallelism, status, err);
    //  Same lines, any order: compare sorted line sets.
    size_t lines[2] = {0, 0};
    char *texts[2] = {expected, got};
    for (int t = 0; t < 2; t++)
        for (char *c = texts[t]; *c; c++)
            lines[t] += *c == '\n';
    assert_int_equal(lines[0], lines[1]);
    for (char *line = strtok(expected, "\n"); line; line = strtok(NULL, "\n")) {
        char needle[256];
        snprintf(needle, sizeof needle, "\n%s\n", line);
        bool first = strncmp(got, line, strlen(line)) == 0 && got[strlen(line)] == '\n';
        if (!first && !strstr(got, needle))
            fail_msg("wordcount -p %s lacks the line '%s'", parallelism, line);
    }
    free(expected);
    free(got);
    free(err);
    free(input);
}

//  Parallelism above 73 used to abort in czmq (its default limit of 1024 sockets).
static void wordcount_at_parallelism_128_counts_what_parallelism_1_counts(void **state)
{
    s_wordcount_matches_parallelism_1("128");
}

static void wordcount_at_parallelism_256_counts_what_parallelism_1_counts(void **state)
{
    s_wordcount_matches_parallelism_1("256");
}

//  With a hard descriptor limit too low for the job, it is refused before anything starts,
//  naming the need and the limit. The tool runs in a child, whose limit is lowered first.
static void a_job_beyond_the_descriptor_limit_is_refused_naming_need_and_limit(void **state)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    char *input = test_source_path("data/declaration-of-independence.txt");
    int err_pipe[2];
    assert_int_equal(pipe(err_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(err_pipe[0]);
        dup2(err_pipe[1], 2);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        struct rlimit files = {200, 200};
        if (setrlimit(RLIMIT_NOFILE, &files) == 0)
            execl(path, path, "run", "wordcount", "-p", "64", "--", "--input", input, (char *)NULL);
        _exit(127);
    }
    close(err_pipe[1]);
    char why[2048] = "";
    size_t length = 0;
    ssize_t n;
    while (length < sizeof why - 1 &&
           (n = read(err_pipe[0], why + length, sizeof why - 1 - length)) > 0)
        length += (size_t)n;
    why[length] = 0;
    close(err_pipe[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    free(input);
    if (!WIFEXITED(status))
        fail_msg("the job crashed instead of being refused (signal %d)", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(why, "file descriptors"));
    assert_non_null(strstr(why, "hard limit of 200"));
}

//  A job whose batches alone would not fit in this machine's memory is refused up front.
static void a_job_whose_batches_exceed_memory_is_refused_naming_need_and_limit(void **state)
{
    s_keys_t spec = {4};
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 256);
    assert_int_equal(rill_env_set_batch_size(env, 64 * 1024 * 1024), 0);
    rill_stream_t *s = rill_env_from_generator(env, s_keyed_one, &spec, 100);
    rill_stream_collect(rill_stream_sum(rill_stream_key_by(s, rill_key_first_field, NULL)),
                        results);
    assert_int_equal(rill_env_execute(env), -1);
    //  256 x 256 hash channels, 64 MiB each: 4096 GiB. The 256 forward channels into the sink
    //  are chained (function calls) and take no batch.
    assert_non_null(strstr(rill_env_error(env), "needs 4194304 MiB"));
    assert_non_null(strstr(rill_env_error(env), "65536 channels"));
    assert_non_null(strstr(rill_env_error(env), "of memory this machine has"));
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static int s_open_descriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    assert_non_null(dir);
    int count = 0;
    while (readdir(dir))
        count++;
    closedir(dir);
    return count;
}

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

//  One job of the many: generator -> hash -> sum -> collect at p = 4 (12 subtasks, 16
//  hash channels); small, because what is tested is the start and end of a job.
static void s_run_small_job(int job)
{
    s_keys_t spec = {8};
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 4);
    rill_stream_t *s = rill_env_from_generator(env, s_keyed_one, &spec, 64);
    rill_stream_collect(rill_stream_sum(rill_stream_key_by(s, rill_key_first_field, NULL)),
                        results);
    if (rill_env_execute(env))
        fail_msg("job %d of 2000 failed: %s", job, rill_env_error(env));
    assert_int_equal(rill_results_size(results), 8);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Endpoints used to be named after the plan's heap address, which the next plan reuses
//  while the last job's sockets may still be bound: "Address already in use" now and then.
static void two_thousand_jobs_in_one_process_all_succeed_and_leave_no_descriptor(void **state)
{
    //  czmq's context and its threads start with the first job. Every socket is closed when
    //  its job returns, but libzmq's reaper thread releases a closed socket's descriptor on
    //  its own time: counted right after a job, the first count is an upper bound.
    s_run_small_job(0);
    int before = s_open_descriptors();
    for (int job = 1; job <= 2000; job++)
        s_run_small_job(job);
    //  Wait (up to 5 s, for a loaded machine) for the reaper to catch up with the last sockets.
    int after = s_open_descriptors();
    for (int tries = 0; after > before && tries < 5000; tries++) {
        usleep(1000);
        after = s_open_descriptors();
    }
    if (after > before)
        fail_msg("%d descriptors open after 2000 jobs, %d before", after, before);
}

//  A map whose output cannot be allocated (1 TiB) at one record of subtask 2.
static int s_grow_beyond_memory(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (test_record_number(in) == 500)
        return rill_buffer_set(out, in->data, (size_t)1 << 40);
    return rill_buffer_set(out, in->data, in->size);
}

static void out_of_memory_in_a_map_fails_the_job_naming_operator_and_subtask(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 4);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    //  Which map subtask gets record 500 depends on the rebalance: the index is not checked.
    s = rill_stream_name(rill_stream_map(rill_stream_rebalance(s), s_grow_beyond_memory, NULL),
                         "grow");
    rill_stream_collect(s, results);
    assert_int_equal(rill_env_execute(env), -1);
    const char *why = rill_env_error(env);
    assert_non_null(strstr(why, "operator 'grow' subtask "));
    assert_non_null(strstr(why, "/4: out of memory"));
    assert_false(rill_env_cancelled(env));
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(RILL_TSAN)
//  Allocation failure injection for the next case, local to one thread: once a subtask's
//  thread sets this, every malloc, calloc and realloc it makes fails, as when memory has run
//  out, through the report of its failure and the rest of rill's subtask code; the other
//  threads (the coordinator, the other subtasks) allocate as usual. Memory comes back only
//  when czmq's zactor shim takes over after the subtask returned: the shim first sets the
//  pipe's send timeout (intercepted below), then signals the actor's end with a message on
//  the heap, and czmq aborts on an allocation failure there by design. The allocator is
//  glibc's, reached by its __libc_ names. Under AddressSanitizer or ThreadSanitizer, which own
//  malloc, the case cannot inject and says so (make test runs it).
static __thread bool s_thread_out_of_memory;
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *pointer, size_t size);

void *malloc(size_t size)
{
    if (s_thread_out_of_memory) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    if (s_thread_out_of_memory) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size)
{
    if (s_thread_out_of_memory) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(pointer, size);
}

//  zactor's shim calls this first when the actor function has returned (see above). rill's
//  subtask code sets send timeouts only while connecting, before any record.
void zsock_set_sndtimeo(void *self, int sndtimeo)
{
    s_thread_out_of_memory = false;
    void (*next)(void *, int) = (void (*)(void *, int))dlsym(RTLD_NEXT, "zsock_set_sndtimeo");
    next(self, sndtimeo);
}

//  At record 500, this subtask's thread runs out of memory until its subtask code is done.
static int s_exhaust_thread_memory(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (test_record_number(in) == 500) {
        s_thread_out_of_memory = true;
        errno = ENOMEM;
        return -1;
    }
    return rill_buffer_set(out, in->data, in->size);
}
#endif

//  Reporting FAILED used to format the message on the heap (zstr_sendf): with no memory
//  left, czmq asserted or the report was lost and the job hung. The report must not allocate.
static void a_subtask_that_cannot_allocate_at_all_still_reports_its_failure(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(RILL_TSAN)
    skip(); //  the sanitizer owns malloc: no injection possible (see above)
#else
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    s = rill_stream_name(rill_stream_map(s, s_exhaust_thread_memory, NULL), "exhaust");
    rill_stream_collect(s, results);
    assert_int_equal(rill_env_execute(env), -1);
    const char *why = rill_env_error(env);
    assert_non_null(strstr(why, "operator 'exhaust' subtask "));
    assert_non_null(strstr(why, "/2: out of memory"));
    rill_results_destroy(&results);
    rill_env_destroy(&env);
#endif
}

static void s_host_handler(int signal)
{
    (void)signal;
}

//  czmq installs its own SIGINT/SIGTERM handlers when it starts; a library must not.
static void the_host_programs_signal_handlers_stay_installed_across_jobs(void **state)
{
    struct sigaction mine = {.sa_handler = s_host_handler}, before_int, before_term;
    sigemptyset(&mine.sa_mask);
    assert_int_equal(sigaction(SIGINT, &mine, &before_int), 0);
    assert_int_equal(sigaction(SIGTERM, &mine, &before_term), 0);
    char why[1024];
    assert_int_equal(s_run_keyed_sum(2, 1000, 10, why, sizeof why), 0);
    struct sigaction now;
    assert_int_equal(sigaction(SIGINT, NULL, &now), 0);
    assert_ptr_equal(now.sa_handler, s_host_handler);
    assert_int_equal(sigaction(SIGTERM, NULL, &now), 0);
    assert_ptr_equal(now.sa_handler, s_host_handler);
    sigaction(SIGINT, &before_int, NULL);
    sigaction(SIGTERM, &before_term, NULL);
}

//  An unbounded source, so only a cancel ends the job.
static int s_forever(uint64_t index, rill_collector_t *out, void *ctx)
{
    return rill_collector_emit(out, "x\t1", 3, RILL_NO_TIMESTAMP);
}

static void *s_cancel_twice(void *env)
{
    rill_env_cancel(env);
    rill_env_cancel(env);
    return NULL;
}

//  Two cancels from other threads at once count as two: the job stops without draining.
static void cancels_from_two_threads_stop_a_running_job(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, s_forever, NULL, RILL_UNBOUNDED);
    rill_stream_discard(rill_stream_map(rill_stream_rebalance(s), s_identity, NULL));
    //  The cancels may come before or while it runs: the level is kept until execute reads it.
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, s_cancel_twice, env), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(rill_env_execute(env), -1);
    assert_true(rill_env_cancelled(env));
    assert_non_null(strstr(rill_env_error(env), "before it drained"));
    rill_env_destroy(&env);
}

//  `test_limits [PATTERN]` runs only the cases matching PATTERN (to check one on its own).
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hash_exchange_at_parallelism_256_loses_nothing),
        cmocka_unit_test(wordcount_at_parallelism_128_counts_what_parallelism_1_counts),
        cmocka_unit_test(wordcount_at_parallelism_256_counts_what_parallelism_1_counts),
        cmocka_unit_test(a_job_beyond_the_descriptor_limit_is_refused_naming_need_and_limit),
        cmocka_unit_test(a_job_whose_batches_exceed_memory_is_refused_naming_need_and_limit),
        cmocka_unit_test(two_thousand_jobs_in_one_process_all_succeed_and_leave_no_descriptor),
        cmocka_unit_test(out_of_memory_in_a_map_fails_the_job_naming_operator_and_subtask),
        cmocka_unit_test(a_subtask_that_cannot_allocate_at_all_still_reports_its_failure),
        cmocka_unit_test(the_host_programs_signal_handlers_stay_installed_across_jobs),
        cmocka_unit_test(cancels_from_two_threads_stop_a_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
