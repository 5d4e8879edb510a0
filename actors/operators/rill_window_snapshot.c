/*  rill_window_snapshot.c: the window operator's state in a checkpoint (Flink's window state,
    timers and, beyond Flink, the input watermark). Everything a window keeps lives in its
    keyed table (rill_window_private.h): a window's contents (accumulator or record list), a
    key's index of open sessions (their merged extents), a count window's records and the count
    since it last fired (kept in the entry's timestamp); so the table goes out entry by entry,
    and the timers beside it. Entries (rill_keyed_snapshot.h for a and b):
      S_TAG_WINDOW    KEYED: one table entry: a = state key, b = timestamp then value.
      S_TAG_TIMER     KEYED: one timer (fire or clean up): a = state key, b = time then tag,
                      written in firing order.
      S_TAG_WATERMARK KEYED, once per key group the subtask owns: its input watermark (b),
                      the floor a restored subtask's watermark starts from (several: the lowest).
    A state key's record key is all of it but the bounds, so every entry of a key (its windows,
    its session index, its timers) goes to the subtask that gets the key's records. */
#include "rill_keyed_snapshot.h"
#include "rill_window_private.h"

#include <assert.h>
#include <stdio.h>

enum {
    S_TAG_WINDOW = 1,
    S_TAG_TIMER = 2,
    S_TAG_WATERMARK = 3,
    //  Triggered windows: named state of a window or key (a, b as WINDOW).
    S_TAG_META = RILL_WINDOW_SNAPSHOT_TAG_META,
    S_TAG_PROC_TIMER = 5, //  triggered windows: a processing-time timer (as TIMER)
};

//  The record key of a window state key (or timer key): all but the bounds.
static int s_record_key(const uint8_t *state_key, size_t size, const uint8_t **key,
                        size_t *key_size)
{
    if (size < RILL_WINDOW_BOUNDS_SIZE)
        return -1;
    *key = state_key;
    *key_size = size - RILL_WINDOW_BOUNDS_SIZE;
    return 0;
}

static int s_failed(rill_operator_t *self, const char *doing, const char *why, int tag)
{
    if (tag >= 0)
        snprintf(self->error, sizeof self->error, "%s window state: %s (entry tag %d)", doing, why,
                 tag);
    else
        snprintf(self->error, sizeof self->error, "%s window state: %s", doing, why);
    return -1;
}

int rill_window_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    assert(self && out);
    rill_window_op_t *op = self->state;
    const char *why = NULL;
    if (rill_keyed_snapshot_put_table(out, S_TAG_WINDOW, op->table, s_record_key, &why) ||
        rill_keyed_snapshot_put_timers(out, S_TAG_TIMER, op->timers, s_record_key, &why))
        return s_failed(self, "saving", why, -1);
    if (op->triggered &&
        (rill_keyed_snapshot_put_table(out, S_TAG_META, op->meta, s_record_key, &why) ||
         rill_keyed_snapshot_put_timers(out, S_TAG_PROC_TIMER, op->proc_timers, s_record_key,
                                        &why)))
        return s_failed(self, "saving", why, -1);
    if (rill_keyed_snapshot_put_watermark(out, S_TAG_WATERMARK, self->index, self->op->parallelism,
                                          op->watermark))
        return s_failed(self, "saving", "out of memory", -1);
    return 0;
}

int rill_window_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    assert(self && in);
    rill_window_op_t *op = self->state;
    int64_t floor = INT64_MIN;
    bool have_floor = false;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const char *why = NULL;
        switch (entry.tag) {
        case S_TAG_WINDOW:
            rc = rill_keyed_snapshot_get_entry(op->table, &entry, s_record_key, &why) ? 0 : -1;
            break;
        case S_TAG_TIMER:
            rc = rill_keyed_snapshot_get_timer(op->timers, &entry, s_record_key, &why);
            break;
        case S_TAG_META:
            rc = op->triggered &&
                         rill_keyed_snapshot_get_entry(op->meta, &entry, s_record_key, &why)
                     ? 0
                     : -1;
            if (!op->triggered)
                why = "named window state in a window without a trigger";
            break;
        case S_TAG_PROC_TIMER:
            rc = op->triggered ? rill_keyed_snapshot_get_timer(op->proc_timers, &entry,
                                                                s_record_key, &why)
                               : -1;
            if (!op->triggered)
                why = "a processing-time timer in a window without a trigger";
            break;
        case S_TAG_WATERMARK:
            rc = rill_keyed_snapshot_get_watermark(&entry, &floor, &have_floor, &why);
            break;
        default:
            why = "unknown entry";
            rc = -1;
        }
        if (rc)
            return s_failed(self, "restoring", why, entry.tag);
    }
    if (rc < 0)
        return s_failed(self, "restoring", "malformed snapshot", -1);
    //  No floor (restored from no old subtask): the watermark starts afresh.
    op->watermark = have_floor ? floor : INT64_MIN;
    return 0;
}
