/*  rill_job_loader.c: finds a job plugin (a bundled job's name or a path to a shared object),
    opens it with dlopen and calls its entry to build the graph. Bundled jobs live beside the
    rill binary (build/bin/NAME.so), then in $RILL_JOB_PATH, then in the installed job folder. */
#include "rill_cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


struct rill_job_plugin_t {
    void *handle;
};

int rill_cli_parse_int(const char *text, int min, int max, int *value)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (*end || errno || parsed < min || parsed > max)
        return -1;
    *value = (int)parsed;
    return 0;
}

int rill_job_dirs(const char **dirs, int max, char *storage, size_t storage_size)
{
    int count = 0;
    //  The folder of the running binary: /proc/self/exe names it without guessing from argv[0].
    ssize_t length = readlink("/proc/self/exe", storage, storage_size - 1);
    if (length > 0 && count < max) {
        storage[length] = 0;
        char *slash = strrchr(storage, '/');
        if (slash) {
            *slash = 0;
            dirs[count++] = storage;
        }
    }
    const char *env = getenv("RILL_JOB_PATH");
    if (env && *env && count < max)
        dirs[count++] = env;
    if (count < max)
        dirs[count++] = RILL_INSTALL_JOBDIR;
    return count;
}

void rill_job_plugin_finish(rill_job_plugin_t *self, rill_env_t *env)
{
    rill_job_finish_fn finish = (rill_job_finish_fn)dlsym(self->handle, RILL_JOB_FINISH);
    if (finish)
        finish(env);
}

void rill_job_plugin_destroy(rill_job_plugin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->handle)
        dlclose((*self_p)->handle);
    free(*self_p);
    *self_p = NULL;
}

rill_job_plugin_t *rill_job_load(const char *job, rill_env_t *env, int argc, char **argv,
                                 int *exit_code)
{
    *exit_code = RILL_EXIT_FAILURE;
    rill_job_plugin_t *self = calloc(1, sizeof(rill_job_plugin_t));
    if (!self)
        return NULL;
    char path[PATH_MAX];
    if (strchr(job, '/')) {
        snprintf(path, sizeof path, "%s", job);
        self->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!self->handle)
            fprintf(stderr, "rill: cannot load job plugin '%s': %s\n", job, dlerror());
    } else {
        char storage[PATH_MAX];
        const char *dirs[4];
        int count = rill_job_dirs(dirs, 4, storage, sizeof storage);
        for (int i = 0; i < count && !self->handle; i++) {
            snprintf(path, sizeof path, "%s/%s.so", dirs[i], job);
            if (access(path, F_OK) == 0) {
                self->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
                if (!self->handle)
                    fprintf(stderr, "rill: cannot load job '%s': %s\n", job, dlerror());
            }
        }
        if (!self->handle)
            fprintf(stderr, "rill: no job named '%s' (see 'rill jobs', or give a path to a .so)\n",
                    job);
    }
    if (!self->handle) {
        rill_job_plugin_destroy(&self);
        return NULL;
    }
    rill_job_build_fn build = (rill_job_build_fn)dlsym(self->handle, RILL_JOB_ENTRY);
    if (!build) {
        fprintf(stderr, "rill: '%s' is not a rill job: it exports no %s()\n", path,
                RILL_JOB_ENTRY);
        rill_job_plugin_destroy(&self);
        return NULL;
    }
    const char *slash = strrchr(job, '/');
    rill_env_set_job_name(env, slash ? slash + 1 : job);
    int rc = build(env, argc, argv);
    if (rc) {
        *exit_code = rc == RILL_EXIT_USAGE ? RILL_EXIT_USAGE : RILL_EXIT_FAILURE;
        rill_job_plugin_destroy(&self);
        return NULL;
    }
    *exit_code = RILL_EXIT_OK;
    return self;
}
