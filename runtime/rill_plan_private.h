/*  rill_plan_private.h: the plan's layout, shared by the planner (rill_plan.c) and the JSON
    reader/writer (rill_plan_json.c), which rebuilds a plan from a saved file. */
#ifndef RILL_PLAN_PRIVATE_H_INCLUDED
#define RILL_PLAN_PRIVATE_H_INCLUDED

#include "rill_graph_private.h"
#include "rill_plan.h"

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
    int channel_capacity;
    char **names; //  the unique operator names, owned
    char id[33];  //  random, hex: makes the endpoints unique in the process
};

#endif
