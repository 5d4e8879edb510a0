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

#endif
