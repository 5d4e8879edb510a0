/*  rill_report_summary.h: the report's summaries of the subtasks' counters: per operator, the
    quantiles of its subtasks' records, busy and backpressured shares (Spark's task summary
    metrics); per subtask, where its time went, as one stacked bar. Written by
    rill_report_write (rill_report.c) between the diagrams and the detailed tables. */
#ifndef RILL_REPORT_SUMMARY_H_INCLUDED
#define RILL_REPORT_SUMMARY_H_INCLUDED

#include "rill.h"

#include <stdio.h>

//  One subtask's wall time split five ways, in ns: busy in the user's functions, in the
//  runtime, in ZeroMQ, idle, backpressured. user + runtime + zmq is busy_ns: user_ns and
//  zmq_ns are clamped so that they never add up to more than busy_ns (they are estimates).
typedef struct {
    uint64_t user;
    uint64_t runtime;
    uint64_t zmq;
    uint64_t idle;
    uint64_t backpressure;
} rill_report_time_t;

rill_report_time_t rill_report_time_split(const rill_subtask_metrics_t *metrics);

//  The per-operator quantiles table (section id "quantiles"): for each operator, one row per
//  measure (records in, records out, busy, backpressured) with min, 25th, median, 75th and
//  max over its subtasks. 0, or -1 when out of memory (nothing written then).
int rill_report_quantiles(FILE *out, const rill_metrics_t *metrics);

//  One stacked bar per subtask (section id "time", each an <svg class="rill-timebar">): user
//  function, runtime, ZeroMQ, idle and backpressured as shares of its time, with a legend.
void rill_report_time_bars(FILE *out, const rill_metrics_t *metrics);

#endif
