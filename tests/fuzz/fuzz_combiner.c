/*  fuzz_combiner.c: libFuzzer target that checks the combiner against no combiner. Records
    made from the input go (a) straight into a keyed reduce, and (b) through a sender's
    combiner (rill_combiner.c, a table of 4 to 16 KiB so that it fills, flushes and moves
    growing values all the time; some records traced), whose partials go into the same reduce
    on a combined edge. Both reduces must emit exactly the same results at the end: count,
    sum, max, and an only-associative reduce function (concatenation) whose result shows the
    order of each key's records. Input: `kind (1 byte) | table (1 byte)`, then records, each
    `key (1 byte: one of 40 keys) | flags (1 byte: bit 0 traced, bit 1 flush after) | value
    (1 byte)`. */
#include "rill.h"
#include "rill_buffer_private.h"
#include "rill_combiner.h"
#include "rill_operator.h"
#include "rill_operator_registry.h"
#include "rill_plan_private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_generate(uint64_t n, rill_collector_t *out, void *ctx)
{
    return 0;
}

//  Appends the new record's value to the accumulated one: associative, not commutative.
static int s_concatenate(const rill_record_t *acc, const rill_record_t *in, rill_buffer_t *out,
                         void *ctx)
{
    const char *tab = memchr(in->data, '\t', in->size);
    if (!tab)
        abort(); //  the records made below all have one
    size_t rest = in->size - (size_t)(tab + 1 - (const char *)in->data);
    if (rill_buffer_set(out, acc->data, acc->size) || rill_buffer_append(out, ",", 1))
        return -1;
    return rill_buffer_append(out, tab + 1, rest);
}

#define S_KINDS 4

typedef struct {
    rill_env_t *env[S_KINDS][2];
    const rill_plan_t *plan[S_KINDS][2]; //  [kind][combined]
} s_fixture_t;

static s_fixture_t *s_fixture(void)
{
    //  One set of plans for the life of the process: libFuzzer calls the target many times.
    static s_fixture_t fixture;
    if (fixture.plan[0][0])
        return &fixture;
    for (int k = 0; k < S_KINDS; k++)
        for (int combined = 0; combined < 2; combined++) {
            rill_env_t *env = rill_env_new();
            rill_env_set_combine(env, combined ? RILL_DEFAULT_COMBINE_BYTES : 0);
            rill_keyed_stream_t keyed = rill_stream_key_by(
                rill_env_from_generator(env, s_generate, NULL, 1), rill_key_first_field, NULL);
            rill_stream_t *reduced = k == 0   ? rill_stream_count(keyed)
                                     : k == 1 ? rill_stream_sum(keyed)
                                     : k == 2 ? rill_stream_max(keyed)
                                              : rill_stream_reduce(keyed, s_concatenate, NULL);
            rill_stream_discard(reduced);
            fixture.env[k][combined] = env;
            fixture.plan[k][combined] = rill_env_plan(env);
            if (!fixture.plan[k][combined] ||
                rill_plan_edge(fixture.plan[k][combined], 0)->combined != combined) {
                fprintf(stderr, "fuzz_combiner: cannot plan the fixture\n");
                abort();
            }
        }
    return &fixture;
}

//  A reduce operator and what it emitted, one "record@timestamp" line each.
typedef struct {
    rill_operator_t *op;
    rill_collector_t out;
    rill_buffer_t *emitted;
} s_reduce_t;

static int s_collect(void *target, const rill_record_t *record)
{
    rill_buffer_t *emitted = target;
    return rill_buffer_append(emitted, record->data, record->size) ||
                   rill_buffer_appendf(emitted, "@%lld\n", (long long)record->timestamp)
               ? -1
               : 0;
}

static void s_reduce_open(s_reduce_t *self, const rill_plan_t *plan)
{
    char why[256] = "";
    self->op = rill_operator_new(plan, rill_plan_edge(plan, 0)->to, 0, why, sizeof why);
    self->emitted = rill_buffer_new();
    if (!self->op || !self->emitted)
        abort();
    self->out = (rill_collector_t){.emit = s_collect, .target = self->emitted, .parallelism = 1};
}

static int s_line_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

//  Ends the reduce and returns its emitted lines sorted, as one string (the caller frees).
static char *s_reduce_close(s_reduce_t *self)
{
    if (self->op->vtable->on_end(self->op, &self->out))
        abort();
    rill_buffer_append(self->emitted, "", 1);
    char *text = (char *)self->emitted->data;
    size_t count = 0;
    for (char *c = text; *c; c++)
        count += *c == '\n';
    char **lines = calloc(count + 1, sizeof(char *));
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        lines[n++] = line;
    qsort(lines, n, sizeof(char *), s_line_order);
    size_t size = 1;
    for (size_t i = 0; i < n; i++)
        size += strlen(lines[i]) + 1;
    char *sorted = malloc(size), *at = sorted;
    *at = 0;
    for (size_t i = 0; i < n; i++)
        at += sprintf(at, "%s\n", lines[i]);
    free(lines);
    rill_buffer_destroy(&self->emitted);
    rill_operator_destroy(&self->op);
    return sorted;
}

//  The combiner's records go into the combined reduce.
static int s_deliver(void *ctx, int receiver, const rill_record_t *record, bool traced)
{
    s_reduce_t *reduce = ctx;
    if (receiver != 0)
        abort(); //  one receiver
    return reduce->op->vtable->on_record(reduce->op, record, 0, &reduce->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_fixture_t *fixture = s_fixture();
    if (size < 2)
        return 0;
    int k = data[0] % S_KINDS;
    size_t table = 4096 + (size_t)(data[1] % 4) * 4096;
    data += 2, size -= 2;
    const rill_plan_t *combined_plan = fixture->plan[k][1];
    const rill_graph_t *graph = rill_plan_graph(combined_plan);
    const rill_plan_edge_t *edge = rill_plan_edge(combined_plan, 0);
    rill_combiner_t *combiner = rill_combiner_new(rill_graph_edge(graph, 0),
                                                  rill_graph_operator(graph, edge->to), 1, table);
    s_reduce_t direct, merged;
    s_reduce_open(&direct, fixture->plan[k][0]);
    s_reduce_open(&merged, combined_plan);
    if (!combiner)
        abort();
    for (int64_t i = 0; size >= 3; i++, data += 3, size -= 3) {
        char text[32];
        int length = snprintf(text, sizeof text, "key%d\t%d", data[0] % 40, data[2] - 100);
        //  Timestamps jump about so that the highest of a key's records is not its last.
        rill_record_t record = {text, (size_t)length, (i * 7919) % 1000};
        if (direct.op->vtable->on_record(direct.op, &record, 0, &direct.out))
            abort();
        if (rill_combiner_add(combiner, &record, data[1] & 1, s_deliver, &merged))
            abort();
        if (data[1] & 2 && rill_combiner_flush(combiner, s_deliver, &merged))
            abort();
    }
    if (rill_combiner_flush(combiner, s_deliver, &merged))
        abort();
    char *a = s_reduce_close(&direct);
    char *b = s_reduce_close(&merged);
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "fuzz_combiner: results differ\nwithout the combiner:\n%s\nwith it:\n%s", a,
                b);
        abort();
    }
    free(a);
    free(b);
    rill_combiner_destroy(&combiner);
    return 0;
}
