/*  windowed.c: windowed aggregation of a timestamped CSV file. The header row names the
    columns; each row's time (ISO-8601 UTC or epoch milliseconds), key and value are picked
    by name, windowed by event time per key, aggregated, and printed as
    window_start,window_end,key,value (bounds in epoch ms, end exclusive). Rows that do not
    parse are counted and the first few reported on stderr with their line numbers. */
#include "rill.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "event-time windows over a CSV file: -- --input FILE --time-column C --key-column C "
           "--value-column C --window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP [--agg A]";
}

#define S_REPORTED_ROWS 5
#define S_MAX_COLUMNS 256

//  What the row parser needs, and what it counts. The parse step runs as one subtask (line
//  numbers need one reader), so these counters have one writer.
typedef struct {
    int time_column, key_column, value_column;
    int columns;
    char *header; //  the header line, to skip it
    uint64_t line;
    uint64_t bad_rows;
    uint64_t late_rows; //  counted by the late-record reporter, also one subtask
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

//  ---- parsing: times, durations, CSV fields

//  Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_digits(const char *text, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)text[i]))
            return -1;
        *value = *value * 10 + (text[i] - '0');
    }
    return 0;
}

//  "2001-01-01T00:01:00.000Z" (fraction and Z optional; a space may replace T) or an
//  integer of epoch milliseconds. 0, or -1.
static int s_parse_time(const char *text, size_t size, int64_t *ms)
{
    char buffer[64];
    if (size == 0 || size >= sizeof buffer)
        return -1;
    memcpy(buffer, text, size);
    buffer[size] = 0;
    char *end;
    errno = 0;
    long long epoch = strtoll(buffer, &end, 10);
    if (*end == 0 && errno == 0 && size < 17) {
        *ms = epoch;
        return 0;
    }
    int year, month, day, hour, minute, second;
    if (size < 19 || s_digits(buffer, 4, &year) || buffer[4] != '-' ||
        s_digits(buffer + 5, 2, &month) || buffer[7] != '-' || s_digits(buffer + 8, 2, &day) ||
        (buffer[10] != 'T' && buffer[10] != ' ') || s_digits(buffer + 11, 2, &hour) ||
        buffer[13] != ':' || s_digits(buffer + 14, 2, &minute) || buffer[16] != ':' ||
        s_digits(buffer + 17, 2, &second))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return -1;
    const char *rest = buffer + 19;
    int64_t millis = 0;
    if (*rest == '.') {
        rest++;
        int digits = 0;
        for (; isdigit((unsigned char)*rest); rest++, digits++)
            if (digits < 3)
                millis = millis * 10 + (*rest - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            millis *= 10;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest)
        return -1;
    *ms = ((s_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60000LL +
          second * 1000LL + millis;
    return 0;
}

//  "250ms", "10s", "5m", "1h", "1d" (a bare number is milliseconds). 0, or -1.
static int s_parse_duration(const char *text, int64_t *ms)
{
    char *unit;
    errno = 0;
    long long value = strtoll(text, &unit, 10);
    if (unit == text || errno || value < 0)
        return -1;
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0) {
            *ms = value * units[i].ms;
            return 0;
        }
    return -1;
}

//  Splits a CSV line into fields (double quotes group a field; "" inside is one quote, kept
//  as two here since no value we read needs it). Returns the field count.
static int s_split(const char *line, size_t size, const char **starts, size_t *sizes, int max)
{
    int count = 0;
    size_t i = 0;
    while (count < max) {
        bool quoted = i < size && line[i] == '"';
        size_t start = quoted ? i + 1 : i, end;
        if (quoted) {
            end = start;
            while (end < size && !(line[end] == '"' && (end + 1 >= size || line[end + 1] != '"')))
                end += line[end] == '"' ? 2 : 1;
            i = end < size ? end + 1 : size;
        } else {
            end = start;
            while (end < size && line[end] != ',')
                end++;
            i = end;
        }
        //  Trim blanks around unquoted fields.
        while (!quoted && start < end && isspace((unsigned char)line[start]))
            start++;
        while (!quoted && end > start && isspace((unsigned char)line[end - 1]))
            end--;
        starts[count] = line + start;
        sizes[count] = end - start;
        count++;
        if (i >= size || line[i] != ',')
            break;
        i++;
    }
    return count;
}

static int s_column(const char *header, const char *name)
{
    const char *starts[S_MAX_COLUMNS];
    size_t sizes[S_MAX_COLUMNS];
    int count = s_split(header, strlen(header), starts, sizes, S_MAX_COLUMNS);
    for (int i = 0; i < count; i++)
        if (sizes[i] == strlen(name) && memcmp(starts[i], name, sizes[i]) == 0)
            return i;
    return -1;
}

static void s_bad_row(s_job_t *job, const char *why, const rill_record_t *in)
{
    job->bad_rows++;
    if (job->bad_rows <= S_REPORTED_ROWS)
        fprintf(stderr, "windowed: line %llu: %s: %.*s\n", (unsigned long long)job->line, why,
                (int)(in->size > 120 ? 120 : in->size), (const char *)in->data);
}

//  One CSV row -> "key<TAB>value" with the row's time as timestamp.
static int s_parse_row(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_job_t *job = ctx;
    job->line++;
    if (job->line == 1 && in->size == strlen(job->header) &&
        memcmp(in->data, job->header, in->size) == 0)
        return 0;
    if (in->size == 0)
        return 0; //  blank lines carry nothing
    const char *starts[S_MAX_COLUMNS];
    size_t sizes[S_MAX_COLUMNS];
    int count = s_split(in->data, in->size, starts, sizes, S_MAX_COLUMNS);
    if (count != job->columns) {
        s_bad_row(job, "wrong number of columns", in);
        return 0;
    }
    int64_t time;
    if (s_parse_time(starts[job->time_column], sizes[job->time_column], &time)) {
        s_bad_row(job, "cannot read the time", in);
        return 0;
    }
    char number[64];
    size_t value_size = sizes[job->value_column];
    char *end;
    if (value_size == 0 || value_size >= sizeof number) {
        s_bad_row(job, "cannot read the value", in);
        return 0;
    }
    memcpy(number, starts[job->value_column], value_size);
    number[value_size] = 0;
    errno = 0;
    strtod(number, &end);
    if (*end || errno) {
        s_bad_row(job, "cannot read the value", in);
        return 0;
    }
    char text[512];
    int size = snprintf(text, sizeof text, "%.*s\t%s", (int)sizes[job->key_column],
                        starts[job->key_column], number);
    if (size < 0 || (size_t)size >= sizeof text) {
        s_bad_row(job, "key too long", in);
        return 0;
    }
    return rill_collector_emit(out, text, (size_t)size, time);
}

//  Records too late for their window (beyond --lateness) are reported, not lost silently.
static int s_report_late(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_job_t *job = ctx;
    job->late_rows++;
    if (job->late_rows <= S_REPORTED_ROWS)
        fprintf(stderr, "windowed: late row (time %lld, after its window fired): %.*s\n",
                (long long)in->timestamp, (int)(in->size > 120 ? 120 : in->size),
                (const char *)in->data);
    return 0;
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

//  "start<TAB>end<TAB>key<TAB>value" -> "start,end,key,value".
static int s_to_csv(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (rill_buffer_set(out, in->data, in->size))
        return -1;
    char *text = rill_buffer_reserve(out, 0);
    text -= in->size;
    for (size_t i = 0; i < in->size; i++)
        if (text[i] == '\t')
            text[i] = ',';
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
            "durations: 250ms, 10s, 5m, 1h, 1d; times: ISO-8601 UTC or epoch milliseconds\n");
    return 2;
}

//  Parses "tumbling:SIZE", "sliding:SIZE:SLIDE" or "session:GAP".
static int s_parse_window(char *text, rill_window_t *window)
{
    char *kind = strtok(text, ":"), *first = strtok(NULL, ":"), *second = strtok(NULL, ":");
    int64_t a, b;
    if (!kind || !first || s_parse_duration(first, &a) || a <= 0)
        return -1;
    if (strcmp(kind, "tumbling") == 0 && !second)
        *window = rill_window_tumbling(a);
    else if (strcmp(kind, "session") == 0 && !second)
        *window = rill_window_session(a);
    else if (strcmp(kind, "sliding") == 0 && second && !s_parse_duration(second, &b) && b > 0)
        *window = rill_window_sliding(a, b);
    else
        return -1;
    return strtok(NULL, ":") ? -1 : 0;
}

static void s_job_destroy(s_job_t **job_p)
{
    if (*job_p) {
        free((*job_p)->header);
        free(*job_p);
        *job_p = NULL;
    }
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},        {"time-column", required_argument, NULL, 't'},
        {"key-column", required_argument, NULL, 'k'},   {"value-column", required_argument, NULL, 'v'},
        {"window", required_argument, NULL, 'w'},       {"agg", required_argument, NULL, 'a'},
        {"out-of-orderness", required_argument, NULL, 'o'}, {"lateness", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *time_name = NULL, *key_name = NULL, *value_name = NULL;
    char *window_text = NULL;
    rill_window_agg_t agg = RILL_WINDOW_AGG_SUM;
    int64_t out_of_orderness = 0, lateness = 0;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'i': input = optarg; break;
        case 't': time_name = optarg; break;
        case 'k': key_name = optarg; break;
        case 'v': value_name = optarg; break;
        case 'w': window_text = optarg; break;
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
            if (s_parse_duration(optarg, &out_of_orderness))
                return s_usage("bad duration ", optarg);
            break;
        case 'l':
            if (s_parse_duration(optarg, &lateness))
                return s_usage("bad duration ", optarg);
            break;
        case 'h': return s_usage(NULL, NULL);
        case ':': return s_usage("option needs a value: ", argv[optind - 1]);
        default: return s_usage("unknown option ", argv[optind - 1]);
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

    //  The header names the columns: read it now, so a wrong name fails before anything runs.
    FILE *file = fopen(input, "r");
    if (!file) {
        fprintf(stderr, "windowed: cannot open '%s': %s\n", input, strerror(errno));
        return 1;
    }
    char *header = NULL;
    size_t capacity = 0;
    ssize_t length = getline(&header, &capacity, file);
    fclose(file);
    if (length <= 0) {
        free(header);
        fprintf(stderr, "windowed: '%s' has no header row\n", input);
        return 1;
    }
    while (length > 0 && (header[length - 1] == '\n' || header[length - 1] == '\r'))
        header[--length] = 0;
    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job) {
        free(header);
        return 1;
    }
    s_job->header = header;
    const char *starts[S_MAX_COLUMNS];
    size_t sizes[S_MAX_COLUMNS];
    s_job->columns = s_split(header, (size_t)length, starts, sizes, S_MAX_COLUMNS);
    s_job->time_column = s_column(header, time_name);
    s_job->key_column = s_column(header, key_name);
    s_job->value_column = s_column(header, value_name);
    const char *missing = s_job->time_column < 0  ? time_name
                          : s_job->key_column < 0 ? key_name
                          : s_job->value_column < 0 ? value_name
                                                    : NULL;
    if (missing) {
        fprintf(stderr, "windowed: the header of '%s' has no column '%s' (it has: %s)\n", input,
                missing, header);
        s_job_destroy(&s_job);
        return 1;
    }
    //  One reader keeps line numbers right; the windows run at the job's parallelism.
    rill_stream_t *lines =
        rill_stream_parallelism(rill_stream_name(rill_env_from_text_file(env, input), "Source: csv"), 1);
    rill_stream_t *rows = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(lines, s_parse_row, s_job), "parse rows"), 1);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness, .interval_ms = 0};
    rill_stream_t *timed = rill_stream_parallelism(
        rill_stream_assign_timestamps(rows, s_record_time, NULL, &strategy), 1);
    rill_stream_t *keyed = rill_stream_key_by(timed, rill_key_first_field, NULL);
    rill_stream_t *windows =
        rill_stream_name(rill_stream_window_builtin(keyed, &window, agg), "key_by/window()");
    rill_stream_t *late = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(rill_stream_late_records(windows)),
                                              s_report_late, s_job),
                         "report late rows"),
        1);
    rill_stream_discard(late);
    rill_stream_t *csv = rill_stream_name(rill_stream_map(windows, s_to_csv, NULL), "to csv");
    rill_stream_parallelism(rill_stream_name(rill_stream_print(rill_stream_rebalance(csv), NULL),
                                             "Sink: print"),
                            1);
    return 0;
}

//  Called by the tool after the run: the rows that did not parse are reported, never lost.
void rill_job_finish(rill_env_t *env)
{
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
