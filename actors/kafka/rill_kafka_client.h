/*  rill_kafka_client.h: what the Kafka source and sink (rill_op_kafka_source.c,
    rill_op_kafka_sink.c) share: a librdkafka configuration from the user's options, and the
    topic's metadata fetched with a bounded wait, so that unreachable brokers or an unknown
    topic fail the subtask's open with a message instead of a hang. */
#ifndef RILL_KAFKA_CLIENT_H_INCLUDED
#define RILL_KAFKA_CLIENT_H_INCLUDED

#include <librdkafka/rdkafka.h>
#include <stddef.h>

//  A configuration with bootstrap.servers, client.id and quiet logging. NULL with error
//  filled.
rd_kafka_conf_t *rill_kafka_conf_new(const char *brokers, const char *client_id, char *error,
                                     size_t size);
//  Sets each "key=value" of properties (NULL-terminated, may be NULL): after rill's own, so
//  the user's win. 0, or -1 with error filled.
int rill_kafka_conf_apply(rd_kafka_conf_t *conf, const char *const *properties, char *error,
                          size_t size);
//  Sets one property; 0, or -1 with error filled.
int rill_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *error,
                        size_t size);
//  The number of partitions of topic, asking the brokers for at most timeout_ms. -1 with
//  error filled when they cannot be reached in time or the topic does not exist.
int rill_kafka_partition_count(rd_kafka_t *client, const char *brokers, const char *topic,
                               int timeout_ms, char *error, size_t size);

#endif
