/*  rill_bench_words.h: the word table both word-count limits use (the one-thread C loop and
    the ZeroMQ pipeline wired by hand), so they differ only in how words reach it: an
    open-addressing table (FNV-1a, linear probing) that starts small and doubles at 70% full,
    so a small vocabulary stays in cache. Inline, because it is the inner loop being measured. */
#ifndef RILL_BENCH_WORDS_H_INCLUDED
#define RILL_BENCH_WORDS_H_INCLUDED

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *word;
    size_t size;
    uint64_t count;
    uint64_t hash;
} bench_word_t;

typedef struct {
    bench_word_t *slots;
    size_t capacity; //  a power of two
    size_t used;
} bench_words_t;

//  The word rule of the wordcount job: ASCII letters lower-cased, letters and digits kept,
//  every other byte (0 here) a separator.
static inline void bench_words_fold_table(unsigned char fold[256])
{
    memset(fold, 0, 256);
    for (int c = '0'; c <= '9'; c++)
        fold[c] = (unsigned char)c;
    for (int c = 'a'; c <= 'z'; c++)
        fold[c] = fold[c - 'a' + 'A'] = (unsigned char)c;
}

static inline uint64_t bench_words_hash(const char *word, size_t size)
{
    uint64_t hash = 1469598103934665603ull;
    for (size_t k = 0; k < size; k++)
        hash = (hash ^ (unsigned char)word[k]) * 1099511628211ull;
    return hash;
}

//  0, or -1 without memory.
static inline int bench_words_init(bench_words_t *self)
{
    self->capacity = 1 << 12;
    self->used = 0;
    self->slots = calloc(self->capacity, sizeof(bench_word_t));
    return self->slots ? 0 : -1;
}

static inline void bench_words_free(bench_words_t *self)
{
    for (size_t i = 0; self->slots && i < self->capacity; i++)
        free(self->slots[i].word);
    free(self->slots);
    self->slots = NULL;
}

static inline size_t bench_words_find(const bench_words_t *self, const char *word, size_t size,
                                      uint64_t hash)
{
    size_t mask = self->capacity - 1, at = hash & mask;
    while (self->slots[at].word && (self->slots[at].hash != hash || self->slots[at].size != size ||
                                    memcmp(self->slots[at].word, word, size) != 0))
        at = (at + 1) & mask;
    return at;
}

//  Doubles the table, moving every word over; -1 (table kept) without memory.
static inline int bench_words_grow(bench_words_t *self)
{
    size_t bigger = self->capacity * 2;
    bench_word_t *grown = calloc(bigger, sizeof(bench_word_t));
    if (!grown)
        return -1;
    for (size_t i = 0; i < self->capacity; i++) {
        if (!self->slots[i].word)
            continue;
        size_t to = self->slots[i].hash & (bigger - 1);
        while (grown[to].word)
            to = (to + 1) & (bigger - 1);
        grown[to] = self->slots[i];
    }
    free(self->slots);
    self->slots = grown;
    self->capacity = bigger;
    return 0;
}

//  Counts one occurrence of word; 0, or -1 without memory.
static inline int bench_words_add(bench_words_t *self, const char *word, size_t size)
{
    uint64_t hash = bench_words_hash(word, size);
    size_t at = bench_words_find(self, word, size, hash);
    if (!self->slots[at].word) {
        if ((self->used + 1) * 10 > self->capacity * 7) {
            if (bench_words_grow(self))
                return -1;
            at = bench_words_find(self, word, size, hash);
        }
        char *copy = malloc(size ? size : 1);
        if (!copy)
            return -1;
        memcpy(copy, word, size);
        self->slots[at] = (bench_word_t){copy, size, 0, hash};
        self->used++;
    }
    self->slots[at].count++;
    return 0;
}

#endif
