/*  rill_reader.h: a subtask's inputs. Binds one socket per input edge (PAIR for forward,
    DEALER for redistributing edges; the DEALER fair-queues its senders), decodes frames into
    records for the subtask, and tracks END per channel: the input is finished once every
    channel into this subtask has delivered END. */
#ifndef RILL_READER_H_INCLUDED
#define RILL_READER_H_INCLUDED

#include "rill_busy_split.h"
#include "rill_graph_private.h"
#include "rill_key_hash.h"
#include "rill_metrics.h"
#include "rill_plan.h"

typedef struct rill_reader_t rill_reader_t;

//  Handles one decoded record from input edge number `input`, sent by subtask index `sender`
//  of the upstream operator; trace is its trace id (0: not sampled); key, when the record came
//  over a hash edge, is its key's hash and place as the sender's partitioner found them (NULL
//  otherwise; valid during the call). 0, or -1 to stop (the reader returns -1 and the subtask
//  reports the error).
typedef int(rill_reader_record_fn)(void *ctx, const rill_record_t *record, int input, int sender,
                                   uint64_t trace, const rill_key_hint_t *key);

//  Called, in order with the records, when this subtask's input watermark advances (the
//  minimum over its input channels; ended channels count as +infinity, idle ones not at all)
//  or when the input turns idle (every channel still open is idle) or active again. Once
//  every channel is idle the watermark is the highest any channel reached (Flink's
//  StatusWatermarkValve), so a call with idle set may also carry an advance.
typedef int(rill_reader_watermark_fn)(void *ctx, int64_t watermark, bool idle);

//  Called when checkpoint barrier `checkpoint` has come on every open input channel (aligned:
//  the channels that delivered it early were held back meanwhile, so what the subtask has
//  handled is exactly what was sent before the barrier), or, with declined set, when holding
//  back would have taken more than the alignment bound: the checkpoint cannot be aligned here
//  and the held frames are let through (the subtask declines the checkpoint). aligned_ns is
//  how long the alignment took, from the first barrier. Called in order with the records;
//  the frames held back are handed on after it returns. 0, or -1 to stop.
typedef int(rill_reader_barrier_fn)(void *ctx, int64_t checkpoint, bool declined,
                                    uint64_t aligned_ns);

//  An iteration's termination probe for `round` (rill_iterate.h), in order with the records:
//  unaligned, one call per probe frame, naming its input and sender, with the count it
//  carried; aligned, one call once every open channel delivered it (input and sender -1),
//  with the sum of their counts, the channels that delivered it early held back meanwhile as
//  for a barrier. 0, or -1 to stop.
typedef int(rill_reader_probe_fn)(void *ctx, int input, int sender, int64_t round,
                                  uint64_t count);

//  The most bytes of frames a reader holds back while it aligns a barrier, by default.
#define RILL_ALIGNMENT_BOUND_DEFAULT (64u << 20)

rill_reader_t *rill_reader_new(const rill_plan_t *plan, int subtask, rill_metrics_t *metrics);
void rill_reader_destroy(rill_reader_t **self_p);
//  Registers the watermark callback (optional).
void rill_reader_on_watermark(rill_reader_t *self, rill_reader_watermark_fn *fn, void *ctx);
//  Registers the barrier callback (optional: without one a barrier is aligned and dropped) and
//  the most bytes held back while aligning (0: RILL_ALIGNMENT_BOUND_DEFAULT).
void rill_reader_on_barrier(rill_reader_t *self, rill_reader_barrier_fn *fn, void *ctx,
                            size_t bound);
//  Registers the probe callback (subtasks inside a loop; without one a probe is refused as a
//  malformed frame), aligned or not (see rill_reader_probe_fn).
void rill_reader_on_probe(rill_reader_t *self, rill_reader_probe_fn *fn, void *ctx, bool aligned);
//  Publishes the input counters now (rill_reader_receive does after each call; frames fed
//  through rill_reader_decode are counted but published only then or here).
void rill_reader_publish(rill_reader_t *self);
//  The checkpoint being aligned (0: none).
int64_t rill_reader_aligning(const rill_reader_t *self);
//  The input watermark so far (INT64_MIN before any; INT64_MAX once every input ended).
int64_t rill_reader_watermark(const rill_reader_t *self);
//  Diagnostics: split (the task's, rill_busy_split.h) gets the time spent in ZeroMQ receives,
//  timed per frame (NULL: not timed, the default).
void rill_reader_set_busy_split(rill_reader_t *self, rill_busy_split_t *split);
//  For a job spanning processes: tcp inputs bind on host (an address of this machine), CURVE
//  servers under security (NULL: plain text), and a sender's HELLO must carry token (the
//  job's plan digest). Call before rill_reader_bind; the strings must outlive the reader.
typedef struct rill_security_t rill_security_t;
void rill_reader_set_network(rill_reader_t *self, const char *host, rill_security_t *security,
                             uint64_t token);
//  After bind: the tcp endpoint input `input` listens on for senders in other processes
//  ("" when none of its channels is tcp).
const char *rill_reader_tcp_endpoint(const rill_reader_t *self, int input);
//  Binds the input sockets at the plan's endpoints. 0, or -1 with rill_reader_error set.
int rill_reader_bind(rill_reader_t *self);
//  Number of input sockets and the raw ZeroMQ handle of each, for zmq_poll.
int rill_reader_socket_count(const rill_reader_t *self);
void *rill_reader_handle(const rill_reader_t *self, int input);
//  Takes up to max_frames waiting frames from input `input` without blocking and hands their
//  records to fn. Returns the number of frames taken, or -1 (fn failed, or a malformed frame;
//  see rill_reader_error).
int rill_reader_receive(rill_reader_t *self, int input, int max_frames, rill_reader_record_fn *fn,
                        void *ctx);
//  Decodes one frame as if it had arrived on input `input` (what rill_reader_receive does with
//  each frame it takes; callable on its own so tests and fuzzers can feed crafted bytes).
//  0, or -1 (fn failed, or a malformed frame; see rill_reader_error).
int rill_reader_decode(rill_reader_t *self, int input, const void *data, size_t size,
                       rill_reader_record_fn *fn, void *ctx);
//  True once every channel into this subtask delivered END (at once when there are none).
bool rill_reader_finished(const rill_reader_t *self);
//  True once input `input` is finished (its socket need not be polled any more).
bool rill_reader_input_finished(const rill_reader_t *self, int input);
const char *rill_reader_error(const rill_reader_t *self);

#endif
