/*  rill_op_sources.c: the three source kinds. A text file is split into one byte range per
    subtask, each range owning the lines that start inside it; a generator hands out sequence
    numbers round robin over its subtasks; a user source is called until it says END. Each
    produce() emits at most a chunk, so the subtask can look at its pipe in between. */
#include "rill_operator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    FILE *file;
    long long position; //  offset of the next line's first byte
    long long end;      //  lines starting at or after this belong to the next subtask
    char *line;
    size_t line_capacity;
} s_text_file_t;

static int s_text_file_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_text_file_t *state = self->state;
    for (int emitted = 0; emitted < RILL_SOURCE_CHUNK; emitted++) {
        if (state->position >= state->end)
            return RILL_SOURCE_END;
        ssize_t length = getline(&state->line, &state->line_capacity, state->file);
        if (length < 0) {
            if (ferror(state->file)) {
                snprintf(self->error, sizeof self->error, "cannot read '%s': %s",
                         self->spec->path, strerror(errno));
                return -1;
            }
            return RILL_SOURCE_END;
        }
        state->position += length;
        size_t size = (size_t)length;
        if (size && state->line[size - 1] == '\n')
            size--;
        if (size && state->line[size - 1] == '\r')
            size--;
        if (rill_collector_emit(out, state->line, size, RILL_NO_TIMESTAMP))
            return -1;
    }
    return RILL_SOURCE_MORE;
}

static void s_text_file_close(rill_operator_t *self)
{
    s_text_file_t *state = self->state;
    if (!state)
        return;
    if (state->file)
        fclose(state->file);
    free(state->line);
    free(state);
}

static const rill_operator_vtable_t s_text_file_vtable = {
    .produce = s_text_file_produce,
    .close = s_text_file_close,
};

int rill_op_text_file_open(rill_operator_t *self)
{
    s_text_file_t *state = calloc(1, sizeof(s_text_file_t));
    if (!state)
        return -1;
    self->vtable = &s_text_file_vtable;
    self->state = state;
    const char *path = self->spec->path;
    state->file = fopen(path, "rb");
    struct stat info;
    if (!state->file || fstat(fileno(state->file), &info)) {
        snprintf(self->error, sizeof self->error, "cannot open input '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    if (S_ISDIR(info.st_mode)) {
        snprintf(self->error, sizeof self->error, "input '%s' is a directory", path);
        return -1;
    }
    long long size = info.st_size;
    int parallelism = self->op->parallelism;
    long long start = size * self->index / parallelism;
    state->end = size * (self->index + 1) / parallelism;
    if (self->index == parallelism - 1)
        state->end = size + 1; //  the last range also takes a final line without a newline
    //  A range that starts mid-line leaves that line to the range it started in.
    if (start > 0) {
        if (fseeko(state->file, start - 1, SEEK_SET))
            return -1;
        int c;
        long long at = start - 1;
        while ((c = fgetc(state->file)) != EOF) {
            at++;
            if (c == '\n')
                break;
        }
        state->position = c == EOF ? size : at;
    }
    return 0;
}

typedef struct {
    uint64_t next;
    uint64_t step;
} s_generator_t;

static int s_generator_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_generator_t *state = self->state;
    uint64_t count = self->spec->count;
    for (int emitted = 0; emitted < RILL_SOURCE_CHUNK; emitted++) {
        if (state->next >= count)
            return RILL_SOURCE_END;
        if (self->spec->fn.generate(state->next, out, self->spec->ctx)) {
            snprintf(self->error, sizeof self->error,
                     "generator function failed at index %llu",
                     (unsigned long long)state->next);
            return -1;
        }
        //  Unbounded generators count past UINT64_MAX only in theory.
        state->next += state->step;
    }
    return RILL_SOURCE_MORE;
}

static void s_free_state(rill_operator_t *self)
{
    free(self->state);
}

static const rill_operator_vtable_t s_generator_vtable = {
    .produce = s_generator_produce,
    .close = s_free_state,
};

int rill_op_generator_open(rill_operator_t *self)
{
    s_generator_t *state = calloc(1, sizeof(s_generator_t));
    if (!state)
        return -1;
    state->next = (uint64_t)self->index;
    state->step = (uint64_t)self->op->parallelism;
    self->vtable = &s_generator_vtable;
    self->state = state;
    return 0;
}

static int s_user_source_produce(rill_operator_t *self, rill_collector_t *out)
{
    int rc = self->spec->fn.source(out, self->spec->ctx);
    if (rc < 0)
        snprintf(self->error, sizeof self->error, "source function failed");
    return rc < 0 ? -1 : rc;
}

static const rill_operator_vtable_t s_user_source_vtable = {
    .produce = s_user_source_produce,
};

int rill_op_user_source_open(rill_operator_t *self)
{
    self->vtable = &s_user_source_vtable;
    return 0;
}
