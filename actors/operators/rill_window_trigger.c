/*  rill_window_trigger.c: the built-in triggers (Flink's EventTimeTrigger,
    ProcessingTimeTrigger, CountTrigger, ContinuousEventTimeTrigger,
    ContinuousProcessingTimeTrigger, NeverTrigger and PurgingTrigger), written against the
    same window context a user trigger gets, and the one place that calls a trigger, built-in
    or not. Each built-in keeps what Flink keeps: the count trigger a count per window, the
    continuous ones the next firing time; merging sums counts and takes the earliest firing. */
#include "rill_time_math.h"
#include "rill_trigger.h"
#include "rill_window_private.h"

#include <assert.h>
#include <string.h>

//  State names of the built-ins (Flink's "count" and "fire-time" descriptors).
#define S_COUNT "count"
#define S_FIRE_TIME "fire-time"

int64_t rill_window_max_timestamp(rill_window_bounds_t bounds)
{
    return bounds.end == INT64_MAX ? INT64_MAX : bounds.end - 1;
}

rill_trigger_t rill_window_trigger_resolve(const rill_window_t *window)
{
    assert(window);
    rill_trigger_t trigger = window->trigger;
    if (trigger.kind == RILL_TRIGGER_DEFAULT) {
        if (window->kind == RILL_WINDOW_GLOBAL)
            trigger.kind = RILL_TRIGGER_NEVER;
        else if (window->time == RILL_TIME_PROCESSING)
            trigger.kind = RILL_TRIGGER_PROCESSING_TIME;
        else
            trigger.kind = RILL_TRIGGER_EVENT_TIME;
    }
    return trigger;
}

//  An int64 kept in window state: 0 and the value, or -1 when unset.
static int s_get64(rill_window_context_t *window, const char *name, int64_t *value)
{
    const void *data;
    size_t size;
    if (rill_window_state_get(window, name, &data, &size) || size != sizeof *value)
        return -1;
    memcpy(value, data, sizeof *value);
    return 0;
}

static int s_set64(rill_window_context_t *window, const char *name, int64_t value)
{
    return rill_window_state_set(window, name, &value, sizeof value);
}

//  ---- event time and processing time: fire once the time passes the window's end

static rill_trigger_result_t s_event_element(rill_window_context_t *window)
{
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    //  A window the watermark has passed already (late, within the allowed lateness) fires
    //  at once and registers nothing.
    if (max <= rill_window_context_watermark(window))
        return RILL_TRIGGER_FIRE;
    return rill_window_timer_register(window, true, max) ? RILL_TRIGGER_ERROR
                                                         : RILL_TRIGGER_CONTINUE;
}

static int s_time_merge(rill_window_context_t *window, bool event_time)
{
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    int64_t now = event_time ? rill_window_context_watermark(window)
                             : rill_window_context_now(window);
    //  Flink registers the merged window's timer only while it is still ahead.
    if (max > now)
        return rill_window_timer_register(window, event_time, max);
    return 0;
}

//  ---- count: fire each time `count` records arrived since the last firing

static rill_trigger_result_t s_count_element(const rill_trigger_t *trigger,
                                             rill_window_context_t *window)
{
    int64_t count = 0;
    s_get64(window, S_COUNT, &count);
    count++;
    if (count >= trigger->count)
        return rill_window_state_clear(window, S_COUNT) ? RILL_TRIGGER_ERROR : RILL_TRIGGER_FIRE;
    return s_set64(window, S_COUNT, count) ? RILL_TRIGGER_ERROR : RILL_TRIGGER_CONTINUE;
}

static int s_count_merge(rill_window_context_t *window)
{
    int64_t sum = 0, value;
    if (s_get64(window, S_COUNT, &value) == 0)
        sum += value;
    for (size_t i = 0; i < rill_window_merged_count(window); i++) {
        const void *data;
        size_t size;
        if (rill_window_merged_state_get(window, i, S_COUNT, &data, &size) == 0 &&
            size == sizeof value) {
            memcpy(&value, data, sizeof value);
            sum += value;
        }
    }
    //  As in Flink, a merged count at or above the limit fires with the next record.
    return sum ? s_set64(window, S_COUNT, sum) : 0;
}

//  ---- continuous: fire every interval, and at the window's end

//  Registers the next firing at min(from + interval, the window's max timestamp). At the end
//  of input (watermark +infinity) an event-time window jumps to its end instead of stepping
//  through every interval up to it (for a global window: forever).
static int s_next_fire(const rill_trigger_t *trigger, rill_window_context_t *window,
                       bool event_time, int64_t from)
{
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    int64_t next = rill_time_add(from, trigger->interval);
    if (next > max || (event_time && rill_window_context_watermark(window) == INT64_MAX))
        next = max;
    if (s_set64(window, S_FIRE_TIME, next) || rill_window_timer_register(window, event_time, next))
        return -1;
    return 0;
}

//  The start of the interval holding t (floored, so negative times round down too).
static int64_t s_interval_start(int64_t t, int64_t interval)
{
    int64_t offset = t % interval;
    if (offset < 0)
        offset += interval;
    return t - offset;
}

static rill_trigger_result_t s_continuous_element(const rill_trigger_t *trigger,
                                                  rill_window_context_t *window, bool event_time,
                                                  int64_t timestamp)
{
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    if (event_time) {
        if (max <= rill_window_context_watermark(window))
            return RILL_TRIGGER_FIRE;
        if (rill_window_timer_register(window, true, max))
            return RILL_TRIGGER_ERROR;
    }
    int64_t fire;
    if (s_get64(window, S_FIRE_TIME, &fire) == 0)
        return RILL_TRIGGER_CONTINUE;
    //  Flink starts from the element's timestamp in event time, from the clock otherwise.
    int64_t from = event_time ? timestamp : rill_window_context_now(window);
    if (from == RILL_NO_TIMESTAMP)
        from = rill_window_context_watermark(window);
    if (from == INT64_MIN)
        return RILL_TRIGGER_CONTINUE; //  no time yet: only the end fires
    return s_next_fire(trigger, window, event_time, s_interval_start(from, trigger->interval))
               ? RILL_TRIGGER_ERROR
               : RILL_TRIGGER_CONTINUE;
}

static rill_trigger_result_t s_continuous_time(const rill_trigger_t *trigger,
                                               rill_window_context_t *window, bool event_time,
                                               int64_t time)
{
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    int64_t fire;
    bool due = s_get64(window, S_FIRE_TIME, &fire) == 0 && fire == time;
    if (due) {
        if (rill_window_state_clear(window, S_FIRE_TIME))
            return RILL_TRIGGER_ERROR;
        if (time < max && s_next_fire(trigger, window, event_time, time))
            return RILL_TRIGGER_ERROR;
        return RILL_TRIGGER_FIRE;
    }
    return time == max && event_time ? RILL_TRIGGER_FIRE : RILL_TRIGGER_CONTINUE;
}

static int s_continuous_merge(rill_window_context_t *window, bool event_time)
{
    int64_t earliest = INT64_MAX, value;
    bool any = s_get64(window, S_FIRE_TIME, &value) == 0;
    if (any)
        earliest = value;
    for (size_t i = 0; i < rill_window_merged_count(window); i++) {
        const void *data;
        size_t size;
        if (rill_window_merged_state_get(window, i, S_FIRE_TIME, &data, &size) == 0 &&
            size == sizeof value) {
            memcpy(&value, data, sizeof value);
            earliest = value < earliest ? value : earliest;
            any = true;
        }
    }
    if (event_time && s_time_merge(window, true))
        return -1;
    if (!any)
        return 0;
    return s_set64(window, S_FIRE_TIME, earliest) ||
           rill_window_timer_register(window, event_time, earliest);
}

static void s_continuous_clear(rill_window_context_t *window, bool event_time)
{
    int64_t fire;
    if (s_get64(window, S_FIRE_TIME, &fire) == 0)
        rill_window_timer_delete(window, event_time, fire);
    rill_window_state_clear(window, S_FIRE_TIME);
}

//  ---- the dispatch

static rill_trigger_result_t s_purging(const rill_trigger_t *trigger, rill_trigger_result_t result)
{
    if (trigger->purging && result > 0 && (result & RILL_TRIGGER_FIRE))
        return RILL_TRIGGER_FIRE_AND_PURGE;
    return result;
}

rill_trigger_result_t rill_window_trigger_element(const rill_trigger_t *trigger,
                                                  rill_window_context_t *window,
                                                  const rill_record_t *record, int64_t timestamp)
{
    assert(trigger && window && record);
    rill_trigger_result_t result = RILL_TRIGGER_CONTINUE;
    switch (trigger->kind) {
    case RILL_TRIGGER_EVENT_TIME: result = s_event_element(window); break;
    case RILL_TRIGGER_PROCESSING_TIME: {
        int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
        result = rill_window_timer_register(window, false, max) ? RILL_TRIGGER_ERROR
                                                                : RILL_TRIGGER_CONTINUE;
        break;
    }
    case RILL_TRIGGER_COUNT: result = s_count_element(trigger, window); break;
    case RILL_TRIGGER_CONTINUOUS_EVENT_TIME:
        result = s_continuous_element(trigger, window, true, timestamp);
        break;
    case RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME:
        result = s_continuous_element(trigger, window, false, timestamp);
        break;
    case RILL_TRIGGER_CUSTOM:
        if (trigger->on_element)
            result = trigger->on_element(window, record, timestamp, trigger->ctx);
        break;
    default: break; //  NEVER
    }
    return s_purging(trigger, result);
}

rill_trigger_result_t rill_window_trigger_time(const rill_trigger_t *trigger,
                                               rill_window_context_t *window, bool event_time,
                                               int64_t time)
{
    assert(trigger && window);
    rill_trigger_result_t result = RILL_TRIGGER_CONTINUE;
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    switch (trigger->kind) {
    case RILL_TRIGGER_EVENT_TIME:
        result = event_time && time == max ? RILL_TRIGGER_FIRE : RILL_TRIGGER_CONTINUE;
        break;
    case RILL_TRIGGER_PROCESSING_TIME:
        result = !event_time ? RILL_TRIGGER_FIRE : RILL_TRIGGER_CONTINUE;
        break;
    case RILL_TRIGGER_CONTINUOUS_EVENT_TIME:
        result = event_time ? s_continuous_time(trigger, window, true, time)
                            : RILL_TRIGGER_CONTINUE;
        break;
    case RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME:
        result = !event_time ? s_continuous_time(trigger, window, false, time)
                             : RILL_TRIGGER_CONTINUE;
        break;
    case RILL_TRIGGER_CUSTOM:
        if (event_time && trigger->on_event_time)
            result = trigger->on_event_time(window, time, trigger->ctx);
        else if (!event_time && trigger->on_processing_time)
            result = trigger->on_processing_time(window, time, trigger->ctx);
        break;
    default: break; //  COUNT, NEVER
    }
    return s_purging(trigger, result);
}

int rill_window_trigger_merge(const rill_trigger_t *trigger, rill_window_context_t *window)
{
    assert(trigger && window);
    switch (trigger->kind) {
    case RILL_TRIGGER_EVENT_TIME: return s_time_merge(window, true);
    case RILL_TRIGGER_PROCESSING_TIME: return s_time_merge(window, false);
    case RILL_TRIGGER_COUNT: return s_count_merge(window);
    case RILL_TRIGGER_CONTINUOUS_EVENT_TIME: return s_continuous_merge(window, true);
    case RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME: return s_continuous_merge(window, false);
    case RILL_TRIGGER_CUSTOM: return trigger->on_merge ? trigger->on_merge(window, trigger->ctx) : 0;
    default: return 0;
    }
}

void rill_window_trigger_clear(const rill_trigger_t *trigger, rill_window_context_t *window)
{
    assert(trigger && window);
    int64_t max = rill_window_max_timestamp(*rill_window_context_bounds(window));
    switch (trigger->kind) {
    case RILL_TRIGGER_EVENT_TIME: rill_window_timer_delete(window, true, max); break;
    case RILL_TRIGGER_PROCESSING_TIME: rill_window_timer_delete(window, false, max); break;
    case RILL_TRIGGER_COUNT: rill_window_state_clear(window, S_COUNT); break;
    case RILL_TRIGGER_CONTINUOUS_EVENT_TIME:
        rill_window_timer_delete(window, true, max);
        s_continuous_clear(window, true);
        break;
    case RILL_TRIGGER_CONTINUOUS_PROCESSING_TIME: s_continuous_clear(window, false); break;
    case RILL_TRIGGER_CUSTOM:
        if (trigger->clear)
            trigger->clear(window, trigger->ctx);
        break;
    default: break;
    }
}
