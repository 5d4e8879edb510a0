/*  testutil.c: see testutil.h. */
#define _GNU_SOURCE //  nftw
#include "testutil.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include "rill_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_generate_sequence(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "%llu", (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index);
}

int test_tag_subtask(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    char text[256];
    int size = snprintf(text, sizeof text, "%d\t%.*s", rill_collector_subtask(out), (int)in->size,
                        (const char *)in->data);
    return rill_collector_emit(out, text, (size_t)size, in->timestamp);
}

uint64_t test_record_number(const rill_record_t *record)
{
    const char *text = record->data;
    uint64_t value = 0;
    size_t i = 0;
    for (; i < record->size && text[i] >= '0' && text[i] <= '9'; i++)
        value = value * 10 + (uint64_t)(text[i] - '0');
    return i ? value : UINT64_MAX;
}

int64_t test_field_number(const rill_record_t *record, char separator)
{
    const char *text = record->data;
    const char *at = memchr(text, separator, record->size);
    if (!at)
        return 0;
    size_t i = (size_t)(at + 1 - text);
    bool negative = i < record->size && text[i] == '-';
    i += negative;
    int64_t value = 0;
    for (; i < record->size && text[i] >= '0' && text[i] <= '9'; i++)
        value = value * 10 + (text[i] - '0');
    return negative ? -value : value;
}

static char *s_read_all(int fd)
{
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity);
    for (;;) {
        if (size + 1 == capacity)
            text = realloc(text, capacity *= 2);
        ssize_t got = read(fd, text + size, capacity - size - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size += (size_t)got;
    }
    text[size] = 0;
    return text;
}

//  Runs the tool with stdin_fd as its standard input.
static int s_run_toolv(char **out, char **err, int stdin_fd, const char *const *args)
{
    const char *bin = getenv("RILL_BIN");
    if (!bin)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/rill", bin);
    //  Output goes to temporary files: two pipes read in turn could deadlock on a full pipe.
    char out_name[] = "/tmp/rill-test-out-XXXXXX", err_name[] = "/tmp/rill-test-err-XXXXXX";
    int out_fd = mkstemp(out_name), err_fd = mkstemp(err_name);
    if (out_fd < 0 || err_fd < 0)
        return -1;
    unlink(out_name);
    unlink(err_name);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        size_t count = 0;
        while (args[count])
            count++;
        char **argv = calloc(count + 2, sizeof(char *));
        argv[0] = path;
        for (size_t i = 0; i < count; i++)
            argv[i + 1] = (char *)args[i];
        execv(path, argv);
        _exit(127);
    }
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(out_fd, 0, SEEK_SET);
    lseek(err_fd, 0, SEEK_SET);
    if (out)
        *out = s_read_all(out_fd);
    if (err)
        *err = s_read_all(err_fd);
    close(out_fd);
    close(err_fd);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int test_run_toolv(char **out, char **err, const char *const *args)
{
    return s_run_toolv(out, err, -1, args);
}

//  Writes all of text to fd: 0, or 1 when a write failed (a child's exit status).
static int s_write_all(int fd, const char *text)
{
    size_t size = strlen(text), done = 0;
    while (done < size) {
        ssize_t wrote = write(fd, text + done, size - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return 1;
        done += (size_t)wrote;
    }
    return 0;
}

//  Writes all of text to fd in a child process (so a reader that is slow or stops early never
//  blocks the test) and returns the child's pid, or -1.
//  other_fd (if >= 0) is closed in the child: a feeder holding the read end of its own pipe
//  would wait forever on a reader that stopped early.
static pid_t s_feed(int fd, const char *text, int other_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (other_fd >= 0)
            close(other_fd);
        _exit(s_write_all(fd, text));
    }
    return pid;
}

int test_run_tool_piped(char **out, char **err, const char *input, const char *const *args)
{
    int fds[2];
    //  Close-on-exec: the tool must not inherit the write end, or it would never see the end.
    if (pipe(fds))
        return -1;
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pid_t feeder = s_feed(fds[1], input, fds[0]);
    close(fds[1]);
    int status = feeder < 0 ? -1 : s_run_toolv(out, err, fds[0], args);
    close(fds[0]);
    if (feeder > 0)
        while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR)
            ;
    return status;
}

int test_fifo_feed(const char *path, const char *input)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY); //  waits for the reader
        if (fd < 0)
            _exit(1);
        _exit(s_write_all(fd, input));
    }
    return (int)pid;
}

int test_fifo_feed_finish(const char *path, int feeder)
{
    //  A reader that never came (or stopped early) would leave the feeder waiting in open()
    //  or in write(): be that reader, and throw away what it writes, until it is gone.
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    int status = -1;
    for (;;) {
        pid_t done = waitpid((pid_t)feeder, &status, WNOHANG);
        if (done == (pid_t)feeder || (done < 0 && errno != EINTR))
            break;
        char discard[4096];
        if (fd < 0 || read(fd, discard, sizeof discard) <= 0)
            usleep(1000);
    }
    if (fd >= 0)
        close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int test_run_tool(char **out, char **err, const char *arg, ...)
{
    const char *args[64];
    size_t count = 0;
    va_list list;
    va_start(list, arg);
    for (const char *a = arg; a && count < 63; a = va_arg(list, const char *))
        args[count++] = a;
    va_end(list);
    args[count] = NULL;
    return test_run_toolv(out, err, args);
}

char *test_source_path(const char *relative)
{
    const char *root = getenv("RILL_SOURCE_DIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", root ? root : ".", relative);
    return path;
}

char *test_read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot read %s", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = calloc(1, (size_t)size + 1);
    if (fread(text, 1, (size_t)size, file) != (size_t)size)
        fail_msg("cannot read all of %s", path);
    fclose(file);
    return text;
}

char *test_temp_file(const char *text)
{
    char *path = strdup("/tmp/rill-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    size_t size = strlen(text);
    if (write(fd, text, size) != (ssize_t)size) {
        close(fd);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}

//  ---- waiting on events

int64_t test_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void test_latch_init(test_latch_t *self)
{
    pthread_mutex_init(&self->lock, NULL);
    //  The deadline is measured on the monotonic clock, so a wall-clock jump cannot end a wait.
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    self->set = false;
}

void test_latch_destroy(test_latch_t *self)
{
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
}

void test_latch_set(test_latch_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->set = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

bool test_latch_is_set(test_latch_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool set = self->set;
    pthread_mutex_unlock(&self->lock);
    return set;
}

int test_latch_wait(test_latch_t *self, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (!self->set && rc == 0)
        rc = pthread_cond_timedwait(&self->cond, &self->lock, &deadline);
    bool set = self->set;
    pthread_mutex_unlock(&self->lock);
    return set ? 0 : -1;
}

//  ---- the wire level

static int s_pipe_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

test_pipe_t *test_pipe_new(int senders, int receivers, rill_pattern_t pattern,
                           rill_partition_fn partition, void *partition_ctx)
{
    return test_pipe_new_into(senders, receivers, pattern, RILL_OP_MAP, partition, partition_ctx);
}

test_pipe_t *test_pipe_new_into(int senders, int receivers, rill_pattern_t pattern,
                                rill_op_kind_t receiver_kind, rill_partition_fn partition,
                                void *partition_ctx)
{
    test_pipe_t *self = calloc(1, sizeof(test_pipe_t));
    assert_non_null(self);
    self->graph = rill_graph_new();
    int from = rill_graph_add_operator(
        self->graph, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_GENERATOR,
                                             .name = "senders",
                                             .parallelism = senders,
                                             .fn.generate = test_generate_sequence,
                                             .count = 1});
    int to =
        rill_graph_add_operator(self->graph, receiver_kind == RILL_OP_REDUCE
                                                 ? &(rill_operator_spec_t){.kind = RILL_OP_REDUCE,
                                                                           .name = "receivers",
                                                                           .parallelism = receivers,
                                                                           .agg = RILL_AGG_COUNT}
                                                 : &(rill_operator_spec_t){.kind = RILL_OP_MAP,
                                                                           .name = "receivers",
                                                                           .parallelism = receivers,
                                                                           .fn.map = s_pipe_map});
    int sink = rill_graph_add_operator(
        self->graph, &(rill_operator_spec_t){
                         .kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = receivers});
    bool keyed = pattern == RILL_PATTERN_HASH || pattern == RILL_PATTERN_CUSTOM;
    assert_int_equal(
        rill_graph_add_edge(self->graph,
                            &(rill_edge_spec_t){.from = from,
                                                .to = to,
                                                .pattern = pattern,
                                                .key = keyed ? rill_key_first_field : NULL,
                                                .partition = partition,
                                                .partition_ctx = partition_ctx}),
        0);
    rill_graph_add_edge(
        self->graph, &(rill_edge_spec_t){.from = to, .to = sink, .pattern = RILL_PATTERN_FORWARD});
    //  A job name of its own per pipe: the plan's address alone does not keep endpoints apart
    //  when a freed plan's memory is reused before ZeroMQ has released the old endpoint (an
    //  open bug of issue 10). A process-wide count, only ever incremented, is the simplest name.
    //  The pipe tests a channel: a forward one must not become a chain (a function call).
    rill_graph_set_chaining_enabled(self->graph, false);
    static int serial;
    char name[32], error[512] = "";
    snprintf(name, sizeof name, "wire%d", __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
    self->plan = rill_plan_new(self->graph, name, 1, RILL_MODE_STREAMING, error, sizeof error);
    if (!self->plan)
        fail_msg("cannot plan the test pipe: %s", error);
    return self;
}

void test_pipe_destroy(test_pipe_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_plan_destroy(&(*self_p)->plan);
    rill_graph_destroy(&(*self_p)->graph);
    free(*self_p);
    *self_p = NULL;
}

int test_pipe_sender(const test_pipe_t *self, int index)
{
    return rill_plan_operator(self->plan, 0)->first_subtask + index;
}

int test_pipe_receiver(const test_pipe_t *self, int index)
{
    return rill_plan_operator(self->plan, 1)->first_subtask + index;
}

zsock_t *test_pipe_connect(const test_pipe_t *self, int receiver)
{
    const rill_plan_edge_t *edge = rill_plan_edge(self->plan, 0);
    for (int c = 0; c < edge->channel_count; c++) {
        const rill_plan_channel_t *ch = rill_plan_channel(self->plan, edge->first_channel + c);
        if (ch->to_index != receiver)
            continue;
        zsock_t *socket = zsock_new(edge->pattern == RILL_PATTERN_FORWARD ? ZMQ_PAIR : ZMQ_DEALER);
        assert_non_null(socket);
        zsock_set_linger(socket, 0);
        assert_int_equal(zsock_connect(socket, "%s", ch->endpoint), 0);
        return socket;
    }
    fail_msg("no channel reaches receiver %d", receiver);
    return NULL;
}

void test_frame_begin(rill_buffer_t *frame, uint8_t magic, uint8_t kind, uint16_t sender,
                      uint32_t count)
{
    rill_frame_header_t header = {magic, kind, sender, count, 0};
    rill_buffer_reset(frame);
    uint8_t *at = rill_buffer_reserve(frame, RILL_FRAME_HEADER_SIZE);
    assert_non_null(at);
    rill_frame_header_put(at, &header);
}

void test_frame_add_record(rill_buffer_t *frame, const char *text, int64_t timestamp,
                           uint64_t trace)
{
    test_frame_add_keyed_record(frame, text, timestamp, trace, NULL);
}

void test_frame_add_keyed_record(rill_buffer_t *frame, const char *text, int64_t timestamp,
                                 uint64_t trace, const rill_key_hint_t *key)
{
    size_t size = strlen(text);
    uint8_t *at = rill_buffer_reserve(frame, rill_frame_record_size(size, timestamp, trace, key));
    assert_non_null(at);
    rill_frame_put_record(at, text, (uint32_t)size, timestamp, trace, key);
}

void test_frame_add_watermark(rill_buffer_t *frame, int64_t watermark)
{
    uint8_t *at = rill_buffer_reserve(frame, RILL_WATERMARK_ENTRY_SIZE);
    assert_non_null(at);
    rill_frame_put_watermark(at, watermark);
}

void test_frame_poke(rill_buffer_t *frame, size_t offset, uint8_t byte)
{
    size_t size = rill_buffer_size(frame);
    assert_true(offset < size);
    uint8_t *copy = malloc(size);
    assert_non_null(copy);
    memcpy(copy, rill_buffer_data(frame), size);
    copy[offset] = byte;
    assert_int_equal(rill_buffer_set(frame, copy, size), 0);
    free(copy);
}

int test_frame_send(zsock_t *socket, const rill_buffer_t *frame)
{
    return zmq_send(zsock_resolve(socket), rill_buffer_data(frame), rill_buffer_size(frame), 0) < 0
               ? -1
               : 0;
}

int test_frame_send_control(zsock_t *socket, uint8_t kind, uint16_t sender)
{
    rill_frame_header_t header = {RILL_FRAME_MAGIC, kind, sender, 0, 0};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    return zmq_send(zsock_resolve(socket), bytes, sizeof bytes, 0) < 0 ? -1 : 0;
}

int test_reader_take(rill_reader_t *reader, int input, int frames, rill_reader_record_fn *fn,
                     void *ctx)
{
    int taken = 0;
    while (taken < frames) {
        zmq_pollitem_t item = {rill_reader_handle(reader, input), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10000) != 1)
            fail_msg("no frame came in within 10 s (%d of %d taken)", taken, frames);
        int rc = rill_reader_receive(reader, input, frames - taken, fn, ctx);
        if (rc < 0)
            return -1;
        taken += rc;
    }
    return taken;
}

typedef struct {
    const test_event_t *events;
    size_t count;
    size_t next;
} s_script_t;

static int s_play(rill_collector_t *out, void *ctx)
{
    s_script_t *script = ctx;
    if (script->next == script->count)
        return RILL_SOURCE_END;
    const test_event_t *e = &script->events[script->next++];
    char text[64];
    int size = snprintf(text, sizeof text, "%s\t%ld", e->key, e->value);
    return rill_collector_emit(out, text, (size_t)size, e->time) ? -1 : RILL_SOURCE_MORE;
}

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

void test_run_window_script(const test_event_t *events, size_t count, int64_t out_of_orderness,
                            const rill_window_t *window, rill_window_agg_t agg,
                            rill_results_t *results, rill_results_t *late)
{
    s_script_t script = {events, count, 0};
    rill_env_t *env = rill_env_new();
    rill_stream_t *s = rill_env_from_source(env, s_play, &script, true);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness};
    s = rill_stream_assign_timestamps(s, s_record_time, NULL, &strategy);
    rill_stream_t *w =
        rill_stream_window_builtin(rill_stream_key_by(s, rill_key_first_field, NULL), window, agg);
    rill_stream_collect(w, results);
    if (late)
        rill_stream_collect(rill_stream_late_records(w), late);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    rill_env_destroy(&env);
}

void test_expect_records(rill_results_t *collect, const char *const *expected, size_t count)
{
    if (rill_results_size(collect) != count) {
        for (size_t i = 0; i < rill_results_size(collect); i++) {
            rill_record_t r = rill_results_record(collect, i);
            print_message("got: %.*s\n", (int)r.size, (const char *)r.data);
        }
        fail_msg("got %zu records, expected %zu", rill_results_size(collect), count);
    }
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_results_record(collect, i);
        if (r.size != strlen(expected[i]) || memcmp(r.data, expected[i], r.size))
            fail_msg("record %zu: got '%.*s', expected '%s'", i, (int)r.size, (const char *)r.data,
                     expected[i]);
    }
}

//  The second TAB-separated field, pointing into the record.
int test_key_second_field(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    const char *text = in->data, *tab = memchr(text, '\t', in->size);
    if (!tab)
        return -1;
    key->data = tab + 1;
    key->size = in->size - (size_t)(tab + 1 - text);
    return 0;
}

//  A computed key: the first field in upper case, written into the key's scratch.
int test_key_upper_first_field(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    const char *text = in->data;
    size_t size = 0;
    while (size < in->size && size < RILL_KEY_SCRATCH && text[size] != '\t') {
        char c = text[size];
        key->scratch[size++] = (uint8_t)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    key->data = key->scratch;
    key->size = size;
    return 0;
}

static int s_identity_map(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    return rill_buffer_set(out, in->data, in->size);
}

rill_graph_t *test_chain_graph(int p_src, int p_map, rill_pattern_t pattern, long count)
{
    rill_graph_t *graph = rill_graph_new();
    rill_graph_set_chaining_enabled(graph, true);
    int src = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SOURCE_GENERATOR, .name = "src", .parallelism = p_src,
        .fn.generate = test_generate_sequence, .count = count});
    int map = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_MAP, .name = "mapper", .parallelism = p_map, .fn.map = s_identity_map});
    int sink = rill_graph_add_operator(graph, &(rill_operator_spec_t){
        .kind = RILL_OP_SINK_DISCARD, .name = "out", .parallelism = p_map});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = src, .to = map, .pattern = pattern,
                                                   .key = rill_key_first_field});
    rill_graph_add_edge(graph, &(rill_edge_spec_t){.from = map, .to = sink,
                                                   .pattern = RILL_PATTERN_FORWARD});
    return graph;
}

static int s_remove_one(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    return remove(path);
}

void test_remove_tree(const char *path)
{
    nftw(path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

//  ---- comparing outputs

static int s_compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  The file's lines in sorted order, as one string ("" when the file is missing).
char *test_sorted_lines(const char *path)
{
    FILE *probe = fopen(path, "r");
    if (!probe)
        return strdup("");
    fclose(probe);
    char *text = test_read_file(path);
    size_t count = 0, capacity = 1024;
    char **lines = malloc(capacity * sizeof(char *));
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (count == capacity)
            lines = realloc(lines, (capacity *= 2) * sizeof(char *));
        lines[count++] = line;
    }
    qsort(lines, count, sizeof(char *), s_compare_lines);
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen(lines[i]) + 1;
    char *sorted = malloc(size), *at = sorted;
    for (size_t i = 0; i < count; i++)
        at += sprintf(at, "%s\n", lines[i]);
    *at = 0;
    free(lines);
    free(text);
    return sorted;
}

//  Prints up to five lines of each side that the other lacks (both sorted), for messages.
void test_print_difference(const char *got, const char *expected)
{
    char *a = strdup(got), *b = strdup(expected);
    char *sa = NULL, *sb = NULL;
    char *x = strtok_r(a, "\n", &sa), *y = strtok_r(b, "\n", &sb);
    int shown = 0;
    while ((x || y) && shown < 10) {
        int c = !x ? 1 : !y ? -1 : strcmp(x, y);
        if (c == 0) {
            x = strtok_r(NULL, "\n", &sa);
            y = strtok_r(NULL, "\n", &sb);
            continue;
        }
        fprintf(stderr, c < 0 ? "  only got:      %s\n" : "  only expected: %s\n", c < 0 ? x : y);
        shown++;
        if (c < 0)
            x = strtok_r(NULL, "\n", &sa);
        else
            y = strtok_r(NULL, "\n", &sb);
    }
    free(a);
    free(b);
}
