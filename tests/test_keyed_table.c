/*  test_keyed_table.c: a subtask's keyed state (rill_keyed_table): put, find, remove, resize,
    growth through many keys, iteration; colliding hashes and probe runs that wrap around the
    end of the slot array, checked against a plain reference after every step. */
#include "rill_keyed_table.h"
#include "rill_metrics_private.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static rill_keyed_entry_t *s_put(rill_keyed_table_t *table, const char *key, uint64_t hash,
                                 const char *value, int64_t timestamp)
{
    return rill_keyed_table_put(table, key, strlen(key), hash, value, strlen(value), timestamp);
}

static rill_keyed_entry_t *s_find(rill_keyed_table_t *table, const char *key, uint64_t hash)
{
    return rill_keyed_table_find(table, key, strlen(key), hash);
}

static void s_expect_value(const rill_keyed_entry_t *entry, const char *value)
{
    assert_non_null(entry);
    assert_int_equal(entry->value_size, strlen(value));
    assert_memory_equal(rill_keyed_entry_value(entry), value, entry->value_size);
}

static void a_value_put_is_found_under_its_key(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    assert_int_equal(rill_keyed_table_size(table), 0);
    uint64_t hash = rill_keyed_hash("apple", 5);
    rill_keyed_entry_t *entry = s_put(table, "apple", hash, "red", 42);
    assert_non_null(entry);
    assert_int_equal(rill_keyed_table_size(table), 1);
    entry = s_find(table, "apple", hash);
    s_expect_value(entry, "red");
    assert_int_equal(entry->key_size, 5);
    assert_memory_equal(rill_keyed_entry_key(entry), "apple", 5);
    assert_int_equal(entry->timestamp, 42);
    assert_null(s_find(table, "pear", rill_keyed_hash("pear", 4)));
    rill_keyed_table_destroy(&table);
    rill_keyed_table_destroy(&table); //  a second destroy is harmless
}

static void a_second_put_replaces_the_value_and_adds_no_key(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    uint64_t hash = rill_keyed_hash("k", 1);
    s_put(table, "k", hash, "short", 1);
    //  A longer value than the entry holds, then a shorter one, then none.
    s_put(table, "k", hash, "a value longer than sixteen bytes", 2);
    s_expect_value(s_find(table, "k", hash), "a value longer than sixteen bytes");
    s_put(table, "k", hash, "tiny", 3);
    s_expect_value(s_find(table, "k", hash), "tiny");
    assert_int_equal(s_find(table, "k", hash)->timestamp, 3);
    s_put(table, "k", hash, "", 4);
    s_expect_value(s_find(table, "k", hash), "");
    assert_int_equal(rill_keyed_table_size(table), 1);
    rill_keyed_table_destroy(&table);
}

static void keys_with_the_same_hash_are_kept_apart(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    //  One hash for three keys, including two of the same length and a prefix of one.
    s_put(table, "abc", 7, "1", 0);
    s_put(table, "abd", 7, "2", 0);
    s_put(table, "ab", 7, "3", 0);
    assert_int_equal(rill_keyed_table_size(table), 3);
    s_expect_value(s_find(table, "abc", 7), "1");
    s_expect_value(s_find(table, "abd", 7), "2");
    s_expect_value(s_find(table, "ab", 7), "3");
    assert_null(s_find(table, "abe", 7));
    rill_keyed_table_destroy(&table);
}

static void an_empty_key_and_long_keys_are_keys(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    char long_a[100], long_b[100];
    memset(long_a, 'k', sizeof long_a - 1);
    long_a[sizeof long_a - 1] = '\0';
    memcpy(long_b, long_a, sizeof long_b);
    long_b[98] = 'j'; //  differs in the last byte only: past the inline comparison
    s_put(table, "", rill_keyed_hash("", 0), "empty", 0);
    s_put(table, long_a, 5, "a", 0);
    s_put(table, long_b, 5, "b", 0);
    s_expect_value(s_find(table, "", rill_keyed_hash("", 0)), "empty");
    s_expect_value(s_find(table, long_a, 5), "a");
    s_expect_value(s_find(table, long_b, 5), "b");
    rill_keyed_table_destroy(&table);
}

static void a_null_key_of_size_0_is_the_empty_key(void **state)
{
    //  A key extractor may point an empty key nowhere: {NULL, 0} (so may an empty value).
    rill_keyed_table_t *table = rill_keyed_table_new();
    uint64_t hash = rill_keyed_hash(NULL, 0);
    assert_int_equal(hash, rill_keyed_hash("", 0));
    assert_non_null(rill_keyed_table_put(table, NULL, 0, hash, NULL, 0, 1));
    rill_keyed_entry_t *entry = rill_keyed_table_find(table, "", 0, hash);
    assert_non_null(entry);
    assert_int_equal(entry->key_size, 0);
    assert_int_equal(entry->value_size, 0);
    assert_non_null(rill_keyed_table_put(table, NULL, 0, hash, "v", 1, 2));
    s_expect_value(rill_keyed_table_find(table, NULL, 0, hash), "v");
    assert_int_equal(rill_keyed_table_size(table), 1);
    assert_int_equal(rill_keyed_table_remove(table, NULL, 0, hash), 1);
    assert_int_equal(rill_keyed_table_size(table), 0);
    rill_keyed_table_destroy(&table);
}

static void a_removed_key_is_gone_and_the_others_stay(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    s_put(table, "a", rill_keyed_hash("a", 1), "1", 0);
    s_put(table, "b", rill_keyed_hash("b", 1), "2", 0);
    assert_int_equal(rill_keyed_table_remove(table, "a", 1, rill_keyed_hash("a", 1)), 1);
    assert_null(s_find(table, "a", rill_keyed_hash("a", 1)));
    s_expect_value(s_find(table, "b", rill_keyed_hash("b", 1)), "2");
    assert_int_equal(rill_keyed_table_size(table), 1);
    //  Removing what is not there is a no-op.
    assert_int_equal(rill_keyed_table_remove(table, "a", 1, rill_keyed_hash("a", 1)), 0);
    assert_int_equal(rill_keyed_table_remove(table, "zz", 2, rill_keyed_hash("zz", 2)), 0);
    assert_int_equal(rill_keyed_table_size(table), 1);
    rill_keyed_table_destroy(&table);
}

static void removing_from_a_probe_run_that_wraps_around_keeps_every_other_key(void **state)
{
    //  The table starts with 64 slots, so a hash's home is its value mod 64. Each layout is a
    //  probe run through the end of the slot array and on from slot 0; every key of it is
    //  removed in turn and the others must still be found. In the second, removing home 63
    //  leaves a hole at 63 before a key at home 0 that must stay where it is.
    const uint64_t layouts[][5] = {
        {62, 63, 62 + 64, 64, 62 + 128},
        {62, 63, 64, 62 + 64, 0},
        {63, 63 + 64, 128, 1 + 64, 63 + 128},
    };
    const int sizes[] = {5, 4, 5};
    for (int l = 0; l < 3; l++) {
        for (int removed = 0; removed < sizes[l]; removed++) {
            rill_keyed_table_t *table = rill_keyed_table_new();
            assert_int_equal(rill_keyed_table_slots(table), 64);
            char keys[5][16];
            for (int i = 0; i < sizes[l]; i++) {
                snprintf(keys[i], sizeof keys[i], "k%d", i);
                s_put(table, keys[i], layouts[l][i], keys[i], i);
            }
            assert_int_equal(rill_keyed_table_remove(table, keys[removed], strlen(keys[removed]),
                                                     layouts[l][removed]),
                             1);
            for (int i = 0; i < sizes[l]; i++) {
                rill_keyed_entry_t *entry = s_find(table, keys[i], layouts[l][i]);
                if (i == removed)
                    assert_null(entry);
                else if (!entry)
                    fail_msg("layout %d: removing key %d lost key %d", l, removed, i);
                else
                    s_expect_value(entry, keys[i]);
            }
            rill_keyed_table_destroy(&table);
        }
    }
}

static void resize_keeps_the_first_bytes_and_grows_the_entry(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    uint64_t hash = rill_keyed_hash("k", 1);
    s_put(table, "k", hash, "abcdef", 0);
    rill_keyed_entry_t *entry = s_find(table, "k", hash);
    uint8_t *value = rill_keyed_table_resize(entry, 3);
    assert_non_null(value);
    s_expect_value(entry, "abc");
    value = rill_keyed_table_resize(entry, 1000);
    assert_non_null(value);
    assert_true(entry->capacity >= 1000);
    assert_memory_equal(value, "abc", 3);
    memset(value + 3, 'z', 997); //  every byte of the new size is writable (ASan)
    assert_memory_equal(rill_keyed_entry_key(entry), "k", 1);
    assert_int_equal(s_find(table, "k", hash)->value_size, 1000);
    rill_keyed_table_destroy(&table);
}

//  ---- many keys against a reference

#define S_KEYS 20000

static void s_key_text(int i, char *text, size_t size)
{
    snprintf(text, size, "key-%d", i);
}

//  Few distinct hashes, so that long runs and collisions are the rule.
static uint64_t s_crowded_hash(int i)
{
    return (uint64_t)(i % 251) * 64 + 1;
}

static void the_table_grows_through_many_keys_and_finds_every_one(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    for (int i = 0; i < S_KEYS; i++) {
        char key[32];
        s_key_text(i, key, sizeof key);
        int64_t value = i;
        assert_non_null(rill_keyed_table_put(
            table, key, strlen(key), rill_keyed_hash(key, strlen(key)), &value, sizeof value, i));
        //  Load stays at or below 70%, in a power-of-two number of slots.
        size_t slots = rill_keyed_table_slots(table);
        assert_int_equal(slots & (slots - 1), 0);
        assert_true(rill_keyed_table_size(table) * 10 <= slots * 7);
    }
    assert_int_equal(rill_keyed_table_size(table), S_KEYS);
    for (int i = 0; i < S_KEYS; i++) {
        char key[32];
        s_key_text(i, key, sizeof key);
        rill_keyed_entry_t *entry =
            rill_keyed_table_find(table, key, strlen(key), rill_keyed_hash(key, strlen(key)));
        assert_non_null(entry);
        int64_t value;
        memcpy(&value, rill_keyed_entry_value(entry), sizeof value);
        assert_int_equal(value, i);
        assert_int_equal(entry->timestamp, i);
    }
    rill_keyed_table_destroy(&table);
}

static void iteration_visits_every_key_exactly_once(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    char *seen = calloc(1000, 1);
    for (int i = 0; i < 1000; i++) {
        char key[32];
        s_key_text(i, key, sizeof key);
        rill_keyed_table_put(table, key, strlen(key), s_crowded_hash(i), &i, sizeof i, 0);
    }
    for (int i = 0; i < 1000; i += 3) {
        char key[32];
        s_key_text(i, key, sizeof key);
        assert_int_equal(rill_keyed_table_remove(table, key, strlen(key), s_crowded_hash(i)), 1);
    }
    size_t visited = 0;
    for (size_t slot = 0; slot < rill_keyed_table_slots(table); slot++) {
        rill_keyed_entry_t *entry = rill_keyed_table_slot(table, slot);
        if (!entry)
            continue;
        int i;
        memcpy(&i, rill_keyed_entry_value(entry), sizeof i);
        assert_true(i >= 0 && i < 1000 && i % 3 != 0);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        visited++;
    }
    assert_int_equal(visited, rill_keyed_table_size(table));
    assert_int_equal(visited, 1000 - 334);
    free(seen);
    rill_keyed_table_destroy(&table);
}

//  Runs `steps` pseudo-random puts and removes over keys 0..keys-1 (hash(i) their hashes),
//  checking the table against a plain reference after every step and in full now and then.
static void s_random_against_reference(int keys, int steps, uint64_t (*hash_of)(int))
{
    int *reference = malloc((size_t)keys * sizeof(int));
    for (int i = 0; i < keys; i++)
        reference[i] = -1;
    rill_keyed_table_t *table = rill_keyed_table_new();
    uint64_t rng = 12345;
    size_t present = 0;
    for (int step = 0; step < steps; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((rng >> 33) % (uint64_t)keys);
        char key[32];
        s_key_text(i, key, sizeof key);
        uint64_t hash = hash_of(i);
        if ((rng >> 20) % 3 == 0) {
            int removed = rill_keyed_table_remove(table, key, strlen(key), hash);
            assert_int_equal(removed, reference[i] >= 0);
            present -= (size_t)removed;
            reference[i] = -1;
        } else {
            present += reference[i] < 0;
            reference[i] = step;
            assert_non_null(
                rill_keyed_table_put(table, key, strlen(key), hash, &step, sizeof step, step));
        }
        assert_int_equal(rill_keyed_table_size(table), present);
        if (step % 97 == 96) //  a full check now and then
            for (int k = 0; k < keys; k++) {
                s_key_text(k, key, sizeof key);
                rill_keyed_entry_t *entry =
                    rill_keyed_table_find(table, key, strlen(key), hash_of(k));
                if (reference[k] < 0) {
                    assert_null(entry);
                    continue;
                }
                if (!entry)
                    fail_msg("step %d: key %d lost", step, k);
                int value;
                memcpy(&value, rill_keyed_entry_value(entry), sizeof value);
                assert_int_equal(value, reference[k]);
            }
    }
    rill_keyed_table_destroy(&table);
    free(reference);
}

//  Homes 60..63 and 0..3 of 64 slots only: runs wrap around the end of the array all the time,
//  with keys at home on both sides of the wrap.
static uint64_t s_wrap_crowded_hash(int i)
{
    return (uint64_t)((60 + i % 8) % 64) + 64 * (uint64_t)(i / 8 + 1);
}

static void random_puts_and_removes_agree_with_a_reference(void **state)
{
    s_random_against_reference(3000, 60000, s_crowded_hash);
    //  At most 40 keys: the table keeps its 64 slots, and runs wrap all the time.
    s_random_against_reference(40, 20000, s_wrap_crowded_hash);
}

static void the_key_hash_is_never_zero_and_depends_on_every_byte(void **state)
{
    assert_int_not_equal(rill_keyed_hash("", 0), 0);
    assert_int_equal(rill_keyed_hash("abc", 3), rill_keyed_hash("abc", 3));
    assert_int_not_equal(rill_keyed_hash("abc", 3), rill_keyed_hash("abd", 3));
    assert_int_not_equal(rill_keyed_hash("abc", 3), rill_keyed_hash("abc", 2));
}

//  Puts `count` distinct keys whose key group (rill_key_group_of_hash) falls in [lo, hi) into
//  a fresh table and returns its mean probe length.
static double s_mean_probe_of_groups(int count, int lo, int hi)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    int put = 0;
    for (int i = 0; put < count; i++) {
        char key[32];
        s_key_text(i, key, sizeof key);
        uint64_t hash = rill_keyed_hash(key, strlen(key));
        int group = (int)(hash % RILL_MAX_PARALLELISM);
        if (group < lo || group >= hi)
            continue;
        assert_non_null(rill_keyed_table_put(table, key, strlen(key), hash, &i, sizeof i, 0));
        put++;
    }
    double probe = rill_keyed_table_mean_probe(table);
    rill_keyed_table_destroy(&table);
    return probe;
}

static void a_receivers_keys_from_few_key_groups_do_not_crowd_its_table(void **state)
{
    //  A receiver of a hash edge holds only the keys of its key groups (Flink's
    //  KeyGroupRangeAssignment: a contiguous range of hash % max parallelism), so they share
    //  low hash bits. Its table must spread them as well as it spreads any keys: linear
    //  probing at a load of at most 0.7 averages about 1.5 to 2.2 probes per lookup. With the
    //  low bits as the home slot, one key group would average in the hundreds here.
    double any = s_mean_probe_of_groups(20000, 0, RILL_MAX_PARALLELISM);
    double one_group = s_mean_probe_of_groups(20000, 5, 6);                   //  parallelism 256
    double half = s_mean_probe_of_groups(20000, 0, RILL_MAX_PARALLELISM / 2); //  2: receiver 0
    double quarter = s_mean_probe_of_groups(20000, 192, 256);                 //  4: receiver 3
    print_message("mean probes: any key %.2f, one key group %.2f, half %.2f, a quarter %.2f\n", any,
                  one_group, half, quarter);
    assert_true(any >= 1.0 && any < 2.5);
    assert_true(one_group >= 1.0 && one_group < 2.5);
    assert_true(half >= 1.0 && half < 2.5);
    assert_true(quarter >= 1.0 && quarter < 2.5);
}

static void the_mean_probe_counts_slots_visited_from_home(void **state)
{
    //  64 slots; hashes below 2^32 have their low bits as home. Homes 3, 3, 3 fill 3, 4, 5:
    //  1 + 2 + 3 probes; a key alone at home 10: 1.
    rill_keyed_table_t *table = rill_keyed_table_new();
    assert_true(rill_keyed_table_mean_probe(table) == 0);
    s_put(table, "a", 3, "x", 0);
    s_put(table, "b", 64 + 3, "x", 0);
    s_put(table, "c", 128 + 3, "x", 0);
    s_put(table, "d", 10, "x", 0);
    assert_true(rill_keyed_table_mean_probe(table) == (1 + 2 + 3 + 1) / 4.0);
    rill_keyed_table_destroy(&table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_value_put_is_found_under_its_key),
        cmocka_unit_test(a_second_put_replaces_the_value_and_adds_no_key),
        cmocka_unit_test(keys_with_the_same_hash_are_kept_apart),
        cmocka_unit_test(an_empty_key_and_long_keys_are_keys),
        cmocka_unit_test(a_null_key_of_size_0_is_the_empty_key),
        cmocka_unit_test(a_removed_key_is_gone_and_the_others_stay),
        cmocka_unit_test(removing_from_a_probe_run_that_wraps_around_keeps_every_other_key),
        cmocka_unit_test(resize_keeps_the_first_bytes_and_grows_the_entry),
        cmocka_unit_test(the_table_grows_through_many_keys_and_finds_every_one),
        cmocka_unit_test(iteration_visits_every_key_exactly_once),
        cmocka_unit_test(random_puts_and_removes_agree_with_a_reference),
        cmocka_unit_test(the_key_hash_is_never_zero_and_depends_on_every_byte),
        cmocka_unit_test(a_receivers_keys_from_few_key_groups_do_not_crowd_its_table),
        cmocka_unit_test(the_mean_probe_counts_slots_visited_from_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
