/*  rill_harness.h: an operator test harness (Flink's OneInputStreamOperatorTestHarness and
    KeyedOneInputStreamOperatorTestHarness). It drives one operator of a job as one of its
    subtasks, in the calling thread, with no threads, sockets or wall clock: records on any
    input, watermarks, a manual processing-time clock, the end of input; then what the operator
    emitted (main output and side outputs), and its checkpoint, which a harness of another
    subtask or parallelism restores. Build the job as usual (the operator needs a sink), then
    harness the operator by its stream handle. Deterministic: the same calls give the same
    output. */
#ifndef RILL_HARNESS_H_INCLUDED
#define RILL_HARNESS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_env.h"
#include "rill_export.h"
#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_harness_t rill_harness_t;

//  Plans env's job (rill_env_plan) and opens subtask `subtask` of the operator behind stream,
//  its processing time starting at 0. NULL when the job cannot be planned, the handle is not
//  one operator, subtask is out of range or the operator cannot open: why goes to error
//  (error_size bytes; may be NULL). env must outlive the harness.
RILL_EXPORT rill_harness_t *rill_harness_new(rill_env_t *env, rill_stream_t *stream, int subtask,
                                             char *error, size_t error_size);
//  Closes the operator (its close functions run) and frees what it emitted.
RILL_EXPORT void rill_harness_destroy(rill_harness_t **self_p);
//  Before the first record: restores the operator from checkpoints taken by count harnesses
//  of the same operator (rill_harness_snapshot), one per old subtask in index order: keyed state
//  goes to this subtask when its key group is its own, as a restore at another parallelism
//  does. 0, or -1 (rill_harness_error).
RILL_EXPORT int rill_harness_restore(rill_harness_t *self, const rill_buffer_t *const *snapshots,
                                     int count);
//  One record on input `input` (its input edges in the order they were added: for two
//  connected streams 0 is the first, 1 the second). Every record given is delivered: route
//  keyed records to the subtask that owns their key yourself. 0, or -1 (rill_harness_error).
RILL_EXPORT int rill_harness_record(rill_harness_t *self, int input, const void *data,
                                    size_t size, int64_t timestamp);
//  The operator's input watermark advances (event-time timers and windows fire). 0 or -1.
RILL_EXPORT int rill_harness_watermark(rill_harness_t *self, int64_t watermark);
//  Sets the processing-time clock (ms) and runs what is due by then (processing-time timers
//  and windows, periodic watermarks, idleness, mini-batches). The clock never goes back. 0 or -1.
RILL_EXPORT int rill_harness_processing_time(rill_harness_t *self, int64_t now_ms);
//  Every input has ended (a batch reduce emits, the watermark goes to +infinity). 0 or -1.
RILL_EXPORT int rill_harness_end(rill_harness_t *self);
//  Appends the operator's checkpoint to out (what rill_harness_restore reads). 0 or -1.
RILL_EXPORT int rill_harness_snapshot(rill_harness_t *self, rill_buffer_t *out);
//  What the operator emitted so far to output `tag` (0: main; side outputs 1 and up), in
//  order; the record's bytes stay valid until rill_harness_clear or destroy.
RILL_EXPORT size_t rill_harness_output_count(const rill_harness_t *self, int tag);
RILL_EXPORT rill_record_t rill_harness_output(const rill_harness_t *self, int tag, size_t index);
//  The latest watermark the operator emitted (INT64_MIN: none).
RILL_EXPORT int64_t rill_harness_output_watermark(const rill_harness_t *self);
//  Forgets what was emitted.
RILL_EXPORT void rill_harness_clear(rill_harness_t *self);
//  A user metric the operator's open registered (rill_context_counter, rill_context_gauge):
//  0 with *value set, or -1 when there is none of that name.
RILL_EXPORT int rill_harness_metric(const rill_harness_t *self, const char *name,
                                    int64_t *value);
//  The entries of the operator's keyed state store now, expired ones not yet dropped
//  included (Flink's numKeyedStateEntries); -1 when the operator does not count them (only
//  process functions, joins included, do).
RILL_EXPORT long rill_harness_state_entries(const rill_harness_t *self);
//  Why the last call failed.
RILL_EXPORT const char *rill_harness_error(const rill_harness_t *self);

#ifdef __cplusplus
}
#endif
#endif
