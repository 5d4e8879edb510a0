/*  rill_writer.h: a subtask's outputs (Flink's RecordWriter). Owns one socket per output edge
    and one batch buffer per outgoing channel; serializes each record once, straight into the
    batch of the channel the partitioner picks; flushes a batch when it is full, when the buffer
    timeout expires, or before a control event; counts what it sends. A full channel blocks the
    send (backpressure); while blocked it asks its owner whether to give up. On a combined
    edge (rill_plan_edge_t.combined) records go into a combiner (rill_combiner.h) instead,
    whose partial results it sends when the combiner is full, before a watermark, an idle
    marker or END, and every streaming mini-batch interval. */
#ifndef RILL_WRITER_H_INCLUDED
#define RILL_WRITER_H_INCLUDED

#include "rill_busy_split.h"
#include "rill_clock.h" //  its deadlines are in rill_clock_ns
#include "rill_metrics.h"
#include "rill_graph_private.h"
#include "rill_plan.h"
#include "rill_trace.h"

//  High-water mark, in batches, on each side of a channel: at most about 2 * RILL_CHANNEL_HWM
//  batches are queued per channel, plus the one being filled.
#define RILL_CHANNEL_HWM 4
#define RILL_INPUT_HWM RILL_CHANNEL_HWM
//  ZMTP heartbeat interval on a channel's tcp connections (ms); silent for 6 of them: dropped.
#define RILL_TCP_HEARTBEAT_MS 1000

typedef struct rill_writer_t rill_writer_t;

//  Called while a send is blocked on a full channel (about every 100 ms): return 0 to keep
//  waiting, -1 to abandon the send (the job is being torn down).
typedef int(rill_writer_blocked_fn)(void *ctx);

//  A writer for global subtask id `subtask` of plan. batch_size in bytes; buffer_timeout_ms 0
//  sends every record at once. metrics may be NULL.
rill_writer_t *rill_writer_new(const rill_plan_t *plan, int subtask, rill_metrics_t *metrics,
                               size_t batch_size, int buffer_timeout_ms,
                               rill_writer_blocked_fn *blocked, void *blocked_ctx);
void rill_writer_destroy(rill_writer_t **self_p);
//  For a job spanning processes: tcp connections leave from host (NULL: any address), as
//  CURVE clients under security (NULL: plain text), and each tcp channel starts with a
//  HELLO carrying token. Call before rill_writer_connect; the strings must outlive the writer.
typedef struct rill_security_t rill_security_t;
void rill_writer_set_network(rill_writer_t *self, const char *host, rill_security_t *security,
                             uint64_t token);
//  How long a blocked send waits before it calls blocked again (ms; default 100). An
//  iteration head, which must take its feedback while blocked, asks for less. Before connect.
void rill_writer_set_send_timeout(rill_writer_t *self, int milliseconds);
//  Creates the output sockets and connects them to the receivers' endpoints (which must be
//  bound already); over tcp, waits until each channel's handshake went through (at most
//  15 s). 0, or -1 with rill_writer_error set.
int rill_writer_connect(rill_writer_t *self);
//  Routes one record to every output edge. 0, or -1 (user key/partition function failed or
//  the send was abandoned) with rill_writer_error set.
int rill_writer_emit(rill_writer_t *self, const rill_record_t *record);
//  Routes one record to the output edges of side output `tag` (RILL_OUTPUT_LATE, ...).
int rill_writer_emit_tagged(rill_writer_t *self, int tag, const rill_record_t *record);
//  Flushes, then sends the event-time watermark on every channel, in order after the data.
int rill_writer_watermark(rill_writer_t *self, int64_t watermark);
//  Flushes, then tells every receiver this subtask is idle (no records for a while): they
//  leave its channels out of their watermark until it sends again.
int rill_writer_idle(rill_writer_t *self);
//  Sends every non-empty batch now.
int rill_writer_flush(rill_writer_t *self);
//  Sends the pending batches if the buffer timeout has expired at now_ns (monotonic); when
//  the mini-batch interval has, the combiners' partials first.
int rill_writer_flush_if_due(rill_writer_t *self, uint64_t now_ns);
//  Milliseconds until pending batches (or a mini-batch) are due (0: now), or -1 when nothing
//  is pending.
long rill_writer_due_in_ms(const rill_writer_t *self, uint64_t now_ns);
//  Flushes (combiners first), then sends checkpoint barrier `checkpoint` on every channel, in
//  band: each receiver gets it after every record this subtask sent before it.
int rill_writer_barrier(rill_writer_t *self, int64_t checkpoint);
//  Flushes, then sends an iteration's termination probe for `round`, carrying count, on every
//  channel of the outputs inside a loop (rill_plan_edge_t.iteration; the others get nothing).
int rill_writer_probe(rill_writer_t *self, int64_t round, uint64_t count);
//  Flushes, then sends END on every channel: the receivers will get nothing more from us.
int rill_writer_end(rill_writer_t *self);
//  Why the last call failed.
const char *rill_writer_error(const rill_writer_t *self);
//  Diagnostics, set before the first record: split (the task's, rill_busy_split.h) gets the
//  time spent in ZeroMQ sends; NULL turns diagnostics off: no send timing, no hot keys.
void rill_writer_set_diagnostics(rill_writer_t *self, rill_busy_split_t *split);
//  Stamps the records emitted from now on with a trace id (0: stop stamping).
void rill_writer_set_trace(rill_writer_t *self, uint64_t trace);
//  Writes the sender's side of traced hops (batch fill and send times) to tracer, which must
//  outlive the writer (NULL: not tracing, the default).
void rill_writer_set_tracer(rill_writer_t *self, rill_trace_t *tracer);
//  Records emitted so far (once per record, whatever the fan-out).
uint64_t rill_writer_records(const rill_writer_t *self);
//  Batch buffers so far: how many were malloc'd, and how many batches reused a buffer that came
//  back from ZeroMQ once its batch was sent and received (recycling; see rill_writer.c).
void rill_writer_buffers(const rill_writer_t *self, uint64_t *allocated, uint64_t *reused);

#endif
