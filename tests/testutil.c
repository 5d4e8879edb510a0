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
        size_t size = strlen(text), done = 0;
        while (done < size) {
            ssize_t wrote = write(fd, text + done, size - done);
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0)
                _exit(1);
            done += (size_t)wrote;
        }
        _exit(0);
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
        size_t size = strlen(input), done = 0;
        while (done < size) {
            ssize_t wrote = write(fd, input + done, size - done);
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0)
                _exit(1);
            done += (size_t)wrote;
        }
        _exit(0);
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
