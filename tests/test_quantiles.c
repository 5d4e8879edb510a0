/*  test_quantiles.c: the report's per-operator summary (tools/rill_quantiles.c): min, 25th,
    median, 75th and max, linearly interpolated between closest ranks. */
#include "rill_quantiles.h"
#include "testutil.h"

static void five_values_give_their_quartiles(void **state)
{
    double values[] = {40, 10, 50, 20, 30};
    rill_quantiles_t q;
    assert_int_equal(rill_quantiles_compute(values, 5, &q), 0);
    assert_float_equal(q.min, 10, 0);
    assert_float_equal(q.p25, 20, 0);
    assert_float_equal(q.median, 30, 0);
    assert_float_equal(q.p75, 40, 0);
    assert_float_equal(q.max, 50, 0);
    //  Sorted in place, as the header says.
    assert_float_equal(values[0], 10, 0);
    assert_float_equal(values[4], 50, 0);
}

static void the_median_of_two_is_their_mean(void **state)
{
    double values[] = {3000, 1000};
    rill_quantiles_t q;
    assert_int_equal(rill_quantiles_compute(values, 2, &q), 0);
    assert_float_equal(q.min, 1000, 0);
    assert_float_equal(q.p25, 1500, 1e-9);
    assert_float_equal(q.median, 2000, 1e-9);
    assert_float_equal(q.p75, 2500, 1e-9);
    assert_float_equal(q.max, 3000, 0);
}

static void an_even_count_interpolates_between_ranks(void **state)
{
    //  Positions q * 3: 0.75, 1.5, 2.25.
    double values[] = {1, 2, 4, 8};
    rill_quantiles_t q;
    assert_int_equal(rill_quantiles_compute(values, 4, &q), 0);
    assert_float_equal(q.p25, 1.75, 1e-12);
    assert_float_equal(q.median, 3, 1e-12);
    assert_float_equal(q.p75, 5, 1e-12);
}

static void one_value_is_every_quantile(void **state)
{
    double values[] = {7};
    rill_quantiles_t q;
    assert_int_equal(rill_quantiles_compute(values, 1, &q), 0);
    assert_float_equal(q.min, 7, 0);
    assert_float_equal(q.p25, 7, 0);
    assert_float_equal(q.median, 7, 0);
    assert_float_equal(q.p75, 7, 0);
    assert_float_equal(q.max, 7, 0);
}

static void no_values_is_an_error_and_leaves_the_result(void **state)
{
    rill_quantiles_t q = {-1, -1, -1, -1, -1};
    double values[1] = {0};
    assert_int_equal(rill_quantiles_compute(values, 0, &q), -1);
    assert_int_equal(rill_quantiles_compute(NULL, 3, &q), -1);
    assert_float_equal(q.median, -1, 0);
}

static void equal_values_and_a_skewed_one(void **state)
{
    //  Three subtasks of equal load and one hot one: the max shows it, the quartiles do not.
    double values[] = {100, 100, 900, 100};
    rill_quantiles_t q;
    assert_int_equal(rill_quantiles_compute(values, 4, &q), 0);
    assert_float_equal(q.min, 100, 0);
    assert_float_equal(q.median, 100, 0);
    assert_float_equal(q.p75, 300, 1e-9);
    assert_float_equal(q.max, 900, 0);
    double sorted[] = {0, 10};
    assert_float_equal(rill_quantiles_of_sorted(sorted, 2, 0.1), 1, 1e-12);
    assert_float_equal(rill_quantiles_of_sorted(sorted, 2, 1), 10, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_values_give_their_quartiles),
        cmocka_unit_test(the_median_of_two_is_their_mean),
        cmocka_unit_test(an_even_count_interpolates_between_ranks),
        cmocka_unit_test(one_value_is_every_quantile),
        cmocka_unit_test(no_values_is_an_error_and_leaves_the_result),
        cmocka_unit_test(equal_values_and_a_skewed_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
