/*  rill_op_join.c: the interval join (Flink's IntervalJoinOperator), run by the process
    operator on its two connected keyed inputs. A left record at time l joins every right record
    of its key at time r with l + lower <= r <= l + upper, whichever came first: each side keeps
    its records in its key's state until no record of the other side can join them any more.
    - A record older than the operator's watermark is late (Flink's isLate): it joins nothing
      and goes to its side's late output (Flink's sideOutputLeftLateData / RightLateData).
    - Each pair goes to the user's join function once; what it emits without a timestamp
      carries max(l, r).
    - Cleanup: a left record can join no right record to come once the watermark passes
      l + upper (a record not late has r >= watermark), a right one once it passes r - lower;
      a timer just past that time removes them. State is therefore bounded by what arrives
      within the interval and the watermark's delay.
    Each side's records of a key are one value state, entries of (time, size, bytes), so that
    checkpoints, restores and rescaling carry them as any process state. Scanning a key's list
    per record is cheap for what an interval holds per key; a key with very many records in its
    interval costs in proportion. */
#include "rill_process_private.h"

#include <stdio.h>
#include <string.h>

//  Each side's list, by rill_process_input: left (0), right (1).
static const char *const s_side[2] = {"\x01join.left", "\x01join.right"};

typedef struct {
    int64_t time;
    uint32_t size;
} s_entry_t;

static int s_fail(rill_process_t *self, const char *why)
{
    snprintf(self->op->error, sizeof self->op->error, "interval join: %s", why);
    return -1;
}

//  The last time at which the record at `time` on `side` may still join: after the watermark
//  passes it, no record of the other side that is not late can.
static int64_t s_last_useful(const rill_operator_spec_t *spec, int side, int64_t time)
{
    int64_t reach = side == 0 ? spec->join_upper : -spec->join_lower;
    if (reach > 0 && time > INT64_MAX - reach)
        return INT64_MAX - 1;
    return reach > 0 ? time + reach : time;
}

int rill_interval_join_record(rill_process_t *self, const rill_record_t *record,
                              rill_collector_t *out)
{
    const rill_operator_spec_t *spec = self->op->spec;
    int side = self->input;
    int64_t time = record->timestamp;
    if (time == RILL_NO_TIMESTAMP)
        return s_fail(self, "a record has no timestamp (assign timestamps on both inputs)");
    if (time < self->watermark) //  late: to its side's late output (dropped when none reads it)
        return rill_collector_emit_side(out, side == 0 ? RILL_JOIN_LATE_LEFT : RILL_JOIN_LATE_RIGHT,
                                        record->data, record->size, time);
    //  Join with the other side's records of this key, in the order they came.
    const void *data;
    size_t size;
    if (rill_state_value_get(self, s_side[!side], &data, &size) == 0) {
        //  The bytes are valid until the next state call; the join function makes none.
        const uint8_t *at = data, *end = at + size;
        while (at + sizeof(s_entry_t) <= end) {
            s_entry_t entry;
            memcpy(&entry, at, sizeof entry);
            at += sizeof entry;
            if (entry.size > (size_t)(end - at))
                return s_fail(self, "corrupt state");
            rill_record_t other = {at, entry.size, entry.time};
            at += entry.size;
            int64_t left = side == 0 ? time : entry.time, right = side == 0 ? entry.time : time;
            if (right - left < spec->join_lower || right - left > spec->join_upper)
                continue;
            bool timed = rill_busy_split_user_begin(self->op->busy_split);
            rill_collector_inherit(out, left > right ? left : right);
            int rc = side == 0 ? spec->join(record, &other, out, self->op->ctx)
                               : spec->join(&other, record, out, self->op->ctx);
            rill_collector_inherit_end(out);
            rill_busy_split_user_end(self->op->busy_split, timed);
            if (rc)
                return out->stopping ? -1 : s_fail(self, "join function failed");
        }
    }
    //  Then keep it for the other side's records to come, unless none can join it any more.
    int64_t last = s_last_useful(spec, side, time);
    if (last < self->watermark)
        return 0;
    rill_buffer_t *list = self->join_scratch;
    rill_buffer_reset(list);
    s_entry_t entry = {time, (uint32_t)record->size};
    if (record->size > UINT32_MAX)
        return s_fail(self, "a record larger than 4 GiB");
    if (rill_state_value_get(self, s_side[side], &data, &size) == 0 &&
        rill_buffer_append(list, data, size))
        return s_fail(self, "out of memory");
    if (rill_buffer_append(list, &entry, sizeof entry) ||
        rill_buffer_append(list, record->data, record->size) ||
        rill_state_value_set(self, s_side[side], list->data, list->size) ||
        rill_timer_register(self, RILL_TIME_EVENT, last + 1))
        return s_fail(self, "out of memory");
    return 0;
}

//  Keeps the entries of one side that may still join once the watermark is at `time`.
static int s_prune(rill_process_t *self, int side, int64_t time)
{
    const rill_operator_spec_t *spec = self->op->spec;
    const void *data;
    size_t size;
    if (rill_state_value_get(self, s_side[side], &data, &size))
        return 0;
    rill_buffer_t *list = self->join_scratch;
    rill_buffer_reset(list);
    const uint8_t *at = data, *end = at + size;
    while (at + sizeof(s_entry_t) <= end) {
        s_entry_t entry;
        memcpy(&entry, at, sizeof entry);
        size_t whole = sizeof entry + entry.size;
        if (entry.size > (size_t)(end - at) - sizeof entry)
            return s_fail(self, "corrupt state");
        if (s_last_useful(spec, side, entry.time) >= time &&
            rill_buffer_append(list, at, whole))
            return s_fail(self, "out of memory");
        at += whole;
    }
    if (list->size == size)
        return 0;
    if (list->size == 0)
        return rill_state_clear(self, s_side[side]) ? s_fail(self, "cannot clear state") : 0;
    return rill_state_value_set(self, s_side[side], list->data, list->size)
               ? s_fail(self, "out of memory")
               : 0;
}

int rill_interval_join_timer(rill_process_t *self, int64_t time, rill_collector_t *out)
{
    (void)out;
    return s_prune(self, 0, time) || s_prune(self, 1, time) ? -1 : 0;
}
