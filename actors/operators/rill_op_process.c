/*  rill_op_process.c: keyed process functions. The user function sees one record at a time
    with its key current, reads and writes per-key state and registers timers that call back
    into it with the same key. Its state lives in the subtask's one keyed table (the store and
    its layout: rill_state.c). Timers are deduplicated per (domain, time, key) by a marker entry in
   the same table. */
#include "rill_clock.h"
#include "rill_keyed_snapshot.h"
#include "rill_process_private.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const rill_key_t *rill_process_key(rill_process_t *self)
{
    return &self->key;
}

int64_t rill_process_watermark(rill_process_t *self)
{
    return self->watermark;
}

int rill_process_input(rill_process_t *self)
{
    return self->input;
}

int64_t rill_process_now(rill_process_t *self)
{
    return rill_operator_now_ms(self->op);
}

//  The dedup marker of a timer: namespace "\x01timer", kind = domain, map key = time.
static int s_timer_marker(rill_process_t *self, rill_time_domain_t domain, int64_t time)
{
    return rill_process_state_key(self, "\x01timer", domain == RILL_TIME_EVENT ? 'E' : 'P', &time,
                                  sizeof time);
}

int rill_timer_delete(rill_process_t *self, rill_time_domain_t domain, int64_t time)
{
    if (domain != RILL_TIME_EVENT && domain != RILL_TIME_PROCESSING)
        return -1;
    if (s_timer_marker(self, domain, time))
        return -1;
    //  The heap keeps its entry; without the marker it is skipped when it comes due.
    rill_process_state_remove(self);
    return 0;
}

int rill_timer_register(rill_process_t *self, rill_time_domain_t domain, int64_t time)
{
    if (domain != RILL_TIME_EVENT && domain != RILL_TIME_PROCESSING)
        return -1;
    if (s_timer_marker(self, domain, time))
        return -1;
    if (rill_process_state_find(self))
        return 0; //  already registered for this key and time
    if (rill_process_state_put(self, NULL, 0))
        return -1;
    return rill_timer_heap_push(self->timers[domain], time, self->current->data,
                                self->current->size, 0);
}

static int s_set_key(rill_process_t *self, const void *key, size_t size)
{
    if (rill_buffer_set(self->current, key, size))
        return -1;
    self->key.data = self->current->data;
    self->key.size = size;
    return 0;
}

static int s_on_record(rill_operator_t *op, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    rill_process_t *self = op->state;
    if (op->spec->on_broadcast && input >= op->spec->first_inputs) {
        self->on_broadcast = true;
        self->input = 1;
        bool timed = rill_busy_split_user_begin(op->busy_split);
        rill_collector_inherit(out, record->timestamp);
        int rc = op->spec->on_broadcast(self, record, out, op->ctx);
        rill_collector_inherit_end(out);
        rill_busy_split_user_end(op->busy_split, timed);
        self->on_broadcast = false;
        self->input = 0;
        if (rc && !out->stopping)
            snprintf(op->error, sizeof op->error, "broadcast function failed");
        return rc ? -1 : 0;
    }
    rill_key_t key;
    uint64_t hash; //  of the key alone; state is keyed by (key, name), hashed apart
    if (rill_operator_record_key(op, self->keys, record, input, &key, &hash) ||
        s_set_key(self, key.data, key.size)) {
        snprintf(op->error, sizeof op->error, "key extractor failed");
        return -1;
    }
    int first = op->spec->first_inputs;
    self->input = first > 0 && input >= first ? 1 : 0;
    if (op->spec->join) {
        int rc = op->spec->window_join ? rill_window_join_record(self, record, out)
                                       : rill_interval_join_record(self, record, out);
        self->input = 0;
        return rc;
    }
    bool timed = rill_busy_split_user_begin(op->busy_split);
    rill_collector_inherit(out, record->timestamp);
    int rc = op->spec->fn.process(self, record, out, op->ctx);
    rill_collector_inherit_end(out);
    self->input = 0;
    rill_busy_split_user_end(op->busy_split, timed);
    if (rc) {
        if (!out->stopping)
            snprintf(op->error, sizeof op->error, "process function failed");
        return -1;
    }
    return 0;
}

//  Fires the timers of one domain due at `until`, in time order.
static int s_fire(rill_operator_t *op, rill_time_domain_t domain, int64_t until,
                  rill_collector_t *out)
{
    rill_process_t *self = op->state;
    rill_timer_t timer;
    while (rill_timer_heap_pop(self->timers[domain], until, &timer)) {
        int rc = s_set_key(self, timer.key, timer.key_size);
        free(timer.key);
        //  Its marker says it is still registered: a deleted timer (rill_timer_delete) has
        //  none and does not fire.
        if (rc == 0 && s_timer_marker(self, domain, timer.time) == 0) {
            if (!rill_process_state_find(self))
                continue;
            rill_process_state_remove(self);
        }
        if (rc == 0 && op->spec->join)
            rc = op->spec->window_join ? rill_window_join_timer(self, timer.time, out)
                                       : rill_interval_join_timer(self, timer.time, out);
        else if (rc == 0 && op->spec->on_timer) {
            bool timed = rill_busy_split_user_begin(op->busy_split);
            rill_collector_inherit(out, timer.time);
            rc = op->spec->on_timer(self, timer.time, domain, out, op->ctx);
            rill_collector_inherit_end(out);
            rill_busy_split_user_end(op->busy_split, timed);
        }
        if (rc) {
            if (!out->stopping && !op->spec->join) //  the join says what failed itself
                snprintf(op->error, sizeof op->error, "timer function failed");
            return -1;
        }
    }
    return 0;
}

static int s_on_watermark(rill_operator_t *op, int64_t watermark, rill_collector_t *out)
{
    rill_process_t *self = op->state;
    //  Only a restored subtask sees its input watermark below its own (the floor saved in the
    //  checkpoint, see s_restore): ignored, so no timer fires twice.
    if (watermark < self->watermark)
        return 0;
    self->watermark = watermark;
    return s_fire(op, RILL_TIME_EVENT, watermark, out);
}

static int64_t s_next_tick(rill_operator_t *op)
{
    rill_process_t *self = op->state;
    return rill_timer_heap_next(self->timers[RILL_TIME_PROCESSING]);
}

static int s_on_tick(rill_operator_t *op, int64_t now, rill_collector_t *out)
{
    return s_fire(op, RILL_TIME_PROCESSING, now, out);
}

//  Bounded input: pending processing-time timers fire now rather than be lost (event-time
//  timers have fired: the last watermark was +infinity).
static int s_on_end(rill_operator_t *op, rill_collector_t *out)
{
    return s_fire(op, RILL_TIME_EVENT, INT64_MAX, out) ||
           s_fire(op, RILL_TIME_PROCESSING, INT64_MAX, out);
}

/*  Checkpoints: the process function's keyed state (Flink's keyed state backend and timer
    service) and its input watermark. Entries (rill_keyed_snapshot.h for a and b):
      S_TAG_STATE      KEYED: one table entry: a value, a map entry or a timer's dedup marker
                       (a = state key, b = timestamp then value).
      S_TAG_EVENT      KEYED: an event-time timer (a = its record key, b = time then tag),
      S_TAG_PROCESSING KEYED: a processing-time timer; each domain in firing order.
      S_TAG_WATERMARK  KEYED, once per key group the subtask owns: its input watermark
                       (b), the floor a restored subtask's watermark starts from (several:
                       the lowest).
    Each keyed entry goes to the key group of its record key: the front of a state key
    (rill_process_state_record_key), a timer's whole key. */
enum {
    S_TAG_STATE = RILL_PROCESS_SNAPSHOT_TAG_STATE,
    S_TAG_EVENT = 2,
    S_TAG_PROCESSING = 3,
    S_TAG_WATERMARK = 4,
    S_TAG_BROADCAST = 5 //  BROADCAST: one broadcast state entry (a = name and key, b = value)
};

static int s_failed(rill_operator_t *op, const char *doing, const char *why, int tag)
{
    if (tag >= 0)
        snprintf(op->error, sizeof op->error, "%s process state: %s (entry tag %d)", doing, why,
                 tag);
    else
        snprintf(op->error, sizeof op->error, "%s process state: %s", doing, why);
    return -1;
}

typedef struct {
    const rill_process_t *self;
    int64_t now;
} s_keep_t;

//  Flink's cleanupFullSnapshot: expired state stays out of checkpoints, so that no restore
//  brings it back (the live table keeps it until read or cleaned up incrementally).
static bool s_keep(const rill_keyed_entry_t *entry, void *ctx)
{
    const s_keep_t *keep = ctx;
    return !rill_process_state_expired(keep->self, entry, keep->now);
}

static int s_snapshot(rill_operator_t *op, int64_t checkpoint, rill_buffer_t *out)
{
    rill_process_t *self = op->state;
    const char *why = NULL;
    s_keep_t keep = {self, op->spec->state_ttl_ms > 0 ? rill_operator_now_ms(op) : 0};
    if (rill_keyed_snapshot_put_table_kept(
            out, S_TAG_STATE, self->table, rill_process_state_record_key,
            op->spec->state_ttl_ms > 0 ? s_keep : NULL, &keep, &why) ||
        rill_keyed_snapshot_put_timers(out, S_TAG_EVENT, self->timers[RILL_TIME_EVENT],
                                       rill_keyed_snapshot_whole_key, &why) ||
        rill_keyed_snapshot_put_timers(out, S_TAG_PROCESSING, self->timers[RILL_TIME_PROCESSING],
                                       rill_keyed_snapshot_whole_key, &why))
        return s_failed(op, "saving", why, -1);
    if (rill_keyed_snapshot_put_watermark(out, S_TAG_WATERMARK, op->index, op->op->parallelism,
                                          self->watermark))
        return s_failed(op, "saving", "out of memory", -1);
    for (size_t i = 0; self->broadcast && i < rill_keyed_table_slots(self->broadcast); i++) {
        const rill_keyed_entry_t *entry = rill_keyed_table_slot(self->broadcast, i);
        if (entry && rill_snapshot_put(out, RILL_STATE_BROADCAST, S_TAG_BROADCAST, 0,
                                       rill_keyed_entry_key(entry), entry->key_size,
                                       rill_keyed_entry_value(entry), entry->value_size))
            return s_failed(op, "saving", "out of memory", -1);
    }
    return 0;
}

static int s_restore(rill_operator_t *op, rill_state_reader_t *in)
{
    rill_process_t *self = op->state;
    int64_t floor = INT64_MIN;
    bool have_floor = false;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const char *why = NULL;
        switch (entry.tag) {
        case S_TAG_STATE:
            rc = rill_keyed_snapshot_get_entry(self->table, &entry, rill_process_state_record_key,
                                               &why)
                     ? 0
                     : -1;
            break;
        case S_TAG_EVENT:
        case S_TAG_PROCESSING:
            rc = rill_keyed_snapshot_get_timer(
                self->timers[entry.tag == S_TAG_EVENT ? RILL_TIME_EVENT : RILL_TIME_PROCESSING],
                &entry, rill_keyed_snapshot_whole_key, &why);
            break;
        case S_TAG_WATERMARK:
            rc = rill_keyed_snapshot_get_watermark(&entry, &floor, &have_floor, &why);
            break;
        case S_TAG_BROADCAST:
            if (entry.scope != RILL_STATE_BROADCAST || !self->broadcast) {
                why = "broadcast state for an operator without a broadcast input";
                rc = -1;
            } else if (!rill_keyed_table_put(self->broadcast, entry.a, entry.a_size,
                                             rill_keyed_hash(entry.a, entry.a_size), entry.b,
                                             entry.b_size, 0)) {
                why = "out of memory";
                rc = -1;
            } else
                rc = 0;
            break;
        default:
            why = "unknown entry";
            rc = -1;
        }
        if (rc)
            return s_failed(op, "restoring", why, entry.tag);
    }
    if (rc < 0)
        return s_failed(op, "restoring", "malformed snapshot", -1);
    //  No floor (restored from no old subtask): the watermark starts afresh.
    self->watermark = have_floor ? floor : INT64_MIN;
    return 0;
}

static size_t s_state_entries(rill_operator_t *op)
{
    rill_process_t *self = op->state;
    return rill_keyed_table_size(self->table);
}

static void s_close(rill_operator_t *op)
{
    rill_process_t *self = op->state;
    if (!self)
        return;
    rill_keyed_table_destroy(&self->table);
    rill_timer_heap_destroy(&self->timers[0]);
    rill_timer_heap_destroy(&self->timers[1]);
    rill_buffer_destroy(&self->state_key);
    rill_buffer_destroy(&self->current);
    rill_buffer_destroy(&self->join_scratch);
    rill_buffer_destroy(&self->join_sessions);
    rill_keyed_table_destroy(&self->broadcast);
    free(self->keys);
    free(self);
}

static const rill_operator_vtable_t s_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_watermark = s_on_watermark,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
    .state_entries = s_state_entries,
};

int rill_op_process_open(rill_operator_t *op)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(op && op->spec->kind == RILL_OP_PROCESS);
    rill_process_t *self = calloc(1, sizeof(rill_process_t));
    if (!self)
        return -1;
    op->vtable = &s_vtable;
    op->state = self;
    self->op = op;
    self->watermark = INT64_MIN;
    self->table = rill_keyed_table_new();
    self->timers[0] = rill_timer_heap_new();
    self->timers[1] = rill_timer_heap_new();
    self->state_key = rill_buffer_new();
    self->current = rill_buffer_new();
    self->join_scratch = rill_buffer_new();
    self->join_sessions = rill_buffer_new();
    self->keys = rill_operator_input_keys(op);
    if (op->spec->on_broadcast)
        self->broadcast = rill_keyed_table_new();
    if (!self->table || !self->timers[0] || !self->timers[1] || !self->state_key ||
        !self->current || !self->join_scratch || !self->join_sessions || !self->keys ||
        (op->spec->on_broadcast && !self->broadcast)) {
        snprintf(op->error, sizeof op->error, "out of memory");
        return -1;
    }
    return 0;
}
