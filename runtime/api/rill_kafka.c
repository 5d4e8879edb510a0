/*  rill_kafka.c: the Kafka API (rill_kafka.h): checks the options, hands the graph a deep copy
    of them (the operators in actors/kafka/ read it; this layer never links librdkafka), and
    parses the URLs the bundled jobs take. */
#include "rill_kafka.h"
#include "rill_env_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FIELDS 4

//  A copy of the user's options that owns its strings. The options come first, so the
//  operators read the copy as the public struct.
typedef struct {
    union {
        rill_kafka_source_t source;
        rill_kafka_sink_t sink;
    } options;
    char *fields[S_FIELDS]; //  brokers, topic, group and client ids (NULL when not given)
    char **properties;      //  NULL-terminated
} s_copy_t;

static void s_copy_free(void *connector)
{
    s_copy_t *copy = connector;
    if (!copy)
        return;
    for (int i = 0; i < S_FIELDS; i++)
        free(copy->fields[i]);
    for (char **at = copy->properties; at && *at; at++)
        free(*at);
    free(copy->properties);
    free(copy);
}

//  Copies each of the strings *fields[i] into copy->fields[i] and repoints the field at it,
//  and the properties likewise. 0, or -1 when out of memory.
static int s_copy_strings(s_copy_t *copy, const char **fields[S_FIELDS],
                          const char *const **properties)
{
    for (int i = 0; i < S_FIELDS; i++) {
        if (!fields[i] || !*fields[i])
            continue;
        if (!(copy->fields[i] = strdup(*fields[i])))
            return -1;
        *fields[i] = copy->fields[i];
    }
    size_t count = 0;
    while (*properties && (*properties)[count])
        count++;
    if (!count) {
        *properties = NULL;
        return 0;
    }
    if (!(copy->properties = calloc(count + 1, sizeof(char *))))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (!(copy->properties[i] = strdup((*properties)[i])))
            return -1;
    *properties = (const char *const *)copy->properties;
    return 0;
}

//  Whether each property reads "key=value" with a key; else the error names the first bad one.
static bool s_properties_valid(rill_env_t *env, const char *what, const char *const *properties)
{
    for (size_t i = 0; properties && properties[i]; i++) {
        const char *equals = strchr(properties[i], '=');
        if (!equals || equals == properties[i]) {
            char message[300];
            snprintf(message, sizeof message, "%s: property '%.200s' is not key=value", what,
                     properties[i]);
            rill_env_fail(env, message);
            return false;
        }
    }
    return true;
}

static bool s_required(rill_env_t *env, const char *what, const char *brokers, const char *topic)
{
    const char *missing = !brokers || !*brokers ? "no brokers"
                          : !topic || !*topic   ? "no topic"
                                                : NULL;
    if (missing) {
        char message[200];
        snprintf(message, sizeof message, "%s: %s given", what, missing);
        rill_env_fail(env, message);
    }
    return !missing;
}

//  An open that does nothing: with it the subtask gets a context (rill_operator_open_user),
//  through which the source registers its lag gauge (rill_op_kafka_source.c). A user's own
//  open (rill_stream_open_close) serves as well.
static int s_open_context(const rill_context_t *context, void *ctx, void **subtask_ctx)
{
    return 0;
}

rill_stream_t *rill_env_from_kafka(rill_env_t *env, const rill_kafka_source_t *options)
{
    if (!env)
        return NULL;
    const char *what = "Kafka source";
    if (!options) {
        rill_env_fail(env, "Kafka source: no options given");
        return NULL;
    }
    if (!s_required(env, what, options->brokers, options->topic) ||
        !s_properties_valid(env, what, options->properties))
        return NULL;
    if (options->out_of_orderness_ms < 0 || options->idle_timeout_ms < 0 ||
        options->timeout_ms < 0 ||
        (options->start != RILL_KAFKA_EARLIEST && options->start != RILL_KAFKA_LATEST)) {
        rill_env_fail(env, "Kafka source: a negative time or an unknown start position");
        return NULL;
    }
    s_copy_t *copy = calloc(1, sizeof(s_copy_t));
    if (!copy) {
        rill_env_fail(env, "out of memory");
        return NULL;
    }
    copy->options.source = *options;
    rill_kafka_source_t *source = &copy->options.source;
    const char **fields[S_FIELDS] = {&source->brokers, &source->topic, &source->group_id,
                                     &source->client_id};
    if (s_copy_strings(copy, fields, &source->properties)) {
        s_copy_free(copy);
        rill_env_fail(env, "out of memory");
        return NULL;
    }
    if (!source->timeout_ms)
        source->timeout_ms = RILL_KAFKA_DEFAULT_TIMEOUT;
    return rill_env_add_source(env, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_KAFKA,
                                                            .bounded = options->bounded,
                                                            .open = s_open_context,
                                                            .connector = copy,
                                                            .connector_free = s_copy_free});
}

rill_stream_t *rill_stream_to_kafka(rill_stream_t *in, const rill_kafka_sink_t *options)
{
    if (!in)
        return NULL;
    rill_env_t *env = rill_stream_env(in);
    const char *what = "Kafka sink";
    if (!options) {
        rill_env_fail(env, "Kafka sink: no options given");
        return NULL;
    }
    if (!s_required(env, what, options->brokers, options->topic) ||
        !s_properties_valid(env, what, options->properties))
        return NULL;
    if (options->timeout_ms < 0 || (options->guarantee != RILL_KAFKA_AT_LEAST_ONCE &&
                                    options->guarantee != RILL_KAFKA_EXACTLY_ONCE)) {
        rill_env_fail(env, "Kafka sink: a negative timeout or an unknown guarantee");
        return NULL;
    }
    s_copy_t *copy = calloc(1, sizeof(s_copy_t));
    if (!copy) {
        rill_env_fail(env, "out of memory");
        return NULL;
    }
    copy->options.sink = *options;
    rill_kafka_sink_t *sink = &copy->options.sink;
    const char **fields[S_FIELDS] = {&sink->brokers, &sink->topic, &sink->client_id, NULL};
    if (s_copy_strings(copy, fields, &sink->properties)) {
        s_copy_free(copy);
        rill_env_fail(env, "out of memory");
        return NULL;
    }
    if (!sink->timeout_ms)
        sink->timeout_ms = RILL_KAFKA_DEFAULT_TIMEOUT;
    rill_stream_t *stream = rill_env_apply(in,
                                           &(rill_operator_spec_t){.kind = RILL_OP_SINK_KAFKA,
                                                                   .connector = copy,
                                                                   .connector_free = s_copy_free},
                                           "to_kafka");
    return stream;
}

//  ---- URLs

static int s_url_error(char *error, size_t size, const char *url, const char *why)
{
    if (error && size)
        snprintf(error, size,
                 "bad Kafka URL '%.200s': %s (expected "
                 "kafka://host:port[,host:port]/topic[?group=..&from=earliest|latest"
                 "&bounded=true|false])",
                 url ? url : "(null)", why);
    return -1;
}

//  Copies [from, to) into out (size bytes) with a terminator; false when it does not fit.
static bool s_copy_span(char *out, size_t size, const char *from, const char *to)
{
    size_t length = (size_t)(to - from);
    if (length >= size)
        return false;
    memcpy(out, from, length);
    out[length] = '\0';
    return true;
}

//  host:port, the host non-empty and the port 1..65535.
static bool s_broker_valid(const char *from, const char *to)
{
    const char *colon = NULL;
    for (const char *at = from; at < to; at++)
        if (*at == ':')
            colon = at;
    if (!colon || colon == from || colon + 1 == to || to - colon > 6)
        return false;
    long port = 0;
    for (const char *at = colon + 1; at < to; at++) {
        if (*at < '0' || *at > '9')
            return false;
        port = port * 10 + (*at - '0');
    }
    for (const char *at = from; at < colon; at++)
        if (*at == '/' || *at == '?' || *at == '&' || *at == '=' || *at == ' ')
            return false;
    return port >= 1 && port <= 65535;
}

int rill_kafka_url_parse(const char *url, rill_kafka_url_t *out, char *error, size_t size)
{
    static const char scheme[] = "kafka://";
    if (!url || !out)
        return s_url_error(error, size, url, "no URL given");
    memset(out, 0, sizeof *out);
    out->start = RILL_KAFKA_EARLIEST;
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return s_url_error(error, size, url, "it does not start with kafka://");
    const char *brokers = url + sizeof scheme - 1;
    const char *slash = strchr(brokers, '/');
    if (!slash)
        return s_url_error(error, size, url, "no /topic after the brokers");
    if (slash == brokers)
        return s_url_error(error, size, url, "no brokers");
    for (const char *from = brokers; from < slash;) {
        const char *comma = memchr(from, ',', (size_t)(slash - from));
        const char *to = comma ? comma : slash;
        if (!s_broker_valid(from, to))
            return s_url_error(error, size, url, "a broker is not host:port with a port 1..65535");
        from = comma ? comma + 1 : slash;
        if (comma && from == slash)
            return s_url_error(error, size, url, "an empty broker after a comma");
    }
    if (!s_copy_span(out->brokers, sizeof out->brokers, brokers, slash))
        return s_url_error(error, size, url, "the broker list is too long");
    const char *topic = slash + 1;
    const char *query = strchr(topic, '?');
    const char *topic_end = query ? query : topic + strlen(topic);
    if (topic_end == topic)
        return s_url_error(error, size, url, "no topic");
    //  Kafka topic names: letters, digits, '.', '_' and '-', at most 249 characters.
    for (const char *at = topic; at < topic_end; at++)
        if (!((*at >= 'a' && *at <= 'z') || (*at >= 'A' && *at <= 'Z') ||
              (*at >= '0' && *at <= '9') || *at == '.' || *at == '_' || *at == '-'))
            return s_url_error(error, size, url,
                               "the topic may hold only letters, digits, '.', '_' and '-'");
    if (topic_end - topic > 249 || !s_copy_span(out->topic, sizeof out->topic, topic, topic_end))
        return s_url_error(error, size, url, "the topic is longer than 249 characters");
    for (const char *from = query ? query + 1 : NULL; from && *from;) {
        const char *amp = strchr(from, '&');
        const char *to = amp ? amp : from + strlen(from);
        const char *equals = memchr(from, '=', (size_t)(to - from));
        if (!equals)
            return s_url_error(error, size, url, "a query parameter is not name=value");
        char name[32], value[RILL_KAFKA_URL_FIELD];
        if (!s_copy_span(name, sizeof name, from, equals) ||
            !s_copy_span(value, sizeof value, equals + 1, to))
            return s_url_error(error, size, url, "a query parameter is too long");
        if (strcmp(name, "group") == 0) {
            if (!*value)
                return s_url_error(error, size, url, "an empty group");
            strcpy(out->group, value);
        } else if (strcmp(name, "from") == 0) {
            if (strcmp(value, "earliest") == 0)
                out->start = RILL_KAFKA_EARLIEST;
            else if (strcmp(value, "latest") == 0)
                out->start = RILL_KAFKA_LATEST;
            else
                return s_url_error(error, size, url, "from is neither earliest nor latest");
        } else if (strcmp(name, "bounded") == 0) {
            if (strcmp(value, "true") == 0)
                out->bounded = true;
            else if (strcmp(value, "false") == 0)
                out->bounded = false;
            else
                return s_url_error(error, size, url, "bounded is neither true nor false");
        } else {
            char why[80];
            snprintf(why, sizeof why, "unknown parameter '%.30s'", name);
            return s_url_error(error, size, url, why);
        }
        from = amp ? amp + 1 : NULL;
        if (amp && !*from)
            return s_url_error(error, size, url, "an empty query parameter after '&'");
    }
    return 0;
}
