/*  fuzz_partial.c: libFuzzer target for what a keyed reduce does with the records of a
    combined edge (rill_partial.h: ordinary records and senders' partial results), through the
    real operator: a count, a sum, a min and a reduce function, each opened from a planned
    batch job whose key_by edge is combined. The input is `operator (1 byte)`, then records,
    each `size (1 byte) | bytes`, handed to the operator in order, then the end of input (which
    emits every key). Any input must end in 0 or an error the operator explains: never a
    crash or a read outside a record. */
#include "rill.h"
#include "rill_operator.h"
#include "rill_operator_registry.h"
#include "rill_plan_private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_generate(uint64_t n, rill_collector_t *out, void *ctx)
{
    return 0;
}

//  Keeps the longer record's bytes: reads both whole, so ASan sees a read past either.
static int s_longer(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                    void *ctx)
{
    const rill_record_t *keep = in->size > acc->size ? in : acc;
    return rill_buffer_set(out, keep->data, keep->size);
}

#define S_KINDS 4

typedef struct {
    rill_env_t *env[S_KINDS];
    const rill_plan_t *plan[S_KINDS];
    int reduce[S_KINDS]; //  the reduce's operator id
} s_fixture_t;

static s_fixture_t *s_fixture(void)
{
    //  One set of plans for the life of the process: libFuzzer calls the target many times.
    static s_fixture_t fixture;
    if (fixture.plan[0])
        return &fixture;
    for (int k = 0; k < S_KINDS; k++) {
        rill_env_t *env = rill_env_new();
        rill_keyed_stream_t keyed = rill_stream_key_by(
            rill_env_from_generator(env, s_generate, NULL, 1), rill_key_first_field, NULL);
        rill_stream_t *reduced = k == 0   ? rill_stream_count(keyed)
                                 : k == 1 ? rill_stream_sum(keyed)
                                 : k == 2 ? rill_stream_min(keyed)
                                          : rill_stream_reduce(keyed, s_longer, NULL);
        rill_stream_discard(reduced);
        fixture.env[k] = env;
        fixture.plan[k] = rill_env_plan(env);
        if (!fixture.plan[k] || !rill_plan_edge(fixture.plan[k], 0)->combined) {
            fprintf(stderr, "fuzz_partial: cannot plan a combined fixture: %s\n",
                    rill_env_error(env));
            abort();
        }
        fixture.reduce[k] = rill_plan_edge(fixture.plan[k], 0)->to;
    }
    return &fixture;
}

//  Touches every byte the operator emits.
static int s_emit(void *target, const rill_record_t *record)
{
    uint64_t *checksum = target;
    const uint8_t *bytes = record->data;
    for (size_t i = 0; i < record->size; i++)
        *checksum += bytes[i];
    *checksum += (uint64_t)record->timestamp;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_fixture_t *fixture = s_fixture();
    if (size < 1)
        return 0;
    int k = data[0] % S_KINDS;
    data++, size--;
    char why[256] = "";
    rill_operator_t *op =
        rill_operator_new(fixture->plan[k], fixture->reduce[k], 0, why, sizeof why);
    if (!op)
        abort();
    uint64_t checksum = 0;
    rill_collector_t out = {.emit = s_emit, .target = &checksum, .parallelism = 1};
    int rc = 0;
    while (size >= 1 && rc == 0) {
        size_t record = data[0];
        data++, size--;
        if (record > size)
            record = size;
        //  A copy of exactly the record's bytes, so reading one byte past it is caught.
        uint8_t *copy = malloc(record ? record : 1);
        memcpy(copy, data, record);
        rill_record_t r = {copy, record, (int64_t)record * 1000};
        rc = op->vtable->on_record(op, &r, 0, &out);
        free(copy);
        data += record, size -= record;
    }
    if (rc == 0)
        rc = op->vtable->on_end(op, &out);
    if (rc && !op->error[0])
        abort(); //  a refused record always says why
    rill_operator_destroy(&op);
    return 0;
}
