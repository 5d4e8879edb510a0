/*  rill.h: the one header a rill program includes. */
#ifndef RILL_H_INCLUDED
#define RILL_H_INCLUDED

#define RILL_VERSION_MAJOR 0
#define RILL_VERSION_MINOR 1
#define RILL_VERSION_PATCH 0

#include "rill_buffer.h"
#include "rill_cluster.h"
#include "rill_results.h"
#include "rill_collector.h"
#include "rill_connectors_files.h"
#include "rill_env.h"
#include "rill_export.h"
#include "rill_functions.h"
#include "rill_graph.h"
#include "rill_harness.h"
#include "rill_iterate.h"
#include "rill_kafka.h"
#include "rill_job_plugin.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_process.h"
#include "rill_record.h"
#include "rill_savepoint.h"
#include "rill_time.h"
#include "rill_trigger.h"
#include "rill_window.h"

#endif
