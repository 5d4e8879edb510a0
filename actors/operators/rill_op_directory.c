/*  rill_op_directory.c: the directory source (Flink's FileSource, monitorContinuously when
    continuous). Each subtask lists the directory, takes the files whose name hashes to it
    (the key group of the name, owned as keyed state is: rill_key_group_receiver's ranges),
    and reads them one after another, line by line, in name order per listing. Bounded: the
    files there at the start, then END; continuous: the directory is listed again every poll
    interval for names not seen yet (sooner when inotify says a name was created or moved in),
    and the source never ends by itself.
    Which files count: a regular file whose name does not start with '.' or '_' and does not end
    in ".tmp" or ".inprogress" (the rename-into-place convention: a file is complete once it has
    its visible name), and matches the glob. Each name is read once.
    Checkpoints: one KEYED entry per known file, in its name's key group: done, queued, or being
    read with the offset of its next line. A restore at any parallelism hands each subtask the
    files its names now hash to; the file being read goes on from its offset, so each line is
    emitted once. */
#include "rill_array.h"
#include "rill_connectors_files_private.h"
#include "rill_env.h"
#include "rill_number.h"
#include "rill_operator.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

//  Lines are read in blocks and emitted straight from the block.
#define S_BLOCK (256 * 1024)
//  The longest a produce() call waits for the next listing: the subtask answers its pipe (a
//  cancel, a checkpoint) and flushes due batches in between.
#define S_WAIT_MS 50

enum {
    S_TAG_DONE = 1,    //  a = name
    S_TAG_QUEUED = 2,  //  a = name
    S_TAG_READING = 3, //  a = name, b = varint offset of the next line
};

typedef enum { S_QUEUED, S_READING, S_DONE } s_status_t;

typedef struct {
    s_status_t status;
    uint32_t group;   //  the key group of the name: which subtask owns the file
    long long offset; //  queued or reading: where the next line starts
    char name[];
} s_entry_t;

typedef struct {
    const rill_directory_config_t *config;
    s_entry_t **known; //  every file this subtask owns and has seen, sorted by name
    size_t known_count;
    size_t known_capacity;
    s_entry_t **queue; //  files to read, in order; [queue_head, queue_count) still to start
    size_t queue_head;
    size_t queue_count;
    size_t queue_capacity;
    int64_t next_listing; //  continuous: when to list the directory again (wall ms)
    int watch; //  continuous: an inotify descriptor that wakes the wait for new names, or -1
    s_entry_t *current; //  the file being read, or NULL
    FILE *file;
    char *block; //  [start, filled) holds bytes not yet emitted
    size_t start;
    size_t filled;
    size_t capacity;
    bool eof;
    size_t max_line;
} s_directory_t;

static int s_compare_entries(const void *a, const void *b)
{
    return strcmp((*(s_entry_t *const *)a)->name, (*(s_entry_t *const *)b)->name);
}

//  The entry of name among the first `sorted` known ones (which are in name order).
static s_entry_t *s_find(const s_directory_t *state, size_t sorted, const char *name)
{
    size_t lo = 0, hi = sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int order = strcmp(state->known[mid]->name, name);
        if (order == 0)
            return state->known[mid];
        if (order < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static uint32_t s_group(const char *name)
{
    return rill_key_hash_group(rill_key_hash(name, strlen(name)));
}

//  Whether this subtask owns a file: the same ranges of key groups as keyed state.
static bool s_owned(const rill_operator_t *self, uint32_t group)
{
    int parallelism = self->op->parallelism;
    return (int)((uint64_t)group * (uint64_t)parallelism / RILL_MAX_PARALLELISM) == self->index;
}

//  The naming rule (README: File connectors): hidden, underscore and in-progress names wait.
static bool s_eligible_name(const rill_directory_config_t *config, const char *name)
{
    size_t length = strlen(name);
    if (name[0] == '.' || name[0] == '_')
        return false;
    static const char *const waiting[] = {".tmp", ".inprogress"};
    for (size_t i = 0; i < sizeof waiting / sizeof waiting[0]; i++) {
        size_t suffix = strlen(waiting[i]);
        if (length >= suffix && strcmp(name + length - suffix, waiting[i]) == 0)
            return false;
    }
    return !*config->glob || fnmatch(config->glob, name, 0) == 0;
}

static int s_out_of_memory(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error, "directory source: out of memory");
    return -1;
}

//  A new entry, not yet in known or the queue. NULL when out of memory.
static s_entry_t *s_entry_new(const char *name, size_t length, s_status_t status, long long offset)
{
    s_entry_t *entry = malloc(sizeof(s_entry_t) + length + 1);
    if (!entry)
        return NULL;
    entry->status = status;
    entry->offset = offset;
    memcpy(entry->name, name, length);
    entry->name[length] = '\0';
    entry->group = s_group(entry->name);
    return entry;
}

static int s_enqueue(s_directory_t *state, s_entry_t *entry)
{
    if (rill_array_grow((void **)&state->queue, &state->queue_capacity, state->queue_count + 1,
                        sizeof(s_entry_t *)))
        return -1;
    state->queue[state->queue_count++] = entry;
    return 0;
}

static int s_know(s_directory_t *state, s_entry_t *entry)
{
    if (rill_array_grow((void **)&state->known, &state->known_capacity, state->known_count + 1,
                        sizeof(s_entry_t *)))
        return -1;
    state->known[state->known_count++] = entry;
    return 0;
}

//  Lists the directory: the eligible files this subtask owns and has not seen join the queue,
//  in name order. 0, or -1 with self->error set.
static int s_list(rill_operator_t *self, s_directory_t *state)
{
    const char *path = self->spec->path;
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(self->error, sizeof self->error, "directory source: cannot read '%.150s': %s",
                 path, strerror(errno));
        return -1;
    }
    size_t first_new = state->known_count;
    struct dirent *item;
    int rc = 0;
    while ((item = readdir(dir))) {
        const char *name = item->d_name;
        if (!s_eligible_name(state->config, name))
            continue;
        uint32_t group = s_group(name);
        if (!s_owned(self, group) || s_find(state, first_new, name))
            continue;
        //  Only regular files (or links to them); d_type may be unknown on some file systems.
        if (item->d_type != DT_REG) {
            char full[PATH_MAX];
            struct stat info;
            snprintf(full, sizeof full, "%s/%s", path, name);
            if (item->d_type != DT_UNKNOWN && item->d_type != DT_LNK)
                continue;
            if (stat(full, &info) != 0 || !S_ISREG(info.st_mode))
                continue;
        }
        s_entry_t *entry = s_entry_new(name, strlen(name), S_QUEUED, 0);
        if (!entry || s_know(state, entry)) {
            free(entry);
            rc = s_out_of_memory(self);
            break;
        }
    }
    closedir(dir);
    if (rc)
        return -1;
    size_t fresh = state->known_count - first_new;
    if (!fresh)
        return 0;
    //  The new ones in name order into the queue, then everything known sorted again.
    qsort(state->known + first_new, fresh, sizeof(s_entry_t *), s_compare_entries);
    for (size_t i = first_new; i < state->known_count; i++)
        if (s_enqueue(state, state->known[i]))
            return s_out_of_memory(self);
    qsort(state->known, state->known_count, sizeof(s_entry_t *), s_compare_entries);
    return 0;
}

static void s_close_current(s_directory_t *state)
{
    if (state->file)
        fclose(state->file);
    state->file = NULL;
    state->current = NULL;
    state->start = state->filled = 0;
    state->eof = false;
}

//  Starts the next queued file at its offset. 1 when one started, 0 when the queue is empty,
//  -1 on an error (a restored file that is gone or shorter than its offset).
static int s_start_next(rill_operator_t *self, s_directory_t *state)
{
    while (state->queue_head < state->queue_count) {
        s_entry_t *entry = state->queue[state->queue_head++];
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", self->spec->path, entry->name);
        FILE *file = fopen(full, "rb");
        struct stat info;
        if (!file && errno == ENOENT && entry->offset == 0) {
            //  Gone before it was read: nothing of it can be read, now or after a restore.
            entry->status = S_DONE;
            continue;
        }
        if (!file || fstat(fileno(file), &info)) {
            snprintf(self->error, sizeof self->error,
                     "directory source: cannot open '%.150s'%s: %s", full,
                     entry->offset ? " to read on from the checkpoint" : "", strerror(errno));
            if (file)
                fclose(file);
            return -1;
        }
        if (info.st_size < entry->offset ||
            (entry->offset && fseeko(file, entry->offset, SEEK_SET))) {
            snprintf(self->error, sizeof self->error,
                     "directory source: cannot restore: '%.150s' has %lld bytes, fewer than the "
                     "%lld the checkpoint read (the file changed)",
                     full, (long long)info.st_size, entry->offset);
            fclose(file);
            return -1;
        }
        entry->status = S_READING;
        state->current = entry;
        state->file = file;
        state->start = state->filled = 0;
        state->eof = false;
        return 1;
    }
    //  Everything queued started: drop the started ones from the queue.
    state->queue_head = state->queue_count = 0;
    return 0;
}

static int s_line_too_long(rill_operator_t *self, s_directory_t *state)
{
    snprintf(self->error, sizeof self->error,
             "directory source: a line of '%.60s/%.60s' is longer than the maximum record size "
             "of %zu bytes (rill_env_set_max_record_size)",
             self->spec->path, state->current->name, state->max_line);
    return -1;
}

//  Moves the unread tail to the front and reads more after it. 0, or -1.
static int s_refill(rill_operator_t *self, s_directory_t *state)
{
    size_t tail = state->filled - state->start;
    if (tail > state->max_line + 1)
        return s_line_too_long(self, state);
    memmove(state->block, state->block + state->start, tail);
    state->start = 0;
    state->filled = tail;
    if (state->filled == state->capacity &&
        rill_array_grow((void **)&state->block, &state->capacity, state->capacity + 1, 1))
        return s_out_of_memory(self);
    size_t got =
        fread(state->block + state->filled, 1, state->capacity - state->filled, state->file);
    if (got == 0 && ferror(state->file)) {
        snprintf(self->error, sizeof self->error,
                 "directory source: cannot read '%.100s/%.100s': %s", self->spec->path,
                 state->current->name, strerror(errno));
        return -1;
    }
    state->filled += got;
    state->eof = got == 0;
    return 0;
}

//  Nothing to read until the next listing: waits a little here rather than spin. A name
//  created or moved into the directory (inotify, when the system has it) ends the wait and
//  brings the listing forward; the poll interval stays the fallback.
static void s_wait(s_directory_t *state, int64_t now)
{
    int64_t wait = state->next_listing - now;
    struct pollfd ready = {.fd = state->watch, .events = POLLIN};
    int polled = poll(&ready, state->watch >= 0 ? 1 : 0,
                      wait < 0           ? 0
                      : wait > S_WAIT_MS ? S_WAIT_MS
                                         : (int)wait);
    if (polled <= 0 || !(ready.revents & POLLIN))
        return;
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(state->watch, events, sizeof events) > 0)
        ;
    state->next_listing = now;
}

static int s_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_directory_t *state = self->state;
    int emitted = 0;
    while (emitted < RILL_SOURCE_CHUNK) {
        if (!state->current) {
            int started = s_start_next(self, state);
            if (started < 0)
                return -1;
            if (started)
                continue;
            if (!state->config->continuous)
                return RILL_SOURCE_END;
            int64_t now = rill_operator_now_ms(self);
            if (now >= state->next_listing) {
                state->next_listing = now + state->config->poll_ms;
                if (s_list(self, state))
                    return -1;
                if (state->queue_head < state->queue_count)
                    continue;
            }
            if (!emitted)
                s_wait(state, now);
            return RILL_SOURCE_MORE;
        }
        char *line = state->block + state->start;
        size_t available = state->filled - state->start;
        char *newline = memchr(line, '\n', available);
        if (!newline && !state->eof) {
            if (s_refill(self, state))
                return -1;
            continue;
        }
        if (!newline && available == 0) {
            //  The end of the file: done.
            state->current->status = S_DONE;
            state->current->offset = 0;
            s_close_current(state);
            continue;
        }
        size_t length = newline ? (size_t)(newline - line) + 1 : available;
        state->start += length;
        state->current->offset += (long long)length;
        size_t size = rill_line_size(line, length);
        if (size > state->max_line)
            return s_line_too_long(self, state);
        if (rill_collector_emit(out, line, size, RILL_NO_TIMESTAMP))
            return -1;
        emitted++;
    }
    return RILL_SOURCE_MORE;
}

static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_directory_t *state = self->state;
    for (size_t i = 0; i < state->known_count; i++) {
        const s_entry_t *entry = state->known[i];
        uint8_t value[10];
        size_t size = 0;
        uint8_t tag = entry->status == S_DONE ? S_TAG_DONE : S_TAG_QUEUED;
        if (entry->status != S_DONE && entry->offset > 0) {
            tag = S_TAG_READING;
            size = rill_varint_put(value, (uint64_t)entry->offset);
        }
        if (rill_snapshot_put(out, RILL_STATE_KEYED, tag, entry->group, entry->name,
                              strlen(entry->name), value, size))
            return s_out_of_memory(self);
    }
    return 0;
}

static void s_forget_all(s_directory_t *state)
{
    s_close_current(state);
    for (size_t i = 0; i < state->known_count; i++)
        free(state->known[i]);
    state->known_count = 0;
    state->queue_head = state->queue_count = 0;
}

static int s_compare_queue(const void *a, const void *b)
{
    //  Files being read first (they were started), then the others, each in name order.
    const s_entry_t *x = *(s_entry_t *const *)a, *y = *(s_entry_t *const *)b;
    if ((x->offset > 0) != (y->offset > 0))
        return x->offset > 0 ? -1 : 1;
    return strcmp(x->name, y->name);
}

//  Replaces what open listed by the files the checkpoint dealt to this subtask. A bounded
//  source reads only those (the files there when the job first started); a continuous one
//  lists the directory again for new names.
static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_directory_t *state = self->state;
    s_forget_all(state);
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t offset = 0;
        if (entry.scope != RILL_STATE_KEYED || entry.tag < S_TAG_DONE ||
            entry.tag > S_TAG_READING || !entry.a_size || entry.a_size >= NAME_MAX + 1 ||
            memchr(entry.a, '\0', entry.a_size) || memchr(entry.a, '/', entry.a_size) ||
            (entry.tag == S_TAG_READING &&
             (rill_varint_get(&at, end, &offset) || offset > LLONG_MAX)) ||
            at != end) {
            rc = -1;
            break;
        }
        s_entry_t *file =
            s_entry_new((const char *)entry.a, entry.a_size,
                        entry.tag == S_TAG_DONE ? S_DONE : S_QUEUED, (long long)offset);
        if (!file || s_know(state, file)) {
            free(file);
            return s_out_of_memory(self);
        }
        if (file->status == S_QUEUED && s_enqueue(state, file))
            return s_out_of_memory(self);
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of directory source '%.60s' is "
                 "malformed",
                 self->op->name);
        return -1;
    }
    qsort(state->known, state->known_count, sizeof(s_entry_t *), s_compare_entries);
    for (size_t i = 1; i < state->known_count; i++)
        if (strcmp(state->known[i - 1]->name, state->known[i]->name) == 0) {
            snprintf(self->error, sizeof self->error,
                     "cannot restore: the checkpoint of directory source '%.60s' names "
                     "'%.100s' twice",
                     self->op->name, state->known[i]->name);
            return -1;
        }
    if (state->queue_count)
        qsort(state->queue, state->queue_count, sizeof(s_entry_t *), s_compare_queue);
    state->next_listing = 0;
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_directory_t *state = self->state;
    if (!state)
        return;
    s_forget_all(state);
    free(state->known);
    free(state->queue);
    free(state->block);
    if (state->watch >= 0)
        close(state->watch);
    free(state);
}

static const rill_operator_vtable_t s_directory_vtable = {
    .produce = s_produce,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
};

int rill_op_directory_open(rill_operator_t *self)
{
    //  The registry opens each kind only for its own operators (rill_operator_registry.c).
    assert(self && self->spec->kind == RILL_OP_SOURCE_DIRECTORY && self->spec->options &&
           self->spec->options_size == sizeof(rill_directory_config_t));
    s_directory_t *state = calloc(1, sizeof(s_directory_t));
    if (!state)
        return -1;
    self->vtable = &s_directory_vtable;
    self->state = state;
    state->config = self->spec->options;
    state->watch = -1;
    if (state->config->continuous) {
        state->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (state->watch >= 0 &&
            inotify_add_watch(state->watch, self->spec->path, IN_CREATE | IN_MOVED_TO) < 0) {
            close(state->watch); //  polling alone still finds every file
            state->watch = -1;
        }
    }
    state->max_line =
        self->spec->max_record_size ? self->spec->max_record_size : RILL_DEFAULT_MAX_RECORD_SIZE;
    state->capacity = S_BLOCK;
    if (!(state->block = malloc(state->capacity)))
        return -1;
    //  Listed now: a bounded source's files are those there when the job starts, and a
    //  checkpoint taken before the first record must already name them.
    return s_list(self, state);
}
