/*  rill_plan_private.h: the plan's layout, shared by the planner (rill_plan.c) and the JSON
    reader/writer (rill_plan_json.c), which rebuilds a plan from a saved file. */
#ifndef RILL_PLAN_PRIVATE_H_INCLUDED
#define RILL_PLAN_PRIVATE_H_INCLUDED

#include "rill_plan.h"

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
    size_t channel_capacity;
    char **names; //  the unique operator names, owned
    char id[33];  //  random, hex: makes the endpoints unique in the process
};

#endif
