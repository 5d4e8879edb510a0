/*  test_install.c: installing rill. An outside program builds against an installed rill:
    installs this build into a temporary prefix with `cmake --install`, compiles the README's
    example (jobs/standalone/hello_rill.c, which README.md must quote verbatim) with
    `cc ... $(pkg-config --cflags --libs rill)`, runs it and checks its output. An install is
    relocatable (the tool finds its library and jobs from wherever the prefix is, with a
    clean environment), and installing works after building only what `make build` builds. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
             "LD_LIBRARY_PATH=$pc/.. '%s/hello' > '%s/out.txt'",
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

//  Runs a shell command line made from format; the exit status (0 when it succeeded).
static int s_shell(const char *format, ...);

//  What an installed program links: pkg-config names the runtime's own dependencies only
//  (libzmq, czmq, xxhash, jansson for plan JSON; no Graphviz, whose diagrams live in the
//  tool's rill_viz library), puts no rpath in Libs, and the headers install under <rill/...>
//  with none of the private ones.
static void an_install_pulls_in_no_renderer_no_rpath_and_no_private_header(void **state)
{
    char prefix[] = "/tmp/rill-install-XXXXXX";
    assert_non_null(mkdtemp(prefix));
    assert_int_equal(
        s_shell("cmake --install '%s' --prefix '%s' >/dev/null", getenv("RILL_BUILD_DIR"), prefix),
        0);
    const char *pc = "export PKG_CONFIG_PATH=$(dirname $(find '%s' -name rill.pc | head -n 1))";
    char command[4096];
    //  Each check is a command that succeeds when the install is as it should be.
    snprintf(command, sizeof command,
             "%s; ! pkg-config --libs --static rill | grep -E 'gvc|cgraph|rpath'", pc);
    assert_int_equal(s_shell(command, prefix), 0);
    snprintf(command, sizeof command, "%s; pkg-config --libs rill | grep -q -- -lrill", pc);
    assert_int_equal(s_shell(command, prefix), 0);
    assert_int_equal(s_shell("! readelf -d \"$(find '%s' -name librill.so | head -n 1)\" | "
                             "grep -E 'NEEDED.*(gvc|cgraph)'",
                             prefix),
                     0);
    assert_int_equal(s_shell("test -f '%s/include/rill/rill.h'", prefix), 0);
    assert_int_equal(s_shell("test -z \"$(find '%s/include' -name '*private*' -o -name "
                             "'rill_writer.h' -o -name 'rill_frame.h')\"",
                             prefix),
                     0);
    assert_int_equal(s_shell("rm -rf '%s'", prefix), 0);
}

//  Runs a shell command line made from format; the exit status (0 when it succeeded).
static int s_shell(const char *format, ...)
{
    char command[16384];
    va_list args;
    va_start(args, format);
    int used = vsnprintf(command, sizeof command, format, args);
    va_end(args);
    assert_true(used > 0 && (size_t)used < sizeof command);
    return system(command);
}

//  A clean environment for the installed tool: no LD_LIBRARY_PATH, no RILL_JOB_PATH; only
//  PATH and, under the sanitizers, their options (the suppressions of leaks in other libraries).
static void s_clean_env(char *text, size_t size)
{
    int used = snprintf(text, size, "env -i PATH=/usr/bin:/bin");
    const char *keep[] = {"LSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        const char *value = getenv(keep[i]);
        if (value && used > 0 && (size_t)used < size)
            used += snprintf(text + used, size - (size_t)used, " '%s=%s'", keep[i], value);
    }
    assert_true(used > 0 && (size_t)used < size);
}

//  How many lines of text start with prefix.
static int s_lines_starting(const char *text, const char *prefix)
{
    int count = 0;
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        count += strncmp(line, prefix, strlen(prefix)) == 0;
    return count;
}

//  Checks that PREFIX/bin/rill, run from an unrelated folder with a clean environment, lists
//  the bundled jobs and runs wordcount exactly as the build tree's tool does.
static void s_expect_installed_tool_works(const char *prefix, const char *clean_env)
{
    char *input = test_source_path("data/declaration-of-independence.txt");
    assert_int_equal(
        s_shell("cd / && %s '%s/bin/rill' jobs > '%s/jobs.txt'", clean_env, prefix, prefix), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/jobs.txt", prefix);
    char *jobs = test_read_file(path);
    assert_int_equal(s_lines_starting(jobs, "seed-example "), 1);
    //  Each job once, though the install job folder may be found both relative to the tool and
    //  as the compiled-in path.
    assert_int_equal(s_lines_starting(jobs, "wordcount "), 1);
    free(jobs);
    assert_int_equal(s_shell("cd / && %s '%s/bin/rill' run wordcount -p 2 -- --input '%s' | "
                             "sort > '%s/installed.txt' && '%s/rill' run wordcount -p 2 -- "
                             "--input '%s' | sort > '%s/built.txt' && "
                             "cmp -s '%s/installed.txt' '%s/built.txt'",
                             clean_env, prefix, input, prefix, getenv("RILL_BIN"), input, prefix,
                             prefix, prefix),
                     0);
    snprintf(path, sizeof path, "%s/installed.txt", prefix);
    char *counts = test_read_file(path);
    assert_int_equal(s_lines_starting(counts, "the\t94\n"), 1);
    free(counts);
    free(input);
}

static void an_install_runs_from_any_prefix_even_after_a_move(void **state)
{
    char first[] = "/tmp/rill-prefix-a-XXXXXX", second[] = "/tmp/rill-prefix-b-XXXXXX";
    assert_non_null(mkdtemp(first));
    assert_non_null(mkdtemp(second));
    const char *build = getenv("RILL_BUILD_DIR");
    assert_int_equal(s_shell("cmake --install '%s' --prefix '%s' >/dev/null", build, first), 0);
    assert_int_equal(s_shell("cmake --install '%s' --prefix '%s' >/dev/null", build, second), 0);
    //  The first prefix moves after the install: nothing may point at where it was.
    char moved[64];
    snprintf(moved, sizeof moved, "%s-moved", first);
    assert_int_equal(rename(first, moved), 0);
    char clean_env[4096];
    s_clean_env(clean_env, sizeof clean_env);
    s_expect_installed_tool_works(moved, clean_env);
    s_expect_installed_tool_works(second, clean_env);
    assert_int_equal(s_shell("rm -rf '%s' '%s'", moved, second), 0);
}

//  `make build` builds only some targets (read from the Makefile's build rule, so the test
//  follows it); `make install` then runs `cmake --install`, which must find all it installs.
static void install_works_after_building_only_what_make_build_builds(void **state)
{
    char scratch[] = "/tmp/rill-make-build-XXXXXX";
    assert_non_null(mkdtemp(scratch));
    const char *source = getenv("RILL_SOURCE_DIR");
    assert_int_equal(s_shell("set -e; targets=$(sed -n 's/.*cmake --build $(BUILD).*--target "
                             "//p' '%s/Makefile' | head -n 1); test -n \"$targets\"; "
                             "cmake -S '%s' -B '%s/build' -DCMAKE_BUILD_TYPE=Debug >/dev/null; "
                             "cmake --build '%s/build' -j 2 --target $targets >/dev/null; "
                             "cmake --install '%s/build' --prefix '%s/prefix' >/dev/null",
                             source, source, scratch, scratch, scratch, scratch),
                     0);
    char clean_env[4096];
    s_clean_env(clean_env, sizeof clean_env);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/prefix", scratch);
    struct stat info;
    char path[512];
    snprintf(path, sizeof path, "%s/lib/librill.a", prefix);
    assert_int_equal(stat(path, &info), 0);
    s_expect_installed_tool_works(prefix, clean_env);
    assert_int_equal(s_shell("rm -rf '%s'", scratch), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_readme_quotes_the_example_verbatim),
        cmocka_unit_test(an_outside_program_builds_with_pkg_config_and_runs),
        cmocka_unit_test(an_install_pulls_in_no_renderer_no_rpath_and_no_private_header),
        cmocka_unit_test(an_install_runs_from_any_prefix_even_after_a_move),
        cmocka_unit_test(install_works_after_building_only_what_make_build_builds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
