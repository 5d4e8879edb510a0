/*  rill_bench_nexmark.c: section 9 of `make bench`: the Nexmark queries of the bundled
    nexmark job (jobs/nexmark.c), each run as `rill run nexmark -p P -- --query Q --events N
    --discard` in a process of its own, timed from start to exit (plan, deploy and the end of
    input included): events per second of wall time. The limit beside them is the generator
    alone (jobs/nexmark_gen.h: make and format each event) in a plain C loop on one core. */
#define _GNU_SOURCE
#include "rill_bench_nexmark.h"
#include "../jobs/nexmark_gen.h"
#include "rill_bench_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_run(const char *tool, int parallelism, int query, uint64_t events, double *seconds)
{
    char p[16], q[16], n[32];
    snprintf(p, sizeof p, "%d", parallelism);
    snprintf(q, sizeof q, "%d", query);
    snprintf(n, sizeof n, "%llu", (unsigned long long)events);
    const char *argv[] = {tool, "run",     "nexmark", "-p",       p, "--mode",    "streaming",
                          "--", "--query", q,         "--events", n, "--discard", NULL};
    uint64_t start = bench_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    *seconds = (double)(bench_now_ns() - start) / 1e9;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void s_rate(char *text, size_t size, double value)
{
    if (value >= 1e6)
        snprintf(text, size, "%.2f M/s", value / 1e6);
    else
        snprintf(text, size, "%.1f k/s", value / 1e3);
}

void bench_nexmark(const char *tool, uint64_t events)
{
    printf("\n9. Nexmark: %llu events (1 person : 3 auctions : 46 bids), each query into a "
           "discard sink,\n   streaming mode, one run each: events per second of wall time, "
           "the whole run\n   (start to exit); limit: the generator alone (make and format "
           "each event) in a C\n   loop on one core\n",
           (unsigned long long)events);
    uint64_t start = bench_now_ns();
    char text[NEXMARK_RECORD_MAX];
    size_t bytes = 0;
    for (uint64_t n = 0; n < events; n++) {
        nexmark_event_t event;
        nexmark_event(NEXMARK_DEFAULT_SEED, n, NEXMARK_DEFAULT_EVENT_RATE, &event);
        bytes += nexmark_event_format(&event, text, sizeof text);
    }
    double limit = (double)events / ((double)(bench_now_ns() - start) / 1e9);
    char limit_text[32];
    s_rate(limit_text, sizeof limit_text, limit);
    printf("   %-44s %14s %14s   (%.0f bytes an event)\n", "query", "p = 1", "p = 2",
           (double)bytes / (double)events);
    printf("   %-44s %14s\n", "generator alone, C loop (limit)", limit_text);
    static const struct {
        int query;
        const char *name;
    } queries[] = {
        {0, "q0 pass-through (bids)"},
        {1, "q1 currency conversion"},
        {2, "q2 selection"},
        {3, "q3 local item suggestion (join)"},
        {4, "q4 average price per category"},
        {5, "q5 hot items (sliding 10 s / 2 s)"},
        {6, "q6 average selling price per seller"},
        {7, "q7 highest bid (tumbling 10 s)"},
        {8, "q8 monitor new users (window join)"},
        {9, "q9 winning bids"},
        {11, "q11 user sessions (gap 10 s)"},
    };
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        char figures[2][32];
        for (int p = 1; p <= 2; p++) {
            double seconds = 0;
            if (s_run(tool, p, queries[i].query, events, &seconds))
                snprintf(figures[p - 1], sizeof figures[p - 1], "FAILED");
            else
                s_rate(figures[p - 1], sizeof figures[p - 1], (double)events / seconds);
        }
        printf("   %-44s %14s %14s\n", queries[i].name, figures[0], figures[1]);
        fflush(stdout);
    }
}
