/*  rill_cmd_top.c: `rill top ENDPOINT`: a refreshing terminal view of a running job, fed by
    the snapshots `rill run --monitor ENDPOINT` publishes. Per subtask: records/s in and out
    (between the last two snapshots), busy and backpressure ratios; 80 columns. It exits when
    the job's final snapshot arrives, on `q`, or (--count N) after N snapshots. */
#include "rill_cli.h"
#include "rill_security.h"

#include <czmq.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill top ENDPOINT [--count N] [--wait SECONDS] [--keys DIR]\n"
            "\n"
            "Shows a running job's subtasks live, from the metrics a job publishes with\n"
            "'rill run JOB --monitor ENDPOINT' (e.g. tcp://127.0.0.1:5599 or ipc:///tmp/rill).\n"
            "Per subtask: records/s in and out, busy and backpressure share of its time.\n"
            "Exits when the job ends or on 'q'.\n"
            "\n"
            "options:\n"
            "  --count N        exit after N snapshots\n"
            "  --wait SECONDS   give up when no snapshot came for this long (default: never)\n"
            "  --keys DIR       the job's cluster certificate, when it runs with --keys\n"
            "  --sort KEY       order of the subtasks: id (default), busy, bp, rate; on a\n"
            "                   terminal the keys i, b, p, r change it\n");
}

//  Human-readable rate: 950, 12.3k, 4.56M.
static void s_rate(char *text, size_t size, double rate)
{
    if (rate >= 1e9)
        snprintf(text, size, "%.3gG", rate / 1e9);
    else if (rate >= 1e6)
        snprintf(text, size, "%.3gM", rate / 1e6);
    else if (rate >= 1e3)
        snprintf(text, size, "%.3gk", rate / 1e3);
    else
        snprintf(text, size, "%.0f", rate);
}

static json_int_t s_int(json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

//  How the subtask table is ordered: by id (the plan's order), or busiest, most
//  backpressured, or highest rate in first.
typedef enum { S_SORT_ID, S_SORT_BUSY, S_SORT_BACKPRESSURE, S_SORT_RATE } s_sort_t;
static const char *const s_sort_names[] = {"id", "busy", "bp", "rate"};

//  One subtask's row, as drawn.
typedef struct {
    char label[64], task[24];
    double in, out, busy, idle, bp, total;
    int id;
} s_row_t;

static s_sort_t s_sort_by;

static int s_compare_rows(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    double kx = 0, ky = 0;
    switch (s_sort_by) {
    case S_SORT_BUSY:
        kx = x->total ? x->busy / x->total : 0, ky = y->total ? y->busy / y->total : 0;
        break;
    case S_SORT_BACKPRESSURE:
        kx = x->total ? x->bp / x->total : 0, ky = y->total ? y->bp / y->total : 0;
        break;
    case S_SORT_RATE:
        kx = x->in, ky = y->in;
        break;
    case S_SORT_ID:
        return x->id - y->id;
    }
    return kx < ky ? 1 : kx > ky ? -1 : x->id - y->id;
}

//  The terminal's height (24 when it does not say).
static int s_terminal_rows(void)
{
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row >= 10)
        return size.ws_row;
    return 24;
}

//  Prints one line cut at 80 columns: the screen is 80 wide, whatever the names and numbers.
static void s_print80(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void s_print80(const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    printf("%.80s\n", line);
}

//  One line on event time, when the job has any: the lowest watermark of any operator (what
//  holds its windows and timers back), which operator, how far behind the wall clock it is
//  (when event time is wall-clock time), and the records too late for every window.
static void s_event_time(json_t *now)
{
    json_t *plan = json_object_get(now, "plan");
    json_t *operators = json_object_get(plan, "operators");
    json_t *subtasks = json_object_get(now, "subtasks");
    size_t i;
    json_t *subtask;
    long long lowest = LLONG_MAX, late = 0;
    json_t *at = NULL;
    bool any = false;
    json_array_foreach(subtasks, i, subtask) {
        json_t *event_time = json_object_get(subtask, "event_time");
        if (!json_is_object(event_time))
            continue;
        any = true;
        late += (long long)s_int(event_time, "late_records");
        json_t *watermark = json_object_get(event_time, "watermark");
        if (json_is_integer(watermark) && json_integer_value(watermark) < lowest) {
            lowest = json_integer_value(watermark);
            at = json_array_get(operators, (size_t)s_int(subtask, "operator"));
        }
    }
    if (!any)
        return;
    if (!at) {
        s_print80("event time: no watermark yet; %lld late records", late);
        return;
    }
    if (lowest == LLONG_MAX) {
        s_print80("event time: every input ended; %lld late records", late);
        return;
    }
    char when[40];
    rill_time_format(lowest, when, sizeof when);
    double lag = (double)(zclock_time() - lowest) / 1000.0;
    char behind[40] = "";
    if (lag >= 0 && lag < 30 * 86400.0) //  event time that is wall-clock time
        snprintf(behind, sizeof behind, ", %.1f s behind", lag);
    s_print80("event time: lowest watermark %s at '%.20s'%s; %lld late", when,
              json_string_value(json_object_get(at, "name")), behind, late);
}

//  One line of user metrics, when any subtask has them: each name's counters summed over the
//  job (a gauge: its highest value), as many as fit 80 columns.
typedef struct {
    const char *name;
    bool gauge;
    long long value;
} s_user_total_t;

static void s_user_metrics(json_t *now)
{
    json_t *subtasks = json_object_get(now, "subtasks");
    s_user_total_t seen[16];
    int named = 0;
    size_t i, u;
    json_t *subtask, *metric;
    json_array_foreach(subtasks, i, subtask) {
        json_array_foreach(json_object_get(subtask, "user_metrics"), u, metric) {
            const char *name = json_string_value(json_object_get(metric, "name"));
            const char *kind = json_string_value(json_object_get(metric, "kind"));
            long long value = (long long)s_int(metric, "value");
            if (!name || !kind)
                continue;
            int n = 0;
            while (n < named && strcmp(seen[n].name, name) != 0)
                n++;
            if (n == named) {
                if (named == 16)
                    continue;
                bool gauge = strcmp(kind, "gauge") == 0;
                seen[named++] = (s_user_total_t){name, gauge, gauge ? LLONG_MIN : 0};
            }
            if (seen[n].gauge)
                seen[n].value = value > seen[n].value ? value : seen[n].value;
            else
                seen[n].value += value;
        }
    }
    if (!named)
        return;
    char line[81];
    int at = snprintf(line, sizeof line, "user:");
    for (int n = 0; n < named && at < (int)sizeof line - 1; n++)
        at += snprintf(line + at, sizeof line - (size_t)at, " %s %lld%s", seen[n].name,
                       seen[n].value, n + 1 < named ? "," : "");
    printf("%.80s\n", line);
}

//  Draws one frame from snapshot `now` (rates against `before`, which may be NULL). On a
//  terminal the header (job line, diagnosis, column names) stays, and the table shows as many
//  rows as fit, in the chosen order, saying how many more there are.
static void s_draw(json_t *now, json_t *before, bool terminal, s_sort_t sort)
{
    if (terminal)
        printf("\033[H\033[2J");
    double seconds = (double)s_int(now, "duration_ns") / 1e9;
    double dt = before ? seconds - (double)s_int(before, "duration_ns") / 1e9 : seconds;
    bool running = json_is_true(json_object_get(now, "running"));
    s_print80("rill top: job '%.30s' (%s) %s %.1f s%s",
           json_string_value(json_object_get(now, "job")),
           json_string_value(json_object_get(now, "mode")), running ? "running" : "finished in",
           seconds, terminal && running ? "  q quit, b/p/r/i sort" : "");
    int used = 1;
    //  What the counters say is wrong (the snapshot's diagnosis), before the numbers.
    json_t *diagnosis = json_object_get(now, "diagnosis");
    size_t line_index;
    json_t *line;
    json_array_foreach(diagnosis, line_index, line)
    {
        if (line_index == 4)
            break;
        printf("! %.76s\n", json_string_value(line) ? json_string_value(line) : "");
        used++;
    }
    //  task: the thread the subtask runs in; operators chained into one task share it.
    printf("%-29s %5s %10s %10s %6s %6s %6s\n", "subtask", "task", "in/s", "out/s", "busy", "idle",
           "bp");
    used++;
    json_t *plan = json_object_get(now, "plan");
    json_t *operators = json_object_get(plan, "operators");
    json_t *plan_subtasks = json_object_get(plan, "subtasks");
    json_t *subtasks = json_object_get(now, "subtasks");
    json_t *previous = before ? json_object_get(before, "subtasks") : NULL;
    size_t count = json_array_size(subtasks);
    s_row_t *rows = calloc(count + 1, sizeof(s_row_t));
    size_t i;
    json_t *subtask;
    json_array_foreach(subtasks, i, subtask)
    {
        if (!rows)
            break;
        s_row_t *row = &rows[i];
        json_t *op = json_array_get(operators, (size_t)s_int(subtask, "operator"));
        json_t *old = previous ? json_array_get(previous, i) : NULL;
        row->id = (int)i;
        row->in = (double)(s_int(subtask, "records_in") - (old ? s_int(old, "records_in") : 0));
        row->out = (double)(s_int(subtask, "records_out") - (old ? s_int(old, "records_out") : 0));
        row->busy = (double)(s_int(subtask, "busy_ns") - (old ? s_int(old, "busy_ns") : 0));
        row->idle = (double)(s_int(subtask, "idle_ns") - (old ? s_int(old, "idle_ns") : 0));
        row->bp =
            (double)(s_int(subtask, "backpressure_ns") - (old ? s_int(old, "backpressure_ns") : 0));
        row->total = row->busy + row->idle + row->bp;
        row->in = dt > 0 ? row->in / dt : 0;
        row->out = dt > 0 ? row->out / dt : 0;
        snprintf(row->task, sizeof row->task, "-");
        json_t *task_id = json_object_get(json_array_get(plan_subtasks, i), "task");
        if (json_is_integer(task_id))
            snprintf(row->task, sizeof row->task, "#%lld", (long long)json_integer_value(task_id));
        snprintf(row->label, sizeof row->label, "%.19s [%lld/%lld]",
                 json_string_value(json_object_get(op, "name")),
                 (long long)s_int(subtask, "index") + 1, (long long)s_int(op, "parallelism"));
    }
    s_sort_by = sort;
    if (rows)
        qsort(rows, count, sizeof rows[0], s_compare_rows);
    //  Room for the table: the screen less the header above and the lines below (more rows,
    //  totals, event time, user metrics, checkpoints).
    size_t room =
        terminal ? (size_t)(s_terminal_rows() - used - 6 > 1 ? s_terminal_rows() - used - 6 : 1)
                 : count;
    for (i = 0; rows && i < count && i < room; i++) {
        const s_row_t *row = &rows[i];
        char in_rate[16], out_rate[16];
        s_rate(in_rate, sizeof in_rate, row->in);
        s_rate(out_rate, sizeof out_rate, row->out);
        printf("%-29s %5s %10s %10s %5.0f%% %5.0f%% %5.0f%%\n", row->label, row->task, in_rate,
               out_rate, row->total ? 100 * row->busy / row->total : 0,
               row->total ? 100 * row->idle / row->total : 0,
               row->total ? 100 * row->bp / row->total : 0);
    }
    if (rows && count > room)
        printf("... %zu more subtasks (sorted by %s)\n", count - room, s_sort_names[sort]);
    free(rows);
    json_t *totals = json_object_get(now, "totals");
    s_print80("total: %lld records in, %lld out", (long long)s_int(totals, "records_in"),
              (long long)s_int(totals, "records_out"));
    s_event_time(now);
    s_user_metrics(now);
    //  Checkpoints, when the job takes them (Flink's checkpoint summary).
    json_t *checkpoints = json_object_get(now, "checkpoints");
    if (json_is_object(checkpoints))
        s_print80("checkpoints: %lld completed, %lld failed, latest %lld (%lld bytes, %lld ms), "
                  "%lld restarts%s",
               (long long)s_int(checkpoints, "completed"), (long long)s_int(checkpoints, "failed"),
               (long long)s_int(checkpoints, "latest"),
               (long long)s_int(checkpoints, "latest_bytes"),
               (long long)s_int(checkpoints, "latest_duration_ms"),
               (long long)s_int(checkpoints, "restarts"),
               s_int(checkpoints, "restored") ? ", restored" : "");
    if (!terminal)
        printf("\n");
    fflush(stdout);
}

int rill_cmd_top(int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'c'}, {"wait", required_argument, NULL, 'w'},
        {"keys", required_argument, NULL, 'k'},  {"sort", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int count = 0, wait_s = 0;
    const char *keys_dir = NULL;
    s_sort_t sort = S_SORT_ID;
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'c':
            if (rill_cli_parse_int(optarg, 1, 1 << 30, &count))
                goto usage;
            break;
        case 'w':
            if (rill_cli_parse_int(optarg, 1, 86400, &wait_s))
                goto usage;
            break;
        case 'k':
            keys_dir = optarg;
            break;
        case 's': {
            int found = -1;
            for (int k = 0; k < 4; k++)
                if (strcmp(optarg, s_sort_names[k]) == 0)
                    found = k;
            if (found < 0)
                goto usage;
            sort = (s_sort_t)found;
            break;
        }
        case 'h':
            s_usage(stdout);
            return RILL_EXIT_OK;
        default:
            goto usage;
        }
    }
    if (optind != argc - 1)
        goto usage;
    //  A job run with --keys publishes over CURVE: subscribe as a client of its certificate.
    char error[256] = "";
    rill_security_t *security = keys_dir ? rill_security_new(keys_dir, error, sizeof error) : NULL;
    if (keys_dir && !security) {
        fprintf(stderr, "rill top: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    zsock_t *subscriber = zsock_new(ZMQ_SUB);
    if (subscriber && security)
        rill_security_client(security, subscriber);
    if (!subscriber || zsock_connect(subscriber, "%s", argv[optind]) < 0) {
        fprintf(stderr, "rill top: cannot connect to '%s'\n", argv[optind]);
        zsock_destroy(&subscriber);
        rill_security_destroy(&security);
        return RILL_EXIT_FAILURE;
    }
    zsock_set_subscribe(subscriber, "metrics");
    bool terminal = isatty(STDOUT_FILENO);
    bool keys = isatty(STDIN_FILENO);
    struct termios saved;
    if (keys) {
        //  Read single key presses without echo, so `q` quits at once.
        tcgetattr(STDIN_FILENO, &saved);
        struct termios raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    if (terminal)
        printf("\033[H\033[2Jrill top: waiting for metrics on %s ...\n", argv[optind]);
    json_t *before = NULL;
    int shown = 0, rc = RILL_EXIT_OK;
    int64_t last = zclock_mono();
    for (;;) {
        zmq_pollitem_t items[] = {{zsock_resolve(subscriber), 0, ZMQ_POLLIN, 0},
                                  {NULL, STDIN_FILENO, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, keys ? 2 : 1, 200) < 0 && zmq_errno() != EINTR)
            break;
        if (zsys_interrupted)
            break;
        if (keys && (items[1].revents & ZMQ_POLLIN)) {
            char key = 0;
            if (read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q'))
                break;
            //  Sort keys: the next frame is drawn in the new order.
            sort = key == 'b'   ? S_SORT_BUSY
                   : key == 'p' ? S_SORT_BACKPRESSURE
                   : key == 'r' ? S_SORT_RATE
                   : key == 'i' ? S_SORT_ID
                                : sort;
        }
        if (!(items[0].revents & ZMQ_POLLIN)) {
            if (wait_s && zclock_mono() - last > (int64_t)wait_s * 1000) {
                fprintf(stderr, "rill top: no metrics from '%s' for %d s\n", argv[optind], wait_s);
                rc = RILL_EXIT_FAILURE;
                break;
            }
            continue;
        }
        char *topic = NULL, *text = NULL;
        if (zstr_recvx(subscriber, &topic, &text, NULL) < 2) {
            zstr_free(&topic);
            zstr_free(&text);
            continue;
        }
        json_error_t error;
        json_t *now = json_loads(text, 0, &error);
        zstr_free(&topic);
        zstr_free(&text);
        if (!now) {
            fprintf(stderr, "rill top: a snapshot is not JSON: %s\n", error.text);
            continue;
        }
        last = zclock_mono();
        s_draw(now, before, terminal, sort);
        json_decref(before);
        before = now;
        shown++;
        if (!json_is_true(json_object_get(now, "running")) || (count && shown >= count))
            break;
    }
    json_decref(before);
    zsock_destroy(&subscriber);
    rill_security_destroy(&security);
    if (keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return rc;
usage:
    fprintf(stderr, "rill top: bad arguments\n\n");
    s_usage(stderr);
    return RILL_EXIT_USAGE;
}
