/*  rill_collect.h: the collect sink's results, handed back to the calling C program (for
    tests and for embedding rill). Each sink subtask gathers its records privately and hands
    them over when it ends, so collecting takes no lock per record. */
#ifndef RILL_COLLECT_H_INCLUDED
#define RILL_COLLECT_H_INCLUDED

#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_collect_t rill_collect_t;

//  Creates an empty result set. NULL when out of memory.
rill_collect_t *rill_collect_new(void);
//  Destroys it and sets the caller's pointer to NULL.
void rill_collect_destroy(rill_collect_t **self_p);
//  Number of records collected.
size_t rill_collect_size(rill_collect_t *self);
//  Record i (0 <= i < size). Records of one sink subtask keep their arrival order; the
//  subtasks' runs follow one another in the order the subtasks finished.
rill_record_t rill_collect_record(rill_collect_t *self, size_t index);
//  Which sink subtask received record i.
int rill_collect_subtask(rill_collect_t *self, size_t index);
//  Sorts records by bytes (then timestamp), for order-insensitive comparisons in tests.
void rill_collect_sort(rill_collect_t *self);
//  Removes every record.
void rill_collect_clear(rill_collect_t *self);

//  Used by the collect sink: a subtask gathers its records into a run (one buffer) with
//  rill_collect_run_add, then hands the whole run over with rill_collect_append_run
//  (thread-safe). Both return 0, or -1 when out of memory.
int rill_collect_run_add(rill_buffer_t *run, const rill_record_t *record);
int rill_collect_append_run(rill_collect_t *self, int subtask, const rill_buffer_t *run);

#ifdef __cplusplus
}
#endif
#endif
