/*  rill_writer.c: record serialization, batching and sending for one subtask.

    Sockets per exchange pattern: a forward channel is a PAIR->PAIR pipe of its own; every
    redistributing edge uses one ROUTER per sender, connected to the DEALER each receiver binds,
    with the receiver's index as routing id. ROUTER_MANDATORY makes a full peer block the send
    (or fail with EAGAIN after SNDTIMEO) instead of dropping; broadcast sends the same refcounted
    zmq_msg_t to every receiver (zmq_msg_copy shares the buffer), so it is serialized once and
    each receiver applies its own backpressure.

    Batch buffers are recycled: ZeroMQ frees a sent batch in whichever thread closes its
    message last (a receiver's, mostly), and its free callback hands the buffer back to the
    writer's pool instead of to free(), so a busy channel in steady state does no malloc and no
    cross-thread free of 32 KiB blocks.

    Tracing: a batch remembers when each traced record went into it (a small list taken on
    the first one, so an untraced run pays one test of the trace id per record), and the
    batch's sending writes the sender's side of those hops (rill_trace.h). */
#include "rill_writer.h"
#include "rill_clock.h"
#include "rill_combiner.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_frame.h"
#include "rill_hot_keys.h"
#include "rill_partitioner.h"
#include "rill_plan_private.h"
#include "rill_security.h"
#include "rill_trace.h"
#include "rill_tsan.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define S_SEND_TIMEOUT_MS 100

//  Idle buffers a writer's pool keeps; one more returned is freed. Enough to cover a channel's
//  queue (about 2 * RILL_CHANNEL_HWM batches in flight) coming back between two takes; small
//  enough that a p = 128 exchange (128 writers) holds at most 128 * 8 idle batches.
#define S_POOL_SLOTS 8

//  The buffers of one writer's batches, shared with the ZeroMQ free callbacks of its sent
//  batches (which run in other threads, and may outlive the writer). Lock-free and bounded:
//  a slot holds a free buffer or NULL; the writer takes with an atomic exchange, a callback
//  returns with a compare-and-swap into an empty slot (or frees the buffer when none is). refs
//  counts the writer and each sent batch whose buffer may come back; whoever drops it to 0
//  frees the pool and what it holds. Every buffer is capacity bytes.
typedef struct {
    uint8_t *slots[S_POOL_SLOTS]; //  atomic
    int refs;                     //  atomic
    size_t capacity;
    uint64_t allocated; //  writer only: buffers malloc'd for batches
    uint64_t reused;    //  writer only: batches opened on a recycled buffer
} s_pool_t;

//  The traced records in one batch: their ids and when each went in. Taken on a batch's first
//  traced record and kept for the writer's life; bounded, so a batch full of traced records
//  costs no more than RILL_TRACE_PER_BATCH of them (the rest are counted as unsplit).
typedef struct {
    uint32_t count;
    uint32_t unsplit;
    uint64_t trace[RILL_TRACE_PER_BATCH];
    uint64_t batched[RILL_TRACE_PER_BATCH];
} s_traced_t;

//  One batch being filled. Its bytes are handed to ZeroMQ on send (zero copy); the next
//  buffer is taken when the next entry comes, so a channel that carries nothing costs no
//  buffer (at parallelism p an exchange has p * p channels).
typedef struct {
    uint8_t *data; //  header, then records
    size_t size;
    size_t capacity;  //  bytes of data: the pool's, or more for an entry larger than a batch
    uint32_t count;   //  entries: records and watermarks
    uint32_t records; //  records only, for the counters
    uint64_t payload; //  record bytes in this batch
    s_traced_t *traced; //  NULL until a traced record goes in (and the writer traces)
} s_batch_t;

typedef struct {
    int receiver;                    //  index within the receiving operator
    int channel;                     //  plan channel id
    int to_subtask;                  //  the receiver's global subtask id
    char routing_id[8];              //  ROUTER only
    size_t routing_id_size;
    rill_channel_metrics_t *metrics; //  NULL when not counting
    const char *endpoint;            //  where it listens; remote: over tcp, in another process
    bool remote;
    bool up; //  remote: its connection's handshake succeeded
} s_target_t;

typedef struct {
    const rill_plan_edge_t *edge;
    zsock_t *socket;
    void *handle;
    bool router;
    bool keyed; //  a hash edge into an operator that keys its state: the frame carries the key
    rill_partitioner_t partitioner;
    s_target_t *targets; //  indexed by receiver - lo
    s_batch_t *batches;  //  one per target; broadcast uses batches[0] for all
    int lo, hi;
    rill_combiner_t *combiner; //  a combined edge's pre-aggregation (NULL: none)
    rill_hot_keys_t *hot;      //  a hash edge's heaviest keys, from a sample (NULL: none)
    uint32_t to_sample;        //  records until the next one sampled
    uint32_t gap;              //  the gap that sample ends: its weight
    uint64_t sampled_over;     //  records the samples so far stand for
    uint64_t sample_rng;       //  xorshift state drawing the gaps between samples
} s_output_t;

struct rill_writer_t {
    const rill_plan_t *plan;
    const rill_plan_subtask_t *subtask;
    rill_subtask_metrics_t *metrics;
    rill_metrics_t *all_metrics;
    size_t batch_size;
    int buffer_timeout_ms;
    rill_writer_blocked_fn *blocked;
    void *blocked_ctx;
    int send_timeout_ms; //  how long a blocked send waits between two calls of blocked
    s_output_t *outputs;
    int output_count;
    uint64_t due_ns; //  when pending batches must go; 0 when none pending
    int mini_batch_ms;     //  streaming mini-batch interval: combiners drain this often
    uint64_t drain_due_ns; //  when the combiners must drain; 0 when they hold nothing
    bool combining;        //  some output has a combiner
    uint64_t records;
    uint64_t payload;
    uint64_t batches;
    uint64_t trace; //  trace id stamped on the records emitted now (0: none)
    rill_busy_split_t *busy_split; //  where ZeroMQ send time goes (NULL: not timed)
    rill_trace_t *tracer; //  where the sender's side of traced hops goes (NULL: nowhere)
    s_pool_t *pool;
    uint64_t hot_published; //  records when the hot keys were last published
    //  A job spanning processes: the address tcp connections leave from (NULL: any), their
    //  CURVE keys (NULL: plain text), and the token each channel's HELLO carries.
    const char *tcp_host;
    rill_security_t *security;
    uint64_t token;
    char error[512];
};

static s_pool_t *s_pool_new(size_t capacity)
{
    s_pool_t *pool = calloc(1, sizeof(s_pool_t));
    if (pool) {
        pool->capacity = capacity;
        pool->refs = 1; //  the writer's
    }
    return pool;
}

//  Drops one reference; the last one frees the pool and the buffers it holds. Every buffer
//  returned before a reference was dropped is in a slot by then (release/acquire on refs).
static void s_pool_release(s_pool_t *pool)
{
    if (__atomic_sub_fetch(&pool->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (int i = 0; i < S_POOL_SLOTS; i++)
        free(__atomic_exchange_n(&pool->slots[i], NULL, __ATOMIC_ACQUIRE));
    free(pool);
}

//  A free buffer from the pool, or NULL when it holds none (the writer's thread only).
static uint8_t *s_pool_take(s_pool_t *pool)
{
    for (int i = 0; i < S_POOL_SLOTS; i++) {
        //  A plain look first: an exchange on an empty slot would cost a locked instruction.
        if (!__atomic_load_n(&pool->slots[i], __ATOMIC_RELAXED))
            continue;
        uint8_t *buffer = __atomic_exchange_n(&pool->slots[i], NULL, __ATOMIC_ACQUIRE);
        if (buffer)
            return buffer;
    }
    return NULL;
}

//  ZeroMQ calls this when the last message sharing a batch is closed, in whichever thread that
//  was: every reader released the batch before closing its message. A batch of the pool's
//  size goes back to its pool (hint); a larger one (hint NULL) is freed.
static void s_free_batch(void *data, void *hint)
{
    RILL_TSAN_ACQUIRE(data);
    s_pool_t *pool = hint;
    if (!pool) {
        free(data);
        return;
    }
    bool kept = false;
    for (int i = 0; i < S_POOL_SLOTS && !kept; i++) {
        uint8_t *empty = NULL;
        kept = __atomic_compare_exchange_n(&pool->slots[i], &empty, data, false, __ATOMIC_RELEASE,
                                           __ATOMIC_RELAXED);
    }
    if (!kept)
        free(data);
    s_pool_release(pool);
}

//  Takes a buffer of the pool's capacity for an empty batch (data NULL): a recycled one when
//  there is one. Only a channel that carries something takes one.
static int s_batch_open(s_pool_t *pool, s_batch_t *batch)
{
    batch->data = s_pool_take(pool);
    if (batch->data)
        pool->reused++;
    else {
        batch->data = malloc(pool->capacity);
        pool->allocated++;
    }
    batch->capacity = pool->capacity;
    batch->size = RILL_FRAME_HEADER_SIZE; //  filled in when the batch is sent
    batch->count = 0;
    batch->records = 0;
    batch->payload = 0;
    return batch->data ? 0 : -1;
}

rill_writer_t *rill_writer_new(const rill_plan_t *plan, int subtask, rill_metrics_t *metrics,
                               size_t batch_size, int buffer_timeout_ms,
                               rill_writer_blocked_fn *blocked, void *blocked_ctx)
{
    rill_writer_t *self = calloc(1, sizeof(rill_writer_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->subtask = rill_plan_subtask(plan, subtask);
    assert(self->subtask); //  the job starts only the plan's subtasks
    self->all_metrics = metrics;
    self->metrics = metrics ? rill_metrics_subtask_slot(metrics, subtask) : NULL;
    self->batch_size = batch_size < 64 ? 64 : batch_size;
    self->buffer_timeout_ms = buffer_timeout_ms;
    self->blocked = blocked;
    self->blocked_ctx = blocked_ctx;
    self->send_timeout_ms = S_SEND_TIMEOUT_MS;
    self->pool = s_pool_new(self->batch_size);
    if (!self->pool)
        goto fail;
    const rill_plan_operator_t *op = rill_plan_operator(plan, self->subtask->op);
    self->outputs = calloc((size_t)op->output_count + 1, sizeof(s_output_t));
    if (!self->outputs)
        goto fail;
    self->output_count = op->output_count;
    for (int i = 0; i < op->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        out->edge = rill_plan_edge(plan, rill_plan_output_edge(plan, op->id, i));
        out->router = out->edge->pattern != RILL_PATTERN_FORWARD;
        //  Only these receivers use a record's key; to any other the key's hash and place
        //  would be bytes to write and read for nothing.
        rill_op_kind_t to = rill_plan_operator(plan, out->edge->to)->kind;
        out->keyed = out->edge->pattern == RILL_PATTERN_HASH &&
                     (to == RILL_OP_REDUCE || to == RILL_OP_WINDOW || to == RILL_OP_PROCESS);
        //  This sender's channels on the edge form a contiguous receiver range.
        out->lo = INT32_MAX;
        out->hi = -1;
        const int *channels;
        int count = rill_plan_channels_from(plan, out->edge->id, self->subtask->index, &channels);
        for (int c = 0; c < count; c++) {
            const rill_plan_channel_t *ch = rill_plan_channel(plan, channels[c]);
            assert(ch->from_subtask == subtask);
            out->lo = ch->to_index < out->lo ? ch->to_index : out->lo;
            out->hi = ch->to_index + 1 > out->hi ? ch->to_index + 1 : out->hi;
        }
        if (out->hi < 0)
            out->lo = out->hi = 0;
        int targets = out->hi - out->lo;
        out->targets = calloc((size_t)targets + 1, sizeof(s_target_t));
        out->batches = calloc((size_t)targets + 1, sizeof(s_batch_t));
        if (!out->targets || !out->batches)
            goto fail;
        for (int c = 0; c < count; c++) {
            const rill_plan_channel_t *ch = rill_plan_channel(plan, channels[c]);
            s_target_t *target = &out->targets[ch->to_index - out->lo];
            target->receiver = ch->to_index;
            target->channel = ch->id;
            target->to_subtask = ch->to_subtask;
            //  A routing id must not start with a zero byte (libzmq reserves those).
            target->routing_id_size =
                (size_t)snprintf(target->routing_id, sizeof target->routing_id, "r%d", ch->to_index);
            target->metrics = metrics ? rill_metrics_channel_slot(metrics, ch->id) : NULL;
        }
        const rill_graph_t *graph = rill_plan_graph(plan);
        rill_partitioner_init(&out->partitioner, rill_graph_edge(graph, out->edge->id),
                              out->edge->pattern, self->subtask->index,
                              rill_plan_operator(plan, out->edge->to)->parallelism, out->lo,
                              out->hi);
        //  Counting keys costs a sample; only a run that keeps counters has a use for them.
        if (out->edge->pattern == RILL_PATTERN_HASH && metrics && out->partitioner.key &&
            !(out->hot = rill_hot_keys_new()))
            goto fail;
        out->to_sample = out->gap = RILL_HOT_KEYS_SAMPLE;
        out->sample_rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(subtask + 1) << 32) ^
                          (uint64_t)(i + 1); //  per sender and edge, never 0
        if (out->edge->combined && out->hi > out->lo) {
            out->combiner = rill_combiner_new(rill_graph_edge(graph, out->edge->id),
                                              rill_graph_operator(graph, out->edge->to),
                                              rill_plan_operator(plan, out->edge->to)->parallelism,
                                              rill_graph_combine_bytes(graph));
            if (!out->combiner)
                goto fail;
            self->combining = true;
        }
    }
    if (rill_plan_mode(plan) == RILL_MODE_STREAMING)
        self->mini_batch_ms = rill_graph_mini_batch_ms(rill_plan_graph(plan));
    return self;
fail:
    rill_writer_destroy(&self);
    return NULL;
}

void rill_writer_destroy(rill_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_writer_t *self = *self_p;
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        zsock_destroy(&out->socket);
        rill_combiner_destroy(&out->combiner);
        rill_hot_keys_destroy(&out->hot);
        if (out->batches)
            for (int b = 0; b < out->hi - out->lo; b++) {
                free(out->batches[b].data);
                free(out->batches[b].traced);
            }
        free(out->batches);
        free(out->targets);
    }
    free(self->outputs);
    if (self->pool)
        s_pool_release(self->pool); //  batches still in flight keep it alive
    free(self);
    *self_p = NULL;
}

static int s_fail(rill_writer_t *self, const char *format, const char *detail)
{
    snprintf(self->error, sizeof self->error, format, detail);
    return -1;
}

void rill_writer_set_send_timeout(rill_writer_t *self, int milliseconds)
{
    assert(self && milliseconds > 0);
    self->send_timeout_ms = milliseconds;
}

void rill_writer_set_network(rill_writer_t *self, const char *host, rill_security_t *security,
                             uint64_t token)
{
    self->tcp_host = host;
    self->security = security;
    self->token = token;
}

static int s_send(rill_writer_t *self, s_output_t *out, s_target_t *target, zmq_msg_t *msg);

//  How long a tcp channel may take to come up before the job gives up on it.
#define S_HANDSHAKE_MS 15000

#define S_HANDSHAKE_EVENTS                                                                      \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                           \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

//  The target whose endpoint a monitor event names (the connect string may carry a source
//  address first: "tcp://SRC:0;HOST:PORT"), or NULL.
static s_target_t *s_target_at(s_output_t *out, const char *address)
{
    for (int t = 0; t < out->hi - out->lo; t++) {
        s_target_t *target = &out->targets[t];
        if (target->remote && strstr(address, target->endpoint + 6))
            return target;
    }
    return NULL;
}

//  The handshake on the tcp channels of an output: tcp and CURVE connect in the background,
//  and a ROUTER that names its peers (CONNECT_ROUTING_ID) queues for them before they are up.
//  So the writer watches its socket's handshakes (libzmq's monitor) until every remote
//  receiver's succeeded, and fails on a refusal (another key, plain text against CURVE) or
//  after the deadline, naming the receiver. Then each channel's first frame, HELLO with the
//  job's token, tells its receiver the channel belongs to this job.
static int s_handshake(rill_writer_t *self, s_output_t *out, zsock_t *monitor)
{
    int waiting = 0;
    for (int t = 0; t < out->hi - out->lo; t++)
        waiting += out->targets[t].remote;
    uint64_t deadline = rill_clock_ns() + (uint64_t)S_HANDSHAKE_MS * 1000000ull;
    const char *why = NULL;
    s_target_t *failed = NULL;
    while (waiting > 0 && !why) {
        zmq_pollitem_t item = {zsock_resolve(monitor), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0) {
            if (rill_clock_ns() > deadline)
                why = "no handshake within 15 s";
            else if (self->blocked && self->blocked(self->blocked_ctx))
                return s_fail(self, "%s", "stopped while connecting");
            continue;
        }
        zmsg_t *event = zmsg_recv(monitor);
        zframe_t *head = event ? zmsg_first(event) : NULL;
        char *address = event && zmsg_size(event) == 2 ? zframe_strdup(zmsg_last(event)) : NULL;
        if (head && address && zframe_size(head) >= 2) {
            uint16_t kind;
            memcpy(&kind, zframe_data(head), sizeof kind);
            s_target_t *target = s_target_at(out, address);
            if (target && kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !target->up) {
                target->up = true;
                waiting--;
            } else if (target && kind != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                failed = target;
                why = kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                          ? "it refused our key (the two processes hold different cluster keys)"
                          : "the handshake failed (another cluster's keys, or plain text against CURVE)";
            }
        }
        zstr_free(&address);
        zmsg_destroy(&event);
    }
    if (why) {
        for (int t = 0; !failed && t < out->hi - out->lo; t++)
            if (out->targets[t].remote && !out->targets[t].up)
                failed = &out->targets[t];
        const rill_plan_operator_t *to = rill_plan_operator(self->plan, out->edge->to);
        snprintf(self->error, sizeof self->error, "cannot reach '%s' subtask %d/%d at %s: %s",
                 to->name, failed->receiver + 1, to->parallelism, failed->endpoint, why);
        return -1;
    }
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_HELLO,
                                  (uint16_t)self->subtask->index, 0, (int64_t)self->token};
    for (int t = 0; t < out->hi - out->lo; t++) {
        s_target_t *target = &out->targets[t];
        if (!target->remote)
            continue;
        zmq_msg_t msg;
        zmq_msg_init_size(&msg, RILL_FRAME_HEADER_SIZE);
        rill_frame_header_put(zmq_msg_data(&msg), &header);
        if (s_send(self, out, target, &msg))
            return -1;
    }
    return 0;
}

int rill_writer_connect(rill_writer_t *self)
{
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        out->socket = zsock_new(out->router ? ZMQ_ROUTER : ZMQ_PAIR);
        if (!out->socket)
            return s_fail(self, "cannot create an output socket: %s", zmq_strerror(errno));
        zsock_set_sndhwm(out->socket, RILL_CHANNEL_HWM);
        zsock_set_sndtimeo(out->socket, self->send_timeout_ms);
        zsock_set_linger(out->socket, 0);
        if (out->router)
            zsock_set_router_mandatory(out->socket, 1);
        out->handle = zsock_resolve(out->socket);
        const int *channels;
        int count =
            rill_plan_channels_from(self->plan, out->edge->id, self->subtask->index, &channels);
        //  Over tcp the connection itself says who sends on it: its routing id goes to the
        //  receiver in the handshake (rill_reader.c checks each frame against it).
        char routing_id[32];
        snprintf(routing_id, sizeof routing_id, "rill/e%d/s%d", out->edge->id,
                 self->subtask->index);
        zmq_setsockopt(out->handle, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
        bool secured = false;
        zsock_t *monitor = NULL; //  watches the tcp handshakes, made before the first connect
        for (int c = 0; c < count; c++) {
            const rill_plan_channel_t *ch = rill_plan_channel(self->plan, channels[c]);
            s_target_t *target = &out->targets[ch->to_index - out->lo];
            target->endpoint = ch->endpoint;
            if (out->router)
                zsock_set_connect_rid(out->socket, target->routing_id);
            int rc;
            if (ch->transport == RILL_TRANSPORT_TCP) {
                if (strncmp(ch->endpoint, "tcp://", 6) != 0)
                    return s_fail(self, "no tcp address for a channel to another process "
                                        "(got '%s')", ch->endpoint);
                target->remote = true;
                if (!monitor) {
                    char name[64];
                    snprintf(name, sizeof name, "inproc://rill-handshake-%p", (void *)out);
                    if (zmq_socket_monitor(out->handle, name, S_HANDSHAKE_EVENTS) ||
                        !(monitor = zsock_new_pair(name)))
                        return s_fail(self, "cannot watch the tcp handshakes: %s",
                                      zmq_strerror(errno));
                }
                //  CURVE applies to the socket's tcp connections; its inproc ones have no
                //  handshake and stay as they are.
                if (!secured) {
                    if (self->security)
                        rill_security_client(self->security, out->socket);
                    zsock_set_heartbeat_ivl(out->socket, RILL_TCP_HEARTBEAT_MS);
                    zsock_set_heartbeat_timeout(out->socket, 6 * RILL_TCP_HEARTBEAT_MS);
                    secured = true;
                }
                //  Leave from this process's own address, so a receiver sees the peer it
                //  expects (hosts with several addresses, several loopback ones on one).
                rc = self->tcp_host ? zsock_connect(out->socket, "tcp://%s:0;%s", self->tcp_host,
                                                    ch->endpoint + 6)
                                    : zsock_connect(out->socket, "%s", ch->endpoint);
            } else
                rc = zsock_connect(out->socket, "%s", ch->endpoint);
            if (rc) {
                zsock_destroy(&monitor);
                return s_fail(self, "cannot connect to %s", ch->endpoint);
            }
        }
        if (monitor) {
            int rc = s_handshake(self, out, monitor);
            zmq_socket_monitor(out->handle, NULL, 0);
            zsock_destroy(&monitor);
            if (rc)
                return -1;
        }
    }
    return 0;
}

//  Sends one frame to one receiver, blocking while the channel is full. Takes the message.
static int s_send(rill_writer_t *self, s_output_t *out, s_target_t *target, zmq_msg_t *msg)
{
    uint64_t blocked_since = 0;
    //  Time in ZeroMQ is timed per frame (a batch), when diagnostics are on.
    uint64_t started = self->busy_split ? rill_clock_ns() : 0;
    int flags = ZMQ_DONTWAIT; //  the first try never blocks, so the usual path reads no clock
    for (;;) {
        int rc = 0;
        if (out->router)
            rc = zmq_send(out->handle, target->routing_id, target->routing_id_size,
                          ZMQ_SNDMORE | flags);
        if (rc >= 0)
            rc = zmq_msg_send(msg, out->handle, flags);
        if (rc >= 0)
            break;
        if (errno != EAGAIN) {
            zmq_msg_close(msg);
            return s_fail(self, "send failed: %s", zmq_strerror(errno));
        }
        if (!blocked_since)
            blocked_since = rill_clock_ns();
        else if (self->blocked && self->blocked(self->blocked_ctx)) {
            zmq_msg_close(msg);
            return s_fail(self, "%s", "send abandoned: the job is stopping");
        }
        flags = 0; //  from now on wait up to SNDTIMEO per try
    }
    uint64_t sent = blocked_since || started ? rill_clock_ns() : 0;
    if (blocked_since && self->metrics)
        RILL_COUNTER_ADD(self->metrics->backpressure_ns, sent - blocked_since);
    //  Up to the first refusal it was ZeroMQ's work; after, it was backpressure.
    if (started)
        self->busy_split->zmq_ns += (blocked_since ? blocked_since : sent) - started;
    return 0;
}

static void s_count(rill_writer_t *self, s_target_t *target, uint64_t records, uint64_t bytes)
{
    if (!target->metrics)
        return;
    RILL_COUNTER_ADD(target->metrics->records, records);
    RILL_COUNTER_ADD(target->metrics->bytes, bytes);
    RILL_COUNTER_ADD(target->metrics->batches, 1);
}

//  Writes the sender's side of the traced hops in batch b, sent at `sent`: one line per
//  traced record and receiver (every receiver of a broadcast).
static void s_trace_sent(rill_writer_t *self, s_output_t *out, int b, uint64_t sent)
{
    s_traced_t *traced = out->batches[b].traced;
    bool broadcast = out->edge->pattern == RILL_PATTERN_BROADCAST;
    int first = broadcast ? 0 : b, last = broadcast ? out->hi - out->lo : b + 1;
    for (int t = first; t < last; t++) {
        const s_target_t *target = &out->targets[t];
        for (uint32_t i = 0; i < traced->count; i++)
            rill_trace_sent(self->tracer, traced->trace[i], self->subtask->id, target->to_subtask,
                            target->channel, traced->batched[i], sent);
    }
    if (traced->unsplit)
        rill_trace_unsplit(self->tracer, (uint64_t)traced->unsplit * (uint64_t)(last - first));
    traced->count = traced->unsplit = 0;
}

//  Notes that the traced record just appended to batch (self->trace) went in now.
static void s_note_traced(rill_writer_t *self, s_batch_t *batch)
{
    if (!batch->traced && !(batch->traced = calloc(1, sizeof(s_traced_t))))
        return; //  out of memory: this hop goes unsplit, the run goes on
    s_traced_t *traced = batch->traced;
    if (traced->count == RILL_TRACE_PER_BATCH) {
        traced->unsplit++;
        return;
    }
    traced->trace[traced->count] = self->trace;
    traced->batched[traced->count++] = rill_clock_ns();
}

//  Sends batch b of out (to one receiver, or to all for broadcast) and opens a fresh one.
static int s_flush_batch(rill_writer_t *self, s_output_t *out, int b)
{
    s_batch_t *batch = &out->batches[b];
    if (!batch->count)
        return 0;
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_DATA,
                                  (uint16_t)self->subtask->index, batch->count, 0};
    rill_frame_header_put(batch->data, &header);
    //  The sent batch holds a reference on the pool it goes back to (dropped in s_free_batch).
    s_pool_t *pool = batch->capacity == self->pool->capacity ? self->pool : NULL;
    if (pool)
        __atomic_add_fetch(&pool->refs, 1, __ATOMIC_RELAXED);
    //  Traced hops leave now: the time a blocked send waits for room counts as queueing.
    uint64_t sent =
        batch->traced && batch->traced->count + batch->traced->unsplit ? rill_clock_ns() : 0;
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, batch->data, batch->size, s_free_batch, pool)) {
        if (pool)
            __atomic_sub_fetch(&pool->refs, 1, __ATOMIC_RELAXED); //  the writer still holds one
        free(batch->data);
        batch->data = NULL;
        batch->count = 0;
        if (batch->traced)
            batch->traced->count = batch->traced->unsplit = 0;
        return s_fail(self, "%s", "out of memory");
    }
    //  The batch is complete, and so is the message's shared header ZeroMQ just allocated
    //  (freed by whoever closes the message last): the readers acquire both.
    RILL_TSAN_RELEASE(batch->data);
    uint64_t records = batch->records, bytes = batch->size;
    batch->data = NULL; //  now ZeroMQ's; the next entry takes a fresh buffer
    batch->size = 0;
    batch->count = 0;
    int rc = 0;
    if (out->edge->pattern == RILL_PATTERN_BROADCAST) {
        for (int t = 0; t < out->hi - out->lo && rc == 0; t++) {
            zmq_msg_t copy;
            zmq_msg_init(&copy);
            zmq_msg_copy(&copy, &msg); //  shares the refcounted buffer
            rc = s_send(self, out, &out->targets[t], &copy);
            if (rc == 0)
                s_count(self, &out->targets[t], records, bytes);
        }
        zmq_msg_close(&msg);
    } else {
        rc = s_send(self, out, &out->targets[b], &msg);
        if (rc == 0)
            s_count(self, &out->targets[b], records, bytes);
    }
    if (sent)
        s_trace_sent(self, out, b, sent);
    self->batches++;
    return rc;
}

//  Publishes the hash edges' heaviest keys: every 64 Ki records, and at the end (force).
static void s_publish_hot_keys(rill_writer_t *self, bool force)
{
    if (!self->all_metrics || (!force && self->records - self->hot_published < 65536))
        return;
    self->hot_published = self->records;
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        if (!out->hot)
            continue;
        rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
        int count = rill_hot_keys_top(out->hot, keys, RILL_METRICS_HOT_KEYS);
        rill_metrics_set_hot_keys(self->all_metrics, out->edge->id, self->subtask->index, keys,
                                  count);
    }
}

static void s_publish(rill_writer_t *self)
{
    if (!self->metrics)
        return;
    __atomic_store_n(&self->metrics->records_out, self->records, __ATOMIC_RELAXED);
    __atomic_store_n(&self->metrics->bytes_out, self->payload, __ATOMIC_RELAXED);
    __atomic_store_n(&self->metrics->batches_out, self->batches, __ATOMIC_RELAXED);
    s_publish_hot_keys(self, false);
}

//  One record of a hash edge's sample: its key, as the edge's extractor gives it, counted with
//  the sample's weight toward the receiver its hash picks.
static void s_sample_key(s_output_t *out, const rill_record_t *record)
{
    //  The next sample comes after a random gap of 1 .. 2 * mean - 1 records: a fixed stride
    //  would alias with periodic input (every 16th word of lines of four is always the same
    //  word of its line) and miss a hot key. The mean is RILL_HOT_KEYS_SAMPLE at first, then
    //  RILL_HOT_KEYS_SPARSE: on a long run the sample is large anyway, and sampling costs a
    //  key extraction, a hash and a scan of the counters (about 4% of WordCount at 1 in 16).
    uint32_t weight = out->gap;
    out->sampled_over += weight;
    uint32_t mean =
        out->sampled_over < RILL_HOT_KEYS_DENSE ? RILL_HOT_KEYS_SAMPLE : RILL_HOT_KEYS_SPARSE;
    uint64_t x = out->sample_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out->sample_rng = x;
    out->to_sample = out->gap = 1 + (uint32_t)(x % (2 * mean - 1));
    rill_key_t key;
    if (out->partitioner.key(record, &key, out->partitioner.key_ctx))
        return; //  the partitioner reports the failure
    uint64_t hash = rill_key_hash(key.data, key.size);
    int receiver = rill_key_group_receiver((int)rill_key_group_of_hash(hash),
                                           out->partitioner.receivers);
    rill_hot_keys_add(out->hot, hash, key.data, key.size, receiver, weight);
}

//  Makes room for `needed` bytes in batch b: flushes it when full; an entry larger than a
//  whole batch gets a frame of its own size. Starts the buffer timeout on a batch's first entry.
static int s_make_room(rill_writer_t *self, s_output_t *out, int b, size_t needed)
{
    s_batch_t *batch = &out->batches[b];
    if (batch->data && batch->size + needed > self->batch_size && batch->count) {
        if (s_flush_batch(self, out, b))
            return -1;
    }
    if (!batch->data && s_batch_open(self->pool, batch))
        return s_fail(self, "%s", "out of memory");
    if (batch->size + needed > batch->capacity) {
        uint8_t *bigger = realloc(batch->data, batch->size + needed);
        if (!bigger)
            return s_fail(self, "%s", "out of memory");
        batch->data = bigger;
        batch->capacity = batch->size + needed; //  freed, not pooled, once sent
    }
    if (!batch->count && !self->due_ns && self->buffer_timeout_ms > 0)
        self->due_ns = rill_clock_ns() + (uint64_t)self->buffer_timeout_ms * 1000000ull;
    return 0;
}

//  Appends a record, with its key hint (hash edges; NULL or hash 0: none), to batch b.
static int s_append(rill_writer_t *self, s_output_t *out, int b, const rill_record_t *record,
                    const rill_key_hint_t *key)
{
    s_batch_t *batch = &out->batches[b];
    //  A batch already started (buffer taken, timeout running) with room for the largest
    //  header needs nothing else, not even the record's exact size first; near the end of the
    //  batch the exact size decides, so a batch still fills to the byte.
    if (!batch->count || batch->size + record->size + RILL_RECORD_MAX_HEADER > self->batch_size) {
        size_t needed = rill_frame_record_size(record->size, record->timestamp, self->trace, key);
        if (s_make_room(self, out, b, needed))
            return -1;
    }
    uint8_t *at = batch->data + batch->size;
    uint8_t *end = rill_frame_put_record(at, record->data, (uint32_t)record->size,
                                         record->timestamp, self->trace, key);
    batch->size += (size_t)(end - at);
    batch->count++;
    batch->records++;
    batch->payload += record->size;
    if (self->trace && self->tracer)
        s_note_traced(self, batch);
    //  An oversized batch goes at once, so the buffer returns to its normal size.
    if (batch->size >= self->batch_size)
        return s_flush_batch(self, out, b);
    return 0;
}

typedef struct {
    rill_writer_t *writer;
    s_output_t *out;
    bool failed; //  a send failed (its error is the writer's), not the combiner
} s_combined_t;

//  A combiner's record goes into its receiver's batch; stamped only when it carries the
//  traced record.
static int s_emit_combined(void *ctx, int receiver, const rill_record_t *record, bool traced)
{
    s_combined_t *combined = ctx;
    rill_writer_t *self = combined->writer;
    uint64_t trace = self->trace;
    if (!traced)
        self->trace = 0;
    //  A partial result carries no key hint: the reduce reads the key from the partial.
    int rc = s_append(self, combined->out, receiver - combined->out->lo, record, NULL);
    self->trace = trace;
    combined->failed = combined->failed || rc != 0;
    return rc;
}

//  The combiner's error, naming the reduce it pre-aggregates for (the sender's subtask
//  names itself).
static void s_combiner_failed(rill_writer_t *self, s_output_t *out)
{
    snprintf(self->error, sizeof self->error, "pre-aggregating for '%s': %s",
             rill_plan_operator(self->plan, out->edge->to)->name,
             rill_combiner_error(out->combiner));
}

//  Sends what every combiner holds: before a watermark, an idle marker or END, so no
//  record overtakes one, and every mini-batch interval.
static int s_drain(rill_writer_t *self)
{
    for (int i = 0; i < self->output_count && self->combining; i++) {
        s_output_t *out = &self->outputs[i];
        s_combined_t combined = {self, out, false};
        if (out->combiner && rill_combiner_flush(out->combiner, s_emit_combined, &combined)) {
            if (!combined.failed)
                s_combiner_failed(self, out);
            return -1;
        }
    }
    self->drain_due_ns = 0;
    return 0;
}

//  Folds a record into a combined output's table instead of sending it.
static int s_combine(rill_writer_t *self, s_output_t *out, const rill_record_t *record)
{
    s_combined_t combined = {self, out, false};
    if (rill_combiner_add(out->combiner, record, self->trace != 0, s_emit_combined, &combined)) {
        if (!combined.failed)
            s_combiner_failed(self, out);
        return -1;
    }
    if (self->mini_batch_ms > 0 && !self->drain_due_ns)
        self->drain_due_ns = rill_clock_ns() + (uint64_t)self->mini_batch_ms * 1000000ull;
    return 0;
}

int rill_writer_emit_tagged(rill_writer_t *self, int tag, const rill_record_t *record)
{
    if (record->size > RILL_RECORD_MAX_SIZE)
        return s_fail(self, "%s", "record larger than 2 GiB");
    self->records++;
    self->payload += record->size;
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        if (out->hi == out->lo || out->edge->output_tag != tag)
            continue; //  no channel on the edge from here (global, rescale), or another output
        if (out->hot && --out->to_sample == 0)
            s_sample_key(out, record);
        if (out->combiner) {
            if (s_combine(self, out, record))
                return -1;
            continue;
        }
        const char *why = NULL;
        rill_key_hint_t key, *carried = out->keyed ? &key : NULL;
        int target = rill_partitioner_select(&out->partitioner, record, carried, &why);
        if (target == RILL_PARTITION_ALL)
            target = out->lo;
        else if (target < out->lo || target >= out->hi) {
            if (target >= 0)
                why = "partitioner chose a receiver this sender has no channel to";
            return s_fail(self, "%s", why);
        }
        if (s_append(self, out, target - out->lo, record, carried))
            return -1;
    }
    if (self->buffer_timeout_ms == 0)
        return rill_writer_flush(self);
    return 0;
}

int rill_writer_emit(rill_writer_t *self, const rill_record_t *record)
{
    return rill_writer_emit_tagged(self, RILL_OUTPUT_MAIN, record);
}

int rill_writer_flush(rill_writer_t *self)
{
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        int batches = out->edge->pattern == RILL_PATTERN_BROADCAST ? 1 : out->hi - out->lo;
        for (int b = 0; b < batches && out->hi > out->lo; b++)
            if (s_flush_batch(self, out, b))
                return -1;
    }
    self->due_ns = 0;
    s_publish(self);
    return 0;
}

int rill_writer_flush_if_due(rill_writer_t *self, uint64_t now_ns)
{
    //  A mini-batch that is due goes at once, batches and all: the interval is its latency.
    if (self->drain_due_ns && now_ns >= self->drain_due_ns)
        return s_drain(self) || rill_writer_flush(self) ? -1 : 0;
    if (self->due_ns && now_ns >= self->due_ns)
        return rill_writer_flush(self);
    return 0;
}

long rill_writer_due_in_ms(const rill_writer_t *self, uint64_t now_ns)
{
    uint64_t due = self->due_ns;
    if (self->drain_due_ns && (!due || self->drain_due_ns < due))
        due = self->drain_due_ns;
    if (!due)
        return -1;
    if (now_ns >= due)
        return 0;
    return (long)((due - now_ns + 999999) / 1000000);
}

//  Flushes, then sends one control frame on every channel of every output: in band, so
//  each receiver sees it after all the records sent before it.
static int s_control(rill_writer_t *self, rill_frame_kind_t kind, int64_t value)
{
    if (rill_writer_flush(self))
        return -1;
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        for (int t = 0; t < out->hi - out->lo; t++) {
            rill_frame_header_t header = {RILL_FRAME_MAGIC, (uint8_t)kind,
                                          (uint16_t)self->subtask->index, 0, value};
            zmq_msg_t msg;
            zmq_msg_init_size(&msg, RILL_FRAME_HEADER_SIZE);
            rill_frame_header_put(zmq_msg_data(&msg), &header);
            if (s_send(self, out, &out->targets[t], &msg))
                return -1;
        }
    }
    return 0;
}

//  Appends a watermark entry to batch b (flushing first when it is full).
static int s_append_watermark(rill_writer_t *self, s_output_t *out, int b, int64_t watermark)
{
    s_batch_t *batch = &out->batches[b];
    if (s_make_room(self, out, b, RILL_WATERMARK_ENTRY_SIZE))
        return -1;
    rill_frame_put_watermark(batch->data + batch->size, watermark);
    batch->size += RILL_WATERMARK_ENTRY_SIZE;
    batch->count++;
    return 0;
}

int rill_writer_watermark(rill_writer_t *self, int64_t watermark)
{
    if (s_drain(self))
        return -1;
    //  In band, inside the batches: every channel gets it after the records before it, and
    //  it costs 9 bytes instead of a flush.
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        int batches = out->edge->pattern == RILL_PATTERN_BROADCAST ? 1 : out->hi - out->lo;
        for (int b = 0; b < batches && out->hi > out->lo; b++)
            if (s_append_watermark(self, out, b, watermark))
                return -1;
    }
    return self->buffer_timeout_ms == 0 ? rill_writer_flush(self) : 0;
}

int rill_writer_idle(rill_writer_t *self)
{
    return s_drain(self) ? -1 : s_control(self, RILL_FRAME_IDLE, 0);
}

int rill_writer_barrier(rill_writer_t *self, int64_t checkpoint)
{
    //  The combiners' partials hold records from before the barrier: they go first.
    return s_drain(self) ? -1 : s_control(self, RILL_FRAME_BARRIER, checkpoint);
}

int rill_writer_probe(rill_writer_t *self, int64_t round, uint64_t count)
{
    if (s_drain(self) || rill_writer_flush(self))
        return -1;
    uint32_t saturated = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
    for (int i = 0; i < self->output_count; i++) {
        s_output_t *out = &self->outputs[i];
        if (!out->edge->iteration)
            continue;
        for (int t = 0; t < out->hi - out->lo; t++) {
            rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_PROBE,
                                          (uint16_t)self->subtask->index, saturated, round};
            zmq_msg_t msg;
            zmq_msg_init_size(&msg, RILL_FRAME_HEADER_SIZE);
            rill_frame_header_put(zmq_msg_data(&msg), &header);
            if (s_send(self, out, &out->targets[t], &msg))
                return -1;
        }
    }
    return 0;
}

int rill_writer_end(rill_writer_t *self)
{
    s_publish_hot_keys(self, true);
    return s_drain(self) ? -1 : s_control(self, RILL_FRAME_END, 0);
}

const char *rill_writer_error(const rill_writer_t *self)
{
    return self->error;
}

void rill_writer_set_diagnostics(rill_writer_t *self, rill_busy_split_t *split)
{
    assert(self);
    self->busy_split = split;
    if (!split)
        for (int i = 0; i < self->output_count; i++)
            rill_hot_keys_destroy(&self->outputs[i].hot);
}

void rill_writer_set_trace(rill_writer_t *self, uint64_t trace)
{
    self->trace = trace;
}

void rill_writer_set_tracer(rill_writer_t *self, rill_trace_t *tracer)
{
    self->tracer = tracer;
}

uint64_t rill_writer_records(const rill_writer_t *self)
{
    return self->records;
}

void rill_writer_buffers(const rill_writer_t *self, uint64_t *allocated, uint64_t *reused)
{
    *allocated = self->pool->allocated;
    *reused = self->pool->reused;
}
