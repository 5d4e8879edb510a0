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

//  Lines are read in blocks and emitted straight from the block: no copy per line.
#define S_BLOCK (256 * 1024)

typedef struct {
    FILE *file;
    long long position; //  offset of the next line's first byte
    long long end;      //  lines starting at or after this belong to the next subtask
    char *block;        //  [start, filled) holds bytes not yet emitted
    size_t start;
    size_t filled;
    size_t capacity;
    bool eof;
} s_text_file_t;

//  Moves the unread tail to the front and reads more after it (growing the block for a line
//  longer than it). 0, or -1 on a read error.
static int s_refill(rill_operator_t *self, s_text_file_t *state)
{
    size_t tail = state->filled - state->start;
    memmove(state->block, state->block + state->start, tail);
    state->start = 0;
    state->filled = tail;
    if (state->filled == state->capacity) {
        char *grown = realloc(state->block, state->capacity * 2);
        if (!grown) {
            snprintf(self->error, sizeof self->error, "out of memory for a long line");
            return -1;
        }
        state->block = grown;
        state->capacity *= 2;
    }
    size_t got = fread(state->block + state->filled, 1, state->capacity - state->filled,
                       state->file);
    state->filled += got;
    if (got == 0) {
        if (ferror(state->file)) {
            snprintf(self->error, sizeof self->error, "cannot read '%s': %s", self->spec->path,
                     strerror(errno));
            return -1;
        }
        state->eof = true;
    }
    return 0;
}

static int s_text_file_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_text_file_t *state = self->state;
    for (int emitted = 0; emitted < RILL_SOURCE_CHUNK; emitted++) {
        if (state->position >= state->end)
            return RILL_SOURCE_END;
        char *line = state->block + state->start;
        size_t available = state->filled - state->start;
        char *newline = memchr(line, '\n', available);
        if (!newline && !state->eof) {
            if (s_refill(self, state))
                return -1;
            emitted--;
            continue;
        }
        if (!newline && available == 0)
            return RILL_SOURCE_END; //  the file ended on a line end
        size_t length = newline ? (size_t)(newline - line) + 1 : available;
        state->start += length;
        state->position += (long long)length;
        size_t size = length;
        if (size && line[size - 1] == '\n')
            size--;
        if (size && line[size - 1] == '\r')
            size--;
        if (rill_collector_emit(out, line, size, RILL_NO_TIMESTAMP))
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
    free(state->block);
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
    state->capacity = S_BLOCK;
    if (!(state->block = malloc(state->capacity)))
        return -1;
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
