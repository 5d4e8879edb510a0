/*  rill_bench_zipf.h: the many-keys corpus of issue 12: words drawn Zipf(s) from a vocabulary
    of ranked words, written as lines of text into a temporary file the caller removes. The
    draw is deterministic (a fixed seed and our own PRNG), so every run and every machine
    counts the same words. */
#ifndef RILL_BENCH_ZIPF_H_INCLUDED
#define RILL_BENCH_ZIPF_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  The word for a rank (0 = the most frequent): rank + 1 in bijective base 26 ("a" .. "z",
//  "aa" ..), so frequent words are short, as in a language, and every rank has its own word.
//  Writes at most size - 1 letters and a NUL; returns the length.
size_t bench_zipf_word(uint32_t rank, char *word, size_t size);

//  Writes at least `bytes` bytes of lines of such words, drawn with exponent s from the
//  `vocabulary` most frequent ranks with PRNG seed `seed`, into a new temporary file under
//  dir; path (size bytes) gets its name. 0, or -1 (nothing left behind) on error.
int bench_zipf_corpus(const char *dir, size_t bytes, double s, uint32_t vocabulary, uint64_t seed,
                      char *path, size_t size);

#endif
