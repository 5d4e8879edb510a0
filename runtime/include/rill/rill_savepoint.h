/*  rill_savepoint.h: reading a checkpoint or savepoint's named state (Flink's State Processor
    API, reading side). State is addressed as a Flink user addresses it: by operator name and
    state name, the names the job gave rill_state_value_set, rill_state_map_put, ... and
    rill_window_state_set. `rill state PATH` is built on it. */
#ifndef RILL_SAVEPOINT_H_INCLUDED
#define RILL_SAVEPOINT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_export.h"
#include "rill_trigger.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_savepoint_t rill_savepoint_t;

//  Reads a checkpoint or savepoint: one checkpoint's folder (DIR/chk-<id>, a savepoint's
//  folder) or a checkpoint store (its newest intact checkpoint), every state file checked
//  against the metadata. NULL with a message in error when it cannot be read.
RILL_EXPORT rill_savepoint_t *rill_savepoint_open(const char *path, char *error,
                                                  size_t error_size);
RILL_EXPORT void rill_savepoint_destroy(rill_savepoint_t **self_p);
RILL_EXPORT int64_t rill_savepoint_id(const rill_savepoint_t *self);
RILL_EXPORT const char *rill_savepoint_job_name(const rill_savepoint_t *self);
//  "checkpoint" or "savepoint".
RILL_EXPORT const char *rill_savepoint_kind(const rill_savepoint_t *self);
RILL_EXPORT int rill_savepoint_operator_count(const rill_savepoint_t *self);
//  Operator id's name, precise kind ("process", "window", "source_file", ...) and parallelism
//  when it was saved; NULL (or -1) when id is out of range.
RILL_EXPORT const char *rill_savepoint_operator_name(const rill_savepoint_t *self, int id);
RILL_EXPORT const char *rill_savepoint_operator_kind(const rill_savepoint_t *self, int id);
RILL_EXPORT int rill_savepoint_operator_parallelism(const rill_savepoint_t *self, int id);
//  The id of the operator of that name, or -1.
RILL_EXPORT int rill_savepoint_operator_find(const rill_savepoint_t *self, const char *name);

typedef enum {
    RILL_STATE_ITEM_VALUE = 'V', //  value, reducing and aggregating state
    RILL_STATE_ITEM_MAP = 'M',   //  one map entry (map_key)
    RILL_STATE_ITEM_LIST = 'L',  //  a whole list (walk it with rill_state_list_next)
    RILL_STATE_ITEM_WINDOW = 'W', //  a window's named state (window), or a key's (global)
} rill_state_item_kind_t;

//  One entry of named keyed state, as saved. Bytes valid during the callback only.
typedef struct {
    const char *name;
    rill_state_item_kind_t kind;
    const void *key; //  the record key
    size_t key_size;
    const void *map_key; //  MAP: the entry's key
    size_t map_key_size;
    rill_window_bounds_t window; //  WINDOW: the window's bounds
    bool global;                 //  WINDOW: per-key state (rill_window_global_state_set)
    const void *value;
    size_t value_size;
    int subtask; //  the subtask that saved it
} rill_state_item_t;

typedef int(rill_state_item_fn)(const rill_state_item_t *item, void *ctx);
//  Calls fn for every entry of named keyed state of operator id (a process function, a
//  connected or broadcast process, a join, or a window with a trigger or window_apply), of
//  the state called name (NULL: of every name), in the order each subtask saved them. The
//  runtime's own entries (timer markers, a map's key list) are left out. 0, the first
//  non-zero return of fn, or -1 with a message in error (an operator with no named state, a
//  malformed state file).
RILL_EXPORT int rill_savepoint_each_state(rill_savepoint_t *self, int id, const char *name,
                                          rill_state_item_fn *fn, void *ctx, char *error,
                                          size_t error_size);

#ifdef __cplusplus
}
#endif
#endif
