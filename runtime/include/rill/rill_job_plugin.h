/*  rill_job_plugin.h: the contract between `rill run` and a job plugin. A job is a shared
    object exporting RILL_JOB_ENTRY; the tool makes an environment from its command line,
    calls the entry with the job's own arguments (after `--`), then executes the graph. */
#ifndef RILL_JOB_PLUGIN_H_INCLUDED
#define RILL_JOB_PLUGIN_H_INCLUDED

#include "rill_env.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The entry every job exports:
//      int rill_job_build (rill_env_t *env, int argc, char **argv);
//  argv[0] is the job's name; argv[1..] its arguments. Build the graph on env and return 0,
//  or print a message to stderr and return -1 (bad arguments: return 2 to ask for exit
//  code 2). Do not execute env: the tool does.
#define RILL_JOB_ENTRY "rill_job_build"
typedef int (*rill_job_build_fn)(rill_env_t *env, int argc, char **argv);

//  Optional: a one-line description for `rill jobs`.
//      const char *rill_job_describe (void);
#define RILL_JOB_DESCRIBE "rill_job_describe"
typedef const char *(*rill_job_describe_fn)(void);

//  Optional: called after the run (whatever its outcome), for a job's own report and cleanup.
//      void rill_job_finish (rill_env_t *env);
#define RILL_JOB_FINISH "rill_job_finish"
typedef void (*rill_job_finish_fn)(rill_env_t *env);

#ifdef __cplusplus
}
#endif
#endif
