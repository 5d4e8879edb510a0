/*  enrich.c: stream enrichment with broadcast state (Flink's broadcast state pattern). Events
    (a CSV file) are keyed by one column and spread over the subtasks; reference rows (another
    CSV file, small) are broadcast to every subtask, where each is kept, by its lookup value,
    as a version valid from its time on. Each event is written with the reference row in
    force at its time for its lookup value: the latest one at or before it (an event-time
    temporal join), or empty fields when there is none. Output: the events header's fields
    then the reference header's, then one line per event, the event row followed by the
    reference row, both exactly as they were in the input. */
#include <rill/rill.h>
#include "rill_job_csv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "enrich events with the reference rows in force at their time (broadcast state): "
           "-- --events FILE --reference FILE --key C --lookup C --reference-key C "
           "--events-time C --reference-time C [--output FILE]";
}

typedef struct {
    rill_job_csv_t files[2]; //  events (keyed by --key, looked up by --lookup), reference
    rill_job_output_t output;
    int reference_commas; //  a reference row's commas: empty fields for an event without one
} s_job_t;

//  The plugin keeps its job between rill_job_build and rill_job_finish: the tool calls both
//  once per process.
static s_job_t *s_job;

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
    rill_job_csv_head_t head;
    const char *key, *unused, *row;
    size_t row_size;
    if (rill_job_csv_row(in, &head, &key, &unused, &row, &row_size))
        return -1;
    const void *data = NULL;
    size_t size = 0;
    if (rill_broadcast_state_get(process, "versions", key, head.sizes[0], &data, &size))
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
    int rc = rill_broadcast_state_put(process, "versions", key, head.sizes[0], list, whole);
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
    rill_job_csv_head_t head;
    const char *key, *lookup, *row;
    size_t row_size, ref_size = 0;
    if (rill_job_csv_row(event, &head, &key, &lookup, &row, &row_size))
        return -1;
    const void *versions;
    size_t versions_size;
    const char *ref = NULL;
    if (rill_broadcast_state_get(process, "versions", lookup, head.sizes[1], &versions,
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
    for (int i = 0; i < 2; i++)
        rill_job_csv_free(&job->files[i]);
    if (job->output.own)
        fclose(job->output.out);
    free(job);
    *job_p = NULL;
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
    rill_job_csv_t *ev = &s_job->files[0], *ref = &s_job->files[1];
    if (rill_job_csv_init(ev, "enrich", "events", events, key, events_time, lookup) ||
        rill_job_csv_init(ref, "enrich", "reference", reference, ref_key, ref_time, NULL)) {
        s_job_destroy(&s_job);
        return -1;
    }
    //  The reference's header is needed now (its column count makes an event's empty fields);
    //  the events' is checked now when it is a file.
    int checked = rill_job_csv_check_header(ref, max_record_size);
    if (checked == 1)
        fprintf(stderr, "enrich: the reference '%s' must be a regular file\n", reference);
    if (checked || rill_job_csv_check_header(ev, max_record_size) < 0) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->reference_commas = ref->columns - 1;
    if (rill_job_output_open(&s_job->output, "enrich", output)) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->output.headers[0] = &ev->header;
    s_job->output.headers[1] = &ref->header;
    rill_keyed_stream_t keyed = rill_job_csv_keyed(env, ev, out_of_orderness);
    rill_stream_t *rules = rill_job_csv_stream(env, ref, out_of_orderness);
    rill_stream_t *enriched = rill_stream_open_close(
        rill_stream_name(rill_stream_broadcast_process(keyed, rules, s_on_event, s_on_reference,
                                                       s_on_time, s_job),
                         "enrich"),
        s_open, s_close);
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(enriched),
                                              rill_job_output_write, &s_job->output),
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
        rill_job_csv_report(&s_job->files[i]);
    rill_job_output_close(&s_job->output);
    s_job_destroy(&s_job);
}
