/*  rill_metrics_table.h: prints a run's counters as two human-readable tables, one row per
    subtask and one per channel. */
#ifndef RILL_METRICS_TABLE_H_INCLUDED
#define RILL_METRICS_TABLE_H_INCLUDED

#include "rill.h"
#include <stdio.h>

void rill_metrics_table_print(const rill_metrics_t *metrics, FILE *out);

#endif
