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
    *size = 16 + subtasks * 8 * (1 + S_SUBTASK_FIELDS) + channels * 8 * 5;
    uint8_t *bytes = malloc(*size), *at = bytes;
    if (!bytes)
        return NULL;
    at = s_put(at, subtasks);
    at = s_put(at, channels);
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
    return bytes;
}

int rill_metrics_unpack(rill_metrics_t *self, int rank, const uint8_t *bytes, size_t size)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    if (size < 16)
        return -1;
    uint64_t subtasks = s_get(bytes), channels = s_get(bytes + 8);
    uint64_t subtask_bytes = 8 * (1 + S_SUBTASK_FIELDS);
    if (subtasks > (uint64_t)rill_plan_subtask_count(plan) ||
        channels > (uint64_t)rill_plan_channel_count(plan) ||
        size != 16 + subtasks * subtask_bytes + channels * 40)
        return -1;
    const uint8_t *at = bytes + 16;
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
    return 0;
}
