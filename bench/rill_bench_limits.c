/*  rill_bench_limits.c: see the header. */
#include "rill_bench_limits.h"
#include "rill_bench_util.h"
#include "rill_bench_words.h"
#include "rill_buffer.h"
#include "rill_metrics_private.h"
#include "rill_record.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    void *context;
    size_t frame_size;
    uint64_t frames;
} s_pipe_t;

static void *s_receive_frames(void *arg)
{
    s_pipe_t *pipe = arg;
    void *socket = zmq_socket(pipe->context, ZMQ_PAIR);
    zmq_connect(socket, "inproc://bench-limit");
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (uint64_t i = 0; i < pipe->frames; i++)
        zmq_msg_recv(&msg, socket, 0);
    zmq_msg_close(&msg);
    zmq_close(socket);
    return NULL;
}

double bench_zmq_frames_per_second(size_t frame_size, uint64_t frames)
{
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_PAIR);
    int hwm = 4; //  the high-water mark rill's channels use
    zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_bind(socket, "inproc://bench-limit");
    s_pipe_t pipe = {context, frame_size, frames};
    pthread_t thread;
    pthread_create(&thread, NULL, s_receive_frames, &pipe);
    char *payload = calloc(1, frame_size);
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < frames; i++) {
        //  A fresh buffer per frame, handed over, as rill's writer does.
        zmq_msg_t msg;
        zmq_msg_init_size(&msg, frame_size);
        memcpy(zmq_msg_data(&msg), payload, frame_size < 64 ? frame_size : 64);
        zmq_msg_send(&msg, socket, 0);
    }
    pthread_join(thread, NULL);
    double seconds = (double)(bench_now_ns() - start) / 1e9;
    free(payload);
    zmq_close(socket);
    zmq_ctx_term(context);
    return (double)frames / seconds;
}

//  The same calls a forward job makes, through function pointers the compiler cannot see
//  through: a generator writes the record, a map copies it into a growable buffer, a sink
//  counts it.
typedef int (*s_generate_fn)(uint64_t index, void *out, size_t *size);
typedef int (*s_map_fn)(const void *in, size_t size, rill_buffer_t *out);

static int s_make(uint64_t index, void *out, size_t *size)
{
    memcpy(out, &index, sizeof index);
    *size = sizeof index;
    return 0;
}

static int s_map_copy(const void *in, size_t size, rill_buffer_t *out)
{
    return rill_buffer_set(out, in, size);
}

double bench_loop_forward(uint64_t records)
{
    static volatile s_generate_fn generate = s_make;
    static volatile s_map_fn map = s_map_copy;
    rill_buffer_t *mapped = rill_buffer_new();
    char record[64];
    uint64_t counted = 0;
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < records; i++) {
        size_t size;
        generate(i, record, &size);
        map(record, size, mapped);
        counted += rill_buffer_size(mapped) == 8;
    }
    double rate = (double)records / ((double)(bench_now_ns() - start) / 1e9);
    rill_buffer_destroy(&mapped);
    return counted == records ? rate : 0;
}

//  The word counting loop: blocks of 1 MiB, tokenized and counted in one pass.
double bench_loop_wordcount(const char *path, uint64_t *words)
{
    *words = 0;
    FILE *file = fopen(path, "rb");
    if (!file)
        return 0;
    unsigned char fold[256];
    bench_words_fold_table(fold);
    bench_words_t table;
    unsigned char *block = malloc(1 << 20);
    if (bench_words_init(&table) || !block) {
        bench_words_free(&table);
        free(block);
        fclose(file);
        return 0;
    }
    char word[512];
    size_t length = 0;
    uint64_t total = 0;
    int failed = 0;
    uint64_t start = bench_now_ns();
    size_t got;
    while (!failed && ((got = fread(block, 1, 1 << 20, file)) > 0 || length)) {
        for (size_t i = 0; i <= got; i++) {
            unsigned char folded = i < got ? fold[block[i]] : 0;
            if (folded && length < sizeof word) {
                word[length++] = (char)folded;
                continue;
            }
            if (folded || !length || (i == got && got > 0))
                continue; //  a word runs on into the next block (or is over-long)
            if (bench_words_add(&table, word, length)) {
                failed = 1;
                break;
            }
            total++;
            length = 0;
        }
        if (got == 0)
            break;
    }
    double seconds = (double)(bench_now_ns() - start) / 1e9;
    bench_words_free(&table);
    free(block);
    fclose(file);
    *words = total;
    return failed ? 0 : (double)total / seconds;
}

double bench_counter_update_ns(void)
{
    rill_subtask_metrics_t slot = {0};
    uint64_t updates = 100000000;
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < updates; i++)
        RILL_COUNTER_ADD(slot.records_out, 1);
    double ns = (double)(bench_now_ns() - start) / (double)updates;
    if (slot.records_out != updates)
        return -1;
    return ns;
}
