/*  rill_operator.h: what a subtask runs, and all an operator needs to be one. One small vtable
    per operator kind (sources, record-at-a-time transforms, keyed reduce, sinks); the subtask
    actor drives it: produce() for sources, on_record() per input record, on_end() once every
    input has ended. Output goes through a collector, which the subtask points at its writer.
    Making an operator of a kind is the registry's (rill_operator_registry.h), which operators
    do not include. */
#ifndef RILL_OPERATOR_H_INCLUDED
#define RILL_OPERATOR_H_INCLUDED

#include "rill_busy_split.h"
#include "rill_clock.h"
#include "rill_graph.h"
#include "rill_graph_private.h"
#include "rill_key_hash.h"
#include "rill_plan.h"
#include "rill_record.h"
#include "rill_snapshot.h"
#include "rill_watermark_alignment.h"

//  The collector behind rill_collector_emit: a target and how to hand it a record.
struct rill_collector_t {
    int (*emit)(void *target, const rill_record_t *record);
    int (*emit_tagged)(void *target, int tag, const rill_record_t *record);
    int (*watermark)(void *target, int64_t watermark); //  an assigner's own watermarks
    int (*idle)(void *target);
    void *target;
    int subtask;
    int parallelism;
    bool stopping; //  set when the job fails or is cancelled: emit refuses
    //  While a flat-map, process or window function runs: what a record it emits without a
    //  timestamp (RILL_NO_TIMESTAMP) gets, as Flink's TimestampedCollector gives it: the input
    //  record's, the timer's time, the window's last millisecond.
    bool inheriting;
    int64_t inherited;
};

//  Around a user function call that emits: its output inherits `timestamp` (see above).
static inline void rill_collector_inherit(rill_collector_t *self, int64_t timestamp)
{
    self->inheriting = true;
    self->inherited = timestamp;
}

static inline void rill_collector_inherit_end(rill_collector_t *self)
{
    self->inheriting = false;
}

//  The bytes of a line a line source emits: without its end, "\n" or "\r\n" (the file,
//  directory and TCP text sources share it).
static inline size_t rill_line_size(const char *line, size_t length)
{
    if (length && line[length - 1] == '\n')
        length--;
    if (length && line[length - 1] == '\r')
        length--;
    return length;
}

typedef struct rill_operator_t rill_operator_t;

typedef struct {
    //  Sources only: emit a chunk of records; RILL_SOURCE_MORE, RILL_SOURCE_END or -1.
    int (*produce)(rill_operator_t *self, rill_collector_t *out);
    //  Non-sources: one input record from input edge number `input`. 0 or -1.
    int (*on_record)(rill_operator_t *self, const rill_record_t *record, int input,
                     rill_collector_t *out);
    //  Every input has ended (sources: produce returned END or the job was cancelled).
    int (*on_end)(rill_operator_t *self, rill_collector_t *out);
    //  The subtask's input watermark advanced (before it is forwarded downstream).
    int (*on_watermark)(rill_operator_t *self, int64_t watermark, rill_collector_t *out);
    //  The wall clock (ms) reached the time next_tick asked for: processing-time timers,
    //  periodic watermarks, idleness.
    int (*on_tick)(rill_operator_t *self, int64_t now_ms, rill_collector_t *out);
    //  When on_tick wants to run next (wall ms), or INT64_MAX.
    int64_t (*next_tick)(rill_operator_t *self);
    //  Frees the kind's state.
    void (*close)(rill_operator_t *self);
    //  Non-sources, optional: asked before each poll of the inputs; 1 while the operator
    //  wants no input now (watermark alignment: the subtask then reads nothing until next_tick
    //  or its pipe wakes it), 0 to read, -1 on error.
    int (*pause_input)(rill_operator_t *self, rill_collector_t *out);
    //  Checkpoints (all optional; NULL: the operator keeps no state worth saving).
    //  snapshot: appends the operator's state to out as rill_snapshot_put entries (a source:
    //  its position, so that a restore reads on from there; keyed state: one entry per key,
    //  RILL_STATE_KEYED with the key's rill_key_group). Called between records, when the
    //  checkpoint's barrier has reached this operator: the state is exactly that of every
    //  record before the barrier. 0 or -1 (self->error set).
    int (*snapshot)(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out);
    //  restore: after open, before anything runs: takes the entries of this subtask's share of
    //  a checkpoint (possibly none: then the subtask has nothing left to do, e.g. a source
    //  whose splits all went elsewhere or were finished). 0 or -1 (self->error set).
    int (*restore)(rill_operator_t *self, rill_state_reader_t *in);
    //  checkpoint_complete: every subtask has saved checkpoint `checkpoint`; what the operator
    //  staged for it may now be made visible (a sink's two-phase commit). 0 or -1.
    int (*checkpoint_complete)(rill_operator_t *self, int64_t checkpoint);
    //  Optional: the entries the operator's keyed state store holds now, expired or not (the
    //  test harness's rill_harness_state_entries).
    size_t (*state_entries)(rill_operator_t *self);
} rill_operator_vtable_t;

struct rill_operator_t {
    const rill_operator_vtable_t *vtable;
    const rill_plan_t *plan;
    const rill_operator_spec_t *spec;
    const rill_plan_operator_t *op;
    int index;        //  subtask index within the operator
    rill_mode_t mode; //  resolved: streaming or batch
    rill_buffer_t *scratch; //  output buffer for map and reduce results
    void *state;            //  the kind's own state
    //  The job's watermark alignment group and this subtask's member index in it, when it
    //  aligns (set by the subtask after opening; NULL otherwise; see rill_op_timestamps.c).
    rill_watermark_alignment_t *alignment;
    int alignment_member;
    //  During on_record only: the key the record carried over a hash edge (its hash, and where
    //  it lies in the record), set by whoever read the record off a channel; NULL when it came
    //  another way (a forward edge, a chained operator's call). See rill_operator_record_key.
    const rill_key_hint_t *input_key;
    //  Whether the job takes checkpoints (default false). Operators that cost more when they
    //  must be able to rewind read it (a print sink to a file then stages its output for a
    //  two-phase commit); set it before the first record (and before restore). An operator
    //  that gets a snapshot call while it is false must still take a correct snapshot.
    bool checkpointing;
    //  What the user functions get: the operator's ctx, or what its open made of it for this
    //  subtask (rill_operator_open_user). And what open and close are told.
    void *ctx;
    rill_context_t *context;
    bool opened;
    //  Processing time (wall ms): rill_clock_wall_ms, unless a test harness drives the
    //  operator with a clock of its own (rill_harness.h). Read through rill_operator_now_ms.
    int64_t (*clock_ms)(void *clock_ctx);
    void *clock_ctx;
    //  Where the task times its user functions (rill_busy_split.h): every call of one goes
    //  between rill_busy_split_user_begin and _end on it. NULL: not measured.
    rill_busy_split_t *busy_split;
    char error[256];        //  why the last call failed, in the operator's words
};

//  The key extractor of each input edge, for keyed operators: an array of input_count entries
//  the caller frees; NULL when out of memory.
typedef struct {
    rill_key_fn fn;
    void *ctx;
} rill_input_key_t;
rill_input_key_t *rill_operator_input_keys(const rill_operator_t *self);

//  The key of a record from input `input` and its rill_key_hash: taken from self->input_key
//  when the record carried them (no extraction, no hashing; a computed key is still extracted,
//  but not hashed), else from the input's extractor. 0, or -1 when the extractor failed.
int rill_operator_extract_key(const rill_operator_t *self, const rill_input_key_t *keys,
                              const rill_record_t *record, int input, rill_key_t *key,
                              uint64_t *hash);
static inline int rill_operator_record_key(const rill_operator_t *self,
                                           const rill_input_key_t *keys,
                                           const rill_record_t *record, int input, rill_key_t *key,
                                           uint64_t *hash)
{
    const rill_key_hint_t *hint = self->input_key;
    if (hint && hint->offset >= 0) {
        //  The reader checked that the range lies within the record.
        key->data = (const uint8_t *)record->data + hint->offset;
        key->size = hint->size;
        *hash = hint->hash;
        return 0;
    }
    return rill_operator_extract_key(self, keys, record, input, key, hash);
}

//  The operator's processing time now (wall ms, or its harness's clock).
static inline int64_t rill_operator_now_ms(const rill_operator_t *self)
{
    return self->clock_ms ? self->clock_ms(self->clock_ctx) : rill_clock_wall_ms();
}

//  The user's per-subtask open (rill_stream_open_close), after the state is restored and
//  before the first record, its user metrics kept in metrics (may be NULL): 0, or -1 with
//  self->error set. And its close, once, at the end
//  (nothing when open did not run or failed); rill_operator_destroy calls it too.
typedef struct rill_metrics_t rill_metrics_t;
int rill_operator_open_user(rill_operator_t *self, int attempt, rill_metrics_t *metrics);
void rill_operator_close_user(rill_operator_t *self);

//  Side outputs and control events from inside operators (internal; users emit through
//  rill_collector_emit only).
int rill_collector_emit_tagged(rill_collector_t *self, int tag, const rill_record_t *record);
int rill_collector_watermark(rill_collector_t *self, int64_t watermark);
int rill_collector_idle(rill_collector_t *self);

//  Records emitted per produce() call: bounds the time between checks of the actor pipe.
#define RILL_SOURCE_CHUNK 1024

#endif
