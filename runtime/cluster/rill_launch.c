/*  rill_launch.c: reads the launcher's variables (see the header for which, and why in that
    order). Every value is checked: a launcher that hands out something else than a rank below
    its size is a broken setup the user must hear about before any process starts a subtask,
    since a wrong rank would run some slots twice and others never. */
#include "rill_launch.h"
#include "rill_plan.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rill_launch_t {
    rill_launcher_t launcher;
    int rank;
    int size;
    int local_rank;
    int node;
    int pid;
    char host[256];
};

static const char *s_launcher_names[] = {"none", "openmpi", "pmi", "slurm", "rill"};

const char *rill_launcher_name(rill_launcher_t launcher)
{
    return (unsigned)launcher <= RILL_LAUNCHER_RILL ? s_launcher_names[launcher] : "unknown";
}

const char *rill_launch_envp_getenv(void *envp, const char *name)
{
    size_t length = strlen(name);
    for (char *const *entry = envp; entry && *entry; entry++)
        if (strncmp(*entry, name, length) == 0 && (*entry)[length] == '=')
            return *entry + length + 1;
    return NULL;
}

static const char *s_process_getenv(void *ctx, const char *name)
{
    return getenv(name);
}

static int s_fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size) {
        int prefix = snprintf(error, error_size, "launcher: ");
        va_list args;
        va_start(args, format);
        if (prefix > 0 && (size_t)prefix < error_size)
            vsnprintf(error + prefix, error_size - (size_t)prefix, format, args);
        va_end(args);
    }
    return -1;
}

//  A variable as a count: decimal digits only (no sign, no blanks, no trailing text), as every
//  launcher writes them; anything else is a setup error, not a number to guess at.
static int s_number(const char *name, const char *text, int *value, char *error, size_t error_size)
{
    long long number = 0;
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || text[digits] != 0)
        return s_fail(error, error_size, "%s='%s' is not a number (decimal digits, 0 or more)",
                      name, text);
    for (size_t i = 0; i < digits; i++) {
        number = number * 10 + (text[i] - '0');
        if (number > 1000000000)
            return s_fail(error, error_size, "%s=%s is out of range", name, text);
    }
    *value = (int)number;
    return 0;
}

//  The variables one launcher sets; local and node are optional (-1 when missing).
typedef struct {
    rill_launcher_t launcher;
    const char *rank;
    const char *size;
    const char *local;
    const char *local_fallback; //  read when local is not set (NULL: none)
    const char *node;
    //  Whether the rank alone names the launcher. Slurm's does not: slurmstepd gives a batch
    //  script's own shell SLURM_PROCID=0 (and the allocation's SLURM_NTASKS) though no srun
    //  started it; only srun's steps get SLURM_STEP_NUM_TASKS, their own task count.
    bool rank_names_it;
} s_names_t;

static const s_names_t s_launchers[] = {
    {RILL_LAUNCHER_OPENMPI, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
     "OMPI_COMM_WORLD_LOCAL_RANK", NULL, NULL, true},
    {RILL_LAUNCHER_PMI, "PMI_RANK", "PMI_SIZE", "PMI_LOCAL_RANK", "MPI_LOCALRANKID", NULL, true},
    {RILL_LAUNCHER_SLURM, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", NULL,
     "SLURM_NODEID", false},
};

//  Reads an optional index below size into *value (-1 when neither name is set).
static int s_optional_index(rill_launch_getenv_fn *getenv_fn, void *ctx, const char *name,
                            const char *fallback, int size, const char *size_name, int *value,
                            char *error, size_t error_size)
{
    *value = -1;
    const char *text = name ? getenv_fn(ctx, name) : NULL;
    if (!text && fallback)
        text = getenv_fn(ctx, name = fallback);
    if (!text)
        return 0;
    if (s_number(name, text, value, error, error_size))
        return -1;
    if (*value >= size)
        return s_fail(error, error_size, "%s=%d is not below %s=%d", name, *value, size_name, size);
    return 0;
}

static int s_check_size(const char *name, int size, char *error, size_t error_size)
{
    if (size < 1)
        return s_fail(error, error_size, "%s=%d: a job has at least one process", name, size);
    if (size > RILL_MAX_PROCESSES)
        return s_fail(error, error_size, "%s=%d is more processes than a job may have (%d)", name,
                      size, RILL_MAX_PROCESSES);
    return 0;
}

static int s_read(rill_launch_t *self, rill_launch_getenv_fn *getenv_fn, void *ctx, char *error,
                  size_t error_size)
{
    const s_names_t *found = NULL;
    for (size_t i = 0; i < sizeof s_launchers / sizeof s_launchers[0] && !found; i++) {
        const s_names_t *names = &s_launchers[i];
        //  A size without a rank is as broken as a rank without a size.
        if ((names->rank_names_it && getenv_fn(ctx, names->rank)) || getenv_fn(ctx, names->size))
            found = names;
    }
    if (!found) {
        self->launcher = RILL_LAUNCHER_NONE;
        self->size = 1;
        self->local_rank = self->node = 0;
        const char *pmix = getenv_fn(ctx, "PMIX_RANK");
        if (pmix)
            return s_fail(error, error_size,
                          "PMIX_RANK=%s is set but no launcher says the number of processes "
                          "(OMPI_COMM_WORLD_SIZE, PMI_SIZE or SLURM_STEP_NUM_TASKS)",
                          pmix);
        return 0;
    }
    self->launcher = found->launcher;
    const char *rank = getenv_fn(ctx, found->rank);
    const char *size_name = found->size;
    const char *size = getenv_fn(ctx, size_name);
    if (!rank)
        return s_fail(error, error_size, "%s is set but %s is not", found->size, found->rank);
    if (!size)
        return s_fail(error, error_size, "%s is set but %s is not", found->rank, found->size);
    if (s_number(found->rank, rank, &self->rank, error, error_size) ||
        s_number(size_name, size, &self->size, error, error_size) ||
        s_check_size(size_name, self->size, error, error_size))
        return -1;
    if (self->rank >= self->size)
        return s_fail(error, error_size, "%s=%d is not below %s=%d", found->rank, self->rank,
                      size_name, self->size);
    if (s_optional_index(getenv_fn, ctx, found->local, found->local_fallback, self->size, size_name,
                         &self->local_rank, error, error_size) ||
        s_optional_index(getenv_fn, ctx, found->node, NULL, self->size, size_name, &self->node,
                         error, error_size))
        return -1;
    const char *pmix = getenv_fn(ctx, "PMIX_RANK");
    int pmix_rank = -1;
    if (pmix) {
        if (s_number("PMIX_RANK", pmix, &pmix_rank, error, error_size))
            return -1;
        if (pmix_rank != self->rank)
            return s_fail(error, error_size,
                          "PMIX_RANK=%d and %s=%d disagree: which launcher started this "
                          "process?",
                          pmix_rank, found->rank, self->rank);
    }
    if (found->launcher == RILL_LAUNCHER_SLURM) {
        const char *node_name = getenv_fn(ctx, "SLURMD_NODENAME");
        if (node_name && *node_name)
            snprintf(self->host, sizeof self->host, "%s", node_name);
    }
    return 0;
}

//  The host and pid, for a launch whose rank is known.
static int s_finish(rill_launch_t *self, char *error, size_t error_size)
{
    self->pid = (int)getpid();
    if (!*self->host) {
        if (gethostname(self->host, sizeof self->host - 1) != 0)
            return s_fail(error, error_size, "cannot read the host name");
        self->host[sizeof self->host - 1] = 0;
    }
    return 0;
}

rill_launch_t *rill_launch_new(rill_launch_getenv_fn *getenv_fn, void *ctx, char *error,
                               size_t error_size)
{
    rill_launch_t *self = calloc(1, sizeof(rill_launch_t));
    if (!self) {
        s_fail(error, error_size, "out of memory");
        return NULL;
    }
    if (s_read(self, getenv_fn ? getenv_fn : s_process_getenv, ctx, error, error_size) ||
        s_finish(self, error, error_size))
        rill_launch_destroy(&self);
    return self;
}

rill_launch_t *rill_launch_new_given(int rank, int size, char *error, size_t error_size)
{
    if (size < 1 || size > RILL_MAX_PROCESSES) {
        s_fail(error, error_size, "%d processes: a job has at least one process and at most %d",
               size, RILL_MAX_PROCESSES);
        return NULL;
    }
    if (rank < 0 || rank >= size) {
        s_fail(error, error_size, "rank %d is not in 0..%d", rank, size - 1);
        return NULL;
    }
    rill_launch_t *self = calloc(1, sizeof(rill_launch_t));
    if (!self) {
        s_fail(error, error_size, "out of memory");
        return NULL;
    }
    *self = (rill_launch_t){
        .launcher = RILL_LAUNCHER_RILL, .rank = rank, .size = size, .local_rank = -1, .node = -1};
    if (s_finish(self, error, error_size))
        rill_launch_destroy(&self);
    return self;
}

void rill_launch_destroy(rill_launch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

rill_launcher_t rill_launch_launcher(const rill_launch_t *self)
{
    assert(self);
    return self->launcher;
}

int rill_launch_rank(const rill_launch_t *self)
{
    assert(self);
    return self->rank;
}

int rill_launch_size(const rill_launch_t *self)
{
    assert(self);
    return self->size;
}

bool rill_launch_is_coordinator(const rill_launch_t *self)
{
    assert(self);
    return self->rank == 0;
}

int rill_launch_local_rank(const rill_launch_t *self)
{
    assert(self);
    return self->local_rank;
}

int rill_launch_node(const rill_launch_t *self)
{
    assert(self);
    return self->node;
}

const char *rill_launch_host(const rill_launch_t *self)
{
    assert(self);
    return self->host;
}

int rill_launch_pid(const rill_launch_t *self)
{
    assert(self);
    return self->pid;
}
