/*  rill_subtask.c: the loop that joins reader, operator and writer for one subtask. It polls
    its input sockets and its actor pipe, decodes batches, calls the operator per record, lets
    the writer route and batch the output, flushes on the buffer timeout, and when every input
    has ended, ends its own outputs and reports DONE. Counters go to the job's metrics slots. */
#include "rill_subtask.h"
#include "rill_clock.h"
#include "rill_operator_registry.h"
#include "rill_metrics_private.h"
#include "rill_tsan.h"
#include "rill_operator.h"
#include "rill_reader.h"
#include "rill_writer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Frames taken from one input before looking at the others: keeps the inputs fair.
#define S_FRAMES_PER_TURN 4

typedef struct {
    zsock_t *pipe;
    rill_subtask_args_t *args;
    const rill_plan_subtask_t *subtask;
    const rill_plan_operator_t *op;
    rill_subtask_metrics_t *metrics;
    rill_operator_t *operator;
    rill_reader_t *reader;
    rill_writer_t *writer;
    rill_collector_t collector;
    uint64_t emitted;     //  records a source emitted (tracing samples every n-th)
    uint64_t until_trace; //  records left before the next sampled one
    bool sampling;        //  a source subtask of a traced job: counts down to samples
    bool terminated; //  $TERM received: leave now
    bool cancelled;  //  CANCEL received: sources end their stream
    char error[512]; //  same size as args->error, which it is copied to
} self_t;

//  A source's records: one in `sample` starts a trace when tracing is on.
static int s_emit_traced(self_t *self, const rill_record_t *record)
{
    rill_trace_t *trace = self->args->trace;
    self->emitted++;
    //  A countdown, not a division per record: sampling must cost next to nothing.
    if (--self->until_trace != 0 || !self->writer)
        return self->writer ? rill_writer_emit(self->writer, record) : -1;
    self->until_trace = rill_trace_sample(trace);
    uint64_t id = rill_trace_id(self->subtask->id, self->emitted);
    uint64_t made = rill_clock_ns();
    rill_writer_set_trace(self->writer, id);
    int rc = rill_writer_emit(self->writer, record);
    rill_writer_set_trace(self->writer, 0);
    rill_trace_hop(trace, id, self->subtask->id, -1, -1, made, rill_clock_ns());
    return rc;
}

static int s_emit(void *target, const rill_record_t *record)
{
    self_t *self = target;
    if (self->sampling)
        return s_emit_traced(self, record);
    if (!self->writer)
        return -1; //  sinks have no outputs
    return rill_writer_emit(self->writer, record);
}

static int s_emit_tagged(void *target, int tag, const rill_record_t *record)
{
    self_t *self = target;
    return self->writer ? rill_writer_emit_tagged(self->writer, tag, record) : -1;
}

static int s_emit_watermark(void *target, int64_t watermark)
{
    self_t *self = target;
    return self->writer ? rill_writer_watermark(self->writer, watermark) : 0;
}

static int s_emit_idle(void *target)
{
    self_t *self = target;
    return self->writer ? rill_writer_idle(self->writer) : 0;
}

//  Reads one command from the pipe; handles CANCEL and $TERM, returns the others (or NULL).
static char *s_handle_pipe(self_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command) {
        //  A signal (EINTR) is the coordinator's business; anything else means the pipe is gone.
        if (zmq_errno() != EINTR)
            self->terminated = true;
        return NULL;
    }
    if (streq(command, "$TERM"))
        self->terminated = true;
    else if (streq(command, "CANCEL"))
        self->cancelled = true;
    else
        return command;
    zstr_free(&command);
    return NULL;
}

//  Called by the writer while a send is blocked on a full channel.
static int s_blocked(void *ctx)
{
    self_t *self = ctx;
    while (!self->terminated && zsock_events(self->pipe) & ZMQ_POLLIN) {
        char *other = s_handle_pipe(self);
        zstr_free(&other);
    }
    return self->terminated ? -1 : 0;
}

static self_t *s_self_new(zsock_t *pipe, rill_subtask_args_t *args)
{
    //  The job passes a subtask of the plan it deploys.
    assert(pipe && args && args->plan && args->subtask >= 0 &&
           args->subtask < rill_plan_subtask_count(args->plan));
    self_t *self = calloc(1, sizeof(self_t));
    if (!self)
        return NULL;
    self->pipe = pipe;
    self->args = args;
    self->subtask = rill_plan_subtask(args->plan, args->subtask);
    self->op = rill_plan_operator(args->plan, self->subtask->op);
    self->metrics = args->metrics ? rill_metrics_subtask_slot(args->metrics, args->subtask) : NULL;
    self->until_trace = args->trace ? rill_trace_sample(args->trace) : 0;
    self->sampling = args->trace && rill_op_kind_is_source(self->op->kind);
    self->collector = (rill_collector_t){s_emit,          s_emit_tagged, s_emit_watermark,
                                         s_emit_idle,     self,          self->subtask->index,
                                         self->op->parallelism, false};
    return self;
}

static void s_self_destroy(self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    rill_operator_destroy(&self->operator);
    rill_reader_destroy(&self->reader);
    rill_writer_destroy(&self->writer);
    free(self);
    *self_p = NULL;
}

//  Prefixes a message with the operator and subtask it concerns: users see this text.
static void s_set_error(self_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "operator '%s' subtask %d/%d: %s", self->op->name,
             self->subtask->index + 1, self->op->parallelism, why);
}

//  The error behind a failed operator call: the writer's (routing, sending) or the operator's.
static void s_set_operator_error(self_t *self)
{
    const char *why = self->writer && *rill_writer_error(self->writer)
                          ? rill_writer_error(self->writer)
                          : self->operator->error;
    s_set_error(self, *why ? why : "failed");
}

static int s_on_input_watermark(void *ctx, int64_t watermark, bool idle);

static int s_handle_bind(self_t *self)
{
    char why[256] = "";
    self->operator = rill_operator_new(self->args->plan, self->op->id, self->subtask->index, why,
                                       sizeof why);
    if (!self->operator) {
        s_set_error(self, why);
        return -1;
    }
    self->reader = rill_reader_new(self->args->plan, self->subtask->id, self->args->metrics);
    if (self->op->output_count)
        self->writer = rill_writer_new(self->args->plan, self->subtask->id, self->args->metrics,
                                       self->args->batch_size, self->args->buffer_timeout_ms,
                                       s_blocked, self);
    if (!self->reader || (self->op->output_count && !self->writer)) {
        s_set_error(self, "out of memory");
        return -1;
    }
    int member = self->args->alignment
                     ? rill_watermark_alignment_member(self->args->alignment, self->subtask->id)
                     : -1;
    if (member >= 0) {
        self->operator->alignment = self->args->alignment;
        self->operator->alignment_member = member;
    }
    rill_reader_on_watermark(self->reader, s_on_input_watermark, self);
    if (rill_reader_bind(self->reader)) {
        s_set_error(self, rill_reader_error(self->reader));
        return -1;
    }
    return 0;
}

//  The input watermark advanced, or the input went idle or active: let the operator act on it
//  (windows fire, timers run), then pass it on. Going idle passes on the watermark first,
//  then the idleness (Flink's StatusWatermarkValve: the highest watermark of the idle inputs,
//  then the idle status), so receivers downstream can advance too. A timestamp assigner makes
//  its own watermarks instead, so it passes on nothing.
static int s_on_input_watermark(void *ctx, int64_t watermark, bool idle)
{
    self_t *self = ctx;
    const rill_operator_vtable_t *vtable = self->operator->vtable;
    if (vtable->on_watermark && vtable->on_watermark(self->operator, watermark, &self->collector)) {
        s_set_operator_error(self);
        return -1;
    }
    if (self->op->kind == RILL_OP_TIMESTAMPS || !self->writer)
        return 0;
    //  A receiver ignores a watermark that does not advance its channel, so sending the same
    //  one again costs 12 bytes and nothing else.
    int rc = idle && watermark == INT64_MIN ? 0 : rill_writer_watermark(self->writer, watermark);
    if (rc == 0 && idle)
        rc = rill_writer_idle(self->writer);
    if (rc)
        s_set_operator_error(self);
    return rc;
}

//  Runs the operator's clock-driven work when it is due. 0, or -1 with self->error set.
static int s_tick(self_t *self)
{
    const rill_operator_vtable_t *vtable = self->operator->vtable;
    if (!vtable->on_tick)
        return 0;
    int64_t now = rill_clock_wall_ms();
    if (now < vtable->next_tick(self->operator))
        return 0;
    if (vtable->on_tick(self->operator, now, &self->collector)) {
        s_set_operator_error(self);
        return -1;
    }
    return 0;
}

//  How long the loop may sleep: until a batch is due or the operator's next tick.
static long s_poll_timeout(self_t *self, uint64_t now_ns)
{
    long timeout = self->writer ? rill_writer_due_in_ms(self->writer, now_ns) : -1;
    const rill_operator_vtable_t *vtable = self->operator->vtable;
    if (vtable->next_tick) {
        int64_t next = vtable->next_tick(self->operator);
        if (next != INT64_MAX) {
            int64_t wait = next - rill_clock_wall_ms();
            long tick = wait < 0 ? 0 : wait > 1000 ? 1000 : (long)wait;
            if (timeout < 0 || tick < timeout)
                timeout = tick;
        }
    }
    return timeout;
}

static int s_handle_connect(self_t *self)
{
    if (self->writer && rill_writer_connect(self->writer)) {
        s_set_error(self, rill_writer_error(self->writer));
        return -1;
    }
    return 0;
}

static int s_on_record(void *ctx, const rill_record_t *record, int input, int sender,
                       uint64_t trace, const rill_key_hint_t *key)
{
    self_t *self = ctx;
    uint64_t arrived = 0;
    if (trace) {
        //  What the operator emits while handling a traced record carries the trace on.
        arrived = rill_clock_ns();
        if (self->writer)
            rill_writer_set_trace(self->writer, trace);
    }
    //  The key the record carried over a hash edge, for a keyed operator (for this call only).
    self->operator->input_key = key;
    int rc = self->operator->vtable->on_record(self->operator, record, input, &self->collector);
    self->operator->input_key = NULL;
    if (trace) {
        if (self->writer)
            rill_writer_set_trace(self->writer, 0);
        if (self->args->trace) {
            int edge = rill_plan_input_edge(self->args->plan, self->op->id, input);
            int from = rill_plan_operator(self->args->plan,
                                          rill_plan_edge(self->args->plan, edge)->from)
                           ->first_subtask +
                       sender;
            rill_trace_hop(self->args->trace, trace, self->subtask->id, from, edge, arrived,
                           rill_clock_ns());
        }
    }
    if (rc) {
        s_set_operator_error(self);
        return -1;
    }
    return 0;
}

static void s_account(self_t *self, uint64_t *field, uint64_t since, uint64_t now)
{
    if (self->metrics)
        RILL_COUNTER_ADD(*field, now - since);
}

//  A source: produce chunks until the end, a cancel, or $TERM.
static int s_run_source(self_t *self)
{
    uint64_t last = rill_clock_ns();
    uint64_t blocked = self->metrics ? RILL_COUNTER_GET(self->metrics->backpressure_ns) : 0;
    while (!self->cancelled) {
        while (zsock_events(self->pipe) & ZMQ_POLLIN) {
            char *other = s_handle_pipe(self);
            zstr_free(&other);
        }
        if (self->terminated || self->cancelled)
            break;
        int rc = self->operator->vtable->produce(self->operator, &self->collector);
        if (rc < 0) {
            if (!self->terminated)
                s_set_operator_error(self);
            return -1;
        }
        uint64_t now = rill_clock_ns();
        if (self->writer && rill_writer_flush_if_due(self->writer, now)) {
            s_set_operator_error(self);
            return -1;
        }
        if (self->metrics) {
            //  Time blocked on sends was counted by the writer; the rest is busy.
            uint64_t waited = RILL_COUNTER_GET(self->metrics->backpressure_ns) - blocked;
            uint64_t spent = now - last;
            RILL_COUNTER_ADD(self->metrics->busy_ns, spent > waited ? spent - waited : 0);
            blocked += waited;
        }
        last = now;
        if (rc == RILL_SOURCE_END)
            break;
    }
    return 0;
}

//  Everything else: poll inputs and the pipe until every input channel has ended.
static int s_run_inputs(self_t *self)
{
    int inputs = rill_reader_socket_count(self->reader);
    zmq_pollitem_t *items = calloc((size_t)inputs + 1, sizeof(zmq_pollitem_t));
    int *which = calloc((size_t)inputs + 1, sizeof(int));
    int rc = -1;
    if (!items || !which) {
        s_set_error(self, "out of memory");
        goto cleanup;
    }
    const rill_operator_vtable_t *vtable = self->operator->vtable;
    while (!self->terminated && !rill_reader_finished(self->reader)) {
        //  A paused operator (watermark alignment) reads nothing: its inputs fill up and
        //  backpressure its senders; the pipe and its next tick still wake it.
        int paused = vtable->pause_input ? vtable->pause_input(self->operator, &self->collector)
                                         : 0;
        if (paused < 0) {
            s_set_operator_error(self);
            goto cleanup;
        }
        int count = 0;
        items[count++] = (zmq_pollitem_t){zsock_resolve(self->pipe), 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < inputs && !paused; i++)
            if (!rill_reader_input_finished(self->reader, i)) {
                which[count] = i;
                items[count++] =
                    (zmq_pollitem_t){rill_reader_handle(self->reader, i), 0, ZMQ_POLLIN, 0};
            }
        uint64_t before = rill_clock_ns();
        long timeout = s_poll_timeout(self, before);
        if (zmq_poll(items, count, timeout) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            s_set_error(self, zmq_strerror(zmq_errno()));
            goto cleanup;
        }
        uint64_t woke = rill_clock_ns();
        s_account(self, self->metrics ? &self->metrics->idle_ns : NULL, before, woke);
        if (items[0].revents & ZMQ_POLLIN) {
            char *other = s_handle_pipe(self);
            zstr_free(&other);
            if (self->terminated)
                break;
        }
        uint64_t blocked = self->metrics ? RILL_COUNTER_GET(self->metrics->backpressure_ns) : 0;
        for (int k = 1; k < count; k++)
            if ((items[k].revents & ZMQ_POLLIN) &&
                rill_reader_receive(self->reader, which[k], S_FRAMES_PER_TURN, s_on_record,
                                    self) < 0) {
                if (!*self->error)
                    s_set_error(self, rill_reader_error(self->reader));
                goto cleanup;
            }
        if (s_tick(self))
            goto cleanup;
        uint64_t now = rill_clock_ns();
        if (self->writer && rill_writer_flush_if_due(self->writer, now)) {
            s_set_operator_error(self);
            goto cleanup;
        }
        if (self->metrics) {
            //  Time blocked on sends was counted by the writer; the rest is busy.
            uint64_t spent = now - woke;
            uint64_t waited = RILL_COUNTER_GET(self->metrics->backpressure_ns) - blocked;
            RILL_COUNTER_ADD(self->metrics->busy_ns, spent > waited ? spent - waited : 0);
        }
    }
    rc = 0;
cleanup:
    free(items);
    free(which);
    return rc;
}

//  START: runs to the end of input, then ends the outputs. 0, or -1 with self->error set.
static int s_handle_start(self_t *self)
{
    bool source = rill_op_kind_is_source(self->op->kind);
    if (source ? s_run_source(self) : s_run_inputs(self))
        return -1;
    if (self->terminated)
        return 0;
    if (self->operator->vtable->on_end &&
        self->operator->vtable->on_end(self->operator, &self->collector)) {
        s_set_operator_error(self);
        return -1;
    }
    if (self->writer && rill_writer_end(self->writer)) {
        s_set_operator_error(self);
        return -1;
    }
    if (self->metrics)
        __atomic_store_n(&self->metrics->finished, 1, __ATOMIC_RELAXED);
    return 0;
}

//  Reports ERROR or FAILED: the reason goes to the coordinator's buffer, the message is a
//  few bytes that libzmq keeps inline, so nothing here allocates (it must work out of memory).
static void s_report(self_t *self, const char *what)
{
    memcpy(self->args->error, self->error, sizeof self->args->error);
    RILL_TSAN_RELEASE(self->args->error); //  the pipe hands it over (see rill_tsan.h)
    zmq_send(zsock_resolve(self->pipe), what, strlen(what), 0);
}

void rill_subtask_actor(zsock_t *pipe, void *args)
{
    self_t *self = s_self_new(pipe, args);
    zsock_signal(pipe, 0);
    if (!self)
        return; //  the coordinator's next command fails and it reports out of memory
    while (!self->terminated) {
        char *command = s_handle_pipe(self);
        if (!command)
            continue;
        if (streq(command, "BIND") || streq(command, "CONNECT")) {
            int rc = streq(command, "BIND") ? s_handle_bind(self) : s_handle_connect(self);
            if (rc)
                s_report(self, "ERROR");
            else
                zstr_send(pipe, "OK");
        } else if (streq(command, "START")) {
            if (s_handle_start(self)) {
                //  Stop emitting at once; then wait for the coordinator's $TERM.
                self->collector.stopping = true;
                if (!self->terminated)
                    s_report(self, "FAILED");
            } else if (!self->terminated)
                zstr_send(pipe, "DONE");
        }
        zstr_free(&command);
    }
    s_self_destroy(&self);
}
