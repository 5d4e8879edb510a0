/*  rill_hot_keys.c: see the header. k is small (32), so the counters are a plain array
    scanned by hash: a sampled record costs at most 32 compares, one in 16 records. */
#include "rill_hot_keys.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash; //  0: free
    uint64_t count;
    int receiver;
    size_t size;
    char key[RILL_HOT_KEY_MAX + 1];
} s_counter_t;

struct rill_hot_keys_t {
    s_counter_t counters[RILL_HOT_KEYS_SLOTS];
};

rill_hot_keys_t *rill_hot_keys_new(void)
{
    return calloc(1, sizeof(rill_hot_keys_t));
}

void rill_hot_keys_destroy(rill_hot_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void rill_hot_keys_add(rill_hot_keys_t *self, uint64_t hash, const void *key, size_t size,
                       int receiver, uint64_t weight)
{
    //  A heavy key is usually counted already: look for it first, and for the smallest
    //  counter only when it is not.
    for (int i = 0; i < RILL_HOT_KEYS_SLOTS; i++) {
        s_counter_t *counter = &self->counters[i];
        if (counter->hash == hash && counter->size == size) {
            counter->count += weight;
            return;
        }
    }
    s_counter_t *smallest = &self->counters[0];
    for (int i = 1; i < RILL_HOT_KEYS_SLOTS; i++)
        if (self->counters[i].count < smallest->count)
            smallest = &self->counters[i];
    //  Space-Saving: the key takes the smallest counter over (a free one counts 0).
    smallest->hash = hash;
    smallest->count += weight;
    smallest->receiver = receiver;
    smallest->size = size;
    size_t kept = size < RILL_HOT_KEY_MAX ? size : RILL_HOT_KEY_MAX;
    memcpy(smallest->key, key, kept);
    smallest->key[kept] = 0;
}

static int s_heavier(const void *a, const void *b)
{
    const rill_hot_key_t *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int rill_hot_keys_top(const rill_hot_keys_t *self, rill_hot_key_t *keys, int max)
{
    rill_hot_key_t all[RILL_HOT_KEYS_SLOTS];
    int n = 0;
    for (int i = 0; i < RILL_HOT_KEYS_SLOTS; i++) {
        const s_counter_t *counter = &self->counters[i];
        if (!counter->hash)
            continue;
        rill_hot_key_t *key = &all[n++];
        memset(key, 0, sizeof *key);
        memcpy(key->key, counter->key, sizeof key->key);
        key->size = counter->size;
        key->count = counter->count;
        key->receiver = counter->receiver;
        key->hash = counter->hash;
    }
    qsort(all, (size_t)n, sizeof all[0], s_heavier);
    if (n > max)
        n = max;
    memcpy(keys, all, (size_t)n * sizeof all[0]);
    return n;
}
