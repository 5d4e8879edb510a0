/*  rill_cmd_trace.c: `rill trace FILE`: reads the hops `rill run --trace FILE` wrote and
    prints, per operator, how long a record spent being handled there and, per edge, how long
    it took to get across (batching, queueing, the hop itself): p50, p99 and max; then the
    slowest sampled paths from source to their last hop. --svg draws the slowest path over the
    parallel view. */
#include "rill_cli.h"
#include "rill_diagram.h"
#include "rill_draw.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

typedef struct {
    uint64_t trace;
    int subtask;
    int op;
    int index;
    int from;
    int edge;
    uint64_t in;
    uint64_t out;
    char operator[64];
} s_hop_t;

typedef struct {
    char label[160];
    uint64_t *samples;
    size_t count;
    size_t capacity;
} s_series_t;

typedef struct {
    s_series_t *items;
    size_t count;
} s_table_t;

static s_series_t *s_series(s_table_t *table, const char *label)
{
    for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->items[i].label, label) == 0)
            return &table->items[i];
    table->items = realloc(table->items, (table->count + 1) * sizeof(s_series_t));
    s_series_t *series = &table->items[table->count++];
    memset(series, 0, sizeof *series);
    snprintf(series->label, sizeof series->label, "%s", label);
    return series;
}

static void s_add(s_series_t *series, uint64_t value)
{
    if (series->count == series->capacity) {
        series->capacity = series->capacity ? series->capacity * 2 : 64;
        series->samples = realloc(series->samples, series->capacity * sizeof(uint64_t));
    }
    series->samples[series->count++] = value;
}

static int s_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

//  "850 ns", "12.3 us", "4.56 ms", "1.2 s".
static void s_duration(char *text, size_t size, uint64_t ns)
{
    if (ns >= 1000000000ull)
        snprintf(text, size, "%.3g s", (double)ns / 1e9);
    else if (ns >= 1000000)
        snprintf(text, size, "%.3g ms", (double)ns / 1e6);
    else if (ns >= 1000)
        snprintf(text, size, "%.3g us", (double)ns / 1e3);
    else
        snprintf(text, size, "%llu ns", (unsigned long long)ns);
}

static void s_print_table(const char *title, s_table_t *table)
{
    printf("%-44s %7s %10s %10s %10s\n", title, "hops", "p50", "p99", "max");
    for (size_t i = 0; i < table->count; i++) {
        s_series_t *s = &table->items[i];
        qsort(s->samples, s->count, sizeof(uint64_t), s_compare_u64);
        char p50[24], p99[24], max[24];
        s_duration(p50, sizeof p50, s->samples[(s->count - 1) / 2]);
        s_duration(p99, sizeof p99, s->samples[(s->count - 1) * 99 / 100]);
        s_duration(max, sizeof max, s->samples[s->count - 1]);
        printf("%-44.44s %7zu %10s %10s %10s\n", s->label, s->count, p50, p99, max);
        free(s->samples);
    }
    free(table->items);
    printf("\n");
}

static uint64_t s_p99(s_series_t *series)
{
    qsort(series->samples, series->count, sizeof(uint64_t), s_compare_u64);
    return series->samples[(series->count - 1) * 99 / 100];
}

static int s_by_p99(const void *a, const void *b)
{
    uint64_t x = s_p99((s_series_t *)a), y = s_p99((s_series_t *)b);
    return (x < y) - (x > y);
}

//  A table with its slowest rows first (by p99), at most `rows` of them: per channel, the
//  hot receiver's queue stands out where an edge's pooled figures hide it.
static void s_print_slowest(const char *title, s_table_t *table, size_t rows)
{
    if (table->count > 1) //  an empty table has no items to sort (NULL)
        qsort(table->items, table->count, sizeof(s_series_t), s_by_p99);
    size_t all = table->count;
    for (size_t i = rows; i < all; i++)
        free(table->items[i].samples);
    if (table->count > rows)
        table->count = rows;
    s_print_table(title, table);
    if (all > rows)
        printf("(%zu more, faster at p99)\n\n", all - rows);
}

static int s_by_trace(const void *a, const void *b)
{
    const s_hop_t *x = a, *y = b;
    if (x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    return (x->in > y->in) - (x->in < y->in);
}

//  The hop of the same trace at subtask `from` that this hop came from: the latest one that
//  left before this one arrived. Hops of one trace are contiguous in [first, last).
static const s_hop_t *s_previous(const s_hop_t *hops, size_t first, size_t last,
                                 const s_hop_t *hop)
{
    const s_hop_t *best = NULL;
    for (size_t i = first; i < last; i++)
        if (hops[i].subtask == hop->from && hops[i].out <= hop->in &&
            (!best || hops[i].out > best->out))
            best = &hops[i];
    return best;
}

static int s_load(const char *path, s_hop_t **hops_p, size_t *count_p, json_t **plan_p)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "rill trace: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t count = 0, capacity = 1024, line_number = 0;
    s_hop_t *hops = malloc(capacity * sizeof(s_hop_t));
    char *line = NULL;
    size_t line_capacity = 0;
    int rc = 0;
    while (getline(&line, &line_capacity, file) > 0) {
        line_number++;
        json_error_t error;
        json_t *object = json_loads(line, 0, &error);
        if (!object) {
            fprintf(stderr, "rill trace: %s:%zu: not JSON: %s\n", path, line_number, error.text);
            rc = -1;
            break;
        }
        if (json_object_get(object, "rill_trace")) {
            if (plan_p && !*plan_p)
                *plan_p = json_incref(json_object_get(object, "plan"));
            json_decref(object);
            continue;
        }
        json_t *from = json_object_get(object, "from");
        json_t *name = json_object_get(object, "operator");
        if (!json_is_integer(json_object_get(object, "trace")) || !json_is_string(name) ||
            !json_is_integer(json_object_get(object, "time_in"))) {
            fprintf(stderr, "rill trace: %s:%zu: not a trace hop\n", path, line_number);
            json_decref(object);
            rc = -1;
            break;
        }
        if (count == capacity)
            hops = realloc(hops, (capacity *= 2) * sizeof(s_hop_t));
        s_hop_t *hop = &hops[count++];
        hop->trace = (uint64_t)json_integer_value(json_object_get(object, "trace"));
        hop->subtask = (int)json_integer_value(json_object_get(object, "subtask"));
        hop->op = (int)json_integer_value(json_object_get(object, "op"));
        hop->index = (int)json_integer_value(json_object_get(object, "index"));
        hop->from = json_is_integer(from) ? (int)json_integer_value(from) : -1;
        hop->edge = hop->from >= 0 ? (int)json_integer_value(json_object_get(object, "edge")) : -1;
        hop->in = (uint64_t)json_integer_value(json_object_get(object, "time_in"));
        hop->out = (uint64_t)json_integer_value(json_object_get(object, "time_out"));
        snprintf(hop->operator, sizeof hop->operator, "%s", json_string_value(name));
        json_decref(object);
    }
    free(line);
    fclose(file);
    if (rc == 0 && count == 0) {
        fprintf(stderr, "rill trace: '%s' holds no hops (was the job run with --trace?)\n", path);
        rc = -1;
    }
    if (rc) {
        free(hops);
        return -1;
    }
    *hops_p = hops;
    *count_p = count;
    return 0;
}

//  Draws the parallel view with the path's subtasks and channels highlighted.
static int s_draw_path(json_t *plan_json, const int *subtasks, int length, const char *path)
{
    char *text = plan_json ? json_dumps(plan_json, 0) : NULL;
    char error[512] = "the trace file holds no plan to draw";
    rill_plan_t *plan = text ? rill_plan_from_json(text, error, sizeof error) : NULL;
    free(text);
    if (!plan) {
        fprintf(stderr, "rill trace: %s\n", error);
        return -1;
    }
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_SVG,
                                      .path = subtasks, .path_length = length};
    char *svg = NULL;
    size_t size = 0;
    rill_diagram_t *renderer = rill_diagram_new();
    int rc = renderer ? rill_diagram_render(renderer, plan, &options, &svg, &size, error,
                                            sizeof error)
                      : -1;
    rill_diagram_destroy(&renderer);
    if (rc)
        fprintf(stderr, "rill trace: %s\n", error);
    else
        rc = rill_draw_write(svg, size, path, "trace");
    free(svg);
    rill_plan_destroy(&plan);
    return rc;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: rill trace FILE [--paths N] [--svg OUT]\n"
                 "\n"
                 "Latency of the records sampled by 'rill run JOB --trace FILE [--trace-sample N]':\n"
                 "per operator (time spent handling a record) and per edge (time from leaving one\n"
                 "subtask to arriving at the next: batching, queueing, the hop), p50, p99 and max;\n"
                 "then the slowest sampled paths.\n"
                 "\n"
                 "options:\n"
                 "  --paths N   how many slowest paths to show (default 5)\n"
                 "  --svg OUT   draw the slowest path over the parallel dataflow\n");
}

int rill_cmd_trace(int argc, char **argv)
{
    static const struct option options[] = {
        {"paths", required_argument, NULL, 'n'},
        {"svg", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int paths = 5;
    const char *svg = NULL;
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'n':
            if (rill_cli_parse_int(optarg, 0, 1000, &paths))
                goto usage;
            break;
        case 's': svg = optarg; break;
        case 'h': s_usage(stdout); return RILL_EXIT_OK;
        default: goto usage;
        }
    }
    if (optind != argc - 1)
        goto usage;
    s_hop_t *hops;
    size_t count;
    json_t *plan = NULL;
    if (s_load(argv[optind], &hops, &count, &plan)) {
        json_decref(plan); //  a header may have been read before the file failed
        return RILL_EXIT_FAILURE;
    }
    qsort(hops, count, sizeof(s_hop_t), s_by_trace);
    s_table_t operators = {0}, edges = {0}, channels = {0}, receivers = {0};
    size_t traces = 0;
    //  Per trace: its end-to-end time and the hop that ended last (for the slowest paths).
    typedef struct {
        uint64_t total;
        size_t first, last, end;
    } s_path_t;
    s_path_t *worst = calloc(count, sizeof(s_path_t));
    for (size_t first = 0; first < count;) {
        size_t last = first;
        while (last < count && hops[last].trace == hops[first].trace)
            last++;
        uint64_t start = hops[first].in, end = hops[first].out;
        size_t end_hop = first;
        for (size_t i = first; i < last; i++) {
            const s_hop_t *hop = &hops[i];
            s_add(s_series(&operators, hop->operator), hop->out - hop->in);
            if (hop->in < start)
                start = hop->in;
            if (hop->out >= end)
                end = hop->out, end_hop = i;
            const s_hop_t *before = hop->from >= 0 ? s_previous(hops, first, last, hop) : NULL;
            if (before) {
                char label[160];
                snprintf(label, sizeof label, "%.60s -> %.60s", before->operator, hop->operator);
                s_add(s_series(&edges, label), hop->in - before->out);
                snprintf(label, sizeof label, "%.18s [%d] -> %.18s [%d]", before->operator,
                         before->index + 1, hop->operator, hop->index + 1);
                s_add(s_series(&channels, label), hop->in - before->out);
                snprintf(label, sizeof label, "-> %.30s [%d]", hop->operator, hop->index + 1);
                s_add(s_series(&receivers, label), hop->in - before->out);
            }
        }
        worst[traces++] = (s_path_t){end - start, first, last, end_hop};
        first = last;
    }
    printf("%zu hops of %zu sampled records\n\n", count, traces);
    s_print_table("operator (time handling a record)", &operators);
    s_print_table("edge (time from one subtask to the next)", &edges);
    s_print_slowest("receiver (time to reach it, slowest first)", &receivers, 10);
    s_print_slowest("channel (sender -> receiver, slowest first)", &channels, 10);
    //  The slowest paths: walk back from each slow trace's last hop to its source.
    for (int shown = 0; shown < paths && shown < (int)traces; shown++) {
        size_t pick = (size_t)shown;
        for (size_t i = (size_t)shown + 1; i < traces; i++)
            if (worst[i].total > worst[pick].total)
                pick = i;
        s_path_t path = worst[pick];
        worst[pick] = worst[shown];
        worst[shown] = path;
        char total[24];
        s_duration(total, sizeof total, path.total);
        printf("%s path of trace %llu:", total, (unsigned long long)hops[path.first].trace);
        const s_hop_t *chain[64];
        int length = 0;
        for (const s_hop_t *hop = &hops[path.end]; hop && length < 64;
             hop = hop->from >= 0 ? s_previous(hops, path.first, path.last, hop) : NULL)
            chain[length++] = hop;
        for (int i = length - 1; i >= 0; i--) {
            char wait[24] = "";
            if (i < length - 1)
                s_duration(wait, sizeof wait, chain[i]->in - chain[i + 1]->out);
            printf("%s%s%s %s [%d]", i < length - 1 ? " -(" : " ", wait, i < length - 1 ? ")->" : "",
                   chain[i]->operator, chain[i]->index + 1);
        }
        printf("\n");
        if (shown == 0 && svg) {
            int subtasks[64];
            for (int i = 0; i < length; i++)
                subtasks[i] = chain[length - 1 - i]->subtask;
            if (s_draw_path(plan, subtasks, length, svg)) {
                free(worst);
                free(hops);
                json_decref(plan);
                return RILL_EXIT_FAILURE;
            }
        }
    }
    free(worst);
    free(hops);
    json_decref(plan);
    return RILL_EXIT_OK;
usage:
    fprintf(stderr, "rill trace: bad arguments\n\n");
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}
