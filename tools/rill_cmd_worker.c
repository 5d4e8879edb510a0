/*  rill_cmd_worker.c: `rill worker --join tcp://HOST:PORT`: the plain form of a job across
    processes, for hosts no launcher starts (containers, systemd units, a shell per host). The
    worker joins the coordinator (`rill run JOB --workers N --listen ...`), takes the rank it
    is given, receives the job (plugin and command line) and runs its share of it. */
#include "rill_cli.h"

#include <getopt.h>
#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill worker --join tcp://HOST:PORT [--keys DIR | --insecure] "
            "[--advertise ADDR]\n"
            "\n"
            "Joins the coordinator a 'rill run JOB --workers N --listen tcp://HOST:PORT' opened,\n"
            "receives the job and runs the subtasks it is given; exits with the job's status.\n"
            "\n"
            "options:\n"
            "  --join ENDPOINT    the coordinator's --listen address\n"
            "  --keys DIR         the cluster certificate ('rill keys DIR', copied here)\n"
            "  --insecure         no keys: plain text (the coordinator must agree)\n"
            "  --advertise ADDR   the address other processes reach this one at (default:\n"
            "                     the one the coordinator sees this worker's connection from)\n"
            "  -h, --help         show this help\n");
}

static int s_usage_error(const char *format, const char *detail)
{
    fprintf(stderr, "rill worker: ");
    fprintf(stderr, format, detail);
    fprintf(stderr, "\n\n");
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}

int rill_cmd_worker(int argc, char **argv)
{
    enum { OPT_JOIN = 256, OPT_KEYS, OPT_INSECURE, OPT_ADVERTISE };
    static const struct option options[] = {
        {"join", required_argument, NULL, OPT_JOIN},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"advertise", required_argument, NULL, OPT_ADVERTISE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    rill_cluster_options_t cluster_options = {.rank = -1};
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case OPT_JOIN:
            cluster_options.coordinator = optarg;
            break;
        case OPT_KEYS:
            cluster_options.keys = optarg;
            break;
        case OPT_INSECURE:
            cluster_options.insecure = true;
            break;
        case OPT_ADVERTISE:
            cluster_options.advertise = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return RILL_EXIT_OK;
        case ':':
            return s_usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return s_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    if (!cluster_options.coordinator)
        return s_usage_error("%s", "--join tcp://HOST:PORT is needed");
    char error[512];
    rill_cluster_t *cluster = rill_cluster_new(&cluster_options, error, sizeof error);
    if (!cluster) {
        fprintf(stderr, "rill worker: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    int code = rill_run_worker(cluster);
    rill_cluster_destroy(&cluster);
    return code;
}
