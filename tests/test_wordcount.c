/*  test_wordcount.c: the bundled WordCount job, run through the rill tool at parallelism 1,
    2 and 4, gives the same counts, equal to a reference computed here independently (a
    plain single-threaded tokenizer and a sorted list of words). */
#include "testutil.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  "word\tcount" lines, sorted, from the given text, computed the simple way.
static char *s_reference(const char *text)
{
    size_t capacity = 1024, count = 0;
    char **words = malloc(capacity * sizeof(char *));
    for (const char *at = text; *at;) {
        while (*at && !isalnum((unsigned char)*at))
            at++;
        const char *start = at;
        while (*at && isalnum((unsigned char)*at))
            at++;
        if (at == start)
            continue;
        if (count == capacity)
            words = realloc(words, (capacity *= 2) * sizeof(char *));
        char *word = strndup(start, (size_t)(at - start));
        for (char *c = word; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        words[count++] = word;
    }
    qsort(words, count, sizeof(char *), s_compare_strings);
    size_t size = 0;
    char *lines = malloc(count * 64 + 1);
    lines[0] = 0;
    for (size_t i = 0; i < count;) {
        size_t j = i;
        while (j < count && strcmp(words[j], words[i]) == 0)
            j++;
        size += (size_t)sprintf(lines + size, "%s\t%zu\n", words[i], j - i);
        i = j;
    }
    for (size_t i = 0; i < count; i++)
        free(words[i]);
    free(words);
    return lines;
}

//  Sorts the lines of text in place (as the reference is sorted) and returns it.
static char *s_sort_lines(char *text)
{
    size_t count = 0, capacity = 1024, total = strlen(text) + 2;
    char **lines = malloc(capacity * sizeof(char *));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (count == capacity)
            lines = realloc(lines, (capacity *= 2) * sizeof(char *));
        lines[count++] = line;
    }
    qsort(lines, count, sizeof(char *), s_compare_strings);
    total += count;
    char *sorted = malloc(total), *at = sorted;
    *at = 0;
    for (size_t i = 0; i < count; i++)
        at += sprintf(at, "%s\n", lines[i]);
    free(lines);
    return sorted;
}

static void s_check_parallelism(const char *input, const char *reference, const char *p)
{
    char output[] = "/tmp/rill-wordcount-XXXXXX";
    close(mkstemp(output));
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "run", "wordcount", "-p", p, "--", "--input", input,
                               "--output", output, NULL);
    if (status != 0)
        fail_msg("wordcount -p %s exited %d: %s", p, status, err);
    char *got = test_read_file(output);
    //  Each word's count lines sort the same way only if the key (word) sorts first; since
    //  words never contain a TAB, sorting whole lines matches sorting by word.
    char *sorted = s_sort_lines(got);
    assert_string_equal(sorted, reference);
    free(sorted);
    free(got);
    free(err);
    unlink(output);
}

static void wordcount_is_the_same_at_parallelism_1_2_and_4(void **state)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    char *text = test_read_file(input);
    char *reference = s_reference(text);
    assert_true(strlen(reference) > 1000);
    s_check_parallelism(input, reference, "1");
    s_check_parallelism(input, reference, "2");
    s_check_parallelism(input, reference, "4");
    free(reference);
    free(text);
    free(input);
}

static void wordcount_splits_on_non_alphanumerics_and_lowercases(void **state)
{
    char *input = test_temp_file("Hello, WORLD! hello--world 42 x42\tyes\r\nnaïve\n");
    char output[] = "/tmp/rill-wordcount-XXXXXX";
    close(mkstemp(output));
    assert_int_equal(test_run_tool(NULL, NULL, "run", "wordcount", "-p", "2", "--", "--input",
                                   input, "--output", output, NULL),
                     0);
    char *raw = test_read_file(output);
    char *got = s_sort_lines(raw);
    free(raw);
    //  Bytes outside ASCII split words too: "naïve" is "na" and "ve".
    assert_string_equal(got, "42\t1\nhello\t2\nna\t1\nve\t1\nworld\t2\nx42\t1\nyes\t1\n");
    free(got);
    unlink(output);
    unlink(input);
    free(input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wordcount_is_the_same_at_parallelism_1_2_and_4),
        cmocka_unit_test(wordcount_splits_on_non_alphanumerics_and_lowercases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
