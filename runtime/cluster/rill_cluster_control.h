/*  rill_cluster_control.h: what the job (runtime/job) does with a cluster while it runs its
    share of a plan: exchange the tcp endpoints, pass the start barrier, heartbeat, report and
    hear the end. The messages (multipart, the first frame a command):
        worker -> coordinator: HELLO rank host pid advertise | BOUND digest endpoints |
                               READY | BEAT counters | DONE counters | FAILED why counters
        coordinator -> worker: JOB rank size advertise plugin argv... | ENDPOINTS all |
                               GO | BEAT | STOP | ABORT why | BYE
    Both sides heartbeat every interval; a side silent for 6 intervals is lost. */
#ifndef RILL_CLUSTER_CONTROL_H_INCLUDED
#define RILL_CLUSTER_CONTROL_H_INCLUDED

#include <stdatomic.h>
#include <czmq.h>
#include <stdint.h>

#include "rill_cluster.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_security.h"

//  The CURVE keys of the job's tcp sockets (NULL: insecure).
rill_security_t *rill_cluster_security(rill_cluster_t *self);
//  Coordinator: writes every process's host and pid into plan (for the diagram and outputs).
void rill_cluster_describe(const rill_cluster_t *self, rill_plan_t *plan);

//  The endpoint exchange, between BIND and CONNECT: mine holds this process's bound tcp
//  inputs as lines "EDGE TO_SUBTASK ENDPOINT\n"; *all gets every process's (a new string the
//  caller frees). digest is the plan's: a process that planned another job is refused. 0, or
//  -1 with rill_cluster_error set (a peer failed, was lost, or differs; cancelled).
int rill_cluster_exchange(rill_cluster_t *self, uint64_t digest, const char *mine, char **all,
                          atomic_int *cancel);
//  The start barrier: every process has connected (each tcp channel's handshake is through).
//  0, or -1 with rill_cluster_error set.
int rill_cluster_ready(rill_cluster_t *self, atomic_int *cancel);

//  While the job runs. The socket to poll for control messages.
void *rill_cluster_handle(rill_cluster_t *self);
typedef enum {
    RILL_CLUSTER_NOTHING = 0,
    RILL_CLUSTER_FINISHED, //  coordinator: every worker is done; worker: the coordinator said BYE
    RILL_CLUSTER_STOP,     //  worker: drain (the coordinator was cancelled once)
    RILL_CLUSTER_FAILED,   //  a peer failed, was lost or aborted: rill_cluster_error says why
    RILL_CLUSTER_RESTART,  //  worker: the coordinator restarts the job (rill_cluster_error: why)
} rill_cluster_event_t;
//  Takes the waiting control messages (a worker's counters go into metrics) and sends a
//  heartbeat when one is due (a worker's carries its counters), then checks that every peer
//  was heard from lately. Returns the most important event seen.
rill_cluster_event_t rill_cluster_service(rill_cluster_t *self, rill_metrics_t *metrics);
//  The rank lost or failed in the last RILL_CLUSTER_FAILED (-1: none, or the coordinator).
int rill_cluster_failed_rank(const rill_cluster_t *self);
//  Worker: every local task has finished (DONE) or one failed (FAILED why); sends the final
//  counters with it.
void rill_cluster_done(rill_cluster_t *self, const rill_metrics_t *metrics);
void rill_cluster_fail(rill_cluster_t *self, const char *why, const rill_metrics_t *metrics);
//  Coordinator: tells every worker to drain (STOP), to stop now (ABORT why), or that the job is
//  over (BYE); or sends any other command with one argument (the job's own messages).
void rill_cluster_broadcast(rill_cluster_t *self, const char *command, const char *why);

//  Restarts across processes (checkpoints on, restart attempts left). Whether this process
//  runs the tasks placed on rank: its own, and at the coordinator those of lost workers,
//  which it adopts when it restarts the job.
bool rill_cluster_hosts(const rill_cluster_t *self, int rank);
//  Coordinator, after an attempt failed: adopts the lost workers' ranks, asks every other
//  worker to stop and waits until each has, then starts attempt `attempt` everywhere,
//  restoring from checkpoint restore_id (0: as the job started). 0, or -1 with
//  rill_cluster_error set.
int rill_cluster_restart(rill_cluster_t *self, int attempt, int64_t restore_id, const char *why,
                         atomic_int *cancel);
//  Worker: whether the coordinator asked for a restart (its attempt then ends without
//  reporting a failure of its own).
bool rill_cluster_restart_asked(const rill_cluster_t *self);
//  Worker, after its attempt failed: waits for the coordinator's restart (ABORT: the job is
//  over, -1), says it stopped, and waits for the next attempt: its number and the checkpoint
//  it restores from. 0, or -1 with rill_cluster_error set.
int rill_cluster_await_attempt(rill_cluster_t *self, int *attempt, int64_t *restore_id,
                               atomic_int *cancel);

//  The job's own messages (checkpoints across processes): a command the control plane does not
//  know is handed to fn with the rank it came from (0 at a worker) and the frames after the
//  command; fn must not keep msg. Called from rill_cluster_service.
typedef void(rill_cluster_message_fn)(void *ctx, int rank, const char *command, zmsg_t *msg);
void rill_cluster_on_message(rill_cluster_t *self, rill_cluster_message_fn *fn, void *ctx);
//  Worker: sends msg (its first frame the command) to the coordinator. Takes msg.
void rill_cluster_send(rill_cluster_t *self, zmsg_t **msg);

#endif
