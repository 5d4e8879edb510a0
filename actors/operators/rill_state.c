/*  rill_state.c: per-key state of keyed process functions (the public rill_state_* calls,
    Flink's ValueState and MapState). State lives in the process operator's one keyed table,
    under state keys (record key, namespace): a value is (key, name, 'V'); a map entry is (key,
    name, 'M', map key). The whole store is one flat table, which a checkpoint writes out as
    is (rill_op_process.c), each entry in the key group of the record key at its front. The
    operator (rill_op_process.c) keeps the current key set. */
#include "rill_process_private.h"

#include <assert.h>
#include <string.h>

//  state_key = u32 key size, key, then the namespace bytes.
int rill_process_state_key(rill_process_t *self, const char *name, char kind, const void *map_key,
                           size_t map_key_size)
{
    assert(self && name && (map_key || map_key_size == 0));
    if (self->on_broadcast)
        return -1; //  no key is current: keyed state and timers are the keyed side's
    uint32_t key_size = (uint32_t)self->current->size;
    rill_buffer_t *k = self->state_key;
    return rill_buffer_set(k, &key_size, sizeof key_size) ||
           rill_buffer_append(k, self->current->data, self->current->size) ||
           rill_buffer_append(k, name, strlen(name) + 1) || rill_buffer_append(k, &kind, 1) ||
           rill_buffer_append(k, map_key, map_key_size);
}

int rill_process_state_record_key(const uint8_t *state_key, size_t size, const uint8_t **key,
                                  size_t *key_size)
{
    assert(state_key || size == 0);
    uint32_t record_key_size;
    if (size < sizeof record_key_size)
        return -1;
    memcpy(&record_key_size, state_key, sizeof record_key_size);
    if (record_key_size > size - sizeof record_key_size)
        return -1;
    *key = state_key + sizeof record_key_size;
    *key_size = record_key_size;
    return 0;
}

rill_keyed_entry_t *rill_process_state_find(rill_process_t *self)
{
    assert(self);
    return rill_keyed_table_find(self->table, self->state_key->data, self->state_key->size,
                                 rill_keyed_hash(self->state_key->data, self->state_key->size));
}

int rill_process_state_put(rill_process_t *self, const void *data, size_t size)
{
    assert(self);
    return rill_keyed_table_put(self->table, self->state_key->data, self->state_key->size,
                                rill_keyed_hash(self->state_key->data, self->state_key->size), data,
                                size, 0)
               ? 0
               : -1;
}

void rill_process_state_remove(rill_process_t *self)
{
    assert(self);
    rill_keyed_table_remove(self->table, self->state_key->data, self->state_key->size,
                            rill_keyed_hash(self->state_key->data, self->state_key->size));
}

static int s_get(rill_process_t *self, const void **data, size_t *size)
{
    rill_keyed_entry_t *entry = rill_process_state_find(self);
    if (!entry)
        return -1;
    *data = rill_keyed_entry_value(entry);
    *size = entry->value_size;
    return 0;
}

int rill_state_value_get(rill_process_t *self, const char *name, const void **data, size_t *size)
{
    return rill_process_state_key(self, name, 'V', NULL, 0) ? -1 : s_get(self, data, size);
}

int rill_state_value_set(rill_process_t *self, const char *name, const void *data, size_t size)
{
    return rill_process_state_key(self, name, 'V', NULL, 0)
               ? -1
               : rill_process_state_put(self, data, size);
}

int rill_state_map_get(rill_process_t *self, const char *name, const void *map_key,
                       size_t map_key_size, const void **data, size_t *size)
{
    return rill_process_state_key(self, name, 'M', map_key, map_key_size) ? -1
                                                                          : s_get(self, data, size);
}

int rill_state_map_put(rill_process_t *self, const char *name, const void *map_key,
                       size_t map_key_size, const void *data, size_t size)
{
    return rill_process_state_key(self, name, 'M', map_key, map_key_size)
               ? -1
               : rill_process_state_put(self, data, size);
}

int rill_state_map_remove(rill_process_t *self, const char *name, const void *map_key,
                          size_t map_key_size)
{
    if (rill_process_state_key(self, name, 'M', map_key, map_key_size))
        return -1;
    rill_process_state_remove(self);
    return 0;
}

int rill_state_clear(rill_process_t *self, const char *name)
{
    if (rill_process_state_key(self, name, 'V', NULL, 0))
        return -1;
    rill_process_state_remove(self);
    return 0;
}
