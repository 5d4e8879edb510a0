/*  rill_checkpoint.c: finding, verifying and reading a checkpoint (see the header). A store
    directory may hold a newer checkpoint that a crash left half written or that the disk
    damaged since; the loader passes over it with a note rather than fail the restore, as long
    as an older intact one is there. */
#include "rill_checkpoint.h"
#include "rill_checkpoint_files.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

struct rill_checkpoint_t {
    char *path;
    rill_checkpoint_meta_t *meta;
    rill_state_part_t **parts; //  per operator, its parallelism parts
    uint8_t **bytes;           //  every state file read, to free
    int byte_count;
};

void rill_checkpoint_destroy(rill_checkpoint_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_checkpoint_t *self = *self_p;
    for (int i = 0; self->bytes && i < self->byte_count; i++)
        free(self->bytes[i]);
    free(self->bytes);
    for (int i = 0;
         self->parts && self->meta && i < rill_checkpoint_meta_operator_count(self->meta); i++)
        free(self->parts[i]);
    free(self->parts);
    rill_checkpoint_meta_destroy(&self->meta);
    free(self->path);
    free(self);
    *self_p = NULL;
}

//  Appends formatted text to the string in buffer (which may be NULL), cutting it short.
static void s_append(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void s_append(char *buffer, size_t size, const char *format, ...)
{
    if (!buffer || !size)
        return;
    size_t used = strnlen(buffer, size - 1);
    va_list args;
    va_start(args, format);
    vsnprintf(buffer + used, size - used, format, args);
    va_end(args);
}

//  Reads and verifies one operator subtask's state file into self.
static int s_read_state(rill_checkpoint_t *self, const char *folder,
                        const rill_checkpoint_operator_t *op, int index, char *error,
                        size_t error_size)
{
    const rill_state_file_t *file = &op->files[index];
    char path[PATH_MAX], reason[PATH_MAX + 64];
    uint8_t *data;
    size_t size;
    if (rill_checkpoint_join(path, sizeof path, folder, file->name, reason, sizeof reason) ||
        rill_checkpoint_read_file(path, &data, &size, reason, sizeof reason))
        goto failed;
    self->bytes[self->byte_count++] = data;
    if (size != file->size) {
        snprintf(reason, sizeof reason, "%zu bytes, the metadata says %" PRIu64, size, file->size);
        goto failed;
    }
    uint64_t checksum = XXH64(data, size, 0);
    if (checksum != file->checksum) {
        snprintf(reason, sizeof reason,
                 "checksum %016" PRIx64 ", the metadata says %016" PRIx64 " (damaged)", checksum,
                 file->checksum);
        goto failed;
    }
    self->parts[op->id][index] = (rill_state_part_t){data, size};
    return 0;

failed:
    return rill_checkpoint_fail(error, error_size, "state file %s of operator '%s' subtask %d: %s",
                                file->name, op->name, index, reason);
}

//  Reads the completed checkpoint in folder; expected is the id its folder's name gives, or -1.
//  NULL with why in error.
static rill_checkpoint_t *s_load_folder(const char *folder, int64_t expected, char *error,
                                        size_t error_size)
{
    char path[PATH_MAX];
    uint8_t *text;
    size_t size;
    if (rill_checkpoint_join(path, sizeof path, folder, RILL_CHECKPOINT_METADATA, error,
                             error_size) ||
        rill_checkpoint_read_file(path, &text, &size, error, error_size))
        return NULL;
    rill_checkpoint_meta_t *meta = NULL;
    if (strlen((char *)text) != size)
        rill_checkpoint_fail(error, error_size, "checkpoint metadata: a NUL byte in the text");
    else
        meta = rill_checkpoint_meta_from_json((char *)text, error, error_size);
    free(text);
    if (!meta)
        return NULL;
    if (expected >= 0 && rill_checkpoint_meta_id(meta) != expected) {
        rill_checkpoint_fail(error, error_size, "its metadata is checkpoint %lld's",
                             (long long)rill_checkpoint_meta_id(meta));
        rill_checkpoint_meta_destroy(&meta);
        return NULL;
    }

    int operators = rill_checkpoint_meta_operator_count(meta), files = 0;
    for (int i = 0; i < operators; i++)
        files += rill_checkpoint_meta_operator(meta, i)->parallelism;
    rill_checkpoint_t *self = calloc(1, sizeof *self);
    if (self) {
        self->meta = meta;
        self->path = strdup(folder);
        self->parts = calloc((size_t)operators + 1, sizeof *self->parts);
        self->bytes = calloc((size_t)files + 1, sizeof *self->bytes);
    }
    if (!self || !self->path || !self->parts || !self->bytes) {
        if (self)
            rill_checkpoint_destroy(&self);
        else
            rill_checkpoint_meta_destroy(&meta);
        rill_checkpoint_fail(error, error_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < operators; i++) {
        const rill_checkpoint_operator_t *op = rill_checkpoint_meta_operator(meta, i);
        self->parts[i] = calloc((size_t)op->parallelism, sizeof(rill_state_part_t));
        if (!self->parts[i]) {
            rill_checkpoint_fail(error, error_size, "out of memory");
            rill_checkpoint_destroy(&self);
            return NULL;
        }
        for (int s = 0; s < op->parallelism; s++)
            if (s_read_state(self, folder, op, s, error, error_size)) {
                rill_checkpoint_destroy(&self);
                return NULL;
            }
    }
    return self;
}

//  The id a folder's last path component names ("chk-7" gives 7), or -1.
static int64_t s_folder_id(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    for (size_t n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
        copy[n - 1] = '\0';
    const char *slash = strrchr(copy, '/');
    int64_t id;
    return rill_checkpoint_folder_id(slash ? slash + 1 : copy, &id) ? id : -1;
}

//  The newest usable checkpoint of the store directory dir.
static rill_checkpoint_t *s_load_store(const char *dir, char *error, size_t error_size, char *notes,
                                       size_t notes_size)
{
    int64_t *ids;
    int count = rill_checkpoint_list(dir, &ids, error, error_size);
    if (count < 0)
        return NULL;
    if (count == 0) {
        rill_checkpoint_fail(error, error_size,
                             "'%s' holds no checkpoint: neither a _metadata nor a chk-<id> folder",
                             dir);
        return NULL;
    }
    //  Every reason is kept for the error too: notes may be NULL, and when nothing is usable
    //  the reasons are the message.
    char reasons[4096] = "";
    rill_checkpoint_t *self = NULL;
    for (int i = count - 1; i >= 0 && !self; i--) {
        char folder[PATH_MAX], why[PATH_MAX + 256];
        if (rill_checkpoint_folder_path(folder, sizeof folder, dir, ids[i], why, sizeof why))
            continue;
        int complete = rill_checkpoint_is_complete(folder, why, sizeof why);
        if (complete == 0)
            snprintf(why, sizeof why, "not completed (no %s)", RILL_CHECKPOINT_METADATA);
        if (complete == 1)
            self = s_load_folder(folder, ids[i], why, sizeof why);
        if (self)
            break;
        s_append(notes, notes_size, "skipped checkpoint %lld (%s): %s\n", (long long)ids[i], folder,
                 why);
        s_append(reasons, sizeof reasons, "%schk-%lld: %s", reasons[0] ? "; " : "",
                 (long long)ids[i], why);
    }
    free(ids);
    if (!self)
        rill_checkpoint_fail(error, error_size, "no usable checkpoint in '%s': %s", dir, reasons);
    return self;
}

rill_checkpoint_t *rill_checkpoint_load(const char *path, char *error, size_t error_size,
                                        char *notes, size_t notes_size)
{
    assert(path);
    if (notes && notes_size)
        notes[0] = '\0';
    struct stat info;
    if (stat(path, &info) != 0) {
        rill_checkpoint_fail(error, error_size, "cannot open checkpoint '%s': %s", path,
                             strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(info.st_mode)) {
        rill_checkpoint_fail(error, error_size, "checkpoint '%s' is not a directory", path);
        return NULL;
    }
    char why[PATH_MAX + 256];
    int complete = rill_checkpoint_is_complete(path, why, sizeof why);
    if (complete < 0) {
        rill_checkpoint_fail(error, error_size, "checkpoint '%s': %s", path, why);
        return NULL;
    }
    if (complete == 0)
        return s_load_store(path, error, error_size, notes, notes_size);
    //  One folder named: exactly that one, nothing to fall back to.
    rill_checkpoint_t *self = s_load_folder(path, s_folder_id(path), why, sizeof why);
    if (!self)
        rill_checkpoint_fail(error, error_size, "checkpoint '%s': %s", path, why);
    return self;
}

int64_t rill_checkpoint_id(const rill_checkpoint_t *self)
{
    return rill_checkpoint_meta_id(self->meta);
}

rill_checkpoint_kind_t rill_checkpoint_kind(const rill_checkpoint_t *self)
{
    return rill_checkpoint_meta_kind(self->meta);
}

const char *rill_checkpoint_job_name(const rill_checkpoint_t *self)
{
    return rill_checkpoint_meta_job_name(self->meta);
}

const char *rill_checkpoint_path(const rill_checkpoint_t *self)
{
    return self->path;
}

const rill_checkpoint_meta_t *rill_checkpoint_meta(const rill_checkpoint_t *self)
{
    return self->meta;
}

int rill_checkpoint_operator_count(const rill_checkpoint_t *self)
{
    return rill_checkpoint_meta_operator_count(self->meta);
}

const rill_checkpoint_operator_t *rill_checkpoint_operator(const rill_checkpoint_t *self, int id)
{
    return rill_checkpoint_meta_operator(self->meta, id);
}

const rill_state_part_t *rill_checkpoint_state(const rill_checkpoint_t *self, int id)
{
    if (id < 0 || id >= rill_checkpoint_operator_count(self))
        return NULL;
    return self->parts[id];
}

int rill_checkpoint_check_plan(const rill_checkpoint_t *self, const rill_plan_t *plan, char *error,
                               size_t error_size)
{
    int count = rill_checkpoint_operator_count(self);
    if (rill_plan_operator_count(plan) != count)
        return rill_checkpoint_fail(error, error_size,
                                    "checkpoint %lld has %d operators, the job has %d: not the "
                                    "same job",
                                    (long long)rill_checkpoint_id(self), count,
                                    rill_plan_operator_count(plan));
    for (int i = 0; i < count; i++) {
        const rill_checkpoint_operator_t *old = rill_checkpoint_operator(self, i);
        const rill_plan_operator_t *now = rill_plan_operator(plan, i);
        if (strcmp(old->name, now->name) != 0 || old->kind != now->kind)
            return rill_checkpoint_fail(
                error, error_size,
                "operator %d is '%s' (%s) in checkpoint %lld but '%s' (%s) in the job: not the "
                "same job",
                i, old->name, old->op_kind, (long long)rill_checkpoint_id(self), now->name,
                rill_checkpoint_op_kind_name(now->kind) ? rill_checkpoint_op_kind_name(now->kind)
                                                        : now->kind_name);
        if (old->parallelism == now->parallelism)
            continue;
        rill_state_reader_t *reader =
            rill_state_reader_new(self->parts[i], old->parallelism, old->parallelism, 0, 1);
        if (!reader)
            return rill_checkpoint_fail(error, error_size, "out of memory");
        bool indivisible = rill_state_reader_has_operator_state(reader);
        rill_state_reader_destroy(&reader);
        if (indivisible)
            return rill_checkpoint_fail(error, error_size,
                                        "operator '%s' has operator state at parallelism %d, "
                                        "which cannot be restored at parallelism %d",
                                        old->name, old->parallelism, now->parallelism);
    }
    return 0;
}
