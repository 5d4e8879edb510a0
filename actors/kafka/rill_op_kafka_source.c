/*  rill_op_kafka_source.c: the Kafka source (rill_kafka.h). Each subtask assigns itself the
    topic's partitions p with p % parallelism == its index (explicitly: no group rebalancing)
    and polls them with librdkafka, emitting each record with its Kafka timestamp.
    Watermarks are per partition (Flink's per-split watermarks): the subtask's is the least
    over its partitions that are neither idle nor finished, and it marks its output idle when
    all are. Checkpoints (Flink's source splits): one RILL_STATE_SPLIT entry per partition,
    numbered by the partition, holding its next offset, so a restore at another parallelism
    deals each partition to p % parallelism as a fresh start does, and seeks it there.
    Bounded: a subtask stops at the end offsets it sees when it starts. */
#include "rill_kafka_client.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_time_math.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill_kafka.h"

//  How long one produce() waits for a record when none is ready (ms): the subtask then looks
//  at its actor pipe (cancel, barriers) and flushes its batches.
#define S_POLL_MS 20
//  Records per produce() at most, and its time at most (ms; what is chained after the source
//  runs inside it): checkpoint barriers and the pipe get a turn in between.
#define S_CHUNK 256
#define S_CHUNK_MS 20

enum {
    S_TAG_OFFSET = 1, //  a = the topic; b = varint next offset
};

typedef struct {
    int32_t partition;
    int64_t next;      //  the offset of the next record to emit
    int64_t end;       //  bounded: the end offset seen at start (next == end: finished)
    int64_t highest;   //  highest record timestamp (INT64_MIN: none yet)
    int64_t active_at; //  wall ms of the last record (or of the start): idleness
    bool restored;     //  next came from a checkpoint
    bool done;         //  bounded and at its end
} s_partition_t;

typedef struct {
    const rill_kafka_source_t *options;
    rd_kafka_t *consumer;
    int32_t partition_count;   //  of the topic
    s_partition_t *partitions; //  those of this subtask, by partition number
    int count;
    int *slot;          //  partition number -> index in partitions, or -1
    bool started;       //  assigned (after restore, at the first produce)
    int64_t emitted;    //  the last watermark sent
    bool idle;          //  the output is marked idle
    rill_metric_t *lag; //  the "kafka_lag" gauge, or NULL
    int64_t lag_at;     //  wall ms of the last lag update
} s_source_t;

//  The message, cut to what self->error holds (librdkafka's own may be long). -1.
static int s_fail(rill_operator_t *self, const char *format, const char *detail)
{
    char message[640];
    snprintf(message, sizeof message, format, detail);
    snprintf(self->error, sizeof self->error, "%.*s", (int)sizeof self->error - 1, message);
    return -1;
}

//  Resolves each partition's start: the restored offset, else the earliest or the latest
//  offset now; and, bounded, its end. Then assigns them all. 0, or -1.
static int s_start(rill_operator_t *self, s_source_t *state)
{
    const rill_kafka_source_t *options = state->options;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(state->count);
    if (!list)
        return s_fail(self, "%s", "out of memory");
    int64_t now = rill_operator_now_ms(self);
    for (int i = 0; i < state->count; i++) {
        s_partition_t *partition = &state->partitions[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(state->consumer, options->topic, partition->partition,
                                             &low, &high, options->timeout_ms);
        if (err) {
            snprintf(self->error, sizeof self->error,
                     "Kafka source: cannot read the offsets of '%.100s' partition %d within %d "
                     "ms: %s",
                     options->topic, (int)partition->partition, options->timeout_ms,
                     rd_kafka_err2str(err));
            rd_kafka_topic_partition_list_destroy(list);
            return -1;
        }
        if (!partition->restored)
            partition->next = options->start == RILL_KAFKA_LATEST ? high : low;
        //  Records deleted by retention since the checkpoint: go on from the first left.
        if (partition->next < low)
            partition->next = low;
        partition->end = options->bounded ? high : INT64_MAX;
        partition->done = partition->next >= partition->end;
        partition->active_at = now;
        rd_kafka_topic_partition_list_add(list, options->topic, partition->partition)->offset =
            partition->next;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(state->consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err)
        return s_fail(self, "Kafka source: cannot assign partitions: %s", rd_kafka_err2str(err));
    state->started = true;
    return 0;
}

//  The subtask's watermark: the least over partitions neither idle nor finished. When there
//  is none such (*all_idle), the highest of them all, as the reader combines channels
//  (rill_reader.c, Flink's StatusWatermarkValve): the last partitions to go idle together do
//  not leave behind a watermark none of them holds back any more.
static int64_t s_watermark(rill_operator_t *self, s_source_t *state, int64_t now, bool *all_idle)
{
    const rill_kafka_source_t *options = state->options;
    int64_t least = INT64_MAX, highest = INT64_MIN;
    bool any = false;
    for (int i = 0; i < state->count; i++) {
        const s_partition_t *partition = &state->partitions[i];
        int64_t watermark =
            partition->highest == INT64_MIN
                ? INT64_MIN
                : rill_time_sub(rill_time_sub(partition->highest, options->out_of_orderness_ms), 1);
        if (watermark > highest)
            highest = watermark;
        if (partition->done)
            continue;
        if (options->idle_timeout_ms > 0 &&
            now >= rill_time_add(partition->active_at, options->idle_timeout_ms))
            continue;
        any = true;
        if (watermark < least)
            least = watermark;
    }
    *all_idle = !any;
    return any ? least : highest;
}

static int s_emit_watermark(rill_operator_t *self, s_source_t *state, rill_collector_t *out)
{
    int64_t now = rill_operator_now_ms(self);
    bool all_idle;
    int64_t watermark = s_watermark(self, state, now, &all_idle);
    if (all_idle) {
        if (state->idle)
            return 0;
        state->idle = true;
        if (watermark > state->emitted) {
            state->emitted = watermark;
            if (rill_collector_watermark(out, watermark))
                return -1;
        }
        return rill_collector_idle(out);
    }
    //  A record of an idle partition made it active: the watermark goes on from where it was
    //  (never back), and the output is active again with the next watermark or record.
    state->idle = false;
    if (watermark <= state->emitted)
        return 0;
    state->emitted = watermark;
    return rill_collector_watermark(out, watermark);
}

//  Lag: for each partition, the high watermark librdkafka last heard of minus the next
//  offset; a cached value, no request. At most every 200 ms, unless forced (at the end).
static void s_update_lag(rill_operator_t *self, s_source_t *state, int64_t now, bool force)
{
    if (!state->lag || (!force && now - state->lag_at < 200))
        return;
    state->lag_at = now;
    int64_t lag = 0;
    for (int i = 0; i < state->count; i++) {
        const s_partition_t *partition = &state->partitions[i];
        int64_t low, high;
        if (rd_kafka_get_watermark_offsets(state->consumer, state->options->topic,
                                           partition->partition, &low, &high) == 0 &&
            high > partition->next)
            lag += high - partition->next;
    }
    rill_metric_set(state->lag, lag);
}

static bool s_all_done(const s_source_t *state)
{
    for (int i = 0; i < state->count; i++)
        if (!state->partitions[i].done)
            return false;
    return true;
}

static int s_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_source_t *state = self->state;
    if (!state->started) {
        //  The subtask's context exists: the API gave the source an open (rill_kafka.c).
        state->lag = rill_context_gauge(self->context, "kafka_lag");
        if (s_start(self, state))
            return -1;
    }
    if (state->count == 0 || s_all_done(state)) {
        if (self->spec->bounded)
            return RILL_SOURCE_END;
        //  No partitions here: idle for good, and no busy loop.
        if (s_emit_watermark(self, state, out))
            return -1;
        rd_kafka_message_t *none = rd_kafka_consumer_poll(state->consumer, S_POLL_MS * 5);
        if (none)
            rd_kafka_message_destroy(none);
        return RILL_SOURCE_MORE;
    }
    int64_t chunk_end = rill_operator_now_ms(self) + S_CHUNK_MS;
    for (int emitted = 0; emitted < S_CHUNK;) {
        rd_kafka_message_t *message =
            rd_kafka_consumer_poll(state->consumer, emitted ? 0 : S_POLL_MS);
        if (!message)
            break;
        int slot = message->partition >= 0 && message->partition < state->partition_count
                       ? state->slot[message->partition]
                       : -1;
        if (message->err) {
            rd_kafka_resp_err_t err = message->err;
            char why[200];
            snprintf(why, sizeof why, "%s", rd_kafka_message_errstr(message));
            rd_kafka_message_destroy(message);
            if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                continue;
            //  Broker hiccups are retried by librdkafka; a missing topic or partition, an
            //  offset out of range with no reset, or a fatal error are not.
            if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR__FATAL ||
                err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                return s_fail(self, "Kafka source: %s", why);
            zsys_warning("kafka: source '%s' subtask %d: %s", self->op->name, self->index, why);
            continue;
        }
        if (slot < 0) {
            rd_kafka_message_destroy(message);
            continue;
        }
        s_partition_t *partition = &state->partitions[slot];
        //  Past the bounded end, or already emitted before a seek: not ours to emit.
        if (partition->done || message->offset < partition->next) {
            rd_kafka_message_destroy(message);
            continue;
        }
        if (message->offset >= partition->end) {
            partition->done = true;
            rd_kafka_message_destroy(message);
            continue;
        }
        rd_kafka_timestamp_type_t type;
        int64_t timestamp = rd_kafka_message_timestamp(message, &type);
        if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0)
            timestamp = RILL_NO_TIMESTAMP;
        int rc = rill_collector_emit(out, message->payload, message->len, timestamp);
        partition->next = message->offset + 1;
        rd_kafka_message_destroy(message);
        if (rc)
            return -1;
        if (timestamp != RILL_NO_TIMESTAMP && timestamp > partition->highest)
            partition->highest = timestamp;
        int64_t now = rill_operator_now_ms(self);
        partition->active_at = now;
        if (partition->next >= partition->end)
            partition->done = true;
        s_update_lag(self, state, now, false);
        emitted++;
        if (now >= chunk_end)
            break;
    }
    bool finished = self->spec->bounded && s_all_done(state);
    s_update_lag(self, state, rill_operator_now_ms(self), finished);
    if (s_emit_watermark(self, state, out))
        return -1;
    return finished ? RILL_SOURCE_END : RILL_SOURCE_MORE;
}

//  One SPLIT entry per partition of this subtask, finished or not: its next offset.
static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_source_t *state = self->state;
    const char *topic = state->options->topic;
    for (int i = 0; i < state->count; i++) {
        const s_partition_t *partition = &state->partitions[i];
        //  Not started yet: the restored offset, or nothing (a restore starts it afresh).
        if (!state->started && !partition->restored)
            continue;
        uint8_t value[10];
        size_t size = rill_varint_put(value, (uint64_t)partition->next);
        if (rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_OFFSET, (uint32_t)partition->partition,
                              topic, strlen(topic), value, size))
            return s_fail(self, "%s", "out of memory saving the Kafka source's offsets");
    }
    return 0;
}

static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_source_t *state = self->state;
    const char *topic = state->options->topic;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t next;
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_OFFSET ||
            rill_varint_get(&at, end, &next) || at != end || next > INT64_MAX) {
            rc = -1;
            break;
        }
        if (entry.a_size != strlen(topic) || memcmp(entry.a, topic, entry.a_size) != 0) {
            snprintf(self->error, sizeof self->error,
                     "cannot restore Kafka source '%.60s': the checkpoint read topic '%.*s', "
                     "not '%.60s'",
                     self->op->name, (int)(entry.a_size > 60 ? 60 : entry.a_size),
                     (const char *)entry.a, topic);
            return -1;
        }
        int32_t number = (int32_t)entry.group;
        int slot = entry.group < (uint32_t)state->partition_count ? state->slot[number] : -1;
        if (slot < 0) {
            snprintf(self->error, sizeof self->error,
                     "cannot restore Kafka source '%.60s': the checkpoint holds partition %u, "
                     "which topic '%.60s' (%d partitions) does not deal to subtask %d",
                     self->op->name, entry.group, topic, (int)state->partition_count, self->index);
            return -1;
        }
        state->partitions[slot].next = (int64_t)next;
        state->partitions[slot].restored = true;
    }
    if (rc < 0)
        return s_fail(self,
                      "cannot restore: the checkpoint's state of Kafka source '%.60s' is "
                      "malformed",
                      self->op->name);
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_source_t *state = self->state;
    if (!state)
        return;
    if (state->consumer) {
        rd_kafka_consumer_close(state->consumer);
        rd_kafka_destroy(state->consumer);
    }
    free(state->partitions);
    free(state->slot);
    free(state);
    self->state = NULL;
}

static const rill_operator_vtable_t s_vtable = {
    .produce = s_produce,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
};

int rill_op_kafka_source_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SOURCE_KAFKA && self->spec->connector);
    s_source_t *state = calloc(1, sizeof(s_source_t));
    if (!state)
        return s_fail(self, "%s", "out of memory");
    self->vtable = &s_vtable;
    self->state = state;
    state->options = self->spec->connector;
    state->emitted = INT64_MIN;
    const rill_kafka_source_t *options = state->options;
    char group[300];
    if (options->group_id)
        snprintf(group, sizeof group, "%s", options->group_id);
    else
        snprintf(group, sizeof group, "rill-%.250s", rill_plan_job_name(self->plan));
    char error[256];
    rd_kafka_conf_t *conf =
        rill_kafka_conf_new(options->brokers, options->client_id, error, sizeof error);
    //  Offsets live in rill's checkpoints, never in the group; then the user's properties.
    if (!conf || rill_kafka_conf_set(conf, "group.id", group, error, sizeof error) ||
        rill_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error) ||
        rill_kafka_conf_set(conf, "enable.auto.offset.store", "false", error, sizeof error) ||
        rill_kafka_conf_set(conf, "allow.auto.create.topics", "false", error, sizeof error) ||
        rill_kafka_conf_set(conf, "auto.offset.reset",
                            options->start == RILL_KAFKA_LATEST ? "latest" : "earliest", error,
                            sizeof error)) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka source: %s", error);
    }
    if (rill_kafka_conf_apply(conf, options->properties, error, sizeof error)) {
        rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka source: %s", error);
    }
    state->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (!state->consumer) {
        rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka source: %s", error);
    }
    int partitions = rill_kafka_partition_count(state->consumer, options->brokers, options->topic,
                                                options->timeout_ms, error, sizeof error);
    if (partitions < 0)
        return s_fail(self, "Kafka source: %s", error);
    state->partition_count = partitions;
    state->slot = malloc((size_t)partitions * sizeof(int));
    state->partitions = calloc((size_t)partitions, sizeof(s_partition_t));
    if (!state->slot || !state->partitions)
        return s_fail(self, "%s", "out of memory");
    int parallelism = self->op->parallelism;
    for (int p = 0; p < partitions; p++) {
        state->slot[p] = -1;
        if (p % parallelism != self->index)
            continue;
        state->slot[p] = state->count;
        state->partitions[state->count++] =
            (s_partition_t){.partition = p, .highest = INT64_MIN, .end = INT64_MAX};
    }
    return 0;
}
