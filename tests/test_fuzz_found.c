/*  test_fuzz_found.c: what the fuzz targets (tests/fuzz/) found, replayed as a user would meet
    it. Each input is also committed to its target's corpus, so the fuzz ctests of every
    `make test` replay it under ASan too. Here the tool's commands run in process (the same
    code `rill` runs), with jansson's allocations counted so a leak fails without a sanitizer. */
#include "rill_cli.h"
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

//  JSON values alive, counted through jansson's allocation hooks. A file-level counter because
//  the hooks take no context; the cases run one at a time on one thread.
static long s_json_live;

static void *s_counting_malloc(size_t size)
{
    void *block = malloc(size);
    if (block)
        s_json_live++;
    return block;
}

static void s_counting_free(void *block)
{
    if (block)
        s_json_live--;
    free(block);
}

//  rill trace on a file with its header (the plan) but no hop: fuzz_trace_line found that the
//  plan read from the header leaked when the file was then rejected.
static void trace_file_with_a_plan_but_no_hops_fails_cleanly_and_frees_it(void **state)
{
    char *path = test_source_path("tests/fuzz/corpus/trace_line/wordcount_p1.jsonl");
    json_set_alloc_funcs(s_counting_malloc, s_counting_free);
    s_json_live = 0;
    char *argv[] = {"trace", path, NULL};
    assert_int_equal(rill_cmd_trace(2, argv), RILL_EXIT_FAILURE);
    assert_int_equal(s_json_live, 0);
    json_set_alloc_funcs(malloc, free);
    //  And as a user runs it: a message, exit status 1.
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "trace", path, NULL);
    if (status != 1 || !strstr(err, "holds no hops"))
        fail_msg("rill trace %s: status %d (wanted 1)\nstderr: %s", path, status, err);
    free(err);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trace_file_with_a_plan_but_no_hops_fails_cleanly_and_frees_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
