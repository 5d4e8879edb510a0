/*  rill_metrics_diagnosis.c: what the counters say is wrong, so that a user reads the answer
    rather than works it out from tables. The rules, in the order they are printed:
    - bottleneck: backpressure marks the victims (a blocked sender), busy time the culprit. The
      bottleneck is the busiest subtask among those fed by a backpressured subtask (Flink's
      advice: follow backpressure downstream to the first operator that is not itself
      backpressured but busy). Then where its busy time went (user function, runtime,
      ZeroMQ), which picks what to try.
    - stragglers: a subtask that received (or, for a source, sent) 1.5 times its operator's
      median or more, or whose busy share is twice the median's (and at least half its time,
      and 200 ms: a clock is noise over a short run).
    - skewed edges: a redistributing edge whose busiest receiver got 1.5 times the mean; with
      the edge's hot keys (rill_metrics_hot_keys) named and their shares.
    - what to try, for what was found. */
#include "rill_metrics_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Growing text.
typedef struct {
    char *text;
    size_t size, capacity;
    bool failed;
} s_text_t;

static void s_line(s_text_t *out, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void s_line(s_text_t *out, const char *format, ...)
{
    char line[1024];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (length < 0 || out->failed)
        return;
    if ((size_t)length > sizeof line - 2)
        length = (int)sizeof line - 2;
    line[length++] = '\n';
    if (out->size + (size_t)length + 1 > out->capacity) {
        size_t capacity = (out->capacity + (size_t)length + 1) * 2;
        char *grown = realloc(out->text, capacity);
        if (!grown) {
            out->failed = true;
            return;
        }
        out->text = grown;
        out->capacity = capacity;
    }
    memcpy(out->text + out->size, line, (size_t)length);
    out->size += (size_t)length;
    out->text[out->size] = 0;
}

//  Share of a subtask's time spent busy and backpressured (0..1).
static void s_shares(const rill_subtask_metrics_t *m, double *busy, double *backpressure)
{
    double total = (double)m->busy_ns + (double)m->idle_ns + (double)m->backpressure_ns;
    *busy = total > 0 ? (double)m->busy_ns / total : 0;
    *backpressure = total > 0 ? (double)m->backpressure_ns / total : 0;
}

static int s_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof values[0], s_compare_double);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

//  The records a subtask handled: received, or sent for a source.
static double s_records(const rill_plan_operator_t *op, const rill_subtask_metrics_t *m)
{
    return (double)(op->input_count ? m->records_in : m->records_out);
}

//  Escapes a key for a line: printable ASCII as is, anything else as \xNN.
static void s_printable(const char *key, char *out, size_t size)
{
    size_t at = 0;
    for (const unsigned char *c = (const unsigned char *)key; *c && at + 5 < size; c++)
        at += (size_t)(*c >= 0x20 && *c < 0x7f && *c != '`'
                           ? snprintf(out + at, size - at, "%c", *c)
                           : snprintf(out + at, size - at, "\\x%02x", *c));
    out[at] = 0;
}

//  Where a subtask's busy time went, as a line (nothing when it was not measured: diagnostics
//  off, or nothing to split). What is mostly the user's: *user_bound.
static void s_busy_split(const rill_metrics_t *self, s_text_t *out, int subtask, bool *user_bound)
{
    rill_subtask_metrics_t m = rill_metrics_subtask(self, subtask);
    if (m.busy_ns == 0 || (m.user_ns == 0 && m.zmq_ns == 0))
        return;
    double busy = (double)m.busy_ns, user = (double)m.user_ns / busy,
           zmq = (double)m.zmq_ns / busy;
    s_line(out, "  its busy time: user function %.0f%%, runtime %.0f%%, ZeroMQ %.0f%%", 100 * user,
           100 * (1 - user - zmq), 100 * zmq);
    *user_bound = user >= 0.5;
}

static void s_bottleneck(const rill_metrics_t *self, s_text_t *out, bool *found, bool *user_bound)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    int best = -1, victim = -1;
    double best_busy = 0, victim_bp = 0, worst_bp = 0;
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        //  The most backpressured sender of the edge: is anyone held back here?
        int held = -1;
        double held_bp = 0;
        for (int i = 0; i < from->parallelism; i++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(self, from->first_subtask + i);
            double busy, bp;
            s_shares(&m, &busy, &bp);
            if (bp > held_bp) {
                held_bp = bp;
                held = from->first_subtask + i;
            }
        }
        if (held_bp > worst_bp)
            worst_bp = held_bp;
        if (held < 0 || held_bp < 0.2)
            continue;
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        for (int i = 0; i < to->parallelism; i++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(self, to->first_subtask + i);
            double busy, bp;
            s_shares(&m, &busy, &bp);
            //  Itself held back, it is a victim too: the culprit is further down.
            if (bp < 0.2 && busy > best_busy) {
                best_busy = busy;
                best = to->first_subtask + i;
                victim = held;
                victim_bp = held_bp;
            }
        }
    }
    if (best < 0) {
        if (worst_bp < 0.2)
            s_line(out,
                   "no bottleneck: no subtask is held back by its receivers (the most, %.0f%% "
                   "of its time)",
                   100 * worst_bp);
        return;
    }
    const rill_plan_subtask_t *s = rill_plan_subtask(plan, best);
    const rill_plan_operator_t *op = rill_plan_operator(plan, s->op);
    const rill_plan_subtask_t *v = rill_plan_subtask(plan, victim);
    const rill_plan_operator_t *vop = rill_plan_operator(plan, v->op);
    s_line(out,
           "bottleneck: '%s' [%d/%d] is busy %.0f%% of its time and holds back '%s' [%d/%d] "
           "(backpressured %.0f%%)",
           op->name, s->index + 1, op->parallelism, 100 * best_busy, vop->name, v->index + 1,
           vop->parallelism, 100 * victim_bp);
    s_busy_split(self, out, best, user_bound);
    *found = true;
}

static void s_stragglers(const rill_metrics_t *self, s_text_t *out, bool *found)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    for (int o = 0; o < rill_plan_operator_count(plan); o++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, o);
        if (op->parallelism < 2)
            continue;
        double *records = calloc((size_t)op->parallelism * 2, sizeof(double));
        if (!records)
            return;
        double *busy = records + op->parallelism;
        for (int i = 0; i < op->parallelism; i++) {
            rill_subtask_metrics_t m = rill_metrics_subtask(self, op->first_subtask + i);
            double bp;
            records[i] = s_records(op, &m);
            s_shares(&m, &busy[i], &bp);
        }
        double *sorted = calloc((size_t)op->parallelism * 2, sizeof(double));
        if (!sorted) {
            free(records);
            return;
        }
        memcpy(sorted, records, (size_t)op->parallelism * 2 * sizeof(double));
        double median_records = s_median(sorted, op->parallelism);
        double median_busy = s_median(sorted + op->parallelism, op->parallelism);
        for (int i = 0; i < op->parallelism; i++) {
            bool heavy = records[i] >= 1.5 * median_records && records[i] >= median_records + 1000;
            //  Busy time is a clock, noisy over a short run: only a subtask busy for half its
            //  time and at least 200 ms can be called slow.
            bool slow = busy[i] >= 2 * median_busy && busy[i] >= 0.5 &&
                        rill_metrics_subtask(self, op->first_subtask + i).busy_ns >= 200000000ull;
            if (!heavy && !slow)
                continue;
            *found = true;
            if (heavy)
                s_line(out,
                       "straggler: '%s' [%d/%d] %s %.0f records, %.1fx its operator's median "
                       "(%.0f)",
                       op->name, i + 1, op->parallelism, op->input_count ? "received" : "sent",
                       records[i], median_records > 0 ? records[i] / median_records : 0,
                       median_records);
            else
                s_line(out,
                       "straggler: '%s' [%d/%d] is busy %.0f%% of its time, %.1fx its "
                       "operator's median (%.0f%%)",
                       op->name, i + 1, op->parallelism, 100 * busy[i],
                       median_busy > 0 ? busy[i] / median_busy : 0, 100 * median_busy);
        }
        free(sorted);
        free(records);
    }
}

static void s_skew(const rill_metrics_t *self, s_text_t *out, bool *hot_found, bool *combined)
{
    const rill_plan_t *plan = rill_metrics_plan(self);
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->pattern == RILL_PATTERN_FORWARD || edge->pattern == RILL_PATTERN_BROADCAST ||
            edge->chained)
            continue;
        const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
        const rill_plan_operator_t *to = rill_plan_operator(plan, edge->to);
        if (to->parallelism < 2)
            continue;
        double *got = calloc((size_t)to->parallelism, sizeof(double));
        if (!got)
            return;
        double total = 0;
        for (int c = edge->first_channel; c < edge->first_channel + edge->channel_count; c++) {
            const rill_plan_channel_t *ch = rill_plan_channel(plan, c);
            double records = (double)rill_metrics_channel(self, c).records;
            got[ch->to_index] += records;
            total += records;
        }
        int max = 0;
        for (int i = 1; i < to->parallelism; i++)
            if (got[i] > got[max])
                max = i;
        double mean = total / to->parallelism;
        if (mean > 0 && got[max] >= 1.5 * mean && got[max] >= mean + 1000)
            s_line(out,
                   "skew: edge '%s' -> '%s' (%s): receiver [%d/%d] got %.1fx the mean "
                   "(%.0f of %.0f records)",
                   from->name, to->name, rill_pattern_name(edge->pattern), max + 1, to->parallelism,
                   got[max] / mean, got[max], total);
        free(got);
        //  On a combined edge the channels carry partial results; the keys counted are the
        //  records the senders emitted before combining.
        if (edge->combined) {
            total = 0;
            for (int i = 0; i < from->parallelism; i++)
                total += (double)rill_metrics_subtask(self, from->first_subtask + i).records_out;
        }
        rill_hot_key_t keys[3];
        int count = rill_metrics_hot_keys(self, e, keys, 3);
        for (int k = 0; k < count && total > 0; k++) {
            double share = (double)keys[k].count / total;
            //  A key above its fair share of one receiver's worth is hot.
            if (share < 0.05 || share < 1.0 / (2.0 * to->parallelism))
                break;
            char key[4 * RILL_HOT_KEY_MAX + 8];
            s_printable(keys[k].key, key, sizeof key);
            s_line(out, "hot key: `%s%s` %llu records (%.0f%%) -> '%s' [%d/%d]", key,
                   keys[k].size > RILL_HOT_KEY_MAX ? "..." : "", (unsigned long long)keys[k].count,
                   100 * (share > 1 ? 1 : share), to->name, keys[k].receiver + 1, to->parallelism);
            *hot_found = true;
            *combined = *combined || edge->combined;
        }
    }
}

char *rill_metrics_diagnosis(const rill_metrics_t *self)
{
    s_text_t out = {NULL, 0, 0, false};
    bool bottleneck = false, straggler = false, hot = false, combined = false, user_bound = false;
    s_bottleneck(self, &out, &bottleneck, &user_bound);
    s_stragglers(self, &out, &straggler);
    s_skew(self, &out, &hot, &combined);
    if (hot && !combined)
        s_line(&out,
               "try: pre-aggregate before the shuffle (batch mode combines keyed counts, sums and "
               "reduces by default; in streaming mode --mini-batch MS), or split the hot key "
               "(salt it, then merge)");
    else if (hot && (bottleneck || straggler))
        s_line(&out, "try: the hot key is pre-aggregated already; split it (salt it, then merge) "
                     "to spread its work");
    else if (bottleneck && user_bound)
        s_line(&out, "try: make the bottleneck's function cheaper (most of its time is spent "
                     "there), or raise its operator's parallelism (-p, or "
                     "rill_stream_parallelism)");
    else if (bottleneck || straggler)
        s_line(&out, "try: raise the parallelism of the busy operator (-p, or "
                     "rill_stream_parallelism), or make its function cheaper");
    if (out.failed) {
        free(out.text);
        return NULL;
    }
    return out.text ? out.text : strdup("");
}
