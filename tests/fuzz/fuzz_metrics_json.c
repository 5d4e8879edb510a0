/*  fuzz_metrics_json.c: libFuzzer target for metrics JSON as `rill viz FILE` reads it: the
    plan embedded in the file, then the flow counters (records per channel, backpressure per
    subtask) drawn onto the parallel view. Any input ends in a drawing or a message, with exit
    status 0 or 1: never a crash, and never a usage error (the arguments are fixed). */
#include "fuzz_input_file.h"
#include "rill_cli.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size);
    char *argv[] = {"viz", (char *)path, "--view",    "parallel", "--format",
                    "dot", "-o",         "/dev/null", NULL};
    int rc = rill_cmd_viz(8, argv);
    if (rc != RILL_EXIT_OK && rc != RILL_EXIT_FAILURE)
        abort();
    return 0;
}
