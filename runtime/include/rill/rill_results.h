/*  rill_results.h: the collect sink's results, handed back to the calling C program (for
    tests and for embedding rill). */
#ifndef RILL_RESULTS_H_INCLUDED
#define RILL_RESULTS_H_INCLUDED

#include "rill_record.h"

#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_results_t rill_results_t;

//  Creates an empty result set. NULL when out of memory.
RILL_EXPORT rill_results_t *rill_results_new(void);
//  Destroys it and sets the caller's pointer to NULL.
RILL_EXPORT void rill_results_destroy(rill_results_t **self_p);
//  Number of records collected.
RILL_EXPORT size_t rill_results_size(rill_results_t *self);
//  Record i (0 <= i < size). Records of one sink subtask keep their arrival order; the
//  subtasks' runs follow one another in the order the subtasks finished.
RILL_EXPORT rill_record_t rill_results_record(rill_results_t *self, size_t index);
//  Which sink subtask received record i.
RILL_EXPORT int rill_results_subtask(rill_results_t *self, size_t index);
//  Sorts records by bytes (then timestamp), for order-insensitive comparisons in tests.
RILL_EXPORT void rill_results_sort(rill_results_t *self);
//  Removes every record.
RILL_EXPORT void rill_results_clear(rill_results_t *self);

#ifdef __cplusplus
}
#endif
#endif
