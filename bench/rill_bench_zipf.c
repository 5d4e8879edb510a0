/*  rill_bench_zipf.c: see the header. Sampling: the CDF over the vocabulary is built once;
    a guide table (the first rank of each of 2^16 equal slices of [0, 1)) narrows each binary
    search to a few ranks, so a draw costs a handful of steps even over 1,000,000 ranks. */
#include "rill_bench_zipf.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_GUIDE_BITS 16

size_t bench_zipf_word(uint32_t rank, char *word, size_t size)
{
    char reversed[16];
    size_t length = 0;
    for (uint64_t n = (uint64_t)rank + 1; n > 0 && length < sizeof reversed; n = (n - 1) / 26)
        reversed[length++] = (char)('a' + (n - 1) % 26);
    if (length >= size)
        length = size - 1;
    for (size_t i = 0; i < length; i++)
        word[i] = reversed[length - 1 - i];
    word[length] = 0;
    return length;
}

//  splitmix64 (Steele, Lea, Flood): tiny, fast, and good enough to draw words with.
static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct {
    double *cdf; //  cdf[r]: probability of drawing a rank <= r
    uint32_t *guide;
    uint32_t vocabulary;
} s_sampler_t;

static int s_sampler_init(s_sampler_t *self, double s, uint32_t vocabulary)
{
    self->vocabulary = vocabulary;
    self->cdf = malloc(vocabulary * sizeof(double));
    self->guide = malloc(((size_t)1 << S_GUIDE_BITS) * sizeof(uint32_t) + sizeof(uint32_t));
    if (!self->cdf || !self->guide)
        return -1;
    double sum = 0;
    for (uint32_t r = 0; r < vocabulary; r++)
        self->cdf[r] = sum += pow((double)r + 1, -s);
    for (uint32_t r = 0; r < vocabulary; r++)
        self->cdf[r] /= sum;
    self->cdf[vocabulary - 1] = 1.0;
    uint32_t rank = 0;
    for (size_t k = 0; k < ((size_t)1 << S_GUIDE_BITS); k++) {
        double at = (double)k / (double)((size_t)1 << S_GUIDE_BITS);
        while (self->cdf[rank] <= at)
            rank++;
        self->guide[k] = rank;
    }
    self->guide[(size_t)1 << S_GUIDE_BITS] = vocabulary - 1;
    return 0;
}

//  The smallest rank whose CDF exceeds u (u in [0, 1)).
static uint32_t s_sample(const s_sampler_t *self, double u)
{
    size_t slice = (size_t)(u * (double)((size_t)1 << S_GUIDE_BITS));
    uint32_t low = self->guide[slice], high = self->guide[slice + 1];
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (self->cdf[middle] > u)
            high = middle;
        else
            low = middle + 1;
    }
    return low;
}

int bench_zipf_corpus(const char *dir, size_t bytes, double s, uint32_t vocabulary, uint64_t seed,
                      char *path, size_t size)
{
    s_sampler_t sampler = {0};
    if (vocabulary == 0 || s_sampler_init(&sampler, s, vocabulary)) {
        free(sampler.cdf);
        free(sampler.guide);
        return -1;
    }
    snprintf(path, size, "%s/bench-zipf-XXXXXX", dir);
    int fd = mkstemp(path);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out && fd >= 0)
        close(fd);
    uint64_t state = seed;
    size_t written = 0, line = 0;
    char word[16];
    while (out && written < bytes) {
        double u = (double)(s_next(&state) >> 11) * 0x1.0p-53;
        size_t length = bench_zipf_word(s_sample(&sampler, u), word, sizeof word);
        //  Lines of about 72 characters, like the text corpus's.
        bool ends_line = line + length >= 72;
        word[length++] = ends_line ? '\n' : ' ';
        line = ends_line ? 0 : line + length;
        if (fwrite(word, 1, length, out) != length)
            break;
        written += length;
    }
    int rc = out && written >= bytes ? 0 : -1;
    if (out && fclose(out))
        rc = -1;
    if (rc && fd >= 0)
        unlink(path);
    free(sampler.cdf);
    free(sampler.guide);
    return rc;
}
