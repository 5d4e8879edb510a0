/*  rill_op_sinks.c: the three sinks. print writes one record per line (a file per subtask
    when parallel); collect gathers a private run and hands it to the rill_results_t at the end;
    discard only counts (the subtask's records_in).
    Checkpoints: print to a file is exactly-once by a two-phase commit, as Flink's FileSink
    does it: records go to a staging file beside the output (".<name>.pending"); a snapshot
    makes the staging file durable and saves how long the output is and where in the staging
    file the checkpoint's bytes end; when the checkpoint completes, those bytes are appended to
    the output (pre-commit, then commit). Readers of the output see only committed records.
    Print to stdout is at-least-once: a restore prints again what came after the checkpoint.
    collect saves what it gathered and restores it, so results are exactly-once too. */
#include "rill_array.h"
#include "rill_number.h"
#include "rill_operator.h"
#include "rill_results.h"
#include "rill_results_private.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The tags of the sinks' state entries (rill_snapshot.h).
enum {
    S_TAG_PRINT_FILE = 1, //  a = the output's name; b = varints committed length, end
    S_TAG_COLLECT = 2,    //  b = a run of records (rill_results_run_add)
};

//  A checkpoint whose bytes are staged but not yet committed: they end at logical position
//  `end` of the output.
typedef struct {
    int64_t checkpoint;
    uint64_t end;
} s_pending_t;

//  One output file under two-phase commit. Positions are logical: offsets in the output as it
//  will be once everything staged is committed. The staging file starts with a header saying
//  at which position its first byte goes (base), so a restore can tell which of its bytes a
//  crash left uncommitted, even when the crash came in the middle of a commit.
typedef struct {
    uint32_t group;     //  the split's number: the subtask that first wrote this file
    char *name;         //  the output file
    char *staging_name; //  ".<name>.pending" in the same directory
    int output;         //  opened without truncating
    FILE *staging;      //  NULL once the input ended and everything was committed
    uint64_t committed; //  the output's durable length
    uint64_t base;      //  the position of the first staged byte (== committed, but while a
                        //  restore runs)
    uint64_t staged;    //  bytes after the staging file's header, written or buffered
    s_pending_t *pending;
    size_t pending_count;
    size_t pending_capacity;
} s_commit_file_t;

typedef enum {
    S_FRESH,  //  print to a file, nothing written yet: the output is truncated at first use
    S_DIRECT, //  straight to the output (no checkpoints) or stdout: as without checkpoints
    S_STAGED, //  two-phase commit through staging files
    S_ENDED,  //  staged, the input ended and everything is committed
} s_mode_t;

typedef struct {
    FILE *file; //  where lines go: stdout, the output (direct) or files[0]'s staging file
    bool owned;
    rill_buffer_t *run; //  collect: this subtask's records; print: lines not yet written
    s_mode_t mode;
    char *name;   //  print to a file: this subtask's own output, path or path.<index>
    int fd;       //  ... opened at open, so that a bad path fails before anything runs
    bool created; //  ... and whether open created it (an empty file to remove if unused)
    //  The output is not a regular file (a device, a pipe, a FIFO): it can be neither
    //  truncated nor taken back, so it is written as stdout is (at-least-once).
    bool stream;
    //  Staged: the files this subtask commits. New lines go to the first; a restore at another
    //  parallelism can hand it more (an old subtask's file, kept under its name).
    s_commit_file_t *files;
    size_t file_count;
} s_sink_t;

//  Print sinks write whole lines in large chunks: one fwrite per chunk keeps lines of
//  parallel subtasks sharing stdout from interleaving, and costs no lock per record.
#define S_PRINT_CHUNK (64 * 1024)

//  The staging file's header: a magic, then base as 8 bytes little-endian.
#define S_STAGING_MAGIC "rillstg1"
#define S_HEADER 16

static int s_start(rill_operator_t *self, s_sink_t *state, bool staged);

static int s_failed(rill_operator_t *self, const char *what, const char *name)
{
    snprintf(self->error, sizeof self->error, "print sink: cannot %s '%.150s': %s", what, name,
             strerror(errno));
    return -1;
}

static int s_print_write(rill_operator_t *self, s_sink_t *state)
{
    if (state->mode == S_FRESH && s_start(self, state, self->checkpointing))
        return -1;
    size_t size = rill_buffer_size(state->run);
    if (size && fwrite(rill_buffer_data(state->run), 1, size, state->file) != size) {
        snprintf(self->error, sizeof self->error, "cannot write output: %s", strerror(errno));
        return -1;
    }
    if (state->mode == S_STAGED)
        state->files[0].staged += size;
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

//  ---- two-phase commit of print files

//  Copies length bytes from offset from of from_fd to offset to of to_fd. 0, or -1 (errno).
static int s_copy(int from_fd, uint64_t from, int to_fd, uint64_t to, uint64_t length)
{
    char *buffer = length ? malloc(S_PRINT_CHUNK) : NULL;
    if (length && !buffer)
        return -1;
    while (length) {
        size_t want = length < S_PRINT_CHUNK ? (size_t)length : S_PRINT_CHUNK;
        ssize_t got = pread(from_fd, buffer, want, (off_t)from);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO; //  the file is shorter than it was said to be
            free(buffer);
            return -1;
        }
        for (ssize_t done = 0; done < got;) {
            ssize_t put = pwrite(to_fd, buffer + done, (size_t)(got - done), (off_t)(to + done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0) {
                free(buffer);
                return -1;
            }
            done += put;
        }
        from += (uint64_t)got;
        to += (uint64_t)got;
        length -= (uint64_t)got;
    }
    free(buffer);
    return 0;
}

//  Starts the staging file over: a new one whose first byte goes at position base, holding
//  `length` bytes copied from offset `from` of from_fd (-1: none), made durable, then renamed
//  over the old one in one step. A crash before the rename leaves the old file, whose header
//  still tells a restore where its bytes go.
static int s_restage(rill_operator_t *self, s_commit_file_t *file, uint64_t base, int from_fd,
                     uint64_t from, uint64_t length)
{
    char temporary[4200];
    snprintf(temporary, sizeof temporary, "%s.tmp", file->staging_name);
    int fd = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return s_failed(self, "create the staging file", temporary);
    uint8_t header[S_HEADER];
    memcpy(header, S_STAGING_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        header[8 + i] = (uint8_t)(base >> (8 * i));
    FILE *fresh = NULL;
    if (pwrite(fd, header, S_HEADER, 0) != S_HEADER ||
        (from_fd >= 0 && s_copy(from_fd, from, fd, S_HEADER, length)) || fsync(fd) ||
        rename(temporary, file->staging_name) || !(fresh = fdopen(fd, "r+b")) ||
        fseeko(fresh, 0, SEEK_END)) {
        s_failed(self, "write the staging file", temporary);
        if (fresh)
            fclose(fresh);
        else
            close(fd);
        unlink(temporary);
        return -1;
    }
    if (file->staging)
        fclose(file->staging);
    file->staging = fresh;
    file->base = base;
    file->staged = from_fd >= 0 ? length : 0;
    return 0;
}

//  Commits the staged bytes up to position end: appends them to the output, makes it durable,
//  then starts the staging file over with what was staged after end (unless final: the input
//  ended, and the staging file goes).
static int s_commit(rill_operator_t *self, s_commit_file_t *file, uint64_t end, bool final)
{
    assert(end >= file->committed && end <= file->base + file->staged &&
           file->base <= file->committed);
    if (fflush(file->staging))
        return s_failed(self, "write the staging file", file->staging_name);
    int staging = fileno(file->staging);
    if (end > file->committed && s_copy(staging, S_HEADER + file->committed - file->base,
                                        file->output, file->committed, end - file->committed))
        return s_failed(self, "commit to", file->name);
    //  Only once the output holds them durably may the staging file let them go.
    if (fsync(file->output))
        return s_failed(self, "commit to", file->name);
    file->committed = end;
    if (final) {
        fclose(file->staging);
        file->staging = NULL;
        file->base = end;
        file->staged = 0;
        if (unlink(file->staging_name) && errno != ENOENT)
            return s_failed(self, "remove the staging file", file->staging_name);
        return 0;
    }
    uint64_t kept = file->base + file->staged - end;
    return s_restage(self, file, end, staging, S_HEADER + end - file->base, kept);
}

//  ".<name>.pending" beside name; NULL when out of memory.
static char *s_staging_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    size_t directory = slash ? (size_t)(slash - name) + 1 : 0;
    size_t size = strlen(name) + sizeof "..pending";
    char *staging = malloc(size);
    if (staging)
        snprintf(staging, size, "%.*s.%s.pending", (int)directory, name, name + directory);
    return staging;
}

//  Adds a file to commit, taking output (an open descriptor) whether it succeeds or not.
static s_commit_file_t *s_add_file(rill_operator_t *self, s_sink_t *state, uint32_t group,
                                   const char *name, size_t name_size, int output)
{
    s_commit_file_t *files = realloc(state->files, (state->file_count + 1) * sizeof *files);
    char *copy = malloc(name_size + 1);
    if (files)
        state->files = files;
    if (!files || !copy) {
        free(copy);
        if (output >= 0)
            close(output);
        snprintf(self->error, sizeof self->error, "out of memory");
        return NULL;
    }
    memcpy(copy, name, name_size);
    copy[name_size] = '\0';
    s_commit_file_t *file = &state->files[state->file_count++];
    *file = (s_commit_file_t){.group = group, .name = copy, .output = output};
    if (!(file->staging_name = s_staging_name(copy))) {
        snprintf(self->error, sizeof self->error, "out of memory");
        return NULL;
    }
    return file;
}

static void s_file_close(s_commit_file_t *file)
{
    if (file->output >= 0)
        close(file->output);
    if (file->staging)
        fclose(file->staging);
    free(file->name);
    free(file->staging_name);
    free(file->pending);
}

//  First use of a print sink's file without a restore: the output starts empty, as it always
//  did, then lines go to it directly or (staged) through a new staging file.
static int s_start(rill_operator_t *self, s_sink_t *state, bool staged)
{
    assert(state->mode == S_FRESH);
    if (state->fd < 0) {
        //  An earlier start failed half way, and the job with it.
        snprintf(self->error, sizeof self->error, "print sink: output '%.150s' is not open",
                 state->name);
        return -1;
    }
    if (ftruncate(state->fd, 0))
        return s_failed(self, "truncate output", state->name);
    int fd = state->fd;
    state->fd = -1;
    if (!staged) {
        if (!(state->file = fdopen(fd, "w"))) {
            close(fd);
            return s_failed(self, "open output", state->name);
        }
        state->owned = true;
        state->mode = S_DIRECT;
        return 0;
    }
    s_commit_file_t *file =
        s_add_file(self, state, (uint32_t)self->index, state->name, strlen(state->name), fd);
    if (!file || s_restage(self, file, 0, -1, 0, 0))
        return -1;
    state->file = file->staging;
    state->mode = S_STAGED;
    return 0;
}

//  A sink that wrote straight to its output gets a snapshot (checkpointing was switched on
//  after it started): what it wrote counts as committed, the rest is staged from now on.
static int s_direct_to_staged(rill_operator_t *self, s_sink_t *state)
{
    if (fflush(state->file) || fsync(fileno(state->file)))
        return s_failed(self, "write output", state->name);
    off_t length = ftello(state->file);
    int fd = dup(fileno(state->file));
    if (length < 0 || fd < 0)
        return s_failed(self, "reopen output", state->name);
    fclose(state->file);
    state->file = NULL;
    state->owned = false;
    s_commit_file_t *file =
        s_add_file(self, state, (uint32_t)self->index, state->name, strlen(state->name), fd);
    if (!file)
        return -1;
    file->committed = (uint64_t)length;
    if (s_restage(self, file, file->committed, -1, 0, 0))
        return -1;
    state->file = file->staging;
    state->mode = S_STAGED;
    return 0;
}

static int s_print_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_sink_t *state = self->state;
    if (!state->name || state->stream) {
        //  stdout cannot take back what it printed: flushing before the barrier passes is
        //  all it can do, which makes it at-least-once.
        if (s_print_write(self, state) || fflush(state->file))
            return s_failed(self, "write", state->name ? state->name : "stdout");
        return 0;
    }
    if (state->mode == S_FRESH && s_start(self, state, true))
        return -1;
    if (state->mode == S_DIRECT && s_direct_to_staged(self, state))
        return -1;
    if (s_print_write(self, state))
        return -1;
    for (size_t i = 0; i < state->file_count; i++) {
        s_commit_file_t *file = &state->files[i];
        //  Pre-commit: the checkpoint's bytes must survive a crash before it completes.
        if (file->staging && (fflush(file->staging) || fsync(fileno(file->staging))))
            return s_failed(self, "write the staging file", file->staging_name);
        uint64_t end = file->base + file->staged;
        uint8_t value[2 * 10];
        size_t size = rill_varint_put(value, file->committed);
        size += rill_varint_put(value + size, end);
        if (rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_PRINT_FILE, file->group, file->name,
                              strlen(file->name), value, size) ||
            (end > file->committed &&
             rill_array_grow((void **)&file->pending, &file->pending_capacity,
                             file->pending_count + 1, sizeof(s_pending_t)))) {
            snprintf(self->error, sizeof self->error, "out of memory");
            return -1;
        }
        if (end > file->committed)
            file->pending[file->pending_count++] = (s_pending_t){checkpoint, end};
    }
    return 0;
}

//  Checkpoint `checkpoint` completed: commit what was staged for it (and for any earlier one
//  whose completion was not heard: a later checkpoint's bytes include its predecessors').
static int s_print_checkpoint_complete(rill_operator_t *self, int64_t checkpoint)
{
    s_sink_t *state = self->state;
    if (state->mode != S_STAGED)
        return 0;
    for (size_t i = 0; i < state->file_count; i++) {
        s_commit_file_t *file = &state->files[i];
        size_t done = 0;
        while (done < file->pending_count && file->pending[done].checkpoint <= checkpoint)
            done++;
        if (!done)
            continue;
        uint64_t end = file->pending[done - 1].end;
        memmove(file->pending, file->pending + done,
                (file->pending_count - done) * sizeof(s_pending_t));
        file->pending_count -= done;
        int rc = end > file->committed ? s_commit(self, file, end, false) : 0;
        state->file = state->files[0].staging; //  a commit starts the staging file over
        if (rc)
            return -1;
    }
    return 0;
}

//  Brings one restored file to the state of the checkpoint: its first `end` bytes, those
//  committed before (committed) and those staged for it, in the output; nothing staged.
//  Idempotent: a commit that already happened is found (by length and by the staging file's
//  header) and not repeated; bytes of a later checkpoint, committed or staged, are dropped.
static int s_recover(rill_operator_t *self, s_commit_file_t *file, uint64_t committed, uint64_t end)
{
    struct stat info;
    if (fstat(file->output, &info))
        return s_failed(self, "read output", file->name);
    uint64_t length = (uint64_t)info.st_size;
    //  The staging file, as the crash left it: where its bytes go, and how many there are.
    int staging = open(file->staging_name, O_RDONLY | O_CLOEXEC);
    uint64_t base = 0, staged = 0;
    if (staging < 0 && errno != ENOENT)
        return s_failed(self, "read the staging file", file->staging_name);
    if (staging >= 0) {
        uint8_t header[S_HEADER];
        if (fstat(staging, &info) || pread(staging, header, S_HEADER, 0) != S_HEADER ||
            memcmp(header, S_STAGING_MAGIC, 8)) {
            close(staging);
            snprintf(self->error, sizeof self->error,
                     "print sink: '%.150s' is not a staging file of rill's", file->staging_name);
            return -1;
        }
        for (int i = 0; i < 8; i++)
            base |= (uint64_t)header[8 + i] << (8 * i);
        staged = (uint64_t)info.st_size - S_HEADER;
    }
    //  The output is durable up to the checkpoint's committed length, and up to the staging
    //  file's base, which is only ever written after a commit was made durable.
    uint64_t durable = staging >= 0 && base > committed ? base : committed;
    int rc = -1;
    if (length < (durable < end ? durable : end)) {
        snprintf(self->error, sizeof self->error,
                 "print sink: cannot restore '%.120s': it has %llu bytes, fewer than the %llu "
                 "committed",
                 file->name, (unsigned long long)length,
                 (unsigned long long)(durable < end ? durable : end));
        goto cleanup;
    }
    if (durable >= end) {
        //  Committed already (or later bytes too, when restoring an older checkpoint).
        if (ftruncate(file->output, (off_t)end)) {
            s_failed(self, "truncate output", file->name);
            goto cleanup;
        }
    } else {
        if (staging < 0 || base > durable || base + staged < end) {
            snprintf(self->error, sizeof self->error,
                     "print sink: cannot restore '%.80s': the bytes staged for the checkpoint "
                     "are missing from '%.70s'",
                     file->name, file->staging_name);
            goto cleanup;
        }
        //  A commit that a crash interrupted may have left part of its bytes: write them all.
        if (ftruncate(file->output, (off_t)durable) ||
            s_copy(staging, S_HEADER + durable - base, file->output, durable, end - durable)) {
            s_failed(self, "commit to", file->name);
            goto cleanup;
        }
    }
    if (fsync(file->output)) {
        s_failed(self, "commit to", file->name);
        goto cleanup;
    }
    file->committed = end;
    rc = s_restage(self, file, end, -1, 0, 0);
cleanup:
    if (staging >= 0)
        close(staging);
    return rc;
}

static int s_compare_files(const void *a, const void *b)
{
    const s_commit_file_t *x = a, *y = b;
    return (x->group > y->group) - (x->group < y->group);
}

//  Restoring from a checkpoint means it completed (the coordinator restores only from those):
//  each file dealt to this subtask is committed up to it. With none, this subtask's own file
//  starts empty, as in a new job.
static int s_print_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_sink_t *state = self->state;
    if (!state->name || state->stream)
        return 0; //  stdout, a pipe, a device: nothing to restore
    if (state->mode != S_FRESH) {
        snprintf(self->error, sizeof self->error,
                 "print sink: restore after the sink started writing");
        return -1;
    }
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        const uint8_t *at = entry.b, *end = entry.b + entry.b_size;
        uint64_t committed, staged_end;
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_PRINT_FILE || !entry.a_size ||
            entry.a_size >= 4096 || memchr(entry.a, '\0', entry.a_size) ||
            rill_varint_get(&at, end, &committed) || rill_varint_get(&at, end, &staged_end) ||
            at != end || committed > staged_end) {
            rc = -1;
            break;
        }
        char name[4096]; //  as long as the names rill_op_sink_open makes
        snprintf(name, sizeof name, "%.*s", (int)entry.a_size, (const char *)entry.a);
        int output = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (output < 0)
            return s_failed(self, "open output", name);
        s_commit_file_t *file = s_add_file(self, state, entry.group, name, strlen(name), output);
        if (!file || s_recover(self, file, committed, staged_end))
            return -1;
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of print sink '%.60s' is malformed",
                 self->op->name);
        return -1;
    }
    if (!state->file_count)
        return 0;
    qsort(state->files, state->file_count, sizeof(s_commit_file_t), s_compare_files);
    //  This subtask's own name is not used unless a restored split carries it: a file that
    //  open created for it only would be left behind empty.
    bool own = false;
    for (size_t i = 0; i < state->file_count; i++)
        own = own || strcmp(state->files[i].name, state->name) == 0;
    close(state->fd);
    state->fd = -1;
    if (!own && state->created)
        unlink(state->name);
    state->file = state->files[0].staging;
    state->mode = S_STAGED;
    return 0;
}

static int s_print_end(rill_operator_t *self, rill_collector_t *out)
{
    s_sink_t *state = self->state;
    if (state->mode == S_ENDED)
        return 0;
    if (s_print_write(self, state))
        return -1;
    if (state->mode != S_STAGED) {
        if (fflush(state->file)) {
            snprintf(self->error, sizeof self->error, "cannot write output: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    //  The input ended: everything staged is final (Flink commits on end of input too).
    for (size_t i = 0; i < state->file_count; i++) {
        s_commit_file_t *file = &state->files[i];
        if (s_commit(self, file, file->base + file->staged, true))
            return -1;
        file->pending_count = 0;
    }
    state->file = NULL;
    state->mode = S_ENDED;
    return 0;
}

//  ---- collect

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

//  The results are handed over only at the end, so what was gathered is this subtask's whole
//  state: one SPLIT entry, which a restore at another parallelism gives to one subtask.
static int s_collect_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    s_sink_t *state = self->state;
    if (rill_snapshot_put(out, RILL_STATE_SPLIT, S_TAG_COLLECT, (uint32_t)self->index, NULL, 0,
                          rill_buffer_data(state->run), rill_buffer_size(state->run))) {
        snprintf(self->error, sizeof self->error, "out of memory saving collected results");
        return -1;
    }
    return 0;
}

static int s_collect_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    s_sink_t *state = self->state;
    rill_buffer_reset(state->run);
    rill_state_entry_t entry;
    int rc;
    while ((rc = rill_state_reader_next(in, &entry)) > 0) {
        if (entry.scope != RILL_STATE_SPLIT || entry.tag != S_TAG_COLLECT ||
            !rill_results_run_valid(entry.b, entry.b_size)) {
            rc = -1;
            break;
        }
        if (entry.b_size && rill_buffer_append(state->run, entry.b, entry.b_size)) {
            snprintf(self->error, sizeof self->error, "out of memory restoring results");
            return -1;
        }
    }
    if (rc < 0) {
        snprintf(self->error, sizeof self->error,
                 "cannot restore: the checkpoint's state of collect sink '%.60s' is malformed",
                 self->op->name);
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
    //  Staging files stay: a restore of the job needs what they hold.
    for (size_t i = 0; i < state->file_count; i++)
        s_file_close(&state->files[i]);
    free(state->files);
    if (state->owned && state->file)
        fclose(state->file);
    else if (state->file && state->mode == S_DIRECT)
        fflush(state->file);
    if (state->fd >= 0)
        close(state->fd);
    free(state->name);
    rill_buffer_destroy(&state->run);
    free(state);
}

static const rill_operator_vtable_t s_print_vtable = {
    .on_record = s_print,
    .on_end = s_print_end,
    .close = s_close,
    .snapshot = s_print_snapshot,
    .restore = s_print_restore,
    .checkpoint_complete = s_print_checkpoint_complete,
};
static const rill_operator_vtable_t s_collect_vtable = {
    .on_record = s_collect,
    .on_end = s_collect_end,
    .close = s_close,
    .snapshot = s_collect_snapshot,
    .restore = s_collect_restore,
};
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
    state->fd = -1;
    state->mode = S_DIRECT;
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
        if (!(state->name = strdup(name)))
            return -1;
        //  Opened now, so that a bad path fails before anything runs, but truncated only at
        //  first use: a restore must find what earlier runs committed.
        state->fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        state->created = state->fd >= 0;
        if (state->fd < 0 && errno == EEXIST)
            state->fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (state->fd < 0) {
            snprintf(self->error, sizeof self->error, "cannot open output '%.160s': %s", name,
                     strerror(errno));
            return -1;
        }
        struct stat info;
        if (fstat(state->fd, &info) == 0 && !S_ISREG(info.st_mode)) {
            //  /dev/null, a pipe, a FIFO: written straight, as stdout is.
            state->file = fdopen(state->fd, "w");
            if (!state->file) {
                snprintf(self->error, sizeof self->error, "cannot open output '%.160s': %s",
                         name, strerror(errno));
                return -1;
            }
            state->fd = -1;
            state->owned = true;
            state->stream = true;
            state->mode = S_DIRECT;
            return 0;
        }
        state->mode = S_FRESH;
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
