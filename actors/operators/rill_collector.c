/*  rill_collector.c: the collector operators and user functions emit through. It forwards to
    whatever the subtask pointed it at (its writer, rill_subtask.c) and refuses once the job is
    stopping, so a user function looping over its output ends promptly on failure or cancel. */
#include "rill_operator.h"

#include <assert.h>

int rill_collector_emit(rill_collector_t *self, const void *data, size_t size, int64_t timestamp)
{
    assert(self && (data || size == 0));
    if (self->stopping)
        return -1;
    if (timestamp == RILL_NO_TIMESTAMP && self->inheriting)
        timestamp = self->inherited;
    rill_record_t record = {data, size, timestamp};
    return self->emit(self->target, &record);
}

int rill_collector_emit_side(rill_collector_t *self, int tag, const void *data, size_t size,
                             int64_t timestamp)
{
    assert(self && (data || size == 0));
    if (tag < 0 || tag > RILL_OUTPUT_MAX_SIDE || self->stopping)
        return -1;
    if (timestamp == RILL_NO_TIMESTAMP && self->inheriting)
        timestamp = self->inherited;
    rill_record_t record = {data, size, timestamp};
    return tag == RILL_OUTPUT_MAIN ? self->emit(self->target, &record)
                                   : self->emit_tagged(self->target, tag, &record);
}

int rill_collector_emit_tagged(rill_collector_t *self, int tag, const rill_record_t *record)
{
    assert(self && record && self->emit_tagged);
    if (self->stopping)
        return -1;
    return self->emit_tagged(self->target, tag, record);
}

int rill_collector_watermark(rill_collector_t *self, int64_t watermark)
{
    assert(self && self->watermark);
    return self->stopping ? -1 : self->watermark(self->target, watermark);
}

int rill_collector_idle(rill_collector_t *self)
{
    assert(self && self->idle);
    return self->stopping ? -1 : self->idle(self->target);
}

int rill_collector_subtask(const rill_collector_t *self)
{
    assert(self);
    return self->subtask;
}

int rill_collector_parallelism(const rill_collector_t *self)
{
    assert(self);
    return self->parallelism;
}
