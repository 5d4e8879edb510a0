/*  rill_cli.h: the subcommands of the `rill` tool, one file each, and what they share:
    loading a job (bundled name or plugin path) onto an environment. Tools print and choose
    exit codes: 0 success, 1 the job or the input failed, 2 usage error. */
#ifndef RILL_CLI_H_INCLUDED
#define RILL_CLI_H_INCLUDED

#include "rill.h"
#include <stdio.h>

//  Where `cmake --install` puts the bundled jobs (set by CMake).
#ifndef RILL_INSTALL_JOBDIR
#define RILL_INSTALL_JOBDIR "/usr/local/lib/rill/jobs"
#endif
//  The same folder relative to the installed tool's folder (set by CMake).
#ifndef RILL_JOBDIR_FROM_BIN
#define RILL_JOBDIR_FROM_BIN "../lib/rill/jobs"
#endif

#define RILL_EXIT_OK 0
#define RILL_EXIT_FAILURE 1
#define RILL_EXIT_USAGE 2
#define RILL_EXIT_CANCELLED 130
#define RILL_EXIT_TERMINATED 143 //  128 + SIGTERM, as a shell reports a process SIGTERM killed

//  Each subcommand gets argv with argv[0] = the subcommand's name.
int rill_cmd_run(int argc, char **argv);
int rill_cmd_jobs(int argc, char **argv);
int rill_cmd_plan(int argc, char **argv);
int rill_cmd_viz(int argc, char **argv);
int rill_cmd_top(int argc, char **argv);
int rill_cmd_trace(int argc, char **argv);
int rill_cmd_worker(int argc, char **argv);
//  A worker's life once it joined a cluster: takes the job the coordinator ships (its plugin
//  and `rill run` command line), runs its share, and returns the exit code.
int rill_run_worker(rill_cluster_t *cluster);
int rill_cmd_keys(int argc, char **argv);
//  `rill state PATH`: a checkpoint's named state (rill_cmd_state.c).
int rill_cmd_state(int argc, char **argv);

//  A loaded job plugin. rill_job_load finds JOB (a bundled job's name, or a path to a
//  shared object), and calls its entry with argv (argv[0] = the job's name) to build the
//  graph on env. Returns the plugin handle to close after the env is destroyed, or NULL with
//  a message printed to stderr; *exit_code tells 1 (not found / failed) from 2 (the job
//  rejected its arguments).
typedef struct rill_job_plugin_t rill_job_plugin_t;
rill_job_plugin_t *rill_job_load(const char *job, rill_env_t *env, int argc, char **argv,
                                 int *exit_code);
//  Calls the plugin's optional rill_job_finish(env): after the run, before env is destroyed.
void rill_job_plugin_finish(rill_job_plugin_t *self, rill_env_t *env);
void rill_job_plugin_destroy(rill_job_plugin_t **self_p);
//  The file the plugin was loaded from.
const char *rill_job_plugin_path(const rill_job_plugin_t *self);
//  The directories searched for bundled jobs, in order, each once; fills dirs (up to max;
//  4 hold them all) pointing into storage (PATH_MAX bytes) or static text; returns count.
int rill_job_dirs(const char **dirs, int max, char *storage, size_t storage_size);

//  Parses a whole positive int (base 10) from text; 0, or -1 when it is not one.
int rill_cli_parse_int(const char *text, int min, int max, int *value);

#endif
