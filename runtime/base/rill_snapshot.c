/*  rill_snapshot.c: see the header. */
#include "rill_snapshot.h"
#include "rill_graph.h"
#include "rill_number.h"

#include <assert.h>
#include <stdlib.h>

//  rill_key_group_receiver, restated here (runtime/base sits below the channel layer): key
//  group g of RILL_MAX_PARALLELISM goes to the subtask owning its contiguous range.
static inline int s_group_owner(uint32_t group, int parallelism)
{
    return (int)((uint64_t)group * (uint64_t)parallelism / RILL_MAX_PARALLELISM);
}

int rill_snapshot_put(rill_buffer_t *out, rill_state_scope_t scope, uint8_t tag, uint32_t group,
                      const void *a, size_t a_size, const void *b, size_t b_size)
{
    assert(out && scope >= RILL_STATE_KEYED && scope <= RILL_STATE_BROADCAST);
    assert(scope != RILL_STATE_KEYED || group < RILL_MAX_PARALLELISM);
    uint8_t head[2 + 3 * 10];
    size_t size = 0;
    head[size++] = (uint8_t)scope;
    head[size++] = tag;
    size += rill_varint_put(head + size, group);
    size += rill_varint_put(head + size, a_size);
    if (rill_buffer_append(out, head, size) || (a_size && rill_buffer_append(out, a, a_size)))
        return -1;
    size = rill_varint_put(head, b_size);
    if (rill_buffer_append(out, head, size) || (b_size && rill_buffer_append(out, b, b_size)))
        return -1;
    return 0;
}

int rill_snapshot_get(const uint8_t **at, const uint8_t *end, rill_state_entry_t *entry)
{
    const uint8_t *p = *at;
    if (p == end)
        return 0;
    if (end - p < 2 || p[0] < RILL_STATE_KEYED || p[0] > RILL_STATE_BROADCAST)
        return -1;
    entry->scope = (rill_state_scope_t)p[0];
    entry->tag = p[1];
    p += 2;
    uint64_t group, a_size, b_size;
    if (rill_varint_get(&p, end, &group) || group > UINT32_MAX ||
        (entry->scope == RILL_STATE_KEYED && group >= RILL_MAX_PARALLELISM))
        return -1;
    if (rill_varint_get(&p, end, &a_size) || a_size > (uint64_t)(end - p))
        return -1;
    entry->a = p;
    entry->a_size = (size_t)a_size;
    p += a_size;
    if (rill_varint_get(&p, end, &b_size) || b_size > (uint64_t)(end - p))
        return -1;
    entry->b = p;
    entry->b_size = (size_t)b_size;
    p += b_size;
    entry->group = (uint32_t)group;
    *at = p;
    return 1;
}

struct rill_state_reader_t {
    const rill_state_part_t *parts;
    int part_count;
    int old_parallelism;
    int index;
    int parallelism;
    int part;          //  the part being read
    const uint8_t *at; //  within it
};

rill_state_reader_t *rill_state_reader_new(const rill_state_part_t *parts, int part_count,
                                           int old_parallelism, int index, int parallelism)
{
    assert(part_count >= 0 && (parts || !part_count) && index >= 0 && index < parallelism);
    rill_state_reader_t *self = calloc(1, sizeof(rill_state_reader_t));
    if (!self)
        return NULL;
    *self = (rill_state_reader_t){parts, part_count, old_parallelism, index, parallelism, 0,
                                  part_count ? parts[0].data : NULL};
    return self;
}

void rill_state_reader_destroy(rill_state_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

//  Whether entry, from part `part`, belongs to this reader's subtask.
static bool s_mine(const rill_state_reader_t *self, int part, const rill_state_entry_t *entry)
{
    switch (entry->scope) {
    case RILL_STATE_KEYED:
        return s_group_owner(entry->group, self->parallelism) == self->index;
    case RILL_STATE_SPLIT:
        return (int)(entry->group % (uint32_t)self->parallelism) == self->index;
    case RILL_STATE_BROADCAST:
        return part == self->index % self->part_count;
    default:
        return self->parallelism == self->old_parallelism && part == self->index;
    }
}

int rill_state_reader_next(rill_state_reader_t *self, rill_state_entry_t *entry)
{
    while (self->part < self->part_count) {
        const rill_state_part_t *part = &self->parts[self->part];
        int rc = rill_snapshot_get(&self->at, part->data + part->size, entry);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            self->part++;
            self->at = self->part < self->part_count ? self->parts[self->part].data : NULL;
            continue;
        }
        if (s_mine(self, self->part, entry))
            return 1;
    }
    return 0;
}

bool rill_state_reader_has_operator_state(const rill_state_reader_t *self)
{
    for (int i = 0; i < self->part_count; i++) {
        const uint8_t *at = self->parts[i].data, *end = at + self->parts[i].size;
        rill_state_entry_t entry;
        int rc;
        while ((rc = rill_snapshot_get(&at, end, &entry)) > 0)
            if (entry.scope == RILL_STATE_OPERATOR)
                return true;
    }
    return false;
}
