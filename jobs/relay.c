/*  relay.c: the connectors' example job. Reads records from --input (a zmq+tcp:// or
    zmq+ipc:// URL, a tcp://HOST:PORT text server, or a text file) and writes them unchanged to
    --output (a zmq+ URL, a file, or stdout when absent). README "Connectors" has the URLs. */
#include <rill/rill.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "relay records between connectors: -- --input URL|FILE [--output URL|FILE]";
}

static void s_usage(void)
{
    fprintf(stderr, "usage: rill run relay [-p N] -- --input URL|FILE [--output URL|FILE]\n"
                    "  zmq+tcp://HOST:PORT?type=pull|sub&mode=connect|bind&end=...  (ZeroMQ)\n"
                    "  tcp://HOST:PORT   (lines from a TCP server)   anything else: a file\n");
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *output = NULL;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":i:o:h", options, NULL)) != -1) {
        switch (option) {
        case 'i':
            input = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        default:
            fprintf(stderr, "relay: bad option '%s'\n", argv[optind - 1]);
            s_usage();
            return 2;
        }
    }
    if (!input || optind < argc) {
        s_usage();
        return 2;
    }
    char error[300];
    rill_stream_t *records;
    if (!strncmp(input, "zmq+", 4)) {
        rill_zmq_options_t parsed;
        if (rill_zmq_url_parse(input, &parsed, error, sizeof error)) {
            fprintf(stderr, "relay: --input: %s\n", error);
            return 2;
        }
        records = rill_env_from_zmq(env, input, NULL);
    } else if (!strncmp(input, "tcp://", 6)) {
        char host[256];
        int port;
        if (rill_socket_text_url_parse(input, host, sizeof host, &port, error, sizeof error)) {
            fprintf(stderr, "relay: --input: %s\n", error);
            return 2;
        }
        records = rill_stream_name(rill_env_from_socket_text(env, host, port), "Source: lines");
    } else
        records = rill_env_from_text_file(env, input);
    if (output && !strncmp(output, "zmq+", 4)) {
        rill_zmq_options_t parsed;
        if (rill_zmq_url_parse(output, &parsed, error, sizeof error)) {
            fprintf(stderr, "relay: --output: %s\n", error);
            return 2;
        }
        rill_stream_to_zmq(records, output, NULL);
    } else
        rill_stream_print(records, output);
    return 0;
}
