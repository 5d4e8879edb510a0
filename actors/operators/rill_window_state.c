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

int rill_window_list_encode(rill_buffer_t *out, const rill_record_t *records, size_t count)
{
    assert(out && (records || count == 0));
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += rill_window_list_entry_size(records[i].size);
    rill_buffer_reset(out);
    uint8_t *at = rill_buffer_reserve(out, total);
    if (!at && total)
        return -1;
    for (size_t i = 0; i < count; i++)
        at = rill_window_list_put(at, &records[i]);
    return 0;
}

//  One entry of a named-state map: where its name and value are and where the next begins.
//  0, or -1 at the end or when the rest is truncated (read as the end: a map is only ever
//  written whole by rill_window_map_set).
int rill_window_map_next(const uint8_t **at, const uint8_t *end, const uint8_t **name,
                      size_t *name_size, const uint8_t **value, size_t *value_size)
{
    uint16_t name_len;
    uint32_t size;
    if ((size_t)(end - *at) < sizeof name_len)
        return -1;
    memcpy(&name_len, *at, sizeof name_len);
    const uint8_t *p = *at + sizeof name_len;
    if ((size_t)(end - p) < name_len + sizeof size)
        return -1;
    *name = p;
    *name_size = name_len;
    p += name_len;
    memcpy(&size, p, sizeof size);
    p += sizeof size;
    if ((size_t)(end - p) < size)
        return -1;
    *value = p;
    *value_size = size;
    *at = p + size;
    return 0;
}

int rill_window_map_find(const uint8_t *map, size_t size, const char *name, size_t name_size,
                         const uint8_t **value, size_t *value_size)
{
    assert(name && value && value_size);
    if (!map)
        return -1;
    const uint8_t *at = map, *end = map + size, *n;
    size_t ns;
    while (rill_window_map_next(&at, end, &n, &ns, value, value_size) == 0)
        if (ns == name_size && memcmp(n, name, ns) == 0)
            return 0;
    return -1;
}

static int s_map_put(rill_buffer_t *out, const void *name, size_t name_size, const void *value,
                     size_t value_size)
{
    uint16_t name_len = (uint16_t)name_size;
    uint32_t size = (uint32_t)value_size;
    return rill_buffer_append(out, &name_len, sizeof name_len) ||
           rill_buffer_append(out, name, name_size) ||
           rill_buffer_append(out, &size, sizeof size) ||
           (value_size && rill_buffer_append(out, value, value_size));
}

int rill_window_map_set(rill_buffer_t *out, const uint8_t *map, size_t size, const char *name,
                        size_t name_size, const void *value, size_t value_size, bool remove)
{
    assert(out && name && (value || value_size == 0 || remove));
    if (name_size > UINT16_MAX || value_size > UINT32_MAX)
        return -1;
    rill_buffer_reset(out);
    const uint8_t *at = map, *end = map ? map + size : NULL, *n, *v;
    size_t ns, vs;
    while (map && rill_window_map_next(&at, end, &n, &ns, &v, &vs) == 0)
        if (!(ns == name_size && memcmp(n, name, ns) == 0) && s_map_put(out, n, ns, v, vs))
            return -1;
    if (!remove && s_map_put(out, name, name_size, value, value_size))
        return -1;
    return 0;
}
