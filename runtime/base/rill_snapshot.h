/*  rill_snapshot.h: the bytes of one operator subtask's state in a checkpoint, and how they
    are read back. State is a sequence of entries; each says how it may be redistributed when
    the job is restored at another parallelism:
      - RILL_STATE_KEYED: belongs to a key group (0..RILL_MAX_PARALLELISM-1, the group
        rill_key_group gives the entry's key); on restore it goes to the subtask that owns the
        group (rill_key_group_receiver), as keyed records do.
      - RILL_STATE_SPLIT: a unit of a source's work (a byte range of a file); group is the split
        number; on restore split s goes to subtask s % parallelism.
      - RILL_STATE_OPERATOR: the subtask's own, indivisible (a generator's sequence, a sink's
        committed length); restored only at the same parallelism, to the same index.
      - RILL_STATE_BROADCAST: the same in every subtask (Flink's broadcast state): on restore
        every subtask takes the entries of one old subtask (index % the old parallelism).
    An entry carries a tag (the operator's own meaning: a value, a timer, a window) and two
    byte strings (a and b, say key and value). Encoding: scope byte, tag byte, group varint,
    a's size varint, a, b's size varint, b. Decoding is strict: a truncated or malformed
    entry is an error, never a guess. */
#ifndef RILL_SNAPSHOT_H_INCLUDED
#define RILL_SNAPSHOT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_buffer.h"

typedef enum {
    RILL_STATE_KEYED = 1,
    RILL_STATE_SPLIT = 2,
    RILL_STATE_OPERATOR = 3,
    RILL_STATE_BROADCAST = 4,
} rill_state_scope_t;

typedef struct {
    rill_state_scope_t scope;
    uint8_t tag;
    uint32_t group;
    const uint8_t *a;
    size_t a_size;
    const uint8_t *b;
    size_t b_size;
} rill_state_entry_t;

//  Appends one entry to out. 0, or -1 when out of memory.
int rill_snapshot_put(rill_buffer_t *out, rill_state_scope_t scope, uint8_t tag, uint32_t group,
                      const void *a, size_t a_size, const void *b, size_t b_size);

//  Reads the entry at *at within [*at, end), moving *at past it. 1 with *entry set, 0 at the
//  end, -1 when the bytes are not a well-formed entry.
int rill_snapshot_get(const uint8_t **at, const uint8_t *end, rill_state_entry_t *entry);

//  What an operator's restore reads: the entries of its state that belong to this subtask
//  (already filtered by scope and group), in the order they were written per old subtask.
typedef struct rill_state_reader_t rill_state_reader_t;
//  The next entry: 1 with *entry set (valid until the next call), 0 at the end, -1 on a
//  malformed snapshot.
int rill_state_reader_next(rill_state_reader_t *self, rill_state_entry_t *entry);

//  A reader over parts: the state sections of the operator's old subtasks (one part each),
//  filtered for subtask `index` of `parallelism`. An OPERATOR entry is taken only when
//  parallelism equals old_parallelism and it comes from part `index`. Built by the runtime;
//  tests build one directly. parts are not copied and must outlive the reader.
typedef struct {
    const uint8_t *data;
    size_t size;
} rill_state_part_t;
rill_state_reader_t *rill_state_reader_new(const rill_state_part_t *parts, int part_count,
                                           int old_parallelism, int index, int parallelism);
void rill_state_reader_destroy(rill_state_reader_t **self_p);
//  True when some part holds an OPERATOR entry (which cannot go to another parallelism).
bool rill_state_reader_has_operator_state(const rill_state_reader_t *self);

#endif
