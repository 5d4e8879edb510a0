/*  rill_collect.h: the collect sink's results, handed back to the calling C program (for
    tests and for embedding rill). */
#ifndef RILL_COLLECT_H_INCLUDED
#define RILL_COLLECT_H_INCLUDED

#include "rill_record.h"

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_collect_t rill_collect_t;

//  Creates an empty result set. NULL when out of memory.
RILL_EXPORT rill_collect_t *rill_collect_new(void);
//  Destroys it and sets the caller's pointer to NULL.
RILL_EXPORT void rill_collect_destroy(rill_collect_t **self_p);
//  Number of records collected.
RILL_EXPORT size_t rill_collect_size(rill_collect_t *self);
//  Record i (0 <= i < size). Records of one sink subtask keep their arrival order; the
//  subtasks' runs follow one another in the order the subtasks finished.
RILL_EXPORT rill_record_t rill_collect_record(rill_collect_t *self, size_t index);
//  Which sink subtask received record i.
RILL_EXPORT int rill_collect_subtask(rill_collect_t *self, size_t index);
//  Sorts records by bytes (then timestamp), for order-insensitive comparisons in tests.
RILL_EXPORT void rill_collect_sort(rill_collect_t *self);
//  Removes every record.
RILL_EXPORT void rill_collect_clear(rill_collect_t *self);

#ifdef __cplusplus
}
#endif
#endif
