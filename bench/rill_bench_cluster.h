/*  rill_bench_cluster.h: section 8, WordCount across two processes over tcp. */
#ifndef RILL_BENCH_CLUSTER_H_INCLUDED
#define RILL_BENCH_CLUSTER_H_INCLUDED

//  Runs and prints section 8: tool is the rill binary, corpus the text (NULL: skipped), runs
//  the runs per figure (the median is printed).
void bench_cluster(const char *tool, const char *corpus, int runs);

#endif
