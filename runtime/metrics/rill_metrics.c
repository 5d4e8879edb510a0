/*  rill_metrics.c: the counters' storage, one slot per subtask and per channel of a plan.
    Each slot has one writer (its subtask); readers copy fields with relaxed atomic loads. */
#include "rill_metrics_private.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One sender's heaviest keys on one hash edge, as its writer last published them. A lock, not
//  a counter: the writer publishes a few times a second at most, readers read rarely, and the
//  entries are a whole that must not be read half written.
typedef struct {
    pthread_mutex_t lock;
    int count;
    rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
} s_hot_slot_t;

//  A subtask's user metrics: names and kinds written before the count that publishes them
//  (release), values with relaxed stores by the subtask's thread.
typedef struct {
    char name[RILL_USER_METRIC_NAME];
    bool gauge;
    int64_t value;
} s_user_t;

typedef struct {
    uint32_t count;
    s_user_t metrics[RILL_USER_METRICS];
} s_user_slot_t;

struct rill_metrics_t {
    const rill_plan_t *plan;
    rill_plan_t *owned_plan; //  the same plan, when these counters were read from a file
    rill_subtask_metrics_t *subtasks;
    rill_channel_metrics_t *channels;
    uint64_t duration_ns;
    rill_checkpoint_stats_t checkpoints; //  written and read by the job's thread only
    s_hot_slot_t **hot; //  by edge: one slot per sender on hash edges, NULL on the others
    s_user_slot_t *user; //  by subtask
};

rill_metrics_t *rill_metrics_new(const rill_plan_t *plan)
{
    rill_metrics_t *self = calloc(1, sizeof(rill_metrics_t));
    if (!self)
        return NULL;
    self->plan = plan;
    self->subtasks = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(*self->subtasks));
    self->channels = calloc((size_t)rill_plan_channel_count(plan) + 1, sizeof(*self->channels));
    self->hot = calloc((size_t)rill_plan_edge_count(plan) + 1, sizeof(s_hot_slot_t *));
    self->user = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(s_user_slot_t));
    if (!self->subtasks || !self->channels || !self->hot || !self->user) {
        rill_metrics_destroy(&self);
        return NULL;
    }
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->pattern != RILL_PATTERN_HASH)
            continue;
        int senders = rill_plan_operator(plan, edge->from)->parallelism;
        self->hot[e] = calloc((size_t)senders, sizeof(s_hot_slot_t));
        if (!self->hot[e]) {
            rill_metrics_destroy(&self);
            return NULL;
        }
        for (int i = 0; i < senders; i++)
            pthread_mutex_init(&self->hot[e][i].lock, NULL);
    }
    return self;
}

void rill_metrics_destroy(rill_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_metrics_t *self = *self_p;
    for (int e = 0; self->hot && e < rill_plan_edge_count(self->plan); e++) {
        if (!self->hot[e])
            continue;
        int senders = rill_plan_operator(self->plan, rill_plan_edge(self->plan, e)->from)->parallelism;
        for (int i = 0; i < senders; i++)
            pthread_mutex_destroy(&self->hot[e][i].lock);
        free(self->hot[e]);
    }
    free(self->hot);
    free(self->user);
    free((*self_p)->subtasks);
    free((*self_p)->channels);
    rill_plan_destroy(&(*self_p)->owned_plan);
    free(*self_p);
    *self_p = NULL;
}

void rill_metrics_adopt_plan(rill_metrics_t *self, rill_plan_t **plan_p)
{
    assert(*plan_p == self->plan && !self->owned_plan);
    self->owned_plan = *plan_p;
    *plan_p = NULL;
}

const rill_plan_t *rill_metrics_plan(const rill_metrics_t *self)
{
    return self->plan;
}

rill_subtask_metrics_t rill_metrics_subtask(const rill_metrics_t *self, int subtask)
{
    const rill_subtask_metrics_t *slot = &self->subtasks[subtask];
    rill_subtask_metrics_t copy = {
        .records_in = RILL_COUNTER_GET(slot->records_in),
        .records_out = RILL_COUNTER_GET(slot->records_out),
        .bytes_in = RILL_COUNTER_GET(slot->bytes_in),
        .bytes_out = RILL_COUNTER_GET(slot->bytes_out),
        .batches_in = RILL_COUNTER_GET(slot->batches_in),
        .batches_out = RILL_COUNTER_GET(slot->batches_out),
        .busy_ns = RILL_COUNTER_GET(slot->busy_ns),
        .idle_ns = RILL_COUNTER_GET(slot->idle_ns),
        .backpressure_ns = RILL_COUNTER_GET(slot->backpressure_ns),
        .user_ns = RILL_COUNTER_GET(slot->user_ns),
        .zmq_ns = RILL_COUNTER_GET(slot->zmq_ns),
        .finished = RILL_COUNTER_GET(slot->finished),
        .checkpoint = RILL_COUNTER_GET(slot->checkpoint),
        .checkpoint_alignment_ns = RILL_COUNTER_GET(slot->checkpoint_alignment_ns),
        .checkpoint_sync_ns = RILL_COUNTER_GET(slot->checkpoint_sync_ns),
        .checkpoint_bytes = RILL_COUNTER_GET(slot->checkpoint_bytes),
        .checkpoint_acked_ms = RILL_COUNTER_GET(slot->checkpoint_acked_ms),
        .watermark_seen = RILL_COUNTER_GET(slot->watermark_seen),
        .watermark = RILL_COUNTER_GET(slot->watermark),
        .input_idle = RILL_COUNTER_GET(slot->input_idle),
        .late_records = RILL_COUNTER_GET(slot->late_records),
    };
    return copy;
}

rill_channel_metrics_t rill_metrics_channel(const rill_metrics_t *self, int channel)
{
    const rill_channel_metrics_t *slot = &self->channels[channel];
    rill_channel_metrics_t copy = {
        .records = RILL_COUNTER_GET(slot->records),
        .bytes = RILL_COUNTER_GET(slot->bytes),
        .batches = RILL_COUNTER_GET(slot->batches),
        .records_received = RILL_COUNTER_GET(slot->records_received),
    };
    return copy;
}

rill_subtask_metrics_t *rill_metrics_subtask_slot(rill_metrics_t *self, int subtask)
{
    assert(self && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    return &self->subtasks[subtask];
}

rill_channel_metrics_t *rill_metrics_channel_slot(rill_metrics_t *self, int channel)
{
    assert(self && channel >= 0 && channel < rill_plan_channel_count(self->plan));
    return &self->channels[channel];
}

uint64_t rill_metrics_duration_ns(const rill_metrics_t *self)
{
    return RILL_COUNTER_GET(self->duration_ns);
}

void rill_metrics_set_duration_ns(rill_metrics_t *self, uint64_t ns)
{
    __atomic_store_n(&self->duration_ns, ns, __ATOMIC_RELAXED);
}

rill_checkpoint_stats_t rill_metrics_checkpoints(const rill_metrics_t *self)
{
    return self->checkpoints;
}

void rill_metrics_set_checkpoints(rill_metrics_t *self, const rill_checkpoint_stats_t *stats)
{
    self->checkpoints = *stats;
}

void rill_metrics_set_hot_keys(rill_metrics_t *self, int edge, int sender,
                               const rill_hot_key_t *keys, int count)
{
    assert(edge >= 0 && edge < rill_plan_edge_count(self->plan) && self->hot[edge]);
    s_hot_slot_t *slot = &self->hot[edge][sender];
    if (count > RILL_METRICS_HOT_KEYS)
        count = RILL_METRICS_HOT_KEYS;
    pthread_mutex_lock(&slot->lock);
    memcpy(slot->keys, keys, (size_t)count * sizeof keys[0]);
    slot->count = count;
    pthread_mutex_unlock(&slot->lock);
}

static int s_heavier(const void *a, const void *b)
{
    const rill_hot_key_t *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int rill_metrics_hot_keys(const rill_metrics_t *self, int edge, rill_hot_key_t *keys, int max)
{
    if (edge < 0 || edge >= rill_plan_edge_count(self->plan) || !self->hot[edge] || max <= 0)
        return 0;
    int senders = rill_plan_operator(self->plan, rill_plan_edge(self->plan, edge)->from)->parallelism;
    rill_hot_key_t *all = calloc((size_t)senders * RILL_METRICS_HOT_KEYS + 1, sizeof(rill_hot_key_t));
    if (!all)
        return 0;
    int n = 0;
    //  One key's counts from several senders add up (the same hash and size: the same key).
    for (int i = 0; i < senders; i++) {
        s_hot_slot_t *slot = &self->hot[edge][i];
        pthread_mutex_lock(&slot->lock);
        for (int k = 0; k < slot->count; k++) {
            const rill_hot_key_t *key = &slot->keys[k];
            int at = 0;
            while (at < n && !(all[at].hash == key->hash && all[at].size == key->size))
                at++;
            if (at == n)
                all[n++] = *key;
            else
                all[at].count += key->count;
        }
        pthread_mutex_unlock(&slot->lock);
    }
    qsort(all, (size_t)n, sizeof all[0], s_heavier);
    if (n > max)
        n = max;
    memcpy(keys, all, (size_t)n * sizeof all[0]);
    free(all);
    return n;
}

int rill_metrics_sender_hot_keys(const rill_metrics_t *self, int edge, int sender,
                                 rill_hot_key_t *keys)
{
    if (!self->hot[edge])
        return 0;
    s_hot_slot_t *slot = &self->hot[edge][sender];
    pthread_mutex_lock(&slot->lock);
    int count = slot->count;
    memcpy(keys, slot->keys, (size_t)count * sizeof keys[0]);
    pthread_mutex_unlock(&slot->lock);
    return count;
}

int64_t *rill_metrics_user_slot(rill_metrics_t *self, int subtask, const char *name, bool gauge)
{
    assert(self && name && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    s_user_slot_t *slot = &self->user[subtask];
    uint32_t count = __atomic_load_n(&slot->count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(slot->metrics[i].name, name) == 0)
            return &slot->metrics[i].value;
    if (count == RILL_USER_METRICS || strlen(name) >= RILL_USER_METRIC_NAME || !*name)
        return NULL;
    s_user_t *metric = &slot->metrics[count];
    snprintf(metric->name, sizeof metric->name, "%s", name);
    metric->gauge = gauge;
    __atomic_store_n(&metric->value, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->count, count + 1, __ATOMIC_RELEASE);
    return &metric->value;
}

int rill_metrics_user(const rill_metrics_t *self, int subtask, rill_user_metric_t *metrics,
                      int max)
{
    assert(self && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    const s_user_slot_t *slot = &self->user[subtask];
    uint32_t count = __atomic_load_n(&slot->count, __ATOMIC_ACQUIRE);
    int n = 0;
    for (uint32_t i = 0; i < count && n < max; i++, n++) {
        memcpy(metrics[n].name, slot->metrics[i].name, sizeof metrics[n].name);
        metrics[n].gauge = slot->metrics[i].gauge;
        metrics[n].value = __atomic_load_n(&slot->metrics[i].value, __ATOMIC_RELAXED);
    }
    return n;
}
