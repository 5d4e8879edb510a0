/*  rill_op_socket_text.c: the TCP text source (Flink's socketTextStream): connects to a
    server named by the spec's path ("tcp://HOST:PORT"), emits one record per line and ends
    when the server closes the connection. One subtask reads (a second connection would get
    other data, or none); the planner's parallelism must be 1.
    Lines are read in blocks and emitted straight from the block, as the file source does;
    a read waits at most S_WAIT_MS, so the subtask answers its pipe while the server is quiet.
    It cannot rewind: a checkpoint that includes it is refused. */
#include "rill_operator.h"
#include "rill_zmq_url.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_WAIT_MS 50
//  How long a connection attempt may take before the source gives up (ms).
#define S_CONNECT_MS 10000
#define S_FIRST_BLOCK (64 * 1024)

typedef struct {
    int fd;
    char host[256];
    int port;
    char *block; //  [start, filled) holds bytes not yet emitted
    size_t start;
    size_t filled;
    size_t capacity;
    size_t max_line;
    bool eof;
} s_socket_t;

//  Appends text to the NUL-terminated string in to, cutting it short where to is full.
static void s_append(char *to, size_t size, const char *text)
{
    size_t at = strlen(to);
    while (*text && at + 1 < size)
        to[at++] = *text++;
    to[at] = 0;
}

static int s_fail(rill_operator_t *self, const char *what, const char *why)
{
    s_socket_t *state = self->state;
    snprintf(self->error, sizeof self->error, "tcp text source '%.40s' (%.80s:%d): ",
             self->op->name, state->host, state->port);
    s_append(self->error, sizeof self->error, what);
    s_append(self->error, sizeof self->error, why ? why : "");
    return -1;
}

//  Connects to one address, waiting at most S_CONNECT_MS. The socket, or -1 (errno set).
static int s_connect_one(const struct addrinfo *address)
{
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, address->ai_protocol);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        struct pollfd ready = {.fd = fd, .events = POLLOUT};
        int polled = poll(&ready, 1, S_CONNECT_MS);
        int error = 0;
        socklen_t size = sizeof error;
        if (polled == 0)
            error = ETIMEDOUT;
        else if (polled < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size))
            error = errno;
        if (!error)
            return fd;
        errno = error;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static int s_produce(rill_operator_t *self, rill_collector_t *out)
{
    s_socket_t *state = self->state;
    for (int emitted = 0; emitted < RILL_SOURCE_CHUNK;) {
        char *line = state->block + state->start;
        size_t available = state->filled - state->start;
        char *newline = memchr(line, '\n', available);
        if (newline || (state->eof && available)) {
            size_t length = newline ? (size_t)(newline - line) + 1 : available;
            state->start += length;
            size_t size = rill_line_size(line, length);
            if (size > state->max_line)
                goto too_long;
            if (rill_collector_emit(out, line, size, RILL_NO_TIMESTAMP))
                return -1;
            emitted++;
            continue;
        }
        if (state->eof)
            return RILL_SOURCE_END;
        //  No whole line here: the partial one moves to the front, and more is read after it.
        if (available > state->max_line + 1)
            goto too_long;
        if (state->start) {
            memmove(state->block, line, available);
            state->start = 0;
            state->filled = available;
        }
        if (state->filled == state->capacity) {
            size_t capacity = state->capacity * 2;
            if (capacity > state->max_line + 2)
                capacity = state->max_line + 2;
            char *grown = realloc(state->block, capacity);
            if (!grown)
                return s_fail(self, "out of memory for a line", NULL);
            state->block = grown;
            state->capacity = capacity;
        }
        struct pollfd ready = {.fd = state->fd, .events = POLLIN};
        int polled = poll(&ready, 1, emitted ? 0 : S_WAIT_MS);
        if (polled == 0 || (polled < 0 && errno == EINTR))
            return RILL_SOURCE_MORE;
        ssize_t got =
            read(state->fd, state->block + state->filled, state->capacity - state->filled);
        if (got < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return RILL_SOURCE_MORE;
            return s_fail(self, "read failed: ", strerror(errno));
        }
        state->filled += (size_t)got;
        state->eof = got == 0;
    }
    return RILL_SOURCE_MORE;
too_long:
    snprintf(self->error, sizeof self->error,
             "tcp text source '%.30s' (%.50s:%d): a line is longer than the maximum record size "
             "of %zu bytes (rill_env_set_max_record_size or --max-record-size)",
             self->op->name, state->host, state->port, state->max_line);
    return -1;
}

static int s_cannot_rewind(rill_operator_t *self)
{
    return s_fail(self,
                  "it cannot rewind (what the server sent is gone once read), so it "
                  "cannot be checkpointed or restored",
                  NULL);
}

static int s_snapshot(rill_operator_t *self, int64_t checkpoint, rill_buffer_t *out)
{
    return s_cannot_rewind(self);
}

static int s_restore(rill_operator_t *self, rill_state_reader_t *in)
{
    return s_cannot_rewind(self);
}

static void s_close(rill_operator_t *self)
{
    s_socket_t *state = self->state;
    if (!state)
        return;
    if (state->fd >= 0)
        close(state->fd);
    free(state->block);
    free(state);
    self->state = NULL;
}

static const rill_operator_vtable_t s_vtable = {
    .produce = s_produce,
    .close = s_close,
    .snapshot = s_snapshot,
    .restore = s_restore,
};

int rill_op_socket_text_open(rill_operator_t *self)
{
    assert(self && self->spec->kind == RILL_OP_SOURCE_SOCKET_TEXT);
    s_socket_t *state = calloc(1, sizeof(s_socket_t));
    if (!state)
        return -1;
    self->vtable = &s_vtable;
    self->state = state;
    state->fd = -1;
    char error[200];
    if (rill_socket_text_url_parse(self->spec->path, state->host, sizeof state->host, &state->port,
                                   error, sizeof error)) {
        snprintf(self->error, sizeof self->error, "tcp text source '%.40s': %.190s", self->op->name,
                 error);
        return -1;
    }
    if (self->op->parallelism != 1) {
        char why[80];
        snprintf(why, sizeof why, "%d (it reads one connection)", self->op->parallelism);
        return s_fail(self, "runs at parallelism 1 only, not ", why);
    }
    state->max_line =
        self->spec->max_record_size ? self->spec->max_record_size : RILL_DEFAULT_MAX_RECORD_SIZE;
    state->capacity = state->max_line + 2 < S_FIRST_BLOCK ? state->max_line + 2 : S_FIRST_BLOCK;
    if (!(state->block = malloc(state->capacity)))
        return -1;
    char port[16];
    snprintf(port, sizeof port, "%d", state->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    int rc = getaddrinfo(state->host, port, &hints, &addresses);
    if (rc)
        return s_fail(self, "cannot resolve the host: ", gai_strerror(rc));
    int reason = ECONNREFUSED;
    for (const struct addrinfo *address = addresses; address && state->fd < 0;
         address = address->ai_next)
        if ((state->fd = s_connect_one(address)) < 0)
            reason = errno;
    freeaddrinfo(addresses);
    if (state->fd < 0)
        return s_fail(self, "cannot connect: ", strerror(reason));
    return 0;
}
