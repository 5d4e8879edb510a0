/*  rill_keyed_snapshot.h: keyed state in a checkpoint (rill_snapshot.h entries). The entries
    of a keyed table and the timers of a timer heap go out as RILL_STATE_KEYED entries, each in
    the key group of the record key it belongs to (rill_key_hash_group of its rill_key_hash, as
    the partitioner routes that key's records), and come back in; and an operator's input
    watermark goes out as the floor a restored subtask keeps. Shared by the stateful operators
    (keyed reduce, windows, process functions): each picks the tags and says where the record
    key lies within its state keys. Numbers are in host byte order, as in frames and window
    lists (a checkpoint is restored by the same build of rill), and values are saved as bytes:
    an accumulator must hold no pointers. */
#ifndef RILL_KEYED_SNAPSHOT_H_INCLUDED
#define RILL_KEYED_SNAPSHOT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_keyed_table.h"
#include "rill_snapshot.h"
#include "rill_timer_heap.h"

//  Where the record key lies within one of the operator's state keys (or timer keys) of `size`
//  bytes: sets *key and *key_size. 0, or -1 when the bytes do not have the operator's layout.
typedef int(rill_state_key_fn)(const uint8_t *state_key, size_t size, const uint8_t **key,
                               size_t *key_size);
//  The layout where the state key is the record key itself (keyed reduce, process timers).
int rill_keyed_snapshot_whole_key(const uint8_t *state_key, size_t size, const uint8_t **key,
                                  size_t *key_size);

//  The key group of a state key: that of the record key record_key finds in it; -1 when it
//  finds none.
int rill_keyed_snapshot_group(rill_state_key_fn *record_key, const uint8_t *state_key, size_t size);

//  Appends one table entry as a KEYED entry tagged `tag` in key group `group`: a = its key,
//  b = its timestamp (8 bytes) then its value (scratch: the caller's buffer for b). 0, or -1
//  when out of memory.
int rill_keyed_snapshot_put_entry(rill_buffer_t *out, uint8_t tag, uint32_t group,
                                  const rill_keyed_entry_t *entry, rill_buffer_t *scratch);
//  Appends every entry of table so, each in its key group. 0, or -1 with *why set.
int rill_keyed_snapshot_put_table(rill_buffer_t *out, uint8_t tag, rill_keyed_table_t *table,
                                  rill_state_key_fn *record_key, const char **why);
//  Whether an entry goes into a checkpoint (false: left out, as expired state is).
typedef bool(rill_keyed_keep_fn)(const rill_keyed_entry_t *entry, void *ctx);
//  The same, leaving out the entries keep (when not NULL) refuses.
int rill_keyed_snapshot_put_table_kept(rill_buffer_t *out, uint8_t tag, rill_keyed_table_t *table,
                                       rill_state_key_fn *record_key, rill_keyed_keep_fn *keep,
                                       void *keep_ctx, const char **why);
//  Puts an entry that rill_keyed_snapshot_put_entry wrote back into table, as it was (key,
//  value, timestamp). Its key must be new to the table and its group that of its key. Returns
//  the table's entry, or NULL with *why set.
rill_keyed_entry_t *rill_keyed_snapshot_get_entry(rill_keyed_table_t *table,
                                                  const rill_state_entry_t *entry,
                                                  rill_state_key_fn *record_key, const char **why);

//  Appends every timer of timers, in firing order, as KEYED entries tagged `tag`: a = the
//  timer's key, b = its time (8 bytes) then its own tag (4 bytes), in the key group of the
//  record key record_key finds in the timer's key. 0, or -1 with *why set.
int rill_keyed_snapshot_put_timers(rill_buffer_t *out, uint8_t tag, const rill_timer_heap_t *timers,
                                   rill_state_key_fn *record_key, const char **why);
//  Pushes a timer that rill_keyed_snapshot_put_timers wrote. Pushed back in the order they
//  were written, timers fire in the order they would have. 0, or -1 with *why set.
int rill_keyed_snapshot_get_timer(rill_timer_heap_t *timers, const rill_state_entry_t *entry,
                                  rill_state_key_fn *record_key, const char **why);

//  The watermark floor. An operator's input watermark is saved once per key group its subtask
//  owns (index of parallelism), as KEYED entries tagged `tag` (a empty, b = the watermark), so
//  that at any parallelism each new subtask gets the floor of every old subtask whose keys it
//  takes over. Restored, the lowest of them is the lowest watermark the subtask acts on: no
//  timer that fired before the checkpoint fires again, and lateness is judged as before, while
//  the inputs' watermarks climb back from their restarted sources. (One SPLIT entry per
//  subtask would leave a subtask added by scaling up without a floor for the keys it gets.)
//  Appends the entries; 0, or -1 when out of memory.
int rill_keyed_snapshot_put_watermark(rill_buffer_t *out, uint8_t tag, int index, int parallelism,
                                      int64_t watermark);
//  Folds a floor entry into *floor: the lowest of those read (a subtask that takes over the
//  keys of several old subtasks must not judge any of them by a later watermark than their
//  own). *have tells whether one was read before; set on return. 0, or -1 with *why set.
int rill_keyed_snapshot_get_watermark(const rill_state_entry_t *entry, int64_t *floor, bool *have,
                                      const char **why);

#endif
