/*  rill_live.c: the monitor publisher and the progress line. Snapshots go out as two frames,
    "metrics" and the JSON document; PUB drops snapshots for a subscriber that falls behind,
    which is right for a live view (the next snapshot supersedes it) and never slows the job. */
#include "rill_live.h"
#include "rill_history.h"
#include "rill_security.h"

#include <czmq.h>
#include <stdio.h>
#include <unistd.h>

struct rill_live_t {
    zsock_t *publisher;
    rill_security_t *security; //  its own keys, for a job in one process run with --keys
    int interval_ms;
    bool progress;
    uint64_t last_publish_ns;
    uint64_t last_progress_ns;
    bool drew_progress;
    rill_history_t *history; //  not owned; NULL: no history kept
};

rill_live_t *rill_live_new(const char *endpoint, int interval_ms, bool progress,
                           rill_cluster_t *cluster, const char *keys)
{
    rill_live_t *self = calloc(1, sizeof(rill_live_t));
    if (!self)
        return NULL;
    self->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    self->progress = progress;
    if (endpoint) {
        self->publisher = zsock_new(ZMQ_PUB);
        //  The monitor is one of the job's tcp sockets: secured like the others.
        char error[256] = "";
        if (self->publisher && !cluster && keys &&
            !(self->security = rill_security_new(keys, error, sizeof error))) {
            fprintf(stderr, "rill run: cannot secure the monitor: %s\n", error);
            rill_live_destroy(&self);
            return NULL;
        }
        if (self->publisher && cluster)
            rill_cluster_secure_server(cluster, self->publisher);
        else if (self->publisher && self->security)
            rill_security_server(self->security, self->publisher);
        if (!self->publisher || zsock_bind(self->publisher, "%s", endpoint) < 0) {
            fprintf(stderr, "rill run: cannot publish metrics on '%s': %s\n", endpoint,
                    zmq_strerror(zmq_errno()));
            rill_live_destroy(&self);
            return NULL;
        }
        zsock_set_linger(self->publisher, 200); //  let the final snapshot leave
    }
    return self;
}

void rill_live_destroy(rill_live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->publisher);
    rill_security_destroy(&(*self_p)->security);
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_now_ns(void)
{
    return (uint64_t)zclock_usecs() * 1000;
}

static void s_publish(rill_live_t *self, const rill_metrics_t *metrics, bool running)
{
    char *json = rill_metrics_to_json(metrics, running);
    if (json)
        zstr_sendx(self->publisher, "metrics", json, NULL);
    free(json);
}

//  Records so far: what the sources emitted.
static uint64_t s_source_records(const rill_metrics_t *metrics)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    uint64_t records = 0;
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        if (rill_op_kind_is_source(rill_plan_operator(plan, subtask->op)->kind))
            records += rill_metrics_subtask(metrics, i).records_out;
    }
    return records;
}

static void s_draw_progress(rill_live_t *self, const rill_metrics_t *metrics)
{
    double seconds = (double)rill_metrics_duration_ns(metrics) / 1e9;
    uint64_t records = s_source_records(metrics);
    double rate = seconds > 0 ? (double)records / seconds : 0;
    const char *unit = rate >= 1e6 ? "M" : rate >= 1e3 ? "k" : "";
    double scaled = rate >= 1e6 ? rate / 1e6 : rate >= 1e3 ? rate / 1e3 : rate;
    fprintf(stderr, "\r\033[Krill: %llu records read, %.3g%s records/s, %.1f s elapsed",
            (unsigned long long)records, scaled, unit, seconds);
    fflush(stderr);
    self->drew_progress = true;
}

static void s_tick(void *ctx, const rill_metrics_t *metrics)
{
    rill_live_t *self = ctx;
    if (self->history)
        rill_history_add(self->history, metrics, false);
    uint64_t now = s_now_ns();
    if (self->publisher && now - self->last_publish_ns >= (uint64_t)self->interval_ms * 1000000) {
        self->last_publish_ns = now;
        s_publish(self, metrics, true);
    }
    //  Short jobs finish before the first second and never show a line.
    if (self->progress && rill_metrics_duration_ns(metrics) > 1000000000ull &&
        now - self->last_progress_ns >= 1000000000ull) {
        self->last_progress_ns = now;
        s_draw_progress(self, metrics);
    }
}

void rill_live_attach(rill_live_t *self, rill_env_t *env)
{
    int interval = self->publisher ? self->interval_ms : 1000;
    if (self->progress && interval > 1000)
        interval = 1000;
    if (self->publisher || self->progress || self->history)
        rill_env_set_monitor(env, s_tick, self, interval < 100 ? interval : 100);
}

void rill_live_keep_history(rill_live_t *self, rill_history_t *history)
{
    self->history = history;
}

void rill_live_finish(rill_live_t *self, const rill_metrics_t *metrics)
{
    if (self->history && metrics)
        rill_history_add(self->history, metrics, true);
    if (self->publisher && metrics)
        s_publish(self, metrics, false);
    if (self->drew_progress) {
        s_draw_progress(self, metrics);
        fputc('\n', stderr);
    }
}
