/*  rill_keyed_snapshot.c: see the header. Reading is strict: an entry of the wrong scope, too
    short, in a key group its key does not hash to, or repeating a key, is refused with a
    reason, never patched up (it means a corrupt checkpoint or one of another operator). */
#include "rill_keyed_snapshot.h"
#include "rill_key_hash.h"

#include <assert.h>
#include <string.h>

int rill_keyed_snapshot_whole_key(const uint8_t *state_key, size_t size, const uint8_t **key,
                                  size_t *key_size)
{
    *key = state_key;
    *key_size = size;
    return 0;
}

int rill_keyed_snapshot_group(rill_state_key_fn *record_key, const uint8_t *state_key, size_t size)
{
    assert(record_key && (state_key || size == 0));
    const uint8_t *key;
    size_t key_size;
    if (record_key(state_key, size, &key, &key_size))
        return -1;
    return (int)rill_key_hash_group(rill_key_hash(key, key_size));
}

int rill_keyed_snapshot_put_entry(rill_buffer_t *out, uint8_t tag, uint32_t group,
                                  const rill_keyed_entry_t *entry, rill_buffer_t *scratch)
{
    assert(out && entry && scratch);
    if (rill_buffer_set(scratch, &entry->timestamp, sizeof entry->timestamp) ||
        rill_buffer_append(scratch, rill_keyed_entry_value(entry), entry->value_size))
        return -1;
    return rill_snapshot_put(out, RILL_STATE_KEYED, tag, group, rill_keyed_entry_key(entry),
                             entry->key_size, rill_buffer_data(scratch), rill_buffer_size(scratch));
}

int rill_keyed_snapshot_put_table(rill_buffer_t *out, uint8_t tag, rill_keyed_table_t *table,
                                  rill_state_key_fn *record_key, const char **why)
{
    return rill_keyed_snapshot_put_table_kept(out, tag, table, record_key, NULL, NULL, why);
}

int rill_keyed_snapshot_put_table_kept(rill_buffer_t *out, uint8_t tag, rill_keyed_table_t *table,
                                       rill_state_key_fn *record_key, rill_keyed_keep_fn *keep,
                                       void *keep_ctx, const char **why)
{
    assert(out && table && record_key && why);
    rill_buffer_t *scratch = rill_buffer_new();
    if (!scratch) {
        *why = "out of memory";
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < rill_keyed_table_slots(table) && rc == 0; i++) {
        const rill_keyed_entry_t *entry = rill_keyed_table_slot(table, i);
        if (!entry || (keep && !keep(entry, keep_ctx)))
            continue;
        int group =
            rill_keyed_snapshot_group(record_key, rill_keyed_entry_key(entry), entry->key_size);
        if (group < 0) {
            //  The operator's own state keys always have its layout.
            *why = "a state key without a record key (a bug in the operator)";
            rc = -1;
        } else if (rill_keyed_snapshot_put_entry(out, tag, (uint32_t)group, entry, scratch)) {
            *why = "out of memory";
            rc = -1;
        }
    }
    rill_buffer_destroy(&scratch);
    return rc;
}

//  Checks that entry is KEYED, holds at least b_min bytes in b, and sits in its key's group.
static int s_check_keyed(const rill_state_entry_t *entry, size_t b_min,
                         rill_state_key_fn *record_key, const char **why)
{
    if (entry->scope != RILL_STATE_KEYED) {
        *why = "keyed state in an entry not scoped by key group";
        return -1;
    }
    if (entry->b_size < b_min) {
        *why = "entry too short";
        return -1;
    }
    int group = rill_keyed_snapshot_group(record_key, entry->a, entry->a_size);
    if (group < 0) {
        *why = "state key without a record key";
        return -1;
    }
    if ((uint32_t)group != entry->group) {
        *why = "entry filed under another key group than its key's";
        return -1;
    }
    return 0;
}

rill_keyed_entry_t *rill_keyed_snapshot_get_entry(rill_keyed_table_t *table,
                                                  const rill_state_entry_t *entry,
                                                  rill_state_key_fn *record_key, const char **why)
{
    assert(table && entry && record_key && why);
    int64_t timestamp;
    if (s_check_keyed(entry, sizeof timestamp, record_key, why))
        return NULL;
    if (entry->a_size > UINT32_MAX || entry->b_size - sizeof timestamp > UINT32_MAX) {
        *why = "entry too large for keyed state";
        return NULL;
    }
    memcpy(&timestamp, entry->b, sizeof timestamp);
    uint64_t hash = rill_key_hash(entry->a, entry->a_size);
    if (rill_keyed_table_find(table, entry->a, entry->a_size, hash)) {
        *why = "the same key twice";
        return NULL;
    }
    rill_keyed_entry_t *put =
        rill_keyed_table_put(table, entry->a, entry->a_size, hash, entry->b + sizeof timestamp,
                             entry->b_size - sizeof timestamp, timestamp);
    if (!put)
        *why = "out of memory";
    return put;
}

typedef struct {
    rill_buffer_t *out;
    uint8_t tag;
    rill_state_key_fn *record_key;
    const char *why;
} s_timers_t;

static int s_put_timer(const rill_timer_t *timer, void *ctx)
{
    s_timers_t *self = ctx;
    int group = rill_keyed_snapshot_group(self->record_key, timer->key, timer->key_size);
    if (group < 0) {
        self->why = "a timer key without a record key (a bug in the operator)";
        return 1;
    }
    int32_t tag = timer->tag;
    uint8_t b[sizeof timer->time + sizeof tag];
    memcpy(b, &timer->time, sizeof timer->time);
    memcpy(b + sizeof timer->time, &tag, sizeof tag);
    if (rill_snapshot_put(self->out, RILL_STATE_KEYED, self->tag, (uint32_t)group, timer->key,
                          timer->key_size, b, sizeof b)) {
        self->why = "out of memory";
        return 1;
    }
    return 0;
}

int rill_keyed_snapshot_put_timers(rill_buffer_t *out, uint8_t tag, const rill_timer_heap_t *timers,
                                   rill_state_key_fn *record_key, const char **why)
{
    assert(out && timers && record_key && why);
    s_timers_t self = {out, tag, record_key, NULL};
    int rc = rill_timer_heap_each(timers, s_put_timer, &self);
    if (rc)
        *why = rc < 0 ? "out of memory" : self.why;
    return rc ? -1 : 0;
}

int rill_keyed_snapshot_get_timer(rill_timer_heap_t *timers, const rill_state_entry_t *entry,
                                  rill_state_key_fn *record_key, const char **why)
{
    assert(timers && entry && record_key && why);
    int64_t time;
    int32_t tag;
    if (s_check_keyed(entry, sizeof time + sizeof tag, record_key, why))
        return -1;
    if (entry->b_size != sizeof time + sizeof tag) {
        *why = "timer entry of the wrong size";
        return -1;
    }
    memcpy(&time, entry->b, sizeof time);
    memcpy(&tag, entry->b + sizeof time, sizeof tag);
    if (rill_timer_heap_push(timers, time, entry->a, entry->a_size, tag)) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

int rill_keyed_snapshot_put_watermark(rill_buffer_t *out, uint8_t tag, int index, int parallelism,
                                      int64_t watermark)
{
    assert(out && index >= 0 && index < parallelism && parallelism <= RILL_MAX_PARALLELISM);
    for (uint32_t group = 0; group < RILL_MAX_PARALLELISM; group++) {
        //  The owner of a key group: rill_key_group_receiver (the channel layer's, which this
        //  one may not include), as rill_state_reader_t also restates it.
        if ((int)((uint64_t)group * (uint64_t)parallelism / RILL_MAX_PARALLELISM) != index)
            continue;
        if (rill_snapshot_put(out, RILL_STATE_KEYED, tag, group, NULL, 0, &watermark,
                              sizeof watermark))
            return -1;
    }
    return 0;
}

int rill_keyed_snapshot_get_watermark(const rill_state_entry_t *entry, int64_t *floor, bool *have,
                                      const char **why)
{
    assert(entry && floor && have && why);
    int64_t watermark;
    if (entry->scope != RILL_STATE_KEYED || entry->a_size != 0 ||
        entry->b_size != sizeof watermark) {
        *why = "malformed watermark entry";
        return -1;
    }
    memcpy(&watermark, entry->b, sizeof watermark);
    if (!*have || watermark < *floor)
        *floor = watermark;
    *have = true;
    return 0;
}
