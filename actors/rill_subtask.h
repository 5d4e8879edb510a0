/*  rill_subtask.h: the actor every operator subtask runs (one thread each, with a czmq pipe and
    czmq's actor conventions: a ready signal at start, $TERM to stop). The job's
    coordinator drives it through the actor pipe with a few string commands:
        BIND     -> create the operator, bind input sockets    reply OK | ERROR
        CONNECT  -> connect output sockets to the receivers      reply OK | ERROR
        START    -> run until the input ends                     later DONE | FAILED
        CANCEL   -> (sources) stop producing, end the stream cleanly
        CHECKPOINT <id> -> (sources, and tasks that have finished) snapshot now and, while
                    running, send barrier <id> on every output   later ACK <id> | FAILED
    A task with inputs takes checkpoint <id> when its barrier has come on every input channel
    (aligned) and then sends ACK <id>, or DECLINE <id> when it could not align it within the
    bound (rill_reader.h).
        $TERM    -> stop at once and exit (answered promptly even while blocked on a send)
    ERROR and FAILED carry no text: the reason is written to args->error first, so reporting
    a failure allocates nothing and works when memory has run out. */
#ifndef RILL_SUBTASK_H_INCLUDED
#define RILL_SUBTASK_H_INCLUDED

#include <czmq.h>

#include "rill_checkpointing.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_trace.h"
#include "rill_watermark_alignment.h"

//  A job spanning processes: the address this process binds and connects from, the CURVE
//  keys of its tcp sockets (NULL: plain text) and the job's token (rill_reader.h).
typedef struct rill_security_t rill_security_t;
typedef struct {
    const char *host;
    rill_security_t *security;
    uint64_t token;
} rill_subtask_network_t;

typedef struct {
    const rill_plan_t *plan;
    int subtask; //  global subtask id
    rill_metrics_t *metrics;
    size_t batch_size;
    int buffer_timeout_ms;
    rill_trace_t *trace; //  NULL: not tracing
    bool no_diagnostics; //  no busy-time split, no hot keys (rill_env_set_diagnostics)
    int attempt;         //  the job's attempt: 0, then one more per restart
    rill_watermark_alignment_t *alignment; //  the job's alignment group, or NULL
    const rill_checkpointing_t *checkpointing; //  NULL: checkpoints off
    rill_checkpoint_ack_t ack; //  written before ACK is sent (rill_checkpointing.h)
    const rill_subtask_network_t *network; //  NULL: every channel is inproc
    //  One per input of the task's head, written at BIND (before OK): the tcp endpoint it
    //  listens on for senders in other processes ("" for none). NULL: not wanted.
    char (*bound)[RILL_ENDPOINT_MAX];
    //  Written by the actor before it sends ERROR or FAILED; the coordinator reads it after.
    char error[512];
} rill_subtask_args_t;

//  The actor function (a zactor_fn; the job runs it under zactor_new). args must outlive the
//  actor.
void rill_subtask_actor(zsock_t *pipe, void *args);

#endif
