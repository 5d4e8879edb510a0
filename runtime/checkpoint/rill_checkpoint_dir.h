/*  rill_checkpoint_dir.h: the directory backend of the checkpoint store (the layout is in
    rill_checkpoint_store.h). rill_checkpoint_store_new and _new_savepoint use it; nothing else
    needs to. */
#ifndef RILL_CHECKPOINT_DIR_H_INCLUDED
#define RILL_CHECKPOINT_DIR_H_INCLUDED

#include "rill_checkpoint_store.h"

extern const rill_checkpoint_backend_t rill_checkpoint_dir_backend;

//  The backend's state for directory dir (made, with its parents, when missing), keeping the
//  `kept` newest completed checkpoints (0: keep everything, as a savepoint store does). NULL
//  with a message when dir is not a writable directory or cannot be made.
void *rill_checkpoint_dir_new(const char *dir, int kept, char *error, size_t error_size);

#endif
