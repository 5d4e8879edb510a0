/*  rill_metrics_private.h: the counters' storage as the runtime writes it. The job makes the
    counters; subtasks, readers and writers write their slots; the metrics JSON reader
    (rill_metrics_json.c) hands counters read from a file the plan read with them. Programs only
    read counters (rill_metrics.h). */
#ifndef RILL_METRICS_PRIVATE_H_INCLUDED
#define RILL_METRICS_PRIVATE_H_INCLUDED

#include "rill_metrics.h"

//  Creates zeroed counters for every subtask and channel of plan (the plan must outlive it).
rill_metrics_t *rill_metrics_new(const rill_plan_t *plan);
//  Where a subtask (or the channel sender/receiver) writes its live counters.
rill_subtask_metrics_t *rill_metrics_subtask_slot(rill_metrics_t *self, int subtask);
rill_channel_metrics_t *rill_metrics_channel_slot(rill_metrics_t *self, int channel);
//  Sets the run's wall time (nanoseconds).
void rill_metrics_set_duration_ns(rill_metrics_t *self, uint64_t ns);
//  The job's checkpoint statistics, copied in by its coordinator's thread.
void rill_metrics_set_checkpoints(rill_metrics_t *self, const rill_checkpoint_stats_t *stats);

//  Single-writer counter updates: plain loads and relaxed stores, no locked instructions.
#define RILL_COUNTER_ADD(field, n)                                                                 \
    __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define RILL_COUNTER_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

//  The counters process `rank` owns (its subtasks', its ends of channels) as bytes, for the
//  coordinator of a job spanning processes (rill_metrics_wire.c): a new buffer of *size bytes
//  the caller frees, or NULL when out of memory.
uint8_t *rill_metrics_pack(const rill_metrics_t *self, int rank, size_t *size);
//  Copies such bytes from process rank into self, taking only the counters rank owns. 0, or
//  -1 when the bytes are not such a message for this plan (nothing is half taken: entries
//  before a bad one may be).
int rill_metrics_unpack(rill_metrics_t *self, int rank, const uint8_t *bytes, size_t size);
//  A user metric of subtask `subtask` by name (registered when new; kind as given the first
//  time): where its value lives, written by the subtask's thread alone (relaxed atomic
//  stores), or NULL when the subtask has RILL_USER_METRICS already or the name does not fit.
int64_t *rill_metrics_user_slot(rill_metrics_t *self, int subtask, const char *name, bool gauge);
//  Heavy hitters kept per sender and hash edge (rill_metrics_hot_keys merges them).
#define RILL_METRICS_HOT_KEYS 16
//  Sender index `sender` of hash edge `edge` publishes its heaviest keys (at most
//  RILL_METRICS_HOT_KEYS are kept). Thread-safe against readers.
void rill_metrics_set_hot_keys(rill_metrics_t *self, int edge, int sender,
                               const rill_hot_key_t *keys, int count);
//  What sender `sender` of hash edge `edge` published, into keys (RILL_METRICS_HOT_KEYS room):
//  how many.
int rill_metrics_sender_hot_keys(const rill_metrics_t *self, int edge, int sender,
                                 rill_hot_key_t *keys);
//  Hands *plan_p (the plan self was made for) to self, which destroys it with itself; nulls
//  the caller's pointer.
void rill_metrics_adopt_plan(rill_metrics_t *self, rill_plan_t **plan_p);

#endif
