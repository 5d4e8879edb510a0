/*  rill_window_state.c: how the window operator lays out its state in the keyed table. A state
    key is the record key followed by the window's bounds; a list value is the window's records
    back to back, each as size, timestamp, bytes. The list is the window's own encoding, not
    the wire frame's: state never travels, and a change to the frame format (tracing bits,
    watermark entries) must not change what a window holds. */
#include "rill_array.h"
#include "rill_window_private.h"

#include <assert.h>
#include <string.h>

int rill_window_state_key_set(rill_buffer_t *state_key, const void *key, size_t key_size,
                              rill_window_bounds_t bounds)
{
    assert(state_key && (key || key_size == 0));
    return rill_buffer_set(state_key, key, key_size) ||
           rill_buffer_append(state_key, &bounds.start, sizeof bounds.start) ||
           rill_buffer_append(state_key, &bounds.end, sizeof bounds.end);
}

rill_window_bounds_t rill_window_state_key_bounds(const uint8_t *state_key, size_t size)
{
    assert(state_key && size >= RILL_WINDOW_BOUNDS_SIZE);
    rill_window_bounds_t bounds;
    memcpy(&bounds.start, state_key + size - RILL_WINDOW_BOUNDS_SIZE, sizeof bounds.start);
    memcpy(&bounds.end, state_key + size - sizeof(int64_t), sizeof bounds.end);
    return bounds;
}

int rill_window_state_key_index(rill_buffer_t *state_key, const void *key, size_t key_size)
{
    return rill_window_state_key_set(state_key, key, key_size,
                                     (rill_window_bounds_t){INT64_MIN, INT64_MIN});
}

size_t rill_window_list_entry_size(size_t record_size)
{
    return RILL_WINDOW_ENTRY_HEADER_SIZE + record_size;
}

uint8_t *rill_window_list_put(uint8_t *at, const rill_record_t *record)
{
    //  The operator refuses nothing larger: records arrive through frames, whose size field
    //  is 32 bits too.
    assert(at && record && record->size <= UINT32_MAX);
    uint32_t size = (uint32_t)record->size;
    memcpy(at, &size, sizeof size);
    memcpy(at + sizeof size, &record->timestamp, sizeof record->timestamp);
    at += RILL_WINDOW_ENTRY_HEADER_SIZE;
    if (size)
        memcpy(at, record->data, size);
    return at + size;
}

int rill_window_list_get(const uint8_t **at, const uint8_t *end, rill_record_t *record)
{
    assert(at && *at && end && record);
    if ((size_t)(end - *at) < RILL_WINDOW_ENTRY_HEADER_SIZE)
        return -1;
    uint32_t size;
    memcpy(&size, *at, sizeof size);
    memcpy(&record->timestamp, *at + sizeof size, sizeof record->timestamp);
    const uint8_t *body = *at + RILL_WINDOW_ENTRY_HEADER_SIZE;
    if ((size_t)(end - body) < size)
        return -1;
    record->data = body;
    record->size = size;
    *at = body + size;
    return 0;
}

long rill_window_list_decode(const uint8_t *list, size_t size, rill_record_t **records,
                             size_t *capacity)
{
    assert(records && capacity && (list || size == 0));
    if (size == 0)
        return 0; //  (list may be NULL then, and NULL + 0 is undefined)
    size_t count = 0;
    for (const uint8_t *at = list, *end = list + size; at < end; count++) {
        if (rill_array_grow((void **)records, capacity, count + 1, sizeof(rill_record_t)) ||
            rill_window_list_get(&at, end, &(*records)[count]))
            return -1;
    }
    return (long)count;
}
