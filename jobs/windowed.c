/*  windowed.c: windowed aggregation of a timestamped CSV file. The header row names the
    columns; each row's time (ISO-8601 UTC or epoch milliseconds), key and value are picked
    by name, windowed by event time per key, aggregated, and printed as
    window_start,window_end,key,value (bounds in epoch ms, end exclusive). Rows that do not
    parse are counted and the first few reported on stderr with their line numbers. */
#include <rill/rill.h>
#include "rill_job_args.h"
#include "rill_job_io.h"
#include "windowed_parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *rill_job_describe(void)
{
    return "event-time windows over a CSV file: -- --input FILE --time-column C --key-column C "
           "--value-column C --window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP [--agg A] "
           "[--max-record-size B] [--output FILE]";
}

#define S_REPORTED_ROWS 5

//  What the row parser needs, and what it counts. The parse step runs as one subtask (line
//  numbers need one reader), so these counters have one writer.
typedef struct {
    rill_windowed_columns_t columns; //  columns.columns 0: not read yet (input from a pipe)
    char *header;                    //  the header line, to skip it (NULL: line 1 is it)
    char *input;                     //  for messages
    char *names[3];                  //  time, key and value column names
    uint64_t line;
    uint64_t bad_rows;
    uint64_t late_rows; //  counted by the late-record reporter, also one subtask
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

static void s_bad_row(s_job_t *job, const char *why, const rill_record_t *in)
{
    job->bad_rows++;
    if (job->bad_rows <= S_REPORTED_ROWS)
        fprintf(stderr, "windowed: line %llu: %s: %.*s\n", (unsigned long long)job->line, why,
                (int)(in->size > 120 ? 120 : in->size), (const char *)in->data);
}

//  Input that could not be read ahead (a pipe): line 1 is the header. 0, or -1 (reported).
static int s_read_header(s_job_t *job, const char *line, size_t size)
{
    const char *missing = rill_windowed_parse_header(line, size, job->names[0], job->names[1],
                                                     job->names[2], &job->columns);
    if (missing) {
        fprintf(stderr, "windowed: the header of '%s' has no column '%s' (it has: %.*s)\n",
                job->input, missing, (int)(size > 200 ? 200 : size), line);
        return -1;
    }
    return 0;
}

//  One CSV row -> "LINE<TAB>KEY<TAB>VALUE" with the row's time as timestamp. The line number
//  travels with the row, so a row found late after the window step is reported by line; the
//  key is everything between the first and the last TAB (it may hold TABs itself).
static int s_parse_row(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_job_t *job = ctx;
    const char *line = in->data;
    size_t size = in->size;
    if (++job->line == 1) {
        size_t bom = rill_windowed_bom(line, size);
        line += bom;
        size -= bom;
        if (!job->header)
            return s_read_header(job, line, size);
        if (size == strlen(job->header) && memcmp(line, job->header, size) == 0)
            return 0;
    }
    if (size == 0)
        return 0; //  blank lines carry nothing
    rill_windowed_row_t row;
    const char *why = rill_windowed_parse_row(&job->columns, line, size, &row);
    if (why) {
        s_bad_row(job, why, in);
        return 0;
    }
    char text[RILL_WINDOWED_MAX_KEY + RILL_WINDOWED_MAX_VALUE + 32];
    int prefix = snprintf(text, sizeof text, "%llu\t", (unsigned long long)job->line);
    size_t value_size = strlen(row.value);
    memcpy(text + prefix, row.key, row.key_size);
    text[prefix + row.key_size] = '\t';
    memcpy(text + prefix + row.key_size + 1, row.value, value_size);
    return rill_collector_emit(out, text, (size_t)prefix + row.key_size + 1 + value_size, row.time);
}

//  The key of "LINE<TAB>KEY<TAB>VALUE": between the first and the last TAB.
static int s_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    const char *text = in->data;
    const char *first = memchr(text, '\t', in->size);
    const char *last = text + in->size;
    while (last > text && last[-1] != '\t')
        last--;
    if (!first || last - 1 <= first)
        return -1; //  not a record of s_parse_row's
    key->data = first + 1;
    key->size = (size_t)(last - 1 - (first + 1));
    return 0;
}

//  Records too late for their window (beyond --lateness) are reported with their line
//  numbers, like bad rows, never lost silently.
static int s_report_late(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_job_t *job = ctx;
    job->late_rows++;
    if (job->late_rows > S_REPORTED_ROWS)
        return 0;
    const char *text = in->data;
    const char *tab = memchr(text, '\t', in->size);
    int number = tab ? (int)(tab - text) : 0;
    const char *rest = tab ? tab + 1 : text;
    int rest_size = (int)(in->size - (size_t)(rest - text));
    fprintf(stderr, "windowed: line %.*s: late row (time %lld, after its window fired): %.*s\n",
            number, text, (long long)in->timestamp, rest_size > 120 ? 120 : rest_size, rest);
    return 0;
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

//  "start<TAB>end<TAB>key<TAB>value" -> "start,end,key,value", the key quoted as CSV needs
//  (RFC 4180) since it may hold commas, quotes or TABs.
static int s_to_csv(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    const char *text = in->data, *stop = text + in->size;
    const char *first = memchr(text, '\t', in->size);
    const char *second = first ? memchr(first + 1, '\t', (size_t)(stop - first - 1)) : NULL;
    const char *last = stop;
    while (last > text && last[-1] != '\t')
        last--;
    if (!second || last - 1 < second)
        return -1; //  not a window result
    const char *key = second + 1;
    size_t key_size = (size_t)(last - 1 - key);
    char quoted[2 * RILL_WINDOWED_MAX_KEY + 2];
    size_t quoted_size = rill_windowed_csv_field(key, key_size, quoted, sizeof quoted);
    if (quoted_size > sizeof quoted)
        return -1; //  keys are at most RILL_WINDOWED_MAX_KEY bytes: cannot happen
    rill_buffer_reset(out);
    if (rill_buffer_append(out, text, (size_t)(first - text)) || rill_buffer_append(out, ",", 1) ||
        rill_buffer_append(out, first + 1, (size_t)(second - first - 1)) ||
        rill_buffer_append(out, ",", 1) || rill_buffer_append(out, quoted, quoted_size) ||
        rill_buffer_append(out, ",", 1) || rill_buffer_append(out, last, (size_t)(stop - last)))
        return -1;
    return 0;
}

static int s_usage(const char *why, const char *detail)
{
    if (why)
        fprintf(stderr, "windowed: %s%s\n", why, detail ? detail : "");
    fprintf(stderr,
            "usage: rill run windowed [-p N] -- --input FILE --time-column NAME --key-column NAME\n"
            "         --value-column NAME --window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP\n"
            "         [--agg count|sum|min|max|avg] [--out-of-orderness D] [--lateness D]\n"
            "         [--max-record-size BYTES]   (longest line; K, M, G suffixes; default 16M)\n"
            "         [--output FILE]   (default: standard output)\n"
            "durations: 250ms, 10s, 5m, 1h, 1d; times: ISO-8601 UTC or epoch milliseconds;\n"
            "FILE may be a pipe or /dev/stdin, or a connector URL (a directory, dir://,\n"
            "kafka://, zmq+tcp://, tcp://; for --output rolling://, kafka://, zmq+tcp://)\n");
    return 2;
}

//  Parses "tumbling:SIZE", "sliding:SIZE:SLIDE" or "session:GAP".
static int s_parse_window(char *text, rill_window_t *window)
{
    char *kind = strtok(text, ":"), *first = strtok(NULL, ":"), *second = strtok(NULL, ":");
    int64_t a, b;
    if (!kind || !first || rill_windowed_parse_duration(first, &a) || a <= 0)
        return -1;
    if (strcmp(kind, "tumbling") == 0 && !second)
        *window = rill_window_tumbling(a);
    else if (strcmp(kind, "session") == 0 && !second)
        *window = rill_window_session(a);
    else if (strcmp(kind, "sliding") == 0 && second && !rill_windowed_parse_duration(second, &b) &&
             b > 0)
        *window = rill_window_sliding(a, b);
    else
        return -1;
    return strtok(NULL, ":") ? -1 : 0;
}

static void s_job_destroy(s_job_t **job_p)
{
    if (*job_p) {
        free((*job_p)->header);
        free((*job_p)->input);
        for (int i = 0; i < 3; i++)
            free((*job_p)->names[i]);
        free(*job_p);
        *job_p = NULL;
    }
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},
        {"time-column", required_argument, NULL, 't'},
        {"key-column", required_argument, NULL, 'k'},
        {"value-column", required_argument, NULL, 'v'},
        {"window", required_argument, NULL, 'w'},
        {"agg", required_argument, NULL, 'a'},
        {"out-of-orderness", required_argument, NULL, 'o'},
        {"lateness", required_argument, NULL, 'l'},
        {"max-record-size", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *time_name = NULL, *key_name = NULL, *value_name = NULL;
    const char *output = NULL;
    char *window_text = NULL;
    rill_window_agg_t agg = RILL_WINDOW_AGG_SUM;
    int64_t out_of_orderness = 0, lateness = 0;
    size_t max_record_size = RILL_DEFAULT_MAX_RECORD_SIZE;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'i':
            input = optarg;
            break;
        case 'O':
            output = optarg;
            break;
        case 't':
            time_name = optarg;
            break;
        case 'k':
            key_name = optarg;
            break;
        case 'v':
            value_name = optarg;
            break;
        case 'w':
            window_text = optarg;
            break;
        case 'a': {
            static const char *names[] = {"count", "sum", "min", "max", "avg"};
            static const rill_window_agg_t aggs[] = {RILL_WINDOW_AGG_COUNT, RILL_WINDOW_AGG_SUM,
                                                     RILL_WINDOW_AGG_MIN, RILL_WINDOW_AGG_MAX,
                                                     RILL_WINDOW_AGG_AVG};
            int found = -1;
            for (int i = 0; i < 5; i++)
                if (strcmp(optarg, names[i]) == 0)
                    found = i;
            if (found < 0)
                return s_usage("unknown aggregation ", optarg);
            agg = aggs[found];
            break;
        }
        case 'o':
            if (rill_windowed_parse_duration(optarg, &out_of_orderness))
                return s_usage("bad duration ", optarg);
            break;
        case 'l':
            if (rill_windowed_parse_duration(optarg, &lateness))
                return s_usage("bad duration ", optarg);
            break;
        case 'm':
            if (rill_job_parse_size(optarg, &max_record_size) ||
                rill_env_set_max_record_size(env, max_record_size))
                return s_usage("bad --max-record-size (1 .. 1G bytes) ", optarg);
            break;
        case 'h':
            return s_usage(NULL, NULL);
        case ':':
            return s_usage("option needs a value: ", argv[optind - 1]);
        default:
            return s_usage("unknown option ", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage("unexpected argument ", argv[optind]);
    if (!input || !time_name || !key_name || !value_name || !window_text)
        return s_usage("--input, --time-column, --key-column, --value-column and --window are "
                       "required",
                       NULL);
    rill_window_t window;
    char window_copy[128];
    snprintf(window_copy, sizeof window_copy, "%s", window_text);
    if (s_parse_window(window_copy, &window))
        return s_usage("bad window ", window_text);
    window.allowed_lateness = lateness;

    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job || !(s_job->input = strdup(input)) || !(s_job->names[0] = strdup(time_name)) ||
        !(s_job->names[1] = strdup(key_name)) || !(s_job->names[2] = strdup(value_name))) {
        s_job_destroy(&s_job);
        return -1;
    }
    //  The header names the columns: read it now, so a wrong name fails before anything runs.
    //  Not from a pipe or a device, though: what is read here would be gone for the job, so
    //  there the parse step takes line 1 as the header.
    struct stat info;
    if (stat(input, &info) == 0 && S_ISREG(info.st_mode)) {
        size_t length;
        int rc = rill_job_read_first_line(input, max_record_size, &s_job->header, &length);
        const char *missing = NULL;
        if (rc == 0) {
            size_t bom = rill_windowed_bom(s_job->header, length);
            memmove(s_job->header, s_job->header + bom, length - bom + 1);
            length -= bom;
            missing = rill_windowed_parse_header(s_job->header, length, time_name, key_name,
                                                 value_name, &s_job->columns);
        }
        if (rc == 0 && missing)
            fprintf(stderr, "windowed: the header of '%s' has no column '%s' (it has: %s)\n", input,
                    missing, s_job->header);
        else if (rc == 1)
            fprintf(stderr, "windowed: '%s' has no header row\n", input);
        else if (rc == 2)
            fprintf(stderr,
                    "windowed: the header of '%s' is longer than the maximum record "
                    "size of %zu bytes\n",
                    input, max_record_size);
        else if (rc < 0)
            fprintf(stderr, "windowed: cannot read '%s': %s\n", input, strerror(errno));
        if (rc || missing) {
            s_job_destroy(&s_job);
            return 1;
        }
    }
    //  One reader keeps line numbers right; the windows run at the job's parallelism.
    char error[512];
    rill_stream_t *source = rill_job_input(env, input, error, sizeof error);
    if (!source) {
        fprintf(stderr, "windowed: --input: %s\n", error);
        s_job_destroy(&s_job);
        return 2;
    }
    rill_stream_t *lines = rill_stream_parallelism(rill_stream_name(source, "Source: csv"), 1);
    rill_stream_t *rows = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(lines, s_parse_row, s_job), "parse rows"), 1);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness, .interval_ms = 0};
    rill_stream_t *timed = rill_stream_parallelism(
        rill_stream_assign_timestamps(rows, s_record_time, NULL, &strategy), 1);
    rill_keyed_stream_t keyed = rill_stream_key_by(timed, s_key, NULL);
    rill_stream_t *windows =
        rill_stream_name(rill_stream_window_builtin(keyed, &window, agg), "key_by/window()");
    rill_stream_t *late = rill_stream_parallelism(
        rill_stream_name(
            rill_stream_flat_map(rill_stream_rebalance(rill_stream_late_records(windows)),
                                 s_report_late, s_job),
            "report late rows"),
        1);
    rill_stream_discard(late);
    rill_stream_t *csv = rill_stream_name(rill_stream_map(windows, s_to_csv, NULL), "to csv");
    if (output && rill_job_io_is_connector(output)) {
        if (!rill_job_output(env, csv, output, error, sizeof error)) {
            fprintf(stderr, "windowed: --output: %s\n", error);
            s_job_destroy(&s_job);
            return 2;
        }
        return 0;
    }
    rill_stream_parallelism(
        rill_stream_name(rill_stream_print(rill_stream_rebalance(csv), output), "Sink: print"), 1);
    return 0;
}

//  Called by the tool after the run: the rows that did not parse are reported, never lost.
void rill_job_finish(rill_env_t *env)
{
    if (s_job && !s_job->header && s_job->line == 0)
        fprintf(stderr, "windowed: '%s' had no header row (no input at all)\n", s_job->input);
    if (s_job && s_job->bad_rows)
        fprintf(stderr, "windowed: %llu row%s did not parse and %s skipped\n",
                (unsigned long long)s_job->bad_rows, s_job->bad_rows == 1 ? "" : "s",
                s_job->bad_rows == 1 ? "was" : "were");
    if (s_job && s_job->late_rows)
        fprintf(stderr,
                "windowed: %llu row%s came after %s window had fired (raise "
                "--out-of-orderness or --lateness to include them)\n",
                (unsigned long long)s_job->late_rows, s_job->late_rows == 1 ? "" : "s",
                s_job->late_rows == 1 ? "its" : "their");
    s_job_destroy(&s_job);
}
