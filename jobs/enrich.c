/*  enrich.c: stream enrichment with broadcast state (Flink's broadcast state pattern). Events
    (a CSV file) are keyed by one column and spread over the subtasks; reference rows (another
    CSV file, small) are broadcast to every subtask, where each is kept, by its lookup value,
    as a version valid from its time on. Each event is written with the reference row in
    force at its time for its lookup value: the latest one at or before it (an event-time
    temporal join), or empty fields when there is none. Output: the events header's fields
    then the reference header's, then one line per event, the event row followed by the
    reference row, both exactly as they were in the input. */
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
    return "enrich events with the reference rows in force at their time (broadcast state): "
           "-- --events FILE --reference FILE --key C --lookup C --reference-key C "
           "--events-time C --reference-time C [--output FILE]";
}

#define S_REPORTED_ROWS 5

//  One input file, its columns by name and what its parse step counted (one subtask each).
typedef struct {
    const char *name; //  "events" or "reference"
    char *path;
    char *names[3]; //  key (events: the partitioning key; reference: what it is looked up by),
                    //  time, and (events only) the lookup column
    int columns_wanted;
    int column[3];
    int columns; //  0: header not read yet
    char *header;
    uint64_t line;
    uint64_t bad_rows;
} s_file_t;

typedef struct {
    s_file_t files[2];
    FILE *out;
    bool own_out;
    bool header_written;
    int failed_write;
    int reference_commas; //  a reference row's commas: empty fields for an event without one
} s_job_t;

static s_job_t *s_job;

//  A parsed row travels as [line][key size][key][lookup size][lookup][the row as it was]; the
//  reference rows carry their lookup value as key and no second field.
typedef struct {
    uint64_t line;
    uint32_t key_size;
    uint32_t lookup_size;
} s_head_t;

static int s_row(const rill_record_t *in, s_head_t *head, const char **key, const char **lookup,
                 const char **row, size_t *row_size)
{
    if (in->size < sizeof *head)
        return -1;
    memcpy(head, in->data, sizeof *head);
    size_t rest = in->size - sizeof *head;
    if (head->key_size > rest || head->lookup_size > rest - head->key_size)
        return -1;
    *key = (const char *)in->data + sizeof *head;
    *lookup = *key + head->key_size;
    *row = *lookup + head->lookup_size;
    *row_size = rest - head->key_size - head->lookup_size;
    return 0;
}

static void s_bad_row(s_file_t *file, const char *why, const char *line, size_t size)
{
    file->bad_rows++;
    if (file->bad_rows <= S_REPORTED_ROWS)
        fprintf(stderr, "enrich: %s line %llu: %s: %.*s\n", file->name,
                (unsigned long long)file->line, why, (int)(size > 120 ? 120 : size), line);
}

static int s_read_header(s_file_t *file, const char *line, size_t size)
{
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    file->columns = rill_windowed_split(line, size, starts, sizes, NULL, RILL_WINDOWED_MAX_COLUMNS);
    for (int n = 0; n < file->columns_wanted; n++) {
        file->column[n] = -1;
        for (int i = 0; i < file->columns && file->column[n] < 0; i++)
            if (sizes[i] == strlen(file->names[n]) &&
                memcmp(starts[i], file->names[n], sizes[i]) == 0)
                file->column[n] = i;
        if (file->column[n] < 0) {
            fprintf(stderr, "enrich: the header of the %s file '%s' has no column '%s' (it has: "
                            "%.*s)\n",
                    file->name, file->path, file->names[n], (int)(size > 200 ? 200 : size), line);
            file->columns = 0;
            return -1;
        }
    }
    //  Read when the job was built (a file) or now (a pipe), never replaced: the writer reads it.
    if (!file->header)
        file->header = strndup(line, size);
    return file->header ? 0 : -1;
}

static int s_parse_row(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    s_file_t *file = ctx;
    const char *line = in->data;
    size_t size = in->size;
    if (size && line[size - 1] == '\r')
        size--;
    if (++file->line == 1) {
        size_t bom = rill_windowed_bom(line, size);
        return s_read_header(file, line + bom, size - bom);
    }
    if (size == 0)
        return 0;
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    bool quoted[RILL_WINDOWED_MAX_COLUMNS];
    int count = rill_windowed_split(line, size, starts, sizes, quoted, RILL_WINDOWED_MAX_COLUMNS);
    if (count != file->columns) {
        s_bad_row(file, "wrong number of columns", line, size);
        return 0;
    }
    int64_t time;
    if (rill_windowed_parse_time(starts[file->column[1]], sizes[file->column[1]], &time)) {
        s_bad_row(file, "cannot read the time", line, size);
        return 0;
    }
    char fields[2][RILL_WINDOWED_MAX_KEY];
    long field_sizes[2] = {0, 0};
    int wanted[2] = {0, file->columns_wanted == 3 ? 2 : -1};
    for (int f = 0; f < 2; f++) {
        if (wanted[f] < 0)
            continue;
        int c = file->column[wanted[f]];
        field_sizes[f] = rill_windowed_unquote(starts[c], sizes[c], quoted[c], fields[f],
                                               sizeof fields[f]);
        if (field_sizes[f] < 0) {
            s_bad_row(file, "key too long", line, size);
            return 0;
        }
    }
    s_head_t head = {file->line, (uint32_t)field_sizes[0], (uint32_t)field_sizes[1]};
    size_t total = sizeof head + (size_t)field_sizes[0] + (size_t)field_sizes[1] + size;
    char *text = malloc(total), *at = text;
    if (!text)
        return -1;
    memcpy(at, &head, sizeof head);
    at += sizeof head;
    memcpy(at, fields[0], (size_t)field_sizes[0]);
    at += field_sizes[0];
    memcpy(at, fields[1], (size_t)field_sizes[1]);
    at += field_sizes[1];
    memcpy(at, line, size);
    int rc = rill_collector_emit(out, text, total, time);
    free(text);
    return rc;
}

static int s_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    (void)ctx;
    s_head_t head;
    const char *data, *lookup, *row;
    size_t row_size;
    if (s_row(in, &head, &data, &lookup, &row, &row_size))
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

//  Versions of a reference row, in broadcast state under its lookup value: entries of
//  (time, size, row), in time order.
typedef struct {
    int64_t time;
    uint32_t size;
} s_version_t;

//  A reference row: one more version of its lookup value, valid from its time.
static int s_on_reference(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                          void *ctx)
{
    (void)out, (void)ctx;
    s_head_t head;
    const char *key, *lookup, *row;
    size_t row_size;
    if (s_row(in, &head, &key, &lookup, &row, &row_size))
        return -1;
    const void *data = NULL;
    size_t size = 0;
    if (rill_broadcast_state_get(process, "versions", key, head.key_size, &data, &size))
        size = 0;
    //  Insert in time order (a later version of the same time replaces none: both kept, the
    //  later in the file wins, as it comes after).
    size_t whole = size + sizeof(s_version_t) + row_size;
    uint8_t *list = malloc(whole);
    if (!list)
        return -1;
    const uint8_t *at = data, *end = at ? at + size : NULL;
    size_t before = 0;
    while (at && at + sizeof(s_version_t) <= end) {
        s_version_t version;
        memcpy(&version, at, sizeof version);
        if (version.time > in->timestamp)
            break;
        at += sizeof version + version.size;
    }
    before = at ? (size_t)(at - (const uint8_t *)data) : 0;
    if (before)
        memcpy(list, data, before);
    s_version_t version = {in->timestamp, (uint32_t)row_size};
    memcpy(list + before, &version, sizeof version);
    memcpy(list + before + sizeof version, row, row_size);
    if (size > before)
        memcpy(list + before + sizeof version + row_size, (const uint8_t *)data + before,
               size - before);
    int rc = rill_broadcast_state_put(process, "versions", key, head.key_size, list, whole);
    free(list);
    return rc;
}

//  An event waits in keyed state until the watermark passes its time: by then every reference
//  row up to its time has come (the reference stream's watermark holds the operator's back).
//  A key's events of one time wait together, under that time: entries of (size, record).
static int s_on_event(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                      void *ctx)
{
    (void)out, (void)ctx;
    int64_t time = in->timestamp;
    const void *data = NULL;
    size_t size = 0;
    if (rill_state_map_get(process, "waiting", &time, sizeof time, &data, &size))
        size = 0;
    uint32_t entry = (uint32_t)in->size;
    uint8_t *list = malloc(size + sizeof entry + in->size);
    if (!list)
        return -1;
    if (size)
        memcpy(list, data, size);
    memcpy(list + size, &entry, sizeof entry);
    memcpy(list + size + sizeof entry, in->data, in->size);
    int rc = rill_state_map_put(process, "waiting", &time, sizeof time, list,
                                size + sizeof entry + in->size) ||
             rill_timer_register(process, RILL_TIME_EVENT, time);
    free(list);
    return rc;
}

//  The row in force at `time`, from a version list: the latest at or before it.
static const char *s_in_force(const void *data, size_t size, int64_t time, size_t *row_size)
{
    const uint8_t *at = data, *end = at + size;
    const char *found = NULL;
    while (at + sizeof(s_version_t) <= end) {
        s_version_t version;
        memcpy(&version, at, sizeof version);
        if (version.time > time)
            break;
        found = (const char *)at + sizeof version;
        *row_size = version.size;
        at += sizeof version + version.size;
    }
    return found;
}

//  One event, written with the reference row in force at its time (or empty fields).
static int s_enrich(rill_process_t *process, const rill_record_t *event, const s_job_t *job,
                    rill_collector_t *out, bool *matched)
{
    s_head_t head;
    const char *key, *lookup, *row;
    size_t row_size, ref_size = 0;
    if (s_row(event, &head, &key, &lookup, &row, &row_size))
        return -1;
    const void *versions;
    size_t versions_size;
    const char *ref = NULL;
    if (rill_broadcast_state_get(process, "versions", lookup, head.lookup_size, &versions,
                                 &versions_size) == 0)
        ref = s_in_force(versions, versions_size, event->timestamp, &ref_size);
    *matched = ref != NULL;
    size_t empty = ref ? 0 : (size_t)job->reference_commas;
    char *text = malloc(row_size + 1 + ref_size + empty);
    if (!text)
        return -1;
    memcpy(text, row, row_size);
    text[row_size] = ',';
    if (ref)
        memcpy(text + row_size + 1, ref, ref_size);
    else
        memset(text + row_size + 1, ',', empty);
    int rc = rill_collector_emit(out, text, row_size + 1 + ref_size + empty, event->timestamp);
    free(text);
    return rc;
}

//  Each enrich subtask's own: the job, and its counters of events with and without a
//  reference row (user metrics: --metrics, the metrics JSON, rill top, the report).
typedef struct {
    const s_job_t *job;
    rill_metric_t *enriched, *unmatched;
} s_local_t;

static int s_open(const rill_context_t *context, void *ctx, void **subtask_ctx)
{
    s_local_t *local = malloc(sizeof *local);
    if (!local)
        return -1;
    *local = (s_local_t){ctx, rill_context_counter(context, "enriched"),
                         rill_context_counter(context, "unmatched")};
    *subtask_ctx = local;
    return 0;
}

static void s_close(const rill_context_t *context, void *subtask_ctx)
{
    (void)context;
    free(subtask_ctx);
}

static int s_on_time(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                     rill_collector_t *out, void *ctx)
{
    (void)domain;
    s_local_t *local = ctx;
    const s_job_t *job = local->job;
    const void *data;
    size_t size;
    if (rill_state_map_get(process, "waiting", &time, sizeof time, &data, &size))
        return 0;
    //  Broadcast state reads do not move keyed state: the list stays valid while they run.
    uint8_t *list = malloc(size ? size : 1);
    if (!list)
        return -1;
    memcpy(list, data, size);
    int rc = 0;
    for (const uint8_t *at = list, *end = list + size; rc == 0 && at + 4 <= end;) {
        uint32_t entry;
        memcpy(&entry, at, sizeof entry);
        at += sizeof entry;
        if (entry > (size_t)(end - at)) {
            rc = -1;
            break;
        }
        rill_record_t event = {at, entry, time};
        bool matched = false;
        rc = s_enrich(process, &event, job, out, &matched);
        rill_metric_add(matched ? local->enriched : local->unmatched, 1);
        at += entry;
    }
    free(list);
    return rc || rill_state_map_remove(process, "waiting", &time, sizeof time) ? -1 : 0;
}

static void s_write_header(s_job_t *job)
{
    if (job->header_written)
        return;
    job->header_written = true;
    const char *events = job->files[0].header, *reference = job->files[1].header;
    if (fprintf(job->out, "%s,%s\n", events ? events : "", reference ? reference : "") < 0 &&
        !job->failed_write)
        job->failed_write = errno ? errno : EIO;
}

//  The output's writer (one subtask): the header before the first line, then each line.
static int s_write(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out;
    s_job_t *job = ctx;
    s_write_header(job);
    if ((fwrite(in->data, 1, in->size, job->out) != in->size || fputc('\n', job->out) == EOF) &&
        !job->failed_write)
        job->failed_write = errno ? errno : EIO;
    return job->failed_write ? -1 : 0;
}

static int s_usage(const char *why, const char *detail)
{
    if (why)
        fprintf(stderr, "enrich: %s%s\n", why, detail ? detail : "");
    fprintf(stderr,
            "usage: rill run enrich [-p N] -- --events FILE --reference FILE\n"
            "         --key NAME --lookup NAME --reference-key NAME\n"
            "         --events-time NAME --reference-time NAME\n"
            "         [--out-of-orderness D] [--max-record-size BYTES] [--output FILE]\n"
            "each event (keyed by --key) gets the reference row whose --reference-key equals\n"
            "its --lookup and is the latest at or before its time; durations: 250ms, 10s, 5m;\n"
            "times: ISO-8601 UTC or epoch milliseconds; the reference must be a file\n");
    return 2;
}

static void s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    for (int i = 0; i < 2; i++) {
        free(job->files[i].path);
        for (int n = 0; n < 3; n++)
            free(job->files[i].names[n]);
        free(job->files[i].header);
    }
    if (job->own_out)
        fclose(job->out);
    free(job);
    *job_p = NULL;
}

//  Reads a file's header now (a regular file only: a pipe's line 1 would be gone for the
//  job). 0, 1 when it is not a regular file, -1 (reported) when it cannot be used.
static int s_check_header(s_file_t *file, size_t max_record_size)
{
    struct stat info;
    if (stat(file->path, &info) != 0 || !S_ISREG(info.st_mode))
        return 1;
    char *line = NULL;
    size_t length = 0;
    int rc = rill_job_read_first_line(file->path, max_record_size, &line, &length);
    if (rc == 1)
        fprintf(stderr, "enrich: the %s file '%s' has no header row\n", file->name, file->path);
    else if (rc == 2)
        fprintf(stderr, "enrich: the header of '%s' is longer than %zu bytes\n", file->path,
                max_record_size);
    else if (rc < 0)
        fprintf(stderr, "enrich: cannot read '%s': %s\n", file->path, strerror(errno));
    if (rc == 0) {
        size_t bom = rill_windowed_bom(line, length);
        rc = s_read_header(file, line + bom, length - bom);
    }
    free(line);
    return rc ? -1 : 0;
}

static rill_stream_t *s_file_stream(rill_env_t *env, s_file_t *file, int64_t out_of_orderness)
{
    char name[32];
    snprintf(name, sizeof name, "Source: %s", file->name);
    rill_stream_t *lines =
        rill_stream_parallelism(rill_stream_name(rill_env_from_text_file(env, file->path), name), 1);
    snprintf(name, sizeof name, "parse %s", file->name);
    rill_stream_t *rows = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(lines, s_parse_row, file), name), 1);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness, .interval_ms = 0};
    return rill_stream_parallelism(
        rill_stream_assign_timestamps(rows, s_record_time, NULL, &strategy), 1);
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"events", required_argument, NULL, 'e'},
        {"reference", required_argument, NULL, 'r'},
        {"key", required_argument, NULL, 'k'},
        {"lookup", required_argument, NULL, 'l'},
        {"reference-key", required_argument, NULL, 'K'},
        {"events-time", required_argument, NULL, 't'},
        {"reference-time", required_argument, NULL, 'T'},
        {"out-of-orderness", required_argument, NULL, 'o'},
        {"max-record-size", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *events = NULL, *reference = NULL, *key = NULL, *lookup = NULL, *ref_key = NULL;
    const char *events_time = NULL, *ref_time = NULL, *output = NULL;
    int64_t out_of_orderness = 0;
    size_t max_record_size = RILL_DEFAULT_MAX_RECORD_SIZE;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'e': events = optarg; break;
        case 'r': reference = optarg; break;
        case 'k': key = optarg; break;
        case 'l': lookup = optarg; break;
        case 'K': ref_key = optarg; break;
        case 't': events_time = optarg; break;
        case 'T': ref_time = optarg; break;
        case 'O': output = optarg; break;
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
    if (!events || !reference || !key || !lookup || !ref_key || !events_time || !ref_time)
        return s_usage("--events, --reference, --key, --lookup, --reference-key, --events-time "
                       "and --reference-time are required",
                       NULL);
    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job)
        return -1;
    s_file_t *ev = &s_job->files[0], *ref = &s_job->files[1];
    ev->name = "events";
    ref->name = "reference";
    ev->columns_wanted = 3;
    ref->columns_wanted = 2;
    if (!(ev->path = strdup(events)) || !(ref->path = strdup(reference)) ||
        !(ev->names[0] = strdup(key)) || !(ev->names[1] = strdup(events_time)) ||
        !(ev->names[2] = strdup(lookup)) || !(ref->names[0] = strdup(ref_key)) ||
        !(ref->names[1] = strdup(ref_time))) {
        s_job_destroy(&s_job);
        return -1;
    }
    //  The reference's header is needed now (its column count makes an event's empty fields);
    //  the events' is checked now when it is a file.
    int checked = s_check_header(ref, max_record_size);
    if (checked == 1) {
        fprintf(stderr, "enrich: the reference '%s' must be a regular file\n", reference);
        s_job_destroy(&s_job);
        return 1;
    }
    if (checked || s_check_header(ev, max_record_size) < 0) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->reference_commas = ref->columns - 1;
    ref->columns = ev->columns = 0; //  the parse steps read line 1 again
    s_job->out = stdout;
    if (output) {
        s_job->out = fopen(output, "w");
        if (!s_job->out) {
            fprintf(stderr, "enrich: cannot write '%s': %s\n", output, strerror(errno));
            s_job->out = stdout;
            s_job_destroy(&s_job);
            return 1;
        }
        s_job->own_out = true;
    }
    rill_stream_t *keyed =
        rill_stream_key_by(s_file_stream(env, ev, out_of_orderness), s_key, NULL);
    rill_stream_t *rules = s_file_stream(env, ref, out_of_orderness);
    rill_stream_t *enriched = rill_stream_open_close(
        rill_stream_name(rill_stream_broadcast_process(keyed, rules, s_on_event, s_on_reference,
                                                       s_on_time, s_job),
                         "enrich"),
        s_open, s_close);
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(enriched), s_write, s_job),
                         "Sink: write"),
        1));
    return 0;
}

//  Called by the tool after the run: the header even when there was no event, the output
//  closed, and the rows that did not parse reported.
void rill_job_finish(rill_env_t *env)
{
    (void)env;
    if (!s_job)
        return;
    for (int i = 0; i < 2; i++)
        if (s_job->files[i].bad_rows)
            fprintf(stderr, "enrich: %llu %s row%s did not parse and %s skipped\n",
                    (unsigned long long)s_job->files[i].bad_rows, s_job->files[i].name,
                    s_job->files[i].bad_rows == 1 ? "" : "s",
                    s_job->files[i].bad_rows == 1 ? "was" : "were");
    s_write_header(s_job);
    if (fflush(s_job->out) && !s_job->failed_write)
        s_job->failed_write = errno ? errno : EIO;
    if (s_job->failed_write)
        fprintf(stderr, "enrich: cannot write the output: %s\n", strerror(s_job->failed_write));
    s_job_destroy(&s_job);
}
