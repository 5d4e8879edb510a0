/*  rill_op_sources.c: the three source kinds. A text file is split into one byte range per
    subtask, each range owning the lines that start inside it; input that cannot be split (a
    pipe, a FIFO, /dev/stdin, a device) is read whole by subtask 0 while the others get an empty
    range. A generator hands out sequence numbers round robin over its subtasks; a user source
    is called until it says END. Each produce() emits at most a chunk, so the subtask can look
    at its pipe in between.
    Checkpoints (Flink's source splits): a file range and a generator's sequence are splits,
    saved as RILL_STATE_SPLIT entries numbered by the subtask that first owned them, so a
    restore at another parallelism deals them out again (split s to subtask s % p); a subtask
    dealt none ends at once. A user source saves what its own callbacks give, per subtask. */
#include "rill_array.h"
#include "rill_env.h"
#include "rill_number.h"
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

//  The tags of the sources' state entries (rill_snapshot.h).
enum {
    S_TAG_RANGE = 1,    //  a file range: b = varints position, end, the file's size
    S_TAG_SEQUENCE = 2, //  a generator's sequence: b = varints next, step
    S_TAG_USER = 3,     //  a user source's state: b = what its snapshot callback wrote
};

//  A byte range of the file still to read: the lines starting in [position, end).
typedef struct {
    uint32_t group; //  the split's number: the subtask that first owned it
    long long position;
    long long end;
} s_range_t;

typedef struct {
    FILE *file;
    long long position; //  offset of the next line's first byte
    long long end;      //  lines starting at or after this belong to the next subtask
    uint32_t group;     //  the range being read (its split number)
    long long size;     //  the file's size when opened: what a checkpoint's ranges refer to
    s_range_t *ranges;  //  restored ranges, in group order, read one after another
    size_t range_count;
    size_t range_capacity;
    size_t next_range; //  the first of ranges not yet started
    char *block;       //  [start, filled) holds bytes not yet emitted
    size_t start;
    size_t filled;
    size_t capacity;
    size_t max_line; //  the longest line accepted, without its line end
    bool eof;
    bool stream; //  not a regular file: read with read(2), which returns what has arrived
} s_text_file_t;

//  Whether the current range has nothing left: its next line starts at or after its end, or
//  the file has no more bytes (the last range's end lies one past the file's size).
static bool s_range_done(const s_text_file_t *state)
{
    return state->position >= state->end || (state->eof && state->start == state->filled);
}

//  Moves to the next restored range: seeks to its position with an empty block. 1 when there
//  is one, 0 when none is left (the source ends), -1 when the seek fails.
static int s_next_range(rill_operator_t *self, s_text_file_t *state)
{
    if (state->next_range >= state->range_count)
        return 0;
    const s_range_t *range = &state->ranges[state->next_range++];
    if (fseeko(state->file, range->position, SEEK_SET)) {
        snprintf(self->error, sizeof self->error, "cannot seek in '%.100s': %s", self->spec->path,
                 strerror(errno));
        return -1;
    }
    clearerr(state->file);
    state->group = range->group;
    state->position = range->position;
    state->end = range->end;
    state->start = state->filled = 0;
    state->eof = false;
    return 1;
}

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
    int emitted = 0;
    while (emitted < RILL_SOURCE_CHUNK) {
        if (s_range_done(state)) {
            int next = s_next_range(self, state);
            if (next <= 0)
                return next < 0 ? -1 : RILL_SOURCE_END;
            continue;
        }
        char *line = state->block + state->start;
        size_t available = state->filled - state->start;
        char *newline = memchr(line, '\n', available);
        if (!newline && !state->eof) {
            int refilled = s_refill(self, state);
            if (refilled < 0)
                return -1;
            if (refilled > 0)
                return RILL_SOURCE_MORE;
            continue;
        }
        size_t length = newline ? (size_t)(newline - line) + 1 : available;
        state->start += length;
        state->position += (long long)length;
        size_t size = rill_line_size(line, length);
        if (size > state->max_line)
            return s_line_too_long(self, state);
        if (rill_collector_emit(out, line, size, RILL_NO_TIMESTAMP))
            return -1;
        emitted++;
    }
    return RILL_SOURCE_MORE;
}

//  Input that is not a regular file has no positions to go back to (Flink's unsplittable
//  formats cannot restore from an offset either): a checkpoint that includes it is refused.
static int s_cannot_rewind(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error,
             "file source '%.40s' reads '%.60s', not a regular file (a pipe, FIFO or device): it "
             "cannot rewind, so it cannot be checkpointed or restored",
             self->op->name, self->spec->path);
    return -1;
}

static int s_put_range(rill_buffer_t *out, const s_text_file_t *state, const s_range_t *range)
{
    uint8_t value[3 * 10];
    size_t size = rill_varint_put(value, (uint64_t)range->position);
    size += rill_varint_put(value + size, (uint64_t)range->end);
    size += rill_varint_put(value + size, (uint64_t)state->size);
    return rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_RANGE, range->group, NULL, 0, value,
                             size);
}

//  One entry per range with lines left: the one being read, from the next line to emit, and
//  the restored ones not started yet. A finished range leaves none, so nothing is read twice.
static int s_text_file_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_text_file_t *state = self->state;
    if (state->stream)
        return s_cannot_rewind(self);
    if (!s_range_done(state) && state->position < state->size) {
        s_range_t current = {state->group, state->position, state->end};
        if (s_put_range(out, state, &current))
            goto out_of_memory;
    }
    for (size_t i = state->next_range; i < state->range_count; i++)
        if (s_put_range(out, state, &state->ranges[i]))
            goto out_of_memory;
    return 0;
out_of_memory:
    snprintf(self->error, sizeof self->error, "out of memory saving the file source's position");
    return -1;
}

static int s_compare_ranges(const void *a, const void *b)
{
    const s_range_t *x = a, *y = b;
    return (x->group > y->group) - (x->group < y->group);
}

//  Reads the ranges dealt to this subtask, checks they belong to this file, and starts on the
//  first (in group order). None: the source has nothing to read and ends at once.
static int s_text_file_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_text_file_t *state = self->state;
    if (state->stream)
        return s_cannot_rewind(self);
    state->range_count = state->next_range = 0;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t position, range_end, size;
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_RANGE ||
            rill_varint_get(&at, end, &position) || rill_varint_get(&at, end, &range_end) ||
            rill_varint_get(&at, end, &size) || at != end || size > LLONG_MAX || position > size ||
            range_end > size + 1) {
            rc = -1;
            break;
        }
        if ((long long)size != state->size) {
            snprintf(self->error, sizeof self->error,
                     "cannot restore: '%.100s' has %lld bytes, the file the checkpoint read had "
                     "%llu: it is not the same input",
                     self->spec->path, state->size, (unsigned long long)size);
            return -1;
        }
        if (rill_array_grow((void **)&state->ranges, &state->range_capacity, state->range_count + 1,
                            sizeof(s_range_t))) {
            snprintf(self->error, sizeof self->error, "out of memory restoring file ranges");
            return -1;
        }
        state->ranges[state->range_count++] =
            (s_range_t){entry.group, (long long)position, (long long)range_end};
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of file source '%.60s' is malformed",
                 self->op->name);
        return -1;
    }
    if (state->range_count)
        qsort(state->ranges, state->range_count, sizeof(s_range_t), s_compare_ranges);
    //  Until the first range starts, the current one is empty and finished.
    state->position = state->end = 0;
    state->start = state->filled = 0;
    return s_next_range(self, state) < 0 ? -1 : 0;
}

static void s_text_file_close(rill_operator_t *self)
{
    s_text_file_t *state = self->state;
    if (!state)
        return;
    if (state->file)
        fclose(state->file);
    free(state->block);
    free(state->ranges);
    free(state);
}

static const rill_operator_vtable_t s_text_file_vtable = {
    .produce = s_text_file_produce,
    .close = s_text_file_close,
    .snapshot = s_text_file_snapshot,
    .restore = s_text_file_restore,
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
        state->stream = true;
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
    state->size = size;
    state->group = (uint32_t)self->index;
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

//  One arithmetic sequence of indices, next, next + step, ...: a generator subtask's share.
typedef struct {
    uint32_t group; //  the split's number: the subtask that first owned the sequence
    uint64_t next;  //  the first index not emitted yet
    uint64_t step;
} s_sequence_t;

//  A generator's record i depends on i alone (rill_generate_fn), so a sequence is a split: any
//  subtask can go on with it. Fresh, a subtask owns one; restored, those dealt to it, served a
//  chunk each in turn (an unbounded one must not starve the others).
typedef struct {
    s_sequence_t *sequences;
    size_t count;
    size_t capacity;
    size_t current; //  the sequence the next chunk comes from
} s_generator_t;

static int s_generator_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_generator_t *state = self->state;
    uint64_t count = self->spec->count;
    while (state->count) {
        s_sequence_t *sequence = &state->sequences[state->current];
        if (sequence->next >= count) {
            //  Finished: drop it, keeping the others in order.
            memmove(sequence, sequence + 1,
                    (state->count - state->current - 1) * sizeof(s_sequence_t));
            state->count--;
            if (state->current >= state->count)
                state->current = 0;
            continue;
        }
        for (int emitted = 0; emitted < RILL_SOURCE_CHUNK && sequence->next < count; emitted++) {
            bool timed = rill_busy_split_user_begin(self->busy_split);
            int rc = self->spec->fn.generate(sequence->next, out, self->ctx);
            rill_busy_split_user_end(self->busy_split, timed);
            if (rc) {
                snprintf(self->error, sizeof self->error, "generator function failed at index %llu",
                         (unsigned long long)sequence->next);
                return -1;
            }
            //  Unbounded generators count past UINT64_MAX only in theory.
            sequence->next += sequence->step;
        }
        state->current = (state->current + 1) % state->count;
        return RILL_SOURCE_MORE;
    }
    return RILL_SOURCE_END;
}

//  One SPLIT entry per sequence with indices left.
static int s_generator_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_generator_t *state = self->state;
    for (size_t i = 0; i < state->count; i++) {
        const s_sequence_t *sequence = &state->sequences[i];
        if (sequence->next >= self->spec->count)
            continue;
        uint8_t value[2 * 10];
        size_t size = rill_varint_put(value, sequence->next);
        size += rill_varint_put(value + size, sequence->step);
        if (rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_SEQUENCE, sequence->group, NULL, 0,
                              value, size)) {
            snprintf(self->error, sizeof self->error,
                     "out of memory saving the generator's position");
            return -1;
        }
    }
    return 0;
}

static int s_compare_sequences(const void *a, const void *b)
{
    const s_sequence_t *x = a, *y = b;
    return (x->group > y->group) - (x->group < y->group);
}

//  Takes the sequences dealt to this subtask (in group order); none: it ends at once.
static int s_generator_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_generator_t *state = self->state;
    state->count = state->current = 0;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t next, step;
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_SEQUENCE ||
            rill_varint_get(&at, end, &next) || rill_varint_get(&at, end, &step) || at != end ||
            step == 0) {
            rc = -1;
            break;
        }
        if (rill_array_grow((void **)&state->sequences, &state->capacity, state->count + 1,
                            sizeof(s_sequence_t))) {
            snprintf(self->error, sizeof self->error, "out of memory restoring the generator");
            return -1;
        }
        state->sequences[state->count++] = (s_sequence_t){entry.group, next, step};
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of generator '%.60s' is malformed",
                 self->op->name);
        return -1;
    }
    if (state->count)
        qsort(state->sequences, state->count, sizeof(s_sequence_t), s_compare_sequences);
    return 0;
}

static void s_generator_close(rill_operator_t *self)
{
    s_generator_t *state = self->state;
    if (state)
        free(state->sequences);
    free(state);
}

static const rill_operator_vtable_t s_generator_vtable = {
    .produce = s_generator_produce,
    .close = s_generator_close,
    .snapshot = s_generator_snapshot,
    .restore = s_generator_restore,
};

int rill_op_generator_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SOURCE_GENERATOR);
    s_generator_t *state = calloc(1, sizeof(s_generator_t));
    if (!state)
        return -1;
    self->vtable = &s_generator_vtable;
    self->state = state;
    if (rill_array_grow((void **)&state->sequences, &state->capacity, 1, sizeof(s_sequence_t)))
        return -1;
    state->sequences[0] = (s_sequence_t){(uint32_t)self->index, (uint64_t)self->index,
                                         (uint64_t)self->op->parallelism};
    state->count = 1;
    return 0;
}

static int s_user_source_produce(rill_operator_t *self, rill_collector_t *out)
{
    bool timed = rill_busy_split_user_begin(self->busy_split);
    int rc = self->spec->fn.source(out, self->ctx);
    rill_busy_split_user_end(self->busy_split, timed);
    if (rc < 0)
        snprintf(self->error, sizeof self->error, "source function failed");
    return rc < 0 ? -1 : rc;
}

//  A user source rewinds only through its own callbacks; without them, a checkpoint that
//  includes it would later replay from its start or lose records, so it is refused.
static int s_user_source_cannot_rewind(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error,
             "user source '%.60s' has no snapshot and restore callbacks "
             "(rill_stream_source_checkpoints): it cannot rewind, so it cannot be checkpointed "
             "or restored",
             self->op->name);
    return -1;
}

//  The callback's bytes, as the subtask's own (OPERATOR) entry: the user's state is opaque, so
//  it cannot be dealt out again at another parallelism.
static int s_user_source_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    const rill_operator_spec_t *spec = self->spec;
    if (!spec->source_snapshot)
        return s_user_source_cannot_rewind(self);
    rill_buffer_reset(self->scratch);
    if (spec->source_snapshot(self->index, self->scratch, self->ctx)) {
        snprintf(self->error, sizeof self->error,
                 "the snapshot callback of user source '%.60s' failed", self->op->name);
        return -1;
    }
    if (rill_snapshot_put(out, RILL_STATE_OPERATOR, S_TAG_USER, (uint32_t)self->index, NULL, 0,
                          rill_buffer_data(self->scratch), rill_buffer_size(self->scratch))) {
        snprintf(self->error, sizeof self->error, "out of memory saving a user source's state");
        return -1;
    }
    return 0;
}

static int s_user_source_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    const rill_operator_spec_t *spec = self->spec;
    if (!spec->source_restore)
        return s_user_source_cannot_rewind(self);
    rill_state_entry_t entry;
    int found = 0, rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        if (entry.scope != RILL_STATE_OPERATOR || entry.tag != S_TAG_USER || found++) {
            rc = -1;
            break;
        }
        //  The entry is valid only until the next read: keep its bytes.
        if (rill_buffer_set(self->scratch, entry.b, entry.b_size)) {
            snprintf(self->error, sizeof self->error, "out of memory restoring a user source");
            return -1;
        }
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of user source '%.60s' is malformed",
                 self->op->name);
        return -1;
    }
    if (!found) {
        //  The reader hands OPERATOR state only to the same subtask at the same parallelism.
        snprintf(self->error, sizeof self->error,
                 "cannot restore user source '%.60s': the checkpoint holds no state for subtask "
                 "%d (a user source's state stays with its subtask: restore at the parallelism "
                 "it was saved at)",
                 self->op->name, self->index);
        return -1;
    }
    if (spec->source_restore(self->index, rill_buffer_data(self->scratch),
                             rill_buffer_size(self->scratch), self->ctx)) {
        snprintf(self->error, sizeof self->error,
                 "the restore callback of user source '%.60s' failed", self->op->name);
        return -1;
    }
    return 0;
}

static const rill_operator_vtable_t s_user_source_vtable = {
    .produce = s_user_source_produce,
    .snapshot = s_user_source_snapshot,
    .restore = s_user_source_restore,
};

int rill_op_user_source_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SOURCE_USER);
    self->vtable = &s_user_source_vtable;
    return 0;
}
