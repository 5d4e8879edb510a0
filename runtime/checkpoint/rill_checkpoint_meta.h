/*  rill_checkpoint_meta.h: what a completed checkpoint says about itself, written last into
    its _metadata file: format version, kind (checkpoint or savepoint), id, job name, trigger
    and completion times, the max parallelism its key groups were cut for, the operators (id,
    name, kind, parallelism) and, per operator subtask, its state file (name, size, XXH64).
    The coordinator makes one from the plan when it triggers a checkpoint, sets each subtask's
    file as the acknowledgements come, and hands it to rill_checkpoint_store_complete; the
    loader (rill_checkpoint.c) reads it back. */
#ifndef RILL_CHECKPOINT_META_H_INCLUDED
#define RILL_CHECKPOINT_META_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_plan.h"

//  The _metadata format this code writes and reads ("format" in the JSON).
#define RILL_CHECKPOINT_FORMAT 1

typedef enum {
    RILL_CHECKPOINT_KIND_CHECKPOINT = 0, //  periodic, pruned beyond the kept newest
    RILL_CHECKPOINT_KIND_SAVEPOINT,      //  asked for by the user, never pruned
} rill_checkpoint_kind_t;

//  "checkpoint", "savepoint"; and back (-1 for an unknown name).
const char *rill_checkpoint_kind_name(rill_checkpoint_kind_t kind);
int rill_checkpoint_kind_from_name(const char *name);

//  The precise operator kind as the plan JSON's "op_kind" names it ("source_file", "map",
//  "sink_collect"...; rill_op_kind_name gives the coarse "kind"), or NULL for an unknown
//  kind; and back (-1 for an unknown name). A checkpoint records it so that a source of
//  another kind cannot take a file source's state.
const char *rill_checkpoint_op_kind_name(rill_op_kind_t kind);
int rill_checkpoint_op_kind_from_name(const char *name);

//  One operator subtask's state file, as the store wrote it. Plain data with the name inside,
//  so a subtask can report it to the coordinator by copying the struct.
#define RILL_STATE_FILE_NAME_MAX 64
typedef struct {
    char name[RILL_STATE_FILE_NAME_MAX]; //  relative to the checkpoint's folder; "" = none yet
    uint64_t size;                       //  bytes
    uint64_t checksum;                   //  XXH64 of the bytes, seed 0
} rill_state_file_t;

//  One operator as the checkpoint recorded it.
typedef struct {
    int id;
    const char *name;
    rill_op_kind_t kind;
    const char *kind_name; //  coarse, as rill_plan_operator_t's: "source", "map", "sink"...
    const char *op_kind;   //  precise, rill_checkpoint_op_kind_name
    int parallelism;
    const rill_state_file_t *files; //  parallelism entries, by subtask index
} rill_checkpoint_operator_t;

typedef struct rill_checkpoint_meta_t rill_checkpoint_meta_t;

//  Metadata for checkpoint `checkpoint` (>= 0) of plan, triggered at trigger_time (ms since
//  the epoch): the plan's job name and operators, no state file set yet. NULL when out of
//  memory. The plan is not kept.
rill_checkpoint_meta_t *rill_checkpoint_meta_new(const rill_plan_t *plan, int64_t checkpoint,
                                                 int64_t trigger_time);
//  Destroys the metadata and sets the caller's pointer to NULL.
void rill_checkpoint_meta_destroy(rill_checkpoint_meta_t **self_p);

//  Records the state file subtask subtask_index of operator operator_id wrote (what
//  rill_checkpoint_store_write_state filled in); a second call for one subtask replaces the
//  first. Ids out of range are a programmer error. Not thread-safe: the coordinator calls it.
void rill_checkpoint_meta_set_state(rill_checkpoint_meta_t *self, int operator_id,
                                    int subtask_index, const rill_state_file_t *file);
//  How many operator subtasks have no state file yet (0: ready to complete).
int rill_checkpoint_meta_missing(const rill_checkpoint_meta_t *self);

int64_t rill_checkpoint_meta_id(const rill_checkpoint_meta_t *self);
//  Kind and completion time are what a read _metadata says; a new one has
//  RILL_CHECKPOINT_KIND_CHECKPOINT and 0 (the store decides both when it writes).
rill_checkpoint_kind_t rill_checkpoint_meta_kind(const rill_checkpoint_meta_t *self);
const char *rill_checkpoint_meta_job_name(const rill_checkpoint_meta_t *self);
int64_t rill_checkpoint_meta_trigger_time(const rill_checkpoint_meta_t *self);
int64_t rill_checkpoint_meta_completion_time(const rill_checkpoint_meta_t *self);
int rill_checkpoint_meta_operator_count(const rill_checkpoint_meta_t *self);
//  Operator `id` (0 .. count - 1), owned by the metadata.
const rill_checkpoint_operator_t *rill_checkpoint_meta_operator(const rill_checkpoint_meta_t *self,
                                                                int id);

//  The _metadata document, written as kind and completed at completion_time (ms since the
//  epoch). A new string the caller frees, or NULL when out of memory.
char *rill_checkpoint_meta_to_json(const rill_checkpoint_meta_t *self, rill_checkpoint_kind_t kind,
                                   int64_t completion_time);
//  Reads a _metadata document strictly: every member present and of its type, ids in order,
//  one state file per subtask with a plain name (no '/', no leading '.'), the same max
//  parallelism as this build. NULL with a message ("checkpoint metadata: ...") otherwise.
rill_checkpoint_meta_t *rill_checkpoint_meta_from_json(const char *text, char *error,
                                                       size_t error_size);

#endif
