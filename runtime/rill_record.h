/*  rill_record.h: records, the growable buffers user functions write into, and the collector
    through which operators emit records. These are the only data types a user function sees;
    none of them exposes ZeroMQ. */
#ifndef RILL_RECORD_H_INCLUDED
#define RILL_RECORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Event timestamps are milliseconds since the Unix epoch; a record without one carries this.
#define RILL_NO_TIMESTAMP INT64_MIN

//  One record: a byte string (not NUL-terminated; may hold any bytes) and its event timestamp.
//  The bytes belong to the runtime and are valid only during the call that receives them.
typedef struct {
    const void *data;
    size_t size;
    int64_t timestamp;
} rill_record_t;

//  A key extracted from a record. Point data into the record's bytes, or write up to
//  RILL_KEY_SCRATCH bytes into scratch and point data at it (for computed keys).
#define RILL_KEY_SCRATCH 48
typedef struct {
    const void *data;
    size_t size;
    uint8_t scratch[RILL_KEY_SCRATCH];
} rill_key_t;

//  A growable byte buffer. Map and reduce functions write their result into one that the
//  runtime owns and reuses, so the record path does not allocate per record.
typedef struct rill_buffer_t rill_buffer_t;

//  Creates an empty buffer (for user code that wants one of its own). NULL when out of memory.
rill_buffer_t *rill_buffer_new(void);
//  Destroys a buffer and sets the caller's pointer to NULL.
void rill_buffer_destroy(rill_buffer_t **self_p);
//  Replaces the contents with size bytes from data. 0, or -1 when out of memory.
int rill_buffer_set(rill_buffer_t *self, const void *data, size_t size);
//  Appends size bytes. 0, or -1 when out of memory.
int rill_buffer_append(rill_buffer_t *self, const void *data, size_t size);
//  Appends printf-formatted text (no terminating NUL is kept). 0, or -1.
int rill_buffer_appendf(rill_buffer_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
//  Grows the contents by size bytes and returns where they start, for the caller to fill.
void *rill_buffer_reserve(rill_buffer_t *self, size_t size);
//  Empties the buffer, keeping its memory.
void rill_buffer_reset(rill_buffer_t *self);
//  The contents and their length.
const void *rill_buffer_data(const rill_buffer_t *self);
size_t rill_buffer_size(const rill_buffer_t *self);

//  Where an operator's output goes. Emitting serializes the record straight into the outgoing
//  batch of the channel it is routed to (or into the sink).
typedef struct rill_collector_t rill_collector_t;

//  Emits one record. 0, or -1 when the job is failing or being cancelled (stop emitting then).
int rill_collector_emit(rill_collector_t *self, const void *data, size_t size, int64_t timestamp);
//  The index (0-based) of the subtask this collector belongs to, and its operator's parallelism.
int rill_collector_subtask(const rill_collector_t *self);
int rill_collector_parallelism(const rill_collector_t *self);

//  ---- user function types; ctx is the pointer given when the operator was added. A function
//  may be called from several threads at once (one per subtask): keep ctx read-only or index
//  per-subtask state by rill_collector_subtask(). Return 0 on success, -1 to fail the job.

//  map: write exactly one output record into out (it keeps the input's timestamp).
typedef int (*rill_map_fn)(const rill_record_t *in, rill_buffer_t *out, void *ctx);
//  filter: 1 keeps the record, 0 drops it, -1 fails the job.
typedef int (*rill_filter_fn)(const rill_record_t *in, void *ctx);
//  flat_map: emit zero or more records through out.
typedef int (*rill_flat_map_fn)(const rill_record_t *in, rill_collector_t *out, void *ctx);
//  key_by: set *key to the record's key.
typedef int (*rill_key_fn)(const rill_record_t *in, rill_key_t *key, void *ctx);
//  reduce: combine the accumulated record for a key with a new one into out (same key).
typedef int (*rill_reduce_fn)(const rill_record_t *acc, const rill_record_t *in,
                              rill_buffer_t *out, void *ctx);
//  custom partitioner: return the receiving subtask, 0 <= result < receivers.
typedef int (*rill_partition_fn)(const rill_record_t *in, const rill_key_t *key, int receivers,
                                 void *ctx);
//  generator source: emit the records for sequence number index (each index is generated
//  exactly once, by subtask index % parallelism).
typedef int (*rill_generate_fn)(uint64_t index, rill_collector_t *out, void *ctx);

//  user source: emit some records and return RILL_SOURCE_MORE, or RILL_SOURCE_END when the
//  subtask's input is exhausted, or -1 on error. Called again and again until it ends; emit
//  a modest amount per call (up to a few thousand records) so cancellation stays prompt.
#define RILL_SOURCE_END 0
#define RILL_SOURCE_MORE 1
typedef int (*rill_source_fn)(rill_collector_t *out, void *ctx);

//  ---- time, windows and keyed processing (used through rill_time.h)

//  Sets *timestamp (ms since the epoch) for a record. Return -1 to fail the job, or 1 to
//  drop a record whose time cannot be read (it is counted as dropped in the metrics).
typedef int (*rill_timestamp_fn)(const rill_record_t *in, int64_t *timestamp, void *ctx);

//  How an assigner makes watermarks. Zero values give monotonous timestamps (no delay),
//  emission whenever the watermark advances, and no idleness.
typedef struct {
    //  Bounded out-of-orderness: watermark = highest timestamp seen - this - 1 (ms).
    int64_t out_of_orderness;
    //  Emit at most every interval ms (periodic emission; Flink's default is 200). 0: after
    //  every record that advances the watermark (exact, for tests and low rates).
    int interval_ms;
    //  When > 0: after this many ms without records the subtask is marked idle and does not
    //  hold back the watermark downstream until it sends again.
    int idle_timeout_ms;
} rill_watermarks_t;

typedef enum {
    RILL_WINDOW_TUMBLING,       //  [k*size, (k+1)*size)
    RILL_WINDOW_SLIDING,        //  size long, one starting every slide
    RILL_WINDOW_SESSION,        //  records closer than gap join one window
    RILL_WINDOW_COUNT_TUMBLING, //  every size records of a key
    RILL_WINDOW_COUNT_SLIDING,  //  the last size records, every slide records
} rill_window_kind_t;

typedef enum {
    RILL_TIME_EVENT,      //  the records' timestamps, and watermarks
    RILL_TIME_PROCESSING, //  the wall clock of the subtask that windows them
} rill_time_domain_t;

typedef struct {
    rill_window_kind_t kind;
    rill_time_domain_t time;
    int64_t size;  //  ms (time windows) or records (count windows)
    int64_t slide; //  sliding windows
    int64_t gap;   //  session windows (ms)
    //  Event time: records up to this many ms behind the watermark still update a fired window
    //  (which fires again); later ones go to rill_stream_late_records.
    int64_t allowed_lateness;
    //  Sliding windows: the most windows one record may fall in (size / slide, rounded up);
    //  the planner refuses more. 0: RILL_WINDOW_MAX_PER_RECORD.
    int64_t max_windows_per_record;
} rill_window_t;

//  The default limit on windows per record: a record in 1000 windows costs 1000 state updates,
//  and a day sliding by a millisecond (86.4 million) would run until memory ran out.
#define RILL_WINDOW_MAX_PER_RECORD 1000

//  A window's bounds: [start, end) in ms for time windows. For count windows: the earliest
//  and the latest timestamp + 1 (saturated) among the window's records that have one, or
//  RILL_NO_TIMESTAMP for both when none has.
typedef struct {
    int64_t start;
    int64_t end;
} rill_window_bounds_t;

//  An incremental aggregation with a fixed-size accumulator (so averages work): create sets
//  up an empty accumulator, add folds in a record, merge folds `other` into acc (session
//  windows merge), result writes the output record for the window and key.
typedef struct {
    size_t accumulator_size;
    void (*create)(void *acc, void *ctx);
    int (*add)(void *acc, const rill_record_t *in, void *ctx);
    void (*merge)(void *acc, const void *other, void *ctx);
    int (*result)(const void *acc, const rill_window_bounds_t *window, const rill_key_t *key,
                  rill_buffer_t *out, void *ctx);
} rill_aggregate_t;

//  A full-window function: sees every record of the window (in arrival order), the key and
//  the bounds, and emits through out.
typedef int (*rill_window_process_fn)(const rill_window_bounds_t *window, const rill_key_t *key,
                                      const rill_record_t *records, size_t count,
                                      rill_collector_t *out, void *ctx);

typedef enum {
    RILL_WINDOW_AGG_COUNT,
    RILL_WINDOW_AGG_SUM,
    RILL_WINDOW_AGG_MIN,
    RILL_WINDOW_AGG_MAX,
    RILL_WINDOW_AGG_AVG,
} rill_window_agg_t;

typedef struct rill_process_t rill_process_t;

//  Called per record, with the record's key current: read and write state, register timers.
typedef int (*rill_process_fn)(rill_process_t *process, const rill_record_t *in,
                               rill_collector_t *out, void *ctx);

//  Called when a timer fires, with the key that registered it current.
typedef int (*rill_timer_fn)(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                             rill_collector_t *out, void *ctx);

//  A ready-made key extractor: the bytes before the first TAB (the whole record if none).
int rill_key_first_field(const rill_record_t *in, rill_key_t *key, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
