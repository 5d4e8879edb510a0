/*  exchange_patterns.c: a job plugin for the tests that run one job across processes
    (test_cluster.c). Generated records cross one exchange of the pattern named by --pattern,
    into an operator of --receivers subtasks, then reach one file sink; whatever the processes,
    the file must hold the same lines as a run in one process. */
#include <rill/rill.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_generate(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[48];
    int size = snprintf(text, sizeof text, "k%llu\t%llu", (unsigned long long)(index % 37),
                        (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

//  The receivers tag what they got with their own subtask index, so that a record that went to
//  another receiver, astray or twice shows in the file.
static int s_tag(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[96];
    int size = snprintf(text, sizeof text, "got\t%d\t%.*s", rill_collector_subtask(out),
                        (int)in->size, (const char *)in->data);
    return rill_collector_emit(out, text, (size_t)size, in->timestamp);
}

static int s_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    key->data = in->data;
    key->size = tab ? (size_t)(tab - (const char *)in->data) : in->size;
    return 0;
}

//  Custom partitioning: the number after the tab, modulo the receivers.
static int s_partition(const rill_record_t *in, const rill_key_t *key, int receivers, void *ctx)
{
    (void)key;
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    return tab ? (int)(strtoull(tab + 1, NULL, 10) % (unsigned long long)receivers) : 0;
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"pattern", required_argument, NULL, 'p'},
        {"receivers", required_argument, NULL, 'r'},
        {"count", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *pattern = "hash", *output = NULL;
    int receivers = 0;
    long count = 5000;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'p':
            pattern = optarg;
            break;
        case 'r':
            receivers = atoi(optarg);
            break;
        case 'c':
            count = atol(optarg);
            break;
        case 'o':
            output = optarg;
            break;
        default:
            fprintf(stderr, "exchange-patterns: bad option\n");
            return 2;
        }
    }
    if (!output || count < 0) {
        fprintf(stderr, "exchange-patterns: --output FILE is needed\n");
        return 2;
    }
    rill_stream_t *source = rill_env_from_generator(env, s_generate, NULL, (uint64_t)count);
    rill_stream_t *exchanged = NULL;
    if (strcmp(pattern, "forward") == 0)
        exchanged = rill_stream_forward(source);
    else if (strcmp(pattern, "broadcast") == 0)
        exchanged = rill_stream_broadcast(source);
    else if (strcmp(pattern, "rebalance") == 0)
        exchanged = rill_stream_rebalance(source);
    else if (strcmp(pattern, "rescale") == 0)
        exchanged = rill_stream_rescale(source);
    else if (strcmp(pattern, "shuffle") == 0)
        exchanged = rill_stream_shuffle(source);
    else if (strcmp(pattern, "global") == 0)
        exchanged = rill_stream_global(source);
    else if (strcmp(pattern, "custom") == 0)
        exchanged = rill_stream_partition_custom(source, s_partition, NULL, NULL, NULL);
    rill_stream_t *received;
    if (strcmp(pattern, "hash") == 0)
        received = rill_stream_count(rill_stream_key_by(source, s_key, NULL));
    else if (exchanged)
        received = rill_stream_flat_map(exchanged, s_tag, NULL);
    else {
        fprintf(stderr, "exchange-patterns: unknown pattern '%s'\n", pattern);
        return 2;
    }
    if (receivers > 0)
        rill_stream_parallelism(received, receivers);
    rill_stream_t *sink = rill_stream_print(received, output);
    rill_stream_parallelism(sink, 1);
    return 0;
}
