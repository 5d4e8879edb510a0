/*  fuzz_frame.c: libFuzzer target for the batch frame decoder: what a subtask's reader does
    with the bytes of each frame it receives (rill_reader_decode over rill_frame.h).
    The input is a sequence of frames, each `input (1 byte) | size (2 bytes, LE) | bytes`,
    decoded in order by one fresh reader, so END, IDLE and watermark entries build up state
    across frames as they would on a live channel. The corpus was rewritten when records got
    their variable header (same frames and defects as before, plus keyed records on the sum's
    hash edges: sum_keyed_records), and again when the frame header became the versioned,
    little-endian 20 bytes of rill_frame.h (same frames and defects, plus the forward frames
    from a peer of another version, other_version, and with a reserved byte set,
    reserved_byte_set). Any input must end in 0 or a clear error: never a crash, an
    out-of-bounds read or a watermark that goes back. */
#include "rill.h"
#include "rill_metrics_private.h"
#include "rill_metrics.h"
#include "rill_reader.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The plan every input is decoded against, made once: built by the planner like a real job's.
typedef struct {
    rill_env_t *env;
    const rill_plan_t *plan;
    int subtasks[8]; //  subtasks that have inputs
    int subtask_count;
} s_fixture_t;

static int s_generate(uint64_t n, rill_collector_t *out, void *ctx)
{
    return 0;
}

//  Two sources of different parallelism, unioned (two input edges), keyed into a sum, then a
//  forward edge into the sink: a rebalance/hash DEALER input and a forward PAIR input.
static s_fixture_t *s_fixture(void)
{
    //  One plan for the life of the process: libFuzzer calls the target many times.
    static s_fixture_t fixture;
    if (fixture.plan)
        return &fixture;
    fixture.env = rill_env_new();
    rill_env_set_parallelism(fixture.env, 2);
    rill_stream_t *a =
        rill_stream_parallelism(rill_env_from_generator(fixture.env, s_generate, NULL, 1), 3);
    rill_stream_t *b = rill_env_from_generator(fixture.env, s_generate, NULL, 1);
    rill_stream_t *sum =
        rill_stream_sum(rill_stream_key_by(rill_stream_union(a, b), rill_key_first_field, NULL));
    rill_stream_discard(sum);
    fixture.plan = rill_env_plan(fixture.env);
    if (!fixture.plan) {
        fprintf(stderr, "fuzz_frame: cannot plan the fixture: %s\n", rill_env_error(fixture.env));
        abort();
    }
    for (int s = 0; s < rill_plan_subtask_count(fixture.plan) && fixture.subtask_count < 8; s++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(fixture.plan, s);
        if (rill_plan_operator(fixture.plan, subtask->op)->input_count > 0)
            fixture.subtasks[fixture.subtask_count++] = s;
    }
    return &fixture;
}

typedef struct {
    uint64_t checksum;
    int64_t watermark;
} s_seen_t;

//  Touches every byte of every record handed on, so ASan sees a read past the frame.
static int s_on_record(void *ctx, const rill_record_t *record, int input, int sender,
                       uint64_t trace, const rill_key_hint_t *key)
{
    s_seen_t *seen = ctx;
    const uint8_t *bytes = record->data;
    for (size_t i = 0; i < record->size; i++)
        seen->checksum += bytes[i];
    seen->checksum += (uint64_t)record->timestamp ^ trace ^ (uint64_t)input ^ (uint64_t)sender;
    if (key) {
        //  A carried key range must lie within the record (the keyed operator reads it there).
        seen->checksum += key->hash;
        if (key->offset >= 0) {
            if ((uint64_t)key->offset + key->size > record->size)
                abort();
            for (size_t i = 0; i < key->size; i++)
                seen->checksum += bytes[key->offset + (int64_t)i];
        }
    }
    return 0;
}

static int s_on_watermark(void *ctx, int64_t watermark, bool idle)
{
    s_seen_t *seen = ctx;
    //  The combined watermark never decreases (Flink: a subtask's input watermark is the
    //  minimum over its channels and only ever advances).
    if (watermark < seen->watermark)
        abort();
    seen->watermark = watermark;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_fixture_t *fixture = s_fixture();
    if (size < 1)
        return 0;
    int subtask = fixture->subtasks[data[0] % fixture->subtask_count];
    data++, size--;
    rill_metrics_t *metrics = rill_metrics_new(fixture->plan);
    rill_reader_t *reader = rill_reader_new(fixture->plan, subtask, metrics);
    if (!reader)
        abort();
    s_seen_t seen = {0, INT64_MIN};
    rill_reader_on_watermark(reader, s_on_watermark, &seen);
    int inputs = rill_reader_socket_count(reader);
    while (size >= 3) {
        int input = data[0] % inputs;
        size_t frame = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3, size -= 3;
        if (frame > size)
            frame = size;
        //  A copy of exactly the frame's bytes, so reading one byte past it is caught.
        uint8_t *copy = malloc(frame ? frame : 1);
        memcpy(copy, data, frame);
        int rc = rill_reader_decode(reader, input, copy, frame, s_on_record, &seen);
        free(copy);
        data += frame, size -= frame;
        if (rc) {
            if (!rill_reader_error(reader)[0])
                abort(); //  a rejected frame always says why
            break;
        }
    }
    rill_reader_destroy(&reader);
    rill_metrics_destroy(&metrics);
    return 0;
}
