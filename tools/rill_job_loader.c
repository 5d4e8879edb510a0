/*  rill_job_loader.c: finds a job plugin (a bundled job's name or a path to a shared object),
    opens it with dlopen and calls its entry to build the graph. Bundled jobs live beside the
    rill binary (build/bin/NAME.so), then in the install job folder found relative to the
    binary (PREFIX/lib/rill/jobs, wherever PREFIX was moved), then in $RILL_JOB_PATH, then in
    the job folder compiled in. */
#include "rill_cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct rill_job_plugin_t {
    void *handle;
    char path[PATH_MAX];
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

//  Adds dir unless it is one already listed (by device and inode: an installed tool finds
//  the install job folder both relative to itself and as the compiled-in path).
static void s_add_dir(const char **dirs, int max, int *count, const char *dir)
{
    if (*count >= max)
        return;
    struct stat seen, candidate;
    if (stat(dir, &candidate) == 0)
        for (int i = 0; i < *count; i++)
            if (stat(dirs[i], &seen) == 0 && seen.st_dev == candidate.st_dev &&
                seen.st_ino == candidate.st_ino)
                return;
    dirs[(*count)++] = dir;
}

int rill_job_dirs(const char **dirs, int max, char *storage, size_t storage_size)
{
    int count = 0;
    //  The folder of the running binary: /proc/self/exe names it without guessing from argv[0]
    //  (and through any symlink to the binary). storage holds it, then the install job
    //  folder relative to it: "BINDIR\0BINDIR/../lib/rill/jobs\0".
    ssize_t length = readlink("/proc/self/exe", storage, storage_size - 1);
    if (length > 0) {
        storage[length] = 0;
        char *slash = strrchr(storage, '/');
        if (slash) {
            *slash = 0;
            s_add_dir(dirs, max, &count, storage);
            char *relative = slash + 1;
            size_t room = storage_size - (size_t)(relative - storage);
            int used = snprintf(relative, room, "%s/%s", storage, RILL_JOBDIR_FROM_BIN);
            if (used > 0 && (size_t)used < room)
                s_add_dir(dirs, max, &count, relative);
        }
    }
    const char *env = getenv("RILL_JOB_PATH");
    if (env && *env)
        s_add_dir(dirs, max, &count, env);
    s_add_dir(dirs, max, &count, RILL_INSTALL_JOBDIR);
    return count;
}

void rill_job_plugin_finish(rill_job_plugin_t *self, rill_env_t *env)
{
    rill_job_finish_fn finish = (rill_job_finish_fn)dlsym(self->handle, RILL_JOB_FINISH);
    if (finish)
        finish(env);
}

const char *rill_job_plugin_path(const rill_job_plugin_t *self)
{
    return self->path;
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
    snprintf(self->path, sizeof self->path, "%s", path);
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
