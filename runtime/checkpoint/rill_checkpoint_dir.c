/*  rill_checkpoint_dir.c: the directory backend (see rill_checkpoint_store.h for the layout).
    Its state is the directory's path and the retention count, both fixed at construction, so
    subtask threads write their files concurrently with nothing shared to guard: each writes
    its own file, and the checkpoint's folder is made by whoever comes first (mkdir with
    EEXIST tolerated). */
#include "rill_checkpoint_dir.h"
#include "rill_checkpoint_files.h"
#include "rill_clock.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct {
    char *dir;
    int kept; //  0: keep everything
} s_dir_t;

void *rill_checkpoint_dir_new(const char *dir, int kept, char *error, size_t error_size)
{
    assert(dir && kept >= 0);
    if (!dir[0])
        return rill_checkpoint_fail(error, error_size, "checkpoint directory: no path given"), NULL;
    if (rill_checkpoint_make_folder(dir, error, error_size))
        return NULL;
    if (access(dir, W_OK | X_OK) != 0)
        return rill_checkpoint_fail(error, error_size, "checkpoint directory '%s' is not writable",
                                    dir),
               NULL;
    s_dir_t *self = calloc(1, sizeof *self);
    if (self)
        self->dir = strdup(dir);
    if (!self || !self->dir) {
        free(self);
        return rill_checkpoint_fail(error, error_size, "out of memory"), NULL;
    }
    //  Without trailing slashes, for tidy paths in messages ("/" stays).
    for (size_t n = strlen(self->dir); n > 1 && self->dir[n - 1] == '/'; n--)
        self->dir[n - 1] = '\0';
    self->kept = kept;
    return self;
}

static void s_destroy(void **state_p)
{
    s_dir_t *self = *state_p;
    if (!self)
        return;
    free(self->dir);
    free(self);
    *state_p = NULL;
}

static int s_location(void *state, int64_t checkpoint, char *out, size_t out_size)
{
    s_dir_t *self = state;
    return rill_checkpoint_folder_path(out, out_size, self->dir, checkpoint, NULL, 0);
}

static int64_t s_last_id(void *state, char *error, size_t error_size)
{
    s_dir_t *self = state;
    int64_t *ids;
    int count = rill_checkpoint_list(self->dir, &ids, error, error_size);
    if (count < 0)
        return -2;
    int64_t last = count ? ids[count - 1] : -1;
    free(ids);
    return last;
}

static int s_write_state(void *state, int64_t checkpoint, int operator_id, int subtask_index,
                         const void *data, size_t size, rill_state_file_t *info, char *error,
                         size_t error_size)
{
    s_dir_t *self = state;
    char folder[PATH_MAX], reason[PATH_MAX + 128];
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "op%d-%d.state", operator_id, subtask_index);
    if (rill_checkpoint_folder_path(folder, sizeof folder, self->dir, checkpoint, reason,
                                    sizeof reason) ||
        rill_checkpoint_make_folder(folder, reason, sizeof reason) ||
        rill_checkpoint_write_file(folder, info->name, data, size, reason, sizeof reason)) {
        info->name[0] = '\0';
        return rill_checkpoint_fail(error, error_size,
                                    "checkpoint %lld: operator %d subtask %d: %s",
                                    (long long)checkpoint, operator_id, subtask_index, reason);
    }
    info->size = size;
    info->checksum = XXH64(data, size, 0);
    return 0;
}

//  Every subtask reported a file, and each is in folder with the size it reported.
static int s_check_files(const rill_checkpoint_meta_t *meta, const char *folder, char *error,
                         size_t error_size)
{
    long long id = (long long)rill_checkpoint_meta_id(meta);
    for (int i = 0; i < rill_checkpoint_meta_operator_count(meta); i++) {
        const rill_checkpoint_operator_t *op = rill_checkpoint_meta_operator(meta, i);
        for (int s = 0; s < op->parallelism; s++) {
            const rill_state_file_t *file = &op->files[s];
            if (!file->name[0])
                return rill_checkpoint_fail(error, error_size,
                                            "checkpoint %lld: operator '%s' subtask %d reported "
                                            "no state",
                                            id, op->name, s);
            char path[PATH_MAX];
            struct stat info;
            if (rill_checkpoint_join(path, sizeof path, folder, file->name, error, error_size))
                return -1;
            if (stat(path, &info) != 0)
                return rill_checkpoint_fail(error, error_size,
                                            "checkpoint %lld: operator '%s' subtask %d: state "
                                            "file '%s': %s",
                                            id, op->name, s, path, strerror(errno));
            if ((uint64_t)info.st_size != file->size)
                return rill_checkpoint_fail(error, error_size,
                                            "checkpoint %lld: operator '%s' subtask %d: state "
                                            "file '%s' has %lld bytes, %llu were written",
                                            id, op->name, s, path, (long long)info.st_size,
                                            (unsigned long long)file->size);
        }
    }
    return 0;
}

//  Whether the completed checkpoint in folder is a savepoint (which no pruning touches). A
//  _metadata that cannot be read counts as a checkpoint's: it is pruned like one.
static int s_is_savepoint(const char *folder)
{
    char path[PATH_MAX];
    uint8_t *text;
    size_t size;
    if (rill_checkpoint_join(path, sizeof path, folder, RILL_CHECKPOINT_METADATA, NULL, 0) ||
        rill_checkpoint_read_file(path, &text, &size, NULL, 0))
        return 0;
    rill_checkpoint_meta_t *meta = rill_checkpoint_meta_from_json((char *)text, NULL, 0);
    free(text);
    int savepoint = meta && rill_checkpoint_meta_kind(meta) == RILL_CHECKPOINT_KIND_SAVEPOINT;
    rill_checkpoint_meta_destroy(&meta);
    return savepoint;
}

//  After checkpoint `just` completed: removes completed checkpoints beyond the kept newest
//  (never a savepoint, never `just`) and incomplete folders older than `just` (failed or
//  abandoned checkpoints; a newer one may still be in progress). Goes on past a failure and
//  reports the first. 0, or -1.
static int s_prune(s_dir_t *self, int64_t just, char *error, size_t error_size)
{
    int64_t *ids;
    int count = rill_checkpoint_list(self->dir, &ids, error, error_size);
    if (count < 0)
        return -1;
    int failed = 0, kept = 0;
    for (int i = count - 1; i >= 0; i--) {
        char folder[PATH_MAX];
        if (ids[i] == just ||
            rill_checkpoint_folder_path(folder, sizeof folder, self->dir, ids[i], NULL, 0))
            continue;
        int complete = rill_checkpoint_is_complete(folder, failed ? NULL : error, error_size);
        int remove;
        if (complete < 0) {
            failed = 1;
            continue;
        } else if (complete)
            //  `just` counts as one of the kept when it is among the newest, as it should be.
            remove = !s_is_savepoint(folder) && ++kept + (just > ids[i]) > self->kept;
        else
            remove = ids[i] < just;
        if (remove && rill_checkpoint_remove_folder(folder, failed ? NULL : error, error_size))
            failed = 1;
    }
    free(ids);
    if (rill_checkpoint_sync_folder(self->dir, failed ? NULL : error, error_size))
        failed = 1;
    return failed ? -1 : 0;
}

static int s_complete(void *state, rill_checkpoint_kind_t kind, const rill_checkpoint_meta_t *meta,
                      char *error, size_t error_size)
{
    s_dir_t *self = state;
    int64_t id = rill_checkpoint_meta_id(meta);
    char folder[PATH_MAX], reason[PATH_MAX + 128];
    if (rill_checkpoint_folder_path(folder, sizeof folder, self->dir, id, error, error_size) ||
        s_check_files(meta, folder, error, error_size))
        return -1;
    char *text = rill_checkpoint_meta_to_json(meta, kind, rill_clock_wall_ms());
    if (!text)
        return rill_checkpoint_fail(error, error_size, "checkpoint %lld: out of memory",
                                    (long long)id);
    int rc = rill_checkpoint_write_file(folder, RILL_CHECKPOINT_METADATA, text, strlen(text),
                                        reason, sizeof reason);
    free(text);
    //  The folder's own name must be durable too before the checkpoint counts as complete.
    if (rc == 0)
        rc = rill_checkpoint_sync_folder(self->dir, reason, sizeof reason);
    if (rc)
        return rill_checkpoint_fail(error, error_size, "checkpoint %lld: %s", (long long)id,
                                    reason);
    if (kind == RILL_CHECKPOINT_KIND_SAVEPOINT || self->kept == 0)
        return 0;
    if (s_prune(self, id, reason, sizeof reason)) {
        rill_checkpoint_fail(error, error_size,
                             "checkpoint %lld completed, but older ones were not all removed: %s",
                             (long long)id, reason);
        return 1;
    }
    return 0;
}

static int s_discard(void *state, int64_t checkpoint, char *error, size_t error_size)
{
    s_dir_t *self = state;
    char folder[PATH_MAX], reason[PATH_MAX + 128];
    if (rill_checkpoint_folder_path(folder, sizeof folder, self->dir, checkpoint, error,
                                    error_size))
        return -1;
    int complete = rill_checkpoint_is_complete(folder, reason, sizeof reason);
    if (complete == 1)
        return rill_checkpoint_fail(error, error_size,
                                    "checkpoint %lld is complete: it is not discarded",
                                    (long long)checkpoint);
    if (complete < 0 || rill_checkpoint_remove_folder(folder, reason, sizeof reason))
        return rill_checkpoint_fail(error, error_size, "checkpoint %lld: %s", (long long)checkpoint,
                                    reason);
    return 0;
}

const rill_checkpoint_backend_t rill_checkpoint_dir_backend = {
    .name = "directory",
    .write_state = s_write_state,
    .complete = s_complete,
    .discard = s_discard,
    .location = s_location,
    .last_id = s_last_id,
    .destroy = s_destroy,
};
