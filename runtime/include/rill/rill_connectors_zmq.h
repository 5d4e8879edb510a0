/*  rill_connectors_zmq.h: connectors to the outside world over ZeroMQ and plain TCP text.
    A ZeroMQ source (PULL or SUB) and sink (PUSH or PUB), one record per message or the
    timestamped two-frame form, optionally CURVE-encrypted; and a TCP text source that reads
    lines from a server, like Flink's socketTextStream. Each is also named by a URL, so that a
    job's --input/--output can choose it:

        zmq+tcp://HOST:PORT?mode=connect|bind&type=pull|sub|push|pub&topic=T&...
        zmq+ipc:///PATH?...
        tcp://HOST:PORT                      (the TCP text source)

    README "Connectors" lists every URL parameter, the guarantees and the parallelism rules. */
#ifndef RILL_CONNECTORS_ZMQ_H_INCLUDED
#define RILL_CONNECTORS_ZMQ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "rill_env.h"
#include "rill_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The ZeroMQ socket a connector uses. RILL_ZMQ_DEFAULT: PULL for a source, PUSH for a sink.
typedef enum {
    RILL_ZMQ_DEFAULT = 0,
    RILL_ZMQ_PULL,
    RILL_ZMQ_SUB,
    RILL_ZMQ_PUSH,
    RILL_ZMQ_PUB,
} rill_zmq_type_t;

//  Sizes of the options' text fields (with the terminating NUL).
#define RILL_ZMQ_ENDPOINT_MAX 256
#define RILL_ZMQ_TEXT_MAX 256

//  Everything a ZeroMQ connector is told; zero-initialised means: PULL source / PUSH sink,
//  connect, one record per message, no end marker, ZeroMQ's own high-water mark, no CURVE.
//  Self-contained (no pointers), so it can be copied and kept.
typedef struct {
    //  The ZeroMQ endpoint: "tcp://host:port" or "ipc:///path". With bind at parallelism > 1,
    //  it holds one "%d", replaced by the subtask index (one endpoint per subtask).
    char endpoint[RILL_ZMQ_ENDPOINT_MAX];
    rill_zmq_type_t type;
    bool bind;                     //  false: connect
    char topic[RILL_ZMQ_TEXT_MAX]; //  SUB: the prefix subscribed to ("": everything)
    //  Two frames per record: [8-byte big-endian event time, ms][payload]. A source sets each
    //  record's timestamp from it (and refuses messages of another shape); a sink sends it.
    bool timestamped;
    //  An end marker: a source ends when a one-frame message equal to `end` arrives (an empty
    //  `end` is an empty message); a sink sends it once when its input ends.
    bool has_end;
    char end[RILL_ZMQ_TEXT_MAX];
    int hwm; //  ZMQ_SNDHWM / ZMQ_RCVHWM in messages; 0: ZeroMQ's default (1000)
    //  Sinks: ZMQ_LINGER, how long queued records may still leave after the sink closed (ms);
    //  0 takes the default, -1 (wait until every one left); a positive value bounds it.
    int linger_ms;
    //  Sinks: how long one record may wait for room before the job fails (ms); 0: no limit
    //  (a full PUSH is backpressure, as long as it lasts).
    int send_timeout_ms;
    //  PUB sinks: wait until this many subscriptions arrived before the first record (avoids
    //  losing the first records to a subscriber still connecting); 0: do not wait.
    int subscribers;
    //  PUB sinks: block instead of dropping when a subscriber is full (XPUB with
    //  ZMQ_XPUB_NODROP): a slow subscriber then slows the job down.
    bool nodrop;
    //  CURVE. A bind side is the CURVE server: curve_cert names its certificate's secret file
    //  (a czmq zcert file, e.g. the "cluster.cert_secret" of `rill keys`). A connect side is
    //  a client when curve_server_key is set: the server's public key, as 40 Z85 characters
    //  or the path of the server's public certificate file; its own key pair is curve_cert
    //  when given, else a fresh one.
    char curve_cert[RILL_ZMQ_TEXT_MAX];
    char curve_server_key[RILL_ZMQ_TEXT_MAX];
} rill_zmq_options_t;

//  Parses a "zmq+tcp://" or "zmq+ipc://" URL into *out (cleared first). 0, or -1 with a
//  message in error naming what is wrong (scheme, address, parameter, value).
RILL_EXPORT int rill_zmq_url_parse(const char *url, rill_zmq_options_t *out, char *error,
                                   size_t error_size);

//  Parses a TCP text source URL "tcp://HOST:PORT" (HOST a name, an IPv4 address or an IPv6
//  one in brackets). 0, or -1 with a message in error.
RILL_EXPORT int rill_socket_text_url_parse(const char *url, char *host, size_t host_size, int *port,
                                           char *error, size_t error_size);

//  A ZeroMQ source. url: a zmq+ URL, or NULL when opts alone say everything; opts (may be
//  NULL) override the URL's parameters where set (the endpoint, type, bind, topic, ... of a
//  non-zero options struct). Unbounded unless an end marker is given. Parallelism: 1 by
//  default; PULL with connect may run at any parallelism (ZeroMQ load-balances messages over
//  the subtasks' sockets); bind needs a "%d" in the endpoint; SUB runs at parallelism 1 only.
//  It cannot rewind: a job with checkpoints that includes it fails its first checkpoint.
RILL_EXPORT rill_stream_t *rill_env_from_zmq(rill_env_t *self, const char *url,
                                             const rill_zmq_options_t *opts);

//  A ZeroMQ sink: one message (or two frames, timestamped) per record. PUSH blocks while no
//  peer has room (rill backpressure); PUB drops records for a subscriber that is not keeping
//  up or not yet subscribed, as ZeroMQ's PUB does (see nodrop and subscribers). Same
//  url/opts rules and parallelism rules as the source.
RILL_EXPORT rill_stream_t *rill_stream_to_zmq(rill_stream_t *in, const char *url,
                                              const rill_zmq_options_t *opts);

//  A TCP text source (Flink's socketTextStream): connects to host:port, emits one record per
//  line (without its line end; longer than the environment's maximum record size: the job
//  fails), and ends when the server closes the connection. Parallelism 1.
RILL_EXPORT rill_stream_t *rill_env_from_socket_text(rill_env_t *self, const char *host, int port);

#ifdef __cplusplus
}
#endif
#endif
