/*  wordcount.c: the classic job. Lines of a text file are split into words (ASCII letters
    lower-cased, words split on anything that is not an ASCII letter or digit), keyed by word
    and counted; one "word<TAB>count" line per word goes to stdout or --output. */
#include <rill/rill.h>
#include "rill_job_args.h"
#include "rill_job_io.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rill_job_describe(void)
{
    return "count words of a text file: -- --input FILE [--output FILE] [--max-record-size B]";
}

//  Each byte's lower-case form when it belongs to a word, else 0: one table lookup both
//  classifies and folds a character.
typedef struct {
    unsigned char fold[256];
} s_table_t;

static s_table_t s_make_table(void)
{
    s_table_t table = {{0}};
    for (int c = '0'; c <= '9'; c++)
        table.fold[c] = (unsigned char)c;
    for (int c = 'a'; c <= 'z'; c++)
        table.fold[c] = table.fold[c - 'a' + 'A'] = (unsigned char)c;
    return table;
}

//  Built once, at plugin build time, read-only afterwards (threads share it).
static s_table_t s_table;

//  Emits each word of the line, lower-cased. Words are copied to lower-case them; a word
//  longer than the stack buffer (rare: a very long token) takes one heap buffer.
static int s_split(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    const s_table_t *table = ctx;
    const unsigned char *text = in->data;
    size_t size = in->size;
    char word[512];
    size_t length = 0;
    for (size_t i = 0; i <= size; i++) {
        unsigned char folded = i < size ? table->fold[text[i]] : 0;
        if (folded && length < sizeof word) {
            word[length++] = (char)folded;
            continue;
        }
        if (folded) {
            //  A word longer than the buffer (rare: a very long token) goes the slow way.
            size_t start = i - length;
            while (i < size && table->fold[text[i]])
                i++;
            char *into = malloc(i - start);
            if (!into)
                return -1;
            for (size_t k = start; k < i; k++)
                into[k - start] = (char)table->fold[text[k]];
            int rc = rill_collector_emit(out, into, i - start, in->timestamp);
            free(into);
            if (rc)
                return -1;
            length = 0;
            continue;
        }
        if (length && rill_collector_emit(out, word, length, in->timestamp))
            return -1;
        length = 0;
    }
    return 0;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: rill run wordcount [-p N] -- --input FILE [--output FILE]\n"
                    "         [--max-record-size BYTES]   (longest line; K, M, G suffixes; "
                    "default 16M)\n"
                    "FILE may be a pipe or /dev/stdin; it is then read by one subtask\n"
                    "--input may also be a directory, dir://DIR?continuous=1, kafka://BROKER/TOPIC,\n"
                    "zmq+tcp://HOST:PORT?type=pull or tcp://HOST:PORT; --output rolling://DIR,\n"
                    "kafka://BROKER/TOPIC or zmq+tcp://HOST:PORT?type=push (see README, Connectors)\n");
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"max-record-size", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *output = NULL;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":i:o:m:h", options, NULL)) != -1) {
        switch (option) {
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 'm': {
            size_t bytes;
            if (rill_job_parse_size(optarg, &bytes) || rill_env_set_max_record_size(env, bytes)) {
                fprintf(stderr, "wordcount: bad --max-record-size '%s' (1 .. 1G bytes)\n", optarg);
                s_usage();
                return 2;
            }
            break;
        }
        case 'h': s_usage(); return 2;
        case ':':
            fprintf(stderr, "wordcount: option '%s' needs a value\n", argv[optind - 1]);
            s_usage();
            return 2;
        default:
            fprintf(stderr, "wordcount: unknown option '%s'\n", argv[optind - 1]);
            s_usage();
            return 2;
        }
    }
    if (!input || optind < argc) {
        fprintf(stderr, optind < argc ? "wordcount: unexpected argument '%s'\n"
                                      : "wordcount: --input FILE is required%s\n",
                optind < argc ? argv[optind] : "");
        s_usage();
        return 2;
    }
    char error[512];
    rill_stream_t *lines = rill_job_input(env, input, error, sizeof error);
    if (!lines) {
        fprintf(stderr, "wordcount: --input: %s\n", error);
        return 2;
    }
    rill_stream_name(lines, "Source: lines");
    s_table = s_make_table();
    rill_stream_t *words =
        rill_stream_name(rill_stream_flat_map(lines, s_split, &s_table), "split()");
    rill_keyed_stream_t keyed = rill_stream_key_by(words, rill_key_first_field, NULL);
    rill_stream_t *counts = rill_stream_name(rill_stream_count(keyed), "key_by/count()");
    rill_stream_t *sink = output ? rill_job_output(env, counts, output, error, sizeof error)
                                 : rill_stream_print(counts, NULL);
    if (!sink) {
        fprintf(stderr, "wordcount: --output: %s\n", error);
        return 2;
    }
    //  One output file, not one per subtask, when the user names a file.
    if (!output || !rill_job_io_is_connector(output))
        rill_stream_name(sink, "Sink: print");
    if (output && !rill_job_io_is_connector(output))
        rill_stream_parallelism(sink, 1);
    return 0;
}
