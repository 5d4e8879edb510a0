/*  rill_bench_util.c: see the header. */
#include "rill_bench_util.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

long bench_rss_kib(void)
{
    FILE *file = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (file) {
        if (fscanf(file, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(file);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static bench_result_t s_run_child(bench_fn *fn, void *ctx)
{
    bench_result_t result = {.failed = 1};
    int pipe_fds[2];
    if (pipe(pipe_fds))
        return result;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        bench_result_t mine = {0};
        //  A forked child starts out holding the parent's resident pages; ru_maxrss counts
        //  them, so the run's own peak is measured above this.
        mine.start_rss_kib = bench_rss_kib();
        fn(ctx, &mine);
        if (write(pipe_fds[1], &mine, sizeof mine) != sizeof mine)
            _exit(1);
        _exit(0);
    }
    close(pipe_fds[1]);
    ssize_t got = read(pipe_fds[0], &result, sizeof result);
    close(pipe_fds[0]);
    int status;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    if (got != sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        result.failed = 1;
        return result;
    }
    result.peak_rss_kib = usage.ru_maxrss - result.start_rss_kib;
    result.cpu_ns = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e9 +
                    (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e3;
    return result;
}

static int s_by_value(const void *a, const void *b)
{
    double x = ((const bench_result_t *)a)->value, y = ((const bench_result_t *)b)->value;
    return (x > y) - (x < y);
}

bench_result_t bench_median(bench_fn *fn, void *ctx, int runs)
{
    bench_result_t results[16];
    if (runs > 16)
        runs = 16;
    long peak = 0;
    for (int i = 0; i < runs; i++) {
        results[i] = s_run_child(fn, ctx);
        if (results[i].failed)
            return results[i];
        peak = results[i].peak_rss_kib > peak ? results[i].peak_rss_kib : peak;
    }
    qsort(results, (size_t)runs, sizeof results[0], s_by_value);
    bench_result_t median = results[runs / 2];
    median.peak_rss_kib = peak;
    return median;
}

const char *bench_corpus(const char *dir, size_t bytes)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/bench-corpus-%zuMB.txt", dir, bytes >> 20);
    struct stat info;
    if (stat(path, &info) == 0 && (size_t)info.st_size >= bytes)
        return path;
    //  Texts every Debian machine has: licence texts and package copyright files.
    glob_t found;
    memset(&found, 0, sizeof found);
    glob("/usr/share/common-licenses/*", 0, NULL, &found);
    glob("/usr/share/doc/*/copyright", GLOB_APPEND, NULL, &found);
    FILE *out = fopen(path, "w");
    if (!out || found.gl_pathc == 0) {
        if (out)
            fclose(out);
        globfree(&found);
        return NULL;
    }
    size_t written = 0;
    char buffer[65536];
    while (written < bytes) {
        for (size_t i = 0; i < found.gl_pathc && written < bytes; i++) {
            FILE *in = fopen(found.gl_pathv[i], "r");
            size_t got;
            while (in && (got = fread(buffer, 1, sizeof buffer, in)) > 0)
                written += fwrite(buffer, 1, got, out);
            if (in)
                fclose(in);
        }
    }
    fclose(out);
    globfree(&found);
    return path;
}
