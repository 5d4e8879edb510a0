/*  test_launch.c: the launcher environment (runtime/cluster/rill_launch). Each launcher's
    variables, fed as an envp array (the process's own environment is never touched), give the
    rank, world size, local rank and node they mean; none gives a single process; bad values
    are refused with a message naming the variable; the precedence rules hold where a
    launcher's variables meet another's leftovers (mpirun inside a Slurm batch script). */
#include "rill_launch.h"
#include "testutil.h"

#include <string.h>
#include <unistd.h>

//  A launch from envp that must succeed.
static rill_launch_t *s_launch(char *const *envp)
{
    char error[256] = "";
    rill_launch_t *launch =
        rill_launch_new(rill_launch_envp_getenv, (void *)envp, error, sizeof error);
    if (!launch)
        fail_msg("launch: %s", error);
    return launch;
}

//  A launch from envp that must fail with a message containing expected.
static void s_refused(char *const *envp, const char *expected)
{
    char error[256] = "";
    rill_launch_t *launch =
        rill_launch_new(rill_launch_envp_getenv, (void *)envp, error, sizeof error);
    if (launch)
        fail_msg("accepted, expected an error with '%s'", expected);
    if (!strstr(error, expected))
        fail_msg("error '%s' does not say '%s'", error, expected);
    assert_non_null(strstr(error, "launcher: "));
}

static void mpirun_gives_rank_size_and_local_rank(void **state)
{
    char *envp[] = {"PATH=/usr/bin",
                    "OMPI_COMM_WORLD_RANK=2",
                    "OMPI_COMM_WORLD_SIZE=3",
                    "OMPI_COMM_WORLD_LOCAL_RANK=1",
                    "OMPI_COMM_WORLD_LOCAL_SIZE=2",
                    NULL};
    rill_launch_t *launch = s_launch(envp);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_OPENMPI);
    assert_string_equal(rill_launcher_name(rill_launch_launcher(launch)), "openmpi");
    assert_int_equal(rill_launch_rank(launch), 2);
    assert_int_equal(rill_launch_size(launch), 3);
    assert_int_equal(rill_launch_local_rank(launch), 1);
    assert_int_equal(rill_launch_node(launch), -1); //  Open MPI does not say
    assert_false(rill_launch_is_coordinator(launch));
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    assert_string_equal(rill_launch_host(launch), host);
    assert_int_equal(rill_launch_pid(launch), (int)getpid());
    rill_launch_destroy(&launch);
    assert_null(launch);
    rill_launch_destroy(&launch); //  harmless
}

static void no_launcher_is_a_single_coordinating_process(void **state)
{
    char *envp[] = {"PATH=/usr/bin", "HOME=/root", NULL};
    rill_launch_t *launch = s_launch(envp);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_NONE);
    assert_int_equal(rill_launch_rank(launch), 0);
    assert_int_equal(rill_launch_size(launch), 1);
    assert_int_equal(rill_launch_local_rank(launch), 0);
    assert_true(rill_launch_is_coordinator(launch));
    assert_true(*rill_launch_host(launch));
    rill_launch_destroy(&launch);
    //  An empty environment and a NULL one read the same.
    char *empty[] = {NULL};
    launch = s_launch(empty);
    assert_int_equal(rill_launch_size(launch), 1);
    rill_launch_destroy(&launch);
    launch = s_launch(NULL);
    assert_int_equal(rill_launch_size(launch), 1);
    rill_launch_destroy(&launch);
}

static void the_process_environment_is_read_when_no_callback_is_given(void **state)
{
    //  Whatever runs this test (ctest, a shell, perhaps even mpirun or srun) gives a valid
    //  launch or a message; a plain ctest run is a single process.
    char error[256] = "";
    rill_launch_t *launch = rill_launch_new(NULL, NULL, error, sizeof error);
    if (!launch)
        fail_msg("launch: %s", error);
    if (!getenv("OMPI_COMM_WORLD_RANK") && !getenv("PMI_RANK") && !getenv("SLURM_STEP_NUM_TASKS"))
        assert_int_equal(rill_launch_size(launch), 1);
    assert_true(rill_launch_rank(launch) < rill_launch_size(launch));
    rill_launch_destroy(&launch);
}

static void pmi_launchers_give_rank_and_size(void **state)
{
    char *hydra[] = {"PMI_RANK=0", "PMI_SIZE=4", "MPI_LOCALRANKID=0", "PMI_FD=5", NULL};
    rill_launch_t *launch = s_launch(hydra);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_PMI);
    assert_int_equal(rill_launch_rank(launch), 0);
    assert_int_equal(rill_launch_size(launch), 4);
    assert_int_equal(rill_launch_local_rank(launch), 0);
    assert_true(rill_launch_is_coordinator(launch));
    rill_launch_destroy(&launch);
    //  Cray's PMI names the local rank PMI_LOCAL_RANK; it wins over Hydra's name.
    char *cray[] = {"PMI_RANK=3", "PMI_SIZE=4", "PMI_LOCAL_RANK=1", "MPI_LOCALRANKID=2", NULL};
    launch = s_launch(cray);
    assert_int_equal(rill_launch_rank(launch), 3);
    assert_int_equal(rill_launch_local_rank(launch), 1);
    rill_launch_destroy(&launch);
    //  PMIx's rank, set beside another launcher's, must agree with it.
    char *pmix[] = {"PMI_RANK=1", "PMI_SIZE=2", "PMIX_RANK=1", "PMIX_NAMESPACE=x", NULL};
    launch = s_launch(pmix);
    assert_int_equal(rill_launch_rank(launch), 1);
    assert_int_equal(rill_launch_local_rank(launch), -1);
    rill_launch_destroy(&launch);
}

static void srun_gives_rank_size_local_rank_node_and_host(void **state)
{
    char *envp[] = {"SLURM_JOB_ID=200505",     "SLURM_NTASKS=8",  "SLURM_STEP_NUM_TASKS=4",
                    "SLURM_PROCID=3",          "SLURM_LOCALID=1", "SLURM_NODEID=1",
                    "SLURMD_NODENAME=gnode20", "SLURM_STEP_ID=0", NULL};
    rill_launch_t *launch = s_launch(envp);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_SLURM);
    assert_string_equal(rill_launcher_name(RILL_LAUNCHER_SLURM), "slurm");
    //  The step's task count, not the allocation's.
    assert_int_equal(rill_launch_size(launch), 4);
    assert_int_equal(rill_launch_rank(launch), 3);
    assert_int_equal(rill_launch_local_rank(launch), 1);
    assert_int_equal(rill_launch_node(launch), 1);
    assert_string_equal(rill_launch_host(launch), "gnode20");
    rill_launch_destroy(&launch);
    //  srun --mpi=pmix sets PMIX_RANK too, the same rank.
    char *pmix[] = {"SLURM_STEP_NUM_TASKS=2", "SLURM_PROCID=1", "PMIX_RANK=1", NULL};
    launch = s_launch(pmix);
    assert_int_equal(rill_launch_rank(launch), 1);
    rill_launch_destroy(&launch);
}

static void a_batch_script_without_srun_is_a_single_process(void **state)
{
    //  slurmstepd gives the batch script's own shell SLURM_PROCID=0 and the allocation's
    //  SLURM_NTASKS: no srun started it, so it is one process, not rank 0 of 4 waiting for
    //  three workers that never come.
    char *envp[] = {"SLURM_JOB_ID=1",
                    "SLURM_NTASKS=4",
                    "SLURM_PROCID=0",
                    "SLURM_LOCALID=0",
                    "SLURM_NODEID=0",
                    "SLURMD_NODENAME=gnode10",
                    NULL};
    rill_launch_t *launch = s_launch(envp);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_NONE);
    assert_int_equal(rill_launch_size(launch), 1);
    rill_launch_destroy(&launch);
}

static void mpirun_inside_a_slurm_allocation_wins_over_the_scripts_variables(void **state)
{
    //  mpirun passes the batch script's SLURM_* on to every rank: SLURM_PROCID=0 everywhere.
    char *envp[] = {"SLURM_PROCID=0",
                    "SLURM_STEP_NUM_TASKS=1",
                    "SLURM_NTASKS=4",
                    "OMPI_COMM_WORLD_RANK=2",
                    "OMPI_COMM_WORLD_SIZE=4",
                    "PMIX_RANK=2",
                    NULL};
    rill_launch_t *launch = s_launch(envp);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_OPENMPI);
    assert_int_equal(rill_launch_rank(launch), 2);
    assert_int_equal(rill_launch_size(launch), 4);
    //  Not Slurm's node name: Slurm did not start this process.
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    assert_string_equal(rill_launch_host(launch), host);
    rill_launch_destroy(&launch);
    //  Hydra's mpiexec likewise.
    char *hydra[] = {"SLURM_PROCID=0", "SLURM_STEP_NUM_TASKS=1", "PMI_RANK=3", "PMI_SIZE=4", NULL};
    launch = s_launch(hydra);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_PMI);
    assert_int_equal(rill_launch_rank(launch), 3);
    rill_launch_destroy(&launch);
}

static void values_that_are_not_numbers_are_refused(void **state)
{
    char *words[] = {"OMPI_COMM_WORLD_RANK=one", "OMPI_COMM_WORLD_SIZE=2", NULL};
    s_refused(words, "OMPI_COMM_WORLD_RANK='one' is not a number");
    char *negative[] = {"PMI_RANK=-1", "PMI_SIZE=2", NULL};
    s_refused(negative, "PMI_RANK='-1' is not a number");
    char *empty[] = {"SLURM_PROCID=", "SLURM_STEP_NUM_TASKS=2", NULL};
    s_refused(empty, "SLURM_PROCID='' is not a number");
    char *trailing[] = {"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2x", NULL};
    s_refused(trailing, "OMPI_COMM_WORLD_SIZE='2x' is not a number");
    char *blank[] = {"OMPI_COMM_WORLD_RANK= 1", "OMPI_COMM_WORLD_SIZE=2", NULL};
    s_refused(blank, "is not a number");
    char *huge[] = {"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=99999999999999999999", NULL};
    s_refused(huge, "OMPI_COMM_WORLD_SIZE=99999999999999999999 is out of range");
    char *local[] = {"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=2",
                     "OMPI_COMM_WORLD_LOCAL_RANK=x", NULL};
    s_refused(local, "OMPI_COMM_WORLD_LOCAL_RANK='x' is not a number");
    char *pmix[] = {"PMI_RANK=0", "PMI_SIZE=2", "PMIX_RANK=zero", NULL};
    s_refused(pmix, "PMIX_RANK='zero' is not a number");
}

static void inconsistent_values_are_refused(void **state)
{
    char *rank_at_size[] = {"OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_SIZE=3", NULL};
    s_refused(rank_at_size, "OMPI_COMM_WORLD_RANK=3 is not below OMPI_COMM_WORLD_SIZE=3");
    char *no_processes[] = {"PMI_RANK=0", "PMI_SIZE=0", NULL};
    s_refused(no_processes, "PMI_SIZE=0: a job has at least one process");
    char *too_many[] = {"PMI_RANK=0", "PMI_SIZE=100000", NULL};
    s_refused(too_many, "PMI_SIZE=100000 is more processes than a job may have");
    char *no_size[] = {"OMPI_COMM_WORLD_RANK=0", NULL};
    s_refused(no_size, "OMPI_COMM_WORLD_RANK is set but OMPI_COMM_WORLD_SIZE is not");
    char *no_rank[] = {"SLURM_STEP_NUM_TASKS=2", NULL};
    s_refused(no_rank, "SLURM_STEP_NUM_TASKS is set but SLURM_PROCID is not");
    char *local[] = {"SLURM_PROCID=0", "SLURM_STEP_NUM_TASKS=2", "SLURM_LOCALID=2", NULL};
    s_refused(local, "SLURM_LOCALID=2 is not below SLURM_STEP_NUM_TASKS=2");
    char *node[] = {"SLURM_PROCID=0", "SLURM_STEP_NUM_TASKS=2", "SLURM_NODEID=5", NULL};
    s_refused(node, "SLURM_NODEID=5 is not below SLURM_STEP_NUM_TASKS=2");
    char *disagree[] = {"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2", "PMIX_RANK=0", NULL};
    s_refused(disagree, "PMIX_RANK=0 and OMPI_COMM_WORLD_RANK=1 disagree");
    char *pmix_alone[] = {"PMIX_RANK=1", "PMIX_NAMESPACE=x", NULL};
    s_refused(pmix_alone, "PMIX_RANK=1 is set but no launcher says the number of processes");
}

static void the_plain_form_takes_the_rank_the_coordinator_gives(void **state)
{
    char error[256] = "";
    rill_launch_t *launch = rill_launch_new_given(2, 3, error, sizeof error);
    assert_non_null(launch);
    assert_int_equal(rill_launch_launcher(launch), RILL_LAUNCHER_RILL);
    assert_string_equal(rill_launcher_name(RILL_LAUNCHER_RILL), "rill");
    assert_int_equal(rill_launch_rank(launch), 2);
    assert_int_equal(rill_launch_size(launch), 3);
    assert_int_equal(rill_launch_local_rank(launch), -1);
    rill_launch_destroy(&launch);
    assert_null(rill_launch_new_given(3, 3, error, sizeof error));
    assert_non_null(strstr(error, "rank 3 is not in 0..2"));
    assert_null(rill_launch_new_given(-1, 3, error, sizeof error));
    assert_null(rill_launch_new_given(0, 0, error, sizeof error));
    assert_non_null(strstr(error, "at least one process"));
}

static void envp_lookup_matches_whole_names_only(void **state)
{
    char *envp[] = {"PMI_RANKS=9", "PMI_RANK=1", "PMI_RANK=2", "PMI_SIZE", NULL};
    assert_string_equal(rill_launch_envp_getenv(envp, "PMI_RANK"), "1"); //  the first wins
    assert_null(rill_launch_envp_getenv(envp, "PMI_SIZE"));              //  no '=': not a variable
    assert_null(rill_launch_envp_getenv(envp, "PMI"));
    assert_null(rill_launch_envp_getenv(NULL, "PMI_RANK"));
    assert_string_equal(rill_launcher_name((rill_launcher_t)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mpirun_gives_rank_size_and_local_rank),
        cmocka_unit_test(no_launcher_is_a_single_coordinating_process),
        cmocka_unit_test(the_process_environment_is_read_when_no_callback_is_given),
        cmocka_unit_test(pmi_launchers_give_rank_and_size),
        cmocka_unit_test(srun_gives_rank_size_local_rank_node_and_host),
        cmocka_unit_test(a_batch_script_without_srun_is_a_single_process),
        cmocka_unit_test(mpirun_inside_a_slurm_allocation_wins_over_the_scripts_variables),
        cmocka_unit_test(values_that_are_not_numbers_are_refused),
        cmocka_unit_test(inconsistent_values_are_refused),
        cmocka_unit_test(the_plain_form_takes_the_rank_the_coordinator_gives),
        cmocka_unit_test(envp_lookup_matches_whole_names_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
