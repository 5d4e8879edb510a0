/*  rill_subtask_iteration.c: when may an iteration end? The rounds of termination probes
    one head subtask runs (rill_iterate.h), and why they are sound.

    Once every input of the head but the feedback has ended, each head subtask h sends probe 1
    into the loop body, in band after its records, then probe k + 1 as soon as probe k has come
    back on every channel of its feedback edge. Operators inside the loop align a probe on
    their inputs as they align a checkpoint barrier (a channel that delivered it is held back
    until all have) and forward it after every record they emitted before it; the tail sends
    it back on the feedback edge, which reaches every head subtask from every tail subtask.
    Probe k + 1 carries the count c_h(k): records h took back from a feedback channel after it
    sent probe k and before probe k came on that channel. As probes align, counts add up, so
    the probes k + 1 that come back to any head carry, between them, every head's c(k) (some
    more than once: only whether the total is 0 matters). Probe 1 carries 1: no round before.

    Why a total of 0 for round k proves the loop empty for good: the probes of round k are the
    markers of a Chandy-Lamport snapshot initiated by the heads. Each head records its state
    when it sends probe k; each operator inside records when the probe is aligned (and, being
    stateless, holds no record then); an aligned channel's state is empty; a feedback channel,
    which the head never holds back (it must always take feedback, see backpressure), has as
    state exactly the records counted in c(k). Channels keep order per pair of subtasks, which
    is what makes the markers cut every channel consistently; and a head holds back the frames
    of a feedback sender whose probe k + 1 came before it sent its own probe k + 1 (that sender
    is a round ahead), so no record sent after a marker is taken before the head's own marker.
    The snapshot is thus a consistent global state; in it the head's inputs have ended (probe
    1 goes out only after), no operator holds a record, and every channel is empty when the
    total is 0. An empty loop with ended inputs stays empty (records enter only through the
    head), so the loop has ended, and every head sees the same total (every tail sends the
    same probe to every head) and ends its output in the same round. Nothing waits on the
    next round: at worst two rounds after the last record came back. */
#include "rill_subtask_iteration.h"

#include <stdlib.h>

struct rill_iteration_rounds_t {
    int senders;
    int64_t round;    //  the probe last sent (0: not started)
    int64_t *arrived; //  by sender: the last probe that came back from it
    int pending;      //  senders whose probe `round` has not come back yet
    uint64_t total;   //  the counts probe `round` carried back so far
    uint64_t ahead;   //  the counts probe `round + 1` carried back already
    uint64_t counted; //  c(round) so far: records taken in this round before their probe
};

rill_iteration_rounds_t *rill_iteration_rounds_new(int senders)
{
    rill_iteration_rounds_t *self = calloc(1, sizeof(rill_iteration_rounds_t));
    if (!self || !(self->arrived = calloc((size_t)senders + 1, sizeof(int64_t)))) {
        free(self);
        return NULL;
    }
    self->senders = senders;
    return self;
}

void rill_iteration_rounds_destroy(rill_iteration_rounds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->arrived);
    free(*self_p);
    *self_p = NULL;
}

//  Moves to the next round: what came back ahead now belongs to it.
static void s_advance(rill_iteration_rounds_t *self)
{
    self->round++;
    self->total = self->ahead;
    self->ahead = 0;
    self->counted = 0;
    self->pending = 0;
    for (int s = 0; s < self->senders; s++)
        if (self->arrived[s] < self->round)
            self->pending++;
}

void rill_iteration_rounds_start(rill_iteration_rounds_t *self, int64_t *round, uint64_t *count)
{
    s_advance(self);
    *round = self->round;
    *count = 1;
}

bool rill_iteration_rounds_started(const rill_iteration_rounds_t *self)
{
    return self->round > 0;
}

int64_t rill_iteration_rounds_round(const rill_iteration_rounds_t *self)
{
    return self->round;
}

bool rill_iteration_rounds_ahead(const rill_iteration_rounds_t *self, int sender)
{
    return sender >= 0 && sender < self->senders && self->arrived[sender] > self->round;
}

void rill_iteration_rounds_record(rill_iteration_rounds_t *self, int sender)
{
    if (self->round > 0 && self->arrived[sender] < self->round)
        self->counted++;
}

int rill_iteration_rounds_probe(rill_iteration_rounds_t *self, int sender, int64_t probe_round,
                                uint64_t count, int64_t *round, uint64_t *next_count)
{
    if (sender < 0 || sender >= self->senders || probe_round != self->arrived[sender] + 1 ||
        probe_round > self->round + 1)
        return -1;
    self->arrived[sender] = probe_round;
    uint64_t *sum = probe_round == self->round ? &self->total : &self->ahead;
    *sum = *sum + count < *sum ? UINT64_MAX : *sum + count;
    if (probe_round != self->round || --self->pending > 0)
        return RILL_ROUNDS_WAIT;
    //  Probe `round` is back from every sender: its total is c(round - 1) over every head.
    if (self->round >= 2 && self->total == 0)
        return RILL_ROUNDS_DONE;
    uint64_t counted = self->counted;
    s_advance(self);
    *round = self->round;
    *next_count = counted;
    return RILL_ROUNDS_NEXT;
}
