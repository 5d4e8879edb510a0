/*  test_fuzz_found.c: what the fuzz targets (tests/fuzz/) found, replayed through the rill tool
    as a user would meet it: each input is committed to its target's corpus, and here it must
    end in a clear message and exit status 1. A leak or a bad read fails these cases under
    `make sanitize` (the sanitizer's own exit status) and the fuzz ctests in every `make test`. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

//  rill trace on a file with its header (the plan) but no hop: found by fuzz_trace_line, which
//  saw the plan read from the header leak when the file was then rejected.
static void trace_file_with_a_plan_but_no_hops_fails_cleanly(void **state)
{
    char *path = test_source_path("tests/fuzz/corpus/trace_line/wordcount_p1.jsonl");
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
        cmocka_unit_test(trace_file_with_a_plan_but_no_hops_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
