/*  test_timer_heap.c: a subtask's timers (rill_timer_heap): popped in time order, equal times
    first come first served, duplicates kept (the owner decides what a duplicate means), pop
    only up to a time, next, owned key copies; and many timers against a sorted reference. */
#include "rill_timer_heap.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void s_push(rill_timer_heap_t *heap, int64_t time, const char *key, int tag)
{
    assert_int_equal(rill_timer_heap_push(heap, time, key, strlen(key), tag), 0);
}

//  Pops one timer due by `until` and checks its time, key and tag.
static void s_expect_pop(rill_timer_heap_t *heap, int64_t until, int64_t time, const char *key,
                         int tag)
{
    rill_timer_t timer;
    assert_int_equal(rill_timer_heap_pop(heap, until, &timer), 1);
    assert_int_equal(timer.time, time);
    assert_int_equal(timer.key_size, strlen(key));
    assert_memory_equal(timer.key, key, timer.key_size);
    assert_int_equal(timer.tag, tag);
    free(timer.key);
}

static void timers_pop_in_time_order(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    assert_int_equal(rill_timer_heap_next(heap), INT64_MAX);
    s_push(heap, 30, "c", 3);
    s_push(heap, 10, "a", 1);
    s_push(heap, 20, "b", 2);
    assert_int_equal(rill_timer_heap_size(heap), 3);
    assert_int_equal(rill_timer_heap_next(heap), 10);
    s_expect_pop(heap, INT64_MAX, 10, "a", 1);
    assert_int_equal(rill_timer_heap_next(heap), 20);
    s_expect_pop(heap, INT64_MAX, 20, "b", 2);
    s_expect_pop(heap, INT64_MAX, 30, "c", 3);
    rill_timer_t timer;
    assert_int_equal(rill_timer_heap_pop(heap, INT64_MAX, &timer), 0);
    assert_int_equal(rill_timer_heap_size(heap), 0);
    assert_int_equal(rill_timer_heap_next(heap), INT64_MAX);
    rill_timer_heap_destroy(&heap);
    rill_timer_heap_destroy(&heap); //  a second destroy is harmless
}

static void equal_times_pop_in_the_order_they_were_registered(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    const char *keys[] = {"first", "second", "third", "fourth", "fifth", "sixth"};
    s_push(heap, 99, "later", 0);
    for (int i = 0; i < 6; i++)
        s_push(heap, 5, keys[i], i);
    s_push(heap, 1, "earlier", 0);
    s_expect_pop(heap, INT64_MAX, 1, "earlier", 0);
    for (int i = 0; i < 6; i++)
        s_expect_pop(heap, INT64_MAX, 5, keys[i], i);
    s_expect_pop(heap, INT64_MAX, 99, "later", 0);
    rill_timer_heap_destroy(&heap);
}

static void a_duplicate_timer_is_kept_and_pops_twice(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    s_push(heap, 7, "k", 1);
    s_push(heap, 7, "k", 1);
    assert_int_equal(rill_timer_heap_size(heap), 2);
    s_expect_pop(heap, 7, 7, "k", 1);
    s_expect_pop(heap, 7, 7, "k", 1);
    assert_int_equal(rill_timer_heap_size(heap), 0);
    rill_timer_heap_destroy(&heap);
}

static void pop_takes_only_timers_due_by_the_given_time(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    s_push(heap, 10, "a", 0);
    s_push(heap, 20, "b", 0);
    s_push(heap, 21, "c", 0);
    rill_timer_t timer;
    assert_int_equal(rill_timer_heap_pop(heap, 9, &timer), 0);
    assert_int_equal(rill_timer_heap_size(heap), 3);
    //  "Due" includes the time itself: a timer at t fires when the time reaches t.
    s_expect_pop(heap, 10, 10, "a", 0);
    assert_int_equal(rill_timer_heap_pop(heap, 19, &timer), 0);
    s_expect_pop(heap, 20, 20, "b", 0);
    assert_int_equal(rill_timer_heap_pop(heap, 20, &timer), 0);
    assert_int_equal(rill_timer_heap_next(heap), 21);
    rill_timer_heap_destroy(&heap);
}

static void the_extreme_times_order_correctly(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    s_push(heap, INT64_MAX, "max", 0);
    s_push(heap, 0, "zero", 0);
    s_push(heap, INT64_MIN, "min", 0);
    s_push(heap, -1, "minus one", 0);
    rill_timer_t timer;
    assert_int_equal(rill_timer_heap_pop(heap, INT64_MIN, &timer), 1);
    assert_int_equal(timer.time, INT64_MIN);
    free(timer.key);
    s_expect_pop(heap, 0, -1, "minus one", 0);
    s_expect_pop(heap, 0, 0, "zero", 0);
    assert_int_equal(rill_timer_heap_pop(heap, INT64_MAX - 1, &timer), 0);
    s_expect_pop(heap, INT64_MAX, INT64_MAX, "max", 0);
    rill_timer_heap_destroy(&heap);
}

static void the_key_is_copied_and_an_empty_key_is_a_key(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    char key[8] = "window";
    s_push(heap, 1, key, 0);
    memset(key, '?', sizeof key - 1); //  the caller's buffer changes; the timer's copy does not
    s_push(heap, 2, "", 0);
    s_expect_pop(heap, 5, 1, "window", 0);
    s_expect_pop(heap, 5, 2, "", 0);
    rill_timer_heap_destroy(&heap);
}

static void a_null_key_of_size_0_is_an_empty_key(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    assert_int_equal(rill_timer_heap_push(heap, 3, NULL, 0, 9), 0);
    s_expect_pop(heap, 3, 3, "", 9);
    rill_timer_heap_destroy(&heap);
}

static void destroying_a_heap_with_timers_frees_their_keys(void **state)
{
    //  Checked by ASan's leak detector under `make sanitize`.
    rill_timer_heap_t *heap = rill_timer_heap_new();
    for (int i = 0; i < 100; i++)
        s_push(heap, i, "a key of some length", 0);
    rill_timer_heap_destroy(&heap);
    assert_null(heap);
}

//  ---- many timers against a sorted reference

typedef struct {
    int64_t time;
    int order; //  registration order
} s_expected_t;

static int s_by_time_then_order(const void *a, const void *b)
{
    const s_expected_t *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->order - y->order;
}

static void many_timers_pop_as_a_stable_sort_would_order_them(void **state)
{
    enum { TIMERS = 20000 };
    s_expected_t *expected = malloc(TIMERS * sizeof(s_expected_t));
    rill_timer_heap_t *heap = rill_timer_heap_new();
    uint64_t rng = 99;
    for (int i = 0; i < TIMERS; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        //  Only 500 distinct times: many ties.
        expected[i] = (s_expected_t){(int64_t)((rng >> 33) % 500) - 250, i};
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        s_push(heap, expected[i].time, key, i);
    }
    qsort(expected, TIMERS, sizeof *expected, s_by_time_then_order);
    //  Popped in steps, as watermarks advance: everything due by each step, nothing more.
    int next = 0;
    for (int64_t until = -260; until <= 260; until += 7) {
        rill_timer_t timer;
        while (rill_timer_heap_pop(heap, until, &timer)) {
            assert_true(next < TIMERS);
            assert_int_equal(timer.time, expected[next].time);
            assert_int_equal(timer.tag, expected[next].order);
            char key[16];
            snprintf(key, sizeof key, "%d", expected[next].order);
            assert_int_equal(timer.key_size, strlen(key));
            assert_memory_equal(timer.key, key, timer.key_size);
            assert_true(timer.time <= until);
            free(timer.key);
            next++;
        }
        assert_true(rill_timer_heap_next(heap) > until);
    }
    assert_int_equal(next, TIMERS);
    assert_int_equal(rill_timer_heap_size(heap), 0);
    rill_timer_heap_destroy(&heap);
    free(expected);
}

static void pushes_between_pops_keep_the_order(void **state)
{
    rill_timer_heap_t *heap = rill_timer_heap_new();
    s_push(heap, 50, "a", 0);
    s_push(heap, 10, "b", 0);
    s_expect_pop(heap, 100, 10, "b", 0);
    s_push(heap, 5, "c", 0);  //  earlier than what is left: next in line
    s_push(heap, 50, "d", 0); //  ties with "a", registered later
    s_expect_pop(heap, 100, 5, "c", 0);
    s_expect_pop(heap, 100, 50, "a", 0);
    s_expect_pop(heap, 100, 50, "d", 0);
    rill_timer_heap_destroy(&heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_pop_in_time_order),
        cmocka_unit_test(equal_times_pop_in_the_order_they_were_registered),
        cmocka_unit_test(a_duplicate_timer_is_kept_and_pops_twice),
        cmocka_unit_test(pop_takes_only_timers_due_by_the_given_time),
        cmocka_unit_test(the_extreme_times_order_correctly),
        cmocka_unit_test(the_key_is_copied_and_an_empty_key_is_a_key),
        cmocka_unit_test(a_null_key_of_size_0_is_an_empty_key),
        cmocka_unit_test(destroying_a_heap_with_timers_frees_their_keys),
        cmocka_unit_test(many_timers_pop_as_a_stable_sort_would_order_them),
        cmocka_unit_test(pushes_between_pops_keep_the_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
