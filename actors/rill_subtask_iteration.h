/*  rill_subtask_iteration.h: the termination rounds of one iteration head subtask
    (rill_iterate.h). Pure bookkeeping, no sockets: the subtask loop (rill_subtask.c) tells it
    what came back on the feedback edge and sends the probes it asks for. */
#ifndef RILL_SUBTASK_ITERATION_H_INCLUDED
#define RILL_SUBTASK_ITERATION_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct rill_iteration_rounds_t rill_iteration_rounds_t;

//  What a probe coming back means for the head.
typedef enum {
    RILL_ROUNDS_WAIT = 0, //  the round is not complete yet
    RILL_ROUNDS_NEXT = 1, //  send the next probe (round and count given)
    RILL_ROUNDS_DONE = 2, //  the loop is empty: end the head's output
} rill_rounds_step_t;

//  Rounds for a head whose feedback edge has `senders` sending subtasks (the tail's
//  parallelism). NULL when out of memory.
rill_iteration_rounds_t *rill_iteration_rounds_new(int senders);
void rill_iteration_rounds_destroy(rill_iteration_rounds_t **self_p);
//  Every input of the head but the feedback has ended: round 1 starts. Gives the first
//  probe's round and count to send.
void rill_iteration_rounds_start(rill_iteration_rounds_t *self, int64_t *round, uint64_t *count);
bool rill_iteration_rounds_started(const rill_iteration_rounds_t *self);
//  The round last sent (0 before the start).
int64_t rill_iteration_rounds_round(const rill_iteration_rounds_t *self);
//  Whether frames from feedback sender `sender` must be held back, unread, until the head
//  sends its next probe: that sender's probe for it came already (it is a round ahead).
bool rill_iteration_rounds_ahead(const rill_iteration_rounds_t *self, int sender);
//  A record came back from sender (and was handed into the body).
void rill_iteration_rounds_record(rill_iteration_rounds_t *self, int sender);
//  A probe came back from sender. RILL_ROUNDS_NEXT sets *round and *count to the probe to
//  send; -1 when the probe breaks the protocol (not the sender's next round).
int rill_iteration_rounds_probe(rill_iteration_rounds_t *self, int sender, int64_t probe_round,
                                uint64_t count, int64_t *round, uint64_t *next_count);

#endif
