/*  collatz.c: an iteration (rill_iterate.h) as a bundled job. Numbers 1..N go round a loop
    whose body takes one Collatz step (n/2 when even, 3n+1 when odd); a record whose value is
    not 1 yet goes back to the head, one that reached 1 leaves the loop as "n<TAB>steps".
    The loop ends by itself once the input has ended and nothing is left going round. */
#include <rill/rill.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_USAGE "usage: rill run collatz [-p N] -- [--count N] [--output FILE]\n"

const char *rill_job_describe(void)
{
    return "an iteration: each of 1..N round a loop of Collatz steps until it reaches 1, "
           "\"n<TAB>steps\" [-- --count N] [--output FILE]";
}

//  Records are "n<TAB>value<TAB>steps".
static int s_numbers(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    char text[64];
    int size = snprintf(text, sizeof text, "%" PRIu64 "\t%" PRIu64 "\t0", index + 1, index + 1);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static int s_parse(const rill_record_t *in, uint64_t *n, uint64_t *value, uint64_t *steps)
{
    char text[96];
    if (in->size >= sizeof text)
        return -1;
    memcpy(text, in->data, in->size);
    text[in->size] = 0;
    return sscanf(text, "%" SCNu64 "\t%" SCNu64 "\t%" SCNu64, n, value, steps) == 3 ? 0 : -1;
}

static int s_step(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    uint64_t n, value, steps;
    if (s_parse(in, &n, &value, &steps))
        return -1;
    value = value % 2 ? 3 * value + 1 : value / 2;
    return rill_buffer_appendf(out, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64, n, value, steps + 1);
}

static int s_going_on(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    uint64_t n, value, steps;
    if (s_parse(in, &n, &value, &steps))
        return -1;
    return value != 1;
}

static int s_arrived(const rill_record_t *in, void *ctx)
{
    int going_on = s_going_on(in, ctx);
    return going_on < 0 ? -1 : !going_on;
}

static int s_result(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    uint64_t n, value, steps;
    if (s_parse(in, &n, &value, &steps))
        return -1;
    return rill_buffer_appendf(out, "%" PRIu64 "\t%" PRIu64, n, steps);
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    long count = 1000;
    const char *output = NULL;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":c:o:", options, NULL)) != -1) {
        char *end;
        if (option == 'o') {
            output = optarg;
            continue;
        }
        if (option == 'c' && (count = strtol(optarg, &end, 10)) >= 0 && !*end)
            continue;
        fprintf(stderr, S_USAGE);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, S_USAGE);
        return 2;
    }
    rill_stream_t *numbers = rill_stream_name(
        rill_env_from_generator(env, s_numbers, NULL, (uint64_t)count), "Source: numbers");
    rill_iteration_t *loop = rill_stream_iterate(numbers);
    rill_stream_name(rill_iteration_stream(loop), "iterate()");
    rill_stream_t *stepped =
        rill_stream_name(rill_stream_map(rill_iteration_stream(loop), s_step, NULL), "step");
    rill_iteration_close(
        loop, rill_stream_name(rill_stream_filter(stepped, s_going_on, NULL), "not 1 yet"));
    rill_stream_t *arrived =
        rill_stream_name(rill_stream_filter(stepped, s_arrived, NULL), "reached 1");
    //  One sink, so --output is one file.
    rill_stream_parallelism(
        rill_stream_print(rill_stream_name(rill_stream_map(arrived, s_result, NULL), "result"),
                          output),
        1);
    return 0;
}
