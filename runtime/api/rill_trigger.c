/*  rill_trigger.c: the built-in triggers and evictors as values (rill_trigger.h). What they do
    is the window operator's (actors/operators/rill_window_trigger.c, rill_window_evict.c). */
#include "rill_trigger.h"

rill_trigger_t rill_trigger_event_time(void)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_EVENT_TIME};
}

rill_trigger_t rill_trigger_processing_time(void)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_PROCESSING_TIME};
}

rill_trigger_t rill_trigger_count(int64_t count)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_COUNT, .count = count};
}

rill_trigger_t rill_trigger_continuous_event_time(int64_t interval_ms)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_CONTINUOUS_EVENT_TIME, .interval = interval_ms};
}

rill_trigger_t rill_trigger_continuous_processing_time(int64_t interval_ms)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME,
                            .interval = interval_ms};
}

rill_trigger_t rill_trigger_never(void)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_NEVER};
}

rill_trigger_t rill_trigger_purging(rill_trigger_t trigger)
{
    trigger.purging = true;
    return trigger;
}

rill_trigger_t rill_trigger_custom(
    rill_trigger_result_t (*on_element)(rill_window_context_t *, const rill_record_t *, int64_t,
                                        void *),
    rill_trigger_result_t (*on_event_time)(rill_window_context_t *, int64_t, void *),
    rill_trigger_result_t (*on_processing_time)(rill_window_context_t *, int64_t, void *),
    int (*on_merge)(rill_window_context_t *, void *), void (*clear)(rill_window_context_t *, void *),
    void *ctx)
{
    return (rill_trigger_t){.kind = RILL_TRIGGER_CUSTOM,
                            .on_element = on_element,
                            .on_event_time = on_event_time,
                            .on_processing_time = on_processing_time,
                            .on_merge = on_merge,
                            .clear = clear,
                            .ctx = ctx};
}

rill_evictor_t rill_evictor_count(int64_t count, bool after)
{
    return (rill_evictor_t){.kind = RILL_EVICTOR_COUNT, .count = count, .after = after};
}

rill_evictor_t rill_evictor_time(int64_t keep_ms, bool after)
{
    return (rill_evictor_t){.kind = RILL_EVICTOR_TIME, .keep_ms = keep_ms, .after = after};
}

rill_evictor_t rill_evictor_custom(int (*evict)(const rill_record_t *, size_t,
                                                const rill_window_bounds_t *, bool, bool *, void *),
                                   void *ctx)
{
    return (rill_evictor_t){.kind = RILL_EVICTOR_CUSTOM, .evict = evict, .ctx = ctx};
}
