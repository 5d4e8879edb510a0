/*  rill_cluster.h: one job across several processes and hosts. Every process of the job makes
    a cluster member: rank 0 (the coordinator) binds the control endpoint, plans, places and
    writes the tool's outputs; every other rank connects to it, receives the job (the plugin's
    bytes and its command line, as Flink ships a jar) and hosts the subtasks the placement gives
    it. A standard launcher starts the processes and says each one's rank (mpirun, srun; see
    rill_launch in runtime/cluster), or workers join the coordinator's endpoint by hand
    (`rill worker --join`), and the coordinator hands out the ranks as they arrive.

    Security: with a keys directory (`rill keys DIR`), every tcp socket of the job is CURVE and
    only peers holding the cluster certificate are admitted; without one the cluster refuses
    to form unless insecure is set.

    After rill_env_set_cluster, rill_env_execute runs this process's part: the data channels
    between processes become tcp (each receiver binds a port, the coordinator tells the senders
    where), every process heartbeats the coordinator, and a process that fails or is lost stops
    the whole job with a message naming it. */
#ifndef RILL_CLUSTER_H_INCLUDED
#define RILL_CLUSTER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "rill_env.h"
#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    //  This process's rank (0 coordinates), or -1 for a worker that takes the rank the
    //  coordinator gives it (the plain `rill worker --join` form).
    int rank;
    //  Processes in the job, the coordinator included (the coordinator waits for size - 1
    //  workers; a worker learns it from the coordinator and may leave it 0).
    int size;
    //  tcp://HOST:PORT: the coordinator binds it, every other process connects to it.
    const char *coordinator;
    //  The address of this process that other processes reach its data sockets at, and that
    //  its connections leave from (an IP address or a host name of this machine). NULL: the
    //  coordinator's host for rank 0, and for a worker the address the coordinator sees its
    //  connection come from.
    const char *advertise;
    //  The directory holding the cluster certificate (rill keys DIR), or NULL.
    const char *keys;
    //  Without keys: run in plain text anyway (warned about), rather than refuse.
    bool insecure;
    //  Heartbeat interval in ms (0: 500). A peer silent for 6 intervals is lost.
    int heartbeat_ms;
} rill_cluster_options_t;

typedef struct rill_cluster_t rill_cluster_t;

//  What the launcher that started this process says (Open MPI's mpirun, a PMI launcher, Slurm's
//  srun; their environment variables): sets *rank and *size (0 of 1 when none did) and
//  *launcher ("none", "openmpi", "pmi", "slurm"). 0, or -1 with a message in error when the
//  variables are there but make no sense.
RILL_EXPORT int rill_cluster_launcher(int *rank, int *size, const char **launcher, char *error,
                                      size_t error_size);

//  Joins (or, rank 0, opens) the cluster: binds or connects the control socket, secured as the
//  options say. A worker announces itself. NULL with a message in error.
RILL_EXPORT rill_cluster_t *rill_cluster_new(const rill_cluster_options_t *options, char *error,
                                             size_t error_size);
RILL_EXPORT void rill_cluster_destroy(rill_cluster_t **self_p);

//  Coordinator: waits up to timeout_ms for every worker to join and sends each the job: the
//  plugin's bytes (job, job_size) and the `rill run` command line it was given (argc, argv).
//  0, or -1 with rill_cluster_error set (a worker did not come, a wrong peer).
RILL_EXPORT int rill_cluster_gather(rill_cluster_t *self, const void *job, size_t job_size,
                                    int argc, char **argv, int timeout_ms);
//  Worker: waits up to timeout_ms for the job. The bytes and the command line stay owned by
//  self. 0, or -1 with rill_cluster_error set.
RILL_EXPORT int rill_cluster_job(rill_cluster_t *self, int timeout_ms, const void **job,
                                 size_t *job_size, int *argc, char ***argv);

//  This process's rank and the job's process count (a worker knows both once it joined).
RILL_EXPORT int rill_cluster_rank(const rill_cluster_t *self);
RILL_EXPORT int rill_cluster_size(const rill_cluster_t *self);
//  The address other processes reach this one at (for logs).
RILL_EXPORT const char *rill_cluster_advertise(const rill_cluster_t *self);
RILL_EXPORT const char *rill_cluster_error(const rill_cluster_t *self);

//  Secures socket (a czmq zsock_t the caller is about to bind, such as the --monitor PUB) as a
//  CURVE server of the cluster, when the cluster has keys. True when it did.
RILL_EXPORT bool rill_cluster_secure_server(rill_cluster_t *self, void *socket);

//  Runs env's job as part of cluster: the plan is placed on the cluster's processes and
//  this process runs its share when rill_env_execute is called. The cluster must outlive the
//  execution. 0, or -1 (already executing).
RILL_EXPORT int rill_env_set_cluster(rill_env_t *env, rill_cluster_t *cluster);

#ifdef __cplusplus
}
#endif
#endif
