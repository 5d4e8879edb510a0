/*  rill_time.h: event time, watermarks, windows and keyed state: the keyBy()/window() step
    of a dataflow. A timestamp assigner sets each record's event time (milliseconds since the
    epoch) and emits watermarks; watermarks travel in band and each subtask's watermark is the
    minimum over its input channels. Windows group a keyed stream's records by event time, by
    processing time or by count, and fire when the watermark (or the clock) passes their end.
    A keyed process function gets per-key state and timers.

        rill_watermarks_t strategy = {.out_of_orderness = 5000};
        rill_stream_t *timed = rill_stream_assign_timestamps (lines, parse_time, NULL, &strategy);
        rill_keyed_stream_t keyed = rill_stream_key_by (timed, rill_key_first_field, NULL);
        rill_window_t w = rill_window_tumbling (60000);
        rill_stream_t *sums = rill_stream_window_builtin (keyed, &w, RILL_WINDOW_AGG_SUM);
        rill_stream_t *late = rill_stream_late_records (sums);  // records too late for w

    The keyed operations (windows, process, co_process, the joins, broadcast_process) take a
    rill_keyed_stream_t, the result of rill_stream_key_by: a stream never keyed does not
    compile there.
*/
#ifndef RILL_TIME_H_INCLUDED
#define RILL_TIME_H_INCLUDED

#include "rill_env.h"
#include "rill_export.h"
#include "rill_process.h"
#include "rill_window.h"

#ifdef __cplusplus
extern "C" {
#endif

//  ---- timestamps and watermarks

//  Sets event timestamps with fn and emits watermarks per strategy (NULL: monotonous).
RILL_EXPORT rill_stream_t *rill_stream_assign_timestamps(rill_stream_t *in, rill_timestamp_fn fn,
                                                         void *ctx,
                                                         const rill_watermarks_t *strategy);

//  ---- windows

//  Shorthands for the common windows (event time, no lateness).
//  Event time (ms since the epoch, as watermarks are) as UTC text into text (size >= 32):
//  "2026-11-27T04:21:19.250Z"; "end of input" for the watermark of an ended stream
//  (INT64_MAX), "none" before any (INT64_MIN), "-5 ms" before the epoch. Returns text.
RILL_EXPORT const char *rill_time_format(int64_t ms, char *text, size_t size);

RILL_EXPORT rill_window_t rill_window_tumbling(int64_t size_ms);
RILL_EXPORT rill_window_t rill_window_sliding(int64_t size_ms, int64_t slide_ms);
RILL_EXPORT rill_window_t rill_window_session(int64_t gap_ms);
RILL_EXPORT rill_window_t rill_window_count(int64_t size, int64_t slide);
//  Session windows whose gap each record gives (Flink's DynamicEventTimeSessionWindows): the
//  window a record at t opens is [t, t + gap_fn(record, ctx)), merged with the key's others
//  it overlaps; gaps must be > 0.
RILL_EXPORT rill_window_t rill_window_session_dynamic(int64_t (*gap_fn)(const rill_record_t *record,
                                                                        void *ctx),
                                                      void *ctx);

//  Global windows (Flink's GlobalWindows): one window per key holding all its records, which
//  fires only as its trigger says (rill_trigger.h; the default trigger never fires) and is
//  never cleaned up.
RILL_EXPORT rill_window_t rill_window_global(void);
//  Windows from a custom assigner (rill_trigger.h): fn puts each record in its windows, by
//  event time (the record's timestamp) or processing time.
RILL_EXPORT rill_window_t rill_window_custom(rill_window_assign_fn fn, void *ctx,
                                             rill_time_domain_t time);

//  Window parameters are checked when the job is planned (rill_env_plan / _execute), naming
//  the operator: sizes, slides and gaps > 0, lateness >= 0, a known kind and time domain,
//  and a sliding window at most max_windows_per_record windows per record (size / slide
//  rounded up; default RILL_WINDOW_MAX_PER_RECORD). Window ends, cleanup times and
//  watermarks saturate at the int64 bounds rather than overflow.
//  A window first created by a record late within the allowed lateness fires at once, once;
//  each later late record into it fires it again (Flink's EventTimeTrigger).
//  Count windows: bounds are [earliest, latest + 1) over the timestamps of the window's
//  records (RILL_NO_TIMESTAMP for both when none has one); the result's timestamp is the
//  latest. (Flink's GlobalWindow stamps results Long.MAX_VALUE; the latest timestamp keeps
//  them usable in event time downstream.)

//  Window operators on a keyed stream. Each result record's timestamp is the window's end - 1
//  (count windows: the latest timestamp, see above).
//  reduce: the user reduce over the window; the result is "START<TAB>END<TAB>" + the reduced
//  record.
RILL_EXPORT rill_stream_t *rill_stream_window_reduce(rill_keyed_stream_t keyed,
                                                     const rill_window_t *window, rill_reduce_fn fn,
                                                     void *ctx);
//  aggregate: result writes the whole output record.
RILL_EXPORT rill_stream_t *rill_stream_window_aggregate(rill_keyed_stream_t keyed,
                                                        const rill_window_t *window,
                                                        const rill_aggregate_t *aggregate,
                                                        void *ctx);
//  process: fn emits what it likes.
RILL_EXPORT rill_stream_t *rill_stream_window_process(rill_keyed_stream_t keyed,
                                                      const rill_window_t *window,
                                                      rill_window_process_fn fn, void *ctx);
//  apply: fn sees the window's context too (rill_trigger.h): bounds, key, watermark, clock,
//  per-window and per-key state (Flink's ProcessWindowFunction with windowState and
//  globalState). Per-window state goes with the window when it is cleaned up.
RILL_EXPORT rill_stream_t *rill_stream_window_apply(rill_keyed_stream_t keyed,
                                                    const rill_window_t *window,
                                                    rill_window_apply_fn fn, void *ctx);
//  Built-ins over "KEY<TAB>...<TAB>NUMBER" records, emitting "START<TAB>END<TAB>KEY<TAB>VALUE":
//  count, sum, min, max (integers stay integers) and avg (full double precision: the shortest
//  decimal that reads back as the same double).
RILL_EXPORT rill_stream_t *rill_stream_window_builtin(rill_keyed_stream_t keyed,
                                                      const rill_window_t *window,
                                                      rill_window_agg_t agg);
//  The records a window operator found too late (beyond allowed lateness), as a stream.
RILL_EXPORT rill_stream_t *rill_stream_late_records(rill_stream_t *windowed);

//  ---- keyed process functions: per-key state and timers

//  Runs fn for every record of a keyed stream with that record's key current, and on_timer
//  (may be NULL) when a timer the function registered fires.
RILL_EXPORT rill_stream_t *rill_stream_process(rill_keyed_stream_t keyed, rill_process_fn fn,
                                               rill_timer_fn on_timer, void *ctx);

//  Two keyed streams connected (Flink's connect + KeyedCoProcessFunction): fn sees the records
//  of both, each with its key current, and rill_process_input says which stream it came from
//  (0: first, 1: second). State and timers are per key and shared by both inputs: a key's
//  state written on a record of one stream is read on a record of the other. Both streams
//  must be keyed (key_by) with keys that mean the same thing; records of one key from both
//  reach the same subtask. The watermark is the lowest of the two inputs'. Order is kept per
//  sending subtask, not between the two streams.
RILL_EXPORT rill_stream_t *rill_stream_co_process(rill_keyed_stream_t first,
                                                  rill_keyed_stream_t second, rill_process_fn fn,
                                                  rill_timer_fn on_timer, void *ctx);
//  Interval join (Flink's KeyedStream.intervalJoin): every pair of a left and a right record
//  with the same key whose times satisfy left + lower_ms <= right <= left + upper_ms (bounds
//  included; lower_ms <= upper_ms, either may be negative) goes to fn once, whichever came
//  first. Both streams must be keyed and carry timestamps (assign_timestamps). As in Flink, a
//  record older than the operator's watermark (the lower of the two inputs') is late: it joins
//  nothing and goes to side output RILL_JOIN_LATE_LEFT or RILL_JOIN_LATE_RIGHT (read them with
//  rill_stream_side_output; unread, they are dropped; counted as late records either way).
//  Each side keeps a record in its key's state only until the watermark passes
//  the last time a record of the other side could join it (left + upper_ms, right -
//  lower_ms): state holds what arrives within the interval and the watermark's delay. What fn
//  emits without a timestamp carries the later of the two.
//  Window join (Flink's stream.join(other).where(...).equalTo(...).window(...)): every pair of
//  a left and a right record with the same key that fall in the same event-time window goes to
//  fn once the watermark passes the window's end (its last millisecond), an inner join; what
//  fn emits without a timestamp carries that last millisecond. Tumbling and sliding windows
//  (a pair in two sliding windows is joined in each, as in Flink); both streams keyed and
//  timestamped. A record whose every window has fired is late: it goes to side output
//  RILL_JOIN_LATE_LEFT or RILL_JOIN_LATE_RIGHT. Each window's records are state until it fires.
//  Session windows (rill_window_session, or rill_window_session_dynamic, whose gap function
//  sees the records of both sides): the records of both sides of a key make sessions
//  together; a record at t opens [t, t + gap) and merges with every session of its key that
//  window intersects, bounds included as in Flink's TimeWindow.intersects (a record exactly
//  gap after a session's last one extends it). A session fires when the watermark passes its
//  end - 1, which is its pairs' timestamp; a record whose session would be at or behind the
//  watermark is late.
RILL_EXPORT rill_stream_t *rill_stream_window_join(rill_keyed_stream_t left,
                                                   rill_keyed_stream_t right,
                                                   const rill_window_t *window, rill_join_fn fn,
                                                   void *ctx);
#define RILL_JOIN_LATE_LEFT 1
#define RILL_JOIN_LATE_RIGHT 2
RILL_EXPORT rill_stream_t *rill_stream_interval_join(rill_keyed_stream_t left,
                                                     rill_keyed_stream_t right, int64_t lower_ms,
                                                     int64_t upper_ms, rill_join_fn fn, void *ctx);
//  Broadcast state (Flink's KeyedBroadcastProcessFunction): every record of `broadcast` goes to
//  every subtask of the operator, where on_broadcast (no key current) may write broadcast
//  state, a map per name that is the same in every subtask as long as on_broadcast does the
//  same with the same records; fn sees the keyed stream's records with their key current, reads
//  broadcast state (read only there) and has keyed state and timers as rill_stream_process.
//  There is no order between the two streams: to apply a rule only to records after it in
//  event time, key the rules by their time in broadcast state and let fn pick. Checkpoints
//  keep broadcast state; a restore at any parallelism gives every subtask a copy.
RILL_EXPORT rill_stream_t *rill_stream_broadcast_process(rill_keyed_stream_t keyed,
                                                         rill_stream_t *broadcast,
                                                         rill_process_fn fn,
                                                         rill_broadcast_fn on_broadcast,
                                                         rill_timer_fn on_timer, void *ctx);
//  Broadcast state: the value under (name, key). get: 0 and the bytes (valid until the next
//  state call), or -1 when unset; put and remove: only in on_broadcast (-1 elsewhere, as in
//  Flink, where the keyed side's view is read only). 0 or -1.
RILL_EXPORT int rill_broadcast_state_get(rill_process_t *self, const char *name, const void *key,
                                         size_t key_size, const void **data, size_t *size);
RILL_EXPORT int rill_broadcast_state_put(rill_process_t *self, const char *name, const void *key,
                                         size_t key_size, const void *data, size_t size);
RILL_EXPORT int rill_broadcast_state_remove(rill_process_t *self, const char *name,
                                            const void *key, size_t key_size);
//  The records a process function emitted to side output tag (1 .. RILL_OUTPUT_MAX_SIDE; see
//  rill_collector_emit_side), as a stream like any other (Flink's getSideOutput). `processed`
//  is what rill_stream_process or rill_stream_co_process returned.
RILL_EXPORT rill_stream_t *rill_stream_side_output(rill_stream_t *processed, int tag);
//  Two connected streams, not keyed (Flink's connect with a CoMapFunction or
//  CoFlatMapFunction): the first stream's records go to first_fn, the second's to second_fn,
//  in one operator (at its parallelism, with each stream's partitioning as given: forward
//  edges need the same parallelism). They share ctx, and nothing orders the two streams.
RILL_EXPORT rill_stream_t *rill_stream_co_map(rill_stream_t *first, rill_stream_t *second,
                                              rill_map_fn first_fn, rill_map_fn second_fn,
                                              void *ctx);
RILL_EXPORT rill_stream_t *rill_stream_co_flat_map(rill_stream_t *first, rill_stream_t *second,
                                                   rill_flat_map_fn first_fn,
                                                   rill_flat_map_fn second_fn, void *ctx);
//  In fn: which connected stream the current record came from (0 or 1); 0 for a one-input
//  process function and in on_timer.
RILL_EXPORT int rill_process_input(rill_process_t *self);
//  The current key, the subtask's current watermark and processing time (ms).
RILL_EXPORT const rill_key_t *rill_process_key(rill_process_t *self);
RILL_EXPORT int64_t rill_process_watermark(rill_process_t *self);
RILL_EXPORT int64_t rill_process_now(rill_process_t *self);
//  Value state: one value per (key, name). get returns 0 and the bytes (valid until the next
//  state call), or -1 when unset.
RILL_EXPORT int rill_state_value_get(rill_process_t *self, const char *name, const void **data,
                                     size_t *size);
RILL_EXPORT int rill_state_value_set(rill_process_t *self, const char *name, const void *data,
                                     size_t size);
//  Map state: many entries per (key, name), each under its own map key.
RILL_EXPORT int rill_state_map_get(rill_process_t *self, const char *name, const void *map_key,
                                   size_t map_key_size, const void **data, size_t *size);
RILL_EXPORT int rill_state_map_put(rill_process_t *self, const char *name, const void *map_key,
                                   size_t map_key_size, const void *data, size_t size);
RILL_EXPORT int rill_state_map_remove(rill_process_t *self, const char *name, const void *map_key,
                                      size_t map_key_size);
//  Removes a value or a map entry-less value (name) for the current key.
RILL_EXPORT int rill_state_clear(rill_process_t *self, const char *name);
//  Timers for the current key: on_timer runs once the watermark (event) or the clock
//  (processing) reaches time. Registering the same (key, time, domain) twice fires once.
RILL_EXPORT int rill_timer_register(rill_process_t *self, rill_time_domain_t domain, int64_t time);
//  Deletes the current key's timer at (domain, time), if registered (Flink's
//  deleteEventTimeTimer / deleteProcessingTimeTimer): it will not fire. 0, or -1.
RILL_EXPORT int rill_timer_delete(rill_process_t *self, rill_time_domain_t domain, int64_t time);
//  Map state iteration: the current key's map keys under name, in the order they were first
//  put, as a list walked with rill_state_list_next (each element a map key; read its value
//  with rill_state_map_get). 0 and the list (valid until the next state call), or -1 when the
//  map is empty. A map key whose value expired (rill_stream_state_ttl) is listed until removed.
RILL_EXPORT int rill_state_map_keys(rill_process_t *self, const char *name, const void **list,
                                    size_t *list_size);
//  List state: records appended per (key, name), read back in order. get returns 0 and the
//  list's bytes (valid until the next state call), walked with rill_state_list_next; -1 when
//  the list is empty. Cleared with rill_state_clear.
RILL_EXPORT int rill_state_list_add(rill_process_t *self, const char *name, const void *data,
                                    size_t size);
RILL_EXPORT int rill_state_list_get(rill_process_t *self, const char *name, const void **list,
                                    size_t *list_size);
//  The next element of a list from rill_state_list_get: 1 with *data, *size set and *at moved
//  past it (start with *at = list), 0 at the end, -1 for bytes that are not such a list.
RILL_EXPORT int rill_state_list_next(const void *list, size_t list_size, const void **at,
                                     const void **data, size_t *size);
//  Reducing state (Flink's ReducingState): adds a record, folded with fn into the one value
//  kept per (key, name) (the first added is kept as it is). Read it with rill_state_value_get.
RILL_EXPORT int rill_state_reduce_add(rill_process_t *self, const char *name, const void *data,
                                      size_t size, rill_reduce_fn fn, void *ctx);
//  Aggregating state (Flink's AggregatingState): adds a record to the accumulator kept per
//  (key, name), made with aggregate->create on the first; rill_state_value_get reads the
//  accumulator (aggregate->result turns it into a record where wanted).
RILL_EXPORT int rill_state_aggregate_add(rill_process_t *self, const char *name,
                                         const rill_record_t *in,
                                         const rill_aggregate_t *aggregate, void *ctx);
//  State time-to-live (Flink's StateTtlConfig, OnCreateAndWrite, NeverReturnExpired): the keyed
//  state of the process function behind stream expires ttl_ms of processing time after it was
//  last written; expired state reads as unset and is dropped when read. Checkpoints and
//  savepoints leave expired entries out (Flink's cleanupFullSnapshot), so a restore never
//  brings them back; and each state access also checks a few other entries of the subtask's
//  state and drops the expired (Flink's cleanupIncrementally, by default
//  RILL_STATE_TTL_CLEANUP entries, not per record, as Flink's default). Timers and a map's key
//  list (rill_state_map_keys) are not state here and never expire. Returns stream, or NULL
//  (rill_env_error).
RILL_EXPORT rill_stream_t *rill_stream_state_ttl(rill_stream_t *processed, int64_t ttl_ms);
#define RILL_STATE_TTL_CLEANUP 5
//  After rill_stream_state_ttl: how many entries each state access checks for expiry (0: none,
//  expired state then goes only when read or at a checkpoint). Returns stream, or NULL.
RILL_EXPORT rill_stream_t *rill_stream_state_ttl_cleanup(rill_stream_t *processed,
                                                         int entries_per_access);

#ifdef __cplusplus
}
#endif
#endif
