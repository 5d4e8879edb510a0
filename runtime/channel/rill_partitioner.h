/*  rill_partitioner.h: the channel selector (Flink's ChannelSelector): a small pure function
    from a record to the index of the receiving subtask, one per exchange pattern. The writer
    calls it once per record per output edge. */
#ifndef RILL_PARTITIONER_H_INCLUDED
#define RILL_PARTITIONER_H_INCLUDED

#include "rill_graph.h"
#include "rill_graph_private.h"
#include "rill_key_hash.h"

//  Returned for broadcast: every receiver gets the record.
#define RILL_PARTITION_ALL (-2)

typedef struct {
    rill_pattern_t pattern;
    int sender;    //  this sender's index
    int receivers; //  receiving operator's parallelism
    int lo, hi;    //  receivers this sender is connected to: [lo, hi)
    int next;      //  round-robin position (rebalance, rescale)
    uint64_t rng;  //  xorshift state (shuffle)
    rill_key_fn key;
    void *key_ctx;
    rill_partition_fn custom;
    void *custom_ctx;
} rill_partitioner_t;

//  Sets up the selector for sender `sender` of an edge with this pattern (resolved, never
//  DEFAULT); lo/hi is the range of receivers its channels reach.
void rill_partitioner_init(rill_partitioner_t *self, const rill_edge_spec_t *edge,
                           rill_pattern_t pattern, int sender, int receivers, int lo, int hi);

//  The key group (0..RILL_MAX_PARALLELISM-1) of a key (of its rill_key_hash), and the receiver that
//  owns a key group when there are `receivers` receivers (contiguous ranges of key groups, as in
//  Flink).
int rill_key_group(const void *key, size_t size);
//  The key group of a key whose rill_key_hash is known (what rill_key_group computes).
static inline int rill_key_group_of_hash(uint64_t hash)
{
    return (int)(hash % RILL_MAX_PARALLELISM);
}
static inline int rill_key_group_receiver(int key_group, int receivers)
{
    return key_group * receivers / RILL_MAX_PARALLELISM;
}

//  The receiver index for record, RILL_PARTITION_ALL, or -1 when a user function failed or a
//  custom partitioner returned an index out of range (*error then says which). key (NULL: not
//  wanted): on a hash edge, the key's hash and where it lies in the record (the frame carries
//  them to the receiver); key->hash is 0 on every other pattern. Forward, the most common edge, is
//  answered inline; the other patterns by rill_partitioner_select_other.
int rill_partitioner_select_other(rill_partitioner_t *self, const rill_record_t *record,
                                  rill_key_hint_t *key, const char **error);
static inline int rill_partitioner_select(rill_partitioner_t *self, const rill_record_t *record,
                                          rill_key_hint_t *key, const char **error)
{
    if (self->pattern == RILL_PATTERN_FORWARD) {
        if (key)
            key->hash = 0;
        return self->sender;
    }
    return rill_partitioner_select_other(self, record, key, error);
}

#endif
