/*  rill_cmd_trace.c: `rill trace FILE`: reads the hops `rill run --trace FILE` wrote and
    prints, per operator, how long a record spent being handled there and, per edge, how long
    it took to get across (batching, queueing, the hop itself): p50, p99 and max; then per
    receiver and per channel the same, each split into batch fill, queueing and processing
    (the join is rill_trace_analysis.c); then the slowest sampled paths from source to their
    last hop, split hop by hop. --svg draws the slowest path over the parallel view, each hop
    annotated. */
#include "rill_cli.h"
#include "rill_diagram.h"
#include "rill_draw.h"
#include "rill_trace_analysis.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

typedef struct {
    uint64_t *values;
    size_t count;
    size_t capacity;
} s_samples_t;

//  One row of a table: the time of its hops and, for receivers and channels, their split.
typedef struct {
    char label[160];
    s_samples_t total;
    s_samples_t fill, queue, process;
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

static void s_add(s_samples_t *samples, uint64_t value)
{
    if (samples->count == samples->capacity) {
        samples->capacity = samples->capacity ? samples->capacity * 2 : 64;
        samples->values = realloc(samples->values, samples->capacity * sizeof(uint64_t));
    }
    samples->values[samples->count++] = value;
}

//  A hop's split into a receiver's or channel's row: processing always, fill and queue when
//  the sender's line was found, queue only on one clock. A chained hop's fill and queue are
//  0 by definition: rows of them would only fill the screen.
static void s_add_split(s_series_t *series, const rill_trace_hop_t *hop)
{
    s_add(&series->process, hop->out - hop->in);
    if (hop->split && !hop->chained)
        s_add(&series->fill, hop->fill);
    if (hop->split && !hop->chained && !hop->cross_process)
        s_add(&series->queue, hop->queue);
}

static void s_series_free(s_series_t *series)
{
    free(series->total.values);
    free(series->fill.values);
    free(series->queue.values);
    free(series->process.values);
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

//  One line of a table: label, count, p50, p99 and max; 79 columns.
static void s_print_row(const char *label, s_samples_t *samples)
{
    qsort(samples->values, samples->count, sizeof(uint64_t), s_compare_u64);
    char p50[24], p99[24], max[24];
    s_duration(p50, sizeof p50, samples->values[(samples->count - 1) / 2]);
    s_duration(p99, sizeof p99, samples->values[(samples->count - 1) * 99 / 100]);
    s_duration(max, sizeof max, samples->values[samples->count - 1]);
    printf("%-42.42s %6zu %9s %9s %9s\n", label, samples->count, p50, p99, max);
}

//  Prints a table and frees its rows; with split, each row is followed by its hops' batch
//  fill, queueing and processing (the rows a chained hop or a missing sender line leaves
//  empty are not printed).
static void s_print_table(const char *title, s_table_t *table, bool split)
{
    printf("%-42s %6s %9s %9s %9s\n", title, "hops", "p50", "p99", "max");
    for (size_t i = 0; i < table->count; i++) {
        s_series_t *s = &table->items[i];
        s_print_row(s->label, &s->total);
        if (split && s->fill.count)
            s_print_row("  batch fill", &s->fill);
        if (split && s->queue.count)
            s_print_row("  queueing", &s->queue);
        if (split && s->process.count)
            s_print_row("  processing", &s->process);
        s_series_free(s);
    }
    free(table->items);
    printf("\n");
}

static uint64_t s_p99(s_series_t *series)
{
    qsort(series->total.values, series->total.count, sizeof(uint64_t), s_compare_u64);
    return series->total.values[(series->total.count - 1) * 99 / 100];
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
        s_series_free(&table->items[i]);
    if (table->count > rows)
        table->count = rows;
    s_print_table(title, table, true);
    if (all > rows)
        printf("(%zu more, faster at p99)\n\n", all - rows);
}

//  The hop of the same trace at subtask `from` that this hop came from: the latest one that
//  left before this one arrived. Hops of one trace are contiguous in [first, last).
static const rill_trace_hop_t *s_previous(const rill_trace_hop_t *hops, size_t first, size_t last,
                                          const rill_trace_hop_t *hop)
{
    const rill_trace_hop_t *best = NULL;
    for (size_t i = first; i < last; i++)
        if (hops[i].subtask == hop->from && hops[i].out <= hop->in &&
            (!best || hops[i].out > best->out))
            best = &hops[i];
    return best;
}

//  What a trace file holds: hops, sender lines, the plan of its header (NULL: none) and how
//  many hops the runtime could not split.
typedef struct {
    rill_trace_hop_t *hops;
    size_t count;
    rill_trace_send_t *sends;
    size_t send_count;
    json_t *plan;
    uint64_t unsplit;
} s_file_t;

static void s_file_free(s_file_t *file)
{
    free(file->hops);
    free(file->sends);
    json_decref(file->plan);
}

static int s_load(const char *path, s_file_t *loaded)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "rill trace: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t capacity = 1024, send_capacity = 1024, line_number = 0;
    loaded->hops = malloc(capacity * sizeof(rill_trace_hop_t));
    loaded->sends = malloc(send_capacity * sizeof(rill_trace_send_t));
    char *text = NULL;
    size_t text_capacity = 0;
    int rc = 0;
    while (getline(&text, &text_capacity, file) > 0) {
        line_number++;
        rill_trace_line_t line;
        char error[256];
        if (rill_trace_line_parse(text, &line, error, sizeof error)) {
            fprintf(stderr, "rill trace: %s:%zu: %s\n", path, line_number, error);
            rc = -1;
            break;
        }
        switch (line.kind) {
        case RILL_TRACE_LINE_HEADER:
            if (!loaded->plan)
                loaded->plan = line.plan;
            else
                json_decref(line.plan);
            break;
        case RILL_TRACE_LINE_UNSPLIT:
            loaded->unsplit += line.unsplit;
            break;
        case RILL_TRACE_LINE_SENT:
            if (loaded->send_count == send_capacity)
                loaded->sends =
                    realloc(loaded->sends, (send_capacity *= 2) * sizeof(rill_trace_send_t));
            loaded->sends[loaded->send_count++] = line.sent;
            break;
        case RILL_TRACE_LINE_HOP:
            if (loaded->count == capacity)
                loaded->hops = realloc(loaded->hops, (capacity *= 2) * sizeof(rill_trace_hop_t));
            loaded->hops[loaded->count++] = line.hop;
            break;
        }
    }
    free(text);
    fclose(file);
    if (rc == 0 && loaded->count == 0) {
        fprintf(stderr, "rill trace: '%s' holds no hops (was the job run with --trace?)\n", path);
        rc = -1;
    }
    return rc;
}

//  The plan of the trace's header, NULL when it has none or it does not read (error says why).
static rill_plan_t *s_plan(json_t *plan_json, char *error, size_t error_size)
{
    snprintf(error, error_size, "the trace file holds no plan to draw");
    char *text = plan_json ? json_dumps(plan_json, 0) : NULL;
    rill_plan_t *plan = text ? rill_plan_from_json(text, error, error_size) : NULL;
    free(text);
    return plan;
}

//  A hop's split as the paths and the SVG show it: "fill 1.2 ms · queue 30 us" (separator
//  between the two), or why it has none.
static void s_split_text(char *text, size_t size, const rill_trace_hop_t *hop,
                         const char *separator)
{
    char fill[24], queue[24];
    s_duration(fill, sizeof fill, hop->fill);
    s_duration(queue, sizeof queue, hop->queue);
    if (hop->chained)
        snprintf(text, size, "chained");
    else if (!hop->split)
        snprintf(text, size, "fill ?%squeue ?", separator);
    else if (hop->cross_process)
        snprintf(text, size, "fill %s%squeue ~", fill, separator);
    else
        snprintf(text, size, "fill %s%squeue %s", fill, separator, queue);
}

//  Draws the parallel view with the path's subtasks and channels highlighted, each hop's
//  split on its channel, each subtask's processing beside it and the total in the title.
static int s_draw_path(const rill_plan_t *plan, const char *plan_error,
                       const rill_trace_hop_t *const *chain, int length, uint64_t total,
                       const char *path)
{
    if (!plan) {
        fprintf(stderr, "rill trace: %s\n", plan_error);
        return -1;
    }
    int subtasks[64];
    char notes[64][64], hop_notes[64][64];
    const char *note_of[64], *hop_note_of[64];
    for (int i = 0; i < length; i++) {
        const rill_trace_hop_t *hop = chain[i];
        subtasks[i] = hop->subtask;
        char took[24];
        s_duration(took, sizeof took, hop->out - hop->in);
        snprintf(notes[i], sizeof notes[i], "%.24s: proc %s", hop->operator, took);
        note_of[i] = notes[i];
        s_split_text(hop_notes[i], sizeof hop_notes[i], hop, " · ");
        hop_note_of[i] = i > 0 && !hop->chained ? hop_notes[i] : NULL;
    }
    char title[96], took[24];
    s_duration(took, sizeof took, total);
    snprintf(title, sizeof title, "slowest traced path: %s (trace %llu)", took,
             (unsigned long long)chain[0]->trace);
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL,
                                      .format = RILL_FORMAT_SVG,
                                      .path = subtasks,
                                      .path_length = length,
                                      .path_notes = note_of,
                                      .path_hop_notes = hop_note_of,
                                      .path_title = title};
    char *svg = NULL, error[512];
    size_t size = 0;
    rill_diagram_t *renderer = rill_diagram_new();
    int rc = renderer ? rill_diagram_render(renderer, plan, &options, &svg, &size, error,
                                            sizeof error)
                      : -1;
    if (!renderer)
        snprintf(error, sizeof error, "Graphviz cannot start");
    rill_diagram_destroy(&renderer);
    if (rc)
        fprintf(stderr, "rill trace: %s\n", error);
    else
        rc = rill_draw_write(svg, size, path, "trace");
    free(svg);
    return rc;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill trace FILE [--paths N] [--svg OUT]\n"
            "\n"
            "Latency of the records sampled by 'rill run JOB --trace FILE [--trace-sample N]'\n"
            "as p50, p99 and max over hops (a hop: one subtask handling one sampled record;\n"
            "records are payload records, as 'rill run --metrics' counts them):\n"
            "  operator     time handling a record (decoded, to handled)\n"
            "  edge         time from leaving one subtask (handled) to arriving at the next\n"
            "               (decoded): batching, queueing, the hop itself\n"
            "  receiver,    the same per receiving subtask and per channel (sender ->\n"
            "  channel      receiver), slowest first, each split into\n"
            "    batch fill   the record in the sender's batch until the batch was sent\n"
            "    queueing     batch sent to record decoded: a full channel, the receiver's\n"
            "                 queue, the records before it in its batch\n"
            "    processing   the receiver handling the record\n"
            "A chained hop (a function call) has no batch: fill and queueing are 0. Each\n"
            "process has its own clock: a hop between processes shows no queueing ('~').\n"
            "Then the slowest sampled paths, hop by hop.\n"
            "\n"
            "options:\n"
            "  --paths N   how many slowest paths to show (default 5)\n"
            "  --svg OUT   draw the slowest path over the parallel dataflow, each hop's\n"
            "              split on its channel and processing beside its subtask\n");
}

//  Per trace: its end-to-end time and the hop that ended last (for the slowest paths).
typedef struct {
    uint64_t total;
    size_t first, last, end;
} s_path_t;

//  Prints one path, hop by hop, and draws it when svg is set (the slowest one). 0 or -1.
static int s_print_path(const rill_trace_hop_t *hops, s_path_t path, const rill_plan_t *plan,
                        const char *plan_error, const char *svg)
{
    char total[24];
    s_duration(total, sizeof total, path.total);
    printf("%s path of trace %llu:", total, (unsigned long long)hops[path.first].trace);
    const rill_trace_hop_t *chain[64];
    int length = 0;
    for (const rill_trace_hop_t *hop = &hops[path.end]; hop && length < 64;
         hop = hop->from >= 0 ? s_previous(hops, path.first, path.last, hop) : NULL)
        chain[length++] = hop;
    //  Source first.
    for (int i = 0; i < length / 2; i++) {
        const rill_trace_hop_t *swap = chain[i];
        chain[i] = chain[length - 1 - i];
        chain[length - 1 - i] = swap;
    }
    for (int i = 0; i < length; i++) {
        char wait[24] = "";
        if (i > 0)
            s_duration(wait, sizeof wait, chain[i]->in - chain[i - 1]->out);
        printf("%s%s%s %s [%d]", i > 0 ? " -(" : " ", wait, i > 0 ? ")->" : "", chain[i]->operator,
               chain[i]->index + 1);
    }
    printf("\n");
    for (int i = 0; i < length; i++) {
        char proc[24], split[96] = "";
        s_duration(proc, sizeof proc, chain[i]->out - chain[i]->in);
        if (i > 0)
            s_split_text(split, sizeof split, chain[i], ", ");
        printf("  %s%.30s [%d]: %s%sproc %s\n", i > 0 ? "-> " : "", chain[i]->operator,
               chain[i]->index + 1, split, i > 0 ? ", " : "", proc);
    }
    return svg ? s_draw_path(plan, plan_error, chain, length, path.total, svg) : 0;
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
    s_file_t file = {0};
    if (s_load(argv[optind], &file)) {
        s_file_free(&file); //  a header may have been read before the file failed
        return RILL_EXIT_FAILURE;
    }
    //  The plan says which hops are chained and which cross processes; a trace without one
    //  (or with one that does not read) still prints, with those hops unsplit.
    char plan_error[512];
    rill_plan_t *plan = s_plan(file.plan, plan_error, sizeof plan_error);
    if (plan)
        rill_trace_mark(file.hops, file.count, plan);
    size_t unsplit = 0;
    s_path_t *worst = calloc(file.count, sizeof(s_path_t));
    if (!worst || rill_trace_join(file.hops, file.count, file.sends, file.send_count, &unsplit)) {
        fprintf(stderr, "rill trace: out of memory\n");
        free(worst);
        rill_plan_destroy(&plan);
        s_file_free(&file);
        return RILL_EXIT_FAILURE;
    }
    const rill_trace_hop_t *hops = file.hops;
    size_t count = file.count;
    s_table_t operators = {0}, edges = {0}, channels = {0}, receivers = {0};
    size_t traces = 0, crossing = 0, over_channels = 0;
    for (size_t first = 0; first < count;) {
        size_t last = first;
        while (last < count && hops[last].trace == hops[first].trace)
            last++;
        uint64_t start = hops[first].in, end = hops[first].out;
        size_t end_hop = first;
        for (size_t i = first; i < last; i++) {
            const rill_trace_hop_t *hop = &hops[i];
            s_add(&s_series(&operators, hop->operator)->total, hop->out - hop->in);
            if (hop->in < start)
                start = hop->in;
            if (hop->out >= end)
                end = hop->out, end_hop = i;
            over_channels += hop->from >= 0 && !hop->chained;
            crossing += hop->from >= 0 && hop->cross_process;
            const rill_trace_hop_t *before =
                hop->from >= 0 ? s_previous(hops, first, last, hop) : NULL;
            if (before) {
                char label[160];
                snprintf(label, sizeof label, "%.60s -> %.60s", before->operator, hop->operator);
                s_add(&s_series(&edges, label)->total, hop->in - before->out);
                snprintf(label, sizeof label, "%.18s [%d] -> %.18s [%d]", before->operator,
                         before->index + 1, hop->operator, hop->index + 1);
                s_series_t *channel = s_series(&channels, label);
                s_add(&channel->total, hop->in - before->out);
                s_add_split(channel, hop);
                snprintf(label, sizeof label, "-> %.30s [%d]", hop->operator, hop->index + 1);
                s_series_t *receiver = s_series(&receivers, label);
                s_add(&receiver->total, hop->in - before->out);
                s_add_split(receiver, hop);
            }
        }
        worst[traces++] = (s_path_t){end - start, first, last, end_hop};
        first = last;
    }
    printf("%zu hops of %zu sampled records\n", count, traces);
    printf("%zu hops over a channel, %zu split into batch fill and queueing\n", over_channels,
           over_channels - unsplit);
    if (file.unsplit)
        printf("%llu hops not split: their batches held more sampled records than it keeps\n",
               (unsigned long long)file.unsplit);
    if (crossing)
        printf("%zu hops crossed processes: two clocks, so no queueing for them ('~')\n", crossing);
    printf("\n");
    s_print_table("operator (time handling a record)", &operators, false);
    s_print_table("edge (time from one subtask to the next)", &edges, false);
    s_print_slowest("receiver (time to reach it, slowest first)", &receivers, 10);
    s_print_slowest("channel (sender -> receiver, slowest first)", &channels, 10);
    //  The slowest paths: walk back from each slow trace's last hop to its source.
    int rc = RILL_EXIT_OK;
    for (int shown = 0; shown < paths && shown < (int)traces; shown++) {
        size_t pick = (size_t)shown;
        for (size_t i = (size_t)shown + 1; i < traces; i++)
            if (worst[i].total > worst[pick].total)
                pick = i;
        s_path_t path = worst[pick];
        worst[pick] = worst[shown];
        worst[shown] = path;
        if (s_print_path(hops, path, plan, plan_error, shown == 0 ? svg : NULL)) {
            rc = RILL_EXIT_FAILURE;
            break;
        }
    }
    free(worst);
    rill_plan_destroy(&plan);
    s_file_free(&file);
    return rc;
usage:
    fprintf(stderr, "rill trace: bad arguments\n\n");
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}
