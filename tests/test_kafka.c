/*  test_kafka.c: the Kafka source and sink (rill_kafka.h) against librdkafka's mock cluster,
    which runs in this process (rd_kafka_mock_cluster_new: brokers on local ports speaking the
    real protocol, transactions included). Jobs read a multi-partition topic and write another,
    which the test reads back record by record: each record exactly once at parallelism 1 and
    2; per-partition watermarks that fire an event-time window while one partition is idle
    (and do not without idleness); a failure and restart from a checkpoint with the
    transactional sink (exactly once, read with isolation.level=read_committed) and with the
    at-least-once sink (every record, some maybe twice); unreachable brokers failing within a
    bounded wait; unknown topics; URLs. */
#include "testutil.h"

#include <glob.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rill_kafka.h"

//  ---- the mock cluster and plain clients

typedef struct {
    rd_kafka_t *host; //  the mock cluster lives in this handle
    rd_kafka_mock_cluster_t *mock;
    const char *brokers;
} s_cluster_t;

static rd_kafka_t *s_client(rd_kafka_type_t type, const char *brokers, const char *const *extra)
{
    char error[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "2", error, sizeof error), 0);
    if (brokers)
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, error, sizeof error),
                         0);
    for (int i = 0; extra && extra[i]; i += 2)
        if (rd_kafka_conf_set(conf, extra[i], extra[i + 1], error, sizeof error))
            fail_msg("%s", error);
    rd_kafka_t *client = rd_kafka_new(type, conf, error, sizeof error);
    if (!client)
        fail_msg("%s", error);
    return client;
}

static void s_cluster_start(s_cluster_t *self)
{
    self->host = s_client(RD_KAFKA_PRODUCER, NULL, NULL);
    self->mock = rd_kafka_mock_cluster_new(self->host, 3);
    assert_non_null(self->mock);
    self->brokers = rd_kafka_mock_cluster_bootstraps(self->mock);
}

static void s_cluster_stop(s_cluster_t *self)
{
    rd_kafka_mock_cluster_destroy(self->mock);
    rd_kafka_destroy(self->host);
}

static void s_topic(s_cluster_t *self, const char *topic, int partitions)
{
    assert_int_equal(rd_kafka_mock_topic_create(self->mock, topic, partitions, 1), 0);
}

//  Produces count records "<prefix><partition>-<i>" into each partition of topic, record i of
//  partition p with timestamp first + i * step (+ p * offset_per_partition).
static void s_fill(const char *brokers, const char *topic, int partitions, int count, int64_t first,
                   int64_t step)
{
    rd_kafka_t *producer = s_client(RD_KAFKA_PRODUCER, brokers, NULL);
    for (int p = 0; p < partitions; p++)
        for (int i = 0; i < count; i++) {
            char value[64];
            int size = snprintf(value, sizeof value, "r%d-%04d", p, i);
            rd_kafka_resp_err_t err = rd_kafka_producev(
                producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, (size_t)size),
                RD_KAFKA_V_TIMESTAMP(first + i * step), RD_KAFKA_V_END);
            assert_int_equal(err, 0);
        }
    assert_int_equal(rd_kafka_flush(producer, 10000), 0);
    rd_kafka_destroy(producer);
}

static void s_send(const char *brokers, const char *topic, int partition, const char *value,
                   int64_t timestamp)
{
    rd_kafka_t *producer = s_client(RD_KAFKA_PRODUCER, brokers, NULL);
    assert_int_equal(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                                       RD_KAFKA_V_PARTITION(partition),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                                       RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(producer, 10000), 0);
    rd_kafka_destroy(producer);
}

//  What a topic holds now, read committed: its values, sorted, one a line (caller frees).
typedef struct {
    char **values;
    size_t count;
} s_read_t;

static int s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static s_read_t s_read_topic(const char *brokers, const char *topic, int partitions)
{
    const char *extra[] = {
        "group.id", "test-reader", "isolation.level", "read_committed", "enable.auto.commit",
        "false",    NULL};
    rd_kafka_t *consumer = s_client(RD_KAFKA_CONSUMER, brokers, extra);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    int64_t ends[64] = {0}, total = 0;
    assert_true(partitions <= 64);
    for (int p = 0; p < partitions; p++) {
        int64_t low, high;
        assert_int_equal(rd_kafka_query_watermark_offsets(consumer, topic, p, &low, &high, 5000),
                         0);
        ends[p] = high;
        total += high - low;
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    assert_int_equal(rd_kafka_assign(consumer, list), 0);
    rd_kafka_topic_partition_list_destroy(list);
    s_read_t read = {calloc((size_t)total + 1, sizeof(char *)), 0};
    int64_t deadline = test_now_ms() + 10000;
    int64_t next[64] = {0};
    for (;;) {
        bool done = true;
        for (int p = 0; p < partitions; p++)
            done = done && next[p] >= ends[p];
        if (done || test_now_ms() > deadline)
            break;
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (!message)
            continue;
        if (!message->err && message->offset < ends[message->partition]) {
            assert_true(read.count < (size_t)total);
            read.values[read.count++] = strndup(message->payload, message->len);
        }
        if (!message->err)
            next[message->partition] = message->offset + 1;
        rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    qsort(read.values, read.count, sizeof(char *), s_compare_strings);
    return read;
}

static void s_read_free(s_read_t *read)
{
    for (size_t i = 0; i < read->count; i++)
        free(read->values[i]);
    free(read->values);
}

//  Every record "r<p>-<i>" of partitions x count appears in read: once each when exact, at
//  least once otherwise. Returns how many were read twice or more.
static size_t s_expect_every_record(const s_read_t *read, int partitions, int count, bool exact)
{
    size_t at = 0, duplicates = 0;
    for (int p = 0; p < partitions; p++)
        for (int i = 0; i < count; i++) {
            char value[64];
            snprintf(value, sizeof value, "r%d-%04d", p, i);
            if (at >= read->count || strcmp(read->values[at], value) != 0)
                fail_msg("record %s missing (got '%s' at %zu of %zu)", value,
                         at < read->count ? read->values[at] : "(end)", at, read->count);
            at++;
            while (at < read->count && strcmp(read->values[at], value) == 0) {
                if (exact)
                    fail_msg("record %s read twice", value);
                duplicates++;
                at++;
            }
        }
    assert_int_equal(at, read->count);
    return duplicates;
}

//  ---- jobs

static rill_kafka_source_t s_source_options(const char *brokers, const char *topic)
{
    return (rill_kafka_source_t){
        .brokers = brokers, .topic = topic, .bounded = true, .timeout_ms = 5000};
}

static atomic_int s_user_opens;

static int s_user_open(const rill_context_t *context, void *ctx, void **subtask_ctx)
{
    atomic_fetch_add(&s_user_opens, 1);
    *subtask_ctx = &s_user_opens; //  anything: the source must not take it for its gauge
    return 0;
}

//  The first case doubles as the usage example: a topic into another, at p = 1 and 2.
static void a_topic_goes_into_another_once_per_record_at_p1_and_p2(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "in", 4);
    s_fill(cluster.brokers, "in", 4, 250, 1000, 10);
    for (int p = 1; p <= 2; p++) {
        char out[16];
        snprintf(out, sizeof out, "out%d", p);
        s_topic(&cluster, out, 3);
        rill_env_t *env = rill_env_new();
        rill_env_set_parallelism(env, p);
        rill_kafka_source_t source = s_source_options(cluster.brokers, "in");
        rill_stream_t *records = rill_env_from_kafka(env, &source);
        rill_kafka_sink_t sink = {
            .brokers = cluster.brokers, .topic = out, .key = rill_key_first_field};
        //  A user's open and close on the source keep the lag gauge working.
        atomic_store(&s_user_opens, 0);
        rill_stream_open_close(records, s_user_open, NULL);
        rill_stream_to_kafka(records, &sink);
        if (rill_env_execute(env))
            fail_msg("p=%d: %s", p, rill_env_error(env));
        assert_int_equal(atomic_load(&s_user_opens), p);
        //  The lag gauge: every record read, none behind, in each source subtask.
        const rill_metrics_t *metrics = rill_env_metrics(env);
        for (int subtask = 0; subtask < p; subtask++) {
            rill_user_metric_t user[RILL_USER_METRICS];
            int n = rill_metrics_user(metrics, subtask, user, RILL_USER_METRICS);
            assert_int_equal(n, 1);
            assert_string_equal(user[0].name, "kafka_lag");
            assert_true(user[0].gauge);
            assert_int_equal(user[0].value, 0);
        }
        rill_env_destroy(&env);
        s_read_t read = s_read_topic(cluster.brokers, out, 3);
        assert_int_equal(read.count, 1000);
        s_expect_every_record(&read, 4, 250, true);
        s_read_free(&read);
    }
    s_cluster_stop(&cluster);
}

//  Records keep their Kafka timestamps as event time.
static void records_carry_their_kafka_timestamps(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "stamped", 2);
    s_fill(cluster.brokers, "stamped", 2, 5, 7000, 3);
    rill_env_t *env = rill_env_new();
    rill_kafka_source_t source = s_source_options(cluster.brokers, "stamped");
    rill_results_t *results = rill_results_new();
    rill_stream_collect(rill_env_from_kafka(env, &source), results);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    assert_int_equal(rill_results_size(results), 10);
    for (size_t i = 0; i < 10; i++) {
        rill_record_t record = rill_results_record(results, i);
        int p, n;
        assert_int_equal(sscanf(record.data, "r%d-%d", &p, &n), 2);
        assert_int_equal(record.timestamp, 7000 + n * 3);
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    s_cluster_stop(&cluster);
}

//  ---- per-partition watermarks and idleness

typedef struct {
    rill_env_t *env;
    int rc;
} s_running_t;

static void *s_execute(void *arg)
{
    s_running_t *running = arg;
    running->rc = rill_env_execute(running->env);
    return NULL;
}

//  Window counts ("<start>\t<end>\t<key>\t<count>") into topic out; runs until cancelled.
static void s_start_window_job(s_running_t *running, pthread_t *thread, const char *brokers,
                               const char *out, int idle_timeout_ms)
{
    running->env = rill_env_new();
    rill_env_set_parallelism(running->env, 1);
    rill_kafka_source_t source = {.brokers = brokers,
                                  .topic = "events",
                                  .timeout_ms = 5000,
                                  .idle_timeout_ms = idle_timeout_ms};
    rill_stream_t *events = rill_env_from_kafka(running->env, &source);
    rill_window_t window = rill_window_tumbling(1000);
    rill_stream_t *counts = rill_stream_window_builtin(
        rill_stream_key_by(events, rill_key_first_field, NULL), &window, RILL_WINDOW_AGG_COUNT);
    rill_kafka_sink_t sink = {.brokers = brokers, .topic = out};
    rill_stream_to_kafka(counts, &sink);
    assert_int_equal(pthread_create(thread, NULL, s_execute, running), 0);
}

//  Keeps partition 1 of events active: a record at 1500 ms every 50 ms until stop.
typedef struct {
    rd_kafka_t *producer;
    atomic_bool stop;
} s_keepalive_t;

static void *s_keep_alive(void *arg)
{
    s_keepalive_t *self = arg;
    while (!atomic_load(&self->stop)) {
        rd_kafka_producev(self->producer, RD_KAFKA_V_TOPIC("events"), RD_KAFKA_V_PARTITION(1),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE("a", 1),
                          RD_KAFKA_V_TIMESTAMP(1500), RD_KAFKA_V_END);
        rd_kafka_flush(self->producer, 1000);
        usleep(50 * 1000);
    }
    return NULL;
}

//  Partitions 0 and 1 hold key "a" at 100..900 ms, then partition 0 one record at 2100 ms;
//  partition 2 holds nothing. Without idleness, partition 2 (no watermark yet) holds every
//  window back. With it, partition 2 goes idle, and so does partition 0 once read; partition
//  1 stays active (the test sends it a record at 1500 ms every 100 ms): the watermark is then
//  partition 1's, 1499, so window [0, 1000) fires with all 18 records (none late, though
//  partition 0 ran ahead to 2100) and [1000, 2000) does not (partition 0's 2099 would fire
//  it: the least over active partitions, not the highest, makes the watermark).
static void an_idle_partition_does_not_hold_back_the_window(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "events", 3);
    s_topic(&cluster, "windows", 1);
    s_topic(&cluster, "held", 1);
    for (int p = 0; p < 2; p++) {
        for (int i = 1; i <= 9; i++)
            s_send(cluster.brokers, "events", p, "a", i * 100 + p * 50);
    }
    s_send(cluster.brokers, "events", 0, "a", 2100);
    //  Without idleness, partition 2 (no records, no watermark) holds the window back.
    s_running_t running;
    pthread_t thread;
    s_start_window_job(&running, &thread, cluster.brokers, "held", 0);
    usleep(1500 * 1000);
    s_read_t read = s_read_topic(cluster.brokers, "held", 1);
    assert_int_equal(read.count, 0);
    s_read_free(&read);
    rill_env_cancel(running.env);
    pthread_join(thread, NULL);
    rill_env_destroy(&running.env);

    //  With idleness (1 s: partition 1 gets a record every 50 ms and stays active), the
    //  window fires while the job runs.
    s_start_window_job(&running, &thread, cluster.brokers, "windows", 1000);
    s_keepalive_t keepalive = {.producer = s_client(RD_KAFKA_PRODUCER, cluster.brokers, NULL)};
    pthread_t sender;
    assert_int_equal(pthread_create(&sender, NULL, s_keep_alive, &keepalive), 0);
    int64_t started = test_now_ms(), deadline = started + 10000;
    for (;;) {
        usleep(100 * 1000);
        read = s_read_topic(cluster.brokers, "windows", 1);
        //  Once the window is out, a second more, in which [1000, 2000) must not fire.
        if ((read.count && test_now_ms() > started + 2500) || test_now_ms() > deadline)
            break;
        s_read_free(&read);
    }
    atomic_store(&keepalive.stop, true);
    pthread_join(sender, NULL);
    rd_kafka_destroy(keepalive.producer);
    rill_env_cancel(running.env);
    pthread_join(thread, NULL);
    rill_env_destroy(&running.env);
    //  One window, all 18 records of [0, 1000); the others wait for a later watermark.
    for (size_t i = 0; i < read.count; i++)
        fprintf(stderr, "window output: '%s'\n", read.values[i]);
    assert_int_equal(read.count, 1);
    assert_string_equal(read.values[0], "0\t1000\ta\t18");
    s_read_free(&read);
    s_cluster_stop(&cluster);
}

//  ---- checkpoints, failure and restart

static atomic_int s_seen;
static atomic_int s_failed;
static int s_fail_at;

//  Whether the checkpoint directory holds a completed checkpoint.
static bool s_has_checkpoint(const char *dir)
{
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s/chk-*/_metadata", dir);
    glob_t found;
    bool any = glob(pattern, 0, NULL, &found) == 0 && found.gl_pathc > 0;
    globfree(&found);
    return any;
}

//  Passes records on, slowly (so checkpoints come in between), and fails once: at the first
//  record from s_fail_at on that comes after a checkpoint completed into ctx (a directory).
static int s_slow_map_failing_once(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (atomic_fetch_add(&s_seen, 1) + 1 >= s_fail_at && !atomic_load(&s_failed) &&
        s_has_checkpoint(ctx) && !atomic_exchange(&s_failed, 1))
        return -1;
    usleep(500);
    return rill_buffer_set(out, in->data, in->size);
}

//  Runs in -> out with a failure after fail_at records and one restart from the latest
//  checkpoint; the sink as given. Returns what out holds.
static s_read_t s_run_with_failure(s_cluster_t *cluster, const char *out,
                                   rill_kafka_guarantee_t guarantee, int parallelism)
{
    atomic_store(&s_seen, 0);
    atomic_store(&s_failed, 0);
    s_fail_at = 400;
    char dir[] = "/tmp/rill-kafka-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rill_env_t *env = rill_env_new();
    rill_env_set_job_name(env, out);
    rill_env_set_mode(env, RILL_MODE_STREAMING);
    rill_env_set_parallelism(env, parallelism);
    rill_env_enable_checkpointing(env, 20, dir);
    rill_env_set_restart(env, 2, 0, false);
    rill_kafka_source_t source = s_source_options(cluster->brokers, "in");
    rill_stream_t *records =
        rill_stream_map(rill_env_from_kafka(env, &source), s_slow_map_failing_once, dir);
    rill_kafka_sink_t sink = {.brokers = cluster->brokers, .topic = out, .guarantee = guarantee};
    rill_stream_to_kafka(records, &sink);
    if (rill_env_execute(env))
        fail_msg("%s", rill_env_error(env));
    assert_int_equal(atomic_load(&s_failed), 1);
    rill_checkpoint_stats_t stats = rill_metrics_checkpoints(rill_env_metrics(env));
    fprintf(stderr, "%s: %lld checkpoints completed, latest %lld; %d records mapped\n", out,
            (long long)stats.completed, (long long)stats.latest, atomic_load(&s_seen));
    //  It restarted from a checkpoint (how far along depends on when the barriers came).
    assert_true(stats.latest > 0);
    rill_env_destroy(&env);
    test_remove_tree(dir);
    return s_read_topic(cluster->brokers, out, 2);
}

static void a_restart_from_a_checkpoint_is_exactly_once_with_transactions(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "in", 4);
    s_fill(cluster.brokers, "in", 4, 300, 0, 1);
    s_topic(&cluster, "exact1", 2);
    s_read_t read = s_run_with_failure(&cluster, "exact1", RILL_KAFKA_EXACTLY_ONCE, 1);
    assert_int_equal(read.count, 1200);
    s_expect_every_record(&read, 4, 300, true);
    s_read_free(&read);
    s_topic(&cluster, "exact2", 2);
    read = s_run_with_failure(&cluster, "exact2", RILL_KAFKA_EXACTLY_ONCE, 2);
    assert_int_equal(read.count, 1200);
    s_expect_every_record(&read, 4, 300, true);
    s_read_free(&read);
    s_cluster_stop(&cluster);
}

//  A job at p = 2 fails for good (no restarts) after some checkpoints; another restores its
//  latest checkpoint at p = 3: the source's offsets go to their partitions' new subtasks
//  (p % 3), the sink commits what the checkpoint covered and the marker says was not yet
//  committed, and the output holds every record exactly once.
static void a_restore_at_another_parallelism_is_exactly_once(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "in", 4);
    s_fill(cluster.brokers, "in", 4, 300, 0, 1);
    s_topic(&cluster, "rescaled", 2);
    char dir[] = "/tmp/rill-kafka-XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int attempt = 0; attempt < 2; attempt++) {
        atomic_store(&s_seen, 0);
        atomic_store(&s_failed, attempt); //  the second job does not fail
        s_fail_at = 400;
        rill_env_t *env = rill_env_new();
        rill_env_set_job_name(env, "rescaled");
        rill_env_set_mode(env, RILL_MODE_STREAMING);
        rill_env_set_parallelism(env, attempt == 0 ? 2 : 3);
        rill_env_enable_checkpointing(env, 20, dir);
        if (attempt == 1)
            assert_int_equal(rill_env_restore_from(env, dir), 0);
        rill_kafka_source_t source = s_source_options(cluster.brokers, "in");
        rill_stream_t *records =
            rill_stream_map(rill_env_from_kafka(env, &source), s_slow_map_failing_once, dir);
        rill_kafka_sink_t sink = {
            .brokers = cluster.brokers, .topic = "rescaled", .guarantee = RILL_KAFKA_EXACTLY_ONCE};
        rill_stream_to_kafka(records, &sink);
        int rc = rill_env_execute(env);
        if (attempt == 0)
            assert_int_equal(rc, -1);
        else if (rc)
            fail_msg("restored at p=3: %s", rill_env_error(env));
        else {
            //  It went on from the checkpoint, not from the start.
            fprintf(stderr, "restored at p=3: %d records mapped\n", atomic_load(&s_seen));
            assert_true(atomic_load(&s_seen) < 1200);
        }
        rill_env_destroy(&env);
    }
    test_remove_tree(dir);
    s_read_t read = s_read_topic(cluster.brokers, "rescaled", 2);
    assert_int_equal(read.count, 1200);
    s_expect_every_record(&read, 4, 300, true);
    s_read_free(&read);
    s_cluster_stop(&cluster);
}

static void a_restart_from_a_checkpoint_is_at_least_once_without(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    s_topic(&cluster, "in", 4);
    s_fill(cluster.brokers, "in", 4, 300, 0, 1);
    s_topic(&cluster, "least", 2);
    s_read_t read = s_run_with_failure(&cluster, "least", RILL_KAFKA_AT_LEAST_ONCE, 1);
    size_t duplicates = s_expect_every_record(&read, 4, 300, false);
    fprintf(stderr, "at least once: %zu records, %zu sent again after the restart\n", read.count,
            duplicates);
    assert_int_equal(read.count, 1200 + duplicates);
    s_read_free(&read);
    s_cluster_stop(&cluster);
}

//  ---- errors

static void unreachable_brokers_fail_the_job_within_the_timeout(void **unused)
{
    //  Port 1 on loopback: nothing listens, every connection is refused.
    rill_env_t *env = rill_env_new();
    rill_kafka_source_t source = {.brokers = "127.0.0.1:1", .topic = "t", .timeout_ms = 1500};
    rill_stream_discard(rill_env_from_kafka(env, &source));
    int64_t started = test_now_ms();
    assert_int_equal(rill_env_execute(env), -1);
    int64_t took = test_now_ms() - started;
    const char *error = rill_env_error(env);
    assert_non_null(strstr(error, "cannot reach the Kafka brokers '127.0.0.1:1' within 1500 ms"));
    assert_true(took < 6000);
    rill_env_destroy(&env);

    env = rill_env_new();
    rill_kafka_source_t generator = {0};
    (void)generator;
    rill_kafka_sink_t sink = {.brokers = "127.0.0.1:1", .topic = "t", .timeout_ms = 1500};
    rill_stream_to_kafka(rill_env_from_generator(env, test_generate_sequence, NULL, 10), &sink);
    started = test_now_ms();
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "cannot reach the Kafka brokers"));
    assert_true(test_now_ms() - started < 6000);
    rill_env_destroy(&env);
}

static void an_unknown_topic_fails_the_job_naming_it(void **unused)
{
    s_cluster_t cluster;
    s_cluster_start(&cluster);
    //  The mock cluster creates any topic asked for (a broker with auto.create.topics.enable
    //  and a client that allows it); a real broker that may not create one answers
    //  UNKNOWN_TOPIC_OR_PART, which the mock is told to answer here.
    rd_kafka_mock_topic_set_error(cluster.mock, "no-such-topic",
                                  RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rd_kafka_mock_topic_set_error(cluster.mock, "absent", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rill_env_t *env = rill_env_new();
    rill_kafka_source_t source = s_source_options(cluster.brokers, "no-such-topic");
    rill_stream_discard(rill_env_from_kafka(env, &source));
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "Kafka topic 'no-such-topic' does not exist"));
    rill_env_destroy(&env);

    s_topic(&cluster, "present", 1);
    env = rill_env_new();
    source = s_source_options(cluster.brokers, "present");
    rill_kafka_sink_t sink = {.brokers = cluster.brokers, .topic = "absent"};
    rill_stream_to_kafka(rill_env_from_kafka(env, &source), &sink);
    assert_int_equal(rill_env_execute(env), -1);
    assert_non_null(strstr(rill_env_error(env), "Kafka topic 'absent' does not exist"));
    rill_env_destroy(&env);
    s_cluster_stop(&cluster);
}

static void missing_options_are_refused_when_building(void **unused)
{
    rill_env_t *env = rill_env_new();
    rill_kafka_source_t source = {.topic = "t"};
    assert_null(rill_env_from_kafka(env, &source));
    assert_non_null(strstr(rill_env_error(env), "Kafka source: no brokers given"));
    rill_env_destroy(&env);
    env = rill_env_new();
    const char *properties[] = {"acks", NULL};
    rill_kafka_sink_t sink = {.brokers = "h:1", .topic = "t", .properties = properties};
    assert_null(
        rill_stream_to_kafka(rill_env_from_generator(env, test_generate_sequence, NULL, 1), &sink));
    assert_non_null(strstr(rill_env_error(env), "property 'acks' is not key=value"));
    rill_env_destroy(&env);
}

//  ---- URLs

static void urls_parse_brokers_topic_and_options(void **unused)
{
    rill_kafka_url_t url;
    char error[512];
    assert_int_equal(
        rill_kafka_url_parse("kafka://localhost:9092/events", &url, error, sizeof error), 0);
    assert_string_equal(url.brokers, "localhost:9092");
    assert_string_equal(url.topic, "events");
    assert_string_equal(url.group, "");
    assert_int_equal(url.start, RILL_KAFKA_EARLIEST);
    assert_false(url.bounded);
    assert_int_equal(rill_kafka_url_parse("kafka://a:1,b.example:29092/my.topic_2?group=g1&from="
                                          "latest&bounded=true",
                                          &url, error, sizeof error),
                     0);
    assert_string_equal(url.brokers, "a:1,b.example:29092");
    assert_string_equal(url.topic, "my.topic_2");
    assert_string_equal(url.group, "g1");
    assert_int_equal(url.start, RILL_KAFKA_LATEST);
    assert_true(url.bounded);
}

static void bad_urls_are_refused_saying_why(void **unused)
{
    static const struct {
        const char *url;
        const char *why;
    } cases[] = {
        {"http://h:1/t", "does not start with kafka://"},
        {"kafka://h:1", "no /topic"},
        {"kafka:///t", "no brokers"},
        {"kafka://h/t", "not host:port"},
        {"kafka://h:0/t", "not host:port"},
        {"kafka://h:70000/t", "not host:port"},
        {"kafka://h:1,/t", "an empty broker"},
        {"kafka://h:1/", "no topic"},
        {"kafka://h:1/a b", "only letters"},
        {"kafka://h:1/t?from=middle", "from is neither"},
        {"kafka://h:1/t?bounded=yes", "bounded is neither"},
        {"kafka://h:1/t?color=red", "unknown parameter 'color'"},
        {"kafka://h:1/t?group", "not name=value"},
        {"kafka://h:1/t?group=", "an empty group"},
        {"kafka://h:1/t?group=g&", "empty query parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rill_kafka_url_t url;
        char error[512] = "";
        if (rill_kafka_url_parse(cases[i].url, &url, error, sizeof error) != -1)
            fail_msg("'%s' was accepted", cases[i].url);
        if (!strstr(error, cases[i].why) || !strstr(error, cases[i].url))
            fail_msg("'%s': error '%s' does not say '%s'", cases[i].url, error, cases[i].why);
    }
    char error[64];
    assert_int_equal(rill_kafka_url_parse(NULL, NULL, error, sizeof error), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_topic_goes_into_another_once_per_record_at_p1_and_p2),
        cmocka_unit_test(records_carry_their_kafka_timestamps),
        cmocka_unit_test(an_idle_partition_does_not_hold_back_the_window),
        cmocka_unit_test(a_restart_from_a_checkpoint_is_exactly_once_with_transactions),
        cmocka_unit_test(a_restore_at_another_parallelism_is_exactly_once),
        cmocka_unit_test(a_restart_from_a_checkpoint_is_at_least_once_without),
        cmocka_unit_test(unreachable_brokers_fail_the_job_within_the_timeout),
        cmocka_unit_test(an_unknown_topic_fails_the_job_naming_it),
        cmocka_unit_test(missing_options_are_refused_when_building),
        cmocka_unit_test(urls_parse_brokers_topic_and_options),
        cmocka_unit_test(bad_urls_are_refused_saying_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
