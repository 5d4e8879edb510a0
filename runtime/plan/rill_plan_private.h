/*  rill_plan_private.h: the plan's layout, shared by the planner (rill_plan.c), the JSON
    reader/writer (rill_plan_export.c), which rebuilds a plan from a saved file, and the
    channel index (rill_plan_index.c) the reader and writer find their channels with. */
#ifndef RILL_PLAN_PRIVATE_H_INCLUDED
#define RILL_PLAN_PRIVATE_H_INCLUDED

#include "rill_graph_private.h"
#include "rill_plan.h"

//  The channels of one edge grouped by sending and by receiving subtask: the channels of sender
//  index i are by_sender[by_sender_start[i] .. by_sender_start[i + 1]), in id order; likewise
//  for receivers.
typedef struct {
    int *by_sender_start; //  sender parallelism + 1 entries
    int *by_sender;       //  the edge's channel_count channel ids
    int *by_receiver_start;
    int *by_receiver;
} rill_plan_edge_channels_t;

//  Validates graph and expands it. default_parallelism applies to operators that set none.
//  job_name (copied) names the job; its endpoints carry a random 128-bit plan id, so they are
//  unique for the life of the process however many jobs it runs. Returns
//  the plan, or NULL with a message naming the operator in error (at least 256 bytes).
rill_plan_t *rill_plan_new(const rill_graph_t *graph, const char *job_name, int default_parallelism,
                           rill_mode_t mode, char *error, size_t error_size);
//  The logical graph the plan was made from (not owned; valid while the graph lives).
const rill_graph_t *rill_plan_graph(const rill_plan_t *self);

struct rill_plan_t {
    char *job_name;
    const rill_graph_t *graph;
    rill_mode_t mode;
    rill_plan_operator_t *operators;
    int operator_count;
    rill_plan_edge_t *edges;
    int edge_count;
    rill_plan_subtask_t *subtasks;
    int subtask_count;
    rill_plan_channel_t *channels;
    int channel_count;
    int task_count; //  chain heads' subtasks: the actor threads
    size_t channel_capacity;
    rill_plan_edge_channels_t *edge_channels; //  per edge, once rill_plan_index_channels ran
    char **names; //  the unique operator names, owned
    //  The placement's processes (their hosts owned): at least one.
    rill_plan_process_t *processes;
    int process_count;
    char id[33]; //  random, hex: makes the endpoints unique in the process
};

//  Derives each operator's chain and chain_next and each subtask's task from the edges'
//  chained flags, checking that every chained edge can be one (forward, same parallelism,
//  the sole output of its sender and sole input of its receiver). The planner and the JSON
//  reader both call it. 0, or -1 with a message in error.
int rill_plan_link_chains(rill_plan_t *self, char *error, size_t error_size);

//  Checks every iteration of the graph (rill_plan_iteration.c): closed once, its feedback edge
//  from an operator downstream of its head, only map, filter and flat_map inside the loop, fed
//  from inside only; resolves the feedback edge's pattern and marks the edges inside each loop
//  (rill_plan_edge_t.feedback, .iteration). Called once the edges are planned and the rest is
//  known to be acyclic. 0, or -1 with a message in error.
int rill_plan_iterations(rill_plan_t *self, const rill_graph_t *graph, char *error,
                         size_t error_size);
//  Whether the plan has an iteration (a feedback edge).
bool rill_plan_has_iteration(const rill_plan_t *self);

//  Builds the channel index of every edge, once all channels exist (the planner and the JSON
//  reader both call it last). 0, or -1 when out of memory.
int rill_plan_index_channels(rill_plan_t *self);
//  Frees the channel index (rill_plan_destroy does).
void rill_plan_index_destroy(rill_plan_t *self);

//  The channels on edge `edge` that sender index from_index (within the edge's sending
//  operator) sends on, or that receiver index to_index receives from: sets *channels to their
//  ids, in id order (owned by the plan), and returns how many. Constant time: subtasks set up
//  their sockets with it instead of scanning every channel of the edge.
int rill_plan_channels_from(const rill_plan_t *self, int edge, int from_index,
                            const int **channels);
int rill_plan_channels_to(const rill_plan_t *self, int edge, int to_index, const int **channels);

//  Resets the processes to count (1 .. RILL_MAX_PROCESSES) empty ones, forgetting hosts and pids.
//  0, or -1 when out of memory.
int rill_plan_processes_reset(rill_plan_t *self, int count);
//  Recounts each process's slots, subtasks and tasks from the subtasks' processes, and sets
//  every channel's transport from its two ends' (the placement and the JSON reader call it).
//  0, or -1 when out of memory.
int rill_plan_placement_update(rill_plan_t *self);
//  Records where process rank runs, for the diagram and the logs: host (copied; NULL unknown)
//  and pid (0 unknown). 0, or -1 when rank is out of range or out of memory.
int rill_plan_set_process(rill_plan_t *self, int rank, const char *host, int pid);
//  Points every tcp channel of edge into receiver subtask to_subtask at endpoint, the tcp://
//  address its receiver bound in its own process (a job spanning processes learns them at run
//  time). 0, or -1 when no such channel exists or the endpoint is not a tcp one that fits.
int rill_plan_set_remote_endpoint(rill_plan_t *self, int edge, int to_subtask,
                                  const char *endpoint);
//  A digest of what every process of a job must agree on before they exchange a record: mode,
//  operators (names, kinds, parallelism, chains), edges (patterns, channels) and placement.
uint64_t rill_plan_digest(const rill_plan_t *self);
//  Frees the processes (rill_plan_destroy does).
void rill_plan_processes_destroy(rill_plan_t *self);

#endif
