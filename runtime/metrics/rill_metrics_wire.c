/*  rill_metrics_wire.c: a process's own counters as bytes, for a job that spans processes.
    Each process counts what its subtasks do; the coordinator (rank 0) writes the tool's
    outputs, so every worker sends it the counters it owns (with each heartbeat and at the
    end) and the coordinator copies them into its own. Ownership decides what travels and
    what is taken: a subtask's counters belong to its process, a channel's sender counters
    to the sender's and its received count to the receiver's; so the coordinator never lets a
    worker overwrite a counter it does not own. Integers are little-endian on the wire. */
#include "rill_metrics_private.h"

#include <stdlib.h>
#include <string.h>

#define S_SUBTASK_FIELDS (sizeof(rill_subtask_metrics_t) / sizeof(uint64_t))
//  A hot key on the wire: its bytes (fixed size), size, count, receiver, hash.
#define S_HOT_KEY_BYTES (RILL_HOT_KEY_MAX + 1 + 4 * 8)
//  A user metric on the wire: subtask, gauge (0/1), value, then its name (fixed size).
#define S_USER_BYTES (3 * 8 + RILL_USER_METRIC_NAME)

static uint8_t *s_put(uint8_t *at, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        *at++ = (uint8_t)(value >> (8 * i));
    return at;
}

static uint64_t s_get(const uint8_t *at)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value |= (uint64_t)at[i] << (8 * i);
    return value;
}

//  Entries: one per subtask of rank (id + its fields), one per channel with an end on rank
//  (id, the sender's three counts, the received count).
uint8_t *rill_metrics_pack(const rill_metrics_t *self, int rank, size_t *size)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    size_t subtasks = 0, channels = 0;
    for (int id = 0; id < rill_plan_subtask_count(plan); id++)
        subtasks += rill_plan_subtask(plan, id)->process == rank;
    for (int id = 0; id < rill_plan_channel_count(plan); id++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, id);
        channels += rill_plan_subtask(plan, ch->from_subtask)->process == rank ||
                    rill_plan_subtask(plan, ch->to_subtask)->process == rank;
    }
    //  The heaviest keys of its senders on hash edges: one slot each.
    size_t slots = 0;
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->pattern != RILL_PATTERN_HASH)
            continue;
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        for (int i = 0; i < from->parallelism; i++)
            slots += rill_plan_subtask(plan, from->first_subtask + i)->process == rank;
    }
    //  The user metrics of its subtasks, after everything else.
    size_t users = 0;
    rill_user_metric_t user[RILL_USER_METRICS];
    for (int id = 0; id < rill_plan_subtask_count(plan); id++)
        if (rill_plan_subtask(plan, id)->process == rank)
            users += (size_t)rill_metrics_user(self, id, user, RILL_USER_METRICS);
    *size = 24 + subtasks * 8 * (1 + S_SUBTASK_FIELDS) + channels * 8 * 5 +
            slots * (24 + RILL_METRICS_HOT_KEYS * S_HOT_KEY_BYTES) + 8 + users * S_USER_BYTES;
    uint8_t *bytes = malloc(*size), *at = bytes;
    if (!bytes)
        return NULL;
    at = s_put(at, subtasks);
    at = s_put(at, channels);
    at = s_put(at, slots);
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        if (rill_plan_subtask(plan, id)->process != rank)
            continue;
        rill_subtask_metrics_t m = rill_metrics_subtask(self, id);
        uint64_t fields[S_SUBTASK_FIELDS];
        memcpy(fields, &m, sizeof fields);
        at = s_put(at, (uint64_t)id);
        for (size_t f = 0; f < S_SUBTASK_FIELDS; f++)
            at = s_put(at, fields[f]);
    }
    for (int id = 0; id < rill_plan_channel_count(plan); id++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, id);
        if (rill_plan_subtask(plan, ch->from_subtask)->process != rank &&
            rill_plan_subtask(plan, ch->to_subtask)->process != rank)
            continue;
        rill_channel_metrics_t m = rill_metrics_channel(self, id);
        at = s_put(at, (uint64_t)id);
        at = s_put(at, m.records);
        at = s_put(at, m.bytes);
        at = s_put(at, m.batches);
        at = s_put(at, m.records_received);
    }
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->pattern != RILL_PATTERN_HASH)
            continue;
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        for (int i = 0; i < from->parallelism; i++) {
            if (rill_plan_subtask(plan, from->first_subtask + i)->process != rank)
                continue;
            rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
            memset(keys, 0, sizeof keys);
            int count = rill_metrics_sender_hot_keys(self, e, i, keys);
            at = s_put(at, (uint64_t)e);
            at = s_put(at, (uint64_t)i);
            at = s_put(at, (uint64_t)count);
            for (int k = 0; k < RILL_METRICS_HOT_KEYS; k++) {
                memcpy(at, keys[k].key, sizeof keys[k].key);
                at += sizeof keys[k].key;
                at = s_put(at, keys[k].size);
                at = s_put(at, keys[k].count);
                at = s_put(at, (uint64_t)keys[k].receiver);
                at = s_put(at, keys[k].hash);
            }
        }
    }
    //  Registered since the count above? Only as many as counted go: the size is fixed.
    uint8_t *users_at = at;
    at = s_put(at, users);
    size_t written = 0;
    for (int id = 0; id < rill_plan_subtask_count(plan) && written < users; id++) {
        if (rill_plan_subtask(plan, id)->process != rank)
            continue;
        int count = rill_metrics_user(self, id, user, RILL_USER_METRICS);
        for (int u = 0; u < count && written < users; u++, written++) {
            at = s_put(at, (uint64_t)id);
            at = s_put(at, user[u].gauge);
            at = s_put(at, (uint64_t)user[u].value);
            memcpy(at, user[u].name, RILL_USER_METRIC_NAME);
            at += RILL_USER_METRIC_NAME;
        }
    }
    s_put(users_at, written);
    *size = (size_t)(at - bytes);
    return bytes;
}

int rill_metrics_unpack(rill_metrics_t *self, int rank, const uint8_t *bytes, size_t size)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    if (size < 24)
        return -1;
    uint64_t subtasks = s_get(bytes), channels = s_get(bytes + 8), slots = s_get(bytes + 16);
    uint64_t subtask_bytes = 8 * (1 + S_SUBTASK_FIELDS);
    uint64_t slot_bytes = 24 + RILL_METRICS_HOT_KEYS * S_HOT_KEY_BYTES;
    if (subtasks > (uint64_t)rill_plan_subtask_count(plan) ||
        channels > (uint64_t)rill_plan_channel_count(plan) ||
        slots > (uint64_t)rill_plan_subtask_count(plan) * (uint64_t)rill_plan_edge_count(plan))
        return -1;
    uint64_t fixed = 24 + subtasks * subtask_bytes + channels * 40 + slots * slot_bytes;
    uint64_t users = size >= fixed + 8 ? s_get(bytes + fixed) : UINT64_MAX;
    if (users > (uint64_t)rill_plan_subtask_count(plan) * RILL_USER_METRICS ||
        size != fixed + 8 + users * S_USER_BYTES)
        return -1;
    const uint8_t *at = bytes + 24;
    for (uint64_t i = 0; i < subtasks; i++, at += subtask_bytes) {
        uint64_t id = s_get(at);
        if (id >= (uint64_t)rill_plan_subtask_count(plan) ||
            rill_plan_subtask(plan, (int)id)->process != rank)
            return -1;
        uint64_t fields[S_SUBTASK_FIELDS];
        for (size_t f = 0; f < S_SUBTASK_FIELDS; f++)
            fields[f] = s_get(at + 8 * (1 + f));
        rill_subtask_metrics_t *slot = rill_metrics_subtask_slot(self, (int)id);
        uint64_t *into = (uint64_t *)slot;
        for (size_t f = 0; f < S_SUBTASK_FIELDS; f++)
            __atomic_store_n(&into[f], fields[f], __ATOMIC_RELAXED);
    }
    for (uint64_t i = 0; i < channels; i++, at += 40) {
        uint64_t id = s_get(at);
        if (id >= (uint64_t)rill_plan_channel_count(plan))
            return -1;
        const rill_plan_channel_t *ch = rill_plan_channel(plan, (int)id);
        rill_channel_metrics_t *slot = rill_metrics_channel_slot(self, (int)id);
        if (rill_plan_subtask(plan, ch->from_subtask)->process == rank) {
            __atomic_store_n(&slot->records, s_get(at + 8), __ATOMIC_RELAXED);
            __atomic_store_n(&slot->bytes, s_get(at + 16), __ATOMIC_RELAXED);
            __atomic_store_n(&slot->batches, s_get(at + 24), __ATOMIC_RELAXED);
        }
        if (rill_plan_subtask(plan, ch->to_subtask)->process == rank)
            __atomic_store_n(&slot->records_received, s_get(at + 32), __ATOMIC_RELAXED);
    }
    for (uint64_t i = 0; i < slots; i++, at += slot_bytes) {
        uint64_t e = s_get(at), sender = s_get(at + 8), count = s_get(at + 16);
        if (e >= (uint64_t)rill_plan_edge_count(plan) ||
            rill_plan_edge(plan, (int)e)->pattern != RILL_PATTERN_HASH)
            return -1;
        const rill_plan_edge_t *edge = rill_plan_edge(plan, (int)e);
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        int receivers = rill_plan_operator(plan, edge->to)->parallelism;
        if (sender >= (uint64_t)from->parallelism || count > RILL_METRICS_HOT_KEYS ||
            rill_plan_subtask(plan, from->first_subtask + (int)sender)->process != rank)
            return -1;
        rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
        const uint8_t *entry = at + 24;
        for (uint64_t k = 0; k < count; k++, entry += S_HOT_KEY_BYTES) {
            memcpy(keys[k].key, entry, sizeof keys[k].key);
            keys[k].key[RILL_HOT_KEY_MAX] = 0;
            const uint8_t *numbers = entry + sizeof keys[k].key;
            keys[k].size = (size_t)s_get(numbers);
            keys[k].count = s_get(numbers + 8);
            uint64_t receiver = s_get(numbers + 16);
            keys[k].hash = s_get(numbers + 24);
            if (receiver >= (uint64_t)receivers)
                return -1;
            keys[k].receiver = (int)receiver;
        }
        rill_metrics_set_hot_keys(self, (int)e, (int)sender, keys, (int)count);
    }
    at += 8; //  the user metrics' count, read above
    for (uint64_t i = 0; i < users; i++, at += S_USER_BYTES) {
        uint64_t id = s_get(at);
        if (id >= (uint64_t)rill_plan_subtask_count(plan) ||
            rill_plan_subtask(plan, (int)id)->process != rank)
            return -1;
        char name[RILL_USER_METRIC_NAME];
        memcpy(name, at + 24, sizeof name);
        name[sizeof name - 1] = 0;
        int64_t *value = rill_metrics_user_slot(self, (int)id, name, s_get(at + 8) != 0);
        if (value)
            __atomic_store_n(value, (int64_t)s_get(at + 16), __ATOMIC_RELAXED);
    }
    return 0;
}
