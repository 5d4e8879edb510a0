/*  rill_op_sources.c: the three source kinds. A text file is split into one byte range per
    subtask, each range owning the lines that start inside it; input that cannot be split (a
    pipe, a FIFO, /dev/stdin, a device) is read whole by subtask 0 while the others get an empty
    range. A generator hands out sequence numbers round robin over its subtasks; a user source
    is called until it says END. Each produce() emits at most a chunk, so the subtask can look
    at its pipe in between. */
#include "rill_array.h"
#include "rill_env.h"
#include "rill_operator.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    size_t max_line; //  the longest line accepted, without its line end
    bool eof;
    bool stream; //  not a regular file: read with read(2), which returns what has arrived
} s_text_file_t;

static int s_line_too_long(rill_operator_t *self, s_text_file_t *state)
{
    snprintf(self->error, sizeof self->error,
             "a line of '%.100s' is longer than the maximum record size of %zu bytes (set by "
             "rill_env_set_max_record_size or a job's --max-record-size)",
             self->spec->path, state->max_line);
    return -1;
}

//  How long a read from a pipe waits for data before produce() returns (ms): the subtask then
//  answers its actor pipe (cancel, $TERM) and flushes what it holds when the buffer timeout
//  is due, even while the writer at the other end is silent.
#define S_PIPE_WAIT_MS 50
#define S_NOTHING_YET (-2)

//  Reads into the free end of the block: fread for a file, read(2) for a pipe or device, so a
//  slow writer's lines go on as they come instead of waiting for a whole block. Bytes read;
//  0 at the end; -1 on an error (errno says which); S_NOTHING_YET when a pipe had no data.
static long s_read(s_text_file_t *state)
{
    size_t room = state->capacity - state->filled;
    if (!state->stream) {
        size_t got = fread(state->block + state->filled, 1, room, state->file);
        return got == 0 && ferror(state->file) ? -1 : (long)got;
    }
    int fd = fileno(state->file);
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    int polled = poll(&ready, 1, S_PIPE_WAIT_MS);
    if (polled == 0 || (polled < 0 && errno == EINTR))
        return S_NOTHING_YET;
    ssize_t got = read(fd, state->block + state->filled, room);
    if (got >= 0)
        return (long)got;
    return errno == EINTR || errno == EAGAIN ? S_NOTHING_YET : -1;
}

//  Moves the unread tail to the front and reads more after it (growing the block for a line
//  longer than it, up to the maximum record size). 0; 1 when a pipe had nothing yet; -1 on a
//  read error or a line too long.
static int s_refill(rill_operator_t *self, s_text_file_t *state)
{
    size_t tail = state->filled - state->start;
    //  The tail holds no line end: one more byte than the limit plus a '\r' is too long.
    if (tail > state->max_line + 1)
        return s_line_too_long(self, state);
    memmove(state->block, state->block + state->start, tail);
    state->start = 0;
    state->filled = tail;
    if (state->filled == state->capacity &&
        rill_array_grow((void **)&state->block, &state->capacity, state->capacity + 1, 1)) {
        snprintf(self->error, sizeof self->error, "out of memory for a long line");
        return -1;
    }
    long got = s_read(state);
    if (got == S_NOTHING_YET)
        return 1;
    if (got < 0) {
        snprintf(self->error, sizeof self->error, "cannot read '%s': %s", self->spec->path,
                 strerror(errno));
        return -1;
    }
    state->filled += (size_t)got;
    state->eof = got == 0;
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
            int refilled = s_refill(self, state);
            if (refilled < 0)
                return -1;
            if (refilled > 0)
                return RILL_SOURCE_MORE;
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
        if (size > state->max_line)
            return s_line_too_long(self, state);
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
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self && self->spec->kind == RILL_OP_SOURCE_FILE);
    s_text_file_t *state = calloc(1, sizeof(s_text_file_t));
    if (!state)
        return -1;
    self->vtable = &s_text_file_vtable;
    self->state = state;
    state->max_line =
        self->spec->max_record_size ? self->spec->max_record_size : RILL_DEFAULT_MAX_RECORD_SIZE;
    state->capacity = S_BLOCK;
    if (!(state->block = malloc(state->capacity)))
        return -1;
    const char *path = self->spec->path;
    struct stat info;
    //  Input that cannot be split has one reader: the other subtasks must not even open it
    //  (opening a FIFO waits for a writer; a second reader of a pipe would take lines away).
    if (stat(path, &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode) &&
        self->index > 0) {
        state->eof = true;
        return 0; //  an empty range: position 0, end 0
    }
    state->file = fopen(path, "rb");
    if (!state->file || fstat(fileno(state->file), &info)) {
        snprintf(self->error, sizeof self->error, "cannot open input '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    if (S_ISDIR(info.st_mode)) {
        snprintf(self->error, sizeof self->error, "input '%s' is a directory", path);
        return -1;
    }
    if (!S_ISREG(info.st_mode)) {
        //  A pipe's or device's size says nothing about its content: subtask 0 reads it all.
        state->stream = true;
        state->end = self->index == 0 ? LLONG_MAX : 0;
        return 0;
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
            snprintf(self->error, sizeof self->error, "generator function failed at index %llu",
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
    assert(self && self->spec->kind == RILL_OP_SOURCE_GENERATOR);
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
    assert(self && self->spec->kind == RILL_OP_SOURCE_USER);
    self->vtable = &s_user_source_vtable;
    return 0;
}
