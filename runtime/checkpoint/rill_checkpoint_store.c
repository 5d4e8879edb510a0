/*  rill_checkpoint_store.c: the store's face (see the header): a backend and its state behind
    one type-tagged object, since the coordinator hands it to every subtask thread. */
#include "rill_checkpoint_store.h"
#include "rill_checkpoint_dir.h"
#include "rill_checkpoint_files.h"

#include <assert.h>
#include <stdlib.h>

#define S_TAG 0x52434b53 //  "RCKS"

struct rill_checkpoint_store_t {
    uint32_t tag;
    const rill_checkpoint_backend_t *backend;
    void *state;
    rill_checkpoint_kind_t kind;
};

rill_checkpoint_store_t *rill_checkpoint_store_new_backend(const rill_checkpoint_backend_t *backend,
                                                           void *state, rill_checkpoint_kind_t kind)
{
    assert(backend && backend->write_state && backend->complete && backend->discard &&
           backend->location && backend->last_id && backend->destroy);
    rill_checkpoint_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        backend->destroy(&state);
        return NULL;
    }
    *self = (rill_checkpoint_store_t){S_TAG, backend, state, kind};
    return self;
}

static rill_checkpoint_store_t *s_new_dir(const char *dir, int kept, rill_checkpoint_kind_t kind,
                                          char *error, size_t error_size)
{
    void *state = rill_checkpoint_dir_new(dir, kept, error, error_size);
    if (!state)
        return NULL;
    rill_checkpoint_store_t *self =
        rill_checkpoint_store_new_backend(&rill_checkpoint_dir_backend, state, kind);
    if (!self)
        rill_checkpoint_fail(error, error_size, "out of memory");
    return self;
}

rill_checkpoint_store_t *rill_checkpoint_store_new(const char *dir, int kept, char *error,
                                                   size_t error_size)
{
    assert(dir);
    if (kept < 1)
        return rill_checkpoint_fail(error, error_size,
                                    "checkpoints to keep: %d (at least 1 must be kept)", kept),
               NULL;
    return s_new_dir(dir, kept, RILL_CHECKPOINT_KIND_CHECKPOINT, error, error_size);
}

rill_checkpoint_store_t *rill_checkpoint_store_new_savepoint(const char *dir, char *error,
                                                             size_t error_size)
{
    assert(dir);
    return s_new_dir(dir, 0, RILL_CHECKPOINT_KIND_SAVEPOINT, error, error_size);
}

void rill_checkpoint_store_destroy(rill_checkpoint_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_checkpoint_store_t *self = *self_p;
    assert(self->tag == S_TAG);
    self->backend->destroy(&self->state);
    self->tag = 0xDeadBeef;
    free(self);
    *self_p = NULL;
}

rill_checkpoint_kind_t rill_checkpoint_store_kind(const rill_checkpoint_store_t *self)
{
    assert(self && self->tag == S_TAG);
    return self->kind;
}

int rill_checkpoint_store_write_state(rill_checkpoint_store_t *self, int64_t checkpoint,
                                      int operator_id, int subtask_index, const void *data,
                                      size_t size, rill_state_file_t *info, char *error,
                                      size_t error_size)
{
    assert(self && self->tag == S_TAG && info && (data || size == 0));
    assert(checkpoint >= 0 && operator_id >= 0 && subtask_index >= 0);
    return self->backend->write_state(self->state, checkpoint, operator_id, subtask_index, data,
                                      size, info, error, error_size);
}

int rill_checkpoint_store_complete(rill_checkpoint_store_t *self,
                                   const rill_checkpoint_meta_t *meta, char *error,
                                   size_t error_size)
{
    assert(self && self->tag == S_TAG && meta);
    return self->backend->complete(self->state, self->kind, meta, error, error_size);
}

int rill_checkpoint_store_discard(rill_checkpoint_store_t *self, int64_t checkpoint, char *error,
                                  size_t error_size)
{
    assert(self && self->tag == S_TAG && checkpoint >= 0);
    return self->backend->discard(self->state, checkpoint, error, error_size);
}

int rill_checkpoint_store_location(rill_checkpoint_store_t *self, int64_t checkpoint, char *out,
                                   size_t out_size)
{
    assert(self && self->tag == S_TAG && checkpoint >= 0);
    return self->backend->location(self->state, checkpoint, out, out_size);
}

int64_t rill_checkpoint_store_last_id(rill_checkpoint_store_t *self, char *error, size_t error_size)
{
    assert(self && self->tag == S_TAG);
    return self->backend->last_id(self->state, error, error_size);
}
