/*  rill_metrics_table.c: the `--metrics` tables. Read from the plan and the counters only. */
#include "rill_metrics_table.h"

static double s_percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void rill_metrics_table_print(const rill_metrics_t *metrics, FILE *out)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    double seconds = (double)rill_metrics_duration_ns(metrics) / 1e9;
    fprintf(out, "\njob '%s' ran %.3f s (%s mode)\n\n", rill_plan_job_name(plan), seconds,
            rill_mode_name(rill_plan_mode(plan)));
    fprintf(out, "%-28s %12s %12s %8s %6s %6s\n", "subtask", "records in", "records out",
            "batches", "busy%", "bp%");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, subtask->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        uint64_t total = m.busy_ns + m.idle_ns + m.backpressure_ns;
        char label[64];
        snprintf(label, sizeof label, "%.18s [%d/%d]", op->name, subtask->index + 1,
                 op->parallelism);
        fprintf(out, "%-28s %12llu %12llu %8llu %6.1f %6.1f\n", label,
                (unsigned long long)m.records_in, (unsigned long long)m.records_out,
                (unsigned long long)(m.batches_in + m.batches_out), s_percent(m.busy_ns, total),
                s_percent(m.backpressure_ns, total));
    }
    fprintf(out, "\n%-44s %10s %12s %12s\n", "channel", "pattern", "records", "received");
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, c);
        const rill_plan_edge_t *edge = rill_plan_edge(plan, ch->edge);
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        rill_channel_metrics_t m = rill_metrics_channel(metrics, c);
        char label[96];
        snprintf(label, sizeof label, "%.16s [%d] -> %.16s [%d]", from->name, ch->from_index + 1,
                 to->name, ch->to_index + 1);
        fprintf(out, "%-44s %10s %12llu %12llu\n", label, rill_pattern_name(edge->pattern),
                (unsigned long long)m.records, (unsigned long long)m.records_received);
    }
}
