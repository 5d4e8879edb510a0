/*  interval_join.c: an interval join of two timestamped CSV files (Flink's intervalJoin). Each
    file's header row names its columns; a row's key and time are picked by name (times and
    durations as in `windowed`). A left row at l and a right row with the same key at r join
    when l + lower <= r <= l + upper. Output: the left header's fields followed by the right
    header's, then one line per joined pair: the left row's fields followed by the right row's,
    exactly as they were in the input. Rows that do not parse, and rows that came after the
    watermark had passed them (raise --out-of-orderness), are counted and the first few
    reported with their file and line. */
#include <rill/rill.h>
#include "rill_job_csv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "interval join of two CSV files: -- --left FILE --right FILE --left-key C "
           "--right-key C --left-time C --right-time C --lower D --upper D [--output FILE]";
}

typedef struct {
    rill_job_csv_t sides[2]; //  left, right
    rill_job_output_t output;
    uint64_t late_rows[2]; //  counted by the late-row reporters, one subtask each
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

//  A joined pair: the left row, a comma, the right row.
static int s_pair(const rill_record_t *left, const rill_record_t *right, rill_collector_t *out,
                  void *ctx)
{
    (void)ctx;
    rill_job_csv_head_t lh, rh;
    const char *lk, *lk2, *rk, *rk2, *lrow, *rrow;
    size_t lsize, rsize;
    if (rill_job_csv_row(left, &lh, &lk, &lk2, &lrow, &lsize) ||
        rill_job_csv_row(right, &rh, &rk, &rk2, &rrow, &rsize))
        return -1;
    char *text = malloc(lsize + 1 + rsize);
    if (!text)
        return -1;
    memcpy(text, lrow, lsize);
    text[lsize] = ',';
    memcpy(text + lsize + 1, rrow, rsize);
    int rc = rill_collector_emit(out, text, lsize + 1 + rsize, RILL_NO_TIMESTAMP);
    free(text);
    return rc;
}

//  Rows the join found late are reported by side and line, never lost silently (ctx: which
//  side's counter).
static int s_report_late(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out;
    int side = (int)(intptr_t)ctx;
    uint64_t late = ++s_job->late_rows[side];
    rill_job_csv_head_t head;
    const char *key, *second, *row;
    size_t row_size;
    if (late <= RILL_JOB_CSV_REPORTED_ROWS &&
        rill_job_csv_row(in, &head, &key, &second, &row, &row_size) == 0)
        fprintf(stderr,
                "interval-join: %s line %llu: late row (time %lld, after the watermark had "
                "passed it): %.*s\n",
                s_job->sides[side].name, (unsigned long long)head.line, (long long)in->timestamp,
                (int)(row_size > 120 ? 120 : row_size), row);
    return 0;
}

static int s_usage(const char *why, const char *detail)
{
    if (why)
        fprintf(stderr, "interval-join: %s%s\n", why, detail ? detail : "");
    fprintf(stderr,
            "usage: rill run interval-join [-p N] -- --left FILE --right FILE\n"
            "         --left-key NAME --right-key NAME --left-time NAME --right-time NAME\n"
            "         --lower D --upper D   (a left row at l joins a right row at r with the\n"
            "                                same key when l + lower <= r <= l + upper)\n"
            "         [--out-of-orderness D]   (how far rows may come out of time order)\n"
            "         [--max-record-size BYTES]   (longest line; K, M, G suffixes; default 16M)\n"
            "         [--output FILE]   (default: standard output)\n"
            "durations: 250ms, 10s, 5m, 1h, 1d, negative with a leading '-'; times: ISO-8601\n"
            "UTC or epoch milliseconds\n");
    return 2;
}

//  A duration that may be negative ("-5m").
static int s_signed_duration(const char *text, int64_t *ms)
{
    bool negative = text[0] == '-';
    if (rill_windowed_parse_duration(text + negative, ms))
        return -1;
    if (negative)
        *ms = -*ms;
    return 0;
}

static void s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    for (int i = 0; i < 2; i++)
        rill_job_csv_free(&job->sides[i]);
    if (job->output.own)
        fclose(job->output.out);
    free(job);
    *job_p = NULL;
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"left", required_argument, NULL, 'l'},
        {"right", required_argument, NULL, 'r'},
        {"left-key", required_argument, NULL, 'K'},
        {"right-key", required_argument, NULL, 'k'},
        {"left-time", required_argument, NULL, 'T'},
        {"right-time", required_argument, NULL, 't'},
        {"lower", required_argument, NULL, 'a'},
        {"upper", required_argument, NULL, 'b'},
        {"out-of-orderness", required_argument, NULL, 'o'},
        {"max-record-size", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *paths[2] = {NULL, NULL}, *keys[2] = {NULL, NULL}, *times[2] = {NULL, NULL};
    const char *output = NULL;
    const char *lower_text = NULL, *upper_text = NULL;
    int64_t lower = 0, upper = 0, out_of_orderness = 0;
    size_t max_record_size = RILL_DEFAULT_MAX_RECORD_SIZE;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'l': paths[0] = optarg; break;
        case 'r': paths[1] = optarg; break;
        case 'K': keys[0] = optarg; break;
        case 'k': keys[1] = optarg; break;
        case 'T': times[0] = optarg; break;
        case 't': times[1] = optarg; break;
        case 'O': output = optarg; break;
        case 'a':
            lower_text = optarg;
            if (s_signed_duration(optarg, &lower))
                return s_usage("bad duration ", optarg);
            break;
        case 'b':
            upper_text = optarg;
            if (s_signed_duration(optarg, &upper))
                return s_usage("bad duration ", optarg);
            break;
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
    if (!paths[0] || !paths[1] || !keys[0] || !keys[1] || !times[0] || !times[1] || !lower_text ||
        !upper_text)
        return s_usage("--left, --right, --left-key, --right-key, --left-time, --right-time, "
                       "--lower and --upper are required",
                       NULL);
    if (lower > upper)
        return s_usage("--lower is above --upper", NULL);
    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job)
        return -1;
    static const char *names[2] = {"left", "right"};
    for (int i = 0; i < 2; i++)
        if (rill_job_csv_init(&s_job->sides[i], "interval-join", names[i], paths[i], keys[i],
                              times[i], NULL)) {
            s_job_destroy(&s_job);
            return -1;
        }
    //  The headers name the columns: read now when they are files, so that a wrong name fails
    //  before anything runs.
    for (int i = 0; i < 2; i++)
        if (rill_job_csv_check_header(&s_job->sides[i], max_record_size) < 0) {
            s_job_destroy(&s_job);
            return 1;
        }
    if (rill_job_output_open(&s_job->output, "interval-join", output)) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->output.headers[0] = &s_job->sides[0].header;
    s_job->output.headers[1] = &s_job->sides[1].header;
    rill_keyed_stream_t left = rill_job_csv_keyed(env, &s_job->sides[0], out_of_orderness);
    rill_keyed_stream_t right = rill_job_csv_keyed(env, &s_job->sides[1], out_of_orderness);
    rill_stream_t *joined = rill_stream_name(
        rill_stream_interval_join(left, right, lower, upper, s_pair, NULL), "interval_join()");
    for (int i = 0; i < 2; i++) {
        rill_stream_t *late = rill_stream_side_output(joined, i ? RILL_JOIN_LATE_RIGHT
                                                                : RILL_JOIN_LATE_LEFT);
        rill_stream_discard(rill_stream_parallelism(
            rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(late), s_report_late,
                                                  (void *)(intptr_t)i),
                             i ? "report late right rows" : "report late left rows"),
            1));
    }
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(joined),
                                              rill_job_output_write, &s_job->output),
                         "Sink: write pairs"),
        1));
    return 0;
}

//  Called by the tool after the run: the header even when nothing joined, the output closed,
//  and the rows that did not parse or came late reported, never lost silently.
void rill_job_finish(rill_env_t *env)
{
    (void)env;
    if (!s_job)
        return;
    bool headers = true;
    for (int i = 0; i < 2; i++) {
        const rill_job_csv_t *side = &s_job->sides[i];
        if (!side->header) {
            fprintf(stderr, "interval-join: the %s file '%s' had no usable header row\n",
                    side->name, side->path);
            headers = false;
        }
        rill_job_csv_report(side);
        if (s_job->late_rows[i])
            fprintf(stderr,
                    "interval-join: %llu %s row%s came after the watermark had passed %s and "
                    "joined nothing (raise --out-of-orderness to include them)\n",
                    (unsigned long long)s_job->late_rows[i], side->name,
                    s_job->late_rows[i] == 1 ? "" : "s", s_job->late_rows[i] == 1 ? "it" : "them");
    }
    //  Without a header there was no output to write: it says so above and writes nothing.
    if (!headers)
        s_job->output.header_written = true;
    rill_job_output_close(&s_job->output);
    s_job_destroy(&s_job);
}
