/*  rill.c: the command-line tool's entry: picks the subcommand. */
#include "rill_cli.h"

#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill COMMAND [ARGS]\n"
            "\n"
            "Run, draw and inspect dataflow jobs.\n"
            "\n"
            "commands:\n"
            "  run JOB     run a job (a bundled job's name or a plugin .so path)\n"
            "  jobs        list the bundled jobs\n"
            "  plan JOB    draw a job's logical or parallel dataflow without running it\n"
            "  viz FILE    draw a plan saved as JSON by 'rill plan --format json'\n"
            "  top ENDPOINT  watch a running job's subtasks live ('rill run --monitor')\n"
            "  trace FILE  latency report of records sampled by 'rill run --trace'\n"
            "  worker --join ENDPOINT  run part of a job a 'rill run --workers' coordinates\n"
            "  keys DIR    make the cluster certificate that secures a job's tcp sockets\n"
            "  state PATH  list or print the named state in a checkpoint or savepoint\n"
            "\n"
            "'rill COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return RILL_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        s_usage(stdout);
        return RILL_EXIT_OK;
    }
    if (strcmp(command, "--version") == 0) {
        printf("rill %d.%d.%d\n", RILL_VERSION_MAJOR, RILL_VERSION_MINOR, RILL_VERSION_PATCH);
        return RILL_EXIT_OK;
    }
    if (strcmp(command, "run") == 0)
        return rill_cmd_run(argc - 1, argv + 1);
    if (strcmp(command, "jobs") == 0)
        return rill_cmd_jobs(argc - 1, argv + 1);
    if (strcmp(command, "plan") == 0)
        return rill_cmd_plan(argc - 1, argv + 1);
    if (strcmp(command, "viz") == 0)
        return rill_cmd_viz(argc - 1, argv + 1);
    if (strcmp(command, "top") == 0)
        return rill_cmd_top(argc - 1, argv + 1);
    if (strcmp(command, "trace") == 0)
        return rill_cmd_trace(argc - 1, argv + 1);
    if (strcmp(command, "worker") == 0)
        return rill_cmd_worker(argc - 1, argv + 1);
    if (strcmp(command, "keys") == 0)
        return rill_cmd_keys(argc - 1, argv + 1);
    if (strcmp(command, "state") == 0)
        return rill_cmd_state(argc - 1, argv + 1);
    fprintf(stderr, "rill: unknown command '%s'\n\n", command);
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}
