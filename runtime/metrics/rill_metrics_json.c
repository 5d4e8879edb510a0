/*  rill_metrics_json.c: a run's counters as JSON, for --metrics-json, the live monitor
    stream and the flow diagram, and back. The document embeds the plan (rill_plan_to_json), so
    a metrics file alone is enough to draw where the records went. Schema in README.md.
    Reading trusts nothing: a file may be hand-edited, truncated or from another job, and what
    it says is drawn (widths, colours), so every field is checked against the plan and against
    the other fields it is derived from, as the plan reader checks a plan. */
#include "rill_json_check.h"
#include "rill_key_hash.h"
#include "rill_metrics_private.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_subtask(const rill_plan_t *plan, int id, const rill_subtask_metrics_t *m)
{
    const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, id);
    uint64_t total = m->busy_ns + m->idle_ns + m->backpressure_ns;
    json_t *item = json_pack(
        "{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:b}", "id", id,
        "operator", subtask->op, "index", subtask->index, "records_in", (json_int_t)m->records_in,
        "records_out", (json_int_t)m->records_out, "bytes_in", (json_int_t)m->bytes_in, "bytes_out",
        (json_int_t)m->bytes_out, "batches_in", (json_int_t)m->batches_in, "batches_out",
        (json_int_t)m->batches_out, "busy_ns", (json_int_t)m->busy_ns, "idle_ns",
        (json_int_t)m->idle_ns, "backpressure_ns", (json_int_t)m->backpressure_ns, "busy_ratio",
        total ? (double)m->busy_ns / (double)total : 0.0, "backpressure_ratio",
        total ? (double)m->backpressure_ns / (double)total : 0.0, "finished", m->finished != 0);
    //  Its event time, when it has any: the latest watermark, idleness, late records.
    if (item && (m->watermark_seen || m->late_records) &&
        json_object_set_new(item, "event_time",
                            json_pack("{s:o, s:b, s:I}", "watermark",
                                      m->watermark_seen ? json_integer(m->watermark) : json_null(),
                                      "idle", m->input_idle != 0, "late_records",
                                      (json_int_t)m->late_records))) {
        json_decref(item);
        return NULL;
    }
    //  Where its busy time went (the three add up to busy_ns; counters read while the job runs
    //  may be a sample apart, so the shares are bounded by busy here).
    uint64_t zmq = m->zmq_ns < m->busy_ns ? m->zmq_ns : m->busy_ns;
    uint64_t user = m->user_ns < m->busy_ns - zmq ? m->user_ns : m->busy_ns - zmq;
    if (item && json_object_set_new(item, "busy_split",
                                    json_pack("{s:I, s:I, s:I}", "user_ns", (json_int_t)user,
                                              "runtime_ns", (json_int_t)(m->busy_ns - user - zmq),
                                              "zmq_ns", (json_int_t)zmq))) {
        json_decref(item);
        return NULL;
    }
    //  Its latest checkpoint, when it took part in one.
    if (item && m->checkpoint &&
        json_object_set_new(item, "checkpoint",
                            json_pack("{s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)m->checkpoint,
                                      "alignment_ns", (json_int_t)m->checkpoint_alignment_ns,
                                      "sync_ns", (json_int_t)m->checkpoint_sync_ns, "bytes",
                                      (json_int_t)m->checkpoint_bytes, "acked_ms",
                                      (json_int_t)m->checkpoint_acked_ms))) {
        json_decref(item);
        return NULL;
    }
    return item;
}

//  The job's checkpoint statistics (only when checkpoints were on).
static json_t *s_checkpoints(const rill_checkpoint_stats_t *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:b, s:s, s:s}", "completed",
                     (json_int_t)c->completed, "failed", (json_int_t)c->failed, "latest",
                     (json_int_t)c->latest, "latest_trigger_ms", (json_int_t)c->latest_trigger_ms,
                     "latest_duration_ms", (json_int_t)c->latest_duration_ms, "latest_bytes",
                     (json_int_t)c->latest_bytes, "latest_alignment_ns",
                     (json_int_t)c->latest_alignment_ns, "restored", (json_int_t)c->restored,
                     "restarts", c->restarts, "savepoint_done", c->savepoint_done,
                     "last_failure", c->last_failure, "notes", c->notes);
}

static json_t *s_hot_keys(const rill_metrics_t *self);
static json_t *s_diagnosis(const rill_metrics_t *self);

char *rill_metrics_to_json(const rill_metrics_t *self, bool running)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    //  One copy of every subtask's counters, from which the subtasks, the operators and the
    //  totals are all written: while the job runs the counters move, and a document whose
    //  sums disagree with its parts would be refused when read back (rill_metrics_from_json).
    rill_subtask_metrics_t *copies =
        calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(rill_subtask_metrics_t));
    if (!copies)
        return NULL;
    for (int id = 0; id < rill_plan_subtask_count(plan); id++)
        copies[id] = rill_metrics_subtask(self, id);
    char *plan_text = rill_plan_to_json(plan);
    json_t *plan_json = plan_text ? json_loads(plan_text, 0, NULL) : NULL;
    free(plan_text);
    json_t *subtasks = json_array(), *channels = json_array(), *operators = json_array();
    uint64_t records_in = 0, records_out = 0, bytes_out = 0, channel_records = 0;
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        json_t *item = s_subtask(plan, id, &copies[id]);
        //  Its user metrics, when it registered any.
        rill_user_metric_t user[RILL_USER_METRICS];
        int count = rill_metrics_user(self, id, user, RILL_USER_METRICS);
        json_t *list = count && item ? json_array() : NULL;
        for (int u = 0; list && u < count; u++)
            json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "name", user[u].name, "kind",
                                                  user[u].gauge ? "gauge" : "counter", "value",
                                                  (json_int_t)user[u].value));
        if (list)
            json_object_set_new(item, "user_metrics", list);
        json_array_append_new(subtasks, item);
        records_in += copies[id].records_in;
        records_out += copies[id].records_out;
        bytes_out += copies[id].bytes_out;
    }
    for (int id = 0; id < rill_plan_channel_count(plan); id++) {
        const rill_plan_channel_t *channel = rill_plan_channel(plan, id);
        rill_channel_metrics_t m = rill_metrics_channel(self, id);
        channel_records += m.records;
        json_array_append_new(
            channels,
            json_pack("{s:i, s:i, s:i, s:i, s:s, s:I, s:I, s:I, s:I}", "id", id, "edge",
                      channel->edge, "from_subtask", channel->from_subtask, "to_subtask",
                      channel->to_subtask, "pattern",
                      rill_pattern_name(rill_plan_edge(plan, channel->edge)->pattern), "records",
                      (json_int_t)m.records, "bytes", (json_int_t)m.bytes, "batches",
                      (json_int_t)m.batches, "records_received", (json_int_t)m.records_received));
    }
    //  Per operator: the sums over its subtasks, and the largest backpressure ratio among them.
    for (int op = 0; op < rill_plan_operator_count(plan); op++) {
        const rill_plan_operator_t *o = rill_plan_operator(plan, op);
        uint64_t in = 0, out = 0, busy = 0, blocked = 0, total = 0;
        double worst = 0;
        for (int i = 0; i < o->parallelism; i++) {
            const rill_subtask_metrics_t *m = &copies[o->first_subtask + i];
            uint64_t t = m->busy_ns + m->idle_ns + m->backpressure_ns;
            in += m->records_in, out += m->records_out, busy += m->busy_ns;
            blocked += m->backpressure_ns, total += t;
            double ratio = t ? (double)m->backpressure_ns / (double)t : 0;
            worst = ratio > worst ? ratio : worst;
        }
        json_array_append_new(
            operators,
            json_pack("{s:i, s:s, s:s, s:i, s:I, s:I, s:f, s:f, s:f}", "id", op, "name", o->name,
                      "kind", o->kind_name, "parallelism", o->parallelism, "records_in",
                      (json_int_t)in, "records_out", (json_int_t)out, "busy_ratio",
                      total ? (double)busy / (double)total : 0.0, "backpressure_ratio",
                      total ? (double)blocked / (double)total : 0.0, "max_backpressure_ratio",
                      worst));
    }
    free(copies);
    json_t *root = json_pack(
        "{s:i, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "rill_metrics", 1,
        "job", rill_plan_job_name(plan), "mode", rill_mode_name(rill_plan_mode(plan)), "running",
        running, "duration_ns", (json_int_t)rill_metrics_duration_ns(self), "plan",
        plan_json ? plan_json : json_null(), "operators", operators, "subtasks", subtasks,
        "channels", channels, "totals", "records_in", (json_int_t)records_in, "records_out",
        (json_int_t)records_out, "bytes_out", (json_int_t)bytes_out, "channel_records",
        (json_int_t)channel_records);
    rill_checkpoint_stats_t checkpoints = rill_metrics_checkpoints(self);
    if (root && checkpoints.enabled &&
        json_object_set_new(root, "checkpoints", s_checkpoints(&checkpoints))) {
        json_decref(root);
        return NULL;
    }
    if (root && (json_object_set_new(root, "hot_keys", s_hot_keys(self)) ||
                 json_object_set_new(root, "diagnosis", s_diagnosis(self)))) {
        json_decref(root);
        return NULL;
    }
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

//  Every hash edge's heaviest keys: [{"edge", "key", "size", "count", "receiver"}], heaviest
//  first per edge. Keys are bytes: JSON strings need UTF-8, so a key that is not valid UTF-8
//  is written with its other bytes as U+FFFD (the count and receiver stay exact).
static json_t *s_hot_keys(const rill_metrics_t *self)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    json_t *list = json_array();
    for (int e = 0; list && e < rill_plan_edge_count(plan); e++) {
        rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
        int count = rill_metrics_hot_keys(self, e, keys, RILL_METRICS_HOT_KEYS);
        for (int k = 0; k < count; k++) {
            json_t *key = json_string(keys[k].key);
            if (!key) {
                char clean[RILL_HOT_KEY_MAX + 1];
                size_t n = 0;
                for (const unsigned char *c = (const unsigned char *)keys[k].key; *c; c++)
                    clean[n++] = *c < 0x80 ? (char)*c : '?';
                clean[n] = 0;
                key = json_string(clean);
            }
            json_array_append_new(list, json_pack("{s:i, s:o, s:I, s:I, s:i}", "edge", e, "key",
                                                  key, "size", (json_int_t)keys[k].size, "count",
                                                  (json_int_t)keys[k].count, "receiver",
                                                  keys[k].receiver));
        }
    }
    return list;
}

//  rill_metrics_diagnosis's lines, as an array of strings.
static json_t *s_diagnosis(const rill_metrics_t *self)
{
    char *text = rill_metrics_diagnosis(self);
    json_t *lines = json_array();
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; lines && line;
         line = strtok_r(NULL, "\n", &save))
        json_array_append_new(lines, json_string(line));
    free(text);
    return lines;
}

//  ---- reading

static int s_count(rill_json_check_t *reader, json_t *object, const char *where, const char *key,
                   uint64_t *value);

//  The optional "checkpoints" object (documents of runs without checkpoints have none).
static int s_read_checkpoints(rill_json_check_t *reader, json_t *root, rill_metrics_t *self)
{
    json_t *object = json_object_get(root, "checkpoints");
    if (!object)
        return 0;
    if (!json_is_object(object))
        return rill_json_check_fail(reader, "'checkpoints' is not an object");
    rill_checkpoint_stats_t c = {.enabled = true};
    uint64_t values[9];
    static const char *keys[9] = {"completed",       "failed",       "latest",
                                  "latest_trigger_ms", "latest_duration_ms", "latest_bytes",
                                  "latest_alignment_ns", "restored",   "restarts"};
    for (int i = 0; i < 9; i++)
        if (s_count(reader, object, "checkpoints", keys[i], &values[i]))
            return -1;
    json_t *done = json_object_get(object, "savepoint_done");
    json_t *failure = json_object_get(object, "last_failure"), *notes = json_object_get(object, "notes");
    if (!json_is_boolean(done) || !json_is_string(failure) || !json_is_string(notes))
        return rill_json_check_fail(reader, "'checkpoints': 'savepoint_done', 'last_failure' or "
                                            "'notes' is missing or of the wrong type");
    c.completed = (int64_t)values[0];
    c.failed = (int64_t)values[1];
    c.latest = (int64_t)values[2];
    c.latest_trigger_ms = (int64_t)values[3];
    c.latest_duration_ms = (int64_t)values[4];
    c.latest_bytes = values[5];
    c.latest_alignment_ns = values[6];
    c.restored = (int64_t)values[7];
    c.restarts = values[8] > INT32_MAX ? INT32_MAX : (int)values[8];
    c.savepoint_done = json_is_true(done);
    snprintf(c.last_failure, sizeof c.last_failure, "%s", json_string_value(failure));
    snprintf(c.notes, sizeof c.notes, "%s", json_string_value(notes));
    rill_metrics_set_checkpoints(self, &c);
    return 0;
}

//  A count: an integer >= 0 (jansson refuses integers beyond int64 when parsing).
static int s_count(rill_json_check_t *reader, json_t *object, const char *where, const char *key,
                   uint64_t *value)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_integer(member))
        return rill_json_check_fail(reader, "%s: '%s' is missing or not an integer", where, key);
    json_int_t number = json_integer_value(member);
    if (number < 0)
        return rill_json_check_fail(reader, "%s: '%s' = %lld is negative", where, key,
                                    (long long)number);
    *value = (uint64_t)number;
    return 0;
}

//  An id or size that must equal what the plan says.
static int s_expect_int(rill_json_check_t *reader, json_t *object, const char *where,
                        const char *key, int expected)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_integer(member))
        return rill_json_check_fail(reader, "%s: '%s' is missing or not an integer", where, key);
    if (json_integer_value(member) != expected)
        return rill_json_check_fail(reader, "%s: '%s' = %lld, but the plan says %d", where, key,
                                    (long long)json_integer_value(member), expected);
    return 0;
}

static int s_expect_string(rill_json_check_t *reader, json_t *object, const char *where,
                           const char *key, const char *expected)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_string(member))
        return rill_json_check_fail(reader, "%s: '%s' is missing or not a string", where, key);
    if (strcmp(json_string_value(member), expected) != 0)
        return rill_json_check_fail(reader, "%s: '%s' = \"%s\", but the plan says \"%s\"", where,
                                    key, json_string_value(member), expected);
    return 0;
}

//  A ratio: a number within 0..1 that equals part / whole (0 when whole is 0), as the writer
//  computed it; the tolerance only absorbs a decimal round trip.
static int s_ratio(rill_json_check_t *reader, json_t *object, const char *where, const char *key,
                   double expected)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_number(member))
        return rill_json_check_fail(reader, "%s: '%s' is missing or not a number", where, key);
    double ratio = json_number_value(member);
    if (!(ratio >= 0.0 && ratio <= 1.0))
        return rill_json_check_fail(reader, "%s: '%s' = %g is out of range (0..1)", where, key,
                                    ratio);
    if (fabs(ratio - expected) > 1e-9)
        return rill_json_check_fail(reader,
                                    "%s: '%s' = %g does not match the times it comes from (%g)",
                                    where, key, ratio, expected);
    return 0;
}

static double s_share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

//  sum += value, refusing a sum past 2^64 (only a forged file gets there).
static int s_add(rill_json_check_t *reader, uint64_t *sum, uint64_t value, const char *where,
                 const char *key)
{
    if (__builtin_add_overflow(*sum, value, sum))
        return rill_json_check_fail(reader, "%s: '%s' makes a sum beyond 2^64", where, key);
    return 0;
}

static json_t *s_array(rill_json_check_t *reader, json_t *root, const char *key, int expected)
{
    json_t *array = json_object_get(root, key);
    if (!json_is_array(array)) {
        rill_json_check_fail(reader, "'%s' is missing or not an array", key);
        return NULL;
    }
    if (json_array_size(array) != (size_t)expected) {
        rill_json_check_fail(reader, "'%s' has %zu entries, but the plan has %d", key,
                             json_array_size(array), expected);
        return NULL;
    }
    return array;
}

//  Whether file_plan (read from the document) is the shape of plan (given by the caller):
//  the same operators with the same parallelism, the same edges, the same channels.
static int s_same_plan(rill_json_check_t *reader, const rill_plan_t *file_plan,
                       const rill_plan_t *plan)
{
    const char *advice = "use the file of a run of the same job with the same parallelism";
    int count = rill_plan_operator_count(file_plan);
    if (count != rill_plan_operator_count(plan))
        return rill_json_check_fail(reader, "the run had %d operators, the plan has %d: %s", count,
                                    rill_plan_operator_count(plan), advice);
    for (int i = 0; i < count; i++) {
        const rill_plan_operator_t *a = rill_plan_operator(file_plan, i);
        const rill_plan_operator_t *b = rill_plan_operator(plan, i);
        if (a->kind != b->kind || strcmp(a->name, b->name) != 0)
            return rill_json_check_fail(
                reader, "operator %d of the run is '%s' (%s), the plan's is '%s' (%s): %s", i,
                a->name, a->kind_name, b->name, b->kind_name, advice);
        if (a->parallelism != b->parallelism)
            return rill_json_check_fail(
                reader, "operator %d ('%s') ran with parallelism %d, the plan has %d: %s", i,
                a->name, a->parallelism, b->parallelism, advice);
    }
    count = rill_plan_edge_count(file_plan);
    if (count != rill_plan_edge_count(plan))
        return rill_json_check_fail(reader, "the run had %d edges, the plan has %d: %s", count,
                                    rill_plan_edge_count(plan), advice);
    for (int i = 0; i < count; i++) {
        const rill_plan_edge_t *a = rill_plan_edge(file_plan, i), *b = rill_plan_edge(plan, i);
        if (a->from != b->from || a->to != b->to || a->pattern != b->pattern ||
            a->channel_count != b->channel_count)
            return rill_json_check_fail(
                reader, "edge %d of the run (%d -> %d, %s) is not the plan's (%d -> %d, %s): %s", i,
                a->from, a->to, rill_pattern_name(a->pattern), b->from, b->to,
                rill_pattern_name(b->pattern), advice);
    }
    count = rill_plan_channel_count(file_plan);
    if (count != rill_plan_channel_count(plan))
        return rill_json_check_fail(reader, "the run had %d channels, the plan has %d: %s", count,
                                    rill_plan_channel_count(plan), advice);
    for (int i = 0; i < count; i++) {
        const rill_plan_channel_t *a = rill_plan_channel(file_plan, i);
        const rill_plan_channel_t *b = rill_plan_channel(plan, i);
        if (a->from_subtask != b->from_subtask || a->to_subtask != b->to_subtask)
            return rill_json_check_fail(
                reader, "channel %d of the run does not join the plan's subtasks: %s", i, advice);
    }
    return 0;
}

//  Reads "subtasks" into self's slots; adds the totals' subtask sums to totals
//  (records_in, records_out, bytes_out).
static int s_read_subtasks(rill_json_check_t *reader, json_t *root, rill_metrics_t *self,
                           uint64_t totals[3])
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    json_t *array = s_array(reader, root, "subtasks", rill_plan_subtask_count(plan));
    if (!array)
        return -1;
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        json_t *item = json_array_get(array, (size_t)i);
        char where[32];
        snprintf(where, sizeof where, "subtask %d", i);
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "%s is not an object", where);
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        rill_subtask_metrics_t m = {0};
        uint64_t total = 0;
        json_t *finished = json_object_get(item, "finished");
        if (s_expect_int(reader, item, where, "id", i) ||
            s_expect_int(reader, item, where, "operator", subtask->op) ||
            s_expect_int(reader, item, where, "index", subtask->index) ||
            s_count(reader, item, where, "records_in", &m.records_in) ||
            s_count(reader, item, where, "records_out", &m.records_out) ||
            s_count(reader, item, where, "bytes_in", &m.bytes_in) ||
            s_count(reader, item, where, "bytes_out", &m.bytes_out) ||
            s_count(reader, item, where, "batches_in", &m.batches_in) ||
            s_count(reader, item, where, "batches_out", &m.batches_out) ||
            s_count(reader, item, where, "busy_ns", &m.busy_ns) ||
            s_count(reader, item, where, "idle_ns", &m.idle_ns) ||
            s_count(reader, item, where, "backpressure_ns", &m.backpressure_ns) ||
            s_add(reader, &total, m.busy_ns, where, "busy_ns") ||
            s_add(reader, &total, m.idle_ns, where, "idle_ns") ||
            s_add(reader, &total, m.backpressure_ns, where, "backpressure_ns") ||
            s_ratio(reader, item, where, "busy_ratio", s_share(m.busy_ns, total)) ||
            s_ratio(reader, item, where, "backpressure_ratio", s_share(m.backpressure_ns, total)))
            return -1;
        if (!json_is_boolean(finished))
            return rill_json_check_fail(reader, "%s: 'finished' is missing or not true/false",
                                        where);
        m.finished = json_is_true(finished);
        //  Optional: only subtasks that took part in a checkpoint have it.
        json_t *checkpoint = json_object_get(item, "checkpoint");
        if (checkpoint) {
            char inner[64];
            snprintf(inner, sizeof inner, "%s checkpoint", where);
            if (!json_is_object(checkpoint))
                return rill_json_check_fail(reader, "%s: 'checkpoint' is not an object", where);
            if (s_count(reader, checkpoint, inner, "id", &m.checkpoint) ||
                s_count(reader, checkpoint, inner, "alignment_ns", &m.checkpoint_alignment_ns) ||
                s_count(reader, checkpoint, inner, "sync_ns", &m.checkpoint_sync_ns) ||
                s_count(reader, checkpoint, inner, "bytes", &m.checkpoint_bytes) ||
                s_count(reader, checkpoint, inner, "acked_ms", &m.checkpoint_acked_ms))
                return -1;
        }
        //  Where the busy time went: its parts add up to busy_ns.
        json_t *split = json_object_get(item, "busy_split");
        {
            char inner[64];
            uint64_t runtime = 0, sum = 0;
            snprintf(inner, sizeof inner, "%s busy_split", where);
            if (!json_is_object(split))
                return rill_json_check_fail(reader, "%s: 'busy_split' is missing or not an object",
                                            where);
            if (s_count(reader, split, inner, "user_ns", &m.user_ns) ||
                s_count(reader, split, inner, "runtime_ns", &runtime) ||
                s_count(reader, split, inner, "zmq_ns", &m.zmq_ns) ||
                s_add(reader, &sum, m.user_ns, inner, "user_ns") ||
                s_add(reader, &sum, runtime, inner, "runtime_ns") ||
                s_add(reader, &sum, m.zmq_ns, inner, "zmq_ns"))
                return -1;
            if (sum != m.busy_ns)
                return rill_json_check_fail(reader, "%s: user_ns + runtime_ns + zmq_ns is %llu, "
                                                    "not busy_ns (%llu)",
                                            inner, (unsigned long long)sum,
                                            (unsigned long long)m.busy_ns);
        }
        //  Optional: only subtasks that registered user metrics have them.
        json_t *user = json_object_get(item, "user_metrics");
        if (user) {
            size_t u;
            json_t *metric;
            if (!json_is_array(user) || json_array_size(user) > RILL_USER_METRICS)
                return rill_json_check_fail(reader, "%s: 'user_metrics' is not a list of at most "
                                                    "%d",
                                            where, RILL_USER_METRICS);
            json_array_foreach(user, u, metric)
            {
                const char *name = json_string_value(json_object_get(metric, "name"));
                const char *kind = json_string_value(json_object_get(metric, "kind"));
                json_t *value = json_object_get(metric, "value");
                if (!name || !kind || !json_is_integer(value) ||
                    (strcmp(kind, "counter") && strcmp(kind, "gauge")))
                    return rill_json_check_fail(reader, "%s: user metric %zu needs 'name', "
                                                        "'kind' (counter or gauge) and 'value'",
                                                where, u);
                int64_t *slot = rill_metrics_user_slot(self, i, name, strcmp(kind, "gauge") == 0);
                if (!slot)
                    return rill_json_check_fail(reader, "%s: user metric '%s' has an empty or "
                                                        "too long name, or is one too many",
                                                where, name);
                *slot = (int64_t)json_integer_value(value);
            }
        }
        //  Optional: only subtasks that saw event time have it.
        json_t *event_time = json_object_get(item, "event_time");
        if (event_time) {
            char inner[64];
            snprintf(inner, sizeof inner, "%s event_time", where);
            json_t *watermark = json_object_get(event_time, "watermark");
            json_t *idle = json_object_get(event_time, "idle");
            if (!json_is_object(event_time) || !(json_is_integer(watermark) || json_is_null(watermark)) ||
                !json_is_boolean(idle))
                return rill_json_check_fail(reader, "%s: needs 'watermark' (a number or null) and "
                                                    "'idle' (true/false)",
                                            inner);
            if (s_count(reader, event_time, inner, "late_records", &m.late_records))
                return -1;
            m.watermark_seen = json_is_integer(watermark);
            m.watermark = m.watermark_seen ? (int64_t)json_integer_value(watermark) : 0;
            m.input_idle = json_is_true(idle);
        }
        if (s_add(reader, &totals[0], m.records_in, where, "records_in") ||
            s_add(reader, &totals[1], m.records_out, where, "records_out") ||
            s_add(reader, &totals[2], m.bytes_out, where, "bytes_out"))
            return -1;
        *rill_metrics_subtask_slot(self, i) = m;
    }
    return 0;
}

static int s_read_channels(rill_json_check_t *reader, json_t *root, rill_metrics_t *self,
                           uint64_t *channel_records)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    json_t *array = s_array(reader, root, "channels", rill_plan_channel_count(plan));
    if (!array)
        return -1;
    for (int i = 0; i < rill_plan_channel_count(plan); i++) {
        json_t *item = json_array_get(array, (size_t)i);
        char where[32];
        snprintf(where, sizeof where, "channel %d", i);
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "%s is not an object", where);
        const rill_plan_channel_t *channel = rill_plan_channel(plan, i);
        const rill_plan_edge_t *edge = rill_plan_edge(plan, channel->edge);
        rill_channel_metrics_t m = {0};
        if (s_expect_int(reader, item, where, "id", i) ||
            s_expect_int(reader, item, where, "edge", channel->edge) ||
            s_expect_int(reader, item, where, "from_subtask", channel->from_subtask) ||
            s_expect_int(reader, item, where, "to_subtask", channel->to_subtask) ||
            s_expect_string(reader, item, where, "pattern", rill_pattern_name(edge->pattern)) ||
            s_count(reader, item, where, "records", &m.records) ||
            s_count(reader, item, where, "bytes", &m.bytes) ||
            s_count(reader, item, where, "batches", &m.batches) ||
            s_count(reader, item, where, "records_received", &m.records_received) ||
            s_add(reader, channel_records, m.records, where, "records"))
            return -1;
        *rill_metrics_channel_slot(self, i) = m;
    }
    return 0;
}

//  Checks "operators" against the plan and the subtasks already read: names, kinds and
//  parallelism as planned, counts and ratios as the writer derives them from the subtasks.
static int s_check_operators(rill_json_check_t *reader, json_t *root, const rill_metrics_t *self)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    json_t *array = s_array(reader, root, "operators", rill_plan_operator_count(plan));
    if (!array)
        return -1;
    for (int op = 0; op < rill_plan_operator_count(plan); op++) {
        json_t *item = json_array_get(array, (size_t)op);
        char where[32];
        snprintf(where, sizeof where, "operator %d", op);
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "%s is not an object", where);
        const rill_plan_operator_t *o = rill_plan_operator(plan, op);
        //  The subtasks' sums cannot overflow: s_read_subtasks summed every subtask already.
        uint64_t in = 0, out = 0, busy = 0, blocked = 0, total = 0;
        double worst = 0;
        for (int i = 0; i < o->parallelism; i++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(self, o->first_subtask + i);
            uint64_t t = m.busy_ns + m.idle_ns + m.backpressure_ns;
            in += m.records_in, out += m.records_out;
            if (s_add(reader, &busy, m.busy_ns, where, "busy_ratio") ||
                s_add(reader, &blocked, m.backpressure_ns, where, "backpressure_ratio") ||
                s_add(reader, &total, t, where, "busy_ratio"))
                return -1;
            double ratio = s_share(m.backpressure_ns, t);
            worst = ratio > worst ? ratio : worst;
        }
        uint64_t records_in = 0, records_out = 0; //  set by s_count (GCC -O2 cannot see it)
        if (s_expect_int(reader, item, where, "id", op) ||
            s_expect_string(reader, item, where, "name", o->name) ||
            s_expect_string(reader, item, where, "kind", o->kind_name) ||
            s_expect_int(reader, item, where, "parallelism", o->parallelism) ||
            s_count(reader, item, where, "records_in", &records_in) ||
            s_count(reader, item, where, "records_out", &records_out) ||
            s_ratio(reader, item, where, "busy_ratio", s_share(busy, total)) ||
            s_ratio(reader, item, where, "backpressure_ratio", s_share(blocked, total)) ||
            s_ratio(reader, item, where, "max_backpressure_ratio", worst))
            return -1;
        if (records_in != in || records_out != out)
            return rill_json_check_fail(
                reader,
                "%s: 'records_in' / 'records_out' = %llu / %llu are not the sums over "
                "its subtasks (%llu / %llu)",
                where, (unsigned long long)records_in, (unsigned long long)records_out,
                (unsigned long long)in, (unsigned long long)out);
    }
    return 0;
}

//  The optional "hot_keys" (documents written before they existed have none): each entry
//  names a hash edge of the plan and a receiver of it; they come back as the edge's first
//  sender's (rill_metrics_hot_keys merges senders anyway). "diagnosis" is recomputed from
//  the counters, never read.
static int s_read_hot_keys(rill_json_check_t *reader, json_t *root, rill_metrics_t *self)
{
    json_t *list = json_object_get(root, "hot_keys");
    if (!list)
        return 0;
    if (!json_is_array(list))
        return rill_json_check_fail(reader, "'hot_keys' is not an array");
    const rill_plan_t *plan = rill_metrics_plan(self);
    int edges = rill_plan_edge_count(plan);
    size_t i;
    json_t *item;
    for (int e = 0; e < edges; e++) {
        rill_hot_key_t keys[RILL_METRICS_HOT_KEYS];
        int count = 0;
        json_array_foreach(list, i, item) {
            json_t *edge = json_object_get(item, "edge"), *key = json_object_get(item, "key");
            json_t *receiver = json_object_get(item, "receiver");
            uint64_t size = 0, records = 0;
            if (!json_is_integer(edge) || !json_is_string(key) || !json_is_integer(receiver) ||
                s_count(reader, item, "hot_keys", "size", &size) ||
                s_count(reader, item, "hot_keys", "count", &records))
                return rill_json_check_fail(reader, "hot_keys[%zu]: needs 'edge', 'key', 'size', "
                                                    "'count' and 'receiver'",
                                            i);
            json_int_t at = json_integer_value(edge), to = json_integer_value(receiver);
            if (at < 0 || at >= edges || rill_plan_edge(plan, (int)at)->pattern != RILL_PATTERN_HASH)
                return rill_json_check_fail(reader, "hot_keys[%zu]: edge %lld is no hash edge of "
                                                    "the plan",
                                            i, (long long)at);
            const rill_plan_edge_t *hash_edge = rill_plan_edge(plan, (int)at);
            if (to < 0 || to >= rill_plan_operator(plan, hash_edge->to)->parallelism)
                return rill_json_check_fail(reader, "hot_keys[%zu]: receiver %lld is out of range",
                                            i, (long long)to);
            if (at != e || count == RILL_METRICS_HOT_KEYS)
                continue;
            rill_hot_key_t *hot = &keys[count++];
            memset(hot, 0, sizeof *hot);
            snprintf(hot->key, sizeof hot->key, "%s", json_string_value(key));
            hot->size = (size_t)size;
            hot->count = records;
            hot->receiver = (int)to;
            hot->hash = rill_key_hash(hot->key, strlen(hot->key)) ^ size;
        }
        if (count)
            rill_metrics_set_hot_keys(self, e, 0, keys, count);
    }
    return 0;
}

static int s_check_totals(rill_json_check_t *reader, json_t *root, const uint64_t sums[4])
{
    static const char *keys[4] = {"records_in", "records_out", "bytes_out", "channel_records"};
    json_t *totals = json_object_get(root, "totals");
    if (!json_is_object(totals))
        return rill_json_check_fail(reader, "'totals' is missing or not an object");
    for (int i = 0; i < 4; i++) {
        uint64_t value = 0; //  set by s_count (GCC -O2 cannot see it)
        if (s_count(reader, totals, "totals", keys[i], &value))
            return -1;
        if (value != sums[i])
            return rill_json_check_fail(
                reader, "totals: '%s' = %llu is not the sum of the %s (%llu)", keys[i],
                (unsigned long long)value, i == 3 ? "channels" : "subtasks",
                (unsigned long long)sums[i]);
    }
    return 0;
}

rill_metrics_t *rill_metrics_from_json(const char *text, const rill_plan_t *plan, char *error,
                                       size_t error_size)
{
    rill_json_check_t reader = {"metrics JSON", error, error_size, 0};
    if (error && error_size)
        *error = 0;
    json_t *root = rill_json_check_parse(&reader, text);
    if (!root)
        return NULL;
    rill_plan_t *own_plan = NULL;
    rill_metrics_t *self = NULL;
    json_t *version = json_object_get(root, "rill_metrics");
    if (!json_is_object(root) || !json_is_integer(version)) {
        rill_json_check_fail(&reader, "not a rill metrics document (no \"rill_metrics\" member)");
        goto fail;
    }
    if (json_integer_value(version) != 1) {
        rill_json_check_fail(&reader, "'rill_metrics' = %lld: a version this rill cannot read (1)",
                             (long long)json_integer_value(version));
        goto fail;
    }
    json_t *job = json_object_get(root, "job"), *mode = json_object_get(root, "mode");
    json_t *running = json_object_get(root, "running"), *plan_json = json_object_get(root, "plan");
    uint64_t duration_ns = 0; //  set by s_count below (GCC -O2 cannot see it)
    if (!json_is_string(job)) {
        rill_json_check_fail(&reader, "'job' is missing or not a string");
        goto fail;
    }
    if (!json_is_string(mode) || (strcmp(json_string_value(mode), "batch") != 0 &&
                                  strcmp(json_string_value(mode), "streaming") != 0)) {
        rill_json_check_fail(&reader, "'mode' is missing or neither \"batch\" nor \"streaming\"");
        goto fail;
    }
    if (!json_is_boolean(running)) {
        rill_json_check_fail(&reader, "'running' is missing or not true/false");
        goto fail;
    }
    if (s_count(&reader, root, "document", "duration_ns", &duration_ns))
        goto fail;
    if (!json_is_object(plan_json)) {
        rill_json_check_fail(&reader, "'plan' is missing or not an object");
        goto fail;
    }
    //  The embedded plan is read (and checked) by the plan reader, from its own text.
    char *plan_text = json_dumps(plan_json, 0);
    char plan_error[512] = "out of memory";
    own_plan = plan_text ? rill_plan_from_json(plan_text, plan_error, sizeof plan_error) : NULL;
    free(plan_text);
    if (!own_plan) {
        rill_json_check_fail(&reader, "'plan': %s", plan_error);
        goto fail;
    }
    if (strcmp(json_string_value(mode), rill_mode_name(rill_plan_mode(own_plan))) != 0) {
        rill_json_check_fail(&reader, "'mode' = \"%s\", but the plan says \"%s\"",
                             json_string_value(mode), rill_mode_name(rill_plan_mode(own_plan)));
        goto fail;
    }
    if (plan && s_same_plan(&reader, own_plan, plan))
        goto fail;
    self = rill_metrics_new(plan ? plan : own_plan);
    if (!self) {
        rill_json_check_fail(&reader, "out of memory");
        goto fail;
    }
    uint64_t sums[4] = {0, 0, 0, 0}; //  records_in, records_out, bytes_out, channel_records
    if (s_read_subtasks(&reader, root, self, sums) ||
        s_read_channels(&reader, root, self, &sums[3]) || s_check_operators(&reader, root, self) ||
        s_check_totals(&reader, root, sums))
        goto fail;
    rill_metrics_set_duration_ns(self, duration_ns);
    if (s_read_checkpoints(&reader, root, self) || s_read_hot_keys(&reader, root, self))
        goto fail;
    if (!plan)
        rill_metrics_adopt_plan(self, &own_plan);
    rill_plan_destroy(&own_plan);
    json_decref(root);
    return self;
fail:
    rill_metrics_destroy(&self);
    rill_plan_destroy(&own_plan);
    json_decref(root);
    return NULL;
}
