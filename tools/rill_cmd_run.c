/*  rill_cmd_run.c: `rill run JOB`: makes an environment from the command line, lets the job
    plugin build its graph, executes it, and reports. Ctrl-C once drains the job (sources
    stop, records in flight are delivered); twice stops it at once. */
#include "rill_cli.h"
#include "rill_history.h"
#include "rill_live.h"
#include "rill_metrics_table.h"
#include "rill_report.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

//  How long the coordinator waits for its workers to join, and a worker for its job.
#define S_JOIN_TIMEOUT_MS 60000

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill run JOB [OPTIONS] [-- JOB ARGS]\n"
            "\n"
            "Runs JOB (a bundled job's name, see 'rill jobs', or the path of a job plugin .so)\n"
            "until its input ends; Ctrl-C stops the sources and drains, twice stops at once.\n"
            "\n"
            "options:\n"
            "  -p, --parallelism N      default parallelism of the job's operators (1..%d)\n"
            "  --mode MODE              streaming, batch or automatic (default: automatic,\n"
            "                           batch when every source is bounded)\n"
            "  --batch-size BYTES       bytes per network batch (64..67108864, default %d)\n"
            "  --buffer-timeout MS      send a partial batch after MS ms (0: every record;\n"
            "                           default %d)\n"
            "  --no-combine             no pre-aggregation before the shuffle: senders send\n"
            "                           every record to a keyed reduce, not partial results\n"
            "  --no-diagnostics         do not split busy time (user function, runtime,\n"
            "                           ZeroMQ) nor count hot keys: saves their small cost\n"
            "  --mini-batch MS          streaming: keyed reduces emit each changed key's\n"
            "                           latest value every MS ms (1..3600000), not every\n"
            "                           update, and senders pre-aggregate for them (0: off,\n"
            "                           the default)\n"
            "  --no-chaining            run every operator subtask in its own thread (no\n"
            "                           operator chains)\n"
            "  --checkpoint-interval MS take a checkpoint every MS ms (streaming mode; needs\n"
            "                           --checkpoint-dir)\n"
            "  --checkpoint-dir DIR     where checkpoints are written (one folder each)\n"
            "  --checkpoint-timeout MS  discard a checkpoint not complete by then (default\n"
            "                           60000)\n"
            "  --checkpoints-kept N     completed checkpoints kept (default 1)\n"
            "  --restart-attempts N     after a failure, restart from the latest checkpoint\n"
            "                           up to N times (default 0)\n"
            "  --restart-delay MS       wait before each restart (default 100)\n"
            "  --restart-backoff        double the delay after each restart\n"
            "  --restore PATH           start from a checkpoint directory (its latest valid\n"
            "                           checkpoint), one checkpoint, or a savepoint\n"
            "  --stop-with-savepoint DIR\n"
            "                           on Ctrl-C, take a savepoint into DIR and stop there\n"
            "  --metrics                print per-subtask and per-channel counts after the run\n"
            "  --metrics-json FILE      write the run's counters and plan as JSON (README:\n"
            "                           metrics schema)\n"
            "  --monitor ENDPOINT       publish a metrics snapshot every interval on a ZeroMQ\n"
            "                           PUB socket bound at ENDPOINT; watch with 'rill top'\n"
            "  --monitor-interval MS    snapshot interval (default 1000)\n"
            "  --trace FILE             follow sampled records through the dataflow; write each\n"
            "                           hop as a JSON line (read it with 'rill trace FILE')\n"
            "  --trace-sample N         trace one record in N (default 1000)\n"
            "  --report FILE            write one self-contained HTML report of the run\n"
            "\n"
            "one job across processes (README: Across processes):\n"
            "  --listen tcp://HOST:PORT where the coordinator (rank 0) listens: every process\n"
            "                           of an mpirun/srun job gets the same one\n"
            "  --workers N              no launcher: this is the coordinator of N workers that\n"
            "                           join with 'rill worker --join'\n"
            "  --join-timeout MS        how long the coordinator waits for them (default 60000)\n"
            "  --advertise ADDR         this process's address for the other processes\n"
            "  --keys DIR               the cluster certificate ('rill keys DIR'): CURVE on every\n"
            "                           tcp socket, only its holders admitted (in one process:\n"
            "                           the --monitor socket; rill top --keys DIR reads it)\n"
            "  --insecure               no keys: plain text (warned about)\n"
            "  -h, --help               show this help\n"
            "\n"
            "exit status: 0 done, 1 the job failed, 2 usage error, 130 cancelled (Ctrl-C),\n"
            "143 stopped by SIGTERM\n",
            RILL_MAX_PARALLELISM, RILL_DEFAULT_BATCH_SIZE, RILL_DEFAULT_BUFFER_TIMEOUT);
}

//  The signal handler needs the environment; a tool may keep these static (the library
//  installs no handlers: signals are the tool's business).
static rill_env_t *volatile s_running_env;
static volatile sig_atomic_t s_terminated;

//  SIGINT: the first drains the job, the second stops it at once (rill_env_cancel counts).
//  SIGTERM: stop at once, then exit 143 like a process the signal ended, after the outputs
//  written so far are flushed and closed.
static void s_on_signal(int signal)
{
    rill_env_t *env = s_running_env;
    if (signal == SIGTERM) {
        s_terminated = 1;
        if (env) {
            rill_env_cancel(env);
            rill_env_cancel(env);
        }
    } else if (env)
        rill_env_cancel(env);
}

//  Writes the metrics JSON to file (opened for path before the run) and closes it.
static int s_write_metrics_json(const rill_metrics_t *metrics, FILE *file, const char *path)
{
    char *json = rill_metrics_to_json(metrics, false);
    bool ok = json && fputs(json, file) >= 0 && fputc('\n', file) != EOF;
    if (fclose(file))
        ok = false;
    if (!ok)
        fprintf(stderr, "rill run: cannot write metrics '%s': %s\n", path, strerror(errno));
    free(json);
    return ok ? 0 : -1;
}

static int s_usage_error(const char *format, const char *detail)
{
    fprintf(stderr, "rill run: ");
    fprintf(stderr, format, detail);
    fprintf(stderr, "\n\n");
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}

//  One line on what checkpoints did, when they were on (stderr: stdout may be the output).
static void s_print_checkpoints(const rill_metrics_t *metrics, const char *savepoint)
{
    rill_checkpoint_stats_t stats = rill_metrics_checkpoints(metrics);
    if (!stats.enabled)
        return;
    if (*stats.notes)
        fprintf(stderr, "rill run: %s\n", stats.notes);
    if (stats.restored)
        fprintf(stderr, "rill run: restored from checkpoint %lld\n", (long long)stats.restored);
    fprintf(stderr,
            "rill run: checkpoints: %lld completed, %lld failed; latest %lld (%llu bytes of "
            "state, %lld ms); %d restart%s\n",
            (long long)stats.completed, (long long)stats.failed, (long long)stats.latest,
            (unsigned long long)stats.latest_bytes, (long long)stats.latest_duration_ms,
            stats.restarts, stats.restarts == 1 ? "" : "s");
    if (*stats.last_failure && stats.failed)
        fprintf(stderr, "rill run: last failed %s\n", stats.last_failure);
    if (savepoint && stats.savepoint_done)
        fprintf(stderr, "rill run: savepoint written to %s\n", savepoint);
}

//  What `rill run` was asked to do.
typedef struct {
    int parallelism, mode, batch_size, timeout, mini_batch;
    bool metrics, combine, no_chaining, no_diagnostics;
    const char *metrics_json, *monitor, *trace_path, *report;
    int monitor_interval, trace_sample;
    int checkpoint_interval, checkpoint_timeout, kept;
    int restart_attempts, restart_delay;
    bool backoff;
    const char *checkpoint_dir, *restore, *savepoint;
    //  A job across processes (rill_cluster.h).
    const char *listen, *advertise, *keys;
    int workers, join_timeout;
    bool insecure;
    const char *job;
    int job_argc;
    char **job_argv;
} s_options_t;

//  Parses `rill run`'s command line into o. -1 when it is good, else the exit code to return
//  (a usage error, or --help).
static int s_parse(int argc, char **argv, s_options_t *o)
{
    //  Options stop at "--"; what follows belongs to the job.
    int split = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    enum {
        OPT_MODE = 256,
        OPT_BATCH,
        OPT_TIMEOUT,
        OPT_METRICS,
        OPT_METRICS_JSON,
        OPT_MONITOR,
        OPT_MONITOR_INTERVAL,
        OPT_TRACE,
        OPT_TRACE_SAMPLE,
        OPT_REPORT,
        OPT_NO_COMBINE,
        OPT_NO_DIAGNOSTICS,
        OPT_MINI_BATCH,
        OPT_NO_CHAINING,
        OPT_CHECKPOINT_INTERVAL,
        OPT_CHECKPOINT_DIR,
        OPT_CHECKPOINT_TIMEOUT,
        OPT_CHECKPOINTS_KEPT,
        OPT_RESTART_ATTEMPTS,
        OPT_RESTART_DELAY,
        OPT_RESTART_BACKOFF,
        OPT_RESTORE,
        OPT_SAVEPOINT,
        OPT_LISTEN,
        OPT_WORKERS,
        OPT_ADVERTISE,
        OPT_KEYS,
        OPT_INSECURE,
        OPT_JOIN_TIMEOUT,
    };
    static const struct option options[] = {
        {"parallelism", required_argument, NULL, 'p'},
        {"mode", required_argument, NULL, OPT_MODE},
        {"batch-size", required_argument, NULL, OPT_BATCH},
        {"buffer-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"metrics", no_argument, NULL, OPT_METRICS},
        {"metrics-json", required_argument, NULL, OPT_METRICS_JSON},
        {"monitor", required_argument, NULL, OPT_MONITOR},
        {"monitor-interval", required_argument, NULL, OPT_MONITOR_INTERVAL},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"trace-sample", required_argument, NULL, OPT_TRACE_SAMPLE},
        {"report", required_argument, NULL, OPT_REPORT},
        {"no-combine", no_argument, NULL, OPT_NO_COMBINE},
        {"no-diagnostics", no_argument, NULL, OPT_NO_DIAGNOSTICS},
        {"mini-batch", required_argument, NULL, OPT_MINI_BATCH},
        {"no-chaining", no_argument, NULL, OPT_NO_CHAINING},
        {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL},
        {"checkpoint-dir", required_argument, NULL, OPT_CHECKPOINT_DIR},
        {"checkpoint-timeout", required_argument, NULL, OPT_CHECKPOINT_TIMEOUT},
        {"checkpoints-kept", required_argument, NULL, OPT_CHECKPOINTS_KEPT},
        {"restart-attempts", required_argument, NULL, OPT_RESTART_ATTEMPTS},
        {"restart-delay", required_argument, NULL, OPT_RESTART_DELAY},
        {"restart-backoff", no_argument, NULL, OPT_RESTART_BACKOFF},
        {"restore", required_argument, NULL, OPT_RESTORE},
        {"stop-with-savepoint", required_argument, NULL, OPT_SAVEPOINT},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"advertise", required_argument, NULL, OPT_ADVERTISE},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"join-timeout", required_argument, NULL, OPT_JOIN_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (s_options_t){.parallelism = 1,
                       .mode = RILL_MODE_AUTOMATIC,
                       .batch_size = RILL_DEFAULT_BATCH_SIZE,
                       .timeout = RILL_DEFAULT_BUFFER_TIMEOUT,
                       .combine = true,
                       .monitor_interval = 1000,
                       .trace_sample = 1000,
                       .checkpoint_timeout = RILL_DEFAULT_CHECKPOINT_TIMEOUT,
                       .kept = 1,
                       .restart_delay = RILL_DEFAULT_RESTART_DELAY,
                       .join_timeout = S_JOIN_TIMEOUT_MS};
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(split, argv, ":p:h", options, NULL)) != -1) {
        switch (option) {
        case 'p':
            if (rill_cli_parse_int(optarg, 1, RILL_MAX_PARALLELISM, &o->parallelism))
                return s_usage_error("parallelism must be a whole number from 1 to 256, not '%s'",
                                     optarg);
            break;
        case OPT_MODE:
            if ((o->mode = rill_mode_from_name(optarg)) < 0)
                return s_usage_error("unknown mode '%s' (streaming, batch, automatic)", optarg);
            break;
        case OPT_BATCH:
            if (rill_cli_parse_int(optarg, 64, 64 * 1024 * 1024, &o->batch_size))
                return s_usage_error("batch size must be 64..67108864 bytes, not '%s'", optarg);
            break;
        case OPT_TIMEOUT:
            if (rill_cli_parse_int(optarg, 0, 3600 * 1000, &o->timeout))
                return s_usage_error("buffer timeout must be 0..3600000 ms, not '%s'", optarg);
            break;
        case OPT_NO_COMBINE: o->combine = false; break;
        case OPT_NO_DIAGNOSTICS: o->no_diagnostics = true; break;
        case OPT_MINI_BATCH:
            if (rill_cli_parse_int(optarg, 0, 3600 * 1000, &o->mini_batch))
                return s_usage_error("mini-batch interval must be 0..3600000 ms, not '%s'", optarg);
            break;
        case OPT_METRICS: o->metrics = true; break;
        case OPT_METRICS_JSON: o->metrics_json = optarg; break;
        case OPT_MONITOR: o->monitor = optarg; break;
        case OPT_MONITOR_INTERVAL:
            if (rill_cli_parse_int(optarg, 10, 3600 * 1000, &o->monitor_interval))
                return s_usage_error("monitor interval must be 10..3600000 ms, not '%s'", optarg);
            break;
        case OPT_TRACE: o->trace_path = optarg; break;
        case OPT_TRACE_SAMPLE:
            if (rill_cli_parse_int(optarg, 1, 1 << 30, &o->trace_sample))
                return s_usage_error("trace sample must be a whole number >= 1, not '%s'", optarg);
            break;
        case OPT_REPORT: o->report = optarg; break;
        case OPT_NO_CHAINING: o->no_chaining = true; break;
        case OPT_CHECKPOINT_INTERVAL:
            if (rill_cli_parse_int(optarg, 10, 24 * 3600 * 1000, &o->checkpoint_interval))
                return s_usage_error("checkpoint interval must be 10..86400000 ms, not '%s'",
                                     optarg);
            break;
        case OPT_CHECKPOINT_DIR: o->checkpoint_dir = optarg; break;
        case OPT_CHECKPOINT_TIMEOUT:
            if (rill_cli_parse_int(optarg, 10, 24 * 3600 * 1000, &o->checkpoint_timeout))
                return s_usage_error("checkpoint timeout must be 10..86400000 ms, not '%s'",
                                     optarg);
            break;
        case OPT_CHECKPOINTS_KEPT:
            if (rill_cli_parse_int(optarg, 1, 1000, &o->kept))
                return s_usage_error("checkpoints kept must be 1..1000, not '%s'", optarg);
            break;
        case OPT_RESTART_ATTEMPTS:
            if (rill_cli_parse_int(optarg, 0, 1000000, &o->restart_attempts))
                return s_usage_error("restart attempts must be 0..1000000, not '%s'", optarg);
            break;
        case OPT_RESTART_DELAY:
            if (rill_cli_parse_int(optarg, 0, 3600 * 1000, &o->restart_delay))
                return s_usage_error("restart delay must be 0..3600000 ms, not '%s'", optarg);
            break;
        case OPT_RESTART_BACKOFF: o->backoff = true; break;
        case OPT_RESTORE: o->restore = optarg; break;
        case OPT_SAVEPOINT: o->savepoint = optarg; break;
        case OPT_LISTEN: o->listen = optarg; break;
        case OPT_WORKERS:
            if (rill_cli_parse_int(optarg, 1, RILL_MAX_PROCESSES - 1, &o->workers))
                return s_usage_error("workers must be 1..1023, not '%s'", optarg);
            break;
        case OPT_ADVERTISE: o->advertise = optarg; break;
        case OPT_KEYS: o->keys = optarg; break;
        case OPT_INSECURE: o->insecure = true; break;
        case OPT_JOIN_TIMEOUT:
            if (rill_cli_parse_int(optarg, 100, 24 * 3600 * 1000, &o->join_timeout))
                return s_usage_error("join timeout must be 100..86400000 ms, not '%s'", optarg);
            break;
        case 'h': s_usage(stdout); return RILL_EXIT_OK;
        case ':': return s_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return s_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= split)
        return s_usage_error("%s", "no JOB given");
    if (o->checkpoint_interval && !o->checkpoint_dir)
        return s_usage_error("%s", "--checkpoint-interval needs --checkpoint-dir");
    if (o->checkpoint_dir && !o->checkpoint_interval)
        return s_usage_error("%s", "--checkpoint-dir needs --checkpoint-interval");
    if (optind + 1 < split)
        return s_usage_error("unexpected argument '%s' (job arguments go after --)",
                             argv[optind + 1]);
    if (o->workers && !o->listen)
        return s_usage_error("%s", "--workers needs --listen tcp://ADDR:PORT for them to join");
    o->job = argv[optind];
    //  The job's argv: its name, then everything after "--".
    o->job_argc = 1 + (split < argc ? argc - split - 1 : 0);
    o->job_argv = calloc((size_t)o->job_argc + 1, sizeof(char *));
    if (!o->job_argv)
        return RILL_EXIT_FAILURE;
    o->job_argv[0] = (char *)o->job;
    for (int i = 1; i < o->job_argc; i++)
        o->job_argv[i] = argv[split + i];
    return -1;
}

//  Reads a whole file (the job plugin, to ship it to the workers). NULL when it cannot.
static void *s_read_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    void *bytes = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long length = ftell(file);
        if (length >= 0 && fseek(file, 0, SEEK_SET) == 0 && (bytes = malloc((size_t)length + 1)))
            if (fread(bytes, 1, (size_t)length, file) != (size_t)length) {
                free(bytes);
                bytes = NULL;
            }
        *size = (size_t)(length > 0 ? length : 0);
    }
    fclose(file);
    return bytes;
}

//  The coordinator of a cluster: waits for the workers and ships them the job (its plugin's
//  bytes and this command line). 0, or -1 with a message printed.
static int s_ship_job(rill_cluster_t *cluster, rill_job_plugin_t *plugin, int argc, char **argv,
                      int timeout_ms)
{
    size_t size = 0;
    void *bytes = s_read_file(rill_job_plugin_path(plugin), &size);
    if (!bytes) {
        fprintf(stderr, "rill run: cannot read the job plugin '%s' to ship it: %s\n",
                rill_job_plugin_path(plugin), strerror(errno));
        return -1;
    }
    fprintf(stderr, "rill run: waiting for %d worker%s at the coordinator...\n",
            rill_cluster_size(cluster) - 1, rill_cluster_size(cluster) == 2 ? "" : "s");
    int rc = rill_cluster_gather(cluster, bytes, size, argc, argv, timeout_ms);
    free(bytes);
    if (rc)
        fprintf(stderr, "rill run: %s\n", rill_cluster_error(cluster));
    return rc;
}

//  Runs the job o describes, as part of cluster when there is one. A worker (a cluster of
//  rank > 0) loaded the plugin the coordinator shipped from a file of its own: job_name is
//  the job's name as the coordinator called it. argc, argv: the command line, shipped to the
//  workers by the coordinator.
static int s_execute(s_options_t *o, rill_cluster_t *cluster, const char *job_name, int argc,
                     char **argv)
{
    rill_env_t *env = rill_env_new();
    if (!env) {
        free(o->job_argv);
        return RILL_EXIT_FAILURE;
    }
    rill_env_set_parallelism(env, o->parallelism);
    rill_env_set_mode(env, (rill_mode_t)o->mode);
    rill_env_set_batch_size(env, (size_t)o->batch_size);
    rill_env_set_buffer_timeout(env, o->timeout);
    rill_env_set_mini_batch(env, o->mini_batch);
    if (!o->combine)
        rill_env_set_combine(env, 0);
    if (o->no_chaining)
        rill_env_disable_chaining(env);
    if (o->no_diagnostics)
        rill_env_set_diagnostics(env, false);
    if (o->checkpoint_interval)
        rill_env_enable_checkpointing(env, o->checkpoint_interval, o->checkpoint_dir);
    rill_env_set_checkpoint_timeout(env, o->checkpoint_timeout);
    rill_env_set_checkpoints_kept(env, o->kept);
    rill_env_set_restart(env, o->restart_attempts, o->restart_delay, o->backoff);
    rill_env_restore_from(env, o->restore);
    rill_env_set_savepoint_on_cancel(env, o->savepoint);
    int code;
    rill_job_plugin_t *plugin = rill_job_load(o->job, env, o->job_argc, o->job_argv, &code);
    if (plugin && cluster) {
        if (job_name)
            rill_env_set_job_name(env, job_name);
        if (rill_cluster_rank(cluster) == 0 && s_ship_job(cluster, plugin, argc, argv, o->join_timeout)) {
            code = RILL_EXIT_FAILURE;
            rill_job_plugin_destroy(&plugin);
        } else
            rill_env_set_cluster(env, cluster);
    }
    //  Every output file opens before the job runs: a bad path fails now, not after a long run.
    FILE *trace = NULL, *metrics_file = NULL, *report_file = NULL;
    rill_live_t *live = NULL;
    rill_history_t *history = NULL;
    const char *outputs[3] = {o->trace_path, o->metrics_json, o->report};
    FILE **files[3] = {&trace, &metrics_file, &report_file};
    static const char *what[3] = {"trace", "metrics", "report"};
    for (int i = 0; plugin && i < 3; i++) {
        if (!outputs[i])
            continue;
        if (rill_env_check_output(env, outputs[i])) {
            fprintf(stderr, "rill run: cannot write %s: %s\n", what[i], rill_env_error(env));
            code = RILL_EXIT_FAILURE;
            rill_job_plugin_destroy(&plugin);
            break;
        }
        *files[i] = fopen(outputs[i], "w");
        if (!*files[i]) {
            fprintf(stderr, "rill run: cannot write %s '%s': %s\n", what[i], outputs[i],
                    strerror(errno));
            code = RILL_EXIT_FAILURE;
            rill_job_plugin_destroy(&plugin);
        }
    }
    if (plugin && trace)
        rill_env_set_trace(env, trace, (uint64_t)o->trace_sample);
    if (plugin) {
        live = rill_live_new(o->monitor, o->monitor_interval, isatty(STDERR_FILENO), cluster,
                             o->keys);
        //  The report draws the run over time: keep its history while it runs.
        if (live && report_file && (history = rill_history_new()))
            rill_live_keep_history(live, history);
        if (!live) {
            code = RILL_EXIT_FAILURE;
            rill_job_plugin_destroy(&plugin);
        } else
            rill_live_attach(live, env);
    }
    if (plugin) {
        s_running_env = env;
        struct sigaction action = {.sa_handler = s_on_signal};
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        int rc = rill_env_execute(env);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        s_running_env = NULL;
        rill_live_finish(live, rill_env_metrics(env));
        if (s_terminated) {
            fprintf(stderr, "rill run: stopped by SIGTERM\n");
            code = RILL_EXIT_TERMINATED;
        } else if (rc == 0)
            code = RILL_EXIT_OK;
        else if (rill_env_cancelled(env)) {
            fprintf(stderr, "rill run: %s\n", rill_env_error(env));
            code = RILL_EXIT_CANCELLED;
        } else {
            fprintf(stderr, "rill run: job '%s' failed: %s\n", job_name ? job_name : o->job,
                    rill_env_error(env));
            code = RILL_EXIT_FAILURE;
        }
        rill_job_plugin_finish(plugin, env);
        const rill_metrics_t *counts = rill_env_metrics(env);
        //  A worker's own counts of checkpoints are not the job's: the coordinator reports them.
        if (counts && !(cluster && rill_cluster_rank(cluster) > 0))
            s_print_checkpoints(counts, o->savepoint);
        if (o->metrics && counts) {
            fflush(stdout);
            rill_metrics_table_print(counts, stderr);
        }
        if (metrics_file && counts &&
            s_write_metrics_json(counts, metrics_file, o->metrics_json))
            code = code ? code : RILL_EXIT_FAILURE;
        if (report_file && counts &&
            rill_report_write(counts, report_file, o->report,
                              code == RILL_EXIT_FAILURE ? rill_env_error(env) : NULL, history))
            code = code ? code : RILL_EXIT_FAILURE;
        if (counts)
            metrics_file = report_file = NULL; //  the writers closed them
    }
    //  Opened, but the job never ran (or left no metrics): nothing to write.
    if (metrics_file)
        fclose(metrics_file);
    if (report_file)
        fclose(report_file);
    rill_env_destroy(&env);
    rill_job_plugin_destroy(&plugin);
    rill_live_destroy(&live);
    rill_history_destroy(&history);
    //  Subtasks write the trace through this FILE while the job runs and nobody there can
    //  report a failed write; its error indicator keeps it. A full disk must not pass as a
    //  complete trace, so check the indicator as well as the last flush and the close.
    if (trace) {
        errno = 0;
        bool failed = fflush(trace) != 0 || ferror(trace);
        int why = errno;
        if (fclose(trace) && !failed) {
            failed = true;
            why = errno;
        }
        if (failed) {
            fprintf(stderr, "rill run: cannot write trace '%s': %s\n", o->trace_path,
                    why ? strerror(why) : "a write failed; the trace is incomplete");
            code = code ? code : RILL_EXIT_FAILURE;
        }
    }
    free(o->job_argv);
    return code;
}

int rill_run_worker(rill_cluster_t *cluster)
{
    const void *job;
    size_t size;
    int argc;
    char **argv;
    if (rill_cluster_job(cluster, S_JOIN_TIMEOUT_MS, &job, &size, &argc, &argv)) {
        fprintf(stderr, "rill worker: %s\n", rill_cluster_error(cluster));
        return RILL_EXIT_FAILURE;
    }
    //  The plugin as shipped, in a file of our own to dlopen (removed once loaded and run).
    char path[] = "/tmp/rill-job-XXXXXX.so";
    int fd = mkstemps(path, 3);
    bool written = fd >= 0 && write(fd, job, size) == (ssize_t)size;
    if (fd >= 0 && close(fd))
        written = false;
    if (!written) {
        fprintf(stderr, "rill worker: cannot store the job plugin: %s\n", strerror(errno));
        if (fd >= 0)
            unlink(path);
        return RILL_EXIT_FAILURE;
    }
    s_options_t o;
    int code = argc > 0 ? s_parse(argc, argv, &o) : RILL_EXIT_USAGE;
    if (code == -1) {
        const char *name = o.job;
        const char *slash = strrchr(name, '/');
        //  The coordinator writes the tool's outputs; a worker only runs its subtasks.
        o.metrics = false;
        o.metrics_json = o.monitor = o.trace_path = o.report = NULL;
        o.job = path;
        code = s_execute(&o, cluster, slash ? slash + 1 : name, 0, NULL);
    }
    unlink(path);
    return code;
}

int rill_cmd_run(int argc, char **argv)
{
    s_options_t o;
    int code = s_parse(argc, argv, &o);
    if (code != -1)
        return code;
    //  One process, or one of a cluster: a launcher (mpirun, srun) says so by its variables,
    //  or --workers makes this the coordinator of workers that join by hand.
    int rank = 0, size = 1;
    const char *launcher = "none";
    char error[512];
    if (rill_cluster_launcher(&rank, &size, &launcher, error, sizeof error)) {
        free(o.job_argv);
        fprintf(stderr, "rill run: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    if (o.workers && size > 1) {
        free(o.job_argv);
        return s_usage_error("--workers is for processes started by hand; under %s the "
                             "launcher says how many there are",
                             launcher);
    }
    if (o.workers)
        size = o.workers + 1;
    if (size == 1)
        return s_execute(&o, NULL, NULL, argc, argv);
    if (!o.listen) {
        free(o.job_argv);
        fprintf(stderr, "rill run: started as process %d of %d by %s: give every process "
                        "--listen tcp://HOST:PORT, the address the coordinator (rank 0) "
                        "listens at\n",
                rank, size, launcher);
        return RILL_EXIT_USAGE;
    }
    rill_cluster_options_t options = {.rank = rank,
                                      .size = size,
                                      .coordinator = o.listen,
                                      .advertise = o.advertise,
                                      .keys = o.keys,
                                      .insecure = o.insecure};
    if (!o.keys && o.insecure && rank == 0)
        fprintf(stderr, "rill run: warning: --insecure: the job's tcp sockets carry plain text, "
                        "and anyone who reaches them can join or read the stream\n");
    rill_cluster_t *cluster = rill_cluster_new(&options, error, sizeof error);
    if (!cluster) {
        free(o.job_argv);
        fprintf(stderr, "rill run: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    if (rank == 0)
        code = s_execute(&o, cluster, NULL, argc, argv);
    else {
        //  Under a launcher every rank has the command line, but only the coordinator's
        //  counts: the others run the job it ships, as `rill worker` does.
        free(o.job_argv);
        code = rill_run_worker(cluster);
    }
    rill_cluster_destroy(&cluster);
    return code;
}
