/*  fuzz_input_file.h: hands a fuzz input to a command that reads a file by name. The bytes go
    into one memory file per process (memfd), reached through /proc/self/fd, so nothing is left
    on disk and parallel fuzzers never share a file. */
#ifndef FUZZ_INPUT_FILE_H_INCLUDED
#define FUZZ_INPUT_FILE_H_INCLUDED

//  memfd_create; this header comes first in its includer.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

//  Replaces the memory file's contents with data and returns its path (static storage).
static inline const char *fuzz_input_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz input file");
        abort();
    }
    return path;
}

#endif
