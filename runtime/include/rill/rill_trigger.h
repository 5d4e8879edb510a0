/*  rill_trigger.h: when a window fires and what it keeps (Flink's Trigger, Evictor and custom
    WindowAssigner), and the window context that triggers and window functions with state see.

    A window operator without a trigger, an evictor or a custom assigner keeps its fast path
    (one accumulator or list per window, a timer per window). Setting any of them, or choosing
    global windows or rill_stream_window_apply, runs the window as Flink's WindowOperator does:
    every record goes to its windows, then to the trigger's on_element; timers call
    on_event_time or on_processing_time; each call answers CONTINUE, FIRE, PURGE or
    FIRE_AND_PURGE. FIRE emits the window's contents through the window function (with an
    evictor, after evicting); PURGE drops the contents, the window's state stays. A window's
    state (contents, trigger state, timers) is dropped at its cleanup time: the end of its
    allowed lateness for event-time windows, its end for processing-time windows, never for
    global windows; the trigger's clear runs then.

        rill_window_t w = rill_window_global ();
        w.trigger = rill_trigger_purging (rill_trigger_count (100));   //  every 100 records
        w.evictor = rill_evictor_time (60000, false);                  //  of the last minute
        rill_stream_window_builtin (keyed, &w, RILL_WINDOW_AGG_AVG);

    At the end of bounded input the watermark goes to +infinity, so event-time timers fire
    (continuous event-time triggers jump to the window's end rather than step through every
    interval); the processing-time timers pending then fire once, as if the clock had jumped
    past them, and timers registered while they do are dropped. As in Flink, what a trigger
    never fires is not emitted: a global window with a count trigger drops its last incomplete
    group at the end of input. */
#ifndef RILL_TRIGGER_H_INCLUDED
#define RILL_TRIGGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_export.h"
#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A window's bounds: [start, end) in ms for time windows; [INT64_MIN, INT64_MAX) for the
//  global window. For count windows: the earliest and the latest timestamp + 1 (saturated)
//  among the window's records that have one, or RILL_NO_TIMESTAMP for both when none has.
typedef struct {
    int64_t start;
    int64_t end;
} rill_window_bounds_t;

//  What a trigger asks for. FIRE and PURGE are bits: FIRE_AND_PURGE is both.
typedef enum {
    RILL_TRIGGER_ERROR = -1, //  the trigger failed: the job fails
    RILL_TRIGGER_CONTINUE = 0,
    RILL_TRIGGER_FIRE = 1,
    RILL_TRIGGER_PURGE = 2,
    RILL_TRIGGER_FIRE_AND_PURGE = 3,
} rill_trigger_result_t;

//  The window a trigger or a window function is called for: its bounds and key, the time, its
//  state (a map of names to bytes per window, dropped with the window) and, in a trigger, its
//  timers. Valid only during the call.
typedef struct rill_window_context_t rill_window_context_t;

typedef enum {
    RILL_TRIGGER_DEFAULT = 0,      //  the assigner's: event or processing time; never (global)
    RILL_TRIGGER_EVENT_TIME,       //  fires once the watermark passes the window's end
    RILL_TRIGGER_PROCESSING_TIME,  //  fires once the clock passes the window's end
    RILL_TRIGGER_COUNT,            //  fires each time `count` more records arrived
    RILL_TRIGGER_CONTINUOUS_EVENT_TIME,      //  every `interval` ms of event time, and at the end
    RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME, //  every `interval` ms of the clock, and at the end
    RILL_TRIGGER_NEVER,            //  never fires (Flink's default for global windows)
    RILL_TRIGGER_CUSTOM,           //  the functions below
} rill_trigger_kind_t;

//  A trigger: a built-in (made by the constructors below) or a user trigger (kind CUSTOM,
//  made by rill_trigger_custom or by hand). A user trigger's functions get the window context
//  and ctx; on_element also gets the record and its timestamp (RILL_NO_TIMESTAMP when it has
//  none). NULL functions answer CONTINUE. on_merge is called when session windows merge, with
//  the merged window current: it re-registers the timers the merged window needs and combines
//  the merged windows' state (rill_window_merged_state_get); a trigger without on_merge is
//  refused on session windows, as Flink refuses a trigger that cannot merge. clear is called
//  when the window's state is dropped: delete its timers there.
typedef struct {
    rill_trigger_kind_t kind;
    int64_t count;    //  COUNT: records per firing (> 0)
    int64_t interval; //  CONTINUOUS_*: ms between firings (> 0)
    bool purging;     //  Flink's PurgingTrigger: every FIRE also purges
    rill_trigger_result_t (*on_element)(rill_window_context_t *window, const rill_record_t *record,
                                        int64_t timestamp, void *ctx);
    rill_trigger_result_t (*on_event_time)(rill_window_context_t *window, int64_t time, void *ctx);
    rill_trigger_result_t (*on_processing_time)(rill_window_context_t *window, int64_t time,
                                                void *ctx);
    int (*on_merge)(rill_window_context_t *window, void *ctx);
    void (*clear)(rill_window_context_t *window, void *ctx);
    void *ctx;
} rill_trigger_t;

typedef enum {
    RILL_EVICTOR_NONE = 0,
    RILL_EVICTOR_COUNT,  //  keeps the last `count` records
    RILL_EVICTOR_TIME,   //  keeps the records within `keep_ms` of the newest timestamp
    RILL_EVICTOR_CUSTOM, //  evict()
} rill_evictor_kind_t;

//  An evictor (Flink's Evictor) takes records out of a window when it fires: before the window
//  function (by default) or after it (`after`). What it evicts is gone from the window's state;
//  the rest stays for the next firing. A window with an evictor keeps its records (no
//  accumulator) and folds them at each firing. A user evictor (kind CUSTOM) is called before
//  and after the function (`before` tells which) and sets evict[i] for each record to take out;
//  0, or -1 to fail the job.
typedef struct {
    rill_evictor_kind_t kind;
    int64_t count;   //  COUNT: the most records kept (> 0)
    int64_t keep_ms; //  TIME: records with timestamp <= newest - keep_ms go (>= 0)
    bool after;      //  COUNT and TIME: evict after the function rather than before
    int (*evict)(const rill_record_t *records, size_t count, const rill_window_bounds_t *window,
                 bool before, bool *evict, void *ctx);
    void *ctx;
} rill_evictor_t;

//  A custom window assigner (Flink's WindowAssigner): puts the record (at `time`: its timestamp
//  for event-time windows, the clock for processing-time ones) into up to max windows, each
//  with start < end, written to windows. Returns how many, or -1 to fail the job. The windows
//  do not merge; for sessions with a gap per record see rill_window_session_dynamic.
typedef long (*rill_window_assign_fn)(const rill_record_t *record, int64_t time,
                                      rill_window_bounds_t *windows, size_t max, void *ctx);

//  ---- built-in triggers and evictors (values: copy them into rill_window_t)

RILL_EXPORT rill_trigger_t rill_trigger_event_time(void);
RILL_EXPORT rill_trigger_t rill_trigger_processing_time(void);
RILL_EXPORT rill_trigger_t rill_trigger_count(int64_t count);
RILL_EXPORT rill_trigger_t rill_trigger_continuous_event_time(int64_t interval_ms);
RILL_EXPORT rill_trigger_t rill_trigger_continuous_processing_time(int64_t interval_ms);
RILL_EXPORT rill_trigger_t rill_trigger_never(void);
//  The same trigger, purging the window whenever it fires (Flink's PurgingTrigger.of).
RILL_EXPORT rill_trigger_t rill_trigger_purging(rill_trigger_t trigger);
//  A user trigger from its functions (any may be NULL).
RILL_EXPORT rill_trigger_t rill_trigger_custom(
    rill_trigger_result_t (*on_element)(rill_window_context_t *, const rill_record_t *, int64_t,
                                        void *),
    rill_trigger_result_t (*on_event_time)(rill_window_context_t *, int64_t, void *),
    rill_trigger_result_t (*on_processing_time)(rill_window_context_t *, int64_t, void *),
    int (*on_merge)(rill_window_context_t *, void *), void (*clear)(rill_window_context_t *, void *),
    void *ctx);
RILL_EXPORT rill_evictor_t rill_evictor_count(int64_t count, bool after);
RILL_EXPORT rill_evictor_t rill_evictor_time(int64_t keep_ms, bool after);
RILL_EXPORT rill_evictor_t rill_evictor_custom(int (*evict)(const rill_record_t *, size_t,
                                                            const rill_window_bounds_t *, bool,
                                                            bool *, void *),
                                               void *ctx);

//  ---- the window context

//  The window's bounds and key, the operator's input watermark and its processing-time clock.
RILL_EXPORT const rill_window_bounds_t *rill_window_context_bounds(const rill_window_context_t *self);
RILL_EXPORT const rill_key_t *rill_window_context_key(const rill_window_context_t *self);
RILL_EXPORT int64_t rill_window_context_watermark(const rill_window_context_t *self);
RILL_EXPORT int64_t rill_window_context_now(const rill_window_context_t *self);
//  Per-window state (Flink's windowState, and a trigger's partitioned state): the value under
//  name for this key and window. get: 0 and the bytes (valid until the next state call), or -1
//  when unset. set, clear: 0, or -1 when out of memory. Names starting with byte 1 are the
//  runtime's.
RILL_EXPORT int rill_window_state_get(rill_window_context_t *self, const char *name,
                                      const void **data, size_t *size);
RILL_EXPORT int rill_window_state_set(rill_window_context_t *self, const char *name,
                                      const void *data, size_t size);
RILL_EXPORT int rill_window_state_clear(rill_window_context_t *self, const char *name);
//  Per-key state shared by all the key's windows (Flink's globalState), kept until the job ends.
RILL_EXPORT int rill_window_global_state_get(rill_window_context_t *self, const char *name,
                                             const void **data, size_t *size);
RILL_EXPORT int rill_window_global_state_set(rill_window_context_t *self, const char *name,
                                             const void *data, size_t size);
//  Timers of this window, in a trigger only (-1 elsewhere): when one fires, on_event_time or
//  on_processing_time is called with the window current. Registering a timer twice registers it
//  once; deleting one that is not registered does nothing. 0 or -1.
RILL_EXPORT int rill_window_timer_register(rill_window_context_t *self, bool event_time,
                                           int64_t time);
RILL_EXPORT int rill_window_timer_delete(rill_window_context_t *self, bool event_time,
                                         int64_t time);
//  In on_merge: how many windows were merged into the current one, and window i's state under
//  name (0, or -1 when unset), to combine into the current window's with rill_window_state_set.
RILL_EXPORT size_t rill_window_merged_count(const rill_window_context_t *self);
RILL_EXPORT int rill_window_merged_state_get(rill_window_context_t *self, size_t i,
                                             const char *name, const void **data, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
