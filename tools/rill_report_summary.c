/*  rill_report_summary.c: see the header. Both read the counters only; the quantiles come
    from rill_quantiles.c (linear interpolation between closest ranks). */
#include "rill_report_summary.h"
#include "rill_quantiles.h"
#include "rill_report.h"

#include <stdlib.h>

rill_report_time_t rill_report_time_split(const rill_subtask_metrics_t *m)
{
    //  user_ns is scaled up from a sample and zmq_ns timed apart: either may overshoot busy.
    uint64_t user = m->user_ns < m->busy_ns ? m->user_ns : m->busy_ns;
    uint64_t zmq = m->zmq_ns < m->busy_ns - user ? m->zmq_ns : m->busy_ns - user;
    return (rill_report_time_t){user, m->busy_ns - user - zmq, zmq, m->idle_ns,
                                m->backpressure_ns};
}

//  A count as an integer when it is one (the median of two odd counts is not).
static void s_number(FILE *out, double value, bool percent)
{
    if (percent)
        fprintf(out, "<td>%.1f%%</td>", 100 * value);
    else if (value == (double)(uint64_t)value)
        fprintf(out, "<td>%llu</td>", (unsigned long long)value);
    else
        fprintf(out, "<td>%.1f</td>", value);
}

//  Measure `which` of subtask m: 0 records in, 1 records out, 2 busy share, 3 backpressured.
static double s_measure(const rill_subtask_metrics_t *m, int which)
{
    double total = (double)(m->busy_ns + m->idle_ns + m->backpressure_ns);
    switch (which) {
    case 0: return (double)m->records_in;
    case 1: return (double)m->records_out;
    case 2: return total > 0 ? (double)m->busy_ns / total : 0;
    default: return total > 0 ? (double)m->backpressure_ns / total : 0;
    }
}

int rill_report_quantiles(FILE *out, const rill_metrics_t *metrics)
{
    static const char *measures[] = {"records in", "records out", "busy", "backpressured"};
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    int widest = 1;
    for (int i = 0; i < rill_plan_operator_count(plan); i++)
        if (rill_plan_operator(plan, i)->parallelism > widest)
            widest = rill_plan_operator(plan, i)->parallelism;
    double *values = malloc((size_t)widest * sizeof(double));
    if (!values)
        return -1;
    fprintf(out, "<section id=\"quantiles\"><h2>Per operator, over its subtasks</h2><p>As "
                 "Spark's task summary: the least, 25th percentile, median, 75th percentile and "
                 "most of its subtasks' counts and shares of time (linear interpolation between "
                 "closest ranks: the median of two subtasks is their mean). A max far above the "
                 "median is a straggler or a skewed key.</p><table><tr><th>operator</th>"
                 "<th>measure</th><th>min</th><th>25th</th><th>median</th><th>75th</th>"
                 "<th>max</th></tr>\n");
    for (int i = 0; i < rill_plan_operator_count(plan); i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        for (int which = 0; which < 4; which++) {
            if ((which == 0 && rill_op_kind_is_source(op->kind)) ||
                (which == 1 && rill_op_kind_is_sink(op->kind)))
                continue; //  always 0: a source receives no records, a sink emits none
            for (int k = 0; k < op->parallelism; k++) {
                rill_subtask_metrics_t m = rill_metrics_subtask(metrics, op->first_subtask + k);
                values[k] = s_measure(&m, which);
            }
            rill_quantiles_t q;
            if (rill_quantiles_compute(values, (size_t)op->parallelism, &q))
                continue;
            fprintf(out, "<tr><td>");
            rill_report_escape(out, op->name);
            fprintf(out, "</td><td>%s</td>", measures[which]);
            bool percent = which >= 2;
            s_number(out, q.min, percent);
            s_number(out, q.p25, percent);
            s_number(out, q.median, percent);
            s_number(out, q.p75, percent);
            s_number(out, q.max, percent);
            fprintf(out, "</tr>\n");
        }
    }
    fprintf(out, "</table></section>\n");
    free(values);
    return 0;
}

//  The parts of a bar, in drawing order, with their colours (the legend uses the same).
static const struct {
    const char *name;
    const char *css;
    const char *color;
} s_parts[] = {
    {"user function", "user", "#1f77b4"},
    {"runtime", "runtime", "#9467bd"},
    {"ZeroMQ", "zmq", "#17becf"},
    {"idle", "idle", "#d9d9d9"},
    {"backpressured", "backpressure", "#d62728"},
};

#define S_BAR_WIDTH 240

void rill_report_time_bars(FILE *out, const rill_metrics_t *metrics)
{
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    fprintf(out, "<section id=\"time\"><h2>Where each subtask's time went</h2><p>Busy time "
                 "split into the job's own functions (estimated from a sample of their calls), "
                 "ZeroMQ sends and receives, and the runtime's share (decoding, routing, "
                 "serializing, state); then idle (waiting for input) and backpressured (blocked "
                 "on a full output). Shares of the subtask's whole time.</p><p class=\"legend\">");
    for (size_t p = 0; p < sizeof s_parts / sizeof s_parts[0]; p++)
        fprintf(out, "<span><i style=\"background:%s\"></i>%s</span> ", s_parts[p].color,
                s_parts[p].name);
    fprintf(out, "</p><table><tr><th>subtask</th><th>time</th><th>user function</th>"
                 "<th>runtime</th><th>ZeroMQ</th><th>idle</th><th>backpressured</th></tr>\n");
    for (int i = 0; i < rill_plan_subtask_count(plan); i++) {
        const rill_plan_subtask_t *s = rill_plan_subtask(plan, i);
        const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        rill_report_time_t t = rill_report_time_split(&m);
        uint64_t parts[] = {t.user, t.runtime, t.zmq, t.idle, t.backpressure};
        double total = (double)(t.user + t.runtime + t.zmq + t.idle + t.backpressure);
        fprintf(out, "<tr><td>");
        rill_report_escape(out, op->name);
        fprintf(out,
                " [%d/%d]</td><td><svg class=\"rill-timebar\" data-subtask=\"%d\" width=\"%d\" "
                "height=\"14\" viewBox=\"0 0 %d 14\"><rect width=\"%d\" height=\"14\" "
                "fill=\"#fff\" stroke=\"#ccc\"><title>no time measured</title></rect>",
                s->index + 1, op->parallelism, i, S_BAR_WIDTH, S_BAR_WIDTH, S_BAR_WIDTH);
        double x = 0;
        for (size_t p = 0; total > 0 && p < sizeof parts / sizeof parts[0]; p++) {
            double width = S_BAR_WIDTH * (double)parts[p] / total;
            if (width <= 0)
                continue;
            fprintf(out,
                    "<rect class=\"rill-time-%s\" x=\"%.2f\" width=\"%.2f\" height=\"14\" "
                    "fill=\"%s\"><title>%s %.1f%%</title></rect>",
                    s_parts[p].css, x, width, s_parts[p].color, s_parts[p].name,
                    100 * (double)parts[p] / total);
            x += width;
        }
        fprintf(out, "</svg></td>");
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
            fprintf(out, "<td>%.1f%%</td>", total > 0 ? 100 * (double)parts[p] / total : 0);
        fprintf(out, "</tr>\n");
    }
    fprintf(out, "</table></section>\n");
}
