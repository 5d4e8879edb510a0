/*  fuzz_trace_line.c: libFuzzer target for trace files as `rill trace FILE` reads them: one
    JSON object per line (a header holding the plan, then one hop per line), then the latency
    tables, the slowest paths and the path drawn over the plan (--svg). Any input ends in a
    report or a message, with exit status 0 or 1: never a crash. */
#include "fuzz_input_file.h"
#include "rill_cli.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size);
    char *argv[] = {"trace", (char *)path, "--paths", "3", "--svg", "/dev/null", NULL};
    int rc = rill_cmd_trace(6, argv);
    if (rc != RILL_EXIT_OK && rc != RILL_EXIT_FAILURE)
        abort();
    return 0;
}
