/*  rill_functions.h: the types of the user functions that transformations, sources,
    partitioners and timestamp assigners call. */
#ifndef RILL_FUNCTIONS_H_INCLUDED
#define RILL_FUNCTIONS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_collector.h"
#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

//  ---- user function types; ctx is the pointer given when the operator was added. A function
//  may be called from several threads at once (one per subtask): keep ctx read-only or index
//  per-subtask state by rill_collector_subtask(). Return 0 on success, -1 to fail the job.

//  ---- per-subtask lifecycle (Flink's RichFunction open and close; rill_stream_open_close)
//  What a subtask is: its index (0-based), its operator's parallelism and name, and the
//  job's attempt (0, then 1, 2, ... after restarts from a checkpoint).
typedef struct rill_context_t rill_context_t;
//  open: runs once in each subtask's thread before its first record (after its state is
//  restored). *subtask_ctx starts as ctx; set it to what this subtask's functions of the
//  operator should get instead (per-subtask buffers, files, connections: nothing then needs
//  locks). 0, or -1 to fail the job.
typedef int (*rill_open_fn)(const rill_context_t *context, void *ctx, void **subtask_ctx);
//  close: runs once in the subtask's thread when it ends, however it ends (done, failed,
//  cancelled), if open succeeded; gets what open set.
typedef void (*rill_close_fn)(const rill_context_t *context, void *subtask_ctx);

//  map: write exactly one output record into out (it keeps the input's timestamp).
typedef int (*rill_map_fn)(const rill_record_t *in, rill_buffer_t *out, void *ctx);
//  filter: 1 keeps the record, 0 drops it, -1 fails the job.
typedef int (*rill_filter_fn)(const rill_record_t *in, void *ctx);
//  flat_map: emit zero or more records through out.
typedef int (*rill_flat_map_fn)(const rill_record_t *in, rill_collector_t *out, void *ctx);
//  key_by: set *key to the record's key.
typedef int (*rill_key_fn)(const rill_record_t *in, rill_key_t *key, void *ctx);
//  reduce: combine the accumulated record for a key with a new one into out (same key).
typedef int (*rill_reduce_fn)(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                              void *ctx);
//  custom partitioner: return the receiving subtask, 0 <= result < receivers.
typedef int (*rill_partition_fn)(const rill_record_t *in, const rill_key_t *key, int receivers,
                                 void *ctx);
//  generator source: emit the records for sequence number index (each index is generated
//  exactly once, by subtask index % parallelism, or after a restore at another parallelism by
//  the subtask its sequence was dealt to). For checkpoints the records must depend on index
//  alone (and a read-only ctx): a restored generator makes them again from a saved index.
typedef int (*rill_generate_fn)(uint64_t index, rill_collector_t *out, void *ctx);

//  user source: emit some records and return RILL_SOURCE_MORE, or RILL_SOURCE_END when the
//  subtask's input is exhausted, or -1 on error. Called again and again until it ends; emit
//  a modest amount per call (up to a few thousand records) so cancellation stays prompt.
#define RILL_SOURCE_END 0
#define RILL_SOURCE_MORE 1
typedef int (*rill_source_fn)(rill_collector_t *out, void *ctx);

//  user source checkpoints (optional, rill_stream_source_checkpoints): snapshot writes into
//  out what subtask `subtask` needs to go on exactly after the records it has emitted so far
//  (an offset, a sequence number); it runs on that subtask's thread, between two calls of the
//  source function. restore hands those bytes back to the same subtask of a restored job,
//  once, before the source function is first called there. 0, or -1 to fail the checkpoint
//  (or the restore).
typedef int (*rill_source_snapshot_fn)(int subtask, rill_buffer_t *out, void *ctx);
typedef int (*rill_source_restore_fn)(int subtask, const void *data, size_t size, void *ctx);

//  Sets *timestamp (ms since the epoch) for a record. Return -1 to fail the job, or 1 to
//  drop a record whose time cannot be read (it is counted as dropped in the metrics).
typedef int (*rill_timestamp_fn)(const rill_record_t *in, int64_t *timestamp, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
