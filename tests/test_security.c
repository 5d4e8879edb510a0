/*  test_security.c: CURVE on rill's tcp sockets (runtime/net/rill_security). The cluster
    certificate is written with the modes that keep it private and is never replaced by
    accident; a process refuses to start its authenticator without the secret key. Over real
    tcp sockets, for each pattern rill uses (the data channel's DEALER, the monitor's PUB, the
    control plane's ROUTER), a client holding the cluster key talks both ways, while a client
    with another key pair or in plain text gets nothing through: the server never hears it,
    even as an admitted client on the same socket is heard. libzmq's socket monitor tells why
    each was refused. One authenticator per process (zauth binds the process's ZAP endpoint):
    each case starts its own and stops it before the next. */
#include "rill_security.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  An admitted message arrives within this; a refused one must not arrive within the window.
#define S_ADMIT_TIMEOUT_MS 5000
#define S_REFUSAL_WINDOW_MS 1500
//  How a ROUTER client names the server it connects to, so it can address it.
#define S_SERVER_ID "server"

//  A key directory holding a fresh cluster certificate, and the authenticator admitting it.
typedef struct {
    char dir[64];
    rill_security_t *security;
    zcert_t *cert;   //  the public certificate, as a stranger knows the server's key
    int watch_count; //  monitors started, to name each one's endpoint
} s_cluster_t;

static void s_cluster_start(s_cluster_t *self)
{
    memset(self, 0, sizeof *self);
    snprintf(self->dir, sizeof self->dir, "/tmp/rill-keys-XXXXXX");
    assert_non_null(mkdtemp(self->dir));
    char error[256] = "", path[128];
    if (rill_security_make_keys(self->dir, false, error, sizeof error))
        fail_msg("make_keys: %s", error);
    self->security = rill_security_new(self->dir, error, sizeof error);
    if (!self->security)
        fail_msg("rill_security_new: %s", error);
    snprintf(path, sizeof path, "%s/%s", self->dir, RILL_SECURITY_CERT);
    self->cert = zcert_load(path);
    assert_non_null(self->cert);
}

static void s_cluster_stop(s_cluster_t *self)
{
    rill_security_destroy(&self->security);
    assert_null(self->security);
    rill_security_destroy(&self->security); //  harmless
    zcert_destroy(&self->cert);
    test_remove_tree(self->dir);
}

//  The credentials a connecting client presents.
typedef enum {
    S_CLUSTER_KEY, //  the cluster's certificate (rill_security_client)
    S_OTHER_KEY,   //  a key pair of its own, not in the key directory
    S_PLAIN_TEXT,  //  no CURVE at all
} s_credentials_t;

static const char *const s_credentials_names[] = {"the cluster key", "another key", "plain text"};

//  One socket pattern rill uses on tcp: the server binds, the clients connect.
typedef struct {
    const char *name;
    int server_type;
    int client_type;
} s_pattern_t;

static const s_pattern_t s_data_channel = {"data channel DEALER <- DEALER", ZMQ_DEALER, ZMQ_DEALER};
static const s_pattern_t s_data_channel_router = {"data channel DEALER <- ROUTER", ZMQ_DEALER,
                                                  ZMQ_ROUTER};
static const s_pattern_t s_monitor = {"monitor PUB -> SUB", ZMQ_PUB, ZMQ_SUB};
static const s_pattern_t s_control_plane = {"control plane ROUTER <- DEALER", ZMQ_ROUTER,
                                            ZMQ_DEALER};

//  A CURVE server of the cluster bound to a free port on the loopback; its endpoint in endpoint.
static zsock_t *s_server_new(s_cluster_t *cluster, int type, char *endpoint, size_t size)
{
    zsock_t *server = zsock_new(type);
    assert_non_null(server);
    zsock_set_linger(server, 0);
    zsock_set_sndtimeo(server, S_ADMIT_TIMEOUT_MS);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory(server, 1); //  a reply to a peer that is gone fails loudly
    rill_security_server(cluster->security, server);
    assert_true(zsock_bind(server, "tcp://127.0.0.1:*") > 0);
    assert_non_null(zsock_endpoint(server));
    snprintf(endpoint, size, "%s", zsock_endpoint(server));
    return server;
}

static zsock_t *s_client_new(s_cluster_t *cluster, int type, s_credentials_t credentials,
                             const char *endpoint)
{
    zsock_t *client = zsock_new(type);
    assert_non_null(client);
    zsock_set_linger(client, 0);
    zsock_set_sndtimeo(client, S_ADMIT_TIMEOUT_MS);
    if (credentials == S_CLUSTER_KEY)
        rill_security_client(cluster->security, client);
    else if (credentials == S_OTHER_KEY) {
        //  Knows the server's public key (it is no secret) but holds a key pair of its own.
        zcert_t *stranger = zcert_new();
        assert_non_null(stranger);
        zcert_apply(stranger, client);
        zsock_set_curve_serverkey(client, zcert_public_txt(cluster->cert));
        zcert_destroy(&stranger);
    }
    if (type == ZMQ_SUB)
        zsock_set_subscribe(client, "");
    if (type == ZMQ_ROUTER)
        zsock_set_connect_rid(client, S_SERVER_ID);
    assert_int_equal(zsock_connect(client, "%s", endpoint), 0);
    return client;
}

//  Sends text from a client to the server it connected to (queued until the connection is
//  up: a connecting socket has its pipe at once).
static void s_client_send(zsock_t *client, const char *text)
{
    if (zsock_type(client) == ZMQ_ROUTER)
        assert_int_equal(zstr_sendm(client, S_SERVER_ID), 0);
    assert_int_equal(zstr_send(client, text), 0);
}

//  The next message's text on socket within timeout_ms (caller frees), or NULL. A ROUTER's
//  routing frame goes to *sender_p (when not NULL) for the reply.
static char *s_receive(zsock_t *socket, int timeout_ms, zframe_t **sender_p)
{
    zsock_set_rcvtimeo(socket, timeout_ms);
    zmsg_t *message = zmsg_recv(socket);
    if (!message)
        return NULL;
    if (zsock_type(socket) == ZMQ_ROUTER) {
        zframe_t *sender = zmsg_pop(message);
        if (sender_p)
            *sender_p = sender;
        else
            zframe_destroy(&sender);
    }
    char *text = zmsg_popstr(message);
    zmsg_destroy(&message);
    return text;
}

//  Publishes on a PUB server until the subscriber receives (true) or timeout_ms passes
//  (false): PUB drops what it sends before a subscriber's connection is up, so once is not
//  enough. Whatever stranger (may be NULL) receives meanwhile fails the test.
static bool s_publish_until_heard(zsock_t *server, zsock_t *subscriber, zsock_t *stranger,
                                  int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    bool heard = false;
    while (test_now_ms() < deadline && !heard) {
        assert_int_equal(zstr_send(server, "tick"), 0);
        char *text = s_receive(subscriber, 20, NULL);
        heard = text && strcmp(text, "tick") == 0;
        zstr_free(&text);
        if (stranger && (text = s_receive(stranger, 0, NULL)))
            fail_msg("a refused subscriber received '%s'", text);
    }
    return heard;
}

//  ---- the handshakes, as libzmq's socket monitor reports them on the server

//  A PAIR socket receiving server's handshake events. Each monitor gets an endpoint name of
//  its own: a stopped one's name stays taken until libzmq has closed it in the background.
static zsock_t *s_watch_new(s_cluster_t *cluster, zsock_t *server)
{
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "inproc://test-security-watch%s-%d", cluster->dir,
             cluster->watch_count++);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    assert_int_equal(zmq_socket_monitor(zsock_resolve(server), endpoint, events), 0);
    zsock_t *watch = zsock_new(ZMQ_PAIR);
    assert_non_null(watch);
    zsock_set_linger(watch, 0);
    assert_int_equal(zsock_connect(watch, "%s", endpoint), 0);
    return watch;
}

//  Stops the monitor before its socket goes, so no monitor socket outlives the test.
static void s_watch_destroy(zsock_t **watch_p, zsock_t *server)
{
    assert_int_equal(zmq_socket_monitor(zsock_resolve(server), NULL, 0), 0);
    zsock_destroy(watch_p);
}

//  Whether the watch reported event (reading what queued, waiting up to timeout_ms for more).
static bool s_watch_saw(zsock_t *watch, uint16_t event, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    bool seen = false;
    while (!seen) {
        int64_t left = deadline - test_now_ms();
        zsock_set_rcvtimeo(watch, left > 0 ? (int)left : 0);
        zmsg_t *report = zmsg_recv(watch);
        if (!report)
            break;
        //  The first frame: the event (16 bits) and its value (32 bits), in host order.
        zframe_t *first = zmsg_first(report);
        uint16_t reported = 0;
        if (zframe_size(first) >= sizeof reported)
            memcpy(&reported, zframe_data(first), sizeof reported);
        seen = reported == event;
        zmsg_destroy(&report);
    }
    return seen;
}

//  ---- what each pattern must show

//  A client with the cluster key: a message reaches the server and the server's reply
//  reaches the client (PUB: what the server publishes reaches the subscriber).
static void s_expect_conversation(s_cluster_t *cluster, const s_pattern_t *pattern)
{
    char endpoint[256];
    zsock_t *server = s_server_new(cluster, pattern->server_type, endpoint, sizeof endpoint);
    zsock_t *client = s_client_new(cluster, pattern->client_type, S_CLUSTER_KEY, endpoint);
    if (pattern->server_type == ZMQ_PUB) {
        if (!s_publish_until_heard(server, client, NULL, S_ADMIT_TIMEOUT_MS))
            fail_msg("%s: the subscriber with the cluster key received nothing", pattern->name);
    } else {
        s_client_send(client, "hello from a member");
        zframe_t *sender = NULL;
        char *text = s_receive(server, S_ADMIT_TIMEOUT_MS, &sender);
        if (!text || strcmp(text, "hello from a member") != 0)
            fail_msg("%s: the server received '%s'", pattern->name, text ? text : "nothing");
        zstr_free(&text);
        if (sender)
            assert_int_equal(zframe_send(&sender, server, ZFRAME_MORE), 0);
        assert_int_equal(zstr_send(server, "welcome"), 0);
        zframe_t *replier = NULL;
        text = s_receive(client, S_ADMIT_TIMEOUT_MS, &replier);
        if (!text || strcmp(text, "welcome") != 0)
            fail_msg("%s: the client received '%s'", pattern->name, text ? text : "nothing");
        zstr_free(&text);
        if (pattern->client_type == ZMQ_ROUTER)
            assert_true(replier && zframe_streq(replier, S_SERVER_ID));
        zframe_destroy(&replier);
    }
    zsock_destroy(&client);
    zsock_destroy(&server);
}

//  A client presenting credentials gets nothing through for the whole window; then a member
//  joins the same server and is heard (so the server was up all along), and the stranger
//  still is not. The server's monitor must report the refusal as event.
static void s_expect_refusal(s_cluster_t *cluster, const s_pattern_t *pattern,
                             s_credentials_t credentials, uint16_t event)
{
    const char *who = s_credentials_names[credentials];
    char endpoint[256];
    zsock_t *server = s_server_new(cluster, pattern->server_type, endpoint, sizeof endpoint);
    zsock_t *watch = s_watch_new(cluster, server);
    zsock_t *stranger = s_client_new(cluster, pattern->client_type, credentials, endpoint);
    if (pattern->server_type == ZMQ_PUB) {
        if (s_publish_until_heard(server, stranger, NULL, S_REFUSAL_WINDOW_MS))
            fail_msg("%s: a subscriber with %s received", pattern->name, who);
    } else {
        s_client_send(stranger, "hello from a stranger");
        char *text = s_receive(server, S_REFUSAL_WINDOW_MS, NULL);
        if (text)
            fail_msg("%s: the server received '%s' from a client with %s", pattern->name, text,
                     who);
        if (pattern->server_type == ZMQ_DEALER) {
            //  The server has no peer at all: what it sends cannot leave.
            zsock_set_sndtimeo(server, 100);
            assert_int_equal(zstr_send(server, "for nobody"), -1);
            zsock_set_sndtimeo(server, S_ADMIT_TIMEOUT_MS);
        }
    }
    if (!s_watch_saw(watch, event, S_ADMIT_TIMEOUT_MS))
        fail_msg("%s: the server's monitor never reported the refusal of %s", pattern->name, who);

    zsock_t *member = s_client_new(cluster, pattern->client_type, S_CLUSTER_KEY, endpoint);
    if (pattern->server_type == ZMQ_PUB) {
        if (!s_publish_until_heard(server, member, stranger, S_ADMIT_TIMEOUT_MS))
            fail_msg("%s: the member subscribed beside %s received nothing", pattern->name, who);
    } else {
        s_client_send(member, "hello from a member");
        char *text = s_receive(server, S_ADMIT_TIMEOUT_MS, NULL);
        if (!text || strcmp(text, "hello from a member") != 0)
            fail_msg("%s: beside %s, the server received '%s'", pattern->name, who,
                     text ? text : "nothing");
        zstr_free(&text);
    }
    zsock_destroy(&member);
    zsock_destroy(&stranger);
    s_watch_destroy(&watch, server);
    zsock_destroy(&server);
}

//  Each pattern, with each kind of client.
static void s_expect_pattern_secured(s_cluster_t *cluster, const s_pattern_t *pattern)
{
    s_expect_conversation(cluster, pattern);
    //  The authenticator finds the key in no certificate of the directory: ZAP says 400.
    s_expect_refusal(cluster, pattern, S_OTHER_KEY, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    //  A NULL-mechanism greeting to a CURVE server: the handshake fails before ZAP.
    s_expect_refusal(cluster, pattern, S_PLAIN_TEXT, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
}

//  The pattern cases get their cluster from a fixture: cmocka runs the teardown after a
//  failed case too, so its authenticator never outlives it (a second one could not start).
static int s_cluster_setup(void **state)
{
    s_cluster_t *cluster = malloc(sizeof(s_cluster_t));
    assert_non_null(cluster);
    s_cluster_start(cluster);
    *state = cluster;
    return 0;
}

static int s_cluster_teardown(void **state)
{
    s_cluster_stop(*state);
    free(*state);
    return 0;
}

//  ---- the cases

//  The usage: keys made once (`rill keys DIR`), one authenticator per process, then each tcp
//  socket is a server before bind or a client before connect. (*state holds the authenticator
//  for s_security_teardown, should the case fail half-way.)
static void a_dealer_pair_with_the_cluster_key_talks_both_ways(void **state)
{
    char dir[] = "/tmp/rill-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char error[256] = "";
    assert_int_equal(rill_security_make_keys(dir, false, error, sizeof error), 0);
    rill_security_t *security = rill_security_new(dir, error, sizeof error);
    assert_non_null(security);
    *state = security;

    zsock_t *server = zsock_new(ZMQ_DEALER);
    rill_security_server(security, server);
    assert_true(zsock_bind(server, "tcp://127.0.0.1:*") > 0);
    zsock_t *client = zsock_new(ZMQ_DEALER);
    rill_security_client(security, client);
    assert_int_equal(zsock_connect(client, "%s", zsock_endpoint(server)), 0);
    zsock_set_rcvtimeo(server, S_ADMIT_TIMEOUT_MS);
    zsock_set_rcvtimeo(client, S_ADMIT_TIMEOUT_MS);

    assert_int_equal(zstr_send(client, "ping"), 0);
    char *text = zstr_recv(server);
    assert_non_null(text);
    assert_string_equal(text, "ping");
    zstr_free(&text);
    assert_int_equal(zstr_send(server, "pong"), 0);
    text = zstr_recv(client);
    assert_non_null(text);
    assert_string_equal(text, "pong");
    zstr_free(&text);

    zsock_destroy(&client);
    zsock_destroy(&server);
    rill_security_destroy(&security);
    *state = NULL;
    test_remove_tree(dir);
}

//  Stops the authenticator a failed case left in *state, so the next one can start its own.
static int s_security_teardown(void **state)
{
    rill_security_t *security = *state;
    rill_security_destroy(&security);
    return 0;
}

//  The file mode of path (permission bits), or -1 when it does not exist.
static int s_mode(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", dir, name ? "/" : "", name ? name : "");
    struct stat info;
    return stat(path, &info) == 0 ? (int)(info.st_mode & 07777) : -1;
}

static char *s_key_file(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return test_read_file(path);
}

static void make_keys_writes_a_public_and_a_private_file(void **state)
{
    char base[] = "/tmp/rill-keys-XXXXXX", dir[64], error[256] = "";
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/cluster", base);
    assert_int_equal(rill_security_make_keys(dir, false, error, sizeof error), 0);
    assert_int_equal(s_mode(dir, NULL), 0700);
    assert_int_equal(s_mode(dir, RILL_SECURITY_CERT), 0644);
    assert_int_equal(s_mode(dir, RILL_SECURITY_SECRET), 0600);
    //  The public file must not carry the secret; the secret file holds both keys.
    char *public_text = s_key_file(dir, RILL_SECURITY_CERT);
    char *secret_text = s_key_file(dir, RILL_SECURITY_SECRET);
    assert_non_null(strstr(public_text, "public-key"));
    assert_null(strstr(public_text, "secret-key"));
    assert_non_null(strstr(secret_text, "public-key"));
    assert_non_null(strstr(secret_text, "secret-key"));
    free(public_text);
    free(secret_text);
    test_remove_tree(base);
}

static void make_keys_replaces_a_certificate_only_when_forced(void **state)
{
    char dir[] = "/tmp/rill-keys-XXXXXX", error[256] = "";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(rill_security_make_keys(dir, false, error, sizeof error), 0);
    char *first = s_key_file(dir, RILL_SECURITY_CERT);

    assert_int_equal(rill_security_make_keys(dir, false, error, sizeof error), -1);
    assert_non_null(strstr(error, "force"));
    assert_non_null(strstr(error, dir));
    char *kept = s_key_file(dir, RILL_SECURITY_CERT);
    assert_string_equal(kept, first);

    assert_int_equal(rill_security_make_keys(dir, true, error, sizeof error), 0);
    char *replaced = s_key_file(dir, RILL_SECURITY_CERT);
    assert_string_not_equal(replaced, first);
    assert_int_equal(s_mode(dir, RILL_SECURITY_CERT), 0644);
    assert_int_equal(s_mode(dir, RILL_SECURITY_SECRET), 0600);
    free(first);
    free(kept);
    free(replaced);
    test_remove_tree(dir);
}

//  rill_security_new on dir must fail with a message holding expected.
static void s_expect_no_security(const char *dir, const char *expected)
{
    char error[256] = "";
    rill_security_t *security = rill_security_new(dir, error, sizeof error);
    if (security) {
        rill_security_destroy(&security);
        fail_msg("'%s' was accepted, expected an error with '%s'", dir, expected);
    }
    if (!strstr(error, expected))
        fail_msg("error '%s' does not say '%s'", error, expected);
}

static void security_refuses_a_directory_without_the_secret_key(void **state)
{
    char dir[] = "/tmp/rill-keys-XXXXXX", error[256] = "", path[128], public_path[128];
    assert_non_null(mkdtemp(dir));
    s_expect_no_security("/nonexistent/rill-keys", "no cluster certificate in '/nonexistent");
    s_expect_no_security(dir, "make one with rill keys"); //  empty
    //  Only the public certificate, as a host that was given the wrong file has.
    assert_int_equal(rill_security_make_keys(dir, false, error, sizeof error), 0);
    snprintf(path, sizeof path, "%s/%s", dir, RILL_SECURITY_SECRET);
    assert_int_equal(unlink(path), 0);
    s_expect_no_security(dir, "no cluster certificate in");
    //  The public certificate under the secret's name: it loads, with no secret key in it.
    snprintf(public_path, sizeof public_path, "%s/%s", dir, RILL_SECURITY_CERT);
    char *public_text = test_read_file(public_path);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(public_text, file) >= 0);
    assert_int_equal(fclose(file), 0);
    free(public_text);
    s_expect_no_security(dir, "holds no secret key");
    test_remove_tree(dir);
}

static void data_channel_dealer_admits_only_the_cluster(void **state)
{
    s_expect_pattern_secured(*state, &s_data_channel);
}

static void data_channel_dealer_admits_a_router_client_of_the_cluster_only(void **state)
{
    s_expect_pattern_secured(*state, &s_data_channel_router);
}

static void monitor_pub_reaches_only_subscribers_of_the_cluster(void **state)
{
    s_expect_pattern_secured(*state, &s_monitor);
}

static void control_plane_router_admits_only_the_cluster(void **state)
{
    s_expect_pattern_secured(*state, &s_control_plane);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(a_dealer_pair_with_the_cluster_key_talks_both_ways,
                                  s_security_teardown),
        cmocka_unit_test(make_keys_writes_a_public_and_a_private_file),
        cmocka_unit_test(make_keys_replaces_a_certificate_only_when_forced),
        cmocka_unit_test(security_refuses_a_directory_without_the_secret_key),
        cmocka_unit_test_setup_teardown(data_channel_dealer_admits_only_the_cluster,
                                        s_cluster_setup, s_cluster_teardown),
        cmocka_unit_test_setup_teardown(
            data_channel_dealer_admits_a_router_client_of_the_cluster_only, s_cluster_setup,
            s_cluster_teardown),
        cmocka_unit_test_setup_teardown(monitor_pub_reaches_only_subscribers_of_the_cluster,
                                        s_cluster_setup, s_cluster_teardown),
        cmocka_unit_test_setup_teardown(control_plane_router_admits_only_the_cluster,
                                        s_cluster_setup, s_cluster_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
