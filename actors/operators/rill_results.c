/*  rill_results.c: results of collect sinks. Sink subtasks build private runs of records and
    hand each run over once, under a mutex, when they end; the caller reads after execute. */
#include "rill_results.h"
#include "rill_array.h"
#include "rill_results_private.h"
#include "rill_buffer_private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t offset; //  into storage (pointers would not survive its growth)
    size_t size;
    int64_t timestamp;
    int subtask;
} s_entry_t;

struct rill_results_t {
    pthread_mutex_t mutex;
    uint8_t *storage;
    size_t storage_size;
    size_t storage_capacity;
    s_entry_t *entries;
    size_t count;
    size_t capacity;
};

//  A run entry: the record's size and timestamp, then its bytes.
typedef struct {
    uint64_t size;
    int64_t timestamp;
} s_run_header_t;

rill_results_t *rill_results_new(void)
{
    rill_results_t *self = calloc(1, sizeof(rill_results_t));
    if (self)
        pthread_mutex_init(&self->mutex, NULL);
    return self;
}

void rill_results_destroy(rill_results_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_results_t *self = *self_p;
    pthread_mutex_destroy(&self->mutex);
    free(self->storage);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

size_t rill_results_size(rill_results_t *self)
{
    pthread_mutex_lock(&self->mutex);
    size_t count = self->count;
    pthread_mutex_unlock(&self->mutex);
    return count;
}

rill_record_t rill_results_record(rill_results_t *self, size_t index)
{
    rill_record_t record = {NULL, 0, RILL_NO_TIMESTAMP};
    pthread_mutex_lock(&self->mutex);
    if (index < self->count) {
        record.data = self->storage + self->entries[index].offset;
        record.size = self->entries[index].size;
        record.timestamp = self->entries[index].timestamp;
    }
    pthread_mutex_unlock(&self->mutex);
    return record;
}

int rill_results_subtask(rill_results_t *self, size_t index)
{
    pthread_mutex_lock(&self->mutex);
    int subtask = index < self->count ? self->entries[index].subtask : -1;
    pthread_mutex_unlock(&self->mutex);
    return subtask;
}

//  qsort has no context argument, so entries are compared through a copy of the storage base
//  that lives in the entries themselves: sort an array of {entry, base} pairs instead.
typedef struct {
    s_entry_t entry;
    const uint8_t *base;
} s_sortable_t;

static int s_compare(const void *a, const void *b)
{
    const s_sortable_t *x = a, *y = b;
    size_t shorter = x->entry.size < y->entry.size ? x->entry.size : y->entry.size;
    int order = memcmp(x->base + x->entry.offset, y->base + y->entry.offset, shorter);
    if (order)
        return order;
    if (x->entry.size != y->entry.size)
        return x->entry.size < y->entry.size ? -1 : 1;
    return (x->entry.timestamp > y->entry.timestamp) - (x->entry.timestamp < y->entry.timestamp);
}

void rill_results_sort(rill_results_t *self)
{
    pthread_mutex_lock(&self->mutex);
    s_sortable_t *items = malloc((self->count + 1) * sizeof(s_sortable_t));
    if (items) {
        for (size_t i = 0; i < self->count; i++)
            items[i] = (s_sortable_t){self->entries[i], self->storage};
        qsort(items, self->count, sizeof(s_sortable_t), s_compare);
        for (size_t i = 0; i < self->count; i++)
            self->entries[i] = items[i].entry;
        free(items);
    }
    pthread_mutex_unlock(&self->mutex);
}

void rill_results_clear(rill_results_t *self)
{
    pthread_mutex_lock(&self->mutex);
    self->count = 0;
    self->storage_size = 0;
    pthread_mutex_unlock(&self->mutex);
}

int rill_results_run_add(rill_buffer_t *run, const rill_record_t *record)
{
    s_run_header_t header = {record->size, record->timestamp};
    if (rill_buffer_append(run, &header, sizeof header))
        return -1;
    return rill_buffer_append(run, record->data, record->size);
}

bool rill_results_run_valid(const void *data, size_t size)
{
    const uint8_t *bytes = data;
    size_t at = 0;
    while (size - at >= sizeof(s_run_header_t)) {
        s_run_header_t header;
        memcpy(&header, bytes + at, sizeof header);
        at += sizeof header;
        if (header.size > size - at)
            return false;
        at += (size_t)header.size;
    }
    return at == size;
}

int rill_results_append_run(rill_results_t *self, int subtask, const rill_buffer_t *run)
{
    int rc = -1;
    pthread_mutex_lock(&self->mutex);
    for (size_t at = 0; at + sizeof(s_run_header_t) <= run->size;) {
        s_run_header_t header;
        memcpy(&header, run->data + at, sizeof header);
        at += sizeof header;
        if (rill_array_grow((void **)&self->entries, &self->capacity, self->count + 1,
                            sizeof(s_entry_t)) ||
            rill_array_grow((void **)&self->storage, &self->storage_capacity,
                            self->storage_size + header.size, 1))
            goto cleanup;
        if (header.size)
            memcpy(self->storage + self->storage_size, run->data + at, header.size);
        self->entries[self->count++] = (s_entry_t){self->storage_size, header.size,
                                                   header.timestamp, subtask};
        self->storage_size += header.size;
        at += header.size;
    }
    rc = 0;
cleanup:
    pthread_mutex_unlock(&self->mutex);
    return rc;
}
