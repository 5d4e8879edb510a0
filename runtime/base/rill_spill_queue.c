/*  rill_spill_queue.c: a FIFO in two parts, a ring of entries in memory and, once the memory
    bound is reached, an unnamed temporary file (tmpfile: gone when closed, or when the process
    dies). Order is kept by a simple rule: while the file holds anything, new entries go to
    the file too, behind it; entries are taken from memory first (they are all older than the
    file's), then from the file, which is truncated and reused once read to its end. */
#include "rill_spill_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int tag;
    size_t size;
    uint8_t *data;
} s_entry_t;

struct rill_spill_queue_t {
    size_t bound;
    s_entry_t *ring; //  memory entries, oldest at head
    size_t capacity, head, count;
    size_t bytes;   //  bytes of the memory entries
    FILE *file;     //  NULL until the first spill
    size_t in_file; //  entries written and not yet read back
    long read_at;   //  where the oldest of them starts (writes go to the end)
    uint64_t spilled;
    uint8_t *taken; //  the last entry popped (owned), valid until the next call
    size_t taken_capacity;
};

rill_spill_queue_t *rill_spill_queue_new(size_t memory_bound)
{
    rill_spill_queue_t *self = calloc(1, sizeof(rill_spill_queue_t));
    if (self)
        self->bound = memory_bound;
    return self;
}

void rill_spill_queue_destroy(rill_spill_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_spill_queue_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free(self->ring[(self->head + i) % self->capacity].data);
    free(self->ring);
    if (self->file)
        fclose(self->file);
    free(self->taken);
    free(self);
    *self_p = NULL;
}

static int s_push_file(rill_spill_queue_t *self, int tag, const void *data, size_t size)
{
    if (!self->file && !(self->file = tmpfile()))
        return -1;
    uint64_t header[2] = {(uint64_t)(int64_t)tag, size};
    if (fseek(self->file, 0, SEEK_END) || fwrite(header, sizeof header, 1, self->file) != 1 ||
        (size && fwrite(data, size, 1, self->file) != 1))
        return -1;
    self->in_file++;
    self->spilled++;
    return 0;
}

int rill_spill_queue_push(rill_spill_queue_t *self, int tag, const void *data, size_t size)
{
    if (self->in_file || (self->count > 0 && self->bytes + size > self->bound))
        return s_push_file(self, tag, data, size);
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 16;
        s_entry_t *ring = malloc(capacity * sizeof(s_entry_t));
        if (!ring)
            return -1;
        for (size_t i = 0; i < self->count; i++)
            ring[i] = self->ring[(self->head + i) % self->capacity];
        free(self->ring);
        self->ring = ring;
        self->capacity = capacity;
        self->head = 0;
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return -1;
    memcpy(copy, data, size);
    self->ring[(self->head + self->count) % self->capacity] = (s_entry_t){tag, size, copy};
    self->count++;
    self->bytes += size;
    return 0;
}

//  Makes room for size bytes in the taken buffer. 0 or -1.
static int s_taken_room(rill_spill_queue_t *self, size_t size)
{
    if (size <= self->taken_capacity && self->taken)
        return 0;
    uint8_t *grown = realloc(self->taken, size ? size : 1);
    if (!grown)
        return -1;
    self->taken = grown;
    self->taken_capacity = size ? size : 1;
    return 0;
}

int rill_spill_queue_pop(rill_spill_queue_t *self, int *tag, const void **data, size_t *size)
{
    if (self->count) {
        s_entry_t entry = self->ring[self->head];
        self->head = (self->head + 1) % self->capacity;
        self->count--;
        self->bytes -= entry.size;
        free(self->taken); //  hand over the entry's own copy: no second copy
        self->taken = entry.data;
        self->taken_capacity = entry.size ? entry.size : 1;
        *tag = entry.tag;
        *data = entry.data;
        *size = entry.size;
        return 1;
    }
    if (!self->in_file)
        return 0;
    uint64_t header[2];
    if (fseek(self->file, self->read_at, SEEK_SET) ||
        fread(header, sizeof header, 1, self->file) != 1 || s_taken_room(self, header[1]) ||
        (header[1] && fread(self->taken, header[1], 1, self->file) != 1))
        return -1;
    self->read_at = ftell(self->file);
    *tag = (int)(int64_t)header[0];
    *data = self->taken;
    *size = header[1];
    if (--self->in_file == 0) {
        //  Read to its end: start it again from nothing.
        if (fflush(self->file) || ftruncate(fileno(self->file), 0))
            return -1;
        self->read_at = 0;
    }
    return 1;
}

size_t rill_spill_queue_size(const rill_spill_queue_t *self)
{
    return self->count + self->in_file;
}

uint64_t rill_spill_queue_spilled(const rill_spill_queue_t *self)
{
    return self->spilled;
}
