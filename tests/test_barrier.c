/*  test_barrier.c: checkpoint barriers through a subtask's inputs (rill_reader), as Flink's
    aligned checkpoints define them (asynchronous barrier snapshotting): once a channel has
    delivered barrier n, what it sends next is held back until barrier n has come on every
    open channel; then the subtask is told (it snapshots), and the held frames follow in the
    order they came. An ended channel has nothing left to align. When holding back would pass
    the bound, the alignment is declined and everything flows again (Flink's old
    alignment-limit behaviour), and later copies of that barrier are stale. Frames are fed to
    rill_reader_decode directly, as they would arrive. */
#include "rill_frame.h"
#include "testutil.h"

#include <string.h>

#define S_MAX_EVENTS 32

typedef struct {
    test_pipe_t *pipe;
    rill_reader_t *reader;
    rill_buffer_t *frame;
    //  What the callbacks saw, in order: records as their text, barriers as "B<id>" or
    //  "D<id>" (declined).
    char events[S_MAX_EVENTS][16];
    int count;
} s_fixture_t;

static int s_on_record(void *ctx, const rill_record_t *record, int input, int sender,
                       uint64_t trace, const rill_key_hint_t *key)
{
    s_fixture_t *self = ctx;
    assert_true(self->count < S_MAX_EVENTS);
    snprintf(self->events[self->count++], 16, "%.*s", (int)record->size,
             (const char *)record->data);
    return 0;
}

static int s_on_barrier(void *ctx, int64_t checkpoint, bool declined, uint64_t aligned_ns)
{
    s_fixture_t *self = ctx;
    assert_true(self->count < S_MAX_EVENTS);
    snprintf(self->events[self->count++], 16, "%c%lld", declined ? 'D' : 'B',
             (long long)checkpoint);
    return 0;
}

//  Receiver 0 of a senders -> 1 hash edge, with a barrier callback and alignment bound.
static s_fixture_t *s_fixture_new(int senders, size_t bound)
{
    s_fixture_t *self = calloc(1, sizeof(s_fixture_t));
    self->pipe = test_pipe_new(senders, 1, RILL_PATTERN_HASH, NULL, NULL);
    self->reader = rill_reader_new(self->pipe->plan, test_pipe_receiver(self->pipe, 0), NULL);
    assert_non_null(self->reader);
    rill_reader_on_barrier(self->reader, s_on_barrier, self, bound);
    self->frame = rill_buffer_new();
    return self;
}

static void s_fixture_destroy(s_fixture_t **self_p)
{
    s_fixture_t *self = *self_p;
    rill_buffer_destroy(&self->frame);
    rill_reader_destroy(&self->reader);
    test_pipe_destroy(&self->pipe);
    free(self);
    *self_p = NULL;
}

static int s_decode(s_fixture_t *self)
{
    return rill_reader_decode(self->reader, 0, rill_buffer_data(self->frame),
                              rill_buffer_size(self->frame), s_on_record, self);
}

//  One DATA frame from sender holding one record.
static void s_record(s_fixture_t *self, int sender, const char *text)
{
    test_frame_begin(self->frame, RILL_FRAME_MAGIC, RILL_FRAME_DATA, (uint16_t)sender, 1);
    test_frame_add_record(self->frame, text, RILL_NO_TIMESTAMP, 0);
    assert_int_equal(s_decode(self), 0);
}

static void s_control_frame(s_fixture_t *self, int sender, uint8_t kind, int64_t value)
{
    rill_frame_header_t header = {RILL_FRAME_MAGIC, kind, (uint16_t)sender, 0, value};
    uint8_t bytes[RILL_FRAME_HEADER_SIZE];
    rill_frame_header_put(bytes, &header);
    rill_buffer_set(self->frame, bytes, sizeof bytes);
}

static void s_barrier(s_fixture_t *self, int sender, int64_t checkpoint)
{
    s_control_frame(self, sender, RILL_FRAME_BARRIER, checkpoint);
    assert_int_equal(s_decode(self), 0);
}

static void s_end(s_fixture_t *self, int sender)
{
    s_control_frame(self, sender, RILL_FRAME_END, 0);
    assert_int_equal(s_decode(self), 0);
}

static void s_expect(s_fixture_t *self, const char *const *events, int count)
{
    for (int i = 0; i < count && i < self->count; i++)
        assert_string_equal(self->events[i], events[i]);
    assert_int_equal(self->count, count);
}

//  What a channel sends after its barrier waits for the barrier on the other channel; the
//  other channel's records before its barrier go through meanwhile.
static void a_channel_past_its_barrier_waits_for_the_others(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 0);
    s_record(self, 0, "a1");
    s_barrier(self, 0, 1);
    s_record(self, 0, "a2"); //  held
    s_record(self, 1, "b1");
    assert_int_equal(rill_reader_aligning(self->reader), 1);
    s_record(self, 0, "a3"); //  held, after a2
    s_record(self, 1, "b2");
    s_barrier(self, 1, 1); //  aligned: snapshot, then a2, a3
    s_record(self, 1, "b3");
    const char *expected[] = {"a1", "b1", "b2", "B1", "a2", "a3", "b3"};
    s_expect(self, expected, 7);
    assert_int_equal(rill_reader_aligning(self->reader), 0);
    s_fixture_destroy(&self);
}

//  Barriers follow one another: the second checkpoint aligns like the first, and a
//  barrier held back behind the first alignment starts the second as it is let through.
static void consecutive_checkpoints_align_in_turn(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 0);
    s_barrier(self, 0, 1);
    s_record(self, 0, "a1"); //  held
    s_barrier(self, 0, 2);   //  held behind a1
    s_record(self, 0, "a2"); //  held
    s_barrier(self, 1, 1);   //  checkpoint 1 aligned; a1 goes, barrier 2 blocks sender 0 again
    s_record(self, 1, "b1");
    s_barrier(self, 1, 2);
    const char *expected[] = {"B1", "a1", "b1", "B2", "a2"};
    s_expect(self, expected, 5);
    s_fixture_destroy(&self);
}

//  A channel that ends has nothing more to align (Flink: finished inputs count as aligned).
static void an_ended_channel_counts_as_aligned(void **state)
{
    s_fixture_t *self = s_fixture_new(3, 0);
    s_end(self, 2);
    s_barrier(self, 0, 7);
    s_record(self, 0, "a1");
    s_end(self, 1); //  the last open channel besides 0: aligned
    const char *expected[] = {"B7", "a1"};
    s_expect(self, expected, 2);
    s_fixture_destroy(&self);
}

//  A single channel aligns at once: nothing is ever held.
static void one_channel_aligns_at_once(void **state)
{
    s_fixture_t *self = s_fixture_new(1, 0);
    s_record(self, 0, "a1");
    s_barrier(self, 0, 3);
    s_record(self, 0, "a2");
    const char *expected[] = {"a1", "B3", "a2"};
    s_expect(self, expected, 3);
    s_fixture_destroy(&self);
}

//  Holding back more than the bound declines the checkpoint: the held frames flow in order,
//  and the barrier when it comes late from the other channel is stale and ignored.
static void past_the_bound_the_checkpoint_is_declined(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 64); //  a few small frames
    s_barrier(self, 0, 1);
    s_record(self, 0, "a1");
    s_record(self, 0, "a2");
    s_record(self, 0, "a3");
    s_record(self, 0, "a4"); //  past 64 bytes: declined, all four flow
    s_record(self, 1, "b1");
    s_barrier(self, 1, 1); //  stale
    s_record(self, 0, "a5");
    assert_int_equal(rill_reader_aligning(self->reader), 0);
    const char *expected[] = {"D1", "a1", "a2", "a3", "a4", "b1", "a5"};
    s_expect(self, expected, 7);
    //  The next checkpoint aligns normally.
    s_barrier(self, 0, 2);
    s_record(self, 0, "a6");
    s_barrier(self, 1, 2);
    const char *after[] = {"D1", "a1", "a2", "a3", "a4", "b1", "a5", "B2", "a6"};
    s_expect(self, after, 9);
    s_fixture_destroy(&self);
}

//  A newer barrier while an older one aligns means the coordinator gave the older up: it is
//  declined here and the newer aligned.
static void a_newer_barrier_supersedes_an_older_alignment(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 0);
    s_barrier(self, 0, 1);
    s_record(self, 0, "a1"); //  held
    s_barrier(self, 1, 2);   //  1 declined (a1 flows), 2 aligning with sender 1 blocked
    s_record(self, 1, "b1"); //  held
    s_barrier(self, 0, 2);   //  aligned
    const char *expected[] = {"D1", "a1", "B2", "b1"};
    s_expect(self, expected, 4);
    s_fixture_destroy(&self);
}

//  An older barrier behind a newer one (a sender that declined the older checkpoint still
//  passes its barrier on) is stale: the newer alignment goes on.
static void an_older_barrier_does_not_disturb_a_newer_alignment(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 0);
    s_barrier(self, 0, 5);
    s_record(self, 0, "a1"); //  held
    s_barrier(self, 1, 4);   //  stale
    s_record(self, 1, "b1");
    assert_int_equal(rill_reader_aligning(self->reader), 5);
    s_barrier(self, 1, 5);
    const char *expected[] = {"b1", "B5", "a1"};
    s_expect(self, expected, 3);
    s_fixture_destroy(&self);
}

//  Barrier frames are checked like any other: a checkpoint id of 0 or below, or bytes after
//  the header, are malformed.
static void malformed_barriers_are_refused(void **state)
{
    s_fixture_t *self = s_fixture_new(2, 0);
    s_control_frame(self, 0, RILL_FRAME_BARRIER, 0);
    assert_int_equal(s_decode(self), -1);
    assert_non_null(strstr(rill_reader_error(self->reader), "checkpoint 0"));
    s_control_frame(self, 0, RILL_FRAME_BARRIER, 5);
    rill_buffer_append(self->frame, "x", 1);
    assert_int_equal(s_decode(self), -1);
    assert_non_null(strstr(rill_reader_error(self->reader), "after its last entry"));
    assert_int_equal(self->count, 0);
    s_fixture_destroy(&self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_channel_past_its_barrier_waits_for_the_others),
        cmocka_unit_test(consecutive_checkpoints_align_in_turn),
        cmocka_unit_test(an_ended_channel_counts_as_aligned),
        cmocka_unit_test(one_channel_aligns_at_once),
        cmocka_unit_test(past_the_bound_the_checkpoint_is_declined),
        cmocka_unit_test(a_newer_barrier_supersedes_an_older_alignment),
        cmocka_unit_test(an_older_barrier_does_not_disturb_a_newer_alignment),
        cmocka_unit_test(malformed_barriers_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
