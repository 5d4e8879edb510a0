/*  rill_watermark_alignment.c: the shared state of one job's alignment group. Each member
    owns one slot (its watermark and whether it is active) and is the only writer of it; any
    member reads every slot to find the minimum. Relaxed atomics suffice: a slightly stale
    minimum only delays a pause or a resume by one check, it never loses data. */
#include "rill_watermark_alignment.h"
#include "rill_plan_private.h"
#include "rill_graph_private.h"
#include "rill_graph.h"

#include <assert.h>
#include <stdlib.h>

#define S_TAG 0x52574d41 //  "RWMA": checked on entry, the group crosses threads

//  One cache line per member: each is written often by its own subtask only, and a shared
//  line would make every write slow down every reader.
typedef struct {
    int64_t watermark;
    int32_t active;
    char padding[64 - sizeof(int64_t) - sizeof(int32_t)];
} s_slot_t;

struct rill_watermark_alignment_t {
    uint32_t tag;
    int size;
    s_slot_t *slots;
    int *member_of; //  per global subtask (groups made for a plan), else NULL
    int subtasks;
};

rill_watermark_alignment_t *rill_watermark_alignment_new(int members)
{
    assert(members >= 0);
    rill_watermark_alignment_t *self = calloc(1, sizeof(rill_watermark_alignment_t));
    if (!self)
        return NULL;
    self->tag = S_TAG;
    self->size = members;
    self->slots = calloc((size_t)members + 1, sizeof(s_slot_t));
    if (!self->slots) {
        rill_watermark_alignment_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < members; i++)
        self->slots[i] = (s_slot_t){.watermark = INT64_MIN, .active = 1};
    return self;
}

//  Whether subtasks of operator `op` may align: an assigner whose only input comes from a
//  source, one subtask to one. Pausing anything else could starve the slowest member: an
//  upstream subtask blocked on a paused receiver also stops feeding the others.
static bool s_can_align(const rill_plan_t *plan, const rill_graph_t *graph, int op)
{
    const rill_plan_operator_t *aligned = rill_plan_operator(plan, op);
    if (aligned->kind != RILL_OP_TIMESTAMPS || aligned->input_count != 1)
        return false;
    if (rill_graph_operator(graph, op)->watermarks.max_drift_ms == RILL_ALIGNMENT_OFF)
        return false;
    const rill_plan_edge_t *edge = rill_plan_edge(plan, rill_plan_input_edge(plan, op, 0));
    const rill_plan_operator_t *from = rill_plan_operator(plan, edge->from);
    return edge->pattern == RILL_PATTERN_FORWARD && rill_op_kind_is_source(from->kind) &&
           from->output_count == 1;
}

rill_watermark_alignment_t *rill_watermark_alignment_new_for_plan(const rill_plan_t *plan)
{
    const rill_graph_t *graph = rill_plan_graph(plan);
    int subtasks = rill_plan_subtask_count(plan);
    int *member_of = malloc(((size_t)subtasks + 1) * sizeof(int));
    if (!member_of)
        return NULL;
    int members = 0;
    for (int i = 0; i < subtasks; i++) {
        const rill_plan_subtask_t *subtask = rill_plan_subtask(plan, i);
        bool aligned = graph && rill_plan_mode(plan) == RILL_MODE_STREAMING &&
                       s_can_align(plan, graph, subtask->op);
        member_of[i] = aligned ? members++ : -1;
    }
    if (members < 2) {
        //  One member alone has nobody to wait for: nothing to align.
        for (int i = 0; i < subtasks; i++)
            member_of[i] = -1;
        members = 0;
    }
    rill_watermark_alignment_t *self = rill_watermark_alignment_new(members);
    if (!self) {
        free(member_of);
        return NULL;
    }
    self->member_of = member_of;
    self->subtasks = subtasks;
    return self;
}

void rill_watermark_alignment_destroy(rill_watermark_alignment_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_watermark_alignment_t *self = *self_p;
    assert(self->tag == S_TAG);
    self->tag = 0;
    free(self->slots);
    free(self->member_of);
    free(self);
    *self_p = NULL;
}

int rill_watermark_alignment_member(const rill_watermark_alignment_t *self, int subtask)
{
    assert(self->tag == S_TAG);
    if (!self->member_of || subtask < 0 || subtask >= self->subtasks)
        return -1;
    return self->member_of[subtask];
}

int rill_watermark_alignment_size(const rill_watermark_alignment_t *self)
{
    assert(self->tag == S_TAG);
    return self->size;
}

void rill_watermark_alignment_update(rill_watermark_alignment_t *self, int member,
                                     int64_t watermark)
{
    assert(self->tag == S_TAG && member >= 0 && member < self->size);
    __atomic_store_n(&self->slots[member].watermark, watermark, __ATOMIC_RELAXED);
}

void rill_watermark_alignment_set_active(rill_watermark_alignment_t *self, int member, bool active)
{
    assert(self->tag == S_TAG && member >= 0 && member < self->size);
    __atomic_store_n(&self->slots[member].active, active ? 1 : 0, __ATOMIC_RELAXED);
}

int64_t rill_watermark_alignment_minimum(const rill_watermark_alignment_t *self)
{
    assert(self->tag == S_TAG);
    int64_t minimum = INT64_MAX;
    for (int i = 0; i < self->size; i++) {
        if (!__atomic_load_n(&self->slots[i].active, __ATOMIC_RELAXED))
            continue;
        int64_t watermark = __atomic_load_n(&self->slots[i].watermark, __ATOMIC_RELAXED);
        if (watermark != INT64_MIN && watermark < minimum)
            minimum = watermark;
    }
    return minimum;
}

bool rill_watermark_alignment_should_pause(const rill_watermark_alignment_t *self, int member,
                                           int64_t max_drift_ms)
{
    assert(self->tag == S_TAG && member >= 0 && member < self->size && max_drift_ms >= 0);
    const s_slot_t *slot = &self->slots[member];
    if (!__atomic_load_n(&slot->active, __ATOMIC_RELAXED))
        return false;
    int64_t own = __atomic_load_n(&slot->watermark, __ATOMIC_RELAXED);
    int64_t minimum = rill_watermark_alignment_minimum(self);
    if (own == INT64_MIN || minimum == INT64_MAX || own <= minimum)
        return false;
    //  own > minimum here, so the difference fits in uint64_t even across the whole int64 range.
    return (uint64_t)own - (uint64_t)minimum > (uint64_t)max_drift_ms;
}
