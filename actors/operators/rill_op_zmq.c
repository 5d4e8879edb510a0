/*  rill_op_zmq.c: the ZeroMQ connectors: a source (PULL or SUB) whose records are the
    messages some outside program sends, and a sink (PUSH or PUB) that sends one message per
    record to outside programs. Each subtask owns one socket, made from the canonical URL the
    stream API left in the spec's path (rill_zmq_url.h).
    The source receives at most a chunk per produce() and waits at most S_WAIT_MS for the
    first message, so the subtask answers its actor pipe while the peer is silent. The sink
    never drops a record silently: a full PUSH (or an XPUB with nodrop) waits, which is rill
    backpressure; a plain PUB drops for subscribers that are full or not yet subscribed, as
    ZeroMQ's PUB does, and the README says so.
    Neither takes part in checkpoints as exactly-once: the source cannot rewind (a snapshot is
    refused, as for pipes); the sink keeps no state (at-least-once after a restore, when its
    upstream rewinds). */
#include "rill_operator.h"
#include "rill_zmq_url.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  How long produce() waits for a message before it returns to the subtask (ms).
#define S_WAIT_MS 50
//  How long a blocked send waits before it looks at the clock and at Ctrl-C again (ms).
#define S_SEND_WAIT_MS 100

typedef struct {
    rill_zmq_options_t options;
    zsock_t *socket;
    void *handle; //  the socket's libzmq handle
    size_t max_size;
    bool subscribed; //  a PUB sink saw its subscribers (or was not asked to wait)
    uint64_t received;
} s_zmq_t;

static int s_fail(rill_operator_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static int s_fail(rill_operator_t *self, const char *format, ...)
{
    //  The endpoint says more than the (possibly long) canonical URL.
    s_zmq_t *state = self->state;
    int written = snprintf(self->error, sizeof self->error, "zmq %s '%.40s'%s%.80s: ",
                           rill_op_kind_is_source(self->spec->kind) ? "source" : "sink",
                           self->op->name, state && state->options.endpoint[0] ? " at " : "",
                           state ? state->options.endpoint : "");
    if (written < 0 || (size_t)written >= sizeof self->error)
        return -1;
    va_list args;
    va_start(args, format);
    vsnprintf(self->error + written, sizeof self->error - (size_t)written, format, args);
    va_end(args);
    return -1;
}

//  A CURVE public key given as 40 Z85 characters, or as the path of a certificate file.
static int s_server_key(rill_operator_t *self, const char *given, char key[41])
{
    uint8_t decoded[32];
    if (strlen(given) == 40 && access(given, F_OK) != 0 && zmq_z85_decode(decoded, given)) {
        memcpy(key, given, 41);
        return 0;
    }
    zcert_t *cert = zcert_load(given);
    if (!cert)
        return s_fail(self,
                      "curve_server_key '%.60s' is neither a Z85 public key (40 "
                      "characters) nor a readable certificate file",
                      given);
    memcpy(key, zcert_public_txt(cert), 41);
    zcert_destroy(&cert);
    return 0;
}

//  Loads a certificate that must hold a secret key (czmq writes it as "NAME_secret").
static zcert_t *s_load_secret(rill_operator_t *self, const char *path)
{
    zcert_t *cert = zcert_load(path);
    static const byte zero[32] = {0};
    if (!cert) {
        s_fail(self,
               "cannot load the certificate '%.80s' (curve_cert: a czmq certificate's "
               "secret file, e.g. cluster.cert_secret from rill keys)",
               path);
        return NULL;
    }
    if (memcmp(zcert_secret_key(cert), zero, sizeof zero) == 0) {
        zcert_destroy(&cert);
        s_fail(self, "the certificate '%.80s' holds no secret key (give its _secret file)", path);
        return NULL;
    }
    return cert;
}

//  CURVE, before bind or connect: a client when the server's key is known, else a server
//  when the socket has a certificate of its own, else plain text.
static int s_curve(rill_operator_t *self, s_zmq_t *state)
{
    const rill_zmq_options_t *options = &state->options;
    if (!zsys_has_curve() && (options->curve_cert[0] || options->curve_server_key[0]))
        return s_fail(self, "this libzmq was built without CURVE");
    if (options->curve_server_key[0]) {
        char server[41];
        if (s_server_key(self, options->curve_server_key, server))
            return -1;
        zcert_t *cert =
            options->curve_cert[0] ? s_load_secret(self, options->curve_cert) : zcert_new();
        if (!cert)
            return -1;
        zcert_apply(cert, state->socket);
        zcert_destroy(&cert);
        zsock_set_curve_serverkey(state->socket, server);
    } else if (options->curve_cert[0]) {
        zcert_t *cert = s_load_secret(self, options->curve_cert);
        if (!cert)
            return -1;
        zcert_apply(cert, state->socket);
        zcert_destroy(&cert);
        zsock_set_curve_server(state->socket, 1);
    }
    return 0;
}

//  Parses the spec's URL, checks the type against the direction and the parallelism, makes
//  the socket, sets its options and binds or connects it.
static int s_open(rill_operator_t *self, bool source)
{
    s_zmq_t *state = calloc(1, sizeof(s_zmq_t));
    if (!state)
        return -1;
    self->state = state;
    char error[sizeof self->error];
    rill_zmq_options_t *options = &state->options;
    if (rill_zmq_url_parse(self->spec->path, options, error, sizeof error)) {
        snprintf(self->error, sizeof self->error, "%s", error);
        return -1;
    }
    if (options->type == RILL_ZMQ_DEFAULT)
        options->type = source ? RILL_ZMQ_PULL : RILL_ZMQ_PUSH;
    bool sub = options->type == RILL_ZMQ_SUB, pub = options->type == RILL_ZMQ_PUB;
    if (source != (options->type == RILL_ZMQ_PULL || sub))
        return s_fail(self, "type %s cannot %s: a source is pull or sub, a sink push or pub",
                      source ? "push/pub" : "pull/sub", source ? "receive" : "send");
    int parallelism = self->op->parallelism;
    char endpoint[RILL_ZMQ_ENDPOINT_MAX + 16];
    const char *pattern = strstr(options->endpoint, "%d");
    if (parallelism > 1 && sub)
        return s_fail(self,
                      "a SUB source runs at parallelism 1 (each subtask would get every "
                      "message); it has %d",
                      parallelism);
    if (parallelism > 1 && options->bind && !pattern)
        return s_fail(self,
                      "bind at parallelism %d needs one endpoint per subtask: put %%d in "
                      "the address (replaced by the subtask index)",
                      parallelism);
    if (pattern)
        snprintf(endpoint, sizeof endpoint, "%.*s%d%s", (int)(pattern - options->endpoint),
                 options->endpoint, self->index, pattern + 2);
    else
        snprintf(endpoint, sizeof endpoint, "%s", options->endpoint);
    if (options->timestamped && options->topic[0])
        return s_fail(self, "a topic filters on the first frame, which in the timestamped form "
                            "is the time: use one or the other");
    static const int types[] = {0, ZMQ_PULL, ZMQ_SUB, ZMQ_PUSH, ZMQ_XPUB};
    //  PUB is an XPUB: it can see its subscribers (subscribers=N) and refuse to drop (nodrop).
    state->socket = zsock_new(types[options->type]);
    if (!state->socket)
        return s_fail(self, "cannot make a socket: %s", zmq_strerror(errno));
    state->handle = zsock_resolve(state->socket);
    state->subscribed = !(pub && options->subscribers > 0);
    state->max_size =
        self->spec->max_record_size ? self->spec->max_record_size : RILL_DEFAULT_MAX_RECORD_SIZE;
    if (options->hwm) {
        zsock_set_sndhwm(state->socket, options->hwm);
        zsock_set_rcvhwm(state->socket, options->hwm);
    }
    //  czmq's default linger is 0, which would drop what is still queued at close.
    zsock_set_linger(state->socket, options->linger_ms ? options->linger_ms : -1);
    if (source)
        zsock_set_maxmsgsize(state->socket, (int64_t)state->max_size);
    if (pub) {
        if (options->nodrop)
            zsock_set_xpub_nodrop(state->socket, 1);
        if (options->subscribers)
            zsock_set_xpub_verbose(state->socket, 1);
    }
    if (s_curve(self, state))
        return -1;
    if (sub)
        zsock_set_subscribe(state->socket, options->topic);
    int rc = options->bind ? zsock_bind(state->socket, "%s", endpoint)
                           : zsock_connect(state->socket, "%s", endpoint);
    if (rc < 0)
        return s_fail(self, "cannot %s %s: %s", options->bind ? "bind" : "connect", endpoint,
                      zmq_strerror(errno));
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_zmq_t *state = self->state;
    if (!state)
        return;
    zsock_destroy(&state->socket);
    free(state);
    self->state = NULL;
}

//  ---- the source

//  Reads the rest of a message's frames, so that a failure leaves the socket clean.
static void s_drain(void *handle)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int more = 1;
    size_t size = sizeof more;
    while (zmq_getsockopt(handle, ZMQ_RCVMORE, &more, &size) == 0 && more &&
           zmq_msg_recv(&frame, handle, 0) >= 0)
        size = sizeof more;
    zmq_msg_close(&frame);
}

//  One message into one record: 1 emitted, 0 the end marker, -1 failed.
static int s_take(rill_operator_t *self, s_zmq_t *state, zmq_msg_t *first, rill_collector_t *out)
{
    const rill_zmq_options_t *options = &state->options;
    size_t size = zmq_msg_size(first);
    bool more = zmq_msg_more(first);
    state->received++;
    if (!more && options->has_end && size == strlen(options->end) &&
        memcmp(zmq_msg_data(first), options->end, size) == 0)
        return 0;
    if (!options->timestamped) {
        if (more) {
            s_drain(state->handle);
            return s_fail(self,
                          "message %llu has several frames; this source takes one record "
                          "per one-frame message (or timestamps=1 for [time][payload])",
                          (unsigned long long)state->received);
        }
        return rill_collector_emit(out, zmq_msg_data(first), size, RILL_NO_TIMESTAMP) ? -1 : 1;
    }
    if (!more || size != 8) {
        if (more)
            s_drain(state->handle);
        return s_fail(self,
                      "message %llu is not [8-byte big-endian time][payload] (its first "
                      "frame has %zu bytes%s)",
                      (unsigned long long)state->received, size, more ? "" : ", and no second");
    }
    const uint8_t *bytes = zmq_msg_data(first);
    uint64_t time = 0;
    for (int i = 0; i < 8; i++)
        time = time << 8 | bytes[i];
    zmq_msg_t payload;
    zmq_msg_init(&payload);
    if (zmq_msg_recv(&payload, state->handle, 0) < 0) {
        zmq_msg_close(&payload);
        return s_fail(self, "receive failed: %s", zmq_strerror(errno));
    }
    if (zmq_msg_more(&payload)) {
        s_drain(state->handle);
        zmq_msg_close(&payload);
        return s_fail(self, "message %llu has more than the two frames [time][payload]",
                      (unsigned long long)state->received);
    }
    int rc =
        rill_collector_emit(out, zmq_msg_data(&payload), zmq_msg_size(&payload), (int64_t)time);
    zmq_msg_close(&payload);
    return rc ? -1 : 1;
}

static int s_source_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_zmq_t *state = self->state;
    zmq_pollitem_t item = {state->handle, 0, ZMQ_POLLIN, 0};
    int ready = zmq_poll(&item, 1, S_WAIT_MS);
    if (ready <= 0)
        return ready < 0 && errno != EINTR ? s_fail(self, "poll failed: %s", zmq_strerror(errno))
                                           : RILL_SOURCE_MORE;
    zmq_msg_t message;
    zmq_msg_init(&message);
    int rc = RILL_SOURCE_MORE;
    for (int taken = 0; taken < RILL_SOURCE_CHUNK; taken++) {
        if (zmq_msg_recv(&message, state->handle, ZMQ_DONTWAIT) < 0) {
            if (errno != EAGAIN && errno != EINTR)
                rc = s_fail(self, "receive failed: %s", zmq_strerror(errno));
            break;
        }
        int took = s_take(self, state, &message, out);
        if (took <= 0) {
            rc = took < 0 ? -1 : RILL_SOURCE_END;
            break;
        }
    }
    zmq_msg_close(&message);
    return rc;
}

//  A message, once taken, is gone from ZeroMQ: nothing to go back to.
static int s_source_cannot_rewind(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error,
             "zmq source '%.60s' cannot rewind (a message once received is gone from ZeroMQ), "
             "so it cannot be checkpointed or restored",
             self->op->name);
    return -1;
}

static int s_source_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    return s_source_cannot_rewind(self);
}

static int s_source_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    return s_source_cannot_rewind(self);
}

static const rill_operator_vtable_t s_source_vtable = {
    .produce = s_source_produce,
    .close = s_close,
    .snapshot = s_source_snapshot,
    .restore = s_source_restore,
};

int rill_op_zmq_source_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SOURCE_ZMQ);
    self->vtable = &s_source_vtable;
    return s_open(self, true);
}

//  ---- the sink

//  Sends one frame, waiting while ZeroMQ has no room (backpressure), up to the send timeout.
static int s_send(rill_operator_t *self, s_zmq_t *state, const void *data, size_t size, int flags)
{
    int64_t deadline = 0;
    while (zmq_send(state->handle, data, size, flags | ZMQ_DONTWAIT) < 0) {
        if (errno != EAGAIN && errno != EINTR)
            return s_fail(self, "send failed: %s", zmq_strerror(errno));
        int64_t now = zclock_mono();
        if (!deadline)
            deadline =
                state->options.send_timeout_ms ? now + state->options.send_timeout_ms : INT64_MAX;
        if (now >= deadline)
            return s_fail(self, "no peer took a record for %d ms (send_timeout)",
                          state->options.send_timeout_ms);
        if (zsys_interrupted)
            return s_fail(self, "interrupted while waiting for a peer to take a record");
        zmq_pollitem_t item = {state->handle, 0, ZMQ_POLLOUT, 0};
        //  An XPUB with nodrop says it can send while one subscriber is full: wait a little.
        if (zmq_poll(&item, 1, S_SEND_WAIT_MS) > 0)
            zclock_sleep(1);
    }
    return 0;
}

//  A PUB sink asked to wait for subscribers: counts subscriptions until there are enough.
static int s_wait_subscribers(rill_operator_t *self, s_zmq_t *state)
{
    int seen = 0;
    int64_t deadline =
        state->options.send_timeout_ms ? zclock_mono() + state->options.send_timeout_ms : INT64_MAX;
    while (seen < state->options.subscribers) {
        if (zsys_interrupted)
            return s_fail(self, "interrupted while waiting for subscribers");
        if (zclock_mono() >= deadline)
            return s_fail(self, "%d of %d subscribers came within %d ms (send_timeout)", seen,
                          state->options.subscribers, state->options.send_timeout_ms);
        zmq_pollitem_t item = {state->handle, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, S_SEND_WAIT_MS) <= 0)
            continue;
        zmq_msg_t message;
        zmq_msg_init(&message);
        if (zmq_msg_recv(&message, state->handle, 0) >= 0 && zmq_msg_size(&message) > 0 &&
            ((const uint8_t *)zmq_msg_data(&message))[0] == 1)
            seen++;
        zmq_msg_close(&message);
    }
    state->subscribed = true;
    return 0;
}

static int s_sink_record(rill_operator_t *self, const rill_record_t *record, int input,
                         rill_collector_t *out)
{
    s_zmq_t *state = self->state;
    if (!state->subscribed && s_wait_subscribers(self, state))
        return -1;
    if (state->options.timestamped) {
        uint8_t time[8];
        uint64_t value = (uint64_t)record->timestamp;
        for (int i = 7; i >= 0; i--, value >>= 8)
            time[i] = (uint8_t)value;
        if (s_send(self, state, time, sizeof time, ZMQ_SNDMORE))
            return -1;
    }
    return s_send(self, state, record->data, record->size, 0);
}

//  The input ended: the end marker, if any, follows the last record. What is still queued
//  leaves after the close, for as long as the linger allows (by default until it is sent).
static int s_sink_end(rill_operator_t *self, rill_collector_t *out)
{
    s_zmq_t *state = self->state;
    if (!state->subscribed && s_wait_subscribers(self, state))
        return -1;
    if (state->options.has_end &&
        s_send(self, state, state->options.end, strlen(state->options.end), 0))
        return -1;
    return 0;
}

static const rill_operator_vtable_t s_sink_vtable = {
    .on_record = s_sink_record,
    .on_end = s_sink_end,
    .close = s_close,
};

int rill_op_zmq_sink_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SINK_ZMQ);
    self->vtable = &s_sink_vtable;
    return s_open(self, false);
}
