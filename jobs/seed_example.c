/*  seed_example.c: the parallel dataflow Flink's concept documentation draws: a source, a
    map(), a key_by()/window() step, and a sink with parallelism 1 (2 elsewhere). The source
    generates sensor readings "sensor-K<TAB>celsius", one every 100 ms of event time; map()
    converts them to Fahrenheit; the window step keeps each sensor's maximum per second and
    emits "start<TAB>end<TAB>sensor<TAB>max". */
#include <rill/rill.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "Flink's example shape: source -> map() -> key_by()/window() -> sink "
           "[-- --count N | --unbounded] [--max-drift MS|off] [--output FILE]";
}

#define S_SENSORS 8

static int s_generate(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[64];
    //  A repeatable reading: each sensor drifts around its own base temperature.
    int sensor = (int)(index % S_SENSORS);
    int celsius = 10 + sensor * 2 + (int)((index * 7919) % 11) - 5;
    int size = snprintf(text, sizeof text, "sensor-%d\t%d", sensor, celsius);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index * 100);
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

static int s_to_fahrenheit(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    const char *text = in->data;
    size_t tab = 0;
    while (tab < in->size && text[tab] != '\t')
        tab++;
    if (tab >= in->size)
        return -1;
    char number[32];
    size_t digits = in->size - tab - 1;
    if (digits >= sizeof number)
        return -1;
    memcpy(number, text + tab + 1, digits);
    number[digits] = 0;
    double fahrenheit = atof(number) * 9.0 / 5.0 + 32.0;
    return rill_buffer_appendf(out, "%.*s\t%.1f", (int)tab, text, fahrenheit);
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'c'},
        {"unbounded", no_argument, NULL, 'u'},
        {"max-drift", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    long count = 10000;
    bool unbounded = false;
    const char *output = NULL;
    //  Watermark alignment is on by default: the source subtasks drift apart otherwise, and
    //  the window state with them (see README, watermark alignment).
    rill_watermarks_t strategy = {0};
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":c:ud:o:", options, NULL)) != -1) {
        char *end;
        if (option == 'o') {
            output = optarg;
            continue;
        }
        if (option == 'u') {
            unbounded = true;
            continue;
        }
        if (option == 'c' && (count = strtol(optarg, &end, 10)) >= 0 && !*end)
            continue;
        if (option == 'd' && strcmp(optarg, "off") == 0) {
            strategy.max_drift_ms = RILL_ALIGNMENT_OFF;
            continue;
        }
        if (option == 'd' && (strategy.max_drift_ms = strtoll(optarg, &end, 10)) >= 1 && !*end)
            continue;
        fprintf(stderr, "usage: rill run seed-example [-p N] -- [--count N | --unbounded] "
                        "[--max-drift MS|off] [--output FILE]\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "usage: rill run seed-example [-p N] -- [--count N | --unbounded] "
                        "[--max-drift MS|off] [--output FILE]\n");
        return 2;
    }
    uint64_t records = unbounded ? RILL_UNBOUNDED : (uint64_t)count;
    //  Each source subtask's timestamps rise, so watermarks need no delay (monotonous).
    rill_stream_t *source = rill_stream_name(
        rill_stream_assign_timestamps(
            rill_stream_name(rill_env_from_generator(env, s_generate, NULL, records), "Source"),
            s_record_time, NULL, &strategy),
        "timestamps");
    rill_stream_t *mapped = rill_stream_name(rill_stream_map(source, s_to_fahrenheit, NULL), "map()");
    rill_keyed_stream_t keyed = rill_stream_key_by(mapped, rill_key_first_field, NULL);
    rill_window_t second = rill_window_tumbling(1000);
    rill_stream_t *maxima = rill_stream_name(
        rill_stream_window_builtin(keyed, &second, RILL_WINDOW_AGG_MAX), "key_by()/window()");
    rill_stream_parallelism(rill_stream_name(rill_stream_print(maxima, output), "Sink"), 1);
    return 0;
}
