/*  rill_bench_zmq_wordcount.c: see the header. Each reader owns a byte range of the file
    (ranges start between words) and, as rill's source -> split, sends 32 KiB text chunks (cut
    between words) over a PAIR pipe to a split thread of its own. The splitter puts words, as a
    2-byte length and their bytes, into the batch of the counter their hash picks; a batch goes
    as one frame (zero copy) over a PUSH socket connected to that counter's PULL (high-water
    mark 4, as rill's channels) when it holds `words_per_message` words or 32 KiB. An empty
    frame ends a stream. */
#include "rill_bench_zmq_wordcount.h"
#include "rill_bench_util.h"
#include "rill_bench_words.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define S_MAX_PARALLELISM 16
#define S_BATCH (32 * 1024)
#define S_MAX_WORD 512

typedef struct {
    const unsigned char *fold; //  byte -> lower-cased word byte, 0 for a separator
    const char *path;
    long long start, end; //  byte range; both ends lie between words
    int counters;
    void *splitter;                   //  PAIR to this range's split thread
    void *chunks;                     //  the split thread's end of that pipe
    void *sockets[S_MAX_PARALLELISM]; //  PUSH, one per counter
    uint8_t *batches[S_MAX_PARALLELISM];
    size_t sizes[S_MAX_PARALLELISM];
    int counts[S_MAX_PARALLELISM]; //  words in each batch
    int words_per_message;         //  a batch goes when it holds this many words
    int failed;
} s_reader_t;

typedef struct {
    void *socket; //  PULL
    int readers;
    uint64_t words;
    int failed;
} s_counter_t;

static void s_free(void *data, void *hint)
{
    free(data);
}

static int s_send(s_reader_t *self, int to)
{
    zmq_msg_t msg;
    if (self->sizes[to] == 0)
        zmq_msg_init(&msg); //  the end-of-stream frame
    else {
        //  The message owns the batch from here; a failed send leaves it to us to close.
        zmq_msg_init_data(&msg, self->batches[to], self->sizes[to], s_free, NULL);
        self->batches[to] = malloc(S_BATCH);
        self->sizes[to] = 0;
        self->counts[to] = 0;
    }
    if (zmq_msg_send(&msg, self->sockets[to], 0) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    return self->batches[to] ? 0 : -1;
}

static int s_emit(s_reader_t *self, const char *word, size_t size)
{
    int to = (int)((bench_words_hash(word, size) >> 32) % (uint64_t)self->counters);
    if (self->sizes[to] + 2 + size > S_BATCH && s_send(self, to))
        return -1;
    uint16_t length = (uint16_t)size;
    memcpy(self->batches[to] + self->sizes[to], &length, sizeof length);
    memcpy(self->batches[to] + self->sizes[to] + 2, word, size);
    self->sizes[to] += 2 + size;
    if (++self->counts[to] == self->words_per_message)
        return s_send(self, to);
    return 0;
}

//  Tokenizes text into words; a word may run on into the next call (*length carries it).
static int s_split_text(s_reader_t *self, const unsigned char *text, size_t size, char *word,
                        size_t *length)
{
    for (size_t i = 0; i < size; i++) {
        unsigned char folded = self->fold[text[i]];
        if (folded) {
            if (*length < S_MAX_WORD) //  an over-long token counts as its first 512 bytes
                word[(*length)++] = (char)folded;
            continue;
        }
        if (*length && s_emit(self, word, *length))
            return -1;
        *length = 0;
    }
    return 0;
}

//  Sends every counter what is left and the end of this stream.
static void s_end_words(s_reader_t *self)
{
    for (int c = 0; c < self->counters; c++) {
        if (self->sizes[c] && s_send(self, c))
            self->failed = 1;
        if (s_send(self, c)) //  empty: end of this reader's stream
            self->failed = 1;
    }
}

//  Reads the range in 32 KiB blocks and sends each to the splitter cut after its last
//  non-word byte, so no word straddles two frames.
static void *s_read(void *arg)
{
    s_reader_t *self = arg;
    FILE *file = fopen(self->path, "rb");
    size_t capacity = S_BATCH, carried = 0;
    unsigned char *block = malloc(capacity);
    if (!file || !block || fseeko(file, self->start, SEEK_SET)) {
        self->failed = 1;
        goto done;
    }
    long long left = self->end - self->start;
    while (left > 0 || carried) {
        size_t room = capacity - carried;
        size_t got = fread(block + carried, 1, left < (long long)room ? (size_t)left : room, file);
        left -= (long long)got;
        if (got == 0 && left > 0) {
            self->failed = 1;
            break;
        }
        size_t filled = carried + got;
        size_t cut = filled;
        if (left > 0)
            while (cut > 0 && self->fold[block[cut - 1]])
                cut--;
        if (cut == 0)
            cut = filled; //  a 32 KiB token: split it
        unsigned char *chunk = malloc(capacity);
        if (!chunk) {
            self->failed = 1;
            break;
        }
        carried = filled - cut;
        memcpy(chunk, block + cut, carried);
        zmq_msg_t msg;
        zmq_msg_init_data(&msg, block, cut, s_free, NULL);
        block = chunk;
        if (zmq_msg_send(&msg, self->splitter, 0) < 0) {
            zmq_msg_close(&msg);
            self->failed = 1;
            break;
        }
    }
done:;
    zmq_msg_t end;
    zmq_msg_init(&end);
    if (zmq_msg_send(&end, self->splitter, 0) < 0)
        self->failed = 1;
    free(block);
    if (file)
        fclose(file);
    return NULL;
}

//  The split stage of the staged pipeline: text chunks in, words out by hash.
static void *s_split(void *arg)
{
    s_reader_t *self = arg;
    char word[S_MAX_WORD];
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (;;) {
        if (zmq_msg_recv(&msg, self->chunks, 0) < 0) {
            self->failed = 1;
            break;
        }
        if (zmq_msg_size(&msg) == 0)
            break;
        size_t length = 0;
        if (s_split_text(self, zmq_msg_data(&msg), zmq_msg_size(&msg), word, &length) ||
            (length && s_emit(self, word, length))) {
            self->failed = 1;
            break;
        }
    }
    zmq_msg_close(&msg);
    s_end_words(self);
    return NULL;
}

static void *s_count(void *arg)
{
    s_counter_t *self = arg;
    bench_words_t table;
    int ended = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (bench_words_init(&table))
        self->failed = 1;
    while (!self->failed && ended < self->readers) {
        if (zmq_msg_recv(&msg, self->socket, 0) < 0) {
            self->failed = 1;
            break;
        }
        const uint8_t *at = zmq_msg_data(&msg), *end = at + zmq_msg_size(&msg);
        if (at == end)
            ended++;
        while (at < end) {
            uint16_t size;
            memcpy(&size, at, sizeof size);
            if (bench_words_add(&table, (const char *)at + 2, size)) {
                self->failed = 1;
                break;
            }
            at += 2 + size;
            self->words++;
        }
    }
    zmq_msg_close(&msg);
    bench_words_free(&table);
    return NULL;
}

//  The first offset at or after `offset` that does not continue a word begun before it.
static long long s_between_words(const unsigned char *fold, FILE *file, long long offset,
                                 long long size)
{
    if (offset <= 0 || offset >= size)
        return offset <= 0 ? 0 : size;
    if (fseeko(file, offset - 1, SEEK_SET))
        return offset;
    int c = fgetc(file);
    if (c == EOF || !fold[c])
        return offset;
    while ((c = fgetc(file)) != EOF && fold[c])
        offset++;
    return offset;
}

double bench_zmq_wordcount(const char *path, int parallelism, int words_per_message,
                           uint64_t *words)
{
    //  Per call, not global: the same word rule as the wordcount job.
    unsigned char fold[256];
    bench_words_fold_table(fold);
    *words = 0;
    if (parallelism < 1 || parallelism > S_MAX_PARALLELISM)
        return 0;
    FILE *file = fopen(path, "rb");
    struct stat info;
    if (!file || fstat(fileno(file), &info)) {
        if (file)
            fclose(file);
        return 0;
    }
    s_reader_t readers[S_MAX_PARALLELISM];
    s_counter_t counters[S_MAX_PARALLELISM];
    memset(readers, 0, sizeof readers);
    memset(counters, 0, sizeof counters);
    void *context = zmq_ctx_new();
    int hwm = 4, linger = 0;
    char endpoint[64];
    for (int c = 0; c < parallelism; c++) {
        counters[c].socket = zmq_socket(context, ZMQ_PULL);
        counters[c].readers = parallelism;
        zmq_setsockopt(counters[c].socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(counters[c].socket, ZMQ_LINGER, &linger, sizeof linger);
        snprintf(endpoint, sizeof endpoint, "inproc://bench-wordcount-%d", c);
        zmq_bind(counters[c].socket, endpoint);
    }
    long long size = info.st_size;
    for (int r = 0; r < parallelism; r++) {
        s_reader_t *reader = &readers[r];
        reader->fold = fold;
        reader->path = path;
        reader->start = s_between_words(fold, file, size * r / parallelism, size);
        reader->end = s_between_words(fold, file, size * (r + 1) / parallelism, size);
        reader->counters = parallelism;
        reader->words_per_message = words_per_message;
        reader->splitter = zmq_socket(context, ZMQ_PAIR);
        reader->chunks = zmq_socket(context, ZMQ_PAIR);
        zmq_setsockopt(reader->splitter, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(reader->chunks, ZMQ_RCVHWM, &hwm, sizeof hwm);
        snprintf(endpoint, sizeof endpoint, "inproc://bench-wordcount-chunks-%d", r);
        zmq_bind(reader->chunks, endpoint);
        zmq_connect(reader->splitter, endpoint);
        for (int c = 0; c < parallelism; c++) {
            reader->sockets[c] = zmq_socket(context, ZMQ_PUSH);
            zmq_setsockopt(reader->sockets[c], ZMQ_SNDHWM, &hwm, sizeof hwm);
            zmq_setsockopt(reader->sockets[c], ZMQ_LINGER, &linger, sizeof linger);
            snprintf(endpoint, sizeof endpoint, "inproc://bench-wordcount-%d", c);
            zmq_connect(reader->sockets[c], endpoint);
            reader->batches[c] = malloc(S_BATCH);
        }
    }
    fclose(file);
    pthread_t threads[3 * S_MAX_PARALLELISM];
    int started = 0;
    uint64_t start = bench_now_ns();
    for (int c = 0; c < parallelism; c++)
        pthread_create(&threads[started++], NULL, s_count, &counters[c]);
    for (int r = 0; r < parallelism; r++) {
        pthread_create(&threads[started++], NULL, s_split, &readers[r]);
        pthread_create(&threads[started++], NULL, s_read, &readers[r]);
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    double seconds = (double)(bench_now_ns() - start) / 1e9;
    int failed = 0;
    for (int i = 0; i < parallelism; i++) {
        failed |= readers[i].failed | counters[i].failed;
        *words += counters[i].words;
        for (int c = 0; c < parallelism; c++) {
            zmq_close(readers[i].sockets[c]);
            free(readers[i].batches[c]);
        }
        zmq_close(readers[i].splitter);
        zmq_close(readers[i].chunks);
        zmq_close(counters[i].socket);
    }
    zmq_ctx_term(context);
    return failed ? 0 : (double)*words / seconds;
}
