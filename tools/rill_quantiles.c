/*  rill_quantiles.c: see the header. Linear interpolation between closest ranks (R's type 7,
    numpy's default): the q-quantile of n sorted values sits at position q * (n - 1), between
    the values at its floor and ceiling. Chosen over nearest rank because operators often
    have two or three subtasks, where nearest rank would call the smaller of two the median;
    interpolated, the median of two is their mean and min/max stay the real extremes. */
#include "rill_quantiles.h"

#include <assert.h>
#include <stdlib.h>

static int s_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double rill_quantiles_of_sorted(const double *values, size_t count, double q)
{
    assert(values && count > 0 && q >= 0 && q <= 1);
    double position = q * (double)(count - 1);
    size_t below = (size_t)position;
    if (below + 1 >= count)
        return values[count - 1];
    double fraction = position - (double)below;
    return values[below] + fraction * (values[below + 1] - values[below]);
}

int rill_quantiles_compute(double *values, size_t count, rill_quantiles_t *out)
{
    assert(out);
    if (count == 0 || !values)
        return -1;
    qsort(values, count, sizeof(double), s_compare);
    *out = (rill_quantiles_t){values[0], rill_quantiles_of_sorted(values, count, 0.25),
                              rill_quantiles_of_sorted(values, count, 0.5),
                              rill_quantiles_of_sorted(values, count, 0.75), values[count - 1]};
    return 0;
}
