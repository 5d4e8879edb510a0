/*  test_bench_zipf.c: the many-keys corpus `make bench` counts (bench/rill_bench_zipf.c): every
    rank has its own word (rank + 1 in bijective base 26), the corpus is the same bytes for the
    same seed and at least the size asked, and its words follow Zipf's law: rank r drawn with
    probability r^-s / H(N, s). */
#include "rill_bench_zipf.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The rank a word stands for: the inverse of bench_zipf_word.
static uint64_t s_rank(const char *word)
{
    uint64_t n = 0;
    for (const char *c = word; *c; c++)
        n = n * 26 + (uint64_t)(*c - 'a' + 1);
    return n - 1;
}

static char *s_read(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    struct stat info;
    assert_int_equal(fstat(fileno(file), &info), 0);
    char *text = malloc((size_t)info.st_size + 1);
    assert_int_equal(fread(text, 1, (size_t)info.st_size, file), (size_t)info.st_size);
    text[info.st_size] = 0;
    fclose(file);
    *size = (size_t)info.st_size;
    return text;
}

static void words_are_the_rank_in_bijective_base_26(void **state)
{
    char word[16];
    assert_int_equal(bench_zipf_word(0, word, sizeof word), 1);
    assert_string_equal(word, "a");
    bench_zipf_word(25, word, sizeof word);
    assert_string_equal(word, "z");
    bench_zipf_word(26, word, sizeof word);
    assert_string_equal(word, "aa");
    bench_zipf_word(701, word, sizeof word);
    assert_string_equal(word, "zz");
    bench_zipf_word(702, word, sizeof word);
    assert_string_equal(word, "aaa");
    //  One word per rank over the whole vocabulary: decoding gives the rank back.
    for (uint32_t rank = 0; rank < 1000000; rank++) {
        size_t length = bench_zipf_word(rank, word, sizeof word);
        assert_int_equal(length, strlen(word));
        assert_true(length >= 1 && length <= 5);
        if (s_rank(word) != rank)
            fail_msg("rank %u wrote '%s'", rank, word);
    }
    //  A short buffer gets a truncated, terminated word.
    char small[3];
    assert_int_equal(bench_zipf_word(702, small, sizeof small), 2);
    assert_string_equal(small, "aa");
}

static void the_corpus_is_the_same_for_the_same_seed_and_the_size_asked(void **state)
{
    char a[256], b[256], c[256];
    size_t bytes = 200000;
    assert_int_equal(bench_zipf_corpus("/tmp", bytes, 1.1, 100000, 42, a, sizeof a), 0);
    assert_int_equal(bench_zipf_corpus("/tmp", bytes, 1.1, 100000, 42, b, sizeof b), 0);
    assert_int_equal(bench_zipf_corpus("/tmp", bytes, 1.1, 100000, 43, c, sizeof c), 0);
    assert_string_not_equal(a, b); //  each run its own temporary file
    size_t size_a, size_b, size_c;
    char *text_a = s_read(a, &size_a), *text_b = s_read(b, &size_b), *text_c = s_read(c, &size_c);
    assert_true(size_a >= bytes && size_a < bytes + 16);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(text_a, text_b, size_a);
    assert_true(size_c != size_a || memcmp(text_a, text_c, size_a) != 0);
    //  Lines of lower-case words, one space apart, none much longer than 72 characters.
    size_t line = 0;
    for (size_t i = 0; i < size_a; i++) {
        char ch = text_a[i];
        if (!((ch >= 'a' && ch <= 'z') || ch == ' ' || ch == '\n'))
            fail_msg("byte %zu is %d", i, ch);
        assert_false(ch == ' ' && (i == 0 || text_a[i - 1] == ' ' || text_a[i - 1] == '\n'));
        line = ch == '\n' ? 0 : line + 1;
        assert_true(line <= 72 + 6);
    }
    free(text_a);
    free(text_b);
    free(text_c);
    unlink(a);
    unlink(b);
    unlink(c);
    //  A directory it cannot write to: an error, nothing left behind.
    assert_int_equal(bench_zipf_corpus("/nonexistent", bytes, 1.1, 1000, 1, a, sizeof a), -1);
    assert_int_equal(bench_zipf_corpus("/tmp", bytes, 1.1, 0, 1, a, sizeof a), -1);
}

//  Zipf's law: P(rank r) = (r + 1)^-s / H(N, s). Checked on the first ranks, each within
//  five standard deviations of its binomial count.
static void word_frequencies_follow_zipfs_law(void **state)
{
    const uint32_t vocabulary = 1000;
    const double s = 1.1;
    char path[256];
    assert_int_equal(bench_zipf_corpus("/tmp", 2000000, s, vocabulary, 7, path, sizeof path), 0);
    size_t size;
    char *text = s_read(path, &size);
    unlink(path);
    uint64_t *counts = calloc(vocabulary, sizeof(uint64_t)), total = 0;
    for (char *word = strtok(text, " \n"); word; word = strtok(NULL, " \n")) {
        uint64_t rank = s_rank(word);
        assert_true(rank < vocabulary);
        counts[rank]++;
        total++;
    }
    double harmonic = 0;
    for (uint32_t r = 1; r <= vocabulary; r++)
        harmonic += pow(r, -s);
    for (uint32_t r = 0; r < 20; r++) {
        double p = pow(r + 1, -s) / harmonic;
        double expected = p * (double)total, sigma = sqrt((double)total * p * (1 - p));
        if (fabs((double)counts[r] - expected) > 5 * sigma)
            fail_msg("rank %u: %llu words, expected %.0f +- %.0f", r, (unsigned long long)counts[r],
                     expected, 5 * sigma);
    }
    //  The tail is drawn too: most of the vocabulary shows up.
    uint32_t seen = 0;
    for (uint32_t r = 0; r < vocabulary; r++)
        seen += counts[r] > 0;
    assert_true(seen > vocabulary * 9 / 10);
    free(counts);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_are_the_rank_in_bijective_base_26),
        cmocka_unit_test(the_corpus_is_the_same_for_the_same_seed_and_the_size_asked),
        cmocka_unit_test(word_frequencies_follow_zipfs_law),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
