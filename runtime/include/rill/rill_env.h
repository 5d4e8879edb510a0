/*  rill_env.h: the API a job is written against. An environment holds the job's settings and
    its logical graph; stream handles add operators and streams to it. Nothing runs until
    rill_env_execute() plans the graph and deploys it as one czmq actor per operator subtask.

        rill_env_t *env = rill_env_new ();
        rill_stream_t *lines = rill_env_from_text_file (env, "input.txt");
        rill_stream_t *words = rill_stream_flat_map (lines, split_words, NULL);
        rill_keyed_stream_t by_word = rill_stream_key_by (words, rill_key_first_field, NULL);
        rill_stream_t *counts = rill_stream_count (by_word);
        rill_stream_print (counts, NULL);
        if (rill_env_execute (env))
            fprintf (stderr, "%s\n", rill_env_error (env));
        rill_env_destroy (&env);

    Stream handles belong to the environment and live as long as it does. Every function that
    takes a stream accepts NULL (the result of an earlier error) and then returns NULL, so a
    job may build its whole graph and check rill_env_error() once, at execute. A keyed stream
    (rill_keyed_stream_t, what key_by returns) is a type of its own: the keyed operations take
    only it, so handing them a stream that was never keyed does not compile. */
#ifndef RILL_ENV_H_INCLUDED
#define RILL_ENV_H_INCLUDED

#include <stdio.h>

#include "rill_results.h"
#include "rill_export.h"
#include "rill_functions.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_env_t rill_env_t;
typedef struct rill_stream_t rill_stream_t;
//  A keyed stream (Flink's KeyedStream): what rill_stream_key_by returns and the keyed
//  operations (reduce, sum ... max, the window operators, process, co_process, the joins,
//  broadcast_process) take. It is a struct passed by value, not a pointer, so that a plain
//  rill_stream_t * where a keyed stream is expected, or the other way round, is a compile error
//  in every C compiler (a pointer of another type would only be a warning). Make it with
//  rill_stream_key_by only; use it as a plain stream with rill_keyed_stream_stream. `stream`
//  is the partitioned view behind it (NULL after an error: keyed operations then return NULL);
//  a hand-made one that was not keyed is still refused when the job is planned.
typedef struct {
    rill_stream_t *stream;
} rill_keyed_stream_t;

//  Batches are flushed when this full (bytes), ...
#define RILL_DEFAULT_BATCH_SIZE (32 * 1024)
//  ... or when the oldest unsent record is this old (milliseconds; 0 = after every record).
#define RILL_DEFAULT_BUFFER_TIMEOUT 10
//  A checkpoint not complete after this many ms is discarded; a restart waits this long.
#define RILL_DEFAULT_CHECKPOINT_TIMEOUT 60000
#define RILL_DEFAULT_RESTART_DELAY 100
//  The longest line a text-file source accepts (bytes, without the line end); a longer one
//  fails the job instead of growing a buffer without bound (think --input /dev/zero).
#define RILL_DEFAULT_MAX_RECORD_SIZE (16 * 1024 * 1024)
//  The highest value rill_env_set_max_record_size accepts (1 GiB).
#define RILL_MAX_RECORD_SIZE_LIMIT (1024 * 1024 * 1024)
//  The memory bound of one sender's pre-aggregation table per combined edge (bytes).
#define RILL_DEFAULT_COMBINE_BYTES (4 * 1024 * 1024)

//  ---- the environment

//  Creates an environment: parallelism 1, mode automatic, default batch size and timeout.
RILL_EXPORT rill_env_t *rill_env_new(void);
//  Destroys it, its graph, its streams and the last run's plan and metrics.
RILL_EXPORT void rill_env_destroy(rill_env_t **self_p);
//  Settings. Each returns 0, or -1 (with rill_env_error set) for a value out of range:
//  parallelism 1..RILL_MAX_PARALLELISM, batch size 64 bytes .. 64 MiB, timeout >= 0.
RILL_EXPORT int rill_env_set_parallelism(rill_env_t *self, int parallelism);
RILL_EXPORT int rill_env_set_mode(rill_env_t *self, rill_mode_t mode);
RILL_EXPORT int rill_env_set_batch_size(rill_env_t *self, size_t bytes);
RILL_EXPORT int rill_env_set_buffer_timeout(rill_env_t *self, int milliseconds);
//  The longest line (bytes) every text-file source of this environment accepts, those added
//  before and after the call: 1 .. RILL_MAX_RECORD_SIZE_LIMIT; default
//  RILL_DEFAULT_MAX_RECORD_SIZE. A longer line fails the job, naming operator and subtask.
RILL_EXPORT int rill_env_set_max_record_size(rill_env_t *self, size_t bytes);
//  Names the job (used in endpoints, reports and diagrams). Default "job".
RILL_EXPORT int rill_env_set_job_name(rill_env_t *self, const char *name);
//  Turns operator chaining off for the whole job: every operator subtask runs in its own
//  actor thread (Flink's disableOperatorChaining; `rill run --no-chaining`).
RILL_EXPORT void rill_env_disable_chaining(rill_env_t *self);
//  Diagnostics, on by default: where each subtask's busy time goes (user function, runtime,
//  ZeroMQ: rill_subtask_metrics_t) and the hot keys of every key_by stream. Off, those
//  counters stay zero and their small cost goes (`make bench` measures it; `rill run
//  --no-diagnostics`). Every other counter is kept either way.
RILL_EXPORT void rill_env_set_diagnostics(rill_env_t *self, bool on);
//  Pre-aggregation before the shuffle (a map-side combiner, on by default): on a key_by stream
//  into a keyed reduce (count, sum, min, max, or a reduce function, which must then be
//  associative), each sender folds records of the same key into a partial result and sends
//  the partials instead, in batch mode, and in streaming mode with a mini-batch. max_bytes
//  bounds each sender's table per such stream (4 KiB .. 1 GiB; when full it sends all its
//  partials and starts again); 0 turns combining off (`rill run --no-combine`). Results are
//  the same either way. 0, or -1 for a value out of range.
RILL_EXPORT int rill_env_set_combine(rill_env_t *self, size_t max_bytes);
//  Streaming mini-batch (Flink's table.exec.mini-batch, off by default): keyed reduces emit
//  the latest value of each key that changed once every interval_ms (and before a watermark,
//  and at the end) instead of one update per record, and senders pre-aggregate for them.
//  Fewer, later updates, the same final values; latency up to about twice the interval
//  (senders hold partials up to one interval, the reduce its updates up to another). 0 turns
//  it off (1 .. 3600000 ms; `rill run --mini-batch MS`). 0, or -1 for a value out of range.
RILL_EXPORT int rill_env_set_mini_batch(rill_env_t *self, int interval_ms);
//  Checkpoints (Flink's aligned checkpoints; README: Fault tolerance). Streaming mode only.
//  Every interval_ms the sources record their position and send a barrier in band; each
//  subtask, once the barrier has come on all its inputs, saves its state into dir (one file
//  per operator subtask, then the checkpoint's metadata, written last). A failed job restarts
//  from the latest completed checkpoint (rill_env_set_restart), a killed one resumes with
//  rill_env_restore_from; the file sink commits output only with completed checkpoints, so
//  what it wrote is exactly once. interval 10 .. 86400000 ms. 0, or -1 (rill_env_error).
RILL_EXPORT int rill_env_enable_checkpointing(rill_env_t *self, int interval_ms, const char *dir);
//  A checkpoint not complete after timeout_ms is discarded (default
//  RILL_DEFAULT_CHECKPOINT_TIMEOUT). 0, or -1 when below 10.
RILL_EXPORT int rill_env_set_checkpoint_timeout(rill_env_t *self, int timeout_ms);
//  Completed checkpoints kept in the directory (1 .. 1000, default 1). 0 or -1.
RILL_EXPORT int rill_env_set_checkpoints_kept(rill_env_t *self, int kept);
//  Restart strategy: after a failure, up to `attempts` restarts (0, the default: none), each
//  after delay_ms (doubling each time when exponential, up to a minute), from the latest
//  completed checkpoint. The job then fails for good with the last error. 0 or -1.
RILL_EXPORT int rill_env_set_restart(rill_env_t *self, int attempts, int delay_ms,
                                     bool exponential);
//  Starts the job from a checkpoint: path is a checkpoint directory (its latest complete,
//  valid checkpoint; a corrupt one is skipped for the one before), one checkpoint's folder,
//  or a savepoint. The job may run at another parallelism: keyed state is redistributed by
//  key group. NULL or "" clears it. 0 or -1.
RILL_EXPORT int rill_env_restore_from(rill_env_t *self, const char *path);
//  Stop with a savepoint: when the job is cancelled (rill_env_cancel once, Ctrl-C), the
//  sources take a savepoint into dir and end their streams, and the job drains; restore from
//  it with rill_env_restore_from. NULL or "" turns it off. 0 or -1.
RILL_EXPORT int rill_env_set_savepoint_on_cancel(rill_env_t *self, const char *dir);
//  Places the plan on `processes` processes (1 .. RILL_MAX_PROCESSES, default 1) by slots, as
//  rill_plan_place does, so rill_env_plan shows where each subtask would run. Running such a
//  plan is not supported yet: rill_env_execute refuses it. 0, or -1 when out of range.
RILL_EXPORT int rill_env_set_processes(rill_env_t *self, int processes);
RILL_EXPORT int rill_env_parallelism(const rill_env_t *self);
//  The message of the first error since the environment was made ("" when none).
RILL_EXPORT const char *rill_env_error(const rill_env_t *self);

//  Plans the graph without running it. The plan belongs to the environment (valid until the
//  next plan or execute). NULL with rill_env_error set when the graph is invalid.
RILL_EXPORT const rill_plan_t *rill_env_plan(rill_env_t *self);
//  Plans and runs the job to its end. 0 when it finished; -1 when it failed or was cancelled
//  (rill_env_error says why; rill_env_cancelled tells the two apart).
RILL_EXPORT int rill_env_execute(rill_env_t *self);
//  Asks a running job to stop: sources stop and what is in flight drains; a second call stops
//  every subtask at once. Safe from a signal handler or another thread. rill installs no
//  signal handlers and keeps the program's (czmq's own are kept out); a program that wants
//  Ctrl-C to cancel calls this from its handler, as `rill run` does.
RILL_EXPORT void rill_env_cancel(rill_env_t *self);
RILL_EXPORT bool rill_env_cancelled(const rill_env_t *self);
//  Calls fn(ctx, metrics) from the calling thread about every interval_ms while the job runs,
//  and once when it ends (live views, progress lines). fn NULL turns it off.
RILL_EXPORT void rill_env_set_monitor(rill_env_t *self, rill_monitor_fn *fn, void *ctx,
                                      int interval_ms);
//  Traces one record in `sample` from the sources through the dataflow: each subtask that
//  handles it writes a hop (JSON line; see README "Traces") to out, which the caller keeps
//  open through execute. out NULL turns tracing off. 0, or -1 for sample 0. A failed write
//  does not fail the job: it leaves out's error indicator set; check ferror(out) afterwards.
RILL_EXPORT int rill_env_set_trace(rill_env_t *self, FILE *out, uint64_t sample);
//  Refuses a file the caller will write while the job runs (a trace, metrics or report file)
//  when it is the input of one of the job's file sources, under any name (same device and
//  inode): writing it would destroy the input. 0, or -1 with rill_env_error set. Print sinks
//  are checked by rill_env_execute itself.
RILL_EXPORT int rill_env_check_output(rill_env_t *self, const char *path);
//  Counters of the last (or current) run; NULL before the first run.
RILL_EXPORT const rill_metrics_t *rill_env_metrics(const rill_env_t *self);

//  ---- sources

//  Lines of a text file (bounded), without their line ends. With parallelism p, the file is
//  split into p byte ranges, each starting at a line start. Timestamps: RILL_NO_TIMESTAMP.
//  A checkpoint saves where each range is, and a restore (at any parallelism) reads on from
//  there, each line once; a restore against a file of another size is refused. Input that is
//  not a regular file (a pipe, /dev/stdin) cannot rewind: a checkpoint of it fails.
RILL_EXPORT rill_stream_t *rill_env_from_text_file(rill_env_t *self, const char *path);
//  Records made by fn for indices 0..count-1 (count RILL_UNBOUNDED: never ends). A
//  checkpoint saves the next index of each subtask; a restore (at any parallelism) makes the
//  records of the indices not emitted yet, each once.
RILL_EXPORT rill_stream_t *rill_env_from_generator(rill_env_t *self, rill_generate_fn fn, void *ctx,
                                                   uint64_t count);
//  A user-defined source; bounded says whether it ends by itself.
RILL_EXPORT rill_stream_t *rill_env_from_source(rill_env_t *self, rill_source_fn fn, void *ctx,
                                                bool bounded);
//  Lets a user source take part in checkpoints (rill_source_snapshot_fn): snapshot saves each
//  subtask's position, restore puts it back in a restored job, which then emits exactly the
//  records that came after it. Without them the source cannot rewind and a checkpoint of its
//  job fails, saying so. Its state stays with its subtask (it is opaque to rill): a job with
//  such a source is restored at the parallelism it was saved at. Both callbacks or neither
//  (NULL, NULL turns it off). Returns source; NULL (rill_env_error set) when source is not
//  a handle rill_env_from_source returned, or only one callback is given.
RILL_EXPORT rill_stream_t *rill_stream_source_checkpoints(rill_stream_t *source,
                                                          rill_source_snapshot_fn snapshot,
                                                          rill_source_restore_fn restore);

//  ---- transformations

//  map: one output per record; filter: keeps the records fn accepts; flat_map: any number.
RILL_EXPORT rill_stream_t *rill_stream_map(rill_stream_t *in, rill_map_fn fn, void *ctx);
RILL_EXPORT rill_stream_t *rill_stream_filter(rill_stream_t *in, rill_filter_fn fn, void *ctx);
RILL_EXPORT rill_stream_t *rill_stream_flat_map(rill_stream_t *in, rill_flat_map_fn fn, void *ctx);
//  Partitions the stream by key (hash of the key picks the receiving subtask); the result
//  is a keyed stream, which the keyed operations below require. key_by adds no operator:
//  there is nothing to name or to give a parallelism (as in Flink, where a KeyedStream has
//  neither name() nor setParallelism()); set them on the operator before key_by or on the
//  keyed operation after it, e.g. rill_stream_parallelism (rill_stream_sum (keyed), 4).
RILL_EXPORT rill_keyed_stream_t rill_stream_key_by(rill_stream_t *in, rill_key_fn fn, void *ctx);
//  The keyed stream as a plain stream, for any call that takes one (Flink's KeyedStream is a
//  DataStream): the operator that reads it receives it partitioned by key (a hash exchange),
//  e.g. rill_stream_map (rill_keyed_stream_stream (keyed), fn, NULL). The handle is a view on
//  the operator before key_by, not an operator: rill_stream_name, _parallelism, _operator and
//  the other operator settings refuse it (NULL and a message in rill_env_error naming
//  key_by), rather than silently change the operator before key_by. NULL for a keyed stream
//  whose stream is NULL (an earlier error).
RILL_EXPORT rill_stream_t *rill_keyed_stream_stream(rill_keyed_stream_t keyed);
//  Keyed reduce. In streaming mode every update is emitted (with a mini-batch, the latest
//  value of each changed key once per interval); in batch mode only the final value per key,
//  when the input ends. In batch mode and with a mini-batch the senders pre-aggregate with fn
//  too (rill_env_set_combine) and fn then reduces partial results: it must be associative.
RILL_EXPORT rill_stream_t *rill_stream_reduce(rill_keyed_stream_t keyed, rill_reduce_fn fn,
                                              void *ctx);
//  Built-in keyed aggregations over "KEY<TAB>...<TAB>NUMBER" records (count ignores the
//  number); each emits "KEY<TAB>VALUE". Integers stay integers; reals print as the shortest
//  decimal that reads back as the same double.
RILL_EXPORT rill_stream_t *rill_stream_sum(rill_keyed_stream_t keyed);
RILL_EXPORT rill_stream_t *rill_stream_count(rill_keyed_stream_t keyed);
RILL_EXPORT rill_stream_t *rill_stream_min(rill_keyed_stream_t keyed);
RILL_EXPORT rill_stream_t *rill_stream_max(rill_keyed_stream_t keyed);
//  One stream made of several; the next operator reads all of them.
RILL_EXPORT rill_stream_t *rill_stream_union(rill_stream_t *a, rill_stream_t *b);
RILL_EXPORT rill_stream_t *rill_stream_union_n(rill_stream_t **streams, size_t count);

//  ---- exchange patterns: how the next operator receives this stream

//  Subtask i to subtask i (same parallelism); every record to every subtask; round robin;
//  round robin within local groups; a random subtask; all to subtask 0.
RILL_EXPORT rill_stream_t *rill_stream_forward(rill_stream_t *in);
RILL_EXPORT rill_stream_t *rill_stream_broadcast(rill_stream_t *in);
RILL_EXPORT rill_stream_t *rill_stream_rebalance(rill_stream_t *in);
RILL_EXPORT rill_stream_t *rill_stream_rescale(rill_stream_t *in);
RILL_EXPORT rill_stream_t *rill_stream_shuffle(rill_stream_t *in);
RILL_EXPORT rill_stream_t *rill_stream_global(rill_stream_t *in);
//  fn picks the receiver; key (may be NULL) extracts a key handed to fn.
RILL_EXPORT rill_stream_t *rill_stream_partition_custom(rill_stream_t *in, rill_partition_fn fn,
                                                        void *ctx, rill_key_fn key, void *key_ctx);

//  ---- operator settings: apply to the operator that produces the stream; return it
//  Only a handle an operator returned takes them: rill_stream_parallelism (rill_stream_reduce
//  (keyed, fn, NULL), 4) sets the reduce's. A keyed stream is not a rill_stream_t * and cannot
//  be passed here at all; the handles of rill_keyed_stream_stream, the exchange patterns
//  (forward ... partition_custom), union, late_records and side_output are views on another
//  operator's output (as in Flink, where a KeyedStream has no name or parallelism): a setting
//  on them returns NULL and leaves a message in rill_env_error, changing nothing.

//  Names the operator (copied; names are made unique in the plan) or sets its parallelism
//  (1 .. RILL_MAX_PARALLELISM).
RILL_EXPORT rill_stream_t *rill_stream_name(rill_stream_t *stream, const char *name);
RILL_EXPORT rill_stream_t *rill_stream_parallelism(rill_stream_t *stream, int parallelism);
//  Operator chaining (on by default, as in Flink): an operator joined to its predecessor by a
//  forward stream of the same parallelism, with no other input, while the predecessor has no
//  other output, runs in its predecessor's subtask thread and gets its records by function
//  call: no frame, no copy, no thread switch. start_new_chain makes the operator begin a new
//  chain (it still chains to its successor); disable_chaining keeps it out of any chain.
RILL_EXPORT rill_stream_t *rill_stream_start_new_chain(rill_stream_t *stream);
RILL_EXPORT rill_stream_t *rill_stream_disable_chaining(rill_stream_t *stream);

//  The id of the operator behind stream in the plan (rill_env_plan, the metrics, the test
//  harness), or -1 (with rill_env_error) for a handle that is not one operator.
RILL_EXPORT int rill_stream_operator(rill_stream_t *stream);
//  Per-subtask open and close for the functions of the operator behind stream (any operator
//  that calls user functions; see rill_open_fn): open may give each subtask a ctx of its own.
//  Returns stream, or NULL (with rill_env_error) for a handle that is not one operator.
RILL_EXPORT rill_stream_t *rill_stream_open_close(rill_stream_t *stream, rill_open_fn open,
                                                  rill_close_fn close);
//  In open and close: the subtask's index, its operator's parallelism and name, the attempt.
RILL_EXPORT int rill_context_subtask(const rill_context_t *self);
RILL_EXPORT int rill_context_parallelism(const rill_context_t *self);
RILL_EXPORT const char *rill_context_operator(const rill_context_t *self);
RILL_EXPORT int rill_context_attempt(const rill_context_t *self);
//  User metrics (Flink's getMetricGroup().counter / gauge), from open: a counter or a gauge of
//  this subtask under name (at most RILL_USER_METRICS per subtask, names shorter than
//  RILL_USER_METRIC_NAME), kept with the subtask's counters: in --metrics, the metrics JSON
//  ("user_metrics"), rill top and the report. Keep the handle in the subtask's ctx and update
//  it from that subtask's functions only. NULL when there is no room (or counters are off):
//  rill_metric_add and rill_metric_set then do nothing.
typedef struct rill_metric_t rill_metric_t;
RILL_EXPORT rill_metric_t *rill_context_counter(const rill_context_t *self, const char *name);
RILL_EXPORT rill_metric_t *rill_context_gauge(const rill_context_t *self, const char *name);
RILL_EXPORT void rill_metric_add(rill_metric_t *metric, int64_t n);
RILL_EXPORT void rill_metric_set(rill_metric_t *metric, int64_t value);

//  ---- sinks (each returns the sink's handle, for naming it or setting its parallelism)

//  Writes each record and a newline to path (NULL: stdout). With parallelism above 1 and a
//  path, subtask i writes path.i (Flink writes one file per subtask too). With checkpoints a
//  file is written exactly once (two-phase commit, as Flink's FileSink): records wait in a
//  staging file beside it (".<name>.pending") and are appended to it when the checkpoint
//  after them completes, or when the input ends, so readers see committed records only; a
//  restore puts each file back to its checkpoint, and at another parallelism each file keeps
//  its name. stdout is at-least-once: a restore prints again what followed the checkpoint.
//  The file is emptied when the sink first writes (not when a restore finds it).
RILL_EXPORT rill_stream_t *rill_stream_print(rill_stream_t *in, const char *path);
//  Hands every record to collect (read it after execute). A checkpoint saves what was
//  collected and a restore brings it back: each record once.
RILL_EXPORT rill_stream_t *rill_stream_collect(rill_stream_t *in, rill_results_t *collect);
//  Counts and drops.
RILL_EXPORT rill_stream_t *rill_stream_discard(rill_stream_t *in);

#ifdef __cplusplus
}
#endif
#endif
