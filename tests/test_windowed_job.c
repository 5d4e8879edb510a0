/*  test_windowed_job.c: the bundled `windowed` job on CSV input: ISO-8601 and epoch times,
    every window kind and aggregation, bad rows reported with line numbers (never fatal,
    never silent), late rows reported, the same output at parallelism 1, 2 and 4, and bad
    command lines. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Runs the job on csv (from a file, or through a pipe on its stdin when piped) with extra
//  arguments; returns stdout's lines sorted, and stderr.
static char *s_run_from(bool piped, const char *csv, const char *p, const char *window,
                        const char *agg, const char *ooo, char **err, int *status)
{
    char *input = piped ? strdup("/dev/stdin") : test_temp_file(csv);
    char *out = NULL;
    const char *args[] = {"run",  "windowed",
                          "-p",   p,
                          "--",   "--input",
                          input,  "--time-column",
                          "t",    "--key-column",
                          "k",    "--value-column",
                          "v",    "--window",
                          window, "--agg",
                          agg,    "--out-of-orderness",
                          ooo,    NULL};
    *status = piped ? test_run_tool_piped(&out, err, csv, args) : test_run_toolv(&out, err, args);
    if (!piped)
        unlink(input);
    free(input);
    //  Sort lines: the order across keys depends on scheduling.
    size_t count = 0;
    char *lines[256];
    for (char *line = strtok(out, "\n"); line && count < 256; line = strtok(NULL, "\n"))
        lines[count++] = line;
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *swap = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = swap;
        }
    char *sorted = calloc(strlen(csv) * 4 + 4096, 1);
    for (size_t i = 0; i < count; i++) {
        strcat(sorted, lines[i]);
        strcat(sorted, "\n");
    }
    free(out);
    return sorted;
}

static char *s_run(const char *csv, const char *p, const char *window, const char *agg,
                   const char *ooo, char **err, int *status)
{
    return s_run_from(false, csv, p, window, agg, ooo, err, status);
}

static const char *s_csv = "t,k,v\n"
                           "1970-01-01T00:00:01Z,a,1\n"
                           "1970-01-01T00:00:02.500Z,b,10\n"
                           "5000,a,2\n"
                           "1970-01-01T00:00:03.000,a,4\n"
                           "1970-01-01T00:00:12Z,a,8\n"
                           "1970-01-01T00:00:11.250Z,b,20\n";

static void tumbling_sum_prints_one_line_per_window_with_epoch_bounds(void **state)
{
    char *err = NULL;
    int status;
    char *out = s_run(s_csv, "2", "tumbling:10s", "sum", "5s", &err, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "0,10000,a,7\n0,10000,b,10\n10000,20000,a,8\n10000,20000,b,20\n");
    free(out);
    free(err);
}

static void sliding_and_session_windows_and_every_aggregation(void **state)
{
    char *err = NULL;
    int status;
    char *out = s_run(s_csv, "1", "sliding:10s:5s", "count", "5s", &err, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "-5000,5000,a,2\n-5000,5000,b,1\n0,10000,a,3\n0,10000,b,1\n"
                             "10000,20000,a,1\n10000,20000,b,1\n5000,15000,a,2\n"
                             "5000,15000,b,1\n");
    free(out);
    free(err);
    out = s_run(s_csv, "2", "session:3s", "avg", "10s", &err, &status);
    assert_int_equal(status, 0);
    //  a: 1 s, 3 s, 5 s chain into one session [1000, 8000); 12 s stands alone.
    assert_string_equal(out, "1000,8000,a,2.3333333333333335\n11250,14250,b,20\n"
                             "12000,15000,a,8\n2500,5500,b,10\n");
    free(out);
    free(err);
    out = s_run(s_csv, "2", "tumbling:1d", "min", "1h", &err, &status);
    assert_string_equal(out, "0,86400000,a,1\n0,86400000,b,10\n");
    free(out);
    free(err);
    out = s_run(s_csv, "2", "tumbling:1s", "max", "250ms", &err, &status);
    //  With 250 ms of out-of-orderness the row at 3 s comes after 5 s moved the watermark
    //  past [3000, 4000): it is late, and reported.
    assert_string_equal(out, "1000,2000,a,1\n11000,12000,b,20\n12000,13000,a,8\n"
                             "2000,3000,b,10\n5000,6000,a,2\n");
    assert_non_null(strstr(err, "1 row came after its window had fired"));
    free(out);
    free(err);
}

static void bad_rows_are_reported_with_line_numbers_and_skipped(void **state)
{
    const char *csv = "t,k,v\n"
                      "1970-01-01T00:00:01Z,a,1\n"
                      "yesterday,a,5\n"
                      "1970-01-01T00:00:02Z,a,many\n"
                      "1970-01-01T00:00:03Z,a\n"
                      "1970-01-01T00:00:04Z,a,2\n";
    char *err = NULL;
    int status;
    char *out = s_run(csv, "2", "tumbling:10s", "sum", "0", &err, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "0,10000,a,3\n");
    assert_non_null(strstr(err, "line 3: cannot read the time"));
    assert_non_null(strstr(err, "line 4: cannot read the value"));
    assert_non_null(strstr(err, "line 5: wrong number of columns"));
    assert_non_null(strstr(err, "3 rows did not parse"));
    free(out);
    free(err);
}

static void the_output_is_the_same_at_parallelism_1_2_and_4(void **state)
{
    char *sample = test_source_path("data/sensors.csv");
    FILE *file = fopen(sample, "r");
    assert_non_null(file);
    char csv[8192];
    size_t size = fread(csv, 1, sizeof csv - 1, file);
    csv[size] = 0;
    fclose(file);
    //  The bundled sample names its columns time,sensor,temperature; rename for s_run.
    char *body = strchr(csv, '\n');
    char renamed[8300];
    snprintf(renamed, sizeof renamed, "t,k,v%s", body);
    char *err = NULL;
    int status;
    char *reference = s_run(renamed, "1", "tumbling:30s", "avg", "10s", &err, &status);
    assert_int_equal(status, 0);
    assert_true(strlen(reference) > 50);
    free(err);
    const char *parallelism[] = {"2", "4"};
    for (int i = 0; i < 2; i++) {
        char *out = s_run(renamed, parallelism[i], "tumbling:30s", "avg", "10s", &err, &status);
        assert_string_equal(out, reference);
        free(out);
        free(err);
    }
    free(reference);
    free(sample);
}

static void bad_arguments_exit_2_and_a_missing_column_exits_1(void **state)
{
    char *err = NULL;
    int status;
    char *out = s_run(s_csv, "2", "hopping:10s", "sum", "0", &err, &status);
    assert_int_equal(status, 2);
    assert_non_null(strstr(err, "bad window"));
    free(out);
    free(err);
    out = s_run(s_csv, "2", "tumbling:10s", "median", "0", &err, &status);
    assert_int_equal(status, 2);
    free(out);
    free(err);
    out = s_run(s_csv, "2", "tumbling:10s", "sum", "ten", &err, &status);
    assert_int_equal(status, 2);
    free(out);
    free(err);
    out = s_run("x,y,z\n1,2,3\n", "2", "tumbling:10s", "sum", "0", &err, &status);
    assert_int_equal(status, 1);
    assert_non_null(strstr(err, "no column 't'"));
    free(out);
    free(err);
}

static void a_non_finite_value_is_a_bad_row_reported_by_line_never_a_failed_job(void **state)
{
    //  nan used to reach the window's sum and fail the whole job.
    const char *csv = "t,k,v\n"
                      "1000,a,1\n"
                      "2000,a,nan\n"
                      "3000,a,inf\n"
                      "4000,a,-inf\n"
                      "5000,a,1e999\n"
                      "6000,a,NaN\n"
                      "7000,a,2.5\n";
    for (int piped = 0; piped < 2; piped++) {
        char *err = NULL;
        int status;
        char *out = s_run_from(piped, csv, "2", "tumbling:10s", "sum", "0", &err, &status);
        assert_int_equal(status, 0);
        assert_string_equal(out, "0,10000,a,3.5\n");
        assert_non_null(strstr(err, "line 3: cannot read the value (not a finite number"));
        assert_non_null(strstr(err, "line 4: cannot read the value (not a finite number"));
        assert_non_null(strstr(err, "line 5: cannot read the value (not a finite number"));
        assert_non_null(strstr(err, "line 6: cannot read the value (not a finite number"));
        assert_non_null(strstr(err, "5 rows did not parse"));
        free(out);
        free(err);
    }
}

static void keys_with_commas_quotes_or_tabs_are_quoted_in_the_output_as_rfc_4180_says(void **state)
{
    //  RFC 4180: a field holding a comma, a double quote or a line break is enclosed in double
    //  quotes, and a quote inside is doubled. Such keys also stay whole keys: "a,b" is not "a".
    const char *csv = "t,k,v\n"
                      "1000,\"a,b\",1\n"
                      "2000,a,10\n"
                      "3000,\"a,b\",2\n"
                      "4000,\"say \"\"hi\"\"\",4\n"
                      "5000,\"x\ty\",8\n"
                      "6000,x,16\n"
                      "7000,\" padded\",32\n";
    char *err = NULL;
    int status;
    char *out = s_run(csv, "2", "tumbling:10s", "sum", "0", &err, &status);
    assert_int_equal(status, 0);
    assert_string_equal(out, "0,10000,\" padded\",32\n"
                             "0,10000,\"a,b\",3\n"
                             "0,10000,\"say \"\"hi\"\"\",4\n"
                             "0,10000,\"x\ty\",8\n"
                             "0,10000,a,10\n"
                             "0,10000,x,16\n");
    assert_null(strstr(err, "did not parse"));
    free(out);
    free(err);
}

static void a_utf8_byte_order_mark_before_the_header_is_skipped(void **state)
{
    //  Spreadsheets write one; it used to make the first column's name "\xEF\xBB\xBFt".
    const char *csv = "\xEF\xBB\xBFt,k,v\n"
                      "1000,a,1\n"
                      "2000,a,2\n";
    for (int piped = 0; piped < 2; piped++) {
        char *err = NULL;
        int status;
        char *out = s_run_from(piped, csv, "1", "tumbling:10s", "sum", "0", &err, &status);
        if (status != 0)
            fail_msg("piped %d: exit %d: %s", piped, status, err);
        assert_string_equal(out, "0,10000,a,3\n");
        assert_null(strstr(err, "did not parse"));
        free(out);
        free(err);
    }
}

static void late_rows_are_reported_with_their_line_numbers(void **state)
{
    //  Flink skips a record whose every window is late (WindowOperator.isWindowLate: window
    //  end - 1 + allowed lateness <= watermark) and hands it to the late side output
    //  (isElementLate, sideOutputLateData); the job reports each such row by line, as it
    //  reports bad rows. Here 250 ms of out-of-orderness:
    //  the row at 3 s (line 5) comes after the row at 5 s moved the watermark past 4 s.
    char *err = NULL;
    int status;
    char *out = s_run(s_csv, "2", "tumbling:1s", "max", "250ms", &err, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "windowed: line 5: late row (time 3000"));
    assert_non_null(strstr(err, "1 row came after its window had fired"));
    free(out);
    free(err);
}

static void input_from_a_pipe_is_read_whole_and_gives_the_output_of_a_file(void **state)
{
    //  `cat f | rill run windowed -- --input /dev/stdin ...`: the header cannot be read ahead
    //  (it would be gone), so the parse step takes line 1 as the header.
    const char *parallelism[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        int status;
        char *reference = s_run(s_csv, parallelism[i], "tumbling:10s", "sum", "5s", &err, &status);
        assert_int_equal(status, 0);
        free(err);
        char *out =
            s_run_from(true, s_csv, parallelism[i], "tumbling:10s", "sum", "5s", &err, &status);
        assert_int_equal(status, 0);
        assert_string_equal(out, reference);
        free(out);
        free(reference);
        free(err);
    }
    //  A wrong column name still fails, once line 1 shows it.
    char *err = NULL;
    int status;
    char *out = s_run_from(true, "x,y,z\n1,2,3\n", "2", "tumbling:10s", "sum", "0", &err, &status);
    assert_int_equal(status, 1);
    assert_non_null(strstr(err, "no column 't'"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tumbling_sum_prints_one_line_per_window_with_epoch_bounds),
        cmocka_unit_test(sliding_and_session_windows_and_every_aggregation),
        cmocka_unit_test(bad_rows_are_reported_with_line_numbers_and_skipped),
        cmocka_unit_test(the_output_is_the_same_at_parallelism_1_2_and_4),
        cmocka_unit_test(bad_arguments_exit_2_and_a_missing_column_exits_1),
        cmocka_unit_test(a_non_finite_value_is_a_bad_row_reported_by_line_never_a_failed_job),
        cmocka_unit_test(keys_with_commas_quotes_or_tabs_are_quoted_in_the_output_as_rfc_4180_says),
        cmocka_unit_test(a_utf8_byte_order_mark_before_the_header_is_skipped),
        cmocka_unit_test(late_rows_are_reported_with_their_line_numbers),
        cmocka_unit_test(input_from_a_pipe_is_read_whole_and_gives_the_output_of_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
