/*  rill_job_io.h: the bundled jobs' --input and --output, as a path or a connector URL
    (header-only: every .c file in jobs/ is a plugin of its own). Inputs: a file path (as
    before), a directory or dir://DIR?... (rill_connectors_files.h), kafka://BROKERS/TOPIC?...
    (rill_kafka.h), zmq+tcp://... or zmq+ipc://... (rill_connectors_zmq.h), tcp://HOST:PORT (a
    TCP text source). Outputs: a file path (as before), rolling://DIR?..., kafka://..., zmq+...
    A URL that does not parse is refused before anything runs, with the connector's message. */
#ifndef RILL_JOB_IO_H_INCLUDED
#define RILL_JOB_IO_H_INCLUDED

#include <rill/rill.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static inline bool rill_job_io_prefix(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

//  Whether where names a connector rather than a plain file (for a job that reads a file's
//  header before it runs: only a file can be read twice).
static inline bool rill_job_io_is_connector(const char *where)
{
    struct stat info;
    return rill_job_io_prefix(where, "kafka://") || rill_job_io_prefix(where, "zmq+") ||
           rill_job_io_prefix(where, "tcp://") || rill_job_io_prefix(where, "rolling://") ||
           rill_directory_url_matches(where) || (stat(where, &info) == 0 && S_ISDIR(info.st_mode));
}

//  The lines (records) of an input. NULL with a message in error (the env's, or the URL's).
static inline rill_stream_t *rill_job_input(rill_env_t *env, const char *where, char *error,
                                            size_t size)
{
    rill_stream_t *stream = NULL;
    snprintf(error, size, "cannot read '%s'", where);
    if (rill_job_io_prefix(where, "kafka://")) {
        rill_kafka_url_t url;
        if (rill_kafka_url_parse(where, &url, error, size))
            return NULL;
        rill_kafka_source_t options = {.brokers = url.brokers,
                                       .topic = url.topic,
                                       .group_id = url.group[0] ? url.group : NULL,
                                       .start = url.start,
                                       .bounded = url.bounded};
        stream = rill_env_from_kafka(env, &options);
    } else if (rill_job_io_prefix(where, "zmq+")) {
        rill_zmq_options_t options;
        if (rill_zmq_url_parse(where, &options, error, size))
            return NULL;
        stream = rill_env_from_zmq(env, where, NULL);
    } else if (rill_job_io_prefix(where, "tcp://")) {
        char host[256];
        int port;
        if (rill_socket_text_url_parse(where, host, sizeof host, &port, error, size))
            return NULL;
        stream = rill_env_from_socket_text(env, host, port);
    } else if (rill_job_io_is_connector(where)) {
        if (rill_directory_url_matches(where)) {
            rill_directory_url_t url;
            if (rill_directory_url_parse(where, &url, error, size))
                return NULL;
        }
        stream = rill_env_from_directory_url(env, where);
    } else
        stream = rill_env_from_text_file(env, where);
    if (!stream)
        snprintf(error, size, "%s", rill_env_error(env));
    return stream;
}

//  Writes stream to an output; returns the sink's handle, or NULL with a message in error.
//  A plain path is written by one subtask (the records' order kept), as the jobs always did.
static inline rill_stream_t *rill_job_output(rill_env_t *env, rill_stream_t *stream,
                                             const char *where, char *error, size_t size)
{
    rill_stream_t *sink = NULL;
    if (rill_job_io_prefix(where, "kafka://")) {
        rill_kafka_url_t url;
        if (rill_kafka_url_parse(where, &url, error, size))
            return NULL;
        rill_kafka_sink_t options = {.brokers = url.brokers, .topic = url.topic};
        sink = rill_stream_to_kafka(stream, &options);
    } else if (rill_job_io_prefix(where, "zmq+")) {
        rill_zmq_options_t options;
        if (rill_zmq_url_parse(where, &options, error, size))
            return NULL;
        sink = rill_stream_to_zmq(stream, where, NULL);
    } else if (rill_rolling_url_matches(where)) {
        rill_rolling_url_t url;
        if (rill_rolling_url_parse(where, &url, error, size))
            return NULL;
        sink = rill_stream_to_rolling_files_url(stream, where);
    } else
        sink = rill_stream_print(stream, where);
    if (!sink)
        snprintf(error, size, "%s", rill_env_error(env));
    return sink;
}

#endif
