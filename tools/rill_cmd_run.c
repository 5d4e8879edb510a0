/*  rill_cmd_run.c: `rill run JOB`: makes an environment from the command line, lets the job
    plugin build its graph, executes it, and reports. Ctrl-C once drains the job (sources
    stop, records in flight are delivered); twice stops it at once. */
#include "rill_cli.h"
#include "rill_live.h"
#include "rill_metrics_table.h"
#include "rill_report.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

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
            "  --mini-batch MS          streaming: keyed reduces emit each changed key's\n"
            "                           latest value every MS ms (1..3600000), not every\n"
            "                           update, and senders pre-aggregate for them (0: off,\n"
            "                           the default)\n"
            "  --no-chaining            run every operator subtask in its own thread (no\n"
            "                           operator chains)\n"
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

int rill_cmd_run(int argc, char **argv)
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
        OPT_MINI_BATCH,
        OPT_NO_CHAINING,
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
        {"mini-batch", required_argument, NULL, OPT_MINI_BATCH},
        {"no-chaining", no_argument, NULL, OPT_NO_CHAINING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int parallelism = 1, mode = RILL_MODE_AUTOMATIC, batch_size = RILL_DEFAULT_BATCH_SIZE;
    int timeout = RILL_DEFAULT_BUFFER_TIMEOUT, mini_batch = 0;
    bool metrics = false, combine = true, no_chaining = false;
    const char *metrics_json = NULL, *monitor = NULL, *trace_path = NULL, *report = NULL;
    int monitor_interval = 1000, trace_sample = 1000;
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(split, argv, ":p:h", options, NULL)) != -1) {
        switch (option) {
        case 'p':
            if (rill_cli_parse_int(optarg, 1, RILL_MAX_PARALLELISM, &parallelism))
                return s_usage_error("parallelism must be a whole number from 1 to 256, not '%s'",
                                     optarg);
            break;
        case OPT_MODE:
            if ((mode = rill_mode_from_name(optarg)) < 0)
                return s_usage_error("unknown mode '%s' (streaming, batch, automatic)", optarg);
            break;
        case OPT_BATCH:
            if (rill_cli_parse_int(optarg, 64, 64 * 1024 * 1024, &batch_size))
                return s_usage_error("batch size must be 64..67108864 bytes, not '%s'", optarg);
            break;
        case OPT_TIMEOUT:
            if (rill_cli_parse_int(optarg, 0, 3600 * 1000, &timeout))
                return s_usage_error("buffer timeout must be 0..3600000 ms, not '%s'", optarg);
            break;
        case OPT_NO_COMBINE: combine = false; break;
        case OPT_MINI_BATCH:
            if (rill_cli_parse_int(optarg, 0, 3600 * 1000, &mini_batch))
                return s_usage_error("mini-batch interval must be 0..3600000 ms, not '%s'", optarg);
            break;
        case OPT_METRICS: metrics = true; break;
        case OPT_METRICS_JSON: metrics_json = optarg; break;
        case OPT_MONITOR: monitor = optarg; break;
        case OPT_MONITOR_INTERVAL:
            if (rill_cli_parse_int(optarg, 10, 3600 * 1000, &monitor_interval))
                return s_usage_error("monitor interval must be 10..3600000 ms, not '%s'", optarg);
            break;
        case OPT_TRACE: trace_path = optarg; break;
        case OPT_TRACE_SAMPLE:
            if (rill_cli_parse_int(optarg, 1, 1 << 30, &trace_sample))
                return s_usage_error("trace sample must be a whole number >= 1, not '%s'", optarg);
            break;
        case OPT_REPORT: report = optarg; break;
        case OPT_NO_CHAINING: no_chaining = true; break;
        case 'h': s_usage(stdout); return RILL_EXIT_OK;
        case ':': return s_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return s_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= split)
        return s_usage_error("%s", "no JOB given");
    if (optind + 1 < split)
        return s_usage_error("unexpected argument '%s' (job arguments go after --)",
                             argv[optind + 1]);
    const char *job = argv[optind];
    //  The job's argv: its name, then everything after "--".
    int job_argc = 1 + (split < argc ? argc - split - 1 : 0);
    char **job_argv = calloc((size_t)job_argc + 1, sizeof(char *));
    if (!job_argv)
        return RILL_EXIT_FAILURE;
    job_argv[0] = (char *)job;
    for (int i = 1; i < job_argc; i++)
        job_argv[i] = argv[split + i];

    rill_env_t *env = rill_env_new();
    if (!env) {
        free(job_argv);
        return RILL_EXIT_FAILURE;
    }
    rill_env_set_parallelism(env, parallelism);
    rill_env_set_mode(env, (rill_mode_t)mode);
    rill_env_set_batch_size(env, (size_t)batch_size);
    rill_env_set_buffer_timeout(env, timeout);
    rill_env_set_mini_batch(env, mini_batch);
    if (!combine)
        rill_env_set_combine(env, 0);
    if (no_chaining)
        rill_env_disable_chaining(env);
    int code;
    rill_job_plugin_t *plugin = rill_job_load(job, env, job_argc, job_argv, &code);
    //  Every output file opens before the job runs: a bad path fails now, not after a long run.
    FILE *trace = NULL, *metrics_file = NULL, *report_file = NULL;
    rill_live_t *live = NULL;
    const char *outputs[3] = {trace_path, metrics_json, report};
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
        rill_env_set_trace(env, trace, (uint64_t)trace_sample);
    if (plugin) {
        live = rill_live_new(monitor, monitor_interval, isatty(STDERR_FILENO));
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
            fprintf(stderr, "rill run: job '%s' failed: %s\n", job, rill_env_error(env));
            code = RILL_EXIT_FAILURE;
        }
        rill_job_plugin_finish(plugin, env);
        const rill_metrics_t *counts = rill_env_metrics(env);
        if (metrics && counts) {
            fflush(stdout);
            rill_metrics_table_print(counts, stderr);
        }
        if (metrics_file && counts &&
            s_write_metrics_json(counts, metrics_file, metrics_json))
            code = code ? code : RILL_EXIT_FAILURE;
        if (report_file && counts && rill_report_write(counts, report_file, report))
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
            fprintf(stderr, "rill run: cannot write trace '%s': %s\n", trace_path,
                    why ? strerror(why) : "a write failed; the trace is incomplete");
            code = code ? code : RILL_EXIT_FAILURE;
        }
    }
    free(job_argv);
    return code;
}
