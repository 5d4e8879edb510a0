/*  rill_plan_place.c: which process runs each subtask when a job spans several (the launcher
    starts them, runtime/cluster says which one this is). The placement is part of the plan
    (pure data, in the plan JSON, drawn by viz) because every process must derive the same one
    from the same plan, and because what it decides, the transport of each channel, is what
    the job deploys. The rule (Flink's slot sharing) is in rill_plan.h at rill_plan_place. */
#include "rill_plan_private.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rill_plan_processes_destroy(rill_plan_t *self)
{
    for (int i = 0; self->processes && i < self->process_count; i++)
        free((char *)self->processes[i].host);
    free(self->processes);
    self->processes = NULL;
    self->process_count = 0;
}

int rill_plan_processes_reset(rill_plan_t *self, int count)
{
    assert(count >= 1 && count <= RILL_MAX_PROCESSES);
    rill_plan_processes_destroy(self);
    self->processes = calloc((size_t)count, sizeof(rill_plan_process_t));
    if (!self->processes)
        return -1;
    self->process_count = count;
    for (int i = 0; i < count; i++)
        self->processes[i].rank = i;
    return 0;
}

int rill_plan_placement_update(rill_plan_t *self)
{
    //  A process's slots are the distinct subtask indices it runs: one row of flags per process
    //  (at most RILL_MAX_PROCESSES x RILL_MAX_PARALLELISM bytes), so that a placement read from a
    //  file, which need not follow the rule, counts the same way.
    int slots = 1;
    for (int i = 0; i < self->operator_count; i++)
        if (self->operators[i].parallelism > slots)
            slots = self->operators[i].parallelism;
    unsigned char *held = calloc((size_t)self->process_count * (size_t)slots, 1);
    if (!held)
        return -1;
    for (int r = 0; r < self->process_count; r++)
        self->processes[r].slots = self->processes[r].subtasks = self->processes[r].tasks = 0;
    for (int id = 0; id < self->subtask_count; id++) {
        const rill_plan_subtask_t *subtask = &self->subtasks[id];
        assert(subtask->process >= 0 && subtask->process < self->process_count);
        rill_plan_process_t *process = &self->processes[subtask->process];
        process->subtasks++;
        process->tasks += subtask->task == id;
        unsigned char *flag =
            &held[(size_t)subtask->process * (size_t)slots + (size_t)subtask->index];
        process->slots += !*flag;
        *flag = 1;
    }
    free(held);
    for (int id = 0; id < self->channel_count; id++) {
        rill_plan_channel_t *channel = &self->channels[id];
        channel->transport = self->subtasks[channel->from_subtask].process ==
                                     self->subtasks[channel->to_subtask].process
                                 ? RILL_TRANSPORT_INPROC
                                 : RILL_TRANSPORT_TCP;
    }
    return 0;
}

int rill_plan_place(rill_plan_t *self, int process_count, char *error, size_t error_size)
{
    assert(self);
    if (process_count < 1 || process_count > RILL_MAX_PROCESSES) {
        if (error && error_size)
            snprintf(error, error_size, "placement: %d processes is out of range (1..%d)",
                     process_count, RILL_MAX_PROCESSES);
        return -1;
    }
    if (rill_plan_processes_reset(self, process_count))
        goto out_of_memory;
    //  Slot i (subtask index i of every operator) on process i % K: round robin rather than
    //  blocks of consecutive slots, because low slots are the fullest (every operator has a
    //  subtask 0, only the widest have the last), so blocks would pile the fullest on rank 0.
    for (int id = 0; id < self->subtask_count; id++)
        self->subtasks[id].process = self->subtasks[id].index % process_count;
    if (rill_plan_placement_update(self))
        goto out_of_memory;
    return 0;
out_of_memory:
    if (error && error_size)
        snprintf(error, error_size, "placement: out of memory");
    return -1;
}

int rill_plan_set_process(rill_plan_t *self, int rank, const char *host, int pid)
{
    assert(self);
    if (rank < 0 || rank >= self->process_count || pid < 0)
        return -1;
    char *copy = NULL;
    if (host && !(copy = strdup(host)))
        return -1;
    rill_plan_process_t *process = &self->processes[rank];
    free((char *)process->host);
    process->host = copy;
    process->pid = pid;
    return 0;
}

int rill_plan_process_count(const rill_plan_t *self)
{
    return self->process_count;
}

const rill_plan_process_t *rill_plan_process(const rill_plan_t *self, int rank)
{
    return rank >= 0 && rank < self->process_count ? &self->processes[rank] : NULL;
}

int rill_plan_set_remote_endpoint(rill_plan_t *self, int edge, int to_subtask,
                                  const char *endpoint)
{
    assert(self && endpoint);
    if (edge < 0 || edge >= self->edge_count || to_subtask < 0 ||
        to_subtask >= self->subtask_count || strlen(endpoint) >= RILL_ENDPOINT_MAX ||
        strncmp(endpoint, "tcp://", 6) != 0)
        return -1;
    const rill_plan_edge_t *e = &self->edges[edge];
    if (self->subtasks[to_subtask].op != e->to)
        return -1;
    int set = 0;
    for (int c = e->first_channel; c < e->first_channel + e->channel_count; c++) {
        rill_plan_channel_t *channel = &self->channels[c];
        if (channel->to_subtask == to_subtask && channel->transport == RILL_TRANSPORT_TCP) {
            snprintf(channel->endpoint, sizeof channel->endpoint, "%s", endpoint);
            set++;
        }
    }
    return set ? 0 : -1;
}

//  FNV-1a, 64 bits: a digest that two processes compare, not a defence against anyone (the
//  control plane is authenticated), so a short dependency-free hash is enough.
static uint64_t s_fnv(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint64_t s_fnv_int(uint64_t hash, int64_t value)
{
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)((uint64_t)value >> (8 * i));
    return s_fnv(hash, bytes, sizeof bytes);
}

uint64_t rill_plan_digest(const rill_plan_t *self)
{
    uint64_t hash = 0xcbf29ce484222325ull;
    hash = s_fnv_int(hash, self->mode);
    hash = s_fnv_int(hash, self->process_count);
    for (int i = 0; i < self->operator_count; i++) {
        const rill_plan_operator_t *op = &self->operators[i];
        hash = s_fnv(hash, op->name, strlen(op->name) + 1);
        hash = s_fnv_int(hash, op->kind);
        hash = s_fnv_int(hash, op->parallelism);
        hash = s_fnv_int(hash, op->chain);
    }
    for (int i = 0; i < self->edge_count; i++) {
        const rill_plan_edge_t *e = &self->edges[i];
        hash = s_fnv_int(hash, e->from);
        hash = s_fnv_int(hash, e->to);
        hash = s_fnv_int(hash, e->pattern);
        hash = s_fnv_int(hash, e->combined);
        hash = s_fnv_int(hash, e->channel_count);
    }
    for (int i = 0; i < self->subtask_count; i++)
        hash = s_fnv_int(hash, self->subtasks[i].process);
    return hash;
}
