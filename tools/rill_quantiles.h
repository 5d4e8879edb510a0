/*  rill_quantiles.h: the five-number summary (min, 25th, median, 75th, max) of a set of
    values, as Spark's task summary metrics show it per stage; the report draws one row per
    operator from its subtasks' counters. Pure: no I/O, no allocation. */
#ifndef RILL_QUANTILES_H_INCLUDED
#define RILL_QUANTILES_H_INCLUDED

#include <stddef.h>

typedef struct {
    double min;
    double p25;
    double median;
    double p75;
    double max;
} rill_quantiles_t;

//  Sorts values (count of them) in place and fills out with their quantiles, linearly
//  interpolated between the two closest ranks. 0, or -1 (out untouched) when count is 0.
int rill_quantiles_compute(double *values, size_t count, rill_quantiles_t *out);

//  The q-quantile (0..1) of values already sorted in rising order, count > 0.
double rill_quantiles_of_sorted(const double *values, size_t count, double q);

#endif
