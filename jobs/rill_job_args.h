/*  rill_job_args.h: command-line and input helpers the bundled jobs share (header-only: every .c file in
   jobs/ is a plugin of its own, so shared code cannot be a .c file there). */
#ifndef RILL_JOB_ARGS_H_INCLUDED
#define RILL_JOB_ARGS_H_INCLUDED

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  "65536", "64K", "16M", "1G" (binary units; KiB/MiB/GiB also read) -> bytes. 0, or -1 for
//  anything else, a negative number or an overflow.
static inline int rill_job_parse_size(const char *text, size_t *bytes)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *unit;
    errno = 0;
    unsigned long long value = strtoull(text, &unit, 10);
    if (errno)
        return -1;
    static const struct {
        const char *name;
        unsigned long long scale;
    } units[] = {{"", 1},
                 {"K", 1ULL << 10},
                 {"KiB", 1ULL << 10},
                 {"M", 1ULL << 20},
                 {"MiB", 1ULL << 20},
                 {"G", 1ULL << 30},
                 {"GiB", 1ULL << 30}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0) {
            if (value > SIZE_MAX / units[i].scale)
                return -1;
            *bytes = (size_t)(value * units[i].scale);
            return 0;
        }
    return -1;
}

//  Reads the first line of a file into *line (NUL-terminated, line end removed; caller
//  frees), reading no more than limit bytes of it. 0; 1 when the file is empty; 2 when the
//  line is longer than limit; -1 when the file cannot be read (errno says why).
static inline int rill_job_read_first_line(const char *path, size_t limit, char **line,
                                           size_t *length)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    size_t size = 0, capacity = 256;
    char *text = malloc(capacity);
    int c = EOF, rc = 0;
    while (text && (c = fgetc(file)) != EOF && c != '\n') {
        if (size > limit) {
            rc = 2;
            break;
        }
        if (size + 1 == capacity) {
            char *grown = realloc(text, capacity *= 2);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
        }
        text[size++] = (char)c;
    }
    if (!rc && ferror(file))
        rc = -1;
    fclose(file);
    if (!text)
        return -1;
    if (!rc && size == 0 && c == EOF)
        rc = 1;
    if (!rc && size && text[size - 1] == '\r')
        size--;
    if (!rc && size > limit)
        rc = 2;
    if (rc) {
        free(text);
        return rc;
    }
    text[size] = 0;
    *line = text;
    *length = size;
    return 0;
}

#endif
