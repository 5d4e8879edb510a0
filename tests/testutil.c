/*  testutil.c: see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
    int size = snprintf(text, sizeof text, "%d\t%.*s", rill_collector_subtask(out),
                        (int)in->size, (const char *)in->data);
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

int test_run_toolv(char **out, char **err, const char *const *args)
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
        int null_fd = open("/dev/null", O_RDONLY);
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
                            rill_collect_t *results, rill_collect_t *late)
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

void test_expect_records(rill_collect_t *collect, const char *const *expected, size_t count)
{
    if (rill_collect_size(collect) != count) {
        for (size_t i = 0; i < rill_collect_size(collect); i++) {
            rill_record_t r = rill_collect_record(collect, i);
            print_message("got: %.*s\n", (int)r.size, (const char *)r.data);
        }
        fail_msg("got %zu records, expected %zu", rill_collect_size(collect), count);
    }
    for (size_t i = 0; i < count; i++) {
        rill_record_t r = rill_collect_record(collect, i);
        if (r.size != strlen(expected[i]) || memcmp(r.data, expected[i], r.size))
            fail_msg("record %zu: got '%.*s', expected '%s'", i, (int)r.size, (const char *)r.data,
                     expected[i]);
    }
}
