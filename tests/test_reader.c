/*  test_reader.c: a subtask's inputs (rill_reader): records handed on with their input and
    sender, END counted per channel, the input watermark as the minimum over channels (Flink's
    StatusWatermarkValve: ended channels count as +infinity, idle ones not at all) and idleness.
    The senders are played by one raw socket per receiver that writes frames by hand. */
#include "rill_frame.h"
#include "rill_metrics_private.h"
#include "testutil.h"

#include <string.h>

#define S_MAX_EVENTS 16

typedef struct {
    test_pipe_t *pipe;
    rill_reader_t *reader;
    zsock_t *sender;
    rill_buffer_t *frame;
    //  What the callbacks saw.
    char records[S_MAX_EVENTS][16];
    int senders[S_MAX_EVENTS];
    int64_t timestamps[S_MAX_EVENTS];
    int record_count;
    int64_t watermarks[S_MAX_EVENTS];
    bool idle[S_MAX_EVENTS];
    int records_before[S_MAX_EVENTS]; //  records handed on before each watermark call
    int watermark_count;
} s_fixture_t;

static int s_on_record(void *ctx, const rill_record_t *record, int input, int sender,
                       uint64_t trace, const rill_key_hint_t *key)
{
    s_fixture_t *self = ctx;
    assert_int_equal(input, 0);
    assert_true(self->record_count < S_MAX_EVENTS);
    snprintf(self->records[self->record_count], 16, "%.*s", (int)record->size,
             (const char *)record->data);
    self->senders[self->record_count] = sender;
    self->timestamps[self->record_count] = record->timestamp;
    self->record_count++;
    return 0;
}

static int s_on_watermark(void *ctx, int64_t watermark, bool idle)
{
    s_fixture_t *self = ctx;
    assert_true(self->watermark_count < S_MAX_EVENTS);
    self->watermarks[self->watermark_count] = watermark;
    self->idle[self->watermark_count] = idle;
    self->records_before[self->watermark_count] = self->record_count;
    self->watermark_count++;
    return 0;
}

//  Receiver 0 of a `senders` -> 1 edge with this pattern, its reader bound, a raw sender.
static s_fixture_t *s_fixture_new(int senders, int receivers, rill_pattern_t pattern)
{
    s_fixture_t *self = calloc(1, sizeof(s_fixture_t));
    self->pipe = test_pipe_new(senders, receivers, pattern, NULL, NULL);
    self->reader = rill_reader_new(self->pipe->plan, test_pipe_receiver(self->pipe, 0), NULL);
    assert_non_null(self->reader);
    rill_reader_on_watermark(self->reader, s_on_watermark, self);
    assert_int_equal(rill_reader_bind(self->reader), 0);
    self->sender = test_pipe_connect(self->pipe, 0);
    self->frame = rill_buffer_new();
    return self;
}

static void s_fixture_destroy(s_fixture_t **self_p)
{
    s_fixture_t *self = *self_p;
    rill_buffer_destroy(&self->frame);
    zsock_destroy(&self->sender);
    rill_reader_destroy(&self->reader);
    test_pipe_destroy(&self->pipe);
    free(self);
    *self_p = NULL;
}

//  Sends a control frame from sender and has the reader take it.
static void s_control(s_fixture_t *self, uint8_t kind, int sender)
{
    assert_int_equal(test_frame_send_control(self->sender, kind, (uint16_t)sender), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
}

//  Sends a DATA frame holding one watermark entry from sender and has the reader take it.
static void s_watermark(s_fixture_t *self, int sender, int64_t watermark)
{
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, (uint16_t)sender, 1);
    test_frame_add_watermark(self->frame, watermark);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
}

static void records_arrive_with_their_sender_and_timestamp(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD);
    assert_int_equal(rill_reader_socket_count(self->reader), 1);
    assert_non_null(rill_reader_handle(self->reader, 0));
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 2);
    test_frame_add_record(self->frame, "first", 10, 0);
    test_frame_add_record(self->frame, "second", 20, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
    assert_int_equal(self->record_count, 2);
    assert_string_equal(self->records[0], "first");
    assert_string_equal(self->records[1], "second");
    assert_int_equal(self->timestamps[0], 10);
    assert_int_equal(self->timestamps[1], 20);
    assert_int_equal(self->senders[0], 0);
    //  Nothing waiting: receive takes nothing and does not block.
    assert_int_equal(rill_reader_receive(self->reader, 0, 10, s_on_record, self), 0);
    assert_false(rill_reader_finished(self->reader));
    s_control(self, RILL_FRAME_END, 0);
    assert_true(rill_reader_finished(self->reader));
    s_fixture_destroy(&self);
}

typedef struct {
    uint64_t trace;
    int calls;
} s_traced_t;

static int s_note_trace(void *ctx, const rill_record_t *record, int input, int sender,
                        uint64_t trace, const rill_key_hint_t *key)
{
    s_traced_t *traced = ctx;
    traced->trace = trace;
    traced->calls++;
    return 0;
}

static void a_traced_record_is_handed_on_with_its_trace_id(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD);
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 2);
    test_frame_add_record(self->frame, "plain", 0, 0);
    test_frame_add_record(self->frame, "sampled", 0, 0xabcdef);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    s_traced_t traced = {0};
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_note_trace, &traced), 1);
    assert_int_equal(traced.calls, 2);
    assert_int_equal(traced.trace, 0xabcdef);
    s_fixture_destroy(&self);
}

static void records_from_several_senders_keep_each_senders_order(void **state)
{
    s_fixture_t *self = s_fixture_new(3, 1, RILL_PATTERN_REBALANCE);
    const char *texts[3][2] = {{"0a", "0b"}, {"1a", "1b"}, {"2a", "2b"}};
    for (int round = 0; round < 2; round++)
        for (int s = 0; s < 3; s++) {
            test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, (uint16_t)s, 1);
            test_frame_add_record(self->frame, texts[s][round], round, 0);
            assert_int_equal(test_frame_send(self->sender, self->frame), 0);
        }
    assert_int_equal(test_reader_take(self->reader, 0, 6, s_on_record, self), 6);
    assert_int_equal(self->record_count, 6);
    int next[3] = {0, 0, 0};
    for (int i = 0; i < 6; i++) {
        int s = self->senders[i];
        assert_string_equal(self->records[i], texts[s][next[s]++]);
    }
    s_fixture_destroy(&self);
}

static void the_input_finishes_once_every_channel_delivered_end(void **state)
{
    s_fixture_t *self = s_fixture_new(3, 1, RILL_PATTERN_HASH);
    s_control(self, RILL_FRAME_END, 1);
    assert_false(rill_reader_input_finished(self->reader, 0));
    s_control(self, RILL_FRAME_END, 0);
    assert_false(rill_reader_finished(self->reader));
    s_control(self, RILL_FRAME_END, 2);
    assert_true(rill_reader_input_finished(self->reader, 0));
    assert_true(rill_reader_finished(self->reader));
    //  Every channel ended: the watermark is +infinity.
    assert_int_equal(rill_reader_watermark(self->reader), INT64_MAX);
    s_fixture_destroy(&self);
}

static void a_second_end_or_data_after_end_from_one_sender_is_rejected(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE);
    s_control(self, RILL_FRAME_END, 0);
    assert_int_equal(test_frame_send_control(self->sender, RILL_FRAME_END, 0), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), -1);
    assert_non_null(strstr(rill_reader_error(self->reader), "after the sender's END"));
    assert_false(rill_reader_finished(self->reader)); //  one END does not count twice
    s_fixture_destroy(&self);

    self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE);
    s_control(self, RILL_FRAME_END, 1);
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 1);
    test_frame_add_record(self->frame, "late", 0, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), -1);
    assert_non_null(strstr(rill_reader_error(self->reader), "after the sender's END"));
    assert_int_equal(self->record_count, 0);
    s_fixture_destroy(&self);
}

static void a_sender_outside_the_rescale_group_is_rejected(void **state)
{
    //  Rescale 4 -> 2: receiver 0 hears senders 0 and 1 only, so it waits for two ENDs.
    s_fixture_t *self = s_fixture_new(4, 2, RILL_PATTERN_RESCALE);
    s_control(self, RILL_FRAME_END, 0);
    s_control(self, RILL_FRAME_END, 1);
    assert_true(rill_reader_finished(self->reader));
    s_fixture_destroy(&self);

    self = s_fixture_new(4, 2, RILL_PATTERN_RESCALE);
    assert_int_equal(test_frame_send_control(self->sender, RILL_FRAME_END, 2), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), -1);
    assert_non_null(strstr(rill_reader_error(self->reader), "no channel to this subtask"));
    s_fixture_destroy(&self);
}

static void a_frame_of_another_version_is_refused_saying_so(void **state)
{
    //  A peer built for another frame version (across hosts, a rolling upgrade): the error
    //  names the version and the input, not just "malformed", and nothing is handed on.
    const uint8_t versions[] = {2, 0};
    const char *messages[] = {"frame version 2, this build speaks 1",
                              "frame version 0, this build speaks 1"};
    for (size_t v = 0; v < sizeof versions; v++) {
        s_fixture_t *self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE);
        test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 1);
        test_frame_add_record(self->frame, "from elsewhere", 0, 0);
        test_frame_poke(self->frame, 1, versions[v]);
        assert_int_equal(test_frame_send(self->sender, self->frame), 0);
        assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), -1);
        const char *error = rill_reader_error(self->reader);
        if (!strstr(error, messages[v]) || !strstr(error, "on input 0"))
            fail_msg("error '%s' lacks '%s' or the input", error, messages[v]);
        assert_int_equal(self->record_count, 0);
        //  Only the version differs: the same frame from this build is decoded.
        test_frame_poke(self->frame, 1, RILL_FRAME_VERSION);
        assert_int_equal(test_frame_send(self->sender, self->frame), 0);
        assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
        assert_int_equal(self->record_count, 1);
        assert_string_equal(self->records[0], "from elsewhere");
        s_fixture_destroy(&self);
    }
}

static void the_watermark_is_the_minimum_over_channels_and_never_goes_back(void **state)
{
    s_fixture_t *self = s_fixture_new(3, 1, RILL_PATTERN_REBALANCE);
    assert_int_equal(rill_reader_watermark(self->reader), INT64_MIN);
    s_watermark(self, 0, 10);
    s_watermark(self, 1, 20);
    //  Sender 2 has sent none: it holds the minimum at "nothing yet".
    assert_int_equal(rill_reader_watermark(self->reader), INT64_MIN);
    assert_int_equal(self->watermark_count, 0);
    s_watermark(self, 2, 5);
    assert_int_equal(rill_reader_watermark(self->reader), 5);
    s_watermark(self, 2, 30);
    assert_int_equal(rill_reader_watermark(self->reader), 10);
    //  A channel's watermark that goes back is ignored; so is an advance of a non-minimum.
    s_watermark(self, 0, 3);
    s_watermark(self, 1, 25);
    assert_int_equal(rill_reader_watermark(self->reader), 10);
    s_watermark(self, 0, 40);
    assert_int_equal(rill_reader_watermark(self->reader), 25);
    //  Reported once per advance, in order, never idle.
    assert_int_equal(self->watermark_count, 3);
    assert_int_equal(self->watermarks[0], 5);
    assert_int_equal(self->watermarks[1], 10);
    assert_int_equal(self->watermarks[2], 25);
    for (int i = 0; i < 3; i++)
        assert_false(self->idle[i]);
    s_fixture_destroy(&self);
}

static void a_watermark_is_seen_in_order_with_the_records_around_it(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD);
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 3);
    test_frame_add_record(self->frame, "before", 1, 0);
    test_frame_add_watermark(self->frame, 7);
    test_frame_add_record(self->frame, "after", 9, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
    assert_int_equal(self->record_count, 2);
    assert_int_equal(self->watermark_count, 1);
    assert_int_equal(self->watermarks[0], 7);
    assert_int_equal(self->records_before[0], 1);
    s_fixture_destroy(&self);
}

static void an_ended_channel_no_longer_holds_the_watermark(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE);
    s_watermark(self, 0, 100);
    s_watermark(self, 1, 50);
    assert_int_equal(rill_reader_watermark(self->reader), 50);
    s_control(self, RILL_FRAME_END, 1);
    assert_int_equal(rill_reader_watermark(self->reader), 100);
    s_control(self, RILL_FRAME_END, 0);
    assert_int_equal(rill_reader_watermark(self->reader), INT64_MAX);
    assert_int_equal(self->watermarks[self->watermark_count - 1], INT64_MAX);
    s_fixture_destroy(&self);
}

static void an_idle_channel_is_left_out_of_the_minimum_until_it_sends_again(void **state)
{
    s_fixture_t *self = s_fixture_new(3, 1, RILL_PATTERN_REBALANCE);
    s_watermark(self, 0, 100);
    s_watermark(self, 1, 200);
    s_control(self, RILL_FRAME_IDLE, 2); //  sender 2 never sent a watermark
    assert_int_equal(rill_reader_watermark(self->reader), 100);
    assert_int_equal(self->watermark_count, 1);
    assert_false(self->idle[0]); //  one idle channel does not make the input idle
    //  Back from idleness, sender 2 counts again; its 150 is ahead of sender 0's 100.
    s_watermark(self, 2, 150);
    assert_int_equal(rill_reader_watermark(self->reader), 100);
    s_watermark(self, 0, 300);
    assert_int_equal(rill_reader_watermark(self->reader), 150);
    s_fixture_destroy(&self);
}

static void the_input_turns_idle_when_every_open_channel_is_idle_and_active_on_data(void **state)
{
    //  Only the idleness is checked here: which watermark an all-idle input emits is the
    //  watermark valve's business (issue 10), tested with the windows.
    s_fixture_t *self = s_fixture_new(2, 1, RILL_PATTERN_REBALANCE);
    s_control(self, RILL_FRAME_IDLE, 0);
    assert_int_equal(self->watermark_count, 0);
    s_control(self, RILL_FRAME_IDLE, 1);
    assert_int_equal(self->watermark_count, 1);
    assert_true(self->idle[0]);
    //  A record from one sender makes the input active again, before the record is handed on.
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 1);
    test_frame_add_record(self->frame, "wake", 0, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_on_record, self), 1);
    assert_int_equal(self->watermark_count, 2);
    assert_false(self->idle[1]);
    assert_int_equal(self->records_before[1], 0);
    assert_int_equal(self->record_count, 1);
    s_fixture_destroy(&self);
}

static int s_refuse(void *ctx, const rill_record_t *record, int input, int sender, uint64_t trace,
                    const rill_key_hint_t *key)
{
    int *calls = ctx;
    (*calls)++;
    return -1;
}

static int s_count_calls(void *ctx, const rill_record_t *record, int input, int sender,
                         uint64_t trace, const rill_key_hint_t *key)
{
    int *calls = ctx;
    (*calls)++;
    return 0;
}

typedef struct {
    rill_key_hint_t keys[4];
    bool carried[4];
    int calls;
} s_keys_seen_t;

static int s_note_key(void *ctx, const rill_record_t *record, int input, int sender, uint64_t trace,
                      const rill_key_hint_t *key)
{
    s_keys_seen_t *seen = ctx;
    assert_true(seen->calls < 4);
    seen->carried[seen->calls] = key != NULL;
    if (key)
        seen->keys[seen->calls] = *key;
    seen->calls++;
    return 0;
}

static void a_record_from_a_hash_edge_is_handed_on_with_the_key_it_carried(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_HASH);
    rill_key_hint_t range = {rill_key_hash("k", 1), 0, 1};
    rill_key_hint_t computed = {rill_key_hash("K", 1), -1, 1};
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 3);
    test_frame_add_keyed_record(self->frame, "k\t1", 5, 0, &range);
    test_frame_add_keyed_record(self->frame, "k\t2", 6, 0, &computed);
    test_frame_add_record(self->frame, "k\t3", 7, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    s_keys_seen_t seen = {0};
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_note_key, &seen), 1);
    assert_int_equal(seen.calls, 3);
    assert_true(seen.carried[0]);
    assert_int_equal(seen.keys[0].hash, range.hash);
    assert_int_equal(seen.keys[0].offset, 0);
    assert_int_equal(seen.keys[0].size, 1);
    assert_true(seen.carried[1]);
    assert_int_equal(seen.keys[1].hash, computed.hash);
    assert_true(seen.keys[1].offset < 0); //  a computed key: its extractor runs again
    assert_false(seen.carried[2]);        //  none carried: the operator extracts and hashes
    s_fixture_destroy(&self);
}

static void a_failing_record_callback_stops_the_frame(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 1, RILL_PATTERN_FORWARD);
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 2);
    test_frame_add_record(self->frame, "a", 0, 0);
    test_frame_add_record(self->frame, "b", 0, 0);
    assert_int_equal(test_frame_send(self->sender, self->frame), 0);
    int calls = 0;
    assert_int_equal(test_reader_take(self->reader, 0, 1, s_refuse, &calls), -1);
    assert_int_equal(calls, 1);
    s_fixture_destroy(&self);
}

static void records_received_are_counted_per_channel(void **state)
{
    test_pipe_t *pipe = test_pipe_new(2, 1, RILL_PATTERN_REBALANCE, NULL, NULL);
    rill_metrics_t *metrics = rill_metrics_new(pipe->plan);
    int receiver = test_pipe_receiver(pipe, 0);
    rill_reader_t *reader = rill_reader_new(pipe->plan, receiver, metrics);
    assert_int_equal(rill_reader_bind(reader), 0);
    zsock_t *sender = test_pipe_connect(pipe, 0);
    rill_buffer_t *frame = rill_buffer_new();
    int counts[2] = {3, 1};
    for (int s = 0; s < 2; s++) {
        test_frame_begin(frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, (uint16_t)s,
                         (uint32_t)counts[s] + 1);
        for (int r = 0; r < counts[s]; r++)
            test_frame_add_record(frame, "abc", 0, 0);
        test_frame_add_watermark(frame, 1); //  not a record: not counted
        assert_int_equal(test_frame_send(sender, frame), 0);
    }
    int calls = 0;
    assert_int_equal(test_reader_take(reader, 0, 2, s_count_calls, &calls), 2);
    assert_int_equal(calls, 4);
    const rill_plan_edge_t *edge = rill_plan_edge(pipe->plan, 0);
    for (int c = 0; c < edge->channel_count; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(pipe->plan, edge->first_channel + c);
        assert_int_equal(rill_metrics_channel(metrics, ch->id).records_received,
                         counts[ch->from_index]);
    }
    rill_subtask_metrics_t sub = rill_metrics_subtask(metrics, receiver);
    assert_int_equal(sub.records_in, 4);
    assert_int_equal(sub.bytes_in, 12);
    assert_int_equal(sub.batches_in, 2);
    rill_buffer_destroy(&frame);
    zsock_destroy(&sender);
    rill_reader_destroy(&reader);
    rill_metrics_destroy(&metrics);
    test_pipe_destroy(&pipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_arrive_with_their_sender_and_timestamp),
        cmocka_unit_test(a_traced_record_is_handed_on_with_its_trace_id),
        cmocka_unit_test(records_from_several_senders_keep_each_senders_order),
        cmocka_unit_test(the_input_finishes_once_every_channel_delivered_end),
        cmocka_unit_test(a_second_end_or_data_after_end_from_one_sender_is_rejected),
        cmocka_unit_test(a_sender_outside_the_rescale_group_is_rejected),
        cmocka_unit_test(a_frame_of_another_version_is_refused_saying_so),
        cmocka_unit_test(the_watermark_is_the_minimum_over_channels_and_never_goes_back),
        cmocka_unit_test(a_watermark_is_seen_in_order_with_the_records_around_it),
        cmocka_unit_test(an_ended_channel_no_longer_holds_the_watermark),
        cmocka_unit_test(an_idle_channel_is_left_out_of_the_minimum_until_it_sends_again),
        cmocka_unit_test(the_input_turns_idle_when_every_open_channel_is_idle_and_active_on_data),
        cmocka_unit_test(a_record_from_a_hash_edge_is_handed_on_with_the_key_it_carried),
        cmocka_unit_test(a_failing_record_callback_stops_the_frame),
        cmocka_unit_test(records_received_are_counted_per_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
