/*  rill_kafka.h: Apache Kafka as a source and a sink, through librdkafka (the real protocol
    client). The source reads one topic, its partitions spread over the source's subtasks
    (partition p to subtask p % parallelism, assigned explicitly: no consumer-group
    rebalancing), stamps each record with its Kafka timestamp and makes watermarks per
    partition; its checkpoints hold the next offset of each partition. The sink writes every
    record into one topic, at least once (flushed before each checkpoint is acknowledged) or
    exactly once (one Kafka transaction per checkpoint interval, committed when the checkpoint
    completes). */
#ifndef RILL_KAFKA_H_INCLUDED
#define RILL_KAFKA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_env.h"
#include "rill_export.h"
#include "rill_functions.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Where a source starts in a partition the checkpoint it restores from does not cover.
typedef enum {
    RILL_KAFKA_EARLIEST = 0, //  the partition's first offset
    RILL_KAFKA_LATEST = 1,   //  its end when the subtask starts: only records produced later
} rill_kafka_start_t;

//  How long opening waits for the brokers (metadata, transactions) before failing the job
//  with a message, in ms.
#define RILL_KAFKA_DEFAULT_TIMEOUT 10000

//  A Kafka source. Strings are copied by rill_env_from_kafka.
typedef struct {
    const char *brokers;   //  bootstrap servers, "host:port[,host:port...]" (required)
    const char *topic;     //  (required; it must exist)
    const char *group_id;  //  NULL: "rill-<job name>" (offsets are never committed to it)
    const char *client_id; //  NULL: "rill"
    //  Extra librdkafka properties, "key=value" each, NULL-terminated (NULL: none); they come
    //  after rill's own, so they may override them (security.protocol, sasl.*, ...).
    const char *const *properties;
    rill_kafka_start_t start;
    //  Stop at the end offsets each subtask sees when it starts (a batch job over what the
    //  topic holds now); false: read on forever.
    bool bounded;
    //  Per-partition watermarks: a partition's watermark is its highest record timestamp -
    //  out_of_orderness_ms - 1; the subtask's is the least over its partitions that are not
    //  idle (no record for idle_timeout_ms; 0: a partition never goes idle). A subtask whose
    //  partitions are all idle (or that has none) marks its output idle.
    int64_t out_of_orderness_ms;
    int idle_timeout_ms;
    int timeout_ms; //  0: RILL_KAFKA_DEFAULT_TIMEOUT
} rill_kafka_source_t;

typedef enum {
    RILL_KAFKA_AT_LEAST_ONCE = 0, //  flush at each checkpoint and at the end
    RILL_KAFKA_EXACTLY_ONCE = 1,  //  a transaction per checkpoint interval (two-phase commit)
} rill_kafka_guarantee_t;

//  A Kafka sink. Strings are copied by rill_stream_to_kafka.
typedef struct {
    const char *brokers; //  (required)
    const char *topic;   //  (required; it must exist)
    const char *client_id;
    const char *const *properties; //  as the source's
    rill_kafka_guarantee_t guarantee;
    //  The record's Kafka key (NULL: none, the producer's partitioner spreads records).
    rill_key_fn key;
    void *key_ctx;
    int timeout_ms; //  open, flush and commit waits; 0: RILL_KAFKA_DEFAULT_TIMEOUT
} rill_kafka_sink_t;

//  Adds a Kafka source. Each record's event time is its Kafka timestamp, and the source
//  emits per-partition watermarks itself (no rill_stream_assign_timestamps needed; one after
//  it would replace them with its own). Its lag (high watermark - next offset, summed over
//  the subtask's partitions) is the subtask's gauge "kafka_lag" (--metrics, metrics JSON).
//  Unreachable brokers or an unknown topic fail the job when it starts, after at most
//  timeout_ms, with a message naming them.
RILL_EXPORT rill_stream_t *rill_env_from_kafka(rill_env_t *env, const rill_kafka_source_t *options);
//  Writes every record of in into a Kafka topic; returns the sink's handle. Exactly once
//  needs checkpoints (rill_env_enable_checkpointing): records wait in memory until the
//  checkpoint after them completes, then go out in one transaction, whose transactional.id
//  is "<job name>-<operator name>-<subtask>", so a restarted attempt fences the old one.
//  Readers must use isolation.level=read_committed.
RILL_EXPORT rill_stream_t *rill_stream_to_kafka(rill_stream_t *in,
                                                const rill_kafka_sink_t *options);

//  A Kafka URL as the bundled jobs take it:
//      kafka://host:port[,host:port...]/topic[?group=G&from=earliest|latest&bounded=true|false]
#define RILL_KAFKA_URL_FIELD 256
typedef struct {
    char brokers[RILL_KAFKA_URL_FIELD * 2];
    char topic[RILL_KAFKA_URL_FIELD];
    char group[RILL_KAFKA_URL_FIELD]; //  "" when not given
    rill_kafka_start_t start;         //  default earliest
    bool bounded;                     //  default false
} rill_kafka_url_t;
//  Parses url into *out. 0, or -1 with a message in error (size bytes) saying what is wrong.
RILL_EXPORT int rill_kafka_url_parse(const char *url, rill_kafka_url_t *out, char *error,
                                     size_t size);

#ifdef __cplusplus
}
#endif

#endif
