/*  interval_join.c: an interval join of two timestamped CSV files (Flink's intervalJoin). Each
    file's header row names its columns; a row's key and time are picked by name (times and
    durations as in `windowed`). A left row at l and a right row with the same key at r join
    when l + lower <= r <= l + upper. Output: the left header's fields followed by the right
    header's, then one line per joined pair: the left row's fields followed by the right row's,
    exactly as they were in the input. Rows that do not parse, and rows that came after the
    watermark had passed them (raise --out-of-orderness), are counted and the first few
    reported with their file and line. */
#include <rill/rill.h>
#include "rill_job_args.h"
#include "windowed_parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *rill_job_describe(void)
{
    return "interval join of two CSV files: -- --left FILE --right FILE --left-key C "
           "--right-key C --left-time C --right-time C --lower D --upper D [--output FILE]";
}

#define S_REPORTED_ROWS 5

//  One input file: where it is, which columns to read, and what its parse step counted (the
//  parse runs as one subtask per side, so each side's counters have one writer).
typedef struct {
    const char *name; //  "left" or "right"
    char *path;
    char *key_name, *time_name;
    int key_column, time_column, columns; //  columns 0: header not read yet
    char *header; //  its header row as it was (NUL-terminated), once read
    uint64_t line;
    uint64_t bad_rows;
    uint64_t late_rows; //  counted by the late-row reporter, one subtask
} s_side_t;

typedef struct {
    s_side_t sides[2];
    FILE *out; //  stdout or --output
    bool own_out;
    bool header_written;
    uint64_t pairs;
    int failed_write; //  errno of the first failed write (0: none)
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

//  A parsed row travels as [line: 8 bytes][key size: 4 bytes][key][the row as it was].
typedef struct {
    uint64_t line;
    uint32_t key_size;
} s_row_head_t;

static void s_bad_row(s_side_t *side, const char *why, const char *line, size_t size)
{
    side->bad_rows++;
    if (side->bad_rows <= S_REPORTED_ROWS)
        fprintf(stderr, "interval-join: %s line %llu: %s: %.*s\n", side->name,
                (unsigned long long)side->line, why, (int)(size > 120 ? 120 : size), line);
}

//  Finds the key and time columns in a header row. 0, or -1 (reported).
static int s_read_header(s_side_t *side, const char *line, size_t size)
{
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    side->columns =
        rill_windowed_split(line, size, starts, sizes, NULL, RILL_WINDOWED_MAX_COLUMNS);
    side->key_column = side->time_column = -1;
    for (int i = 0; i < side->columns; i++) {
        if (sizes[i] == strlen(side->key_name) && memcmp(starts[i], side->key_name, sizes[i]) == 0)
            side->key_column = i;
        if (sizes[i] == strlen(side->time_name) &&
            memcmp(starts[i], side->time_name, sizes[i]) == 0)
            side->time_column = i;
    }
    const char *missing = side->key_column < 0    ? side->key_name
                          : side->time_column < 0 ? side->time_name
                                                  : NULL;
    if (missing) {
        fprintf(stderr, "interval-join: the header of the %s file '%s' has no column '%s' (it "
                        "has: %.*s)\n",
                side->name, side->path, missing, (int)(size > 200 ? 200 : size), line);
        side->columns = 0;
        return -1;
    }
    //  Read when the job was built (a file) or now (a pipe), never replaced: the writer reads it.
    if (!side->header)
        side->header = strndup(line, size);
    return side->header ? 0 : -1;
}

//  One CSV row -> [line][key size][key][row], with the row's time as timestamp.
static int s_parse_row(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_side_t *side = ctx;
    const char *line = in->data;
    size_t size = in->size;
    if (size && line[size - 1] == '\r')
        size--;
    if (++side->line == 1) {
        size_t bom = rill_windowed_bom(line, size);
        return s_read_header(side, line + bom, size - bom);
    }
    if (size == 0)
        return 0; //  blank lines carry nothing
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    bool quoted[RILL_WINDOWED_MAX_COLUMNS];
    int count = rill_windowed_split(line, size, starts, sizes, quoted, RILL_WINDOWED_MAX_COLUMNS);
    int64_t time;
    char key[RILL_WINDOWED_MAX_KEY];
    long key_size = -1;
    if (count != side->columns) {
        s_bad_row(side, "wrong number of columns", line, size);
        return 0;
    }
    if (rill_windowed_parse_time(starts[side->time_column], sizes[side->time_column], &time)) {
        s_bad_row(side, "cannot read the time", line, size);
        return 0;
    }
    key_size = rill_windowed_unquote(starts[side->key_column], sizes[side->key_column],
                                     quoted[side->key_column], key, sizeof key);
    if (key_size < 0) {
        s_bad_row(side, "key too long", line, size);
        return 0;
    }
    s_row_head_t head = {side->line, (uint32_t)key_size};
    size_t total = sizeof head + (size_t)key_size + size;
    char *text = malloc(total);
    if (!text)
        return -1;
    memcpy(text, &head, sizeof head);
    memcpy(text + sizeof head, key, (size_t)key_size);
    memcpy(text + sizeof head + key_size, line, size);
    int rc = rill_collector_emit(out, text, total, time);
    free(text);
    return rc;
}

//  A parsed row's parts; -1 when the record is not one.
static int s_row(const rill_record_t *in, s_row_head_t *head, const char **key, const char **row,
                 size_t *row_size)
{
    if (in->size < sizeof *head)
        return -1;
    memcpy(head, in->data, sizeof *head);
    if (head->key_size > in->size - sizeof *head)
        return -1;
    *key = (const char *)in->data + sizeof *head;
    *row = *key + head->key_size;
    *row_size = in->size - sizeof *head - head->key_size;
    return 0;
}

static int s_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    (void)ctx;
    s_row_head_t head;
    const char *data, *row;
    size_t row_size;
    if (s_row(in, &head, &data, &row, &row_size))
        return -1;
    key->data = data;
    key->size = head.key_size;
    return 0;
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  A joined pair: the left row, a comma, the right row.
static int s_pair(const rill_record_t *left, const rill_record_t *right, rill_collector_t *out,
                  void *ctx)
{
    (void)ctx;
    s_row_head_t lh, rh;
    const char *lk, *rk, *lrow, *rrow;
    size_t lsize, rsize;
    if (s_row(left, &lh, &lk, &lrow, &lsize) || s_row(right, &rh, &rk, &rrow, &rsize))
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

static void s_write_header(s_job_t *job)
{
    if (job->header_written)
        return;
    job->header_written = true;
    const char *left = job->sides[0].header, *right = job->sides[1].header;
    if (fprintf(job->out, "%s,%s\n", left ? left : "", right ? right : "") < 0 && !job->failed_write)
        job->failed_write = errno ? errno : EIO;
}

//  The output's writer (one subtask): the header before the first pair, then each pair.
static int s_write(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out;
    s_job_t *job = ctx;
    s_write_header(job);
    job->pairs++;
    if ((fwrite(in->data, 1, in->size, job->out) != in->size || fputc('\n', job->out) == EOF) &&
        !job->failed_write)
        job->failed_write = errno ? errno : EIO;
    return job->failed_write ? -1 : 0;
}

//  Rows the join found late are reported by side and line, never lost silently.
static int s_report_late(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out;
    s_side_t *side = ctx;
    side->late_rows++;
    s_row_head_t head;
    const char *key, *row;
    size_t row_size;
    if (side->late_rows <= S_REPORTED_ROWS && s_row(in, &head, &key, &row, &row_size) == 0)
        fprintf(stderr,
                "interval-join: %s line %llu: late row (time %lld, after the watermark had "
                "passed it): %.*s\n",
                side->name, (unsigned long long)head.line, (long long)in->timestamp,
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
    for (int i = 0; i < 2; i++) {
        free(job->sides[i].path);
        free(job->sides[i].key_name);
        free(job->sides[i].time_name);
        free(job->sides[i].header);
    }
    if (job->own_out)
        fclose(job->out);
    free(job);
    *job_p = NULL;
}

//  One side: its file read by one subtask (line numbers), parsed, timestamped, keyed.
static rill_stream_t *s_side_stream(rill_env_t *env, s_side_t *side, int64_t out_of_orderness)
{
    char name[32];
    snprintf(name, sizeof name, "Source: %s", side->name);
    rill_stream_t *lines =
        rill_stream_parallelism(rill_stream_name(rill_env_from_text_file(env, side->path), name), 1);
    snprintf(name, sizeof name, "parse %s rows", side->name);
    rill_stream_t *rows = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(lines, s_parse_row, side), name), 1);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness, .interval_ms = 0};
    rill_stream_t *timed = rill_stream_parallelism(
        rill_stream_assign_timestamps(rows, s_record_time, NULL, &strategy), 1);
    return rill_stream_key_by(timed, s_key, NULL);
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
    for (int i = 0; i < 2; i++) {
        s_side_t *side = &s_job->sides[i];
        side->name = names[i];
        if (!(side->path = strdup(paths[i])) || !(side->key_name = strdup(keys[i])) ||
            !(side->time_name = strdup(times[i]))) {
            s_job_destroy(&s_job);
            return -1;
        }
    }
    //  The headers name the columns: read them now, so a wrong name fails before anything
    //  runs. Not from a pipe or a device: what is read here would be gone for the job (the
    //  parse step checks line 1 there).
    for (int i = 0; i < 2; i++) {
        s_side_t *side = &s_job->sides[i];
        struct stat info;
        if (stat(side->path, &info) != 0 || !S_ISREG(info.st_mode))
            continue;
        char *line = NULL;
        size_t length = 0;
        int rc = rill_job_read_first_line(side->path, max_record_size, &line, &length);
        if (rc == 1)
            fprintf(stderr, "interval-join: the %s file '%s' has no header row\n", side->name,
                    side->path);
        else if (rc == 2)
            fprintf(stderr,
                    "interval-join: the header of '%s' is longer than the maximum record size "
                    "of %zu bytes\n",
                    side->path, max_record_size);
        else if (rc < 0)
            fprintf(stderr, "interval-join: cannot read '%s': %s\n", side->path, strerror(errno));
        size_t bom = rc == 0 ? rill_windowed_bom(line, length) : 0;
        if (rc == 0)
            rc = s_read_header(side, line + bom, length - bom);
        free(line);
        if (rc) {
            s_job_destroy(&s_job);
            return 1;
        }
        side->columns = 0; //  the parse step reads line 1 again
    }
    s_job->out = stdout;
    if (output) {
        s_job->out = fopen(output, "w");
        if (!s_job->out) {
            fprintf(stderr, "interval-join: cannot write '%s': %s\n", output, strerror(errno));
            s_job->out = stdout;
            s_job_destroy(&s_job);
            return 1;
        }
        s_job->own_out = true;
    }
    rill_stream_t *left = s_side_stream(env, &s_job->sides[0], out_of_orderness);
    rill_stream_t *right = s_side_stream(env, &s_job->sides[1], out_of_orderness);
    rill_stream_t *joined = rill_stream_name(
        rill_stream_interval_join(left, right, lower, upper, s_pair, NULL), "interval_join()");
    for (int i = 0; i < 2; i++) {
        rill_stream_t *late = rill_stream_side_output(joined, i ? RILL_JOIN_LATE_RIGHT
                                                                : RILL_JOIN_LATE_LEFT);
        rill_stream_discard(rill_stream_parallelism(
            rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(late), s_report_late,
                                                  &s_job->sides[i]),
                             i ? "report late right rows" : "report late left rows"),
            1));
    }
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(joined), s_write, s_job),
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
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        s_side_t *side = &s_job->sides[i];
        if (!side->header) {
            fprintf(stderr, "interval-join: the %s file '%s' had no usable header row\n",
                    side->name, side->path);
            rc = 1;
        }
        if (side->bad_rows)
            fprintf(stderr, "interval-join: %llu %s row%s did not parse and %s skipped\n",
                    (unsigned long long)side->bad_rows, side->name, side->bad_rows == 1 ? "" : "s",
                    side->bad_rows == 1 ? "was" : "were");
        if (side->late_rows)
            fprintf(stderr,
                    "interval-join: %llu %s row%s came after the watermark had passed %s and "
                    "joined nothing (raise --out-of-orderness to include them)\n",
                    (unsigned long long)side->late_rows, side->name,
                    side->late_rows == 1 ? "" : "s", side->late_rows == 1 ? "it" : "them");
    }
    if (!rc)
        s_write_header(s_job);
    if (fflush(s_job->out) && !s_job->failed_write)
        s_job->failed_write = errno ? errno : EIO;
    if (s_job->failed_write)
        fprintf(stderr, "interval-join: cannot write the output: %s\n",
                strerror(s_job->failed_write));
    s_job_destroy(&s_job);
}
