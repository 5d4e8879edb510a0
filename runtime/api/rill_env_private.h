/*  rill_env_private.h: what the time and window API (rill_time.c) needs from the stream API
    (rill_env.c) to add its operators. */
#ifndef RILL_ENV_PRIVATE_H_INCLUDED
#define RILL_ENV_PRIVATE_H_INCLUDED

#include "rill_env.h"
#include "rill_graph_private.h"

//  The logical graph built so far.
rill_graph_t *rill_env_graph(rill_env_t *self);

//  Adds an operator fed by every part of `in` and returns its stream (NULL propagates; `what`
//  names the call in error messages).
rill_stream_t *rill_env_apply(rill_stream_t *in, const rill_operator_spec_t *spec,
                              const char *what);
//  Adds a source operator and returns its stream (NULL with the error recorded when out of
//  memory).
rill_stream_t *rill_env_add_source(rill_env_t *self, const rill_operator_spec_t *spec);
//  A handle on side output `tag` of the single operator behind `in`, which must be of `kind`.
rill_stream_t *rill_env_side_output(rill_stream_t *in, rill_op_kind_t kind, int tag,
                                    const char *what);
//  Adds a source operator (the spec is copied) and returns its stream; NULL when out of memory.
rill_stream_t *rill_env_add_source(rill_env_t *self, const rill_operator_spec_t *spec);
//  The longest record a source of this environment may produce (rill_env_set_max_record_size).
size_t rill_env_max_record_size(const rill_env_t *self);
//  Records a build error (the first one wins).
void rill_env_fail(rill_env_t *self, const char *message);
rill_env_t *rill_stream_env(rill_stream_t *stream);
//  How many parts (operator outputs) a stream handle joins: 1, or more after a union.
int rill_stream_part_count(const rill_stream_t *stream);
//  The edge part i of stream would make into operator `to` (feedback unset). 0, or -1 when
//  there is no such part.
int rill_stream_part_edge(const rill_stream_t *stream, int i, int to, rill_edge_spec_t *edge);
//  What the handle is when it is no operator's own output ("key_by", "a sink", ...), or NULL.
const char *rill_stream_view(const rill_stream_t *stream);

#endif
