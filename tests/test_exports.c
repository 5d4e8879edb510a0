/*  test_exports.c: the boundary of the installed library. librill.so is built with hidden
    visibility, and only what the public headers (runtime/include/rill/) mark RILL_EXPORT is
    exported. The committed list tests/rill.exports names that API; this test checks the
    library's dynamic symbol table (nm -D --defined-only) against it, and the list against the
    headers, so an internal function cannot leak out and a documented one cannot go missing. */
#include "testutil.h"
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

//  A sorted, duplicate-free list of names.
typedef struct {
    char **names;
    size_t count;
    size_t capacity;
} s_names_t;

static void s_names_add(s_names_t *self, const char *name, size_t length)
{
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 64;
        self->names = realloc(self->names, self->capacity * sizeof *self->names);
        assert_non_null(self->names);
    }
    self->names[self->count] = strndup(name, length);
    assert_non_null(self->names[self->count]);
    self->count++;
}

static int s_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_names_sort(s_names_t *self)
{
    qsort(self->names, self->count, sizeof *self->names, s_compare);
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (kept && strcmp(self->names[kept - 1], self->names[i]) == 0)
            free(self->names[i]);
        else
            self->names[kept++] = self->names[i];
    }
    self->count = kept;
}

static void s_names_free(s_names_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->names[i]);
    free(self->names);
}

//  Prints what one list has and the other lacks, and fails when they differ.
static void s_expect_equal(const s_names_t *actual, const char *actual_what,
                           const s_names_t *expected, const char *expected_what)
{
    int differences = 0;
    size_t i = 0, j = 0;
    while (i < actual->count || j < expected->count) {
        int order = i == actual->count     ? 1
                    : j == expected->count ? -1
                                           : strcmp(actual->names[i], expected->names[j]);
        if (order < 0)
            printf("in %s, not in %s: %s\n", actual_what, expected_what, actual->names[i++]);
        else if (order > 0)
            printf("in %s, not in %s: %s\n", expected_what, actual_what, expected->names[j++]);
        else
            i++, j++;
        differences += order != 0;
    }
    assert_int_equal(differences, 0);
}

//  The committed list: one symbol a line; '#' starts a comment line.
static void s_read_list(s_names_t *names)
{
    char *text = test_read_file(RILL_TEST_EXPORTS_LIST);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && line[0])
            s_names_add(names, line, strlen(line));
    free(text);
    s_names_sort(names);
}

//  The functions the public headers mark RILL_EXPORT: the name before the first '(' that
//  follows the marker.
static void s_read_headers(s_names_t *names)
{
    char *folder = test_source_path("runtime/include/rill");
    DIR *dir = opendir(folder);
    assert_non_null(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t length = strlen(entry->d_name);
        if (length < 3 || strcmp(entry->d_name + length - 2, ".h") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        char *text = test_read_file(path);
        for (char *at = strstr(text, "\nRILL_EXPORT "); at; at = strstr(at + 1, "\nRILL_EXPORT ")) {
            char *paren = strchr(at, '(');
            assert_non_null(paren);
            char *end = paren;
            while (end > at && isspace((unsigned char)end[-1]))
                end--;
            char *start = end;
            while (start > at && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
                start--;
            assert_true(end > start);
            s_names_add(names, start, (size_t)(end - start));
        }
        free(text);
    }
    closedir(dir);
    free(folder);
    s_names_sort(names);
}

//  The shared library's exported definitions (functions and data), as the dynamic linker
//  sees them.
static void s_read_library(s_names_t *names)
{
    char command[4096];
    snprintf(command, sizeof command, "nm -D --defined-only '%s/lib/librill.so'",
             getenv("RILL_BUILD_DIR"));
    FILE *nm = popen(command, "r");
    assert_non_null(nm);
    char line[1024];
    while (fgets(line, sizeof line, nm)) {
        //  "ADDRESS TYPE NAME": the name is the last field.
        char *name = strrchr(line, ' ');
        assert_non_null(name);
        name++;
        size_t length = strcspn(name, "\n@");
        s_names_add(names, name, length);
    }
    assert_int_equal(pclose(nm), 0);
    s_names_sort(names);
}

static void the_shared_library_exports_exactly_the_listed_api(void **state)
{
    s_names_t exported = {0}, listed = {0};
    s_read_library(&exported);
    s_read_list(&listed);
    assert_true(listed.count > 100);
    s_expect_equal(&exported, "librill.so", &listed, "tests/rill.exports");
    s_names_free(&exported);
    s_names_free(&listed);
}

static void the_listed_api_is_what_the_public_headers_export(void **state)
{
    s_names_t declared = {0}, listed = {0};
    s_read_headers(&declared);
    s_read_list(&listed);
    s_expect_equal(&declared, "the public headers", &listed, "tests/rill.exports");
    s_names_free(&declared);
    s_names_free(&listed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_shared_library_exports_exactly_the_listed_api),
        cmocka_unit_test(the_listed_api_is_what_the_public_headers_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
