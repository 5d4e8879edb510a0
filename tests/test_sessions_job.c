/*  test_sessions_job.c: the bundled `sessions` job (session windows with a custom trigger,
    issue 16) on the bundled data/clicks.csv, where every firing was worked out by hand: early
    firings every third row of a session, final ones at its end, sessions that merge when an
    out-of-order row bridges them (their early counts adding up), the same at any parallelism;
    then late rows reported and bad arguments refused. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

//  The output's lines after the header, sorted (firings of different keys come in any order
//  at parallelism > 1), joined back with newlines.
static char *s_sorted_body(char *out, const char *header)
{
    assert_non_null(out);
    assert_memory_equal(out, header, strlen(header));
    char *lines[64];
    size_t count = 0;
    for (char *save = NULL, *line = strtok_r(out + strlen(header), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        assert_true(count < 64);
        lines[count++] = line;
    }
    qsort(lines, count, sizeof(char *), s_compare_text);
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen(lines[i]) + 1;
    char *joined = calloc(1, size);
    for (size_t i = 0; i < count; i++) {
        strcat(joined, lines[i]);
        strcat(joined, "\n");
    }
    return joined;
}

#define S_HEADER "key,session_start,session_end,rows,firing\n"

//  alice: 09:00, 09:04:10, 09:06:30 (early, 3 rows), 09:12, 09:25: final [09:00, 09:55), 5
//  rows; 10:30, 10:33:20, 10:35 (early), 11:02, 11:10: final [10:30, 11:40), 5.
//  bob: 09:05, 09:15:45, 09:40 (early and final, [09:05, 10:10)); 10:50, 11:05: final, 2.
//  carol: 09:21 and 09:41 are [09:21, 10:11) with 2 rows since an early firing; 10:31 opens
//  [10:31, 11:01) with 1; 10:02 (out of order) bridges them: [09:21, 11:01), 2 + 1 + 1 = 4 >=
//  3 fires early with 4 rows, then final with 4; 12:00 alone: final, 1.
static const char *s_expected =
    "alice,2026-03-02T09:00:00.000Z,2026-03-02T09:36:30.000Z,3,early\n"
    "alice,2026-03-02T09:00:00.000Z,2026-03-02T09:55:00.000Z,5,final\n"
    "alice,2026-03-02T10:30:00.000Z,2026-03-02T11:05:00.000Z,3,early\n"
    "alice,2026-03-02T10:30:00.000Z,2026-03-02T11:40:00.000Z,5,final\n"
    "bob,2026-03-02T09:05:00.000Z,2026-03-02T10:10:00.000Z,3,early\n"
    "bob,2026-03-02T09:05:00.000Z,2026-03-02T10:10:00.000Z,3,final\n"
    "bob,2026-03-02T10:50:00.000Z,2026-03-02T11:35:00.000Z,2,final\n"
    "carol,2026-03-02T09:21:00.000Z,2026-03-02T11:01:00.000Z,4,early\n"
    "carol,2026-03-02T09:21:00.000Z,2026-03-02T11:01:00.000Z,4,final\n"
    "carol,2026-03-02T12:00:00.000Z,2026-03-02T12:30:00.000Z,1,final\n";

static void s_run(const char *parallelism)
{
    char *input = test_source_path("data/clicks.csv");
    char *out = NULL, *err = NULL;
    int rc = test_run_tool(&out, &err, "run", "sessions", "-p", parallelism, "--", "--input",
                           input, "--key", "user", "--time", "time", "--gap", "30m", "--early",
                           "3", "--out-of-orderness", "30m", NULL);
    if (rc != 0)
        fail_msg("sessions -p %s exited %d: %s", parallelism, rc, err);
    char *body = s_sorted_body(out, S_HEADER);
    assert_string_equal(body, s_expected);
    free(body);
    free(out);
    free(err);
    free(input);
}

static void the_sessions_job_fires_early_and_final(void **state)
{
    (void)state;
    s_run("1");
    s_run("3");
}

//  Without --early the trigger fires each session once, at its end: Flink's EventTimeTrigger.
static void without_early_firings_each_session_fires_once(void **state)
{
    (void)state;
    char *input = test_source_path("data/clicks.csv");
    char *out = NULL, *err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "run", "sessions", "--", "--input", input, "--key",
                                   "user", "--time", "time", "--out-of-orderness", "30m", NULL),
                     0);
    char *body = s_sorted_body(out, S_HEADER);
    assert_null(strstr(body, "early"));
    assert_non_null(strstr(body, "carol,2026-03-02T09:21:00.000Z,2026-03-02T11:01:00.000Z,4,"
                                 "final\n"));
    size_t lines = 0;
    for (const char *c = body; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 6);
    free(body);
    free(out);
    free(err);
    free(input);
}

//  A row whose merged session the watermark has passed is late: reported, in no firing.
static void late_rows_are_reported(void **state)
{
    (void)state;
    char *input = test_temp_file("t,k\n0,a\n100000,a\n5000,a\n");
    char *out = NULL, *err = NULL;
    assert_int_equal(test_run_tool(&out, &err, "run", "sessions", "--", "--input", input, "--key",
                                   "k", "--time", "t", "--gap", "10s", NULL),
                     0);
    assert_string_equal(out, S_HEADER
                        "a,1970-01-01T00:00:00.000Z,1970-01-01T00:00:10.000Z,1,final\n"
                        "a,1970-01-01T00:01:40.000Z,1970-01-01T00:01:50.000Z,1,final\n");
    assert_non_null(strstr(err, "line 4: late row"));
    assert_non_null(strstr(err, "1 row came after the watermark"));
    free(out);
    free(err);
    unlink(input);
    free(input);
}

static void the_sessions_job_refuses_bad_arguments(void **state)
{
    (void)state;
    char *input = test_temp_file("t,k\n0,a\n");
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "sessions", "--", "--input", input, "--key",
                                   "user", "--time", "t", NULL),
                     1);
    assert_non_null(strstr(err, "no column 'user'"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "sessions", "--", "--input", input, "--key",
                                   "k", "--time", "t", "--early", "0", NULL),
                     2);
    assert_non_null(strstr(err, "bad --early"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "sessions", "--", "--input", input, "--key",
                                   "k", "--time", "t", "--gap", "soon", NULL),
                     2);
    assert_non_null(strstr(err, "bad --gap"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "sessions", "--", "--key", "k", NULL), 2);
    assert_non_null(strstr(err, "are required"));
    free(err);
    unlink(input);
    free(input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_sessions_job_fires_early_and_final),
        cmocka_unit_test(without_early_firings_each_session_fires_once),
        cmocka_unit_test(late_rows_are_reported),
        cmocka_unit_test(the_sessions_job_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
