/*  rill_job_csv.h: what the jobs that read timestamped CSV files by column name and write one
    output file share (interval-join, enrich; header-only, as every .c file in jobs/ is a
    plugin of its own):
    - an input file: its header row read by name (when the job is built, for a regular file,
      so that a wrong name fails before anything runs; else by the parse step), its rows
      parsed into records of [line, field sizes, up to two fields, the row as it was] with the
      row's time as timestamp, and its bad rows counted and the first few reported by line;
    - the output: a header of two files' headers, then lines, written by one subtask, with
      write errors kept for the end.
    The row and time parsing is windowed_parse.h's. */
#ifndef RILL_JOB_CSV_H_INCLUDED
#define RILL_JOB_CSV_H_INCLUDED

#include <rill/rill.h>
#include "rill_job_args.h"
#include "rill_job_io.h"
#include "windowed_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RILL_JOB_CSV_REPORTED_ROWS 5

//  One input file. names: the columns to read, by name: names[0] and (when fields is 2)
//  names[2] are carried as fields, names[1] is the time. Counters have one writer: the file's
//  parse step runs as one subtask.
typedef struct {
    const char *job;  //  the job's name, for messages
    const char *name; //  which file ("left", "events", ...)
    char *path;
    char *names[3];
    int fields; //  1 or 2
    int column[3];
    int columns; //  0: header not read yet
    char *header; //  the header row as it was, once read (never replaced: the writer reads it)
    uint64_t line;
    uint64_t bad_rows;
} rill_job_csv_t;

//  A parsed row's head; then the fields' bytes, then the row as it was.
typedef struct {
    uint64_t line;
    uint32_t sizes[2];
} rill_job_csv_head_t;

//  Sets a file up (strings copied). 0, or -1 when out of memory.
static inline int rill_job_csv_init(rill_job_csv_t *self, const char *job, const char *name,
                                    const char *path, const char *field, const char *time,
                                    const char *second_field)
{
    memset(self, 0, sizeof *self);
    self->job = job;
    self->name = name;
    self->fields = second_field ? 2 : 1;
    return (self->path = strdup(path)) && (self->names[0] = strdup(field)) &&
                   (self->names[1] = strdup(time)) &&
                   (!second_field || (self->names[2] = strdup(second_field)))
               ? 0
               : -1;
}

static inline void rill_job_csv_free(rill_job_csv_t *self)
{
    free(self->path);
    for (int n = 0; n < 3; n++)
        free(self->names[n]);
    free(self->header);
    memset(self, 0, sizeof *self);
}

static inline void rill_job_csv_bad_row(rill_job_csv_t *self, const char *why, const char *line,
                                        size_t size)
{
    self->bad_rows++;
    if (self->bad_rows <= RILL_JOB_CSV_REPORTED_ROWS)
        fprintf(stderr, "%s: %s line %llu: %s: %.*s\n", self->job, self->name,
                (unsigned long long)self->line, why, (int)(size > 120 ? 120 : size), line);
}

//  Finds the named columns in a header row. 0, or -1 (reported).
static inline int rill_job_csv_read_header(rill_job_csv_t *self, const char *line, size_t size)
{
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    self->columns = rill_windowed_split(line, size, starts, sizes, NULL, RILL_WINDOWED_MAX_COLUMNS);
    int wanted = self->fields == 2 ? 3 : 2;
    for (int n = 0; n < wanted; n++) {
        self->column[n] = -1;
        for (int i = 0; i < self->columns && self->column[n] < 0; i++)
            if (sizes[i] == strlen(self->names[n]) &&
                memcmp(starts[i], self->names[n], sizes[i]) == 0)
                self->column[n] = i;
        if (self->column[n] < 0) {
            fprintf(stderr, "%s: the header of the %s file '%s' has no column '%s' (it has: "
                            "%.*s)\n",
                    self->job, self->name, self->path, self->names[n],
                    (int)(size > 200 ? 200 : size), line);
            self->columns = 0;
            return -1;
        }
    }
    if (!self->header)
        self->header = strndup(line, size);
    return self->header ? 0 : -1;
}

//  Reads a regular file's header now. 0; 1 when the file is not a regular file (a pipe: its
//  line 1 would be gone for the job, so the parse step reads it); -1 (reported) when it cannot
//  be used. The parse step reads line 1 again either way.
static inline int rill_job_csv_check_header(rill_job_csv_t *self, size_t max_record_size)
{
    struct stat info;
    if (stat(self->path, &info) != 0 || !S_ISREG(info.st_mode))
        return 1;
    char *line = NULL;
    size_t length = 0;
    int rc = rill_job_read_first_line(self->path, max_record_size, &line, &length);
    if (rc == 1)
        fprintf(stderr, "%s: the %s file '%s' has no header row\n", self->job, self->name,
                self->path);
    else if (rc == 2)
        fprintf(stderr, "%s: the header of '%s' is longer than the maximum record size of %zu "
                        "bytes\n",
                self->job, self->path, max_record_size);
    else if (rc < 0)
        fprintf(stderr, "%s: cannot read '%s': %s\n", self->job, self->path, strerror(errno));
    if (rc == 0) {
        size_t bom = rill_windowed_bom(line, length);
        rc = rill_job_csv_read_header(self, line + bom, length - bom);
    }
    free(line);
    return rc ? -1 : 0;
}

//  The parse step (a flat-map at parallelism 1, ctx: the file): line 1 is the header; each row
//  becomes [head][fields][row] with its time as timestamp; bad rows are reported and skipped.
static inline int rill_job_csv_parse(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    rill_job_csv_t *self = ctx;
    const char *line = in->data;
    size_t size = in->size;
    if (size && line[size - 1] == '\r')
        size--;
    if (++self->line == 1) {
        size_t bom = rill_windowed_bom(line, size);
        return rill_job_csv_read_header(self, line + bom, size - bom);
    }
    if (size == 0)
        return 0; //  blank lines carry nothing
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    bool quoted[RILL_WINDOWED_MAX_COLUMNS];
    int count = rill_windowed_split(line, size, starts, sizes, quoted, RILL_WINDOWED_MAX_COLUMNS);
    if (count != self->columns) {
        rill_job_csv_bad_row(self, "wrong number of columns", line, size);
        return 0;
    }
    int64_t time;
    if (rill_windowed_parse_time(starts[self->column[1]], sizes[self->column[1]], &time)) {
        rill_job_csv_bad_row(self, "cannot read the time", line, size);
        return 0;
    }
    char fields[2][RILL_WINDOWED_MAX_KEY];
    rill_job_csv_head_t head = {self->line, {0, 0}};
    for (int f = 0; f < self->fields; f++) {
        int c = self->column[f == 0 ? 0 : 2];
        long got = rill_windowed_unquote(starts[c], sizes[c], quoted[c], fields[f],
                                         sizeof fields[f]);
        if (got < 0) {
            rill_job_csv_bad_row(self, "key too long", line, size);
            return 0;
        }
        head.sizes[f] = (uint32_t)got;
    }
    size_t total = sizeof head + head.sizes[0] + head.sizes[1] + size;
    char *text = malloc(total), *at = text;
    if (!text)
        return -1;
    memcpy(at, &head, sizeof head);
    at += sizeof head;
    memcpy(at, fields[0], head.sizes[0]);
    at += head.sizes[0];
    memcpy(at, fields[1], head.sizes[1]);
    at += head.sizes[1];
    memcpy(at, line, size);
    int rc = rill_collector_emit(out, text, total, time);
    free(text);
    return rc;
}

//  A parsed row's parts: 0, or -1 when the record is not one.
static inline int rill_job_csv_row(const rill_record_t *in, rill_job_csv_head_t *head,
                                   const char **first, const char **second, const char **row,
                                   size_t *row_size)
{
    if (in->size < sizeof *head)
        return -1;
    memcpy(head, in->data, sizeof *head);
    size_t rest = in->size - sizeof *head;
    if (head->sizes[0] > rest || head->sizes[1] > rest - head->sizes[0])
        return -1;
    *first = (const char *)in->data + sizeof *head;
    *second = *first + head->sizes[0];
    *row = *second + head->sizes[1];
    *row_size = rest - head->sizes[0] - head->sizes[1];
    return 0;
}

//  key_by on a parsed row: its first field.
static inline int rill_job_csv_key(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    (void)ctx;
    rill_job_csv_head_t head;
    const char *first, *second, *row;
    size_t row_size;
    if (rill_job_csv_row(in, &head, &first, &second, &row, &row_size))
        return -1;
    key->data = first;
    key->size = head.sizes[0];
    return 0;
}

static inline int rill_job_csv_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  One file as a stream: read by one subtask (line numbers), parsed and timestamped
//  (watermarks out_of_orderness behind). rill_job_csv_keyed keys it by its first field.
static inline rill_stream_t *rill_job_csv_stream(rill_env_t *env, rill_job_csv_t *self,
                                                 int64_t out_of_orderness)
{
    char name[48];
    snprintf(name, sizeof name, "Source: %s", self->name);
    //  A file, or a connector URL (rill_job_io.h): its first line is the header either way.
    char error[512];
    rill_stream_t *source = rill_job_input(env, self->path, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: the %s input: %s\n", self->job, self->name, error);
        return NULL;
    }
    rill_stream_t *lines = rill_stream_parallelism(rill_stream_name(source, name), 1);
    snprintf(name, sizeof name, "parse %s rows", self->name);
    rill_stream_t *rows = rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(lines, rill_job_csv_parse, self), name), 1);
    rill_watermarks_t strategy = {.out_of_orderness = out_of_orderness, .interval_ms = 0};
    return rill_stream_parallelism(
        rill_stream_assign_timestamps(rows, rill_job_csv_time, NULL, &strategy), 1);
}

static inline rill_keyed_stream_t rill_job_csv_keyed(rill_env_t *env, rill_job_csv_t *self,
                                                     int64_t out_of_orderness)
{
    return rill_stream_key_by(rill_job_csv_stream(env, self, out_of_orderness), rill_job_csv_key,
                              NULL);
}

//  After the run: how many rows of the file did not parse.
static inline void rill_job_csv_report(const rill_job_csv_t *self)
{
    if (self->bad_rows)
        fprintf(stderr, "%s: %llu %s row%s did not parse and %s skipped\n", self->job,
                (unsigned long long)self->bad_rows, self->name, self->bad_rows == 1 ? "" : "s",
                self->bad_rows == 1 ? "was" : "were");
}

//  ---- the output: two files' headers, then lines, from one subtask.

typedef struct {
    const char *job;
    FILE *out; //  stdout or the output file
    bool own;
    bool header_written;
    int failed; //  errno of the first failed write (0: none)
    //  Where the two files' headers are (read when the job is built, or by their parse steps
    //  before their first row): the output's header is their fields.
    char **headers[2];
} rill_job_output_t;

//  Opens path for writing (NULL: standard output). 0, or -1 (reported).
static inline int rill_job_output_open(rill_job_output_t *self, const char *job, const char *path)
{
    memset(self, 0, sizeof *self);
    self->job = job;
    self->out = stdout;
    if (!path)
        return 0;
    self->out = fopen(path, "w");
    if (!self->out) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", job, path, strerror(errno));
        self->out = stdout;
        return -1;
    }
    self->own = true;
    return 0;
}

static inline void rill_job_output_header(rill_job_output_t *self, const char *first,
                                          const char *second)
{
    if (self->header_written)
        return;
    self->header_written = true;
    if (fprintf(self->out, "%s,%s\n", first ? first : "", second ? second : "") < 0 &&
        !self->failed)
        self->failed = errno ? errno : EIO;
}

//  The writer step (a flat-map at parallelism 1 that emits nothing; ctx: the output): the
//  header first, then each record as a line.
static inline int rill_job_output_write(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out;
    rill_job_output_t *self = ctx;
    rill_job_output_header(self, *self->headers[0], *self->headers[1]);
    if ((fwrite(in->data, 1, in->size, self->out) != in->size || fputc('\n', self->out) == EOF) &&
        !self->failed)
        self->failed = errno ? errno : EIO;
    return self->failed ? -1 : 0;
}

//  After the run: the header even when nothing was written, the output flushed and closed, a
//  write error reported.
static inline void rill_job_output_close(rill_job_output_t *self)
{
    rill_job_output_header(self, *self->headers[0], *self->headers[1]);
    if (fflush(self->out) && !self->failed)
        self->failed = errno ? errno : EIO;
    if (self->failed)
        fprintf(stderr, "%s: cannot write the output: %s\n", self->job, strerror(self->failed));
    if (self->own)
        fclose(self->out);
    self->own = false;
}

#endif
