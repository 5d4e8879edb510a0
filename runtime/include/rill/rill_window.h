/*  rill_window.h: the settings of watermarks and windows, and what is computed per window
    (used through rill_time.h). */
#ifndef RILL_WINDOW_H_INCLUDED
#define RILL_WINDOW_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_collector.h"
#include "rill_record.h"
#include "rill_trigger.h"

#ifdef __cplusplus
extern "C" {
#endif

//  How an assigner makes watermarks. Zero values give monotonous timestamps (no delay),
//  emission whenever the watermark advances, no idleness, and default watermark alignment.
typedef struct {
    //  Bounded out-of-orderness: watermark = highest timestamp seen - this - 1 (ms).
    int64_t out_of_orderness;
    //  Emit at most every interval ms (periodic emission; Flink's default is 200). 0: after
    //  every record that advances the watermark (exact, for tests and low rates).
    int interval_ms;
    //  When > 0: after this many ms without records the subtask is marked idle and does not
    //  hold back the watermark downstream until it sends again.
    int idle_timeout_ms;
    //  Watermark alignment (Flink's withWatermarkAlignment): an assigner subtask fed one to
    //  one by a source subtask (forward edge, the source's only output) stops reading while
    //  its watermark is more than this many ms ahead of the slowest such subtask in the job,
    //  so an unbounded job whose sources drift apart keeps bounded state. Only streaming jobs
    //  with two or more such subtasks align. 0: RILL_ALIGNMENT_DEFAULT_DRIFT_MS;
    //  RILL_ALIGNMENT_OFF: this assigner neither pauses nor holds the others back; other
    //  negative values are refused by rill_stream_assign_timestamps.
    int64_t max_drift_ms;
    //  How often a paused subtask looks at the others again (ms); 0: the default
    //  (RILL_ALIGNMENT_DEFAULT_INTERVAL_MS). Flink's updateInterval.
    int alignment_interval_ms;
} rill_watermarks_t;

#define RILL_ALIGNMENT_OFF (-1)
#define RILL_ALIGNMENT_DEFAULT_DRIFT_MS 20000
#define RILL_ALIGNMENT_DEFAULT_INTERVAL_MS 10

typedef enum {
    RILL_WINDOW_TUMBLING,       //  [k*size, (k+1)*size)
    RILL_WINDOW_SLIDING,        //  size long, one starting every slide
    RILL_WINDOW_SESSION,        //  records closer than gap join one window
    RILL_WINDOW_COUNT_TUMBLING, //  every size records of a key
    RILL_WINDOW_COUNT_SLIDING,  //  the last size records, every slide records
    RILL_WINDOW_GLOBAL,         //  one window per key, [INT64_MIN, INT64_MAX); set a trigger
    RILL_WINDOW_CUSTOM,         //  assign_fn puts each record in its windows
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
    //  Session windows with a gap per record (rill_window_session_dynamic; NULL: gap for all):
    //  the gap of the window a record opens, ms > 0 (a record given none fails the job).
    int64_t (*gap_fn)(const rill_record_t *record, void *ctx);
    void *gap_ctx;
    //  When the window fires and what it keeps (rill_trigger.h); zero: the assigner's default
    //  trigger and no evictor. Not for count windows (they are a global window with a count
    //  trigger and evictor already: write that out to change it).
    rill_trigger_t trigger;
    rill_evictor_t evictor;
    //  RILL_WINDOW_CUSTOM: the assigner (rill_trigger.h) and its ctx.
    rill_window_assign_fn assign_fn;
    void *assign_ctx;
} rill_window_t;

//  The default limit on windows per record: a record in 1000 windows costs 1000 state updates,
//  and a day sliding by a millisecond (86.4 million) would run until memory ran out.
#define RILL_WINDOW_MAX_PER_RECORD 1000

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

//  A full-window function with the window's context (Flink's ProcessWindowFunction with its
//  Context): the bounds, key, time and per-window and per-key state (rill_trigger.h), then the
//  window's records in arrival order.
typedef int (*rill_window_apply_fn)(rill_window_context_t *window, const rill_record_t *records,
                                    size_t count, rill_collector_t *out, void *ctx);

typedef enum {
    RILL_WINDOW_AGG_COUNT,
    RILL_WINDOW_AGG_SUM,
    RILL_WINDOW_AGG_MIN,
    RILL_WINDOW_AGG_MAX,
    RILL_WINDOW_AGG_AVG,
} rill_window_agg_t;

#ifdef __cplusplus
}
#endif
#endif
