/*  rill_graph.h: the logical dataflow's vocabulary as a program and the plan see it: the
    operator kinds, the exchange patterns and their names. The graph itself is opaque: a job
    builds it through the stream API (rill_env.h); the planner (rill_plan.h) expands it into the
    parallel dataflow. How operators are stored is private (rill_graph_private.h), so adding an
    operator kind or setting does not change the ABI. */
#ifndef RILL_GRAPH_H_INCLUDED
#define RILL_GRAPH_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Highest parallelism an operator may have; also the number of key groups a keyed stream
//  is split into, so that key group -> subtask stays stable and rescaling can move whole
//  groups later (Flink's "max parallelism").
#define RILL_MAX_PARALLELISM 256

typedef enum {
    RILL_PATTERN_DEFAULT = 0, //  forward when both ends have the same parallelism, else rebalance
    RILL_PATTERN_FORWARD,
    RILL_PATTERN_HASH,
    RILL_PATTERN_BROADCAST,
    RILL_PATTERN_REBALANCE,
    RILL_PATTERN_RESCALE,
    RILL_PATTERN_SHUFFLE,
    RILL_PATTERN_GLOBAL,
    RILL_PATTERN_CUSTOM,
} rill_pattern_t;

typedef enum {
    RILL_OP_SOURCE_FILE,
    RILL_OP_SOURCE_GENERATOR,
    RILL_OP_SOURCE_USER,
    RILL_OP_MAP,
    RILL_OP_FILTER,
    RILL_OP_FLAT_MAP,
    RILL_OP_REDUCE,
    RILL_OP_SINK_PRINT,
    RILL_OP_SINK_COLLECT,
    RILL_OP_SINK_DISCARD,
    RILL_OP_TIMESTAMPS, //  timestamp assigner and watermark generator
    RILL_OP_WINDOW,     //  keyed windows
    RILL_OP_PROCESS,    //  keyed process function with state and timers
    RILL_OP_ITERATION,  //  an iteration's head: its input and the loop's feedback (rill_iterate.h)
    RILL_OP_SOURCE_DIRECTORY, //  the files of a directory (rill_connectors_files.h)
    RILL_OP_SINK_ROLLING,     //  rolling part files (rill_connectors_files.h)
    RILL_OP_SOURCE_KAFKA, //  a Kafka topic (rill_kafka.h)
    RILL_OP_SINK_KAFKA,   //  into a Kafka topic (rill_kafka.h)
} rill_op_kind_t;

#define RILL_UNBOUNDED UINT64_MAX

//  Output tags: an operator's main output, the side output of records too late for their
//  window (rill_stream_late_records), and the highest tag a process function may emit to
//  (rill_collector_emit_side: 1 .. RILL_OUTPUT_MAX_SIDE).
#define RILL_OUTPUT_MAIN 0
#define RILL_OUTPUT_LATE 1
#define RILL_OUTPUT_MAX_SIDE 64

typedef struct rill_graph_t rill_graph_t;

//  Names for kinds and patterns as they appear in diagrams, JSON and messages
//  ("source", "map", "reduce", "sink"...; "forward", "hash", ...).
RILL_EXPORT const char *rill_op_kind_name(rill_op_kind_t kind);
RILL_EXPORT const char *rill_pattern_name(rill_pattern_t pattern);
//  The pattern with this name, or -1.
RILL_EXPORT int rill_pattern_from_name(const char *name);
//  True for the source kinds and the sink kinds.
RILL_EXPORT bool rill_op_kind_is_source(rill_op_kind_t kind);
RILL_EXPORT bool rill_op_kind_is_sink(rill_op_kind_t kind);

#ifdef __cplusplus
}
#endif
#endif
