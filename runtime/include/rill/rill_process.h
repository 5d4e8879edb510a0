/*  rill_process.h: the keyed process function's handle and callback types (its state and
    timer calls are in rill_time.h). */
#ifndef RILL_PROCESS_H_INCLUDED
#define RILL_PROCESS_H_INCLUDED

#include <stdint.h>

#include "rill_collector.h"
#include "rill_record.h"
#include "rill_window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rill_process_t rill_process_t;

//  Called per record, with the record's key current: read and write state, register timers.
typedef int (*rill_process_fn)(rill_process_t *process, const rill_record_t *in,
                               rill_collector_t *out, void *ctx);

//  Called for each record of the broadcast stream of a broadcast process function
//  (rill_stream_broadcast_process), in every subtask, with no key current: the one place that
//  may write broadcast state.
typedef int (*rill_broadcast_fn)(rill_process_t *process, const rill_record_t *in,
                                 rill_collector_t *out, void *ctx);

//  Called for each joined pair of an interval join (rill_stream_interval_join): emit what the
//  pair makes (a record emitted without a timestamp carries the later of the two).
typedef int (*rill_join_fn)(const rill_record_t *left, const rill_record_t *right,
                            rill_collector_t *out, void *ctx);

//  Called when a timer fires, with the key that registered it current.
typedef int (*rill_timer_fn)(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                             rill_collector_t *out, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
