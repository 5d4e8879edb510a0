/*  rill_graph_private.h: how the logical graph stores its operators and edges. The stream API
    (rill_env.c, rill_time.c) fills it, the planner and the operators read it; tests may build a
    graph directly. Private, so that the all-kinds operator spec can grow without breaking the
    ABI of programs built against the public headers. */
#ifndef RILL_GRAPH_PRIVATE_H_INCLUDED
#define RILL_GRAPH_PRIVATE_H_INCLUDED

#include "rill_results.h"
#include "rill_functions.h"
#include "rill_graph.h"
#include "rill_process.h"
#include "rill_window.h"

//  What a window operator computes per window.
typedef enum {
    RILL_WINDOW_FN_REDUCE,
    RILL_WINDOW_FN_AGGREGATE,
    RILL_WINDOW_FN_PROCESS,
    RILL_WINDOW_FN_BUILTIN,
    RILL_WINDOW_FN_APPLY, //  a process function with the window context (rill_trigger.h)
} rill_window_fn_kind_t;

//  The built-in keyed aggregations; each reads records "KEY<TAB>...<TAB>NUMBER" (the number
//  is the last field) and emits "KEY<TAB>VALUE" where KEY is what the key extractor returned.
typedef enum {
    RILL_AGG_NONE = 0, //  a user reduce function
    RILL_AGG_SUM,
    RILL_AGG_COUNT,
    RILL_AGG_MIN,
    RILL_AGG_MAX,
} rill_agg_t;

//  Whether an operator may share a subtask thread with its neighbours (Flink's
//  ChainingStrategy): by default it chains to a forward-connected predecessor of the same
//  parallelism; HEAD starts a new chain (rill_stream_start_new_chain); NEVER chains to neither
//  side (rill_stream_disable_chaining).
typedef enum {
    RILL_CHAIN_DEFAULT = 0,
    RILL_CHAIN_HEAD,
    RILL_CHAIN_NEVER,
} rill_chaining_t;

//  What one operator is. Which members matter depends on kind.
typedef struct {
    rill_op_kind_t kind;
    const char *name; //  copied; NULL gives a default name from the kind
    int parallelism;  //  0 takes the environment's default
    union {
        rill_map_fn map;
        rill_filter_fn filter;
        rill_flat_map_fn flat_map;
        rill_reduce_fn reduce;
        rill_generate_fn generate;
        rill_source_fn source;
        rill_timestamp_fn timestamp;
        rill_window_process_fn window_process;
        rill_window_apply_fn window_apply;
        rill_process_fn process;
    } fn;
    //  RILL_OP_MAP and RILL_OP_FLAT_MAP on two connected streams (co_map, co_flat_map, with
    //  first_inputs): the second stream's function.
    union {
        rill_map_fn map;
        rill_flat_map_fn flat_map;
    } fn2;
    void *ctx;               //  handed to fn (and fn2), or what open made of it per subtask
    int64_t state_ttl_ms;    //  RILL_OP_PROCESS: keyed state time-to-live (0: forever)
    int state_ttl_cleanup;   //  with a time-to-live: entries checked per state access (0: none)
    rill_open_fn open;       //  per-subtask lifecycle (rill_stream_open_close); NULL: none
    rill_close_fn close;
    rill_agg_t agg;          //  RILL_OP_REDUCE: a built-in aggregation instead of fn.reduce
    const char *path;        //  RILL_OP_SOURCE_FILE input; RILL_OP_SINK_PRINT output (NULL: stdout)
    uint64_t count;          //  RILL_OP_SOURCE_GENERATOR: how many records (RILL_UNBOUNDED: no end)
    bool bounded;            //  RILL_OP_SOURCE_USER: whether the source ends by itself
    rill_results_t *collect; //  RILL_OP_SINK_COLLECT: where results go (not owned)
    rill_watermarks_t watermarks;    //  RILL_OP_TIMESTAMPS
    rill_window_t window;            //  RILL_OP_WINDOW: which windows ...
    rill_window_fn_kind_t window_fn; //  ... and what is computed per window:
    rill_reduce_fn window_reduce;    //  RILL_WINDOW_FN_REDUCE
    rill_aggregate_t aggregate;      //  RILL_WINDOW_FN_AGGREGATE
    rill_window_agg_t window_agg;    //  RILL_WINDOW_FN_BUILTIN
    rill_timer_fn on_timer;          //  RILL_OP_PROCESS
    //  Two connected inputs (co-process): how many of the operator's input edges, in order,
    //  come from the first stream; the rest come from the second. 0: one input stream.
    int first_inputs;
    //  RILL_OP_PROCESS as an interval join (rill_stream_interval_join, with first_inputs): the
    //  function called per pair and the bounds, right.ts - left.ts in [lower, upper]. NULL: a
    //  process function (fn.process).
    rill_join_fn join;
    int64_t join_lower, join_upper;
    bool window_join; //  with join: a window join over `window` (tumbling or sliding), not an interval join
    //  RILL_OP_PROCESS with a broadcast second input (rill_stream_broadcast_process): called for
    //  its records. NULL: none.
    rill_broadcast_fn on_broadcast;
    size_t max_record_size; //  RILL_OP_SOURCE_FILE: longest line, bytes (0: the default, 16 MiB)
    //  RILL_OP_ITERATION: feedback bytes its subtasks park in memory before spilling to a
    //  temporary file (0: the default, RILL_ITERATION_DEFAULT_MEMORY).
    size_t park_bytes;
    rill_chaining_t chaining;
    //  RILL_OP_SOURCE_USER: how it rewinds for checkpoints (both or neither; NULL: it cannot)
    rill_source_snapshot_fn source_snapshot;
    rill_source_restore_fn source_restore;
    //  Connectors: their own settings as a flat struct (no pointers to free), copied with the
    //  spec (rill_connectors_files_private.h). NULL: none.
    const void *options;
    size_t options_size;
    //  Connectors (RILL_OP_SOURCE_KAFKA, RILL_OP_SINK_KAFKA): their options, a deep copy the
    //  graph owns from rill_graph_add_operator on and frees with connector_free.
    void *connector;
    void (*connector_free)(void *connector);
} rill_operator_spec_t;

//  One stream from operator `from` to operator `to`.
typedef struct {
    int from;
    int to;
    rill_pattern_t pattern;
    rill_key_fn key; //  set for a keyed stream (pattern HASH); also handed to custom partitioners
    void *key_ctx;
    rill_partition_fn partition; //  RILL_PATTERN_CUSTOM
    void *partition_ctx;
    int output_tag; //  which output of `from` feeds this edge: RILL_OUTPUT_MAIN or a side output
    bool feedback;  //  closes an iteration: from the loop's tail back to its head (rill_iterate.h)
} rill_edge_spec_t;

//  Creates an empty graph. NULL when out of memory.
rill_graph_t *rill_graph_new(void);
//  Destroys a graph and sets the caller's pointer to NULL.
void rill_graph_destroy(rill_graph_t **self_p);
//  Adds an operator (the spec is copied) and returns its id (0, 1, ...), or -1 when out of memory.
int rill_graph_add_operator(rill_graph_t *self, const rill_operator_spec_t *spec);
//  Adds an edge and returns its id, or -1 when an end is not an operator of this graph.
int rill_graph_add_edge(rill_graph_t *self, const rill_edge_spec_t *spec);
//  Number of operators and edges; and each by id (NULL when out of range).
int rill_graph_operator_count(const rill_graph_t *self);
int rill_graph_edge_count(const rill_graph_t *self);
const rill_operator_spec_t *rill_graph_operator(const rill_graph_t *self, int id);
const rill_edge_spec_t *rill_graph_edge(const rill_graph_t *self, int id);
//  Sets an operator's name (copied) or parallelism after it was added. 0, or -1.
int rill_graph_set_name(rill_graph_t *self, int id, const char *name);
int rill_graph_set_parallelism(rill_graph_t *self, int id, int parallelism);
//  Sets a user source's checkpoint callbacks (both, or both NULL). 0, or -1 when the
//  operator is not a RILL_OP_SOURCE_USER or only one callback is given.
int rill_graph_set_source_checkpoints(rill_graph_t *self, int id, rill_source_snapshot_fn snapshot,
                                      rill_source_restore_fn restore);
//  Sets how an operator chains (rill_chaining_t). 0, or -1.
int rill_graph_set_chaining(rill_graph_t *self, int id, rill_chaining_t chaining);
//  Sets a process operator's keyed state time-to-live (ms, > 0), with the default incremental
//  cleanup (RILL_STATE_TTL_CLEANUP entries per state access). 0, or -1.
int rill_graph_set_state_ttl(rill_graph_t *self, int id, int64_t ttl_ms);
//  Sets how many entries each state access checks for expiry (>= 0) of a process operator
//  that has a time-to-live. 0, or -1.
int rill_graph_set_state_ttl_cleanup(rill_graph_t *self, int id, int entries);
//  Sets an operator's per-subtask open and close (either may be NULL). 0, or -1.
int rill_graph_set_open_close(rill_graph_t *self, int id, rill_open_fn open, rill_close_fn close);
//  Turns chaining off for the whole graph (every operator its own subtask thread), or back on.
void rill_graph_set_chaining_enabled(rill_graph_t *self, bool enabled);
bool rill_graph_chaining_enabled(const rill_graph_t *self);
//  Pre-aggregation before the shuffle (rill_env_set_combine): the memory bound of each
//  sender's combiner table per combined edge, in bytes; 0 turns combining off.
void rill_graph_set_combine_bytes(rill_graph_t *self, size_t bytes);
size_t rill_graph_combine_bytes(const rill_graph_t *self);
//  Streaming mini-batch interval in milliseconds (rill_env_set_mini_batch); 0: off.
void rill_graph_set_mini_batch_ms(rill_graph_t *self, int interval_ms);
int rill_graph_mini_batch_ms(const rill_graph_t *self);
//  Sets the longest record an operator's source may produce (bytes; 0: the default). 0, or -1.
int rill_graph_set_max_record_size(rill_graph_t *self, int id, size_t bytes);
//  Sets how many feedback bytes an iteration head parks in memory (> 0). 0, or -1.
int rill_graph_set_park_bytes(rill_graph_t *self, int id, size_t bytes);

//  The precise operator kind names of the plan JSON's "op_kind" ("source_file", "map",
//  "sink_collect", ...; rill_op_kind_name gives the coarse "kind"), NULL for an unknown kind;
//  and back, -1 for an unknown name. One table (rill_plan_export.c) for the plan and the
//  checkpoint metadata.
const char *rill_op_kind_precise_name(rill_op_kind_t kind);
int rill_op_kind_from_precise_name(const char *name);

#endif
