/*  test_inspect.c: seeing inside a run. Counters equal the true counts for every pattern (what
    a sender counts on a channel is what the receiver counts from it); a skewed key shows in
    the exchange matrix; a slow sink shows its upstream backpressured; the live monitor stream
    is received and parsed while a job runs, and `rill top` shows it; traces of a known job
    have the right hop sequence; the metrics JSON and the HTML report hold what they promise. */
#include "testutil.h"

#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include "rill_diagram.h"

#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_RECORDS 6000

static int s_identity(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

static int s_modulo(const rill_record_t *in, const rill_key_t *key, int receivers, void *ctx)
{
    return (int)(test_record_number(in) % (uint64_t)receivers);
}

static void counters_equal_the_true_counts_for_every_pattern(void **state)
{
    for (int p = RILL_PATTERN_FORWARD; p <= RILL_PATTERN_CUSTOM; p++) {
        int senders = 3, receivers = p == RILL_PATTERN_FORWARD ? 3 : 2;
        rill_env_t *env = rill_env_new();
        rill_stream_t *s = rill_stream_parallelism(
            rill_env_from_generator(env, test_generate_sequence, NULL, S_RECORDS), senders);
        switch (p) {
        case RILL_PATTERN_FORWARD: s = rill_stream_forward(s); break;
        case RILL_PATTERN_HASH:
            s = rill_keyed_stream_stream(rill_stream_key_by(s, rill_key_first_field, NULL));
            break;
        case RILL_PATTERN_BROADCAST: s = rill_stream_broadcast(s); break;
        case RILL_PATTERN_REBALANCE: s = rill_stream_rebalance(s); break;
        case RILL_PATTERN_RESCALE: s = rill_stream_rescale(s); break;
        case RILL_PATTERN_SHUFFLE: s = rill_stream_shuffle(s); break;
        case RILL_PATTERN_GLOBAL: s = rill_stream_global(s); break;
        default: s = rill_stream_partition_custom(s, s_modulo, NULL, NULL, NULL); break;
        }
        rill_stream_parallelism(rill_stream_discard(s), receivers);
        assert_int_equal(rill_env_execute(env), 0);
        const rill_metrics_t *m = rill_env_metrics(env);
        const rill_plan_t *plan = rill_metrics_plan(m);
        uint64_t made = 0, arrived = 0, sent = 0;
        for (int i = 0; i < senders; i++)
            made += rill_metrics_subtask(m, i).records_out;
        for (int i = senders; i < senders + receivers; i++)
            arrived += rill_metrics_subtask(m, i).records_in;
        for (int c = 0; c < rill_plan_channel_count(plan); c++) {
            rill_channel_metrics_t channel = rill_metrics_channel(m, c);
            assert_int_equal(channel.records, channel.records_received);
            sent += channel.records;
        }
        uint64_t copies = p == RILL_PATTERN_BROADCAST ? (uint64_t)receivers : 1;
        assert_int_equal(made, S_RECORDS);
        assert_int_equal(sent, S_RECORDS * copies);
        assert_int_equal(arrived, S_RECORDS * copies);
        rill_env_destroy(&env);
    }
}

static int s_skewed(uint64_t i, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = i % 10 ? snprintf(text, sizeof text, "hot\t%llu", (unsigned long long)i)
                      : snprintf(text, sizeof text, "k%llu\t%llu", (unsigned long long)i,
                                 (unsigned long long)i);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

static void a_skewed_key_shows_in_the_exchange_matrix(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 4);
    rill_stream_t *s = rill_env_from_generator(env, s_skewed, NULL, 10000);
    rill_stream_discard(
        rill_keyed_stream_stream(rill_stream_key_by(s, rill_key_first_field, NULL)));
    assert_int_equal(rill_env_execute(env), 0);
    const rill_metrics_t *m = rill_env_metrics(env);
    const rill_plan_t *plan = rill_metrics_plan(m);
    //  The receivers' share: one receiver holds the hot key's 90%.
    uint64_t per_receiver[4] = {0}, records[64] = {0};
    for (int c = 0; c < rill_plan_channel_count(plan); c++) {
        records[c] = rill_metrics_channel(m, c).records;
        per_receiver[rill_plan_channel(plan, c)->to_index] += records[c];
    }
    uint64_t hottest = 0;
    for (int r = 0; r < 4; r++)
        hottest = per_receiver[r] > hottest ? per_receiver[r] : hottest;
    assert_true(hottest >= 9000);
    //  The flow diagram draws the 4x4 matrix; its hottest column holds that receiver's count.
    rill_diagram_options_t options = {.view = RILL_VIEW_PARALLEL, .format = RILL_FORMAT_DOT,
                                      .channel_records = records};
    char *dot = NULL, error[256];
    size_t size;
    rill_diagram_t *renderer = rill_diagram_new();
    assert_int_equal(rill_diagram_render(renderer, plan, &options, &dot, &size, error, sizeof error),
                     0);
    rill_diagram_destroy(&renderer);
    assert_non_null(strstr(dot, "matrix0"));
    assert_non_null(strstr(dot, "Source: generator → Sink: discard (hash)"));
    free(dot);
    rill_env_destroy(&env);
}

static int s_slow_sink(const rill_record_t *in, void *ctx)
{
    usleep(200);
    return 1;
}

static void a_slow_sink_shows_its_upstream_backpressured(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_batch_size(env, 256);
    //  Backpressure acts on channels: chained, the three would share one thread.
    rill_env_disable_chaining(env);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 3000);
    s = rill_stream_map(s, s_identity, NULL);
    rill_stream_discard(rill_stream_filter(s, s_slow_sink, NULL));
    assert_int_equal(rill_env_execute(env), 0);
    const rill_metrics_t *m = rill_env_metrics(env);
    char *json = rill_metrics_to_json(m, false);
    json_t *root = json_loads(json, 0, NULL);
    json_t *subtasks = json_object_get(root, "subtasks");
    double source = json_number_value(json_object_get(json_array_get(subtasks, 0), "backpressure_ratio"));
    double map = json_number_value(json_object_get(json_array_get(subtasks, 1), "backpressure_ratio"));
    double slow = json_number_value(json_object_get(json_array_get(subtasks, 2), "backpressure_ratio"));
    print_message("backpressure: source %.2f, map %.2f, slow filter %.2f\n", source, map, slow);
    assert_true(source > 0.5);
    assert_true(map > 0.5);
    assert_true(slow < 0.2);
    json_decref(root);
    free(json);
    rill_env_destroy(&env);
}

static void the_metrics_json_has_the_documented_schema(void **state)
{
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 2);
    rill_stream_t *s = rill_env_from_generator(env, test_generate_sequence, NULL, 1000);
    rill_stream_discard(rill_stream_rebalance(s));
    assert_int_equal(rill_env_execute(env), 0);
    char *json = rill_metrics_to_json(rill_env_metrics(env), false);
    json_error_t error;
    json_t *root = json_loads(json, 0, &error);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "rill_metrics")), 1);
    assert_false(json_is_true(json_object_get(root, "running")));
    assert_true(json_integer_value(json_object_get(root, "duration_ns")) > 0);
    assert_true(json_is_object(json_object_get(root, "plan")));
    assert_int_equal(json_array_size(json_object_get(root, "operators")), 2);
    assert_int_equal(json_array_size(json_object_get(root, "subtasks")), 4);
    assert_int_equal(json_array_size(json_object_get(root, "channels")), 4);
    json_t *totals = json_object_get(root, "totals");
    assert_int_equal(json_integer_value(json_object_get(totals, "records_out")), 1000);
    assert_int_equal(json_integer_value(json_object_get(totals, "channel_records")), 1000);
    //  The plan inside is a plan: it reads back.
    char *plan_text = json_dumps(json_object_get(root, "plan"), 0);
    char why[256];
    rill_plan_t *plan = rill_plan_from_json(plan_text, why, sizeof why);
    assert_non_null(plan);
    rill_plan_destroy(&plan);
    free(plan_text);
    json_decref(root);
    free(json);
    rill_env_destroy(&env);
}

//  Starts `rill run seed-example --monitor ENDPOINT ... -- --unbounded` in the background.
static pid_t s_start_monitored_job_at(const char *endpoint, const char *parallelism);

static pid_t s_start_monitored_job(const char *endpoint)
{
    return s_start_monitored_job_at(endpoint, "2");
}

static pid_t s_start_monitored_job_at(const char *endpoint, const char *parallelism)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execl(path, path, "run", "seed-example", "-p", parallelism, "--monitor", endpoint,
              "--monitor-interval", "50", "--", "--unbounded", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int s_wait_exit(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("the job did not stop within 10 s");
    return -1;
}

static void the_monitor_stream_is_received_while_the_job_runs(void **state)
{
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/rill-monitor-%d", (int)getpid());
    zsock_t *subscriber = zsock_new_sub(endpoint, "metrics");
    assert_non_null(subscriber);
    zsock_set_rcvtimeo(subscriber, 5000);
    pid_t pid = s_start_monitored_job(endpoint);
    int live = 0;
    uint64_t last_out = 0;
    while (live < 3) {
        char *topic = NULL, *text = NULL;
        if (zstr_recvx(subscriber, &topic, &text, NULL) < 2)
            fail_msg("no snapshot within 5 s");
        json_t *root = json_loads(text, 0, NULL);
        assert_non_null(root);
        assert_true(json_is_true(json_object_get(root, "running")));
        assert_int_equal(json_array_size(json_object_get(root, "subtasks")), 9);
        uint64_t out = (uint64_t)json_integer_value(
            json_object_get(json_object_get(root, "totals"), "records_out"));
        assert_true(out >= last_out); //  counters only grow
        last_out = out;
        json_decref(root);
        zstr_free(&topic);
        zstr_free(&text);
        live++;
    }
    kill(pid, SIGINT);
    //  The last snapshot says the job ended.
    bool ended = false;
    while (!ended) {
        char *topic = NULL, *text = NULL;
        if (zstr_recvx(subscriber, &topic, &text, NULL) < 2)
            fail_msg("no final snapshot");
        json_t *root = json_loads(text, 0, NULL);
        ended = !json_is_true(json_object_get(root, "running"));
        json_decref(root);
        zstr_free(&topic);
        zstr_free(&text);
    }
    assert_int_equal(s_wait_exit(pid), 130);
    zsock_destroy(&subscriber);
}

static void rill_top_shows_the_running_subtasks(void **state)
{
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/rill-top-%d", (int)getpid());
    pid_t pid = s_start_monitored_job(endpoint);
    char *out = NULL, *err = NULL;
    int status = test_run_tool(&out, &err, "top", endpoint, "--count", "3", "--wait", "10", NULL);
    kill(pid, SIGINT);
    assert_int_equal(s_wait_exit(pid), 130);
    if (status != 0)
        fail_msg("rill top exited %d: %s", status, err);
    assert_non_null(strstr(out, "rill top: job 'seed-example'"));
    assert_non_null(strstr(out, "map() [2/2]"));
    assert_non_null(strstr(out, "in/s"));
    //  The thread each subtask runs in (operators chained into one task share it).
    assert_non_null(strstr(out, " task "));
    //  Event time: the seed example's windows wait on the lowest watermark.
    assert_non_null(strstr(out, "event time: lowest watermark"));
    //  Every line fits an 80-column terminal.
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) <= 80);
    free(out);
    free(err);
}

//  On an 80x24 terminal at p = 8 (40 subtasks) rill top keeps its header and scrolls the
//  table: each frame fits the screen and says how many subtasks it left out, in which order.
static void rill_top_keeps_its_header_on_an_80_by_24_terminal(void **state)
{
    char endpoint[128], path[4096];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/rill-top-tty-%d", (int)getpid());
    snprintf(path, sizeof path, "%s/rill", getenv("RILL_BIN"));
    pid_t job = s_start_monitored_job_at(endpoint, "8");
    struct winsize size = {.ws_row = 24, .ws_col = 80};
    int terminal = -1;
    pid_t top = forkpty(&terminal, NULL, NULL, &size);
    assert_true(top >= 0);
    if (top == 0) {
        execl(path, path, "top", endpoint, "--count", "3", "--wait", "10", "--sort", "busy",
              (char *)NULL);
        _exit(127);
    }
    //  Read what it draws until it exits (the pty then reads EIO).
    size_t capacity = 1 << 20, used = 0;
    char *screen = malloc(capacity);
    int64_t deadline = test_now_ms() + 30000;
    while (test_now_ms() < deadline && used < capacity - 1) {
        struct pollfd item = {terminal, POLLIN, 0};
        if (poll(&item, 1, 200) <= 0)
            continue;
        ssize_t got = read(terminal, screen + used, capacity - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    screen[used] = 0;
    close(terminal);
    int status = 0;
    assert_int_equal(waitpid(top, &status, 0), top);
    kill(job, SIGINT);
    assert_int_equal(s_wait_exit(job), 130);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    //  The last frame: after the last clear-screen.
    char *frame = screen, *clear;
    while ((clear = strstr(frame, "\033[H\033[2J")))
        frame = clear + 7;
    int lines = 0;
    for (char *at = frame; *at; at++)
        lines += *at == '\n';
    if (lines > 24 || !strstr(frame, "more subtasks (sorted by busy)"))
        fprintf(stderr, "last frame (%d lines):\n%s\n", lines, frame);
    assert_true(lines <= 24);
    assert_non_null(strstr(frame, "rill top: job 'seed-example'"));
    assert_non_null(strstr(frame, "in/s"));
    assert_non_null(strstr(frame, "more subtasks (sorted by busy)"));
    free(screen);
}

static void traces_follow_records_hop_by_hop(void **state)
{
    char trace_path[] = "/tmp/rill-trace-XXXXXX";
    close(mkstemp(trace_path));
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "seed-example", "-p", "2", "--trace",
                                   trace_path, "--trace-sample", "10", "--", "--count", "400",
                                   NULL),
                     0);
    free(err);
    FILE *file = fopen(trace_path, "r");
    static char line[1 << 16];
    assert_non_null(fgets(line, sizeof line, file));
    assert_non_null(strstr(line, "\"rill_trace\":1"));
    json_t *header = json_loads(line, 0, NULL);
    assert_non_null(header);
    json_t *plan = json_object_get(header, "plan");
    //  Hops of each trace in order: Source (0) -> timestamps (1) -> map() (2) -> window (3),
    //  each coming from the subtask of the hop before, over the edge between them.
    typedef struct {
        long long trace, subtask, op, from, edge, in, out;
    } hop_t;
    hop_t hops[4096];
    //  The senders' side: when a traced record went into a batch and when the batch left.
    typedef struct {
        long long trace, subtask, to, channel, batched, sent;
    } sent_t;
    static sent_t sends[4096];
    int count = 0, send_count = 0;
    long long unsplit = -1;
    while (count < 4096 && send_count < 4096 && fgets(line, sizeof line, file)) {
        json_t *h = json_loads(line, 0, NULL);
        assert_non_null(h);
        if (json_object_get(h, "rill_trace_unsplit")) {
            assert_int_equal(unsplit, -1); //  once, the last line
            unsplit = json_integer_value(json_object_get(h, "rill_trace_unsplit"));
            json_decref(h);
            continue;
        }
        assert_int_equal(unsplit, -1);
        if (json_object_get(h, "batched")) {
            sends[send_count++] = (sent_t){json_integer_value(json_object_get(h, "trace")),
                                           json_integer_value(json_object_get(h, "subtask")),
                                           json_integer_value(json_object_get(h, "to")),
                                           json_integer_value(json_object_get(h, "channel")),
                                           json_integer_value(json_object_get(h, "batched")),
                                           json_integer_value(json_object_get(h, "sent"))};
            json_decref(h);
            continue;
        }
        json_t *from = json_object_get(h, "from");
        hops[count++] = (hop_t){json_integer_value(json_object_get(h, "trace")),
                                json_integer_value(json_object_get(h, "subtask")),
                                json_integer_value(json_object_get(h, "op")),
                                json_is_integer(from) ? json_integer_value(from) : -1,
                                json_is_integer(from) ? json_integer_value(json_object_get(h, "edge")) : -1,
                                json_integer_value(json_object_get(h, "time_in")),
                                json_integer_value(json_object_get(h, "time_out"))};
        json_decref(h);
    }
    fclose(file);
    //  400 records, one in 10 per source subtask: 40 traces of 4 hops.
    assert_int_equal(count, 40 * 4);
    int traces = 0;
    for (int i = 0; i < count; i++) {
        if (hops[i].op != 0)
            continue;
        traces++;
        const hop_t *previous = &hops[i];
        for (int op = 1; op <= 3; op++) {
            const hop_t *next = NULL;
            for (int k = 0; k < count; k++)
                if (hops[k].trace == previous->trace && hops[k].op == op)
                    next = &hops[k];
            assert_non_null(next);
            assert_int_equal(next->from, previous->subtask);
            assert_int_equal(next->edge, op - 1);
            assert_true(next->in >= previous->out);
            previous = next;
        }
    }
    assert_int_equal(traces, 40);
    //  Every traced record that crossed a channel (not a chained edge) left in a batch: it
    //  has a sender line, or the batch held too many traced ones and counted it unsplit.
    assert_true(unsplit >= 0);
    int over_channels = 0;
    for (int i = 0; i < count; i++)
        over_channels +=
            hops[i].from >= 0 &&
            !json_is_true(json_object_get(
                json_array_get(json_object_get(plan, "edges"), (size_t)hops[i].edge), "chained"));
    assert_true(over_channels > 0);
    assert_int_equal(send_count + unsplit, over_channels);
    assert_true(send_count > 0);
    //  Each sender line names the plan's channel between the two subtasks, and a hop of the
    //  same trace arrived there after the batch left, which filled before it left.
    for (int i = 0; i < send_count; i++) {
        const sent_t *sent = &sends[i];
        json_t *channel = json_array_get(json_object_get(plan, "channels"), (size_t)sent->channel);
        assert_int_equal(json_integer_value(json_object_get(channel, "from_subtask")),
                         sent->subtask);
        assert_int_equal(json_integer_value(json_object_get(channel, "to_subtask")), sent->to);
        assert_true(sent->batched <= sent->sent);
        bool arrived = false;
        for (int k = 0; k < count && !arrived; k++)
            arrived = hops[k].trace == sent->trace && hops[k].subtask == sent->to &&
                      hops[k].from == sent->subtask && hops[k].in >= sent->sent;
        assert_true(arrived);
    }
    json_decref(header);
    char *out = NULL;
    char svg[] = "/tmp/rill-trace-svg-XXXXXX";
    close(mkstemp(svg));
    assert_int_equal(test_run_tool(&out, NULL, "trace", trace_path, "--svg", svg, NULL), 0);
    assert_non_null(strstr(out, "160 hops of 40 sampled records"));
    char split[128];
    snprintf(split, sizeof split, "40 hops over a channel, %d split into", send_count);
    assert_non_null(strstr(out, split));
    assert_non_null(strstr(out, "map() -> key_by()/window()"));
    assert_non_null(strstr(out, "path of trace"));
    assert_non_null(strstr(out, "  batch fill "));
    assert_non_null(strstr(out, "  queueing "));
    assert_non_null(strstr(out, "  processing "));
    //  Every line fits an 80-column terminal.
    for (const char *at = out; *at;) {
        const char *end = strchr(at, '\n');
        size_t length = end ? (size_t)(end - at) : strlen(at);
        //  The paths' first lines list every hop and may be longer.
        if (!strstr(at, "path of trace") || (end && strstr(at, "path of trace") > end))
            assert_true(length <= 80);
        at = end ? end + 1 : at + length;
    }
    free(out);
    unlink(svg);
    unlink(trace_path);
}

//  Opens file://REPORT#FRAGMENT in headless Chromium and writes the DOM it built to dom and
//  its console (where a script error shows as "Uncaught") to log. Chromium's exit status.
static int s_browse(const char *report, const char *fragment, const char *dom, const char *log)
{
    char command[1024];
    snprintf(command, sizeof command,
             "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --user-data-dir=$(mktemp -d) --enable-logging=stderr --v=0 "
             "--dump-dom 'file://%s%s' > '%s' 2>'%s'",
             report, fragment, dom, log);
    return system(command);
}

//  A p50 of a `rill trace` table row ("  batch fill   12   298 ms ...") in ns, -1 if none.
static double s_row_p50(const char *table, const char *row)
{
    const char *at = strstr(table, row);
    if (!at)
        return -1;
    size_t hops;
    double value;
    char unit[8];
    if (sscanf(at + strlen(row), "%zu %lf %7s", &hops, &value, unit) != 3)
        return -1;
    double scale = strcmp(unit, "s") == 0    ? 1e9
                   : strcmp(unit, "ms") == 0 ? 1e6
                   : strcmp(unit, "us") == 0 ? 1e3
                                             : 1;
    return value * scale;
}

static void a_long_buffer_timeout_shows_as_batch_fill(void **state)
{
    (void)state;
    //  Lines come in one burst, then the input stays open a while: every batch waits for
    //  its buffer timeout (300 ms) with nobody else to fill it, so fill dwarfs processing.
    char dir[] = "/tmp/rill-trace-fill-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64], trace_path[64], svg[64];
    snprintf(fifo, sizeof fifo, "%s/in", dir);
    snprintf(trace_path, sizeof trace_path, "%s/trace", dir);
    snprintf(svg, sizeof svg, "%s/path.svg", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t feeder = fork();
    if (feeder == 0) {
        int fd = open(fifo, O_WRONLY);
        if (fd < 0)
            _exit(1);
        for (int i = 0; i < 20; i++)
            if (write(fd, "alpha beta gamma delta\n", 23) != 23)
                _exit(1);
        usleep(1500 * 1000); //  the input's pace, not a wait for the job
        _exit(close(fd) ? 1 : 0);
    }
    assert_true(feeder > 0);
    char *err = NULL;
    int rc = test_run_tool(NULL, &err, "run", "wordcount", "-p", "2", "--mode", "streaming",
                           "--no-combine", "--buffer-timeout", "300", "--trace", trace_path,
                           "--trace-sample", "4", "--", "--input", fifo, NULL);
    int status = 0;
    waitpid(feeder, &status, 0);
    if (rc != 0)
        fprintf(stderr, "%s\n", err ? err : "");
    free(err);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *out = NULL;
    assert_int_equal(test_run_tool(&out, NULL, "trace", trace_path, "--svg", svg, NULL), 0);
    //  The slowest channel comes first; its split is the first after the table's head.
    const char *channels = strstr(out, "channel (sender -> receiver");
    assert_non_null(channels);
    double fill = s_row_p50(channels, "  batch fill");
    double processing = s_row_p50(channels, "  processing");
    if (fill < 30e6 || processing < 0 || processing * 10 > fill)
        fprintf(stderr, "%s\n", out);
    assert_true(fill >= 30e6); //  a tenth of the timeout: orders of magnitude, not a bound
    assert_true(processing >= 0);
    assert_true(processing * 10 <= fill);
    //  The path's hops carry their numbers in the drawing, and its title the total.
    char *drawing = test_read_file(svg);
    assert_non_null(strstr(drawing, "slowest traced path: "));
    assert_non_null(strstr(drawing, ">fill "));
    assert_non_null(strstr(drawing, "queue "));
    assert_non_null(strstr(drawing, ": proc "));
    free(drawing);
    free(out);
    unlink(svg);
    unlink(trace_path);
    unlink(fifo);
    rmdir(dir);
}

static void the_report_holds_diagrams_and_tables(void **state)
{
    //  The .html ending matters: a browser shows any other file as plain text.
    char report[] = "/tmp/rill-report-XXXXXX.html";
    close(mkstemps(report, 5));
    char *err = NULL;
    assert_int_equal(test_run_tool(NULL, &err, "run", "seed-example", "-p", "2", "--report",
                                   report, NULL),
                     0);
    free(err);
    FILE *file = fopen(report, "r");
    static char html[1 << 20];
    size_t size = fread(html, 1, sizeof html - 1, file);
    html[size] = 0;
    fclose(file);
    //  Three diagrams (the subtasks' sparklines are small SVGs of their own, in the table).
    int diagrams = 0;
    for (const char *at = html; (at = strstr(at, "<div class=\"diagram\">")); at++)
        diagrams++;
    assert_int_equal(diagrams, 3);
    assert_non_null(strstr(html, "<h2>Subtasks</h2>"));
    assert_non_null(strstr(html, "<h2>Channels</h2>"));
    assert_non_null(strstr(html, "map() [2/2]"));
    assert_null(strstr(html, "<?xml")); //  inlined, no XML prologue inside HTML
    //  In a browser: headless Chromium renders the page; every diagram has drawn nodes.
    if (access("/usr/bin/chromium", X_OK) != 0) {
        print_message("skipped the browser check: /usr/bin/chromium is not installed "
                      "(make test installs it when run as root)\n");
        unlink(report);
        skip();
    }
    char command[1024], dom[] = "/tmp/rill-report-dom-XXXXXX";
    close(mkstemp(dom));
    snprintf(command, sizeof command,
             "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --user-data-dir=$(mktemp -d) --dump-dom 'file://%s' > '%s' "
             "2>/dev/null",
             report, dom);
    assert_int_equal(system(command), 0);
    file = fopen(dom, "r");
    size = fread(html, 1, sizeof html - 1, file);
    html[size] = 0;
    fclose(file);
    //  The browser built the page: its three diagrams, with their nodes.
    diagrams = 0;
    for (const char *at = html; (at = strstr(at, "<div class=\"diagram\">")); at++)
        diagrams++;
    assert_int_equal(diagrams, 3);
    assert_non_null(strstr(html, "class=\"node\""));
    //  Its tables sort by a click: opened as REPORT#rill-sort-check the page clicks the
    //  subtasks table's "records in" head; the rows then come in falling order, and the page
    //  logged no error to the console.
    char log[] = "/tmp/rill-report-console-XXXXXX";
    close(mkstemp(log));
    assert_int_equal(s_browse(report, "#rill-sort-check", dom, log), 0);
    file = fopen(dom, "r");
    size = fread(html, 1, sizeof html - 1, file);
    html[size] = 0;
    fclose(file);
    char *table = strstr(html, "data-sorted=\"records in:desc\"");
    assert_non_null(table);
    long previous = -1;
    int rows = 0;
    for (char *row = strstr(table, "<tr><td>"); row && rows < 64; row = strstr(row + 1, "<tr><td>")) {
        //  The third cell: records in.
        char *cell = row;
        for (int c = 0; c < 3 && cell; c++)
            cell = strstr(cell + 1, "<td>");
        if (!cell || (strstr(row, "</table>") && strstr(row, "</table>") < cell))
            break;
        long records = strtol(cell + 4, NULL, 10);
        if (previous >= 0)
            assert_true(records <= previous);
        previous = records;
        rows++;
        char *end = strstr(row, "</table>"), *next = strstr(row + 1, "<tr><td>");
        if (end && (!next || end < next))
            break;
    }
    assert_true(rows >= 4);
    char *console = test_read_file(log);
    if (strstr(console, "Uncaught"))
        fprintf(stderr, "%s", console);
    assert_null(strstr(console, "Uncaught"));
    free(console);
    unlink(log);
    unlink(dom);
    unlink(report);
}

//  What the report shows in a wordcount's quantiles row: an integer when the value is one.
static void s_quantile_cell(char *text, size_t size, double value)
{
    if (value == (double)(long long)value)
        snprintf(text, size, "<td>%lld</td>", (long long)value);
    else
        snprintf(text, size, "<td>%.1f</td>", value);
}

//  The counter `field` of every subtask of the operator named `name`, in subtask order.
static int s_operator_counts(json_t *root, const char *name, const char *field, double *values)
{
    int id = -1, count = 0;
    json_t *op, *subtask;
    size_t i;
    json_array_foreach (json_object_get(root, "operators"), i, op)
        if (strcmp(json_string_value(json_object_get(op, "name")), name) == 0)
            id = (int)json_integer_value(json_object_get(op, "id"));
    assert_true(id >= 0);
    json_array_foreach (json_object_get(root, "subtasks"), i, subtask)
        if (json_integer_value(json_object_get(subtask, "operator")) == id)
            values[count++] = (double)json_integer_value(json_object_get(subtask, field));
    return count;
}

//  A wordcount at p = 2 of 1000 lines of four words: the quantiles table holds each
//  operator's counts (of two subtasks: min, max, their mean as median, quartiles between;
//  split() emits 4000 words, so its median is 2000 however the lines fell), one time bar per
//  subtask whose parts fill it, and in Chromium the page zooms, pans, resets and shows hover
//  cards with the hovered task's true counts (REPORT#rill-ui-check), logging no error.
static void the_report_summarises_operators_and_responds_to_the_pointer(void **state)
{
    char input[] = "/tmp/rill-report-words-XXXXXX", report[] = "/tmp/rill-report-ui-XXXXXX.html";
    char metrics[] = "/tmp/rill-report-metrics-XXXXXX";
    FILE *text = fdopen(mkstemp(input), "w");
    for (int i = 0; i < 1000; i++)
        fprintf(text, "the quick brown fox\n");
    fclose(text);
    close(mkstemps(report, 5));
    close(mkstemp(metrics));
    char *err = NULL;
    int status = test_run_tool(NULL, &err, "run", "wordcount", "-p", "2", "--report", report,
                               "--metrics-json", metrics, "--", "--input", input, "--output",
                               "/dev/null", NULL);
    if (status != 0)
        fail_msg("rill run exited %d: %s", status, err);
    free(err);
    char *html = test_read_file(report), *json = test_read_file(metrics);
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    assert_non_null(strstr(html, "<section id=\"quantiles\">"));
    double values[2];
    assert_int_equal(s_operator_counts(root, "split()", "records_out", values), 2);
    assert_int_equal(values[0] + values[1], 4000);
    assert_int_equal(s_operator_counts(root, "split()", "records_in", values), 2);
    assert_int_equal(values[0] + values[1], 1000);
    //  Every operator's records rows, the numbers computed here from the metrics JSON.
    static const struct {
        const char *op, *field, *measure;
    } rows[] = {{"Source: lines", "records_out", "records out"},
                {"split()", "records_in", "records in"},
                {"split()", "records_out", "records out"},
                {"key_by/count()", "records_in", "records in"},
                {"key_by/count()", "records_out", "records out"},
                {"Sink: print", "records_in", "records in"}};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int count = s_operator_counts(root, rows[r].op, rows[r].field, values);
        double low = count == 2 && values[1] < values[0] ? values[1] : values[0];
        double high = count == 2 && values[1] > values[0] ? values[1] : values[0];
        double quantiles[5] = {low, low + (high - low) / 4, (low + high) / 2,
                               low + 3 * (high - low) / 4, high};
        char row[512], cell[64];
        snprintf(row, sizeof row, "<tr><td>%s</td><td>%s</td>", rows[r].op, rows[r].measure);
        for (int q = 0; q < 5; q++) {
            s_quantile_cell(cell, sizeof cell, quantiles[q]);
            strncat(row, cell, sizeof row - strlen(row) - 1);
        }
        strncat(row, "</tr>", sizeof row - strlen(row) - 1);
        if (!strstr(html, row))
            fail_msg("the quantiles table has no row %s", row);
        if (strcmp(rows[r].op, "split()") == 0 && strcmp(rows[r].field, "records_out") == 0)
            assert_non_null(strstr(row, "<td>2000</td><td>")); //  the median, wherever lines fell
        if (strcmp(rows[r].op, "split()") == 0 && strcmp(rows[r].field, "records_in") == 0)
            assert_non_null(strstr(row, "<td>500</td><td>"));
    }
    //  One stacked time bar per subtask; when it has time, its parts fill its 240 px.
    size_t subtasks = json_array_size(json_object_get(root, "subtasks"));
    assert_true(subtasks >= 7);
    size_t bars = 0;
    for (char *bar = strstr(html, "<svg class=\"rill-timebar\""); bar;
         bar = strstr(bar + 1, "<svg class=\"rill-timebar\"")) {
        bars++;
        char *end = strstr(bar, "</svg>");
        double width = 0;
        for (char *part = strstr(bar, "class=\"rill-time-"); part && part < end;
             part = strstr(part + 1, "class=\"rill-time-"))
            width += strtod(strstr(part, "width=\"") + 7, NULL);
        assert_true(width == 0 || (width > 239.9 && width < 240.1));
    }
    assert_int_equal(bars, subtasks);
    unlink(input);
    if (access("/usr/bin/chromium", X_OK) != 0) {
        print_message("skipped the browser check: /usr/bin/chromium is not installed "
                      "(make test installs it when run as root)\n");
        unlink(report);
        unlink(metrics);
        skip();
    }
    char dom[] = "/tmp/rill-report-ui-dom-XXXXXX", log[] = "/tmp/rill-report-ui-console-XXXXXX";
    close(mkstemp(dom));
    close(mkstemp(log));
    assert_int_equal(s_browse(report, "#rill-ui-check", dom, log), 0);
    char *page = test_read_file(dom), *console = test_read_file(log);
    char *result = strstr(page, "<pre id=\"rill-ui-result\">");
    if (!result || strncmp(result + 25, "PASS", 4) != 0 || strstr(result, "FAIL"))
        fail_msg("the page's own check: %s", result ? result : "(no result in the DOM)");
    assert_non_null(strstr(result, "ok: the wheel zooms in around the pointer: viewBox"));
    assert_non_null(strstr(result, "ok: a drag pans"));
    assert_non_null(strstr(result, "ok: reset goes back to"));
    //  The card of the hovered task holds that subtask's counts as the metrics JSON has them.
    char *hovered = strstr(result, "ok: hovering flow_task");
    assert_non_null(hovered);
    long task = strtol(hovered + strlen("ok: hovering flow_task"), NULL, 10);
    json_t *subtask = json_array_get(json_object_get(root, "subtasks"), (size_t)task);
    assert_non_null(subtask);
    char counts[96];
    snprintf(counts, sizeof counts, "records in %lld, out %lld",
             (long long)json_integer_value(json_object_get(subtask, "records_in")),
             (long long)json_integer_value(json_object_get(subtask, "records_out")));
    char *line_end = strchr(hovered, '\n');
    char *found = strstr(hovered, counts);
    if (!found || (line_end && found > line_end))
        fail_msg("the card of task %ld lacks '%s': %s", task, counts, hovered);
    assert_non_null(strstr(result, "ok: hovering flow_channel"));
    if (strstr(console, "Uncaught"))
        fprintf(stderr, "%s", console);
    assert_null(strstr(console, "Uncaught"));
    free(page);
    free(console);
    json_decref(root);
    free(json);
    free(html);
    unlink(dom);
    unlink(log);
    unlink(report);
    unlink(metrics);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_equal_the_true_counts_for_every_pattern),
        cmocka_unit_test(a_skewed_key_shows_in_the_exchange_matrix),
        cmocka_unit_test(a_slow_sink_shows_its_upstream_backpressured),
        cmocka_unit_test(the_metrics_json_has_the_documented_schema),
        cmocka_unit_test(the_monitor_stream_is_received_while_the_job_runs),
        cmocka_unit_test(rill_top_shows_the_running_subtasks),
        cmocka_unit_test(rill_top_keeps_its_header_on_an_80_by_24_terminal),
        cmocka_unit_test(traces_follow_records_hop_by_hop),
        cmocka_unit_test(a_long_buffer_timeout_shows_as_batch_fill),
        cmocka_unit_test(the_report_holds_diagrams_and_tables),
        cmocka_unit_test(the_report_summarises_operators_and_responds_to_the_pointer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
