/*  rill_bench_nexmark.h: section 9, the Nexmark queries (the bundled nexmark job). */
#ifndef RILL_BENCH_NEXMARK_H_INCLUDED
#define RILL_BENCH_NEXMARK_H_INCLUDED

#include <stdint.h>

//  Runs and prints section 9: tool is the rill binary; each query at p = 1 and 2 on `events`
//  generated events into a discard sink, beside the generator alone in a plain C loop.
void bench_nexmark(const char *tool, uint64_t events);

#endif
