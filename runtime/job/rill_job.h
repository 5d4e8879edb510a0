/*  rill_job.h: deploys a plan and runs it to its end (internal; rill_env_execute is the
    public way in). The coordinator creates one actor thread per subtask, has every subtask bind its
    inputs, then connect its outputs, then starts them all and watches their pipes: DONE from
    every subtask ends the job; FAILED from any stops every actor and fails the job. */
#ifndef RILL_JOB_H_INCLUDED
#define RILL_JOB_H_INCLUDED

#include <stdatomic.h>

#include "rill_checkpoint_config.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_trace.h"

typedef struct rill_job_t rill_job_t;


//  trace (may be NULL) samples records for tracing; it must outlive the run.
rill_job_t *rill_job_new(const rill_plan_t *plan, rill_metrics_t *metrics, size_t batch_size,
                         int buffer_timeout_ms, rill_trace_t *trace);
void rill_job_destroy(rill_job_t **self_p);
//  Registers a callback the coordinator calls about every interval_ms while the job runs,
//  and once at the end (optional).
void rill_job_set_tick(rill_job_t *self, rill_monitor_fn *tick, void *ctx, int interval_ms);
//  Diagnostics (on by default): each task's busy time split (user function, runtime,
//  ZeroMQ) and the hot keys of hash edges. Call before rill_job_run.
void rill_job_set_diagnostics(rill_job_t *self, bool on);
//  Runs only this process's share of the plan (the tasks placed on the cluster's rank), its
//  channels to other processes over tcp (rill_cluster.h). Call before rill_job_run and before
//  rill_job_set_checkpoints. 0, or -1 with rill_job_error set.
typedef struct rill_cluster_t rill_cluster_t;
int rill_job_set_cluster(rill_job_t *self, rill_cluster_t *cluster);
//  Runs the job. *cancel is read while it runs: 1 asks the sources to stop (the job drains
//  and ends), 2 or more stops every actor at once. 0 when the job finished (also after a
//  drained cancel: see rill_job_cancelled), -1 when it failed (rill_job_error), also when
//  the plan needs more sockets, descriptors or memory than the process may have.
int rill_job_run(rill_job_t *self, atomic_int *cancel);
//  Turns on checkpoints, restarts, restore and stop-with-savepoint (before rill_job_run). 0, or
//  -1 with rill_job_error set (the store cannot be opened, the restore point does not fit).
int rill_job_set_checkpoints(rill_job_t *self, const rill_checkpoint_config_t *config);
//  What checkpoints did (NULL when off).
const rill_checkpoint_stats_t *rill_job_checkpoints(const rill_job_t *self);
const char *rill_job_error(const rill_job_t *self);
bool rill_job_cancelled(const rill_job_t *self);

#endif
