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

int rill_process_state_key_parts(const uint8_t *state_key, size_t size,
                                 rill_process_state_parts_t *parts)
{
    assert(parts);
    if (rill_process_state_record_key(state_key, size, &parts->key, &parts->key_size))
        return -1;
    const uint8_t *name = parts->key + parts->key_size, *end = state_key + size;
    const uint8_t *nul = memchr(name, 0, (size_t)(end - name));
    if (!nul || nul + 1 == end)
        return -1;
    parts->name = (const char *)name;
    parts->kind = (char)nul[1];
    parts->map_key = nul + 2;
    parts->map_key_size = (size_t)(end - (nul + 2));
    return 0;
}

rill_keyed_entry_t *rill_process_state_find(rill_process_t *self)
{
    assert(self);
    return rill_keyed_table_find(self->table, self->state_key->data, self->state_key->size,
                                 rill_keyed_hash(self->state_key->data, self->state_key->size));
}

bool rill_process_state_expired(const rill_process_t *self, const rill_keyed_entry_t *entry,
                                int64_t now)
{
    assert(self && entry);
    int64_t ttl = self->op->spec->state_ttl_ms;
    if (ttl <= 0 || now - entry->timestamp < ttl)
        return false;
    //  The kind follows the name's NUL (rill_process_state_key's layout).
    const uint8_t *state_key = rill_keyed_entry_key(entry), *key;
    size_t key_size;
    if (rill_process_state_record_key(state_key, entry->key_size, &key, &key_size))
        return false;
    const uint8_t *name = key + key_size, *end = state_key + entry->key_size;
    const uint8_t *nul = memchr(name, 0, (size_t)(end - name));
    if (!nul || nul + 1 == end)
        return false;
    char kind = (char)nul[1];
    return kind == 'V' || kind == 'M' || kind == 'L';
}

/*  Incremental cleanup (Flink's cleanupIncrementally): each state access first walks on from
    where the last one stopped over the table's slots, dropping expired entries, until it has
    looked at spec->state_ttl_cleanup entries (or a few times as many empty slots), so that
    state nobody reads again goes without a full scan. Runs before the access finds its own
    entry: a removal moves other entries (backward shift), so no entry pointer may be held
    across it. A removal may pull the next entry into the slot, which is looked at again. */
static void s_cleanup_step(rill_process_t *self)
{
    int budget = self->op->spec->state_ttl_cleanup;
    if (self->op->spec->state_ttl_ms <= 0 || budget <= 0)
        return;
    size_t slots = rill_keyed_table_slots(self->table);
    if (slots == 0 || rill_keyed_table_size(self->table) == 0)
        return;
    int64_t now = rill_process_now(self);
    int entries = 0;
    for (size_t visits = 0; entries < budget && visits < (size_t)budget * 8; visits++) {
        if (self->cleanup_slot >= slots)
            self->cleanup_slot = 0;
        rill_keyed_entry_t *entry = rill_keyed_table_slot(self->table, self->cleanup_slot);
        if (!entry) {
            self->cleanup_slot++;
            continue;
        }
        entries++;
        if (rill_process_state_expired(self, entry, now))
            rill_keyed_table_remove(self->table, rill_keyed_entry_key(entry), entry->key_size,
                                    entry->hash);
        else
            self->cleanup_slot++;
    }
}

int rill_process_state_put(rill_process_t *self, const void *data, size_t size)
{
    assert(self);
    s_cleanup_step(self);
    //  With a time-to-live, an entry's timestamp is when it was last written.
    int64_t written = self->op->spec->state_ttl_ms ? rill_process_now(self) : 0;
    return rill_keyed_table_put(self->table, self->state_key->data, self->state_key->size,
                                rill_keyed_hash(self->state_key->data, self->state_key->size), data,
                                size, written)
               ? 0
               : -1;
}

//  The public state's entry under self->state_key, or NULL: unset, or expired (then removed).
static rill_keyed_entry_t *s_live(rill_process_t *self)
{
    s_cleanup_step(self);
    rill_keyed_entry_t *entry = rill_process_state_find(self);
    int64_t ttl = self->op->spec->state_ttl_ms;
    if (entry && ttl > 0 && rill_process_now(self) - entry->timestamp >= ttl) {
        rill_process_state_remove(self);
        return NULL;
    }
    return entry;
}

void rill_process_state_remove(rill_process_t *self)
{
    assert(self);
    rill_keyed_table_remove(self->table, self->state_key->data, self->state_key->size,
                            rill_keyed_hash(self->state_key->data, self->state_key->size));
}

static int s_get(rill_process_t *self, const void **data, size_t *size)
{
    rill_keyed_entry_t *entry = s_live(self);
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

static int s_list_append(rill_process_t *self, const char *name, char kind, const void *data,
                         size_t size);

//  A map's keys are also kept in a list under (key, name, 'K'), so that the map can be walked
//  (rill_state_map_keys) without a scan of the whole table: appended when a map key is new,
//  taken out when it is removed.
int rill_state_map_put(rill_process_t *self, const char *name, const void *map_key,
                       size_t map_key_size, const void *data, size_t size)
{
    if (rill_process_state_key(self, name, 'M', map_key, map_key_size))
        return -1;
    bool fresh = !rill_process_state_find(self);
    if (rill_process_state_put(self, data, size))
        return -1;
    return fresh ? s_list_append(self, name, 'K', map_key, map_key_size) : 0;
}

//  Takes map_key out of the map's key list.
static int s_forget_map_key(rill_process_t *self, const char *name, const void *map_key,
                            size_t map_key_size)
{
    if (rill_process_state_key(self, name, 'K', NULL, 0))
        return -1;
    rill_keyed_entry_t *entry = rill_process_state_find(self);
    if (!entry)
        return 0;
    //  Rewritten in place: the elements after it move down.
    uint8_t *list = (uint8_t *)rill_keyed_entry_value(entry);
    size_t size = entry->value_size, at = 0;
    while (at + sizeof(uint32_t) <= size) {
        uint32_t element;
        memcpy(&element, list + at, sizeof element);
        size_t whole = sizeof element + element;
        if (element == map_key_size && at + whole <= size &&
            memcmp(list + at + sizeof element, map_key, map_key_size) == 0) {
            memmove(list + at, list + at + whole, size - at - whole);
            if (size == whole) {
                rill_process_state_remove(self);
                return 0;
            }
            return rill_keyed_table_resize(entry, size - whole) ? 0 : -1;
        }
        at += whole;
    }
    return 0;
}

int rill_state_map_remove(rill_process_t *self, const char *name, const void *map_key,
                          size_t map_key_size)
{
    if (rill_process_state_key(self, name, 'M', map_key, map_key_size))
        return -1;
    if (!rill_process_state_find(self))
        return 0;
    rill_process_state_remove(self);
    return s_forget_map_key(self, name, map_key, map_key_size);
}

int rill_state_map_keys(rill_process_t *self, const char *name, const void **list,
                        size_t *list_size)
{
    if (rill_process_state_key(self, name, 'K', NULL, 0))
        return -1;
    rill_keyed_entry_t *entry = rill_process_state_find(self);
    if (!entry)
        return -1;
    *list = rill_keyed_entry_value(entry);
    *list_size = entry->value_size;
    return 0;
}

int rill_state_clear(rill_process_t *self, const char *name)
{
    if (rill_process_state_key(self, name, 'V', NULL, 0))
        return -1;
    rill_process_state_remove(self);
    return 0;
}

//  ---- list state: one entry per (key, name), its value the elements as (u32 size, bytes).

int rill_state_list_add(rill_process_t *self, const char *name, const void *data, size_t size)
{
    return s_list_append(self, name, 'L', data, size);
}

static int s_list_append(rill_process_t *self, const char *name, char kind, const void *data,
                         size_t size)
{
    if (!data && size)
        return -1;
    if (size > UINT32_MAX || rill_process_state_key(self, name, kind, NULL, 0))
        return -1;
    uint32_t element = (uint32_t)size;
    //  A map's key list never expires by itself: its map's entries do (rill_stream_state_ttl).
    rill_keyed_entry_t *entry = kind == 'K' ? rill_process_state_find(self) : s_live(self);
    if (!entry) {
        uint8_t head[sizeof element];
        memcpy(head, &element, sizeof element);
        if (rill_process_state_put(self, head, sizeof head))
            return -1;
        entry = rill_process_state_find(self);
        if (!entry)
            return -1;
        size_t old = entry->value_size;
        uint8_t *value = rill_keyed_table_resize(entry, old + size);
        if (!value)
            return -1;
        memcpy(value + old, data, size);
        return 0;
    }
    size_t old = entry->value_size;
    uint8_t *value = rill_keyed_table_resize(entry, old + sizeof element + size);
    if (!value)
        return -1;
    memcpy(value + old, &element, sizeof element);
    memcpy(value + old + sizeof element, data, size);
    if (self->op->spec->state_ttl_ms)
        entry->timestamp = rill_process_now(self);
    return 0;
}

int rill_state_list_get(rill_process_t *self, const char *name, const void **list,
                        size_t *list_size)
{
    return rill_process_state_key(self, name, 'L', NULL, 0) ? -1 : s_get(self, list, list_size);
}

int rill_state_list_next(const void *list, size_t list_size, const void **at, const void **data,
                         size_t *size)
{
    const uint8_t *start = list, *end = start + list_size, *p = *at;
    if (!list || !at || p < start || p > end)
        return -1;
    if (p == end)
        return 0;
    uint32_t element;
    if ((size_t)(end - p) < sizeof element)
        return -1;
    memcpy(&element, p, sizeof element);
    p += sizeof element;
    if (element > (size_t)(end - p))
        return -1;
    *data = p;
    *size = element;
    *at = p + element;
    return 1;
}

//  ---- reducing and aggregating state: a value folded on each add.

int rill_state_reduce_add(rill_process_t *self, const char *name, const void *data, size_t size,
                          rill_reduce_fn fn, void *ctx)
{
    if (!fn || (!data && size))
        return -1;
    const void *old;
    size_t old_size;
    if (rill_state_value_get(self, name, &old, &old_size))
        return rill_state_value_set(self, name, data, size);
    //  The fold writes into the operator's scratch buffer: old stays valid until the set.
    rill_record_t acc = {old, old_size, RILL_NO_TIMESTAMP}, in = {data, size, RILL_NO_TIMESTAMP};
    rill_buffer_t *out = self->join_scratch;
    rill_buffer_reset(out);
    if (fn(&acc, &in, out, ctx))
        return -1;
    return rill_state_value_set(self, name, out->data, out->size);
}

int rill_state_aggregate_add(rill_process_t *self, const char *name, const rill_record_t *in,
                             const rill_aggregate_t *aggregate, void *ctx)
{
    if (!in || !aggregate || !aggregate->create || !aggregate->add ||
        !aggregate->accumulator_size)
        return -1;
    const void *old;
    size_t old_size;
    rill_buffer_t *acc = self->join_scratch;
    rill_buffer_reset(acc);
    if (rill_state_value_get(self, name, &old, &old_size) == 0) {
        if (old_size != aggregate->accumulator_size || rill_buffer_set(acc, old, old_size))
            return -1;
    } else {
        void *fresh = rill_buffer_reserve(acc, aggregate->accumulator_size);
        if (!fresh)
            return -1;
        aggregate->create(fresh, ctx);
    }
    if (aggregate->add(acc->data, in, ctx))
        return -1;
    return rill_state_value_set(self, name, acc->data, acc->size);
}
