/*  rill_results_private.h: the collect sink's handover to a result set. Each sink subtask
    (rill_op_sinks.c) gathers its records privately and hands them over when it ends, so
    collecting takes no lock per record; programs only read the results (rill_results.h). */
#ifndef RILL_RESULTS_PRIVATE_H_INCLUDED
#define RILL_RESULTS_PRIVATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "rill_buffer.h"
#include "rill_results.h"

//  Used by the collect sink: a subtask gathers its records into a run (one buffer) with
//  rill_results_run_add, then hands the whole run over with rill_results_append_run
//  (thread-safe). Both return 0, or -1 when out of memory.
int rill_results_run_add(rill_buffer_t *run, const rill_record_t *record);
int rill_results_append_run(rill_results_t *self, int subtask, const rill_buffer_t *run);
//  Whether size bytes at data are a well-formed run (a checkpoint's copy of one, before the
//  collect sink takes it back): every record whole, nothing after the last.
bool rill_results_run_valid(const void *data, size_t size);

#endif
