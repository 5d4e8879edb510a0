/*  rill_op_window_join.c: the window join (Flink's JoinedStreams with an event-time window),
    run by the process operator on its two connected keyed inputs. Each record goes into every
    window of its key that contains its time and has not fired (tumbling: one; sliding: size /
    slide); when the watermark passes a window's last millisecond, every pair of its left and
    right records goes to the join function (an inner join: a window with one side empty
    emits nothing) and the window's records are dropped. A record all of whose windows have
    fired is late: it goes to its side's late output, as the interval join's do.
    State: per key, map state "\x01wj" under (window start, side) holding that side's records
    as entries of (time, size, bytes); an event-time timer at the window's last millisecond.
    Session windows keep the same lists and fire the same way, but merge as records come
    (rill_window_join_session.c). */
#include "rill_process_private.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int64_t time;
    uint32_t size;
} s_entry_t;

static const char s_name[] = RILL_WINDOW_JOIN_LISTS;

int rill_window_join_fail(rill_process_t *self, const char *why)
{
    snprintf(self->op->error, sizeof self->op->error, "window join: %s", why);
    return -1;
}

void rill_window_join_slot(uint8_t slot[RILL_WINDOW_JOIN_SLOT_SIZE], int64_t start, int side)
{
    memcpy(slot, &start, sizeof start);
    slot[sizeof start] = (uint8_t)side;
}

//  Appends a then b to the list under (start, side) of the current key. In place when the list
//  exists (its entry grows by doubling), so a window's records cost what they weigh rather
//  than a copy of the list each; a new list is put as map state (which also lists its key).
//  Neither a nor b may point into join_scratch.
static int s_list_grow(rill_process_t *self, int64_t start, int side, const void *a, size_t a_size,
                       const void *b, size_t b_size)
{
    uint8_t slot[RILL_WINDOW_JOIN_SLOT_SIZE];
    rill_window_join_slot(slot, start, side);
    if (rill_process_state_key(self, s_name, 'M', slot, sizeof slot))
        return rill_window_join_fail(self, "out of memory");
    rill_keyed_entry_t *entry = rill_process_state_find(self);
    if (entry && rill_process_state_expired(self, entry, rill_process_now(self))) {
        rill_process_state_remove(self); //  as a read would (rill_stream_state_ttl)
        entry = NULL;
    }
    if (!entry) {
        rill_buffer_t *list = self->join_scratch;
        rill_buffer_reset(list);
        return rill_buffer_append(list, a, a_size) || rill_buffer_append(list, b, b_size) ||
                       rill_state_map_put(self, s_name, slot, sizeof slot, list->data, list->size)
                   ? rill_window_join_fail(self, "out of memory")
                   : 0;
    }
    size_t old = entry->value_size;
    if (a_size + b_size > UINT32_MAX - old)
        return rill_window_join_fail(self, "a window's records of one side pass 4 GiB");
    uint8_t *value = rill_keyed_table_resize(entry, old + a_size + b_size);
    if (!value)
        return rill_window_join_fail(self, "out of memory");
    if (a_size)
        memcpy(value + old, a, a_size);
    if (b_size)
        memcpy(value + old + a_size, b, b_size);
    if (self->op->spec->state_ttl_ms)
        entry->timestamp = rill_process_now(self); //  written now
    return 0;
}

int rill_window_join_list_add(rill_process_t *self, int64_t start, int side,
                              const rill_record_t *record)
{
    s_entry_t entry = {record->timestamp, (uint32_t)record->size};
    return s_list_grow(self, start, side, &entry, sizeof entry, record->data, record->size);
}

int rill_window_join_list_extend(rill_process_t *self, int64_t start, int side, const void *list,
                                 size_t size)
{
    return s_list_grow(self, start, side, list, size, NULL, 0);
}

//  The start of the last window holding time (floor to a slide boundary, time may be < 0).
static int64_t s_last_start(int64_t time, int64_t slide)
{
    int64_t rest = time % slide;
    return time - (rest < 0 ? rest + slide : rest);
}

int rill_window_join_record(rill_process_t *self, const rill_record_t *record,
                            rill_collector_t *out)
{
    const rill_window_t *window = &self->op->spec->window;
    int side = self->input;
    int64_t time = record->timestamp;
    if (time == RILL_NO_TIMESTAMP)
        return rill_window_join_fail(
            self, "a record has no timestamp (assign timestamps on both inputs)");
    if (record->size > UINT32_MAX)
        return rill_window_join_fail(self, "a record larger than 4 GiB");
    if (window->kind == RILL_WINDOW_SESSION)
        return rill_window_join_session_record(self, record, out);
    bool kept = false;
    for (int64_t start = s_last_start(time, window->slide); start > time - window->size;
         start -= window->slide) {
        int64_t last = start + window->size - 1;
        if (last <= self->watermark)
            continue; //  this window has fired
        if (rill_window_join_list_add(self, start, side, record))
            return -1;
        if (rill_timer_register(self, RILL_TIME_EVENT, last))
            return rill_window_join_fail(self, "out of memory");
        kept = true;
    }
    if (!kept) //  late: every window of its time has fired
        return rill_collector_emit_side(out, side == 0 ? RILL_JOIN_LATE_LEFT : RILL_JOIN_LATE_RIGHT,
                                        record->data, record->size, time);
    return 0;
}

//  The next entry of a side's list: 1 with *record set, 0 at the end, -1 when corrupt.
static int s_next(const uint8_t **at, const uint8_t *end, rill_record_t *record)
{
    if (*at == end)
        return 0;
    s_entry_t entry;
    if ((size_t)(end - *at) < sizeof entry)
        return -1;
    memcpy(&entry, *at, sizeof entry);
    *at += sizeof entry;
    if (entry.size > (size_t)(end - *at))
        return -1;
    *record = (rill_record_t){*at, entry.size, entry.time};
    *at += entry.size;
    return 1;
}

int rill_window_join_timer(rill_process_t *self, int64_t time, rill_collector_t *out)
{
    const rill_window_t *window = &self->op->spec->window;
    if (window->kind == RILL_WINDOW_SESSION)
        return rill_window_join_session_timer(self, time, out);
    return rill_window_join_fire(self, time - window->size + 1, time, out);
}

int rill_window_join_fire(rill_process_t *self, int64_t start, int64_t time, rill_collector_t *out)
{
    const rill_operator_spec_t *spec = self->op->spec;
    uint8_t left_slot[RILL_WINDOW_JOIN_SLOT_SIZE], right_slot[RILL_WINDOW_JOIN_SLOT_SIZE];
    rill_window_join_slot(left_slot, start, 0);
    rill_window_join_slot(right_slot, start, 1);
    //  Both lists are copied out: the join function may not, but a state call would, move them.
    const void *data;
    size_t size;
    rill_buffer_t *lists = self->join_scratch;
    rill_buffer_reset(lists);
    size_t left_size = 0;
    if (rill_state_map_get(self, s_name, left_slot, sizeof left_slot, &data, &size) == 0) {
        if (rill_buffer_append(lists, data, size))
            return rill_window_join_fail(self, "out of memory");
        left_size = size;
    }
    if (rill_state_map_get(self, s_name, right_slot, sizeof right_slot, &data, &size) == 0 &&
        rill_buffer_append(lists, data, size))
        return rill_window_join_fail(self, "out of memory");
    rill_state_map_remove(self, s_name, left_slot, sizeof left_slot);
    rill_state_map_remove(self, s_name, right_slot, sizeof right_slot);
    const uint8_t *base = rill_buffer_data(lists);
    const uint8_t *left_end = base + left_size, *right_end = base + rill_buffer_size(lists);
    rill_record_t left, right;
    int rc;
    for (const uint8_t *l = base; (rc = s_next(&l, left_end, &left)) == 1;) {
        int inner;
        for (const uint8_t *r = left_end; (inner = s_next(&r, right_end, &right)) == 1;) {
            bool timed = rill_busy_split_user_begin(self->op->busy_split);
            rill_collector_inherit(out, time);
            int failed = spec->join(&left, &right, out, self->op->ctx);
            rill_collector_inherit_end(out);
            rill_busy_split_user_end(self->op->busy_split, timed);
            if (failed)
                return out->stopping ? -1 : rill_window_join_fail(self, "join function failed");
        }
        if (inner < 0)
            return rill_window_join_fail(self, "corrupt state");
    }
    return rc < 0 ? rill_window_join_fail(self, "corrupt state") : 0;
}
