/*  rill_window_private.h: what the files of the window operator share (rill_op_window.c and
    the rill_window_*.c files, one concern each). The operator hands each record to an
    assigner (time windows: rill_window_assign.c; sessions: rill_window_session.c; count
    windows: rill_window_count.c), which stores it through rill_window_state.c's encodings and
    fires windows through rill_window_fire.c.

    A window lives in the subtask's keyed table under its state key: the record key followed
    by the window's start and end (16 bytes), so a window's key is always its state key's
    prefix. Its value is an accumulator or, for process functions and count windows, the
    window's records in the list encoding below. Not installed. */
#ifndef RILL_WINDOW_PRIVATE_H_INCLUDED
#define RILL_WINDOW_PRIVATE_H_INCLUDED

#include "rill_buffer_private.h"
#include "rill_keyed_table.h"
#include "rill_time_math.h"
#include "rill_operator.h"
#include "rill_timer_heap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

//  Timer tags: fire a window (it stays for late records), or drop its state (and fire it
//  first when it has no allowed lateness).
enum { RILL_WINDOW_TIMER_FIRE, RILL_WINDOW_TIMER_CLEANUP };

//  The window operator's state (the operator's `state` pointer).
typedef struct {
    rill_keyed_table_t *table;
    rill_timer_heap_t *timers; //  in the window's time domain
    rill_input_key_t *keys;    //  key extractor per input edge
    rill_buffer_t *state_key;  //  scratch: record key + bounds
    rill_buffer_t *value;      //  scratch: a window's value being rebuilt
    rill_buffer_t *other;      //  scratch: a second value (merging)
    rill_record_t *records;    //  scratch: a window's records decoded for a process function
    size_t records_capacity;
    int64_t watermark; //  the input watermark; after a restore, never below the saved one
    bool lists; //  windows keep their records rather than an accumulator
    bool event_time;
    rill_window_bounds_t *assigned; //  scratch: the windows of the record being assigned
    size_t assigned_capacity;
    //  Triggered windows only (rill_window_triggered.c): a trigger, an evictor, global or
    //  custom windows, or window_apply. `timers` then holds the event-time timers.
    bool triggered;
    rill_trigger_t trigger;         //  resolved: never RILL_TRIGGER_DEFAULT
    rill_keyed_table_t *meta;       //  named state per window and per key, timer markers
    rill_timer_heap_t *proc_timers; //  processing-time timers
    rill_buffer_t *meta_key;        //  scratch: the state key of a context's window
    rill_buffer_t *map;             //  scratch: a named-state map being rebuilt
    rill_buffer_t *fire_key;        //  scratch: the window being fired
    rill_buffer_t *kept;            //  scratch: a fired window's records after eviction
    rill_record_t *fire_records;    //  scratch: a fired window's records, decoded
    size_t fire_capacity;
} rill_window_op_t;

//  The window a trigger or window_apply function is called for (rill_trigger.h).
struct rill_window_context_t {
    rill_operator_t *self;
    rill_key_t key; //  the record key (bytes owned by the caller)
    rill_window_bounds_t window;
    bool in_trigger; //  timers may be registered
    const rill_window_bounds_t *merged; //  in on_merge: the windows merged into this one
    size_t merged_count;
};

static inline int rill_window_fail(rill_operator_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "%s", why);
    return -1;
}

//  ---- state encoding (rill_window_state.c): pure functions, no operator

//  Bytes the bounds add to a record key in a state key.
#define RILL_WINDOW_BOUNDS_SIZE (2 * sizeof(int64_t))
//  Bytes in front of each record of a list: its size (uint32) and timestamp (int64).
#define RILL_WINDOW_ENTRY_HEADER_SIZE (sizeof(uint32_t) + sizeof(int64_t))

//  state_key = key + start + end. 0, or -1 when out of memory.
int rill_window_state_key_set(rill_buffer_t *state_key, const void *key, size_t key_size,
                              rill_window_bounds_t bounds);
//  The bounds at the end of a state key of `size` bytes (at least RILL_WINDOW_BOUNDS_SIZE).
rill_window_bounds_t rill_window_state_key_bounds(const uint8_t *state_key, size_t size);
//  The session index's state key of a key: bounds INT64_MIN, INT64_MIN, which no window has.
int rill_window_state_key_index(rill_buffer_t *state_key, const void *key, size_t key_size);

//  Bytes a record of record_size takes in a list.
size_t rill_window_list_entry_size(size_t record_size);
//  Writes record at `at` (rill_window_list_entry_size bytes); returns the end of the entry.
uint8_t *rill_window_list_put(uint8_t *at, const rill_record_t *record);
//  Reads the entry at *at within [*at, end) into record (pointing into the list) and moves *at
//  past it. 0, or -1 when the list is truncated.
int rill_window_list_get(const uint8_t **at, const uint8_t *end, rill_record_t *record);
//  Decodes a whole list into *records (grown as needed, the caller frees it). Returns the
//  record count, or -1 when out of memory or the list is corrupt.
long rill_window_list_decode(const uint8_t *list, size_t size, rill_record_t **records,
                             size_t *capacity);

//  A named-state map (per window or per key): entries back to back, each a uint16 name size,
//  the name, a uint32 value size and the value. find: 0 with the value, or -1 when absent.
//  set: writes into out the map with name set to value (or taken out when remove). 0 or -1.
int rill_window_map_find(const uint8_t *map, size_t size, const char *name, size_t name_size,
                         const uint8_t **value, size_t *value_size);
//  The next entry of a map from *at (start: the map's first byte): 0 with name and value set
//  and *at moved past it, or -1 at the end (or where the rest is truncated).
int rill_window_map_next(const uint8_t **at, const uint8_t *end, const uint8_t **name,
                         size_t *name_size, const uint8_t **value, size_t *value_size);
int rill_window_map_set(rill_buffer_t *out, const uint8_t *map, size_t size, const char *name,
                        size_t name_size, const void *value, size_t value_size, bool remove);
//  Encodes records into out (replacing it) as a window list. 0 or -1.
int rill_window_list_encode(rill_buffer_t *out, const rill_record_t *records, size_t count);

//  ---- accumulators and firing (rill_window_fire.c)

//  Folds record into value (empty when the window is new).
int rill_window_fold(rill_operator_t *self, rill_buffer_t *value, const rill_record_t *record);
//  Merges value `other` (same kind) into value (session windows).
int rill_window_merge(rill_operator_t *self, rill_buffer_t *value, const uint8_t *other,
                      size_t size);
//  Emits the result of one window of key from its value (accumulator or record list).
//  timestamp: the result's event time.
int rill_window_emit(rill_operator_t *self, const void *key, size_t key_size,
                     rill_window_bounds_t bounds, int64_t timestamp, const uint8_t *value,
                     size_t value_size, rill_collector_t *out);
//  Fires the window stored under state_key (if it still exists); removes it when `remove`.
int rill_window_fire(rill_operator_t *self, const uint8_t *state_key, size_t size, bool remove,
                     rill_collector_t *out);

//  ---- time windows (rill_window_assign.c)

//  Tumbling and sliding windows are walked by offset = time - start of a window holding the
//  record: [0, slide) for the latest, one slide more for each earlier one, while it stays
//  below size. Working on offsets rather than starts keeps every step in range; a start
//  before INT64_MIN saturates there (stop after it: earlier windows cannot be represented).
static inline int64_t rill_window_slide(const rill_window_t *window)
{
    return window->kind == RILL_WINDOW_SLIDING ? window->slide : window->size;
}

static inline int64_t rill_window_first_offset(int64_t time, int64_t slide)
{
    int64_t offset = time % slide;
    return offset < 0 ? offset + slide : offset;
}

static inline rill_window_bounds_t rill_window_at_offset(int64_t time, int64_t size,
                                                         int64_t offset)
{
    return (rill_window_bounds_t){rill_time_sub(time, offset), rill_time_add(time, size - offset)};
}

//  Adds record to window `bounds` of key, leaving its state key in op->state_key.
//  *created tells whether the window is new.
int rill_window_add(rill_operator_t *self, const void *key, size_t key_size,
                    rill_window_bounds_t bounds, const rill_record_t *record, bool *created);
//  True when the watermark has passed the window's max timestamp (end - 1): it fires at once.
bool rill_window_due(const rill_window_op_t *op, rill_window_bounds_t bounds);
//  True when the window is past its allowed lateness: records for it are late.
bool rill_window_late(const rill_operator_t *self, rill_window_bounds_t bounds);
//  Registers the timers of the new window whose state key is in op->state_key.
int rill_window_schedule(rill_operator_t *self, rill_window_bounds_t bounds);
//  Tumbling and sliding windows: adds record (at `time`) to each of its windows not past
//  their lateness; *skipped tells whether every one was.
int rill_window_assign_timed(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                             const rill_record_t *record, rill_collector_t *out, bool *skipped);

//  ---- session windows (rill_window_session.c)

//  Adds record (at `time`) to the key's session, merging the sessions it bridges; *skipped
//  tells whether the merged session is past its lateness.
int rill_window_session_add(rill_operator_t *self, const void *key, size_t key_size, int64_t time,
                            const rill_record_t *record, rill_collector_t *out, bool *skipped);
//  Takes session `gone` out of the key's index of open sessions.
int rill_window_session_forget(rill_window_op_t *op, const void *key, size_t key_size,
                               rill_window_bounds_t gone);

//  Grows merged over the sessions[i] not yet taken that it overlaps or touches, marking them
//  taken, until nothing more does.
void rill_window_session_grow(const rill_window_bounds_t *sessions, size_t count, bool *taken,
                              rill_window_bounds_t *merged);
//  Adds `merged` to the key's index of open sessions; leaves the index's state key in
//  op->state_key.
int rill_window_session_index_add(rill_window_op_t *op, const void *key, size_t key_size,
                                  rill_window_bounds_t merged);

//  ---- triggered windows (rill_window_triggered.c; triggers in rill_window_trigger.c,
//  evictors in rill_window_evict.c)

//  Sets up the triggered part of the operator's state.
int rill_window_triggered_open(rill_operator_t *self);
void rill_window_triggered_close(rill_window_op_t *op);
//  One record of key into its windows, then their triggers; late records to the side output.
int rill_window_triggered_add(rill_operator_t *self, const void *key, size_t key_size,
                              const rill_record_t *record, rill_collector_t *out);
//  Runs the timers of one domain due at `until`.
int rill_window_triggered_timers(rill_operator_t *self, bool event_time, int64_t until,
                                 rill_collector_t *out);
//  End of input: the event-time timers up to +infinity, then the processing-time timers
//  pending now, once.
int rill_window_triggered_end(rill_operator_t *self, rill_collector_t *out);

//  The trigger to run for a window: the one set, or the assigner's default.
rill_trigger_t rill_window_trigger_resolve(const rill_window_t *window);
//  A trigger's calls, built-in or the user's, with PurgingTrigger applied.
rill_trigger_result_t rill_window_trigger_element(const rill_trigger_t *trigger,
                                                  rill_window_context_t *window,
                                                  const rill_record_t *record, int64_t timestamp);
rill_trigger_result_t rill_window_trigger_time(const rill_trigger_t *trigger,
                                               rill_window_context_t *window, bool event_time,
                                               int64_t time);
int rill_window_trigger_merge(const rill_trigger_t *trigger, rill_window_context_t *window);
void rill_window_trigger_clear(const rill_trigger_t *trigger, rill_window_context_t *window);
//  The context's side of timers and state (rill_window_context.c): take the marker of a timer
//  that fired (1: it was registered, 0: deleted since, -1: out of memory); whether the window
//  has named state; drop all of it.
int rill_window_timer_take(rill_window_context_t *window, bool event_time, int64_t time);
bool rill_window_context_has_state(rill_window_context_t *window);
void rill_window_context_drop_state(rill_window_context_t *window);
//  A window's max timestamp: end - 1, and INT64_MAX for the global window.
int64_t rill_window_max_timestamp(rill_window_bounds_t bounds);

//  Applies the evictor to records[0, *count) of a window (before or after the function),
//  keeping the survivors in order at the front and *count updated. 0, or -1 (self->error set).
int rill_window_evict(rill_operator_t *self, const rill_window_bounds_t *window,
                      rill_record_t *records, size_t *count, bool before);

//  ---- count windows (rill_window_count.c)

//  Adds record to the key's count window and fires it every size (tumbling) or slide records.
int rill_window_count_add(rill_operator_t *self, const void *key, size_t key_size,
                          const rill_record_t *record, rill_collector_t *out);

//  ---- checkpoints (rill_window_snapshot.c): the operator's snapshot and restore hooks

//  The snapshot tag of a triggered window's named state (a = window state key, b = its
//  timestamp, 8 bytes, then the map): what reads a checkpoint's named state looks for. The
//  per-key ("global") state has the bounds RILL_WINDOW_GLOBAL_STATE_START, + 1.
#define RILL_WINDOW_SNAPSHOT_TAG_META 4
#define RILL_WINDOW_GLOBAL_STATE_START INT64_MIN

int rill_window_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out);
int rill_window_restore(rill_operator_t *self, rill_state_reader_t *in);

#endif
