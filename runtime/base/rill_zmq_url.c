/*  rill_zmq_url.c: the connector URLs (rill_connectors_zmq.h) as options and back. The stream
    API parses what the user gave, merges the options struct in, and stores the result as one
    canonical URL in the operator's spec (rill_zmq_url_format), which every subtask parses
    again when it opens: the graph keeps a string, not a struct it would have to own.
    Query values are percent-decoded (a Z85 key holds '&', '=', '?' ...); the endpoint is not,
    so that a "%d" in it stays a "%d". */
#include "rill_zmq_url.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_fail(char *error, size_t error_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    if (error && error_size)
        vsnprintf(error, error_size, format, args);
    va_end(args);
    return -1;
}

static int s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

//  Percent-decodes [from, from + size) into out (NUL-terminated). 0, or -1 when it does not
//  fit or holds a malformed escape.
static int s_decode(const char *from, size_t size, char *out, size_t out_size)
{
    size_t at = 0;
    for (size_t i = 0; i < size; i++) {
        int c = (unsigned char)from[i];
        if (c == '%') {
            if (i + 2 >= size || s_hex(from[i + 1]) < 0 || s_hex(from[i + 2]) < 0)
                return -1;
            c = s_hex(from[i + 1]) * 16 + s_hex(from[i + 2]);
            i += 2;
        } else if (c == '+')
            c = ' ';
        if (at + 1 >= out_size || c == 0)
            return -1;
        out[at++] = (char)c;
    }
    out[at] = 0;
    return 0;
}

static int s_number(const char *text, long low, long high, int *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (!*text || *end || errno || value < low || value > high)
        return -1;
    *out = (int)value;
    return 0;
}

static int s_flag(const char *text, bool *out)
{
    if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes") || !*text)
        *out = true;
    else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"))
        *out = false;
    else
        return -1;
    return 0;
}

//  "host:port" of a tcp endpoint: a host (a name, an IPv4 address, "*" or "[v6]") and a port
//  of digits, or of digits around one "%d" (one port per subtask).
static int s_check_tcp(const char *address, char *error, size_t error_size)
{
    const char *colon = strrchr(address, ':');
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':')
            return s_fail(error, error_size,
                          "'%s': an IPv6 address needs brackets and a port, as [::1]:5555",
                          address);
        colon = close + 1;
    }
    if (!colon)
        return s_fail(error, error_size, "'%s' has no port: expected HOST:PORT", address);
    if (colon == address)
        return s_fail(error, error_size, "'%s' has no host: expected HOST:PORT", address);
    const char *port = colon + 1;
    if (!*port)
        return s_fail(error, error_size, "'%s' has no port: expected HOST:PORT", address);
    const char *pattern = strstr(port, "%d");
    for (const char *c = port; *c; c++)
        if (!isdigit((unsigned char)*c) && !(pattern && (c == pattern || c == pattern + 1)))
            return s_fail(error, error_size, "'%s': the port '%s' is not a number", address, port);
    if (!pattern) {
        int number;
        if (s_number(port, 1, 65535, &number))
            return s_fail(error, error_size, "'%s': the port %s is out of range (1 .. 65535)",
                          address, port);
    }
    return 0;
}

int rill_zmq_url_parse(const char *url, rill_zmq_options_t *out, char *error, size_t error_size)
{
    if (!url || !out)
        return s_fail(error, error_size, "no URL given");
    memset(out, 0, sizeof *out);
    static const char *const schemes[] = {"zmq+tcp://", "zmq+ipc://", "zmq+inproc://"};
    const char *rest = NULL;
    size_t scheme = 0;
    for (; scheme < sizeof schemes / sizeof schemes[0]; scheme++)
        if (!strncmp(url, schemes[scheme], strlen(schemes[scheme]))) {
            rest = url + strlen(schemes[scheme]);
            break;
        }
    if (!rest)
        return s_fail(error, error_size,
                      "'%.200s' is not a ZeroMQ URL: expected zmq+tcp://HOST:PORT, "
                      "zmq+ipc:///PATH or zmq+inproc://NAME",
                      url);
    const char *query = strchr(rest, '?');
    size_t address_size = query ? (size_t)(query - rest) : strlen(rest);
    if (!address_size)
        return s_fail(error, error_size, "'%.200s' has no address", url);
    //  The ZeroMQ endpoint is the URL without "zmq+" and without its query.
    int written =
        snprintf(out->endpoint, sizeof out->endpoint, "%.*s%.*s", (int)strlen(schemes[scheme]) - 4,
                 schemes[scheme] + 4, (int)address_size, rest);
    if (written < 0 || (size_t)written >= sizeof out->endpoint)
        return s_fail(error, error_size, "'%.200s': the address is longer than %d bytes", url,
                      RILL_ZMQ_ENDPOINT_MAX - 1);
    const char *address = out->endpoint + strlen(schemes[scheme]) - 4;
    if (scheme == 0 && s_check_tcp(address, error, error_size))
        return -1;
    if (scheme == 1 && address[0] != '/' && address[0] != '@')
        return s_fail(error, error_size,
                      "'%.200s': an ipc address is a path (zmq+ipc:///tmp/feed) or an abstract "
                      "name (zmq+ipc://@feed)",
                      url);
    if (strchr(address, '%') && !strstr(address, "%d"))
        return s_fail(error, error_size, "'%.200s': the only pattern an address may hold is %%d",
                      url);
    if (!query)
        return 0;
    const char *at = query + 1;
    while (*at) {
        const char *amp = strchr(at, '&');
        size_t length = amp ? (size_t)(amp - at) : strlen(at);
        const char *equals = memchr(at, '=', length);
        size_t name_size = equals ? (size_t)(equals - at) : length;
        char name[32], value[RILL_ZMQ_TEXT_MAX];
        if (!name_size || name_size >= sizeof name)
            return s_fail(error, error_size, "'%.200s': a parameter has no name", url);
        memcpy(name, at, name_size);
        name[name_size] = 0;
        value[0] = 0;
        if (equals && s_decode(equals + 1, length - name_size - 1, value, sizeof value))
            return s_fail(error, error_size,
                          "'%.200s': the value of '%s' is malformed (a bad %%-escape) or longer "
                          "than %d bytes",
                          url, name, RILL_ZMQ_TEXT_MAX - 1);
        bool bad = false;
        if (!strcmp(name, "mode")) {
            if (!strcmp(value, "bind"))
                out->bind = true;
            else if (!strcmp(value, "connect"))
                out->bind = false;
            else
                return s_fail(error, error_size, "'%.200s': mode '%s' is neither connect nor bind",
                              url, value);
        } else if (!strcmp(name, "type")) {
            static const char *const types[] = {"pull", "sub", "push", "pub"};
            out->type = RILL_ZMQ_DEFAULT;
            for (int t = 0; t < 4; t++)
                if (!strcmp(value, types[t]))
                    out->type = (rill_zmq_type_t)(RILL_ZMQ_PULL + t);
            if (out->type == RILL_ZMQ_DEFAULT)
                return s_fail(error, error_size,
                              "'%.200s': type '%s' is none of pull, sub, push, pub", url, value);
        } else if (!strcmp(name, "topic"))
            snprintf(out->topic, sizeof out->topic, "%s", value);
        else if (!strcmp(name, "timestamps"))
            bad = s_flag(value, &out->timestamped);
        else if (!strcmp(name, "end")) {
            out->has_end = true;
            snprintf(out->end, sizeof out->end, "%s", value);
        } else if (!strcmp(name, "hwm"))
            bad = s_number(value, 0, INT_MAX, &out->hwm);
        else if (!strcmp(name, "linger"))
            bad = s_number(value, -1, INT_MAX, &out->linger_ms);
        else if (!strcmp(name, "send_timeout"))
            bad = s_number(value, 0, INT_MAX, &out->send_timeout_ms);
        else if (!strcmp(name, "subscribers"))
            bad = s_number(value, 0, 1000000, &out->subscribers);
        else if (!strcmp(name, "nodrop"))
            bad = s_flag(value, &out->nodrop);
        else if (!strcmp(name, "curve_cert"))
            snprintf(out->curve_cert, sizeof out->curve_cert, "%s", value);
        else if (!strcmp(name, "curve_server_key"))
            snprintf(out->curve_server_key, sizeof out->curve_server_key, "%s", value);
        else
            return s_fail(error, error_size,
                          "'%.200s': unknown parameter '%s' (known: mode, type, topic, "
                          "timestamps, end, hwm, linger, send_timeout, subscribers, nodrop, "
                          "curve_cert, curve_server_key)",
                          url, name);
        if (bad)
            return s_fail(error, error_size, "'%.200s': '%s' is not a valid value of %s", url,
                          value, name);
        at += length + (amp ? 1 : 0);
    }
    if (out->topic[0] && out->type != RILL_ZMQ_SUB)
        return s_fail(error, error_size, "'%.200s': a topic needs type=sub", url);
    return 0;
}

//  Appends "&name=value" to url with value percent-encoded. 0, or -1 when it does not fit.
static int s_put(char *url, size_t size, const char *name, const char *value)
{
    size_t at = strlen(url);
    int written = snprintf(url + at, size - at, "%s%s=", strchr(url, '?') ? "&" : "?", name);
    if (written < 0 || (size_t)written >= size - at)
        return -1;
    at += (size_t)written;
    for (const char *c = value; *c; c++) {
        unsigned char byte = (unsigned char)*c;
        bool plain = isalnum(byte) || strchr("-._~/", byte);
        if (at + (plain ? 1 : 3) >= size)
            return -1;
        if (plain)
            url[at++] = (char)byte;
        else
            at += (size_t)snprintf(url + at, size - at, "%%%02X", byte);
    }
    url[at] = 0;
    return 0;
}

int rill_zmq_url_format(const rill_zmq_options_t *options, char *url, size_t size)
{
    int written = snprintf(url, size, "zmq+%s", options->endpoint);
    if (written < 0 || (size_t)written >= size)
        return -1;
    static const char *const types[] = {"", "pull", "sub", "push", "pub"};
    char number[16];
    int rc = s_put(url, size, "mode", options->bind ? "bind" : "connect");
    if (options->type > RILL_ZMQ_DEFAULT && options->type <= RILL_ZMQ_PUB)
        rc |= s_put(url, size, "type", types[options->type]);
    if (options->topic[0])
        rc |= s_put(url, size, "topic", options->topic);
    if (options->timestamped)
        rc |= s_put(url, size, "timestamps", "1");
    if (options->has_end)
        rc |= s_put(url, size, "end", options->end);
#define S_PUT_NUMBER(field, name)                                                                  \
    if (options->field) {                                                                          \
        snprintf(number, sizeof number, "%d", options->field);                                     \
        rc |= s_put(url, size, name, number);                                                      \
    }
    S_PUT_NUMBER(hwm, "hwm")
    S_PUT_NUMBER(linger_ms, "linger")
    S_PUT_NUMBER(send_timeout_ms, "send_timeout")
    S_PUT_NUMBER(subscribers, "subscribers")
#undef S_PUT_NUMBER
    if (options->nodrop)
        rc |= s_put(url, size, "nodrop", "1");
    if (options->curve_cert[0])
        rc |= s_put(url, size, "curve_cert", options->curve_cert);
    if (options->curve_server_key[0])
        rc |= s_put(url, size, "curve_server_key", options->curve_server_key);
    return rc ? -1 : 0;
}

int rill_socket_text_url_parse(const char *url, char *host, size_t host_size, int *port,
                               char *error, size_t error_size)
{
    if (!url || !host || !port)
        return s_fail(error, error_size, "no URL given");
    if (strncmp(url, "tcp://", 6))
        return s_fail(error, error_size, "'%.200s' is not a TCP text URL: expected tcp://HOST:PORT",
                      url);
    const char *address = url + 6;
    if (strchr(address, '%') || strchr(address, '?') || strchr(address, '/'))
        return s_fail(error, error_size,
                      "'%.200s': a TCP text URL is tcp://HOST:PORT, with no path or parameters",
                      url);
    if (s_check_tcp(address, error, error_size))
        return -1;
    const char *colon = strrchr(address, ':');
    const char *start = address, *end = colon;
    if (address[0] == '[') {
        start = address + 1;
        end = strchr(address, ']');
    }
    if ((size_t)(end - start) >= host_size || (end - start == 1 && *start == '*'))
        return s_fail(error, error_size, "'%.200s': the host is %s", url,
                      *start == '*' ? "'*' (a TCP text source connects: name a host)" : "too long");
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = 0;
    return s_number(colon + 1, 1, 65535, port);
}
