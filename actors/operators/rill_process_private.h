/*  rill_process_private.h: the keyed process operator's state, shared by the operator
    (rill_op_process.c: records, timers, the current key) and the per-key state store behind
    the public rill_state_* functions (rill_state.c). Not installed. */
#ifndef RILL_PROCESS_PRIVATE_H_INCLUDED
#define RILL_PROCESS_PRIVATE_H_INCLUDED

#include "rill_buffer_private.h"
#include "rill_keyed_table.h"
#include "rill_operator.h"
#include "rill_time.h"
#include "rill_timer_heap.h"

struct rill_process_t {
    rill_operator_t *op;
    rill_keyed_table_t *table;
    rill_timer_heap_t *timers[2]; //  by rill_time_domain_t
    rill_input_key_t *keys;       //  key extractor per input edge
    rill_buffer_t *state_key;     //  scratch
    rill_buffer_t *current;       //  the current key's bytes (a copy: the record may go away)
    rill_key_t key;               //  view of current
    int64_t watermark; //  the input watermark; after a restore, never below the saved one
    int64_t now;
    int input; //  which connected stream the current record came from (0 or 1; 0 in timers)
    rill_buffer_t *join_scratch; //  an interval join's list being rewritten (rill_op_join.c)
    rill_buffer_t *join_sessions; //  a session window join's sessions of the current key, copied
    //  Broadcast state (rill_broadcast_state.c): (name, key) -> value, the same in every
    //  subtask; NULL unless the operator has a broadcast input. on_broadcast: true while the
    //  broadcast function runs (no key current; the only time broadcast state is written).
    rill_keyed_table_t *broadcast;
    bool on_broadcast;
    size_t cleanup_slot; //  where the incremental cleanup of expired state goes on (rill_state.c)
};

//  An interval join's record (rill_op_join.c): joined with the other side's buffered records
//  of its key, then buffered itself; and its cleanup timer. 0, or -1 (op->error set).
int rill_interval_join_record(rill_process_t *self, const rill_record_t *record,
                              rill_collector_t *out);
int rill_interval_join_timer(rill_process_t *self, int64_t time, rill_collector_t *out);
//  A window join's record (rill_op_window_join.c): kept in each of its windows that is still
//  open; and a window's end: every pair of its left and right records joined, then dropped.
int rill_window_join_record(rill_process_t *self, const rill_record_t *record,
                            rill_collector_t *out);
int rill_window_join_timer(rill_process_t *self, int64_t time, rill_collector_t *out);
//  What the window joins share: each window's (or session's) records of one side are a list of
//  (time, size, bytes) entries in map state RILL_WINDOW_JOIN_LISTS under the slot (window
//  start, side). 0, or -1 with op->error set ("window join: " why).
#define RILL_WINDOW_JOIN_LISTS "\x01wj"
#define RILL_WINDOW_JOIN_SLOT_SIZE 9
int rill_window_join_fail(rill_process_t *self, const char *why);
void rill_window_join_slot(uint8_t slot[RILL_WINDOW_JOIN_SLOT_SIZE], int64_t start, int side);
//  Appends record (its timestamp, size and bytes) to the current key's list under (start,
//  side), in place when it exists.
int rill_window_join_list_add(rill_process_t *self, int64_t start, int side,
                              const rill_record_t *record);
//  Appends the entries of another list (size bytes, not in join_scratch) to that list.
int rill_window_join_list_extend(rill_process_t *self, int64_t start, int side, const void *list,
                                 size_t size);
//  Fires the window starting at `start` of the current key: every pair of its left and right
//  records goes to the join function, what it emits stamped `time`; then both lists are gone.
int rill_window_join_fire(rill_process_t *self, int64_t start, int64_t time, rill_collector_t *out);
//  The same over session windows (rill_window_join_session.c): a record merges the sessions
//  of its key it touches; a timer at a session's last millisecond fires it.
int rill_window_join_session_record(rill_process_t *self, const rill_record_t *record,
                                    rill_collector_t *out);
int rill_window_join_session_timer(rill_process_t *self, int64_t time, rill_collector_t *out);

//  Sets self->state_key to the entry (current key, name, kind, map key): kind 'V' for a value,
//  'M' for a map entry; the operator's timer markers use their own kinds. 0, or -1 when out
//  of memory.
int rill_process_state_key(rill_process_t *self, const char *name, char kind, const void *map_key,
                           size_t map_key_size);
//  The record key at the front of a state key of `size` bytes (what rill_process_state_key
//  wrote): 0, or -1 when the bytes are not such a state key (a rill_state_key_fn).
int rill_process_state_record_key(const uint8_t *state_key, size_t size, const uint8_t **key,
                                  size_t *key_size);
//  A state key taken apart: record key, state name (NUL-terminated inside the key), kind and
//  map key (for 'M' entries). 0, or -1 when the bytes are not such a state key.
typedef struct {
    const uint8_t *key;
    size_t key_size;
    const char *name;
    char kind;
    const uint8_t *map_key;
    size_t map_key_size;
} rill_process_state_parts_t;
int rill_process_state_key_parts(const uint8_t *state_key, size_t size,
                                 rill_process_state_parts_t *parts);
//  The snapshot tag of the process operator's table entries (a = state key, b = its
//  timestamp, 8 bytes, then the value): what reads a checkpoint's named state looks for.
#define RILL_PROCESS_SNAPSHOT_TAG_STATE 1
//  The entry under self->state_key, or NULL.
rill_keyed_entry_t *rill_process_state_find(rill_process_t *self);
//  Stores data under self->state_key. 0, or -1 when out of memory.
int rill_process_state_put(rill_process_t *self, const void *data, size_t size);
//  Removes the entry under self->state_key, if any.
void rill_process_state_remove(rill_process_t *self);
//  True when entry is public state (a value, map entry or list) past the operator's
//  time-to-live at processing time now; never for timer markers and map key lists.
bool rill_process_state_expired(const rill_process_t *self, const rill_keyed_entry_t *entry,
                                int64_t now);

#endif
