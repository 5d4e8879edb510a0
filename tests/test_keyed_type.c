/*  test_keyed_type.c: the keyed stream is a type of its own (rill_keyed_stream_t, what
    rill_stream_key_by returns), so a keyed operation on a stream that was never keyed is a
    compile error, not a run-time one. The proof is real: each case writes a small program
    against the public headers (runtime/include) and runs the build's C compiler on it,
    expecting the version with a plain stream to fail, with a diagnostic at the call that names
    the keyed type, and the same program with a keyed stream to compile cleanly under -Werror.
    Then, at run time: settings on the operator a keyed operation returns act on that operator
    (read back from rill_env_plan), and a keyed stream used as a plain one is partitioned by
    key and refuses operator settings, as Flink's KeyedStream has none. */
#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef RILL_TEST_CC
#error "RILL_TEST_CC: the path of the C compiler (tests/CMakeLists.txt passes CMAKE_C_COMPILER)"
#endif

//  The call under test goes at line 100 of the snippet, so its diagnostic is easy to find.
static const char s_snippet[] =
    "#include <rill/rill.h>\n"
    "void keyed_snippet(rill_env_t *env);\n"
    "void keyed_snippet(rill_env_t *env)\n"
    "{\n"
    "    rill_stream_t *plain = rill_env_from_generator(env, NULL, NULL, 1);\n"
    "    rill_keyed_stream_t keyed = rill_stream_key_by(plain, rill_key_first_field, NULL);\n"
    "    rill_window_t window = rill_window_tumbling(10);\n"
    "    (void)plain, (void)keyed, (void)window;\n"
    "#line 100 \"keyed_snippet.c\"\n"
    "    rill_stream_discard(%s);\n"
    "}\n";

//  Compiles the snippet with `call` at line 100 (syntax only; `flags` added) and returns the
//  compiler's exit status, its diagnostics in *output (malloc'd).
static int s_compile(const char *call, const char *flags, char **output)
{
    char text[4096];
    snprintf(text, sizeof text, s_snippet, call);
    char *source = test_temp_file(text);
    char *diagnostics = test_temp_file("");
    assert_non_null(source);
    assert_non_null(diagnostics);
    char *include = test_source_path("runtime/include");
    char command[8192];
    //  LC_ALL=C: plain quotes in GCC's messages.
    snprintf(command, sizeof command,
             "LC_ALL=C '%s' -std=c11 -fsyntax-only %s -I '%s' -x c '%s' > '%s' 2>&1", RILL_TEST_CC,
             flags, include, source, diagnostics);
    int status = system(command);
    assert_true(status != -1 && WIFEXITED(status));
    *output = test_read_file(diagnostics);
    unlink(source);
    unlink(diagnostics);
    free(source);
    free(diagnostics);
    free(include);
    return WEXITSTATUS(status);
}

//  One call, written with `wrong` (which must not compile) and with `right` (which must) as
//  its argument number `argument`.
typedef struct {
    const char *function;
    const char *call; //  a format with one %s: the argument under test
    int argument;
    const char *wrong;
    const char *right;
} s_case_t;

//  Checks that the wrong version is refused at line 100, naming the argument (GCC: "argument
//  N of 'function'", clang: "parameter of incompatible type") and the keyed type, and that
//  the right version compiles without a single warning.
static void s_expect_compile_error(const s_case_t *c)
{
    char call[512], *output = NULL;
    snprintf(call, sizeof call, c->call, c->wrong);
    //  No -Werror here: a warning (all a pointer of another type would get) would pass.
    int status = s_compile(call, "", &output);
    if (status == 0 || !strstr(output, "keyed_snippet.c:100:") || !strstr(output, "error") ||
        !strstr(output, "rill_keyed_stream_t"))
        fail_msg("%s with %s: expected a compile error at the call naming "
                 "rill_keyed_stream_t; the compiler said (status %d):\n%s",
                 c->function, c->wrong, status, output);
    char gcc_says[160];
    snprintf(gcc_says, sizeof gcc_says, "argument %d of '%s'", c->argument, c->function);
    if (!strstr(output, gcc_says) && !strstr(output, "parameter of incompatible type"))
        fail_msg("%s: the diagnostic does not name argument %d:\n%s", c->function, c->argument,
                 output);
    free(output);

    snprintf(call, sizeof call, c->call, c->right);
    status = s_compile(call, "-Wall -Wextra -Werror", &output);
    if (status != 0)
        fail_msg("%s with %s: expected it to compile; the compiler said (status %d):\n%s",
                 c->function, c->right, status, output);
    free(output);
}

//  The first case doubles as the usage example: reduce, window_reduce and process take a
//  keyed stream, and a plain one does not compile.
static void a_keyed_operation_on_a_plain_stream_does_not_compile(void **state)
{
    (void)state;
    const s_case_t cases[] = {
        {"rill_stream_reduce", "rill_stream_reduce(%s, NULL, NULL)", 1, "plain", "keyed"},
        {"rill_stream_window_reduce", "rill_stream_window_reduce(%s, &window, NULL, NULL)", 1,
         "plain", "keyed"},
        {"rill_stream_process", "rill_stream_process(%s, NULL, NULL, NULL)", 1, "plain", "keyed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_expect_compile_error(&cases[i]);
}

static void every_other_keyed_operation_refuses_a_plain_stream_too(void **state)
{
    (void)state;
    const s_case_t cases[] = {
        {"rill_stream_sum", "rill_stream_sum(%s)", 1, "plain", "keyed"},
        {"rill_stream_count", "rill_stream_count(%s)", 1, "plain", "keyed"},
        {"rill_stream_min", "rill_stream_min(%s)", 1, "plain", "keyed"},
        {"rill_stream_max", "rill_stream_max(%s)", 1, "plain", "keyed"},
        {"rill_stream_window_aggregate", "rill_stream_window_aggregate(%s, &window, NULL, NULL)", 1,
         "plain", "keyed"},
        {"rill_stream_window_process", "rill_stream_window_process(%s, &window, NULL, NULL)", 1,
         "plain", "keyed"},
        {"rill_stream_window_builtin",
         "rill_stream_window_builtin(%s, &window, RILL_WINDOW_AGG_SUM)", 1, "plain", "keyed"},
        {"rill_stream_window_apply", "rill_stream_window_apply(%s, &window, NULL, NULL)", 1,
         "plain", "keyed"},
        //  Two-input keyed operations: either side.
        {"rill_stream_co_process", "rill_stream_co_process(keyed, %s, NULL, NULL, NULL)", 2,
         "plain", "keyed"},
        {"rill_stream_co_process", "rill_stream_co_process(%s, keyed, NULL, NULL, NULL)", 1,
         "plain", "keyed"},
        {"rill_stream_interval_join", "rill_stream_interval_join(%s, keyed, 0, 1, NULL, NULL)", 1,
         "plain", "keyed"},
        {"rill_stream_interval_join", "rill_stream_interval_join(keyed, %s, 0, 1, NULL, NULL)", 2,
         "plain", "keyed"},
        {"rill_stream_window_join", "rill_stream_window_join(keyed, %s, &window, NULL, NULL)", 2,
         "plain", "keyed"},
        //  broadcast_process: the first stream is the keyed one ...
        {"rill_stream_broadcast_process",
         "rill_stream_broadcast_process(%s, plain, NULL, NULL, NULL, NULL)", 1, "plain", "keyed"},
        //  ... and the broadcast side a plain stream, as co_map's inputs are.
        {"rill_stream_broadcast_process",
         "rill_stream_broadcast_process(keyed, %s, NULL, NULL, NULL, NULL)", 2, "keyed", "plain"},
        {"rill_stream_co_map", "rill_stream_co_map(%s, plain, NULL, NULL, NULL)", 1, "keyed",
         "plain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_expect_compile_error(&cases[i]);
}

//  The other way round: a keyed stream is not a rill_stream_t *, so it takes no operator
//  settings (Flink's KeyedStream has no name() or setParallelism()) and goes where any stream
//  goes only through rill_keyed_stream_stream.
static void a_keyed_stream_is_no_plain_stream_without_saying_so(void **state)
{
    (void)state;
    const s_case_t cases[] = {
        {"rill_stream_name", "rill_stream_name(%s, \"by key\")", 1, "keyed",
         "rill_stream_sum(keyed)"},
        {"rill_stream_parallelism", "rill_stream_parallelism(%s, 4)", 1, "keyed",
         "rill_stream_reduce(keyed, NULL, NULL)"},
        {"rill_stream_map", "rill_stream_map(%s, NULL, NULL)", 1, "keyed",
         "rill_keyed_stream_stream(keyed)"},
        {"rill_stream_discard", "%s", 1, "keyed", "rill_keyed_stream_stream(keyed)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_expect_compile_error(&cases[i]);
}

//  ---- at run time

static int s_keyed_records(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[32];
    int size = snprintf(text, sizeof text, "k%llu\t%llu", (unsigned long long)(index % 7),
                        (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

static int s_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

static int s_reduce(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                    void *ctx)
{
    (void)acc, (void)ctx;
    return rill_buffer_set(out, in->data, in->size);
}

static int s_process(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                     void *ctx)
{
    (void)process, (void)ctx;
    return rill_collector_emit(out, in->data, in->size, in->timestamp);
}

static int s_broadcast(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                       void *ctx)
{
    (void)process, (void)in, (void)out, (void)ctx;
    return 0;
}

static int s_apply(rill_window_context_t *window, const rill_record_t *records, size_t count,
                   rill_collector_t *out, void *ctx)
{
    (void)window, (void)ctx;
    return count ? rill_collector_emit(out, records[0].data, records[0].size, RILL_NO_TIMESTAMP)
                 : 0;
}

static int s_join(const rill_record_t *left, const rill_record_t *right, rill_collector_t *out,
                  void *ctx)
{
    (void)right, (void)ctx;
    return rill_collector_emit(out, left->data, left->size, RILL_NO_TIMESTAMP);
}

//  Source `name` (parallelism 2), timestamped.
static rill_stream_t *s_source(rill_env_t *env, const char *name)
{
    return rill_stream_assign_timestamps(
        rill_stream_parallelism(
            rill_stream_name(rill_env_from_generator(env, s_keyed_records, NULL, 50), name), 2),
        s_time, NULL, NULL);
}

typedef enum {
    S_REDUCE,
    S_SUM,
    S_WINDOW_REDUCE,
    S_WINDOW_BUILTIN,
    S_WINDOW_APPLY,
    S_PROCESS,
    S_CO_PROCESS,
    S_INTERVAL_JOIN,
    S_WINDOW_JOIN,
    S_BROADCAST_PROCESS,
    S_KINDS
} s_keyed_op_t;

static rill_stream_t *s_keyed_op(s_keyed_op_t kind, rill_keyed_stream_t left,
                                 rill_keyed_stream_t right, rill_stream_t *plain)
{
    rill_window_t window = rill_window_tumbling(10);
    switch (kind) {
    case S_REDUCE:
        return rill_stream_reduce(left, s_reduce, NULL);
    case S_SUM:
        return rill_stream_sum(left);
    case S_WINDOW_REDUCE:
        return rill_stream_window_reduce(left, &window, s_reduce, NULL);
    case S_WINDOW_BUILTIN:
        return rill_stream_window_builtin(left, &window, RILL_WINDOW_AGG_MAX);
    case S_WINDOW_APPLY:
        return rill_stream_window_apply(left, &window, s_apply, NULL);
    case S_PROCESS:
        return rill_stream_process(left, s_process, NULL, NULL);
    case S_CO_PROCESS:
        return rill_stream_co_process(left, right, s_process, NULL, NULL);
    case S_INTERVAL_JOIN:
        return rill_stream_interval_join(left, right, -5, 5, s_join, NULL);
    case S_WINDOW_JOIN:
        return rill_stream_window_join(left, right, &window, s_join, NULL);
    case S_BROADCAST_PROCESS:
        return rill_stream_broadcast_process(left, plain, s_process, s_broadcast, NULL, NULL);
    default:
        return NULL;
    }
}

//  What the user means by rill_stream_parallelism (rill_stream_reduce (keyed, ...), 4): the
//  reduce's parallelism. For every keyed operation, name and parallelism set on its result
//  are the operator's in the plan, and the operators before key_by keep theirs.
static void settings_after_a_keyed_operation_apply_to_that_operator(void **state)
{
    (void)state;
    for (int kind = 0; kind < S_KINDS; kind++) {
        rill_env_t *env = rill_env_new();
        rill_stream_t *left_source = s_source(env, "left");
        rill_stream_t *right_source = s_source(env, "right");
        rill_keyed_stream_t left = rill_stream_key_by(left_source, rill_key_first_field, NULL);
        rill_keyed_stream_t right = rill_stream_key_by(right_source, rill_key_first_field, NULL);
        rill_stream_t *op = rill_stream_name(
            rill_stream_parallelism(s_keyed_op(kind, left, right, right_source), 3), "keyed op");
        assert_non_null(op);
        rill_stream_discard(op);
        bool two_keyed = kind == S_CO_PROCESS || kind == S_INTERVAL_JOIN || kind == S_WINDOW_JOIN;
        if (!two_keyed && kind != S_BROADCAST_PROCESS)
            rill_stream_discard(right_source); //  every output needs a sink
        int id = rill_stream_operator(op);
        assert_true(id >= 0);
        const rill_plan_t *plan = rill_env_plan(env);
        if (!plan)
            fail_msg("keyed operation %d: %s", kind, rill_env_error(env));
        const rill_plan_operator_t *planned = rill_plan_operator(plan, id);
        assert_string_equal(planned->name, "keyed op");
        assert_int_equal(planned->parallelism, 3);
        //  Its keyed inputs come over hash edges from the sources, which kept their settings.
        int hash_inputs = 0;
        for (int e = 0; e < rill_plan_edge_count(plan); e++) {
            const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
            if (edge->to != id)
                continue;
            hash_inputs += edge->pattern == RILL_PATTERN_HASH && edge->keyed;
            const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
            assert_int_equal(from->kind, RILL_OP_TIMESTAMPS);
        }
        assert_int_equal(hash_inputs, two_keyed ? 2 : 1);
        for (int o = 0; o < rill_plan_operator_count(plan); o++) {
            const rill_plan_operator_t *other = rill_plan_operator(plan, o);
            if (other->kind == RILL_OP_SOURCE_GENERATOR) {
                assert_true(strcmp(other->name, "left") == 0 || strcmp(other->name, "right") == 0);
                assert_int_equal(other->parallelism, 2);
            }
        }
        rill_env_destroy(&env);
    }
}

//  A keyed stream as a plain one is still partitioned by key: every record of a key reaches
//  the same subtask of the map that reads it. Settings on that handle are refused, naming
//  key_by, and change nothing (the choice documented in rill_env.h).
static void a_keyed_stream_as_a_plain_one_is_partitioned_and_takes_no_settings(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_stream_t *source = rill_stream_parallelism(
        rill_stream_name(rill_env_from_generator(env, s_keyed_records, NULL, 700), "numbers"), 2);
    rill_keyed_stream_t keyed = rill_stream_key_by(source, rill_key_first_field, NULL);
    rill_stream_t *as_stream = rill_keyed_stream_stream(keyed);
    assert_ptr_equal(as_stream, keyed.stream);
    assert_null(rill_stream_parallelism(as_stream, 5));
    assert_non_null(strstr(rill_env_error(env), "key_by"));
    assert_non_null(strstr(rill_env_error(env), "not an operator"));
    assert_int_equal(rill_stream_operator(as_stream), -1);
    rill_env_destroy(&env);

    env = rill_env_new();
    source = rill_stream_parallelism(
        rill_stream_name(rill_env_from_generator(env, s_keyed_records, NULL, 700), "numbers"), 2);
    keyed = rill_stream_key_by(source, rill_key_first_field, NULL);
    rill_stream_t *tagged = rill_stream_parallelism(
        rill_stream_flat_map(rill_keyed_stream_stream(keyed), test_tag_subtask, NULL), 3);
    rill_stream_collect(tagged, results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    const rill_plan_t *plan = rill_env_plan(env);
    assert_non_null(plan);
    assert_int_equal(rill_plan_operator(plan, 0)->parallelism, 2);
    assert_int_equal(rill_plan_edge(plan, 0)->pattern, RILL_PATTERN_HASH);
    assert_true(rill_plan_edge(plan, 0)->keyed);
    //  "S<TAB>kK<TAB>i": key K (0..6) always on the same subtask S.
    assert_int_equal(rill_results_size(results), 700);
    int subtask_of_key[7] = {-1, -1, -1, -1, -1, -1, -1};
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        int subtask = -1, key = -1;
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)r.size, (const char *)r.data);
        assert_int_equal(sscanf(text, "%d\tk%d", &subtask, &key), 2);
        assert_in_range(key, 0, 6);
        assert_in_range(subtask, 0, 2);
        if (subtask_of_key[key] < 0)
            subtask_of_key[key] = subtask;
        assert_int_equal(subtask_of_key[key], subtask);
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

//  Errors still flow through: a key_by that fails gives a keyed stream with no stream, and
//  every keyed operation on it returns NULL, leaving the first error in place.
static void a_failed_key_by_propagates_null_through_keyed_operations(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_env_from_generator(env, s_keyed_records, NULL, 10);
    rill_keyed_stream_t keyed = rill_stream_key_by(source, NULL, NULL);
    assert_null(keyed.stream);
    assert_non_null(strstr(rill_env_error(env), "key_by: no key extractor given"));
    assert_null(rill_keyed_stream_stream(keyed));
    for (int kind = 0; kind < S_KINDS; kind++)
        assert_null(s_keyed_op(kind, keyed, keyed, source));
    assert_null(rill_stream_key_by(NULL, rill_key_first_field, NULL).stream);
    assert_non_null(strstr(rill_env_error(env), "key_by: no key extractor given"));
    assert_int_equal(rill_env_execute(env), -1);
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_keyed_operation_on_a_plain_stream_does_not_compile),
        cmocka_unit_test(every_other_keyed_operation_refuses_a_plain_stream_too),
        cmocka_unit_test(a_keyed_stream_is_no_plain_stream_without_saying_so),
        cmocka_unit_test(settings_after_a_keyed_operation_apply_to_that_operator),
        cmocka_unit_test(a_keyed_stream_as_a_plain_one_is_partitioned_and_takes_no_settings),
        cmocka_unit_test(a_failed_key_by_propagates_null_through_keyed_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
