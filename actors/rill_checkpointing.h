/*  rill_checkpointing.h: what a subtask actor needs from the job to take part in checkpoints,
    and what it reports back. The coordinator (runtime/job) owns the storage and the restore
    point; the actor sees them only through these callbacks, so it knows nothing of files.
    One struct per job, shared read-only by every actor; the callbacks must be thread-safe
    (each actor calls them from its own thread, for its own subtasks only). */
#ifndef RILL_CHECKPOINTING_H_INCLUDED
#define RILL_CHECKPOINTING_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_snapshot.h"

typedef struct {
    //  Saves operator subtask `subtask`'s (global id) state for `checkpoint`. 0, or -1 with
    //  error filled in.
    int (*write_state)(void *ctx, int64_t checkpoint, int subtask, const void *data, size_t size,
                       char *error, size_t error_size);
    //  The state operator subtask `subtask` restores from, as a reader the caller destroys;
    //  NULL with error empty when the job is not being restored, NULL with error set when
    //  the state cannot be read.
    rill_state_reader_t *(*restore)(void *ctx, int subtask, char *error, size_t error_size);
    void *ctx;
    //  Checkpoints will be taken (periodically, or a savepoint): sinks stage their output
    //  for a two-phase commit (rill_operator_t.checkpointing).
    bool taking;
    //  The most bytes a subtask holds back while aligning a barrier (0: the default).
    size_t alignment_bound;
    //  Fault injection for tests (README: Fault tolerance): operator subtask `fail_subtask`
    //  (global id; -1: none) fails as it is handed its `fail_after`-th record.
    int fail_subtask;
    uint64_t fail_after;
} rill_checkpointing_t;

//  What a task reports with "ACK <id>" (written before the message is sent; the coordinator
//  reads it after receiving it). One checkpoint is in flight at a time, so one slot per task.
typedef struct {
    int64_t checkpoint;
    uint64_t alignment_ns; //  from the first barrier to the last (0 for a source)
    uint64_t sync_ns;      //  taking and writing the snapshot
    uint64_t bytes;        //  state bytes written, every operator of the task
    uint64_t acked_at_ms;  //  wall clock, when the task acknowledged
} rill_checkpoint_ack_t;

#endif
