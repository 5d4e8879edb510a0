/*  rill_job.c: the coordinator. Runs in the caller's thread: it only creates actors, sends
    them a handful of commands and waits on their pipes, so it needs no thread of its own. */
#include "rill_job.h"
#include "rill_subtask.h"
#include "rill_writer.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>

#define S_WATCH_INTERVAL_MS 100

struct rill_job_t {
    const rill_plan_t *plan;
    rill_metrics_t *metrics;
    rill_subtask_args_t *args;
    zactor_t **actors;
    int count;
    rill_monitor_fn *tick;
    void *tick_ctx;
    int tick_interval_ms;
    bool cancelled;
    char error[1024];
};

rill_job_t *rill_job_new(const rill_plan_t *plan, rill_metrics_t *metrics, size_t batch_size,
                         int buffer_timeout_ms, rill_trace_t *trace)
{
    rill_job_t *self = calloc(1, sizeof(rill_job_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->metrics = metrics;
    self->count = rill_plan_subtask_count(plan);
    self->args = calloc((size_t)self->count + 1, sizeof(rill_subtask_args_t));
    self->actors = calloc((size_t)self->count + 1, sizeof(zactor_t *));
    if (!self->args || !self->actors) {
        rill_job_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < self->count; i++)
        self->args[i] =
            (rill_subtask_args_t){plan, i, metrics, batch_size, buffer_timeout_ms, trace};
    return self;
}

//  Stops every actor: $TERM to all first, so they wind down in parallel, then wait for each.
static void s_stop_actors(rill_job_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->actors[i]) {
            zsock_set_sndtimeo(self->actors[i], 0);
            zstr_send(self->actors[i], "$TERM");
        }
    for (int i = 0; i < self->count; i++)
        zactor_destroy(&self->actors[i]);
}

void rill_job_destroy(rill_job_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_job_t *self = *self_p;
    if (self->actors)
        s_stop_actors(self);
    free(self->actors);
    free(self->args);
    free(self);
    *self_p = NULL;
}

void rill_job_set_tick(rill_job_t *self, rill_monitor_fn *tick, void *ctx, int interval_ms)
{
    self->tick = tick;
    self->tick_ctx = ctx;
    self->tick_interval_ms = interval_ms > 0 ? interval_ms : 1000;
}

const char *rill_job_error(const rill_job_t *self)
{
    return self->error;
}

bool rill_job_cancelled(const rill_job_t *self)
{
    return self->cancelled;
}

//  Sends command to every actor, then collects every reply; the first ERROR fails the phase.
static int s_phase(rill_job_t *self, const char *command)
{
    for (int i = 0; i < self->count; i++)
        zstr_send(self->actors[i], command);
    int rc = 0;
    for (int i = 0; i < self->count; i++) {
        char *reply = zstr_recv(self->actors[i]);
        if (!reply || !streq(reply, "OK")) {
            if (rc == 0)
                snprintf(self->error, sizeof self->error, "%s",
                         reply && strlen(reply) > 6 ? reply + 6 : "a subtask did not answer");
            rc = -1;
        }
        zstr_free(&reply);
    }
    return rc;
}

static bool s_is_source(rill_job_t *self, int subtask)
{
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, subtask);
    return rill_op_kind_is_source(rill_plan_operator(self->plan, s->op)->kind);
}

//  Waits for DONE from every subtask, forwarding cancels and ticking the monitor.
static int s_watch(rill_job_t *self, volatile sig_atomic_t *cancel)
{
    zmq_pollitem_t *items = calloc((size_t)self->count, sizeof(zmq_pollitem_t));
    bool *done = calloc((size_t)self->count, sizeof(bool));
    int rc = -1, finished = 0;
    bool cancel_sent = false;
    uint64_t start = rill_clock_ns(), next_tick = start;
    if (!items || !done) {
        snprintf(self->error, sizeof self->error, "job: out of memory");
        goto cleanup;
    }
    for (int i = 0; i < self->count; i++)
        items[i] = (zmq_pollitem_t){zsock_resolve(self->actors[i]), 0, ZMQ_POLLIN, 0};
    while (finished < self->count) {
        int level = cancel ? (int)__atomic_load_n(cancel, __ATOMIC_RELAXED) : 0;
        if (zsys_interrupted && level < 1)
            level = 1;
        if (level >= 2) {
            self->cancelled = true;
            snprintf(self->error, sizeof self->error, "job cancelled before it drained");
            goto cleanup;
        }
        if (level == 1 && !cancel_sent) {
            self->cancelled = true;
            cancel_sent = true;
            for (int i = 0; i < self->count; i++)
                if (!done[i] && s_is_source(self, i))
                    zstr_send(self->actors[i], "CANCEL");
        }
        uint64_t now = rill_clock_ns();
        if (self->metrics)
            rill_metrics_set_duration_ns(self->metrics, now - start);
        if (self->tick && now >= next_tick) {
            self->tick(self->tick_ctx, self->metrics);
            next_tick = now + (uint64_t)self->tick_interval_ms * 1000000ull;
        }
        if (zmq_poll(items, self->count, S_WATCH_INTERVAL_MS) < 0 && zmq_errno() != EINTR) {
            snprintf(self->error, sizeof self->error, "job: %s", zmq_strerror(zmq_errno()));
            goto cleanup;
        }
        for (int i = 0; i < self->count; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            char *message = zstr_recv(self->actors[i]);
            if (!message)
                continue;
            if (streq(message, "DONE") && !done[i]) {
                done[i] = true;
                finished++;
            } else if (strncmp(message, "FAILED ", 7) == 0) {
                snprintf(self->error, sizeof self->error, "%s", message + 7);
                zstr_free(&message);
                goto cleanup;
            }
            zstr_free(&message);
        }
    }
    if (self->metrics)
        rill_metrics_set_duration_ns(self->metrics, rill_clock_ns() - start);
    if (self->tick)
        self->tick(self->tick_ctx, self->metrics);
    rc = 0;
cleanup:
    free(items);
    free(done);
    return rc;
}

int rill_job_run(rill_job_t *self, volatile sig_atomic_t *cancel)
{
    int rc = -1;
    for (int i = 0; i < self->count; i++) {
        self->actors[i] = zactor_new(rill_subtask_actor, &self->args[i]);
        if (!self->actors[i]) {
            snprintf(self->error, sizeof self->error, "job: cannot start subtask actor %d", i);
            goto cleanup;
        }
    }
    if (s_phase(self, "BIND") || s_phase(self, "CONNECT"))
        goto cleanup;
    for (int i = 0; i < self->count; i++)
        zstr_send(self->actors[i], "START");
    rc = s_watch(self, cancel);
cleanup:
    s_stop_actors(self);
    return rc;
}
