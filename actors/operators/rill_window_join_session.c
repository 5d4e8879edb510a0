/*  rill_window_join_session.c: the window join over event-time session windows (Flink's
    JoinedStreams with EventTimeSessionWindows or DynamicEventTimeSessionWindows), beside the
    tumbling and sliding join of rill_op_window_join.c, whose per-side record lists and firing
    it shares. The two sides make sessions together: a record of either side at t opens the
    window [t, t + gap) of its key, which absorbs every open session of the key it intersects,
    and the merged session fires when the watermark passes its last millisecond (end - 1).
    - Intersecting is Flink's TimeWindow.intersects, bounds included: [0, 5) and [5, 10)
      intersect, so a record exactly gap after a session's last record extends it (as the
      window operator's sessions do, rill_window_session.c).
    - A record whose merged session has already passed the watermark is late (Flink's
      isWindowLate with no allowed lateness); it cannot have merged with an open session, so
      it changes no state and goes to its side's late output.
    State, per key: value state "\x01wjs", the open sessions as (start, end) sorted by start
    (they never intersect); each session's records in the shared lists under (start, side);
    one event-time timer at each session's end - 1, deleted when its session is merged away. */
#include "rill_process_private.h"
#include "rill_time_math.h"

#include <string.h>

typedef struct {
    int64_t start;
    int64_t end;
} s_session_t;

static const char s_index[] = "\x01wjs";

//  Copies the current key's sessions into self->join_sessions (a state call may move them).
//  Sets *count. 0, or -1 (op->error set).
static int s_sessions_load(rill_process_t *self, size_t *count)
{
    rill_buffer_t *sessions = self->join_sessions;
    rill_buffer_reset(sessions);
    const void *data;
    size_t size;
    if (rill_state_value_get(self, s_index, &data, &size) == 0) {
        if (size % sizeof(s_session_t))
            return rill_window_join_fail(self, "corrupt session state");
        if (rill_buffer_append(sessions, data, size))
            return rill_window_join_fail(self, "out of memory");
    }
    *count = sessions->size / sizeof(s_session_t);
    return 0;
}

static s_session_t s_session(const rill_process_t *self, size_t i)
{
    s_session_t session;
    memcpy(&session, self->join_sessions->data + i * sizeof session, sizeof session);
    return session;
}

//  Writes the count sessions of self->join_sessions back to the key's state.
static int s_sessions_save(rill_process_t *self, size_t count)
{
    if (count == 0)
        return rill_state_clear(self, s_index) ? rill_window_join_fail(self, "cannot clear state")
                                               : 0;
    return rill_state_value_set(self, s_index, self->join_sessions->data,
                                count * sizeof(s_session_t))
               ? rill_window_join_fail(self, "out of memory")
               : 0;
}

//  Moves one side's lists of sessions [lo, hi) to the merged session's slot (the one already
//  there stays in place, so a record that merges nothing costs no copy of its session), then
//  adds record when it is of that side.
static int s_gather(rill_process_t *self, size_t lo, size_t hi, s_session_t merged, int side,
                    const rill_record_t *record)
{
    uint8_t slot[RILL_WINDOW_JOIN_SLOT_SIZE];
    for (size_t i = lo; i < hi; i++) {
        s_session_t session = s_session(self, i);
        if (session.start == merged.start)
            continue;
        rill_window_join_slot(slot, session.start, side);
        const void *data;
        size_t size;
        if (rill_state_map_get(self, RILL_WINDOW_JOIN_LISTS, slot, sizeof slot, &data, &size))
            continue;
        //  data stays valid until the next state call: extend copies it before any.
        if (rill_window_join_list_extend(self, merged.start, side, data, size) ||
            rill_state_map_remove(self, RILL_WINDOW_JOIN_LISTS, slot, sizeof slot))
            return rill_window_join_fail(self, "out of memory");
    }
    return record ? rill_window_join_list_add(self, merged.start, side, record) : 0;
}

int rill_window_join_session_record(rill_process_t *self, const rill_record_t *record,
                                    rill_collector_t *out)
{
    const rill_window_t *window = &self->op->spec->window;
    int side = self->input;
    int64_t time = record->timestamp;
    int64_t gap = window->gap_fn ? window->gap_fn(record, window->gap_ctx) : window->gap;
    if (gap <= 0)
        return rill_window_join_fail(self, "the session gap function gave a gap <= 0 ms");
    s_session_t merged = {time, rill_time_add(time, gap)};
    size_t count = 0;
    if (s_sessions_load(self, &count))
        return -1;
    //  Sessions are sorted and apart, so those the new window intersects are a run [lo, hi);
    //  the loops grow the merged session over its neighbours until none intersects it.
    size_t lo = 0, hi;
    while (lo < count && s_session(self, lo).end < merged.start)
        lo++;
    for (hi = lo; hi < count && s_session(self, hi).start <= merged.end; hi++) {
        s_session_t session = s_session(self, hi);
        merged.start = session.start < merged.start ? session.start : merged.start;
        merged.end = session.end > merged.end ? session.end : merged.end;
    }
    while (lo > 0 && s_session(self, lo - 1).end >= merged.start) {
        lo--;
        merged.start =
            s_session(self, lo).start < merged.start ? s_session(self, lo).start : merged.start;
    }
    if (merged.end - 1 <= self->watermark) //  late: its session has fired (or would at once)
        return rill_collector_emit_side(out, side == 0 ? RILL_JOIN_LATE_LEFT : RILL_JOIN_LATE_RIGHT,
                                        record->data, record->size, time);
    if (s_gather(self, lo, hi, merged, 0, side == 0 ? record : NULL) ||
        s_gather(self, lo, hi, merged, 1, side == 1 ? record : NULL))
        return -1;
    //  The absorbed sessions' timers go; the merged session's fires at its last millisecond.
    for (size_t i = lo; i < hi; i++) {
        int64_t end = s_session(self, i).end;
        if (end != merged.end && rill_timer_delete(self, RILL_TIME_EVENT, end - 1))
            return rill_window_join_fail(self, "out of memory");
    }
    if (rill_timer_register(self, RILL_TIME_EVENT, merged.end - 1))
        return rill_window_join_fail(self, "out of memory");
    //  The merged session replaces the run [lo, hi) in the index.
    if (lo == hi && !rill_buffer_reserve(self->join_sessions, sizeof merged))
        return rill_window_join_fail(self, "out of memory");
    uint8_t *base = self->join_sessions->data;
    size_t taken = hi - lo;
    if (taken != 1)
        memmove(base + (lo + 1) * sizeof merged, base + hi * sizeof merged,
                (count - hi) * sizeof merged);
    memcpy(base + lo * sizeof merged, &merged, sizeof merged);
    return s_sessions_save(self, count + 1 - taken);
}

int rill_window_join_session_timer(rill_process_t *self, int64_t time, rill_collector_t *out)
{
    size_t count = 0;
    if (s_sessions_load(self, &count))
        return -1;
    size_t i = 0;
    while (i < count && s_session(self, i).end - 1 != time)
        i++;
    if (i == count)
        return 0; //  no session of this key ends here (a timer from before a merge)
    int64_t start = s_session(self, i).start;
    uint8_t *base = self->join_sessions->data;
    memmove(base + i * sizeof(s_session_t), base + (i + 1) * sizeof(s_session_t),
            (count - i - 1) * sizeof(s_session_t));
    if (s_sessions_save(self, count - 1))
        return -1;
    return rill_window_join_fire(self, start, time, out);
}
