/*  rill_metrics_json.c: a run's counters as JSON, for --metrics-json, the live monitor
    stream and the flow diagram. The document embeds the plan (rill_plan_to_json), so a
    metrics file alone is enough to draw where the records went. Schema in README.md. */
#include "rill_metrics.h"

#include <jansson.h>
#include <stdlib.h>

static json_t *s_subtask(const rill_metrics_t *self, const rill_plan_t *plan, int id)
{
    const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, id);
    rill_subtask_metrics_t m = rill_metrics_subtask(self, id);
    uint64_t total = m.busy_ns + m.idle_ns + m.backpressure_ns;
    return json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:b}",
                     "id", id, "operator", subtask->op, "index", subtask->index, "records_in",
                     (json_int_t)m.records_in, "records_out", (json_int_t)m.records_out,
                     "bytes_in", (json_int_t)m.bytes_in, "bytes_out", (json_int_t)m.bytes_out,
                     "batches_in", (json_int_t)m.batches_in, "batches_out",
                     (json_int_t)m.batches_out, "busy_ns", (json_int_t)m.busy_ns, "idle_ns",
                     (json_int_t)m.idle_ns, "backpressure_ns", (json_int_t)m.backpressure_ns,
                     "busy_ratio", total ? (double)m.busy_ns / (double)total : 0.0,
                     "backpressure_ratio", total ? (double)m.backpressure_ns / (double)total : 0.0,
                     "finished", m.finished != 0);
}

char *rill_metrics_to_json(const rill_metrics_t *self, bool running)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    char *plan_text = rill_plan_to_json(plan);
    json_t *plan_json = plan_text ? json_loads(plan_text, 0, NULL) : NULL;
    free(plan_text);
    json_t *subtasks = json_array(), *channels = json_array(), *operators = json_array();
    uint64_t records_in = 0, records_out = 0, bytes_out = 0, channel_records = 0;
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        json_array_append_new(subtasks, s_subtask(self, plan, id));
        rill_subtask_metrics_t m = rill_metrics_subtask(self, id);
        records_in += m.records_in;
        records_out += m.records_out;
        bytes_out += m.bytes_out;
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
            rill_subtask_metrics_t m = rill_metrics_subtask(self, o->first_subtask + i);
            uint64_t t = m.busy_ns + m.idle_ns + m.backpressure_ns;
            in += m.records_in, out += m.records_out, busy += m.busy_ns;
            blocked += m.backpressure_ns, total += t;
            double ratio = t ? (double)m.backpressure_ns / (double)t : 0;
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
    json_t *root = json_pack(
        "{s:i, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "rill_metrics", 1,
        "job", rill_plan_job_name(plan), "mode", rill_mode_name(rill_plan_mode(plan)), "running",
        running, "duration_ns", (json_int_t)rill_metrics_duration_ns(self), "plan",
        plan_json ? plan_json : json_null(), "operators", operators, "subtasks", subtasks,
        "channels", channels, "totals", "records_in", (json_int_t)records_in, "records_out",
        (json_int_t)records_out, "bytes_out", (json_int_t)bytes_out, "channel_records",
        (json_int_t)channel_records);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}
