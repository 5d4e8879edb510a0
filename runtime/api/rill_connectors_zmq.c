/*  rill_connectors_zmq.c: the stream API of the ZeroMQ and TCP text connectors
    (rill_connectors_zmq.h). It checks what can be checked before the job runs (the URL, the
    socket type's direction, the CURVE settings), merges the options into one canonical URL
    kept as the operator's path, and picks the parallelism the connector supports; each
    subtask opens its socket from that URL (actors/operators/rill_op_zmq.c). */
#include "rill_connectors_zmq.h"
#include "rill_env_private.h"
#include "rill_zmq_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Merges the URL (may be NULL) and the options (may be NULL): a set field of opts wins.
static int s_resolve(const char *url, const rill_zmq_options_t *opts, rill_zmq_options_t *out,
                     char *error, size_t error_size)
{
    memset(out, 0, sizeof *out);
    if (url && rill_zmq_url_parse(url, out, error, error_size))
        return -1;
    if (opts) {
        if (opts->endpoint[0])
            memcpy(out->endpoint, opts->endpoint, sizeof out->endpoint);
        if (opts->type)
            out->type = opts->type;
        out->bind |= opts->bind;
        out->timestamped |= opts->timestamped;
        out->nodrop |= opts->nodrop;
        if (opts->topic[0])
            memcpy(out->topic, opts->topic, sizeof out->topic);
        if (opts->has_end) {
            out->has_end = true;
            memcpy(out->end, opts->end, sizeof out->end);
        }
        if (opts->hwm)
            out->hwm = opts->hwm;
        if (opts->linger_ms)
            out->linger_ms = opts->linger_ms;
        if (opts->send_timeout_ms)
            out->send_timeout_ms = opts->send_timeout_ms;
        if (opts->subscribers)
            out->subscribers = opts->subscribers;
        if (opts->curve_cert[0])
            memcpy(out->curve_cert, opts->curve_cert, sizeof out->curve_cert);
        if (opts->curve_server_key[0])
            memcpy(out->curve_server_key, opts->curve_server_key, sizeof out->curve_server_key);
        out->endpoint[sizeof out->endpoint - 1] = 0;
        out->topic[sizeof out->topic - 1] = 0;
        out->end[sizeof out->end - 1] = 0;
        out->curve_cert[sizeof out->curve_cert - 1] = 0;
        out->curve_server_key[sizeof out->curve_server_key - 1] = 0;
    }
    if (!out->endpoint[0]) {
        snprintf(error, error_size,
                 "no endpoint given (a zmq+tcp:// or zmq+ipc:// URL, or "
                 "options with an endpoint)");
        return -1;
    }
    //  An endpoint given in the options is checked as a URL would be.
    char check[RILL_ZMQ_ENDPOINT_MAX + 8];
    rill_zmq_options_t parsed;
    snprintf(check, sizeof check, "zmq+%s", out->endpoint);
    if (rill_zmq_url_parse(check, &parsed, error, error_size))
        return -1;
    if (out->topic[0] && out->type != RILL_ZMQ_SUB) {
        snprintf(error, error_size, "a topic needs type sub");
        return -1;
    }
    if (out->timestamped && out->topic[0]) {
        snprintf(error, error_size,
                 "a topic filters on the first frame, which in the timestamped form is the "
                 "time: use one or the other");
        return -1;
    }
    return 0;
}

//  The parallelism a connector runs at unless the user sets another: 1, except a PULL or PUSH
//  that connects (ZeroMQ spreads over, or gathers from, any number of sockets).
static int s_parallelism(const rill_zmq_options_t *options)
{
    bool spreads = (options->type == RILL_ZMQ_DEFAULT || options->type == RILL_ZMQ_PULL ||
                    options->type == RILL_ZMQ_PUSH) &&
                   (!options->bind || strstr(options->endpoint, "%d"));
    return spreads ? 0 : 1;
}

static rill_stream_t *s_failed(rill_env_t *env, const char *what, const char *error)
{
    char message[400];
    snprintf(message, sizeof message, "%s: %s", what, error);
    rill_env_fail(env, message);
    return NULL;
}

rill_stream_t *rill_env_from_zmq(rill_env_t *self, const char *url, const rill_zmq_options_t *opts)
{
    if (!self)
        return NULL;
    rill_zmq_options_t options;
    char error[300];
    if (s_resolve(url, opts, &options, error, sizeof error))
        return s_failed(self, "zmq source", error);
    if (options.type == RILL_ZMQ_PUSH || options.type == RILL_ZMQ_PUB)
        return s_failed(self, "zmq source", "type push or pub cannot receive: use pull or sub");
    if (options.nodrop || options.subscribers)
        return s_failed(self, "zmq source", "nodrop and subscribers are for PUB sinks");
    //  The subscription filters the end marker too: one outside the topic would never come.
    if (options.has_end && strncmp(options.end, options.topic, strlen(options.topic)))
        return s_failed(self, "zmq source",
                        "the end marker does not begin with the topic, so the subscription "
                        "would filter it out");
    char *canonical = malloc(RILL_ZMQ_URL_MAX);
    if (!canonical || rill_zmq_url_format(&options, canonical, RILL_ZMQ_URL_MAX)) {
        free(canonical);
        return s_failed(self, "zmq source", "out of memory");
    }
    rill_operator_spec_t spec = {.kind = RILL_OP_SOURCE_ZMQ,
                                 .path = canonical,
                                 .parallelism = s_parallelism(&options),
                                 .bounded = options.has_end,
                                 .max_record_size = rill_env_max_record_size(self)};
    rill_stream_t *source = rill_env_add_source(self, &spec);
    free(canonical);
    return source;
}

rill_stream_t *rill_stream_to_zmq(rill_stream_t *in, const char *url,
                                  const rill_zmq_options_t *opts)
{
    if (!in)
        return NULL;
    rill_env_t *env = rill_stream_env(in);
    rill_zmq_options_t options;
    char error[300];
    if (s_resolve(url, opts, &options, error, sizeof error))
        return s_failed(env, "zmq sink", error);
    if (options.type == RILL_ZMQ_PULL || options.type == RILL_ZMQ_SUB)
        return s_failed(env, "zmq sink", "type pull or sub cannot send: use push or pub");
    if ((options.nodrop || options.subscribers) && options.type != RILL_ZMQ_PUB)
        return s_failed(env, "zmq sink", "nodrop and subscribers need type pub");
    char *canonical = malloc(RILL_ZMQ_URL_MAX);
    if (!canonical || rill_zmq_url_format(&options, canonical, RILL_ZMQ_URL_MAX)) {
        free(canonical);
        return s_failed(env, "zmq sink", "out of memory");
    }
    rill_operator_spec_t spec = {
        .kind = RILL_OP_SINK_ZMQ, .path = canonical, .parallelism = s_parallelism(&options)};
    rill_stream_t *sink = rill_env_apply(in, &spec, "to_zmq");
    free(canonical);
    return sink;
}

rill_stream_t *rill_env_from_socket_text(rill_env_t *self, const char *host, int port)
{
    if (!self)
        return NULL;
    char url[300], parsed_host[256], error[300];
    int parsed_port;
    bool v6 = host && strchr(host, ':') && host[0] != '[';
    snprintf(url, sizeof url, "tcp://%s%s%s:%d", v6 ? "[" : "", host ? host : "", v6 ? "]" : "",
             port);
    if (!host || !*host)
        return s_failed(self, "tcp text source", "no host given");
    if (rill_socket_text_url_parse(url, parsed_host, sizeof parsed_host, &parsed_port, error,
                                   sizeof error))
        return s_failed(self, "tcp text source", error);
    rill_operator_spec_t spec = {.kind = RILL_OP_SOURCE_SOCKET_TEXT,
                                 .path = url,
                                 .parallelism = 1,
                                 .max_record_size = rill_env_max_record_size(self)};
    return rill_env_add_source(self, &spec);
}
