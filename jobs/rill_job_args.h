/*  rill_job_args.h: command-line helpers the bundled jobs share (header-only: every .c file in
   jobs/ is a plugin of its own, so shared code cannot be a .c file there). */
#ifndef RILL_JOB_ARGS_H_INCLUDED
#define RILL_JOB_ARGS_H_INCLUDED

#include <errno.h>
#include <stdint.h>
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

#endif
