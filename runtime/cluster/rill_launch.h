/*  rill_launch.h: which process of a job this is, as the launcher that started it says. A job
    that spans K processes is started by a standard launcher (`mpirun -n K rill run JOB`, `srun`
    under Slurm) or by rill's own plain form (`rill run JOB --workers N` plus `rill worker
    --join`); the launcher only starts the processes and tells each its rank and the world
    size; rank 0 coordinates (and hosts subtasks too). The placement (rill_plan_place) then
    decides which subtasks each rank runs.

    The environment is an input (a getenv-like callback), so tests feed it without touching
    the process's own. What is read, in this order (the first launcher found wins):
      Open MPI  OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK
                (mpirun/mpiexec; Open MPI's documented variables, set on every process)
      PMI       PMI_RANK, PMI_SIZE, and PMI_LOCAL_RANK or MPI_LOCALRANKID (MPICH's and Intel
                MPI's Hydra mpiexec, Cray PMI, srun --mpi=pmi2)
      Slurm     SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID, SLURM_NODEID,
                SLURMD_NODENAME (srun; Slurm's env_array_for_step sets the step's task count
                for every task of a step; SLURM_NTASKS is also the allocation's in a batch
                script, whose shell has SLURM_PROCID=0 too without any srun: one process)
      none      one process: rank 0 of 1
    Open MPI and PMI come before Slurm on purpose: an mpirun started inside a Slurm batch script
    passes the script's own SLURM_* variables on to every rank it starts (SLURM_PROCID=0 on
    all), so they would name every process rank 0. PMIX_RANK (PMIx launchers: Open MPI 5's
    prterun, srun --mpi=pmix) carries no world size, so it never names the launcher on its own;
    when set, it must agree with the rank found (a process whose launchers disagree is refused
    rather than guessed at). */
#ifndef RILL_LAUNCH_H_INCLUDED
#define RILL_LAUNCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    RILL_LAUNCHER_NONE = 0, //  no launcher: a single process
    RILL_LAUNCHER_OPENMPI,  //  Open MPI's mpirun
    RILL_LAUNCHER_PMI,      //  a PMI launcher (Hydra's mpiexec, Cray PMI, srun --mpi=pmi2)
    RILL_LAUNCHER_SLURM,    //  srun
    RILL_LAUNCHER_RILL,     //  rill's plain form: the coordinator hands out the ranks
} rill_launcher_t;

//  "none", "openmpi", "pmi", "slurm", "rill".
const char *rill_launcher_name(rill_launcher_t launcher);

//  Reads one variable: its value, or NULL when it is not set (as getenv(3) does).
typedef const char *(rill_launch_getenv_fn)(void *ctx, const char *name);

//  A rill_launch_getenv_fn over an array of "NAME=value" strings ending with NULL (an envp, as
//  main's third argument or environ): pass the array as ctx. The first entry for a name wins,
//  as with getenv.
const char *rill_launch_envp_getenv(void *envp, const char *name);

typedef struct rill_launch_t rill_launch_t;

//  Reads this process's place in the job through getenv_fn (NULL: the process environment).
//  NULL with a message in error (naming the variables) when the values are not numbers, are
//  out of range (a rank at or above the size, a size of 0 or above RILL_MAX_PROCESSES) or
//  contradict each other (a rank without a size, PMIX_RANK against the launcher's rank).
rill_launch_t *rill_launch_new(rill_launch_getenv_fn *getenv_fn, void *ctx, char *error,
                               size_t error_size);
//  For rill's plain form, where no launcher set anything: rank of size as the coordinator
//  decided (the coordinator itself is rank 0). NULL with a message when out of range.
rill_launch_t *rill_launch_new_given(int rank, int size, char *error, size_t error_size);
//  Destroys a launch and sets the caller's pointer to NULL.
void rill_launch_destroy(rill_launch_t **self_p);

//  Which launcher started this process.
rill_launcher_t rill_launch_launcher(const rill_launch_t *self);
//  This process's rank (0 .. size - 1) and the number of processes in the job.
int rill_launch_rank(const rill_launch_t *self);
int rill_launch_size(const rill_launch_t *self);
//  Whether this process coordinates the job (rank 0).
bool rill_launch_is_coordinator(const rill_launch_t *self);
//  The rank among this job's processes on the same node, and the node's index among the job's
//  nodes (Slurm only); -1 when the launcher does not say.
int rill_launch_local_rank(const rill_launch_t *self);
int rill_launch_node(const rill_launch_t *self);
//  The host this process runs on (Slurm's node name under srun, else gethostname) and its
//  pid: what the placement records for the diagram and the logs.
const char *rill_launch_host(const rill_launch_t *self);
int rill_launch_pid(const rill_launch_t *self);

#endif
