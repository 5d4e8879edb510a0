/*  rill_diagram.h: draws a plan with Graphviz, in process (libcgraph builds the graph,
    libgvc lays it out and renders DOT, SVG or PNG). Reads the planner's plan only, plus,
    for the flow view, a run's counters; never a second model of the dataflow.

    Views:
      logical   one node per operator (name, kind, parallelism), one edge per stream labelled
                with its exchange pattern; left to right. A chained edge is thick and
                labelled "chained" (attribute chained=1), with a legend item saying so.
      parallel  one cluster per chain, one node per task: the subtasks with the same index of
                the chain's operators, run by one thread, listed in order in one box
                ("lines [1/2] / → split()"), as Flink's web UI draws a chained task; an
                operator in no chain is a chain of one ("map() [1/2]"). One edge per channel
                between boxes (chained edges have none), each pattern in its own style, with
                a legend of the patterns used (and of a task box, when there are chains).
                A plan placed on several processes (rill_plan_place) draws one cluster per
                process ("process 2 of 3", host and pid when known; attribute process=rank)
                holding its chains' clusters (cluster_process<r>_op<head>) and tasks (each with
                process=rank); a channel between processes has transport=tcp and a circle at
                its sender's end (arrowtail=odot), with a legend item. One process: as before.
    Collapsing: an operator whose parallelism is above the threshold (default 8) shows its
    first two and its last subtask and one elided node ("... N more"; on several processes one
    per process that holds hidden ones, op<id>_p<rank>_elided). Channels between two visible
    subtasks are drawn as they are; all channels that touch an elided node are bundled into
    one edge per pair of drawn nodes, labelled "N channels" (attribute channels=N).
    Flow: with counters, each channel's width and colour follow its record count, each
    subtask's colour its backpressure ratio, and every redistributing edge gets an exchange
    matrix (senders x receivers, records) drawn as a heatmap, tied by invisible edges
    (matrix=1) between its two operators so that it sits beside the channels it counts.
    In SVG, task boxes and channels have ids a page's script can find: <view>_task<T> (T the
    task's subtask id), <view>_channel<C>, <view>_bundle_<edge name>; <view> is "flow" with
    counters, else "parallel".
    Every node and edge carries attributes tests and tools can read back: operator, subtask,
    pattern, channels, legend; a task box also task (its thread's subtask id), operators (how
    many) and chain ("a -> b"); its operator and subtask are its chain head's. */
#ifndef RILL_DIAGRAM_H_INCLUDED
#define RILL_DIAGRAM_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"
#include "rill_metrics.h"
#include "rill_plan.h"

typedef enum { RILL_VIEW_LOGICAL, RILL_VIEW_PARALLEL } rill_view_t;
typedef enum { RILL_FORMAT_DOT, RILL_FORMAT_SVG, RILL_FORMAT_PNG } rill_format_t;

#define RILL_DIAGRAM_COLLAPSE_DEFAULT 8

typedef struct {
    rill_view_t view;
    rill_format_t format;
    //  Collapse operators with parallelism above this; 0: the default; -1: never collapse.
    int collapse;
    //  Flow view (optional): records per channel (by channel id) and backpressure ratio per
    //  subtask (by subtask id), e.g. from a metrics JSON file.
    const uint64_t *channel_records;
    const double *subtask_backpressure;
    //  Optional: busy ratio per subtask (by subtask id). With it a subtask's fill shows how
    //  busy it is (the culprit of a slow job) and its border how backpressured (the victims);
    //  without it the fill shows backpressure.
    const double *subtask_busy;
    //  Optional: each subtask's latest watermark (by subtask id; INT64_MIN: none), drawn as
    //  UTC time on its task's box.
    const int64_t *subtask_watermark;
    //  Optional, both or neither: records in and out per subtask (by subtask id), shown per
    //  operator inside each task box.
    const uint64_t *subtask_records_in;
    const uint64_t *subtask_records_out;
    //  A path to highlight (subtask ids in order), e.g. a traced record's route.
    const int *path;
    int path_length;
    //  Optional notes on the path, e.g. a traced record's latency (NULL, or a NULL entry:
    //  none): path_notes[i] beside subtask path[i]'s box (its xlabel; a box holding several
    //  path subtasks lists them all), path_hop_notes[i] on the channel from path[i - 1] to
    //  path[i] (i >= 1; attribute path_note too), and path_title as the graph's label.
    const char *const *path_notes;
    const char *const *path_hop_notes;
    const char *path_title;
} rill_diagram_options_t;

//  A renderer: one Graphviz context for all its renders. Keep one per process and reuse it:
//  Graphviz 2.43's pango plugin caches fonts across contexts and reads freed memory when a
//  second context follows a freed one.
typedef struct rill_diagram_t rill_diagram_t;

//  NULL when Graphviz cannot start.
rill_diagram_t *rill_diagram_new(void);
void rill_diagram_destroy(rill_diagram_t **self_p);
//  Renders plan; *out (caller frees) holds the bytes, *out_size their count. 0, or -1 with a
//  message in error.
int rill_diagram_render(rill_diagram_t *self, const rill_plan_t *plan,
                        const rill_diagram_options_t *options, char **out, size_t *out_size,
                        char *error, size_t error_size);

#endif
