/*  test_keyed_snapshot.c: keyed state in checkpoint entries (rill_keyed_snapshot): table
    entries come back as they were, each filed under its record key's key group; timers come
    back in the order they would have fired (equal times: first registered, first fired); and
    the watermark floor reaches every new subtask that takes over an old subtask's keys, at any
    parallelism, as the lowest of those it gets. */
#include "rill_key_hash.h"
#include "rill_keyed_snapshot.h"
#include "rill_partitioner.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void table_entries_come_back_under_their_keys_group(void **state)
{
    rill_keyed_table_t *table = rill_keyed_table_new();
    const char *keys[] = {"apple", "pear", "plum", "", "fig"};
    for (int i = 0; i < 5; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        assert_non_null(rill_keyed_table_put(table, keys[i], strlen(keys[i]),
                                             rill_keyed_hash(keys[i], strlen(keys[i])), value,
                                             strlen(value), 100 + i));
    }
    rill_buffer_t *out = rill_buffer_new();
    const char *why = NULL;
    assert_int_equal(
        rill_keyed_snapshot_put_table(out, 7, table, rill_keyed_snapshot_whole_key, &why), 0);
    //  Each entry: KEYED, tag 7, in the group the partitioner routes its key by.
    const uint8_t *at = rill_buffer_data(out), *end = at + rill_buffer_size(out);
    rill_state_entry_t entry;
    int count = 0;
    rill_keyed_table_t *back = rill_keyed_table_new();
    while (rill_snapshot_get(&at, end, &entry) == 1) {
        assert_int_equal(entry.scope, RILL_STATE_KEYED);
        assert_int_equal(entry.tag, 7);
        assert_int_equal(entry.group, rill_key_group(entry.a, entry.a_size));
        assert_non_null(
            rill_keyed_snapshot_get_entry(back, &entry, rill_keyed_snapshot_whole_key, &why));
        count++;
    }
    assert_int_equal(count, 5);
    for (int i = 0; i < 5; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        rill_keyed_entry_t *found = rill_keyed_table_find(
            back, keys[i], strlen(keys[i]), rill_keyed_hash(keys[i], strlen(keys[i])));
        assert_non_null(found);
        assert_int_equal(found->value_size, strlen(value));
        assert_memory_equal(rill_keyed_entry_value(found), value, found->value_size);
        assert_int_equal(found->timestamp, 100 + i);
    }
    rill_keyed_table_destroy(&back);
    rill_keyed_table_destroy(&table);
    rill_buffer_destroy(&out);
}

static void timers_come_back_in_firing_order(void **state)
{
    //  Equal times registered out of key order: their order is the registration order.
    struct {
        int64_t time;
        const char *key;
        int tag;
    } pushed[] = {{30, "c", 1}, {10, "b", 0}, {30, "a", 0}, {10, "a", 1},
                  {20, "d", 0}, {30, "b", 1}, {10, "c", 0}, {5, "e", 1}};
    size_t n = sizeof pushed / sizeof pushed[0];
    rill_timer_heap_t *timers = rill_timer_heap_new();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            rill_timer_heap_push(timers, pushed[i].time, pushed[i].key, 1, pushed[i].tag), 0);
    rill_buffer_t *out = rill_buffer_new();
    const char *why = NULL;
    assert_int_equal(
        rill_keyed_snapshot_put_timers(out, 2, timers, rill_keyed_snapshot_whole_key, &why), 0);
    assert_int_equal(rill_timer_heap_size(timers), n); //  saving takes nothing out
    rill_timer_heap_t *back = rill_timer_heap_new();
    const uint8_t *at = rill_buffer_data(out), *end = at + rill_buffer_size(out);
    rill_state_entry_t entry;
    while (rill_snapshot_get(&at, end, &entry) == 1)
        assert_int_equal(
            rill_keyed_snapshot_get_timer(back, &entry, rill_keyed_snapshot_whole_key, &why), 0);
    rill_timer_t a, b;
    while (rill_timer_heap_pop(timers, INT64_MAX, &a)) {
        assert_int_equal(rill_timer_heap_pop(back, INT64_MAX, &b), 1);
        assert_int_equal(a.time, b.time);
        assert_int_equal(a.tag, b.tag);
        assert_int_equal(a.key_size, b.key_size);
        assert_memory_equal(a.key, b.key, a.key_size);
        free(a.key);
        free(b.key);
    }
    assert_int_equal(rill_timer_heap_size(back), 0);
    rill_timer_heap_destroy(&back);
    rill_timer_heap_destroy(&timers);
    rill_buffer_destroy(&out);
}

//  The floor each new subtask of new_p gets from old_p subtasks whose watermarks are given;
//  INT64_MAX when none.
static int64_t s_floor(const int64_t *watermarks, int old_p, int index, int new_p)
{
    rill_buffer_t *parts_data[8];
    rill_state_part_t parts[8];
    for (int i = 0; i < old_p; i++) {
        parts_data[i] = rill_buffer_new();
        assert_int_equal(
            rill_keyed_snapshot_put_watermark(parts_data[i], 3, i, old_p, watermarks[i]), 0);
        parts[i] =
            (rill_state_part_t){rill_buffer_data(parts_data[i]), rill_buffer_size(parts_data[i])};
    }
    rill_state_reader_t *reader = rill_state_reader_new(parts, old_p, old_p, index, new_p);
    int64_t floor = 0;
    bool have = false;
    rill_state_entry_t entry;
    const char *why = NULL;
    int rc;
    while ((rc = rill_state_reader_next(reader, &entry)) > 0)
        assert_int_equal(rill_keyed_snapshot_get_watermark(&entry, &floor, &have, &why), 0);
    assert_int_equal(rc, 0);
    rill_state_reader_destroy(&reader);
    for (int i = 0; i < old_p; i++)
        rill_buffer_destroy(&parts_data[i]);
    return have ? floor : INT64_MAX;
}

static void every_subtask_that_takes_over_keys_gets_their_floor(void **state)
{
    int64_t two[] = {10, 20};
    //  Same parallelism: each its own.
    assert_int_equal(s_floor(two, 2, 0, 2), 10);
    assert_int_equal(s_floor(two, 2, 1, 2), 20);
    //  2 -> 3: subtask 1 takes key groups of both old subtasks, subtask 2 only of old 1's
    //  (one entry per old subtask would have left subtask 2 without a floor).
    assert_int_equal(s_floor(two, 2, 0, 3), 10);
    assert_int_equal(s_floor(two, 2, 1, 3), 10);
    assert_int_equal(s_floor(two, 2, 2, 3), 20);
    //  3 -> 1: the lowest.
    int64_t three[] = {30, 5, 40};
    assert_int_equal(s_floor(three, 3, 0, 1), 5);
    //  Scaled up to 7: every subtask gets a floor.
    for (int j = 0; j < 7; j++)
        assert_true(s_floor(three, 3, j, 7) != INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_entries_come_back_under_their_keys_group),
        cmocka_unit_test(timers_come_back_in_firing_order),
        cmocka_unit_test(every_subtask_that_takes_over_keys_gets_their_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
