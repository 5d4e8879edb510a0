/*  rill_op_rolling_sink.c: the rolling file sink (Flink's FileSink with a row format). Each
    record is a line in the in-progress part file of its bucket (a subdirectory of the base
    directory a user function names); a part is rolled by size, age or inactivity, and then
    waits, closed, as pending until a checkpoint completes (exactly once, two-phase commit):

        BASE/BUCKET/.P-S-N.inprogress  --roll-->  .P-S-N.pending  --checkpoint done-->  P-S-N

    P the prefix, S the subtask that named the part (its namespace), N its counter there.
    A snapshot makes the in-progress parts durable and saves their lengths, the pending parts
    and the counter; a restore commits the checkpoint's in-progress parts cut to their length
    and its pending parts, and removes every part of the namespace numbered after the
    checkpoint (written after it: their records are replayed). State is one split per namespace
    (split s to subtask s % p), so a restore at any parallelism settles every namespace once. */
#include "rill_array.h"
#include "rill_connectors_files_private.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_plan_private.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Lines are gathered per part and written in chunks of this size.
#define S_CHUNK (64 * 1024)

enum {
    S_TAG_NAMESPACE = 1,  //  group = namespace; b = varint next part number
    S_TAG_INPROGRESS = 2, //  group = namespace; a = bucket; b = varints part, length
    S_TAG_PENDING = 3,    //  group = namespace; a = bucket; b = varints part, length
};

typedef struct {
    char name[RILL_BUCKET_MAX];
    int fd; //  the in-progress part, or -1
    uint64_t part;
    uint64_t size; //  its bytes, buffered ones included
    int64_t opened_ms;
    int64_t last_write_ms;
    char *buffer; //  S_CHUNK bytes
    size_t buffered;
    bool dir_dirty; //  a rename in its directory not yet made durable
} s_bucket_t;

typedef struct {
    char bucket[RILL_BUCKET_MAX];
    uint64_t part;
    uint64_t size;
    int64_t checkpoint; //  the checkpoint that covers it (0: none yet)
} s_pending_t;

typedef struct {
    uint32_t ns;
    uint64_t next_part;
} s_namespace_t;

typedef struct {
    const rill_rolling_config_t *config;
    uint64_t next_part; //  this subtask's counter (namespace = its index)
    bool started;       //  the namespace was settled (a fresh start's cleanup, or a restore)
    s_bucket_t **buckets;
    size_t bucket_count;
    size_t bucket_capacity;
    s_bucket_t *last; //  the bucket of the previous record
    s_pending_t *pending;
    size_t pending_count;
    size_t pending_capacity;
    s_namespace_t *adopted; //  other subtasks' namespaces a restore handed over: kept in state
    size_t adopted_count;
    size_t adopted_capacity;
    bool timed; //  rolls by age or inactivity
} s_rolling_t;

static int s_failed(rill_operator_t *self, const char *what, const char *path)
{
    snprintf(self->error, sizeof self->error, "rolling file sink: cannot %s '%.180s': %s", what,
             path, strerror(errno));
    return -1;
}

static int s_out_of_memory(rill_operator_t *self)
{
    snprintf(self->error, sizeof self->error, "rolling file sink: out of memory");
    return -1;
}

//  BASE or BASE/BUCKET.
static void s_bucket_dir(const rill_operator_t *self, const char *bucket, char *out, size_t size)
{
    int length = *bucket ? snprintf(out, size, "%s/%s", self->spec->path, bucket)
                         : snprintf(out, size, "%s", self->spec->path);
    if (length < 0 || (size_t)length >= size)
        *out = '\0';
}

typedef enum { S_INPROGRESS, S_PENDING, S_COMMITTED } s_state_t;

//  A part's file name in a state.
static void s_part_path(const rill_operator_t *self, const char *bucket, uint32_t ns, uint64_t part,
                        s_state_t state, char *out, size_t size)
{
    const rill_rolling_config_t *config = self->spec->options;
    char dir[PATH_MAX];
    s_bucket_dir(self, bucket, dir, sizeof dir);
    int length = snprintf(out, size, "%s/%s%s-%u-%llu%s%s", dir, state == S_COMMITTED ? "" : ".",
                          config->prefix, ns, (unsigned long long)part, config->suffix,
                          state == S_INPROGRESS ? ".inprogress"
                          : state == S_PENDING  ? ".pending"
                                                : "");
    //  The API keeps base directories short enough for every name to fit; were one cut, the
    //  empty name fails the file call that uses it.
    if (length < 0 || (size_t)length >= size)
        *out = '\0';
}

static int s_sync_dir(rill_operator_t *self, const char *bucket)
{
    char dir[PATH_MAX];
    s_bucket_dir(self, bucket, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd)) {
        if (fd >= 0)
            close(fd);
        return s_failed(self, "make durable the directory", dir);
    }
    close(fd);
    return 0;
}

//  mkdir -p. 0, or -1 (errno).
static int s_make_dirs(const char *path)
{
    char partial[PATH_MAX];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *at = partial + 1; *at; at++) {
        if (*at != '/')
            continue;
        *at = '\0';
        if (mkdir(partial, 0777) && errno != EEXIST)
            return -1;
        *at = '/';
    }
    if (mkdir(partial, 0777) && errno != EEXIST)
        return -1;
    struct stat info;
    if (stat(partial, &info) || !S_ISDIR(info.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

//  ---- part names found in the directories

//  Parses a file name of this sink's: 1 with its namespace, part and state, else 0.
static int s_parse_name(const rill_rolling_config_t *config, const char *name, uint32_t *ns,
                        uint64_t *part, s_state_t *state)
{
    bool hidden = name[0] == '.';
    const char *at = name + hidden;
    size_t prefix = strlen(config->prefix);
    if (strncmp(at, config->prefix, prefix) || at[prefix] != '-')
        return 0;
    at += prefix + 1;
    char *end;
    if (*at < '0' || *at > '9')
        return 0;
    unsigned long long s = strtoull(at, &end, 10);
    if (*end != '-' || s > UINT32_MAX || end[1] < '0' || end[1] > '9')
        return 0;
    unsigned long long n = strtoull(end + 1, &end, 10);
    size_t suffix = strlen(config->suffix);
    if (strncmp(end, config->suffix, suffix))
        return 0;
    end += suffix;
    if (!hidden && *end == '\0')
        *state = S_COMMITTED;
    else if (hidden && strcmp(end, ".inprogress") == 0)
        *state = S_INPROGRESS;
    else if (hidden && strcmp(end, ".pending") == 0)
        *state = S_PENDING;
    else
        return 0;
    *ns = (uint32_t)s;
    *part = n;
    return 1;
}

//  Calls fn for every part file of namespace ns in the base directory and its buckets.
typedef int (*s_part_fn)(rill_operator_t *self, const char *path, uint64_t part, s_state_t state,
                         void *ctx);
static int s_each_part(rill_operator_t *self, uint32_t ns, s_part_fn fn, void *ctx)
{
    const rill_rolling_config_t *config = self->spec->options;
    DIR *base = opendir(self->spec->path);
    if (!base)
        return errno == ENOENT ? 0 : s_failed(self, "read", self->spec->path);
    struct dirent *item;
    int rc = 0;
    while (!rc && (item = readdir(base))) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", self->spec->path, item->d_name) >=
            (int)sizeof path)
            continue;
        uint32_t found;
        uint64_t part;
        s_state_t state;
        if (s_parse_name(config, item->d_name, &found, &part, &state)) {
            if (found == ns)
                rc = fn(self, path, part, state, ctx);
            continue;
        }
        struct stat info;
        if (item->d_name[0] == '.' || stat(path, &info) || !S_ISDIR(info.st_mode))
            continue;
        DIR *bucket = opendir(path);
        if (!bucket)
            continue;
        struct dirent *inner;
        while (!rc && (inner = readdir(bucket))) {
            if (!s_parse_name(config, inner->d_name, &found, &part, &state) || found != ns)
                continue;
            char full[PATH_MAX];
            if (snprintf(full, sizeof full, "%s/%s", path, inner->d_name) < (int)sizeof full)
                rc = fn(self, full, part, state, ctx);
        }
        closedir(bucket);
    }
    closedir(base);
    return rc;
}

//  A fresh start: committed parts stay (an earlier job's output) and the counter goes past
//  them; hidden ones are left by an attempt that never completed a checkpoint: removed.
static int s_fresh_part(rill_operator_t *self, const char *path, uint64_t part, s_state_t state,
                        void *ctx)
{
    s_rolling_t *rolling = self->state;
    if (state != S_COMMITTED) {
        if (unlink(path) && errno != ENOENT)
            return s_failed(self, "remove", path);
        return 0;
    }
    if (part >= rolling->next_part)
        rolling->next_part = part + 1;
    return 0;
}

//  After a restore: parts numbered from the checkpoint's counter on were written after it.
static int s_later_part(rill_operator_t *self, const char *path, uint64_t part, s_state_t state,
                        void *ctx)
{
    if (part >= *(const uint64_t *)ctx && unlink(path) && errno != ENOENT)
        return s_failed(self, "remove", path);
    return 0;
}

//  Starts this subtask's namespace without a restore. A restart of this run from no
//  checkpoint finds what its earlier attempt wrote from the part number it started at (parts
//  that attempt committed at the end of its input included) and removes it: the input is
//  replayed from the start.
static int s_start(rill_operator_t *self, s_rolling_t *state)
{
    if (state->started)
        return 0;
    state->started = true;
    if (s_make_dirs(self->spec->path))
        return s_failed(self, "make the base directory", self->spec->path);
    rill_rolling_config_t *shared = (rill_rolling_config_t *)self->spec->options;
    uint64_t run = rill_key_hash(self->plan->id, strlen(self->plan->id));
    if (__atomic_load_n(&shared->first_part_run[self->index], __ATOMIC_SEQ_CST) == run) {
        state->next_part = __atomic_load_n(&shared->first_part[self->index], __ATOMIC_SEQ_CST);
        return s_each_part(self, (uint32_t)self->index, s_later_part, &state->next_part);
    }
    if (s_each_part(self, (uint32_t)self->index, s_fresh_part, NULL))
        return -1;
    __atomic_store_n(&shared->first_part[self->index], state->next_part, __ATOMIC_SEQ_CST);
    __atomic_store_n(&shared->first_part_run[self->index], run, __ATOMIC_SEQ_CST);
    return 0;
}

//  ---- writing

static int s_flush(rill_operator_t *self, s_bucket_t *bucket)
{
    for (size_t done = 0; done < bucket->buffered;) {
        ssize_t put = write(bucket->fd, bucket->buffer + done, bucket->buffered - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0) {
            char path[PATH_MAX];
            s_part_path(self, bucket->name, (uint32_t)self->index, bucket->part, S_INPROGRESS, path,
                        sizeof path);
            return s_failed(self, "write", path);
        }
        done += (size_t)put;
    }
    bucket->buffered = 0;
    return 0;
}

static int s_open_part(rill_operator_t *self, s_rolling_t *state, s_bucket_t *bucket)
{
    char path[PATH_MAX];
    bucket->part = state->next_part++;
    s_part_path(self, bucket->name, (uint32_t)self->index, bucket->part, S_INPROGRESS, path,
                sizeof path);
    bucket->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (bucket->fd < 0)
        return s_failed(self, "create part file", path);
    bucket->size = 0;
    bucket->opened_ms = bucket->last_write_ms = rill_operator_now_ms(self);
    return 0;
}

//  Closes the bucket's in-progress part: durable, renamed pending, waiting for a checkpoint.
static int s_roll(rill_operator_t *self, s_rolling_t *state, s_bucket_t *bucket)
{
    if (bucket->fd < 0)
        return 0;
    char from[PATH_MAX], to[PATH_MAX];
    s_part_path(self, bucket->name, (uint32_t)self->index, bucket->part, S_INPROGRESS, from,
                sizeof from);
    s_part_path(self, bucket->name, (uint32_t)self->index, bucket->part, S_PENDING, to, sizeof to);
    if (s_flush(self, bucket))
        return -1;
    if (fsync(bucket->fd) || close(bucket->fd)) {
        bucket->fd = -1;
        return s_failed(self, "write", from);
    }
    bucket->fd = -1;
    if (rename(from, to))
        return s_failed(self, "rename the rolled part", from);
    bucket->dir_dirty = true;
    if (rill_array_grow((void **)&state->pending, &state->pending_capacity,
                        state->pending_count + 1, sizeof(s_pending_t)))
        return s_out_of_memory(self);
    s_pending_t *pending = &state->pending[state->pending_count++];
    memcpy(pending->bucket, bucket->name, sizeof pending->bucket);
    pending->part = bucket->part;
    pending->size = bucket->size;
    pending->checkpoint = 0;
    return 0;
}

//  A bucket name is one directory level under the base (or "" for the base itself).
static bool s_valid_bucket(const char *name)
{
    return !strchr(name, '/') && name[0] != '.';
}

static s_bucket_t *s_bucket(rill_operator_t *self, s_rolling_t *state, const char *name)
{
    if (state->last && strcmp(state->last->name, name) == 0)
        return state->last;
    for (size_t i = 0; i < state->bucket_count; i++)
        if (strcmp(state->buckets[i]->name, name) == 0)
            return state->last = state->buckets[i];
    if (!s_valid_bucket(name)) {
        snprintf(self->error, sizeof self->error,
                 "rolling file sink: bucket '%.100s' is not a directory name (no '/', not "
                 "starting with '.')",
                 name);
        return NULL;
    }
    char dir[PATH_MAX];
    s_bucket_dir(self, name, dir, sizeof dir);
    if (s_make_dirs(dir)) {
        s_failed(self, "make the bucket directory", dir);
        return NULL;
    }
    s_bucket_t *bucket = calloc(1, sizeof(s_bucket_t));
    if (!bucket || !(bucket->buffer = malloc(S_CHUNK)) ||
        rill_array_grow((void **)&state->buckets, &state->bucket_capacity, state->bucket_count + 1,
                        sizeof(s_bucket_t *))) {
        if (bucket)
            free(bucket->buffer);
        free(bucket);
        s_out_of_memory(self);
        return NULL;
    }
    snprintf(bucket->name, sizeof bucket->name, "%s", name);
    bucket->fd = -1;
    state->buckets[state->bucket_count++] = bucket;
    return state->last = bucket;
}

static int s_write(rill_operator_t *self, s_bucket_t *bucket, const void *data, size_t size)
{
    if (bucket->buffered + size > S_CHUNK && s_flush(self, bucket))
        return -1;
    if (size > S_CHUNK) {
        size_t saved = bucket->buffered;
        char *buffer = bucket->buffer;
        bucket->buffer = (char *)data;
        bucket->buffered = size;
        int rc = s_flush(self, bucket);
        bucket->buffer = buffer;
        bucket->buffered = saved;
        return rc;
    }
    memcpy(bucket->buffer + bucket->buffered, data, size);
    bucket->buffered += size;
    return 0;
}

static int s_on_record(rill_operator_t *self, const rill_record_t *record, int input,
                       rill_collector_t *out)
{
    s_rolling_t *state = self->state;
    const rill_rolling_config_t *config = state->config;
    if (!state->started && s_start(self, state))
        return -1;
    char name[RILL_BUCKET_MAX] = "";
    if (config->bucket) {
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = config->bucket(record, name, sizeof name, self->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        name[sizeof name - 1] = '\0';
        if (rc) {
            snprintf(self->error, sizeof self->error, "rolling file sink: bucket function failed");
            return -1;
        }
    }
    s_bucket_t *bucket = s_bucket(self, state, name);
    if (!bucket)
        return -1;
    uint64_t line = (uint64_t)record->size + 1;
    //  Roll before a record would take the part past its size (a record larger than the limit
    //  gets a part of its own).
    if (bucket->fd >= 0 && bucket->size && bucket->size + line > config->max_part_bytes &&
        s_roll(self, state, bucket))
        return -1;
    if (bucket->fd < 0 && s_open_part(self, state, bucket))
        return -1;
    if (s_write(self, bucket, record->data, record->size) || s_write(self, bucket, "\n", 1))
        return -1;
    bucket->size += line;
    if (config->inactivity_ms)
        bucket->last_write_ms = rill_operator_now_ms(self);
    return 0;
}

static int64_t s_next_tick(rill_operator_t *self)
{
    s_rolling_t *state = self->state;
    const rill_rolling_config_t *config = state->config;
    int64_t next = INT64_MAX;
    if (!state->timed)
        return next;
    for (size_t i = 0; i < state->bucket_count; i++) {
        const s_bucket_t *bucket = state->buckets[i];
        if (bucket->fd < 0)
            continue;
        if (config->rollover_ms && bucket->opened_ms + config->rollover_ms < next)
            next = bucket->opened_ms + config->rollover_ms;
        if (config->inactivity_ms && bucket->last_write_ms + config->inactivity_ms < next)
            next = bucket->last_write_ms + config->inactivity_ms;
    }
    return next;
}

static int s_on_tick(rill_operator_t *self, int64_t now_ms, rill_collector_t *out)
{
    s_rolling_t *state = self->state;
    const rill_rolling_config_t *config = state->config;
    for (size_t i = 0; i < state->bucket_count; i++) {
        s_bucket_t *bucket = state->buckets[i];
        if (bucket->fd < 0)
            continue;
        bool old = config->rollover_ms && now_ms - bucket->opened_ms >= config->rollover_ms;
        bool idle =
            config->inactivity_ms && now_ms - bucket->last_write_ms >= config->inactivity_ms;
        if ((old || idle) && s_roll(self, state, bucket))
            return -1;
    }
    return 0;
}

//  ---- commits

static int s_commit(rill_operator_t *self, const char *bucket, uint32_t ns, uint64_t part)
{
    char from[PATH_MAX], to[PATH_MAX];
    s_part_path(self, bucket, ns, part, S_PENDING, from, sizeof from);
    s_part_path(self, bucket, ns, part, S_COMMITTED, to, sizeof to);
    if (rename(from, to))
        return s_failed(self, "commit the part", from);
    return 0;
}

//  Commits the pending parts covered by checkpoint (0: all, the input ended), then makes the
//  renames durable.
static int s_commit_pending(rill_operator_t *self, s_rolling_t *state, int64_t checkpoint)
{
    size_t kept = 0;
    for (size_t i = 0; i < state->pending_count; i++) {
        s_pending_t *pending = &state->pending[i];
        bool due = checkpoint == 0 || (pending->checkpoint && pending->checkpoint <= checkpoint);
        if (!due) {
            state->pending[kept++] = *pending;
            continue;
        }
        if (s_commit(self, pending->bucket, (uint32_t)self->index, pending->part))
            return -1;
        for (size_t b = 0; b < state->bucket_count; b++)
            if (strcmp(state->buckets[b]->name, pending->bucket) == 0)
                state->buckets[b]->dir_dirty = true;
    }
    state->pending_count = kept;
    for (size_t b = 0; b < state->bucket_count; b++)
        if (state->buckets[b]->dir_dirty) {
            if (s_sync_dir(self, state->buckets[b]->name))
                return -1;
            state->buckets[b]->dir_dirty = false;
        }
    return 0;
}

static int s_checkpoint_complete(rill_operator_t *self, int64_t checkpoint)
{
    return s_commit_pending(self, self->state, checkpoint);
}

static int s_on_end(rill_operator_t *self, rill_collector_t *out)
{
    s_rolling_t *state = self->state;
    if (!state->started && s_start(self, state))
        return -1;
    for (size_t i = 0; i < state->bucket_count; i++)
        if (s_roll(self, state, state->buckets[i]))
            return -1;
    return s_commit_pending(self, state, 0);
}

//  ---- checkpoints

static int s_put(rill_operator_t *self, rill_buffer_t *out, uint8_t tag, uint32_t ns,
                 const char *bucket, uint64_t first, uint64_t second, bool two)
{
    uint8_t value[20];
    size_t size = rill_varint_put(value, first);
    if (two)
        size += rill_varint_put(value + size, second);
    if (rill_snapshot_put(out, RILL_STATE_SPLIT, tag, ns, bucket, bucket ? strlen(bucket) : 0,
                          value, size))
        return s_out_of_memory(self);
    return 0;
}

static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_rolling_t *state = self->state;
    if (!state->started && s_start(self, state))
        return -1;
    uint32_t ns = (uint32_t)self->index;
    //  Pre-commit: what the checkpoint holds survives a crash before it completes.
    for (size_t i = 0; i < state->bucket_count; i++) {
        s_bucket_t *bucket = state->buckets[i];
        if (bucket->fd >= 0 && (s_flush(self, bucket) || fsync(bucket->fd))) {
            char path[PATH_MAX];
            s_part_path(self, bucket->name, ns, bucket->part, S_INPROGRESS, path, sizeof path);
            return s_failed(self, "write", path);
        }
        if (bucket->dir_dirty) {
            if (s_sync_dir(self, bucket->name))
                return -1;
            bucket->dir_dirty = false;
        }
    }
    if (s_put(self, out, S_TAG_NAMESPACE, ns, NULL, state->next_part, 0, false))
        return -1;
    for (size_t i = 0; i < state->adopted_count; i++)
        if (s_put(self, out, S_TAG_NAMESPACE, state->adopted[i].ns, NULL,
                  state->adopted[i].next_part, 0, false))
            return -1;
    for (size_t i = 0; i < state->bucket_count; i++) {
        const s_bucket_t *bucket = state->buckets[i];
        if (bucket->fd >= 0 &&
            s_put(self, out, S_TAG_INPROGRESS, ns, bucket->name, bucket->part, bucket->size, true))
            return -1;
    }
    for (size_t i = 0; i < state->pending_count; i++) {
        s_pending_t *pending = &state->pending[i];
        if (!pending->checkpoint)
            pending->checkpoint = checkpoint;
        if (s_put(self, out, S_TAG_PENDING, ns, pending->bucket, pending->part, pending->size,
                  true))
            return -1;
    }
    return 0;
}

//  Brings a part the checkpoint holds (in progress or pending then) to committed, cut to the
//  length the checkpoint saw: whichever name a crash left it under. Idempotent.
static int s_settle(rill_operator_t *self, const char *bucket, uint32_t ns, uint64_t part,
                    uint64_t size)
{
    char committed[PATH_MAX];
    s_part_path(self, bucket, ns, part, S_COMMITTED, committed, sizeof committed);
    const s_state_t order[] = {S_INPROGRESS, S_PENDING, S_COMMITTED};
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX];
        s_part_path(self, bucket, ns, part, order[i], path, sizeof path);
        struct stat info;
        if (stat(path, &info))
            continue;
        if ((uint64_t)info.st_size < size) {
            snprintf(self->error, sizeof self->error,
                     "rolling file sink: cannot restore: '%.150s' has %lld bytes, fewer than the "
                     "%llu of the checkpoint",
                     path, (long long)info.st_size, (unsigned long long)size);
            return -1;
        }
        if ((uint64_t)info.st_size > size && truncate(path, (off_t)size))
            return s_failed(self, "truncate", path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd)) {
            if (fd >= 0)
                close(fd);
            return s_failed(self, "make durable", path);
        }
        close(fd);
        if (order[i] != S_COMMITTED && rename(path, committed))
            return s_failed(self, "commit the part", path);
        return s_sync_dir(self, bucket);
    }
    snprintf(self->error, sizeof self->error,
             "rolling file sink: cannot restore: part '%.150s' of the checkpoint is missing (in "
             "every state)",
             committed);
    return -1;
}

static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_rolling_t *state = self->state;
    if (state->started || state->bucket_count) {
        snprintf(self->error, sizeof self->error,
                 "rolling file sink: restore after the sink started writing");
        return -1;
    }
    if (s_make_dirs(self->spec->path))
        return s_failed(self, "make the base directory", self->spec->path);
    bool own = false;
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t first, second = 0;
        bool two = entry.tag == S_TAG_INPROGRESS || entry.tag == S_TAG_PENDING;
        char bucket[RILL_BUCKET_MAX];
        if (entry.scope != RILL_STATE_SPLIT || entry.tag < S_TAG_NAMESPACE ||
            entry.tag > S_TAG_PENDING || rill_varint_get(&at, end, &first) ||
            (two && rill_varint_get(&at, end, &second)) || at != end ||
            entry.a_size >= sizeof bucket ||
            (entry.a_size && memchr(entry.a, '\0', entry.a_size)) || (!two && entry.a_size)) {
            rc = -1;
            break;
        }
        memcpy(bucket, entry.a, entry.a_size);
        bucket[entry.a_size] = '\0';
        if (two && !s_valid_bucket(bucket)) {
            rc = -1;
            break;
        }
        if (two) {
            if (s_settle(self, bucket, entry.group, first, second))
                return -1;
            continue;
        }
        //  A namespace: what was numbered after the checkpoint goes.
        if (s_each_part(self, entry.group, s_later_part, &first))
            return -1;
        if (entry.group == (uint32_t)self->index) {
            own = true;
            state->next_part = first;
        } else {
            if (rill_array_grow((void **)&state->adopted, &state->adopted_capacity,
                                state->adopted_count + 1, sizeof(s_namespace_t)))
                return s_out_of_memory(self);
            state->adopted[state->adopted_count++] = (s_namespace_t){entry.group, first};
        }
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of rolling file sink '%.60s' is "
                 "malformed",
                 self->op->name);
        return -1;
    }
    if (!own) {
        //  This subtask's namespace is new to the checkpoint: start it as a fresh job would.
        state->started = false;
        return s_start(self, state);
    }
    state->started = true;
    return 0;
}

static void s_close(rill_operator_t *self)
{
    s_rolling_t *state = self->state;
    if (!state)
        return;
    //  In-progress and pending parts stay: a restore needs them.
    for (size_t i = 0; i < state->bucket_count; i++) {
        s_bucket_t *bucket = state->buckets[i];
        if (bucket->fd >= 0) {
            s_flush(self, bucket);
            close(bucket->fd);
        }
        free(bucket->buffer);
        free(bucket);
    }
    free(state->buckets);
    free(state->pending);
    free(state->adopted);
    free(state);
}

static const rill_operator_vtable_t s_rolling_vtable = {
    .on_record = s_on_record,
    .on_end = s_on_end,
    .on_tick = s_on_tick,
    .next_tick = s_next_tick,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
    .checkpoint_complete = s_checkpoint_complete,
};

int rill_op_rolling_sink_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SINK_ROLLING && self->spec->options &&
           self->spec->options_size == sizeof(rill_rolling_config_t));
    s_rolling_t *state = calloc(1, sizeof(s_rolling_t));
    if (!state)
        return -1;
    self->vtable = &s_rolling_vtable;
    self->state = state;
    state->config = self->spec->options;
    state->timed = state->config->rollover_ms > 0 || state->config->inactivity_ms > 0;
    //  Made now, so that a path that cannot be a directory fails before anything runs; the
    //  namespace is settled at first use, after a restore had its say.
    if (s_make_dirs(self->spec->path))
        return s_failed(self, "make the base directory", self->spec->path);
    return 0;
}
