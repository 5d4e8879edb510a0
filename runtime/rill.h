/*  rill.h: the one header a rill program includes. */
#ifndef RILL_H_INCLUDED
#define RILL_H_INCLUDED

#define RILL_VERSION_MAJOR 0
#define RILL_VERSION_MINOR 1
#define RILL_VERSION_PATCH 0

#include "rill_collect.h"
#include "rill_env.h"
#include "rill_graph.h"
#include "rill_job_plugin.h"
#include "rill_metrics.h"
#include "rill_plan.h"
#include "rill_record.h"
#include "rill_time.h"

#endif
