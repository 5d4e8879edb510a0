/*  rill_live.h: what `rill run` does while a job runs, from the coordinator's monitor
    callback: publish metrics snapshots on a ZeroMQ PUB socket (--monitor ENDPOINT, read by
    `rill top`), and draw a progress line on stderr when it is a terminal. */
#ifndef RILL_LIVE_H_INCLUDED
#define RILL_LIVE_H_INCLUDED

#include "rill.h"
#include <stdbool.h>

typedef struct rill_live_t rill_live_t;

//  endpoint NULL: no publishing. progress: draw the progress line. The publisher is a CURVE
//  server when the job has keys: the cluster's (cluster non-NULL), or those in keys (a job in
//  one process; NULL: plain text). NULL with a message on stderr when the endpoint cannot be
//  bound or the keys cannot be read.
rill_live_t *rill_live_new(const char *endpoint, int interval_ms, bool progress,
                           rill_cluster_t *cluster, const char *keys);
void rill_live_destroy(rill_live_t **self_p);
//  Hooks the live view to env (rill_env_set_monitor), ticking often enough for both uses.
void rill_live_attach(rill_live_t *self, rill_env_t *env);
//  Keeps the run's history (for the report) in history, which must outlive the run.
typedef struct rill_history_t rill_history_t;
void rill_live_keep_history(rill_live_t *self, rill_history_t *history);
//  Publishes the final snapshot (running: false) and ends the progress line.
void rill_live_finish(rill_live_t *self, const rill_metrics_t *metrics);

#endif
