/*  test_sources.c: the text-file source on input that is not a plain file and on input that
    is too big to be a record, and the runtime's refusal to write over its own input. Pipes,
    FIFOs and /dev/stdin are read whole, by one subtask; a line longer than the maximum record
    size fails the job (naming operator, subtask and limit) instead of eating memory; a print
    sink whose file is a file source's input is refused before anything runs. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  The lines of text sorted and joined again (the order across keys depends on scheduling).
static char *s_sorted(const char *text)
{
    char *copy = strdup(text);
    size_t count = 0, capacity = 64;
    char **lines = malloc(capacity * sizeof(char *));
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (count == capacity)
            lines = realloc(lines, (capacity *= 2) * sizeof(char *));
        lines[count++] = line;
    }
    qsort(lines, count, sizeof(char *), s_compare_strings);
    char *sorted = calloc(strlen(text) + 2, 1), *at = sorted;
    for (size_t i = 0; i < count; i++)
        at += sprintf(at, "%s\n", lines[i]);
    free(lines);
    free(copy);
    return sorted;
}

//  The tool's run ended well and printed exactly `expected` (sorted); frees out and err.
static void s_expect_counts(int status, char *out, char *err, const char *expected)
{
    if (status != 0)
        fail_msg("exited %d: %s", status, err);
    char *got = s_sorted(out);
    assert_string_equal(got, expected);
    free(got);
    free(out);
    free(err);
}

//  About 480 KiB of words, more than the source's 256 KiB block and a pipe's 64 KiB, so the
//  reader must come back for more: "wN common" for N = line % 100, 40,000 lines.
#define S_LINES 40000
static char *s_words(void)
{
    char *text = malloc(S_LINES * 16), *at = text;
    for (int i = 0; i < S_LINES; i++)
        at += sprintf(at, "w%d common\n", i % 100);
    return text;
}

static char *s_words_counts(void)
{
    char *text = malloc(101 * 32), *at = text;
    at += sprintf(at, "common\t%d\n", S_LINES);
    for (int i = 0; i < 100; i++)
        at += sprintf(at, "w%d\t%d\n", i, S_LINES / 100);
    char *sorted = s_sorted(text);
    free(text);
    return sorted;
}

static void a_pipe_on_stdin_is_read_whole_at_parallelism_1_and_2(void **state)
{
    //  `cat f | rill run wordcount -- --input /dev/stdin`: a pipe has no size to split by, so
    //  subtask 0 reads it all and the other subtasks of the source read nothing, as Flink's
    //  FileInputFormat makes one split of an unsplittable input (its `unsplittable` flag).
    char *input = s_words(), *expected = s_words_counts();
    const char *parallelism[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"run", "wordcount", "-p",         parallelism[i],
                              "--",  "--input",   "/dev/stdin", NULL};
        char *out = NULL, *err = NULL;
        int status = test_run_tool_piped(&out, &err, input, args);
        s_expect_counts(status, out, err, expected);
    }
    free(expected);
    free(input);
}

static void a_fifo_is_read_whole_at_parallelism_2(void **state)
{
    char path[] = "/tmp/rill-fifo-XXXXXX";
    assert_non_null(mkdtemp(path));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/input", path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *input = s_words(), *expected = s_words_counts();
    int feeder = test_fifo_feed(fifo, input);
    assert_true(feeder > 0);
    char *out = NULL, *err = NULL;
    int status =
        test_run_tool(&out, &err, "run", "wordcount", "-p", "2", "--", "--input", fifo, NULL);
    assert_int_equal(test_fifo_feed_finish(fifo, feeder), 0);
    s_expect_counts(status, out, err, expected);
    free(expected);
    free(input);
    unlink(fifo);
    rmdir(path);
}

//  Cancels the job once the source (subtask 0) has sent the three lines the writer gave.
//  Once only: a second cancel is the second Ctrl-C, which stops without draining.
typedef struct {
    rill_env_t *env;
    bool cancelled;
} s_canceller_t;

static void s_cancel_after_three_lines(void *ctx, const rill_metrics_t *metrics)
{
    s_canceller_t *canceller = ctx;
    if (!canceller->cancelled && rill_metrics_subtask(metrics, 0).records_out >= 3) {
        canceller->cancelled = true;
        rill_env_cancel(canceller->env);
    }
}

static void
a_pipe_whose_writer_goes_quiet_still_passes_its_lines_on_and_can_be_cancelled(void **state)
{
    //  `tail -f log | rill run ...`: the writer keeps the FIFO open and says nothing more. The
    //  lines it gave must reach the sink (the source must not sit in read() holding them), and
    //  cancel must stop the job. Before, the source sat in a blocking read and this test hung.
    char dir[] = "/tmp/rill-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/input", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int hold[2];
    assert_int_equal(pipe(hold), 0);
    pid_t writer = fork();
    if (writer == 0) {
        close(hold[1]);
        int fd = open(fifo, O_WRONLY);
        if (fd < 0 || write(fd, "a\nb\nc\n", 6) != 6)
            _exit(1);
        char byte;
        (void)read(hold[0], &byte, 1); //  keeps the FIFO open until the test closes `hold`
        _exit(0);
    }
    close(hold[0]);
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_stream_collect(rill_env_from_text_file(env, fifo), results);
    s_canceller_t canceller = {env, false};
    rill_env_set_monitor(env, s_cancel_after_three_lines, &canceller, 20);
    assert_int_equal(rill_env_execute(env), -1);
    assert_true(rill_env_cancelled(env));
    //  Cancel drains what is in flight: the three lines were delivered.
    assert_int_equal(rill_results_size(results), 3);
    close(hold[1]);
    int unblock = open(fifo, O_RDONLY | O_NONBLOCK); //  in case the writer still waits in open
    int status = -1;
    while (waitpid(writer, &status, 0) < 0 && errno == EINTR)
        ;
    if (unblock >= 0)
        close(unblock);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    unlink(fifo);
    rmdir(dir);
}

static void
a_line_longer_than_the_maximum_fails_fast_naming_operator_subtask_and_limit(void **state)
{
    //  /dev/zero is one endless line: without a limit it grew a buffer until the OOM killer
    //  came. With the default limit (16 MiB) it fails after reading that much.
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "run", "wordcount", "-p", "2", "--", "--input",
                               "/dev/zero", NULL);
    assert_int_equal(status, 1);
    assert_non_null(strstr(err, "operator 'Source: lines' subtask 1/2"));
    assert_non_null(strstr(err, "maximum record size of 16777216 bytes"));
    free(err);
    status = test_run_tool(NULL, &err, "run", "wordcount", "--", "--input", "/dev/zero",
                           "--max-record-size", "64K", NULL);
    assert_int_equal(status, 1);
    assert_non_null(strstr(err, "maximum record size of 65536 bytes"));
    free(err);
    //  A limit out of range is a usage error.
    status = test_run_tool(NULL, &err, "run", "wordcount", "--", "--input", "/dev/zero",
                           "--max-record-size", "0", NULL);
    assert_int_equal(status, 2);
    assert_non_null(strstr(err, "bad --max-record-size"));
    free(err);
}

static void a_long_line_within_the_limit_is_read_whole(void **state)
{
    //  One word of 1 MiB: bigger than the source's block, so the block must grow for it.
    size_t size = 1024 * 1024;
    char *text = malloc(size + 16);
    memset(text, 'a', size);
    strcpy(text + size, "\nb a\n");
    char *input = test_temp_file(text);
    char *out = NULL, *err = NULL;
    int status =
        test_run_tool(&out, &err, "run", "wordcount", "-p", "2", "--", "--input", input, NULL);
    if (status != 0)
        fail_msg("exited %d: %s", status, err);
    char *got = s_sorted(out);
    //  Expected: "a 1", "aaa...a 1", "b 1" in sorted order.
    char *expected = malloc(size + 32);
    memset(expected, 'a', size);
    strcpy(expected + size, "\t1\n");
    char *all = malloc(size + 64);
    sprintf(all, "a\t1\n%sb\t1\n", expected);
    assert_int_equal(strlen(got), strlen(all));
    assert_true(memcmp(got, all, strlen(all)) == 0);
    free(all);
    free(expected);
    free(got);
    free(out);
    free(err);
    unlink(input);
    free(input);
    free(text);
}

//  Runs text file -> collect with the given limit (0: leave the default) set after the source
//  was added; returns execute's result and the record count.
static int s_collect_lines(const char *path, size_t limit, size_t *count, char *error)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_stream_t *lines = rill_stream_name(rill_env_from_text_file(env, path), "Source: text");
    if (limit)
        assert_int_equal(rill_env_set_max_record_size(env, limit), 0);
    rill_stream_collect(lines, results);
    int rc = rill_env_execute(env);
    snprintf(error, 512, "%s", rill_env_error(env));
    *count = rill_results_size(results);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    return rc;
}

static void a_line_of_exactly_the_maximum_is_a_record_and_one_byte_more_fails(void **state)
{
    //  The limit counts the line without its line end ("\r\n" too).
    char *exact = test_temp_file("0123456789\r\nshort\n0123456789");
    char *over = test_temp_file("short\n0123456789A\nshort\n");
    char *over_at_end = test_temp_file("short\n0123456789A");
    char error[512];
    size_t count;
    assert_int_equal(s_collect_lines(exact, 10, &count, error), 0);
    assert_int_equal(count, 3);
    assert_int_equal(s_collect_lines(over, 10, &count, error), -1);
    assert_non_null(strstr(error, "operator 'Source: text' subtask 1/1"));
    assert_non_null(strstr(error, "maximum record size of 10 bytes"));
    assert_int_equal(s_collect_lines(over_at_end, 10, &count, error), -1);
    assert_non_null(strstr(error, "maximum record size of 10 bytes"));
    //  The default is far above these lines.
    assert_int_equal(s_collect_lines(over, 0, &count, error), 0);
    assert_int_equal(count, 3);
    const char *paths[] = {exact, over, over_at_end};
    for (int i = 0; i < 3; i++) {
        unlink(paths[i]);
        free((char *)paths[i]);
    }
}

static void the_maximum_record_size_is_range_checked(void **state)
{
    rill_env_t *env = rill_env_new();
    assert_int_equal(rill_env_set_max_record_size(env, 0), -1);
    assert_non_null(strstr(rill_env_error(env), "maximum record size 0 is out of range"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_int_equal(rill_env_set_max_record_size(env, (size_t)RILL_MAX_RECORD_SIZE_LIMIT + 1), -1);
    assert_int_equal(rill_env_set_max_record_size(env, RILL_MAX_RECORD_SIZE_LIMIT), 0);
    rill_env_destroy(&env);
}

static int s_copy(const char *input, const char *output, int p, char *error);

//  The text-file source refuses a directory, naming it (the bundled jobs read a directory
//  through the directory source instead: test_job_io).
static void the_text_file_source_refuses_a_directory(void **state)
{
    (void)state;
    char error[512];
    assert_int_not_equal(s_copy("/tmp", "/dev/null", 1, error), 0);
    assert_non_null(strstr(error, "is a directory"));
}

//  text file `input` -> print to `output` (sink parallelism p); execute's result and error.
static int s_copy(const char *input, const char *output, int p, char *error)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *lines = rill_stream_name(rill_env_from_text_file(env, input), "Source: in");
    rill_stream_parallelism(rill_stream_name(rill_stream_print(lines, output), "Sink: out"), p);
    int rc = rill_env_execute(env);
    snprintf(error, 512, "%s", rill_env_error(env));
    rill_env_destroy(&env);
    return rc;
}

static void an_output_that_is_the_input_is_refused_before_anything_runs(void **state)
{
    //  `cat f > f` loses f: the sink's fopen("w") truncated the input before it was read.
    const char *text = "one line\nanother line\n";
    char *input = test_temp_file(text);
    char error[512];
    assert_int_equal(s_copy(input, input, 1, error), -1);
    assert_non_null(strstr(error, "operator 'Sink: out'"));
    assert_non_null(strstr(error, "is the input of operator 'Source: in'"));
    char *kept = test_read_file(input);
    assert_string_equal(kept, text);
    free(kept);
    //  The same file under other names: a hard link, a symbolic link, a path with "./".
    char link_name[600], symlink_name[600], dotted[600];
    snprintf(link_name, sizeof link_name, "%s.link", input);
    snprintf(symlink_name, sizeof symlink_name, "%s.symlink", input);
    snprintf(dotted, sizeof dotted, "/tmp/./%s", strrchr(input, '/') + 1);
    assert_int_equal(link(input, link_name), 0);
    assert_int_equal(symlink(input, symlink_name), 0);
    const char *names[] = {link_name, symlink_name, dotted};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s_copy(input, names[i], 1, error), -1);
        assert_non_null(strstr(error, "is the input of operator 'Source: in'"));
    }
    //  A parallel print sink writes NAME.i: subtask 1's file is the input here.
    char base[600];
    snprintf(base, sizeof base, "%s.out", input);
    char part[620];
    snprintf(part, sizeof part, "%s.1", base);
    assert_int_equal(link(input, part), 0);
    assert_int_equal(s_copy(input, base, 2, error), -1);
    assert_non_null(strstr(error, ".out.1' is the input"));
    kept = test_read_file(input);
    assert_string_equal(kept, text);
    free(kept);
    //  Another file is fine, and copies.
    char other[620];
    snprintf(other, sizeof other, "%s.copy", input);
    assert_int_equal(s_copy(input, other, 1, error), 0);
    kept = test_read_file(other);
    assert_string_equal(kept, text);
    free(kept);
    unlink(other);
    unlink(part);
    unlink(link_name);
    unlink(symlink_name);
    unlink(input);
    free(input);
}

static void wordcount_refuses_an_output_that_is_its_input_with_exit_1(void **state)
{
    const char *text = "to be or not to be\n";
    char *input = test_temp_file(text);
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "run", "wordcount", "--", "--input", input, "--output",
                               input, NULL);
    assert_int_equal(status, 1);
    assert_non_null(strstr(err, "is the input of operator 'Source: lines'"));
    char *kept = test_read_file(input);
    assert_string_equal(kept, text);
    free(kept);
    free(err);
    unlink(input);
    free(input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_pipe_on_stdin_is_read_whole_at_parallelism_1_and_2),
        cmocka_unit_test(a_fifo_is_read_whole_at_parallelism_2),
        cmocka_unit_test(
            a_pipe_whose_writer_goes_quiet_still_passes_its_lines_on_and_can_be_cancelled),
        cmocka_unit_test(
            a_line_longer_than_the_maximum_fails_fast_naming_operator_subtask_and_limit),
        cmocka_unit_test(a_long_line_within_the_limit_is_read_whole),
        cmocka_unit_test(a_line_of_exactly_the_maximum_is_a_record_and_one_byte_more_fails),
        cmocka_unit_test(the_maximum_record_size_is_range_checked),
        cmocka_unit_test(the_text_file_source_refuses_a_directory),
        cmocka_unit_test(an_output_that_is_the_input_is_refused_before_anything_runs),
        cmocka_unit_test(wordcount_refuses_an_output_that_is_its_input_with_exit_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
