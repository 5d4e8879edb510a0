/*  rill_trace.c: hop lines, written under a mutex: sampled records are rare (one in
    `sample`), so the lock never sits on the common record path. */
#include "rill_trace.h"

#include <pthread.h>
#include <stdlib.h>

struct rill_trace_t {
    FILE *out;
    uint64_t sample;
    const rill_plan_t *plan;
    pthread_mutex_t mutex;
};

rill_trace_t *rill_trace_new(FILE *out, uint64_t sample, const rill_plan_t *plan)
{
    rill_trace_t *self = calloc(1, sizeof(rill_trace_t));
    if (!self)
        return NULL;
    self->out = out;
    self->sample = sample ? sample : 1;
    self->plan = plan;
    pthread_mutex_init(&self->mutex, NULL);
    //  The first line carries the plan, so `rill trace --svg` can draw paths from the file alone.
    //  One line: the plan's JSON has line breaks only between tokens, never inside strings.
    char *json = rill_plan_to_json(plan);
    for (char *c = json; c && *c; c++)
        if (*c == '\n')
            *c = ' ';
    if (json)
        fprintf(out, "{\"rill_trace\":1,\"plan\":%s}\n", json);
    free(json);
    return self;
}

void rill_trace_destroy(rill_trace_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fflush((*self_p)->out);
    pthread_mutex_destroy(&(*self_p)->mutex);
    free(*self_p);
    *self_p = NULL;
}

uint64_t rill_trace_sample(const rill_trace_t *self)
{
    return self->sample;
}

void rill_trace_hop(rill_trace_t *self, uint64_t trace, int subtask, int from_subtask, int edge,
                    uint64_t time_in, uint64_t time_out)
{
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, subtask);
    const rill_plan_operator_t *op = rill_plan_operator(self->plan, s->op);
    char from[24] = "null", via[24] = "null";
    if (from_subtask >= 0) {
        snprintf(from, sizeof from, "%d", from_subtask);
        snprintf(via, sizeof via, "%d", edge);
    }
    pthread_mutex_lock(&self->mutex);
    //  Operator names are the user's: escape the two characters JSON strings cannot hold.
    fprintf(self->out, "{\"trace\":%llu,\"subtask\":%d,\"operator\":\"", (unsigned long long)trace,
            subtask);
    for (const char *c = op->name; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', self->out);
        if ((unsigned char)*c >= 0x20)
            fputc(*c, self->out);
    }
    fprintf(self->out,
            "\",\"op\":%d,\"index\":%d,\"from\":%s,\"edge\":%s,\"time_in\":%llu,\"time_out\":%llu}\n",
            op->id, s->index, from, via, (unsigned long long)time_in,
            (unsigned long long)time_out);
    pthread_mutex_unlock(&self->mutex);
}
