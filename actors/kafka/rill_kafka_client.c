/*  rill_kafka_client.c: librdkafka configuration and topic metadata for the Kafka operators
    (rill_kafka_client.h). */
#include "rill_kafka_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rill_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *error,
                        size_t size)
{
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        snprintf(error, size, "Kafka property %.100s: %s", name, why);
        return -1;
    }
    return 0;
}

int rill_kafka_conf_apply(rd_kafka_conf_t *conf, const char *const *properties, char *error,
                          size_t size)
{
    for (size_t i = 0; properties && properties[i]; i++) {
        const char *equals = strchr(properties[i], '=');
        char name[256];
        size_t length = equals ? (size_t)(equals - properties[i]) : 0;
        if (!equals || length == 0 || length >= sizeof name) {
            snprintf(error, size, "Kafka property '%.100s' is not key=value", properties[i]);
            return -1;
        }
        memcpy(name, properties[i], length);
        name[length] = '\0';
        if (rill_kafka_conf_set(conf, name, equals + 1, error, size))
            return -1;
    }
    return 0;
}

rd_kafka_conf_t *rill_kafka_conf_new(const char *brokers, const char *client_id, char *error,
                                     size_t size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(error, size, "out of memory");
        return NULL;
    }
    //  log_level 2: critical only (librdkafka logs to stderr; broker-down chatter would drown
    //  the job's own message, which says the same once).
    if (rill_kafka_conf_set(conf, "bootstrap.servers", brokers, error, size) ||
        rill_kafka_conf_set(conf, "client.id", client_id ? client_id : "rill", error, size) ||
        rill_kafka_conf_set(conf, "log_level", "2", error, size))
        goto failed;
    return conf;
failed:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int rill_kafka_partition_count(rd_kafka_t *client, const char *brokers, const char *topic,
                               int timeout_ms, char *error, size_t size)
{
    rd_kafka_topic_t *handle = rd_kafka_topic_new(client, topic, NULL);
    if (!handle) {
        snprintf(error, size, "Kafka topic '%.100s': %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const struct rd_kafka_metadata *metadata = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(client, 0, handle, &metadata, timeout_ms);
    int count = -1;
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        snprintf(error, size,
                 "cannot reach the Kafka brokers '%.100s' within %d ms (%s): are they up, and "
                 "is the address right?",
                 brokers, timeout_ms, rd_kafka_err2str(err));
    else if (err)
        snprintf(error, size, "Kafka metadata for topic '%.100s' from '%.100s': %s", topic, brokers,
                 rd_kafka_err2str(err));
    else if (metadata->topic_cnt != 1 || metadata->topics[0].err ||
             metadata->topics[0].partition_cnt <= 0) {
        rd_kafka_resp_err_t topic_err =
            metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN;
        snprintf(error, size, "Kafka topic '%.100s' does not exist on '%.100s' (%s)", topic,
                 brokers, topic_err ? rd_kafka_err2str(topic_err) : "it has no partitions");
    } else
        count = metadata->topics[0].partition_cnt;
    if (metadata)
        rd_kafka_metadata_destroy(metadata);
    rd_kafka_topic_destroy(handle);
    return count;
}
