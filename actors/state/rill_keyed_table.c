/*  rill_keyed_table.c: see the header. Linear probing keeps a lookup to one or two cache
    lines; the table doubles at 70% load. */
#include "rill_keyed_table.h"
#include "rill_metrics_private.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rill_key_hash.h"

struct rill_keyed_table_t {
    rill_keyed_entry_t *slots;
    size_t slot_count; //  a power of two
    size_t size;
};

uint64_t rill_keyed_hash(const void *key, size_t size)
{
    return rill_key_hash(key, size);
}

//  The slot a hash starts probing at. Not its low bits alone: those are its key group (hash %
//  RILL_MAX_PARALLELISM), which every key of one receiver of a hash edge shares part of (all
//  of it at parallelism 256), so they would crowd a receiver's keys into a few home slots.
//  Folding the high half in mixes bits no partitioner looks at into every slot bit (a hash
//  below 2^32 keeps its low bits as its home, which the tests use to lay out probe runs).
static inline size_t s_home(uint64_t hash, size_t slot_count)
{
    return (size_t)(hash ^ (hash >> 32)) & (slot_count - 1);
}

rill_keyed_table_t *rill_keyed_table_new(void)
{
    rill_keyed_table_t *self = calloc(1, sizeof(rill_keyed_table_t));
    if (!self)
        return NULL;
    self->slot_count = 64;
    self->slots = calloc(self->slot_count, sizeof(rill_keyed_entry_t));
    if (!self->slots) {
        free(self);
        return NULL;
    }
    return self;
}

void rill_keyed_table_destroy(rill_keyed_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_keyed_table_t *self = *self_p;
    for (size_t i = 0; i < self->slot_count; i++)
        free(self->slots[i].memory);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

//  Keys are mostly short (words, ids): comparing them inline beats a call to memcmp, which
//  took 7% of WordCount's time.
static inline bool s_same_key(const uint8_t *a, const uint8_t *b, size_t size)
{
    if (size > 16)
        return memcmp(a, b, size) == 0;
    for (size_t i = 0; i < size; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static rill_keyed_entry_t *s_probe(rill_keyed_entry_t *slots, size_t slot_count, const void *key,
                                   size_t size, uint64_t hash)
{
    size_t mask = slot_count - 1;
    for (size_t i = s_home(hash, slot_count);; i = (i + 1) & mask) {
        rill_keyed_entry_t *entry = &slots[i];
        if (!entry->hash)
            return entry;
        if (entry->hash == hash && entry->key_size == size &&
            s_same_key(entry->memory, key, size))
            return entry;
    }
}

rill_keyed_entry_t *rill_keyed_table_find(rill_keyed_table_t *self, const void *key, size_t size,
                                          uint64_t hash)
{
    assert(self && (key || size == 0));
    rill_keyed_entry_t *entry = s_probe(self->slots, self->slot_count, key, size, hash);
    return entry->hash ? entry : NULL;
}

static int s_grow(rill_keyed_table_t *self)
{
    size_t slot_count = self->slot_count * 2;
    rill_keyed_entry_t *slots = calloc(slot_count, sizeof(rill_keyed_entry_t));
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->slot_count; i++) {
        rill_keyed_entry_t *old = &self->slots[i];
        if (!old->hash)
            continue;
        size_t mask = slot_count - 1, at = s_home(old->hash, slot_count);
        while (slots[at].hash)
            at = (at + 1) & mask;
        slots[at] = *old;
    }
    free(self->slots);
    self->slots = slots;
    self->slot_count = slot_count;
    return 0;
}

rill_keyed_entry_t *rill_keyed_table_put(rill_keyed_table_t *self, const void *key,
                                         size_t key_size, uint64_t hash, const void *value,
                                         size_t value_size, int64_t timestamp)
{
    assert(self && (key || key_size == 0) && (value || value_size == 0));
    if ((self->size + 1) * 10 > self->slot_count * 7 && s_grow(self))
        return NULL;
    rill_keyed_entry_t *entry = s_probe(self->slots, self->slot_count, key, key_size, hash);
    if (!entry->hash || entry->capacity < value_size) {
        size_t capacity = value_size < 16 ? 16 : value_size;
        uint8_t *memory = realloc(entry->memory, key_size + capacity);
        if (!memory)
            return NULL;
        if (!entry->hash) {
            if (key_size) //  an empty key may be NULL, which memcpy must not be given
                memcpy(memory, key, key_size);
            entry->hash = hash;
            entry->key_size = (uint32_t)key_size;
            self->size++;
        }
        entry->memory = memory;
        entry->capacity = (uint32_t)capacity;
    }
    if (value_size)
        memmove(entry->memory + entry->key_size, value, value_size);
    entry->value_size = (uint32_t)value_size;
    entry->timestamp = timestamp;
    return entry;
}

int rill_keyed_table_remove(rill_keyed_table_t *self, const void *key, size_t size, uint64_t hash)
{
    assert(self && (key || size == 0));
    rill_keyed_entry_t *entry = s_probe(self->slots, self->slot_count, key, size, hash);
    if (!entry->hash)
        return 0;
    free(entry->memory);
    //  Backward-shift deletion: pull later entries of the probe run into the hole, so no
    //  tombstones are needed and lookups stay short.
    size_t mask = self->slot_count - 1;
    size_t hole = (size_t)(entry - self->slots);
    for (size_t next = (hole + 1) & mask; self->slots[next].hash; next = (next + 1) & mask) {
        size_t home = s_home(self->slots[next].hash, self->slot_count);
        //  The entry at next may move to the hole if its home is not in (hole, next].
        bool movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
        if (movable) {
            self->slots[hole] = self->slots[next];
            hole = next;
        }
    }
    memset(&self->slots[hole], 0, sizeof(rill_keyed_entry_t));
    self->size--;
    return 1;
}

uint8_t *rill_keyed_table_resize(rill_keyed_entry_t *entry, size_t value_size)
{
    assert(entry && entry->hash); //  a live entry of a table
    if (value_size > entry->capacity) {
        size_t capacity = entry->capacity * 2 > value_size ? entry->capacity * 2 : value_size;
        uint8_t *memory = realloc(entry->memory, entry->key_size + capacity);
        if (!memory)
            return NULL;
        entry->memory = memory;
        entry->capacity = (uint32_t)capacity;
    }
    entry->value_size = (uint32_t)value_size;
    return entry->memory + entry->key_size;
}

size_t rill_keyed_table_size(const rill_keyed_table_t *self)
{
    return self->size;
}

size_t rill_keyed_table_slots(const rill_keyed_table_t *self)
{
    return self->slot_count;
}

rill_keyed_entry_t *rill_keyed_table_slot(rill_keyed_table_t *self, size_t slot)
{
    assert(self && slot < self->slot_count);
    return self->slots[slot].hash ? &self->slots[slot] : NULL;
}

double rill_keyed_table_mean_probe(const rill_keyed_table_t *self)
{
    if (!self->size)
        return 0;
    size_t mask = self->slot_count - 1, probes = 0;
    for (size_t i = 0; i < self->slot_count; i++)
        if (self->slots[i].hash)
            probes += ((i - s_home(self->slots[i].hash, self->slot_count)) & mask) + 1;
    return (double)probes / (double)self->size;
}
