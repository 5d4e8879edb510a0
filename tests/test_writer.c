/*  test_writer.c: a subtask's outputs (rill_writer, Flink's RecordWriter): records batched per
    channel, a batch sent when full, when flushed, when its buffer timeout is due or before a
    control event; watermarks in band; routing per pattern; what it counts. The receivers are
    real readers, bound at the plan's endpoints; the frames are read raw from their sockets. */
#include "rill_frame.h"
#include "rill_metrics_private.h"
#include "rill_partitioner.h"
#include "rill_writer.h"
#include "testutil.h"

#include <string.h>

#define S_MAX_ENTRIES 64
#define S_NEVER_MS 3600000 //  a buffer timeout that never expires during a test

typedef struct {
    rill_frame_header_t header;
    size_t size;
    int entries;
    char texts[S_MAX_ENTRIES][32];
    int64_t timestamps[S_MAX_ENTRIES]; //  for a watermark entry: the watermark
    bool watermark[S_MAX_ENTRIES];
    rill_key_hint_t keys[S_MAX_ENTRIES]; //  hash 0: none carried
} s_frame_t;

typedef struct {
    test_pipe_t *pipe;
    rill_metrics_t *metrics;
    rill_reader_t *receivers[4];
    int receiver_count;
    rill_writer_t *writer;
} s_fixture_t;

//  Writer of sender `sender` on a senders -> receivers edge into operators of receiver_kind,
//  every receiver bound.
static s_fixture_t *s_fixture_new_into(int senders, int receivers, rill_pattern_t pattern,
                                       rill_op_kind_t receiver_kind, int sender, size_t batch_size,
                                       int buffer_timeout_ms, rill_partition_fn partition)
{
    s_fixture_t *self = calloc(1, sizeof(s_fixture_t));
    self->pipe = test_pipe_new_into(senders, receivers, pattern, receiver_kind, partition, NULL);
    self->metrics = rill_metrics_new(self->pipe->plan);
    self->receiver_count = receivers;
    for (int r = 0; r < receivers; r++) {
        self->receivers[r] =
            rill_reader_new(self->pipe->plan, test_pipe_receiver(self->pipe, r), NULL);
        assert_int_equal(rill_reader_bind(self->receivers[r]), 0);
    }
    self->writer = rill_writer_new(self->pipe->plan, test_pipe_sender(self->pipe, sender),
                                   self->metrics, batch_size, buffer_timeout_ms, NULL, NULL);
    assert_non_null(self->writer);
    assert_int_equal(rill_writer_connect(self->writer), 0);
    return self;
}

//  The same into maps.
static s_fixture_t *s_fixture_new(int senders, int receivers, rill_pattern_t pattern, int sender,
                                  size_t batch_size, int buffer_timeout_ms,
                                  rill_partition_fn partition)
{
    return s_fixture_new_into(senders, receivers, pattern, RILL_OP_MAP, sender, batch_size,
                              buffer_timeout_ms, partition);
}

static void s_fixture_destroy(s_fixture_t **self_p)
{
    s_fixture_t *self = *self_p;
    rill_writer_destroy(&self->writer);
    for (int r = 0; r < self->receiver_count; r++)
        rill_reader_destroy(&self->receivers[r]);
    rill_metrics_destroy(&self->metrics);
    test_pipe_destroy(&self->pipe);
    free(self);
    *self_p = NULL;
}

static int s_emit(s_fixture_t *self, const char *text, int64_t timestamp)
{
    rill_record_t record = {text, strlen(text), timestamp};
    return rill_writer_emit(self->writer, &record);
}

//  True when a frame is waiting at receiver r (no wait: only used where none may be).
static bool s_frame_waiting(s_fixture_t *self, int r)
{
    zmq_pollitem_t item = {rill_reader_handle(self->receivers[r], 0), 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, 0) == 1;
}

//  Waits (up to 10 s) for the next frame at receiver r and decodes it completely.
static void s_next_frame(s_fixture_t *self, int r, s_frame_t *frame)
{
    void *handle = rill_reader_handle(self->receivers[r], 0);
    zmq_pollitem_t item = {handle, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 10000) != 1)
        fail_msg("no frame reached receiver %d within 10 s", r);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, handle, 0) >= 0);
    memset(frame, 0, sizeof *frame);
    frame->size = zmq_msg_size(&msg);
    const uint8_t *at = zmq_msg_data(&msg), *end = at + frame->size;
    assert_int_equal(rill_frame_header_get(at, frame->size, &frame->header), 0);
    at += RILL_FRAME_HEADER_SIZE;
    assert_int_equal(frame->header.magic, RILL_FRAME_MAGIC);
    assert_true(frame->header.count <= S_MAX_ENTRIES);
    for (uint32_t i = 0; i < frame->header.count; i++) {
        rill_frame_entry_t entry = {{"", 0, RILL_NO_TIMESTAMP}, 0, {0, -1, 0}, 0};
        const char *why = NULL;
        int kind = rill_frame_get_entry(&at, end, &entry, &why);
        if (kind < 0)
            fail_msg("entry %u does not decode: %s", i, why);
        if (kind == RILL_ENTRY_IS_WATERMARK) {
            frame->watermark[i] = true;
            frame->timestamps[i] = entry.watermark;
            continue;
        }
        snprintf(frame->texts[i], sizeof frame->texts[i], "%.*s", (int)entry.record.size,
                 (const char *)entry.record.data);
        frame->timestamps[i] = entry.record.timestamp;
        frame->keys[i] = entry.key;
    }
    frame->entries = (int)frame->header.count;
    assert_ptr_equal(at, end); //  the writer leaves no byte unaccounted for
    zmq_msg_close(&msg);
}

static void records_emitted_together_travel_in_one_frame(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, S_NEVER_MS, NULL);
    assert_int_equal(s_emit(self, "one", 1), 0);
    assert_int_equal(s_emit(self, "two", 2), 0);
    assert_int_equal(s_emit(self, "three", 3), 0);
    assert_false(s_frame_waiting(self, 0)); //  batched, not sent
    assert_int_equal(rill_writer_flush(self->writer), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.header.kind, RILL_FRAME_DATA);
    assert_int_equal(frame.header.sender, 0);
    assert_int_equal(frame.entries, 3);
    assert_string_equal(frame.texts[0], "one");
    assert_string_equal(frame.texts[1], "two");
    assert_string_equal(frame.texts[2], "three");
    assert_int_equal(frame.timestamps[2], 3);
    assert_int_equal(rill_writer_records(self->writer), 3);
    //  A flush with nothing pending sends nothing.
    assert_int_equal(rill_writer_flush(self->writer), 0);
    assert_false(s_frame_waiting(self, 0));
    s_fixture_destroy(&self);
}

static void a_full_batch_is_sent_without_a_flush(void **state)
{
    //  Each "rec-NN" entry takes 10 + 6 bytes (flags, size, timestamp); 15 of them and the
    //  header fill the batch to the byte, so it goes at once and the 16th starts a new one.
    size_t batch = RILL_FRAME_HEADER_SIZE + 15 * 16;
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, batch, S_NEVER_MS, NULL);
    assert_int_equal(rill_frame_record_size(6, 0, 0, NULL), 16);
    for (int i = 0; i < 35; i++) {
        char text[8];
        snprintf(text, sizeof text, "rec-%02d", i);
        assert_int_equal(s_emit(self, text, i), 0);
    }
    s_frame_t frame;
    int expected[] = {15, 15, 5};
    int next = 0;
    for (int f = 0; f < 3; f++) {
        if (f == 2) {
            assert_false(s_frame_waiting(self, 0));
            assert_int_equal(rill_writer_flush(self->writer), 0);
        }
        s_next_frame(self, 0, &frame);
        assert_int_equal(frame.entries, expected[f]);
        assert_true(frame.size <= batch);
        for (int i = 0; i < frame.entries; i++, next++) {
            char text[16];
            snprintf(text, sizeof text, "rec-%02d", next);
            assert_string_equal(frame.texts[i], text);
        }
    }
    assert_int_equal(next, 35);
    rill_subtask_metrics_t counts = rill_metrics_subtask(self->metrics, 0);
    assert_int_equal(counts.records_out, 35);
    assert_int_equal(counts.batches_out, 3);
    assert_int_equal(counts.bytes_out, 35 * 6);
    s_fixture_destroy(&self);
}

static void a_record_larger_than_a_batch_gets_a_frame_of_its_own(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 256, S_NEVER_MS, NULL);
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    assert_int_equal(s_emit(self, "small", 0), 0);
    assert_int_equal(s_emit(self, big, 0), 0);
    assert_int_equal(s_emit(self, "after", 0), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame); //  the pending batch goes first, in order
    assert_int_equal(frame.entries, 1);
    assert_string_equal(frame.texts[0], "small");
    s_next_frame(self, 0, &frame); //  then the big one, at once
    assert_int_equal(frame.entries, 1);
    assert_int_equal(frame.size, RILL_FRAME_HEADER_SIZE + rill_frame_record_size(1000, 0, 0, NULL));
    assert_false(s_frame_waiting(self, 0));
    assert_int_equal(rill_writer_flush(self->writer), 0);
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.entries, 1);
    assert_string_equal(frame.texts[0], "after");
    s_fixture_destroy(&self);
}

static void end_flushes_the_data_first_then_follows_it(void **state)
{
    //  Sender 1 of 2: the control frame names it.
    s_fixture_t *self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE, 1, 4096, S_NEVER_MS, NULL);
    assert_int_equal(s_emit(self, "a", 0), 0);
    assert_int_equal(s_emit(self, "b", 0), 0);
    assert_int_equal(rill_writer_end(self->writer), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.header.kind, RILL_FRAME_DATA);
    assert_int_equal(frame.header.sender, 1);
    assert_int_equal(frame.entries, 2);
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.header.kind, RILL_FRAME_END);
    assert_int_equal(frame.header.sender, 1);
    assert_int_equal(frame.size, RILL_FRAME_HEADER_SIZE);
    s_fixture_destroy(&self);
}

static void idle_flushes_the_data_first_then_follows_it_on_every_channel(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 2, RILL_PATTERN_REBALANCE, 0, 4096, S_NEVER_MS, NULL);
    assert_int_equal(s_emit(self, "a", 0), 0);
    assert_int_equal(s_emit(self, "b", 0), 0);
    assert_int_equal(rill_writer_idle(self->writer), 0);
    for (int r = 0; r < 2; r++) {
        s_frame_t frame;
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.header.kind, RILL_FRAME_DATA);
        assert_int_equal(frame.entries, 1);
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.header.kind, RILL_FRAME_IDLE);
    }
    s_fixture_destroy(&self);
}

static void a_watermark_travels_inside_the_batch_between_its_records(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, S_NEVER_MS, NULL);
    assert_int_equal(s_emit(self, "before", 10), 0);
    assert_int_equal(rill_writer_watermark(self->writer, 42), 0);
    assert_int_equal(s_emit(self, "after", 50), 0);
    assert_false(s_frame_waiting(self, 0)); //  a watermark needs no flush of its own
    assert_int_equal(rill_writer_flush(self->writer), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.entries, 3);
    assert_false(frame.watermark[0]);
    assert_true(frame.watermark[1]);
    assert_int_equal(frame.timestamps[1], 42);
    assert_false(frame.watermark[2]);
    assert_string_equal(frame.texts[2], "after");
    //  Watermarks are not records.
    assert_int_equal(rill_writer_records(self->writer), 2);
    s_fixture_destroy(&self);
}

static void a_buffer_timeout_of_0_sends_every_record_and_watermark_at_once(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, 0, NULL);
    assert_int_equal(rill_writer_due_in_ms(self->writer, rill_clock_ns()), -1);
    s_frame_t frame;
    assert_int_equal(s_emit(self, "a", 0), 0);
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.entries, 1);
    assert_int_equal(s_emit(self, "b", 0), 0);
    s_next_frame(self, 0, &frame);
    assert_string_equal(frame.texts[0], "b");
    assert_int_equal(rill_writer_watermark(self->writer, 7), 0);
    s_next_frame(self, 0, &frame);
    assert_true(frame.watermark[0]);
    assert_int_equal(rill_writer_due_in_ms(self->writer, rill_clock_ns()), -1);
    s_fixture_destroy(&self);
}

static void pending_batches_go_when_their_buffer_timeout_is_due(void **state)
{
    //  The clock is passed in, so the test needs no waiting: "now" and "50 ms later".
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, 50, NULL);
    //  Every bound below holds however slow the machine: the deadline lies between 50 ms after
    //  `before` and 50 ms after `after`.
    uint64_t before = rill_clock_ns();
    assert_int_equal(rill_writer_due_in_ms(self->writer, before), -1); //  nothing pending
    assert_int_equal(s_emit(self, "a", 0), 0);
    uint64_t after = rill_clock_ns();
    assert_true(rill_writer_due_in_ms(self->writer, before) >= 50);
    assert_int_equal(rill_writer_flush_if_due(self->writer, before), 0);
    assert_false(s_frame_waiting(self, 0));
    //  A second record does not restart the timeout: the first one's deadline holds.
    assert_int_equal(s_emit(self, "b", 0), 0);
    uint64_t later = after + 50 * 1000000ull;
    assert_int_equal(rill_writer_due_in_ms(self->writer, later), 0);
    assert_int_equal(rill_writer_flush_if_due(self->writer, later), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.entries, 2);
    assert_int_equal(rill_writer_due_in_ms(self->writer, later), -1);
    s_fixture_destroy(&self);
}

static void the_buffer_timeout_runs_from_the_first_pending_record_of_any_channel(void **state)
{
    //  Rebalance 1 -> 2: "a" opens receiver 0's batch, "b" then opens receiver 1's. The
    //  deadline stays the one "a" set, and when it is due both batches go.
    s_fixture_t *self = s_fixture_new(1, 2, RILL_PATTERN_REBALANCE, 0, 4096, 50, NULL);
    assert_int_equal(s_emit(self, "a", 0), 0);
    uint64_t after = rill_clock_ns();
    assert_int_equal(s_emit(self, "b", 0), 0);
    uint64_t due = after + 50 * 1000000ull;
    assert_int_equal(rill_writer_due_in_ms(self->writer, due), 0);
    assert_int_equal(rill_writer_flush_if_due(self->writer, due), 0);
    for (int r = 0; r < 2; r++) {
        s_frame_t frame;
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.entries, 1);
        assert_string_equal(frame.texts[0], r == 0 ? "a" : "b");
    }
    assert_int_equal(rill_writer_due_in_ms(self->writer, due), -1);
    s_fixture_destroy(&self);
}

static void broadcast_sends_one_batch_to_every_receiver_and_counts_each_record_once(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 3, RILL_PATTERN_BROADCAST, 0, 4096, S_NEVER_MS, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s_emit(self, "hello", i), 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    for (int r = 0; r < 3; r++) {
        s_frame_t frame;
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.entries, 4);
        assert_int_equal(frame.timestamps[3], 3);
    }
    assert_int_equal(rill_writer_records(self->writer), 4);
    assert_int_equal(rill_metrics_subtask(self->metrics, 0).records_out, 4);
    //  Each channel counts what it carried.
    const rill_plan_edge_t *edge = rill_plan_edge(self->pipe->plan, 0);
    for (int c = 0; c < edge->channel_count; c++) {
        rill_channel_metrics_t channel =
            rill_metrics_channel(self->metrics, edge->first_channel + c);
        assert_int_equal(channel.records, 4);
        assert_int_equal(channel.batches, 1);
    }
    s_fixture_destroy(&self);
}

static void a_traced_record_leaves_its_batch_fill_and_send_times_per_receiver(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 2, RILL_PATTERN_BROADCAST, 0, 4096, S_NEVER_MS, NULL);
    FILE *file = tmpfile();
    rill_trace_t *trace = rill_trace_new(file, 1, self->pipe->plan);
    rill_writer_set_tracer(self->writer, trace);
    //  20 traced records and one that is not in one batch: it keeps the first
    //  RILL_TRACE_PER_BATCH and counts the rest; then one traced record in the next batch.
    for (uint64_t id = 1; id <= 20; id++) {
        rill_writer_set_trace(self->writer, id);
        assert_int_equal(s_emit(self, "traced", 0), 0);
    }
    rill_writer_set_trace(self->writer, 0);
    assert_int_equal(s_emit(self, "plain", 0), 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    rill_writer_set_trace(self->writer, 99);
    assert_int_equal(s_emit(self, "traced", 0), 0);
    rill_writer_set_trace(self->writer, 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    rill_trace_destroy(&trace);
    rewind(file);
    const rill_plan_t *plan = self->pipe->plan;
    int sender = test_pipe_sender(self->pipe, 0);
    int lines[2] = {0, 0}, seen_99 = 0;
    long long unsplit = -1, first_sent = 0;
    static char line[1 << 16]; //  the header holds the whole plan
    while (fgets(line, sizeof line, file)) {
        if (strstr(line, "\"rill_trace\""))
            continue; //  the header with the plan
        if (sscanf(line, "{\"rill_trace_unsplit\":%lld}", &unsplit) == 1)
            continue;
        long long id, subtask, to, channel, batched, sent;
        assert_int_equal(sscanf(line,
                                "{\"trace\":%lld,\"subtask\":%lld,\"to\":%lld,\"channel\":%lld,"
                                "\"batched\":%lld,\"sent\":%lld}",
                                &id, &subtask, &to, &channel, &batched, &sent),
                         6);
        assert_int_equal(subtask, sender);
        const rill_plan_channel_t *ch = rill_plan_channel(plan, (int)channel);
        assert_int_equal(ch->from_subtask, sender);
        assert_int_equal(ch->to_subtask, to);
        assert_true(batched <= sent);
        int r = to == test_pipe_receiver(self->pipe, 0) ? 0 : 1;
        assert_int_equal(to, test_pipe_receiver(self->pipe, r));
        if (id == 99) {
            seen_99++;
            assert_true(sent >= first_sent); //  the second batch left after the first
            continue;
        }
        assert_true(id >= 1 && id <= RILL_TRACE_PER_BATCH);
        first_sent = sent;
        lines[r]++;
    }
    fclose(file);
    assert_int_equal(lines[0], RILL_TRACE_PER_BATCH);
    assert_int_equal(lines[1], RILL_TRACE_PER_BATCH);
    assert_int_equal(seen_99, 2);
    assert_int_equal(unsplit, 2 * (20 - RILL_TRACE_PER_BATCH)); //  per receiver
    for (int r = 0; r < 2; r++)
        for (int batch = 0; batch < 2; batch++) {
            s_frame_t frame;
            s_next_frame(self, r, &frame);
        }
    s_fixture_destroy(&self);
}

static void hash_routes_each_record_to_the_owner_of_its_key_group(void **state)
{
    //  Into a keyed count: each record carries its key.
    s_fixture_t *self =
        s_fixture_new_into(1, 3, RILL_PATTERN_HASH, RILL_OP_REDUCE, 0, 4096, S_NEVER_MS, NULL);
    const char *records[] = {"apple\t1", "pear\t2", "fig\t3", "apple\t4", "kiwi\t5", "lime\t6"};
    int expected[3] = {0, 0, 0};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s_emit(self, records[i], 0), 0);
        const char *tab = strchr(records[i], '\t');
        expected[rill_key_group_receiver(rill_key_group(records[i], (size_t)(tab - records[i])),
                                         3)]++;
    }
    assert_int_equal(rill_writer_flush(self->writer), 0);
    for (int r = 0; r < 3; r++) {
        if (!expected[r]) {
            assert_false(s_frame_waiting(self, r));
            continue;
        }
        s_frame_t frame;
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.entries, expected[r]);
        for (int i = 0; i < frame.entries; i++) {
            const char *tab = strchr(frame.texts[i], '\t');
            size_t key_size = (size_t)(tab - frame.texts[i]);
            int group = rill_key_group(frame.texts[i], key_size);
            assert_int_equal(rill_key_group_receiver(group, 3), r);
            //  The key's hash came along, the one the receiver's keyed table would compute,
            //  with where the key lies, so the receiver neither extracts nor hashes it.
            assert_int_equal(frame.keys[i].hash, rill_key_hash(frame.texts[i], key_size));
            assert_int_equal(frame.keys[i].offset, 0);
            assert_int_equal(frame.keys[i].size, key_size);
        }
    }
    s_fixture_destroy(&self);
}

static void rescale_sends_only_within_the_local_group_in_turn(void **state)
{
    //  Rescale 2 -> 4 (Flink's RescalePartitioner): sender 1 feeds receivers 2 and 3 only.
    s_fixture_t *self = s_fixture_new(2, 4, RILL_PATTERN_RESCALE, 1, 4096, S_NEVER_MS, NULL);
    for (int i = 0; i < 6; i++)
        assert_int_equal(s_emit(self, "r", i), 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    for (int r = 2; r < 4; r++) {
        s_frame_t frame;
        s_next_frame(self, r, &frame);
        assert_int_equal(frame.entries, 3);
        assert_int_equal(frame.header.sender, 1);
        //  Round robin: the records alternate between the two.
        assert_int_equal(frame.timestamps[1] - frame.timestamps[0], 2);
    }
    s_fixture_destroy(&self);
}

static int s_out_of_range(const rill_record_t *in, const rill_key_t *key, int receivers, void *ctx)
{
    return receivers;
}

static void a_custom_partitioner_out_of_range_fails_the_emit_with_a_message(void **state)
{
    s_fixture_t *self =
        s_fixture_new(1, 2, RILL_PATTERN_CUSTOM, 0, 4096, S_NEVER_MS, s_out_of_range);
    assert_int_equal(s_emit(self, "k\t1", 0), -1);
    assert_non_null(strstr(rill_writer_error(self->writer), "out of range"));
    s_fixture_destroy(&self);
}

static void a_record_over_the_maximum_size_is_refused_before_it_is_read(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, S_NEVER_MS, NULL);
    //  The size alone is checked: the one byte behind data is never read.
    rill_record_t record = {"x", (size_t)RILL_RECORD_MAX_SIZE + 1, 0};
    assert_int_equal(rill_writer_emit(self->writer, &record), -1);
    assert_non_null(strstr(rill_writer_error(self->writer), "larger than"));
    s_fixture_destroy(&self);
}

typedef struct {
    int calls;
} s_blocked_t;

static int s_give_up(void *ctx)
{
    s_blocked_t *blocked = ctx;
    blocked->calls++;
    return -1;
}

static void a_full_channel_blocks_the_send_and_asks_its_owner_whether_to_give_up(void **state)
{
    //  Nobody reads receiver 0: after the high-water marks fill, a send blocks, the writer asks
    //  its owner, and the owner's "give up" ends the emit with an error instead of a hang.
    test_pipe_t *pipe = test_pipe_new(1, 1, RILL_PATTERN_REBALANCE, NULL, NULL);
    rill_metrics_t *metrics = rill_metrics_new(pipe->plan);
    rill_reader_t *receiver = rill_reader_new(pipe->plan, test_pipe_receiver(pipe, 0), NULL);
    assert_int_equal(rill_reader_bind(receiver), 0);
    s_blocked_t blocked = {0};
    rill_writer_t *writer =
        rill_writer_new(pipe->plan, test_pipe_sender(pipe, 0), metrics, 64, 0, s_give_up, &blocked);
    assert_int_equal(rill_writer_connect(writer), 0);
    rill_record_t record = {"payload", 7, 0};
    int sent = 0;
    while (sent < 100000 && rill_writer_emit(writer, &record) == 0)
        sent++;
    assert_true(sent < 100000);            //  it did block
    assert_true(sent >= RILL_CHANNEL_HWM); //  but only once the channel was full
    assert_int_equal(blocked.calls, 1);
    assert_non_null(strstr(rill_writer_error(writer), "send abandoned"));
    rill_writer_destroy(&writer);
    rill_reader_destroy(&receiver);
    rill_metrics_destroy(&metrics);
    test_pipe_destroy(&pipe);
}

static void records_are_counted_per_channel_by_the_sender(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 2, RILL_PATTERN_REBALANCE, 0, 4096, S_NEVER_MS, NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_emit(self, "abcd", i), 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    const rill_plan_edge_t *edge = rill_plan_edge(self->pipe->plan, 0);
    uint64_t records = 0;
    for (int c = 0; c < edge->channel_count; c++) {
        const rill_plan_channel_t *ch =
            rill_plan_channel(self->pipe->plan, edge->first_channel + c);
        rill_channel_metrics_t channel = rill_metrics_channel(self->metrics, ch->id);
        //  Round robin from receiver 0: three to it, two to receiver 1; one batch each, whose
        //  bytes are the whole frame.
        assert_int_equal(channel.records, ch->to_index == 0 ? 3 : 2);
        assert_int_equal(channel.batches, 1);
        assert_int_equal(channel.bytes,
                         RILL_FRAME_HEADER_SIZE +
                             channel.records * rill_frame_record_size(4, 1, 0, NULL));
        records += channel.records;
    }
    assert_int_equal(records, 5);
    rill_subtask_metrics_t counts = rill_metrics_subtask(self->metrics, 0);
    assert_int_equal(counts.records_out, 5);
    assert_int_equal(counts.bytes_out, 20);
    assert_int_equal(counts.batches_out, 2);
    s_fixture_destroy(&self);
}

static void a_hash_edge_into_an_operator_that_keys_nothing_carries_no_key(void **state)
{
    //  The test pipe's hash edge feeds a map: the key's hash and range would be wasted bytes.
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_HASH, 0, 4096, S_NEVER_MS, NULL);
    assert_int_equal(s_emit(self, "apple\t1", RILL_NO_TIMESTAMP), 0);
    assert_int_equal(rill_writer_flush(self->writer), 0);
    s_frame_t frame;
    s_next_frame(self, 0, &frame);
    assert_int_equal(frame.keys[0].hash, 0);
    assert_int_equal(frame.size, RILL_FRAME_HEADER_SIZE + 2 + 7);
    s_fixture_destroy(&self);
}

static void other_patterns_carry_no_key(void **state)
{
    rill_pattern_t patterns[] = {RILL_PATTERN_FORWARD, RILL_PATTERN_REBALANCE,
                                 RILL_PATTERN_BROADCAST};
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        s_fixture_t *self = s_fixture_new(1, 1, patterns[p], 0, 4096, S_NEVER_MS, NULL);
        assert_int_equal(s_emit(self, "apple\t1", RILL_NO_TIMESTAMP), 0);
        assert_int_equal(rill_writer_flush(self->writer), 0);
        s_frame_t frame;
        s_next_frame(self, 0, &frame);
        assert_int_equal(frame.entries, 1);
        assert_int_equal(frame.keys[0].hash, 0);
        assert_int_equal(frame.timestamps[0], RILL_NO_TIMESTAMP);
        //  Header, then flags, size and the 7 bytes: no timestamp, no key.
        assert_int_equal(frame.size, RILL_FRAME_HEADER_SIZE + 2 + 7);
        s_fixture_destroy(&self);
    }
}

//  Sends `batches` full batches to receiver 0 and has its reader take and release each one
//  before the next is sent.
static void s_send_and_consume(s_fixture_t *self, int batches)
{
    for (int b = 0; b < batches; b++) {
        assert_int_equal(s_emit(self, "a record of some bytes", 0), 0);
        assert_int_equal(rill_writer_flush(self->writer), 0);
        s_frame_t frame;
        s_next_frame(self, 0, &frame); //  received, decoded, closed: ZeroMQ frees it
        assert_int_equal(frame.entries, 1);
    }
}

static void a_batch_buffer_comes_back_to_the_writer_once_its_frame_is_received(void **state)
{
    //  Steady state does no malloc: a channel whose frames are taken as they come needs one
    //  buffer, however many batches go through it.
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 4096, S_NEVER_MS, NULL);
    uint64_t allocated, reused;
    rill_writer_buffers(self->writer, &allocated, &reused);
    assert_int_equal(allocated, 0); //  lazily: nothing sent, nothing taken
    s_send_and_consume(self, 50);
    rill_writer_buffers(self->writer, &allocated, &reused);
    assert_int_equal(allocated, 1);
    assert_int_equal(reused, 49);
    s_fixture_destroy(&self);
}

static void a_channel_that_carries_nothing_takes_no_buffer(void **state)
{
    //  Hash 1 -> 4 with every record of one key: one channel is used, three cost nothing.
    s_fixture_t *self = s_fixture_new(1, 4, RILL_PATTERN_HASH, 0, 4096, S_NEVER_MS, NULL);
    for (int i = 0; i < 100; i++)
        assert_int_equal(s_emit(self, "same key\t1", 0), 0);
    uint64_t allocated, reused;
    rill_writer_buffers(self->writer, &allocated, &reused);
    assert_int_equal(allocated, 1);
    s_fixture_destroy(&self);
}

static void buffers_in_flight_when_the_writer_goes_are_freed_by_their_receivers(void **state)
{
    //  Batches still queued at a receiver outlive their writer: they hold the pool, and the
    //  last one returned frees it (ASan and valgrind see nothing leaked or used after free).
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD, 0, 64, S_NEVER_MS, NULL);
    for (int b = 0; b < 3; b++) {
        assert_int_equal(s_emit(self, "queued", b), 0);
        assert_int_equal(rill_writer_flush(self->writer), 0);
    }
    //  A record larger than a batch: its buffer is not the pool's size, and is freed, not kept.
    char big[200];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(s_emit(self, big, 3), 0);
    rill_writer_destroy(&self->writer);
    for (int b = 0; b < 4; b++) {
        s_frame_t frame;
        s_next_frame(self, 0, &frame);
        assert_int_equal(frame.entries, 1);
        assert_int_equal(frame.timestamps[0], b);
    }
    s_fixture_destroy(&self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_emitted_together_travel_in_one_frame),
        cmocka_unit_test(a_full_batch_is_sent_without_a_flush),
        cmocka_unit_test(a_record_larger_than_a_batch_gets_a_frame_of_its_own),
        cmocka_unit_test(end_flushes_the_data_first_then_follows_it),
        cmocka_unit_test(idle_flushes_the_data_first_then_follows_it_on_every_channel),
        cmocka_unit_test(a_watermark_travels_inside_the_batch_between_its_records),
        cmocka_unit_test(a_buffer_timeout_of_0_sends_every_record_and_watermark_at_once),
        cmocka_unit_test(pending_batches_go_when_their_buffer_timeout_is_due),
        cmocka_unit_test(the_buffer_timeout_runs_from_the_first_pending_record_of_any_channel),
        cmocka_unit_test(broadcast_sends_one_batch_to_every_receiver_and_counts_each_record_once),
        cmocka_unit_test(a_traced_record_leaves_its_batch_fill_and_send_times_per_receiver),
        cmocka_unit_test(hash_routes_each_record_to_the_owner_of_its_key_group),
        cmocka_unit_test(rescale_sends_only_within_the_local_group_in_turn),
        cmocka_unit_test(a_custom_partitioner_out_of_range_fails_the_emit_with_a_message),
        cmocka_unit_test(a_record_over_the_maximum_size_is_refused_before_it_is_read),
        cmocka_unit_test(a_full_channel_blocks_the_send_and_asks_its_owner_whether_to_give_up),
        cmocka_unit_test(records_are_counted_per_channel_by_the_sender),
        cmocka_unit_test(a_hash_edge_into_an_operator_that_keys_nothing_carries_no_key),
        cmocka_unit_test(other_patterns_carry_no_key),
        cmocka_unit_test(a_batch_buffer_comes_back_to_the_writer_once_its_frame_is_received),
        cmocka_unit_test(a_channel_that_carries_nothing_takes_no_buffer),
        cmocka_unit_test(buffers_in_flight_when_the_writer_goes_are_freed_by_their_receivers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
