/*  test_window_state.c: the window operator's state encodings (rill_window_state.c): a list of
    records decodes to the records put in, byte for byte and timestamp for timestamp, whatever
    their sizes and times; a truncated list is refused, never read past; a state key gives back
    its bounds and has the record key as its prefix. */
#include "rill_window_private.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

//  Records a list must carry unchanged: empty ones, ones without a timestamp, the extreme
//  times, bytes that look like a frame's trace flag or a watermark marker.
static const rill_record_t s_records[] = {
    {"alpha\t1", 7, 1000},
    {NULL, 0, 5},
    {"", 0, RILL_NO_TIMESTAMP},
    {"\xff\xff\xff\xff", 4, INT64_MAX},
    {"\x80\x00\x00\x00 trace-looking", 19, INT64_MIN + 1},
    {"z", 1, -42},
};
#define S_COUNT (sizeof s_records / sizeof s_records[0])

//  Encodes s_records into a new list; *size gets its length.
static uint8_t *s_encode(size_t *size)
{
    *size = 0;
    for (size_t i = 0; i < S_COUNT; i++)
        *size += rill_window_list_entry_size(s_records[i].size);
    uint8_t *list = malloc(*size);
    assert_non_null(list);
    uint8_t *at = list;
    for (size_t i = 0; i < S_COUNT; i++)
        at = rill_window_list_put(at, &s_records[i]);
    assert_ptr_equal(at, list + *size);
    return list;
}

static void a_list_decodes_to_the_records_put_in(void **state)
{
    size_t size;
    uint8_t *list = s_encode(&size);
    rill_record_t *records = NULL;
    size_t capacity = 0;
    long count = rill_window_list_decode(list, size, &records, &capacity);
    assert_int_equal(count, S_COUNT);
    for (size_t i = 0; i < S_COUNT; i++) {
        assert_int_equal(records[i].size, s_records[i].size);
        assert_int_equal(records[i].timestamp, s_records[i].timestamp);
        if (s_records[i].size)
            assert_memory_equal(records[i].data, s_records[i].data, s_records[i].size);
    }
    //  Decoding again reuses the array.
    rill_record_t *was = records;
    assert_int_equal(rill_window_list_decode(list, size, &records, &capacity), S_COUNT);
    assert_ptr_equal(records, was);
    free(records);
    free(list);
}

static void an_entry_costs_its_header_and_its_bytes_only(void **state)
{
    //  Unlike a frame's record, a window entry never carries a trace id.
    assert_int_equal(rill_window_list_entry_size(0), RILL_WINDOW_ENTRY_HEADER_SIZE);
    assert_int_equal(rill_window_list_entry_size(100), RILL_WINDOW_ENTRY_HEADER_SIZE + 100);
}

static void an_empty_list_holds_no_records(void **state)
{
    rill_record_t *records = NULL;
    size_t capacity = 0;
    assert_int_equal(rill_window_list_decode(NULL, 0, &records, &capacity), 0);
    free(records);
}

static void a_truncated_list_is_refused(void **state)
{
    size_t size;
    uint8_t *list = s_encode(&size);
    //  Every cut that does not fall on an entry boundary must fail; copying each prefix into
    //  a buffer of its own size lets ASan catch a read past it.
    size_t boundary = 0, next = 0;
    for (size_t cut = 1; cut < size; cut++) {
        while (boundary < cut && next < S_COUNT)
            boundary += rill_window_list_entry_size(s_records[next++].size);
        uint8_t *prefix = malloc(cut);
        assert_non_null(prefix);
        memcpy(prefix, list, cut);
        rill_record_t *records = NULL;
        size_t capacity = 0;
        long count = rill_window_list_decode(prefix, cut, &records, &capacity);
        if (cut == boundary)
            assert_int_equal(count, (long)next);
        else
            assert_int_equal(count, -1);
        free(records);
        free(prefix);
    }
    free(list);
}

static void a_state_key_is_the_key_then_the_bounds(void **state)
{
    rill_buffer_t *state_key = rill_buffer_new();
    assert_non_null(state_key);
    const rill_window_bounds_t cases[] = {
        {0, 0}, {-5000, 5000}, {INT64_MIN, INT64_MIN + 1}, {INT64_MAX - 1, INT64_MAX}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rill_window_state_key_set(state_key, "sensor-7", 8, cases[i]), 0);
        assert_int_equal(state_key->size, 8 + RILL_WINDOW_BOUNDS_SIZE);
        assert_memory_equal(state_key->data, "sensor-7", 8);
        rill_window_bounds_t back = rill_window_state_key_bounds(state_key->data, state_key->size);
        assert_int_equal(back.start, cases[i].start);
        assert_int_equal(back.end, cases[i].end);
    }
    //  An empty key is a key: the state key is the bounds alone.
    assert_int_equal(rill_window_state_key_set(state_key, NULL, 0, cases[1]), 0);
    assert_int_equal(state_key->size, RILL_WINDOW_BOUNDS_SIZE);
    assert_int_equal(rill_window_state_key_bounds(state_key->data, state_key->size).end, 5000);
    //  The session index of a key has bounds no window can have.
    assert_int_equal(rill_window_state_key_index(state_key, "k", 1), 0);
    rill_window_bounds_t index = rill_window_state_key_bounds(state_key->data, state_key->size);
    assert_int_equal(index.start, INT64_MIN);
    assert_int_equal(index.end, INT64_MIN);
    rill_buffer_destroy(&state_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_list_decodes_to_the_records_put_in),
        cmocka_unit_test(an_entry_costs_its_header_and_its_bytes_only),
        cmocka_unit_test(an_empty_list_holds_no_records),
        cmocka_unit_test(a_truncated_list_is_refused),
        cmocka_unit_test(a_state_key_is_the_key_then_the_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
