/*  fuzz_windowed_row.c: libFuzzer target for the `windowed` job's input parsers
    (jobs/windowed_parse.h): the header, CSV rows, times and durations, and the CSV quoting of
    its output. The input's first line is read as the header (columns t, k, v; a header
    without them falls back to t,k,v), every further line as a row, as the job does. Beyond
    "no crash, no overread", it checks what the job relies on: a good row's key fits, its
    value is a finite number, and a key written as a CSV field reads back as the same key. */
#include "windowed_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Stops the run with a message: libFuzzer saves the input that got here.
static void s_broken(const char *what)
{
    fprintf(stderr, "fuzz_windowed_row: %s\n", what);
    abort();
}

//  A key written as one CSV field must split back into exactly one field equal to the key.
static void s_check_round_trip(const char *key, size_t size)
{
    char field[2 * RILL_WINDOWED_MAX_KEY + 2];
    size_t written = rill_windowed_csv_field(key, size, field, sizeof field);
    if (written > sizeof field)
        s_broken("a key's CSV field is longer than twice the key plus quotes");
    const char *starts[2];
    size_t sizes[2];
    bool quoted[2];
    if (rill_windowed_split(field, written, starts, sizes, quoted, 2) != 1)
        s_broken("a quoted key splits into more than one field");
    char back[RILL_WINDOWED_MAX_KEY];
    long length = rill_windowed_unquote(starts[0], sizes[0], quoted[0], back, sizeof back);
    if (length < 0 || (size_t)length != size || memcmp(back, key, size) != 0)
        s_broken("a key does not read back as itself from its CSV field");
}

static void s_check_row(const rill_windowed_columns_t *columns, const char *line, size_t size)
{
    rill_windowed_row_t row;
    if (rill_windowed_parse_row(columns, line, size, &row))
        return;
    if (row.key_size > sizeof row.key)
        s_broken("a key larger than its buffer");
    char number[RILL_WINDOWED_MAX_VALUE + 1];
    if (rill_windowed_parse_value(row.value, strlen(row.value), number) != 0)
        s_broken("a good row's value does not parse again");
    s_check_round_trip(row.key, row.key_size);
}

//  The duration parser reads a NUL-terminated option value: give it each line as one.
static void s_check_duration(const char *line, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, line, size);
    text[size] = 0;
    int64_t ms;
    if (rill_windowed_parse_duration(text, &ms) == 0 && ms < 0)
        s_broken("a duration parsed as negative");
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *stop = text + size;
    rill_windowed_columns_t columns = {
        .time_column = 0, .key_column = 1, .value_column = 2, .columns = 3};
    bool header = true;
    for (const char *line = text; line < stop;) {
        const char *end = memchr(line, '\n', (size_t)(stop - line));
        size_t length = (size_t)((end ? end : stop) - line);
        //  Lines reach the job without their line end ('\r' included), as the source cuts them.
        size_t cut = length && line[length - 1] == '\r' ? length - 1 : length;
        if (header) {
            rill_windowed_columns_t found;
            if (!rill_windowed_parse_header(line, cut, "t", "k", "v", &found))
                columns = found;
            header = false;
        } else {
            size_t bom = rill_windowed_bom(line, cut);
            s_check_row(&columns, line + bom, cut - bom);
        }
        int64_t ms;
        (void)rill_windowed_parse_time(line, cut, &ms);
        s_check_duration(line, cut);
        if (cut <= RILL_WINDOWED_MAX_KEY)
            s_check_round_trip(line, cut);
        line += length + (end ? 1 : 0);
    }
    return 0;
}
