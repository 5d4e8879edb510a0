/*  rill_checkpoint.h: a completed checkpoint or savepoint read back for a restore. The loader
    finds it (a store directory's newest intact checkpoint, or exactly the folder named),
    verifies every state file against the metadata (size and XXH64) and keeps their bytes in
    memory; the job checks its plan against it and hands each operator its old subtasks'
    state parts, which rill_state_reader_new redistributes to the new subtasks. */
#ifndef RILL_CHECKPOINT_H_INCLUDED
#define RILL_CHECKPOINT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_checkpoint_meta.h"
#include "rill_plan.h"
#include "rill_snapshot.h"

typedef struct rill_checkpoint_t rill_checkpoint_t;

//  Reads a checkpoint. path is either
//    - one checkpoint's folder (holding _metadata: a checkpoint's DIR/chk-<id>, or a
//      savepoint's, as rill_checkpoint_store_location names it): exactly that one, and
//      anything wrong with it is an error; or
//    - a store directory (holding chk-<id> folders): the newest completed checkpoint whose
//      metadata reads and whose every state file has the recorded size and checksum. Each
//      newer folder passed over (not completed, or damaged) adds a line to notes naming it
//      and why; when none is usable, error lists every reason.
//  NULL with a message in error when nothing can be loaded. notes (may be NULL) is always
//  set, empty when nothing was passed over.
rill_checkpoint_t *rill_checkpoint_load(const char *path, char *error, size_t error_size,
                                        char *notes, size_t notes_size);
//  Destroys the checkpoint (and the state bytes it holds) and sets the caller's pointer to NULL.
void rill_checkpoint_destroy(rill_checkpoint_t **self_p);

int64_t rill_checkpoint_id(const rill_checkpoint_t *self);
rill_checkpoint_kind_t rill_checkpoint_kind(const rill_checkpoint_t *self);
const char *rill_checkpoint_job_name(const rill_checkpoint_t *self);
//  The folder it was read from (DIR/chk-<id>).
const char *rill_checkpoint_path(const rill_checkpoint_t *self);
//  All it recorded (times included), owned by the checkpoint.
const rill_checkpoint_meta_t *rill_checkpoint_meta(const rill_checkpoint_t *self);

int rill_checkpoint_operator_count(const rill_checkpoint_t *self);
//  Operator `id` as it was checkpointed (its old parallelism, its precise kind), or NULL when
//  out of range. Owned by the checkpoint.
const rill_checkpoint_operator_t *rill_checkpoint_operator(const rill_checkpoint_t *self, int id);
//  Operator id's state: one part per old subtask, in subtask index order (the operator's
//  parallelism in the checkpoint of them), for rill_state_reader_new. The bytes belong to the
//  checkpoint and live until it is destroyed. NULL when id is out of range.
const rill_state_part_t *rill_checkpoint_state(const rill_checkpoint_t *self, int id);

//  Whether plan can be restored from this checkpoint: the same operators (ids, names, precise
//  kinds). Another parallelism is fine (keyed and split state is redistributed) except for an
//  operator whose state holds RILL_STATE_OPERATOR entries, which only go back to the same
//  subtasks. 0, or -1 with a message naming the operator (and both parallelisms).
int rill_checkpoint_check_plan(const rill_checkpoint_t *self, const rill_plan_t *plan, char *error,
                               size_t error_size);

#endif
