/*  test_state_ttl.c: how expired keyed state goes away (rill_stream_state_ttl), against Flink's
    StateTtlConfig cleanup strategies: cleanupFullSnapshot (expired entries stay out of
    checkpoints, so a restore does not bring them back, while the live state keeps them until
    read) and cleanupIncrementally (each state access checks a few other entries and drops the
    expired, so state nobody reads again shrinks). Driven on the test harness's manual clock. */
#include "testutil.h"

#include <string.h>

static int s_nothing(uint64_t index, rill_collector_t *out, void *ctx)
{
    (void)index, (void)out, (void)ctx;
    return 0;
}

//  "key<TAB>set": writes value "v", map entry ("m", "a") and list "l" of the key;
//  "key<TAB>read": emits "key alive" when its value, map entry and list read back, "key
//  expired" when none does (and "key half" otherwise).
static int s_state(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                   void *ctx)
{
    (void)ctx;
    const char *tab = memchr(in->data, '\t', in->size);
    if (tab[1] == 's')
        return rill_state_value_set(process, "v", "x", 1) ||
               rill_state_map_put(process, "m", "a", 1, "y", 1) ||
               rill_state_list_add(process, "l", "z", 1);
    const void *data;
    size_t size;
    int found = (rill_state_value_get(process, "v", &data, &size) == 0) +
                (rill_state_map_get(process, "m", "a", 1, &data, &size) == 0) +
                (rill_state_list_get(process, "l", &data, &size) == 0);
    char text[64];
    int length = snprintf(text, sizeof text, "%.*s %s", (int)(tab - (const char *)in->data),
                          (const char *)in->data,
                          found == 3   ? "alive"
                          : found == 0 ? "expired"
                                       : "half");
    return rill_collector_emit(out, text, (size_t)length, RILL_NO_TIMESTAMP);
}

typedef struct {
    rill_env_t *env;
    rill_harness_t *harness;
} s_driven_t;

//  s_state with a time-to-live of ttl ms and `cleanup` entries checked per state access (-1:
//  the default), on a harness whose clock starts at 0.
static void s_drive(s_driven_t *self, int64_t ttl, int cleanup)
{
    self->env = rill_env_new();
    rill_keyed_stream_t keyed =
        rill_stream_key_by(rill_env_from_generator(self->env, s_nothing, NULL, RILL_UNBOUNDED),
                           rill_key_first_field, NULL);
    rill_stream_t *op = rill_stream_state_ttl(rill_stream_process(keyed, s_state, NULL, NULL), ttl);
    if (cleanup >= 0)
        op = rill_stream_state_ttl_cleanup(op, cleanup);
    assert_non_null(op);
    rill_stream_discard(op);
    char why[256];
    self->harness = rill_harness_new(self->env, op, 0, why, sizeof why);
    if (!self->harness)
        fail_msg("%s", why);
}

static void s_undrive(s_driven_t *self)
{
    rill_harness_destroy(&self->harness);
    rill_env_destroy(&self->env);
}

static void s_clock(s_driven_t *self, int64_t now)
{
    if (rill_harness_processing_time(self->harness, now))
        fail_msg("%s", rill_harness_error(self->harness));
}

//  Record "key<TAB>what".
static void s_send(s_driven_t *self, const char *key, const char *what)
{
    char text[64];
    int size = snprintf(text, sizeof text, "%s\t%s", key, what);
    if (rill_harness_record(self->harness, 0, text, (size_t)size, 1))
        fail_msg("%s", rill_harness_error(self->harness));
}

//  The last thing the operator emitted, as text.
static const char *s_last(s_driven_t *self, char *text, size_t size)
{
    size_t count = rill_harness_output_count(self->harness, 0);
    assert_true(count > 0);
    rill_record_t r = rill_harness_output(self->harness, 0, count - 1);
    snprintf(text, size, "%.*s", (int)r.size, (const char *)r.data);
    return text;
}

//  Time-to-live 1000 ms, no incremental cleanup. "old" is written at 0 and "young" at 600;
//  at 1200 a checkpoint is taken: old has expired (1200 - 0 >= 1000), young has not. The live
//  state still holds old's entries (nothing read them), the checkpoint does not. Restored on a
//  harness whose clock is at 0, where old's entries would read as alive had they come back,
//  old reads as expired and young as alive.
static void expired_state_stays_out_of_checkpoints(void **state)
{
    (void)state;
    s_driven_t before, after;
    char text[64];
    s_drive(&before, 1000, 0);
    s_send(&before, "old", "set");
    s_clock(&before, 600);
    s_send(&before, "young", "set");
    s_clock(&before, 1200);
    //  Per key: the value, the map entry, the map's key list and the list.
    assert_int_equal(rill_harness_state_entries(before.harness), 8);
    rill_buffer_t *snapshot = rill_buffer_new();
    assert_int_equal(rill_harness_snapshot(before.harness, snapshot), 0);
    assert_int_equal(rill_harness_state_entries(before.harness), 8); //  the live state kept them
    s_undrive(&before);

    s_drive(&after, 1000, 0);
    const rill_buffer_t *snapshots[] = {snapshot};
    if (rill_harness_restore(after.harness, snapshots, 1))
        fail_msg("%s", rill_harness_error(after.harness));
    //  young's four entries and old's map key list, which never expires (rill_state_map_keys
    //  lists a key whose value expired until it is removed).
    assert_int_equal(rill_harness_state_entries(after.harness), 5);
    s_send(&after, "old", "read");
    assert_string_equal(s_last(&after, text, sizeof text), "old expired");
    s_send(&after, "young", "read");
    assert_string_equal(s_last(&after, text, sizeof text), "young alive");
    rill_buffer_destroy(&snapshot);
    s_undrive(&after);
}

//  Time-to-live 1000 ms. 100 keys written at 0 (300 entries of value, map entry and list, plus
//  100 map key lists), 10 more at 900; at 1500 the first 100 have expired, the 10 not. Reads
//  of one other key, which has no state, then clean up the rest: each state access (a read
//  makes three: value, map entry, list) checks 5 entries (RILL_STATE_TTL_CLEANUP) and drops
//  those expired, so 10 reads take some but at most 10 * 3 * 5 = 150 entries, and enough
//  reads leave only the unexpired keys' entries and the map key lists. With the cleanup
//  turned off (0), nothing goes.
static void incremental_cleanup_shrinks_state_nobody_reads(void **state)
{
    (void)state;
    for (int cleanup = -1; cleanup <= 0; cleanup++) {
        s_driven_t d;
        s_drive(&d, 1000, cleanup);
        char key[16];
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "k%d", i);
            s_send(&d, key, "set");
        }
        s_clock(&d, 900);
        for (int i = 0; i < 10; i++) {
            snprintf(key, sizeof key, "fresh%d", i);
            s_send(&d, key, "set");
        }
        long full = rill_harness_state_entries(d.harness);
        assert_int_equal(full, 110 * 4);
        s_clock(&d, 1500);
        for (int i = 0; i < 10; i++)
            s_send(&d, "other", "read");
        long after_ten = rill_harness_state_entries(d.harness);
        for (int i = 0; i < 200; i++)
            s_send(&d, "other", "read");
        long after_all = rill_harness_state_entries(d.harness);
        print_message("cleanup %d: %ld entries, %ld after 10 reads, %ld after 210\n", cleanup, full,
                      after_ten, after_all);
        if (cleanup == 0) {
            assert_int_equal(after_ten, full);
            assert_int_equal(after_all, full);
        } else {
            assert_true(after_ten < full && after_ten >= full - 150);
            assert_int_equal(after_all, 10 * 4 + 100); //  fresh keys whole, old key lists
        }
        //  Either way the fresh keys read back and the old ones do not.
        s_send(&d, "fresh3", "read");
        char text[64];
        assert_string_equal(s_last(&d, text, sizeof text), "fresh3 alive");
        s_send(&d, "k7", "read");
        assert_string_equal(s_last(&d, text, sizeof text), "k7 expired");
        s_undrive(&d);
    }
}

//  The cleanup count needs a time-to-live first and is not negative.
static void a_cleanup_without_a_time_to_live_is_refused(void **state)
{
    (void)state;
    rill_env_t *env = rill_env_new();
    rill_keyed_stream_t keyed = rill_stream_key_by(
        rill_env_from_generator(env, s_nothing, NULL, RILL_UNBOUNDED), rill_key_first_field, NULL);
    rill_stream_t *op = rill_stream_process(keyed, s_state, NULL, NULL);
    assert_null(rill_stream_state_ttl_cleanup(op, 5));
    assert_non_null(strstr(rill_env_error(env), "time-to-live"));
    assert_null(rill_stream_state_ttl_cleanup(rill_stream_state_ttl(op, 10), -1));
    rill_env_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expired_state_stays_out_of_checkpoints),
        cmocka_unit_test(incremental_cleanup_shrinks_state_nobody_reads),
        cmocka_unit_test(a_cleanup_without_a_time_to_live_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
