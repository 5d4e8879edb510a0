/*  rill_metrics_table.c: the `--metrics` tables, in human-readable units. Read from the plan
    and the counters only. The task column names the thread each subtask runs in (the subtask
    id heading its chain), so operators chained into one thread show the same task. */
#include "rill_metrics_table.h"

#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

static double s_percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

//  950, 12.3k, 4.56M, 7.89G.
static const char *s_count(char *text, size_t size, uint64_t value)
{
    if (value >= 1000000000ull)
        snprintf(text, size, "%.3gG", (double)value / 1e9);
    else if (value >= 1000000)
        snprintf(text, size, "%.3gM", (double)value / 1e6);
    else if (value >= 10000)
        snprintf(text, size, "%.3gk", (double)value / 1e3);
    else
        snprintf(text, size, "%llu", (unsigned long long)value);
    return text;
}

//  512 B, 12.3 KiB, 4.5 MiB, 1.2 GiB.
static const char *s_bytes(char *text, size_t size, uint64_t value)
{
    if (value >= 1ull << 30)
        snprintf(text, size, "%.3g GiB", (double)value / (double)(1ull << 30));
    else if (value >= 1ull << 20)
        snprintf(text, size, "%.3g MiB", (double)value / (double)(1ull << 20));
    else if (value >= 1ull << 10)
        snprintf(text, size, "%.3g KiB", (double)value / (double)(1ull << 10));
    else
        snprintf(text, size, "%llu B", (unsigned long long)value);
    return text;
}

//  One line per chain of several operators, so a reader sees which share a thread:
//  "chain: src -> map() (tasks #0..#1)".
static void s_chains(const rill_plan_t *plan, FILE *out)
{
    int threads = rill_plan_task_count(plan), subtasks = rill_plan_subtask_count(plan);
    if (threads == subtasks)
        return;
    fprintf(out, "\n%d tasks (threads) run the %d subtasks; operators chained into one task:\n",
            threads, subtasks);
    for (int i = 0; i < rill_plan_operator_count(plan); i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        if (op->chain != op->id || op->chain_next < 0)
            continue;
        fprintf(out, "  chain:");
        for (int id = op->id; id >= 0; id = rill_plan_operator(plan, id)->chain_next)
            fprintf(out, "%s %s", id == op->id ? "" : " ->", rill_plan_operator(plan, id)->name);
        fprintf(out, " (tasks #%d..#%d)\n", op->first_subtask,
                op->first_subtask + op->parallelism - 1);
    }
}

//  Where each task's busy time went, summed over the subtasks of its chain (chained operators
//  share their task's thread and its time). Nothing when diagnostics were off.
static void s_busy_split(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool header = false;
    for (int i = 0; i < rill_plan_operator_count(plan); i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        if (op->chain != op->id)
            continue;
        uint64_t busy = 0, user = 0, zmq = 0;
        for (int k = 0; k < op->parallelism; k++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(metrics, op->first_subtask + k);
            busy += m.busy_ns, user += m.user_ns, zmq += m.zmq_ns;
        }
        if (busy == 0 || (user == 0 && zmq == 0))
            continue;
        if (!header)
            fprintf(out, "\nwhere the busy time goes (per chain, all its subtasks; user function "
                         "time is sampled):\n");
        header = true;
        char name[64];
        int at = snprintf(name, sizeof name, "%s", op->name);
        for (int id = op->chain_next; id >= 0 && at < (int)sizeof name;
             id = rill_plan_operator(plan, id)->chain_next)
            at += snprintf(name + at, sizeof name - (size_t)at, " -> %s",
                           rill_plan_operator(plan, id)->name);
        fprintf(out, "  %-40.40s busy %8.1f ms: user function %3.0f%%, runtime %3.0f%%, ZeroMQ "
                     "%3.0f%%\n",
                name, (double)busy / 1e6, s_percent(user, busy), s_percent(busy - user - zmq, busy),
                s_percent(zmq, busy));
    }
}

//  User metrics per operator: a counter summed over its subtasks, a gauge as its lowest and
//  highest value.
static void s_user_metrics(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool header = false;
    for (int i = 0; i < rill_plan_operator_count(plan); i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        //  Names in the order the first subtask that has them registered them.
        rill_user_metric_t names[RILL_USER_METRICS];
        int named = 0;
        for (int k = 0; k < op->parallelism; k++) {
            rill_user_metric_t user[RILL_USER_METRICS];
            int count = rill_metrics_user(metrics, op->first_subtask + k, user, RILL_USER_METRICS);
            for (int u = 0; u < count; u++) {
                bool known = false;
                for (int n = 0; n < named && !known; n++)
                    known = strcmp(names[n].name, user[u].name) == 0;
                if (!known && named < RILL_USER_METRICS)
                    names[named++] = user[u];
            }
        }
        for (int n = 0; n < named; n++) {
            int64_t sum = 0, low = INT64_MAX, high = INT64_MIN;
            for (int k = 0; k < op->parallelism; k++) {
                rill_user_metric_t user[RILL_USER_METRICS];
                int count =
                    rill_metrics_user(metrics, op->first_subtask + k, user, RILL_USER_METRICS);
                for (int u = 0; u < count; u++)
                    if (strcmp(user[u].name, names[n].name) == 0) {
                        sum += user[u].value;
                        low = user[u].value < low ? user[u].value : low;
                        high = user[u].value > high ? user[u].value : high;
                    }
            }
            if (!header)
                fprintf(out, "\nuser metrics (counters summed over the subtasks, gauges lowest "
                             "and highest):\n");
            header = true;
            if (names[n].gauge)
                fprintf(out, "  %-28.28s %-20.20s gauge   %lld .. %lld\n", op->name,
                        names[n].name, (long long)low, (long long)high);
            else
                fprintf(out, "  %-28.28s %-20.20s counter %lld\n", op->name, names[n].name,
                        (long long)sum);
        }
    }
}

//  Checkpoint statistics (Flink's checkpoint tab): the job's summary, then per subtask its
//  latest checkpoint's alignment, snapshot time, state size and acknowledgement.
static void s_checkpoints(const rill_metrics_t *metrics, FILE *out)
{
    rill_checkpoint_stats_t c = rill_metrics_checkpoints(metrics);
    if (!c.enabled)
        return;
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    char a[24];
    fprintf(out,
            "\ncheckpoints: %lld completed, %lld failed, %d restart%s; latest %lld (%s, %lld ms, "
            "longest alignment %.3f ms)%s\n",
            (long long)c.completed, (long long)c.failed, c.restarts, c.restarts == 1 ? "" : "s",
            (long long)c.latest, s_bytes(a, sizeof a, c.latest_bytes),
            (long long)c.latest_duration_ms, (double)c.latest_alignment_ns / 1e6,
            c.restored ? "" : "; not restored");
    if (c.restored)
        fprintf(out, "restored from checkpoint %lld\n", (long long)c.restored);
    if (*c.last_failure)
        fprintf(out, "last failed: %s\n", c.last_failure);
    fprintf(out, "%-28s %10s %12s %12s %10s %14s\n", "subtask", "checkpoint", "alignment",
            "snapshot", "state", "acked after");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, subtask->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        char label[64];
        snprintf(label, sizeof label, "%.18s [%d/%d]", op->name, subtask->index + 1,
                 op->parallelism);
        //  Acknowledged how long after the trigger (for the latest checkpoint only).
        char acked[24] = "-";
        if (m.checkpoint == (uint64_t)c.latest && c.latest &&
            m.checkpoint_acked_ms >= (uint64_t)c.latest_trigger_ms)
            snprintf(acked, sizeof acked, "%llu ms",
                     (unsigned long long)(m.checkpoint_acked_ms - (uint64_t)c.latest_trigger_ms));
        fprintf(out, "%-28s %10llu %9.3f ms %9.3f ms %10s %14s\n", label,
                (unsigned long long)m.checkpoint, (double)m.checkpoint_alignment_ns / 1e6,
                (double)m.checkpoint_sync_ns / 1e6, s_bytes(a, sizeof a, m.checkpoint_bytes),
                acked);
    }
}

//  Each hash edge's heaviest keys (from a sample of one record in 16), with their receivers.
static void s_hot_keys(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool header = false;
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        rill_hot_key_t keys[5];
        int count = rill_metrics_hot_keys(metrics, e, keys, 5);
        if (!count)
            continue;
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        //  The records the keys were counted in: on a combined edge those the senders emitted
        //  (the channels carry partial results).
        uint64_t total = 0;
        if (edge->combined)
            for (int i = 0; i < from->parallelism; i++)
                total += rill_metrics_subtask(metrics, from->first_subtask + i).records_out;
        else
            for (int c = edge->first_channel; c < edge->first_channel + edge->channel_count; c++)
                total += rill_metrics_channel(metrics, c).records;
        if (!header)
            fprintf(out, "\nhot keys (estimated from a sample of the records):\n");
        header = true;
        fprintf(out, "  %s -> %s:", from->name, to->name);
        for (int k = 0; k < count; k++) {
            char a[24];
            fprintf(out, "%s `%.*s%s` %s (%.0f%%) -> [%d/%d]", k ? "," : "", RILL_HOT_KEY_MAX,
                    keys[k].key, keys[k].size > RILL_HOT_KEY_MAX ? "..." : "",
                    s_count(a, sizeof a, keys[k].count),
                    total ? 100.0 * (double)keys[k].count / (double)total : 0.0,
                    keys[k].receiver + 1, to->parallelism);
        }
        fprintf(out, "\n");
    }
}

//  Per operator that has event time: its lowest watermark (what holds its windows and timers),
//  how many of its subtasks' inputs are idle, and the records too late for every window.
static void s_event_time(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    bool header = false;
    for (int o = 0; o < rill_plan_operator_count(plan); o++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, o);
        int64_t lowest = INT64_MAX;
        int seen = 0, idle = 0;
        uint64_t late = 0;
        for (int i = 0; i < op->parallelism; i++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(metrics, op->first_subtask + i);
            late += m.late_records;
            idle += m.input_idle != 0;
            if (m.watermark_seen) {
                seen++;
                lowest = m.watermark < lowest ? m.watermark : lowest;
            }
        }
        if (!seen && !late)
            continue;
        if (!header)
            fprintf(out, "\nevent time (the lowest watermark of each operator's subtasks):\n");
        header = true;
        char when[48];
        fprintf(out, "  %-24.24s %s%s; %d of %d idle; %llu late record%s\n", op->name,
                seen ? rill_time_format(lowest, when, sizeof when) : "no watermark",
                seen && seen < op->parallelism ? " (some subtasks have none)" : "", idle,
                op->parallelism, (unsigned long long)late, late == 1 ? "" : "s");
    }
}

void rill_metrics_table_print(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    double seconds = (double)rill_metrics_duration_ns(metrics) / 1e9;
    char a[24], b[24], c[24], d[24];
    fprintf(out, "\njob '%s' ran %.3f s (%s mode)\n\n", rill_plan_job_name(plan), seconds,
            rill_mode_name(rill_plan_mode(plan)));
    //  The answer first: what the counters say is wrong (rill_metrics_diagnosis).
    char *diagnosis = rill_metrics_diagnosis(metrics);
    if (diagnosis && *diagnosis)
        fprintf(out, "diagnosis:\n%s\n", diagnosis);
    free(diagnosis);
    //  One definition everywhere (README: the numbers): records and payload bytes (no frame
    //  or record headers), batches as sent (frames out).
    fprintf(out, "%-28s %5s %8s %8s %10s %8s %6s %6s\n", "subtask", "task", "in", "out",
            "bytes out", "batches", "busy", "bp");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, subtask->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        uint64_t total = m.busy_ns + m.idle_ns + m.backpressure_ns;
        char label[64];
        snprintf(label, sizeof label, "%.18s [%d/%d]", op->name, subtask->index + 1,
                 op->parallelism);
        char task[16];
        snprintf(task, sizeof task, "#%d", subtask->task);
        fprintf(out, "%-28s %5s %8s %8s %10s %8s %5.1f%% %5.1f%%\n", label, task,
                s_count(a, sizeof a, m.records_in), s_count(b, sizeof b, m.records_out),
                s_bytes(c, sizeof c, m.bytes_out),
                s_count(d, sizeof d, m.batches_out), s_percent(m.busy_ns, total),
                s_percent(m.backpressure_ns, total));
    }
    s_chains(plan, out);
    fprintf(out, "\n%-40s %9s %8s %8s %10s\n", "channel", "pattern", "sent", "received",
            "bytes");
    for (int ch = 0; ch < rill_plan_channel_count(plan); ch++) {
        const rill_plan_channel_t *channel = rill_plan_channel(plan, ch);
        const rill_plan_edge_t *edge = rill_plan_edge(plan, channel->edge);
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        rill_channel_metrics_t m = rill_metrics_channel(metrics, ch);
        char label[96];
        snprintf(label, sizeof label, "%.14s [%d] -> %.14s [%d]", from->name,
                 channel->from_index + 1, to->name, channel->to_index + 1);
        //  A chained edge is a function call inside a task, not a channel between threads.
        fprintf(out, "%-40s %9s %8s %8s %10s\n", label,
                edge->chained    ? "chained"
                : edge->feedback ? "feedback"
                                 : rill_pattern_name(edge->pattern),
                s_count(a, sizeof a, m.records), s_count(b, sizeof b, m.records_received),
                s_bytes(c, sizeof c, m.bytes));
    }
    s_busy_split(metrics, out);
    s_user_metrics(metrics, out);
    s_hot_keys(metrics, out);
    s_event_time(metrics, out);
    s_checkpoints(metrics, out);
}
