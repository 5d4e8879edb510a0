/*  rill_checkpoint_coordinator.h: the job's side of checkpoints (Flink's
    CheckpointCoordinator), run in the coordinator's thread. It decides when checkpoint n is
    due, counts the acknowledgements of every task, completes the checkpoint (its metadata
    written last, so only a complete one is ever a restore point) or fails it (declined,
    timed out), and keeps the restore point for the next attempt. It also gives the actors
    what they need (rill_checkpointing.h): where to write state, what to restore from, and
    the fault to inject. The job (rill_job.c) does the messaging; this class does the
    bookkeeping and the storage. */
#ifndef RILL_CHECKPOINT_COORDINATOR_H_INCLUDED
#define RILL_CHECKPOINT_COORDINATOR_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "rill_checkpoint_config.h"
#include "rill_checkpoint_meta.h"
#include "rill_checkpointing.h"
#include "rill_metrics.h"
#include "rill_plan.h"


typedef struct rill_checkpoint_coordinator_t rill_checkpoint_coordinator_t;

//  NULL with error set when the settings or the restore point are unusable (the store cannot
//  be opened, the checkpoint does not fit the plan, the fault to inject names no subtask).
rill_checkpoint_coordinator_t *rill_checkpoint_coordinator_new(const rill_plan_t *plan,
                                                               const rill_checkpoint_config_t *config,
                                                               char *error, size_t error_size);
void rill_checkpoint_coordinator_destroy(rill_checkpoint_coordinator_t **self_p);

//  What the actors get; valid until the coordinator is destroyed.
const rill_checkpointing_t *rill_checkpoint_coordinator_actors(rill_checkpoint_coordinator_t *self);

//  Before attempt `attempt` (0 first) starts: the restore point is the latest completed
//  checkpoint (or the one given, before any completed), and the fault is armed only in the
//  attempt it names. 0, or -1 with error set (the restore point cannot be read).
int rill_checkpoint_coordinator_begin_attempt(rill_checkpoint_coordinator_t *self, int attempt,
                                              char *error, size_t error_size);

//  A worker of a job across processes, before a restarted attempt: restores from checkpoint
//  id of the checkpoint directory, as the coordinator said (0: as the job started). 0, or -1
//  with error set.
int rill_checkpoint_coordinator_restore_at(rill_checkpoint_coordinator_t *self, int64_t id,
                                           char *error, size_t error_size);
//  The checkpoint to trigger now (its id), or 0 when none is due: periodic checkpoints on,
//  the interval passed since the last trigger, none in flight. savepoint asks for one now,
//  written to the savepoint directory.
int64_t rill_checkpoint_coordinator_trigger(rill_checkpoint_coordinator_t *self, int64_t now_ms,
                                            int tasks, bool savepoint);
//  The checkpoint in flight (0: none).
int64_t rill_checkpoint_coordinator_pending(const rill_checkpoint_coordinator_t *self);
//  Whether task (0..tasks-1) has acknowledged the checkpoint in flight.
bool rill_checkpoint_coordinator_acked(const rill_checkpoint_coordinator_t *self, int task);
//  Task `task` (whose chain starts at global subtask `head`) acknowledged `checkpoint` (ack:
//  what it reported). 1 when that completed the
//  checkpoint (written; its id is the restore point now), 0 when more are due or the ack is
//  stale, -1 when completing it failed (error set; the checkpoint is discarded).
int rill_checkpoint_coordinator_ack(rill_checkpoint_coordinator_t *self, int task, int head,
                                    int64_t checkpoint, const rill_checkpoint_ack_t *ack,
                                    char *error, size_t error_size);
//  The state file operator subtask `subtask` wrote for the checkpoint in flight (its name ""
//  until it wrote one), and setting it: across processes, a worker's tasks write their files
//  through the worker's coordinator, which sends them with the task's ack to rank 0's.
const rill_state_file_t *rill_checkpoint_coordinator_file(const rill_checkpoint_coordinator_t *self,
                                                          int subtask);
void rill_checkpoint_coordinator_set_file(rill_checkpoint_coordinator_t *self, int subtask,
                                          const rill_state_file_t *file);
//  The checkpoint in flight failed (declined, timed out, the job failed): discarded.
void rill_checkpoint_coordinator_fail(rill_checkpoint_coordinator_t *self, int64_t checkpoint,
                                      const char *why);
//  Fails the checkpoint in flight if it has outlived the timeout. True when it did.
bool rill_checkpoint_coordinator_expire(rill_checkpoint_coordinator_t *self, int64_t now_ms);

//  What happened so far (for metrics and messages).
const rill_checkpoint_stats_t *rill_checkpoint_coordinator_summary(
    const rill_checkpoint_coordinator_t *self);
void rill_checkpoint_coordinator_count_restart(rill_checkpoint_coordinator_t *self);

#endif
