/*  rill_cmd_state.c: `rill state PATH`: what a checkpoint or savepoint holds, addressed by
    name as the job wrote it (rill_savepoint.h). Without options: the job, then per operator its
    kind and parallelism and, for the ones with named keyed state, each state's name, kind,
    entries and bytes. With --operator NAME and --state NAME: that state's entries, one line
    each (key, map key or window, value), bytes printed as text when they are, else as hex;
    --json writes them as JSON lines instead. */
#include "rill_cli.h"

#include <getopt.h>
#include <jansson.h>
#include <rill/rill.h>
#include <stdlib.h>
#include <string.h>

static int s_usage(FILE *out, int code)
{
    fprintf(out,
            "usage: rill state PATH [--operator NAME [--state NAME] [--json]]\n"
            "  PATH             a checkpoint or savepoint folder (DIR/chk-<id>), or a checkpoint\n"
            "                   store (its newest intact checkpoint)\n"
            "  --operator NAME  one operator (as the plan names it)\n"
            "  --state NAME     one state of it: print its entries (key, map key or window, value)\n"
            "  --json           the entries as JSON lines\n");
    return code;
}

//  Named states of one operator: name, kind, entries, bytes.
typedef struct {
    char name[256];
    char kind;
    uint64_t entries;
    uint64_t bytes;
} s_summary_t;

typedef struct {
    s_summary_t *items;
    size_t count;
} s_summaries_t;

static int s_summarize(const rill_state_item_t *item, void *ctx)
{
    s_summaries_t *all = ctx;
    s_summary_t *found = NULL;
    for (size_t i = 0; i < all->count && !found; i++)
        if (all->items[i].kind == (char)item->kind && strcmp(all->items[i].name, item->name) == 0)
            found = &all->items[i];
    if (!found) {
        s_summary_t *grown = realloc(all->items, (all->count + 1) * sizeof *grown);
        if (!grown)
            return -1;
        all->items = grown;
        found = &all->items[all->count++];
        memset(found, 0, sizeof *found);
        snprintf(found->name, sizeof found->name, "%s", item->name);
        found->kind = (char)item->kind;
    }
    found->entries++;
    found->bytes += item->key_size + item->map_key_size + item->value_size;
    return 0;
}

static const char *s_kind_name(char kind)
{
    switch (kind) {
    case RILL_STATE_ITEM_VALUE: return "value";
    case RILL_STATE_ITEM_MAP: return "map";
    case RILL_STATE_ITEM_LIST: return "list";
    default: return "window";
    }
}

//  Bytes as text when every one is printable (tabs and newlines escaped), else as 0x + hex.
static void s_print_bytes(FILE *out, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    bool text = true;
    for (size_t i = 0; i < size && text; i++)
        text = bytes[i] >= 0x20 && bytes[i] < 0x7f;
    if (text) {
        fwrite(bytes, 1, size, out);
        return;
    }
    fputs("0x", out);
    for (size_t i = 0; i < size; i++)
        fprintf(out, "%02x", bytes[i]);
}

static void s_print_window(FILE *out, const rill_state_item_t *item)
{
    if (item->global)
        fputs("(per key)", out);
    else if (item->window.start == INT64_MIN && item->window.end == INT64_MAX)
        fputs("(global window)", out);
    else
        fprintf(out, "[%lld,%lld)", (long long)item->window.start, (long long)item->window.end);
}

typedef struct {
    bool json;
    uint64_t printed;
} s_dump_t;

//  A JSON string of bytes: as text when it is valid UTF-8, else hex with a prefix.
static json_t *s_json_bytes(const void *data, size_t size)
{
    json_t *text = json_stringn(data, size);
    if (text)
        return text;
    char *hex = malloc(size * 2 + 3);
    if (!hex)
        return json_null();
    strcpy(hex, "0x");
    for (size_t i = 0; i < size; i++)
        sprintf(hex + 2 + 2 * i, "%02x", ((const unsigned char *)data)[i]);
    json_t *value = json_string(hex);
    free(hex);
    return value;
}

static int s_dump(const rill_state_item_t *item, void *ctx)
{
    s_dump_t *dump = ctx;
    dump->printed++;
    if (dump->json) {
        json_t *line = json_object();
        json_object_set_new(line, "key", s_json_bytes(item->key, item->key_size));
        if (item->kind == RILL_STATE_ITEM_MAP)
            json_object_set_new(line, "map_key", s_json_bytes(item->map_key, item->map_key_size));
        if (item->kind == RILL_STATE_ITEM_WINDOW) {
            if (item->global)
                json_object_set_new(line, "per_key", json_true());
            else {
                json_object_set_new(line, "window_start", json_integer(item->window.start));
                json_object_set_new(line, "window_end", json_integer(item->window.end));
            }
        }
        json_object_set_new(line, "value", s_json_bytes(item->value, item->value_size));
        json_object_set_new(line, "subtask", json_integer(item->subtask));
        char *text = json_dumps(line, JSON_COMPACT);
        json_decref(line);
        if (!text)
            return -1;
        puts(text);
        free(text);
        return 0;
    }
    s_print_bytes(stdout, item->key, item->key_size);
    if (item->kind == RILL_STATE_ITEM_MAP) {
        fputc('\t', stdout);
        s_print_bytes(stdout, item->map_key, item->map_key_size);
    } else if (item->kind == RILL_STATE_ITEM_WINDOW) {
        fputc('\t', stdout);
        s_print_window(stdout, item);
    }
    fputc('\t', stdout);
    s_print_bytes(stdout, item->value, item->value_size);
    fputc('\n', stdout);
    return 0;
}

static int s_list(rill_savepoint_t *savepoint)
{
    printf("%s %lld of job '%s'\n", rill_savepoint_kind(savepoint),
           (long long)rill_savepoint_id(savepoint), rill_savepoint_job_name(savepoint));
    for (int id = 0; id < rill_savepoint_operator_count(savepoint); id++) {
        printf("  %s (%s, parallelism %d)\n", rill_savepoint_operator_name(savepoint, id),
               rill_savepoint_operator_kind(savepoint, id),
               rill_savepoint_operator_parallelism(savepoint, id));
        s_summaries_t all = {NULL, 0};
        if (rill_savepoint_each_state(savepoint, id, NULL, s_summarize, &all, NULL, 0) == 0)
            for (size_t i = 0; i < all.count; i++)
                printf("    state '%s': %s, %llu entr%s, %llu bytes\n", all.items[i].name,
                       s_kind_name(all.items[i].kind),
                       (unsigned long long)all.items[i].entries,
                       all.items[i].entries == 1 ? "y" : "ies",
                       (unsigned long long)all.items[i].bytes);
        free(all.items);
    }
    return RILL_EXIT_OK;
}

int rill_cmd_state(int argc, char **argv)
{
    static const struct option options[] = {
        {"operator", required_argument, NULL, 'o'},
        {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *op_name = NULL, *state = NULL;
    bool json = false;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'o': op_name = optarg; break;
        case 's': state = optarg; break;
        case 'j': json = true; break;
        case 'h': return s_usage(stdout, RILL_EXIT_OK);
        case ':':
            fprintf(stderr, "rill state: option needs a value: %s\n", argv[optind - 1]);
            return s_usage(stderr, RILL_EXIT_USAGE);
        default:
            fprintf(stderr, "rill state: unknown option %s\n", argv[optind - 1]);
            return s_usage(stderr, RILL_EXIT_USAGE);
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "rill state: give one checkpoint or savepoint path\n");
        return s_usage(stderr, RILL_EXIT_USAGE);
    }
    if (state && !op_name) {
        fprintf(stderr, "rill state: --state needs --operator\n");
        return s_usage(stderr, RILL_EXIT_USAGE);
    }
    char error[1024];
    rill_savepoint_t *savepoint = rill_savepoint_open(argv[optind], error, sizeof error);
    if (!savepoint) {
        fprintf(stderr, "rill state: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    int rc = RILL_EXIT_OK;
    if (!op_name)
        rc = s_list(savepoint);
    else {
        int id = rill_savepoint_operator_find(savepoint, op_name);
        s_dump_t dump = {json, 0};
        if (id < 0) {
            fprintf(stderr, "rill state: no operator '%s' in %s %lld (rill state %s lists them)\n",
                    op_name, rill_savepoint_kind(savepoint),
                    (long long)rill_savepoint_id(savepoint), argv[optind]);
            rc = RILL_EXIT_FAILURE;
        } else if (rill_savepoint_each_state(savepoint, id, state, s_dump, &dump, error,
                                             sizeof error)) {
            fprintf(stderr, "rill state: %s\n", error);
            rc = RILL_EXIT_FAILURE;
        } else if (state && dump.printed == 0) {
            fprintf(stderr, "rill state: operator '%s' has no state '%s' here\n", op_name, state);
            rc = RILL_EXIT_FAILURE;
        }
    }
    rill_savepoint_destroy(&savepoint);
    return rc;
}
