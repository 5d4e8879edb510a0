/*  rill_watermark_alignment.h: one job's watermark alignment group (Flink's
    withWatermarkAlignment). The job creates it from the plan; every timestamp-assigner subtask
    fed straight by a source subtask is a member, publishes its watermark here and stops
    reading its input while it runs more than its maximum drift ahead of the group's minimum.
    Members share it across threads through atomics: no lock, nothing allocated after new. */
#ifndef RILL_WATERMARK_ALIGNMENT_H_INCLUDED
#define RILL_WATERMARK_ALIGNMENT_H_INCLUDED

#include "rill_plan.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rill_watermark_alignment_t rill_watermark_alignment_t;

//  A group of `members` members (at least 1), each active with no watermark yet. NULL when
//  out of memory.
rill_watermark_alignment_t *rill_watermark_alignment_new(int members);
//  The group of a plan: each subtask of a timestamp assigner whose only input is a forward
//  edge from a source and whose alignment is not RILL_ALIGNMENT_OFF, in streaming mode. With
//  fewer than two such subtasks nobody aligns (every subtask's member is -1). NULL when out of
//  memory.
rill_watermark_alignment_t *rill_watermark_alignment_new_for_plan(const rill_plan_t *plan);
//  Destroys the group and sets the caller's pointer to NULL. Only once no member uses it.
void rill_watermark_alignment_destroy(rill_watermark_alignment_t **self_p);

//  The member index of global subtask `subtask` (groups made for a plan), or -1: not aligned.
int rill_watermark_alignment_member(const rill_watermark_alignment_t *self, int subtask);
//  How many members the group has (0 when a plan gave fewer than two).
int rill_watermark_alignment_size(const rill_watermark_alignment_t *self);

//  Publishes member's current watermark (INT64_MIN: none yet; such a member does not hold
//  the group back, so one that never gets a record cannot stall the others).
void rill_watermark_alignment_update(rill_watermark_alignment_t *self, int member,
                                     int64_t watermark);
//  An idle or finished member leaves the group (active false) and stops holding it back; it
//  rejoins (active true) when records come again.
void rill_watermark_alignment_set_active(rill_watermark_alignment_t *self, int member, bool active);
//  The lowest watermark among active members that have one; INT64_MAX when there is none.
int64_t rill_watermark_alignment_minimum(const rill_watermark_alignment_t *self);
//  Whether member should stop reading: its watermark is more than max_drift_ms (>= 0) ahead
//  of the group's minimum. The member at the minimum never pauses, so the minimum can
//  always advance.
bool rill_watermark_alignment_should_pause(const rill_watermark_alignment_t *self, int member,
                                           int64_t max_drift_ms);

#endif
