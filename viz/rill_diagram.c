/*  rill_diagram.c: see the header. The renderer owns its Graphviz context; rill keeps no
    global state of its own. */
#include "rill_diagram.h"
#include "rill_time.h"

#include <assert.h>
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  How each exchange pattern is drawn: colour, style, pen width, arrowhead. Style and
//  arrowhead together tell every pattern apart on their own, because the flow view spends
//  colour and width on the records a channel carried.
typedef struct {
    const char *color;
    const char *style;
    const char *width;
    const char *arrowhead;
} s_look_t;

static const s_look_t s_looks[] = {
    [RILL_PATTERN_FORWARD] = {"black", "solid", "1.2", "normal"},
    [RILL_PATTERN_HASH] = {"#1f5fbf", "solid", "1.2", "vee"},
    [RILL_PATTERN_BROADCAST] = {"#c0392b", "bold", "2", "diamond"},
    [RILL_PATTERN_REBALANCE] = {"#1e8449", "dashed", "1.2", "normal"},
    [RILL_PATTERN_RESCALE] = {"#7d3c98", "dashed", "1.2", "odiamond"},
    [RILL_PATTERN_SHUFFLE] = {"#d35400", "dotted", "1.5", "normal"},
    [RILL_PATTERN_GLOBAL] = {"#6e2c00", "bold", "2", "tee"},
    [RILL_PATTERN_CUSTOM] = {"#7f8c8d", "dotted", "1.5", "dot"},
};

static const char *s_kind_fill(rill_op_kind_t kind)
{
    if (rill_op_kind_is_source(kind))
        return "#d6eaf8";
    if (rill_op_kind_is_sink(kind))
        return "#d5f5e3";
    if (kind == RILL_OP_REDUCE || kind == RILL_OP_WINDOW || kind == RILL_OP_PROCESS)
        return "#fdebd0";
    return "#f4f6f7";
}

static void s_set(void *object, const char *name, const char *value)
{
    agsafeset(object, (char *)name, (char *)value, "");
}

static void s_seti(void *object, const char *name, long value)
{
    char text[32];
    snprintf(text, sizeof text, "%ld", value);
    s_set(object, name, text);
}

static void s_style_edge(Agedge_t *edge, rill_pattern_t pattern)
{
    const s_look_t *look = &s_looks[pattern];
    s_set(edge, "pattern", rill_pattern_name(pattern));
    s_set(edge, "color", look->color);
    s_set(edge, "style", look->style);
    s_set(edge, "penwidth", look->width);
    s_set(edge, "arrowhead", look->arrowhead);
}

//  An iteration's feedback edge (rill_iterate.h): dashed and wide whatever its pattern, and
//  left out of the ranking, so the loop bends back instead of turning the layout over.
static void s_feedback_look(Agedge_t *edge)
{
    s_set(edge, "feedback", "1");
    s_set(edge, "style", "dashed");
    s_set(edge, "penwidth", "2");
    s_set(edge, "constraint", "false");
}

//  A chained edge in the logical view: thick, with no channel behind it.
static void s_chained_look(Agedge_t *edge)
{
    s_set(edge, "chained", "1");
    s_set(edge, "style", "bold");
    s_set(edge, "penwidth", "3");
}

static bool s_has_chains(const rill_plan_t *plan)
{
    for (int e = 0; e < rill_plan_edge_count(plan); e++)
        if (rill_plan_edge(plan, e)->chained)
            return true;
    return false;
}

//  What a chain looks like in this view, as a legend item (legend=1, like the patterns').
static void s_chain_legend(Agraph_t *graph, rill_view_t view)
{
    Agraph_t *legend = agsubg(graph, "cluster_legend", 1);
    s_set(legend, "style", "dashed");
    s_set(legend, "color", "gray");
    if (!agget(legend, "label") || !*agget(legend, "label"))
        s_set(legend, "label", "legend");
    if (view == RILL_VIEW_LOGICAL) {
        Agnode_t *from = agnode(legend, "legend_chained_a", 1);
        Agnode_t *to = agnode(legend, "legend_chained_b", 1);
        for (Agnode_t *n = from; n; n = n == from ? to : NULL) {
            s_set(n, "legend", "1");
            s_set(n, "shape", "point");
            s_set(n, "width", "0.05");
        }
        Agedge_t *edge = agedge(legend, from, to, NULL, 1);
        s_style_edge(edge, RILL_PATTERN_FORWARD);
        s_chained_look(edge);
        s_set(edge, "legend", "1");
        s_set(edge, "label", "chained: one thread,\nrecords passed by function call");
        return;
    }
    Agnode_t *node = agnode(legend, "legend_task", 1);
    s_set(node, "legend", "1");
    s_set(node, "shape", "box");
    s_set(node, "style", "rounded,filled");
    s_set(node, "fillcolor", "#f4f6f7");
    s_set(node, "fontsize", "9");
    s_set(node, "label", "a [i/p]\n→ b\none task: a chain of\noperators in one thread");
}

static Agraph_t *s_graph(const rill_plan_t *plan)
{
    Agraph_t *graph = agopen((char *)rill_plan_job_name(plan), Agdirected, NULL);
    s_set(graph, "rankdir", "LR");
    s_set(graph, "fontname", "Helvetica");
    s_set(graph, "nodesep", "0.3");
    s_set(graph, "ranksep", "0.9");
    //  dot's second crossing-minimisation pass (across clusters) may flip a whole operator's
    //  column, drawing [3/3] above [1/3]; without it subtasks stay in order, top down.
    s_set(graph, "remincross", "false");
    agattr(graph, AGNODE, "fontname", "Helvetica");
    agattr(graph, AGNODE, "fontsize", "11");
    agattr(graph, AGEDGE, "fontname", "Helvetica");
    agattr(graph, AGEDGE, "fontsize", "9");
    return graph;
}

//  A legend cluster with one sample edge per pattern used; its nodes and edges carry
//  legend=1 so readers can tell them from the dataflow. In the flow view colour and width
//  mean records, so the samples are grey and the title says so.
static void s_legend(Agraph_t *graph, const rill_plan_t *plan,
                     const rill_diagram_options_t *options)
{
    bool flow = options && options->channel_records;
    bool used[RILL_PATTERN_CUSTOM + 1] = {false};
    for (int e = 0; e < rill_plan_edge_count(plan); e++)
        if (!rill_plan_edge(plan, e)->chained) //  drawn inside a task box, not as a channel
            used[rill_plan_edge(plan, e)->pattern] = true;
    Agraph_t *legend = agsubg(graph, "cluster_legend", 1);
    bool heat = options && options->subtask_backpressure;
    bool busy = heat && options->subtask_busy;
    char title[256];
    snprintf(title, sizeof title, "exchange patterns%s%s",
             flow ? " (line and arrow)\nwidth and blue: records sent" : "",
             busy   ? "\nsubtask fill: share of time busy (white 0% .. dark orange 100%)"
                      "\nsubtask border: backpressured (red, wider the more, from 10%)"
             : heat ? "\nred subtask: share of time backpressured"
                    : "");
    s_set(legend, "label", title);
    s_set(legend, "style", "dashed");
    s_set(legend, "color", "gray");
    for (int p = RILL_PATTERN_FORWARD; p <= RILL_PATTERN_CUSTOM; p++) {
        if (!used[p])
            continue;
        char a[32], b[32];
        snprintf(a, sizeof a, "legend_%s_a", rill_pattern_name(p));
        snprintf(b, sizeof b, "legend_%s_b", rill_pattern_name(p));
        Agnode_t *from = agnode(legend, a, 1), *to = agnode(legend, b, 1);
        for (Agnode_t *n = from; n; n = n == from ? to : NULL) {
            s_set(n, "legend", "1");
            s_set(n, "shape", "point");
            s_set(n, "width", "0.05");
        }
        Agedge_t *edge = agedge(legend, from, to, NULL, 1);
        s_style_edge(edge, (rill_pattern_t)p);
        if (flow)
            s_set(edge, "color", "#555555");
        s_set(edge, "legend", "1");
        s_set(edge, "label", rill_pattern_name(p));
    }
}

static void s_logical(Agraph_t *graph, const rill_plan_t *plan)
{
    char name[32], label[512];
    for (int i = 0; i < rill_plan_operator_count(plan); i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        snprintf(name, sizeof name, "op%d", i);
        Agnode_t *node = agnode(graph, name, 1);
        snprintf(label, sizeof label, "%s\n%s · parallelism %d", op->name, op->kind_name,
                 op->parallelism);
        s_set(node, "label", label);
        s_set(node, "shape", "box");
        s_set(node, "style", "rounded,filled");
        s_set(node, "fillcolor", s_kind_fill(op->kind));
        s_set(node, "operator", op->name);
        s_set(node, "kind", op->kind_name);
        s_seti(node, "parallelism", op->parallelism);
    }
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        snprintf(name, sizeof name, "op%d", edge->from);
        Agnode_t *from = agnode(graph, name, 0);
        snprintf(name, sizeof name, "op%d", edge->to);
        Agnode_t *to = agnode(graph, name, 0);
        snprintf(name, sizeof name, "edge%d", e);
        Agedge_t *drawn = agedge(graph, from, to, name, 1);
        s_style_edge(drawn, edge->pattern);
        //  A combined edge carries partial results, a chained one is a function call: say so
        //  where the user reads the pattern (an edge is never both: chained edges are forward).
        char side[32] = "";
        if (edge->output_tag)
            snprintf(side, sizeof side,
                     rill_plan_operator(plan, edge->from)->kind == RILL_OP_WINDOW
                         ? " (late records)"
                         : " (side output %d)",
                     edge->output_tag);
        snprintf(label, sizeof label, "%s%s%s%s%s", edge->feedback ? "feedback · " : "",
                 rill_pattern_name(edge->pattern),
                 edge->combined ? " · combined" : "", edge->chained ? " · chained" : "",
                 side);
        s_set(drawn, "label", label);
        if (edge->chained)
            s_chained_look(drawn);
        if (edge->feedback)
            s_feedback_look(drawn);
    }
    if (s_has_chains(plan))
        s_chain_legend(graph, RILL_VIEW_LOGICAL);
}

//  ---- parallel view

typedef struct {
    const rill_plan_t *plan;
    const rill_diagram_options_t *options;
    int threshold;
    Agnode_t **nodes; //  the node drawing each subtask (an elided node for hidden ones)
    uint64_t max_records;
} s_parallel_t;

//  What the ids of boxes and channels start with: "flow" when counters are drawn.
static const char *s_id_prefix(s_parallel_t *self)
{
    return self->options->channel_records ? "flow" : "parallel";
}

static bool s_collapsed(s_parallel_t *self, const rill_plan_operator_t *op)
{
    return self->threshold >= 0 && op->parallelism > self->threshold;
}

//  How much task `index` of a chain weighs by one counter: its busiest member's busy ratio
//  (by_busy), or its members' largest records in. -1 when that counter is not drawn.
static double s_weight(s_parallel_t *self, const int *members, int count, int index, bool by_busy)
{
    const rill_diagram_options_t *options = self->options;
    double weight = -1;
    for (int m = 0; m < count; m++) {
        int subtask = rill_plan_operator(self->plan, members[m])->first_subtask + index;
        double w = by_busy ? (options->subtask_busy ? options->subtask_busy[subtask] : -1)
                           : (options->subtask_records_in
                                  ? (double)options->subtask_records_in[subtask]
                                  : -1);
        weight = w > weight ? w : weight;
    }
    return weight;
}

static int s_compare_weight(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

//  Whether task `index` stands out by one counter: the heaviest, or an outlier (twice the
//  median and half the heaviest); when all weigh the same, none does.
static bool s_stands_out(s_parallel_t *self, const rill_plan_operator_t *op, const int *members,
                         int count, int index, bool by_busy)
{
    double mine = s_weight(self, members, count, index, by_busy);
    if (mine <= 0)
        return false;
    double *weights = malloc((size_t)op->parallelism * sizeof(double));
    if (!weights)
        return false;
    double most = 0;
    for (int k = 0; k < op->parallelism; k++) {
        weights[k] = s_weight(self, members, count, k, by_busy);
        most = weights[k] > most ? weights[k] : most;
    }
    qsort(weights, (size_t)op->parallelism, sizeof(double), s_compare_weight);
    double median = weights[op->parallelism / 2];
    free(weights);
    return mine > median && (mine >= most || (mine >= 2 * median && mine >= 0.5 * most));
}

//  Visible tasks of a collapsed operator: the first two and the last, and, with counters, the
//  busiest, the one that received most, and the outliers of either, so that collapsing never
//  hides the subtask a slow job waits for.
static bool s_visible(s_parallel_t *self, const rill_plan_operator_t *op, const int *members,
                      int count, int index)
{
    if (index < 2 || index == op->parallelism - 1)
        return true;
    return s_stands_out(self, op, members, count, index, true) ||
           s_stands_out(self, op, members, count, index, false);
}

//  Backpressure ratio -> a fill from white to red.
static void s_heat(char *color, size_t size, double ratio)
{
    ratio = ratio < 0 ? 0 : ratio > 1 ? 1 : ratio;
    int fade = (int)(255 * (1 - ratio));
    snprintf(color, size, "#ff%02x%02x", fade, fade);
}

//  Busy: white (idle) to dark orange (busy all the time); always a valid #rrggbb.
static void s_busy_heat(char *color, size_t size, double ratio)
{
    ratio = ratio < 0 ? 0 : ratio > 1 ? 1 : ratio;
    int red = 255 - (int)(55 * ratio), green = 255 - (int)(155 * ratio),
        blue = 255 - (int)(255 * ratio);
    snprintf(color, size, "#%02x%02x%02x", red, green, blue);
}

static bool s_on_path(s_parallel_t *self, int subtask)
{
    for (int i = 0; i < self->options->path_length; i++)
        if (self->options->path[i] == subtask)
            return true;
    return false;
}

//  A label built in a buffer, or "" if an append ran out of memory before its NUL went in.
static const char *s_text(const rill_buffer_t *buffer)
{
    const char *data = rill_buffer_data(buffer);
    size_t size = rill_buffer_size(buffer);
    return size && data[size - 1] == 0 ? data : "";
}

//  Records in a node label: 999, 12.3k, 4.56M.
static void s_count_text(char *text, size_t size, uint64_t count)
{
    if (count >= 1000000)
        snprintf(text, size, "%.2fM", (double)count / 1e6);
    else if (count >= 1000)
        snprintf(text, size, "%.1fk", (double)count / 1e3);
    else
        snprintf(text, size, "%llu", (unsigned long long)count);
}

//  The operators of the chain headed by head, in order (Flink's chained task); returns how many.
static int s_chain_members(const rill_plan_t *plan, int head, int *members, int capacity)
{
    int count = 0;
    for (int op = head; op >= 0 && count < capacity; op = rill_plan_operator(plan, op)->chain_next)
        members[count++] = op;
    return count;
}

//  The label of one task box: each operator of the chain on its own line, in order, the
//  first with the subtask index; with counters, each operator's records in and out; with
//  backpressure, the task's (its operators share one thread, so the highest of them).
static void s_task_label(s_parallel_t *self, const int *members, int count, int k,
                         rill_buffer_t *label, double *backpressure, double *busy)
{
    const rill_plan_t *plan = self->plan;
    const rill_diagram_options_t *options = self->options;
    *backpressure = 0;
    *busy = 0;
    for (int m = 0; m < count; m++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, members[m]);
        int subtask = op->first_subtask + k;
        if (m == 0)
            rill_buffer_appendf(label, "%s [%d/%d]", op->name, k + 1, op->parallelism);
        else
            rill_buffer_appendf(label, "\n→ %s", op->name);
        if (options->subtask_records_in && options->subtask_records_out) {
            char in[24], out[24];
            s_count_text(in, sizeof in, options->subtask_records_in[subtask]);
            s_count_text(out, sizeof out, options->subtask_records_out[subtask]);
            if (rill_op_kind_is_source(op->kind))
                rill_buffer_appendf(label, "%s%s out", count > 1 ? ": " : "\n", out);
            else
                rill_buffer_appendf(label, "%s%s in, %s out", count > 1 ? ": " : "\n", in, out);
        }
        if (options->subtask_backpressure && options->subtask_backpressure[subtask] > *backpressure)
            *backpressure = options->subtask_backpressure[subtask];
        if (options->subtask_busy && options->subtask_busy[subtask] > *busy)
            *busy = options->subtask_busy[subtask];
    }
    if (options->subtask_busy)
        rill_buffer_appendf(label, "\nbusy %.0f%%, backpressured %.0f%%", 100 * *busy,
                            100 * *backpressure);
    //  Event time: the lowest watermark of the task's operators (what holds it back).
    int64_t lowest = INT64_MAX;
    bool seen = false;
    for (int m = 0; options->subtask_watermark && m < count; m++) {
        int64_t watermark =
            options->subtask_watermark[rill_plan_operator(plan, members[m])->first_subtask + k];
        if (watermark != INT64_MIN) {
            seen = true;
            lowest = watermark < lowest ? watermark : lowest;
        }
    }
    if (seen) {
        char when[40];
        rill_buffer_appendf(label, "\nwatermark%s %s", lowest == INT64_MAX ? ":" : "",
                            rill_time_format(lowest, when, sizeof when));
    }
    else if (options->subtask_backpressure)
        rill_buffer_appendf(label, "\nbackpressured %.0f%%", 100 * *backpressure);
    rill_buffer_append(label, "", 1);
}

//  A plan placed on several processes draws one cluster per process around its tasks:
//  "process 2 of 3", with the host and pid once the runtime recorded them. A process that holds
//  no slot (more processes than slots) shows so, rather than vanishing from the drawing.
static Agraph_t **s_process_clusters(const rill_plan_t *plan, Agraph_t *graph)
{
    int count = rill_plan_process_count(plan);
    Agraph_t **clusters = calloc((size_t)count, sizeof(Agraph_t *));
    for (int r = 0; clusters && r < count; r++) {
        const rill_plan_process_t *process = rill_plan_process(plan, r);
        char name[48], label[512];
        snprintf(name, sizeof name, "cluster_process%d", r);
        Agraph_t *cluster = clusters[r] = agsubg(graph, name, 1);
        int used = snprintf(label, sizeof label, "process %d of %d%s", r + 1, count,
                            r == 0 ? " (coordinator)" : "");
        if (process->host && used > 0 && (size_t)used < sizeof label)
            used += snprintf(label + used, sizeof label - (size_t)used, "\n%s", process->host);
        if (process->pid > 0 && used > 0 && (size_t)used < sizeof label)
            snprintf(label + used, sizeof label - (size_t)used, "%spid %d",
                     process->host ? " · " : "\n", process->pid);
        s_set(cluster, "label", label);
        s_set(cluster, "style", "filled,rounded");
        s_set(cluster, "fillcolor", "#fbfcfc");
        s_set(cluster, "color", "#5d6d7e");
        s_set(cluster, "penwidth", "1.5");
        s_seti(cluster, "process", r);
        if (process->subtasks == 0) {
            snprintf(name, sizeof name, "process%d_idle", r);
            Agnode_t *idle = agnode(cluster, name, 1);
            s_set(idle, "label", "no slots");
            s_set(idle, "shape", "plaintext");
            s_set(idle, "idle", "1");
            s_seti(idle, "process", r);
        }
    }
    return clusters;
}

//  One cluster per chain (an operator not chained to another is a chain of one), one box per
//  task in it: the subtasks with the same index of the chain's operators, which one thread
//  runs (Flink's web UI draws a chained task the same way: "Source: lines -> split()"). On
//  several processes, each process holds a cluster for each chain it runs tasks of.
static void s_subtask_nodes(s_parallel_t *self, Agraph_t *graph)
{
    const rill_plan_t *plan = self->plan;
    char name[64];
    int operators = rill_plan_operator_count(plan);
    int processes = rill_plan_process_count(plan);
    bool spread = processes > 1;
    Agraph_t **process_clusters = spread ? s_process_clusters(plan, graph) : NULL;
    int *members = calloc((size_t)operators + 1, sizeof(int));
    Agnode_t **elided_of = calloc((size_t)processes, sizeof(Agnode_t *));
    rill_buffer_t *label = rill_buffer_new(), *title = rill_buffer_new();
    bool ready = members && elided_of && label && title && (!spread || process_clusters);
    for (int i = 0; ready && i < operators; i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        if (op->chain != op->id)
            continue; //  drawn inside its chain head's cluster
        int count = s_chain_members(plan, i, members, operators);
        rill_buffer_reset(title);
        for (int m = 0; m < count; m++) {
            const rill_plan_operator_t *member = rill_plan_operator(plan, members[m]);
            rill_buffer_appendf(title, "%s%s (%s)", m ? " → " : "", member->name,
                                member->kind_name);
        }
        rill_buffer_appendf(title, "%s", count > 1 ? ": one chain" : "");
        rill_buffer_append(title, "", 1);
        bool collapsed = s_collapsed(self, op);
        memset(elided_of, 0, (size_t)processes * sizeof(Agnode_t *));
        for (int k = 0; k < op->parallelism; k++) {
            int subtask = op->first_subtask + k;
            int rank = rill_plan_subtask(plan, subtask)->process;
            if (spread)
                snprintf(name, sizeof name, "cluster_process%d_op%d", rank, i);
            else
                snprintf(name, sizeof name, "cluster_op%d", i);
            Agraph_t *cluster = agsubg(spread ? process_clusters[rank] : graph, name, 1);
            s_set(cluster, "label", s_text(title));
            s_set(cluster, "style", "rounded");
            s_set(cluster, "color", "#99a3a4");
            Agnode_t *node;
            if (collapsed && !s_visible(self, op, members, count, k)) {
                Agnode_t **elided = &elided_of[rank];
                if (!*elided) {
                    //  The hidden subtasks of this operator in this process.
                    int hidden = 0;
                    for (int h = 0; h < op->parallelism; h++)
                        hidden += !s_visible(self, op, members, count, h) &&
                                  rill_plan_subtask(plan, op->first_subtask + h)->process == rank;
                    if (spread)
                        snprintf(name, sizeof name, "op%d_p%d_elided", i, rank);
                    else
                        snprintf(name, sizeof name, "op%d_elided", i);
                    *elided = agnode(cluster, name, 1);
                    char text[64];
                    snprintf(text, sizeof text, "… %d more %s", hidden,
                             count > 1 ? "tasks" : "subtasks");
                    s_set(*elided, "label", text);
                    s_set(*elided, "shape", "box");
                    s_set(*elided, "style", "dashed,rounded");
                    s_set(*elided, "operator", op->name);
                    s_seti(*elided, "elided", hidden);
                    if (spread)
                        s_seti(*elided, "process", rank);
                }
                node = *elided;
            } else {
                snprintf(name, sizeof name, "s%d", subtask);
                node = agnode(cluster, name, 1);
                rill_buffer_reset(label);
                double ratio, busy;
                s_task_label(self, members, count, k, label, &ratio, &busy);
                s_set(node, "label", s_text(label));
                s_set(node, "shape", "box");
                s_set(node, "style", "rounded,filled");
                s_set(node, "operator", op->name);
                s_seti(node, "subtask", subtask);
                s_seti(node, "task", rill_plan_subtask(plan, subtask)->task);
                s_seti(node, "operators", count);
                //  The SVG keeps it as the box's id: the report's hover cards find it by it.
                //  The flow view's ids differ from the parallel view's, as a page holds both.
                char id[48];
                snprintf(id, sizeof id, "%s_task%d", s_id_prefix(self),
                         rill_plan_subtask(plan, subtask)->task);
                s_set(node, "id", id);
                if (spread)
                    s_seti(node, "process", rank);
                rill_buffer_reset(label);
                for (int m = 0; m < count; m++)
                    rill_buffer_appendf(label, "%s%s", m ? " -> " : "",
                                        rill_plan_operator(plan, members[m])->name);
                rill_buffer_append(label, "", 1);
                s_set(node, "chain", s_text(label));
                char fill[16];
                if (self->options->subtask_backpressure && self->options->subtask_busy) {
                    //  Busy is the culprit, backpressure the victim: fill and border apart.
                    s_busy_heat(fill, sizeof fill, busy);
                    s_set(node, "fillcolor", fill);
                    char text[16];
                    snprintf(text, sizeof text, "%.3f", ratio);
                    s_set(node, "backpressure", text);
                    snprintf(text, sizeof text, "%.3f", busy);
                    s_set(node, "busy", text);
                    if (ratio >= 0.1) {
                        s_set(node, "color", "#d62728");
                        snprintf(text, sizeof text, "%.1f", 1 + 4 * (ratio > 1 ? 1 : ratio));
                        s_set(node, "penwidth", text);
                    }
                } else if (self->options->subtask_backpressure) {
                    s_heat(fill, sizeof fill, ratio);
                    s_set(node, "fillcolor", fill);
                    char ratio_text[16];
                    snprintf(ratio_text, sizeof ratio_text, "%.3f", ratio);
                    s_set(node, "backpressure", ratio_text);
                } else
                    s_set(node, "fillcolor", s_kind_fill(op->kind));
            }
            //  Every subtask of the task maps to its box, so channels into or out of any
            //  operator of the chain start or end there.
            bool on_path = false;
            for (int m = 0; m < count; m++) {
                int member = rill_plan_operator(plan, members[m])->first_subtask + k;
                self->nodes[member] = node;
                on_path = on_path || s_on_path(self, member);
            }
            if (on_path && node != elided_of[rank]) {
                s_set(node, "color", "#e67e22");
                s_set(node, "penwidth", "3");
            }
        }
    }
    free(members);
    free(elided_of);
    free(process_clusters);
    rill_buffer_destroy(&label);
    rill_buffer_destroy(&title);
}

//  A channel between two processes: marked at its sender's end with a small circle (the
//  style, colour and width already say pattern and records), and transport=tcp for readers.
static void s_tcp_look(Agedge_t *edge)
{
    s_set(edge, "transport", "tcp");
    s_set(edge, "dir", "both");
    s_set(edge, "arrowtail", "odot");
}

//  Width and colour of a channel edge (or a bundle of `channels` of them, records in all) by
//  its mean channel's share of the busiest channel's records: a bundle of many thin channels
//  is not drawn as one fat one, and the colour stays a valid #rrggbb.
static void s_flow_look(s_parallel_t *self, Agedge_t *edge, uint64_t records, long channels)
{
    double mean = (double)records / (double)(channels > 0 ? channels : 1);
    double share = self->max_records ? mean / (double)self->max_records : 0;
    share = share < 0 ? 0 : share > 1 ? 1 : share;
    char width[16], color[16], label[32];
    snprintf(width, sizeof width, "%.2f", 0.5 + 7.5 * share);
    int blue = (int)(200 * (1 - share));
    snprintf(color, sizeof color, "#%02x%02xff", blue, blue);
    snprintf(label, sizeof label, "%llu", (unsigned long long)records);
    s_set(edge, "penwidth", width);
    //  Graphviz grows an arrowhead with its line; shrink it back so wide channels stay tidy.
    char arrow[16];
    snprintf(arrow, sizeof arrow, "%.2f", 1.0 / (1.0 + 1.5 * share));
    s_set(edge, "arrowsize", arrow);
    s_set(edge, "color", color);
    s_set(edge, "xlabel", label);
    s_seti(edge, "records", (long)records);
}

//  One edge per channel, or per bundle of channels sharing a pair of drawn nodes.
static void s_channel_edges(s_parallel_t *self, Agraph_t *graph)
{
    const rill_plan_t *plan = self->plan;
    const uint64_t *records = self->options->channel_records;
    for (int c = 0; records && c < rill_plan_channel_count(plan); c++)
        if (records[c] > self->max_records)
            self->max_records = records[c];
    for (int e = 0; e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->chained)
            continue; //  a function call inside a task box, not a channel between boxes
        for (int c = edge->first_channel; c < edge->first_channel + edge->channel_count; c++) {
            const rill_plan_channel_t *channel = rill_plan_channel(plan, c);
            Agnode_t *from = self->nodes[channel->from_subtask];
            Agnode_t *to = self->nodes[channel->to_subtask];
            char name[48];
            //  Bundles are named by their ends, so the channels of a bundle meet in one edge.
            snprintf(name, sizeof name, "e%d_%s_%s", e, agnameof(from), agnameof(to));
            Agedge_t *drawn = agedge(graph, from, to, name, 0);
            bool tcp = channel->transport == RILL_TRANSPORT_TCP;
            if (drawn) {
                //  A bundle that holds any channel between processes is marked as one.
                if (tcp)
                    s_tcp_look(drawn);
                long count = atol(agget(drawn, "channels")) + 1;
                s_seti(drawn, "channels", count);
                char id[96];
                snprintf(id, sizeof id, "%s_bundle_%s", s_id_prefix(self), name);
                s_set(drawn, "id", id);
                char label[32];
                snprintf(label, sizeof label, "%ld channels", count);
                s_set(drawn, "label", label);
                if (records) {
                    uint64_t sum = (uint64_t)atoll(agget(drawn, "records")) + records[c];
                    s_flow_look(self, drawn, sum, count);
                }
                continue;
            }
            drawn = agedge(graph, from, to, name, 1);
            s_style_edge(drawn, edge->pattern);
            if (edge->feedback)
                s_feedback_look(drawn);
            s_seti(drawn, "channels", 1);
            s_seti(drawn, "channel", c);
            char id[48];
            snprintf(id, sizeof id, "%s_channel%d", s_id_prefix(self), c);
            s_set(drawn, "id", id);
            if (tcp)
                s_tcp_look(drawn);
            if (records)
                s_flow_look(self, drawn, records[c], 1);
            if (s_on_path(self, channel->from_subtask) && s_on_path(self, channel->to_subtask)) {
                s_set(drawn, "color", "#e67e22");
                s_set(drawn, "penwidth", "3");
            }
        }
    }
}

//  An elided node stands for hidden subtasks: a note about one of them has no place there.
static bool s_is_elided(Agnode_t *node)
{
    const char *elided = agget(node, "elided");
    return elided && *elided;
}

//  Appends a note to an object's attribute, a line each (a box may hold several path
//  subtasks, a bundle several channels).
static void s_add_note(void *object, const char *name, const char *note, rill_buffer_t *text)
{
    const char *had = agget(object, (char *)name);
    rill_buffer_reset(text);
    rill_buffer_appendf(text, "%s%s%s", had && *had ? had : "", had && *had ? "\n" : "", note);
    rill_buffer_append(text, "", 1);
    s_set(object, name, s_text(text));
}

//  The notes of a highlighted path (rill_diagram_options_t.path_notes and the rest): each
//  subtask's beside its box, each hop's on its channel's edge, the title as graph label.
static void s_path_notes(s_parallel_t *self, Agraph_t *graph)
{
    const rill_diagram_options_t *options = self->options;
    const rill_plan_t *plan = self->plan;
    if (options->path_title) {
        s_set(graph, "label", options->path_title);
        s_set(graph, "labelloc", "t");
    }
    rill_buffer_t *text = rill_buffer_new();
    int subtasks = rill_plan_subtask_count(plan);
    for (int i = 0; text && options->path && i < options->path_length; i++) {
        int to = options->path[i];
        if (to < 0 || to >= subtasks || !self->nodes[to] || s_is_elided(self->nodes[to]))
            continue;
        if (options->path_notes && options->path_notes[i])
            s_add_note(self->nodes[to], "xlabel", options->path_notes[i], text);
        int from = i > 0 ? options->path[i - 1] : -1;
        if (!options->path_hop_notes || !options->path_hop_notes[i] || from < 0 ||
            from >= subtasks || !self->nodes[from] || s_is_elided(self->nodes[from]))
            continue;
        //  The channel between the two, drawn by s_channel_edges under its name.
        for (int c = 0; c < rill_plan_channel_count(plan); c++) {
            const rill_plan_channel_t *channel = rill_plan_channel(plan, c);
            if (channel->from_subtask != from || channel->to_subtask != to ||
                rill_plan_edge(plan, channel->edge)->chained)
                continue;
            char name[48];
            snprintf(name, sizeof name, "e%d_%s_%s", channel->edge, agnameof(self->nodes[from]),
                     agnameof(self->nodes[to]));
            Agedge_t *drawn = agedge(graph, self->nodes[from], self->nodes[to], name, 0);
            if (drawn) {
                s_add_note(drawn, "label", options->path_hop_notes[i], text);
                s_set(drawn, "path_note", options->path_hop_notes[i]);
                s_set(drawn, "fontcolor", "#e67e22");
            }
            break;
        }
    }
    rill_buffer_destroy(&text);
}

//  Appends text with the characters that mean something in a Graphviz HTML label escaped:
//  operator names are the user's (or a plan file's), any bytes at all.
static void s_append_html(rill_buffer_t *html, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '<': rill_buffer_appendf(html, "&lt;"); break;
        case '>': rill_buffer_appendf(html, "&gt;"); break;
        case '&': rill_buffer_appendf(html, "&amp;"); break;
        case '"': rill_buffer_appendf(html, "&quot;"); break;
        default: rill_buffer_append(html, c, 1);
        }
    }
}

//  The heatmap of one edge as a Graphviz HTML table: senders down, receivers across,
//  records per cell; above 16 a side, neighbouring subtasks share a cell (sums). 0, or -1
//  without memory.
static int s_matrix_html(const rill_plan_t *plan, const rill_plan_edge_t *edge,
                         const uint64_t *records, rill_buffer_t *html)
{
    int senders = rill_plan_operator(plan, edge->from)->parallelism;
    int receivers = rill_plan_operator(plan, edge->to)->parallelism;
    int rows = senders > 16 ? 16 : senders, cols = receivers > 16 ? 16 : receivers;
    uint64_t *cells = calloc((size_t)(rows * cols), sizeof(uint64_t)), top = 0;
    if (!cells)
        return -1;
    for (int c = edge->first_channel; c < edge->first_channel + edge->channel_count; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(plan, c);
        uint64_t *cell =
            &cells[(ch->from_index * rows / senders) * cols + ch->to_index * cols / receivers];
        *cell += records[c];
        top = *cell > top ? *cell : top;
    }
    rill_buffer_appendf(html,
                        "<table border=\"0\" cellborder=\"1\" cellspacing=\"0\">"
                        "<tr><td colspan=\"%d\"><b>",
                        cols + 1);
    s_append_html(html, rill_plan_operator(plan, edge->from)->name);
    rill_buffer_appendf(html, " → ");
    s_append_html(html, rill_plan_operator(plan, edge->to)->name);
    rill_buffer_appendf(html, " (%s): records</b></td></tr><tr><td></td>",
                        rill_pattern_name(edge->pattern));
    for (int c = 0; c < cols; c++)
        rill_buffer_appendf(html, "<td><i>r%d</i></td>", c * receivers / cols + 1);
    rill_buffer_appendf(html, "</tr>");
    for (int r = 0; r < rows; r++) {
        rill_buffer_appendf(html, "<tr><td><i>s%d</i></td>", r * senders / rows + 1);
        for (int c = 0; c < cols; c++) {
            uint64_t value = cells[r * cols + c];
            char color[16];
            s_heat(color, sizeof color, top ? (double)value / (double)top : 0);
            rill_buffer_appendf(html, "<td bgcolor=\"%s\">%llu</td>", color,
                                (unsigned long long)value);
        }
        rill_buffer_appendf(html, "</tr>");
    }
    free(cells);
    //  The terminating NUL goes in as a byte, so a failed append anywhere shows here.
    return rill_buffer_appendf(html, "</table>") || rill_buffer_append(html, "", 1) ? -1 : 0;
}

//  Keeps a matrix beside the edge it describes: invisible edges from the sending operator's
//  last drawn task to the matrix and on to the receiving operator's put it in a column of its
//  own between the two operators, level with their bottom rows, where a reader following the
//  channels finds it; left alone, dot stacks every matrix in the first column, far away.
static void s_place_matrix(s_parallel_t *self, Agraph_t *graph, const rill_plan_edge_t *edge,
                           Agnode_t *matrix)
{
    const rill_plan_operator_t *from = rill_plan_operator(self->plan, edge->from);
    const rill_plan_operator_t *to = rill_plan_operator(self->plan, edge->to);
    Agnode_t *sender = self->nodes[from->first_subtask + from->parallelism - 1];
    Agnode_t *receiver = self->nodes[to->first_subtask + to->parallelism - 1];
    if (!sender || !receiver)
        return;
    for (int side = 0; side < 2; side++) {
        Agedge_t *tie = side ? agedge(graph, matrix, receiver, NULL, 1)
                             : agedge(graph, sender, matrix, NULL, 1);
        s_set(tie, "style", "invis");
        s_set(tie, "matrix", "1");
        s_set(tie, "arrowhead", "none");
    }
}

//  One heatmap node per redistributing edge.
static void s_matrices(s_parallel_t *self, Agraph_t *graph)
{
    const rill_plan_t *plan = self->plan;
    rill_buffer_t *html = rill_buffer_new();
    for (int e = 0; html && e < rill_plan_edge_count(plan); e++) {
        const rill_plan_edge_t *edge = rill_plan_edge(plan, e);
        if (edge->pattern == RILL_PATTERN_FORWARD || edge->channel_count == 0)
            continue;
        rill_buffer_reset(html);
        if (s_matrix_html(plan, edge, self->options->channel_records, html))
            continue;
        char name[32];
        snprintf(name, sizeof name, "matrix%d", e);
        Agnode_t *node = agnode(graph, name, 1);
        s_set(node, "shape", "plain");
        s_set(node, "matrix", "1");
        s_seti(node, "edge", e);
        agsafeset(node, "label", agstrdup_html(graph, (char *)rill_buffer_data(html)), "");
        s_place_matrix(self, graph, edge, node);
    }
    rill_buffer_destroy(&html);
}

//  What a channel between processes looks like, as a legend item (legend=1).
static void s_tcp_legend(Agraph_t *graph)
{
    Agraph_t *legend = agsubg(graph, "cluster_legend", 1);
    Agnode_t *from = agnode(legend, "legend_tcp_a", 1);
    Agnode_t *to = agnode(legend, "legend_tcp_b", 1);
    for (Agnode_t *n = from; n; n = n == from ? to : NULL) {
        s_set(n, "legend", "1");
        s_set(n, "shape", "point");
        s_set(n, "width", "0.05");
    }
    Agedge_t *edge = agedge(legend, from, to, NULL, 1);
    s_set(edge, "color", "#555555");
    s_tcp_look(edge);
    s_set(edge, "legend", "1");
    s_set(edge, "label", "tcp: between two processes\n(⊙ at the sender)");
}

static void s_parallel(Agraph_t *graph, const rill_plan_t *plan,
                       const rill_diagram_options_t *options)
{
    s_parallel_t self = {plan, options, options->collapse, NULL, 0};
    if (self.threshold == 0)
        self.threshold = RILL_DIAGRAM_COLLAPSE_DEFAULT;
    self.nodes = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(Agnode_t *));
    s_subtask_nodes(&self, graph);
    s_channel_edges(&self, graph);
    if (options->path_length)
        s_path_notes(&self, graph);
    s_legend(graph, plan, options);
    if (s_has_chains(plan))
        s_chain_legend(graph, RILL_VIEW_PARALLEL);
    bool crossing = false;
    for (int c = 0; c < rill_plan_channel_count(plan) && !crossing; c++)
        crossing = rill_plan_channel(plan, c)->transport == RILL_TRANSPORT_TCP &&
                   !rill_plan_edge(plan, rill_plan_channel(plan, c)->edge)->chained;
    if (crossing)
        s_tcp_legend(graph);
    if (options->channel_records)
        s_matrices(&self, graph);
    free(self.nodes);
}

struct rill_diagram_t {
    GVC_t *gvc;
};

rill_diagram_t *rill_diagram_new(void)
{
    rill_diagram_t *self = calloc(1, sizeof(rill_diagram_t));
    //  The context before any graph: gvContext() declares a process-wide default node label,
    //  and a graph made before it would render differently from every graph made after.
    if (self && !(self->gvc = gvContext())) {
        free(self);
        return NULL;
    }
    return self;
}

void rill_diagram_destroy(rill_diagram_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gvFreeContext((*self_p)->gvc);
    free(*self_p);
    *self_p = NULL;
}

int rill_diagram_render(rill_diagram_t *self, const rill_plan_t *plan,
                        const rill_diagram_options_t *options, char **out, size_t *out_size,
                        char *error, size_t error_size)
{
    assert(self && plan && options && out && out_size && error);
    GVC_t *gvc = self->gvc;
    Agraph_t *graph = s_graph(plan);
    if (!graph) {
        snprintf(error, error_size, "cannot create a graph");
        return -1;
    }
    if (options->view == RILL_VIEW_LOGICAL)
        s_logical(graph, plan);
    else
        s_parallel(graph, plan, options);
    static const char *formats[] = {"dot", "svg", "png"};
    int rc = -1;
    char *data = NULL;
    unsigned int length = 0;
    if (gvLayout(gvc, graph, "dot") != 0)
        snprintf(error, error_size, "Graphviz could not lay the graph out");
    else {
        if (gvRenderData(gvc, graph, formats[options->format], &data, &length) != 0 || !data)
            snprintf(error, error_size,
                     "Graphviz cannot render %s here (is its plugin installed?)",
                     formats[options->format]);
        else if ((*out = malloc(length + 1))) {
            memcpy(*out, data, length);
            (*out)[length] = 0;
            *out_size = length;
            rc = 0;
        }
        if (data)
            gvFreeRenderData(data);
        gvFreeLayout(gvc, graph);
    }
    agclose(graph);
    return rc;
}
