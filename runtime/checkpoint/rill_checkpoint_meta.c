/*  rill_checkpoint_meta.c: the checkpoint metadata and its JSON (see the header). Reading is
    as strict as the plan reader's: a _metadata that is not exactly what this code writes is an
    error naming the member, so the loader can skip that checkpoint with a reason. */
#include "rill_checkpoint_meta.h"
#include "rill_graph_private.h"
#include "rill_json_check.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *s_kinds[] = {"checkpoint", "savepoint"};

//  Bounds on what a _metadata may claim, so a damaged file cannot ask for absurd memory.
#define S_MAX_OPERATORS (1 << 16)

typedef struct {
    rill_checkpoint_operator_t public;
    char *name;
    rill_state_file_t *files;
} s_operator_t;

struct rill_checkpoint_meta_t {
    int64_t checkpoint;
    rill_checkpoint_kind_t kind;
    char *job_name;
    int64_t trigger_time;
    int64_t completion_time;
    int operator_count;
    s_operator_t *operators;
};

const char *rill_checkpoint_kind_name(rill_checkpoint_kind_t kind)
{
    return (unsigned)kind < 2 ? s_kinds[kind] : "unknown";
}

int rill_checkpoint_kind_from_name(const char *name)
{
    for (int i = 0; name && i < 2; i++)
        if (strcmp(name, s_kinds[i]) == 0)
            return i;
    return -1;
}

//  The plan JSON's "op_kind" names, one table kept by the plan.
const char *rill_checkpoint_op_kind_name(rill_op_kind_t kind)
{
    return rill_op_kind_precise_name(kind);
}

int rill_checkpoint_op_kind_from_name(const char *name)
{
    return rill_op_kind_from_precise_name(name);
}

void rill_checkpoint_meta_destroy(rill_checkpoint_meta_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_checkpoint_meta_t *self = *self_p;
    for (int i = 0; self->operators && i < self->operator_count; i++) {
        free(self->operators[i].name);
        free(self->operators[i].files);
    }
    free(self->operators);
    free(self->job_name);
    free(self);
    *self_p = NULL;
}

//  An empty metadata with room for operator_count operators.
static rill_checkpoint_meta_t *s_meta_new(const char *job_name, int operator_count)
{
    rill_checkpoint_meta_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->job_name = strdup(job_name ? job_name : "");
    self->operators = calloc((size_t)(operator_count ? operator_count : 1), sizeof(s_operator_t));
    self->operator_count = operator_count;
    if (!self->job_name || !self->operators)
        rill_checkpoint_meta_destroy(&self);
    return self;
}

//  Fills operator id's own fields (not its files' contents); 0, or -1 when out of memory.
static int s_operator_set(rill_checkpoint_meta_t *self, int id, const char *name,
                          rill_op_kind_t kind, int parallelism)
{
    s_operator_t *op = &self->operators[id];
    op->name = strdup(name);
    op->files = calloc((size_t)parallelism, sizeof(rill_state_file_t));
    if (!op->name || !op->files)
        return -1;
    op->public = (rill_checkpoint_operator_t){.id = id,
                                              .name = op->name,
                                              .kind = kind,
                                              .kind_name = rill_op_kind_name(kind),
                                              .op_kind = rill_checkpoint_op_kind_name(kind),
                                              .parallelism = parallelism,
                                              .files = op->files};
    return 0;
}

rill_checkpoint_meta_t *rill_checkpoint_meta_new(const rill_plan_t *plan, int64_t checkpoint,
                                                 int64_t trigger_time)
{
    assert(plan && checkpoint >= 0);
    int count = rill_plan_operator_count(plan);
    rill_checkpoint_meta_t *self = s_meta_new(rill_plan_job_name(plan), count);
    if (!self)
        return NULL;
    self->checkpoint = checkpoint;
    self->kind = RILL_CHECKPOINT_KIND_CHECKPOINT;
    self->trigger_time = trigger_time;
    for (int i = 0; i < count; i++) {
        const rill_plan_operator_t *op = rill_plan_operator(plan, i);
        assert(op && op->id == i);
        //  A kind missing from the plan's op_kind table is a kind added to the graph but not there.
        assert(rill_checkpoint_op_kind_name(op->kind));
        if (s_operator_set(self, i, op->name, op->kind, op->parallelism)) {
            rill_checkpoint_meta_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void rill_checkpoint_meta_set_state(rill_checkpoint_meta_t *self, int operator_id,
                                    int subtask_index, const rill_state_file_t *file)
{
    assert(self && file && operator_id >= 0 && operator_id < self->operator_count);
    s_operator_t *op = &self->operators[operator_id];
    assert(subtask_index >= 0 && subtask_index < op->public.parallelism);
    assert(file->name[0] && memchr(file->name, '\0', sizeof file->name));
    op->files[subtask_index] = *file;
}

int rill_checkpoint_meta_missing(const rill_checkpoint_meta_t *self)
{
    int missing = 0;
    for (int i = 0; i < self->operator_count; i++)
        for (int s = 0; s < self->operators[i].public.parallelism; s++)
            missing += self->operators[i].files[s].name[0] == '\0';
    return missing;
}

int64_t rill_checkpoint_meta_id(const rill_checkpoint_meta_t *self)
{
    return self->checkpoint;
}

rill_checkpoint_kind_t rill_checkpoint_meta_kind(const rill_checkpoint_meta_t *self)
{
    return self->kind;
}

const char *rill_checkpoint_meta_job_name(const rill_checkpoint_meta_t *self)
{
    return self->job_name;
}

int64_t rill_checkpoint_meta_trigger_time(const rill_checkpoint_meta_t *self)
{
    return self->trigger_time;
}

int64_t rill_checkpoint_meta_completion_time(const rill_checkpoint_meta_t *self)
{
    return self->completion_time;
}

int rill_checkpoint_meta_operator_count(const rill_checkpoint_meta_t *self)
{
    return self->operator_count;
}

const rill_checkpoint_operator_t *rill_checkpoint_meta_operator(const rill_checkpoint_meta_t *self,
                                                                int id)
{
    if (id < 0 || id >= self->operator_count)
        return NULL;
    return &self->operators[id].public;
}

//  ---- writing

char *rill_checkpoint_meta_to_json(const rill_checkpoint_meta_t *self, rill_checkpoint_kind_t kind,
                                   int64_t completion_time)
{
    //  json_array_append_new fails on a NULL item (a json_pack out of memory): any failure
    //  fails the whole document, never leaves a member out.
    int failed = 0;
    json_t *operators = json_array();
    for (int i = 0; operators && i < self->operator_count; i++) {
        const rill_checkpoint_operator_t *op = &self->operators[i].public;
        json_t *files = json_array();
        for (int s = 0; files && s < op->parallelism; s++) {
            char checksum[17];
            snprintf(checksum, sizeof checksum, "%016" PRIx64, op->files[s].checksum);
            failed |= json_array_append_new(
                files, json_pack("{s:s, s:I, s:s}", "file", op->files[s].name, "size",
                                 (json_int_t)op->files[s].size, "checksum", checksum));
        }
        failed |= json_array_append_new(
            operators, json_pack("{s:i, s:s, s:s, s:s, s:i, s:o}", "id", op->id, "name", op->name,
                                 "kind", op->kind_name, "op_kind", op->op_kind, "parallelism",
                                 op->parallelism, "state", files));
    }
    json_t *root =
        json_pack("{s:i, s:s, s:I, s:s, s:I, s:I, s:i, s:o}", "format", RILL_CHECKPOINT_FORMAT,
                  "kind", rill_checkpoint_kind_name(kind), "checkpoint",
                  (json_int_t)self->checkpoint, "job", self->job_name, "trigger_time",
                  (json_int_t)self->trigger_time, "completion_time", (json_int_t)completion_time,
                  "max_parallelism", RILL_MAX_PARALLELISM, "operators", operators);
    char *text = root && !failed ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}

//  ---- reading

//  An integer member within [min, max]; where names the object ("operator 2").
static int s_integer(rill_json_check_t *reader, json_t *object, const char *where, const char *key,
                     json_int_t min, json_int_t max, json_int_t *value)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_integer(member))
        return rill_json_check_fail(reader, "%s'%s' is missing or not an integer", where, key);
    json_int_t number = json_integer_value(member);
    if (number < min || number > max)
        return rill_json_check_fail(reader, "%s'%s' = %lld is out of range (%lld..%lld)", where,
                                    key, (long long)number, (long long)min, (long long)max);
    *value = number;
    return 0;
}

static const char *s_string(rill_json_check_t *reader, json_t *object, const char *where,
                            const char *key)
{
    json_t *member = json_object_get(object, key);
    if (!json_is_string(member)) {
        rill_json_check_fail(reader, "%s'%s' is missing or not a string", where, key);
        return NULL;
    }
    return json_string_value(member);
}

static int s_read_file(rill_json_check_t *reader, json_t *item, const char *where,
                       rill_state_file_t *file)
{
    if (!json_is_object(item))
        return rill_json_check_fail(reader, "%sis not an object", where);
    const char *name = s_string(reader, item, where, "file");
    const char *checksum = s_string(reader, item, where, "checksum");
    json_int_t size = 0;
    if (!name || !checksum || s_integer(reader, item, where, "size", 0, INT64_MAX, &size))
        return -1;
    //  A plain name inside the checkpoint's folder: never a path that leads out of it.
    if (!name[0] || name[0] == '.' || strchr(name, '/') || strlen(name) >= sizeof file->name)
        return rill_json_check_fail(reader, "%sfile '%s' is not a state file's name", where, name);
    if (strlen(checksum) != 16 || strspn(checksum, "0123456789abcdef") != 16)
        return rill_json_check_fail(reader, "%schecksum '%s' is not 16 hex digits", where,
                                    checksum);
    snprintf(file->name, sizeof file->name, "%s", name);
    file->size = (uint64_t)size;
    file->checksum = strtoull(checksum, NULL, 16);
    return 0;
}

static int s_read_operator(rill_json_check_t *reader, rill_checkpoint_meta_t *self, int id,
                           json_t *item)
{
    char where[64];
    snprintf(where, sizeof where, "operator %d: ", id);
    if (!json_is_object(item))
        return rill_json_check_fail(reader, "%sis not an object", where);
    json_int_t number = 0, parallelism = 0;
    if (s_integer(reader, item, where, "id", id, id, &number) ||
        s_integer(reader, item, where, "parallelism", 1, RILL_MAX_PARALLELISM, &parallelism))
        return -1;
    const char *name = s_string(reader, item, where, "name");
    const char *kind_name = s_string(reader, item, where, "kind");
    const char *op_kind = s_string(reader, item, where, "op_kind");
    if (!name || !kind_name || !op_kind)
        return -1;
    int kind = rill_checkpoint_op_kind_from_name(op_kind);
    if (kind < 0)
        return rill_json_check_fail(reader, "%sunknown op_kind '%s'", where, op_kind);
    if (strcmp(kind_name, rill_op_kind_name((rill_op_kind_t)kind)) != 0)
        return rill_json_check_fail(reader, "%skind '%s' does not go with op_kind '%s'", where,
                                    kind_name, op_kind);
    json_t *files = json_object_get(item, "state");
    if (!json_is_array(files))
        return rill_json_check_fail(reader, "%s'state' is missing or not an array", where);
    if (json_array_size(files) != (size_t)parallelism)
        return rill_json_check_fail(reader, "%s'state' lists %zu files for %lld subtasks", where,
                                    json_array_size(files), (long long)parallelism);
    if (s_operator_set(self, id, name, (rill_op_kind_t)kind, (int)parallelism))
        return rill_json_check_fail(reader, "out of memory");
    for (int s = 0; s < (int)parallelism; s++) {
        char file_where[80];
        snprintf(file_where, sizeof file_where, "operator %d subtask %d: ", id, s);
        if (s_read_file(reader, json_array_get(files, (size_t)s), file_where,
                        &self->operators[id].files[s]))
            return -1;
    }
    return 0;
}

rill_checkpoint_meta_t *rill_checkpoint_meta_from_json(const char *text, char *error,
                                                       size_t error_size)
{
    rill_json_check_t reader = {"checkpoint metadata", error, error_size, 0};
    json_t *root = rill_json_check_parse(&reader, text);
    if (!root)
        return NULL;
    rill_checkpoint_meta_t *self = NULL;
    json_int_t format = 0, checkpoint = 0, trigger_time = 0, completion_time = 0, max_parallelism = 0;
    const char *kind, *job;
    if (!json_is_object(root)) {
        rill_json_check_fail(&reader, "the document is not an object");
        goto cleanup;
    }
    if (s_integer(&reader, root, "", "format", 0, INT64_MAX, &format))
        goto cleanup;
    if (format != RILL_CHECKPOINT_FORMAT) {
        rill_json_check_fail(&reader, "format %lld is not one this build reads (%d)",
                             (long long)format, RILL_CHECKPOINT_FORMAT);
        goto cleanup;
    }
    if (!(kind = s_string(&reader, root, "", "kind")) ||
        !(job = s_string(&reader, root, "", "job")))
        goto cleanup;
    if (rill_checkpoint_kind_from_name(kind) < 0) {
        rill_json_check_fail(&reader, "unknown kind '%s'", kind);
        goto cleanup;
    }
    if (s_integer(&reader, root, "", "checkpoint", 0, INT64_MAX, &checkpoint) ||
        s_integer(&reader, root, "", "trigger_time", 0, INT64_MAX, &trigger_time) ||
        s_integer(&reader, root, "", "completion_time", 0, INT64_MAX, &completion_time) ||
        s_integer(&reader, root, "", "max_parallelism", 1, INT32_MAX, &max_parallelism))
        goto cleanup;
    //  Keyed state is cut into max-parallelism key groups: another count cannot be mapped.
    if (max_parallelism != RILL_MAX_PARALLELISM) {
        rill_json_check_fail(&reader,
                             "max parallelism %lld differs from this build's %d: its key groups "
                             "cannot be redistributed",
                             (long long)max_parallelism, RILL_MAX_PARALLELISM);
        goto cleanup;
    }
    json_t *operators = json_object_get(root, "operators");
    if (!json_is_array(operators) || json_array_size(operators) > S_MAX_OPERATORS) {
        rill_json_check_fail(&reader, "'operators' is missing, not an array or too long");
        goto cleanup;
    }
    self = s_meta_new(job, (int)json_array_size(operators));
    if (!self) {
        rill_json_check_fail(&reader, "out of memory");
        goto cleanup;
    }
    self->checkpoint = checkpoint;
    self->kind = (rill_checkpoint_kind_t)rill_checkpoint_kind_from_name(kind);
    self->trigger_time = trigger_time;
    self->completion_time = completion_time;
    for (int i = 0; i < self->operator_count; i++)
        if (s_read_operator(&reader, self, i, json_array_get(operators, (size_t)i))) {
            rill_checkpoint_meta_destroy(&self);
            break;
        }

cleanup:
    json_decref(root);
    return self;
}
