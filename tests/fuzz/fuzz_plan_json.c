/*  fuzz_plan_json.c: libFuzzer target for reading plan JSON (rill_plan_from_json), what
    `rill viz` and `rill trace --svg` do with a file they are given. Any input is either a plan
    or a message; a plan read must write back out (rill_plan_to_json) and read again to the
    same shape. */
#include "rill.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char error[512] = "";
    rill_plan_t *plan = rill_plan_from_json(text, error, sizeof error);
    free(text);
    if (!plan) {
        if (!error[0])
            abort(); //  a rejected plan always says why
        return 0;
    }
    char *again_text = rill_plan_to_json(plan);
    if (!again_text)
        abort();
    rill_plan_t *again = rill_plan_from_json(again_text, error, sizeof error);
    if (!again || rill_plan_operator_count(again) != rill_plan_operator_count(plan) ||
        rill_plan_edge_count(again) != rill_plan_edge_count(plan) ||
        rill_plan_subtask_count(again) != rill_plan_subtask_count(plan) ||
        rill_plan_channel_count(again) != rill_plan_channel_count(plan))
        abort();
    free(again_text);
    rill_plan_destroy(&again);
    rill_plan_destroy(&plan);
    return 0;
}
