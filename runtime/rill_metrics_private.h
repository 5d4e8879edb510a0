/*  rill_metrics_private.h: what the metrics JSON reader (rill_metrics_json.c) needs from the
    counters' storage (rill_metrics.c): counters read from a file own the plan read with them. */
#ifndef RILL_METRICS_PRIVATE_H_INCLUDED
#define RILL_METRICS_PRIVATE_H_INCLUDED

#include "rill_metrics.h"

//  Hands *plan_p (the plan self was made for) to self, which destroys it with itself; nulls
//  the caller's pointer.
void rill_metrics_adopt_plan(rill_metrics_t *self, rill_plan_t **plan_p);

#endif
