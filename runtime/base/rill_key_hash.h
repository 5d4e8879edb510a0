/*  rill_key_hash.h: the one hash rill computes for a key, and what a record that crossed a
    hash edge carries of its key. The sender's partitioner hashes the key to pick the key group
    (hash % RILL_MAX_PARALLELISM); the frame carries that hash (and, when the key is a byte
    range of the record, where it lies), so the keyed operator that receives the record neither
    extracts nor hashes the key again. Both ends therefore must use this function. */
#ifndef RILL_KEY_HASH_H_INCLUDED
#define RILL_KEY_HASH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "rill_graph.h" //  RILL_MAX_PARALLELISM

//  Inlined from the packaged header: keys are short, and a call per record costs more than the
//  hashing itself.
#define XXH_INLINE_ALL
#include <xxhash.h>

//  XXH3 of the key, never 0 (0 marks an empty slot in the keyed table and "no hash" in a hint).
static inline uint64_t rill_key_hash(const void *key, size_t size)
{
    uint64_t hash = XXH3_64bits(key, size);
    return hash ? hash : 1;
}

//  The key group (0..RILL_MAX_PARALLELISM-1) of a key whose rill_key_hash is `hash`: what the
//  partitioner routes by (rill_key_group_of_hash, in the channel layer, which operators do not
//  include), so that keyed state saved by an operator goes where its key's records go.
static inline uint32_t rill_key_hash_group(uint64_t hash)
{
    return (uint32_t)(hash % RILL_MAX_PARALLELISM);
}

//  What a record carries of its key. hash is rill_key_hash of the key the receiving edge's
//  extractor gives; when offset >= 0 those key bytes are the record's bytes [offset, offset +
//  size) (a key pointing into the record), else the key was computed and only the hash came.
typedef struct {
    uint64_t hash;
    int64_t offset;
    size_t size;
} rill_key_hint_t;

#endif
