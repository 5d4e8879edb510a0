/*  rill_harness.c: the operator test harness (rill_harness.h). It opens the operator through
    the registry as its subtask would, points the operator's collector at lists it keeps per
    output tag and the operator's processing-time clock at its own, and calls the operator's
    vtable as the subtask actor does (records, watermarks, ticks, the end, snapshot, restore),
    all in the caller's thread. */
#include "rill_harness.h"
#include "rill_graph_private.h"
#include "rill_metrics_private.h"
#include "rill_operator.h"
#include "rill_operator_registry.h"
#include "rill_plan_private.h"
#include "rill_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What one output tag got: records with their bytes copied.
typedef struct {
    rill_record_t *records;
    size_t count, capacity;
} s_list_t;

struct rill_harness_t {
    rill_env_t *env;
    rill_operator_t *op;
    rill_metrics_t *metrics; //  the operator's user metrics
    //  The harness's own plan of env's job: the env's goes whenever it plans again (another
    //  harness on the same env, an operator added), and the operator points into its plan.
    rill_plan_t *plan;
    rill_collector_t out;
    s_list_t outputs[RILL_OUTPUT_MAX_SIDE + 1];
    int64_t now;       //  the processing-time clock
    int64_t watermark; //  the latest the operator emitted
    bool started;      //  a record, watermark or tick has gone in (restore no longer allowed)
    char error[512];
};

static int64_t s_clock(void *ctx)
{
    return ((rill_harness_t *)ctx)->now;
}

static int s_keep(rill_harness_t *self, int tag, const rill_record_t *record)
{
    if (tag < 0 || tag > RILL_OUTPUT_MAX_SIDE)
        return -1;
    s_list_t *list = &self->outputs[tag];
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 64;
        rill_record_t *grown = realloc(list->records, capacity * sizeof(rill_record_t));
        if (!grown)
            return -1;
        list->records = grown;
        list->capacity = capacity;
    }
    void *copy = malloc(record->size ? record->size : 1);
    if (!copy)
        return -1;
    memcpy(copy, record->data, record->size);
    list->records[list->count++] = (rill_record_t){copy, record->size, record->timestamp};
    return 0;
}

static int s_emit(void *target, const rill_record_t *record)
{
    return s_keep(target, RILL_OUTPUT_MAIN, record);
}

static int s_emit_tagged(void *target, int tag, const rill_record_t *record)
{
    return s_keep(target, tag, record);
}

static int s_emit_watermark(void *target, int64_t watermark)
{
    rill_harness_t *self = target;
    if (watermark > self->watermark)
        self->watermark = watermark;
    return 0;
}

static int s_emit_idle(void *target)
{
    (void)target;
    return 0;
}

//  The operator's failure, in the harness's words.
static int s_failed(rill_harness_t *self, const char *doing)
{
    snprintf(self->error, sizeof self->error, "%s: %s", doing,
             *self->op->error ? self->op->error : "failed");
    return -1;
}

rill_harness_t *rill_harness_new(rill_env_t *env, rill_stream_t *stream, int subtask,
                                 char *error, size_t error_size)
{
    char why[512] = "no environment or stream";
    rill_harness_t *self = NULL;
    int id = env && stream ? rill_stream_operator(stream) : -1;
    const rill_plan_t *planned = id >= 0 ? rill_env_plan(env) : NULL;
    rill_plan_t *plan = planned ? rill_plan_new(rill_plan_graph(planned),
                                                rill_plan_job_name(planned),
                                                rill_env_parallelism(env), rill_plan_mode(planned),
                                                why, sizeof why)
                                : NULL;
    const rill_plan_operator_t *op = plan ? rill_plan_operator(plan, id) : NULL;
    if (env && stream && !planned)
        snprintf(why, sizeof why, "%s", rill_env_error(env));
    else if (op && (subtask < 0 || subtask >= op->parallelism))
        snprintf(why, sizeof why, "subtask %d is out of range (operator '%s' has %d)", subtask,
                 op->name, op->parallelism);
    else if (op && !(self = calloc(1, sizeof(rill_harness_t))))
        snprintf(why, sizeof why, "out of memory");
    if (!self) {
        if (error && error_size)
            snprintf(error, error_size, "%s", why);
        rill_plan_destroy(&plan);
        return NULL;
    }
    self->env = env;
    self->plan = plan;
    self->watermark = INT64_MIN;
    self->out = (rill_collector_t){.emit = s_emit,
                                   .emit_tagged = s_emit_tagged,
                                   .watermark = s_emit_watermark,
                                   .idle = s_emit_idle,
                                   .target = self,
                                   .subtask = subtask,
                                   .parallelism = op->parallelism};
    self->op = rill_operator_new(plan, id, subtask, why, sizeof why);
    bool failed = !self->op;
    if (self->op) {
        self->op->clock_ms = s_clock;
        self->op->clock_ctx = self;
        self->metrics = rill_metrics_new(plan);
        if (!self->metrics || rill_operator_open_user(self->op, 0, self->metrics)) {
            snprintf(why, sizeof why, "%s", self->op->error);
            failed = true;
        }
    }
    if (failed) {
        if (error && error_size)
            snprintf(error, error_size, "%s", why);
        rill_harness_destroy(&self);
    }
    return self;
}

void rill_harness_destroy(rill_harness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_harness_t *self = *self_p;
    rill_operator_destroy(&self->op);
    rill_metrics_destroy(&self->metrics);
    rill_plan_destroy(&self->plan);
    rill_harness_clear(self);
    for (int tag = 0; tag <= RILL_OUTPUT_MAX_SIDE; tag++)
        free(self->outputs[tag].records);
    free(self);
    *self_p = NULL;
}

int rill_harness_restore(rill_harness_t *self, const rill_buffer_t *const *snapshots, int count)
{
    if (self->started || count < 1 || !self->op->vtable->restore) {
        snprintf(self->error, sizeof self->error, "restore: %s",
                 self->started ? "only before the first record, watermark or tick"
                 : count < 1   ? "no checkpoints given"
                               : "this operator keeps no state");
        return -1;
    }
    rill_state_part_t *parts = calloc((size_t)count, sizeof(rill_state_part_t));
    if (!parts)
        return -1;
    for (int i = 0; i < count; i++)
        parts[i] = (rill_state_part_t){rill_buffer_data(snapshots[i]),
                                       rill_buffer_size(snapshots[i])};
    rill_state_reader_t *reader = rill_state_reader_new(parts, count, count, self->out.subtask,
                                                        self->out.parallelism);
    int rc = reader ? self->op->vtable->restore(self->op, reader) : -1;
    rill_state_reader_destroy(&reader);
    free(parts);
    return rc ? s_failed(self, "restore") : 0;
}

int rill_harness_record(rill_harness_t *self, int input, const void *data, size_t size,
                        int64_t timestamp)
{
    if (input < 0 || input >= self->op->op->input_count || (!data && size) ||
        !self->op->vtable->on_record) {
        snprintf(self->error, sizeof self->error, "record: operator '%s' has no input %d",
                 self->op->op->name, input);
        return -1;
    }
    self->started = true;
    rill_record_t record = {data, size, timestamp};
    return self->op->vtable->on_record(self->op, &record, input, &self->out)
               ? s_failed(self, "record")
               : 0;
}

int rill_harness_watermark(rill_harness_t *self, int64_t watermark)
{
    self->started = true;
    if (!self->op->vtable->on_watermark)
        return 0;
    return self->op->vtable->on_watermark(self->op, watermark, &self->out)
               ? s_failed(self, "watermark")
               : 0;
}

int rill_harness_processing_time(rill_harness_t *self, int64_t now_ms)
{
    self->started = true;
    if (now_ms > self->now)
        self->now = now_ms;
    //  As the subtask does: a tick whenever the operator's next one is due.
    const rill_operator_vtable_t *vtable = self->op->vtable;
    for (int guard = 0; vtable->on_tick && vtable->next_tick &&
                        vtable->next_tick(self->op) <= self->now && guard < 1000000;
         guard++)
        if (vtable->on_tick(self->op, self->now, &self->out))
            return s_failed(self, "processing time");
    return 0;
}

int rill_harness_end(rill_harness_t *self)
{
    self->started = true;
    if (self->op->vtable->on_watermark &&
        self->op->vtable->on_watermark(self->op, INT64_MAX, &self->out))
        return s_failed(self, "end");
    if (self->op->vtable->on_end && self->op->vtable->on_end(self->op, &self->out))
        return s_failed(self, "end");
    return 0;
}

int rill_harness_snapshot(rill_harness_t *self, rill_buffer_t *out)
{
    if (!self->op->vtable->snapshot)
        return 0; //  no state: an empty checkpoint
    return self->op->vtable->snapshot(self->op, 1, out) ? s_failed(self, "snapshot") : 0;
}

long rill_harness_state_entries(const rill_harness_t *self)
{
    if (!self->op->vtable->state_entries)
        return -1;
    return (long)self->op->vtable->state_entries(self->op);
}

size_t rill_harness_output_count(const rill_harness_t *self, int tag)
{
    return tag >= 0 && tag <= RILL_OUTPUT_MAX_SIDE ? self->outputs[tag].count : 0;
}

rill_record_t rill_harness_output(const rill_harness_t *self, int tag, size_t index)
{
    if (tag < 0 || tag > RILL_OUTPUT_MAX_SIDE || index >= self->outputs[tag].count)
        return (rill_record_t){NULL, 0, RILL_NO_TIMESTAMP};
    return self->outputs[tag].records[index];
}

int64_t rill_harness_output_watermark(const rill_harness_t *self)
{
    return self->watermark;
}

void rill_harness_clear(rill_harness_t *self)
{
    for (int tag = 0; tag <= RILL_OUTPUT_MAX_SIDE; tag++) {
        s_list_t *list = &self->outputs[tag];
        for (size_t i = 0; i < list->count; i++)
            free((void *)list->records[i].data);
        list->count = 0;
    }
}

int rill_harness_metric(const rill_harness_t *self, const char *name, int64_t *value)
{
    rill_user_metric_t metrics[RILL_USER_METRICS];
    int subtask = self->op->op->first_subtask + self->out.subtask;
    int count = rill_metrics_user(self->metrics, subtask, metrics, RILL_USER_METRICS);
    for (int i = 0; i < count; i++)
        if (strcmp(metrics[i].name, name) == 0) {
            *value = metrics[i].value;
            return 0;
        }
    return -1;
}

const char *rill_harness_error(const rill_harness_t *self)
{
    return self->error;
}
