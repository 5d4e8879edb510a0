/*  test_install.c: an outside program builds against an installed rill. Installs this build
    into a temporary prefix with `cmake --install`, compiles the README's example
    (jobs/standalone/hello_rill.c, which README.md must quote verbatim) with
    `cc ... $(pkg-config --cflags --libs rill)`, runs it and checks its output. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>

#ifndef RILL_TEST_EXTRA_CFLAGS
#define RILL_TEST_EXTRA_CFLAGS ""
#endif

static void the_readme_quotes_the_example_verbatim(void **state)
{
    char *example_path = test_source_path("jobs/standalone/hello_rill.c");
    char *readme_path = test_source_path("README.md");
    char *example = test_read_file(example_path), *readme = test_read_file(readme_path);
    assert_non_null(strstr(readme, example));
    free(example);
    free(readme);
    free(example_path);
    free(readme_path);
}

static void an_outside_program_builds_with_pkg_config_and_runs(void **state)
{
    char prefix[] = "/tmp/rill-install-XXXXXX";
    assert_non_null(mkdtemp(prefix));
    char *example = test_source_path("jobs/standalone/hello_rill.c");
    char command[8192];
    snprintf(command, sizeof command,
             "set -e; cmake --install '%s' --prefix '%s' >/dev/null; "
             "pc=$(dirname $(find '%s' -name rill.pc | head -n 1)); "
             "cc %s '%s' $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs rill) -o '%s/hello'; "
             "'%s/hello' > '%s/out.txt'",
             getenv("RILL_BUILD_DIR"), prefix, prefix, RILL_TEST_EXTRA_CFLAGS, example, prefix,
             prefix, prefix);
    assert_int_equal(system(command), 0);
    char out_path[256];
    snprintf(out_path, sizeof out_path, "%s/out.txt", prefix);
    char *out = test_read_file(out_path);
    //  0 + 2 + ... + 998 and 1 + 3 + ... + 999.
    assert_string_equal(out, "even\t249500\nodd\t250000\n");
    free(out);
    snprintf(command, sizeof command, "rm -rf '%s'", prefix);
    assert_int_equal(system(command), 0);
    free(example);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_readme_quotes_the_example_verbatim),
        cmocka_unit_test(an_outside_program_builds_with_pkg_config_and_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
