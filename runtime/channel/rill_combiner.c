/*  rill_combiner.c: see the header. The table is open addressing with linear probing over
    8-byte slots (the hash's low 32 bits, an offset) into one arena that holds each key's entry: a
   small header, the key, the value (a rill_number_acc_t, or a reduced record), each 8-byte aligned.
   The arena is filled front to back, so a flush walks it in the order keys came and resets it with
   no free per key; an entry that moves (a reduced value outgrew its room) or leaves early (a traced
   key) stays behind, marked dead. Slots and arena start small and double up to the bound, so a
   sender that sees few keys takes little memory. */
#include "rill_combiner.h"
#include "rill_buffer_private.h"
#include "rill_partial.h"
#include "rill_partitioner.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL //  as in rill_partitioner.c: no library call per record
#include <xxhash.h>

//  8 bytes, so that the slots of a full default table (128 Ki) take 1 MiB: a probe's first
//  cache miss is the slot, the second the entry.
typedef struct {
    uint32_t hash; //  the key's hash, low 32 bits (0 is made 1): 0 marks an empty slot
    uint32_t offset;
} s_slot_t;

typedef struct {
    int64_t timestamp; //  the highest of the records folded in
    uint32_t key_size;
    uint32_t value_size;
    uint32_t capacity; //  bytes of room for the value
    int32_t receiver;  //  where the key goes; -1 once the entry is dead
} s_entry_t;

struct rill_combiner_t {
    rill_key_fn key;
    void *key_ctx;
    rill_agg_t agg; //  RILL_AGG_NONE: the user's reduce function
    rill_reduce_fn reduce;
    void *reduce_ctx;
    rill_number_result_t which;
    int receivers;
    s_slot_t *slots;
    size_t slot_count; //  a power of two, at most max_slots
    size_t max_slots;
    size_t keys; //  live keys, at most max_slots / 2
    uint8_t *arena;
    size_t arena_used;
    size_t arena_capacity;
    size_t max_arena;
    rill_buffer_t *scratch; //  a reduce function's result
    rill_buffer_t *encoded; //  the record being emitted
    char error[256];
};

#define S_ALIGN(size) (((size) + 7) & ~(size_t)7)

static inline s_entry_t *s_entry(const rill_combiner_t *self, uint32_t offset)
{
    return (s_entry_t *)(self->arena + offset);
}

static inline uint8_t *s_key(s_entry_t *entry)
{
    return (uint8_t *)(entry + 1);
}

static inline uint8_t *s_value(s_entry_t *entry)
{
    return s_key(entry) + S_ALIGN(entry->key_size);
}

static inline size_t s_entry_size(const s_entry_t *entry)
{
    return sizeof(s_entry_t) + S_ALIGN(entry->key_size) + S_ALIGN(entry->capacity);
}

rill_combiner_t *rill_combiner_new(const rill_edge_spec_t *edge, const rill_operator_spec_t *reduce,
                                   int receivers, size_t max_bytes)
{
    //  The planner combines only hash edges into a reduce; the environment bounds the memory.
    assert(edge && edge->key && reduce && reduce->kind == RILL_OP_REDUCE && receivers > 0 &&
           max_bytes >= 4096);
    rill_combiner_t *self = calloc(1, sizeof(rill_combiner_t));
    if (!self)
        return NULL;
    static const rill_number_result_t results[] = {
        [RILL_AGG_SUM] = RILL_NUMBER_SUM,
        [RILL_AGG_COUNT] = RILL_NUMBER_COUNT,
        [RILL_AGG_MIN] = RILL_NUMBER_MIN,
        [RILL_AGG_MAX] = RILL_NUMBER_MAX,
    };
    self->key = edge->key;
    self->key_ctx = edge->key_ctx;
    self->agg = reduce->agg;
    self->which = results[reduce->agg == RILL_AGG_NONE ? RILL_AGG_SUM : reduce->agg];
    self->reduce = reduce->fn.reduce;
    self->reduce_ctx = reduce->ctx;
    self->receivers = receivers;
    //  A quarter of the bound for slots (at most half of them used), the rest for the arena.
    self->max_slots = 16;
    while (self->max_slots * 2 * sizeof(s_slot_t) <= max_bytes / 4)
        self->max_slots *= 2;
    self->max_arena = max_bytes - self->max_slots * sizeof(s_slot_t);
    if (self->max_arena > UINT32_MAX)
        self->max_arena = UINT32_MAX; //  offsets are 32-bit
    self->slot_count = self->max_slots < 1024 ? self->max_slots : 1024;
    self->arena_capacity = self->max_arena < 65536 ? self->max_arena : 65536;
    self->slots = calloc(self->slot_count, sizeof(s_slot_t));
    self->arena = malloc(self->arena_capacity);
    self->scratch = rill_buffer_new();
    self->encoded = rill_buffer_new();
    if (!self->slots || !self->arena || !self->scratch || !self->encoded)
        rill_combiner_destroy(&self);
    return self;
}

void rill_combiner_destroy(rill_combiner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_combiner_t *self = *self_p;
    free(self->slots);
    free(self->arena);
    rill_buffer_destroy(&self->scratch);
    rill_buffer_destroy(&self->encoded);
    free(self);
    *self_p = NULL;
}

static int s_fail(rill_combiner_t *self, const char *why)
{
    snprintf(self->error, sizeof self->error, "%s", why);
    return -1;
}

//  Keys are mostly short: an inline loop beats a call to memcmp (as in rill_keyed_table.c).
static inline bool s_same_key(const uint8_t *a, const uint8_t *b, size_t size)
{
    if (size > 16)
        return memcmp(a, b, size) == 0;
    for (size_t i = 0; i < size; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

//  The slot holding key, or the empty slot where it would go.
static s_slot_t *s_find(rill_combiner_t *self, const void *key, size_t size, uint32_t hash)
{
    size_t mask = self->slot_count - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        s_slot_t *slot = &self->slots[i];
        if (!slot->hash)
            return slot;
        if (slot->hash == hash) {
            s_entry_t *entry = s_entry(self, slot->offset);
            if (entry->key_size == size && s_same_key(s_key(entry), key, size))
                return slot;
        }
    }
}

static int s_grow_slots(rill_combiner_t *self)
{
    size_t count = self->slot_count * 2, mask = count - 1;
    s_slot_t *slots = calloc(count, sizeof(s_slot_t));
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->slot_count; i++) {
        if (!self->slots[i].hash)
            continue;
        size_t at = self->slots[i].hash & mask;
        while (slots[at].hash)
            at = (at + 1) & mask;
        slots[at] = self->slots[i];
    }
    free(self->slots);
    self->slots = slots;
    self->slot_count = count;
    return 0;
}

//  Takes `size` bytes at the arena's end: the offset, or -1 when the bound leaves no room,
//  -2 when out of memory.
static long s_take(rill_combiner_t *self, size_t size)
{
    if (self->arena_used + size > self->max_arena)
        return -1;
    if (self->arena_used + size > self->arena_capacity) {
        size_t capacity = self->arena_capacity * 2;
        while (capacity < self->arena_used + size)
            capacity *= 2;
        if (capacity > self->max_arena)
            capacity = self->max_arena;
        uint8_t *arena = realloc(self->arena, capacity);
        if (!arena)
            return -2;
        self->arena = arena;
        self->arena_capacity = capacity;
    }
    long offset = (long)self->arena_used;
    self->arena_used += size;
    return offset;
}

//  Removes the slot's key from the table (its entry stays in the arena, dead). Backward-shift
//  deletion, as rill_keyed_table_remove: no tombstones.
static void s_remove(rill_combiner_t *self, s_slot_t *slot)
{
    s_entry(self, slot->offset)->receiver = -1;
    size_t mask = self->slot_count - 1;
    size_t hole = (size_t)(slot - self->slots);
    for (size_t next = (hole + 1) & mask; self->slots[next].hash; next = (next + 1) & mask) {
        size_t home = self->slots[next].hash & mask;
        bool movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
        if (movable) {
            self->slots[hole] = self->slots[next];
            hole = next;
        }
    }
    self->slots[hole] = (s_slot_t){0};
    self->keys--;
}

//  Writes the partial of (key, value) into self->encoded: value is a uint64_t for count (a
//  whole accumulator would double a word's entry), a rill_number_acc_t for the other
//  built-ins, the reduced record's bytes for a reduce function.
static int s_encode(rill_combiner_t *self, const void *key, size_t key_size, const void *value,
                    size_t value_size, int64_t timestamp, rill_record_t *record)
{
    uint8_t head[11];
    head[0] = RILL_PARTIAL_FOLDED;
    size_t head_size = 1 + rill_varint_put(head + 1, key_size);
    rill_buffer_t *out = self->encoded;
    if (rill_buffer_set(out, head, head_size) || rill_buffer_append(out, key, key_size))
        return s_fail(self, "out of memory");
    rill_number_acc_t counted;
    if (self->agg == RILL_AGG_COUNT) {
        rill_number_acc_init(&counted);
        memcpy(&counted.count, value, sizeof counted.count);
        value = &counted;
    }
    int rc = self->agg == RILL_AGG_NONE ? rill_buffer_append(out, value, value_size)
                                        : rill_number_acc_encode(value, self->which, out);
    if (rc)
        return s_fail(self, "out of memory");
    *record = (rill_record_t){out->data, out->size, timestamp};
    return 0;
}

static int s_emit_entry(rill_combiner_t *self, s_entry_t *entry, bool traced,
                        rill_combiner_emit_fn *emit, void *ctx)
{
    rill_record_t record;
    if (s_encode(self, s_key(entry), entry->key_size, s_value(entry), entry->value_size,
                 entry->timestamp, &record))
        return -1;
    return emit(ctx, entry->receiver, &record, traced);
}

int rill_combiner_flush(rill_combiner_t *self, rill_combiner_emit_fn *emit, void *ctx)
{
    assert(self && emit);
    for (size_t at = 0; at < self->arena_used;) {
        s_entry_t *entry = s_entry(self, (uint32_t)at);
        if (entry->receiver >= 0 && s_emit_entry(self, entry, false, emit, ctx))
            return -1;
        at += s_entry_size(entry);
    }
    if (self->keys)
        memset(self->slots, 0, self->slot_count * sizeof(s_slot_t));
    self->keys = 0;
    self->arena_used = 0;
    return 0;
}

//  A record that is not folded: its key's partial first (order per key is kept), then the
//  record itself, as an ordinary record.
static int s_send_as_is(rill_combiner_t *self, const rill_record_t *record, const void *key,
                        size_t key_size, uint32_t hash, int receiver, bool traced,
                        rill_combiner_emit_fn *emit, void *ctx)
{
    s_slot_t *slot = s_find(self, key, key_size, hash);
    if (slot->hash) {
        if (s_emit_entry(self, s_entry(self, slot->offset), false, emit, ctx))
            return -1;
        s_remove(self, slot);
    }
    uint8_t tag = RILL_PARTIAL_RECORD;
    if (rill_buffer_set(self->encoded, &tag, 1) ||
        rill_buffer_append(self->encoded, record->data, record->size))
        return s_fail(self, "out of memory");
    rill_record_t as_is = {self->encoded->data, self->encoded->size, record->timestamp};
    return emit(ctx, receiver, &as_is, traced);
}

//  Folds record into an existing entry. 0, 1 when the reduced value no longer fits the
//  entry (it is in self->scratch then), or -1.
static int s_fold(rill_combiner_t *self, s_entry_t *entry, const rill_record_t *record,
                  int64_t integer, double real, bool is_real)
{
    int64_t timestamp = record->timestamp > entry->timestamp ? record->timestamp : entry->timestamp;
    if (self->agg == RILL_AGG_COUNT) {
        entry->timestamp = timestamp;
        (*(uint64_t *)s_value(entry))++;
        return 0;
    }
    if (self->agg != RILL_AGG_NONE) {
        entry->timestamp = timestamp;
        rill_number_acc_add_value((rill_number_acc_t *)s_value(entry), integer, real, is_real);
        return 0;
    }
    rill_record_t acc = {s_value(entry), entry->value_size, entry->timestamp};
    rill_buffer_reset(self->scratch);
    if (self->reduce(&acc, record, self->scratch, self->reduce_ctx))
        return s_fail(self, "user function failed");
    entry->timestamp = timestamp;
    if (self->scratch->size > entry->capacity)
        return 1;
    if (self->scratch->size)
        memcpy(s_value(entry), self->scratch->data, self->scratch->size);
    entry->value_size = (uint32_t)self->scratch->size;
    return 0;
}

//  Moves the slot's entry to the arena's end with room for the reduced value in
//  self->scratch (twice the old room at least, so a growing value moves rarely); the old
//  entry stays behind, dead. 0 with *moved set, 1 when the bound leaves no room, or -1.
static int s_move(rill_combiner_t *self, s_slot_t *slot, s_entry_t **moved)
{
    s_entry_t *old = s_entry(self, slot->offset);
    size_t value_size = self->scratch->size;
    size_t capacity =
        S_ALIGN(value_size > 2 * (size_t)old->capacity ? value_size : 2 * (size_t)old->capacity);
    size_t size = sizeof(s_entry_t) + S_ALIGN(old->key_size) + capacity;
    long offset = s_take(self, size);
    if (offset < 0)
        return offset == -2 ? s_fail(self, "out of memory") : 1;
    old = s_entry(self, slot->offset); //  the arena may have moved
    s_entry_t *entry = s_entry(self, (uint32_t)offset);
    *entry = *old;
    entry->capacity = (uint32_t)capacity;
    entry->value_size = (uint32_t)value_size;
    memcpy(s_key(entry), s_key(old), old->key_size);
    if (value_size)
        memcpy(s_value(entry), self->scratch->data, value_size);
    old->receiver = -1;
    slot->offset = (uint32_t)offset;
    *moved = entry;
    return 0;
}

//  Adds a new entry for key with value (bytes, or an accumulator), table room permitting.
//  The entry, or NULL with *rc 1 (no room even in an empty table) or -1.
static s_entry_t *s_insert(rill_combiner_t *self, s_slot_t *slot, const void *key, size_t key_size,
                           uint32_t hash, int receiver, const void *value, size_t value_size,
                           int64_t timestamp, int *rc)
{
    size_t capacity = S_ALIGN(value_size < 16 ? 16 : value_size);
    size_t size = sizeof(s_entry_t) + S_ALIGN(key_size) + capacity;
    long offset = s_take(self, size);
    if (offset == -2) {
        *rc = s_fail(self, "out of memory");
        return NULL;
    }
    if (offset < 0) {
        *rc = 1;
        return NULL;
    }
    s_entry_t *entry = s_entry(self, (uint32_t)offset);
    *entry = (s_entry_t){timestamp, (uint32_t)key_size, (uint32_t)value_size, (uint32_t)capacity,
                         receiver};
    if (key_size)
        memcpy(s_key(entry), key, key_size);
    if (value_size)
        memcpy(s_value(entry), value, value_size);
    *slot = (s_slot_t){(uint32_t)hash, (uint32_t)offset};
    self->keys++;
    return entry;
}

int rill_combiner_add(rill_combiner_t *self, const rill_record_t *record, bool traced,
                      rill_combiner_emit_fn *emit, void *ctx)
{
    assert(self && record && emit);
    rill_key_t key;
    if (self->key(record, &key, self->key_ctx))
        return s_fail(self, "key extractor failed");
    //  The hash the partitioner would compute (rill_key_hash), so the receiver agrees.
    uint64_t raw = rill_key_hash(key.data, key.size);
    uint32_t hash = (uint32_t)raw ? (uint32_t)raw : 1; //  0 marks an empty slot
    //  The receiver as the partitioner picks it (rill_partitioner_select, pattern hash).
    int receiver = rill_key_group_receiver(rill_key_group_of_hash(raw), self->receivers);
    int64_t integer = 0;
    double real = 0;
    bool is_real = false;
    bool summed =
        self->agg == RILL_AGG_SUM || self->agg == RILL_AGG_MIN || self->agg == RILL_AGG_MAX;
    if (summed && rill_number_parse(record, &integer, &real, &is_real))
        //  The reduce will fail on it with its usual message, naming itself.
        return s_send_as_is(self, record, key.data, key.size, hash, receiver, traced, emit, ctx);
    s_slot_t *slot = s_find(self, key.data, key.size, hash);
    s_entry_t *entry = NULL;
    if (slot->hash) {
        entry = s_entry(self, slot->offset);
        int rc = s_fold(self, entry, record, integer, real, is_real);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            rc = s_move(self, slot, &entry);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                //  No room for the reduced value: send it now, in place of the entry.
                rill_record_t partial;
                int64_t timestamp = s_entry(self, slot->offset)->timestamp;
                s_remove(self, slot);
                if (s_encode(self, key.data, key.size, self->scratch->data, self->scratch->size,
                             timestamp, &partial))
                    return -1;
                return emit(ctx, receiver, &partial, traced);
            }
        }
    } else {
        rill_number_acc_t acc;
        uint64_t one = 1;
        const void *value = record->data;
        size_t value_size = record->size;
        if (self->agg == RILL_AGG_COUNT) {
            value = &one;
            value_size = sizeof one;
        } else if (self->agg != RILL_AGG_NONE) {
            rill_number_acc_init(&acc);
            rill_number_acc_add_value(&acc, integer, real, is_real);
            value = &acc;
            value_size = sizeof acc;
        }
        int rc = 0;
        if (self->keys + 1 > self->slot_count / 2) {
            if (self->slot_count < self->max_slots) {
                if (s_grow_slots(self))
                    return s_fail(self, "out of memory");
            } else if (rill_combiner_flush(self, emit, ctx))
                return -1; //  full of keys: send them all and start again
            slot = s_find(self, key.data, key.size, hash);
        }
        entry = s_insert(self, slot, key.data, key.size, hash, receiver, value, value_size,
                         record->timestamp, &rc);
        if (!entry && rc == 1) {
            //  Full of bytes: send everything and start again.
            if (rill_combiner_flush(self, emit, ctx))
                return -1;
            slot = s_find(self, key.data, key.size, hash);
            entry = s_insert(self, slot, key.data, key.size, hash, receiver, value, value_size,
                             record->timestamp, &rc);
        }
        if (!entry && rc == 1) //  larger than the whole table
            return s_send_as_is(self, record, key.data, key.size, hash, receiver, traced, emit,
                                ctx);
        if (!entry)
            return -1;
    }
    if (!traced)
        return 0;
    //  A traced record goes on at once, inside its key's partial, so traces keep their hop.
    int rc = s_emit_entry(self, entry, true, emit, ctx);
    s_remove(self, s_find(self, key.data, key.size, hash));
    return rc;
}

size_t rill_combiner_size(const rill_combiner_t *self)
{
    return self->keys;
}

const char *rill_combiner_error(const rill_combiner_t *self)
{
    return self->error;
}
