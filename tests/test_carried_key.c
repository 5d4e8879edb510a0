/*  test_carried_key.c: the key a record carries over a hash edge (its hash, and its place in
    the record when it is a byte range of it) gives a keyed count the same results as the key
    its own extractor would give, at every parallelism: a key at the record's start, one in its
    middle, and a computed one (extracted again by the receiver, only its hash carried). Each
    job's counts are checked against counts made here, record by record. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define S_RECORDS 20000
#define S_KEYS 37

typedef enum { S_FIRST_FIELD, S_SECOND_FIELD, S_COMPUTED } s_shape_t;

//  Key number k of record i, and the record's text in each shape.
static int s_key_of(uint64_t i)
{
    return (int)((i * 7 + i / 3) % S_KEYS);
}

static int s_text(s_shape_t shape, uint64_t i, char *text, size_t size)
{
    int k = s_key_of(i);
    if (shape == S_SECOND_FIELD)
        return snprintf(text, size, "%llu\tkey%d", (unsigned long long)i, k);
    if (shape == S_COMPUTED) //  mixed case: the key is the first field folded to upper case
        return snprintf(text, size, i % 2 ? "KeY%d\t%llu" : "kEy%d\t%llu", k,
                        (unsigned long long)i);
    return snprintf(text, size, "key%d\t%llu", k, (unsigned long long)i);
}

static int s_generate(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[64];
    int size = s_text(*(s_shape_t *)ctx, index, text, sizeof text);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static void s_expect_counts(s_shape_t shape, rill_key_fn key, int parallelism)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, parallelism);
    rill_env_set_mode(env, RILL_MODE_BATCH);
    rill_stream_t *s = rill_env_from_generator(env, s_generate, &shape, S_RECORDS);
    rill_stream_collect(rill_stream_count(rill_stream_key_by(s, key, NULL)), results);
    if (rill_env_execute(env))
        fail_msg("the job failed: %s", rill_env_error(env));
    //  The counts made here, one record at a time.
    long expected[S_KEYS] = {0};
    for (uint64_t i = 0; i < S_RECORDS; i++)
        expected[s_key_of(i)]++;
    assert_int_equal(rill_results_size(results), S_KEYS);
    bool seen[S_KEYS] = {false};
    for (size_t r = 0; r < S_KEYS; r++) {
        rill_record_t record = rill_results_record(results, r);
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)record.size, (const char *)record.data);
        int k = -1;
        long count = -1;
        const char *format = shape == S_COMPUTED ? "KEY%d\t%ld" : "key%d\t%ld";
        if (sscanf(text, format, &k, &count) != 2 || k < 0 || k >= S_KEYS)
            fail_msg("shape %d, p = %d: unexpected result '%s'", shape, parallelism, text);
        assert_false(seen[k]); //  one result per key: no key split across receivers
        seen[k] = true;
        if (count != expected[k])
            fail_msg("shape %d, p = %d: key %d counted %ld, expected %ld", shape, parallelism, k,
                     count, expected[k]);
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
}

static void a_key_at_the_start_of_the_record_counts_as_its_extractor_would(void **state)
{
    for (int p = 1; p <= 3; p++)
        s_expect_counts(S_FIRST_FIELD, rill_key_first_field, p);
}

static void a_key_in_the_middle_of_the_record_counts_as_its_extractor_would(void **state)
{
    for (int p = 1; p <= 3; p++)
        s_expect_counts(S_SECOND_FIELD, test_key_second_field, p);
}

static void a_computed_key_counts_as_its_extractor_would(void **state)
{
    //  Two spellings of each key meet at one receiver and in one table entry.
    for (int p = 1; p <= 3; p++)
        s_expect_counts(S_COMPUTED, test_key_upper_first_field, p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_key_at_the_start_of_the_record_counts_as_its_extractor_would),
        cmocka_unit_test(a_key_in_the_middle_of_the_record_counts_as_its_extractor_would),
        cmocka_unit_test(a_computed_key_counts_as_its_extractor_would),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
