/*  rill_cluster.c: the control plane of a job that spans processes (rill_cluster.h for what a
    cluster is, rill_cluster_control.h for the messages). The coordinator binds a ROUTER, each
    worker connects a DEALER: one socket each way, so every control message between two
    processes travels in order on one connection, and ROUTER routing ids tell the workers
    apart without trusting what a message says. Records never pass here: they go straight
    between the subtasks' own sockets. */
#include "rill_cluster_control.h"
#include "rill_launch.h"
#include "rill_metrics_private.h"
#include "rill_plan_private.h"

#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_HEARTBEAT_MS 500
#define S_LOST_AFTER_BEATS 6
#define S_HOST_MAX 256

typedef struct {
    zframe_t *id; //  its routing id at the coordinator's ROUTER (NULL: not joined)
    char host[S_HOST_MAX];
    char advertise[S_HOST_MAX];
    int pid;
    bool bound, ready, done;
    bool lost;    //  silent too long: the job failed over it
    bool gone;    //  lost, and its rank's tasks adopted by the coordinator for good
    bool stopped; //  it stopped its tasks for a restart
    char *endpoints; //  from its BOUND
    uint64_t digest;
    int64_t last_seen_ms;
} s_peer_t;

struct rill_cluster_t {
    int rank, size;
    bool coordinator;
    zsock_t *control;
    rill_security_t *security;
    char advertise[S_HOST_MAX];
    int heartbeat_ms;
    int64_t last_beat_ms;
    int64_t coordinator_seen_ms; //  worker: last message from the coordinator (0: none yet)
    s_peer_t *peers;             //  coordinator: by rank (0 is itself)
    int next_rank;               //  coordinator: the next rank to hand out
    bool restarting;             //  coordinator: waiting for the workers to stop
    //  Worker: what the coordinator sent.
    zframe_t *job;
    int argc;
    char **argv;
    char *endpoints;
    bool go;
    bool restart_seen;   //  worker: the coordinator asked for a restart
    int64_t attempt;     //  worker: the attempt the coordinator started last (-1: none yet)
    int64_t restore_id;  //  worker: the checkpoint that attempt restores from (0: as at start)
    int failed_rank;
    //  The control socket's handshakes (libzmq's monitor): peers refused so far, and why the
    //  last one was.
    zsock_t *monitor;
    int refused;
    char refusal[160];
    rill_cluster_message_fn *on_message; //  the job's own messages
    void *on_message_ctx;
    char error[1024];
};

static void s_error(rill_cluster_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void s_error(rill_cluster_t *self, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof self->error, format, args);
    va_end(args);
}

//  The host part of tcp://HOST:PORT into host; false when endpoint is not such.
static bool s_endpoint_host(const char *endpoint, char *host, size_t size)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *start = endpoint + 6, *colon = strrchr(start, ':');
    if (!colon || colon == start || (size_t)(colon - start) >= size || !colon[1])
        return false;
    memcpy(host, start, (size_t)(colon - start));
    host[colon - start] = 0;
    return true;
}

void rill_cluster_destroy(rill_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_cluster_t *self = *self_p;
    if (self->monitor)
        zmq_socket_monitor(zsock_resolve(self->control), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->control);
    rill_security_destroy(&self->security);
    for (int r = 0; self->peers && r < self->size; r++) {
        zframe_destroy(&self->peers[r].id);
        free(self->peers[r].endpoints);
    }
    free(self->peers);
    zframe_destroy(&self->job);
    for (int i = 0; self->argv && i < self->argc; i++)
        free(self->argv[i]);
    free(self->argv);
    free(self->endpoints);
    free(self);
    *self_p = NULL;
}

rill_cluster_t *rill_cluster_new(const rill_cluster_options_t *options, char *error,
                                 size_t error_size)
{
    char host[S_HOST_MAX];
    if (!options->coordinator || !s_endpoint_host(options->coordinator, host, sizeof host)) {
        snprintf(error, error_size, "the coordinator's endpoint must be tcp://HOST:PORT, not '%s'",
                 options->coordinator ? options->coordinator : "(none)");
        return NULL;
    }
    if (options->rank < -1 || options->rank >= RILL_MAX_PROCESSES ||
        (options->rank == 0 && (options->size < 1 || options->size > RILL_MAX_PROCESSES))) {
        snprintf(error, error_size, "rank %d of %d processes is out of range", options->rank,
                 options->size);
        return NULL;
    }
    if (!options->keys && !options->insecure) {
        snprintf(error, error_size,
                 "a job across processes runs secured: give --keys DIR (make one with 'rill "
                 "keys DIR' and copy it to every host), or --insecure to run in plain text");
        return NULL;
    }
    rill_cluster_t *self = zmalloc(sizeof(rill_cluster_t));
    self->rank = options->rank;
    self->size = options->rank == 0 ? options->size : 0;
    self->coordinator = options->rank == 0;
    self->heartbeat_ms = options->heartbeat_ms > 0 ? options->heartbeat_ms : S_DEFAULT_HEARTBEAT_MS;
    self->failed_rank = -1;
    self->next_rank = 1;
    self->attempt = -1;
    if (options->keys) {
        self->security = rill_security_new(options->keys, self->error, sizeof self->error);
        if (!self->security)
            goto fail;
    }
    if (options->advertise)
        snprintf(self->advertise, sizeof self->advertise, "%s", options->advertise);
    else if (self->coordinator) {
        //  The coordinator's own address is the one its workers reach it at, unless it
        //  listens on every interface: then its name.
        if (streq(host, "*") || streq(host, "0.0.0.0"))
            gethostname(self->advertise, sizeof self->advertise - 1);
        else
            snprintf(self->advertise, sizeof self->advertise, "%s", host);
    }
    self->control = zsock_new(self->coordinator ? ZMQ_ROUTER : ZMQ_DEALER);
    if (!self->control) {
        s_error(self, "cannot make the control socket: %s", zmq_strerror(errno));
        goto fail;
    }
    zsock_set_linger(self->control, 1000); //  a worker's last DONE must leave before it exits
    //  ZeroMQ's own heartbeats (ZMTP PING) close a connection whose peer went silent, below
    //  the job's own heartbeat messages, which are what decide that a peer is lost.
    zsock_set_heartbeat_ivl(self->control, self->heartbeat_ms);
    zsock_set_heartbeat_timeout(self->control, self->heartbeat_ms * S_LOST_AFTER_BEATS);
    //  A refused handshake (another key, plain text against CURVE) is told, not only waited
    //  out: the coordinator counts them for its message, a worker stops at once.
    char name[64];
    snprintf(name, sizeof name, "inproc://rill-control-%p", (void *)self);
    if (zmq_socket_monitor(zsock_resolve(self->control), name,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0)
        self->monitor = zsock_new_pair(name);
    if (self->coordinator) {
        self->peers = zmalloc(sizeof(s_peer_t) * (size_t)self->size);
        if (self->security)
            rill_security_server(self->security, self->control);
        zsock_set_router_mandatory(self->control, 1);
        if (zsock_bind(self->control, "%s", options->coordinator) < 0) {
            s_error(self, "cannot listen at %s: %s", options->coordinator, zmq_strerror(errno));
            goto fail;
        }
    } else {
        if (self->security)
            rill_security_client(self->security, self->control);
        int rc = self->advertise[0] ? zsock_connect(self->control, "tcp://%s:0;%s", self->advertise,
                                                    options->coordinator + 6)
                                    : zsock_connect(self->control, "%s", options->coordinator);
        if (rc < 0) {
            s_error(self, "cannot connect to %s: %s", options->coordinator, zmq_strerror(errno));
            goto fail;
        }
        char name[S_HOST_MAX] = "";
        gethostname(name, sizeof name - 1);
        char rank[16], pid[16];
        snprintf(rank, sizeof rank, "%d", options->rank);
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        zstr_sendx(self->control, "HELLO", rank, name, pid, self->advertise, NULL);
    }
    return self;
fail:
    snprintf(error, error_size, "%s", self->error);
    rill_cluster_destroy(&self);
    return NULL;
}

int rill_cluster_launcher(int *rank, int *size, const char **launcher, char *error,
                          size_t error_size)
{
    rill_launch_t *launch = rill_launch_new(NULL, NULL, error, error_size);
    if (!launch)
        return -1;
    *rank = rill_launch_rank(launch);
    *size = rill_launch_size(launch);
    *launcher = rill_launcher_name(rill_launch_launcher(launch));
    rill_launch_destroy(&launch);
    return 0;
}

int rill_cluster_rank(const rill_cluster_t *self)
{
    return self->rank;
}

int rill_cluster_size(const rill_cluster_t *self)
{
    return self->size;
}

const char *rill_cluster_advertise(const rill_cluster_t *self)
{
    return self->advertise;
}

const char *rill_cluster_error(const rill_cluster_t *self)
{
    return self->error;
}

bool rill_cluster_secure_server(rill_cluster_t *self, void *socket)
{
    if (!self->security)
        return false;
    rill_security_server(self->security, socket);
    return true;
}

rill_security_t *rill_cluster_security(rill_cluster_t *self)
{
    return self->security;
}

void *rill_cluster_handle(rill_cluster_t *self)
{
    return zsock_resolve(self->control);
}

int rill_cluster_failed_rank(const rill_cluster_t *self)
{
    return self->failed_rank;
}

void rill_cluster_describe(const rill_cluster_t *self, rill_plan_t *plan)
{
    char name[S_HOST_MAX] = "";
    gethostname(name, sizeof name - 1);
    if (rill_plan_process_count(plan) != self->size)
        return;
    for (int r = 0; r < self->size; r++) {
        char where[2 * S_HOST_MAX + 4];
        const s_peer_t *peer = &self->peers[r];
        if (r == 0)
            snprintf(where, sizeof where, "%s (%s)", name, self->advertise);
        else
            snprintf(where, sizeof where, "%s (%s)", peer->host, peer->advertise);
        rill_plan_set_process(plan, r, where, r == 0 ? (int)getpid() : peer->pid);
    }
}

//  ---- sending

//  Sends a message to worker rank (coordinator) or to the coordinator (worker). Takes msg.
static void s_send(rill_cluster_t *self, int rank, zmsg_t **msg)
{
    if (self->coordinator) {
        if (!self->peers[rank].id) {
            zmsg_destroy(msg);
            return;
        }
        zmsg_pushmem(*msg, zframe_data(self->peers[rank].id), zframe_size(self->peers[rank].id));
    }
    //  A peer that is gone makes ROUTER_MANDATORY fail at once; that is the heartbeat's
    //  business to report, not the sender's.
    if (zmsg_send(msg, self->control))
        zmsg_destroy(msg);
}

static void s_send_counters(rill_cluster_t *self, const char *command, const char *why,
                            const rill_metrics_t *metrics)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, command);
    if (why)
        zmsg_addstr(msg, why);
    size_t size = 0;
    uint8_t *counters = metrics ? rill_metrics_pack(metrics, self->rank, &size) : NULL;
    zmsg_addmem(msg, counters, counters ? size : 0);
    free(counters);
    s_send(self, 0, &msg);
}

void rill_cluster_broadcast(rill_cluster_t *self, const char *command, const char *why)
{
    for (int r = 1; self->coordinator && r < self->size; r++) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, command);
        if (why)
            zmsg_addstr(msg, why);
        s_send(self, r, &msg);
    }
}

static void s_heartbeat(rill_cluster_t *self, const rill_metrics_t *metrics)
{
    int64_t now = zclock_mono();
    if (now - self->last_beat_ms < self->heartbeat_ms)
        return;
    self->last_beat_ms = now;
    if (self->coordinator)
        rill_cluster_broadcast(self, "BEAT", NULL);
    else if (self->coordinator_seen_ms)
        s_send_counters(self, "BEAT", NULL, metrics);
}

//  ---- receiving

static int s_rank_of(rill_cluster_t *self, zframe_t *id)
{
    for (int r = 1; r < self->size; r++)
        if (self->peers[r].id && zframe_eq(self->peers[r].id, id))
            return r;
    return -1;
}

static void s_unpack(rill_cluster_t *self, int rank, zframe_t *counters, rill_metrics_t *metrics)
{
    //  Counters from a plan that does not match are dropped, not trusted: the exchange's
    //  digest check fails such a job anyway.
    if (metrics && counters && zframe_size(counters))
        rill_metrics_unpack(metrics, rank, zframe_data(counters), zframe_size(counters));
}

//  A joining worker: gives it its rank. A second process claiming a rank is refused.
static void s_on_hello(rill_cluster_t *self, zframe_t *id, const char *seen, zmsg_t *msg)
{
    char *rank_text = zmsg_popstr(msg), *host = zmsg_popstr(msg), *pid = zmsg_popstr(msg),
         *advertise = zmsg_popstr(msg);
    int rank = rank_text ? atoi(rank_text) : -2;
    if (rank == -1) {
        while (self->next_rank < self->size && self->peers[self->next_rank].id)
            self->next_rank++;
        rank = self->next_rank < self->size ? self->next_rank : -2;
    }
    if (rank < 1 || rank >= self->size || self->peers[rank].id || !host || !pid) {
        zmsg_t *reply = zmsg_new();
        zmsg_pushmem(reply, zframe_data(id), zframe_size(id));
        zmsg_addstr(reply, "ABORT");
        zmsg_addstr(reply, rank == -2 ? "the job has all the workers it needs"
                                      : "another process holds that rank, or the hello is bad");
        zmsg_send(&reply, self->control);
    } else {
        s_peer_t *peer = &self->peers[rank];
        peer->id = zframe_dup(id);
        snprintf(peer->host, sizeof peer->host, "%s", host);
        peer->pid = atoi(pid);
        //  No address of its own given: the one its connection came from, as seen here.
        snprintf(peer->advertise, sizeof peer->advertise, "%s",
                 advertise && *advertise ? advertise
                 : seen                  ? seen
                                         : host);
        peer->last_seen_ms = zclock_mono();
    }
    zstr_free(&rank_text);
    zstr_free(&host);
    zstr_free(&pid);
    zstr_free(&advertise);
}

//  One message at the coordinator. Returns the event it makes.
static rill_cluster_event_t s_coordinator_take(rill_cluster_t *self, zmsg_t *msg,
                                               rill_metrics_t *metrics)
{
    zframe_t *id = zmsg_pop(msg);
    zframe_t *first = zmsg_pop(msg);
    char *command = first ? zframe_strdup(first) : NULL;
    rill_cluster_event_t event = RILL_CLUSTER_NOTHING;
    if (!id || !command)
        goto done;
    if (streq(command, "HELLO")) {
        //  The ROUTER makes the routing id frame up; the address rides on the peer's frames.
        s_on_hello(self, id, zframe_meta(first, "Peer-Address"), msg);
        goto done;
    }
    int rank = s_rank_of(self, id);
    if (rank < 0)
        goto done; //  not one of ours (a late or refused process): ignored
    s_peer_t *peer = &self->peers[rank];
    peer->last_seen_ms = zclock_mono();
    if (streq(command, "BOUND")) {
        char *digest = zmsg_popstr(msg), *endpoints = zmsg_popstr(msg);
        peer->digest = digest ? strtoull(digest, NULL, 16) : 0;
        free(peer->endpoints);
        peer->endpoints = endpoints ? endpoints : strdup("");
        peer->bound = true;
        zstr_free(&digest);
    } else if (streq(command, "READY"))
        peer->ready = true;
    else if (streq(command, "STOPPED"))
        peer->stopped = true;
    else if (streq(command, "BEAT") || streq(command, "DONE")) {
        zframe_t *counters = zmsg_pop(msg);
        s_unpack(self, rank, counters, metrics);
        zframe_destroy(&counters);
        peer->done = peer->done || streq(command, "DONE");
    } else if (streq(command, "FAILED") && self->restarting) {
        //  A failure of the attempt being restarted, come late: the restart covers it.
    } else if (streq(command, "FAILED")) {
        char *why = zmsg_popstr(msg);
        zframe_t *counters = zmsg_pop(msg);
        s_unpack(self, rank, counters, metrics);
        zframe_destroy(&counters);
        s_error(self, "process %d (%s, pid %d) failed: %s", rank, peer->advertise, peer->pid,
                why ? why : "(no reason given)");
        self->failed_rank = rank;
        zstr_free(&why);
        event = RILL_CLUSTER_FAILED;
    } else if (self->on_message)
        self->on_message(self->on_message_ctx, rank, command, msg);
done:
    zframe_destroy(&id);
    zframe_destroy(&first);
    zstr_free(&command);
    return event;
}

//  One message at a worker. Returns the event it makes.
static rill_cluster_event_t s_worker_take(rill_cluster_t *self, zmsg_t *msg)
{
    char *command = zmsg_popstr(msg);
    rill_cluster_event_t event = RILL_CLUSTER_NOTHING;
    self->coordinator_seen_ms = zclock_mono();
    if (!command)
        return event;
    if (streq(command, "JOB") && !self->job) {
        char *rank = zmsg_popstr(msg), *size = zmsg_popstr(msg), *advertise = zmsg_popstr(msg);
        self->job = zmsg_pop(msg);
        self->rank = rank ? atoi(rank) : -1;
        self->size = size ? atoi(size) : 0;
        if (!self->advertise[0] && advertise)
            snprintf(self->advertise, sizeof self->advertise, "%s", advertise);
        self->argc = (int)zmsg_size(msg);
        self->argv = zmalloc(sizeof(char *) * ((size_t)self->argc + 1));
        for (int i = 0; i < self->argc; i++)
            self->argv[i] = zmsg_popstr(msg);
        zstr_free(&rank);
        zstr_free(&size);
        zstr_free(&advertise);
    } else if (streq(command, "ENDPOINTS")) {
        free(self->endpoints);
        self->endpoints = zmsg_popstr(msg);
        if (!self->endpoints)
            self->endpoints = strdup("");
    } else if (streq(command, "GO"))
        self->go = true;
    else if (streq(command, "STOP"))
        event = RILL_CLUSTER_STOP;
    else if (streq(command, "RESTART")) {
        char *why = zmsg_popstr(msg);
        s_error(self, "restarting: %s", why ? why : "(no reason given)");
        zstr_free(&why);
        self->restart_seen = true;
        event = RILL_CLUSTER_RESTART;
    } else if (streq(command, "ATTEMPT")) {
        char *attempt = zmsg_popstr(msg), *restore = zmsg_popstr(msg);
        self->attempt = attempt ? atoll(attempt) : -1;
        self->restore_id = restore ? atoll(restore) : 0;
        zstr_free(&attempt);
        zstr_free(&restore);
    }
    else if (streq(command, "BYE"))
        event = RILL_CLUSTER_FINISHED;
    else if (streq(command, "ABORT")) {
        char *why = zmsg_popstr(msg);
        s_error(self, "stopped by the coordinator: %s", why ? why : "(no reason given)");
        self->failed_rank = 0;
        zstr_free(&why);
        event = RILL_CLUSTER_FAILED;
    } else if (self->on_message)
        self->on_message(self->on_message_ctx, 0, command, msg);
    zstr_free(&command);
    return event;
}

//  A peer silent for too long. Coordinator: every joined worker; worker: the coordinator,
//  once it was heard from.
static rill_cluster_event_t s_check_peers(rill_cluster_t *self)
{
    int64_t now = zclock_mono(), limit = (int64_t)self->heartbeat_ms * S_LOST_AFTER_BEATS;
    if (!self->coordinator) {
        if (self->coordinator_seen_ms && now - self->coordinator_seen_ms > limit) {
            s_error(self, "lost the coordinator: nothing heard for %lld ms",
                    (long long)(now - self->coordinator_seen_ms));
            self->failed_rank = 0;
            return RILL_CLUSTER_FAILED;
        }
        return RILL_CLUSTER_NOTHING;
    }
    for (int r = 1; r < self->size; r++) {
        s_peer_t *peer = &self->peers[r];
        if (peer->id && !peer->gone && !peer->lost && now - peer->last_seen_ms > limit) {
            s_error(self, "lost process %d (%s, pid %d): no heartbeat for %lld ms", r,
                    peer->advertise, peer->pid, (long long)(now - peer->last_seen_ms));
            self->failed_rank = r;
            peer->lost = true;
            return RILL_CLUSTER_FAILED;
        }
    }
    return RILL_CLUSTER_NOTHING;
}

//  Whether every worker has joined and said DONE, BOUND or READY.
typedef enum { S_DONE, S_BOUND, S_READY, S_STOPPED } s_state_t;
static bool s_all_workers(const rill_cluster_t *self, s_state_t state)
{
    for (int r = 1; r < self->size; r++) {
        const s_peer_t *peer = &self->peers[r];
        bool reached = state == S_DONE    ? peer->done
                       : state == S_BOUND ? peer->bound
                       : state == S_READY ? peer->ready
                                          : peer->stopped;
        if (peer->gone)
            continue; //  its tasks run here now
        if (!peer->id || !reached)
            return false;
    }
    return true;
}

//  Takes the monitor's events. A worker refused by the coordinator fails; the coordinator
//  counts whom it refused.
static rill_cluster_event_t s_take_refusals(rill_cluster_t *self)
{
    while (self->monitor && (zsock_events(self->monitor) & ZMQ_POLLIN)) {
        zmsg_t *event = zmsg_recv(self->monitor);
        zframe_t *head = event ? zmsg_first(event) : NULL;
        if (!head || zframe_size(head) < 6) {
            zmsg_destroy(&event);
            break;
        }
        uint16_t kind;
        uint32_t value;
        memcpy(&kind, zframe_data(head), sizeof kind);
        memcpy(&value, zframe_data(head) + 2, sizeof value);
        char *where = zmsg_size(event) > 1 ? zframe_strdup(zmsg_last(event)) : NULL;
        self->refused++;
        if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            snprintf(self->refusal, sizeof self->refusal,
                     "a key that is not the cluster's (ZAP status %u) on %s", value,
                     where ? where : "?");
        else
            snprintf(
                self->refusal, sizeof self->refusal,
                "a failed handshake (another cluster's keys, or plain text against CURVE) on %s",
                where ? where : "?");
        zstr_free(&where);
        zmsg_destroy(&event);
        if (!self->coordinator) {
            s_error(self, "the coordinator refused this process: %s", self->refusal);
            return RILL_CLUSTER_FAILED;
        }
    }
    return RILL_CLUSTER_NOTHING;
}

rill_cluster_event_t rill_cluster_service(rill_cluster_t *self, rill_metrics_t *metrics)
{
    rill_cluster_event_t event = s_take_refusals(self);
    if (event == RILL_CLUSTER_FAILED)
        return event;
    while (event != RILL_CLUSTER_FAILED && (zsock_events(self->control) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv(self->control);
        if (!msg)
            break;
        rill_cluster_event_t taken =
            self->coordinator ? s_coordinator_take(self, msg, metrics) : s_worker_take(self, msg);
        zmsg_destroy(&msg);
        if (taken > event)
            event = taken;
    }
    s_heartbeat(self, metrics);
    if (event != RILL_CLUSTER_FAILED && s_check_peers(self) == RILL_CLUSTER_FAILED)
        event = RILL_CLUSTER_FAILED;
    if (self->coordinator && event == RILL_CLUSTER_NOTHING && s_all_workers(self, S_DONE))
        event = RILL_CLUSTER_FINISHED;
    return event;
}

static bool s_restart_seen(rill_cluster_t *self);

//  Services the control socket until done(self) holds, the timeout passes (ms, 0: none),
//  a peer fails, or cancel is set. 0, or -1 with self->error set.
static int s_wait(rill_cluster_t *self, bool (*done)(rill_cluster_t *), int timeout_ms,
                  atomic_int *cancel, const char *waiting_for)
{
    int64_t start = zclock_mono();
    while (!done(self)) {
        if (zsys_interrupted || (cancel && atomic_load(cancel))) {
            s_error(self, "cancelled while waiting for %s", waiting_for);
            return -1;
        }
        //  A worker asked to restart gives up whatever it waited for (but that).
        if (!self->coordinator && self->restart_seen && done != s_restart_seen) {
            s_error(self, "restarting: the coordinator restarts the job");
            return -1;
        }
        if (timeout_ms && zclock_mono() - start > timeout_ms) {
            if (self->refused)
                s_error(self,
                        "%s did not come within %d ms; %d connection%s refused, the last "
                        "with %s",
                        waiting_for, timeout_ms, self->refused,
                        self->refused == 1 ? " was" : "s were", self->refusal);
            else
                s_error(self, "%s did not come within %d ms", waiting_for, timeout_ms);
            return -1;
        }
        zmq_pollitem_t item = {zsock_resolve(self->control), 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, self->heartbeat_ms / 2 > 0 ? self->heartbeat_ms / 2 : 1);
        if (rill_cluster_service(self, NULL) == RILL_CLUSTER_FAILED)
            return -1;
    }
    return 0;
}

static bool s_all_joined(rill_cluster_t *self)
{
    for (int r = 1; r < self->size; r++)
        if (!self->peers[r].id)
            return false;
    return true;
}

int rill_cluster_gather(rill_cluster_t *self, const void *job, size_t job_size, int argc,
                        char **argv, int timeout_ms)
{
    if (!self->coordinator) {
        s_error(self, "only the coordinator gathers the workers");
        return -1;
    }
    if (s_wait(self, s_all_joined, timeout_ms, NULL, "every worker"))
        return -1;
    for (int r = 1; r < self->size; r++) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "JOB");
        zmsg_addstrf(msg, "%d", r);
        zmsg_addstrf(msg, "%d", self->size);
        zmsg_addstr(msg, self->peers[r].advertise);
        zmsg_addmem(msg, job, job_size);
        for (int i = 0; i < argc; i++)
            zmsg_addstr(msg, argv[i]);
        s_send(self, r, &msg);
    }
    return 0;
}

static bool s_has_job(rill_cluster_t *self)
{
    return self->job != NULL;
}

int rill_cluster_job(rill_cluster_t *self, int timeout_ms, const void **job, size_t *job_size,
                     int *argc, char ***argv)
{
    if (self->coordinator) {
        s_error(self, "the coordinator has the job already");
        return -1;
    }
    if (s_wait(self, s_has_job, timeout_ms, NULL, "the job from the coordinator"))
        return -1;
    *job = zframe_data(self->job);
    *job_size = zframe_size(self->job);
    *argc = self->argc;
    *argv = self->argv;
    return 0;
}

static bool s_all_bound(rill_cluster_t *self)
{
    return s_all_workers(self, S_BOUND);
}

static bool s_has_endpoints(rill_cluster_t *self)
{
    return self->endpoints != NULL;
}

int rill_cluster_exchange(rill_cluster_t *self, uint64_t digest, const char *mine, char **all,
                          atomic_int *cancel)
{
    *all = NULL;
    if (!self->coordinator) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "BOUND");
        zmsg_addstrf(msg, "%016llx", (unsigned long long)digest);
        zmsg_addstr(msg, mine);
        s_send(self, 0, &msg);
        free(self->endpoints);
        self->endpoints = NULL;
        if (s_wait(self, s_has_endpoints, 0, cancel, "the endpoints of the other processes"))
            return -1;
        *all = self->endpoints;
        self->endpoints = NULL;
        return 0;
    }
    if (s_wait(self, s_all_bound, 0, cancel, "every process to bind its inputs")) {
        rill_cluster_broadcast(self, "ABORT", self->error);
        return -1;
    }
    size_t size = strlen(mine) + 1;
    for (int r = 1; r < self->size; r++) {
        if (self->peers[r].gone)
            continue;
        if (self->peers[r].digest != digest) {
            s_error(self,
                    "process %d (%s) planned another job (plan digest %016llx, here %016llx): "
                    "every process must run the same job, options and arguments",
                    r, self->peers[r].advertise, (unsigned long long)self->peers[r].digest,
                    (unsigned long long)digest);
            rill_cluster_broadcast(self, "ABORT", self->error);
            return -1;
        }
        size += strlen(self->peers[r].endpoints);
    }
    char *merged = malloc(size);
    if (!merged) {
        s_error(self, "out of memory");
        return -1;
    }
    strcpy(merged, mine);
    for (int r = 1; r < self->size; r++) {
        if (!self->peers[r].gone)
            strcat(merged, self->peers[r].endpoints);
        self->peers[r].bound = false; //  a restarted attempt binds again
    }
    for (int r = 1; r < self->size; r++) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "ENDPOINTS");
        zmsg_addstr(msg, merged);
        s_send(self, r, &msg);
    }
    *all = merged;
    return 0;
}

static bool s_all_ready(rill_cluster_t *self)
{
    return s_all_workers(self, S_READY);
}

static bool s_has_go(rill_cluster_t *self)
{
    return self->go;
}

int rill_cluster_ready(rill_cluster_t *self, atomic_int *cancel)
{
    if (!self->coordinator) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "READY");
        s_send(self, 0, &msg);
        return s_wait(self, s_has_go, 0, cancel, "the start signal");
    }
    if (s_wait(self, s_all_ready, 0, cancel, "every process to connect")) {
        rill_cluster_broadcast(self, "ABORT", self->error);
        return -1;
    }
    rill_cluster_broadcast(self, "GO", NULL);
    return 0;
}

void rill_cluster_on_message(rill_cluster_t *self, rill_cluster_message_fn *fn, void *ctx)
{
    self->on_message = fn;
    self->on_message_ctx = ctx;
}

void rill_cluster_send(rill_cluster_t *self, zmsg_t **msg)
{
    s_send(self, 0, msg);
}

void rill_cluster_done(rill_cluster_t *self, const rill_metrics_t *metrics)
{
    s_send_counters(self, "DONE", NULL, metrics);
}

void rill_cluster_fail(rill_cluster_t *self, const char *why, const rill_metrics_t *metrics)
{
    s_send_counters(self, "FAILED", why, metrics);
}

bool rill_cluster_hosts(const rill_cluster_t *self, int rank)
{
    if (rank == self->rank)
        return true;
    return self->coordinator && rank > 0 && rank < self->size && self->peers[rank].gone;
}

static bool s_all_stopped(rill_cluster_t *self)
{
    return s_all_workers(self, S_STOPPED);
}

int rill_cluster_restart(rill_cluster_t *self, int attempt, int64_t restore_id, const char *why,
                         atomic_int *cancel)
{
    //  A lost worker is gone for good: its rank's tasks run here from now on (its channels
    //  stay tcp, to this process's own address).
    for (int r = 1; r < self->size; r++) {
        s_peer_t *peer = &self->peers[r];
        if (peer->lost && !peer->gone) {
            peer->gone = true;
            zframe_destroy(&peer->id);
        }
        peer->stopped = peer->bound = peer->ready = peer->done = false;
        free(peer->endpoints);
        peer->endpoints = NULL;
    }
    rill_cluster_broadcast(self, "RESTART", why);
    //  Every worker's tasks of the failed attempt are down before the next one starts: after
    //  its STOPPED nothing of the old attempt can come on its connection.
    self->restarting = true;
    int rc = s_wait(self, s_all_stopped, 30000, cancel, "every worker to stop for the restart");
    self->restarting = false;
    if (rc)
        return -1;
    char text[2][32];
    snprintf(text[0], sizeof text[0], "%d", attempt);
    snprintf(text[1], sizeof text[1], "%lld", (long long)restore_id);
    for (int r = 1; r < self->size; r++) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "ATTEMPT");
        zmsg_addstr(msg, text[0]);
        zmsg_addstr(msg, text[1]);
        s_send(self, r, &msg);
    }
    return 0;
}

static bool s_has_attempt(rill_cluster_t *self)
{
    return self->attempt >= 0;
}

static bool s_restart_seen(rill_cluster_t *self)
{
    return self->restart_seen;
}

int rill_cluster_await_attempt(rill_cluster_t *self, int *attempt, int64_t *restore_id,
                               atomic_int *cancel)
{
    //  The coordinator asks every worker to restart (or tells it the job is over: ABORT).
    if (s_wait(self, s_restart_seen, 0, cancel, "the coordinator's decision"))
        return -1;
    self->restart_seen = false;
    self->attempt = -1;
    self->go = false;
    free(self->endpoints);
    self->endpoints = NULL;
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "STOPPED");
    s_send(self, 0, &msg);
    if (s_wait(self, s_has_attempt, 0, cancel, "the next attempt"))
        return -1;
    *attempt = (int)self->attempt;
    *restore_id = self->restore_id;
    return 0;
}

bool rill_cluster_restart_asked(const rill_cluster_t *self)
{
    return !self->coordinator && self->restart_seen;
}
