/*  rill_op_sinks.c: the three sinks. print writes one record per line (a file per subtask
    when parallel); collect gathers a private run and hands it to the rill_results_t at the end;
    discard only counts (the subtask's records_in). */
#include "rill_results.h"
#include "rill_results_private.h"
#include "rill_operator.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *file;
    bool owned;
    rill_buffer_t *run; //  collect: this subtask's records; print: lines not yet written
} s_sink_t;

//  Print sinks write whole lines in large chunks: one fwrite per chunk keeps lines of
//  parallel subtasks sharing stdout from interleaving, and costs no lock per record.
#define S_PRINT_CHUNK (64 * 1024)

static int s_print_write(rill_operator_t *self, s_sink_t *state)
{
    size_t size = rill_buffer_size(state->run);
    if (size && fwrite(rill_buffer_data(state->run), 1, size, state->file) != size) {
        snprintf(self->error, sizeof self->error, "cannot write output: %s", strerror(errno));
        return -1;
    }
    rill_buffer_reset(state->run);
    return 0;
}

static int s_print(rill_operator_t *self, const rill_record_t *record, int input,
                   rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (rill_buffer_append(state->run, record->data, record->size) ||
        rill_buffer_append(state->run, "\n", 1)) {
        snprintf(self->error, sizeof self->error, "out of memory");
        return -1;
    }
    return rill_buffer_size(state->run) >= S_PRINT_CHUNK ? s_print_write(self, state) : 0;
}

static int s_print_end(rill_operator_t *self, rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (s_print_write(self, state) || fflush(state->file)) {
        snprintf(self->error, sizeof self->error, "cannot write output: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int s_collect(rill_operator_t *self, const rill_record_t *record, int input,
                     rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (rill_results_run_add(state->run, record)) {
        snprintf(self->error, sizeof self->error, "out of memory collecting results");
        return -1;
    }
    return 0;
}

static int s_collect_end(rill_operator_t *self, rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (rill_results_append_run(self->spec->collect, self->index, state->run)) {
        snprintf(self->error, sizeof self->error, "out of memory collecting results");
        return -1;
    }
    return 0;
}

static int s_discard(rill_operator_t *self, const rill_record_t *record, int input,
                     rill_collector_t *out)
{
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_sink_t *state = self->state;
    if (!state)
        return;
    if (state->owned && state->file)
        fclose(state->file);
    else if (state->file)
        fflush(state->file);
    rill_buffer_destroy(&state->run);
    free(state);
}

static const rill_operator_vtable_t s_print_vtable = {
    .on_record = s_print, .on_end = s_print_end, .close = s_close};
static const rill_operator_vtable_t s_collect_vtable = {
    .on_record = s_collect, .on_end = s_collect_end, .close = s_close};
static const rill_operator_vtable_t s_discard_vtable = {.on_record = s_discard, .close = s_close};

int rill_op_sink_open(rill_operator_t *self)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self &&
           (self->spec->kind == RILL_OP_SINK_PRINT || self->spec->kind == RILL_OP_SINK_COLLECT ||
            self->spec->kind == RILL_OP_SINK_DISCARD));
    s_sink_t *state = calloc(1, sizeof(s_sink_t));
    if (!state)
        return -1;
    self->state = state;
    switch (self->spec->kind) {
    case RILL_OP_SINK_PRINT: {
        self->vtable = &s_print_vtable;
        if (!(state->run = rill_buffer_new()))
            return -1;
        const char *path = self->spec->path;
        if (!path || strcmp(path, "-") == 0) {
            state->file = stdout;
            return 0;
        }
        char name[4096];
        if (self->op->parallelism > 1)
            snprintf(name, sizeof name, "%s.%d", path, self->index);
        else
            snprintf(name, sizeof name, "%s", path);
        state->file = fopen(name, "w");
        state->owned = true;
        if (!state->file) {
            snprintf(self->error, sizeof self->error, "cannot open output '%.160s': %s", name,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    case RILL_OP_SINK_COLLECT:
        self->vtable = &s_collect_vtable;
        state->run = rill_buffer_new();
        return state->run ? 0 : -1;
    default:
        self->vtable = &s_discard_vtable;
        return 0;
    }
}
