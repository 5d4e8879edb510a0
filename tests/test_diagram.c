/*  test_diagram.c: the Graphviz diagrams and the plan JSON. For every exchange pattern the
    DOT output is read back with libcgraph and its nodes, edges and pattern attributes are
    checked against the plan; SVG parses as XML with one node group per subtask; PNG starts
    with the PNG signature; JSON round-trips, also through `rill viz`; malformed or truncated
    JSON is an error, never a crash; parallelism 64 collapses to the documented shape. */
#include "testutil.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include "rill_diagram.h"

#include <graphviz/cgraph.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static int s_first_receiver(const rill_record_t *in, const rill_key_t *key, int receivers,
                            void *ctx)
{
    return 0;
}

//  source(p_src) -pattern-> map(p_map) -forward-> discard(p_map), unchained: these cases draw
//  one box per subtask and one edge per channel (chains have cases of their own below).
static rill_plan_t *s_plan(rill_graph_t **graph_p, rill_pattern_t pattern, int p_src, int p_map)
{
    rill_graph_t *graph = *graph_p = rill_graph_new();
    rill_graph_set_chaining_enabled(graph, false);
    int src = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SOURCE_GENERATOR, .parallelism = p_src,
        .fn.generate = test_generate_sequence, .count = 1});
    int map = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_MAP, .parallelism = p_map, .fn.map = s_map});
    int sink = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SINK_DISCARD, .parallelism = p_map});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = src, .to = map, .pattern = pattern,
                                                   .key = rill_key_first_field,
                                                   .partition = s_first_receiver});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = map, .to = sink,
                                                   .pattern = RILL_PATTERN_FORWARD});
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "diagram", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!plan)
        fail_msg("plan: %s", error);
    return plan;
}

//  One renderer for the whole program (see rill_diagram.h on why not one per render).
static rill_diagram_t *s_renderer;

static char *s_render(const rill_plan_t *plan, rill_view_t view, rill_format_t format,
                      int collapse, size_t *size)
{
    rill_diagram_options_t options = {.view = view, .format = format, .collapse = collapse};
    char *out = NULL, error[256];
    size_t length;
    if (rill_diagram_render(s_renderer, plan, &options, &out, &length, error, sizeof error))
        fail_msg("render: %s", error);
    if (size)
        *size = length;
    return out;
}

//  Counts a DOT graph's dataflow nodes and edges (legend items excluded) and checks each
//  edge's pattern against the plan edge its channel belongs to.
static void s_count(const char *dot, const rill_plan_t *plan, int *nodes, int *edges,
                    long *channels)
{
    Agraph_t *graph = agmemread(dot);
    assert_non_null(graph);
    *nodes = *edges = 0;
    *channels = 0;
    for (Agnode_t *n = agfstnode(graph); n; n = agnxtnode(graph, n)) {
        char *legend = agget(n, "legend");
        if (!legend || strcmp(legend, "1") != 0)
            (*nodes)++;
        for (Agedge_t *e = agfstout(graph, n); e; e = agnxtout(graph, e)) {
            char *edge_legend = agget(e, "legend");
            if (edge_legend && strcmp(edge_legend, "1") == 0)
                continue;
            (*edges)++;
            char *count = agget(e, "channels");
            *channels += count && *count ? atol(count) : 1;
            char *pattern = agget(e, "pattern");
            assert_non_null(pattern);
            assert_true(rill_pattern_from_name(pattern) > 0);
        }
    }
    agclose(graph);
}

static void each_pattern_draws_one_node_per_subtask_and_one_edge_per_channel(void **state)
{
    for (int p = RILL_PATTERN_FORWARD; p <= RILL_PATTERN_CUSTOM; p++) {
        rill_graph_t *graph;
        int receivers = p == RILL_PATTERN_FORWARD ? 3 : 2;
        rill_plan_t *plan = s_plan(&graph, (rill_pattern_t)p, 3, receivers);
        char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
        int nodes, edges;
        long channels;
        s_count(dot, plan, &nodes, &edges, &channels);
        assert_int_equal(nodes, rill_plan_subtask_count(plan));
        assert_int_equal(edges, rill_plan_channel_count(plan));
        //  The pattern attribute of the first edge's channels is the pattern under test.
        Agraph_t *read = agmemread(dot);
        int with_pattern = 0;
        for (Agnode_t *n = agfstnode(read); n; n = agnxtnode(read, n))
            for (Agedge_t *e = agfstout(read, n); e; e = agnxtout(read, e))
                if (strcmp(agget(e, "pattern"), rill_pattern_name(p)) == 0 &&
                    strcmp(agget(e, "legend"), "1") != 0)
                    with_pattern++;
        agclose(read);
        int expected = rill_plan_edge(plan, 0)->channel_count +
                       (p == RILL_PATTERN_FORWARD ? rill_plan_edge(plan, 1)->channel_count : 0);
        assert_int_equal(with_pattern, expected);
        //  The legend shows the pattern too.
        assert_non_null(strstr(dot, "legend_"));
        free(dot);
        //  Logical view: one node per operator, one edge per stream, labelled by pattern.
        dot = s_render(plan, RILL_VIEW_LOGICAL, RILL_FORMAT_DOT, 0, NULL);
        s_count(dot, plan, &nodes, &edges, &channels);
        assert_int_equal(nodes, 3);
        assert_int_equal(edges, 2);
        free(dot);
        rill_plan_destroy(&plan);
        rill_graph_destroy(&graph);
    }
}

static void svg_parses_as_xml_with_a_node_group_per_subtask(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_HASH, 3, 2);
    size_t size;
    char *svg = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_SVG, 0, &size);
    xmlDocPtr doc = xmlReadMemory(svg, (int)size, "plan.svg", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    assert_non_null(doc);
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(context, BAD_CAST "svg", BAD_CAST "http://www.w3.org/2000/svg");
    xmlXPathObjectPtr groups =
        xmlXPathEvalExpression(BAD_CAST "//svg:g[@class='node']", context);
    //  Subtasks, plus the legend's two points per pattern (hash and forward here).
    assert_int_equal(groups->nodesetval->nodeNr, rill_plan_subtask_count(plan) + 4);
    xmlXPathFreeObject(groups);
    xmlXPathFreeContext(context);
    xmlFreeDoc(doc);
    free(svg);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void png_output_starts_with_the_png_signature(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_BROADCAST, 2, 2);
    size_t size;
    char *png = s_render(plan, RILL_VIEW_LOGICAL, RILL_FORMAT_PNG, 0, &size);
    assert_true(size > 100);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    free(png);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void plan_json_round_trips(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_RESCALE, 2, 4);
    char *first = rill_plan_to_json(plan);
    char error[256];
    rill_plan_t *again = rill_plan_from_json(first, error, sizeof error);
    if (!again)
        fail_msg("from_json: %s", error);
    assert_null(rill_plan_graph(again));
    char *second = rill_plan_to_json(again);
    assert_string_equal(first, second);
    assert_int_equal(rill_plan_channel_count(again), rill_plan_channel_count(plan));
    //  Drawn from JSON, it is the same diagram: the same nodes with the same labels, the same
    //  edges with the same patterns (cgraph orders subgraphs by internal ids, so the texts
    //  themselves may list them in another order).
    char *a = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    char *b = s_render(again, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    Agraph_t *ga = agmemread(a), *gb = agmemread(b);
    assert_int_equal(agnnodes(ga), agnnodes(gb));
    assert_int_equal(agnedges(ga), agnedges(gb));
    for (Agnode_t *n = agfstnode(ga); n; n = agnxtnode(ga, n)) {
        Agnode_t *m = agnode(gb, agnameof(n), 0);
        assert_non_null(m);
        assert_string_equal(agget(n, "label"), agget(m, "label"));
        for (Agedge_t *e = agfstout(ga, n); e; e = agnxtout(ga, e)) {
            Agedge_t *f = agedge(gb, m, agnode(gb, agnameof(aghead(e)), 0), agnameof(e), 0);
            assert_non_null(f);
            assert_string_equal(agget(e, "pattern"), agget(f, "pattern"));
        }
    }
    agclose(ga);
    agclose(gb);
    free(a);
    free(b);
    free(first);
    free(second);
    rill_plan_destroy(&again);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void malformed_or_truncated_json_is_an_error_not_a_crash(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_HASH, 3, 2);
    char *json = rill_plan_to_json(plan);
    size_t length = strlen(json);
    char error[256];
    //  Every truncation point.
    for (size_t cut = 0; cut < length - 2; cut += 7) {
        char *part = strndup(json, cut);
        error[0] = 0;
        assert_null(rill_plan_from_json(part, error, sizeof error));
        assert_true(strlen(error) > 0);
        free(part);
    }
    //  Wrong types, ids out of range, inconsistent counts, not a plan at all.
    const char *bad[] = {
        "[]", "{}", "{\"rill_plan\":1}", "null",
        ("{\"rill_plan\":1,\"job\":\"x\",\"mode\":\"batch\","
         "\"operators\":[{\"id\":5}],\"edges\":[],\"subtasks\":[],\"channels\":[]}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(rill_plan_from_json(bad[i], error, sizeof error));
    //  One channel pointing at a subtask that does not exist.
    char *broken = strdup(json);
    char *at = strstr(broken, "\"to_subtask\": ");
    assert_non_null(at);
    memcpy(at + strlen("\"to_subtask\": "), "9", 1);
    assert_null(rill_plan_from_json(broken, error, sizeof error));
    assert_non_null(strstr(error, "channel"));
    free(broken);
    free(json);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Operator names are the user's, or a plan file's: any bytes. The flow view puts them into a
//  Graphviz HTML label (the exchange matrix), where they must be escaped, and a long one
//  (a plan file's names have no length limit) must not overrun anything.
static void matrix_labels_escape_and_hold_any_operator_name(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_HASH, 2, 3);
    rill_plan_destroy(&plan);
    assert_int_equal(rill_graph_set_name(graph, 0, "<b>a & \"b\"</b>"), 0);
    assert_int_equal(rill_graph_set_name(graph, 1, "LONG"), 0);
    char error[256];
    plan = rill_plan_new(graph, "names", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    assert_non_null(plan);
    //  Through JSON, to give the map a 20,000-byte name.
    char *json = rill_plan_to_json(plan);
    rill_plan_destroy(&plan);
    size_t long_size = 20000;
    char *long_name = malloc(long_size + 1);
    memset(long_name, 'n', long_size);
    long_name[long_size] = 0;
    char *at = strstr(json, "\"LONG\"");
    assert_non_null(at);
    char *edited = malloc(strlen(json) + long_size + 1);
    sprintf(edited, "%.*s\"%s\"%s", (int)(at - json), json, long_name, at + strlen("\"LONG\""));
    plan = rill_plan_from_json(edited, error, sizeof error);
    assert_non_null(plan);
    uint64_t records[64] = {0};
    assert_true(rill_plan_channel_count(plan) <= 64);
    for (int c = 0; c < rill_plan_channel_count(plan); c++)
        records[c] = (uint64_t)(c + 1) * 10;
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_SVG,
                                      .channel_records = records};
    char *svg = NULL;
    size_t size;
    assert_int_equal(rill_diagram_render(s_renderer, plan, &options, &svg, &size, error,
                                         sizeof error), 0);
    //  The matrix title shows both names as text (escaped once, for SVG), the long one whole.
    char *title = malloc(long_size + 256);
    sprintf(title, "&lt;b&gt;a &amp; &quot;b&quot;&lt;/b&gt; → %s (hash): records", long_name);
    assert_non_null(strstr(svg, title));
    xmlDocPtr doc = xmlReadMemory(svg, (int)size, "flow.svg", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlFreeDoc(doc);
    free(title);
    free(svg);
    free(edited);
    free(json);
    free(long_name);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Every operator's subtasks are drawn in index order, top down, whatever crossings the
//  exchange in between makes (the layout's DOT output carries each node's position).
static void subtasks_are_drawn_in_order_top_down(void **state)
{
    for (int p = RILL_PATTERN_FORWARD; p <= RILL_PATTERN_CUSTOM; p++)
        for (int n = 2; n <= 5; n++) {
            rill_graph_t *graph;
            int receivers = p == RILL_PATTERN_FORWARD ? n : 3;
            rill_plan_t *plan = s_plan(&graph, (rill_pattern_t)p, n, receivers);
            char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
            Agraph_t *read = agmemread(dot);
            assert_non_null(read);
            double last_y[8] = {0};
            int last_index[8];
            memset(last_index, -1, sizeof last_index);
            for (int t = 0; t < rill_plan_subtask_count(plan); t++) {
                char name[16];
                snprintf(name, sizeof name, "s%d", t);
                Agnode_t *node = agnode(read, name, 0);
                assert_non_null(node);
                const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, t);
                double x, y;
                assert_int_equal(sscanf(agget(node, "pos"), "%lf,%lf", &x, &y), 2);
                int op = subtask->op;
                if (last_index[op] >= 0) {
                    assert_true(subtask->index > last_index[op]);
                    assert_true(y < last_y[op]); //  Graphviz's y grows upwards
                }
                last_index[op] = subtask->index;
                last_y[op] = y;
            }
            agclose(read);
            free(dot);
            rill_plan_destroy(&plan);
            rill_graph_destroy(&graph);
        }
}

static void parallelism_64_collapses_to_the_documented_shape(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_disable_chaining(env); //  one box per subtask; chained: see below
    rill_env_set_parallelism(env, 64);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 10);
    s = rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL));
    rill_stream_discard(s);
    const rill_plan_t *plan = rill_env_plan(env);
    char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    //  Per operator: subtasks 1, 2 and 64 plus one elided node.
    assert_int_equal(nodes, 3 * 4);
    //  Hash: 4 drawn senders x 4 drawn receivers; forward: 3 visible pairs plus elided->elided.
    assert_int_equal(edges, 16 + 4);
    assert_int_equal(channels, 64 * 64 + 64);
    assert_non_null(strstr(dot, "61 more subtasks"));
    free(dot);
    //  Never collapsing draws every subtask.
    rill_env_set_parallelism(env, 12);
    plan = rill_env_plan(env);
    dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, -1, NULL);
    s_count(dot, plan, &nodes, &edges, &channels);
    assert_int_equal(nodes, 36);
    assert_int_equal(edges, 144 + 12);
    free(dot);
    rill_env_destroy(&env);
}

//  The logical view says where senders pre-aggregate: a key_by into a count, in batch mode.
static void a_combined_edge_is_labelled_in_the_logical_view(void **state)
{
    for (int combine = 0; combine < 2; combine++) {
        rill_env_t *env = rill_env_new();
        rill_env_set_combine(env, combine ? RILL_DEFAULT_COMBINE_BYTES : 0);
        rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 10);
        rill_stream_discard(rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL)));
        const rill_plan_t *plan = rill_env_plan(env);
        char *dot = s_render(plan, RILL_VIEW_LOGICAL, RILL_FORMAT_DOT, 0, NULL);
        assert_true((strstr(dot, "label=\"hash · combined\"") != NULL) == (combine == 1));
        assert_non_null(strstr(dot, combine ? "hash · combined" : "label=hash"));
        free(dot);
        rill_env_destroy(&env);
    }
}

static void a_five_operator_job_at_parallelism_64_renders(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 64);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 10);
    s = rill_stream_map(rill_stream_rebalance(s), s_map, NULL);
    s = rill_stream_map(rill_stream_broadcast(s), s_map, NULL);
    s = rill_stream_count(rill_stream_key_by(s, rill_key_first_field, NULL));
    rill_stream_discard(s);
    const rill_plan_t *plan = rill_env_plan(env);
    size_t size;
    char *svg = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_SVG, 0, &size);
    assert_true(size > 1000);
    free(svg);
    rill_env_destroy(&env);
}

static void rill_plan_and_rill_viz_round_trip_through_files(void **state)
{
    char json_path[] = "/tmp/rill-plan-XXXXXX";
    close(mkstemp(json_path));
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "plan", "seed-example", "-p", "3", "--no-chaining",
                                   "--format", "json", "-o", json_path, NULL),
                     0);
    free(err);
    char *out = NULL;
    assert_int_equal(test_run_tool(&out, NULL, "viz", json_path, "--view", "parallel",
                                   "--format", "dot", NULL),
                     0);
    assert_non_null(strstr(out, "map() [3/3]"));
    free(out);
    //  A truncated file: a clear error and exit 1.
    FILE *file = fopen(json_path, "r+");
    assert_int_equal(ftruncate(fileno(file), 100), 0);
    fclose(file);
    assert_int_equal(test_run_tool(NULL, &err, "viz", json_path, NULL), 1);
    assert_non_null(strstr(err, "plan JSON: line"));
    free(err);
    unlink(json_path);
    assert_int_equal(test_run_tool(NULL, &err, "plan", "seed-example", "--view", "sideways",
                                   NULL),
                     2);
    free(err);
    assert_int_equal(test_run_tool(NULL, &err, "viz", "/nonexistent.json", NULL), 1);
    free(err);
}

//  ---- chains

//  src(p_src) -pattern-> mapper(p_map) -forward-> out(p_map), chaining on: the forward edge
//  chains (and the first too when it is forward with equal parallelism).
static rill_plan_t *s_chained_plan(rill_graph_t **graph_p, rill_pattern_t pattern, int p_src,
                                   int p_map)
{
    rill_graph_t *graph = *graph_p = test_chain_graph(p_src, p_map, pattern, 1);
    char error[256];
    rill_plan_t *plan = rill_plan_new(graph, "chains", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    if (!plan)
        fail_msg("plan: %s", error);
    return plan;
}

//  Flink's web UI draws a chained task as one box naming its operators in order ("Source:
//  src -> mapper -> out"); rill draws one box per task (per parallel index of the chain),
//  and no channel for a chained edge, which is a function call inside the task.
static void a_chain_is_drawn_as_one_box_per_task_listing_its_operators(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_FORWARD, 3, 3);
    assert_int_equal(rill_plan_task_count(plan), 3);
    char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    assert_int_equal(nodes, 3);
    assert_int_equal(edges, 0);
    Agraph_t *read = agmemread(dot);
    for (int k = 0; k < 3; k++) {
        char name[16], label[64];
        snprintf(name, sizeof name, "s%d", k); //  the source's subtask heads the task
        Agnode_t *node = agnode(read, name, 0);
        assert_non_null(node);
        snprintf(label, sizeof label, "src [%d/3]\n→ mapper\n→ out", k + 1);
        assert_string_equal(agget(node, "label"), label);
        assert_string_equal(agget(node, "chain"), "src -> mapper -> out");
        assert_string_equal(agget(node, "operators"), "3");
        assert_int_equal(atoi(agget(node, "task")), rill_plan_subtask(plan, k)->task);
    }
    //  The mapper's and the sink's subtasks have no boxes of their own.
    assert_null(agnode(read, "s3", 0));
    agclose(read);
    //  The legend says what a task box is; no pattern sample, since no channel is drawn.
    assert_non_null(strstr(dot, "legend_task"));
    assert_null(strstr(dot, "legend_forward_a"));
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);

    //  A hash edge breaks the chain: three source boxes, two mapper -> out boxes, and the
    //  3 x 2 hash channels between them, each ending at the task running the mapper.
    plan = s_chained_plan(&graph, RILL_PATTERN_HASH, 3, 2);
    dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    s_count(dot, plan, &nodes, &edges, &channels);
    assert_int_equal(nodes, 3 + 2);
    assert_int_equal(edges, 3 * 2);
    read = agmemread(dot);
    assert_string_equal(agget(agnode(read, "s0", 0), "label"), "src [1/3]");
    assert_string_equal(agget(agnode(read, "s0", 0), "operators"), "1");
    assert_string_equal(agget(agnode(read, "s4", 0), "label"), "mapper [2/2]\n→ out");
    for (Agnode_t *n = agfstnode(read); n; n = agnxtnode(read, n))
        for (Agedge_t *e = agfstout(read, n); e; e = agnxtout(read, e))
            if (strcmp(agget(e, "legend"), "1") != 0) {
                assert_string_equal(agget(e, "pattern"), "hash");
                assert_string_equal(agget(aghead(e), "chain"), "mapper -> out");
            }
    agclose(read);
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  `rill trace --svg`: a traced path's numbers on the drawing, each hop's on its channel,
//  each subtask's beside its task box (several for a box of several), the total on top.
static void a_traced_path_carries_its_notes_on_its_channels_and_boxes(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_HASH, 3, 2);
    //  src [2] (subtask 1) -hash-> mapper [1] (3) -chained-> out [1] (5)
    const int path[] = {1, 3, 5};
    const char *notes[] = {"src: proc 1 us", "mapper: proc 2 us", "out: proc 3 us"};
    const char *hop_notes[] = {NULL, "fill 5 ms · queue 1 ms", NULL};
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL,
                                      .format = RILL_FORMAT_DOT,
                                      .path = path,
                                      .path_length = 3,
                                      .path_notes = notes,
                                      .path_hop_notes = hop_notes,
                                      .path_title = "slowest traced path: 9 ms"};
    char *dot = NULL, error[256];
    size_t size;
    assert_int_equal(
        rill_diagram_render(s_renderer, plan, &options, &dot, &size, error, sizeof error), 0);
    Agraph_t *read = agmemread(dot);
    assert_non_null(read);
    assert_string_equal(agget(read, "label"), "slowest traced path: 9 ms");
    assert_string_equal(agget(agnode(read, "s1", 0), "xlabel"), "src: proc 1 us");
    assert_string_equal(agget(agnode(read, "s3", 0), "xlabel"),
                        "mapper: proc 2 us\nout: proc 3 us");
    assert_string_equal(agget(agnode(read, "s0", 0), "xlabel"), "");
    int noted = 0;
    for (Agnode_t *n = agfstnode(read); n; n = agnxtnode(read, n))
        for (Agedge_t *e = agfstout(read, n); e; e = agnxtout(read, e)) {
            const char *note = agget(e, "path_note");
            if (!note || !*note)
                continue;
            noted++;
            assert_string_equal(agnameof(agtail(e)), "s1");
            assert_string_equal(agnameof(aghead(e)), "s3");
            assert_string_equal(note, "fill 5 ms · queue 1 ms");
            assert_string_equal(agget(e, "label"), "fill 5 ms · queue 1 ms");
            assert_string_equal(agget(e, "color"), "#e67e22"); //  still highlighted
        }
    assert_int_equal(noted, 1);
    agclose(read);
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void the_logical_view_marks_chained_edges_and_says_so_in_the_legend(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_REBALANCE, 2, 3);
    char *dot = s_render(plan, RILL_VIEW_LOGICAL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    assert_int_equal(nodes, 3);
    assert_int_equal(edges, 2);
    Agraph_t *read = agmemread(dot);
    Agedge_t *rebalance = agedge(read, agnode(read, "op0", 0), agnode(read, "op1", 0), NULL, 0);
    Agedge_t *chained = agedge(read, agnode(read, "op1", 0), agnode(read, "op2", 0), NULL, 0);
    assert_non_null(rebalance);
    assert_non_null(chained);
    assert_string_equal(agget(chained, "chained"), "1");
    assert_string_equal(agget(chained, "label"), "forward · chained");
    assert_string_not_equal(agget(rebalance, "chained"), "1");
    assert_string_equal(agget(rebalance, "label"), "rebalance");
    assert_non_null(agnode(read, "legend_chained_a", 0));
    agclose(read);
    free(dot);
    //  Unchained, the same job has no chained edge and no chain legend.
    rill_plan_destroy(&plan);
    rill_graph_set_chaining_enabled(graph, false);
    char error[256];
    plan = rill_plan_new(graph, "chains", 1, RILL_MODE_AUTOMATIC, error, sizeof error);
    dot = s_render(plan, RILL_VIEW_LOGICAL, RILL_FORMAT_DOT, 0, NULL);
    assert_null(strstr(dot, "chained"));
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Metrics stay per operator inside a chain: each operator's line in the task box shows its
//  own records; the box takes the highest backpressure of its operators (they share a thread).
static void task_boxes_show_each_operators_counts(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_FORWARD, 2, 2);
    uint64_t in[6] = {0, 0, 1500, 7, 1500, 7}, out[6] = {1500, 7, 1500, 7, 0, 0};
    double backpressure[6] = {0.25, 0, 0.5, 0, 0, 0.3};
    uint64_t records[6] = {0};
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_DOT,
                                      .channel_records = records,
                                      .subtask_backpressure = backpressure,
                                      .subtask_records_in = in,
                                      .subtask_records_out = out};
    char *dot = NULL, error[256];
    size_t size;
    assert_int_equal(rill_diagram_render(s_renderer, plan, &options, &dot, &size, error,
                                         sizeof error), 0);
    Agraph_t *read = agmemread(dot);
    assert_string_equal(agget(agnode(read, "s0", 0), "label"),
                        "src [1/2]: 1.5k out\n→ mapper: 1.5k in, 1.5k out\n→ out: 1.5k in, 0 "
                        "out\nbackpressured 50%");
    assert_string_equal(agget(agnode(read, "s1", 0), "label"),
                        "src [2/2]: 7 out\n→ mapper: 7 in, 7 out\n→ out: 7 in, 0 "
                        "out\nbackpressured 30%");
    assert_string_equal(agget(agnode(read, "s0", 0), "backpressure"), "0.500");
    agclose(read);
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  Busy is the culprit, backpressure the victim: with both, a task's fill says how busy it is
//  (a valid #rrggbb, darker the busier) and a red border, wider the more, how backpressured.
static bool s_is_hex_colour(const char *colour)
{
    if (!colour || strlen(colour) != 7 || colour[0] != '#')
        return false;
    for (int i = 1; i < 7; i++)
        if (!strchr("0123456789abcdefABCDEF", colour[i]))
            return false;
    return true;
}

static void busy_fills_a_task_and_backpressure_borders_it(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_FORWARD, 2, 2);
    double backpressure[6] = {0.9, 0, 0, 0, 0, 0}, busy[6] = {0.1, 0.97, 0, 0, 0, 1.5};
    uint64_t records[6] = {0};
    //  Task s0's operators saw watermarks 5.5 s and 3.25 s: it shows the lowest; s1 none.
    int64_t watermark[6] = {5500, INT64_MIN, 3250, INT64_MIN, INT64_MIN, INT64_MIN};
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_DOT,
                                      .channel_records = records,
                                      .subtask_backpressure = backpressure,
                                      .subtask_busy = busy,
                                      .subtask_watermark = watermark};
    char *dot = NULL, error[256];
    size_t size;
    assert_int_equal(rill_diagram_render(s_renderer, plan, &options, &dot, &size, error,
                                         sizeof error), 0);
    Agraph_t *read = agmemread(dot);
    Agnode_t *victim = agnode(read, "s0", 0), *culprit = agnode(read, "s1", 0);
    assert_non_null(strstr(agget(victim, "label"), "busy 10%, backpressured 90%"));
    assert_non_null(strstr(agget(victim, "label"), "watermark 1970-01-01T00:00:03"));
    assert_null(strstr(agget(culprit, "label"), "watermark"));
    //  A task shows its busiest member (s1's chain holds busy 1.5: clamped, still valid).
    assert_non_null(strstr(agget(culprit, "label"), "backpressured 0%"));
    assert_true(s_is_hex_colour(agget(victim, "fillcolor")));
    assert_true(s_is_hex_colour(agget(culprit, "fillcolor")));
    //  The busier the darker: compare the blue channel (255 idle .. 0 busy).
    assert_true(strtol(agget(victim, "fillcolor") + 5, NULL, 16) >
                strtol(agget(culprit, "fillcolor") + 5, NULL, 16));
    assert_string_equal(agget(victim, "color"), "#d62728");
    assert_true(atof(agget(victim, "penwidth")) > 4);
    assert_string_not_equal(agget(culprit, "color"), "#d62728");
    assert_non_null(strstr(dot, "subtask fill: share of time busy"));
    agclose(read);
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void a_chained_job_at_parallelism_64_collapses_by_task(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_HASH, 64, 64);
    char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    //  Per chain (src; mapper -> out): tasks 1, 2 and 64 plus one elided node.
    assert_int_equal(nodes, 2 * 4);
    //  Hash: 4 drawn senders x 4 drawn receivers, bundled; the chained edge draws nothing.
    assert_int_equal(edges, 16);
    assert_int_equal(channels, 64 * 64);
    assert_non_null(strstr(dot, "61 more tasks"));
    assert_non_null(strstr(dot, "61 more subtasks"));
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  A plan file keeps its chains: drawn from JSON, the same task boxes.
static void a_chained_plan_draws_the_same_from_json(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_chained_plan(&graph, RILL_PATTERN_SHUFFLE, 2, 3);
    char *json = rill_plan_to_json(plan), error[256];
    rill_plan_t *again = rill_plan_from_json(json, error, sizeof error);
    if (!again)
        fail_msg("from_json: %s", error);
    char *a = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    char *b = s_render(again, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    Agraph_t *ga = agmemread(a), *gb = agmemread(b);
    assert_int_equal(agnnodes(ga), agnnodes(gb));
    assert_int_equal(agnedges(ga), agnedges(gb));
    for (Agnode_t *n = agfstnode(ga); n; n = agnxtnode(ga, n)) {
        Agnode_t *m = agnode(gb, agnameof(n), 0);
        assert_non_null(m);
        assert_string_equal(agget(n, "label"), agget(m, "label"));
    }
    assert_string_equal(agget(agnode(gb, "s2", 0), "chain"), "mapper -> out");
    agclose(ga);
    agclose(gb);
    free(a);
    free(b);
    free(json);
    rill_plan_destroy(&again);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

//  The cluster of process rank in a DOT graph read back, or NULL.
static Agraph_t *s_process_cluster(Agraph_t *graph, int rank)
{
    char name[32];
    snprintf(name, sizeof name, "cluster_process%d", rank);
    return agsubg(graph, name, 0);
}

static void a_plan_on_three_processes_draws_one_cluster_per_process(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_HASH, 3, 2);
    char error[256];
    assert_int_equal(rill_plan_place(plan, 3, error, sizeof error), 0);
    assert_int_equal(rill_plan_set_process(plan, 1, "node-b", 4321), 0);
    char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    assert_int_equal(nodes, rill_plan_subtask_count(plan));
    assert_int_equal(edges, rill_plan_channel_count(plan));
    Agraph_t *read = agmemread(dot);
    assert_non_null(read);
    //  One cluster per process, labelled with its rank (from 1, as the subtasks are) and,
    //  where the runtime recorded them, its host and pid.
    assert_string_equal(agget(s_process_cluster(read, 0), "label"), "process 1 of 3 (coordinator)");
    assert_string_equal(agget(s_process_cluster(read, 1), "label"),
                        "process 2 of 3\nnode-b · pid 4321");
    assert_string_equal(agget(s_process_cluster(read, 2), "label"), "process 3 of 3");
    assert_null(s_process_cluster(read, 3));
    //  Each subtask's box lies in its process's cluster, inside that process's cluster of its
    //  operator.
    for (int id = 0; id < rill_plan_subtask_count(plan); id++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, id);
        char name[32];
        snprintf(name, sizeof name, "s%d", id);
        Agraph_t *cluster = s_process_cluster(read, subtask->process);
        assert_non_null(agnode(cluster, name, 0));
        for (int other = 0; other < 3; other++)
            if (other != subtask->process)
                assert_null(agnode(s_process_cluster(read, other), name, 0));
        char operator_cluster[48];
        snprintf(operator_cluster, sizeof operator_cluster, "cluster_process%d_op%d",
                 subtask->process, subtask->op);
        assert_non_null(agnode(agsubg(cluster, operator_cluster, 0), name, 0));
        Agnode_t *node = agnode(read, name, 0);
        assert_int_equal(atoi(agget(node, "process")), subtask->process);
    }
    //  Channels between processes are marked tcp (a circle at the sender), the others not.
    int tcp_channels = 0, tcp_edges = 0;
    for (int c = 0; c < rill_plan_channel_count(plan); c++)
        tcp_channels += rill_plan_channel(plan, c)->transport == RILL_TRANSPORT_TCP;
    for (Agnode_t *n = agfstnode(read); n; n = agnxtnode(read, n))
        for (Agedge_t *e = agfstout(read, n); e; e = agnxtout(read, e)) {
            if (strcmp(agget(e, "legend"), "1") == 0)
                continue;
            const rill_plan_channel_t *channel = rill_plan_channel(plan, atoi(agget(e, "channel")));
            bool tcp = strcmp(agget(e, "transport"), "tcp") == 0;
            assert_int_equal(tcp, channel->transport == RILL_TRANSPORT_TCP);
            if (tcp)
                assert_string_equal(agget(e, "arrowtail"), "odot");
            tcp_edges += tcp;
        }
    assert_true(tcp_channels > 0);
    assert_int_equal(tcp_edges, tcp_channels);
    //  The legend says what the mark means.
    assert_non_null(agnode(read, "legend_tcp_a", 0));
    agclose(read);
    free(dot);
    //  The same plan on one process draws as a one-process plan: no process cluster, no tcp.
    assert_int_equal(rill_plan_place(plan, 1, error, sizeof error), 0);
    dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    assert_null(strstr(dot, "cluster_process"));
    assert_null(strstr(dot, "tcp"));
    assert_null(strstr(dot, "process="));
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void a_placed_plan_draws_the_same_from_json_and_shows_idle_processes(void **state)
{
    //  Parallelism at most 3 on 4 processes: the fourth holds no slot and says so.
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_REBALANCE, 3, 2);
    char error[256];
    assert_int_equal(rill_plan_place(plan, 4, error, sizeof error), 0);
    assert_int_equal(rill_plan_set_process(plan, 0, "node-a", 0), 0);
    char *text = rill_plan_to_json(plan);
    rill_plan_t *copy = rill_plan_from_json(text, error, sizeof error);
    if (!copy)
        fail_msg("%s", error);
    char *dot = s_render(copy, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    Agraph_t *read = agmemread(dot);
    assert_non_null(read);
    assert_string_equal(agget(s_process_cluster(read, 0), "label"),
                        "process 1 of 4 (coordinator)\nnode-a");
    Agraph_t *idle = s_process_cluster(read, 3);
    assert_non_null(idle);
    Agnode_t *note = agnode(idle, "process3_idle", 0);
    assert_non_null(note);
    assert_string_equal(agget(note, "label"), "no slots");
    assert_string_equal(agget(note, "idle"), "1");
    for (int r = 0; r < 3; r++)
        assert_null(agnode(s_process_cluster(read, r), "process3_idle", 0));
    agclose(read);
    free(dot);
    free(text);
    rill_plan_destroy(&copy);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

static void parallelism_64_on_three_processes_collapses_within_each_process(void **state)
{
    rill_graph_t *graph;
    rill_plan_t *plan = s_plan(&graph, RILL_PATTERN_HASH, 64, 64);
    char error[256];
    assert_int_equal(rill_plan_place(plan, 3, error, sizeof error), 0);
    char *dot = s_render(plan, RILL_VIEW_PARALLEL, RILL_FORMAT_DOT, 0, NULL);
    int nodes, edges;
    long channels;
    s_count(dot, plan, &nodes, &edges, &channels);
    //  Per operator: subtasks 1, 2 and 64 (on processes 1, 2 and 1) and one elided node in
    //  each process holding the rest; every channel is still drawn in some edge.
    assert_int_equal(nodes, 3 * (3 + 3));
    assert_int_equal(channels, 64 * 64 + 64);
    Agraph_t *read = agmemread(dot);
    for (int op = 0; op < 3; op++) {
        long hidden = 0;
        for (int r = 0; r < 3; r++) {
            char name[32];
            snprintf(name, sizeof name, "op%d_p%d_elided", op, r);
            Agnode_t *elided = agnode(s_process_cluster(read, r), name, 0);
            assert_non_null(elided);
            hidden += atol(agget(elided, "elided"));
        }
        assert_int_equal(hidden, 64 - 3);
    }
    agclose(read);
    free(dot);
    rill_plan_destroy(&plan);
    rill_graph_destroy(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_pattern_draws_one_node_per_subtask_and_one_edge_per_channel),
        cmocka_unit_test(svg_parses_as_xml_with_a_node_group_per_subtask),
        cmocka_unit_test(png_output_starts_with_the_png_signature),
        cmocka_unit_test(plan_json_round_trips),
        cmocka_unit_test(malformed_or_truncated_json_is_an_error_not_a_crash),
        cmocka_unit_test(matrix_labels_escape_and_hold_any_operator_name),
        cmocka_unit_test(subtasks_are_drawn_in_order_top_down),
        cmocka_unit_test(parallelism_64_collapses_to_the_documented_shape),
        cmocka_unit_test(a_combined_edge_is_labelled_in_the_logical_view),
        cmocka_unit_test(a_five_operator_job_at_parallelism_64_renders),
        cmocka_unit_test(rill_plan_and_rill_viz_round_trip_through_files),
        cmocka_unit_test(a_chain_is_drawn_as_one_box_per_task_listing_its_operators),
        cmocka_unit_test(a_traced_path_carries_its_notes_on_its_channels_and_boxes),
        cmocka_unit_test(the_logical_view_marks_chained_edges_and_says_so_in_the_legend),
        cmocka_unit_test(task_boxes_show_each_operators_counts),
        cmocka_unit_test(busy_fills_a_task_and_backpressure_borders_it),
        cmocka_unit_test(a_chained_job_at_parallelism_64_collapses_by_task),
        cmocka_unit_test(a_chained_plan_draws_the_same_from_json),
        cmocka_unit_test(a_plan_on_three_processes_draws_one_cluster_per_process),
        cmocka_unit_test(a_placed_plan_draws_the_same_from_json_and_shows_idle_processes),
        cmocka_unit_test(parallelism_64_on_three_processes_collapses_within_each_process),
    };
    s_renderer = rill_diagram_new();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rill_diagram_destroy(&s_renderer);
    return failed;
}
