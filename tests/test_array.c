/*  test_array.c: the one array-growing step (rill_array_grow): appends keep what was there,
    capacity at least doubles so growth is rare, a request beyond double is met at once, and a
    size that would overflow fails cleanly with the array unchanged. */
#include "rill_array.h"
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static void appends_keep_every_item_and_grow_rarely(void **state)
{
    int64_t *items = NULL;
    size_t capacity = 0;
    int reallocations = 0;
    for (size_t count = 0; count < 10000; count++) {
        size_t before = capacity;
        assert_int_equal(rill_array_grow((void **)&items, &capacity, count + 1, sizeof *items), 0);
        assert_true(capacity >= count + 1);
        if (capacity != before) {
            reallocations++;
            assert_true(before == 0 || capacity >= 2 * before);
        }
        items[count] = (int64_t)count * 7 - 3;
    }
    for (size_t i = 0; i < 10000; i++)
        assert_int_equal(items[i], (int64_t)i * 7 - 3);
    //  Doubling from the first allocation: log2(10000 / 16) + 1 reallocations, about 11.
    assert_true(reallocations <= 12);
    free(items);
}

static void enough_room_changes_nothing(void **state)
{
    char *items = NULL;
    size_t capacity = 0;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, 100, 1), 0);
    char *was = items;
    size_t had = capacity;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, had, 1), 0);
    assert_int_equal(rill_array_grow((void **)&items, &capacity, 0, 1), 0);
    assert_ptr_equal(items, was);
    assert_int_equal(capacity, had);
    free(items);
}

static void a_need_beyond_double_is_met_in_one_step(void **state)
{
    uint8_t *items = NULL;
    size_t capacity = 0;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, 8, 1), 0);
    size_t first = capacity;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, 100 * first + 1, 1), 0);
    assert_int_equal(capacity, 100 * first + 1);
    items[capacity - 1] = 0xab; //  the whole capacity is there (ASan checks)
    free(items);
}

static void a_size_that_would_overflow_fails_and_keeps_the_array(void **state)
{
    uint32_t *items = NULL;
    size_t capacity = 0;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, 3, sizeof *items), 0);
    items[0] = 1, items[1] = 2, items[2] = 3;
    uint32_t *was = items;
    size_t had = capacity;
    errno = 0;
    assert_int_equal(rill_array_grow((void **)&items, &capacity, SIZE_MAX / 2, sizeof *items), -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(items, was);
    assert_int_equal(capacity, had);
    assert_int_equal(items[2], 3);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_every_item_and_grow_rarely),
        cmocka_unit_test(enough_room_changes_nothing),
        cmocka_unit_test(a_need_beyond_double_is_met_in_one_step),
        cmocka_unit_test(a_size_that_would_overflow_fails_and_keeps_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
