/*  rill_bench_zmq_wordcount.h: WordCount wired by hand with plain libzmq, the yardstick a
    runtime has to beat: what a programmer gets writing the same dataflow directly on ZeroMQ
    inproc sockets, with no planner, operators or counters. */
#ifndef RILL_BENCH_ZMQ_WORDCOUNT_H_INCLUDED
#define RILL_BENCH_ZMQ_WORDCOUNT_H_INCLUDED

#include <stdint.h>

//  Words per second counting the words of path (same rule as the wordcount job) with
//  `parallelism` reader threads, each owning a byte range of the file and handing 32 KiB text
//  chunks to a split thread of its own (rill's source -> flat_map), which sends the words by
//  hash over PUSH -> PULL to `parallelism` counting threads (3p threads), in messages of
//  `words_per_message` words (at most 32 KiB). *words gets the count. 0 when the file cannot
//  be read or a thread failed.
double bench_zmq_wordcount(const char *path, int parallelism, int words_per_message,
                           uint64_t *words);

#endif
