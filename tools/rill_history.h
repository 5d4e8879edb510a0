/*  rill_history.h: the run over time, for the report: snapshots of every subtask's counters
    taken while the job runs (from the monitor callback), and the events of the run (each
    subtask finishing, checkpoints completing). Bounded: when the samples fill up, every other
    one is dropped and the interval doubles, so a run of any length keeps at most
    RILL_HISTORY_SAMPLES samples, spread over the whole run. */
#ifndef RILL_HISTORY_H_INCLUDED
#define RILL_HISTORY_H_INCLUDED

#include "rill.h"
#include <stdbool.h>
#include <stdint.h>

#define RILL_HISTORY_SAMPLES 256

typedef struct rill_history_t rill_history_t;

//  What one subtask had done at one sample.
typedef struct {
    uint64_t records_in, records_out, busy_ns, backpressure_ns;
} rill_history_point_t;

//  One event of the run: when (ns since the start), and what.
typedef struct {
    uint64_t at_ns;
    char what[160];
} rill_history_event_t;

rill_history_t *rill_history_new(void);
void rill_history_destroy(rill_history_t **self_p);
//  Takes a sample of metrics when one is due (the interval passed), and notes the events
//  since the last call. Call it from the monitor callback, and once more at the end.
void rill_history_add(rill_history_t *self, const rill_metrics_t *metrics, bool final);
//  The samples: how many, each one's time (ns since the start), and subtask's counters at it.
int rill_history_samples(const rill_history_t *self);
uint64_t rill_history_time(const rill_history_t *self, int sample);
rill_history_point_t rill_history_point(const rill_history_t *self, int sample, int subtask);
//  The events, in order.
int rill_history_events(const rill_history_t *self);
const rill_history_event_t *rill_history_event(const rill_history_t *self, int index);

#endif
