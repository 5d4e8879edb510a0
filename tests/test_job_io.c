/*  test_job_io.c: the bundled jobs take connector URLs for --input and --output
    (jobs/rill_job_io.h, issue 17): wordcount over a directory into rolling part files counts
    the same as over the file into a file; windowed reads dir://...?glob= as it reads the file;
    a bad URL is refused with the connector's message and exit status 2. */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

//  The lines of text, sorted and joined again.
static char *s_sorted(char *text)
{
    size_t count = 0, capacity = 64;
    char **lines = malloc(capacity * sizeof(char *));
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (count == capacity)
            lines = realloc(lines, (capacity *= 2) * sizeof(char *));
        lines[count++] = line;
    }
    qsort(lines, count, sizeof(char *), s_compare_text);
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen(lines[i]) + 1;
    char *joined = calloc(1, size), *at = joined;
    for (size_t i = 0; i < count; i++)
        at += sprintf(at, "%s\n", lines[i]);
    free(lines);
    return joined;
}

//  Every committed part file under dir (no hidden ones), concatenated.
static char *s_read_parts(const char *dir)
{
    DIR *folder = opendir(dir);
    assert_non_null(folder);
    char *all = calloc(1, 1);
    size_t size = 0;
    for (struct dirent *e; (e = readdir(folder));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *part = test_read_file(path);
        size_t more = strlen(part);
        all = realloc(all, size + more + 1);
        memcpy(all + size, part, more + 1);
        size += more;
        free(part);
    }
    closedir(folder);
    return all;
}

static void wordcount_reads_a_directory_and_writes_rolling_parts(void **state)
{
    (void)state;
    char dir[] = "/tmp/rill-job-io-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char in[600], out[600], url[700], file_out[600];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(file_out, sizeof file_out, "%s/counts.txt", dir);
    assert_int_equal(mkdir(in, 0700), 0);
    char *text = test_source_path("data/declaration-of-independence.txt");
    char *words = test_read_file(text);
    char path[700];
    snprintf(path, sizeof path, "%s/a.txt", in);
    FILE *f = fopen(path, "w");
    fputs(words, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/b.txt", in);
    f = fopen(path, "w");
    fputs("Rill rill RILL\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/both.txt", dir);
    f = fopen(path, "w");
    fputs(words, f);
    fputs("Rill rill RILL\n", f);
    fclose(f);
    //  The reference: the same words as one file into one file.
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "wordcount", "-p", "2", "--", "--input",
                                   path, "--output", file_out, NULL),
                     0);
    free(err);
    snprintf(url, sizeof url, "rolling://%s", out);
    assert_int_equal(test_run_tool(NULL, &err, "run", "wordcount", "-p", "2", "--", "--input", in,
                                   "--output", url, NULL),
                     0);
    free(err);
    char *expected = test_read_file(file_out), *got = s_read_parts(out);
    char *a = s_sorted(expected), *b = s_sorted(got);
    assert_string_equal(b, a);
    assert_non_null(strstr(a, "rill\t3\n"));
    free(a);
    free(b);
    free(expected);
    free(got);
    free(words);
    free(text);
    test_remove_tree(dir);
}

static void windowed_reads_a_directory_url_as_the_file(void **state)
{
    (void)state;
    char *data = test_source_path("data");
    char *file = test_source_path("data/sensors.csv");
    char url[700];
    snprintf(url, sizeof url, "dir://%s?glob=sensors.csv", data);
    const char *const common[] = {"--time-column", "time", "--key-column", "sensor",
                                  "--value-column", "temperature", "--window", "tumbling:30s",
                                  "--agg", "avg", "--out-of-orderness", "10s"};
    char *outs[2] = {NULL, NULL};
    const char *inputs[2] = {file, url};
    for (int i = 0; i < 2; i++) {
        const char *args[32] = {"run", "windowed", "--", "--input", inputs[i]};
        int n = 5;
        for (size_t k = 0; k < sizeof common / sizeof common[0]; k++)
            args[n++] = common[k];
        args[n] = NULL;
        char *err = NULL;
        assert_int_equal(test_run_toolv(&outs[i], &err, args), 0);
        free(err);
    }
    assert_true(strlen(outs[0]) > 0);
    assert_string_equal(outs[1], outs[0]);
    free(outs[0]);
    free(outs[1]);
    free(data);
    free(file);
}

static void bad_urls_are_refused_before_anything_runs(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "wordcount", "--", "--input",
                                   "kafka://localhost:9092", NULL),
                     2);
    assert_non_null(strstr(err, "no /topic"));
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "run", "wordcount", "--", "--input",
                                   "zmq+tcp://nowhere", NULL),
                     2);
    assert_non_null(strstr(err, "no port"));
    free(err);
    char *file = test_source_path("data/declaration-of-independence.txt");
    assert_int_equal(test_run_tool(NULL, &err, "run", "wordcount", "--", "--input", file,
                                   "--output", "rolling://", NULL),
                     2);
    assert_non_null(strstr(err, "--output"));
    free(err);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wordcount_reads_a_directory_and_writes_rolling_parts),
        cmocka_unit_test(windowed_reads_a_directory_url_as_the_file),
        cmocka_unit_test(bad_urls_are_refused_before_anything_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
