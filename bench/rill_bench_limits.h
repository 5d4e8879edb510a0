/*  rill_bench_limits.h: the limits rill's figures are set against, measured in the same run:
    raw ZeroMQ inproc throughput, and single-threaded C loops doing a job's work with no
    runtime at all. */
#ifndef RILL_BENCH_LIMITS_H_INCLUDED
#define RILL_BENCH_LIMITS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Frames per second through one inproc PAIR pipe between two threads.
double bench_zmq_frames_per_second(size_t frame_size, uint64_t frames);
//  Records per second of the forward pipeline's work (make an 8-byte record, copy it in a
//  "map", count it) in one loop.
double bench_loop_forward(uint64_t records);
//  Words per second counting the words of a file (same rule as the wordcount job) in one
//  thread; *words gets the count.
double bench_loop_wordcount(const char *path, uint64_t *words);
//  Nanoseconds one counter update (RILL_COUNTER_ADD) takes.
double bench_counter_update_ns(void);

#endif
