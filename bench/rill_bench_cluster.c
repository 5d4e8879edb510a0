/*  rill_bench_cluster.c: section 8 of the benchmark, WordCount across two processes over tcp
    (the plain form: `rill run --workers 1` plus `rill worker --join`, both on this machine)
    against the same job in one process, in plain text and with CURVE; and what a record costs
    on the wire, read off the loopback interface's byte counters (so it includes the TCP/IP
    headers, ZeroMQ's framing, CURVE's boxes and the control plane) over the records the
    metrics say crossed between the processes. */
#include "rill_bench_cluster.h"
#include "rill_bench_util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <rill/rill.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *tool;   //  the rill binary
    const char *corpus; //  the input text
    const char *keys;   //  NULL: one process; "" plain text across two; else a key directory
    bool across;
} s_config_t;

//  Bytes the loopback interface received so far (/proc/net/dev), or 0.
static uint64_t s_loopback_bytes(void)
{
    FILE *file = fopen("/proc/net/dev", "r");
    if (!file)
        return 0;
    char line[512];
    uint64_t bytes = 0;
    while (fgets(line, sizeof line, file)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        char *name = line;
        while (*name == ' ')
            name++;
        if (strcmp(name, "lo") == 0)
            bytes = strtoull(colon + 1, NULL, 10);
    }
    fclose(file);
    return bytes;
}

static pid_t s_spawn(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int s_wait(pid_t pid)
{
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

//  Records that crossed between processes (tcp channels), from the run's metrics JSON.
static uint64_t s_tcp_records(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    static char text[16 << 20];
    size_t size = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[size] = 0;
    char error[256];
    rill_metrics_t *metrics = rill_metrics_from_json(text, NULL, error, sizeof error);
    if (!metrics)
        return 0;
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    uint64_t records = 0;
    for (int c = 0; c < rill_plan_channel_count(plan); c++)
        if (rill_plan_channel(plan, c)->transport == RILL_TRANSPORT_TCP)
            records += rill_metrics_channel(metrics, c).records;
    rill_metrics_destroy(&metrics);
    return records;
}

//  value: input MB/s; extra[0]: records across processes, extra[1]: loopback bytes.
static void s_run(void *ctx, bench_result_t *result)
{
    s_config_t *config = ctx;
    char listen[64], metrics[] = "/tmp/rill-bench-cluster-XXXXXX";
    int fd = mkstemp(metrics);
    if (fd >= 0)
        close(fd);
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", 20000 + (int)(getpid() % 20000));
    const char *security = config->keys && *config->keys ? "--keys" : "--insecure";
    const char *keys = config->keys && *config->keys ? config->keys : NULL;
    const char *worker[] = {config->tool, "worker", "--join", listen, security, keys, NULL};
    const char *args[32];
    int n = 0;
    const char *fixed[] = {config->tool, "run",          "wordcount",      "-p",   "2", "--mode",
                           "batch",      "--no-combine", "--metrics-json", metrics};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        args[n++] = fixed[i];
    if (config->across) {
        args[n++] = "--workers";
        args[n++] = "1";
        args[n++] = "--listen";
        args[n++] = listen;
        args[n++] = security;
        if (keys)
            args[n++] = keys;
    }
    args[n++] = "--";
    args[n++] = "--input";
    args[n++] = config->corpus;
    args[n] = NULL;
    struct stat info;
    uint64_t bytes = stat(config->corpus, &info) == 0 ? (uint64_t)info.st_size : 0;
    uint64_t wire = s_loopback_bytes(), start = bench_now_ns();
    pid_t helper = config->across ? s_spawn(worker) : 0;
    int rc = s_wait(s_spawn(args));
    if (helper > 0 && s_wait(helper) != 0)
        rc = -1;
    double seconds = (double)(bench_now_ns() - start) / 1e9;
    result->failed = rc != 0 || bytes == 0;
    result->value = seconds > 0 ? (double)bytes / 1e6 / seconds : 0;
    result->extra[0] = (double)s_tcp_records(metrics);
    result->extra[1] = (double)(s_loopback_bytes() - wire);
    unlink(metrics);
}

//  Makes a cluster certificate in dir the way `rill keys` does (czmq's zcert files).
static int s_make_keys(const char *dir)
{
    if (mkdir(dir, 0700) && errno != EEXIST)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/cluster.cert", dir);
    zcert_t *cert = zcert_new();
    int rc = cert ? zcert_save(cert, path) : -1;
    zcert_destroy(&cert);
    return rc;
}

void bench_cluster(const char *tool, const char *corpus, int runs)
{
    printf("\n8. WordCount (batch, p=2, no pre-aggregation: every word crosses the hash "
           "exchange) in one process, and across two processes over tcp on this machine\n");
    if (!corpus) {
        printf("   skipped: no corpus\n");
        return;
    }
    char keys[] = "/tmp/rill-bench-keys-XXXXXX";
    if (!mkdtemp(keys) || s_make_keys(keys)) {
        printf("   skipped: cannot make a key directory\n");
        return;
    }
    s_config_t configs[] = {
        {tool, corpus, NULL, false},
        {tool, corpus, "", true},
        {tool, corpus, keys, true},
    };
    const char *labels[] = {"one process (inproc channels)", "two processes, tcp, plain text",
                            "two processes, tcp, CURVE"};
    printf("   %-34s %12s %10s %16s %14s\n", "setup", "input MB/s", "vs one", "records on tcp",
           "wire B/record");
    double one = 0;
    for (int i = 0; i < 3; i++) {
        bench_result_t r = bench_median(s_run, &configs[i], runs);
        if (r.failed) {
            printf("   %-34s failed\n", labels[i]);
            continue;
        }
        if (i == 0)
            one = r.value;
        char wire[32] = "-";
        if (configs[i].across && r.extra[0] > 0)
            snprintf(wire, sizeof wire, "%.1f", r.extra[1] / r.extra[0]);
        printf("   %-34s %12.1f %10.2f %16.0f %14s\n", labels[i], r.value,
               one > 0 ? r.value / one : 0, r.extra[0], wire);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", keys);
    if (system(command) != 0)
        printf("   (could not remove %s)\n", keys);
    printf("   (wire bytes: the loopback interface's received bytes over the records that "
           "crossed:\n    TCP/IP headers, ZeroMQ framing, CURVE boxes and the control plane "
           "included)\n");
}
