/*  rill_plan_export.c: the plan as JSON and back. The schema (README "Plan JSON") is stable:
    a plan saved on one machine can be drawn on another. Reading validates everything a
    drawing relies on (types, ranges, every id in bounds and in order, counts that agree), so
    a malformed or truncated file gives a message, never a crash. */
#include "rill_json_check.h"
#include "rill_plan_private.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The precise operator kinds, for the "op_kind" field.
static const char *s_op_kinds[] = {
    [RILL_OP_SOURCE_FILE] = "source_file",
    [RILL_OP_SOURCE_GENERATOR] = "source_generator",
    [RILL_OP_SOURCE_USER] = "source_user",
    [RILL_OP_MAP] = "map",
    [RILL_OP_FILTER] = "filter",
    [RILL_OP_FLAT_MAP] = "flat_map",
    [RILL_OP_REDUCE] = "reduce",
    [RILL_OP_SINK_PRINT] = "sink_print",
    [RILL_OP_SINK_COLLECT] = "sink_collect",
    [RILL_OP_SINK_DISCARD] = "sink_discard",
    [RILL_OP_TIMESTAMPS] = "timestamps",
    [RILL_OP_WINDOW] = "window",
    [RILL_OP_PROCESS] = "process",
    [RILL_OP_ITERATION] = "iteration_head",
    [RILL_OP_SOURCE_DIRECTORY] = "source_directory",
    [RILL_OP_SINK_ROLLING] = "sink_rolling",
    [RILL_OP_SOURCE_KAFKA] = "source_kafka",
    [RILL_OP_SINK_KAFKA] = "sink_kafka",
};
#define S_OP_KINDS (int)(sizeof s_op_kinds / sizeof s_op_kinds[0])

const char *rill_op_kind_precise_name(rill_op_kind_t kind)
{
    return (unsigned)kind < (unsigned)S_OP_KINDS ? s_op_kinds[kind] : NULL;
}

int rill_op_kind_from_precise_name(const char *name)
{
    for (int k = 0; name && k < S_OP_KINDS; k++)
        if (s_op_kinds[k] && strcmp(name, s_op_kinds[k]) == 0)
            return k;
    return -1;
}

//  The channels' "transport", by rill_transport_t.
static const char *s_transports[] = {
    [RILL_TRANSPORT_INPROC] = "inproc", [RILL_TRANSPORT_TCP] = "tcp"};

char *rill_plan_to_json(const rill_plan_t *self)
{
    json_t *operators = json_array(), *edges = json_array(), *subtasks = json_array(),
           *channels = json_array(), *processes = json_array();
    for (int i = 0; i < self->operator_count; i++) {
        const rill_plan_operator_t *op = &self->operators[i];
        json_array_append_new(operators,
                              json_pack("{s:i, s:s, s:s, s:s, s:i, s:b, s:i, s:i, s:i, s:i}",
                                        "id", op->id, "name", op->name, "kind", op->kind_name,
                                        "op_kind", s_op_kinds[op->kind], "parallelism",
                                        op->parallelism, "bounded", op->bounded, "first_subtask",
                                        op->first_subtask, "inputs", op->input_count, "outputs",
                                        op->output_count, "chain", op->chain));
    }
    for (int i = 0; i < self->edge_count; i++) {
        const rill_plan_edge_t *e = &self->edges[i];
        json_array_append_new(
            edges,
            json_pack("{s:i, s:i, s:i, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:b, s:b}",
                      "id", e->id, "from", e->from, "to", e->to, "pattern",
                      rill_pattern_name(e->pattern), "keyed", e->keyed, "output_tag", e->output_tag,
                      "input_index", e->input_index, "output_index", e->output_index,
                      "first_channel", e->first_channel, "channel_count", e->channel_count,
                      "sender_socket", e->sender_socket, "receiver_socket", e->receiver_socket,
                      "chained", e->chained, "combined", e->combined));
        //  Only on the edges of a loop, so plans without iterations read as they did.
        json_t *edge = json_array_get(edges, json_array_size(edges) - 1);
        if (e->iteration)
            json_object_set_new(edge, "iteration", json_true());
        if (e->feedback)
            json_object_set_new(edge, "feedback", json_true());
    }
    for (int i = 0; i < self->subtask_count; i++)
        json_array_append_new(
            subtasks, json_pack("{s:i, s:i, s:i, s:i, s:i}", "id", i, "operator",
                                self->subtasks[i].op, "index", self->subtasks[i].index, "task",
                                self->subtasks[i].task, "process", self->subtasks[i].process));
    for (int i = 0; i < self->channel_count; i++) {
        const rill_plan_channel_t *c = &self->channels[i];
        json_array_append_new(
            channels, json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "id", c->id, "edge",
                                c->edge, "from_subtask", c->from_subtask, "to_subtask",
                                c->to_subtask, "from_index", c->from_index, "to_index", c->to_index,
                                "endpoint", c->endpoint, "transport", s_transports[c->transport]));
    }
    for (int i = 0; i < self->process_count; i++) {
        const rill_plan_process_t *p = &self->processes[i];
        json_t *process = json_pack("{s:i, s:i, s:i, s:i}", "rank", p->rank, "slots", p->slots,
                                    "subtasks", p->subtasks, "tasks", p->tasks);
        //  Where it ran, once the runtime knew: absent rather than null or 0 before that.
        if (process && p->host)
            json_object_set_new(process, "host", json_string(p->host));
        if (process && p->pid > 0)
            json_object_set_new(process, "pid", json_integer(p->pid));
        json_array_append_new(processes, process);
    }
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "rill_plan", 1, "job", self->job_name,
                  "mode", rill_mode_name(self->mode), "operators", operators, "edges", edges,
                  "subtasks", subtasks, "channels", channels, "processes", processes);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}

//  ---- reading

//  An integer member within [min, max].
static int s_int(rill_json_check_t *reader, json_t *object, const char *what, int index,
                 const char *key, long min, long max, int *value)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_integer(member))
        return rill_json_check_fail(reader, "%s %d: '%s' is missing or not an integer", what, index,
                                    key);
    json_int_t number = json_integer_value(member);
    if (number < min || number > max)
        return rill_json_check_fail(reader, "%s %d: '%s' = %lld is out of range (%ld..%ld)", what,
                                    index, key, (long long)number, min, max);
    *value = (int)number;
    return 0;
}

static const char *s_string(rill_json_check_t *reader, json_t *object, const char *what, int index,
                            const char *key)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_string(member)) {
        rill_json_check_fail(reader, "%s %d: '%s' is missing or not a string", what, index, key);
        return NULL;
    }
    return json_string_value(member);
}

static json_t *s_array(rill_json_check_t *reader, json_t *root, const char *key, int max)
{
    json_t *array = json_object_get(root, key);
    if (!json_is_array(array)) {
        rill_json_check_fail(reader, "'%s' is missing or not an array", key);
        return NULL;
    }
    if (json_array_size(array) > (size_t)max) {
        rill_json_check_fail(reader, "'%s' has %zu entries, more than a plan can have", key,
                             json_array_size(array));
        return NULL;
    }
    return array;
}

static int s_read_operators(rill_json_check_t *reader, rill_plan_t *plan, json_t *array)
{
    int subtasks = 0;
    for (int i = 0; i < plan->operator_count; i++) {
        json_t *item = json_array_get(array, (size_t)i);
        rill_plan_operator_t *op = &plan->operators[i];
        int id;
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "operator %d is not an object", i);
        if (s_int(reader, item, "operator", i, "id", i, i, &id) ||
            s_int(reader, item, "operator", i, "parallelism", 1, RILL_MAX_PARALLELISM,
                  &op->parallelism) ||
            s_int(reader, item, "operator", i, "first_subtask", subtasks, subtasks,
                  &op->first_subtask) ||
            s_int(reader, item, "operator", i, "inputs", 0, 1 << 20, &op->input_count) ||
            s_int(reader, item, "operator", i, "outputs", 0, 1 << 20, &op->output_count))
            return -1;
        const char *name = s_string(reader, item, "operator", i, "name");
        const char *op_kind = s_string(reader, item, "operator", i, "op_kind");
        if (!name || !op_kind)
            return -1;
        int kind = rill_op_kind_from_precise_name(op_kind);
        if (kind < 0)
            return rill_json_check_fail(reader, "operator %d: unknown op_kind '%s'", i, op_kind);
        plan->names[i] = strdup(name);
        if (!plan->names[i])
            return rill_json_check_fail(reader, "out of memory");
        op->id = i;
        op->name = plan->names[i];
        op->kind = (rill_op_kind_t)kind;
        op->kind_name = rill_op_kind_name(op->kind);
        op->bounded = json_is_true(json_object_get(item, "bounded"));
        subtasks += op->parallelism;
    }
    if (subtasks != plan->subtask_count)
        return rill_json_check_fail(reader,
                                    "the operators have %d subtasks but 'subtasks' lists %d",
                                    subtasks, plan->subtask_count);
    return 0;
}

static int s_read_edges(rill_json_check_t *reader, rill_plan_t *plan, json_t *array)
{
    int channels = 0;
    for (int i = 0; i < plan->edge_count; i++) {
        json_t *item = json_array_get(array, (size_t)i);
        rill_plan_edge_t *e = &plan->edges[i];
        int id, last = plan->operator_count - 1;
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "edge %d is not an object", i);
        if (s_int(reader, item, "edge", i, "id", i, i, &id) ||
            s_int(reader, item, "edge", i, "from", 0, last, &e->from) ||
            s_int(reader, item, "edge", i, "to", 0, last, &e->to) ||
            s_int(reader, item, "edge", i, "input_index", 0, 1 << 20, &e->input_index) ||
            s_int(reader, item, "edge", i, "output_index", 0, 1 << 20, &e->output_index) ||
            s_int(reader, item, "edge", i, "first_channel", channels, channels,
                  &e->first_channel) ||
            s_int(reader, item, "edge", i, "channel_count", 0, plan->channel_count - channels,
                  &e->channel_count))
            return -1;
        const char *pattern = s_string(reader, item, "edge", i, "pattern");
        if (!pattern)
            return -1;
        int p = rill_pattern_from_name(pattern);
        if (p <= RILL_PATTERN_DEFAULT)
            return rill_json_check_fail(reader, "edge %d: unknown pattern '%s'", i, pattern);
        e->id = i;
        e->pattern = (rill_pattern_t)p;
        e->keyed = json_is_true(json_object_get(item, "keyed"));
        json_t *tag = json_object_get(item, "output_tag");
        e->output_tag = json_is_integer(tag) ? (int)json_integer_value(tag) : 0;
        //  Optional: plans saved before chaining have no chained edges.
        json_t *chained = json_object_get(item, "chained");
        if (chained && !json_is_boolean(chained))
            return rill_json_check_fail(reader, "edge %d: 'chained' is not a boolean", i);
        e->chained = json_is_true(chained);
        //  Optional too: plans saved before pre-aggregation have no combined edges. Only a
        //  hash edge into a reduce can carry partial results.
        json_t *combined = json_object_get(item, "combined");
        if (combined && !json_is_boolean(combined))
            return rill_json_check_fail(reader, "edge %d: 'combined' is not a boolean", i);
        e->combined = json_is_true(combined);
        if (e->combined &&
            (e->pattern != RILL_PATTERN_HASH || plan->operators[e->to].kind != RILL_OP_REDUCE))
            return rill_json_check_fail(reader,
                                        "edge %d: 'combined' is true but only a hash edge into "
                                        "a reduce carries partial results",
                                        i);
        //  Optional: only an iteration's edges have them (rill_iterate.h).
        json_t *iteration = json_object_get(item, "iteration");
        json_t *feedback = json_object_get(item, "feedback");
        if ((iteration && !json_is_boolean(iteration)) || (feedback && !json_is_boolean(feedback)))
            return rill_json_check_fail(reader, "edge %d: 'iteration' or 'feedback' is not a "
                                                "boolean", i);
        e->iteration = json_is_true(iteration);
        e->feedback = json_is_true(feedback);
        if (e->feedback && (!e->iteration || e->chained ||
                            plan->operators[e->to].kind != RILL_OP_ITERATION))
            return rill_json_check_fail(reader,
                                        "edge %d: 'feedback' is true but it is no unchained "
                                        "loop edge into an iteration head",
                                        i);
        bool forward = e->pattern == RILL_PATTERN_FORWARD;
        e->sender_socket = e->chained ? "CHAIN" : forward ? "PAIR" : "ROUTER";
        e->receiver_socket = e->chained ? "CHAIN" : forward ? "PAIR" : "DEALER";
        channels += e->channel_count;
    }
    if (channels != plan->channel_count)
        return rill_json_check_fail(reader, "the edges hold %d channels but 'channels' lists %d",
                                    channels, plan->channel_count);
    return 0;
}

static int s_read_subtasks_and_channels(rill_json_check_t *reader, rill_plan_t *plan,
                                        json_t *subtasks, json_t *channels)
{
    for (int i = 0; i < plan->subtask_count; i++) {
        json_t *item = json_array_get(subtasks, (size_t)i);
        rill_plan_subtask_t *s = &plan->subtasks[i];
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "subtask %d is not an object", i);
        if (s_int(reader, item, "subtask", i, "id", i, i, &s->id) ||
            s_int(reader, item, "subtask", i, "operator", 0, plan->operator_count - 1, &s->op))
            return -1;
        const rill_plan_operator_t *op = &plan->operators[s->op];
        if (s_int(reader, item, "subtask", i, "index", 0, op->parallelism - 1, &s->index))
            return -1;
        if (op->first_subtask + s->index != i)
            return rill_json_check_fail(reader, "subtask %d is not subtask %d of operator %d", i,
                                        s->index, s->op);
    }
    for (int i = 0; i < plan->channel_count; i++) {
        json_t *item = json_array_get(channels, (size_t)i);
        rill_plan_channel_t *c = &plan->channels[i];
        int last = plan->subtask_count - 1;
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "channel %d is not an object", i);
        if (s_int(reader, item, "channel", i, "id", i, i, &c->id) ||
            s_int(reader, item, "channel", i, "edge", 0, plan->edge_count - 1, &c->edge) ||
            s_int(reader, item, "channel", i, "from_subtask", 0, last, &c->from_subtask) ||
            s_int(reader, item, "channel", i, "to_subtask", 0, last, &c->to_subtask) ||
            s_int(reader, item, "channel", i, "from_index", 0, RILL_MAX_PARALLELISM,
                  &c->from_index) ||
            s_int(reader, item, "channel", i, "to_index", 0, RILL_MAX_PARALLELISM, &c->to_index))
            return -1;
        const rill_plan_edge_t *e = &plan->edges[c->edge];
        if (i < e->first_channel || i >= e->first_channel + e->channel_count)
            return rill_json_check_fail(
                reader, "channel %d lies outside the channels of its edge %d", i, c->edge);
        if (plan->subtasks[c->from_subtask].op != e->from ||
            plan->subtasks[c->to_subtask].op != e->to ||
            plan->subtasks[c->from_subtask].index != c->from_index ||
            plan->subtasks[c->to_subtask].index != c->to_index)
            return rill_json_check_fail(
                reader, "channel %d does not join subtasks of its edge's operators", i);
        const char *endpoint = s_string(reader, item, "channel", i, "endpoint");
        if (!endpoint)
            return -1;
        snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    }
    return 0;
}

//  The operators' "chain" and the subtasks' "task" follow from the chained edges; when a file
//  gives them (optional: older plans have none), they must agree.
static int s_check_chains(rill_json_check_t *reader, rill_plan_t *plan, json_t *operators,
                          json_t *subtasks)
{
    for (int i = 0; i < plan->operator_count; i++) {
        json_t *chain = json_object_get(json_array_get(operators, (size_t)i), "chain");
        if (chain && (!json_is_integer(chain) || json_integer_value(chain) != plan->operators[i].chain))
            return rill_json_check_fail(reader,
                                        "operator %d: 'chain' is not %d, the head of its chain "
                                        "by the chained edges",
                                        i, plan->operators[i].chain);
    }
    for (int i = 0; i < plan->subtask_count; i++) {
        json_t *task = json_object_get(json_array_get(subtasks, (size_t)i), "task");
        if (task && (!json_is_integer(task) || json_integer_value(task) != plan->subtasks[i].task))
            return rill_json_check_fail(reader,
                                        "subtask %d: 'task' is not %d, its chain head's subtask", i,
                                        plan->subtasks[i].task);
    }
    return 0;
}

//  An optional integer member that, when present, must equal expected (a count the reader
//  derives itself, as "chain" and "task" are).
static int s_derived(rill_json_check_t *reader, json_t *object, const char *what, int index,
                     const char *key, int expected)
{
    json_t *member = json_object_get(object, key);
    if (member && (!json_is_integer(member) || json_integer_value(member) != expected))
        return rill_json_check_fail(reader, "%s %d: '%s' is not %d, what its subtasks make", what,
                                    index, key, expected);
    return 0;
}

//  The placement (optional: plans saved before it ran on one process, and read so). When a
//  file gives it, it must hold together: ranks in range, given for every subtask or none, a
//  task (a chain, one thread) in one process, each channel's transport what its two ends'
//  processes make it, the processes' counts what their subtasks make them.
static int s_read_placement(rill_json_check_t *reader, rill_plan_t *plan, json_t *root,
                            json_t *subtasks, json_t *channels)
{
    json_t *processes = json_object_get(root, "processes");
    int count = 1;
    if (processes) {
        if (!json_is_array(processes))
            return rill_json_check_fail(reader, "'processes' is not an array");
        if (json_array_size(processes) < 1 || json_array_size(processes) > RILL_MAX_PROCESSES)
            return rill_json_check_fail(reader, "'processes' has %zu entries (1..%d)",
                                        json_array_size(processes), RILL_MAX_PROCESSES);
        count = (int)json_array_size(processes);
    }
    if (rill_plan_processes_reset(plan, count))
        return rill_json_check_fail(reader, "out of memory");
    int given = 0, missing = -1;
    for (int i = 0; i < plan->subtask_count; i++) {
        json_t *item = json_array_get(subtasks, (size_t)i);
        plan->subtasks[i].process = 0;
        if (!json_object_get(item, "process")) {
            missing = missing < 0 ? i : missing;
            continue;
        }
        given++;
        if (s_int(reader, item, "subtask", i, "process", 0, count - 1, &plan->subtasks[i].process))
            return -1;
    }
    if (given && missing >= 0)
        return rill_json_check_fail(
            reader, "subtask %d has no 'process' but other subtasks have one", missing);
    for (int i = 0; i < plan->subtask_count; i++) {
        const rill_plan_subtask_t *subtask = &plan->subtasks[i];
        int head = plan->subtasks[subtask->task].process;
        if (subtask->process != head)
            return rill_json_check_fail(reader,
                                        "subtask %d: 'process' is %d but its task (subtask %d: "
                                        "a chain, one thread) runs on process %d",
                                        i, subtask->process, subtask->task, head);
    }
    if (rill_plan_placement_update(plan))
        return rill_json_check_fail(reader, "out of memory");
    for (int r = 0; processes && r < count; r++) {
        json_t *item = json_array_get(processes, (size_t)r);
        int rank, pid = 0;
        if (!json_is_object(item))
            return rill_json_check_fail(reader, "process %d is not an object", r);
        if (s_int(reader, item, "process", r, "rank", r, r, &rank) ||
            s_derived(reader, item, "process", r, "slots", plan->processes[r].slots) ||
            s_derived(reader, item, "process", r, "subtasks", plan->processes[r].subtasks) ||
            s_derived(reader, item, "process", r, "tasks", plan->processes[r].tasks))
            return -1;
        json_t *host = json_object_get(item, "host");
        if (host && !json_is_string(host))
            return rill_json_check_fail(reader, "process %d: 'host' is not a string", r);
        if (json_object_get(item, "pid") &&
            s_int(reader, item, "process", r, "pid", 1, 0x7fffffff, &pid))
            return -1;
        if (rill_plan_set_process(plan, r, host ? json_string_value(host) : NULL, pid))
            return rill_json_check_fail(reader, "out of memory");
    }
    for (int i = 0; i < plan->channel_count; i++) {
        json_t *transport = json_object_get(json_array_get(channels, (size_t)i), "transport");
        if (!transport)
            continue;
        const rill_plan_channel_t *c = &plan->channels[i];
        int from = plan->subtasks[c->from_subtask].process;
        int to = plan->subtasks[c->to_subtask].process;
        const char *name = json_string_value(transport);
        if (!name || (strcmp(name, "inproc") != 0 && strcmp(name, "tcp") != 0))
            return rill_json_check_fail(reader,
                                        "channel %d: 'transport' is not \"inproc\" or \"tcp\"", i);
        if (strcmp(name, s_transports[c->transport]) != 0)
            return rill_json_check_fail(reader,
                                        "channel %d: 'transport' is '%s' but its ends run on "
                                        "processes %d and %d",
                                        i, name, from, to);
    }
    return 0;
}

rill_plan_t *rill_plan_from_json(const char *text, char *error, size_t error_size)
{
    rill_json_check_t reader = {"plan JSON", error, error_size, 0};
    json_t *root = rill_json_check_parse(&reader, text);
    if (!root)
        return NULL;
    rill_plan_t *plan = calloc(1, sizeof(rill_plan_t));
    json_t *operators, *edges, *subtasks, *channels;
    const char *job, *mode;
    if (!plan) {
        rill_json_check_fail(&reader, "out of memory");
        goto fail;
    }
    if (!json_is_object(root) || !json_is_integer(json_object_get(root, "rill_plan"))) {
        rill_json_check_fail(&reader, "not a rill plan (no \"rill_plan\" member)");
        goto fail;
    }
    int limit = RILL_MAX_PARALLELISM * 1024;
    job = s_string(&reader, root, "plan", 0, "job");
    mode = s_string(&reader, root, "plan", 0, "mode");
    operators = s_array(&reader, root, "operators", 1024);
    edges = s_array(&reader, root, "edges", 4096);
    subtasks = s_array(&reader, root, "subtasks", limit);
    channels = s_array(&reader, root, "channels", limit * RILL_MAX_PARALLELISM);
    if (reader.failed)
        goto fail;
    if (json_array_size(operators) == 0) {
        rill_json_check_fail(&reader, "the plan has no operators");
        goto fail;
    }
    plan->job_name = strdup(job);
    plan->mode =
        rill_mode_from_name(mode) == RILL_MODE_BATCH ? RILL_MODE_BATCH : RILL_MODE_STREAMING;
    plan->operator_count = (int)json_array_size(operators);
    plan->edge_count = (int)json_array_size(edges);
    plan->subtask_count = (int)json_array_size(subtasks);
    plan->channel_count = (int)json_array_size(channels);
    plan->channel_capacity = (size_t)plan->channel_count;
    plan->operators = calloc((size_t)plan->operator_count + 1, sizeof(rill_plan_operator_t));
    plan->names = calloc((size_t)plan->operator_count + 1, sizeof(char *));
    plan->edges = calloc((size_t)plan->edge_count + 1, sizeof(rill_plan_edge_t));
    plan->subtasks = calloc((size_t)plan->subtask_count + 1, sizeof(rill_plan_subtask_t));
    plan->channels = calloc((size_t)plan->channel_count + 1, sizeof(rill_plan_channel_t));
    if (!plan->job_name || !plan->operators || !plan->names || !plan->edges || !plan->subtasks ||
        !plan->channels) {
        rill_json_check_fail(&reader, "out of memory");
        goto fail;
    }
    if (s_read_operators(&reader, plan, operators) || s_read_edges(&reader, plan, edges) ||
        s_read_subtasks_and_channels(&reader, plan, subtasks, channels))
        goto fail;
    char why[256];
    if (rill_plan_link_chains(plan, why, sizeof why)) {
        rill_json_check_fail(&reader, "%s", why);
        goto fail;
    }
    if (s_check_chains(&reader, plan, operators, subtasks) ||
        s_read_placement(&reader, plan, root, subtasks, channels))
        goto fail;
    if (rill_plan_index_channels(plan)) {
        rill_json_check_fail(&reader, "out of memory");
        goto fail;
    }
    json_decref(root);
    return plan;
fail:
    json_decref(root);
    rill_plan_destroy(&plan);
    return NULL;
}
