/*  rill_checkpoint_config.h: a job's checkpoint and recovery settings, as rill_env and
    `rill run` gather them (README: Fault tolerance). */
#ifndef RILL_CHECKPOINT_CONFIG_H_INCLUDED
#define RILL_CHECKPOINT_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

//  How a job checkpoints and recovers (rill_env's settings, `rill run`'s options).
typedef struct {
    int interval_ms;          //  0: no periodic checkpoints
    int timeout_ms;           //  a checkpoint not complete by then is discarded
    const char *dir;          //  the checkpoint store (required with interval_ms > 0)
    int kept;                 //  completed checkpoints kept in dir
    const char *restore;      //  restore from this at start: a store, a checkpoint, a savepoint
    int restart_attempts;     //  restarts after a failure before the job fails for good
    int restart_delay_ms;     //  wait before a restart
    bool exponential;         //  double the delay after each restart (up to a minute)
    const char *savepoint_dir; //  stop-with-savepoint: where the savepoint goes on cancel
    const char *inject;       //  RILL_FAIL: "OPERATOR:INDEX:RECORDS[:ATTEMPT]" or NULL
    size_t alignment_bound;   //  0: the default
} rill_checkpoint_config_t;

#endif
