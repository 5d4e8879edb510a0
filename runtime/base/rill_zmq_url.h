/*  rill_zmq_url.h: the connector URLs (rill_connectors_zmq.h declares the parsers): and the
    canonical form the stream API stores in an operator's spec and each subtask parses back. */
#ifndef RILL_ZMQ_URL_H_INCLUDED
#define RILL_ZMQ_URL_H_INCLUDED

#include "rill_connectors_zmq.h"

//  Writes options as a zmq+ URL that rill_zmq_url_parse reads back to the same options.
//  0, or -1 when it does not fit in size bytes.
int rill_zmq_url_format(const rill_zmq_options_t *options, char *url, size_t size);

//  The longest canonical URL: every field at its longest, percent-encoded.
#define RILL_ZMQ_URL_MAX (RILL_ZMQ_ENDPOINT_MAX + 12 * RILL_ZMQ_TEXT_MAX + 256)

#endif
