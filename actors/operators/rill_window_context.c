/*  rill_window_context.c: the window context a trigger or window_apply function gets
    (rill_trigger.h). Named state lives in the operator's meta table, one map per window under
    the window's state key (record key + bounds) and one per key under the bounds INT64_MIN,
    INT64_MIN + 1, which no window has; so a checkpoint sends it to the key's subtask like the
    window itself. A trigger's timers are markers in its window's map (names "\1e<time>" and
    "\1p<time>") beside a timer in the heap: registering twice finds the marker, deleting takes
    it out, and a heap timer whose marker is gone does not reach the trigger. */
#include "rill_trigger.h"
#include "rill_window_private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static rill_window_op_t *s_op(const rill_window_context_t *self)
{
    return self->self->state;
}

//  The meta entry of bounds for the context's key (*entry NULL: none), its state key left in
//  op->meta_key and its hash in *hash. 0, or -1 when out of memory making the key.
static int s_entry(rill_window_context_t *self, rill_window_bounds_t bounds,
                   rill_keyed_entry_t **entry, uint64_t *hash)
{
    rill_window_op_t *op = s_op(self);
    *entry = NULL;
    if (rill_window_state_key_set(op->meta_key, self->key.data, self->key.size, bounds))
        return -1;
    *hash = rill_keyed_hash(op->meta_key->data, op->meta_key->size);
    *entry = rill_keyed_table_find(op->meta, op->meta_key->data, op->meta_key->size, *hash);
    return 0;
}

static int s_get(rill_window_context_t *self, rill_window_bounds_t bounds, const char *name,
                 size_t name_size, const void **data, size_t *size)
{
    rill_keyed_entry_t *entry;
    uint64_t hash;
    if (s_entry(self, bounds, &entry, &hash) || !entry)
        return -1;
    const uint8_t *value;
    if (rill_window_map_find(rill_keyed_entry_value(entry), entry->value_size, name, name_size,
                             &value, size))
        return -1;
    *data = value;
    return 0;
}

static int s_set(rill_window_context_t *self, rill_window_bounds_t bounds, const char *name,
                 size_t name_size, const void *data, size_t size, bool remove)
{
    rill_window_op_t *op = s_op(self);
    rill_keyed_entry_t *entry;
    uint64_t hash;
    if (s_entry(self, bounds, &entry, &hash))
        return -1;
    if (!entry && remove)
        return 0;
    if (rill_window_map_set(op->map, entry ? rill_keyed_entry_value(entry) : NULL,
                            entry ? entry->value_size : 0, name, name_size, data, size, remove))
        return -1;
    if (op->map->size == 0) {
        rill_keyed_table_remove(op->meta, op->meta_key->data, op->meta_key->size, hash);
        return 0;
    }
    return rill_keyed_table_put(op->meta, op->meta_key->data, op->meta_key->size, hash,
                                op->map->data, op->map->size, 0)
               ? 0
               : -1;
}

static const rill_window_bounds_t s_global = {RILL_WINDOW_GLOBAL_STATE_START,
                                              RILL_WINDOW_GLOBAL_STATE_START + 1};

const rill_window_bounds_t *rill_window_context_bounds(const rill_window_context_t *self)
{
    assert(self);
    return &self->window;
}

const rill_key_t *rill_window_context_key(const rill_window_context_t *self)
{
    assert(self);
    return &self->key;
}

int64_t rill_window_context_watermark(const rill_window_context_t *self)
{
    assert(self);
    return s_op(self)->watermark;
}

int64_t rill_window_context_now(const rill_window_context_t *self)
{
    assert(self);
    return rill_operator_now_ms(self->self);
}

//  User names may not start with byte 1: those are the timer markers.
static bool s_user_name(const char *name)
{
    return name && name[0] != '\1';
}

int rill_window_state_get(rill_window_context_t *self, const char *name, const void **data,
                          size_t *size)
{
    assert(self && data && size);
    if (!s_user_name(name))
        return -1;
    return s_get(self, self->window, name, strlen(name), data, size);
}

int rill_window_state_set(rill_window_context_t *self, const char *name, const void *data,
                          size_t size)
{
    assert(self && (data || size == 0));
    if (!s_user_name(name))
        return -1;
    return s_set(self, self->window, name, strlen(name), data, size, false);
}

int rill_window_state_clear(rill_window_context_t *self, const char *name)
{
    assert(self);
    if (!s_user_name(name))
        return -1;
    return s_set(self, self->window, name, strlen(name), NULL, 0, true);
}

int rill_window_global_state_get(rill_window_context_t *self, const char *name, const void **data,
                                 size_t *size)
{
    assert(self && data && size);
    if (!s_user_name(name))
        return -1;
    return s_get(self, s_global, name, strlen(name), data, size);
}

int rill_window_global_state_set(rill_window_context_t *self, const char *name, const void *data,
                                 size_t size)
{
    assert(self && (data || size == 0));
    if (!s_user_name(name))
        return -1;
    return s_set(self, s_global, name, strlen(name), data, size, false);
}

//  A timer's marker name: byte 1, the domain, the time in hex.
static size_t s_marker(char *name, size_t size, bool event_time, int64_t time)
{
    int n = snprintf(name, size, "\1%c%016" PRIx64, event_time ? 'e' : 'p', (uint64_t)time);
    return (size_t)n;
}

int rill_window_timer_register(rill_window_context_t *self, bool event_time, int64_t time)
{
    assert(self);
    if (!self->in_trigger)
        return -1;
    rill_window_op_t *op = s_op(self);
    char name[32];
    size_t name_size = s_marker(name, sizeof name, event_time, time);
    const void *data;
    size_t size;
    if (s_get(self, self->window, name, name_size, &data, &size) == 0)
        return 0; //  registered already: Flink's timers are one per key, window and time
    if (s_set(self, self->window, name, name_size, "", 0, false))
        return -1;
    //  The heap timer carries the window's state key, which s_set left in op->meta_key.
    return rill_timer_heap_push(event_time ? op->timers : op->proc_timers, time,
                                op->meta_key->data, op->meta_key->size, 0);
}

int rill_window_timer_delete(rill_window_context_t *self, bool event_time, int64_t time)
{
    assert(self);
    if (!self->in_trigger)
        return -1;
    char name[32];
    size_t name_size = s_marker(name, sizeof name, event_time, time);
    return s_set(self, self->window, name, name_size, NULL, 0, true);
}

int rill_window_timer_take(rill_window_context_t *self, bool event_time, int64_t time)
{
    char name[32];
    size_t name_size = s_marker(name, sizeof name, event_time, time);
    const void *data;
    size_t size;
    if (s_get(self, self->window, name, name_size, &data, &size))
        return 0;
    return s_set(self, self->window, name, name_size, NULL, 0, true) ? -1 : 1;
}

bool rill_window_context_has_state(rill_window_context_t *self)
{
    rill_keyed_entry_t *entry;
    uint64_t hash;
    return s_entry(self, self->window, &entry, &hash) == 0 && entry;
}

void rill_window_context_drop_state(rill_window_context_t *self)
{
    rill_window_op_t *op = s_op(self);
    rill_keyed_entry_t *entry;
    uint64_t hash;
    if (s_entry(self, self->window, &entry, &hash) == 0 && entry)
        rill_keyed_table_remove(op->meta, op->meta_key->data, op->meta_key->size, hash);
}

size_t rill_window_merged_count(const rill_window_context_t *self)
{
    assert(self);
    return self->merged_count;
}

int rill_window_merged_state_get(rill_window_context_t *self, size_t i, const char *name,
                                 const void **data, size_t *size)
{
    assert(self && data && size);
    if (i >= self->merged_count || !s_user_name(name))
        return -1;
    return s_get(self, self->merged[i], name, strlen(name), data, size);
}
