/*  rill_bench_util.h: what every benchmark needs: running a measurement in a child process
    (so each run's peak RSS is its own), medians, clocks, the memory of the process now, and
    the 100 MB text corpus made from texts the machine already has. */
#ifndef RILL_BENCH_UTIL_H_INCLUDED
#define RILL_BENCH_UTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  What one measured run reports back.
typedef struct {
    double value;      //  the scenario's figure (records/s, words/s, ns, ...)
    double extra[4];   //  scenario-specific extras (latency percentiles, per-hop ns, ...)
    double cpu_ns;     //  user + system CPU time of the run's process
    long peak_rss_kib; //  peak resident memory of the run, above what its process started with
    long start_rss_kib; //  what the forked process held before the run (the parent's pages)
    int failed;
} bench_result_t;

typedef void(bench_fn)(void *ctx, bench_result_t *result);

//  Runs fn `runs` times, each in a fresh child process, and returns the run with the median
//  value; peak_rss_kib is the highest of the runs.
bench_result_t bench_median(bench_fn *fn, void *ctx, int runs);
uint64_t bench_now_ns(void);
long bench_rss_kib(void);
//  The path of a text corpus of at least `bytes` bytes, built (once, cached under `dir`) by
//  concatenating texts found on this machine. NULL when none are found.
const char *bench_corpus(const char *dir, size_t bytes);

#endif
