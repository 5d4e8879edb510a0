/*  rill_checkpoint_coordinator.c: see the header. One checkpoint is in flight at a time
    (Flink's default of one concurrent checkpoint), so each task has one acknowledgement slot
    and the state files of the checkpoint in flight go straight into its metadata. */
#include "rill_checkpoint_coordinator.h"
#include "rill_checkpoint.h"
#include "rill_checkpoint_meta.h"
#include "rill_checkpoint_store.h"
#include "rill_clock.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rill_checkpoint_coordinator_t {
    const rill_plan_t *plan;
    rill_checkpoint_config_t config;
    rill_checkpointing_t actors;
    rill_checkpoint_store_t *store;     //  periodic checkpoints (NULL: none)
    rill_checkpoint_store_t *savepoints; //  stop-with-savepoint (NULL: none asked)
    rill_checkpoint_t *restore;         //  the current attempt's restore point (NULL: none)
    //  Fault injection, as parsed: the subtask, its record, the attempt it fails in.
    int inject_subtask;
    uint64_t inject_after;
    int inject_attempt;
    //  The checkpoint in flight.
    int64_t next_id;
    int64_t pending;
    bool pending_savepoint;
    //  Read by the actors' threads, which may still write a timed-out checkpoint's state
    //  while the next one starts: which checkpoint id is a savepoint.
    atomic_llong savepoint_id;
    //  Each operator subtask's state file of its latest write, by global subtask id: written
    //  by its own actor before the task's ACK, copied into the metadata on the ACK. Never
    //  freed while actors run, so a late writer never writes into freed memory.
    rill_state_file_t *files;
    int64_t pending_since_ms;
    rill_checkpoint_meta_t *meta;
    bool *acked; //  by task
    int tasks;
    int acks;
    uint64_t pending_bytes;
    uint64_t pending_alignment_ns;
    int64_t last_trigger_ms;
    bool savepoint_wanted;
    rill_checkpoint_stats_t summary;
};

//  ---- what the actors call (their threads)

static int s_write_state(void *ctx, int64_t checkpoint, int subtask, const void *data,
                         size_t size, char *error, size_t error_size)
{
    rill_checkpoint_coordinator_t *self = ctx;
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, subtask);
    bool savepoint = atomic_load(&self->savepoint_id) == checkpoint;
    rill_checkpoint_store_t *store = savepoint ? self->savepoints : self->store;
    return rill_checkpoint_store_write_state(store, checkpoint, s->op, s->index, data, size,
                                             &self->files[subtask], error, error_size);
}

static rill_state_reader_t *s_restore(void *ctx, int subtask, char *error, size_t error_size)
{
    rill_checkpoint_coordinator_t *self = ctx;
    *error = 0;
    if (!self->restore)
        return NULL;
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, subtask);
    const rill_plan_operator_t *op = rill_plan_operator(self->plan, s->op);
    const rill_checkpoint_operator_t *old = rill_checkpoint_operator(self->restore, s->op);
    const rill_state_part_t *parts = rill_checkpoint_state(self->restore, s->op);
    int old_parallelism = old ? old->parallelism : 0;
    rill_state_reader_t *reader = rill_state_reader_new(parts, parts ? old_parallelism : 0,
                                                        old_parallelism, s->index,
                                                        op->parallelism);
    if (!reader)
        snprintf(error, error_size, "out of memory reading checkpoint %lld",
                 (long long)rill_checkpoint_id(self->restore));
    return reader;
}

//  ---- set up

//  "OPERATOR:INDEX:RECORDS[:ATTEMPT]", INDEX counted from 1 as the views show it. 0 or -1.
static int s_parse_inject(rill_checkpoint_coordinator_t *self, const char *spec, char *error,
                          size_t error_size)
{
    self->inject_subtask = -1;
    if (!spec || !*spec)
        return 0;
    char name[256];
    int index = 0, attempt = 0;
    unsigned long long records = 0;
    //  The operator's name may hold ':' itself: read the numbers from the end.
    int fields = 0;
    const char *at = spec + strlen(spec);
    const char *cuts[3] = {NULL, NULL, NULL};
    for (const char *p = at - 1; p >= spec && fields < 3; p--)
        if (*p == ':')
            cuts[fields++] = p;
    const char *name_end = NULL;
    if (fields >= 3 && sscanf(cuts[2] + 1, "%d:%llu:%d", &index, &records, &attempt) == 3)
        name_end = cuts[2];
    else if (fields >= 2 && sscanf(cuts[1] + 1, "%d:%llu", &index, &records) == 2)
        name_end = cuts[1];
    if (!name_end || name_end == spec || (size_t)(name_end - spec) >= sizeof name || index < 1 ||
        records < 1 || attempt < 0) {
        snprintf(error, error_size,
                 "RILL_FAIL '%.100s': expected OPERATOR:INDEX:RECORDS[:ATTEMPT] (INDEX from 1, "
                 "RECORDS from 1)",
                 spec);
        return -1;
    }
    memcpy(name, spec, (size_t)(name_end - spec));
    name[name_end - spec] = 0;
    for (int id = 0; id < rill_plan_operator_count(self->plan); id++) {
        const rill_plan_operator_t *op = rill_plan_operator(self->plan, id);
        if (strcmp(op->name, name) != 0)
            continue;
        if (index > op->parallelism) {
            snprintf(error, error_size, "RILL_FAIL: operator '%s' has %d subtasks, not %d",
                     name, op->parallelism, index);
            return -1;
        }
        if (rill_op_kind_is_source(op->kind)) {
            snprintf(error, error_size,
                     "RILL_FAIL: operator '%s' is a source; name an operator that receives "
                     "records",
                     name);
            return -1;
        }
        self->inject_subtask = op->first_subtask + index - 1;
        self->inject_after = records;
        self->inject_attempt = attempt;
        return 0;
    }
    snprintf(error, error_size, "RILL_FAIL: no operator named '%s' in this job", name);
    return -1;
}

rill_checkpoint_coordinator_t *rill_checkpoint_coordinator_new(const rill_plan_t *plan,
                                                               const rill_checkpoint_config_t *config,
                                                               char *error, size_t error_size)
{
    assert(plan && config);
    rill_checkpoint_coordinator_t *self = calloc(1, sizeof(rill_checkpoint_coordinator_t));
    if (!self) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    self->plan = plan;
    self->config = *config;
    self->summary.enabled = true;
    self->next_id = 1;
    self->files = calloc((size_t)rill_plan_subtask_count(plan) + 1, sizeof(rill_state_file_t));
    if (!self->files) {
        snprintf(error, error_size, "out of memory");
        free(self);
        return NULL;
    }
    self->actors = (rill_checkpointing_t){
        .write_state = s_write_state,
        .restore = s_restore,
        .ctx = self,
        .taking = config->interval_ms > 0 || (config->savepoint_dir && *config->savepoint_dir),
        .alignment_bound = config->alignment_bound,
        .fail_subtask = -1};
    if (s_parse_inject(self, config->inject, error, error_size))
        goto fail;
    if (config->interval_ms > 0 && (!config->dir || !*config->dir)) {
        snprintf(error, error_size, "checkpoints every %d ms need a checkpoint directory",
                 config->interval_ms);
        goto fail;
    }
    if (config->dir && *config->dir) {
        self->store = rill_checkpoint_store_new(config->dir, config->kept > 0 ? config->kept : 1,
                                                error, error_size);
        if (!self->store)
            goto fail;
        //  Above anything already in the directory: a restore takes the highest id, so a new
        //  checkpoint numbered below an old run's would never be the one restored.
        int64_t last = rill_checkpoint_store_last_id(self->store, error, error_size);
        if (last == -2)
            goto fail;
        if (last >= self->next_id)
            self->next_id = last + 1;
    }
    if (config->restore && *config->restore) {
        char notes[sizeof self->summary.notes] = "";
        rill_checkpoint_t *given =
            rill_checkpoint_load(config->restore, error, error_size, notes, sizeof notes);
        snprintf(self->summary.notes, sizeof self->summary.notes, "%s", notes);
        if (!given)
            goto fail;
        int rc = rill_checkpoint_check_plan(given, plan, error, error_size);
        //  Ids go on after the restored one, so a restored job's checkpoints never overwrite
        //  the ones it came from.
        if (rill_checkpoint_id(given) >= self->next_id)
            self->next_id = rill_checkpoint_id(given) + 1;
        self->restore = given;
        if (rc)
            goto fail;
    }
    return self;
fail:
    rill_checkpoint_coordinator_destroy(&self);
    return NULL;
}

void rill_checkpoint_coordinator_destroy(rill_checkpoint_coordinator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_checkpoint_coordinator_t *self = *self_p;
    rill_checkpoint_store_destroy(&self->store);
    rill_checkpoint_store_destroy(&self->savepoints);
    rill_checkpoint_destroy(&self->restore);
    rill_checkpoint_meta_destroy(&self->meta);
    free(self->acked);
    free(self->files);
    free(self);
    *self_p = NULL;
}

const rill_checkpointing_t *rill_checkpoint_coordinator_actors(rill_checkpoint_coordinator_t *self)
{
    return &self->actors;
}

int rill_checkpoint_coordinator_begin_attempt(rill_checkpoint_coordinator_t *self, int attempt,
                                              char *error, size_t error_size)
{
    if (self->pending)
        rill_checkpoint_coordinator_fail(self, self->pending, "the job restarted");
    bool inject = self->inject_subtask >= 0 && attempt == self->inject_attempt;
    self->actors.fail_subtask = inject ? self->inject_subtask : -1;
    self->actors.fail_after = inject ? self->inject_after : 0;
    self->last_trigger_ms = rill_clock_wall_ms(); //  the first checkpoint one interval in
    if (attempt > 0 && self->summary.latest > 0) {
        //  The latest completed checkpoint of this run is the restore point now.
        char notes[sizeof self->summary.notes] = "", path[4096];
        snprintf(path, sizeof path, "%s", self->config.dir);
        rill_checkpoint_t *latest = rill_checkpoint_load(path, error, error_size, notes,
                                                         sizeof notes);
        if (*notes)
            snprintf(self->summary.notes, sizeof self->summary.notes, "%s", notes);
        if (!latest)
            return -1;
        rill_checkpoint_destroy(&self->restore);
        self->restore = latest;
    }
    self->summary.restored = self->restore ? rill_checkpoint_id(self->restore) : 0;
    return 0;
}

int rill_checkpoint_coordinator_restore_at(rill_checkpoint_coordinator_t *self, int64_t id,
                                           char *error, size_t error_size)
{
    if (id <= 0 || (self->restore && rill_checkpoint_id(self->restore) == id))
        return 0;
    char path[4200], notes[sizeof self->summary.notes] = "";
    snprintf(path, sizeof path, "%s/chk-%lld", self->config.dir ? self->config.dir : ".",
             (long long)id);
    rill_checkpoint_t *given = rill_checkpoint_load(path, error, error_size, notes, sizeof notes);
    if (!given)
        return -1;
    rill_checkpoint_destroy(&self->restore);
    self->restore = given;
    return 0;
}

//  ---- the checkpoint in flight

int64_t rill_checkpoint_coordinator_trigger(rill_checkpoint_coordinator_t *self, int64_t now_ms,
                                            int tasks, bool savepoint)
{
    if (self->pending)
        return 0;
    if (savepoint) {
        if (!self->config.savepoint_dir)
            return 0;
        if (!self->savepoints) {
            char error[256];
            self->savepoints = rill_checkpoint_store_new_savepoint(self->config.savepoint_dir,
                                                                   error, sizeof error);
            if (!self->savepoints) {
                snprintf(self->summary.last_failure, sizeof self->summary.last_failure,
                         "savepoint: %.200s", error);
                return 0;
            }
        }
    } else if (self->config.interval_ms <= 0 || !self->store ||
               now_ms - self->last_trigger_ms < self->config.interval_ms)
        return 0;
    rill_checkpoint_meta_destroy(&self->meta);
    free(self->acked);
    self->meta = rill_checkpoint_meta_new(self->plan, self->next_id, now_ms);
    self->acked = calloc((size_t)tasks + 1, sizeof(bool));
    if (!self->meta || !self->acked) {
        rill_checkpoint_meta_destroy(&self->meta);
        return 0;
    }
    self->tasks = tasks;
    self->acks = 0;
    self->pending = self->next_id++;
    self->pending_savepoint = savepoint;
    if (savepoint)
        atomic_store(&self->savepoint_id, self->pending);
    self->pending_since_ms = now_ms;
    self->pending_bytes = 0;
    self->pending_alignment_ns = 0;
    self->last_trigger_ms = now_ms;
    return self->pending;
}

int64_t rill_checkpoint_coordinator_pending(const rill_checkpoint_coordinator_t *self)
{
    return self->pending;
}

bool rill_checkpoint_coordinator_acked(const rill_checkpoint_coordinator_t *self, int task)
{
    return self->pending && task >= 0 && task < self->tasks && self->acked[task];
}

const rill_state_file_t *rill_checkpoint_coordinator_file(const rill_checkpoint_coordinator_t *self,
                                                          int subtask)
{
    assert(subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    return &self->files[subtask];
}

void rill_checkpoint_coordinator_set_file(rill_checkpoint_coordinator_t *self, int subtask,
                                          const rill_state_file_t *file)
{
    assert(subtask >= 0 && subtask < rill_plan_subtask_count(self->plan));
    self->files[subtask] = *file;
}

int rill_checkpoint_coordinator_ack(rill_checkpoint_coordinator_t *self, int task, int head,
                                    int64_t checkpoint, const rill_checkpoint_ack_t *ack,
                                    char *error, size_t error_size)
{
    if (!self->pending || checkpoint != self->pending || task < 0 || task >= self->tasks ||
        self->acked[task])
        return 0; //  stale (a failed checkpoint's late ack) or a repeat
    self->acked[task] = true;
    self->acks++;
    //  The state files of every operator subtask of the task (its chain, from its head).
    const rill_plan_subtask_t *s = rill_plan_subtask(self->plan, head);
    for (int op = s->op; op >= 0; op = rill_plan_operator(self->plan, op)->chain_next) {
        int id = rill_plan_operator(self->plan, op)->first_subtask + s->index;
        if (!self->files[id].name[0]) {
            //  An acknowledgement without the state file it stands for: the checkpoint
            //  cannot complete (never a crash over it).
            snprintf(error, error_size, "operator '%s' subtask %d acknowledged no state file",
                     rill_plan_operator(self->plan, op)->name, s->index + 1);
            rill_checkpoint_coordinator_fail(self, checkpoint, error);
            return -1;
        }
        rill_checkpoint_meta_set_state(self->meta, op, s->index, &self->files[id]);
    }
    if (ack && ack->checkpoint == checkpoint) {
        self->pending_bytes += ack->bytes;
        if (ack->alignment_ns > self->pending_alignment_ns)
            self->pending_alignment_ns = ack->alignment_ns;
    }
    if (self->acks < self->tasks)
        return 0;
    rill_checkpoint_store_t *store = self->pending_savepoint ? self->savepoints : self->store;
    if (rill_checkpoint_meta_missing(self->meta) ||
        rill_checkpoint_store_complete(store, self->meta, error, error_size) < 0) {
        if (rill_checkpoint_meta_missing(self->meta))
            snprintf(error, error_size, "checkpoint %lld: %d operator subtasks wrote no state",
                     (long long)checkpoint, rill_checkpoint_meta_missing(self->meta));
        rill_checkpoint_coordinator_fail(self, checkpoint, error);
        return -1;
    }
    int64_t now = rill_clock_wall_ms();
    rill_checkpoint_stats_t *summary = &self->summary;
    summary->completed++;
    if (self->pending_savepoint)
        summary->savepoint_done = true;
    else {
        summary->latest = checkpoint;
        summary->latest_trigger_ms = self->pending_since_ms;
        summary->latest_duration_ms = now - self->pending_since_ms;
        summary->latest_bytes = self->pending_bytes;
        summary->latest_alignment_ns = self->pending_alignment_ns;
    }
    self->pending = 0;
    rill_checkpoint_meta_destroy(&self->meta);
    return 1;
}

void rill_checkpoint_coordinator_fail(rill_checkpoint_coordinator_t *self, int64_t checkpoint,
                                      const char *why)
{
    if (!self->pending || checkpoint != self->pending)
        return;
    rill_checkpoint_store_t *store = self->pending_savepoint ? self->savepoints : self->store;
    char ignored[256];
    rill_checkpoint_store_discard(store, checkpoint, ignored, sizeof ignored);
    self->summary.failed++;
    snprintf(self->summary.last_failure, sizeof self->summary.last_failure,
             "checkpoint %lld: %s", (long long)checkpoint, why);
    self->pending = 0;
    rill_checkpoint_meta_destroy(&self->meta);
}

bool rill_checkpoint_coordinator_expire(rill_checkpoint_coordinator_t *self, int64_t now_ms)
{
    if (!self->pending || self->config.timeout_ms <= 0 ||
        now_ms - self->pending_since_ms < self->config.timeout_ms)
        return false;
    char why[64];
    snprintf(why, sizeof why, "not complete after %d ms", self->config.timeout_ms);
    rill_checkpoint_coordinator_fail(self, self->pending, why);
    return true;
}

const rill_checkpoint_stats_t *rill_checkpoint_coordinator_summary(
    const rill_checkpoint_coordinator_t *self)
{
    return &self->summary;
}

void rill_checkpoint_coordinator_count_restart(rill_checkpoint_coordinator_t *self)
{
    self->summary.restarts++;
}
