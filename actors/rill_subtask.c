/*  rill_subtask.c: the loop that joins reader, operator and writer for one subtask. It polls
    its input sockets and its actor pipe, decodes batches, calls the operator per record, lets
    the writer route and batch the output, flushes on the buffer timeout, and when every input
    has ended, ends its own outputs and reports DONE. Counters go to the job's metrics slots. */
#include "rill_subtask.h"
#include "rill_clock.h"
#include "rill_time.h" //  an interval join's late outputs
#include "rill_operator_registry.h"
#include "rill_metrics_private.h"
#include "rill_tsan.h"
#include "rill_operator.h"
#include "rill_reader.h"
#include "rill_writer.h"
#include "rill_frame.h"
#include "rill_spill_queue.h"
#include "rill_subtask_iteration.h"
#include "rill_iterate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Frames taken from one input before looking at the others: keeps the inputs fair.
#define S_FRAMES_PER_TURN 4

typedef struct s_self_t self_t;

//  One operator of the chain this actor runs (a chain of one when nothing is chained). Records
//  pass from a member to the next by function call: the member's collector points at it.
typedef struct s_member_t s_member_t;
struct s_member_t {
    self_t *task;
    const rill_plan_subtask_t *subtask;
    const rill_plan_operator_t *op;
    rill_subtask_metrics_t *metrics; //  NULL when not counting
    rill_operator_t *operator;
    rill_collector_t collector;
    s_member_t *next;             //  the member it hands records to; NULL: the tail (writer)
    int link_edge;                //  the chained edge into next, or -1
    rill_channel_metrics_t *link; //  that edge's channel counters (NULL when not counting)
    //  Counted here, published with the others (the reader counts the head's input, the
    //  writer the tail's output).
    uint64_t records_in, bytes_in, records_out, bytes_out;
    int64_t watermark; //  input watermark (chained members; the reader keeps the head's)
    bool idle;         //  input idle (likewise)
    //  While a traced record passes: when this member first handed it on. A traced hop ends
    //  there, so the hops of a chain follow one another as they do across channels.
    uint64_t handed_at;
    //  Fault injection: records left until this member fails (0: never).
    uint64_t fail_in;
};

struct s_self_t {
    zsock_t *pipe;
    rill_subtask_args_t *args;
    s_member_t *members; //  the chain, head first
    int member_count;
    s_member_t *head, *tail;
    rill_reader_t *reader; //  the head's inputs
    rill_writer_t *writer; //  the tail's outputs
    s_member_t *failing;   //  the member whose call failed first (its error is the job's)
    uint64_t trace;        //  trace id of the record being handled (0: none)
    uint64_t emitted;      //  records the source emitted (tracing samples every n-th)
    uint64_t until_trace;  //  records left before the next sampled one
    bool sampling;         //  a source task of a traced job: counts down to samples
    bool terminated;       //  $TERM received: leave now
    bool cancelled;        //  CANCEL received: sources end their stream
    bool finished;         //  ran to the end: a checkpoint now saves the final state
    int64_t checkpoint_due; //  CHECKPOINT <id> received, not yet taken (0: none)
    int64_t checkpoint_taken; //  the latest checkpoint this task saved (0: none)
    bool stop_after_checkpoint; //  SAVEPOINT: a source produces nothing after that barrier
    bool holding;          //  a source past its savepoint barrier: waits for FINISH
    bool finishing;        //  FINISH received: stop without ending the outputs
    int64_t complete_due;   //  COMPLETE <id> received, not yet passed to the operators
    rill_buffer_t *snapshot; //  a member's state while it is written
    //  The task's time: one thread runs the whole chain, so each member shows the task's.
    uint64_t busy_ns, idle_ns;
    //  Where the busy time goes (rill_busy_split.h); split points at it when diagnostics are
    //  on, else NULL.
    rill_busy_split_t busy_split;
    rill_busy_split_t *split;
    //  An iteration head (rill_iterate.h; see s_run_iteration_head): its termination rounds,
    //  the input its feedback comes on, the feedback frames parked while its sends were
    //  blocked, the frames held back from a sender a round ahead, and whether it has ended
    //  its output (the loop is empty). NULL/-1/false for every other task.
    rill_iteration_rounds_t *rounds;
    int feedback_input;
    rill_spill_queue_t *parked;
    rill_spill_queue_t *held;
    bool loop_ended;
    bool replaying, replay_again; //  s_replay_held under way; and asked for again meanwhile
    char error[512]; //  same size as args->error, which it is copied to
};

//  Which member a failure belongs to: the first to fail is the deepest in the chain, since a
//  failed hand-over returns -1 through every member before it.
static int s_failed(s_member_t *member)
{
    if (!member->task->failing)
        member->task->failing = member;
    return -1;
}

static void s_set_trace(self_t *self, uint64_t trace)
{
    self->trace = trace;
    if (self->writer)
        rill_writer_set_trace(self->writer, trace);
}

//  When a traced record's hop through member ends: when it handed the record on, or now.
static uint64_t s_hop_end(s_member_t *member)
{
    uint64_t end = member->handed_at ? member->handed_at : rill_clock_ns();
    member->handed_at = 0;
    return end;
}

//  Fault injection (rill_checkpointing.h): 1 when member is to fail on this record.
static int s_inject(s_member_t *member)
{
    if (--member->fail_in)
        return 0;
    snprintf(member->operator->error, sizeof member->operator->error,
             "injected failure (RILL_FAIL) at record %llu",
             (unsigned long long)member->task->args->checkpointing->fail_after);
    return 1;
}

//  Hands a record to the next member of the chain: a function call, no frame, no copy.
static int s_hand_over(s_member_t *member, const rill_record_t *record)
{
    s_member_t *next = member->next;
    self_t *self = member->task;
    if (next->fail_in && s_inject(next))
        return s_failed(next);
    member->records_out++;
    member->bytes_out += record->size;
    next->records_in++;
    next->bytes_in += record->size;
    next->idle = false; //  a record makes an idle input active again (as the reader does)
    uint64_t arrived = self->trace ? rill_clock_ns() : 0;
    if (arrived && !member->handed_at)
        member->handed_at = arrived;
    uint64_t trace = self->trace;
    int rc = next->operator->vtable->on_record(next->operator, record, 0, &next->collector);
    if (arrived && self->args->trace)
        rill_trace_hop(self->args->trace, trace, next->subtask->id, member->subtask->id,
                       member->link_edge, arrived, s_hop_end(next));
    return rc ? s_failed(next) : 0;
}

//  A source's records: one in `sample` starts a trace when tracing is on.
static int s_emit_traced(s_member_t *member, const rill_record_t *record)
{
    self_t *self = member->task;
    rill_trace_t *trace = self->args->trace;
    self->emitted++;
    //  A countdown, not a division per record: sampling must cost next to nothing.
    if (--self->until_trace != 0)
        return member->next ? s_hand_over(member, record) : rill_writer_emit(self->writer, record);
    self->until_trace = rill_trace_sample(trace);
    uint64_t id = rill_trace_id(member->subtask->id, self->emitted);
    uint64_t made = rill_clock_ns();
    s_set_trace(self, id);
    int rc = member->next ? s_hand_over(member, record) : rill_writer_emit(self->writer, record);
    s_set_trace(self, 0);
    rill_trace_hop(trace, id, member->subtask->id, -1, -1, made, s_hop_end(member));
    return rc;
}

static int s_emit(void *target, const rill_record_t *record)
{
    s_member_t *member = target;
    self_t *self = member->task;
    //  What happens downstream of an emit is not the emitting user function's time. (The
    //  task's own split is read even when diagnostics are off: nothing ever opens it then, and
    //  one test per record is cheaper than two.)
    uint64_t paused = rill_busy_split_pause(&self->busy_split);
    int rc;
    if (self->sampling && member == self->head)
        rc = s_emit_traced(member, record);
    else if (member->next)
        rc = s_hand_over(member, record);
    else //  sinks have no outputs
        rc = self->writer ? rill_writer_emit(self->writer, record) : -1;
    rill_busy_split_resume(&self->busy_split, paused);
    return rc;
}

//  Side outputs are never chained (a chained edge is its sender's only, main, output), so
//  inside a chain a tagged record has no edge to go to, as the writer drops one that has none.
static int s_emit_tagged(void *target, int tag, const rill_record_t *record)
{
    s_member_t *member = target;
    //  A record too late for every window, or for an interval join: counted whether a late
    //  stream takes it or not.
    const rill_operator_spec_t *spec = member->operator->spec;
    bool late = (tag == RILL_OUTPUT_LATE && member->op->kind == RILL_OP_WINDOW) ||
                (spec->join && (tag == RILL_JOIN_LATE_LEFT || tag == RILL_JOIN_LATE_RIGHT));
    if (late && member->metrics)
        RILL_COUNTER_ADD(member->metrics->late_records, 1);
    if (member->next)
        return 0;
    self_t *self = member->task;
    uint64_t paused = rill_busy_split_pause(&self->busy_split); //  as s_emit
    int rc = self->writer ? rill_writer_emit_tagged(self->writer, tag, record) : -1;
    rill_busy_split_resume(&self->busy_split, paused);
    return rc;
}

static int s_member_input_watermark(s_member_t *member, int64_t watermark, bool idle);

//  A member's output watermark and idleness: the next member's input, or the writer's.
//  What the counters show of a member's event time: the latest watermark it saw or made.
static void s_count_watermark(s_member_t *member, int64_t watermark, bool idle)
{
    if (!member->metrics)
        return;
    if (watermark != INT64_MIN) {
        __atomic_store_n(&member->metrics->watermark, watermark, __ATOMIC_RELAXED);
        __atomic_store_n(&member->metrics->watermark_seen, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&member->metrics->input_idle, idle ? 1 : 0, __ATOMIC_RELAXED);
}

static int s_out_watermark(s_member_t *member, int64_t watermark)
{
    if (watermark > member->watermark || member->op->kind == RILL_OP_TIMESTAMPS ||
        rill_op_kind_is_source(member->op->kind))
        s_count_watermark(member, watermark, false);
    if (member->next)
        return s_member_input_watermark(member->next, watermark, false);
    return member->task->writer ? rill_writer_watermark(member->task->writer, watermark) : 0;
}

static int s_out_idle(s_member_t *member)
{
    if (member->next)
        return s_member_input_watermark(member->next, member->next->watermark, true);
    return member->task->writer ? rill_writer_idle(member->task->writer) : 0;
}

static int s_emit_watermark(void *target, int64_t watermark)
{
    return s_out_watermark(target, watermark);
}

static int s_emit_idle(void *target)
{
    return s_out_idle(target);
}

//  The member's input watermark advanced, or its input went idle or active: let the operator
//  act on it (windows fire, timers run), then pass it on. Going idle passes on the watermark
//  first, then the idleness (Flink's StatusWatermarkValve: the highest watermark of the idle
//  inputs, then the idle status), so receivers downstream can advance too. A timestamp
//  assigner makes its own watermarks instead, so it passes on nothing.
static int s_on_watermark(s_member_t *member, int64_t watermark, bool idle)
{
    s_count_watermark(member, watermark, idle);
    const rill_operator_vtable_t *vtable = member->operator->vtable;
    if (vtable->on_watermark &&
        vtable->on_watermark(member->operator, watermark, &member->collector))
        return s_failed(member);
    if (member->op->kind == RILL_OP_TIMESTAMPS)
        return 0;
    //  A receiver ignores a watermark that does not advance its channel, so sending the same
    //  one again costs a few bytes and nothing else.
    if (!(idle && watermark == INT64_MIN) && s_out_watermark(member, watermark))
        return s_failed(member);
    if (idle && s_out_idle(member))
        return s_failed(member);
    return 0;
}

//  A chained member's input: what its predecessor in the thread passed on. Only an advance, or
//  a change of idleness, reaches the operator (as the reader does for the head).
static int s_member_input_watermark(s_member_t *member, int64_t watermark, bool idle)
{
    bool advanced = watermark > member->watermark;
    if (advanced)
        member->watermark = watermark;
    if (!advanced && idle == member->idle)
        return 0;
    member->idle = idle;
    return s_on_watermark(member, member->watermark, idle);
}

//  Reads one command from the pipe; handles CANCEL and $TERM, returns the others (or NULL).
static char *s_handle_pipe(self_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command) {
        //  A signal (EINTR) is the coordinator's business; anything else means the pipe is gone.
        if (zmq_errno() != EINTR)
            self->terminated = true;
        return NULL;
    }
    long long checkpoint = 0;
    if (streq(command, "$TERM"))
        self->terminated = true;
    else if (streq(command, "CANCEL"))
        self->cancelled = true;
    else if (sscanf(command, "CHECKPOINT %lld", &checkpoint) == 1 && checkpoint > 0)
        //  Taken where the task is between records (the loops look), never in here: this
        //  also runs inside a blocked send, in the middle of an emit.
        self->checkpoint_due = checkpoint;
    else if (sscanf(command, "SAVEPOINT %lld", &checkpoint) == 1 && checkpoint > 0) {
        //  Stop with a savepoint (Flink's stop without drain): the barrier, then nothing more
        //  from this source; once the savepoint completes the job is told to FINISH.
        self->checkpoint_due = checkpoint;
        self->stop_after_checkpoint = true;
    } else if (streq(command, "FINISH"))
        //  After a savepoint: stop where the task is, with no END downstream, so no window
        //  fires and no sink commits what came after the savepoint.
        self->finishing = true; else if (sscanf(command, "COMPLETE %lld", &checkpoint) == 1 && checkpoint > 0) {
        if (checkpoint > self->complete_due)
            self->complete_due = checkpoint;
    }
    else
        return command;
    zstr_free(&command);
    return NULL;
}

static int s_park_feedback(self_t *self);

//  Called by the writer while a send is blocked on a full channel. An iteration head takes
//  its feedback meanwhile (parked, read later in order): that is what keeps a loop from
//  deadlocking.
static int s_blocked(void *ctx)
{
    self_t *self = ctx;
    if (self->parked && s_park_feedback(self))
        return -1;
    while (!self->terminated && zsock_events(self->pipe) & ZMQ_POLLIN) {
        char *other = s_handle_pipe(self);
        zstr_free(&other);
    }
    return self->terminated ? -1 : 0;
}

static self_t *s_self_new(zsock_t *pipe, rill_subtask_args_t *args)
{
    //  The job passes the head subtask of a task of the plan it deploys.
    assert(pipe && args && args->plan && args->subtask >= 0 &&
           args->subtask < rill_plan_subtask_count(args->plan) &&
           rill_plan_subtask(args->plan, args->subtask)->task == args->subtask);
    const rill_plan_t *plan = args->plan;
    self_t *self = calloc(1, sizeof(self_t));
    if (!self)
        return NULL;
    self->pipe = pipe;
    self->args = args;
    const rill_plan_subtask_t *head = rill_plan_subtask(plan, args->subtask);
    for (int op = head->op; op >= 0; op = rill_plan_operator(plan, op)->chain_next)
        self->member_count++;
    self->members = calloc((size_t)self->member_count, sizeof(s_member_t));
    if (!self->members) {
        free(self);
        return NULL;
    }
    int k = 0;
    for (int op = head->op; op >= 0; op = rill_plan_operator(plan, op)->chain_next, k++) {
        s_member_t *member = &self->members[k];
        member->task = self;
        member->op = rill_plan_operator(plan, op);
        member->subtask = rill_plan_subtask(plan, member->op->first_subtask + head->index);
        member->metrics =
            args->metrics ? rill_metrics_subtask_slot(args->metrics, member->subtask->id) : NULL;
        member->next = member->op->chain_next >= 0 ? &self->members[k + 1] : NULL;
        member->link_edge = member->next ? rill_plan_output_edge(plan, op, 0) : -1;
        if (member->next && args->metrics) {
            //  A forward edge's channels are in sender order, one per sender.
            const rill_plan_edge_t *link = rill_plan_edge(plan, member->link_edge);
            member->link = rill_metrics_channel_slot(args->metrics, link->first_channel + head->index);
        }
        member->watermark = INT64_MIN;
        member->collector = (rill_collector_t){.emit = s_emit,
                                               .emit_tagged = s_emit_tagged,
                                               .watermark = s_emit_watermark,
                                               .idle = s_emit_idle,
                                               .target = member,
                                               .subtask = head->index,
                                               .parallelism = member->op->parallelism};
    }
    self->head = &self->members[0];
    self->tail = &self->members[self->member_count - 1];
    self->until_trace = args->trace ? rill_trace_sample(args->trace) : 0;
    rill_busy_split_init(&self->busy_split, (uint64_t)head->id);
    self->split = args->metrics && !args->no_diagnostics ? &self->busy_split : NULL;
    self->sampling = args->trace && rill_op_kind_is_source(self->head->op->kind);
    return self;
}

static void s_self_destroy(self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    for (int k = 0; k < self->member_count; k++)
        rill_operator_destroy(&self->members[k].operator);
    free(self->members);
    rill_reader_destroy(&self->reader);
    rill_writer_destroy(&self->writer);
    rill_iteration_rounds_destroy(&self->rounds);
    rill_spill_queue_destroy(&self->parked);
    rill_spill_queue_destroy(&self->held);
    rill_buffer_destroy(&self->snapshot);
    free(self);
    *self_p = NULL;
}

//  Prefixes a message with the operator and subtask it concerns: users see this text.
static void s_set_error(self_t *self, const s_member_t *member, const char *why)
{
    snprintf(self->error, sizeof self->error, "operator '%s' subtask %d/%d: %s", member->op->name,
             member->subtask->index + 1, member->op->parallelism, why);
}

//  The error behind a failed call: the member that failed first, in its writer's words
//  (routing, sending) when it is the tail and the writer failed, else in its operator's.
static void s_set_operator_error(self_t *self)
{
    s_member_t *member = self->failing ? self->failing : self->tail;
    const char *why = member == self->tail && self->writer && *rill_writer_error(self->writer)
                          ? rill_writer_error(self->writer)
                          : member->operator && *member->operator->error ? member->operator->error
                                                                         : "failed";
    s_set_error(self, member, why);
}

//  Sends a short reply to the coordinator, allocating nothing.
static void s_reply(self_t *self, const char *what, int64_t checkpoint)
{
    char message[48];
    int length = snprintf(message, sizeof message, "%s %lld", what, (long long)checkpoint);
    zmq_send(zsock_resolve(self->pipe), message, (size_t)length, 0);
}

//  Takes checkpoint `checkpoint`: every member's state is that of all the records before the
//  barrier (the chain hands records over synchronously, so nothing is in flight inside it);
//  then the barrier goes on every output (when running: a finished task has ended them),
//  and the coordinator gets ACK. 0, or -1 with self->error set (the task fails).
static int s_take_checkpoint(self_t *self, int64_t checkpoint, uint64_t aligned_ns)
{
    const rill_checkpointing_t *cp = self->args->checkpointing;
    if (checkpoint <= self->checkpoint_taken) {
        //  Asked again (a finished task is asked once more in case its barrier never came):
        //  its state for that checkpoint is written; say so again, write nothing twice.
        s_reply(self, "ACK", checkpoint);
        return 0;
    }
    self->checkpoint_taken = checkpoint;
    uint64_t start = rill_clock_ns(), bytes = 0;
    //  The barrier first, as Flink forwards it before snapshotting: downstream starts its
    //  alignment while this task writes.
    if (self->writer && !self->finished && rill_writer_barrier(self->writer, checkpoint)) {
        s_set_operator_error(self);
        return -1;
    }
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        rill_buffer_reset(self->snapshot);
        if (vtable->snapshot && vtable->snapshot(member->operator, checkpoint, self->snapshot)) {
            s_failed(member);
            s_set_operator_error(self);
            return -1;
        }
        char why[256] = "";
        size_t size = rill_buffer_size(self->snapshot);
        if (cp->write_state(cp->ctx, checkpoint, member->subtask->id,
                            rill_buffer_data(self->snapshot), size, why, sizeof why)) {
            //  The checkpoint fails, not the job (a full disk, or a checkpoint the
            //  coordinator already gave up and removed): the next one may succeed.
            s_reply(self, "DECLINE", checkpoint);
            return 0;
        }
        bytes += size;
        if (member->metrics)
            __atomic_store_n(&member->metrics->checkpoint_bytes, (uint64_t)size,
                             __ATOMIC_RELAXED);
    }
    self->args->ack = (rill_checkpoint_ack_t){checkpoint, aligned_ns, rill_clock_ns() - start,
                                              bytes, (uint64_t)rill_clock_wall_ms()};
    for (int k = 0; k < self->member_count; k++) {
        rill_subtask_metrics_t *slot = self->members[k].metrics;
        if (!slot)
            continue;
        __atomic_store_n(&slot->checkpoint, (uint64_t)checkpoint, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->checkpoint_alignment_ns, aligned_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->checkpoint_sync_ns, self->args->ack.sync_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->checkpoint_acked_ms, self->args->ack.acked_at_ms,
                         __ATOMIC_RELAXED);
    }
    RILL_TSAN_RELEASE(&self->args->ack); //  the pipe hands it over (see rill_tsan.h)
    s_reply(self, "ACK", checkpoint);
    return 0;
}

//  Tells every member that checkpoint `complete_due` is complete (a sink commits what it
//  staged for it). 0, or -1 with self->error set.
static int s_complete_if_due(self_t *self)
{
    int64_t checkpoint = self->complete_due;
    if (!checkpoint)
        return 0;
    self->complete_due = 0;
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        if (vtable->checkpoint_complete &&
            vtable->checkpoint_complete(member->operator, checkpoint)) {
            s_failed(member);
            s_set_operator_error(self);
            return -1;
        }
    }
    return 0;
}

//  A due CHECKPOINT (or SAVEPOINT) command (sources, finished tasks), taken now; then any
//  due completion. 0 or -1.
static int s_checkpoint_if_due(self_t *self)
{
    int64_t checkpoint = self->checkpoint_due;
    if (checkpoint && self->args->checkpointing) {
        self->checkpoint_due = 0;
        if (s_take_checkpoint(self, checkpoint, 0))
            return -1;
        if (self->stop_after_checkpoint)
            self->holding = true;
    }
    return s_complete_if_due(self);
}

//  The reader aligned a barrier (or gave up aligning it).
static int s_on_barrier(void *ctx, int64_t checkpoint, bool declined, uint64_t aligned_ns)
{
    self_t *self = ctx;
    if (!self->args->checkpointing)
        return 0;
    if (!declined)
        return s_take_checkpoint(self, checkpoint, aligned_ns);
    //  Still in band: downstream aligns it and the coordinator discards the checkpoint.
    if (self->writer && rill_writer_barrier(self->writer, checkpoint)) {
        s_set_operator_error(self);
        return -1;
    }
    s_reply(self, "DECLINE", checkpoint);
    return 0;
}

//  Restores every member from the job's restore point, if it has one. 0, or -1.
static int s_restore(self_t *self)
{
    const rill_checkpointing_t *cp = self->args->checkpointing;
    for (int k = 0; cp && cp->restore && k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        char why[256] = "";
        rill_state_reader_t *state = cp->restore(cp->ctx, member->subtask->id, why, sizeof why);
        if (!state) {
            if (!*why)
                continue;
            s_set_error(self, member, why);
            return -1;
        }
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        int rc = 0;
        if (vtable->restore)
            rc = vtable->restore(member->operator, state);
        else {
            rill_state_entry_t entry;
            if (rill_state_reader_next(state, &entry) != 0) {
                snprintf(member->operator->error, sizeof member->operator->error,
                         "the checkpoint holds state for this operator, which keeps none");
                rc = -1;
            }
        }
        rill_state_reader_destroy(&state);
        if (rc) {
            s_set_error(self, member,
                        *member->operator->error ? member->operator->error : "restore failed");
            return -1;
        }
    }
    return 0;
}

static int s_on_input_watermark(void *ctx, int64_t watermark, bool idle);

static int s_setup_iteration(self_t *self);

static int s_handle_bind(self_t *self)
{
    char why[256] = "";
    const rill_plan_t *plan = self->args->plan;
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        member->operator = rill_operator_new(plan, member->op->id, member->subtask->index, why,
                                             sizeof why);
        if (!member->operator) {
            s_set_error(self, member, why);
            return -1;
        }
        int aligned = self->args->alignment ? rill_watermark_alignment_member(
                                                  self->args->alignment, member->subtask->id)
                                            : -1;
        if (aligned >= 0) {
            member->operator->alignment = self->args->alignment;
            member->operator->alignment_member = aligned;
        }
        const rill_checkpointing_t *cp = self->args->checkpointing;
        if (cp && cp->fail_subtask == member->subtask->id)
            member->fail_in = cp->fail_after;
        member->operator->checkpointing = cp && cp->taking;
        member->operator->busy_split = self->split;
    }
    self->snapshot = rill_buffer_new();
    if (!self->snapshot) {
        s_set_error(self, self->head, "out of memory");
        return -1;
    }
    if (s_restore(self))
        return -1;
    for (int k = 0; k < self->member_count; k++)
        if (rill_operator_open_user(self->members[k].operator, self->args->attempt,
                                    self->args->metrics)) {
            s_failed(&self->members[k]);
            s_set_operator_error(self);
            return -1;
        }
    self->reader = rill_reader_new(plan, self->head->subtask->id, self->args->metrics);
    if (self->tail->op->output_count)
        self->writer = rill_writer_new(plan, self->tail->subtask->id, self->args->metrics,
                                       self->args->batch_size, self->args->buffer_timeout_ms,
                                       s_blocked, self);
    if (!self->reader || (self->tail->op->output_count && !self->writer)) {
        s_set_error(self, self->head, "out of memory");
        return -1;
    }
    if (self->writer && self->args->trace)
        rill_writer_set_tracer(self->writer, self->args->trace);
    rill_reader_on_watermark(self->reader, s_on_input_watermark, self);
    rill_reader_set_busy_split(self->reader, self->split);
    if (self->writer)
        rill_writer_set_diagnostics(self->writer, self->split);
    const rill_subtask_network_t *net = self->args->network;
    if (net) {
        rill_reader_set_network(self->reader, net->host, net->security, net->token);
        if (self->writer)
            rill_writer_set_network(self->writer, net->host, net->security, net->token);
    }
    if (self->args->checkpointing)
        rill_reader_on_barrier(self->reader, s_on_barrier, self,
                               self->args->checkpointing->alignment_bound);
    if (s_setup_iteration(self))
        return -1;
    if (rill_reader_bind(self->reader)) {
        s_set_error(self, self->head, rill_reader_error(self->reader));
        return -1;
    }
    //  Where the tcp inputs listen, for the job to tell the senders in other processes.
    for (int i = 0; self->args->bound && i < self->head->op->input_count; i++)
        snprintf(self->args->bound[i], RILL_ENDPOINT_MAX, "%s",
                 rill_reader_tcp_endpoint(self->reader, i));
    return 0;
}

//  The head's input watermark, combined over its channels by the reader.
static int s_on_input_watermark(void *ctx, int64_t watermark, bool idle)
{
    self_t *self = ctx;
    //  Event time does not cross a loop: an iteration head's watermark would wait for its
    //  feedback's END, which comes after the head has ended its output (rill_iterate.h).
    if (self->rounds)
        return 0;
    self->head->watermark = watermark;
    self->head->idle = idle;
    if (s_on_watermark(self->head, watermark, idle)) {
        s_set_operator_error(self);
        return -1;
    }
    return 0;
}

//  Runs each member's clock-driven work when it is due. 0, or -1 with self->error set.
static int s_tick(self_t *self)
{
    int64_t now = INT64_MIN;
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        if (!vtable->on_tick)
            continue;
        if (now == INT64_MIN)
            now = rill_clock_wall_ms();
        if (now < vtable->next_tick(member->operator))
            continue;
        if (vtable->on_tick(member->operator, now, &member->collector)) {
            s_failed(member);
            s_set_operator_error(self);
            return -1;
        }
    }
    return 0;
}

//  How long the loop may sleep: until a batch is due or a member's next tick.
static long s_poll_timeout(self_t *self, uint64_t now_ns)
{
    long timeout = self->writer ? rill_writer_due_in_ms(self->writer, now_ns) : -1;
    for (int k = 0; k < self->member_count; k++) {
        const rill_operator_vtable_t *vtable = self->members[k].operator->vtable;
        if (!vtable->next_tick)
            continue;
        int64_t next = vtable->next_tick(self->members[k].operator);
        if (next != INT64_MAX) {
            int64_t wait = next - rill_clock_wall_ms();
            long tick = wait < 0 ? 0 : wait > 1000 ? 1000 : (long)wait;
            if (timeout < 0 || tick < timeout)
                timeout = tick;
        }
    }
    return timeout;
}

//  1 while some member wants no input now (watermark alignment), 0 to go on, -1 on error.
static int s_paused(self_t *self)
{
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        int paused = vtable->pause_input
                         ? vtable->pause_input(member->operator, &member->collector)
                         : 0;
        if (paused < 0) {
            s_failed(member);
            s_set_operator_error(self);
            return -1;
        }
        if (paused)
            return 1;
    }
    return 0;
}

static int s_handle_connect(self_t *self)
{
    if (self->writer && rill_writer_connect(self->writer)) {
        s_set_error(self, self->tail, rill_writer_error(self->writer));
        return -1;
    }
    return 0;
}

static int s_on_record(void *ctx, const rill_record_t *record, int input, int sender,
                       uint64_t trace, const rill_key_hint_t *key)
{
    self_t *self = ctx;
    s_member_t *head = self->head;
    uint64_t arrived = 0;
    if (head->fail_in && s_inject(head)) {
        s_failed(head);
        s_set_operator_error(self);
        return -1;
    }
    if (trace) {
        //  What the chain emits while handling a traced record carries the trace on.
        arrived = rill_clock_ns();
        s_set_trace(self, trace);
    }
    //  The key the record carried over a hash edge, for the head if it is keyed (for this
    //  call only: what the chain hands on to its next members carries none).
    head->operator->input_key = key;
    if (self->rounds && input == self->feedback_input) {
        if (self->loop_ended) {
            snprintf(head->operator->error, sizeof head->operator->error,
                     "a record came back on the feedback edge after the loop ended");
            s_failed(head);
            s_set_operator_error(self);
            return -1;
        }
        rill_iteration_rounds_record(self->rounds, sender);
    }
    int rc = head->operator->vtable->on_record(head->operator, record, input, &head->collector);
    head->operator->input_key = NULL;
    if (trace) {
        s_set_trace(self, 0);
        if (self->args->trace) {
            const rill_plan_t *plan = self->args->plan;
            int edge = rill_plan_input_edge(plan, head->op->id, input);
            int from = rill_plan_operator(plan, rill_plan_edge(plan, edge)->from)->first_subtask +
                       sender;
            rill_trace_hop(self->args->trace, trace, head->subtask->id, from, edge, arrived,
                           s_hop_end(head));
        }
    }
    if (rc) {
        s_failed(head);
        s_set_operator_error(self);
        return -1;
    }
    return 0;
}

//  Publishes what the members counted themselves, and the task's time on every member.
static void s_publish(self_t *self)
{
    if (!self->args->metrics)
        return;
    uint64_t backpressure =
        self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns) : 0;
    //  The parts of busy time, bounded by it: the user share is an estimate, and time spent
    //  outside the accounted loops (ending the chain) is in the parts but not in busy.
    uint64_t zmq = self->busy_split.zmq_ns < self->busy_ns ? self->busy_split.zmq_ns
                                                           : self->busy_ns;
    uint64_t user = self->busy_split.user_ns < self->busy_ns - zmq ? self->busy_split.user_ns
                                                                   : self->busy_ns - zmq;
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        rill_subtask_metrics_t *slot = member->metrics;
        if (member != self->head) {
            __atomic_store_n(&slot->records_in, member->records_in, __ATOMIC_RELAXED);
            __atomic_store_n(&slot->bytes_in, member->bytes_in, __ATOMIC_RELAXED);
        }
        if (member->next) {
            __atomic_store_n(&slot->records_out, member->records_out, __ATOMIC_RELAXED);
            __atomic_store_n(&slot->bytes_out, member->bytes_out, __ATOMIC_RELAXED);
            __atomic_store_n(&member->link->records, member->records_out, __ATOMIC_RELAXED);
            __atomic_store_n(&member->link->records_received, member->records_out,
                             __ATOMIC_RELAXED);
            __atomic_store_n(&member->link->bytes, member->bytes_out, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&slot->busy_ns, self->busy_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->idle_ns, self->idle_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->user_ns, user, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->zmq_ns, zmq, __ATOMIC_RELAXED);
        if (member != self->tail)
            __atomic_store_n(&slot->backpressure_ns, backpressure, __ATOMIC_RELAXED);
    }
}

//  The task's busy time between two readings of the clock: what was not spent blocked on a
//  send (the writer counts that on the tail's slot).
static void s_account_busy(self_t *self, uint64_t since, uint64_t now, uint64_t *blocked)
{
    if (!self->args->metrics)
        return;
    uint64_t total = self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns)
                                         : 0;
    uint64_t waited = total - *blocked;
    uint64_t spent = now - since;
    self->busy_ns += spent > waited ? spent - waited : 0;
    *blocked = total;
    s_publish(self);
}

//  Waits on the pipe while a member holds the input back (watermark alignment), running
//  ticks and due flushes. 0, or -1 with self->error set.
static int s_wait_paused(self_t *self)
{
    uint64_t before = rill_clock_ns();
    zmq_pollitem_t item = {zsock_resolve(self->pipe), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, s_poll_timeout(self, before)) < 0 && zmq_errno() != EINTR) {
        s_set_error(self, self->head, zmq_strerror(zmq_errno()));
        return -1;
    }
    self->idle_ns += rill_clock_ns() - before;
    if (item.revents & ZMQ_POLLIN) {
        char *other = s_handle_pipe(self);
        zstr_free(&other);
    }
    return 0;
}

//  A source heads the chain: produce chunks until the end, a cancel, or $TERM.
static int s_run_source(self_t *self)
{
    s_member_t *head = self->head;
    uint64_t last = rill_clock_ns();
    uint64_t blocked =
        self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns) : 0;
    while (!self->cancelled && !self->finishing) {
        while (zsock_events(self->pipe) & ZMQ_POLLIN) {
            char *other = s_handle_pipe(self);
            zstr_free(&other);
        }
        if (self->terminated || self->cancelled || self->finishing)
            break;
        //  Between two chunks: the source's position is exact here.
        if (s_checkpoint_if_due(self))
            return -1;
        if (self->holding) {
            //  Past the savepoint's barrier: nothing more until FINISH (or $TERM).
            if (s_wait_paused(self))
                return -1;
            continue;
        }
        //  A chained timestamp assigner may hold the source back (watermark alignment).
        int paused = self->member_count > 1 ? s_paused(self) : 0;
        if (paused < 0)
            return -1;
        int rc = RILL_SOURCE_MORE;
        if (paused) {
            if (s_wait_paused(self))
                return -1;
            last = rill_clock_ns();
        } else {
            rc = head->operator->vtable->produce(head->operator, &head->collector);
            if (rc < 0) {
                if (!self->terminated) {
                    s_failed(self->failing ? self->failing : head);
                    s_set_operator_error(self);
                }
                return -1;
            }
        }
        if (s_tick(self))
            return -1;
        uint64_t now = rill_clock_ns();
        if (self->writer && rill_writer_flush_if_due(self->writer, now)) {
            s_set_operator_error(self);
            return -1;
        }
        s_account_busy(self, last, now, &blocked);
        last = now;
        if (rc == RILL_SOURCE_END)
            break;
    }
    return 0;
}

//  Everything else: poll inputs and the pipe until every input channel has ended.
static int s_run_inputs(self_t *self)
{
    int inputs = rill_reader_socket_count(self->reader);
    zmq_pollitem_t *items = calloc((size_t)inputs + 1, sizeof(zmq_pollitem_t));
    int *which = calloc((size_t)inputs + 1, sizeof(int));
    int rc = -1;
    if (!items || !which) {
        s_set_error(self, self->head, "out of memory");
        goto cleanup;
    }
    uint64_t blocked =
        self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns) : 0;
    while (!self->terminated && !self->finishing && !rill_reader_finished(self->reader)) {
        //  A paused chain (watermark alignment) reads nothing: its inputs fill up and
        //  backpressure its senders; the pipe and its next tick still wake it.
        int paused = s_paused(self);
        if (paused < 0)
            goto cleanup;
        int count = 0;
        items[count++] = (zmq_pollitem_t){zsock_resolve(self->pipe), 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < inputs && !paused; i++)
            if (!rill_reader_input_finished(self->reader, i)) {
                which[count] = i;
                items[count++] =
                    (zmq_pollitem_t){rill_reader_handle(self->reader, i), 0, ZMQ_POLLIN, 0};
            }
        uint64_t before = rill_clock_ns();
        long timeout = s_poll_timeout(self, before);
        if (zmq_poll(items, count, timeout) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            s_set_error(self, self->head, zmq_strerror(zmq_errno()));
            goto cleanup;
        }
        uint64_t woke = rill_clock_ns();
        self->idle_ns += woke - before;
        if (items[0].revents & ZMQ_POLLIN) {
            char *other = s_handle_pipe(self);
            zstr_free(&other);
            if (self->terminated)
                break;
        }
        if (s_complete_if_due(self))
            goto cleanup;
        for (int k = 1; k < count; k++)
            if ((items[k].revents & ZMQ_POLLIN) &&
                rill_reader_receive(self->reader, which[k], S_FRAMES_PER_TURN, s_on_record,
                                    self) < 0) {
                if (!*self->error)
                    s_set_error(self, self->head, rill_reader_error(self->reader));
                goto cleanup;
            }
        if (s_tick(self))
            goto cleanup;
        uint64_t now = rill_clock_ns();
        if (self->writer && rill_writer_flush_if_due(self->writer, now)) {
            s_set_operator_error(self);
            goto cleanup;
        }
        s_account_busy(self, woke, now, &blocked);
    }
    rc = 0;
cleanup:
    free(items);
    free(which);
    return rc;
}

/*  Iterations (rill_iterate.h). A task inside a loop forwards each probe once aligned on its
    inputs; an iteration head runs s_run_iteration_head instead of s_run_inputs, with its
    termination rounds kept by rill_subtask_iteration.c (the soundness argument is there).

    Backpressure cannot deadlock a loop: a cycle of full channels needs every subtask on it
    blocked in a send, and the head never stays blocked without taking its feedback. While
    its send into the body waits (the writer calls s_blocked every few milliseconds), the
    head moves every frame waiting on its feedback input into a parked queue, unread; that
    queue keeps RILL_ITERATION_DEFAULT_MEMORY bytes (or the iteration's own bound) in memory
    and spills the rest to a temporary file,
    so memory stays bounded however much the loop multiplies. The tail can always send, the
    body drains, and the head's send goes through. Parked frames are decoded before anything
    newer from the feedback and before the loop's input is read again, so order per channel
    holds (the probes depend on it). */

//  How long a head's blocked send waits before it takes its feedback again (ms).
#define S_HEAD_SEND_TIMEOUT_MS 2

//  A probe aligned on every input of a task inside a loop: it goes on after the records.
static int s_on_body_probe(void *ctx, int input, int sender, int64_t round, uint64_t count)
{
    self_t *self = ctx;
    (void)input;
    (void)sender;
    if (self->writer && rill_writer_probe(self->writer, round, count)) {
        s_set_operator_error(self);
        return -1;
    }
    return 0;
}

static int s_feedback_frame(self_t *self, const void *data, size_t size);

//  Decodes the frames held back from senders a round ahead, now that the head has caught up
//  (as many as there are now: one whose sender is ahead again goes back behind them).
static int s_replay_held(self_t *self)
{
    //  Not from inside a replay (a frame being replayed lives in the queue's buffer): the
    //  replay under way goes round once more instead.
    if (self->replaying) {
        self->replay_again = true;
        return 0;
    }
    self->replaying = true;
    int rc = 0;
    do {
        self->replay_again = false;
        size_t count = rill_spill_queue_size(self->held);
        for (size_t i = 0; i < count && rc == 0; i++) {
            int tag;
            const void *data;
            size_t size;
            if (rill_spill_queue_pop(self->held, &tag, &data, &size) != 1) {
                s_set_error(self, self->head, "cannot read back held feedback (temporary file)");
                rc = -1;
            } else
                rc = s_feedback_frame(self, data, size);
        }
    } while (rc == 0 && self->replay_again);
    self->replaying = false;
    return rc;
}

//  Sends probe `round` into the body, then decodes what waited for it.
static int s_send_probe(self_t *self, int64_t round, uint64_t count)
{
    if (rill_writer_probe(self->writer, round, count)) {
        s_set_operator_error(self);
        return -1;
    }
    return s_replay_held(self);
}

//  A probe came back on the feedback edge (unaligned: the rounds count per sender).
static int s_on_head_probe(void *ctx, int input, int sender, int64_t probe_round,
                           uint64_t count)
{
    self_t *self = ctx;
    (void)input;
    int64_t round = 0;
    uint64_t next = 0;
    int step =
        rill_iteration_rounds_probe(self->rounds, sender, probe_round, count, &round, &next);
    if (step < 0) {
        s_set_error(self, self->head, "an iteration probe out of order on the feedback edge");
        return -1;
    }
    if (step == RILL_ROUNDS_NEXT)
        return s_send_probe(self, round, next);
    if (step == RILL_ROUNDS_DONE) {
        //  The loop is empty: END into the body; the task ends once the feedback ends too.
        self->loop_ended = true;
        if (rill_writer_end(self->writer)) {
            s_set_operator_error(self);
            return -1;
        }
    }
    return 0;
}

//  One frame from the feedback edge, in the order it came: held back while its sender is a
//  round ahead, else decoded (records go into the body, probes to s_on_head_probe).
static int s_feedback_frame(self_t *self, const void *data, size_t size)
{
    rill_frame_header_t header;
    if (rill_frame_header_get(data, size, &header) == 0 &&
        rill_iteration_rounds_ahead(self->rounds, header.sender)) {
        if (rill_spill_queue_push(self->held, self->feedback_input, data, size)) {
            s_set_error(self, self->head, "cannot hold feedback back (out of memory or disk)");
            return -1;
        }
        return 0;
    }
    if (rill_reader_decode(self->reader, self->feedback_input, data, size, s_on_record, self)) {
        if (!*self->error)
            s_set_error(self, self->head, rill_reader_error(self->reader));
        return -1;
    }
    return 0;
}

//  Takes up to max frames waiting on the feedback input: decoded at once while nothing is
//  parked, else parked behind what is. 0 or -1.
static int s_take_feedback(self_t *self, int max, bool park)
{
    void *socket = rill_reader_handle(self->reader, self->feedback_input);
    for (int n = 0; n < max && !rill_reader_input_finished(self->reader, self->feedback_input);
         n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            if (zmq_errno() == EAGAIN || zmq_errno() == EINTR)
                return 0;
            s_set_error(self, self->head, zmq_strerror(zmq_errno()));
            return -1;
        }
        RILL_TSAN_ACQUIRE(zmq_msg_data(&msg)); //  the writer's release before sending it
        int rc;
        if (park || rill_spill_queue_size(self->parked) > 0) {
            rc = rill_spill_queue_push(self->parked, self->feedback_input, zmq_msg_data(&msg),
                                       zmq_msg_size(&msg));
            if (rc)
                s_set_error(self, self->head, "cannot park feedback (out of memory or disk)");
        } else
            rc = s_feedback_frame(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
        RILL_TSAN_RELEASE(zmq_msg_data(&msg));
        zmq_msg_close(&msg);
        if (rc)
            return -1;
    }
    return 0;
}

//  Inside a blocked send: parks what the feedback holds, so the tail can go on.
static int s_park_feedback(self_t *self)
{
    return s_take_feedback(self, 1024, true);
}

//  Once every input but the feedback has ended, round 1 starts.
static int s_start_rounds(self_t *self)
{
    for (int i = 0; i < rill_reader_socket_count(self->reader); i++)
        if (i != self->feedback_input && !rill_reader_input_finished(self->reader, i))
            return 0;
    int64_t round;
    uint64_t count;
    rill_iteration_rounds_start(self->rounds, &round, &count);
    return s_send_probe(self, round, count);
}

//  After bind: a task inside a loop aligns and forwards probes; an iteration head gets its
//  rounds and queues. 0, or -1 with self->error set.
static int s_setup_iteration(self_t *self)
{
    const rill_plan_t *plan = self->args->plan;
    const rill_plan_operator_t *op = self->head->op;
    bool inside = false;
    int senders = 0;
    self->feedback_input = -1;
    for (int i = 0; i < op->input_count; i++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, rill_plan_input_edge(plan, op->id, i));
        inside = inside || edge->iteration;
        if (edge->feedback) {
            self->feedback_input = i;
            senders = rill_plan_operator(plan, edge->from)->parallelism;
        }
    }
    if (op->kind != RILL_OP_ITERATION) {
        if (inside)
            rill_reader_on_probe(self->reader, s_on_body_probe, self, true);
        return 0;
    }
    //  The planner gives every head one feedback edge and an output.
    assert(self->feedback_input >= 0 && self->writer && self->member_count == 1);
    self->rounds = rill_iteration_rounds_new(senders);
    size_t bytes = self->head->operator->spec->park_bytes ? self->head->operator->spec->park_bytes
                                                          : RILL_ITERATION_DEFAULT_MEMORY;
    self->parked = rill_spill_queue_new(bytes);
    self->held = rill_spill_queue_new(bytes);
    if (!self->rounds || !self->parked || !self->held) {
        s_set_error(self, self->head, "out of memory");
        return -1;
    }
    rill_reader_on_probe(self->reader, s_on_head_probe, self, false);
    rill_writer_set_send_timeout(self->writer, S_HEAD_SEND_TIMEOUT_MS);
    return 0;
}

//  An iteration head's loop: its pipe, its inputs and its feedback, feedback first. The
//  loop's input is read only while nothing is parked; once it has ended the rounds start; the
//  head's output ends when they find the loop empty, and the task ends when the feedback has
//  ended in turn (the tail ends after the head).
static int s_run_iteration_head(self_t *self)
{
    int inputs = rill_reader_socket_count(self->reader);
    zmq_pollitem_t *items = calloc((size_t)inputs + 1, sizeof(zmq_pollitem_t));
    int *which = calloc((size_t)inputs + 1, sizeof(int));
    int rc = -1;
    if (!items || !which) {
        s_set_error(self, self->head, "out of memory");
        goto cleanup;
    }
    uint64_t blocked =
        self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns) : 0;
    while (!self->terminated && !self->finishing && !rill_reader_finished(self->reader)) {
        bool parked = rill_spill_queue_size(self->parked) > 0;
        int count = 0;
        items[count++] = (zmq_pollitem_t){zsock_resolve(self->pipe), 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < inputs; i++)
            if (!rill_reader_input_finished(self->reader, i) &&
                (!parked || i == self->feedback_input)) {
                which[count] = i;
                items[count++] =
                    (zmq_pollitem_t){rill_reader_handle(self->reader, i), 0, ZMQ_POLLIN, 0};
            }
        uint64_t before = rill_clock_ns();
        if (zmq_poll(items, count, parked ? 0 : s_poll_timeout(self, before)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            s_set_error(self, self->head, zmq_strerror(zmq_errno()));
            goto cleanup;
        }
        uint64_t woke = rill_clock_ns();
        self->idle_ns += woke - before;
        if (items[0].revents & ZMQ_POLLIN) {
            char *other = s_handle_pipe(self);
            zstr_free(&other);
            if (self->terminated)
                break;
        }
        for (int k = 1; k < count; k++) {
            if (!(items[k].revents & ZMQ_POLLIN))
                continue;
            if (which[k] == self->feedback_input) {
                if (s_take_feedback(self, S_FRAMES_PER_TURN, false))
                    goto cleanup;
            } else if (rill_reader_receive(self->reader, which[k], S_FRAMES_PER_TURN,
                                           s_on_record, self) < 0) {
                if (!*self->error)
                    s_set_error(self, self->head, rill_reader_error(self->reader));
                goto cleanup;
            }
        }
        for (int n = 0; n < S_FRAMES_PER_TURN && rill_spill_queue_size(self->parked); n++) {
            int tag;
            const void *data;
            size_t size;
            if (rill_spill_queue_pop(self->parked, &tag, &data, &size) != 1) {
                s_set_error(self, self->head, "cannot read back parked feedback (temporary file)");
                goto cleanup;
            }
            if (s_feedback_frame(self, data, size))
                goto cleanup;
        }
        if (!rill_iteration_rounds_started(self->rounds) && s_start_rounds(self))
            goto cleanup;
        rill_reader_publish(self->reader);
        if (s_tick(self))
            goto cleanup;
        uint64_t now = rill_clock_ns();
        if (!self->loop_ended && rill_writer_flush_if_due(self->writer, now)) {
            s_set_operator_error(self);
            goto cleanup;
        }
        s_account_busy(self, woke, now, &blocked);
    }
    rc = 0;
cleanup:
    free(items);
    free(which);
    return rc;
}

//  Ends the chain in order, as Flink ends a chain's operators: each member ends (a batch
//  reduce emits its results), then the next sees its input end (the watermark goes to
//  +infinity, so its windows fire, as END does through a reader), and so on; the writer
//  ends the outputs last. Busy time: a batch reduce emitting every result here works as hard
//  as it did for its records. 0, or -1 with self->error set.
static int s_end_chain(self_t *self)
{
    uint64_t start = rill_clock_ns();
    uint64_t blocked =
        self->tail->metrics ? RILL_COUNTER_GET(self->tail->metrics->backpressure_ns) : 0;
    for (int k = 0; k < self->member_count; k++) {
        s_member_t *member = &self->members[k];
        if (k > 0 && s_member_input_watermark(member, INT64_MAX, false)) {
            s_set_operator_error(self);
            return -1;
        }
        const rill_operator_vtable_t *vtable = member->operator->vtable;
        if (vtable->on_end && vtable->on_end(member->operator, &member->collector)) {
            s_failed(member);
            s_set_operator_error(self);
            return -1;
        }
    }
    if (self->writer && !self->loop_ended && rill_writer_end(self->writer)) {
        s_set_operator_error(self);
        return -1;
    }
    s_account_busy(self, start, rill_clock_ns(), &blocked); //  publishes the counters
    for (int k = 0; k < self->member_count; k++)
        if (self->members[k].metrics)
            __atomic_store_n(&self->members[k].metrics->finished, 1, __ATOMIC_RELAXED);
    return 0;
}

//  START: runs to the end of input, then ends the outputs. 0, or -1 with self->error set.
static int s_handle_start(self_t *self)
{
    bool source = rill_op_kind_is_source(self->head->op->kind);
    if (source               ? s_run_source(self)
        : self->rounds ? s_run_iteration_head(self)
                       : s_run_inputs(self))
        return -1;
    if (self->terminated)
        return 0;
    if (self->finishing) {
        //  The savepoint's completion (the sinks' commit) came before FINISH.
        if (s_complete_if_due(self))
            return -1;
        s_publish(self);
        return 0;
    }
    return s_end_chain(self);
}

//  Reports ERROR or FAILED: the reason goes to the coordinator's buffer, the message is a
//  few bytes that libzmq keeps inline, so nothing here allocates (it must work out of memory).
static void s_report(self_t *self, const char *what)
{
    memcpy(self->args->error, self->error, sizeof self->args->error);
    RILL_TSAN_RELEASE(self->args->error); //  the pipe hands it over (see rill_tsan.h)
    zmq_send(zsock_resolve(self->pipe), what, strlen(what), 0);
}

void rill_subtask_actor(zsock_t *pipe, void *args)
{
    self_t *self = s_self_new(pipe, args);
    zsock_signal(pipe, 0);
    if (!self)
        return; //  the coordinator's next command fails and it reports out of memory
    while (!self->terminated) {
        char *command = s_handle_pipe(self);
        //  A finished task still answers checkpoints, with its final state.
        if (self->finished && s_checkpoint_if_due(self)) {
            self->finished = false; //  failed: answer nothing more
            s_report(self, "FAILED");
        }
        if (!command)
            continue;
        if (streq(command, "BIND") || streq(command, "CONNECT")) {
            int rc = streq(command, "BIND") ? s_handle_bind(self) : s_handle_connect(self);
            if (rc)
                s_report(self, "ERROR");
            else
                zstr_send(pipe, "OK");
        } else if (streq(command, "START")) {
            if (s_handle_start(self)) {
                //  Stop emitting at once; then wait for the coordinator's $TERM.
                for (int k = 0; k < self->member_count; k++)
                    self->members[k].collector.stopping = true;
                if (!self->terminated)
                    s_report(self, "FAILED");
            } else if (!self->terminated) {
                self->finished = true;
                zstr_send(pipe, "DONE");
                if (s_checkpoint_if_due(self)) {
                    self->finished = false;
                    s_report(self, "FAILED");
                }
            }
        }
        zstr_free(&command);
    }
    s_self_destroy(&self);
}
