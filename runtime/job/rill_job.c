/*  rill_job.c: the coordinator. Runs in the caller's thread: it only creates actors, sends
    them a handful of commands and waits on their pipes, so it needs no thread of its own.
    Every subtask is a czmq actor (zactor). zactor detaches the actor's thread, which closes its
    end of the pipe only after zactor_destroy has returned; so that every socket a job opened
    is closed when the job returns (a process can run jobs one after another, and exit without
    czmq waiting 200 ms for stragglers), each actor thread also posts an exit latch from a
    thread-specific destructor, which runs once the thread has finished, and the coordinator
    waits on it. Before anything starts it checks what the plan needs (threads, sockets,
    descriptors, memory) against the process's limits, raising the soft ones it may. */
#include "rill_job.h"
#include "rill_checkpoint_coordinator.h"
#include "rill_clock.h"
#include "rill_cluster_control.h"
#include "rill_metrics_private.h"
#include "rill_plan_private.h"
#include "rill_subtask.h"
#include "rill_tsan.h"
#include "rill_writer.h"

#include <assert.h>
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define S_WATCH_INTERVAL_MS 100

//  One subtask's actor, and the latch its thread posts as it ends.
typedef struct {
    zactor_t *actor;
    zsock_t *pipe; //  the coordinator's end: the actor's own socket
    rill_subtask_args_t *args;
    sem_t exited;        //  posted by the actor thread's exit destructor
    atomic_bool watched; //  the thread will post `exited` (set before its ready signal)
    bool latch_made;     //  `exited` was initialized
} s_actor_t;

struct rill_job_t {
    const rill_plan_t *plan;
    rill_metrics_t *metrics;
    rill_subtask_args_t *args;
    rill_watermark_alignment_t *alignment; //  shared by the aligned subtasks; outlives them
    s_actor_t *actors;
    int count;
    rill_monitor_fn *tick;
    void *tick_ctx;
    int tick_interval_ms;
    bool cancelled;
    rill_checkpoint_coordinator_t *checkpoints; //  NULL: checkpoints and restarts off
    int restart_attempts;
    int restart_delay_ms;
    bool exponential;
    bool savepoint_on_cancel;
    bool limits_checked;
    bool no_diagnostics; //  rill_job_set_diagnostics(false)
    int attempt;         //  the running attempt (0, then one more per restart)
    //  A job spanning processes: this process's share of it (NULL: the whole plan here).
    rill_cluster_t *cluster;
    rill_subtask_network_t network;
    char (*bound)[RILL_ENDPOINT_MAX]; //  every task's inputs' tcp endpoints, in task order
    rill_subtask_args_t *all_args;    //  every task's arguments (a cluster's share is args)
    bool restart_asked;               //  worker: the attempt ended as the coordinator restarts
    //  Checkpoints count tasks in one numbering over the whole plan (the order of their head
    //  subtasks): heads[g] is task g's head subtask, global[i] local task i's number (in one
    //  process, i itself). In a cluster the coordinator also knows which tasks finished
    //  anywhere; a worker relays the coordinator's checkpoint `relayed` to its tasks and
    //  remembers which of them acknowledged it.
    int all_tasks;
    int *heads;
    int *global;
    bool *all_done;
    bool *done; //  while watching: by local task
    int64_t relayed;
    bool *relay_acked;
    //  Worker: a checkpoint the coordinator started before this process began watching its
    //  tasks (the trigger can follow the start signal at once); relayed when watching starts.
    int64_t early_checkpoint;
    char error[1024];
};

rill_job_t *rill_job_new(const rill_plan_t *plan, rill_metrics_t *metrics, size_t batch_size,
                         int buffer_timeout_ms, rill_trace_t *trace)
{
    assert(plan);
    rill_job_t *self = calloc(1, sizeof(rill_job_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->metrics = metrics;
    //  One actor per task: a chain of operator subtasks runs in one thread (rill_subtask.c).
    self->count = rill_plan_task_count(plan);
    self->args = calloc((size_t)self->count + 1, sizeof(rill_subtask_args_t));
    self->actors = calloc((size_t)self->count + 1, sizeof(s_actor_t));
    //  A shared object, not messages through the coordinator: every subtask of a job lives in
    //  this process, and the record path then costs one atomic store and load per poll.
    self->alignment = rill_watermark_alignment_new_for_plan(plan);
    self->all_tasks = self->count;
    self->heads = calloc((size_t)self->count + 1, sizeof(int));
    self->global = calloc((size_t)self->count + 1, sizeof(int));
    self->all_done = calloc((size_t)self->count + 1, sizeof(bool));
    self->relay_acked = calloc((size_t)self->count + 1, sizeof(bool));
    if (!self->args || !self->actors || !self->alignment || !self->heads || !self->global ||
        !self->all_done || !self->relay_acked) {
        rill_job_destroy(&self);
        return NULL;
    }
    for (int id = 0, i = 0; id < rill_plan_subtask_count(plan); id++) {
        if (rill_plan_subtask(plan, id)->task != id)
            continue; //  runs in its chain head's actor
        self->args[i] = (rill_subtask_args_t){.plan = plan,
                                              .subtask = id,
                                              .metrics = metrics,
                                              .batch_size = batch_size,
                                              .buffer_timeout_ms = buffer_timeout_ms,
                                              .trace = trace,
                                              .alignment = self->alignment};
        self->actors[i].args = &self->args[i];
        self->global[i] = i;
        self->heads[i] = id;
        i++;
    }
    return self;
}

//  The thread-specific key whose destructor posts an actor's exit latch. Made once per process
//  and never changed after: the one piece of process-wide state here, as pthread keys are.
static pthread_key_t s_exit_key;
static pthread_once_t s_exit_key_once = PTHREAD_ONCE_INIT;
static bool s_exit_key_made;

//  Runs as an actor thread ends, after zactor's shim has closed the thread's end of the pipe.
static void s_on_actor_exit(void *latch)
{
    sem_post(latch);
}

static void s_make_exit_key(void)
{
    s_exit_key_made = pthread_key_create(&s_exit_key, s_on_actor_exit) == 0;
}

//  The actor function zactor runs: arms the exit latch, then runs the subtask.
static void s_actor(zsock_t *pipe, void *arg)
{
    s_actor_t *actor = arg;
    if (s_exit_key_made && pthread_setspecific(s_exit_key, &actor->exited) == 0)
        atomic_store(&actor->watched, true);
    rill_subtask_actor(pipe, actor->args);
}

//  Starts one actor; zactor_new returns once the actor signalled it is ready. 0, or -1 with
//  self->error set.
static int s_start_actor(rill_job_t *self, s_actor_t *actor, int task)
{
    assert(self && actor && task >= 0 && task < self->count);
    pthread_once(&s_exit_key_once, s_make_exit_key);
    actor->args->no_diagnostics = self->no_diagnostics;
    actor->args->attempt = self->attempt;
    if (sem_init(&actor->exited, 0, 0) == 0)
        actor->latch_made = true;
    actor->actor = actor->latch_made ? zactor_new(s_actor, actor) : NULL;
    if (!actor->actor) {
        snprintf(self->error, sizeof self->error, "job: cannot start task %d of %d", task + 1,
                 self->count);
        return -1;
    }
    actor->pipe = zactor_sock(actor->actor);
    //  Ask libzmq to drop, not keep, what an actor never read once the job is over.
    zsock_set_linger(actor->pipe, 0);
    return 0;
}

//  Stops every actor: $TERM to all first, so they wind down in parallel, then destroys each
//  (which collects its last signal) and waits for its thread to end, so that every socket of
//  the job is closed when this returns.
static void s_stop_actors(rill_job_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->actors[i].actor) {
            zsock_set_sndtimeo(self->actors[i].pipe, 0);
            zstr_send(self->actors[i].pipe, "$TERM");
        }
    for (int i = 0; i < self->count; i++) {
        s_actor_t *actor = &self->actors[i];
        bool started = actor->actor != NULL;
        zactor_destroy(&actor->actor);
        actor->pipe = NULL;
        if (started && atomic_load(&actor->watched))
            while (sem_wait(&actor->exited) && errno == EINTR)
                ;
        if (actor->latch_made)
            sem_destroy(&actor->exited);
        actor->latch_made = false;
    }
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
    free(self->bound);
    free(self->all_args);
    free(self->heads);
    free(self->global);
    free(self->all_done);
    free(self->relay_acked);
    rill_watermark_alignment_destroy(&self->alignment);
    rill_checkpoint_coordinator_destroy(&self->checkpoints);
    free(self);
    *self_p = NULL;
}

void rill_job_set_tick(rill_job_t *self, rill_monitor_fn *tick, void *ctx, int interval_ms)
{
    self->tick = tick;
    self->tick_ctx = ctx;
    self->tick_interval_ms = interval_ms > 0 ? interval_ms : 1000;
}

static void s_on_cluster_message(void *ctx, int rank, const char *command, zmsg_t *msg);

//  Takes this process's share of the tasks (those placed on the ranks it hosts, in order) from
//  every task's arguments, each with its room for its head's tcp endpoints. Done again before
//  each attempt: after a restart the coordinator also runs the lost workers' tasks.
static void s_take_share(rill_job_t *self)
{
    const rill_plan_t *plan = self->plan;
    self->count = 0;
    for (int g = 0, at = 0; g < self->all_tasks; g++) {
        const rill_plan_subtask_t *head = rill_plan_subtask(plan, self->heads[g]);
        int inputs = rill_plan_operator(plan, head->op)->input_count;
        if (rill_cluster_hosts(self->cluster, head->process)) {
            int i = self->count++;
            self->args[i] = self->all_args[g];
            self->args[i].network = &self->network;
            self->args[i].bound = &self->bound[at];
            self->args[i].checkpointing =
                self->checkpoints ? rill_checkpoint_coordinator_actors(self->checkpoints) : NULL;
            self->global[i] = g;
            self->actors[i] = (s_actor_t){.args = &self->args[i]};
        }
        at += inputs;
    }
}

void rill_job_set_diagnostics(rill_job_t *self, bool on)
{
    assert(self);
    self->no_diagnostics = !on;
}

int rill_job_set_cluster(rill_job_t *self, rill_cluster_t *cluster)
{
    assert(self && cluster && !self->checkpoints);
    const rill_plan_t *plan = self->plan;
    int inputs = 0;
    for (int g = 0; g < self->all_tasks; g++)
        inputs += rill_plan_operator(plan, rill_plan_subtask(plan, self->heads[g])->op)->input_count;
    self->bound = calloc((size_t)inputs + 1, RILL_ENDPOINT_MAX);
    self->all_args = calloc((size_t)self->all_tasks + 1, sizeof(rill_subtask_args_t));
    if (!self->bound || !self->all_args) {
        snprintf(self->error, sizeof self->error, "job: out of memory");
        return -1;
    }
    memcpy(self->all_args, self->args, (size_t)self->all_tasks * sizeof(rill_subtask_args_t));
    self->cluster = cluster;
    rill_cluster_on_message(cluster, s_on_cluster_message, self);
    self->network = (rill_subtask_network_t){.host = rill_cluster_advertise(cluster),
                                             .security = rill_cluster_security(cluster),
                                             .token = rill_plan_digest(plan)};
    s_take_share(self);
    return 0;
}

int rill_job_set_checkpoints(rill_job_t *self, const rill_checkpoint_config_t *config)
{
    rill_checkpoint_coordinator_destroy(&self->checkpoints);
    self->checkpoints =
        rill_checkpoint_coordinator_new(self->plan, config, self->error, sizeof self->error);
    if (!self->checkpoints)
        return -1;
    self->restart_attempts = config->restart_attempts;
    self->restart_delay_ms = config->restart_delay_ms;
    self->exponential = config->exponential;
    self->savepoint_on_cancel = config->savepoint_dir && *config->savepoint_dir;
    for (int i = 0; i < self->count; i++)
        self->args[i].checkpointing = rill_checkpoint_coordinator_actors(self->checkpoints);
    return 0;
}

const rill_checkpoint_stats_t *rill_job_checkpoints(const rill_job_t *self)
{
    return self->checkpoints ? rill_checkpoint_coordinator_summary(self->checkpoints) : NULL;
}

const char *rill_job_error(const rill_job_t *self)
{
    return self->error;
}

bool rill_job_cancelled(const rill_job_t *self)
{
    return self->cancelled;
}

//  Receives one short message from actor i into buffer (NUL-terminated), allocating nothing:
//  a failure must be reported even when memory has run out. Its length, or -1.
static int s_receive(rill_job_t *self, int i, char *buffer, size_t size)
{
    int length = zmq_recv(zsock_resolve(self->actors[i].pipe), buffer, size - 1, 0);
    if (length < 0)
        return -1;
    if ((size_t)length > size - 1)
        length = (int)size - 1;
    buffer[length] = 0;
    return length;
}

//  Sends command to every actor, then collects every reply; the first ERROR fails the phase.
//  In a cluster the control plane is serviced meanwhile (heartbeats go on; a peer that fails
//  or is lost fails the phase).
static int s_phase(rill_job_t *self, const char *command)
{
    for (int i = 0; i < self->count; i++)
        zstr_send(self->actors[i].pipe, command);
    int rc = 0;
    for (int i = 0; i < self->count; i++) {
        while (self->cluster) {
            zmq_pollitem_t item = {zsock_resolve(self->actors[i].pipe), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 100) > 0)
                break;
            rill_cluster_event_t event = rill_cluster_service(self->cluster, NULL);
            if (event == RILL_CLUSTER_FAILED || event == RILL_CLUSTER_RESTART) {
                snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
                return -1; //  the actors still answering are stopped with the attempt
            }
        }
        char reply[16] = "";
        if (s_receive(self, i, reply, sizeof reply) < 0 || !streq(reply, "OK")) {
            RILL_TSAN_ACQUIRE(self->args[i].error); //  written before the actor's reply
            if (rc == 0)
                snprintf(self->error, sizeof self->error, "%s",
                         streq(reply, "ERROR") && *self->args[i].error
                             ? self->args[i].error
                             : "a subtask did not answer");
            rc = -1;
        }
    }
    return rc;
}

//  Between BIND and CONNECT in a cluster: tells the other processes where this one's tcp
//  inputs listen, and learns where theirs do, so the senders here connect to them.
static int s_exchange_endpoints(rill_job_t *self, atomic_int *cancel)
{
    rill_plan_t *plan = (rill_plan_t *)self->plan; //  the job's while it runs
    //  Lines "EDGE TO_SUBTASK ENDPOINT".
    size_t size = 1;
    for (int i = 0; i < self->count; i++) {
        const rill_plan_subtask_t *head = rill_plan_subtask(plan, self->args[i].subtask);
        size += (size_t)rill_plan_operator(plan, head->op)->input_count * (RILL_ENDPOINT_MAX + 32);
    }
    char *lines = calloc(size, 1), *at = lines;
    if (!lines) {
        snprintf(self->error, sizeof self->error, "job: out of memory");
        return -1;
    }
    for (int i = 0; i < self->count; i++) {
        const rill_plan_subtask_t *head = rill_plan_subtask(plan, self->args[i].subtask);
        for (int k = 0; k < rill_plan_operator(plan, head->op)->input_count; k++)
            if (self->args[i].bound[k][0])
                at += sprintf(at, "%d %d %s\n", rill_plan_input_edge(plan, head->op, k), head->id,
                              self->args[i].bound[k]);
    }
    char *all = NULL;
    int rc = rill_cluster_exchange(self->cluster, rill_plan_digest(plan), lines, &all, cancel);
    free(lines);
    if (rc) {
        snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
        return -1;
    }
    for (char *line = all, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        int edge, to;
        char endpoint[RILL_ENDPOINT_MAX];
        if (sscanf(line, "%d %d %95s", &edge, &to, endpoint) != 3 ||
            rill_plan_set_remote_endpoint(plan, edge, to, endpoint)) {
            snprintf(self->error, sizeof self->error, "job: a bad endpoint from the cluster: '%.200s'",
                     line);
            rc = -1;
        }
    }
    free(all);
    return rc;
}

static bool s_is_source(rill_job_t *self, int task)
{
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, self->args[task].subtask);
    return rill_op_kind_is_source(rill_plan_operator(self->plan, s->op)->kind);
}

//  Starts checkpoint `id`: the command goes to every running source (which emits the barrier)
//  and to every finished task (which saves its final state); the rest get the barrier.
static void s_send_checkpoint(rill_job_t *self, const bool *done, int64_t id, const char *what)
{
    for (int i = 0; i < self->count; i++)
        if (done[i] || s_is_source(self, i))
            zstr_sendf(self->actors[i].pipe, "%s %lld", done[i] ? "CHECKPOINT" : what,
                       (long long)id);
    if (self->cluster) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)id);
        rill_cluster_broadcast(self->cluster, "CKPT", text);
    }
}

//  Whether a source still runs: here, or in a cluster anywhere (the workers say when their
//  tasks finish).
static bool s_any_source_running(rill_job_t *self, const bool *done)
{
    for (int i = 0; i < self->count; i++)
        if (!done[i] && s_is_source(self, i))
            return true;
    for (int g = 0; self->cluster && g < self->all_tasks; g++) {
        const rill_plan_subtask_t *head = rill_plan_subtask(self->plan, self->heads[g]);
        if (head->process != 0 && !self->all_done[g] &&
            rill_op_kind_is_source(rill_plan_operator(self->plan, head->op)->kind))
            return true;
    }
    return false;
}

//  Task g (global numbering; its chain starts at subtask head) acknowledged checkpoint: when
//  that completes it, every task hears so (sinks commit), in every process.
static void s_ack_task(rill_job_t *self, int g, int head, int64_t checkpoint,
                       const rill_checkpoint_ack_t *ack)
{
    char why[512];
    int rc = rill_checkpoint_coordinator_ack(self->checkpoints, g, head, checkpoint, ack, why,
                                             sizeof why);
    //  rc < 0: the checkpoint is discarded; the job goes on (the next one may succeed).
    if (rc > 0) {
        const rill_checkpoint_stats_t *stats =
            rill_checkpoint_coordinator_summary(self->checkpoints);
        for (int t = 0; t < self->count; t++) {
            zstr_sendf(self->actors[t].pipe, "COMPLETE %lld", (long long)checkpoint);
            //  Stop with a savepoint: once it is complete (and committed), every task stops
            //  where it is; the job ends without draining past the savepoint.
            if (stats->savepoint_done)
                zstr_send(self->actors[t].pipe, "FINISH");
        }
        if (self->cluster) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)checkpoint);
            rill_cluster_broadcast(self->cluster, "COMPLETE", id);
        }
    }
}

//  Local task i acknowledged checkpoint. At a worker the ack, with the state files its
//  operators wrote, goes to the coordinator; there it counts like a local one.
static void s_on_ack(rill_job_t *self, int i, int64_t checkpoint)
{
    RILL_TSAN_ACQUIRE(&self->args[i].ack); //  written before ACK was sent
    const rill_checkpoint_ack_t *ack = &self->args[i].ack;
    if (!self->cluster || rill_cluster_rank(self->cluster) == 0) {
        s_ack_task(self, self->global[i], self->args[i].subtask, checkpoint, ack);
        return;
    }
    self->relay_acked[i] = true;
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "ACK");
    zmsg_addstrf(msg, "%d", self->global[i]);
    zmsg_addstrf(msg, "%d", self->args[i].subtask);
    zmsg_addstrf(msg, "%lld", (long long)checkpoint);
    zmsg_addstrf(msg, "%lld %llu %llu %llu %llu", (long long)ack->checkpoint,
                 (unsigned long long)ack->alignment_ns, (unsigned long long)ack->sync_ns,
                 (unsigned long long)ack->bytes, (unsigned long long)ack->acked_at_ms);
    //  Each chain member's state file: subtask, size, checksum, name.
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, self->args[i].subtask);
    for (int op = s->op; op >= 0; op = rill_plan_operator(self->plan, op)->chain_next) {
        int id = rill_plan_operator(self->plan, op)->first_subtask + s->index;
        const rill_state_file_t *file = rill_checkpoint_coordinator_file(self->checkpoints, id);
        zmsg_addstrf(msg, "%d %llu %llu %s", id, (unsigned long long)file->size,
                     (unsigned long long)file->checksum, file->name);
    }
    rill_cluster_send(self->cluster, &msg);
}

//  Starts the checkpoint the coordinator relayed, at a worker: its running sources emit the
//  barrier, its finished tasks save their final state.
static void s_relay_checkpoint(rill_job_t *self, int64_t id)
{
    self->relayed = id;
    for (int i = 0; i < self->count; i++) {
        self->relay_acked[i] = false;
        if (self->done[i] || s_is_source(self, i))
            zstr_sendf(self->actors[i].pipe, "CHECKPOINT %lld", (long long)id);
    }
}

//  The job's messages between processes (rill_cluster_on_message): at the coordinator a
//  worker's task acknowledged or declined a checkpoint, or finished; at a worker the
//  coordinator started or completed one.
static void s_on_cluster_message(void *ctx, int rank, const char *command, zmsg_t *msg)
{
    rill_job_t *self = ctx;
    if (self->checkpoints && !self->done && streq(command, "CKPT")) {
        //  Not watching yet: the tasks have just been started. Kept, not dropped (a dropped
        //  trigger would leave the checkpoint waiting for acks that never come).
        char *id = zmsg_popstr(msg);
        self->early_checkpoint = id ? atoll(id) : 0;
        zstr_free(&id);
        return;
    }
    if (!self->checkpoints || !self->done)
        return;
    char *text[4] = {NULL};
    if (streq(command, "CKPT") || streq(command, "COMPLETE")) {
        text[0] = zmsg_popstr(msg);
        long long id = text[0] ? atoll(text[0]) : 0;
        if (id > 0 && streq(command, "CKPT"))
            s_relay_checkpoint(self, id);
        else if (id > 0) {
            for (int t = 0; t < self->count; t++)
                zstr_sendf(self->actors[t].pipe, "COMPLETE %lld", id);
            if (self->relayed == id)
                self->relayed = 0;
        }
    } else if (streq(command, "TASKDONE")) {
        text[0] = zmsg_popstr(msg);
        int g = text[0] ? atoi(text[0]) : -1;
        if (g >= 0 && g < self->all_tasks)
            self->all_done[g] = true;
    } else if (streq(command, "DECLINE")) {
        text[0] = zmsg_popstr(msg);
        text[1] = zmsg_popstr(msg);
        char why[128];
        snprintf(why, sizeof why, "declined by task #%s on process %d (its barrier alignment "
                 "passed the bound, or its state could not be written)",
                 text[1] ? text[1] : "?", rank);
        if (text[0])
            rill_checkpoint_coordinator_fail(self->checkpoints, atoll(text[0]), why);
    } else if (streq(command, "ACK")) {
        for (int k = 0; k < 4; k++)
            text[k] = zmsg_popstr(msg);
        int g = text[0] ? atoi(text[0]) : -1, head = text[1] ? atoi(text[1]) : -1;
        long long checkpoint = text[2] ? atoll(text[2]) : 0;
        rill_checkpoint_ack_t ack = {0};
        unsigned long long fields[4] = {0};
        long long acked = 0;
        bool good = g >= 0 && g < self->all_tasks && head == self->heads[g] && text[3] &&
                    sscanf(text[3], "%lld %llu %llu %llu %llu", &acked, &fields[0], &fields[1],
                           &fields[2], &fields[3]) == 5;
        //  The files its chain wrote, each for a subtask of that task.
        for (char *line = good ? zmsg_popstr(msg) : NULL; line; line = zmsg_popstr(msg)) {
            int id = -1, used = 0;
            unsigned long long size = 0, checksum = 0;
            rill_state_file_t file;
            memset(&file, 0, sizeof file);
            if (sscanf(line, "%d %llu %llu %n", &id, &size, &checksum, &used) == 3 && id >= 0 &&
                id < rill_plan_subtask_count(self->plan) &&
                rill_plan_subtask(self->plan, id)->index ==
                    rill_plan_subtask(self->plan, head)->index &&
                strlen(line + used) < sizeof file.name) {
                snprintf(file.name, sizeof file.name, "%s", line + used);
                file.size = size;
                file.checksum = checksum;
                rill_checkpoint_coordinator_set_file(self->checkpoints, id, &file);
            } else
                good = false;
            zstr_free(&line);
        }
        if (good) {
            ack = (rill_checkpoint_ack_t){.checkpoint = acked,
                                          .alignment_ns = fields[0],
                                          .sync_ns = fields[1],
                                          .bytes = fields[2],
                                          .acked_at_ms = fields[3]};
            s_ack_task(self, g, head, checkpoint, &ack);
        }
    }
    for (int k = 0; k < 4; k++)
        zstr_free(&text[k]);
}

//  Appends to self->error the subtasks process rank ran, so a lost or failed process's
//  message says what went with it.
static void s_name_subtasks_of(rill_job_t *self, int rank)
{
    size_t used = strlen(self->error);
    const char *lead = "; it ran ";
    for (int id = 0; id < rill_plan_subtask_count(self->plan) && used + 64 < sizeof self->error;
         id++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(self->plan, id);
        if (subtask->process != rank)
            continue;
        const rill_plan_operator_t *op = rill_plan_operator(self->plan, subtask->op);
        used += (size_t)snprintf(self->error + used, sizeof self->error - used, "%s'%s' %d/%d",
                                 lead, op->name, subtask->index + 1, op->parallelism);
        lead = ", ";
    }
}

//  Waits for DONE from every subtask, forwarding cancels and ticking the monitor. In a
//  cluster also for the other processes: the coordinator until every worker is done, a
//  worker until the coordinator says the job is over.
static int s_watch(rill_job_t *self, atomic_int *cancel)
{
    zmq_pollitem_t *items = calloc((size_t)self->count + 1, sizeof(zmq_pollitem_t));
    bool *done = calloc((size_t)self->count + 1, sizeof(bool));
    int rc = -1, finished = 0;
    bool cancel_sent = false, cluster_done = !self->cluster, reported = false;
    bool coordinator = !self->cluster || rill_cluster_rank(self->cluster) == 0;
    int64_t savepoint_id = 0; //  the stop-with-savepoint in flight
    uint64_t start = rill_clock_ns(), next_tick = start;
    if (!items || !done) {
        snprintf(self->error, sizeof self->error, "job: out of memory");
        goto cleanup;
    }
    self->done = done;
    self->relayed = 0;
    for (int g = 0; g < self->all_tasks; g++)
        self->all_done[g] = false;
    if (self->early_checkpoint > 0)
        s_relay_checkpoint(self, self->early_checkpoint);
    self->early_checkpoint = 0;
    for (int i = 0; i < self->count; i++)
        items[i] = (zmq_pollitem_t){zsock_resolve(self->actors[i].pipe), 0, ZMQ_POLLIN, 0};
    if (self->cluster)
        items[self->count] =
            (zmq_pollitem_t){rill_cluster_handle(self->cluster), 0, ZMQ_POLLIN, 0};
    while (finished < self->count || !cluster_done) {
        int level = cancel ? atomic_load(cancel) : 0;
        if (zsys_interrupted && level < 1)
            level = 1;
        if (self->cluster && coordinator && level == 1 && !cancel_sent)
            rill_cluster_broadcast(self->cluster, "STOP", NULL);
        if (level >= 2) {
            self->cancelled = true;
            snprintf(self->error, sizeof self->error, "job cancelled before it drained");
            goto cleanup;
        }
        if (level == 1 && !cancel_sent) {
            self->cancelled = true;
            cancel_sent = true;
            //  Stop with a savepoint: the sources take it and then end their streams, so the
            //  job drains with nothing after the savepoint. When it cannot start now (a
            //  checkpoint in flight), the job just drains.
            //  A periodic checkpoint in flight gives way: its barriers are overtaken by the
            //  savepoint's, which supersede it wherever it is still aligning.
            int64_t pending =
                self->checkpoints ? rill_checkpoint_coordinator_pending(self->checkpoints) : 0;
            if (self->savepoint_on_cancel && pending)
                rill_checkpoint_coordinator_fail(self->checkpoints, pending,
                                                 "superseded by the savepoint");
            int64_t savepoint =
                self->savepoint_on_cancel
                    ? rill_checkpoint_coordinator_trigger(self->checkpoints,
                                                          rill_clock_wall_ms(), self->all_tasks,
                                                          true)
                    : 0;
            if (savepoint) {
                s_send_checkpoint(self, done, savepoint, "SAVEPOINT");
                savepoint_id = savepoint;
            }
            else
                for (int i = 0; i < self->count; i++)
                    if (!done[i] && s_is_source(self, i))
                        zstr_send(self->actors[i].pipe, "CANCEL");
        }
        //  Only the coordinator triggers, times out and completes checkpoints; a worker's
        //  checkpoint coordinator only writes its tasks' state and restores it.
        if (self->checkpoints && coordinator) {
            int64_t now_ms = rill_clock_wall_ms();
            rill_checkpoint_coordinator_expire(self->checkpoints, now_ms);
            //  A savepoint that failed (declined, timed out): the sources, holding after its
            //  barrier, end their streams instead and the job drains.
            if (savepoint_id && !rill_checkpoint_coordinator_pending(self->checkpoints) &&
                !rill_checkpoint_coordinator_summary(self->checkpoints)->savepoint_done) {
                savepoint_id = 0;
                for (int i = 0; i < self->count; i++)
                    if (!done[i] && s_is_source(self, i))
                        zstr_send(self->actors[i].pipe, "CANCEL");
            }
        }
        if (self->checkpoints && coordinator && !cancel_sent) {
            int64_t now_ms = rill_clock_wall_ms();
            int64_t id = s_any_source_running(self, done)
                             ? rill_checkpoint_coordinator_trigger(self->checkpoints, now_ms,
                                                                   self->all_tasks, false)
                             : 0;
            if (id)
                s_send_checkpoint(self, done, id, "CHECKPOINT");
        }
        uint64_t now = rill_clock_ns();
        if (self->metrics)
            rill_metrics_set_duration_ns(self->metrics, now - start);
        if (self->metrics && self->checkpoints)
            rill_metrics_set_checkpoints(self->metrics,
                                         rill_checkpoint_coordinator_summary(self->checkpoints));
        if (self->tick && now >= next_tick) {
            self->tick(self->tick_ctx, self->metrics);
            next_tick = now + (uint64_t)self->tick_interval_ms * 1000000ull;
        }
        if (zmq_poll(items, self->count + (self->cluster != NULL), S_WATCH_INTERVAL_MS) < 0 &&
            zmq_errno() != EINTR) {
            snprintf(self->error, sizeof self->error, "job: %s", zmq_strerror(zmq_errno()));
            goto cleanup;
        }
        if (self->cluster) {
            rill_cluster_event_t event = rill_cluster_service(self->cluster, self->metrics);
            if (event == RILL_CLUSTER_FAILED) {
                snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
                int rank = rill_cluster_failed_rank(self->cluster);
                if (coordinator && rank > 0)
                    s_name_subtasks_of(self, rank);
                goto cleanup;
            }
            if (event == RILL_CLUSTER_RESTART) {
                snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
                self->restart_asked = true;
                goto cleanup;
            }
            if (event == RILL_CLUSTER_FINISHED)
                cluster_done = true;
            //  The coordinator was cancelled once: drain, as a local Ctrl-C would.
            if (event == RILL_CLUSTER_STOP && !cancel_sent) {
                cancel_sent = true;
                for (int i = 0; i < self->count; i++)
                    if (!done[i] && s_is_source(self, i))
                        zstr_send(self->actors[i].pipe, "CANCEL");
            }
            if (!coordinator && finished == self->count && !reported) {
                rill_cluster_done(self->cluster, self->metrics);
                reported = true;
            }
        }
        for (int i = 0; i < self->count; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            char message[64];
            if (s_receive(self, i, message, sizeof message) < 0)
                continue;
            long long checkpoint = 0;
            if (streq(message, "DONE") && !done[i]) {
                done[i] = true;
                self->all_done[self->global[i]] = true;
                finished++;
                //  A task that finished before the checkpoint's barrier reached it saves its
                //  final state when asked (a repeat ack is ignored).
                int64_t pending = !self->checkpoints ? 0
                                  : coordinator
                                      ? rill_checkpoint_coordinator_pending(self->checkpoints)
                                      : self->relayed;
                bool acked = !pending ? true
                             : coordinator ? rill_checkpoint_coordinator_acked(self->checkpoints,
                                                                               self->global[i])
                                           : self->relay_acked[i];
                if (pending && !acked)
                    zstr_sendf(self->actors[i].pipe, "CHECKPOINT %lld", (long long)pending);
                if (!coordinator) {
                    char g[16];
                    snprintf(g, sizeof g, "%d", self->global[i]);
                    zmsg_t *note = zmsg_new();
                    zmsg_addstr(note, "TASKDONE");
                    zmsg_addstr(note, g);
                    rill_cluster_send(self->cluster, &note);
                }
            } else if (sscanf(message, "ACK %lld", &checkpoint) == 1 && self->checkpoints) {
                s_on_ack(self, i, checkpoint);
            } else if (sscanf(message, "DECLINE %lld", &checkpoint) == 1 && self->checkpoints &&
                       !coordinator) {
                zmsg_t *note = zmsg_new();
                zmsg_addstr(note, "DECLINE");
                zmsg_addstrf(note, "%lld", checkpoint);
                zmsg_addstrf(note, "%d", self->args[i].subtask);
                rill_cluster_send(self->cluster, &note);
            } else if (sscanf(message, "DECLINE %lld", &checkpoint) == 1 && self->checkpoints) {
                char why[96];
                snprintf(why, sizeof why,
                         "declined by task #%d (its barrier alignment passed the bound, or its "
                         "state could not be written)",
                         self->args[i].subtask);
                rill_checkpoint_coordinator_fail(self->checkpoints, checkpoint, why);
            } else if (streq(message, "FAILED")) {
                RILL_TSAN_ACQUIRE(self->args[i].error); //  written before FAILED was sent
                snprintf(self->error, sizeof self->error, "%s", self->args[i].error);
                goto cleanup;
            } else if (!streq(message, "DONE")) {
                //  An actor says nothing else; anything else (zactor's signal as an actor
                //  function returns) means its thread ended without reporting: it died.
                const rill_plan_subtask_t *head = rill_plan_subtask(self->plan, self->args[i].subtask);
                const rill_plan_operator_t *op = rill_plan_operator(self->plan, head->op);
                snprintf(self->error, sizeof self->error,
                         "operator '%s' subtask %d/%d: its task's thread ended unexpectedly",
                         op->name, head->index + 1, op->parallelism);
                goto cleanup;
            }
        }
    }
    if (self->metrics)
        rill_metrics_set_duration_ns(self->metrics, rill_clock_ns() - start);
    if (self->metrics && self->checkpoints)
        rill_metrics_set_checkpoints(self->metrics,
                                     rill_checkpoint_coordinator_summary(self->checkpoints));
    if (self->tick)
        self->tick(self->tick_ctx, self->metrics);
    if (self->cluster && coordinator)
        rill_cluster_broadcast(self->cluster, "BYE", NULL);
    rc = 0;
cleanup:
    self->done = NULL;
    free(items);
    free(done);
    return rc;
}

//  Open descriptors now, or 0 when /proc is not there to say.
static int s_open_descriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return 0;
    int count = 0;
    while (readdir(dir))
        count++;
    closedir(dir);
    return count > 3 ? count - 3 : 0; //  ".", ".." and the directory's own descriptor
}

//  Threads of this process now (from /proc), or 0 when /proc is not there to say.
static int s_process_threads(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return 0;
    char line[256];
    int count = 0;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "Threads: %d", &count) == 1)
            break;
    fclose(status);
    return count;
}

//  Checks what the plan needs against the process's limits before anything starts, raising
//  the soft descriptor limit up to the hard one when that is enough. czmq cannot create a
//  socket beyond its limit without aborting, so this must hold before the first actor.
static int s_reserve_limits(rill_job_t *self)
{
    rill_plan_needs_t needs;
    rill_plan_needs(self->plan, self->args[0].batch_size, &needs);
    int max_sockets = zmq_ctx_get(zsys_init(), ZMQ_MAX_SOCKETS);
    if (max_sockets > 0 && needs.sockets > max_sockets) {
        snprintf(self->error, sizeof self->error,
                 "job: needs %d ZeroMQ sockets for %d tasks, more than the limit of %d "
                 "(lower the parallelism)",
                 needs.sockets, needs.threads, max_sockets);
        return -1;
    }
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        rlim_t wanted = (rlim_t)needs.descriptors + (rlim_t)s_open_descriptors();
        if (files.rlim_cur != RLIM_INFINITY && wanted > files.rlim_cur) {
            if (files.rlim_max != RLIM_INFINITY && wanted > files.rlim_max) {
                snprintf(self->error, sizeof self->error,
                         "job: needs %llu file descriptors (%d for its sockets and files, the "
                         "rest open already), more than the hard limit of %llu (ulimit -Hn; "
                         "lower the parallelism)",
                         (unsigned long long)wanted, needs.descriptors,
                         (unsigned long long)files.rlim_max);
                return -1;
            }
            files.rlim_cur = wanted;
            if (setrlimit(RLIMIT_NOFILE, &files)) {
                snprintf(self->error, sizeof self->error,
                         "job: needs %llu file descriptors, more than the limit of %llu, which "
                         "cannot be raised: %s",
                         (unsigned long long)wanted, (unsigned long long)files.rlim_cur,
                         strerror(errno));
                return -1;
            }
        }
    }
    //  zactor cannot report a thread it failed to create (its constructor would wait for the
    //  ready signal forever), so the threads must be there to be had before the first one.
    struct rlimit threads;
    if (getrlimit(RLIMIT_NPROC, &threads) == 0 && threads.rlim_cur != RLIM_INFINITY &&
        (rlim_t)needs.threads + (rlim_t)s_process_threads() > threads.rlim_cur) {
        snprintf(self->error, sizeof self->error,
                 "job: needs %d threads (one per task) beside the %d running, more than the "
                 "limit of %llu (ulimit -u; lower the parallelism)",
                 needs.threads, s_process_threads(), (unsigned long long)threads.rlim_cur);
        return -1;
    }
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    uint64_t memory = pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : 0;
    if (memory && needs.batch_bytes > memory) {
        snprintf(self->error, sizeof self->error,
                 "job: needs %llu MiB for one batch on each of its %d channels, more than the "
                 "%llu MiB of memory this machine has (lower the parallelism or the batch size)",
                 (unsigned long long)(needs.batch_bytes >> 20), needs.channels,
                 (unsigned long long)(memory >> 20));
        return -1;
    }
    return 0;
}

//  One attempt: start every actor, bind, connect, start, watch, stop them all.
static int s_run_attempt(rill_job_t *self, atomic_int *cancel)
{
    int rc = -1;
    for (int i = 0; i < self->count; i++)
        if (s_start_actor(self, &self->actors[i], i))
            goto cleanup;
    if (s_phase(self, "BIND") || (self->cluster && s_exchange_endpoints(self, cancel)) ||
        s_phase(self, "CONNECT"))
        goto cleanup;
    if (self->cluster && rill_cluster_ready(self->cluster, cancel)) {
        snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
        goto cleanup;
    }
    for (int i = 0; i < self->count; i++)
        zstr_send(self->actors[i].pipe, "START");
    rc = s_watch(self, cancel);
cleanup:
    //  A worker's failure goes to the coordinator, which restarts every process or stops them
    //  (rill_job_run); a restart the coordinator asked for needs no word back.
    if (rc && self->cluster && rill_cluster_restart_asked(self->cluster))
        self->restart_asked = true;
    if (rc && self->cluster && rill_cluster_rank(self->cluster) > 0 && !self->restart_asked)
        rill_cluster_fail(self->cluster, self->error, self->metrics);
    s_stop_actors(self);
    return rc;
}

//  Sleeps ms milliseconds unless a cancel comes. False when cancelled.
static bool s_wait_restart(int ms, atomic_int *cancel)
{
    for (int slept = 0; slept < ms; slept += 10) {
        if (zsys_interrupted || (cancel && atomic_load(cancel)))
            return false;
        zclock_sleep(ms - slept < 10 ? ms - slept : 10);
    }
    return !(zsys_interrupted || (cancel && atomic_load(cancel)));
}

//  In a cluster, after attempt `attempt` failed: whether the job goes on. The coordinator
//  restarts every process (from the latest completed checkpoint) or stops them all; a worker
//  waits to hear which. 1 to go on with *next (and *restore_id, the checkpoint to restore),
//  0 to stop.
static int s_cluster_next(rill_job_t *self, bool again, int attempt, int *next,
                          int64_t *restore_id, atomic_int *cancel)
{
    if (rill_cluster_rank(self->cluster) == 0) {
        if (!again) {
            rill_cluster_broadcast(self->cluster, "ABORT", self->error);
            return 0;
        }
        if (self->metrics)
            rill_metrics_set_checkpoints(self->metrics,
                                         rill_checkpoint_coordinator_summary(self->checkpoints));
        *next = attempt + 1;
        *restore_id = rill_checkpoint_coordinator_summary(self->checkpoints)->latest;
        if (rill_cluster_restart(self->cluster, *next, *restore_id, self->error, cancel)) {
            snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
            rill_cluster_broadcast(self->cluster, "ABORT", self->error);
            return 0;
        }
        return 1;
    }
    //  A worker without restarts configured stops (the coordinator has the same settings).
    if (!again)
        return 0;
    self->restart_asked = false;
    self->early_checkpoint = 0; //  the failed attempt's; the next one's comes after ATTEMPT
    if (rill_cluster_await_attempt(self->cluster, next, restore_id, cancel)) {
        snprintf(self->error, sizeof self->error, "%s", rill_cluster_error(self->cluster));
        return 0;
    }
    return 1;
}

int rill_job_run(rill_job_t *self, atomic_int *cancel)
{
    if (s_reserve_limits(self))
        return -1;
    int delay = self->restart_delay_ms;
    int64_t restore_id = 0;
    for (int attempt = 0;;) {
        if (self->cluster) {
            s_take_share(self);
            if (self->checkpoints && attempt > 0 && rill_cluster_rank(self->cluster) > 0 &&
                rill_checkpoint_coordinator_restore_at(self->checkpoints, restore_id, self->error,
                                                       sizeof self->error))
                return -1;
        }
        if (self->checkpoints &&
            rill_checkpoint_coordinator_begin_attempt(self->checkpoints, attempt, self->error,
                                                      sizeof self->error))
            return -1;
        self->attempt = attempt;
        int rc = s_run_attempt(self, cancel);
        bool again =
            rc != 0 && !self->cancelled && self->checkpoints && attempt < self->restart_attempts;
        //  Restart from the latest completed checkpoint (Flink's fixed-delay strategy, or
        //  exponential backoff): every subtask again, restored, sources rewound.
        if (again)
            rill_checkpoint_coordinator_count_restart(self->checkpoints);
        if (self->metrics && self->checkpoints)
            rill_metrics_set_checkpoints(self->metrics,
                                         rill_checkpoint_coordinator_summary(self->checkpoints));
        if (self->cluster && rc != 0) {
            if (again && rill_cluster_rank(self->cluster) == 0 &&
                !s_wait_restart(delay, cancel))
                again = false;
            int next = attempt + 1;
            if (!s_cluster_next(self, again, attempt, &next, &restore_id, cancel))
                return rc;
            attempt = next;
        } else {
            if (!again)
                return rc;
            if (!s_wait_restart(delay, cancel))
                return rc;
            attempt++;
        }
        if (self->exponential)
            delay = delay * 2 > 60000 ? 60000 : delay * 2;
        self->error[0] = 0;
    }
}
