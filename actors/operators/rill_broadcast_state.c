/*  rill_broadcast_state.c: broadcast state (the public rill_broadcast_state_* calls, Flink's
    BroadcastState): per subtask one table from (name, key) to a value, written only by the
    broadcast function, so that every subtask, fed the same broadcast records in the same
    order, holds the same state. The process operator (rill_op_process.c) owns the table and
    writes it to checkpoints as RILL_STATE_BROADCAST entries. */
#include "rill_process_private.h"

#include <string.h>

//  The table key: the name with its NUL, then the key bytes. 0, or -1 (no broadcast state
//  here, or out of memory).
static int s_key(rill_process_t *self, const char *name, const void *key, size_t key_size)
{
    if (!self || !self->broadcast || !name || (!key && key_size))
        return -1;
    rill_buffer_t *k = self->state_key;
    return rill_buffer_set(k, name, strlen(name) + 1) || rill_buffer_append(k, key, key_size);
}

static uint64_t s_hash(rill_process_t *self)
{
    return rill_keyed_hash(self->state_key->data, self->state_key->size);
}

int rill_broadcast_state_get(rill_process_t *self, const char *name, const void *key,
                             size_t key_size, const void **data, size_t *size)
{
    if (s_key(self, name, key, key_size))
        return -1;
    rill_keyed_entry_t *entry = rill_keyed_table_find(self->broadcast, self->state_key->data,
                                                      self->state_key->size, s_hash(self));
    if (!entry)
        return -1;
    *data = rill_keyed_entry_value(entry);
    *size = entry->value_size;
    return 0;
}

int rill_broadcast_state_put(rill_process_t *self, const char *name, const void *key,
                             size_t key_size, const void *data, size_t size)
{
    //  Written only where every subtask sees the same records: in the broadcast function.
    if (!self || !self->on_broadcast || (!data && size) || s_key(self, name, key, key_size))
        return -1;
    return rill_keyed_table_put(self->broadcast, self->state_key->data, self->state_key->size,
                                s_hash(self), data, size, 0)
               ? 0
               : -1;
}

int rill_broadcast_state_remove(rill_process_t *self, const char *name, const void *key,
                                size_t key_size)
{
    if (!self || !self->on_broadcast || s_key(self, name, key, key_size))
        return -1;
    rill_keyed_table_remove(self->broadcast, self->state_key->data, self->state_key->size,
                            s_hash(self));
    return 0;
}
