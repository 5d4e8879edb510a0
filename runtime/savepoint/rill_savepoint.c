/*  rill_savepoint.c: a checkpoint's named keyed state, read by operator and state name
    (rill_savepoint.h). The loader (runtime/checkpoint) verifies the files; the layouts are
    the operators' own: a process function's table entries take their state key apart with
    rill_process_state_key_parts, a triggered window's named state is a map per window
    (rill_window_map_next). Nothing here knows a layout of its own. */
#include "rill_savepoint.h"
#include "rill_checkpoint.h"
#include "rill_process_private.h"
#include "rill_snapshot.h"
#include "rill_window_private.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rill_savepoint_t {
    rill_checkpoint_t *checkpoint;
};

rill_savepoint_t *rill_savepoint_open(const char *path, char *error, size_t error_size)
{
    if (!path) {
        if (error && error_size)
            snprintf(error, error_size, "no checkpoint path given");
        return NULL;
    }
    rill_checkpoint_t *checkpoint = rill_checkpoint_load(path, error, error_size, NULL, 0);
    if (!checkpoint)
        return NULL;
    rill_savepoint_t *self = calloc(1, sizeof(rill_savepoint_t));
    if (!self) {
        rill_checkpoint_destroy(&checkpoint);
        if (error && error_size)
            snprintf(error, error_size, "out of memory");
        return NULL;
    }
    self->checkpoint = checkpoint;
    return self;
}

void rill_savepoint_destroy(rill_savepoint_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_checkpoint_destroy(&(*self_p)->checkpoint);
    free(*self_p);
    *self_p = NULL;
}

int64_t rill_savepoint_id(const rill_savepoint_t *self)
{
    assert(self);
    return rill_checkpoint_id(self->checkpoint);
}

const char *rill_savepoint_job_name(const rill_savepoint_t *self)
{
    assert(self);
    return rill_checkpoint_job_name(self->checkpoint);
}

const char *rill_savepoint_kind(const rill_savepoint_t *self)
{
    assert(self);
    return rill_checkpoint_kind_name(rill_checkpoint_kind(self->checkpoint));
}

int rill_savepoint_operator_count(const rill_savepoint_t *self)
{
    assert(self);
    return rill_checkpoint_operator_count(self->checkpoint);
}

const char *rill_savepoint_operator_name(const rill_savepoint_t *self, int id)
{
    assert(self);
    const rill_checkpoint_operator_t *op = rill_checkpoint_operator(self->checkpoint, id);
    return op ? op->name : NULL;
}

const char *rill_savepoint_operator_kind(const rill_savepoint_t *self, int id)
{
    assert(self);
    const rill_checkpoint_operator_t *op = rill_checkpoint_operator(self->checkpoint, id);
    return op ? op->op_kind : NULL;
}

int rill_savepoint_operator_parallelism(const rill_savepoint_t *self, int id)
{
    assert(self);
    const rill_checkpoint_operator_t *op = rill_checkpoint_operator(self->checkpoint, id);
    return op ? op->parallelism : -1;
}

int rill_savepoint_operator_find(const rill_savepoint_t *self, const char *name)
{
    assert(self);
    for (int id = 0; name && id < rill_savepoint_operator_count(self); id++)
        if (strcmp(rill_savepoint_operator_name(self, id), name) == 0)
            return id;
    return -1;
}

//  The runtime's own names start with byte 1 (timer markers); a map's key list is kind 'K'.
static bool s_user_state(const char *name, char kind)
{
    return name[0] != '\1' && (kind == 'V' || kind == 'M' || kind == 'L');
}

//  A process function's table entry: its state key's parts, then the value after the 8-byte
//  timestamp.
static int s_process_entry(const rill_state_entry_t *entry, const char *name, int subtask,
                           rill_state_item_fn *fn, void *ctx, bool *malformed)
{
    rill_process_state_parts_t parts;
    if (rill_process_state_key_parts(entry->a, entry->a_size, &parts) ||
        entry->b_size < sizeof(int64_t)) {
        *malformed = true;
        return -1;
    }
    if (!s_user_state(parts.name, parts.kind) || (name && strcmp(name, parts.name) != 0))
        return 0;
    rill_state_item_t item = {.name = parts.name,
                              .kind = (rill_state_item_kind_t)parts.kind,
                              .key = parts.key,
                              .key_size = parts.key_size,
                              .map_key = parts.kind == 'M' ? parts.map_key : NULL,
                              .map_key_size = parts.kind == 'M' ? parts.map_key_size : 0,
                              .value = entry->b + sizeof(int64_t),
                              .value_size = entry->b_size - sizeof(int64_t),
                              .subtask = subtask};
    return fn(&item, ctx);
}

//  A triggered window's named state: one item per name in the window's (or key's) map.
static int s_window_entry(const rill_state_entry_t *entry, const char *name, int subtask,
                          rill_state_item_fn *fn, void *ctx, bool *malformed)
{
    if (entry->a_size < RILL_WINDOW_BOUNDS_SIZE || entry->b_size < sizeof(int64_t)) {
        *malformed = true;
        return -1;
    }
    rill_window_bounds_t bounds = rill_window_state_key_bounds(entry->a, entry->a_size);
    bool global = bounds.start == RILL_WINDOW_GLOBAL_STATE_START &&
                  bounds.end == RILL_WINDOW_GLOBAL_STATE_START + 1;
    const uint8_t *at = entry->b + sizeof(int64_t), *end = entry->b + entry->b_size;
    const uint8_t *n, *value;
    size_t name_size, value_size;
    while (rill_window_map_next(&at, end, &n, &name_size, &value, &value_size) == 0) {
        char text[256];
        if (name_size == 0 || n[0] == '\1' || name_size >= sizeof text)
            continue; //  timer markers (and names too long to be a C string we gave out)
        memcpy(text, n, name_size);
        text[name_size] = 0;
        if (name && strcmp(name, text) != 0)
            continue;
        rill_state_item_t item = {.name = text,
                                  .kind = RILL_STATE_ITEM_WINDOW,
                                  .key = entry->a,
                                  .key_size = entry->a_size - RILL_WINDOW_BOUNDS_SIZE,
                                  .window = bounds,
                                  .global = global,
                                  .value = value,
                                  .value_size = value_size,
                                  .subtask = subtask};
        int rc = fn(&item, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int rill_savepoint_each_state(rill_savepoint_t *self, int id, const char *name,
                              rill_state_item_fn *fn, void *ctx, char *error, size_t error_size)
{
    assert(self && fn);
    const rill_checkpoint_operator_t *op = rill_checkpoint_operator(self->checkpoint, id);
    if (!op) {
        if (error && error_size)
            snprintf(error, error_size, "no operator %d in the checkpoint", id);
        return -1;
    }
    bool process = op->kind == RILL_OP_PROCESS, window = op->kind == RILL_OP_WINDOW;
    if (!process && !window) {
        if (error && error_size)
            snprintf(error, error_size,
                     "operator '%s' (%s) keeps no named state: only process functions, joins "
                     "and windows with a trigger or window_apply do",
                     op->name, op->op_kind);
        return -1;
    }
    uint8_t tag = process ? RILL_PROCESS_SNAPSHOT_TAG_STATE : RILL_WINDOW_SNAPSHOT_TAG_META;
    const rill_state_part_t *parts = rill_checkpoint_state(self->checkpoint, id);
    for (int subtask = 0; subtask < op->parallelism; subtask++) {
        const uint8_t *at = parts[subtask].data, *end = at + parts[subtask].size;
        rill_state_entry_t entry;
        bool malformed = false;
        int got = 0;
        while (at && !malformed && (got = rill_snapshot_get(&at, end, &entry)) == 1) {
            if (entry.scope != RILL_STATE_KEYED || entry.tag != tag)
                continue;
            int rc = process ? s_process_entry(&entry, name, subtask, fn, ctx, &malformed)
                             : s_window_entry(&entry, name, subtask, fn, ctx, &malformed);
            if (rc && !malformed)
                return rc;
        }
        if (malformed || got < 0) {
            if (error && error_size)
                snprintf(error, error_size, "operator '%s' subtask %d: malformed state file",
                         op->name, subtask);
            return -1;
        }
    }
    return 0;
}
