/*  rill_trace.c: hop lines. Each subtask appends its hops to a buffer of its own (one
    writer, no lock) and hands 64 KiB at a time to the file under the mutex; the rest is
    written when the trace is destroyed, after every subtask has stopped. A lock per hop made
    two subtasks sleep on each other and cost more than all the rest of tracing. */
#include "rill_trace.h"
#include "rill_array.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_FLUSH_BYTES (64 * 1024)

typedef struct {
    char *text;
    size_t size;
    size_t capacity;
} s_hops_t;

struct rill_trace_t {
    FILE *out;
    uint64_t sample;
    const rill_plan_t *plan;
    pthread_mutex_t mutex;
    s_hops_t *hops; //  by subtask id
    uint64_t unsplit; //  atomic: hops with no sender line although they crossed a channel
};

//  Appends to a subtask's buffer; writes the buffer out under the mutex once it is large.
static void s_hand_over(rill_trace_t *self, s_hops_t *hops)
{
    pthread_mutex_lock(&self->mutex);
    fwrite(hops->text, 1, hops->size, self->out);
    pthread_mutex_unlock(&self->mutex);
    hops->size = 0;
}

rill_trace_t *rill_trace_new(FILE *out, uint64_t sample, const rill_plan_t *plan)
{
    rill_trace_t *self = calloc(1, sizeof(rill_trace_t));
    if (!self)
        return NULL;
    self->out = out;
    self->sample = sample ? sample : 1;
    self->plan = plan;
    pthread_mutex_init(&self->mutex, NULL);
    self->hops = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(s_hops_t));
    if (!self->hops) {
        pthread_mutex_destroy(&self->mutex);
        free(self);
        return NULL;
    }
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
    rill_trace_t *self = *self_p;
    for (int i = 0; i < rill_plan_subtask_count(self->plan); i++) {
        if (self->hops[i].size)
            s_hand_over(self, &self->hops[i]);
        free(self->hops[i].text);
    }
    free(self->hops);
    //  Last, after every hop: a reader knows how many hops over a channel lack their split.
    fprintf(self->out, "{\"rill_trace_unsplit\":%llu}\n",
            (unsigned long long)__atomic_load_n(&self->unsplit, __ATOMIC_RELAXED));
    fflush(self->out);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

uint64_t rill_trace_sample(const rill_trace_t *self)
{
    return self->sample;
}

//  A line is built by hand in a local buffer and written with one fwrite: printf would cost
//  more than the whole rest of tracing (a budget of 5% at one record in 1000).
typedef struct {
    char text[512];
    size_t size;
} s_line_t;

static void s_text(s_line_t *line, const char *text)
{
    for (; *text && line->size < sizeof line->text - 1; text++)
        line->text[line->size++] = *text;
}

static void s_number(s_line_t *line, long long value)
{
    char digits[24], *at = digits + sizeof digits;
    unsigned long long magnitude = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    *--at = 0;
    do {
        *--at = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        *--at = '-';
    s_text(line, at);
}

static void s_keep(rill_trace_t *self, int subtask, const s_line_t *line);

void rill_trace_hop(rill_trace_t *self, uint64_t trace, int subtask, int from_subtask, int edge,
                    uint64_t time_in, uint64_t time_out)
{
    assert(self && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, subtask);
    const rill_plan_operator_t *op = rill_plan_operator(self->plan, s->op);
    s_line_t line = {.size = 0};
    s_text(&line, "{\"trace\":");
    s_number(&line, (long long)trace);
    s_text(&line, ",\"subtask\":");
    s_number(&line, subtask);
    s_text(&line, ",\"operator\":\"");
    //  Operator names are the user's: escape what a JSON string cannot hold as it is.
    for (const char *c = op->name; *c && line.size < 400; c++) {
        if (*c == '"' || *c == '\\')
            line.text[line.size++] = '\\';
        if ((unsigned char)*c >= 0x20)
            line.text[line.size++] = *c;
    }
    s_text(&line, "\",\"op\":");
    s_number(&line, op->id);
    s_text(&line, ",\"index\":");
    s_number(&line, s->index);
    s_text(&line, ",\"from\":");
    if (from_subtask >= 0)
        s_number(&line, from_subtask);
    else
        s_text(&line, "null");
    s_text(&line, ",\"edge\":");
    if (from_subtask >= 0)
        s_number(&line, edge);
    else
        s_text(&line, "null");
    s_text(&line, ",\"time_in\":");
    s_number(&line, (long long)time_in);
    s_text(&line, ",\"time_out\":");
    s_number(&line, (long long)time_out);
    s_text(&line, "}\n");
    s_keep(self, subtask, &line);
}

static void s_keep(rill_trace_t *self, int subtask, const s_line_t *line)
{
    s_hops_t *hops = &self->hops[subtask];
    //  The first allocation holds a whole flush's worth, so a subtask's hops rarely grow it.
    size_t needed = hops->size + line->size;
    if (needed > hops->capacity &&
        rill_array_grow((void **)&hops->text, &hops->capacity,
                        hops->capacity ? needed : S_FLUSH_BYTES + sizeof line->text, 1))
        return; //  out of memory: this hop is lost, the run goes on
    memcpy(hops->text + hops->size, line->text, line->size);
    hops->size += line->size;
    if (hops->size >= S_FLUSH_BYTES)
        s_hand_over(self, hops);
}

void rill_trace_sent(rill_trace_t *self, uint64_t trace, int subtask, int to, int channel,
                     uint64_t batched, uint64_t sent)
{
    assert(self && subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    s_line_t line = {.size = 0};
    s_text(&line, "{\"trace\":");
    s_number(&line, (long long)trace);
    s_text(&line, ",\"subtask\":");
    s_number(&line, subtask);
    s_text(&line, ",\"to\":");
    s_number(&line, to);
    s_text(&line, ",\"channel\":");
    s_number(&line, channel);
    s_text(&line, ",\"batched\":");
    s_number(&line, (long long)batched);
    s_text(&line, ",\"sent\":");
    s_number(&line, (long long)sent);
    s_text(&line, "}\n");
    s_keep(self, subtask, &line);
}

void rill_trace_unsplit(rill_trace_t *self, uint64_t hops)
{
    __atomic_add_fetch(&self->unsplit, hops, __ATOMIC_RELAXED);
}
