/*  testutil.h: fixtures shared by the cmocka tests: building small jobs, counting records,
    running the rill tool as a child process, temporary files. */
#ifndef RILL_TESTUTIL_H_INCLUDED
#define RILL_TESTUTIL_H_INCLUDED

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "rill.h"

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

//  Runs `$RILL_BIN/rill ARGS...` with stdout and stderr captured into malloc'd strings (either
//  may be NULL when not wanted); returns the exit status, or -1 when it could not run. The
//  NULL-terminated argument list excludes the program name.
int test_run_tool(char **out, char **err, const char *arg, ...);
//  Same with an argument vector.
int test_run_toolv(char **out, char **err, const char *const *args);
//  A path to the source tree (RILL_SOURCE_DIR) joined with relative; static storage per call
//  site is not used: the caller frees.
char *test_source_path(const char *relative);
//  The whole content of a file, NUL-terminated (caller frees); fails the test when unreadable.
char *test_read_file(const char *path);
//  Writes text to a new temporary file and returns its path (caller frees and unlinks).
char *test_temp_file(const char *text);

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
                            rill_collect_t *results, rill_collect_t *late);
//  Asserts the collected records are exactly expected[0..count), in order (printing what came
//  when the count differs).
void test_expect_records(rill_collect_t *collect, const char *const *expected, size_t count);

#endif
