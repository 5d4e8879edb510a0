/*  testutil.h: fixtures shared by the cmocka tests: building small jobs, counting records,
    running the rill tool as a child process, temporary files. */
#ifndef RILL_TESTUTIL_H_INCLUDED
#define RILL_TESTUTIL_H_INCLUDED

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
//  cmocka needs the headers above first; czmq is for the wire-level fixtures.
// clang-format off
#include <cmocka.h>
#include <czmq.h>
// clang-format on

#include "rill.h"
#include "rill_reader.h"

//  A generator whose record i is "i<TAB>s" (decimal), s = ctx's seed; used everywhere a job
//  needs known input. Pass a pointer to a test_sequence_t as ctx.
typedef struct {
    uint64_t count;
} test_sequence_t;
int test_generate_sequence(uint64_t index, rill_collector_t *out, void *ctx);

//  Records emitted by a pass-through map that prefixes each record with the subtask that
//  saw it: "S<TAB>record" (S = subtask index of the map).
int test_tag_subtask(const rill_record_t *in, rill_collector_t *out, void *ctx);

//  Parses the leading unsigned decimal of a record; UINT64_MAX when there is none.
uint64_t test_record_number(const rill_record_t *record);
//  Parses the signed decimal right after the first `separator` in a record, within the
//  record's own bytes (they end with no NUL: atol there reads on into the batch). 0 when
//  there is no separator or no number.
int64_t test_field_number(const rill_record_t *record, char separator);

//  Runs `$RILL_BIN/rill ARGS...` with stdout and stderr captured into malloc'd strings (either
//  may be NULL when not wanted); returns the exit status, or -1 when it could not run. The
//  NULL-terminated argument list excludes the program name.
int test_run_tool(char **out, char **err, const char *arg, ...);
//  Same with an argument vector.
int test_run_toolv(char **out, char **err, const char *const *args);
//  Same, with input fed to the tool's standard input through a pipe (by a child process, so
//  the pipe's capacity does not matter).
int test_run_tool_piped(char **out, char **err, const char *input, const char *const *args);
//  Starts a child process that opens the FIFO at path for writing (waiting for a reader),
//  writes input and closes it; returns its pid, or -1. test_fifo_feed_finish waits for it
//  (unblocking it when no reader ever opened the FIFO) and returns its exit status (0: all
//  of input was written).
int test_fifo_feed(const char *path, const char *input);
int test_fifo_feed_finish(const char *path, int feeder);
//  A path to the source tree (RILL_SOURCE_DIR) joined with relative; static storage per call
//  site is not used: the caller frees.
char *test_source_path(const char *relative);
//  The whole content of a file, NUL-terminated (caller frees); fails the test when unreadable.
char *test_read_file(const char *path);
//  Writes text to a new temporary file and returns its path (caller frees and unlinks).
char *test_temp_file(const char *text);

//  ---- waiting on events, never on fixed sleeps

//  Monotonic milliseconds, for the deadlines of polled conditions.
int64_t test_now_ms(void);

//  A one-shot event (a latch): one thread sets it, another waits for it with a deadline that only
//  fails on timeout (so a test is as fast as the machine allows and never flaky when slow).
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool set;
} test_latch_t;
void test_latch_init(test_latch_t *self);
void test_latch_destroy(test_latch_t *self);
void test_latch_set(test_latch_t *self);
bool test_latch_is_set(test_latch_t *self);
//  0 once the event is set, -1 when timeout_ms passed first.
int test_latch_wait(test_latch_t *self, int timeout_ms);

//  ---- the wire level: a planned edge, its channels, and frames crafted by hand

//  A planned job generator(senders) --pattern--> map(receivers) --forward--> discard(receivers),
//  so that frame, reader and writer tests can speak on edge 0 (key and partition may be NULL;
//  a hash edge without a key uses rill_key_first_field).
typedef struct {
    rill_graph_t *graph;
    rill_plan_t *plan;
} test_pipe_t;
test_pipe_t *test_pipe_new(int senders, int receivers, rill_pattern_t pattern,
                           rill_partition_fn partition, void *partition_ctx);
//  The same with receivers of another kind: RILL_OP_MAP (as above) or RILL_OP_REDUCE (a keyed
//  count, whose hash edge carries each record's key).
test_pipe_t *test_pipe_new_into(int senders, int receivers, rill_pattern_t pattern,
                                rill_op_kind_t receiver_kind, rill_partition_fn partition,
                                void *partition_ctx);
void test_pipe_destroy(test_pipe_t **self_p);
//  Global subtask ids of sender `index` (operator 0) and receiver `index` (operator 1).
int test_pipe_sender(const test_pipe_t *self, int index);
int test_pipe_receiver(const test_pipe_t *self, int index);
//  A raw socket connected to receiver `index`'s input endpoint on edge 0, as a sender's would
//  be (PAIR on a forward edge, else DEALER); the caller destroys it with zsock_destroy.
zsock_t *test_pipe_connect(const test_pipe_t *self, int receiver);

//  Frames built by hand into a rill_buffer_t: a header, then entries.
void test_frame_begin(rill_buffer_t *frame, uint8_t magic, uint8_t kind, uint16_t sender,
                      uint32_t count);
void test_frame_add_record(rill_buffer_t *frame, const char *text, int64_t timestamp,
                           uint64_t trace);
//  A record with its key hint (hash edges), as a hash edge's writer puts it.
void test_frame_add_keyed_record(rill_buffer_t *frame, const char *text, int64_t timestamp,
                                 uint64_t trace, const rill_key_hint_t *key);
void test_frame_add_watermark(rill_buffer_t *frame, int64_t watermark);
//  Overwrites byte `offset` of a frame built by hand, to forge what the helpers above never
//  write (another version, a reserved byte set).
void test_frame_poke(rill_buffer_t *frame, size_t offset, uint8_t byte);
//  Sends the frame as one message on a socket from test_pipe_connect; 0 or -1.
int test_frame_send(zsock_t *socket, const rill_buffer_t *frame);
//  A control frame (END, IDLE) from sender: header only.
int test_frame_send_control(zsock_t *socket, uint8_t kind, uint16_t sender);
//  Waits (up to 10 s, for each) until `frames` frames have come in on the reader's input and
//  hands them to fn; returns the last rill_reader_receive result: frames taken, or -1.
int test_reader_take(rill_reader_t *reader, int input, int frames, rill_reader_record_fn *fn,
                     void *ctx);

//  ---- scripted event-time input for window tests

//  One scripted record: "key<TAB>value" with the given timestamp.
typedef struct {
    const char *key;
    long value;
    int64_t time;
} test_event_t;

//  Plays count events, in the given order, through an assigner (out-of-orderness D, a
//  watermark after every record) into a built-in window aggregation, collecting its results
//  and (late not NULL) its late records in arrival order. Fails the test when the job fails.
void test_run_window_script(const test_event_t *events, size_t count, int64_t out_of_orderness,
                            const rill_window_t *window, rill_window_agg_t agg,
                            rill_results_t *results, rill_results_t *late);
//  Asserts the collected records are exactly expected[0..count), in order (printing what came
//  when the count differs).
void test_expect_records(rill_results_t *collect, const char *const *expected, size_t count);

//  Key extractors for tests of carried keys: the second TAB-separated field (a range in the
//  middle of the record), and the first field in upper case (a computed key, in the scratch).
int test_key_second_field(const rill_record_t *in, rill_key_t *key, void *ctx);
int test_key_upper_first_field(const rill_record_t *in, rill_key_t *key, void *ctx);

//  source "src"(p_src, a generator of count records) --pattern--> map "mapper"(p_map, the
//  identity) --forward--> discard "out"(p_map), chaining on: a job with one chain per side.
rill_graph_t *test_chain_graph(int p_src, int p_map, rill_pattern_t pattern, long count);

//  Removes path and everything below it (nothing there is fine).
void test_remove_tree(const char *path);

//  A file's lines in sorted order, as one string ("" when the file is missing; caller frees):
//  outputs of parallel runs compare as multisets of lines.
char *test_sorted_lines(const char *path);
//  Prints up to ten lines that one of two sorted texts has and the other lacks, for messages.
void test_print_difference(const char *got, const char *expected);

#endif
