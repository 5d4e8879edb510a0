/*  rill_checkpoint_store.h: where checkpoints and savepoints are written. Subtask threads
    write their state files into it while the coordinator waits for their acknowledgements;
    the coordinator then completes the checkpoint (its metadata, written last) or discards
    it. The loader (rill_checkpoint.h) reads what it wrote.

    A store is a small interface (rill_checkpoint_backend_t) so that another backend can come
    later; the directory backend is the one there is. Its layout:

        DIR/chk-<id>/op<operator>-<index>.state   one file per operator subtask: the bytes
                                                  of its snapshot (rill_snapshot.h)
        DIR/chk-<id>/_metadata                    JSON (rill_checkpoint_meta.h), written last:
                                                  the folder is a completed checkpoint only
                                                  once it is there

    Every file is written atomically and durably (a temporary file in the folder, write,
    fsync, rename, fsync of the folder), so a crash leaves a file whole or absent. A checkpoint
    store keeps the `kept` newest completed checkpoints and removes older ones, and the folders
    of failed checkpoints older than the one just completed; a savepoint store writes the same
    layout with kind "savepoint" and never removes anything. */
#ifndef RILL_CHECKPOINT_STORE_H_INCLUDED
#define RILL_CHECKPOINT_STORE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_checkpoint_meta.h"

//  What a backend implements. state is the backend's own object. write_state is called from
//  many subtask threads at once and must not touch shared mutable state; the others are
//  called by the coordinator, one at a time. Each reports into the caller's error buffer and
//  returns as the rill_checkpoint_store_ function of the same name.
typedef struct {
    const char *name; //  "directory"
    int (*write_state)(void *state, int64_t checkpoint, int operator_id, int subtask_index,
                       const void *data, size_t size, rill_state_file_t *info, char *error,
                       size_t error_size);
    int (*complete)(void *state, rill_checkpoint_kind_t kind, const rill_checkpoint_meta_t *meta,
                    char *error, size_t error_size);
    int (*discard)(void *state, int64_t checkpoint, char *error, size_t error_size);
    //  Where checkpoint's files go (a folder path for the directory backend), for messages.
    int (*location)(void *state, int64_t checkpoint, char *out, size_t out_size);
    int64_t (*last_id)(void *state, char *error, size_t error_size);
    void (*destroy)(void **state_p);
} rill_checkpoint_backend_t;

typedef struct rill_checkpoint_store_t rill_checkpoint_store_t;

//  A checkpoint store in directory dir (created, with its parents, when missing) keeping the
//  `kept` (>= 1) newest completed checkpoints. NULL with a message when dir cannot be used
//  (not a directory, not writable) or kept is below 1.
rill_checkpoint_store_t *rill_checkpoint_store_new(const char *dir, int kept, char *error,
                                                   size_t error_size);
//  A savepoint store in directory dir: the same layout, kind "savepoint", never pruned.
rill_checkpoint_store_t *rill_checkpoint_store_new_savepoint(const char *dir, char *error,
                                                             size_t error_size);
//  A store over another backend, taking ownership of state (destroyed with the store, or at
//  once when out of memory).
rill_checkpoint_store_t *rill_checkpoint_store_new_backend(const rill_checkpoint_backend_t *backend,
                                                           void *state,
                                                           rill_checkpoint_kind_t kind);
//  Destroys the store (never what it wrote) and sets the caller's pointer to NULL.
void rill_checkpoint_store_destroy(rill_checkpoint_store_t **self_p);

rill_checkpoint_kind_t rill_checkpoint_store_kind(const rill_checkpoint_store_t *self);

//  Writes subtask subtask_index of operator operator_id's state for checkpoint (its file in
//  the checkpoint's folder, made if missing) and fills info (file name, size, XXH64) for the
//  coordinator's rill_checkpoint_meta_set_state. Safe to call from many threads at once.
//  0, or -1 with a message naming checkpoint, operator and subtask in error.
int rill_checkpoint_store_write_state(rill_checkpoint_store_t *self, int64_t checkpoint,
                                      int operator_id, int subtask_index, const void *data,
                                      size_t size, rill_state_file_t *info, char *error,
                                      size_t error_size);

//  Completes checkpoint meta's id: checks every subtask reported its file and that each is
//  there with its size, writes _metadata last (atomically), then prunes (see above). 0; 1
//  when the checkpoint completed but pruning failed (why in error: worth a warning, not a
//  failure); -1 with a message when the checkpoint is not complete.
int rill_checkpoint_store_complete(rill_checkpoint_store_t *self,
                                   const rill_checkpoint_meta_t *meta, char *error,
                                   size_t error_size);

//  Removes a failed checkpoint's folder (nothing there is fine); refuses a completed one.
//  0, or -1 with a message.
int rill_checkpoint_store_discard(rill_checkpoint_store_t *self, int64_t checkpoint, char *error,
                                  size_t error_size);

//  The highest checkpoint id the store holds anything of (completed or not), -1 when none,
//  or -2 with a message. A job numbers its checkpoints from above it (and above the id it was
//  restored from): the loader takes the highest id, so a new checkpoint numbered below an old
//  one would never be the one restored.
int64_t rill_checkpoint_store_last_id(rill_checkpoint_store_t *self, char *error,
                                      size_t error_size);

//  Where checkpoint's files go (DIR/chk-<id> for a directory store), for messages such as
//  "savepoint written to ...". 0, or -1 when it does not fit.
int rill_checkpoint_store_location(rill_checkpoint_store_t *self, int64_t checkpoint, char *out,
                                   size_t out_size);

#endif
