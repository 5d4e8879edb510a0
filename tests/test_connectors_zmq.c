/*  test_connectors_zmq.c: the ZeroMQ and TCP text connectors against real peers: ZeroMQ
    sockets and a TCP server made here, in this process, talking to rill jobs over tcp:// and
    ipc://. Jobs end by the end marker (or the server closing), never by a timer; peers wait
    with deadlines that only fail on timeout. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_DEADLINE_MS 20000

//  ---- helpers

//  A fresh ipc:// endpoint (its path in /tmp, unique per process and call).
static void s_ipc(char *endpoint, size_t size, const char *name)
{
    static int counter;
    snprintf(endpoint, size, "ipc:///tmp/rill-test-zmq-%d-%d-%s", (int)getpid(), counter++, name);
}

//  A bound socket on an ephemeral tcp port of the loopback; *port tells which.
static zsock_t *s_bind_tcp(int type, int *port)
{
    zsock_t *socket = zsock_new(type);
    assert_non_null(socket);
    zsock_set_linger(socket, 0);
    *port = zsock_bind(socket, "tcp://127.0.0.1:*");
    assert_true(*port > 0);
    return socket;
}

static void s_send_text(zsock_t *socket, const char *text)
{
    assert_int_equal(zmq_send(zsock_resolve(socket), text, strlen(text), 0), (int)strlen(text));
}

//  [8-byte big-endian time][payload], the connectors' timestamped form.
static void s_send_timed(zsock_t *socket, int64_t time, const char *text)
{
    uint8_t frame[8];
    for (int i = 7; i >= 0; i--, time >>= 8)
        frame[i] = (uint8_t)time;
    assert_int_equal(zmq_send(zsock_resolve(socket), frame, 8, ZMQ_SNDMORE), 8);
    s_send_text(socket, text);
}

//  Receives one message as a malloc'd string, waiting up to the deadline; fails on timeout.
static char *s_receive(zsock_t *socket)
{
    zsock_set_rcvtimeo(socket, S_DEADLINE_MS);
    char *text = zstr_recv(socket);
    if (!text)
        fail_msg("no message within %d ms", S_DEADLINE_MS);
    return text;
}

static void s_expect_numbered(rill_results_t *results, const char *prefix, int count)
{
    assert_int_equal(rill_results_size(results), count);
    for (int i = 0; i < count; i++) {
        char expected[64];
        snprintf(expected, sizeof expected, "%s%d", prefix, i);
        rill_record_t record = rill_results_record(results, (size_t)i);
        if (record.size != strlen(expected) || memcmp(record.data, expected, record.size))
            fail_msg("record %d: got '%.*s', expected '%s'", i, (int)record.size,
                     (const char *)record.data, expected);
    }
}

static void s_expect_failure(rill_env_t *env, const char *expected)
{
    assert_int_not_equal(rill_env_execute(env), 0);
    const char *error = rill_env_error(env);
    if (!strstr(error, expected))
        fail_msg("error '%s' does not say '%s'", error, expected);
}

//  Collects at parallelism 1: one run, so the records stay in the order they arrived in.
static void s_collect(rill_stream_t *stream, rill_results_t *results)
{
    rill_stream_parallelism(rill_stream_collect(stream, results), 1);
}

//  ---- a PUSH peer feeding a job and a PULL peer reading it, each in a thread of its own

typedef struct {
    zsock_t *socket;
    int count;
    char **received; //  the PULL peer's records, in arrival order
    int received_count;
    bool ended;
} s_peer_t;

static void *s_feed(void *arg)
{
    s_peer_t *peer = arg;
    for (int i = 0; i < peer->count; i++) {
        char text[32];
        snprintf(text, sizeof text, "r%d", i);
        s_send_text(peer->socket, text);
    }
    s_send_text(peer->socket, "END");
    return NULL;
}

static void *s_drain(void *arg)
{
    s_peer_t *peer = arg;
    zsock_set_rcvtimeo(peer->socket, S_DEADLINE_MS);
    peer->received = calloc((size_t)peer->count + 1, sizeof(char *));
    for (;;) {
        char *text = zstr_recv(peer->socket);
        if (!text)
            break; //  the deadline: the test then sees what is missing
        if (streq(text, "END")) {
            free(text);
            peer->ended = true;
            break;
        }
        if (peer->received_count > peer->count) {
            free(text);
            break;
        }
        peer->received[peer->received_count++] = text;
    }
    return NULL;
}

static int s_shout(const rill_record_t *in, rill_buffer_t *out, void *ctx)
{
    if (rill_buffer_append(out, in->data, in->size))
        return -1;
    return rill_buffer_append(out, "!", 1);
}

//  The first case doubles as the usage example: PUSH peer -> zmq source -> map -> zmq sink ->
//  PULL peer, with the end marker travelling along so that the job and the reader both end.
static void
a_pipeline_from_a_push_peer_to_a_pull_peer_delivers_every_record_once_in_order(void **unused)
{
    int in_port, out_port;
    s_peer_t feeder = {.socket = s_bind_tcp(ZMQ_PUSH, &in_port), .count = 5000};
    s_peer_t reader = {.socket = s_bind_tcp(ZMQ_PULL, &out_port), .count = 5000};
    pthread_t feed, drain;
    pthread_create(&feed, NULL, s_feed, &feeder);
    pthread_create(&drain, NULL, s_drain, &reader);

    char in_url[128], out_url[128];
    snprintf(in_url, sizeof in_url, "zmq+tcp://127.0.0.1:%d?mode=connect&type=pull&end=END",
             in_port);
    snprintf(out_url, sizeof out_url, "zmq+tcp://127.0.0.1:%d?type=push&end=END", out_port);
    rill_env_t *env = rill_env_new();
    rill_stream_t *records = rill_env_from_zmq(env, in_url, NULL);
    rill_stream_to_zmq(rill_stream_map(records, s_shout, NULL), out_url, NULL);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    //  Every record was counted by the runtime as it passed the source and the sink.
    const rill_metrics_t *metrics = rill_env_metrics(env);
    assert_non_null(metrics);
    const rill_plan_t *plan = rill_metrics_plan(metrics);
    uint64_t out_of_source = 0, into_sink = 0;
    for (int op = 0; op < rill_plan_operator_count(plan); op++) {
        const rill_plan_operator_t *planned = rill_plan_operator(plan, op);
        for (int i = 0; i < planned->parallelism; i++) {
            rill_subtask_metrics_t counted =
                rill_metrics_subtask(metrics, planned->first_subtask + i);
            if (planned->kind == RILL_OP_SOURCE_ZMQ)
                out_of_source += counted.records_out;
            if (planned->kind == RILL_OP_SINK_ZMQ)
                into_sink += counted.records_in;
        }
    }
    assert_int_equal(out_of_source, 5000);
    assert_int_equal(into_sink, 5000);
    rill_env_destroy(&env);

    pthread_join(feed, NULL);
    pthread_join(drain, NULL);
    assert_true(reader.ended);
    assert_int_equal(reader.received_count, 5000);
    for (int i = 0; i < reader.received_count; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "r%d!", i);
        assert_string_equal(reader.received[i], expected);
        free(reader.received[i]);
    }
    free(reader.received);
    zsock_destroy(&feeder.socket);
    zsock_destroy(&reader.socket);
}

//  ---- bind mode: peers that connected first and queued their messages

static void a_binding_source_takes_what_connected_peers_queued(void **unused)
{
    char endpoint[128], url[192];
    s_ipc(endpoint, sizeof endpoint, "bind");
    zsock_t *peer = zsock_new_push(endpoint + 0);
    //  zsock_new_push connects when the endpoint has no '@' prefix: the rill side binds.
    assert_non_null(peer);
    zsock_set_linger(peer, 1000);
    for (int i = 0; i < 100; i++) {
        char text[16];
        snprintf(text, sizeof text, "m%d", i);
        s_send_text(peer, text);
    }
    s_send_text(peer, "");
    snprintf(url, sizeof url, "zmq+%s?mode=bind&end=", endpoint);
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    s_collect(rill_env_from_zmq(env, url, NULL), results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    s_expect_numbered(results, "m", 100);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    zsock_destroy(&peer);
}

//  At parallelism 2, "%d" gives each subtask its own endpoint; each gets its own end marker.
static void a_binding_source_at_parallelism_2_binds_one_endpoint_per_subtask(void **unused)
{
    char endpoint[128], url[192], one[160];
    s_ipc(endpoint, sizeof endpoint, "p%d");
    zsock_t *peers[2];
    for (int p = 0; p < 2; p++) {
        snprintf(one, sizeof one, endpoint, p);
        peers[p] = zsock_new_push(one);
        assert_non_null(peers[p]);
        zsock_set_linger(peers[p], 1000);
        for (int i = 0; i < 50; i++) {
            char text[16];
            snprintf(text, sizeof text, "%d-%d", p, i);
            s_send_text(peers[p], text);
        }
        s_send_text(peers[p], "STOP");
    }
    snprintf(url, sizeof url, "zmq+%s?mode=bind&end=STOP", endpoint);
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_stream_t *source = rill_stream_parallelism(rill_env_from_zmq(env, url, NULL), 2);
    s_collect(source, results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    assert_int_equal(rill_results_size(results), 100);
    //  Each peer's records arrive once, in order, at the subtask bound to its endpoint.
    int next[2] = {0, 0};
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t record = rill_results_record(results, i);
        int p, n;
        char text[32];
        snprintf(text, sizeof text, "%.*s", (int)record.size, (const char *)record.data);
        assert_int_equal(sscanf(text, "%d-%d", &p, &n), 2);
        assert_int_equal(n, next[p]++);
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    for (int p = 0; p < 2; p++)
        zsock_destroy(&peers[p]);
}

//  ---- PUB/SUB

typedef struct {
    zsock_t *socket; //  an XPUB: it sees the subscription before it publishes
    char subscription[64];
} s_publisher_t;

static void *s_publish(void *arg)
{
    s_publisher_t *publisher = arg;
    zsock_set_rcvtimeo(publisher->socket, S_DEADLINE_MS);
    zframe_t *subscribe = zframe_recv(publisher->socket);
    if (subscribe) {
        snprintf(publisher->subscription, sizeof publisher->subscription, "%.*s",
                 (int)zframe_size(subscribe), (const char *)zframe_data(subscribe));
        zframe_destroy(&subscribe);
    }
    for (int i = 0; i < 20; i++) {
        char text[32];
        snprintf(text, sizeof text, "other/%d", i);
        s_send_text(publisher->socket, text);
        snprintf(text, sizeof text, "t/%d", i);
        s_send_text(publisher->socket, text);
    }
    s_send_text(publisher->socket, "t/END");
    return NULL;
}

static void a_sub_source_receives_only_its_topic(void **unused)
{
    int port;
    s_publisher_t publisher = {.socket = s_bind_tcp(ZMQ_XPUB, &port)};
    pthread_t thread;
    pthread_create(&thread, NULL, s_publish, &publisher);
    char url[160];
    snprintf(url, sizeof url, "zmq+tcp://127.0.0.1:%d?type=sub&topic=t/&end=t/END", port);
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 4); //  a SUB source still runs at parallelism 1
    rill_results_t *results = rill_results_new();
    s_collect(rill_env_from_zmq(env, url, NULL), results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    pthread_join(thread, NULL);
    assert_memory_equal(publisher.subscription, "\001t/", 4);
    s_expect_numbered(results, "t/", 20);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    zsock_destroy(&publisher.socket);
}

static void a_sub_source_at_parallelism_2_is_refused(void **unused)
{
    rill_env_t *env = rill_env_new();
    rill_stream_t *source = rill_env_from_zmq(env, "zmq+tcp://127.0.0.1:9?type=sub", NULL);
    rill_stream_discard(rill_stream_parallelism(source, 2));
    s_expect_failure(env, "a SUB source runs at parallelism 1");
    rill_env_destroy(&env);
}

static int s_number(uint64_t index, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "n%llu", (unsigned long long)index);
    return rill_collector_emit(out, text, (size_t)size, (int64_t)index * 1000);
}

//  A PUB sink told to wait for one subscriber loses nothing to the slow joiner; the
//  timestamped form carries each record's time.
static void a_pub_sink_waits_for_its_subscriber_and_sends_timestamped_records(void **unused)
{
    char endpoint[128], url[192];
    s_ipc(endpoint, sizeof endpoint, "pub");
    zsock_t *subscriber = zsock_new(ZMQ_SUB);
    zsock_set_linger(subscriber, 0);
    zsock_set_subscribe(subscriber, "");
    assert_int_equal(zsock_connect(subscriber, "%s", endpoint), 0);
    snprintf(url, sizeof url, "zmq+%s?mode=bind&type=pub&subscribers=1&timestamps=1&end=END",
             endpoint);
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 1);
    rill_stream_to_zmq(rill_env_from_generator(env, s_number, NULL, 200), url, NULL);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    rill_env_destroy(&env);
    zsock_set_rcvtimeo(subscriber, S_DEADLINE_MS);
    for (int i = 0; i < 200; i++) {
        zmsg_t *message = zmsg_recv(subscriber);
        assert_non_null(message);
        assert_int_equal(zmsg_size(message), 2);
        zframe_t *time = zmsg_first(message);
        assert_int_equal(zframe_size(time), 8);
        int64_t value = 0;
        for (int b = 0; b < 8; b++)
            value = value << 8 | zframe_data(time)[b];
        assert_int_equal(value, i * 1000);
        char expected[32];
        snprintf(expected, sizeof expected, "n%d", i);
        assert_true(zframe_streq(zmsg_next(message), expected));
        zmsg_destroy(&message);
    }
    char *end = s_receive(subscriber);
    assert_string_equal(end, "END");
    free(end);
    zsock_destroy(&subscriber);
}

//  ---- event time from the timestamped form

static int s_record_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    *timestamp = in->timestamp;
    return 0;
}

static void timestamped_messages_drive_an_event_time_window(void **unused)
{
    char endpoint[128], url[192];
    s_ipc(endpoint, sizeof endpoint, "time");
    zsock_t *peer = zsock_new_push(endpoint);
    assert_non_null(peer);
    zsock_set_linger(peer, 1000);
    static const struct {
        long value;
        int64_t time;
    } events[] = {{1, 1}, {2, 12}, {4, 3}, {8, 25}, {16, 9}, {32, 22}};
    for (size_t i = 0; i < 6; i++) {
        char text[32];
        snprintf(text, sizeof text, "a\t%ld", events[i].value);
        s_send_timed(peer, events[i].time, text);
    }
    s_send_text(peer, "END");
    snprintf(url, sizeof url, "zmq+%s?mode=bind&timestamps=1&end=END", endpoint);
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new(), *late = rill_results_new();
    rill_watermarks_t strategy = {.out_of_orderness = 5};
    rill_stream_t *timed = rill_stream_assign_timestamps(rill_env_from_zmq(env, url, NULL),
                                                         s_record_time, NULL, &strategy);
    rill_window_t window = rill_window_tumbling(10);
    rill_stream_t *sums = rill_stream_window_builtin(
        rill_stream_key_by(timed, rill_key_first_field, NULL), &window, RILL_WINDOW_AGG_SUM);
    s_collect(sums, results);
    s_collect(rill_stream_late_records(sums), late);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    //  3 comes behind 12 but before the watermark passes 9; 9 comes after 25 moved it to 19.
    const char *expected[] = {"0\t10\ta\t5", "10\t20\ta\t2", "20\t30\ta\t40"};
    test_expect_records(results, expected, 3);
    const char *dropped[] = {"a\t16"};
    test_expect_records(late, dropped, 1);
    rill_results_destroy(&results);
    rill_results_destroy(&late);
    rill_env_destroy(&env);
    zsock_destroy(&peer);
}

static void a_message_not_in_the_timestamped_form_fails_the_job_saying_why(void **unused)
{
    char endpoint[128], url[192];
    s_ipc(endpoint, sizeof endpoint, "badtime");
    zsock_t *peer = zsock_new_push(endpoint);
    zsock_set_linger(peer, 1000);
    s_send_text(peer, "no time here");
    snprintf(url, sizeof url, "zmq+%s?mode=bind&timestamps=1&end=END", endpoint);
    rill_env_t *env = rill_env_new();
    rill_stream_discard(rill_env_from_zmq(env, url, NULL));
    s_expect_failure(env, "is not [8-byte big-endian time][payload]");
    rill_env_destroy(&env);
    zsock_destroy(&peer);
}

//  ---- CURVE

static void
curve_delivers_from_a_client_with_the_server_key_and_nothing_from_a_wrong_one(void **unused)
{
    char dir[] = "/tmp/rill-test-curve-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert_path[128], secret_path[160];
    snprintf(cert_path, sizeof cert_path, "%s/server.cert", dir);
    snprintf(secret_path, sizeof secret_path, "%s_secret", cert_path);
    zcert_t *server = zcert_new(), *impostor = zcert_new();
    assert_int_equal(zcert_save(server, cert_path), 0);

    char endpoint[128], url[512];
    s_ipc(endpoint, sizeof endpoint, "curve");
    //  A client that trusts another server key: its handshake fails, nothing gets through.
    zsock_t *wrong = zsock_new(ZMQ_PUSH);
    zsock_set_linger(wrong, 0);
    zcert_t *client = zcert_new();
    zcert_apply(client, wrong);
    zsock_set_curve_serverkey(wrong, zcert_public_txt(impostor));
    assert_int_equal(zsock_connect(wrong, "%s", endpoint), 0);
    s_send_text(wrong, "intruder");
    s_send_text(wrong, "END");
    //  A client with the server's public key.
    zsock_t *right = zsock_new(ZMQ_PUSH);
    zsock_set_linger(right, 1000);
    zcert_apply(client, right);
    zsock_set_curve_serverkey(right, zcert_public_txt(server));
    assert_int_equal(zsock_connect(right, "%s", endpoint), 0);
    for (int i = 0; i < 10; i++) {
        char text[16];
        snprintf(text, sizeof text, "s%d", i);
        s_send_text(right, text);
    }
    s_send_text(right, "END");

    snprintf(url, sizeof url, "zmq+%s?mode=bind&end=END&curve_cert=%s", endpoint, secret_path);
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    s_collect(rill_env_from_zmq(env, url, NULL), results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    s_expect_numbered(results, "s", 10);
    rill_results_destroy(&results);
    rill_env_destroy(&env);

    zsock_destroy(&wrong);
    zsock_destroy(&right);
    zcert_destroy(&client);
    zcert_destroy(&server);
    zcert_destroy(&impostor);
    unlink(cert_path);
    unlink(secret_path);
    rmdir(dir);
}

//  A sink as CURVE client (the options struct, with the key in Z85) of a CURVE server peer.
static void a_curve_client_sink_reaches_a_curve_server_peer(void **unused)
{
    zcert_t *server = zcert_new();
    zsock_t *peer = zsock_new(ZMQ_PULL);
    zsock_set_linger(peer, 0);
    zcert_apply(server, peer);
    zsock_set_curve_server(peer, 1);
    int port = zsock_bind(peer, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    rill_zmq_options_t options = {.type = RILL_ZMQ_PUSH, .has_end = true, .end = "END"};
    snprintf(options.endpoint, sizeof options.endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(options.curve_server_key, sizeof options.curve_server_key, "%s",
             zcert_public_txt(server));
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 1);
    rill_stream_to_zmq(rill_env_from_generator(env, s_number, NULL, 50), NULL, &options);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    rill_env_destroy(&env);
    for (int i = 0; i < 50; i++) {
        char *text = s_receive(peer), expected[16];
        snprintf(expected, sizeof expected, "n%d", i);
        assert_string_equal(text, expected);
        free(text);
    }
    char *end = s_receive(peer);
    assert_string_equal(end, "END");
    free(end);
    zsock_destroy(&peer);
    zcert_destroy(&server);
}

//  ---- the TCP text source

typedef struct {
    int listener;
    const char *text;
} s_server_t;

//  Listens on an ephemeral loopback port; *port tells which.
static int s_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    assert_int_equal(bind(fd, (struct sockaddr *)&address, size), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &size), 0);
    *port = ntohs(address.sin_port);
    return fd;
}

//  Accepts one connection, writes the text, closes.
static void *s_serve(void *arg)
{
    s_server_t *server = arg;
    int client = accept(server->listener, NULL, NULL);
    if (client < 0)
        return NULL;
    size_t left = strlen(server->text);
    const char *at = server->text;
    while (left) {
        ssize_t sent = send(client, at, left, MSG_NOSIGNAL);
        if (sent <= 0)
            break;
        at += sent;
        left -= (size_t)sent;
    }
    close(client);
    return NULL;
}

static void a_tcp_text_source_reads_lines_until_the_server_closes(void **unused)
{
    int port;
    s_server_t server = {.listener = s_listen(&port), .text = "alpha\nbeta\r\n\ngamma"};
    assert_int_equal(listen(server.listener, 1), 0);
    pthread_t thread;
    pthread_create(&thread, NULL, s_serve, &server);
    rill_env_t *env = rill_env_new();
    rill_env_set_parallelism(env, 3); //  the source still runs at 1
    rill_results_t *results = rill_results_new();
    s_collect(rill_env_from_socket_text(env, "127.0.0.1", port), results);
    if (rill_env_execute(env))
        fail_msg("job failed: %s", rill_env_error(env));
    pthread_join(thread, NULL);
    const char *expected[] = {"alpha", "beta", "", "gamma"};
    test_expect_records(results, expected, 4);
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    close(server.listener);
}

static void a_tcp_text_line_longer_than_the_maximum_fails_the_job(void **unused)
{
    int port;
    s_server_t server = {.listener = s_listen(&port), .text = "short\n0123456789abcdef\nx\n"};
    assert_int_equal(listen(server.listener, 1), 0);
    pthread_t thread;
    pthread_create(&thread, NULL, s_serve, &server);
    rill_env_t *env = rill_env_new();
    rill_env_set_max_record_size(env, 8);
    rill_stream_discard(rill_env_from_socket_text(env, "127.0.0.1", port));
    s_expect_failure(env, "a line is longer than the maximum record size of 8 bytes");
    pthread_join(thread, NULL);
    rill_env_destroy(&env);
    close(server.listener);
}

static void a_tcp_text_source_says_connection_refused_and_unknown_host(void **unused)
{
    int port;
    int reserved = s_listen(&port); //  bound, never listening: a connect is refused
    rill_env_t *env = rill_env_new();
    rill_stream_discard(rill_env_from_socket_text(env, "127.0.0.1", port));
    s_expect_failure(env, "cannot connect: Connection refused");
    rill_env_destroy(&env);
    close(reserved);

    env = rill_env_new();
    rill_stream_discard(rill_env_from_socket_text(env, "no-such-host.invalid", 80));
    s_expect_failure(env, "cannot resolve the host");
    rill_env_destroy(&env);
}

//  ---- URLs

static void bad_urls_are_refused_with_a_message_naming_the_fault(void **unused)
{
    static const struct {
        const char *url;
        const char *message;
    } cases[] = {
        {"tcp://127.0.0.1:5555", "is not a ZeroMQ URL"},
        {"zmq+tcp://", "has no address"},
        {"zmq+tcp://127.0.0.1", "has no port"},
        {"zmq+tcp://:5555", "has no host"},
        {"zmq+tcp://127.0.0.1:", "has no port"},
        {"zmq+tcp://127.0.0.1:http", "is not a number"},
        {"zmq+tcp://127.0.0.1:70000", "out of range"},
        {"zmq+ipc://relative", "an ipc address is a path"},
        {"zmq+tcp://h:1?mode=listen", "mode 'listen' is neither connect nor bind"},
        {"zmq+tcp://h:1?type=dealer", "type 'dealer' is none of pull, sub, push, pub"},
        {"zmq+tcp://h:1?colour=red", "unknown parameter 'colour'"},
        {"zmq+tcp://h:1?hwm=lots", "'lots' is not a valid value of hwm"},
        {"zmq+tcp://h:1?topic=x", "a topic needs type=sub"},
        {"zmq+tcp://h:1?end=%zz", "the value of 'end' is malformed"},
        {"zmq+tcp://h:1?=x", "a parameter has no name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rill_zmq_options_t options;
        char error[300] = "";
        if (rill_zmq_url_parse(cases[i].url, &options, error, sizeof error) == 0)
            fail_msg("'%s' was accepted", cases[i].url);
        if (!strstr(error, cases[i].message))
            fail_msg("'%s': error '%s' does not say '%s'", cases[i].url, error, cases[i].message);
    }
    char host[64], error[300] = "";
    int port;
    assert_int_equal(rill_socket_text_url_parse("tcp://example.org:9000", host, sizeof host, &port,
                                                error, sizeof error),
                     0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 9000);
    assert_int_equal(
        rill_socket_text_url_parse("tcp://[::1]:7", host, sizeof host, &port, error, sizeof error),
        0);
    assert_string_equal(host, "::1");
    assert_int_equal(
        rill_socket_text_url_parse("udp://x:1", host, sizeof host, &port, error, sizeof error), -1);
    assert_non_null(strstr(error, "expected tcp://HOST:PORT"));
    assert_int_equal(
        rill_socket_text_url_parse("tcp://x:0", host, sizeof host, &port, error, sizeof error), -1);
    assert_non_null(strstr(error, "out of range"));
}

static void a_url_parses_into_options_with_escaped_values(void **unused)
{
    rill_zmq_options_t options;
    char error[300];
    assert_int_equal(rill_zmq_url_parse("zmq+tcp://10.0.0.1:7000?mode=bind&type=sub&topic=a%26b"
                                        "&end=&hwm=50&linger=200&timestamps=0",
                                        &options, error, sizeof error),
                     0);
    assert_string_equal(options.endpoint, "tcp://10.0.0.1:7000");
    assert_true(options.bind);
    assert_int_equal(options.type, RILL_ZMQ_SUB);
    assert_string_equal(options.topic, "a&b");
    assert_true(options.has_end);
    assert_string_equal(options.end, "");
    assert_int_equal(options.hwm, 50);
    assert_int_equal(options.linger_ms, 200);
    assert_false(options.timestamped);
    assert_int_equal(rill_zmq_url_parse("zmq+ipc:///tmp/x-%d.sock", &options, error, sizeof error),
                     0);
    assert_string_equal(options.endpoint, "ipc:///tmp/x-%d.sock");
    assert_false(options.bind);
}

static void the_stream_api_refuses_a_wrong_direction_and_a_bad_url(void **unused)
{
    rill_env_t *env = rill_env_new();
    assert_null(rill_env_from_zmq(env, "zmq+tcp://h:1?type=push", NULL));
    assert_non_null(strstr(rill_env_error(env), "cannot receive"));
    rill_env_destroy(&env);
    env = rill_env_new();
    rill_stream_t *numbers = rill_env_from_generator(env, s_number, NULL, 1);
    assert_null(rill_stream_to_zmq(numbers, "zmq+tcp://h:1?type=sub", NULL));
    assert_non_null(strstr(rill_env_error(env), "cannot send"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_null(rill_env_from_zmq(env, "zmq+tcp://h:1?type=sub&topic=t/&end=END", NULL));
    assert_non_null(strstr(rill_env_error(env), "the end marker does not begin with the topic"));
    rill_env_destroy(&env);
    env = rill_env_new();
    assert_null(rill_env_from_zmq(env, "zmq+tcp://h", NULL));
    if (!strstr(rill_env_error(env), "zmq source: 'h' has no port: expected HOST:PORT"))
        fail_msg("error: %s", rill_env_error(env));
    rill_env_destroy(&env);
}

static void a_checkpoint_of_a_job_with_a_zmq_source_is_refused(void **unused)
{
    char endpoint[128], url[192], dir[] = "/tmp/rill-test-zmq-chk-XXXXXX";
    assert_non_null(mkdtemp(dir));
    s_ipc(endpoint, sizeof endpoint, "chk");
    snprintf(url, sizeof url, "zmq+%s?mode=bind", endpoint);
    rill_env_t *env = rill_env_new();
    rill_env_enable_checkpointing(env, 10, dir);
    rill_stream_discard(rill_env_from_zmq(env, url, NULL));
    //  No peer ever sends: the source waits until the first checkpoint is taken and refused.
    s_expect_failure(env, "cannot rewind");
    rill_env_destroy(&env);
    char command[160];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]); //  one case by name, when debugging
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_pipeline_from_a_push_peer_to_a_pull_peer_delivers_every_record_once_in_order),
        cmocka_unit_test(a_binding_source_takes_what_connected_peers_queued),
        cmocka_unit_test(a_binding_source_at_parallelism_2_binds_one_endpoint_per_subtask),
        cmocka_unit_test(a_sub_source_receives_only_its_topic),
        cmocka_unit_test(a_sub_source_at_parallelism_2_is_refused),
        cmocka_unit_test(a_pub_sink_waits_for_its_subscriber_and_sends_timestamped_records),
        cmocka_unit_test(timestamped_messages_drive_an_event_time_window),
        cmocka_unit_test(a_message_not_in_the_timestamped_form_fails_the_job_saying_why),
        cmocka_unit_test(
            curve_delivers_from_a_client_with_the_server_key_and_nothing_from_a_wrong_one),
        cmocka_unit_test(a_curve_client_sink_reaches_a_curve_server_peer),
        cmocka_unit_test(a_tcp_text_source_reads_lines_until_the_server_closes),
        cmocka_unit_test(a_tcp_text_line_longer_than_the_maximum_fails_the_job),
        cmocka_unit_test(a_tcp_text_source_says_connection_refused_and_unknown_host),
        cmocka_unit_test(bad_urls_are_refused_with_a_message_naming_the_fault),
        cmocka_unit_test(a_url_parses_into_options_with_escaped_values),
        cmocka_unit_test(the_stream_api_refuses_a_wrong_direction_and_a_bad_url),
        cmocka_unit_test(a_checkpoint_of_a_job_with_a_zmq_source_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
