/*  rill_keyed_table.h: a subtask's keyed state: a hash table from key bytes to one value
    (bytes plus a timestamp). Open addressing with linear probing over one entry array; each
    entry's key and value share one allocation, which is reused while the value fits, so an
    update of an existing key does not allocate. Memory per key: sizeof(rill_keyed_entry_t)
    / 0.7 load factor (about 46 bytes) plus the key and value bytes rounded up by malloc. */
#ifndef RILL_KEYED_TABLE_H_INCLUDED
#define RILL_KEYED_TABLE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash; //  0 marks an empty slot (real hashes are forced non-zero)
    uint8_t *memory;
    uint32_t key_size;
    uint32_t value_size;
    uint32_t capacity; //  bytes of memory for the value
    uint32_t mark;     //  the owner's (0 when put; the keyed reduce marks keys not yet emitted)
    int64_t timestamp;
} rill_keyed_entry_t;

typedef struct rill_keyed_table_t rill_keyed_table_t;

rill_keyed_table_t *rill_keyed_table_new(void);
void rill_keyed_table_destroy(rill_keyed_table_t **self_p);
//  The entry of key, or NULL.
rill_keyed_entry_t *rill_keyed_table_find(rill_keyed_table_t *self, const void *key, size_t size,
                                          uint64_t hash);
//  Sets key's value (inserting the key when new). Returns the entry, or NULL when out of memory.
rill_keyed_entry_t *rill_keyed_table_put(rill_keyed_table_t *self, const void *key,
                                         size_t key_size, uint64_t hash, const void *value,
                                         size_t value_size, int64_t timestamp);
//  Removes key's entry; 1 when there was one, else 0. Entry pointers taken before are invalid.
int rill_keyed_table_remove(rill_keyed_table_t *self, const void *key, size_t size, uint64_t hash);
//  Resizes an entry's value to value_size bytes, keeping the first bytes; returns the value
//  bytes, or NULL when out of memory (the entry is unchanged then).
uint8_t *rill_keyed_table_resize(rill_keyed_entry_t *entry, size_t value_size);
//  The key and value bytes of an entry.
static inline const uint8_t *rill_keyed_entry_key(const rill_keyed_entry_t *entry)
{
    return entry->memory;
}
static inline const uint8_t *rill_keyed_entry_value(const rill_keyed_entry_t *entry)
{
    return entry->memory + entry->key_size;
}
//  Number of keys; and iteration: slot i (0 <= i < slots), NULL for an empty slot.
size_t rill_keyed_table_size(const rill_keyed_table_t *self);
size_t rill_keyed_table_slots(const rill_keyed_table_t *self);
rill_keyed_entry_t *rill_keyed_table_slot(rill_keyed_table_t *self, size_t slot);
//  The hash rill uses for keys (rill_key_hash: XXH3, never 0; the same the partitioner carries).
uint64_t rill_keyed_hash(const void *key, size_t size);
//  Slots a lookup of a present key visits, on average over the keys (1: every key in its home
//  slot): how well the table spreads its keys.
double rill_keyed_table_mean_probe(const rill_keyed_table_t *self);

#endif
