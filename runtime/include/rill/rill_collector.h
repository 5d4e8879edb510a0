/*  rill_collector.h: where an operator's output goes: flat_map, process and source functions
    emit their records through a collector. */
#ifndef RILL_COLLECTOR_H_INCLUDED
#define RILL_COLLECTOR_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Where an operator's output goes. Emitting serializes the record straight into the outgoing
//  batch of the channel it is routed to (or into the sink).
typedef struct rill_collector_t rill_collector_t;

//  Emits one record. A record emitted with timestamp RILL_NO_TIMESTAMP from a flat-map,
//  process or window process function carries, as in Flink, the input record's timestamp, the
//  firing timer's time, or the window's (its last millisecond): pass one to set another.
//  0, or -1 when the job is failing or being cancelled (stop emitting then).
RILL_EXPORT int rill_collector_emit(rill_collector_t *self, const void *data, size_t size,
                                    int64_t timestamp);
//  Emits one record to side output `tag` (1 .. RILL_OUTPUT_MAX_SIDE) of a process function
//  (Flink's ctx.output(outputTag, value)): it goes to every stream made with
//  rill_stream_side_output(operator, tag), and nowhere when there is none. Tag 0 is the main
//  output. 0, or -1 for a tag out of range or when the job is failing or being cancelled.
RILL_EXPORT int rill_collector_emit_side(rill_collector_t *self, int tag, const void *data,
                                         size_t size, int64_t timestamp);
//  The index (0-based) of the subtask this collector belongs to, and its operator's parallelism.
RILL_EXPORT int rill_collector_subtask(const rill_collector_t *self);
RILL_EXPORT int rill_collector_parallelism(const rill_collector_t *self);

#ifdef __cplusplus
}
#endif
#endif
