/*  rill_op_kafka_sink.c: the Kafka sink (rill_kafka.h). Each subtask owns one librdkafka
    producer. At least once: records go out as they come; each checkpoint's snapshot flushes
    them all and fails the checkpoint when one was not delivered, so a completed checkpoint
    covers every record before its barrier; a restore may send again what followed it.
    Exactly once (Flink's two-phase-commit sink): records wait in memory, split by the
    barriers that passed (pre-commit: the snapshot marks where checkpoint n's records end);
    when checkpoint n completes, those records go out in one Kafka transaction, committed
    before the next record is sent; a failure aborts the open transaction, and the restarted
    attempt's producer, with the same transactional.id ("<job>-<operator>-<subtask>"),
    fences the old one. Records are sent only after their checkpoint completed, so an
    aborted transaction never holds records a restore replays.
    The gap between a checkpoint's completion and its commit (a failure in between would
    lose the records it covers: the restore starts after them) is closed as Flink's
    recoverAndCommit does, with what Kafka offers a C client: the snapshot also saves the
    records not yet committed, by checkpoint, and every transaction commits, with its
    records, a marker: the offset "checkpoint n" of the output topic's partition 0 for the
    consumer group "rill-sink-<transactional.id>" (rd_kafka_send_offsets_to_transaction). A
    restore reads the marker and commits the saved records of the checkpoints after it.
    librdkafka's mock cluster drops transactional offset commits, so after each commit the
    marker is also committed plainly (same value; on Kafka a no-op in effect). */
#include "rill_kafka_client.h"
#include "rill_operator.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill_array.h"
#include "rill_kafka.h"
#include "rill_number.h"

//  A staged record: this header, then the key's bytes (none when key_size is S_NO_KEY), then
//  the value's.
#define S_NO_KEY UINT32_MAX
typedef struct {
    uint32_t key_size;
    uint32_t value_size;
    int64_t timestamp;
} s_staged_t;

//  Checkpoint n's records end at byte `end` of the staging buffer.
typedef struct {
    int64_t checkpoint;
    size_t end;
} s_pending_t;

enum {
    S_TAG_RECORDS = 1, //  group = the subtask that staged them; a = varint checkpoint; b = records
};

typedef struct {
    const rill_kafka_sink_t *options;
    char transactional_id[512];
    int64_t last_checkpoint; //  the latest snapshot's checkpoint (0: none yet)
    rd_kafka_t *producer;
    rd_kafka_t *marker_consumer; //  exactly once: commits the marker plainly (NULL until then)
    rd_kafka_topic_t *topic;
    bool exactly_once;
    bool in_transaction;
    uint64_t since_poll;      //  records sent since the last rd_kafka_poll
    char delivery_error[200]; //  the first failed delivery ("" while none)
    rill_buffer_t *staged;    //  exactly once: records not yet sent
    s_pending_t *pending;     //  checkpoints taken, not yet completed, in order
    size_t pending_count;
    size_t pending_capacity;
} s_sink_t;

//  The message, cut to what self->error holds (librdkafka's own may be long). -1.
static int s_fail(rill_operator_t *self, const char *format, const char *detail)
{
    char message[640];
    snprintf(message, sizeof message, format, detail);
    snprintf(self->error, sizeof self->error, "%.*s", (int)sizeof self->error - 1, message);
    return -1;
}

//  librdkafka's delivery report, served by rd_kafka_poll and rd_kafka_flush on this thread.
static void s_on_delivery(rd_kafka_t *producer, const rd_kafka_message_t *message, void *opaque)
{
    s_sink_t *state = opaque;
    if (message->err && !*state->delivery_error)
        snprintf(state->delivery_error, sizeof state->delivery_error, "%s",
                 rd_kafka_err2str(message->err));
}

//  Hands one record to the producer, waiting while its queue is full. 0, or -1.
static int s_send(rill_operator_t *self, s_sink_t *state, const void *key, size_t key_size,
                  const void *value, size_t value_size, int64_t timestamp)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            state->producer, RD_KAFKA_V_RKT(state->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)value, value_size), RD_KAFKA_V_KEY((void *)key, key_size),
            RD_KAFKA_V_TIMESTAMP(timestamp == RILL_NO_TIMESTAMP ? 0 : timestamp), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(state->producer, 10);
            continue;
        }
        if (err)
            return s_fail(self, "Kafka sink: cannot send a record: %s", rd_kafka_err2str(err));
        break;
    }
    //  Delivery reports, now and then (not per record: a poll is a lock and a queue look).
    if (++state->since_poll >= 1024) {
        state->since_poll = 0;
        rd_kafka_poll(state->producer, 0);
    }
    if (*state->delivery_error)
        return s_fail(self, "Kafka sink: a record was not delivered: %s", state->delivery_error);
    return 0;
}

//  Waits until every record sent was delivered (or failed). 0, or -1.
static int s_flush(rill_operator_t *self, s_sink_t *state)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(state->producer, state->options->timeout_ms);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        snprintf(self->error, sizeof self->error,
                 "Kafka sink: records not delivered to '%.100s' within %d ms: are the brokers "
                 "up?",
                 state->options->brokers, state->options->timeout_ms);
        return -1;
    }
    if (*state->delivery_error)
        return s_fail(self, "Kafka sink: a record was not delivered: %s", state->delivery_error);
    return 0;
}

static int s_stage(rill_operator_t *self, s_sink_t *state, const rill_key_t *key,
                   const rill_record_t *record)
{
    s_staged_t header = {key ? (uint32_t)key->size : S_NO_KEY, (uint32_t)record->size,
                         record->timestamp};
    if (rill_buffer_append(state->staged, &header, sizeof header) ||
        (key && rill_buffer_append(state->staged, key->data, key->size)) ||
        rill_buffer_append(state->staged, record->data, record->size))
        return s_fail(self, "%s", "Kafka sink: out of memory staging records");
    return 0;
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_sink_t *state = self->state;
    const rill_kafka_sink_t *options = state->options;
    rill_key_t key = {0};
    bool keyed = options->key != NULL;
    if (keyed) {
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = options->key(record, &key, options->key_ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc)
            return s_fail(self, "%s", "Kafka sink: the key function failed");
    }
    if (state->exactly_once)
        return s_stage(self, state, keyed ? &key : NULL, record);
    return s_send(self, state, keyed ? key.data : NULL, keyed ? key.size : 0, record->data,
                  record->size, record->timestamp);
}

//  The marker group of the producer with transactional id `id`.
static void s_marker_group(char *group, size_t size, const char *id)
{
    snprintf(group, size, "rill-sink-%s", id);
}

//  Adds to the open transaction the marker "checkpoint `checkpoint` committed" of the
//  producer whose transactional id is `id`. NULL, or the error.
static rd_kafka_error_t *s_send_marker(s_sink_t *state, const char *id, int64_t checkpoint)
{
    char group[600];
    s_marker_group(group, sizeof group, id);
    rd_kafka_consumer_group_metadata_t *metadata = rd_kafka_consumer_group_metadata_new(group);
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, state->options->topic, 0)->offset = checkpoint;
    rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(
        state->producer, offsets, metadata, state->options->timeout_ms);
    rd_kafka_topic_partition_list_destroy(offsets);
    rd_kafka_consumer_group_metadata_destroy(metadata);
    return error;
}

//  A consumer in the marker group of transactional id `id` (it never reads: it commits and
//  fetches the marker). NULL with self->error set.
static rd_kafka_t *s_marker_consumer(rill_operator_t *self, s_sink_t *state, const char *id)
{
    const rill_kafka_sink_t *options = state->options;
    char group[600], error[256];
    s_marker_group(group, sizeof group, id);
    rd_kafka_conf_t *conf =
        rill_kafka_conf_new(options->brokers, options->client_id, error, sizeof error);
    if (!conf || rill_kafka_conf_set(conf, "group.id", group, error, sizeof error) ||
        rill_kafka_conf_apply(conf, options->properties, error, sizeof error)) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        s_fail(self, "Kafka sink: %s", error);
        return NULL;
    }
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (!consumer) {
        rd_kafka_conf_destroy(conf);
        s_fail(self, "Kafka sink: %s", error);
    }
    return consumer;
}

static void s_marker_consumer_destroy(rd_kafka_t **consumer_p)
{
    if (*consumer_p) {
        rd_kafka_consumer_close(*consumer_p);
        rd_kafka_destroy(*consumer_p);
        *consumer_p = NULL;
    }
}

//  After the transaction committed: the same marker once more, as a plain offset commit.
//  Brokers that keep transactional offset commits (Kafka) already hold it; this is for those
//  that do not (librdkafka's mock cluster). The subtask's own marker consumer is kept; one
//  for a restored old subtask's id is made for the occasion. 0, or -1.
static int s_commit_marker_plainly(rill_operator_t *self, s_sink_t *state, const char *id,
                                   int64_t checkpoint)
{
    bool own = strcmp(id, state->transactional_id) == 0;
    rd_kafka_t *consumer = own ? state->marker_consumer : NULL;
    if (!consumer && !(consumer = s_marker_consumer(self, state, id)))
        return -1;
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, state->options->topic, 0)->offset = checkpoint;
    rd_kafka_resp_err_t err = rd_kafka_commit(consumer, offsets, 0);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (own)
        state->marker_consumer = consumer;
    else
        s_marker_consumer_destroy(&consumer);
    if (err)
        return s_fail(self, "Kafka sink: cannot commit the checkpoint marker: %s",
                      rd_kafka_err2str(err));
    return 0;
}

//  The checkpoint the marker of transactional id `id` says was committed last (0: none).
//  -1 with self->error set when it cannot be read.
static int64_t s_read_marker(rill_operator_t *self, s_sink_t *state, const char *id)
{
    const rill_kafka_sink_t *options = state->options;
    rd_kafka_t *consumer = s_marker_consumer(self, state, id);
    if (!consumer)
        return -1;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, options->topic, 0);
    rd_kafka_resp_err_t err = rd_kafka_committed(consumer, list, options->timeout_ms);
    int64_t marker = err ? -1 : list->elems[0].err ? -1 : list->elems[0].offset;
    if (!err && list->elems[0].err)
        err = list->elems[0].err;
    rd_kafka_topic_partition_list_destroy(list);
    s_marker_consumer_destroy(&consumer);
    if (err)
        return s_fail(self,
                      "Kafka sink: cannot read the commit marker of the restored "
                      "checkpoint: %s",
                      rd_kafka_err2str(err));
    return marker < 0 ? 0 : marker; //  RD_KAFKA_OFFSET_INVALID: nothing committed yet
}

//  Sends the staged records [0, end) in one transaction with the marker `checkpoint` (and
//  that of `restored_id` when not NULL: records a restore commits for an old subtask) and
//  commits it; then drops them.
static int s_commit(rill_operator_t *self, s_sink_t *state, size_t end, int64_t checkpoint,
                    const char *restored_id)
{
    if (end == 0)
        return 0;
    int timeout = state->options->timeout_ms;
    rd_kafka_error_t *error = rd_kafka_begin_transaction(state->producer);
    if (error)
        goto failed;
    state->in_transaction = true;
    const uint8_t *data = rill_buffer_data(state->staged);
    for (size_t at = 0; at < end;) {
        s_staged_t header;
        memcpy(&header, data + at, sizeof header);
        at += sizeof header;
        const uint8_t *key = NULL;
        size_t key_size = 0;
        if (header.key_size != S_NO_KEY) {
            key = data + at;
            key_size = header.key_size;
            at += key_size;
        }
        if (s_send(self, state, key, key_size, data + at, header.value_size, header.timestamp))
            return -1;
        at += header.value_size;
    }
    if (checkpoint > 0 &&
        (error =
             s_send_marker(state, restored_id ? restored_id : state->transactional_id, checkpoint)))
        goto failed;
    error = rd_kafka_commit_transaction(state->producer, timeout);
    if (error)
        goto failed;
    state->in_transaction = false;
    if (checkpoint > 0 &&
        s_commit_marker_plainly(self, state, restored_id ? restored_id : state->transactional_id,
                                checkpoint))
        return -1;
    size_t size = rill_buffer_size(state->staged);
    //  The records after end (later checkpoints', or not yet covered) move to the front.
    uint8_t *bytes = (uint8_t *)rill_buffer_data(state->staged);
    memmove(bytes, bytes + end, size - end);
    //  Shrinking within its memory: reserve does not reallocate, the bytes stay.
    rill_buffer_reset(state->staged);
    if (size > end)
        rill_buffer_reserve(state->staged, size - end);
    return 0;
failed:
    snprintf(self->error, sizeof self->error, "Kafka sink: transaction of subtask %d failed: %s",
             self->index, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return -1;
}

//  At least once: flush, so the checkpoint covers what came before its barrier. Exactly
//  once: mark where checkpoint n's records end (the pre-commit).
static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_sink_t *state = self->state;
    if (!state->exactly_once)
        return s_flush(self, state);
    if (rill_array_grow((void **)&state->pending, &state->pending_capacity,
                        state->pending_count + 1, sizeof(s_pending_t)))
        return s_fail(self, "%s", "out of memory");
    state->pending[state->pending_count++] =
        (s_pending_t){checkpoint, rill_buffer_size(state->staged)};
    state->last_checkpoint = checkpoint;
    //  The records not committed yet, by checkpoint: a restore commits those its marker
    //  does not cover.
    const uint8_t *data = rill_buffer_data(state->staged);
    size_t start = 0;
    for (size_t i = 0; i < state->pending_count; i++) {
        uint8_t id[10];
        size_t id_size = rill_varint_put(id, (uint64_t)state->pending[i].checkpoint);
        if (rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_RECORDS, (uint32_t)self->index, id,
                              id_size, data + start, state->pending[i].end - start))
            return s_fail(self, "%s", "out of memory saving the Kafka sink's records");
        start = state->pending[i].end;
    }
    return 0;
}

//  Commits the records of the restored checkpoint its marker does not cover: per old
//  subtask (split), those of checkpoints after its marker, in one transaction that moves
//  its marker to the newest of them.
static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_sink_t *state = self->state;
    if (!state->exactly_once)
        return 0;
    rill_state_entry_t entry;
    int rc;
    int64_t marker = -1, newest = 0;
    uint32_t group = UINT32_MAX;
    char id[512];
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.a, *end = entry.a + entry.a_size;
        uint64_t checkpoint;
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_RECORDS ||
            rill_varint_get(&at, end, &checkpoint) || at != end || checkpoint > INT64_MAX) {
            rc = -1;
            break;
        }
        if (entry.group != group) {
            //  The previous old subtask's records go out first.
            if (group != UINT32_MAX &&
                s_commit(self, state, rill_buffer_size(state->staged), newest, id))
                return -1;
            group = entry.group;
            snprintf(id, sizeof id, "%.200s-%.200s-%u", rill_plan_job_name(self->plan),
                     self->op->name, group);
            if ((marker = s_read_marker(self, state, id)) < 0)
                return -1;
            newest = 0;
        }
        if ((int64_t)checkpoint <= marker)
            continue; //  committed before the failure
        if (rill_buffer_append(state->staged, entry.b, entry.b_size))
            return s_fail(self, "%s", "out of memory restoring the Kafka sink's records");
        newest = (int64_t)checkpoint;
    }
    if (rc < 0)
        return s_fail(self,
                      "cannot restore: the checkpoint's state of Kafka sink '%.60s' is "
                      "malformed",
                      self->op->name);
    if (group != UINT32_MAX && s_commit(self, state, rill_buffer_size(state->staged), newest, id))
        return -1;
    return 0;
}

//  Checkpoint n completed: commit every record its barrier (and earlier ones) covered.
static int s_checkpoint_complete(rill_operator_t *self, int64_t checkpoint)
{
    s_sink_t *state = self->state;
    if (!state->exactly_once)
        return 0;
    size_t covered = 0;
    while (covered < state->pending_count && state->pending[covered].checkpoint <= checkpoint)
        covered++;
    if (covered == 0)
        return 0;
    size_t end = state->pending[covered - 1].end;
    if (s_commit(self, state, end, state->pending[covered - 1].checkpoint, NULL))
        return -1;
    memmove(state->pending, state->pending + covered,
            (state->pending_count - covered) * sizeof(s_pending_t));
    state->pending_count -= covered;
    for (size_t i = 0; i < state->pending_count; i++)
        state->pending[i].end -= end;
    return 0;
}

//  The input ended: everything goes out (exactly once: one last transaction).
static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (state->exactly_once) {
        //  The marker says "beyond the latest checkpoint": a restore from it commits nothing.
        state->pending_count = 0;
        return s_commit(self, state, rill_buffer_size(state->staged), state->last_checkpoint + 1,
                        NULL);
    }
    return s_flush(self, state);
}

static void s_close(rill_operator_t *self)
{
    s_sink_t *state = self->state;
    if (!state)
        return;
    if (state->producer) {
        if (state->in_transaction) {
            rd_kafka_error_t *error =
                rd_kafka_abort_transaction(state->producer, state->options->timeout_ms);
            if (error)
                rd_kafka_error_destroy(error);
        }
        //  A failed job: what was not delivered is dropped (a restore sends it again).
        rd_kafka_purge(state->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(state->producer, 0);
    }
    s_marker_consumer_destroy(&state->marker_consumer);
    if (state->topic)
        rd_kafka_topic_destroy(state->topic);
    if (state->producer)
        rd_kafka_destroy(state->producer);
    rill_buffer_destroy(&state->staged);
    free(state->pending);
    free(state);
    self->state = NULL;
}

static const rill_operator_vtable_t s_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
    .checkpoint_complete = s_checkpoint_complete,
};

int rill_op_kafka_sink_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SINK_KAFKA && self->spec->connector);
    s_sink_t *state = calloc(1, sizeof(s_sink_t));
    if (!state)
        return s_fail(self, "%s", "out of memory");
    self->vtable = &s_vtable;
    self->state = state;
    state->options = self->spec->connector;
    const rill_kafka_sink_t *options = state->options;
    state->exactly_once = options->guarantee == RILL_KAFKA_EXACTLY_ONCE;
    if (!(state->staged = rill_buffer_new()))
        return s_fail(self, "%s", "out of memory");
    char error[256];
    rd_kafka_conf_t *conf =
        rill_kafka_conf_new(options->brokers, options->client_id, error, sizeof error);
    //  Small batches soon (a stream, not a bulk load); topics are never made by a write.
    if (!conf || rill_kafka_conf_set(conf, "linger.ms", "5", error, sizeof error) ||
        rill_kafka_conf_set(conf, "allow.auto.create.topics", "false", error, sizeof error)) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka sink: %s", error);
    }
    if (state->exactly_once) {
        //  The same id for the same subtask of every attempt: the new producer fences the old.
        snprintf(state->transactional_id, sizeof state->transactional_id, "%.200s-%.200s-%d",
                 rill_plan_job_name(self->plan), self->op->name, self->index);
        if (rill_kafka_conf_set(conf, "transactional.id", state->transactional_id, error,
                                sizeof error)) {
            rd_kafka_conf_destroy(conf);
            return s_fail(self, "Kafka sink: %s", error);
        }
    }
    if (rill_kafka_conf_apply(conf, options->properties, error, sizeof error)) {
        rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka sink: %s", error);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, s_on_delivery);
    rd_kafka_conf_set_opaque(conf, state);
    state->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!state->producer) {
        rd_kafka_conf_destroy(conf);
        return s_fail(self, "Kafka sink: %s", error);
    }
    if (rill_kafka_partition_count(state->producer, options->brokers, options->topic,
                                   options->timeout_ms, error, sizeof error) < 0)
        return s_fail(self, "Kafka sink: %s", error);
    if (!(state->topic = rd_kafka_topic_new(state->producer, options->topic, NULL)))
        return s_fail(self, "Kafka sink: %s", rd_kafka_err2str(rd_kafka_last_error()));
    if (state->exactly_once) {
        rd_kafka_error_t *failed = rd_kafka_init_transactions(state->producer, options->timeout_ms);
        if (failed) {
            snprintf(self->error, sizeof self->error,
                     "Kafka sink: cannot start transactions on '%.100s': %s", options->brokers,
                     rd_kafka_error_string(failed));
            rd_kafka_error_destroy(failed);
            return -1;
        }
    }
    return 0;
}
