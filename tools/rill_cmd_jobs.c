/*  rill_cmd_jobs.c: `rill jobs`: lists the job plugins found where `rill run` looks. */
#include "rill_cli.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <string.h>

int rill_cmd_jobs(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: rill jobs\n\nLists the bundled jobs, one line each, from the folder of "
               "the rill binary,\nthe folder %s relative to it, $RILL_JOB_PATH and\n%s.\n",
               RILL_JOBDIR_FROM_BIN, RILL_INSTALL_JOBDIR);
        return RILL_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "rill jobs: unexpected argument '%s'\nusage: rill jobs\n", argv[1]);
        return RILL_EXIT_USAGE;
    }
    char storage[PATH_MAX];
    const char *dirs[4];
    int count = rill_job_dirs(dirs, 4, storage, sizeof storage), listed = 0;
    for (int i = 0; i < count; i++) {
        DIR *dir = opendir(dirs[i]);
        if (!dir)
            continue;
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            size_t length = strlen(entry->d_name);
            if (length < 4 || strcmp(entry->d_name + length - 3, ".so") != 0)
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dirs[i], entry->d_name);
            void *handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
            if (!handle)
                continue;
            if (dlsym(handle, RILL_JOB_ENTRY)) {
                rill_job_describe_fn describe =
                    (rill_job_describe_fn)dlsym(handle, RILL_JOB_DESCRIBE);
                printf("%-16.*s %s\n", (int)(length - 3), entry->d_name,
                       describe ? describe() : "");
                listed++;
            }
            dlclose(handle);
        }
        closedir(dir);
    }
    if (!listed)
        fprintf(stderr, "rill jobs: no job plugins found\n");
    return RILL_EXIT_OK;
}
