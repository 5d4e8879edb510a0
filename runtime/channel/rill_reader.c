/*  rill_reader.c: frame decoding and end-of-stream tracking for one subtask's inputs. Order
    is kept per channel because each sender's frames travel one ZeroMQ pipe in order; across
    channels the DEALER fair-queues, which is all the model promises. */
#include "rill_reader.h"
#include "rill_clock.h"
#include "rill_metrics_private.h"
#include "rill_frame.h"
#include "rill_plan_private.h"
#include "rill_security.h"
#include "rill_tsan.h"
#include "rill_writer.h"

#include <arpa/inet.h>
#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

//  A frame held back during alignment: its input and a copy of its bytes.
typedef struct {
    int input;
    size_t size;
    uint8_t *data;
} s_held_t;

//  How long a bind waits for an endpoint a previous attempt of the job still holds (ms).
#define S_REBIND_WAIT_MS 5000

typedef struct {
    const rill_plan_edge_t *edge;
    zsock_t *socket;
    void *handle;
    const char *endpoint;                //  inproc: the local senders' (NULL: none)
    bool tcp;                            //  some senders run in other processes
    char tcp_endpoint[RILL_ENDPOINT_MAX]; //  where the tcp side is bound ("" until then)
    bool *remote;                        //  by sender: its channel is tcp
    bool *greeted;                       //  by sender: its HELLO came (tcp channels)
    int senders;                         //  sending operator's parallelism
    rill_channel_metrics_t **by_sender;  //  channel counters; NULL entry: no such channel
    bool *ended;                         //  END seen, by sender
    int64_t *watermarks;                 //  by sender: its last watermark (+inf once ended)
    bool *idle;                          //  by sender: it said IDLE and sent nothing since
    bool *blocked;                       //  by sender: delivered the barrier being aligned
    int expected_ends;
    int ends;
} s_input_t;

struct rill_reader_t {
    const rill_plan_t *plan;
    const rill_plan_subtask_t *subtask;
    rill_subtask_metrics_t *metrics;
    s_input_t *inputs;
    int input_count;
    uint64_t records;
    uint64_t payload;
    uint64_t batches;
    int64_t watermark; //  combined over every channel, never decreasing
    bool idle;
    rill_reader_watermark_fn *on_watermark;
    void *on_watermark_ctx;
    //  Barrier alignment: the checkpoint being aligned (0: none), the highest one handled
    //  (aligned or declined; an older barrier is stale), and the frames of blocked channels,
    //  held in arrival order (so each channel's order is kept when they are let through).
    rill_reader_barrier_fn *on_barrier;
    void *on_barrier_ctx;
    size_t alignment_bound;
    int64_t aligning;
    int64_t last_checkpoint;
    uint64_t aligning_since;
    s_held_t *held;
    size_t held_count, held_capacity, held_bytes;
    //  Iteration probes (rill_iterate.h): the handler, whether it wants them aligned, the
    //  round being aligned (0: none) and the sum of the counts its probes carried so far.
    //  Aligning a probe blocks channels as a barrier does (with no bound: a probe cannot be
    //  declined); a job with an iteration takes no checkpoints, so the two never mix.
    rill_reader_probe_fn *on_probe;
    void *on_probe_ctx;
    bool probe_aligned;
    int64_t probing;
    uint64_t probe_sum;
    //  Where tcp inputs bind, how they are secured, and the job token a HELLO must carry.
    const char *tcp_host;
    rill_security_t *security;
    uint64_t token;
    rill_busy_split_t *busy_split; //  where ZeroMQ receive time goes (NULL: not timed)
    char peer[128]; //  while decoding a frame that came over tcp: who sent it ("" otherwise)
    char error[384];
};

rill_reader_t *rill_reader_new(const rill_plan_t *plan, int subtask, rill_metrics_t *metrics)
{
    rill_reader_t *self = calloc(1, sizeof(rill_reader_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->subtask = rill_plan_subtask(plan, subtask);
    assert(self->subtask); //  the job starts only the plan's subtasks
    self->metrics = metrics ? rill_metrics_subtask_slot(metrics, subtask) : NULL;
    self->watermark = INT64_MIN;
    const rill_plan_operator_t *op = rill_plan_operator(plan, self->subtask->op);
    self->inputs = calloc((size_t)op->input_count + 1, sizeof(s_input_t));
    if (!self->inputs)
        goto fail;
    self->input_count = op->input_count;
    for (int i = 0; i < op->input_count; i++) {
        s_input_t *in = &self->inputs[i];
        in->edge = rill_plan_edge(plan, rill_plan_input_edge(plan, op->id, i));
        in->senders = rill_plan_operator(plan, in->edge->from)->parallelism;
        in->by_sender = calloc((size_t)in->senders, sizeof(rill_channel_metrics_t *));
        in->ended = calloc((size_t)in->senders, sizeof(bool));
        in->idle = calloc((size_t)in->senders, sizeof(bool));
        in->watermarks = malloc((size_t)in->senders * sizeof(int64_t));
        in->blocked = calloc((size_t)in->senders, sizeof(bool));
        in->remote = calloc((size_t)in->senders, sizeof(bool));
        in->greeted = calloc((size_t)in->senders, sizeof(bool));
        if (!in->by_sender || !in->ended || !in->idle || !in->watermarks || !in->blocked ||
            !in->remote || !in->greeted)
            goto fail;
        for (int s = 0; s < in->senders; s++)
            in->watermarks[s] = INT64_MIN;
        const int *channels;
        int count = rill_plan_channels_to(plan, in->edge->id, self->subtask->index, &channels);
        for (int c = 0; c < count; c++) {
            const rill_plan_channel_t *ch = rill_plan_channel(plan, channels[c]);
            assert(ch->to_subtask == subtask);
            in->expected_ends++;
            if (ch->transport == RILL_TRANSPORT_TCP)
                in->tcp = in->remote[ch->from_index] = true;
            else
                in->endpoint = ch->endpoint;
            //  A channel with no counters still needs a non-NULL entry to be known.
            in->by_sender[ch->from_index] =
                metrics ? rill_metrics_channel_slot(metrics, ch->id) : (void *)in;
        }
    }
    return self;
fail:
    rill_reader_destroy(&self);
    return NULL;
}

void rill_reader_destroy(rill_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_reader_t *self = *self_p;
    for (int i = 0; i < self->input_count; i++) {
        zsock_destroy(&self->inputs[i].socket);
        free(self->inputs[i].by_sender);
        free(self->inputs[i].ended);
        free(self->inputs[i].idle);
        free(self->inputs[i].watermarks);
        free(self->inputs[i].blocked);
        free(self->inputs[i].remote);
        free(self->inputs[i].greeted);
    }
    free(self->inputs);
    for (size_t h = 0; h < self->held_count; h++)
        free(self->held[h].data);
    free(self->held);
    free(self);
    *self_p = NULL;
}

int rill_reader_bind(rill_reader_t *self)
{
    for (int i = 0; i < self->input_count; i++) {
        s_input_t *in = &self->inputs[i];
        if (!in->expected_ends)
            continue; //  no channel reaches this subtask on this edge (global, rescale)
        bool forward = in->edge->pattern == RILL_PATTERN_FORWARD;
        in->socket = zsock_new(forward ? ZMQ_PAIR : ZMQ_DEALER);
        if (!in->socket) {
            snprintf(self->error, sizeof self->error, "cannot create an input socket: %s",
                     zmq_strerror(errno));
            return -1;
        }
        zsock_set_rcvhwm(in->socket, RILL_INPUT_HWM);
        zsock_set_linger(in->socket, 0);
        //  An inproc name is released when libzmq's reaper thread has closed the socket that
        //  held it, a moment after zmq_close: a job restarting after a failure binds the same
        //  names again, so it waits for them (bounded) instead of failing.
        int rc = in->endpoint ? zsock_bind(in->socket, "%s", in->endpoint) : 0;
        for (int waited = 0; rc < 0 && errno == EADDRINUSE && waited < S_REBIND_WAIT_MS;
             waited++) {
            zclock_sleep(1);
            rc = zsock_bind(in->socket, "%s", in->endpoint);
        }
        if (rc < 0) {
            snprintf(self->error, sizeof self->error, "cannot bind %s: %s", in->endpoint,
                     zmq_strerror(errno));
            return -1;
        }
        //  Senders in other processes reach the same socket over tcp, on a port the kernel
        //  picks; the job tells them where (rill_reader_tcp_endpoint). The inproc side needs
        //  no security (it never leaves the process); libzmq applies CURVE to tcp peers only.
        if (in->tcp) {
            if (!self->tcp_host) {
                snprintf(self->error, sizeof self->error,
                         "input from another process but no address to bind (a plan placed "
                         "on several processes runs only as part of a cluster)");
                return -1;
            }
            if (self->security)
                rill_security_server(self->security, in->socket);
            //  ZeroMQ's own heartbeats drop a connection whose peer went silent (a host gone
            //  without a FIN); the cluster's heartbeats decide the job's fate.
            zsock_set_heartbeat_ivl(in->socket, RILL_TCP_HEARTBEAT_MS);
            zsock_set_heartbeat_timeout(in->socket, 6 * RILL_TCP_HEARTBEAT_MS);
            //  An address binds that interface; a host name cannot be bound (libzmq takes
            //  it for an interface name), so it binds every interface and is advertised.
            unsigned char address[16];
            bool numeric = inet_pton(AF_INET, self->tcp_host, address) == 1 ||
                           inet_pton(AF_INET6, self->tcp_host, address) == 1;
            int port = zsock_bind(in->socket, "tcp://%s:*", numeric ? self->tcp_host : "*");
            if (port < 0) {
                snprintf(self->error, sizeof self->error, "cannot bind tcp://%s:*: %s",
                         numeric ? self->tcp_host : "*", zmq_strerror(errno));
                return -1;
            }
            snprintf(in->tcp_endpoint, sizeof in->tcp_endpoint, "tcp://%s:%d", self->tcp_host,
                     port);
        }
        in->handle = zsock_resolve(in->socket);
    }
    return 0;
}

void rill_reader_set_busy_split(rill_reader_t *self, rill_busy_split_t *split)
{
    self->busy_split = split;
}

void rill_reader_set_network(rill_reader_t *self, const char *host, rill_security_t *security,
                             uint64_t token)
{
    self->tcp_host = host;
    self->security = security;
    self->token = token;
}

const char *rill_reader_tcp_endpoint(const rill_reader_t *self, int input)
{
    return self->inputs[input].tcp_endpoint;
}

int rill_reader_socket_count(const rill_reader_t *self)
{
    return self->input_count;
}

void *rill_reader_handle(const rill_reader_t *self, int input)
{
    return self->inputs[input].handle;
}

bool rill_reader_input_finished(const rill_reader_t *self, int input)
{
    return self->inputs[input].ends == self->inputs[input].expected_ends;
}

bool rill_reader_finished(const rill_reader_t *self)
{
    for (int i = 0; i < self->input_count; i++)
        if (!rill_reader_input_finished(self, i))
            return false;
    return true;
}

const char *rill_reader_error(const rill_reader_t *self)
{
    return self->error;
}

void rill_reader_on_watermark(rill_reader_t *self, rill_reader_watermark_fn *fn, void *ctx)
{
    self->on_watermark = fn;
    self->on_watermark_ctx = ctx;
}

void rill_reader_on_probe(rill_reader_t *self, rill_reader_probe_fn *fn, void *ctx, bool aligned)
{
    self->on_probe = fn;
    self->on_probe_ctx = ctx;
    self->probe_aligned = aligned;
}

void rill_reader_publish(rill_reader_t *self)
{
    if (!self->metrics)
        return;
    __atomic_store_n(&self->metrics->records_in, self->records, __ATOMIC_RELAXED);
    __atomic_store_n(&self->metrics->bytes_in, self->payload, __ATOMIC_RELAXED);
    __atomic_store_n(&self->metrics->batches_in, self->batches, __ATOMIC_RELAXED);
}

void rill_reader_on_barrier(rill_reader_t *self, rill_reader_barrier_fn *fn, void *ctx,
                            size_t bound)
{
    self->on_barrier = fn;
    self->on_barrier_ctx = ctx;
    self->alignment_bound = bound ? bound : RILL_ALIGNMENT_BOUND_DEFAULT;
}

int64_t rill_reader_aligning(const rill_reader_t *self)
{
    return self->aligning;
}

int64_t rill_reader_watermark(const rill_reader_t *self)
{
    return self->watermark;
}

//  Recomputes the combined watermark after a channel's changed, and reports an advance or a
//  change of idleness. O(channels), but only per control event, never per record.
//  The combined watermark is the minimum over the active channels (ended ones count as
//  +infinity). When every channel is idle, it is the maximum over them all: Flink's
//  StatusWatermarkValve, once the last channel goes idle, flushes the highest watermark any
//  channel reached (none of them will advance, so nothing holds the windows back) and then
//  marks itself idle. It never goes back: a channel that wakes with a lower watermark holds
//  the combined one where it is until it catches up.
static int s_update_watermark(rill_reader_t *self)
{
    int64_t lowest = INT64_MAX, highest = INT64_MIN;
    bool any_active = false, any_open = false;
    for (int i = 0; i < self->input_count; i++) {
        s_input_t *in = &self->inputs[i];
        for (int s = 0; s < in->senders; s++) {
            if (!in->by_sender[s])
                continue;
            if (!in->ended[s])
                any_open = true;
            if (in->watermarks[s] > highest)
                highest = in->watermarks[s];
            if (in->idle[s] && !in->ended[s])
                continue;
            any_active = true;
            if (in->watermarks[s] < lowest)
                lowest = in->watermarks[s];
        }
    }
    bool idle = any_open && !any_active;
    int64_t combined = idle ? highest : lowest;
    bool advanced = (any_active || idle) && combined > self->watermark;
    if (advanced)
        self->watermark = combined;
    if (!advanced && idle == self->idle)
        return 0;
    self->idle = idle;
    return self->on_watermark
               ? self->on_watermark(self->on_watermark_ctx, self->watermark, self->idle)
               : 0;
}

static int s_bad_frame(rill_reader_t *self, s_input_t *in, const char *why)
{
    snprintf(self->error, sizeof self->error, "malformed frame on input %d (edge %d)%s%s: %s",
             in->edge->input_index, in->edge->id, *self->peer ? " from " : "", self->peer, why);
    return -1;
}

//  Says why rill_frame_header_get refused a frame's header. The magic and version bytes mean
//  the same in every version, so a peer built for another version is named as such: once
//  frames cross hosts, that is the likely cause and the one an operator can fix.
static int s_bad_header(rill_reader_t *self, s_input_t *in, const uint8_t *at, size_t size)
{
    if (size >= 2 && at[0] == RILL_FRAME_MAGIC && at[1] != RILL_FRAME_VERSION) {
        char why[64];
        snprintf(why, sizeof why, "frame version %u, this build speaks %u", (unsigned)at[1],
                 RILL_FRAME_VERSION);
        return s_bad_frame(self, in, why);
    }
    if (size < RILL_FRAME_HEADER_SIZE)
        return s_bad_frame(self, in, "shorter than its header");
    if (at[0] != RILL_FRAME_MAGIC)
        return s_bad_frame(self, in, "bad magic byte");
    assert(at[3] || at[6] || at[7]); //  the only reason left: keep in step with the decoder
    return s_bad_frame(self, in, "a reserved header byte that is not 0");
}

//  Ends the alignment of self->aligning (aligned, or declined), unblocks every channel and
//  hands on the frames held back, in the order they came. 0 or -1.
//  Hands on the frames held while an alignment (barrier or probe) waited, in order. They are
//  taken first: handing them on may start the next alignment, which holds frames anew.
static int s_decode_held(rill_reader_t *self, rill_reader_record_fn *fn, void *ctx)
{
    s_held_t *held = self->held;
    size_t count = self->held_count;
    self->held = NULL;
    self->held_count = self->held_capacity = self->held_bytes = 0;
    int rc = 0;
    for (size_t h = 0; h < count; h++) {
        if (rc == 0)
            rc = rill_reader_decode(self, held[h].input, held[h].data, held[h].size, fn, ctx);
        free(held[h].data);
    }
    free(held);
    return rc;
}

static int s_release(rill_reader_t *self, bool declined, rill_reader_record_fn *fn, void *ctx)
{
    int64_t checkpoint = self->aligning;
    uint64_t took = rill_clock_ns() - self->aligning_since;
    self->aligning = 0;
    self->last_checkpoint = checkpoint;
    for (int i = 0; i < self->input_count; i++)
        memset(self->inputs[i].blocked, 0, (size_t)self->inputs[i].senders * sizeof(bool));
    if (self->on_barrier &&
        self->on_barrier(self->on_barrier_ctx, checkpoint, declined, took))
        return -1;
    return s_decode_held(self, fn, ctx);
}

static int s_release_probe(rill_reader_t *self, rill_reader_record_fn *fn, void *ctx);

//  Whether every open channel has delivered the barrier (or probe) being aligned; if so,
//  releases.
static int s_check_aligned(rill_reader_t *self, rill_reader_record_fn *fn, void *ctx)
{
    if (!self->aligning && !self->probing)
        return 0;
    for (int i = 0; i < self->input_count; i++) {
        s_input_t *in = &self->inputs[i];
        for (int s = 0; s < in->senders; s++)
            if (in->by_sender[s] && !in->ended[s] && !in->blocked[s])
                return 0;
    }
    return self->probing ? s_release_probe(self, fn, ctx) : s_release(self, false, fn, ctx);
}

//  Holds a frame of a blocked channel back, or declines the alignment when the bound is
//  reached. 1 when held, 0 when it is to be decoded now (declined), -1 on error.
static int s_hold(rill_reader_t *self, int input, const void *data, size_t size,
                  rill_reader_record_fn *fn, void *ctx)
{
    if (!self->probing && self->held_bytes + size > self->alignment_bound)
        return s_release(self, true, fn, ctx) ? -1 : 0;
    if (self->held_count == self->held_capacity) {
        size_t capacity = self->held_capacity ? 2 * self->held_capacity : 16;
        s_held_t *grown = realloc(self->held, capacity * sizeof(s_held_t));
        if (!grown)
            goto oom;
        self->held = grown;
        self->held_capacity = capacity;
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        goto oom;
    memcpy(copy, data, size);
    self->held[self->held_count++] = (s_held_t){input, size, copy};
    self->held_bytes += size;
    return 1;
oom:
    snprintf(self->error, sizeof self->error, "out of memory holding frames back for a barrier");
    return -1;
}

//  A barrier from one channel: the channel is blocked until the barrier has come on all.
static int s_barrier(rill_reader_t *self, s_input_t *in, int sender, int64_t checkpoint,
                     rill_reader_record_fn *fn, void *ctx)
{
    //  Stale: that checkpoint was handled here already, or a newer one is aligning (an older
    //  barrier still travels behind it where a sender declined the older checkpoint).
    if (checkpoint <= self->last_checkpoint || (self->aligning && checkpoint < self->aligning))
        return 0;
    if (self->aligning && checkpoint > self->aligning) {
        //  A newer barrier while an older one is still aligning: the older can no longer
        //  complete (its coordinator has moved on); decline it and align the newer.
        if (s_release(self, true, fn, ctx))
            return -1;
    }
    if (!self->aligning) {
        self->aligning = checkpoint;
        self->aligning_since = rill_clock_ns();
    }
    in->blocked[sender] = true;
    return s_check_aligned(self, fn, ctx);
}

//  Every open channel delivered probe `probing`: hands it on with the sum of the counts,
//  unblocks the channels and decodes the frames held back meanwhile, in the order they came.
static int s_release_probe(rill_reader_t *self, rill_reader_record_fn *fn, void *ctx)
{
    int64_t round = self->probing;
    uint64_t sum = self->probe_sum;
    self->probing = 0;
    self->probe_sum = 0;
    for (int i = 0; i < self->input_count; i++)
        memset(self->inputs[i].blocked, 0, (size_t)self->inputs[i].senders * sizeof(bool));
    if (self->on_probe(self->on_probe_ctx, -1, -1, round, sum))
        return -1;
    return s_decode_held(self, fn, ctx);
}

//  A probe from one channel: handed on at once, or aligned (the channel blocked until the
//  probe has come on all, its count added to the round's).
static int s_probe(rill_reader_t *self, s_input_t *in, int input, const rill_frame_header_t *h,
                   rill_reader_record_fn *fn, void *ctx)
{
    if (!self->on_probe || !in->edge->iteration)
        return s_bad_frame(self, in, "an iteration probe on an edge outside any loop");
    if (h->value <= 0)
        return s_bad_frame(self, in, "a probe for round 0 or below");
    if (!self->probe_aligned)
        return self->on_probe(self->on_probe_ctx, input, h->sender, h->value, h->count);
    assert(!self->aligning); //  the planner refuses checkpoints with iterations
    if (self->probing && h->value != self->probing)
        return s_bad_frame(self, in, "a probe for another round than the one being aligned");
    self->probing = h->value;
    self->probe_sum += h->count;
    in->blocked[h->sender] = true;
    return s_check_aligned(self, fn, ctx);
}

//  The sending subtask a tcp connection belongs to, from the routing id its writer gave the
//  connection in the ZMTP handshake ("rill/e<EDGE>/s<SENDER>"): what the transport says, not
//  what a frame claims. -1 when the frame did not come over tcp (inproc has no handshake and
//  never leaves the process), -2 when the connection is not a sender on this input's edge.
//  libzmq 4.3.4 names the property Identity; later ones also Routing-Id.
static const char *s_routing_id(zmq_msg_t *msg)
{
    const char *routing_id = zmq_msg_gets(msg, "Routing-Id");
    return routing_id ? routing_id : zmq_msg_gets(msg, "Identity");
}

static int s_transport_sender(const s_input_t *in, zmq_msg_t *msg)
{
    const char *routing_id = s_routing_id(msg);
    if (!routing_id || !*routing_id)
        return -1;
    int edge, sender, length = 0;
    if (sscanf(routing_id, "rill/e%d/s%d%n", &edge, &sender, &length) != 2 ||
        routing_id[length] || edge != in->edge->id || sender < 0 || sender >= in->senders ||
        !in->remote[sender])
        return -2;
    return sender;
}

static int s_decode(rill_reader_t *self, int input, const void *data, size_t size,
                    int transport_sender, rill_reader_record_fn *fn, void *ctx);

int rill_reader_decode(rill_reader_t *self, int input, const void *data, size_t size,
                       rill_reader_record_fn *fn, void *ctx)
{
    return s_decode(self, input, data, size, -1, fn, ctx);
}

//  Decodes one frame; transport_sender (>= 0) is the sender its connection belongs to.
static int s_decode(rill_reader_t *self, int input, const void *data, size_t size,
                    int transport_sender, rill_reader_record_fn *fn, void *ctx)
{
    assert(input >= 0 && input < self->input_count);
    s_input_t *in = &self->inputs[input];
    const uint8_t *at = data;
    const uint8_t *end = at + size;
    rill_frame_header_t header;
    if (rill_frame_header_get(at, size, &header))
        return s_bad_header(self, in, at, size);
    at += RILL_FRAME_HEADER_SIZE;
    if (header.sender >= in->senders || !in->by_sender[header.sender])
        return s_bad_frame(self, in, "from a sender with no channel to this subtask");
    if (transport_sender >= 0 && header.sender != transport_sender)
        return s_bad_frame(self, in, "claiming another sender than the connection it came on");
    if (in->ended[header.sender])
        return s_bad_frame(self, in, "arrived after the sender's END");
    //  Over tcp the first frame of a channel is the sender's HELLO (rill_writer_connect), and
    //  nothing is taken from a sender that has not greeted with this job's token.
    if (header.kind == RILL_FRAME_HELLO) {
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        if (!in->remote[header.sender])
            return s_bad_frame(self, in, "a handshake on a channel inside the process");
        if ((uint64_t)header.value != self->token)
            return s_bad_frame(self, in, "a handshake from another job (its plan differs)");
        in->greeted[header.sender] = true;
        return 0;
    }
    if (in->remote[header.sender] && !in->greeted[header.sender])
        return s_bad_frame(self, in, "data before the sender's handshake");
    //  A channel that delivered the barrier being aligned waits for the others.
    if ((self->aligning || self->probing) && in->blocked[header.sender]) {
        int held = s_hold(self, input, data, size, fn, ctx);
        if (held)
            return held < 0 ? -1 : 0;
    }
    //  Anything from an idle sender makes it active again.
    if (in->idle[header.sender] && header.kind != RILL_FRAME_IDLE) {
        in->idle[header.sender] = false;
        if (s_update_watermark(self))
            return -1;
    }
    switch (header.kind) {
    case RILL_FRAME_DATA: {
        uint64_t payload = 0, records = 0;
        for (uint32_t i = 0; i < header.count; i++) {
            rill_frame_entry_t entry;
            const char *why = NULL;
            int kind = rill_frame_get_entry(&at, end, &entry, &why);
            if (kind < 0)
                return s_bad_frame(self, in, why);
            if (kind == RILL_ENTRY_IS_WATERMARK) {
                if (entry.watermark > in->watermarks[header.sender]) {
                    in->watermarks[header.sender] = entry.watermark;
                    if (s_update_watermark(self))
                        return -1;
                }
                continue;
            }
            //  Only a hash edge's partitioner hashes keys; a hint anywhere else would hand the
            //  operator a key its own extractor may not give.
            if (entry.key.hash && in->edge->pattern != RILL_PATTERN_HASH)
                return s_bad_frame(self, in, "a key hash on an edge that is not keyed");
            payload += entry.record.size;
            records++;
            if (fn(ctx, &entry.record, input, header.sender, entry.trace,
                   entry.key.hash ? &entry.key : NULL))
                return -1;
        }
        //  A count short of the frame's entries would drop the rest without a word.
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        self->records += records;
        self->payload += payload;
        self->batches++;
        if (self->metrics) {
            rill_channel_metrics_t *channel = in->by_sender[header.sender];
            RILL_COUNTER_ADD(channel->records_received, records);
        }
        break;
    }
    case RILL_FRAME_END:
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        in->ended[header.sender] = true;
        in->ends++;
        in->watermarks[header.sender] = INT64_MAX; //  nothing earlier can come from it
        if (s_update_watermark(self))
            return -1;
        return s_check_aligned(self, fn, ctx); //  an ended channel has nothing to align
    case RILL_FRAME_BARRIER:
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        if (header.value <= 0)
            return s_bad_frame(self, in, "a barrier for checkpoint 0 or below");
        return s_barrier(self, in, header.sender, header.value, fn, ctx);
    case RILL_FRAME_PROBE:
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        return s_probe(self, in, input, &header, fn, ctx);
    case RILL_FRAME_IDLE:
        if (at != end)
            return s_bad_frame(self, in, "bytes after its last entry");
        in->idle[header.sender] = true;
        return s_update_watermark(self);
    default:
        return s_bad_frame(self, in, "unknown frame kind");
    }
    return 0;
}

int rill_reader_receive(rill_reader_t *self, int input, int max_frames, rill_reader_record_fn *fn,
                        void *ctx)
{
    s_input_t *in = &self->inputs[input];
    int taken = 0;
    while (taken < max_frames && in->handle && in->ends < in->expected_ends) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        uint64_t asked = self->busy_split ? rill_clock_ns() : 0;
        int received = zmq_msg_recv(&msg, in->handle, ZMQ_DONTWAIT);
        if (asked)
            self->busy_split->zmq_ns += rill_clock_ns() - asked;
        if (received < 0) {
            zmq_msg_close(&msg);
            if (errno == EAGAIN)
                break;
            snprintf(self->error, sizeof self->error, "receive failed: %s", zmq_strerror(errno));
            return -1;
        }
        RILL_TSAN_ACQUIRE(zmq_msg_data(&msg)); //  the writer's release before sending it
        int sender = in->tcp ? s_transport_sender(in, &msg) : -1;
        if (sender != -1) {
            const char *address = zmq_msg_gets(&msg, "Peer-Address");
            const char *routing_id = s_routing_id(&msg);
            snprintf(self->peer, sizeof self->peer, "%.40s at %.60s",
                     routing_id ? routing_id : "?", address ? address : "?");
        }
        int rc = sender == -2 ? s_bad_frame(self, in, "over a tcp connection that is no sender "
                                                      "of this input")
                              : s_decode(self, input, zmq_msg_data(&msg), zmq_msg_size(&msg),
                                         sender, fn, ctx);
        self->peer[0] = 0;
        RILL_TSAN_RELEASE(zmq_msg_data(&msg)); //  done with it: whoever frees it acquires
        zmq_msg_close(&msg);
        if (rc)
            return -1;
        taken++;
    }
    if (self->metrics && taken) {
        __atomic_store_n(&self->metrics->records_in, self->records, __ATOMIC_RELAXED);
        __atomic_store_n(&self->metrics->bytes_in, self->payload, __ATOMIC_RELAXED);
        __atomic_store_n(&self->metrics->batches_in, self->batches, __ATOMIC_RELAXED);
    }
    return taken;
}
