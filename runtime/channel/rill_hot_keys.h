/*  rill_hot_keys.h: the heaviest keys a sender sends on a hash edge, estimated with the
    Space-Saving algorithm (Metwally, Agrawal and El Abbadi, 2005): k counters; a key without one
    takes the smallest counter over, adding to its count, so every key whose share of the
    stream is above 1/k is surely kept, and no count is under the key's true count. The writer
    feeds it a sample of its records (one in RILL_HOT_KEYS_SAMPLE on average over a sender's
    first RILL_HOT_KEYS_DENSE records, so a short run has enough; one in RILL_HOT_KEYS_SPARSE
    after; at random gaps so periodic input cannot hide a key), each weighted by the gap it
    ends: a hot key is hot in any sample, and the record path pays for one record in many. */
#ifndef RILL_HOT_KEYS_H_INCLUDED
#define RILL_HOT_KEYS_H_INCLUDED

#include "rill_metrics.h"

#include <stddef.h>
#include <stdint.h>

//  Counters kept per sender and edge, and the mean sampling intervals: for the first
//  RILL_HOT_KEYS_DENSE records, then after.
#define RILL_HOT_KEYS_SLOTS 32
#define RILL_HOT_KEYS_SAMPLE 16
#define RILL_HOT_KEYS_DENSE 65536
#define RILL_HOT_KEYS_SPARSE 64

typedef struct rill_hot_keys_t rill_hot_keys_t;

rill_hot_keys_t *rill_hot_keys_new(void);
void rill_hot_keys_destroy(rill_hot_keys_t **self_p);
//  Counts weight records of the key (hash: its rill_key_hash) that go to receiver.
void rill_hot_keys_add(rill_hot_keys_t *self, uint64_t hash, const void *key, size_t size,
                       int receiver, uint64_t weight);
//  The heaviest keys, heaviest first, into keys (at most max): how many.
int rill_hot_keys_top(const rill_hot_keys_t *self, rill_hot_key_t *keys, int max);

#endif
