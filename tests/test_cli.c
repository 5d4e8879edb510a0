/*  test_cli.c: the rill tool as a user meets it: help, the job list, usage errors (exit 2),
    failures (exit 1), and Ctrl-C on a running job (drains, exit 130, no hang); a second
    Ctrl-C stops it at once; SIGTERM exits 143. A job plugin built against the public headers
    alone runs; one that calls an internal function does not load. `rill keys` makes the
    cluster certificate once and replaces it only with --force. */
#include "testutil.h"
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void s_expect(int expected_status, const char *stdout_has, const char *stderr_has,
                     const char *const *args)
{
    char *out = NULL, *err = NULL;
    int status = test_run_toolv(&out, &err, args);
    if (status != expected_status || (stdout_has && !strstr(out, stdout_has)) ||
        (stderr_has && !strstr(err, stderr_has)))
        fail_msg("rill %s ...: status %d (wanted %d)\nstdout: %s\nstderr: %s", args[0], status,
                 expected_status, out, err);
    free(out);
    free(err);
}

#define EXPECT(status, out, err, ...)                                                          \
    s_expect(status, out, err, (const char *const[]){__VA_ARGS__, NULL})

static void help_goes_to_stdout_and_exits_0(void **state)
{
    EXPECT(0, "usage: rill COMMAND", NULL, "--help");
    EXPECT(0, "usage: rill run JOB", NULL, "run", "--help");
    EXPECT(0, "usage: rill jobs", NULL, "jobs", "--help");
    EXPECT(0, "usage: rill keys DIR [--force]", NULL, "keys", "--help");
}

static void jobs_lists_the_bundled_jobs(void **state)
{
    EXPECT(0, "wordcount", NULL, "jobs");
    EXPECT(0, "seed-example", NULL, "jobs");
}

static void bad_command_lines_print_usage_and_exit_2(void **state)
{
    EXPECT(2, NULL, "usage: rill COMMAND", "frobnicate");
    EXPECT(2, NULL, "no JOB given", "run");
    EXPECT(2, NULL, "usage: rill run", "run", "seed-example", "-p", "0");
    EXPECT(2, NULL, "usage: rill run", "run", "seed-example", "-p", "abc");
    EXPECT(2, NULL, "usage: rill run", "run", "seed-example", "-p", "2x");
    EXPECT(2, NULL, "usage: rill run", "run", "seed-example", "-p", "257");
    EXPECT(2, NULL, "unknown option '--bogus'", "run", "seed-example", "--bogus");
    EXPECT(2, NULL, "needs a value", "run", "seed-example", "-p");
    EXPECT(2, NULL, "unknown mode", "run", "seed-example", "--mode", "fast");
    EXPECT(2, NULL, "batch size", "run", "seed-example", "--batch-size", "10");
    EXPECT(2, NULL, "buffer timeout", "run", "seed-example", "--buffer-timeout", "-1");
    EXPECT(2, NULL, "mini-batch interval", "run", "seed-example", "--mini-batch", "-5");
    EXPECT(2, NULL, "mini-batch interval", "run", "seed-example", "--mini-batch", "10x");
    EXPECT(2, NULL, "mini-batch interval", "run", "seed-example", "--mini-batch", "3600001");
    EXPECT(2, NULL, "needs a value", "run", "seed-example", "--mini-batch");
    EXPECT(2, NULL, "unknown option '--no-combine=1'", "run", "seed-example", "--no-combine=1");
    EXPECT(2, NULL, "job arguments go after --", "run", "seed-example", "extra");
    EXPECT(2, NULL, "usage: rill run wordcount", "run", "wordcount", "--", "--bogus");
    EXPECT(2, NULL, "--input FILE is required", "run", "wordcount");
    EXPECT(2, NULL, "usage: rill jobs", "jobs", "extra");
}

//  Compiles a job plugin from source against the public include folder only, with no rill
//  library on the link line (as an outside job is built: it resolves rill's functions from the
//  library the tool has loaded). The .so's path, which the caller frees; the folder is
//  removed by s_plugin_remove.
static char *s_plugin_build(const char *source)
{
    char folder[] = "/tmp/rill-plugin-XXXXXX";
    assert_non_null(mkdtemp(folder));
    char path[256], command[1024];
    snprintf(path, sizeof path, "%s/job.c", folder);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(source, file) >= 0);
    assert_int_equal(fclose(file), 0);
    char *include = test_source_path("runtime/include");
    snprintf(command, sizeof command, "cc -shared -fPIC -Wall -Werror -I'%s' '%s' -o '%s/job.so'",
             include, path, folder);
    free(include);
    assert_int_equal(system(command), 0);
    snprintf(path, sizeof path, "%s/job.so", folder);
    return strdup(path);
}

static void s_plugin_remove(char **path_p)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf \"$(dirname '%s')\"", *path_p);
    assert_int_equal(system(command), 0);
    free(*path_p);
    *path_p = NULL;
}

//  The documented API is all a plugin needs, and all it gets: a plugin that uses it runs; one
//  that calls an internal function (the writer's constructor) does not load, since librill.so
//  exports only what the public headers declare.
static void a_plugin_sees_the_public_api_and_nothing_else(void **state)
{
    char *public_job = s_plugin_build(
        "#include <rill/rill.h>\n"
        "static int letter(uint64_t n, rill_collector_t *out, void *ctx)\n"
        "{\n"
        "    char text = (char)('a' + n);\n"
        "    return rill_collector_emit(out, &text, 1, RILL_NO_TIMESTAMP);\n"
        "}\n"
        "int rill_job_build(rill_env_t *env, int argc, char **argv)\n"
        "{\n"
        "    rill_stream_print(rill_env_from_generator(env, letter, NULL, 3), NULL);\n"
        "    return 0;\n"
        "}\n");
    EXPECT(0, "a\nb\nc\n", NULL, "run", public_job);
    s_plugin_remove(&public_job);
    char *internal_job =
        s_plugin_build("#include <rill/rill.h>\n"
                       "void *rill_writer_new(void);\n"
                       "int rill_job_build(rill_env_t *env, int argc, char **argv)\n"
                       "{\n"
                       "    return rill_writer_new() ? 0 : -1;\n"
                       "}\n");
    EXPECT(1, NULL, "cannot load job plugin", "run", internal_job);
    s_plugin_remove(&internal_job);
}

static void failures_exit_1_with_a_clear_message(void **state)
{
    EXPECT(1, NULL, "no job named 'nosuchjob'", "run", "nosuchjob");
    EXPECT(1, NULL, "cannot load job plugin", "run", "./not/a/plugin.so");
    EXPECT(1, NULL, "/nonexistent/words.txt", "run", "wordcount", "--", "--input",
           "/nonexistent/words.txt");
    //  A directory is an input of its own now (the directory source, issue 17): one that cannot
    //  be read is refused before anything runs (the text source's refusal of a directory is
    //  test_sources' the_text_file_source_refuses_a_directory).
    EXPECT(2, NULL, "cannot read directory '/nonexistent/dir'", "run", "wordcount", "--",
           "--input", "dir:///nonexistent/dir");
    //  Batch mode cannot run an unbounded source: the planner names the operator.
    EXPECT(1, NULL, "operator 'Source'", "run", "seed-example", "--mode", "batch", "--",
           "--unbounded");
    //  An output that cannot be written fails before the job runs: these jobs never end, so
    //  a check made after the run would hang here instead of failing.
    EXPECT(1, NULL, "cannot write metrics '/nonexistent/m.json'", "run", "seed-example",
           "--metrics-json", "/nonexistent/m.json", "--", "--unbounded");
    EXPECT(1, NULL, "cannot write report '/nonexistent/r.html'", "run", "seed-example",
           "--report", "/nonexistent/r.html", "--", "--unbounded");
    EXPECT(1, NULL, "cannot write trace '/nonexistent/t.jsonl'", "run", "seed-example",
           "--trace", "/nonexistent/t.jsonl", "--", "--unbounded");
}

//  The trace is written by the subtasks while the job runs; a disk that fills up (/dev/full)
//  must fail the run as the other outputs do, not leave a cut-off trace behind exit 0. With
//  one record in 1: hops fill the 64 KiB buffers and fail inside the subtasks; with one in a
//  million: only the header line, which fails at the last flush.
static void a_trace_onto_a_full_disk_exits_1(void **state)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    EXPECT(1, NULL, "cannot write trace '/dev/full'", "run", "wordcount", "-p", "2", "--trace",
           "/dev/full", "--trace-sample", "1", "--", "--input", input, "--output", "/dev/null");
    EXPECT(1, NULL, "cannot write trace '/dev/full'", "run", "wordcount", "--trace",
           "/dev/full", "--trace-sample", "1000000", "--", "--input", input, "--output",
           "/dev/null");
    free(input);
}

//  The tool's own outputs open before the job runs: one that is the job's input would be
//  truncated before a line of it was read. Each is refused, under any name, and the input is
//  left as it was.
static void a_trace_metrics_or_report_file_that_is_the_input_is_refused(void **state)
{
    const char *text = "to be or not to be\n";
    char *input = test_temp_file(text);
    assert_non_null(input);
    char other_name[4200];
    snprintf(other_name, sizeof other_name, "/tmp/../tmp/%s", input + strlen("/tmp/"));
    const char *options[] = {"--trace", "--metrics-json", "--report"};
    for (int i = 0; i < 3; i++) {
        EXPECT(1, NULL, "is the input of operator", "run", options[i], input, "wordcount", "--",
               "--input", input, "--output", "/dev/null");
        EXPECT(1, NULL, "writing it would destroy the input", "run", options[i], other_name,
               "wordcount", "--", "--input", input, "--output", "/dev/null");
        char *now = test_read_file(input);
        assert_string_equal(now, text);
        free(now);
    }
    unlink(input);
    free(input);
}

static void a_bounded_job_runs_and_exits_0(void **state)
{
    EXPECT(0, "sensor-7\t", NULL, "run", "seed-example", "-p", "2", "--", "--count", "1000");
    EXPECT(0, "sensor-0\t", "bytes out", "run", "seed-example", "--metrics", "--mode",
           "streaming", "--batch-size", "128", "--buffer-timeout", "0");
    //  An output that is not a regular file (a device) is written straight, never truncated
    //  or staged, with checkpoints or without.
    EXPECT(0, NULL, NULL, "run", "seed-example", "-p", "2", "--", "--count", "1000", "--output",
           "/dev/null");
    EXPECT(0, NULL, "checkpoints:", "run", "seed-example", "-p", "2", "--mode", "streaming",
           "--checkpoint-interval", "10", "--checkpoint-dir", "/tmp/rill-cli-devnull-ckpt", "--",
           "--count", "1000", "--output", "/dev/null");
    test_remove_tree("/tmp/rill-cli-devnull-ckpt");
}

//  rill plan --processes K shows the slot placement (issue 14's groundwork): subtask i of
//  every operator on process i mod K, tcp only between processes; running it is refused.
static void plan_places_subtasks_on_processes(void **state)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    EXPECT(0, "\"tcp\"", NULL, "plan", "wordcount", "-p", "3", "--processes", "2",
           "--format", "json", "--", "--input", input);
    EXPECT(0, "cluster_process1", NULL, "plan", "wordcount", "-p", "3", "--processes", "2",
           "--view", "parallel", "--format", "dot", "--", "--input", input);
    //  One process: no tcp channel at all.
    char *out = NULL;
    const char *one[] = {"plan", "wordcount", "-p", "3", "--format", "json", "--", "--input",
                         input, NULL};
    assert_int_equal(test_run_toolv(&out, NULL, one), 0);
    assert_null(strstr(out, "\"tcp\""));
    free(out);
    EXPECT(2, NULL, "processes must be 1..1024", "plan", "wordcount", "--processes", "0");
    EXPECT(2, NULL, "--processes is for 'rill plan JOB'", "viz", "x.json", "--processes", "2");
    free(input);
}

//  Reads from fd until `until_eof` is met (EOF) or, when false, until the first bytes came;
//  waits up to timeout_ms in all. The number of bytes read, or -1 on timeout.
static long s_read_pipe(int fd, bool until_eof, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    long total = 0;
    char buffer[65536];
    for (;;) {
        int64_t left = deadline - test_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd item = {fd, POLLIN, 0};
        if (poll(&item, 1, (int)left) <= 0)
            continue;
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0)
            return until_eof ? total : -1; //  EOF (or an error) before any byte: not running
        total += got;
        if (!until_eof)
            return total;
    }
}

static void ctrl_c_drains_a_running_job_and_exits_130(void **state)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    int output[2];
    assert_int_equal(pipe(output), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", 1);
        close(output[0]);
        dup2(output[1], 1);
        dup2(null_fd, 2);
        execl(path, path, "run", "seed-example", "-p", "2", "--", "--unbounded", (char *)NULL);
        _exit(127);
    }
    close(output[1]);
    //  The job is running once its first results come out: only then is Ctrl-C a Ctrl-C on a
    //  running job (not on a tool still starting up).
    if (s_read_pipe(output[0], false, 10000) <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("rill run printed nothing within 10 s");
    }
    kill(pid, SIGINT);
    //  It must end promptly: read what it drains until it closes its output (up to 10 s),
    //  then poll for its exit (up to 10 s), else kill it and fail.
    long drained = s_read_pipe(output[0], true, 10000);
    close(output[0]);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 1000 && done == 0 && drained >= 0; i++) {
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            usleep(10 * 1000); //  the poll interval of the deadline, not a wait for the job
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("rill run did not stop within 10 s of SIGINT");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
}

//  Starts `rill run seed-example -p 2 -- --unbounded` with stdout on a pipe and returns once
//  its first line of output has arrived (the job is running: no guess at a start-up time).
static pid_t s_start_unbounded_job(int *out_fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        dup2(out[1], 1);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 2);
        execl(path, path, "run", "seed-example", "-p", "2", "--", "--unbounded", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char c = 0;
    while (c != '\n')
        if (read(out[0], &c, 1) != 1)
            fail_msg("rill run ended before its first line of output");
    *out_fd = out[0];
    return pid;
}

//  A run that does not stop is a failure, and one worth seeing into: its threads' stacks
//  (gdb when installed, else each thread's kernel wait channel) go to the test's output
//  before it is killed.
static void s_dump_and_kill(pid_t pid)
{
    char command[256];
    snprintf(command, sizeof command,
             "gdb -batch -p %d -ex 'thread apply all bt' </dev/null 2>&1 || "
             "for t in /proc/%d/task/*; do echo \"$t $(cat $t/comm) $(cat $t/wchan)\"; done",
             (int)pid, (int)pid);
    fprintf(stderr, "rill run (pid %d) did not stop; its threads:\n", (int)pid);
    fflush(stderr);
    if (system(command) == -1)
        fprintf(stderr, "(cannot run a shell to show them)\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

//  Reads the job's output to its end (so it never blocks on a full pipe), then its status;
//  fails when the job has not ended within 60 s.
static int s_finish(pid_t pid, int out_fd)
{
    char buffer[4096];
    time_t deadline = time(NULL) + 60;
    for (;;) {
        struct pollfd item = {out_fd, POLLIN, 0};
        int ready = poll(&item, 1, 1000);
        if (ready > 0 && read(out_fd, buffer, sizeof buffer) <= 0)
            break;
        if (time(NULL) > deadline) {
            close(out_fd);
            s_dump_and_kill(pid);
            fail_msg("rill run did not end within 60 s of its signal");
        }
    }
    close(out_fd);
    int status = 0;
    pid_t ended;
    while ((ended = waitpid(pid, &status, WNOHANG)) == 0) {
        if (time(NULL) > deadline) {
            s_dump_and_kill(pid);
            fail_msg("rill run closed its output but did not exit within 60 s");
        }
        usleep(10000);
    }
    assert_int_equal(ended, pid);
    return status;
}

//  Whether signal is still pending for process pid (not yet handled), from /proc.
static bool s_signal_pending(pid_t pid, int signal)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *status = fopen(path, "r");
    if (!status)
        return false;
    bool pending = false;
    while (fgets(line, sizeof line, status))
        if (strncmp(line, "SigPnd:", 7) == 0 || strncmp(line, "ShdPnd:", 7) == 0)
            pending = pending || (strtoull(line + 7, NULL, 16) >> (signal - 1) & 1);
    fclose(status);
    return pending;
}

static void a_second_ctrl_c_stops_the_job_and_exits_130(void **state)
{
    int out_fd;
    pid_t pid = s_start_unbounded_job(&out_fd);
    kill(pid, SIGINT);
    //  Two signals sent back to back may merge into one: send the second once the first
    //  has been taken.
    while (s_signal_pending(pid, SIGINT))
        sched_yield();
    kill(pid, SIGINT);
    int status = s_finish(pid, out_fd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
}

static void sigterm_stops_the_job_and_exits_143(void **state)
{
    int out_fd;
    pid_t pid = s_start_unbounded_job(&out_fd);
    kill(pid, SIGTERM);
    int status = s_finish(pid, out_fd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
}

//  The permission bits of dir/name, or -1 when it does not exist.
static int s_file_mode(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat info;
    return stat(path, &info) == 0 ? (int)(info.st_mode & 07777) : -1;
}

//  `rill keys DIR` makes the cluster certificate (the public and the secret file), names
//  them and says where DIR must go; it never replaces one without --force.
static void keys_makes_the_cluster_certificate_and_replaces_it_only_with_force(void **state)
{
    char base[] = "/tmp/rill-cli-keys-XXXXXX", dir[64], path[128];
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/keys", base);
    EXPECT(0, "cluster.cert_secret", NULL, "keys", dir);
    EXPECT(0, "to every host of the job and keep it private", NULL, "keys", dir, "--force");
    assert_int_equal(s_file_mode(dir, "cluster.cert"), 0644);
    assert_int_equal(s_file_mode(dir, "cluster.cert_secret"), 0600);
    snprintf(path, sizeof path, "%s/cluster.cert", dir);
    char *before = test_read_file(path);
    //  Refused: the certificate every host holds stays as it was.
    EXPECT(1, NULL, "force to replace it", "keys", dir);
    char *after = test_read_file(path);
    assert_string_equal(after, before);
    free(after);
    EXPECT(0, NULL, NULL, "keys", "--force", dir);
    after = test_read_file(path);
    assert_string_not_equal(after, before);
    free(after);
    free(before);
    EXPECT(2, NULL, "no DIR given", "keys");
    EXPECT(2, NULL, "unknown option '--bogus'", "keys", dir, "--bogus");
    EXPECT(2, NULL, "one DIR only", "keys", dir, "other");
    EXPECT(1, NULL, "cannot make key directory '/nonexistent/keys'", "keys",
           "/nonexistent/keys");
    test_remove_tree(base);
}

//  Flink's disableOperatorChaining, from the command line: `rill run --no-chaining` runs
//  every operator subtask as a task of its own (the --metrics table shows each its own task),
//  `rill plan --no-chaining` plans it so; a plan file keeps the chains it was made with.
static void no_chaining_runs_and_plans_every_subtask_as_its_own_task(void **state)
{
    EXPECT(0, "--no-chaining", NULL, "run", "--help");
    EXPECT(0, "--no-chaining", NULL, "plan", "--help");
    char *out = NULL, *err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "run", "seed-example", "-p", "2", "--no-chaining",
                                   "--metrics", "--", "--count", "500", NULL),
                     0);
    assert_non_null(strstr(out, "sensor-0\t"));
    assert_non_null(strstr(err, " task "));
    //  Every subtask runs in its own task, numbered by its own id: "map() [2/2]  #N".
    assert_null(strstr(err, "operators chained into one task"));
    int rows = 0;
    for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n")) {
        int index, parallelism, task;
        char name[64];
        if (sscanf(line, "%63s [%d/%d] #%d", name, &index, &parallelism, &task) == 4)
            rows++;
    }
    assert_true(rows >= 4);
    free(out);
    free(err);
    out = err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "plan", "seed-example", "-p", "2",
                                   "--no-chaining", "--format", "json", NULL),
                     0);
    assert_non_null(strstr(out, "\"chained\": false"));
    assert_null(strstr(out, "\"chained\": true"));
    assert_null(strstr(out, "\"CHAIN\""));
    free(out);
    free(err);
    EXPECT(2, NULL, "a plan file keeps the chains", "viz", "plan.json", "--no-chaining");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_chaining_runs_and_plans_every_subtask_as_its_own_task),
        cmocka_unit_test(help_goes_to_stdout_and_exits_0),
        cmocka_unit_test(jobs_lists_the_bundled_jobs),
        cmocka_unit_test(bad_command_lines_print_usage_and_exit_2),
        cmocka_unit_test(failures_exit_1_with_a_clear_message),
        cmocka_unit_test(a_plugin_sees_the_public_api_and_nothing_else),
        cmocka_unit_test(a_trace_onto_a_full_disk_exits_1),
        cmocka_unit_test(a_trace_metrics_or_report_file_that_is_the_input_is_refused),
        cmocka_unit_test(a_bounded_job_runs_and_exits_0),
        cmocka_unit_test(plan_places_subtasks_on_processes),
        cmocka_unit_test(keys_makes_the_cluster_certificate_and_replaces_it_only_with_force),
        cmocka_unit_test(ctrl_c_drains_a_running_job_and_exits_130),
        cmocka_unit_test(a_second_ctrl_c_stops_the_job_and_exits_130),
        cmocka_unit_test(sigterm_stops_the_job_and_exits_143),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
