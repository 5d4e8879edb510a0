/*  rill_partitioner.c: one selection rule per exchange pattern. Keys are hashed once with
    xxHash's XXH3 into one of RILL_MAX_PARALLELISM key groups; a key group maps to a receiver,
    so every record of a key reaches the same receiver and rescaling can move whole groups. */
#include "rill_partitioner.h"
#include "rill_graph_private.h"

#include <assert.h>

void rill_partitioner_init(rill_partitioner_t *self, const rill_edge_spec_t *edge,
                           rill_pattern_t pattern, int sender, int receivers, int lo, int hi)
{
    //  The plan gives each sender a receiver range inside the receiving operator.
    assert(self && edge && receivers > 0 && 0 <= lo && lo <= hi && hi <= receivers);
    *self = (rill_partitioner_t){
        .pattern = pattern,
        .sender = sender,
        .receivers = receivers,
        .lo = lo,
        .hi = hi,
        .key = edge->key,
        .key_ctx = edge->key_ctx,
        .custom = edge->partition,
        .custom_ctx = edge->partition_ctx,
    };
    //  Start each sender's round robin at a different receiver so that small inputs from
    //  many senders still spread over all receivers.
    self->next = hi > lo ? sender % (hi - lo) : 0;
    self->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)sender * 0xBF58476D1CE4E5B9ull) ^ 1;
}

int rill_key_group(const void *key, size_t size)
{
    return rill_key_group_of_hash(rill_key_hash(key, size));
}

static inline int s_round_robin(rill_partitioner_t *self)
{
    int target = self->lo + self->next;
    if (++self->next == self->hi - self->lo)
        self->next = 0;
    return target;
}

int rill_partitioner_select_other(rill_partitioner_t *self, const rill_record_t *record,
                                  rill_key_hint_t *key, const char **error)
{
    assert(self && record);
    if (key)
        key->hash = 0;
    switch (self->pattern) {
    case RILL_PATTERN_FORWARD:
        return self->sender;
    case RILL_PATTERN_GLOBAL:
        return 0;
    case RILL_PATTERN_BROADCAST:
        return RILL_PARTITION_ALL;
    case RILL_PATTERN_REBALANCE:
    case RILL_PATTERN_RESCALE:
        return s_round_robin(self);
    case RILL_PATTERN_SHUFFLE: {
        uint64_t x = self->rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self->rng = x;
        return (int)(x % (uint64_t)self->receivers);
    }
    case RILL_PATTERN_HASH: {
        rill_key_t extracted;
        if (self->key(record, &extracted, self->key_ctx)) {
            *error = "key extractor failed";
            return -1;
        }
        uint64_t hash = rill_key_hash(extracted.data, extracted.size);
        if (!key)
            return rill_key_group_receiver(rill_key_group_of_hash(hash), self->receivers);
        key->hash = hash;
        //  A key that points into the record travels as a range of it; a computed one (in
        //  its scratch, or anywhere else) only as its hash.
        //  Unsigned: a key before the record wraps to an offset past it.
        uintptr_t offset = (uintptr_t)extracted.data - (uintptr_t)record->data;
        if (record->size && offset <= record->size && extracted.size <= record->size - offset) {
            key->offset = (int64_t)offset;
            key->size = extracted.size;
        } else {
            key->offset = -1;
            key->size = extracted.size;
        }
        return rill_key_group_receiver(rill_key_group_of_hash(key->hash), self->receivers);
    }
    case RILL_PATTERN_CUSTOM: {
        rill_key_t key = {0};
        if (self->key && self->key(record, &key, self->key_ctx)) {
            *error = "key extractor failed";
            return -1;
        }
        int target = self->custom(record, self->key ? &key : NULL, self->receivers,
                                  self->custom_ctx);
        if (target < 0 || target >= self->receivers) {
            *error = "custom partitioner returned a receiver out of range";
            return -1;
        }
        return target;
    }
    default:
        *error = "unknown exchange pattern";
        return -1;
    }
}
