/*  test_headers.c: each public header compiles alone. tests/CMakeLists.txt generates one
    translation unit per header that includes nothing else, each defining
    header_alone_<name>(); this test links them all and checks each reports its header. */
#include "testutil.h"
#include <string.h>

#define HEADERS(X)                                                                             \
    X(rill) X(rill_export) X(rill_record) X(rill_buffer) X(rill_collector) X(rill_functions)    \
        X(rill_window) X(rill_process) X(rill_graph) X(rill_plan) X(rill_env) X(rill_results)  \
        X(rill_metrics) X(rill_job_plugin) X(rill_time)
#define DECLARE(name) const char *header_alone_##name(void);
HEADERS(DECLARE)

static void each_public_header_compiles_alone(void **state)
{
#define CHECK(name) assert_string_equal(header_alone_##name(), #name ".h");
    HEADERS(CHECK)
}

static void the_umbrella_header_declares_the_whole_api(void **state)
{
    //  Taking addresses proves the declarations exist and link.
    assert_non_null((void *)rill_env_new);
    assert_non_null((void *)rill_plan_from_json);
    assert_non_null((void *)rill_results_new);
    assert_non_null((void *)rill_metrics_from_json);
    assert_string_equal(rill_pattern_name(RILL_PATTERN_HASH), "hash");
    assert_int_equal(rill_pattern_from_name("broadcast"), RILL_PATTERN_BROADCAST);
    assert_string_equal(rill_mode_name(RILL_MODE_BATCH), "batch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_public_header_compiles_alone),
        cmocka_unit_test(the_umbrella_header_declares_the_whole_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
