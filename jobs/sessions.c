/*  sessions.c: session windows with a custom trigger (Flink's EventTimeSessionWindows with a
    user Trigger; Beam's AfterWatermark with early firings). Rows of a timestamped CSV file are
    keyed by one column and grouped into sessions: rows of a key closer than the gap in event
    time are one session. A trigger written for this job (the kind a Flink user writes) fires a
    session early each time --early more rows arrived in it, then finally once the watermark
    passes its end; as sessions merge, their early counts add up (on_merge). Output: a header
    then one line per firing: key, session start and end (UTC), the rows in the session so far,
    and "early" or "final". Rows that do not parse, and rows that came after the watermark had
    passed their session (raise --out-of-orderness), are counted and reported. */
#include <rill/rill.h>
#include "rill_job_csv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "session windows with a custom early-firing trigger: -- --input FILE --key C "
           "--time C [--gap D] [--early N] [--output FILE]";
}

typedef struct {
    rill_job_csv_t input;
    rill_job_output_t output;
    char *header[2]; //  the output header's two halves (rill_job_output_t joins them)
    int64_t early;   //  early firing every this many rows (0: none)
    uint64_t late_rows;
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

//  ---- the trigger: early every N rows, final at the session's end

#define S_SINCE "rows-since-early"

static int64_t s_since(rill_window_context_t *window, const char *name, size_t i, bool merged)
{
    const void *data;
    size_t size;
    int64_t value = 0;
    int rc = merged ? rill_window_merged_state_get(window, i, name, &data, &size)
                    : rill_window_state_get(window, name, &data, &size);
    if (rc == 0 && size == sizeof value)
        memcpy(&value, data, sizeof value);
    return value;
}

static int64_t s_end_time(rill_window_context_t *window)
{
    return rill_window_context_bounds(window)->end - 1;
}

static rill_trigger_result_t s_on_row(rill_window_context_t *window, const rill_record_t *record,
                                      int64_t timestamp, void *ctx)
{
    (void)record, (void)timestamp;
    const s_job_t *job = ctx;
    //  A session the watermark has passed (it came late, merged into a fired one) fires now.
    if (s_end_time(window) <= rill_window_context_watermark(window))
        return RILL_TRIGGER_FIRE;
    if (rill_window_timer_register(window, true, s_end_time(window)))
        return RILL_TRIGGER_ERROR;
    if (job->early <= 0)
        return RILL_TRIGGER_CONTINUE;
    int64_t since = s_since(window, S_SINCE, 0, false) + 1;
    if (since >= job->early)
        return rill_window_state_clear(window, S_SINCE) ? RILL_TRIGGER_ERROR : RILL_TRIGGER_FIRE;
    return rill_window_state_set(window, S_SINCE, &since, sizeof since) ? RILL_TRIGGER_ERROR
                                                                        : RILL_TRIGGER_CONTINUE;
}

static rill_trigger_result_t s_on_time(rill_window_context_t *window, int64_t time, void *ctx)
{
    (void)ctx;
    return time == s_end_time(window) ? RILL_TRIGGER_FIRE : RILL_TRIGGER_CONTINUE;
}

//  Sessions merged: the rows since their last early firings add up, and the merged session
//  needs its own end timer (the old ones are deleted by clear).
static int s_on_merge(rill_window_context_t *window, void *ctx)
{
    (void)ctx;
    int64_t since = s_since(window, S_SINCE, 0, false);
    for (size_t i = 0; i < rill_window_merged_count(window); i++)
        since += s_since(window, S_SINCE, i, true);
    if (since && rill_window_state_set(window, S_SINCE, &since, sizeof since))
        return -1;
    if (s_end_time(window) > rill_window_context_watermark(window))
        return rill_window_timer_register(window, true, s_end_time(window));
    return 0;
}

static void s_on_clear(rill_window_context_t *window, void *ctx)
{
    (void)ctx;
    rill_window_timer_delete(window, true, s_end_time(window));
    rill_window_state_clear(window, S_SINCE);
}

//  ---- the window function: one line per firing

static int s_firing(rill_window_context_t *window, const rill_record_t *records, size_t count,
                    rill_collector_t *out, void *ctx)
{
    (void)records, (void)ctx;
    const rill_window_bounds_t *bounds = rill_window_context_bounds(window);
    const rill_key_t *key = rill_window_context_key(window);
    bool final = s_end_time(window) <= rill_window_context_watermark(window);
    char start[40], end[40];
    rill_time_format(bounds->start, start, sizeof start);
    rill_time_format(bounds->end, end, sizeof end);
    size_t size = key->size + 128;
    char *text = malloc(size);
    if (!text)
        return -1;
    int n = snprintf(text, size, "%.*s,%s,%s,%zu,%s", (int)key->size, (const char *)key->data,
                     start, end, count, final ? "final" : "early");
    int rc = rill_collector_emit(out, text, (size_t)n, RILL_NO_TIMESTAMP);
    free(text);
    return rc;
}

static int s_report_late(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out, (void)ctx;
    uint64_t late = ++s_job->late_rows;
    rill_job_csv_head_t head;
    const char *key, *second, *row;
    size_t row_size;
    if (late <= RILL_JOB_CSV_REPORTED_ROWS &&
        rill_job_csv_row(in, &head, &key, &second, &row, &row_size) == 0)
        fprintf(stderr, "sessions: line %llu: late row (its session had ended): %.*s\n",
                (unsigned long long)head.line, (int)(row_size > 120 ? 120 : row_size), row);
    return 0;
}

static int s_usage(const char *why, const char *detail)
{
    if (why)
        fprintf(stderr, "sessions: %s%s\n", why, detail ? detail : "");
    fprintf(stderr,
            "usage: rill run sessions [-p N] -- --input FILE --key NAME --time NAME\n"
            "         [--gap D]   (rows of a key closer than this are one session; default 30m)\n"
            "         [--early N]   (fire a session early every N rows; default: only at its end)\n"
            "         [--out-of-orderness D]   (how far rows may come out of time order)\n"
            "         [--max-record-size BYTES]   (longest line; K, M, G suffixes; default 16M)\n"
            "         [--output FILE]   (default: standard output)\n"
            "durations: 250ms, 10s, 5m, 1h, 1d; times: ISO-8601 UTC or epoch milliseconds\n");
    return 2;
}

static void s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    rill_job_csv_free(&job->input);
    if (job->output.own)
        fclose(job->output.out);
    free(job);
    *job_p = NULL;
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},
        {"key", required_argument, NULL, 'k'},
        {"time", required_argument, NULL, 't'},
        {"gap", required_argument, NULL, 'g'},
        {"early", required_argument, NULL, 'e'},
        {"out-of-orderness", required_argument, NULL, 'o'},
        {"max-record-size", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *key = NULL, *time = NULL, *output = NULL;
    int64_t gap = 30 * 60 * 1000, early = 0, out_of_orderness = 0;
    size_t max_record_size = RILL_DEFAULT_MAX_RECORD_SIZE;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'i': path = optarg; break;
        case 'k': key = optarg; break;
        case 't': time = optarg; break;
        case 'O': output = optarg; break;
        case 'g':
            if (rill_windowed_parse_duration(optarg, &gap) || gap <= 0)
                return s_usage("bad --gap (a duration > 0) ", optarg);
            break;
        case 'e': {
            char *end;
            early = strtoll(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || early <= 0)
                return s_usage("bad --early (a row count > 0) ", optarg);
            break;
        }
        case 'o':
            if (rill_windowed_parse_duration(optarg, &out_of_orderness))
                return s_usage("bad duration ", optarg);
            break;
        case 'm':
            if (rill_job_parse_size(optarg, &max_record_size) ||
                rill_env_set_max_record_size(env, max_record_size))
                return s_usage("bad --max-record-size (1 .. 1G bytes) ", optarg);
            break;
        case 'h': return s_usage(NULL, NULL);
        case ':': return s_usage("option needs a value: ", argv[optind - 1]);
        default: return s_usage("unknown option ", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage("unexpected argument ", argv[optind]);
    if (!path || !key || !time)
        return s_usage("--input, --key and --time are required", NULL);
    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job)
        return -1;
    s_job->early = early;
    s_job->header[0] = "key,session_start,session_end,rows";
    s_job->header[1] = "firing";
    if (rill_job_csv_init(&s_job->input, "sessions", "input", path, key, time, NULL)) {
        s_job_destroy(&s_job);
        return -1;
    }
    if (rill_job_csv_check_header(&s_job->input, max_record_size) < 0 ||
        rill_job_output_open(&s_job->output, "sessions", output)) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->output.headers[0] = &s_job->header[0];
    s_job->output.headers[1] = &s_job->header[1];
    rill_keyed_stream_t rows = rill_job_csv_keyed(env, &s_job->input, out_of_orderness);
    rill_window_t window = rill_window_session(gap);
    window.trigger = rill_trigger_custom(s_on_row, s_on_time, NULL, s_on_merge, s_on_clear, s_job);
    rill_stream_t *fired =
        rill_stream_name(rill_stream_window_apply(rows, &window, s_firing, NULL), "sessions()");
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(rill_stream_late_records(fired)),
                                              s_report_late, NULL),
                         "report late rows"),
        1));
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(fired), rill_job_output_write,
                                              &s_job->output),
                         "Sink: write firings"),
        1));
    return 0;
}

//  Called by the tool after the run: the output closed, bad and late rows reported.
void rill_job_finish(rill_env_t *env)
{
    (void)env;
    if (!s_job)
        return;
    if (!s_job->input.header) {
        fprintf(stderr, "sessions: the input file '%s' had no usable header row\n",
                s_job->input.path);
        s_job->output.header_written = true;
    }
    rill_job_csv_report(&s_job->input);
    if (s_job->late_rows)
        fprintf(stderr,
                "sessions: %llu row%s came after the watermark had passed %s session and %s "
                "counted in no firing (raise --out-of-orderness to include them)\n",
                (unsigned long long)s_job->late_rows, s_job->late_rows == 1 ? "" : "s",
                s_job->late_rows == 1 ? "its" : "their", s_job->late_rows == 1 ? "was" : "were");
    rill_job_output_close(&s_job->output);
    s_job_destroy(&s_job);
}
