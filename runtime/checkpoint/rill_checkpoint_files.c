/*  rill_checkpoint_files.c: see the header. Plain POSIX calls; errors name the path and the
    system's reason. */
#include "rill_checkpoint_files.h"
#include "rill_array.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rill_checkpoint_fail(char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(error, error_size, format, args);
        va_end(args);
    }
    return -1;
}

int rill_checkpoint_join(char *path, size_t path_size, const char *folder, const char *name,
                         char *error, size_t error_size)
{
    int used = snprintf(path, path_size, "%s/%s", folder, name);
    if (used < 0 || (size_t)used >= path_size)
        return rill_checkpoint_fail(error, error_size, "path '%s/%s' is too long", folder, name);
    return 0;
}

int rill_checkpoint_folder_path(char *path, size_t path_size, const char *dir, int64_t checkpoint,
                                char *error, size_t error_size)
{
    char name[32];
    snprintf(name, sizeof name, RILL_CHECKPOINT_FOLDER_PREFIX "%lld", (long long)checkpoint);
    return rill_checkpoint_join(path, path_size, dir, name, error, error_size);
}

int rill_checkpoint_folder_id(const char *name, int64_t *checkpoint)
{
    size_t prefix = strlen(RILL_CHECKPOINT_FOLDER_PREFIX);
    if (strncmp(name, RILL_CHECKPOINT_FOLDER_PREFIX, prefix) != 0)
        return 0;
    const char *digits = name + prefix;
    size_t count = strspn(digits, "0123456789");
    //  At most 18 digits: any such number fits an int64_t.
    if (count == 0 || count > 18 || digits[count] != '\0' || (digits[0] == '0' && count > 1))
        return 0;
    *checkpoint = strtoll(digits, NULL, 10);
    return 1;
}

static int s_is_folder(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

int rill_checkpoint_make_folder(const char *folder, char *error, size_t error_size)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", folder) >= (int)sizeof path)
        return rill_checkpoint_fail(error, error_size, "path '%s' is too long", folder);
    //  Each parent in turn, as mkdir -p: EEXIST is the normal case for all but the last.
    for (char *slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash)
            *slash = '\0';
        //  An existing folder may answer EACCES or EROFS rather than EEXIST: look.
        int why = mkdir(path, 0755) == 0 ? 0 : errno;
        if (why && why != EEXIST && !s_is_folder(path))
            return rill_checkpoint_fail(error, error_size, "cannot create directory '%s': %s", path,
                                        strerror(why));
        if (!slash)
            break;
        *slash = '/';
        while (slash[1] == '/')
            slash++;
    }
    if (!s_is_folder(folder))
        return rill_checkpoint_fail(error, error_size, "'%s' is not a directory", folder);
    return 0;
}

int rill_checkpoint_sync_folder(const char *folder, char *error, size_t error_size)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return rill_checkpoint_fail(error, error_size, "cannot open directory '%s': %s", folder,
                                    strerror(errno));
    int rc = fsync(fd);
    int why = errno;
    close(fd);
    if (rc != 0)
        return rill_checkpoint_fail(error, error_size, "cannot sync directory '%s': %s", folder,
                                    strerror(why));
    return 0;
}

static int s_write_all(int fd, const void *data, size_t size)
{
    const char *at = data;
    while (size > 0) {
        ssize_t written = write(fd, at, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        at += written;
        size -= (size_t)written;
    }
    return 0;
}

int rill_checkpoint_write_file(const char *folder, const char *name, const void *data, size_t size,
                               char *error, size_t error_size)
{
    char path[PATH_MAX], temporary[PATH_MAX];
    if (rill_checkpoint_join(path, sizeof path, folder, name, error, error_size))
        return -1;
    //  A unique temporary name (mkstemp), dot-first so that no reader takes it for the file.
    int used = snprintf(temporary, sizeof temporary, "%s/.%s.tmp-XXXXXX", folder, name);
    if (used < 0 || (size_t)used >= sizeof temporary)
        return rill_checkpoint_fail(error, error_size, "path '%s' is too long", path);
    int fd = mkstemp(temporary);
    if (fd < 0)
        return rill_checkpoint_fail(error, error_size, "cannot create a file in '%s': %s", folder,
                                    strerror(errno));
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    const char *step = "write";
    if (s_write_all(fd, data, size) != 0)
        goto failed;
    step = "sync";
    if (fsync(fd) != 0)
        goto failed;
    step = "close";
    int rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto failed;
    step = "rename";
    if (rename(temporary, path) != 0)
        goto failed;
    return rill_checkpoint_sync_folder(folder, error, error_size);

failed:;
    int why = errno ? errno : EIO;
    if (fd >= 0)
        close(fd);
    unlink(temporary);
    return rill_checkpoint_fail(error, error_size, "cannot %s '%s': %s", step, path, strerror(why));
}

int rill_checkpoint_read_file(const char *path, uint8_t **data, size_t *size, char *error,
                              size_t error_size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int why = errno;
        rill_checkpoint_fail(error, error_size, "cannot open '%s': %s", path, strerror(why));
        errno = why;
        return -1;
    }
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        errno = EINVAL;
        return rill_checkpoint_fail(error, error_size, "'%s' is not a regular file", path);
    }
    size_t length = (size_t)info.st_size;
    uint8_t *bytes = malloc(length + 1);
    if (!bytes) {
        close(fd);
        errno = ENOMEM;
        return rill_checkpoint_fail(error, error_size, "'%s': out of memory (%zu bytes)", path,
                                    length);
    }
    size_t have = 0;
    while (have < length) {
        ssize_t got = read(fd, bytes + have, length - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            int why = got < 0 ? errno : EIO;
            close(fd);
            free(bytes);
            errno = why;
            return rill_checkpoint_fail(error, error_size, "cannot read '%s': %s", path,
                                        got < 0 ? strerror(why) : "it shrank while read");
        }
        have += (size_t)got;
    }
    close(fd);
    bytes[length] = '\0';
    *data = bytes;
    *size = length;
    return 0;
}

static int s_ascending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int rill_checkpoint_list(const char *dir, int64_t **ids, char *error, size_t error_size)
{
    *ids = NULL;
    DIR *listing = opendir(dir);
    if (!listing)
        return rill_checkpoint_fail(error, error_size, "cannot read directory '%s': %s", dir,
                                    strerror(errno));
    int64_t *found = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(listing))) {
        int64_t id;
        if (!rill_checkpoint_folder_id(entry->d_name, &id))
            continue;
        if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN)
            continue;
        if (rill_array_grow((void **)&found, &capacity, count + 1, sizeof *found)) {
            free(found);
            closedir(listing);
            return rill_checkpoint_fail(error, error_size, "out of memory listing '%s'", dir);
        }
        found[count++] = id;
    }
    closedir(listing);
    if (count > 1)
        qsort(found, count, sizeof *found, s_ascending);
    *ids = found;
    return (int)count;
}

int rill_checkpoint_is_complete(const char *folder, char *error, size_t error_size)
{
    char path[PATH_MAX];
    if (rill_checkpoint_join(path, sizeof path, folder, RILL_CHECKPOINT_METADATA, error,
                             error_size))
        return -1;
    struct stat info;
    if (stat(path, &info) == 0)
        return S_ISREG(info.st_mode) ? 1 : 0;
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    return rill_checkpoint_fail(error, error_size, "cannot look at '%s': %s", path,
                                strerror(errno));
}

int rill_checkpoint_remove_folder(const char *folder, char *error, size_t error_size)
{
    char path[PATH_MAX];
    if (rill_checkpoint_join(path, sizeof path, folder, RILL_CHECKPOINT_METADATA, error,
                             error_size))
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return rill_checkpoint_fail(error, error_size, "cannot remove '%s': %s", path,
                                    strerror(errno));
    DIR *listing = opendir(folder);
    if (!listing) {
        if (errno == ENOENT)
            return 0;
        return rill_checkpoint_fail(error, error_size, "cannot read directory '%s': %s", folder,
                                    strerror(errno));
    }
    struct dirent *entry;
    while ((entry = readdir(listing))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(listing), entry->d_name, 0) != 0 && errno != ENOENT) {
            int why = errno;
            closedir(listing);
            return rill_checkpoint_fail(error, error_size, "cannot remove '%s/%s': %s", folder,
                                        entry->d_name, strerror(why));
        }
    }
    closedir(listing);
    if (rmdir(folder) != 0 && errno != ENOENT)
        return rill_checkpoint_fail(error, error_size, "cannot remove directory '%s': %s", folder,
                                    strerror(errno));
    return 0;
}
