/*  rill_env.c: the stream API. Each call adds an operator or edge to the environment's
    logical graph and returns a stream handle: the producing operator(s) plus how the next
    operator will receive them (pattern, key). execute() hands the graph to the planner and
    the plan to the job. */
#include "rill_env_private.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_job.h"
#include "rill_time.h" //  rill_stream_state_ttl, a time-API call that needs the graph
#include "rill_cluster_control.h"

#include <assert.h>
#include <czmq.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

//  One producing operator of a stream and how its records reach the next operator.
typedef struct {
    int op;
    rill_pattern_t pattern;
    rill_key_fn key;
    void *key_ctx;
    rill_partition_fn partition;
    void *partition_ctx;
    int output_tag;
} s_part_t;

struct rill_stream_t {
    rill_env_t *env;
    s_part_t *parts; //  several for a union
    int part_count;
    bool sink;
    //  Set when the handle is a view on another operator's output (key_by, rebalance, ...,
    //  late_records), not an operator of its own: names the call that made it. Operator
    //  settings refuse such a handle, since they would silently change the upstream operator.
    const char *view;
    rill_stream_t *next; //  the environment's list of handles, for destroy
};

struct rill_env_t {
    rill_graph_t *graph;
    int parallelism;
    rill_mode_t mode;
    size_t batch_size;
    int buffer_timeout_ms;
    size_t max_record_size; //  handed to every text-file source
    char *job_name;
    rill_stream_t *streams;
    rill_plan_t *plan;
    rill_metrics_t *metrics;
    rill_monitor_fn *tick;
    void *tick_ctx;
    int tick_interval_ms;
    bool no_diagnostics; //  rill_env_set_diagnostics(false)
    FILE *trace_out;
    uint64_t trace_sample;
    atomic_int cancel; //  0 running, 1 drain, 2 stop at once; set from any thread or a signal
    bool cancelled;
    //  Checkpoints and recovery (rill_checkpoint_coordinator.h); strings owned.
    rill_checkpoint_config_t checkpoints;
    int processes; //  the processes the plan is placed on (rill_env_set_processes)
    rill_cluster_t *cluster; //  this process's cluster (rill_env_set_cluster), or NULL
    char error[1024];
};

//  Sets czmq up the way a library must: czmq installs SIGINT/SIGTERM handlers the first time
//  it initialises, which would take the host program's away, so they are saved and put back;
//  and its socket limit (1024 by default, too few for parallelism above about 70) is raised
//  as far as libzmq and the descriptor limit allow. libzmq fixes that limit when the first
//  socket is made, so this runs at rill_env_new, before any job's socket. Both are czmq's
//  process-wide settings; calling this again changes nothing.
static void s_prepare_czmq(void)
{
    struct sigaction interrupt, terminate;
    sigaction(SIGINT, NULL, &interrupt);
    sigaction(SIGTERM, NULL, &terminate);
    void *context = zsys_init();
    sigaction(SIGINT, &interrupt, NULL);
    sigaction(SIGTERM, &terminate, NULL);
    if (!context)
        return;
    int wanted = zmq_ctx_get(context, ZMQ_SOCKET_LIMIT);
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_max != RLIM_INFINITY &&
        files.rlim_max < (rlim_t)wanted)
        wanted = (int)files.rlim_max;
    if (wanted > zmq_ctx_get(context, ZMQ_MAX_SOCKETS))
        zmq_ctx_set(context, ZMQ_MAX_SOCKETS, wanted);
}

rill_env_t *rill_env_new(void)
{
    s_prepare_czmq();
    rill_env_t *self = calloc(1, sizeof(rill_env_t));
    if (!self)
        return NULL;
    self->graph = rill_graph_new();
    self->job_name = strdup("job");
    if (!self->graph || !self->job_name) {
        rill_env_destroy(&self);
        return NULL;
    }
    self->parallelism = 1;
    self->mode = RILL_MODE_AUTOMATIC;
    self->batch_size = RILL_DEFAULT_BATCH_SIZE;
    self->buffer_timeout_ms = RILL_DEFAULT_BUFFER_TIMEOUT;
    self->max_record_size = RILL_DEFAULT_MAX_RECORD_SIZE;
    self->processes = 1;
    self->checkpoints.timeout_ms = RILL_DEFAULT_CHECKPOINT_TIMEOUT;
    self->checkpoints.kept = 1;
    self->checkpoints.restart_delay_ms = RILL_DEFAULT_RESTART_DELAY;
    return self;
}

void rill_env_destroy(rill_env_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_env_t *self = *self_p;
    while (self->streams) {
        rill_stream_t *next = self->streams->next;
        free(self->streams->parts);
        free(self->streams);
        self->streams = next;
    }
    rill_metrics_destroy(&self->metrics);
    rill_plan_destroy(&self->plan);
    rill_graph_destroy(&self->graph);
    free(self->job_name);
    free((char *)self->checkpoints.dir);
    free((char *)self->checkpoints.restore);
    free((char *)self->checkpoints.savepoint_dir);
    free(self);
    *self_p = NULL;
}

//  Keeps the first error: later ones are usually its consequences.
static void s_error(rill_env_t *self, const char *format, ...)
{
    if (*self->error)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof self->error, format, args);
    va_end(args);
}

int rill_env_set_parallelism(rill_env_t *self, int parallelism)
{
    assert(self);
    if (parallelism < 1 || parallelism > RILL_MAX_PARALLELISM) {
        s_error(self, "parallelism %d is out of range (1..%d)", parallelism,
                RILL_MAX_PARALLELISM);
        return -1;
    }
    self->parallelism = parallelism;
    return 0;
}

int rill_env_set_mode(rill_env_t *self, rill_mode_t mode)
{
    assert(self);
    if ((unsigned)mode > RILL_MODE_BATCH) {
        s_error(self, "unknown execution mode %d", (int)mode);
        return -1;
    }
    self->mode = mode;
    return 0;
}

int rill_env_set_batch_size(rill_env_t *self, size_t bytes)
{
    assert(self);
    if (bytes < 64 || bytes > 64 * 1024 * 1024) {
        s_error(self, "batch size %zu is out of range (64 bytes .. 64 MiB)", bytes);
        return -1;
    }
    self->batch_size = bytes;
    return 0;
}

int rill_env_set_buffer_timeout(rill_env_t *self, int milliseconds)
{
    assert(self);
    if (milliseconds < 0) {
        s_error(self, "buffer timeout %d ms is negative", milliseconds);
        return -1;
    }
    self->buffer_timeout_ms = milliseconds;
    return 0;
}

int rill_env_set_max_record_size(rill_env_t *self, size_t bytes)
{
    assert(self);
    if (bytes < 1 || bytes > RILL_MAX_RECORD_SIZE_LIMIT) {
        s_error(self, "maximum record size %zu is out of range (1 byte .. 1 GiB)", bytes);
        return -1;
    }
    self->max_record_size = bytes;
    //  Sources already added take it too, so the order of settings and sources does not matter.
    for (int id = 0; id < rill_graph_operator_count(self->graph); id++)
        if (rill_graph_operator(self->graph, id)->kind == RILL_OP_SOURCE_FILE)
            rill_graph_set_max_record_size(self->graph, id, bytes);
    return 0;
}

int rill_env_set_job_name(rill_env_t *self, const char *name)
{
    assert(self);
    char *copy = name ? strdup(name) : NULL;
    if (!copy)
        return -1;
    free(self->job_name);
    self->job_name = copy;
    return 0;
}

void rill_env_disable_chaining(rill_env_t *self)
{
    assert(self);
    rill_graph_set_chaining_enabled(self->graph, false);
}

void rill_env_set_diagnostics(rill_env_t *self, bool on)
{
    assert(self);
    self->no_diagnostics = !on;
}

int rill_env_set_combine(rill_env_t *self, size_t max_bytes)
{
    assert(self);
    if (max_bytes != 0 && (max_bytes < 4096 || max_bytes > 1024 * 1024 * 1024)) {
        s_error(self, "combiner memory %zu is out of range (0: off, or 4 KiB .. 1 GiB)", max_bytes);
        return -1;
    }
    rill_graph_set_combine_bytes(self->graph, max_bytes);
    return 0;
}

int rill_env_set_mini_batch(rill_env_t *self, int interval_ms)
{
    assert(self);
    if (interval_ms < 0 || interval_ms > 3600 * 1000) {
        s_error(self, "mini-batch interval %d ms is out of range (0: off, or 1 .. 3600000)",
                interval_ms);
        return -1;
    }
    rill_graph_set_mini_batch_ms(self->graph, interval_ms);
    return 0;
}

//  Replaces an owned string setting with a copy of value (NULL or "" clears it). 0 or -1.
static int s_set_string(rill_env_t *self, const char **field, const char *value)
{
    char *copy = value && *value ? strdup(value) : NULL;
    if (value && *value && !copy) {
        s_error(self, "out of memory");
        return -1;
    }
    free((char *)*field);
    *field = copy;
    return 0;
}

int rill_env_enable_checkpointing(rill_env_t *self, int interval_ms, const char *dir)
{
    assert(self);
    if (interval_ms < 10 || interval_ms > 24 * 3600 * 1000) {
        s_error(self, "checkpoint interval %d ms is out of range (10 .. 86400000)", interval_ms);
        return -1;
    }
    if (!dir || !*dir) {
        s_error(self, "checkpoints need a directory to be written to");
        return -1;
    }
    self->checkpoints.interval_ms = interval_ms;
    return s_set_string(self, &self->checkpoints.dir, dir);
}

int rill_env_set_checkpoint_timeout(rill_env_t *self, int timeout_ms)
{
    assert(self);
    if (timeout_ms < 10) {
        s_error(self, "checkpoint timeout %d ms is out of range (at least 10)", timeout_ms);
        return -1;
    }
    self->checkpoints.timeout_ms = timeout_ms;
    return 0;
}

int rill_env_set_checkpoints_kept(rill_env_t *self, int kept)
{
    assert(self);
    if (kept < 1 || kept > 1000) {
        s_error(self, "checkpoints kept %d is out of range (1 .. 1000)", kept);
        return -1;
    }
    self->checkpoints.kept = kept;
    return 0;
}

int rill_env_set_restart(rill_env_t *self, int attempts, int delay_ms, bool exponential)
{
    assert(self);
    if (attempts < 0 || attempts > 1000000 || delay_ms < 0 || delay_ms > 3600 * 1000) {
        s_error(self, "restart strategy out of range (attempts 0 .. 1000000, delay 0 .. 3600000 "
                      "ms)");
        return -1;
    }
    self->checkpoints.restart_attempts = attempts;
    self->checkpoints.restart_delay_ms = delay_ms;
    self->checkpoints.exponential = exponential;
    return 0;
}

int rill_env_restore_from(rill_env_t *self, const char *path)
{
    assert(self);
    return s_set_string(self, &self->checkpoints.restore, path);
}

int rill_env_set_savepoint_on_cancel(rill_env_t *self, const char *dir)
{
    assert(self);
    return s_set_string(self, &self->checkpoints.savepoint_dir, dir);
}

int rill_env_parallelism(const rill_env_t *self)
{
    return self->parallelism;
}

const char *rill_env_error(const rill_env_t *self)
{
    return self->error;
}

rill_graph_t *rill_env_graph(rill_env_t *self)
{
    return self->graph;
}

void rill_env_set_monitor(rill_env_t *self, rill_monitor_fn *tick, void *ctx, int interval_ms)
{
    self->tick = tick;
    self->tick_ctx = ctx;
    self->tick_interval_ms = interval_ms;
}

const rill_plan_t *rill_env_plan(rill_env_t *self)
{
    if (*self->error)
        return NULL;
    rill_metrics_destroy(&self->metrics); //  it points into the old plan
    rill_plan_destroy(&self->plan);
    char why[512];
    self->plan =
        rill_plan_new(self->graph, self->job_name, self->parallelism, self->mode, why, sizeof why);
    if (!self->plan)
        s_error(self, "%s", why);
    else if (self->processes > 1 && rill_plan_place(self->plan, self->processes, why, sizeof why)) {
        s_error(self, "%s", why);
        rill_plan_destroy(&self->plan);
    }
    return self->plan;
}

int rill_env_set_cluster(rill_env_t *self, rill_cluster_t *cluster)
{
    assert(self && cluster);
    self->cluster = cluster;
    self->processes = rill_cluster_size(cluster);
    return 0;
}

int rill_env_set_processes(rill_env_t *self, int processes)
{
    assert(self);
    if (processes < 1 || processes > RILL_MAX_PROCESSES) {
        s_error(self, "processes %d is out of range (1 .. %d)", processes, RILL_MAX_PROCESSES);
        return -1;
    }
    self->processes = processes;
    return 0;
}

//  The id of the text-file source (if any) that reads the regular file `written`, or -1: a
//  sink would truncate (or append to) it before or while it is read. Files are compared by
//  device and inode, so another name for the same file (a link, ./x, /dev/stdin) is caught too.
static int s_source_reading(const rill_graph_t *graph, const struct stat *written)
{
    for (int id = 0; id < rill_graph_operator_count(graph); id++) {
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        struct stat read;
        if (spec->kind == RILL_OP_SOURCE_FILE && stat(spec->path, &read) == 0 &&
            S_ISREG(read.st_mode) && read.st_dev == written->st_dev &&
            read.st_ino == written->st_ino)
            return id;
    }
    return -1;
}

int rill_env_check_output(rill_env_t *self, const char *path)
{
    struct stat written;
    if (*self->error || !path || stat(path, &written) != 0 || !S_ISREG(written.st_mode))
        return *self->error ? -1 : 0; //  a file not there yet cannot be an input
    int source = s_source_reading(self->graph, &written);
    if (source < 0)
        return 0;
    const rill_operator_spec_t *spec = rill_graph_operator(self->graph, source);
    s_error(self, "'%s' is the input of operator '%s' (the same file); writing it would destroy "
                  "the input: choose another output",
            path, spec->name ? spec->name : rill_op_kind_name(spec->kind));
    return -1;
}

//  Refuses, before anything runs, a print sink whose output is the input of a file source:
//  opening the output truncates the input (`cat f > f`). Stdout counts too when it is a
//  regular file (`>> f`). 0, or -1 with the error set.
static int s_check_outputs_are_not_inputs(rill_env_t *self, const rill_plan_t *plan)
{
    const rill_graph_t *graph = rill_plan_graph(plan);
    for (int id = 0; id < rill_plan_operator_count(plan); id++) {
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        const rill_plan_operator_t *sink = rill_plan_operator(plan, id);
        if (spec->kind != RILL_OP_SINK_PRINT)
            continue;
        bool to_stdout = !spec->path || strcmp(spec->path, "-") == 0;
        //  A parallel print sink writes PATH.i from subtask i (see rill_op_sinks.c).
        for (int index = 0; index < (to_stdout ? 1 : sink->parallelism); index++) {
            char name[4096];
            struct stat written;
            if (to_stdout)
                snprintf(name, sizeof name, "standard output");
            else if (sink->parallelism > 1)
                snprintf(name, sizeof name, "%s.%d", spec->path, index);
            else
                snprintf(name, sizeof name, "%s", spec->path);
            int found = to_stdout ? fstat(STDOUT_FILENO, &written) : stat(name, &written);
            if (found != 0 || !S_ISREG(written.st_mode))
                continue; //  a file not there yet cannot be an input
            int source = s_source_reading(graph, &written);
            if (source >= 0) {
                s_error(self,
                        "operator '%s': its output '%s' is the input of operator '%s' (the same "
                        "file); writing it would destroy the input: choose another output",
                        sink->name, name, rill_plan_operator(plan, source)->name);
                return -1;
            }
        }
    }
    return 0;
}

//  Hands the job its checkpoint settings, when there are any (or a fault to inject: the
//  RILL_FAIL environment variable, README: Fault tolerance). 0, or -1 with the error set.
static int s_set_checkpoints(rill_env_t *self, rill_job_t *job)
{
    rill_checkpoint_config_t config = self->checkpoints;
    config.inject = getenv("RILL_FAIL");
    bool wanted = config.interval_ms > 0 || config.restore || config.savepoint_dir ||
                  config.restart_attempts > 0 || (config.inject && *config.inject);
    if (!wanted)
        return 0;
    if ((config.interval_ms > 0 || config.savepoint_dir) &&
        rill_plan_mode(self->plan) != RILL_MODE_STREAMING) {
        s_error(self, "checkpoints are taken in streaming mode only (this job runs in %s mode; "
                      "use --mode streaming)",
                rill_mode_name(rill_plan_mode(self->plan)));
        return -1;
    }
    if (config.restart_attempts > 0 && config.interval_ms <= 0) {
        s_error(self, "restarts resume from a checkpoint: turn checkpoints on "
                      "(--checkpoint-interval and --checkpoint-dir)");
        return -1;
    }
    if (rill_job_set_checkpoints(job, &config)) {
        s_error(self, "%s", rill_job_error(job));
        return -1;
    }
    return 0;
}

int rill_env_execute(rill_env_t *self)
{
    assert(self);
    self->cancelled = false;
    if (!rill_env_plan(self) || s_check_outputs_are_not_inputs(self, self->plan))
        return -1;
    if (self->processes > 1 && !self->cluster) {
        //  A placement alone cannot run: the other processes must be there (a cluster).
        s_error(self, "a plan placed on %d processes runs only as part of a cluster (rill run "
                      "under mpirun or srun, or with --workers)",
                self->processes);
        return -1;
    }
    //  Across processes, checkpoints, restarts and --restore work; stopping with a savepoint
    //  is not there yet.
    if (self->cluster && self->checkpoints.savepoint_dir) {
        s_error(self, "stop with a savepoint across processes is not supported yet");
        return -1;
    }
    //  Records in flight on a feedback edge are in no checkpoint (rill_iterate.h).
    if (rill_plan_has_iteration(self->plan) &&
        (self->checkpoints.interval_ms > 0 || self->checkpoints.restore ||
         self->checkpoints.savepoint_dir)) {
        s_error(self, "checkpoints are not supported in a job with an iteration (the records "
                      "on its feedback edge would be in no checkpoint): run it without a "
                      "checkpoint interval, restore or savepoint");
        return -1;
    }
    if (self->cluster && rill_cluster_rank(self->cluster) == 0)
        rill_cluster_describe(self->cluster, self->plan);
    self->metrics = rill_metrics_new(self->plan);
    rill_trace_t *trace =
        self->trace_out ? rill_trace_new(self->trace_out, self->trace_sample, self->plan) : NULL;
    rill_job_t *job = self->metrics ? rill_job_new(self->plan, self->metrics, self->batch_size,
                                                   self->buffer_timeout_ms, trace)
                                    : NULL;
    if (!job || (self->trace_out && !trace)) {
        rill_job_destroy(&job);
        rill_trace_destroy(&trace);
        s_error(self, "out of memory");
        return -1;
    }
    if (self->tick)
        rill_job_set_tick(job, self->tick, self->tick_ctx, self->tick_interval_ms);
    rill_job_set_diagnostics(job, !self->no_diagnostics);
    if (self->cluster && rill_job_set_cluster(job, self->cluster)) {
        s_error(self, "%s", rill_job_error(job));
        rill_job_destroy(&job);
        rill_trace_destroy(&trace);
        return -1;
    }
    if (s_set_checkpoints(self, job)) {
        rill_job_destroy(&job);
        rill_trace_destroy(&trace);
        return -1;
    }
    int rc = rill_job_run(job, &self->cancel);
    self->cancelled = rill_job_cancelled(job);
    if (rc)
        s_error(self, "%s", rill_job_error(job));
    else if (self->cancelled) {
        s_error(self, "job cancelled");
        rc = -1;
    }
    rill_job_destroy(&job);
    rill_trace_destroy(&trace);
    atomic_store(&self->cancel, 0);
    return rc;
}

int rill_env_set_trace(rill_env_t *self, FILE *out, uint64_t sample)
{
    assert(self);
    if (out && sample == 0) {
        s_error(self, "trace: the sample rate must be at least 1");
        return -1;
    }
    self->trace_out = out;
    self->trace_sample = sample;
    return 0;
}

void rill_env_cancel(rill_env_t *self)
{
    //  Any thread or a signal handler may call this (atomic_int is lock-free here): a
    //  compare-and-swap loop, so two racing calls still count as two, capped at "stop now".
    int level = atomic_load(&self->cancel);
    while (level < 2 && !atomic_compare_exchange_weak(&self->cancel, &level, level + 1))
        ;
}

bool rill_env_cancelled(const rill_env_t *self)
{
    return self->cancelled;
}

const rill_metrics_t *rill_env_metrics(const rill_env_t *self)
{
    return self->metrics;
}

//  ---- stream handles

static rill_stream_t *s_stream_new(rill_env_t *env, int part_count)
{
    rill_stream_t *self = calloc(1, sizeof(rill_stream_t));
    if (self)
        self->parts = calloc((size_t)part_count, sizeof(s_part_t));
    if (!self || !self->parts) {
        free(self);
        s_error(env, "out of memory");
        return NULL;
    }
    self->env = env;
    self->part_count = part_count;
    self->next = env->streams;
    env->streams = self;
    return self;
}

//  A handle on a single new operator.
static rill_stream_t *s_stream_of(rill_env_t *env, int op, bool sink)
{
    if (op < 0) {
        s_error(env, "out of memory");
        return NULL;
    }
    rill_stream_t *self = s_stream_new(env, 1);
    if (!self)
        return NULL;
    self->parts[0].op = op;
    self->sink = sink;
    return self;
}

//  Adds operator spec fed by every part of `in`; returns the new operator's handle.
rill_stream_t *rill_env_apply(rill_stream_t *in, const rill_operator_spec_t *spec,
                              const char *what)
{
    if (!in)
        return NULL;
    rill_env_t *env = in->env;
    if (in->sink) {
        s_error(env, "%s: the input is a sink, which has no output stream", what);
        return NULL;
    }
    int op = rill_graph_add_operator(env->graph, spec);
    if (op < 0) {
        s_error(env, "out of memory");
        return NULL;
    }
    for (int i = 0; i < in->part_count; i++) {
        const s_part_t *part = &in->parts[i];
        rill_edge_spec_t edge = {part->op,        op,           part->pattern,
                                 part->key,       part->key_ctx, part->partition,
                                 part->partition_ctx, part->output_tag, false};
        if (rill_graph_add_edge(env->graph, &edge) < 0) {
            s_error(env, "out of memory");
            return NULL;
        }
    }
    return s_stream_of(env, op, rill_op_kind_is_sink(spec->kind));
}

static rill_stream_t *s_source(rill_env_t *self, const rill_operator_spec_t *spec)
{
    return s_stream_of(self, rill_graph_add_operator(self->graph, spec), false);
}

rill_stream_t *rill_env_add_source(rill_env_t *self, const rill_operator_spec_t *spec)
{
    return s_source(self, spec);
}

size_t rill_env_max_record_size(const rill_env_t *self)
{
    return self->max_record_size;
}

rill_stream_t *rill_env_from_text_file(rill_env_t *self, const char *path)
{
    if (!path) {
        s_error(self, "text file source: no path given");
        return NULL;
    }
    return s_source(self, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_FILE,
                                                  .path = path,
                                                  .max_record_size = self->max_record_size});
}

rill_stream_t *rill_env_from_generator(rill_env_t *self, rill_generate_fn fn, void *ctx,
                                       uint64_t count)
{
    return s_source(self, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                                  .fn.generate = fn,
                                                  .ctx = ctx,
                                                  .count = count});
}

rill_stream_t *rill_env_from_source(rill_env_t *self, rill_source_fn fn, void *ctx, bool bounded)
{
    return s_source(self, &(rill_operator_spec_t){
                              .kind = RILL_OP_SOURCE_USER, .fn.source = fn, .ctx = ctx,
                              .bounded = bounded});
}

rill_stream_t *rill_stream_map(rill_stream_t *in, rill_map_fn fn, void *ctx)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_MAP, .fn.map = fn, .ctx = ctx},
                   "map");
}

rill_stream_t *rill_stream_filter(rill_stream_t *in, rill_filter_fn fn, void *ctx)
{
    return rill_env_apply(
        in, &(rill_operator_spec_t){.kind = RILL_OP_FILTER, .fn.filter = fn, .ctx = ctx},
        "filter");
}

rill_stream_t *rill_stream_flat_map(rill_stream_t *in, rill_flat_map_fn fn, void *ctx)
{
    return rill_env_apply(
        in, &(rill_operator_spec_t){.kind = RILL_OP_FLAT_MAP, .fn.flat_map = fn, .ctx = ctx},
        "flat_map");
}

//  A new handle on the same operators with every part's exchange changed.
static rill_stream_t *s_repartition(rill_stream_t *in, rill_pattern_t pattern, rill_key_fn key,
                                    void *key_ctx, rill_partition_fn partition,
                                    void *partition_ctx, const char *what)
{
    if (!in)
        return NULL;
    if (in->sink) {
        s_error(in->env, "%s: the input is a sink, which has no output stream", what);
        return NULL;
    }
    rill_stream_t *self = s_stream_new(in->env, in->part_count);
    if (!self)
        return NULL;
    for (int i = 0; i < in->part_count; i++)
        self->parts[i] = (s_part_t){in->parts[i].op,      pattern,       key, key_ctx,
                                    partition,           partition_ctx, in->parts[i].output_tag};
    self->view = what;
    return self;
}

//  The keyed stream is a struct around a key_by view (see rill_keyed_stream_t): the type makes
//  a plain stream into a keyed operation a compile error; the view keeps what the exchange
//  needs and, being a view, refuses operator settings.
rill_keyed_stream_t rill_stream_key_by(rill_stream_t *in, rill_key_fn fn, void *ctx)
{
    if (in && !fn) {
        s_error(in->env, "key_by: no key extractor given");
        return (rill_keyed_stream_t){NULL};
    }
    return (rill_keyed_stream_t){
        s_repartition(in, RILL_PATTERN_HASH, fn, ctx, NULL, NULL, "key_by")};
}

rill_stream_t *rill_keyed_stream_stream(rill_keyed_stream_t keyed)
{
    return keyed.stream;
}

static rill_stream_t *s_keyed(rill_keyed_stream_t keyed, rill_reduce_fn fn, void *ctx,
                              rill_agg_t agg, const char *what)
{
    //  A keyed stream made by hand around a stream that is not keyed is left for the planner,
    //  which names the operator in its message.
    return rill_env_apply(
        keyed.stream,
        &(rill_operator_spec_t){.kind = RILL_OP_REDUCE, .fn.reduce = fn, .ctx = ctx, .agg = agg},
        what);
}

rill_stream_t *rill_stream_reduce(rill_keyed_stream_t keyed, rill_reduce_fn fn, void *ctx)
{
    return s_keyed(keyed, fn, ctx, RILL_AGG_NONE, "reduce");
}

rill_stream_t *rill_stream_sum(rill_keyed_stream_t keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_SUM, "sum");
}

rill_stream_t *rill_stream_count(rill_keyed_stream_t keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_COUNT, "count");
}

rill_stream_t *rill_stream_min(rill_keyed_stream_t keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_MIN, "min");
}

rill_stream_t *rill_stream_max(rill_keyed_stream_t keyed)
{
    return s_keyed(keyed, NULL, NULL, RILL_AGG_MAX, "max");
}

rill_stream_t *rill_stream_union(rill_stream_t *a, rill_stream_t *b)
{
    rill_stream_t *both[] = {a, b};
    return rill_stream_union_n(both, 2);
}

rill_stream_t *rill_stream_union_n(rill_stream_t **streams, size_t count)
{
    if (!streams || count == 0)
        return NULL;
    int parts = 0;
    for (size_t i = 0; i < count; i++) {
        if (!streams[i])
            return NULL;
        if (streams[i]->env != streams[0]->env) {
            s_error(streams[0]->env, "union: the streams belong to different environments");
            return NULL;
        }
        if (streams[i]->sink) {
            s_error(streams[0]->env, "union: stream %zu is a sink, which has no output", i);
            return NULL;
        }
        parts += streams[i]->part_count;
    }
    rill_stream_t *self = s_stream_new(streams[0]->env, parts);
    if (!self)
        return NULL;
    int at = 0;
    for (size_t i = 0; i < count; i++)
        for (int p = 0; p < streams[i]->part_count; p++)
            self->parts[at++] = streams[i]->parts[p];
    return self;
}

rill_stream_t *rill_env_side_output(rill_stream_t *in, rill_op_kind_t kind, int tag,
                                   const char *what)
{
    if (!in)
        return NULL;
    if (in->part_count != 1 || rill_graph_operator(in->env->graph, in->parts[0].op)->kind != kind) {
        s_error(in->env, "%s: the stream does not come from the right kind of operator", what);
        return NULL;
    }
    rill_stream_t *self = s_stream_of(in->env, in->parts[0].op, false);
    if (self) {
        self->parts[0].output_tag = tag;
        self->view = what;
    }
    return self;
}

void rill_env_fail(rill_env_t *self, const char *message)
{
    s_error(self, "%s", message);
}

rill_env_t *rill_stream_env(rill_stream_t *stream)
{
    return stream->env;
}

int rill_stream_part_count(const rill_stream_t *stream)
{
    return stream->part_count;
}

int rill_stream_part_edge(const rill_stream_t *stream, int i, int to, rill_edge_spec_t *edge)
{
    if (i < 0 || i >= stream->part_count)
        return -1;
    const s_part_t *part = &stream->parts[i];
    *edge = (rill_edge_spec_t){part->op,        to,           part->pattern,
                               part->key,       part->key_ctx, part->partition,
                               part->partition_ctx, part->output_tag, false};
    return 0;
}

const char *rill_stream_view(const rill_stream_t *stream)
{
    return stream->sink ? "a sink" : stream->view;
}

rill_stream_t *rill_stream_forward(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_FORWARD, NULL, NULL, NULL, NULL, "forward");
}

rill_stream_t *rill_stream_broadcast(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_BROADCAST, NULL, NULL, NULL, NULL, "broadcast");
}

rill_stream_t *rill_stream_rebalance(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_REBALANCE, NULL, NULL, NULL, NULL, "rebalance");
}

rill_stream_t *rill_stream_rescale(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_RESCALE, NULL, NULL, NULL, NULL, "rescale");
}

rill_stream_t *rill_stream_shuffle(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_SHUFFLE, NULL, NULL, NULL, NULL, "shuffle");
}

rill_stream_t *rill_stream_global(rill_stream_t *in)
{
    return s_repartition(in, RILL_PATTERN_GLOBAL, NULL, NULL, NULL, NULL, "global");
}

rill_stream_t *rill_stream_partition_custom(rill_stream_t *in, rill_partition_fn fn, void *ctx,
                                            rill_key_fn key, void *key_ctx)
{
    if (in && !fn) {
        s_error(in->env, "partition_custom: no partitioner function given");
        return NULL;
    }
    return s_repartition(in, RILL_PATTERN_CUSTOM, key, key_ctx, fn, ctx, "partition_custom");
}

//  The single operator a setting applies to, or -1 (with an error) for a union or a view.
//  Flink has the same rule: keyBy() returns a KeyedStream, rebalance() and getSideOutput() a
//  plain DataStream, and neither has setParallelism() or name(); only an operator's own
//  output (SingleOutputStreamOperator) does.
static int s_single_op(rill_stream_t *stream, const char *what)
{
    if (stream->view && strcmp(stream->view, "key_by") == 0) {
        //  Reached through rill_keyed_stream_stream: the keyed stream itself takes no settings.
        s_error(stream->env,
                "%s: the keyed stream returned by key_by() is not an operator (as Flink's "
                "KeyedStream has no name or parallelism); set it on the operator before key_by() "
                "or on the keyed operation after it",
                what);
        return -1;
    }
    if (stream->view) {
        s_error(stream->env,
                "%s: the stream returned by %s() is not an operator; set it on the operator "
                "before %s() or on the one that consumes the stream",
                what, stream->view, stream->view);
        return -1;
    }
    if (stream->part_count != 1) {
        s_error(stream->env, "%s: a union of streams has no single operator to apply it to", what);
        return -1;
    }
    return stream->parts[0].op;
}

rill_stream_t *rill_stream_name(rill_stream_t *stream, const char *name)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, "name");
    if (op < 0)
        return NULL;
    if (!name || rill_graph_set_name(stream->env->graph, op, name)) {
        s_error(stream->env, "name: cannot name the operator");
        return NULL;
    }
    return stream;
}

int rill_stream_operator(rill_stream_t *stream)
{
    return stream ? s_single_op(stream, "operator") : -1;
}

rill_stream_t *rill_stream_open_close(rill_stream_t *stream, rill_open_fn open,
                                      rill_close_fn close)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, "open_close");
    if (op < 0)
        return NULL;
    rill_graph_set_open_close(stream->env->graph, op, open, close);
    return stream;
}

rill_stream_t *rill_stream_state_ttl(rill_stream_t *processed, int64_t ttl_ms)
{
    if (!processed)
        return NULL;
    int op = s_single_op(processed, "state_ttl");
    if (op < 0)
        return NULL;
    if (rill_graph_set_state_ttl(processed->env->graph, op, ttl_ms)) {
        s_error(processed->env, "state_ttl: needs a process function and a time-to-live > 0");
        return NULL;
    }
    return processed;
}

rill_stream_t *rill_stream_state_ttl_cleanup(rill_stream_t *processed, int entries_per_access)
{
    if (!processed)
        return NULL;
    int op = s_single_op(processed, "state_ttl_cleanup");
    if (op < 0)
        return NULL;
    if (rill_graph_set_state_ttl_cleanup(processed->env->graph, op, entries_per_access)) {
        s_error(processed->env, "state_ttl_cleanup: needs a process function with a "
                                "time-to-live (rill_stream_state_ttl first) and a count >= 0");
        return NULL;
    }
    return processed;
}

rill_stream_t *rill_stream_parallelism(rill_stream_t *stream, int parallelism)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, "parallelism");
    if (op < 0)
        return NULL;
    //  Out-of-range values are reported by the planner, which names the operator.
    rill_graph_set_parallelism(stream->env->graph, op, parallelism);
    return stream;
}

rill_stream_t *rill_stream_source_checkpoints(rill_stream_t *source,
                                              rill_source_snapshot_fn snapshot,
                                              rill_source_restore_fn restore)
{
    if (!source)
        return NULL;
    int op = s_single_op(source, "source_checkpoints");
    if (op < 0)
        return NULL;
    if (rill_graph_operator(source->env->graph, op)->kind != RILL_OP_SOURCE_USER) {
        s_error(source->env, "source_checkpoints: the stream is not a user source's "
                             "(rill_env_from_source)");
        return NULL;
    }
    if (rill_graph_set_source_checkpoints(source->env->graph, op, snapshot, restore)) {
        s_error(source->env, "source_checkpoints: give both callbacks, or neither");
        return NULL;
    }
    return source;
}

static rill_stream_t *s_set_chaining(rill_stream_t *stream, rill_chaining_t chaining,
                                     const char *call)
{
    if (!stream)
        return NULL;
    int op = s_single_op(stream, call);
    if (op < 0)
        return NULL;
    rill_graph_set_chaining(stream->env->graph, op, chaining);
    return stream;
}

rill_stream_t *rill_stream_start_new_chain(rill_stream_t *stream)
{
    return s_set_chaining(stream, RILL_CHAIN_HEAD, "start_new_chain");
}

rill_stream_t *rill_stream_disable_chaining(rill_stream_t *stream)
{
    return s_set_chaining(stream, RILL_CHAIN_NEVER, "disable_chaining");
}

rill_stream_t *rill_stream_print(rill_stream_t *in, const char *path)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_PRINT, .path = path},
                   "print");
}

rill_stream_t *rill_stream_collect(rill_stream_t *in, rill_results_t *collect)
{
    if (in && !collect) {
        s_error(in->env, "collect: no result set given");
        return NULL;
    }
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_COLLECT, .collect = collect},
                   "collect");
}

rill_stream_t *rill_stream_discard(rill_stream_t *in)
{
    return rill_env_apply(in, &(rill_operator_spec_t){.kind = RILL_OP_SINK_DISCARD}, "discard");
}
