/*  rill_plan.h: the parallel dataflow (Flink's ExecutionGraph) as plain data. The planner
    validates a logical graph and expands every operator into its subtasks and every edge into
    its channels, with the socket types and endpoints each channel uses. Nothing runs here:
    the job deploys a plan; the viz module and `rill plan` draw or print one. */
#ifndef RILL_PLAN_H_INCLUDED
#define RILL_PLAN_H_INCLUDED

#include "rill_graph.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Most processes one job may span (a launcher's world size, a plan's process count).
#define RILL_MAX_PROCESSES 1024

typedef enum {
    RILL_MODE_AUTOMATIC = 0, //  batch when every source is bounded, else streaming
    RILL_MODE_STREAMING,
    RILL_MODE_BATCH,
} rill_mode_t;

//  "automatic", "streaming", "batch"; and back (-1 for an unknown name).
RILL_EXPORT const char *rill_mode_name(rill_mode_t mode);
RILL_EXPORT int rill_mode_from_name(const char *name);

typedef struct {
    int id;           //  same as the logical operator id
    const char *name; //  unique within the plan ("map()", or "map() #2" on a clash)
    rill_op_kind_t kind;
    const char *kind_name; //  "source", "map", ... (rill_op_kind_name)
    int parallelism;
    bool bounded;      //  sources only: whether it ends by itself
    int first_subtask; //  subtasks first_subtask .. first_subtask + parallelism - 1
    int input_count;   //  edges into and out of this operator
    int output_count;
    //  Operator chaining (Flink's): operators joined by chained edges run in one subtask
    //  thread and hand records over by function call. chain is the id of the chain's first
    //  operator (its own id when it heads a chain or is not chained); chain_next the operator
    //  it hands its records to, or -1.
    int chain;
    int chain_next;
} rill_plan_operator_t;

typedef struct {
    int id;   //  same as the logical edge id
    int from; //  operator ids
    int to;
    rill_pattern_t pattern; //  resolved: never RILL_PATTERN_DEFAULT
    bool keyed;
    int input_index;   //  which input of operator `to` this edge is (0..input_count-1)
    int output_index;  //  which output of operator `from`
    int first_channel; //  channels first_channel .. first_channel + channel_count - 1
    int channel_count;
    int output_tag;              //  RILL_OUTPUT_MAIN, or RILL_OUTPUT_LATE for late records
    const char *sender_socket;   //  "PAIR" or "ROUTER"; "CHAIN" on a chained edge (no socket)
    const char *receiver_socket; //  "PAIR" or "DEALER"; "CHAIN" likewise
    bool chained;                //  inside a chain: a function call, no frame, no thread switch
    //  Pre-aggregated (a hash edge into a keyed reduce, in batch mode or with a streaming
    //  mini-batch, combining not switched off): senders fold records per key and send
    //  partial results, which the reduce merges.
    bool combined;
    //  Iterations (rill_iterate.h): feedback is the edge that closes a loop, from its tail back
    //  to its head (the one edge allowed against the flow); iteration is set on every edge
    //  inside a loop, feedback included: the termination probes travel on those.
    bool feedback;
    bool iteration;
} rill_plan_edge_t;

typedef struct {
    int id;    //  global subtask id, 0..subtask_count-1
    int op;    //  operator id
    int index; //  0..parallelism-1 within the operator
    int task;  //  the subtask (id) heading its chain: one actor thread runs the whole chain
    //  The rank of the process that runs it (0 .. rill_plan_process_count - 1; always 0 in a
    //  plan for one process). Set by rill_plan_place; a whole task shares one process.
    int process;
} rill_plan_subtask_t;

#define RILL_ENDPOINT_MAX 96

//  How a channel's two ends reach each other, by where the placement put them.
typedef enum {
    RILL_TRANSPORT_INPROC = 0, //  both ends in one process (a chained channel has no socket)
    RILL_TRANSPORT_TCP,        //  the ends run in two processes
} rill_transport_t;

typedef struct {
    int id;
    int edge;
    int from_subtask; //  global subtask ids
    int to_subtask;
    int from_index; //  indices within the two operators
    int to_index;
    //  The address the receiver binds for this edge and the sender connects to. On a
    //  redistributing edge all channels into one receiver share it (one DEALER per edge).
    char endpoint[RILL_ENDPOINT_MAX];
    rill_transport_t transport; //  inproc when both ends share a process, else tcp
} rill_plan_channel_t;

//  One process of the job, as the placement (rill_plan_place) fills it.
typedef struct {
    int rank;     //  0 .. rill_plan_process_count - 1; rank 0 coordinates
    int slots;    //  slots (pipeline slices: subtask index i of every operator) it holds
    int subtasks; //  subtasks and tasks (threads) it runs
    int tasks;
    const char *host; //  where it runs, once the runtime knows (NULL until then)
    int pid;          //  its process id on that host, once known (0 until then)
} rill_plan_process_t;

typedef struct rill_plan_t rill_plan_t;

//  Destroys a plan and sets the caller's pointer to NULL.
RILL_EXPORT void rill_plan_destroy(rill_plan_t **self_p);

//  The job's name, as given to rill_env_set_job_name.
RILL_EXPORT const char *rill_plan_job_name(const rill_plan_t *self);
//  The execution mode after resolving automatic: RILL_MODE_STREAMING or RILL_MODE_BATCH.
RILL_EXPORT rill_mode_t rill_plan_mode(const rill_plan_t *self);

//  How many operators, edges, subtasks and channels the plan has; and each by id (0 .. count - 1;
//  NULL when out of range). The plan owns what they point to.
RILL_EXPORT int rill_plan_operator_count(const rill_plan_t *self);
RILL_EXPORT int rill_plan_edge_count(const rill_plan_t *self);
RILL_EXPORT int rill_plan_subtask_count(const rill_plan_t *self);
RILL_EXPORT int rill_plan_channel_count(const rill_plan_t *self);
RILL_EXPORT const rill_plan_operator_t *rill_plan_operator(const rill_plan_t *self, int id);
RILL_EXPORT const rill_plan_edge_t *rill_plan_edge(const rill_plan_t *self, int id);
RILL_EXPORT const rill_plan_subtask_t *rill_plan_subtask(const rill_plan_t *self, int id);
RILL_EXPORT const rill_plan_channel_t *rill_plan_channel(const rill_plan_t *self, int id);
//  How many actor threads run the plan: one per chain per parallel index (Flink's tasks).
RILL_EXPORT int rill_plan_task_count(const rill_plan_t *self);
//  The id of the edge that is input number input_index of operator op, or of output number
//  output_index; -1 when there is none.
RILL_EXPORT int rill_plan_input_edge(const rill_plan_t *self, int op, int input_index);
RILL_EXPORT int rill_plan_output_edge(const rill_plan_t *self, int op, int output_index);
//  How many channels of edge deliver into receiver index `to_index` (its end-of-stream count).
RILL_EXPORT int rill_plan_channels_into(const rill_plan_t *self, int edge, int to_index);

//  Places the plan on process_count processes (1 .. RILL_MAX_PROCESSES) by slots, as Flink's
//  slot sharing does: slot i holds subtask i of every operator that has one (a pipeline
//  slice), and slot i runs on process i % process_count. So forward and chained channels
//  (subtask i to subtask i) never leave a process; the slots, as many as the highest
//  parallelism, spread as evenly as they can (the lower ranks hold one more when they do not
//  divide evenly); an operator with fewer subtasks than processes runs on ranks 0 .. p-1 only
//  (a parallelism-1 operator on rank 0, the coordinator); ranks beyond the slot count hold
//  nothing. Sets every subtask's process, every channel's transport and the processes (their
//  hosts and pids forgotten). Placing on 1 process gives the plan as planned: all inproc.
//  0, or -1 with a message in error when process_count is out of range.
RILL_EXPORT int rill_plan_place(rill_plan_t *self, int process_count, char *error,
                                size_t error_size);
//  How many processes the plan is placed on (1 unless rill_plan_place said otherwise), and each
//  by rank (NULL when out of range). The plan owns what they point to.
RILL_EXPORT int rill_plan_process_count(const rill_plan_t *self);
RILL_EXPORT const rill_plan_process_t *rill_plan_process(const rill_plan_t *self, int rank);

//  What running a plan takes from the process, so the job can raise limits or refuse before
//  anything starts (rill_plan_needs).
typedef struct {
    int threads;          //  one per task (a chain of subtasks runs as one actor thread)
    int sockets;          //  ZeroMQ sockets: an actor pipe pair per task, one per edge end
                          //  that is not chained
    int descriptors;      //  file descriptors: one per socket (libzmq's mailbox), one per
                          //  subtask for files, and libzmq's own threads
    int channels;         //  channels that carry frames (a chained one is a function call)
    uint64_t batch_bytes; //  one batch being filled on each of them (batch_size each)
} rill_plan_needs_t;

//  Fills needs for running the plan with batches of batch_size bytes.
RILL_EXPORT void rill_plan_needs(const rill_plan_t *self, size_t batch_size,
                                 rill_plan_needs_t *needs);

//  The plan as JSON (schema in README.md: job, mode, operators, edges, subtasks, channels,
//  processes).
//  A new string the caller frees, or NULL when out of memory.
RILL_EXPORT char *rill_plan_to_json(const rill_plan_t *self);
//  Rebuilds a plan from rill_plan_to_json's output, for drawing a plan saved elsewhere. It has
//  no logical graph (rill_plan_graph returns NULL) and cannot be run. NULL with a message in
//  error when the text is not such a plan (malformed, truncated, inconsistent ids).
RILL_EXPORT rill_plan_t *rill_plan_from_json(const char *text, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif
#endif
