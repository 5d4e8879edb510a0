/*  rill_metrics.h: what every subtask and every channel counted during a run. Subtasks write
    their own counters (single writer, relaxed atomic stores, no locks on the record path);
    the job and tools read them while the job runs and after it ends. Indexed by the plan's
    subtask and channel ids. */
#ifndef RILL_METRICS_H_INCLUDED
#define RILL_METRICS_H_INCLUDED

#include "rill_plan.h"
#include <stdbool.h>
#include <stdint.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t records_in;
    uint64_t records_out;
    uint64_t bytes_in; //  record payload bytes
    uint64_t bytes_out;
    uint64_t batches_in;
    uint64_t batches_out;
    uint64_t busy_ns;         //  running operator code and moving records
    uint64_t idle_ns;         //  waiting for input
    uint64_t backpressure_ns; //  blocked on a full output channel
    //  Where the busy time went: busy_ns = user_ns + zmq_ns + the runtime's own share (decode,
    //  emit, partition, serialize, state, checkpoints). user_ns: in the job's functions (map,
    //  reduce, sources, ...), estimated from a random sample of their calls (about one in 32,
    //  timed and scaled); zmq_ns: in ZeroMQ sends and receives, timed per batch, not counting
    //  time blocked on a full channel (that is backpressure_ns). user_ns + zmq_ns <= busy_ns.
    uint64_t user_ns;
    uint64_t zmq_ns;
    uint64_t finished;        //  1 once the subtask has ended
    //  Its latest checkpoint (0: none): id, barrier alignment, snapshot time, state bytes,
    //  and when its task acknowledged it (ms since the epoch).
    uint64_t checkpoint;
    uint64_t checkpoint_alignment_ns;
    uint64_t checkpoint_sync_ns;
    uint64_t checkpoint_bytes;
    uint64_t checkpoint_acked_ms;
    //  Event time: whether it has seen a watermark, the latest it saw (its input's, or what a
    //  source or timestamp assigner made), whether its input is idle (Flink's idleness), and
    //  the records that came too late for every window (dropped, or to the late side output).
    uint64_t watermark_seen;
    int64_t watermark;
    uint64_t input_idle;
    uint64_t late_records;
} rill_subtask_metrics_t;

typedef struct {
    uint64_t records; //  counted by the sender
    uint64_t bytes;
    uint64_t batches;
    uint64_t records_received; //  counted by the receiver
} rill_channel_metrics_t;

//  What checkpoints did during a run (Flink's checkpoint statistics), kept by the job's
//  coordinator. All zero when checkpoints are off.
typedef struct {
    bool enabled;
    int64_t completed;            //  checkpoints completed (a savepoint counts too)
    int64_t failed;               //  declined, timed out or not written
    int64_t latest;               //  id of the latest completed checkpoint (0: none)
    int64_t latest_trigger_ms;    //  its trigger time, ms since the epoch
    int64_t latest_duration_ms;   //  from trigger to completion
    uint64_t latest_bytes;        //  its state, every subtask
    uint64_t latest_alignment_ns; //  the longest barrier alignment of any task in it
    int64_t restored;             //  the checkpoint the running attempt restored from (0: none)
    int restarts;                 //  restarts after failures so far
    bool savepoint_done;          //  a stop-with-savepoint completed
    char last_failure[256];       //  why the latest failed checkpoint failed ("" when none)
    char notes[512];              //  what loading the restore point skipped (corrupt ones)
} rill_checkpoint_stats_t;

//  One of the heaviest keys of a hash edge (rill_metrics_hot_keys): its first bytes, its size,
//  about how many records had it (estimated from a sample: within a few percent for a hot key,
//  never under), and the receiving subtask (index) its records went to.
#define RILL_HOT_KEY_MAX 48
typedef struct {
    char key[RILL_HOT_KEY_MAX + 1]; //  NUL-terminated; cut at RILL_HOT_KEY_MAX bytes
    size_t size;
    uint64_t count;
    int receiver;
    uint64_t hash; //  the key's hash (what merges one key's counts from several senders)
} rill_hot_key_t;

typedef struct rill_metrics_t rill_metrics_t;

//  Destroys counters read with rill_metrics_from_json (a run's belong to its environment)
//  and sets the caller's pointer to NULL.
RILL_EXPORT void rill_metrics_destroy(rill_metrics_t **self_p);
RILL_EXPORT const rill_plan_t *rill_metrics_plan(const rill_metrics_t *self);
//  A consistent-enough copy of one subtask's or channel's counters (each field read
//  atomically; safe while the job runs).
RILL_EXPORT rill_subtask_metrics_t rill_metrics_subtask(const rill_metrics_t *self, int subtask);
RILL_EXPORT rill_channel_metrics_t rill_metrics_channel(const rill_metrics_t *self, int channel);
//  What checkpoints did so far (read from the thread that runs the job, or after it ended).
RILL_EXPORT rill_checkpoint_stats_t rill_metrics_checkpoints(const rill_metrics_t *self);
//  The heaviest keys sent on hash edge `edge` so far, all senders together, heaviest first:
//  fills keys (at most max) and returns how many (0 for an edge that is not a hash edge).
RILL_EXPORT int rill_metrics_hot_keys(const rill_metrics_t *self, int edge, rill_hot_key_t *keys,
                                      int max);
//  What the counters say is wrong, in a few lines, most telling first: the bottleneck (the
//  busiest subtask that holds back its upstream), stragglers (subtasks far from their
//  operator's median), skewed edges and their hot keys, and what to try. A new string the
//  caller frees ("" when nothing stands out); NULL when out of memory.
RILL_EXPORT char *rill_metrics_diagnosis(const rill_metrics_t *self);
//  Wall time of the run in nanoseconds (so far, while it runs).
RILL_EXPORT uint64_t rill_metrics_duration_ns(const rill_metrics_t *self);
//  User metrics (rill_context_counter, rill_context_gauge): what subtask `subtask` registered,
//  into metrics (room for max): how many, at most RILL_USER_METRICS.
#define RILL_USER_METRICS 8
#define RILL_USER_METRIC_NAME 32
typedef struct {
    char name[RILL_USER_METRIC_NAME]; //  NUL-terminated
    bool gauge;                       //  false: a counter (summed across subtasks)
    int64_t value;
} rill_user_metric_t;
RILL_EXPORT int rill_metrics_user(const rill_metrics_t *self, int subtask,
                                  rill_user_metric_t *metrics, int max);

//  The counters as one JSON document (schema in README.md: job, mode, running, duration_ns,
//  plan, operators, subtasks, channels, totals). running tells a live snapshot from the
//  final one. A new string the caller frees; NULL when out of memory.
RILL_EXPORT char *rill_metrics_to_json(const rill_metrics_t *self, bool running);
//  Reads counters back from such a document (a --metrics-json file, a monitor snapshot) and
//  checks everything a reader relies on: every field present with its type, counts >= 0,
//  ratios within 0..1 and matching the times they come from, operator sums and totals that
//  add up, and subtasks and channels that are those of the document's plan (which is read
//  and checked as rill_plan_from_json does). With plan non-NULL the document must also be a
//  run of that plan (same operators, parallelism, edges and channels); the counters then
//  refer to it (it must outlive them). With plan NULL they refer to the document's own plan,
//  which they own. NULL with a message in error (naming the field) when the text is not such
//  a document; never a crash on any input (a fuzz target calls it).
RILL_EXPORT rill_metrics_t *rill_metrics_from_json(const char *text, const rill_plan_t *plan,
                                                   char *error, size_t error_size);

//  A callback that sees the live counters while a job runs (rill_env_set_monitor).
typedef void(rill_monitor_fn)(void *ctx, const rill_metrics_t *metrics);

#ifdef __cplusplus
}
#endif
#endif
