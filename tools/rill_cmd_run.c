/*  rill_cmd_run.c: `rill run JOB`: makes an environment from the command line, lets the job
    plugin build its graph, executes it, and reports. Ctrl-C once drains the job (sources
    stop, records in flight are delivered); twice stops it at once. */
#include "rill_cli.h"
#include "rill_metrics_table.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>

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
            "  --metrics                print per-subtask and per-channel counts after the run\n"
            "  -h, --help               show this help\n"
            "\n"
            "exit status: 0 done, 1 the job failed, 2 usage error, 130 cancelled\n",
            RILL_MAX_PARALLELISM, RILL_DEFAULT_BATCH_SIZE, RILL_DEFAULT_BUFFER_TIMEOUT);
}

//  The signal handler needs the environment; a tool may keep this one static.
static rill_env_t *s_running_env;

static void s_on_signal(int signal)
{
    if (s_running_env)
        rill_env_cancel(s_running_env);
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
    enum { OPT_MODE = 256, OPT_BATCH, OPT_TIMEOUT, OPT_METRICS };
    static const struct option options[] = {
        {"parallelism", required_argument, NULL, 'p'},
        {"mode", required_argument, NULL, OPT_MODE},
        {"batch-size", required_argument, NULL, OPT_BATCH},
        {"buffer-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"metrics", no_argument, NULL, OPT_METRICS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int parallelism = 1, mode = RILL_MODE_AUTOMATIC, batch_size = RILL_DEFAULT_BATCH_SIZE;
    int timeout = RILL_DEFAULT_BUFFER_TIMEOUT;
    bool metrics = false;
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
        case OPT_METRICS: metrics = true; break;
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
    int code;
    rill_job_plugin_t *plugin = rill_job_load(job, env, job_argc, job_argv, &code);
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
        if (rc == 0)
            code = RILL_EXIT_OK;
        else if (rill_env_cancelled(env)) {
            fprintf(stderr, "rill run: %s\n", rill_env_error(env));
            code = RILL_EXIT_CANCELLED;
        } else {
            fprintf(stderr, "rill run: job '%s' failed: %s\n", job, rill_env_error(env));
            code = RILL_EXIT_FAILURE;
        }
        rill_job_plugin_finish(plugin, env);
        if (metrics && rill_env_metrics(env)) {
            fflush(stdout);
            rill_metrics_table_print(rill_env_metrics(env), stderr);
        }
    }
    rill_env_destroy(&env);
    rill_job_plugin_destroy(&plugin);
    free(job_argv);
    return code;
}
