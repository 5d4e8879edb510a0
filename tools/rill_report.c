/*  rill_report.c: one self-contained HTML page per run: the logical and parallel diagrams,
    the flow diagram with its exchange matrices, the per-operator quantiles and each subtask's
    time (rill_report_summary.c), and the per-subtask and per-channel tables. The SVGs, the
    style and the script (rill_report_script.c) are inlined: the page needs nothing beside
    itself. */
#include "rill_report.h"
#include "rill_history.h"
#include "rill_diagram.h"
#include "rill_report_script.h"
#include "rill_report_summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rill_report_escape(FILE *out, const char *text)
{
    for (; *text; text++)
        switch (*text) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*text, out);
        }
}

//  Renders one SVG and writes it inline (from its <svg element on: no XML prologue).
static int s_svg(FILE *out, rill_diagram_t *renderer, const rill_plan_t *plan,
                 const rill_diagram_options_t *options, const char *id, const char *title)
{
    char *svg = NULL, error[256];
    size_t size;
    if (rill_diagram_render(renderer, plan, options, &svg, &size, error, sizeof error)) {
        fprintf(stderr, "rill run: report: %s\n", error);
        return -1;
    }
    const char *start = strstr(svg, "<svg");
    fprintf(out, "<section id=\"%s\"><h2>%s</h2><div class=\"diagram\">%s</div></section>\n", id,
            title, start ? start : svg);
    free(svg);
    return 0;
}

//  The task a subtask runs in: its number (the subtask id heading the chain), and for a chain
//  of several operators the chain itself ("#0: src -> map()").
static void s_task(FILE *out, const rill_plan_t *plan, const rill_plan_subtask_t *subtask)
{
    const rill_plan_subtask_t *head = rill_plan_subtask(plan, subtask->task);
    const rill_plan_operator_t *op = rill_plan_operator(plan, head ? head->op : subtask->op);
    fprintf(out, "#%d", subtask->task);
    if (op->chain_next < 0)
        return;
    fprintf(out, ": ");
    for (int id = op->id; id >= 0; id = rill_plan_operator(plan, id)->chain_next) {
        fprintf(out, id == op->id ? "" : " → ");
        rill_report_escape(out, rill_plan_operator(plan, id)->name);
    }
}

//  Checkpoint statistics, as Flink's checkpoint tab shows them: the summary, then each
//  subtask's latest checkpoint.
static void s_checkpoint_table(FILE *out, const rill_metrics_t *metrics)
{
    rill_checkpoint_stats_t c = rill_metrics_checkpoints(metrics);
    if (!c.enabled)
        return;
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    fprintf(out,
            "<section id=\"checkpoints\"><h2>Checkpoints</h2><p>%lld completed, %lld failed, "
            "%d restarts; latest %lld: %llu bytes of state, %lld ms from trigger to completion, "
            "longest alignment %.3f ms; restored from %lld (0: none).</p>",
            (long long)c.completed, (long long)c.failed, c.restarts, (long long)c.latest,
            (unsigned long long)c.latest_bytes, (long long)c.latest_duration_ms,
            (double)c.latest_alignment_ns / 1e6, (long long)c.restored);
    if (*c.last_failure) {
        fprintf(out, "<p>Last failed: ");
        rill_report_escape(out, c.last_failure);
        fprintf(out, "</p>");
    }
    fprintf(out, "<table><tr><th>subtask</th><th>checkpoint</th><th>alignment (ms)</th>"
                 "<th>snapshot (ms)</th><th>state bytes</th></tr>\n");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        fprintf(out, "<tr><td>");
        rill_report_escape(out, op->name);
        fprintf(out, " [%d/%d]</td><td>%llu</td><td>%.3f</td><td>%.3f</td><td>%llu</td></tr>\n",
                s->index + 1, op->parallelism, (unsigned long long)m.checkpoint,
                (double)m.checkpoint_alignment_ns / 1e6, (double)m.checkpoint_sync_ns / 1e6,
                (unsigned long long)m.checkpoint_bytes);
    }
    fprintf(out, "</table></section>\n");
}

//  A subtask's records per second over the run (out, or in for a subtask that emits nothing)
//  as an inline SVG polyline, 160 x 24, scaled to its own peak, with the peak as its title.
static void s_sparkline(FILE *out, const rill_history_t *history, int subtask)
{
    int samples = history ? rill_history_samples(history) : 0;
    if (samples < 2) {
        fprintf(out, "-");
        return;
    }
    rill_history_point_t last = rill_history_point(history, samples - 1, subtask);
    bool outgoing = last.records_out > 0;
    double rates[RILL_HISTORY_SAMPLES], peak = 0;
    for (int k = 1; k < samples; k++) {
        rill_history_point_t a = rill_history_point(history, k - 1, subtask),
                             b = rill_history_point(history, k, subtask);
        double seconds =
            (double)(rill_history_time(history, k) - rill_history_time(history, k - 1)) / 1e9;
        double records = outgoing ? (double)(b.records_out - a.records_out)
                                  : (double)(b.records_in - a.records_in);
        rates[k] = seconds > 0 ? records / seconds : 0;
        peak = rates[k] > peak ? rates[k] : peak;
    }
    double span = (double)(rill_history_time(history, samples - 1) - rill_history_time(history, 0));
    fprintf(out, "<svg width=\"160\" height=\"24\" viewBox=\"0 0 160 24\"><title>peak %.0f "
                 "records/s %s</title><polyline fill=\"none\" stroke=\"#1f77b4\" "
                 "stroke-width=\"1.5\" points=\"",
            peak, outgoing ? "out" : "in");
    for (int k = 1; k < samples; k++) {
        double x = span > 0 ? 160.0 * (double)(rill_history_time(history, k) -
                                               rill_history_time(history, 0)) / span
                            : 0;
        double y = 22.0 - (peak > 0 ? 20.0 * rates[k] / peak : 0);
        fprintf(out, "%.1f,%.1f ", x, y);
    }
    fprintf(out, "\"/></svg>");
}

//  When things happened: the start, each subtask finishing, checkpoints, the end.
static void s_timeline(FILE *out, const rill_history_t *history, const rill_metrics_t *metrics,
                       const char *failure)
{
    fprintf(out, "<section id=\"timeline\"><h2>Timeline</h2><table><tr><th>at (s)</th>"
                 "<th>event</th></tr>\n<tr><td>0.000</td><td>started</td></tr>\n");
    for (int i = 0; history && i < rill_history_events(history); i++) {
        const rill_history_event_t *event = rill_history_event(history, i);
        fprintf(out, "<tr><td>%.3f</td><td>", (double)event->at_ns / 1e9);
        rill_report_escape(out, event->what);
        fprintf(out, "</td></tr>\n");
    }
    fprintf(out, "<tr><td>%.3f</td><td>%s", (double)rill_metrics_duration_ns(metrics) / 1e9,
            failure && *failure ? "failed: " : "ended");
    if (failure && *failure)
        rill_report_escape(out, failure);
    fprintf(out, "</td></tr>\n</table></section>\n");
}

static void s_tables(FILE *out, const rill_metrics_t *metrics, const rill_history_t *history)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    fprintf(out, "<section id=\"subtasks\"><h2>Subtasks</h2><p>task: the thread that runs the "
                 "subtask; operators chained into one task share it. over the run: its records "
                 "per second (out; in for a subtask that emits nothing), to its own peak.</p>"
                 "<table><tr>"
                 "<th>subtask</th><th>task</th><th>records in</th><th>records out</th><th>bytes "
                 "out</th><th>batches out</th>"
                 "<th>busy</th><th>idle</th><th>backpressured</th><th>over the run</th></tr>\n");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        double total = (double)(m.busy_ns + m.idle_ns + m.backpressure_ns);
        fprintf(out, "<tr><td>");
        rill_report_escape(out, op->name);
        fprintf(out, " [%d/%d]</td><td>", s->index + 1, op->parallelism);
        s_task(out, plan, s);
        fprintf(out,
                "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%.1f%%</td><td>%.1f%%</td><td>%.1f%%</td><td>",
                (unsigned long long)m.records_in, (unsigned long long)m.records_out,
                (unsigned long long)m.bytes_out, (unsigned long long)m.batches_out,
                total ? 100 * (double)m.busy_ns / total : 0,
                total ? 100 * (double)m.idle_ns / total : 0,
                total ? 100 * (double)m.backpressure_ns / total : 0);
        s_sparkline(out, history, i);
        fprintf(out, "</td></tr>\n");
    }
    fprintf(out, "</table></section>\n<section id=\"channels\"><h2>Channels</h2><table><tr>"
                 "<th>from</th><th>to</th><th>pattern</th><th>records sent</th>"
                 "<th>records received</th><th>bytes</th><th>batches</th></tr>\n");
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, c);
        const rill_plan_edge_t *e = rill_plan_edge(plan, ch->edge);
        rill_channel_metrics_t m = rill_metrics_channel(metrics, c);
        fprintf(out, "<tr><td>");
        rill_report_escape(out, rill_plan_operator(plan, e->from)->name);
        fprintf(out, " [%d]</td><td>", ch->from_index + 1);
        rill_report_escape(out, rill_plan_operator(plan, e->to)->name);
        fprintf(out, " [%d]</td><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n",
                ch->to_index + 1, e->chained ? "chained" : rill_pattern_name(e->pattern),
                (unsigned long long)m.records, (unsigned long long)m.records_received,
                (unsigned long long)m.bytes, (unsigned long long)m.batches);
    }
    fprintf(out, "</table></section>\n");
    s_checkpoint_table(out, metrics);
}

//  User metrics (rill_context_counter, rill_context_gauge): one row per subtask and metric.
static void s_user_metrics(FILE *out, const rill_metrics_t *metrics)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool opened = false;
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        rill_user_metric_t user[RILL_USER_METRICS];
        int count = rill_metrics_user(metrics, i, user, RILL_USER_METRICS);
        const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
        for (int u = 0; u < count; u++) {
            if (!opened)
                fprintf(out, "<section id=\"user-metrics\"><h2>User metrics</h2><p>what the "
                             "job's functions counted (rill_context_counter) or last set "
                             "(rill_context_gauge), per subtask</p><table><tr><th>subtask</th>"
                             "<th>metric</th><th>kind</th><th>value</th></tr>\n");
            opened = true;
            fprintf(out, "<tr><td>");
            rill_report_escape(out, op->name);
            fprintf(out, " [%d/%d]</td><td>", s->index + 1, op->parallelism);
            rill_report_escape(out, user[u].name);
            fprintf(out, "</td><td>%s</td><td>%lld</td></tr>\n",
                    user[u].gauge ? "gauge" : "counter", (long long)user[u].value);
        }
    }
    if (opened)
        fprintf(out, "</table></section>\n");
}

//  Each hash edge's heaviest keys (estimated from a sample), with the receiver of each.
static void s_hot_keys(FILE *out, const rill_metrics_t *metrics)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool opened = false;
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        rill_hot_key_t keys[8];
        int count = rill_metrics_hot_keys(metrics, e, keys, 8);
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        for (int k = 0; k < count; k++) {
            if (!opened)
                fprintf(out, "<section id=\"hot-keys\"><h2>Hot keys</h2><p>the heaviest keys "
                             "of each hash edge, estimated from a sample (one record in 16, after a "
                             "sender's first 64 k one in 64)"
                             "</p><table><tr><th>edge</th><th>key</th><th>records</th>"
                             "<th>receiver</th></tr>\n");
            opened = true;
            fprintf(out, "<tr><td>");
            rill_report_escape(out, rill_plan_operator(plan, edge->from)->name);
            fprintf(out, " → ");
            rill_report_escape(out, to->name);
            fprintf(out, "</td><td>");
            rill_report_escape(out, keys[k].key);
            fprintf(out, "%s</td><td>%llu</td><td>[%d/%d]</td></tr>\n",
                    keys[k].size > RILL_HOT_KEY_MAX ? "…" : "", (unsigned long long)keys[k].count,
                    keys[k].receiver + 1, to->parallelism);
        }
    }
    if (opened)
        fprintf(out, "</table></section>\n");
}

int rill_report_write(const rill_metrics_t *metrics, FILE *out, const char *path,
                      const char *failure, const rill_history_t *history)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    int channels = rill_plan_channel_count(plan), subtasks = rill_plan_subtask_count(plan);
    uint64_t *records = calloc((size_t)channels + 1, sizeof(uint64_t));
    double *backpressure = calloc((size_t)subtasks + 1, sizeof(double));
    double *busy = calloc((size_t)subtasks + 1, sizeof(double));
    int64_t *watermark = calloc((size_t)subtasks + 1, sizeof(int64_t));
    uint64_t *records_in = calloc((size_t)subtasks + 1, sizeof(uint64_t));
    uint64_t *records_out = calloc((size_t)subtasks + 1, sizeof(uint64_t));
    if (!records || !backpressure || !busy || !watermark || !records_in || !records_out) {
        free(records);
        free(backpressure);
        free(busy);
        free(watermark);
        free(records_in);
        free(records_out);
        fclose(out);
        fprintf(stderr, "rill run: cannot write report '%s': out of memory\n", path);
        return -1;
    }
    for (int c = 0; c < channels; c++)
        records[c] = rill_metrics_channel(metrics, c).records;
    for (int s = 0; s < subtasks; s++) {
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, s);
        uint64_t total = m.busy_ns + m.idle_ns + m.backpressure_ns;
        backpressure[s] = total ? (double)m.backpressure_ns / (double)total : 0;
        busy[s] = total ? (double)m.busy_ns / (double)total : 0;
        watermark[s] = m.watermark_seen ? m.watermark : INT64_MIN;
        records_in[s] = m.records_in;
        records_out[s] = m.records_out;
    }
    fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rill report: ");
    rill_report_escape(out, rill_plan_job_name(plan));
    fprintf(out, "</title><style>%s</style></head><body>\n<h1>rill report: ",
            rill_report_style());
    rill_report_escape(out, rill_plan_job_name(plan));
    fprintf(out, "</h1><p>%s mode, ran %.3f s, %d operators, %d subtasks, %d channels.</p>\n",
            rill_mode_name(rill_plan_mode(plan)),
            (double)rill_metrics_duration_ns(metrics) / 1e9, rill_plan_operator_count(plan),
            subtasks, channels);
    if (failure && *failure) {
        fprintf(out, "<section id=\"failure\" style=\"border:2px solid #d62728;padding:0 1em;"
                     "color:#a00\"><h2>The run failed</h2><p>");
        rill_report_escape(out, failure);
        fprintf(out, "</p></section>\n");
    }
    //  The answer first: what the counters say is wrong, and each hash edge's hot keys.
    char *diagnosis = rill_metrics_diagnosis(metrics);
    if (diagnosis && *diagnosis) {
        fprintf(out, "<section id=\"diagnosis\"><h2>Diagnosis</h2><ul>");
        for (char *save = NULL, *line = strtok_r(diagnosis, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            fprintf(out, "<li>");
            rill_report_escape(out, line);
            fprintf(out, "</li>");
        }
        fprintf(out, "</ul></section>\n");
    }
    free(diagnosis);
    s_hot_keys(out, metrics);
    s_user_metrics(out, metrics);
    rill_diagram_options_t logical = {.view = RILL_VIEW_LOGICAL, .format = RILL_FORMAT_SVG};
    rill_diagram_options_t parallel = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_SVG};
    rill_diagram_options_t flow = {.view = RILL_VIEW_PARALLEL,
                                   .format = RILL_FORMAT_SVG,
                                   .channel_records = records,
                                   .subtask_backpressure = backpressure,
                                   .subtask_busy = busy,
                                   .subtask_watermark = watermark,
                                   .subtask_records_in = records_in,
                                   .subtask_records_out = records_out};
    rill_diagram_t *renderer = rill_diagram_new();
    int rc = !renderer || s_svg(out, renderer, plan, &logical, "logical", "Logical dataflow") ||
             s_svg(out, renderer, plan, &parallel, "parallel", "Parallel dataflow") ||
             s_svg(out, renderer, plan, &flow, "flow",
                   "Flow: channel width by records, subtask fill by busy and border by "
                   "backpressure, exchange matrices");
    rill_diagram_destroy(&renderer);
    if (rc == 0)
        rc = rill_report_quantiles(out, metrics);
    if (rc == 0) {
        rill_report_time_bars(out, metrics);
        s_tables(out, metrics, history);
        s_timeline(out, history, metrics, failure);
    }
    //  Inline data and script: sortable tables, pan and zoom, hover cards, self-checks.
    rill_report_script_write(out, metrics);
    fprintf(out, "</body></html>\n");
    free(records);
    free(backpressure);
    free(busy);
    free(watermark);
    free(records_in);
    free(records_out);
    if (fclose(out) || rc) {
        fprintf(stderr, "rill run: cannot write report '%s'\n", path);
        return -1;
    }
    return 0;
}
