/*  rill_spill_queue.h: a FIFO of byte strings that keeps at most a memory bound in memory and
    spills the rest to an unnamed temporary file, so a queue that must never refuse (an
    iteration head parking its feedback, rill_subtask_iteration.c) costs bounded memory. Each
    entry carries a small tag (the input it came from). Not thread-safe: one owner. */
#ifndef RILL_SPILL_QUEUE_H_INCLUDED
#define RILL_SPILL_QUEUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rill_spill_queue_t rill_spill_queue_t;

//  A queue that holds up to memory_bound bytes of entries in memory (at least one entry is
//  always taken in memory, whatever its size). NULL when out of memory.
rill_spill_queue_t *rill_spill_queue_new(size_t memory_bound);
//  Destroys the queue (closing its file) and sets the caller's pointer to NULL.
void rill_spill_queue_destroy(rill_spill_queue_t **self_p);
//  Appends a copy of data (size bytes) with tag. 0, or -1 when out of memory or the
//  temporary file cannot be written (errno says why).
int rill_spill_queue_push(rill_spill_queue_t *self, int tag, const void *data, size_t size);
//  Takes the oldest entry: its bytes go to *data (valid until the next call on the queue),
//  its size and tag to *size and *tag. 1 when one was taken, 0 when the queue is empty, -1
//  when the temporary file cannot be read.
int rill_spill_queue_pop(rill_spill_queue_t *self, int *tag, const void **data, size_t *size);
//  Entries queued, and how many of those went to the file since the queue was made (for the
//  tests and the logs).
size_t rill_spill_queue_size(const rill_spill_queue_t *self);
uint64_t rill_spill_queue_spilled(const rill_spill_queue_t *self);

#endif
