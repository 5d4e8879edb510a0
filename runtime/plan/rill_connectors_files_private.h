/*  rill_connectors_files_private.h: the settings of the file connectors as the operator spec
    carries them (rill_operator_spec_t.options, a flat copy): the API (rill_connectors_files.c)
    fills them, the planner reads whether a directory source is bounded, the operators
    (rill_op_directory.c, rill_op_rolling_sink.c) read the rest. */
#ifndef RILL_CONNECTORS_FILES_PRIVATE_H_INCLUDED
#define RILL_CONNECTORS_FILES_PRIVATE_H_INCLUDED

#include "rill_connectors_files.h"

//  RILL_OP_SOURCE_DIRECTORY (the directory is the spec's path).
typedef struct {
    bool continuous;
    int poll_ms;
    char glob[RILL_FILES_NAME_MAX]; //  "" every file
} rill_directory_config_t;

//  RILL_OP_SINK_ROLLING (the base directory is the spec's path; the bucket function's ctx is
//  the spec's ctx).
typedef struct {
    rill_bucket_fn bucket; //  NULL: one bucket, the base directory
    uint64_t max_part_bytes;
    int64_t rollover_ms;
    int64_t inactivity_ms;
    char prefix[RILL_FILES_NAME_MAX];
    char suffix[RILL_FILES_NAME_MAX];
    //  Written while the job runs (the one mutable part of a spec, each slot by one subtask,
    //  atomically): per subtask index, the first part number it used when it started without
    //  a restore, and the run (a hash of the plan's id; 0: none yet) that did. The graph and
    //  the plan outlive the attempts of one execute, so a restart from no checkpoint knows
    //  which committed parts its earlier attempt wrote (at the end of its input) and removes
    //  them before the input is replayed.
    uint64_t first_part[RILL_MAX_PARALLELISM];
    uint64_t first_part_run[RILL_MAX_PARALLELISM];
} rill_rolling_config_t;

#endif
