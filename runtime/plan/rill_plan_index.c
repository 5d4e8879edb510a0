/*  rill_plan_index.c: the plan's channels indexed by subtask. Each subtask's reader and writer
    look up the channels they own on each edge; without the index every one of them scanned all
    channels of the edge, p * p of them on an all-to-all edge, so setting up a job took p^3
    steps. Built once per plan with a counting sort per edge (channels are numbered edge by
    edge, sender by sender, so each group comes out in id order). */
#include "rill_plan_private.h"

#include <assert.h>
#include <stdlib.h>

//  Groups the channels of edge e by the index `which` picks (0: sender, 1: receiver) into
//  *start (groups + 1 offsets) and *ids.
static int s_group(const rill_plan_t *self, const rill_plan_edge_t *e, int groups, int which,
                   int **start_p, int **ids_p)
{
    int *start = calloc((size_t)groups + 1, sizeof(int));
    int *ids = calloc((size_t)e->channel_count + 1, sizeof(int));
    int *cursor = calloc((size_t)groups + 1, sizeof(int));
    if (!start || !ids || !cursor) {
        free(start);
        free(ids);
        free(cursor);
        return -1;
    }
    for (int c = e->first_channel; c < e->first_channel + e->channel_count; c++) {
        const rill_plan_channel_t *ch = &self->channels[c];
        int index = which ? ch->to_index : ch->from_index;
        //  The planner and the JSON reader both checked the indices against the parallelism.
        assert(index >= 0 && index < groups);
        start[index + 1]++;
    }
    for (int g = 0; g < groups; g++) {
        start[g + 1] += start[g];
        cursor[g] = start[g];
    }
    for (int c = e->first_channel; c < e->first_channel + e->channel_count; c++) {
        const rill_plan_channel_t *ch = &self->channels[c];
        ids[cursor[which ? ch->to_index : ch->from_index]++] = c;
    }
    free(cursor);
    *start_p = start;
    *ids_p = ids;
    return 0;
}

int rill_plan_index_channels(rill_plan_t *self)
{
    assert(self && !self->edge_channels);
    self->edge_channels = calloc((size_t)self->edge_count + 1, sizeof(rill_plan_edge_channels_t));
    if (!self->edge_channels)
        return -1;
    for (int id = 0; id < self->edge_count; id++) {
        const rill_plan_edge_t *e = &self->edges[id];
        rill_plan_edge_channels_t *index = &self->edge_channels[id];
        if (s_group(self, e, self->operators[e->from].parallelism, 0, &index->by_sender_start,
                    &index->by_sender) ||
            s_group(self, e, self->operators[e->to].parallelism, 1, &index->by_receiver_start,
                    &index->by_receiver))
            return -1; //  what was built is freed with the plan
    }
    return 0;
}

void rill_plan_index_destroy(rill_plan_t *self)
{
    if (!self->edge_channels)
        return;
    for (int id = 0; id < self->edge_count; id++) {
        rill_plan_edge_channels_t *index = &self->edge_channels[id];
        free(index->by_sender_start);
        free(index->by_sender);
        free(index->by_receiver_start);
        free(index->by_receiver);
    }
    free(self->edge_channels);
    self->edge_channels = NULL;
}

int rill_plan_channels_from(const rill_plan_t *self, int edge, int from_index, const int **channels)
{
    assert(self && self->edge_channels && channels);
    assert(edge >= 0 && edge < self->edge_count);
    assert(from_index >= 0 && from_index < self->operators[self->edges[edge].from].parallelism);
    const rill_plan_edge_channels_t *index = &self->edge_channels[edge];
    *channels = index->by_sender + index->by_sender_start[from_index];
    return index->by_sender_start[from_index + 1] - index->by_sender_start[from_index];
}

int rill_plan_channels_to(const rill_plan_t *self, int edge, int to_index, const int **channels)
{
    assert(self && self->edge_channels && channels);
    assert(edge >= 0 && edge < self->edge_count);
    assert(to_index >= 0 && to_index < self->operators[self->edges[edge].to].parallelism);
    const rill_plan_edge_channels_t *index = &self->edge_channels[edge];
    *channels = index->by_receiver + index->by_receiver_start[to_index];
    return index->by_receiver_start[to_index + 1] - index->by_receiver_start[to_index];
}
