/*  test_frame.c: the wire format of one frame (rill_frame.h): records encoded then decoded,
    and frames crafted by hand (truncated, malformed, huge lengths) rejected by the decoder in
    the reader with a message and without reading a byte past the frame (run it under ASan:
    every truncated record below sits in a heap block of exactly its own size). The frame has
    no version field: its magic byte is the only check that a frame is ours. */
#include "rill_frame.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void a_record_put_then_got_has_the_same_bytes_and_timestamp(void **state)
{
    uint8_t frame[64];
    size_t size = rill_frame_record_size(5, 0);
    assert_int_equal(size, RILL_RECORD_HEADER_SIZE + 5);
    uint8_t *end = rill_frame_put_record(frame, "hello", 5, 1234567, 0);
    assert_ptr_equal(end, frame + size);

    const uint8_t *at = frame;
    rill_record_t record;
    uint64_t trace = 99;
    assert_int_equal(rill_frame_get_record(&at, frame + size, &record, &trace), 0);
    assert_ptr_equal(at, frame + size);
    assert_int_equal(record.size, 5);
    assert_memory_equal(record.data, "hello", 5);
    assert_int_equal(record.timestamp, 1234567);
    assert_int_equal(trace, 0);
}

static void a_traced_record_carries_its_trace_id_after_the_timestamp(void **state)
{
    uint8_t frame[64];
    size_t size = rill_frame_record_size(3, 0xfeedbeefcafeull);
    assert_int_equal(size, RILL_RECORD_HEADER_SIZE + 8 + 3);
    rill_frame_put_record(frame, "abc", 3, RILL_NO_TIMESTAMP, 0xfeedbeefcafeull);
    const uint8_t *at = frame;
    rill_record_t record;
    uint64_t trace = 0;
    assert_int_equal(rill_frame_get_record(&at, frame + size, &record, &trace), 0);
    assert_int_equal(trace, 0xfeedbeefcafeull);
    assert_int_equal(record.size, 3); //  the traced bit is not part of the size
    assert_memory_equal(record.data, "abc", 3);
    assert_int_equal(record.timestamp, RILL_NO_TIMESTAMP);
}

static void records_follow_one_another_and_an_empty_record_is_a_record(void **state)
{
    uint8_t frame[128];
    uint8_t *at = frame;
    at = rill_frame_put_record(at, "one", 3, 1, 0);
    at = rill_frame_put_record(at, NULL, 0, 2, 0);
    at = rill_frame_put_record(at, "three", 5, 3, 7);
    const uint8_t *end = at;
    const uint8_t *read = frame;
    const char *texts[] = {"one", "", "three"};
    for (int i = 0; i < 3; i++) {
        rill_record_t record;
        uint64_t trace;
        assert_int_equal(rill_frame_get_record(&read, end, &record, &trace), 0);
        assert_int_equal(record.size, strlen(texts[i]));
        assert_memory_equal(record.data, texts[i], record.size);
        assert_int_equal(record.timestamp, i + 1);
        assert_int_equal(trace, i == 2 ? 7 : 0);
    }
    assert_ptr_equal(read, end);
}

static void a_watermark_entry_is_told_apart_from_a_record(void **state)
{
    rill_buffer_t *frame = rill_buffer_new();
    test_frame_add_watermark(frame, -42);
    test_frame_add_record(frame, "x", 5, 0);
    const uint8_t *at = rill_buffer_data(frame);
    int64_t watermark = 0;
    assert_int_equal(rill_frame_get_watermark(at, &watermark), 1);
    assert_int_equal(watermark, -42);
    watermark = 0;
    assert_int_equal(rill_frame_get_watermark(at + RILL_RECORD_HEADER_SIZE, &watermark), 0);
    assert_int_equal(watermark, 0);
    //  No record can be mistaken for the marker, not even the largest one traced.
    assert_true((RILL_RECORD_MAX_SIZE | RILL_RECORD_TRACED) != RILL_ENTRY_WATERMARK);
    rill_buffer_destroy(&frame);
}

//  Decodes the first `length` bytes of an encoded record from a heap block of exactly that
//  size, so ASan sees any read past it.
static int s_decode_prefix(const uint8_t *encoded, size_t length)
{
    uint8_t *copy = malloc(length ? length : 1);
    assert_non_null(copy);
    memcpy(copy, encoded, length);
    const uint8_t *at = copy;
    rill_record_t record = {0};
    uint64_t trace = 0;
    int rc = rill_frame_get_record(&at, copy + length, &record, &trace);
    if (rc)
        assert_ptr_equal(at, copy); //  a rejected record leaves the position alone
    free(copy);
    return rc;
}

static void every_truncation_of_a_record_is_rejected(void **state)
{
    uint8_t encoded[64];
    for (int traced = 0; traced < 2; traced++) {
        uint64_t trace = traced ? 0x1122334455667788ull : 0;
        size_t size = rill_frame_record_size(11, trace);
        rill_frame_put_record(encoded, "hello world", 11, 77, trace);
        for (size_t length = 0; length < size; length++)
            if (s_decode_prefix(encoded, length) != -1)
                fail_msg("a record cut to %zu of %zu bytes (traced %d) was accepted", length, size,
                         traced);
        assert_int_equal(s_decode_prefix(encoded, size), 0);
    }
}

//  A record header claiming `size` bytes followed by `present` bytes, in an exact heap block.
static int s_decode_claim(uint32_t size, size_t present)
{
    size_t length = RILL_RECORD_HEADER_SIZE + present;
    uint8_t *encoded = calloc(1, length);
    memcpy(encoded, &size, sizeof size);
    int rc = s_decode_prefix(encoded, length);
    free(encoded);
    return rc;
}

static void a_length_past_the_end_or_a_huge_length_is_rejected(void **state)
{
    assert_int_equal(s_decode_claim(100, 5), -1);
    assert_int_equal(s_decode_claim(6, 5), -1);
    assert_int_equal(s_decode_claim(5, 5), 0);
    assert_int_equal(s_decode_claim(RILL_RECORD_MAX_SIZE, 16), -1);
    assert_int_equal(s_decode_claim(0x7fffffffu, 16), -1);
    //  Traced: the trace id and the body must both fit.
    assert_int_equal(s_decode_claim(RILL_RECORD_TRACED | 0, 7), -1);
    assert_int_equal(s_decode_claim(RILL_RECORD_TRACED | 0, 8), 0);
    assert_int_equal(s_decode_claim(RILL_RECORD_TRACED | RILL_RECORD_MAX_SIZE, 64), -1);
}

//  ---- crafted frames through the decoder (the reader of receiver 0 on a 2 -> 1 edge)

typedef struct {
    test_pipe_t *pipe;
    rill_reader_t *reader;
    zsock_t *sender;
    rill_buffer_t *frame;
    int records;
} s_wire_t;

static int s_count_record(void *ctx, const rill_record_t *record, int input, int sender,
                          uint64_t trace)
{
    s_wire_t *wire = ctx;
    wire->records++;
    return 0;
}

static int s_wire_setup(void **state)
{
    s_wire_t *wire = calloc(1, sizeof(s_wire_t));
    wire->pipe = test_pipe_new(2, 1, RILL_PATTERN_REBALANCE, NULL, NULL);
    wire->reader = rill_reader_new(wire->pipe->plan, test_pipe_receiver(wire->pipe, 0), NULL);
    assert_non_null(wire->reader);
    assert_int_equal(rill_reader_bind(wire->reader), 0);
    wire->sender = test_pipe_connect(wire->pipe, 0);
    wire->frame = rill_buffer_new();
    *state = wire;
    return 0;
}

static int s_wire_teardown(void **state)
{
    s_wire_t *wire = *state;
    rill_buffer_destroy(&wire->frame);
    zsock_destroy(&wire->sender);
    rill_reader_destroy(&wire->reader);
    test_pipe_destroy(&wire->pipe);
    free(wire);
    return 0;
}

//  Sends the frame and expects the decoder to reject it with a message containing `why`.
static void s_expect_rejected(s_wire_t *wire, const char *why)
{
    assert_int_equal(test_frame_send(wire->sender, wire->frame), 0);
    assert_int_equal(test_reader_take(wire->reader, 0, 1, s_count_record, wire), -1);
    const char *error = rill_reader_error(wire->reader);
    if (!strstr(error, "malformed frame") || !strstr(error, why))
        fail_msg("error '%s' lacks '%s'", error, why);
}

static void a_well_formed_frame_is_decoded_record_by_record(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 3);
    test_frame_add_record(wire->frame, "a", 1, 0);
    test_frame_add_watermark(wire->frame, 0);
    test_frame_add_record(wire->frame, "b", 2, 5);
    assert_int_equal(test_frame_send(wire->sender, wire->frame), 0);
    assert_int_equal(test_reader_take(wire->reader, 0, 1, s_count_record, wire), 1);
    assert_int_equal(wire->records, 2);
}

static void a_frame_shorter_than_its_header_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_END, 0, 0);
    rill_buffer_t *short_frame = rill_buffer_new();
    rill_buffer_set(short_frame, rill_buffer_data(wire->frame), sizeof(rill_frame_header_t) - 1);
    rill_buffer_destroy(&wire->frame);
    wire->frame = short_frame;
    s_expect_rejected(wire, "shorter than its header");
    assert_false(rill_reader_finished(wire->reader));
}

static void an_empty_frame_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    rill_buffer_reset(wire->frame);
    s_expect_rejected(wire, "shorter than its header");
}

static void a_frame_with_a_bad_magic_byte_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, 'X', RILL_FRAME_DATA, 0, 1);
    test_frame_add_record(wire->frame, "a", 1, 0);
    s_expect_rejected(wire, "bad magic byte");
    assert_int_equal(wire->records, 0);
}

static void a_frame_of_an_unknown_kind_is_rejected(void **state)
{
    uint8_t kinds[] = {0, 3, 5, 255};
    for (size_t k = 0; k < sizeof kinds; k++) {
        s_wire_setup(state);
        s_wire_t *wire = *state;
        test_frame_begin(wire->frame, RILL_FRAME_MAGIC, kinds[k], 0, 0);
        s_expect_rejected(wire, "unknown frame kind");
        assert_false(rill_reader_finished(wire->reader));
        s_wire_teardown(state);
    }
}

static void a_frame_from_a_sender_with_no_channel_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 2, 1);
    test_frame_add_record(wire->frame, "a", 1, 0);
    s_expect_rejected(wire, "from a sender with no channel");
    assert_int_equal(wire->records, 0);
}

static void a_count_past_the_last_entry_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 3);
    test_frame_add_record(wire->frame, "a", 1, 0);
    test_frame_add_record(wire->frame, "b", 1, 0);
    s_expect_rejected(wire, "truncated record");
}

static void a_huge_count_with_no_entries_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, UINT32_MAX);
    s_expect_rejected(wire, "truncated record");
    assert_int_equal(wire->records, 0);
}

static void a_record_length_past_the_end_of_the_frame_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    //  A record header claiming 1000 bytes, then five of them. The frame is larger than
    //  ZeroMQ's in-message limit, so its bytes live in a heap block of their own (ASan).
    uint32_t size = 1000;
    int64_t timestamp = 0;
    rill_buffer_append(wire->frame, &size, sizeof size);
    rill_buffer_append(wire->frame, &timestamp, sizeof timestamp);
    rill_buffer_append(wire->frame, "abcde", 5);
    s_expect_rejected(wire, "truncated record");
    assert_int_equal(wire->records, 0);
}

static void a_huge_record_length_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    uint32_t size = RILL_RECORD_MAX_SIZE | RILL_RECORD_TRACED;
    int64_t timestamp = 0;
    uint64_t trace = 1;
    rill_buffer_append(wire->frame, &size, sizeof size);
    rill_buffer_append(wire->frame, &timestamp, sizeof timestamp);
    rill_buffer_append(wire->frame, &trace, sizeof trace);
    rill_buffer_append(wire->frame, "0123456789", 10);
    s_expect_rejected(wire, "truncated record");
}

static void a_watermark_entry_cut_short_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    uint32_t marker = RILL_ENTRY_WATERMARK;
    rill_buffer_append(wire->frame, &marker, sizeof marker);
    rill_buffer_append(wire->frame, "\1\2\3", 3); //  3 of the watermark's 8 bytes
    s_expect_rejected(wire, "truncated record");
}

static void bytes_after_the_last_counted_entry_are_rejected(void **state)
{
    //  A count that says less than the frame holds would drop the records after it silently.
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    test_frame_add_record(wire->frame, "kept", 1, 0);
    test_frame_add_record(wire->frame, "lost", 2, 0);
    s_expect_rejected(wire, "bytes after its last entry");
}

static void a_control_frame_with_a_body_is_rejected(void **state)
{
    //  END and IDLE are a header alone; anything after it is not ours to ignore.
    uint8_t kinds[] = {RILL_FRAME_END, RILL_FRAME_IDLE};
    for (size_t k = 0; k < sizeof kinds; k++) {
        s_wire_setup(state);
        s_wire_t *wire = *state;
        test_frame_begin(wire->frame, RILL_FRAME_MAGIC, kinds[k], 0, 1);
        test_frame_add_record(wire->frame, "stray", 0, 0);
        s_expect_rejected(wire, "bytes after its last entry");
        assert_false(rill_reader_input_finished(wire->reader, 0));
        s_wire_teardown(state);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_record_put_then_got_has_the_same_bytes_and_timestamp),
        cmocka_unit_test(a_traced_record_carries_its_trace_id_after_the_timestamp),
        cmocka_unit_test(records_follow_one_another_and_an_empty_record_is_a_record),
        cmocka_unit_test(a_watermark_entry_is_told_apart_from_a_record),
        cmocka_unit_test(every_truncation_of_a_record_is_rejected),
        cmocka_unit_test(a_length_past_the_end_or_a_huge_length_is_rejected),
        cmocka_unit_test_setup_teardown(a_well_formed_frame_is_decoded_record_by_record,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_frame_shorter_than_its_header_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(an_empty_frame_is_rejected, s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_frame_with_a_bad_magic_byte_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test(a_frame_of_an_unknown_kind_is_rejected),
        cmocka_unit_test_setup_teardown(a_frame_from_a_sender_with_no_channel_is_rejected,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_count_past_the_last_entry_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_huge_count_with_no_entries_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_record_length_past_the_end_of_the_frame_is_rejected,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_huge_record_length_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_watermark_entry_cut_short_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(bytes_after_the_last_counted_entry_are_rejected,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test(a_control_frame_with_a_body_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
