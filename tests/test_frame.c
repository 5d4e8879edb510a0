/*  test_frame.c: the wire format of one frame (rill_frame.h): entries encoded then decoded in
    every combination of their flags, and entries and frames crafted by hand (truncated,
    malformed, unknown flags, varints not in their shortest form, huge lengths) rejected by the
    decoder with a message and without reading a byte past the frame (run it under ASan: every
    truncated entry below sits in a heap block of exactly its own size). The header and the
    entries' integers are checked against exact byte images, which hold on any host: frames
    cross hosts over tcp, so the layout is little-endian by definition, not by accident. */
#include "rill_frame.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

//  ---- the header

static void a_header_put_then_got_is_the_same_header(void **state)
{
    //  Every kind, and each field at its extremes.
    const rill_frame_header_t headers[] = {
        {RILL_FRAME_MAGIC, RILL_FRAME_DATA, 3, 1638, 0},
        {RILL_FRAME_MAGIC, RILL_FRAME_BARRIER, UINT16_MAX, UINT32_MAX, INT64_MAX},
        {RILL_FRAME_MAGIC, RILL_FRAME_END, 0, 0, INT64_MIN},
        {RILL_FRAME_MAGIC, RILL_FRAME_IDLE, 0x0102, 0x03040506, -1},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        //  One byte more than a header, to see that putting one writes exactly its size, and
        //  that a frame longer than its header (entries follow) reads the same.
        uint8_t bytes[RILL_FRAME_HEADER_SIZE + 1];
        memset(bytes, 0xee, sizeof bytes);
        rill_frame_header_put(bytes, &headers[i]);
        assert_int_equal(bytes[RILL_FRAME_HEADER_SIZE], 0xee);
        for (size_t size = RILL_FRAME_HEADER_SIZE; size <= sizeof bytes; size++) {
            rill_frame_header_t got;
            memset(&got, 0, sizeof got);
            assert_int_equal(rill_frame_header_get(bytes, size, &got), 0);
            assert_int_equal(got.magic, RILL_FRAME_MAGIC);
            assert_int_equal(got.kind, headers[i].kind);
            assert_int_equal(got.sender, headers[i].sender);
            assert_int_equal(got.count, headers[i].count);
            assert_int_equal(got.value, headers[i].value);
        }
    }
}

static void a_header_is_the_same_twenty_bytes_on_every_host(void **state)
{
    //  Fields whose bytes all differ, so any byte out of place shows; the layout is the one
    //  rill_frame.h documents, integers little-endian whatever the host's order.
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_BARRIER, 0x0102, 0x03040506,
                                  0x0708090a0b0c0d0e};
    const uint8_t expected[] = {
        0x52, 0x01, 0x08, 0x00,                        //  magic 'R', version 1, kind, reserved
        0x02, 0x01, 0x00, 0x00,                        //  sender, reserved
        0x06, 0x05, 0x04, 0x03,                        //  count
        0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07 //  value
    };
    assert_int_equal(RILL_FRAME_HEADER_SIZE, sizeof expected);
    assert_int_equal(RILL_FRAME_VERSION, 1);
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    assert_memory_equal(bytes, expected, sizeof expected);
    //  And the image reads back as those fields: the decoder swaps on a big-endian host too.
    rill_frame_header_t got;
    assert_int_equal(rill_frame_header_get(expected, sizeof expected, &got), 0);
    assert_int_equal(got.kind, RILL_FRAME_BARRIER);
    assert_int_equal(got.sender, 0x0102);
    assert_int_equal(got.count, 0x03040506);
    assert_int_equal(got.value, 0x0708090a0b0c0d0e);
    //  A negative value goes as two's complement.
    header.value = -2;
    rill_frame_header_put(bytes, &header);
    const uint8_t minus_two[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(bytes + 12, minus_two, sizeof minus_two);
}

//  rill_frame_header_get on the first `size` bytes of `bytes`, from a heap block of exactly
//  that size (ASan sees a read past it). Asserts that a refused header leaves h alone.
static int s_get_header(const uint8_t *bytes, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, size);
    rill_frame_header_t h, untouched;
    memset(&h, 0x5a, sizeof h);
    memcpy(&untouched, &h, sizeof h);
    int rc = rill_frame_header_get(copy, size, &h);
    if (rc)
        assert_memory_equal(&h, &untouched, sizeof h);
    free(copy);
    return rc;
}

static void a_header_of_another_version_is_refused(void **state)
{
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 0, 0};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    assert_int_equal(s_get_header(bytes, sizeof bytes), 0);
    const uint8_t versions[] = {0, 2, 0x81, 255};
    for (size_t v = 0; v < sizeof versions; v++) {
        bytes[1] = versions[v];
        assert_int_equal(s_get_header(bytes, sizeof bytes), -1);
    }
}

static void a_header_with_a_reserved_byte_set_is_refused(void **state)
{
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_END, 1, 0, 0};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    const size_t reserved[] = {3, 6, 7};
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
        for (unsigned bit = 1; bit < 0x100; bit <<= 1) {
            rill_frame_header_put(bytes, &header);
            bytes[reserved[r]] = (uint8_t)bit;
            if (s_get_header(bytes, sizeof bytes) != -1)
                fail_msg("reserved byte %zu set to %#x was accepted", reserved[r], bit);
        }
}

static void a_header_with_a_bad_magic_byte_is_refused(void **state)
{
    rill_frame_header_t header = {'X', RILL_FRAME_END, 0, 0, 0};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    assert_int_equal(s_get_header(bytes, sizeof bytes), -1);
}

static void a_header_cut_short_is_refused(void **state)
{
    rill_frame_header_t header = {RILL_FRAME_MAGIC, RILL_FRAME_BARRIER, 7, 9, 42};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    for (size_t size = 0; size < RILL_FRAME_HEADER_SIZE; size++)
        if (s_get_header(bytes, size) != -1)
            fail_msg("a header cut to %zu of %d bytes was accepted", size, RILL_FRAME_HEADER_SIZE);
    assert_int_equal(s_get_header(bytes, RILL_FRAME_HEADER_SIZE), 0);
}

static void the_little_endian_helpers_put_the_low_byte_first(void **state)
{
    uint8_t bytes[8];
    rill_frame_put_le16(bytes, 0x0102);
    assert_memory_equal(bytes, ((uint8_t[]){0x02, 0x01}), 2);
    assert_int_equal(rill_frame_get_le16(bytes), 0x0102);
    rill_frame_put_le32(bytes, 0x01020304);
    assert_memory_equal(bytes, ((uint8_t[]){0x04, 0x03, 0x02, 0x01}), 4);
    assert_int_equal(rill_frame_get_le32(bytes), 0x01020304);
    rill_frame_put_le64(bytes, 0x0102030405060708ull);
    assert_memory_equal(bytes, ((uint8_t[]){0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}), 8);
    assert_int_equal(rill_frame_get_le64(bytes), 0x0102030405060708ull);
    //  Any address: a field after a one-byte flag is not aligned.
    uint8_t unaligned[9] = {0};
    rill_frame_put_le64(unaligned + 1, UINT64_MAX - 1);
    assert_int_equal(unaligned[1], 0xfe);
    assert_int_equal(rill_frame_get_le64(unaligned + 1), UINT64_MAX - 1);
}

//  ---- entries

//  Decodes one entry from [at, end); asserts it is a record and returns it.
static rill_frame_entry_t s_get_record(const uint8_t **at, const uint8_t *end)
{
    rill_frame_entry_t entry;
    const char *why = NULL;
    int kind = rill_frame_get_entry(at, end, &entry, &why);
    if (kind != RILL_ENTRY_IS_RECORD)
        fail_msg("expected a record, got %d (%s)", kind, why ? why : "");
    return entry;
}

static void a_record_put_then_got_has_the_same_bytes_and_timestamp(void **state)
{
    uint8_t frame[64];
    size_t size = rill_frame_record_size(5, 1234567, 0, NULL);
    //  flags, a one-byte size, the timestamp, the bytes.
    assert_int_equal(size, 1 + 1 + 8 + 5);
    uint8_t *end = rill_frame_put_record(frame, "hello", 5, 1234567, 0, NULL);
    assert_ptr_equal(end, frame + size);

    const uint8_t *at = frame;
    rill_frame_entry_t entry = s_get_record(&at, frame + size);
    assert_ptr_equal(at, frame + size);
    assert_int_equal(entry.record.size, 5);
    assert_memory_equal(entry.record.data, "hello", 5);
    assert_int_equal(entry.record.timestamp, 1234567);
    assert_int_equal(entry.trace, 0);
    assert_int_equal(entry.key.hash, 0);
}

static void a_record_without_a_timestamp_spends_no_bytes_on_it(void **state)
{
    //  The 5-byte word: 12 bytes of header under the fixed format, 2 now.
    assert_int_equal(rill_frame_record_size(5, RILL_NO_TIMESTAMP, 0, NULL), 2 + 5);
    uint8_t frame[16];
    uint8_t *end = rill_frame_put_record(frame, "words", 5, RILL_NO_TIMESTAMP, 0, NULL);
    assert_int_equal(end - frame, 7);
    assert_int_equal(frame[0], 0); //  no flags
    const uint8_t *at = frame;
    rill_frame_entry_t entry = s_get_record(&at, end);
    assert_int_equal(entry.record.timestamp, RILL_NO_TIMESTAMP);
    assert_memory_equal(entry.record.data, "words", 5);
}

static void a_traced_record_carries_its_trace_id_after_the_timestamp(void **state)
{
    uint8_t frame[64];
    size_t size = rill_frame_record_size(3, 9, 0xfeedbeefcafeull, NULL);
    assert_int_equal(size, 1 + 1 + 8 + 8 + 3);
    rill_frame_put_record(frame, "abc", 3, 9, 0xfeedbeefcafeull, NULL);
    assert_int_equal(rill_frame_get_le64(frame + 2 + 8), 0xfeedbeefcafeull);
    const uint8_t *at = frame;
    rill_frame_entry_t entry = s_get_record(&at, frame + size);
    assert_int_equal(entry.trace, 0xfeedbeefcafeull);
    assert_int_equal(entry.record.size, 3);
    assert_memory_equal(entry.record.data, "abc", 3);
    assert_int_equal(entry.record.timestamp, 9);
}

static void the_integers_of_an_entry_are_little_endian_on_every_host(void **state)
{
    //  Every 8-byte field at once (timestamp, trace id, key hash), then the hash edge's short
    //  form and a watermark: their exact bytes, and those bytes decoded.
    rill_key_hint_t computed = {0x2122232425262728ull, -1, 0};
    uint8_t bytes[64];
    uint8_t *end =
        rill_frame_put_record(bytes, "x", 1, 0x0102030405060708, 0x1112131415161718ull, &computed);
    const uint8_t full[] = {RILL_ENTRY_TIMESTAMP | RILL_ENTRY_TRACED | RILL_ENTRY_KEY_HASH,
                            1,
                            0x08,
                            0x07,
                            0x06,
                            0x05,
                            0x04,
                            0x03,
                            0x02,
                            0x01, //  timestamp
                            0x18,
                            0x17,
                            0x16,
                            0x15,
                            0x14,
                            0x13,
                            0x12,
                            0x11, //  trace id
                            0x28,
                            0x27,
                            0x26,
                            0x25,
                            0x24,
                            0x23,
                            0x22,
                            0x21, //  key hash
                            'x'};
    assert_int_equal(end - bytes, sizeof full);
    assert_memory_equal(bytes, full, sizeof full);
    const uint8_t *at = full;
    rill_frame_entry_t entry = s_get_record(&at, full + sizeof full);
    assert_int_equal(entry.record.timestamp, 0x0102030405060708);
    assert_int_equal(entry.trace, 0x1112131415161718ull);
    assert_int_equal(entry.key.hash, 0x2122232425262728ull);

    rill_key_hint_t range = {0x3132333435363738ull, 0, 1};
    end = rill_frame_put_record(bytes, "y", 1, RILL_NO_TIMESTAMP, 0, &range);
    const uint8_t keyed[] = {RILL_ENTRY_KEY_HASH | RILL_ENTRY_KEY_RANGE,
                             1,
                             0x38,
                             0x37,
                             0x36,
                             0x35,
                             0x34,
                             0x33,
                             0x32,
                             0x31,
                             0, //  key offset
                             1, //  key size
                             'y'};
    assert_int_equal(end - bytes, sizeof keyed);
    assert_memory_equal(bytes, keyed, sizeof keyed);
    at = keyed;
    entry = s_get_record(&at, keyed + sizeof keyed);
    assert_int_equal(entry.key.hash, 0x3132333435363738ull);

    end = rill_frame_put_watermark(bytes, -2);
    const uint8_t watermark[] = {
        RILL_ENTRY_WATERMARK, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(end - bytes, sizeof watermark);
    assert_memory_equal(bytes, watermark, sizeof watermark);
    at = watermark;
    const char *why = NULL;
    assert_int_equal(rill_frame_get_entry(&at, watermark + sizeof watermark, &entry, &why),
                     RILL_ENTRY_IS_WATERMARK);
    assert_int_equal(entry.watermark, -2);
}

static void records_follow_one_another_and_an_empty_record_is_a_record(void **state)
{
    uint8_t frame[128];
    uint8_t *at = frame;
    at = rill_frame_put_record(at, "one", 3, 1, 0, NULL);
    at = rill_frame_put_record(at, NULL, 0, 2, 0, NULL);
    at = rill_frame_put_record(at, "three", 5, 3, 7, NULL);
    const uint8_t *end = at;
    const uint8_t *read = frame;
    const char *texts[] = {"one", "", "three"};
    for (int i = 0; i < 3; i++) {
        rill_frame_entry_t entry = s_get_record(&read, end);
        assert_int_equal(entry.record.size, strlen(texts[i]));
        assert_memory_equal(entry.record.data, texts[i], entry.record.size);
        assert_int_equal(entry.record.timestamp, i + 1);
        assert_int_equal(entry.trace, i == 2 ? 7 : 0);
    }
    assert_ptr_equal(read, end);
}

static void a_watermark_entry_is_told_apart_from_a_record(void **state)
{
    rill_buffer_t *frame = rill_buffer_new();
    test_frame_add_watermark(frame, -42);
    test_frame_add_record(frame, "x", 5, 0);
    const uint8_t *at = rill_buffer_data(frame);
    const uint8_t *end = at + rill_buffer_size(frame);
    rill_frame_entry_t entry;
    const char *why;
    assert_int_equal(rill_frame_get_entry(&at, end, &entry, &why), RILL_ENTRY_IS_WATERMARK);
    assert_int_equal(entry.watermark, -42);
    assert_ptr_equal(at, (const uint8_t *)rill_buffer_data(frame) + RILL_WATERMARK_ENTRY_SIZE);
    assert_int_equal(rill_frame_get_entry(&at, end, &entry, &why), RILL_ENTRY_IS_RECORD);
    assert_memory_equal(entry.record.data, "x", 1);
    assert_ptr_equal(at, end);
    //  No record can be mistaken for the marker: a record's flags never set its bit.
    assert_int_equal(RILL_ENTRY_RECORD_FLAGS & RILL_ENTRY_WATERMARK, 0);
    rill_buffer_destroy(&frame);
}

//  The sizes a varint changes length at, and the largest record.
static const uint32_t s_sizes[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152};
//  Key hints: none, a computed key (hash only), a range at the start, one in the middle.
static const rill_key_hint_t s_keys[] = {
    {0, -1, 0},
    {0x0123456789abcdefull, -1, 7},
    {0xfedcba9876543210ull, 0, 1},
    {1, 128, 100},
};
static const int64_t s_timestamps[] = {RILL_NO_TIMESTAMP, 0, -5, INT64_MAX};
static const uint64_t s_traces[] = {0, 1, UINT64_MAX};

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void every_flag_combination_and_size_round_trips(void **state)
{
    size_t largest = s_sizes[S_COUNT(s_sizes) - 1];
    uint8_t *bytes = malloc(largest);
    uint8_t *frame = malloc(largest + RILL_RECORD_MAX_HEADER);
    assert_non_null(bytes);
    assert_non_null(frame);
    for (size_t i = 0; i < largest; i++)
        bytes[i] = (uint8_t)(i * 31 + 7);
    int combinations = 0;
    for (size_t z = 0; z < S_COUNT(s_sizes); z++)
        for (size_t k = 0; k < S_COUNT(s_keys); k++)
            for (size_t t = 0; t < S_COUNT(s_timestamps); t++)
                for (size_t r = 0; r < S_COUNT(s_traces); r++) {
                    uint32_t size = s_sizes[z];
                    const rill_key_hint_t *key = &s_keys[k];
                    if (key->offset >= 0 && (uint64_t)key->offset + key->size > size)
                        continue; //  a range must lie within its record
                    size_t expected =
                        rill_frame_record_size(size, s_timestamps[t], s_traces[r], key);
                    assert_true(expected <= size + RILL_RECORD_MAX_HEADER);
                    uint8_t *end = rill_frame_put_record(frame, bytes, size, s_timestamps[t],
                                                         s_traces[r], key);
                    assert_int_equal(end - frame, expected);
                    const uint8_t *at = frame;
                    rill_frame_entry_t entry = s_get_record(&at, end);
                    assert_ptr_equal(at, end);
                    assert_int_equal(entry.record.size, size);
                    if (size)
                        assert_memory_equal(entry.record.data, bytes, size);
                    assert_int_equal(entry.record.timestamp, s_timestamps[t]);
                    assert_int_equal(entry.trace, s_traces[r]);
                    assert_int_equal(entry.key.hash, key->hash);
                    if (key->hash) {
                        assert_int_equal(entry.key.offset, key->offset);
                        if (key->offset >= 0)
                            assert_int_equal(entry.key.size, key->size);
                    }
                    combinations++;
                }
    assert_true(combinations > 300);
    free(frame);
    free(bytes);
}

static void a_varint_round_trips_at_every_length(void **state)
{
    const uint32_t values[] = {0,         1,         127,       128,
                               255,       16383,     16384,     2097151,
                               2097152,   268435455, 268435456, RILL_RECORD_MAX_SIZE,
                               UINT32_MAX};
    for (size_t i = 0; i < S_COUNT(values); i++) {
        uint8_t encoded[8];
        uint8_t *end = rill_frame_put_varint(encoded, values[i]);
        assert_int_equal(end - encoded, rill_frame_varint_size(values[i]));
        const uint8_t *at = encoded;
        uint32_t value = 0;
        assert_int_equal(rill_frame_get_varint(&at, end, &value), 0);
        assert_int_equal(value, values[i]);
        assert_ptr_equal(at, end);
        //  Cut anywhere, it is refused.
        for (const uint8_t *cut = encoded; cut < end; cut++) {
            at = encoded;
            assert_int_equal(rill_frame_get_varint(&at, cut, &value), -1);
        }
    }
}

static void a_varint_not_in_its_shortest_form_or_past_32_bits_is_rejected(void **state)
{
    //  Strict decoding: one value, one encoding.
    const struct {
        uint8_t bytes[7];
        size_t size;
    } bad[] = {
        {{0x80, 0x00}, 2},                         //  0 in two bytes
        {{0x81, 0x80, 0x00}, 3},                   //  1 in three
        {{0xff, 0xff, 0xff, 0xff, 0x10}, 5},       //  2^32
        {{0xff, 0xff, 0xff, 0xff, 0x7f}, 5},       //  35 bits
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6}, //  six bytes
    };
    for (size_t i = 0; i < S_COUNT(bad); i++) {
        const uint8_t *at = bad[i].bytes;
        uint32_t value;
        if (rill_frame_get_varint(&at, bad[i].bytes + bad[i].size, &value) != -1)
            fail_msg("bad varint %zu was accepted as %u", i, value);
        assert_ptr_equal(at, bad[i].bytes);
    }
}

//  Decodes the first `length` bytes of an encoded entry from a heap block of exactly that
//  size, so ASan sees any read past it; returns what rill_frame_get_entry returned.
static int s_decode_prefix(const uint8_t *encoded, size_t length)
{
    uint8_t *copy = malloc(length ? length : 1);
    assert_non_null(copy);
    memcpy(copy, encoded, length);
    const uint8_t *at = copy;
    rill_frame_entry_t entry;
    const char *why = NULL;
    int rc = rill_frame_get_entry(&at, copy + length, &entry, &why);
    if (rc < 0) {
        assert_ptr_equal(at, copy); //  a rejected entry leaves the position alone
        assert_non_null(why);       //  and says why
    } else
        assert_ptr_equal(at, copy + length);
    free(copy);
    return rc;
}

static void every_truncation_of_every_kind_of_entry_is_rejected(void **state)
{
    uint8_t encoded[512];
    char text[300];
    memset(text, 'w', sizeof text);
    for (size_t k = 0; k < S_COUNT(s_keys); k++)
        for (size_t t = 0; t < S_COUNT(s_timestamps); t++)
            for (size_t r = 0; r < S_COUNT(s_traces); r++) {
                uint32_t size = k == 3 ? 300 : 11; //  a two-byte size varint too
                size_t length =
                    rill_frame_record_size(size, s_timestamps[t], s_traces[r], &s_keys[k]);
                rill_frame_put_record(encoded, text, size, s_timestamps[t], s_traces[r],
                                      &s_keys[k]);
                for (size_t cut = 0; cut < length; cut++)
                    if (s_decode_prefix(encoded, cut) != -1)
                        fail_msg("an entry cut to %zu of %zu bytes was accepted", cut, length);
                assert_int_equal(s_decode_prefix(encoded, length), RILL_ENTRY_IS_RECORD);
            }
    rill_frame_put_watermark(encoded, 77);
    for (size_t cut = 0; cut < RILL_WATERMARK_ENTRY_SIZE; cut++)
        assert_int_equal(s_decode_prefix(encoded, cut), -1);
    assert_int_equal(s_decode_prefix(encoded, RILL_WATERMARK_ENTRY_SIZE), RILL_ENTRY_IS_WATERMARK);
}

//  An entry of flags, then the given bytes, in an exact heap block.
static int s_decode_crafted(uint8_t flags, const void *rest, size_t rest_size)
{
    uint8_t encoded[64];
    assert_true(rest_size < sizeof encoded);
    encoded[0] = flags;
    memcpy(encoded + 1, rest, rest_size);
    return s_decode_prefix(encoded, 1 + rest_size);
}

static void unknown_flag_bits_are_rejected(void **state)
{
    //  A record of 2 bytes, no optional fields, followed by enough bytes for any field.
    uint8_t rest[40] = {2, 'o', 'k'};
    assert_int_equal(s_decode_crafted(0, rest, 3), RILL_ENTRY_IS_RECORD);
    for (unsigned bit = 0x10; bit < 0x100; bit <<= 1)
        if (bit != RILL_ENTRY_WATERMARK)
            assert_int_equal(s_decode_crafted((uint8_t)bit, rest, sizeof rest), -1);
    //  A watermark is the marker alone: no record flag beside it.
    for (unsigned bit = 1; bit < 0x80; bit <<= 1)
        assert_int_equal(s_decode_crafted((uint8_t)(RILL_ENTRY_WATERMARK | bit), rest, sizeof rest),
                         -1);
}

static void a_length_past_the_end_or_a_huge_length_is_rejected(void **state)
{
    uint8_t rest[32] = {0};
    //  size 100 with 5 bytes; 6 with 5; 5 with 5.
    rest[0] = 100;
    assert_int_equal(s_decode_crafted(0, rest, 1 + 5), -1);
    rest[0] = 6;
    assert_int_equal(s_decode_crafted(0, rest, 1 + 5), -1);
    rest[0] = 5;
    assert_int_equal(s_decode_crafted(0, rest, 1 + 5), RILL_ENTRY_IS_RECORD);
    //  RILL_RECORD_MAX_SIZE and 2^31 - 1 (past the maximum), with 16 bytes present.
    uint8_t *end = rill_frame_put_varint(rest, RILL_RECORD_MAX_SIZE);
    assert_int_equal(s_decode_crafted(0, rest, (size_t)(end - rest) + 16), -1);
    end = rill_frame_put_varint(rest, 0x7fffffffu);
    assert_int_equal(s_decode_crafted(0, rest, (size_t)(end - rest) + 16), -1);
    //  Traced: the trace id and the body must both fit.
    uint8_t traced[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(s_decode_crafted(RILL_ENTRY_TRACED, traced, 1 + 7), -1);
    assert_int_equal(s_decode_crafted(RILL_ENTRY_TRACED, traced, 1 + 8), RILL_ENTRY_IS_RECORD);
}

//  A record "k=v" (3 bytes) with a key hash and the given range varints.
static int s_decode_key(uint64_t hash, uint8_t flags, uint8_t offset, uint8_t size)
{
    uint8_t rest[32];
    uint8_t *at = rest;
    *at++ = 3;
    rill_frame_put_le64(at, hash);
    at += sizeof hash;
    if (flags & RILL_ENTRY_KEY_RANGE) {
        *at++ = offset;
        *at++ = size;
    }
    memcpy(at, "k=v", 3);
    return s_decode_crafted(flags, rest, (size_t)(at + 3 - rest));
}

static void a_key_range_past_its_record_or_a_zero_hash_is_rejected(void **state)
{
    uint8_t hash_range = RILL_ENTRY_KEY_HASH | RILL_ENTRY_KEY_RANGE;
    assert_int_equal(s_decode_key(42, hash_range, 0, 1), RILL_ENTRY_IS_RECORD);
    assert_int_equal(s_decode_key(42, hash_range, 0, 3), RILL_ENTRY_IS_RECORD);
    assert_int_equal(s_decode_key(42, hash_range, 3, 0), RILL_ENTRY_IS_RECORD);
    assert_int_equal(s_decode_key(42, hash_range, 2, 2), -1);
    assert_int_equal(s_decode_key(42, hash_range, 0, 4), -1);
    assert_int_equal(s_decode_key(42, hash_range, 4, 0), -1);
    assert_int_equal(s_decode_key(42, RILL_ENTRY_KEY_HASH, 0, 0), RILL_ENTRY_IS_RECORD);
    //  0 means "no hash" in memory: on the wire it is never sent.
    assert_int_equal(s_decode_key(0, RILL_ENTRY_KEY_HASH, 0, 0), -1);
    assert_int_equal(s_decode_key(0, hash_range, 0, 1), -1);
    //  A range needs its hash.
    uint8_t rest[] = {3, 0, 1, 'k', '=', 'v'};
    assert_int_equal(s_decode_crafted(RILL_ENTRY_KEY_RANGE, rest, sizeof rest), -1);
}

static void fields_that_say_nothing_are_rejected(void **state)
{
    //  A timestamp field holding "no timestamp", a trace id of 0: each has a shorter form.
    uint8_t rest[16] = {1};
    rill_frame_put_le64(rest + 1, (uint64_t)RILL_NO_TIMESTAMP);
    rest[9] = 'x';
    assert_int_equal(s_decode_crafted(RILL_ENTRY_TIMESTAMP, rest, 10), -1);
    memset(rest + 1, 0, 8);
    assert_int_equal(s_decode_crafted(RILL_ENTRY_TIMESTAMP, rest, 10), RILL_ENTRY_IS_RECORD);
    assert_int_equal(s_decode_crafted(RILL_ENTRY_TRACED, rest, 10), -1);
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
                          uint64_t trace, const rill_key_hint_t *key)
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
    rill_buffer_set(short_frame, rill_buffer_data(wire->frame), RILL_FRAME_HEADER_SIZE - 1);
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

static void a_frame_with_a_reserved_header_byte_set_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    test_frame_add_record(wire->frame, "a", 1, 0);
    test_frame_poke(wire->frame, 6, 1);
    s_expect_rejected(wire, "reserved header byte");
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
    s_expect_rejected(wire, "truncated entry");
}

static void a_huge_count_with_no_entries_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, UINT32_MAX);
    s_expect_rejected(wire, "truncated entry");
    assert_int_equal(wire->records, 0);
}

static void a_record_length_past_the_end_of_the_frame_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    //  A record header claiming 1000 bytes, then five of them. The frame is larger than
    //  ZeroMQ's in-message limit, so its bytes live in a heap block of their own (ASan).
    uint8_t header[16] = {RILL_ENTRY_TIMESTAMP};
    uint8_t *end = rill_frame_put_varint(header + 1, 1000);
    rill_frame_put_le64(end, 0); //  the timestamp
    rill_buffer_append(wire->frame, header, (size_t)(end - header) + sizeof(int64_t));
    rill_buffer_append(wire->frame, "abcde", 5);
    s_expect_rejected(wire, "truncated record");
    assert_int_equal(wire->records, 0);
}

static void a_huge_record_length_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    uint8_t header[8] = {RILL_ENTRY_TRACED};
    uint8_t *end = rill_frame_put_varint(header + 1, RILL_RECORD_MAX_SIZE);
    uint8_t trace[8];
    rill_frame_put_le64(trace, 1);
    rill_buffer_append(wire->frame, header, (size_t)(end - header));
    rill_buffer_append(wire->frame, trace, sizeof trace);
    rill_buffer_append(wire->frame, "0123456789", 10);
    s_expect_rejected(wire, "truncated record");
}

static void a_watermark_entry_cut_short_is_rejected(void **state)
{
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    uint8_t marker = RILL_ENTRY_WATERMARK;
    rill_buffer_append(wire->frame, &marker, sizeof marker);
    rill_buffer_append(wire->frame, "\1\2\3", 3); //  3 of the watermark's 8 bytes
    s_expect_rejected(wire, "truncated watermark");
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

static void a_key_hash_on_an_edge_that_is_not_keyed_is_rejected(void **state)
{
    //  The wire's edge is a rebalance: its receiver's operator keys nothing by this edge's
    //  extractor, so a key hint there can only be a forgery or a bug.
    s_wire_t *wire = *state;
    test_frame_begin(wire->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    rill_key_hint_t key = {rill_key_hash("a", 1), 0, 1};
    test_frame_add_keyed_record(wire->frame, "a", 1, 0, &key);
    s_expect_rejected(wire, "a key hash on an edge that is not keyed");
    assert_int_equal(wire->records, 0);
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
        cmocka_unit_test(a_header_put_then_got_is_the_same_header),
        cmocka_unit_test(a_header_is_the_same_twenty_bytes_on_every_host),
        cmocka_unit_test(a_header_of_another_version_is_refused),
        cmocka_unit_test(a_header_with_a_reserved_byte_set_is_refused),
        cmocka_unit_test(a_header_with_a_bad_magic_byte_is_refused),
        cmocka_unit_test(a_header_cut_short_is_refused),
        cmocka_unit_test(the_little_endian_helpers_put_the_low_byte_first),
        cmocka_unit_test(a_record_put_then_got_has_the_same_bytes_and_timestamp),
        cmocka_unit_test(a_record_without_a_timestamp_spends_no_bytes_on_it),
        cmocka_unit_test(a_traced_record_carries_its_trace_id_after_the_timestamp),
        cmocka_unit_test(the_integers_of_an_entry_are_little_endian_on_every_host),
        cmocka_unit_test(records_follow_one_another_and_an_empty_record_is_a_record),
        cmocka_unit_test(a_watermark_entry_is_told_apart_from_a_record),
        cmocka_unit_test(every_flag_combination_and_size_round_trips),
        cmocka_unit_test(a_varint_round_trips_at_every_length),
        cmocka_unit_test(a_varint_not_in_its_shortest_form_or_past_32_bits_is_rejected),
        cmocka_unit_test(every_truncation_of_every_kind_of_entry_is_rejected),
        cmocka_unit_test(unknown_flag_bits_are_rejected),
        cmocka_unit_test(a_length_past_the_end_or_a_huge_length_is_rejected),
        cmocka_unit_test(a_key_range_past_its_record_or_a_zero_hash_is_rejected),
        cmocka_unit_test(fields_that_say_nothing_are_rejected),
        cmocka_unit_test_setup_teardown(a_well_formed_frame_is_decoded_record_by_record,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_frame_shorter_than_its_header_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(an_empty_frame_is_rejected, s_wire_setup, s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_frame_with_a_bad_magic_byte_is_rejected, s_wire_setup,
                                        s_wire_teardown),
        cmocka_unit_test_setup_teardown(a_frame_with_a_reserved_header_byte_set_is_rejected,
                                        s_wire_setup, s_wire_teardown),
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
        cmocka_unit_test_setup_teardown(a_key_hash_on_an_edge_that_is_not_keyed_is_rejected,
                                        s_wire_setup, s_wire_teardown),
        cmocka_unit_test(a_control_frame_with_a_body_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
