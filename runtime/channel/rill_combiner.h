/*  rill_combiner.h: pre-aggregation before the shuffle (a map-side combiner, Flink's
    combinable reduce). One per combined output edge of a sender (rill_plan_edge_t.combined):
    the writer folds each record into a bounded table (key -> partial count/sum/min/max
    accumulator, or partially reduced record) instead of serializing it, and the partials go
    to the receiver the key hashes to when the table is full, and whenever the writer drains
    it (before a watermark, an idle marker or END, and every mini-batch interval). The wire
    format is rill_partial.h's.

    It sits in the channel layer, inside the writer, rather than as an operator in front of
    it: the writer is where every record leaves a subtask, chained or not, and where the
    watermark, idle and END paths are, before which it must drain. */
#ifndef RILL_COMBINER_H_INCLUDED
#define RILL_COMBINER_H_INCLUDED

#include "rill_graph_private.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct rill_combiner_t rill_combiner_t;

//  Takes one record the combiner sends now: a partial (or, unfolded, an ordinary) record for
//  receiver index `receiver`; traced says it carries the record being traced. 0 or -1.
typedef int(rill_combiner_emit_fn)(void *ctx, int receiver, const rill_record_t *record,
                                   bool traced);

//  A combiner for a hash edge (its key extractor) into the keyed reduce `reduce` with
//  `receivers` subtasks; max_bytes bounds its memory (slots and keys and values; >= 4096).
//  Memory is taken as the table fills. NULL when out of memory.
rill_combiner_t *rill_combiner_new(const rill_edge_spec_t *edge, const rill_operator_spec_t *reduce,
                                   int receivers, size_t max_bytes);
void rill_combiner_destroy(rill_combiner_t **self_p);
//  Folds record in. What must go now goes through emit: the whole table when it is full; a
//  record that cannot be folded (no number for sum/min/max, or too large for the table),
//  after its key's partial; with traced, the record's key's partial at once, carrying the
//  trace. 0, or -1 (the key extractor or reduce function failed, out of memory, or emit
//  failed) with rill_combiner_error set, unless emit failed.
int rill_combiner_add(rill_combiner_t *self, const rill_record_t *record, bool traced,
                      rill_combiner_emit_fn *emit, void *ctx);
//  Sends every partial through emit (in the order their keys first came) and empties the
//  table. 0 or -1.
int rill_combiner_flush(rill_combiner_t *self, rill_combiner_emit_fn *emit, void *ctx);
//  Keys in the table now.
size_t rill_combiner_size(const rill_combiner_t *self);
//  Why the last call failed.
const char *rill_combiner_error(const rill_combiner_t *self);

#endif
