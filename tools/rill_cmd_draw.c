/*  rill_cmd_draw.c: `rill plan JOB` (draw a job without running it) and `rill viz FILE`
    (draw a plan saved as JSON, or the flow recorded in a metrics JSON file). Both render
    through viz/rill_diagram, in process. */
#include "rill_cli.h"
#include "rill_diagram.h"
#include "rill_draw.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rill_view_t view;
    int format; //  rill_format_t, or S_FORMAT_JSON
    const char *output;
    int collapse;
    const char *metrics;
    bool no_chaining; //  rill plan --no-chaining
    int processes;    //  rill plan --processes (1: one process)
    bool view_given;  //  --view on the command line
} s_options_t;

#define S_FORMAT_JSON 99

static void s_usage(FILE *out, const char *command)
{
    if (strcmp(command, "plan") == 0)
        fprintf(
            out,
            "usage: rill plan JOB [-p N] [--view logical|parallel] [--format dot|svg|png|json]\n"
            "                 [-o FILE] [--collapse N] [--metrics FILE.json] [--no-chaining]\n"
            "                 [--processes K] [-- JOB ARGS]\n"
            "\n"
            "Draws JOB's dataflow without running it (Graphviz, in process).\n");
    else
        fprintf(out, "usage: rill viz FILE.json [--view logical|parallel] [--format dot|svg|png]\n"
                     "                [-o FILE] [--collapse N] [--metrics FILE.json]\n"
                     "\n"
                     "Draws a plan saved with 'rill plan --format json', or the plan inside a\n"
                     "metrics file written by 'rill run --metrics-json' (then as a flow diagram).\n");
    fprintf(out,
            "\n"
            "options:\n"
            "  --view V        logical (default: operators and streams) or parallel (subtasks\n"
            "                  and channels)\n"
            "  --format F      svg (default), png, dot%s\n"
            "  -o FILE         write there (default: stdout)\n"
            "  --collapse N    in the parallel view, collapse operators with more than N\n"
            "                  subtasks (default %d; -1 never)\n"
            "  --metrics FILE  a metrics JSON file of a run of this job ('rill run\n"
            "                  --metrics-json'): draw the flow: channel width and colour by\n"
            "                  records, subtask fill by busy, border by backpressure, exchange matrices\n",
            strcmp(command, "plan") == 0 ? ", json (the plan as data)" : "",
            RILL_DIAGRAM_COLLAPSE_DEFAULT);
    if (strcmp(command, "plan") == 0)
        fprintf(out, "  -p N            default parallelism of the job's operators\n"
                     "  --no-chaining   plan every operator subtask as a thread of its own (as\n"
                     "                  'rill run --no-chaining' runs it)\n"
                     "  --processes K   place the subtasks on K processes by slots (subtask i of\n"
                     "                  every operator on process i mod K) and draw one cluster\n"
                     "                  per process; running across processes is not supported\n"
                     "                  yet\n");
    fprintf(out, "\nIn the parallel view a box is a task, one thread: operators chained by\n"
                 "forward streams of equal parallelism share it and are listed in order.\n");
}

static int s_usage_error(const char *command, const char *why, const char *detail)
{
    fprintf(stderr, "rill %s: %s%s\n\n", command, why, detail ? detail : "");
    s_usage(stderr, command);
    return RILL_EXIT_USAGE;
}

char *rill_draw_read_file(const char *path, const char *command)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "rill %s: cannot read '%s': %s\n", command, path, strerror(errno));
        return NULL;
    }
    size_t size = 0, capacity = 65536;
    char *text = malloc(capacity);
    size_t got;
    while (text && (got = fread(text + size, 1, capacity - size - 1, file)) > 0) {
        size += got;
        if (size + 1 == capacity)
            text = realloc(text, capacity *= 2);
    }
    fclose(file);
    if (text)
        text[size] = 0;
    return text;
}

int rill_draw_write(const char *data, size_t size, const char *path, const char *command)
{
    FILE *file = path && strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!file || fwrite(data, 1, size, file) != size || (file != stdout && fclose(file))) {
        fprintf(stderr, "rill %s: cannot write '%s': %s\n", command, path ? path : "stdout",
                strerror(errno));
        return -1;
    }
    if (file == stdout)
        fflush(stdout);
    return 0;
}

//  The flow counters of a metrics JSON file, in arrays indexed like the plan.
typedef struct {
    uint64_t *records;     //  per channel
    double *backpressure;  //  per subtask
    double *busy;          //  per subtask
    int64_t *watermark;    //  per subtask (INT64_MIN: none)
    uint64_t *records_in;  //  per subtask
    uint64_t *records_out; //  per subtask
} s_flow_t;

static void s_flow_free(s_flow_t *flow)
{
    free(flow->records);
    free(flow->backpressure);
    free(flow->busy);
    free(flow->watermark);
    free(flow->records_in);
    free(flow->records_out);
    *flow = (s_flow_t){0};
}

//  Reads the flow counters of a metrics JSON file. The file is checked whole
//  (rill_metrics_from_json): it must be a run of plan (the same job and parallelism), and a
//  bad field is named, never drawn.
static int s_load_flow(const rill_plan_t *plan, const char *path, s_flow_t *flow,
                       const char *command)
{
    char *text = rill_draw_read_file(path, command);
    if (!text)
        return -1;
    char error[512];
    rill_metrics_t *metrics = rill_metrics_from_json(text, plan, error, sizeof error);
    free(text);
    if (!metrics) {
        fprintf(stderr, "rill %s: '%s': %s\n", command, path, error);
        return -1;
    }
    int channels = rill_plan_channel_count(plan), subtasks = rill_plan_subtask_count(plan);
    flow->records = calloc((size_t)channels + 1, sizeof(uint64_t));
    flow->backpressure = calloc((size_t)subtasks + 1, sizeof(double));
    flow->busy = calloc((size_t)subtasks + 1, sizeof(double));
    flow->watermark = calloc((size_t)subtasks + 1, sizeof(int64_t));
    flow->records_in = calloc((size_t)subtasks + 1, sizeof(uint64_t));
    flow->records_out = calloc((size_t)subtasks + 1, sizeof(uint64_t));
    if (!flow->records || !flow->backpressure || !flow->busy || !flow->watermark ||
        !flow->records_in ||
        !flow->records_out) {
        fprintf(stderr, "rill %s: out of memory\n", command);
        s_flow_free(flow);
        rill_metrics_destroy(&metrics);
        return -1;
    }
    for (int i = 0; i < channels; i++)
        flow->records[i] = rill_metrics_channel(metrics, i).records;
    //  The same ratio the file holds (the reader checked the two agree).
    for (int i = 0; i < subtasks; i++) {
        rill_subtask_metrics_t m = rill_metrics_subtask(metrics, i);
        uint64_t total = m.busy_ns + m.idle_ns + m.backpressure_ns;
        flow->backpressure[i] = total ? (double)m.backpressure_ns / (double)total : 0.0;
        flow->busy[i] = total ? (double)m.busy_ns / (double)total : 0.0;
        flow->watermark[i] = m.watermark_seen ? m.watermark : INT64_MIN;
        flow->records_in[i] = m.records_in;
        flow->records_out[i] = m.records_out;
    }
    rill_metrics_destroy(&metrics);
    return 0;
}

//  Renders or prints plan per the options.
static int s_draw(const rill_plan_t *plan, const s_options_t *options, const char *command)
{
    if (options->format == S_FORMAT_JSON) {
        char *json = rill_plan_to_json(plan);
        int rc = json ? rill_draw_write(json, strlen(json), options->output, command) : -1;
        if (json && rc == 0 && (!options->output || strcmp(options->output, "-") == 0))
            printf("\n");
        free(json);
        return rc ? RILL_EXIT_FAILURE : RILL_EXIT_OK;
    }
    //  Counters are drawn on subtasks and channels: with a metrics file the view is the
    //  parallel one (the flow view), and asking for the logical one is an error, not a plain
    //  plan drawn as if the counters were not there.
    rill_view_t view = options->view;
    if (options->metrics && options->format != S_FORMAT_JSON) {
        if (options->view_given && view == RILL_VIEW_LOGICAL) {
            fprintf(stderr, "rill %s: the counters of a metrics file are drawn in the parallel "
                            "view (the flow view); drop --view logical\n",
                    command);
            return RILL_EXIT_USAGE;
        }
        view = RILL_VIEW_PARALLEL;
    }
    rill_diagram_options_t diagram = {
        .view = view, .format = (rill_format_t)options->format, .collapse = options->collapse};
    s_flow_t flow = {0};
    if (options->metrics) {
        if (s_load_flow(plan, options->metrics, &flow, command))
            return RILL_EXIT_FAILURE;
        diagram.channel_records = flow.records;
        diagram.subtask_backpressure = flow.backpressure;
        diagram.subtask_busy = flow.busy;
        diagram.subtask_watermark = flow.watermark;
        diagram.subtask_records_in = flow.records_in;
        diagram.subtask_records_out = flow.records_out;
    }
    char *data = NULL, error[256] = "cannot start Graphviz";
    size_t size = 0;
    rill_diagram_t *renderer = rill_diagram_new();
    int rc = renderer ? rill_diagram_render(renderer, plan, &diagram, &data, &size, error,
                                            sizeof error)
                      : -1;
    rill_diagram_destroy(&renderer);
    s_flow_free(&flow);
    if (rc) {
        fprintf(stderr, "rill %s: %s\n", command, error);
        return RILL_EXIT_FAILURE;
    }
    rc = rill_draw_write(data, size, options->output, command);
    free(data);
    return rc ? RILL_EXIT_FAILURE : RILL_EXIT_OK;
}

//  Parses the drawing options shared by plan and viz; stops at "--". Returns -1 when done,
//  or an exit code.
static int s_parse(int argc, char **argv, const char *command, s_options_t *options,
                   int *parallelism, bool allow_json)
{
    enum { OPT_VIEW = 256, OPT_FORMAT, OPT_COLLAPSE, OPT_METRICS, OPT_NO_CHAINING, OPT_PROCESSES };
    static const struct option long_options[] = {
        {"view", required_argument, NULL, OPT_VIEW},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"collapse", required_argument, NULL, OPT_COLLAPSE},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"parallelism", required_argument, NULL, 'p'},
        {"no-chaining", no_argument, NULL, OPT_NO_CHAINING},
        {"processes", required_argument, NULL, OPT_PROCESSES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(argc, argv, ":p:o:h", long_options, NULL)) != -1) {
        switch (option) {
        case OPT_VIEW:
            if (strcmp(optarg, "logical") == 0)
                options->view = RILL_VIEW_LOGICAL;
            else if (strcmp(optarg, "parallel") == 0)
                options->view = RILL_VIEW_PARALLEL;
            else
                return s_usage_error(command, "unknown view ", optarg);
            options->view_given = true;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "dot") == 0)
                options->format = RILL_FORMAT_DOT;
            else if (strcmp(optarg, "svg") == 0)
                options->format = RILL_FORMAT_SVG;
            else if (strcmp(optarg, "png") == 0)
                options->format = RILL_FORMAT_PNG;
            else if (allow_json && strcmp(optarg, "json") == 0)
                options->format = S_FORMAT_JSON;
            else
                return s_usage_error(command, "unknown format ", optarg);
            break;
        case 'o': options->output = optarg; break;
        case OPT_COLLAPSE:
            if (rill_cli_parse_int(optarg, -1, RILL_MAX_PARALLELISM, &options->collapse))
                return s_usage_error(command, "collapse must be -1..256, not ", optarg);
            if (options->collapse == 0)
                return s_usage_error(command, "collapse must be -1 or at least 1", NULL);
            break;
        case OPT_METRICS: options->metrics = optarg; break;
        case OPT_NO_CHAINING:
            //  Chains are decided when a job is planned; a saved plan keeps its own.
            if (!parallelism)
                return s_usage_error(command,
                                     "--no-chaining is for 'rill plan JOB'; a plan "
                                     "file keeps the chains it was made with",
                                     NULL);
            options->no_chaining = true;
            break;
        case OPT_PROCESSES:
            if (!parallelism)
                return s_usage_error(command,
                                     "--processes is for 'rill plan JOB'; a plan file keeps "
                                     "the placement it was made with",
                                     NULL);
            if (rill_cli_parse_int(optarg, 1, RILL_MAX_PROCESSES, &options->processes))
                return s_usage_error(command, "processes must be 1..1024, not ", optarg);
            break;
        case 'p':
            if (!parallelism || rill_cli_parse_int(optarg, 1, RILL_MAX_PARALLELISM, parallelism))
                return s_usage_error(command, "bad parallelism ", optarg);
            break;
        case 'h': s_usage(stdout, command); return RILL_EXIT_OK;
        case ':': return s_usage_error(command, "option needs a value: ", argv[optind - 1]);
        default: return s_usage_error(command, "unknown option ", argv[optind - 1]);
        }
    }
    return -1;
}

int rill_cmd_plan(int argc, char **argv)
{
    int split = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    s_options_t options = {RILL_VIEW_LOGICAL, RILL_FORMAT_SVG, NULL, 0, NULL, false, 1, false};
    int parallelism = 1;
    int rc = s_parse(split, argv, "plan", &options, &parallelism, true);
    if (rc >= 0)
        return rc;
    if (optind >= split)
        return s_usage_error("plan", "no JOB given", NULL);
    if (optind + 1 < split)
        return s_usage_error("plan", "unexpected argument (job arguments go after --): ",
                             argv[optind + 1]);
    const char *job = argv[optind];
    int job_argc = 1 + (split < argc ? argc - split - 1 : 0);
    char **job_argv = calloc((size_t)job_argc + 1, sizeof(char *));
    job_argv[0] = (char *)job;
    for (int i = 1; i < job_argc; i++)
        job_argv[i] = argv[split + i];
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, parallelism);
    if (options.no_chaining)
        rill_env_disable_chaining(env);
    rill_env_set_processes(env, options.processes);
    int code;
    rill_job_plugin_t *plugin = rill_job_load(job, env, job_argc, job_argv, &code);
    if (plugin) {
        const rill_plan_t *plan = rill_env_plan(env);
        if (!plan) {
            fprintf(stderr, "rill plan: %s\n", rill_env_error(env));
            code = RILL_EXIT_FAILURE;
        } else
            code = s_draw(plan, &options, "plan");
    }
    rill_env_destroy(&env);
    rill_job_plugin_destroy(&plugin);
    free(job_argv);
    return code;
}

rill_plan_t *rill_draw_load_plan(const char *path, const char *command)
{
    char *text = rill_draw_read_file(path, command);
    if (!text)
        return NULL;
    //  A metrics file carries its plan inside: draw that.
    json_t *root = json_loads(text, 0, NULL);
    json_t *inner = json_object_get(root, "plan");
    if (json_is_object(inner)) {
        free(text);
        text = json_dumps(inner, 0);
    }
    json_decref(root);
    char error[512];
    rill_plan_t *plan = text ? rill_plan_from_json(text, error, sizeof error) : NULL;
    if (!plan)
        fprintf(stderr, "rill %s: '%s': %s\n", command, path, text ? error : "out of memory");
    free(text);
    return plan;
}

int rill_cmd_viz(int argc, char **argv)
{
    s_options_t options = {RILL_VIEW_LOGICAL, RILL_FORMAT_SVG, NULL, 0, NULL, false, 1, false};
    int rc = s_parse(argc, argv, "viz", &options, NULL, false);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return s_usage_error("viz", optind >= argc ? "no FILE given" : "unexpected argument ",
                             optind >= argc ? NULL : argv[optind + 1]);
    rill_plan_t *plan = rill_draw_load_plan(argv[optind], "viz");
    if (!plan)
        return RILL_EXIT_FAILURE;
    //  A metrics file (a document with a "rill_metrics" member, not merely the word, which
    //  an operator's name may hold) draws as the flow it recorded.
    char *text = options.metrics ? NULL : rill_draw_read_file(argv[optind], "viz");
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(root) && json_object_get(root, "rill_metrics"))
        options.metrics = argv[optind];
    json_decref(root);
    free(text);
    rc = s_draw(plan, &options, "viz");
    rill_plan_destroy(&plan);
    return rc;
}
